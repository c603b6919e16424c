#!/usr/bin/env bash
# `make link-order`: writes link-order/<binary>.txt, the symbols each Lambda binary executes through
# `make bench`'s runs (init, cold and warm invocations, fanout's batch, enrich and save against moto), which
# link-order/build.rs hands to the linker so those functions sit together (link-order/README.md).
#
#   bash scripts/link-order.sh     # about 20 minutes: 6 unstripped links, the runs under valgrind, 6 links
#
# Method: each binary is linked unstripped with exactly the release build's settings (`cargo rustc
# --release -- -C strip=none` changes the final link only, so the mangled names are the release build's),
# then `target/release/bench --bin-dir` runs it under valgrind's callgrind, which names every function that
# executed. Needs valgrind (`apt-get install valgrind`). Re-run it after upgrading dependencies or when
# `make bench` shows a function's RSS rising: a stale list is ignored symbol by symbol, never an error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET_DIR/link-order"
BINS=(data-action fanout validate process save enrich)
step() { printf '==> %s\n' "$*" >&2; }

command -v valgrind >/dev/null || { echo "link-order: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
[ -x "$ROOT/.venv/bin/moto_server" ] || { step "moto missing: SKIP_BUILD=1 bash local/setup.sh"; SKIP_BUILD=1 bash local/setup.sh; }

rm -rf "$OUT" && mkdir -p "$OUT/bin" "$OUT/wrap" "$OUT/callgrind"
step "cargo build --release --workspace --bins"
cargo build --release --workspace --bins
cp "$TARGET_DIR/release/bench-bare" "$OUT/wrap/bench-bare"
for bin in "${BINS[@]}"; do
  step "$bin: release link with symbols"
  cargo rustc --quiet --release -p "$bin" --bin "$bin" -- -C strip=none
  cp "$TARGET_DIR/release/$bin" "$OUT/bin/$bin"
  cat > "$OUT/wrap/$bin" <<WRAP
#!/bin/sh
# callgrind dumps as it goes: the bench ends each process with SIGKILL, which leaves no exit dump.
exec valgrind --quiet --tool=callgrind --demangle=no --dump-instr=no --dump-every-bb=200000 \\
  --callgrind-out-file="$OUT/callgrind/$bin.%p" "$OUT/bin/$bin"
WRAP
  chmod +x "$OUT/wrap/$bin"
done

step "the bench's runs under callgrind (slow: every process runs in valgrind)"
"$TARGET_DIR/release/bench" --bin-dir "$OUT/wrap" --no-baseline --cold 2 --warm 20 --events 200 \
  --out "$OUT/results.json" >"$OUT/bench.log" 2>&1 || {
  echo "link-order: the bench run failed; its output: $OUT/bench.log" >&2
  tail -20 "$OUT/bench.log" >&2
  exit 1
}

step "link-order/<binary>.txt"
python3 - "$OUT/callgrind" "$ROOT/link-order" "${BINS[@]}" <<'PY'
# Order: the symbols more of the binary's processes ran first (init and the common path are in every process;
# a path one phase alone takes, such as recent-contact against moto, comes after), then by name.
import collections, pathlib, re, sys
dumps, dest, bins = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
# A symbol name; not callgrind's "(below main)" nor the bare addresses it gives code without a symbol.
name = re.compile(r"^c?fn=\(\d+\) ([A-Za-z_][A-Za-z0-9_.$]*)")
for b in bins:
    ran_in = collections.defaultdict(set)  # symbol -> pids
    pids = set()
    files = sorted(dumps.glob(f"{b}.*"))  # <binary>.<pid>[.<dump>]
    for f in files:
        pid = f.name[len(b) + 1:].split(".")[0]
        pids.add(pid)
        for line in f.open(errors="replace"):
            m = name.match(line)
            if m:
                ran_in[m.group(1).split("'")[0]].add(pid)
    if not ran_in:
        sys.exit(f"link-order: no callgrind output for {b}")
    order = sorted(ran_in, key=lambda s: (-len(ran_in[s]), s))
    (dest / f"{b}.txt").write_text("".join(f"{s}\n" for s in order))
    print(f"link-order/{b}.txt: {len(order)} symbols from {len(pids)} processes ({len(files)} dumps)")
PY

step "cargo build --release --workspace --bins (stripped again, in the new order)"
cargo build --release --workspace --bins
