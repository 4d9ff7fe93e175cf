/**
 * `PUT /v1/agent/service/register` on ConsulTestServer, as registerInstance() and Consul's
 * own clients send it: each definition Consul refuses answered 400 with Consul's words, and
 * what an accepted one becomes in /v1/agent/services and /v1/agent/checks (defaults,
 * tagged addresses, check IDs numbered only when there are several, each check's fields).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';

let server: ConsulTestServer;

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`http://${server.address}${path}`, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, text };
}
const register = (body: unknown) => call('PUT', '/v1/agent/service/register', body);
const json = async (path: string) => JSON.parse((await call('GET', path)).text) as unknown;

const ttl = { TTL: '1m' };

describe('service registrations Consul refuses', () => {
  // one server for them all: none registers anything
  beforeAll(async () => {
    server = await new ConsulTestServer().start();
  });
  afterAll(() => server.stop());

  it.each<[unknown, string]>([
    [[], 'Request decode failed: body is not an object'],
    [{ Port: 1 }, 'Missing service name'],
    [{ Name: 'w', Port: -1 }, 'Invalid Port -1'],
    [{ Name: 'w', Port: 65_536 }, 'Invalid Port 65536'],
    [{ Name: 'w', Port: 1.5 }, 'Invalid Port 1.5'],
    [{ Name: 'w', Port: '80' }, 'Invalid Port "80"'],
    [
      { Name: 'w', Weights: { Passing: 0 } },
      'Invalid Weights: Weights.Passing must be an integer >= 1',
    ],
    [
      { Name: 'w', Weights: { Warning: 1.5 } },
      'Invalid Weights: Weights.Warning must be an integer >= 1',
    ],
    [
      { Name: 'w', Weights: { Passing: '2' } },
      'Invalid Weights: Weights.Passing must be an integer >= 1',
    ],
    [{ Name: 'w', TaggedAddresses: 1 }, 'TaggedAddresses must map tags to { Address, Port }'],
    [
      { Name: 'w', TaggedAddresses: { lan: 1 } },
      'TaggedAddresses must map tags to { Address, Port }',
    ],
    [
      { Name: 'w', TaggedAddresses: { lan: { Port: 65_536 } } },
      'Invalid TaggedAddresses.lan.Port 65536',
    ],
    [{ Name: 'w', TaggedAddresses: { wan: { Port: -1 } } }, 'Invalid TaggedAddresses.wan.Port -1'],
    [
      { Name: 'w', TaggedAddresses: { lan: { Port: 1.5 } } },
      'Invalid TaggedAddresses.lan.Port 1.5',
    ],
    [
      { Name: 'w', TaggedAddresses: { lan: { Port: '1' } } },
      'Invalid TaggedAddresses.lan.Port "1"',
    ],
    [{ Name: 'w', Checks: {} }, 'Checks must be a list'],
    [{ Name: 'w', Check: 1 }, 'Check must be an object'],
    [
      { Name: 'w', Check: { ...ttl, Status: 'up' } },
      "Status for checks must 'passing', 'warning', 'critical'",
    ],
    [
      { Name: 'w', Check: { ...ttl, Header: { a: 'b' } } },
      'Invalid check: check "service:w": Header must map names to lists of strings',
    ],
    [
      { Name: 'w', Check: { ...ttl, Header: { a: ['b', 1] } } },
      'Invalid check: check "service:w": Header must map names to lists of strings',
    ],
    [
      { Name: 'w', Check: { ...ttl, Header: 1 } },
      'Invalid check: check "service:w": Header must map names to lists of strings',
    ],
    [
      { Name: 'w', Check: { ...ttl, Interval: '1s' } },
      'Invalid check: Interval and TTL cannot both be specified',
    ],
    [
      { Name: 'w', Check: { HTTP: 'http://x', TCP: 'x:1', Interval: '1s' } },
      'Invalid check: check "service:w" has more than one of Args, HTTP, TCP and GRPC',
    ],
    [
      { Name: 'w', Check: { Args: ['x'], GRPC: 'x:1', Interval: '1s' } },
      'Invalid check: check "service:w" has more than one of Args, HTTP, TCP and GRPC',
    ],
    [
      { Name: 'w', Check: { HTTP: 'http://x' } },
      'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks',
    ],
    [{ Name: 'w', Check: {} }, 'Invalid check: TTL must be > 0 for TTL checks'],
    [
      {
        Name: 'w',
        Checks: [
          { ...ttl, CheckID: 'a' },
          { ...ttl, CheckID: 'a' },
        ],
      },
      'Check IDs must be unique',
    ],
    [
      { Name: 'w', Check: { ...ttl, ID: 'a' }, Checks: [{ ...ttl, CheckID: 'a' }] },
      'Check IDs must be unique',
    ],
  ])('refuses %j: "%s"', async (body, message) => {
    expect(await register(body)).toEqual({ status: 400, text: message });
    expect(await json('/v1/agent/services')).toEqual({});
  });

  it('answers a body that is not JSON, or none, as Consul does; and an unknown path 404', async () => {
    const raw = async (path: string, body?: string) => {
      const response = await fetch(`http://${server.address}${path}`, {
        method: 'PUT',
        ...(body !== undefined && { body }),
      });
      return { status: response.status, text: await response.text() };
    };
    expect(await raw('/v1/agent/service/register')).toEqual({
      status: 400,
      text: 'Request decode failed: EOF',
    });
    expect(await raw('/v1/agent/service/register', ' \n')).toEqual({
      status: 400,
      text: 'Request decode failed: EOF',
    });
    const broken = await raw('/v1/agent/service/register', '{"Name":');
    expect(broken.status).toBe(400);
    expect(broken.text).toMatch(/^Request decode failed: \S/);
    expect(await raw('/v1/agent/nothing-here')).toEqual({
      status: 404,
      text: '404 page not found',
    });
  });
});

describe('service registration through the agent API', () => {
  beforeEach(async () => {
    server = await new ConsulTestServer().start();
  });
  afterEach(() => server.stop());

  it('fills in what a definition leaves out, as Consul does', async () => {
    expect((await register({ Name: 'w' })).status).toBe(200);
    expect(await json('/v1/agent/services')).toMatchObject({
      w: {
        ID: 'w',
        Service: 'w',
        Tags: [],
        Meta: {},
        Port: 0,
        Address: '',
        TaggedAddresses: {},
        Weights: { Passing: 1, Warning: 1 },
        EnableTagOverride: false,
      },
    });
    expect(await json('/v1/agent/checks')).toEqual({});
  });

  it('keeps what a definition gives: weights, tagged addresses, tag override', async () => {
    const body = {
      Name: 'w',
      ID: 'w-1',
      Port: 65_535,
      Weights: { Passing: 3, Warning: 1 },
      TaggedAddresses: { lan: { Address: '10.0.0.1', Port: 65_535 }, wan: { Address: 'b' } },
      EnableTagOverride: true,
      Check: null,
    };
    expect((await register(body)).status).toBe(200);
    expect(await json('/v1/agent/services')).toMatchObject({
      'w-1': {
        ID: 'w-1',
        Service: 'w',
        Port: 65_535,
        TaggedAddresses: {
          lan: { Address: '10.0.0.1', Port: 65_535 },
          wan: { Address: 'b', Port: 0 },
        },
        Weights: { Passing: 3, Warning: 1 },
        EnableTagOverride: true,
      },
    });
  });

  it('keeps checks a new registration leaves out, unless ?replace-existing-checks; a kept check keeps its status', async () => {
    const checks = async () =>
      Object.entries((await json('/v1/agent/checks')) as Record<string, { Status: string }>)
        .map(([id, check]) => `${id} ${check.Status}`)
        .sort();
    const web = {
      Name: 'w',
      ID: 'w-1',
      Checks: [
        { ...ttl, CheckID: 'a' },
        { ...ttl, CheckID: 'b' },
      ],
    };
    expect((await register(web)).status).toBe(200);
    expect((await call('PUT', '/v1/agent/check/pass/a')).status).toBe(200);
    expect((await register({ ...web, Checks: [{ ...ttl, CheckID: 'a' }] })).status).toBe(200);
    expect(await checks()).toEqual(['a passing', 'b critical']);
    const replace = await call('PUT', '/v1/agent/service/register?replace-existing-checks', {
      ...web,
      Checks: [
        { ...ttl, CheckID: 'a' },
        { ...ttl, CheckID: 'c' },
      ],
    });
    expect(replace.status).toBe(200);
    expect(await checks()).toEqual(['a passing', 'c critical']);
  });

  it('names one check service:<id>, and several service:<id>:1, :2...; each with its fields', async () => {
    expect(
      (await register({ Name: 'w', ID: 'one', Check: { ...ttl, Status: 'passing' } })).status,
    ).toBe(200);
    const several = {
      Name: 'w',
      ID: 'w-1',
      Check: ttl,
      Checks: [
        {
          HTTP: 'http://127.0.0.1:1/h',
          Interval: '1h',
          Method: 'POST',
          Header: { A: ['b'] },
          TLSSkipVerify: true,
          Notes: 'n',
        },
        { TCP: '127.0.0.1:1', Interval: '1h', Name: 'tcp', Timeout: '3s' },
        { HTTP: 'http://127.0.0.1:1/g', Interval: '1h', CheckID: 'mine' },
      ],
    };
    expect((await register(several)).status).toBe(200);
    const checks = (await json('/v1/agent/checks')) as Record<string, Record<string, unknown>>;
    expect(Object.keys(checks).sort()).toEqual([
      'mine',
      'service:one',
      'service:w-1:1',
      'service:w-1:2',
      'service:w-1:3',
    ]);
    expect(checks['service:one']).toMatchObject({
      Type: 'ttl',
      Status: 'passing',
      Name: "Service 'w' check",
    });
    expect(checks['service:w-1:1']).toMatchObject({
      Type: 'ttl',
      Status: 'critical',
      Interval: '',
      Timeout: '',
    });
    expect(checks['service:w-1:2']).toMatchObject({
      Type: 'http',
      Name: "Service 'w' check",
      Notes: 'n',
      Interval: '1h',
      ServiceID: 'w-1',
      ServiceName: 'w',
    });
    // each HTTP check runs at once, with the method given (the default: GET)
    await vi.waitFor(async () => {
      const ran = (await json('/v1/agent/checks')) as Record<string, Record<string, unknown>>;
      expect(ran['service:w-1:2']?.Output).toMatch(/^POST http:\/\/127\.0\.0\.1:1\/h: /);
      expect(ran.mine?.Output).toMatch(/^GET http:\/\/127\.0\.0\.1:1\/g: /);
    });
    expect(checks['service:w-1:3']).toMatchObject({ Type: 'tcp', Name: 'tcp', Timeout: '3s' });
  });
});
