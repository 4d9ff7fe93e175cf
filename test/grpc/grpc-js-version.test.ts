/**
 * Which grpc-js the balanced channel is built on in this run: the installed one, or 1.14.0
 * in the suite's "grpc-js 1.14.0" project (see vitest.config.ts), so that a project that
 * silently ran the installed copy fails here.
 */
import { createRequire } from 'node:module';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createBalancedChannel } from '../../src/grpc/balanced-channel.js';
import { roundRobinPicker } from '../support/pickers.js';

const require = createRequire(import.meta.url);

describe('the grpc-js under the balanced channel', () => {
  it('is the copy this project of the suite runs', () => {
    const name = process.env.RXLB_GRPC_JS === '1.14.0' ? 'grpc-js-1.14.0' : '@grpc/grpc-js';
    const grpc = require(name) as typeof import('@grpc/grpc-js');
    const channel = createBalancedChannel(new BehaviorSubject(roundRobinPicker([])));
    try {
      expect(channel).toBeInstanceOf(grpc.Channel);
    } finally {
      channel.close();
    }
  });
});
