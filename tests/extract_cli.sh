#!/bin/sh
# extract_cli.sh - -w from the command line: a capture with bulk application
# data shrinks at least tenfold and reports the same; the regression-fixture
# workflow (-w case.pcap -f json -o case.json, later diff case.json case.pcap)
# exits 0; options that need -w, or that would overwrite an input, are
# usage errors (exit 2).  The bulk capture is made by the fixture generator's
# benchmark mode (real OpenSSL handshakes and records), 4 MiB.
#
#   sh tests/extract_cli.sh ./tlsinspect build/gen
set -u
bin=$1; gen=$2
trust="--cafile captures/pki/expressway-trust.pem"
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok()  { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
norm='del(.inputs, .first_ts, .last_ts)'
same() {   # A.json B.json: equal reports but for the input metadata
    jq -S "$norm" "$1" > "$tmp/na" && jq -S "$norm" "$2" > "$tmp/nb" && diff -u "$tmp/na" "$tmp/nb"
}

# ---- bulk application data is dropped --------------------------------------------
"$gen" --bench captures/pki "$tmp/bulk.pcap" 4 2> "$tmp/gen.err" || { cat "$tmp/gen.err"; exit 1; }
# shellcheck disable=SC2086
"$bin" -f json $trust -w "$tmp/bulk-x.pcap" "$tmp/bulk.pcap" > "$tmp/a.json"; rc=$?
[ $rc -le 1 ] || bad "bulk: -w exit $rc"
in=$(wc -c < "$tmp/bulk.pcap"); out=$(wc -c < "$tmp/bulk-x.pcap")
if [ "$out" -gt 0 ] && [ $((out * 10)) -le "$in" ]; then ok; else bad "bulk: extract $out bytes of $in (want <= 1/10)"; fi
# shellcheck disable=SC2086
"$bin" -f json $trust "$tmp/bulk-x.pcap" > "$tmp/b.json"
conns=$(jq '.connections | length' "$tmp/a.json")
[ "$conns" -gt 10 ] || bad "bulk: only $conns connections in the bench capture"
if same "$tmp/a.json" "$tmp/b.json" > "$tmp/d" 2>&1; then ok
else bad "bulk: the extract's report differs"; head -20 "$tmp/d"; fi

# ---- --only: the selected connections, the same as in the full report -------------
for only in failed findings; do
    # shellcheck disable=SC2086
    "$bin" -f json $trust -w "$tmp/only.pcap" --only $only "$tmp/bulk.pcap" > "$tmp/a.json"
    # shellcheck disable=SC2086
    "$bin" -f json $trust "$tmp/only.pcap" > "$tmp/b.json"
    if [ $only = failed ]; then sel='select(.outcome == "failed" or .outcome == "incomplete")'
    else sel='select(.findings | length > 0)'; fi
    # A TLS 1.3 chain inferred from what another connection showed
    # ("source": "seen") needs that connection, which --only may leave out.
    seen='del(.id) | if .inferred_chain.source == "seen" then del(.inferred_chain) else . end'
    jq -S "[.connections[] | $sel | $seen]" "$tmp/a.json" > "$tmp/na"
    jq -S "[.connections[] | $seen]" "$tmp/b.json" > "$tmp/nb"
    n=$(jq length "$tmp/na"); all=$(jq '.connections | length' "$tmp/a.json")
    if [ "$n" -gt 0 ] && [ "$n" -lt "$all" ] && diff -u "$tmp/na" "$tmp/nb" > "$tmp/d"; then ok
    else bad "--only $only: $n of $all selected, or the extract's connections differ"; head -20 "$tmp/d"; fi
done

# ---- the regression-fixture workflow ---------------------------------------------
# shellcheck disable=SC2086
"$bin" $trust -w "$tmp/case.pcap" -f json -o "$tmp/case.json" captures/post-upgrade.pcap; rc=$?
[ $rc -eq 1 ] || bad "workflow: -w on post-upgrade exit $rc (want 1: it has errors)"
# shellcheck disable=SC2086
"$bin" diff $trust "$tmp/case.json" "$tmp/case.pcap" > "$tmp/diff.txt"; rc=$?
if [ $rc -eq 0 ] && grep -q "0 worse, 0 better, 0 changed" "$tmp/diff.txt"; then ok
else bad "workflow: diff case.json case.pcap exit $rc"; cat "$tmp/diff.txt"; fi

# ---- --ports all and a BPF expression select before the extract -------------------
# shellcheck disable=SC2086
"$bin" -f json -p all $trust -w "$tmp/bpf.pcapng" captures/many-flows.pcap -- tcp port 8443 > "$tmp/a.json"
# shellcheck disable=SC2086
"$bin" -f json -p all $trust "$tmp/bpf.pcapng" > "$tmp/b.json"
if [ "$(jq '[.connections[] | .server.port] | unique' -c "$tmp/b.json")" = "[8443]" ] &&
   same "$tmp/a.json" "$tmp/b.json" > /dev/null; then ok
else bad "BPF: the extract holds other ports or reports differently"; fi
# The text report says it reads an extract.
"$bin" "$tmp/bpf.pcapng" -p all | head -1 | grep -q "tlsinspect extract" && ok ||
    bad "text report: no extract mark in the header"

# ---- usage errors ------------------------------------------------------------------
usage() {   # DESCRIPTION ARGS...
    d=$1; shift
    "$@" > /dev/null 2> "$tmp/err"; rc=$?
    if [ $rc -eq 2 ] && [ -s "$tmp/err" ]; then ok; else bad "$d: exit $rc, want 2 with a message"; fi
}
cp captures/rsa-ok-8443.pcap "$tmp/in.pcap"
usage "--only without -w" "$bin" --only failed captures/rsa-ok-8443.pcap
usage "--connection without -w" "$bin" --connection 10.0.0.1:8443 captures/rsa-ok-8443.pcap
usage "--write-keylog without --keylog" "$bin" -w "$tmp/k.pcap" --write-keylog "$tmp/k.keys" \
    captures/rsa-ok-8443.pcap
usage "bad --only" "$bin" -w "$tmp/x.pcap" --only some captures/rsa-ok-8443.pcap
usage "bad --connection" "$bin" -w "$tmp/x.pcap" --connection 10.0.0.1 captures/rsa-ok-8443.pcap
cp captures/tls13-keylog.keys "$tmp/in.keys"
usage "--write-keylog onto --keylog" "$bin" -w "$tmp/k.pcap" --keylog "$tmp/in.keys" \
    --write-keylog "$tmp/in.keys" captures/tls13-keylog.pcap
cmp -s captures/tls13-keylog.keys "$tmp/in.keys" && ok || bad "--write-keylog onto --keylog changed it"
usage "-w onto the report" "$bin" -w "$tmp/r.out" -o "$tmp/r.out" captures/rsa-ok-8443.pcap
usage "-w onto its input" "$bin" -w "$tmp/in.pcap" "$tmp/in.pcap"
cmp -s captures/rsa-ok-8443.pcap "$tmp/in.pcap" && ok || bad "-w onto its input changed the input"
usage "-w with mixed link types" "$bin" -w "$tmp/m.pcapng" captures/sll.pcap captures/rsa-ok-8443.pcap
usage "diff -w" "$bin" diff -w "$tmp/x.pcap" captures/pre-upgrade.pcap captures/post-upgrade.pcap
# [IPv6]:PORT parses
"$bin" -w "$tmp/v6.pcap" --connection '[2001:db8::1]:8443' captures/ipv6.pcap > /dev/null 2>&1
[ $? -le 1 ] && ok || bad "--connection [IPv6]:PORT refused"

echo "extract command line: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
