/* scen_sweep.c - field-sweep fixtures at the capture and TCP level: what a
 * tcpdump on a real Expressway-C brings besides the handshake itself.
 *
 *   any-dup.pcap     `tcpdump -i any` on a bonded interface (Linux cooked
 *       v2): every packet captured twice, on bond0 and on eth0, with equal or
 *       1 us apart timestamps; the client's alert and its RST cross (both on
 *       bond0 first), so do the server's close_notify and its FIN.  The field
 *       case (TLS 1.2, unknown_ca) and a TLS 1.3 success.
 *   tcp-quirks.pcap  (1) the field case at client MSS 200: a zero-window
 *       probe (1 byte) before the window opens, a lost segment whose
 *       retransmission covers 1.5 of the original segments; (2) a TLS 1.3
 *       success at client MSS 1000 with its server flight's second and third segments swapped
 *       and idle keepalives after the response (1 byte at seq-1, Windows
 *       style, and 0 bytes, Linux style); (3) a TLS 1.2 success captured
 *       from a client keepalive on, after the handshake.
 *   port-reuse.pcap  one 4-tuple, four connections: a TLS 1.2 success
 *       closed by FINs, 30 ms later a new SYN (TIME_WAIT reuse, ISN past
 *       the old one) whose handshake fails (certificate_expired, RST), a TLS
 *       1.3 success 1 s later, and a last one whose SYN and SYN-ACK were not
 *       captured, its sequence numbers below where the previous one ended.
 *   cut-starts.pcap  (1) the field case with its SYN sent again after 1 s;
 *       (2) the field case at MSS 200 whose client aborts after the
 *       Certificate while the rest of the server flight was lost and is
 *       retransmitted after the client's RST; (3) a TLS 1.3 success captured
 *       from the server flight's second segment on (after the hellos);
 *       (4) an expired leaf (TLS 1.2) captured from the middle of the
 *       Certificate message; (5) a TLS 1.2 server that resets in the middle
 *       of its first flight; (6) the field case whose client alert was not
 *       captured, its RST was.
 *   snaplen-96.pcap  the field case, a TLS 1.3 success and a TLS 1.2
 *       success captured with `tcpdump -s 96`.
 *   vlan-ip-options.pcap  802.1Q-tagged (VLAN 36): the field case with an
 *       IPv4 Router Alert option on every packet; a TLS 1.3 success over
 *       IPv6 with Hop-by-Hop and Destination Options headers; a TLS 1.2
 *       success over IPv6 with those and an atomic Fragment header.
 *   any-dup-sll.pcap  `tcpdump -i any` in Linux cooked v1 on a host whose
 *       address is on a VLAN sub-interface (eth0.36): every packet twice,
 *       on eth0 with its 802.1Q tag and on eth0.36 without; a TLS 1.2
 *       success (its server close_notify and FIN cross) and the field case
 *       (its alert and RST cross).
 *   idle-continue.pcap  a TLS 1.2 and a TLS 1.3 success whose second
 *       request comes 15 and 12 minutes after the first (beyond the idle
 *       timeout), then the close.
 * Seeded from the fixture name like the others (scenarios.c).
 */
#include "gen/gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SW_T0 1773161726ULL        /* 2026-03-10T16:55:26Z, as post-upgrade */
#define SW_CLIENT "10.48.36.46"
#define SW_CUCM "10.48.36.215"
#define SW_CLIENT6 "2001:db8:48::46"
#define SW_CUCM6 "2001:db8:48::215"
#define SW_ARGS "--cafile captures/pki/expressway-trust.pem"
#define SW_ECDSA_SUITE "ECDHE-ECDSA-AES256-GCM-SHA384"
#define SW_RSA_SUITE "ECDHE-RSA-AES256-GCM-SHA384"
#define SW_TLS13_SUITE "TLS_AES_256_GCM_SHA384"
#define SW_MAX_SEGS 64
#define SW_IF_ETH0 2               /* SLL2 interface indexes */
#define SW_IF_BOND0 5
#define SW_VLAN 36                 /* eth0.36: the VLAN sub-interface */

enum sw_exp { SW_COMPLETE, SW_CLIENT_FAIL };

/* One connection: its parameters, transcript and packets. */
struct sw_conn {
    struct gen_conn_params cp;
    struct gen_transcript tr;
    struct gen_pktlist l;
    uint64_t end;
    bool have_tr;
};

static void sw_prepare_at(struct sw_conn *c, struct gen_rng *rng, const char *cip,
                          const char *sip, uint16_t port, uint64_t start, enum sw_exp exp)
{
    memset(c, 0, sizeof *c);
    gen_conn_defaults(&c->cp, rng, cip, sip, port, start);
    c->cp.close = exp == SW_CLIENT_FAIL ? GEN_CLOSE_CLIENT_RST : GEN_CLOSE_ORDERLY;
}

static void sw_prepare(struct sw_conn *c, struct gen_rng *rng, uint16_t port, uint64_t start,
                       enum sw_exp exp)
{
    sw_prepare_at(c, rng, SW_CLIENT, SW_CUCM, port, start, exp);
}

/* Run the handshake, check it went as built for, emit its packets. */
static int sw_emit(const char *label, const struct gen_tls_cfg *tls, enum sw_exp exp,
                   const char *want, struct sw_conn *c)
{
    bool ok;

    if (gen_tls_run(tls, &c->tr) != 0) {
        fprintf(stderr, "gen: %s: TLS set-up failed\n", label);
        gen_transcript_free(&c->tr);
        return -1;
    }
    c->have_tr = true;
    ok = (exp == SW_COMPLETE ? c->tr.complete : c->tr.failed_side == GEN_C2S) &&
         strcmp(c->tr.cipher, want) == 0;
    fprintf(stderr, "  %-24s :%u -> :%u  %s %s  %s%s%s\n", label, c->cp.cport, c->cp.sport,
            c->tr.version, c->tr.cipher[0] ? c->tr.cipher : "-",
            c->tr.complete ? "complete" : "FAILED", c->tr.error[0] ? "  " : "", c->tr.error);
    if (!ok) {
        fprintf(stderr, "gen: %s: unexpected outcome (wanted %s with %s)\n", label,
                exp == SW_COMPLETE ? "complete" : "client abort", want);
        return -1;
    }
    c->end = gen_conn_emit(&c->cp, &c->tr, &c->l);
    return 0;
}

static void sw_free(struct sw_conn *c)
{
    if (c->have_tr)
        gen_transcript_free(&c->tr);
    gen_pktlist_free(&c->l);
    c->have_tr = false;
}

/* TLS 1.2 field case on 6972, TLS 1.2 RSA success and TLS 1.3 success on 8443. */
static void sw_field(struct gen_tls_cfg *t, const struct gen_ctx *ctx)
{
    gen_profile_field_case(t, &ctx->pki, SW_T0);
}

static void sw_rsa12(struct gen_tls_cfg *t, const struct gen_ctx *ctx)
{
    gen_profile_rsa_ok(t, &ctx->pki, SW_T0);
}

static void sw_tls13(struct gen_tls_cfg *t, const struct gen_ctx *ctx)
{
    gen_profile_rsa_ok(t, &ctx->pki, SW_T0);
    t->server_max = 0;              /* TLS 1.3 allowed */
}

static void sw_expired(struct gen_tls_cfg *t, const struct gen_ctx *ctx)
{
    gen_profile_rsa_ok(t, &ctx->pki, SW_T0);
    t->server_certs[0] = &ctx->pki.cucm_expired;
}

/* ---- packet surgery -------------------------------------------------------- */

static int sw_put_tagged(struct gen_pktlist *o, const struct gen_pkt *p, uint64_t ts, uint8_t ifx,
                         uint16_t vlan)
{
    struct gen_pkt q = *p;

    q.ts = ts;
    q.ifx = ifx;
    q.vlan = vlan;
    return gen_pktlist_push(o, &q, p->ip, p->len);
}

static int sw_put(struct gen_pktlist *o, const struct gen_pkt *p, uint64_t ts, uint8_t ifx)
{
    return sw_put_tagged(o, p, ts, ifx, 0);
}

static size_t sw_iphl(const struct gen_pkt *p)
{
    return (p->ip[0] >> 4) == 6 ? 40 : (size_t)(p->ip[0] & 0x0f) * 4;
}

static uint32_t sw_ack(const struct gen_pkt *p)
{
    const uint8_t *a = p->ip + sw_iphl(p) + 8;

    return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/* Indexes of the packets carrying bytes of transcript flight k. */
static size_t sw_segs(const struct gen_pktlist *l, int k, size_t *idx, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < l->n && n < max; i++)
        if (l->v[i].flight == k && l->v[i].paylen > 0)
            idx[n++] = i;
    return n;
}

/* Offset just past the handshake message of type `hs` in a flight of
 * plaintext records (TLS 1.2), or 0. */
static size_t sw_msg_end(const struct gen_flight *f, uint8_t hs)
{
    size_t off = 0;

    while (off + 5 <= f->len) {
        size_t rlen = (size_t)f->data[off + 3] << 8 | f->data[off + 4];
        size_t m = off + 5, rend = off + 5 + rlen;

        if (f->data[off] == 22)
            while (m + 4 <= rend) {
                size_t mlen = (size_t)f->data[m + 1] << 16 | (size_t)f->data[m + 2] << 8 |
                              f->data[m + 3];
                if (f->data[m] == hs)
                    return m + 4 + mlen;
                m += 4 + mlen;
            }
        off = rend;
    }
    return 0;
}

static uint16_t sw_csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Set an IPv4 packet's TCP window and recompute the TCP checksum. */
static void sw_set_window(struct gen_pkt *p, uint16_t win)
{
    size_t hl = sw_iphl(p);
    uint8_t *t = p->ip + hl;
    size_t tl = p->len - hl;
    uint32_t sum = 0;
    uint16_t c;

    t[14] = (uint8_t)(win >> 8);
    t[15] = (uint8_t)win;
    t[16] = t[17] = 0;
    for (int i = 12; i < 20; i += 2)
        sum += (uint32_t)(p->ip[i] << 8 | p->ip[i + 1]);
    sum += 6 + (uint32_t)tl;
    c = sw_csum(t, tl, sum);
    t[16] = (uint8_t)(c >> 8);
    t[17] = (uint8_t)c;
}

static int sw_write(struct gen_ctx *ctx, const struct gen_fixture *fx, enum gen_link link,
                    int snaplen, struct gen_pktlist *o)
{
    gen_pktlist_sort(o);
    if (gen_write_list(ctx, fx->name, GEN_FMT_PCAP, link, snaplen, o) != 0 ||
        gen_write_args(ctx, fx->name, SW_ARGS) != 0)
        return -1;
    return 0;
}

/* ---- any-dup.pcap ------------------------------------------------------------ */

/* Each packet twice: sent ones on bond0 (or a VLAN sub-interface) then
 * eth0 at the same time, received ones on eth0 then bond0 1 us later; on
 * eth0 with the 802.1Q tag `vlan` when it is not 0.  Packet `cross` (if
 * any) and the one after it are seen on bond0 both before either reaches
 * eth0. */
static int sw_dup_all(struct gen_pktlist *o, const struct gen_pktlist *l, size_t cross,
                      uint16_t vlan)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct gen_pkt *p = &l->v[i];
        bool sent = p->dir == GEN_C2S;
        uint64_t t2 = p->ts + (sent ? 0 : 1);

        if (i == cross && i + 1 < l->n) {
            const struct gen_pkt *q = &l->v[i + 1];

            if (sw_put(o, p, p->ts, SW_IF_BOND0) || sw_put(o, q, q->ts, SW_IF_BOND0) ||
                sw_put_tagged(o, p, q->ts + 1, SW_IF_ETH0, vlan) ||
                sw_put_tagged(o, q, q->ts + 2, SW_IF_ETH0, vlan))
                return -1;
            i++;
            continue;
        }
        if (sent ? sw_put(o, p, p->ts, SW_IF_BOND0) || sw_put_tagged(o, p, t2, SW_IF_ETH0, vlan)
                 : sw_put_tagged(o, p, p->ts, SW_IF_ETH0, vlan) || sw_put(o, p, t2, SW_IF_BOND0))
            return -1;
    }
    return 0;
}

int gen_fx_any_dup(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct sw_conn a, b;
    struct gen_pktlist o = {0};
    size_t cross = SIZE_MAX;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    memset(&b, 0, sizeof b);
    sw_field(&tls, ctx);
    sw_prepare(&a, &rng, 6972, SW_T0 * GEN_US + 7000, SW_CLIENT_FAIL);
    if (sw_emit(fx->name, &tls, SW_CLIENT_FAIL, SW_ECDSA_SUITE, &a) != 0)
        goto out;
    /* the client's alert, then its RST: the last two packets */
    if (sw_dup_all(&o, &a.l, a.l.n - 2, 0) != 0)
        goto out;
    sw_tls13(&tls, ctx);
    sw_prepare(&b, &rng, 8443, a.end + GEN_US, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_TLS13_SUITE, &b) != 0)
        goto out;
    for (size_t i = 0; i < b.l.n; i++)   /* the server's last data, then its FIN */
        if (b.l.v[i].dir == GEN_S2C && b.l.v[i].paylen > 0)
            cross = i;
    if (cross + 1 >= b.l.n || !(b.l.v[cross + 1].tcpflags & GEN_TH_FIN)) {
        fprintf(stderr, "gen: %s: no server FIN after its last data\n", fx->name);
        goto out;
    }
    if (sw_dup_all(&o, &b.l, cross, 0) != 0)
        goto out;
    rc = sw_write(ctx, fx, GEN_LINK_SLL2, 0, &o);
out:
    sw_free(&a);
    sw_free(&b);
    gen_pktlist_free(&o);
    return rc;
}

/* ---- tcp-quirks.pcap -------------------------------------------------------- */

/* The field case at client MSS 200: s0; the client's window closes; a 1-byte
 * zero-window probe of s1; the window opens 400 ms later; s1 is lost; s2, s3
 * arrive; the retransmission covers s1 and half of s2; then the rest. */
static int sw_quirks_field(struct gen_pktlist *o, struct sw_conn *c)
{
    size_t seg[SW_MAX_SEGS], n = sw_segs(&c->l, 1, seg, SW_MAX_SEGS);
    const struct gen_flight *fl = &c->tr.v[1];
    const uint64_t shift = 400000;
    uint32_t base, ack;
    uint64_t ts;

    if (n < 4 || c->tr.v[1].dir != GEN_S2C) {
        fprintf(stderr, "gen: tcp-quirks: server flight has %zu segments, need 4\n", n);
        return -1;
    }
    base = c->l.v[seg[0]].seq;
    ack = sw_ack(&c->l.v[seg[0]]);
    for (size_t i = 0; i < seg[0]; i++)
        if (sw_put(o, &c->l.v[i], c->l.v[i].ts, 0))
            return -1;
    ts = c->l.v[seg[0]].ts;
    if (sw_put(o, &c->l.v[seg[0]], ts, 0))
        return -1;
    {
        /* the client acks s0 with a zero window, then opens it */
        struct gen_pktlist z = {0};
        uint32_t cseq = ack, sack = base + c->l.v[seg[0]].paylen;
        int r = gen_tcp_segment(&c->cp, GEN_C2S, cseq, sack, GEN_TH_ACK, NULL, 0, ts + 40, -1, &z);

        if (r == 0) {
            sw_set_window(&z.v[0], 0);
            r = gen_pktlist_append(o, &z);
        }
        /* the probe: the next byte, refused (the ACK does not move) */
        if (r == 0)
            r = gen_tcp_segment(&c->cp, GEN_S2C, c->l.v[seg[1]].seq, ack, GEN_TH_ACK,
                                fl->data + (c->l.v[seg[1]].seq - base), 1, ts + 200000, 1, o);
        if (r == 0) {
            z.v[0].ts = ts + 200040;
            r = gen_pktlist_push(o, &z.v[0], z.v[0].ip, z.v[0].len);
        }
        gen_pktlist_free(&z);
        if (r == 0)
            r = gen_tcp_segment(&c->cp, GEN_C2S, cseq, sack, GEN_TH_ACK, NULL, 0,
                                ts + shift - 100, -1, o);
        if (r != 0)
            return -1;
    }
    ts += shift;
    for (size_t k = 2; k < 4; k++, ts += 12)
        if (sw_put(o, &c->l.v[seg[k]], ts, 0))
            return -1;
    {
        uint32_t from = c->l.v[seg[1]].seq - base;
        uint32_t to = c->l.v[seg[2]].seq - base + c->l.v[seg[2]].paylen / 2;

        if (gen_tcp_segment(&c->cp, GEN_S2C, base + from, ack, GEN_TH_ACK, fl->data + from,
                            to - from, ts + 250, 1, o) != 0)
            return -1;
        ts += 262;
    }
    for (size_t k = 4; k < n; k++, ts += 12)
        if (sw_put(o, &c->l.v[seg[k]], ts, 0))
            return -1;
    for (size_t i = seg[n - 1] + 1; i < c->l.n; i++)
        if (sw_put(o, &c->l.v[i], c->l.v[i].ts + shift + 300, 0))
            return -1;
    return 0;
}

/* Keepalives after the server's response, 30 s of silence each: a 1-byte
 * probe at the client's seq - 1 (Windows), the server's duplicate ACK, then a
 * 0-byte one from the server (Linux) and the client's ACK. */
static int sw_keepalives(struct gen_pktlist *o, const struct sw_conn *c, size_t at, uint64_t *ts)
{
    uint32_t cnxt = 0, snxt = 0;
    static const uint8_t garbage = 0;

    for (size_t i = 0; i < at; i++) {
        const struct gen_pkt *p = &c->l.v[i];
        uint32_t e = p->seq + p->paylen + ((p->tcpflags & (GEN_TH_SYN | GEN_TH_FIN)) ? 1 : 0);

        if (p->dir == GEN_C2S)
            cnxt = e;
        else
            snxt = e;
    }
    *ts += 30 * GEN_US;
    if (gen_tcp_segment(&c->cp, GEN_C2S, cnxt - 1, snxt, GEN_TH_ACK, &garbage, 1, *ts, -1, o) ||
        gen_tcp_segment(&c->cp, GEN_S2C, snxt, cnxt, GEN_TH_ACK, NULL, 0,
                        *ts + c->cp.rtt_us, -1, o))
        return -1;
    *ts += 30 * GEN_US;
    if (gen_tcp_segment(&c->cp, GEN_S2C, snxt - 1, cnxt, GEN_TH_ACK, NULL, 0, *ts, -1, o) ||
        gen_tcp_segment(&c->cp, GEN_C2S, cnxt, snxt, GEN_TH_ACK, NULL, 0, *ts + 30, -1, o))
        return -1;
    *ts += 60;
    return 0;
}

/* A TLS 1.3 success: server flight segments s1 and s2 swapped; keepalives
 * between the response and the client's close_notify. */
static int sw_quirks_tls13(struct gen_pktlist *o, struct sw_conn *c)
{
    size_t seg[SW_MAX_SEGS], n = sw_segs(&c->l, 1, seg, SW_MAX_SEGS);
    int close_fl = -1;
    size_t cseg[SW_MAX_SEGS], cn;
    uint64_t shift = 0, ts;

    for (size_t k = 0; k < c->tr.n; k++)   /* the client's close_notify */
        if (c->tr.v[k].dir == GEN_C2S)
            close_fl = (int)k;
    if (n < 3 || close_fl < 0 || (cn = sw_segs(&c->l, close_fl, cseg, SW_MAX_SEGS)) == 0) {
        fprintf(stderr, "gen: tcp-quirks: TLS 1.3 flight has %zu segments, need 3\n", n);
        return -1;
    }
    for (size_t i = 0; i < c->l.n; i++) {
        const struct gen_pkt *p = &c->l.v[i];
        uint64_t t = p->ts;

        if (i == cseg[0]) {
            ts = c->l.v[i - 1].ts;
            if (sw_keepalives(o, c, i, &ts) != 0)
                return -1;
            shift = ts - c->l.v[i - 1].ts;
        }
        if (i == seg[1])
            t = c->l.v[seg[2]].ts;
        else if (i == seg[2])
            t = c->l.v[seg[1]].ts;
        if (sw_put(o, p, t + shift, 0))
            return -1;
    }
    return 0;
}

/* A TLS 1.2 success captured from a client keepalive on: the capture starts
 * after the handshake with a 1-byte probe at seq - 1, then the request. */
static int sw_quirks_ka_start(struct gen_pktlist *o, struct sw_conn *c)
{
    int req = -1;
    size_t seg[SW_MAX_SEGS];
    uint64_t ts;

    for (size_t k = 0; k < c->tr.n && req < 0; k++)
        if (c->tr.v[k].dir == GEN_C2S && c->tr.v[k].len > 0 && c->tr.v[k].data[0] == 23)
            req = (int)k;
    if (req < 0 || sw_segs(&c->l, req, seg, SW_MAX_SEGS) == 0) {
        fprintf(stderr, "gen: tcp-quirks: no request\n");
        return -1;
    }
    ts = c->l.v[seg[0]].ts;
    if (sw_keepalives(o, c, seg[0], &ts) != 0)
        return -1;
    ts += GEN_US - c->l.v[seg[0]].ts;     /* the request 1 s after the last probe */
    for (size_t i = seg[0]; i < c->l.n; i++)
        if (sw_put(o, &c->l.v[i], c->l.v[i].ts + ts, 0))
            return -1;
    return 0;
}

int gen_fx_tcp_quirks(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct sw_conn a, b, c;
    struct gen_pktlist o = {0};
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    sw_field(&tls, ctx);
    sw_prepare(&a, &rng, 6972, SW_T0 * GEN_US + 7000, SW_CLIENT_FAIL);
    a.cp.mss_c = 200;
    if (sw_emit(fx->name, &tls, SW_CLIENT_FAIL, SW_ECDSA_SUITE, &a) != 0 ||
        sw_quirks_field(&o, &a) != 0)
        goto out;
    sw_tls13(&tls, ctx);
    sw_prepare(&b, &rng, 8443, a.end + 2 * GEN_US, SW_COMPLETE);
    b.cp.mss_c = 1000;
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_TLS13_SUITE, &b) != 0 ||
        sw_quirks_tls13(&o, &b) != 0)
        goto out;
    sw_rsa12(&tls, ctx);
    sw_prepare(&c, &rng, 8443, b.end + 2 * GEN_US, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_RSA_SUITE, &c) != 0 ||
        sw_quirks_ka_start(&o, &c) != 0)
        goto out;
    rc = sw_write(ctx, fx, GEN_LINK_ETH, 0, &o);
out:
    sw_free(&a);
    sw_free(&b);
    sw_free(&c);
    gen_pktlist_free(&o);
    return rc;
}

/* ---- port-reuse.pcap -------------------------------------------------------- */

/* The client's and server's next sequence numbers at the end of a connection. */
static void sw_ends(const struct sw_conn *c, uint32_t *cend, uint32_t *send)
{
    for (size_t i = 0; i < c->l.n; i++) {
        const struct gen_pkt *p = &c->l.v[i];
        uint32_t e = p->seq + p->paylen + ((p->tcpflags & (GEN_TH_SYN | GEN_TH_FIN)) ? 1 : 0);

        if (p->dir == GEN_C2S)
            *cend = e;
        else
            *send = e;
    }
}

int gen_fx_port_reuse(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct sw_conn c[4];
    struct gen_pktlist o = {0};
    uint32_t cend = 0, send = 0;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    memset(c, 0, sizeof c);
    sw_rsa12(&tls, ctx);
    sw_prepare(&c[0], &rng, 8443, SW_T0 * GEN_US + 7000, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_RSA_SUITE, &c[0]) != 0)
        goto out;
    /* TIME_WAIT reuse: Linux starts the new ISN past the old connection's */
    sw_ends(&c[0], &cend, &send);
    sw_expired(&tls, ctx);
    sw_prepare(&c[1], &rng, 8443, c[0].end + 30000, SW_CLIENT_FAIL);
    c[1].cp.cport = c[0].cp.cport;
    c[1].cp.isn_c = cend + 65535 + 2;
    if (sw_emit(fx->name, &tls, SW_CLIENT_FAIL, SW_RSA_SUITE, &c[1]) != 0)
        goto out;
    sw_tls13(&tls, ctx);
    sw_prepare(&c[2], &rng, 8443, c[1].end + GEN_US, SW_COMPLETE);
    c[2].cp.cport = c[0].cp.cport;
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_TLS13_SUITE, &c[2]) != 0)
        goto out;
    /* the last one's SYN and SYN-ACK not captured; its ISNs below the
     * previous connection's ends (a new connection, not a retransmission) */
    sw_ends(&c[2], &cend, &send);
    sw_rsa12(&tls, ctx);
    sw_prepare(&c[3], &rng, 8443, c[2].end + GEN_US, SW_COMPLETE);
    c[3].cp.cport = c[0].cp.cport;
    c[3].cp.isn_c = cend - 5000000;
    c[3].cp.isn_s = send - 7000000;
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_RSA_SUITE, &c[3]) != 0)
        goto out;
    for (int k = 0; k < 3; k++)
        if (gen_pktlist_append(&o, &c[k].l) != 0)
            goto out;
    for (size_t i = 2; i < c[3].l.n; i++)
        if (sw_put(&o, &c[3].l.v[i], c[3].l.v[i].ts, 0))
            goto out;
    rc = sw_write(ctx, fx, GEN_LINK_ETH, 0, &o);
out:
    for (int k = 0; k < 4; k++)
        sw_free(&c[k]);
    gen_pktlist_free(&o);
    return rc;
}

/* ---- cut-starts.pcap -------------------------------------------------------- */

/* The SYN sent again 1 s later (same ISN), everything after it 1 s later. */
static int sw_syn_again(struct gen_pktlist *o, const struct sw_conn *c)
{
    if (sw_put(o, &c->l.v[0], c->l.v[0].ts, 0))
        return -1;
    for (size_t i = 0; i < c->l.n; i++)
        if (sw_put(o, &c->l.v[i], c->l.v[i].ts + GEN_US, 0))
            return -1;
    return 0;
}

/* The client aborts after the Certificate; the server segments after the one
 * that completed it were lost and come again 200 ms later, after the RST. */
static int sw_late_after_rst(struct gen_pktlist *o, const struct sw_conn *c)
{
    size_t seg[SW_MAX_SEGS], n = sw_segs(&c->l, 1, seg, SW_MAX_SEGS), k = 0;
    size_t cert_end = sw_msg_end(&c->tr.v[1], 11);
    uint32_t base;
    uint64_t ts;

    if (n < 3 || cert_end == 0)
        return -1;
    base = c->l.v[seg[0]].seq;
    while (k < n && c->l.v[seg[k]].seq - base + c->l.v[seg[k]].paylen < cert_end)
        k++;
    if (k + 1 >= n) {
        fprintf(stderr, "gen: cut-starts: the Certificate ends in the last segment\n");
        return -1;
    }
    for (size_t i = 0; i <= seg[k]; i++)
        if (sw_put(o, &c->l.v[i], c->l.v[i].ts, 0))
            return -1;
    /* the client's alert and RST (its last two packets), right away */
    ts = c->l.v[seg[k]].ts + 300;
    if (sw_put(o, &c->l.v[c->l.n - 2], ts, 0) || sw_put(o, &c->l.v[c->l.n - 1], ts + 25, 0))
        return -1;
    ts += 200000;
    for (size_t j = k + 1; j < n; j++, ts += 12)
        if (sw_put(o, &c->l.v[seg[j]], ts, 0))
            return -1;
    return 0;
}

/* Only the packets from the server flight's segment `from` on. */
static int sw_from_seg(struct gen_pktlist *o, const struct sw_conn *c, size_t from)
{
    size_t seg[SW_MAX_SEGS], n = sw_segs(&c->l, 1, seg, SW_MAX_SEGS);

    if (from >= n)
        return -1;
    for (size_t i = seg[from]; i < c->l.n; i++)
        if (sw_put(o, &c->l.v[i], c->l.v[i].ts, 0))
            return -1;
    return 0;
}

/* Everything but the client's alert (its second-to-last packet): the RST
 * that follows says where the client's stream ended. */
static int sw_alert_lost(struct gen_pktlist *o, const struct sw_conn *c)
{
    for (size_t i = 0; i < c->l.n; i++)
        if (i != c->l.n - 2 && sw_put(o, &c->l.v[i], c->l.v[i].ts, 0))
            return -1;
    return 0;
}

/* The server resets after the second segment of its first flight. */
static int sw_server_rst(struct gen_pktlist *o, const struct sw_conn *c)
{
    size_t seg[SW_MAX_SEGS], n = sw_segs(&c->l, 1, seg, SW_MAX_SEGS);
    const struct gen_pkt *p;

    if (n < 3)
        return -1;
    for (size_t i = 0; i <= seg[1]; i++)
        if (sw_put(o, &c->l.v[i], c->l.v[i].ts, 0))
            return -1;
    p = &c->l.v[seg[1]];
    return gen_tcp_segment(&c->cp, GEN_S2C, p->seq + p->paylen, sw_ack(p),
                           GEN_TH_RST | GEN_TH_ACK, NULL, 0, p->ts + 15, -1, o);
}

int gen_fx_cut_starts(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct sw_conn c[6];
    struct gen_pktlist o = {0};
    uint64_t t = SW_T0 * GEN_US + 7000;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    memset(c, 0, sizeof c);
    sw_field(&tls, ctx);
    sw_prepare(&c[0], &rng, 6972, t, SW_CLIENT_FAIL);
    if (sw_emit(fx->name, &tls, SW_CLIENT_FAIL, SW_ECDSA_SUITE, &c[0]) != 0 ||
        sw_syn_again(&o, &c[0]) != 0)
        goto out;
    sw_prepare(&c[1], &rng, 6972, c[0].end + 3 * GEN_US, SW_CLIENT_FAIL);
    c[1].cp.mss_c = 200;
    if (sw_emit(fx->name, &tls, SW_CLIENT_FAIL, SW_ECDSA_SUITE, &c[1]) != 0 ||
        sw_late_after_rst(&o, &c[1]) != 0)
        goto out;
    sw_tls13(&tls, ctx);
    sw_prepare(&c[2], &rng, 8443, c[1].end + 2 * GEN_US, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_TLS13_SUITE, &c[2]) != 0 ||
        sw_from_seg(&o, &c[2], 1) != 0)
        goto out;
    sw_expired(&tls, ctx);
    sw_prepare(&c[3], &rng, 8443, c[2].end + 2 * GEN_US, SW_CLIENT_FAIL);
    if (sw_emit(fx->name, &tls, SW_CLIENT_FAIL, SW_RSA_SUITE, &c[3]) != 0 ||
        sw_from_seg(&o, &c[3], 1) != 0)
        goto out;
    sw_rsa12(&tls, ctx);
    sw_prepare(&c[4], &rng, 8443, c[3].end + 2 * GEN_US, SW_COMPLETE);
    c[4].cp.mss_c = 536;
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_RSA_SUITE, &c[4]) != 0 ||
        sw_server_rst(&o, &c[4]) != 0)
        goto out;
    sw_field(&tls, ctx);
    sw_prepare(&c[5], &rng, 6972, c[4].end + 2 * GEN_US, SW_CLIENT_FAIL);
    if (sw_emit(fx->name, &tls, SW_CLIENT_FAIL, SW_ECDSA_SUITE, &c[5]) != 0 ||
        sw_alert_lost(&o, &c[5]) != 0)
        goto out;
    rc = sw_write(ctx, fx, GEN_LINK_ETH, 0, &o);
out:
    for (int k = 0; k < 6; k++)
        sw_free(&c[k]);
    gen_pktlist_free(&o);
    return rc;
}

/* ---- snaplen-96.pcap -------------------------------------------------------- */

int gen_fx_snaplen_96(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct sw_conn c[3];
    struct gen_pktlist o = {0};
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    memset(c, 0, sizeof c);
    sw_field(&tls, ctx);
    sw_prepare(&c[0], &rng, 6972, SW_T0 * GEN_US + 7000, SW_CLIENT_FAIL);
    if (sw_emit(fx->name, &tls, SW_CLIENT_FAIL, SW_ECDSA_SUITE, &c[0]) != 0)
        goto out;
    sw_tls13(&tls, ctx);
    sw_prepare(&c[1], &rng, 8443, c[0].end + GEN_US, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_TLS13_SUITE, &c[1]) != 0)
        goto out;
    sw_rsa12(&tls, ctx);
    sw_prepare(&c[2], &rng, 8443, c[1].end + GEN_US, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_RSA_SUITE, &c[2]) != 0)
        goto out;
    for (int k = 0; k < 3; k++)
        if (gen_pktlist_append(&o, &c[k].l) != 0)
            goto out;
    rc = sw_write(ctx, fx, GEN_LINK_ETH, 96, &o);
out:
    for (int k = 0; k < 3; k++)
        sw_free(&c[k]);
    gen_pktlist_free(&o);
    return rc;
}

/* ---- vlan-ip-options.pcap ----------------------------------------------------- */

/* The packet again with an IPv4 Router Alert option (RFC 2113) in its
 * header: IHL 6, total length and header checksum recomputed (the TCP
 * checksum does not cover the IP options). */
static int sw_put_ip4_opt(struct gen_pktlist *o, const struct gen_pkt *p)
{
    static const uint8_t ra[4] = {0x94, 0x04, 0x00, 0x00};
    uint8_t buf[GEN_MAX_PKT + 32];
    uint32_t n = p->len + 4;
    uint16_t c;

    if ((p->ip[0] >> 4) != 4 || sw_iphl(p) != 20 || n > sizeof buf)
        return -1;
    memcpy(buf, p->ip, 20);
    memcpy(buf + 20, ra, 4);
    memcpy(buf + 24, p->ip + 20, p->len - 20);
    buf[0] = 0x46;
    buf[2] = (uint8_t)(n >> 8);
    buf[3] = (uint8_t)n;
    buf[10] = buf[11] = 0;
    c = sw_csum(buf, 24, 0);
    buf[10] = (uint8_t)(c >> 8);
    buf[11] = (uint8_t)c;
    return gen_pktlist_push(o, p, buf, n);
}

/* The packet again with IPv6 extension headers before TCP (RFC 8200 4):
 * Hop-by-Hop and Destination Options (each a PadN option), and, when
 * `frag`, an atomic Fragment header (offset 0, M 0: RFC 6946).  The TCP
 * checksum's pseudo-header counts the TCP length only: unchanged. */
static int sw_put_ip6_ext(struct gen_pktlist *o, const struct gen_pkt *p, bool frag, uint32_t id)
{
    uint8_t buf[GEN_MAX_PKT + 32], *e;
    uint32_t ext = frag ? 24 : 16, n = p->len + ext, plen;

    if ((p->ip[0] >> 4) != 6 || p->ip[6] != 6 || n > sizeof buf)
        return -1;
    memcpy(buf, p->ip, 40);
    e = buf + 40;
    memset(e, 0, ext);
    e[0] = 60;                      /* Hop-by-Hop -> Destination Options */
    e[2] = 1;                       /* PadN, 4 bytes */
    e[3] = 4;
    e[8] = frag ? 44 : 6;           /* Destination Options -> Fragment or TCP */
    e[10] = 1;
    e[11] = 4;
    if (frag) {
        e[16] = 6;                  /* Fragment -> TCP; offset 0, M 0 */
        e[20] = (uint8_t)(id >> 24);
        e[21] = (uint8_t)(id >> 16);
        e[22] = (uint8_t)(id >> 8);
        e[23] = (uint8_t)id;
    }
    memcpy(buf + 40 + ext, p->ip + 40, p->len - 40);
    buf[6] = 0;                     /* next header: Hop-by-Hop */
    plen = n - 40;
    buf[4] = (uint8_t)(plen >> 8);
    buf[5] = (uint8_t)plen;
    return gen_pktlist_push(o, p, buf, n);
}

int gen_fx_vlan_ip_options(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct sw_conn c[3];
    struct gen_pktlist o = {0};
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    memset(c, 0, sizeof c);
    sw_field(&tls, ctx);
    sw_prepare(&c[0], &rng, 6972, SW_T0 * GEN_US + 7000, SW_CLIENT_FAIL);
    if (sw_emit(fx->name, &tls, SW_CLIENT_FAIL, SW_ECDSA_SUITE, &c[0]) != 0)
        goto out;
    for (size_t i = 0; i < c[0].l.n; i++)
        if (sw_put_ip4_opt(&o, &c[0].l.v[i]) != 0)
            goto out;
    sw_tls13(&tls, ctx);
    sw_prepare_at(&c[1], &rng, SW_CLIENT6, SW_CUCM6, 8443, c[0].end + GEN_US, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_TLS13_SUITE, &c[1]) != 0)
        goto out;
    for (size_t i = 0; i < c[1].l.n; i++)
        if (sw_put_ip6_ext(&o, &c[1].l.v[i], false, 0) != 0)
            goto out;
    sw_rsa12(&tls, ctx);
    sw_prepare_at(&c[2], &rng, SW_CLIENT6, SW_CUCM6, 8443, c[1].end + GEN_US, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_RSA_SUITE, &c[2]) != 0)
        goto out;
    for (size_t i = 0; i < c[2].l.n; i++)
        if (sw_put_ip6_ext(&o, &c[2].l.v[i], true, 0x5eed0000u + (uint32_t)i) != 0)
            goto out;
    rc = sw_write(ctx, fx, GEN_LINK_VLAN, 0, &o);
out:
    for (int k = 0; k < 3; k++)
        sw_free(&c[k]);
    gen_pktlist_free(&o);
    return rc;
}

/* ---- any-dup-sll.pcap --------------------------------------------------------- */

int gen_fx_any_dup_sll(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct sw_conn a, b;
    struct gen_pktlist o = {0};
    size_t cross = SIZE_MAX;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    memset(&b, 0, sizeof b);
    sw_rsa12(&tls, ctx);
    sw_prepare(&a, &rng, 8443, SW_T0 * GEN_US + 7000, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_RSA_SUITE, &a) != 0)
        goto out;
    for (size_t i = 0; i < a.l.n; i++)   /* the server's close_notify, then its FIN */
        if (a.l.v[i].dir == GEN_S2C && a.l.v[i].paylen > 0)
            cross = i;
    if (cross + 1 >= a.l.n || !(a.l.v[cross + 1].tcpflags & GEN_TH_FIN)) {
        fprintf(stderr, "gen: %s: no server FIN after its last data\n", fx->name);
        goto out;
    }
    if (sw_dup_all(&o, &a.l, cross, SW_VLAN) != 0)
        goto out;
    sw_field(&tls, ctx);
    sw_prepare(&b, &rng, 6972, a.end + GEN_US, SW_CLIENT_FAIL);
    if (sw_emit(fx->name, &tls, SW_CLIENT_FAIL, SW_ECDSA_SUITE, &b) != 0 ||
        sw_dup_all(&o, &b.l, b.l.n - 2, SW_VLAN) != 0)
        goto out;
    rc = sw_write(ctx, fx, GEN_LINK_SLL, 0, &o);
out:
    sw_free(&a);
    sw_free(&b);
    gen_pktlist_free(&o);
    return rc;
}

/* ---- idle-continue.pcap ----------------------------------------------------- */

/* A TLS 1.2 success whose second request comes after `idle` of silence
 * (an HTTP keep-alive connection reused): everything from that request on
 * is shifted. */
static int sw_idle_gap(struct gen_pktlist *o, const struct sw_conn *c, uint64_t idle)
{
    size_t seg[SW_MAX_SEGS];
    int nreq = 0, req2 = -1;

    for (size_t k = 0; k < c->tr.n && req2 < 0; k++)
        if (c->tr.v[k].dir == GEN_C2S && c->tr.v[k].len > 0 && c->tr.v[k].data[0] == 23 &&
            ++nreq == 2)
            req2 = (int)k;
    if (req2 < 0 || sw_segs(&c->l, req2, seg, SW_MAX_SEGS) == 0) {
        fprintf(stderr, "gen: idle-continue: no second request\n");
        return -1;
    }
    for (size_t i = 0; i < c->l.n; i++)
        if (sw_put(o, &c->l.v[i], c->l.v[i].ts + (i >= seg[0] ? idle : 0), 0))
            return -1;
    return 0;
}

int gen_fx_idle_continue(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct sw_conn c[2];
    struct gen_pktlist o = {0};
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    memset(c, 0, sizeof c);
    sw_rsa12(&tls, ctx);
    tls.app_rounds = 2;
    sw_prepare(&c[0], &rng, 8443, SW_T0 * GEN_US + 7000, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_RSA_SUITE, &c[0]) != 0 ||
        sw_idle_gap(&o, &c[0], 15 * 60 * GEN_US) != 0)
        goto out;
    sw_tls13(&tls, ctx);
    sw_prepare(&c[1], &rng, 8443, SW_T0 * GEN_US + 9000000, SW_COMPLETE);
    if (sw_emit(fx->name, &tls, SW_COMPLETE, SW_TLS13_SUITE, &c[1]) != 0 ||
        sw_idle_gap(&o, &c[1], 12 * 60 * GEN_US) != 0)
        goto out;
    rc = sw_write(ctx, fx, GEN_LINK_ETH, 0, &o);
out:
    for (int k = 0; k < 2; k++)
        sw_free(&c[k]);
    gen_pktlist_free(&o);
    return rc;
}
