/* test_conn.c - the connection arena (conn_arena_*): slots, reuse, release. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/conn.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* What conn_init() leaves: zeroes, and "no message before" in each alert. */
static void assert_fresh(const struct conn *c)
{
    struct conn want;

    conn_init(&want);
    assert_memory_equal(c, &want, sizeof(want));
}

/* Owned strings, so that a put that did not release them leaks (ASan). */
static void give_owned(struct conn *c, int i)
{
    char msg[32];

    c->ch[0].sni = strdup("cucm.example.com");
    c->ch[0].suites = calloc(4, sizeof(uint16_t));
    c->ch[0].n_suites = 4;
    snprintf(msg, sizeof(msg), "finding %d", i);
    assert_int_equal(conn_add_finding(c, 1, SEV_ERROR, msg, "fix"), 0);
    c->id = (uint64_t)i;
}

/* Far more connections than the first chunk holds, through the 2 MiB
 * chunks: all distinct, initialised, writable, and each keeps its data
 * while the others are made. */
static void test_arena_many(void **state)
{
    (void)state;
    enum { N = 2000 };
    struct conn_arena *ar = conn_arena_new();
    struct conn **v = calloc(N, sizeof(*v));

    assert_non_null(ar);
    assert_non_null(v);
    for (int i = 0; i < N; i++) {
        v[i] = conn_arena_get(ar);
        assert_non_null(v[i]);
        assert_fresh(v[i]);
        give_owned(v[i], i);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(v[i]->id, (uint64_t)i);
        assert_string_equal(v[i]->ch[0].sni, "cucm.example.com");
        for (int j = i + 1; j < N && j < i + 3; j++)
            assert_true(v[j] != v[i]);
    }
    for (int i = 0; i < N; i++)
        conn_arena_put(ar, v[i]);
    conn_arena_free(ar);
    free(v);
}

/* A slot given back is the next one handed out, initialised again, with
 * what it owned released (ASan's leak check sees a put that forgot). */
static void test_arena_reuse(void **state)
{
    (void)state;
    struct conn_arena *ar = conn_arena_new();
    struct conn *a, *b, *c;

    assert_non_null(ar);
    a = conn_arena_get(ar);
    b = conn_arena_get(ar);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a != b);
    give_owned(a, 7);
    conn_arena_put(ar, a);
#ifdef TEST_ASAN
    /* past the free-list link, a returned slot is poisoned */
    assert_true(__asan_address_is_poisoned(&a->ch[0]));
#endif
    c = conn_arena_get(ar);
    assert_ptr_equal(c, a);
    assert_fresh(c);
    conn_arena_put(ar, c);
    conn_arena_put(ar, b);
    conn_arena_put(ar, NULL);          /* no-op */
    conn_arena_free(ar);
    conn_arena_free(NULL);             /* no-op */
}

/* The string pool: one copy per distinct value (the same pointer back),
 * values cut at max bytes as the 256-byte array they replace cut them, and
 * still right after the table has grown. */
static void test_strpool(void **state)
{
    struct conn_strpool *p = conn_strpool_new();
    char name[64], longname[400];
    const char *first[200];

    (void)state;
    assert_non_null(p);
    const char *a = conn_strpool_intern(p, "cucm.steven.lab", CONN_NAME_MAX);
    assert_string_equal(a, "cucm.steven.lab");
    assert_ptr_equal(conn_strpool_intern(p, "cucm.steven.lab", CONN_NAME_MAX), a);
    const char *b = conn_strpool_intern(p, "cucm.steven.la", CONN_NAME_MAX);
    assert_string_equal(b, "cucm.steven.la");
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(conn_strpool_intern(p, "cucm.steven.lab", 14), b);   /* cut */
    assert_string_equal(conn_strpool_intern(p, "", CONN_NAME_MAX), "");
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    const char *l = conn_strpool_intern(p, longname, CONN_NAME_MAX);
    assert_int_equal(strlen(l), CONN_NAME_MAX);
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "host%d.example", i);
        first[i] = conn_strpool_intern(p, name, CONN_NAME_MAX);
        assert_string_equal(first[i], name);
    }
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "host%d.example", i);
        assert_ptr_equal(conn_strpool_intern(p, name, CONN_NAME_MAX), first[i]);
    }
    assert_ptr_equal(conn_strpool_intern(p, "cucm.steven.lab", CONN_NAME_MAX), a);
    conn_strpool_free(p);
    conn_strpool_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_many),
        cmocka_unit_test(test_arena_reuse),
        cmocka_unit_test(test_strpool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
