/* test_capture.c - capture files written in a temp dir: pcap, pcapng, gzip, merge, damage, BPF. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <pcap/pcap.h>
#include <zlib.h>

#include "tlsinspect/capture.h"
#include "tlsinspect/err.h"

#include "support/tmpdir.h"

#define PATH_CAP 512
#define MAX_PKTS 256

struct tdir {
    char dir[PATH_CAP / 2];
};

static int setup(void **state)
{
    struct tdir *t = calloc(1, sizeof *t);

    if (t == NULL || tmpdir_make(t->dir, sizeof t->dir, "cap") != 0) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tdir *t = *state;

    tmpdir_remove(t->dir);
    free(t);
    return 0;
}

static void tpath(const struct tdir *t, const char *name, char *out)
{
    snprintf(out, PATH_CAP, "%s/%s", t->dir, name);
}

static uint64_t fsize(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* ---- packets -------------------------------------------------------------- */

/* Ethernet + IPv4 + TCP to dport, payload: 4 marker bytes (file id, index)
 * padded with filler up to extra bytes.  Returns the length. */
static size_t mkpkt(uint8_t *b, unsigned dport, unsigned file_id, unsigned idx, size_t extra)
{
    size_t plen = 4 + extra, n = 0;
    static const uint8_t eth[14] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00};

    memcpy(b, eth, 14);
    n = 14;
    b[n++] = 0x45;
    b[n++] = 0;
    b[n++] = (uint8_t)((40 + plen) >> 8);
    b[n++] = (uint8_t)(40 + plen);
    memset(b + n, 0, 4);
    n += 4;
    b[n++] = 64;
    b[n++] = 6;
    b[n++] = 0;
    b[n++] = 0;
    memcpy(b + n, (const uint8_t[8]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
    n += 8;
    b[n++] = 0x9c;   /* sport 40000 */
    b[n++] = 0x40;
    b[n++] = (uint8_t)(dport >> 8);
    b[n++] = (uint8_t)dport;
    memset(b + n, 0, 8);
    n += 8;
    b[n++] = 5 << 4;
    b[n++] = 0x18;
    b[n++] = 0xff;
    b[n++] = 0xff;
    memset(b + n, 0, 4);
    n += 4;
    b[n++] = (uint8_t)file_id;
    b[n++] = (uint8_t)idx;
    b[n++] = 0xab;
    b[n++] = 0xcd;
    for (size_t i = 0; i < extra; i++)
        b[n++] = (uint8_t)(i * 7 + idx * 13 + (i >> 3) * (idx + 1));
    return n;
}

/* Marker offsets in mkpkt() packets. */
#define MARK_FILE 54
#define MARK_IDX 55

struct wpkt {
    int64_t ts_sec;
    int64_t ts_frac;     /* microseconds, or nanoseconds for nano files */
    unsigned dport;
    size_t extra;
};

/* Write a pcap with pcap_open_dead + pcap_dump_open; returns the file size. */
static uint64_t write_pcap(const char *path, int dlt, int prec, unsigned file_id,
                           const struct wpkt *w, size_t n)
{
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(dlt, 65535, (u_int)prec);
    pcap_dumper_t *d;
    uint8_t b[2048];

    assert_non_null(dead);
    d = pcap_dump_open(dead, path);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        struct pcap_pkthdr h;
        size_t len = mkpkt(b, w[i].dport, file_id, (unsigned)i, w[i].extra);

        memset(&h, 0, sizeof h);
        h.ts.tv_sec = (time_t)w[i].ts_sec;
        h.ts.tv_usec = (suseconds_t)w[i].ts_frac;
        h.caplen = (bpf_u_int32)len;
        h.len = (bpf_u_int32)len;
        pcap_dump((u_char *)d, &h, b);
    }
    pcap_dump_close(d);
    pcap_close(dead);
    return fsize(path);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* gzip src into dst with zlib's gzwrite. */
static void gzip_file(const char *src, const char *dst)
{
    FILE *f = fopen(src, "rb");
    gzFile gz = gzopen(dst, "wb6");
    char buf[4096];
    size_t n;

    assert_non_null(f);
    assert_non_null(gz);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        assert_int_equal(gzwrite(gz, buf, (unsigned)n), (int)n);
    fclose(f);
    assert_int_equal(gzclose(gz), Z_OK);
}

static struct capture *open_ok(char *const *files, size_t n, const char *bpf)
{
    struct capture *cap = NULL;
    char err[512] = "";
    int rc = capture_open(&cap, files, n, bpf, err, sizeof err);

    if (rc != TI_OK)
        fail_msg("capture_open: %d %s", rc, err);
    assert_non_null(cap);
    return cap;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_single_file(void **state)
{
    struct tdir *t = *state;
    char path[PATH_CAP];
    const struct wpkt w[3] = {{1, 1, 8443, 0}, {2, 500000, 8443, 100}, {3, 0, 6972, 10}};
    char *files[1] = {path};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin, i = 0;
    uint64_t size, done, total, off = 24;
    uint8_t expect[2048];
    struct capture *cap;

    tpath(t, "one.pcap", path);
    size = write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 7, w, 3);
    /* 24-byte header + per record 16 + 58 + extra */
    assert_int_equal(size, 24 + 3 * (16 + 58) + 100 + 10);

    cap = open_ok(files, 1, NULL);
    in = capture_inputs(cap, &nin);
    assert_int_equal(nin, 1);
    assert_string_equal(in[0].file, path);
    assert_string_equal(in[0].format, "pcap");
    assert_string_equal(in[0].linktype_name, "EN10MB");
    assert_int_equal(in[0].linktype, DLT_EN10MB);
    assert_int_equal(in[0].snaplen, 65535);
    assert_int_equal(in[0].size, size);

    capture_progress(cap, &done, &total);
    assert_int_equal(done, 0);
    assert_int_equal(total, size);
    while (capture_next(cap, &pkt) == 1) {
        size_t len = mkpkt(expect, w[i].dport, 7, (unsigned)i, w[i].extra);

        if (i == 0)   /* one record read so far: header + 16 + 58, kept without asking */
            assert_int_equal(in[0].bytes, 24 + 16 + 58);
        capture_progress(cap, &done, &total);   /* exact at any packet, not a stale sample */
        off += 16 + len;
        assert_int_equal(done, off);
        assert_int_equal(in[0].bytes, done);

        assert_true(i < 3);
        assert_int_equal(pkt.ts, w[i].ts_sec * 1000000 + w[i].ts_frac);
        assert_int_equal(pkt.caplen, len);
        assert_int_equal(pkt.len, len);
        assert_memory_equal(pkt.data, expect, len);
        assert_int_equal(pkt.linktype, DLT_EN10MB);
        assert_int_equal(pkt.input, 0);
        i++;
    }
    assert_int_equal(i, 3);
    assert_int_equal(capture_next(cap, &pkt), 0);   /* stays at the end */
    assert_int_equal(in[0].packets, 3);
    assert_int_equal(in[0].bytes, size);
    assert_false(in[0].truncated);
    assert_null(in[0].error);
    capture_progress(cap, &done, &total);
    assert_int_equal(total, size);
    assert_int_equal(done, size);
    capture_close(cap);
    capture_close(NULL);
}

static void test_merge_two_files(void **state)
{
    struct tdir *t = *state;
    char a[PATH_CAP], b[PATH_CAP], e[PATH_CAP];
    /* A: 1, 3, 5, 7 s   B: 2, 3, 4, 8 s (the tie at 3 s goes to A, named first) */
    const struct wpkt wa[4] = {{1, 0, 1, 0}, {3, 0, 1, 0}, {5, 0, 1, 0}, {7, 0, 1, 0}};
    const struct wpkt wb[4] = {{2, 0, 2, 0}, {3, 0, 2, 0}, {4, 0, 2, 0}, {8, 0, 2, 0}};
    static const struct { unsigned input, idx; int64_t sec; } order[8] = {
        {0, 0, 1}, {1, 0, 2}, {0, 1, 3}, {1, 1, 3}, {1, 2, 4}, {0, 2, 5}, {0, 3, 7}, {1, 3, 8},
    };
    char *files[3] = {a, e, b};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin, i = 0;
    uint64_t sa, sb, se, done, total;
    struct capture *cap;

    tpath(t, "a.pcap", a);
    tpath(t, "b.pcap", b);
    tpath(t, "empty.pcap", e);
    sa = write_pcap(a, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 0xa, wa, 4);
    sb = write_pcap(b, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 0xb, wb, 4);
    se = write_pcap(e, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 0xe, NULL, 0);

    /* a, empty, b: the empty file (header only) is index 1 and yields nothing */
    cap = open_ok(files, 3, NULL);
    while (capture_next(cap, &pkt) == 1) {
        unsigned input = order[i].input ? 2 : 0;

        assert_true(i < 8);
        assert_int_equal(pkt.input, input);
        assert_int_equal(pkt.ts, order[i].sec * 1000000);
        assert_int_equal(pkt.data[MARK_FILE], order[i].input ? 0xb : 0xa);
        assert_int_equal(pkt.data[MARK_IDX], order[i].idx);
        i++;
    }
    assert_int_equal(i, 8);
    in = capture_inputs(cap, &nin);
    assert_int_equal(nin, 3);
    assert_int_equal(in[0].packets, 4);
    assert_int_equal(in[1].packets, 0);
    assert_int_equal(in[2].packets, 4);
    capture_progress(cap, &done, &total);
    assert_int_equal(total, sa + sb + se);
    assert_int_equal(done, total);
    capture_close(cap);

    /* named the other way round, the tie goes to B */
    files[0] = b;
    files[1] = a;
    cap = open_ok(files, 2, NULL);
    for (i = 0; i < 4; i++)
        assert_int_equal(capture_next(cap, &pkt), 1);
    /* B2, A1 first ... the 4th packet is the second 3 s one: A's */
    assert_int_equal(pkt.input, 1);
    assert_int_equal(pkt.ts, 3000000);
    assert_int_equal(pkt.data[MARK_FILE], 0xa);
    capture_close(cap);
}

static void test_gzip(void **state)
{
    struct tdir *t = *state;
    char plain[PATH_CAP], gz[PATH_CAP];
    struct wpkt w[50];
    char *files[1] = {gz};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin, i = 0;
    uint8_t expect[2048];
    struct capture *cap;
    uint64_t gzsize;

    for (size_t k = 0; k < 50; k++)
        w[k] = (struct wpkt){100 + (int64_t)k, 0, 8443, 300};
    tpath(t, "plain.pcap", plain);
    tpath(t, "compressed.cap", gz);      /* no .gz suffix: told by content */
    write_pcap(plain, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 3, w, 50);
    gzip_file(plain, gz);
    gzsize = fsize(gz);
    assert_true(gzsize < fsize(plain));

    cap = open_ok(files, 1, NULL);
    in = capture_inputs(cap, &nin);
    assert_string_equal(in[0].format, "pcap+gzip");
    assert_string_equal(in[0].linktype_name, "EN10MB");
    assert_int_equal(in[0].size, gzsize);
    while (capture_next(cap, &pkt) == 1) {
        size_t len = mkpkt(expect, 8443, 3, (unsigned)i, 300);
        assert_int_equal(pkt.caplen, len);
        assert_memory_equal(pkt.data, expect, len);
        assert_int_equal(pkt.ts, (100 + (int64_t)i) * 1000000);
        i++;
    }
    assert_int_equal(i, 50);
    assert_int_equal(in[0].packets, 50);
    assert_int_equal(in[0].bytes, gzsize);   /* compressed bytes consumed */
    assert_false(in[0].truncated);
    capture_close(cap);
}

static void test_gzip_truncated(void **state)
{
    struct tdir *t = *state;
    char plain[PATH_CAP], gz[PATH_CAP];
    struct wpkt w[200];
    char *files[1] = {gz};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin, i = 0;
    struct capture *cap;

    for (size_t k = 0; k < 200; k++)
        w[k] = (struct wpkt){100 + (int64_t)k, 0, 8443, 400};
    tpath(t, "plain.pcap", plain);
    tpath(t, "cut.pcap.gz", gz);
    write_pcap(plain, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 3, w, 200);
    gzip_file(plain, gz);
    assert_int_equal(truncate(gz, (off_t)(fsize(gz) / 2)), 0);

    cap = open_ok(files, 1, NULL);
    while (capture_next(cap, &pkt) == 1) {
        assert_int_equal(pkt.data[MARK_IDX], i);   /* a prefix, in order */
        i++;
    }
    assert_true(i > 0);
    assert_true(i < 200);
    in = capture_inputs(cap, &nin);
    assert_true(in[0].truncated);
    assert_non_null(in[0].error);
    /* inflate's reason is appended to libpcap's, without the path */
    assert_non_null(strstr(in[0].error, "(gzip: compressed stream ends early)"));
    assert_null(strstr(in[0].error, gz));
    assert_int_equal(in[0].packets, i);
    assert_int_equal(capture_next(cap, &pkt), 0);
    capture_close(cap);
}

/* A gzip stream cut exactly where a sync flush left whole records: libpcap
 * sees a clean end, but the missing gzip trailer still marks the damage. */
static void test_gzip_cut_at_record_boundary(void **state)
{
    struct tdir *t = *state;
    char plain[PATH_CAP], gzp[PATH_CAP];
    struct wpkt w[10];
    char *files[1] = {gzp};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin, i = 0, first_part = 24 + 5 * (16 + 58 + 20);
    uint8_t data[4096];
    FILE *f;
    gzFile gz;
    size_t n;
    z_off_t cut;
    struct capture *cap;

    for (size_t k = 0; k < 10; k++)
        w[k] = (struct wpkt){50 + (int64_t)k, 0, 8443, 20};
    tpath(t, "plain.pcap", plain);
    tpath(t, "flushed.gz", gzp);
    write_pcap(plain, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 3, w, 10);
    f = fopen(plain, "rb");
    assert_non_null(f);
    n = fread(data, 1, sizeof data, f);
    fclose(f);
    assert_int_equal(n, 24 + 10 * (16 + 58 + 20));

    gz = gzopen(gzp, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)first_part), (int)first_part);
    assert_int_equal(gzflush(gz, Z_SYNC_FLUSH), Z_OK);
    cut = gzoffset(gz);
    assert_true(cut > 0);
    assert_int_equal(gzwrite(gz, data + first_part, (unsigned)(n - first_part)),
                     (int)(n - first_part));
    assert_int_equal(gzclose(gz), Z_OK);
    assert_int_equal(truncate(gzp, (off_t)cut), 0);

    cap = open_ok(files, 1, NULL);
    while (capture_next(cap, &pkt) == 1) {
        assert_int_equal(pkt.data[MARK_IDX], i);
        i++;
    }
    assert_int_equal(i, 5);
    in = capture_inputs(cap, &nin);
    assert_true(in[0].truncated);
    assert_non_null(in[0].error);
    assert_non_null(strstr(in[0].error, "compressed stream ends early"));
    capture_close(cap);
}

static void test_truncated_mid_record(void **state)
{
    struct tdir *t = *state;
    char path[PATH_CAP], other[PATH_CAP];
    const struct wpkt w[3] = {{1, 0, 8443, 0}, {2, 0, 8443, 0}, {3, 0, 8443, 0}};
    const struct wpkt w2[2] = {{2, 500, 443, 0}, {9, 0, 443, 0}};
    char *files[2] = {path, other};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin;
    uint64_t size;
    struct capture *cap;

    tpath(t, "cut.pcap", path);
    tpath(t, "other.pcap", other);

    /* cut in the third record's data */
    size = write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 1, w, 3);
    assert_int_equal(truncate(path, (off_t)(size - 10)), 0);
    cap = open_ok(files, 1, NULL);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(pkt.data[MARK_IDX], 0);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(pkt.data[MARK_IDX], 1);
    assert_int_equal(capture_next(cap, &pkt), 0);
    assert_int_equal(capture_next(cap, &pkt), 0);
    in = capture_inputs(cap, &nin);
    assert_true(in[0].truncated);
    assert_non_null(in[0].error);
    assert_non_null(strstr(in[0].error, "truncated"));
    assert_int_equal(in[0].packets, 2);
    capture_close(cap);

    /* cut inside the third record's 16-byte header */
    size = write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 1, w, 3);
    assert_int_equal(truncate(path, (off_t)(24 + 2 * (16 + 58) + 7)), 0);
    cap = open_ok(files, 1, NULL);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(capture_next(cap, &pkt), 0);
    in = capture_inputs(cap, &nin);
    assert_true(in[0].truncated);
    assert_non_null(in[0].error);
    capture_close(cap);

    /* cut exactly at a record boundary: a clean end, not damage */
    size = write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 1, w, 3);
    assert_int_equal(truncate(path, (off_t)(24 + 2 * (16 + 58))), 0);
    cap = open_ok(files, 1, NULL);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(capture_next(cap, &pkt), 0);
    in = capture_inputs(cap, &nin);
    assert_false(in[0].truncated);
    assert_null(in[0].error);
    capture_close(cap);

    /* a damaged file stops alone: the other file is read to its end */
    size = write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 1, w, 3);
    assert_int_equal(truncate(path, (off_t)(size - 10)), 0);
    write_pcap(other, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 2, w2, 2);
    cap = open_ok(files, 2, NULL);
    {
        static const struct { unsigned input; int64_t ts; } order[4] = {
            {0, 1000000}, {0, 2000000}, {1, 2000500}, {1, 9000000},
        };
        for (size_t i = 0; i < 4; i++) {
            assert_int_equal(capture_next(cap, &pkt), 1);
            assert_int_equal(pkt.input, order[i].input);
            assert_int_equal(pkt.ts, order[i].ts);
        }
    }
    assert_int_equal(capture_next(cap, &pkt), 0);
    in = capture_inputs(cap, &nin);
    assert_true(in[0].truncated);
    assert_false(in[1].truncated);
    assert_int_equal(in[1].packets, 2);
    capture_close(cap);
}

/* Files libpcap cannot open: TI_EIO and "FILE: why". */
static void expect_open_fail(const char *path, int want)
{
    char *files[1] = {(char *)path};
    struct capture *cap = (struct capture *)&cap;   /* must be reset to NULL */
    char err[512] = "";
    int rc = capture_open(&cap, files, 1, NULL, err, sizeof err);

    assert_int_equal(rc, want);
    assert_null(cap);
    assert_true(strncmp(err, path, strlen(path)) == 0);
    assert_true(strncmp(err + strlen(path), ": ", 2) == 0);
    assert_true(strlen(err) > strlen(path) + 2);
}

static void test_open_errors(void **state)
{
    struct tdir *t = *state;
    char path[PATH_CAP];
    const struct wpkt w[1] = {{1, 0, 8443, 0}};
    static const char text[] = "this is not a capture file, just text\n";

    tpath(t, "hdrcut.pcap", path);                     /* cut in the global header */
    write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 1, w, 1);
    assert_int_equal(truncate(path, 10), 0);
    expect_open_fail(path, TI_EIO);
    assert_int_equal(truncate(path, 2), 0);            /* shorter than the magic */
    expect_open_fail(path, TI_EIO);
    assert_int_equal(truncate(path, 0), 0);            /* empty */
    expect_open_fail(path, TI_EIO);

    tpath(t, "notes.txt", path);                       /* not a capture */
    write_file(path, text, sizeof text - 1);
    expect_open_fail(path, TI_EIO);

    tpath(t, "fake.gz", path);                         /* gzip magic, garbage after */
    write_file(path, "\x1f\x8b\x08\x00garbagegarbagegarbage", 25);
    expect_open_fail(path, TI_EIO);

    tpath(t, "missing.pcap", path);                    /* does not exist */
    expect_open_fail(path, TI_EIO);

    {
        struct capture *cap = NULL;
        char err[64] = "";
        assert_int_equal(capture_open(&cap, NULL, 0, NULL, err, sizeof err), TI_EUSAGE);
        assert_null(cap);
        assert_true(err[0] != '\0');
    }
}

/* A bad file after a good one: the good one is released (LeakSanitizer). */
static void test_open_error_second_file(void **state)
{
    struct tdir *t = *state;
    char good[PATH_CAP], bad[PATH_CAP];
    const struct wpkt w[1] = {{1, 0, 8443, 0}};
    char *files[2] = {good, bad};
    struct capture *cap = NULL;
    char err[512] = "";

    tpath(t, "good.pcap", good);
    tpath(t, "bad.pcap", bad);
    write_pcap(good, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 1, w, 1);
    write_file(bad, "nope", 4);
    assert_int_equal(capture_open(&cap, files, 2, NULL, err, sizeof err), TI_EIO);
    assert_null(cap);
    assert_true(strncmp(err, bad, strlen(bad)) == 0);
}

static void test_bpf(void **state)
{
    struct tdir *t = *state;
    char path[PATH_CAP];
    const struct wpkt w[4] = {{1, 0, 8443, 0}, {2, 0, 443, 0}, {3, 0, 8443, 0}, {4, 0, 6972, 0}};
    char *files[1] = {path};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin;
    struct capture *cap = NULL;
    char err[512] = "";

    tpath(t, "mixed.pcap", path);
    write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 1, w, 4);

    cap = open_ok(files, 1, "tcp port 8443");
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(pkt.data[MARK_IDX], 0);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(pkt.data[MARK_IDX], 2);
    assert_int_equal(capture_next(cap, &pkt), 0);
    in = capture_inputs(cap, &nin);
    assert_int_equal(in[0].packets, 4);   /* records read, before the filter */
    capture_close(cap);

    cap = open_ok(files, 1, "tcp port 8443 or tcp port 6972");
    for (int i = 0; i < 3; i++)
        assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(pkt.data[MARK_IDX], 3);
    assert_int_equal(capture_next(cap, &pkt), 0);
    capture_close(cap);

    cap = open_ok(files, 1, "udp");        /* nothing matches */
    assert_int_equal(capture_next(cap, &pkt), 0);
    capture_close(cap);

    cap = (struct capture *)&cap;
    assert_int_equal(capture_open(&cap, files, 1, "tcp port", err, sizeof err), TI_EUSAGE);
    assert_null(cap);
    assert_true(strncmp(err, "bpf: ", 5) == 0);
    assert_true(strlen(err) > 5);
    assert_int_equal(capture_open(&cap, files, 1, "tcp port 99999", err, sizeof err),
                     TI_EUSAGE);
    assert_true(strncmp(err, "bpf: ", 5) == 0);
}

static void test_nanosecond(void **state)
{
    struct tdir *t = *state;
    char path[PATH_CAP];
    const struct wpkt w[2] = {{1600000000, 123456789, 8443, 0}, {1600000001, 999, 8443, 0}};
    char *files[1] = {path};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin;
    struct capture *cap;
    FILE *f;
    uint32_t magic = 0;

    tpath(t, "nano.pcap", path);
    write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_NANO, 1, w, 2);
    f = fopen(path, "rb");   /* really a nanosecond file (host byte order magic) */
    assert_non_null(f);
    assert_int_equal(fread(&magic, 1, 4, f), 4);
    fclose(f);
    assert_int_equal(magic, 0xa1b23c4du);

    cap = open_ok(files, 1, NULL);
    in = capture_inputs(cap, &nin);
    assert_string_equal(in[0].format, "pcap");
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(pkt.ts, 1600000000LL * 1000000 + 123456);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(pkt.ts, 1600000001LL * 1000000 + 0);
    capture_close(cap);
}

/* ---- pcapng by hand --------------------------------------------------------- */

static void le16(uint8_t **p, unsigned v)
{
    (*p)[0] = (uint8_t)v;
    (*p)[1] = (uint8_t)(v >> 8);
    *p += 2;
}

static void le32(uint8_t **p, uint32_t v)
{
    le16(p, v & 0xffff);
    le16(p, v >> 16);
}

/* SHB + IDB (+ if_tsresol when tsresol != 0) + one EPB per packet. */
static size_t mk_pcapng(uint8_t *buf, unsigned linktype, unsigned tsresol,
                        const uint64_t *ts, size_t n)
{
    uint8_t *p = buf;
    uint8_t pkt[2048];

    le32(&p, 0x0a0d0d0a);          /* SHB */
    le32(&p, 28);
    le32(&p, 0x1a2b3c4d);
    le16(&p, 1);
    le16(&p, 0);
    le32(&p, 0xffffffffu);         /* section length unknown */
    le32(&p, 0xffffffffu);
    le32(&p, 28);

    le32(&p, 1);                   /* IDB */
    le32(&p, tsresol ? 32 : 20);
    le16(&p, linktype);
    le16(&p, 0);
    le32(&p, 65535);
    if (tsresol) {
        le16(&p, 9);               /* if_tsresol, 1 byte, padded */
        le16(&p, 1);
        le32(&p, tsresol);
        le16(&p, 0);               /* opt_endofopt */
        le16(&p, 0);
    }
    le32(&p, tsresol ? 32 : 20);

    for (size_t i = 0; i < n; i++) {
        size_t len = mkpkt(pkt, 8443, 0x9, (unsigned)i, i);
        size_t pad = (4 - len % 4) % 4;
        uint32_t blen = (uint32_t)(32 + len + pad);

        le32(&p, 6);               /* EPB */
        le32(&p, blen);
        le32(&p, 0);
        le32(&p, (uint32_t)(ts[i] >> 32));
        le32(&p, (uint32_t)ts[i]);
        le32(&p, (uint32_t)len);
        le32(&p, (uint32_t)len);
        memcpy(p, pkt, len);
        p += len;
        memset(p, 0, pad);
        p += pad;
        le32(&p, blen);
    }
    return (size_t)(p - buf);
}

static void test_pcapng(void **state)
{
    struct tdir *t = *state;
    char path[PATH_CAP], gz[PATH_CAP];
    uint8_t buf[8192], expect[2048];
    const uint64_t ts_us[2] = {1700000000123456ULL, 1700000001000001ULL};
    const uint64_t ts_ns[2] = {1700000000123456789ULL, 1700000002000000999ULL};
    char *files[1] = {path};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin, n;
    struct capture *cap;

    tpath(t, "two.pcapng", path);
    n = mk_pcapng(buf, DLT_EN10MB, 0, ts_us, 2);
    write_file(path, buf, n);
    cap = open_ok(files, 1, NULL);
    in = capture_inputs(cap, &nin);
    assert_string_equal(in[0].format, "pcapng");
    assert_string_equal(in[0].linktype_name, "EN10MB");
    for (size_t i = 0; i < 2; i++) {
        size_t len = mkpkt(expect, 8443, 0x9, (unsigned)i, i);
        assert_int_equal(capture_next(cap, &pkt), 1);
        assert_int_equal(pkt.ts, (int64_t)ts_us[i]);
        assert_int_equal(pkt.caplen, len);
        assert_memory_equal(pkt.data, expect, len);
        assert_int_equal(pkt.linktype, DLT_EN10MB);
    }
    assert_int_equal(capture_next(cap, &pkt), 0);
    assert_int_equal(in[0].packets, 2);
    assert_int_equal(in[0].bytes, n);
    assert_false(in[0].truncated);
    capture_close(cap);

    /* nanosecond interface (if_tsresol 9) comes out in microseconds */
    n = mk_pcapng(buf, DLT_EN10MB, 9, ts_ns, 2);
    write_file(path, buf, n);
    cap = open_ok(files, 1, NULL);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(pkt.ts, 1700000000123456LL);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(pkt.ts, 1700000002000000LL);
    capture_close(cap);

    /* gzip-compressed pcapng */
    tpath(t, "two.pcapng.gz", gz);
    gzip_file(path, gz);
    files[0] = gz;
    cap = open_ok(files, 1, NULL);
    in = capture_inputs(cap, &nin);
    assert_string_equal(in[0].format, "pcapng+gzip");
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(capture_next(cap, &pkt), 0);
    capture_close(cap);

    /* pcapng cut inside the second EPB */
    files[0] = path;
    n = mk_pcapng(buf, DLT_EN10MB, 0, ts_us, 2);
    write_file(path, buf, n - 6);
    cap = open_ok(files, 1, NULL);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(capture_next(cap, &pkt), 0);
    in = capture_inputs(cap, &nin);
    assert_true(in[0].truncated);
    assert_non_null(in[0].error);
    capture_close(cap);
}

/* libpcap 1.10 cannot give one DLT for a pcapng whose interfaces differ:
 * its message is surfaced and the packets before it are kept. */
static void test_pcapng_mixed_linktypes(void **state)
{
    struct tdir *t = *state;
    char path[PATH_CAP];
    uint8_t buf[8192], *p;
    const uint64_t ts[1] = {1700000000000000ULL};
    char *files[1] = {path};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin, n;
    struct capture *cap;

    n = mk_pcapng(buf, DLT_EN10MB, 0, ts, 1);
    p = buf + n;                   /* a second IDB, LINUX_SLL, after the EPB */
    le32(&p, 1);
    le32(&p, 20);
    le16(&p, DLT_LINUX_SLL);
    le16(&p, 0);
    le32(&p, 65535);
    le32(&p, 20);
    tpath(t, "mixed.pcapng", path);
    write_file(path, buf, (size_t)(p - buf));

    cap = open_ok(files, 1, NULL);
    assert_int_equal(capture_next(cap, &pkt), 1);
    assert_int_equal(pkt.linktype, DLT_EN10MB);
    assert_int_equal(capture_next(cap, &pkt), 0);
    in = capture_inputs(cap, &nin);
    assert_true(in[0].truncated);
    assert_non_null(in[0].error);
    assert_non_null(strstr(in[0].error, "interface"));
    capture_close(cap);
}

static void test_linktype_names(void **state)
{
    struct tdir *t = *state;
    char path[PATH_CAP];
    const struct wpkt w[1] = {{5, 0, 8443, 0}};
    char *files[1] = {path};
    struct cap_packet pkt;
    const struct cap_input *in;
    size_t nin;
    struct capture *cap;
    static const struct { int dlt; const char *name; } cases[] = {
        {DLT_LINUX_SLL, "LINUX_SLL"}, {DLT_RAW, "RAW"}, {DLT_NULL, "NULL"},
    };

    tpath(t, "lt.pcap", path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_pcap(path, cases[i].dlt, PCAP_TSTAMP_PRECISION_MICRO, 1, w, 1);
        cap = open_ok(files, 1, NULL);
        in = capture_inputs(cap, &nin);
        assert_int_equal(in[0].linktype, cases[i].dlt);
        assert_string_equal(in[0].linktype_name, cases[i].name);
        assert_int_equal(capture_next(cap, &pkt), 1);
        assert_int_equal(pkt.linktype, cases[i].dlt);
        capture_close(cap);
    }
}

/* Packets and timestamps of every packet of an open capture. */
static size_t drain(struct capture *cap, int64_t *ts, size_t cap_ts)
{
    struct cap_packet pkt;
    size_t n = 0;

    while (capture_next(cap, &pkt) == 1) {
        if (n < cap_ts)
            ts[n] = pkt.ts;
        n++;
    }
    return n;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = malloc(1 << 20);

    assert_non_null(f);
    assert_non_null(b);
    *len = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

/* The input's SHA-256 is the file's, hashed while read: a whole file, a
 * damaged one (read on to its end for the hash), gzip with bytes after the
 * last member; none after capture_skip_hash(). */
static void test_sha256(void **state)
{
    struct tdir *t = *state;
    char path[PATH_CAP], gz[PATH_CAP];
    const struct wpkt w[3] = {{1, 1, 8443, 0}, {2, 500000, 8443, 100}, {3, 0, 6972, 10}};
    char *files[1] = {path};
    int64_t ts[8];
    const struct cap_input *in;
    size_t nin, len;
    uint8_t *bytes, md[32];
    unsigned int mdlen = 0;
    struct capture *cap;
    FILE *f;

    tpath(t, "h.pcap", path);
    tpath(t, "h.pcap.gz", gz);
    write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 3, w, 3);
    gzip_file(path, gz);
    f = fopen(gz, "ab");
    assert_non_null(f);
    fputs("after the last member", f);
    fclose(f);
    for (int k = 0; k < 4; k++) {
        if (k == 2)
            assert_int_equal(truncate(path, (off_t)(fsize(path) - 7)), 0);   /* cut mid-record */
        files[0] = k == 1 ? gz : path;
        cap = open_ok(files, 1, NULL);
        if (k == 3)
            capture_skip_hash(cap);
        (void)drain(cap, ts, 8);
        in = capture_inputs(cap, &nin);
        bytes = slurp(files[0], &len);
        assert_int_equal(EVP_Digest(bytes, len, md, &mdlen, EVP_sha256(), NULL), 1);
        assert_int_equal(in[0].truncated, k >= 2);
        assert_int_equal(in[0].hashed, k != 3);
        if (k != 3)
            assert_memory_equal(in[0].sha256, md, 32);
        if (k != 1)   /* bytes: what libpcap parsed, not what was read for the hash */
            assert_true(in[0].bytes <= len);
        free(bytes);
        capture_close(cap);
    }
}

/* A caller's stream that cannot seek back (fmemopen() here, an archive
 * member behind fopencookie() in a bundle): read once, front to back,
 * plain and gzip; the same packets as the file. */
static void test_open_sources_stream(void **state)
{
    struct tdir *t = *state;
    char path[PATH_CAP], gz[PATH_CAP];
    const struct wpkt w[3] = {{1, 1, 8443, 0}, {2, 500000, 8443, 100}, {3, 0, 6972, 10}};
    char *files[1] = {path};
    int64_t ts_file[8], ts_mem[8];
    const struct cap_input *in;
    size_t n_file, n_mem, nin, len;
    char err[512] = "";
    struct capture *cap;
    uint8_t *bytes;

    tpath(t, "src.pcap", path);
    tpath(t, "src.pcap.gz", gz);
    write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 7, w, 3);
    gzip_file(path, gz);
    cap = open_ok(files, 1, NULL);
    n_file = drain(cap, ts_file, 8);
    capture_close(cap);
    assert_int_equal(n_file, 3);

    for (int z = 0; z < 2; z++) {
        struct cap_source src = {.name = z ? "member.pcap.gz" : "member.pcap"};

        bytes = slurp(z ? gz : path, &len);
        src.fp = fmemopen(bytes, len, "rb");
        assert_non_null(src.fp);
        assert_int_equal(capture_open_sources(&cap, &src, 1, "tcp port 8443", err, sizeof err), TI_OK);
        in = capture_inputs(cap, &nin);
        assert_string_equal(in[0].file, src.name);
        assert_string_equal(in[0].format, z ? "pcap+gzip" : "pcap");
        n_mem = drain(cap, ts_mem, 8);
        assert_int_equal(n_mem, 2);                   /* the filter applies */
        assert_int_equal(ts_mem[0], ts_file[0]);
        assert_int_equal(ts_mem[1], ts_file[1]);
        in = capture_inputs(cap, &nin);
        assert_false(in[0].truncated);
        assert_int_equal(in[0].packets, 3);
        assert_int_equal(in[0].bytes, len);
        capture_close(cap);                           /* closes src.fp */
        free(bytes);
    }

    /* A gzip stream cut short: what came is read, then truncated. */
    {
        struct cap_source src = {.name = "cut.pcap.gz"};

        bytes = slurp(gz, &len);
        src.fp = fmemopen(bytes, len - 12, "rb");
        assert_int_equal(capture_open_sources(&cap, &src, 1, NULL, err, sizeof err), TI_OK);
        (void)drain(cap, ts_mem, 8);
        in = capture_inputs(cap, &nin);
        assert_true(in[0].truncated);
        assert_non_null(strstr(in[0].error, "compressed stream ends early"));
        capture_close(cap);
        free(bytes);
    }
    /* Not a capture: an error naming the stream. */
    {
        static char junk[] = "not a capture at all";
        struct cap_source src = {.name = "junk"};

        src.fp = fmemopen(junk, sizeof junk - 1, "rb");
        assert_int_equal(capture_open_sources(&cap, &src, 1, NULL, err, sizeof err), TI_EIO);
        assert_null(cap);
        assert_non_null(strstr(err, "junk: "));
    }
}

/* "-" twice cannot be read. */
static void test_stdin_once(void **state)
{
    char dash[] = "-";
    char *files[2] = {dash, dash};
    char err[512] = "";
    struct capture *cap;

    (void)state;
    assert_int_equal(capture_open(&cap, files, 2, NULL, err, sizeof err), TI_EUSAGE);
    assert_non_null(strstr(err, "standard input"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_two_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_cut_at_record_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_mid_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_error_second_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bpf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nanosecond, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcapng, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcapng_mixed_linktypes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linktype_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_sources_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sha256, setup, teardown),
        cmocka_unit_test(test_stdin_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
