#!/bin/sh
# golden_html.sh - the HTML report (-f html) of some fixtures must be exactly its golden page.
#
#   sh tests/golden_html.sh [./tlsinspect] [build/gen]            compare
#   sh tests/golden_html.sh [./tlsinspect] [build/gen] --update   rewrite captures/html/*.html
#
# Pages (run from the repository root; options from captures/<file>.args):
#   post-upgrade.html    captures/post-upgrade.pcap
#   hostile-names.html   captures/hostile-names.pcap (certificate CN, SAN, SNI and
#                        ALPN are HTML markup)
#   pre-post-diff.html   tlsinspect diff -f html pre-upgrade.pcap post-upgrade.pcap
# Checked on their own, so a careless --update cannot bless a broken page:
#   - tests/html_check.py on every page: strict nesting, nothing loaded from
#     outside the page, the one known script; the hostile page shows its
#     markup as text; and the checker itself rejects a page that breaks these;
#   - size: the page of captures/many-flows.pcap and of 2000 connections made
#     by the generator (build/gen --bench) are under 2 MB, and the latter
#     counts all 2000 connections.
set -u
bin=./tlsinspect; gen=build/gen; update=
for a in "$@"; do
    case "$a" in --update) update=1 ;; */gen) gen=$a ;; *) bin=$a ;; esac
done
dir=captures/html
ca="--cafile captures/pki/expressway-trust.pem"
max=$((2 * 1024 * 1024))
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failed() { echo "FAIL $*"; fail=$((fail + 1)); }

command -v python3 >/dev/null 2>&1 || { echo "golden_html: python3 is needed (tests/deps.sh)"; exit 1; }

# page NAME WANT-EXIT CHECK-ARGS COMMAND...
page() {
    name=$1; want=$2; check=$3; shift 3
    "$@" > "$tmp/$name.html" 2> "$tmp/err"
    rc=$?
    if [ $rc -ne "$want" ]; then
        failed "$name: exit $rc, want $want: $(cat "$tmp/err")"; return
    fi
    # shellcheck disable=SC2086
    if ! python3 tests/html_check.py "$tmp/$name.html" $check; then
        failed "$name: html_check"; return
    fi
    if [ -n "$update" ]; then
        mkdir -p "$dir"; cp "$tmp/$name.html" "$dir/$name.html"; echo "updated $dir/$name.html"
    elif [ ! -f "$dir/$name.html" ]; then
        failed "$name: no golden page $dir/$name.html (make update-golden)"; return
    elif ! diff -u "$dir/$name.html" "$tmp/$name.html" > "$tmp/diff"; then
        failed "$name: page differs from $dir/$name.html:"; head -40 "$tmp/diff"; return
    fi
    pass=$((pass + 1))
}

# shellcheck disable=SC2046
page post-upgrade 1 "" "$bin" -f html $(cat captures/post-upgrade.pcap.args) captures/post-upgrade.pcap
# shellcheck disable=SC2046
page hostile-names 1 --hostile "$bin" -f html $(cat captures/hostile-names.pcap.args) captures/hostile-names.pcap
# shellcheck disable=SC2086
page pre-post-diff 1 "" "$bin" diff -f html $ca captures/pre-upgrade.pcap captures/post-upgrade.pcap

# the fix beside the endpoint that got worse
grep -q '<p class="fix"><b>Fix</b> <code>CHAIN_SELF_SIGNED</code>: Upload this self-signed' \
    "$tmp/pre-post-diff.html" || failed "pre-post-diff: no fix beside the 6972 endpoint"
# a report saved without a trust store against a capture judged with one:
# not comparable, the --cafile row, no endpoint (exit 2, the page written)
"$bin" -f json captures/pre-upgrade.pcap > "$tmp/pre-noca.json" 2>/dev/null
# shellcheck disable=SC2086
"$bin" diff -f html $ca "$tmp/pre-noca.json" captures/post-upgrade.pcap > "$tmp/nc.html" 2>/dev/null
rc=$?
if [ $rc -ne 2 ] || ! python3 tests/html_check.py "$tmp/nc.html" ||
   ! grep -q 'NOT COMPARABLE</span> verification options differ' "$tmp/nc.html" ||
   ! grep -q '<tr class="wrs"><th>cafile</th><td>none</td>' "$tmp/nc.html" ||
   grep -q '10\.48\.36\.215:6972' "$tmp/nc.html"; then
    failed "not comparable page (exit $rc)"
fi

# -o FILE writes the same page as standard output
# shellcheck disable=SC2046
"$bin" -f html -o "$tmp/o.html" $(cat captures/post-upgrade.pcap.args) captures/post-upgrade.pcap 2>/dev/null
cmp -s "$tmp/o.html" "$tmp/post-upgrade.html" || failed "-o FILE differs from standard output"

# the checker rejects what it must reject
printf '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>t</title><style></style></head><body><img src="https://cdn.example/x.png"><div><p></div><script>window.addEventListener("beforeprint",0)</script></body></html>\n' > "$tmp/bad.html"
python3 tests/html_check.py "$tmp/bad.html" > "$tmp/bad.out"
grep -q 'external resource' "$tmp/bad.out" && grep -q 'closes' "$tmp/bad.out" ||
    failed "html_check.py accepted a page with an external image and bad nesting"
sed 's/&lt;script&gt;alert(1)/<script>alert(1)/' "$tmp/hostile-names.html" > "$tmp/raw.html"
python3 tests/html_check.py "$tmp/raw.html" --hostile > /dev/null &&
    failed "html_check.py accepted the hostile page with its CN unescaped"

# size: identical connections fold
# shellcheck disable=SC2046
"$bin" -f html $(cat captures/many-flows.pcap.args) captures/many-flows.pcap > "$tmp/many.html" 2>/dev/null
n=$(wc -c < "$tmp/many.html")
if [ "$n" -ge $max ] || ! python3 tests/html_check.py "$tmp/many.html"; then
    failed "many-flows: page of $n bytes (limit $max) or not valid"
else
    pass=$((pass + 1))
fi
if [ -x "$gen" ]; then
    if "$gen" --bench captures/pki "$tmp/fleet.pcap" 2 2000 > /dev/null 2>&1; then
        # shellcheck disable=SC2086
        "$bin" -f html $ca "$tmp/fleet.pcap" > "$tmp/fleet.html" 2>/dev/null
        n=$(wc -c < "$tmp/fleet.html")
        if [ "$n" -ge $max ]; then
            failed "2000 connections: page of $n bytes (limit $max)"
        elif ! grep -q 'of 2000 TLS connections\|All 2000 TLS connections' "$tmp/fleet.html"; then
            failed "2000 connections: the verdict does not count 2000 connections"
        elif ! python3 tests/html_check.py "$tmp/fleet.html"; then
            failed "2000 connections: html_check"
        else
            pass=$((pass + 1))
        fi
        rm -f "$tmp/fleet.pcap"
    else
        failed "build/gen --bench could not make the 2000-connection capture"
    fi
else
    failed "$gen missing (make $gen)"
fi

echo "golden HTML pages: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
