#!/bin/sh
# golden.sh - every fixture in captures/ must give exactly its golden JSON report.
#
#   sh tests/golden.sh ./tlsinspect            compare
#   sh tests/golden.sh ./tlsinspect --update   rewrite the *.expected.json files
#
# Options for a fixture come from captures/<file>.args (one line).  Rotated
# files NAME-00.EXT with NAME-01.EXT beside them are read together as one
# capture.  Findings a fixture must and must not produce are listed in
# captures/<file>.findings ("must: ID ..." / "not: ID ...", optionally
# "conns: N", the number of connections) and checked
# independently of the golden file, so a careless update cannot drop one.
# captures/cases/NAME.case runs a fixture again with other options: lines
# "files: ...", "args: ...", "must: ...", "not: ...", golden NAME.expected.json.
# tlsinspect must exit 0 or 1 (2 = it could not read the input).
set -u
bin=$1; update=${2:-}
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# run_case LABEL FILES ARGS FINDINGS-FILE GOLDEN
run_case() {
    label=$1; files=$2; args=$3; findings=$4; golden=$5
    # shellcheck disable=SC2086
    "$bin" -f json $args $files > "$tmp/out.json" 2> "$tmp/err"
    rc=$?
    if [ $rc -gt 1 ]; then
        echo "FAIL $label: exit $rc: $(cat "$tmp/err")"; fail=$((fail + 1)); return
    fi
    if [ -f "$findings" ]; then
        bad=""
        for id in $(sed -n 's/^must://p' "$findings"); do
            grep -q "\"id\": \"$id\"" "$tmp/out.json" || bad="$bad missing:$id"
        done
        for id in $(sed -n 's/^not://p' "$findings"); do
            grep -q "\"id\": \"$id\"" "$tmp/out.json" && bad="$bad unexpected:$id"
        done
        # "conns: N": the number of connections reported (a phantom or a
        # merged connection changes it whatever the golden file says)
        want=$(sed -n 's/^conns: *//p' "$findings")
        if [ -n "$want" ]; then
            got=$(grep -c '^      "id": [0-9]' "$tmp/out.json")
            [ "$got" = "$want" ] || bad="$bad connections:$got/$want"
        fi
        if [ -n "$bad" ]; then
            echo "FAIL $label: findings$bad"; fail=$((fail + 1)); return
        fi
    fi
    if [ "$update" = "--update" ]; then
        cp "$tmp/out.json" "$golden"; echo "updated $golden"; pass=$((pass + 1)); return
    fi
    if [ ! -f "$golden" ]; then
        echo "FAIL $label: no golden report $golden (make update-golden)"; fail=$((fail + 1)); return
    fi
    if diff -u "$golden" "$tmp/out.json" > "$tmp/diff"; then
        pass=$((pass + 1))
    else
        echo "FAIL $label: report differs from $golden:"; head -40 "$tmp/diff"; fail=$((fail + 1))
    fi
}

for f in captures/*.pcap captures/*.pcapng captures/*.gz; do
    [ -f "$f" ] || continue
    case "$f" in *-01.pcap|*-01.pcapng) [ -f "${f%-01.*}-00.${f##*.}" ] && continue ;; esac
    files="$f"
    case "$f" in *-00.pcap|*-00.pcapng)
        next="${f%-00.*}-01.${f##*.}"; [ -f "$next" ] && files="$f $next" ;; esac
    args=""; [ -f "$f.args" ] && args=$(cat "$f.args")
    run_case "$f" "$files" "$args" "$f.findings" "$f.expected.json"
done

for c in captures/cases/*.case; do
    [ -f "$c" ] || continue
    files=$(sed -n 's/^files: *//p' "$c")
    args=$(sed -n 's/^args: *//p' "$c")
    run_case "$c" "$files" "$args" "$c" "${c%.case}.expected.json"
done

echo "golden reports: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
