// Loaded with --import: this process behaves as if @opentelemetry/api were not installed,
// for ESM imports (a resolve hook) and for require() (Node's CommonJS resolver).
import Module, { register } from 'node:module';

const HIDDEN = /^@opentelemetry\/api(\/|$)/;
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (HIDDEN.test(request)) {
    throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
  }
  return resolve.call(this, request, ...rest);
};
register(
  `data:text/javascript,${encodeURIComponent(`
    export async function resolve(specifier, context, next) {
      if (/^@opentelemetry\\/api(\\/|$)/.test(specifier)) {
        throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' });
      }
      return next(specifier, context);
    }`)}`,
);
