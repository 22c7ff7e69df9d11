#!/bin/sh
# bench.sh - `make bench`: tlsinspect against a bare libpcap pass over a large capture.
#
#   sh tests/bench/bench.sh BUILD GB [RUNS]      (make bench [BENCH_GB=4] [BENCH_RUNS=9])
#
# 1. The capture: BUILD/bench/bench-<GB>g.pcap, made once by the fixture
#    generator (`gen --bench`, tests/gen/bench.c) and kept (BUILD is not in
#    git); delete it to make a new one.  GB GiB shaped like an Expressway-C
#    tcpdump: thousands of handshakes on 8443/6972 (about 3% of the bytes in
#    the 1 GiB capture; a bigger capture has the same connections and more
#    bulk, so it measures capture size, not connection count), TLS
#    application data on the same flows, RTP-like UDP and other TCP.
# 2. RUNS times, alternating: BUILD/bench/pcap_pass (pcap_next_ex over the
#    file, touching every packet) and `tlsinspect -f json --cafile ...` on
#    the same file, the report written to BUILD/bench/report.json, in
#    turns (the bare pass first in odd runs, tlsinspect first in even ones).
#    Both read the file from the page cache: it is read through (untimed)
#    before every run: the benchmark VM was seen dropping cached pages of
#    it (about 60 a second), and a run that met them read them from disk.
#    The previous run's report is deleted before each run (untimed), so
#    every run writes a new file as a user's run does: truncating and
#    rewriting a file makes ext4 flush it when it is closed (auto_da_alloc),
#    which put about 4% on tlsinspect's time in the program's exit, a cost
#    of overwriting, not of the analysis.  Then sync (untimed, before both
#    programs' runs): otherwise the deleted report's journal commit and the
#    write-back of the one before ran during the next timed run.
# 3. Prints each run, the spread of the pairs (a warning when the bare pass
#    itself varied by more than 25%: the machine changed speed), then the
#    medians: MB/s (10^6 bytes/s of file), the
#    wall-clock time ratio tlsinspect / bare pass (and the CPU-time ratio,
#    user + sys, for information), and tlsinspect's peak RSS (getrusage
#    through BUILD/bench/runstat).  Targets (README "Performance"): median
#    wall-clock ratio at most 2.0, peak RSS at most 64 MiB.  Exit status 1
#    when one is missed.  Other work on the machine skews the times: a
#    warning says so when the load average exceeds half the cores.
#
# The bare pass gives libpcap the same 256 KiB page-aligned stdio buffer tlsinspect does
# (src/capture.c), so the ratio measures the analysis, not a buffer size.
set -eu

build=${1:-build}
gb=${2:-1}
runs=${3:-9}
dir=$build/bench
cap=$dir/bench-${gb}g.pcap
report=$dir/report.json
trust=captures/pki/expressway-trust.pem
max_ratio=2.0
max_rss_kib=65536

case "$gb" in ''|*[!0-9]*) echo "bench: BENCH_GB must be a whole number of GiB" >&2; exit 2 ;; esac
case "$runs" in ''|*[!0-9]*|0) echo "bench: BENCH_RUNS must be a positive number" >&2; exit 2 ;; esac
for f in "$build/gen" "$dir/pcap_pass" "$dir/runstat" ./tlsinspect; do
    [ -x "$f" ] || { echo "bench: $f is missing (run it through 'make bench')" >&2; exit 2; }
done

# ---- the capture --------------------------------------------------------------
if [ ! -f "$cap" ]; then
    need_kib=$((gb * 1024 * 1024 + 1024 * 1024))
    avail_kib=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
    if [ "${avail_kib:-0}" -lt "$need_kib" ]; then
        echo "bench: $dir has ${avail_kib} KiB free; the capture needs about ${need_kib} KiB" >&2
        exit 2
    fi
    echo "bench: generating $cap ($gb GiB, once; kept for later runs)"
    "$build/gen" --bench captures/pki "$cap" $((gb * 1024)) 2> "$cap.info.tmp" ||
        { cat "$cap.info.tmp" >&2; rm -f "$cap.info.tmp"; exit 1; }
    mv "$cap.info.tmp" "$cap.info"
fi
size=$(wc -c < "$cap" | tr -d ' ')

# ---- the machine ----------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
echo "machine: ${cpu:-unknown CPU}, $cores cores, ${mem:-? GiB} RAM, $(uname -sr)"
echo "capture: $cap, $size bytes"
[ -f "$cap.info" ] && sed -n 's/^gen: bench: [^:]*: /  /p; s/^  handshakes/  bytes: handshakes/p; /^ *[0-9][0-9]* x /p' "$cap.info"

# Into the page cache, so both programs measure parsing, not the disk.
cat "$cap" > /dev/null

# ---- the runs -------------------------------------------------------------------
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" -v c="$cores" 'BEGIN { exit !(c > 0 && l > c / 2) }'; then
    echo "bench: warning: load average $load on $cores cores: other work competes, times are unreliable"
fi
results=$dir/runs.txt
: > "$results"
stat_of() {   # runstat's line -> "wall cpu maxrss status"
    sed -n 's/^runstat: wall \([0-9.]*\) user \([0-9.]*\) sys \([0-9.]*\) maxrss_kib \([0-9]*\) status \([0-9]*\)$/\1 \2 \3 \4 \5/p' "$1" |
        awk '{ printf "%s %.6f %s %s\n", $1, $2 + $3, $4, $5 }'
}
# Before each run, sync: the previous run's 94 MB report was otherwise being
# written back (and its deletion committed to the journal) during the next
# timed run, which moved tlsinspect's own report write between 0.03 and
# 0.2 s -- the disk's schedule, not the analysis.  Both programs start clean.
run_bare() {
    sync
    cat "$cap" > /dev/null
    "$dir/runstat" /dev/null "$dir/pcap_pass" "$cap" 2> "$dir/bare.err" || {
        cat "$dir/bare.err" >&2; exit 1; }
}
run_ti() {
    rc=0
    rm -f "$report"
    sync
    cat "$cap" > /dev/null
    "$dir/runstat" "$report" ./tlsinspect -f json --cafile "$trust" "$cap" 2> "$dir/ti.err" || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "bench: tlsinspect failed (exit $rc):" >&2; cat "$dir/ti.err" >&2; exit 1
    fi
}
i=1
while [ "$i" -le "$runs" ]; do
    # Which program goes first alternates, so neither always runs in the
    # other's wake (its report's page cache, the CPU's state).
    if [ $((i % 2)) -eq 1 ]; then run_bare; run_ti; else run_ti; run_bare; fi
    bare=$(stat_of "$dir/bare.err")
    ti=$(stat_of "$dir/ti.err")
    # shellcheck disable=SC2086
    set -- $bare $ti
    echo "$1 $2 $5 $6 $7" >> "$results"     # bare wall, bare cpu, wall, cpu, rss
    awk -v n="$i" -v s="$size" -v b="$1" -v bc="$2" -v t="$5" -v tc="$6" -v r="$7" 'BEGIN {
        printf "run %d: bare pass %.3f s (%.0f MB/s)  tlsinspect %.3f s (%.0f MB/s, peak RSS %.1f MiB)  ratio %.2f (cpu %.2f)\n",
               n, b, s / b / 1e6, t, s / t / 1e6, r / 1024, t / b, tc / bc }'
    i=$((i + 1))
done

conns=$(sed -n '/^  "summary"/,/^  }/s/^    "connections": \([0-9]*\).*/\1/p' "$report")
echo "report: $(wc -c < "$report" | tr -d ' ') bytes, $conns connections ($(sed -n '/"by_outcome"/,/}/p' "$report" |
      tr -d ' \n' | sed 's/"by_outcome"://; s/},*$/}/'))"

# ---- medians and targets ----------------------------------------------------------
awk -v s="$size" -v max_ratio="$max_ratio" -v max_rss="$max_rss_kib" '
    function median(v, n,    i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    { n++; bw[n] = $1; bc[n] = $2; tw[n] = $3; tc[n] = $4; if ($5 > rss) rss = $5
      r = $3 / $1; if (n == 1 || r < rmin) rmin = r; if (n == 1 || r > rmax) rmax = r
      if (n == 1 || $1 < bmin) bmin = $1; if (n == 1 || $1 > bmax) bmax = $1 }
    END {
        b = median(bw, n); t = median(tw, n); cb = median(bc, n); ct = median(tc, n)
        ratio = t / b
        printf "spread: pair ratios %.2f-%.2f; bare pass %.3f-%.3f s\n", rmin, rmax, bmin, bmax
        if (n > 1 && bmax > 1.25 * bmin)
            printf "bench: warning: the bare pass varied by %.0f%% between runs: the machine changed speed during the bench (a shared VM?); compare the medians of several benches\n", (bmax / bmin - 1) * 100
        printf "median of %d runs: bare pass %.3f s = %.0f MB/s; tlsinspect %.3f s = %.0f MB/s; ratio %.2f (cpu time %.3f / %.3f s: %.2f); peak RSS %.1f MiB\n",
               n, b, s / b / 1e6, t, s / t / 1e6, ratio, ct, cb, ct / cb, rss / 1024
        ok_t = ratio <= max_ratio; ok_m = rss <= max_rss
        printf "target time   (ratio <= %.1f):   %s\n", max_ratio, ok_t ? "met" : "NOT met"
        printf "target memory (RSS <= %d MiB): %s\n", max_rss / 1024, ok_m ? "met" : "NOT met"
        exit (ok_t && ok_m) ? 0 : 1
    }' "$results"
