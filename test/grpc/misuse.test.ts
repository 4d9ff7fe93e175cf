/**
 * Mistakes a user can make around the balanced channel, and what they are told: an `rxlb:`
 * target written by hand, and a service config grpc-js refuses (the channel is not made, and
 * nothing of it is left subscribed).
 */
import * as grpc from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import type { Picker } from '../../src/picker.js';
import { grpcJsUnary } from '../support/grpc-js-client.js';
import { roundRobinPicker } from '../support/pickers.js';

describe('the balanced channel, misused', () => {
  it('fails the calls of a grpc-js channel made by hand on an rxlb: target, saying how to make one', async () => {
    // a balanced channel registers the rxlb: scheme with grpc-js
    createBalancedChannel(new Observable<Picker>()).close();
    const channel = new grpc.Channel('rxlb:///greeter', grpc.credentials.createInsecure(), {});
    try {
      await expect(grpcJsUnary(channel, { text: '' })).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
        details: expect.stringContaining(
          'rxlb:///greeter: rxlb targets are made by createBalancedChannel(), not by hand',
        ),
      });
    } finally {
      channel.close();
    }
  });

  it('throws the error of a service config grpc-js refuses, and leaves picker$ unsubscribed', () => {
    let subscribed = 0;
    let unsubscribed = 0;
    const picker$ = new Observable<Picker>((subscriber) => {
      subscribed++;
      subscriber.next(roundRobinPicker(['127.0.0.1:1']));
      return () => {
        unsubscribed++;
      };
    });
    const bad = JSON.stringify({ methodConfig: [{ name: [{}], timeout: 'soon' }] });
    expect(() =>
      createBalancedChannel(picker$, { channelOptions: { 'grpc.service_config': bad } }),
    ).toThrow(/timeout/i);
    expect([subscribed, unsubscribed]).toEqual([1, 1]);
  });
});
