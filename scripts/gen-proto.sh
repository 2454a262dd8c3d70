#!/usr/bin/env bash
# Regenerates, from proto/ (all committed):
#  - the TypeScript types in shared/generated, with the same options as the runtime loader in
#    shared/proto.ts;
#  - proto/descriptor.binpb, the FileDescriptorSet (with comments) that server reflection serves:
#    built by buf, so map entries and imports are exactly what protoc makes;
#  - the Python SDK's message modules (scripts/gen-python-proto.sh), when its grpcio-tools venv
#    (.tools/py-proto) exists; otherwise it says to run `npm run proto:python` (which makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf shared/generated
npx proto-loader-gen-types trellis/v1/common.proto trellis/v1/experiment.proto trellis/v1/worker.proto \
  --keepCase --longs=String --enums=String --defaults --oneofs --grpcLib=@grpc/grpc-js \
  --outDir=shared/generated --includeDirs=proto 2>&1 | grep -v 'alpha' || true
# NodeNext resolution wants explicit extensions on relative imports.
find shared/generated -name '*.ts' -exec sed -i -E "s#(from '\.[^']*)';#\1.js';#" {} +
(cd proto && ../node_modules/.bin/buf build --exclude-source-info -o descriptor.binpb)
if [ -x .tools/py-proto/bin/python ] || [ -n "${TRELLIS_PROTO_PYTHON:-}" ]; then
  bash scripts/gen-python-proto.sh
else
  echo "gen-proto: Python SDK stubs not regenerated (no .tools/py-proto): run npm run proto:python" >&2
fi
