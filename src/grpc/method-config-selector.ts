import { createRequire } from 'node:module';
import { type experimental, status } from '@grpc/grpc-js';

/** The key under which a call's method reaches the policy's picker (`PickArgs.extraPickInfo`). */
export const METHOD_KEY = 'rxlb.method';

type ConfigSelector = experimental.ConfigSelector;
type CallConfig = ReturnType<ConfigSelector['invoke']>;
type MethodConfig = CallConfig['methodConfig'];

/** grpc-js's check of a service config, which it runs on every channel's: an internal export. */
type Validate = (json: unknown) => { readonly methodConfig?: readonly MethodConfig[] };

let validate: Validate | null | undefined;

function grpcJsValidate(): Validate | null {
  if (validate === undefined) {
    try {
      // the same copy of grpc-js as rxlb's own import resolves to, from the same place
      const require = createRequire(import.meta.url);
      const exported = require('@grpc/grpc-js/build/src/service-config').validateServiceConfig;
      validate = typeof exported === 'function' ? (exported as Validate) : null;
    } catch {
      validate = null;
    }
  }
  return validate;
}

/** The most method configs kept matched by method name, as grpc-js's own selector keeps. */
const MAX_CACHED = 1000;

/**
 * The method config of `service/method`, as gRPC matches them: the first whose names list
 * the service and method, else the service alone, else an empty name.
 */
function matching(configs: readonly MethodConfig[], path: string): MethodConfig {
  const [service = '', method = ''] = path.split('/').filter((part) => part.length > 0);
  const levels: ((name: MethodConfig['name'][number]) => boolean)[] = [
    (name) => name.service === service && name.method === method,
    (name) => name.service === service && !name.method,
    (name) => !name.service && !name.method,
  ];
  for (const level of levels) {
    const found = configs.find((config) => config.name.some(level));
    if (found) return found;
  }
  return { name: [] };
}

/**
 * A config selector that does what grpc-js's default one does with the channel's service
 * config (method configs: timeouts, retry policies...) and also hands each call's method to
 * the picker, so that the attempt metrics can say `grpc.method`: a load-balancing policy sees
 * no method otherwise. Undefined (grpc-js's own selector then applies, and the metrics say
 * `other`) if this grpc-js lacks the check it is built on.
 */
export function methodConfigSelector(serviceConfigJson: string): ConfigSelector | undefined {
  const check = grpcJsValidate();
  if (!check) return undefined;
  const configs = check(JSON.parse(serviceConfigJson)).methodConfig ?? [];
  const cache = new Map<string, MethodConfig>();
  return {
    invoke(method): CallConfig {
      let methodConfig = cache.get(method);
      if (methodConfig === undefined) {
        methodConfig = matching(configs, method);
        if (cache.size < MAX_CACHED) cache.set(method, methodConfig);
      }
      return {
        methodConfig,
        pickInformation: { [METHOD_KEY]: method },
        status: status.OK,
        dynamicFilterFactories: [],
      };
    },
    unref() {},
  };
}
