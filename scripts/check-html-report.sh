#!/usr/bin/env bash
# Render the audit's HTML report of a loopback fault hierarchy in headless Chromium.
#
#   scripts/check-html-report.sh [OUT_DIR]     (default: target/audit-report)
#
# Builds a BIND hierarchy with one clean organisation and one per common fault
# (cargo run --example audit_lab -- report), writes audit.{html,txt,md,json}, then takes a
# screenshot (audit.png) at 1280 px with `chromium --headless --screenshot`, with the network
# off for the page (it must need none). Then it asserts that nothing is hidden at 1280 and
# 1400 px: a probe copy of the page (the report plus one script that writes what it measures
# into the DOM) is loaded with `--dump-dom`; the document must not scroll sideways, no element
# may be wider than the viewport or scroll its content sideways, and the first error row of
# the findings must lie inside the viewport. Installs Debian's chromium
# when it is missing. Needs root (BIND binds port 53 on loopback addresses).
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

browser() {
    timeout 90 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --proxy-server='127.0.0.1:9' --proxy-bypass-list='<-loopback>' "$@"
}

browser --window-size=1280,1800 --screenshot="$out/audit.png" "file://$out/audit.html" \
    >/dev/null 2>&1 || true
if [ ! -s "$out/audit.png" ]; then
    echo "chromium wrote no screenshot" >&2
    exit 1
fi
echo "screenshot: $out/audit.png"

# The report must show an error (the lab has broken organisations) and nothing sideways.
grep -q '<tr class="sev-error">' "$out/audit.html" || {
    echo "audit.html has no error row: the lab's faults were not reported" >&2
    exit 1
}
for width in 1280 1400; do
    probe="$out/probe-$width.html"
    {
        sed 's#</body></html>##' "$out/audit.html"
        cat <<'JS'
<script>
(function () {
  var d = document.documentElement, w = d.clientWidth, wide = 0;
  var all = document.body.getElementsByTagName("*");
  for (var i = 0; i < all.length; i++) {
    var e = all[i], r = e.getBoundingClientRect();
    // Wider than the viewport, or scrolling its own content sideways.
    if (r.right > w + 1 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX != "visible") wide++;
  }
  var b = document.querySelector("tr.sev-error").getBoundingClientRect();
  var p = document.createElement("pre");
  p.textContent = "PROBE scroll=" + d.scrollWidth + " client=" + w + " error_right=" + Math.ceil(b.right)
    + " error_left=" + Math.floor(b.left) + " wide=" + wide;
  document.body.appendChild(p);
})();
</script></body></html>
JS
    } >"$probe"
    line="$(browser --window-size=$width,900 --dump-dom "file://$probe" 2>/dev/null | grep -oE 'PROBE scroll=[0-9]+ client=[0-9]+ error_right=-?[0-9]+ error_left=-?[0-9]+ wide=[0-9]+' || true)"
    rm -f "$probe"
    if [ -z "$line" ]; then
        echo "no measurement from chromium at $width px" >&2
        exit 1
    fi
    read -r scroll client right left wide < <(echo "$line" | sed -E 's/PROBE scroll=([0-9]+) client=([0-9]+) error_right=(-?[0-9]+) error_left=(-?[0-9]+) wide=([0-9]+)/\1 \2 \3 \4 \5/')
    echo "at $width px: document $scroll px wide (viewport $client), first error row $left..$right px, $wide elements wider than the viewport or scrolling sideways"
    if [ "$scroll" -gt "$client" ] || [ "$right" -gt "$client" ] || [ "$left" -lt 0 ] || [ "$wide" -gt 0 ]; then
        echo "audit.html at $width px: content wider than the viewport or scrolling sideways (the first error may be hidden)" >&2
        exit 1
    fi
done
