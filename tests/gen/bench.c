/* bench.c - the benchmark capture: gigabytes shaped like an Expressway-C tcpdump, written fast.
 *
 *   gen --bench PKIDIR OUT.pcap MEGABYTES [HANDSHAKES]
 *
 * What is in it (fractions of the file's bytes, printed when done):
 *   - TLS connections from the Expressway-C to four CUCM nodes on 8443 and
 *     6972, each a real OpenSSL handshake: CA-signed RSA successes, the field
 *     case (ECDSA selected, self-signed tomcat-ECDSA, client sends Unknown
 *     CA), ECDSA and RSA selections that complete, TLS 1.3 successes and
 *     TLS 1.3 Unknown CA failures.  Handshakes are about 3% of the bytes.
 *     Default HANDSHAKES: 3% of min(size, 1 GiB), so a 4 GiB capture has the
 *     same connections as a 1 GiB one and only more bulk (the memory check
 *     compares capture sizes, not connection counts);
 *   - after each completed handshake, keep-alive rounds of TLS application
 *     data records on the same flow (a small request, 1 to 4 full 16 KiB records
 *     back), with client think time between rounds, so hundreds of flows are
 *     open at once; then close_notify and FIN;
 *   - RTP-like UDP calls (G.711, 20 ms, both ways) and other TCP bulk (SIP
 *     TLS 5061, traversal 7001, 443, ssh) around them.
 *
 * Speed: the handshakes are run once per profile (gen_tls_run) and their
 * transcript is emitted for every connection with its own addresses, ports
 * and ISNs; bulk payload is cut from a few random buffers; every source
 * (connection, call) produces its packets a phase at a time and a binary
 * heap merges them by timestamp, so memory stays small whatever the size.
 * The file is written through an 8 MiB stdio buffer to OUT.tmp and renamed
 * to OUT when complete, so an interrupted run never leaves a capture that
 * looks finished.
 */
#include "gen/gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int gen_bench_main(int argc, char **argv);

#define BENCH_T0 1773161726ULL             /* 2026-03-10T16:55:26Z, the post-upgrade day */
#define BENCH_SPAN_PER_GIB_US (300ULL * GEN_US)
#define BENCH_MIN_SPAN_US (30ULL * GEN_US)
#define BENCH_GIB (1ULL << 30)
#define BENCH_IOBUF (8u << 20)
#define BENCH_FRAME 30u                    /* pcap record header 16 + Ethernet 14 */
#define BENCH_HS_SHARE 0.03
#define BENCH_TLS_BULK_SHARE 0.45
#define BENCH_RTP_SHARE 0.25               /* the rest: other TCP */

#define EXPW_IP "10.48.36.46"
static const char *const CUCM_NODES[] = {"10.48.36.215", "10.48.36.218", "10.48.36.219",
                                         "10.48.36.220"};
#define N_NODES (sizeof CUCM_NODES / sizeof CUCM_NODES[0])

/* TLS application data: full 2^14-byte records as AES-GCM sends them
 * (8-byte explicit nonce + 16-byte tag), and a small request record. */
#define REC_BODY (16384u + 24u)
#define REC_LEN (5u + REC_BODY)
#define RESP_RECS 64u                      /* distinct records cycled in the S2C buffer */
#define REQ_BODY 415u
#define REQ_LEN (5u + REQ_BODY)
#define REQ_RECS 16u
#define MAX_RESP_RECS 4u                   /* records per response: 1..4 */
#define THINK_MIN_US 100000u               /* client think time between rounds */
#define THINK_MAX_US 8000000u
#define SEG_GAP_US 12u                     /* back-to-back server segments */
#define ACK_GAP_US 40u

/* Other TCP: random bytes. */
#define RAW_BUF (1u << 20)
#define RAW_RESP_MIN (64u * 1024u)
#define RAW_RESP_MAX (1024u * 1024u)

/* RTP: 12-byte header + 160 bytes of G.711 every 20 ms each way. */
#define RTP_PAYLOAD 172u
#define RTP_PERIOD_US 20000u
#define RTP_CHUNK_US GEN_US                /* packets made per refill */
#define RTP_MIN_S 30u
#define RTP_MAX_S 240u
#define RTP_WIRE (BENCH_FRAME + 20u + 8u + RTP_PAYLOAD)

/* ---- handshake profiles ------------------------------------------------- */
enum prof_id { P_RSA_OK, P_UNKNOWN_CA, P_ECDSA_OK, P_RSA_6972, P_TLS13_OK, P_TLS13_UNKNOWN_CA, P_COUNT };

struct profile {
    const char *name;
    uint16_t port;
    unsigned weight;                       /* share of the handshakes, percent */
    int expect;                            /* -1 complete, else the side that fails */
    struct gen_transcript t;
    size_t n_hs;                           /* flights emitted by gen_conn_emit */
    uint64_t hs_bytes;                     /* file bytes of one handshake phase */
    uint64_t count;
};

static void profile_cfg(enum prof_id id, struct gen_tls_cfg *c, const struct gen_pki *pki)
{
    switch (id) {
    case P_RSA_OK:
        gen_profile_rsa_ok(c, pki, BENCH_T0);
        break;
    case P_UNKNOWN_CA:
        gen_profile_field_case(c, pki, BENCH_T0);
        break;
    case P_ECDSA_OK:
        /* pre-X14.2 origin without verification: ECDSA selected, completes */
        gen_profile_field_case(c, pki, BENCH_T0);
        c->client_verify = false;
        break;
    case P_RSA_6972:
        /* the documented workaround: ECDHE-RSA first in the cipher string */
        gen_profile_field_case(c, pki, BENCH_T0);
        c->client_ciphers = "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384";
        break;
    case P_TLS13_OK:
        gen_profile_rsa_ok(c, pki, BENCH_T0);
        c->server_max = 0;
        break;
    case P_TLS13_UNKNOWN_CA:
        gen_profile_field_case(c, pki, BENCH_T0);
        c->server_max = 0;
        break;
    case P_COUNT:
        break;
    }
}

/* ---- sources ------------------------------------------------------------ */
enum src_kind { SRC_TLS, SRC_TCP, SRC_RTP, SRC_KINDS };
static const char *const KIND_NAME[SRC_KINDS] = {"tls", "other tcp", "rtp udp"};

enum tls_phase { PH_HANDSHAKE, PH_ROUNDS, PH_CLOSE, PH_DONE };

struct src {
    enum src_kind kind;
    uint64_t serial;                       /* tie-break in the heap */
    uint64_t start;
    struct gen_pktlist l;                  /* the current phase's packets */
    size_t i;                              /* next one to write */
    bool hs_phase;                         /* the packets in l are handshake bytes */
    /* TCP (TLS and other) */
    enum prof_id prof;
    struct gen_conn_params cp;
    enum tls_phase phase;
    uint32_t nxt[2];
    uint64_t ts;                           /* last packet of the previous phase */
    uint32_t rounds;
    uint64_t off[2];                       /* offsets into the payload buffers */
    /* RTP */
    char a[48], b[48];
    uint16_t pa, pb;
    uint64_t t_next, t_end;
    uint16_t rtp_seq[2];
    uint32_t rtp_ts[2], ssrc[2];
};

/* What a source starts from: filled at planning, made into a src when due. */
struct plan {
    uint64_t start;
    enum src_kind kind;
    enum prof_id prof;
    uint32_t rounds;
    uint32_t slot;                         /* TLS: node * 2 + port index */
    uint64_t seed;
    uint32_t client;                       /* TLS: IPv4 client (host order), 0: the Expressway */
    uint16_t cport;                        /* with client: its port */
};

struct bench {
    struct gen_rng rng;
    struct profile prof[P_COUNT];
    uint8_t *resp, *req, *raw, *rtp;       /* payload buffers */
    size_t resp_len, req_len;
    uint32_t next_cport[N_NODES * 2];
    struct src **heap;
    size_t nheap, capheap;
    uint64_t serial;
    /* accounting */
    uint64_t bytes[SRC_KINDS], packets, file_bytes, hs_bytes;
    size_t active_tls, peak_tls;
};

static void fill_random(struct gen_rng *r, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = gen_rng_next(r);

        for (size_t k = 0; k < 8 && i + k < n; k++)
            p[i + k] = (uint8_t)(v >> (8 * k));
    }
}

/* A buffer of `n` TLS application-data records of `body` bytes each. */
static uint8_t *records(struct gen_rng *r, unsigned n, unsigned body, size_t *len)
{
    size_t rec = 5u + body;
    uint8_t *p = malloc(rec * n);

    if (p == NULL)
        return NULL;
    fill_random(r, p, rec * n);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *h = p + i * rec;

        h[0] = 23;                         /* application_data */
        h[1] = 3;
        h[2] = 3;
        h[3] = (uint8_t)(body >> 8);
        h[4] = (uint8_t)body;
    }
    *len = rec * n;
    return p;
}

/* ---- heap of sources by (next packet time, serial) ----------------------- */
static bool src_before(const struct src *x, const struct src *y)
{
    uint64_t a = x->l.v[x->i].ts, b = y->l.v[y->i].ts;

    return a != b ? a < b : x->serial < y->serial;
}

static int heap_push(struct bench *b, struct src *s)
{
    size_t k;

    if (b->nheap == b->capheap) {
        size_t cap = b->capheap ? b->capheap * 2 : 256;
        struct src **h = realloc(b->heap, cap * sizeof *h);

        if (h == NULL)
            return -1;
        b->heap = h;
        b->capheap = cap;
    }
    k = b->nheap++;
    while (k > 0 && src_before(s, b->heap[(k - 1) / 2])) {
        b->heap[k] = b->heap[(k - 1) / 2];
        k = (k - 1) / 2;
    }
    b->heap[k] = s;
    return 0;
}

/* The top's key changed (or it left: pass NULL): restore the order. */
static void heap_fix_top(struct bench *b, struct src *s)
{
    size_t k = 0;

    if (s == NULL) {
        if (--b->nheap == 0)
            return;
        s = b->heap[b->nheap];
    }
    for (;;) {
        size_t c = 2 * k + 1;

        if (c >= b->nheap)
            break;
        if (c + 1 < b->nheap && src_before(b->heap[c + 1], b->heap[c]))
            c++;
        if (!src_before(b->heap[c], s))
            break;
        b->heap[k] = b->heap[c];
        k = c;
    }
    b->heap[k] = s;
}

/* ---- TCP phases ----------------------------------------------------------- */

/* `len` bytes of stream DIR taken cyclically from buf, cut at the MSS; the
 * receiver acks every second segment and the last one.  Returns the time of
 * the last packet. */
static int send_bytes(struct src *s, enum gen_dir dir, const uint8_t *buf, size_t buflen,
                      uint64_t len, uint64_t ts, uint64_t *last)
{
    const struct gen_conn_params *p = &s->cp;
    uint32_t mss = dir == GEN_C2S ? p->mss_s : p->mss_c;
    uint8_t seg[GEN_MAX_PKT];
    uint64_t sent = 0;
    unsigned nseg = 0;
    enum gen_dir peer = dir == GEN_C2S ? GEN_S2C : GEN_C2S;

    while (sent < len) {
        uint32_t n = (uint32_t)(len - sent < mss ? len - sent : mss);
        size_t o = (size_t)(s->off[dir] % buflen);
        uint8_t flags = GEN_TH_ACK | (sent + n == len ? GEN_TH_PSH : 0);

        for (uint32_t k = 0; k < n;) {
            size_t take = buflen - o < n - k ? buflen - o : n - k;

            memcpy(seg + k, buf + o, take);
            k += (uint32_t)take;
            o = 0;
        }
        if (nseg > 0)
            ts += dir == GEN_S2C ? SEG_GAP_US : 4u;
        if (gen_tcp_segment(p, dir, s->nxt[dir], s->nxt[peer], flags, seg, n, ts, -1, &s->l) != 0)
            return -1;
        s->nxt[dir] += n;
        s->off[dir] += n;
        sent += n;
        nseg++;
        if ((nseg % 2 == 0 || sent == len) && dir == GEN_S2C) {
            /* the capturing client acks what arrived */
            if (gen_tcp_segment(p, peer, s->nxt[peer], s->nxt[dir], GEN_TH_ACK, NULL, 0,
                                ts + ACK_GAP_US, -1, &s->l) != 0)
                return -1;
        }
    }
    *last = ts;
    return 0;
}

static int tcp_fin_close(struct src *s, uint64_t ts)
{
    const struct gen_conn_params *p = &s->cp;

    ts += 20;
    if (gen_tcp_segment(p, GEN_C2S, s->nxt[GEN_C2S], s->nxt[GEN_S2C], GEN_TH_FIN | GEN_TH_ACK,
                        NULL, 0, ts, -1, &s->l) != 0)
        return -1;
    s->nxt[GEN_C2S]++;
    ts += p->rtt_us;
    if (gen_tcp_segment(p, GEN_S2C, s->nxt[GEN_S2C], s->nxt[GEN_C2S], GEN_TH_FIN | GEN_TH_ACK,
                        NULL, 0, ts, -1, &s->l) != 0)
        return -1;
    s->nxt[GEN_S2C]++;
    ts += ACK_GAP_US;
    if (gen_tcp_segment(p, GEN_C2S, s->nxt[GEN_C2S], s->nxt[GEN_S2C], GEN_TH_ACK, NULL, 0, ts,
                        -1, &s->l) != 0)
        return -1;
    s->ts = ts;
    return 0;
}

/* One keep-alive round: request, think, response. */
static int tcp_round(struct bench *b, struct src *s)
{
    const struct gen_conn_params *p = &s->cp;
    uint64_t ts = s->ts + gen_rng_range(&b->rng, THINK_MIN_US, THINK_MAX_US), last;
    bool tls = s->kind == SRC_TLS;
    uint64_t req = tls ? REQ_LEN : gen_rng_range(&b->rng, 200, 2000);
    uint64_t resp = tls ? (uint64_t)gen_rng_range(&b->rng, 1, MAX_RESP_RECS) * REC_LEN
                        : gen_rng_range(&b->rng, RAW_RESP_MIN, RAW_RESP_MAX);

    if (send_bytes(s, GEN_C2S, tls ? b->req : b->raw, tls ? b->req_len : RAW_BUF, req, ts,
                   &last) != 0)
        return -1;
    ts = last + p->rtt_us + p->srv_proc_us;
    if (send_bytes(s, GEN_S2C, tls ? b->resp : b->raw, tls ? b->resp_len : RAW_BUF, resp, ts,
                   &last) != 0)
        return -1;
    s->ts = last + ACK_GAP_US;
    return 0;
}

/* The handshake phase: SYN .. the transcript .. (failures: the close). */
static int tls_handshake(struct bench *b, struct src *s)
{
    const struct profile *pf = &b->prof[s->prof];
    struct gen_transcript th = pf->t;      /* shallow: the flights stay pf's */

    th.n = pf->n_hs;
    s->ts = gen_conn_emit(&s->cp, &th, &s->l);
    s->nxt[GEN_C2S] = s->cp.isn_c + 1;
    s->nxt[GEN_S2C] = s->cp.isn_s + 1;
    for (size_t i = 0; i < th.n; i++)
        s->nxt[th.v[i].dir] += (uint32_t)th.v[i].len;
    s->hs_phase = true;
    return 0;
}

/* close_notify each way (the transcript's last two flights), then FINs. */
static int tls_close(struct bench *b, struct src *s)
{
    const struct profile *pf = &b->prof[s->prof];
    uint64_t ts = s->ts + gen_rng_range(&b->rng, THINK_MIN_US, THINK_MAX_US), last = ts;

    for (size_t i = pf->n_hs; i < pf->t.n; i++) {
        const struct gen_flight *f = &pf->t.v[i];
        uint64_t save = s->off[f->dir];

        s->off[f->dir] = 0;
        if (send_bytes(s, f->dir, f->data, f->len, f->len, ts, &last) != 0)
            return -1;
        s->off[f->dir] = save;
        ts = last + s->cp.rtt_us;
    }
    return tcp_fin_close(s, last);
}

/* Make the source's next phase; false when it has no more packets. */
static int tcp_refill(struct bench *b, struct src *s, bool *more)
{
    int rc = 0;

    gen_pktlist_free(&s->l);
    s->i = 0;
    s->hs_phase = false;
    *more = true;
    switch (s->phase) {
    case PH_HANDSHAKE:
        if (s->kind == SRC_TLS) {
            rc = tls_handshake(b, s);
            s->phase = b->prof[s->prof].expect < 0 ? PH_ROUNDS : PH_DONE;
        } else {
            struct gen_transcript empty;

            memset(&empty, 0, sizeof empty);
            s->ts = gen_conn_emit(&s->cp, &empty, &s->l);
            s->nxt[GEN_C2S] = s->cp.isn_c + 1;
            s->nxt[GEN_S2C] = s->cp.isn_s + 1;
            s->phase = PH_ROUNDS;
        }
        break;
    case PH_ROUNDS:
        rc = tcp_round(b, s);
        if (--s->rounds == 0)
            s->phase = PH_CLOSE;
        break;
    case PH_CLOSE:
        rc = s->kind == SRC_TLS ? tls_close(b, s) : tcp_fin_close(s, s->ts);
        s->phase = PH_DONE;
        break;
    case PH_DONE:
        *more = false;
        break;
    }
    if (rc == 0 && s->l.n > 1)
        gen_pktlist_sort(&s->l);           /* acks interleave with the data */
    return rc;
}

/* ---- RTP ------------------------------------------------------------------ */
static int rtp_refill(struct bench *b, struct src *s, bool *more)
{
    uint64_t until = s->t_next + RTP_CHUNK_US;

    gen_pktlist_free(&s->l);
    s->i = 0;
    *more = s->t_next < s->t_end;
    if (!*more)
        return 0;
    if (until > s->t_end)
        until = s->t_end;
    for (; s->t_next < until; s->t_next += RTP_PERIOD_US) {
        for (int d = 0; d < 2; d++) {
            uint8_t pkt[RTP_PAYLOAD];
            uint64_t ts = s->t_next + (d ? 7000u : 0u);

            memcpy(pkt, b->rtp + (s->rtp_seq[d] % 64u) * 16u, RTP_PAYLOAD);
            pkt[0] = 0x80;                 /* V=2 */
            pkt[1] = 0;                    /* PT 0: G.711 mu-law */
            pkt[2] = (uint8_t)(s->rtp_seq[d] >> 8);
            pkt[3] = (uint8_t)s->rtp_seq[d];
            for (int k = 0; k < 4; k++) {
                pkt[4 + k] = (uint8_t)(s->rtp_ts[d] >> (24 - 8 * k));
                pkt[8 + k] = (uint8_t)(s->ssrc[d] >> (24 - 8 * k));
            }
            s->rtp_seq[d]++;
            s->rtp_ts[d] += 160;
            if (gen_udp_packet(&s->l, d ? s->b : s->a, d ? s->a : s->b, d ? s->pb : s->pa,
                               d ? s->pa : s->pb, pkt, RTP_PAYLOAD, ts, 0) != 0)
                return -1;
        }
    }
    gen_pktlist_sort(&s->l);
    return 0;
}

static int src_refill(struct bench *b, struct src *s, bool *more)
{
    return s->kind == SRC_RTP ? rtp_refill(b, s, more) : tcp_refill(b, s, more);
}

/* ---- making sources from the plan --------------------------------------- */
static struct src *src_new(struct bench *b, const struct plan *pl)
{
    struct src *s = calloc(1, sizeof *s);
    struct gen_rng r;

    if (s == NULL)
        return NULL;
    gen_rng_seed(&r, pl->seed);
    s->kind = pl->kind;
    s->serial = b->serial++;
    s->start = pl->start;
    s->prof = pl->prof;
    s->rounds = pl->rounds;
    s->phase = PH_HANDSHAKE;
    switch (pl->kind) {
    case SRC_TLS: {
        const struct profile *pf = &b->prof[pl->prof];
        uint32_t *next = &b->next_cport[pl->slot];

        gen_conn_defaults(&s->cp, &r, EXPW_IP, CUCM_NODES[pl->slot / 2], pf->port, pl->start);
        /* ephemeral ports handed out in turn: no two live flows share one */
        s->cp.cport = (uint16_t)(30001u + (*next)++ % 30000u);
        if (pl->client != 0) {
            for (int k = 0; k < 4; k++)
                s->cp.cip[k] = (uint8_t)(pl->client >> (24 - 8 * k));
            s->cp.cport = pl->cport;
        }
        if (pf->expect == GEN_C2S)
            s->cp.close = GEN_CLOSE_CLIENT_RST;
        else if (pf->expect == GEN_S2C)
            s->cp.close = GEN_CLOSE_SERVER_FIN_CLIENT_RST;
        else
            s->cp.close = GEN_CLOSE_NONE;
        break;
    }
    case SRC_TCP: {
        static const uint16_t ports[] = {5061, 7001, 443, 22};
        char sip[32];

        snprintf(sip, sizeof sip, "10.48.%u.%u", 40u + gen_rng_range(&r, 0, 7),
                 gen_rng_range(&r, 2, 250));
        gen_conn_defaults(&s->cp, &r, EXPW_IP, sip, ports[gen_rng_range(&r, 0, 3)], pl->start);
        s->cp.close = GEN_CLOSE_NONE;
        break;
    }
    case SRC_RTP: {
        uint32_t dur = gen_rng_range(&r, RTP_MIN_S, RTP_MAX_S);

        snprintf(s->a, sizeof s->a, "%s", EXPW_IP);
        snprintf(s->b, sizeof s->b, "10.20.%u.%u", gen_rng_range(&r, 1, 30),
                 gen_rng_range(&r, 2, 250));
        s->pa = (uint16_t)(gen_rng_range(&r, 18000, 29999) & ~1u);   /* RTP: even ports */
        s->pb = (uint16_t)(gen_rng_range(&r, 16384, 32766) & ~1u);
        s->t_next = pl->start;
        s->t_end = pl->start + (uint64_t)dur * GEN_US;
        for (int d = 0; d < 2; d++) {
            s->rtp_seq[d] = (uint16_t)gen_rng_next(&r);
            s->rtp_ts[d] = (uint32_t)gen_rng_next(&r);
            s->ssrc[d] = (uint32_t)gen_rng_next(&r);
        }
        break;
    }
    case SRC_KINDS:
        break;
    }
    return s;
}

static void src_free(struct src *s)
{
    if (s != NULL)
        gen_pktlist_free(&s->l);
    free(s);
}

/* ---- set-up: transcripts, sizes, the plan -------------------------------- */
static int make_profile(struct bench *b, const struct gen_pki *pki, int i)
{
    static const struct {
        const char *name;
        uint16_t port;
        unsigned weight;
        int expect;
    } defs[P_COUNT] = {
        [P_RSA_OK] = {"8443 RSA CA-signed, complete", 8443, 35, -1},
        [P_UNKNOWN_CA] = {"6972 ECDSA self-signed, Unknown CA", 6972, 25, GEN_C2S},
        [P_ECDSA_OK] = {"6972 ECDSA, no verification, complete", 6972, 10, -1},
        [P_RSA_6972] = {"6972 RSA first, complete", 6972, 10, -1},
        [P_TLS13_OK] = {"8443 TLS 1.3, complete", 8443, 15, -1},
        [P_TLS13_UNKNOWN_CA] = {"6972 TLS 1.3, Unknown CA", 6972, 5, GEN_C2S},
    };

    {
        struct profile *pf = &b->prof[i];
        struct gen_tls_cfg cfg;
        struct gen_conn_params cp;
        struct src probe;
        bool ok;

        pf->name = defs[i].name;
        pf->port = defs[i].port;
        pf->weight = defs[i].weight;
        pf->expect = defs[i].expect;
        profile_cfg((enum prof_id)i, &cfg, pki);
        if (gen_tls_run(&cfg, &pf->t) != 0) {
            fprintf(stderr, "gen: bench: %s: TLS set-up failed\n", pf->name);
            return -1;
        }
        ok = pf->expect < 0 ? pf->t.complete : pf->t.failed_side == pf->expect;
        /* a completed transcript ends with close_notify from each side */
        if (ok && pf->expect < 0)
            ok = pf->t.n >= 2 && pf->t.v[pf->t.n - 2].dir == GEN_C2S &&
                 pf->t.v[pf->t.n - 1].dir == GEN_S2C;
        fprintf(stderr, "  %-40s %s %s %s\n", pf->name, pf->t.version, pf->t.cipher,
                pf->t.complete ? "complete" : pf->t.error);
        if (!ok) {
            fprintf(stderr, "gen: bench: %s: unexpected outcome\n", pf->name);
            return -1;
        }
        pf->n_hs = pf->expect < 0 ? pf->t.n - 2 : pf->t.n;
        /* measure one handshake phase */
        gen_conn_defaults(&cp, &b->rng, EXPW_IP, CUCM_NODES[0], pf->port, BENCH_T0 * GEN_US);
        memset(&probe, 0, sizeof probe);
        probe.cp = cp;
        probe.prof = (enum prof_id)i;
        probe.cp.close = pf->expect < 0 ? GEN_CLOSE_NONE : GEN_CLOSE_CLIENT_RST;
        if (tls_handshake(b, &probe) != 0)
            return -1;
        for (size_t k = 0; k < probe.l.n; k++)
            pf->hs_bytes += BENCH_FRAME + probe.l.v[k].len;
        gen_pktlist_free(&probe.l);
    }
    return 0;
}

static int make_profiles(struct bench *b, const struct gen_pki *pki)
{
    for (int i = 0; i < P_COUNT; i++)
        if (make_profile(b, pki, i) != 0)
            return -1;
    return 0;
}

static int plan_cmp(const void *x, const void *y)
{
    const struct plan *a = x, *b = y;

    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->seed < b->seed ? -1 : a->seed > b->seed;
}

/* Rough file bytes of one keep-alive round (request + response + acks). */
static double round_bytes(bool tls)
{
    double req = tls ? REQ_LEN : 1100.0, resp = tls ? (MAX_RESP_RECS + 1) / 2.0 * REC_LEN
                                                    : (RAW_RESP_MIN + RAW_RESP_MAX) / 2.0;
    double segs = resp / 1460.0 + 1;

    return req + resp + (segs * 1.5 + 1) * (BENCH_FRAME + 40);
}

static int make_plan(struct bench *b, uint64_t target, uint64_t handshakes, struct plan **out,
                     size_t *nout)
{
    uint64_t span = target / BENCH_GIB * BENCH_SPAN_PER_GIB_US;
    uint64_t t0 = BENCH_T0 * GEN_US, planned = 0, done_hs = 0;
    unsigned wsum = 0, wdone = 0;
    size_t n = 0, cap = 1024;
    struct plan *v = malloc(cap * sizeof *v);
    double hs_avg = 0, tls_bulk, mean_rounds;
    uint32_t rounds_max;

    if (v == NULL)
        return -1;
    if (span < BENCH_MIN_SPAN_US)
        span = BENCH_MIN_SPAN_US;
    for (int i = 0; i < P_COUNT; i++) {
        wsum += b->prof[i].weight;
        hs_avg += (double)b->prof[i].weight * (double)b->prof[i].hs_bytes;
        if (b->prof[i].expect < 0)
            wdone += b->prof[i].weight;
    }
    hs_avg /= wsum;
    if (handshakes == 0) {
        uint64_t base = target < BENCH_GIB ? target : BENCH_GIB;

        handshakes = (uint64_t)(BENCH_HS_SHARE * (double)base / hs_avg) + 1;
    }
    /* TLS bulk: spread over the completed connections as keep-alive rounds */
    tls_bulk = BENCH_TLS_BULK_SHARE * (double)target;
    mean_rounds = tls_bulk / ((double)handshakes * wdone / wsum) / round_bytes(true);
    rounds_max = mean_rounds < 1 ? 1 : (uint32_t)(2 * mean_rounds - 0.5);

#define PLAN_PUSH(p)                                                            \
    do {                                                                        \
        if (n == cap) {                                                         \
            struct plan *nv = realloc(v, cap * 2 * sizeof *nv);                 \
            if (nv == NULL) {                                                   \
                free(v);                                                        \
                return -1;                                                      \
            }                                                                   \
            v = nv;                                                             \
            cap *= 2;                                                           \
        }                                                                       \
        v[n++] = (p);                                                           \
    } while (0)

    for (uint64_t i = 0; i < handshakes; i++) {
        struct plan p = {0};
        uint32_t pick = gen_rng_range(&b->rng, 0, wsum - 1);
        int id = 0;

        while (pick >= b->prof[id].weight) {
            pick -= b->prof[id].weight;
            id++;
        }
        p.kind = SRC_TLS;
        p.prof = (enum prof_id)id;
        p.start = t0 + gen_rng_next(&b->rng) % span;
        p.slot = gen_rng_range(&b->rng, 0, N_NODES - 1) * 2 + (b->prof[id].port == 6972);
        p.seed = gen_rng_next(&b->rng);
        if (b->prof[id].expect < 0) {
            p.rounds = gen_rng_range(&b->rng, 1, rounds_max);
            planned += (uint64_t)(p.rounds * round_bytes(true));
        }
        planned += b->prof[id].hs_bytes;
        done_hs++;
        b->prof[id].count++;
        PLAN_PUSH(p);
    }
    /* RTP calls */
    for (uint64_t rtp = 0; rtp < (uint64_t)(BENCH_RTP_SHARE * (double)target);) {
        struct plan p = {0};
        struct gen_rng r;
        uint32_t dur;

        p.kind = SRC_RTP;
        p.seed = gen_rng_next(&b->rng);
        gen_rng_seed(&r, p.seed);
        dur = gen_rng_range(&r, RTP_MIN_S, RTP_MAX_S);    /* as src_new will draw it */
        p.start = t0 + gen_rng_next(&b->rng) % span;
        rtp += (uint64_t)dur * (GEN_US / RTP_PERIOD_US) * 2 * RTP_WIRE;
        planned += (uint64_t)dur * (GEN_US / RTP_PERIOD_US) * 2 * RTP_WIRE;
        PLAN_PUSH(p);
    }
    /* other TCP until the target (and 1% over: the estimates are rough) */
    while (planned < target + target / 100) {
        struct plan p = {0};

        p.kind = SRC_TCP;
        p.seed = gen_rng_next(&b->rng);
        p.start = t0 + gen_rng_next(&b->rng) % span;
        p.rounds = gen_rng_range(&b->rng, 1, 12);
        planned += (uint64_t)(p.rounds * round_bytes(false)) + 6 * (BENCH_FRAME + 40);
        PLAN_PUSH(p);
    }
#undef PLAN_PUSH
    qsort(v, n, sizeof *v, plan_cmp);
    fprintf(stderr, "gen: bench plan: %llu handshakes (%.0f bytes on average), %zu sources, "
            "%.0f s of traffic\n", (unsigned long long)done_hs, hs_avg, n,
            (double)span / GEN_US);
    *out = v;
    *nout = n;
    return 0;
}

/* ---- the run ---------------------------------------------------------------- */
static int write_top(struct bench *b, pcap_dumper_t *d)
{
    struct src *s = b->heap[0];
    const struct gen_pkt *p = &s->l.v[s->i];
    uint64_t fb = BENCH_FRAME + p->len;

    gen_dump_pkt(d, GEN_LINK_ETH, 0, p);
    b->packets++;
    b->file_bytes += fb;
    b->bytes[s->kind] += fb;
    if (s->hs_phase)
        b->hs_bytes += fb;
    s->i++;
    while (s->i == s->l.n) {
        bool more;

        if (src_refill(b, s, &more) != 0)
            return -1;
        if (!more) {
            if (s->kind == SRC_TLS)
                b->active_tls--;
            heap_fix_top(b, NULL);
            src_free(s);
            return 0;
        }
    }
    heap_fix_top(b, s);
    return 0;
}

static int start_source(struct bench *b, const struct plan *pl)
{
    struct src *s = src_new(b, pl);
    bool more = true;

    if (s == NULL)
        return -1;
    while (s->i == s->l.n && more) {
        if (src_refill(b, s, &more) != 0) {
            src_free(s);
            return -1;
        }
    }
    if (!more) {
        src_free(s);
        return 0;
    }
    if (s->kind == SRC_TLS && ++b->active_tls > b->peak_tls)
        b->peak_tls = b->active_tls;
    return heap_push(b, s);
}

static int run(struct bench *b, const struct plan *plan, size_t nplan, pcap_dumper_t *d,
               uint64_t target)
{
    size_t next = 0;
    uint64_t extra_seed = 0x5eed;

    for (;;) {
        while (next < nplan &&
               (b->nheap == 0 || plan[next].start <= b->heap[0]->l.v[b->heap[0]->i].ts)) {
            if (start_source(b, &plan[next++]) != 0)
                return -1;
        }
        if (b->nheap == 0) {
            struct plan p = {0};

            if (b->file_bytes >= target)
                return 0;
            /* the estimates fell short: more bulk after the end */
            p.kind = SRC_TCP;
            p.seed = extra_seed++;
            p.start = nplan ? plan[nplan - 1].start + GEN_US : BENCH_T0 * GEN_US;
            p.rounds = 12;
            if (start_source(b, &p) != 0)
                return -1;
            continue;
        }
        if (write_top(b, d) != 0)
            return -1;
    }
}

int gen_bench_main(int argc, char **argv)
{
    struct bench b;
    struct gen_pki pki;
    struct plan *plan = NULL;
    size_t nplan = 0, resp_len = 0, req_len = 0;
    char tmp[1100];
    unsigned long long mb, hs = 0;
    char *end;
    pcap_t *pd = NULL;
    pcap_dumper_t *d = NULL;
    FILE *fp = NULL;
    char *iobuf = NULL;
    struct timespec t_start, t_end;
    int rc = 1;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: gen --bench PKIDIR OUT.pcap MEGABYTES [HANDSHAKES]\n");
        return 2;
    }
    errno = 0;
    mb = strtoull(argv[2], &end, 10);
    if (errno != 0 || *end != '\0' || mb == 0 || mb > (1ull << 24)) {
        fprintf(stderr, "gen: bench: bad size '%s' (MiB)\n", argv[2]);
        return 2;
    }
    if (argc == 4) {
        hs = strtoull(argv[3], &end, 10);
        if (*end != '\0' || hs == 0 || hs > 10000000ull) {
            fprintf(stderr, "gen: bench: bad handshake count '%s'\n", argv[3]);
            return 2;
        }
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]) >= (int)sizeof tmp)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    memset(&b, 0, sizeof b);
    gen_rng_seed(&b.rng, 0x7153b3c4ULL);
    if (gen_pki_load_or_create(&pki, argv[0]) != 0)
        return 1;
    b.resp = records(&b.rng, RESP_RECS, REC_BODY, &resp_len);
    b.req = records(&b.rng, REQ_RECS, REQ_BODY, &req_len);
    b.raw = malloc(RAW_BUF);
    b.rtp = malloc(64u * 16u + RTP_PAYLOAD);
    b.resp_len = resp_len;
    b.req_len = req_len;
    if (b.resp == NULL || b.req == NULL || b.raw == NULL || b.rtp == NULL)
        goto out;
    fill_random(&b.rng, b.raw, RAW_BUF);
    fill_random(&b.rng, b.rtp, 64u * 16u + RTP_PAYLOAD);
    if (make_profiles(&b, &pki) != 0 || make_plan(&b, mb << 20, hs, &plan, &nplan) != 0)
        goto out;

    pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_MICRO);
    fp = fopen(tmp, "wb");
    iobuf = malloc(BENCH_IOBUF);
    if (pd == NULL || fp == NULL || iobuf == NULL) {
        fprintf(stderr, "gen: bench: %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    setvbuf(fp, iobuf, _IOFBF, BENCH_IOBUF);
    d = pcap_dump_fopen(pd, fp);
    if (d == NULL) {
        fprintf(stderr, "gen: bench: %s\n", pcap_geterr(pd));
        goto out;
    }
    fp = NULL;                             /* the dumper owns it now */
    if (run(&b, plan, nplan, d, mb << 20) != 0) {
        fprintf(stderr, "gen: bench: out of memory\n");
        goto out;
    }
    if (pcap_dump_flush(d) != 0 || ferror(pcap_dump_file(d))) {
        fprintf(stderr, "gen: bench: writing %s failed\n", tmp);
        goto out;
    }
    pcap_dump_close(d);
    d = NULL;
    if (rename(tmp, argv[1]) != 0) {
        fprintf(stderr, "gen: bench: rename %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t_end);
    b.file_bytes += 24;                    /* pcap file header */
    fprintf(stderr, "gen: bench: %s: %llu bytes, %llu packets in %.1f s; peak %zu TLS flows open\n",
            argv[1], (unsigned long long)b.file_bytes, (unsigned long long)b.packets,
            (double)(t_end.tv_sec - t_start.tv_sec) + (t_end.tv_nsec - t_start.tv_nsec) / 1e9,
            b.peak_tls);
    fprintf(stderr, "  handshakes %5.2f%%", 100.0 * (double)b.hs_bytes / (double)b.file_bytes);
    for (int k = 0; k < SRC_KINDS; k++)
        fprintf(stderr, "  %s %5.2f%%", KIND_NAME[k], 100.0 * (double)b.bytes[k] / (double)b.file_bytes);
    fprintf(stderr, "\n");
    for (int i = 0; i < P_COUNT; i++)
        fprintf(stderr, "  %6llu x %s\n", (unsigned long long)b.prof[i].count, b.prof[i].name);
    rc = 0;
out:
    if (d != NULL)
        pcap_dump_close(d);
    if (fp != NULL)
        fclose(fp);
    if (rc != 0)
        remove(tmp);
    if (pd != NULL)
        pcap_close(pd);
    free(iobuf);
    for (size_t i = 0; i < b.nheap; i++)
        src_free(b.heap[i]);
    free(b.heap);
    free(plan);
    for (int i = 0; i < P_COUNT; i++)
        gen_transcript_free(&b.prof[i].t);
    free(b.resp);
    free(b.req);
    free(b.raw);
    free(b.rtp);
    gen_pki_free(&pki);
    return rc;
}

/* ---- the dense capture -------------------------------------------------------
 *
 *   gen --dense PKIDIR OUT.pcap CONNECTIONS
 *
 * The handshake-dense workload of `make bench`: one real OpenSSL handshake,
 * the field case on 6972 (ECDSA selected, self-signed tomcat-ECDSA, the
 * client sends Unknown CA and resets), replicated CONNECTIONS times with
 * distinct clients (16 ports on each of consecutive addresses from
 * 10.64.0.1) against the four CUCM nodes in turn, one SYN every DENSE_GAP_US,
 * so about a hundred handshakes overlap.  Nothing else is in the file: it
 * measures the per-connection cost, where the 1 GiB capture measures the
 * per-byte cost.  Sources are made as they become due and merged by the
 * same heap, so memory stays small for millions of connections. */
#define DENSE_GAP_US 100u
#define DENSE_PER_CLIENT 16u
#define DENSE_CLIENT0 0x0a400001u           /* 10.64.0.1 */
#define DENSE_MAX 50000000ull

static struct plan dense_plan(struct bench *b, uint64_t i)
{
    struct plan p = {0};

    p.kind = SRC_TLS;
    p.prof = P_UNKNOWN_CA;
    p.start = BENCH_T0 * GEN_US + i * DENSE_GAP_US;
    p.slot = (uint32_t)(i % N_NODES) * 2 + 1;
    p.seed = gen_rng_next(&b->rng);
    p.client = DENSE_CLIENT0 + (uint32_t)(i / DENSE_PER_CLIENT);
    p.cport = (uint16_t)(30001u + (i % DENSE_PER_CLIENT) * 1877u + (i / DENSE_PER_CLIENT) % 1877u);
    return p;
}

int gen_dense_main(int argc, char **argv);

int gen_dense_main(int argc, char **argv)
{
    struct bench b;
    struct gen_pki pki;
    unsigned long long n;
    uint64_t next = 0;
    char tmp[1100], *end;
    pcap_t *pd = NULL;
    pcap_dumper_t *d = NULL;
    FILE *fp = NULL;
    char *iobuf = NULL;
    struct timespec t_start, t_end;
    int rc = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: gen --dense PKIDIR OUT.pcap CONNECTIONS\n");
        return 2;
    }
    errno = 0;
    n = strtoull(argv[2], &end, 10);
    if (errno != 0 || *end != '\0' || n == 0 || n > DENSE_MAX) {
        fprintf(stderr, "gen: dense: bad connection count '%s'\n", argv[2]);
        return 2;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]) >= (int)sizeof tmp)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    memset(&b, 0, sizeof b);
    gen_rng_seed(&b.rng, 0xde45e000ULL);
    if (gen_pki_load_or_create(&pki, argv[0]) != 0)
        return 1;
    /* OpenSSL's randomness from a fixed seed too: the same N gives the same
     * file (the ECDSA signature's length varies with its random nonce) */
    if (gen_rand_seed("dense") != 0 || make_profile(&b, &pki, P_UNKNOWN_CA) != 0)
        goto out;
    pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_MICRO);
    fp = fopen(tmp, "wb");
    iobuf = malloc(BENCH_IOBUF);
    if (pd == NULL || fp == NULL || iobuf == NULL) {
        fprintf(stderr, "gen: dense: %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    setvbuf(fp, iobuf, _IOFBF, BENCH_IOBUF);
    d = pcap_dump_fopen(pd, fp);
    if (d == NULL) {
        fprintf(stderr, "gen: dense: %s\n", pcap_geterr(pd));
        goto out;
    }
    fp = NULL;                             /* the dumper owns it now */
    for (;;) {
        while (next < n && (b.nheap == 0 || BENCH_T0 * GEN_US + next * DENSE_GAP_US <=
                                                b.heap[0]->l.v[b.heap[0]->i].ts)) {
            struct plan p = dense_plan(&b, next++);

            b.prof[P_UNKNOWN_CA].count++;
            if (start_source(&b, &p) != 0)
                goto oom;
        }
        if (b.nheap == 0)
            break;
        if (write_top(&b, d) != 0)
            goto oom;
    }
    if (pcap_dump_flush(d) != 0 || ferror(pcap_dump_file(d))) {
        fprintf(stderr, "gen: dense: writing %s failed\n", tmp);
        goto out;
    }
    pcap_dump_close(d);
    d = NULL;
    if (rename(tmp, argv[1]) != 0) {
        fprintf(stderr, "gen: dense: rename %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t_end);
    b.file_bytes += 24;                    /* pcap file header */
    fprintf(stderr, "gen: dense: %s: %llu bytes, %llu packets, %llu connections in %.1f s; "
            "peak %zu open\n", argv[1], (unsigned long long)b.file_bytes,
            (unsigned long long)b.packets, n,
            (double)(t_end.tv_sec - t_start.tv_sec) + (t_end.tv_nsec - t_start.tv_nsec) / 1e9,
            b.peak_tls);
    fprintf(stderr, "  %llu x %s\n", n, b.prof[P_UNKNOWN_CA].name);
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "gen: dense: out of memory\n");
out:
    if (d != NULL)
        pcap_dump_close(d);
    if (fp != NULL)
        fclose(fp);
    if (rc != 0)
        remove(tmp);
    if (pd != NULL)
        pcap_close(pd);
    free(iobuf);
    for (size_t i = 0; i < b.nheap; i++)
        src_free(b.heap[i]);
    free(b.heap);
    gen_transcript_free(&b.prof[P_UNKNOWN_CA].t);
    gen_pki_free(&pki);
    return rc;
}
