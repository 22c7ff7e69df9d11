#!/bin/sh
# make_captures.sh - regenerate the committed fixtures in captures/ (`make captures`).
#
#   sh tests/gen/make_captures.sh build/gen [OUTDIR]
#
# The PKI in OUTDIR/pki is reused when present (delete it to mint a new one).
# The output is reproducible (OpenSSL's RAND is seeded per fixture, see
# seedrand.c); the committed fixtures predate that, so regenerating them
# changes their bytes: afterwards review and refresh the golden reports with
# `make update-golden`.  When tshark is installed, one
# line per capture shows what it decodes (handshake messages, alerts).
set -eu

GEN=${1:-build/gen}
OUT=${2:-captures}

"$GEN" "$OUT"

if command -v tshark >/dev/null 2>&1; then
    echo "tshark view: selected suites and fatal alerts (count)"
    for f in "$OUT"/*.pcap "$OUT"/*.pcapng "$OUT"/*.gz; do
        [ -f "$f" ] || continue
        keys=""
        k="${f%.pcap}.keys"
        [ -f "$k" ] && keys="-o tls.keylog_file:$k"
        # shellcheck disable=SC2086
        line=$(tshark -n -r "$f" $keys -d tcp.port==6972,tls -d tcp.port==8443,tls \
                 -d tcp.port==5061,tls -Y 'tls.handshake.type==2 or tls.alert_message.level==2' \
                 -T fields -e tls.handshake.ciphersuite -e tls.alert_message.desc 2>/dev/null |
               awk -F '\t' '$1 != "" { s[$1]++ } $2 != "" { a[$2]++ }
                   END { printf "suites:"; for (k in s) printf " %s(%d)", k, s[k];
                         printf "  alerts:"; for (k in a) printf " %s(%d)", k, a[k] }')
        printf '  %-28s %s\n' "$(basename "$f")" "$line"
    done
fi
echo "fixtures written to $OUT; now run: make update-golden"
