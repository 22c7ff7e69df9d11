/* fold.h - identical repeated connections folded into groups (text and HTML reports).
 *
 * SPEC: "Identical repeated connections (same endpoints' server, same hello,
 * same outcome) are folded with a count."  Identical means: same server
 * endpoint, same first ClientHello cipher list and SNI, same selected
 * suite, same leaf certificate, same outcome and the same findings in
 * the same order: the same ids with messages of the same shape
 * (conn_fold_msg_same: equal but for their numbers, so byte counts and
 * durations do not split a group while a different reason, side or name
 * does); not the client (a cluster of Expressway-C nodes failing
 * the same way is one group).  A fleet of retries becomes one ladder with
 * the count and the client ports (or addresses) of the others.
 */
#ifndef TLSINSPECT_FOLD_H
#define TLSINSPECT_FOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "tlsinspect/conn.h"

/* The groups, in the order of their first member.  next[] links every
 * member of a group from its first (the representative) to SIZE_MAX. */
struct conn_fold {
    size_t *rep;          /* ngroups representatives (indexes into conns) */
    size_t *count;        /* connections per group */
    size_t *next;         /* per connection: next member of its group */
    size_t ngroups;
};

/* Which connections take part; NULL takes every one. */
typedef bool (*conn_fold_pick)(const struct conn *c, void *arg);

/* Group conns[0..n) (those `pick` accepts); with fold false every
 * connection is a group of its own.  TI_OK or TI_ENOMEM (f left empty). */
int conn_fold_build(struct conn_fold *f, struct conn *const *conns, size_t n, bool fold,
                    conn_fold_pick pick, void *arg);
void conn_fold_free(struct conn_fold *f);       /* leaves f empty; repeatable */

/* The identity above. */
bool conn_fold_same(const struct conn *x, const struct conn *y);

/* A finding message's shape: every run of decimal digits counts as one
 * '#'.  conn_fold_msg_same() compares two shapes without making them;
 * conn_fold_msg_shape() writes msg's shape to out (at most strlen(msg)
 * bytes, no terminator) and returns its length, for keys built as bytes
 * (textagg.c). */
bool conn_fold_msg_same(const char *a, const char *b);
size_t conn_fold_msg_shape(const char *msg, char *out);

#endif
