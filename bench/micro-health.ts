/**
 * The cost of reading one Consul health answer of 10,000 entries into an `InstanceSet`
 * (`mapHealthEntries`), next to `JSON.parse` of the same body, which the HTTP client pays
 * before rxlb sees anything. Each entry has the shape of a real answer of ConsulTestServer
 * (Node, Service, Checks).
 */
import { do_not_optimize } from 'mitata';
import { mapHealthEntries } from '../src/consul/health.js';
import { ConsulTestServer } from '../src/testing/index.js';
import type { Benchmark } from './benchmark.js';

export const HEALTH_ENTRIES = 10_000;

const TEMPLATE_ID = 'greeter-template';
const TEMPLATE_HOST = '10.255.255.254';

/**
 * The body of `/v1/health/service/greeter?passing` with `entries` instances: one real entry
 * of ConsulTestServer (node, service with tags, meta and weights, and its checks), repeated
 * with a distinct id and address each. Registering 10,000 instances for real takes seconds.
 */
async function healthAnswer(entries: number): Promise<string> {
  const consul = await new ConsulTestServer().start();
  let template: string;
  try {
    consul.registerService({
      Name: 'greeter',
      ID: TEMPLATE_ID,
      Address: TEMPLATE_HOST,
      Port: 50051,
      Tags: ['grpc', 'v1'],
      Meta: { version: '1' },
      Weights: { Passing: 1, Warning: 1 },
      Check: { CheckID: `${TEMPLATE_ID}-ttl`, TTL: '1h', Status: 'passing' },
    });
    const response = await fetch(`http://${consul.address}/v1/health/service/greeter?passing`);
    const body: unknown = await response.json();
    template = JSON.stringify(Array.isArray(body) ? body[0] : undefined);
  } finally {
    await consul.stop();
  }
  const items: string[] = [];
  for (let i = 0; i < entries; i++) {
    const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    items.push(template.replaceAll(TEMPLATE_ID, `greeter-${i}`).replaceAll(TEMPLATE_HOST, host));
  }
  return `[${items.join(',')}]`;
}

export async function healthBenchmarks(): Promise<Benchmark[]> {
  const text = await healthAnswer(HEALTH_ENTRIES);
  const body: unknown = JSON.parse(text);
  const mapped = mapHealthEntries(body);
  if (mapped?.instances.size !== HEALTH_ENTRIES) {
    throw new Error(`expected ${HEALTH_ENTRIES} instances, got ${mapped?.instances.size}`);
  }
  const group = `Consul health answer of ${HEALTH_ENTRIES.toLocaleString('en')} entries (${(text.length / 1e6).toFixed(1)} MB)`;
  return [
    {
      group,
      name: 'reference: JSON.parse of the body',
      baseline: true,
      fn: () => do_not_optimize(JSON.parse(text)),
    },
    {
      group,
      name: 'rxlb mapHealthEntries → InstanceSet',
      fn: () => do_not_optimize(mapHealthEntries(body)),
    },
  ];
}
