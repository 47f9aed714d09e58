#!/usr/bin/env bash
# Installs the system programs the test suite uses, when they are missing:
# a PostgreSQL server (ledger tests), Pango and a font (the report's PDF, WeasyPrint),
# Chromium (the report's browser tests), poppler-utils (pdftotext, pdftoppm, pdfinfo) and
# Node.js with npm (axe-core, the report's accessibility test).
# Debian/Ubuntu only; needs root.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
ldconfig -p | grep -q 'libpango-1.0.so' || missing+=(libpango-1.0-0)
ldconfig -p | grep -q 'libpangoft2-1.0.so' || missing+=(libpangoft2-1.0-0)
compgen -G "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" >/dev/null || missing+=(fonts-dejavu-core)
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null && command -v pdfinfo >/dev/null || missing+=(poppler-utils)
# Separately: a Node.js from elsewhere (NodeSource) brings its own npm and conflicts with Debian's.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
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
