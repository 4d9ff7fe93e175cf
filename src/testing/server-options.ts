/**
 * The checks of `ConsulTestServer`'s options (declared with it, as `ConsulTestServerOptions`):
 * a `TypeError` naming the first one that cannot make a server.
 */
import { isRecord, type OptionReader, readOptions } from '../read-options.js';
import { TLS_KEYS, validateTls } from './http/listener.js';

/** The names of the options; any other is refused. */
const KNOWN = [
  'host',
  'port',
  'datacenter',
  'nodeName',
  'nodeAddress',
  'nodeWanAddress',
  'nodeMeta',
  'acl',
  'tls',
  'enableScriptChecks',
  'requestLogSize',
  'wanJoin',
  'wanRttMs',
  'enterprise',
  'commitDelayMs',
];

/** Checks a `ConsulTestServer`'s options, with a `TypeError` naming the bad one. */
export function validateOptions(options: unknown): void {
  const o: OptionReader = readOptions('ConsulTestServer', options, KNOWN);
  o.string('host');
  o.number('port', { min: 0, max: 65_535, integer: true });
  const datacenter = o.string('datacenter');
  if (datacenter !== undefined && !/^[a-zA-Z0-9_-]+$/.test(datacenter)) {
    o.fail('datacenter', 'letters, digits, "_" and "-" only');
  }
  o.string('nodeName');
  o.string('nodeAddress');
  o.string('nodeWanAddress');
  const nodeMeta = o.raw('nodeMeta');
  if (
    nodeMeta !== undefined &&
    !(isRecord(nodeMeta) && Object.values(nodeMeta).every((v) => typeof v === 'string'))
  ) {
    o.fail('nodeMeta', 'an object of strings');
  }
  const acl = o.nested('acl', ['tokens']);
  const tokens = acl?.raw('tokens');
  const ok = isRecord(tokens) && Object.values(tokens).every((v) => v === 'read' || v === 'write');
  if (acl && !ok)
    acl.fail('tokens', 'an object mapping tokens to "read" or "write"', { secret: true });
  const tls = o.nested('tls', TLS_KEYS);
  if (tls) validateTls(tls);
  o.boolean('enableScriptChecks');
  o.boolean('enterprise');
  o.number('requestLogSize', { min: 0, integer: true });
  o.number('commitDelayMs', { min: 0, max: 60_000 });
  const rtt = o.raw('wanRttMs');
  if (
    rtt !== undefined &&
    !(isRecord(rtt) && Object.values(rtt).every((ms) => Number.isFinite(ms) && (ms as number) >= 0))
  ) {
    o.fail('wanRttMs', 'an object mapping datacenter names to round trip times >= 0 (ms)');
  }
}
