#!/bin/sh
# cli_output.sh - -o refuses to write over any input (exit 2, the input left
# byte for byte as it was) and replaces an existing report only whole.
set -u
bin=$1
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL cli_output: $*"; }

cp captures/post-upgrade.pcap "$tmp/c.pcap"
cp captures/pki/expressway-trust.pem "$tmp/trust.pem"
cp captures/tls13-keylog.keys "$tmp/k.keys"
cp captures/tls13-keylog.pcap "$tmp/t13.pcap"
ln "$tmp/c.pcap" "$tmp/hard.pcap"
mkdir "$tmp/cadir"; cp captures/pki/root-ca.pem "$tmp/cadir/root.pem"
sum() { cksum < "$1"; }

# refuse OUT ARGS...: exit 2, a message naming -o, and OUT unchanged
refuse() {
    out=$1; shift
    before=$(sum "$out")
    "$bin" -o "$out" "$@" > /dev/null 2> "$tmp/err"; rc=$?
    [ $rc -eq 2 ] || { bad "-o $out $*: exit $rc, want 2"; return; }
    grep -q "refusing to overwrite an input" "$tmp/err" || { bad "-o $out: message: $(cat "$tmp/err")"; return; }
    [ "$(sum "$out")" = "$before" ] || { bad "-o $out: the input changed"; return; }
    ok
}
refuse "$tmp/c.pcap" "$tmp/c.pcap"
refuse "$tmp/hard.pcap" "$tmp/c.pcap"
refuse "$tmp/trust.pem" --cafile "$tmp/trust.pem" "$tmp/c.pcap"
refuse "$tmp/trust.pem" --client-cafile "$tmp/trust.pem" "$tmp/c.pcap"
refuse "$tmp/cadir/root.pem" --capath "$tmp/cadir" "$tmp/c.pcap"
refuse "$tmp/k.keys" --keylog "$tmp/k.keys" "$tmp/t13.pcap"
refuse "$tmp/c.pcap" diff "$tmp/c.pcap" captures/pre-upgrade.pcap
# "diff" comes first on the command line
before=$(sum "$tmp/c.pcap")
"$bin" diff -o "$tmp/c.pcap" captures/pre-upgrade.pcap "$tmp/c.pcap" > /dev/null 2>&1; rc=$?
if [ $rc -eq 2 ] && [ "$(sum "$tmp/c.pcap")" = "$before" ]; then ok; else bad "diff -o onto AFTER: exit $rc"; fi

# a report is written whole; a failed run leaves the previous one alone
"$bin" -f json -o "$tmp/r.json" --cafile "$tmp/trust.pem" "$tmp/c.pcap"; rc=$?
if [ $rc -eq 1 ] && jq -e '.connections | length == 9' "$tmp/r.json" > /dev/null 2>&1; then ok
elif [ $rc -eq 1 ] && grep -q '"connections"' "$tmp/r.json"; then ok
else bad "-o r.json: exit $rc"; fi
before=$(sum "$tmp/r.json")
"$bin" -f json -o "$tmp/r.json" "$tmp/does-not-exist.pcap" 2> /dev/null; rc=$?
if [ $rc -eq 2 ] && [ "$(sum "$tmp/r.json")" = "$before" ]; then ok; else bad "failed run changed r.json (exit $rc)"; fi
if ls -a "$tmp" | grep -q '^\.tlsinspect-'; then bad "a temporary file was left behind"; else ok; fi

echo "cli output checks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
