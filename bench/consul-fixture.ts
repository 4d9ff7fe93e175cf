import type { ConsulTestServer } from '../src/testing/index.js';

/** `"127.0.0.1:4000"` → host and port. */
export function hostPort(address: string): { readonly host: string; readonly port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Registers each address as an instance of `service` with no check (so it passes). */
export function registerAll(
  consul: ConsulTestServer,
  service: string,
  addresses: readonly string[],
): void {
  for (const address of addresses) {
    const { host, port } = hostPort(address);
    consul.registerService({ Name: service, ID: `${service}-${port}`, Address: host, Port: port });
  }
}

/** The TTL check's id of an instance registered by {@link registerWithCheck}. */
export const checkId = (id: string) => `${id}-ttl`;

/** Registers `address` as instance `id` of `service` with a TTL check in `status`. */
export function registerWithCheck(
  consul: ConsulTestServer,
  service: string,
  id: string,
  address: string,
  status: 'passing' | 'critical',
): void {
  const { host, port } = hostPort(address);
  consul.registerService({
    Name: service,
    ID: id,
    Address: host,
    Port: port,
    Check: { CheckID: checkId(id), TTL: '1h', Status: status },
  });
}
