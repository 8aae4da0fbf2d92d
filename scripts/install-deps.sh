#!/usr/bin/env bash
# Installs what the test suite needs beyond cargo: etcd 3.4 (server and etcdctl)
# from Debian, the reference server the SDK's integration tests run against.
set -euo pipefail
# openssl: the JWT auth tests make their RSA and EC keys with it.
# etcd-discovery: discovery.etcd.io, the discovery service of sim/tests/discovery.rs.
if [ -x /usr/bin/etcd ] && [ -x /usr/bin/etcdctl ] && [ -x /usr/bin/discovery.etcd.io ] \
  && command -v openssl >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq etcd-server etcd-client etcd-discovery openssl >/dev/null
# The Debian package may start a system service on the default ports; our tests
# never use them, but do not leave a stray server behind either.
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl stop etcd etcd-discovery >/dev/null 2>&1 || true
fi
/usr/bin/etcd --version | head -1
