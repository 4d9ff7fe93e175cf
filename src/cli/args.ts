/** The `rxlb` command line → what to do, or a usage error. Node's `util.parseArgs`. */
import { parseArgs } from 'node:util';
import { ADDRESS_FORMS, parseConsulAddress } from '../consul/connection.js';
import { readLabel } from '../consul/options.js';
import { readArguments, readFlags } from '../read-options.js';

export const USAGE = `Usage: rxlb watch <service> [options]

Prints the healthy instances of a Consul service, then every change as it happens
(added, removed, changed, with the time and Consul's index), and discovery faults,
until Ctrl-C.

Options:
  --address <host:port>  Consul's HTTP address (default: CONSUL_HTTP_ADDR, else 127.0.0.1:8500)
  --tag <tag>            only instances with this tag; repeat for several (all must match)
  --dc <datacenter>      the datacenter to ask (default: the agent's)
  --translate-wan-addrs  another datacenter's instances at their WAN addresses
                         (Consul's translate_wan_addrs)
  --peer <peer>          the instances imported from this cluster peer
  --namespace <ns>       the Consul Enterprise namespace to ask
  --partition <name>     the Consul Enterprise admin partition to ask
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
  readonly translateWanAddresses: boolean;
  readonly peer: string | undefined;
  readonly namespace: string | undefined;
  readonly partition: string | undefined;
  readonly passing: boolean;
  readonly json: boolean;
  readonly once: boolean;
}

export type Command = { readonly kind: 'help' } | WatchCommand;

const OPTIONS = {
  address: { type: 'string' },
  tag: { type: 'string', multiple: true },
  dc: { type: 'string' },
  'translate-wan-addrs': { type: 'boolean' },
  peer: { type: 'string' },
  namespace: { type: 'string' },
  partition: { type: 'string' },
  passing: { type: 'string' },
  json: { type: 'boolean' },
  once: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const SYNOPSIS = 'rxlb watch <service>';

/**
 * Reads `argv` (without node and the script), or throws a {@link UsageError}. `parseArgs`
 * only splits the line: the flags and arguments are checked by rxlb's option reader, so that
 * a message names the flag as the user wrote it, and an unknown one the flag it is a slip of.
 */
export function parseCommand(argv: readonly string[]): Command {
  const { tokens } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const f = readFlags(
    tokens.flatMap((token) => (token.kind === 'option' ? [[token.name, token.value ?? '']] : [])),
    { known: Object.keys(OPTIONS), repeatable: ['tag'], error: UsageError },
  );
  if (f.boolean('help')) return { kind: 'help' };
  const [command, service, ...extra] = tokens.flatMap((token) =>
    token.kind === 'positional' ? [token.value] : [],
  );
  const a = readArguments('', { command, service }, UsageError);
  if ((a.string('command') ?? a.missing('command', SYNOPSIS)) !== 'watch') {
    throw new UsageError(`unknown command "${command}"`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const peer = readLabel(f, 'peer');
  const translateWanAddresses = f.boolean('translate-wan-addrs') ?? false;
  if (peer !== undefined && translateWanAddresses) {
    throw new UsageError(
      "--peer and --translate-wan-addrs exclude each other: a peer's addresses are those it exports",
    );
  }
  return {
    kind: 'watch',
    service: a.string('service') ?? a.missing('service', SYNOPSIS),
    address: f.parse('address', ADDRESS_FORMS, (text) =>
      parseConsulAddress(text) ? String(text) : undefined,
    ),
    tags: f.strings('tag'),
    dc: f.string('dc'),
    translateWanAddresses,
    peer,
    namespace: readLabel(f, 'namespace'),
    partition: readLabel(f, 'partition'),
    passing: f.boolean('passing') ?? true,
    json: f.boolean('json') ?? false,
    once: f.boolean('once') ?? false,
  };
}
