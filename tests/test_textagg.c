/* test_textagg.c - the text report built from connections fed one at a time
 * (textagg.h) is the report of the ordered a->conns, byte for byte, on every
 * fixture: captures/ with its .args, captures/cases/, ../shared/captures.
 *
 * For each fixture and each of default, -q, -v and --color:
 *   - streaming: analyze_run() with a textagg sink and drop_conns (release
 *     order, connections borrowed then gone, a->conns empty), then
 *     report_text_agg();
 *   - any order: a->conns fed reversed and shuffled, with the rendered text
 *     spilled to a temporary file from the first byte;
 * both compared with report_text() of the same fixture analysed keeping its
 * connections. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/err.h"
#include "tlsinspect/fold.h"
#include "tlsinspect/opts.h"
#include "tlsinspect/report.h"
#include "tlsinspect/sink.h"
#include "tlsinspect/textagg.h"

#include "support/ci.h"

#define NOW 1773161726              /* 2026-03-10: the fixtures' certificates are valid */
#define MAX_ARGV 64
#define NMODES 4

static const char *const mode_name[NMODES] = {"default", "-q", "-v", "--color"};

static void mode_opts(int m, struct report_opts *ro)
{
    memset(ro, 0, sizeof(*ro));
    ro->format = REPORT_TEXT;
    ro->version = "test";
    ro->quiet = m == 1;
    ro->verbose = m == 2;
    ro->color = m == 3;
}

struct fixture {
    char label[512];
    char line[2048];                /* "ARGS FILES", split in place */
};

static size_t nfixtures, ncompared;

static bool same_capture_findings(const struct analysis *a, const struct analysis *s)
{
    if (a->nglobal != s->nglobal || a->nwarnings != s->nwarnings ||
        a->warnings_dropped != s->warnings_dropped)
        return false;
    for (size_t i = 0; i < a->nglobal; i++)
        if (a->global[i].id != s->global[i].id || strcmp(a->global[i].message, s->global[i].message))
            return false;
    for (size_t i = 0; i < a->nwarnings && i < ANALYZE_MAX_WARNINGS; i++)
        if (strcmp(a->warnings[i], s->warnings[i]) != 0)
            return false;
    return true;
}

/* The first line that differs, for the failure message. */
static void report_difference(const char *label, const char *how, const char *want,
                              const char *got)
{
    size_t line = 1, i = 0;

    while (want[i] && want[i] == got[i]) {
        line += want[i] == '\n';
        i++;
    }
    while (i > 0 && want[i - 1] != '\n')
        i--;
    fail_msg("%s (%s): text report differs at line %zu:\n  want: %.200s\n  got:  %.200s", label,
             how, line, want + i, got + i);
}

static void expect_same(const char *label, const char *how, const char *want, size_t wlen,
                        const char *got, size_t glen)
{
    ncompared++;
    if (wlen != glen || memcmp(want, got, wlen) != 0)
        report_difference(label, how, want, got);
}

/* opts_parse() over "tlsinspect ARGS FILES"; false when it refuses. */
static bool parse(struct fixture *fx, struct analyze_opts *o, struct cli *cli, char **argv)
{
    int argc = 0;

    argv[argc++] = (char *)"tlsinspect";
    for (char *tok = strtok(fx->line, " \t\n"); tok && argc < MAX_ARGV - 1; tok = strtok(NULL, " \t\n"))
        argv[argc++] = tok;
    argv[argc] = NULL;
    if (opts_parse(argc, argv, o, cli) != 0)
        return false;
    o->files = cli->args;
    o->nfiles = (size_t)cli->nargs;
    o->bpf = cli->bpf[0] ? cli->bpf : NULL;
    o->now = NOW;
    return true;
}

static char *text_of(const struct analysis *a, struct textagg *g, const struct report_opts *ro,
                     size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);

    assert_non_null(fp);
    assert_int_equal(g ? report_text_agg(fp, a, g, ro) : report_text(fp, a, ro), TI_OK);
    assert_int_equal(fclose(fp), 0);
    return buf;
}

/* a->conns fed reversed (shuffle 0) or shuffled, spilled from the first byte. */
static char *text_any_order(const struct analysis *a, const struct report_opts *ro, int shuffle,
                            size_t *len)
{
    struct textagg *g = textagg_new(ro);
    size_t *perm = malloc((a->nconns + 1) * sizeof(*perm));
    uint32_t rnd = 2463534242u;
    char *buf;

    assert_non_null(g);
    assert_non_null(perm);
    textagg_spill_limit(g, 0);
    for (size_t i = 0; i < a->nconns; i++)
        perm[i] = a->nconns - 1 - i;
    for (size_t i = a->nconns; shuffle && i > 1; i--) {
        rnd ^= rnd << 13;
        rnd ^= rnd >> 17;
        rnd ^= rnd << 5;
        size_t j = rnd % i, x = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = x;
    }
    for (size_t i = 0; i < a->nconns; i++)
        assert_int_equal(textagg_add(g, a, a->conns[perm[i]]), TI_OK);
    buf = text_of(a, g, ro, len);
    textagg_free(g);
    free(perm);
    return buf;
}

static void check_fixture(struct fixture *fx)
{
    static struct analyze_opts o;   /* large */
    static struct cli cli;
    char *argv[MAX_ARGV], err[1024] = "", copy[sizeof(fx->line)];
    struct analysis *a = NULL, *s = NULL;
    struct textagg *agg[NMODES];
    struct conn_sink sinks[NMODES];
    char *want[NMODES];
    size_t wlen[NMODES];
    struct report_opts ro;

    memcpy(copy, fx->line, sizeof(copy));
    if (!parse(fx, &o, &cli, argv))
        fail_msg("%s: the options do not parse", fx->label);
    if (analyze_run(&o, &a, err, sizeof(err)) != TI_OK) {
        /* unreadable fixtures (shared captures tlsinspect refuses) report nothing */
        assert_null(a);
        return;
    }
    nfixtures++;
    for (int m = 0; m < NMODES; m++) {
        mode_opts(m, &ro);
        want[m] = text_of(a, NULL, &ro, &wlen[m]);
        for (int shuffle = 0; shuffle < 2; shuffle++) {
            size_t glen;
            char *got = text_any_order(a, &ro, shuffle, &glen);
            expect_same(fx->label, shuffle ? mode_name[m] : "reversed", want[m], wlen[m], got, glen);
            free(got);
        }
    }
    memcpy(fx->line, copy, sizeof(copy));
    assert_true(parse(fx, &o, &cli, argv));
    for (int m = 0; m < NMODES; m++) {
        mode_opts(m, &ro);
        assert_non_null(agg[m] = textagg_new(&ro));
        sinks[m] = textagg_sink(agg[m]);
    }
    o.sinks = sinks;
    o.nsinks = NMODES;
    o.drop_conns = true;
    if (analyze_run(&o, &s, err, sizeof(err)) != TI_OK)
        fail_msg("%s: streaming run: %s", fx->label, err);
    /* traffic_server logs are matched to connection ids after the capture:
     * with them the connections are kept and the sinks see them then */
    if (s->logs == NULL)
        assert_int_equal(s->nconns, 0);
    if (!same_capture_findings(a, s))
        fail_msg("%s: the streaming analysis has other capture findings or warnings", fx->label);
    for (int m = 0; m < NMODES; m++) {
        size_t glen;
        char *got;
        mode_opts(m, &ro);
        got = text_of(s, agg[m], &ro, &glen);
        expect_same(fx->label, mode_name[m], want[m], wlen[m], got, glen);
        free(got);
        textagg_free(agg[m]);
    }
    analysis_free(s);
    for (int m = 0; m < NMODES; m++)
        free(want[m]);
    analysis_free(a);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");

    buf[0] = '\0';
    if (f == NULL)
        return;
    if (fgets(buf, (int)len, f) == NULL)
        buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

/* The captures in captures/ (pcap, pcapng, gz) as tests/golden.sh runs them: with
 * FILE.args, rotated NAME-00 / NAME-01 together. */
static void test_captures(void **state)
{
    static const char *const pats[] = {"captures/*.pcap", "captures/*.pcapng", "captures/*.gz"};
    (void)state;

    for (size_t p = 0; p < sizeof(pats) / sizeof(pats[0]); p++) {
        glob_t gl;
        if (glob(pats[p], 0, NULL, &gl) != 0)
            continue;
        for (size_t i = 0; i < gl.gl_pathc; i++) {
            const char *f = gl.gl_pathv[i];
            struct fixture fx;
            char args[1024], next[512], prev[512], path[600];
            size_t n = strlen(f);
            const char *ext = strrchr(f, '.');

            snprintf(prev, sizeof(prev), "%s", f);
            snprintf(next, sizeof(next), "%s", f);
            if (n > 7 && ext != NULL && ext - f >= 3 && strncmp(ext - 3, "-01", 3) == 0) {
                memcpy(prev + (ext - f) - 2, "00", 2);
                if (is_file(prev))
                    continue;       /* read with its -00 */
            }
            if (ext != NULL && ext - f >= 3 && strncmp(ext - 3, "-00", 3) == 0)
                memcpy(next + (ext - f) - 2, "01", 2);
            snprintf(path, sizeof(path), "%s.args", f);
            read_line(path, args, sizeof(args));
            snprintf(fx.label, sizeof(fx.label), "%s", f);
            snprintf(fx.line, sizeof(fx.line), "%s %s %s", args, f,
                     strcmp(next, f) != 0 && is_file(next) ? next : "");
            check_fixture(&fx);
        }
        globfree(&gl);
    }
    assert_true(nfixtures >= 30);
}

/* captures/cases/NAME.case: "files: ..." and "args: ..." lines. */
static void test_cases(void **state)
{
    glob_t gl;
    size_t before = nfixtures;
    (void)state;

    assert_int_equal(glob("captures/cases/*.case", 0, NULL, &gl), 0);
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        FILE *f = fopen(gl.gl_pathv[i], "r");
        char l[1024], files[1024] = "", args[1024] = "";
        struct fixture fx;

        assert_non_null(f);
        while (fgets(l, sizeof(l), f) != NULL) {
            l[strcspn(l, "\n")] = '\0';
            if (strncmp(l, "files:", 6) == 0)
                snprintf(files, sizeof(files), "%s", l + 6);
            else if (strncmp(l, "args:", 5) == 0)
                snprintf(args, sizeof(args), "%s", l + 5);
        }
        fclose(f);
        snprintf(fx.label, sizeof(fx.label), "%s", gl.gl_pathv[i]);
        snprintf(fx.line, sizeof(fx.line), "%s %s", args, files);
        check_fixture(&fx);
    }
    globfree(&gl);
    assert_true(nfixtures > before);
}

/* Every capture under a directory, sorted. */
static char **walk_paths;
static size_t walk_n, walk_cap;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    size_t n = strlen(path);
    (void)st;
    (void)ftw;
    if (flag != FTW_F)
        return 0;
    if (!((n > 5 && strcmp(path + n - 5, ".pcap") == 0) ||
          (n > 7 && strcmp(path + n - 7, ".pcapng") == 0) ||
          (n > 3 && strcmp(path + n - 3, ".gz") == 0)))
        return 0;
    if (walk_n == walk_cap) {
        walk_cap = walk_cap ? walk_cap * 2 : 64;
        walk_paths = realloc(walk_paths, walk_cap * sizeof(*walk_paths));
        assert_non_null(walk_paths);
    }
    assert_non_null(walk_paths[walk_n++] = strdup(path));
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The third-party captures (every port, with a trust store). */
static void test_shared(void **state)
{
    const char *root = getenv("TLSINSPECT_SHARED") ? getenv("TLSINSPECT_SHARED") : "../shared";
    size_t before = nfixtures;
    char dir[512];
    (void)state;

    snprintf(dir, sizeof(dir), "%s/captures", root);
    if (access(dir, R_OK) != 0) {
        if (test_in_ci())
            fail_msg("%s not found: under CI=true the shared captures must be checked", dir);
        fprintf(stderr, "SKIPPED: %s not found: shared captures not compared\n", dir);
        skip();
    }
    assert_int_equal(nftw(dir, walk_one, 16, FTW_PHYS), 0);
    qsort(walk_paths, walk_n, sizeof(*walk_paths), str_cmp);
    for (size_t i = 0; i < walk_n; i++) {
        struct fixture fx;
        snprintf(fx.label, sizeof(fx.label), "%s", walk_paths[i]);
        snprintf(fx.line, sizeof(fx.line), "-p all --cafile captures/pki/expressway-trust.pem %s",
                 walk_paths[i]);
        check_fixture(&fx);
        free(walk_paths[i]);
    }
    free(walk_paths);
    assert_true(nfixtures > before + 20);
}

/* ---- the order rules, on connections made up from a fixture's ----------------------------- */

/* The text report of conns[0 .. n) (report order) through report_text(),
 * and the same fed shuffled to an aggregate: equal; the former returned. */
static char *report_of(struct analysis *a, struct conn **conns, size_t n,
                       const struct report_opts *ro)
{
    struct conn **keep = a->conns;
    size_t keep_n = a->nconns, len, glen;
    char *want, *got;

    a->conns = conns;
    a->nconns = n;
    for (size_t i = 0; i < n; i++)
        conns[i]->id = i + 1;
    want = text_of(a, NULL, ro, &len);
    got = text_any_order(a, ro, 1, &glen);
    expect_same("made-up connections", "shuffled", want, len, got, glen);
    free(got);
    a->conns = keep;
    a->nconns = keep_n;
    return want;
}

static struct analysis *many_flows(void)
{
    static struct analyze_opts o;
    static struct cli cli;
    struct fixture fx = {.label = "many-flows"};
    char *argv[MAX_ARGV], err[512];
    struct analysis *a = NULL;

    snprintf(fx.line, sizeof(fx.line), "--ports all --cafile captures/pki/expressway-trust.pem "
             "captures/many-flows.pcap");
    assert_true(parse(&fx, &o, &cli, argv));
    if (analyze_run(&o, &a, err, sizeof(err)) != TI_OK)
        fail_msg("many-flows: %s", err);
    return a;
}

/* The endpoint's line of the table. */
static char *table_line(const char *text, const char *server, char *buf, size_t len)
{
    const char *p = strstr(text, "\nserver ");
    size_t sl = strlen(server);

    assert_non_null(p);
    for (p = strchr(p + 1, '\n'); p != NULL && p[1] != '\n'; p = strchr(p + 1, '\n'))
        if (strncmp(p + 1, server, sl) == 0 && p[1 + sl] == ' ') {
            size_t n = strcspn(p + 1, "\n");
            snprintf(buf, len, "%.*s", (int)n, p + 1);
            return buf;
        }
    fail_msg("no table line for %s", server);
    return NULL;
}

/* One endpoint, leaves A B B A in report order: the leaf shown is B (the
 * first to reach the highest count), the auths in order of first
 * appearance, whatever order the connections arrive in. */
static void test_endpoint_row_rules(void **state)
{
    struct analysis *a = many_flows();
    const struct conn *ca = NULL, *cb = NULL;
    struct conn c[4], *v[4];
    struct report_opts ro;
    char line[512];
    (void)state;

    for (size_t i = 0; i < a->nconns && cb == NULL; i++) {
        const struct conn *x = a->conns[i];
        if (x->server.port != 6972 || x->n_server_certs == 0)
            continue;
        if (ca == NULL)
            ca = x;
        else if (memcmp(x->server_certs[0]->sha256, ca->server_certs[0]->sha256, 32) != 0)
            cb = x;
    }
    assert_non_null(cb);
    for (int i = 0; i < 4; i++) {
        c[i] = (i == 0 || i == 3) ? *ca : *cb;      /* shallow: only read */
        c[i].first_ts = ca->first_ts + i;
        c[i].client.port = (uint16_t)(50000 + i);
        c[i].serial = 900 + (uint64_t)i;
        v[i] = &c[i];
    }
    mode_opts(0, &ro);
    char *text = report_of(a, v, 4, &ro);
    table_line(text, "10.48.36.215:6972", line, sizeof(line));
    assert_non_null(strstr(line, cb->server_certs[0]->cn));
    assert_non_null(strstr(line, "(+1 other)"));
    assert_non_null(strstr(line, ca->sh.auth == AUTH_ECDSA ? "ECDSA,RSA" : "RSA,ECDSA"));
    free(text);
    analysis_free(a);
}

/* Fifteen identical connections: one ladder, the first ten others' ports
 * (another client's with its address) in report order, "... +4"; with -v
 * fifteen ladders numbered in report order. */
static void test_fold_rules(void **state)
{
    struct analysis *a = many_flows();
    const struct conn *f = NULL;
    struct conn c[15], *v[15];
    struct report_opts ro;
    char *text;
    (void)state;

    for (size_t i = 0; i < a->nconns && f == NULL; i++)
        if (a->conns[i]->outcome == OUTCOME_FAILED && a->conns[i]->n_findings > 0)
            f = a->conns[i];
    assert_non_null(f);
    for (int i = 0; i < 15; i++) {
        c[i] = *f;
        c[i].first_ts = f->first_ts + 10 * i;
        c[i].client.port = (uint16_t)(40000 + i);
        c[i].serial = 500 + (uint64_t)(15 - i);
        v[i] = &c[i];
    }
    c[3].client.ip[3] ^= 0x55;          /* another Expressway-C node */
    mode_opts(0, &ro);
    text = report_of(a, v, 15, &ro);
    assert_non_null(strstr(text, "  (and 14 more identical connections: ports 40001, 40002, "));
    assert_non_null(strstr(text, ":40003, 40004, 40005, 40006, 40007, 40008, 40009, 40010, ... +4)\n"));
    free(text);
    mode_opts(1, &ro);
    text = report_of(a, v, 15, &ro);
    assert_non_null(strstr(text, "  (15 connections)\n"));
    free(text);
    mode_opts(2, &ro);
    text = report_of(a, v, 15, &ro);
    assert_non_null(strstr(text, ":40000 -> "));
    assert_non_null(strstr(text, "  (#15)\n"));
    assert_true(strstr(text, ":40013 -> ") < strstr(text, ":40014 -> "));
    assert_true(strstr(text, "(#14)") < strstr(text, ":40014 -> "));
    free(text);
    analysis_free(a);
}

/* Folding compares the findings' messages by shape: numbers apart they
 * fold (40000 and 40001: byte counts), another reason does not (40002),
 * in the text report from aggregates and from the kept connections alike
 * (report_of compares them). */
static void test_fold_message_shape(void **state)
{
    struct analysis *a = many_flows();
    const struct conn *f = NULL;
    struct conn c[3], *v[3];
    struct report_opts ro;
    char m0[] = "The handshake did not finish in the capture (226 bytes were not captured).";
    char m1[] = "The handshake did not finish in the capture (1460 bytes were not captured).";
    char m2[] = "The handshake did not finish in the capture (the capture ends before it finished).";
    char *msgs[3] = {m0, m1, m2}, *text;
    (void)state;

    for (size_t i = 0; i < a->nconns && f == NULL; i++)
        if (a->conns[i]->outcome == OUTCOME_FAILED && a->conns[i]->n_findings > 0)
            f = a->conns[i];
    assert_non_null(f);
    for (int i = 0; i < 3; i++) {
        c[i] = *f;
        c[i].first_ts = f->first_ts + 10 * i;
        c[i].client.port = (uint16_t)(40000 + i);
        c[i].findings[0].message = msgs[i];
        v[i] = &c[i];
    }
    assert_true(conn_fold_same(&c[0], &c[1]));
    assert_false(conn_fold_same(&c[0], &c[2]));
    mode_opts(0, &ro);
    text = report_of(a, v, 3, &ro);
    assert_non_null(strstr(text, "(and 1 more identical connection: port 40001)"));
    assert_non_null(strstr(text, ":40002 -> "));
    assert_non_null(strstr(text, "(the capture ends before it finished)"));
    free(text);
    analysis_free(a);
}

static int summary(void **state)
{
    (void)state;
    printf("textagg: %zu fixtures, %zu text reports compared\n", nfixtures, ncompared);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captures),
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_shared),
        cmocka_unit_test(test_endpoint_row_rules),
        cmocka_unit_test(test_fold_rules),
        cmocka_unit_test(test_fold_message_shape),
    };
    return cmocka_run_group_tests(tests, NULL, summary);
}
