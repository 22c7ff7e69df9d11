/* bundle.c - find captures and logs in diagnostic bundles (archives, directories) by content; stream them. */
#include "tlsinspect/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "tlsinspect/err.h"

#define BDL_BLOCK     (64u * 1024u)    /* libarchive read block for files */
#define BDL_SNIFF     4096u            /* bytes looked at to tell a log from other text */

/* The first bytes of a capture, as the 4-byte big-endian magic number. */
static bool bdl_is_capture(const uint8_t *p, size_t n)
{
    uint32_t m;

    if (n < 4)
        return false;
    m = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return m == 0xa1b2c3d4u || m == 0xd4c3b2a1u ||     /* pcap, microseconds */
           m == 0xa1b23c4du || m == 0x4d3cb2a1u ||     /* pcap, nanoseconds */
           m == 0x0a0d0d0au;                           /* pcapng Section Header Block */
}

static bool bdl_is_gzip(const uint8_t *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;     /* RFC 1952 2.3.1 */
}

/* POSIX ustar / GNU tar: "ustar" at offset 257 of the first block. */
static bool bdl_is_tar(const uint8_t *p, size_t n)
{
    return n >= 262 && memcmp(p + 257, "ustar", 5) == 0;
}

enum bdl_kind { BDL_ARCHIVE, BDL_RAWFILE };

/* One archive handle, positioned at member `member` (-1: before the first
 * header), `off` bytes into its data. */
struct bdl_handle {
    struct archive *ar;
    long member;
    uint64_t off;
    bool busy;                 /* held by a reader */
    bool broken;               /* an error: not reusable */
    struct bdl_handle *next;
};

struct bdl_container {          /* one archive (or a compressed file in a directory) */
    enum bdl_kind kind;
    char *path;
    struct bdl_handle *handles;
    char *node;                 /* from its logs, or NULL */
    uint32_t log_file_first, log_file_end;   /* its files in the tslog */
    bool hashed;                /* an archive read to its end by the scan */
    uint8_t sha256[32];         /* of the archive file's bytes */
};

/* One capture of the inputs, in the order capture.c gets them. */
struct bdl_capture {
    char *name;                 /* shown as the input's file */
    char *path;                 /* plain file: capture.c opens it; else NULL */
    struct bdl_container *ct;   /* member of this, or NULL */
    long member;
    bool gz;                    /* gzip-compressed member: inflated by a second reader */
    uint64_t size;
    char format[16];
    uint8_t *prefix;            /* first bytes (inflated for gz), from the scan */
    size_t prefix_len;
    char why[160];              /* the archive is damaged right after the prefix */
};

struct bundle {
    struct bdl_container **cts;
    size_t ncts;
    struct bdl_capture *caps;
    size_t ncaps, caps_cap;
    char *damage[BUNDLE_MAX_WARNINGS];
    size_t ndamage;
    char *warnings[BUNDLE_MAX_WARNINGS];
    size_t nwarnings;
    struct tslog *logs;
    bool sources_given;
    bool have_stdin;            /* "-" was given: at most once */
};

static void bdl_note(char **list, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bdl_note(char **list, size_t *n, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];

    if (*n >= BUNDLE_MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    list[*n] = strdup(buf);
    if (list[*n] != NULL)
        (*n)++;
}

/* ---- libarchive readers --------------------------------------------------------- */

/* Compression filters libarchive decodes in-process.  Not filter_all: that
 * one runs external programs (lrzip, lzop, ...) for formats it lacks. */
static void bdl_filters(struct archive *ar)
{
    (void)archive_read_support_filter_gzip(ar);
    (void)archive_read_support_filter_bzip2(ar);
    (void)archive_read_support_filter_xz(ar);
    (void)archive_read_support_filter_zstd(ar);
}

static struct archive *bdl_open_archive(const char *path, enum bdl_kind kind)
{
    struct archive *ar = archive_read_new();

    if (ar == NULL)
        return NULL;
    bdl_filters(ar);
    if (kind == BDL_ARCHIVE)
        archive_read_support_format_tar(ar);
    else
        archive_read_support_format_raw(ar);
    if (archive_read_open_filename(ar, path, BDL_BLOCK) != ARCHIVE_OK) {
        archive_read_free(ar);
        return NULL;
    }
    return ar;
}

/* ---- the archive's SHA-256, taken by the scan that reads it anyway ------------ */

struct bdl_hashed {
    FILE *f;
    EVP_MD_CTX *md;             /* NULL: no hash (OpenSSL failed) */
    uint8_t buf[BDL_BLOCK];
};

/* libarchive's read callback: the file's next block, hashed on the way.
 * No skip callback: libarchive reads past what it skips, so every byte is
 * hashed (a compressed archive is read whole by its decompressor anyway). */
static la_ssize_t bdl_hashed_read(struct archive *a, void *ctx, const void **out)
{
    struct bdl_hashed *h = ctx;
    size_t n = fread(h->buf, 1, sizeof h->buf, h->f);

    if (n == 0 && ferror(h->f)) {
        archive_set_error(a, EIO, "read error");
        return -1;
    }
    if (n > 0 && h->md != NULL && EVP_DigestUpdate(h->md, h->buf, n) != 1) {
        EVP_MD_CTX_free(h->md);
        h->md = NULL;
    }
    *out = h->buf;
    return (la_ssize_t)n;
}

/* Close h; with `out`, first read the rest of the file (what follows the
 * end-of-archive marker, or damage) into the hash: true when out holds
 * the SHA-256 of the whole file, as sha256sum prints it. */
static bool bdl_hashed_end(struct bdl_hashed *h, uint8_t out[32])
{
    unsigned int len = 0;
    bool ok = false;
    size_t n;

    if (h == NULL)
        return false;
    if (out != NULL && h->md != NULL && h->f != NULL) {
        ok = true;
        while (ok && (n = fread(h->buf, 1, sizeof h->buf, h->f)) > 0)
            ok = EVP_DigestUpdate(h->md, h->buf, n) == 1;
        ok = ok && !ferror(h->f) && EVP_DigestFinal_ex(h->md, out, &len) == 1 && len == 32;
    }
    EVP_MD_CTX_free(h->md);
    if (h->f != NULL)
        fclose(h->f);
    free(h);
    return ok;
}

/* A tar (compressed or not) read through bdl_hashed_read; NULL when the
 * file cannot be opened or is no archive (*hp then NULL too). */
static struct archive *bdl_open_hashed(const char *path, struct bdl_hashed **hp)
{
    struct bdl_hashed *h = calloc(1, sizeof *h);
    struct archive *ar = archive_read_new();

    *hp = NULL;
    if (h == NULL || ar == NULL || (h->f = fopen(path, "rb")) == NULL) {
        if (ar != NULL)
            archive_read_free(ar);
        bdl_hashed_end(h, NULL);
        return NULL;
    }
    h->md = EVP_MD_CTX_new();
    if (h->md != NULL && EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->md);
        h->md = NULL;
    }
    bdl_filters(ar);
    archive_read_support_format_tar(ar);
    if (archive_read_open(ar, h, NULL, bdl_hashed_read, NULL) != ARCHIVE_OK) {
        archive_read_free(ar);
        bdl_hashed_end(h, NULL);
        return NULL;
    }
    *hp = h;
    return ar;
}

/* Read up to n bytes of the current entry; fewer only at its end.  -1 on
 * error (the archive's message stays in ar). */
static long bdl_read_full(struct archive *ar, uint8_t *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        la_ssize_t r = archive_read_data(ar, buf + got, n - got);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

/* As bdl_read_full, but an error keeps what was read: the bytes before
 * damage are still a capture's first packets. */
static long bdl_read_partial(struct archive *ar, uint8_t *buf, size_t n, bool *err)
{
    size_t got = 0;

    *err = false;
    while (got < n) {
        /* small requests: libarchive fails a large one as a whole when the
         * stream ends inside it, and the bytes before would be lost */
        size_t want = n - got < BDL_SNIFF ? n - got : BDL_SNIFF;
        la_ssize_t r = archive_read_data(ar, buf + got, want);
        if (r < 0) {
            *err = true;
            break;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

/* A gzip-compressed member read by a second libarchive reader (raw format,
 * gzip filter) whose input is the outer reader's member data: first the
 * bytes already taken from it, then the rest. */
struct bdl_inner {
    struct archive *outer;
    const uint8_t *pending;
    size_t npending;
    uint8_t buf[BDL_BLOCK];
};

static la_ssize_t bdl_inner_read(struct archive *a, void *ctx, const void **out)
{
    struct bdl_inner *in = ctx;
    la_ssize_t r;

    (void)a;
    if (in->npending > 0) {
        *out = in->pending;
        r = (la_ssize_t)in->npending;
        in->npending = 0;
        return r;
    }
    r = archive_read_data(in->outer, in->buf, sizeof in->buf);
    if (r < 0) {
        archive_set_error(a, EIO, "%s", archive_error_string(in->outer)
                          ? archive_error_string(in->outer) : "archive read error");
        return -1;
    }
    *out = in->buf;
    return r;
}

static struct archive *bdl_inner_open(struct bdl_inner *in)
{
    struct archive *ar = archive_read_new();
    struct archive_entry *e;

    if (ar == NULL)
        return NULL;
    bdl_filters(ar);
    archive_read_support_format_raw(ar);
    if (archive_read_open(ar, in, NULL, bdl_inner_read, NULL) != ARCHIVE_OK ||
        archive_read_next_header(ar, &e) != ARCHIVE_OK) {
        archive_read_free(ar);
        return NULL;
    }
    return ar;
}

/* ---- scanning ------------------------------------------------------------------ */

static int bdl_add_capture(struct bundle *b, struct bdl_capture *c)
{
    if (b->ncaps == b->caps_cap) {
        size_t cap = b->caps_cap ? b->caps_cap * 2 : 8;
        struct bdl_capture *v = realloc(b->caps, cap * sizeof *v);
        if (v == NULL)
            return TI_ENOMEM;
        b->caps = v;
        b->caps_cap = cap;
    }
    b->caps[b->ncaps++] = *c;
    return TI_OK;
}

static char *bdl_join(const char *a, const char *sep, const char *c)
{
    size_t la = strlen(a), ls = strlen(sep), lc = strlen(c);
    char *s = malloc(la + ls + lc + 1);

    if (s != NULL) {
        memcpy(s, a, la);
        memcpy(s + la, sep, ls);
        memcpy(s + la + ls, c, lc + 1);
    }
    return s;
}

/* Feed the rest of the current entry of ar (after `first`) to the log. */
static int bdl_feed_log(struct bundle *b, struct archive *ar, const char *name, const char *node,
                        const uint8_t *first, size_t nfirst, bool *damaged)
{
    uint8_t buf[BDL_SNIFF];
    long r = 0;
    int rc;

    *damaged = false;
    if (b->logs == NULL)
        return TI_OK;
    rc = tslog_begin_file(b->logs, name, node);
    if (rc == TI_OK)
        rc = tslog_feed(b->logs, (const char *)first, nfirst);
    /* What was read before damage still counts: bdl_read_partial */
    while (rc == TI_OK && !*damaged && (r = bdl_read_partial(ar, buf, sizeof buf, damaged)) > 0)
        rc = tslog_feed(b->logs, (const char *)buf, (size_t)r);
    if (rc == TI_OK)
        rc = tslog_end_file(b->logs);
    return rc;
}

/* What one member (or file) is, from its first bytes; reads a log to its end. */
enum bdl_what { BDL_SKIP, BDL_CAPTURE, BDL_LOG };

struct bdl_scan {
    struct bundle *b;
    struct bdl_container *ct;
    const char *label;          /* archive path */
    unsigned ncap, nlog;
};

/* One tar member: classify, keep a capture's prefix, read a log. */
static int bdl_scan_member(struct bdl_scan *s, struct archive *ar, struct archive_entry *e,
                           long idx, bool *damaged)
{
    struct bundle *b = s->b;
    const char *mname = archive_entry_pathname(e) ? archive_entry_pathname(e) : "?";
    uint8_t *head = NULL, *ihead = NULL;
    struct bdl_capture cap;
    long n, m;
    int rc = TI_OK;
    char *name = NULL;

    *damaged = false;
    if (archive_entry_filetype(e) != AE_IFREG)
        return TI_OK;
    head = malloc(BUNDLE_PREFIX);
    if (head == NULL)
        return TI_ENOMEM;
    n = bdl_read_partial(ar, head, BUNDLE_PREFIX, damaged);
    name = bdl_join(s->label, ":", mname);
    if (name == NULL) {
        rc = TI_ENOMEM;
        goto out;
    }
    memset(&cap, 0, sizeof cap);
    cap.ct = s->ct;
    cap.member = idx;
    cap.size = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
    if (bdl_is_capture(head, (size_t)n)) {
        /* Damaged inside its first bytes: the reader returns them, then the
         * error (capture.c marks the input truncated). */
        if (*damaged)
            snprintf(cap.why, sizeof cap.why, "%s", archive_error_string(ar)
                     ? archive_error_string(ar) : "archive read error");
        snprintf(cap.format, sizeof cap.format, "%s", head[0] == 0x0a ? "pcapng" : "pcap");
        cap.prefix = head;
        cap.prefix_len = (size_t)n;
        head = NULL;
    } else if (*damaged) {
        goto out;
    } else if (bdl_is_gzip(head, (size_t)n)) {
        struct bdl_inner *in = calloc(1, sizeof *in);
        struct archive *iar;
        bool idmg = false;

        if (in == NULL) {
            rc = TI_ENOMEM;
            goto out;
        }
        in->outer = ar;
        in->pending = head;
        in->npending = (size_t)n;
        iar = bdl_inner_open(in);
        ihead = iar != NULL ? malloc(BUNDLE_PREFIX) : NULL;
        /* A damaged compressed member (or the archive around it: the next
         * header will tell) keeps what inflated before the damage. */
        m = ihead != NULL ? bdl_read_partial(iar, ihead, BUNDLE_PREFIX, &idmg) : -1;
        if (idmg && m > 0 && bdl_is_capture(ihead, (size_t)m))
            snprintf(cap.why, sizeof cap.why, "%s", archive_error_string(iar)
                     ? archive_error_string(iar) : "archive read error");
        else if (idmg)
            bdl_note(b->warnings, &b->nwarnings, "%s: compressed member damaged: %s", name,
                     archive_error_string(iar) ? archive_error_string(iar) : "read error");
        if (m > 0 && bdl_is_capture(ihead, (size_t)m)) {
            snprintf(cap.format, sizeof cap.format, "%s+gzip",
                     ihead[0] == 0x0a ? "pcapng" : "pcap");
            cap.gz = true;
            cap.size = 0;   /* the member's size is compressed, offsets are not */
            cap.prefix = ihead;
            cap.prefix_len = (size_t)m;
            ihead = NULL;
        } else if (m > 0 && tslog_sniff(ihead, (size_t)m)) {
            rc = bdl_feed_log(b, iar, name, s->ct->node, ihead, (size_t)m, &idmg);
            if (idmg)
                bdl_note(b->warnings, &b->nwarnings, "%s: compressed log damaged (%s); its "
                         "lines before the damage were read", name, archive_error_string(iar)
                         ? archive_error_string(iar) : "read error");
            s->nlog++;
        } else if (m > 0 && bdl_is_tar(ihead, (size_t)m)) {
            bdl_note(b->warnings, &b->nwarnings, "%s: an archive inside the bundle is not read; "
                     "extract it and give it as an input", name);
        }
        if (iar != NULL)
            archive_read_free(iar);
        free(in);
        if (rc != TI_OK || cap.prefix == NULL)
            goto out;
    } else if (tslog_sniff(head, (size_t)n)) {
        rc = bdl_feed_log(b, ar, name, s->ct->node, head, (size_t)n, damaged);
        s->nlog++;
        goto out;
    } else {
        if (bdl_is_tar(head, (size_t)n))
            bdl_note(b->warnings, &b->nwarnings, "%s: an archive inside the bundle is not read; "
                     "extract it and give it as an input", name);
        goto out;   /* the next header skips the rest, unread */
    }
    if (s->ncap >= BUNDLE_MAX_CAPTURES) {
        bdl_note(b->warnings, &b->nwarnings, "%s: more than %u captures; the rest are not read",
                 s->label, BUNDLE_MAX_CAPTURES);
        free(cap.prefix);
        goto out;
    }
    cap.name = name;
    name = NULL;
    rc = bdl_add_capture(b, &cap);
    if (rc != TI_OK) {
        free(cap.prefix);
        free(cap.name);
        goto out;
    }
    s->ncap++;
out:
    free(name);
    free(head);
    free(ihead);
    return rc;
}

/* The node of a container: its logs' host name. */
static void bdl_container_node(struct bundle *b, struct bdl_container *ct)
{
    if (b->logs == NULL)
        return;
    for (uint32_t f = ct->log_file_first; f < ct->log_file_end && ct->node == NULL; f++) {
        const char *node = tslog_file_node(b->logs, f);
        if (node != NULL)
            ct->node = strdup(node);
    }
}

static uint32_t bdl_nfiles(const struct bundle *b)
{
    size_t n = 0;

    if (b->logs != NULL)
        (void)tslog_files(b->logs, &n);
    return (uint32_t)n;
}

static int bdl_scan_archive(struct bundle *b, struct bdl_container *ct, struct archive *ar,
                            struct archive_entry *e, char *errbuf, size_t errlen)
{
    struct bdl_scan s = {.b = b, .ct = ct, .label = ct->path};
    long idx = 0;
    int r = ARCHIVE_OK, rc = TI_OK;
    bool damaged = false;
    const char *last = NULL;
    char lastbuf[256] = "";

    ct->log_file_first = bdl_nfiles(b);
    for (;;) {
        rc = bdl_scan_member(&s, ar, e, idx, &damaged);
        if (rc != TI_OK)
            break;
        snprintf(lastbuf, sizeof lastbuf, "%s", archive_entry_pathname(e) ? archive_entry_pathname(e) : "?");
        last = lastbuf;
        if (damaged)
            break;
        r = archive_read_next_header(ar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            damaged = true;
            break;
        }
        idx++;
    }
    ct->log_file_end = bdl_nfiles(b);
    if (rc != TI_OK) {
        ti_errf(errbuf, errlen, "%s: %s", ct->path, ti_strerror(rc));
        return rc;
    }
    if (damaged)
        bdl_note(b->damage, &b->ndamage, "%s: the archive is damaged at member '%s' (%s); "
                 "%u captures and %u logs before it were read", ct->path, last ? last : "",
                 archive_error_string(ar) ? archive_error_string(ar) : "read error",
                 s.ncap, s.nlog);
    bdl_container_node(b, ct);
    if (s.ncap == 0) {
        ti_errf(errbuf, errlen, "%s: no capture in this bundle (%ld members read%s, %u logs): "
                "was 'Take tcpdump while logging' ticked?", ct->path, idx + (damaged ? 0 : 1),
                damaged ? " before damage" : "", s.nlog);
        return TI_EUSAGE;
    }
    return TI_OK;
}

static struct bdl_container *bdl_container_new(struct bundle *b, const char *path, enum bdl_kind kind)
{
    struct bdl_container *ct = calloc(1, sizeof *ct);
    struct bdl_container **v;

    if (ct == NULL)
        return NULL;
    ct->kind = kind;
    ct->path = strdup(path);
    v = realloc(b->cts, (b->ncts + 1) * sizeof *v);
    if (ct->path == NULL || v == NULL) {
        free(ct->path);
        free(ct);
        if (v != NULL)
            b->cts = v;
        return NULL;
    }
    b->cts = v;
    b->cts[b->ncts++] = ct;
    return ct;
}

/* One file of a directory bundle. */
static int bdl_scan_file(struct bundle *b, const char *path, unsigned *ncap, unsigned *nlog)
{
    struct archive *ar = bdl_open_archive(path, BDL_RAWFILE);
    struct archive_entry *e;
    struct bdl_capture cap;
    uint8_t *head = NULL;
    long n;
    int rc = TI_OK, filter;
    bool damaged = false;

    if (ar == NULL)
        return TI_OK;   /* unreadable: not ours to judge */
    if (archive_read_next_header(ar, &e) != ARCHIVE_OK)
        goto out;
    head = malloc(BUNDLE_PREFIX);
    if (head == NULL) {
        rc = TI_ENOMEM;
        goto out;
    }
    n = bdl_read_full(ar, head, BUNDLE_PREFIX);
    if (n <= 0)
        goto out;
    filter = archive_filter_code(ar, 0);
    memset(&cap, 0, sizeof cap);
    if (bdl_is_capture(head, (size_t)n)) {
        cap.name = strdup(path);
        if (filter == ARCHIVE_FILTER_NONE || filter == ARCHIVE_FILTER_GZIP) {
            cap.path = strdup(path);   /* capture.c reads these itself */
        } else {
            struct bdl_container *ct = bdl_container_new(b, path, BDL_RAWFILE);
            if (ct == NULL) {
                rc = TI_ENOMEM;
                free(cap.name);
                goto out;
            }
            cap.ct = ct;
            cap.member = 0;
            snprintf(cap.format, sizeof cap.format, "%s+%s", head[0] == 0x0a ? "pcapng" : "pcap",
                     archive_filter_name(ar, 0));
            cap.prefix = head;
            cap.prefix_len = (size_t)n;
            head = NULL;
        }
        if (cap.name == NULL || (cap.ct == NULL && cap.path == NULL)) {
            free(cap.name);
            free(cap.path);
            rc = TI_ENOMEM;
            goto out;
        }
        rc = bdl_add_capture(b, &cap);
        if (rc != TI_OK) {
            free(cap.name);
            free(cap.path);
            free(cap.prefix);
            goto out;
        }
        (*ncap)++;
    } else if (tslog_sniff(head, (size_t)n)) {
        rc = bdl_feed_log(b, ar, path, NULL, head, (size_t)n, &damaged);
        if (damaged)
            bdl_note(b->warnings, &b->nwarnings, "%s: read error: %s", path,
                     archive_error_string(ar) ? archive_error_string(ar) : "?");
        (*nlog)++;
    }
out:
    free(head);
    archive_read_free(ar);
    return rc;
}

static int bdl_name_cmp(const void *pa, const void *pb)
{
    return strcmp(*(char *const *)pa, *(char *const *)pb);
}

/* Walk a directory in name order (deterministic), not following symlinks. */
static int bdl_scan_dir(struct bundle *b, const char *dir, int depth, unsigned *ncap, unsigned *nlog)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = TI_OK;

    if (depth > BUNDLE_MAX_DEPTH)
        return TI_OK;
    d = opendir(dir);
    if (d == NULL)
        return TI_OK;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **v = realloc(names, nc * sizeof *v);
            if (v == NULL) {
                rc = TI_ENOMEM;
                break;
            }
            names = v;
            cap = nc;
        }
        names[n] = bdl_join(dir, "/", de->d_name);
        if (names[n] == NULL) {
            rc = TI_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, bdl_name_cmp);
    for (size_t i = 0; i < n && rc == TI_OK; i++) {
        struct stat st;
        if (lstat(names[i], &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = bdl_scan_dir(b, names[i], depth + 1, ncap, nlog);
        else if (S_ISREG(st.st_mode))
            rc = bdl_scan_file(b, names[i], ncap, nlog);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int bdl_plain(struct bundle *b, const char *path)
{
    struct bdl_capture cap;

    memset(&cap, 0, sizeof cap);
    cap.name = strdup(path);
    cap.path = strdup(path);
    if (cap.name == NULL || cap.path == NULL || bdl_add_capture(b, &cap) != TI_OK) {
        free(cap.name);
        free(cap.path);
        return TI_ENOMEM;
    }
    return TI_OK;
}

static int bdl_open_input(struct bundle *b, const char *path, char *errbuf, size_t errlen)
{
    struct stat st;
    struct archive *ar;
    struct archive_entry *e;
    struct bdl_hashed *hs;
    int r;

    /* Standard input is capture.c's to read: a stream cannot be scanned twice. */
    if (strcmp(path, "-") == 0) {
        if (b->have_stdin) {
            ti_errf(errbuf, errlen, "standard input (-) given more than once");
            return TI_EUSAGE;
        }
        b->have_stdin = true;
        return bdl_plain(b, path);
    }
    if (stat(path, &st) != 0) {
        ti_errf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return TI_EIO;
    }
    if (S_ISDIR(st.st_mode)) {
        unsigned ncap = 0, nlog = 0;
        uint32_t first = bdl_nfiles(b);
        size_t before = b->ncaps;
        struct bdl_container ct = {.kind = BDL_RAWFILE};
        int rc = bdl_scan_dir(b, path, 0, &ncap, &nlog);

        if (rc != TI_OK) {
            ti_errf(errbuf, errlen, "%s: %s", path, ti_strerror(rc));
            return rc;
        }
        if (ncap == 0) {
            ti_errf(errbuf, errlen, "%s: no capture in this directory (%u logs): was 'Take "
                    "tcpdump while logging' ticked?", path, nlog);
            return TI_EUSAGE;
        }
        /* The directory's node, for the captures it gave. */
        ct.log_file_first = first;
        ct.log_file_end = bdl_nfiles(b);
        bdl_container_node(b, &ct);
        if (ct.node != NULL) {
            struct bdl_container *real = bdl_container_new(b, path, BDL_RAWFILE);
            if (real == NULL) {
                free(ct.node);
                return TI_ENOMEM;
            }
            real->node = ct.node;
            for (size_t i = before; i < b->ncaps; i++)
                if (b->caps[i].ct == NULL)
                    b->caps[i].ct = real;   /* for the node only: path set, member unused */
        }
        return TI_OK;
    }
    /* A tar (compressed or not) is a bundle; anything else goes to capture.c,
     * which reads captures (and .gz captures) and says what it cannot. */
    ar = bdl_open_hashed(path, &hs);
    if (ar == NULL)
        return bdl_plain(b, path);
    r = archive_read_next_header(ar, &e);
    if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
        struct bdl_container *ct = bdl_container_new(b, path, BDL_ARCHIVE);
        int rc = ct != NULL ? bdl_scan_archive(b, ct, ar, e, errbuf, errlen) : TI_ENOMEM;

        if (ct == NULL)
            ti_errf(errbuf, errlen, "%s: out of memory", path);
        archive_read_free(ar);
        if (ct != NULL)
            ct->hashed = bdl_hashed_end(hs, ct->sha256);
        else
            bdl_hashed_end(hs, NULL);
        return rc;
    }
    archive_read_free(ar);
    bdl_hashed_end(hs, NULL);
    return bdl_plain(b, path);
}

int bundle_open(struct bundle **out, char *const *inputs, size_t n, struct tslog *logs,
                char *errbuf, size_t errlen)
{
    struct bundle *b = calloc(1, sizeof *b);
    int rc = TI_OK;

    *out = NULL;
    if (b == NULL) {
        ti_errf(errbuf, errlen, "out of memory");
        return TI_ENOMEM;
    }
    b->logs = logs;
    for (size_t i = 0; i < n && rc == TI_OK; i++)
        rc = bdl_open_input(b, inputs[i], errbuf, errlen);
    if (rc != TI_OK) {
        bundle_free(b);
        return rc;
    }
    *out = b;
    return TI_OK;
}

/* ---- reading a capture member ------------------------------------------------- */

struct bdl_reader {
    struct bdl_capture *cap;
    struct bdl_handle *h;       /* while reading past the prefix */
    struct bdl_inner *inner;    /* gz: the second reader's input */
    struct archive *iar;        /* gz: the second reader */
    uint64_t pos;               /* bytes handed out */
    bool eof;
    char why[256];
    EVP_MD_CTX *md;             /* SHA-256 of the bytes handed out; NULL: none */
    bool hashed;                /* sha256 holds it: the member was read whole */
    uint8_t sha256[32];
};

/* Hash n bytes handed out; at the member's end (n == 0), finish. */
static void bdl_reader_hash(struct bdl_reader *r, const void *p, size_t n)
{
    unsigned int len = 0;

    if (r->md == NULL)
        return;
    if (n > 0 && EVP_DigestUpdate(r->md, p, n) == 1)
        return;
    r->hashed = n == 0 && EVP_DigestFinal_ex(r->md, r->sha256, &len) == 1 && len == 32;
    EVP_MD_CTX_free(r->md);
    r->md = NULL;
}

static bool bdl_sha256(void *ctx, uint8_t out[32])
{
    struct bdl_reader *r = ctx;

    if (r->hashed)
        memcpy(out, r->sha256, 32);
    return r->hashed;
}

static void bdl_release(struct bdl_reader *r)
{
    if (r->iar != NULL) {
        archive_read_free(r->iar);
        r->iar = NULL;
        /* The inner reader may have read ahead: the offset in this member
         * is unknown, but the next header still skips to the next member,
         * so rotated gzipped captures share the handle too. */
        r->h->off = UINT64_MAX;
    }
    free(r->inner);
    r->inner = NULL;
    if (r->h != NULL)
        r->h->busy = false;
    r->h = NULL;
}

/* Skip n bytes of the current entry. */
static int bdl_skip(struct archive *ar, uint64_t n)
{
    uint8_t buf[4096];

    while (n > 0) {
        size_t want = n < sizeof buf ? (size_t)n : sizeof buf;
        la_ssize_t r = archive_read_data(ar, buf, want);
        if (r <= 0)
            return -1;
        n -= (uint64_t)r;
    }
    return 0;
}

/* Take a handle at the reader's member and position. */
static int bdl_acquire(struct bdl_reader *r)
{
    struct bdl_capture *cap = r->cap;
    struct bdl_container *ct = cap->ct;
    struct bdl_handle *best = NULL;

    for (struct bdl_handle *h = ct->handles; h != NULL; h = h->next) {
        bool usable = !h->busy && !h->broken &&
                      (h->member < cap->member ||
                       (!cap->gz && h->member == cap->member && h->off <= r->pos));
        if (usable && (best == NULL || h->member > best->member ||
                       (h->member == best->member && h->off > best->off)))
            best = h;
    }
    if (best == NULL) {
        best = calloc(1, sizeof *best);
        if (best == NULL)
            goto fail_nomem;
        best->ar = bdl_open_archive(ct->path, ct->kind);
        if (best->ar == NULL) {
            free(best);
            snprintf(r->why, sizeof r->why, "cannot reopen %s", ct->path);
            return -1;
        }
        best->member = -1;
        best->next = ct->handles;
        ct->handles = best;
    }
    best->busy = true;
    r->h = best;
    while (best->member < cap->member) {
        struct archive_entry *e;
        int ar_rc = archive_read_next_header(best->ar, &e);
        if (ar_rc != ARCHIVE_OK && ar_rc != ARCHIVE_WARN)
            goto fail_ar;
        best->member++;
        best->off = 0;
    }
    if (cap->gz) {
        r->inner = calloc(1, sizeof *r->inner);
        if (r->inner == NULL)
            goto fail_nomem;
        r->inner->outer = best->ar;
        r->iar = bdl_inner_open(r->inner);
        if (r->iar == NULL)
            goto fail_ar;
        if (bdl_skip(r->iar, r->pos) != 0)
            goto fail_inner;
    } else {
        if (bdl_skip(best->ar, r->pos - best->off) != 0)
            goto fail_ar;
        best->off = r->pos;
    }
    return 0;

fail_inner:
    snprintf(r->why, sizeof r->why, "%s", archive_error_string(r->iar)
             ? archive_error_string(r->iar) : "the member ends early");
    best->broken = true;
    bdl_release(r);
    return -1;
fail_ar:
    snprintf(r->why, sizeof r->why, "%s", archive_error_string(best->ar)
             ? archive_error_string(best->ar) : "the member ends early");
    best->broken = true;
    bdl_release(r);
    return -1;
fail_nomem:
    snprintf(r->why, sizeof r->why, "out of memory");
    if (best != NULL)
        best->broken = true;
    bdl_release(r);
    return -1;
}

static ssize_t bdl_cookie_read(void *cookie, char *buf, size_t size)
{
    struct bdl_reader *r = cookie;
    struct bdl_capture *cap = r->cap;
    la_ssize_t n;

    if (r->eof || size == 0)
        return 0;
    if (r->pos < cap->prefix_len) {
        size_t left = cap->prefix_len - (size_t)r->pos;
        size_t take = size < left ? size : left;
        memcpy(buf, cap->prefix + r->pos, take);
        r->pos += take;
        bdl_reader_hash(r, buf, take);
        return (ssize_t)take;
    }
    if (cap->why[0] != '\0') {
        snprintf(r->why, sizeof r->why, "%s", cap->why);
        errno = EIO;
        return -1;
    }
    if (cap->prefix_len < BUNDLE_PREFIX) {
        r->eof = true;   /* the scan read the whole member */
        bdl_reader_hash(r, NULL, 0);
        return 0;
    }
    if (r->h == NULL && bdl_acquire(r) != 0) {
        errno = EIO;
        return -1;
    }
    n = archive_read_data(r->iar != NULL ? r->iar : r->h->ar, buf, size);
    if (n < 0) {
        const char *m = archive_error_string(r->iar != NULL ? r->iar : r->h->ar);
        snprintf(r->why, sizeof r->why, "%s", m ? m : "archive read error");
        r->h->broken = true;
        bdl_release(r);
        errno = EIO;
        return -1;
    }
    if (n == 0) {
        /* The member is done: its handle can serve a later member. */
        r->eof = true;
        bdl_release(r);
        bdl_reader_hash(r, NULL, 0);
        return 0;
    }
    r->pos += (uint64_t)n;
    bdl_reader_hash(r, buf, (size_t)n);
    if (r->iar == NULL)
        r->h->off = r->pos;
    return (ssize_t)n;
}

/* ftell() only: the position in the member. */
static int bdl_cookie_seek(void *cookie, off64_t *off, int whence)
{
    struct bdl_reader *r = cookie;

    if (whence != SEEK_CUR || *off != 0) {
        errno = ESPIPE;
        return -1;
    }
    *off = (off64_t)r->pos;
    return 0;
}

static int bdl_cookie_close(void *cookie)
{
    struct bdl_reader *r = cookie;

    bdl_release(r);
    EVP_MD_CTX_free(r->md);
    free(r);
    return 0;
}

static const char *bdl_why(void *ctx)
{
    struct bdl_reader *r = ctx;
    return r->why[0] != '\0' ? r->why : NULL;
}

static const cookie_io_functions_t bdl_io = {
    .read = bdl_cookie_read,
    .write = NULL,
    .seek = bdl_cookie_seek,
    .close = bdl_cookie_close,
};

int bundle_sources(struct bundle *b, struct cap_source **out, size_t *n, char *errbuf, size_t errlen)
{
    struct cap_source *cs = calloc(b->ncaps ? b->ncaps : 1, sizeof *cs);

    *out = NULL;
    *n = 0;
    if (cs == NULL || b->sources_given) {
        free(cs);
        ti_errf(errbuf, errlen, "out of memory");
        return TI_ENOMEM;
    }
    b->sources_given = true;
    for (size_t i = 0; i < b->ncaps; i++) {
        struct bdl_capture *cap = &b->caps[i];
        struct bdl_reader *r;

        cs[i].name = cap->name;
        if (cap->path != NULL) {
            if (strcmp(cap->path, "-") == 0)
                cs[i].fp = stdin;           /* capture.c sniffs it as it comes */
            continue;
        }
        r = calloc(1, sizeof *r);
        if (r == NULL)
            goto nomem;
        r->cap = cap;
        r->md = EVP_MD_CTX_new();
        if (r->md != NULL && EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1) {
            EVP_MD_CTX_free(r->md);
            r->md = NULL;
        }
        cs[i].fp = fopencookie(r, "rb", bdl_io);
        if (cs[i].fp == NULL) {
            EVP_MD_CTX_free(r->md);
            free(r);
            goto nomem;
        }
        cs[i].format = cap->format;
        cs[i].size = cap->size;
        cs[i].why = bdl_why;
        cs[i].why_ctx = r;
        cs[i].sha256 = bdl_sha256;
        cs[i].sha256_ctx = r;
        if (cap->ct != NULL && cap->ct->kind == BDL_ARCHIVE && cap->ct->hashed)
            cs[i].archive_sha256 = cap->ct->sha256;
    }
    *out = cs;
    *n = b->ncaps;
    return TI_OK;
nomem:
    for (size_t i = 0; i < b->ncaps; i++)
        if (cs[i].fp != NULL && cs[i].fp != stdin)
            fclose(cs[i].fp);
    free(cs);
    ti_errf(errbuf, errlen, "out of memory");
    return TI_ENOMEM;
}

const char *bundle_source_node(const struct bundle *b, size_t i)
{
    if (i >= b->ncaps || b->caps[i].ct == NULL)
        return NULL;
    return b->caps[i].ct->node;
}

const char *const *bundle_damage(const struct bundle *b, size_t *n)
{
    *n = b->ndamage;
    return (const char *const *)b->damage;
}

const char *const *bundle_warnings(const struct bundle *b, size_t *n)
{
    *n = b->nwarnings;
    return (const char *const *)b->warnings;
}

int bundle_read_log(struct tslog *logs, const char *path, char *errbuf, size_t errlen)
{
    struct archive *ar = bdl_open_archive(path, BDL_RAWFILE);
    struct archive_entry *e;
    uint8_t *buf;
    long r = 0;
    int rc;

    if (ar == NULL || archive_read_next_header(ar, &e) != ARCHIVE_OK) {
        FILE *f = fopen(path, "rb");   /* for the system's words on why */
        ti_errf(errbuf, errlen, "%s: %s", path, f == NULL ? strerror(errno) : "cannot read");
        if (f != NULL)
            fclose(f);
        if (ar != NULL)
            archive_read_free(ar);
        return TI_EIO;
    }
    buf = malloc(BDL_BLOCK);
    if (buf == NULL) {
        archive_read_free(ar);
        ti_errf(errbuf, errlen, "out of memory");
        return TI_ENOMEM;
    }
    rc = tslog_begin_file(logs, path, NULL);
    while (rc == TI_OK && (r = bdl_read_full(ar, buf, BDL_BLOCK)) > 0)
        rc = tslog_feed(logs, (const char *)buf, (size_t)r);
    if (rc == TI_OK)
        rc = tslog_end_file(logs);
    if (rc == TI_OK && r < 0) {
        ti_errf(errbuf, errlen, "%s: %s", path, archive_error_string(ar)
                ? archive_error_string(ar) : "read error");
        rc = TI_EIO;
    } else if (rc != TI_OK) {
        ti_errf(errbuf, errlen, "%s: %s", path, ti_strerror(rc));
    }
    free(buf);
    archive_read_free(ar);
    return rc;
}

void bundle_free(struct bundle *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->ncts; i++) {
        struct bdl_container *ct = b->cts[i];
        struct bdl_handle *h = ct->handles;
        while (h != NULL) {
            struct bdl_handle *next = h->next;
            archive_read_free(h->ar);
            free(h);
            h = next;
        }
        free(ct->path);
        free(ct->node);
        free(ct);
    }
    free(b->cts);
    for (size_t i = 0; i < b->ncaps; i++) {
        free(b->caps[i].name);
        free(b->caps[i].path);
        free(b->caps[i].prefix);
    }
    free(b->caps);
    for (size_t i = 0; i < b->ndamage; i++)
        free(b->damage[i]);
    for (size_t i = 0; i < b->nwarnings; i++)
        free(b->warnings[i]);
    free(b);
}
