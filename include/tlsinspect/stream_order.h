/* stream_order.h - a bounded reorder stage: texts in, texts out in report order.
 *
 * Connections finish in release order; a report that streams them writes
 * them in report order (conn_order_cmp: first timestamp, server, client,
 * flow serial).  Each finished connection's text is added with its key; the
 * caller says, as the capture goes on, below which first timestamp no
 * connection is still to come (the oldest open flow, and the newest packet
 * time minus a lag for timestamps that go back), and the stage hands every
 * text whose key lies below that to emit(), smallest key first.
 *
 * Bounded: when the texts held pass max_bytes (a long-lived flow holds the
 * floor back), they are sorted and written to a temporary file (tmpfile(),
 * $TMPDIR) as one run; emitting merges the runs and what is held, so what
 * comes out is the same bytes in the same order whichever way a text went.
 * More than SO_MAX_RUNS runs are merged into one first.
 *
 * A text whose key is below one already emitted (a connection that starts
 * further back than the lag before packets already read) is emitted at
 * once, out of order; late() counts them. */
#ifndef TLSINSPECT_STREAM_ORDER_H
#define TLSINSPECT_STREAM_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/conn_key.h"

#define SO_MAX_BYTES ((size_t)32 << 20)   /* texts held before a run is spilled */
#define SO_MAX_RUNS 64                    /* runs open before they are merged into one */

/* emit(ctx, text, len): one text, in order; TI_OK or an error, which stops
 * the stage and is returned by the call that emitted. */
typedef int (*so_emit_fn)(void *ctx, const char *text, size_t len);

struct stream_order;

/* max_bytes 0: SO_MAX_BYTES.  NULL without memory. */
struct stream_order *stream_order_new(size_t max_bytes, so_emit_fn emit, void *ctx);

/* Hold a copy of text under key k (emitted when the floor passes it).
 * TI_OK, TI_ENOMEM, TI_EIO (the temporary file), or emit()'s error. */
int stream_order_add(struct stream_order *so, const struct conn_key *k, const char *text,
                     size_t len);

/* Emit every text whose first_ts is below floor_ts. */
int stream_order_release(struct stream_order *so, int64_t floor_ts);

/* Emit everything held. */
int stream_order_finish(struct stream_order *so);

uint64_t stream_order_late(const struct stream_order *so);
uint64_t stream_order_runs(const struct stream_order *so);   /* spilled so far */

void stream_order_free(struct stream_order *so);   /* NULL is a no-op */

#endif
