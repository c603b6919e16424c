#!/usr/bin/env bash
# Installs the project's tools at pinned versions, into the project, for one of three uses:
#
#   bash scripts/setup.sh            # everything `make test` needs (the default)
#   bash scripts/setup.sh deploy     # only building from source and deploying: SAM CLI, cargo-lambda, Zig (.venv)
#   bash scripts/setup.sh release    # deploy's, plus cargo-cyclonedx (.tools) for `make release`'s SBOM
#
# Everything: Python packages into .venv (requirements-dev.txt), checkov into its own venv .tools/checkov, npm
# packages into node_modules (package-lock.json), and cargo-deny, cargo-machete and cargo-hakari into .tools/
# (crates.io, --locked). Idempotent: each step is skipped when its stamp matches.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
# lock, sha256, step, pip_install: shared with local/setup.sh.
. "$ROOT/scripts/lib.sh"
CARGO_DENY_VERSION="0.20.2"
CARGO_MACHETE_VERSION="0.9.2"
CARGO_HAKARI_VERSION="0.9.39"
CARGO_CYCLONEDX_VERSION="0.5.9"
USE="${1:-all}"
case "$USE" in all|deploy|release) ;; *) echo "usage: scripts/setup.sh [all|deploy|release]" >&2; exit 2;; esac


# cargo_tool NAME VERSION WHY: `cargo install` NAME at VERSION into .tools unless it is there already.
cargo_tool() {
  if [ ! -x ".tools/bin/$1" ] || ! grep -q "\"$1 $2 " .tools/.crates.toml 2>/dev/null; then
    step "cargo install $1 $2 ($3)"
    # --debug: a dev build compiles in about a third of the time, and these tools do little work.
    cargo install --locked --quiet --debug --root .tools "$1" --version "$2"
  else
    echo "$1 up to date"
  fi
}

if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV"
  python3 -m venv "$VENV"
fi

if [ "$USE" != all ]; then
  # requirements-dev.txt includes requirements-deploy.txt, so after a full setup this installs nothing new.
  pip_install deploy requirements-deploy.txt
  if [ "$USE" = release ]; then
    cargo_tool cargo-cyclonedx "$CARGO_CYCLONEDX_VERSION" "the release's SBOM; about a minute, once"
  fi
  exit 0
fi

# moto, cfn-lint, pytest, matplotlib, jsonschema, and the deploy tools (aws-sam-cli, cargo-lambda, ziglang).
pip_install dev requirements-dev.txt requirements-deploy.txt local/requirements.txt tests/template/requirements.txt

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

cargo_tool cargo-deny "$CARGO_DENY_VERSION" "licences, bans and sources; a few minutes, once"
cargo_tool cargo-machete "$CARGO_MACHETE_VERSION" "unused dependencies; about a minute, once"
cargo_tool cargo-hakari "$CARGO_HAKARI_VERSION" "checks the workspace-hack is current; about a minute, once"

if [ -n "$checkov_pid" ]; then
  if wait "$checkov_pid"; then
    echo "checkov installed"
  else
    cat .tools/checkov-install.log >&2
    echo "setup: installing checkov failed (log above, .tools/checkov-install.log)" >&2
    exit 1
  fi
fi
