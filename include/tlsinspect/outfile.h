/* outfile.h - the report file: never written over an input, never left half-written.
 *
 * `tlsinspect -o c.pcap c.pcap` once replaced the capture with its report.
 * outfile_check() refuses an output path that is the same file (same device
 * and inode, so hard links and symbolic links count) as any input: capture
 * files, trust stores (every file in a --capath directory too) and the key
 * log.  outfile_open() writes to a temporary file in the output's directory
 * and outfile_commit() renames it over the output, so a failed run leaves
 * the previous file (or none), never a partial report.  An output that is
 * not a regular file (/dev/stdout, a FIFO, a terminal) is written directly.
 */
#ifndef TLSINSPECT_OUTFILE_H
#define TLSINSPECT_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One input the output must not be: `what` names it in the message
 * ("capture", "--cafile", ...); `is_dir` for --capath (its files count). */
struct outfile_input {
    const char *what;
    const char *path;               /* NULL or "-" (standard input): skipped */
    bool is_dir;
};

/* TI_OK, or TI_EUSAGE with a message naming the input when `path` is one of
 * them.  An output that does not exist yet is never an input. */
int outfile_check(const char *path, const struct outfile_input *in, size_t n,
                  char *errbuf, size_t errlen);

struct outfile {
    FILE *fp;                       /* write the report here */
    char *path;                     /* owned copy of the output path */
    char *tmp;                      /* owned: the temporary file, NULL when direct */
};

/* TI_OK or TI_EIO (message in errbuf: the path and strerror). */
int outfile_open(struct outfile *of, const char *path, char *errbuf, size_t errlen);

/* Close and rename into place.  TI_OK, or TI_EIO (the temporary file is
 * removed, the output left as it was).  Frees what `of` owns either way. */
int outfile_commit(struct outfile *of, char *errbuf, size_t errlen);

/* Close and remove the temporary file; the output is left as it was.
 * Safe on a zeroed or already committed struct. */
void outfile_abort(struct outfile *of);

#endif
