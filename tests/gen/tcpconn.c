/* tcpconn.c - a transcript of TLS flights turned into TCP/IP packets.
 *
 * Timestamps are those a tcpdump on the client host (the Expressway-C) would
 * record: client packets when sent, server packets one round trip (plus the
 * server's think time) later.  Flights are cut at the MSS the peer announced
 * in its SYN (RFC 9293 3.7.1), the last segment of a flight carries PSH, an
 * answering flight piggybacks the ACK and a pure ACK is sent only when the
 * receiver has nothing to say.  IPv4/IPv6 and TCP checksums are correct.
 */
#include "gen/gen.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define TCP_HDR 20
#define TCP_SYN_OPTS 8            /* MSS(4) NOP NOP SACK_PERM(2) */
#define IP4_HDR 20
#define IP6_HDR 40
#define UDP_HDR 8
#define SEG_GAP_S2C 12            /* back-to-back arrival of server segments (us) */
#define SEG_GAP_C2S 4
#define SAME_SIDE_GAP 30          /* a side sending two flights in a row */
#define FIN_GAP 20
#define RST_GAP 25
#define CLI_ACK_GAP 40            /* client's ACK of a server packet */

/* ---- random numbers ----------------------------------------------------- */
void gen_rng_seed(struct gen_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t gen_rng_next(struct gen_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint32_t gen_rng_range(struct gen_rng *r, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(gen_rng_next(r) % ((uint64_t)hi - lo + 1));
}

/* ---- packet lists ------------------------------------------------------- */
#define PKTLIST_MAX (1u << 24)

int gen_pktlist_push(struct gen_pktlist *l, const struct gen_pkt *p, const void *ip, uint32_t len)
{
    struct gen_pkt *q;

    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        struct gen_pkt *nv;

        if (ncap > PKTLIST_MAX)
            return -1;
        nv = realloc(l->v, ncap * sizeof *nv);
        if (nv == NULL)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    q = &l->v[l->n];
    *q = *p;
    q->ip = malloc(len);
    if (q->ip == NULL)
        return -1;
    memcpy(q->ip, ip, len);
    q->len = len;
    q->ord = l->next_ord++;
    l->n++;
    return 0;
}

static int pkt_cmp(const void *a, const void *b)
{
    const struct gen_pkt *x = a, *y = b;

    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->ord != y->ord)
        return x->ord < y->ord ? -1 : 1;
    return 0;
}

void gen_pktlist_sort(struct gen_pktlist *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof l->v[0], pkt_cmp);
}

int gen_pktlist_append(struct gen_pktlist *dst, const struct gen_pktlist *src)
{
    for (size_t i = 0; i < src->n; i++) {
        if (gen_pktlist_push(dst, &src->v[i], src->v[i].ip, src->v[i].len) != 0)
            return -1;
    }
    return 0;
}

void gen_pktlist_free(struct gen_pktlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].ip);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ---- checksums and headers ---------------------------------------------- */
static uint32_t cs_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    return sum;
}

static uint16_t cs_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Write the IP header for an L4 payload of l4len bytes already placed after
 * it; returns the header length.  Also fills the L4 checksum at csum_off. */
static size_t ip_wrap(uint8_t *pkt, int af, const uint8_t *src, const uint8_t *dst,
                      uint8_t proto, size_t l4len, uint16_t ipid, uint8_t ttl,
                      uint32_t flowlabel, size_t csum_off)
{
    size_t hl = af == AF_INET6 ? IP6_HDR : IP4_HDR;
    uint8_t *l4 = pkt + hl;
    uint32_t sum = 0;
    uint8_t pseudo[4];

    put16(l4 + csum_off, 0);
    if (af == AF_INET6) {
        put32(pkt, 0x60000000u | (flowlabel & 0xfffff));
        put16(pkt + 4, (uint32_t)l4len);
        pkt[6] = proto;
        pkt[7] = ttl;
        memcpy(pkt + 8, src, 16);
        memcpy(pkt + 24, dst, 16);
        sum = cs_add(sum, src, 16);
        sum = cs_add(sum, dst, 16);
        put32(pseudo, (uint32_t)l4len);
        sum = cs_add(sum, pseudo, 4);
        sum += proto;
    } else {
        pkt[0] = 0x45;
        pkt[1] = 0;
        put16(pkt + 2, (uint32_t)(hl + l4len));
        put16(pkt + 4, ipid);
        put16(pkt + 6, 0x4000);          /* DF */
        pkt[8] = ttl;
        pkt[9] = proto;
        put16(pkt + 10, 0);
        memcpy(pkt + 12, src, 4);
        memcpy(pkt + 16, dst, 4);
        put16(pkt + 10, cs_fold(cs_add(0, pkt, IP4_HDR)));
        sum = cs_add(sum, src, 4);
        sum = cs_add(sum, dst, 4);
        sum += proto;
        sum += (uint32_t)l4len;
    }
    sum = cs_add(sum, l4, l4len);
    put16(l4 + csum_off, cs_fold(sum));
    return hl;
}

struct tcp_st {
    const struct gen_conn_params *p;
    struct gen_pktlist *out;
    uint32_t nxt[2];
    uint16_t ipid[2];
};

static int tcp_build(const struct gen_conn_params *p, enum gen_dir dir, uint16_t ipid,
                     uint32_t seq, uint32_t ack, uint8_t flags, const void *data,
                     uint32_t len, uint64_t ts, int16_t flight, struct gen_pktlist *out)
{
    uint8_t pkt[GEN_MAX_PKT];
    size_t hl = p->af == AF_INET6 ? IP6_HDR : IP4_HDR;
    size_t optlen = (flags & GEN_TH_SYN) ? TCP_SYN_OPTS : 0;
    size_t tl = TCP_HDR + optlen;
    uint8_t *tcp = pkt + hl;
    struct gen_pkt meta;

    if (hl + tl + len > sizeof pkt)
        return -1;
    put16(tcp, dir == GEN_C2S ? p->cport : p->sport);
    put16(tcp + 2, dir == GEN_C2S ? p->sport : p->cport);
    put32(tcp + 4, seq);
    put32(tcp + 8, (flags & GEN_TH_ACK) ? ack : 0);
    tcp[12] = (uint8_t)((tl / 4) << 4);
    tcp[13] = flags;
    put16(tcp + 14, dir == GEN_C2S ? 64240 : 65160);
    put16(tcp + 18, 0);
    if (optlen) {
        uint8_t *o = tcp + TCP_HDR;

        o[0] = 2;                /* MSS */
        o[1] = 4;
        put16(o + 2, dir == GEN_C2S ? p->mss_c : p->mss_s);
        o[4] = 1;                /* NOP, NOP, SACK permitted */
        o[5] = 1;
        o[6] = 4;
        o[7] = 2;
    }
    if (len)
        memcpy(tcp + tl, data, len);
    ip_wrap(pkt, p->af, dir == GEN_C2S ? p->cip : p->sip, dir == GEN_C2S ? p->sip : p->cip,
            6, tl + len, ipid, dir == GEN_C2S ? 64 : 63, p->isn_c ^ p->cport, 16);
    memset(&meta, 0, sizeof meta);
    meta.ts = ts;
    meta.dir = (uint8_t)dir;
    meta.tcpflags = flags;
    meta.flight = flight;
    meta.conn = p->conn;
    meta.seq = seq;
    meta.paylen = len;
    return gen_pktlist_push(out, &meta, pkt, (uint32_t)(hl + tl + len));
}

int gen_tcp_segment(const struct gen_conn_params *p, enum gen_dir dir, uint32_t seq,
                    uint32_t ack, uint8_t flags, const void *data, uint32_t len,
                    uint64_t ts, int16_t flight, struct gen_pktlist *out)
{
    uint16_t ipid = (uint16_t)(ts ^ (ts >> 16) ^ seq);

    return tcp_build(p, dir, ipid, seq, ack, flags, data, len, ts, flight, out);
}

static int st_send(struct tcp_st *st, enum gen_dir dir, uint8_t flags, const uint8_t *data,
                   uint32_t len, uint64_t ts, int16_t flight)
{
    int rc = tcp_build(st->p, dir, st->ipid[dir]++, st->nxt[dir], st->nxt[!dir],
                       flags, data, len, ts, flight, st->out);

    st->nxt[dir] += len + ((flags & (GEN_TH_SYN | GEN_TH_FIN)) ? 1 : 0);
    return rc;
}

/* Segments of one flight; returns the timestamp of the last one. */
static uint64_t st_flight(struct tcp_st *st, const struct gen_flight *f, uint64_t ts, int16_t idx)
{
    uint32_t mss = f->dir == GEN_C2S ? st->p->mss_s : st->p->mss_c;
    size_t off = 0;

    while (off < f->len) {
        uint32_t n = (uint32_t)(f->len - off < mss ? f->len - off : mss);
        uint8_t flags = GEN_TH_ACK | (off + n == f->len ? GEN_TH_PSH : 0);

        if (off > 0)
            ts += f->dir == GEN_S2C ? SEG_GAP_S2C : SEG_GAP_C2S;
        st_send(st, f->dir, flags, f->data + off, n, ts, idx);
        off += n;
    }
    return ts;
}

/* When DIR's packet at ts is answered by the peer, when is that seen? */
static uint64_t peer_time(const struct gen_conn_params *p, enum gen_dir dir, uint64_t ts,
                          uint32_t think)
{
    return dir == GEN_C2S ? ts + p->rtt_us + think : ts + think;
}

uint64_t gen_conn_emit(const struct gen_conn_params *p, const struct gen_transcript *t,
                       struct gen_pktlist *out)
{
    struct tcp_st st = {.p = p, .out = out};
    size_t first = out->n;
    uint64_t ts = p->start, last;
    int lastf[2] = {-1, -1};
    bool fin[2] = {false, false};

    st.nxt[GEN_C2S] = p->isn_c;
    st.nxt[GEN_S2C] = p->isn_s;
    st.ipid[GEN_C2S] = (uint16_t)(p->isn_c >> 7);
    st.ipid[GEN_S2C] = (uint16_t)(p->isn_s >> 9);
    for (size_t i = 0; i < t->n; i++)
        lastf[t->v[i].dir] = (int)i;

    /* 3-way handshake */
    st_send(&st, GEN_C2S, GEN_TH_SYN, NULL, 0, ts, -1);
    ts += p->rtt_us;
    st_send(&st, GEN_S2C, GEN_TH_SYN | GEN_TH_ACK, NULL, 0, ts, -1);
    ts += CLI_ACK_GAP;
    st_send(&st, GEN_C2S, GEN_TH_ACK, NULL, 0, ts, -1);
    last = ts;

    for (size_t i = 0; i < t->n; i++) {
        const struct gen_flight *f = &t->v[i];
        enum gen_dir d = f->dir;

        if (i == 0)
            ts = last + p->cli_proc_us / 4;           /* ClientHello right after the ACK */
        else if (t->v[i - 1].dir == d)
            ts = last + SAME_SIDE_GAP;
        else
            ts = peer_time(p, (enum gen_dir)!d, last, d == GEN_S2C ? p->srv_proc_us : p->cli_proc_us);
        last = st_flight(&st, f, ts, (int16_t)i);
        if (p->close == GEN_CLOSE_ORDERLY && lastf[d] == (int)i) {
            last += FIN_GAP;
            st_send(&st, d, GEN_TH_FIN | GEN_TH_ACK, NULL, 0, last, -1);
            fin[d] = true;
        }
        /* the receiver acks on its own only when it will not answer */
        if ((i + 1 < t->n && t->v[i + 1].dir == d) ||
            (i + 1 == t->n && p->close == GEN_CLOSE_NONE)) {
            uint64_t ats = peer_time(p, d, last, d == GEN_C2S ? 0 : CLI_ACK_GAP);

            st_send(&st, (enum gen_dir)!d, GEN_TH_ACK, NULL, 0, ats, -1);
            if (i + 1 == t->n)
                last = ats;
        }
    }

    switch (p->close) {
    case GEN_CLOSE_ORDERLY:
        for (int d = 0; d < 2; d++) {
            if (!fin[d]) {
                last += FIN_GAP;
                st_send(&st, (enum gen_dir)d, GEN_TH_FIN | GEN_TH_ACK, NULL, 0, last, -1);
                fin[d] = true;
            }
        }
        /* the last FIN came from the server (it answered the client's
         * close_notify): the client acks it */
        last += CLI_ACK_GAP;
        st_send(&st, GEN_C2S, GEN_TH_ACK, NULL, 0, last, -1);
        break;
    case GEN_CLOSE_CLIENT_RST:
        last += (t->n && t->v[t->n - 1].dir == GEN_C2S) ? RST_GAP : p->cli_proc_us;
        st_send(&st, GEN_C2S, GEN_TH_RST | GEN_TH_ACK, NULL, 0, last, -1);
        break;
    case GEN_CLOSE_SERVER_FIN_CLIENT_RST:
        last += FIN_GAP;
        st_send(&st, GEN_S2C, GEN_TH_FIN | GEN_TH_ACK, NULL, 0, last, -1);
        last += CLI_ACK_GAP;
        st_send(&st, GEN_C2S, GEN_TH_RST | GEN_TH_ACK, NULL, 0, last, -1);
        break;
    case GEN_CLOSE_NONE:
        break;
    }
    /* pure ACKs from the server may land after later client packets */
    if (out->n > first)
        qsort(out->v + first, out->n - first, sizeof out->v[0], pkt_cmp);
    return out->v[out->n - 1].ts > last ? out->v[out->n - 1].ts : last;
}

static int parse_ip(const char *s, int *af, uint8_t *a)
{
    if (strchr(s, ':') != NULL) {
        *af = AF_INET6;
        return inet_pton(AF_INET6, s, a) == 1 ? 0 : -1;
    }
    *af = AF_INET;
    return inet_pton(AF_INET, s, a) == 1 ? 0 : -1;
}

void gen_conn_defaults(struct gen_conn_params *p, struct gen_rng *rng, const char *cip,
                       const char *sip, uint16_t sport, uint64_t start)
{
    int af1 = AF_INET, af2 = AF_INET;

    memset(p, 0, sizeof *p);
    if (parse_ip(cip, &af1, p->cip) != 0 || parse_ip(sip, &af2, p->sip) != 0 || af1 != af2)
        abort();                 /* programmer error: addresses are literals */
    p->af = af1;
    p->cport = (uint16_t)gen_rng_range(rng, 30001, 60999);
    p->sport = sport;
    p->isn_c = (uint32_t)gen_rng_next(rng);
    p->isn_s = (uint32_t)gen_rng_next(rng);
    p->mss_c = p->mss_s = p->af == AF_INET6 ? 1440 : 1460;
    p->rtt_us = gen_rng_range(rng, 350, 900);
    p->srv_proc_us = gen_rng_range(rng, 900, 2600);
    p->cli_proc_us = gen_rng_range(rng, 200, 700);
    p->start = start;
    p->close = GEN_CLOSE_ORDERLY;
}

int gen_udp_packet(struct gen_pktlist *out, const char *src, const char *dst, uint16_t sport,
                   uint16_t dport, const void *data, uint32_t len, uint64_t ts, uint32_t conn)
{
    uint8_t pkt[GEN_MAX_PKT], s[16], d[16];
    int af = AF_INET, af2 = AF_INET;
    size_t hl;
    struct gen_pkt meta;

    if (parse_ip(src, &af, s) != 0 || parse_ip(dst, &af2, d) != 0 || af != af2)
        return -1;
    hl = af == AF_INET6 ? IP6_HDR : IP4_HDR;
    if (hl + UDP_HDR + len > sizeof pkt)
        return -1;
    put16(pkt + hl, sport);
    put16(pkt + hl + 2, dport);
    put16(pkt + hl + 4, UDP_HDR + len);
    memcpy(pkt + hl + UDP_HDR, data, len);
    ip_wrap(pkt, af, s, d, 17, UDP_HDR + len, (uint16_t)(ts >> 3), 64, 0, 6);
    memset(&meta, 0, sizeof meta);
    meta.ts = ts;
    meta.flight = -1;
    meta.conn = conn;
    meta.paylen = len;
    return gen_pktlist_push(out, &meta, pkt, (uint32_t)(hl + UDP_HDR + len));
}
