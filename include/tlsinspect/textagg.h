/* textagg.h - the text report built from connections fed one at a time.
 *
 * Streaming (issue 19): analyze_run() hands each finished connection to the
 * sinks in release order and forgets it.  The text report keeps instead:
 *   - one row per server endpoint: counts by outcome, the selected
 *     authentications with the first connection of each, the distinct
 *     leaves with their first and last connection and count, the verdicts
 *     by result and the first verified connection's verdict;
 *   - one entry per fold group (fold.h's identity; every connection its own
 *     group with -v): the count, the REPORT_FOLD_PORTS + 1 first members'
 *     report-order keys (the representative and the ports listed), and the
 *     representative's rendered ladder (-q: its finding lines), kept in a
 *     spill (memory up to a limit, then a temporary file) as offset and
 *     length.  A connection earlier in the report order than the
 *     representative becomes the representative and is rendered again;
 *   - the problems (problems_acc), the summary counts.
 * "First" is always by conn_order_cmp (struct conn_key), whatever the
 * arrival order, so the report is the one the ordered a->conns gives, byte
 * for byte.  Memory: per endpoint, per distinct (endpoint, leaf), per fold
 * group and per problem; nothing per connection except with -v, where each
 * connection is a group (about 100 bytes of memory and its ladder's text
 * in the spill).
 *
 * report_text() (report.h) is this aggregate fed from a->conns.
 */
#ifndef TLSINSPECT_TEXTAGG_H
#define TLSINSPECT_TEXTAGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/problems.h"
#include "tlsinspect/report.h"
#include "tlsinspect/sink.h"

struct textagg;

/* o is copied (o->version is borrowed and must outlive the aggregate).
 * NULL without memory. */
struct textagg *textagg_new(const struct report_opts *o);
void textagg_free(struct textagg *g);               /* NULL is a no-op */

/* A sink (sink.h) that feeds the aggregate; g outlives the analysis run. */
struct conn_sink textagg_sink(struct textagg *g);

/* Feed one connection (any order; each once).  Connections that are not
 * reported (OUTCOME_NOT_TLS) are ignored.  TI_OK, TI_ENOMEM or TI_EIO (the
 * spill file); an error is also kept and returned by report_text_agg(). */
int textagg_add(struct textagg *g, const struct analysis *a, const struct conn *c);

/* Bytes of rendered text kept in memory before the spill moves to a
 * temporary file (default 4 MiB); 0 spills from the first byte (tests). */
void textagg_spill_limit(struct textagg *g, size_t bytes);

/* The text report from the aggregate: what report_text() prints for the
 * same connections and options.  Call once, after the last connection.
 * TI_OK, TI_ENOMEM or TI_EIO. */
int report_text_agg(FILE *out, const struct analysis *a, struct textagg *g,
                    const struct report_opts *o);

/* ---- between textagg.c and report_text.c ---------------------------------------- */

/* One endpoint row, computed at the end (sorted by address, then port). */
struct textagg_row {
    struct conn_endpoint server;
    int role;                               /* enum conn_role */
    size_t conns, complete, failed, other;
    char auth[48];                          /* "RSA,ECDSA", "-" */
    const struct x509_cert *leaf;           /* the most common leaf, or NULL */
    size_t nleaves;                         /* distinct leaves counted */
    char verdict[96];                       /* "ok, name ok", "17 ok, 3 expired" */
};

struct textagg_totals {
    size_t conns;                           /* reported connections */
    size_t by_outcome[OUTCOME_ENCRYPTED + 1];
    size_t sev[SEV_ERROR + 1];              /* findings by severity */
    size_t hidden;                          /* TLS13_CERT_HIDDEN findings */
};

/* Sorts what was fed and builds the rows and problems: rows valid until
 * textagg_free(); p owned by the caller (problems_free). */
int textagg_finish(struct textagg *g, const struct analysis *a, const struct textagg_row **rows,
                   size_t *nrows, struct textagg_totals *tot, struct problems *p);
/* The groups in report order: each one's text, then (without -q, -v) its
 * "(and N more identical connections ...)" line; without -q a blank line
 * before each.  After textagg_finish(). */
int textagg_print_groups(struct textagg *g, FILE *out);

/* report_text.c: one connection's text for a group, with TEXTAGG_MARK
 * where the group's number goes (-v: "  (#id)" on the ladder's first line;
 * -q: "  (N connections)" after each finding line). */
#define TEXTAGG_MARK '\001'     /* never in escaped text: a control byte */
int report_text_conn(FILE *out, const struct analysis *a, const struct report_opts *o,
                     const struct conn *c);
/* The connections the ladder section (-q: the finding lines) shows. */
bool report_text_picked(const struct report_opts *o, const struct conn *c);
/* "10.0.0.1:443", "[2001:db8::1]:443" */
const char *report_text_endpoint(const struct conn_endpoint *e, char *buf, size_t len);

#endif
