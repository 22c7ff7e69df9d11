#!/bin/sh
# run.sh - run each libFuzzer harness in turn for a set time; fail on the first crash, hang or leak.
#
#   sh tests/fuzz/run.sh SECONDS [HARNESS...]       (make fuzz / make fuzz-ci)
#   FUZZ_RUNS=N sh tests/fuzz/run.sh 0 HARNESS      a long run: N executions, no time limit
#
# Corpus per harness: build-fuzz/corpus/<h>/ (new inputs land there), over the
# seeds from captures (build-fuzz/seeds/<h>/, tests/fuzz/mkseeds.sh) and the
# regression corpus tests/fuzz/regress/<h>/.  A finding is written to
# build-fuzz/artifacts/<h>/ (crash-*, timeout-*, leak-*, oom-*): minimise it
# with `build-fuzz/fuzz_<h> -minimize_crash=1 FILE`, fix the bug, and copy the
# input into tests/fuzz/regress/<h>/ so `make test` replays it for good.
set -u
secs=${1:-60}; shift
harnesses=${*:-"tls decode x509 pipeline tslog infer"}
out=build-fuzz
status=0
for h in $harnesses; do
    bin=$out/fuzz_$h
    [ -x "$bin" ] || { echo "fuzz: $bin missing (make fuzz-build)"; exit 2; }
    case $h in
        pipeline) maxlen=65536 ;;
        tls) maxlen=32768 ;;
        x509) maxlen=8192 ;;
        *) maxlen=4096 ;;
    esac
    mkdir -p "$out/corpus/$h" "$out/artifacts/$h" "$out/seeds/$h"
    if [ -n "${FUZZ_RUNS:-}" ]; then echo "fuzz: $h for $FUZZ_RUNS executions"; else echo "fuzz: $h for ${secs}s"; fi
    if [ -n "${FUZZ_RUNS:-}" ]; then limit="-runs=$FUZZ_RUNS"; else limit="-max_total_time=$secs"; fi
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" "$limit" -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$h/" \
        "$out/corpus/$h" "$out/seeds/$h" "tests/fuzz/regress/$h" > "$out/$h.log" 2>&1
    rc=$?
    grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units|^stat::peak_rss_mb' "$out/$h.log" | tr '\n' ' '
    echo
    if [ $rc -ne 0 ]; then
        echo "fuzz: $h FAILED (exit $rc); see $out/$h.log and $out/artifacts/$h/"
        grep -E 'ERROR|SUMMARY|invariant failed' "$out/$h.log" | head -5
        status=1
    fi
done
exit $status
