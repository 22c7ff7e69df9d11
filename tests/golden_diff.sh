#!/bin/sh
# golden_diff.sh - `tlsinspect diff` on the upgrade fixtures must give exactly its golden outputs.
#
#   sh tests/golden_diff.sh [./tlsinspect]            compare (run from the repository root)
#   sh tests/golden_diff.sh [./tlsinspect] --update   rewrite captures/diff/*.txt and *.json
#
# Cases (text and JSON each), with the fixtures' trust store:
#   pre-post     captures/pre-upgrade.pcap vs captures/post-upgrade.pcap       exit 1
#   report-post  a JSON report saved from pre-upgrade.pcap vs post-upgrade.pcap exit 1
#   post-post    post-upgrade.pcap vs itself                                   exit 0
#   post-pre     the upgrade undone: 6972 better                               exit 0
#   noca-post    a report saved WITHOUT --cafile vs post-upgrade.pcap          exit 2
#   noca-report  reports saved without and with --cafile: not comparable       exit 2
# The saved report lives in a temporary directory: its path is written as TMP
# in the outputs.  Besides the golden files, facts the issue asks for are
# checked on their own (so a careless --update cannot bless a wrong result):
# the 6972 endpoint is worse with RSA -> ECDSA, the self-signed leaf and the
# new unknown_ca alerts; the 8443 endpoints are not worse; a saved report as
# BEFORE gives the same endpoint blocks as the capture.
set -u
bin=./tlsinspect; update=
for a in "$@"; do
    case "$a" in --update) update=1 ;; *) bin=$a ;; esac
done
ca="--cafile captures/pki/expressway-trust.pem"
pre=captures/pre-upgrade.pcap; post=captures/post-upgrade.pcap
dir=captures/diff
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

failed() { echo "FAIL $*"; fail=$((fail + 1)); }

for f in "$pre" "$post" captures/pki/expressway-trust.pem; do
    [ -f "$f" ] || { echo "golden_diff: $f missing (run from the repository root)"; exit 2; }
done

# the saved report: `tlsinspect -f json` exits 0 or 1 (1 = findings)
# shellcheck disable=SC2086
"$bin" -f json $ca "$pre" > "$tmp/pre-upgrade.json" 2> "$tmp/err"
rc=$?
if [ $rc -gt 1 ] || [ ! -s "$tmp/pre-upgrade.json" ]; then
    echo "golden_diff: making the saved report failed (exit $rc): $(cat "$tmp/err")"; exit 1
fi

# the same without a trust store, and post-upgrade's with one: made with
# other verification options than the diff's own
"$bin" -f json "$pre" > "$tmp/pre-noca.json" 2> "$tmp/err"
# shellcheck disable=SC2086
"$bin" -f json $ca "$post" > "$tmp/post-upgrade.json" 2> "$tmp/err"
for f in pre-noca post-upgrade; do
    [ -s "$tmp/$f.json" ] || { echo "golden_diff: making $f.json failed: $(cat "$tmp/err")"; exit 1; }
done

# name  expected-exit  BEFORE  AFTER
cases="pre-post 1 $pre $post
report-post 1 $tmp/pre-upgrade.json $post
post-post 0 $post $post
post-pre 0 $post $pre
noca-post 2 $tmp/pre-noca.json $post
noca-report 2 $tmp/pre-noca.json $tmp/post-upgrade.json"

echo "$cases" | while read -r name want before after; do
    for fmt in text json; do
        ext=txt; [ "$fmt" = json ] && ext=json
        out="$tmp/$name.$ext"
        # shellcheck disable=SC2086
        "$bin" diff -f "$fmt" $ca "$before" "$after" > "$out.raw" 2> "$tmp/err"
        rc=$?
        sed "s|$tmp|TMP|g" "$out.raw" > "$out"
        if [ $rc -ne "$want" ]; then
            echo "FAIL $name ($fmt): exit $rc, want $want: $(cat "$tmp/err")"; echo x >> "$tmp/failures"
            continue
        fi
        golden="$dir/$name.$ext"
        if [ -n "$update" ]; then
            mkdir -p "$dir"; cp "$out" "$golden"; echo "updated $golden"; echo x >> "$tmp/passes"
        elif [ ! -f "$golden" ]; then
            echo "FAIL $name ($fmt): no golden output $golden (--update)"; echo x >> "$tmp/failures"
        elif ! diff -u "$golden" "$out" > "$tmp/diff"; then
            echo "FAIL $name ($fmt): output differs from $golden:"; head -40 "$tmp/diff"
            echo x >> "$tmp/failures"
        else
            echo x >> "$tmp/passes"
        fi
    done
done
[ -f "$tmp/passes" ] && pass=$(wc -l < "$tmp/passes")
[ -f "$tmp/failures" ] && fail=$(wc -l < "$tmp/failures")

# ---- facts checked independently of the golden files ----------------------------
t="$tmp/pre-post.txt"
if [ -f "$t" ]; then
    # the 6972 block: from its header to the next blank line
    sed -n '/^10\.48\.36\.215:6972 /,/^$/p' "$t" > "$tmp/6972"
    grep -q '^10\.48\.36\.215:6972  WORSE' "$tmp/6972" || failed "pre-post: 6972 is not WORSE"
    for want in 'preferred auth *RSA -> ECDSA$' 'selected auth *RSA -> ECDSA$' \
                'leaf certificate .*-> CN=cucm-EC\.steven\.lab EC P-[0-9]* self-signed' \
                'verification *ok -> self_signed$' '+ fatal unknown_ca from client' \
                'findings .*+ UNKNOWN_CA_ALERT' 'findings .*+ CHAIN_SELF_SIGNED' \
                '^  fix CHAIN_SELF_SIGNED: Upload this self-signed certificate' \
                '^  fix UNKNOWN_CA_ALERT: Add the CA that signed'; do
        grep -q -- "$want" "$tmp/6972" || failed "pre-post: 6972 block lacks /$want/"
    done
    # 8443: not worse, and no certificate, verification or alert change
    if grep -q ':8443  WORSE' "$t"; then failed "pre-post: an 8443 endpoint is WORSE"; fi
    sed -n '/^10\.48\.36\.21[0-9]:8443 /,/^$/p' "$t" > "$tmp/8443"
    if grep -q -e 'leaf certificate' -e 'verification' -e 'alerts' -e 'selected' "$tmp/8443"; then
        failed "pre-post: an 8443 endpoint shows a change that did not happen:"; cat "$tmp/8443"
    fi
    # a saved report as BEFORE: the same endpoints (everything after the header)
    if [ -f "$tmp/report-post.txt" ]; then
        sed '1,/^$/d' "$t" > "$tmp/a"; sed '1,/^$/d' "$tmp/report-post.txt" > "$tmp/b"
        cmp -s "$tmp/a" "$tmp/b" || failed "report-post: endpoints differ from pre-post"
        grep -q '^note: BEFORE is a saved report' "$tmp/report-post.txt" ||
            failed "report-post: no note that BEFORE is a saved report"
    fi
fi
# the fix undone the other way round: 6972 better, with what went away
if [ -f "$tmp/post-pre.txt" ]; then
    grep -q '^10\.48\.36\.215:6972  better: error findings gone: CHAIN_SELF_SIGNED, UNKNOWN_CA_ALERT; complete handshakes 0 -> 2$' \
        "$tmp/post-pre.txt" || failed "post-pre: 6972 is not better"
    if grep -q 'WORSE' "$tmp/post-pre.txt"; then failed "post-pre: something is WORSE"; fi
fi
if [ -f "$tmp/post-post.txt" ] && grep -q -e 'WORSE' -e 'changed$' -e '^  fix ' "$tmp/post-post.txt"; then
    failed "post-post: identical inputs show changes"
fi
# a fix only where something got worse: none on the 8443 endpoints
if [ -f "$tmp/pre-post.json" ]; then
    n=$(grep -c '"fixes"' "$tmp/pre-post.json")
    [ "$n" -eq 1 ] || failed "pre-post.json: $n endpoints with fixes, want 1 (6972)"
fi
# not comparable: one line per option that differs, no endpoint compared
for name in noca-post noca-report; do
    t="$tmp/$name.txt"
    [ -f "$t" ] || continue
    grep -q '^not comparable: verification options differ$' "$t" || failed "$name: no 'not comparable'"
    grep -q '^  --cafile  *none -> captures/pki/expressway-trust.pem (SHA-256 2657b780' "$t" ||
        failed "$name: no --cafile line"
    if grep -q -e '^10\.48\.' -e 'WORSE' "$t"; then failed "$name: endpoints compared"; fi
    grep -q '"comparable": false' "$tmp/$name.json" || failed "$name.json: not comparable: false"
done
# --ignore-options: compared anyway, and the note says what differs
# shellcheck disable=SC2086
"$bin" diff --ignore-options $ca "$tmp/pre-noca.json" "$post" > "$tmp/ignored.txt" 2> "$tmp/err"
rc=$?
[ $rc -eq 1 ] || failed "--ignore-options: exit $rc, want 1 (6972 worse)"
grep -q '^note: verification options differ, compared anyway (--ignore-options): cafile: none -> ' \
    "$tmp/ignored.txt" || failed "--ignore-options: no note on what differs"
grep -q '^10\.48\.36\.215:6972  WORSE' "$tmp/ignored.txt" || failed "--ignore-options: 6972 not compared"
# a report saved before "options" existed: compared, with a warning
sed '/^  "options": {/,/^  },$/d' "$tmp/pre-upgrade.json" > "$tmp/old.json"
grep -q '"options"' "$tmp/old.json" && failed "could not make an old-style report"
# shellcheck disable=SC2086
"$bin" diff $ca "$tmp/old.json" "$post" > "$tmp/old.txt" 2> "$tmp/err"
rc=$?
[ $rc -eq 1 ] || failed "old report: exit $rc, want 1: $(cat "$tmp/err")"
grep -q '^note: warning: BEFORE does not record its verification options' "$tmp/old.txt" ||
    failed "old report: no warning that its options are unknown"

echo "golden diff outputs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
