#!/bin/sh
# bundle.sh - diagnostic bundles and traffic_server logs, end to end.
#
#   sh tests/bundle.sh ./tlsinspect
#
# Builds bundles with tar and gzip from the real-handshake fixtures
# (captures/post-upgrade.pcap, rotated-00/01.pcap) and log lines in the
# Expressway's formats, and checks what tlsinspect makes of them: .tar.gz,
# .tar, a directory, a gzipped capture inside, two nodes, no capture (exit 2),
# a damaged archive (warning, exit 1), a 200 MB unrelated member (not loaded:
# peak RSS stays low), --log with a gzipped log, the JSON log fields.
set -u
BIN=${1:-./tlsinspect}
CAP=captures
TRUST="--cafile $CAP/pki/expressway-trust.pem"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() {   # check WHAT COMMAND...: the command must succeed
    what=$1; shift
    if "$@"; then ok; else bad "$what"; fi
}

# The connection lines of a JSON report (inputs differ by name).
conns() { sed -n '/^  "connections"/,/^  "inputs"/p' "$1"; }   # schema 2: inputs follow

# ---- log lines (node vcsc, +01:00; the capture is 2026-03-10 16:55:26Z..) ----
B64=$(printf 'steven.lab/https/10.48.36.215/8443' | base64 | tr -d '=' | tr '+/' '-_')
mklog() {   # mklog NODE FILE
    cat > "$2" <<EOF
2026-03-10T17:55:20.001+01:00 $1 syslogd[100]: restart
2026-03-10T17:55:26.016+01:00 $1 traffic_server[18242]: [ET_NET 0] WARNING: Core server certificate verification failed for (cucm.steven.lab). Action=Terminate Error=self signed certificate server=cucm.steven.lab(10.48.36.215) depth=0
2026-03-10T17:55:26.016+01:00 $1 traffic_server[18242]: [ET_NET 0] ERROR: SSL connection failed for 'cucm.steven.lab': error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed
2026-03-10T17:55:29.040+01:00 $1 traffic_server[3916]: UTCTime="2026-03-10 16:55:29,040" Module="network" Level="DEBUG":  Action="Received" HTTPMSG:
|GET http://vcs_control.steven.lab:8443/$B64/cucm-uds/user/emusk/devices?max=100 HTTP/1.1
2026-03-10T17:55:29.400+01:00 $1 traffic_server[3936]: [ET_NET 0] WARNING: Core server certificate verification failed for (imp.steven.lab). Action:Terminate Error=ssl signed certificate in certificate chain server=imp.steven.lab(10.48.36.216) depth=1
2026-03-10T17:55:32.000+01:00 $1 traffic_server[3936]: [ET_NET 2] WARNING: SNI (10.48.36.215) not in certificate. Action:Terminate
 server=10.48.36.215(10.48.36.215)
2026-03-10T17:55:33.000+01:00 $1 traffic_server[3936]: [ET_NET 0] WARNING: Core server certificate verification failed for (cucm2.steven.lab). Action=Terminate Error=self signed certificate server=cucm2.steven.lab(10.48.36.99) depth=0
EOF
}

# ---- 1. .tar.gz, .tar and a directory: the same connections as the plain files ----
mkdir -p "$T/b1/tcpdump" "$T/b1/logs"
cp $CAP/rotated-00.pcap $CAP/rotated-01.pcap "$T/b1/tcpdump/"
echo '<config/>' > "$T/b1/config.xml"
(cd "$T/b1" && tar cf ../b1.tar . && tar czf ../b1.tar.gz .)
"$BIN" -f json $TRUST $CAP/rotated-00.pcap $CAP/rotated-01.pcap > "$T/plain.json"
for input in "$T/b1.tar.gz" "$T/b1.tar" "$T/b1"; do
    "$BIN" -f json $TRUST "$input" > "$T/b.json"
    rc=$?
    check "$input: exit 1 (field-case findings), got $rc" [ $rc -eq 1 ]
    conns "$T/plain.json" > "$T/c1"; conns "$T/b.json" > "$T/c2"
    check "$input: connections differ from the plain rotated files" cmp -s "$T/c1" "$T/c2"
    check "$input: the comparison saw connections" [ "$(grep -c '"start_ts"' "$T/c2")" -eq 2 ]
    check "$input: both rotated members listed" [ "$(grep -c '"file": ".*rotated-0[01].pcap"' "$T/b.json")" -eq 2 ]
    check "$input: no logs section without logs" sh -c "! grep -q '\"logs\"' '$T/b.json'"
done

# ---- 1b. rotated captures, each gzipped, in one bundle: merged as the plain files ----
mkdir -p "$T/b1z"
gzip -c $CAP/rotated-01.pcap > "$T/b1z/r1"
gzip -c $CAP/rotated-00.pcap > "$T/b1z/r0"
(cd "$T/b1z" && tar czf ../b1z.tar.gz r1 r0)
"$BIN" -f json $TRUST "$T/b1z.tar.gz" > "$T/bz.json"
conns "$T/plain.json" > "$T/c1"; conns "$T/bz.json" > "$T/c2"
check "rotated gzipped members: connections as the plain files" cmp -s "$T/c1" "$T/c2"
check "rotated gzipped members: pcap+gzip twice" [ "$(grep -c '"format": "pcap+gzip"' "$T/bz.json")" -eq 2 ]

# ---- 1d. SHA-256 (sha256sum's): of each capture as read from the archive
# (inflated for a gzipped member), and of the archive file itself ----
sum() { sha256sum "$1" | cut -d' ' -f1; }
for input in "$T/b1.tar.gz" "$T/b1.tar" "$T/b1z.tar.gz"; do
    "$BIN" -f json $TRUST "$input" > "$T/h.json"
    for r in 00 01; do
        case $input in *b1z*) m=r${r#0} ;; *) m=./tcpdump/rotated-$r.pcap ;; esac
        check "$input: member $m sha256 and archive_sha256" grep -qF \
            "\"file\": \"$input:$m\", \"format\": \"pcap$(case $input in *b1z*) echo +gzip ;; esac)\", \"linktype\": \"EN10MB\", \"packets\": $( [ $r = 00 ] && echo 4 || echo 18), \"bytes\": $(wc -c < $CAP/rotated-$r.pcap), \"sha256\": \"$(sum $CAP/rotated-$r.pcap)\", \"archive_sha256\": \"$(sum "$input")\"" "$T/h.json"
    done
done

# ---- 1c. two captures over the 64 KiB prefix, rotated: the readers go on
# through archive handles (the second reuses the first's) ----
# many-flows.pcap (little-endian pcap) cut at the first record boundary past
# its middle: part 0 = header + records before, part 1 = header + the rest
MF=$CAP/many-flows.pcap
size=$(wc -c < $MF)
off=24
while [ "$off" -lt $((size / 2)) ]; do
    len=$(od -An -tu4 -j $((off + 8)) -N4 $MF | tr -d ' ')
    off=$((off + 16 + len))
done
mkdir -p "$T/b9"
head -c $off $MF > "$T/b9/p0"
{ head -c 24 $MF; tail -c +$((off + 1)) $MF; } > "$T/b9/p1"
check "split parts over 64 KiB" [ "$off" -gt 65536 -a $((size - off)) -gt 65536 ]
"$BIN" -f json --ports all $TRUST $MF > "$T/mf.json"
conns "$T/mf.json" > "$T/c1"
(cd "$T/b9" && tar czf ../b9.tar.gz p0 p1)
"$BIN" -f json --ports all $TRUST "$T/b9.tar.gz" > "$T/b9.json"
conns "$T/b9.json" > "$T/c2"
check "large rotated members: connections as the whole file" cmp -s "$T/c1" "$T/c2"
check "large rotated members: the comparison saw connections" [ "$(grep -c '"start_ts"' "$T/c2")" -gt 40 ]
gzip "$T/b9/p0" "$T/b9/p1"
(cd "$T/b9" && tar cf ../b9z.tar p0.gz p1.gz)
"$BIN" -f json --ports all $TRUST "$T/b9z.tar" > "$T/b9z.json"
conns "$T/b9z.json" > "$T/c2"
check "large rotated gzipped members: connections as the whole file" cmp -s "$T/c1" "$T/c2"

# ---- 2. a gzipped capture and a log inside; name_source log; log fields ----
mkdir -p "$T/b2/x"
gzip -c $CAP/post-upgrade.pcap > "$T/b2/x/dump-0001"      # no telling name: found by content
mklog vcsc "$T/b2/x/snapshot"
(cd "$T/b2" && tar czf ../vcsc.tar.gz .)
"$BIN" -f json $TRUST "$T/vcsc.tar.gz" > "$T/b2.json"
check "gz member read as pcap+gzip" grep -q '"format": "pcap+gzip"' "$T/b2.json"
check "logs section" grep -q '"logs": {' "$T/b2.json"
check "connect address decoded" grep -q '"domain": "steven.lab", "protocol": "https", "host": "10.48.36.215", "port": 8443' "$T/b2.json"
check "name_source log" grep -q '"name_source": "log"' "$T/b2.json"
check "log entry with node, file and line" grep -q '"node": "vcsc", "file": ".*vcsc.tar.gz:./x/snapshot", "line": 2' "$T/b2.json"
check "3 lines matched" grep -q '"matched": 3' "$T/b2.json"
check "mismatch: server never in the capture" grep -q 'LOG_CAPTURE_MISMATCH.*10.48.36.99.*no connection to that server at all' "$T/b2.json"
check "mismatch: clocks" grep -q 'nearest connection to that server is 2.710 s away' "$T/b2.json"
check "mismatch: verified in the capture" grep -q 'the capture shows a verified chain and a completed handshake' "$T/b2.json"
"$BIN" $TRUST "$T/vcsc.tar.gz" > "$T/b2.txt"
check "text: agreement stated" grep -q 'log: self signed certificate depth=0; capture: CN=cucm-EC.steven.lab self_signed (they agree)' "$T/b2.txt"
check "text: connect address in the header" grep -q 'connect address 10.48.36.215:8443 (https, domain steven.lab)' "$T/b2.txt"
# a wider window takes the 2.7 s line to a connection
"$BIN" -f json $TRUST --log-window 3 "$T/vcsc.tar.gz" > "$T/b2w.json"
check "--log-window 3 matches the 2.7 s line" grep -q '"matched": 4' "$T/b2w.json"

# ---- 3. --log, gzipped, with the plain capture: the same log facts ----
mklog vcsc "$T/ts.log"; gzip "$T/ts.log"
"$BIN" -f json $TRUST --log "$T/ts.log.gz" $CAP/post-upgrade.pcap > "$T/l.json"
check "--log .gz: 3 matched" grep -q '"matched": 3' "$T/l.json"
check "--log .gz: name_source log" grep -q '"name_source": "log"' "$T/l.json"
# Standard input is no bundle, but --log applies to it (and to -i).
"$BIN" -f json $TRUST --log "$T/ts.log.gz" - < $CAP/post-upgrade.pcap > "$T/ls.json"
check "--log with stdin: 3 matched" grep -q '"matched": 3' "$T/ls.json"
check "--log with stdin: name_source log" grep -q '"name_source": "log"' "$T/ls.json"
"$BIN" --log "$T/missing.log" $CAP/post-upgrade.pcap > /dev/null 2> "$T/err"
rc=$?
check "--log missing file: exit 2, got $rc" [ $rc -eq 2 ]

# ---- 4. two nodes: each log line keeps its node ----
mkdir -p "$T/b3"
cp $CAP/field-case-6972.pcap "$T/b3/cap"   # another node, its own connections
mklog vcsd "$T/b3/log"
(cd "$T/b3" && tar czf ../vcsd.tar.gz .)
"$BIN" -f json $TRUST "$T/vcsc.tar.gz" "$T/vcsd.tar.gz" > "$T/two.json"
check "two nodes: vcsc lines" grep -q '"node": "vcsc"' "$T/two.json"
check "two nodes: vcsd lines" grep -q '"node": "vcsd"' "$T/two.json"
check "two nodes: two log files" grep -q '"files": \[' "$T/two.json"
check "two nodes: each connection keeps its node" jq -e \
    '(.connections | length) > 0 and all(.connections[]; .node == "vcsc" or .node == "vcsd") and any(.connections[]; .node == "vcsd") and any(.connections[]; .node == "vcsc")' \
    "$T/two.json" > /dev/null
# each node's lines go to that node's connections only: vcsc 3, vcsd 2 (its
# capture has the 6972 failures only); vcsd's IM&P line: that node's capture
# has no connection to the server
check "two nodes: 5 matched" grep -q '"matched": 5' "$T/two.json"
check "two nodes: vcsd missed IM&P" grep -q 'imp.steven.lab(10.48.36.216) (certificate verification failed, node vcsd.*no connection to that server at all' "$T/two.json"

# ---- 5. no capture: a clear message, exit 2 ----
mkdir -p "$T/b4"; mklog vcsc "$T/b4/log"; echo x > "$T/b4/readme"
(cd "$T/b4" && tar czf ../nocap.tar.gz .)
"$BIN" "$T/nocap.tar.gz" > /dev/null 2> "$T/err"
rc=$?
check "no capture: exit 2, got $rc" [ $rc -eq 2 ]
check "no capture: message" grep -q 'no capture in this bundle' "$T/err"
"$BIN" "$T/b4" > /dev/null 2> "$T/err"
rc=$?
check "no capture (directory): exit 2, got $rc" [ $rc -eq 2 ]

# ---- 6. a damaged archive: what was read, a warning, exit 1 ----
# post-upgrade.pcap uncompressed in a .tar.gz, cut in the middle of it
mkdir -p "$T/b5"; mklog vcsc "$T/b5/a-log"; cp $CAP/post-upgrade.pcap "$T/b5/b-cap"
(cd "$T/b5" && tar cf ../dmg.tar a-log b-cap)
head -c 12000 "$T/dmg.tar" | gzip -c > "$T/dmg.tar.gz"
"$BIN" -f json --fail-on CAPTURE_TRUNCATED "$T/dmg.tar.gz" > "$T/d.json" 2> "$T/err"
rc=$?
check "damaged: exit 1, got $rc" [ $rc -eq 1 ]
check "damaged: warning on stderr" grep -q 'warning: .*dmg.tar.gz' "$T/err"
check "damaged: CAPTURE_TRUNCATED" grep -q '"id": "CAPTURE_TRUNCATED"' "$T/d.json"
check "damaged: connections before the damage" grep -q '"id": 1,' "$T/d.json"
# a corrupted gzip stream (bytes flipped in the middle)
cp "$T/vcsc.tar.gz" "$T/flip.tar.gz"
size=$(wc -c < "$T/flip.tar.gz")
printf 'XXXXXXXXXXXXXXXX' | dd of="$T/flip.tar.gz" bs=1 seek=$((size / 2)) conv=notrunc 2> /dev/null
"$BIN" "$T/flip.tar.gz" > /dev/null 2> "$T/err"
rc=$?
check "corrupt gzip: exit 1 or 2 with a message, got $rc" [ $rc -eq 1 -o $rc -eq 2 ]
check "corrupt gzip: says so" grep -q 'tlsinspect: ' "$T/err"

# ---- 7. a 200 MB unrelated member is skipped, not loaded ----
mkdir -p "$T/b6"
cp $CAP/rotated-00.pcap $CAP/rotated-01.pcap "$T/b6/"
head -c 200000000 /dev/zero > "$T/b6/big.bin"
(cd "$T/b6" && tar cf - rotated-00.pcap big.bin rotated-01.pcap | gzip -1 > ../big.tar.gz)
rm -f "$T/b6/big.bin"
/usr/bin/time -f '%M' -o "$T/rss" "$BIN" -f json "$T/big.tar.gz" > "$T/big.json"
rss=$(tail -1 "$T/rss")
check "200 MB member: peak RSS $rss KB under 64 MB" [ "$rss" -lt 65536 ]
conns "$T/big.json" > "$T/c2"
"$BIN" -f json $CAP/rotated-00.pcap $CAP/rotated-01.pcap > "$T/plain0.json"
conns "$T/plain0.json" > "$T/c1"
check "200 MB member: connections as without it" cmp -s "$T/c1" "$T/c2"

# ---- 8. pcapng inside, a nested archive (warned about, not read), .tgz ----
mkdir -p "$T/b7/in"
cp $CAP/pcapng.pcapng "$T/b7/a"
(cd "$T/b1" && tar czf "$T/b7/in/nested.tar.gz" .)
(cd "$T/b7" && tar czf ../b7.tgz .)
"$BIN" -f json "$T/b7.tgz" > "$T/b7.json"
check "pcapng member" grep -q '"format": "pcapng"' "$T/b7.json"
check "nested archive warned" grep -q 'an archive inside the bundle is not read' "$T/b7.json"
"$BIN" -f json $CAP/pcapng.pcapng > "$T/p7.json"
conns "$T/p7.json" > "$T/c1"; conns "$T/b7.json" > "$T/c2"
check "pcapng member: connections as the plain file" cmp -s "$T/c1" "$T/c2"

# ---- 9. hostile: random bytes, a symlink loop in a directory ----
head -c 4096 /dev/urandom > "$T/rand.tar.gz"
"$BIN" "$T/rand.tar.gz" > /dev/null 2> "$T/err"
rc=$?
check "random bytes: exit 2, got $rc" [ $rc -eq 2 ]
check "random bytes: a message" grep -q 'tlsinspect: ' "$T/err"
mkdir -p "$T/b8"; ln -s . "$T/b8/loop"; cp $CAP/rsa-ok-8443.pcap "$T/b8/"
"$BIN" "$T/b8" > /dev/null 2>&1
rc=$?
check "symlink loop in a directory: read, exit 0, got $rc" [ $rc -eq 0 ]

echo "bundle tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
