import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

/**
 * A test service with all four call kinds, defined the way grpc-js's `loadPackageDefinition`
 * would define it, with JSON on the wire so that no code generation is needed. nice-grpc's
 * `createClient` and grpc-js's `Server.addService` both accept it.
 */

export interface EchoRequest {
  readonly text: string;
  /** Server-streaming: how many replies to send. */
  readonly count?: number;
  /** The server holds the call, before any reply, until the test calls `release()` on it. */
  readonly hold?: boolean;
  /** Server-streaming: the server sends the first reply, then holds the call like `hold`. */
  readonly holdAfterFirst?: boolean;
  /** The server fails the call with this status code (client-streaming: if the first asks). */
  readonly failWith?: number;
  /** Only the server at this address obeys `failWith`. Default: all. */
  readonly failOn?: string;
}

export interface EchoReply {
  readonly text: string;
  /** The address of the server that answered. */
  readonly backend: string;
  /** The request metadata keys the server saw. */
  readonly metadataKeys: readonly string[];
}

const json = {
  serialize: (value: unknown): Buffer => Buffer.from(JSON.stringify(value)),
  deserialize: <T>(bytes: Buffer): T => JSON.parse(bytes.toString('utf8')) as T,
};

function method<Stream extends { request: boolean; response: boolean }>(
  name: string,
  stream: Stream,
): MethodDefinition<EchoRequest, EchoReply> & {
  requestStream: Stream['request'];
  responseStream: Stream['response'];
} {
  return {
    path: `/rxlb.test.Echo/${name}`,
    originalName: name,
    requestStream: stream.request,
    responseStream: stream.response,
    requestSerialize: json.serialize,
    requestDeserialize: (bytes) => json.deserialize<EchoRequest>(bytes),
    responseSerialize: json.serialize,
    responseDeserialize: (bytes) => json.deserialize<EchoReply>(bytes),
  };
}

export const EchoService = {
  unary: method('Unary', { request: false, response: false }),
  serverStream: method('ServerStream', { request: false, response: true }),
  clientStream: method('ClientStream', { request: true, response: false }),
  bidi: method('Bidi', { request: true, response: true }),
} as const satisfies ServiceDefinition;
