/** `rxlb`'s command line, read: what to do, or a usage error in the user's own words. */
import { describe, expect, it } from 'vitest';
import { parseCommand, UsageError } from '../../src/cli/args.js';

/** The message of the UsageError that `argv` makes. */
function refusal(argv: readonly string[]): string {
  try {
    parseCommand(argv);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('parseCommand', () => {
  it('reads a watch with every flag', () => {
    const argv = ['watch', 'greeter', '--address', 'consul:8500', '--tag', 'v2', '--tag=canary'];
    expect(parseCommand([...argv, '--dc', 'dc1', '--passing=false', '--json', '--once'])).toEqual({
      kind: 'watch',
      service: 'greeter',
      address: 'consul:8500',
      tags: ['v2', 'canary'],
      dc: 'dc1',
      translateWanAddresses: false,
      peer: undefined,
      namespace: undefined,
      partition: undefined,
      passing: false,
      json: true,
      once: true,
    });
    const tenancy = ['--peer', 'cluster-02', '--namespace=team-a', '--partition', 'eu'];
    expect(parseCommand(['watch', 'greeter', ...tenancy])).toMatchObject({
      peer: 'cluster-02',
      namespace: 'team-a',
      partition: 'eu',
      translateWanAddresses: false,
    });
    expect(
      parseCommand(['watch', 'greeter', '--dc', 'dc2', '--translate-wan-addrs']),
    ).toMatchObject({ dc: 'dc2', translateWanAddresses: true });
    expect(parseCommand(['watch', 'greeter'])).toMatchObject({ passing: true, tags: [] });
    expect(parseCommand(['-h'])).toEqual({ kind: 'help' });
  });

  it.each([
    [['watch', 'greeter', '--adress', 'x'], 'unknown option --adress (did you mean --address?)'],
    [['watch', 'greeter', '--tags', 'v2'], 'unknown option --tags (did you mean --tag?)'],
    [['watch', 'greeter', '--jsno'], 'unknown option --jsno (did you mean --json?)'],
    [['watch', 'greeter', '--colour'], 'unknown option --colour'],
    [
      ['watch', 'greeter', '--namepsace', 'a'],
      'unknown option --namepsace (did you mean --namespace?)',
    ],
    [
      ['watch', 'greeter', '--peer', 'a_b'],
      '--peer must be a DNS label (letters, digits and "-", at most 63), got "a_b"',
    ],
    [
      ['watch', 'greeter', '--partition='],
      '--partition must be a DNS label (letters, digits and "-", at most 63), got ""',
    ],
    [
      ['watch', 'greeter', '--peer', 'p', '--translate-wan-addrs'],
      "--peer and --translate-wan-addrs exclude each other: a peer's addresses are those it exports",
    ],
    [['watch', 'greeter', '-x'], 'unknown option -x'],
    [['watch', 'greeter', '--passing=maybe'], '--passing must be true or false, got "maybe"'],
    [['watch', 'greeter', '--json=please'], '--json must be true or false, got "please"'],
    [['watch', 'greeter', '--tag='], '--tag must not be empty'],
    [['watch', 'greeter', '--dc', 'a', '--dc', 'b'], '--dc is given more than once'],
    [
      ['watch', 'greeter', '--address', 'consul:99999'],
      '--address must be host:port or http(s)://host:port, with a port from 1 to 65535, got "consul:99999"',
    ],
    [[], 'missing command (rxlb watch <service>)'],
    [['watch'], 'missing service (rxlb watch <service>)'],
    [['frob', 'greeter'], 'unknown command "frob"'],
    [['watch', 'greeter', 'extra'], 'unexpected argument "extra"'],
  ])('refuses %j, naming what was written', (argv, message) => {
    expect(refusal(argv)).toBe(message);
  });
});
