import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./without-otel-child.ts', import.meta.url));
const hide = fileURLToPath(new URL('../support/hide-otel.mjs', import.meta.url));

describe('without @opentelemetry/api', () => {
  it('loads and runs: a Consul watch and a balanced channel serve a call, recording nothing', async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>(
      (resolve) => {
        const proc = spawn(process.execPath, ['--import', hide, '--import', 'tsx', child], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        proc.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        proc.on('exit', (exit) => resolve({ code: exit, stdout: out }));
      },
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ missing: true, text: 'no metrics' });
  });
});
