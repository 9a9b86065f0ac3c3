#!/usr/bin/env bash
# Debian packages the full test suite needs beyond Python: WireGuard (userspace wireguard-go and
# wg) and iproute2 for the real-handshake tests in network namespaces, docker-compose (1.29, it
# parses compose files without an engine) to validate deploy/compose.yaml, Chromium (a real
# browser, headless: the API's Swagger UI renders offline; with chromium-driver, the console's
# browser tests), and Debian's PostgreSQL 15 (the suite's second run, TEST_POSTGRES=15, on a
# throw-away cluster). Idempotent.
set -euo pipefail
need=()
command -v wireguard-go >/dev/null || need+=(wireguard-go)
command -v wg >/dev/null || need+=(wireguard-tools)
command -v ip >/dev/null || need+=(iproute2)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
# a Python the user `nobody` may run: tests/security/test_local_redis.py probes as another uid
[ -x /usr/bin/python3 ] || need+=(python3-minimal)
command -v useradd >/dev/null || need+=(passwd)  # the embedded Redis's own user, as root
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-packages: missing ${need[*]} (install them with your package manager)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "system-packages: installed ${need[*]}"
