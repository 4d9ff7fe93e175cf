import { type Channel, Client, credentials, Metadata } from '@grpc/grpc-js';
import { type EchoReply, type EchoRequest, EchoService } from './echo-service.js';

/**
 * A unary echo call through a plain grpc-js `Client` using `channel`: for what nice-grpc does
 * not expose, a grpc-js deadline and `waitForReady`.
 */
export function grpcJsUnary(
  channel: Channel,
  request: EchoRequest,
  options: {
    readonly deadline?: Date | number;
    readonly metadata?: Metadata;
    readonly waitForReady?: boolean;
  } = {},
): Promise<EchoReply> {
  const client = new Client('', credentials.createInsecure(), { channelOverride: channel });
  const { path, requestSerialize, responseDeserialize } = EchoService.unary;
  const callOptions = options.deadline === undefined ? {} : { deadline: options.deadline };
  const metadata = options.metadata ?? new Metadata();
  // grpc-js takes waitForReady as an option of the call's metadata
  if (options.waitForReady !== undefined)
    metadata.setOptions({ waitForReady: options.waitForReady });
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      requestSerialize,
      responseDeserialize,
      request,
      metadata,
      callOptions,
      (error, reply) => {
        if (error) reject(error);
        else if (reply) resolve(reply);
        else reject(new Error('no reply'));
      },
    );
  });
}
