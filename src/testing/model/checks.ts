/**
 * The health checks the test server really runs, as Consul's agent does: TCP connect,
 * HTTP request (2xx passing, 429 warning, else critical), gRPC
 * `grpc.health.v1.Health/Check` (SERVING passing, else critical) and scripts (see
 * `script-check.ts`). TTL checks need no probe: the agent expires them.
 */
import http from 'node:http';
import https from 'node:https';
import { connect } from 'node:net';
import { type Channel, createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import type { CheckStatus, ParsedCheck } from './registration.js';
import { runScript } from './script-check.js';

export interface ProbeResult {
  readonly status: CheckStatus;
  readonly output: string;
}

/** One run of a check; rejects never. */
type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

const MAX_OUTPUT = 4_096;

/** grpc.health.v1's serving statuses by number, as Consul's check output names them. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function tcpProbe(target: string): Probe {
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(target);
  return (signal) =>
    new Promise((resolve) => {
      if (!match) {
        resolve({ status: 'critical', output: `invalid TCP address ${JSON.stringify(target)}` });
        return;
      }
      const socket = connect({ host: match[1], port: Number(match[2]), signal });
      socket.once('connect', () => {
        socket.destroy();
        resolve({ status: 'passing', output: `TCP connect ${target}: Success` });
      });
      socket.once('error', (error) => {
        resolve({ status: 'critical', output: `dial tcp ${target}: ${reason(error)}` });
      });
    });
}

function httpProbe(check: ParsedCheck): Probe {
  const { target, method } = check;
  return (signal) =>
    new Promise((resolve) => {
      const client = target.startsWith('https:') ? https : http;
      const headers: Record<string, string[]> = {};
      for (const [name, values] of Object.entries(check.header)) headers[name] = [...values];
      let request: http.ClientRequest;
      try {
        request = client.request(target, {
          method,
          headers,
          signal,
          agent: false,
          rejectUnauthorized: !check.tlsSkipVerify,
        });
      } catch (error) {
        resolve({ status: 'critical', output: `${method} ${target}: ${reason(error)}` });
        return;
      }
      request.once('response', (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < MAX_OUTPUT) body += chunk;
        });
        response.once('end', () => {
          const code = response.statusCode ?? 0;
          const status =
            code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical';
          const line = `HTTP ${method} ${target}: ${code} ${response.statusMessage ?? ''}`;
          resolve({ status, output: `${line} Output: ${body.slice(0, MAX_OUTPUT)}` });
        });
        response.once('error', (error) => {
          resolve({ status: 'critical', output: `${method} ${target}: ${reason(error)}` });
        });
      });
      request.once('error', (error) => {
        resolve({ status: 'critical', output: `${method} ${target}: ${reason(error)}` });
      });
      request.end();
    });
}

/** A gRPC probe keeps one channel for all its runs; `close()` releases it. */
function grpcProbe(check: ParsedCheck): Probe & { close(): void } {
  // "host:port/service": the service part names what to ask the health service about
  const slash = check.target.indexOf('/');
  const address = slash < 0 ? check.target : check.target.slice(0, slash);
  const service = slash < 0 ? '' : check.target.slice(slash + 1);
  let channel: Channel | undefined;
  const probe = async (signal: AbortSignal): Promise<ProbeResult> => {
    try {
      // credentials of nice-grpc's own grpc-js, whichever copy that is: said by the scheme
      channel ??= createChannel(`${check.grpcUseTls ? 'https' : 'http'}://${address}`);
      const client = createClient(HealthDefinition, channel);
      const { status } = await client.check({ service }, { signal });
      return status === 1
        ? { status: 'passing', output: `gRPC check ${check.target}: success` }
        : {
            status: 'critical',
            output: `gRPC ${check.target} serving status: ${SERVING_STATUS[status] ?? status}`,
          };
    } catch (error) {
      return { status: 'critical', output: `gRPC check ${check.target}: ${reason(error)}` };
    }
  };
  return Object.assign(probe, { close: () => channel?.close() });
}

/**
 * Runs a check now and then every `intervalMs` after the previous run ends, each run bounded
 * by `timeoutMs`. Timers are unref'd: a check never keeps a process alive.
 */
export class CheckRunner {
  readonly #check: ParsedCheck;
  readonly #probe: Probe & { close?: () => void };
  readonly #report: (result: ProbeResult) => void;
  #timer: NodeJS.Timeout | undefined;
  #run: AbortController | undefined;
  #stopped = false;

  constructor(check: ParsedCheck, report: (result: ProbeResult) => void) {
    this.#check = check;
    this.#report = report;
    this.#probe =
      check.type === 'tcp'
        ? tcpProbe(check.target)
        : check.type === 'http'
          ? httpProbe(check)
          : check.type === 'script'
            ? (signal) => runScript(check.args, check.timeoutMs, signal)
            : grpcProbe(check);
  }

  start(): void {
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#run?.abort();
    this.#probe.close?.();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const run = new AbortController();
    this.#run = run;
    const timeout = setTimeout(() => run.abort(), this.#check.timeoutMs).unref();
    const result = await this.#probe(run.signal);
    clearTimeout(timeout);
    if (this.#stopped) return;
    // a script reports its own timeout, with the output it had so far
    this.#report(
      run.signal.aborted && this.#check.type !== 'script'
        ? {
            status: 'critical',
            output: `${this.#check.target}: timed out after ${this.#check.timeoutMs} ms`,
          }
        : result,
    );
    this.#timer = setTimeout(() => void this.#tick(), this.#check.intervalMs).unref();
  }
}
