/* report_json.c - the JSON and JSONL reports (SPEC "Outputs"), written as a stream.
 *
 * One writer (jsonw.h) makes every JSON text: report_json() streams it to
 * a FILE, report_json_document() renders the same bytes into memory and
 * hands them to jansson's parser for diff.  A tree built in jansson first
 * would hold the whole report in memory at once.
 *
 * Shape and key order are fixed (the report doubles as a regression
 * fixture): keys come in the order listed in SPEC, and the layout is what
 * jansson's json_dumpf() gives with JSON_INDENT(2), except that an object
 * whose members are all scalars (a cipher suite, an endpoint, an alert, a
 * finding) sits on one line as json_dumpf() writes it without indentation:
 * a third less text than fully indented, one grep-able line per suite.
 * report_json_dumpf() lays out any jansson value the same way, so a saved
 * report and a re-dumped parse of it are the same bytes.  JSONL is what
 * JSON_COMPACT gives.
 * Strings copied from the wire (SNI, ALPN, certificate names) may hold any
 * byte: invalid UTF-8 is written as the text "\xNN", as report_escape()
 * writes it, so the document is always valid JSON.
 *
 * Values many connections share (the same ClientHello, the same chain, the
 * same verdict) go through the writer's fragment cache (jw_cached()): each
 * *_cached() function builds a key of everything its renderer reads.
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

#include <jansson.h>

#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/hex.h"
#include "tlsinspect/infer_chain.h"
#include "tlsinspect/jsonw.h"
#include "tlsinspect/problems.h"
#include "tlsinspect/report.h"
#include "tlsinspect/role.h"
#include "tlsinspect/sink.h"
#include "tlsinspect/stream_order.h"
#include "tlsinspect/tls_names.h"
#include "report_json_int.h"

/* report_json_document(): the longest text held in memory at once (one
 * connection, or the document around the connections; a few KiB unless a
 * hostile certificate is huge) */
#define JW_MEM_MAX ((size_t)256 << 20)

/* Kinds of cached values (jw_frag_start()): one cache table each. */
enum { JK_TCP, JK_HELLO, JK_CERTS, JK_VERIFY };
_Static_assert(JK_VERIFY < JW_FRAG_KINDS, "one cache table per kind");


/* ---- the report, value by value ----------------------------------------------- */

static const char *dir_name(int d)
{
    return d == DIR_CLIENT ? "client" : "server";
}

/* The analysis being reported (the writer's context). */
static const struct analysis *an(const struct jw *w)
{
    return w->ctx;
}

static bool reported(const struct conn *c)
{
    return c != NULL && c->outcome != OUTCOME_NOT_TLS;
}

static void sw_endpoint(struct jw *w, const struct conn_endpoint *e)
{
    char ip[64];

    jw_open_flat(w);
    jw_key(w, "ip");
    jw_cstr(w, conn_ip_str(e, ip, sizeof(ip)));
    jw_key(w, "port");
    jw_int(w, e->port);
    jw_close(w);
}

static void sw_pair(struct jw *w, const char *key, uint64_t client, uint64_t server)
{
    jw_key(w, key);
    jw_open_flat(w);
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
    if (jw_frag_start(w, JK_TCP)) {
        jw_frag_u64(w, t->syn_seen);
        for (int d = DIR_CLIENT; d <= DIR_SERVER; d++) {
            jw_frag_u64(w, t->fin[d]);
            jw_frag_u64(w, t->rst[d]);
            jw_frag_u64(w, t->retrans[d]);
            jw_frag_u64(w, t->gaps[d]);
            jw_frag_u64(w, t->gap_bytes[d]);
        }
    }
    jw_cached(w, sw_tcp_fn, t);
}

static void sw_code(struct jw *w, uint16_t code, const char *name, bool grease_key)
{
    jw_open_flat(w);
    jw_key(w, "code");
    jw_hex16(w, code);
    jw_key(w, "name");
    jw_str(w, name);
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
    jw_str(w, h->sni);
    jw_key(w, "cipher_suites");
    jw_open(w, true);
    for (uint32_t i = 0; i < h->n_suites && h->suites != NULL; i++)
        sw_code(w, h->suites[i], tls_suite_name(an(w)->names, h->suites[i]), true);
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
        jw_str(w, h->alpn[i]);
    jw_close(w);
    jw_key(w, "session_id_length");
    jw_int(w, h->session_id_len);
    jw_key(w, "preferred_auth");
    jw_str(w, conn_auth_name(h->preferred_auth));
    jw_key(w, "ja3");
    jw_str_or_null(w, h->ja3);
    jw_key(w, "ja4");
    jw_str_or_null(w, h->ja4);
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
    size_t n;

    if (jw_frag_start(w, JK_HELLO)) {
        jw_frag_u64(w, h->legacy_version);
        n = h->n_versions < CONN_MAX_VERSIONS ? h->n_versions : CONN_MAX_VERSIONS;
        jw_frag_u64(w, n);
        jw_frag_put(w, h->versions, n * sizeof(h->versions[0]));
        jw_frag_str(w, h->sni);
        n = h->suites != NULL ? h->n_suites : 0;
        jw_frag_u64(w, n);
        jw_frag_put(w, h->suites, n * sizeof(h->suites[0]));
        n = h->n_sigalgs < CONN_MAX_SIGALGS ? h->n_sigalgs : CONN_MAX_SIGALGS;
        jw_frag_u64(w, n);
        jw_frag_put(w, h->sigalgs, n * sizeof(h->sigalgs[0]));
        n = h->n_groups < CONN_MAX_GROUPS ? h->n_groups : CONN_MAX_GROUPS;
        jw_frag_u64(w, n);
        jw_frag_put(w, h->groups, n * sizeof(h->groups[0]));
        n = h->n_alpn < CONN_MAX_ALPN ? h->n_alpn : CONN_MAX_ALPN;
        jw_frag_u64(w, n);
        for (size_t i = 0; i < n; i++)
            jw_frag_str(w, h->alpn[i]);
        jw_frag_u64(w, h->session_id_len);
        jw_frag_u64(w, (uint64_t)h->preferred_auth);
        jw_frag_str(w, h->ja3[0] ? h->ja3 : NULL);
        jw_frag_str(w, h->ja4[0] ? h->ja4 : NULL);
        jw_frag_u64(w, h->sslv2);
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
    sw_code(w, sh->suite, tls_suite_name(an(w)->names, sh->suite), false);
    jw_key(w, "auth");
    jw_str(w, conn_auth_name(sh->auth));
    jw_close(w);
}

static void sw_cert(struct jw *w, const struct x509_cert *c)
{
    if (c == NULL) {
        jw_null(w);
        return;
    }
    jw_open_as(w, false, !c->parsed);   /* unparsed: three scalars */
    if (!c->parsed) {
        jw_key(w, "sha256");
        jw_cstr(w, c->sha256_hex);
        jw_key(w, "parse_error");
        jw_str(w, c->parse_error ? c->parse_error : "unparseable");
        jw_key(w, "der_length");
        jw_uint(w, c->der_len);
        jw_close(w);
        return;
    }
    jw_key(w, "subject");
    jw_str(w, c->subject);
    jw_key(w, "issuer");
    jw_str(w, c->issuer);
    jw_key(w, "cn");
    jw_str(w, c->cn);
    jw_key(w, "san");
    jw_open(w, true);
    for (size_t i = 0; i < c->n_san && i < X509_MAX_SAN; i++)
        jw_str(w, c->san[i]);
    jw_close(w);
    jw_key(w, "key");
    jw_str(w, c->key);
    jw_key(w, "signature_algorithm");
    jw_str(w, c->signature_algorithm);
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
    jw_str(w, c->serial);
    jw_key(w, "sha256");
    jw_cstr(w, c->sha256_hex);
    jw_key(w, "ski");
    jw_str(w, c->ski);
    jw_key(w, "aki");
    jw_str(w, c->aki);
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

    if (jw_frag_start(w, JK_CERTS)) {
        jw_frag_u64(w, arg.n);
        for (size_t i = 0; i < arg.n; i++)
            jw_frag_u64(w, (uint64_t)(uintptr_t)certs[i]);
    }
    jw_cached(w, sw_certs_fn, &arg);
}

static void sw_alert(struct jw *w, const struct conn_alert *al)
{
    jw_open_flat(w);
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
        jw_str(w, tls_alert_level_name(al->level));
        jw_key(w, "description");
        jw_str(w, tls_alert_name(al->description));
        jw_key(w, "code");
        jw_int(w, al->description);
    }
    jw_key(w, "encrypted");
    jw_bool(w, al->encrypted);
    if (al->inferred) {    /* TLS 1.3 without keys, by record size and position */
        jw_key(w, "inferred");
        jw_bool(w, true);
    }
    if (al->decrypted) {   /* --keylog opened the record: only then */
        jw_key(w, "decrypted");
        jw_bool(w, true);
    }
    jw_key(w, "ts");
    jw_time_us(w, al->ts);
    if (al->after_appdata) {   /* position after the handshake: only then */
        jw_key(w, "after_appdata_us");
        jw_int(w, al->after_appdata_us);
    }
    jw_close(w);
}

static void sw_chain(struct jw *w, const char *key, const struct x509_verdict *v)
{
    jw_key(w, key);
    jw_open_flat(w);
    jw_key(w, "result");
    jw_cstr(w, x509_chain_result_name(v->result));
    jw_key(w, "depth");
    jw_int(w, v->depth);
    jw_key(w, "openssl_error");
    jw_str_or_null(w, v->openssl_error);
    jw_close(w);
}

static void sw_verification(struct jw *w, const struct conn_verification *v)
{
    jw_open(w, false);
    jw_key(w, "time");
    jw_time_s(w, v->time);
    jw_key(w, "expected_name");
    jw_str_or_null(w, v->expected_name);
    jw_key(w, "name_source");
    jw_str(w, x509_name_source_name(v->name_source));
    sw_chain(w, "chain", &v->verdict);
    jw_key(w, "name");
    jw_open_flat(w);
    jw_key(w, "ok");
    if (v->verdict.name_checked)
        jw_bool(w, v->verdict.name_ok);
    else
        jw_null(w);
    jw_key(w, "matched");
    jw_str_or_null(w, v->verdict.matched);
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

static void key_verdict(struct jw *w, const struct x509_verdict *v, bool name)
{
    jw_frag_u64(w, (uint64_t)v->result);
    jw_frag_u64(w, (uint64_t)(int64_t)v->depth);
    jw_frag_str(w, v->openssl_error);
    if (name) {
        jw_frag_u64(w, v->name_checked);
        jw_frag_u64(w, v->name_ok);
        jw_frag_str(w, v->matched);
    }
}

static void sw_verification_cached(struct jw *w, const struct conn_verification *v)
{
    if (jw_frag_start(w, JK_VERIFY)) {
        jw_frag_u64(w, (uint64_t)v->time);
        jw_frag_str(w, v->expected_name[0] ? v->expected_name : NULL);
        jw_frag_u64(w, (uint64_t)v->name_source);
        key_verdict(w, &v->verdict, true);
        jw_frag_u64(w, v->now_differs);
        if (v->now_differs)
            key_verdict(w, &v->verdict_now, false);
        jw_frag_u64(w, v->client_done);
        if (v->client_done)
            key_verdict(w, &v->client_verdict, false);
    }
    jw_cached(w, sw_verification_fn, v);
}

/* The traffic_server log lines attached to c (only when logs were given). */
static void sw_conn_log(struct jw *w, const struct conn *c)
{
    const struct tslog_entry *const *es;
    size_t n = tslog_for_conn(an(w)->logs, c->id, &es), nfiles, nnodes;
    const char *const *files = tslog_files(an(w)->logs, &nfiles);
    const char *const *nodes = tslog_nodes(an(w)->logs, &nnodes);

    jw_key(w, "log");
    jw_open(w, true);
    for (size_t i = 0; i < n; i++) {
        const struct tslog_entry *e = es[i];

        jw_open_flat(w);
        jw_key(w, "ts");
        jw_time_us(w, e->ts);
        jw_key(w, "node");
        jw_str_or_null(w, e->node < nnodes ? nodes[e->node] : NULL);
        jw_key(w, "file");
        jw_str(w, e->file < nfiles ? files[e->file] : "");
        jw_key(w, "line");
        jw_uint(w, e->line);
        jw_key(w, "text");
        jw_str(w, e->text);
        jw_close(w);
    }
    jw_close(w);
}

/* Top level "logs": what was read and the connect addresses decoded. */
static void sw_logs(struct jw *w)
{
    const struct tslog *lg = an(w)->logs;
    const struct tslog_stats *st = tslog_stats(lg);
    size_t nfiles, naddrs;
    const char *const *files = tslog_files(lg, &nfiles);
    const struct tslog_addr *addrs = tslog_addrs(lg, &naddrs);

    jw_key(w, "logs");
    jw_open(w, false);
    jw_key(w, "files");
    jw_open(w, true);
    for (size_t i = 0; i < nfiles; i++)
        jw_str(w, files[i]);
    jw_close(w);
    jw_key(w, "lines");
    jw_uint(w, st->lines);
    jw_key(w, "matched");
    jw_uint(w, st->matched);
    jw_key(w, "connect_addresses");
    jw_open(w, true);
    for (size_t i = 0; i < naddrs; i++) {
        const struct tslog_addr *ad = &addrs[i];

        jw_open_flat(w);
        jw_key(w, "domain");
        jw_str(w, ad->domain);
        jw_key(w, "protocol");
        jw_str(w, ad->protocol);
        jw_key(w, "host");
        jw_str(w, ad->host);
        jw_key(w, "port");
        jw_uint(w, ad->port);
        jw_key(w, "first_ts");
        jw_time_us(w, ad->first_ts);
        jw_key(w, "count");
        jw_uint(w, ad->count);
        jw_close(w);
    }
    jw_close(w);
    jw_close(w);
}

/* A connection read from a bundle keeps the cluster node it came from. */
static void sw_node(struct jw *w, const struct conn *c)
{
    const struct analysis *a = an(w);

    if (a->input_node != NULL && c->input < a->ninput_node && a->input_node[c->input] != NULL) {
        jw_key(w, "node");
        jw_str(w, a->input_node[c->input]);
    }
}

/* TLS 1.3 without keys: the known chain the encrypted flight's size fits
 * (infer_chain.h), with its basis in words. */
static void sw_inferred_chain(struct jw *w, const struct conn *c)
{
    const struct x509_cert *leaf = c->inferred_leaf;
    char basis[1024];

    jw_key(w, "inferred_chain");
    jw_open(w, false);
    jw_key(w, "leaf");
    jw_open_flat(w);                /* an object of scalars: one line, as jansson lays it out */
    jw_key(w, "subject");
    jw_str_or_null(w, leaf->subject);
    jw_key(w, "cn");
    jw_str_or_null(w, leaf->cn);
    jw_key(w, "key");
    jw_str(w, leaf->key);
    jw_key(w, "self_signed");
    jw_bool(w, leaf->self_signed);
    jw_key(w, "sha256");
    jw_cstr(w, leaf->sha256_hex);
    jw_close(w);
    jw_key(w, "certificates");
    jw_uint(w, c->inferred_chain_certs);
    jw_key(w, "source");
    jw_cstr(w, infer_chain_source_name(c->inferred_chain_source));
    if (c->inferred_chain_source == INFER_SRC_SEEN) {
        jw_key(w, "seen_ts");
        jw_time_us(w, c->inferred_chain_seen_ts);
    }
    jw_key(w, "certificate_message_bytes");
    jw_uint(w, c->inferred_cert_msg);
    jw_key(w, "exact");
    jw_bool(w, c->inferred_chain_exact);
    jw_key(w, "basis");
    jw_str(w, infer_chain_basis(c, basis, sizeof(basis)));
    jw_close(w);
}

/* What the outcome rests on: inferred from the record pattern (TLS 1.3
 * without keys), or an abbreviated (resumed) handshake. */
static void sw_outcome_basis(struct jw *w, const struct conn *c)
{
    if (c->outcome_inferred) {   /* TLS 1.3 without keys: from the record pattern */
        jw_key(w, "outcome_inferred");
        jw_bool(w, true);
    }
    if (c->resumed != RESUMED_NO) {   /* resumed sessions only */
        jw_key(w, "resumed");
        jw_bool(w, true);
        jw_key(w, "resumed_by");
        jw_cstr(w, c->resumed == RESUMED_TICKET ? "ticket"
                   : c->resumed == RESUMED_PSK ? "psk" : "session_id");
    }
    if (c->tls13 && !c->keys_used && c->sh.present) {
        jw_key(w, "inferred_server_key");
        if (c->inferred_server_key == KEY_GUESS_NONE) {
            jw_null(w);
        } else {
            char basis[256];
            jw_cstr(w, c->inferred_server_key == KEY_GUESS_RSA ? "RSA" : "EC");
            jw_key(w, "inferred_server_key_basis");
            jw_cstr(w, infer_key_basis(c, "the key of the chain in inferred_chain", basis,
                                       sizeof(basis)));
        }
    }
    if (c->inferred_leaf != NULL)   /* only when a known chain fits the flight's size */
        sw_inferred_chain(w, c);
}

/* Everything of a connection's object after its "id" (which the streamed
 * report only knows when it writes it), up to the closing brace. */
static void sw_conn_rest(struct jw *w, const struct conn *c)
{
    jw_key(w, "client");
    sw_endpoint(w, &c->client);
    jw_key(w, "server");
    sw_endpoint(w, &c->server);
    jw_key(w, "role");
    jw_cstr(w, role_name(c->role));
    sw_node(w, c);
    jw_key(w, "start_ts");
    jw_time_us(w, c->first_ts);
    jw_key(w, "outcome");
    jw_cstr(w, conn_outcome_name(c->outcome));
    sw_outcome_basis(w, c);
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
    else if (c->resumed != RESUMED_NO)
        jw_cstr(w, "not_applicable");   /* no certificate in a resumed handshake */
    else
        jw_null(w);

    jw_key(w, "findings");
    jw_open(w, true);
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++) {
        const struct conn_finding *f = &c->findings[i];

        jw_open_flat(w);
        jw_key(w, "id");
        jw_cstr(w, finding_name(f->id));
        jw_key(w, "severity");
        jw_cstr(w, finding_severity_name(f->severity));
        jw_key(w, "message");
        jw_str(w, f->message);
        jw_key(w, "remedy");
        jw_str(w, f->remedy);
        jw_close(w);
    }
    jw_close(w);

    if (an(w)->logs != NULL)
        sw_conn_log(w, c);

    if (c->tls13_note != NULL) {
        jw_key(w, "tls13_note");
        jw_str(w, c->tls13_note);
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
            jw_str(w, why);
            free(why);
        }
        jw_close(w);
    }
    jw_close(w);
}

static void sw_conn(struct jw *w, const struct conn *c)
{
    jw_open(w, false);
    jw_key(w, "id");
    jw_uint(w, c->id);
    sw_conn_rest(w, c);
}

/* What the summary counts, over the connections written. */
struct json_tally {
    uint64_t n, by[OUTCOME_ENCRYPTED + 1];
    uint64_t findings[FINDING_COUNT];
};

static void tally_add(struct json_tally *t, const struct conn *c)
{
    t->n++;
    if ((unsigned)c->outcome <= OUTCOME_ENCRYPTED)
        t->by[c->outcome]++;
    for (size_t k = 0; k < c->n_findings && k < CONN_MAX_FINDINGS; k++)
        if (c->findings[k].id >= 0 && c->findings[k].id < FINDING_COUNT)
            t->findings[c->findings[k].id]++;
}

/* summary.findings: {"ID": count} over connections and global findings,
 * keys in name order (stable whatever order the X-macro table has). */
static void sw_finding_counts(struct jw *w, const struct json_tally *t)
{
    uint64_t count[FINDING_COUNT];
    int order[FINDING_COUNT];
    const struct analysis *a = an(w);

    memcpy(count, t->findings, sizeof(count));
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

    jw_open_flat(w);
    for (int i = 0; i < FINDING_COUNT; i++) {
        if (count[order[i]] > 0) {
            jw_key(w, finding_name(order[i]));
            jw_uint(w, count[order[i]]);
        }
    }
    jw_close(w);
}

static void sw_summary(struct jw *w, const struct json_tally *t)
{
    uint64_t n = t->n;
    const uint64_t *by = t->by;

    jw_open(w, false);
    jw_key(w, "connections");
    jw_uint(w, n);
    /* all four keys always present, so consumers need no defaults */
    jw_key(w, "by_outcome");
    jw_open_flat(w);
    jw_key(w, "complete");
    jw_uint(w, by[OUTCOME_COMPLETE]);
    jw_key(w, "failed");
    jw_uint(w, by[OUTCOME_FAILED]);
    jw_key(w, "incomplete");
    jw_uint(w, by[OUTCOME_INCOMPLETE]);
    jw_key(w, "encrypted");
    jw_uint(w, by[OUTCOME_ENCRYPTED]);
    jw_close(w);
    jw_key(w, "findings");
    sw_finding_counts(w, t);
    jw_close(w);
}

static void sw_inputs(struct jw *w)
{
    const struct analysis *a = an(w);

    jw_open(w, true);
    for (size_t i = 0; i < a->ninputs; i++) {
        const struct cap_input *in = &a->inputs[i];

        jw_open_flat(w);
        jw_key(w, "file");
        jw_str(w, in->file ? in->file : "");
        jw_key(w, "format");
        jw_str(w, in->format);
        jw_key(w, "linktype");
        jw_str(w, in->linktype_name);
        jw_key(w, "packets");
        jw_uint(w, in->packets);
        jw_key(w, "bytes");
        jw_uint(w, in->bytes);
        jw_key(w, "sha256");
        sw_sha256(w, in->hashed, in->sha256);
        if (in->archive_hashed) {   /* an archive member: only then, so plain inputs keep their shape */
            jw_key(w, "archive_sha256");
            sw_sha256(w, true, in->archive_sha256);
        }
        jw_key(w, "truncated");
        jw_bool(w, in->truncated);
        if (a->inputs_extract != NULL && a->inputs_extract[i]) {
            /* a -w extract (pcapng mark): only present then, so reports of
             * ordinary captures keep their shape */
            jw_key(w, "extract");
            jw_bool(w, true);
        }
        if (in->truncated) {
            jw_key(w, "error");
            jw_str(w, in->error);
        }
        jw_close(w);
    }
    jw_close(w);
}

/* "problems": one per root cause, worst first (problems.h). */
static void sw_problems(struct jw *w, const struct problems *pp)
{
    const struct problems p = *pp;
    char sb[64];

    jw_key(w, "problems");
    jw_open(w, true);
    for (size_t i = 0; i < p.n; i++) {
        const struct problem *pr = &p.v[i];
        jw_open(w, false);
        jw_key(w, "cause");
        jw_cstr(w, finding_name(pr->cause));
        jw_key(w, "severity");
        jw_cstr(w, finding_severity_name(pr->severity));
        jw_key(w, "role");
        jw_cstr(w, role_name(pr->role));
        jw_key(w, "servers");
        jw_open(w, true);
        for (size_t k = 0; k < pr->nservers; k++)
            jw_str(w, problems_server_str(&pr->servers[k], sb, sizeof(sb)));
        jw_close(w);
        jw_key(w, "connections");
        jw_uint(w, pr->connections);
        jw_key(w, "failed");
        jw_uint(w, pr->failed);
        jw_key(w, "certificate");
        jw_str_or_null(w, pr->leaf != NULL ? pr->leaf->sha256_hex : NULL);
        jw_key(w, "summary");
        jw_str(w, pr->summary);
        jw_key(w, "fix");
        jw_str(w, pr->fix);
        jw_key(w, "workaround");
        jw_str_or_null(w, pr->workaround);
        jw_key(w, "references");
        jw_open(w, true);
        for (size_t k = 0; k < pr->nrefs; k++)
            jw_cstr(w, pr->references[k]);
        jw_close(w);
        jw_close(w);
    }
    jw_close(w);
}

/* "ssh_tunnels": only when the capture has some. */
static void sw_ssh_tunnels(struct jw *w)
{
    const struct analysis *a = an(w);
    char sb[64];

    if (a->nssh > 0) {
        jw_key(w, "ssh_tunnels");
        jw_open(w, true);
        for (size_t i = 0; i < a->nssh; i++) {
            jw_open_flat(w);
            jw_key(w, "client");
            jw_str(w, conn_ip_str(&a->ssh[i].client, sb, sizeof(sb)));
            jw_key(w, "server");
            jw_str(w, problems_server_str(&a->ssh[i].server, sb, sizeof(sb)));
            jw_key(w, "connections");
            jw_uint(w, a->ssh[i].conns);
            jw_close(w);
        }
        jw_close(w);
    }
}

/* The document up to its "connections" array, opened: what is known
 * before the first connection. */
static void sw_head(struct jw *w, const struct report_opts *o)
{
    jw_open(w, false);
    jw_key(w, "schema_version");
    jw_int(w, REPORT_SCHEMA_VERSION);
    jw_key(w, "tool");
    jw_open_flat(w);
    jw_key(w, "name");
    jw_cstr(w, "tlsinspect");
    jw_key(w, "version");
    jw_str(w, o->version ? o->version : "unknown");
    jw_close(w);
    sw_options(w, an(w));
    jw_key(w, "connections");
    jw_open(w, true);
}

/* The rest, known at the end: the inputs, the time span, the problems,
 * the summary of the connections written. */
static void sw_tail(struct jw *w, const struct json_tally *t, const struct problems *p,
                    uint64_t late)
{
    const struct analysis *a = an(w);
    bool have_ts = a->packets > 0;

    jw_close(w);                    /* "connections" */
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
    sw_problems(w, p);
    sw_ssh_tunnels(w);
    jw_key(w, "summary");
    sw_summary(w, t);

    /* capture-level findings (CAPTURE_TRUNCATED, LIMIT_REACHED): not in
     * SPEC's sketch, but they belong in a fixture */
    jw_key(w, "findings");
    jw_open(w, true);
    for (size_t i = 0; i < a->nglobal; i++) {
        const struct analyze_global_finding *g = &a->global[i];

        jw_open_flat(w);
        jw_key(w, "id");
        jw_cstr(w, finding_name(g->id));
        jw_key(w, "severity");
        jw_cstr(w, finding_severity_name(finding_severity(g->id)));
        jw_key(w, "message");
        jw_str(w, g->message);
        jw_close(w);
    }
    jw_close(w);

    jw_key(w, "warnings");
    jw_open(w, true);
    for (size_t i = 0; i < a->nwarnings && i < ANALYZE_MAX_WARNINGS; i++)
        jw_str(w, a->warnings[i]);
    if (a->warnings_dropped > 0) {
        char buf[96];
        snprintf(buf, sizeof(buf), "%" PRIu64 " further warnings not kept", a->warnings_dropped);
        jw_cstr(w, buf);
    }
    if (late > 0) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%" PRIu64 " connection(s) started further back than packets "
                 "already read (the capture's timestamps go back): written after connections "
                 "that start later", late);
        jw_cstr(w, buf);
    }
    jw_close(w);
    if (a->logs != NULL)
        sw_logs(w);
    jw_close(w);
}

/* ---- the streamed report: a sink (sink.h) ------------------------------------ */

struct json_sink {
    struct jw out;                  /* the report */
    struct jw r;                    /* memory: where each connection is rendered */
    bool jsonl;
    struct report_opts o;
    struct stream_order *so;
    struct json_tally t;
    struct problems_acc *pacc;
    uint64_t next_id;
    bool head_done;
};

static int jw_status(const struct jw *w)
{
    return w->oom || w->toobig ? TI_ENOMEM : w->err ? TI_EIO : TI_OK;
}

/* One connection to the report: its id, then the text rendered earlier. */
static int js_write(struct json_sink *s, uint64_t id, const char *text, size_t len)
{
    if (!s->head_done && !s->jsonl)
        sw_head(&s->out, &s->o);
    s->head_done = true;
    jw_open(&s->out, false);
    jw_key(&s->out, "id");
    jw_uint(&s->out, id);
    jw_put(&s->out, text, len);
    jw_close_raw(&s->out);
    if (s->jsonl)
        jw_putc(&s->out, '\n');
    return jw_status(&s->out);
}

static int js_emit(void *ctx, const char *text, size_t len)
{
    struct json_sink *s = ctx;
    return js_write(s, ++s->next_id, text, len);
}

/* c's object without its "id": from just after the id's value to the
 * closing brace, laid out at the depth it will be written at. */
static const char *js_render(struct json_sink *s, const struct analysis *a,
                             const struct conn *c, size_t *len)
{
    size_t mark;
    const char *text;

    s->r.ctx = a;
    jw_clear(&s->r);
    jw_open(&s->r, false);
    jw_key(&s->r, "id");
    jw_uint(&s->r, 0);
    (void)jw_text(&s->r, &mark);
    sw_conn_rest(&s->r, c);
    text = jw_text(&s->r, len);
    *len -= mark;
    return jw_failed(&s->r) ? NULL : text + mark;
}

static int js_conn(void *ctx, const struct analysis *a, const struct conn *c)
{
    struct json_sink *s = ctx;
    struct conn_key k;
    const char *text;
    size_t len;
    int rc;

    if (!reported(c))
        return TI_OK;
    s->out.ctx = a;                 /* the head (options) may be written by this call */
    tally_add(&s->t, c);
    if ((rc = problems_acc_add(s->pacc, a, c)) != TI_OK)
        return rc;
    if ((text = js_render(s, a, c, &len)) == NULL)
        return jw_status(&s->r);
    conn_key_of(c, &k);
    rc = stream_order_add(s->so, &k, text, len);
    return rc != TI_OK ? rc : stream_order_release(s->so, a->order_floor_ts);
}

static int js_finish(void *ctx, const struct analysis *a)
{
    struct json_sink *s = ctx;
    struct problems p;
    int rc;

    s->out.ctx = a;
    rc = stream_order_finish(s->so);

    if (rc != TI_OK || s->jsonl)
        return rc;
    if (problems_acc_build(s->pacc, a, &p) != TI_OK)
        return TI_ENOMEM;
    s->out.ctx = a;
    if (!s->head_done)
        sw_head(&s->out, &s->o);
    s->head_done = true;
    sw_tail(&s->out, &s->t, &p, stream_order_late(s->so));
    jw_putc(&s->out, '\n');
    problems_free(&p);
    return jw_status(&s->out);
}

int json_sink_new(struct json_sink **out, FILE *f, const struct report_opts *o,
                  size_t max_bytes, struct conn_sink *sink)
{
    struct json_sink *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL)
        return TI_ENOMEM;
    s->o = *o;
    s->jsonl = o->format == REPORT_JSONL;
    if (jw_begin(&s->out, f, s->jsonl, 0, NULL) != TI_OK) {
        free(s);
        return TI_ENOMEM;
    }
    if (jw_begin(&s->r, NULL, s->jsonl, JW_MEM_MAX, NULL) != TI_OK ||
        (s->so = stream_order_new(max_bytes, js_emit, s)) == NULL ||
        (s->pacc = problems_acc_new()) == NULL) {
        json_sink_free(s);
        return TI_ENOMEM;
    }
    if (!s->jsonl) {                /* connections are rendered at the depth they go at */
        jw_open(&s->r, false);
        jw_key(&s->r, "connections");
        jw_open(&s->r, true);
    }
    *sink = (struct conn_sink){js_conn, js_finish, s};
    *out = s;
    return TI_OK;
}

int json_sink_end(struct json_sink *s)
{
    int rc;

    jw_flush(&s->out);
    jw_end(&s->out);
    rc = jw_status(&s->out);
    s->out.buf = NULL;
    return rc;
}

uint64_t json_sink_late(const struct json_sink *s)
{
    return stream_order_late(s->so);
}

void json_sink_free(struct json_sink *s)
{
    if (s == NULL)
        return;
    if (s->out.buf != NULL)
        jw_end(&s->out);
    jw_end(&s->r);
    stream_order_free(s->so);
    problems_acc_free(s->pacc);
    free(s);
}

/* The analysis' kept connections, already in report order with their ids,
 * through the same writer. */
int report_json(FILE *out, const struct analysis *a, const struct report_opts *o)
{
    struct json_sink *s;
    struct conn_sink sink;
    int rc = json_sink_new(&s, out, o, 0, &sink);

    if (rc != TI_OK)
        return rc;
    s->out.ctx = a;
    for (size_t i = 0; i < a->nconns && rc == TI_OK; i++) {
        const struct conn *c = a->conns[i];
        const char *text;
        size_t len;

        if (!reported(c))
            continue;
        tally_add(&s->t, c);
        rc = problems_acc_add(s->pacc, a, c);
        if (rc == TI_OK && (text = js_render(s, a, c, &len)) == NULL)
            rc = jw_status(&s->r);
        else if (rc == TI_OK)
            rc = js_write(s, c->id, text, len);
    }
    if (rc == TI_OK)
        rc = js_finish(s, a);
    if (json_sink_end(s) != TI_OK && rc == TI_OK)
        rc = TI_EIO;
    json_sink_free(s);
    if (rc == TI_OK && (fflush(out) != 0 || ferror(out)))
        rc = TI_EIO;
    return rc;
}

/* The same document, parsed back (jansson keeps the keys in document
 * order).  Compact text parses faster, and rendering the document without
 * its connections and then each connection on its own keeps one
 * connection's text in memory rather than the whole report's. */
json_t *report_json_document(const struct analysis *a, const struct report_opts *o)
{
    struct json_tally t = {0};
    struct problems p;
    struct jw w;
    json_t *doc, *conns;

    if (problems_build(a, &p) != TI_OK)
        return NULL;
    if (jw_begin(&w, NULL, true, JW_MEM_MAX, a) != TI_OK) {
        problems_free(&p);
        return NULL;
    }
    for (size_t i = 0; i < a->nconns; i++)
        if (reported(a->conns[i]))
            tally_add(&t, a->conns[i]);
    sw_head(&w, o);
    sw_tail(&w, &t, &p, 0);
    problems_free(&p);
    doc = jw_parse(&w);
    conns = json_object_get(doc, "connections");
    if (conns == NULL) {
        json_decref(doc);
        doc = NULL;
    }
    for (size_t i = 0; i < a->nconns && doc != NULL; i++) {
        if (!reported(a->conns[i]))
            continue;
        sw_conn(&w, a->conns[i]);
        if (json_array_append_new(conns, jw_parse(&w)) != 0) {
            json_decref(doc);
            doc = NULL;
        }
    }
    jw_end(&w);
    return doc;
}

/* One connection's object, as in the document's "connections" (its "id"
 * is c->id: 0 for a connection seen by a sink). */
json_t *report_json_conn(const struct analysis *a, const struct conn *c)
{
    struct jw w;
    json_t *v;

    if (jw_begin(&w, NULL, true, JW_MEM_MAX, a) != TI_OK)
        return NULL;
    sw_conn(&w, c);
    v = jw_parse(&w);
    jw_end(&w);
    return v;
}

int report_json_dumpf(FILE *out, const json_t *v)
{
    return jw_dumpf(out, v) == 0 ? TI_OK : TI_EIO;
}
