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
# macOS has neither flock nor sha256sum: without flock, concurrent setups are not serialised (run one at a time);
# shasum -a 256 is the same digest.
lock() { if command -v flock >/dev/null 2>&1; then flock "$@"; fi; }
sha256() { if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/local/requirements.txt"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

hash="$( { cat "$REQUIREMENTS"; "$VENV/bin/python" -VV; } | sha256 | cut -c1-16)"
stamp="$VENV/.local-stack-$hash.stamp"

tools_present() {
  "$VENV/bin/python" -c "import boto3, moto.server, yaml, pytest, pytest_timeout, cfnlint" 2>/dev/null &&
    [ -x "$VENV/bin/cargo-lambda" ]
}

if [ -f "$stamp" ] && tools_present; then
  echo "setup: python packages up to date ($(basename "$stamp"))"
else
  echo "setup: installing local/requirements.txt into $VENV"
  # One pip at a time in this venv (other setup scripts may take the same lock).
  exec 9>"$VENV/.pip-install.lock"
  lock 9
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$REQUIREMENTS"
  lock -u 9
  tools_present || { echo "setup: the packages did not install" >&2; exit 1; }
  rm -f "$VENV"/.local-stack-*.stamp
  touch "$stamp"
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "setup: cargo build --workspace --bins"
  (cd "$ROOT" && cargo build --workspace --bins)
fi
