#!/usr/bin/env bash
# Regenerates the TypeScript types of proto/ into shared/generated (committed).
# Same options as the runtime loader in shared/proto.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf shared/generated
npx proto-loader-gen-types trellis/v1/common.proto trellis/v1/experiment.proto trellis/v1/worker.proto \
  --keepCase --longs=String --enums=String --defaults --oneofs --grpcLib=@grpc/grpc-js \
  --outDir=shared/generated --includeDirs=proto 2>&1 | grep -v 'alpha' || true
# NodeNext resolution wants explicit extensions on relative imports.
find shared/generated -name '*.ts' -exec sed -i -E "s#(from '\.[^']*)';#\1.js';#" {} +
