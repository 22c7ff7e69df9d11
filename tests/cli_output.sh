#!/bin/sh
# cli_output.sh - -o refuses to write over any input (exit 2, the input left
# byte for byte as it was) and replaces an existing report only whole; the
# text report's first lines say what was and was not looked at.
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

# header: ports, trust store (a banner without one), key log; TLS on ports
# not inspected named with the -p that adds them; the verdict mix
has() { if grep -qF -- "$2" "$1"; then ok; else bad "$1 lacks: $2"; fi; }
"$bin" captures/many-flows.pcap > "$tmp/mf.txt"
has "$tmp/mf.txt" "inspected: TCP 8443 (cucm), 6972 (cucm); trust store: none; key log: none"
has "$tmp/mf.txt" "NO TRUST STORE: server chains are not checked"
has "$tmp/mf.txt" "TLS also on ports not inspected: 443 (2 ClientHellos), 5061 (4 ClientHellos, SIP TLS): add them with -p 8443,6972,443,5061 or -p all"
"$bin" -p 6972 --cafile captures/pki/expressway-trust.pem --keylog captures/tls13-keylog.keys \
    captures/traversal-7001.pcap captures/post-upgrade.pcap > "$tmp/tr.txt"
has "$tmp/tr.txt" "trust store: --cafile captures/pki/expressway-trust.pem; key log: captures/tls13-keylog.keys"
has "$tmp/tr.txt" "7001 (1 ClientHello, traversal zone), 8443 (4 ClientHellos, Expressway-C to CUCM/IM&P/Unity): add them with -p 6972,7001,8443 or -p all"
if grep -q "NO TRUST STORE" "$tmp/tr.txt"; then bad "banner with a trust store"; else ok; fi
"$bin" -p all --cafile captures/pki/expressway-trust.pem captures/many-flows.pcap > "$tmp/all.txt"
has "$tmp/all.txt" "16 self_signed, 2 ok"
if grep -q "ports not inspected" "$tmp/all.txt"; then bad "-p all has no port not inspected"; else ok; fi

# errors name the option at fault; a file that is not a key log is refused
"$bin" --keylog "$bin" captures/tls13-keylog.pcap > /dev/null 2> "$tmp/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "^tlsinspect: --keylog .*: not an NSS key log" "$tmp/err"; then ok
else bad "--keylog binary: exit $rc: $(cat "$tmp/err")"; fi
"$bin" --cafile "$tmp/none.pem" captures/post-upgrade.pcap > /dev/null 2> "$tmp/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "^tlsinspect: --cafile $tmp/none.pem: No such file" "$tmp/err"; then ok
else bad "--cafile missing: exit $rc: $(cat "$tmp/err")"; fi

# --at as Expressway logs write times: fractional seconds, +hh:mm offsets
at_time() {
    "$bin" -f json --at "$1" --cafile captures/pki/expressway-trust.pem captures/rsa-ok-8443.pcap |
        sed -n 's/^ *"time": "\(.*\)",$/\1/p' | head -1
}
for spec in "2026-03-10T18:55:25.910+02:00=2026-03-10T16:55:25Z" "2026-03-10T11:55:25-05:00=2026-03-10T16:55:25Z" \
            "2026-03-10T16:55:25Z=2026-03-10T16:55:25Z" "2026-03-10T17:55:25.5+0100=2026-03-10T16:55:25Z"; do
    got=$(at_time "${spec%%=*}")
    if [ "$got" = "${spec#*=}" ]; then ok; else bad "--at ${spec%%=*}: $got, want ${spec#*=}"; fi
done
"$bin" --at 2026-03-10T16:55:25+2 captures/rsa-ok-8443.pcap > /dev/null 2>&1
if [ $? -eq 2 ]; then ok; else bad "--at with a bad offset accepted"; fi
# --name for an address no connection went to: a warning
"$bin" --name 10.1.1.1=x captures/rsa-ok-8443.pcap > "$tmp/nm.txt"
has "$tmp/nm.txt" "--name 10.1.1.1=x: no connection to that address in the capture"
# TLS 1.3 without keys: the key-log hint without -v
"$bin" captures/tls13-keylog.pcap > "$tmp/t13.txt"
has "$tmp/t13.txt" "1 TLS 1.3 connection hides the server certificate: capture with a key log"
# getopt's errors carry the program name, not argv[0]'s path
"$bin" --bogus x 2> "$tmp/err"
has "$tmp/err" "tlsinspect: unknown option '--bogus'"
"$bin" --cafile 2> "$tmp/err"
has "$tmp/err" "tlsinspect: option '--cafile' needs an argument"
if grep -q "^\./\|^/" "$tmp/err"; then bad "a path as program name"; else ok; fi

# diff: a saved report with values the tool never writes is refused, naming them
"$bin" -f json --cafile captures/pki/expressway-trust.pem captures/pre-upgrade.pcap > "$tmp/pre.json"
sed 's/"ip": "10.48.36.215"/"ip": "10.48.36.999"/' "$tmp/pre.json" > "$tmp/bad-ip.json"
sed '0,/"outcome": "complete"/s//"outcome": "great"/' "$tmp/pre.json" > "$tmp/bad-oc.json"
for spec in "bad-ip:server ip '10.48.36.999' is not an IP address" "bad-oc:unknown outcome 'great'"; do
    "$bin" diff "$tmp/${spec%%:*}.json" captures/post-upgrade.pcap > /dev/null 2> "$tmp/err"; rc=$?
    if [ $rc -eq 2 ] && grep -qF "${spec#*:}" "$tmp/err"; then ok; else bad "diff ${spec%%:*}: exit $rc: $(cat "$tmp/err")"; fi
done
"$bin" diff --cafile captures/pki/expressway-trust.pem "$tmp/pre.json" captures/post-upgrade.pcap > /dev/null 2>&1
if [ $? -eq 1 ]; then ok; else bad "diff of a valid saved report"; fi

# alert arrows point the way the header's "client -> server" reads
"$bin" $(cat captures/field-case-6972.pcap.args) captures/field-case-6972.pcap > "$tmp/fc.txt"
has "$tmp/fc.txt" "  Alert ->      fatal unknown_ca (48) from client"
"$bin" $(cat captures/mtls-client-rejected.pcap.args) captures/mtls-client-rejected.pcap > "$tmp/mt.txt"
has "$tmp/mt.txt" "  Alert <-      fatal unknown_ca (48) from server"

# reports record how they were made: SHA-256 values are sha256sum's
sha() { sha256sum "$1" | cut -d' ' -f1; }
# the hash of an input in a JSON report ($1), input number $2 (1-based)
jsha() { grep -o '"sha256": [^,]*, "truncated"' "$1" | sed -n "${2}p" | cut -d'"' -f4; }
same() { if [ "$2" = "$3" ]; then ok; else bad "$1: '$2', want '$3'"; fi; }
gzip -c captures/field-case-6972.pcap > "$tmp/fc.pcap.gz"; printf 'trailing junk' >> "$tmp/fc.pcap.gz"
"$bin" -f json $(cat captures/tls13-keylog.pcap.args) --name 10.0.0.9=x.example --name 10.0.0.8=y \
    --at 2026-03-10T16:55:25Z captures/tls13-keylog.pcap captures/cut-mid-packet.pcap "$tmp/fc.pcap.gz" \
    > "$tmp/o.json" 2>/dev/null
same "input sha256" "$(jsha "$tmp/o.json" 1)" "$(sha captures/tls13-keylog.pcap)"
same "truncated input sha256" "$(jsha "$tmp/o.json" 2)" "$(sha captures/cut-mid-packet.pcap)"
same "gzip input sha256" "$(jsha "$tmp/o.json" 3)" "$(sha "$tmp/fc.pcap.gz")"
has "$tmp/o.json" "\"cafile\": {\"path\": \"captures/pki/expressway-trust.pem\", \"sha256\": \"$(sha captures/pki/expressway-trust.pem)\", \"count\": 1}"
has "$tmp/o.json" "\"keylog\": {\"path\": \"captures/tls13-keylog.keys\", \"sha256\": \"$(sha captures/tls13-keylog.keys)\", \"count\": $(wc -l < captures/tls13-keylog.keys)}"
has "$tmp/o.json" '{"addr": "10.0.0.9", "name": "x.example"}'
has "$tmp/o.json" '"at": "2026-03-10T16:55:25Z",'
cat captures/field-case-6972.pcap | "$bin" -f json - > "$tmp/in.json"
same "stdin sha256" "$(jsha "$tmp/in.json" 1)" "$(sha captures/field-case-6972.pcap)"
# --capath: the hash of what sha256sum prints for its files in name order
mkdir "$tmp/ca"
cp captures/pki/expressway-trust.pem "$tmp/ca/b.pem"; cp captures/pki/edge-trust.pem "$tmp/ca/a.pem"
echo "not a certificate" > "$tmp/ca/c.txt"
"$bin" -f json --capath "$tmp/ca" captures/field-case-6972.pcap > "$tmp/cp.json" 2>/dev/null
want=$(cd "$tmp/ca" && LC_ALL=C ls | xargs sha256sum | sha256sum | cut -d' ' -f1)
has "$tmp/cp.json" "\"capath\": {\"path\": \"$tmp/ca\", \"sha256\": \"$want\", \"count\": 2, \"files\": 3}"

echo "cli output checks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
