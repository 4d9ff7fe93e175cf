/**
 * The one client every macro row uses: a plain grpc-js `Client` over the channel under test,
 * sending the same unary echo request. grpc-js's client is the thinnest there is, so the
 * channel's own cost is as large a share of each call as it can be.
 */
import { type Channel, Client, credentials } from '@grpc/grpc-js';
import { type EchoReply, type EchoRequest, EchoService } from '../test/support/echo-service.js';

/** The request of every call: 33 bytes of JSON on the wire. */
export const PAYLOAD: EchoRequest = Object.freeze({ text: 'rxlb benchmark payload' });

/** A unary echo call over `channel`; resolves with the reply, which names its backend. */
export function unaryCaller(channel: Channel): () => Promise<EchoReply> {
  const client = new Client('', credentials.createInsecure(), { channelOverride: channel });
  const { path, requestSerialize, responseDeserialize } = EchoService.unary;
  return () =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        path,
        requestSerialize,
        responseDeserialize,
        PAYLOAD,
        (error, reply) => {
          if (error) reject(error);
          else if (reply) resolve(reply);
          else reject(new Error('no reply'));
        },
      );
    });
}
