/**
 * The two ends of the grpc-js range rxlb supports (^1.14.0): the installed `@grpc/grpc-js`
 * (the newest), and 1.14.0, installed as the `grpc-js-1.14.0` alias. A test file loads one
 * of them with nice-grpc bound to it, as a user's project with that one copy would have.
 */
import Module, { createRequire } from 'node:module';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as NiceGrpc from 'nice-grpc';

const require = createRequire(import.meta.url);

export interface GrpcJsUnderTest {
  readonly version: string;
  /**
   * The module. 1.14.0's has the same API; its type is the installed one's, since TypeScript
   * tells two copies of a class with private fields apart.
   */
  readonly grpc: typeof GrpcJs;
  /** nice-grpc, whose own `require('@grpc/grpc-js')` gives this `grpc`. */
  readonly nice: typeof NiceGrpc;
}

function versionOf(packageName: string): string {
  return (require(`${packageName}/package.json`) as { version: string }).version;
}

/** Throws unless nice-grpc's channels are `grpc`'s. */
function checkBound(version: string, grpc: typeof GrpcJs, nice: typeof NiceGrpc): void {
  const probe = nice.createChannel('127.0.0.1:1');
  const bound = probe instanceof grpc.Channel;
  probe.close();
  if (!bound) throw new Error(`nice-grpc does not use grpc-js ${version}`);
}

/** The installed @grpc/grpc-js, and nice-grpc as installed. */
export function installedGrpcJs(): GrpcJsUnderTest {
  const grpc = require('@grpc/grpc-js') as typeof GrpcJs;
  const nice = require('nice-grpc') as typeof NiceGrpc;
  const version = versionOf('@grpc/grpc-js');
  checkBound(version, grpc, nice);
  return { version, grpc, nice };
}

interface CjsLoader {
  _resolveFilename(request: string, ...rest: unknown[]): string;
}

/**
 * grpc-js 1.14.0 for every `require('@grpc/grpc-js…')` of this process from now on, and
 * nice-grpc loaded under that rule. Must run before anything in the process loads nice-grpc
 * (see `use-grpc-js-1.14.0.ts`); vitest runs each test file in a fresh process, and this
 * checks it.
 */
export function grpcJs1140(): GrpcJsUnderTest {
  if (Object.keys(require.cache).some((path) => path.includes('/node_modules/nice-grpc/'))) {
    throw new Error('nice-grpc is already loaded in this process: it would use another grpc-js');
  }
  const loader = Module as unknown as CjsLoader;
  const resolve = loader._resolveFilename;
  loader._resolveFilename = function (this: unknown, request, ...rest) {
    const aliased = request.replace(/^@grpc\/grpc-js(?=\/|$)/, 'grpc-js-1.14.0');
    return resolve.call(this, aliased, ...rest);
  };
  const grpc = require('@grpc/grpc-js') as typeof GrpcJs;
  const nice = require('nice-grpc') as typeof NiceGrpc;
  const version = versionOf('grpc-js-1.14.0');
  checkBound(version, grpc, nice);
  return { version, grpc, nice };
}
