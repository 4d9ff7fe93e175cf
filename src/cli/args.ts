/** The `rxlb` command line → what to do, or a usage error. Node's `util.parseArgs`. */
import { parseArgs } from 'node:util';

export const USAGE = `Usage: rxlb watch <service> [options]

Prints the healthy instances of a Consul service, then every change as it happens
(added, removed, changed, with the time and Consul's index), and discovery faults,
until Ctrl-C.

Options:
  --address <host:port>  Consul's HTTP address (default: CONSUL_HTTP_ADDR, else 127.0.0.1:8500)
  --tag <tag>            only instances with this tag; repeat for several (all must match)
  --dc <datacenter>      the datacenter to ask (default: the agent's)
  --passing=false        every registered instance, passing or not (default: passing only)
  --json                 one JSON object per line
  --once                 print the current set and exit: 0 if it has an instance, else 1
  -h, --help             print this help

The ACL token comes from CONSUL_HTTP_TOKEN, TLS from CONSUL_HTTP_SSL, CONSUL_CACERT,
CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY, as for Consul's own CLI.

Exit status: 0 when stopped by SIGINT or SIGTERM, or --once found an instance;
1 when --once found none or Consul failed; 2 for bad arguments.`;

/** A command line that cannot run: the message says why; the usage follows it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface WatchCommand {
  readonly kind: 'watch';
  readonly service: string;
  readonly address: string | undefined;
  readonly tags: readonly string[];
  readonly dc: string | undefined;
  readonly passing: boolean;
  readonly json: boolean;
  readonly once: boolean;
}

export type Command = { readonly kind: 'help' } | WatchCommand;

const OPTIONS = {
  address: { type: 'string' },
  tag: { type: 'string', multiple: true },
  dc: { type: 'string' },
  passing: { type: 'string' },
  json: { type: 'boolean' },
  once: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parsePassing(value: string | undefined): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`--passing must be true or false, got "${value}"`);
}

function nonEmpty(option: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') {
    throw new UsageError(`--${option} must not be empty`);
  }
  return value;
}

/** Reads `argv` (without node and the script), or throws a {@link UsageError}. */
export function parseCommand(argv: readonly string[]): Command {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const [command, service, ...extra] = positionals;
  if (command === undefined) throw new UsageError('missing command: rxlb watch <service>');
  if (command !== 'watch') throw new UsageError(`unknown command "${command}"`);
  if (service === undefined || service.trim() === '') {
    throw new UsageError('missing service: rxlb watch <service>');
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const tags = values.tag ?? [];
  for (const tag of tags) nonEmpty('tag', tag);
  return {
    kind: 'watch',
    service,
    address: nonEmpty('address', values.address),
    tags,
    dc: nonEmpty('dc', values.dc),
    passing: parsePassing(values.passing),
    json: values.json ?? false,
    once: values.once ?? false,
  };
}
