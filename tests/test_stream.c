/* test_stream.c - connections that leave memory at release (issue 19).
 *
 * With drop_conns the analysis keeps no connection: what it reports after
 * the capture (capture-level findings, warnings, the exit status' tallies)
 * must be what it reports when it keeps them all, and every TLS connection
 * must reach the sinks once.  The streamed JSON report (a sink, with a
 * reorder stage that spills) must be byte for byte what report_json()
 * writes from the kept, sorted connections, whatever the spill limit.
 * Runs from the repository root (as `make unit` does).
 */
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
#include "tlsinspect/err.h"
#include "tlsinspect/report.h"
#include "tlsinspect/sink.h"
#include "tlsinspect/stream_order.h"

struct counting {
    uint64_t conns, finished;
    bool ids_zero;                  /* at release, ids are not known yet */
};

static int count_conn(void *ctx, const struct analysis *a, const struct conn *c)
{
    struct counting *k = ctx;
    k->conns++;
    k->ids_zero = k->ids_zero && c->id == 0;
    return TI_OK;
}

static int count_finish(void *ctx, const struct analysis *a)
{
    ((struct counting *)ctx)->finished++;
    return TI_OK;
}

static size_t hs_limit;             /* --max-handshake-bytes for the next analyze(), 0: default */

static struct analysis *analyze(char *const *files, size_t n, bool drop, struct counting *k,
                                const char *logfile)
{
    static struct analyze_opts o;
    struct conn_sink sink = {count_conn, count_finish, k};
    struct analysis *a = NULL;
    char err[1024] = "";

    analyze_opts_default(&o);
    o.files = files;
    o.nfiles = n;
    o.trust.cafile = "captures/pki/expressway-trust.pem";
    o.now = 1700000000;
    o.sinks = &sink;
    o.nsinks = 1;
    o.drop_conns = drop;
    if (hs_limit > 0)
        o.tls_limits.max_hs_msg = hs_limit;
    /* one --name nobody connects to: its warning must survive drop_conns */
    o.names[0].addr.ipver = 4;
    memcpy(o.names[0].addr.ip, "\xc0\x00\x02\x63", 4);
    o.names[0].name = "nobody.example";
    o.nnames = 1;
    if (logfile != NULL) {
        o.logs[0] = logfile;
        o.nlogs = 1;
    }
    memset(k, 0, sizeof(*k));
    k->ids_zero = true;
    if (analyze_run(&o, &a, err, sizeof(err)) != TI_OK)
        fail_msg("analyze_run: %s", err);
    return a;
}

static void same_after_capture(const struct analysis *x, const struct analysis *y)
{
    assert_int_equal(x->tls_conns, y->tls_conns);
    assert_memory_equal(x->limit_conns, y->limit_conns, sizeof(x->limit_conns));
    assert_memory_equal(x->finding_conns, y->finding_conns, sizeof(x->finding_conns));
    assert_int_equal(x->nglobal, y->nglobal);
    for (size_t i = 0; i < x->nglobal; i++) {
        assert_int_equal(x->global[i].id, y->global[i].id);
        assert_string_equal(x->global[i].message, y->global[i].message);
    }
    assert_int_equal(x->nwarnings, y->nwarnings);
    for (size_t i = 0; i < x->nwarnings; i++)
        assert_string_equal(x->warnings[i], y->warnings[i]);
}

static void check_drop(char *const *files, size_t n, const char *logfile, bool logs_keep)
{
    struct counting kk, kd;
    struct analysis *keep = analyze(files, n, false, &kk, logfile);
    struct analysis *drop = analyze(files, n, true, &kd, logfile);
    uint64_t nfind = 0;

    assert_int_equal(keep->nconns, keep->tls_conns);
    assert_int_equal(drop->nconns, logs_keep ? drop->tls_conns : 0);
    assert_int_equal(kk.conns, keep->tls_conns);
    assert_int_equal(kd.conns, drop->tls_conns);
    assert_int_equal(kk.finished, 1);
    assert_int_equal(kd.finished, 1);
    /* with logs the sinks see the connections after the correlation, with ids */
    assert_true(logs_keep ? !kd.ids_zero : kd.ids_zero);
    same_after_capture(keep, drop);
    for (size_t i = 0; i < keep->nconns; i++)
        nfind += keep->conns[i]->n_findings;
    for (int id = 0; id < FINDING_COUNT; id++)
        for (int s = 0; s <= SEV_ERROR; s++)
            nfind -= keep->finding_conns[id][s];
    assert_int_equal(nfind, 0);
    analysis_free(keep);
    analysis_free(drop);
}

static void test_drop_same_tallies(void **state)
{
    static char *const fixtures[][1] = {
        {"captures/field-case-6972.pcap"}, {"captures/many-flows.pcap"},
        {"captures/cut-variants.pcap"}, {"captures/post-upgrade.pcap"},
        {"captures/hostile-names.pcap"},
    };
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
        check_drop(fixtures[i], 1, NULL, false);
}

static void test_drop_two_inputs(void **state)
{
    static char *const files[] = {"captures/rotated-00.pcap", "captures/rotated-01.pcap"};
    check_drop(files, 2, NULL, false);
}

/* --max-handshake-bytes 100: every connection counts in LIMIT_REACHED. */
static void test_drop_limits(void **state)
{
    static char *const files[] = {"captures/field-case-6972.pcap"};
    struct counting k;
    struct analysis *a;

    hs_limit = 100;
    check_drop(files, 1, NULL, false);
    a = analyze(files, 1, true, &k, NULL);
    hs_limit = 0;
    assert_true(a->limit_conns[0] > 0);
    assert_int_equal(a->limit_conns[0], a->tls_conns);
    analysis_free(a);
}

/* A traffic_server log: the connections are kept (the correlation needs
 * them) and the sinks see them after it, with ids. */
static void test_logs_keep(void **state)
{
    static char *const files[] = {"captures/field-case-6972.pcap"};
    char path[] = "/tmp/test_stream_log_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    assert_non_null(f);
    fputs("2026-03-10T17:55:26.016+01:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING: Core "
          "server certificate verification failed for (cucm.steven.lab). Action=Terminate "
          "Error=self signed certificate server=cucm.steven.lab(10.48.36.215) depth=0\n", f);
    fclose(f);
    check_drop(files, 1, path, true);
    unlink(path);
}

/* ---- the reorder stage on its own ---------------------------------------------- */

struct collect {
    char *buf;
    size_t len, cap;
};

static int collect_emit(void *ctx, const char *text, size_t len)
{
    struct collect *k = ctx;
    if (k->len + len + 1 > k->cap) {
        k->cap = (k->len + len + 1) * 2;
        k->buf = realloc(k->buf, k->cap);
        assert_non_null(k->buf);
    }
    memcpy(k->buf + k->len, text, len);
    k->len += len;
    k->buf[k->len++] = '|';
    return TI_OK;
}

/* Keys added in a scrambled order with a floor that trails them: the same
 * sequence, sorted, whether nothing, some or everything spills. */
static void order_run(size_t max_bytes, struct collect *out, uint64_t *runs)
{
    struct stream_order *so = stream_order_new(max_bytes, collect_emit, out);
    enum { n = 500 };
    bool added[n] = {false};

    assert_non_null(so);
    for (int i = 0; i < n; i++) {
        struct conn_key k;
        char text[32];
        int j = (i * 7919) % n;     /* a permutation of 0..n-1 */

        memset(&k, 0, sizeof(k));
        k.first_ts = 1000 + j / 3;  /* ties broken by the server port, then serial */
        k.server.ipver = 4;
        k.server.port = (uint16_t)(j % 3 == 1 ? 443 : 6972);
        k.serial = (uint64_t)j;
        snprintf(text, sizeof(text), "conn-%04d-%s", j, j % 5 ? "x" : "a longer text");
        assert_int_equal(stream_order_add(so, &k, text, strlen(text)), TI_OK);
        added[j] = true;
        /* the floor: the smallest first_ts still to come */
        if (i % 50 == 49) {
            int m = 0;
            while (m < n && added[m])
                m++;
            assert_int_equal(stream_order_release(so, 1000 + m / 3), TI_OK);
        }
    }
    assert_int_equal(stream_order_finish(so), TI_OK);
    assert_int_equal(stream_order_late(so), 0);
    *runs = stream_order_runs(so);
    stream_order_free(so);
}

static void test_order_spill_same(void **state)
{
    struct collect a = {0}, b = {0}, c = {0};
    uint64_t ra, rb, rc;

    order_run(0, &a, &ra);
    order_run(200, &b, &rb);        /* a run every few texts */
    order_run(1, &c, &rc);          /* a run for every text; merged past SO_MAX_RUNS */
    assert_int_equal(ra, 0);
    assert_true(rb > 10);
    assert_true(rc > SO_MAX_RUNS);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.buf, b.buf, a.len);
    assert_int_equal(a.len, c.len);
    assert_memory_equal(a.buf, c.buf, a.len);
    /* sorted: first_ts 1000 first, port 443 before 6972 at equal times */
    assert_memory_equal(a.buf, "conn-0001-x|conn-0000-a longer text|conn-0002-x|", 47);
    free(a.buf);
    free(b.buf);
    free(c.buf);
}

/* A key below one already written goes out at once and is counted. */
static void test_order_late(void **state)
{
    struct collect out = {0};
    struct stream_order *so = stream_order_new(0, collect_emit, &out);
    struct conn_key k;

    memset(&k, 0, sizeof(k));
    k.first_ts = 50;
    assert_int_equal(stream_order_add(so, &k, "b", 1), TI_OK);
    assert_int_equal(stream_order_release(so, 100), TI_OK);
    k.first_ts = 10;
    assert_int_equal(stream_order_add(so, &k, "a", 1), TI_OK);
    k.first_ts = 200;
    assert_int_equal(stream_order_add(so, &k, "c", 1), TI_OK);
    assert_int_equal(stream_order_finish(so), TI_OK);
    assert_int_equal(stream_order_late(so), 1);
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.buf, "b|a|c|", 6);
    stream_order_free(so);
    free(out.buf);
}

/* ---- the JSON report, streamed and not ------------------------------------------- */

static char *slurp(FILE *f, size_t *len)
{
    long n;
    char *buf;

    assert_int_equal(fflush(f), 0);
    n = ftell(f);
    assert_true(n >= 0);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The report of files: streamed (a JSON sink, conns dropped, max_bytes held
 * before a spill) or, stream false, report_json() of the kept conns. */
static char *json_of(char *const *files, size_t n, enum report_format fmt, bool stream,
                     size_t max_bytes, size_t *len)
{
    static struct analyze_opts o;
    struct report_opts ro = {.format = fmt, .version = "test"};
    struct analysis *a = NULL;
    struct json_sink *js = NULL;
    struct conn_sink sink;
    char err[1024] = "";
    FILE *f = tmpfile();

    assert_non_null(f);
    analyze_opts_default(&o);
    o.files = files;
    o.nfiles = n;
    o.trust.cafile = "captures/pki/expressway-trust.pem";
    o.now = 1700000000;
    if (stream) {
        assert_int_equal(json_sink_new(&js, f, &ro, max_bytes, &sink), TI_OK);
        o.sinks = &sink;
        o.nsinks = 1;
        o.drop_conns = true;
    }
    if (analyze_run(&o, &a, err, sizeof(err)) != TI_OK)
        fail_msg("analyze_run: %s", err);
    if (stream) {
        assert_int_equal(a->nconns, 0);
        assert_int_equal(json_sink_end(js), TI_OK);
        json_sink_free(js);
    } else {
        assert_int_equal(report_json(f, a, &ro), TI_OK);
    }
    analysis_free(a);
    return slurp(f, len);
}

static void same_json(char *const *files, size_t n)
{
    for (int fmt = REPORT_JSON; fmt <= REPORT_JSONL; fmt++) {
        size_t lk, ls, lt;
        char *kept = json_of(files, n, (enum report_format)fmt, false, 0, &lk);
        char *streamed = json_of(files, n, (enum report_format)fmt, true, 0, &ls);
        char *tiny = json_of(files, n, (enum report_format)fmt, true, 1, &lt);

        assert_true(lk > 0);
        assert_int_equal(lk, ls);
        assert_memory_equal(kept, streamed, lk);
        assert_int_equal(lk, lt);
        assert_memory_equal(kept, tiny, lk);
        free(kept);
        free(streamed);
        free(tiny);
    }
}

static void test_json_stream_fixtures(void **state)
{
    static char *const fixtures[][1] = {
        {"captures/many-flows.pcap"}, {"captures/post-upgrade.pcap"},
        {"captures/cut-variants.pcap"}, {"captures/hostile-names.pcap"},
        {"captures/tls13-hrr.pcap"}, {"captures/ipv6.pcap"},
    };
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
        same_json(fixtures[i], 1);
}

/* Two inputs whose times interleave (the second starts before the first
 * and ends long after): read merged by time, reported in one order. */
static void test_json_stream_two_inputs(void **state)
{
    static char *const files[] = {"captures/many-flows.pcap", "captures/post-upgrade.pcap"};
    same_json(files, 2);
}

/* in, with every other pair of packets swapped: timestamps that step back
 * by a few milliseconds, within the lag. */
static void write_swapped(const char *in, const char *out)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(in, eb);
    pcap_dumper_t *d;
    struct pcap_pkthdr *h, held;
    const u_char *data;
    u_char *copy = NULL;
    int i = 0;

    assert_non_null(p);
    d = pcap_dump_open(p, out);
    assert_non_null(d);
    while (pcap_next_ex(p, &h, &data) == 1) {
        if (copy == NULL && i++ % 2 == 0) {
            held = *h;
            copy = malloc(h->caplen ? h->caplen : 1);
            assert_non_null(copy);
            memcpy(copy, data, h->caplen);
            continue;
        }
        pcap_dump((u_char *)d, h, data);
        if (copy != NULL) {
            pcap_dump((u_char *)d, &held, copy);
            free(copy);
            copy = NULL;
        }
    }
    if (copy != NULL)
        pcap_dump((u_char *)d, &held, copy);
    free(copy);
    pcap_dump_close(d);
    pcap_close(p);
}

static void test_json_stream_steps_back(void **state)
{
    char path[] = "/tmp/test_stream_swapped_XXXXXX";
    int fd = mkstemp(path);
    char *files[] = {path};

    assert_true(fd >= 0);
    close(fd);
    write_swapped("captures/many-flows.pcap", path);
    same_json(files, 1);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drop_same_tallies),
        cmocka_unit_test(test_drop_two_inputs),
        cmocka_unit_test(test_drop_limits),
        cmocka_unit_test(test_logs_keep),
        cmocka_unit_test(test_order_spill_same),
        cmocka_unit_test(test_order_late),
        cmocka_unit_test(test_json_stream_fixtures),
        cmocka_unit_test(test_json_stream_two_inputs),
        cmocka_unit_test(test_json_stream_steps_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
