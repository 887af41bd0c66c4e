#!/usr/bin/env bash
# Render the audit's HTML report of a loopback fault hierarchy in headless Chromium.
#
#   scripts/check-html-report.sh [OUT_DIR]     (default: target/audit-report)
#
# Builds a BIND hierarchy with one clean organisation and one per common fault
# (cargo run --example audit_lab -- report), writes audit.{html,txt,md,json}, then takes a
# screenshot (audit.png) with `chromium --headless --screenshot`, with the network off for
# the page (it must need none). Installs Debian's chromium when it is missing. Needs root
# (BIND binds port 53 on loopback addresses).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/audit-report}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing chromium (Debian package)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2
fi

cargo run --quiet --example audit_lab -- report "$out"

# The page must be self-contained: no script, no external resource.
if grep -Eq '<script|<link|src="http|url\(http' "$out/audit.html"; then
    echo "audit.html refers to external resources or scripts" >&2
    exit 1
fi

chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
    --proxy-server='127.0.0.1:9' --proxy-bypass-list='<-loopback>' \
    --window-size=1600,1800 --screenshot="$out/audit.png" "file://$out/audit.html" \
    >/dev/null 2>&1 || true
if [ ! -s "$out/audit.png" ]; then
    echo "chromium wrote no screenshot" >&2
    exit 1
fi
echo "screenshot: $out/audit.png"
