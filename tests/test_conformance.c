/* test_conformance.c - agree with tshark on the shared third-party captures.
 *
 * For every capture under ../shared/captures (or $TLSINSPECT_SHARED/captures)
 * with an expected/<name>.json written by tshark 4.0.17, run the analysis
 * with --ports all (and the key log where tshark had one) and compare, per
 * TCP connection tshark reported: the endpoints (client and server the right
 * way round), every ClientHello's cipher suites in order and SNI, the selected
 * suite, the SHA-256 of every server and client certificate, and the
 * plaintext alerts with their sender.
 *
 * tshark is an oracle, not gospel: each known disagreement is listed in
 * `exceptions` with its reason.  The test fails on any disagreement not listed
 * there, when field agreement falls below 99%, and when nothing was
 * compared (no expected file, or no connection with roles in them).  When
 * the shared captures are absent it skips loudly, except under CI=true,
 * where that is a failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/conn.h"
#include "tlsinspect/err.h"

#include "support/ci.h"

/* A known, explained disagreement: capture (path under captures/), the
 * client "ip:port" (or "*" for every connection) and the field.  A reason
 * starting with "tshark:" says tshark's answer is the wrong one (tlsinspect
 * reads the bytes correctly); any other reason names something tlsinspect
 * does not do, and that connection counts as a disagreement. */
struct exception {
    const char *capture;
    const char *client;
    const char *field;
    const char *reason;
};

static const struct exception exceptions[] = {
    /* SSLv2-compatible ClientHellos the expected files do not list. */
    {"arkime/pppoe.pcap", "172.202.246.57:1063", "client_hellos", "tshark: frame 4 is an SSLv2-compatible CLIENT-HELLO (tshark -V: 'SSLv2 Record Layer: Client Hello'); tshark dissects it but the expected file only collects TLS-record ClientHellos (handshake type 1 inside a type-22 record); tlsinspect counts it (RFC 5246 E.2), so tlsinspect is right"},
    {"suricata-verify/sslv2-tls-upgrade-01/ssl-v2-s1.pcap", "10.150.98.145:1660", "client_hellos",
     "tshark: frame 4 is an SSLv2-compatible CLIENT-HELLO (tshark -V: 'SSLv2 Record Layer: Client Hello'); tshark dissects it but the expected file only collects TLS-record ClientHellos (handshake type 1 inside a type-22 record); tlsinspect counts it (RFC 5246 E.2), so tlsinspect is right"},
    {"suricata-verify/tls/tls-altname-zero/input.pcap", "192.168.134.106:23481", "client_hellos",
     "tshark: frame 4 is an SSLv2-compatible CLIENT-HELLO (tshark -V: 'SSLv2 Record Layer: Client Hello'); tshark dissects it but the expected file only collects TLS-record ClientHellos (handshake type 1 inside a type-22 record); tlsinspect counts it (RFC 5246 E.2), so tlsinspect is right"},

    /* Damaged certificate: which bytes are "the certificate". */
    {"suricata-verify/bug-1450-04/tls_DER-incomplete-header.pcap", "127.0.0.1:50802", "server_certs",
     "tshark: the certificate entry is 9 bytes, 30 05 30 84 ff ff ff fa 04 (certificate_length 9): tshark's "
     "tls.handshake.certificate field holds only the 7 bytes its DER SEQUENCE header announces (30 05 "
     "+ 5), and the expected digest 26bd8df9... is SHA-256 of those 7; tlsinspect hashes the whole "
     "ASN.1Cert as sent (RFC 5246 7.4.2), a8b66060..., and reports it unparsable"},

    /* 6in4: the expected file names the tunnel, tlsinspect the connection. */
    {"ndpi/6in4tunnel.pcap", "174.3.73.24:53234", "endpoints",
     "tshark: the expected file names this connection by the outer IPv4 tunnel endpoints (ip.src/ip.dst of "
     "the 6in4 wrapper, 174.3.73.24 -> 184.105.255.26); tlsinspect decodes the tunnel and reports the "
     "TCP connection's own IPv6 endpoints, [2001:470:1f17:13f:3e97:eff:fe73:4dec]:53234 -> "
     "[2a03:2880:1010:6f03:face:b00c:0:2]:443; compared by port by hand, its ClientHello (13 suites, "
     "SNI www.facebook.com), ServerHello 0xc02b and 2 certificate digests agree"},
    {"ndpi/6in4tunnel.pcap", "174.3.73.24:60205", "endpoints",
     "tshark: the expected file names this connection by the outer IPv4 tunnel endpoints (6in4 wrapper); "
     "tlsinspect reports the inner IPv6 endpoints [2001:470:1f17:13f:3e97:eff:fe73:4dec]:60205 -> "
     "[2604:a880:1:20::224:b001]:443; compared by port by hand, its ClientHello (66 suites, SNI "
     "mail.tomasu.net), ServerHello 0xc02f and 4 certificate digests agree"},
    {NULL, NULL, NULL, NULL},
};

struct tally {
    unsigned fields, agree, excepted, conns, conns_found;
    unsigned conns_agree;        /* every field equal, or tshark judged wrong */
    unsigned conn_bad;           /* disagreements in the current connection */
    unsigned unexpected;
    unsigned no_roles;           /* tshark connections without client/server */
};

static const char *shared_dir(void)
{
    const char *e = getenv("TLSINSPECT_SHARED");
    return e ? e : "../shared";
}

static const struct exception *find_exception(const char *cap, const char *client, const char *field)
{
    for (size_t i = 0; exceptions[i].capture != NULL; i++) {
        const struct exception *x = &exceptions[i];
        if (strcmp(x->capture, cap) == 0 && strcmp(x->field, field) == 0 &&
            (strcmp(x->client, "*") == 0 || strcmp(x->client, client) == 0))
            return x;
    }
    return NULL;
}

static void ep_str(const struct conn_endpoint *e, char *buf, size_t len)
{
    char ip[64];
    conn_ip_str(e, ip, sizeof(ip));
    snprintf(buf, len, "%s:%u", ip, e->port);
}

static void check(struct tally *t, const char *cap, const char *client, const char *field,
                  bool ok, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void check(struct tally *t, const char *cap, const char *client, const char *field,
                  bool ok, const char *fmt, ...)
{
    const struct exception *x;
    va_list ap;

    t->fields++;
    if (ok) {
        t->agree++;
        return;
    }
    x = find_exception(cap, client, field);
    if (x != NULL) {
        t->excepted++;
        if (strncmp(x->reason, "tshark:", 7) != 0)
            t->conn_bad++;
        return;
    }
    t->conn_bad++;
    t->unexpected++;
    fprintf(stderr, "  DISAGREE %s %s %s: ", cap, client, field);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static bool hexcode_eq(const char *s, unsigned v)
{
    return s != NULL && strtoul(s, NULL, 16) == v;
}

static const struct conn *find_conn(const struct analysis *a, const char *client,
                                    const char *server, bool *reversed)
{
    char c[80], s[80];
    *reversed = false;
    for (size_t i = 0; i < a->nconns; i++) {
        ep_str(&a->conns[i]->client, c, sizeof(c));
        ep_str(&a->conns[i]->server, s, sizeof(s));
        if (strcmp(c, client) == 0 && strcmp(s, server) == 0)
            return a->conns[i];
    }
    for (size_t i = 0; i < a->nconns; i++) {
        ep_str(&a->conns[i]->client, c, sizeof(c));
        ep_str(&a->conns[i]->server, s, sizeof(s));
        if (strcmp(s, client) == 0 && strcmp(c, server) == 0) {
            *reversed = true;
            return a->conns[i];
        }
    }
    return NULL;
}

static void compare_certs(struct tally *t, const char *cap, const char *client, const char *field,
                          json_t *want, const struct x509_cert *const *have, size_t nhave)
{
    size_t n = json_array_size(want);
    bool ok = n == nhave;
    for (size_t i = 0; ok && i < n; i++)
        ok = strcmp(json_string_value(json_array_get(want, i)), have[i]->sha256_hex) == 0;
    check(t, cap, client, field, ok, "tshark %zu certificates, tlsinspect %zu (or digests differ)",
          n, nhave);
}

static void compare_conn(struct tally *t, const char *cap, json_t *jc, const struct conn *c)
{
    const char *client = json_string_value(json_object_get(jc, "client"));
    json_t *hellos = json_object_get(jc, "client_hellos");
    json_t *sh = json_object_get(jc, "server_hello");
    json_t *alerts = json_object_get(jc, "alerts");

    /* ClientHellos: count, suites in order, SNI. */
    check(t, cap, client, "client_hellos", json_array_size(hellos) == c->n_ch,
          "tshark %zu ClientHellos, tlsinspect %u", json_array_size(hellos), c->n_ch);
    for (size_t h = 0; h < json_array_size(hellos) && h < c->n_ch; h++) {
        json_t *jh = json_array_get(hellos, h);
        json_t *suites = json_object_get(jh, "cipher_suites");
        const struct conn_client_hello *ch = &c->ch[h];
        bool ok = json_array_size(suites) == ch->n_suites;
        for (size_t i = 0; ok && i < ch->n_suites; i++)
            ok = hexcode_eq(json_string_value(json_array_get(suites, i)), ch->suites[i]);
        check(t, cap, client, "cipher_suites", ok, "hello %zu: tshark %zu suites, tlsinspect %u",
              h, json_array_size(suites), ch->n_suites);
        const char *sni = json_string_value(json_object_get(jh, "sni"));
        check(t, cap, client, "sni",
              (sni == NULL && ch->sni == NULL) || (sni && ch->sni && strcmp(sni, ch->sni) == 0),
              "tshark %s, tlsinspect %s", sni ? sni : "(none)", ch->sni ? ch->sni : "(none)");
    }
    /* Selected suite. */
    if (json_is_object(sh)) {
        const char *suite = json_string_value(json_object_get(sh, "cipher_suite"));
        check(t, cap, client, "server_hello", c->sh.present && hexcode_eq(suite, c->sh.suite),
              "tshark %s, tlsinspect %s 0x%04x", suite ? suite : "?", c->sh.present ? "" : "none",
              c->sh.suite);
    } else {
        check(t, cap, client, "server_hello", !c->sh.present, "tshark none, tlsinspect 0x%04x",
              c->sh.suite);
    }
    compare_certs(t, cap, client, "server_certs", json_object_get(jc, "server_cert_sha256"),
                  c->server_certs, c->n_server_certs);
    compare_certs(t, cap, client, "client_certs", json_object_get(jc, "client_cert_sha256"),
                  c->client_certs, c->n_client_certs);
    /* Plaintext alerts in order with sender, level and description. */
    size_t k = 0;
    bool ok = true;
    for (size_t i = 0; i < c->n_alerts; i++) {
        const struct conn_alert *al = &c->alerts[i];
        if (al->encrypted)
            continue;
        json_t *ja = json_array_get(alerts, k++);
        if (ja == NULL) {
            ok = false;
            break;
        }
        const char *from = json_string_value(json_object_get(ja, "from"));
        ok = ok && from && strcmp(from, al->from == DIR_CLIENT ? "client" : "server") == 0 &&
             json_integer_value(json_object_get(ja, "level")) == al->level &&
             json_integer_value(json_object_get(ja, "description")) == al->description;
    }
    ok = ok && k == json_array_size(alerts);
    check(t, cap, client, "alerts", ok, "tshark %zu plaintext alerts, tlsinspect %zu differ",
          json_array_size(alerts), k);
}

static void run_one(struct tally *t, const char *expected_path)
{
    json_error_t jerr;
    json_t *root = json_load_file(expected_path, 0, &jerr);
    char cap_path[4096], key_path[4096], errbuf[512];
    struct analyze_opts *o = calloc(1, sizeof(*o));
    struct analysis *a = NULL;

    assert_non_null(o);
    if (root == NULL) {
        fail_msg("%s: %s", expected_path, jerr.text);
    }
    const char *cap = json_string_value(json_object_get(root, "capture"));
    const char *keylog = json_string_value(json_object_get(root, "keylog"));
    assert_non_null(cap);
    snprintf(cap_path, sizeof(cap_path), "%s/captures/%s", shared_dir(), cap);
    analyze_opts_default(o);
    o->all_ports = true;
    o->nports = 0;
    o->now = (int64_t)time(NULL);
    char *files[1] = {cap_path};
    o->files = files;
    o->nfiles = 1;
    if (keylog != NULL) {
        snprintf(key_path, sizeof(key_path), "%s/captures/%s", shared_dir(), keylog);
        o->keylog = key_path;
    }
    int rc = analyze_run(o, &a, errbuf, sizeof(errbuf));
    if (rc != TI_OK) {
        fprintf(stderr, "  %s: analysis failed: %s\n", cap, errbuf);
        t->unexpected++;
        json_decref(root);
        free(o);
        return;
    }
    json_t *conns = json_object_get(root, "connections");
    for (size_t i = 0; i < json_array_size(conns); i++) {
        json_t *jc = json_array_get(conns, i);
        const char *client = json_string_value(json_object_get(jc, "client"));
        const char *server = json_string_value(json_object_get(jc, "server"));
        bool reversed;
        if (client == NULL || server == NULL) {
            /* tshark saw TLS records but no handshake to tell the roles
             * (mid-stream start): nothing to compare endpoints against. */
            t->no_roles++;
            continue;
        }
        const struct conn *c = find_conn(a, client, server, &reversed);
        t->conns++;
        t->conn_bad = 0;
        check(t, cap, client, "endpoints", c != NULL && !reversed,
              "%s -> %s %s", client, server, c == NULL ? "not found" : "found reversed");
        if (c != NULL) {
            t->conns_found++;
            compare_conn(t, cap, jc, c);
        }
        if (t->conn_bad == 0)
            t->conns_agree++;
    }
    analysis_free(a);
    json_decref(root);
    free(o);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_tshark_conformance(void **state)
{
    char dir[4096];
    struct tally t = {0};
    DIR *d;
    struct dirent *e;
    char *names[512];
    size_t n = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/captures/expected", shared_dir());
    d = opendir(dir);
    if (d == NULL) {
        if (test_in_ci())
            fail_msg("%s not found: under CI=true the tshark conformance test must run "
                     "(set TLSINSPECT_SHARED to the shared directory)", dir);
        fprintf(stderr, "SKIPPED: %s not found: tshark conformance not run\n", dir);
        skip();
        return;
    }
    while ((e = readdir(d)) != NULL && n < 512) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char p[8192];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        run_one(&t, p);
        free(names[i]);
    }
    fprintf(stderr, "conformance: %zu captures, %u tshark connections (+%u without roles, "
            "not comparable), %u found; connections agreeing: %u/%u (%.2f%%); fields: %u/%u "
            "equal (%.2f%%), %u excepted with a reason, %u unexpected\n",
            n, t.conns, t.no_roles, t.conns_found, t.conns_agree, t.conns,
            t.conns ? 100.0 * t.conns_agree / t.conns : 100.0, t.agree, t.fields,
            t.fields ? 100.0 * t.agree / t.fields : 100.0, t.excepted, t.unexpected);
    /* Every disagreement is explained, and at least 99% of the connections
     * agree (a connection agrees when all its fields are equal, or differ
     * only where tshark's answer is the wrong one). */
    if (n == 0 || t.conns == 0 || t.fields == 0)
        fail_msg("conformance compared nothing: %zu expected files, %u connections, %u fields "
                 "in %s", n, t.conns, t.fields, dir);
    assert_int_equal(t.unexpected, 0);
    assert_true((double)t.conns_agree / t.conns >= 0.99);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tshark_conformance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
