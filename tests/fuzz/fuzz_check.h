/* fuzz_check.h - invariant checks for the fuzz harnesses: abort() loudly, also without a sanitizer. */
#ifndef TLSINSPECT_FUZZ_CHECK_H
#define TLSINSPECT_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* Reads whose result must not be optimised away (strlen over a string makes
 * ASan check it is terminated inside its allocation). */
static volatile size_t fuzz_sink __attribute__((unused));

/* The certificate pool is kept across inputs (one per process, renewed
 * every FUZZ_POOL_INPUTS inputs so it stays small): making and freeing one
 * per input costs more than the parsing under test.  Interning the same DER
 * again returns the first struct, which the x509 harness checks. */
#define FUZZ_POOL_INPUTS 4096u

#endif
