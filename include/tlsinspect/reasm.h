/* reasm.h - one direction of a TCP connection as an in-order byte stream.
 *
 * Segments arrive in capture order; bytes are pushed to a sink in sequence
 * order.  A segment that continues the stream is handed to the sink straight
 * from the packet buffer (zero copy); only out-of-order data is copied into a
 * queue, bounded per direction and in total.  Rules:
 *   - sequence numbers compare modulo 2^32 (RFC 1982 style), so streams that
 *     wrap around 2^32 work;
 *   - duplicates and overlaps: the first copy of a byte wins; overlapping
 *     bytes that differ are counted as conflicts;
 *   - without a captured SYN the first data segment starts the stream;
 *   - holes that never fill are reported to the sink's gap() with their size
 *     when the queue must move on (limit reached, FIN, end of capture).
 * The reassembler knows nothing of TLS.
 */
#ifndef TLSINSPECT_REASM_H
#define TLSINSPECT_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REASM_MAX_OOO_BYTES_DIR   (256u * 1024u)      /* queued per direction */
#define REASM_MAX_OOO_SEGS_DIR    1024u
#define REASM_MAX_OOO_BYTES_TOTAL (16u * 1024u * 1024u) /* memory queued in all flows */

struct reasm_sink {
    void *ctx;
    /* In-order bytes; `data` valid only during the call. */
    void (*data)(void *ctx, const uint8_t *data, size_t len, int64_t ts);
    /* `nbytes` missing bytes were skipped (a hole that never filled). */
    void (*gap)(void *ctx, uint64_t nbytes, int64_t ts);
};

/* The per-direction limits count payload bytes and spans; the total over
 * all directions counts memory: reasm_seg_cost() per queued span, headers
 * and malloc's rounding included (a flood of tiny segments costs what it
 * costs).  A segment that would break a limit makes its direction skip
 * its oldest hole -- except one that would break the total in a direction
 * that has not delivered a byte yet: that segment is dropped (its bytes
 * become a gap when the stream reaches them), so a flood of connections
 * that only ever send past a hole never starts their TLS parsing. */
struct reasm_limits {
    size_t max_dir_bytes;     /* REASM_MAX_OOO_BYTES_DIR */
    size_t max_dir_segs;      /* REASM_MAX_OOO_SEGS_DIR */
    size_t max_total_bytes;   /* REASM_MAX_OOO_BYTES_TOTAL */
    size_t *total_used;       /* shared counter across all directions, may be NULL */
};

/* Memory a queued span of `bytes` payload bytes takes (0: a known hole). */
size_t reasm_seg_cost(size_t bytes);

struct reasm_stats {
    uint64_t delivered;       /* bytes handed to the sink */
    uint64_t retrans;         /* segments wholly or partly already seen */
    uint64_t overlap_conflicts; /* overlapping bytes that differed */
    uint64_t gaps;            /* holes skipped */
    uint64_t gap_bytes;
    uint64_t limit_hits;      /* times a queue limit forced a skip */
};

struct reasm_seg;

struct reasm_dir {
    bool started;             /* next_seq is valid */
    bool stopped;             /* consumer is done: ignore further data */
    uint32_t next_seq;        /* next expected sequence number */
    int64_t emit_ts;          /* time of the last bytes delivered */
    struct reasm_seg *ooo;    /* out-of-order queue, sorted by seq */
    size_t ooo_bytes;
    size_t ooo_segs;
    struct reasm_stats st;
};

void reasm_init(struct reasm_dir *d);

/* A SYN (or SYN-ACK) carrying initial sequence number `isn`: data starts at
 * isn + 1.  A later SYN with another ISN before any data replaces it. */
void reasm_syn(struct reasm_dir *d, uint32_t isn);

/* One segment's payload.  Calls sink->data for every byte that became
 * in order.  Returns TI_OK, or TI_ELIMIT when a limit forced a skip (counted
 * in st.limit_hits; the stream went on after a reported gap). */
int reasm_segment(struct reasm_dir *d, uint32_t seq, const uint8_t *data,
                  size_t len, int64_t ts, const struct reasm_sink *sink,
                  const struct reasm_limits *lim);

/* Bytes [seq, seq + n) are known to be missing from the capture (the
 * snaplen cut the segment's tail): when the stream reaches them they are
 * reported through sink->gap and skipped, never waited for.  Starts the
 * stream like a data segment would.  A known hole is a first copy too: data
 * arriving later for those bytes is dropped.  Costs a queue entry but no
 * buffer bytes when out of order.  Returns like reasm_segment. */
int reasm_skip(struct reasm_dir *d, uint32_t seq, uint32_t n, int64_t ts,
               const struct reasm_sink *sink, const struct reasm_limits *lim);

/* No more data will come (FIN, RST, eviction, end of capture): deliver what
 * is queued, reporting each hole through sink->gap. */
void reasm_flush(struct reasm_dir *d, int64_t ts, const struct reasm_sink *sink,
                 const struct reasm_limits *lim);

/* The sender's stream ends at `end` (its FIN's or RST's sequence number):
 * bytes between the last captured or queued byte and `end` were sent but
 * not captured, a hole reported like a snaplen cut (reasm_skip).  A claim
 * of more than max_hole missing bytes is not believed (an RST's sequence
 * number need not be a stream position).  Returns like reasm_skip. */
int reasm_end_at(struct reasm_dir *d, uint32_t end, uint32_t max_hole, int64_t ts,
                 const struct reasm_sink *sink, const struct reasm_limits *lim);

/* Consumer is done: free the queue and ignore later segments. */
void reasm_stop(struct reasm_dir *d, const struct reasm_limits *lim);

void reasm_free(struct reasm_dir *d, const struct reasm_limits *lim);

/* Sequence comparison modulo 2^32: <0, 0, >0 like memcmp. */
static inline int32_t reasm_seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

#endif
