/**
 * Imported first by a test file (a side-effect import, which import sorting leaves in place):
 * from here on the process requires grpc-js 1.14.0 for `@grpc/grpc-js`, before the test's
 * other imports load nice-grpc.
 */
import { grpcJs1140 } from './grpc-js-versions.js';

export const grpcJs1140UnderTest = grpcJs1140();
