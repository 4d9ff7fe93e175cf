/**
 * `rxlb watch` in this process: runWatch() with a terminal of its own (stdout, stderr, the
 * signals), so that what it prints, when it stops and with which status are read directly.
 * test/cli/watch.test.ts runs the command itself as a child process.
 */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseCommand, UsageError, type WatchCommand } from '../../src/cli/args.js';
import { runWatch, type Terminal } from '../../src/cli/watch.js';
import { ConsulTestServer } from '../../src/testing/index.js';
import { healthQueries, params } from '../support/server.js';

let consul: ConsulTestServer;
beforeEach(async () => {
  consul = await new ConsulTestServer().start();
});
afterEach(() => consul.stop());

const register = (id: string, port: number, tags: string[] = []) =>
  consul.registerService({ Name: 'greeter', ID: id, Address: '127.0.0.1', Port: port, Tags: tags });

/** `rxlb watch greeter --address <the test server> ...extra`, parsed. */
const command = (...extra: string[]) =>
  parseCommand(['watch', 'greeter', '--address', consul.address, ...extra]) as WatchCommand;

/** A terminal whose output is kept, and a process that only hears the test's signals. */
function terminal() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const process = new EventEmitter();
  const term: Terminal = { stdout, stderr, process: process as unknown as Terminal['process'] };
  return {
    term,
    stdout,
    process,
    lines: () => out.split('\n').filter((line) => line !== ''),
    stderr: () => err,
  };
}

describe('runWatch()', () => {
  it('--once: prints the first set, resolves 0, and leaves no watch and no listener', async () => {
    register('g1', 50051, ['v2']);
    const t = terminal();
    expect(await runWatch(command('--once'), t.term)).toBe(0);
    expect(t.lines()[0]).toMatch(/ greeter: 1 instance \(index \d+\)$/);
    expect(t.lines()[1]).toMatch(/^ {2}127\.0\.0\.1:50051 {2}id=g1 node=.* tags=v2/);
    await vi.waitFor(() => expect(consul.activeRequests).toBe(0));
    expect(t.process.listenerCount('SIGINT') + t.process.listenerCount('SIGTERM')).toBe(0);
    expect(t.stdout.listenerCount('error')).toBe(0);
  });

  it('--once: resolves 1 for an empty set, and for a fault', async () => {
    register('g1', 50051, ['v1']);
    const empty = terminal();
    expect(await runWatch(command('--tag', 'v2', '--once'), empty.term)).toBe(1);
    expect(empty.lines()[0]).toMatch(/greeter: no instance \(index \d+\)$/);
    consul.inject({ kind: 'status', status: 500 });
    const fault = terminal();
    expect(await runWatch(command('--once', '--json'), fault.term)).toBe(1);
    expect(JSON.parse(fault.lines()[0] ?? '')).toMatchObject({ event: 'fault' });
  });

  it('--json: one JSON line per event', async () => {
    register('g1', 50051);
    const t = terminal();
    expect(await runWatch(command('--once', '--json'), t.term)).toBe(0);
    expect(t.lines()).toHaveLength(1);
    const line = JSON.parse(t.lines()[0] ?? '');
    expect(line).toMatchObject({ service: 'greeter', instances: [{ address: '127.0.0.1:50051' }] });
  });

  it.each(['SIGINT', 'SIGTERM'])(
    'watches until %s, then resolves 0 and ends the watch',
    async (signal) => {
      register('g1', 50051);
      const t = terminal();
      const status = runWatch(command('--json'), t.term);
      await vi.waitFor(() => expect(t.lines()).toHaveLength(1));
      register('g2', 50052);
      await vi.waitFor(() => expect(t.lines()).toHaveLength(2));
      expect(JSON.parse(t.lines()[1] ?? '')).toMatchObject({ event: 'change' });
      t.process.emit(signal);
      expect(await status).toBe(0);
      await vi.waitFor(() => expect(consul.activeRequests).toBe(0));
      expect(t.process.listenerCount('SIGINT') + t.process.listenerCount('SIGTERM')).toBe(0);
    },
  );

  it('prints each addition, change and removal for people, with what changed', async () => {
    register('g1', 50051);
    const t = terminal();
    const status = runWatch(command(), t.term);
    const lineCount = async (n: number) => vi.waitFor(() => expect(t.lines()).toHaveLength(n));
    await lineCount(2); // the header and g1
    consul.registerService({
      Name: 'greeter',
      ID: 'g2',
      Address: '127.0.0.1',
      Port: 50052,
      Tags: ['v2', 'eu'],
      Meta: { zone: 'a', rack: 'r1' },
    });
    await lineCount(4);
    register('g1', 50051, ['v3']);
    await lineCount(6);
    consul.deregisterService('g2');
    await lineCount(8);
    t.process.emit('SIGINT');
    expect(await status).toBe(0);
    const [, , added, plus, changed, tilde, removed, minus] = t.lines();
    expect(added).toMatch(/ greeter: 1 added, now 2 instances \(index \d+\)$/);
    expect(plus).toMatch(
      /^ {2}\+ 127\.0\.0\.1:50052 {2}id=g2 node=\S+ dc=dc1 tags=v2,eu meta=zone=a,rack=r1$/,
    );
    expect(changed).toMatch(/ greeter: 1 changed, now 2 instances \(index \d+\)$/);
    expect(tilde).toBe('  ~ 127.0.0.1:50051  tags: - → v3');
    expect(removed).toMatch(/ greeter: 1 removed, now 1 instance \(index \d+\)$/);
    expect(minus).toMatch(/^ {2}- 127\.0\.0\.1:50052 {2}id=g2 /);
  });

  it('stops quietly (0) when its reader goes away (EPIPE), and with 1 on another stdout error', async () => {
    register('g1', 50051);
    for (const [code, status] of [
      ['EPIPE', 0],
      ['EIO', 1],
    ] as const) {
      const t = terminal();
      const running = runWatch(command('--json'), t.term);
      await vi.waitFor(() => expect(t.lines()).toHaveLength(1));
      t.stdout.emit('error', Object.assign(new Error(code), { code }));
      expect(await running).toBe(status);
      await vi.waitFor(() => expect(consul.activeRequests).toBe(0));
    }
  });

  it('asks Consul for what the flags say: tags, dc, peer, namespace, partition, passing', async () => {
    const t = terminal();
    const flags = ['--tag', 'v2', '--tag', 'eu', '--dc', 'dc1', '--passing=false', '--once'];
    await runWatch(command(...flags), t.term);
    const [query] = healthQueries(consul.requests, 'greeter').map((q) => [...params(q)].sort());
    expect(query).toEqual([
      ['dc', 'dc1'],
      ['tag', 'eu'],
      ['tag', 'v2'],
    ]);
    for (const [flag, key] of [
      ['--peer', 'peer'],
      ['--namespace', 'ns'],
      ['--partition', 'partition'],
    ] as const) {
      consul.clearRequests();
      await runWatch(command(flag, 'p1', '--once'), terminal().term);
      const [asked] = healthQueries(consul.requests, 'greeter').map((q) => params(q));
      expect(asked?.get(key), flag).toBe('p1');
    }
    consul.clearRequests();
    await runWatch(command('--once'), terminal().term);
    const [plain] = healthQueries(consul.requests, 'greeter').map((q) => [...params(q)]);
    expect(plain).toEqual([['passing', 'true']]);
  });

  it('refuses at once, as a usage error without the API name, a query rxlb would refuse', () => {
    const bad = command();
    const run = () => runWatch({ ...bad, address: 'no port here' }, terminal().term);
    expect(run).toThrow(UsageError);
    expect(run).toThrow(/^option "address" must be /);
  });
});
