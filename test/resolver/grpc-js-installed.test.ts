/** `consul:` targets with the installed @grpc/grpc-js, the newest of the supported range. */
import { installedGrpcJs } from '../support/grpc-js-versions.js';
import { followsConsul } from './follows-consul.js';

// registerConsulResolver() without a `grpc` option: rxlb's own @grpc/grpc-js, nice-grpc's too
followsConsul(installedGrpcJs(), false);
