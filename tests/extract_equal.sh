#!/bin/sh
# extract_equal.sh - `-w` keeps what the analysis needs: for every fixture in
# captures/ (its .args; NAME-00 with NAME-01 read together, as golden.sh
# does), the JSON report of the extract equals the report of the original,
# except what the extract is allowed to change: "inputs" (file, packets,
# bytes), the capture's first_ts/last_ts, and CAPTURE_TRUNCATED (a fact
# about the input file: the extract of a cut capture is a whole file).  Both as pcap and as pcapng;
# the pcapng extract must be marked ("extract": true), and must be smaller.
# Also captures/cases/*.case runs with their own options (the --ports all,
# BPF and limit variants).  Needs jq (tests/deps.sh).
#
#   sh tests/extract_equal.sh ./tlsinspect
set -u
bin=$1
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# What may differ: input metadata and the capture's span; "ssh_tunnels"
# (2222 carries SSH, not TLS handshakes, so the extract has none of it).
norm='del(.inputs, .first_ts, .last_ts, .ssh_tunnels)
      | .findings |= map(select(.id != "CAPTURE_TRUNCATED"))
      | .summary.findings |= del(.CAPTURE_TRUNCATED)'

check() {   # LABEL FILES ARGS
    label=$1; files=$2; args=$3
    # shellcheck disable=SC2086
    "$bin" -f json $args $files > "$tmp/orig.json" 2> "$tmp/err"
    [ $? -le 1 ] || { echo "FAIL $label: original: $(cat "$tmp/err")"; fail=$((fail + 1)); return; }
    for ext in pcap pcapng; do
        out=$tmp/x.$ext
        rm -f "$out"
        # shellcheck disable=SC2086
        "$bin" -f json -w "$out" $args $files > "$tmp/w.json" 2> "$tmp/err"
        [ $? -le 1 ] || { echo "FAIL $label ($ext): -w: $(cat "$tmp/err")"; fail=$((fail + 1)); continue; }
        # Writing the extract does not change the report being written.
        if ! cmp -s "$tmp/orig.json" "$tmp/w.json"; then
            echo "FAIL $label ($ext): the report with -w differs from the one without"
            fail=$((fail + 1)); continue
        fi
        # The extract keeps the ports' selection: no --ports/BPF needed
        # again, but the other options (trust, keylog, names) apply.
        # shellcheck disable=SC2086
        "$bin" -f json $args "$out" > "$tmp/x.json" 2> "$tmp/err"
        [ $? -le 1 ] || { echo "FAIL $label ($ext): re-analysis: $(cat "$tmp/err")"; fail=$((fail + 1)); continue; }
        jq -S "$norm" "$tmp/orig.json" > "$tmp/a"
        jq -S "$norm" "$tmp/x.json" > "$tmp/b"
        if ! diff -u "$tmp/a" "$tmp/b" > "$tmp/diff"; then
            echo "FAIL $label ($ext): the extract's report differs:"; head -30 "$tmp/diff"
            fail=$((fail + 1)); continue
        fi
        mark=$(jq '[.inputs[] | .extract // false] | all' "$tmp/x.json")
        want=false; [ "$ext" = pcapng ] && want=true
        if [ "$mark" != "$want" ]; then
            echo "FAIL $label ($ext): inputs[].extract is $mark, want $want"; fail=$((fail + 1)); continue
        fi
        pass=$((pass + 1))
    done
}

for f in captures/*.pcap captures/*.pcapng captures/*.gz; do
    [ -f "$f" ] || continue
    case "$f" in *-01.pcap|*-01.pcapng) [ -f "${f%-01.*}-00.${f##*.}" ] && continue ;; esac
    files="$f"
    case "$f" in *-00.pcap|*-00.pcapng)
        next="${f%-00.*}-01.${f##*.}"; [ -f "$next" ] && files="$f $next" ;; esac
    args=""; [ -f "$f.args" ] && args=$(cat "$f.args")
    check "$f" "$files" "$args"
done
for c in captures/cases/*.case; do
    [ -f "$c" ] || continue
    files=$(sed -n 's/^files: *//p' "$c")
    args=$(sed -n 's/^args: *//p' "$c")
    # A BPF expression (after --) selects packets of the original only;
    # with --max-connections reached, which flows are evicted depends on
    # every packet's activity, and the extract drops most packets.
    case " $args " in *" -- "*|*" --max-connections "*) continue ;; esac
    check "$c" "$files" "$args"
done
echo "extract re-analysis: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
