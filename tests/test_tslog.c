/* test_tslog.c - traffic_server log lines: each form, wrapping, base64, truncation at every length. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/err.h"
#include "tlsinspect/tslog.h"

/* The Expressway's own lines (issue 20). */
static const char L_VERIFY_EQ[] =
    "2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING: Core server "
    "certificate verification failed for (cucm.steven.lab). Action=Terminate Error=self signed "
    "certificate server=cucm.steven.lab(10.48.36.215) depth=0";
static const char L_VERIFY_COLON[] =
    "2022-07-11T19:33:06.740+02:00 vcsd traffic_server[3936]: [ET_NET 0] WARNING: Core server "
    "certificate verification failed for (10.48.36.215). Action:Terminate Error=ssl signed "
    "certificate in certificate chain server=10.48.36.215(10.48.36.215) depth=1";
static const char L_SSL[] =
    "2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] ERROR: SSL connection "
    "failed for 'cucm.steven.lab': error:1416F086:SSL routines:tls_process_server_certificate:"
    "certificate verify failed";
static const char L_SNI[] =
    "2022-07-11T19:49:01.533+02:00 vcsd traffic_server[3936]: [ET_NET 2] WARNING: SNI "
    "(10.48.36.215) not in certificate. Action:Terminate server=10.48.36.215(10.48.36.215)";
static const char L_HTTP[] =
    "2022-07-11T19:49:01.472+02:00 vcsc traffic_server[3916]: UTCTime=\"2022-07-11 17:49:01,472\" "
    "Module=\"network\" Level=\"DEBUG\":  Action=\"Received\" HTTPMSG: |GET "
    "http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy8xMC40OC4zNi4yMTUvODQ0Mw/"
    "cucm-uds/user/emusk/devices?max=100 HTTP/1.1";

/* 2022-07-11T16:55:26.016Z in microseconds */
#define T_1655 ((int64_t)1657558526 * 1000000 + 16000)

static int parse(const char *s, struct tslog_entry *e, struct tslog_addr *a, char *host)
{
    return tslog_parse_line(s, strlen(s), e, a, host, 64);
}

static void test_time(void **state)
{
    int64_t us;

    (void)state;
    assert_int_equal(tslog_parse_time("2022-07-11T18:55:26.016+02:00", 29, &us), 29);
    assert_true(us == T_1655);
    assert_int_equal(tslog_parse_time("2022-07-11T16:55:26.016Z", 24, &us), 24);
    assert_true(us == T_1655);
    assert_int_equal(tslog_parse_time("2022-07-11T11:25:26.016-0530", 28, &us), 28);
    assert_true(us == T_1655);
    assert_int_equal(tslog_parse_time("2022-13-11T18:55:26", 19, &us), 0);   /* month 13 */
    assert_int_equal(tslog_parse_time("2022-07-11 18:55:26", 19, &us), 0);   /* no T */
    assert_int_equal(tslog_parse_time("2022-07-11T18:55", 16, &us), 0);
    assert_int_equal(tslog_parse_time("2022-07-11T18:55:26.+02:00", 26, &us), 0);
}

static void test_verify_both_actions(void **state)
{
    struct tslog_entry e;
    struct tslog_addr a;
    char host[64];

    (void)state;
    assert_int_equal(parse(L_VERIFY_EQ, &e, &a, host), TSLOG_LINE_FAILURE);
    assert_int_equal(e.kind, TSLOG_VERIFY_FAILED);
    assert_string_equal(host, "vcsc");
    assert_string_equal(e.name, "cucm.steven.lab");
    assert_string_equal(e.server_name, "cucm.steven.lab");
    assert_int_equal(e.server.ipver, 4);
    assert_memory_equal(e.server.ip, "\x0a\x30\x24\xd7", 4);
    assert_string_equal(e.error, "self signed certificate");
    assert_int_equal(e.depth, 0);
    assert_true(e.ts == T_1655);
    tslog_entry_clear(&e);

    assert_int_equal(parse(L_VERIFY_COLON, &e, &a, host), TSLOG_LINE_FAILURE);
    assert_string_equal(host, "vcsd");
    assert_string_equal(e.error, "ssl signed certificate in certificate chain");
    assert_int_equal(e.depth, 1);
    assert_string_equal(e.server_name, "10.48.36.215");
    tslog_entry_clear(&e);
}

static void test_ssl_and_sni(void **state)
{
    struct tslog_entry e;
    struct tslog_addr a;
    char host[64];

    (void)state;
    assert_int_equal(parse(L_SSL, &e, &a, host), TSLOG_LINE_FAILURE);
    assert_int_equal(e.kind, TSLOG_SSL_FAILED);
    assert_string_equal(e.name, "cucm.steven.lab");
    assert_int_equal(e.server.ipver, 0);       /* no server=: matched by name */
    assert_string_equal(e.error, "error:1416F086:SSL routines:tls_process_server_certificate:"
                                 "certificate verify failed");
    tslog_entry_clear(&e);

    assert_int_equal(parse(L_SNI, &e, &a, host), TSLOG_LINE_FAILURE);
    assert_int_equal(e.kind, TSLOG_SNI_NOT_IN_CERT);
    assert_string_equal(e.name, "10.48.36.215");
    assert_int_equal(e.server.ipver, 4);
    assert_int_equal(e.depth, -1);
    tslog_entry_clear(&e);
}

static void test_httpmsg(void **state)
{
    struct tslog_entry e;
    struct tslog_addr a;
    char host[64];

    (void)state;
    assert_int_equal(parse(L_HTTP, &e, &a, host), TSLOG_LINE_ADDR);
    assert_string_equal(a.domain, "steven.lab");
    assert_string_equal(a.protocol, "https");
    assert_string_equal(a.host, "10.48.36.215");
    assert_int_equal(a.port, 8443);
    /* UTCTime wins: 17:49:01,472 UTC, not 19:49:01.472+02:00 (the same here) */
    assert_true(a.first_ts == ((int64_t)1657561741 * 1000000 + 472000));
    tslog_addr_clear(&a);
}

static void test_bad_base64(void **state)
{
    static const char *const bad[] = {
        /* a character outside both alphabets */
        "2022-07-11T19:49:01.472+02:00 h p: HTTPMSG: |GET http://x:8443/c3Rld*mVu/a HTTP/1.1",
        /* length 4k+1: cannot end a byte */
        "2022-07-11T19:49:01.472+02:00 h p: HTTPMSG: |GET http://x:8443/c3RldmVuL/a HTTP/1.1",
        /* decodes, but not four parts ("steven.lab") */
        "2022-07-11T19:49:01.472+02:00 h p: HTTPMSG: |GET http://x:8443/c3RldmVuLmxhYg/a HTTP/1.1",
        /* four parts, port not a number ("a/b/c/d") */
        "2022-07-11T19:49:01.472+02:00 h p: HTTPMSG: |GET http://x:8443/YS9iL2MvZA/a HTTP/1.1",
        /* port 0 ("a/b/c/0") */
        "2022-07-11T19:49:01.472+02:00 h p: HTTPMSG: |GET http://x:8443/YS9iL2MvMA/a HTTP/1.1",
        /* no path */
        "2022-07-11T19:49:01.472+02:00 h p: HTTPMSG: |GET http://x:8443",
    };
    struct tslog_entry e;
    struct tslog_addr a;
    char host[64];
    uint8_t out[8];

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse(bad[i], &e, &a, host), TSLOG_LINE_BAD_ADDR);
    /* padded standard base64 decodes too; output bounded */
    assert_int_equal(tslog_b64_decode("YS9i", 4, out, sizeof out), 3);
    assert_int_equal(tslog_b64_decode("YQ==", 4, out, sizeof out), 1);
    assert_int_equal(tslog_b64_decode("YWJjZGVmZ2hp", 12, out, sizeof out), -1);  /* 9 > 8 */
}

static void test_unknown_and_not_log(void **state)
{
    struct tslog_entry e;
    struct tslog_addr a;
    char host[64];

    (void)state;
    assert_int_equal(parse("2022-07-11T19:49:01.472+02:00 vcsc kernel: eth0 up", &e, &a, host),
                     TSLOG_LINE_OTHER);
    assert_string_equal(host, "vcsc");
    assert_int_equal(parse("|GET http://x/y HTTP/1.1", &e, &a, host), TSLOG_LINE_NONE);
    assert_int_equal(parse("", &e, &a, host), TSLOG_LINE_NONE);
    /* the failure words without their closing bracket are no failure */
    assert_int_equal(parse("2022-07-11T19:49:01Z h p: certificate verification failed for (x",
                           &e, &a, host), TSLOG_LINE_OTHER);
}

/* Every prefix of every line: never a crash, never a read past the end
 * (the copy is exactly n bytes, so ASan sees an overrun), a sane result. */
static void test_every_prefix(void **state)
{
    const char *const lines[] = {L_VERIFY_EQ, L_VERIFY_COLON, L_SSL, L_SNI, L_HTTP};

    (void)state;
    for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++) {
        size_t len = strlen(lines[k]);
        for (size_t n = 0; n <= len; n++) {
            char *copy = malloc(n ? n : 1);
            struct tslog_entry e;
            struct tslog_addr a;
            char host[8];   /* small on purpose: the host is cut, not overrun */
            int rc;

            assert_non_null(copy);
            memcpy(copy, lines[k], n);
            rc = tslog_parse_line(copy, n, &e, &a, host, sizeof host);
            assert_true(rc >= TSLOG_LINE_NONE && rc <= TSLOG_LINE_BAD_ADDR);
            if (n < 19)
                assert_int_equal(rc, TSLOG_LINE_NONE);
            if (n == len)
                assert_true(rc == TSLOG_LINE_FAILURE || rc == TSLOG_LINE_ADDR);
            if (rc == TSLOG_LINE_FAILURE)
                tslog_entry_clear(&e);
            if (rc == TSLOG_LINE_ADDR)
                tslog_addr_clear(&a);
            assert_true(strlen(host) < sizeof host);
            free(copy);
        }
    }
}

/* Fed in chunks of every size, with wrapped lines and CRLF: the same result. */
static void test_feed_wrapped(void **state)
{
    static const char text[] =
        "2026-03-10T17:55:26.016+01:00 vcsc traffic_server[1]: [ET_NET 0] WARNING: Core server "
        "certificate verification failed for (cucm.steven.lab). Action=Terminate\r\n"
        "   Error=self signed certificate server=cucm.steven.lab(10.48.36.215) depth=0\r\n"
        "2026-03-10T17:55:29.040+01:00 vcsc traffic_server[2]: HTTPMSG:\n"
        "|GET http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy8xMC40OC4zNi4yMTUvODQ0Mw/"
        "cucm-uds/x HTTP/1.1\n"
        "garbage before nothing\n"
        "2026-03-10T17:55:30.000+01:00 vcsc sshd[3]: accepted\n"
        "2026-03-10T17:55:31.000+01:00 vcsc traffic_server[2]: HTTPMSG:\n"
        "|GET http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy8xMC40OC4zNi4yMTUvODQ0Mw/"
        "cucm-uds/y HTTP/1.1";      /* no final newline */
    size_t len = strlen(text);

    (void)state;
    for (size_t chunk = 1; chunk <= len; chunk += (chunk < 16 ? 1 : 37)) {
        struct tslog *lg = NULL;
        struct tslog_entry *es;
        const struct tslog_addr *as;
        size_t ne, na, nn;
        const char *const *nodes;

        assert_int_equal(tslog_new(&lg), TI_OK);
        assert_int_equal(tslog_begin_file(lg, "x.log", NULL), TI_OK);
        for (size_t off = 0; off < len; off += chunk)
            assert_int_equal(tslog_feed(lg, text + off, len - off < chunk ? len - off : chunk), TI_OK);
        assert_int_equal(tslog_end_file(lg), TI_OK);
        es = tslog_entries(lg, &ne);
        as = tslog_addrs(lg, &na);
        nodes = tslog_nodes(lg, &nn);
        assert_int_equal(ne, 1);
        assert_int_equal(es[0].line, 1);
        assert_string_equal(es[0].error, "self signed certificate");
        assert_int_equal(es[0].depth, 0);
        assert_int_equal(nn, 1);
        assert_string_equal(nodes[es[0].node], "vcsc");
        assert_int_equal(na, 1);
        assert_int_equal(as[0].count, 2);
        assert_int_equal(as[0].port, 8443);
        /* failure, HTTPMSG (+ the garbage line, which continues it), sshd, HTTPMSG */
        assert_int_equal(tslog_stats(lg)->lines, 4);
        assert_int_equal(tslog_stats(lg)->unknown, 1);
        assert_string_equal(tslog_file_node(lg, 0), "vcsc");
        tslog_free(lg);
    }
}

/* A line longer than TSLOG_MAX_LINE is cut and counted; memory stays bounded. */
static void test_long_line(void **state)
{
    struct tslog *lg = NULL;
    size_t n = TSLOG_MAX_LINE * 3;
    char *big = malloc(n);
    static const char head[] = "2026-03-10T17:55:26.016+01:00 vcsc traffic_server[1]: ";

    (void)state;
    assert_non_null(big);
    memset(big, 'x', n);
    memcpy(big, head, sizeof head - 1);
    big[n - 1] = '\n';
    assert_int_equal(tslog_new(&lg), TI_OK);
    assert_int_equal(tslog_begin_file(lg, "big.log", "node1"), TI_OK);
    assert_int_equal(tslog_feed(lg, big, n), TI_OK);
    assert_int_equal(tslog_feed(lg, L_SNI, strlen(L_SNI)), TI_OK);
    assert_int_equal(tslog_end_file(lg), TI_OK);
    assert_int_equal(tslog_stats(lg)->lines, 2);
    assert_int_equal(tslog_stats(lg)->cut, 1);
    {
        size_t ne;
        struct tslog_entry *es = tslog_entries(lg, &ne);
        assert_int_equal(ne, 1);
        assert_int_equal(es[0].line, 2);
    }
    tslog_free(lg);
    free(big);
}

static void test_sniff(void **state)
{
    (void)state;
    assert_true(tslog_sniff((const uint8_t *)L_SSL, strlen(L_SSL)));
    assert_false(tslog_sniff((const uint8_t *)"<?xml version", 13));
    assert_false(tslog_sniff((const uint8_t *)"2022-07-11T18:55:26\0", 20));   /* binary */
    assert_false(tslog_sniff((const uint8_t *)"", 0));
}

/* ---- correlation ------------------------------------------------------------------ */

struct misses {
    char msg[4][1024];
    size_t n;
};

static int on_miss(void *ctx, const char *msg)
{
    struct misses *m = ctx;
    if (m->n < 4)
        snprintf(m->msg[m->n], sizeof m->msg[0], "%s", msg);
    m->n++;
    return TI_OK;
}

static void mk_conn(struct conn *c, uint64_t id, const char *ip, int64_t t0, int64_t t1,
                    const char *sni)
{
    conn_init(c);
    c->id = id;
    c->server.ipver = 4;
    assert_int_equal(inet_pton(AF_INET, ip, c->server.ip), 1);
    c->server.port = 8443;
    c->first_ts = t0;
    c->last_ts = t1;
    c->outcome = OUTCOME_FAILED;
    if (sni != NULL) {
        c->n_ch = 1;
        c->ch[0].sni = strdup(sni);
        assert_non_null(c->ch[0].sni);
    }
}

#define S(x) ((int64_t)(x) * 1000000)
#define BASE S(1773161726)   /* 2026-03-10T16:55:26Z */

static void test_correlate(void **state)
{
    /* node vcsc: a verify failure at +0.016 s (server by address), an SSL
     * failure by name only (SNI), one for a server with no connection, one
     * 5 s from the nearest connection; node vcsd: a line whose only
     * connection in time belongs to vcsc */
    static const char text_c[] =
        "2026-03-10T17:55:26.016+01:00 vcsc ts[1]: WARNING: Core server certificate verification "
        "failed for (cucm). Action=Terminate Error=self signed certificate server=cucm(10.0.0.1) depth=0\n"
        "2026-03-10T17:55:26.100+01:00 vcsc ts[1]: ERROR: SSL connection failed for 'imp.lab': error:x\n"
        "2026-03-10T17:55:27.000+01:00 vcsc ts[1]: WARNING: SNI (x) not in certificate. Action:Terminate server=x(10.0.0.9)\n"
        "2026-03-10T17:55:36.000+01:00 vcsc ts[1]: WARNING: SNI (y) not in certificate. Action:Terminate server=y(10.0.0.1)\n";
    static const char text_d[] =
        "2026-03-10T17:55:26.016+01:00 vcsd ts[1]: WARNING: Core server certificate verification "
        "failed for (cucm). Action=Terminate Error=self signed certificate server=cucm(10.0.0.1) depth=0\n";
    struct tslog *lg = NULL;
    struct conn c[3];
    struct tslog_conn tc[3];
    struct misses m = {.n = 0};
    uint64_t outside = 0;
    const struct tslog_entry *const *es;

    (void)state;
    mk_conn(&c[0], 1, "10.0.0.1", BASE, BASE + S(1), "cucm");
    mk_conn(&c[1], 2, "10.0.0.2", BASE, BASE + S(1), "imp.lab");
    mk_conn(&c[2], 3, "10.0.0.1", BASE + S(20), BASE + S(21), NULL);
    tc[0] = (struct tslog_conn){&c[0], "vcsc"};
    tc[1] = (struct tslog_conn){&c[1], "vcsc"};
    tc[2] = (struct tslog_conn){&c[2], "vcsc"};
    assert_int_equal(tslog_new(&lg), TI_OK);
    assert_int_equal(tslog_begin_file(lg, "c.log", NULL), TI_OK);
    assert_int_equal(tslog_feed(lg, text_c, strlen(text_c)), TI_OK);
    assert_int_equal(tslog_end_file(lg), TI_OK);
    assert_int_equal(tslog_begin_file(lg, "d.log", NULL), TI_OK);
    assert_int_equal(tslog_feed(lg, text_d, strlen(text_d)), TI_OK);
    assert_int_equal(tslog_end_file(lg), TI_OK);

    assert_int_equal(tslog_correlate(lg, tc, 3, S(2), 99, on_miss, &m, &outside), TI_OK);
    assert_int_equal(outside, 0);
    assert_int_equal(tslog_stats(lg)->matched, 2);
    assert_int_equal(tslog_for_conn(lg, 1, &es), 1);     /* vcsc's verify failure */
    assert_int_equal(es[0]->line, 1);
    assert_int_equal(tslog_for_conn(lg, 2, &es), 1);     /* the SSL failure, by SNI */
    assert_int_equal(es[0]->kind, TSLOG_SSL_FAILED);
    assert_int_equal(tslog_for_conn(lg, 3, &es), 0);
    /* three messages, sorted by the server as the log names it: cucm on
     * vcsd (no connection of that node), x (none at all), y on vcsc (the
     * clocks: 9 s to conn 1) */
    assert_int_equal(m.n, 3);
    assert_non_null(strstr(m.msg[0], "node vcsd"));
    assert_non_null(strstr(m.msg[0], "no connection to that server at all"));
    assert_non_null(strstr(m.msg[1], "x(10.0.0.9)"));
    assert_non_null(strstr(m.msg[1], "no connection to that server at all"));
    assert_non_null(strstr(m.msg[2], "nearest connection to that server is 9.000 s away"));
    /* the first failure agrees with a failed connection: no finding */
    assert_int_equal(c[0].n_findings, 0);

    /* a window of 10 s takes the 36 s line to conn 1 (9 s) */
    m.n = 0;
    assert_int_equal(tslog_correlate(lg, tc, 3, S(10), 99, on_miss, &m, &outside), TI_OK);
    assert_int_equal(tslog_stats(lg)->matched, 3);
    assert_int_equal(tslog_for_conn(lg, 1, &es), 2);
    assert_true(es[0]->ts < es[1]->ts);

    /* a verified, completed connection the log calls failed: the finding */
    c[1].outcome = OUTCOME_COMPLETE;
    c[1].verify.done = true;
    c[1].verify.verdict.result = X509_CHAIN_OK;
    c[1].verify.verdict.name_checked = true;
    c[1].verify.verdict.name_ok = true;
    m.n = 0;
    assert_int_equal(tslog_correlate(lg, tc, 3, S(2), 99, on_miss, &m, &outside), TI_OK);
    assert_int_equal(c[1].n_findings, 1);
    assert_int_equal(c[1].findings[0].id, 99);

    /* no connection at all: every line is outside the capture */
    m.n = 0;
    assert_int_equal(tslog_correlate(lg, tc, 0, S(2), 99, on_miss, &m, &outside), TI_OK);
    assert_int_equal(outside, 5);
    assert_int_equal(m.n, 0);
    for (int i = 0; i < 3; i++)
        conn_free(&c[i]);
    tslog_free(lg);
}

/* The connect address is the expected name for its ip:port, found through
 * the address itself or a server=NAME(IP) line. */
static void test_addr_for(void **state)
{
    static const char text[] =
        "2026-03-10T17:55:26.016+01:00 vcsc ts[1]: WARNING: SNI (a) not in certificate. "
        "Action:Terminate server=cucm.lab(10.0.0.1)\n"
        "2026-03-10T17:55:29.040+01:00 vcsc ts[2]: HTTPMSG: |GET http://x:8443/"
        "bGFiL2h0dHBzL2N1Y20ubGFiLzg0NDM/x HTTP/1.1\n";   /* lab/https/cucm.lab/8443 */
    struct tslog *lg = NULL;
    struct conn_endpoint ep = {.ipver = 4, .ip = {10, 0, 0, 1}, .port = 8443};
    const struct tslog_addr *a;

    (void)state;
    assert_int_equal(tslog_new(&lg), TI_OK);
    assert_int_equal(tslog_begin_file(lg, "l", NULL), TI_OK);
    assert_int_equal(tslog_feed(lg, text, strlen(text)), TI_OK);
    assert_int_equal(tslog_end_file(lg), TI_OK);
    a = tslog_addr_for(lg, &ep);
    assert_non_null(a);
    assert_string_equal(a->host, "cucm.lab");
    ep.port = 6972;
    assert_null(tslog_addr_for(lg, &ep));
    ep.port = 8443;
    ep.ip[3] = 2;
    assert_null(tslog_addr_for(lg, &ep));
    tslog_free(lg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_verify_both_actions),
        cmocka_unit_test(test_ssl_and_sni),
        cmocka_unit_test(test_httpmsg),
        cmocka_unit_test(test_bad_base64),
        cmocka_unit_test(test_unknown_and_not_log),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_feed_wrapped),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_correlate),
        cmocka_unit_test(test_addr_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
