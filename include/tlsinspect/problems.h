/* problems.h - one root cause, one fix: the findings of an analysis grouped.
 *
 * A fleet of retries against one bad certificate is one problem, not three
 * findings times N connections.  Each reported connection with a finding at
 * warning or error level has one root cause: the first of its findings in
 * the order chain > name > client certificate > alerts > capture quality >
 * ECDSA selection (the failed check, not the alert it caused).  Connections
 * with the same root cause, role, certificate at fault and fix are one
 * problem, which lists the servers they went to and counts them.  The
 * ECDSA selection behind a chain failure is folded into that problem's
 * summary and workaround (X14.2's cipher order), not a problem of its own.
 *
 * problems_build() reads the analysis and owns what it makes; the reports
 * (text, JSON, HTML) iterate p->v[0 .. p->n), worst first: errors before
 * warnings, then more failed connections, then more connections, then the
 * earlier first connection.
 */
#ifndef TLSINSPECT_PROBLEMS_H
#define TLSINSPECT_PROBLEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/conn_key.h"

#define PROBLEM_MAX_REFS 4

struct problem {
    int cause;                          /* enum finding_id of the root cause */
    enum finding_severity severity;
    int role;                           /* enum conn_role */
    const struct x509_cert *leaf;       /* the certificate at fault (borrowed), or NULL */
    bool client_leaf;                   /* leaf is the client's (mutual TLS) */
    struct conn_endpoint *servers;      /* owned: distinct, sorted (address, then port) */
    size_t nservers;
    uint64_t connections;               /* connections whose root cause this is */
    uint64_t failed;                    /* of which failed */
    struct conn_key first;              /* the first of them, in the report order */
    bool ecdsa_preferred;               /* the server chose ECDSA because the client prefers it */
    char *summary;                      /* owned: what happened, in the capture's facts */
    const char *fix;                    /* static: the root finding's remedy */
    const char *workaround;             /* static, or NULL */
    const char *references[PROBLEM_MAX_REFS];   /* static bug ids */
    size_t nrefs;
};

struct problems {
    struct problem *v;                  /* owned, worst first */
    size_t n;
};

/* TI_OK or TI_ENOMEM (p left empty).  p is overwritten, not freed first. */
int problems_build(const struct analysis *a, struct problems *p);

/* The same, built one connection at a time (streaming reports): add each
 * reported connection once, in any order (the first of a group is the
 * first by conn_order_cmp whatever the arrival order; the connection is
 * only read during the call, its certificates kept as pool pointers).
 * Memory: one entry per problem with its distinct servers, not per
 * connection.  build() may be called more than once; p as for
 * problems_build().  TI_OK or TI_ENOMEM. */
struct problems_acc;
struct problems_acc *problems_acc_new(void);          /* NULL without memory */
int problems_acc_add(struct problems_acc *acc, const struct analysis *a, const struct conn *c);
int problems_acc_build(struct problems_acc *acc, const struct analysis *a, struct problems *p);
void problems_acc_free(struct problems_acc *acc);     /* NULL is a no-op */
void problems_free(struct problems *p);   /* empties p; NULL is a no-op */

/* "10.48.36.215:6972", "[2001:db8::1]:443"; buf >= 56 bytes. */
const char *problems_server_str(const struct conn_endpoint *e, char *buf, size_t len);

/* The text report's Problems section (and the SSH tunnels seen), for the
 * first screen.  Wire strings are escaped (report_escape()).  TI_OK,
 * TI_ENOMEM or TI_EIO. */
int problems_text(FILE *out, const struct analysis *a, bool color);
/* The same from problems built already (a's SSH tunnels are still read). */
int problems_text_built(FILE *out, const struct analysis *a, const struct problems *p, bool color);

#endif
