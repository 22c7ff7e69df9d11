/* test_stream.c - connections that leave memory at release (issue 19).
 *
 * With drop_conns the analysis keeps no connection: what it reports after
 * the capture (capture-level findings, warnings, the exit status' tallies)
 * must be what it reports when it keeps them all, and every TLS connection
 * must reach the sinks once.  Runs from the repository root (as `make
 * unit` does).
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

#include "tlsinspect/analyze.h"
#include "tlsinspect/err.h"
#include "tlsinspect/sink.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drop_same_tallies),
        cmocka_unit_test(test_drop_two_inputs),
        cmocka_unit_test(test_drop_limits),
        cmocka_unit_test(test_logs_keep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
