/* test_fuzz_regress.c - replay every saved fuzz input (tests/fuzz/regress/<harness>/) through its harness.
 *
 * The libFuzzer harnesses are compiled in here with their entry points
 * renamed, so the regression corpus runs with the normal compiler and no
 * libFuzzer, under `make unit` and under `make asan`.  Each input that once
 * crashed, hung or leaked must now run clean: a harness aborts on a broken
 * invariant, and the sanitizer build catches memory errors and leaks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define LLVMFuzzerTestOneInput fuzz_tls_entry
#include "fuzz/fuzz_tls.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_decode_entry
#include "fuzz/fuzz_decode.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_x509_entry
#include "fuzz/fuzz_x509.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_pipeline_entry
#include "fuzz/fuzz_pipeline.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_tslog_entry
#include "fuzz/fuzz_tslog.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_infer_entry
#include "fuzz/fuzz_infer.c"
#undef LLVMFuzzerTestOneInput

#define FUZZ_REPLAY_NO_MAIN
#include "fuzz/replay.c"

/* The corpus sits beside this file: tests/fuzz/regress/<harness>/, found
 * from __FILE__ so the test runs from the repository root (as make does). */
static void replay_harness(const char *name, fuzz_entry_fn fn, long min_inputs)
{
    char dir[512];
    const char *slash = strrchr(__FILE__, '/');
    int plen = slash ? (int)(slash - __FILE__) : 1;
    long n;

    snprintf(dir, sizeof(dir), "%.*s/fuzz/regress/%s", plen, slash ? __FILE__ : ".", name);
    n = fuzz_replay_path(dir, fn, getenv("FUZZ_REPLAY_VERBOSE") != NULL);
    if (n < 0)
        fail_msg("%s: regression corpus missing or unreadable", dir);
    if (n < min_inputs)
        fail_msg("%s: %ld inputs, expected at least %ld", dir, n, min_inputs);
}

static void test_regress_tls(void **state)
{
    (void)state;
    replay_harness("tls", fuzz_tls_entry, 1);
}

static void test_regress_decode(void **state)
{
    (void)state;
    replay_harness("decode", fuzz_decode_entry, 1);
}

static void test_regress_x509(void **state)
{
    (void)state;
    replay_harness("x509", fuzz_x509_entry, 1);
}

static void test_regress_pipeline(void **state)
{
    (void)state;
    replay_harness("pipeline", fuzz_pipeline_entry, 1);
}

static void test_regress_tslog(void **state)
{
    (void)state;
    replay_harness("tslog", fuzz_tslog_entry, 3);
}

static void test_regress_infer(void **state)
{
    (void)state;
    replay_harness("infer", fuzz_infer_entry, 4);
}

/* The harnesses themselves must reject nothing silently: an empty input and
 * a one-byte input run through every entry point. */
static void test_regress_tiny_inputs(void **state)
{
    static const uint8_t one[1] = {0x16};
    (void)state;
    assert_int_equal(fuzz_tls_entry(one, 0), 0);
    assert_int_equal(fuzz_tls_entry(one, 1), 0);
    assert_int_equal(fuzz_decode_entry(one, 1), 0);
    assert_int_equal(fuzz_x509_entry(one, 0), 0);
    assert_int_equal(fuzz_x509_entry(one, 1), 0);
    assert_int_equal(fuzz_pipeline_entry(one, 1), 0);
    assert_int_equal(fuzz_tslog_entry(one, 0), 0);
    assert_int_equal(fuzz_tslog_entry(one, 1), 0);
    assert_int_equal(fuzz_infer_entry(one, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regress_tiny_inputs),
        cmocka_unit_test(test_regress_tls),
        cmocka_unit_test(test_regress_decode),
        cmocka_unit_test(test_regress_x509),
        cmocka_unit_test(test_regress_pipeline),
        cmocka_unit_test(test_regress_tslog),
        cmocka_unit_test(test_regress_infer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
