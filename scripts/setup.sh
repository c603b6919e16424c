#!/usr/bin/env bash
# Installs every tool `make test` needs, at pinned versions, into the project: Python packages into .venv
# (requirements-dev.txt), checkov into its own venv .tools/checkov, npm packages into node_modules (package-lock.json),
# and cargo-deny and cargo-machete
# into .tools/ (crates.io, --locked). Idempotent: each step is skipped when its stamp matches.
set -euo pipefail
# macOS has neither flock nor sha256sum: without flock, concurrent setups are not serialised (run one at a time);
# shasum -a 256 is the same digest.
lock() { if command -v flock >/dev/null 2>&1; then flock "$@"; fi; }
sha256() { if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
CARGO_DENY_VERSION="0.20.2"
CARGO_MACHETE_VERSION="0.9.2"

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV"
  python3 -m venv "$VENV"
fi
py_hash="$(cat requirements-dev.txt local/requirements.txt tests/template/requirements.txt | sha256 | cut -c1-16)"
if [ ! -f "$VENV/.dev-$py_hash.stamp" ]; then
  step "pip install -r requirements-dev.txt (moto, cargo-lambda, cfn-lint, aws-sam-cli, pytest)"
  exec 9>"$VENV/.pip-install.lock"
  lock 9
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
  lock -u 9
  rm -f "$VENV"/.dev-*.stamp
  touch "$VENV/.dev-$py_hash.stamp"
else
  echo "python tools up to date"
fi

ckv_hash="$(sha256 < tests/template/requirements-checkov.txt | cut -c1-16)"
checkov_pid=""
if [ ! -f ".tools/checkov/.stamp-$ckv_hash" ]; then
  step "pip install checkov into .tools/checkov, in the background while the cargo tools compile (its own venv: its pins clash with aws-sam-cli's)"
  mkdir -p .tools
  (
    set -e
    rm -rf .tools/checkov
    python3 -m venv .tools/checkov
    .tools/checkov/bin/python -m pip install --disable-pip-version-check --quiet -r tests/template/requirements-checkov.txt
    touch ".tools/checkov/.stamp-$ckv_hash"
  ) > .tools/checkov-install.log 2>&1 &
  checkov_pid=$!
else
  echo "checkov up to date"
fi

npm_hash="$(sha256 < package-lock.json | cut -c1-16)"
if [ ! -f "node_modules/.stamp-$npm_hash" ]; then
  step "npm ci (asl-validator)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "node_modules/.stamp-$npm_hash"
else
  echo "npm tools up to date"
fi

if [ ! -x ".tools/bin/cargo-deny" ] || ! .tools/bin/cargo-deny --version | grep -q "$CARGO_DENY_VERSION"; then
  step "cargo install cargo-deny $CARGO_DENY_VERSION (a few minutes, once)"
  # --debug: a dev build compiles in about a third of the time and checks this graph in a second.
  cargo install --locked --quiet --debug --root .tools cargo-deny --version "$CARGO_DENY_VERSION"
else
  echo "cargo-deny up to date"
fi

if [ ! -x ".tools/bin/cargo-machete" ] || ! .tools/bin/cargo-machete --version | grep -q "$CARGO_MACHETE_VERSION"; then
  step "cargo install cargo-machete $CARGO_MACHETE_VERSION (unused dependencies; about a minute, once)"
  cargo install --locked --quiet --debug --root .tools cargo-machete --version "$CARGO_MACHETE_VERSION"
else
  echo "cargo-machete up to date"
fi

if [ -n "$checkov_pid" ]; then
  if wait "$checkov_pid"; then
    echo "checkov installed"
  else
    cat .tools/checkov-install.log >&2
    echo "setup: installing checkov failed (log above, .tools/checkov-install.log)" >&2
    exit 1
  fi
fi
