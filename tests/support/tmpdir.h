/* tmpdir.h - a private temporary directory for a test's files.
 *
 *   char dir[256];
 *   if (tmpdir_make(dir, sizeof dir, "capture") != 0) return -1;
 *   ... write dir/NAME ...
 *   tmpdir_remove(dir);            // the directory and everything below it
 *
 * The directory is made under $TMPDIR (else /tmp) as tlsinspect-TAG-XXXXXX
 * by mkdtemp(), so parallel test programs never share files.
 */
#ifndef TLSINSPECT_TESTS_TMPDIR_H
#define TLSINSPECT_TESTS_TMPDIR_H

#include <stddef.h>

/* 0, or -1 when the name does not fit in cap or mkdtemp() fails. */
int tmpdir_make(char *dir, size_t cap, const char *tag);
/* Remove dir and all it holds (files and subdirectories); 0 or -1. */
int tmpdir_remove(const char *dir);

#endif
