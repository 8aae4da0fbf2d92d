#!/usr/bin/env bash
# Dependencies inside the server point down only: api/ -> server/ -> store/,
# auth/, raft/. Fails, naming file and line, when a lower layer names a higher one:
#   - sim/src/store/, sim/src/raft/, sim/src/auth/ must not name crate::api,
#     crate::server, crate::member, crate::cluster, crate::chaos or crate::embed;
#   - sim/src/server/ must not name crate::api or crate::member.
# Comments (// and //! and ///, whole-line or trailing) are not code and are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0

# check DIR PATTERN: prints file:line: text for code lines of DIR matching PATTERN.
check() {
  local dir=$1 pattern=$2
  local hits
  # Drop everything from the first // on each line, then match what is left.
  hits=$(find "$dir" -name '*.rs' -print0 | sort -z | xargs -0 awk -v pat="$pattern" '
    {
      code = $0
      sub(/\/\/.*/, "", code)
      if (code ~ pat) printf "%s:%d: %s\n", FILENAME, FNR, $0
    }')
  if [[ -n "$hits" ]]; then
    echo "check-layers: $dir names a layer above it:" >&2
    echo "$hits" >&2
    status=1
  fi
}

# crate::NAME, or NAME inside a one-line group: use crate::{NAME::x, ...}.
names() { echo "crate::($1)([^A-Za-z0-9_]|\$)|crate::\\{([^}]*[^A-Za-z0-9_])?($1)([^A-Za-z0-9_]|\$)"; }

for dir in sim/src/store sim/src/raft sim/src/auth; do
  check "$dir" "$(names 'api|server|member|cluster|chaos|embed')"
done
check sim/src/server "$(names 'api|member')"

if [[ $status -eq 0 ]]; then
  echo "check-layers: ok (api -> server -> store, auth, raft)"
fi
exit $status
