#!/usr/bin/env bash
# The chaos runner: randomized fault-injection runs of a simulated etcd cluster,
# each history checked for linearizability and the watch guarantees.
#
#   scripts/chaos.sh --seeds 1000 --nodes 5 --ops 2000 --faults all   # a long sweep
#   scripts/chaos.sh --replay 42 --nodes 5 --ops 2000 --faults all    # one seed again
#   scripts/chaos.sh --help
#
# Arguments go to `etcd-sim chaos` (a release build in the sim target dir).
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTFLAGS="--cfg madsim" exec cargo run --quiet -p etcd-sim --release --target-dir target/sim \
  --bin etcd-sim -- chaos "$@"
