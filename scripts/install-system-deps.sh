#!/usr/bin/env bash
# Installs the system programs the test suite uses, when they are missing:
# a PostgreSQL server (ledger tests). Debian/Ubuntu only; needs root.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-system-deps: missing ${missing[*]}; install them (tests needing them are skipped)" >&2
    exit 0
fi
echo "install-system-deps: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
