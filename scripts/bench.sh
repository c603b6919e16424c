#!/usr/bin/env bash
# `make bench`: release build, then every function through the Lambda Runtime API (crates/bench) against
# wiremock stand-ins, local/genesys_standin.py and moto; prints the table with the verdicts of
# bench/budgets.json and writes bench/results.json. Method: bench/README.md.
#
#   bash scripts/bench.sh             # the whole benchmark (the release build, then about 3 minutes of runs)
#   bash scripts/bench.sh --strict    # exit 1 when a budget is missed
#   bash scripts/bench.sh --arm64     # also `cargo lambda build --release --arm64` (another full build)
#   BASELINE_DIR=/path bash scripts/bench.sh   # the Python seeds to compare with (default bench/baseline, vendored)
#
# Tools it makes sure of: .venv (local/setup.sh) for moto and the Genesys stand-in's Python, and, when a
# baseline directory exists, the venv .venv-baseline (BASELINE_VENV to move it) with that directory's
# requirements.txt. Other arguments go to the bench binary (`target/release/bench --help`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
step() { printf '==> %s\n' "$*" >&2; }

args=("$@")
arm64=0
for arg in "$@"; do
  [ "$arg" = "--arm64" ] && arm64=1
done

# moto serves enrich's and save's DynamoDB and SQS (the real conditional writes); the same venv runs
# local/genesys_standin.py.
if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/python" ]; then
  step "moto missing: SKIP_BUILD=1 bash local/setup.sh"
  SKIP_BUILD=1 bash local/setup.sh
fi

# The optional Python baseline: its own venv, installed once per requirements.txt (and Python) version.
BASELINE_DIR="${BASELINE_DIR:-$ROOT/bench/baseline}"
if [ -f "$BASELINE_DIR/seed_data_action.py" ] && [ -f "$BASELINE_DIR/requirements.txt" ]; then
  BASELINE_DIR="$(cd "$BASELINE_DIR" && pwd)"
  BASELINE_VENV="${BASELINE_VENV:-$ROOT/.venv-baseline}"
  [ -x "$BASELINE_VENV/bin/python" ] || python3 -m venv "$BASELINE_VENV"
  hash="$( { cat "$BASELINE_DIR/requirements.txt"; "$BASELINE_VENV/bin/python" -VV; } | sha256sum | cut -c1-16)"
  stamp="$BASELINE_VENV/.baseline-$hash.stamp"
  if [ ! -f "$stamp" ]; then
    step "baseline: pip install -r $BASELINE_DIR/requirements.txt into $BASELINE_VENV"
    if "$BASELINE_VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
        -r "$BASELINE_DIR/requirements.txt"; then
      rm -f "$BASELINE_VENV"/.baseline-*.stamp
      touch "$stamp"
    else
      step "baseline: install failed; running without the baseline"
      args+=(--no-baseline)
    fi
  fi
  export BASELINE_DIR BASELINE_VENV
else
  step "no baseline at $BASELINE_DIR: the project's figures alone"
  args+=(--no-baseline)
fi

step "cargo build --release --workspace --bins"
cargo build --release --workspace --bins

if [ "$arm64" = 1 ]; then
  step "cargo lambda build --release --arm64 --output-format zip (the six functions)"
  PATH="$VENV/bin:$PATH" cargo lambda build --release --arm64 --output-format zip \
    -p data-action -p fanout -p validate -p process -p save -p enrich
fi

step "target/release/bench ${args[*]}"
exec "$TARGET_DIR/release/bench" "${args[@]}"
