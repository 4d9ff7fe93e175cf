/**
 * `npm run build`, unless dist/ is newer than every file of src/ (as after `npm ci`, whose
 * `prepare` has just built it): `npm test` checks the package without building it twice.
 */
import { ensureBuilt } from '../bench/rxlb.js';

ensureBuilt((line) => console.error(line));
