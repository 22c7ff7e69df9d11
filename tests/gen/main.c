/* main.c - fixture generator CLI: `gen OUTDIR`, `gen --list`, `gen --only NAME OUTDIR`, `gen --bench ...`, `gen --dense ...`.
 *
 * The PKI lives in OUTDIR/pki and is reused when present, so regenerating
 * one fixture keeps the certificates every other fixture was made with.
 */
#include "gen/gen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int gen_bench_main(int argc, char **argv);   /* bench.c */
int gen_dense_main(int argc, char **argv);   /* bench.c */

static void usage(FILE *f)
{
    fprintf(f, "usage: gen OUTDIR             write every fixture into OUTDIR\n"
               "       gen --only NAME OUTDIR write one fixture (NAME as in --list)\n"
               "       gen --list             list the fixtures\n"
               "       gen --bench PKIDIR OUT.pcap MEGABYTES [HANDSHAKES]\n"
               "                              the benchmark capture (see bench.c)\n"
               "       gen --dense PKIDIR OUT.pcap CONNECTIONS\n"
               "                              the handshake-dense benchmark capture (bench.c)\n");
}

/* NAME matches a fixture by its file name, with or without the extension. */
static bool name_matches(const char *fixture, const char *name)
{
    size_t n = strlen(name);

    if (strcmp(fixture, name) == 0)
        return true;
    return strncmp(fixture, name, n) == 0 && fixture[n] == '.';
}

int main(int argc, char **argv)
{
    struct gen_ctx ctx = {0};
    const char *only = NULL;
    char pkidir[1024];
    int rc = 0, done = 0;

    if (argc >= 2 && strcmp(argv[1], "--bench") == 0)
        return gen_bench_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "--dense") == 0)
        return gen_dense_main(argc - 2, argv + 2);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < gen_nfixtures; i++)
            printf("%-28s %s\n", gen_fixtures[i].name, gen_fixtures[i].what);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "--only") == 0) {
        only = argv[2];
        ctx.outdir = argv[3];
        ctx.only = true;
    } else if (argc == 2 && argv[1][0] != '-') {
        ctx.outdir = argv[1];
    } else {
        usage(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (mkdir(ctx.outdir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen: mkdir %s: %s\n", ctx.outdir, strerror(errno));
        return 1;
    }
    /* Seeded before the PKI (minted only when OUTDIR/pki is absent) and again
     * before each fixture from its name, so `--only NAME` writes the same bytes
     * as a full run. */
    if (snprintf(pkidir, sizeof pkidir, "%s/pki", ctx.outdir) >= (int)sizeof pkidir ||
        gen_rand_seed("pki") != 0 || gen_pki_load_or_create(&ctx.pki, pkidir) != 0)
        return 1;
    if (gen_pki_edge_load_or_create(&ctx.edge, pkidir) != 0) {
        gen_pki_free(&ctx.pki);
        return 1;
    }
    for (size_t i = 0; i < gen_nfixtures; i++) {
        const struct gen_fixture *fx = &gen_fixtures[i];

        if (only && !name_matches(fx->name, only))
            continue;
        fprintf(stderr, "%s\n", fx->name);
        if (gen_rand_seed(fx->name) != 0 || fx->fn(&ctx, fx) != 0) {
            fprintf(stderr, "gen: %s: FAILED\n", fx->name);
            rc = 1;
        }
        done++;
    }
    if (only && done == 0) {
        fprintf(stderr, "gen: no fixture named %s (see --list)\n", only);
        rc = 2;
    }
    gen_pki_free(&ctx.pki);
    gen_pki_edge_free(&ctx.edge);
    return rc;
}
