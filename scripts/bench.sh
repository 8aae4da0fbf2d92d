#!/usr/bin/env bash
# Every benchmark, release builds, both worlds; prints all tables at the end.
#
#   scripts/bench.sh              # short cells (3 s), 50 failover trials: ~15-20 minutes
#   scripts/bench.sh --long       # 30 s cells, 200 failover trials
#   SIM_SEEDS=100 CHAOS_SEEDS=500 scripts/bench.sh   # sim failover seeds, chaos seeds
#
# Flags go to the real-build bench (`cargo run --release --example bench -- all`).
# Results: target/bench/<section>.json (raw) and <section>.txt (tables). Compare
# ratios within one run: the machine's noise moves absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

SIM_SEEDS=${SIM_SEEDS:-50}
CHAOS_SEEDS=${CHAOS_SEEDS:-100}
out=target/bench
mkdir -p "$out"
step() { printf '\n=== %s\n' "$*" >&2; }

step "build (real, release): bench example and etcd-sim"
cargo build --release --example bench
cargo build --release -p etcd-sim --bin etcd-sim

step "SDK, server, failover and memory (real processes)"
./target/release/examples/bench all "$@"

step "failover in the simulator ($SIM_SEEDS seeds)"
RUSTFLAGS="--cfg madsim" cargo run --quiet -p etcd-sim --release --example failover_bench \
  --target-dir target/sim -- "$SIM_SEEDS"

step "simulator throughput (3 and 5 members, steady writes)"
RUSTFLAGS="--cfg madsim" cargo run --quiet -p etcd-sim --release --example sim_throughput \
  --target-dir target/sim | tee "$out/sim_throughput.txt"

step "chaos runner: $CHAOS_SEEDS seeds of 1,000 operations, 3 and 5 members"
{
  echo "== Chaos runner: seeds of 1,000 operations, all faults =="
  printf '%-8s %6s %10s %10s %16s %12s %11s\n' members seeds operations violations "virtual s/wall s" "ops/wall s" "seeds/min"
  for nodes in 3 5; do
    scripts/chaos.sh --seeds "$CHAOS_SEEDS" --nodes "$nodes" --ops 1000 --out "$out/chaos-out" \
      >"$out/chaos_$nodes.log" 2>"$out/chaos_$nodes.err" || true
    # The runner's closing summary: seeds, operations, violations, seeds per minute,
    # virtual s / wall s; wall time follows from seeds and seeds per minute.
    awk -v n="$nodes" '
      /^  seeds +[0-9]+$/      { seeds = $2 }
      /^  operations /         { ops = $2 }
      /^  violations /         { bad = $2 }
      /^  seeds per minute /   { spm = $4 }
      /^  virtual s \/ wall s / { ratio = $6 }
      END {
        wall = (spm > 0) ? seeds * 60 / spm : 0
        printf "%-8s %6d %10d %10d %16.1f %12.0f %11.1f\n", n, seeds, ops, bad, ratio, (wall > 0 ? ops / wall : 0), spm
      }' "$out/chaos_$nodes.log"
  done
} | tee "$out/chaos_runner.txt"

step "history checker: 10,000 and 50,000 operations"
cargo run --quiet -p etcd-sim --release --example chaos_check_bench | tee "$out/chaos_check.txt"

step "all tables"
for t in sdk server failover failover_sim memory sim_throughput chaos_runner chaos_check; do
  [[ -f "$out/$t.txt" ]] && { cat "$out/$t.txt"; echo; }
done
