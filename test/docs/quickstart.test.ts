/**
 * README's first code block is examples/quickstart.ts, and that program runs as a newcomer runs
 * it (`npx tsx quickstart.mts`, which test/package/ does in an app with the packed rxlb): it
 * balances its calls over its three servers and exits 0 by itself, leaving nothing open.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const QUICKSTART = readFileSync(new URL('../../examples/quickstart.ts', import.meta.url), 'utf8');
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('examples/quickstart.ts', () => {
  it("is README's first code block, word for word, and at most 40 lines", () => {
    const first = /```\w*\n([\s\S]*?)```/.exec(README)?.[1];
    expect(first).toBe(QUICKSTART);
    expect(QUICKSTART.trimEnd().split('\n').length).toBeLessThanOrEqual(40);
  });

  it('balances six calls over its three servers, and exits by itself with 0', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'examples/quickstart.ts'],
      { cwd: ROOT, timeout: 30_000 },
    );
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    for (const line of lines) expect(line).toMatch(/^hello you, from [123]$/);
    // round robin: each server twice
    expect(new Set(lines.slice(0, 3)).size).toBe(3);
    expect(lines.slice(3)).toEqual(lines.slice(0, 3));
  }, 40_000);
});
