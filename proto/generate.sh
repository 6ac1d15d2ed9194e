#!/usr/bin/env bash
# Regenerates proto/generated from the .proto files. The output is committed; the unit test
# test/unit/proto.test.ts fails when it is stale. Flags match proto/load.ts's loader options.
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-generated}
rm -rf "$out"
npx --no-install proto-loader-gen-types hitless/v1/node_ca.proto hitless/v1/ca_admin.proto hitless/v1/node.proto \
  --keepCase --longs=String --enums=String --defaults --oneofs --grpcLib=@grpc/grpc-js \
  --importFileExtension=.js --includeDirs=. --outDir="$out"
