import { createClient, createServer } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl } from 'nice-grpc-server-health';
import { filter, firstValueFrom } from 'rxjs';
import { consulInstances$, createBalancedChannel, diff, registerInstance, roundRobin } from 'rxlb';
import { ConsulTestServer } from 'rxlb/testing';

// A gRPC service without protoc: JSON in, JSON out.
const toJson = (value: object) => Buffer.from(JSON.stringify(value));
const fromJson = (bytes: Buffer) => JSON.parse(bytes.toString()) as { name: string };
const Greeter = {
  sayHello: {
    path: '/quickstart.Greeter/SayHello',
    requestStream: false,
    responseStream: false,
    ...{ requestSerialize: toJson, requestDeserialize: fromJson },
    ...{ responseSerialize: toJson, responseDeserialize: fromJson },
  },
} as const;

const consul = await new ConsulTestServer().start(); // or a real Consul: leave `consul` out
const servers = [];
for (let i = 1; i <= 3; i++) {
  const server = createServer();
  server.add(Greeter, { sayHello: async ({ name }) => ({ name: `hello ${name}, from ${i}` }) });
  server.add(HealthDefinition, HealthServiceImpl()); // Consul's gRPC check asks it
  const port = await server.listen('127.0.0.1:0');
  await registerInstance({ name: 'greeter', port, consul: { address: consul.address } });
  servers.push(server);
}

const instances$ = consulInstances$('greeter', { address: consul.address });
await firstValueFrom(instances$.pipe(filter((healthy) => healthy.size === 3))); // checks passed
const channel = createBalancedChannel(instances$.pipe(diff(), roundRobin()));
const client = createClient(Greeter, channel);
for (let call = 0; call < 6; call++) console.log((await client.sayHello({ name: 'you' })).name);

channel.close();
for (const server of servers) await server.shutdown();
await consul.stop();
