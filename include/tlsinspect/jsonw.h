/* jsonw.h - a streaming JSON writer with jansson's layout, and a fragment cache.
 *
 * The writer makes JSON text value by value, to a FILE or into memory,
 * without building a tree.  The bytes are what jansson's json_dumpf()
 * writes: with indentation, a newline and two spaces per level before each
 * member, "key": value, "," between members, {} and [] when empty; an
 * object opened with jw_open_flat() (one whose members are all scalars)
 * sits on one line, members separated by ", ", as json_dumpf() writes it
 * without indentation; compact mode has none of the white space.  The
 * golden reports pin this format.
 *
 *   struct jw w;
 *   jw_begin(&w, out, compact, 0, ctx);      or (NULL, compact, limit, ctx): in memory
 *   jw_open(&w, false); jw_key(&w, "n"); jw_int(&w, 1); jw_close(&w);
 *   jw_flush(&w); jw_end(&w);                then w.err / w.oom say how it went
 *
 * Errors are sticky: a write error sets err, memory or a misuse (a
 * container inside a flat object, nesting past JW_MAX_DEPTH, NULL for a
 * required string) sets oom, an in-memory text past its limit sets toobig;
 * jw_failed() says whether any did.  Calls after a failure are harmless.
 *
 * Strings are escaped as jansson escapes them (\" \\ \b \f \n \r \t, other
 * C0 controls as \u00XX); valid UTF-8 passes through; a byte that is not
 * part of valid UTF-8 becomes the text "\xNN" (its backslash escaped), so
 * wire strings can never make the document invalid.
 *
 * Fragment cache: a value whose text depends only on some input bytes (the
 * same ClientHello in thousands of connections) can be rendered once and
 * copied afterwards.  The caller describes the value in a key
 * (jw_frag_start() and jw_frag_*), then calls jw_cached() with the function
 * that renders it; the key must hold everything the function reads.
 *
 * Fields of struct jw are the module's; callers read err/oom/toobig and ctx.
 */
#ifndef TLSINSPECT_JSONW_H
#define TLSINSPECT_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_t;

#define JW_MAX_DEPTH 16
#define JW_FRAG_KINDS 4             /* kinds of cached values, 0..JW_FRAG_KINDS-1 */

struct jw_frag;
struct jw_fkey;

struct jw {
    FILE *out;                      /* NULL: the text stays in buf */
    int fd;                         /* out's descriptor, or -1: write with fwrite() */
    struct outq *q;                 /* fd's writer thread; NULL: write(2) here */
    const void *ctx;                /* the caller's, for its render functions */
    char *buf;
    size_t len, cap;
    size_t limit;                   /* out == NULL: buf grows up to this */
    bool compact;
    int depth;                      /* containers open */
    bool is_arr[JW_MAX_DEPTH];
    bool flat[JW_MAX_DEPTH];        /* an object of scalars: on one line */
    uint32_t count[JW_MAX_DEPTH];   /* members written in each */
    bool err;                       /* a write failed (errno says why) */
    bool oom;                       /* out of memory, or a value that cannot be written */
    bool toobig;                    /* out == NULL: the text passed the limit */
    struct jw_frag *frags;          /* the fragment cache, or NULL: none */
    char *scratch;                  /* where a fragment is rendered */
    struct jw_fkey *fkey;           /* the fragment key being built */
    uint64_t tick;
};

/* A writer to out, or (out NULL) into memory up to limit bytes; ctx is
 * kept for the caller.  Output already buffered in out is flushed first;
 * after that the text bypasses stdio when out has a descriptor, and a
 * writer thread (outq.h) writes full buffers while the next is filled.
 * TI_OK, or TI_ENOMEM (nothing to free). */
int jw_begin(struct jw *w, FILE *out, bool compact, size_t limit, const void *ctx);

/* Everything buffered to the output (nothing in memory mode). */
void jw_flush(struct jw *w);

/* Free the writer; with a writer thread, wait until everything is written
 * (a failure sets err, and errno for the caller's message). */
void jw_end(struct jw *w);

bool jw_failed(const struct jw *w);

/* Memory mode: the text so far, parsed by jansson (NULL on failure); the
 * buffer is emptied for the next value. */
struct json_t *jw_parse(struct jw *w);

/* Memory mode: the text made so far (not NUL-terminated), and emptying it
 * (the layout state stays: the next value is made as if it followed). */
const char *jw_text(const struct jw *w, size_t *len);
void jw_clear(struct jw *w);

/* The innermost container was finished by raw text (jw_put) that ends with
 * its closing bracket: a connection rendered earlier, written behind the
 * members the caller wrote itself (its "id"). */
void jw_close_raw(struct jw *w);

/* Raw bytes, outside the layout (a newline between JSONL records). */
void jw_put(struct jw *w, const char *p, size_t n);
void jw_putc(struct jw *w, char c);

/* Containers: an array or an object; jw_open_flat() an object of scalars;
 * jw_open_as() either of the objects, flat or not. */
void jw_open(struct jw *w, bool arr);
void jw_open_flat(struct jw *w);
void jw_open_as(struct jw *w, bool arr, bool flat);
void jw_close(struct jw *w);

/* An object member's key: ASCII the caller controls, written unescaped. */
void jw_key(struct jw *w, const char *key);

/* Values (in an array, each adds its separator). */
void jw_null(struct jw *w);
void jw_bool(struct jw *w, bool v);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);       /* saturates at INT64_MAX, as jansson holds it */
void jw_string(struct jw *w, const char *s);  /* s not NULL */
void jw_str(struct jw *w, const char *s);     /* NULL: null */
void jw_cstr(struct jw *w, const char *s);    /* NULL: the document fails (oom) */
void jw_str_or_null(struct jw *w, const char *s);   /* NULL or "": null */
void jw_hex16(struct jw *w, uint16_t v);      /* "0x1301" */
/* RFC 3339 UTC: seconds ("2025-01-01T00:00:00Z"), or microseconds since
 * the epoch with a six-digit fraction; null when not representable. */
void jw_time_s(struct jw *w, int64_t sec);
void jw_time_us(struct jw *w, int64_t us);

/* ---- fragment cache ---- */

/* Start the key of a value of this kind; false when there is no cache
 * (then the jw_frag_* calls are not needed: jw_cached() renders). */
bool jw_frag_start(struct jw *w, unsigned kind);
void jw_frag_put(struct jw *w, const void *p, size_t n);
void jw_frag_u64(struct jw *w, uint64_t v);
void jw_frag_str(struct jw *w, const char *s);   /* NULL differs from "" */

/* The value fn(w, arg) renders, as an object member's value (after
 * jw_key(), which wrote the separator): copied from the cache when the key
 * was seen before, else rendered, remembered and written.  A new key
 * replaces the least recently used of a few candidate slots; keys and
 * texts too large to keep are rendered every time. */
void jw_cached(struct jw *w, void (*fn)(struct jw *, const void *), const void *arg);

/* Any jansson value v written in the same indented layout, then a newline
 * (what jansson's json_dumpf() with JSON_INDENT(2) gives, objects of
 * scalars on one line).  0, or -1 on a write error. */
int jw_dumpf(FILE *out, const struct json_t *v);

#endif
