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
# 2. RUNS times, alternating: the bare pass BUILD/bench/pcap_pass
#    (pcap_open_offline and pcap_next_ex over the file with libpcap's default
#    stdio, touching every packet: "a plain libpcap pass (pcap_next_ex with
#    default stdio)", the reference the issues' time targets name), the read
#    floor `pcap_pass --tuned` (the same with tlsinspect's own 256 KiB stdio
#    buffer: what reading the file costs tlsinspect), `tlsinspect -f json
#    --cafile ...` on the same file, the report written to
#    BUILD/bench/report.json, the same with -w, and `tlsinspect -q --cafile
#    ...` (the text report, which makes no input digest), in turns (the bare
#    pass first in odd runs, last in even ones).  Once, untimed by the runs:
#    `pcap_pass --sha256`, the SHA-256 of the capture the way tlsinspect's
#    second thread makes it for inputs[].sha256, the floor of a JSON report.
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
#    user + sys, for information), the same ratios against the read floor,
#    the text report's ratio, and tlsinspect's peak RSS (getrusage
#    through BUILD/bench/runstat).  Targets (issues 17 and 19,
#    docs/PERFORMANCE.md): median wall-clock ratio of the JSON report at
#    most 1.0, peak RSS at most 64 MiB.  Exit status 1
#    when one is missed.  Other work on the machine skews the times: a
#    warning says so when the load average exceeds half the cores.
#    -w: each run also times the same tlsinspect command writing the
#    handshake extract (BUILD/bench/extract.pcap, deleted before each run
#    like the report); prints the median time it adds to the analysis and
#    how many times smaller the extract is than the capture.  Targets
#    (issue 22): at most 10% added, at least 10 times smaller.
#
# 4. The dense workload (docs/PERFORMANCE.md "Dense workload"): a capture that
#    is nothing but handshakes, BUILD/bench/dense-<N>.pcap made once by
#    `gen --dense` (one real 6972 Unknown CA connection replicated N times
#    with distinct clients, about 1.8 KB a connection), N = 300,000 and
#    3,000,000 (5.4 GB of disk for the capture, 34 GB for its JSON report
#    while it is measured; BENCH_DENSE_3M=0 leaves it out).  BENCH_DENSE_RUNS (3) rounds of the bare
#    pass, the read floor and `tlsinspect -q --cafile ...` (the text report
#    to a file), then one `tlsinspect -f json -o FILE --cafile ...`.  Prints
#    the median time ratio text / bare pass (and the CPU-time ratio, and the
#    ratio to the read floor, for information) and the peak RSS of both.
#    Targets: ratio at most 3.0, peak RSS at most 128 MiB for each.
#    BENCH_DENSE_SIZES ("300000 3000000") replaces the default sizes.
#
# BENCH_WORKLOADS ("1g dense") picks the workloads.  The exit status is 1
# when any target is missed.
#
set -eu

build=${1:-build}
gb=${2:-1}
runs=${3:-9}
dir=$build/bench
cap=$dir/bench-${gb}g.pcap
report=$dir/report.json
extract=$dir/extract.pcap
max_extract_added=0.10
min_extract_shrink=10
trust=captures/pki/expressway-trust.pem
max_ratio=1.0
max_rss_kib=65536
workloads=${BENCH_WORKLOADS:-1g dense}
dense_runs=${BENCH_DENSE_RUNS:-3}
dense_max_ratio=3.0
dense_max_rss_kib=131072
status=0

case "$gb" in ''|*[!0-9]*) echo "bench: BENCH_GB must be a whole number of GiB" >&2; exit 2 ;; esac
case "$runs" in ''|*[!0-9]*|0) echo "bench: BENCH_RUNS must be a positive number" >&2; exit 2 ;; esac
case "$dense_runs" in ''|*[!0-9]*|0) echo "bench: BENCH_DENSE_RUNS must be a positive number" >&2; exit 2 ;; esac
has_workload() { case " $workloads " in *" $1 "*) return 0 ;; esac; return 1; }
for f in "$build/gen" "$dir/pcap_pass" "$dir/runstat" ./tlsinspect; do
    [ -x "$f" ] || { echo "bench: $f is missing (run it through 'make bench')" >&2; exit 2; }
done

# ---- the machine ----------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
echo "machine: ${cpu:-unknown CPU}, $cores cores, ${mem:-? GiB} RAM, $(uname -sr)"

load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" -v c="$cores" 'BEGIN { exit !(c > 0 && l > c / 2) }'; then
    echo "bench: warning: load average $load on $cores cores: other work competes, times are unreliable"
fi

stat_of() {   # runstat's line -> "wall cpu maxrss status"
    sed -n 's/^runstat: wall \([0-9.]*\) user \([0-9.]*\) sys \([0-9.]*\) maxrss_kib \([0-9]*\) status \([0-9]*\)$/\1 \2 \3 \4 \5/p' "$1" |
        awk '{ printf "%s %.6f %s %s\n", $1, $2 + $3, $4, $5 }'
}

if has_workload 1g; then
echo "== workload 1g: bulk traffic with handshakes =="
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
echo "capture: $cap, $size bytes"
[ -f "$cap.info" ] && sed -n 's/^gen: bench: [^:]*: /  /p; s/^  handshakes/  bytes: handshakes/p; /^ *[0-9][0-9]* x /p' "$cap.info"

# Into the page cache, so both programs measure parsing, not the disk.
cat "$cap" > /dev/null

# ---- the runs -------------------------------------------------------------------
results=$dir/runs.txt
: > "$results"
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
run_floor() {
    sync
    cat "$cap" > /dev/null
    "$dir/runstat" /dev/null "$dir/pcap_pass" --tuned "$cap" 2> "$dir/floor.err" || {
        cat "$dir/floor.err" >&2; exit 1; }
}
run_tiq() {
    rc=0
    rm -f "$dir/report.txt"
    sync
    cat "$cap" > /dev/null
    "$dir/runstat" "$dir/report.txt" ./tlsinspect -q --cafile "$trust" "$cap" 2> "$dir/tiq.err" || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "bench: tlsinspect -q failed (exit $rc):" >&2; cat "$dir/tiq.err" >&2; exit 1
    fi
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
run_tiw() {
    rc=0
    rm -f "$report" "$extract"
    sync
    cat "$cap" > /dev/null
    "$dir/runstat" "$report" ./tlsinspect -f json --cafile "$trust" -w "$extract" "$cap" 2> "$dir/tiw.err" || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "bench: tlsinspect -w failed (exit $rc):" >&2; cat "$dir/tiw.err" >&2; exit 1
    fi
}
i=1
while [ "$i" -le "$runs" ]; do
    # Which program goes first alternates, so neither always runs in the
    # other's wake (its report's page cache, the CPU's state); -w runs right
    # after the plain analysis or right before it, in turns.
    if [ $((i % 2)) -eq 1 ]; then run_bare; run_floor; run_ti; run_tiw; run_tiq
    else run_tiq; run_tiw; run_ti; run_floor; run_bare; fi
    bare=$(stat_of "$dir/bare.err")
    ti=$(stat_of "$dir/ti.err")
    tiw=$(stat_of "$dir/tiw.err")
    floor=$(stat_of "$dir/floor.err")
    tiq=$(stat_of "$dir/tiq.err")
    # shellcheck disable=SC2086
    set -- $bare $ti $tiw $floor $tiq
    # bare wall, bare cpu, wall, cpu, rss, -w wall, floor wall, -q wall
    echo "$1 $2 $5 $6 $7 $9 ${13} ${17}" >> "$results"
    awk -v n="$i" -v s="$size" -v b="$1" -v bc="$2" -v t="$5" -v tc="$6" -v r="$7" -v w="$9" \
        -v f="${13}" -v q="${17}" 'BEGIN {
        printf "run %d: bare pass %.3f s (%.0f MB/s), read floor %.3f s  tlsinspect %.3f s (%.0f MB/s, peak RSS %.1f MiB)  ratio %.2f (cpu %.2f)  with -w %.3f s (%+.1f%%)  -q %.3f s (ratio %.2f)\n",
               n, b, s / b / 1e6, f, t, s / t / 1e6, r / 1024, t / b, tc / bc, w, (w / t - 1) * 100, q, q / b }'
    i=$((i + 1))
done
sync
cat "$cap" > /dev/null
"$dir/runstat" /dev/null "$dir/pcap_pass" --sha256 "$cap" 2> "$dir/sha.err" > /dev/null || {
    cat "$dir/sha.err" >&2; exit 1; }
# shellcheck disable=SC2046
set -- $(stat_of "$dir/sha.err")
sha_wall=$1

conns=$(sed -n '/^  "summary"/,/^  }/s/^    "connections": \([0-9]*\).*/\1/p' "$report")
echo "report: $(wc -c < "$report" | tr -d ' ') bytes, $conns connections ($(sed -n '/"by_outcome"/,/}/p' "$report" |
      tr -d ' \n' | sed 's/"by_outcome"://; s/},*$/}/'))"

# ---- medians and targets ----------------------------------------------------------
xsize=$(wc -c < "$extract" | tr -d ' ')
awk -v s="$size" -v max_ratio="$max_ratio" -v max_rss="$max_rss_kib" -v xs="$xsize" -v sha="$sha_wall" \
    -v max_added="$max_extract_added" -v min_shrink="$min_extract_shrink" '
    function median(v, n,    i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    { n++; bw[n] = $1; bc[n] = $2; tw[n] = $3; tc[n] = $4; if ($5 > rss) rss = $5; ww[n] = $6; fw[n] = $7; qw[n] = $8
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
        f = median(fw, n); q = median(qw, n)
        printf "read floor (tlsinspect'"'"'s own stdio buffer) %.3f s: JSON %.2fx of it; text report (-q, no digest) %.3f s: ratio %.2f, %.2fx the read floor\n",
               f, t / f, q, q / b, q / f
        printf "SHA-256 of the capture alone (inputs[].sha256, one core): %.3f s = ratio %.2f: no report that carries the digest is faster\n",
               sha, sha / b
        w = median(ww, n); added = w / t - 1; shrink = xs > 0 ? s / xs : 0
        printf "-w: median %.3f s, %+.1f%% on the analysis; extract %d bytes, %.1f times smaller than the capture\n",
               w, added * 100, xs, shrink
        ok_t = ratio <= max_ratio; ok_m = rss <= max_rss
        ok_w = added <= max_added; ok_x = shrink >= min_shrink
        printf "target time   (ratio <= %.1f):   %s\n", max_ratio, ok_t ? "met" : "NOT met"
        printf "target memory (RSS <= %d MiB): %s\n", max_rss / 1024, ok_m ? "met" : "NOT met"
        printf "target -w time (<= +%.0f%%):      %s\n", max_added * 100, ok_w ? "met" : "NOT met"
        printf "target -w size (>= %dx smaller): %s\n", min_shrink, ok_x ? "met" : "NOT met"
        exit (ok_t && ok_m && ok_w && ok_x) ? 0 : 1
    }' "$results" || status=1
fi

# ---- the dense workload -------------------------------------------------------------
# dense N: the capture of N replicated handshakes, the text runs paired with
# the bare pass, one JSON run; prints the ratio and both peak RSS figures.
dense() {
    n=$1
    dcap=$dir/dense-$n.pcap
    dtext=$dir/dense-report.txt
    djson=$dir/dense-report.json
    echo "== workload dense: $n replicated handshakes =="
    if [ ! -f "$dcap" ]; then
        need_kib=$((n * 2 + 1024 * 1024))            # about 1.8 KB a connection
        avail_kib=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
        if [ "${avail_kib:-0}" -lt "$need_kib" ]; then
            echo "bench: $dir has ${avail_kib} KiB free; the dense capture needs about ${need_kib} KiB" >&2
            return 2
        fi
        echo "bench: generating $dcap (once; kept for later runs)"
        "$build/gen" --dense captures/pki "$dcap" "$n" 2> "$dcap.info.tmp" ||
            { cat "$dcap.info.tmp" >&2; rm -f "$dcap.info.tmp"; return 2; }
        mv "$dcap.info.tmp" "$dcap.info"
    fi
    dsize=$(wc -c < "$dcap" | tr -d ' ')
    echo "capture: $dcap, $dsize bytes"
    [ -f "$dcap.info" ] && sed -n 's/^gen: dense: [^:]*: /  /p' "$dcap.info"
    dres=$dir/dense-runs.txt
    : > "$dres"
    i=1
    while [ "$i" -le "$dense_runs" ]; do
        for who in $( [ $((i % 2)) -eq 1 ] && echo "bare floor ti" || echo "ti floor bare"); do
            rm -f "$dtext"
            sync
            cat "$dcap" > /dev/null
            if [ "$who" = bare ]; then
                "$dir/runstat" /dev/null "$dir/pcap_pass" "$dcap" 2> "$dir/bare.err" || {
                    cat "$dir/bare.err" >&2; return 2; }
            elif [ "$who" = floor ]; then
                "$dir/runstat" /dev/null "$dir/pcap_pass" --tuned "$dcap" 2> "$dir/floor.err" || {
                    cat "$dir/floor.err" >&2; return 2; }
            else
                rc=0
                "$dir/runstat" "$dtext" ./tlsinspect -q --cafile "$trust" "$dcap" 2> "$dir/ti.err" || rc=$?
                [ "$rc" -le 1 ] || { echo "bench: tlsinspect failed (exit $rc):" >&2; cat "$dir/ti.err" >&2; return 2; }
            fi
        done
        bare=$(stat_of "$dir/bare.err")
        ti=$(stat_of "$dir/ti.err")
        floor=$(stat_of "$dir/floor.err")
        # shellcheck disable=SC2086
        set -- $bare $ti $floor
        echo "$1 $5 $7 $2 $6 $9" >> "$dres"     # bare wall, text wall, text rss, bare cpu, text cpu, floor wall
        awk -v n="$i" -v b="$1" -v t="$5" -v r="$7" -v bc="$2" -v tc="$6" -v f="$9" 'BEGIN {
            printf "run %d: bare pass %.3f s, read floor %.3f s  tlsinspect -q %.3f s (peak RSS %.1f MiB)  ratio %.2f (cpu %.2f, %.2fx the read floor)\n", n, b, f, t, r / 1024, t / b, tc / bc, t / f }'
        i=$((i + 1))
    done
    rm -f "$djson"
    need_kib=$((n * 12))                              # about 11.4 KB of JSON a connection
    avail_kib=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
    if [ "${avail_kib:-0}" -lt "$need_kib" ]; then
        echo "bench: $dir has ${avail_kib} KiB free; the dense JSON report needs about ${need_kib} KiB (BENCH_DENSE_3M=0 leaves 3,000,000 out)" >&2
        return 1
    fi
    sync
    cat "$dcap" > /dev/null
    rc=0
    "$dir/runstat" /dev/null ./tlsinspect -f json -o "$djson" --cafile "$trust" "$dcap" 2> "$dir/ti.err" || rc=$?
    [ "$rc" -le 1 ] || { echo "bench: tlsinspect -f json failed (exit $rc):" >&2; cat "$dir/ti.err" >&2; return 2; }
    # shellcheck disable=SC2046
    set -- $(stat_of "$dir/ti.err")
    jwall=$1 jrss=$3
    echo "report: text $(wc -c < "$dtext" | tr -d ' ') bytes, JSON $(wc -c < "$djson" | tr -d ' ') bytes; $(tail -n 1 "$dtext")"
    rm -f "$djson"
    awk -v n="$n" -v jw="$jwall" -v jr="$jrss" -v max_ratio="$dense_max_ratio" -v max_rss="$dense_max_rss_kib" '
        function median(v, k,    i, j, t) {
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
        }
        { k++; bw[k] = $1; tw[k] = $2; if ($3 > rss) rss = $3; bc[k] = $4; tc[k] = $5; fw[k] = $6 }
        END {
            b = median(bw, k); t = median(tw, k); ratio = t / b
            printf "dense %d, median of %d runs: bare pass %.3f s; tlsinspect -q %.3f s, ratio %.2f (cpu time %.3f / %.3f s: %.2f), peak RSS %.1f MiB (%.0f bytes a connection); -f json -o FILE %.3f s, peak RSS %.1f MiB\n",
                   n, k, b, t, ratio, median(tc, k), median(bc, k), median(tc, k) / median(bc, k), rss / 1024, rss * 1024 / n, jw, jr / 1024
            printf "dense %d: read floor (tlsinspect'"'"'s own stdio buffer) %.3f s: text %.2fx of it, %.0f ns a connection above it\n",
                   n, median(fw, k), t / median(fw, k), (t - median(fw, k)) * 1e9 / n
            ok_t = ratio <= max_ratio; ok_m = rss <= max_rss; ok_j = jr <= max_rss
            printf "target dense %d time        (text ratio <= %.1f): %s\n", n, max_ratio, ok_t ? "met" : "NOT met"
            printf "target dense %d memory text (RSS <= %d MiB):  %s\n", n, max_rss / 1024, ok_m ? "met" : "NOT met"
            printf "target dense %d memory JSON (RSS <= %d MiB):  %s\n", n, max_rss / 1024, ok_j ? "met" : "NOT met"
            exit (ok_t && ok_m && ok_j) ? 0 : 1
        }' "$dres"
}
if has_workload dense; then
    for n in ${BENCH_DENSE_SIZES:-300000 $( [ "${BENCH_DENSE_3M:-1}" = 0 ] || echo 3000000 )}; do
        case "$n" in ''|*[!0-9]*|0) echo "bench: BENCH_DENSE_SIZES: '$n' is not a connection count" >&2; exit 2 ;; esac
        drc=0                       # not rc: dense() sets rc, a global in sh
        dense "$n" || drc=$?
        [ "$drc" -le 1 ] || exit "$drc"
        [ "$drc" -eq 0 ] || status=1
    done
fi
exit "$status"
