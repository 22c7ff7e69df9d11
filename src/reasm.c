/* reasm.c - one TCP direction as an in-order byte stream (bounded out-of-order queue, gaps). */
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/err.h"
#include "tlsinspect/reasm.h"

/* Longest piece handled in one pass.  TCP cannot have more than 2^30 bytes
 * in flight (RFC 7323 section 2.3: window scale <= 14), so any longer span is
 * processed in chunks; this keeps every offset computation far from 2^31,
 * where modulo-2^32 comparison stops being meaningful. */
#define REASM_CHUNK (1u << 30)

/* One queued span.  A hole span carries no bytes: the capture lost them (the
 * snaplen cut the segment), so they are reported as a gap when reached. */
struct reasm_seg {
    struct reasm_seg *next;
    uint32_t seq;
    uint32_t len : 31;        /* a segment is at most 64 KiB */
    uint32_t hole : 1;        /* bits, so the time fits the old 24 bytes */
    int64_t ts;               /* capture time of the segment that brought it */
    uint8_t data[];
};

/* What a queued span costs in memory, as glibc's malloc() hands it out:
 * the request plus its 8-byte size field, rounded up to 16, at least 32.
 * The total limit counts this, not payload bytes: a flood of 1-byte
 * segments would otherwise cost 48 bytes for every byte counted. */
size_t reasm_seg_cost(size_t bytes)
{
    size_t n = (sizeof(struct reasm_seg) + bytes + 8 + 15) & ~(size_t)15;

    return n < 32 ? 32 : n;
}

/* What the current segment still holds, for conflict counting while queued
 * copies that overlap it are delivered. */
struct reasm_span {
    uint32_t seq;
    const uint8_t *data;      /* NULL: nothing to compare */
    uint32_t len;
};

void reasm_init(struct reasm_dir *d)
{
    memset(d, 0, sizeof(*d));
}

static size_t *reasm_total(const struct reasm_limits *lim)
{
    return lim ? lim->total_used : NULL;
}

static void reasm_seg_free(struct reasm_dir *d, const struct reasm_limits *lim,
                           struct reasm_seg *s)
{
    size_t bytes = s->hole ? 0 : s->len;
    size_t *total = reasm_total(lim);

    d->ooo_bytes -= bytes;
    d->ooo_segs--;
    if (total)
        *total -= reasm_seg_cost(bytes);
    free(s);
}

static void reasm_queue_free(struct reasm_dir *d, const struct reasm_limits *lim)
{
    struct reasm_seg *s = d->ooo;

    while (s) {
        struct reasm_seg *next = s->next;
        reasm_seg_free(d, lim, s);
        s = next;
    }
    d->ooo = NULL;
}

/* Offset of `seq` ahead of next_seq (only meaningful for queued spans and
 * the segment being queued, which are ahead by less than 2^31). */
static uint64_t reasm_off(const struct reasm_dir *d, uint32_t seq)
{
    return (uint32_t)(seq - d->next_seq);
}

static void reasm_emit_data(struct reasm_dir *d, const uint8_t *data, uint32_t len,
                            int64_t ts, const struct reasm_sink *sink)
{
    if (len == 0)
        return;
    d->st.delivered += len;
    d->next_seq += len;
    d->emit_ts = ts;
    if (sink && sink->data)
        sink->data(sink->ctx, data, len, ts);
}

static void reasm_emit_gap(struct reasm_dir *d, uint32_t n, int64_t ts,
                           const struct reasm_sink *sink)
{
    if (n == 0)
        return;
    d->st.gaps++;
    d->st.gap_bytes += n;
    d->next_seq += n;
    if (sink && sink->gap)
        sink->gap(sink->ctx, n, ts);
}

/* Bytes that differ where [aseq, aseq+alen) and [bseq, bseq+blen) overlap. */
static uint64_t reasm_count_diff(uint32_t aseq, const uint8_t *a, uint32_t alen,
                                 uint32_t bseq, const uint8_t *b, uint32_t blen)
{
    int64_t rel = reasm_seq_diff(bseq, aseq);   /* where b starts within a */
    uint64_t ao, bo, n, i, diff = 0;

    if (!a || !b)
        return 0;
    if (rel >= 0) {
        if ((uint64_t)rel >= alen)
            return 0;
        ao = (uint64_t)rel;
        bo = 0;
    } else {
        if ((uint64_t)-rel >= blen)
            return 0;
        ao = 0;
        bo = (uint64_t)-rel;
    }
    n = alen - ao;
    if (blen - bo < n)
        n = blen - bo;
    for (i = 0; i < n; i++)
        diff += a[ao + i] != b[bo + i];
    return diff;
}

/* Deliver queued spans that next_seq has reached, trimming bytes already
 * delivered.  `cmp` is the rest of the current segment: a queued copy of the
 * same bytes came first and wins; differing bytes are conflicts. */
static void reasm_drain(struct reasm_dir *d, int64_t ts, const struct reasm_sink *sink,
                        const struct reasm_limits *lim, const struct reasm_span *cmp)
{
    struct reasm_seg *s;

    while ((s = d->ooo) != NULL) {
        int32_t off = reasm_seq_diff(s->seq, d->next_seq);
        uint32_t skip;

        if (off > 0)
            break;
        skip = (uint32_t)(-(int64_t)off);
        d->ooo = s->next;
        if (skip < s->len) {
            if (s->hole) {
                reasm_emit_gap(d, s->len - skip, ts, sink);
            } else {
                if (cmp && cmp->data)
                    d->st.overlap_conflicts +=
                        reasm_count_diff(s->seq + skip, s->data + skip, s->len - skip,
                                         cmp->seq, cmp->data, cmp->len);
                /* Bytes that waited behind a hole are dated by their own
                 * segment (a record after a skipped gap keeps its time), but
                 * never before bytes already delivered. */
                int64_t t = s->ts > d->emit_ts ? s->ts : d->emit_ts;
                reasm_emit_data(d, s->data + skip, s->len - skip, t < ts ? t : ts, sink);
            }
        }
        reasm_seg_free(d, lim, s);
    }
}

static struct reasm_seg *reasm_seg_new(struct reasm_dir *d, const struct reasm_limits *lim,
                                       uint32_t seq, const uint8_t *data, uint32_t len,
                                       int64_t ts)
{
    size_t bytes = data ? len : 0;
    struct reasm_seg *s = malloc(sizeof(*s) + bytes);
    size_t *total = reasm_total(lim);

    if (!s)
        return NULL;
    s->next = NULL;
    s->seq = seq;
    s->len = len;
    s->hole = data == NULL;
    s->ts = ts;
    if (bytes)
        memcpy(s->data, data, bytes);
    d->ooo_bytes += bytes;
    d->ooo_segs++;
    if (total)
        *total += reasm_seg_cost(bytes);
    return s;
}

/* Which limit `segs` more spans holding `bytes` more bytes would break:
 * REASM_FITS, or the direction's own (REASM_OVER_DIR), or the total over
 * all directions (REASM_OVER_TOTAL, costing `cost` more bytes of memory). */
enum { REASM_FITS, REASM_OVER_DIR, REASM_OVER_TOTAL };
static int reasm_fits(const struct reasm_dir *d, const struct reasm_limits *lim,
                      size_t segs, size_t bytes, size_t cost)
{
    size_t *total = reasm_total(lim);

    if (!lim)
        return d->ooo_segs + segs <= REASM_MAX_OOO_SEGS_DIR &&
               d->ooo_bytes + bytes <= REASM_MAX_OOO_BYTES_DIR ? REASM_FITS : REASM_OVER_DIR;
    if (segs > lim->max_dir_segs || d->ooo_segs > lim->max_dir_segs - segs)
        return REASM_OVER_DIR;
    if (bytes > lim->max_dir_bytes || d->ooo_bytes > lim->max_dir_bytes - bytes)
        return REASM_OVER_DIR;
    if (total && (cost > lim->max_total_bytes || *total > lim->max_total_bytes - cost))
        return REASM_OVER_TOTAL;
    return REASM_FITS;
}

/* Queue [seq, seq+len), which lies ahead of next_seq, keeping the queue
 * sorted and free of overlaps: only bytes no queued span covers are copied
 * (the first copy wins).  Returns TI_ELIMIT when it does not fit this
 * direction's limits, TI_EFULL when it does not fit the total (nothing
 * changed either way), TI_ENOMEM on allocation failure (partly queued). */
#define TI_EFULL (-1000)   /* reasm.c only: the total limit, not the direction's */
static int reasm_queue(struct reasm_dir *d, uint32_t seq, const uint8_t *data, uint32_t len,
                       int64_t ts, const struct reasm_limits *lim, bool *retrans)
{
    uint64_t a = reasm_off(d, seq), b = a + len, cur = a;
    uint64_t new_bytes = 0, cost = 0;
    size_t pieces = 0;
    bool overlap = false;
    struct reasm_seg *s, **link;

    /* Pass 1: how much is new, in how many pieces. */
    for (s = d->ooo; s && cur < b; s = s->next) {
        uint64_t so = reasm_off(d, s->seq), se = so + s->len;

        if (se <= cur)
            continue;
        if (so >= b)
            break;
        if (so > cur) {
            new_bytes += so - cur;
            cost += reasm_seg_cost(data ? (size_t)(so - cur) : 0);
            pieces++;
        }
        overlap = true;
        cur = se;
    }
    if (cur < b) {
        new_bytes += b - cur;
        cost += reasm_seg_cost(data ? (size_t)(b - cur) : 0);
        pieces++;
    }
    if (pieces) {
        int fit = reasm_fits(d, lim, pieces, data ? (size_t)new_bytes : 0, (size_t)cost);
        if (fit == REASM_OVER_DIR)
            return TI_ELIMIT;
        if (fit == REASM_OVER_TOTAL)
            return TI_EFULL;
    }
    if (overlap)
        *retrans = true;

    /* Pass 2: link the new pieces between the queued spans, compare overlaps. */
    cur = a;
    link = &d->ooo;
    while (cur < b) {
        uint64_t so, se, end;
        struct reasm_seg *n;

        s = *link;
        so = s ? reasm_off(d, s->seq) : b;
        se = s ? so + s->len : b;
        if (s && se <= cur) {
            link = &s->next;
            continue;
        }
        if (so > cur) {
            end = so < b ? so : b;
            n = reasm_seg_new(d, lim, seq + (uint32_t)(cur - a),
                              data ? data + (cur - a) : NULL, (uint32_t)(end - cur), ts);
            if (!n)
                return TI_ENOMEM;
            n->next = s;
            *link = n;
            link = &n->next;
            cur = end;
            continue;
        }
        /* s overlaps [cur, b): the queued copy stays. */
        if (data && !s->hole)
            d->st.overlap_conflicts +=
                reasm_count_diff(s->seq, s->data, s->len, seq + (uint32_t)(cur - a),
                                 data + (cur - a), (uint32_t)(b - cur));
        cur = se;
        link = &s->next;
    }
    return TI_OK;
}

/* The core: one span of data (or a known hole when data == NULL), at most
 * REASM_CHUNK long. */
static int reasm_add(struct reasm_dir *d, uint32_t seq, const uint8_t *data, uint32_t len,
                     int64_t ts, const struct reasm_sink *sink,
                     const struct reasm_limits *lim)
{
    bool retrans = false, limited = false;
    int qrc;

    if (!d->started) {
        /* No SYN captured: the first segment starts the stream. */
        d->started = true;
        d->next_seq = seq;
    }
    while (len > 0) {
        int32_t diff = reasm_seq_diff(seq, d->next_seq);

        if (diff < 0) {
            /* Already delivered (or skipped) bytes: a retransmission.  We
             * cannot compare them any more; only the new tail counts. */
            uint32_t old = (uint32_t)(-(int64_t)diff);

            retrans = true;
            if (old >= len)
                break;
            seq += old;
            if (data)
                data += old;
            len -= old;
            continue;
        }
        if (diff == 0) {
            /* In order: straight from the caller's buffer, up to the first
             * queued span (that earlier copy wins from there on). */
            uint32_t n = len;
            struct reasm_span rest;

            if (d->ooo && reasm_off(d, d->ooo->seq) < n)
                n = (uint32_t)reasm_off(d, d->ooo->seq);
            if (data)
                reasm_emit_data(d, data, n, ts, sink);
            else
                reasm_emit_gap(d, n, ts, sink);
            seq += n;
            if (data)
                data += n;
            len -= n;
            rest.seq = seq;
            rest.data = data;
            rest.len = len;
            reasm_drain(d, ts, sink, lim, &rest);
            continue;
        }
        /* Ahead of the stream: copy into the queue. */
        qrc = reasm_queue(d, seq, data, len, ts, lim, &retrans);
        if (qrc == TI_OK)
            break;
        if (qrc == TI_EFULL && d->st.delivered == 0 && d->st.gap_bytes == 0) {
            /* The other directions hold the shared budget and this one
             * has not begun: the segment is dropped as if never captured
             * (its bytes become a gap when the stream gets there).
             * Skipping the hole instead would deliver it and start the
             * connection's TLS state: a flood of half-open connections,
             * each one segment past a hole, would cost a parsed
             * connection apiece.  A stream under way skips its hole as
             * below, or it would stall behind the dropped bytes. */
            d->st.limit_hits++;
            limited = true;
            break;
        }
        /* No room: the oldest hole gives way.  If this segment is the
         * earliest data we have, skip to it and deliver it directly; else
         * skip to the queue head and deliver from there, then retry. */
        d->st.limit_hits++;
        limited = true;
        if (d->ooo && reasm_seq_diff(d->ooo->seq, seq) < 0) {
            struct reasm_span cmp = { seq, data, len };

            reasm_emit_gap(d, (uint32_t)reasm_off(d, d->ooo->seq), ts, sink);
            reasm_drain(d, ts, sink, lim, &cmp);
        } else {
            reasm_emit_gap(d, (uint32_t)diff, ts, sink);
        }
    }
    if (retrans && data)
        d->st.retrans++;
    return limited ? TI_ELIMIT : TI_OK;
}

static int reasm_feed(struct reasm_dir *d, uint32_t seq, const uint8_t *data, size_t len,
                      int64_t ts, const struct reasm_sink *sink,
                      const struct reasm_limits *lim)
{
    int rc = TI_OK;

    if (d->stopped || len == 0)
        return TI_OK;
    while (len > 0) {
        uint32_t n = len > REASM_CHUNK ? REASM_CHUNK : (uint32_t)len;
        int r = reasm_add(d, seq, data, n, ts, sink, lim);

        if (r != TI_OK)
            rc = r;
        seq += n;
        if (data)
            data += n;
        len -= n;
    }
    return rc;
}

int reasm_segment(struct reasm_dir *d, uint32_t seq, const uint8_t *data,
                  size_t len, int64_t ts, const struct reasm_sink *sink,
                  const struct reasm_limits *lim)
{
    if (!data)
        return TI_OK;
    return reasm_feed(d, seq, data, len, ts, sink, lim);
}

int reasm_skip(struct reasm_dir *d, uint32_t seq, uint32_t n, int64_t ts,
               const struct reasm_sink *sink, const struct reasm_limits *lim)
{
    return reasm_feed(d, seq, NULL, n, ts, sink, lim);
}

void reasm_syn(struct reasm_dir *d, uint32_t isn)
{
    /* A SYN retransmitted with a new ISN (a new attempt) replaces the old
     * one as long as the stream has no data yet, queued or delivered. */
    if (d->started && (d->st.delivered || d->st.gap_bytes || d->ooo))
        return;
    d->started = true;
    d->next_seq = isn + 1;
}

void reasm_flush(struct reasm_dir *d, int64_t ts, const struct reasm_sink *sink,
                 const struct reasm_limits *lim)
{
    while (d->ooo) {
        int32_t off = reasm_seq_diff(d->ooo->seq, d->next_seq);

        if (off > 0)
            reasm_emit_gap(d, (uint32_t)off, ts, sink);
        reasm_drain(d, ts, sink, lim, NULL);
    }
}

int reasm_end_at(struct reasm_dir *d, uint32_t end, uint32_t max_hole, int64_t ts,
                 const struct reasm_sink *sink, const struct reasm_limits *lim)
{
    uint32_t from = d->next_seq;
    const struct reasm_seg *s;
    int32_t n;

    if (!d->started || d->stopped)
        return TI_OK;
    for (s = d->ooo; s; s = s->next)     /* sorted: the last span ends the queue */
        if (reasm_seq_diff(s->seq + s->len, from) > 0)
            from = s->seq + s->len;
    n = reasm_seq_diff(end, from);
    if (n <= 0 || (uint32_t)n > max_hole)
        return TI_OK;
    return reasm_skip(d, from, (uint32_t)n, ts, sink, lim);
}

void reasm_stop(struct reasm_dir *d, const struct reasm_limits *lim)
{
    reasm_queue_free(d, lim);
    d->stopped = true;
}

void reasm_free(struct reasm_dir *d, const struct reasm_limits *lim)
{
    reasm_queue_free(d, lim);
}
