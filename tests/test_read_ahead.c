/* test_read_ahead.c - reading the capture in a second thread changes nothing in the report.
 *
 * main.c reads ahead (capture_read_ahead()) whenever a second CPU is online,
 * and the golden tests run through main.c; here every bundled fixture is
 * analysed both ways through the library and the two JSON reports, written
 * byte for byte, must be the same.  Also the fixtures merged into one run,
 * and a BPF filter.  Runs from the repository root (as `make unit` does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/err.h"
#include "tlsinspect/report.h"

#define TRUST "captures/pki/expressway-trust.pem"

/* The JSON report of files, read ahead or not; caller frees.  *packets gets
 * the packet count. */
static char *report_of(char **files, size_t n, const char *bpf, bool ahead, uint64_t *packets)
{
    struct analyze_opts *o = calloc(1, sizeof(*o));
    struct analysis *a = NULL;
    struct report_opts ro = {.format = REPORT_JSON, .version = "test"};
    char err[512] = "", *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    assert_non_null(o);
    assert_non_null(out);
    analyze_opts_default(o);
    o->files = files;
    o->nfiles = n;
    o->bpf = bpf;
    o->trust.cafile = TRUST;
    o->at = AT_FIXED;               /* verdicts must not depend on when each run judged */
    o->at_time = 1767225600;        /* 2026-01-01 */
    o->now = 1767225600;
    o->read_ahead = ahead;
    if (analyze_run(o, &a, err, sizeof(err)) != TI_OK)
        fail_msg("analyze_run(%s%s): %s", files[0], n > 1 ? ", ..." : "", err);
    *packets = a->packets;
    assert_int_equal(report_json(out, a, &ro), TI_OK);
    assert_int_equal(fclose(out), 0);
    analysis_free(a);
    free(o);
    assert_non_null(text);
    return text;
}

static void same_both_ways(char **files, size_t n, const char *bpf)
{
    uint64_t pa = 0, pb = 0;
    char *direct = report_of(files, n, bpf, false, &pa);
    char *ahead = report_of(files, n, bpf, true, &pb);

    assert_int_equal(pa, pb);
    if (strcmp(direct, ahead) != 0)
        fail_msg("%s: the report differs when read ahead", files[0]);
    free(direct);
    free(ahead);
}

static void test_fixtures(void **state)
{
    glob_t g;
    size_t tried = 0;
    uint64_t packets = 0;

    assert_int_equal(glob("captures/*.pcap*", 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *p = g.gl_pathv[i];
        size_t l = strlen(p);

        /* the captures, not their .args/.expected.json/.findings companions */
        if (!(l > 5 && strcmp(p + l - 5, ".pcap") == 0) &&
            !(l > 7 && strcmp(p + l - 7, ".pcapng") == 0) &&
            !(l > 8 && strcmp(p + l - 8, ".pcap.gz") == 0))
            continue;
        same_both_ways(&g.gl_pathv[i], 1, NULL);
        tried++;
    }
    assert_true(tried >= 10);

    /* all of them merged by time into one run, and filtered */
    {
        char **all = calloc(g.gl_pathc, sizeof(*all));
        size_t n = 0;
        char *direct;

        assert_non_null(all);
        for (size_t i = 0; i < g.gl_pathc; i++) {
            size_t l = strlen(g.gl_pathv[i]);
            if (l > 5 && strcmp(g.gl_pathv[i] + l - 5, ".pcap") == 0)
                all[n++] = g.gl_pathv[i];
        }
        same_both_ways(all, n, NULL);
        same_both_ways(all, n, "tcp port 6972");
        direct = report_of(all, n, NULL, false, &packets);
        assert_true(packets > 1000);    /* 300 KB: more than one batch (test_capture fills the whole ring) */
        free(direct);
        free(all);
    }
    globfree(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
