/* test_flow.c - connection table: port filter, sides, life cycle, eviction, done(), snaplen holes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tlsinspect/err.h"
#include "tlsinspect/flow.h"

#define APP_BUF  4096
#define MAX_APPS 64

#define SEC 1000000LL

/* Consumer state per flow; filled by the callbacks. */
struct app {
    int id;
    uint8_t buf[2][APP_BUF];
    size_t len[2];
    uint64_t gap_bytes[2];
    int gaps[2];
    int data_calls[2];
    int closes[2];
    bool rst[2];
    int client_side, port_server_side;   /* as seen at open() */
    int hooked[2];                       /* packet() calls per side */
    int hooked_done;                     /* ... with the consumer already done */
    struct conn_endpoint side0;
};

/* What the test observed after each flow was released. */
struct done_app {
    struct app a;
    bool evicted;
    size_t queued_at_release;            /* both dirs' ooo_bytes at release */
    struct flow_side_stats st[2];
    struct reasm_stats rst[2];
};

struct harness {
    int opens, releases, release_evicted;
    bool ignore_all;                     /* open() returns NULL */
    size_t done_after;                   /* done() once this many bytes came (0: never) */
    struct app *live[MAX_APPS];
    struct done_app gone[MAX_APPS];
    int ngone;
    int released_id[MAX_APPS];
};

static void *h_open(void *ctx, struct flow *f)
{
    struct harness *h = ctx;
    struct app *a;

    h->opens++;
    if (h->ignore_all)
        return NULL;
    a = calloc(1, sizeof(*a));
    assert_non_null(a);
    a->id = h->opens;
    a->client_side = f->client_side;
    a->port_server_side = f->port_server_side;
    a->side0 = f->side[0];
    assert_true(a->id < MAX_APPS);
    h->live[a->id] = a;
    return a;
}

static void h_data(void *ctx, struct flow *f, int side, const uint8_t *d, size_t n, int64_t ts)
{
    struct app *a = f->app;

    assert_non_null(a);
    assert_true(side == 0 || side == 1);
    assert_true(a->len[side] + n <= APP_BUF);
    memcpy(a->buf[side] + a->len[side], d, n);
    a->len[side] += n;
    a->data_calls[side]++;
}

static void h_gap(void *ctx, struct flow *f, int side, uint64_t n, int64_t ts)
{
    struct app *a = f->app;

    a->gaps[side]++;
    a->gap_bytes[side] += n;
}

static bool h_done(void *ctx, struct flow *f)
{
    struct harness *h = ctx;
    struct app *a = f->app;

    return h->done_after && a->len[0] + a->len[1] >= h->done_after;
}

static void h_packet(void *ctx, struct flow *f, int side, const struct pkt_info *p, int64_t ts)
{
    struct app *a = f->app;

    assert_non_null(a);
    a->hooked[side]++;
    a->hooked_done += f->app_done;
}

static void h_close(void *ctx, struct flow *f, int side, bool rst, int64_t ts)
{
    struct app *a = f->app;

    assert_non_null(a);
    a->closes[side]++;
    a->rst[side] = rst;
}

static void h_release(void *ctx, struct flow *f, bool evicted)
{
    struct harness *h = ctx;
    struct app *a = f->app;

    assert_non_null(a);
    assert_true(h->ngone < MAX_APPS);
    h->gone[h->ngone].a = *a;
    h->gone[h->ngone].evicted = evicted;
    h->gone[h->ngone].queued_at_release = f->dir[0].ooo_bytes + f->dir[1].ooo_bytes;
    memcpy(h->gone[h->ngone].st, f->st, sizeof(f->st));
    h->gone[h->ngone].rst[0] = f->dir[0].st;
    h->gone[h->ngone].rst[1] = f->dir[1].st;
    h->released_id[h->ngone] = a->id;
    h->ngone++;
    h->releases++;
    if (evicted)
        h->release_evicted++;
    h->live[a->id] = NULL;
    free(a);
}

static struct harness *g_new(void)
{
    struct harness *h = calloc(1, sizeof(*h));

    assert_non_null(h);
    return h;
}

static struct flow_table *table_new(struct harness *h, size_t max_flows, int64_t idle,
                                    const uint16_t *ports, size_t nports)
{
    struct flow_table *t = NULL;
    struct flow_limits lim;
    struct flow_ops ops = { h, h_open, h_data, h_gap, h_done, h_close, h_release, h_packet };

    flow_limits_default(&lim);
    if (max_flows)
        lim.max_flows = max_flows;
    lim.idle_timeout_us = idle;
    assert_int_equal(flow_table_new(&t, &lim, ports, nports, false, &ops), TI_OK);
    assert_non_null(t);
    return t;
}

/* A hand-built IPv4 packet: 10.0.0.<a>:<sp> -> 10.0.0.<b>:<dp>. */
static struct pkt_info pk(uint8_t a, uint16_t sp, uint8_t b, uint16_t dp, uint8_t flags,
                          uint32_t seq, const char *payload)
{
    struct pkt_info p;

    memset(&p, 0, sizeof(p));
    p.ipver = 4;
    p.src[0] = 10;
    p.src[3] = a;
    p.dst[0] = 10;
    p.dst[3] = b;
    p.sport = sp;
    p.dport = dp;
    p.flags = flags;
    p.seq = seq;
    if (payload) {
        p.payload = (const uint8_t *)payload;
        p.payload_len = p.payload_wire_len = (uint32_t)strlen(payload);
        p.has_payload = true;          /* as decode_tcp() sets it */
    }
    return p;
}

static void feed(struct flow_table *t, struct pkt_info p, int64_t ts)
{
    flow_packet(t, &p, ts);
}

static const uint16_t tls_ports[] = { 8443, 6972 };

/* Client 10.0.0.1:40000 <-> server 10.0.0.2:8443 with a handshake. */
static void handshake(struct flow_table *t, uint16_t cport, int64_t ts)
{
    feed(t, pk(1, cport, 2, 8443, TCPF_SYN, 1000, NULL), ts);
    feed(t, pk(2, 8443, 1, cport, TCPF_SYN | TCPF_ACK, 5000, NULL), ts + 1);
    feed(t, pk(1, cport, 2, 8443, TCPF_ACK, 1001, NULL), ts + 2);
}

static void finish(struct flow_table *t, struct harness *h)
{
    flow_table_finish(t, 99 * SEC);
    assert_int_equal(h->opens - (h->ignore_all ? h->opens : 0), h->releases);
    assert_int_equal(flow_table_stats(t)->ooo_bytes, 0);
    flow_table_free(t);
    free(h);
}

/* ---- tests --------------------------------------------------------------- */

static void test_port_filter_before_flow(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);

    assert_true(flow_port_selected(t, 8443, 1));
    assert_true(flow_port_selected(t, 1, 6972));
    assert_false(flow_port_selected(t, 443, 1));
    assert_false(flow_port_selected(t, 8444, 8442));
    feed(t, pk(1, 40000, 2, 443, TCPF_SYN, 1, NULL), 0);
    feed(t, pk(1, 40000, 2, 443, TCPF_ACK, 2, "data"), 1);
    assert_int_equal(st->tcp_packets, 2);
    assert_int_equal(st->selected_packets, 0);
    assert_int_equal(st->flows_created, 0);
    assert_int_equal(h->opens, 0);
    feed(t, pk(1, 40001, 2, 6972, TCPF_SYN, 1, NULL), 2);
    assert_int_equal(st->selected_packets, 1);
    assert_int_equal(st->flows_created, 1);
    assert_int_equal(h->opens, 1);
    finish(t, h);
}

static void test_no_list_means_all_ports(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, NULL, 0);

    assert_true(flow_port_selected(t, 1, 2));
    feed(t, pk(1, 40000, 2, 443, TCPF_SYN, 1, NULL), 0);
    assert_int_equal(h->opens, 1);
    assert_int_equal(h->live[1]->port_server_side, -1);
    finish(t, h);
}

static void test_too_many_ports(void **state)
{
    uint16_t ports[FLOW_MAX_PORTS + 1] = { 0 };
    struct flow_table *t = NULL;
    struct flow_ops ops = { NULL, h_open, h_data, h_gap, h_done, h_close, h_release, NULL };

    assert_int_equal(flow_table_new(&t, NULL, ports, FLOW_MAX_PORTS + 1, false, &ops), TI_ELIMIT);
    assert_null(t);
    assert_int_equal(flow_table_new(&t, NULL, ports, FLOW_MAX_PORTS, false, &ops), TI_OK);
    flow_table_free(t);
    flow_table_free(NULL);
}

static void test_both_directions_one_flow(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    struct app *a;

    handshake(t, 40000, 0);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK | TCPF_PSH, 1001, "hello"), 10);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK | TCPF_PSH, 5001, "world!"), 11);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK | TCPF_PSH, 1006, " again"), 12);
    assert_int_equal(h->opens, 1);
    assert_int_equal(flow_table_stats(t)->flows_created, 1);
    a = h->live[1];
    assert_non_null(a);
    assert_int_equal(a->len[0], 11);
    assert_memory_equal(a->buf[0], "hello again", 11);
    assert_int_equal(a->len[1], 6);
    assert_memory_equal(a->buf[1], "world!", 6);
    /* a different client port is another flow */
    handshake(t, 40001, 20);
    assert_int_equal(h->opens, 2);
    finish(t, h);
}

static void test_sides_from_syn(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    struct app *a;

    handshake(t, 40000, 0);
    a = h->live[1];
    assert_int_equal(a->client_side, 0);
    assert_int_equal(a->port_server_side, 1);
    assert_int_equal(a->side0.ipver, 4);
    assert_int_equal(a->side0.ip[0], 10);
    assert_int_equal(a->side0.ip[3], 1);
    assert_int_equal(a->side0.port, 40000);
    finish(t, h);
}

static void test_sides_from_synack_only(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    struct app *a;

    /* the SYN was not captured: the SYN-ACK's receiver initiated */
    feed(t, pk(2, 8443, 1, 40000, TCPF_SYN | TCPF_ACK, 5000, NULL), 0);
    a = h->live[1];
    assert_non_null(a);
    assert_int_equal(a->side0.ip[3], 1);
    assert_int_equal(a->side0.port, 40000);
    assert_int_equal(a->client_side, 0);
    assert_int_equal(a->port_server_side, 1);
    /* the server's stream starts at its ISN + 1 */
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "srv"), 1);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 777, "cli"), 2);
    assert_int_equal(a->len[1], 3);
    assert_int_equal(a->len[0], 3);
    finish(t, h);
}

static void test_sides_without_handshake(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    struct app *a;

    /* pure ACK / FIN / RST of an unknown flow: ignored */
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, NULL), 0);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK | TCPF_FIN, 5001, NULL), 0);
    feed(t, pk(2, 8443, 1, 40000, TCPF_RST, 5001, NULL), 0);
    assert_int_equal(h->opens, 0);
    assert_int_equal(flow_table_stats(t)->selected_packets, 3);
    /* mid-stream data from the server first: it becomes side 0 */
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "server first"), 1);
    a = h->live[1];
    assert_non_null(a);
    assert_int_equal(a->side0.ip[3], 2);
    assert_int_equal(a->side0.port, 8443);
    assert_int_equal(a->client_side, -1);
    assert_int_equal(a->port_server_side, 0);     /* the port list still knows */
    assert_int_equal(a->len[0], 12);
    finish(t, h);
}

static void test_open_null_tombstone(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);

    h->ignore_all = true;
    handshake(t, 40000, 0);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "hello"), 1);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "world"), 2);
    /* open() asked once; no data, no release for an ignored flow */
    assert_int_equal(h->opens, 1);
    assert_int_equal(st->flows_ignored, 1);
    assert_int_equal(st->flows_created, 1);
    assert_int_equal(h->releases, 0);
    finish(t, h);
}

static void test_data_in_order_per_side(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);
    struct app *a;

    handshake(t, 40000, 0);
    /* client stream 1001..: segments 2, 3 arrive before 1 */
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1006, "BBBBB"), 10);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5004, "yyy"), 11);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1011, "CCC"), 12);
    a = h->live[1];
    assert_int_equal(a->len[0], 0);
    assert_int_equal(a->len[1], 0);
    /* memory, not payload: three spans of 5, 3 and 3 bytes */
    assert_int_equal(st->ooo_bytes, 2 * reasm_seg_cost(3) + reasm_seg_cost(5));
    assert_int_equal(st->ooo_bytes_peak, 2 * reasm_seg_cost(3) + reasm_seg_cost(5));
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "xxx"), 13);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "AAAAA"), 14);
    assert_int_equal(a->len[0], 13);
    assert_memory_equal(a->buf[0], "AAAAABBBBBCCC", 13);
    assert_int_equal(a->len[1], 6);
    assert_memory_equal(a->buf[1], "xxxyyy", 6);
    assert_int_equal(st->ooo_bytes, 0);
    finish(t, h);
}

static void test_fin_both_releases_once(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);

    handshake(t, 40000, 0);
    /* a hole in the client stream, then the client's FIN: flushed as a gap */
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1011, "late"), 5);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK | TCPF_FIN, 1015, NULL), 6);
    assert_int_equal(h->live[1]->closes[0], 1);
    assert_int_equal(h->live[1]->gap_bytes[0], 10);
    assert_int_equal(h->live[1]->len[0], 4);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK | TCPF_FIN, 1015, NULL), 7);   /* retransmitted FIN */
    assert_int_equal(h->live[1]->closes[0], 1);
    assert_int_equal(h->releases, 0);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK | TCPF_FIN, 5001, NULL), 8);
    assert_int_equal(h->releases, 1);
    assert_false(h->gone[0].evicted);
    assert_int_equal(h->gone[0].a.closes[0], 1);
    assert_int_equal(h->gone[0].a.closes[1], 1);
    assert_int_equal(h->gone[0].st[0].fin_ts, 6);
    assert_int_equal(h->gone[0].st[1].fin_ts, 8);
    assert_int_equal(h->gone[0].rst[0].gap_bytes, 10);
    assert_false(h->gone[0].a.rst[1]);
    /* the last ACK does not bring the flow back */
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1016, NULL), 9);
    assert_int_equal(h->opens, 1);
    assert_int_equal(st->flows_created, 1);
    finish(t, h);
}

/* Issue 17: data repeating a closed connection's bytes after both FINs
 * (a close_notify sent again) is a retransmission, not a new connection;
 * new bytes on that 4-tuple still open one. */
static void test_retransmission_after_close(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);

    handshake(t, 40000, 0);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "request"), 1);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "response"), 2);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1008, "bye"), 3);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK | TCPF_FIN, 1011, NULL), 4);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK | TCPF_FIN, 5009, NULL), 5);
    assert_int_equal(h->releases, 1);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK | TCPF_PSH, 1008, "bye"), 6);   /* again */
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "response"), 7);
    assert_int_equal(h->opens, 1);
    assert_int_equal(st->retrans_after_close, 2);
    /* bytes beyond where the client's stream ended: something new */
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 900000, "other"), 8);
    assert_int_equal(h->opens, 2);
    finish(t, h);
}

/* Data of a connection closed by an RST: its bytes seen again (tcpdump -i
 * any captured them on a second interface after the RST) or still in
 * flight past its end are the old connection's, not a new one's; bytes far
 * from its stream, or long after, are a new connection on that 4-tuple. */
static void test_rst_closed_late_data(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);

    handshake(t, 40000, 0);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "hello"), 10);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "server-flight-1"), 20);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1006, "alert"), 30);
    feed(t, pk(1, 40000, 2, 8443, TCPF_RST | TCPF_ACK, 1011, NULL), 40);
    assert_int_equal(h->releases, 1);
    /* the alert's second copy, after the RST's first */
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1006, "alert"), 41);
    /* the server's next segment, sent before the RST reached it */
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5016, "server-flight-2"), 200000);
    assert_int_equal(h->opens, 1);
    assert_int_equal(st->retrans_after_close, 2);
    /* below the server stream's first byte: another connection's */
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 4000, "new"), 300000);
    assert_int_equal(h->opens, 2);
    finish(t, h);

    /* new bytes long after the RST: the peers went on (an RST they ignored) */
    h = g_new();
    t = table_new(h, 0, 0, tls_ports, 2);
    handshake(t, 40001, 0);
    feed(t, pk(2, 8443, 1, 40001, TCPF_ACK, 5001, "server-flight-1"), 20);
    feed(t, pk(1, 40001, 2, 8443, TCPF_RST | TCPF_ACK, 1001, NULL), 40);
    feed(t, pk(2, 8443, 1, 40001, TCPF_ACK, 5001, "server-flight-1"), 30 * SEC);
    assert_int_equal(h->opens, 1);
    feed(t, pk(2, 8443, 1, 40001, TCPF_ACK, 5016, "server-flight-2"), 30 * SEC + 1);
    assert_int_equal(h->opens, 2);
    finish(t, h);
}

/* After both FINs only bytes the connection carried are its own: a new
 * connection on the same 4-tuple whose SYN was not captured, its sequence
 * numbers below the old stream's, is a new flow (and so is the old
 * stream's range once the closed connection has been forgotten). */
static void test_closed_range_and_ttl(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);

    handshake(t, 40000, 0);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "request"), 1);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK | TCPF_FIN, 1008, NULL), 2);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK | TCPF_FIN, 5001, NULL), 3);
    assert_int_equal(h->releases, 1);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "request"), 500000);
    assert_int_equal(h->opens, 1);
    assert_int_equal(st->retrans_after_close, 1);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 900, "older"), 600000);
    assert_int_equal(h->opens, 2);
    finish(t, h);

    h = g_new();
    t = table_new(h, 0, 0, tls_ports, 2);
    handshake(t, 40001, 0);
    feed(t, pk(1, 40001, 2, 8443, TCPF_ACK, 1001, "request"), 1);
    feed(t, pk(1, 40001, 2, 8443, TCPF_ACK | TCPF_FIN, 1008, NULL), 2);
    feed(t, pk(2, 8443, 1, 40001, TCPF_ACK | TCPF_FIN, 5001, NULL), 3);
    feed(t, pk(1, 40001, 2, 8443, TCPF_ACK, 1001, "request"), 200 * SEC);
    assert_int_equal(h->opens, 2);
    finish(t, h);
}

/* One segment captured twice within a moment (two interfaces) is not a
 * retransmission and is delivered once; sent again 300 ms later it is. */
static void test_capture_duplicate(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);

    handshake(t, 40000, 0);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "hello"), 10);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "hello"), 10);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "flight"), 500);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "flight"), 501);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "flight"), 300500);
    feed(t, pk(1, 40000, 2, 8443, TCPF_RST | TCPF_ACK, 1006, NULL), 300600);
    assert_int_equal(h->releases, 1);
    assert_int_equal(h->gone[0].st[0].dups, 1);
    assert_int_equal(h->gone[0].st[1].dups, 1);
    assert_int_equal(h->gone[0].rst[0].retrans, 0);
    assert_int_equal(h->gone[0].rst[1].retrans, 1);
    assert_int_equal(h->gone[0].a.len[0], 5);
    assert_int_equal(h->gone[0].a.len[1], 6);
    finish(t, h);
}

/* A capture that starts mid-connection with a keepalive probe (one
 * garbage byte at SND.NXT - 1): the byte does not start the stream, the
 * data after it does; with the stream known, the probe is no retransmission. */
static void test_keepalive_probe(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);

    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 7999, "\x01"), 1);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 8000, "record"), 30 * SEC);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 8005, "d"), 60 * SEC);
    feed(t, pk(1, 40000, 2, 8443, TCPF_RST | TCPF_ACK, 8006, NULL), 61 * SEC);
    assert_int_equal(h->releases, 1);
    assert_int_equal(h->gone[0].a.len[0], 6);
    assert_memory_equal(h->gone[0].a.buf[0], "record", 6);
    assert_int_equal(h->gone[0].st[0].keepalives, 2);
    assert_int_equal(h->gone[0].rst[0].retrans, 0);
    finish(t, h);
}

/* A connection judged at the idle timeout that carries on later (an HTTP
 * keep-alive connection reused) is not opened again as one picked up
 * mid-stream: its bytes go to a tombstone.  Bytes of another stream on
 * that 4-tuple still open a flow. */
static void test_idle_evicted_continues(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 10 * SEC, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);

    handshake(t, 40000, 0);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "request"), 1);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "response"), 2);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1008, "again"), 15 * 60 * SEC);
    assert_int_equal(h->releases, 1);
    assert_true(h->gone[0].evicted);
    assert_int_equal(h->opens, 1);
    assert_int_equal(st->idle_continued, 1);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5009, "answer"), 15 * 60 * SEC + 1);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK | TCPF_FIN, 1013, NULL), 15 * 60 * SEC + 2);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK | TCPF_FIN, 5015, NULL), 15 * 60 * SEC + 3);
    assert_int_equal(h->opens, 1);
    /* another connection on the 4-tuple, its SYN not captured */
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 700000000, "other"), 16 * 60 * SEC);
    assert_int_equal(h->opens, 2);
    finish(t, h);
}

/* The client's alert was not captured, its RST was: the RST's sequence
 * number says 7 bytes are missing, a gap the consumer hears of. */
static void test_rst_beyond_captured_bytes(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);

    handshake(t, 40000, 0);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "hello"), 10);
    feed(t, pk(1, 40000, 2, 8443, TCPF_RST | TCPF_ACK, 1013, NULL), 20);
    assert_int_equal(h->releases, 1);
    assert_int_equal(h->gone[0].a.gaps[0], 1);
    assert_int_equal(h->gone[0].a.gap_bytes[0], 7);
    finish(t, h);
}

static void test_rst_releases(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);

    handshake(t, 40000, 0);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "hello"), 1);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1011, "queued"), 2);
    feed(t, pk(2, 8443, 1, 40000, TCPF_RST | TCPF_ACK, 5001, NULL), 3);
    assert_int_equal(h->releases, 1);
    assert_false(h->gone[0].evicted);
    assert_true(h->gone[0].st[1].rst);
    assert_int_equal(h->gone[0].st[1].rst_ts, 3);
    assert_false(h->gone[0].st[0].rst);
    assert_true(h->gone[0].a.rst[1]);
    assert_int_equal(h->gone[0].a.closes[1], 1);
    assert_int_equal(h->gone[0].a.closes[0], 0);
    /* the queued client data reached the consumer, after a 5-byte gap */
    assert_int_equal(h->gone[0].a.len[0], 11);
    assert_memory_equal(h->gone[0].a.buf[0], "helloqueued", 11);
    assert_int_equal(h->gone[0].a.gap_bytes[0], 5);
    assert_int_equal(h->gone[0].queued_at_release, 0);
    finish(t, h);
}

/* The oldest open flow by first packet time, whatever the order of
 * creation and release (timestamps that go back included). */
static void test_oldest_open_flow(void **state)
{
    static const int64_t first[] = {500, 300, 900, 100, 700, 200, 800};
    const size_t n = sizeof(first) / sizeof(first[0]);
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    bool open[sizeof(first) / sizeof(first[0])];
    int64_t ts = -1;

    flow_table_track_oldest(t);
    assert_false(flow_table_oldest(t, &ts));
    for (size_t i = 0; i < n; i++) {
        feed(t, pk(1, (uint16_t)(40000 + i), 2, 8443, TCPF_SYN, 1000, NULL), first[i]);
        open[i] = true;
    }
    /* release in an order unrelated to either: RST from each server */
    static const size_t order[] = {3, 0, 6, 5, 1, 4, 2};
    for (size_t k = 0; k < n; k++) {
        int64_t want = INT64_MAX;
        for (size_t i = 0; i < n; i++)
            if (open[i] && first[i] < want)
                want = first[i];
        assert_true(flow_table_oldest(t, &ts));
        assert_int_equal(ts, want);
        size_t i = order[k];
        feed(t, pk(2, 8443, 1, (uint16_t)(40000 + i), TCPF_RST, 0, NULL), 1000);
        open[i] = false;
    }
    assert_false(flow_table_oldest(t, &ts));
    finish(t, h);
}

static void test_idle_eviction(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 10 * SEC, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);

    handshake(t, 40000, 0);                 /* flow 1, last active at ~0 */
    handshake(t, 40001, 5 * SEC);           /* flow 2 */
    feed(t, pk(1, 40001, 2, 8443, TCPF_ACK, 1001, "x"), 9 * SEC);
    assert_int_equal(h->releases, 0);
    /* exactly the timeout: still alive */
    feed(t, pk(1, 40001, 2, 8443, TCPF_ACK, 1002, "y"), 10 * SEC + 2);
    assert_int_equal(h->releases, 0);
    feed(t, pk(1, 40001, 2, 8443, TCPF_ACK, 1003, "z"), 10 * SEC + 3);
    assert_int_equal(h->releases, 1);
    assert_int_equal(h->released_id[0], 1);
    assert_true(h->gone[0].evicted);
    assert_int_equal(st->evicted_idle, 1);
    assert_non_null(h->live[2]);
    /* an unrelated packet far later evicts the other one too */
    feed(t, pk(7, 1, 8, 2, TCPF_ACK, 1, NULL), 100 * SEC);
    assert_int_equal(h->releases, 2);
    assert_int_equal(st->evicted_idle, 2);
    finish(t, h);
}

static void test_table_full_evicts_lru(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 4, 0, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);
    int i;

    for (i = 0; i < 4; i++)
        handshake(t, (uint16_t)(40000 + i), i * 10);
    /* touch flow 1: flow 2 becomes the least recently active */
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "hi"), 50);
    assert_int_equal(h->releases, 0);
    handshake(t, 40004, 60);
    assert_int_equal(h->opens, 5);
    assert_int_equal(h->releases, 1);
    assert_int_equal(h->released_id[0], 2);
    assert_true(h->gone[0].evicted);
    assert_int_equal(st->evicted_full, 1);
    assert_int_equal(st->peak_flows, 4);
    /* flow 1 is still there: its next bytes continue the same stream */
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1003, "!"), 70);
    assert_int_equal(h->live[1]->len[0], 3);
    assert_int_equal(h->opens, 5);
    flow_table_finish(t, 99 * SEC);
    /* end of capture: released in creation order, not evicted */
    assert_int_equal(h->releases, 5);
    assert_int_equal(h->released_id[1], 1);
    assert_int_equal(h->released_id[2], 3);
    assert_int_equal(h->released_id[3], 4);
    assert_int_equal(h->released_id[4], 5);
    assert_int_equal(h->release_evicted, 1);
    flow_table_free(t);
    free(h);
}

static void test_done_stops_buffering(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    const struct flow_stats *st = flow_table_stats(t);
    struct app *a;

    h->done_after = 6;
    handshake(t, 40000, 0);
    a = h->live[1];
    /* queued: [1006,1011) and [1016,1020); then the head arrives: the drain
     * delivers "AAAAA" + "BBBBB" -> done after the second piece */
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1006, "BBBBB"), 1);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1016, "DDDD"), 2);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5100, "queued-srv"), 3);
    assert_int_equal(st->ooo_bytes, reasm_seg_cost(5) + reasm_seg_cost(4) + reasm_seg_cost(10));
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "AAAAA"), 4);
    assert_int_equal(a->len[0], 10);
    assert_int_equal(a->data_calls[0], 2);
    assert_int_equal(st->ooo_bytes, 0);     /* both directions' queues freed */
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1011, "CCCCC"), 5);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "srv"), 6);
    assert_int_equal(a->len[0], 10);
    assert_int_equal(a->len[1], 0);
    assert_int_equal(a->gaps[0] + a->gaps[1], 0);
    /* FIN/RST still reach the consumer, and release happens once */
    feed(t, pk(2, 8443, 1, 40000, TCPF_RST, 5004, NULL), 7);
    assert_int_equal(h->releases, 1);
    assert_int_equal(h->gone[0].a.closes[1], 1);
    /* packet() saw every packet, with the state before it: the one that
     * made the consumer done still saw it undone (-w keeps it) */
    assert_int_equal(h->gone[0].a.hooked[0], (int)h->gone[0].st[0].packets);
    assert_int_equal(h->gone[0].a.hooked[1], (int)h->gone[0].st[1].packets);
    assert_int_equal(h->gone[0].a.hooked_done, 3);
    finish(t, h);
}

static void test_snap_cut_data_and_gap(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    struct pkt_info p;
    struct app *a;

    handshake(t, 40000, 0);
    p = pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "CERT");
    p.payload_wire_len = 1400;          /* 4 bytes captured of 1400 */
    p.snap_cut = true;
    flow_packet(t, &p, 1);
    a = h->live[1];
    assert_int_equal(a->len[1], 4);
    assert_memory_equal(a->buf[1], "CERT", 4);
    assert_int_equal(a->gaps[1], 1);
    assert_int_equal(a->gap_bytes[1], 1396);
    /* the next segment continues right after the hole */
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 5001 + 1400, "next"), 2);
    assert_int_equal(a->len[1], 8);
    assert_memory_equal(a->buf[1], "CERTnext", 8);
    /* a cut segment arriving out of order leaves a known hole: no stall */
    p = pk(2, 8443, 1, 40000, TCPF_ACK, 6505, "ab");
    p.payload_wire_len = 50;
    p.snap_cut = true;
    flow_packet(t, &p, 3);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 6555, "tail"), 4);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 6405, "0123456789"), 5);
    assert_int_equal(a->len[1], 8 + 10);        /* [6415,6505) still missing */
    assert_int_equal(a->gap_bytes[1], 1396);
    flow_table_finish(t, 99 * SEC);
    /* end of capture: the real hole (90), "ab", the known hole (48), "tail" */
    assert_int_equal(h->releases, 1);
    assert_int_equal(h->gone[0].a.len[1], 8 + 10 + 2 + 4);
    assert_memory_equal(h->gone[0].a.buf[1], "CERTnext0123456789abtail", 24);
    assert_int_equal(h->gone[0].a.gap_bytes[1], 1396 + 90 + 48);
    assert_int_equal(h->gone[0].a.gaps[1], 3);
    assert_int_equal(h->gone[0].st[1].snap_cut, 2);
    assert_int_equal(h->gone[0].st[1].bytes, 1400 + 4 + 50 + 4 + 10);
    assert_int_equal(flow_table_stats(t)->ooo_bytes, 0);
    flow_table_free(t);
    free(h);
}

static void test_snap_cut_stats(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    struct pkt_info p;

    handshake(t, 40000, 0);
    p = pk(2, 8443, 1, 40000, TCPF_ACK, 5001, "CERT");
    p.payload_wire_len = 1400;
    p.snap_cut = true;
    flow_packet(t, &p, 1);
    /* a cut packet with nothing captured at all: a pure hole */
    p = pk(2, 8443, 1, 40000, TCPF_ACK, 6401, NULL);
    p.payload_wire_len = 100;
    p.has_payload = true;
    p.snap_cut = true;
    flow_packet(t, &p, 2);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 6501, "ok"), 3);
    flow_table_finish(t, 5);
    assert_int_equal(h->releases, 1);
    assert_int_equal(h->gone[0].a.gap_bytes[1], 1396 + 100);
    assert_int_equal(h->gone[0].a.len[1], 6);
    assert_memory_equal(h->gone[0].a.buf[1], "CERTok", 6);
    assert_int_equal(h->gone[0].st[1].snap_cut, 2);
    assert_int_equal(h->gone[0].st[1].packets, 4);   /* SYN-ACK + 3 */
    assert_int_equal(h->gone[0].st[1].bytes, 1400 + 100 + 2);
    assert_int_equal(h->gone[0].st[0].snap_cut, 0);
    flow_table_free(t);
    free(h);
}

static void test_port_reuse_new_connection(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);

    handshake(t, 40000, 0);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 1001, "first"), 1);
    /* a late copy of the same SYN is not a new connection */
    feed(t, pk(1, 40000, 2, 8443, TCPF_SYN, 1000, NULL), 2);
    assert_int_equal(h->opens, 1);
    /* a new SYN with another ISN after a conversation: the port was reused */
    feed(t, pk(1, 40000, 2, 8443, TCPF_SYN, 777777, NULL), 3);
    assert_int_equal(h->opens, 2);
    assert_int_equal(h->releases, 1);
    assert_false(h->gone[0].evicted);
    assert_int_equal(h->gone[0].a.len[0], 5);
    feed(t, pk(1, 40000, 2, 8443, TCPF_ACK, 777778, "second"), 4);
    assert_int_equal(h->live[2]->len[0], 6);
    finish(t, h);
}

static void test_synack_isn_change_before_data(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    struct app *a;

    feed(t, pk(1, 40000, 2, 8443, TCPF_SYN, 1000, NULL), 0);
    feed(t, pk(2, 8443, 1, 40000, TCPF_SYN | TCPF_ACK, 5000, NULL), 1);
    feed(t, pk(2, 8443, 1, 40000, TCPF_SYN | TCPF_ACK, 9000, NULL), 2);   /* latest wins */
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 9001, "srv"), 3);
    a = h->live[1];
    assert_int_equal(a->len[1], 3);
    assert_int_equal(h->opens, 1);
    /* the retransmitted SYN (same ISN) changes nothing */
    feed(t, pk(1, 40000, 2, 8443, TCPF_SYN, 1000, NULL), 4);
    assert_int_equal(h->opens, 1);
    /* a SYN-ACK with another ISN after data: counted, the stream stays */
    feed(t, pk(2, 8443, 1, 40000, TCPF_SYN | TCPF_ACK, 1234, NULL), 5);
    feed(t, pk(2, 8443, 1, 40000, TCPF_ACK, 9004, "!"), 6);
    assert_int_equal(a->len[1], 4);
    flow_table_finish(t, 9);
    assert_int_equal(h->gone[0].st[1].isn, 9000);
    assert_int_equal(h->gone[0].st[1].isn_changes, 2);
    assert_true(h->gone[0].st[0].syn);
    assert_int_equal(h->gone[0].st[0].isn_changes, 0);
    flow_table_free(t);
    free(h);
}

static void test_ipv6_and_hash_direction(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 0, 0, tls_ports, 2);
    struct pkt_info p, q;

    memset(&p, 0, sizeof(p));
    p.ipver = 6;
    p.src[0] = 0x20; p.src[1] = 0x01; p.src[15] = 1;
    p.dst[0] = 0x20; p.dst[1] = 0x01; p.dst[15] = 2;
    p.sport = 50000;
    p.dport = 6972;
    p.flags = TCPF_SYN;
    p.seq = 10;
    flow_packet(t, &p, 0);
    q = p;
    memcpy(q.src, p.dst, 16);
    memcpy(q.dst, p.src, 16);
    q.sport = p.dport;
    q.dport = p.sport;
    q.flags = TCPF_ACK;
    q.seq = 20;
    q.payload = (const uint8_t *)"v6";
    q.payload_len = q.payload_wire_len = 2;
    q.has_payload = true;
    flow_packet(t, &q, 1);
    assert_int_equal(h->opens, 1);
    assert_int_equal(h->live[1]->len[1], 2);
    /* same addresses in the low 4 bytes but IPv4: another flow */
    p.ipver = 4;
    flow_packet(t, &p, 2);
    assert_int_equal(h->opens, 2);
    finish(t, h);
}

static void test_many_flows_all_released(void **state)
{
    struct harness *h = g_new();
    struct flow_table *t = table_new(h, 16, 0, tls_ports, 2);
    int i;

    /* 40 connections through a table of 16, half with queued data */
    for (i = 0; i < 40; i++) {
        uint16_t cp = (uint16_t)(30000 + i);
        handshake(t, cp, i * 10);
        feed(t, pk(1, cp, 2, 8443, TCPF_ACK, 1001 + 50 * (i & 1), "payload"), i * 10 + 5);
        if (i % 5 == 0)
            feed(t, pk(1, cp, 2, 8443, TCPF_RST, 2000, NULL), i * 10 + 6);
    }
    assert_true(flow_table_stats(t)->ooo_bytes_peak > 0);
    finish(t, h);
    /* finish() asserted opens == releases and no bytes left queued */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port_filter_before_flow),
        cmocka_unit_test(test_no_list_means_all_ports),
        cmocka_unit_test(test_too_many_ports),
        cmocka_unit_test(test_both_directions_one_flow),
        cmocka_unit_test(test_sides_from_syn),
        cmocka_unit_test(test_sides_from_synack_only),
        cmocka_unit_test(test_sides_without_handshake),
        cmocka_unit_test(test_open_null_tombstone),
        cmocka_unit_test(test_data_in_order_per_side),
        cmocka_unit_test(test_fin_both_releases_once),
        cmocka_unit_test(test_retransmission_after_close),
        cmocka_unit_test(test_rst_releases),
        cmocka_unit_test(test_rst_closed_late_data),
        cmocka_unit_test(test_closed_range_and_ttl),
        cmocka_unit_test(test_capture_duplicate),
        cmocka_unit_test(test_keepalive_probe),
        cmocka_unit_test(test_idle_evicted_continues),
        cmocka_unit_test(test_rst_beyond_captured_bytes),
        cmocka_unit_test(test_idle_eviction),
        cmocka_unit_test(test_table_full_evicts_lru),
        cmocka_unit_test(test_done_stops_buffering),
        cmocka_unit_test(test_snap_cut_data_and_gap),
        cmocka_unit_test(test_snap_cut_stats),
        cmocka_unit_test(test_port_reuse_new_connection),
        cmocka_unit_test(test_synack_isn_change_before_data),
        cmocka_unit_test(test_ipv6_and_hash_direction),
        cmocka_unit_test(test_many_flows_all_released),
        cmocka_unit_test(test_oldest_open_flow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
