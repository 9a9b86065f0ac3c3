#!/usr/bin/env bash
# Debian packages the full test suite needs beyond Python: WireGuard (userspace wireguard-go and
# wg) and iproute2 for the real-handshake tests in network namespaces, docker-compose (1.29, it
# parses compose files without an engine) to validate deploy/compose.yaml, and Chromium (a real
# browser, headless, showing the API's Swagger UI renders offline). Idempotent.
set -euo pipefail
need=()
command -v wireguard-go >/dev/null || need+=(wireguard-go)
command -v wg >/dev/null || need+=(wireguard-tools)
command -v ip >/dev/null || need+=(iproute2)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v chromium >/dev/null || need+=(chromium)
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
