#!/bin/sh
# html_render.sh - a real browser renders the HTML report: headless Chromium takes a screenshot.
#
#   sh tests/html_render.sh [./tlsinspect]            render and check
#   sh tests/html_render.sh [./tlsinspect] --update   also write docs/html-report.png
#
# The page of captures/post-upgrade.pcap is rendered at 1200x2000 by Chromium
# (Debian package `chromium`, installed by tests/deps.sh); tests/png_check.py
# reads the PNG (zlib only) and checks the size and that the page is not blank.
# docs/html-report.png (the README's picture) is made with --update: the same
# page at 1200x2100 with a device scale of 0.8 (960x1680 pixels, so the ladder
# is in it), re-encoded smaller; the committed picture is checked to be that
# size, not blank, and under 300 KB.
# Without Chromium the test says so loudly; under CI=true that is a failure.
set -u
bin=./tlsinspect; update=
for a in "$@"; do
    case "$a" in --update) update=1 ;; *) bin=$a ;; esac
done
W=1200; H=2000
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

browser=""
for b in chromium chromium-browser google-chrome; do
    command -v "$b" >/dev/null 2>&1 && { browser=$b; break; }
done
if [ -z "$browser" ]; then
    echo "************************************************************************"
    echo "html_render: NO CHROMIUM: the HTML report was NOT rendered in a browser."
    echo "html_render: install it with: apt-get install chromium (tests/deps.sh)"
    echo "************************************************************************"
    [ "${CI:-}" = true ] && exit 1
    exit 0
fi

# shellcheck disable=SC2046
"$bin" -f html -o "$tmp/report.html" $(cat captures/post-upgrade.pcap.args) captures/post-upgrade.pcap
[ $? -le 1 ] || { echo "FAIL html_render: tlsinspect could not write the page"; exit 1; }
# --no-sandbox: CI runs as root; a private profile so no state leaks in or out
HOME=$tmp "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$tmp/profile" --screenshot="$tmp/shot.png" --window-size=$W,$H \
    "file://$tmp/report.html" > "$tmp/log" 2>&1
if [ ! -s "$tmp/shot.png" ]; then
    echo "FAIL html_render: $browser wrote no screenshot:"; tail -5 "$tmp/log"; exit 1
fi
python3 tests/png_check.py "$tmp/shot.png" $W $H || { echo "FAIL html_render: screenshot check"; exit 1; }
if [ -n "$update" ]; then
    HOME=$tmp "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
        --user-data-dir="$tmp/profile" --force-device-scale-factor=0.8 --screenshot="$tmp/docs0.png" \
        --window-size=1200,2100 "file://$tmp/report.html" > "$tmp/log" 2>&1
    python3 tests/png_check.py "$tmp/docs0.png" --crop 0 1680 "$tmp/docs.png" &&
        mkdir -p docs && cp "$tmp/docs.png" docs/html-report.png &&
        echo "updated docs/html-report.png ($(wc -c < docs/html-report.png) bytes)"
fi
if [ ! -f docs/html-report.png ]; then
    echo "FAIL html_render: docs/html-report.png missing (sh tests/html_render.sh --update)"; exit 1
fi
n=$(wc -c < docs/html-report.png)
if [ "$n" -ge 307200 ]; then
    echo "FAIL html_render: docs/html-report.png is $n bytes (limit 300 KB)"; exit 1
fi
python3 tests/png_check.py docs/html-report.png 960 1680 > "$tmp/docs.out" ||
    { echo "FAIL html_render: docs/html-report.png:"; cat "$tmp/docs.out"; exit 1; }
echo "html_render: $browser rendered the report (${W}x$H, not blank)"
