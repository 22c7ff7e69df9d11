/* flow.h - the connection table: one flow per TCP 4-tuple, both directions.
 *
 * Side 0 is the initiator: the sender of the SYN, else the sender of the
 * first packet seen.  client_side says which side is the TLS client as far
 * as TCP knows (the SYN sender); without a SYN it is -1 and the consumer
 * decides (the sender of the first ClientHello).  port_server_side is the
 * side whose port is in the selected list (-1 if none or both).
 *
 * Port selection happens before any table lookup: with a port list, a packet
 * neither of whose ports is listed is dropped at once.  With all_ports every
 * TCP flow is offered to the consumer, which may say done() at once.
 *
 * Bounded: at most max_flows flows (the least recently active is evicted to
 * make room, counted), flows idle longer than idle_timeout are evicted, and
 * out-of-order buffering is bounded by reasm limits.  A flow is created only
 * by a SYN or a segment with payload; it is released after RST, after both
 * FINs, on eviction, or at the end of the capture, and release() is called
 * exactly once for each flow whose open() returned non-NULL.
 */
#ifndef TLSINSPECT_FLOW_H
#define TLSINSPECT_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/decode.h"
#include "tlsinspect/reasm.h"

#define FLOW_MAX_FLOWS        (256u * 1024u)
#define FLOW_IDLE_TIMEOUT_US  (600LL * 1000000LL)   /* 10 minutes of silence */
#define FLOW_MAX_PORTS        64

struct flow_side_stats {
    uint64_t packets;
    uint64_t bytes;           /* payload bytes */
    uint64_t snap_cut;        /* payload-carrying packets cut by snaplen */
    bool syn, fin, rst;
    /* The two counters below sit in what would be padding: struct flow's
     * size is what a flood of half-open connections costs. */
    uint32_t dups;            /* segments captured twice (tcpdump -i any): not retransmissions */
    int64_t fin_ts, rst_ts;
    uint32_t isn;
    uint32_t keepalives;      /* 1-byte keepalive probes, not fed to the stream */
    uint64_t isn_changes;     /* SYN/SYN-ACK repeated with another ISN */
};

struct flow {
    struct conn_endpoint side[2];   /* side[0] = initiator */
    int client_side;                /* 0/1 from the SYN, -1 unknown */
    int port_server_side;           /* 0/1 from the port list, -1 unknown */
    int64_t first_ts, last_ts;
    struct flow_side_stats st[2];
    struct reasm_dir dir[2];
    void *app;                      /* consumer state from open() */
    bool app_done;                  /* consumer said done: no more buffering */
    /* table internals */
    struct flow *hnext;             /* hash chain */
    struct flow *lru_prev, *lru_next;
    uint32_t hash;
    uint32_t heap_idx;              /* place in the table's heap by first_ts */
    uint64_t serial;                /* creation order (release order at the end) */
};

struct flow_ops {
    void *ctx;
    /* A new flow.  Return consumer state, or NULL to ignore the flow. */
    void *(*open)(void *ctx, struct flow *f);
    /* In-order payload bytes from side `side`. */
    void (*data)(void *ctx, struct flow *f, int side, const uint8_t *d,
                 size_t n, int64_t ts);
    /* A hole of n bytes that never filled, on side `side`. */
    void (*gap)(void *ctx, struct flow *f, int side, uint64_t n, int64_t ts);
    /* Polled after data: true = handshake over, stop buffering. */
    bool (*done)(void *ctx, struct flow *f);
    /* FIN (rst == false) or RST seen from side `side`. */
    void (*close)(void *ctx, struct flow *f, int side, bool rst, int64_t ts);
    /* The flow leaves the table (evicted == true when a limit or idleness
     * forced it): finalize and free the consumer state. */
    void (*release)(void *ctx, struct flow *f, bool evicted);
    /* Every packet of a flow with consumer state, from side `side`, before
     * the table handles it (f->app_done is still the state before it).
     * May be NULL.  Last, so positional initialisers of the others stand. */
    void (*packet)(void *ctx, struct flow *f, int side, const struct pkt_info *p,
                   int64_t ts);
};

struct flow_limits {
    size_t max_flows;               /* FLOW_MAX_FLOWS */
    int64_t idle_timeout_us;        /* FLOW_IDLE_TIMEOUT_US; 0 = never */
    size_t max_dir_bytes;           /* REASM_MAX_OOO_BYTES_DIR */
    size_t max_dir_segs;            /* REASM_MAX_OOO_SEGS_DIR */
    size_t max_total_bytes;         /* REASM_MAX_OOO_BYTES_TOTAL */
};
void flow_limits_default(struct flow_limits *lim);

struct flow_stats {
    uint64_t tcp_packets;           /* TCP packets offered */
    uint64_t selected_packets;      /* passed the port filter */
    uint64_t flows_created;         /* table entries, ignored ones included */
    uint64_t flows_ignored;         /* open() returned NULL: kept as a tombstone
                                       (no callbacks) until FIN/RST/eviction */
    uint64_t evicted_full;          /* evicted because the table was full */
    uint64_t evicted_idle;          /* (both: flows with consumer state only) */
    uint64_t reasm_limit_hits;      /* out-of-order limits reached */
    uint64_t retrans_after_close;   /* data of a closed connection (repeated bytes, or in flight
                                       past its RST): dropped */
    uint64_t idle_continued;        /* flows that went on after their idle eviction:
                                       followed as tombstones, not reported again */
    size_t peak_flows;
    size_t ooo_bytes_peak;
    size_t ooo_bytes;               /* memory queued out of order now, all flows
                                       (reasm_seg_cost() per span) */
};

struct flow_table;

/* ports: nports entries (ignored when all_ports); nports == 0 selects every
 * port too.  More than FLOW_MAX_PORTS: TI_ELIMIT.  lim NULL: defaults.
 * A SYN (no ACK) on a flow that already carried data or a FIN, with an ISN
 * that is neither the recorded one nor behind the data seen, is a reused
 * port: the old flow is released (not evicted) and a new one opened. */
int flow_table_new(struct flow_table **out, const struct flow_limits *lim,
                   const uint16_t *ports, size_t nports, bool all_ports,
                   const struct flow_ops *ops);

/* True when a packet with these ports would be looked at (cheap filter). */
bool flow_port_selected(const struct flow_table *t, uint16_t sport, uint16_t dport);

/* Feed one decoded TCP segment captured at ts. */
void flow_packet(struct flow_table *t, const struct pkt_info *p, int64_t ts);

/* End of capture: flush every flow's queues and release all flows. */
void flow_table_finish(struct flow_table *t, int64_t ts);

const struct flow_stats *flow_table_stats(const struct flow_table *t);

/* Keep the open flows in a heap by first packet time (8 bytes a flow),
 * for flow_table_oldest(); before the first packet. */
void flow_table_track_oldest(struct flow_table *t);

/* The first packet time of the oldest flow still in the table (a flow
 * being released has left it); false when the table is empty or not
 * tracked.  O(1). */
bool flow_table_oldest(const struct flow_table *t, int64_t *first_ts);

void flow_table_free(struct flow_table *t);  /* releases remaining flows; NULL ok */

#endif
