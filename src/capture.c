/* capture.c - open pcap/pcapng(.gz) files, standard input or an interface with libpcap; merge by timestamp. */
#include "tlsinspect/capture.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <time.h>

#include <openssl/evp.h>
#include <pcap/pcap.h>
#include <zlib.h>

#include "tlsinspect/err.h"
#include "tlsinspect/filehash.h"

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

/* Live capture: a packet buffer timeout, so that a quiet interface still
 * returns to check the stop flag and the --duration deadline. */
#define CAP_LIVE_SNAPLEN 262144            /* tcpdump -s0 */
#define CAP_LIVE_TIMEOUT_MS 100
#define CAP_SNIFF 4                        /* bytes read to tell the format */

struct cap_stream;

/* One input file: the libpcap handle and its pending (not yet returned) packet. */
struct cap_src {
    pcap_t *pcap;
    FILE *fp;                  /* owned by pcap (pcap_close closes it) */
    struct cap_stream *stream; /* behind fp for an input read without seeking */
    bool live;                 /* an interface: timeouts, stop flag, deadline */
    int live_fd;               /* live: pcap_get_selectable_fd(), -1 none */
    int64_t deadline_ns;       /* live: CLOCK_MONOTONIC end, 0 none */
    char *iobuf;               /* fp's stdio buffer, freed after pcap_close */
    struct bpf_program prog;
    bool have_prog;
    bool pending;              /* hdr/data hold a packet not yet returned */
    bool done;                 /* EOF or damage: no more reads */
    struct pcap_pkthdr *hdr;   /* libpcap's, valid until the next read on pcap */
    const u_char *data;
    /* A stream source that says why its reads failed (an archive member)
     * and hashes what it gave. */
    const char *(*why)(void *ctx);
    void *why_ctx;
    bool (*sha256)(void *ctx, uint8_t out[32]);
    void *sha256_ctx;
};

struct capture {
    size_t n;
    struct cap_input *inputs;
    struct cap_src *srcs;
    const volatile sig_atomic_t *stop;   /* capture_set_stop(), may be NULL */
};

/* ---- inputs read without seeking (standard input, pipes, a caller's FILE *) --
 *
 * The format is told by its first bytes; a stream that cannot seek back
 * serves those bytes again from `pre` before reading on.  A gzip stream is
 * inflated here with zlib's inflate() (gzopen() wants a path or a file
 * descriptor it can read from the start): members one after the other as
 * gzread() does, anything after the last member ignored. */
struct cap_stream {
    FILE *in;                  /* owned: closed with the stream */
    int fd;                    /* >= 0: read(2) it directly (in was never read through stdio) */
    const volatile sig_atomic_t *stop;  /* capture_set_stop()'s flag, may be NULL */
    uint8_t pre[CAP_SNIFF];    /* sniffed bytes (inflated ones for gzip), served first */
    size_t npre, pre_off;
    bool gz;
    bool z_ready, z_end;
    bool interrupted;          /* a signal cut a read: the input ends there */
    z_stream z;
    uint8_t *zbuf;             /* CAP_GZ_BUFFER compressed bytes */
    uint64_t consumed;         /* bytes taken from `in` */
    char why[128];             /* inflate's complaint, "" when none */
    EVP_MD_CTX *md;            /* SHA-256 of the raw bytes taken from `in`; NULL: none */
    bool regular;              /* `in` is a regular file: read to its end for the hash */
    struct filehash *fh;       /* a regular file's hash, on its own thread (md is NULL then) */
    bool eof;                  /* `in` returned its end */
};

/* One read(2) -- what the pipe has, up to size -- or, for the magic
 * number (interrupted == NULL), until size bytes or the end.  -1 with errno. */
static ssize_t cap_read_fd(int fd, uint8_t *buf, size_t size, bool *interrupted)
{
    size_t got = 0;

    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);

        if (r < 0 && errno == EINTR) {
            if (interrupted != NULL) {
                *interrupted = true;
                return (ssize_t)got;
            }
            continue;
        }
        if (r < 0)
            return got > 0 ? (ssize_t)got : -1;
        if (r == 0)
            break;
        got += (size_t)r;
        if (interrupted != NULL)
            break;
    }
    return (ssize_t)got;
}

/* The hash cannot be had (OpenSSL failed): the input simply has none. */
static void cap_stream_unhash(struct cap_stream *st)
{
    EVP_MD_CTX_free(st->md);
    st->md = NULL;
}

/* Bytes from the underlying stream; 0 at its end or once stopped.  Every
 * byte taken goes through the SHA-256 here, once: the input's hash costs
 * no second read. */
static ssize_t cap_stream_in(struct cap_stream *st, uint8_t *buf, size_t size)
{
    size_t n;

    if (!st->interrupted && st->stop != NULL && *st->stop)
        st->interrupted = true;   /* the signal came between reads */
    if (st->interrupted)
        return 0;
    if (st->fd >= 0) {
        ssize_t r = cap_read_fd(st->fd, buf, size, &st->interrupted);
        if (r > 0) {
            st->consumed += (uint64_t)r;
            if (st->md != NULL && EVP_DigestUpdate(st->md, buf, (size_t)r) != 1)
                cap_stream_unhash(st);
        } else if (r == 0 && !st->interrupted) {
            st->eof = true;
        }
        return r;
    }
    errno = 0;
    n = fread(buf, 1, size, st->in);
    st->consumed += n;
    if (n > 0 && st->md != NULL && EVP_DigestUpdate(st->md, buf, n) != 1)
        cap_stream_unhash(st);
    if (n == 0 && feof(st->in))
        st->eof = true;
    if (ferror(st->in)) {
        if (errno == EINTR) {   /* Ctrl-C while waiting on a pipe: report what came */
            st->interrupted = true;
            clearerr(st->in);
            return (ssize_t)n;
        }
        if (n == 0) {
            if (errno == 0)
                errno = EIO;
            return -1;
        }
    }
    return (ssize_t)n;
}

static ssize_t cap_stream_inflate(struct cap_stream *st, uint8_t *buf, size_t size)
{
    st->z.next_out = buf;
    st->z.avail_out = size > UINT_MAX ? UINT_MAX : (unsigned)size;
    while (st->z.avail_out > 0 && !st->z_end) {
        int r;

        if (st->z.avail_in == 0) {
            ssize_t n;

            /* What is inflated goes out before waiting on a slow pipe. */
            if ((uint8_t *)st->z.next_out != buf)
                break;
            n = cap_stream_in(st, st->zbuf, CAP_GZ_BUFFER);
            if (n < 0) {
                if ((uint8_t *)st->z.next_out != buf)
                    break;    /* the error comes back with the next read */
                return -1;
            }
            if (n == 0) {
                if (!st->interrupted)
                    snprintf(st->why, sizeof st->why, "compressed stream ends early");
                st->z_end = true;
                break;
            }
            st->z.next_in = st->zbuf;
            st->z.avail_in = (unsigned)n;
        }
        r = inflate(&st->z, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            /* Another member may follow (cat a.gz b.gz); else the end. */
            if (st->z.avail_in == 0) {
                ssize_t n = cap_stream_in(st, st->zbuf, CAP_GZ_BUFFER);
                if (n <= 0) {
                    st->z_end = true;
                    break;
                }
                st->z.next_in = st->zbuf;
                st->z.avail_in = (unsigned)n;
            }
            if (st->z.next_in[0] != CAP_GZIP_ID1 || inflateReset(&st->z) != Z_OK)
                st->z_end = true;
        } else if (r != Z_OK && !(r == Z_BUF_ERROR && st->z.avail_in == 0)) {
            snprintf(st->why, sizeof st->why, "%s", st->z.msg ? st->z.msg : zError(r));
            st->z_end = true;
            if ((uint8_t *)st->z.next_out == buf) {
                errno = EIO;
                return -1;
            }
        }
    }
    return (ssize_t)((uint8_t *)st->z.next_out - buf);
}

static ssize_t cap_stream_read(void *cookie, char *buf, size_t size)
{
    struct cap_stream *st = cookie;

    if (st->pre_off < st->npre) {
        size_t n = st->npre - st->pre_off;
        if (n > size)
            n = size;
        memcpy(buf, st->pre + st->pre_off, n);
        st->pre_off += n;
        return (ssize_t)n;
    }
    if (st->gz)
        return cap_stream_inflate(st, (uint8_t *)buf, size);
    return cap_stream_in(st, (uint8_t *)buf, size);
}

static int cap_stream_close(void *cookie)
{
    struct cap_stream *st = cookie;
    int rc = 0;

    if (st->z_ready)
        inflateEnd(&st->z);
    filehash_cancel(st->fh);
    EVP_MD_CTX_free(st->md);
    if (st->in != NULL && fclose(st->in) != 0)
        rc = EOF;
    free(st->zbuf);
    free(st);
    return rc;
}

static const cookie_io_functions_t cap_stream_io = {
    .read = cap_stream_read,
    .write = NULL,
    .seek = NULL,
    .close = cap_stream_close,
};

/* Wrap `in` (owned from here on, closed on failure too; read with read(2)
 * when use_fd): replay `pre`
 * (n bytes already read from it), then read on; inflate when gz.  For
 * gzip, the first inflated bytes are read into `m` to name the format. */
static FILE *cap_stream_open(FILE *in, bool use_fd, const uint8_t *pre, size_t n, bool gz,
                             uint8_t m[CAP_SNIFF], struct cap_stream **out)
{
    struct cap_stream *st = calloc(1, sizeof *st);
    FILE *fp;

    if (st == NULL) {
        fclose(in);
        errno = ENOMEM;
        return NULL;
    }
    st->in = in;
    st->fd = use_fd ? fileno(in) : -1;
    st->consumed = n;
    st->md = EVP_MD_CTX_new();
    if (st->md != NULL && (EVP_DigestInit_ex(st->md, EVP_sha256(), NULL) != 1 ||
                           EVP_DigestUpdate(st->md, pre, n) != 1))
        cap_stream_unhash(st);
    if (gz) {
        /* The sniffed bytes start the compressed input. */
        st->zbuf = malloc(CAP_GZ_BUFFER);
        if (st->zbuf == NULL || inflateInit2(&st->z, 16 + MAX_WBITS) != Z_OK) {
            cap_stream_close(st);
            errno = ENOMEM;
            return NULL;
        }
        st->z_ready = true;
        st->gz = true;
        memcpy(st->zbuf, pre, n);
        st->z.next_in = st->zbuf;
        st->z.avail_in = (unsigned)n;
        memset(m, 0, CAP_SNIFF);
        for (size_t got = 0; got < CAP_SNIFF && !st->z_end;) {
            ssize_t r = cap_stream_inflate(st, st->pre + got, CAP_SNIFF - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            st->npre = got;
        }
        memcpy(m, st->pre, st->npre);
    } else {
        memcpy(st->pre, pre, n);
        st->npre = n;
    }
    fp = fopencookie(st, "rb", cap_stream_io);
    if (fp == NULL)
        cap_stream_close(st);
    else
        *out = st;
    return fp;
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

static int cap_open_common(struct cap_src *src, struct cap_input *in, const char *bpf,
                           bool live, char *errbuf, size_t errlen);
static int cap_attach(struct cap_src *src, struct cap_input *in, FILE *fp, const char *label,
                      const char *bpf, char *errbuf, size_t errlen);
static int cap_open_labelled(struct cap_src *src, struct cap_input *in,
                             const struct cap_source *s, const char *bpf,
                             char *errbuf, size_t errlen);

/* Open one input into src/in: fopen (unless the caller gave a stream),
 * sniff the magic, inflate if gzip, hand the FILE * to libpcap, compile
 * the filter.  `label` names the input in messages. */
static int cap_open_one(struct cap_src *src, struct cap_input *in, const struct cap_source *s,
                        const char *bpf, char *errbuf, size_t errlen)
{
    uint8_t m[CAP_SNIFF] = {0, 0, 0, 0};
    const char *file = s->name;
    const char *label = s->fp == stdin ? "standard input" : file;
    size_t got;
    struct stat st;
    bool regular = false, fresh, fd_stream = false, bad, gz;
    long start = 0;
    FILE *fp = s->fp;

    if (fp != NULL && s->format != NULL)
        return cap_open_labelled(src, in, s, bpf, errbuf, errlen);
    if (fp == NULL) {
        fp = fopen(file, "rb");
        if (fp == NULL) {
            ti_errf(errbuf, errlen, "%s: %s", file, strerror(errno));
            return TI_EIO;
        }
    }
    /* stdin and files we opened have not been read yet: we choose their
     * buffering, and a pipe among them is read with read(2) below stdio. */
    fresh = s->fp == NULL || s->fp == stdin;
    if (fileno(fp) >= 0 && fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) {
        regular = true;
        in->size = (uint64_t)st.st_size;
        start = ftell(fp);
        if (start < 0)
            regular = false;
    }
    if (s->size != 0)
        in->size = s->size;
    if (fresh)
        src->iobuf = aligned_alloc(CAP_BUF_ALIGN, CAP_READ_BUFFER);
    if (!fresh && regular && src->iobuf != NULL)
        setvbuf(fp, src->iobuf, _IOFBF, CAP_READ_BUFFER);
    errno = 0;
    if (fresh && fileno(fp) >= 0) {
        /* Read with read(2) below stdio, through the stream that hashes
         * what it reads: a file once, front to back.  A pipe: fread()
         * would wait for a whole buffer, and a slow `tcpdump -w -` should
         * be analysed packet by packet. */
        ssize_t r = cap_read_fd(fileno(fp), m, sizeof m, NULL);
        got = r > 0 ? (size_t)r : 0;
        fd_stream = true;
        bad = r < 0;
    } else {
        got = fread(m, 1, sizeof m, fp);
        bad = ferror(fp) || (regular && fseek(fp, start, SEEK_SET) != 0);
    }
    if (bad) {
        ti_errf(errbuf, errlen, "%s: %s", label, strerror(errno ? errno : EIO));
        if (fp != stdin)
            fclose(fp);
        return TI_EIO;
    }
    gz = got >= 2 && m[0] == CAP_GZIP_ID1 && m[1] == CAP_GZIP_ID2;

    if (gz || !regular || fd_stream) {
        /* Read once, front to back: the sniffed bytes are replayed (or
         * start the compressed input) instead of seeking back. */
        uint8_t first[CAP_SNIFF];

        memcpy(first, m, sizeof first);
        fp = cap_stream_open(fp, fd_stream, first, got, gz, m, &src->stream);
        if (fp == NULL) {
            ti_errf(errbuf, errlen, "%s: %s", label, strerror(errno));
            return TI_EIO;
        }
        if (src->iobuf != NULL)
            setvbuf(fp, src->iobuf, _IOFBF, CAP_READ_BUFFER);
        src->stream->regular = regular;
        if (s->no_hash)
            cap_stream_unhash(src->stream);
        else if (regular && src->stream->md != NULL &&
            (src->stream->fh = filehash_start(fileno(src->stream->in), start)) != NULL)
            cap_stream_unhash(src->stream);     /* the thread hashes the file */
        if (gz && src->stream->npre == 0 && src->stream->why[0] != '\0') {
            ti_errf(errbuf, errlen, "%s: gzip: %s", label, src->stream->why);
            fclose(fp);
            src->stream = NULL;
            return TI_EIO;
        }
        snprintf(in->format, sizeof in->format, gz ? "%s+gzip" : "%s",
                 cap_format_name(cap_magic(m)));
    } else {
        snprintf(in->format, sizeof in->format, "%s", cap_format_name(cap_magic(m)));
    }

    return cap_attach(src, in, fp, label, bpf, errbuf, errlen);
}

/* Hand an open stream to libpcap (it owns fp from here on, also on
 * failure), then what every input does. */
static int cap_attach(struct cap_src *src, struct cap_input *in, FILE *fp, const char *label,
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
        ti_errf(errbuf, errlen, "%s: %s", label, perr[0] ? perr : "not a capture file");
        fclose(fp);   /* closes the stream too */
        src->stream = NULL;
        return TI_EIO;
    }
    src->fp = fp;
    return cap_open_common(src, in, bpf, false, errbuf, errlen);
}

/* A stream whose opener already knows its format (an archive member,
 * inflated by the archive reader): no sniffing, its label and its
 * damage message are the source's. */
static int cap_open_labelled(struct cap_src *src, struct cap_input *in,
                             const struct cap_source *s, const char *bpf,
                             char *errbuf, size_t errlen)
{
    in->size = s->size;
    snprintf(in->format, sizeof in->format, "%s", s->format);
    src->why = s->why;
    src->why_ctx = s->why_ctx;
    src->sha256 = s->no_hash ? NULL : s->sha256;
    src->sha256_ctx = s->sha256_ctx;
    if (s->archive_sha256 != NULL) {
        memcpy(in->archive_sha256, s->archive_sha256, sizeof in->archive_sha256);
        in->archive_hashed = true;
    }
    src->iobuf = aligned_alloc(CAP_BUF_ALIGN, CAP_READ_BUFFER);
    if (src->iobuf != NULL)
        setvbuf(s->fp, src->iobuf, _IOFBF, CAP_READ_BUFFER);
    return cap_attach(src, in, s->fp, s->name, bpf, errbuf, errlen);
}

/* What every input does once libpcap has it: link type, snaplen, filter. */
static int cap_open_common(struct cap_src *src, struct cap_input *in, const char *bpf,
                           bool live, char *errbuf, size_t errlen)
{
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
         * before the filter; on an interface, in the kernel, so that what
         * it drops is never copied. */
        if (pcap_compile(src->pcap, &src->prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            ti_errf(errbuf, errlen, "bpf: %s", pcap_geterr(src->pcap));
            return TI_EUSAGE;
        }
        src->have_prog = true;
        if (live) {
            if (pcap_setfilter(src->pcap, &src->prog) != 0) {
                ti_errf(errbuf, errlen, "bpf: %s", pcap_geterr(src->pcap));
                return TI_EUSAGE;
            }
            pcap_freecode(&src->prog);
            src->have_prog = false;
        }
    }
    return TI_OK;
}

/* Bytes of the file consumed so far (compressed bytes for gzip). */
static void cap_update_bytes(struct cap_src *src, struct cap_input *in)
{
    long long off;

    if (src->live)
        return;
    if (src->stream != NULL && src->stream->gz) {
        off = (long long)src->stream->consumed;
    } else if (src->stream != NULL) {
        /* What libpcap has parsed: taken from the file, less what still
         * waits in the stdio buffer (glibc's read pointers) or the replay. */
        const struct cap_stream *st = src->stream;
        uint64_t ahead = (uint64_t)(src->fp->_IO_read_end - src->fp->_IO_read_ptr) +
                         (st->npre - st->pre_off);
        off = (long long)(st->consumed - (ahead < st->consumed ? ahead : st->consumed));
    } else {
        off = (long long)ftell(src->fp);
    }
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
    src->stream = NULL;
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

static struct capture *cap_new(size_t n)
{
    struct capture *cap = calloc(1, sizeof *cap);

    if (cap == NULL)
        return NULL;
    cap->inputs = calloc(n, sizeof *cap->inputs);
    cap->srcs = calloc(n, sizeof *cap->srcs);
    if (cap->inputs == NULL || cap->srcs == NULL) {
        capture_close(cap);
        return NULL;
    }
    return cap;
}

int capture_open_sources(struct capture **out, const struct cap_source *srcs, size_t n,
                         const char *bpf, char *errbuf, size_t errlen)
{
    struct capture *cap;
    size_t i = 0;
    int rc;

    *out = NULL;
    if (n == 0) {
        ti_errf(errbuf, errlen, "no capture file given");
        return TI_EUSAGE;
    }
    cap = cap_new(n);
    if (cap == NULL)
        goto nomem;
    for (i = 0; i < n; i++) {
        cap->inputs[i].file = strdup(srcs[i].name);
        if (cap->inputs[i].file == NULL)
            goto nomem;
        cap->n = i + 1;
        rc = cap_open_one(&cap->srcs[i], &cap->inputs[i], &srcs[i], bpf, errbuf, errlen);
        if (rc != TI_OK) {
            i++;
            goto fail;
        }
    }
    *out = cap;
    return TI_OK;

nomem:
    ti_errf(errbuf, errlen, "out of memory");
    rc = TI_ENOMEM;
fail:
    /* The streams not handed to an input yet are still the capture's to close. */
    for (; i < n; i++)
        if (srcs[i].fp != NULL && srcs[i].fp != stdin)
            fclose(srcs[i].fp);
    capture_close(cap);
    return rc;
}

int capture_open(struct capture **out, char *const *files, size_t nfiles,
                 const char *bpf, char *errbuf, size_t errlen)
{
    struct cap_source *srcs;
    bool have_stdin = false;
    int rc;

    *out = NULL;
    if (nfiles == 0) {
        ti_errf(errbuf, errlen, "no capture file given");
        return TI_EUSAGE;
    }
    srcs = calloc(nfiles, sizeof *srcs);
    if (srcs == NULL) {
        ti_errf(errbuf, errlen, "out of memory");
        return TI_ENOMEM;
    }
    for (size_t i = 0; i < nfiles; i++) {
        srcs[i].name = files[i];
        if (strcmp(files[i], "-") == 0) {
            if (have_stdin) {
                free(srcs);
                ti_errf(errbuf, errlen, "standard input (-) given more than once");
                return TI_EUSAGE;
            }
            have_stdin = true;
            srcs[i].fp = stdin;
        }
    }
    rc = capture_open_sources(out, srcs, nfiles, bpf, errbuf, errlen);
    free(srcs);
    return rc;
}

static int64_t cap_mono_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int capture_open_live(struct capture **out, const char *iface, const char *bpf,
                      double duration, char *errbuf, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct capture *cap;
    struct cap_src *src;
    struct cap_input *in;
    pcap_t *p;
    int rc;

    *out = NULL;
    cap = cap_new(1);
    if (cap == NULL || (cap->inputs[0].file = strdup(iface)) == NULL) {
        capture_close(cap);
        ti_errf(errbuf, errlen, "out of memory");
        return TI_ENOMEM;
    }
    cap->n = 1;
    src = &cap->srcs[0];
    in = &cap->inputs[0];
    src->live = true;
    snprintf(in->format, sizeof in->format, "live");
    p = pcap_create(iface, perr);
    if (p == NULL) {
        ti_errf(errbuf, errlen, "%s: %s", iface, perr);
        capture_close(cap);
        return TI_EIO;
    }
    src->pcap = p;
    /* Immediate mode: packets are handed over as they come, and the
     * timeout bounds how long a quiet interface keeps us from looking at
     * the stop flag and the deadline. */
    if (pcap_set_snaplen(p, CAP_LIVE_SNAPLEN) != 0 || pcap_set_immediate_mode(p, 1) != 0 ||
        pcap_set_timeout(p, CAP_LIVE_TIMEOUT_MS) != 0 || pcap_set_promisc(p, 1) != 0 ||
        pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO) != 0) {
        ti_errf(errbuf, errlen, "%s: %s", iface, pcap_geterr(p));
        capture_close(cap);
        return TI_EIO;
    }
    rc = pcap_activate(p);
    if (rc < 0) {
        const char *msg = pcap_geterr(p);
        const char *hint = "";

        if (msg == NULL || msg[0] == '\0')
            msg = pcap_statustostr(rc);
        if (rc == PCAP_ERROR_PERM_DENIED)
            hint = " (live capture needs root, or the CAP_NET_RAW and CAP_NET_ADMIN "
                   "capabilities: sudo setcap cap_net_raw,cap_net_admin=eip tlsinspect; "
                   "or capture with tcpdump and read the file)";
        else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
            hint = " (no such interface: see ip link)";
        ti_errf(errbuf, errlen, "%s: cannot capture: %s%s", iface, msg, hint);
        capture_close(cap);
        return TI_EIO;
    }
    /* rc > 0 is a warning (e.g. promiscuous mode not supported): capture anyway. */
    src->live_fd = pcap_get_selectable_fd(p);
    if (pcap_setnonblock(p, 1, perr) != 0) {
        ti_errf(errbuf, errlen, "%s: %s", iface, perr);
        capture_close(cap);
        return TI_EIO;
    }
    src->fp = NULL;
    rc = cap_open_common(src, in, bpf, true, errbuf, errlen);
    if (rc != TI_OK) {
        capture_close(cap);
        return rc;
    }
    if (duration > 0)
        src->deadline_ns = cap_mono_ns() + (int64_t)(duration * 1e9);
    *out = cap;
    return TI_OK;
}

void capture_set_stop(struct capture *cap, const volatile sig_atomic_t *stop)
{
    cap->stop = stop;
    for (size_t i = 0; i < cap->n; i++)
        if (cap->srcs[i].stream != NULL && !cap->srcs[i].stream->regular)
            cap->srcs[i].stream->stop = stop;   /* a file is read to its end */
}

void capture_skip_hash(struct capture *cap)
{
    for (size_t i = 0; i < cap->n; i++) {
        if (cap->srcs[i].stream != NULL) {
            cap_stream_unhash(cap->srcs[i].stream);
            filehash_cancel(cap->srcs[i].stream->fh);
            cap->srcs[i].stream->fh = NULL;
        }
        cap->srcs[i].sha256 = NULL;
    }
}

/* Stop reading one input after damage; keep libpcap's message. */
static void cap_mark_truncated(struct cap_src *src, struct cap_input *in, const char *msg)
{
    char buf[PCAP_ERRBUF_SIZE + 128];
    const char *zmsg = NULL;
    const char *why;

    if (src->stream != NULL && src->stream->why[0] != '\0' &&
        strcmp(msg, src->stream->why) != 0)
        zmsg = src->stream->why;
    why = src->why != NULL ? src->why(src->why_ctx) : NULL;
    if (zmsg != NULL)
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

/* An interface, in non-blocking mode: when nothing is waiting we poll(2)
 * its descriptor ourselves, at most CAP_LIVE_TIMEOUT_MS at a time, so a
 * quiet interface, a signal (poll returns EINTR) and the deadline are all
 * noticed promptly; libpcap's own wait may block past its timeout. */
__attribute__((noinline))
static void cap_fill_live(struct capture *cap, struct cap_src *src, struct cap_input *in)
{
    while (!src->done) {
        int64_t now = cap_mono_ns();
        int rc, wait_ms = CAP_LIVE_TIMEOUT_MS;

        if ((cap->stop != NULL && *cap->stop) ||
            (src->deadline_ns != 0 && now >= src->deadline_ns)) {
            cap_ended(src, in, PCAP_ERROR_BREAK);
            return;
        }
        rc = pcap_next_ex(src->pcap, &src->hdr, &src->data);
        if (rc == 1) {
            in->packets++;
            src->pending = true;
            return;
        }
        if (rc != 0) {
            cap_ended(src, in, rc);
            return;
        }
        if (src->deadline_ns != 0 && (src->deadline_ns - now) / 1000000 < wait_ms)
            wait_ms = (int)((src->deadline_ns - now) / 1000000) + 1;
        if (src->live_fd >= 0) {
            struct pollfd pfd = {.fd = src->live_fd, .events = POLLIN};
            (void)poll(&pfd, 1, wait_ms);   /* EINTR: the loop looks at the flag */
        }
    }
}

/* Read the next record of one input that passes the filter into src's
 * pending slot.  Runs once per packet: the end of the input and its
 * messages are in cap_ended(), out of this path. */
static void cap_fill(struct capture *cap, struct cap_src *src, struct cap_input *in)
{
    if (src->live) {
        cap_fill_live(cap, src, in);
        return;
    }
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

/* The input's SHA-256, once libpcap has read what it will.  A regular file
 * is read on to its end (damage, bytes after the last gzip member), so the
 * hash is sha256sum's; those bytes are not counted in `bytes`.  A pipe is
 * not waited on: it has a hash only when it was read to its end. */
static void cap_finish_hash(struct cap_src *src, struct cap_input *in)
{
    struct cap_stream *st = src->stream;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (src->sha256 != NULL) {
        in->hashed = src->sha256(src->sha256_ctx, in->sha256);
        return;
    }
    if (st != NULL && st->fh != NULL) {
        in->hashed = filehash_finish(st->fh, in->sha256);
        st->fh = NULL;
        return;
    }
    if (st == NULL || st->md == NULL || st->interrupted)
        return;
    if (st->regular && !st->eof) {
        uint8_t *buf = malloc(CAP_GZ_BUFFER);
        uint64_t consumed = st->consumed;
        ssize_t r = 1;

        while (buf != NULL && st->md != NULL && r > 0)
            r = cap_stream_in(st, buf, CAP_GZ_BUFFER);
        st->consumed = consumed;
        free(buf);
    }
    if (st->md != NULL && st->eof && EVP_DigestFinal_ex(st->md, md, &mdlen) == 1 &&
        mdlen == sizeof in->sha256) {
        memcpy(in->sha256, md, sizeof in->sha256);
        in->hashed = true;
    }
    cap_stream_unhash(st);
}

/* The input ended (rc from pcap_next_ex): clean EOF, or why not. */
__attribute__((noinline, cold))
static void cap_ended(struct cap_src *src, struct cap_input *in, int rc)
{
    src->done = true;
    cap_update_bytes(src, in);
    if (!src->live)
        cap_finish_hash(src, in);
    if (src->live) {
        struct pcap_stat ps;
        if (pcap_stats(src->pcap, &ps) == 0)
            in->dropped = (uint64_t)ps.ps_drop + ps.ps_ifdrop;
    }
    if (src->stream != NULL && src->stream->interrupted) {
        /* Stopped by a signal (Ctrl-C) while waiting for input: a record
         * cut there is the user's choice, not damage. */
        return;
    }
    if (rc == PCAP_ERROR_BREAK) {
        /* Clean EOF for libpcap, but a gzip stream cut at a record
         * boundary still lacks its trailer. */
        if (src->stream != NULL && src->stream->why[0] != '\0')
            cap_mark_truncated(src, in, src->stream->why);
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
            cap_fill(cap, src, &cap->inputs[0]);
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
            cap_fill(cap, src, &cap->inputs[i]);
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
