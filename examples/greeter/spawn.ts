/**
 * Runs `examples/greeter/server.ts` in a child process, registered with the Consul at
 * `consulAddress`, so that it can be killed like a real server: `kill()` is SIGKILL, with
 * no goodbye to its clients or to Consul.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface GreeterProcess {
  /** `127.0.0.1:port` */
  readonly address: string;
  /** Dies at once: no GOAWAY, no deregistration; Consul's health check must notice. */
  kill(): Promise<void>;
  /** SIGTERM: the server deregisters and shuts down gracefully. */
  stop(): Promise<void>;
  /** Makes every SayHello wait `ms` before it answers (0: fast again). */
  setDelay(ms: number): void;
  /** Makes its health service say SERVING (true) or NOT_SERVING (false). */
  setServing(serving: boolean): void;
}

const script = fileURLToPath(new URL('./server.ts', import.meta.url));

export async function spawnGreeter(consulAddress: string, port = 0): Promise<GreeterProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, String(port)], {
    env: { ...process.env, CONSUL_HTTP_ADDR: consulAddress },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening (\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`greeter exited with ${code} before listening`)));
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };
  return {
    address,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
    setDelay: (ms) => child.stdin?.write(`delay ${ms}\n`),
    setServing: (serving) => child.stdin?.write(`health ${serving ? 'SERVING' : 'NOT_SERVING'}\n`),
  };
}
