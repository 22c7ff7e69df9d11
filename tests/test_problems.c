/* test_problems.c - one root cause, one problem: real fixtures through analyze_run(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/problems.h"
#include "tlsinspect/report.h"
#include "tlsinspect/role.h"

#define TRUST "captures/pki/expressway-trust.pem"

static struct analysis *run(const char *f1, const char *f2, bool all_ports, const char *client_ca,
                            struct problems *p)
{
    static struct analyze_opts o;
    static char *files[2];
    struct analysis *a = NULL;
    char err[512] = "";

    analyze_opts_default(&o);
    files[0] = (char *)f1;
    files[1] = (char *)f2;
    o.files = files;
    o.nfiles = f2 ? 2 : 1;
    o.trust.cafile = TRUST;
    o.trust.client_cafile = client_ca;
    o.all_ports = all_ports;
    o.now = 1773161726;             /* 2026-03-10 */
    if (analyze_run(&o, &a, err, sizeof(err)) != TI_OK)
        fail_msg("analyze_run(%s): %s", f1, err);
    assert_int_equal(problems_build(a, p), TI_OK);
    return a;
}

static bool has_ref(const struct problem *p, const char *ref)
{
    for (size_t i = 0; i < p->nrefs; i++)
        if (strcmp(p->references[i], ref) == 0)
            return true;
    return false;
}

/* The post-upgrade 6972 case: five failed connections, three findings
 * each, one root cause: the self-signed tomcat-ECDSA certificate, chosen
 * because the client prefers ECDSA. */
static void test_post_upgrade_is_one_problem(void **state)
{
    struct problems p;
    char sb[64];
    struct analysis *a = run("captures/post-upgrade.pcap", NULL, false, NULL, &p);
    (void)state;

    assert_int_equal(p.n, 1);
    const struct problem *pr = &p.v[0];
    assert_int_equal(pr->cause, FINDING_CHAIN_SELF_SIGNED);
    assert_int_equal(pr->severity, SEV_ERROR);
    assert_int_equal(pr->role, ROLE_CUCM);
    assert_int_equal(pr->nservers, 1);
    assert_string_equal(problems_server_str(&pr->servers[0], sb, sizeof(sb)), "10.48.36.215:6972");
    assert_int_equal(pr->connections, 5);
    assert_int_equal(pr->failed, 5);
    assert_true(pr->ecdsa_preferred);
    assert_non_null(pr->leaf);
    assert_string_equal(pr->leaf->cn, "cucm-EC.steven.lab");
    assert_non_null(strstr(pr->summary, "because the client prefers ECDSA"));
    assert_non_null(strstr(pr->fix, "Trusted CA certificate"));
    assert_non_null(pr->workaround);
    assert_non_null(strstr(pr->workaround, "\"ECDHE-RSA-AES256-GCM-SHA384:\""));
    assert_non_null(strstr(pr->workaround, "xConfiguration EdgeConfigServer VerifyOriginServer: Off"));
    assert_true(has_ref(pr, "CSCwc69661"));
    assert_true(has_ref(pr, "CSCwa25108"));
    problems_free(&p);
    analysis_free(a);
}

static void test_pre_upgrade_has_none(void **state)
{
    struct problems p;
    struct analysis *a = run("captures/pre-upgrade.pcap", NULL, false, NULL, &p);
    (void)state;
    assert_int_equal(p.n, 0);
    problems_free(&p);
    analysis_free(a);
}

/* Two captures read as one: the five-connection problem before the
 * one-connection one (worst first); the name problem is not also a
 * FATAL_ALERT problem. */
static void test_worst_first_and_one_cause_per_connection(void **state)
{
    struct problems p;
    struct analysis *a = run("captures/post-upgrade.pcap", "captures/ip-not-in-san.pcap", false,
                             NULL, &p);
    (void)state;
    assert_int_equal(p.n, 2);
    assert_int_equal(p.v[0].cause, FINDING_CHAIN_SELF_SIGNED);
    assert_int_equal(p.v[1].cause, FINDING_NAME_MISMATCH);
    assert_int_equal(p.v[1].connections, 1);
    assert_non_null(strstr(p.v[1].summary, "10.48.36.215"));
    assert_non_null(strstr(p.v[1].workaround, "VerifyOriginServer: Off"));
    problems_free(&p);
    analysis_free(a);
}

/* CUCM rejecting the Expressway-C certificate: the client's leaf is at
 * fault, the CUCM trust stores are the fix (CSCvz45074). */
static void test_client_certificate_problem(void **state)
{
    struct problems p;
    struct analysis *a = run("captures/mtls-client-rejected.pcap", NULL, false,
                             "captures/pki/cucm-trust.pem", &p);
    (void)state;
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].cause, FINDING_CLIENT_CERT_REJECTED);
    assert_true(p.v[0].client_leaf);
    assert_string_equal(p.v[0].leaf->cn, "expc.steven.lab");
    assert_non_null(strstr(p.v[0].fix, "tomcat-trust"));
    assert_true(has_ref(&p.v[0], "CSCvz45074"));
    assert_null(p.v[0].workaround);
    problems_free(&p);
    analysis_free(a);
}

/* 48 connections on five endpoints: the 16 failures are one problem; the
 * TLS 1.3 connections without keys (info) are none. */
static void test_many_flows(void **state)
{
    struct problems p;
    struct analysis *a = run("captures/many-flows.pcap", NULL, true, NULL, &p);
    (void)state;
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].connections, 16);
    problems_free(&p);
    analysis_free(a);
}

/* The text report: Problems on the first screen, before the endpoint
 * table and the ladders. */
static void test_text_first_screen(void **state)
{
    struct problems p;
    struct analysis *a = run("captures/post-upgrade.pcap", NULL, false, NULL, &p);
    struct report_opts ro = {.format = REPORT_TEXT, .version = "t"};
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    (void)state;

    assert_non_null(fp);
    assert_int_equal(report_text(fp, a, &ro), TI_OK);
    fclose(fp);
    const char *pr = strstr(buf, "\nProblems: 1 ");
    const char *table = strstr(buf, "\nserver ");
    const char *ladder = strstr(buf, " -> 10.48.36.215:6972");
    assert_non_null(pr);
    assert_non_null(table);
    assert_non_null(ladder);
    assert_true(pr < table && table < ladder);
    assert_non_null(strstr(pr, "1. CHAIN_SELF_SIGNED  10.48.36.215:6972  (cucm:"));
    assert_non_null(strstr(pr, "     workaround: "));
    assert_non_null(strstr(pr, "     references: CSCwc69661, CSCwa25108"));
    /* -q keeps the fix lines */
    free(buf);
    buf = NULL;
    fp = open_memstream(&buf, &len);
    ro.quiet = true;
    assert_int_equal(report_text(fp, a, &ro), TI_OK);
    fclose(fp);
    assert_non_null(strstr(buf, "\n  fix: Upload this self-signed certificate"));
    free(buf);
    problems_free(&p);
    analysis_free(a);
}

static void assert_same_problems(const struct problems *x, const struct problems *y)
{
    assert_int_equal(x->n, y->n);
    for (size_t i = 0; i < x->n; i++) {
        const struct problem *a = &x->v[i], *b = &y->v[i];
        assert_int_equal(a->cause, b->cause);
        assert_int_equal(a->severity, b->severity);
        assert_int_equal(a->role, b->role);
        assert_ptr_equal(a->leaf, b->leaf);
        assert_int_equal(a->client_leaf, b->client_leaf);
        assert_int_equal(a->nservers, b->nservers);
        assert_memory_equal(a->servers, b->servers, a->nservers * sizeof(*a->servers));
        assert_int_equal(a->connections, b->connections);
        assert_int_equal(a->failed, b->failed);
        assert_int_equal(conn_key_cmp(&a->first, &b->first), 0);
        assert_int_equal(a->ecdsa_preferred, b->ecdsa_preferred);
        assert_string_equal(a->summary, b->summary);
        assert_string_equal(a->fix, b->fix);
        assert_ptr_equal(a->workaround, b->workaround);
        assert_int_equal(a->nrefs, b->nrefs);
        for (size_t k = 0; k < a->nrefs; k++)
            assert_string_equal(a->references[k], b->references[k]);
    }
}

/* Streaming: connections fed one at a time in release order, not report
 * order; reversed and shuffled feeds give the problems of the ordered list. */
static void test_any_order(void **state)
{
    static const char *const cases[][2] = {
        {"captures/post-upgrade.pcap", "captures/ip-not-in-san.pcap"},
        {"captures/many-flows.pcap", NULL},
        {"captures/mtls-client-rejected.pcap", "captures/post-upgrade.pcap"},
    };
    (void)state;
    for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        struct problems p, q;
        struct analysis *a = run(cases[t][0], cases[t][1], t == 1, NULL, &p);
        size_t *perm = malloc((a->nconns + 1) * sizeof(*perm));
        uint32_t rnd = 12345;

        assert_non_null(perm);
        assert_true(p.n > 0);
        for (int shuffle = 0; shuffle < 2; shuffle++) {
            struct problems_acc *acc = problems_acc_new();
            assert_non_null(acc);
            for (size_t i = 0; i < a->nconns; i++)
                perm[i] = a->nconns - 1 - i;
            for (size_t i = a->nconns; shuffle && i > 1; i--) {
                rnd = rnd * 1103515245u + 12345u;
                size_t j = (rnd >> 8) % i, x = perm[i - 1];
                perm[i - 1] = perm[j];
                perm[j] = x;
            }
            for (size_t i = 0; i < a->nconns; i++)
                assert_int_equal(problems_acc_add(acc, a, a->conns[perm[i]]), TI_OK);
            assert_int_equal(problems_acc_build(acc, a, &q), TI_OK);
            assert_same_problems(&p, &q);
            problems_free(&q);
            problems_acc_free(acc);
        }
        free(perm);
        problems_free(&p);
        analysis_free(a);
    }
}

/* One problem on many servers, fed last first: the servers are counted
 * once each and sorted, the first connection is the earliest. */
static void test_acc_many_servers(void **state)
{
    struct problems p;
    struct analysis *a = run("captures/post-upgrade.pcap", NULL, false, NULL, &p);
    struct problems_acc *acc = problems_acc_new();
    struct conn c;
    char sb[64];
    (void)state;

    assert_non_null(acc);
    assert_true(a->nconns > 0);
    for (int rep = 0; rep < 3; rep++)
        for (unsigned i = 300; i-- > 0;) {
            c = *a->conns[0];           /* a shallow copy, only read */
            c.server.port = (uint16_t)(1000 + i);
            c.serial = 1000 * (uint64_t)rep + i;
            c.first_ts += (int64_t)i;
            assert_int_equal(problems_acc_add(acc, a, &c), TI_OK);
        }
    problems_free(&p);
    assert_int_equal(problems_acc_build(acc, a, &p), TI_OK);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].nservers, 300);
    assert_int_equal(p.v[0].connections, 900);
    assert_string_equal(problems_server_str(&p.v[0].servers[0], sb, sizeof(sb)), "10.48.36.215:1000");
    assert_string_equal(problems_server_str(&p.v[0].servers[299], sb, sizeof(sb)), "10.48.36.215:1299");
    assert_int_equal(p.v[0].first.serial, 0);
    assert_int_equal(p.v[0].first.server.port, 1000);
    problems_free(&p);
    problems_acc_free(acc);
    analysis_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_upgrade_is_one_problem),
        cmocka_unit_test(test_pre_upgrade_has_none),
        cmocka_unit_test(test_worst_first_and_one_cause_per_connection),
        cmocka_unit_test(test_client_certificate_problem),
        cmocka_unit_test(test_many_flows),
        cmocka_unit_test(test_text_first_screen),
        cmocka_unit_test(test_any_order),
        cmocka_unit_test(test_acc_many_servers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
