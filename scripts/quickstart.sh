#!/usr/bin/env bash
# Quickstart: runs examples/quickstart.rs (an embedded etcd-sim member, nothing to
# install), then installs etcd 3.4 from Debian if missing, starts a throwaway
# single-member etcd (v2 API on) on free loopback ports, runs the KeysAPI example
# against it, and stops the server again.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --example quickstart
bash scripts/install-deps.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
client_port=$(free_port)
peer_port=$(free_port)
data_dir=$(mktemp -d)
log="$data_dir/etcd.log"
/usr/bin/etcd --name quickstart --data-dir "$data_dir/data" --enable-v2 \
  --listen-client-urls "http://127.0.0.1:$client_port" --advertise-client-urls "http://127.0.0.1:$client_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "quickstart=http://127.0.0.1:$peer_port" >"$log" 2>&1 &
etcd_pid=$!
trap 'kill "$etcd_pid" 2>/dev/null; wait "$etcd_pid" 2>/dev/null; rm -rf "$data_dir"' EXIT

# Build while etcd starts.
cargo build --quiet --example keys
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$client_port/health" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
cargo run --quiet --example keys -- "http://127.0.0.1:$client_port"
