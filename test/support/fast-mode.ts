/** `npm run test:fast`'s setup (vitest.config.ts): fewer cases per property, see `runs()`. */
import fc from 'fast-check';
import { runs } from './runs.js';

fc.configureGlobal({ ...fc.readConfigureGlobal(), numRuns: runs(100) });
