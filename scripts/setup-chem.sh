#!/usr/bin/env bash
# Sets up the Python environment of the chemistry labelling programs (chem/trellis_chem.py):
# a virtual environment at .venv-chem (or $TRELLIS_CHEM_VENV) with PySCF from PyPI.
# Idempotent: an environment that already imports pyscf is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${TRELLIS_CHEM_VENV:-.venv-chem}"
PYTHON="${PYTHON:-python3}"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pyscf' 2>/dev/null; then
  echo "setup-chem: $VENV already has pyscf $("$VENV/bin/python" -c 'import pyscf; print(pyscf.__version__)')"
  exit 0
fi
command -v "$PYTHON" >/dev/null || { echo "setup-chem: $PYTHON not found; install Python 3.9+" >&2; exit 1; }
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check 'pyscf>=2.5,<3'
echo "setup-chem: $VENV has pyscf $("$VENV/bin/python" -c 'import pyscf; print(pyscf.__version__)')"
