/* test_diff.c - diff of two report documents: changes, worse rule, order, loading. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tlsinspect/diff.h"
#include "tlsinspect/err.h"

/* ---- building report documents by hand --------------------------------------- */

struct cspec {
    const char *ip;
    int port;
    const char *outcome;
    const char *pref;                 /* preferred_auth, NULL -> null */
    const char *const *suites;        /* NULL-terminated; "GREASE" -> a grease entry */
    const char *sel;                  /* selected suite; NULL: no ServerHello */
    const char *auth;
    const char *sha;                  /* leaf; NULL: no certificate */
    const char *cn, *key, *issuer;
    bool self_signed;
    const char *chain;                /* NULL: no verification */
    int name_ok;                      /* 1, 0, -1 = null */
    const char *alert;                /* fatal alert from the client, NULL none */
    const char *const *findings;      /* NULL-terminated "ID:severity" */
};

static const char *const RSA_LIST[] = {
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384", NULL
};
/* position 1 differs; added ECDSA_256 and ECDSA_128, removed TLS_RSA_WITH_AES_256 */
static const char *const ECDSA_LIST[] = {
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", NULL
};
static const char *const NO_FINDINGS[] = {NULL};
static const char *const UNKNOWN_CA_FINDINGS[] = {
    "UNKNOWN_CA_ALERT:error", "CHAIN_SELF_SIGNED:error", "ECDSA_SELECTED:warning", NULL
};
static const char *const ECDSA_WARNING[] = {"ECDSA_SELECTED:warning", NULL};

static json_t *conn(const struct cspec *s)
{
    json_t *c = json_object(), *ch = json_object(), *suites = json_array();
    json_t *alerts = json_array(), *findings = json_array(), *certs = json_array();

    json_object_set_new(c, "server", json_pack("{s:s, s:i}", "ip", s->ip, "port", s->port));
    json_object_set_new(c, "outcome", json_string(s->outcome));
    for (size_t i = 0; s->suites && s->suites[i]; i++) {
        if (strcmp(s->suites[i], "GREASE") == 0)
            json_array_append_new(suites, json_pack("{s:s, s:n, s:b}", "code", "0x0a0a", "name",
                                                    "grease", 1));
        else
            json_array_append_new(suites, json_pack("{s:s, s:s}", "code", "0xc02c", "name",
                                                    s->suites[i]));
    }
    json_object_set_new(ch, "cipher_suites", suites);
    json_object_set_new(ch, "preferred_auth", s->pref ? json_string(s->pref) : json_null());
    json_object_set_new(c, "client_hello", ch);
    json_object_set_new(c, "server_hello",
                        s->sel ? json_pack("{s:s, s:{s:s, s:s}, s:s}", "version", "TLS 1.2",
                                           "cipher_suite", "code", "0xc02c", "name", s->sel,
                                           "auth", s->auth)
                               : json_null());
    if (s->sha)
        json_array_append_new(certs, json_pack("{s:s, s:s, s:s, s:s, s:b}", "sha256", s->sha,
                                               "cn", s->cn, "key", s->key, "issuer", s->issuer,
                                               "self_signed", s->self_signed));
    json_object_set_new(c, "server_certificates", certs);
    if (s->alert)
        json_array_append_new(alerts, json_pack("{s:s, s:s, s:s, s:i, s:b}", "from", "client",
                                                "level", "fatal", "description", s->alert,
                                                "code", 48, "encrypted", 0));
    json_object_set_new(c, "alerts", alerts);
    json_object_set_new(c, "verification",
                        s->chain ? json_pack("{s:{s:s}, s:{s:o}}", "chain", "result", s->chain,
                                             "name", "ok",
                                             s->name_ok < 0 ? json_null()
                                                            : json_boolean(s->name_ok))
                                 : json_null());
    for (size_t i = 0; s->findings && s->findings[i]; i++) {
        char id[64];
        const char *colon = strchr(s->findings[i], ':');
        snprintf(id, sizeof(id), "%.*s", (int)(colon - s->findings[i]), s->findings[i]);
        char fix[96];
        snprintf(fix, sizeof(fix), "fix for %s", id);
        json_array_append_new(findings, json_pack("{s:s, s:s, s:s, s:s}", "id", id, "severity",
                                                  colon + 1, "message", "m", "remedy", fix));
    }
    json_object_set_new(c, "findings", findings);
    return c;
}

/* A report as tlsinspect writes it, made without a trust store. */
static json_t *doc_new(void)
{
    return json_pack("{s:{s:s, s:s}, s:{s:[i,i], s:b, s:[], s:s, s:n, s:n, s:n, s:n}, s:[{s:s}], "
                     "s:[], s:[]}", "tool", "name", "tlsinspect", "version", "test",
                     "options", "ports", 8443, 6972, "all_ports", 0, "names", "at", "capture",
                     "cafile", "capath", "client_cafile", "keylog",
                     "inputs", "file", "x.pcap", "connections", "findings");
}

/* Set doc's options.key to v (a new reference). */
static void set_opt(json_t *doc, const char *key, json_t *v)
{
    assert_int_equal(json_object_set_new(json_object_get(doc, "options"), key, v), 0);
}

static void doc_add(json_t *doc, const struct cspec *s)
{
    json_array_append_new(json_object_get(doc, "connections"), conn(s));
}

/* A healthy RSA connection to ip:port. */
static struct cspec rsa_ok(const char *ip, int port)
{
    struct cspec s = {
        .ip = ip, .port = port, .outcome = "complete", .pref = "RSA", .suites = RSA_LIST,
        .sel = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", .auth = "RSA",
        .sha = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", .cn = "cucm.steven.lab", .key = "RSA 2048",
        .issuer = "CN=Lab CA", .chain = "ok", .name_ok = 1, .findings = NO_FINDINGS,
    };
    return s;
}

/* The post-upgrade failure: ECDSA offered first, self-signed EC leaf, unknown_ca. */
static struct cspec ecdsa_fail(const char *ip, int port)
{
    struct cspec s = {
        .ip = ip, .port = port, .outcome = "failed", .pref = "ECDSA", .suites = ECDSA_LIST,
        .sel = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", .auth = "ECDSA",
        .sha = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", .cn = "cucm-EC.steven.lab", .key = "EC P-384",
        .issuer = "CN=cucm-EC.steven.lab", .self_signed = true, .chain = "self_signed",
        .name_ok = 1, .alert = "unknown_ca", .findings = UNKNOWN_CA_FINDINGS,
    };
    return s;
}

/* ---- running a diff -------------------------------------------------------------- */

struct result {
    int rc;
    char *text;
    size_t len;
    json_t *json;             /* parsed JSON output (json runs) */
};

static struct result run(json_t *b, enum diff_source bs, json_t *a, enum diff_source as, bool json)
{
    struct result r = {0};
    struct diff_opts o = {.json = json, .version = "test"};
    FILE *f = open_memstream(&r.text, &r.len);
    assert_non_null(f);
    r.rc = diff_documents(b, bs, "before.pcap", a, as, "after.pcap", &o, f);
    fclose(f);
    if (json && r.rc >= 0) {
        json_error_t err;
        r.json = json_loads(r.text, 0, &err);
        assert_non_null(r.json);
    }
    return r;
}

static void result_free(struct result *r)
{
    free(r->text);
    json_decref(r->json);
}

static json_t *endpoint(const json_t *out, const char *server)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(out, "endpoints"), i, e)
        if (strcmp(json_string_value(json_object_get(e, "server")), server) == 0)
            return e;
    return NULL;
}

static json_t *change(const json_t *ep, const char *field)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(ep, "changes"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "field")), field) == 0)
            return c;
    return NULL;
}

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_int_t iget(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* ---- tests ------------------------------------------------------------------------ */

static void identical_no_changes(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec s1 = rsa_ok("10.48.36.215", 6972), s2 = ecdsa_fail("10.48.36.216", 8443);
    doc_add(b, &s1); doc_add(b, &s2); doc_add(a, &s1); doc_add(a, &s2);

    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 0);
    assert_true(json_is_false(json_object_get(r.json, "worse")));
    /* the diff document is versioned, first member */
    assert_string_equal(json_object_iter_key(json_object_iter(r.json)), "schema_version");
    assert_int_equal(json_integer_value(json_object_get(r.json, "schema_version")),
                     DIFF_SCHEMA_VERSION);
    assert_int_equal(json_array_size(json_object_get(r.json, "endpoints")), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *e = json_array_get(json_object_get(r.json, "endpoints"), i);
        assert_string_equal(sget(e, "status"), "unchanged");
        assert_int_equal(json_array_size(json_object_get(e, "changes")), 0);
    }
    assert_int_equal(iget(json_object_get(r.json, "summary"), "unchanged"), 2);
    result_free(&r);

    r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.text, "10.48.36.215:6972  unchanged (1 connection: 1 complete)\n"));
    assert_non_null(strstr(r.text, "10.48.36.216:8443  unchanged (1 connection: 1 failed)\n"));
    assert_null(strstr(r.text, "WORSE"));
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

static void rsa_to_ecdsa_is_worse(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec pre = rsa_ok("10.48.36.215", 6972), post = ecdsa_fail("10.48.36.215", 6972);
    doc_add(b, &pre); doc_add(b, &pre);
    doc_add(a, &post); doc_add(a, &post);

    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 1);
    assert_true(json_is_true(json_object_get(r.json, "worse")));
    json_t *e = endpoint(r.json, "10.48.36.215:6972"), *c, *x;
    assert_non_null(e);
    assert_string_equal(sget(e, "status"), "worse");

    /* counts: same number of connections, 2 complete -> 0 */
    assert_null(change(e, "connections"));
    c = change(e, "complete");
    assert_non_null(c);
    assert_int_equal(iget(c, "before"), 2);
    assert_int_equal(iget(c, "after"), 0);
    c = change(e, "failed");
    assert_int_equal(iget(c, "after"), 2);

    c = change(e, "preferred_auth");
    assert_string_equal(sget(c, "before"), "RSA");
    assert_string_equal(sget(c, "after"), "ECDSA");
    assert_null(json_object_get(c, "before_values"));     /* one value each side */
    c = change(e, "selected_auth");
    assert_string_equal(sget(c, "before"), "RSA");
    assert_string_equal(sget(c, "after"), "ECDSA");
    c = change(e, "selected_suite");
    assert_string_equal(sget(c, "after"), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");

    c = change(e, "cipher_list");
    assert_non_null(c);
    assert_int_equal(iget(c, "first_difference"), 1);
    x = json_object_get(c, "added");
    assert_int_equal(json_array_size(x), 2);
    assert_string_equal(json_string_value(json_array_get(x, 0)), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    assert_string_equal(json_string_value(json_array_get(x, 1)), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    x = json_object_get(c, "removed");
    assert_int_equal(json_array_size(x), 1);
    assert_string_equal(json_string_value(json_array_get(x, 0)), "TLS_RSA_WITH_AES_256_GCM_SHA384");
    assert_int_equal(json_array_size(json_object_get(c, "before")), 3);
    assert_int_equal(json_array_size(json_object_get(c, "after")), 4);

    c = change(e, "leaf_certificate");
    assert_string_equal(sget(json_object_get(c, "before"), "cn"), "cucm.steven.lab");
    assert_string_equal(sget(json_object_get(c, "after"), "key"), "EC P-384");
    assert_true(json_is_true(json_object_get(json_object_get(c, "after"), "self_signed")));
    c = change(e, "chain_result");
    assert_string_equal(sget(c, "before"), "ok");
    assert_string_equal(sget(c, "after"), "self_signed");
    assert_null(change(e, "name_ok"));                  /* true on both sides */

    c = change(e, "alerts");
    x = json_array_get(json_object_get(c, "added"), 0);
    assert_string_equal(sget(x, "value"), "fatal unknown_ca from client");
    assert_int_equal(iget(x, "count"), 2);
    assert_int_equal(json_array_size(json_object_get(c, "removed")), 0);

    c = change(e, "findings");
    assert_int_equal(json_array_size(json_object_get(c, "added")), 3);
    assert_int_equal(iget(json_object_get(c, "after"), "UNKNOWN_CA_ALERT"), 2);
    assert_int_equal(json_object_size(json_object_get(c, "before")), 0);

    /* both rules fire: new error findings (warnings are not named) and fewer complete */
    x = json_object_get(e, "reasons");
    assert_int_equal(json_array_size(x), 2);
    assert_string_equal(json_string_value(json_array_get(x, 0)),
                        "new error findings UNKNOWN_CA_ALERT, CHAIN_SELF_SIGNED");
    assert_string_equal(json_string_value(json_array_get(x, 1)), "complete handshakes 2 -> 0");
    result_free(&r);

    r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.text, "\n10.48.36.215:6972  WORSE: new error findings"));
    assert_non_null(strstr(r.text, "\n  preferred auth    RSA -> ECDSA\n"));
    assert_non_null(strstr(r.text, "\n  selected auth     RSA -> ECDSA\n"));
    assert_non_null(strstr(r.text, "differs at position 1: TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 -> "
                                   "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384; 2 added, 1 removed\n"));
    assert_non_null(strstr(r.text, "-> CN=cucm-EC.steven.lab EC P-384 self-signed (sha256 bbbbbbbbbbbbbbbb..)"));
    assert_non_null(strstr(r.text, "\n  verification      ok -> self_signed\n"));
    assert_non_null(strstr(r.text, "\n  alerts            + fatal unknown_ca from client (x2)\n"));
    assert_non_null(strstr(r.text, "+ UNKNOWN_CA_ALERT (x2), + CHAIN_SELF_SIGNED (x2), + ECDSA_SELECTED (x2)"));
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

static void fewer_complete_is_worse(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec ok = rsa_ok("10.0.0.1", 8443), bad = rsa_ok("10.0.0.1", 8443);
    bad.outcome = "incomplete";
    doc_add(b, &ok); doc_add(b, &ok);
    doc_add(a, &ok); doc_add(a, &bad);

    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 1);
    json_t *e = endpoint(r.json, "10.0.0.1:8443");
    assert_string_equal(sget(e, "status"), "worse");
    assert_string_equal(json_string_value(json_array_get(json_object_get(e, "reasons"), 0)),
                        "complete handshakes 2 -> 1");
    assert_int_equal(iget(change(e, "incomplete"), "after"), 1);
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

/* More connections and more complete ones, but a smaller share: worse.
 * More connections all complete: only changed. */
static void complete_share_rule(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new(), *a2 = doc_new();
    struct cspec ok = rsa_ok("10.0.0.1", 8443), bad = rsa_ok("10.0.0.1", 8443);
    bad.outcome = "failed";
    doc_add(b, &ok); doc_add(b, &ok);
    doc_add(a, &ok); doc_add(a, &ok); doc_add(a, &ok); doc_add(a, &bad);
    doc_add(a2, &ok); doc_add(a2, &ok); doc_add(a2, &ok);

    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 1);
    json_t *e = endpoint(r.json, "10.0.0.1:8443");
    assert_string_equal(json_string_value(json_array_get(json_object_get(e, "reasons"), 0)),
                        "complete handshakes 2/2 -> 3/4");
    result_free(&r);

    r = run(b, DIFF_CAPTURE, a2, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 0);
    e = endpoint(r.json, "10.0.0.1:8443");
    assert_string_equal(sget(e, "status"), "changed");
    assert_int_equal(iget(change(e, "connections"), "after"), 3);
    assert_int_equal(iget(change(e, "complete"), "after"), 3);
    assert_int_equal(json_array_size(json_object_get(e, "changes")), 2);
    result_free(&r);
    json_decref(b);
    json_decref(a);
    json_decref(a2);
}

static void one_sided_endpoints(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec common = rsa_ok("10.0.0.1", 443), gone = rsa_ok("10.0.0.2", 443);
    struct cspec fresh = rsa_ok("10.0.0.3", 443);
    doc_add(b, &common); doc_add(b, &gone);
    doc_add(a, &common); doc_add(a, &fresh);

    /* one-sided endpoints without errors are not worse */
    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 0);
    assert_string_equal(sget(endpoint(r.json, "10.0.0.2:443"), "status"), "only_before");
    assert_string_equal(sget(endpoint(r.json, "10.0.0.3:443"), "status"), "only_after");
    assert_string_equal(sget(endpoint(r.json, "10.0.0.1:443"), "status"), "unchanged");
    assert_int_equal(iget(json_object_get(r.json, "summary"), "only_before"), 1);
    assert_int_equal(iget(json_object_get(r.json, "summary"), "only_after"), 1);
    /* an only-after endpoint's changes are against nothing: 0 -> 1 connection */
    assert_int_equal(iget(change(endpoint(r.json, "10.0.0.3:443"), "connections"), "before"), 0);
    result_free(&r);

    r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    assert_non_null(strstr(r.text, "\n10.0.0.2:443  only before: 1 connection: 1 complete\n"));
    assert_non_null(strstr(r.text, "\n10.0.0.3:443  only after: 1 connection: 1 complete\n"));
    result_free(&r);
    json_decref(a);

    /* a new endpoint that fails with an error finding is worse */
    a = doc_new();
    struct cspec bad = ecdsa_fail("10.0.0.3", 443);
    doc_add(a, &common); doc_add(a, &bad);
    r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 1);
    json_t *e = endpoint(r.json, "10.0.0.3:443");
    assert_string_equal(sget(e, "status"), "only_after");
    assert_true(json_is_true(json_object_get(e, "worse")));
    assert_int_equal(iget(json_object_get(r.json, "summary"), "worse"), 1);
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

static void new_warning_is_changed_not_worse(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec pre = rsa_ok("10.0.0.1", 8443), post = rsa_ok("10.0.0.1", 8443);
    post.findings = ECDSA_WARNING;
    doc_add(b, &pre);
    doc_add(a, &post);

    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 0);
    json_t *e = endpoint(r.json, "10.0.0.1:8443");
    assert_string_equal(sget(e, "status"), "changed");
    assert_false(json_is_true(json_object_get(e, "worse")));
    json_t *c = change(e, "findings");
    assert_string_equal(sget(json_array_get(json_object_get(c, "added"), 0), "value"), "ECDSA_SELECTED");
    assert_int_equal(json_array_size(json_object_get(e, "changes")), 1);
    result_free(&r);

    /* an error finding that goes away is an improvement, not worse */
    r = run(a, DIFF_CAPTURE, b, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 0);
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

/* Worse first, then changed, one-sided, unchanged; addresses numerically. */
static void order_and_determinism(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec s10 = rsa_ok("10.0.0.10", 443), s9 = rsa_ok("10.0.0.9", 443);
    struct cspec s2 = rsa_ok("10.0.0.2", 443), s2bad = ecdsa_fail("10.0.0.2", 443);
    struct cspec s9b = rsa_ok("10.0.0.9", 80), s9c = rsa_ok("10.0.0.9", 443);
    struct cspec v6 = rsa_ok("2001:db8::1", 443);
    s9c.pref = "ECDSA";
    doc_add(b, &s10); doc_add(b, &s9); doc_add(b, &s9b); doc_add(b, &s2); doc_add(b, &v6);
    doc_add(a, &v6); doc_add(a, &s2bad); doc_add(a, &s9b); doc_add(a, &s9c); doc_add(a, &s10);

    struct result r1 = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    json_t *eps = json_object_get(r1.json, "endpoints");
    const char *want[] = {"10.0.0.2:443", "10.0.0.9:443", "10.0.0.9:80", "10.0.0.10:443",
                          "[2001:db8::1]:443"};
    assert_int_equal(json_array_size(eps), 5);
    /* 10.0.0.9:80 sorts before 10.0.0.10 (address first), after :443 only
     * because :443 changed */
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(sget(json_array_get(eps, i), "server"), want[i]);
    assert_string_equal(sget(json_array_get(eps, 1), "status"), "changed");

    struct result r2 = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r1.len, r2.len);
    assert_memory_equal(r1.text, r2.text, r1.len);
    result_free(&r1);
    result_free(&r2);
    r1 = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    r2 = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    assert_int_equal(r1.len, r2.len);
    assert_memory_equal(r1.text, r2.text, r1.len);
    /* text shows the unchanged endpoints in address order too */
    char *p80 = strstr(r1.text, "10.0.0.9:80  unchanged"), *p10 = strstr(r1.text, "10.0.0.10:443  unchanged");
    assert_non_null(p80);
    assert_non_null(p10);
    assert_true(p80 < p10);
    result_free(&r1);
    result_free(&r2);
    json_decref(b);
    json_decref(a);
}

/* GREASE values are random per connection: never a difference. */
static void grease_ignored(void **state)
{
    (void)state;
    static const char *const with_grease[] = {"GREASE", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                              "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                              "TLS_RSA_WITH_AES_256_GCM_SHA384", NULL};
    json_t *b = doc_new(), *a = doc_new();
    struct cspec pre = rsa_ok("10.0.0.1", 443), post = rsa_ok("10.0.0.1", 443);
    post.suites = with_grease;
    doc_add(b, &pre);
    doc_add(a, &post);
    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 0);
    assert_string_equal(sget(endpoint(r.json, "10.0.0.1:443"), "status"), "unchanged");
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

/* Only the order changed; and a list that is a prefix of the other. */
static void cipher_reorder_and_prefix(void **state)
{
    (void)state;
    static const char *const reordered[] = {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                            "TLS_RSA_WITH_AES_256_GCM_SHA384",
                                            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", NULL};
    static const char *const longer[] = {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                         "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                         "TLS_RSA_WITH_AES_256_GCM_SHA384", "X_NEW", NULL};
    json_t *b = doc_new(), *a = doc_new(), *a2 = doc_new();
    struct cspec pre = rsa_ok("10.0.0.1", 443), post = pre, post2 = pre;
    post.suites = reordered;
    post2.suites = longer;
    doc_add(b, &pre);
    doc_add(a, &post);
    doc_add(a2, &post2);

    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    json_t *c = change(endpoint(r.json, "10.0.0.1:443"), "cipher_list");
    assert_int_equal(iget(c, "first_difference"), 2);
    assert_int_equal(json_array_size(json_object_get(c, "added")), 0);
    assert_int_equal(json_array_size(json_object_get(c, "removed")), 0);
    result_free(&r);
    r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    assert_non_null(strstr(r.text, "differs at position 2: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 -> "
                                   "TLS_RSA_WITH_AES_256_GCM_SHA384; same suites, reordered\n"));
    result_free(&r);

    r = run(b, DIFF_CAPTURE, a2, DIFF_CAPTURE, false);
    assert_non_null(strstr(r.text, "differs at position 4: (end of list) -> X_NEW; 1 added, 0 removed\n"));
    result_free(&r);
    json_decref(b);
    json_decref(a);
    json_decref(a2);
}

/* Mixed values on a side: the most common is "before"/"after", all are listed. */
static void mixed_values(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec rsa = rsa_ok("10.0.0.1", 443), ec = rsa_ok("10.0.0.1", 443);
    ec.pref = "ECDSA";
    doc_add(b, &rsa); doc_add(b, &rsa);
    doc_add(a, &rsa); doc_add(a, &ec); doc_add(a, &ec);

    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    json_t *c = change(endpoint(r.json, "10.0.0.1:443"), "preferred_auth");
    assert_string_equal(sget(c, "before"), "RSA");
    assert_string_equal(sget(c, "after"), "ECDSA");
    json_t *av = json_object_get(c, "after_values");
    assert_int_equal(json_array_size(av), 2);
    assert_string_equal(sget(json_array_get(av, 0), "value"), "ECDSA");
    assert_int_equal(iget(json_array_get(av, 0), "count"), 2);
    assert_int_equal(iget(json_array_get(av, 1), "count"), 1);
    result_free(&r);
    r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    assert_non_null(strstr(r.text, "\n  preferred auth    RSA -> ECDSA x2, RSA x1\n"));
    result_free(&r);

    /* same most common value, but a new one appeared: still a change */
    json_t *a2 = doc_new();
    doc_add(a2, &rsa); doc_add(a2, &rsa); doc_add(a2, &ec);
    r = run(b, DIFF_CAPTURE, a2, DIFF_CAPTURE, true);
    c = change(endpoint(r.json, "10.0.0.1:443"), "preferred_auth");
    assert_non_null(c);
    assert_string_equal(sget(c, "before"), "RSA");
    assert_string_equal(sget(c, "after"), "RSA");
    result_free(&r);
    json_decref(a2);
    json_decref(b);
    json_decref(a);
}

static void name_check_and_missing_server_hello(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec pre = rsa_ok("10.0.0.1", 443), post = rsa_ok("10.0.0.1", 443);
    post.name_ok = 0;
    post.sel = NULL;            /* no ServerHello: the suite becomes none */
    doc_add(b, &pre);
    doc_add(a, &post);
    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    json_t *e = endpoint(r.json, "10.0.0.1:443");
    json_t *c = change(e, "name_ok");
    assert_true(json_is_true(json_object_get(c, "before")));
    assert_true(json_is_false(json_object_get(c, "after")));
    c = change(e, "selected_suite");
    assert_true(json_is_null(json_object_get(c, "after")));
    result_free(&r);
    r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    assert_non_null(strstr(r.text, "\n  name check        ok -> mismatch\n"));
    assert_non_null(strstr(r.text, "\n  selected suite    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 -> none\n"));
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

/* Certificate names come from the wire: no raw control byte in text. */
static void text_escapes_wire_strings(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec pre = rsa_ok("10.0.0.1", 443), post = rsa_ok("10.0.0.1", 443);
    post.sha = "cccccccccccccccccccccccccccccccc";
    post.cn = "evil\x1b[2Jname";
    doc_add(b, &pre);
    doc_add(a, &post);
    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    assert_null(memchr(r.text, 0x1b, r.len));
    assert_non_null(strstr(r.text, "CN=evil\\x1b[2Jname"));
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

static void capture_level_findings(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec s = rsa_ok("10.0.0.1", 443);
    doc_add(b, &s);
    doc_add(a, &s);
    json_array_append_new(json_object_get(a, "findings"),
                          json_pack("{s:s, s:s, s:s}", "id", "CAPTURE_TRUNCATED", "severity",
                                    "error", "message", "cut"));
    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 1);
    json_t *cc = json_object_get(r.json, "capture_changes");
    assert_int_equal(json_array_size(cc), 1);
    assert_string_equal(sget(json_array_get(json_object_get(json_array_get(cc, 0), "added"), 0),
                             "value"), "CAPTURE_TRUNCATED");
    assert_string_equal(sget(endpoint(r.json, "10.0.0.1:443"), "status"), "unchanged");
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

static void report_side_note(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec s = rsa_ok("10.0.0.1", 443);
    doc_add(b, &s);
    doc_add(a, &s);
    struct result r = run(b, DIFF_REPORT, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 0);
    assert_string_equal(sget(json_object_get(r.json, "before"), "source"), "report");
    assert_string_equal(sget(json_object_get(r.json, "after"), "source"), "capture");
    assert_int_equal(json_array_size(json_object_get(r.json, "notes")), 1);
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r.json, "notes"), 0)),
                           "BEFORE is a saved report"));
    result_free(&r);
    r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(json_array_size(json_object_get(r.json, "notes")), 0);
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

/* The fix beside an endpoint that got worse: the remedies of the new error
 * findings, as the report worded them; none on endpoints not worse. */
static void fixes_beside_worse(void **state)
{
    (void)state;
    json_t *b = doc_new(), *a = doc_new();
    struct cspec ok = rsa_ok("10.0.0.1", 6972), bad = ecdsa_fail("10.0.0.1", 6972);
    struct cspec other = rsa_ok("10.0.0.2", 8443);
    doc_add(b, &ok);
    doc_add(a, &bad);
    doc_add(b, &other);
    doc_add(a, &other);
    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 1);
    json_t *fx = json_object_get(endpoint(r.json, "10.0.0.1:6972"), "fixes");
    assert_int_equal(json_array_size(fx), 2);   /* the two errors; not the warning */
    assert_string_equal(sget(json_array_get(fx, 0), "id"), "UNKNOWN_CA_ALERT");
    assert_string_equal(sget(json_array_get(fx, 0), "fix"), "fix for UNKNOWN_CA_ALERT");
    assert_string_equal(sget(json_array_get(fx, 1), "id"), "CHAIN_SELF_SIGNED");
    assert_null(json_object_get(endpoint(r.json, "10.0.0.2:8443"), "fixes"));
    result_free(&r);
    r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    assert_non_null(strstr(r.text, "\n  fix UNKNOWN_CA_ALERT: fix for UNKNOWN_CA_ALERT\n"
                                   "  fix CHAIN_SELF_SIGNED: fix for CHAIN_SELF_SIGNED\n"));
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

static json_t *store(const char *path, const char *sha)
{
    return json_pack("{s:s, s:s, s:i}", "path", path, "sha256", sha, "count", 1);
}

/* Verdicts reached with other verification options: nothing compared, one
 * line per option that differs, DIFF_NOT_COMPARABLE; the same content under
 * another path, names in another order, another key log or other ports
 * still compare. */
static void options_not_comparable(void **state)
{
    (void)state;
    struct cspec ok = rsa_ok("10.0.0.1", 6972), bad = ecdsa_fail("10.0.0.1", 6972);
    json_t *b = doc_new(), *a = doc_new();
    doc_add(b, &ok);
    doc_add(a, &bad);

    set_opt(a, "cafile", store("/a/trust.pem", "aaaa"));
    set_opt(a, "at", json_string("2026-01-01T00:00:00Z"));
    set_opt(b, "names", json_pack("[{s:s, s:s}]", "addr", "10.0.0.1", "name", "cucm"));
    struct result r = run(b, DIFF_REPORT, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, DIFF_NOT_COMPARABLE);
    assert_true(json_is_false(json_object_get(r.json, "comparable")));
    assert_int_equal(json_array_size(json_object_get(r.json, "endpoints")), 0);
    assert_true(json_is_false(json_object_get(r.json, "worse")));
    json_t *od = json_object_get(r.json, "option_differences");
    assert_int_equal(json_array_size(od), 3);
    assert_string_equal(sget(json_array_get(od, 0), "option"), "cafile");
    assert_string_equal(sget(json_array_get(od, 0), "before"), "none");
    assert_string_equal(sget(json_array_get(od, 0), "after"),
                        "/a/trust.pem (SHA-256 aaaa.., 1 certificate)");
    assert_string_equal(sget(json_array_get(od, 1), "option"), "name");
    assert_string_equal(sget(json_array_get(od, 1), "before"), "10.0.0.1=cucm");
    assert_string_equal(sget(json_array_get(od, 1), "after"), "none");
    assert_string_equal(sget(json_array_get(od, 2), "option"), "at");
    result_free(&r);
    r = run(b, DIFF_REPORT, a, DIFF_CAPTURE, false);
    assert_int_equal(r.rc, DIFF_NOT_COMPARABLE);
    assert_non_null(strstr(r.text, "\nnot comparable: verification options differ\n"
                                   "  --cafile          none -> /a/trust.pem (SHA-256 aaaa.., 1 certificate)\n"
                                   "  --name            10.0.0.1=cucm -> none\n"
                                   "  --at              capture -> 2026-01-01T00:00:00Z\n"));
    assert_null(strstr(r.text, "10.0.0.1:6972"));
    result_free(&r);

    /* --ignore-options: compared, worse, and a note says what differs */
    {
        struct diff_opts o = {.json = true, .version = "test", .ignore_options = true};
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_int_equal(diff_documents(b, DIFF_REPORT, "b", a, DIFF_CAPTURE, "a", &o, f), 1);
        fclose(f);
        assert_non_null(strstr(text, "compared anyway (--ignore-options): cafile: none -> "));
        free(text);
    }

    /* the same store content elsewhere, the same names in another order,
     * another key log, other ports: comparable */
    set_opt(b, "cafile", store("/b/copy.pem", "aaaa"));
    set_opt(b, "at", json_string("2026-01-01T00:00:00Z"));
    set_opt(b, "names", json_pack("[{s:s, s:s}, {s:s, s:s}]", "addr", "10.0.0.2", "name", "x",
                                  "addr", "10.0.0.1", "name", "cucm"));
    set_opt(a, "names", json_pack("[{s:s, s:s}, {s:s, s:s}]", "addr", "10.0.0.1", "name", "cucm",
                                  "addr", "10.0.0.2", "name", "x"));
    set_opt(a, "keylog", json_pack("{s:s, s:s, s:i}", "path", "k", "sha256", "bbbb", "count", 3));
    set_opt(a, "all_ports", json_true());
    r = run(b, DIFF_REPORT, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 1);
    assert_true(json_is_true(json_object_get(r.json, "comparable")));
    assert_int_equal(json_array_size(json_object_get(r.json, "option_differences")), 0);
    result_free(&r);

    /* another trust store content, and a client trust store on one side only */
    set_opt(b, "cafile", store("/a/trust.pem", "cccc"));
    set_opt(b, "client_cafile", store("/c.pem", "dddd"));
    r = run(b, DIFF_REPORT, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, DIFF_NOT_COMPARABLE);
    od = json_object_get(r.json, "option_differences");
    assert_int_equal(json_array_size(od), 2);
    assert_string_equal(sget(json_array_get(od, 0), "option"), "cafile");
    assert_string_equal(sget(json_array_get(od, 1), "option"), "client_cafile");
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

/* A report saved before "options" existed: compared, with a warning. */
static void options_unknown(void **state)
{
    (void)state;
    struct cspec ok = rsa_ok("10.0.0.1", 6972);
    json_t *b = doc_new(), *a = doc_new();
    doc_add(b, &ok);
    doc_add(a, &ok);
    json_object_del(b, "options");
    set_opt(a, "cafile", store("/a/trust.pem", "aaaa"));
    struct result r = run(b, DIFF_REPORT, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 0);
    assert_true(json_is_true(json_object_get(r.json, "comparable")));
    json_t *notes = json_object_get(r.json, "notes");
    assert_int_equal(json_array_size(notes), 2);
    assert_non_null(strstr(json_string_value(json_array_get(notes, 1)),
                           "warning: BEFORE does not record its verification options"));
    assert_string_equal(sget(endpoint(r.json, "10.0.0.1:6972"), "status"), "unchanged");
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

/* A report document missing pieces (older version, hand edits) must not crash. */
static void sparse_documents(void **state)
{
    (void)state;
    json_t *b = json_loads("{\"tool\": {\"name\": \"tlsinspect\"}, \"connections\": ["
                           "{}, {\"server\": {}}, 5, {\"server\": {\"ip\": \"10.0.0.1\", \"port\": \"x\"},"
                           " \"outcome\": 7, \"alerts\": [1, {}], \"findings\": [\"x\", {}],"
                           " \"client_hello\": {\"cipher_suites\": [1, {}], \"preferred_auth\": 3},"
                           " \"server_hello\": {\"cipher_suite\": 2}, \"server_certificates\": [{}],"
                           " \"verification\": {\"chain\": 1, \"name\": {\"ok\": \"y\"}}}],"
                           " \"findings\": {}}", 0, NULL);
    json_t *a = json_loads("{\"tool\": {\"name\": \"tlsinspect\"}, \"connections\": []}", 0, NULL);
    assert_non_null(b);
    assert_non_null(a);
    struct result r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, true);
    assert_int_equal(r.rc, 0);
    /* connections without a usable server fold into one "?:-1" endpoint */
    assert_int_equal(json_array_size(json_object_get(r.json, "endpoints")), 2);
    assert_non_null(endpoint(r.json, "?:-1"));
    assert_string_equal(sget(endpoint(r.json, "10.0.0.1:-1"), "status"), "only_before");
    result_free(&r);
    r = run(b, DIFF_CAPTURE, a, DIFF_CAPTURE, false);
    assert_int_equal(r.rc, 0);
    result_free(&r);
    json_decref(b);
    json_decref(a);
}

/* ---- loading sides from files ------------------------------------------------------ */

static char *write_tmp(const char *content)
{
    size_t len = strlen(content);
    char *path = strdup("/tmp/test_diff_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static void load_detects_content(void **state)
{
    (void)state;
    struct analyze_opts *o = calloc(1, sizeof(*o));
    char err[512];
    json_t *doc = NULL;
    enum diff_source src = DIFF_CAPTURE;
    char *report, *other, *jsonl, *garbage;

    analyze_opts_default(o);
    report = write_tmp("\n  {\"tool\": {\"name\": \"tlsinspect\", \"version\": \"1\"}, \"connections\": []}\n");
    other = write_tmp("{\"tool\": {\"name\": \"other\"}, \"connections\": []}");
    jsonl = write_tmp("{\"id\": 1}\n{\"id\": 2}\n");
    garbage = write_tmp("this is neither");

    err[0] = '\0';
    assert_int_equal(diff_load(o, report, "v", &doc, &src, err, sizeof(err)), TI_OK);
    assert_int_equal(src, DIFF_REPORT);
    assert_non_null(doc);
    json_decref(doc);

    err[0] = '\0';
    assert_int_equal(diff_load(o, other, "v", &doc, &src, err, sizeof(err)), TI_EUSAGE);
    assert_null(doc);
    assert_non_null(strstr(err, "not a report saved by"));

    err[0] = '\0';
    assert_int_equal(diff_load(o, jsonl, "v", &doc, &src, err, sizeof(err)), TI_EUSAGE);
    assert_non_null(strstr(err, "jsonl"));

    /* a report from a newer contract is refused, one without a version read */
    char *newer = write_tmp("{\"schema_version\": 3, \"tool\": {\"name\": \"tlsinspect\"}, "
                            "\"connections\": []}");
    char *current = write_tmp("{\"schema_version\": 2, \"tool\": {\"name\": \"tlsinspect\"}, "
                              "\"connections\": []}");
    /* schema 1 differs only in the order of the document's keys */
    char *older = write_tmp("{\"schema_version\": 1, \"tool\": {\"name\": \"tlsinspect\"}, "
                            "\"connections\": []}");
    err[0] = '\0';
    assert_int_equal(diff_load(o, newer, "v", &doc, &src, err, sizeof(err)), TI_EUSAGE);
    assert_null(doc);
    assert_non_null(strstr(err, "schema_version 3"));
    assert_int_equal(diff_load(o, current, "v", &doc, &src, err, sizeof(err)), TI_OK);
    json_decref(doc);
    doc = NULL;
    assert_int_equal(diff_load(o, older, "v", &doc, &src, err, sizeof(err)), TI_OK);
    json_decref(doc);
    doc = NULL;
    unlink(newer); unlink(current); unlink(older);
    free(newer); free(current); free(older);

    /* not JSON: handed to the capture reader, which refuses it */
    err[0] = '\0';
    assert_true(diff_load(o, garbage, "v", &doc, &src, err, sizeof(err)) < 0);
    assert_int_equal(src, DIFF_CAPTURE);
    assert_null(doc);
    assert_true(err[0] != '\0');

    err[0] = '\0';
    assert_int_equal(diff_load(o, "/nonexistent/x.pcap", "v", &doc, &src, err, sizeof(err)), TI_EIO);
    assert_non_null(strstr(err, "/nonexistent/x.pcap"));

    /* diff_run: unreadable input is status 2, identical reports status 0 */
    struct diff_opts dopts = {.version = "v"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(diff_run(o, report, garbage, &dopts, f, err, sizeof(err)), 2);
    assert_int_equal(diff_run(o, report, report, &dopts, f, err, sizeof(err)), 0);
    fclose(f);
    assert_non_null(strstr(buf, "0 endpoints: 0 worse"));
    free(buf);

    unlink(report); unlink(other); unlink(jsonl); unlink(garbage);
    free(report); free(other); free(jsonl); free(garbage);
    free(o);
}

/* A capture's side is folded while it is read, connections in release
 * order: the diff is the one of the documents (report order). */
static char *diff_text_of(struct analyze_opts *o, const char *b, const char *a, bool json,
                          bool streamed)
{
    struct diff_opts dopts = {.version = "v", .json = json};
    enum diff_source sb, sa;
    json_t *db = NULL, *da = NULL;
    char err[512] = "", *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    if (streamed) {
        assert_true(diff_run(o, b, a, &dopts, f, err, sizeof(err)) <= 1);
    } else {
        assert_int_equal(diff_load(o, b, "v", &db, &sb, err, sizeof(err)), TI_OK);
        assert_int_equal(diff_load(o, a, "v", &da, &sa, err, sizeof(err)), TI_OK);
        assert_true(diff_documents(db, sb, b, da, sa, a, &dopts, f) <= 1);
        json_decref(db);
        json_decref(da);
    }
    fclose(f);
    return buf;
}

static void capture_streamed_equals_document(void **state)
{
    static const char *const pairs[][2] = {
        {"captures/many-flows.pcap", "captures/post-upgrade.pcap"},
        {"captures/post-upgrade.pcap", "captures/many-flows.pcap"},
        {"captures/pre-upgrade.pcap", "captures/post-upgrade.pcap"},
        {"captures/field-case-6972.pcap", "captures/many-flows.pcap"},
    };
    struct analyze_opts *o = calloc(1, sizeof(*o));
    (void)state;

    assert_non_null(o);
    analyze_opts_default(o);
    o->trust.cafile = "captures/pki/expressway-trust.pem";
    o->all_ports = true;
    o->now = 1773161726;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        for (int json = 0; json < 2; json++) {
            char *want = diff_text_of(o, pairs[i][0], pairs[i][1], json, false);
            char *got = diff_text_of(o, pairs[i][0], pairs[i][1], json, true);
            assert_string_equal(got, want);
            free(want);
            free(got);
        }
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_no_changes),
        cmocka_unit_test(capture_streamed_equals_document),
        cmocka_unit_test(rsa_to_ecdsa_is_worse),
        cmocka_unit_test(fewer_complete_is_worse),
        cmocka_unit_test(complete_share_rule),
        cmocka_unit_test(one_sided_endpoints),
        cmocka_unit_test(new_warning_is_changed_not_worse),
        cmocka_unit_test(order_and_determinism),
        cmocka_unit_test(grease_ignored),
        cmocka_unit_test(cipher_reorder_and_prefix),
        cmocka_unit_test(mixed_values),
        cmocka_unit_test(name_check_and_missing_server_hello),
        cmocka_unit_test(text_escapes_wire_strings),
        cmocka_unit_test(capture_level_findings),
        cmocka_unit_test(report_side_note),
        cmocka_unit_test(sparse_documents),
        cmocka_unit_test(fixes_beside_worse),
        cmocka_unit_test(options_not_comparable),
        cmocka_unit_test(options_unknown),
        cmocka_unit_test(load_detects_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
