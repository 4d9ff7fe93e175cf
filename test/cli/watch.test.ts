/** `rxlb watch` as a user runs it: a child process, its output, its exit status. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';
import { runCli, startCli } from './cli-process.js';

const waitLong = { timeout: 15_000, interval: 20 };
let consul: ConsulTestServer;

beforeEach(async () => {
  consul = await new ConsulTestServer().start();
});
afterEach(() => consul.stop());

const register = (id: string, port: number, tags: string[] = []) =>
  consul.registerService({ Name: 'greeter', ID: id, Address: '127.0.0.1', Port: port, Tags: tags });

interface JsonLine {
  event: string;
  index: number;
  instances: { address: string }[];
  added?: { address: string }[];
  removed?: { address: string }[];
  changed?: { before: { tags: string[] }; after: { address: string; tags: string[] } }[];
  code?: string;
}

/** `rxlb watch greeter --address <the test server> ...extra`. */
const watchArgs = (...extra: string[]) => [
  'watch',
  'greeter',
  '--address',
  consul.address,
  ...extra,
];

const parse = (line: string | undefined): JsonLine => JSON.parse(line ?? 'null') as JsonLine;
const addresses = (line: JsonLine) => line.instances.map((i) => i.address);

describe('rxlb watch --once', () => {
  it('prints the current set and exits 0', async () => {
    register('g1', 50051, ['v2']);
    register('g2', 50052);
    const { code, stdout } = await runCli(watchArgs('--once'));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z greeter: 2 instances \(index \d+\)$/m);
    expect(stdout).toContain('  127.0.0.1:50051  id=g1 node=');
    expect(stdout).toContain('tags=v2');
    expect(stdout).toContain('  127.0.0.1:50052  id=g2 node=');
  });

  it('exits 1 when the set is empty', async () => {
    register('g1', 50051, ['v1']);
    const { code, stdout } = await runCli(watchArgs('--tag', 'v2', '--once'));
    expect(code).toBe(1);
    expect(stdout).toMatch(/greeter: no instance \(index \d+\)$/);
  });

  it('exits 1 with the fault when Consul fails', async () => {
    consul.inject({ kind: 'status', status: 500 });
    const { code, stdout } = await runCli(watchArgs('--once'));
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /greeter: fault ERR_CONSUL_HTTP: .*HTTP 500.*\(attempt 1, retry in \d+ ms; serving 0 instances\)$/,
    );
  });

  it("asks for a peer's imported instances with --peer", async () => {
    register('local', 50051);
    consul.importService('cluster-02', {
      Name: 'greeter',
      ID: 'p1',
      Port: 50052,
      Check: { TTL: '1m', Status: 'passing' },
    });
    const { code, stdout } = await runCli(watchArgs('--once', '--peer', 'cluster-02'));
    expect(code).toBe(0);
    expect(stdout).toContain('  127.0.0.1:50052  id=p1 node=cluster-02-node');
    expect(stdout).not.toContain('id=local');
  });

  it("prints another datacenter's WAN addresses with --translate-wan-addrs", async () => {
    const dc2 = await new ConsulTestServer({ datacenter: 'dc2', wanJoin: consul }).start();
    try {
      const wan = { Address: '203.0.113.7', Port: 60051 };
      dc2.registerService({
        Name: 'greeter',
        ID: 'b1',
        Address: '10.2.0.7',
        Port: 50051,
        TaggedAddresses: { wan },
      });
      const lan = await runCli(watchArgs('--once', '--dc', 'dc2'));
      expect(lan.stdout).toContain('  10.2.0.7:50051  id=b1');
      const translated = await runCli(watchArgs('--once', '--dc', 'dc2', '--translate-wan-addrs'));
      expect(translated.code).toBe(0);
      expect(translated.stdout).toContain('  203.0.113.7:60051  id=b1');
    } finally {
      await dc2.stop();
    }
  });

  it("exits 1 with Consul CE's refusal of --namespace", async () => {
    const { code, stdout } = await runCli(watchArgs('--once', '--namespace', 'team-a'));
    expect(code).toBe(1);
    expect(stdout).toContain('Namespaces are a Consul Enterprise feature');
  });

  it("prints one JSON line with the answer's index, whose instances carry their address", async () => {
    register('g1', 50051);
    const { code, stdout } = await runCli(watchArgs('--once', '--json'));
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines).toHaveLength(1);
    const answer = await fetch(`http://${consul.address}/v1/health/service/greeter?passing=true`);
    await answer.arrayBuffer();
    expect(parse(lines[0])).toMatchObject({
      event: 'current',
      service: 'greeter',
      // the answer's X-Consul-Index, not 0 (the status of an answer came after its set)
      index: Number(answer.headers.get('x-consul-index')),
      instances: [{ address: '127.0.0.1:50051', id: 'g1', tags: [], weight: 1 }],
    });
  });

  it('shows instances whose checks fail with --passing=false', async () => {
    consul.registerService({
      Name: 'greeter',
      ID: 'sick',
      Address: '127.0.0.1',
      Port: 50051,
      Check: { TTL: '1h', Status: 'critical' },
    });
    const base = watchArgs('--once', '--json');
    expect((await runCli(base)).code).toBe(1);
    const all = await runCli([...base, '--passing=false']);
    expect(all.code).toBe(0);
    expect(addresses(parse(all.stdout))).toEqual(['127.0.0.1:50051']);
  });
});

describe('rxlb watch', () => {
  it('prints each addition, change and removal as a JSON line until SIGINT, then exits 0', async () => {
    register('g1', 50051, ['v1']);
    const cli = startCli(watchArgs('--json'));
    await vi.waitFor(() => expect(cli.lines).toHaveLength(1), waitLong);
    expect(addresses(parse(cli.lines[0]))).toEqual(['127.0.0.1:50051']);

    register('g2', 50052);
    await vi.waitFor(() => expect(cli.lines).toHaveLength(2), waitLong);
    const added = parse(cli.lines[1]);
    expect(added).toMatchObject({ event: 'change', added: [{ address: '127.0.0.1:50052' }] });
    expect(added.index).toBeGreaterThan(parse(cli.lines[0]).index);

    register('g1', 50051, ['v2']);
    await vi.waitFor(() => expect(cli.lines).toHaveLength(3), waitLong);
    expect(parse(cli.lines[2]).changed).toMatchObject([
      { before: { tags: ['v1'] }, after: { address: '127.0.0.1:50051', tags: ['v2'] } },
    ]);

    consul.deregisterService('g2');
    await vi.waitFor(() => expect(cli.lines).toHaveLength(4), waitLong);
    const removed = parse(cli.lines[3]);
    expect(removed).toMatchObject({ event: 'change', removed: [{ address: '127.0.0.1:50052' }] });
    expect(addresses(removed)).toEqual(['127.0.0.1:50051']);

    // the command only returns its status; the process exits once nothing is left to wait
    // for: a blocking query or a retry timer left behind would keep it alive
    cli.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it('prints a discovery fault, keeps the set and goes on watching', async () => {
    register('g1', 50051);
    const cli = startCli(watchArgs('--json'));
    await vi.waitFor(() => expect(cli.lines).toHaveLength(1), waitLong);
    consul.inject({ kind: 'status', status: 500 }); // strikes the blocking query's answer
    register('g2', 50052);
    await vi.waitFor(() => expect(cli.lines).toHaveLength(3), waitLong);
    const fault = parse(cli.lines[1]);
    expect(fault).toMatchObject({ event: 'fault', code: 'ERR_CONSUL_HTTP', attempt: 1 });
    expect(addresses(fault)).toEqual(['127.0.0.1:50051']);
    expect(addresses(parse(cli.lines[2]))).toEqual(['127.0.0.1:50051', '127.0.0.1:50052']);
    cli.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it('prints changes as lines for people, and exits 0 on SIGTERM', async () => {
    register('g1', 50051);
    const cli = startCli(watchArgs());
    await vi.waitFor(() => expect(cli.lines).toHaveLength(2), waitLong);
    register('g2', 50052);
    await vi.waitFor(() => expect(cli.lines).toHaveLength(4), waitLong);
    expect(cli.lines[2]).toMatch(/ greeter: 1 added, now 2 instances \(index \d+\)$/);
    expect(cli.lines[3]).toMatch(/^ {2}\+ 127\.0\.0\.1:50052 {2}id=g2 node=/);
    cli.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});

describe('rxlb arguments', () => {
  it('prints the usage on stdout and exits 0 for --help', async () => {
    const { code, stdout, stderr } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: rxlb watch <service> [options]');
    expect(stderr).toBe('');
  });

  it.each([
    [[], 'missing command'],
    [['watch'], 'missing service'],
    [['frob', 'greeter'], 'unknown command "frob"'],
    [['watch', 'greeter', 'extra'], 'unexpected argument "extra"'],
    [['watch', 'greeter', '--colour'], 'unknown option --colour\n'],
    [['watch', 'greeter', '--adress', 'x'], 'unknown option --adress (did you mean --address?)'],
    [['watch', 'greeter', '--passing=maybe'], '--passing must be true or false, got "maybe"'],
    [['watch', 'greeter', '--tag='], '--tag must not be empty'],
    [['watch', 'greeter', '--address', 'nope:x'], '--address must be host:port'],
  ])('exits 2 with the usage on stderr for %j', async (args, message) => {
    const { code, stdout, stderr } = await runCli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`rxlb: ${message}`);
    expect(stderr).toContain('Usage: rxlb watch <service> [options]');
    expect(stderr).not.toContain("Unknown option '"); // Node's own words, never the user's
  });
});
