/* test_jsonw.c - the JSON writer (jsonw.h): layout as jansson's, escaping,
 * numbers, times, errors, outputs and the fragment cache. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tlsinspect/err.h"
#include "tlsinspect/jsonw.h"

#define MEM_LIMIT ((size_t)16 << 20)

/* A writer into memory. */
static void begin_mem(struct jw *w, bool compact)
{
    assert_int_equal(jw_begin(w, NULL, compact, MEM_LIMIT, NULL), TI_OK);
}

/* The text so far, NUL-terminated (the caller frees it). */
static char *text_of(const struct jw *w)
{
    char *s = malloc(w->len + 1);

    assert_non_null(s);
    memcpy(s, w->buf, w->len);
    s[w->len] = '\0';
    return s;
}

/* One string value on its own, as the writer writes it. */
static char *string_text(const char *s)
{
    struct jw w;
    char *t;

    begin_mem(&w, false);
    jw_string(&w, s);
    assert_false(jw_failed(&w));
    t = text_of(&w);
    jw_end(&w);
    return t;
}

/* What jansson writes for the same string (valid UTF-8 only). */
static char *jansson_string(const char *s)
{
    json_t *v = json_string(s);
    char *t;

    assert_non_null(v);
    t = json_dumps(v, JSON_ENCODE_ANY);
    json_decref(v);
    assert_non_null(t);
    return t;
}

static void assert_string_text(const char *in, const char *want)
{
    char *t = string_text(in);

    assert_string_equal(t, want);
    free(t);
}

/* ---- strings ------------------------------------------------------------------ */

static void test_escapes(void **state)
{
    (void)state;
    assert_string_text("plain", "\"plain\"");
    assert_string_text("", "\"\"");
    assert_string_text("a\"b\\c", "\"a\\\"b\\\\c\"");
    assert_string_text("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
    assert_string_text("/ and \x7f", "\"/ and \x7f\"");   /* as jansson: not escaped */
    assert_string_text("\x01\x1f", "\"\\u0001\\u001F\""); /* upper case, as jansson */
}

/* Every C0 control and every printable ASCII byte: jansson's bytes. */
static void test_ascii_as_jansson(void **state)
{
    char s[2] = {0};

    (void)state;
    for (int c = 1; c < 0x80; c++) {
        char *mine, *theirs;

        s[0] = (char)c;
        mine = string_text(s);
        theirs = jansson_string(s);
        assert_string_equal(mine, theirs);
        free(mine);
        free(theirs);
    }
}

static void test_utf8(void **state)
{
    (void)state;
    /* valid sequences of 2, 3 and 4 bytes pass through */
    assert_string_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\"");
    /* anything else is the text \xNN, its backslash escaped */
    assert_string_text("a\xff", "\"a\\\\xff\"");
    assert_string_text("\xc0\xaf", "\"\\\\xc0\\\\xaf\"");              /* overlong */
    assert_string_text("\xe2\x82", "\"\\\\xe2\\\\x82\"");              /* cut short */
    assert_string_text("\xed\xa0\x80", "\"\\\\xed\\\\xa0\\\\x80\"");   /* surrogate */
    assert_string_text("\xf4\x90\x80\x80", "\"\\\\xf4\\\\x90\\\\x80\\\\x80\"");   /* > U+10FFFF */
    assert_string_text("\x80z", "\"\\\\x80z\"");                       /* lone continuation */
}

/* A document with every kind of string parses back to the same bytes. */
static void test_strings_parse_back(void **state)
{
    static const char *const in[] = {"q\"", "\\", "\x01\x02\n", "\xc3\xa9", "\xff\xfe", ""};
    struct jw w;
    json_t *v;

    (void)state;
    begin_mem(&w, true);
    jw_open(&w, true);
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        jw_string(&w, in[i]);
    jw_close(&w);
    v = jw_parse(&w);
    assert_non_null(v);
    assert_int_equal(json_array_size(v), 6);
    assert_string_equal(json_string_value(json_array_get(v, 0)), "q\"");
    assert_string_equal(json_string_value(json_array_get(v, 2)), "\x01\x02\n");
    assert_string_equal(json_string_value(json_array_get(v, 3)), "\xc3\xa9");
    assert_string_equal(json_string_value(json_array_get(v, 4)), "\\xff\\xfe");
    json_decref(v);
    jw_end(&w);
}

static void test_string_variants(void **state)
{
    struct jw w;
    char *t;

    (void)state;
    begin_mem(&w, true);
    jw_open(&w, true);
    jw_str(&w, NULL);
    jw_str(&w, "x");
    jw_str_or_null(&w, "");
    jw_str_or_null(&w, NULL);
    jw_str_or_null(&w, "y");
    jw_hex16(&w, 0x1301);
    jw_hex16(&w, 0xabcd);
    jw_close(&w);
    assert_false(jw_failed(&w));
    t = text_of(&w);
    assert_string_equal(t, "[null,\"x\",null,null,\"y\",\"0x1301\",\"0xabcd\"]");
    free(t);
    jw_cstr(&w, NULL);              /* a required string missing fails the text */
    assert_true(w.oom);
    assert_true(jw_failed(&w));
    jw_end(&w);
}

/* ---- numbers ------------------------------------------------------------------ */

static void test_numbers(void **state)
{
    struct jw w;
    char *t;

    (void)state;
    begin_mem(&w, true);
    jw_open(&w, true);
    jw_int(&w, 0);
    jw_int(&w, -1);
    jw_int(&w, 1234567890123LL);
    jw_int(&w, INT64_MAX);
    jw_int(&w, INT64_MIN);
    jw_uint(&w, 42);
    jw_uint(&w, UINT64_MAX);        /* saturates: jansson holds json_int_t */
    jw_bool(&w, true);
    jw_bool(&w, false);
    jw_null(&w);
    jw_close(&w);
    t = text_of(&w);
    assert_string_equal(t, "[0,-1,1234567890123,9223372036854775807,-9223372036854775808,"
                           "42,9223372036854775807,true,false,null]");
    free(t);
    jw_end(&w);
}

/* ---- layout --------------------------------------------------------------------- */

/* The same nested value through the writer and through jansson. */
static void write_sample(struct jw *w)
{
    jw_open(w, false);
    jw_key(w, "name");
    jw_string(w, "tls");
    jw_key(w, "empty_obj");
    jw_open(w, false);
    jw_close(w);
    jw_key(w, "empty_arr");
    jw_open(w, true);
    jw_close(w);
    jw_key(w, "list");
    jw_open(w, true);
    jw_int(w, 1);
    jw_open(w, true);
    jw_open(w, false);
    jw_key(w, "deep");
    jw_bool(w, true);
    jw_close(w);
    jw_close(w);
    jw_close(w);
    jw_key(w, "n");
    jw_int(w, -7);
    jw_close(w);
}

static const char sample_json[] =
    "{\"name\":\"tls\",\"empty_obj\":{},\"empty_arr\":[],\"list\":[1,[{\"deep\":true}]],\"n\":-7}";

static void assert_layout_as_jansson(bool compact, size_t flags)
{
    struct jw w;
    json_t *v = json_loads(sample_json, 0, NULL);
    char *mine, *theirs;

    assert_non_null(v);
    begin_mem(&w, compact);
    write_sample(&w);
    assert_false(jw_failed(&w));
    mine = text_of(&w);
    theirs = json_dumps(v, flags | JSON_PRESERVE_ORDER);
    assert_string_equal(mine, theirs);
    free(mine);
    free(theirs);
    json_decref(v);
    jw_end(&w);
}

static void test_nesting_indent(void **state)
{
    struct jw w;
    char *t;

    (void)state;
    begin_mem(&w, false);
    jw_open(&w, false);
    jw_key(&w, "a");
    jw_open(&w, true);
    jw_int(&w, 1);
    jw_open(&w, false);
    jw_key(&w, "b");
    jw_open(&w, true);
    jw_close(&w);
    jw_close(&w);
    jw_close(&w);
    jw_close(&w);
    t = text_of(&w);
    assert_string_equal(t, "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ]\n}");
    free(t);
    jw_end(&w);
}

/* Objects opened with jw_open() (not flat): jansson's bytes, both modes. */
static void test_nesting_as_jansson(void **state)
{
    (void)state;
    assert_layout_as_jansson(true, JSON_COMPACT);
    assert_layout_as_jansson(false, JSON_INDENT(2));
}

/* An object of scalars sits on one line, as jansson writes it unindented. */
static void test_flat(void **state)
{
    struct jw w;
    char *t;

    (void)state;
    begin_mem(&w, false);
    jw_open(&w, true);
    jw_open_flat(&w);
    jw_key(&w, "code");
    jw_hex16(&w, 0xc02b);
    jw_key(&w, "name");
    jw_str(&w, NULL);
    jw_close(&w);
    jw_open_as(&w, false, true);
    jw_close(&w);
    jw_close(&w);
    t = text_of(&w);
    assert_string_equal(t, "[\n  {\"code\": \"0xc02b\", \"name\": null},\n  {}\n]");
    free(t);
    jw_end(&w);

    begin_mem(&w, true);
    jw_open_flat(&w);
    jw_key(&w, "a");
    jw_int(&w, 1);
    jw_key(&w, "b");
    jw_int(&w, 2);
    jw_close(&w);
    t = text_of(&w);
    assert_string_equal(t, "{\"a\":1,\"b\":2}");
    free(t);
    jw_end(&w);
}

/* jw_dumpf() lays a parsed value out as the writer wrote it. */
static void test_dumpf_round_trip(void **state)
{
    struct jw w;
    json_t *v;
    char *mine, *dumped = NULL;
    size_t dlen = 0;
    FILE *f;

    (void)state;
    begin_mem(&w, false);
    jw_open(&w, false);
    jw_key(&w, "flat");
    jw_open_flat(&w);
    jw_key(&w, "x");
    jw_string(&w, "caf\xc3\xa9\x01");
    jw_close(&w);
    jw_key(&w, "arr");
    jw_open(&w, true);
    jw_int(&w, 3);
    jw_open(&w, true);
    jw_close(&w);
    jw_close(&w);
    jw_close(&w);
    mine = text_of(&w);
    v = json_loads(mine, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    f = open_memstream(&dumped, &dlen);
    assert_non_null(f);
    assert_int_equal(jw_dumpf(f, v), 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(dlen, strlen(mine) + 1);
    assert_memory_equal(dumped, mine, strlen(mine));
    assert_int_equal(dumped[dlen - 1], '\n');
    assert_int_equal(jw_dumpf(stdout, NULL), -1);
    free(dumped);
    free(mine);
    json_decref(v);
    jw_end(&w);
}

static void test_misuse(void **state)
{
    struct jw w;

    (void)state;
    begin_mem(&w, false);           /* a container in an object of scalars */
    jw_open_flat(&w);
    jw_key(&w, "x");
    jw_open(&w, true);
    assert_true(w.oom);
    jw_end(&w);

    begin_mem(&w, false);           /* deeper than JW_MAX_DEPTH */
    for (int i = 0; i <= JW_MAX_DEPTH; i++)
        jw_open(&w, true);
    assert_true(w.oom);
    jw_end(&w);

    begin_mem(&w, false);           /* a close too many is ignored */
    jw_close(&w);
    assert_int_equal(w.len, 0);
    assert_false(jw_failed(&w));
    jw_end(&w);
}

/* ---- times ---------------------------------------------------------------------- */

static void test_times(void **state)
{
    struct jw w;
    char *t;

    (void)state;
    begin_mem(&w, true);
    jw_open(&w, true);
    jw_time_s(&w, 0);
    jw_time_s(&w, 1735689600);                      /* 2025-01-01 */
    jw_time_us(&w, 1773161726007000LL);             /* 2026-03-10T16:55:26.007 */
    jw_time_us(&w, -1);                             /* before 1970: no negative fraction */
    jw_time_s(&w, 253402300799LL);                  /* 9999-12-31T23:59:59 */
    jw_time_s(&w, 253402300800LL);                  /* year 10000: through gmtime_r */
    jw_time_s(&w, -62167219200LL);                  /* 0000-01-01 */
    jw_time_s(&w, INT64_MAX);                       /* not representable: null */
    jw_close(&w);
    assert_false(jw_failed(&w));
    t = text_of(&w);
    assert_string_equal(t, "[\"1970-01-01T00:00:00Z\",\"2025-01-01T00:00:00Z\","
                           "\"2026-03-10T16:55:26.007000Z\",\"1969-12-31T23:59:59.999999Z\","
                           "\"9999-12-31T23:59:59Z\",\"10000-01-01T00:00:00Z\","
                           "\"0000-01-01T00:00:00Z\",null]");
    free(t);
    jw_end(&w);
}

/* ---- outputs -------------------------------------------------------------------- */

/* Enough text to pass through several of the writer's buffers. */
static void write_big(struct jw *w)
{
    char s[100];

    jw_open(w, true);
    for (int i = 0; i < 20000; i++) {
        snprintf(s, sizeof(s), "element %d \"quoted\" caf\xc3\xa9 \xff", i);
        jw_open_flat(w);
        jw_key(w, "i");
        jw_int(w, i);
        jw_key(w, "s");
        jw_string(w, s);
        jw_close(w);
    }
    jw_close(w);
}

static char *big_in_memory(size_t *n)
{
    struct jw w;
    char *t;

    begin_mem(&w, false);
    write_big(&w);
    assert_false(jw_failed(&w));
    t = text_of(&w);
    *n = w.len;
    jw_end(&w);
    return t;
}

/* To a file (a descriptor: the writer thread), to a memory stream (no
 * descriptor: fwrite): the same bytes as in memory, after what the caller
 * had already written through the FILE. */
static void test_outputs(void **state)
{
    size_t n, got;
    char *want = big_in_memory(&n), *buf = NULL;
    FILE *f;
    struct jw w;

    (void)state;
    assert_true(n > 3 * 256 * 1024);
    f = tmpfile();
    assert_non_null(f);
    fputs("head:", f);
    assert_int_equal(jw_begin(&w, f, false, 0, NULL), TI_OK);
    write_big(&w);
    jw_flush(&w);
    jw_end(&w);
    assert_false(jw_failed(&w));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    assert_int_equal(ftell(f), (long)(n + 5));
    rewind(f);
    buf = malloc(n + 5);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, n + 5, f), n + 5);
    assert_memory_equal(buf, "head:", 5);
    assert_memory_equal(buf + 5, want, n);
    free(buf);
    fclose(f);

    buf = NULL;
    f = open_memstream(&buf, &got);
    assert_non_null(f);
    assert_int_equal(jw_begin(&w, f, false, 0, NULL), TI_OK);
    write_big(&w);
    jw_flush(&w);
    jw_end(&w);
    assert_false(jw_failed(&w));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(got, n);
    assert_memory_equal(buf, want, n);
    free(buf);
    free(want);
}

/* A failed write is reported, not lost. */
static void test_write_error(void **state)
{
    FILE *f = fopen("/dev/full", "w");
    struct jw w;

    (void)state;
    if (f == NULL)
        fail_msg("/dev/full is needed for this test");
    assert_int_equal(jw_begin(&w, f, false, 0, NULL), TI_OK);
    write_big(&w);
    jw_flush(&w);
    jw_end(&w);
    assert_true(w.err);
    fclose(f);
}

static void test_memory_limit(void **state)
{
    struct jw w;

    (void)state;
    assert_int_equal(jw_begin(&w, NULL, true, 64, NULL), TI_OK);
    jw_string(&w, "0123456789012345678901234567890123456789");
    assert_false(jw_failed(&w));
    jw_string(&w, "0123456789012345678901234567890123456789");
    assert_true(w.toobig);
    assert_null(jw_parse(&w));
    jw_end(&w);
}

/* ---- fragment cache ------------------------------------------------------------- */

static int renders;

static void render_pair(struct jw *w, const void *arg)
{
    const int *v = arg;

    renders++;
    jw_open(w, false);
    jw_key(w, "v");
    jw_int(w, *v);
    jw_key(w, "ctx");
    jw_str(w, w->ctx);
    jw_close(w);
}

static void cached_member(struct jw *w, const char *key, int v)
{
    jw_key(w, key);
    if (jw_frag_start(w, 1)) {
        jw_frag_u64(w, (uint64_t)v);
        jw_frag_str(w, w->ctx);
    }
    jw_cached(w, render_pair, &v);
}

static void test_cache(void **state)
{
    struct jw w, plain;
    char *a, *b;

    (void)state;
    assert_int_equal(jw_begin(&w, NULL, false, MEM_LIMIT, "c"), TI_OK);
    renders = 0;
    jw_open(&w, false);
    cached_member(&w, "first", 5);
    cached_member(&w, "again", 5);      /* from the cache */
    cached_member(&w, "other", 6);
    jw_key(&w, "nested");
    jw_open(&w, false);
    cached_member(&w, "deeper", 5);     /* another depth: another text */
    jw_close(&w);
    jw_close(&w);
    assert_int_equal(renders, 3);
    a = text_of(&w);
    jw_end(&w);

    /* the same without the cache: the same text */
    assert_int_equal(jw_begin(&plain, NULL, false, MEM_LIMIT, "c"), TI_OK);
    jw_open(&plain, false);
    jw_key(&plain, "first");
    render_pair(&plain, &(int){5});
    jw_key(&plain, "again");
    render_pair(&plain, &(int){5});
    jw_key(&plain, "other");
    render_pair(&plain, &(int){6});
    jw_key(&plain, "nested");
    jw_open(&plain, false);
    jw_key(&plain, "deeper");
    render_pair(&plain, &(int){5});
    jw_close(&plain);
    jw_close(&plain);
    b = text_of(&plain);
    jw_end(&plain);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* A key too long to keep: rendered every time, still right. */
static void test_cache_long_key(void **state)
{
    static char big[5000];
    struct jw w;

    (void)state;
    memset(big, 'k', sizeof(big) - 1);
    begin_mem(&w, true);
    renders = 0;
    jw_open(&w, false);
    for (int i = 0; i < 3; i++) {
        jw_key(&w, "x");
        if (jw_frag_start(&w, 0))
            jw_frag_str(&w, big);
        jw_cached(&w, render_pair, &i);
    }
    jw_close(&w);
    assert_int_equal(renders, 3);
    assert_false(jw_failed(&w));
    assert_int_equal(w.len, strlen("{\"x\":{\"v\":0,\"ctx\":null},\"x\":{\"v\":1,\"ctx\":null},"
                                   "\"x\":{\"v\":2,\"ctx\":null}}"));
    jw_end(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_ascii_as_jansson),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_strings_parse_back),
        cmocka_unit_test(test_string_variants),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_nesting_indent),
        cmocka_unit_test(test_nesting_as_jansson),
        cmocka_unit_test(test_flat),
        cmocka_unit_test(test_dumpf_round_trip),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_cache_long_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
