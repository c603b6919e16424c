#!/usr/bin/env bash
# Prepares a machine for the local stack: the project venv with the pinned packages of local/requirements.txt,
# then the workspace binaries (`cargo build --workspace --bins`).
#
#   bash local/setup.sh            # install (once per requirements hash) and build
#   SKIP_BUILD=1 bash local/setup.sh
#
# Idempotent: the install is skipped when the stamp file for the current requirements (and Python) exists and the
# tools are importable; cargo's own incremental build makes the second step quick when nothing changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# lock, sha256, step, pip_install (shared with scripts/setup.sh).
. "$ROOT/scripts/lib.sh"
REQUIREMENTS="$ROOT/local/requirements.txt"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

tools_present() {
  "$VENV/bin/python" -c "import boto3, moto.server, yaml, pytest, pytest_timeout, cfnlint" 2>/dev/null &&
    [ -x "$VENV/bin/cargo-lambda" ]
}

# The stamp covers the requirements (local/requirements.txt includes requirements-deploy.txt) and the Python.
"$VENV/bin/python" -VV > "$VENV/.python-version.txt"
tools_present || rm -f "$VENV"/.local-stack-*.stamp
(cd "$ROOT" && pip_install local-stack "$REQUIREMENTS" requirements-deploy.txt "$VENV/.python-version.txt")
tools_present || { echo "setup: the packages did not install" >&2; exit 1; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "setup: cargo build --workspace --bins"
  (cd "$ROOT" && cargo build --workspace --bins)
fi
