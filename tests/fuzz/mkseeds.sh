#!/bin/sh
# mkseeds.sh - seed corpora for the fuzzers from captures/ and, when present, ../shared/captures.
#
#   sh tests/fuzz/mkseeds.sh build-fuzz/mkseeds build-fuzz/seeds
set -u
bin=$1; out=$2
dirs=captures
[ -d ../shared/captures ] && dirs="$dirs ../shared/captures"
rm -rf "$out"
# shellcheck disable=SC2046
find -H $dirs -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.pcap.gz' \) \
    -print | sort | xargs "$bin" "$out"
# Certificates of the fixture PKI as DER.
for p in captures/pki/*.pem ../shared/captures/*/*.pem; do
    [ -f "$p" ] || continue
    case "$p" in *.key.pem) continue ;; esac
    openssl x509 -in "$p" -outform DER -out "$out/x509/pem-$(basename "$p" .pem).der" 2>/dev/null || true
done
for d in "$out"/*; do echo "seeds: $(basename "$d") $(ls "$d" | wc -l)"; done
