/* report_html_ladder.c - the HTML page's connection blocks: SVG ladders with frame numbers, hello, chain and verification tables. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/capture.h"
#include "tlsinspect/decode.h"
#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/fold.h"
#include "tlsinspect/infer_chain.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls_names.h"

#include "report_html_int.h"

/* Code points of a ladder label before "...": what fits between the lifelines */
#define HTML_LABEL_MAX  64              /* the message line (12 px, semibold) */
#define HTML_DETAIL_MAX 74              /* the detail line under the arrow (11 px) */
#define HTML_SUITES_SHOWN 3             /* first suites on the ClientHello arrow */

/* ---- 5. ladders ------------------------------------------------------------------------------ */

#define L_W      680
#define L_CX     150      /* client lifeline */
#define L_SX     600      /* server lifeline */
#define L_TOP    56
#define L_ROW    40

/* A label of one arrow: built in a buffer (untrusted text escaped when written). */
struct lbl {
    char main[160];
    char detail[512];
    int style;            /* 0 normal, 1 alert (red), 2 TCP (dashed) */
};

static void hello_label(struct hctx *h, const struct conn_client_hello *ch, struct lbl *l,
                        const char *name)
{
    char vb[16], sb[48];
    bool v13 = false;
    size_t off;

    for (size_t i = 0; i < ch->n_versions && i < CONN_MAX_VERSIONS; i++)
        if (ch->versions != NULL && ch->versions[i] == 0x0304)
            v13 = true;
    snprintf(l->main, sizeof(l->main), "%s  %s%s%s", name,
             v13 ? "TLS 1.3, 1.2" : html_short_version(ch->legacy_version, vb, sizeof(vb)),
             ch->sni ? "  SNI " : "  no SNI", ch->sni ? ch->sni : "");
    off = 0;
    if (conn_auth_name(ch->preferred_auth) != NULL)
        off += (size_t)snprintf(l->detail, sizeof(l->detail), "prefers %s; ",
                                conn_auth_name(ch->preferred_auth));
    for (size_t i = 0; i < ch->n_alpn && i < CONN_MAX_ALPN && ch->alpn != NULL && off < sizeof(l->detail); i++)
        off += (size_t)snprintf(l->detail + off, sizeof(l->detail) - off, "%s%s%s", i ? "," : "ALPN ",
                                ch->alpn[i] ? ch->alpn[i] : "?", i + 1 == ch->n_alpn ? "; " : "");
    if (off < sizeof(l->detail))
        off += (size_t)snprintf(l->detail + off, sizeof(l->detail) - off, "%" PRIu32 " suites:", ch->n_suites);
    size_t shown = 0;
    for (uint32_t i = 0; i < ch->n_suites && ch->suites != NULL && shown < HTML_SUITES_SHOWN &&
                         off < sizeof(l->detail); i++) {
        if (tls_is_grease(ch->suites[i]))
            continue;
        off += (size_t)snprintf(l->detail + off, sizeof(l->detail) - off, "%s %s", shown ? "," : "",
                                html_suite_str(h, ch->suites[i], sb, sizeof(sb)));
        shown++;
    }
    if (shown < ch->n_suites && off < sizeof(l->detail))
        snprintf(l->detail + off, sizeof(l->detail) - off, ", ...");
}

static void cert_label(const struct conn *c, bool server, struct lbl *l)
{
    const struct x509_cert *const *certs = server ? c->server_certs : c->client_certs;
    size_t n = server ? c->n_server_certs : c->n_client_certs;
    char b[256];

    snprintf(l->main, sizeof(l->main), "Certificate%s", server ? "" : " (client)");
    if (n == 0 || certs[0] == NULL) {
        snprintf(l->detail, sizeof(l->detail), "%s", n == 0 ? "empty: no certificate" : "?");
        return;
    }
    if (!certs[0]->parsed) {
        snprintf(l->detail, sizeof(l->detail), "unparseable, %zu bytes", certs[0]->der_len);
        return;
    }
    snprintf(l->detail, sizeof(l->detail), "CN=%s  %s  %s%s  (%zu in chain)",
             certs[0]->cn ? certs[0]->cn : (certs[0]->subject ? certs[0]->subject : "?"), certs[0]->key,
             certs[0]->self_signed ? "self-signed" : "issuer ",
             certs[0]->self_signed ? "" : report_dn_cn(certs[0]->issuer, b, sizeof(b)), n);
}

/* The label for event i; false to skip it. */
static bool event_label(struct hctx *h, const struct conn *c, size_t i, size_t *alert_i,
                        size_t *sh_i, size_t *ch_i, struct lbl *l)
{
    const struct conn_event *e = &c->events[i];
    char sb[48], vb[16];

    memset(l, 0, sizeof(*l));
    switch (e->kind) {
    case EV_HANDSHAKE:
        switch (e->type) {
        case TLS_HS_CLIENT_HELLO:
            if (*ch_i < c->n_ch && *ch_i < CONN_MAX_HELLOS)
                hello_label(h, &c->ch[*ch_i], l, *ch_i ? "ClientHello (2nd)" : "ClientHello");
            else
                snprintf(l->main, sizeof(l->main), "ClientHello");
            (*ch_i)++;
            return true;
        case TLS_HS_SERVER_HELLO: {
            const struct conn_server_hello *sh = (*sh_i == 0 && c->sh_hrr.hrr) ? &c->sh_hrr : &c->sh;
            bool hrr = sh == &c->sh_hrr;
            (*sh_i)++;
            snprintf(l->main, sizeof(l->main), "%s", hrr ? "HelloRetryRequest" : "ServerHello");
            if (sh->present || hrr)
                snprintf(l->detail, sizeof(l->detail), "%s  %s%s%s", html_short_version(sh->version, vb, sizeof(vb)),
                         html_suite_str(h, sh->suite, sb, sizeof(sb)),
                         conn_auth_name(sh->auth) ? "  auth " : "",
                         conn_auth_name(sh->auth) ? conn_auth_name(sh->auth) : "");
            return true;
        }
        case TLS_HS_CERTIFICATE:
            cert_label(c, e->from == DIR_SERVER, l);
            return true;
        case TLS_HS_CERTIFICATE_REQUEST:
            snprintf(l->main, sizeof(l->main), "CertificateRequest");
            snprintf(l->detail, sizeof(l->detail), "the server asks for the client's certificate");
            return true;
        default: {
            const char *n = tls_hs_name(e->type);
            if (n != NULL)
                snprintf(l->main, sizeof(l->main), "%s", n);
            else
                snprintf(l->main, sizeof(l->main), "handshake type %u", (unsigned)e->type);
            return true;
        }
        }
    case EV_CCS:
        snprintf(l->main, sizeof(l->main), "ChangeCipherSpec");
        return true;
    case EV_ENCRYPTED_HS:
        snprintf(l->main, sizeof(l->main), "%s", e->type == TLS_HS_FINISHED ? "Finished" : "encrypted handshake");
        snprintf(l->detail, sizeof(l->detail), "encrypted");
        return true;
    case EV_APPDATA:
        snprintf(l->main, sizeof(l->main), "application data");
        return true;
    case EV_ALERT: {
        const struct conn_alert *al = *alert_i < c->n_alerts && *alert_i < CONN_MAX_ALERTS
                                          ? &c->alerts[*alert_i] : NULL;
        (*alert_i)++;
        l->style = 1;
        /* Said in words, not by colour alone: an encrypted or inferred alert
         * is not evidence of which alert was sent. */
        if (al != NULL && al->encrypted) {
            snprintf(l->main, sizeof(l->main), "Alert (encrypted%s)", al->inferred ? ", inferred" : "");
            snprintf(l->detail, sizeof(l->detail), "%s", al->inferred
                     ? "inferred from the record's size and position; level and description not visible"
                     : "level and description not visible");
        } else {
            const char *lv = tls_alert_level_name(e->level), *ds = tls_alert_name(e->type);
            snprintf(l->main, sizeof(l->main), "Alert %s %s (%u)", lv ? lv : "?", ds ? ds : "unknown",
                     (unsigned)e->type);
            if (al != NULL && al->decrypted)
                snprintf(l->detail, sizeof(l->detail), "decrypted with the key log");
            if (e->level != 2)
                l->style = 0;
        }
        return true;
    }
    case EV_FIN:
        snprintf(l->main, sizeof(l->main), "TCP FIN");
        l->style = 2;
        return true;
    case EV_RST:
        snprintf(l->main, sizeof(l->main), "TCP RST");
        l->style = 1;
        return true;
    case EV_GAP:
        snprintf(l->main, sizeof(l->main), "gap: bytes missing in the capture");
        l->style = 2;
        return true;
    default:
        return false;
    }
}

static void svg_text(struct hctx *h, int x, int y, const char *cls, const char *anchor,
                     const char *s, size_t untrusted_max)
{
    hp(h, "<text x=\"%d\" y=\"%d\"", x, y);
    if (cls != NULL)
        hp(h, " class=\"%s\"", cls);
    if (anchor != NULL)
        hp(h, " text-anchor=\"%s\"", anchor);
    hraw(h, ">");
    if (untrusted_max > 0)
        hesc_max(h, s, untrusted_max);
    else
        hraw(h, s);
    hraw(h, "</text>");
}

/* ---- frame numbers of the ladder events -------------------------------------------------
 *
 * The connection facts keep each event's timestamp, not its frame, so the
 * frames are found by reading the capture again (without the BPF filter:
 * Wireshark numbers every packet): an event's frame is the packet of its
 * connection and direction with the same timestamp that carried payload
 * (FIN / RST: that flag).  Packets sharing a timestamp give a range.
 * Several files are numbered in the merged order. */

struct frames {
    const struct conn **conns;    /* the ladders' connections */
    size_t n;
    uint64_t *lo, *hi;            /* [k * CONN_MAX_EVENTS + i], 0 = not found */
    int32_t *by_port;             /* client port -> first k, -1 none */
    int32_t *next;                /* next k with the same client port */
    bool merged;                  /* numbered over several files */
};

static bool frames_same_ip(const struct conn_endpoint *e, const uint8_t *ip, uint8_t ipver)
{
    return e->ipver == ipver && memcmp(e->ip, ip, ipver == 6 ? 16 : 4) == 0;
}

static void frames_packet(struct frames *fr, uint64_t frame, int64_t ts, const struct pkt_info *pi)
{
    for (int side = 0; side < 2; side++) {
        uint16_t port = side ? pi->dport : pi->sport;
        for (int32_t k = fr->by_port[port]; k >= 0; k = fr->next[k]) {
            const struct conn *c = fr->conns[k];
            int dir;
            if (frames_same_ip(&c->client, pi->src, pi->ipver) && pi->sport == c->client.port &&
                frames_same_ip(&c->server, pi->dst, pi->ipver) && pi->dport == c->server.port)
                dir = DIR_CLIENT;
            else if (frames_same_ip(&c->server, pi->src, pi->ipver) && pi->sport == c->server.port &&
                     frames_same_ip(&c->client, pi->dst, pi->ipver) && pi->dport == c->client.port)
                dir = DIR_SERVER;
            else
                continue;
            if (ts < c->first_ts || (c->last_ts != 0 && ts > c->last_ts))
                continue;
            for (size_t i = 0; i < c->n_events && i < CONN_MAX_EVENTS; i++) {
                const struct conn_event *e = &c->events[i];
                bool kind = e->kind == EV_FIN ? (pi->flags & TCPF_FIN) != 0
                          : e->kind == EV_RST ? (pi->flags & TCPF_RST) != 0
                          : e->kind == EV_GAP ? false : pi->has_payload;
                if (e->from != dir || e->ts != ts || !kind)
                    continue;
                size_t at = (size_t)k * CONN_MAX_EVENTS + i;
                if (fr->lo[at] == 0)
                    fr->lo[at] = frame;
                fr->hi[at] = frame;
            }
        }
    }
}

static void frames_free(struct frames *fr)
{
    free(fr->conns);
    free(fr->lo);
    free(fr->hi);
    free(fr->by_port);
    free(fr->next);
    memset(fr, 0, sizeof(*fr));
}

/* Fill fr for the connections in conns[0..n); false (fr empty) when the
 * capture cannot be read again (standard input, a file gone) or no memory. */
static bool frames_find(struct hctx *h, struct frames *fr, const struct conn **conns, size_t n)
{
    const struct analyze_opts *ao = h->ao;
    struct capture *cap = NULL;
    struct cap_packet pkt;
    struct pkt_info pi;
    char err[256];
    uint64_t frame = 0;

    memset(fr, 0, sizeof(*fr));
    if (ao == NULL || ao->iface != NULL || ao->files == NULL || ao->nfiles == 0 || n == 0)
        return false;
    for (size_t i = 0; i < ao->nfiles; i++)
        if (ao->files[i] == NULL || strcmp(ao->files[i], "-") == 0)
            return false;
    fr->conns = malloc(n * sizeof(*fr->conns));
    fr->lo = calloc(n * CONN_MAX_EVENTS, sizeof(uint64_t));
    fr->hi = calloc(n * CONN_MAX_EVENTS, sizeof(uint64_t));
    fr->by_port = malloc(65536 * sizeof(int32_t));
    fr->next = malloc(n * sizeof(int32_t));
    if (!fr->conns || !fr->lo || !fr->hi || !fr->by_port || !fr->next) {
        frames_free(fr);
        h->oom = true;
        return false;
    }
    fr->n = n;
    fr->merged = ao->nfiles > 1;
    for (size_t p = 0; p < 65536; p++)
        fr->by_port[p] = -1;
    for (size_t k = n; k-- > 0;) {
        fr->conns[k] = conns[k];
        fr->next[k] = fr->by_port[conns[k]->client.port];
        fr->by_port[conns[k]->client.port] = (int32_t)k;
    }
    if (capture_open(&cap, ao->files, ao->nfiles, NULL, err, sizeof(err)) != TI_OK) {
        frames_free(fr);
        return false;
    }
    capture_skip_hash(cap);         /* hashed by the analysis already */
    while (capture_next(cap, &pkt) == 1) {
        frame++;
        if (decode_packet(pkt.linktype, pkt.data, pkt.caplen, pkt.len, &pi) == DECODE_TCP)
            frames_packet(fr, frame, pkt.ts, &pi);
    }
    capture_close(cap);
    return true;
}

/* The frame(s) of conns[k]'s event i as text, "" when not found. */
static const char *frame_str(const struct frames *fr, size_t k, size_t i, char *buf, size_t len)
{
    buf[0] = '\0';
    if (fr == NULL || fr->lo == NULL || k >= fr->n)
        return buf;
    size_t at = k * CONN_MAX_EVENTS + i;
    if (fr->lo[at] == 0)
        return buf;
    if (fr->hi[at] != fr->lo[at])
        snprintf(buf, len, "frames %" PRIu64 "-%" PRIu64, fr->lo[at], fr->hi[at]);
    else
        snprintf(buf, len, "frame %" PRIu64, fr->lo[at]);
    return buf;
}

static void ladder(struct hctx *h, const struct conn *c, const struct frames *fr, size_t k)
{
    size_t alert_i = 0, sh_i = 0, ch_i = 0, rows = 0;
    struct lbl l;
    char cb[80], sb[80], tb[32], fb[48];

    for (size_t i = 0; i < c->n_events && i < CONN_MAX_EVENTS; i++) {
        size_t a1 = alert_i, s1 = sh_i, c1 = ch_i;
        if (event_label(h, c, i, &a1, &s1, &c1, &l))
            rows++;
        alert_i = a1, sh_i = s1, ch_i = c1;
    }
    alert_i = sh_i = ch_i = 0;
    int height = L_TOP + (int)(rows + (c->events_truncated ? 1 : 0)) * L_ROW + 18;
    hp(h, "<svg class=\"ladder\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
          "aria-label=\"handshake ladder\">", L_W, height, L_W, height);
    svg_text(h, L_CX, 18, "who", "middle", "client", 0);
    svg_text(h, L_CX, 34, "t", "middle", html_endpoint_str(&c->client, cb, sizeof(cb)), 0);
    svg_text(h, L_SX, 18, "who", "middle", "server", 0);
    svg_text(h, L_SX, 34, "t", "middle", html_endpoint_str(&c->server, sb, sizeof(sb)), 0);
    svg_text(h, 6, 18, "t", NULL, "time", 0);
    hp(h, "<line class=\"life\" x1=\"%d\" y1=\"42\" x2=\"%d\" y2=\"%d\"/>", L_CX, L_CX, height - 8);
    hp(h, "<line class=\"life\" x1=\"%d\" y1=\"42\" x2=\"%d\" y2=\"%d\"/>", L_SX, L_SX, height - 8);
    size_t row = 0;
    for (size_t i = 0; i < c->n_events && i < CONN_MAX_EVENTS; i++) {
        const struct conn_event *e = &c->events[i];
        if (!event_label(h, c, i, &alert_i, &sh_i, &ch_i, &l))
            continue;
        int y = L_TOP + (int)row * L_ROW + 18;
        bool c2s = e->from == DIR_CLIENT;
        int x1 = c2s ? L_CX : L_SX, x2 = c2s ? L_SX : L_CX;
        int tcp = l.style == 2 || e->kind == EV_RST || e->kind == EV_FIN;
        /* TCP events: a short stub from the sender's lifeline */
        if (tcp)
            x2 = c2s ? L_CX + 110 : L_SX - 110;
        const char *lc = l.style == 1 ? "ax" : tcp ? "ad" : "a";
        const char *hc = l.style == 1 ? "hx" : tcp ? "hd" : "h";
        int dir = x2 > x1 ? 1 : -1;
        hp(h, "<line class=\"grid\" x1=\"80\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", y, L_CX, y);
        svg_text(h, 4, y + 4, "t", NULL, html_rel(e->ts - c->first_ts, tb, sizeof(tb)), 0);
        if (frame_str(fr, k, i, fb, sizeof(fb))[0])
            svg_text(h, 4, y + 17, "t", NULL, fb, 0);
        hp(h, "<line class=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", lc, x1, y, x2 - dir * 8, y);
        hp(h, "<polygon class=\"%s\" points=\"%d,%d %d,%d %d,%d\"/>", hc, x2, y, x2 - dir * 10, y - 5,
           x2 - dir * 10, y + 5);
        int tx = tcp ? (x1 + x2) / 2 : (L_CX + L_SX) / 2;
        svg_text(h, tx, y - 6, l.style == 1 ? "m x" : "m", "middle", l.main, HTML_LABEL_MAX);
        if (l.detail[0])
            svg_text(h, tx, y + 14, "d", "middle", l.detail, HTML_DETAIL_MAX);
        row++;
    }
    if (c->events_truncated) {
        int y = L_TOP + (int)row * L_ROW + 18;
        svg_text(h, (L_CX + L_SX) / 2, y, "d", "middle", "(more events than kept)", 0);
    }
    hraw(h, "</svg>\n");
}

static void conn_findings(struct hctx *h, const struct conn *c)
{
    if (c->n_findings == 0)
        hraw(h, "<p class=\"ok\">No findings.</p>\n");
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++) {
        const struct conn_finding *f = &c->findings[i];
        hp(h, "<div class=\"finding\"><span class=\"badge %s\">%s</span> <a href=\"#f-%s\"><b>%s</b></a>"
              "\n<div>", html_sev_class(f->severity), html_sev_label(f->severity), finding_name(f->id),
           finding_name(f->id));
        hesc(h, f->message);
        hraw(h, "</div>");
        /* the remedy is under the finding's id in Findings: one copy per page */
        if (f->remedy != NULL && f->remedy[0])
            hp(h, "<p class=\"fix\"><a href=\"#f-%s\">how to fix &uarr;</a></p>", finding_name(f->id));
        hraw(h, "</div>\n");
    }
}

static void chain_table(struct hctx *h, const char *what, const struct x509_cert *const *certs,
                        size_t n, bool truncated)
{
    if (n == 0)
        return;
    hp(h, "<h3>%s</h3>\n<table>\n<tr><th>#</th><th>subject CN</th><th>key</th><th>issuer</th></tr>\n", what);
    for (size_t i = 0; i < n && i < CONN_MAX_CERTS; i++) {
        const struct x509_cert *x = certs[i];
        char b[256];
        if (x == NULL)
            continue;
        hp(h, "<tr><td>%zu%s</td><td><a href=\"#c-%.16s\">", i, i == 0 ? " (leaf)" : "", x->sha256_hex);
        if (!x->parsed)
            hraw(h, "unparseable");
        else
            hesc(h, x->cn ? x->cn : x->subject);
        hraw(h, "</a></td><td>");
        hesc(h, x->key);
        hraw(h, "</td><td>");
        if (x->self_signed)
            hraw(h, "<span class=\"warn\">self-signed</span>");
        else
            hesc(h, report_dn_cn(x->issuer, b, sizeof(b)));
        hraw(h, "</td></tr>\n");
    }
    if (truncated)
        hraw(h, "<tr><td colspan=\"4\">more certificates than kept</td></tr>\n");
    hraw(h, "</table>\n");
}

/* The first ClientHello's facts that do not fit on its arrow. */
/* TLS 1.3 without keys: the server's key type, guessed from the size of its
 * encrypted CertificateVerify, labelled as a guess. */
static void server_key_guess(struct hctx *h, const struct conn *c)
{
    char basis[1024];

    if (c->inferred_server_key != KEY_GUESS_NONE)
        hp(h, "<p><b>Server key:</b> %s (inferred: %s)</p>\n",
           c->inferred_server_key == KEY_GUESS_RSA ? "RSA" : "EC",
           infer_key_basis(c, "the key of the chain below", basis, sizeof(basis)));
    if (c->inferred_leaf != NULL) {   /* infer_chain.h: a known chain fits the flight */
        hp(h, "<p><b>Chain:</b> inferred ");
        hesc(h, infer_chain_basis(c, basis, sizeof(basis)));
        hp(h, "</p>\n");
    }
}

static void hello_table(struct hctx *h, const struct conn *c)
{
    const struct conn_client_hello *ch = &c->ch[0];
    char vb[16], sb[48];

    if (c->n_ch == 0)
        return;
    hraw(h, "<table class=\"kv\">\n<tr><th>ClientHello</th><td>SNI ");
    if (ch->sni != NULL)
        hraw(h, "<code>"), hesc(h, ch->sni), hraw(h, "</code>");
    else
        hraw(h, "<span class=\"mute\">none</span>");
    hraw(h, "; ALPN ");
    for (size_t i = 0; i < ch->n_alpn && i < CONN_MAX_ALPN && ch->alpn != NULL; i++)
        hraw(h, i ? ", <code>" : "<code>"), hesc(h, ch->alpn[i]), hraw(h, "</code>");
    if (ch->n_alpn == 0)
        hraw(h, "<span class=\"mute\">none</span>");
    hraw(h, "; versions");
    for (size_t i = 0; i < ch->n_versions && i < CONN_MAX_VERSIONS && ch->versions != NULL; i++)
        if (!tls_is_grease(ch->versions[i]))
            hp(h, " %s", html_short_version(ch->versions[i], vb, sizeof(vb)));
    if (ch->n_versions == 0)
        hp(h, " %s", html_short_version(ch->legacy_version, vb, sizeof(vb)));
    if (conn_auth_name(ch->preferred_auth) != NULL)
        hp(h, "; prefers <b>%s</b>", conn_auth_name(ch->preferred_auth));
    hp(h, "</td></tr>\n<tr><th>offered suites</th><td>%" PRIu32 ":", ch->n_suites);
    size_t shown = 0;
    for (uint32_t i = 0; i < ch->n_suites && ch->suites != NULL && shown < 6; i++) {
        if (tls_is_grease(ch->suites[i]))
            continue;
        hp(h, "%s <code>%s</code>", shown ? "," : "", html_suite_str(h, ch->suites[i], sb, sizeof(sb)));
        shown++;
    }
    if (shown < ch->n_suites)
        hraw(h, ", ...");
    hraw(h, "</td></tr>\n");
    if (ch->ja3[0] || ch->ja4[0]) {
        hraw(h, "<tr><th>fingerprints</th><td>JA3 <code>");
        hesc(h, ch->ja3);
        hraw(h, "</code> JA4 <code>");
        hesc(h, ch->ja4);
        hraw(h, "</code></td></tr>\n");
    }
    hraw(h, "</table>\n");
}

static void verification(struct hctx *h, const struct conn *c)
{
    const struct conn_verification *v = &c->verify;
    const struct x509_verdict *vd = &v->verdict;
    char b[64];

    if (!v->done)
        return;
    hraw(h, "<table class=\"kv\">\n<tr><th>server chain</th><td>");
    html_chain_verdict(h, c);
    if (vd->result != X509_CHAIN_OK && vd->result != X509_CHAIN_NOT_CHECKED &&
        vd->result != X509_CHAIN_NO_CERTIFICATE)
        hp(h, " at depth %d", vd->depth);
    if (vd->result != X509_CHAIN_OK && vd->openssl_error != NULL && vd->openssl_error[0]) {
        hraw(h, " <span class=\"mute\">(OpenSSL: ");
        hesc(h, vd->openssl_error);
        hraw(h, ")</span>");
    }
    hp(h, "; judged at %s</td></tr>\n", html_when(v->time, true, b, sizeof(b)));
    if (v->expected_name != NULL && v->expected_name[0]) {
        hraw(h, "<tr><th>expected name</th><td><code>");
        hesc(h, v->expected_name);
        hp(h, "</code> (from %s): ", x509_name_source_name(v->name_source));
        if (!vd->name_checked)
            hraw(h, "not checked");
        else if (vd->name_ok)
            hraw(h, "<span class=\"ok\">matches</span> "), hesc(h, vd->matched ? vd->matched : "");
        else
            hraw(h, "<span class=\"bad\">not in the certificate</span>");
        hraw(h, "</td></tr>\n");
    }
    if (v->now_differs)
        hp(h, "<tr><th>today</th><td>chain %s</td></tr>\n", x509_chain_result_name(v->verdict_now.result));
    if (v->client_done) {
        const struct x509_verdict *cv = &v->client_verdict;
        hp(h, "<tr><th>client chain</th><td><span class=\"%s\">chain %s</span>",
           cv->result == X509_CHAIN_OK ? "ok" : "bad", x509_chain_result_name(cv->result));
        if (cv->result != X509_CHAIN_OK && cv->openssl_error != NULL) {
            hraw(h, " <span class=\"mute\">(OpenSSL: ");
            hesc(h, cv->openssl_error);
            hraw(h, ")</span>");
        }
        hraw(h, " against the server side's trust store</td></tr>\n");
    }
    hraw(h, "</table>\n");
}

static void wireshark_filter(struct hctx *h, const struct conn_fold *f, size_t g)
{
    const struct conn *c = h->a->conns[f->rep[g]];
    char ip[48];
    const char *af = c->server.ipver == 6 ? "ipv6" : "ip";

    conn_ip_str(&c->server, ip, sizeof(ip));
    hp(h, "<p class=\"filter\">Wireshark display filter: <code>%s.addr==%s &amp;&amp; tcp.port==%u</code>",
       af, ip, (unsigned)c->client.port);
    if (f->count[g] > 1) {
        size_t shown = 0;
        hp(h, "<br>all %zu: <code>%s.addr==%s &amp;&amp; tcp.port in {", f->count[g], af, ip);
        for (size_t i = f->rep[g]; i != SIZE_MAX && shown < REPORT_HTML_MAX_PORTS; i = f->next[i], shown++)
            hp(h, "%s%u", shown ? " " : "", (unsigned)h->a->conns[i]->client.port);
        hraw(h, "}</code>");
        if (shown < f->count[g])
            hp(h, " <span class=\"mute\">(first %zu ports)</span>", shown);
    }
    hraw(h, "</p>\n");
}

static void group_block(struct hctx *h, const struct conn_fold *f, size_t g, size_t num,
                        const struct frames *fr, size_t k)
{
    const struct conn *c = h->a->conns[f->rep[g]];
    char cb[80], sb[80], tb[64];
    bool open = c->outcome == OUTCOME_FAILED || html_worst_sev(c) >= SEV_WARNING;

    hp(h, "<details class=\"group\" id=\"g%zu\"%s><summary>", num, open ? " open" : "");
    html_outcome_badge(h, c->outcome);
    hp(h, " <code>%s</code> &rarr; <code>%s</code>", html_endpoint_str(&c->client, cb, sizeof(cb)),
       html_endpoint_str(&c->server, sb, sizeof(sb)));
    if (f->count[g] > 1)
        hp(h, " <span class=\"mute\">and %zu more identical connection%s</span>", f->count[g] - 1,
           f->count[g] == 2 ? "" : "s");
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
        if (c->findings[i].severity >= SEV_WARNING)
            hp(h, " <span class=\"badge %s\">%s</span>", html_sev_class(c->findings[i].severity),
               finding_name(c->findings[i].id));
    hp(h, "</summary>\n<div>\n<p class=\"mute\">first packet %s, connection #%" PRIu64 "",
       html_when(c->first_ts, false, tb, sizeof(tb)), c->id);
    if (f->count[g] > 1) {
        size_t shown = 0;
        hp(h, "; %zu connections, client ports", f->count[g]);
        for (size_t i = f->rep[g]; i != SIZE_MAX; i = f->next[i]) {
            if (shown == REPORT_HTML_MAX_PORTS) {
                hp(h, " ... +%zu", f->count[g] - shown);
                break;
            }
            hp(h, "%s %u", shown ? "," : "", (unsigned)h->a->conns[i]->client.port);
            shown++;
        }
    }
    hraw(h, "</p>\n<div class=\"grid\"><div>");
    ladder(h, c, fr, k);
    if (fr != NULL && fr->lo != NULL)
        hp(h, "<p class=\"mute\">Times are relative to the connection's first packet; frame "
              "numbers are Wireshark's%s.</p>", fr->merged
              ? " for the files merged in time order (as mergecap writes them)" : "");
    else
        hraw(h, "<p class=\"mute\">Times are relative to the connection's first packet; the "
                "capture could not be read again for frame numbers: the filter below finds "
                "the frames.</p>");
    hraw(h, "</div><div class=\"side\">\n");
    conn_findings(h, c);
    hraw(h, "</div></div>\n");
    hello_table(h, c);
    verification(h, c);
    server_key_guess(h, c);
    chain_table(h, "Server certificate chain (as sent)", c->server_certs, c->n_server_certs,
                c->server_certs_truncated);
    chain_table(h, "Client certificate chain", c->client_certs, c->n_client_certs,
                c->client_certs_truncated);
    for (int d = DIR_CLIENT; d <= DIR_SERVER; d++)
        if (c->malformed[d]) {
            hp(h, "<p class=\"warn\">Malformed TLS from the %s: ", d == DIR_CLIENT ? "client" : "server");
            hesc(h, c->malformed_why[d] ? c->malformed_why[d] : "parser gave up");
            hraw(h, "</p>\n");
        }
    if (c->tls13_note != NULL) {
        hraw(h, "<p class=\"mute\">Note: ");
        hesc(h, c->tls13_note);
        hraw(h, "</p>\n");
    }
    if (c->tcp.retrans[0] + c->tcp.retrans[1] + c->tcp.gaps[0] + c->tcp.gaps[1] > 0)
        hp(h, "<p class=\"mute\">TCP: %" PRIu64 "/%" PRIu64 " retransmissions, %" PRIu64 "/%" PRIu64
              " holes (client/server)</p>\n", c->tcp.retrans[0], c->tcp.retrans[1], c->tcp.gaps[0],
           c->tcp.gaps[1]);
    wireshark_filter(h, f, g);
    hraw(h, "</div>\n</details>\n");
}

static void group_row(struct hctx *h, const struct conn_fold *f, size_t g)
{
    const struct conn *c = h->a->conns[f->rep[g]];
    char cb[80], sb[80], ip[48];

    hraw(h, "<tr><td>");
    html_outcome_badge(h, c->outcome);
    hp(h, "</td><td><code>%s</code></td><td><code>%s</code></td><td class=\"num\">%zu</td><td>",
       html_endpoint_str(&c->client, cb, sizeof(cb)), html_endpoint_str(&c->server, sb, sizeof(sb)), f->count[g]);
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
        hp(h, "%s%s", i ? ", " : "", finding_name(c->findings[i].id));
    conn_ip_str(&c->server, ip, sizeof(ip));
    hp(h, "</td><td><code>%s.addr==%s &amp;&amp; tcp.port==%u</code></td></tr>\n",
       c->server.ipver == 6 ? "ipv6" : "ip", ip, (unsigned)c->client.port);
}

struct grp_sort {
    const struct analysis *a;
    const struct conn_fold *f;
};

/* Worst first: severity of the findings, failed before the rest, then report order. */
static int grp_cmp(const void *x, const void *y, void *arg)
{
    const struct grp_sort *s = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    const struct conn *ci = s->a->conns[s->f->rep[i]], *cj = s->a->conns[s->f->rep[j]];
    int wi = html_worst_sev(ci), wj = html_worst_sev(cj);
    if (wi != wj)
        return wi > wj ? -1 : 1;
    bool fi = ci->outcome == OUTCOME_FAILED, fj = cj->outcome == OUTCOME_FAILED;
    if (fi != fj)
        return fi ? -1 : 1;
    return i < j ? -1 : i > j;
}

void html_connections(struct hctx *h, struct conn_fold *f)
{
    size_t *order = malloc((f->ngroups + 1) * sizeof(size_t));
    struct grp_sort gs = {h->a, f};
    size_t rows;

    if (order == NULL) {
        h->oom = true;
        return;
    }
    for (size_t g = 0; g < f->ngroups; g++)
        order[g] = g;
    qsort_r(order, f->ngroups, sizeof(size_t), grp_cmp, &gs);
    hp(h, "<h2 id=\"connections\">Connections</h2>\n<p class=\"mute\">%zu group%s of identical "
          "connections (same client address, server, ClientHello, selected suite, leaf certificate, "
          "outcome and findings), worst first.</p>\n", f->ngroups, f->ngroups == 1 ? "" : "s");
    size_t nl = f->ngroups < REPORT_HTML_MAX_LADDERS ? f->ngroups : REPORT_HTML_MAX_LADDERS;
    const struct conn **lc = malloc((nl + 1) * sizeof(*lc));
    struct frames fr;
    bool have_frames = false;
    if (lc == NULL) {
        h->oom = true;
    } else {
        for (size_t k = 0; k < nl; k++)
            lc[k] = h->a->conns[f->rep[order[k]]];
        have_frames = frames_find(h, &fr, lc, nl);
    }
    for (size_t k = 0; k < nl; k++)
        group_block(h, f, order[k], k + 1, have_frames ? &fr : NULL, k);
    if (have_frames)
        frames_free(&fr);
    free(lc);
    if (f->ngroups > REPORT_HTML_MAX_LADDERS) {
        rows = f->ngroups - REPORT_HTML_MAX_LADDERS;
        if (rows > REPORT_HTML_MAX_ROWS)
            rows = REPORT_HTML_MAX_ROWS;
        hp(h, "<h3>Further groups</h3>\n<table>\n<tr><th>outcome</th><th>client</th><th>server</th>"
              "<th class=\"num\">conns</th><th>findings</th><th>Wireshark filter</th></tr>\n");
        for (size_t k = REPORT_HTML_MAX_LADDERS; k < REPORT_HTML_MAX_LADDERS + rows; k++)
            group_row(h, f, order[k]);
        hraw(h, "</table>\n");
        if (f->ngroups > REPORT_HTML_MAX_LADDERS + rows)
            hp(h, "<p class=\"warn\">%zu further groups are not listed: see the JSON report "
                  "(<code>-f json</code>).</p>\n", f->ngroups - REPORT_HTML_MAX_LADDERS - rows);
    }
    free(order);
}
