#!/bin/sh
# bench_ir.sh - `make bench-ir`: instructions, not seconds, for the bare pass and tlsinspect.
#
#   sh tests/bench/bench_ir.sh BUILD [MB]      (make bench-ir [BENCH_IR_MB=100])
#
# The time ratio of `make bench` swings by 20-30% on a shared VM, more than
# most single optimisations gain.  Instruction counts do not: this runs the
# bare libpcap pass and `tlsinspect -f json --cafile ...` under callgrind
# (valgrind) over a smaller capture of the same shape (BUILD/bench/bench-<MB>m.pcap,
# made once by the fixture generator), prints both counts and their ratio,
# and tlsinspect's functions by inclusive count.  Callgrind counts user-space
# instructions only: the kernel's copy of the file (in both programs) and of
# the report, and cache misses, are not in it -- it is a guide for
# optimising, not the target, which `make bench` measures.
#
# Then the same for the dense workload (BUILD/bench/dense-<N>.pcap, `gen
# --dense`, N = BENCH_IR_DENSE, 20,000 by default, 0 to skip): the bare
# pass, `tlsinspect -q --cafile ...` and `-f json`, with instructions per
# connection -- the per-connection cost the 1 GB shape hides.
set -eu

build=${1:-build}
mb=${2:-100}
dense_n=${BENCH_IR_DENSE:-20000}
dir=$build/bench
cap=$dir/bench-${mb}m.pcap
trust=captures/pki/expressway-trust.pem

case "$mb" in ''|*[!0-9]*|0) echo "bench-ir: BENCH_IR_MB must be a positive number" >&2; exit 2 ;; esac
case "$dense_n" in ''|*[!0-9]*) echo "bench-ir: BENCH_IR_DENSE must be a number of connections" >&2; exit 2 ;; esac
command -v valgrind >/dev/null 2>&1 || {
    echo "bench-ir: valgrind is missing (Debian: apt-get install valgrind)" >&2; exit 2; }
for f in "$build/gen" "$dir/pcap_pass" ./tlsinspect; do
    [ -x "$f" ] || { echo "bench-ir: $f is missing (run it through 'make bench-ir')" >&2; exit 2; }
done
if [ ! -f "$cap" ]; then
    echo "bench-ir: generating $cap ($mb MiB, once; kept for later runs)"
    "$build/gen" --bench captures/pki "$cap" "$mb" 2> "$cap.info" || { cat "$cap.info" >&2; exit 1; }
fi

# ir PROGRAM ARGS... -> the total instruction count (and BUILD/bench/<name>.callgrind)
ir() {
    out=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" > /dev/null 2> "$out.log" || {
        rc=$?
        # tlsinspect exits 1 when it has findings: that is a run, not a failure
        [ $rc -eq 1 ] || { echo "bench-ir: $1 failed under valgrind (exit $rc):" >&2; tail -5 "$out.log" >&2; exit 1; }
    }
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$out.log"
}

echo "capture: $cap, $(wc -c < "$cap" | tr -d ' ') bytes"
bare=$(ir "$dir/bare.callgrind" "$dir/pcap_pass" "$cap")
ti=$(ir "$dir/tlsinspect.callgrind" ./tlsinspect -f json --cafile "$trust" -o /dev/null "$cap")
[ -n "$bare" ] && [ -n "$ti" ] || exit 1     # ir() said why
awk -v b="$bare" -v t="$ti" 'BEGIN {
    printf "instructions: bare pass %.1f M, tlsinspect %.1f M, ratio %.2f\n", b / 1e6, t / 1e6, t / b }'
echo "tlsinspect, inclusive instructions (callgrind_annotate $dir/tlsinspect.callgrind for more):"
callgrind_annotate --inclusive=yes "$dir/tlsinspect.callgrind" 2> /dev/null |
    sed -n 's/^ *\([0-9,]*\) (\([ 0-9.]*%\)) *\(.*\)$/\2 \3/p' |
    grep -E 'src/[a-z0-9_]+\.c:|pcap_next_ex' | grep -v '^ *[0-9.]*% /' | head -n 16 | sed 's/^/  /'

# ---- the dense workload ---------------------------------------------------------------
[ "$dense_n" -gt 0 ] || exit 0
dcap=$dir/dense-$dense_n.pcap
if [ ! -f "$dcap" ]; then
    echo "bench-ir: generating $dcap ($dense_n connections, once; kept for later runs)"
    "$build/gen" --dense captures/pki "$dcap" "$dense_n" 2> "$dcap.info" || { cat "$dcap.info" >&2; exit 1; }
fi
echo "dense capture: $dcap, $dense_n connections, $(wc -c < "$dcap" | tr -d ' ') bytes"
dbare=$(ir "$dir/dense-bare.callgrind" "$dir/pcap_pass" "$dcap")
dtext=$(ir "$dir/dense-text.callgrind" ./tlsinspect -q --cafile "$trust" "$dcap")
djson=$(ir "$dir/dense-json.callgrind" ./tlsinspect -f json --cafile "$trust" -o /dev/null "$dcap")
[ -n "$dbare" ] && [ -n "$dtext" ] && [ -n "$djson" ] || exit 1
awk -v n="$dense_n" -v b="$dbare" -v t="$dtext" -v j="$djson" 'BEGIN {
    printf "dense instructions: bare pass %.1f M (%.0f a connection); tlsinspect -q %.1f M (%.0f a connection, ratio %.2f); -f json %.1f M (%.0f a connection, ratio %.2f)\n",
           b / 1e6, b / n, t / 1e6, t / n, t / b, j / 1e6, j / n, j / b }'
