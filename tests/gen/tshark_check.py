#!/usr/bin/env python3
"""tshark_check.py - the issue 17 fixtures read by tlsinspect and by tshark, compared.

    python3 tests/gen/tshark_check.py ./tlsinspect [captures]

Per TCP connection (in start order): the selected suite, whether the session
was resumed (TLS 1.2: the ServerHello echoes the ClientHello's non-empty
session ID and no Certificate follows; TLS 1.3: pre_shared_key in the
ServerHello), and the alerts whose description is readable (tshark with the
fixture's key log; for a NULL suite without one, in the clear).  Also that
tshark flags no TCP analysis problem (padding read as payload would show as
one).  A developer check after regenerating fixtures: it needs tshark, which
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
]
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
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
