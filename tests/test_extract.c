/* test_extract.c - -w: which packets of real fixtures are written, order, pcapng mark, hold limit, key log subset. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/decode.h"
#include "tlsinspect/err.h"
#include "tlsinspect/extract.h"

#define TRUST "captures/pki/expressway-trust.pem"
#define MAX_PKTS 4096

/* One packet as the tests look at it. */
struct tpkt {
    int64_t ts;
    uint8_t flags;
    uint32_t payload_len;
    int rec;                  /* first payload byte (TLS content type), -1 none */
    uint16_t sport, dport;
};

struct tcap {
    struct tpkt p[MAX_PKTS];
    size_t n;
};

static char tmpdir[256];

static int group_setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/tlsinspect-exXXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void tpath(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* Read a capture (pcap or pcapng) and decode its TCP packets. */
static void read_cap(const char *path, struct tcap *t)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    struct pcap_pkthdr *h;
    const u_char *d;

    if (p == NULL)
        fail_msg("%s: %s", path, err);
    t->n = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        struct pkt_info pi;
        struct tpkt *k;

        assert_true(t->n < MAX_PKTS);
        if (decode_packet(pcap_datalink(p), d, h->caplen, h->len, &pi) != DECODE_TCP)
            continue;
        k = &t->p[t->n++];
        k->ts = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        k->flags = pi.flags;
        k->payload_len = pi.payload_len;
        k->rec = pi.payload_len > 0 ? pi.payload[0] : -1;
        k->sport = pi.sport;
        k->dport = pi.dport;
    }
    pcap_close(p);
}

static size_t count(const struct tcap *t, bool (*pred)(const struct tpkt *))
{
    size_t n = 0;

    for (size_t i = 0; i < t->n; i++)
        n += pred(&t->p[i]);
    return n;
}

static bool is_syn(const struct tpkt *k) { return (k->flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN; }
static bool is_synack(const struct tpkt *k)
{
    return (k->flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK);
}
static bool is_pure_ack(const struct tpkt *k) { return k->flags == TCPF_ACK && k->payload_len == 0; }
static bool is_fin(const struct tpkt *k) { return (k->flags & TCPF_FIN) != 0; }
static bool is_rst(const struct tpkt *k) { return (k->flags & TCPF_RST) != 0; }
static bool is_hs(const struct tpkt *k) { return k->rec == 22; }
static bool is_ccs(const struct tpkt *k) { return k->rec == 20; }
static bool is_alert(const struct tpkt *k) { return k->rec == 21; }
static bool is_app(const struct tpkt *k) { return k->rec == 23; }
static bool any(const struct tpkt *k) { return true; }

struct run {
    struct analysis *a;
    int rc;
    char err[512];
};

static void run_extract(struct run *r, const char *const *files, size_t nfiles,
                        const struct extract_opts *xo, const char *keylog, bool all_ports)
{
    static struct analyze_opts o;

    analyze_opts_default(&o);
    o.files = (char *const *)files;
    o.nfiles = nfiles;
    o.trust.cafile = TRUST;
    o.keylog = keylog;
    o.all_ports = all_ports;
    o.now = 1773161726;           /* 2026-03-10, the fixtures' day */
    o.extract = xo;
    r->a = NULL;
    r->err[0] = '\0';
    r->rc = analyze_run(&o, &r->a, r->err, sizeof(r->err));
}

static void opts_to(struct extract_opts *xo, char *path, size_t len, const char *name)
{
    extract_opts_default(xo);
    tpath(path, len, name);
    xo->path = path;
}

/* Every kept class on the TLS 1.2 success: SYN, SYN-ACK, ACK, handshake
 * records, CCS (inside the server's and client's flights), the first
 * application data each way, the close_notify alerts, both FINs; the last
 * pure ACK is dropped. */
static void test_classes_complete(void **state)
{
    const char *files[] = {"captures/rsa-ok-8443.pcap"};
    struct extract_opts xo;
    char out[300];
    struct run r;
    static struct tcap in, ex;

    opts_to(&xo, out, sizeof(out), "ok.pcap");
    run_extract(&r, files, 1, &xo, NULL, false);
    assert_int_equal(r.rc, TI_OK);
    assert_int_equal(r.a->extract.conns_written, 1);
    read_cap(files[0], &in);
    read_cap(out, &ex);
    assert_int_equal(count(&ex, is_syn), 1);
    assert_int_equal(count(&ex, is_synack), 1);
    assert_int_equal(count(&ex, is_pure_ack), 1);   /* the handshake's ACK only */
    assert_int_equal(count(&in, is_pure_ack), 2);
    assert_int_equal(count(&ex, is_hs), count(&in, is_hs));
    assert_true(count(&ex, is_hs) >= 3);
    assert_int_equal(count(&ex, is_app), 2);
    assert_int_equal(count(&ex, is_alert), 2);
    assert_int_equal(count(&ex, is_fin), 2);
    assert_int_equal(ex.n, in.n - 1);
    assert_int_equal(r.a->extract.packets_out, ex.n);
    for (size_t i = 1; i < ex.n; i++)
        assert_true(ex.p[i].ts >= ex.p[i - 1].ts);
    /* the original's timestamps, not new ones */
    assert_true(ex.p[0].ts == in.p[0].ts);
    analysis_free(r.a);
}

/* The field case: the client's fatal alert and its RST are kept. */
static void test_classes_alert_rst(void **state)
{
    const char *files[] = {"captures/field-case-6972.pcap"};
    struct extract_opts xo;
    char out[300];
    struct run r;
    static struct tcap in, ex;

    opts_to(&xo, out, sizeof(out), "field.pcap");
    run_extract(&r, files, 1, &xo, NULL, false);
    assert_int_equal(r.rc, TI_OK);
    read_cap(files[0], &in);
    read_cap(out, &ex);
    assert_int_equal(count(&ex, is_alert), 2);
    assert_int_equal(count(&ex, is_rst), 2);
    assert_int_equal(count(&ex, is_syn), 2);
    assert_int_equal(ex.n, in.n);
    analysis_free(r.a);
}

/* --ccs: TLS 1.2 with CCS alone in a packet -- the mtls fixture's client
 * flight.  At least: every CCS-led packet of the original is written. */
static void test_ccs_kept(void **state)
{
    const char *files[] = {"captures/post-upgrade.pcap"};
    struct extract_opts xo;
    char out[300];
    struct run r;
    static struct tcap in, ex;

    opts_to(&xo, out, sizeof(out), "post.pcap");
    run_extract(&r, files, 1, &xo, NULL, false);
    assert_int_equal(r.rc, TI_OK);
    read_cap(files[0], &in);
    read_cap(out, &ex);
    assert_int_equal(count(&ex, is_ccs), count(&in, is_ccs));
    assert_int_equal(count(&ex, is_hs), count(&in, is_hs));
    assert_int_equal(count(&ex, is_alert), count(&in, is_alert));
    assert_int_equal(count(&ex, is_rst), count(&in, is_rst));
    assert_int_equal(count(&ex, is_fin), count(&in, is_fin));
    assert_true(count(&ex, is_pure_ack) < count(&in, is_pure_ack));
    analysis_free(r.a);
}

/* Selection: --only failed keeps the failed connections' packets only;
 * --connection picks one endpoint; --only findings of a clean capture
 * writes an empty (but valid) file. */
static void test_selection(void **state)
{
    const char *post[] = {"captures/post-upgrade.pcap"};
    const char *ok[] = {"captures/rsa-ok-8443.pcap"};
    struct extract_opts xo;
    char out[300];
    struct run r, r2;
    static struct tcap ex;
    size_t failed = 0;

    opts_to(&xo, out, sizeof(out), "failed.pcapng");
    xo.only = EXTRACT_FAILED;
    run_extract(&r, post, 1, &xo, NULL, false);
    assert_int_equal(r.rc, TI_OK);
    for (size_t i = 0; i < r.a->nconns; i++)
        failed += r.a->conns[i]->outcome == OUTCOME_FAILED;
    assert_true(failed > 0 && failed < r.a->nconns);
    assert_int_equal(r.a->extract.conns_written, failed);
    read_cap(out, &ex);
    for (size_t i = 0; i < ex.n; i++)
        assert_true(ex.p[i].sport == 6972 || ex.p[i].dport == 6972);  /* the failing port */
    assert_int_equal(count(&ex, is_syn), failed);

    opts_to(&xo, out, sizeof(out), "one.pcap");
    xo.endpoints[0] = r.a->conns[0]->client;
    xo.nendpoints = 1;
    run_extract(&r2, post, 1, &xo, NULL, false);
    assert_int_equal(r2.rc, TI_OK);
    assert_int_equal(r2.a->extract.conns_written, 1);
    read_cap(out, &ex);
    assert_int_equal(count(&ex, is_syn), 1);
    for (size_t i = 0; i < ex.n; i++)
        assert_true(ex.p[i].sport == r.a->conns[0]->client.port ||
                    ex.p[i].dport == r.a->conns[0]->client.port);
    analysis_free(r.a);
    analysis_free(r2.a);

    opts_to(&xo, out, sizeof(out), "none.pcap");
    xo.only = EXTRACT_FINDINGS;
    run_extract(&r, ok, 1, &xo, NULL, false);
    assert_int_equal(r.rc, TI_OK);
    assert_int_equal(r.a->conns[0]->n_findings, 0);
    assert_int_equal(r.a->extract.conns_written, 0);
    read_cap(out, &ex);
    assert_int_equal(ex.n, 0);
    analysis_free(r.a);
}

/* Two rotated files make one extract; the connection spanning them is
 * whole in it, and the pcapng carries the mark. */
static void test_multi_file(void **state)
{
    const char *files[] = {"captures/rotated-00.pcap", "captures/rotated-01.pcap"};
    struct extract_opts xo;
    char out[300];
    struct run r;
    static struct tcap a, b, ex;

    opts_to(&xo, out, sizeof(out), "rotated.pcapng");
    run_extract(&r, files, 2, &xo, NULL, false);
    assert_int_equal(r.rc, TI_OK);
    read_cap(files[0], &a);
    read_cap(files[1], &b);
    read_cap(out, &ex);
    assert_true(count(&a, any) > 0 && count(&b, any) > 0);
    assert_int_equal(count(&ex, is_hs), count(&a, is_hs) + count(&b, is_hs));
    assert_int_equal(count(&ex, is_syn), count(&a, is_syn) + count(&b, is_syn));
    for (size_t i = 1; i < ex.n; i++)
        assert_true(ex.p[i].ts >= ex.p[i - 1].ts);
    assert_true(extract_file_is_extract(out));
    assert_false(extract_file_is_extract(files[0]));
    assert_false(extract_file_is_extract("captures/pcapng.pcapng"));
    analysis_free(r.a);
}

/* Different link types: refused for pcap and pcapng alike (libpcap reads
 * one link type per file, so the extract could not be analysed). */
static void test_link_types(void **state)
{
    const char *files[] = {"captures/sll.pcap", "captures/rsa-ok-8443.pcap"};
    const char *names[] = {"mixed.pcap", "mixed.pcapng"};
    struct extract_opts xo;
    char out[300];
    struct run r;

    for (size_t i = 0; i < 2; i++) {
        opts_to(&xo, out, sizeof(out), names[i]);
        run_extract(&r, files, 2, &xo, NULL, false);
        assert_int_equal(r.rc, TI_EUSAGE);
        assert_non_null(strstr(r.err, "link types"));
        assert_null(r.a);
        assert_int_equal(access(out, F_OK), -1);   /* nothing created */
    }
}

/* -w never writes over an input. */
static void test_refuses_input(void **state)
{
    char src[300], cmd[700];
    const char *files[1];
    struct extract_opts xo;
    struct run r;

    tpath(src, sizeof(src), "copy.pcap");
    snprintf(cmd, sizeof(cmd), "cp captures/rsa-ok-8443.pcap '%s'", src);
    assert_int_equal(system(cmd), 0);
    files[0] = src;
    extract_opts_default(&xo);
    xo.path = src;
    run_extract(&r, files, 1, &xo, NULL, false);
    assert_int_equal(r.rc, TI_EUSAGE);
    assert_null(r.a);
}

/* A capture cut mid-record: what was read before the cut is written, and
 * the extract is a whole file. */
static void test_cut_capture(void **state)
{
    const char *files[] = {"captures/cut-mid-packet.pcap"};
    struct extract_opts xo;
    char out[300];
    struct run r;
    static struct tcap ex;

    opts_to(&xo, out, sizeof(out), "cut.pcap");
    run_extract(&r, files, 1, &xo, NULL, false);
    assert_int_equal(r.rc, TI_OK);
    assert_true(r.a->inputs[0].truncated);
    assert_int_equal(r.a->extract.conns_written, 1);
    read_cap(out, &ex);
    assert_int_equal(ex.n, r.a->inputs[0].packets);   /* all four: SYN .. ClientHello */
    assert_int_equal(count(&ex, is_hs), 1);
    analysis_free(r.a);
}

/* Hold limit 0: every held connection is written at once (counted), the
 * output stays in capture order, and --only failed then writes more than
 * the failed ones -- the warning says so. */
static void test_hold_limit(void **state)
{
    const char *files[] = {"captures/many-flows.pcap"};
    struct extract_opts xo;
    char out[300];
    struct run r;
    static struct tcap ex;
    bool warned = false;

    opts_to(&xo, out, sizeof(out), "forced.pcap");
    xo.max_held_bytes = 0;
    xo.only = EXTRACT_FAILED;
    run_extract(&r, files, 1, &xo, NULL, true);
    assert_int_equal(r.rc, TI_OK);
    assert_true(r.a->extract.forced > 0);
    for (size_t i = 0; i < r.a->nwarnings; i++)
        warned |= strstr(r.a->warnings[i], "--max-extract-hold") != NULL;
    assert_true(warned);
    read_cap(out, &ex);
    for (size_t i = 1; i < ex.n; i++)
        assert_true(ex.p[i].ts >= ex.p[i - 1].ts);
    analysis_free(r.a);

    /* the default limit holds them all: nothing forced, in order too */
    opts_to(&xo, out, sizeof(out), "held.pcap");
    run_extract(&r, files, 1, &xo, NULL, true);
    assert_int_equal(r.rc, TI_OK);
    assert_int_equal(r.a->extract.forced, 0);
    assert_true(r.a->extract.held_peak > 0);
    read_cap(out, &ex);
    for (size_t i = 1; i < ex.n; i++)
        assert_true(ex.p[i].ts >= ex.p[i - 1].ts);
    analysis_free(r.a);
}

static size_t file_lines(const char *path, const char *must_contain)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t n = 0;

    if (f == NULL)
        fail_msg("%s missing", path);
    while (fgets(line, sizeof(line), f) != NULL)
        n += must_contain == NULL || strstr(line, must_contain) != NULL;
    fclose(f);
    return n;
}

/* --write-keylog: only the written connections' lines.  The key log of
 * tls13-keylog.pcap joined with tls13-hrr's: the extract of one connection
 * gets that connection's lines, none of the other's. */
static void test_keylog_subset(void **state)
{
    const char *files[] = {"captures/tls13-keylog.pcap"};
    char both[300], cmd[900], kout[300], out[300], kx[300];
    struct extract_opts xo;
    struct run r;
    size_t own, other;

    tpath(both, sizeof(both), "both.keys");
    snprintf(cmd, sizeof(cmd), "cat captures/tls13-keylog.keys captures/tls13-hrr.keys > '%s'", both);
    assert_int_equal(system(cmd), 0);
    own = file_lines("captures/tls13-keylog.keys", NULL);
    other = file_lines("captures/tls13-hrr.keys", NULL);
    assert_true(own > 0 && other > 0);

    opts_to(&xo, out, sizeof(out), "k.pcapng");
    tpath(kout, sizeof(kout), "k.keys");
    xo.keylog_out = kout;
    run_extract(&r, files, 1, &xo, both, false);
    assert_int_equal(r.rc, TI_OK);
    assert_int_equal(r.a->extract.keylog_lines, own);
    assert_int_equal(file_lines(kout, NULL), own);
    snprintf(cmd, sizeof(cmd), "cmp -s captures/tls13-keylog.keys '%s'", kout);
    assert_int_equal(system(cmd), 0);
    assert_true(r.a->conns[0]->keys_used);
    analysis_free(r.a);

    /* a connection filtered out: no lines at all */
    opts_to(&xo, out, sizeof(out), "k0.pcap");
    tpath(kx, sizeof(kx), "k0.keys");
    xo.keylog_out = kx;
    xo.only = EXTRACT_FAILED;
    run_extract(&r, files, 1, &xo, both, false);
    assert_int_equal(r.rc, TI_OK);
    assert_int_equal(r.a->extract.conns_written, 0);
    assert_int_equal(file_lines(kx, NULL), 0);
    analysis_free(r.a);

    /* the extract with its own key log decrypts as the original did */
    {
        const char *xf[] = {out};
        static struct analyze_opts o;
        struct analysis *a = NULL;
        char err[256];

        opts_to(&xo, out, sizeof(out), "k.pcapng");
        analyze_opts_default(&o);
        o.files = (char *const *)xf;
        o.nfiles = 1;
        o.keylog = kout;
        assert_int_equal(analyze_run(&o, &a, err, sizeof(err)), TI_OK);
        assert_int_equal(a->nconns, 1);
        assert_true(a->conns[0]->keys_used);
        assert_true(a->conns[0]->n_server_certs > 0);
        assert_true(a->inputs_extract[0]);
        analysis_free(a);
    }
}

/* The mark reader on damaged SHBs: no crash, no mark. */
static void test_mark_hostile(void **state)
{
    static const uint8_t shb_head[] = {0x0a, 0x0d, 0x0d, 0x0a};
    uint8_t b[64];
    char path[300];
    FILE *f;

    tpath(path, sizeof(path), "bad.pcapng");
    for (size_t len = 0; len <= sizeof(b); len += 4) {
        memset(b, 0xff, sizeof(b));
        memcpy(b, shb_head, 4);
        b[4] = (uint8_t)len;   /* block length, little-endian */
        b[5] = b[6] = b[7] = 0;
        b[8] = 0x4d; b[9] = 0x3c; b[10] = 0x2b; b[11] = 0x1a;
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, len, f), len);
        fclose(f);
        assert_false(extract_file_is_extract(path));
    }
    assert_false(extract_file_is_extract("/nonexistent/file"));
    assert_false(extract_file_is_extract("-"));
}

static void test_parse(void **state)
{
    enum extract_only o;

    assert_int_equal(extract_only_parse("failed", &o), 0);
    assert_int_equal(o, EXTRACT_FAILED);
    assert_int_equal(extract_only_parse("findings", &o), 0);
    assert_int_equal(o, EXTRACT_FINDINGS);
    assert_int_equal(extract_only_parse("all", &o), 0);
    assert_int_equal(o, EXTRACT_ALL);
    assert_int_equal(extract_only_parse("some", &o), -1);
    assert_true(extract_path_is_pcapng("a/b.pcapng"));
    assert_true(extract_path_is_pcapng("B.PCAPNG"));
    assert_false(extract_path_is_pcapng("b.pcap"));
    assert_false(extract_path_is_pcapng("pcapng"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_classes_complete),
        cmocka_unit_test(test_classes_alert_rst),
        cmocka_unit_test(test_ccs_kept),
        cmocka_unit_test(test_selection),
        cmocka_unit_test(test_multi_file),
        cmocka_unit_test(test_link_types),
        cmocka_unit_test(test_refuses_input),
        cmocka_unit_test(test_cut_capture),
        cmocka_unit_test(test_hold_limit),
        cmocka_unit_test(test_keylog_subset),
        cmocka_unit_test(test_mark_hostile),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
