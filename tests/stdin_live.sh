#!/bin/sh
# stdin_live.sh - the capture from standard input ("-") and from a live
# interface (-i), end to end through the binary.
#
# Standard input: fixtures piped in give the report the file gives (apart
# from the input's name and byte count), gzip included; "-" twice is a usage
# error; Ctrl-C on a pipe that stays open ends the input and the report is
# still written.
# Live: openssl s_server on 127.0.0.1 with the fixture PKI, tlsinspect -i lo
# on its port with --duration, openssl s_client against it; the report must
# show the handshake.  A missing interface, or no CAP_NET_RAW (dropped with
# setpriv), is exit 2 with a message that says which.
# Live capture needs root or CAP_NET_RAW: without it the live part is
# skipped loudly, and fails under CI=true.  Everything is bounded in time.
set -u
bin=$1
pki=captures/pki
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# Report without what differs between a file and a pipe: name and bytes read.
norm() { sed -e 's/"file": *"[^"]*"/"file": F/' -e 's/"bytes": *[0-9]*/"bytes": B/' \
             -e 's/"message": "[^:"]*: the capture file/"message": "F: the capture file/' "$1"; }

# ---- standard input -------------------------------------------------------------
for f in captures/rsa-ok-8443.pcap captures/pcapng.pcapng captures/rsa-ok-8443.pcap.gz \
         captures/cut-mid-packet.pcap captures/rotated-01.pcap; do
    args=$(cat "${f%.gz}.args" 2>/dev/null)
    # shellcheck disable=SC2086
    "$bin" -f json $args "$f" > "$tmp/file.json" 2>/dev/null; rc1=$?
    # shellcheck disable=SC2086
    cat "$f" | "$bin" -f json $args - > "$tmp/pipe.json" 2>/dev/null; rc2=$?
    norm "$tmp/file.json" > "$tmp/a"; norm "$tmp/pipe.json" > "$tmp/b"
    if [ $rc1 -eq $rc2 ] && [ $rc1 -le 1 ] && cmp -s "$tmp/a" "$tmp/b" && [ -s "$tmp/a" ]; then
        ok "stdin: $f gives the report the file gives (exit $rc2)"
    else
        bad "stdin: $f: exit $rc1 vs $rc2"; diff "$tmp/a" "$tmp/b" | head -5
    fi
done
cat captures/rsa-ok-8443.pcap.gz | "$bin" -f json - > "$tmp/gz.json" 2>/dev/null
if grep -q '"format": "pcap+gzip"' "$tmp/gz.json"; then ok "stdin: gzip sniffed on a pipe"; else bad "stdin: gzip format not named"; fi

"$bin" - - < /dev/null > /dev/null 2> "$tmp/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "standard input" "$tmp/err"; then ok "stdin: '- -' is a usage error"; else bad "stdin: '- -' exit $rc"; fi

echo garbage | "$bin" - > /dev/null 2> "$tmp/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "standard input: " "$tmp/err"; then ok "stdin: not a capture: exit 2 ($(cat "$tmp/err"))"; else bad "stdin: garbage exit $rc"; fi

# Ctrl-C while the writer keeps the pipe open: the report of what came.
mkfifo "$tmp/fifo"
"$bin" -q -f json - < "$tmp/fifo" > "$tmp/int.json" 2> "$tmp/err" &
tp=$!; pids="$pids $tp"
exec 3> "$tmp/fifo"
cat captures/rsa-ok-8443.pcap >&3
sleep 1
kill -INT "$tp"
t=0; while kill -0 "$tp" 2>/dev/null && [ $t -lt 50 ]; do sleep 0.1; t=$((t + 1)); done
if kill -0 "$tp" 2>/dev/null; then
    bad "stdin: still running 5 s after SIGINT"; kill -9 "$tp"
fi
wait "$tp"; rc=$?
exec 3>&-
if [ $rc -le 1 ] && grep -q '"outcome": "complete"' "$tmp/int.json"; then
    ok "stdin: SIGINT on an open pipe ends the input, report written (exit $rc)"
else
    bad "stdin: SIGINT: exit $rc, report: $(head -c 200 "$tmp/int.json")"
fi

# ---- live capture ----------------------------------------------------------------
"$bin" -i tlsinspect-no-such0 --duration 1 > /dev/null 2> "$tmp/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "tlsinspect-no-such0" "$tmp/err" && grep -qi "no such" "$tmp/err"; then
    ok "live: missing interface: exit 2 ($(cat "$tmp/err"))"
else
    bad "live: missing interface: exit $rc: $(cat "$tmp/err")"
fi
"$bin" -i lo nofile.pcap > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "live: -i with a file is a usage error" || bad "live: -i with a file: exit $rc"
"$bin" --duration 1 captures/rsa-ok-8443.pcap > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "live: --duration without -i is a usage error" || bad "live: --duration alone: exit $rc"

# Without the privilege: drop CAP_NET_RAW/CAP_NET_ADMIN (setpriv, util-linux).
if command -v setpriv > /dev/null 2>&1 &&
   setpriv --bounding-set=-net_raw,-net_admin true 2> /dev/null; then
    setpriv --inh-caps=-all --bounding-set=-net_raw,-net_admin \
        "$bin" -i lo --duration 1 > /dev/null 2> "$tmp/err"; rc=$?
    if [ $rc -eq 2 ] && grep -q "CAP_NET_RAW" "$tmp/err"; then
        ok "live: without CAP_NET_RAW: exit 2 ($(cat "$tmp/err"))"
    else
        bad "live: without CAP_NET_RAW: exit $rc: $(cat "$tmp/err")"
    fi
else
    echo "SKIPPED: live capture without privilege: setpriv cannot drop capabilities here"
fi

live_skip() {
    if [ "${CI:-}" = true ]; then
        bad "live: $* (CI=true: live capture must run)"
    else
        echo "SKIPPED: live capture test: $*"
    fi
}
if ! command -v openssl > /dev/null 2>&1; then
    live_skip "openssl not found"
elif ! "$bin" -i lo --duration 0.2 > /dev/null 2> "$tmp/err"; then
    live_skip "cannot capture on lo: $(cat "$tmp/err")"
else
    # A free port: s_server says ACCEPT once it listens; retry on a taken one.
    port=""
    for try in 1 2 3 4 5; do
        p=$(( ( $$ + try * 7919 ) % 20000 + 30000 ))
        : > "$tmp/srv.out"
        openssl s_server -accept "127.0.0.1:$p" -cert "$pki/cucm-rsa-chain.pem" \
            -key "$pki/cucm-rsa.key.pem" -naccept 1 -tls1_2 -www \
            -cipher ECDHE-RSA-AES128-GCM-SHA256 < /dev/null > "$tmp/srv.out" 2>&1 &
        sp=$!
        t=0; while [ $t -lt 50 ] && kill -0 "$sp" 2>/dev/null && ! grep -q ACCEPT "$tmp/srv.out"; do
            sleep 0.1; t=$((t + 1)); done
        if grep -q ACCEPT "$tmp/srv.out" && kill -0 "$sp" 2>/dev/null; then
            port=$p; pids="$pids $sp"; break
        fi
        kill "$sp" 2>/dev/null; wait "$sp" 2>/dev/null
    done
    if [ -z "$port" ]; then
        bad "live: openssl s_server did not start: $(head -3 "$tmp/srv.out")"
    else
        start=$(date +%s)
        "$bin" -i lo -p "$port" --duration 4 -f json -o "$tmp/live.json" \
            --cafile "$pki/expressway-trust.pem" -- tcp port "$port" 2> "$tmp/live.err" &
        lp=$!; pids="$pids $lp"
        sleep 1     # the capture is open before the client connects
        timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername cucm.steven.lab \
            < /dev/null > "$tmp/cli.out" 2>&1
        t=0; while kill -0 "$lp" 2>/dev/null && [ $t -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
        if kill -0 "$lp" 2>/dev/null; then
            bad "live: --duration 4 still capturing after $(( $(date +%s) - start )) s"; kill -9 "$lp"
        fi
        wait "$lp"; rc=$?
        took=$(( $(date +%s) - start ))
        if [ $rc -le 1 ] && [ "$(grep -c '"client": {"ip"' "$tmp/live.json")" -eq 1 ] &&
           grep -q '"outcome": "complete"' "$tmp/live.json" &&
           grep -q 'CN=cucm.steven.lab' "$tmp/live.json" &&
           grep -q 'ECDHE-RSA-AES128-GCM-SHA256\|TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' "$tmp/live.json"; then
            ok "live: -i lo saw the s_client handshake (complete, ECDHE-RSA-AES128-GCM, CN=cucm.steven.lab), stopped after ${took} s, exit $rc"
        else
            bad "live: exit $rc after ${took} s; stderr: $(cat "$tmp/live.err"); report: $(head -c 400 "$tmp/live.json")"
        fi

        # SIGTERM ends a capture without --duration, and the report is written.
        "$bin" -i lo -p "$port" -f json -o "$tmp/term.json" 2> "$tmp/term.err" &
        lp=$!; pids="$pids $lp"
        sleep 0.5
        kill -TERM "$lp"
        t=0; while kill -0 "$lp" 2>/dev/null && [ $t -lt 30 ]; do sleep 0.1; t=$((t + 1)); done
        if kill -0 "$lp" 2>/dev/null; then bad "live: still running 3 s after SIGTERM"; kill -9 "$lp"; fi
        wait "$lp"; rc=$?
        if [ $rc -eq 0 ] && grep -q '"format": "live"' "$tmp/term.json"; then
            ok "live: SIGTERM ends the capture, report written"
        else
            bad "live: SIGTERM: exit $rc: $(cat "$tmp/term.err")"
        fi
    fi
fi
[ $fail -eq 0 ]
