#!/usr/bin/env bash
# Regenerates examples/greeter/generated/ from the proto with ts-proto (nice-grpc output).
# Needs protoc (Debian: apt-get install protobuf-compiler); the output is committed, so
# `npm install && npm start` never needs protoc.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf examples/greeter/generated
mkdir -p examples/greeter/generated
protoc \
  --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out=examples/greeter/generated \
  --ts_proto_opt=outputServices=nice-grpc,outputServices=generic-definitions,useExactTypes=false,esModuleInterop=true,importSuffix=.js \
  -I examples/greeter/proto \
  examples/greeter/proto/greeter.proto
