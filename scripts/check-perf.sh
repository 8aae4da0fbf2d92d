#!/usr/bin/env bash
# `etcdctl check perf` against etcd 3.4.23 and against etcd-sim, side by side:
# a fresh single member of each (durable, in a temporary data dir on free
# loopback ports), the same etcdctl command, and a closing table of etcdctl's
# verdicts and figures. Not part of CI: each load runs for a minute.
#
#   bash scripts/check-perf.sh          # --load=s
#   LOAD=m bash scripts/check-perf.sh   # another etcdctl load profile
set -euo pipefail
cd "$(dirname "$0")/.."
LOAD="${LOAD:-s}"
bash scripts/install-deps.sh
echo "building etcd-sim (release)..."
cargo build --quiet --release -p etcd-sim --bin etcd-sim
SIM_BIN="$PWD/target/release/etcd-sim"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# run_one NAME BINARY: starts a member, runs check perf, records the output.
run_one() {
  local name=$1 bin=$2 cport pport
  cport=$(free_port)
  pport=$(free_port)
  "$bin" --name perf --data-dir "$work/$name.data" \
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "perf=http://127.0.0.1:$pport" >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$cport/health" >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  echo "[$name] etcdctl check perf --load=$LOAD (about a minute)..."
  ETCDCTL_API=3 /usr/bin/etcdctl --endpoints="http://127.0.0.1:$cport" check perf --load="$LOAD" \
    2>&1 | tr '\r' '\n' | grep -oE '(PASS|FAIL).*' | tee "$work/$name.out" || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

run_one etcd /usr/bin/etcd
run_one etcd-sim "$SIM_BIN"

printf '\n%-12s | %-45s\n' "server" "etcdctl check perf --load=$LOAD"
printf -- '-------------+----------------------------------------------\n'
for name in etcd etcd-sim; do
  first=1
  while IFS= read -r line; do
    if [ $first = 1 ]; then printf '%-12s | %s\n' "$name" "$line"; first=0
    else printf '%-12s | %s\n' "" "$line"; fi
  done <"$work/$name.out"
done
