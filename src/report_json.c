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
    if (al->decrypted)   /* --keylog opened the record: only then */
        put(j, o, "decrypted", json_true());
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

/* ---- streaming writer ------------------------------------------------------------
 *
 * report_json() writes the report as it goes instead of building it in
 * jansson first: the whole tree of a gigabyte capture's thousands of
 * connections took more memory than the analysis itself (about 70 KiB per
 * connection), and dumping it ran at under 200 MB/s.  Here each value is
 * written once into a 256 KiB buffer that goes out with fwrite.
 *
 * The bytes are exactly what json_dumpf() makes of report_json_document()
 * (the builders above, which diff still uses): JSON_INDENT(2) -- a newline
 * and two spaces per level before each member, "key": value, ",", empty
 * containers as {} and [] -- or JSON_COMPACT for jsonl; strings escaped as
 * jansson does (\" \\ \b \f \n \r \t, other controls as \u00XX in upper
 * case, '/' and non-ASCII UTF-8 as they are) after report_escape() has made
 * wire strings valid UTF-8; integers as %lld.  The sw_* functions below
 * mirror the j* builders key for key; the golden reports pin the format.
 */
#define JW_BUF (256u * 1024u)
#define JW_MAX_DEPTH 16             /* the document nests 6 deep */

/* Values many connections share (the same ClientHello, the same chain, the
 * same verdict) are rendered once and copied after that: the text of a value
 * depends only on its contents, the nesting depth and the mode, so those
 * bytes form its key.  One table per kind of value (so the verdicts, which
 * change with the second they were judged at, never push out the
 * ClientHellos); a key may sit in any of JW_FRAG_WAYS slots from where it
 * hashes, and a new one replaces the least recently used of those.  Keys
 * longer than JW_FRAG_KEY_MAX and texts longer than JW_FRAG_TEXT_MAX are not
 * cached (rendered every time). */
#define JW_FRAG_KINDS 4             /* enum jw_kind */
#define JW_FRAG_SLOTS 32            /* per kind */
#define JW_FRAG_WAYS 4
#define JW_FRAG_KEY_MAX 4096
#define JW_FRAG_TEXT_MAX (64u * 1024u)

struct jw_frag {
    uint64_t hash;
    uint64_t used;                  /* tick of the last use */
    uint8_t *key;
    size_t key_len;
    char *text;
    size_t text_len;
};

enum jw_kind { JK_TCP, JK_HELLO, JK_CERTS, JK_VERIFY };

struct jw_key {                     /* a fragment key being built */
    enum jw_kind kind;
    uint8_t b[JW_FRAG_KEY_MAX];
    size_t n;
    bool over;                      /* too long: do not cache */
};

struct jw {
    FILE *out;                      /* NULL: a fragment rendered into buf */
    const struct analysis *a;
    const struct tls_names *names;
    char *buf;
    size_t len, cap;
    bool compact;
    int depth;                      /* containers open */
    bool is_arr[JW_MAX_DEPTH];
    uint32_t count[JW_MAX_DEPTH];   /* members written in each */
    bool err;                       /* fwrite failed */
    bool oom;                       /* a value jansson could not have made */
    bool toobig;                    /* fragment longer than its buffer */
    struct jw_frag *frags;          /* JW_FRAG_KINDS x JW_FRAG_SLOTS, or NULL: no cache */
    char *scratch;                  /* JW_FRAG_TEXT_MAX bytes for rendering one */
    struct jw_key *key;
    uint64_t tick;
};

static void jw_flush(struct jw *w)
{
    if (w->out != NULL && w->len > 0 && fwrite(w->buf, 1, w->len, w->out) != w->len)
        w->err = true;
    if (w->out != NULL)
        w->len = 0;
}

static void jw_put(struct jw *w, const char *p, size_t n)
{
    if (n > w->cap - w->len) {
        if (w->out == NULL) {
            w->toobig = true;
            return;
        }
        jw_flush(w);
        if (n > w->cap) {
            if (fwrite(p, 1, n, w->out) != n)
                w->err = true;
            return;
        }
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void jw_putc(struct jw *w, char c)
{
    if (w->len == w->cap) {
        if (w->out == NULL) {
            w->toobig = true;
            return;
        }
        jw_flush(w);
    }
    w->buf[w->len++] = c;
}

/* jansson's dump_indent(): a newline and 2 spaces per level (indent mode). */
static void jw_indent(struct jw *w, int level)
{
    static const char nl_spaces[] = "\n                                ";   /* 32 spaces */
    size_t n = (size_t)level * 2;

    if (w->compact)
        return;
    if (n <= sizeof(nl_spaces) - 2) {
        jw_put(w, nl_spaces, n + 1);
        return;
    }
    jw_putc(w, '\n');
    for (; n > 0; n--)
        jw_putc(w, ' ');
}

/* Before a value: in an array, the separator and the element's line. */
static void jw_before(struct jw *w)
{
    int d = w->depth - 1;

    if (d < 0 || !w->is_arr[d])
        return;
    if (w->count[d]++ > 0)
        jw_putc(w, ',');
    jw_indent(w, w->depth);
}

/* An object member's key (our own ASCII constants: nothing to escape). */
static void jw_key(struct jw *w, const char *key)
{
    int d = w->depth - 1;

    if (d >= 0 && w->count[d]++ > 0)
        jw_putc(w, ',');
    jw_indent(w, w->depth);
    jw_putc(w, '"');
    jw_put(w, key, strlen(key));
    jw_put(w, w->compact ? "\":" : "\": ", w->compact ? 2 : 3);
}

static void jw_open(struct jw *w, bool arr)
{
    jw_before(w);
    jw_putc(w, arr ? '[' : '{');
    if (w->depth >= JW_MAX_DEPTH) {
        w->oom = true;              /* programmer error: the shape is fixed */
        return;
    }
    w->is_arr[w->depth] = arr;
    w->count[w->depth] = 0;
    w->depth++;
}

static void jw_close(struct jw *w)
{
    if (w->depth == 0)
        return;
    w->depth--;
    if (w->count[w->depth] > 0)
        jw_indent(w, w->depth);
    jw_putc(w, w->is_arr[w->depth] ? ']' : '}');
}

static void jw_lit(struct jw *w, const char *lit)
{
    jw_before(w);
    jw_put(w, lit, strlen(lit));
}

static void jw_null(struct jw *w)
{
    jw_lit(w, "null");
}

static void jw_bool(struct jw *w, bool v)
{
    jw_lit(w, v ? "true" : "false");
}

static void jw_int(struct jw *w, int64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        tmp[--i] = '-';
    jw_before(w);
    jw_put(w, tmp + i, sizeof(tmp) - i);
}

static void jw_uint(struct jw *w, uint64_t v)
{
    jw_int(w, v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* A valid UTF-8 string, escaped as jansson's dump_string() does. */
static void jw_string_n(struct jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0, run = 0;

    jw_before(w);
    jw_putc(w, '"');
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t elen = 2;

        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        jw_put(w, s + run, i - run);
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0x0f];
            elen = 6;
            break;
        }
        jw_put(w, esc, elen);
        i++;
        run = i;
    }
    jw_put(w, s + run, n - run);
    jw_putc(w, '"');
}

/* json_string(s): one of our own strings; NULL made the document fail. */
static void jw_cstr(struct jw *w, const char *s)
{
    if (s == NULL) {
        w->oom = true;
        jw_null(w);
        return;
    }
    jw_string_n(w, s, strlen(s));
}

/* jname(): a table name or null. */
static void jw_name(struct jw *w, const char *s)
{
    if (s == NULL)
        jw_null(w);
    else
        jw_string_n(w, s, strlen(s));
}

/* jstr(): a wire string made valid UTF-8 by report_escape(), or null. */
static void jw_wire(struct jw *w, const char *s)
{
    size_t n;
    char *clean;

    if (s == NULL) {
        jw_null(w);
        return;
    }
    /* ASCII is valid UTF-8: report_escape(s, false) would copy it as is */
    for (n = 0; s[n] != '\0'; n++)
        if ((unsigned char)s[n] >= 0x80)
            break;
    if (s[n] == '\0') {
        jw_string_n(w, s, n);
        return;
    }
    clean = report_escape(s, false);
    if (clean == NULL) {
        w->oom = true;
        jw_null(w);
        return;
    }
    jw_string_n(w, clean, strlen(clean));
    free(clean);
}

static void jw_hex16(struct jw *w, uint16_t v)
{
    static const char hex[] = "0123456789abcdef";
    char b[6] = {'0', 'x', hex[v >> 12], hex[(v >> 8) & 15], hex[(v >> 4) & 15], hex[v & 15]};

    jw_string_n(w, b, sizeof(b));
}

/* Days since 1970-01-01 -> civil date (H. Hinnant's days_from_civil inverse). */
static void jw_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *jw_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* Seconds from 0000-01-01 to 9999-12-31T23:59:59Z are formatted here (what
 * gmtime_r + snprintf gave, without the time zone lock); others go the
 * slow way, as jtime_s/jtime_us do. */
#define JW_TIME_MIN (-62167219200LL)
#define JW_TIME_MAX 253402300799LL

static void jw_time(struct jw *w, int64_t sec, int64_t frac, bool with_frac)
{
    char b[40], *p = b;

    if (sec < JW_TIME_MIN || sec > JW_TIME_MAX) {
        json_t *v = with_frac ? jtime_us(sec * 1000000 + frac) : jtime_s(sec);
        const char *str = json_string_value(v);

        if (v == NULL)
            w->oom = true;
        if (str != NULL)
            jw_string_n(w, str, strlen(str));
        else
            jw_null(w);
        json_decref(v);
        return;
    }
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t rem = sec - days * 86400, y;
    unsigned mo, d;

    jw_civil(days, &y, &mo, &d);
    p = jw_digits(p, (unsigned)y, 4);
    *p++ = '-';
    p = jw_digits(p, mo, 2);
    *p++ = '-';
    p = jw_digits(p, d, 2);
    *p++ = 'T';
    p = jw_digits(p, (unsigned)(rem / 3600), 2);
    *p++ = ':';
    p = jw_digits(p, (unsigned)(rem / 60 % 60), 2);
    *p++ = ':';
    p = jw_digits(p, (unsigned)(rem % 60), 2);
    if (with_frac) {
        *p++ = '.';
        p = jw_digits(p, (unsigned)frac, 6);
    }
    *p++ = 'Z';
    jw_string_n(w, b, (size_t)(p - b));
}

static void jw_time_s(struct jw *w, int64_t sec)
{
    jw_time(w, sec, 0, false);
}

static void jw_time_us(struct jw *w, int64_t us)
{
    int64_t sec, frac;

    split_us(us, &sec, &frac);
    jw_time(w, sec, frac, true);
}

/* ---- fragment cache ------------------------------------------------------------- */

static uint64_t jw_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, v;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&v, p + i, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

static void key_put(struct jw_key *k, const void *p, size_t n)
{
    if (k->over || n > sizeof(k->b) - k->n) {
        k->over = true;
        return;
    }
    memcpy(k->b + k->n, p, n);
    k->n += n;
}

static void key_u64(struct jw_key *k, uint64_t v)
{
    key_put(k, &v, sizeof(v));
}

/* A string, told apart from NULL and from its neighbours by its length. */
static void key_str(struct jw_key *k, const char *s)
{
    size_t n;

    if (s == NULL) {
        key_u64(k, UINT64_MAX);
        return;
    }
    n = strlen(s);
    key_u64(k, n);
    key_put(k, s, n);
}

/* Every key starts with what else shapes the text: kind, depth, mode. */
static struct jw_key *key_start(struct jw *w, enum jw_kind kind)
{
    struct jw_key *k = w->key;

    if (k == NULL)
        return NULL;
    k->kind = kind;
    k->n = 0;
    k->over = false;
    key_u64(k, (uint64_t)kind);
    key_u64(k, (uint64_t)w->depth);
    key_u64(k, w->compact);
    return k;
}

/* Write the value fn(arg) renders -- an object member's value, after its
 * key -- from the cache when the key built in w->key was seen before. */
static void jw_cached(struct jw *w, void (*fn)(struct jw *, const void *), const void *arg)
{
    struct jw_key *k = w->key;
    struct jw_frag *set, *f;
    struct jw m;
    uint64_t h;
    uint8_t *kcopy;
    char *tcopy;

    if (w->frags == NULL || k == NULL || k->over) {
        fn(w, arg);
        return;
    }
    h = jw_hash(k->b, k->n);
    set = &w->frags[(size_t)k->kind * JW_FRAG_SLOTS];
    f = NULL;
    for (size_t i = 0; i < JW_FRAG_WAYS; i++) {
        struct jw_frag *e = &set[(h + i) % JW_FRAG_SLOTS];

        if (e->text != NULL && e->hash == h && e->key_len == k->n &&
            memcmp(e->key, k->b, k->n) == 0) {
            e->used = ++w->tick;
            jw_put(w, e->text, e->text_len);
            return;
        }
        if (f == NULL || e->used < f->used)
            f = e;                  /* the victim if this is a miss */
    }
    /* Render into the scratch buffer with the same nesting state.  The
     * value follows a key, so it adds no separator to the enclosing object
     * and leaves w's counters as they are. */
    m = *w;
    m.out = NULL;
    m.buf = w->scratch;
    m.len = 0;
    m.cap = JW_FRAG_TEXT_MAX;
    m.err = m.oom = m.toobig = false;
    m.frags = NULL;
    m.key = NULL;
    fn(&m, arg);
    if (m.oom) {
        w->oom = true;
        return;
    }
    if (m.toobig) {
        fn(w, arg);
        return;
    }
    kcopy = malloc(k->n ? k->n : 1);
    tcopy = malloc(m.len ? m.len : 1);
    if (kcopy != NULL && tcopy != NULL) {
        free(f->key);
        free(f->text);
        memcpy(kcopy, k->b, k->n);
        memcpy(tcopy, m.buf, m.len);
        f->hash = h;
        f->used = ++w->tick;
        f->key = kcopy;
        f->key_len = k->n;
        f->text = tcopy;
        f->text_len = m.len;
    } else {
        free(kcopy);
        free(tcopy);
    }
    jw_put(w, m.buf, m.len);
}

static void jw_cache_free(struct jw *w)
{
    if (w->frags != NULL) {
        for (size_t i = 0; i < JW_FRAG_KINDS * JW_FRAG_SLOTS; i++) {
            free(w->frags[i].key);
            free(w->frags[i].text);
        }
    }
    free(w->frags);
    free(w->scratch);
    free(w->key);
    w->frags = NULL;
    w->scratch = NULL;
    w->key = NULL;
}

/* No cache when its memory cannot be had: everything is rendered directly. */
static void jw_cache_init(struct jw *w)
{
    w->frags = calloc(JW_FRAG_KINDS * JW_FRAG_SLOTS, sizeof(*w->frags));
    w->scratch = malloc(JW_FRAG_TEXT_MAX);
    w->key = malloc(sizeof(*w->key));
    if (w->frags == NULL || w->scratch == NULL || w->key == NULL)
        jw_cache_free(w);
}

/* ---- the report, value by value (mirrors the j* builders) ----------------------- */

static void sw_endpoint(struct jw *w, const struct conn_endpoint *e)
{
    char ip[64];

    jw_open(w, false);
    jw_key(w, "ip");
    jw_cstr(w, conn_ip_str(e, ip, sizeof(ip)));
    jw_key(w, "port");
    jw_int(w, e->port);
    jw_close(w);
}

static void sw_pair(struct jw *w, const char *key, uint64_t client, uint64_t server)
{
    jw_key(w, key);
    jw_open(w, false);
    jw_key(w, "client");
    jw_uint(w, client);
    jw_key(w, "server");
    jw_uint(w, server);
    jw_close(w);
}

static void sw_tcp(struct jw *w, const struct conn_tcp *t)
{
    jw_open(w, false);
    jw_key(w, "syn_seen");
    jw_bool(w, t->syn_seen);
    jw_key(w, "fin_by");
    jw_open(w, true);
    for (int d = DIR_CLIENT; d <= DIR_SERVER; d++)
        if (t->fin[d])
            jw_cstr(w, dir_name(d));
    jw_close(w);
    jw_key(w, "rst_by");
    jw_open(w, true);
    for (int d = DIR_CLIENT; d <= DIR_SERVER; d++)
        if (t->rst[d])
            jw_cstr(w, dir_name(d));
    jw_close(w);
    sw_pair(w, "retransmissions", t->retrans[DIR_CLIENT], t->retrans[DIR_SERVER]);
    sw_pair(w, "gaps", t->gaps[DIR_CLIENT], t->gaps[DIR_SERVER]);
    sw_pair(w, "gap_bytes", t->gap_bytes[DIR_CLIENT], t->gap_bytes[DIR_SERVER]);
    jw_close(w);
}

static void sw_tcp_fn(struct jw *w, const void *arg)
{
    sw_tcp(w, arg);
}

static void sw_tcp_cached(struct jw *w, const struct conn_tcp *t)
{
    struct jw_key *k = key_start(w, JK_TCP);

    if (k != NULL) {
        key_u64(k, t->syn_seen);
        for (int d = DIR_CLIENT; d <= DIR_SERVER; d++) {
            key_u64(k, t->fin[d]);
            key_u64(k, t->rst[d]);
            key_u64(k, t->retrans[d]);
            key_u64(k, t->gaps[d]);
            key_u64(k, t->gap_bytes[d]);
        }
    }
    jw_cached(w, sw_tcp_fn, t);
}

static void sw_code(struct jw *w, uint16_t code, const char *name, bool grease_key)
{
    jw_open(w, false);
    jw_key(w, "code");
    jw_hex16(w, code);
    jw_key(w, "name");
    jw_name(w, name);
    if (grease_key && tls_is_grease(code)) {
        jw_key(w, "grease");
        jw_bool(w, true);
    }
    jw_close(w);
}

static void sw_client_hello(struct jw *w, const struct conn_client_hello *h)
{
    jw_open(w, false);
    jw_key(w, "legacy_version");
    jw_hex16(w, h->legacy_version);
    jw_key(w, "supported_versions");
    jw_open(w, true);
    for (size_t i = 0; i < h->n_versions && i < CONN_MAX_VERSIONS; i++)
        jw_hex16(w, h->versions[i]);
    jw_close(w);
    jw_key(w, "sni");
    jw_wire(w, h->sni);
    jw_key(w, "cipher_suites");
    jw_open(w, true);
    for (uint32_t i = 0; i < h->n_suites && h->suites != NULL; i++)
        sw_code(w, h->suites[i], tls_suite_name(w->names, h->suites[i]), true);
    jw_close(w);
    jw_key(w, "signature_algorithms");
    jw_open(w, true);
    for (size_t i = 0; i < h->n_sigalgs && i < CONN_MAX_SIGALGS; i++)
        sw_code(w, h->sigalgs[i], tls_sigalg_name(h->sigalgs[i]), false);
    jw_close(w);
    jw_key(w, "supported_groups");
    jw_open(w, true);
    for (size_t i = 0; i < h->n_groups && i < CONN_MAX_GROUPS; i++)
        sw_code(w, h->groups[i], tls_group_name(h->groups[i]), true);
    jw_close(w);
    jw_key(w, "alpn");
    jw_open(w, true);
    for (size_t i = 0; i < h->n_alpn && i < CONN_MAX_ALPN; i++)
        jw_wire(w, h->alpn[i]);
    jw_close(w);
    jw_key(w, "session_id_length");
    jw_int(w, h->session_id_len);
    jw_key(w, "preferred_auth");
    jw_name(w, conn_auth_name(h->preferred_auth));
    jw_key(w, "ja3");
    if (h->ja3[0])
        jw_wire(w, h->ja3);
    else
        jw_null(w);
    jw_key(w, "ja4");
    if (h->ja4[0])
        jw_wire(w, h->ja4);
    else
        jw_null(w);
    jw_key(w, "sslv2");
    jw_bool(w, h->sslv2);
    jw_close(w);
}

static void sw_client_hello_fn(struct jw *w, const void *arg)
{
    sw_client_hello(w, arg);
}

/* The key holds everything sw_client_hello() reads, with the same caps. */
static void sw_client_hello_cached(struct jw *w, const struct conn_client_hello *h)
{
    struct jw_key *k = key_start(w, JK_HELLO);
    size_t n;

    if (k != NULL) {
        key_u64(k, h->legacy_version);
        n = h->n_versions < CONN_MAX_VERSIONS ? h->n_versions : CONN_MAX_VERSIONS;
        key_u64(k, n);
        key_put(k, h->versions, n * sizeof(h->versions[0]));
        key_str(k, h->sni);
        n = h->suites != NULL ? h->n_suites : 0;
        key_u64(k, n);
        key_put(k, h->suites, n * sizeof(h->suites[0]));
        n = h->n_sigalgs < CONN_MAX_SIGALGS ? h->n_sigalgs : CONN_MAX_SIGALGS;
        key_u64(k, n);
        key_put(k, h->sigalgs, n * sizeof(h->sigalgs[0]));
        n = h->n_groups < CONN_MAX_GROUPS ? h->n_groups : CONN_MAX_GROUPS;
        key_u64(k, n);
        key_put(k, h->groups, n * sizeof(h->groups[0]));
        n = h->n_alpn < CONN_MAX_ALPN ? h->n_alpn : CONN_MAX_ALPN;
        key_u64(k, n);
        for (size_t i = 0; i < n; i++)
            key_str(k, h->alpn[i]);
        key_u64(k, h->session_id_len);
        key_u64(k, (uint64_t)h->preferred_auth);
        key_str(k, h->ja3[0] ? h->ja3 : NULL);
        key_str(k, h->ja4[0] ? h->ja4 : NULL);
        key_u64(k, h->sslv2);
    }
    jw_cached(w, sw_client_hello_fn, h);
}

static void sw_server_hello(struct jw *w, const struct conn_server_hello *sh)
{
    char vbuf[16];
    const char *vname = tls_version_name(sh->version, vbuf, sizeof(vbuf));

    jw_open(w, false);
    jw_key(w, "version");
    if (vname != NULL)
        jw_cstr(w, vname);
    else
        jw_hex16(w, sh->version);
    jw_key(w, "cipher_suite");
    sw_code(w, sh->suite, tls_suite_name(w->names, sh->suite), false);
    jw_key(w, "auth");
    jw_name(w, conn_auth_name(sh->auth));
    jw_close(w);
}

static void sw_cert(struct jw *w, const struct x509_cert *c)
{
    if (c == NULL) {
        jw_null(w);
        return;
    }
    jw_open(w, false);
    if (!c->parsed) {
        jw_key(w, "sha256");
        jw_cstr(w, c->sha256_hex);
        jw_key(w, "parse_error");
        jw_wire(w, c->parse_error ? c->parse_error : "unparseable");
        jw_key(w, "der_length");
        jw_uint(w, c->der_len);
        jw_close(w);
        return;
    }
    jw_key(w, "subject");
    jw_wire(w, c->subject);
    jw_key(w, "issuer");
    jw_wire(w, c->issuer);
    jw_key(w, "cn");
    jw_wire(w, c->cn);
    jw_key(w, "san");
    jw_open(w, true);
    for (size_t i = 0; i < c->n_san && i < X509_MAX_SAN; i++)
        jw_wire(w, c->san[i]);
    jw_close(w);
    jw_key(w, "key");
    jw_wire(w, c->key);
    jw_key(w, "signature_algorithm");
    jw_wire(w, c->signature_algorithm);
    jw_key(w, "not_before");
    if (c->not_before)
        jw_time_s(w, c->not_before);
    else
        jw_null(w);
    jw_key(w, "not_after");
    if (c->not_after)
        jw_time_s(w, c->not_after);
    else
        jw_null(w);
    jw_key(w, "serial");
    jw_wire(w, c->serial);
    jw_key(w, "sha256");
    jw_cstr(w, c->sha256_hex);
    jw_key(w, "ski");
    jw_wire(w, c->ski);
    jw_key(w, "aki");
    jw_wire(w, c->aki);
    jw_key(w, "is_ca");
    jw_bool(w, c->is_ca);
    jw_key(w, "self_signed");
    jw_bool(w, c->self_signed);
    jw_close(w);
}

static void sw_certs(struct jw *w, const struct x509_cert *const *certs, size_t n)
{
    jw_open(w, true);
    for (size_t i = 0; i < n && i < CONN_MAX_CERTS; i++)
        sw_cert(w, certs[i]);
    jw_close(w);
}

struct sw_chain_arg {
    const struct x509_cert *const *certs;
    size_t n;
};

static void sw_certs_fn(struct jw *w, const void *arg)
{
    const struct sw_chain_arg *c = arg;

    sw_certs(w, c->certs, c->n);
}

/* Certificates are interned: the same pointer is the same certificate. */
static void sw_certs_cached(struct jw *w, const struct x509_cert *const *certs, size_t n)
{
    struct sw_chain_arg arg = { certs, n < CONN_MAX_CERTS ? n : CONN_MAX_CERTS };
    struct jw_key *k = key_start(w, JK_CERTS);

    if (k != NULL) {
        key_u64(k, arg.n);
        for (size_t i = 0; i < arg.n; i++)
            key_u64(k, (uint64_t)(uintptr_t)certs[i]);
    }
    jw_cached(w, sw_certs_fn, &arg);
}

static void sw_alert(struct jw *w, const struct conn_alert *al)
{
    jw_open(w, false);
    jw_key(w, "from");
    jw_cstr(w, dir_name(al->from));
    if (al->encrypted) {
        jw_key(w, "level");
        jw_null(w);
        jw_key(w, "description");
        jw_null(w);
        jw_key(w, "code");
        jw_null(w);
    } else {
        jw_key(w, "level");
        jw_name(w, tls_alert_level_name(al->level));
        jw_key(w, "description");
        jw_name(w, tls_alert_name(al->description));
        jw_key(w, "code");
        jw_int(w, al->description);
    }
    jw_key(w, "encrypted");
    jw_bool(w, al->encrypted);
    if (al->decrypted) {   /* --keylog opened the record: only then */
        jw_key(w, "decrypted");
        jw_bool(w, true);
    }
    jw_key(w, "ts");
    jw_time_us(w, al->ts);
    jw_close(w);
}

static void sw_chain(struct jw *w, const char *key, const struct x509_verdict *v)
{
    jw_key(w, key);
    jw_open(w, false);
    jw_key(w, "result");
    jw_cstr(w, x509_chain_result_name(v->result));
    jw_key(w, "depth");
    jw_int(w, v->depth);
    jw_key(w, "openssl_error");
    if (v->openssl_error[0])
        jw_wire(w, v->openssl_error);
    else
        jw_null(w);
    jw_close(w);
}

static void sw_verification(struct jw *w, const struct conn_verification *v)
{
    jw_open(w, false);
    jw_key(w, "time");
    jw_time_s(w, v->time);
    jw_key(w, "expected_name");
    if (v->expected_name[0])
        jw_wire(w, v->expected_name);
    else
        jw_null(w);
    jw_key(w, "name_source");
    jw_name(w, x509_name_source_name(v->name_source));
    sw_chain(w, "chain", &v->verdict);
    jw_key(w, "name");
    jw_open(w, false);
    jw_key(w, "ok");
    if (v->verdict.name_checked)
        jw_bool(w, v->verdict.name_ok);
    else
        jw_null(w);
    jw_key(w, "matched");
    if (v->verdict.matched[0])
        jw_wire(w, v->verdict.matched);
    else
        jw_null(w);
    jw_close(w);
    if (v->now_differs)
        sw_chain(w, "chain_now", &v->verdict_now);
    if (v->client_done)
        sw_chain(w, "client_chain", &v->client_verdict);
    jw_close(w);
}

static void sw_verification_fn(struct jw *w, const void *arg)
{
    sw_verification(w, arg);
}

static void key_verdict(struct jw_key *k, const struct x509_verdict *v, bool name)
{
    key_u64(k, (uint64_t)v->result);
    key_u64(k, (uint64_t)(int64_t)v->depth);
    key_str(k, v->openssl_error[0] ? v->openssl_error : NULL);
    if (name) {
        key_u64(k, v->name_checked);
        key_u64(k, v->name_ok);
        key_str(k, v->matched[0] ? v->matched : NULL);
    }
}

static void sw_verification_cached(struct jw *w, const struct conn_verification *v)
{
    struct jw_key *k = key_start(w, JK_VERIFY);

    if (k != NULL) {
        key_u64(k, (uint64_t)v->time);
        key_str(k, v->expected_name[0] ? v->expected_name : NULL);
        key_u64(k, (uint64_t)v->name_source);
        key_verdict(k, &v->verdict, true);
        key_u64(k, v->now_differs);
        if (v->now_differs)
            key_verdict(k, &v->verdict_now, false);
        key_u64(k, v->client_done);
        if (v->client_done)
            key_verdict(k, &v->client_verdict, false);
    }
    jw_cached(w, sw_verification_fn, v);
}

static void sw_conn(struct jw *w, const struct conn *c)
{
    jw_open(w, false);
    jw_key(w, "id");
    jw_uint(w, c->id);
    jw_key(w, "client");
    sw_endpoint(w, &c->client);
    jw_key(w, "server");
    sw_endpoint(w, &c->server);
    jw_key(w, "start_ts");
    jw_time_us(w, c->first_ts);
    jw_key(w, "outcome");
    jw_cstr(w, conn_outcome_name(c->outcome));
    jw_key(w, "tcp");
    sw_tcp_cached(w, &c->tcp);

    jw_key(w, "client_hello");
    if (c->n_ch > 0)
        sw_client_hello_cached(w, &c->ch[0]);
    else
        jw_null(w);
    if (c->n_ch > 1) {
        jw_key(w, "client_hello_retry");
        sw_client_hello_cached(w, &c->ch[1]);
    }
    jw_key(w, "server_hello");
    if (c->sh.present)
        sw_server_hello(w, &c->sh);
    else
        jw_null(w);
    if (c->sh_hrr.hrr) {
        jw_key(w, "hello_retry_request");
        jw_bool(w, true);
    }

    jw_key(w, "server_certificates");
    sw_certs_cached(w, c->server_certs, c->n_server_certs);
    jw_key(w, "certificate_request");
    jw_bool(w, c->certificate_request);
    jw_key(w, "client_certificates");
    sw_certs_cached(w, c->client_certs, c->n_client_certs);

    jw_key(w, "alerts");
    jw_open(w, true);
    for (size_t i = 0; i < c->n_alerts && i < CONN_MAX_ALERTS; i++)
        sw_alert(w, &c->alerts[i]);
    jw_close(w);

    jw_key(w, "verification");
    if (c->verify.done)
        sw_verification_cached(w, &c->verify);
    else
        jw_null(w);

    jw_key(w, "findings");
    jw_open(w, true);
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++) {
        const struct conn_finding *f = &c->findings[i];

        jw_open(w, false);
        jw_key(w, "id");
        jw_cstr(w, finding_name(f->id));
        jw_key(w, "severity");
        jw_cstr(w, finding_severity_name(f->severity));
        jw_key(w, "message");
        jw_wire(w, f->message);
        jw_key(w, "remedy");
        jw_wire(w, f->remedy);
        jw_close(w);
    }
    jw_close(w);

    if (c->tls13_note != NULL) {
        jw_key(w, "tls13_note");
        jw_wire(w, c->tls13_note);
    }
    if (c->malformed[DIR_CLIENT] || c->malformed[DIR_SERVER]) {
        jw_key(w, "malformed");
        jw_open(w, true);
        for (int d = DIR_CLIENT; d <= DIR_SERVER; d++) {
            char *why = NULL;

            if (!c->malformed[d])
                continue;
            if (asprintf(&why, "%s: %s", dir_name(d),
                         c->malformed_why[d] ? c->malformed_why[d] : "malformed") < 0) {
                w->oom = true;
                continue;
            }
            jw_wire(w, why);
            free(why);
        }
        jw_close(w);
    }
    jw_close(w);
}

static void sw_summary(struct jw *w)
{
    struct jctx j = { .a = w->a, .names = w->names, .oom = false };
    uint64_t n = 0, by[OUTCOME_ENCRYPTED + 1] = {0};
    const struct analysis *a = w->a;
    json_t *counts;
    const char *key;
    json_t *v;

    for (size_t i = 0; i < a->nconns; i++) {
        const struct conn *c = a->conns[i];
        if (!reported(c))
            continue;
        n++;
        if ((unsigned)c->outcome <= OUTCOME_ENCRYPTED)
            by[c->outcome]++;
    }
    jw_open(w, false);
    jw_key(w, "connections");
    jw_uint(w, n);
    jw_key(w, "by_outcome");
    jw_open(w, false);
    jw_key(w, "complete");
    jw_uint(w, by[OUTCOME_COMPLETE]);
    jw_key(w, "failed");
    jw_uint(w, by[OUTCOME_FAILED]);
    jw_key(w, "incomplete");
    jw_uint(w, by[OUTCOME_INCOMPLETE]);
    jw_key(w, "encrypted");
    jw_uint(w, by[OUTCOME_ENCRYPTED]);
    jw_close(w);
    /* a handful of keys: the jansson builder keeps their order logic */
    counts = jfinding_counts(&j);
    if (counts == NULL || j.oom)
        w->oom = true;
    jw_key(w, "findings");
    jw_open(w, false);
    json_object_foreach(counts, key, v) {
        jw_key(w, key);
        jw_int(w, json_integer_value(v));
    }
    jw_close(w);
    json_decref(counts);
    jw_close(w);
}

static void sw_inputs(struct jw *w)
{
    const struct analysis *a = w->a;

    jw_open(w, true);
    for (size_t i = 0; i < a->ninputs; i++) {
        const struct cap_input *in = &a->inputs[i];

        jw_open(w, false);
        jw_key(w, "file");
        jw_wire(w, in->file ? in->file : "");
        jw_key(w, "format");
        jw_wire(w, in->format);
        jw_key(w, "linktype");
        jw_wire(w, in->linktype_name);
        jw_key(w, "packets");
        jw_uint(w, in->packets);
        jw_key(w, "bytes");
        jw_uint(w, in->bytes);
        jw_key(w, "truncated");
        jw_bool(w, in->truncated);
        if (in->truncated) {
            jw_key(w, "error");
            jw_wire(w, in->error);
        }
        jw_close(w);
    }
    jw_close(w);
}

static void sw_document(struct jw *w, const struct report_opts *o)
{
    const struct analysis *a = w->a;
    bool have_ts = a->packets > 0;

    jw_open(w, false);
    jw_key(w, "tool");
    jw_open(w, false);
    jw_key(w, "name");
    jw_cstr(w, "tlsinspect");
    jw_key(w, "version");
    jw_wire(w, o->version ? o->version : "unknown");
    jw_close(w);
    jw_key(w, "inputs");
    sw_inputs(w);
    jw_key(w, "first_ts");
    if (have_ts)
        jw_time_us(w, a->first_ts);
    else
        jw_null(w);
    jw_key(w, "last_ts");
    if (have_ts)
        jw_time_us(w, a->last_ts);
    else
        jw_null(w);

    jw_key(w, "connections");
    jw_open(w, true);
    for (size_t i = 0; i < a->nconns && !w->err; i++)
        if (reported(a->conns[i]))
            sw_conn(w, a->conns[i]);
    jw_close(w);
    jw_key(w, "summary");
    sw_summary(w);

    jw_key(w, "findings");
    jw_open(w, true);
    for (size_t i = 0; i < a->nglobal; i++) {
        const struct analyze_global_finding *g = &a->global[i];

        jw_open(w, false);
        jw_key(w, "id");
        jw_cstr(w, finding_name(g->id));
        jw_key(w, "severity");
        jw_cstr(w, finding_severity_name(finding_severity(g->id)));
        jw_key(w, "message");
        jw_wire(w, g->message);
        jw_close(w);
    }
    jw_close(w);

    jw_key(w, "warnings");
    jw_open(w, true);
    for (size_t i = 0; i < a->nwarnings && i < ANALYZE_MAX_WARNINGS; i++)
        jw_wire(w, a->warnings[i]);
    if (a->warnings_dropped > 0) {
        char buf[96];
        snprintf(buf, sizeof(buf), "%" PRIu64 " further warnings not kept", a->warnings_dropped);
        jw_cstr(w, buf);
    }
    jw_close(w);
    jw_close(w);
}

int report_json(FILE *out, const struct analysis *a, const struct report_opts *o)
{
    struct jw w = { .out = out, .a = a, .names = a->names, .cap = JW_BUF,
                    .compact = o->format == REPORT_JSONL };

    w.buf = malloc(JW_BUF);
    if (w.buf == NULL)
        return TI_ENOMEM;
    jw_cache_init(&w);
    if (o->format == REPORT_JSONL) {
        /* SPEC: one connection object per line, nothing else */
        for (size_t i = 0; i < a->nconns && !w.err && !w.oom; i++) {
            if (!reported(a->conns[i]))
                continue;
            sw_conn(&w, a->conns[i]);
            jw_putc(&w, '\n');
        }
    } else {
        sw_document(&w, o);
        jw_putc(&w, '\n');
    }
    jw_flush(&w);
    free(w.buf);
    jw_cache_free(&w);
    if (w.oom)
        return TI_ENOMEM;
    if (w.err || fflush(out) != 0 || ferror(out))
        return TI_EIO;
    return TI_OK;
}
