/**
 * The query parameters every health read takes, read as Consul reads them: `?passing` by Go's
 * `strconv.ParseBool` (a bare `?passing` is true, anything else 400), `?stale` and
 * `?consistent` (never both) and the consistency they report, `?index` (digits only), and
 * `?node-meta=key:value` split at its first colon (no colon: an empty value).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulTestServer } from '../../src/testing/index.js';

let server: ConsulTestServer;

beforeAll(async () => {
  server = await new ConsulTestServer({
    nodeMeta: { rack: 'r1', role: 'a:b', spare: '' },
  }).start();
  server.registerService({ Name: 'web', ID: 'web-1', Port: 1 });
  server.registerService({ Name: 'web', ID: 'web-2', Port: 2, Check: { TTL: '1m' } }); // critical
});
afterAll(() => server.stop());

async function get(path: string) {
  const response = await fetch(`http://${server.address}${path}`);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}
const ids = async (query: string) => {
  const answer = await get(`/v1/health/service/web?${query}`);
  expect(answer.status, answer.text).toBe(200);
  return (JSON.parse(answer.text) as { Service: { ID: string } }[]).map((e) => e.Service.ID);
};

describe('health query parameters', () => {
  it.each([
    'passing',
    'passing=',
    'passing=1',
    'passing=t',
    'passing=T',
    'passing=TRUE',
    'passing=true',
    'passing=True',
  ])('?%s: passing instances only', async (query) => {
    expect(await ids(query)).toEqual(['web-1']);
  });

  it.each([
    '',
    'passing=0',
    'passing=f',
    'passing=F',
    'passing=FALSE',
    'passing=false',
    'passing=False',
  ])('?%s: every instance', async (query) => {
    expect(await ids(query)).toEqual(['web-1', 'web-2']);
  });

  it.each(['passing=yes', 'passing=tRUE', 'passing=2'])('?%s: 400, as Consul', async (query) => {
    expect(await get(`/v1/health/service/web?${query}`)).toMatchObject({
      status: 400,
      text: 'Invalid value for ?passing',
    });
  });

  it('reports the consistency asked for, and refuses ?stale with ?consistent', async () => {
    const consistency = async (query: string) =>
      (await get(`/v1/health/service/web?${query}`)).headers.get('x-consul-effective-consistency');
    expect(await consistency('')).toBe('leader');
    expect(await consistency('stale')).toBe('stale');
    expect(await consistency('consistent')).toBe('consistent');
    expect(await get('/v1/health/service/web?stale&consistent')).toMatchObject({
      status: 400,
      text: 'Cannot specify ?stale with ?consistent, conflicting semantics.',
    });
  });

  it('takes ?index as digits only; an empty one does not block', async () => {
    for (const index of ['x1', '1x', '-1', '1.0', ' 1']) {
      expect(
        await get(`/v1/health/service/web?index=${encodeURIComponent(index)}`),
        index,
      ).toMatchObject({ status: 400, text: 'Invalid index' });
    }
    // behind the current index: answered at once, whatever wait says
    for (const index of ['', '0', '1', '01', `${server.index - 1}`]) {
      expect(await ids(`index=${index}&wait=10m`), index).toEqual(['web-1', 'web-2']);
    }
  });

  it('splits ?node-meta at its first colon; with none, the value is empty', async () => {
    expect(await ids('node-meta=rack:r1')).toHaveLength(2);
    expect(await ids('node-meta=role:a:b')).toHaveLength(2);
    expect(await ids('node-meta=role:a')).toEqual([]);
    expect(await ids('node-meta=spare')).toHaveLength(2);
    expect(await ids('node-meta=spare:')).toHaveLength(2);
    expect(await ids('node-meta=rack')).toEqual([]);
    expect(await ids('node-meta=zone:')).toEqual([]);
    expect(await ids('node-meta=rack:r1&node-meta=role:a:b')).toHaveLength(2);
    expect(await ids('node-meta=rack:r1&node-meta=rack:r2')).toEqual([]);
  });
});
