/* outfile.c - the report file: refuse inputs, write a temporary file, rename. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlsinspect/err.h"
#include "tlsinspect/outfile.h"

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The files of a --capath directory (not recursive, as the trust store
 * loader reads it). */
static bool dir_holds(const char *dir, const struct stat *out, char *hit, size_t hitlen)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;

    if (d == NULL)
        return false;
    while (!found && (e = readdir(d)) != NULL) {
        struct stat st;
        char *p = NULL;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (asprintf(&p, "%s/%s", dir, e->d_name) < 0)
            break;
        if (stat(p, &st) == 0 && same_file(&st, out)) {
            found = true;
            snprintf(hit, hitlen, "%s", p);
        }
        free(p);
    }
    closedir(d);
    return found;
}

int outfile_check(const char *path, const struct outfile_input *in, size_t n,
                  char *errbuf, size_t errlen)
{
    struct stat out;

    if (path == NULL || stat(path, &out) != 0)
        return TI_OK;           /* a new file cannot be an input */
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        char hit[4096];

        if (in[i].path == NULL || strcmp(in[i].path, "-") == 0)
            continue;
        if (stat(in[i].path, &st) != 0)
            continue;           /* unreadable inputs are reported when read */
        if (same_file(&st, &out)) {
            snprintf(errbuf, errlen,
                     "-o %s: this is the %s %s (the same file); refusing to overwrite an input",
                     path, in[i].what, in[i].path);
            return TI_EUSAGE;
        }
        if (in[i].is_dir && S_ISDIR(st.st_mode) && dir_holds(in[i].path, &out, hit, sizeof(hit))) {
            snprintf(errbuf, errlen,
                     "-o %s: this is %s in the %s directory (the same file); refusing to "
                     "overwrite an input", path, hit, in[i].what);
            return TI_EUSAGE;
        }
    }
    return TI_OK;
}

static void of_free(struct outfile *of)
{
    free(of->path);
    free(of->tmp);
    of->path = of->tmp = NULL;
    of->fp = NULL;
}

int outfile_open(struct outfile *of, const char *path, char *errbuf, size_t errlen)
{
    struct stat st;
    char *slash;
    int fd;
    mode_t um;

    memset(of, 0, sizeof(*of));
    /* A symbolic link stays a link: the report replaces what it points to. */
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        of->path = realpath(path, NULL);
    if (of->path == NULL)
        of->path = strdup(path);
    if (of->path == NULL)
        goto oom;
    path = of->path;
    /* /dev/stdout, a FIFO, a terminal: nothing to rename over */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        of->fp = fopen(path, "w");
        if (of->fp == NULL)
            goto fail;
        return TI_OK;
    }
    /* The temporary file goes beside the output so that rename() stays on
     * one file system and is atomic. */
    slash = strrchr(path, '/');
    if (asprintf(&of->tmp, "%.*s.tlsinspect-XXXXXX", slash ? (int)(slash - path + 1) : 0,
                 path) < 0) {
        of->tmp = NULL;
        goto oom;
    }
    fd = mkstemp(of->tmp);
    if (fd < 0) {
        free(of->tmp);
        of->tmp = NULL;
        goto fail;
    }
    /* mkstemp() makes it 0600; a report is an ordinary file (0666 & ~umask) */
    um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um);
    of->fp = fdopen(fd, "w");
    if (of->fp == NULL) {
        int e = errno;
        close(fd);
        unlink(of->tmp);
        errno = e;
        goto fail;
    }
    return TI_OK;
fail:
    snprintf(errbuf, errlen, "-o %s: %s", path, strerror(errno));
    of_free(of);
    return TI_EIO;
oom:
    snprintf(errbuf, errlen, "-o %s: %s", path, strerror(ENOMEM));
    of_free(of);
    return TI_EIO;
}

int outfile_commit(struct outfile *of, char *errbuf, size_t errlen)
{
    int rc = TI_OK;

    if (of->fp == NULL) {
        of_free(of);
        return TI_OK;
    }
    if (fclose(of->fp) != 0) {
        snprintf(errbuf, errlen, "-o %s: %s", of->path, strerror(errno));
        rc = TI_EIO;
    }
    of->fp = NULL;
    if (of->tmp != NULL) {
        if (rc == TI_OK && rename(of->tmp, of->path) != 0) {
            snprintf(errbuf, errlen, "-o %s: %s", of->path, strerror(errno));
            rc = TI_EIO;
        }
        if (rc != TI_OK)
            unlink(of->tmp);
    }
    of_free(of);
    return rc;
}

void outfile_abort(struct outfile *of)
{
    if (of->fp != NULL)
        fclose(of->fp);
    if (of->tmp != NULL)
        unlink(of->tmp);
    of_free(of);
}
