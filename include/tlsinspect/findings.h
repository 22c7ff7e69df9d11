/* findings.h - connection facts -> findings with remedies.
 *
 * Every finding id of SPEC, its severity and its name come from one X-macro
 * table.  findings_run() reads a connection's facts (TCP, TLS, verification)
 * and appends findings with a message and a remedy in Expressway/CUCM terms.
 */
#ifndef TLSINSPECT_FINDINGS_H
#define TLSINSPECT_FINDINGS_H

#include <stdbool.h>

#include "tlsinspect/conn.h"

#define FINDING_MAP(X)                              \
    X(UNKNOWN_CA_ALERT,      SEV_ERROR)             \
    X(FATAL_ALERT,           SEV_ERROR)             \
    X(CHAIN_SELF_SIGNED,     SEV_ERROR)             \
    X(CHAIN_UNKNOWN_ISSUER,  SEV_ERROR)             \
    X(CERT_EXPIRED,          SEV_ERROR)             \
    X(CERT_NOT_YET_VALID,    SEV_ERROR)             \
    X(CHAIN_BAD_SIGNATURE,   SEV_ERROR)             \
    X(NAME_MISMATCH,         SEV_ERROR)             \
    X(ECDSA_SELECTED,        SEV_WARNING)           \
    X(CLIENT_CERT_REJECTED,  SEV_ERROR)             \
    X(CLIENT_CHAIN_UNTRUSTED, SEV_ERROR)            \
    X(TLS13_CERT_HIDDEN,     SEV_INFO)              \
    X(HANDSHAKE_INCOMPLETE,  SEV_WARNING)           \
    X(CAPTURE_GAP,           SEV_WARNING)           \
    X(SNAPLEN_TRUNCATED,     SEV_WARNING)           \
    X(CAPTURE_TRUNCATED,     SEV_ERROR)             \
    X(MALFORMED_TLS,         SEV_WARNING)           \
    X(LIMIT_REACHED,         SEV_WARNING)           \
    X(LOG_CAPTURE_MISMATCH,  SEV_WARNING)

enum finding_id {
#define FINDING_ENUM_(id, sev) FINDING_##id,
    FINDING_MAP(FINDING_ENUM_)
#undef FINDING_ENUM_
    FINDING_COUNT
};

const char *finding_name(int id);                 /* "UNKNOWN_CA_ALERT" */
enum finding_severity finding_severity(int id);
int finding_from_name(const char *name);          /* -1 if unknown */
const char *finding_severity_name(enum finding_severity s); /* "error" ... */

/* Append the findings of one connection (after verification). */
struct tls_names;
void findings_run(struct conn *c, const struct tls_names *names);

/* The same, with the messages of the frequent findings kept in m and shared
 * by the connections that have the same one (m NULL: findings_run).  m must
 * outlive the connections.  NULL from findings_memo_new() when out of
 * memory; findings_memo_free(NULL) is a no-op. */
struct findings_memo;
struct findings_memo *findings_memo_new(void);
void findings_memo_free(struct findings_memo *m);
void findings_run_memo(struct conn *c, const struct tls_names *names, struct findings_memo *m);

#endif
