/** Plain HTTP calls to a ConsulTestServer, as a Consul client makes them, for assertions. */
import Consul from 'consul';
import type { ConsulTestServer } from '../../src/testing/index.js';

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
  /** `X-Consul-Index` as a number (NaN when absent). */
  readonly index: number;
}

export interface ConsulHttp {
  call(method: string, path: string, body?: unknown, init?: RequestInit): Promise<Answer>;
  get(path: string, init?: RequestInit): Promise<Answer>;
  put(path: string, body?: unknown, init?: RequestInit): Promise<Answer>;
  del(path: string, init?: RequestInit): Promise<Answer>;
}

/** Calls to `server`; a string or Buffer body is sent as is, anything else as JSON. */
export function consulHttp(server: ConsulTestServer): ConsulHttp {
  const call = async (method: string, path: string, body?: unknown, init: RequestInit = {}) => {
    const payload =
      body === undefined
        ? undefined
        : typeof body === 'string' || Buffer.isBuffer(body)
          ? body
          : JSON.stringify(body);
    const response = await fetch(`http://${server.address}${path}`, {
      ...init,
      method,
      ...(payload !== undefined && { body: payload }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      json: <T>() => JSON.parse(text) as T,
      index: Number(response.headers.get('x-consul-index') ?? Number.NaN),
    };
  };
  return {
    call,
    get: (path, init) => call('GET', path, undefined, init),
    put: (path, body, init) => call('PUT', path, body, init),
    del: (path, init) => call('DELETE', path, undefined, init),
  };
}

/** The `consul` npm client, as a user's code makes one, for the server at `address` (host:port). */
export function consulClient(address: string): Consul {
  const [host, port] = address.split(':');
  return new Consul({ host: host ?? '127.0.0.1', port: Number(port) });
}
