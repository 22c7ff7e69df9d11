/* test_outq.c - the report's writer thread: order, sizes, errors, arguments. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlsinspect/outq.h"

#define BUFSZ 4096u

/* Byte k of the stream: a pattern that shows a buffer out of place. */
static char pattern(size_t k)
{
    return (char)('A' + (k * 7 + k / 251) % 26);
}

/* Everything in fd from the start. */
static char *read_back(int fd, size_t *n)
{
    off_t end = lseek(fd, 0, SEEK_END);
    char *b;

    assert_true(end >= 0);
    b = malloc((size_t)end + 1);
    assert_non_null(b);
    assert_int_equal(pread(fd, b, (size_t)end, 0), end);
    *n = (size_t)end;
    return b;
}

/* 400 buffers of every size from 0 to BUFSZ through 3 buffers: the file holds
 * them in order, nothing lost or doubled. */
static void test_order(void **state)
{
    FILE *t = tmpfile();
    size_t total = 0, n;
    char *got;
    struct outq *q;

    assert_non_null(t);
    q = outq_start(fileno(t), 3, BUFSZ, 4096);
    assert_non_null(q);
    for (size_t i = 0; i < 400; i++) {
        size_t len = (i * 997) % (BUFSZ + 1);
        char *b = outq_buffer(q);

        assert_non_null(b);
        assert_true(((uintptr_t)b & 4095u) == 0);
        for (size_t k = 0; k < len; k++)
            b[k] = pattern(total + k);
        outq_submit(q, b, len);
        total += len;
    }
    assert_int_equal(outq_finish(q), 0);
    got = read_back(fileno(t), &n);
    assert_int_equal(n, total);
    for (size_t k = 0; k < n; k++)
        if (got[k] != pattern(k))
            fail_msg("byte %zu of %zu out of place", k, n);
    free(got);
    fclose(t);
}

/* A descriptor that cannot be written: the buffers keep coming (no hang),
 * outq_error() turns non-zero, outq_finish() gives the write's errno. */
static void test_write_error(void **state)
{
    int fd = open("/dev/null", O_RDONLY);
    struct outq *q;

    assert_true(fd >= 0);
    q = outq_start(fd, 2, BUFSZ, 0);
    assert_non_null(q);
    for (int i = 0; i < 20; i++) {
        char *b = outq_buffer(q);
        assert_non_null(b);
        memset(b, 'x', 100);
        outq_submit(q, b, 100);
    }
    /* by now the first write has failed: 20 buffers went through 2 */
    assert_int_equal(outq_error(q), EBADF);
    assert_int_equal(outq_finish(q), EBADF);
    close(fd);

    /* /dev/full: ENOSPC, as a full disk */
    fd = open("/dev/full", O_WRONLY);
    if (fd < 0)
        return;
    q = outq_start(fd, 2, BUFSZ, 0);
    assert_non_null(q);
    outq_submit(q, outq_buffer(q), 10);
    assert_int_equal(outq_finish(q), ENOSPC);
    close(fd);
}

/* Nothing submitted, or a buffer submitted out of turn, writes nothing. */
static void test_empty_and_misuse(void **state)
{
    FILE *t = tmpfile();
    char other[16] = "not a queue buf";
    size_t n;
    char *got;
    struct outq *q;

    assert_non_null(t);
    q = outq_start(fileno(t), 2, BUFSZ, 0);
    assert_non_null(q);
    assert_int_equal(outq_finish(q), 0);

    q = outq_start(fileno(t), 2, BUFSZ, 0);
    assert_non_null(q);
    outq_submit(q, other, sizeof other);       /* not taken from the queue: ignored */
    char *b = outq_buffer(q);
    memcpy(b, "ok\n", 3);
    outq_submit(q, b, 3);
    outq_submit(q, b, 3);                      /* again, not the one due: ignored */
    assert_int_equal(outq_finish(q), 0);
    got = read_back(fileno(t), &n);
    assert_int_equal(n, 3);
    assert_memory_equal(got, "ok\n", 3);
    free(got);
    fclose(t);
}

static void test_bad_arguments(void **state)
{
    assert_null(outq_start(-1, 3, BUFSZ, 0));
    assert_null(outq_start(1, 1, BUFSZ, 0));
    assert_null(outq_start(1, 9, BUFSZ, 0));
    assert_null(outq_start(1, 3, 0, 0));
    assert_null(outq_start(1, 3, BUFSZ, 3));   /* alignment not a power of two */
    assert_int_equal(outq_finish(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_empty_and_misuse),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
