/* capture.c - open pcap/pcapng(.gz) files with libpcap and merge them by timestamp. */
#include "tlsinspect/capture.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <pcap/pcap.h>
#include <zlib.h>

#include "tlsinspect/err.h"

/* File magic numbers, as the first 4 bytes read big-endian. */
#define CAP_MAGIC_PCAP_US_BE 0xa1b2c3d4u
#define CAP_MAGIC_PCAP_US_LE 0xd4c3b2a1u
#define CAP_MAGIC_PCAP_NS_BE 0xa1b23c4du
#define CAP_MAGIC_PCAP_NS_LE 0x4d3cb2a1u
#define CAP_MAGIC_PCAPNG     0x0a0d0d0au   /* Section Header Block type */
#define CAP_GZIP_ID1 0x1f                  /* RFC 1952 section 2.3.1 */
#define CAP_GZIP_ID2 0x8b

#define CAP_GZ_BUFFER (128u * 1024u)       /* zlib input buffer for .gz inputs */
#define CAP_READ_BUFFER (256u * 1024u)     /* stdio buffer: fewer read() calls than BUFSIZ */
/* The buffer read(2) fills is page aligned: the kernel copies from the page
 * cache with `rep movsb`, which on some CPUs runs several times slower into a
 * destination that is not 64-byte aligned -- and malloc() of 256 KiB returns
 * a fresh mapping + 16. */
#define CAP_BUF_ALIGN 4096u

/* One input file: the libpcap handle and its pending (not yet returned) packet. */
struct cap_src {
    pcap_t *pcap;
    FILE *fp;                  /* owned by pcap (pcap_close closes it) */
    gzFile gz;                 /* behind fp when inflated; closed with fp */
    char *iobuf;               /* fp's stdio buffer, freed after pcap_close */
    struct bpf_program prog;
    bool have_prog;
    bool pending;              /* hdr/data hold a packet not yet returned */
    bool done;                 /* EOF or damage: no more reads */
    struct pcap_pkthdr *hdr;   /* libpcap's, valid until the next read on pcap */
    const u_char *data;
    /* A stream source (capture_open_sources): says why its reads failed. */
    const char *(*why)(void *ctx);
    void *why_ctx;
};

struct capture {
    size_t n;
    struct cap_input *inputs;
    struct cap_src *srcs;
};

static void cap_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cap_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

/* ---- gzip behind a FILE * (fopencookie) -------------------------------------- */

static ssize_t cap_gz_read(void *cookie, char *buf, size_t size)
{
    int n;

    if (size > INT_MAX)
        size = INT_MAX;
    n = gzread((gzFile)cookie, buf, (unsigned)size);
    if (n < 0) {
        errno = EIO;   /* libpcap reports strerror(errno); gzerror() is added later */
        return -1;
    }
    return n;
}

static int cap_gz_close(void *cookie)
{
    /* Z_BUF_ERROR here only means the stream ended early, already reported. */
    return gzclose((gzFile)cookie) == Z_OK ? 0 : EOF;
}

static const cookie_io_functions_t cap_gz_io = {
    .read = cap_gz_read,
    .write = NULL,
    .seek = NULL,
    .close = cap_gz_close,
};

/* zlib's message without the "path: " prefix gzerror() puts in front. */
static const char *cap_gz_msg(gzFile gz, const char *file, int *zerr)
{
    const char *msg = gzerror(gz, zerr);
    size_t n = strlen(file);

    if (msg == NULL)
        return "";
    if (strncmp(msg, file, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    return msg;
}

static uint32_t cap_magic(const uint8_t m[4])
{
    return (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
}

static const char *cap_format_name(uint32_t magic)
{
    /* libpcap decides whether it can read the file; we only name it. */
    switch (magic) {
    case CAP_MAGIC_PCAPNG:
        return "pcapng";
    case CAP_MAGIC_PCAP_US_BE:
    case CAP_MAGIC_PCAP_US_LE:
    case CAP_MAGIC_PCAP_NS_BE:
    case CAP_MAGIC_PCAP_NS_LE:
        return "pcap";
    default:
        return "pcap";   /* another variant libpcap reads (e.g. a1b2cd34), or an error */
    }
}

/* Hand an open stream to libpcap (it owns fp from here on, also on
 * failure), note its link type, compile the filter. */
static int cap_attach(struct cap_src *src, struct cap_input *in, FILE *fp, const char *file,
                      const char *bpf, char *errbuf, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE];

    /* libpcap freads every packet twice (record header, then data); glibc
     * locks and unlocks the stream around each fread even in a single-threaded
     * program.  The capture is read by this thread only. */
    (void)__fsetlocking(fp, FSETLOCKING_BYCALLER);
    perr[0] = '\0';
    /* MICRO: libpcap scales nanosecond pcap and pcapng if_tsresol for us. */
    src->pcap = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
    if (src->pcap == NULL) {
        cap_err(errbuf, errlen, "%s: %s", file, perr[0] ? perr : "not a capture file");
        fclose(fp);   /* closes the gzFile too */
        src->gz = NULL;
        return TI_EIO;
    }
    src->fp = fp;
    in->linktype = pcap_datalink(src->pcap);
    {
        const char *name = pcap_datalink_val_to_name(in->linktype);
        if (name != NULL)
            snprintf(in->linktype_name, sizeof in->linktype_name, "%s", name);
        else
            snprintf(in->linktype_name, sizeof in->linktype_name, "DLT_%d", in->linktype);
    }
    in->snaplen = (uint32_t)pcap_snapshot(src->pcap);

    if (bpf != NULL) {
        /* Compiled per file: the code depends on the file's link type.
         * Applied with pcap_offline_filter() so `packets` counts records
         * before the filter. */
        if (pcap_compile(src->pcap, &src->prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            cap_err(errbuf, errlen, "bpf: %s", pcap_geterr(src->pcap));
            return TI_EUSAGE;
        }
        src->have_prog = true;
    }
    return TI_OK;
}

/* Open one file into src/in: fopen, sniff the magic, inflate if gzip, hand
 * the FILE * to libpcap, compile the filter. */
static int cap_open_one(struct cap_src *src, struct cap_input *in, const char *file,
                        const char *bpf, char *errbuf, size_t errlen)
{
    uint8_t m[4] = {0, 0, 0, 0};
    size_t got;
    struct stat st;
    FILE *fp;

    fp = fopen(file, "rb");
    if (fp == NULL) {
        cap_err(errbuf, errlen, "%s: %s", file, strerror(errno));
        return TI_EIO;
    }
    src->iobuf = aligned_alloc(CAP_BUF_ALIGN, CAP_READ_BUFFER);
    if (src->iobuf != NULL)   /* without it stdio's default buffer does */
        setvbuf(fp, src->iobuf, _IOFBF, CAP_READ_BUFFER);
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode))
        in->size = (uint64_t)st.st_size;
    got = fread(m, 1, sizeof m, fp);
    if (ferror(fp) || fseek(fp, 0, SEEK_SET) != 0) {
        cap_err(errbuf, errlen, "%s: %s", file, strerror(errno));
        fclose(fp);
        return TI_EIO;
    }

    if (got >= 2 && m[0] == CAP_GZIP_ID1 && m[1] == CAP_GZIP_ID2) {
        gzFile gz;

        fclose(fp);
        errno = 0;
        gz = gzopen(file, "rb");
        if (gz == NULL) {
            cap_err(errbuf, errlen, "%s: cannot open gzip stream: %s", file,
                    errno ? strerror(errno) : "out of memory");
            return TI_EIO;
        }
        gzbuffer(gz, CAP_GZ_BUFFER);
        memset(m, 0, sizeof m);
        if (gzread(gz, m, sizeof m) < 0 || gzrewind(gz) != 0) {
            int zerr;
            cap_err(errbuf, errlen, "%s: gzip: %s", file, cap_gz_msg(gz, file, &zerr));
            gzclose(gz);
            return TI_EIO;
        }
        fp = fopencookie(gz, "rb", cap_gz_io);
        if (fp == NULL) {
            cap_err(errbuf, errlen, "%s: %s", file, strerror(errno));
            gzclose(gz);
            return TI_EIO;
        }
        if (src->iobuf != NULL)
            setvbuf(fp, src->iobuf, _IOFBF, CAP_READ_BUFFER);
        src->gz = gz;
        snprintf(in->format, sizeof in->format, "%s+gzip", cap_format_name(cap_magic(m)));
    } else {
        snprintf(in->format, sizeof in->format, "%s", cap_format_name(cap_magic(m)));
    }

    return cap_attach(src, in, fp, file, bpf, errbuf, errlen);
}

/* A stream someone else opened (an archive member): no magic sniffing, the
 * source names its format. */
static int cap_open_stream(struct cap_src *src, struct cap_input *in,
                           const struct cap_source *cs, const char *bpf,
                           char *errbuf, size_t errlen)
{
    in->size = cs->size;
    snprintf(in->format, sizeof in->format, "%s", cs->format ? cs->format : "pcap");
    src->why = cs->why;
    src->why_ctx = cs->why_ctx;
    src->iobuf = aligned_alloc(CAP_BUF_ALIGN, CAP_READ_BUFFER);
    if (src->iobuf != NULL)
        setvbuf(cs->fp, src->iobuf, _IOFBF, CAP_READ_BUFFER);
    return cap_attach(src, in, cs->fp, cs->file, bpf, errbuf, errlen);
}

/* Bytes of the file consumed so far (compressed bytes for gzip). */
static void cap_update_bytes(struct cap_src *src, struct cap_input *in)
{
    long long off;

    if (src->gz != NULL)
        off = (long long)gzoffset(src->gz);
    else
        off = (long long)ftell(src->fp);
    if (off >= 0)
        in->bytes = (uint64_t)off;
}

static void cap_free_src(struct cap_src *src)
{
    if (src->have_prog)
        pcap_freecode(&src->prog);
    if (src->pcap != NULL)
        pcap_close(src->pcap);    /* fclose(fp) -> gzclose */
    free(src->iobuf);
    src->iobuf = NULL;
    src->have_prog = false;
    src->pcap = NULL;
    src->fp = NULL;
    src->gz = NULL;
}

void capture_close(struct capture *cap)
{
    if (cap == NULL)
        return;
    for (size_t i = 0; i < cap->n; i++) {
        cap_free_src(&cap->srcs[i]);
        free(cap->inputs[i].file);
        free(cap->inputs[i].error);
    }
    free(cap->srcs);
    free(cap->inputs);
    free(cap);
}

int capture_open(struct capture **out, char *const *files, size_t nfiles,
                 const char *bpf, char *errbuf, size_t errlen)
{
    struct cap_source *cs;
    int rc;

    *out = NULL;
    if (nfiles == 0) {
        cap_err(errbuf, errlen, "no capture file given");
        return TI_EUSAGE;
    }
    cs = calloc(nfiles, sizeof *cs);
    if (cs == NULL) {
        cap_err(errbuf, errlen, "out of memory");
        return TI_ENOMEM;
    }
    for (size_t i = 0; i < nfiles; i++)
        cs[i].file = files[i];
    rc = capture_open_sources(out, cs, nfiles, bpf, errbuf, errlen);
    free(cs);
    return rc;
}

int capture_open_sources(struct capture **out, const struct cap_source *sources, size_t nfiles,
                         const char *bpf, char *errbuf, size_t errlen)
{
    struct capture *cap;
    size_t i = 0;
    int rc;

    *out = NULL;
    if (nfiles == 0) {
        cap_err(errbuf, errlen, "no capture file given");
        return TI_EUSAGE;
    }
    cap = calloc(1, sizeof *cap);
    if (cap == NULL)
        goto nomem;
    cap->inputs = calloc(nfiles, sizeof *cap->inputs);
    cap->srcs = calloc(nfiles, sizeof *cap->srcs);
    if (cap->inputs == NULL || cap->srcs == NULL)
        goto nomem;
    cap->n = nfiles;
    for (i = 0; i < nfiles; i++) {
        const struct cap_source *cs = &sources[i];

        cap->inputs[i].file = strdup(cs->file);
        if (cap->inputs[i].file == NULL)
            goto nomem;
        if (cs->fp != NULL)
            rc = cap_open_stream(&cap->srcs[i], &cap->inputs[i], cs, bpf, errbuf, errlen);
        else
            rc = cap_open_one(&cap->srcs[i], &cap->inputs[i], cs->file, bpf, errbuf, errlen);
        if (rc != TI_OK) {
            i++;          /* the failed stream is closed */
            goto fail;
        }
    }
    *out = cap;
    return TI_OK;

nomem:
    cap_err(errbuf, errlen, "out of memory");
    rc = TI_ENOMEM;
fail:
    /* Streams not reached are still ours to close. */
    for (; i < nfiles; i++)
        if (sources[i].fp != NULL)
            fclose(sources[i].fp);
    capture_close(cap);
    return rc;
}

/* Stop reading one input after damage; keep libpcap's message. */
static void cap_mark_truncated(struct cap_src *src, struct cap_input *in, const char *msg)
{
    char buf[PCAP_ERRBUF_SIZE + 128];
    int zerr = Z_OK;
    const char *zmsg = src->gz != NULL ? cap_gz_msg(src->gz, in->file, &zerr) : NULL;

    const char *why = src->why != NULL ? src->why(src->why_ctx) : NULL;

    if (zmsg != NULL && zerr != Z_OK && zmsg[0] != '\0')
        snprintf(buf, sizeof buf, "%s (gzip: %s)", msg, zmsg);
    else if (why != NULL && why[0] != '\0')
        snprintf(buf, sizeof buf, "%s (%s)", msg, why);
    else
        snprintf(buf, sizeof buf, "%s", msg);
    in->truncated = true;
    free(in->error);
    in->error = strdup(buf);   /* NULL on ENOMEM: truncated still says it */
}

static void cap_ended(struct cap_src *src, struct cap_input *in, int rc);

/* Read the next record of one input that passes the filter into src's
 * pending slot.  Runs once per packet: the end of the input and its
 * messages are in cap_ended(), out of this path. */
static void cap_fill(struct cap_src *src, struct cap_input *in)
{
    while (!src->done) {
        int rc = pcap_next_ex(src->pcap, &src->hdr, &src->data);

        if (rc == 1) {
            in->packets++;
            /* ftell() is an lseek(2), a system call: once here, then only
             * when asked (capture_progress) and at the end (cap_ended). */
            if (in->packets == 1)
                cap_update_bytes(src, in);
            if (src->have_prog &&
                pcap_offline_filter(&src->prog, src->hdr, src->data) == 0)
                continue;
            src->pending = true;
            return;
        }
        cap_ended(src, in, rc);
    }
}

/* The input ended (rc from pcap_next_ex): clean EOF, or why not. */
__attribute__((noinline, cold))
static void cap_ended(struct cap_src *src, struct cap_input *in, int rc)
{
    src->done = true;
    cap_update_bytes(src, in);
    if (rc == PCAP_ERROR_BREAK) {
        /* Clean EOF for libpcap, but a gzip stream cut at a record
         * boundary still lacks its trailer. */
        int zerr = Z_OK;
        if (src->gz != NULL) {
            (void)gzerror(src->gz, &zerr);
            if (zerr != Z_OK)
                cap_mark_truncated(src, in, "compressed stream ends early");
        }
    } else if (strstr(pcap_geterr(src->pcap), "different from the type of the first interface")) {
        /* libpcap gives a pcapng file one link type, its first
         * interface's, and stops at an interface with another. */
        char why[PCAP_ERRBUF_SIZE + 256];
        snprintf(why, sizeof why, "pcapng interfaces with different link types (the first is %s): "
                 "libpcap reads no further; split the file per interface, e.g. "
                 "tshark -r FILE -Y 'frame.interface_id == N' -w PART (%s)",
                 in->linktype_name, pcap_geterr(src->pcap));
        cap_mark_truncated(src, in, why);
    } else {
        cap_mark_truncated(src, in, pcap_geterr(src->pcap));
    }
}

/* Microseconds since the epoch, saturated: a hostile pcapng can carry a
 * timestamp whose seconds overflow int64 once multiplied by 10^6. */
static int64_t cap_ts_us(const struct timeval *tv)
{
    const int64_t lim = INT64_MAX / 1000000 / 4;   /* differences stay in range too */
    int64_t sec = (int64_t)tv->tv_sec, usec = (int64_t)tv->tv_usec;

    if (sec > lim)
        sec = lim;
    else if (sec < -lim)
        sec = -lim;
    /* libpcap gives 0..999999: the division is for hostile files only (a
     * 64-bit divide on every packet showed in the profile) */
    if (usec < 0 || usec >= 1000000)
        usec %= 1000000;
    return sec * 1000000 + usec;
}

/* Hand input i's pending packet (timestamp ts) to the caller; 1. */
static inline int cap_take(struct capture *cap, size_t i, int64_t ts, struct cap_packet *pkt)
{
    struct cap_src *src = &cap->srcs[i];

    src->pending = false;   /* data stays valid until the next read on this handle */
    pkt->data = src->data;
    pkt->caplen = src->hdr->caplen;
    pkt->len = src->hdr->len;
    pkt->ts = ts;
    pkt->linktype = cap->inputs[i].linktype;
    pkt->input = (unsigned)i;
    return 1;
}

int capture_next(struct capture *cap, struct cap_packet *pkt)
{
    size_t best = cap->n;
    int64_t best_ts = 0;

    if (cap->n == 1) {              /* one file: no merge */
        struct cap_src *src = &cap->srcs[0];

        if (!src->pending)
            cap_fill(src, &cap->inputs[0]);
        if (!src->pending)
            return 0;
        return cap_take(cap, 0, cap_ts_us(&src->hdr->ts), pkt);
    }

    /* k-way merge; a linear scan is fine for the handful of rotated files,
     * and the strict < sends ties to the file named first. */
    for (size_t i = 0; i < cap->n; i++) {
        struct cap_src *src = &cap->srcs[i];
        int64_t ts;

        if (!src->pending)
            cap_fill(src, &cap->inputs[i]);
        if (!src->pending)
            continue;
        ts = cap_ts_us(&src->hdr->ts);
        if (best == cap->n || ts < best_ts) {
            best = i;
            best_ts = ts;
        }
    }
    if (best == cap->n)
        return 0;
    return cap_take(cap, best, best_ts, pkt);
}

const struct cap_input *capture_inputs(const struct capture *cap, size_t *n)
{
    *n = cap->n;
    return cap->inputs;
}

void capture_progress(struct capture *cap, uint64_t *done, uint64_t *total)
{
    uint64_t d = 0, t = 0;

    for (size_t i = 0; i < cap->n; i++) {
        if (!cap->srcs[i].done && cap->inputs[i].packets > 0)
            cap_update_bytes(&cap->srcs[i], &cap->inputs[i]);
        d += cap->inputs[i].bytes;
        t += cap->inputs[i].size;
    }
    *done = d;
    *total = t;
}
