/* mkseeds.c - build the fuzz seed corpora from capture files.
 *
 *   mkseeds OUTDIR CAPTURE...
 *
 * writes OUTDIR/tls/, decode/, x509/ and pipeline/ seeds in each harness's
 * input format: every TCP flow's sequence of flow-table callbacks (data,
 * gap, close, with the side the flow table knew) for fuzz_tls; the first
 * packets of each capture with their link type for fuzz_decode; every
 * certificate the TLS parser interned for fuzz_x509; and the capture itself
 * (or a pcap of its first packets when large or compressed) for
 * fuzz_pipeline.  Unreadable captures are skipped with a message.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tlsinspect/capture.h"
#include "tlsinspect/conn.h"
#include "tlsinspect/decode.h"
#include "tlsinspect/err.h"
#include "tlsinspect/flow.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/x509.h"

#include "fuzz_links.h"

#define MKS_MAX_FLOW_SEED   (1u << 20)   /* bytes of one tls seed */
#define MKS_MAX_DECODE      64u          /* decode seeds per capture */
#define MKS_MAX_PIPE_BYTES  (64u * 1024u) /* pipeline seed size (libFuzzer -max_len) */

struct mks {
    const char *outdir;
    const char *base;          /* capture's base name, sanitized */
    unsigned nflow, ndecode;
    struct x509_pool *pool;
    struct tls_names *names;
};

struct mks_flow {
    uint8_t *buf;
    size_t len, cap;
    bool full;
    struct conn c;
    struct tls_session *s;
};

static void mks_write(const struct mks *m, const char *sub, const char *name,
                      const uint8_t *d, size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/%s", m->outdir, sub, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(d, 1, n, f) != n) {
        fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fclose(f);
}

static void mks_put(struct mks_flow *mf, const void *d, size_t n)
{
    if (mf->full || mf->len + n > MKS_MAX_FLOW_SEED) {
        mf->full = true;
        return;
    }
    if (mf->len + n > mf->cap) {
        size_t cap = mf->cap ? mf->cap : 4096;
        while (cap < mf->len + n)
            cap *= 2;
        uint8_t *b = realloc(mf->buf, cap);
        if (b == NULL)
            abort();
        mf->buf = b;
        mf->cap = cap;
    }
    memcpy(mf->buf + mf->len, d, n);
    mf->len += n;
}

static void mks_op(struct mks_flow *mf, uint8_t ctl, uint16_t n)
{
    uint8_t h[3] = {ctl, (uint8_t)(n >> 8), (uint8_t)n};
    mks_put(mf, h, (ctl & 3) == 2 ? 1 : 3);
}

static void *mks_open(void *ctx, struct flow *f)
{
    struct mks *m = ctx;
    struct mks_flow *mf = calloc(1, sizeof(*mf));
    uint8_t setup = 0;

    if (mf == NULL)
        abort();
    conn_init(&mf->c);
    if (tls_session_new(&mf->s, &mf->c, m->pool, m->names, NULL, NULL) != TI_OK)
        abort();
    if (f->client_side >= 0) {
        tls_set_client_side(mf->s, f->client_side);
        setup = (uint8_t)(1 + f->client_side);
    } else if (f->port_server_side >= 0) {
        tls_set_server_side_hint(mf->s, f->port_server_side);
        setup = (uint8_t)(3 | f->port_server_side << 2);
    }
    mks_put(mf, &setup, 1);
    return mf;
}

static void mks_data(void *ctx, struct flow *f, int side, const uint8_t *d, size_t n, int64_t ts)
{
    struct mks_flow *mf = f->app;

    tls_feed(mf->s, side, d, n, ts);
    while (n > 0) {
        uint16_t k = n > 0xffff ? 0xffff : (uint16_t)n;
        mks_op(mf, (uint8_t)(side << 2), k);
        mks_put(mf, d, k);
        d += k;
        n -= k;
    }
}

static void mks_gap(void *ctx, struct flow *f, int side, uint64_t n, int64_t ts)
{
    struct mks_flow *mf = f->app;

    tls_gap(mf->s, side, n, ts);
    if (n <= 0xffff)
        mks_op(mf, (uint8_t)(1 | side << 2), (uint16_t)n);
    else
        mks_op(mf, (uint8_t)(1 | side << 2 | 0x10), (uint16_t)(n >> 16 > 0xffff ? 0xffff : n >> 16));
}

static bool mks_done(void *ctx, struct flow *f)
{
    struct mks_flow *mf = f->app;
    return tls_done(mf->s);
}

static void mks_close(void *ctx, struct flow *f, int side, bool rst, int64_t ts)
{
    struct mks_flow *mf = f->app;

    tls_close(mf->s, side, rst, ts);
    mks_op(mf, (uint8_t)(2 | side << 2 | (rst ? 8 : 0)), 0);
}

static void mks_cert(struct mks *m, const struct x509_cert *c)
{
    char name[80];
    snprintf(name, sizeof(name), "cert-%.16s", c->sha256_hex);
    mks_write(m, "x509", name, c->der, c->der_len);
}

static void mks_release(void *ctx, struct flow *f, bool evicted)
{
    struct mks *m = ctx;
    struct mks_flow *mf = f->app;
    char name[512];

    tls_finish(mf->s);
    if (mf->len > 1) {
        snprintf(name, sizeof(name), "%s-flow%u", m->base, m->nflow++);
        mks_write(m, "tls", name, mf->buf, mf->len);
    }
    for (unsigned i = 0; i < mf->c.n_server_certs; i++)
        mks_cert(m, mf->c.server_certs[i]);
    for (unsigned i = 0; i < mf->c.n_client_certs; i++)
        mks_cert(m, mf->c.client_certs[i]);
    tls_session_free(mf->s);
    conn_free(&mf->c);
    free(mf->buf);
    free(mf);
    f->app = NULL;
}

static void mks_decode_seed(struct mks *m, const struct cap_packet *p)
{
    size_t li;
    uint32_t delta;
    uint8_t *b;
    char name[512];

    for (li = 0; li < FUZZ_NLINKS; li++)
        if (fuzz_decode_links[li] == p->linktype)
            break;
    if (li == FUZZ_NLINKS || m->ndecode >= MKS_MAX_DECODE)
        return;
    delta = p->len > p->caplen ? p->len - p->caplen : 0;
    if (delta > 0x7fff)
        delta = 0x7fff;
    b = malloc(p->caplen + 3u);
    if (b == NULL)
        abort();
    b[0] = (uint8_t)li;
    b[1] = (uint8_t)(delta >> 8);
    b[2] = (uint8_t)delta;
    memcpy(b + 3, p->data, p->caplen);
    snprintf(name, sizeof(name), "%s-pkt%u", m->base, m->ndecode++);
    mks_write(m, "decode", name, b, p->caplen + 3u);
    free(b);
}

/* The file itself when small and not compressed, else its first packets. */
static void mks_pipeline_seed(struct mks *m, const char *file)
{
    char name[512], path[4096], err[PCAP_ERRBUF_SIZE];
    struct stat st;
    uint8_t magic[2] = {0, 0};
    FILE *f = fopen(file, "rb");
    pcap_t *in, *dead;
    pcap_dumper_t *out;
    struct pcap_pkthdr *h;
    const u_char *d;
    size_t total = 24;

    snprintf(name, sizeof(name), "%s", m->base);
    if (f != NULL && fstat(fileno(f), &st) == 0 && fread(magic, 1, 2, f) == 2 &&
        !(magic[0] == 0x1f && magic[1] == 0x8b) && st.st_size <= (off_t)MKS_MAX_PIPE_BYTES) {
        uint8_t *buf = malloc((size_t)st.st_size);
        rewind(f);
        if (buf != NULL && fread(buf, 1, (size_t)st.st_size, f) == (size_t)st.st_size)
            mks_write(m, "pipeline", name, buf, (size_t)st.st_size);
        free(buf);
        fclose(f);
        return;
    }
    if (f != NULL)
        fclose(f);
    /* libpcap reads the uncompressed files; a .gz is covered by its twin. */
    in = pcap_open_offline(file, err);
    if (in == NULL)
        return;
    dead = pcap_open_dead(pcap_datalink(in), 262144);
    snprintf(path, sizeof(path), "%s/pipeline/%s", m->outdir, name);
    out = dead ? pcap_dump_open(dead, path) : NULL;
    while (out != NULL && pcap_next_ex(in, &h, &d) == 1 && total + 16 + h->caplen <= MKS_MAX_PIPE_BYTES) {
        pcap_dump((u_char *)out, h, d);
        total += 16 + h->caplen;
    }
    if (out != NULL)
        pcap_dump_close(out);
    if (dead != NULL)
        pcap_close(dead);
    pcap_close(in);
}

static void mks_capture(struct mks *m, const char *file)
{
    char *const files[1] = {(char *)file};
    struct flow_ops ops = {
        .ctx = m, .open = mks_open, .data = mks_data, .gap = mks_gap,
        .done = mks_done, .close = mks_close, .release = mks_release,
    };
    struct capture *cap = NULL;
    struct flow_table *ft = NULL;
    struct cap_packet p;
    struct pkt_info pi;
    char err[512], base[256];
    const char *slash = strrchr(file, '/');
    int64_t last = 0;

    /* Seed names: the path's last two components, only [A-Za-z0-9._-]. */
    if (slash != NULL && slash > file) {
        const char *s2 = slash - 1;
        while (s2 > file && s2[-1] != '/')
            s2--;
        snprintf(base, sizeof(base), "%s", s2);
    } else {
        snprintf(base, sizeof(base), "%s", file);
    }
    for (char *q = base; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
              (*q >= '0' && *q <= '9') || *q == '.' || *q == '-'))
            *q = '_';
    m->base = base;
    m->nflow = 0;
    m->ndecode = 0;
    if (capture_open(&cap, files, 1, NULL, err, sizeof(err)) != TI_OK) {
        fprintf(stderr, "mkseeds: skipped %s\n", err);
        return;
    }
    if (flow_table_new(&ft, NULL, NULL, 0, true, &ops) != TI_OK)
        abort();
    while (capture_next(cap, &p) == 1) {
        mks_decode_seed(m, &p);
        if (decode_packet(p.linktype, p.data, p.caplen, p.len, &pi) == DECODE_TCP)
            flow_packet(ft, &pi, p.ts);
        last = p.ts;
    }
    flow_table_finish(ft, last);
    flow_table_free(ft);
    capture_close(cap);
    mks_pipeline_seed(m, file);
}

int main(int argc, char **argv)
{
    struct x509_trust_opts trust = {NULL, NULL, NULL};
    static const char *const subs[] = {"tls", "decode", "x509", "pipeline"};
    struct mks m;
    char err[256], path[4096];

    if (argc < 2) {
        fprintf(stderr, "usage: mkseeds OUTDIR CAPTURE...\n");
        return 2;
    }
    memset(&m, 0, sizeof(m));
    m.outdir = argv[1];
    mkdir(m.outdir, 0777);
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", m.outdir, subs[i]);
        mkdir(path, 0777);
    }
    if (tls_names_new(&m.names) != TI_OK || x509_pool_new(&m.pool, &trust, err, sizeof(err)) != TI_OK)
        return 1;
    for (int i = 2; i < argc; i++)
        mks_capture(&m, argv[i]);
    x509_pool_free(m.pool);
    tls_names_free(m.names);
    return 0;
}
