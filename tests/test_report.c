/* test_report.c - JSON, JSONL and text reports over a hand-built analysis. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/report.h"
#include "tlsinspect/tls_names.h"

/* ---- fixtures ------------------------------------------------------------------ */

static int64_t utc_s(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

/* 2026-03-10 16:55:26.007 UTC, the field case's first packet */
#define T0_US (utc_s(2026, 3, 10, 16, 55, 26) * 1000000 + 7000)

static struct x509_cert cert_ec_self = {
    .sha256_hex = "aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11",
    .sha256 = {0xaa, 0x11},
    .parsed = true,
    .subject = "CN=cucm-EC.steven.lab,OU=UC,O=Steven",
    .issuer = "CN=cucm-EC.steven.lab,OU=UC,O=Steven",
    .cn = "cucm-EC.steven.lab",
    .san = {"DNS:cucm.steven.lab"},
    .n_san = 1,
    .key = "EC P-384",
    .key_type = "EC",
    .signature_algorithm = "ecdsa-with-SHA384",
    .serial = "0A1B2C",
    .ski = "11AA",
    .aki = "11AA",
    .is_ca = true,
    .self_signed = true,
};

static struct x509_cert cert_rsa_leaf = {
    .sha256_hex = "bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22",
    .sha256 = {0xbb, 0x22},
    .parsed = true,
    .subject = "CN=cucm.steven.lab,O=Steven",
    .issuer = "CN=Steven Lab Root CA,O=Steven",
    .cn = "cucm.steven.lab",
    .san = {"DNS:cucm.steven.lab", "IP:10.48.36.215", "DNS:a.steven.lab", "DNS:b.steven.lab",
            "URI:https://x", "DNS:c.steven.lab", "DNS:d.steven.lab"},
    .n_san = 7,
    .key = "RSA 2048",
    .key_type = "RSA",
    .signature_algorithm = "sha256WithRSAEncryption",
    .serial = "01",
    .ski = "22BB",
    .aki = "33CC",
    .is_ca = false,
    .self_signed = false,
};

static struct x509_cert cert_root = {
    .sha256_hex = "cc33cc33cc33cc33cc33cc33cc33cc33cc33cc33cc33cc33cc33cc33cc33cc33",
    .sha256 = {0xcc, 0x33},
    .parsed = true,
    .subject = "CN=Steven Lab Root CA,O=Steven",
    .issuer = "CN=Steven Lab Root CA,O=Steven",
    .cn = "Steven Lab Root CA",
    .key = "RSA 4096",
    .key_type = "RSA",
    .signature_algorithm = "sha256WithRSAEncryption",
    .serial = "02",
    .ski = "33CC",
    .is_ca = true,
    .self_signed = true,
};

static struct x509_cert cert_bad = {
    .sha256_hex = "dd44dd44dd44dd44dd44dd44dd44dd44dd44dd44dd44dd44dd44dd44dd44dd44",
    .sha256 = {0xdd, 0x44},
    .der_len = 17,
    .parsed = false,
    .parse_error = "asn1 encoding routines::too long",
};

/* the SNI of connection (d): invalid UTF-8 (0xff) and control bytes */
static const char BAD_SNI[] = "bad\xff\x01\x1b[2Jname";

struct fixture {
    struct analysis a;
    struct cap_input inputs[1];
    struct analyze_global_finding global[1];
    struct conn *conns[8];
    struct tls_names *names;
};

static void set_ip4(struct conn_endpoint *e, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    e->ipver = 4;
    e->ip[0] = a;
    e->ip[1] = b;
    e->ip[2] = c;
    e->ip[3] = d;
    e->port = port;
}

/* The suites, and (once) empty lists of full capacity for the fields the
 * tests fill by hand. */
static void set_suites(struct conn_client_hello *h, const uint16_t *s, uint32_t n)
{
    if (h->lists == NULL)
        assert_int_equal(conn_hello_alloc_lists(h), 0);
    h->suites = malloc(n * sizeof(uint16_t));
    assert_non_null(h->suites);
    memcpy(h->suites, s, n * sizeof(uint16_t));
    h->n_suites = n;
}

/* (a) the field case: ECDSA-first ClientHello, self-signed tomcat-ECDSA,
 * fatal unknown_ca from the client, RST from the client. */
static struct conn *make_field_case(uint64_t id, uint16_t client_port, int64_t ts)
{
    static const uint16_t suites[] = {0xc02c, 0xc030, 0x009f};
    struct conn *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    conn_init(c);
    c->id = id;
    set_ip4(&c->client, 10, 48, 36, 46, client_port);
    set_ip4(&c->server, 10, 48, 36, 215, 6972);
    c->first_ts = ts;
    c->last_ts = ts + 30000;
    c->is_tls = true;
    c->tcp.syn_seen = true;
    c->tcp.rst[DIR_CLIENT] = true;
    c->tcp.retrans[DIR_SERVER] = 2;

    struct conn_client_hello *h = &c->ch[0];
    c->n_ch = 1;
    h->ts = ts + 1000;
    h->legacy_version = 0x0303;
    set_suites(h, suites, 3);
    h->sigalgs[0] = 0x0403;
    h->sigalgs[1] = 0x0804;
    h->n_sigalgs = 2;
    h->groups[0] = 0x001d;
    h->groups[1] = 0x0017;
    h->n_groups = 2;
    h->alpn[0] = strdup("http/1.1");
    h->n_alpn = 1;
    h->sni = strdup("cucm.steven.lab");
    h->session_id_len = 32;
    h->preferred_auth = AUTH_ECDSA;
    h->preferred_suite = 0xc02c;
    strcpy(h->ja3, "0123456789abcdef0123456789abcdef");
    strcpy(h->ja4, "t12d0302h1_abcdefabcdef_123456123456");

    c->sh.present = true;
    c->sh.ts = ts + 2000;
    c->sh.legacy_version = 0x0303;
    c->sh.version = 0x0303;
    c->sh.suite = 0xc02c;
    c->sh.auth = AUTH_ECDSA;

    c->server_certs[0] = &cert_ec_self;
    c->n_server_certs = 1;
    c->server_cert_msg_seen = true;
    c->certificate_request = true;

    c->alerts[0].from = DIR_CLIENT;
    c->alerts[0].level = 2;
    c->alerts[0].description = 48;
    c->alerts[0].ts = ts + 4000;
    c->n_alerts = 1;

    c->outcome = OUTCOME_FAILED;
    c->verify.done = true;
    c->verify.time = ts / 1000000;
    c->verify.expected_name = "cucm.steven.lab";
    c->verify.name_source = X509_NAME_FROM_SNI;
    c->verify.verdict.result = X509_CHAIN_SELF_SIGNED;
    c->verify.verdict.depth = 0;
    c->verify.verdict.openssl_code = 18;
    c->verify.verdict.openssl_error = "self-signed certificate";
    c->verify.verdict.name_checked = true;
    c->verify.verdict.name_ok = true;
    c->verify.verdict.matched = "DNS:cucm.steven.lab";

    assert_int_equal(conn_add_finding(c, FINDING_CHAIN_SELF_SIGNED, SEV_ERROR,
                     "server certificate CN=cucm-EC.steven.lab is self-signed and not trusted",
                     "upload it to Expressway-C Maintenance > Security > Trusted CA certificate"), TI_OK);
    assert_int_equal(conn_add_finding(c, FINDING_UNKNOWN_CA_ALERT, SEV_ERROR,
                     "client sent fatal unknown_ca after the server Certificate",
                     "add the server's CA to the client's trust store"), TI_OK);
    assert_int_equal(conn_add_finding(c, FINDING_ECDSA_SELECTED, SEV_WARNING,
                     "server selected ECDSA; the client preferred ECDSA",
                     "prefix the cipher string with ECDHE-RSA-AES256-GCM-SHA384:"), TI_OK);
    return c;
}

/* (b) a complete RSA handshake with a GREASE suite first and a 2-cert chain */
static struct conn *make_rsa_complete(uint64_t id, int64_t ts)
{
    static const uint16_t suites[] = {0x0a0a, 0xc030, 0xc02f};
    struct conn *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    conn_init(c);
    c->id = id;
    set_ip4(&c->client, 10, 48, 36, 46, 40000);
    set_ip4(&c->server, 10, 48, 36, 215, 8443);
    c->first_ts = ts;
    c->is_tls = true;
    c->tcp.syn_seen = true;
    c->tcp.fin[DIR_CLIENT] = c->tcp.fin[DIR_SERVER] = true;
    struct conn_client_hello *h = &c->ch[0];
    c->n_ch = 1;
    h->legacy_version = 0x0303;
    set_suites(h, suites, 3);
    h->versions[0] = 0x2a2a;
    h->versions[1] = 0x0304;
    h->versions[2] = 0x0303;
    h->n_versions = 3;
    h->groups[0] = 0x2a2a;
    h->groups[1] = 0x001d;
    h->n_groups = 2;
    h->sni = strdup("cucm.steven.lab");
    h->preferred_auth = AUTH_RSA;
    h->preferred_suite = 0xc030;
    c->sh.present = true;
    c->sh.version = 0x0303;
    c->sh.suite = 0xc030;
    c->sh.auth = AUTH_RSA;
    c->server_certs[0] = &cert_rsa_leaf;
    c->server_certs[1] = &cert_root;
    c->n_server_certs = 2;
    c->server_cert_msg_seen = true;
    c->finished[0] = c->finished[1] = true;
    c->outcome = OUTCOME_COMPLETE;
    c->verify.done = true;
    c->verify.time = ts / 1000000;
    c->verify.expected_name = "cucm.steven.lab";
    c->verify.name_source = X509_NAME_FROM_SNI;
    c->verify.verdict.result = X509_CHAIN_OK;
    c->verify.verdict.name_checked = true;
    c->verify.verdict.name_ok = true;
    c->verify.verdict.matched = "DNS:cucm.steven.lab";
    return c;
}

/* (d) a ClientHello with a hostile SNI, then nothing */
static struct conn *make_bad_sni(uint64_t id, int64_t ts)
{
    static const uint16_t suites[] = {0xc030};
    struct conn *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    conn_init(c);
    c->id = id;
    set_ip4(&c->client, 10, 48, 36, 47, 50000);
    set_ip4(&c->server, 10, 48, 36, 215, 6972);
    c->first_ts = ts;
    c->is_tls = true;
    c->n_ch = 1;
    c->ch[0].legacy_version = 0x0303;
    set_suites(&c->ch[0], suites, 1);
    c->ch[0].sni = strdup(BAD_SNI);
    c->outcome = OUTCOME_INCOMPLETE;
    assert_int_equal(conn_add_finding(c, FINDING_HANDSHAKE_INCOMPLETE, SEV_WARNING,
                     "capture ended before the ServerHello", ""), TI_OK);
    return c;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tls_names_new(&f->names), TI_OK);
    int64_t t0 = T0_US;

    f->inputs[0].file = "expe_tcpdump00_\x07.pcap";      /* BEL: escaped in text */
    strcpy(f->inputs[0].format, "pcap");
    f->inputs[0].linktype = 1;
    strcpy(f->inputs[0].linktype_name, "EN10MB");
    f->inputs[0].packets = 42;
    f->inputs[0].bytes = 12345;
    f->inputs[0].truncated = true;
    f->inputs[0].error = "truncated dump file; tried to read 1500 captured bytes, only got 100";

    f->conns[0] = make_field_case(1, 31576, t0);
    f->conns[1] = make_rsa_complete(2, t0 + 100000);
    f->conns[2] = make_field_case(3, 31577, t0 + 200000);
    f->conns[3] = make_bad_sni(4, t0 + 300000);

    f->global[0].id = FINDING_CAPTURE_TRUNCATED;
    f->global[0].message = "expe_tcpdump00.pcap ends mid-record";

    f->a.inputs = f->inputs;
    f->a.ninputs = 1;
    f->a.packets = 42;
    f->a.first_ts = t0;
    f->a.last_ts = t0 + 61500000;         /* 61.5 s later */
    f->a.conns = f->conns;
    f->a.nconns = 4;
    f->a.global = f->global;
    f->a.nglobal = 1;
    f->a.warnings[0] = "2 packets were not IP";
    f->a.nwarnings = 1;
    f->a.names = f->names;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < 8; i++) {
        conn_free(f->conns[i]);
        free(f->conns[i]);
    }
    tls_names_free(f->names);
    free(f);
    return 0;
}

/* Run a report into memory; returns the malloc'd output. */
static char *run(const struct analysis *a, enum report_format fmt, bool color, bool verbose,
                 bool quiet)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    struct report_opts o = {.format = fmt, .color = color, .verbose = verbose, .quiet = quiet,
                            .version = "0.1.0"};
    int rc = fmt == REPORT_TEXT ? report_text(m, a, &o) : report_json(m, a, &o);
    assert_int_equal(rc, TI_OK);
    assert_int_equal(fclose(m), 0);
    assert_non_null(buf);
    if (getenv("TEST_REPORT_DUMP"))      /* debugging aid: show what was asserted on */
        fprintf(stderr, "----\n%s----\n", buf);
    return buf;
}

/* As run(), through a file with a descriptor: the JSON writer's thread
 * (outq.h) writes it instead of stdio. */
static char *run_fd(const struct analysis *a, enum report_format fmt)
{
    FILE *t = tmpfile();
    struct report_opts o = {.format = fmt, .version = "0.1.0"};
    char *buf;
    long n;

    assert_non_null(t);
    assert_int_equal(report_json(t, a, &o), TI_OK);
    n = ftell(t);
    assert_true(n > 0);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    rewind(t);
    assert_int_equal(fread(buf, 1, (size_t)n, t), (size_t)n);
    buf[n] = '\0';
    fclose(t);
    return buf;
}

static json_t *parse(const char *s)
{
    json_error_t err;
    json_t *v = json_loads(s, 0, &err);
    if (v == NULL)
        fail_msg("invalid JSON: %s at line %d: %s", err.text, err.line, s);
    return v;
}

static const char *sget(json_t *o, const char *path)
{
    json_t *v = json_object_get(o, path);
    assert_non_null(v);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static json_int_t iget(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_non_null(v);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void assert_keys(json_t *o, const char *const *keys, size_t n)
{
    size_t i = 0;
    assert_true(json_is_object(o));
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it), i++) {
        assert_true(i < n);
        assert_string_equal(json_object_iter_key(it), keys[i]);
    }
    assert_int_equal(i, n);
}

/* v as report_json_dumpf() writes it. */
static char *dump(const json_t *v)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);

    assert_non_null(m);
    assert_int_equal(report_json_dumpf(m, v), TI_OK);
    assert_int_equal(fclose(m), 0);
    return buf;
}

/* report_json_document() is the document report_json() printed: the same
 * values (json_equal with a parse of the text), and dumped by
 * report_json_dumpf() -- the jansson-walking twin of the streaming writer,
 * which diff uses -- it is the same bytes.  Every object whose members are
 * all scalars sits on one line, every other container is indented. */
static void check_document(const struct analysis *a, const char *out)
{
    struct report_opts o = {.format = REPORT_JSON, .version = "0.1.0"};
    json_t *doc = report_json_document(a, &o);
    json_t *text = parse(out);
    assert_non_null(doc);
    assert_true(json_equal(doc, text));
    char *dumped = dump(doc);
    assert_string_equal(out, dumped);
    free(dumped);
    json_decref(text);
    json_decref(doc);
}

/* The layout itself, on a literal: indented containers, objects of scalars
 * on one line (with jansson's escaping of keys and values), empty ones as
 * {} and [], and an object holding a container indented again. */
static void test_json_layout(void **state)
{
    (void)state;
    json_error_t e;
    json_t *v = json_loads("{\"a\": [{\"code\": \"0x1301\", \"name\": \"TLS_AES_128_GCM_SHA256\"}, "
                           "{\"k\\\"q\": \"\\u0001\", \"n\": null, \"t\": true, \"i\": -3}], "
                           "\"e\": {}, \"f\": [], \"s\": [\"x\", 2], "
                           "\"o\": {\"p\": 1, \"q\": {\"r\": 1.5}}}",
                           JSON_PRESERVE_ORDER, &e);
    assert_non_null(v);
    char *got = dump(v);
    assert_string_equal(got,
        "{\n"
        "  \"a\": [\n"
        "    {\"code\": \"0x1301\", \"name\": \"TLS_AES_128_GCM_SHA256\"},\n"
        "    {\"k\\\"q\": \"\\u0001\", \"n\": null, \"t\": true, \"i\": -3}\n"
        "  ],\n"
        "  \"e\": {},\n"
        "  \"f\": [],\n"
        "  \"s\": [\n"
        "    \"x\",\n"
        "    2\n"
        "  ],\n"
        "  \"o\": {\n"
        "    \"p\": 1,\n"
        "    \"q\": {\"r\": 1.5}\n"
        "  }\n"
        "}\n");
    free(got);
    json_decref(v);
}

/* conn_ip_str() formats IPv4 itself: the same text as inet_ntop() for every
 * value of each byte, and IPv6 through inet_ntop(). */
static void test_ip_str(void **state)
{
    (void)state;
    char got[64], want[64];
    struct conn_endpoint e = {.ipver = 4};

    for (unsigned v = 0; v < 256; v++) {
        for (int pos = 0; pos < 4; pos++) {
            memset(e.ip, 0, sizeof(e.ip));
            e.ip[pos] = (uint8_t)v;
            e.ip[(pos + 1) % 4] = (uint8_t)(255 - v);
            assert_non_null(inet_ntop(AF_INET, e.ip, want, sizeof(want)));
            assert_string_equal(conn_ip_str(&e, got, sizeof(got)), want);
        }
    }
    e.ipver = 6;
    memset(e.ip, 0, sizeof(e.ip));
    e.ip[0] = 0x20, e.ip[1] = 0x01, e.ip[2] = 0x0d, e.ip[3] = 0xb8, e.ip[15] = 1;
    assert_string_equal(conn_ip_str(&e, got, sizeof(got)), "2001:db8::1");
    e.ipver = 4;
    assert_string_equal(conn_ip_str(&e, got, 4), "");    /* too small: inet_ntop fails */
}

/* ---- report_escape ---------------------------------------------------------------- */

static void check_escape(const char *in, bool printable, const char *want)
{
    char *s = report_escape(in, printable);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
}

static void test_escape(void **state)
{
    (void)state;
    check_escape(NULL, false, "");
    check_escape("", true, "");
    check_escape("plain", true, "plain");
    check_escape("caf\xc3\xa9 \xf0\x9f\x94\x92", true, "caf\xc3\xa9 \xf0\x9f\x94\x92");  /* é, 4-byte */
    check_escape("\xff", false, "\\xff");
    check_escape("a\x80z", false, "a\\x80z");                 /* lone continuation */
    check_escape("\xc0\xaf", false, "\\xc0\\xaf");            /* overlong '/' */
    check_escape("\xe0\x80\xaf", false, "\\xe0\\x80\\xaf");   /* overlong, 3 bytes */
    check_escape("\xed\xa0\x80", false, "\\xed\\xa0\\x80");   /* UTF-16 surrogate */
    check_escape("\xf4\x90\x80\x80", false, "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
    check_escape("\xf5", false, "\\xf5");
    check_escape("x\xe2\x82", false, "x\\xe2\\x82");          /* sequence cut at the end */
    check_escape("\xe2\x82\xac", false, "\xe2\x82\xac");      /* euro sign, whole */
    /* control characters: kept for JSON (jansson escapes them), escaped for text */
    check_escape("a\x01\x1b\x7f", false, "a\x01\x1b\x7f");
    check_escape("a\x01\x1b\x7f", true, "a\\x01\\x1b\\x7f");
    check_escape("\xc2\x85", true, "\\xc2\\x85");             /* C1 NEL */
    check_escape("\xc2\xa0", true, "\xc2\xa0");               /* NBSP is printable */
    /* ASCII runs (copied whole) between every other kind of byte */
    check_escape("ab\x01" "cd\xc3\xa9" "ef\xff" "gh\x7f", true, "ab\\x01cd\xc3\xa9" "ef\\xffgh\\x7f");
    check_escape(" ~\x1f\x20", true, " ~\\x1f ");

    unsigned char one[1] = {0xc3};
    assert_int_equal(report_utf8_seq(one, 1), 0);
    unsigned char two[2] = {0xc3, 0xa9};
    assert_int_equal(report_utf8_seq(two, 2), 2);
    assert_int_equal(report_utf8_seq(two, 1), 0);
}

/* ---- JSON --------------------------------------------------------------------------- */

static void test_json_document(void **state)
{
    struct fixture *f = *state;
    char *out = run(&f->a, REPORT_JSON, false, false, false);
    json_t *doc = parse(out);

    /* schema 2: what is known only at the end comes after "connections" */
    static const char *const top[] = {"schema_version", "tool", "options", "connections", "inputs",
                                      "first_ts", "last_ts", "problems", "summary",
                                      "findings", "warnings"};
    assert_keys(doc, top, 11);
    assert_int_equal(iget(doc, "schema_version"), REPORT_SCHEMA_VERSION);
    assert_int_equal(REPORT_SCHEMA_VERSION, 2);
    json_t *tool = json_object_get(doc, "tool");
    assert_string_equal(sget(tool, "name"), "tlsinspect");
    assert_string_equal(sget(tool, "version"), "0.1.0");

    json_t *in = json_array_get(json_object_get(doc, "inputs"), 0);
    static const char *const in_keys[] = {"file", "format", "linktype", "packets", "bytes", "sha256",
                                          "truncated", "error"};
    assert_keys(in, in_keys, 8);
    assert_string_equal(sget(in, "linktype"), "EN10MB");
    assert_int_equal(iget(in, "packets"), 42);
    assert_true(json_is_true(json_object_get(in, "truncated")));

    assert_string_equal(sget(doc, "first_ts"), "2026-03-10T16:55:26.007000Z");
    assert_string_equal(sget(doc, "last_ts"), "2026-03-10T16:56:27.507000Z");

    json_t *conns = json_object_get(doc, "connections");
    assert_int_equal(json_array_size(conns), 4);

    /* (a) */
    json_t *c = json_array_get(conns, 0);
    static const char *const conn_keys[] = {
        "id", "client", "server", "role", "start_ts", "outcome", "tcp", "client_hello", "server_hello",
        "server_certificates", "certificate_request", "client_certificates", "alerts",
        "verification", "findings"};
    assert_keys(c, conn_keys, sizeof(conn_keys) / sizeof(conn_keys[0]));
    assert_int_equal(iget(c, "id"), 1);
    assert_string_equal(sget(json_object_get(c, "client"), "ip"), "10.48.36.46");
    assert_int_equal(iget(json_object_get(c, "client"), "port"), 31576);
    assert_int_equal(iget(json_object_get(c, "server"), "port"), 6972);
    assert_string_equal(sget(c, "start_ts"), "2026-03-10T16:55:26.007000Z");
    assert_string_equal(sget(c, "outcome"), "failed");

    json_t *tcp = json_object_get(c, "tcp");
    assert_true(json_is_true(json_object_get(tcp, "syn_seen")));
    assert_int_equal(json_array_size(json_object_get(tcp, "fin_by")), 0);
    assert_int_equal(json_array_size(json_object_get(tcp, "rst_by")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(tcp, "rst_by"), 0)), "client");
    assert_int_equal(iget(json_object_get(tcp, "retransmissions"), "server"), 2);
    assert_int_equal(iget(json_object_get(tcp, "gaps"), "client"), 0);

    json_t *ch = json_object_get(c, "client_hello");
    static const char *const ch_keys[] = {
        "legacy_version", "supported_versions", "sni", "cipher_suites", "signature_algorithms",
        "supported_groups", "alpn", "session_id_length", "preferred_auth", "ja3", "ja4", "sslv2"};
    assert_keys(ch, ch_keys, sizeof(ch_keys) / sizeof(ch_keys[0]));
    assert_string_equal(sget(ch, "legacy_version"), "0x0303");
    assert_string_equal(sget(ch, "sni"), "cucm.steven.lab");
    json_t *cs = json_object_get(ch, "cipher_suites");
    assert_int_equal(json_array_size(cs), 3);
    assert_string_equal(sget(json_array_get(cs, 0), "code"), "0xc02c");
    assert_string_equal(sget(json_array_get(cs, 0), "name"), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    assert_null(json_object_get(json_array_get(cs, 0), "grease"));   /* only when GREASE */
    assert_string_equal(sget(json_array_get(cs, 2), "code"), "0x009f");
    assert_string_equal(sget(json_array_get(json_object_get(ch, "signature_algorithms"), 0), "name"),
                        "ecdsa_secp256r1_sha256");
    assert_string_equal(sget(json_array_get(json_object_get(ch, "supported_groups"), 1), "code"), "0x0017");
    assert_string_equal(json_string_value(json_array_get(json_object_get(ch, "alpn"), 0)), "http/1.1");
    assert_int_equal(iget(ch, "session_id_length"), 32);
    assert_string_equal(sget(ch, "preferred_auth"), "ECDSA");
    assert_string_equal(sget(ch, "ja3"), "0123456789abcdef0123456789abcdef");
    assert_true(json_is_false(json_object_get(ch, "sslv2")));

    json_t *sh = json_object_get(c, "server_hello");
    assert_string_equal(sget(sh, "version"), "TLS 1.2");
    assert_string_equal(sget(json_object_get(sh, "cipher_suite"), "code"), "0xc02c");
    assert_string_equal(sget(sh, "auth"), "ECDSA");
    assert_null(json_object_get(c, "hello_retry_request"));

    json_t *cert = json_array_get(json_object_get(c, "server_certificates"), 0);
    static const char *const cert_keys[] = {
        "subject", "issuer", "cn", "san", "key", "signature_algorithm", "not_before", "not_after",
        "serial", "sha256", "ski", "aki", "is_ca", "self_signed"};
    assert_keys(cert, cert_keys, sizeof(cert_keys) / sizeof(cert_keys[0]));
    assert_string_equal(sget(cert, "not_before"), "2025-01-01T00:00:00Z");
    assert_string_equal(sget(cert, "not_after"), "2035-06-30T23:59:59Z");
    assert_string_equal(sget(cert, "key"), "EC P-384");
    assert_string_equal(json_string_value(json_array_get(json_object_get(cert, "san"), 0)),
                        "DNS:cucm.steven.lab");
    assert_true(json_is_true(json_object_get(cert, "self_signed")));
    assert_true(json_is_true(json_object_get(c, "certificate_request")));
    assert_int_equal(json_array_size(json_object_get(c, "client_certificates")), 0);

    json_t *al = json_array_get(json_object_get(c, "alerts"), 0);
    assert_string_equal(sget(al, "from"), "client");
    assert_string_equal(sget(al, "level"), "fatal");
    assert_string_equal(sget(al, "description"), "unknown_ca");
    assert_int_equal(iget(al, "code"), 48);
    assert_true(json_is_false(json_object_get(al, "encrypted")));
    assert_string_equal(sget(al, "ts"), "2026-03-10T16:55:26.011000Z");

    json_t *v = json_object_get(c, "verification");
    static const char *const v_keys[] = {"time", "expected_name", "name_source", "chain", "name"};
    assert_keys(v, v_keys, 5);
    assert_string_equal(sget(v, "time"), "2026-03-10T16:55:26Z");
    assert_string_equal(sget(v, "name_source"), "sni");
    assert_string_equal(sget(json_object_get(v, "chain"), "result"), "self_signed");
    assert_int_equal(iget(json_object_get(v, "chain"), "depth"), 0);
    assert_true(json_is_true(json_object_get(json_object_get(v, "name"), "ok")));
    assert_string_equal(sget(json_object_get(v, "name"), "matched"), "DNS:cucm.steven.lab");

    json_t *fs = json_object_get(c, "findings");
    assert_int_equal(json_array_size(fs), 3);
    static const char *const f_keys[] = {"id", "severity", "message", "remedy"};
    assert_keys(json_array_get(fs, 0), f_keys, 4);
    assert_string_equal(sget(json_array_get(fs, 0), "id"), "CHAIN_SELF_SIGNED");
    assert_string_equal(sget(json_array_get(fs, 0), "severity"), "error");
    assert_string_equal(sget(json_array_get(fs, 2), "id"), "ECDSA_SELECTED");
    assert_string_equal(sget(json_array_get(fs, 2), "severity"), "warning");

    /* (b): GREASE flagged, chain of two, TLS 1.3 offered */
    c = json_array_get(conns, 1);
    assert_string_equal(sget(c, "outcome"), "complete");
    ch = json_object_get(c, "client_hello");
    cs = json_object_get(ch, "cipher_suites");
    assert_string_equal(sget(json_array_get(cs, 0), "code"), "0x0a0a");
    assert_true(json_is_null(json_object_get(json_array_get(cs, 0), "name")));
    assert_true(json_is_true(json_object_get(json_array_get(cs, 0), "grease")));
    assert_null(json_object_get(json_array_get(cs, 1), "grease"));
    json_t *sv = json_object_get(ch, "supported_versions");
    assert_int_equal(json_array_size(sv), 3);
    assert_string_equal(json_string_value(json_array_get(sv, 0)), "0x2a2a");
    assert_string_equal(json_string_value(json_array_get(sv, 1)), "0x0304");
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(ch, "supported_groups"), 0),
                                             "grease")));
    assert_true(json_is_null(json_object_get(ch, "ja3")));            /* empty -> null */
    assert_int_equal(json_array_size(json_object_get(c, "server_certificates")), 2);
    assert_int_equal(json_array_size(json_object_get(json_object_get(c, "tcp"), "fin_by")), 2);
    assert_true(json_is_null(json_object_get(json_object_get(json_object_get(c, "verification"),
                                                              "chain"), "openssl_error")));

    /* (d): no ServerHello, no verification */
    c = json_array_get(conns, 3);
    assert_true(json_is_null(json_object_get(c, "server_hello")));
    assert_true(json_is_null(json_object_get(c, "verification")));
    assert_string_equal(sget(c, "outcome"), "incomplete");

    /* summary */
    json_t *sum = json_object_get(doc, "summary");
    assert_int_equal(iget(sum, "connections"), 4);
    json_t *bo = json_object_get(sum, "by_outcome");
    static const char *const bo_keys[] = {"complete", "failed", "incomplete", "encrypted"};
    assert_keys(bo, bo_keys, 4);
    assert_int_equal(iget(bo, "complete"), 1);
    assert_int_equal(iget(bo, "failed"), 2);
    assert_int_equal(iget(bo, "incomplete"), 1);
    assert_int_equal(iget(bo, "encrypted"), 0);
    json_t *fc = json_object_get(sum, "findings");
    static const char *const fc_keys[] = {"CAPTURE_TRUNCATED", "CHAIN_SELF_SIGNED", "ECDSA_SELECTED",
                                          "HANDSHAKE_INCOMPLETE", "UNKNOWN_CA_ALERT"};
    assert_keys(fc, fc_keys, 5);                   /* sorted by name, global included */
    assert_int_equal(iget(fc, "CAPTURE_TRUNCATED"), 1);
    assert_int_equal(iget(fc, "CHAIN_SELF_SIGNED"), 2);
    assert_int_equal(iget(fc, "HANDSHAKE_INCOMPLETE"), 1);

    json_t *gf = json_object_get(doc, "findings");
    assert_int_equal(json_array_size(gf), 1);
    assert_string_equal(sget(json_array_get(gf, 0), "id"), "CAPTURE_TRUNCATED");
    assert_string_equal(sget(json_array_get(gf, 0), "severity"), "error");
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "warnings"), 0)),
                        "2 packets were not IP");

    /* indented with two spaces; an object of scalars on one line */
    assert_non_null(strstr(out, "\n  \"tool\": {\"name\": \"tlsinspect\", \"version\": \"0.1.0\"},\n"));
    check_document(&f->a, out);      /* (a) and (c) share cached values */

    json_decref(doc);
    free(out);
}

static void test_json_invalid_utf8(void **state)
{
    struct fixture *f = *state;
    char *out = run(&f->a, REPORT_JSON, false, false, false);
    json_t *doc = parse(out);        /* the document is valid despite the 0xff */
    json_t *c = json_array_get(json_object_get(doc, "connections"), 3);
    /* 0xff became the text \xff; the control bytes are kept (JSON escapes them) */
    assert_string_equal(sget(json_object_get(c, "client_hello"), "sni"), "bad\\xff\x01\x1b[2Jname");
    assert_non_null(strstr(out, "\"bad\\\\xff\\u0001\\u001B[2Jname\""));
    /* the file name carried a BEL */
    json_t *in = json_array_get(json_object_get(doc, "inputs"), 0);
    assert_string_equal(sget(in, "file"), "expe_tcpdump00_\x07.pcap");
    json_decref(doc);
    free(out);
}

/* Every byte from the wire, alone and in broken or valid sequences: the
 * JSON string is what report_escape(s, false) makes of it (invalid UTF-8 as
 * the text "\xNN", everything else kept), and the text is escaped exactly
 * as jansson escapes it (check_document compares with json_dumps). */
static void check_wire_sni(struct fixture *f, const char *sni)
{
    struct conn *c = f->conns[3];
    free(c->ch[0].sni);
    c->ch[0].sni = strdup(sni);
    assert_non_null(c->ch[0].sni);

    char *want = report_escape(sni, false);
    assert_non_null(want);
    char *out = run(&f->a, REPORT_JSON, false, false, false);
    json_t *doc = parse(out);
    json_t *jc = json_array_get(json_object_get(doc, "connections"), 3);
    assert_string_equal(sget(json_object_get(jc, "client_hello"), "sni"), want);
    check_document(&f->a, out);
    json_decref(doc);
    free(out);

    out = run(&f->a, REPORT_JSONL, false, false, false);
    const char *line = out;
    for (int i = 0; i < 3; i++)
        line = strchr(line, '\n') + 1;
    json_t *o = parse(line);
    assert_string_equal(sget(json_object_get(o, "client_hello"), "sni"), want);
    json_decref(o);
    free(out);
    free(want);
}

static void test_json_wire_bytes(void **state)
{
    struct fixture *f = *state;
    static const char *const seqs[] = {
        "caf\xc3\xa9",                  /* valid 2-byte: kept */
        "\xe2\x80\xa8",                 /* U+2028: valid, jansson keeps it raw */
        "\xf0\x9f\x94\x92",             /* valid 4-byte */
        "\xc2\x9b",                     /* C1 CSI: valid UTF-8, kept in JSON */
        "\xed\xa0\x80",                 /* surrogate */
        "\xf4\x90\x80\x80",             /* above U+10FFFF */
        "\xc0\xaf",                     /* overlong */
        "x\xe2\x82",                    /* cut at the end */
        "\xe2\x82x\xe2\x82\xac",        /* cut, then a whole euro sign */
        "\"\\/\b\f\n\r\t\x7f\x1f",      /* JSON's own escapes, DEL and US */
    };
    char one[3] = {'a', 0, 0};

    for (int b = 1; b < 256; b++) {
        one[1] = (char)b;
        check_wire_sni(f, one);
    }
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
        check_wire_sni(f, seqs[i]);

    /* the text itself, reasoned from RFC 8259 7 and report_escape */
    free(f->conns[3]->ch[0].sni);
    f->conns[3]->ch[0].sni = strdup("q\xff\x01\"\\\xc3\xa9/");
    char *out = run(&f->a, REPORT_JSON, false, false, false);
    assert_non_null(strstr(out, "\"sni\": \"q\\\\xff\\u0001\\\"\\\\\xc3\xa9/\""));
    free(out);
}

/* Values longer than the writer's buffers: a 300 kB SNI (longer than the
 * 256 KiB output buffer, and than a cached value may be) and 1900 cipher
 * suites (a short cache key, a text over the 64 KiB a cached value holds). */
static void test_json_large_values(void **state)
{
    struct fixture *f = *state;
    const size_t n = 300000;
    char *big = malloc(n + 2);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\xff';
    big[n + 1] = '\0';
    free(f->conns[3]->ch[0].sni);
    f->conns[3]->ch[0].sni = big;

    uint16_t suites[1900];
    for (size_t i = 0; i < 1900; i++)
        suites[i] = (uint16_t)(0x1000 + i);
    suites[1899] = 0xc02c;
    free(f->conns[1]->ch[0].suites);
    set_suites(&f->conns[1]->ch[0], suites, 1900);

    char *out = run(&f->a, REPORT_JSON, false, false, false);
    json_t *doc = parse(out);
    json_t *conns = json_object_get(doc, "connections");
    const char *sni = sget(json_object_get(json_array_get(conns, 3), "client_hello"), "sni");
    assert_int_equal(strlen(sni), n + 4);
    assert_string_equal(sni + n, "\\xff");
    json_t *cs = json_object_get(json_object_get(json_array_get(conns, 1), "client_hello"),
                                 "cipher_suites");
    assert_int_equal(json_array_size(cs), 1900);
    assert_string_equal(sget(json_array_get(cs, 0), "code"), "0x1000");
    assert_string_equal(sget(json_array_get(cs, 1899), "name"), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    check_document(&f->a, out);
    json_decref(doc);
    /* the same bytes when a writer thread writes them, 300 kB at once included */
    char *fd_out = run_fd(&f->a, REPORT_JSON);
    assert_string_equal(fd_out, out);
    free(fd_out);
    free(out);

    /* compact lines: the same values */
    out = run(&f->a, REPORT_JSONL, false, false, false);
    fd_out = run_fd(&f->a, REPORT_JSONL);
    assert_string_equal(fd_out, out);
    free(fd_out);
    char *l2s = strchr(out, '\n') + 1;
    *strchr(l2s, '\n') = '\0';                       /* the second line alone */
    json_t *l2 = parse(l2s);
    assert_int_equal(json_array_size(json_object_get(json_object_get(l2, "client_hello"),
                                                     "cipher_suites")), 1900);
    json_decref(l2);
    free(out);
}

/* Times at the edges of the fast formatter (years 0000..9999) and beyond:
 * RFC 3339 has no year 10000, but the report writes what gmtime gives
 * rather than failing; a time gmtime cannot represent is null. */
static void test_json_far_times(void **state)
{
    struct fixture *f = *state;
    struct x509_cert c1 = cert_ec_self, c2 = cert_ec_self;
    /* 0000-01-01: 719528 days before 1970-01-01 (proleptic Gregorian) */
    c1.not_before = -719528LL * 86400;
    c1.not_after = utc_s(9999, 12, 31, 23, 59, 59);
    c2.not_before = utc_s(9999, 12, 31, 23, 59, 59) + 1;
    c2.not_after = INT64_MAX;
    f->conns[1]->server_certs[0] = &c1;
    f->conns[1]->server_certs[1] = &c2;

    char *out = run(&f->a, REPORT_JSON, false, false, false);
    json_t *doc = parse(out);
    json_t *certs = json_object_get(json_array_get(json_object_get(doc, "connections"), 1),
                                    "server_certificates");
    assert_string_equal(sget(json_array_get(certs, 0), "not_before"), "0000-01-01T00:00:00Z");
    assert_string_equal(sget(json_array_get(certs, 0), "not_after"), "9999-12-31T23:59:59Z");
    assert_string_equal(sget(json_array_get(certs, 1), "not_before"), "10000-01-01T00:00:00Z");
    assert_true(json_is_null(json_object_get(json_array_get(certs, 1), "not_after")));
    check_document(&f->a, out);
    json_decref(doc);
    free(out);
}

static void test_jsonl(void **state)
{
    struct fixture *f = *state;
    char *out = run(&f->a, REPORT_JSONL, false, false, false);
    size_t lines = 0;
    char *save = NULL;

    assert_true(strlen(out) > 0 && out[strlen(out) - 1] == '\n');
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = parse(line);
        assert_true(json_is_object(o));
        assert_int_equal(iget(o, "id"), (json_int_t)lines + 1);
        assert_non_null(json_object_get(o, "client_hello"));
        assert_null(json_object_get(o, "summary"));
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, 4);
    free(out);
}

/* HRR, encrypted alert, unparsed certificate, notes, IPv6, pre-1970 time,
 * chain_now / client_chain, name not checked, not_tls left out. */
static void test_json_edges(void **state)
{
    (void)state;
    static const uint16_t s13[] = {0x1301};
    struct conn c, skipped;
    struct conn *list[2] = {&skipped, &c};
    struct analysis a;

    memset(&a, 0, sizeof(a));
    conn_init(&c);
    conn_init(&skipped);
    skipped.outcome = OUTCOME_NOT_TLS;
    c.id = 7;
    c.client.ipver = c.server.ipver = 6;
    c.server.ip[0] = 0x20;
    c.server.ip[1] = 0x01;
    c.server.ip[2] = 0x0d;
    c.server.ip[3] = 0xb8;
    c.server.ip[15] = 1;
    c.server.port = 443;
    c.first_ts = -1;                             /* 1969-12-31T23:59:59.999999Z */
    c.n_ch = 2;
    for (int i = 0; i < 2; i++) {
        c.ch[i].legacy_version = 0x0303;
        set_suites(&c.ch[i], s13, 1);
        c.ch[i].versions[0] = 0x0304;
        c.ch[i].n_versions = 1;
    }
    c.ch[1].key_share_groups[0] = 0x0017;
    c.sh_hrr.present = c.sh_hrr.hrr = true;
    c.sh_hrr.suite = 0x1301;
    c.sh.present = true;
    c.sh.version = 0x0304;
    c.sh.suite = 0x1301;
    c.sh.auth = AUTH_ANY;
    c.tls13 = true;
    c.keys_used = true;
    c.server_certs[0] = &cert_bad;
    c.n_server_certs = 1;
    struct x509_cert odd = cert_rsa_leaf;
    odd.not_before = -1;
    odd.not_after = 0;
    c.client_certs[0] = &odd;
    c.n_client_certs = 1;
    c.alerts[0].from = DIR_SERVER;
    c.alerts[0].encrypted = true;
    c.n_alerts = 1;
    c.tls13_note = strdup("decrypted with the key log");
    c.malformed[DIR_SERVER] = true;
    c.malformed_why[DIR_SERVER] = strdup("record too long");
    c.verify.done = true;
    c.verify.name_source = X509_NAME_FROM_SERVER_IP;
    c.verify.now_differs = true;
    c.verify.verdict_now.result = X509_CHAIN_EXPIRED;
    c.verify.client_done = true;
    c.verify.client_verdict.result = X509_CHAIN_UNKNOWN_ISSUER;
    c.verify.client_verdict.depth = 1;
    c.outcome = OUTCOME_ENCRYPTED;

    a.conns = list;
    a.nconns = 2;
    char *out = run(&a, REPORT_JSON, false, false, false);
    json_t *doc = parse(out);
    check_document(&a, out);
    assert_true(json_is_null(json_object_get(doc, "first_ts")));   /* no packets */
    json_t *conns = json_object_get(doc, "connections");
    assert_int_equal(json_array_size(conns), 1);                   /* not_tls left out */
    json_t *j = json_array_get(conns, 0);
    assert_int_equal(iget(j, "id"), 7);
    assert_string_equal(sget(json_object_get(j, "server"), "ip"), "2001:db8::1");
    assert_string_equal(sget(j, "start_ts"), "1969-12-31T23:59:59.999999Z");
    assert_non_null(json_object_get(j, "client_hello_retry"));
    assert_true(json_is_true(json_object_get(j, "hello_retry_request")));
    assert_string_equal(sget(json_object_get(j, "server_hello"), "version"), "TLS 1.3");
    assert_string_equal(sget(json_object_get(j, "server_hello"), "auth"), "any");

    json_t *bad = json_array_get(json_object_get(j, "server_certificates"), 0);
    static const char *const bad_keys[] = {"sha256", "parse_error", "der_length"};
    assert_keys(bad, bad_keys, 3);
    assert_int_equal(iget(bad, "der_length"), 17);
    json_t *cc = json_array_get(json_object_get(j, "client_certificates"), 0);
    assert_string_equal(sget(cc, "cn"), "cucm.steven.lab");
    assert_string_equal(sget(cc, "not_before"), "1969-12-31T23:59:59Z");   /* before 1970 */
    assert_true(json_is_null(json_object_get(cc, "not_after")));           /* 0: unreadable */

    json_t *al = json_array_get(json_object_get(j, "alerts"), 0);
    assert_true(json_is_null(json_object_get(al, "level")));
    assert_true(json_is_null(json_object_get(al, "description")));
    assert_true(json_is_null(json_object_get(al, "code")));
    assert_true(json_is_true(json_object_get(al, "encrypted")));
    assert_string_equal(sget(al, "from"), "server");

    json_t *v = json_object_get(j, "verification");
    assert_true(json_is_null(json_object_get(v, "expected_name")));
    assert_true(json_is_null(json_object_get(json_object_get(v, "name"), "ok")));
    assert_string_equal(sget(json_object_get(v, "chain_now"), "result"), "expired");
    assert_string_equal(sget(json_object_get(v, "client_chain"), "result"), "unknown_issuer");
    assert_int_equal(iget(json_object_get(v, "client_chain"), "depth"), 1);
    assert_string_equal(sget(j, "tls13_note"), "decrypted with the key log");
    json_t *mal = json_object_get(j, "malformed");
    assert_int_equal(json_array_size(mal), 1);
    assert_string_equal(json_string_value(json_array_get(mal, 0)), "server: record too long");

    json_t *bo = json_object_get(json_object_get(doc, "summary"), "by_outcome");
    assert_int_equal(iget(bo, "encrypted"), 1);
    assert_int_equal(iget(bo, "failed"), 0);
    assert_int_equal(json_object_size(json_object_get(json_object_get(doc, "summary"), "findings")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "findings")), 0);
    json_decref(doc);
    free(out);

    /* text: the IPv6 endpoint in brackets, HRR and the second hello, encrypted alert */
    out = run(&a, REPORT_TEXT, false, true, false);
    assert_non_null(strstr(out, "[::]:0 -> [2001:db8::1]:443  23:59:59.999  ENCRYPTED"));
    assert_non_null(strstr(out, "\n  HelloRetry    TLS_AES_128_GCM_SHA256\n"));
    assert_non_null(strstr(out, "\n  ClientHello2  TLS1.3  no SNI\n"));
    assert_non_null(strstr(out, "\n  ServerHello   TLS1.3  TLS_AES_128_GCM_SHA256  (any)\n"));
    assert_non_null(strstr(out, "\n  Alert <-      encrypted alert from server\n"));
    assert_non_null(strstr(out, "\n  Certificate   (unparseable, 17 bytes: asn1 encoding routines::too long)"));
    assert_non_null(strstr(out, "\n  Malformed     server: record too long\n"));
    assert_non_null(strstr(out, "1 connection: 0 complete, 0 failed, 0 incomplete, 1 encrypted; "
                                "findings: 0 error, 0 warning\n"));
    free(out);
    conn_free(&c);
    conn_free(&skipped);
}

/* TLS 1.3 without keys: encrypted certificate line, preference from the
 * first signature algorithm, and an info finding shown only with -v. */
static void test_text_tls13_hidden(void **state)
{
    (void)state;
    static const uint16_t s13[] = {0x1301};
    struct conn c;
    struct conn *list[1] = {&c};
    struct analysis a;

    memset(&a, 0, sizeof(a));
    conn_init(&c);
    c.id = 1;
    set_ip4(&c.client, 192, 0, 2, 1, 5555);
    set_ip4(&c.server, 192, 0, 2, 2, 8443);
    c.n_ch = 1;
    c.ch[0].legacy_version = 0x0303;
    set_suites(&c.ch[0], s13, 1);
    c.ch[0].versions[0] = 0x0304;
    c.ch[0].n_versions = 1;
    c.ch[0].sigalgs[0] = 0x0804;        /* rsa_pss_rsae_sha256 */
    c.ch[0].sigalgs[1] = 0x0403;        /* ecdsa_secp256r1_sha256 */
    c.ch[0].n_sigalgs = 2;
    c.ch[0].preferred_auth = tls_sigalg_auth(0x0804);
    c.sh.present = true;
    c.sh.version = 0x0304;
    c.sh.suite = 0x1301;
    c.sh.auth = AUTH_ANY;
    c.tls13 = true;
    c.outcome = OUTCOME_ENCRYPTED;
    assert_int_equal(conn_add_finding(&c, FINDING_TLS13_CERT_HIDDEN, SEV_INFO,
                     "TLS 1.3: the certificate is encrypted", "capture with a key log"), TI_OK);
    a.conns = list;
    a.nconns = 1;

    char *out = run(&a, REPORT_TEXT, false, false, false);
    assert_null(strstr(out, "ClientHello"));          /* info only: no ladder without -v */
    assert_null(strstr(out, "TLS13_CERT_HIDDEN"));
    assert_non_null(strstr(out, "findings: 0 error, 0 warning\n"));
    free(out);

    out = run(&a, REPORT_TEXT, false, true, false);
    assert_non_null(strstr(out, "\n  ClientHello   TLS1.3  no SNI  prefers RSA (1st sigalg: rsa_pss_rsae_sha256)\n"));
    assert_non_null(strstr(out, "\n  Certificate   (encrypted: TLS 1.3 without key log)\n"));
    assert_non_null(strstr(out, "\n  ! TLS13_CERT_HIDDEN   TLS 1.3: the certificate is encrypted\n"));
    free(out);
    conn_free(&c);
}

static void test_json_empty(void **state)
{
    (void)state;
    struct analysis a;
    memset(&a, 0, sizeof(a));
    a.warnings_dropped = 3;
    char *out = run(&a, REPORT_JSON, false, false, false);
    check_document(&a, out);
    json_t *doc = parse(out);
    assert_true(json_is_null(json_object_get(doc, "first_ts")));
    assert_true(json_is_null(json_object_get(doc, "last_ts")));
    assert_int_equal(json_array_size(json_object_get(doc, "connections")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "inputs")), 0);
    json_t *bo = json_object_get(json_object_get(doc, "summary"), "by_outcome");
    assert_int_equal(json_object_size(bo), 4);
    assert_int_equal(iget(bo, "complete"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "warnings"), 0)),
                        "3 further warnings not kept");
    json_decref(doc);
    free(out);

    out = run(&a, REPORT_JSONL, false, false, false);
    assert_string_equal(out, "");                  /* no connection, no line */
    free(out);
}

/* A FILE with a descriptor gets the document by write(2), past stdio: what
 * the caller had buffered in the FILE still comes first, and the bytes are
 * those of the stdio path (a memory stream has no descriptor). */
static void test_json_fd_path(void **state)
{
    struct fixture *f = *state;
    struct report_opts o = {.format = REPORT_JSON, .version = "0.1.0"};
    char *mem = run(&f->a, REPORT_JSON, false, false, false);
    FILE *t = tmpfile();
    char *got;
    long n;

    assert_non_null(t);
    assert_int_equal(fputs("prefix\n", t) >= 0, 1);        /* still in stdio's buffer */
    assert_int_equal(report_json(t, &f->a, &o), TI_OK);
    assert_int_equal(fputs("suffix\n", t) >= 0, 1);
    assert_int_equal(fflush(t), 0);
    n = ftell(t);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen("prefix\n") + strlen(mem) + strlen("suffix\n"));
    got = malloc((size_t)n + 1);
    assert_non_null(got);
    rewind(t);
    assert_int_equal(fread(got, 1, (size_t)n, t), (size_t)n);
    got[n] = '\0';
    assert_memory_equal(got, "prefix\n", 7);
    assert_memory_equal(got + 7, mem, strlen(mem));
    assert_string_equal(got + 7 + strlen(mem), "suffix\n");
    free(got);
    free(mem);
    fclose(t);
}

static void test_write_error(void **state)
{
    struct fixture *f = *state;
    FILE *full = fopen("/dev/full", "w");
    if (full == NULL)
        skip();
    struct report_opts o = {.format = REPORT_JSON, .version = "x"};
    errno = 0;
    assert_int_equal(report_json(full, &f->a, &o), TI_EIO);
    assert_int_equal(errno, ENOSPC);   /* from the writer thread, for the message */
    clearerr(full);
    o.format = REPORT_TEXT;
    assert_int_equal(report_text(full, &f->a, &o), TI_EIO);
    fclose(full);
}

/* ---- text ---------------------------------------------------------------------------- */

static void test_text_ladder(void **state)
{
    struct fixture *f = *state;
    char *out = run(&f->a, REPORT_TEXT, false, false, false);

    assert_non_null(strstr(out, "tlsinspect 0.1.0 -- 1 file(s): expe_tcpdump00_\\x07.pcap "
                                "(pcap, EN10MB, 42 pkts) TRUNCATED: truncated dump file"));
    assert_non_null(strstr(out, "\n2026-03-10T16:55:26.007000Z .. 2026-03-10T16:56:27.507000Z (1m01.500s)\n"));
    assert_non_null(strstr(out, "\n4 TLS connections on 2 server endpoints\n"));

    /* endpoint table: 6972 (3 conns: 2 failed, 1 incomplete) sorted before 8443 */
    const char *r6972 = strstr(out, "\n10.48.36.215:6972  generic      3         0       2      1  ECDSA");
    const char *r8443 = strstr(out, "\n10.48.36.215:8443  generic      1         1       0      0  RSA  ");
    assert_non_null(r6972);
    assert_non_null(r8443);
    assert_true(r6972 < r8443);
    assert_non_null(strstr(r6972, "CN=cucm-EC.steven.lab EC P-384 self-signed"));
    assert_non_null(strstr(r6972, "self_signed, name ok\n"));
    assert_non_null(strstr(r8443, "CN=cucm.steven.lab RSA 2048"));
    assert_non_null(strstr(r8443, "  ok, name ok\n"));

    /* the ladder of (a), in SPEC's style */
    static const char ladder[] =
        "\n10.48.36.46:31576 -> 10.48.36.215:6972  16:55:26.007  FAILED\n"
        "  ClientHello   TLS1.2  SNI cucm.steven.lab  prefers ECDSA (1st: TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)\n"
        "  ServerHello   TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384  (ECDSA)\n"
        "  Certificate   CN=cucm-EC.steven.lab  EC P-384  self-signed  SAN cucm.steven.lab\n"
        "  CertRequest\n"
        "  Alert ->      fatal unknown_ca (48) from client\n"
        "  RST           from client\n"
        "  ! CHAIN_SELF_SIGNED   server certificate CN=cucm-EC.steven.lab is self-signed and not trusted\n"
        "    fix: upload it to Expressway-C Maintenance > Security > Trusted CA certificate\n"
        "  ! UNKNOWN_CA_ALERT    client sent fatal unknown_ca after the server Certificate\n"
        "    fix: add the server's CA to the client's trust store\n"
        "  ! ECDSA_SELECTED      server selected ECDSA; the client preferred ECDSA\n"
        "    fix: prefix the cipher string with ECDHE-RSA-AES256-GCM-SHA384:\n"
        "  (and 1 more identical connection: port 31577)\n";
    assert_non_null(strstr(out, ladder));
    /* the duplicate (c) has no ladder of its own, (b) has no findings */
    assert_null(strstr(out, "10.48.36.46:31577 ->"));
    assert_null(strstr(out, "10.48.36.46:40000 ->"));

    /* (d): hostile SNI escaped, empty remedy gives no fix line */
    assert_non_null(strstr(out, "\n10.48.36.47:50000 -> 10.48.36.215:6972  16:55:26.307  INCOMPLETE\n"
                                "  ClientHello   TLS1.2  SNI bad\\xff\\x01\\x1b[2Jname\n"
                                "  ! HANDSHAKE_INCOMPLETE  capture ended before the ServerHello\n\n"));

    assert_non_null(strstr(out, "\nCapture findings:\n  ! CAPTURE_TRUNCATED  expe_tcpdump00.pcap ends mid-record\n"));
    assert_non_null(strstr(out, "\nWarnings:\n  - 2 packets were not IP\n"));
    assert_non_null(strstr(out, "\n4 connections: 1 complete, 2 failed, 1 incomplete, 0 encrypted; "
                                "findings: 5 error, 3 warning\n"));

    /* no colour, and no raw control byte other than newline */
    for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        assert_true(*p == '\n' || (*p >= 0x20 && *p != 0x7f));
    assert_null(strchr(out, '\033'));
    free(out);
}

static void test_text_fold_needs_identical(void **state)
{
    struct fixture *f = *state;
    /* a different outcome is not "identical": both ladders appear */
    f->conns[2]->outcome = OUTCOME_INCOMPLETE;
    char *out = run(&f->a, REPORT_TEXT, false, false, false);
    assert_null(strstr(out, "(and 1 more"));
    assert_non_null(strstr(out, "10.48.36.46:31577 -> 10.48.36.215:6972  16:55:26.207  INCOMPLETE\n"));
    free(out);
    f->conns[2]->outcome = OUTCOME_FAILED;

    /* nor a different leaf certificate */
    f->conns[2]->server_certs[0] = &cert_rsa_leaf;
    out = run(&f->a, REPORT_TEXT, false, false, false);
    assert_null(strstr(out, "(and 1 more"));
    free(out);
    f->conns[2]->server_certs[0] = &cert_ec_self;

    /* a third copy: plural, both ports listed in order */
    f->conns[4] = make_field_case(5, 31580, T0_US + 400000);
    f->a.nconns = 5;
    out = run(&f->a, REPORT_TEXT, false, false, false);
    assert_non_null(strstr(out, "  (and 2 more identical connections: ports 31577, 31580)\n"));
    free(out);
    out = run(&f->a, REPORT_TEXT, false, false, true);
    assert_non_null(strstr(out, "10.48.36.215:6972  UNKNOWN_CA_ALERT  client sent fatal unknown_ca "
                                "after the server Certificate  (3 connections)\n"));
    free(out);

    /* another client (a second Expressway-C node) failing the same way
     * folds too; its address is listed */
    f->conns[4]->client.ip[3] = 47;
    out = run(&f->a, REPORT_TEXT, false, false, false);
    assert_non_null(strstr(out, "  (and 2 more identical connections: ports 31577, 10.48.36.47:31580)\n"));
    free(out);
    f->a.nconns = 4;
}

static void test_text_quiet(void **state)
{
    struct fixture *f = *state;
    char *out = run(&f->a, REPORT_TEXT, false, false, true);
    assert_null(strstr(out, "ClientHello"));
    assert_null(strstr(out, "tlsinspect "));
    assert_null(strstr(out, "Problems:"));
    /* -q keeps the fix lines: one after each finding line that has a remedy */
    assert_non_null(strstr(out, "(2 connections)\n  fix: "));
    assert_non_null(strstr(out, "10.48.36.215:6972  CHAIN_SELF_SIGNED  server certificate "
                                "CN=cucm-EC.steven.lab is self-signed and not trusted  (2 connections)\n"));
    assert_non_null(strstr(out, "10.48.36.215:6972  ECDSA_SELECTED  "));
    assert_non_null(strstr(out, "10.48.36.215:6972  HANDSHAKE_INCOMPLETE  capture ended before the ServerHello\n"));
    assert_non_null(strstr(out, "capture  CAPTURE_TRUNCATED  "));
    assert_non_null(strstr(out, "4 connections: 1 complete, 2 failed, 1 incomplete, 0 encrypted; "
                                "findings: 5 error, 3 warning\n"));
    /* 3 + 1 finding lines, the three with a remedy followed by their fix line,
     * 1 capture line, 1 summary */
    size_t lines = 0, fixes = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    for (const char *p = out; (p = strstr(p, "\n  fix: ")) != NULL; p++)
        fixes++;
    assert_int_equal(fixes, 3);
    assert_int_equal(lines, 9);
    free(out);
}

static void test_text_color(void **state)
{
    struct fixture *f = *state;
    char *out = run(&f->a, REPORT_TEXT, true, false, false);
    assert_non_null(strstr(out, "16:55:26.007  \033[31mFAILED\033[0m\n"));
    assert_non_null(strstr(out, "  ! \033[1m\033[31mCHAIN_SELF_SIGNED\033[0m   server"));
    assert_non_null(strstr(out, "  ! \033[1m\033[33mECDSA_SELECTED\033[0m      server"));
    assert_non_null(strstr(out, "\033[32m1 complete\033[0m"));
    /* a hostile SNI still cannot inject its escape sequence */
    assert_null(strstr(out, "\033[2J"));
    free(out);
}

static void test_text_verbose(void **state)
{
    struct fixture *f = *state;
    char *out = run(&f->a, REPORT_TEXT, false, true, false);
    /* every connection, no folding */
    assert_null(strstr(out, "(and 1 more"));
    assert_non_null(strstr(out, "\n10.48.36.46:31577 -> 10.48.36.215:6972  16:55:26.207  FAILED  (#3)\n"));
    const char *b = strstr(out, "\n10.48.36.46:40000 -> 10.48.36.215:8443  16:55:26.107  COMPLETE  (#2)\n");
    assert_non_null(b);
    /* TLS 1.3 offered (supported_versions), numbered suites, GREASE named */
    assert_non_null(strstr(b, "  ClientHello   TLS1.3  SNI cucm.steven.lab  prefers RSA "
                              "(1st: TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)\n"));
    assert_non_null(strstr(b, "                cipher suites (3):\n"
                              "                   1. 0x0a0a GREASE\n"
                              "                   2. 0xc030 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"));
    assert_non_null(strstr(b, "supported_versions GREASE, TLS1.3, TLS1.2"));
    /* CA-signed leaf, at most 4 SAN values (DNS/IP only), chain line under it */
    assert_non_null(strstr(b, "  Certificate   CN=cucm.steven.lab  RSA 2048  CA-signed by Steven Lab Root CA"
                              "  SAN cucm.steven.lab, 10.48.36.215, a.steven.lab, b.steven.lab +2 more\n"));
    assert_non_null(strstr(b, "\n              + CN=Steven Lab Root CA (issuer Steven Lab Root CA, self-signed)\n"));
    assert_non_null(strstr(b, "    serial   01\n"));
    assert_non_null(strstr(b, "    validity 2025-01-01T00:00:00Z .. 2035-06-30T23:59:59Z  CA:FALSE\n"));
    assert_non_null(strstr(b, "  Verify        chain ok; name cucm.steven.lab (sni): ok by DNS:cucm.steven.lab"));
    assert_non_null(strstr(b, "  FIN           from client and server\n"));
    free(out);
}

int main(void)
{
    /* validity dates of the fixtures, computed independently of the report */
    int64_t nb = utc_s(2025, 1, 1, 0, 0, 0), na = utc_s(2035, 6, 30, 23, 59, 59);
    cert_ec_self.not_before = cert_rsa_leaf.not_before = cert_root.not_before = nb;
    cert_ec_self.not_after = cert_rsa_leaf.not_after = cert_root.not_after = na;

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_json_layout),
        cmocka_unit_test(test_ip_str),
        cmocka_unit_test_setup_teardown(test_json_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_wire_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_large_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_far_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jsonl, setup, teardown),
        cmocka_unit_test(test_json_edges),
        cmocka_unit_test(test_json_empty),
        cmocka_unit_test(test_text_tls13_hidden),
        cmocka_unit_test_setup_teardown(test_json_fd_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_ladder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_fold_needs_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_quiet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_color, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_verbose, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
