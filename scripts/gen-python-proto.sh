#!/usr/bin/env bash
# Regenerates the Python SDK's message modules (sdk/python/src/trellis/_proto, committed) from
# proto/ with grpcio-tools. `npm run proto:python`; `npm run proto` runs it too when a Python
# with grpc_tools is at hand. The SDK's test (sdk/python/tests/test_proto_fresh.py) fails when
# the committed modules no longer match proto/descriptor.binpb.
#
# Python: $TRELLIS_PROTO_PYTHON, else .tools/py-proto/bin/python (created here with
# `pip install grpcio-tools` from PyPI when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
py="${TRELLIS_PROTO_PYTHON:-.tools/py-proto/bin/python}"
if ! "$py" -c 'import grpc_tools' 2>/dev/null; then
  python3 -m venv .tools/py-proto
  py=.tools/py-proto/bin/python
  "$py" -m pip install --quiet --disable-pip-version-check 'grpcio-tools==1.71.0'
fi
out=sdk/python/src/trellis/_proto
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m grpc_tools.protoc -Iproto --python_out="$tmp" --pyi_out="$tmp" \
  trellis/v1/common.proto trellis/v1/experiment.proto trellis/v1/worker.proto
# The generated modules import each other as `trellis.v1.x_pb2`; inside the SDK they live under
# trellis._proto, so the imports are rewritten.
find "$tmp" -name '*.py*' -exec sed -i -E 's/^from trellis\.v1 import /from trellis._proto.trellis.v1 import /' {} +
rm -rf "$out"
mkdir -p "$out/trellis/v1"
cp "$tmp"/trellis/v1/*_pb2.py "$tmp"/trellis/v1/*_pb2.pyi "$out/trellis/v1/"
for d in "$out" "$out/trellis" "$out/trellis/v1"; do
  echo '"""Generated from proto/ by scripts/gen-python-proto.sh; do not edit."""' >"$d/__init__.py"
done
echo "gen-python-proto: $(ls "$out/trellis/v1"/*_pb2.py | wc -l) modules in $out"
