#!/bin/sh
# Installs what a fresh machine lacks to run the integration tests: etcd 3.4
# (Debian packages etcd-server and etcd-client: /usr/bin/etcd, /usr/bin/etcdctl).
# Runs as root; quiet and idempotent: does nothing when etcd is already there.
set -eu

if [ -x /usr/bin/etcd ] && [ -x /usr/bin/etcdctl ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: must run as root to install etcd-server and etcd-client" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends etcd-server etcd-client >/dev/null

# The package may start an etcd service on 2379/2380; the tests never use those
# ports, but a stray daemon is not wanted on a CI machine.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
    systemctl stop etcd >/dev/null 2>&1 || true
    systemctl disable etcd >/dev/null 2>&1 || true
fi

/usr/bin/etcd --version >/dev/null
