/* fuzz_pipeline.c - libFuzzer harness: the whole pipeline over an in-memory capture file.
 *
 * The input is a capture file (pcap, pcapng, or either gzip-compressed) kept
 * in memory (a memfd) and read through capture.c, then as src/analyze.c does
 * it: decode -> flow table -> TLS session per flow -> verification ->
 * findings, and a report (text, verbose text, JSON or JSONL, by the input's
 * length) written to /dev/null (JSON: to memory, and compared byte for byte
 * with report_json_dumpf() of the same document) -- through
 * analyze_run() itself, so the harness tests the real glue.  For JSON and
 * JSONL the capture is analysed a second time the streaming way (the JSON
 * sink, connections dropped at release, a spill for every connection on
 * some inputs) and the bytes must be report_json()'s, unless the
 * timestamps went back so far that a connection was written late.  Every port is
 * selected so that no seed's flows are filtered out.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "tlsinspect/err.h"
#include "tlsinspect/analyze.h"
#include "tlsinspect/conn.h"
#include "tlsinspect/report.h"
#include "tlsinspect/sink.h"
#include "tlsinspect/tls_names.h"

#include "fuzz_check.h"
#include "fuzz_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FP_POOL_MAX 1024               /* certificates kept between inputs */

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

/* The JSON report is valid JSON whatever the capture held, and its layout
 * is the one report_json_dumpf() gives the same document: the streaming
 * writer puts exactly the objects of scalars on one line. */
static void fp_check_json(const struct analysis *a, const struct report_opts *ro)
{
    char *text = NULL, *ref = NULL;
    size_t tlen = 0, rlen = 0;
    FILE *m = open_memstream(&text, &tlen);
    FILE *r = open_memstream(&ref, &rlen);
    json_t *doc;

    FUZZ_CHECK(m != NULL && r != NULL);
    FUZZ_CHECK(report_json(m, a, ro) == TI_OK);
    FUZZ_CHECK(fclose(m) == 0);
    doc = report_json_document(a, ro);
    FUZZ_CHECK(doc != NULL);
    FUZZ_CHECK(report_json_dumpf(r, doc) == TI_OK);
    FUZZ_CHECK(fclose(r) == 0);
    FUZZ_CHECK(tlen == rlen && memcmp(text, ref, tlen) == 0);
    json_decref(doc);
    free(text);
    free(ref);
}

/* The streamed report of the same capture (opts as for a) against
 * report_json() of a's kept connections. */
static void fp_check_stream(struct analyze_opts *opts, const struct analysis *a,
                            const struct report_opts *ro, size_t spill)
{
    char *text = NULL, *ref = NULL, err[512];
    size_t tlen = 0, rlen = 0;
    FILE *m = open_memstream(&text, &tlen);
    FILE *r = open_memstream(&ref, &rlen);
    struct json_sink *js = NULL;
    struct conn_sink sink;
    struct analysis *b = NULL;
    uint64_t late;

    FUZZ_CHECK(m != NULL && r != NULL);
    FUZZ_CHECK(report_json(r, a, ro) == TI_OK);
    FUZZ_CHECK(fclose(r) == 0);
    FUZZ_CHECK(json_sink_new(&js, m, ro, spill, &sink) == TI_OK);
    opts->sinks = &sink;
    opts->nsinks = 1;
    opts->drop_conns = true;
    FUZZ_CHECK(analyze_run(opts, &b, err, sizeof(err)) == TI_OK);
    opts->sinks = NULL;
    opts->nsinks = 0;
    opts->drop_conns = false;
    FUZZ_CHECK(b->nconns == 0 && b->tls_conns == a->tls_conns);
    late = json_sink_late(js);
    FUZZ_CHECK(json_sink_end(js) == TI_OK);
    json_sink_free(js);
    FUZZ_CHECK(fclose(m) == 0);
    if (late == 0) {
        FUZZ_CHECK(tlen == rlen && memcmp(text, ref, tlen) == 0);
    } else if (ro->format == REPORT_JSON) {
        json_t *doc = json_loadb(text, tlen, 0, NULL);
        FUZZ_CHECK(doc != NULL);
        json_decref(doc);
    }
    analysis_free(b);
    free(text);
    free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    static struct tls_names *names;    /* built once: an SSL_CTX per input would dominate */
    static struct x509_pool *pool;     /* shared: parsing a certificate is OpenSSL's dearest step */
    static struct analyze_opts opts;   /* large: off the stack */
    static const struct x509_trust_opts no_trust;  /* == analyze_opts_default()'s */
    struct report_opts ro;
    struct analysis *a = NULL;
    char err[512], path[64];
    char *files[1] = {path};

    if (size == 0)
        return 0;
    if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
        abort();
    if (names == NULL && tls_names_new(&names) != TI_OK)
        abort();
    /* Interned certificates are a pure function of their DER, so sharing
     * them between inputs changes no result; the pool starts over once it
     * holds FP_POOL_MAX so that it never fills up (a full pool is a path of
     * its own, which an input must reach by itself). */
    if (pool != NULL && x509_pool_size(pool) > FP_POOL_MAX) {
        x509_pool_free(pool);
        pool = NULL;
    }
    if (pool == NULL && x509_pool_new(&pool, &no_trust, err, sizeof(err)) != TI_OK)
        abort();
    fp_memfd(data, size, path, sizeof(path));
    analyze_opts_default(&opts);
    opts.files = files;
    opts.nfiles = 1;
    opts.all_ports = true;
    opts.nports = 0;
    opts.suite_names = names;
    opts.pool = pool;
    opts.now = 1767225600;             /* fixed: 2026-01-01, reproducible */
    /* Small limits: an input of a few dozen packets can reach every one of
     * them (eviction, out-of-order overflow). */
    opts.flow_limits.max_flows = 32;
    opts.flow_limits.max_dir_bytes = 16u * 1024u;
    opts.flow_limits.max_dir_segs = 32;
    opts.flow_limits.max_total_bytes = 64u * 1024u;
    if (analyze_run(&opts, &a, err, sizeof(err)) != TI_OK)
        return 0;                      /* not a capture libpcap reads */
    FUZZ_CHECK(a->ninputs == 1);
    FUZZ_CHECK(memchr(a->inputs[0].format, 0, sizeof(a->inputs[0].format)) != NULL);
    FUZZ_CHECK(memchr(a->inputs[0].linktype_name, 0, sizeof(a->inputs[0].linktype_name)) != NULL);
    FUZZ_CHECK(a->flow_stats.ooo_bytes == 0);   /* every queued byte was released */
    for (size_t i = 0; i < a->nconns; i++)
        fuzz_check_conn(a->conns[i]);
    /* One report per input, picked by the input's length so that a finding
     * replays the same way: writing all of them doubled the time per input,
     * and the corpus holds inputs of every length. */
    memset(&ro, 0, sizeof(ro));
    ro.version = "fuzz";
    switch (size & 3) {
    case 0:
        ro.verbose = true;
        FUZZ_CHECK(report_text(devnull, a, &ro) == TI_OK);
        break;
    case 1:
        FUZZ_CHECK(report_text(devnull, a, &ro) == TI_OK);
        break;
    case 2:
        ro.format = REPORT_JSON;
        fp_check_json(a, &ro);
        fp_check_stream(&opts, a, &ro, size & 4 ? 1 : 0);
        break;
    default:
        ro.format = REPORT_JSONL;
        fp_check_stream(&opts, a, &ro, size & 4 ? 1 : 0);
        break;
    }
    analysis_free(a);
    return 0;
}
