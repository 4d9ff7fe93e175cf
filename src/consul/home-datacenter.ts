import { setTimeout as sleep } from 'node:timers/promises';
import { Observable, of } from 'rxjs';
import { notify } from '../notify.js';
import { backoffDelay } from './backoff.js';
import { ConsulClient } from './client.js';
import { ConsulError } from './errors.js';
import type { WatchConfig } from './options.js';

/**
 * The name of a failover watch's home datacenter: the `dc` option, else the agent's own,
 * asked once of `GET /v1/agent/self` (no health answer names it when it is empty, and no
 * header of Consul's does). Emits `undefined` at the first failure, so that the watch starts
 * without the name rather than wait, and the name when a later attempt gets it: failures
 * that may pass (unreachable, timeout, 5xx, 429) are retried with the watch's backoff, each
 * reported to `onError`; a refusal (403: a token without `agent:read`) is reported once,
 * with `nextDelayMs: Infinity`, and not asked again. Unsubscribing aborts the request and
 * leaves no timer.
 */
export function homeDatacenter$(config: WatchConfig): Observable<string | undefined> {
  const { dc } = config.query;
  return dc !== undefined ? of(dc) : agentDatacenter$(config);
}

/**
 * The agent's own datacenter, asked of `GET /v1/agent/self` whatever the `dc` option: as
 * {@link homeDatacenter$} without a `dc`.
 */
export function agentDatacenter$(config: WatchConfig): Observable<string | undefined> {
  const { service } = config.query;
  return new Observable<string | undefined>((subscriber) => {
    const controller = new AbortController();
    const { signal } = controller;
    const client = new ConsulClient(config.endpoint, config);
    const ask = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          subscriber.next(await client.agentDatacenter(config.readTimeoutMs, signal));
          return;
        } catch (error) {
          if (signal.aborted) return;
          if (!(error instanceof ConsulError)) throw error;
          const lasting = isRefusal(error);
          const nextDelayMs = lasting
            ? Number.POSITIVE_INFINITY
            : backoffDelay(attempt, config.backoff);
          notify(config.onError, { service, datacenter: undefined, error, attempt, nextDelayMs });
          if (attempt === 1) subscriber.next(undefined);
          if (lasting) return;
          await sleep(nextDelayMs, undefined, { signal, ref: config.keepsProcessAlive });
        }
      }
    };
    ask().then(
      () => subscriber.complete(),
      (error: unknown) => {
        if (!signal.aborted) subscriber.error(error);
      },
    );
    return () => {
      controller.abort();
      client.close();
    };
  });
}

/** A 4xx but 429: asking again gets the same answer. */
function isRefusal(error: ConsulError): boolean {
  const status = error.statusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 429;
}
