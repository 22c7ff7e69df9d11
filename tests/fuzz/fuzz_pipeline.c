/* fuzz_pipeline.c - libFuzzer harness: the whole pipeline over an in-memory capture file.
 *
 * The input is a capture file (pcap, pcapng, or either gzip-compressed) kept
 * in memory (a memfd) and read through capture.c, then as src/analyze.c does
 * it: decode -> flow table -> TLS session per flow -> verification ->
 * findings, and both reports (text and JSON) written to /dev/null.  The glue
 * is a copy of analyze.c's: analyze_run() would build an SSL_CTX for the
 * cipher names on every input.  Every port is selected so that no seed's
 * flows are filtered out.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tlsinspect/err.h"
#include "tlsinspect/analyze.h"
#include "tlsinspect/capture.h"
#include "tlsinspect/conn.h"
#include "tlsinspect/decode.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/flow.h"
#include "tlsinspect/report.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/x509.h"

#include "fuzz_check.h"
#include "fuzz_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PIPE_MAX_PACKETS 4096   /* enough for any input libFuzzer makes */
#define FUZZ_PIPE_MAX_FLOWS   32     /* more flows than this: the oldest is evicted */

struct fp_ctx {
    struct analysis *a;
    struct tls_limits tls_lim;
    size_t conns_cap;
    bool oom;
};

struct fp_flow {
    struct conn *c;
    struct tls_session *s;
};

static void *fp_open(void *ctx, struct flow *f)
{
    struct fp_ctx *x = ctx;
    struct fp_flow *af = calloc(1, sizeof(*af));

    if (af == NULL)
        goto fail;
    af->c = malloc(sizeof(*af->c));
    if (af->c == NULL)
        goto fail;
    conn_init(af->c);
    if (tls_session_new(&af->s, af->c, x->a->pool, x->a->names, &x->tls_lim, NULL) != TI_OK)
        goto fail;
    if (f->client_side >= 0)
        tls_set_client_side(af->s, f->client_side);
    else if (f->port_server_side >= 0)
        tls_set_server_side_hint(af->s, f->port_server_side);
    return af;
fail:
    x->oom = true;
    if (af != NULL) {
        free(af->c);
        free(af);
    }
    return NULL;
}

static void fp_data(void *ctx, struct flow *f, int side, const uint8_t *d, size_t n, int64_t ts)
{
    struct fp_flow *af = f->app;
    tls_feed(af->s, side, d, n, ts);
}

static void fp_gap(void *ctx, struct flow *f, int side, uint64_t n, int64_t ts)
{
    struct fp_flow *af = f->app;
    tls_gap(af->s, side, n, ts);
}

static bool fp_done(void *ctx, struct flow *f)
{
    struct fp_flow *af = f->app;
    return tls_done(af->s);
}

static void fp_close(void *ctx, struct flow *f, int side, bool rst, int64_t ts)
{
    struct fp_flow *af = f->app;
    tls_close(af->s, side, rst, ts);
}

static void fp_fill_tcp(struct conn *c, const struct flow *f, int cs)
{
    int side_of[2] = {cs, 1 - cs};

    c->client = f->side[cs];
    c->server = f->side[1 - cs];
    c->first_ts = f->first_ts;
    c->last_ts = f->last_ts;
    c->tcp.syn_seen = f->client_side >= 0 && f->st[cs].syn;
    c->tcp.synack_seen = f->st[1 - cs].syn;
    for (int d = 0; d < 2; d++) {
        const struct flow_side_stats *st = &f->st[side_of[d]];
        const struct reasm_dir *rd = &f->dir[side_of[d]];
        c->tcp.fin[d] = st->fin;
        c->tcp.rst[d] = st->rst;
        c->tcp.rst_ts[d] = st->rst_ts;
        c->tcp.packets[d] = st->packets;
        c->tcp.bytes[d] = st->bytes;
        c->tcp.snap_cut[d] = st->snap_cut;
        c->tcp.retrans[d] = rd->st.retrans;
        c->tcp.overlap_conflicts[d] = rd->st.overlap_conflicts;
        c->tcp.gaps[d] = rd->st.gaps;
        c->tcp.gap_bytes[d] = rd->st.gap_bytes;
        c->tcp.limit_hit[d] = rd->st.limit_hits > 0;
    }
}

static void fp_release(void *ctx, struct flow *f, bool evicted)
{
    struct fp_ctx *x = ctx;
    struct fp_flow *af = f->app;
    struct analysis *a = x->a;
    int cs;

    if (af == NULL)
        return;
    cs = tls_client_side(af->s);
    FUZZ_CHECK(cs >= -1 && cs <= 1);
    if (cs < 0)
        cs = f->client_side >= 0 ? f->client_side
             : f->port_server_side >= 0 ? 1 - f->port_server_side : 0;
    fp_fill_tcp(af->c, f, cs);
    tls_finish(af->s);
    tls_session_free(af->s);
    if (af->c->is_tls && af->c->outcome != OUTCOME_NOT_TLS) {
        if (a->nconns == x->conns_cap) {
            size_t cap = x->conns_cap ? x->conns_cap * 2 : 16;
            struct conn **v = realloc(a->conns, cap * sizeof(*v));
            if (v == NULL)
                abort();
            a->conns = v;
            x->conns_cap = cap;
        }
        a->conns[a->nconns++] = af->c;
        af->c = NULL;
    }
    if (af->c != NULL) {
        conn_free(af->c);
        free(af->c);
    }
    free(af);
    f->app = NULL;
}

/* analyze.c's verify_conn() without --name/--at: SNI, else the server IP. */
static void fp_verify(struct analysis *a, struct conn *c)
{
    struct conn_verification *v = &c->verify;
    const struct conn_client_hello *ch = c->n_ch ? &c->ch[c->n_ch - 1] : NULL;
    char ip[64];

    if (c->n_server_certs == 0 && c->n_client_certs == 0)
        return;
    if (ch != NULL && ch->sni != NULL && ch->sni[0] != '\0') {
        snprintf(v->expected_name, sizeof(v->expected_name), "%s", ch->sni);
        v->name_source = X509_NAME_FROM_SNI;
    } else {
        snprintf(v->expected_name, sizeof(v->expected_name), "%s",
                 conn_ip_str(&c->server, ip, sizeof(ip)));
        v->name_source = X509_NAME_FROM_SERVER_IP;
    }
    v->time = c->first_ts / 1000000;
    if (c->n_server_certs > 0)
        v->done = x509_verify(a->pool, c->server_certs, c->n_server_certs, v->time,
                              v->expected_name, false, &v->verdict) == TI_OK;
}

/* One memfd per process holds the input; capture_open() reads it by name
 * (/proc/self/fd/N), so capture.c's own code runs: magic detection, gzip,
 * timestamps.  No disk, no file per input. */
static int fp_memfd(const uint8_t *data, size_t size, char *path, size_t plen)
{
    static int fd = -1;

    if (fd < 0 && (fd = memfd_create("fuzz_pipeline", 0)) < 0)
        abort();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    snprintf(path, plen, "/proc/self/fd/%d", fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tls_names *names;   /* read-only after init: one per process */
    static FILE *devnull;
    static struct x509_pool *pool;    /* see FUZZ_POOL_INPUTS */
    static unsigned pool_uses;
    struct x509_trust_opts trust = {NULL, NULL, NULL};
    struct flow_table *ft = NULL;
    struct capture *cap = NULL;
    struct flow_limits flim;
    struct fp_ctx x;
    struct flow_ops ops = {
        .ctx = &x, .open = fp_open, .data = fp_data, .gap = fp_gap,
        .done = fp_done, .close = fp_close, .release = fp_release,
    };
    struct report_opts ro;
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin;
    char err[512], path[64];
    char *files[1] = {path};
    struct analysis *a;
    unsigned npk = 0;

    if (size == 0)
        return 0;
    if (names == NULL && tls_names_new(&names) != TI_OK)
        abort();
    if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
        abort();
    fp_memfd(data, size, path, sizeof(path));
    if (capture_open(&cap, files, 1, NULL, err, sizeof(err)) != TI_OK)
        return 0;

    a = calloc(1, sizeof(*a));
    if (a == NULL)
        abort();
    a->names = names;
    if (pool == NULL || ++pool_uses > FUZZ_POOL_INPUTS) {
        x509_pool_free(pool);
        if (x509_pool_new(&pool, &trust, err, sizeof(err)) != TI_OK)
            abort();
        pool_uses = 1;
    }
    a->pool = pool;
    memset(&x, 0, sizeof(x));
    x.a = a;
    tls_limits_default(&x.tls_lim);
    /* Small limits: an input of a few dozen packets can reach every one of
     * them (eviction, out-of-order overflow), and the table is cheap to make. */
    flow_limits_default(&flim);
    flim.max_flows = FUZZ_PIPE_MAX_FLOWS;
    flim.max_dir_bytes = 16u * 1024u;
    flim.max_dir_segs = 32;
    flim.max_total_bytes = 64u * 1024u;
    if (flow_table_new(&ft, &flim, NULL, 0, true, &ops) != TI_OK)
        abort();

    while (npk < FUZZ_PIPE_MAX_PACKETS && capture_next(cap, &pkt) == 1) {
        struct pkt_info pi;
        enum decode_result r;

        npk++;
        a->packets++;
        if (a->first_ts == 0 || pkt.ts < a->first_ts)
            a->first_ts = pkt.ts;
        if (pkt.ts > a->last_ts)
            a->last_ts = pkt.ts;
        FUZZ_CHECK(pkt.caplen == 0 || pkt.data != NULL);
        r = decode_packet(pkt.linktype, pkt.data, pkt.caplen, pkt.len, &pi);
        FUZZ_CHECK((unsigned)r < sizeof(a->decode_counts) / sizeof(a->decode_counts[0]));
        a->decode_counts[r]++;
        if (r == DECODE_TCP)
            flow_packet(ft, &pi, pkt.ts);
        FUZZ_CHECK(!x.oom);
    }
    flow_table_finish(ft, a->last_ts);
    a->flow_stats = *flow_table_stats(ft);
    flow_table_free(ft);
    FUZZ_CHECK(a->flow_stats.ooo_bytes == 0);   /* every queued byte was released */

    /* analyze.c's copy_inputs() */
    in = capture_inputs(cap, &nin);
    FUZZ_CHECK(nin == 1);
    a->inputs = calloc(1, sizeof(*a->inputs));
    if (a->inputs == NULL)
        abort();
    a->inputs[0] = in[0];
    a->inputs[0].file = strdup("fuzz.pcap");
    a->inputs[0].error = in[0].error ? strdup(in[0].error) : NULL;
    a->ninputs = 1;
    FUZZ_CHECK(memchr(a->inputs[0].format, 0, sizeof(a->inputs[0].format)) != NULL);
    FUZZ_CHECK(memchr(a->inputs[0].linktype_name, 0, sizeof(a->inputs[0].linktype_name)) != NULL);
    capture_close(cap);
    for (size_t i = 0; i < a->nconns; i++) {
        a->conns[i]->id = i + 1;
        fp_verify(a, a->conns[i]);
        findings_run(a->conns[i], names);
        fuzz_check_conn(a->conns[i]);
    }
    memset(&ro, 0, sizeof(ro));
    ro.version = "fuzz";
    ro.verbose = true;
    FUZZ_CHECK(report_text(devnull, a, &ro) == TI_OK);
    ro.format = REPORT_JSON;
    FUZZ_CHECK(report_json(devnull, a, &ro) == TI_OK);
    a->names = NULL;                    /* static: kept for the next input */
    a->pool = NULL;
    analysis_free(a);
    return 0;
}
