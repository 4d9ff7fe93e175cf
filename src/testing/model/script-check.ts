/**
 * A script check as Consul's agent runs one (`Args`, no shell): the command runs in its own
 * process group; exit code 0 is passing, 1 warning, anything else critical; stdout and stderr
 * together are the output, of which the last 4 KiB are kept. A run that outlives its timeout,
 * or a check that stops, has its whole process group killed.
 */
import { spawn } from 'node:child_process';
import type { CheckStatus } from './registration.js';

export interface ScriptResult {
  readonly status: CheckStatus;
  readonly output: string;
}

const MAX_OUTPUT = 4_096;

/** Go's `time.Duration.String()` for whole milliseconds: `30s`, `150ms`, `1m30s`. */
function goDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1_000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

/** The last `MAX_OUTPUT` bytes, with Consul's note when more were written. */
class TailBuffer {
  #chunks: Buffer[] = [];
  #kept = 0;
  #total = 0;

  write(chunk: Buffer): void {
    this.#total += chunk.length;
    this.#chunks.push(chunk);
    this.#kept += chunk.length;
    while (this.#kept - (this.#chunks[0]?.length ?? 0) >= MAX_OUTPUT) {
      this.#kept -= this.#chunks.shift()?.length ?? 0;
    }
  }

  toString(): string {
    const tail = Buffer.concat(this.#chunks).subarray(-MAX_OUTPUT).toString('utf8');
    if (this.#total <= MAX_OUTPUT) return tail;
    return `Captured ${MAX_OUTPUT} of ${this.#total} bytes\n...\n${tail}`;
  }
}

/**
 * Runs `args` once. Resolves (never rejects) when it exits, or when `signal` aborts: then the
 * process group is killed and the run counts as timed out after `timeoutMs`.
 */
export function runScript(
  args: readonly string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const [command = '', ...rest] = args;
    const output = new TailBuffer();
    const child = spawn(command, rest, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = () => {
      // a negative pid signals the whole group: the script and whatever it started
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    const finish = (result: ScriptResult) => {
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = () => {
      kill();
      const note = `Timed out (${goDuration(timeoutMs)}) running check`;
      const text = output.toString();
      finish({ status: 'critical', output: text ? `${note}\n\n${text}` : note });
    };
    child.stdout.on('data', (chunk: Buffer) => output.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.write(chunk));
    child.once('error', (error) => finish({ status: 'critical', output: error.message }));
    child.once('close', (code) => {
      if (signal.aborted) return;
      const status = code === 0 ? 'passing' : code === 1 ? 'warning' : 'critical';
      finish({ status, output: output.toString() });
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
