/* test_hostile.c - hostile captures, generated at test time: floods, absurd records, odd files, big hellos.
 *
 * Every capture is written as raw bytes into a temp dir (so record headers
 * can lie) and read by the real pipeline, analyze_run().  The flood runs in
 * a child process so that its peak memory can be measured on its own with
 * wait4(); the bound is 128 MiB (issue 7), checked in the
 * normal build (a sanitizer build shadows every byte, so there it is only
 * printed).  Runtime: a few seconds per flood variant, the rest is instant.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/report.h"
#include "tlsinspect/tls.h"

#include "support/bytebuf.h"
#include "support/tmpdir.h"

#if defined(__SANITIZE_ADDRESS__)
#define HOSTILE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOSTILE_ASAN 1
#endif
#endif
#ifndef HOSTILE_ASAN
#define HOSTILE_ASAN 0
#endif

#define HOSTILE_FLOOD_CONNS   200000u  /* half-open connections, one segment past a hole */
#define HOSTILE_STUCK_CONNS   24u      /* connections whose hole never fills ... */
#define HOSTILE_STUCK_SEGS    3000u    /* ... each sending this many segments after it */
#define HOSTILE_SEG_MAX       1400u    /* largest flood segment */
#define HOSTILE_MAX_RSS_KIB   (128u * 1024u)
#define HOSTILE_PATH          512
#define HOSTILE_MSS           536u     /* small segments: many per hello */
#define HOSTILE_BASE_TS       1700000000000000LL   /* 2023-11-14, microseconds */

/* ---- temp dir ------------------------------------------------------------- */

struct hdir {
    char dir[HOSTILE_PATH / 2];
};

static int setup(void **state)
{
    struct hdir *t = calloc(1, sizeof(*t));

    if (t == NULL || tmpdir_make(t->dir, sizeof(t->dir), "hostile") != 0) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct hdir *t = *state;

    tmpdir_remove(t->dir);
    free(t);
    return 0;
}

static void hpath(void **state, const char *name, char *out)
{
    const struct hdir *t = *state;
    snprintf(out, HOSTILE_PATH, "%s/%s", t->dir, name);
}

/* ---- raw pcap writing (record headers may lie) ------------------------------ */

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

static FILE *pcap_create(const char *path, uint32_t linktype, uint32_t snaplen)
{
    uint8_t h[24];
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    put_le32(h, 0xa1b2c3d4u);                  /* microsecond pcap, written little-endian */
    h[4] = 2; h[5] = 0; h[6] = 4; h[7] = 0;    /* version 2.4 */
    put_le32(h + 8, 0);
    put_le32(h + 12, 0);
    put_le32(h + 16, snaplen);
    put_le32(h + 20, linktype);
    assert_int_equal(fwrite(h, 1, sizeof(h), f), sizeof(h));
    return f;
}

/* A record whose header says caplen/len, followed by `n` real bytes. */
static void pcap_record_raw(FILE *f, uint32_t sec, uint32_t usec, uint32_t caplen,
                            uint32_t len, const uint8_t *d, size_t n)
{
    uint8_t h[16];

    put_le32(h, sec);
    put_le32(h + 4, usec);
    put_le32(h + 8, caplen);
    put_le32(h + 12, len);
    assert_int_equal(fwrite(h, 1, sizeof(h), f), sizeof(h));
    if (n > 0)
        assert_int_equal(fwrite(d, 1, n, f), n);
}

static void pcap_record(FILE *f, int64_t ts, const uint8_t *d, size_t n)
{
    pcap_record_raw(f, (uint32_t)(ts / 1000000), (uint32_t)(ts % 1000000), (uint32_t)n,
                    (uint32_t)n, d, n);
}

/* Ethernet + IPv4 + TCP (no options); checksums are not checked by the tool. */
#define PKT_HDRS (14 + 20 + 20)
static size_t mk_tcp(uint8_t *out, uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport,
                     uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *pl, size_t n)
{
    uint8_t *ip = out + 14, *tcp = ip + 20;

    memset(out, 0, PKT_HDRS);
    memcpy(out, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00", 14);
    ip[0] = 0x45;
    put_be16(ip + 2, (uint16_t)(40 + n));
    ip[6] = 0x40;                               /* DF */
    ip[8] = 64;
    ip[9] = 6;
    put_be32(ip + 12, sip);
    put_be32(ip + 16, dip);
    put_be16(tcp, sport);
    put_be16(tcp + 2, dport);
    put_be32(tcp + 4, seq);
    put_be32(tcp + 8, ack);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put_be16(tcp + 14, 65535);
    if (n > 0)
        memcpy(tcp + 20, pl, n);
    return PKT_HDRS + n;
}

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/* One TCP conversation written packet by packet. */
struct conv {
    FILE *f;
    uint32_t ip[2];          /* [0] client, [1] server */
    uint16_t port[2];
    uint32_t seq[2];         /* next sequence number each side sends */
    int64_t ts;
    int64_t step;            /* microseconds between packets (may be negative) */
};

static void conv_init(struct conv *c, FILE *f, uint32_t cip, uint16_t cport, uint32_t sip,
                      uint16_t sport)
{
    memset(c, 0, sizeof(*c));
    c->f = f;
    c->ip[0] = cip;
    c->ip[1] = sip;
    c->port[0] = cport;
    c->port[1] = sport;
    c->seq[0] = 0x10000000u;
    c->seq[1] = 0x80000000u;
    c->ts = HOSTILE_BASE_TS;
    c->step = 1000;
}

static void conv_pkt(struct conv *c, int side, uint8_t flags, uint32_t seq,
                     const uint8_t *pl, size_t n)
{
    uint8_t pkt[PKT_HDRS + 1600];

    assert_true(n <= 1600);
    size_t len = mk_tcp(pkt, c->ip[side], c->ip[!side], c->port[side], c->port[!side], seq,
                        c->seq[!side], flags, pl, n);
    pcap_record(c->f, c->ts, pkt, len);
    c->ts += c->step;
}

static void conv_handshake(struct conv *c)
{
    conv_pkt(c, 0, F_SYN, c->seq[0]++, NULL, 0);
    conv_pkt(c, 1, F_SYN | F_ACK, c->seq[1]++, NULL, 0);
    conv_pkt(c, 0, F_ACK, c->seq[0], NULL, 0);
}

/* Send n bytes from `side` in segments of at most mss bytes. */
static void conv_send(struct conv *c, int side, const uint8_t *d, size_t n, size_t mss)
{
    while (n > 0) {
        size_t k = n < mss ? n : mss;
        conv_pkt(c, side, F_ACK | F_PSH, c->seq[side], d, k);
        c->seq[side] += (uint32_t)k;
        d += k;
        n -= k;
    }
}

/* ---- TLS messages ------------------------------------------------------------ */

/* Handshake message: type(1) length(3) body. */
static void hs_wrap(struct b *out, uint8_t type, const struct b *body)
{
    b_u8(out, type);
    b_u24(out, (uint32_t)body->n);
    b_put(out, body->p, body->n);
}

/* Records of `type` carrying `d`, at most 16384 bytes each (RFC 8446 5.1). */
static void records(struct b *out, uint8_t type, const uint8_t *d, size_t n)
{
    do {
        size_t k = n < 16384 ? n : 16384;
        b_u8(out, type);
        b_u16(out, 0x0303);
        b_u16(out, (uint16_t)k);
        b_put(out, d, k);
        d += k;
        n -= k;
    } while (n > 0);
}

/* Suite i of a long offer: ECDHE-ECDSA first, then a walk through code space
 * avoiding GREASE values and the SCSVs. */
static uint16_t offer_suite(unsigned i)
{
    if (i == 0)
        return 0xc02c;                      /* TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 */
    if (i == 1)
        return 0xc030;                      /* TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 */
    return (uint16_t)(0x0100 + i);          /* 0x0102.. : no GREASE (0x?a?a) below 0x0a0a */
}

/* A ClientHello offering nsuites suites, a padding extension of `pad` bytes,
 * and the SNI extension last (so the name is only found when every byte
 * before it was parsed). */
static void client_hello(struct b *out, unsigned nsuites, size_t pad, const char *sni)
{
    struct b body = {0}, ext = {0};
    uint8_t random[32];

    memset(random, 0x5a, sizeof(random));
    b_u16(&body, 0x0303);
    b_put(&body, random, sizeof(random));
    b_u8(&body, 0);                       /* session id */
    b_u16(&body, (uint16_t)(2 * nsuites));
    for (unsigned i = 0; i < nsuites; i++)
        b_u16(&body, offer_suite(i));
    b_u8(&body, 1);
    b_u8(&body, 0);                       /* null compression */
    /* supported_groups: x25519, secp256r1 */
    b_u16(&ext, 10); b_u16(&ext, 6); b_u16(&ext, 4); b_u16(&ext, 29); b_u16(&ext, 23);
    /* signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256 */
    b_u16(&ext, 13); b_u16(&ext, 6); b_u16(&ext, 4); b_u16(&ext, 0x0403); b_u16(&ext, 0x0804);
    if (pad > 0) {                          /* padding (RFC 7685) */
        b_u16(&ext, 21);
        b_u16(&ext, (uint16_t)pad);
        for (size_t i = 0; i < pad; i++)
            b_u8(&ext, 0);
    }
    if (sni != NULL) {                      /* server_name (RFC 6066 3) */
        size_t l = strlen(sni);
        b_u16(&ext, 0);
        b_u16(&ext, (uint16_t)(l + 5));
        b_u16(&ext, (uint16_t)(l + 3));
        b_u8(&ext, 0);
        b_u16(&ext, (uint16_t)l);
        b_put(&ext, sni, l);
    }
    b_u16(&body, (uint16_t)ext.n);
    b_put(&body, ext.p, ext.n);
    hs_wrap(out, 1, &body);
    free(body.p);
    free(ext.p);
}

static void server_hello(struct b *out, uint16_t suite)
{
    struct b body = {0};
    uint8_t random[32];

    memset(random, 0xa5, sizeof(random));
    b_u16(&body, 0x0303);
    b_put(&body, random, sizeof(random));
    b_u8(&body, 0);
    b_u16(&body, suite);
    b_u8(&body, 0);
    b_u16(&body, 0);                      /* no extensions */
    hs_wrap(out, 2, &body);
    free(body.p);
}

static void certificate_msg(struct b *out, const uint8_t *der, size_t n)
{
    struct b body = {0};

    b_u24(&body, (uint32_t)(n + 3));
    b_u24(&body, (uint32_t)n);
    b_put(&body, der, n);
    hs_wrap(out, 11, &body);
    free(body.p);
}

/* ---- running the pipeline ------------------------------------------------------ */

static struct analysis *run(const char *file, bool all_ports)
{
    struct analyze_opts o;
    struct analysis *a = NULL;
    char *files[1] = {(char *)file};
    char err[512] = "";

    analyze_opts_default(&o);
    o.files = files;
    o.nfiles = 1;
    o.all_ports = all_ports;
    o.now = 1700000000;
    if (analyze_run(&o, &a, err, sizeof(err)) != TI_OK)
        fail_msg("analyze_run(%s): %s", file, err);
    return a;
}

static bool has_global(const struct analysis *a, int id, const char *needle)
{
    for (size_t i = 0; i < a->nglobal; i++)
        if (a->global[i].id == id && (needle == NULL || strstr(a->global[i].message, needle)))
            return true;
    return false;
}

static bool has_finding(const struct conn *c, int id)
{
    for (unsigned i = 0; i < c->n_findings; i++)
        if (c->findings[i].id == id)
            return true;
    return false;
}

/* Both reports must be writable; the JSON one is returned (malloc'd). */
static char *reports(const struct analysis *a)
{
    struct report_opts ro = {.format = REPORT_TEXT, .verbose = true, .version = "test"};
    char *txt = NULL, *json = NULL;
    size_t tn = 0, jn = 0;
    FILE *f = open_memstream(&txt, &tn);

    assert_non_null(f);
    assert_int_equal(report_text(f, a, &ro), TI_OK);
    fclose(f);
    assert_int_equal(strlen(txt), tn);      /* no raw NUL byte reached the text */
    free(txt);
    f = open_memstream(&json, &jn);
    assert_non_null(f);
    ro.format = REPORT_JSON;
    assert_int_equal(report_json(f, a, &ro), TI_OK);
    fclose(f);
    assert_int_equal(strlen(json), jn);
    return json;
}

/* ---- 1. the flood ----------------------------------------------------------------- */

struct flood_result {
    int rc;
    size_t nconns;
    uint64_t packets;
    struct flow_stats fs;
    bool limit_finding;
    uint64_t gap_conns;      /* connections with a gap on the client side */
    double seconds;
};

/* One flood: every half-open connection sends one segment of `seg` bytes
 * `hole` bytes past its SYN's sequence number; the stuck connections keep
 * sending `stuck_seg`-byte segments past a hole that never fills. */
struct flood_variant {
    const char *name;
    size_t seg;
    uint32_t hole;
    size_t stuck_seg;
};

static void write_flood(const char *path, const struct flood_variant *v)
{
    FILE *f = pcap_create(path, 1, 65535);
    uint8_t pkt[PKT_HDRS + HOSTILE_SEG_MAX], pl[HOSTILE_SEG_MAX];
    int64_t ts = HOSTILE_BASE_TS;
    static char iobuf[1 << 20];

    assert_true(v->seg <= sizeof(pl) && v->stuck_seg <= sizeof(pl));
    setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
    /* The segment past the hole starts like a ClientHello record: a parser
     * that resynchronises after the gap takes it for TLS. */
    memset(pl, 'A', sizeof(pl));
    memcpy(pl, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    for (uint32_t i = 0; i < HOSTILE_FLOOD_CONNS; i++) {
        uint32_t cip = 0x0a000000u | (i >> 14);          /* 10.0.x.y */
        uint16_t cport = (uint16_t)(1024 + (i & 0x3fff));
        uint32_t isn = 0x01000000u + i * 7919u;
        size_t n = mk_tcp(pkt, cip, 0xc0a80001u, cport, 8443, isn, 0, F_SYN, NULL, 0);
        pcap_record(f, ts, pkt, n);
        /* `hole` bytes missing, then one segment: the hole never fills. */
        n = mk_tcp(pkt, cip, 0xc0a80001u, cport, 8443, isn + 1 + v->hole, 1, F_ACK | F_PSH,
                   pl, v->seg);
        pcap_record(f, ts + 1, pkt, n);
        ts += 500;           /* 200,000 x 0.5 ms = 100 s: no idle eviction */
    }
    /* Connections that never fill their hole and keep sending. */
    for (uint32_t k = 0; k < HOSTILE_STUCK_CONNS; k++) {
        uint32_t cip = 0x0b000000u | k;
        uint32_t isn = 0x20000000u + k;
        size_t n = mk_tcp(pkt, cip, 0xc0a80002u, 40000, 8443, isn, 0, F_SYN, NULL, 0);
        pcap_record(f, ts, pkt, n);
        for (uint32_t s = 0; s < HOSTILE_STUCK_SEGS; s++) {
            n = mk_tcp(pkt, cip, 0xc0a80002u, 40000, 8443,
                       isn + 1 + 1000 + s * (uint32_t)v->stuck_seg, 1, F_ACK, pl, v->stuck_seg);
            pcap_record(f, ts + 1 + s, pkt, n);
        }
        ts += 10000;
    }
    assert_int_equal(fclose(f), 0);
}

static void flood_child(const char *path, int fd)
{
    struct flood_result r;
    struct analysis *a = NULL;
    struct analyze_opts o;
    char *files[1] = {(char *)path};
    char err[512];
    struct timespec t0, t1;
    FILE *devnull = fopen("/dev/null", "w");
    struct report_opts ro = {.format = REPORT_TEXT, .version = "test"};

    memset(&r, 0, sizeof(r));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    analyze_opts_default(&o);
    o.files = files;
    o.nfiles = 1;
    o.now = 1700000000;
    r.rc = analyze_run(&o, &a, err, sizeof(err));
    if (r.rc == TI_OK) {
        r.nconns = a->nconns;
        r.packets = a->packets;
        r.fs = a->flow_stats;
        r.limit_finding = has_global(a, FINDING_LIMIT_REACHED, NULL);
        for (size_t i = 0; i < a->nconns; i++)
            r.gap_conns += a->conns[i]->tcp.gaps[DIR_CLIENT] > 0;
        /* The default report, as the tool would print it. */
        if (devnull == NULL || report_text(devnull, a, &ro) != TI_OK)
            r.rc = TI_EIO;
    }
    if (devnull != NULL)
        fclose(devnull);
    analysis_free(a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        _exit(3);
    _exit(0);
}

static void run_flood(void **state, const struct flood_variant *v)
{
    char path[HOSTILE_PATH];
    struct flood_result r;
    struct rusage ru;
    int fds[2], status;
    pid_t pid;

    hpath(state, "flood.pcap", path);
    write_flood(path, v);
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        flood_child(path, fds[1]);
    }
    close(fds[1]);
    memset(&r, 0, sizeof(r));
    assert_int_equal(read(fds[0], &r, sizeof(r)), sizeof(r));
    close(fds[0]);
    /* wait4: this child's own peak, not the largest of all children's. */
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    unlink(path);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    printf("flood %s: %u half-open (%zu-byte segment %u bytes past the SYN) + %u stuck "
           "connections (%zu-byte segments), %llu packets: %.1f s, "
           "peak RSS %ld KiB (%.1f MiB)%s; %zu connections reported, peak %zu tracked, "
           "%llu evicted (table full), %llu out-of-order limit hits, ooo peak %zu bytes\n",
           v->name, HOSTILE_FLOOD_CONNS, v->seg, v->hole, HOSTILE_STUCK_CONNS, v->stuck_seg,
           (unsigned long long)r.packets, r.seconds,
           ru.ru_maxrss, ru.ru_maxrss / 1024.0, HOSTILE_ASAN ? " (sanitizer build: not checked)" : "",
           r.nconns, r.fs.peak_flows, (unsigned long long)r.fs.evicted_full,
           (unsigned long long)r.fs.reasm_limit_hits, r.fs.ooo_bytes_peak);
    assert_int_equal(r.rc, TI_OK);
    assert_int_equal(r.packets, 2ull * HOSTILE_FLOOD_CONNS + HOSTILE_STUCK_CONNS * (1ull + HOSTILE_STUCK_SEGS));
    /* Each stuck connection queued more than the per-direction limit. */
    assert_true(r.fs.reasm_limit_hits >= HOSTILE_STUCK_CONNS);
    assert_true(r.limit_finding);
    assert_true(r.fs.ooo_bytes_peak <= REASM_MAX_OOO_BYTES_TOTAL);
    if (!HOSTILE_ASAN)
        assert_true(ru.ru_maxrss <= (long)HOSTILE_MAX_RSS_KIB);
}

static void test_flood_half_open(void **state)
{
    static const struct flood_variant v = {"small", 48, 100, 48};
    run_flood(state, &v);
}

/* Segments past a 100 KB hole: each fits the per-direction queue, so only
 * the total bound (--max-ooo-total) and the per-connection costs decide. */
static void test_flood_205(void **state)
{
    static const struct flood_variant v = {"205", 205, 100000, 1400};
    run_flood(state, &v);
}

static void test_flood_1400(void **state)
{
    static const struct flood_variant v = {"1400", 1400, 100000, 1400};
    run_flood(state, &v);
}

/* ---- 2. absurd record headers, zero-length packets, time going backwards ------------- */

static void test_absurd_caplen(void **state)
{
    char path[HOSTILE_PATH];
    uint8_t pkt[PKT_HDRS + 64];
    struct conv c;
    struct analysis *a;
    size_t n;
    FILE *f;

    hpath(state, "caplen.pcap", path);
    f = pcap_create(path, 1, 65535);
    conv_init(&c, f, 0x0a000001u, 50000, 0x0a000002u, 8443);
    conv_handshake(&c);
    n = mk_tcp(pkt, 0x0a000001u, 0x0a000002u, 50000, 8443, c.seq[0], 1, F_ACK, NULL, 0);
    /* len < caplen (impossible on the wire), then len far beyond caplen. */
    pcap_record_raw(f, 1700000001, 0, (uint32_t)n, 20, pkt, n);
    pcap_record_raw(f, 1700000001, 1, (uint32_t)n, 0xfffffff0u, pkt, n);
    /* caplen far beyond the snaplen and the file: libpcap must refuse it. */
    pcap_record_raw(f, 1700000001, 2, 0x7ffffff0u, 0x7ffffff0u, pkt, n);
    assert_int_equal(fclose(f), 0);

    a = run(path, false);
    /* What came before the absurd record was read; the file is reported damaged. */
    assert_true(a->packets >= 5);
    assert_true(a->ninputs == 1 && a->inputs[0].truncated);
    assert_true(has_global(a, FINDING_CAPTURE_TRUNCATED, NULL));
    free(reports(a));
    analysis_free(a);
}

static void test_zero_length_packets(void **state)
{
    char path[HOSTILE_PATH];
    struct analysis *a;
    FILE *f;

    hpath(state, "zero.pcap", path);
    f = pcap_create(path, 1, 65535);
    pcap_record_raw(f, 1700000000, 0, 0, 0, NULL, 0);
    pcap_record_raw(f, 1700000000, 1, 0, 60, NULL, 0);     /* cut to nothing by the snaplen */
    pcap_record_raw(f, 1700000000, 2, 0, 0, NULL, 0);
    assert_int_equal(fclose(f), 0);
    a = run(path, true);
    assert_int_equal(a->packets, 3);
    assert_int_equal(a->nconns, 0);
    assert_int_equal(a->decode_counts[DECODE_TCP], 0);
    assert_false(has_global(a, FINDING_CAPTURE_TRUNCATED, NULL));
    free(reports(a));
    analysis_free(a);

    /* The same on raw-IP and Linux cooked links. */
    hpath(state, "zero-raw.pcap", path);
    f = pcap_create(path, 101, 65535);
    pcap_record_raw(f, 1700000000, 0, 0, 0, NULL, 0);
    assert_int_equal(fclose(f), 0);
    a = run(path, true);
    assert_int_equal(a->packets, 1);
    assert_int_equal(a->nconns, 0);
    analysis_free(a);
    hpath(state, "zero-sll.pcap", path);
    f = pcap_create(path, 113, 65535);
    pcap_record_raw(f, 1700000000, 0, 0, 0, NULL, 0);
    assert_int_equal(fclose(f), 0);
    a = run(path, true);
    assert_int_equal(a->packets, 1);
    analysis_free(a);
}

static void test_timestamps_backwards(void **state)
{
    char path[HOSTILE_PATH];
    struct b ch = {0}, rec = {0}, sh = {0}, srec = {0};
    struct analysis *a;
    struct conv c;
    FILE *f;

    hpath(state, "backwards.pcap", path);
    f = pcap_create(path, 1, 65535);
    conv_init(&c, f, 0x0a000001u, 50001, 0x0a000002u, 8443);
    c.step = -250000;                       /* every packet a quarter second earlier */
    conv_handshake(&c);
    client_hello(&ch, 4, 0, "cucm.example.com");
    records(&rec, 22, ch.p, ch.n);
    conv_send(&c, 0, rec.p, rec.n, HOSTILE_MSS);
    c.ts -= 3600LL * 1000000;               /* an hour back */
    server_hello(&sh, 0xc02c);
    records(&srec, 22, sh.p, sh.n);
    conv_send(&c, 1, srec.p, srec.n, HOSTILE_MSS);
    c.ts = 1000000;                         /* 1970 */
    conv_pkt(&c, 0, F_ACK, c.seq[0], NULL, 0);
    assert_int_equal(fclose(f), 0);

    a = run(path, false);
    assert_int_equal(a->nconns, 1);
    assert_true(a->first_ts <= a->last_ts);
    assert_int_equal(a->first_ts, 1000000);
    assert_int_equal(a->conns[0]->n_ch, 1);
    assert_string_equal(a->conns[0]->ch[0].sni, "cucm.example.com");
    assert_true(a->conns[0]->sh.present);
    assert_int_equal(a->conns[0]->sh.suite, 0xc02c);
    free(reports(a));
    analysis_free(a);
    free(ch.p); free(rec.p); free(sh.p); free(srec.p);
}

/* A pcapng timestamp in units of 1 s (if_tsresol = 0) beyond what int64
 * microseconds hold: the pipeline must not overflow (UBSan) on it. */
static void pcapng_block(FILE *f, uint32_t type, const uint8_t *body, size_t n)
{
    uint8_t h[8], t[4];
    size_t pad = (4 - n % 4) % 4;
    uint32_t total = (uint32_t)(12 + n + pad);
    static const uint8_t zero[4] = {0, 0, 0, 0};

    put_le32(h, type);
    put_le32(h + 4, total);
    put_le32(t, total);
    assert_int_equal(fwrite(h, 1, 8, f), 8);
    if (n > 0)
        assert_int_equal(fwrite(body, 1, n, f), n);
    if (pad > 0)
        assert_int_equal(fwrite(zero, 1, pad, f), pad);
    assert_int_equal(fwrite(t, 1, 4, f), 4);
}

static void pcapng_shb(FILE *f)
{
    uint8_t b[16];
    put_le32(b, 0x1a2b3c4du);               /* byte-order magic */
    b[4] = 1; b[5] = 0; b[6] = 0; b[7] = 0; /* version 1.0 */
    memset(b + 8, 0xff, 8);                 /* section length unknown */
    pcapng_block(f, 0x0a0d0d0au, b, sizeof(b));
}

/* Interface Description Block; tsresol < 0 means no if_tsresol option. */
static void pcapng_idb(FILE *f, uint16_t linktype, int tsresol)
{
    uint8_t b[20];
    size_t n = 8;

    memset(b, 0, sizeof(b));
    b[0] = (uint8_t)linktype;
    b[1] = (uint8_t)(linktype >> 8);
    put_le32(b + 4, 65535);                 /* snaplen */
    if (tsresol >= 0) {
        b[8] = 9; b[9] = 0; b[10] = 1; b[11] = 0;   /* if_tsresol, length 1 */
        b[12] = (uint8_t)tsresol;
        /* opt_endofopt at 16 */
        n = 20;
    }
    pcapng_block(f, 1, b, n);
}

static void pcapng_epb(FILE *f, uint32_t ifid, uint64_t ts, const uint8_t *d, size_t n)
{
    uint8_t *b = calloc(1, 20 + n);

    assert_non_null(b);
    put_le32(b, ifid);
    put_le32(b + 4, (uint32_t)(ts >> 32));
    put_le32(b + 8, (uint32_t)ts);
    put_le32(b + 12, (uint32_t)n);
    put_le32(b + 16, (uint32_t)n);
    memcpy(b + 20, d, n);
    pcapng_block(f, 6, b, 20 + n);
    free(b);
}

static void test_pcapng_absurd_timestamp(void **state)
{
    char path[HOSTILE_PATH];
    uint8_t pkt[PKT_HDRS + 16];
    struct analysis *a;
    size_t n;
    FILE *f;

    hpath(state, "ts.pcapng", path);
    f = fopen(path, "wb");
    assert_non_null(f);
    pcapng_shb(f);
    pcapng_idb(f, 1, 0);                    /* 10^0 units per second */
    n = mk_tcp(pkt, 0x0a000001u, 0x0a000002u, 50002, 8443, 1, 0, F_SYN, NULL, 0);
    pcapng_epb(f, 0, 0x7fffffffffffff00ull, pkt, n);     /* ~2.9e11 years */
    pcapng_epb(f, 0, 1700000000ull, pkt, n);
    assert_int_equal(fclose(f), 0);
    a = run(path, true);
    assert_int_equal(a->packets, 2);
    assert_true(a->first_ts <= a->last_ts);
    analysis_free(a);
}

/* ---- 3. pcapng whose interfaces have different link types ------------------------------ */

static void test_pcapng_mixed_linktypes(void **state)
{
    char path[HOSTILE_PATH];
    uint8_t pkt[PKT_HDRS + 16];
    struct analysis *a;
    size_t n;
    FILE *f;

    hpath(state, "mixed.pcapng", path);
    f = fopen(path, "wb");
    assert_non_null(f);
    pcapng_shb(f);
    pcapng_idb(f, 1, -1);                   /* interface 0: Ethernet */
    n = mk_tcp(pkt, 0x0a000001u, 0x0a000002u, 50003, 8443, 1, 0, F_SYN, NULL, 0);
    pcapng_epb(f, 0, 1700000000000000ull, pkt, n);
    pcapng_idb(f, 101, -1);                 /* interface 1: raw IP */
    pcapng_epb(f, 1, 1700000000000001ull, pkt + 14, n - 14);
    pcapng_epb(f, 0, 1700000000000002ull, pkt, n);
    assert_int_equal(fclose(f), 0);

    /* libpcap gives every packet of a pcapng file the first interface's
     * link type and refuses an interface with another one.  The tool keeps
     * what it read before and says why it stopped, naming the link type. */
    a = run(path, true);
    assert_int_equal(a->packets, 1);
    assert_true(a->inputs[0].truncated);
    assert_non_null(a->inputs[0].error);
    printf("mixed link types: %s\n", a->inputs[0].error);
    /* Issue 7: "say so clearly": the reason names the link types, not only
     * libpcap's "an interface has a type 101 different from ...". */
    assert_non_null(strstr(a->inputs[0].error, "link type"));
    assert_true(has_global(a, FINDING_CAPTURE_TRUNCATED, "link type"));
    analysis_free(a);
}

/* ---- 4. certificates and hellos ----------------------------------------------------------- */

/* A self-signed EC certificate whose CN and SAN DNS name carry a NUL byte:
 * "cucm.example.com\0.evil.com" (the classic NUL-prefix attack). */
static uint8_t *nul_cert(size_t *len)
{
    static const char evil[] = "cucm.example.com\0.evil.com";
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *nm = X509_NAME_new();
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    uint8_t *der = NULL;
    int n;

    assert_true(key && x && nm && gens && g && ia5);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, NULL);
    assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)evil,
                                                (int)sizeof(evil) - 1, -1, 0), 1);
    assert_int_equal(X509_set_subject_name(x, nm), 1);
    assert_int_equal(X509_set_issuer_name(x, nm), 1);
    assert_int_equal(ASN1_STRING_set(ia5, evil, (int)sizeof(evil) - 1), 1);
    GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
    assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
    assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0), 1);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    n = i2d_X509(x, &der);
    assert_true(n > 0);
    *len = (size_t)n;
    sk_GENERAL_NAME_pop_free(gens, GENERAL_NAME_free);
    X509_NAME_free(nm);
    X509_free(x);
    EVP_PKEY_free(key);
    return der;
}

static void test_cert_nul_in_names(void **state)
{
    char path[HOSTILE_PATH];
    struct b cli = {0}, crec = {0}, srv = {0}, srec = {0};
    const struct x509_cert *xc;
    struct analysis *a;
    struct conv c;
    size_t dlen;
    uint8_t *der = nul_cert(&dlen);
    char *json;
    FILE *f;

    hpath(state, "nul-cert.pcap", path);
    f = pcap_create(path, 1, 65535);
    conv_init(&c, f, 0x0a000001u, 50004, 0x0a000002u, 8443);
    conv_handshake(&c);
    client_hello(&cli, 3, 0, "cucm.example.com");
    records(&crec, 22, cli.p, cli.n);
    conv_send(&c, 0, crec.p, crec.n, 1460);
    server_hello(&srv, 0xc02c);
    certificate_msg(&srv, der, dlen);
    records(&srec, 22, srv.p, srv.n);
    conv_send(&c, 1, srec.p, srec.n, 1460);
    assert_int_equal(fclose(f), 0);

    a = run(path, false);
    assert_int_equal(a->nconns, 1);
    assert_int_equal(a->conns[0]->n_server_certs, 1);
    xc = a->conns[0]->server_certs[0];
    assert_true(xc->parsed);
    /* The NUL is kept visible as "\0", never cut (which would show the
     * attacker's "cucm.example.com") and never passed on raw. */
    assert_non_null(xc->cn);
    assert_non_null(strstr(xc->cn, ".evil.com"));
    assert_true(xc->n_san >= 1);
    assert_non_null(strstr(xc->san[0], ".evil.com"));
    /* The SNI is not the certificate's name: no match, whatever the prefix. */
    assert_true(a->conns[0]->verify.done);
    assert_true(a->conns[0]->verify.verdict.name_checked);
    assert_false(a->conns[0]->verify.verdict.name_ok);
    assert_true(has_finding(a->conns[0], FINDING_NAME_MISMATCH));
    json = reports(a);
    assert_non_null(strstr(json, "evil.com"));
    free(json);
    analysis_free(a);
    OPENSSL_free(der);
    free(cli.p); free(crec.p); free(srv.p); free(srec.p);
}

static void one_hello_capture(const char *path, unsigned nsuites, size_t pad, size_t mss,
                              bool reverse_middle)
{
    struct b ch = {0}, rec = {0};
    struct conv c;
    FILE *f = pcap_create(path, 1, 65535);

    conv_init(&c, f, 0x0a000001u, 50005, 0x0a000002u, 8443);
    conv_handshake(&c);
    client_hello(&ch, nsuites, pad, "cucm.example.com");
    records(&rec, 22, ch.p, ch.n);
    if (!reverse_middle) {
        conv_send(&c, 0, rec.p, rec.n, mss);
    } else {
        /* Segments 2..k-1 in reverse order: the reassembler must reorder. */
        size_t nseg = (rec.n + mss - 1) / mss;
        uint32_t base = c.seq[0];
        for (size_t i = 0; i < nseg; i++) {
            size_t j = (i == 0 || i == nseg - 1) ? i : nseg - 1 - i;
            size_t off = j * mss, k = rec.n - off < mss ? rec.n - off : mss;
            conv_pkt(&c, 0, F_ACK, base + (uint32_t)off, rec.p + off, k);
        }
        c.seq[0] = base + (uint32_t)rec.n;
    }
    assert_int_equal(fclose(f), 0);
    free(ch.p);
    free(rec.p);
}

static void test_300_suite_client_hello(void **state)
{
    char path[HOSTILE_PATH];
    struct analysis *a;
    const struct conn_client_hello *ch;

    hpath(state, "suites300.pcap", path);
    one_hello_capture(path, 300, 0, 1460, false);
    a = run(path, false);
    assert_int_equal(a->nconns, 1);
    assert_int_equal(a->conns[0]->n_ch, 1);
    ch = &a->conns[0]->ch[0];
    assert_int_equal(ch->n_suites, 300);
    assert_int_equal(ch->suites[0], 0xc02c);
    assert_int_equal(ch->suites[1], 0xc030);
    assert_int_equal(ch->suites[299], offer_suite(299));
    assert_string_equal(ch->sni, "cucm.example.com");
    assert_int_equal(ch->preferred_auth, AUTH_ECDSA);
    assert_int_equal(strlen(ch->ja3), 32);
    free(reports(a));
    analysis_free(a);
}

static void test_11k_client_hello_many_segments(void **state)
{
    char path[HOSTILE_PATH];
    struct analysis *a;
    const struct conn_client_hello *ch;

    for (int reorder = 0; reorder < 2; reorder++) {
        hpath(state, reorder ? "hello11k-reordered.pcap" : "hello11k.pcap", path);
        /* 200 suites (400 bytes) + 10.6 KB of padding: an 11 KB message,
         * in 21 segments of 536 bytes. */
        one_hello_capture(path, 200, 10600, HOSTILE_MSS, reorder != 0);
        a = run(path, false);
        assert_int_equal(a->nconns, 1);
        assert_true(a->conns[0]->tcp.packets[DIR_CLIENT] >= 20 + 2);
        assert_int_equal(a->conns[0]->n_ch, 1);
        ch = &a->conns[0]->ch[0];
        assert_int_equal(ch->n_suites, 200);
        /* SNI is the last extension: found only if all 11 KB were parsed. */
        assert_non_null(ch->sni);
        assert_string_equal(ch->sni, "cucm.example.com");
        assert_int_equal(ch->n_exts, 4);
        assert_int_equal(ch->exts[2], 21);
        assert_false(a->conns[0]->malformed[DIR_CLIENT]);
        free(reports(a));
        analysis_free(a);
    }
}

/* A handshake message longer than the cap (256 KiB by default, RFC 8446
 * allows 2^24 - 1): the direction is given up on, as a counted problem. */
static void test_handshake_message_over_limit(void **state)
{
    char path[HOSTILE_PATH];
    struct b ch = {0}, rec = {0}, body = {0};
    struct analysis *a;
    struct conv c;
    FILE *f;
    size_t big = TLS_MAX_HS_MSG + 1024;

    hpath(state, "hsbig.pcap", path);
    f = pcap_create(path, 1, 65535);
    conv_init(&c, f, 0x0a000001u, 50006, 0x0a000002u, 8443);
    conv_handshake(&c);
    client_hello(&ch, 4, 0, "cucm.example.com");
    records(&rec, 22, ch.p, ch.n);
    conv_send(&c, 0, rec.p, rec.n, 1460);
    free(rec.p);
    memset(&rec, 0, sizeof(rec));
    body.p = calloc(1, big);
    assert_non_null(body.p);
    body.n = body.cap = big;
    hs_wrap(&ch, 11, &body);                /* a 257 KiB "Certificate" from the server */
    records(&rec, 22, ch.p + (ch.n - big - 4), big + 4);
    conv_send(&c, 1, rec.p, rec.n, 1460);
    assert_int_equal(fclose(f), 0);

    a = run(path, false);
    assert_int_equal(a->nconns, 1);
    assert_true(a->conns[0]->malformed[DIR_SERVER]);
    assert_non_null(a->conns[0]->malformed_why[DIR_SERVER]);
    printf("handshake message over the limit: %s\n", a->conns[0]->malformed_why[DIR_SERVER]);
    assert_true(has_finding(a->conns[0], FINDING_MALFORMED_TLS) ||
                has_finding(a->conns[0], FINDING_LIMIT_REACHED));
    /* Issue 7: a reached limit is a counted warning in the report. */
    assert_true(has_global(a, FINDING_LIMIT_REACHED, NULL));
    free(reports(a));
    analysis_free(a);
    free(ch.p); free(rec.p); free(body.p);
}

/* More records than TLS_MAX_RECORDS before the handshake ends: the parser
 * stops on the connection, and says so as a counted limit. */
static void test_record_limit(void **state)
{
    char path[HOSTILE_PATH];
    struct b ch = {0}, rec = {0};
    struct analysis *a;
    struct conv c;
    FILE *f;
    static const uint8_t hb[6] = {24, 3, 3, 0, 1, 1};   /* heartbeat record, 1 byte */

    hpath(state, "records.pcap", path);
    f = pcap_create(path, 1, 65535);
    conv_init(&c, f, 0x0a000001u, 50007, 0x0a000002u, 8443);
    conv_handshake(&c);
    client_hello(&ch, 4, 0, "cucm.example.com");
    records(&rec, 22, ch.p, ch.n);
    for (unsigned i = 0; i < TLS_MAX_RECORDS + 10; i++)
        b_put(&rec, hb, sizeof(hb));
    conv_send(&c, 0, rec.p, rec.n, 1460);
    assert_int_equal(fclose(f), 0);

    a = run(path, false);
    assert_int_equal(a->nconns, 1);
    assert_int_equal(a->conns[0]->n_ch, 1);
    assert_true(a->conns[0]->malformed[DIR_CLIENT]);
    assert_true(has_global(a, FINDING_LIMIT_REACHED, NULL));
    free(reports(a));
    analysis_free(a);
    free(ch.p); free(rec.p);
}

/* A chain of CONN_MAX_CERTS + 4 certificates: the first CONN_MAX_CERTS are
 * kept, the overflow is flagged and counted. */
static void test_chain_over_cert_limit(void **state)
{
    char path[HOSTILE_PATH];
    struct b cli = {0}, crec = {0}, srv = {0}, srec = {0}, body = {0}, list = {0};
    struct analysis *a;
    struct conv c;
    size_t dlen;
    uint8_t *der = nul_cert(&dlen);
    FILE *f;

    for (unsigned i = 0; i < CONN_MAX_CERTS + 4; i++) {
        b_u24(&list, (uint32_t)dlen);
        b_put(&list, der, dlen);
    }
    b_u24(&body, (uint32_t)list.n);
    b_put(&body, list.p, list.n);
    hpath(state, "chain20.pcap", path);
    f = pcap_create(path, 1, 65535);
    conv_init(&c, f, 0x0a000001u, 50008, 0x0a000002u, 8443);
    conv_handshake(&c);
    client_hello(&cli, 3, 0, "cucm.example.com");
    records(&crec, 22, cli.p, cli.n);
    conv_send(&c, 0, crec.p, crec.n, 1460);
    server_hello(&srv, 0xc02c);
    hs_wrap(&srv, 11, &body);
    records(&srec, 22, srv.p, srv.n);
    conv_send(&c, 1, srec.p, srec.n, 1460);
    assert_int_equal(fclose(f), 0);

    a = run(path, false);
    assert_int_equal(a->nconns, 1);
    assert_int_equal(a->conns[0]->n_server_certs, CONN_MAX_CERTS);
    assert_true(a->conns[0]->server_certs_truncated);
    assert_true(has_global(a, FINDING_LIMIT_REACHED, NULL));
    free(reports(a));
    analysis_free(a);
    OPENSSL_free(der);
    free(cli.p); free(crec.p); free(srv.p); free(srec.p); free(body.p); free(list.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_absurd_caplen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_packets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamps_backwards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcapng_absurd_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcapng_mixed_linktypes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_nul_in_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_300_suite_client_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_11k_client_hello_many_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_message_over_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_over_cert_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_half_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_205, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_1400, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
