/* test_outfile.c - -o never writes over an input and never leaves half a report. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlsinspect/err.h"
#include "tlsinspect/outfile.h"

struct fx {
    char dir[64];
};

static void path(char *buf, size_t len, const struct fx *f, const char *name)
{
    snprintf(buf, len, "%s/%s", f->dir, name);
}

static void write_file(const char *p, const char *text)
{
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static char *read_file(const char *p)
{
    static char buf[256];
    FILE *fp = fopen(p, "r");
    size_t n;
    assert_non_null(fp);
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' || strncmp(e->d_name, ".tlsinspect-", 12) == 0)
            n++;
    closedir(d);
    return n;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_outfile.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_refuses_same_file_and_hard_link(void **state)
{
    struct fx *f = *state;
    char cap[128], hard[128], sym[128], other[128], err[512] = "";

    path(cap, sizeof(cap), f, "c.pcap");
    path(hard, sizeof(hard), f, "hard.pcap");
    path(sym, sizeof(sym), f, "sym.pcap");
    path(other, sizeof(other), f, "new.json");
    write_file(cap, "capture bytes");
    assert_int_equal(link(cap, hard), 0);
    assert_int_equal(symlink(cap, sym), 0);

    struct outfile_input in[] = {{"input", cap, false}};
    assert_int_equal(outfile_check(cap, in, 1, err, sizeof(err)), TI_EUSAGE);
    assert_non_null(strstr(err, "refusing to overwrite"));
    assert_non_null(strstr(err, "c.pcap"));
    assert_int_equal(outfile_check(hard, in, 1, err, sizeof(err)), TI_EUSAGE);
    assert_int_equal(outfile_check(sym, in, 1, err, sizeof(err)), TI_EUSAGE);
    /* a file that does not exist yet, and "-" (standard input), are never inputs */
    assert_int_equal(outfile_check(other, in, 1, err, sizeof(err)), TI_OK);
    struct outfile_input dash[] = {{"input", "-", false}, {"--cafile", NULL, false}};
    assert_int_equal(outfile_check(cap, dash, 2, err, sizeof(err)), TI_OK);
    assert_string_equal(read_file(cap), "capture bytes");
}

static void test_refuses_trust_store_and_capath_file(void **state)
{
    struct fx *f = *state;
    char ca[128], capath[128], inner[256], err[512] = "";

    path(ca, sizeof(ca), f, "trust.pem");
    path(capath, sizeof(capath), f, "cadir");
    write_file(ca, "pem");
    assert_int_equal(mkdir(capath, 0700), 0);
    snprintf(inner, sizeof(inner), "%s/root.pem", capath);
    write_file(inner, "pem");

    struct outfile_input in[] = {{"--cafile", ca, false}, {"--capath", capath, true}};
    assert_int_equal(outfile_check(ca, in, 2, err, sizeof(err)), TI_EUSAGE);
    assert_non_null(strstr(err, "--cafile"));
    assert_int_equal(outfile_check(inner, in, 2, err, sizeof(err)), TI_EUSAGE);
    assert_non_null(strstr(err, "--capath"));
    assert_non_null(strstr(err, "root.pem"));
}

static void test_commit_renames_abort_leaves_old(void **state)
{
    struct fx *f = *state;
    char out[128], err[512] = "";
    struct outfile of;

    path(out, sizeof(out), f, "report.json");
    write_file(out, "old report");
    assert_int_equal(outfile_open(&of, out, err, sizeof(err)), TI_OK);
    fputs("half a rep", of.fp);
    fflush(of.fp);
    /* while writing, the old report is intact and the new one is beside it */
    assert_string_equal(read_file(out), "old report");
    assert_int_equal(count_entries(f->dir), 2);
    outfile_abort(&of);
    assert_string_equal(read_file(out), "old report");
    assert_int_equal(count_entries(f->dir), 1);

    assert_int_equal(outfile_open(&of, out, err, sizeof(err)), TI_OK);
    fputs("new report", of.fp);
    assert_int_equal(outfile_commit(&of, err, sizeof(err)), TI_OK);
    assert_string_equal(read_file(out), "new report");
    assert_int_equal(count_entries(f->dir), 1);

    struct stat st;
    mode_t um = umask(0);
    umask(um);
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666 & ~um);
}

static void test_open_error_names_path(void **state)
{
    struct outfile of;
    char err[512] = "";
    (void)state;
    assert_int_equal(outfile_open(&of, "/nonexistent-dir/r.json", err, sizeof(err)), TI_EIO);
    assert_non_null(strstr(err, "-o /nonexistent-dir/r.json: No such file or directory"));
    outfile_abort(&of);         /* safe after a failed open */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refuses_same_file_and_hard_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_trust_store_and_capath_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_renames_abort_leaves_old, setup, teardown),
        cmocka_unit_test(test_open_error_names_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
