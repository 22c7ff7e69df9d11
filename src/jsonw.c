/* jsonw.c - the streaming JSON writer and its fragment cache (jsonw.h).
 *
 * Output: a FILE is written through a 256 KiB page-aligned buffer.  With a
 * file descriptor under the FILE, full buffers go out by write(2) straight
 * from it, bypassing stdio: fwrite() would first top up stdio's buffer and
 * then write from an unaligned address, and the kernel's copy from a source
 * that is not 64-byte aligned runs several times slower on some CPUs (see
 * CAP_BUF_ALIGN in capture.c).  A writer thread (outq.h) writes full
 * buffers while the next is filled, since writing a report into the page
 * cache costs about as much as making it.  Memory mode grows one buffer up
 * to the caller's limit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tlsinspect/err.h"
#include "tlsinspect/hash.h"
#include "tlsinspect/hex.h"
#include "tlsinspect/jsonw.h"
#include "tlsinspect/outq.h"
#include "tlsinspect/report.h"           /* report_utf8_seq() */

#define JW_BUF (256u * 1024u)
#define JW_BUF_ALIGN 4096u
#define JW_OUT_BUFS 3               /* one filling, one writing, one queued */

/* The fragment cache: one table per kind of value (so values that change
 * often, such as verdicts judged at each second, never push out the rest);
 * a key may sit in any of JW_FRAG_WAYS slots from where it hashes, and a
 * new one replaces the least recently used of those.  Keys longer than
 * JW_FRAG_KEY_MAX and texts longer than JW_FRAG_TEXT_MAX are not cached. */
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

struct jw_fkey {                    /* a fragment key being built */
    unsigned kind;
    uint8_t b[JW_FRAG_KEY_MAX];
    size_t n;
    bool over;                      /* too long: do not cache */
};

/* ---- output ------------------------------------------------------------------------ */

bool jw_failed(const struct jw *w)
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

void jw_flush(struct jw *w)
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

void jw_put(struct jw *w, const char *p, size_t n)
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

void jw_putc(struct jw *w, char c)
{
    if (w->len < w->cap || jw_room(w, 1))
        w->buf[w->len++] = c;
}

/* ---- layout ------------------------------------------------------------------------ */

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

void jw_key(struct jw *w, const char *key)
{
    jw_key_n(w, key, strlen(key));
}

/* An object (flat: one whose members are all scalars) or an array. */
void jw_open_as(struct jw *w, bool arr, bool flat)
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

void jw_open(struct jw *w, bool arr)
{
    jw_open_as(w, arr, false);
}

/* An object whose members are all scalars (strings, numbers, booleans, null). */
void jw_open_flat(struct jw *w)
{
    jw_open_as(w, false, true);
}

void jw_close(struct jw *w)
{
    if (w->depth == 0)
        return;
    w->depth--;
    if (w->count[w->depth] > 0 && !w->flat[w->depth])
        jw_indent(w, w->depth);
    jw_putc(w, w->is_arr[w->depth] ? ']' : '}');
}

/* ---- values ------------------------------------------------------------------------ */

static void jw_lit(struct jw *w, const char *lit)
{
    jw_before(w);
    jw_put(w, lit, strlen(lit));
}

void jw_null(struct jw *w)
{
    jw_lit(w, "null");
}

void jw_bool(struct jw *w, bool v)
{
    jw_lit(w, v ? "true" : "false");
}

void jw_int(struct jw *w, int64_t v)
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
void jw_uint(struct jw *w, uint64_t v)
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
void jw_string(struct jw *w, const char *s)
{
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
            esc[3] = hex_digit(c >> 4);
            esc[4] = hex_digit(c);
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
                esc[4] = hex_digit_uc(c >> 4);
                esc[5] = hex_digit_uc(c);
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
void jw_str(struct jw *w, const char *s)
{
    if (s == NULL)
        jw_null(w);
    else
        jw_string(w, s);
}

/* A string that must exist: NULL fails the text (oom). */
void jw_cstr(struct jw *w, const char *s)
{
    if (s == NULL)
        w->oom = true;
    jw_str(w, s);
}

/* A field where NULL or "" means absent (ja3, openssl_error, ...). */
void jw_str_or_null(struct jw *w, const char *s)
{
    jw_str(w, s != NULL && s[0] ? s : NULL);
}

void jw_hex16(struct jw *w, uint16_t v)
{
    char b[7] = {'0', 'x'};

    hex_u16(v, b + 2);
    jw_string(w, b);
}

/* ---- times ------------------------------------------------------------------------- */

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

void jw_time_s(struct jw *w, int64_t sec)
{
    jw_time(w, sec, 0, false);
}

/* Seconds rounded towards minus infinity (timestamps before 1970 are odd
 * but must not print a negative fraction). */
void jw_time_us(struct jw *w, int64_t us)
{
    int64_t sec = us / 1000000, frac = us % 1000000;

    if (frac < 0) {
        frac += 1000000;
        sec -= 1;
    }
    jw_time(w, sec, frac, true);
}

/* ---- fragment cache ---------------------------------------------------------------- */

void jw_frag_put(struct jw *w, const void *p, size_t n)
{
    struct jw_fkey *k = w->fkey;

    if (k == NULL || k->over || n > sizeof(k->b) - k->n) {
        if (k != NULL)
            k->over = true;
        return;
    }
    if (n > 0)                      /* p may be NULL for an empty list */
        memcpy(k->b + k->n, p, n);
    k->n += n;
}

/* Most of a key: small enough to store in place. */
void jw_frag_u64(struct jw *w, uint64_t v)
{
    struct jw_fkey *k = w->fkey;

    if (k != NULL && !k->over && sizeof(v) <= sizeof(k->b) - k->n) {
        memcpy(k->b + k->n, &v, sizeof(v));
        k->n += sizeof(v);
    } else if (k != NULL) {
        k->over = true;
    }
}

/* A string, told apart from NULL and from its neighbours by its length. */
void jw_frag_str(struct jw *w, const char *s)
{
    size_t n;

    if (s == NULL) {
        jw_frag_u64(w, UINT64_MAX);
        return;
    }
    n = strlen(s);
    jw_frag_u64(w, n);
    jw_frag_put(w, s, n);
}

/* Every key starts with what else shapes the text: kind, depth, mode. */
bool jw_frag_start(struct jw *w, unsigned kind)
{
    struct jw_fkey *k = w->fkey;

    if (k == NULL || w->frags == NULL)
        return false;
    k->kind = kind;
    k->n = 0;
    k->over = kind >= JW_FRAG_KINDS;
    jw_frag_u64(w, kind);
    jw_frag_u64(w, (uint64_t)w->depth);
    jw_frag_u64(w, w->compact);
    return true;
}

/* Keep a copy of key and text in slot f (left as it was without memory). */
static void frag_store(struct jw *w, struct jw_frag *f, uint64_t h, const char *text, size_t len)
{
    const struct jw_fkey *k = w->fkey;
    uint8_t *kcopy = malloc(k->n ? k->n : 1);
    char *tcopy = malloc(len ? len : 1);

    if (kcopy == NULL || tcopy == NULL) {
        free(kcopy);
        free(tcopy);
        return;
    }
    free(f->key);
    free(f->text);
    memcpy(kcopy, k->b, k->n);
    memcpy(tcopy, text, len);
    f->hash = h;
    f->used = ++w->tick;
    f->key = kcopy;
    f->key_len = k->n;
    f->text = tcopy;
    f->text_len = len;
}

void jw_cached(struct jw *w, void (*fn)(struct jw *, const void *), const void *arg)
{
    struct jw_fkey *k = w->fkey;
    struct jw_frag *set, *f = NULL;
    struct jw m;
    uint64_t h;

    if (w->frags == NULL || k == NULL || k->over) {
        fn(w, arg);
        return;
    }
    h = ti_hash_bytes(k->b, k->n);
    set = &w->frags[(size_t)k->kind * JW_FRAG_SLOTS];
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
    m.q = NULL;
    m.buf = w->scratch;
    m.len = 0;
    m.cap = m.limit = JW_FRAG_TEXT_MAX;
    m.err = m.oom = m.toobig = false;
    m.frags = NULL;
    m.fkey = NULL;
    fn(&m, arg);
    if (m.oom) {
        w->oom = true;
        return;
    }
    if (m.toobig) {
        fn(w, arg);
        return;
    }
    frag_store(w, f, h, m.buf, m.len);
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
    free(w->fkey);
    w->frags = NULL;
    w->scratch = NULL;
    w->fkey = NULL;
}

/* No cache when its memory cannot be had: everything is rendered directly. */
static void jw_cache_init(struct jw *w)
{
    w->frags = calloc(JW_FRAG_KINDS * JW_FRAG_SLOTS, sizeof(*w->frags));
    w->scratch = malloc(JW_FRAG_TEXT_MAX);
    w->fkey = malloc(sizeof(*w->fkey));
    if (w->frags == NULL || w->scratch == NULL || w->fkey == NULL)
        jw_cache_free(w);
}

/* ---- begin, end ---------------------------------------------------------------------- */

int jw_begin(struct jw *w, FILE *out, bool compact, size_t limit, const void *ctx)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->ctx = ctx;
    w->compact = compact;
    w->cap = out == NULL && limit < JW_BUF ? limit : JW_BUF;
    w->limit = limit;
    w->fd = -1;
    /* Whatever the caller wrote through the FILE goes first.  No descriptor
     * (a memory stream): fwrite(). */
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

void jw_end(struct jw *w)
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

json_t *jw_parse(struct jw *w)
{
    json_t *v = NULL;

    if (!jw_failed(w))
        v = json_loadb(w->buf, w->len, 0, NULL);
    w->len = 0;
    return v;
}

const char *jw_text(const struct jw *w, size_t *len)
{
    *len = w->len;
    return w->buf;
}

void jw_clear(struct jw *w)
{
    w->len = 0;
}

void jw_close_raw(struct jw *w)
{
    if (w->depth > 0)
        w->depth--;
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

int jw_dumpf(FILE *out, const json_t *v)
{
    if (v == NULL || dump_value(out, v, 0) != 0 || fputc('\n', out) == EOF)
        return -1;
    return 0;
}