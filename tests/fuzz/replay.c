/* replay.c - run a fuzz harness's LLVMFuzzerTestOneInput over files and directories, without libFuzzer.
 *
 *   build-fuzz/replay_tls tests/fuzz/regress/tls crash-1234...
 *
 * Each argument is a file or a directory (its regular files, sorted by name,
 * not recursive).  Built with the sanitizers but no -fsanitize=fuzzer, so a
 * reproducer runs under gdb or valgrind too.  tests/test_fuzz_regress.c
 * includes this file with FUZZ_REPLAY_NO_MAIN for fuzz_replay_path().
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef int (*fuzz_entry_fn)(const uint8_t *data, size_t size);

#define FUZZ_REPLAY_MAX_FILE (64u * 1024u * 1024u)   /* larger than any corpus entry */

/* Read a whole file; NULL on error (message on stderr). */
static uint8_t *fuzz_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        (unsigned long)n > FUZZ_REPLAY_MAX_FILE || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: cannot read\n", path);
        if (f != NULL)
            fclose(f);
        return NULL;
    }
    /* An exact-size heap copy: ASan catches a read one past the input. */
    buf = malloc(n ? (size_t)n : 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int fuzz_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run fn over a file or every regular file of a directory.  Returns the
 * number of inputs run, or -1 when something could not be read. */
static long fuzz_replay_path(const char *path, fuzz_entry_fn fn, int verbose)
{
    struct stat st;
    size_t len;
    uint8_t *buf;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: no such file or directory\n", path);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        char **names = NULL;
        size_t n = 0, cap = 0;
        long total = 0;

        if (d == NULL)
            return -1;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;               /* ., .., .gitkeep */
            if (n == cap) {
                char **v = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*v));
                if (v == NULL)
                    abort();
                names = v;
            }
            size_t pl = strlen(path) + strlen(e->d_name) + 2;
            names[n] = malloc(pl);
            if (names[n] == NULL)
                abort();
            snprintf(names[n], pl, "%s/%s", path, e->d_name);
            n++;
        }
        closedir(d);
        if (n > 1)
            qsort(names, n, sizeof(*names), fuzz_name_cmp);
        for (size_t i = 0; i < n; i++) {
            if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
                long r = fuzz_replay_path(names[i], fn, verbose);
                if (r < 0)
                    total = -1;
                else if (total >= 0)
                    total += r;
            }
            free(names[i]);
        }
        free(names);
        return total;
    }
    buf = fuzz_read_file(path, &len);
    if (buf == NULL)
        return -1;
    if (verbose)
        fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
    fn(buf, len);
    free(buf);
    return 1;
}

#ifndef FUZZ_REPLAY_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    long total = 0;
    int bad = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        long r = fuzz_replay_path(argv[i], LLVMFuzzerTestOneInput, 1);
        if (r < 0)
            bad = 1;
        else
            total += r;
    }
    fprintf(stderr, "%ld inputs replayed%s\n", total, bad ? ", some unreadable" : "");
    return bad ? 1 : 0;
}
#endif
