#!/bin/sh
# shared_smoke.sh - every third-party capture in ../shared/captures is read
# without a crash: tlsinspect (with --ports all, key log where one exists)
# must exit 0 or 1, never 2 and never by a signal.  Skips loudly when the
# shared captures are absent.
set -u
bin=$1
shared=${TLSINSPECT_SHARED:-../shared}
if [ ! -d "$shared/captures" ]; then
    echo "SKIPPED: $shared/captures not found: shared-capture smoke test not run"
    exit 0
fi
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for f in $(find "$shared/captures" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.gz' \) | sort); do
    "$bin" -p all -f json "$f" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    if [ $rc -le 1 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL $f: exit $rc: $(head -3 "$tmp/err")"
    fi
done
echo "shared captures read: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
