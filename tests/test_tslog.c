/* test_tslog.c - traffic_server log lines: each form, wrapping, base64, truncation at every length. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
