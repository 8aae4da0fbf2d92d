#!/usr/bin/env bash
# Replays every seed in scripts/chaos-regressions.txt through scripts/chaos.sh (a
# release sim build) and fails if any of them fails again. Failing seeds leave their
# history and timeline in chaos-out/.
#
#   scripts/chaos-regressions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
failed=0
while IFS= read -r line; do
  args="${line%%#*}"
  [[ -z "${args// }" ]] && continue
  # shellcheck disable=SC2086 # the line is an argument list
  if ! scripts/chaos.sh $args; then
    echo "chaos regression failed: $args" >&2
    failed=1
  fi
done < scripts/chaos-regressions.txt
exit "$failed"
