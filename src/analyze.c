/* analyze.c - the pipeline: capture -> decode -> flows -> TLS -> verification -> findings.
 *
 * Glue only: each stage lives in its own module.  Here the flow table's
 * consumer callbacks create one struct conn + TLS session per flow, and when
 * a flow leaves the table its TCP facts are copied into the conn with the
 * sides mapped to client/server, and it is verified (expected name and time
 * chosen per SPEC) and given its findings.  After the capture, connections
 * are sorted (first timestamp, then endpoints).  With -w the extract
 * (extract.h) sees every packet of every flow and is told when a handshake
 * is over and when a flow leaves.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/sink.h"
#include "tlsinspect/bundle.h"
#include "tlsinspect/decode.h"
#include "tlsinspect/err.h"
#include "tlsinspect/extract.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/infer_chain.h"
#include "tlsinspect/tls13_keylog.h"
#include "tlsinspect/tls_msg.h"
#include "tlsinspect/runopts.h"

#define ANALYZE_PROGRESS_EVERY 65536   /* packets between progress callbacks */
/* How far behind the newest packet a connection may still start: packet
 * timestamps may go back a little (several capture queues); the largest
 * step back seen so far is added. */
#define ANALYZE_ORDER_LAG_US 100000
#define AN_STR_(x) #x
#define AN_STR(x) AN_STR_(x)          /* a constant in a message literal */

struct an_ctx {
    struct analysis *a;
    const struct analyze_opts *o;
    struct tls_limits tls_lim;
    struct tls_fp_memo *memo;       /* JA3/JA4 of the hellos seen so far */
    size_t conns_cap;
    unsigned cur_input;             /* input of the packet being decoded */
    bool oom;
    int verify_rc;                  /* first failed verify_conn(), reported after the capture */
    int sink_rc;                    /* first failed sink, reported after the capture */
    bool keep;                      /* conns kept in a->conns (no drop_conns, or logs) */
    bool defer_sinks;               /* logs: the sinks see the conns after the correlation */
    bool name_used[ANALYZE_MAX_NAMES];  /* per --name: a connection went to its address */
    struct flow_table *ft;          /* for the oldest open flow (order floor) */
    int64_t max_back;               /* largest step back of packet timestamps seen */
    bool at_end;                    /* the capture has ended: no flow is still to come */
    struct extract *ex;             /* -w, or NULL */
    const struct cap_packet *pkt;   /* the packet being handled (for -w) */
    struct infer_chains *chains;    /* chains known per server, for TLS 1.3 without keys */
    uint64_t evicted_full;          /* connections dropped so far to make room in the table */
};

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

struct an_flow {
    struct conn *c;
    struct tls_session *s;
    unsigned input;                 /* input of its first packet */
    struct extract_conn *xc;        /* -w: the flow's packets, or NULL */
    bool ex_done;                   /* -w: told the extract the handshake is over */
    bool chain_noted;               /* its cleartext chain went to x->chains (in ex_done's
                                     * padding: one of these per flow, floods included) */
    /* Holes after the handshake ended, by flow side: not counted as capture
     * gaps, since they cannot change the diagnosis and a -w extract (which
     * drops bulk data on purpose) must report what the original reports. */
    uint64_t late_gaps[2], late_gap_bytes[2];
};

void analyze_opts_default(struct analyze_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->ports[0] = 8443;
    o->ports[1] = 6972;
    o->nports = 2;
    o->at = AT_CAPTURE;
    o->log_window_us = ANALYZE_LOG_WINDOW_US;
    flow_limits_default(&o->flow_limits);
    tls_limits_default(&o->tls_limits);
}

void analysis_warn(struct analysis *a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < a->nwarnings; i++)
        if (strcmp(a->warnings[i], buf) == 0)
            return;
    if (a->nwarnings >= ANALYZE_MAX_WARNINGS) {
        a->warnings_dropped++;
        return;
    }
    char *w = strdup(buf);
    if (w != NULL)
        a->warnings[a->nwarnings++] = w;
}

struct an_keylog_warn {
    struct analysis *a;
    const char *path;
};

/* A bad key log line, as "FILE:LINE: why" (line 0: the count of those not
 * listed). */
static void keylog_warn(void *ctx, unsigned long line, const char *msg)
{
    const struct an_keylog_warn *w = ctx;

    if (line == 0)
        analysis_warn(w->a, "%s: %s", w->path, msg);
    else
        analysis_warn(w->a, "%s:%lu: %s", w->path, line, msg);
}

int analysis_add_global(struct analysis *a, int id, const char *msg)
{
    struct analyze_global_finding *g =
        realloc(a->global, (a->nglobal + 1) * sizeof(*a->global));
    if (g == NULL)
        return TI_ENOMEM;
    a->global = g;
    g[a->nglobal].id = id;
    g[a->nglobal].message = strdup(msg);
    if (g[a->nglobal].message == NULL)
        return TI_ENOMEM;
    a->nglobal++;
    return TI_OK;
}

/* ---- flow consumer ---------------------------------------------------------- */

/* Without a SYN and without a listed port (--ports all), a connection caught
 * mid-stream is most likely served from the well-known or registered port
 * (below 49152, the IANA dynamic range) to an ephemeral one.  Only a hint: a
 * ClientHello in either direction decides. */
static int guess_server_side(const struct flow *f)
{
    uint16_t p0 = f->side[0].port, p1 = f->side[1].port;

    if (p0 < p1 && p0 < 49152 && (p1 >= 49152 || p0 < 1024))
        return 0;
    if (p1 < p0 && p1 < 49152 && (p0 >= 49152 || p1 < 1024))
        return 1;
    return -1;
}

/* The conn and its TLS session are made at the flow's first in-order
 * bytes or gap, not when the flow opens: a flood of
 * half-open connections whose data never becomes in order costs only the
 * flow table entry and its queued bytes. */
static bool an_start(struct an_ctx *x, struct flow *f, struct an_flow *af)
{
    if (af->s != NULL)
        return true;
    af->c = conn_arena_get(x->a->conn_arena);
    if (af->c == NULL)
        goto fail;
    if (tls_session_new(&af->s, af->c, x->a->pool, x->a->names, &x->tls_lim, x->a->keylog) != TI_OK)
        goto fail;
    tls_session_set_fp_memo(af->s, x->memo);
    if (f->client_side >= 0)
        tls_set_client_side(af->s, f->client_side);
    else if (f->port_server_side >= 0)
        tls_set_server_side_hint(af->s, f->port_server_side);
    else if (guess_server_side(f) >= 0)
        tls_set_server_side_hint(af->s, guess_server_side(f));
    return true;
fail:
    x->oom = true;
    conn_arena_put(x->a->conn_arena, af->c);
    af->c = NULL;
    return false;
}

static void *an_open(void *ctx, struct flow *f)
{
    struct an_ctx *x = ctx;
    struct an_flow *af = calloc(1, sizeof(*af));

    if (af == NULL) {
        x->oom = true;
    } else if (x->ex != NULL) {
        af->xc = extract_conn_new(x->ex, &f->side[0], &f->side[1]);
        if (af->xc == NULL) {
            x->oom = true;
            free(af);
            af = NULL;
        }
    }
    if (af != NULL)
        af->input = x->cur_input;
    return af;
}

/* -w: every packet of the flow, before the table acts on it. */
static void an_packet(void *ctx, struct flow *f, int side, const struct pkt_info *p, int64_t ts)
{
    struct an_ctx *x = ctx;
    struct an_flow *af = f->app;

    extract_packet(x->ex, af->xc, side, x->pkt, p, f->app_done || af->ex_done);
}

/* -w: the handshake is decided once the parser wants no more bytes. */
static void an_extract_check(struct an_ctx *x, struct an_flow *af)
{
    if (x->ex != NULL && !af->ex_done && tls_handshake_over(af->s)) {
        af->ex_done = true;
        extract_handshake_done(x->ex, af->xc, af->c);
    }
}

static void an_data(void *ctx, struct flow *f, int side, const uint8_t *d, size_t n, int64_t ts)
{
    struct an_flow *af = f->app;
    if (an_start(ctx, f, af)) {
        tls_feed(af->s, side, d, n, ts);
        /* Noted when read, not when the connection ends: a TLS 1.3
         * connection to this server ending later can match it. */
        if (!af->chain_noted && af->c->n_server_certs > 0 && tls_client_side(af->s) >= 0) {
            af->chain_noted = true;
            infer_chains_note(((struct an_ctx *)ctx)->chains,
                              &f->side[1 - tls_client_side(af->s)], af->c, ts);
        }
        if (af->xc != NULL) {
            extract_stream(af->xc, side, d, n);
            an_extract_check(ctx, af);
        }
    }
}

static void an_gap(void *ctx, struct flow *f, int side, uint64_t n, int64_t ts)
{
    struct an_flow *af = f->app;
    if (an_start(ctx, f, af)) {
        if (tls_handshake_over(af->s)) {
            af->late_gaps[side]++;
            af->late_gap_bytes[side] += n;
        }
        tls_gap(af->s, side, n, ts);
        if (af->xc != NULL)
            an_extract_check(ctx, af);
    }
}

static bool an_done(void *ctx, struct flow *f)
{
    struct an_flow *af = f->app;
    return af->s != NULL && tls_done(af->s);
}

/* FIN/RST before any byte: nothing TLS to record. */
static void an_close(void *ctx, struct flow *f, int side, bool rst, int64_t ts)
{
    struct an_flow *af = f->app;
    if (af->s != NULL)
        tls_close(af->s, side, rst, ts);
}

static int push_conn(struct an_ctx *x, struct conn *c)
{
    struct analysis *a = x->a;

    if (a->nconns == x->conns_cap) {
        size_t cap = x->conns_cap ? x->conns_cap * 2 : 64;
        struct conn **v = realloc(a->conns, cap * sizeof(*v));
        if (v == NULL)
            return TI_ENOMEM;
        a->conns = v;
        x->conns_cap = cap;
    }
    a->conns[a->nconns++] = c;
    return TI_OK;
}

/* Copy the flow's TCP facts into the conn, sides mapped to client/server. */
static void fill_tcp(struct conn *c, const struct flow *f, int cs)
{
    int ss = 1 - cs;
    int side_of[2] = {cs, ss};   /* indexed by enum conn_dir */
    const struct an_flow *af = f->app;
    uint64_t late_gaps[2] = {0, 0}, late_bytes[2] = {0, 0};

    if (af != NULL)
        for (int i = 0; i < 2; i++) {
            late_gaps[i] = af->late_gaps[i];
            late_bytes[i] = af->late_gap_bytes[i];
        }

    c->client = f->side[cs];
    c->server = f->side[ss];
    c->first_ts = f->first_ts;
    c->serial = f->serial;
    c->last_ts = f->last_ts;
    c->tcp.syn_seen = f->client_side >= 0 && f->st[cs].syn;
    c->tcp.synack_seen = f->st[ss].syn;
    c->tcp.synacks_isn_changed = f->st[ss].isn_changes;
    for (int d = 0; d < 2; d++) {
        const struct flow_side_stats *st = &f->st[side_of[d]];
        const struct reasm_dir *rd = &f->dir[side_of[d]];
        c->tcp.fin[d] = st->fin;
        c->tcp.rst[d] = st->rst;
        c->tcp.rst_ts[d] = st->rst_ts;
        c->tcp.packets[d] = st->packets;
        c->tcp.bytes[d] = st->bytes;
        c->tcp.snap_cut[d] = st->snap_cut;
        c->tcp.retrans[d] = rd->st.retrans;
        c->tcp.overlap_conflicts[d] = rd->st.overlap_conflicts;
        c->tcp.gaps[d] = rd->st.gaps - MIN(rd->st.gaps, late_gaps[side_of[d]]);
        c->tcp.gap_bytes[d] = rd->st.gap_bytes - MIN(rd->st.gap_bytes, late_bytes[side_of[d]]);
        c->tcp.limit_hit[d] = rd->st.limit_hits > 0;
    }
}

/* A connection to the SSH tunnel port that carried bytes: counted per
 * client/server pair. */
static void note_ssh(struct analysis *a, const struct conn *c)
{
    size_t i;

    if (c->tcp.bytes[DIR_CLIENT] + c->tcp.bytes[DIR_SERVER] == 0)
        return;
    for (i = 0; i < a->nssh; i++)
        if (a->ssh[i].server.ipver == c->server.ipver && a->ssh[i].server.port == c->server.port &&
            memcmp(a->ssh[i].server.ip, c->server.ip, sizeof(c->server.ip)) == 0 &&
            a->ssh[i].client.ipver == c->client.ipver &&
            memcmp(a->ssh[i].client.ip, c->client.ip, sizeof(c->client.ip)) == 0)
            break;
    if (i == a->nssh) {
        if (a->nssh == ANALYZE_MAX_SSH)
            return;
        memset(&a->ssh[i], 0, sizeof(a->ssh[i]));
        a->ssh[i].client = c->client;
        a->ssh[i].client.port = 0;
        a->ssh[i].server = c->server;
        a->nssh++;
    }
    a->ssh[i].conns++;
}

static int verify_conn(struct analysis *a, const struct analyze_opts *o, struct conn *c);

static void an_tally_findings(struct analysis *a, const struct conn *c)
{
    for (size_t j = 0; j < c->n_findings; j++) {
        const struct conn_finding *f = &c->findings[j];
        if (f->id >= 0 && f->id < FINDING_COUNT && (unsigned)f->severity <= SEV_ERROR)
            a->finding_conns[f->id][f->severity]++;
    }
}

/* What is read after the capture about every connection, counted as each is
 * judged: with drop_conns none is left to walk. */
static void an_tally(struct an_ctx *x, const struct conn *c)
{
    struct analysis *a = x->a;
    const struct analyze_opts *o = x->o;

    a->tls_conns++;
    a->limit_conns[0] += (c->limits_hit & CONN_LIMIT_HS_MSG) != 0;
    a->limit_conns[1] += (c->limits_hit & CONN_LIMIT_RECORDS) != 0;
    a->limit_conns[2] += (c->limits_hit & CONN_LIMIT_CERTS) != 0;
    an_tally_findings(a, c);
    for (size_t k = 0; k < o->nnames; k++)
        x->name_used[k] = x->name_used[k] ||
                          (c->server.ipver == o->names[k].addr.ipver &&
                           memcmp(c->server.ip, o->names[k].addr.ip, sizeof(c->server.ip)) == 0);
}

/* No connection still to come starts before this (analysis.order_floor_ts). */
static int64_t an_order_floor(const struct an_ctx *x)
{
    int64_t floor = INT64_MAX, oldest;

    if (!x->at_end)
        floor = x->a->last_ts - ANALYZE_ORDER_LAG_US - x->max_back;
    if (x->ft != NULL && flow_table_oldest(x->ft, &oldest) && oldest < floor)
        floor = oldest;
    return floor;
}

static void an_release(void *ctx, struct flow *f, bool evicted)
{
    struct an_ctx *x = ctx;
    struct an_flow *af = f->app;
    struct conn *reported = NULL;
    int cs;

    if (af == NULL)
        return;
    if (af->s == NULL) {             /* never carried a byte */
        extract_conn_end(x->ex, af->xc, NULL);
        free(af);
        f->app = NULL;
        return;
    }
    cs = tls_client_side(af->s);
    if (cs < 0)
        cs = f->client_side >= 0 ? f->client_side
             : f->port_server_side >= 0 ? 1 - f->port_server_side : 0;
    fill_tcp(af->c, f, cs);
    af->c->input = af->input;
    /* Told apart by the time: an idle eviction comes with a packet that
     * much later (a->last_ts is the packet being read). */
    af->c->tcp.evictions_before = x->evicted_full > 0;
    if (evicted) {
        int64_t idle = x->o->flow_limits.idle_timeout_us;
        bool was_idle = idle > 0 && x->a->last_ts - f->last_ts > idle;
        af->c->tcp.evicted = was_idle ? CONN_EVICTED_IDLE : CONN_EVICTED_FULL;
        x->evicted_full += !was_idle;
    }
    tls_finish(af->s);
    {
        const uint16_t *lens;
        size_t nl = tls_server_flight13(af->s, &lens);
        if (nl > 0)
            infer_chain_match(x->chains, af->c, lens, nl);
    }
    tls_session_free(af->s);
    if ((!af->c->is_tls || af->c->outcome == OUTCOME_NOT_TLS) &&
        role_for_port(&x->o->roles, af->c->server.port) == ROLE_SSH)
        note_ssh(x->a, af->c);
    if (af->c->is_tls && af->c->outcome != OUTCOME_NOT_TLS) {
        /* Judged now, not after the capture: -w --only findings decides on
         * the findings, and they need nothing from other connections. */
        af->c->role = (uint8_t)role_for_port(&x->o->roles, af->c->server.port);
        int vrc = verify_conn(x->a, x->o, af->c);
        if (vrc != TI_OK && x->verify_rc == TI_OK)
            x->verify_rc = vrc;
        findings_run_memo(af->c, x->a->names, x->a->fmemo);
        an_tally(x, af->c);
        x->a->order_floor_ts = an_order_floor(x);
        for (size_t i = 0; i < x->o->nsinks && !x->defer_sinks && x->sink_rc == TI_OK; i++)
            x->sink_rc = x->o->sinks[i].conn(x->o->sinks[i].ctx, x->a, af->c);
        if (!x->keep) {
            reported = af->c;       /* for the extract, which reads it now */
        } else if (push_conn(x, af->c) == TI_OK) {
            reported = af->c;
            af->c = NULL;
        } else {
            x->oom = true;
        }
    }
    extract_conn_end(x->ex, af->xc, reported);
    conn_arena_put(x->a->conn_arena, af->c);
    free(af);
    f->app = NULL;
}

/* ---- ordering ---------------------------------------------------------------- */

static int conn_cmp(const void *pa, const void *pb)
{
    return conn_order_cmp(*(const struct conn *const *)pa, *(const struct conn *const *)pb);
}

/* ---- verification policy ------------------------------------------------------ */

static const char *name_for_server(const struct analyze_opts *o, const struct conn_endpoint *s)
{
    for (size_t i = 0; i < o->nnames; i++) {
        const struct conn_endpoint *e = &o->names[i].addr;
        if (e->ipver == s->ipver && memcmp(e->ip, s->ip, sizeof(e->ip)) == 0)
            return o->names[i].name;
    }
    return NULL;
}

static bool verdict_equal(const struct x509_verdict *a, const struct x509_verdict *b)
{
    return a->result == b->result && a->depth == b->depth && a->name_ok == b->name_ok;
}

static int verify_conn(struct analysis *a, const struct analyze_opts *o, struct conn *c)
{
    struct conn_verification *v = &c->verify;
    const char *name = name_for_server(o, &c->server);
    const struct conn_client_hello *ch = c->n_ch ? &c->ch[c->n_ch - 1] : NULL;
    char ip[64];

    if (c->n_server_certs == 0 && c->n_client_certs == 0)
        return TI_OK;
    const struct tslog_addr *la = name == NULL && a->logs != NULL
                                  ? tslog_addr_for(a->logs, &c->server) : NULL;

    /* The Expressway checks the certificate against the connect address
     * it has configured for the server, whatever SNI it sent (or none). */
    if (la != NULL && (ch == NULL || ch->sni == NULL || strcasecmp(ch->sni, la->host) != 0))
        name = la->host;
    else
        la = NULL;
    if (la != NULL) {
        v->name_source = X509_NAME_FROM_LOG;
    } else if (name != NULL) {
        v->name_source = X509_NAME_FROM_OPTION;
    } else if (ch != NULL && ch->sni != NULL && ch->sni[0] != '\0') {
        name = ch->sni;
        v->name_source = X509_NAME_FROM_SNI;
    } else {
        name = conn_ip_str(&c->server, ip, sizeof(ip));
        v->name_source = X509_NAME_FROM_SERVER_IP;
    }
    if ((v->expected_name = conn_strpool_intern(a->strpool, name, CONN_NAME_MAX)) == NULL) {
        v->expected_name = "";
        return TI_ENOMEM;
    }
    switch (o->at) {
    case AT_NOW: v->time = o->now; break;
    case AT_FIXED: v->time = o->at_time; break;
    default: v->time = c->first_ts / 1000000; break;
    }
    if (c->n_server_certs > 0) {
        v->done = x509_verify(a->pool, c->server_certs, c->n_server_certs, v->time,
                              v->expected_name, false, &v->verdict) == TI_OK;
        if (v->done && o->at == AT_CAPTURE && v->verdict.result != X509_CHAIN_NOT_CHECKED &&
            x509_verify(a->pool, c->server_certs, c->n_server_certs, o->now, v->expected_name,
                        false, &v->verdict_now) == TI_OK)
            v->now_differs = !verdict_equal(&v->verdict, &v->verdict_now);
    }
    if (c->n_client_certs > 0 && x509_have_trust(a->pool, true))
        v->client_done = x509_verify(a->pool, c->client_certs, c->n_client_certs, v->time, NULL,
                                     true, &v->client_verdict) == TI_OK;
    return TI_OK;
}

/* ---- the run -------------------------------------------------------------------- */

/* A segment on a port not inspected whose payload starts a TLS handshake
 * record holding a ClientHello (RFC 8446 5.1: type 22, version 3.x; 4.1.2:
 * msg_type 1): counted by the server port, so the report can say "TLS on
 * 443: add -p 443".  Out of line: the per-packet loop only pays the test
 * that the port is not selected. */
__attribute__((noinline, cold))
static void note_other_port(struct analysis *a, const struct pkt_info *pi)
{
    const uint8_t *b = pi->payload;
    size_t i;

    if (pi->payload_len < 6 || b[0] != 22 || b[1] != 3 || b[2] > 4 || b[5] != 1)
        return;
    for (i = 0; i < a->nother && a->other[i].port != pi->dport; i++)
        ;
    if (i == a->nother) {
        if (a->nother == ANALYZE_MAX_OTHER) {
            a->other_dropped++;
            return;
        }
        a->other[a->nother].port = pi->dport;
        a->other[a->nother++].hellos = 0;
    }
    a->other[i].hellos++;
}

static int other_cmp(const void *x, const void *y)
{
    const struct analyze_other_port *p = x, *q = y;
    return p->port < q->port ? -1 : p->port > q->port;
}

static int copy_scope(struct analysis *a, const struct analyze_opts *o)
{
    struct analyze_scope *s = &a->scope;

    memcpy(s->ports, o->ports, sizeof(s->ports));
    s->nports = o->nports;
    s->all_ports = o->all_ports;
    s->roles = o->roles;
    if ((o->trust.cafile && !(s->cafile = strdup(o->trust.cafile))) ||
        (o->trust.capath && !(s->capath = strdup(o->trust.capath))) ||
        (o->trust.client_cafile && !(s->client_cafile = strdup(o->trust.client_cafile))) ||
        (o->keylog && !(s->keylog = strdup(o->keylog))))
        return TI_ENOMEM;
    return TI_OK;
}

/* The per-packet loop.  `hot`: GCC judges a function reached once from
 * main() by its call count, not by its loop, and optimises it for size:
 * the packet-info memset inlined here then becomes `rep stos`, whose
 * start-up cost dwarfs a 72-byte clear done once per packet. */
__attribute__((hot))
static int read_capture(struct an_ctx *x, struct capture *cap, struct flow_table *ft)
{
    struct analysis *a = x->a;
    const struct analyze_opts *o = x->o;
    struct cap_packet pkt;
    struct pkt_info pi;
    int rc;

    x->pkt = &pkt;                  /* for -w; cleared before returning */
    while ((rc = capture_next(cap, &pkt)) == 1) {
        enum decode_result r;

        a->packets++;
        x->cur_input = pkt.input;
        if (a->first_ts == 0 || pkt.ts < a->first_ts)
            a->first_ts = pkt.ts;
        if (pkt.ts > a->last_ts)
            a->last_ts = pkt.ts;
        else if (a->last_ts - pkt.ts > x->max_back)
            x->max_back = a->last_ts - pkt.ts;
        r = decode_packet(pkt.linktype, pkt.data, pkt.caplen, pkt.len, &pi);
        if ((unsigned)r < sizeof(a->decode_counts) / sizeof(a->decode_counts[0]))
            a->decode_counts[r]++;
        if (r == DECODE_TCP) {
            if (pi.payload_len > 0 && !o->all_ports && !flow_port_selected(ft, pi.sport, pi.dport))
                note_other_port(a, &pi);
            flow_packet(ft, &pi, pkt.ts);
        }
        if (x->oom) {
            rc = TI_ENOMEM;
            break;
        }
        if (o->progress != NULL && a->packets % ANALYZE_PROGRESS_EVERY == 0) {
            uint64_t done, total;
            capture_progress(cap, &done, &total);
            o->progress(o->progress_ctx, done, total);
        }
    }
    x->pkt = NULL;
    return rc < 0 ? rc : TI_OK;
}

static int copy_inputs(struct analysis *a, struct capture *cap)
{
    size_t n;
    const struct cap_input *in = capture_inputs(cap, &n);

    a->inputs = calloc(n ? n : 1, sizeof(*a->inputs));
    a->inputs_extract = calloc(n ? n : 1, sizeof(*a->inputs_extract));
    if (a->inputs == NULL || a->inputs_extract == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        a->inputs[i] = in[i];
        a->inputs[i].file = strdup(in[i].file ? in[i].file : "");
        a->inputs[i].error = in[i].error ? strdup(in[i].error) : NULL;
        a->ninputs++;
        if (a->inputs[i].file == NULL)
            return TI_ENOMEM;
        a->inputs_extract[i] = extract_file_is_extract(in[i].file);
    }
    return TI_OK;
}

static int global_findings(struct analysis *a)
{
    char msg[1024];

    for (size_t i = 0; i < a->ninputs; i++) {
        const struct cap_input *in = &a->inputs[i];
        if (!in->truncated)
            continue;
        snprintf(msg, sizeof(msg), "%s: the capture file is damaged or cut mid-record after %llu "
                 "packets (%s); everything before was analysed.",
                 in->file, (unsigned long long)in->packets, in->error ? in->error : "truncated");
        if (analysis_add_global(a, FINDING_CAPTURE_TRUNCATED, msg) != TI_OK)
            return TI_ENOMEM;
    }
    uint64_t hs = a->limit_conns[0], recs = a->limit_conns[1], certs = a->limit_conns[2];
    if (a->flow_stats.evicted_full || a->flow_stats.reasm_limit_hits || hs || recs || certs) {
        /* Only the limits reached, each with the option that raises it. */
        struct { uint64_t n; const char *what; } part[] = {
            {a->flow_stats.evicted_full, "connections evicted because the table was full "
                                         "(--max-connections)"},
            {a->flow_stats.reasm_limit_hits, "out-of-order buffer overflows (--max-ooo-bytes, "
                                             "--max-ooo-total)"},
            {hs, "connections with a handshake message over the size limit "
                 "(--max-handshake-bytes)"},
            {recs, "connections over the record limit (--max-records)"},
            {certs, "chains longer than " AN_STR(CONN_MAX_CERTS) " certificates (the rest "
                    "not kept)"},
        };
        size_t n = (size_t)snprintf(msg, sizeof(msg), "limits reached:");
        const char *sep = " ";

        for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
            if (part[i].n == 0 || n >= sizeof(msg))
                continue;
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%llu %s", sep,
                                  (unsigned long long)part[i].n, part[i].what);
            sep = ", ";
        }
        if (analysis_add_global(a, FINDING_LIMIT_REACHED, msg) != TI_OK)
            return TI_ENOMEM;
    }
    if (a->decode_counts[DECODE_UNSUPPORTED_LINK])
        analysis_warn(a, "%llu packets on a link type tlsinspect does not decode were skipped",
                      (unsigned long long)a->decode_counts[DECODE_UNSUPPORTED_LINK]);
    if (a->decode_counts[DECODE_FRAGMENT])
        analysis_warn(a, "%llu IP fragments were skipped (not reassembled)",
                      (unsigned long long)a->decode_counts[DECODE_FRAGMENT]);
    if (a->decode_counts[DECODE_MALFORMED])
        analysis_warn(a, "%llu packets had malformed IP/TCP headers and were skipped",
                      (unsigned long long)a->decode_counts[DECODE_MALFORMED]);
    return TI_OK;
}

/* ---- inputs: captures, bundles, logs --------------------------------------------- */

/* --log files, read before any capture: see open_capture(). */
static int an_open_logs(struct analysis *a, const struct analyze_opts *o, char *errbuf,
                        size_t errlen)
{
    int rc = tslog_new(&a->logs);

    for (size_t i = 0; rc == TI_OK && i < o->nlogs; i++) {
        rc = bundle_read_log(a->logs, o->logs[i], errbuf, errlen);
        if (rc != TI_OK && rc != TI_ENOMEM)
            rc = TI_EUSAGE;
    }
    return rc;
}

/* The inputs, all before the first packet: connections are verified as
 * they leave the table, and the expected name may be the connect address a
 * log gives (name_source "log"), so the logs are read first -- --log, then
 * the bundles' scan, which reads their logs and finds their captures.  An
 * interface is no bundle, nor is standard input (bundle.c passes "-" on);
 * --log applies to both.  *bdl outlives *cap: its streams read from it. */
static int open_capture(struct analysis *a, const struct analyze_opts *o, struct bundle **bdl,
                        struct capture **cap, char *errbuf, size_t errlen)
{
    struct cap_source *cs = NULL;
    size_t ncs = 0, nfiles = 0;
    int rc = an_open_logs(a, o, errbuf, errlen);

    if (rc == TI_OK && o->iface != NULL) {
        rc = capture_open_live(cap, o->iface, o->bpf, o->duration, errbuf, errlen);
    } else if (rc == TI_OK) {
        rc = bundle_open(bdl, o->files, o->nfiles, a->logs, errbuf, errlen);
        if (rc == TI_OK)
            rc = bundle_sources(*bdl, &cs, &ncs, errbuf, errlen);
        for (size_t i = 0; rc == TI_OK && i < ncs; i++)
            cs[i].no_hash = o->no_input_hash;
        if (rc == TI_OK)
            rc = capture_open_sources(cap, cs, ncs, o->bpf, errbuf, errlen);
        free(cs);
    }
    if (rc == TI_OK)
        capture_set_stop(*cap, o->stop);
    if (a->logs != NULL)
        (void)tslog_files(a->logs, &nfiles);
    if (nfiles == 0) {              /* no log anywhere: no log section in the reports */
        tslog_free(a->logs);
        a->logs = NULL;
    }
    return rc;
}

/* The trust store's warnings (damaged PEM blocks skipped) and the key log:
 * a file that is not a key log at all is a usage error. */
static int load_keylog(struct analysis *a, const struct analyze_opts *o, char *errbuf,
                       size_t errlen)
{
    const char *const *pw;
    size_t nw = x509_pool_warnings(a->pool, &pw);
    int rc;

    for (size_t i = 0; i < nw; i++)
        analysis_warn(a, "%s", pw[i]);
    if (o->keylog != NULL) {
        struct an_keylog_warn w = {a, o->keylog};
        rc = tls_keylog_load(&a->keylog, o->keylog, keylog_warn, &w, errbuf, errlen);
        if (rc != TI_OK) {
            char why[512];
            snprintf(why, sizeof(why), "%s", errbuf);
            snprintf(errbuf, errlen, "--keylog %s", why);
            return rc;
        }
        /* Not a key log at all (a binary, the wrong file): a usage error,
         * not a report where every TLS 1.3 certificate stays hidden. */
        if (a->keylog->n_entries == 0) {
            snprintf(errbuf, errlen, "--keylog %s: not an NSS key log (no valid line such as "
                     "CLIENT_RANDOM or SERVER_HANDSHAKE_TRAFFIC_SECRET)", o->keylog);
            return TI_EUSAGE;
        }
    }
    return TI_OK;
}

/* A --name for an address no connection went to is likely a typo. */
static void warn_unused_names(const struct an_ctx *x)
{
    struct analysis *a = x->a;
    const struct analyze_opts *o = x->o;

    for (size_t k = 0; k < o->nnames; k++) {
        const struct conn_endpoint *e = &o->names[k].addr;
        char ip[64];
        if (!x->name_used[k])
            analysis_warn(a, "--name %s=%s: no connection to that address in the capture",
                          conn_ip_str(e, ip, sizeof(ip)), o->names[k].name);
    }
}

/* What the connections borrow from as they are judged, which is as they
 * leave the table: so made before the first packet. */
static int an_pools_new(struct analysis *a, char *errbuf, size_t errlen)
{
    a->fmemo = findings_memo_new();     /* NULL: each conn formats its own */
    a->strpool = conn_strpool_new();
    if (a->strpool != NULL)
        return TI_OK;
    snprintf(errbuf, errlen, "verifying the chains: %s", ti_strerror(TI_ENOMEM));
    return TI_ENOMEM;
}

/* -w: the extract, for the inputs' link types.  A flow silent for half the
 * idle timeout gets a packet written, so the extract's flows live as long. */
static int an_extract_open(struct an_ctx *x, struct capture *cap, char *errbuf, size_t errlen)
{
    size_t nin;
    const struct cap_input *in = capture_inputs(cap, &nin);
    int64_t idle = x->o->flow_limits.idle_timeout_us;

    return extract_open(&x->ex, x->o->extract, in, nin, x->o->keylog, idle > 0 ? idle / 2 : 0,
                        errbuf, errlen);
}

/* Every flow has left the table: write what is held, close the extract. */
static int an_extract_finish(struct an_ctx *x, char *errbuf, size_t errlen)
{
    struct analysis *a = x->a;
    int rc = extract_finish(x->ex, &a->extract, errbuf, errlen);

    extract_free(x->ex);
    x->ex = NULL;
    if (rc == TI_OK && a->extract.forced > 0)
        analysis_warn(a, "-w: %llu connection(s) decided before their handshake ended (written "
                      "if they carried data): more than %zu bytes were held (--max-extract-hold)",
                      (unsigned long long)a->extract.forced, x->o->extract->max_held_bytes);
    return rc;
}

/* What the bundles say beyond their captures: damage, warnings, nodes. */
static int an_bundle_facts(struct analysis *a, const struct bundle *b)
{
    size_t n;
    const char *const *msgs;

    if (b == NULL)                  /* a live capture */
        return TI_OK;
    msgs = bundle_damage(b, &n);
    a->damaged = calloc(n ? n : 1, sizeof *a->damaged);
    if (a->damaged == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (analysis_add_global(a, FINDING_CAPTURE_TRUNCATED, msgs[i]) != TI_OK ||
            (a->damaged[i] = strdup(msgs[i])) == NULL)
            return TI_ENOMEM;
        a->ndamaged++;
    }
    msgs = bundle_warnings(b, &n);
    for (size_t i = 0; i < n; i++)
        analysis_warn(a, "%s", msgs[i]);
    return TI_OK;
}

/* Each input's node (the bundle's host name): before the first packet, as
 * connections are reported when they leave the table. */
static int an_bundle_nodes(struct analysis *a, const struct bundle *b, struct capture *cap)
{
    size_t n;

    if (b == NULL)                  /* a live capture */
        return TI_OK;
    (void)capture_inputs(cap, &n);
    a->input_node = calloc(n ? n : 1, sizeof *a->input_node);
    if (a->input_node == NULL)
        return TI_ENOMEM;
    a->ninput_node = n;
    for (size_t i = 0; i < n; i++) {
        const char *node = bundle_source_node(b, i);
        if (node != NULL && (a->input_node[i] = strdup(node)) == NULL)
            return TI_ENOMEM;
    }
    return TI_OK;
}

static int an_unmatched(void *ctx, const char *msg)
{
    return analysis_add_global(ctx, FINDING_LOG_CAPTURE_MISMATCH, msg);
}

static int an_correlate(struct analysis *a, const struct analyze_opts *o)
{
    struct tslog_conn *tc = calloc(a->nconns ? a->nconns : 1, sizeof *tc);
    uint64_t outside = 0;
    int rc;

    if (tc == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < a->nconns; i++) {
        tc[i].c = a->conns[i];
        tc[i].node = a->input_node != NULL && a->conns[i]->input < a->ninput_node
                     ? a->input_node[a->conns[i]->input] : NULL;
    }
    rc = tslog_correlate(a->logs, tc, a->nconns, o->log_window_us, FINDING_LOG_CAPTURE_MISMATCH,
                         an_unmatched, a, &outside);
    free(tc);
    if (outside > 0)
        analysis_warn(a, "%llu traffic_server log failure lines lie outside the capture's time "
                      "span and were not compared", (unsigned long long)outside);
    if (tslog_stats(a->logs)->dropped > 0)
        analysis_warn(a, "%llu traffic_server log failure lines over the limit of %u lines or "
                      "%u MiB were not kept", (unsigned long long)tslog_stats(a->logs)->dropped,
                      (unsigned)TSLOG_MAX_ENTRIES, (unsigned)(TSLOG_MAX_KEPT >> 20));
    if (tslog_stats(a->logs)->cut > 0)
        analysis_warn(a, "%llu log lines longer than %u bytes were read cut",
                      (unsigned long long)tslog_stats(a->logs)->cut, (unsigned)TSLOG_MAX_LINE);
    return rc;
}

/* What judging needs before the first packet: cipher names, the trust
 * pool, the key log, the JA3/JA4 digests. */
static int an_prepare(struct analysis *a, const struct analyze_opts *o, struct an_ctx *x,
                      char *errbuf, size_t errlen)
{
    int rc;

    if (o->suite_names != NULL) {
        a->names = o->suite_names;
    } else {
        rc = tls_names_new(&a->names_owned);
        if (rc != TI_OK) {
            snprintf(errbuf, errlen, "cannot initialise OpenSSL cipher names");
            return rc;
        }
        a->names = a->names_owned;
    }
    if (o->pool != NULL) {
        a->pool = o->pool;
    } else {
        rc = x509_pool_new(&a->pool_owned, &o->trust, errbuf, errlen);
        if (rc != TI_OK)
            return rc;
        a->pool = a->pool_owned;
    }
    rc = load_keylog(a, o, errbuf, errlen);
    if (rc == TI_OK)
        rc = runopts_record(a, o, errbuf, errlen);   /* "options": known before the first packet */
    if (rc != TI_OK)
        return rc;
    if (infer_chains_new(&x->chains, a->pool) != TI_OK) {
        snprintf(errbuf, errlen, "%s", ti_strerror(TI_ENOMEM));
        return TI_ENOMEM;
    }
    rc = tls_fp_memo_new(&x->memo);
    if (rc != TI_OK)
        snprintf(errbuf, errlen, "cannot initialise OpenSSL MD5/SHA-256 for JA3/JA4");
    return rc;
}

/* How the capture went: reading it (rc), the verification, the sinks. */
static int an_capture_status(const struct an_ctx *x, int rc, char *errbuf, size_t errlen)
{
    if (rc == TI_OK && x->oom)
        rc = TI_ENOMEM;
    if (rc != TI_OK)
        snprintf(errbuf, errlen, "reading the capture: %s", ti_strerror(rc));
    else if ((rc = x->verify_rc) != TI_OK)
        snprintf(errbuf, errlen, "verifying the chains: %s", ti_strerror(rc));
    else if ((rc = x->sink_rc) != TI_OK)
        snprintf(errbuf, errlen, "writing the report: %s", ti_strerror(rc));
    return rc;
}

/* The sinks' end.  With logs they see the connections only now, in report
 * order, with what the correlation added. */
static int an_sinks_finish(struct an_ctx *x)
{
    struct analysis *a = x->a;
    const struct analyze_opts *o = x->o;
    int rc = TI_OK;

    a->order_floor_ts = INT64_MAX;
    for (size_t i = 0; i < a->nconns && x->defer_sinks && rc == TI_OK; i++)
        for (size_t k = 0; k < o->nsinks && rc == TI_OK; k++)
            rc = o->sinks[k].conn(o->sinks[k].ctx, a, a->conns[i]);
    for (size_t i = 0; i < o->nsinks && rc == TI_OK; i++)
        if (o->sinks[i].finish != NULL)
            rc = o->sinks[i].finish(o->sinks[i].ctx, a);
    return rc;
}

int analyze_run(const struct analyze_opts *o, struct analysis **out, char *errbuf, size_t errlen)
{
    struct analysis *a = calloc(1, sizeof(*a));
    struct an_ctx x;
    struct flow_ops ops = {
        .ctx = &x, .open = an_open, .data = an_data, .gap = an_gap,
        .done = an_done, .close = an_close, .release = an_release,
    };
    struct capture *cap = NULL;
    struct bundle *bdl = NULL;
    struct flow_table *ft = NULL;
    uint64_t verify_base = 0;
    int rc;

    *out = NULL;
    if (a == NULL)
        return TI_ENOMEM;
    a->conn_arena = conn_arena_new();
    if (a->conn_arena == NULL) {
        free(a);
        return TI_ENOMEM;
    }
    memset(&x, 0, sizeof(x));
    x.a = a;
    x.o = o;
    x.tls_lim = o->tls_limits;
    ops.ctx = &x;
    /* the scope first: a sink may write the report's head before the end */
    if ((rc = copy_scope(a, o)) != TI_OK || (rc = an_pools_new(a, errbuf, errlen)) != TI_OK ||
        (rc = an_prepare(a, o, &x, errbuf, errlen)) != TI_OK)
        goto fail;
    verify_base = x509_verify_count(a->pool);
    rc = open_capture(a, o, &bdl, &cap, errbuf, errlen);
    if (rc == TI_OK && (rc = an_bundle_nodes(a, bdl, cap)) != TI_OK)
        snprintf(errbuf, errlen, "reading the inputs: %s", ti_strerror(rc));
    if (rc != TI_OK)
        goto fail;
    x.defer_sinks = a->logs != NULL;    /* known now: logs are read first */
    x.keep = !o->drop_conns || x.defer_sinks;
    if (o->extract != NULL) {
        rc = an_extract_open(&x, cap, errbuf, errlen);
        if (rc != TI_OK)
            goto fail;
        ops.packet = an_packet;
    }
    rc = flow_table_new(&ft, &o->flow_limits, o->ports, o->nports, o->all_ports, &ops);
    if (rc != TI_OK) {
        snprintf(errbuf, errlen, "cannot create the connection table: %s", ti_strerror(rc));
        goto fail;
    }
    if (o->nsinks > 0)              /* the order floor (an_order_floor()) */
        flow_table_track_oldest(ft);
    x.ft = ft;
    rc = read_capture(&x, cap, ft);
    x.at_end = true;
    flow_table_finish(ft, a->last_ts);
    x.ft = NULL;
    a->flow_stats = *flow_table_stats(ft);
    flow_table_free(ft);
    ft = NULL;
    tls_fp_memo_free(x.memo);       /* every session is gone */
    x.memo = NULL;
    infer_chains_free(x.chains);    /* every connection is judged */
    x.chains = NULL;
    if ((rc = an_capture_status(&x, rc, errbuf, errlen)) != TI_OK)
        goto fail;
    if (x.ex != NULL && (rc = an_extract_finish(&x, errbuf, errlen)) != TI_OK)
        goto fail;
    rc = copy_inputs(a, cap);
    if (rc == TI_OK)
        rc = an_bundle_facts(a, bdl);
    if (rc != TI_OK)
        goto fail;
    capture_close(cap);             /* before the bundle its streams read from */
    cap = NULL;
    bundle_free(bdl);
    bdl = NULL;

    if (a->nother > 1)
        qsort(a->other, a->nother, sizeof(a->other[0]), other_cmp);
    if (a->nconns > 1)
        qsort(a->conns, a->nconns, sizeof(a->conns[0]), conn_cmp);
    for (size_t i = 0; i < a->nconns; i++)
        a->conns[i]->id = i + 1;
    a->verifications = x509_verify_count(a->pool) - verify_base;
    warn_unused_names(&x);
    rc = global_findings(a);
    /* Verified already, with the logs' connect addresses; what the logs
     * say failed is compared with the connections now that they have ids. */
    if (rc == TI_OK && a->logs != NULL) {
        rc = an_correlate(a, o);
        memset(a->finding_conns, 0, sizeof(a->finding_conns));   /* it added findings */
        for (size_t i = 0; i < a->nconns; i++)
            an_tally_findings(a, a->conns[i]);
    }
    if (rc == TI_OK)
        rc = an_sinks_finish(&x);
    if (rc != TI_OK)
        goto fail;
    *out = a;
    return TI_OK;
fail:
    flow_table_free(ft);            /* releases flows into the extract: free it after */
    extract_free(x.ex);
    tls_fp_memo_free(x.memo);
    infer_chains_free(x.chains);
    capture_close(cap);
    bundle_free(bdl);
    analysis_free(a);
    return rc;
}

void analysis_free(struct analysis *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->nconns; i++)
        conn_arena_put(a->conn_arena, a->conns[i]);
    conn_arena_free(a->conn_arena);
    findings_memo_free(a->fmemo);       /* after the conns that borrow from them */
    conn_strpool_free(a->strpool);
    free(a->conns);
    for (size_t i = 0; i < a->ninputs; i++) {
        free(a->inputs[i].file);
        free(a->inputs[i].error);
    }
    free(a->inputs);
    free(a->inputs_extract);
    for (size_t i = 0; i < a->nglobal; i++)
        free(a->global[i].message);
    free(a->global);
    for (size_t i = 0; i < a->nwarnings; i++)
        free(a->warnings[i]);
    free(a->scope.cafile);
    free(a->scope.capath);
    free(a->scope.client_cafile);
    free(a->scope.keylog);
    runopts_free(&a->scope);
    x509_pool_free(a->pool_owned);
    tls_names_free(a->names_owned);
    tls_keylog_free(a->keylog);
    tslog_free(a->logs);
    if (a->input_node != NULL)
        for (size_t i = 0; i < a->ninput_node; i++)
            free(a->input_node[i]);
    free(a->input_node);
    for (size_t i = 0; i < a->ndamaged; i++)
        free(a->damaged[i]);
    free(a->damaged);
    free(a);
}
