/**
 * `npm run docs` builds the API reference from the JSDoc of `rxlb` and `rxlb/testing`
 * (TypeDoc, typedoc.json): without a warning, so a broken `{@link}`, a relative link that
 * leads nowhere, or a public type that names one the reference leaves out fails here.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the API reference (npm run docs)', () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('builds from the JSDoc without warnings, with a page for each entry point', async () => {
    out = await mkdtemp(join(tmpdir(), 'rxlb-api-'));
    const typedoc = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
    // typedoc.json turns warnings into errors: a warning makes it exit non-zero
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [typedoc, '--out', out, '--logLevel', 'Warn'],
      { cwd: ROOT, timeout: 120_000 },
    ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`typedoc failed:\n${error.stdout ?? ''}${error.stderr ?? error.message}`);
    });
    expect(`${stdout}${stderr}`).not.toMatch(/warning|error/i);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    expect(existsSync(join(out, 'functions', 'index.createBalancedChannel.html'))).toBe(true);
    expect(existsSync(join(out, 'classes', 'testing.ConsulTestServer.html'))).toBe(true);
  }, 150_000);
});
