/* filehash.h - the SHA-256 of a regular file, on a thread of its own.
 *
 * The digest of a capture (inputs[].sha256) costs about as much CPU as
 * reading it: done inline it would double the time of a bulk capture's
 * analysis.  A regular file can be read twice from the page cache, so a
 * second thread hashes it with pread(2) while the analysis reads it, and
 * the wall time stays the analysis' on a machine with a second core. */
#ifndef TLSINSPECT_FILEHASH_H
#define TLSINSPECT_FILEHASH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct filehash;

/* Start hashing the file open on fd from offset `from` to its end (fd is
 * duplicated: the caller may close its own).  NULL when no thread could be
 * started: the caller hashes inline. */
struct filehash *filehash_start(int fd, off_t from);

/* Wait for the digest and free h.  true with out[] filled when every byte
 * to the end was hashed; false after a read error. */
bool filehash_finish(struct filehash *h, uint8_t out[32]);

/* Stop as soon as possible and free h (NULL: no-op). */
void filehash_cancel(struct filehash *h);

#endif
