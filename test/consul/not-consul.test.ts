/**
 * A server that is not Consul (a web server answering 200 with a page) is recognised at the
 * first answer, and said so, rather than taken for an agent or waited on.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsulError } from '../../src/consul/errors.js';
import { consulInstances$ } from '../../src/consul/instances.js';
import type { ConsulFailure } from '../../src/consul/options.js';
import { registerInstance } from '../../src/consul/register-instance.js';
import type { InstanceSet } from '../../src/instance.js';
import { isUnresolved } from '../support/answers.js';

const PAGE = '<!doctype html>\n<html><body><h1>Welcome to nginx!</h1></body></html>\n';
let server: Server | undefined;

/** A tiny web server on 127.0.0.1:0 that answers every request 200 with `body`. */
async function webServer(body = PAGE, headers: IncomingHttpHeaders = {}): Promise<string> {
  server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers });
    response.end(body);
  });
  const listening = server;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  const { port } = listening.address() as { port: number };
  return `127.0.0.1:${port}`;
}

afterEach(async () => {
  const closing = server;
  server = undefined;
  if (closing) await new Promise((resolve) => closing.close(resolve));
});

const NOT_CONSUL =
  /^http:\/\/127\.0\.0\.1:\d+ is not a Consul agent: .*HTTP 200 \(text\/html\) without any X-Consul-\* header: "<!doctype html> <html><body><h1>Welcome to nginx!/;

describe('a server that is not Consul', () => {
  it('fails registerInstance() at its first answer, saying so', async () => {
    const address = await webServer();
    const started = performance.now();
    const error = await registerInstance({
      name: 'greeter',
      port: 50051,
      check: false,
      consul: { address },
    }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(ConsulError);
    expect(error).toMatchObject({ code: 'ERR_CONSUL_BAD_RESPONSE' });
    expect((error as ConsulError).message).toMatch(NOT_CONSUL);
    expect((error as ConsulError).message).toContain('registration of "greeter-');
  });

  it("is consulInstances$()'s first fault, and why no instance is known yet", async () => {
    const address = await webServer();
    const failures: ConsulFailure[] = [];
    const first = await new Promise<InstanceSet>((resolve) => {
      const subscription = consulInstances$('greeter', {
        address,
        onError: (failure) => failures.push(failure),
      }).subscribe((set) => {
        resolve(set);
        queueMicrotask(() => subscription.unsubscribe());
      });
    });
    expect(failures[0]?.attempt).toBe(1);
    expect(failures[0]?.error.message).toMatch(NOT_CONSUL);
    expect(failures[0]?.error.message).toContain('health query for "greeter"');
    expect(isUnresolved(first)).toBe(true);
  });

  it('leaves an empty answer without X-Consul-* headers (an older agent) alone', async () => {
    const address = await webServer('', { 'content-type': 'text/plain' });
    const registered = await registerInstance({
      name: 'greeter',
      port: 50051,
      check: false,
      consul: { address },
    });
    expect(registered.name).toBe('greeter');
    await registered.deregister();
  });
});
