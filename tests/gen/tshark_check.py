#!/usr/bin/env python3
"""tshark_check.py - the issue 17 fixtures read by tlsinspect and by tshark, compared.

    python3 tests/gen/tshark_check.py ./tlsinspect [captures]

Per TCP connection (in start order): the selected suite, whether the session
was resumed (TLS 1.2: the ServerHello echoes the ClientHello's non-empty
session ID and no Certificate follows; TLS 1.3: pre_shared_key in the
ServerHello), and the alerts whose description is readable (tshark with the
fixture's key log; for a NULL suite without one, in the clear).  Also that
tshark flags no TCP analysis problem (padding read as payload would show as
one).  Then the TLS 1.3 fixtures read without their key logs: the outcome
and the alerts inferred from record sizes must not contradict what tshark
reads with the key log (no failure without a fatal alert, no alert from a
side that sent none, no alert finding on a healthy session).  A developer check after regenerating fixtures: it needs tshark, which
`make check` does not (the golden reports pin tlsinspect's side).
Exit 0 when everything agrees, 1 otherwise.
"""
import json
import os
import subprocess
import sys

PORTS = ["-d", "tcp.port==8443,tls", "-d", "tcp.port==6972,tls"]
TRUST = ["--cafile", "captures/pki/expressway-trust.pem"]
# (capture, key log or None): each run is compared on its own
RUNS = [
    ("resumption.pcap", None),
    ("resumption.pcap", "resumption.keys"),
    ("keylog-suites-12.pcap", "keylog-suites-12.keys"),
    ("keylog-suites-12.pcap", None),
    ("padded-frames.pcap", None),
    ("compressed-12.pcap", "compressed-12.keys"),
    ("compressed-12.pcap", None),
    ("tls13-mtls-keys.pcap", "tls13-mtls-keys.keys"),
    ("tls13-abort-segments.pcap", "tls13-abort-segments.keys"),
    ("tls13-abort-segments.pcap", None),
    ("tls13-post-handshake.pcap", "tls13-post-handshake.keys"),
    ("close-notify-12-13.pcap", "close-notify-12-13.keys"),
]
# TLS 1.3 read without its key log against tshark with it: the outcome and
# the alerts tlsinspect infers from record sizes must not contradict the truth
INFER_RUNS = [
    ("tls13-keylog.pcap", "tls13-keylog.keys"),
    ("tls13-unknown-ca.pcap", "tls13-unknown-ca.keys"),
    ("tls13-chacha20.pcap", "tls13-chacha20.keys"),
    ("tls13-hrr.pcap", "tls13-hrr.keys"),
    ("tls13-mtls-rejected.pcap", "tls13-mtls-rejected.keys"),
    ("resumption.pcap", "resumption.keys"),
    ("tls13-mtls-keys.pcap", "tls13-mtls-keys.keys"),
    ("tls13-abort-segments.pcap", "tls13-abort-segments.keys"),
    ("tls13-post-handshake.pcap", "tls13-post-handshake.keys"),
    ("close-notify-12-13.pcap", "close-notify-12-13.keys"),
]
SERVER_PORTS = {"8443", "6972", "443", "5061"}
ALERT_FINDINGS = {"FATAL_ALERT", "UNKNOWN_CA_ALERT", "CLIENT_CERT_REJECTED"}
# tshark 4.0's libgcrypt has no ARIA: its records stay encrypted there
TSHARK_CANNOT = {"0xc060", "0xc061", "0xc05c", "0xc05d"}


def tshark(path, keys, fields, filt):
    cmd = ["tshark", "-n", "-r", path] + PORTS
    if keys:
        cmd += ["-o", "tls.keylog_file:" + keys]
    cmd += ["-Y", filt, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def tshark_view(path, keys):
    """Per tcp.stream: suite, resumed, readable alert descriptions."""
    st = {}
    rows = tshark(path, keys, ["tcp.stream", "tls.handshake.type", "tls.handshake.session_id",
                               "tls.handshake.ciphersuite", "tls.handshake.extension.type",
                               "tls.alert_message.desc"], "tls")
    for stream, types, sid, suite, exts, desc in rows:
        s = st.setdefault(int(stream), {"suite": None, "ch_sid": "", "sh_sid": "",
                                        "cert": False, "psk": False, "alerts": []})
        types = types.split(",") if types else []
        if "1" in types:
            s["ch_sid"] = sid.split(",")[0]
        if "2" in types:
            s["sh_sid"] = sid.split(",")[-1]
            s["suite"] = suite.split(",")[-1]
            s["psk"] = "41" in exts.split(",")
        if "11" in types:
            s["cert"] = True
        if desc:
            s["alerts"] += [int(d) for d in desc.split(",")]
    for s in st.values():
        # TLS 1.3 echoes legacy_session_id always (RFC 8446 4.1.3): only the PSK counts
        tls13 = (s["suite"] or "").startswith("0x13")
        s["resumed"] = s["psk"] if tls13 else (s["ch_sid"] != "" and s["ch_sid"] == s["sh_sid"]
                                               and not s["cert"])
    return [st[k] for k in sorted(st)]


def inspect_view(binary, path, keys):
    cmd = [binary, "-f", "json"] + TRUST + (["--keylog", keys] if keys else []) + [path]
    rep = json.loads(subprocess.run(cmd, capture_output=True, text=True).stdout)
    conns = sorted(rep["connections"], key=lambda c: c["start_ts"])
    return [{"suite": c["server_hello"]["cipher_suite"]["code"],
             "resumed": bool(c.get("resumed")),
             "alerts": [a["code"] for a in c["alerts"] if a.get("code") is not None],
             "verification": c["verification"]} for c in conns]


def truth_alerts(path, keys):
    """Per tcp.stream: [(from, level)] of every alert tshark reads with the key log."""
    st = {}
    for stream, sport, level in tshark(path, keys, ["tcp.stream", "tcp.srcport",
                                                    "tls.alert_message.level"], "tcp"):
        alerts = st.setdefault(int(stream), [])
        for lv in level.split(",") if level else []:
            alerts.append(("server" if sport in SERVER_PORTS else "client", int(lv)))
    return [st[k] for k in sorted(st)]


def infer_check(binary, path, keys):
    """Failures of the keyless reading against the truth; [] when none."""
    truth = truth_alerts(path, keys)
    cmd = [binary, "-f", "json"] + TRUST + [path]
    rep = json.loads(subprocess.run(cmd, capture_output=True, text=True).stdout)
    conns = sorted(rep["connections"], key=lambda c: c["start_ts"])
    if len(conns) != len(truth):
        return ["%d connections without keys, %d in tshark" % (len(conns), len(truth))]
    bad = []
    for i, (c, t) in enumerate(zip(conns, truth)):
        fatal = {f for f, lv in t if lv == 2}
        senders = {f for f, _ in t}
        mine = [a for a in c["alerts"]]
        ids = {f["id"] for f in c["findings"]}
        why = []
        if fatal and c["outcome"] == "complete":
            why.append("complete, but %s sent a fatal alert" % "/".join(sorted(fatal)))
        if not fatal and c["outcome"] == "failed":
            why.append("failed, but no fatal alert")
        if not fatal and ids & ALERT_FINDINGS:
            why.append("alert findings %s without a fatal alert" % sorted(ids & ALERT_FINDINGS))
        for a in mine:
            if a["from"] not in senders:
                why.append("an alert from the %s, who sent none" % a["from"])
        if c["outcome"] == "failed" and fatal and not fatal & {a["from"] for a in mine}:
            why.append("failed without the %s's alert" % "/".join(sorted(fatal)))
        if why:
            bad.append("connection %d (%s): %s" % (i + 1, c["outcome"], "; ".join(why)))
    return bad


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "./tlsinspect"
    cap = sys.argv[2] if len(sys.argv) > 2 else "captures"
    bad = 0
    for name, keys in RUNS:
        path = os.path.join(cap, name)
        kpath = os.path.join(cap, keys) if keys else None
        tv, iv = tshark_view(path, kpath), inspect_view(binary, path, kpath)
        flags = tshark(path, kpath, ["frame.number"], "tcp.analysis.flags or _ws.malformed")
        label = name + (" + " + keys if keys else "")
        if flags:
            print("FAIL %s: tshark flags frames %s" % (label, [r[0] for r in flags]))
            bad += 1
        if len(tv) != len(iv):
            print("FAIL %s: %d connections in tshark, %d in tlsinspect" % (label, len(tv), len(iv)))
            bad += 1
            continue
        for i, (t, s) in enumerate(zip(tv, iv)):
            want = t["alerts"] if t["suite"] not in TSHARK_CANNOT else s["alerts"]
            diffs = [k for k, a, b in (("suite", t["suite"], s["suite"]),
                                       ("resumed", t["resumed"], s["resumed"]),
                                       ("alerts", want, s["alerts"])) if a != b]
            if s["resumed"] and s["verification"] != "not_applicable":
                diffs.append("verification")
            if diffs:
                print("FAIL %s connection %d: %s: tshark %s, tlsinspect %s" % (label, i + 1, diffs, t, s))
                bad += 1
        print("ok   %s: %d connections agree (suites %s; resumed %s)" % (
            label, len(iv), " ".join(c["suite"] for c in iv),
            [i + 1 for i, c in enumerate(iv) if c["resumed"]]))
    for name, keys in INFER_RUNS:
        path, kpath = os.path.join(cap, name), os.path.join(cap, keys)
        errs = infer_check(binary, path, kpath)
        for e in errs:
            print("FAIL %s without %s: %s" % (name, keys, e))
        bad += len(errs)
        if not errs:
            print("ok   %s without %s: outcomes and inferred alerts agree with tshark's" % (name, keys))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
