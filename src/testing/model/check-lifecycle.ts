/**
 * One agent check's life, as Consul's agent runs it: a TTL check turns critical when it is
 * not updated in time; a TCP, HTTP, gRPC or script check is probed on its interval; and a
 * check critical for longer than `DeregisterCriticalServiceAfter` takes its service away.
 * Timers are unref'd: a check never keeps a process alive.
 */
import { type Catalog, updateCheckStatus } from './catalog.js';
import { CheckRunner } from './checks.js';
import type { CheckStatus, CheckType, ParsedCheck } from './registration.js';

export class CheckLifecycle {
  readonly #catalog: Catalog;
  readonly #node: string;
  readonly #check: ParsedCheck;
  readonly #reap: (serviceId: string) => void;
  #runner: CheckRunner | undefined;
  #ttl: NodeJS.Timeout | undefined;
  #reaper: NodeJS.Timeout | undefined;
  #stopped = false;

  /** `reap` deregisters a service whose check stayed critical too long. */
  constructor(
    catalog: Catalog,
    node: string,
    check: ParsedCheck,
    reap: (serviceId: string) => void,
  ) {
    this.#catalog = catalog;
    this.#node = node;
    this.#check = check;
    this.#reap = reap;
  }

  get type(): CheckType {
    return this.#check.type;
  }

  start(): void {
    if (this.#check.type === 'ttl') this.#armTtl();
    else {
      this.#runner = new CheckRunner(this.#check, ({ status, output }) =>
        this.#set(status, output),
      );
      this.#runner.start();
    }
    this.#watchCritical();
  }

  /** A status from outside (a TTL update, or a test); a TTL check restarts its TTL. */
  report(status: CheckStatus, output: string): void {
    if (this.#check.type === 'ttl') this.#armTtl();
    this.#set(status, output);
  }

  stop(): void {
    this.#stopped = true;
    this.#runner?.stop();
    clearTimeout(this.#ttl);
    clearTimeout(this.#reaper);
  }

  #set(status: CheckStatus, output: string): void {
    if (this.#stopped) return;
    updateCheckStatus(this.#catalog, this.#node, this.#check.id, status, output);
    this.#watchCritical();
  }

  #armTtl(): void {
    if (this.#stopped) return;
    clearTimeout(this.#ttl);
    this.#ttl = setTimeout(() => {
      this.#ttl = undefined;
      const last = this.#catalog.check(this.#node, this.#check.id)?.output;
      const prefix = 'TTL expired';
      this.#set(
        'critical',
        last ? `${prefix} (last output before timeout follows): ${last}` : prefix,
      );
    }, this.#check.ttlMs).unref();
  }

  /** Starts or cancels the countdown of `DeregisterCriticalServiceAfter`. */
  #watchCritical(): void {
    const check = this.#catalog.check(this.#node, this.#check.id);
    const after = this.#check.deregisterAfterMs;
    if (!check || after === undefined || check.serviceId === '') return;
    if (check.status !== 'critical') {
      clearTimeout(this.#reaper);
      this.#reaper = undefined;
    } else if (!this.#reaper && !this.#stopped) {
      this.#reaper = setTimeout(() => this.#reap(check.serviceId), after).unref();
    }
  }
}
