import { type experimental, logVerbosity, status } from '@grpc/grpc-js';
import type { GrpcJs } from './grpc-js-module.js';

/**
 * `grpc.health.v1.Health/Watch` as a client calls it, written by hand (the balanced channel
 * generates no code and loads no .proto): its path, its two messages in protobuf's wire format,
 * and a function that opens Watch streams on one backend's connection.
 *
 * ```proto
 * message HealthCheckRequest { string service = 1; }
 * message HealthCheckResponse {
 *   enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
 *   ServingStatus status = 1;
 * }
 * service Health { rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse); }
 * ```
 */
export const WATCH_PATH = '/grpc.health.v1.Health/Watch';

/** `HealthCheckResponse.ServingStatus`, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

/** What one message of a Watch stream says. */
export type ServingStatus = (typeof SERVING_STATUS)[number];

/** grpc-js's tracer of the channel's health checks: `GRPC_TRACE=rxlb_health GRPC_VERBOSITY=DEBUG`. */
export const TRACER = 'rxlb_health';

/** `HealthCheckRequest { service }`, encoded: field 1, length-delimited; nothing for `''`. */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const text = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), varint(text.length), text]);
}

/**
 * The `status` of an encoded `HealthCheckResponse`: the last field 1 (proto3's rule), `UNKNOWN`
 * when absent or a number this enum does not have (a newer server's: not serving, as far as
 * rxlb can tell). Other fields are skipped. Throws on bytes that are not a message: grpc-js
 * then ends the stream with INTERNAL, and the channel treats it as a broken stream.
 */
export function decodeServingStatus(bytes: Uint8Array): ServingStatus {
  let value = 0;
  let at = 0;
  while (at < bytes.length) {
    const [tag, afterTag] = readVarint(bytes, at);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    at = afterTag;
    if (wireType === 0) {
      const [read, next] = readVarint(bytes, at);
      if (field === 1) value = read;
      at = next;
    } else if (wireType === 1) {
      at += 8;
    } else if (wireType === 2) {
      const [length, next] = readVarint(bytes, at);
      at = next + length;
    } else if (wireType === 5) {
      at += 4;
    } else {
      throw new Error(`HealthCheckResponse: wire type ${wireType} of field ${field}`);
    }
    if (at > bytes.length) throw new Error('HealthCheckResponse: truncated');
  }
  return SERVING_STATUS[value] ?? 'UNKNOWN';
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A varint at `at`: its value (exact up to 2^53) and the offset after it. */
function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    const byte = bytes[at + i];
    if (byte === undefined) throw new Error('HealthCheckResponse: truncated varint');
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return [value, at + i + 1];
  }
  throw new Error('HealthCheckResponse: varint longer than 10 bytes');
}

/** Hears one Watch stream. Nothing is heard once the stream is cancelled. */
export interface WatchListener {
  /** A message of the stream: what the health service says now. */
  answer(status: ServingStatus): void;
  /** The stream ended with `code`, after every message it delivered. */
  ended(code: status, details: string): void;
}

/** Opens a Watch stream asking about `service`; returns a function that cancels it. */
export type OpenWatch = (service: string, listener: WatchListener) => () => void;

/**
 * Opens Watch streams on `subchannel`'s connection, the one its calls go out on, as gRFC A17
 * wants (and as grpc-js's own ORCA streams do): a channel of that connection alone, with the
 * channel's call credentials, and the channel's grpc-js, whose connection it is. `address`
 * names the backend in traces.
 */
export function watchOn(
  grpc: GrpcJs,
  subchannel: experimental.SubchannelInterface,
  address: string,
): OpenWatch {
  const client = new grpc.Client('', grpc.credentials.createInsecure(), {
    channelOverride: subchannel.getChannel(),
  });
  const trace = (text: string) => grpc.experimental.trace(logVerbosity.DEBUG, TRACER, text);
  return (service, listener) => {
    let open = true;
    trace(`${address}: Watch(${JSON.stringify(service)}) started`);
    const call = client.makeServerStreamRequest(
      WATCH_PATH,
      encodeHealthCheckRequest,
      decodeServingStatus,
      service,
      new grpc.Metadata(),
      {},
    );
    call.on('data', (answer: ServingStatus) => {
      if (!open) return;
      trace(`${address}: Watch says ${answer}`);
      listener.answer(answer);
    });
    // The status comes before the stream has delivered the messages it holds; it is told
    // once they are, on 'end'.
    let ended: { code: status; details: string } | undefined;
    let drained = false;
    const end = () => {
      if (!open || ended === undefined || !drained) return;
      open = false;
      trace(`${address}: Watch ended: ${status[ended.code] ?? ended.code} ${ended.details}`);
      listener.ended(ended.code, ended.details);
    };
    call.on('status', ({ code, details }: { code: status; details: string }) => {
      ended = { code, details };
      end();
    });
    call.on('end', () => {
      drained = true;
      end();
    });
    call.on('error', () => {}); // the status says it
    return () => {
      if (!open) return;
      open = false;
      trace(`${address}: Watch cancelled`);
      call.cancel();
    };
  };
}
