#!/usr/bin/env bash
# Every benchmark, release builds, both worlds; prints all tables at the end.
#
#   scripts/bench.sh              # short cells (3 s), 50 failover trials: ~15 minutes
#   scripts/bench.sh --long       # 30 s cells, 200 failover trials
#   SIM_SEEDS=100 scripts/bench.sh
#
# Flags go to the real-build bench (`cargo run --release --example bench -- all`).
# Results: target/bench/<section>.json (raw) and <section>.txt (tables). Compare
# ratios within one run: the machine's noise moves absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

SIM_SEEDS=${SIM_SEEDS:-50}
CHAOS_SEEDS=${CHAOS_SEEDS:-20}
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

if [[ -x scripts/chaos.sh ]]; then
  step "chaos runner: $CHAOS_SEEDS seeds of 1,000 operations, 3 and 5 members"
  {
    echo "== Chaos runner: seeds of 1,000 operations =="
    printf '%-8s %6s %8s %10s\n' members seeds "wall s" "seeds/min"
    for nodes in 3 5; do
      start=$(date +%s.%N)
      scripts/chaos.sh --seeds "$CHAOS_SEEDS" --nodes "$nodes" --ops 1000 >"$out/chaos_$nodes.log" 2>&1
      end=$(date +%s.%N)
      awk -v n="$nodes" -v s="$CHAOS_SEEDS" -v a="$start" -v b="$end" \
        'BEGIN { w = b - a; printf "%-8s %6d %8.1f %10.1f\n", n, s, w, s * 60 / w }'
    done
  } | tee "$out/chaos_runner.txt"
else
  echo "scripts/chaos.sh not present: chaos runner numbers skipped" | tee "$out/chaos_runner.txt"
fi

step "history checker: 10,000 and 50,000 operations"
cargo run --quiet -p etcd-sim --release --example chaos_check_bench | tee "$out/chaos_check.txt"

step "all tables"
for t in sdk server failover failover_sim memory sim_throughput chaos_runner chaos_check; do
  [[ -f "$out/$t.txt" ]] && { cat "$out/$t.txt"; echo; }
done
