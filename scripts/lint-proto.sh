#!/usr/bin/env bash
# The API's proto checks (npm run lint:proto; also run by test/unit/proto.test.ts):
#  1. buf lint (rules in proto/buf.yaml);
#  2. buf breaking against the v1 API as first shipped (PROTO_BASE, a commit: wire and JSON
#     compatibility, since issue 12 added the language package options that generated code
#     needs) and against HEAD (the FILE rules of proto/buf.yaml: generated code too), so a
#     change to proto/ that would break a client fails;
#  3. proto/descriptor.binpb (what reflection serves) is what the .proto files build to now.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF="$PWD/node_modules/.bin/buf"
# ff25cd0: the last commit before issue 12's additive v1 changes.
PROTO_BASE="${PROTO_BASE:-ff25cd0}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd proto && "$BUF" lint)

for ref in "$PROTO_BASE" HEAD; do
  if ! git rev-parse --verify --quiet "$ref^{commit}" >/dev/null; then
    echo "lint-proto: $ref is not in this clone's history; fetch it or set PROTO_BASE" >&2
    exit 1
  fi
  mkdir -p "$tmp/$ref"
  git archive "$ref" proto | tar -x -C "$tmp/$ref"
  # The v1 base had no buf.yaml: give it ours so both sides are read as one module.
  cp proto/buf.yaml "$tmp/$ref/proto/buf.yaml"
  if [ "$ref" = HEAD ]; then
    (cd proto && "$BUF" breaking --against "$tmp/$ref/proto")
  else
    (cd proto && "$BUF" breaking --against "$tmp/$ref/proto" \
      --config '{"version":"v2","breaking":{"use":["WIRE_JSON"],"ignore":["grpc"]}}')
  fi
done

(cd proto && "$BUF" build --exclude-source-info -o "$tmp/descriptor.binpb")
if ! cmp -s "$tmp/descriptor.binpb" proto/descriptor.binpb; then
  echo "lint-proto: proto/descriptor.binpb is stale: run npm run proto" >&2
  exit 1
fi
echo "lint-proto: buf lint, breaking (vs $PROTO_BASE and HEAD) and descriptor set: ok"
