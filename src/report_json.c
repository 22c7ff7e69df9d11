/* report_json.c - the JSON and JSONL reports (SPEC "Outputs"), written as a stream.
 *
 * One writer makes every JSON text: report_json() streams it to a FILE
 * through a 256 KiB buffer, report_json_document() renders the same bytes
 * into memory and hands them to jansson's parser for diff.  (A tree built in
 * jansson first took more memory than the analysis itself -- about 70 KiB
 * per connection -- and dumped at under 200 MB/s.)
 *
 * Shape and key order are fixed (the report doubles as a regression
 * fixture): keys come in the order listed in SPEC, and the layout is what
 * jansson's json_dumpf() gives with JSON_INDENT(2), except that an object
 * whose members are all scalars (a cipher suite, an endpoint, an alert, a
 * finding) sits on one line as json_dumpf() writes it without indentation:
 * a third less text than fully indented, one grep-able line per suite.
 * report_json_dumpf() lays out any jansson value the same way, so a saved
 * report and a re-dumped parse of it are the same bytes.  JSONL is what
 * JSON_COMPACT gives.
 * Strings copied from the wire (SNI, ALPN, certificate names) may hold any
 * byte: invalid UTF-8 is written as the text "\xNN", as report_escape()
 * writes it, so the document is always valid JSON.
 *
 * Times: packet timestamps (microseconds) are RFC 3339 UTC with
 * microseconds ("2026-03-10T16:55:26.007000Z"); values the tool only knows
 * to the second (certificate validity, verification time) are RFC 3339 UTC
 * without a fraction ("2025-01-01T00:00:00Z").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/outq.h"
#include "tlsinspect/problems.h"
#include "tlsinspect/report.h"
#include "tlsinspect/role.h"
#include "tlsinspect/tls_names.h"

static const char hex_lc[] = "0123456789abcdef";

/* ---- UTF-8 cleaning (shared with report_text.c through report.h) ---------- */

size_t report_utf8_seq(const unsigned char *p, size_t left)
{
    unsigned char b = p[0];
    size_t n;
    uint32_t cp;

    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
        cp = b & 0x1fu;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        cp = b & 0x0fu;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        cp = b & 0x07u;
    } else {
        return 0;                       /* continuation byte, 0xc0/0xc1, 0xf5.. */
    }
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0u) != 0x80u)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    /* RFC 3629 3: reject overlong forms, UTF-16 surrogates, > U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    if (cp >= 0xd800 && cp <= 0xdfff)
        return 0;
    return n;
}

/* C0, DEL, and the C1 controls (U+0080..U+009F: 0xc2 0x80..0x9f), which
 * some terminals act on as escape sequences. */
static bool is_control_seq(const unsigned char *p, size_t n)
{
    if (n == 1)
        return p[0] < 0x20 || p[0] == 0x7f;
    return n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

char *report_escape(const char *s, bool printable)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t len = strlen((const char *)p);
    char *out, *w;

    /* worst case: every byte becomes 4 characters */
    out = malloc(len * 4 + 1);
    if (out == NULL)
        return NULL;
    w = out;
    for (size_t i = 0; i < len;) {
        size_t n = report_utf8_seq(p + i, len - i);
        if (n == 0 || (printable && is_control_seq(p + i, n))) {
            size_t k = n == 0 ? 1 : n;
            for (size_t j = 0; j < k; j++) {
                *w++ = '\\';
                *w++ = 'x';
                *w++ = hex_lc[p[i + j] >> 4];
                *w++ = hex_lc[p[i + j] & 0x0f];
            }
            i += k;
            continue;
        }
        memcpy(w, p + i, n);
        w += n;
        i += n;
    }
    *w = '\0';
    return out;
}

/* ---- the writer --------------------------------------------------------------------
 *
 * The bytes are what json_dumpf() writes: with JSON_INDENT(2) a newline and
 * two spaces per level before each member, "key": value, ",", empty
 * containers as {} and []; inside an object of scalars (jw_open_flat) ", "
 * between members instead; with JSON_COMPACT none of the white space;
 * integers as %lld.  The golden reports pin the format.
 */
#define JW_BUF (256u * 1024u)
/* With a file descriptor under the FILE, full buffers go out by write(2)
 * straight from buf, which is page aligned: fwrite() would first top up
 * stdio's buffer and then write from buf + that much, and the kernel's copy
 * from a source that is not 64-byte aligned runs several times slower on
 * some CPUs (see CAP_BUF_ALIGN in capture.c; 129 MB of report took 0.3 s of
 * system time through fwrite on the benchmark machine). */
#define JW_BUF_ALIGN 4096u
/* With a descriptor, a writer thread (outq.h) writes full buffers while the
 * next is filled: write(2) of a report into the page cache costs about as
 * much as making it (94 MB on the benchmark: 0.022 s writing, 0.014 s
 * formatting).  Three buffers: one filling, one writing, one queued. */
#define JW_OUT_BUFS 3
#define JW_MAX_DEPTH 16             /* the document nests 6 deep */
/* report_json_document(): the longest text held in memory at once (one
 * connection, or the document around the connections; a few KiB unless a
 * hostile certificate is huge) */
#define JW_MEM_MAX ((size_t)256 << 20)

/* Values many connections share (the same ClientHello, the same chain, the
 * same verdict) are rendered once and copied after that: the text of a value
 * depends only on its contents, the nesting depth and the mode, so those
 * bytes form its key.  One table per kind of value (so the verdicts, which
 * change with the second they were judged at, never push out the
 * ClientHellos); a key may sit in any of JW_FRAG_WAYS slots from where it
 * hashes, and a new one replaces the least recently used of those.  Keys
 * longer than JW_FRAG_KEY_MAX and texts longer than JW_FRAG_TEXT_MAX are not
 * cached (rendered every time). */
#define JW_FRAG_KINDS 4             /* enum jw_kind */
#define JW_FRAG_SLOTS 32            /* per kind */
#define JW_FRAG_WAYS 4
#define JW_FRAG_KEY_MAX 4096
#define JW_FRAG_TEXT_MAX (64u * 1024u)

struct jw_frag {
    uint64_t hash;
    uint64_t used;                  /* tick of the last use */
    uint8_t *key;
    size_t key_len;
    char *text;
    size_t text_len;
};

enum jw_kind { JK_TCP, JK_HELLO, JK_CERTS, JK_VERIFY };

struct jw_key {                     /* a fragment key being built */
    enum jw_kind kind;
    uint8_t b[JW_FRAG_KEY_MAX];
    size_t n;
    bool over;                      /* too long: do not cache */
};

struct jw {
    FILE *out;                      /* NULL: the text stays in buf */
    int fd;                         /* out's descriptor, or -1: write with fwrite() */
    struct outq *q;                 /* fd's writer thread; NULL: write(2) here */
    const struct analysis *a;
    const struct tls_names *names;
    char *buf;
    size_t len, cap;
    size_t limit;                   /* out == NULL: buf grows up to this */
    bool compact;
    int depth;                      /* containers open */
    bool is_arr[JW_MAX_DEPTH];
    bool flat[JW_MAX_DEPTH];        /* an object of scalars: on one line */
    uint32_t count[JW_MAX_DEPTH];   /* members written in each */
    bool err;                       /* fwrite failed */
    bool oom;                       /* out of memory, or a value that cannot be written */
    bool toobig;                    /* out == NULL: the text passed the limit */
    struct jw_frag *frags;          /* JW_FRAG_KINDS x JW_FRAG_SLOTS, or NULL: no cache */
    char *scratch;                  /* JW_FRAG_TEXT_MAX bytes for rendering one */
    struct jw_key *key;
    uint64_t tick;
};

static bool jw_failed(const struct jw *w)
{
    return w->err || w->oom || w->toobig;
}

/* buf (w->len bytes) to the writer thread; a fresh buffer to go on in. */
static void jw_hand_over(struct jw *w)
{
    outq_submit(w->q, w->buf, w->len);
    w->len = 0;
    w->buf = outq_buffer(w->q);
    if (!w->err && outq_error(w->q) != 0)
        w->err = true;              /* errno is set by jw_end() */
}

/* n bytes to the output, past buf (which must be empty). */
static void jw_write_out(struct jw *w, const char *p, size_t n)
{
    if (w->q != NULL) {
        while (n > 0 && !w->err) {  /* in order: through the queue's buffers */
            size_t k = n < w->cap ? n : w->cap;
            memcpy(w->buf, p, k);
            w->len = k;
            jw_hand_over(w);
            p += k;
            n -= k;
        }
    } else if (w->fd >= 0) {
        for (size_t off = 0; off < n && !w->err;) {
            ssize_t k = write(w->fd, p + off, n - off);
            if (k > 0)
                off += (size_t)k;
            else if (!(k < 0 && errno == EINTR))
                w->err = true;      /* errno stays for the caller's message */
        }
    } else if (n > 0 && fwrite(p, 1, n, w->out) != n) {
        w->err = true;
    }
}

static void jw_flush(struct jw *w)
{
    if (w->out == NULL)
        return;
    if (w->q != NULL) {
        if (w->len > 0)
            jw_hand_over(w);
        return;
    }
    jw_write_out(w, w->buf, w->len);
    w->len = 0;
}

/* Make room for n more bytes in buf: flush to the FILE, or grow the memory
 * buffer (a fragment's limit is its fixed buffer, so that one never grows).
 * False when they do not fit; with a FILE that means n > cap. */
static bool jw_room(struct jw *w, size_t n)
{
    size_t cap;
    char *p;

    if (n <= w->cap - w->len)
        return true;
    if (w->out != NULL) {
        jw_flush(w);
        return n <= w->cap;
    }
    if (n > w->limit - w->len) {
        w->toobig = true;
        return false;
    }
    for (cap = w->cap; n > cap - w->len;)
        cap = cap > w->limit / 2 ? w->limit : cap * 2;
    p = realloc(w->buf, cap);
    if (p == NULL) {
        w->oom = true;
        return false;
    }
    w->buf = p;
    w->cap = cap;
    return true;
}

static void jw_put(struct jw *w, const char *p, size_t n)
{
    if (n > w->cap - w->len && !jw_room(w, n)) {
        /* larger than the whole buffer (which jw_room() emptied): straight out */
        if (w->out != NULL)
            jw_write_out(w, p, n);
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void jw_putc(struct jw *w, char c)
{
    if (w->len < w->cap || jw_room(w, 1))
        w->buf[w->len++] = c;
}

/* jansson's dump_indent(): a newline and 2 spaces per level (indent mode). */
static void jw_indent(struct jw *w, int level)
{
    static const char nl_spaces[] = "\n                                ";   /* 32 spaces */
    size_t n = (size_t)level * 2;

    if (w->compact)
        return;
    if (n <= sizeof(nl_spaces) - 2) {
        jw_put(w, nl_spaces, n + 1);
        return;
    }
    jw_putc(w, '\n');
    for (; n > 0; n--)
        jw_putc(w, ' ');
}

/* Where a member starts: on its own line (a newline and the indentation),
 * or -- inside an object of scalars, which sits on one line as jansson
 * dumps it without JSON_INDENT -- after ", " (nothing before the first). */
static void jw_member(struct jw *w, bool first)
{
    if (w->depth > 0 && w->flat[w->depth - 1]) {
        if (!first && !w->compact)
            jw_putc(w, ' ');
        return;
    }
    jw_indent(w, w->depth);
}

/* Before a value: in an array, the separator and the element's line. */
static void jw_before(struct jw *w)
{
    int d = w->depth - 1;
    bool first;

    if (d < 0 || !w->is_arr[d])
        return;
    first = w->count[d]++ == 0;
    if (!first)
        jw_putc(w, ',');
    jw_member(w, first);
}

/* An object member's key (our own ASCII constants: nothing to escape). */
static void jw_key_n(struct jw *w, const char *key, size_t klen)
{
    int d = w->depth - 1;
    bool first = d < 0 || w->count[d]++ == 0;
    size_t ind = (size_t)w->depth * 2;

    /* The usual member of an indented object, when it fits: in one go.
     * ,\n<indent>"key":<space> */
    if (!w->compact && !(d >= 0 && w->flat[d]) && klen + ind + 6 <= w->cap - w->len) {
        char *o = w->buf + w->len;

        if (!first)
            *o++ = ',';
        *o++ = '\n';
        memset(o, ' ', ind);
        o += ind;
        *o++ = '"';
        memcpy(o, key, klen);
        o += klen;
        memcpy(o, "\": ", 3);
        w->len = (size_t)(o + 3 - w->buf);
        return;
    }
    if (!first)
        jw_putc(w, ',');
    jw_member(w, first);
    jw_putc(w, '"');
    jw_put(w, key, klen);
    jw_put(w, w->compact ? "\":" : "\": ", w->compact ? 2 : 3);
}

/* Most keys are literals: inlined, their strlen() folds to a constant. */
static inline __attribute__((always_inline)) void jw_key(struct jw *w, const char *key)
{
    jw_key_n(w, key, strlen(key));
}

/* An object (flat: one whose members are all scalars) or an array. */
static void jw_open_as(struct jw *w, bool arr, bool flat)
{
    jw_before(w);
    jw_putc(w, arr ? '[' : '{');
    if (w->depth >= JW_MAX_DEPTH || (w->depth > 0 && w->flat[w->depth - 1])) {
        w->oom = true;              /* programmer error: the shape is fixed */
        return;
    }
    w->is_arr[w->depth] = arr;
    w->flat[w->depth] = flat && !arr;
    w->count[w->depth] = 0;
    w->depth++;
}

static void jw_open(struct jw *w, bool arr)
{
    jw_open_as(w, arr, false);
}

/* An object whose members are all scalars (strings, numbers, booleans, null). */
static void jw_open_flat(struct jw *w)
{
    jw_open_as(w, false, true);
}

static void jw_close(struct jw *w)
{
    if (w->depth == 0)
        return;
    w->depth--;
    if (w->count[w->depth] > 0 && !w->flat[w->depth])
        jw_indent(w, w->depth);
    jw_putc(w, w->is_arr[w->depth] ? ']' : '}');
}

static void jw_lit(struct jw *w, const char *lit)
{
    jw_before(w);
    jw_put(w, lit, strlen(lit));
}

static void jw_null(struct jw *w)
{
    jw_lit(w, "null");
}

static void jw_bool(struct jw *w, bool v)
{
    jw_lit(w, v ? "true" : "false");
}

static void jw_int(struct jw *w, int64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        tmp[--i] = '-';
    jw_before(w);
    jw_put(w, tmp + i, sizeof(tmp) - i);
}

/* JSON integers are signed 64-bit for jansson: larger counts saturate. */
static void jw_uint(struct jw *w, uint64_t v)
{
    jw_int(w, v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* 1 for the bytes a JSON string holds as they are: printable ASCII and DEL
 * but '"' and '\\' (what jw_string() need not look at one by one). */
static const uint8_t jw_plain[256] = {
    [0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x22 '"' */
    [0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    [0x40] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    [0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,    /* 0x5c '\\' */
    [0x60] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    [0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* The NUL-terminated s as a JSON string, escaped as jansson's dump_string()
 * escapes: \" \\ \b \f \n \r \t, other C0 controls as \u00XX (upper case),
 * '/', DEL and valid non-ASCII UTF-8 as they are.  A byte that is not part
 * of valid UTF-8 becomes the text "\xNN" (report_escape(s, false) in one
 * pass, its backslash escaped in turn): wire strings cannot make the
 * document fail.  One pass, no strlen: the NUL is found with the escapes. */
static void jw_string(struct jw *w, const char *s)
{
    static const char hex_uc[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;

    jw_before(w);
    jw_putc(w, '"');
    for (;;) {
        unsigned char c;
        char esc[6] = {'\\'};
        size_t elen = 2;

        while (jw_plain[p[i]])      /* the common case: a run of plain ASCII */
            i++;
        c = p[i];
        if (c == '\0')
            break;
        if (c >= 0x80) {
            /* a sequence is at most 4 bytes; the NUL ends any of them */
            size_t k = report_utf8_seq(p + i, strnlen(s + i, 4));
            if (k > 0) {
                i += k;
                continue;
            }
            memcpy(esc + 1, "\\x", 2);
            esc[3] = hex_lc[c >> 4];
            esc[4] = hex_lc[c & 0x0f];
            elen = 5;
        } else {
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            default:
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex_uc[c >> 4];
                esc[5] = hex_uc[c & 0x0f];
                elen = 6;
                break;
            }
        }
        jw_put(w, s + run, i - run);
        jw_put(w, esc, elen);
        i++;
        run = i;
    }
    jw_put(w, s + run, i - run);
    jw_putc(w, '"');
}

/* A string (wire bytes or a table name), or null. */
static void jw_str(struct jw *w, const char *s)
{
    if (s == NULL)
        jw_null(w);
    else
        jw_string(w, s);
}

/* A string that must exist (outcome, severity, ...): NULL fails the report. */
static void jw_cstr(struct jw *w, const char *s)
{
    if (s == NULL)
        w->oom = true;
    jw_str(w, s);
}

/* A field where NULL or "" means absent (ja3, openssl_error, ...). */
static void jw_str_or_null(struct jw *w, const char *s)
{
    jw_str(w, s != NULL && s[0] ? s : NULL);
}

static void jw_hex16(struct jw *w, uint16_t v)
{
    char b[7] = {'0', 'x', hex_lc[v >> 12], hex_lc[(v >> 8) & 15], hex_lc[(v >> 4) & 15], hex_lc[v & 15]};

    jw_string(w, b);
}

/* Days since 1970-01-01 -> civil date (H. Hinnant's days_from_civil inverse). */
static void jw_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *jw_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* Seconds from 0000-01-01 to 9999-12-31T23:59:59Z are formatted here;
 * others (a hostile certificate's validity) through gmtime_r, null when
 * even that cannot represent them. */
#define JW_TIME_MIN (-62167219200LL)
#define JW_TIME_MAX 253402300799LL

static void jw_time_far(struct jw *w, int64_t sec, int64_t frac, bool with_frac)
{
    char b[96], fr[24] = "";
    struct tm tm;
    time_t t = (time_t)sec;

    if (gmtime_r(&t, &tm) == NULL) {
        jw_null(w);
        return;
    }
    if (with_frac)
        snprintf(fr, sizeof(fr), ".%06lld", (long long)frac);
    snprintf(b, sizeof(b), "%04lld-%02d-%02dT%02d:%02d:%02d%sZ",
             (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, fr);
    jw_str(w, b);
}

static void jw_time(struct jw *w, int64_t sec, int64_t frac, bool with_frac)
{
    char b[40], *p = b;

    if (sec < JW_TIME_MIN || sec > JW_TIME_MAX) {
        jw_time_far(w, sec, frac, with_frac);
        return;
    }
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t rem = sec - days * 86400, y;
    unsigned mo, d;

    jw_civil(days, &y, &mo, &d);
    p = jw_digits(p, (unsigned)y, 4);
    *p++ = '-';
    p = jw_digits(p, mo, 2);
    *p++ = '-';
    p = jw_digits(p, d, 2);
    *p++ = 'T';
    p = jw_digits(p, (unsigned)(rem / 3600), 2);
    *p++ = ':';
    p = jw_digits(p, (unsigned)(rem / 60 % 60), 2);
    *p++ = ':';
    p = jw_digits(p, (unsigned)(rem % 60), 2);
    if (with_frac) {
        *p++ = '.';
        p = jw_digits(p, (unsigned)frac, 6);
    }
    *p++ = 'Z';
    *p = '\0';
    jw_string(w, b);
}

static void jw_time_s(struct jw *w, int64_t sec)
{
    jw_time(w, sec, 0, false);
}

/* Seconds rounded towards minus infinity (timestamps before 1970 are odd
 * but must not print a negative fraction). */
static void jw_time_us(struct jw *w, int64_t us)
{
    int64_t sec = us / 1000000, frac = us % 1000000;

    if (frac < 0) {
        frac += 1000000;
        sec -= 1;
    }
    jw_time(w, sec, frac, true);
}

/* ---- fragment cache ------------------------------------------------------------- */

static uint64_t jw_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, v;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&v, p + i, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

static void key_put(struct jw_key *k, const void *p, size_t n)
{
    if (k->over || n > sizeof(k->b) - k->n) {
        k->over = true;
        return;
    }
    if (n > 0)                         /* p may be NULL for an empty list */
        memcpy(k->b + k->n, p, n);
    k->n += n;
}

static void key_u64(struct jw_key *k, uint64_t v)
{
    key_put(k, &v, sizeof(v));
}

/* A string, told apart from NULL and from its neighbours by its length. */
static void key_str(struct jw_key *k, const char *s)
{
    size_t n;

    if (s == NULL) {
        key_u64(k, UINT64_MAX);
        return;
    }
    n = strlen(s);
    key_u64(k, n);
    key_put(k, s, n);
}

/* Every key starts with what else shapes the text: kind, depth, mode. */
static struct jw_key *key_start(struct jw *w, enum jw_kind kind)
{
    struct jw_key *k = w->key;

    if (k == NULL)
        return NULL;
    k->kind = kind;
    k->n = 0;
    k->over = false;
    key_u64(k, (uint64_t)kind);
    key_u64(k, (uint64_t)w->depth);
    key_u64(k, w->compact);
    return k;
}

/* Write the value fn(arg) renders -- an object member's value, after its
 * key -- from the cache when the key built in w->key was seen before. */
static void jw_cached(struct jw *w, void (*fn)(struct jw *, const void *), const void *arg)
{
    struct jw_key *k = w->key;
    struct jw_frag *set, *f;
    struct jw m;
    uint64_t h;
    uint8_t *kcopy;
    char *tcopy;

    if (w->frags == NULL || k == NULL || k->over) {
        fn(w, arg);
        return;
    }
    h = jw_hash(k->b, k->n);
    set = &w->frags[(size_t)k->kind * JW_FRAG_SLOTS];
    f = NULL;
    for (size_t i = 0; i < JW_FRAG_WAYS; i++) {
        struct jw_frag *e = &set[(h + i) % JW_FRAG_SLOTS];

        if (e->text != NULL && e->hash == h && e->key_len == k->n &&
            memcmp(e->key, k->b, k->n) == 0) {
            e->used = ++w->tick;
            jw_put(w, e->text, e->text_len);
            return;
        }
        if (f == NULL || e->used < f->used)
            f = e;                  /* the victim if this is a miss */
    }
    /* Render into the scratch buffer with the same nesting state.  The
     * value follows a key, so it adds no separator to the enclosing object
     * and leaves w's counters as they are. */
    m = *w;
    m.out = NULL;
    m.buf = w->scratch;
    m.len = 0;
    m.cap = m.limit = JW_FRAG_TEXT_MAX;
    m.err = m.oom = m.toobig = false;
    m.frags = NULL;
    m.key = NULL;
    fn(&m, arg);
    if (m.oom) {
        w->oom = true;
        return;
    }
    if (m.toobig) {
        fn(w, arg);
        return;
    }
    kcopy = malloc(k->n ? k->n : 1);
    tcopy = malloc(m.len ? m.len : 1);
    if (kcopy != NULL && tcopy != NULL) {
        free(f->key);
        free(f->text);
        memcpy(kcopy, k->b, k->n);
        memcpy(tcopy, m.buf, m.len);
        f->hash = h;
        f->used = ++w->tick;
        f->key = kcopy;
        f->key_len = k->n;
        f->text = tcopy;
        f->text_len = m.len;
    } else {
        free(kcopy);
        free(tcopy);
    }
    jw_put(w, m.buf, m.len);
}

static void jw_cache_free(struct jw *w)
{
    if (w->frags != NULL) {
        for (size_t i = 0; i < JW_FRAG_KINDS * JW_FRAG_SLOTS; i++) {
            free(w->frags[i].key);
            free(w->frags[i].text);
        }
    }
    free(w->frags);
    free(w->scratch);
    free(w->key);
    w->frags = NULL;
    w->scratch = NULL;
    w->key = NULL;
}

/* No cache when its memory cannot be had: everything is rendered directly. */
static void jw_cache_init(struct jw *w)
{
    w->frags = calloc(JW_FRAG_KINDS * JW_FRAG_SLOTS, sizeof(*w->frags));
    w->scratch = malloc(JW_FRAG_TEXT_MAX);
    w->key = malloc(sizeof(*w->key));
    if (w->frags == NULL || w->scratch == NULL || w->key == NULL)
        jw_cache_free(w);
}

/* ---- the report, value by value ----------------------------------------------- */

static const char *dir_name(int d)
{
    return d == DIR_CLIENT ? "client" : "server";
}

/* The next connection into the cache while this one is written: sw_conn()
 * reads a few dozen scattered lines of each 5 KB connection, a pattern the
 * hardware prefetcher does not follow (perf put sw_conn's time on its
 * first loads of them). */
static void conn_prefetch(const struct conn *c)
{
    const char *p = (const char *)c;

    for (size_t off = 0; off < sizeof(*c); off += 64)
        __builtin_prefetch(p + off);
}

static bool reported(const struct conn *c)
{
    return c != NULL && c->outcome != OUTCOME_NOT_TLS;
}

static void sw_endpoint(struct jw *w, const struct conn_endpoint *e)
{
    char ip[64];

    jw_open_flat(w);
    jw_key(w, "ip");
    jw_cstr(w, conn_ip_str(e, ip, sizeof(ip)));
    jw_key(w, "port");
    jw_int(w, e->port);
    jw_close(w);
}

static void sw_pair(struct jw *w, const char *key, uint64_t client, uint64_t server)
{
    jw_key(w, key);
    jw_open_flat(w);
    jw_key(w, "client");
    jw_uint(w, client);
    jw_key(w, "server");
    jw_uint(w, server);
    jw_close(w);
}

static void sw_tcp(struct jw *w, const struct conn_tcp *t)
{
    jw_open(w, false);
    jw_key(w, "syn_seen");
    jw_bool(w, t->syn_seen);
    jw_key(w, "fin_by");
    jw_open(w, true);
    for (int d = DIR_CLIENT; d <= DIR_SERVER; d++)
        if (t->fin[d])
            jw_cstr(w, dir_name(d));
    jw_close(w);
    jw_key(w, "rst_by");
    jw_open(w, true);
    for (int d = DIR_CLIENT; d <= DIR_SERVER; d++)
        if (t->rst[d])
            jw_cstr(w, dir_name(d));
    jw_close(w);
    sw_pair(w, "retransmissions", t->retrans[DIR_CLIENT], t->retrans[DIR_SERVER]);
    sw_pair(w, "gaps", t->gaps[DIR_CLIENT], t->gaps[DIR_SERVER]);
    sw_pair(w, "gap_bytes", t->gap_bytes[DIR_CLIENT], t->gap_bytes[DIR_SERVER]);
    jw_close(w);
}

static void sw_tcp_fn(struct jw *w, const void *arg)
{
    sw_tcp(w, arg);
}

static void sw_tcp_cached(struct jw *w, const struct conn_tcp *t)
{
    struct jw_key *k = key_start(w, JK_TCP);

    if (k != NULL) {
        key_u64(k, t->syn_seen);
        for (int d = DIR_CLIENT; d <= DIR_SERVER; d++) {
            key_u64(k, t->fin[d]);
            key_u64(k, t->rst[d]);
            key_u64(k, t->retrans[d]);
            key_u64(k, t->gaps[d]);
            key_u64(k, t->gap_bytes[d]);
        }
    }
    jw_cached(w, sw_tcp_fn, t);
}

static void sw_code(struct jw *w, uint16_t code, const char *name, bool grease_key)
{
    jw_open_flat(w);
    jw_key(w, "code");
    jw_hex16(w, code);
    jw_key(w, "name");
    jw_str(w, name);
    if (grease_key && tls_is_grease(code)) {
        jw_key(w, "grease");
        jw_bool(w, true);
    }
    jw_close(w);
}

static void sw_client_hello(struct jw *w, const struct conn_client_hello *h)
{
    jw_open(w, false);
    jw_key(w, "legacy_version");
    jw_hex16(w, h->legacy_version);
    jw_key(w, "supported_versions");
    jw_open(w, true);
    for (size_t i = 0; i < h->n_versions && i < CONN_MAX_VERSIONS; i++)
        jw_hex16(w, h->versions[i]);
    jw_close(w);
    jw_key(w, "sni");
    jw_str(w, h->sni);
    jw_key(w, "cipher_suites");
    jw_open(w, true);
    for (uint32_t i = 0; i < h->n_suites && h->suites != NULL; i++)
        sw_code(w, h->suites[i], tls_suite_name(w->names, h->suites[i]), true);
    jw_close(w);
    jw_key(w, "signature_algorithms");
    jw_open(w, true);
    for (size_t i = 0; i < h->n_sigalgs && i < CONN_MAX_SIGALGS; i++)
        sw_code(w, h->sigalgs[i], tls_sigalg_name(h->sigalgs[i]), false);
    jw_close(w);
    jw_key(w, "supported_groups");
    jw_open(w, true);
    for (size_t i = 0; i < h->n_groups && i < CONN_MAX_GROUPS; i++)
        sw_code(w, h->groups[i], tls_group_name(h->groups[i]), true);
    jw_close(w);
    jw_key(w, "alpn");
    jw_open(w, true);
    for (size_t i = 0; i < h->n_alpn && i < CONN_MAX_ALPN; i++)
        jw_str(w, h->alpn[i]);
    jw_close(w);
    jw_key(w, "session_id_length");
    jw_int(w, h->session_id_len);
    jw_key(w, "preferred_auth");
    jw_str(w, conn_auth_name(h->preferred_auth));
    jw_key(w, "ja3");
    jw_str_or_null(w, h->ja3);
    jw_key(w, "ja4");
    jw_str_or_null(w, h->ja4);
    jw_key(w, "sslv2");
    jw_bool(w, h->sslv2);
    jw_close(w);
}

static void sw_client_hello_fn(struct jw *w, const void *arg)
{
    sw_client_hello(w, arg);
}

/* The key holds everything sw_client_hello() reads, with the same caps. */
static void sw_client_hello_cached(struct jw *w, const struct conn_client_hello *h)
{
    struct jw_key *k = key_start(w, JK_HELLO);
    size_t n;

    if (k != NULL) {
        key_u64(k, h->legacy_version);
        n = h->n_versions < CONN_MAX_VERSIONS ? h->n_versions : CONN_MAX_VERSIONS;
        key_u64(k, n);
        key_put(k, h->versions, n * sizeof(h->versions[0]));
        key_str(k, h->sni);
        n = h->suites != NULL ? h->n_suites : 0;
        key_u64(k, n);
        key_put(k, h->suites, n * sizeof(h->suites[0]));
        n = h->n_sigalgs < CONN_MAX_SIGALGS ? h->n_sigalgs : CONN_MAX_SIGALGS;
        key_u64(k, n);
        key_put(k, h->sigalgs, n * sizeof(h->sigalgs[0]));
        n = h->n_groups < CONN_MAX_GROUPS ? h->n_groups : CONN_MAX_GROUPS;
        key_u64(k, n);
        key_put(k, h->groups, n * sizeof(h->groups[0]));
        n = h->n_alpn < CONN_MAX_ALPN ? h->n_alpn : CONN_MAX_ALPN;
        key_u64(k, n);
        for (size_t i = 0; i < n; i++)
            key_str(k, h->alpn[i]);
        key_u64(k, h->session_id_len);
        key_u64(k, (uint64_t)h->preferred_auth);
        key_str(k, h->ja3[0] ? h->ja3 : NULL);
        key_str(k, h->ja4[0] ? h->ja4 : NULL);
        key_u64(k, h->sslv2);
    }
    jw_cached(w, sw_client_hello_fn, h);
}

static void sw_server_hello(struct jw *w, const struct conn_server_hello *sh)
{
    char vbuf[16];
    const char *vname = tls_version_name(sh->version, vbuf, sizeof(vbuf));

    jw_open(w, false);
    jw_key(w, "version");
    if (vname != NULL)
        jw_cstr(w, vname);
    else
        jw_hex16(w, sh->version);
    jw_key(w, "cipher_suite");
    sw_code(w, sh->suite, tls_suite_name(w->names, sh->suite), false);
    jw_key(w, "auth");
    jw_str(w, conn_auth_name(sh->auth));
    jw_close(w);
}

static void sw_cert(struct jw *w, const struct x509_cert *c)
{
    if (c == NULL) {
        jw_null(w);
        return;
    }
    jw_open_as(w, false, !c->parsed);   /* unparsed: three scalars */
    if (!c->parsed) {
        jw_key(w, "sha256");
        jw_cstr(w, c->sha256_hex);
        jw_key(w, "parse_error");
        jw_str(w, c->parse_error ? c->parse_error : "unparseable");
        jw_key(w, "der_length");
        jw_uint(w, c->der_len);
        jw_close(w);
        return;
    }
    jw_key(w, "subject");
    jw_str(w, c->subject);
    jw_key(w, "issuer");
    jw_str(w, c->issuer);
    jw_key(w, "cn");
    jw_str(w, c->cn);
    jw_key(w, "san");
    jw_open(w, true);
    for (size_t i = 0; i < c->n_san && i < X509_MAX_SAN; i++)
        jw_str(w, c->san[i]);
    jw_close(w);
    jw_key(w, "key");
    jw_str(w, c->key);
    jw_key(w, "signature_algorithm");
    jw_str(w, c->signature_algorithm);
    jw_key(w, "not_before");
    if (c->not_before)
        jw_time_s(w, c->not_before);
    else
        jw_null(w);
    jw_key(w, "not_after");
    if (c->not_after)
        jw_time_s(w, c->not_after);
    else
        jw_null(w);
    jw_key(w, "serial");
    jw_str(w, c->serial);
    jw_key(w, "sha256");
    jw_cstr(w, c->sha256_hex);
    jw_key(w, "ski");
    jw_str(w, c->ski);
    jw_key(w, "aki");
    jw_str(w, c->aki);
    jw_key(w, "is_ca");
    jw_bool(w, c->is_ca);
    jw_key(w, "self_signed");
    jw_bool(w, c->self_signed);
    jw_close(w);
}

static void sw_certs(struct jw *w, const struct x509_cert *const *certs, size_t n)
{
    jw_open(w, true);
    for (size_t i = 0; i < n && i < CONN_MAX_CERTS; i++)
        sw_cert(w, certs[i]);
    jw_close(w);
}

struct sw_chain_arg {
    const struct x509_cert *const *certs;
    size_t n;
};

static void sw_certs_fn(struct jw *w, const void *arg)
{
    const struct sw_chain_arg *c = arg;

    sw_certs(w, c->certs, c->n);
}

/* Certificates are interned: the same pointer is the same certificate. */
static void sw_certs_cached(struct jw *w, const struct x509_cert *const *certs, size_t n)
{
    struct sw_chain_arg arg = { certs, n < CONN_MAX_CERTS ? n : CONN_MAX_CERTS };
    struct jw_key *k = key_start(w, JK_CERTS);

    if (k != NULL) {
        key_u64(k, arg.n);
        for (size_t i = 0; i < arg.n; i++)
            key_u64(k, (uint64_t)(uintptr_t)certs[i]);
    }
    jw_cached(w, sw_certs_fn, &arg);
}

static void sw_alert(struct jw *w, const struct conn_alert *al)
{
    jw_open_flat(w);
    jw_key(w, "from");
    jw_cstr(w, dir_name(al->from));
    if (al->encrypted) {
        jw_key(w, "level");
        jw_null(w);
        jw_key(w, "description");
        jw_null(w);
        jw_key(w, "code");
        jw_null(w);
    } else {
        jw_key(w, "level");
        jw_str(w, tls_alert_level_name(al->level));
        jw_key(w, "description");
        jw_str(w, tls_alert_name(al->description));
        jw_key(w, "code");
        jw_int(w, al->description);
    }
    jw_key(w, "encrypted");
    jw_bool(w, al->encrypted);
    if (al->decrypted) {   /* --keylog opened the record: only then */
        jw_key(w, "decrypted");
        jw_bool(w, true);
    }
    jw_key(w, "ts");
    jw_time_us(w, al->ts);
    jw_close(w);
}

static void sw_chain(struct jw *w, const char *key, const struct x509_verdict *v)
{
    jw_key(w, key);
    jw_open_flat(w);
    jw_key(w, "result");
    jw_cstr(w, x509_chain_result_name(v->result));
    jw_key(w, "depth");
    jw_int(w, v->depth);
    jw_key(w, "openssl_error");
    jw_str_or_null(w, v->openssl_error);
    jw_close(w);
}

static void sw_verification(struct jw *w, const struct conn_verification *v)
{
    jw_open(w, false);
    jw_key(w, "time");
    jw_time_s(w, v->time);
    jw_key(w, "expected_name");
    jw_str_or_null(w, v->expected_name);
    jw_key(w, "name_source");
    jw_str(w, x509_name_source_name(v->name_source));
    sw_chain(w, "chain", &v->verdict);
    jw_key(w, "name");
    jw_open_flat(w);
    jw_key(w, "ok");
    if (v->verdict.name_checked)
        jw_bool(w, v->verdict.name_ok);
    else
        jw_null(w);
    jw_key(w, "matched");
    jw_str_or_null(w, v->verdict.matched);
    jw_close(w);
    if (v->now_differs)
        sw_chain(w, "chain_now", &v->verdict_now);
    if (v->client_done)
        sw_chain(w, "client_chain", &v->client_verdict);
    jw_close(w);
}

static void sw_verification_fn(struct jw *w, const void *arg)
{
    sw_verification(w, arg);
}

static void key_verdict(struct jw_key *k, const struct x509_verdict *v, bool name)
{
    key_u64(k, (uint64_t)v->result);
    key_u64(k, (uint64_t)(int64_t)v->depth);
    key_str(k, v->openssl_error);
    if (name) {
        key_u64(k, v->name_checked);
        key_u64(k, v->name_ok);
        key_str(k, v->matched);
    }
}

static void sw_verification_cached(struct jw *w, const struct conn_verification *v)
{
    struct jw_key *k = key_start(w, JK_VERIFY);

    if (k != NULL) {
        key_u64(k, (uint64_t)v->time);
        key_str(k, v->expected_name[0] ? v->expected_name : NULL);
        key_u64(k, (uint64_t)v->name_source);
        key_verdict(k, &v->verdict, true);
        key_u64(k, v->now_differs);
        if (v->now_differs)
            key_verdict(k, &v->verdict_now, false);
        key_u64(k, v->client_done);
        if (v->client_done)
            key_verdict(k, &v->client_verdict, false);
    }
    jw_cached(w, sw_verification_fn, v);
}

static void sw_conn(struct jw *w, const struct conn *c)
{
    jw_open(w, false);
    jw_key(w, "id");
    jw_uint(w, c->id);
    jw_key(w, "client");
    sw_endpoint(w, &c->client);
    jw_key(w, "server");
    sw_endpoint(w, &c->server);
    jw_key(w, "role");
    jw_cstr(w, role_name(c->role));
    jw_key(w, "start_ts");
    jw_time_us(w, c->first_ts);
    jw_key(w, "outcome");
    jw_cstr(w, conn_outcome_name(c->outcome));
    jw_key(w, "tcp");
    sw_tcp_cached(w, &c->tcp);

    jw_key(w, "client_hello");
    if (c->n_ch > 0)
        sw_client_hello_cached(w, &c->ch[0]);
    else
        jw_null(w);
    if (c->n_ch > 1) {
        jw_key(w, "client_hello_retry");
        sw_client_hello_cached(w, &c->ch[1]);
    }
    jw_key(w, "server_hello");
    if (c->sh.present)
        sw_server_hello(w, &c->sh);
    else
        jw_null(w);
    if (c->sh_hrr.hrr) {
        jw_key(w, "hello_retry_request");
        jw_bool(w, true);
    }

    jw_key(w, "server_certificates");
    sw_certs_cached(w, c->server_certs, c->n_server_certs);
    jw_key(w, "certificate_request");
    jw_bool(w, c->certificate_request);
    jw_key(w, "client_certificates");
    sw_certs_cached(w, c->client_certs, c->n_client_certs);

    jw_key(w, "alerts");
    jw_open(w, true);
    for (size_t i = 0; i < c->n_alerts && i < CONN_MAX_ALERTS; i++)
        sw_alert(w, &c->alerts[i]);
    jw_close(w);

    jw_key(w, "verification");
    if (c->verify.done)
        sw_verification_cached(w, &c->verify);
    else
        jw_null(w);

    jw_key(w, "findings");
    jw_open(w, true);
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++) {
        const struct conn_finding *f = &c->findings[i];

        jw_open_flat(w);
        jw_key(w, "id");
        jw_cstr(w, finding_name(f->id));
        jw_key(w, "severity");
        jw_cstr(w, finding_severity_name(f->severity));
        jw_key(w, "message");
        jw_str(w, f->message);
        jw_key(w, "remedy");
        jw_str(w, f->remedy);
        jw_close(w);
    }
    jw_close(w);

    if (c->tls13_note != NULL) {
        jw_key(w, "tls13_note");
        jw_str(w, c->tls13_note);
    }
    if (c->malformed[DIR_CLIENT] || c->malformed[DIR_SERVER]) {
        jw_key(w, "malformed");
        jw_open(w, true);
        for (int d = DIR_CLIENT; d <= DIR_SERVER; d++) {
            char *why = NULL;

            if (!c->malformed[d])
                continue;
            if (asprintf(&why, "%s: %s", dir_name(d),
                         c->malformed_why[d] ? c->malformed_why[d] : "malformed") < 0) {
                w->oom = true;
                continue;
            }
            jw_str(w, why);
            free(why);
        }
        jw_close(w);
    }
    jw_close(w);
}

/* summary.findings: {"ID": count} over connections and global findings,
 * keys in name order (stable whatever order the X-macro table has). */
static void sw_finding_counts(struct jw *w)
{
    uint64_t count[FINDING_COUNT] = {0};
    int order[FINDING_COUNT];
    const struct analysis *a = w->a;

    for (size_t i = 0; i < a->nconns; i++) {
        const struct conn *c = a->conns[i];
        if (!reported(c))
            continue;
        for (size_t k = 0; k < c->n_findings && k < CONN_MAX_FINDINGS; k++)
            if (c->findings[k].id >= 0 && c->findings[k].id < FINDING_COUNT)
                count[c->findings[k].id]++;
    }
    for (size_t i = 0; i < a->nglobal; i++)
        if (a->global[i].id >= 0 && a->global[i].id < FINDING_COUNT)
            count[a->global[i].id]++;

    /* insertion sort by name: FINDING_COUNT is small */
    for (int i = 0; i < FINDING_COUNT; i++) {
        int k = i;
        while (k > 0 && strcmp(finding_name(order[k - 1]), finding_name(i)) > 0) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }

    jw_open_flat(w);
    for (int i = 0; i < FINDING_COUNT; i++) {
        if (count[order[i]] > 0) {
            jw_key(w, finding_name(order[i]));
            jw_uint(w, count[order[i]]);
        }
    }
    jw_close(w);
}

static void sw_summary(struct jw *w)
{
    uint64_t n = 0, by[OUTCOME_ENCRYPTED + 1] = {0};
    const struct analysis *a = w->a;

    for (size_t i = 0; i < a->nconns; i++) {
        const struct conn *c = a->conns[i];
        if (!reported(c))
            continue;
        n++;
        if ((unsigned)c->outcome <= OUTCOME_ENCRYPTED)
            by[c->outcome]++;
    }
    jw_open(w, false);
    jw_key(w, "connections");
    jw_uint(w, n);
    /* all four keys always present, so consumers need no defaults */
    jw_key(w, "by_outcome");
    jw_open_flat(w);
    jw_key(w, "complete");
    jw_uint(w, by[OUTCOME_COMPLETE]);
    jw_key(w, "failed");
    jw_uint(w, by[OUTCOME_FAILED]);
    jw_key(w, "incomplete");
    jw_uint(w, by[OUTCOME_INCOMPLETE]);
    jw_key(w, "encrypted");
    jw_uint(w, by[OUTCOME_ENCRYPTED]);
    jw_close(w);
    jw_key(w, "findings");
    sw_finding_counts(w);
    jw_close(w);
}

static void sw_inputs(struct jw *w)
{
    const struct analysis *a = w->a;

    jw_open(w, true);
    for (size_t i = 0; i < a->ninputs; i++) {
        const struct cap_input *in = &a->inputs[i];

        jw_open_flat(w);
        jw_key(w, "file");
        jw_str(w, in->file ? in->file : "");
        jw_key(w, "format");
        jw_str(w, in->format);
        jw_key(w, "linktype");
        jw_str(w, in->linktype_name);
        jw_key(w, "packets");
        jw_uint(w, in->packets);
        jw_key(w, "bytes");
        jw_uint(w, in->bytes);
        jw_key(w, "truncated");
        jw_bool(w, in->truncated);
        if (in->truncated) {
            jw_key(w, "error");
            jw_str(w, in->error);
        }
        jw_close(w);
    }
    jw_close(w);
}

/* "problems": one per root cause, worst first (problems.h); "ssh_tunnels"
 * only when the capture has some. */
static void sw_problems(struct jw *w)
{
    struct problems p;
    char sb[64];

    if (problems_build(w->a, &p) != TI_OK) {
        w->oom = true;
        return;
    }
    jw_key(w, "problems");
    jw_open(w, true);
    for (size_t i = 0; i < p.n; i++) {
        const struct problem *pr = &p.v[i];
        jw_open(w, false);
        jw_key(w, "cause");
        jw_cstr(w, finding_name(pr->cause));
        jw_key(w, "severity");
        jw_cstr(w, finding_severity_name(pr->severity));
        jw_key(w, "role");
        jw_cstr(w, role_name(pr->role));
        jw_key(w, "servers");
        jw_open(w, true);
        for (size_t k = 0; k < pr->nservers; k++)
            jw_str(w, problems_server_str(&pr->servers[k], sb, sizeof(sb)));
        jw_close(w);
        jw_key(w, "connections");
        jw_uint(w, pr->connections);
        jw_key(w, "failed");
        jw_uint(w, pr->failed);
        jw_key(w, "certificate");
        jw_str_or_null(w, pr->leaf != NULL ? pr->leaf->sha256_hex : NULL);
        jw_key(w, "summary");
        jw_str(w, pr->summary);
        jw_key(w, "fix");
        jw_str(w, pr->fix);
        jw_key(w, "workaround");
        jw_str_or_null(w, pr->workaround);
        jw_key(w, "references");
        jw_open(w, true);
        for (size_t k = 0; k < pr->nrefs; k++)
            jw_cstr(w, pr->references[k]);
        jw_close(w);
        jw_close(w);
    }
    jw_close(w);
    problems_free(&p);
    if (w->a->nssh > 0) {
        jw_key(w, "ssh_tunnels");
        jw_open(w, true);
        for (size_t i = 0; i < w->a->nssh; i++) {
            jw_open_flat(w);
            jw_key(w, "client");
            jw_str(w, conn_ip_str(&w->a->ssh[i].client, sb, sizeof(sb)));
            jw_key(w, "server");
            jw_str(w, problems_server_str(&w->a->ssh[i].server, sb, sizeof(sb)));
            jw_key(w, "connections");
            jw_uint(w, w->a->ssh[i].conns);
            jw_close(w);
        }
        jw_close(w);
    }
}

/* with_conns false: "connections" is left an empty array */
static void sw_document(struct jw *w, const struct report_opts *o, bool with_conns)
{
    const struct analysis *a = w->a;
    bool have_ts = a->packets > 0;

    jw_open(w, false);
    jw_key(w, "tool");
    jw_open_flat(w);
    jw_key(w, "name");
    jw_cstr(w, "tlsinspect");
    jw_key(w, "version");
    jw_str(w, o->version ? o->version : "unknown");
    jw_close(w);
    jw_key(w, "inputs");
    sw_inputs(w);
    jw_key(w, "first_ts");
    if (have_ts)
        jw_time_us(w, a->first_ts);
    else
        jw_null(w);
    jw_key(w, "last_ts");
    if (have_ts)
        jw_time_us(w, a->last_ts);
    else
        jw_null(w);
    sw_problems(w);

    jw_key(w, "connections");
    jw_open(w, true);
    for (size_t i = 0; i < a->nconns && with_conns && !jw_failed(w); i++) {
        if (i + 1 < a->nconns)
            conn_prefetch(a->conns[i + 1]);
        if (reported(a->conns[i]))
            sw_conn(w, a->conns[i]);
    }
    jw_close(w);
    jw_key(w, "summary");
    sw_summary(w);

    /* capture-level findings (CAPTURE_TRUNCATED, LIMIT_REACHED): not in
     * SPEC's sketch, but they belong in a fixture */
    jw_key(w, "findings");
    jw_open(w, true);
    for (size_t i = 0; i < a->nglobal; i++) {
        const struct analyze_global_finding *g = &a->global[i];

        jw_open_flat(w);
        jw_key(w, "id");
        jw_cstr(w, finding_name(g->id));
        jw_key(w, "severity");
        jw_cstr(w, finding_severity_name(finding_severity(g->id)));
        jw_key(w, "message");
        jw_str(w, g->message);
        jw_close(w);
    }
    jw_close(w);

    jw_key(w, "warnings");
    jw_open(w, true);
    for (size_t i = 0; i < a->nwarnings && i < ANALYZE_MAX_WARNINGS; i++)
        jw_str(w, a->warnings[i]);
    if (a->warnings_dropped > 0) {
        char buf[96];
        snprintf(buf, sizeof(buf), "%" PRIu64 " further warnings not kept", a->warnings_dropped);
        jw_cstr(w, buf);
    }
    jw_close(w);
    jw_close(w);
}

/* A writer to `out`, or (out NULL) into memory up to `limit` bytes.  The
 * fragment cache is left out when its memory cannot be had. */
static int jw_begin(struct jw *w, FILE *out, const struct analysis *a, bool compact, size_t limit)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->a = a;
    w->names = a->names;
    w->compact = compact;
    w->cap = JW_BUF;
    w->limit = limit;
    w->fd = -1;
    /* Whatever the caller wrote through the FILE goes first; after that
     * the document bypasses stdio (JW_BUF_ALIGN).  No descriptor (a memory
     * stream): fwrite(). */
    if (out != NULL && fflush(out) == 0)
        w->fd = fileno(out);
    else if (out != NULL)
        w->err = true;
    if (w->fd >= 0)                 /* NULL (no thread): jw_write_out() writes */
        w->q = outq_start(w->fd, JW_OUT_BUFS, JW_BUF, JW_BUF_ALIGN);
    w->buf = w->q != NULL ? outq_buffer(w->q) : aligned_alloc(JW_BUF_ALIGN, JW_BUF);
    if (w->buf == NULL)
        return TI_ENOMEM;
    jw_cache_init(w);
    return TI_OK;
}

/* Free the writer; with a writer thread, wait for it to write everything
 * (a failure sets err and errno for the caller's message). */
static void jw_end(struct jw *w)
{
    if (w->q != NULL) {
        int e = outq_finish(w->q);  /* its buffers, buf among them, go with it */
        if (e != 0) {
            w->err = true;
            errno = e;
        }
        w->q = NULL;
    } else {
        free(w->buf);
    }
    w->buf = NULL;
    jw_cache_free(w);
}

int report_json(FILE *out, const struct analysis *a, const struct report_opts *o)
{
    struct jw w;

    if (jw_begin(&w, out, a, o->format == REPORT_JSONL, 0) != TI_OK)
        return TI_ENOMEM;
    if (o->format == REPORT_JSONL) {
        /* SPEC: one connection object per line, nothing else */
        for (size_t i = 0; i < a->nconns && !jw_failed(&w); i++) {
            if (!reported(a->conns[i]))
                continue;
            sw_conn(&w, a->conns[i]);
            jw_putc(&w, '\n');
        }
    } else {
        sw_document(&w, o, true);
        jw_putc(&w, '\n');
    }
    jw_flush(&w);
    jw_end(&w);
    if (w.oom)
        return TI_ENOMEM;
    if (w.err || fflush(out) != 0 || ferror(out))
        return TI_EIO;
    return TI_OK;
}

/* The text in w's buffer, parsed by jansson; the buffer is emptied. */
static json_t *jw_parse(struct jw *w)
{
    json_t *v = NULL;

    if (!jw_failed(w))
        v = json_loadb(w->buf, w->len, 0, NULL);
    w->len = 0;
    return v;
}

/* The same document, parsed back (jansson keeps the keys in document
 * order).  Compact text parses faster, and rendering the document without
 * its connections and then each connection on its own keeps one
 * connection's text in memory rather than the whole report's. */
json_t *report_json_document(const struct analysis *a, const struct report_opts *o)
{
    struct jw w;
    json_t *doc, *conns;

    if (jw_begin(&w, NULL, a, true, JW_MEM_MAX) != TI_OK)
        return NULL;
    sw_document(&w, o, false);
    doc = jw_parse(&w);
    conns = json_object_get(doc, "connections");
    if (conns == NULL) {
        json_decref(doc);
        doc = NULL;
    }
    for (size_t i = 0; i < a->nconns && doc != NULL; i++) {
        if (!reported(a->conns[i]))
            continue;
        sw_conn(&w, a->conns[i]);
        if (json_array_append_new(conns, jw_parse(&w)) != 0) {
            json_decref(doc);
            doc = NULL;
        }
    }
    jw_end(&w);
    return doc;
}

/* ---- jansson values in the same layout ------------------------------------------ */

/* An object with members, all of them scalars: one line. */
static bool dump_flat(const json_t *v)
{
    const char *k;
    json_t *x;

    if (!json_is_object(v) || json_object_size(v) == 0)
        return false;
    json_object_foreach((json_t *)v, k, x) {
        if (json_is_object(x) || json_is_array(x))
            return false;
    }
    return true;
}

static int dump_indent(FILE *out, int level)
{
    if (fputc('\n', out) == EOF)
        return -1;
    for (int i = 0; i < level * 2; i++)
        if (fputc(' ', out) == EOF)
            return -1;
    return 0;
}

/* The key as a JSON string: jansson escapes it as it escapes values. */
static int dump_key(FILE *out, const char *key, size_t len)
{
    json_t *s = json_stringn_nocheck(key, len);
    int rc = s != NULL ? json_dumpf(s, out, JSON_ENCODE_ANY) : -1;

    json_decref(s);
    return rc != 0 || fputs(": ", out) == EOF ? -1 : 0;
}

/* Recursion as deep as the value: jansson's parser bounds that (2048). */
static int dump_value(FILE *out, const json_t *v, int level)
{
    size_t n;
    int rc = 0;

    if (!json_is_object(v) && !json_is_array(v))
        return json_dumpf(v, out, JSON_ENCODE_ANY);
    n = json_is_object(v) ? json_object_size(v) : json_array_size(v);
    if (n == 0 || dump_flat(v))     /* {} [] and objects of scalars: as jansson without indent */
        return json_dumpf(v, out, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (fputc(json_is_object(v) ? '{' : '[', out) == EOF)
        return -1;
    if (json_is_object(v)) {
        size_t i = 0;
        for (void *it = json_object_iter((json_t *)v); it && rc == 0;
             it = json_object_iter_next((json_t *)v, it), i++) {
            if ((i > 0 && fputc(',', out) == EOF) || dump_indent(out, level + 1) != 0 ||
                dump_key(out, json_object_iter_key(it), json_object_iter_key_len(it)) != 0)
                return -1;
            rc = dump_value(out, json_object_iter_value(it), level + 1);
        }
    } else {
        for (size_t i = 0; i < n && rc == 0; i++) {
            if ((i > 0 && fputc(',', out) == EOF) || dump_indent(out, level + 1) != 0)
                return -1;
            rc = dump_value(out, json_array_get(v, i), level + 1);
        }
    }
    if (rc != 0 || dump_indent(out, level) != 0)
        return -1;
    return fputc(json_is_object(v) ? '}' : ']', out) == EOF ? -1 : 0;
}

int report_json_dumpf(FILE *out, const json_t *v)
{
    if (v == NULL || dump_value(out, v, 0) != 0 || fputc('\n', out) == EOF)
        return TI_EIO;
    return TI_OK;
}
