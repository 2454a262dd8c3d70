#!/usr/bin/env bash
# Builds a local stand-in for the official `node:20-bookworm-slim` base image, for machines that
# cannot pull public images: a Debian bookworm root filesystem made by mmdebstrap (from the Debian
# package archive) with this machine's own Node.js 20 binary and npm copied in, and a `node`
# user (uid/gid 1000) as in the official image. Imported into podman as
#   localhost/trellis-local-base:bookworm-node<version>
# and reused when that tag already exists (delete it with `podman rmi` to rebuild).
#
#   bash deploy/base/build-local-base.sh          # prints the image reference on stdout
#
# Needs root, mmdebstrap and podman. Select it in a build with
#   podman build --build-arg NODE_IMAGE=localhost/trellis-local-base:bookworm-node<version> ...
set -euo pipefail

node_bin=$(command -v node)
node_version=$(node --version) # e.g. v20.20.2
case "$node_version" in
  v20.*) ;;
  *) echo "build-local-base: Node 20 is required (found $node_version)" >&2; exit 1 ;;
esac
npm_dir=$(dirname "$(readlink -f "$(command -v npm)")")/..
npm_dir=$(readlink -f "$npm_dir")
[ -f "$npm_dir/package.json" ] || { echo "build-local-base: npm not found beside node" >&2; exit 1; }

image="localhost/trellis-local-base:bookworm-node${node_version#v}"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$(cd "$(dirname "$0")/.." && pwd)/podman/containers.conf}
podman_cmd=(podman)
if "${podman_cmd[@]}" image exists "$image"; then
  echo "$image"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "build-local-base: mmdebstrap bookworm -> $image" >&2
mmdebstrap --quiet --variant=minbase --include=ca-certificates,tini \
  --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\"" \
  --customize-hook="copy-in $node_bin /usr/local/bin" \
  --customize-hook="copy-in $npm_dir /usr/local/lib/node_modules" \
  --customize-hook='chroot "$1" sh -c "ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node"' \
  --customize-hook='chroot "$1" sh -c "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin"' \
  bookworm "$work/rootfs.tar" http://deb.debian.org/debian
"${podman_cmd[@]}" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$work/rootfs.tar" "$image" >&2
"${podman_cmd[@]}" run --rm --network host "$image" node --version >&2
echo "$image"
