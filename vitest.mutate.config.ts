/**
 * The vitest configuration Stryker's vitest runner loads (stryker.config.mjs): vitest.config.ts
 * in mode `mutate`, which the runner cannot ask for (it always starts vitest in mode `test`).
 */
import { defineConfig } from 'vitest/config';
import config from './vitest.config.js';

export default defineConfig((env) => config({ ...env, mode: 'mutate' }));
