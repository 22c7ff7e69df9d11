#!/bin/sh
# shared_smoke.sh - the third-party captures in ../shared/captures through the
# command line:
#   - every capture is read without a crash: tlsinspect -p all -f json must
#     exit 0 or 1, never 2 and never by a signal;
#   - every capture with a tshark expectation (captures/expected/NAME.json,
#     run with its key log when it names one) gives a JSON report that parses
#     and lists each connection tshark saw, the right way round, with the same
#     selected suite, server certificate digests and plaintext alerts
#     (tests/shared_check.c).
# When the shared captures are absent it skips loudly; under CI=true that is
# a failure, as is finding no expectation to check.
#
#   sh tests/shared_smoke.sh ./tlsinspect build/tests/shared_check
set -u
bin=$1
check=${2:-build/tests/shared_check}
shared=${TLSINSPECT_SHARED:-../shared}
if [ ! -d "$shared/captures" ]; then
    if [ "${CI:-}" = true ]; then
        echo "FAIL: $shared/captures not found: under CI=true the shared-capture smoke test must run"
        exit 1
    fi
    echo "SKIPPED: $shared/captures not found: shared-capture smoke test not run"
    exit 0
fi
[ -x "$check" ] || { echo "FAIL: $check not built"; exit 1; }
pass=0; fail=0; checked=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for f in $(find "$shared/captures" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.gz' \) | sort); do
    rel=${f#"$shared/captures/"}
    exp="$shared/captures/expected/$(printf '%s' "$rel" | tr / _).json"
    keys=""
    if [ -f "$exp" ]; then
        k=$("$check" --keylog "$exp") || { echo "FAIL $rel: $exp unreadable"; fail=$((fail + 1)); continue; }
        [ -n "$k" ] && keys="--keylog $shared/captures/$k"
    fi
    # shellcheck disable=SC2086
    "$bin" -p all -f json $keys "$f" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    if [ $rc -gt 1 ]; then
        fail=$((fail + 1)); echo "FAIL $rel: exit $rc: $(head -3 "$tmp/err")"; continue
    fi
    if [ -f "$exp" ]; then
        checked=$((checked + 1))
        if ! "$check" "$exp" "$tmp/out" > "$tmp/check"; then
            fail=$((fail + 1)); echo "FAIL $rel: the report disagrees with tshark:"; cat "$tmp/check"
            continue
        fi
    fi
    pass=$((pass + 1))
done
echo "shared captures read: $pass passed, $fail failed; $checked reports checked against tshark"
if [ "$checked" -eq 0 ]; then
    echo "FAIL: no capture had a tshark expectation ($shared/captures/expected): nothing was checked"
    exit 1
fi
[ "$fail" -eq 0 ]
