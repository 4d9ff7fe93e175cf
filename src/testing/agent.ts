/**
 * What a Consul agent does with registrations: it keeps services and checks in the catalog,
 * runs TCP, HTTP and gRPC checks on their intervals, expires TTL checks that are not
 * updated, reaps services critical for longer than `DeregisterCriticalServiceAfter`, and
 * puts services in and out of maintenance.
 */
import { Catalog, type NodeInfo } from './catalog.js';
import { CheckRunner } from './checks.js';
import { type CheckStatus, type ParsedCheck, parseServiceDefinition } from './registration.js';

/** An agent operation on an id that does not exist; the server answers 404. */
export class UnknownIdError extends Error {
  override readonly name = 'UnknownIdError';
}

/** A check update Consul refuses (`pass` on a non-TTL check); the server answers 500. */
export class CheckUpdateError extends Error {
  override readonly name = 'CheckUpdateError';
}

const MAINTENANCE_PREFIX = '_service_maintenance:';
const DEFAULT_MAINTENANCE_NOTE =
  'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';

export class Agent {
  readonly catalog: Catalog;
  /** Per check: what keeps it moving (a probe runner or a TTL timer) and its reaper. */
  readonly #checks = new Map<
    string,
    {
      readonly definition: ParsedCheck;
      runner?: CheckRunner | undefined;
      ttl?: NodeJS.Timeout | undefined;
      reaper?: NodeJS.Timeout | undefined;
    }
  >();
  #closed = false;

  constructor(node: NodeInfo) {
    this.catalog = new Catalog(node);
  }

  /** Registers (or re-registers) a service from its JSON definition; returns its id. */
  register(definition: unknown, replaceExistingChecks = false): string {
    const service = parseServiceDefinition(definition);
    for (const check of service.checks) this.#stopCheck(check.id);
    if (replaceExistingChecks) {
      for (const check of this.catalog.checksOf(service.id)) this.#stopCheck(check.id);
    }
    this.catalog.putService(service, replaceExistingChecks);
    for (const check of service.checks) {
      const state: { definition: ParsedCheck; runner?: CheckRunner } = { definition: check };
      this.#checks.set(check.id, state);
      if (check.type === 'ttl') this.#armTtl(check.id);
      else if (!this.#closed) {
        state.runner = new CheckRunner(check, ({ status, output }) =>
          this.#setStatus(check.id, status, output),
        );
      }
      this.#watchCritical(check.id);
    }
    for (const check of service.checks) this.#checks.get(check.id)?.runner?.start();
    return service.id;
  }

  /** Removes a service and its checks. */
  deregister(id: string): void {
    if (!this.catalog.service(id)) throw new UnknownIdError(`Unknown service ID "${id}"`);
    for (const check of this.catalog.checksOf(id)) this.#stopCheck(check.id);
    this.catalog.deleteService(id);
  }

  /**
   * `PUT /v1/agent/check/{pass,warn,fail,update}/:id`: only TTL checks take updates, and
   * each update restarts the TTL.
   */
  updateTtlCheck(id: string, status: CheckStatus, output: string): void {
    const state = this.#checks.get(id);
    if (!this.catalog.check(id)) throw new UnknownIdError(`Unknown check ID "${id}"`);
    if (state?.definition.type !== 'ttl') {
      throw new CheckUpdateError(`CheckID "${id}" does not have associated TTL`);
    }
    this.#armTtl(id);
    this.#setStatus(id, status, output);
  }

  /** Sets any check's status directly, as a test wants to; TTL checks restart their TTL. */
  setCheckStatus(id: string, status: CheckStatus, output: string): void {
    if (!this.catalog.check(id)) throw new UnknownIdError(`Unknown check ID "${id}"`);
    if (this.#checks.get(id)?.definition.type === 'ttl') this.#armTtl(id);
    this.#setStatus(id, status, output);
  }

  /** `PUT /v1/agent/service/maintenance/:id`: a critical check while enabled. */
  maintenance(serviceId: string, enable: boolean, reason: string): void {
    const service = this.catalog.service(serviceId);
    if (!service) throw new UnknownIdError(`Unknown service ID "${serviceId}"`);
    const id = `${MAINTENANCE_PREFIX}${serviceId}`;
    if (!enable) {
      this.catalog.deleteCheck(id);
      return;
    }
    if (this.catalog.check(id)) return;
    this.catalog.putAgentCheck({
      id,
      name: 'Service Maintenance Mode',
      serviceId,
      serviceName: service.name,
      type: 'maintenance',
      status: 'critical',
      output: '',
      notes: reason || DEFAULT_MAINTENANCE_NOTE,
      interval: '',
      timeout: '',
    });
  }

  /** Stops every check runner and timer; the catalog stays readable. */
  close(): void {
    this.#closed = true;
    for (const id of [...this.#checks.keys()]) this.#stopCheck(id);
  }

  #setStatus(id: string, status: CheckStatus, output: string): void {
    if (this.#closed) return;
    this.catalog.updateCheck(id, status, output);
    this.#watchCritical(id);
  }

  #armTtl(id: string): void {
    const state = this.#checks.get(id);
    if (!state || this.#closed) return;
    clearTimeout(state.ttl);
    state.ttl = setTimeout(() => {
      state.ttl = undefined;
      const last = this.catalog.check(id)?.output;
      this.#setStatus(id, 'critical', `TTL expired${last ? ` (last output: ${last})` : ''}`);
    }, state.definition.ttlMs).unref();
  }

  /** Starts or cancels the countdown of `DeregisterCriticalServiceAfter`. */
  #watchCritical(id: string): void {
    const state = this.#checks.get(id);
    const check = this.catalog.check(id);
    const after = state?.definition.deregisterAfterMs;
    if (!state || !check || after === undefined) return;
    if (check.status !== 'critical') {
      clearTimeout(state.reaper);
      state.reaper = undefined;
    } else if (!state.reaper && !this.#closed) {
      state.reaper = setTimeout(() => {
        if (this.catalog.service(check.serviceId)) this.deregister(check.serviceId);
      }, after).unref();
    }
  }

  #stopCheck(id: string): void {
    const state = this.#checks.get(id);
    if (!state) return;
    state.runner?.stop();
    clearTimeout(state.ttl);
    clearTimeout(state.reaper);
    this.#checks.delete(id);
  }
}
