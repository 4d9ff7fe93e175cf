/** `rxlb watch`: prints the events of one watch until a signal, or the first set with --once. */
import type { Subscription } from 'rxjs';
import { UsageError, type WatchCommand } from './args.js';
import { type WatchEvent, type WatchQuery, watchEvents$ } from './events.js';
import { formatJson, formatText } from './format.js';

/** Where the command writes, and the process whose signals stop it. */
export interface Terminal {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly process: Pick<NodeJS.Process, 'once' | 'off'>;
}

function queryOf(command: WatchCommand): WatchQuery {
  return {
    passing: command.passing,
    ...(command.address !== undefined && { address: command.address }),
    ...(command.tags.length > 0 && { tags: command.tags }),
    ...(command.dc !== undefined && { dc: command.dc }),
    ...(command.translateWanAddresses && { translateWanAddresses: true }),
    ...(command.peer !== undefined && { peer: command.peer }),
    ...(command.namespace !== undefined && { namespace: command.namespace }),
    ...(command.partition !== undefined && { partition: command.partition }),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The exit status of `--once` for its first event. */
function onceStatus(event: WatchEvent): number {
  return event.kind !== 'fault' && event.instances.length > 0 ? 0 : 1;
}

/**
 * Runs `rxlb watch` and resolves with the exit status once the watch has stopped: SIGINT,
 * SIGTERM or a closed stdout (0), `--once` (0 or 1). The watch is unsubscribed first, so the
 * process then has nothing left to wait for.
 *
 * @throws UsageError at once for a query rxlb refuses (an address that is not host:port...).
 */
export function runWatch(command: WatchCommand, terminal: Terminal): Promise<number> {
  const { stdout, stderr, process } = terminal;
  let events$: ReturnType<typeof watchEvents$>;
  try {
    events$ = watchEvents$(command.service, queryOf(command));
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    // "consulInstances$(): option "address" must be..." names the option the flag sets
    throw new UsageError(error.message.replace(/^consulInstances\$\(\): /, ''));
  }
  const format = command.json ? formatJson : formatText;
  return new Promise((resolve) => {
    let subscription: Subscription | undefined;
    let status: number | undefined;
    const finish = (code: number) => {
      if (status !== undefined) return;
      status = code;
      subscription?.unsubscribe();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      stdout.off('error', broken);
      resolve(code);
    };
    const stop = () => finish(0);
    // a reader that went away (`rxlb watch greeter | head -1`) ends the watch quietly
    const broken = (error: NodeJS.ErrnoException) => finish(error.code === 'EPIPE' ? 0 : 1);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    stdout.on('error', broken);
    subscription = events$.subscribe({
      next: (event) => {
        stdout.write(`${format(event)}\n`);
        if (command.once) finish(onceStatus(event));
      },
      error: (error: unknown) => {
        stderr.write(`rxlb: ${messageOf(error)}\n`);
        finish(1);
      },
    });
    if (status !== undefined) subscription.unsubscribe();
  });
}
