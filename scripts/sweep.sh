#!/usr/bin/env bash
# The slow sweeps CI runs only a few seeds of: the simulated fault scenarios over
# many seeds, and the determinism replay over many seeds (sim build only).
#
#   bash scripts/sweep.sh                 # 100 scenario seeds, 30 determinism seeds
#   SCENARIO_SEEDS=500 DETERMINISM_SEEDS=50 MADSIM_TEST_SEED=1000 bash scripts/sweep.sh
#
# Chaos sweeps (randomized workloads + checkers) are scripts/chaos.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
SEED="${MADSIM_TEST_SEED:-1}"
SCENARIO_SEEDS="${SCENARIO_SEEDS:-100}"
DETERMINISM_SEEDS="${DETERMINISM_SEEDS:-30}"
TESTS=(--test cluster_scenarios --test cluster_scenarios_5 --test member_cluster
  --test sim_members --test sim_client --test v3_scenarios --test v3_learner_faults
  --test v3_client_faults)

start=$(date +%s)
echo "=== fault scenarios over $SCENARIO_SEEDS seeds from seed $SEED"
MADSIM_TEST_SEED="$SEED" MADSIM_TEST_NUM="$SCENARIO_SEEDS" RUSTFLAGS="--cfg madsim" \
  cargo test -q -p etcd-sim --target-dir target/sim "${TESTS[@]}"
scen=$(( $(date +%s) - start ))

pass=0
fail=()
for s in $(seq $((SEED + 1)) $((SEED + DETERMINISM_SEEDS))); do
  echo "=== determinism, seed $s ($((s - SEED))/$DETERMINISM_SEEDS)"
  if MADSIM_TEST_SEED="$s" MADSIM_TEST_CHECK_DETERMINISM=1 RUSTFLAGS="--cfg madsim" \
    cargo test -q -p etcd-sim --target-dir target/sim "${TESTS[@]}"; then
    pass=$((pass + 1))
  else
    fail+=("$s")
  fi
done
total=$(( $(date +%s) - start ))

printf '\n%-34s %s\n' "sweep" "result"
printf '%-34s %s\n' "scenario seeds $SEED..$((SEED + SCENARIO_SEEDS - 1))" "passed (${scen}s)"
printf '%-34s %s\n' "determinism seeds replayed" "$pass/$DETERMINISM_SEEDS identical"
printf '%-34s %s\n' "failing determinism seeds" "${fail[*]:-none}"
printf '%-34s %ss\n' "wall time" "$total"
[ "${#fail[@]}" -eq 0 ]
