/* ci.h - whether the tests run in CI, where nothing may be skipped.
 *
 * Locally a test whose input lives outside the repository (../shared) may skip
 * loudly when that input is absent; under CI=true the same absence is a
 * failure, so a CI run cannot pass by comparing nothing.
 */
#ifndef TLSINSPECT_TESTS_CI_H
#define TLSINSPECT_TESTS_CI_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool test_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && strcmp(ci, "true") == 0;
}

#endif
