/* report_json.c - the JSON and JSONL reports (SPEC "Outputs"), through jansson.
 *
 * Shape and key order are fixed (the report doubles as a regression fixture):
 * keys are written in the order listed in SPEC and jansson keeps insertion
 * order (JSON_PRESERVE_ORDER is the default since 2.8; passed anyway for
 * older versions).  Strings copied from the wire (SNI, ALPN, certificate
 * names) may hold any byte: jansson refuses invalid UTF-8, so every such
 * string goes through report_escape(), which writes invalid bytes as the
 * text "\xNN" and can never make the document fail.
 *
 * Times: packet timestamps (microseconds) are RFC 3339 UTC with
 * microseconds ("2026-03-10T16:55:26.007000Z"); values the tool only knows
 * to the second (certificate validity, verification time) are RFC 3339 UTC
 * without a fraction ("2025-01-01T00:00:00Z").
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/report.h"
#include "tlsinspect/tls_names.h"

/* ---- UTF-8 cleaning (shared with report_text.c through report.h) ---------- */

size_t report_utf8_seq(const unsigned char *p, size_t left)
{
    unsigned char b = p[0];
    size_t n;
    uint32_t cp;

    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
        cp = b & 0x1fu;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        cp = b & 0x0fu;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        cp = b & 0x07u;
    } else {
        return 0;                       /* continuation byte, 0xc0/0xc1, 0xf5.. */
    }
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0u) != 0x80u)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    /* RFC 3629 3: reject overlong forms, UTF-16 surrogates, > U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    if (cp >= 0xd800 && cp <= 0xdfff)
        return 0;
    return n;
}

/* C0, DEL, and the C1 controls (U+0080..U+009F: 0xc2 0x80..0x9f), which
 * some terminals act on as escape sequences. */
static bool is_control_seq(const unsigned char *p, size_t n)
{
    if (n == 1)
        return p[0] < 0x20 || p[0] == 0x7f;
    return n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

char *report_escape(const char *s, bool printable)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t len = strlen((const char *)p);
    char *out, *w;

    /* worst case: every byte becomes 4 characters */
    out = malloc(len * 4 + 1);
    if (out == NULL)
        return NULL;
    w = out;
    for (size_t i = 0; i < len;) {
        size_t n = report_utf8_seq(p + i, len - i);
        if (n == 0 || (printable && is_control_seq(p + i, n))) {
            size_t k = n == 0 ? 1 : n;
            for (size_t j = 0; j < k; j++) {
                *w++ = '\\';
                *w++ = 'x';
                *w++ = hex[p[i + j] >> 4];
                *w++ = hex[p[i + j] & 0x0f];
            }
            i += k;
            continue;
        }
        memcpy(w, p + i, n);
        w += n;
        i += n;
    }
    *w = '\0';
    return out;
}

/* ---- building blocks ---------------------------------------------------------- */

/* Allocation failures are collected in one flag rather than checked at
 * every call: jansson's *_set_new / *_append_new take NULL values and
 * release the value on failure, so nothing leaks and the document is
 * discarded at the end. */
struct jctx {
    const struct analysis *a;
    const struct tls_names *names;
    bool oom;
};

static void put(struct jctx *j, json_t *obj, const char *key, json_t *v)
{
    if (obj == NULL) {
        json_decref(v);
        j->oom = true;
    } else if (v == NULL || json_object_set_new(obj, key, v) != 0) {
        j->oom = true;
    }
}

static void add(struct jctx *j, json_t *arr, json_t *v)
{
    if (arr == NULL) {
        json_decref(v);
        j->oom = true;
    } else if (v == NULL || json_array_append_new(arr, v) != 0) {
        j->oom = true;
    }
}

/* A wire string (may be NULL -> null). */
static json_t *jstr(struct jctx *j, const char *s)
{
    if (s == NULL)
        return json_null();
    char *clean = report_escape(s, false);
    if (clean == NULL) {
        j->oom = true;
        return NULL;
    }
    json_t *v = json_string(clean);
    free(clean);
    return v;
}

/* A string from our own tables (ASCII; NULL -> null). */
static json_t *jname(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *juint(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *jhex16(uint16_t v)
{
    char buf[8];
    snprintf(buf, sizeof(buf), "0x%04x", (unsigned)v);
    return json_string(buf);
}

/* Seconds division rounding towards minus infinity (timestamps before 1970
 * are odd but must not print a negative fraction). */
static void split_us(int64_t us, int64_t *sec, int64_t *frac)
{
    *sec = us / 1000000;
    *frac = us % 1000000;
    if (*frac < 0) {
        *frac += 1000000;
        *sec -= 1;
    }
}

static json_t *jtime_s(int64_t sec)
{
    char buf[64];
    struct tm tm;
    time_t t = (time_t)sec;

    if (gmtime_r(&t, &tm) == NULL)
        return json_null();
    snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02dZ",
             (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    return json_string(buf);
}

static json_t *jtime_us(int64_t us)
{
    char buf[64];
    struct tm tm;
    int64_t sec, frac;

    split_us(us, &sec, &frac);
    time_t t = (time_t)sec;
    if (gmtime_r(&t, &tm) == NULL)
        return json_null();
    snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ",
             (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
    return json_string(buf);
}

static const char *dir_name(int d)
{
    return d == DIR_CLIENT ? "client" : "server";
}

static json_t *jendpoint(struct jctx *j, const struct conn_endpoint *e)
{
    char ip[64];
    json_t *o = json_object();
    put(j, o, "ip", json_string(conn_ip_str(e, ip, sizeof(ip))));
    put(j, o, "port", json_integer(e->port));
    return o;
}

static json_t *jpair(struct jctx *j, uint64_t client, uint64_t server)
{
    json_t *o = json_object();
    put(j, o, "client", juint(client));
    put(j, o, "server", juint(server));
    return o;
}

static json_t *jtcp(struct jctx *j, const struct conn_tcp *t)
{
    json_t *o = json_object();
    json_t *fin = json_array(), *rst = json_array();

    for (int d = DIR_CLIENT; d <= DIR_SERVER; d++) {
        if (t->fin[d])
            add(j, fin, json_string(dir_name(d)));
        if (t->rst[d])
            add(j, rst, json_string(dir_name(d)));
    }
    put(j, o, "syn_seen", json_boolean(t->syn_seen));
    put(j, o, "fin_by", fin);
    put(j, o, "rst_by", rst);
    put(j, o, "retransmissions", jpair(j, t->retrans[DIR_CLIENT], t->retrans[DIR_SERVER]));
    put(j, o, "gaps", jpair(j, t->gaps[DIR_CLIENT], t->gaps[DIR_SERVER]));
    put(j, o, "gap_bytes", jpair(j, t->gap_bytes[DIR_CLIENT], t->gap_bytes[DIR_SERVER]));
    return o;
}

/* {"code": "0xc02c", "name": "..."|null} */
static json_t *jcode(struct jctx *j, uint16_t code, const char *name)
{
    json_t *o = json_object();
    put(j, o, "code", jhex16(code));
    put(j, o, "name", jname(name));
    return o;
}

/* As jcode, plus "grease": true for RFC 8701 values (key absent otherwise). */
static json_t *jcode_grease(struct jctx *j, uint16_t code, const char *name)
{
    json_t *o = jcode(j, code, name);
    if (tls_is_grease(code))
        put(j, o, "grease", json_true());
    return o;
}

static json_t *jclient_hello(struct jctx *j, const struct conn_client_hello *h)
{
    json_t *o = json_object();
    json_t *arr;

    put(j, o, "legacy_version", jhex16(h->legacy_version));

    /* as sent, GREASE values included */
    arr = json_array();
    for (size_t i = 0; i < h->n_versions && i < CONN_MAX_VERSIONS; i++)
        add(j, arr, jhex16(h->versions[i]));
    put(j, o, "supported_versions", arr);

    put(j, o, "sni", jstr(j, h->sni));

    arr = json_array();
    for (uint32_t i = 0; i < h->n_suites && h->suites != NULL; i++)
        add(j, arr, jcode_grease(j, h->suites[i], tls_suite_name(j->names, h->suites[i])));
    put(j, o, "cipher_suites", arr);

    arr = json_array();
    for (size_t i = 0; i < h->n_sigalgs && i < CONN_MAX_SIGALGS; i++)
        add(j, arr, jcode(j, h->sigalgs[i], tls_sigalg_name(h->sigalgs[i])));
    put(j, o, "signature_algorithms", arr);

    arr = json_array();
    for (size_t i = 0; i < h->n_groups && i < CONN_MAX_GROUPS; i++)
        add(j, arr, jcode_grease(j, h->groups[i], tls_group_name(h->groups[i])));
    put(j, o, "supported_groups", arr);

    arr = json_array();
    for (size_t i = 0; i < h->n_alpn && i < CONN_MAX_ALPN; i++)
        add(j, arr, jstr(j, h->alpn[i]));
    put(j, o, "alpn", arr);

    put(j, o, "session_id_length", json_integer(h->session_id_len));
    put(j, o, "preferred_auth", jname(conn_auth_name(h->preferred_auth)));
    put(j, o, "ja3", h->ja3[0] ? jstr(j, h->ja3) : json_null());
    put(j, o, "ja4", h->ja4[0] ? jstr(j, h->ja4) : json_null());
    put(j, o, "sslv2", json_boolean(h->sslv2));
    return o;
}

static json_t *jserver_hello(struct jctx *j, const struct conn_server_hello *sh)
{
    char vbuf[16];
    const char *vname = tls_version_name(sh->version, vbuf, sizeof(vbuf));
    json_t *o = json_object();

    put(j, o, "version", vname ? json_string(vname) : jhex16(sh->version));
    put(j, o, "cipher_suite", jcode(j, sh->suite, tls_suite_name(j->names, sh->suite)));
    put(j, o, "auth", jname(conn_auth_name(sh->auth)));
    return o;
}

static json_t *jcert(struct jctx *j, const struct x509_cert *c)
{
    if (c == NULL)
        return json_null();

    json_t *o = json_object();
    if (!c->parsed) {
        put(j, o, "sha256", json_string(c->sha256_hex));
        put(j, o, "parse_error", jstr(j, c->parse_error ? c->parse_error : "unparseable"));
        put(j, o, "der_length", juint(c->der_len));
        return o;
    }

    json_t *san = json_array();
    for (size_t i = 0; i < c->n_san && i < X509_MAX_SAN; i++)
        add(j, san, jstr(j, c->san[i]));

    put(j, o, "subject", jstr(j, c->subject));
    put(j, o, "issuer", jstr(j, c->issuer));
    put(j, o, "cn", jstr(j, c->cn));
    put(j, o, "san", san);
    put(j, o, "key", jstr(j, c->key));
    put(j, o, "signature_algorithm", jstr(j, c->signature_algorithm));
    /* x509.h: 0 means OpenSSL could not read the time */
    put(j, o, "not_before", c->not_before ? jtime_s(c->not_before) : json_null());
    put(j, o, "not_after", c->not_after ? jtime_s(c->not_after) : json_null());
    put(j, o, "serial", jstr(j, c->serial));
    put(j, o, "sha256", json_string(c->sha256_hex));
    put(j, o, "ski", jstr(j, c->ski));
    put(j, o, "aki", jstr(j, c->aki));
    put(j, o, "is_ca", json_boolean(c->is_ca));
    put(j, o, "self_signed", json_boolean(c->self_signed));
    return o;
}

static json_t *jcerts(struct jctx *j, const struct x509_cert *const *certs, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n && i < CONN_MAX_CERTS; i++)
        add(j, arr, jcert(j, certs[i]));
    return arr;
}

static json_t *jalert(struct jctx *j, const struct conn_alert *al)
{
    json_t *o = json_object();

    put(j, o, "from", json_string(dir_name(al->from)));
    if (al->encrypted) {
        /* after ChangeCipherSpec only "an alert" is known (RFC 5246 7.1) */
        put(j, o, "level", json_null());
        put(j, o, "description", json_null());
        put(j, o, "code", json_null());
    } else {
        put(j, o, "level", jname(tls_alert_level_name(al->level)));
        put(j, o, "description", jname(tls_alert_name(al->description)));
        put(j, o, "code", json_integer(al->description));
    }
    put(j, o, "encrypted", json_boolean(al->encrypted));
    put(j, o, "ts", jtime_us(al->ts));
    return o;
}

static json_t *jchain(struct jctx *j, const struct x509_verdict *v)
{
    json_t *o = json_object();
    put(j, o, "result", json_string(x509_chain_result_name(v->result)));
    put(j, o, "depth", json_integer(v->depth));
    put(j, o, "openssl_error", v->openssl_error[0] ? jstr(j, v->openssl_error) : json_null());
    return o;
}

static json_t *jverification(struct jctx *j, const struct conn_verification *v)
{
    json_t *o = json_object(), *name = json_object();

    put(j, o, "time", jtime_s(v->time));
    put(j, o, "expected_name", v->expected_name[0] ? jstr(j, v->expected_name) : json_null());
    put(j, o, "name_source", jname(x509_name_source_name(v->name_source)));
    put(j, o, "chain", jchain(j, &v->verdict));
    /* no expected name (nothing to check): ok is null, not false */
    put(j, name, "ok", v->verdict.name_checked ? json_boolean(v->verdict.name_ok) : json_null());
    put(j, name, "matched", v->verdict.matched[0] ? jstr(j, v->verdict.matched) : json_null());
    put(j, o, "name", name);
    if (v->now_differs)
        put(j, o, "chain_now", jchain(j, &v->verdict_now));
    if (v->client_done)
        put(j, o, "client_chain", jchain(j, &v->client_verdict));
    return o;
}

static json_t *jconn(struct jctx *j, const struct conn *c)
{
    json_t *o = json_object(), *arr;

    put(j, o, "id", juint(c->id));
    put(j, o, "client", jendpoint(j, &c->client));
    put(j, o, "server", jendpoint(j, &c->server));
    put(j, o, "start_ts", jtime_us(c->first_ts));
    put(j, o, "outcome", json_string(conn_outcome_name(c->outcome)));
    put(j, o, "tcp", jtcp(j, &c->tcp));

    put(j, o, "client_hello", c->n_ch > 0 ? jclient_hello(j, &c->ch[0]) : json_null());
    if (c->n_ch > 1)        /* the ClientHello sent after a HelloRetryRequest */
        put(j, o, "client_hello_retry", jclient_hello(j, &c->ch[1]));
    put(j, o, "server_hello", c->sh.present ? jserver_hello(j, &c->sh) : json_null());
    if (c->sh_hrr.hrr)
        put(j, o, "hello_retry_request", json_true());

    put(j, o, "server_certificates", jcerts(j, c->server_certs, c->n_server_certs));
    put(j, o, "certificate_request", json_boolean(c->certificate_request));
    put(j, o, "client_certificates", jcerts(j, c->client_certs, c->n_client_certs));

    arr = json_array();
    for (size_t i = 0; i < c->n_alerts && i < CONN_MAX_ALERTS; i++)
        add(j, arr, jalert(j, &c->alerts[i]));
    put(j, o, "alerts", arr);

    put(j, o, "verification", c->verify.done ? jverification(j, &c->verify) : json_null());

    arr = json_array();
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++) {
        const struct conn_finding *f = &c->findings[i];
        json_t *fo = json_object();
        put(j, fo, "id", json_string(finding_name(f->id)));
        put(j, fo, "severity", json_string(finding_severity_name(f->severity)));
        put(j, fo, "message", jstr(j, f->message));
        put(j, fo, "remedy", jstr(j, f->remedy));
        add(j, arr, fo);
    }
    put(j, o, "findings", arr);

    if (c->tls13_note != NULL)
        put(j, o, "tls13_note", jstr(j, c->tls13_note));
    if (c->malformed[DIR_CLIENT] || c->malformed[DIR_SERVER]) {
        arr = json_array();
        for (int d = DIR_CLIENT; d <= DIR_SERVER; d++) {
            if (!c->malformed[d])
                continue;
            char *why = NULL;
            if (asprintf(&why, "%s: %s", dir_name(d),
                         c->malformed_why[d] ? c->malformed_why[d] : "malformed") < 0) {
                j->oom = true;
                continue;
            }
            add(j, arr, jstr(j, why));
            free(why);
        }
        put(j, o, "malformed", arr);
    }
    return o;
}

static bool reported(const struct conn *c)
{
    return c != NULL && c->outcome != OUTCOME_NOT_TLS;
}

/* summary.findings: {"ID": count} over connections and global findings,
 * keys in name order (stable whatever order the X-macro table has). */
static json_t *jfinding_counts(struct jctx *j)
{
    uint64_t count[FINDING_COUNT] = {0};
    int order[FINDING_COUNT];
    const struct analysis *a = j->a;

    for (size_t i = 0; i < a->nconns; i++) {
        const struct conn *c = a->conns[i];
        if (!reported(c))
            continue;
        for (size_t k = 0; k < c->n_findings && k < CONN_MAX_FINDINGS; k++)
            if (c->findings[k].id >= 0 && c->findings[k].id < FINDING_COUNT)
                count[c->findings[k].id]++;
    }
    for (size_t i = 0; i < a->nglobal; i++)
        if (a->global[i].id >= 0 && a->global[i].id < FINDING_COUNT)
            count[a->global[i].id]++;

    /* insertion sort by name: FINDING_COUNT is small */
    for (int i = 0; i < FINDING_COUNT; i++) {
        int k = i;
        while (k > 0 && strcmp(finding_name(order[k - 1]), finding_name(i)) > 0) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }

    json_t *o = json_object();
    for (int i = 0; i < FINDING_COUNT; i++)
        if (count[order[i]] > 0)
            put(j, o, finding_name(order[i]), juint(count[order[i]]));
    return o;
}

static json_t *jsummary(struct jctx *j)
{
    uint64_t n = 0, by[OUTCOME_ENCRYPTED + 1] = {0};
    const struct analysis *a = j->a;

    for (size_t i = 0; i < a->nconns; i++) {
        const struct conn *c = a->conns[i];
        if (!reported(c))
            continue;
        n++;
        if ((unsigned)c->outcome <= OUTCOME_ENCRYPTED)
            by[c->outcome]++;
    }
    json_t *o = json_object(), *bo = json_object();
    put(j, o, "connections", juint(n));
    /* all four keys always present, so consumers need no defaults */
    put(j, bo, "complete", juint(by[OUTCOME_COMPLETE]));
    put(j, bo, "failed", juint(by[OUTCOME_FAILED]));
    put(j, bo, "incomplete", juint(by[OUTCOME_INCOMPLETE]));
    put(j, bo, "encrypted", juint(by[OUTCOME_ENCRYPTED]));
    put(j, o, "by_outcome", bo);
    put(j, o, "findings", jfinding_counts(j));
    return o;
}

static json_t *jinputs(struct jctx *j)
{
    json_t *arr = json_array();
    const struct analysis *a = j->a;

    for (size_t i = 0; i < a->ninputs; i++) {
        const struct cap_input *in = &a->inputs[i];
        json_t *o = json_object();
        put(j, o, "file", jstr(j, in->file ? in->file : ""));
        put(j, o, "format", jstr(j, in->format));
        put(j, o, "linktype", jstr(j, in->linktype_name));
        put(j, o, "packets", juint(in->packets));
        put(j, o, "bytes", juint(in->bytes));
        put(j, o, "truncated", json_boolean(in->truncated));
        if (in->truncated)
            put(j, o, "error", jstr(j, in->error));
        add(j, arr, o);
    }
    return arr;
}

static json_t *jdocument(struct jctx *j, const struct report_opts *o)
{
    const struct analysis *a = j->a;
    json_t *doc = json_object(), *tool = json_object(), *arr;
    bool have_ts = a->packets > 0;

    put(j, tool, "name", json_string("tlsinspect"));
    put(j, tool, "version", jstr(j, o->version ? o->version : "unknown"));
    put(j, doc, "tool", tool);
    put(j, doc, "inputs", jinputs(j));
    put(j, doc, "first_ts", have_ts ? jtime_us(a->first_ts) : json_null());
    put(j, doc, "last_ts", have_ts ? jtime_us(a->last_ts) : json_null());

    arr = json_array();
    for (size_t i = 0; i < a->nconns; i++)
        if (reported(a->conns[i]))
            add(j, arr, jconn(j, a->conns[i]));
    put(j, doc, "connections", arr);
    put(j, doc, "summary", jsummary(j));

    /* capture-level findings (CAPTURE_TRUNCATED, LIMIT_REACHED): not in
     * SPEC's sketch, but they belong in a fixture */
    arr = json_array();
    for (size_t i = 0; i < a->nglobal; i++) {
        const struct analyze_global_finding *g = &a->global[i];
        json_t *go = json_object();
        put(j, go, "id", json_string(finding_name(g->id)));
        put(j, go, "severity", json_string(finding_severity_name(finding_severity(g->id))));
        put(j, go, "message", jstr(j, g->message));
        add(j, arr, go);
    }
    put(j, doc, "findings", arr);

    arr = json_array();
    for (size_t i = 0; i < a->nwarnings && i < ANALYZE_MAX_WARNINGS; i++)
        add(j, arr, jstr(j, a->warnings[i]));
    if (a->warnings_dropped > 0) {
        char buf[96];
        snprintf(buf, sizeof(buf), "%" PRIu64 " further warnings not kept",
                 a->warnings_dropped);
        add(j, arr, json_string(buf));
    }
    put(j, doc, "warnings", arr);
    return doc;
}

json_t *report_json_document(const struct analysis *a, const struct report_opts *o)
{
    struct jctx j = { .a = a, .names = a->names, .oom = false };
    json_t *doc = jdocument(&j, o);

    if (j.oom) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int dump(FILE *out, json_t *v, size_t flags)
{
    if (json_dumpf(v, out, flags) != 0)
        return TI_EIO;
    if (fputc('\n', out) == EOF)
        return TI_EIO;
    return TI_OK;
}

int report_json(FILE *out, const struct analysis *a, const struct report_opts *o)
{
    struct jctx j = { .a = a, .names = a->names, .oom = false };
    int rc = TI_OK;

    if (o->format == REPORT_JSONL) {
        /* SPEC: one connection object per line, nothing else */
        for (size_t i = 0; i < a->nconns && rc == TI_OK; i++) {
            if (!reported(a->conns[i]))
                continue;
            json_t *c = jconn(&j, a->conns[i]);
            if (j.oom || c == NULL)
                rc = TI_ENOMEM;
            else
                rc = dump(out, c, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_decref(c);
        }
    } else {
        json_t *doc = report_json_document(a, o);
        if (doc == NULL)
            rc = TI_ENOMEM;
        else
            rc = dump(out, doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(doc);
    }
    if (rc == TI_OK && (fflush(out) != 0 || ferror(out)))
        rc = TI_EIO;
    return rc;
}
