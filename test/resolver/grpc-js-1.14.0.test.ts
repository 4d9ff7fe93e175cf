/** `consul:` targets with @grpc/grpc-js 1.14.0, the lowest of the supported range. */
import { grpcJs1140UnderTest } from '../support/use-grpc-js-1.14.0.js';
import { followsConsul } from './follows-consul.js';

// registerConsulResolver({ grpc }): the copy of grpc-js the clients use, as a user with
// another copy than rxlb's would do
followsConsul(grpcJs1140UnderTest, true);
