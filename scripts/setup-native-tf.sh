#!/usr/bin/env bash
# Sets up the native TensorFlow backend of the tfjs runtime (@tensorflow/tfjs-node 4.22, which
# wants the TensorFlow 2.9.1 C library) from the package registries alone. The package's own
# install script downloads libtensorflow and a prebuilt binding from storage.googleapis.com,
# which this project does not rely on (package.json allowScripts denies it). Instead:
#
#   1. the tensorflow-cpu 2.9.1 wheel from PyPI (pip download, sha256 pinned below). Its
#      python/_pywrap_tensorflow_internal.so exports the whole C API (TF_*, TFE_*) that the
#      binding calls, next to libtensorflow_framework.so.2; the C headers are in the wheel too.
#      Both libraries and the headers go to .tools/libtensorflow.
#   2. a stub library for the CPython symbols _pywrap_tensorflow_internal.so references (it is
#      linked BIND_NOW, so they must resolve when it loads). The C API never calls them; each
#      stub function aborts with a message naming itself if it ever were.
#   3. the package files of @tensorflow/tfjs-node (an optional dependency in package.json) with
#      npm install --ignore-scripts.
#   4. the package's N-API binding (its binding/*.cc) compiled with g++ against the local Node's
#      headers (no header download), linked as its binding.gyp does, into the place
#      @mapbox/node-pre-gyp looks for it; deps/lib links to .tools/libtensorflow/lib.
#   5. a check: a fresh node process loads @tensorflow/tfjs-node and multiplies two matrices.
#
# Idempotent: cached steps are skipped; step 3-5 are cheap (seconds plus one compile), so rerun it
# after `npm ci` (which reinstalls node_modules without the binding). Needs python3 with pip,
# g++, Linux x86_64. Running it is the opt-in: afterwards workers with TRELLIS_TF_BACKEND unset
# take native (the fastest backend that loads, recorded on every trial), and
# TRELLIS_TF_BACKEND=tensorflow forces it (README "Native TensorFlow").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
TF_VERSION=2.9.1
WHEEL=tensorflow_cpu-2.9.1-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
WHEEL_SHA256=6666ddeae45e1f41da788cb4bdea3435aba16edb0bc17b7ac00631c7c9eb052e
TFJS_NODE_VERSION=4.22.0
DEST="$ROOT/.tools/libtensorflow"
CACHE="$ROOT/.tools/cache"
PYTHON="${PYTHON:-python3}"
say() { echo "setup-native-tf: $*"; }
die() { echo "setup-native-tf: $*" >&2; exit 1; }

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "only Linux x86_64 is supported (the wheel is manylinux2014_x86_64); this is $(uname -s)-$(uname -m)"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (pip downloads the TensorFlow wheel)"
command -v g++ >/dev/null || die "g++ not found (it compiles the tfjs-node binding)"
NODE_INCLUDE="$(dirname "$(dirname "$(node -p process.execPath)")")/include/node"
[ -f "$NODE_INCLUDE/node_api.h" ] || die "Node's headers are not at $NODE_INCLUDE (node_api.h); install the Node development headers"

# 1. The wheel and what is taken from it.
mkdir -p "$CACHE" "$DEST/lib"
if [ ! -f "$CACHE/$WHEEL" ] || [ "$(sha256sum "$CACHE/$WHEEL" | cut -d' ' -f1)" != "$WHEEL_SHA256" ]; then
  say "downloading tensorflow-cpu $TF_VERSION from PyPI (about 210 MB)"
  printf 'tensorflow-cpu==%s --hash=sha256:%s\n' "$TF_VERSION" "$WHEEL_SHA256" >"$CACHE/requirements.txt"
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.10 --platform manylinux2014_x86_64 --require-hashes \
    -r "$CACHE/requirements.txt" -d "$CACHE"
fi
if [ ! -f "$DEST/lib/_pywrap_tensorflow_internal.so" ] || [ ! -f "$DEST/include/tensorflow/c/c_api.h" ]; then
  say "extracting the C library and headers into ${DEST#"$ROOT"/}"
  "$PYTHON" - "$CACHE/$WHEEL" "$DEST" <<'EOF'
import os, shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
libs = {'tensorflow/libtensorflow_framework.so.2': 'lib/libtensorflow_framework.so.2',
        'tensorflow/python/_pywrap_tensorflow_internal.so': 'lib/_pywrap_tensorflow_internal.so'}
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name in libs:
            out = os.path.join(dest, libs[name])
        elif name.startswith(('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/')) and name.endswith('.h'):
            out = os.path.join(dest, 'include', name[len('tensorflow/include/'):])
        else:
            continue
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(name) as src, open(out + '.part', 'wb') as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(out + '.part', 0o755 if out.endswith(('.so', '.so.2')) else 0o644)
        os.replace(out + '.part', out)
EOF
fi
ln -sfn libtensorflow_framework.so.2 "$DEST/lib/libtensorflow_framework.so"

# 2. The CPython stubs (regenerated from the library's own undefined symbols).
if [ ! -f "$DEST/lib/libtrellis_pystub.so" ]; then
  say "building the CPython stub library"
  SYMS="$(readelf --dyn-syms -W "$DEST/lib/_pywrap_tensorflow_internal.so" | awk '$7 == "UND" { sub(/@.*/, "", $8); print $8 }' | grep -E '^_?Py' | sort -u)"
  [ -n "$SYMS" ] || die "no CPython symbols found in _pywrap_tensorflow_internal.so (readelf missing?)"
  {
    echo '#include <stdio.h>'
    echo '#include <stdlib.h>'
    echo 'static void die(const char *n) { fprintf(stderr, "trellis pystub: TensorFlow called the CPython function %s, which this C-API-only build does not have\n", n); abort(); }'
    # Data symbols (types, singletons, exception objects) are only addressed at load time.
    grep -E '_Type$|Struct$|^PyExc_' <<<"$SYMS" | sed 's/.*/char &[512];/' || true
    grep -vE '_Type$|Struct$|^PyExc_' <<<"$SYMS" | sed 's/.*/void &(void) { die("&"); }/'
  } >"$DEST/pystub.c"
  gcc -O1 -fPIC -shared -o "$DEST/lib/libtrellis_pystub.so.part" "$DEST/pystub.c"
  mv "$DEST/lib/libtrellis_pystub.so.part" "$DEST/lib/libtrellis_pystub.so"
fi

# 3. The package files, without their install script.
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"
if [ "$(node -p "try { require('$PKG/package.json').version } catch { '' }")" != "$TFJS_NODE_VERSION" ] ||
  ! node -e "require.resolve('@mapbox/node-pre-gyp')" 2>/dev/null; then
  say "installing the @tensorflow/tfjs-node package files (npm install --ignore-scripts)"
  npm install --ignore-scripts --no-audit --no-fund --no-save >/dev/null
fi
[ -f "$PKG/binding/tfjs_binding.cc" ] || die "$PKG has no binding sources after npm install"

# 4. The binding, where node-pre-gyp finds it (lib/napi-vN/tfjs_binding.node).
TARGET="$(node -p "require('@mapbox/node-pre-gyp').find(require.resolve('@tensorflow/tfjs-node/package.json'))")"
NAPI="$(basename "$(dirname "$TARGET")")"
NAPI="${NAPI#napi-v}"
BUILT="$DEST/tfjs_binding-$TFJS_NODE_VERSION-napi$NAPI-node$(node -p process.versions.modules).node"
if [ ! -f "$BUILT" ]; then
  say "compiling the tfjs-node binding (N-API $NAPI, headers from $NODE_INCLUDE)"
  g++ -std=c++17 -O2 -fPIC -shared -w -DNAPI_VERSION="$NAPI" \
    -I"$NODE_INCLUDE" -I"$DEST/include" -I"$PKG/binding" \
    "$PKG/binding/tfjs_backend.cc" "$PKG/binding/tfjs_binding.cc" \
    -L"$DEST/lib" -l:_pywrap_tensorflow_internal.so -ltensorflow_framework -ltrellis_pystub \
    -Wl,-rpath,'$ORIGIN/../../deps/lib' -o "$BUILT.part"
  mv "$BUILT.part" "$BUILT"
fi
mkdir -p "$(dirname "$TARGET")" "$PKG/deps"
cp "$BUILT" "$TARGET"
rm -rf "$PKG/deps/lib"
ln -sfn "$DEST/lib" "$PKG/deps/lib"

# 5. The check.
OUT="$(TF_CPP_MIN_LOG_LEVEL=2 node -e "
const tf = require('@tensorflow/tfjs-node');
const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])).dataSync();
console.log(tf.getBackend(), require('@tensorflow/tfjs-node').version['tfjs-node'], Array.from(y).join(','));
")" || die "@tensorflow/tfjs-node does not load; see the error above"
[ "$OUT" = "tensorflow $TFJS_NODE_VERSION 17,39" ] || die "unexpected check output: $OUT (want: tensorflow $TFJS_NODE_VERSION 17,39)"
say "ready: @tensorflow/tfjs-node $TFJS_NODE_VERSION on TensorFlow $TF_VERSION (TRELLIS_TF_BACKEND=tensorflow selects it)"
