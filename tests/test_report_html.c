/* test_report_html.c - the HTML page: escaping, truncation on code points, empty input, write errors, diff page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/report_html.h"
#include "tlsinspect/tls_names.h"

static char *page(const struct analysis *a, const struct analyze_opts *ao)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    struct report_opts o = {.format = REPORT_HTML, .version = "0.1.0"};

    assert_non_null(m);
    assert_int_equal(report_html(m, a, &o, ao), TI_OK);
    assert_int_equal(fclose(m), 0);
    assert_non_null(buf);
    return buf;
}

/* The hostile fixture, analysed for real: its names appear only escaped. */
static void test_hostile_capture(void **state)
{
    static struct analyze_opts o;
    char *files[] = {"captures/hostile-names.pcap"};
    char err[256] = "";
    struct analysis *a = NULL;

    (void)state;
    analyze_opts_default(&o);
    o.files = files;
    o.nfiles = 1;
    o.trust.cafile = "captures/pki/expressway-trust.pem";
    assert_int_equal(analyze_run(&o, &a, err, sizeof(err)), TI_OK);
    char *p = page(a, &o);
    assert_null(strstr(p, "<script>alert"));
    assert_null(strstr(p, "<img src"));
    assert_null(strstr(p, "<svg onload"));
    assert_null(strstr(p, "<b>h2"));
    assert_non_null(strstr(p, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(p, "&quot;&gt;&lt;svg onload=alert(3)&gt;.steven.lab"));
    assert_non_null(strstr(p, "&lt;b&gt;h2&lt;/b&gt;"));
    /* the one script is ours */
    const char *s = strstr(p, "<script>");
    assert_non_null(s);
    assert_null(strstr(s + 1, "<script>"));
    /* frame numbers found by reading the capture again: SYN, SYN/ACK, ACK, then
     * the ClientHello in frame 4, the server flight in 5, the alert in 6, RST in 7 */
    const char *ch = strstr(p, ">ClientHello  TLS 1.3, 1.2");
    assert_non_null(ch);
    assert_non_null(strstr(p, ">frame 4</text>"));
    assert_true(strstr(p, ">frame 4</text>") < ch);
    assert_non_null(strstr(p, ">Alert fatal unknown_ca (48)</text>"));
    /* the client's alert points the way the header's client -> server reads:
     * from the client's lifeline (left, x 150) to the server's (right, 600) */
    assert_non_null(strstr(p, "<line class=\"ax\" x1=\"150\" y1=\"274\" x2=\"592\" y2=\"274\"/>"
                              "<polygon class=\"hx\" points=\"600,274 590,269 590,279\"/>"
                              "<text x=\"375\" y=\"268\" class=\"m x\" text-anchor=\"middle\">"
                              "Alert fatal unknown_ca (48)</text>"));
    assert_non_null(strstr(p, ">frame 6</text>"));
    assert_non_null(strstr(p, ">frame 7</text>"));
    assert_null(strstr(p, ">frame 8</text>"));
    /* the input's SHA-256 (EVP over the file) and the trust store's */
    assert_non_null(strstr(p, "SHA-256"));
    assert_non_null(strstr(p, "captures/pki/expressway-trust.pem</code> <span class=\"mute\">1574 bytes"));
    free(p);
    analysis_free(a);
}

/* Invalid UTF-8 and control bytes become \xNN; a long label is cut on a code point. */
static void test_bytes_and_cut(void **state)
{
    struct tls_names *names = NULL;
    struct analysis a;
    struct conn *c = calloc(1, sizeof(*c)), *conns[1];
    struct cap_input in;
    char sni[300];
    uint16_t suite = 0xc02c;

    (void)state;
    assert_int_equal(tls_names_new(&names), TI_OK);
    memset(&a, 0, sizeof(a));
    memset(&in, 0, sizeof(in));
    in.file = "cap\x01<x>.pcap";
    strcpy(in.format, "pcap");
    strcpy(in.linktype_name, "EN10MB");
    conn_init(c);
    c->id = 1;
    c->client.ipver = c->server.ipver = 4;
    c->client.port = 40000;
    c->server.port = 8443;
    c->is_tls = true;
    c->n_ch = 1;
    c->ch[0].legacy_version = 0x0303;
    c->ch[0].suites = malloc(sizeof(uint16_t));
    c->ch[0].suites[0] = suite;
    c->ch[0].n_suites = 1;
    /* "ClientHello  TLS 1.2  SNI " is 26 code points: 37 'a' and one U+00E9 fill
     * the label's 64 (HTML_LABEL_MAX), the next U+00E9 (2 bytes) is where it is cut */
    memset(sni, 'a', 37);
    memcpy(sni + 37, "\xc3\xa9\xc3\xa9zz\xff", 8);
    c->ch[0].sni = strdup(sni);
    conn_add_event(c, 0, EV_HANDSHAKE, DIR_CLIENT, 1, 0);
    /* a TLS 1.3 alert known only by its record's size: said to be a guess */
    conn_add_event(c, 10, EV_ALERT, DIR_SERVER, 0, 0);
    c->alerts[0].from = DIR_SERVER;
    c->alerts[0].encrypted = c->alerts[0].inferred = true;
    c->n_alerts = 1;
    c->inferred_server_key = KEY_GUESS_EC;
    c->inferred_sig_len = 72;
    c->inferred_cv_record = 96;
    c->outcome = OUTCOME_INCOMPLETE;
    assert_int_equal(conn_add_finding(c, FINDING_HANDSHAKE_INCOMPLETE, SEV_WARNING, "bad \xfe<", ""), TI_OK);
    conns[0] = c;
    a.inputs = &in;
    a.ninputs = 1;
    a.conns = conns;
    a.nconns = 1;
    a.names = names;

    char *p = page(&a, NULL);
    assert_non_null(strstr(p, "cap\\x01&lt;x&gt;.pcap"));
    assert_non_null(strstr(p, "bad \\xfe&lt;"));
    assert_non_null(strstr(p, "\\xff"));                   /* in the table: the whole SNI */
    /* the ladder label: "ClientHello  TLS 1.2  SNI " + 52 'a' = 78 code points, then "..." */
    assert_non_null(strstr(p, "aaaa\xc3\xa9...</text>"));
    assert_non_null(strstr(p, ">Alert (encrypted, inferred)</text>"));
    assert_non_null(strstr(p, "<b>Server key:</b> EC (inferred: "));
    free(p);
    conn_free(c);
    free(c);
    tls_names_free(names);
}

static void test_empty_and_full(void **state)
{
    struct analysis a;
    struct report_opts o = {.format = REPORT_HTML, .version = "0.1.0"};

    (void)state;
    memset(&a, 0, sizeof(a));
    char *p = page(&a, NULL);
    assert_non_null(strstr(p, "No TLS connection found"));
    assert_non_null(strstr(p, "</html>\n"));
    free(p);
    FILE *full = fopen("/dev/full", "w");
    if (full != NULL) {
        assert_int_equal(report_html(full, &a, &o, NULL), TI_EIO);
        fclose(full);
    }
}

/* The diff page from a document: values escaped, missing members tolerated. */
static void test_diff_page(void **state)
{
    json_error_t e;
    json_t *doc = json_loads(
        "{\"tool\": {\"version\": \"<v>\"}, \"worse\": true,"
        " \"before\": {\"file\": \"<a>.pcap\", \"source\": \"capture\", \"connections\": 1},"
        " \"after\": {\"file\": \"b.json\", \"source\": \"report\", \"inputs\": [{\"file\": \"<i>\"}]},"
        " \"notes\": [\"<n>\"], \"summary\": {\"endpoints\": 2, \"worse\": 1},"
        " \"endpoints\": [{\"server\": \"<s>:1\", \"status\": \"worse\", \"worse\": true,"
        "   \"reasons\": [\"<r>\"], \"connections\": {\"before\": 1, \"after\": 2},"
        "   \"changes\": [{\"field\": \"<f>\", \"before\": \"<x>\", \"after\": {\"sha256\": \"<h>\", \"cn\": \"<c>\"}},"
        "                 {\"field\": \"cipher_list\", \"before\": [\"A\", \"B\"], \"after\": [\"A\", \"<C>\"], \"first_difference\": 2},"
        "                 {\"field\": \"findings\", \"before\": {}, \"after\": {\"<F>\": 1}, \"added\": [{\"value\": \"<F>\", \"count\": 1}]}]},"
        "  {\"server\": \"x\"}, 7]}", 0, &e);
    char *buf = NULL;
    size_t len = 0;
    FILE *m;

    (void)state;
    assert_non_null(doc);
    m = open_memstream(&buf, &len);
    assert_int_equal(report_html_diff(m, doc), TI_OK);
    fclose(m);
    for (const char *bad = "<v><a><i><n><s><r><f><x><h><c><C><F>"; *bad; bad += 3) {
        char tag[4] = {bad[0], bad[1], bad[2], 0};
        assert_null(strstr(buf, tag));
    }
    assert_non_null(strstr(buf, "<b>&lt;C&gt;</b> <span class=\"mark\">&larr; first difference"));
    assert_non_null(strstr(buf, "WORSE"));
    free(buf);
    json_decref(doc);
}

/* More groups than ladders: the rest become table rows, the page stays bounded. */
static void test_many_groups(void **state)
{
    enum { N = REPORT_HTML_MAX_LADDERS + 30 };
    struct tls_names *names = NULL;
    struct analysis a;
    struct conn **conns = calloc(N, sizeof(*conns));

    (void)state;
    assert_non_null(conns);
    assert_int_equal(tls_names_new(&names), TI_OK);
    memset(&a, 0, sizeof(a));
    for (size_t i = 0; i < N; i++) {
        struct conn *c = calloc(1, sizeof(*c));
        assert_non_null(c);
        conn_init(c);
        c->id = i + 1;
        c->client.ipver = c->server.ipver = 4;
        c->client.ip[0] = 10;
        c->client.ip[3] = 1;
        c->client.port = (uint16_t)(40000 + i);
        /* a distinct server address: a group each (the client does not
         * count in folding) */
        c->server.ip[0] = 10;
        c->server.ip[3] = (uint8_t)(i % 250 + 1);
        c->server.ip[2] = (uint8_t)(i / 250);
        c->server.port = 8443;
        c->is_tls = true;
        c->outcome = i % 2 ? OUTCOME_FAILED : OUTCOME_COMPLETE;
        conn_add_event(c, 0, EV_RST, DIR_CLIENT, 0, 0);
        conns[i] = c;
    }
    a.conns = conns;
    a.nconns = N;
    a.names = names;
    char *p = page(&a, NULL);
    size_t details = 0;
    for (const char *q = p; (q = strstr(q, "<details")) != NULL; q++)
        details++;
    assert_int_equal(details, REPORT_HTML_MAX_LADDERS);
    assert_non_null(strstr(p, "Further groups"));
    /* worst first: every failed group is drawn before any complete one */
    const char *last_failed = NULL, *first_complete;
    for (const char *q = p; (q = strstr(q, "<summary><span class=\"badge bad\">FAILED")) != NULL; q++)
        last_failed = q;
    first_complete = strstr(p, "<summary><span class=\"badge ok\">COMPLETE");
    assert_non_null(last_failed);
    assert_non_null(first_complete);
    assert_true(last_failed < first_complete);
    free(p);
    for (size_t i = 0; i < N; i++) {
        conn_free(conns[i]);
        free(conns[i]);
    }
    free(conns);
    tls_names_free(names);
}

/* The post-upgrade capture: the Problems section follows the verdict and
 * carries the root cause's fix, its workaround and a text severity label. */
static void test_problems_section(void **state)
{
    static struct analyze_opts o;
    char *files[] = {"captures/post-upgrade.pcap"};
    char err[256] = "";
    struct analysis *a = NULL;

    (void)state;
    analyze_opts_default(&o);
    o.files = files;
    o.nfiles = 1;
    o.trust.cafile = "captures/pki/expressway-trust.pem";
    assert_int_equal(analyze_run(&o, &a, err, sizeof(err)), TI_OK);
    char *p = page(a, &o);
    const char *v = strstr(p, "id=\"verdict\"");
    const char *pr = strstr(p, "<h2 id=\"problems\">Problems</h2>");
    const char *fi = strstr(p, "<h2 id=\"findings\">");
    assert_non_null(v);
    assert_non_null(pr);
    assert_non_null(fi);
    assert_true(v < pr && pr < fi);
    const char *fix = strstr(pr, "<b>Fix:</b> Upload this self-signed certificate");
    assert_non_null(fix);
    assert_true(fix < fi);
    const char *wa = strstr(pr, "ECDHE-RSA-AES256-GCM-SHA384:");
    assert_non_null(wa);
    assert_true(wa < fi);
    assert_non_null(strstr(pr, "<span class=\"badge bad\">ERROR</span>"));
    free(p);
    analysis_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_capture),
        cmocka_unit_test(test_problems_section),
        cmocka_unit_test(test_bytes_and_cut),
        cmocka_unit_test(test_empty_and_full),
        cmocka_unit_test(test_diff_page),
        cmocka_unit_test(test_many_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
