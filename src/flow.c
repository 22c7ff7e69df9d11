/* flow.c - the TCP connection table: 4-tuple lookup, sides, LRU/idle eviction, per-side reassembly. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/err.h"
#include "tlsinspect/flow.h"

#define FLOW_MIN_BUCKETS 1024u          /* 8 KiB of chain heads to start with */
#define FLOW_MAX_BUCKETS (1u << 17)     /* 1 MiB of chain heads on 64-bit */
#define FLOW_PORTMAP_WORDS (65536u / 64u)
#define FLOW_TRIM_EVERY 8192u          /* flows released at the end between malloc_trim() calls */

/* A connection closed by both FINs or by an RST, or let go at the idle
 * timeout, remembered so that its bytes seen again (a close_notify
 * retransmitted after the FINs, the copy of an alert that `tcpdump -i any`
 * captured on a second interface after the RST), still in flight when the
 * RST was sent, or sent after a long silence are not taken for a new
 * connection.  A small direct-mapped cache: a later close takes the slot
 * over. */
#define FLOW_CLOSED_SLOTS 1024u
/* How long a closed connection is remembered: TIME_WAIT (2 MSL, 60 s on
 * Linux) and a retransmission's backoff both fit; a 4-tuple reused later
 * without a captured SYN is a new connection. */
#define FLOW_CLOSED_TTL_US (120LL * 1000000LL)
/* A connection let go at the idle timeout may carry on much later (an
 * HTTP keep-alive connection reused, a long-lived SIP TLS connection):
 * remembered up to Linux's default keepalive time (tcp_keepalive_time). */
#define FLOW_IDLE_TTL_US (7200LL * 1000000LL)
/* Bytes past a stream's end at its RST (or idle eviction) that still
 * belong to it: what the sender had in flight before the RST reached it
 * (a window's worth).  A new connection on the same 4-tuple whose SYN was
 * missed starts at a random ISN: it lands in this range about once in a
 * thousand. */
#define FLOW_LATE_AFTER_RST (4u << 20)
/* After an RST those bytes count only this soon after it (a few
 * retransmission timeouts): an RST the peers ignored (RFC 5961 3.2: not
 * at RCV.NXT) does not hide the rest of their connection for long. */
#define FLOW_LATE_AFTER_RST_US (5LL * 1000000LL)
/* Two copies of one segment (same side, sequence number and length) this
 * close in time are the capture's own: a packet seen on two interfaces
 * (`tcpdump -i any` on a bond, bridge or VLAN interface).  TCP does not
 * resend that fast (Linux: RTO >= 200 ms, tail loss probe >= 10 ms). */
#define FLOW_DUP_WINDOW_US 2000
enum flow_closed_kind { CLOSED_NONE, CLOSED_FIN, CLOSED_RST, CLOSED_IDLE };
struct flow_closed {
    bool used;
    uint8_t kind;                       /* enum flow_closed_kind: after an RST in-flight data,
                                         * after the idle timeout the rest may follow */
    uint32_t hash;
    int64_t ts;                         /* when it closed */
    struct conn_endpoint side[2];
    bool started[2];
    uint32_t start[2];                  /* each side's first sequence number of data */
    uint32_t end[2];                    /* each side's next sequence number at the close */
};

struct flow_table {
    struct flow_limits lim;
    struct flow_ops ops;
    bool all_ports;                     /* or no port list given */
    uint64_t portmap[FLOW_PORTMAP_WORDS];   /* selected ports, one bit each */
    struct flow **buckets;
    size_t mask;                        /* bucket count - 1 (a power of two) */
    struct flow *lru_head, *lru_tail;   /* most recently active at the head */
    size_t nflows;
    uint64_t next_serial;
    /* Open flows as a min-heap by first packet time (heap[0] the oldest):
     * what a report that writes in that order may write up to. */
    struct flow **heap;
    size_t heap_cap;
    bool track_oldest;                  /* the heap is kept (flow_table_track_oldest()) */
    struct reasm_limits rlim;           /* total_used -> st.ooo_bytes */
    struct flow_stats st;
    struct flow_closed closed[FLOW_CLOSED_SLOTS];
};

static void flow_remember_closed(struct flow_table *t, const struct flow *f, int kind, int64_t ts);

/* Where a reassembled direction's bytes go: the consumer, tagged with the side. */
struct flow_sink_ctx {
    struct flow_table *t;
    struct flow *f;
    int side;
};

void flow_limits_default(struct flow_limits *lim)
{
    lim->max_flows = FLOW_MAX_FLOWS;
    lim->idle_timeout_us = FLOW_IDLE_TIMEOUT_US;
    lim->max_dir_bytes = REASM_MAX_OOO_BYTES_DIR;
    lim->max_dir_segs = REASM_MAX_OOO_SEGS_DIR;
    lim->max_total_bytes = REASM_MAX_OOO_BYTES_TOTAL;
}

static bool flow_port_listed(const struct flow_table *t, uint16_t port)
{
    return (t->portmap[port >> 6] >> (port & 63)) & 1u;
}

bool flow_port_selected(const struct flow_table *t, uint16_t sport, uint16_t dport)
{
    return t->all_ports || flow_port_listed(t, sport) || flow_port_listed(t, dport);
}

int flow_table_new(struct flow_table **out, const struct flow_limits *lim,
                   const uint16_t *ports, size_t nports, bool all_ports,
                   const struct flow_ops *ops)
{
    struct flow_table *t;
    size_t nb = FLOW_MIN_BUCKETS, i;

    if (!out || !ops)
        return TI_EUSAGE;
    *out = NULL;
    if (!all_ports && nports > 0 && !ports)
        return TI_EUSAGE;
    if (!all_ports && nports > FLOW_MAX_PORTS)
        return TI_ELIMIT;
    t = calloc(1, sizeof(*t));
    if (!t)
        return TI_ENOMEM;
    if (lim)
        t->lim = *lim;
    else
        flow_limits_default(&t->lim);
    if (t->lim.max_flows == 0) {
        free(t);
        return TI_EUSAGE;
    }
    t->ops = *ops;
    /* No list at all means every port, like --ports all. */
    t->all_ports = all_ports || nports == 0;
    if (!t->all_ports)
        for (i = 0; i < nports; i++)
            t->portmap[ports[i] >> 6] |= (uint64_t)1 << (ports[i] & 63);
    /* Small at first: the table doubles while flows outnumber buckets two to
     * one (flow_grow), so a capture with few flows open at once never pays
     * for the chain heads of FLOW_MAX_FLOWS. */
    t->buckets = calloc(nb, sizeof(*t->buckets));
    if (!t->buckets) {
        free(t);
        return TI_ENOMEM;
    }
    t->mask = nb - 1;
    t->rlim.max_dir_bytes = t->lim.max_dir_bytes;
    t->rlim.max_dir_segs = t->lim.max_dir_segs;
    t->rlim.max_total_bytes = t->lim.max_total_bytes;
    t->rlim.total_used = &t->st.ooo_bytes;
    *out = t;
    return TI_OK;
}

const struct flow_stats *flow_table_stats(const struct flow_table *t)
{
    return &t->st;
}

/* ---- hashing and lookup -------------------------------------------------- */

static size_t flow_iplen(uint8_t ipver)
{
    return ipver == 6 ? 16 : 4;
}

/* One endpoint (address and port) mixed into 64 bits. */
static uint64_t flow_mix_ep(uint8_t ipver, const uint8_t *ip, uint16_t port)
{
    uint64_t a = 0, b = 0, h;

    if (ipver == 6) {
        memcpy(&a, ip, 8);
        memcpy(&b, ip + 8, 8);
    } else {
        uint32_t v4;

        memcpy(&v4, ip, 4);
        a = v4;
    }
    h = (a ^ ((uint64_t)port << 48) ^ ipver) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    h = (h ^ b) * 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

/* Direction-independent: the two endpoints' mixes are added, so both
 * directions of a connection land in the same bucket without first putting
 * the endpoints in a canonical order; a murmur3 finaliser spreads the sum. */
static uint32_t flow_hash(const struct pkt_info *p)
{
    uint64_t h = flow_mix_ep(p->ipver, p->src, p->sport) + flow_mix_ep(p->ipver, p->dst, p->dport);

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* Addresses compared as words: memcmp() of a length known only at run
 * time (4 or 16) is a libc call per comparison, on every packet. */
static bool flow_ip_eq(uint8_t ipver, const uint8_t *a, const uint8_t *b)
{
    uint64_t x[2], y[2];
    uint32_t u, v;

    if (ipver != 6) {
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        return u == v;
    }
    memcpy(x, a, 16);
    memcpy(y, b, 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

static bool flow_ep_eq(const struct conn_endpoint *e, uint8_t ipver, const uint8_t *ip,
                       uint16_t port)
{
    return e->ipver == ipver && e->port == port && flow_ip_eq(ipver, e->ip, ip);
}

static struct flow *flow_lookup(const struct flow_table *t, const struct pkt_info *p,
                                uint32_t h, int *side)
{
    struct flow *f;

    for (f = t->buckets[h & t->mask]; f; f = f->hnext) {
        if (f->hash != h)
            continue;
        if (flow_ep_eq(&f->side[0], p->ipver, p->src, p->sport) &&
            flow_ep_eq(&f->side[1], p->ipver, p->dst, p->dport)) {
            *side = 0;
            return f;
        }
        if (flow_ep_eq(&f->side[0], p->ipver, p->dst, p->dport) &&
            flow_ep_eq(&f->side[1], p->ipver, p->src, p->sport)) {
            *side = 1;
            return f;
        }
    }
    return NULL;
}

/* Double the chain heads (up to FLOW_MAX_BUCKETS); without memory the
 * chains just get longer. */
static void flow_grow(struct flow_table *t)
{
    size_t nb = (t->mask + 1) * 2;
    struct flow **b;
    struct flow *f;

    if (nb > FLOW_MAX_BUCKETS || t->nflows <= 2 * (t->mask + 1))
        return;
    b = calloc(nb, sizeof(*b));
    if (!b)
        return;
    for (f = t->lru_head; f; f = f->lru_next) {
        f->hnext = b[f->hash & (nb - 1)];
        b[f->hash & (nb - 1)] = f;
    }
    free(t->buckets);
    t->buckets = b;
    t->mask = nb - 1;
}

/* ---- LRU list ------------------------------------------------------------ */

static void flow_lru_unlink(struct flow_table *t, struct flow *f)
{
    if (f->lru_prev)
        f->lru_prev->lru_next = f->lru_next;
    else
        t->lru_head = f->lru_next;
    if (f->lru_next)
        f->lru_next->lru_prev = f->lru_prev;
    else
        t->lru_tail = f->lru_prev;
    f->lru_prev = f->lru_next = NULL;
}

static void flow_lru_push(struct flow_table *t, struct flow *f)
{
    f->lru_prev = NULL;
    f->lru_next = t->lru_head;
    if (t->lru_head)
        t->lru_head->lru_prev = f;
    else
        t->lru_tail = f;
    t->lru_head = f;
}

/* ---- consumer plumbing --------------------------------------------------- */

static void flow_poll_done(struct flow_table *t, struct flow *f)
{
    if (!f->app_done && t->ops.done && t->ops.done(t->ops.ctx, f))
        f->app_done = true;
}

static void flow_sink_data(void *ctx, const uint8_t *data, size_t len, int64_t ts)
{
    struct flow_sink_ctx *c = ctx;

    /* The consumer may finish in the middle of a queue drain: nothing after. */
    if (c->f->app_done)
        return;
    if (c->t->ops.data)
        c->t->ops.data(c->t->ops.ctx, c->f, c->side, data, len, ts);
    flow_poll_done(c->t, c->f);
}

static void flow_sink_gap(void *ctx, uint64_t nbytes, int64_t ts)
{
    struct flow_sink_ctx *c = ctx;

    if (c->f->app_done)
        return;
    if (c->t->ops.gap)
        c->t->ops.gap(c->t->ops.ctx, c->f, c->side, nbytes, ts);
    flow_poll_done(c->t, c->f);
}

static void flow_sink_make(struct flow_table *t, struct flow *f, int side,
                           struct flow_sink_ctx *c, struct reasm_sink *s)
{
    c->t = t;
    c->f = f;
    c->side = side;
    s->ctx = c;
    s->data = flow_sink_data;
    s->gap = flow_sink_gap;
}

/* After the consumer is done its queues are useless: free them now. */
static void flow_after_reasm(struct flow_table *t, struct flow *f)
{
    if (t->st.ooo_bytes > t->st.ooo_bytes_peak)
        t->st.ooo_bytes_peak = t->st.ooo_bytes;
    if (f->app_done) {
        if (!f->dir[0].stopped)
            reasm_stop(&f->dir[0], &t->rlim);
        if (!f->dir[1].stopped)
            reasm_stop(&f->dir[1], &t->rlim);
    }
}

static void flow_flush_side(struct flow_table *t, struct flow *f, int side, int64_t ts)
{
    struct flow_sink_ctx c;
    struct reasm_sink s;

    if (f->app_done)
        return;
    flow_sink_make(t, f, side, &c, &s);
    reasm_flush(&f->dir[side], ts, &s, &t->rlim);
    flow_after_reasm(t, f);
}

/* ---- flow life cycle ----------------------------------------------------- */

/* ---- open flows by first packet time --------------------------------------- */

static bool heap_less(const struct flow *a, const struct flow *b)
{
    return a->first_ts < b->first_ts || (a->first_ts == b->first_ts && a->serial < b->serial);
}

static void heap_set(struct flow_table *t, size_t i, struct flow *f)
{
    t->heap[i] = f;
    f->heap_idx = (uint32_t)i;     /* flows <= max_flows, far below 2^32 */
}

static void heap_up(struct flow_table *t, size_t i)
{
    struct flow *f = t->heap[i];

    while (i > 0 && heap_less(f, t->heap[(i - 1) / 2])) {
        heap_set(t, i, t->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(t, i, f);
}

static void heap_down(struct flow_table *t, size_t i, size_t n)
{
    struct flow *f = t->heap[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_less(t->heap[c + 1], t->heap[c]))
            c++;
        if (!heap_less(t->heap[c], f))
            break;
        heap_set(t, i, t->heap[c]);
        i = c;
    }
    heap_set(t, i, f);
}

/* Room for one more flow in the heap (before the flow is made). */
static bool heap_reserve(struct flow_table *t)
{
    struct flow **h;
    size_t cap;

    if (!t->track_oldest || t->nflows < t->heap_cap)
        return true;
    if (t->nflows >= UINT32_MAX)    /* heap_idx's range */
        return false;
    cap = t->heap_cap ? t->heap_cap * 2 : 64;
    h = realloc(t->heap, cap * sizeof(*h));
    if (h == NULL)
        return false;
    t->heap = h;
    t->heap_cap = cap;
    return true;
}

/* f joins or leaves the heap; t->nflows counts f while it is in. */
static void heap_push(struct flow_table *t, struct flow *f)
{
    if (!t->track_oldest)
        return;
    heap_set(t, t->nflows, f);
    heap_up(t, t->nflows);
}

static void heap_remove(struct flow_table *t, struct flow *f)
{
    size_t i = f->heap_idx, last = t->nflows - 1;

    if (t->track_oldest && i != last) {
        struct flow *m = t->heap[last];
        heap_set(t, i, m);
        heap_down(t, i, last);
        if (m->heap_idx == i)
            heap_up(t, i);
    }
}

void flow_table_track_oldest(struct flow_table *t)
{
    if (t->nflows == 0)
        t->track_oldest = true;
}

bool flow_table_oldest(const struct flow_table *t, int64_t *first_ts)
{
    if (!t->track_oldest || t->nflows == 0)
        return false;
    *first_ts = t->heap[0]->first_ts;
    return true;
}

static void flow_release(struct flow_table *t, struct flow *f, bool evicted, int64_t ts)
{
    struct flow **pp = &t->buckets[f->hash & t->mask];

    /* Queued data and holes reach the consumer before it finalizes. */
    flow_flush_side(t, f, 0, ts);
    flow_flush_side(t, f, 1, ts);
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    flow_lru_unlink(t, f);
    heap_remove(t, f);
    t->nflows--;
    if (f->app && t->ops.release)
        t->ops.release(t->ops.ctx, f, evicted);
    reasm_free(&f->dir[0], &t->rlim);
    reasm_free(&f->dir[1], &t->rlim);
    free(f);
}

static void flow_evict_idle(struct flow_table *t, int64_t ts)
{
    int64_t idle = t->lim.idle_timeout_us;
    struct flow *f;

    if (idle <= 0)
        return;
    while ((f = t->lru_tail) != NULL && ts > f->last_ts && ts - f->last_ts > idle) {
        if (f->app) {
            t->st.evicted_idle++;
            flow_flush_side(t, f, 0, f->last_ts);
            flow_flush_side(t, f, 1, f->last_ts);
            flow_remember_closed(t, f, CLOSED_IDLE, f->last_ts);
        }
        flow_release(t, f, true, f->last_ts);
    }
}

static void flow_endpoint_set(struct conn_endpoint *e, uint8_t ipver, const uint8_t *ip,
                              uint16_t port)
{
    memset(e, 0, sizeof(*e));
    e->ipver = ipver;
    memcpy(e->ip, ip, flow_iplen(ipver));
    e->port = port;
}

/* open_app false: a tombstone from the start (the rest of a connection
 * already reported), the consumer is not asked. */
static struct flow *flow_create(struct flow_table *t, const struct pkt_info *p, uint32_t h,
                                int64_t ts, int *side, bool open_app)
{
    bool syn = p->flags & TCPF_SYN, ack = p->flags & TCPF_ACK;
    /* A SYN-ACK seen first (the SYN was missed): its receiver initiated. */
    int s = (syn && ack) ? 1 : 0;
    struct flow *f;
    bool l0, l1;

    if (t->nflows >= t->lim.max_flows && t->lru_tail) {
        if (t->lru_tail->app)
            t->st.evicted_full++;
        flow_release(t, t->lru_tail, true, t->lru_tail->last_ts);
    }
    f = heap_reserve(t) ? calloc(1, sizeof(*f)) : NULL;
    if (!f)
        return NULL;
    flow_endpoint_set(&f->side[s], p->ipver, p->src, p->sport);
    flow_endpoint_set(&f->side[s ^ 1], p->ipver, p->dst, p->dport);
    /* SYN sender is the client; a SYN-ACK sender is the server. */
    f->client_side = syn ? 0 : -1;
    f->port_server_side = -1;
    if (!t->all_ports) {
        l0 = flow_port_listed(t, f->side[0].port);
        l1 = flow_port_listed(t, f->side[1].port);
        if (l0 != l1)
            f->port_server_side = l0 ? 0 : 1;
    }
    f->first_ts = f->last_ts = ts;
    f->hash = h;
    f->serial = t->next_serial++;
    reasm_init(&f->dir[0]);
    reasm_init(&f->dir[1]);
    f->hnext = t->buckets[h & t->mask];
    t->buckets[h & t->mask] = f;
    flow_lru_push(t, f);
    heap_push(t, f);
    t->nflows++;
    flow_grow(t);
    t->st.flows_created++;
    if (t->nflows > t->st.peak_flows)
        t->st.peak_flows = t->nflows;
    f->app = open_app && t->ops.open ? t->ops.open(t->ops.ctx, f) : NULL;
    if (!f->app) {
        /* Kept as a cheap tombstone so later packets are dropped after the
         * lookup instead of asking the consumer again. */
        if (open_app)
            t->st.flows_ignored++;
        f->app_done = true;
        reasm_stop(&f->dir[0], &t->rlim);
        reasm_stop(&f->dir[1], &t->rlim);
    }
    *side = s;
    return f;
}

/* A SYN (no ACK) on a flow that already carried a conversation: the
 * ephemeral port was reused for a new connection, unless it is the same SYN
 * again or a late copy of this stream's own SYN (capture reordering). */
static bool flow_syn_starts_new(const struct flow *f, int side, uint32_t seq)
{
    const struct flow_side_stats *st = &f->st[side];
    const struct reasm_dir *d = &f->dir[side];
    bool talked = f->st[0].bytes || f->st[1].bytes || f->st[0].fin || f->st[1].fin;

    if (!talked)
        return false;           /* a SYN retry (maybe with a new ISN) */
    if (st->syn && st->isn == seq)
        return false;
    if (st->bytes && d->started && (uint32_t)(d->next_seq - (seq + 1)) <= st->bytes)
        return false;           /* our own stream starts there: a late SYN */
    return true;
}

static void flow_on_syn(struct flow *f, int side, const struct pkt_info *p)
{
    struct flow_side_stats *st = &f->st[side];
    bool ack = p->flags & TCPF_ACK;

    if (!st->syn) {
        st->syn = true;
        st->isn = p->seq;
    } else if (st->isn != p->seq) {
        st->isn_changes++;
    }
    reasm_syn(&f->dir[side], p->seq);
    /* The latest ISN before any data wins (reasm_syn decides). */
    if (f->dir[side].next_seq == p->seq + 1)
        st->isn = p->seq;
    if (f->client_side < 0)
        f->client_side = ack ? side ^ 1 : side;
}

static void flow_on_payload(struct flow_table *t, struct flow *f, int side,
                            const struct pkt_info *p, int64_t ts)
{
    struct flow_side_stats *st = &f->st[side];
    struct reasm_dir *d = &f->dir[side];
    uint32_t cap = p->payload ? p->payload_len : 0;
    uint32_t wire = p->payload_wire_len > p->payload_len ? p->payload_wire_len
                                                          : p->payload_len;
    /* Data on a SYN (TCP Fast Open) starts after the SYN's sequence number. */
    uint32_t seq = p->seq + ((p->flags & TCPF_SYN) ? 1u : 0u);
    uint64_t hits = d->st.limit_hits;
    struct flow_sink_ctx c;
    struct reasm_sink s;

    /* RFC 9293 3.8.4: a keepalive probe may carry one garbage byte at
     * SND.NXT - 1.  Where the stream is known that is a byte already
     * delivered; where it has not started (no SYN, no data yet: the capture
     * began mid-connection) a 1-byte segment cannot be told from a probe
     * and must not start the stream: a zero-window probe's byte comes again
     * with the data that follows, and no TLS record fits in one byte. */
    if (wire == 1 && (!d->started || seq == d->next_seq - 1u)) {
        st->keepalives++;
        return;
    }
    /* The segment just delivered, again within moments: the capture saw it
     * twice.  (Judged from the stream's end and the time of its last bytes,
     * so a flow carries no more state for it.) */
    if (d->started && d->st.delivered > 0 && seq + wire == d->next_seq &&
        ts - d->emit_ts <= FLOW_DUP_WINDOW_US && d->emit_ts - ts <= FLOW_DUP_WINDOW_US) {
        st->dups++;
        return;
    }
    st->bytes += wire;
    if (p->snap_cut)
        st->snap_cut++;
    if (f->app_done)
        return;
    flow_sink_make(t, f, side, &c, &s);
    if (cap)
        reasm_segment(d, seq, p->payload, cap, ts, &s, &t->rlim);
    /* The snaplen cut the tail: those bytes are a hole the stream skips. */
    if (wire > cap && !f->app_done)
        reasm_skip(d, seq + cap, wire - cap, ts, &s, &t->rlim);
    t->st.reasm_limit_hits += d->st.limit_hits - hits;
    flow_after_reasm(t, f);
}

/* A FIN's or RST's sequence number is where its sender's stream ended:
 * what the capture lacks before it (an alert lost just before the RST) is
 * a hole, not silence. */
static void flow_end_at(struct flow_table *t, struct flow *f, int side, uint32_t end, int64_t ts)
{
    struct flow_sink_ctx c;
    struct reasm_sink s;

    if (f->app_done)
        return;
    flow_sink_make(t, f, side, &c, &s);
    (void)reasm_end_at(&f->dir[side], end, FLOW_LATE_AFTER_RST, ts, &s, &t->rlim);
    flow_after_reasm(t, f);
}

/* ---- closed connections ------------------------------------------------- */

/* Call after the flow's queues were flushed (next_seq at the end of what
 * was captured). */
static void flow_remember_closed(struct flow_table *t, const struct flow *f, int kind, int64_t ts)
{
    struct flow_closed *k = &t->closed[f->hash & (FLOW_CLOSED_SLOTS - 1)];

    k->used = true;
    k->kind = (uint8_t)kind;
    k->hash = f->hash;
    k->ts = ts;
    for (int i = 0; i < 2; i++) {
        const struct reasm_dir *d = &f->dir[i];
        uint64_t seen = d->st.delivered + d->st.gap_bytes;

        k->side[i] = f->side[i];
        k->started[i] = d->started;
        k->start[i] = d->next_seq - (uint32_t)(seen < (1u << 31) ? seen : (1u << 31));
        k->end[i] = d->next_seq;
    }
}

/* Data for no known flow: bytes of a connection just closed?  Those it
 * already carried (between its side's first and next sequence number),
 * and after an RST also what was in flight past that end, after the idle
 * timeout what it went on to send.  Returns the closed connection's kind,
 * CLOSED_NONE when the bytes are not its own. */
static int flow_closed_match(const struct flow_table *t, const struct pkt_info *p, uint32_t h,
                             int64_t ts)
{
    const struct flow_closed *k = &t->closed[h & (FLOW_CLOSED_SLOTS - 1)];
    uint32_t seq = p->seq, len = p->payload_wire_len > p->payload_len ? p->payload_wire_len
                                                                     : p->payload_len;
    uint64_t off, limit;
    int side;

    if (!k->used || k->hash != h ||
        ts - k->ts > (k->kind == CLOSED_IDLE ? FLOW_IDLE_TTL_US : FLOW_CLOSED_TTL_US))
        return CLOSED_NONE;
    if (flow_ep_eq(&k->side[0], p->ipver, p->src, p->sport) &&
        flow_ep_eq(&k->side[1], p->ipver, p->dst, p->dport))
        side = 0;
    else if (flow_ep_eq(&k->side[0], p->ipver, p->dst, p->dport) &&
             flow_ep_eq(&k->side[1], p->ipver, p->src, p->sport))
        side = 1;
    else
        return CLOSED_NONE;
    if (!k->started[side])
        return CLOSED_NONE;
    /* Offsets from the side's first byte: a sequence number before it
     * wraps to near 2^32 and is out of range, as a new connection's is. */
    off = (uint32_t)(seq - k->start[side]);
    limit = (uint32_t)(k->end[side] - k->start[side]);
    if (k->kind == CLOSED_IDLE || (k->kind == CLOSED_RST && ts - k->ts <= FLOW_LATE_AFTER_RST_US))
        limit += FLOW_LATE_AFTER_RST;
    return off + len <= limit ? k->kind : CLOSED_NONE;
}

void flow_packet(struct flow_table *t, const struct pkt_info *p, int64_t ts)
{
    bool syn = p->flags & TCPF_SYN, ack = p->flags & TCPF_ACK;
    bool payload = p->has_payload;
    struct flow_side_stats *st;
    struct flow *f;
    uint32_t h;
    int side = 0;

    t->st.tcp_packets++;
    flow_evict_idle(t, ts);
    /* The port filter comes before any hashing: most packets stop here. */
    if (!flow_port_selected(t, p->sport, p->dport))
        return;
    t->st.selected_packets++;
    h = flow_hash(p);
    f = flow_lookup(t, p, h, &side);
    if (f && syn && !ack && flow_syn_starts_new(f, side, p->seq)) {
        flow_release(t, f, false, ts);
        f = NULL;
    }
    if (!f) {
        /* Only a SYN or data opens a flow: a stray ACK/FIN/RST of an
         * unknown connection tells the consumer nothing. */
        if ((p->flags & TCPF_RST) || (!syn && !payload))
            return;
        int kind = syn ? CLOSED_NONE : flow_closed_match(t, p, h, ts);

        if (kind == CLOSED_FIN || kind == CLOSED_RST) {
            t->st.retrans_after_close++;
            return;
        }
        /* The rest of a connection judged at the idle timeout: followed
         * as a tombstone, not reported again as one picked up mid-stream. */
        if (kind == CLOSED_IDLE)
            t->st.idle_continued++;
        f = flow_create(t, p, h, ts, &side, kind != CLOSED_IDLE);
        if (!f)
            return;
    } else if (t->lru_head != f) {
        flow_lru_unlink(t, f);
        flow_lru_push(t, f);
    }
    if (ts > f->last_ts)
        f->last_ts = ts;
    if (ts < f->first_ts)
        f->first_ts = ts;
    st = &f->st[side];
    st->packets++;
    if (t->ops.packet && f->app)
        t->ops.packet(t->ops.ctx, f, side, p, ts);
    if (syn)
        flow_on_syn(f, side, p);
    if (payload)
        flow_on_payload(t, f, side, p, ts);
    if (p->flags & TCPF_RST) {
        if (!st->rst) {
            st->rst = true;
            st->rst_ts = ts;
        }
        if (f->app) {
            flow_end_at(t, f, side, p->seq, ts);
            flow_flush_side(t, f, 0, ts);
            flow_flush_side(t, f, 1, ts);
            if (t->ops.close)
                t->ops.close(t->ops.ctx, f, side, true, ts);
        }
        flow_remember_closed(t, f, CLOSED_RST, ts);
        flow_release(t, f, false, ts);
        return;
    }
    if ((p->flags & TCPF_FIN) && !st->fin) {
        st->fin = true;
        st->fin_ts = ts;
        if (f->app) {
            flow_end_at(t, f, side,
                        p->seq + (p->payload_wire_len > p->payload_len ? p->payload_wire_len
                                                                        : p->payload_len),
                        ts);
            flow_flush_side(t, f, side, ts);
            if (t->ops.close)
                t->ops.close(t->ops.ctx, f, side, false, ts);
        }
        if (f->st[0].fin && f->st[1].fin) {
            flow_flush_side(t, f, side ^ 1, ts);
            flow_remember_closed(t, f, CLOSED_FIN, ts);
            flow_release(t, f, false, ts);
        }
    }
}

/* ---- end of capture ------------------------------------------------------ */

static int flow_serial_cmp(const void *a, const void *b)
{
    const struct flow *fa = *(const struct flow *const *)a;
    const struct flow *fb = *(const struct flow *const *)b;

    return (fa->serial > fb->serial) - (fa->serial < fb->serial);
}

/* Release every flow in creation order (= order of first packet); when the
 * sort array cannot be had, oldest activity first.  own_ts: stamp each
 * flow's flush with its own last_ts instead of ts. */
static bool flow_has_queue(const struct flow *f)
{
    return f->dir[0].ooo != NULL || f->dir[1].ooo != NULL;
}

/* Everything left, in creation order -- except that flows with bytes still
 * queued out of order go last: releasing them delivers those bytes and
 * may keep a connection for the report, and by then the others' memory
 * is back with the kernel.  The report's order does not depend on this
 * (connections are sorted afterwards). */
static void flow_release_all(struct flow_table *t, int64_t ts, bool own_ts)
{
    struct flow **all = t->nflows ? calloc(t->nflows, sizeof(*all)) : NULL;
    struct flow *f;
    size_t n = 0, i, done = 0;

    if (all) {
        for (f = t->lru_head; f && n < t->nflows; f = f->lru_next)
            all[n++] = f;
        qsort(all, n, sizeof(*all), flow_serial_cmp);
        for (int pass = 0; pass < 2; pass++) {
            for (i = 0; i < n; i++) {
                if (all[i] == NULL || flow_has_queue(all[i]) != (pass == 1))
                    continue;
                flow_release(t, all[i], false, own_ts ? all[i]->last_ts : ts);
                all[i] = NULL;
                /* The connections kept for the report come from the conn
                 * arena's own mappings, not from the heap the flows are
                 * freed to: hand the freed pages back as we go, or a
                 * capture that ends with many flows open peaks at its
                 * flows plus its connections. */
                if (++done % FLOW_TRIM_EVERY == 0)
                    (void)malloc_trim(0);
            }
        }
        free(all);
    }
    while ((f = t->lru_tail) != NULL)
        flow_release(t, f, false, own_ts ? f->last_ts : ts);
}

void flow_table_finish(struct flow_table *t, int64_t ts)
{
    flow_release_all(t, ts, false);
}

void flow_table_free(struct flow_table *t)
{
    if (!t)
        return;
    flow_release_all(t, 0, true);
    free(t->heap);
    free(t->buckets);
    free(t);
}
