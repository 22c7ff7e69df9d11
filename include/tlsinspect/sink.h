/* sink.h - where finished connections go (streaming reports, issue 19).
 *
 * analyze_run() judges a connection when its flow is released (FIN/RST,
 * idle timeout, eviction, end of capture): verification and findings need
 * nothing from other connections.  Each sink then sees it once.  Sinks are
 * called in release order, not report order: a sink that prints in report
 * order (conn_order_cmp) orders by itself (JSON: a bounded reorder stage;
 * text: aggregates sorted at the end).  The connection is only borrowed for
 * the call: its slot is reused by the next connection afterwards, so a sink
 * copies what it keeps (certificates are borrowed from the analysis' pool,
 * which outlives the sinks, and may be kept as pointers). */
#ifndef TLSINSPECT_SINK_H
#define TLSINSPECT_SINK_H

struct analysis;
struct conn;

struct conn_sink {
    /* One finished TLS connection (c->id is 0: ids are ranks in the report
     * order, known to the writer that orders).  Returns TI_OK or an error
     * (TI_ENOMEM, TI_EIO), which ends the analysis with that error. */
    int (*conn)(void *ctx, const struct analysis *a, const struct conn *c);
    /* After the capture's last connection; may be NULL. */
    int (*finish)(void *ctx, const struct analysis *a);
    void *ctx;
};

#endif
