/* tls.h - incremental TLS handshake parser over one connection's two streams.
 *
 * Fed whatever in-order bytes each side sends (any chunking), it frames
 * records (RFC 8446 5.1: type(1) version(2) length(2) fragment), reassembles
 * handshake messages across records (type(1) length(3) body), and fills the
 * struct conn facts: ClientHello(s), ServerHello, Certificate chains (interned
 * in the x509 pool), CertificateRequest, CertificateStatus, alerts, the
 * ladder of events, encryption state and the outcome.
 *
 * Sides: the flow's raw side numbers (0/1) are mapped to client/server here.
 * The client is the SYN sender when TCP knows it (tls_set_client_side), else
 * the side that sends a ClientHello (TLS or SSLv2-compatible), else the side
 * opposite the server hint (tls_set_server_side_hint), else side 0.
 *
 * STARTTLS and other plaintext prefixes: a direction whose first bytes are
 * not TLS is scanned, for at most TLS_MAX_PLAINTEXT_PREFIX bytes, for a
 * record that starts a ClientHello (client) or ServerHello (server); the
 * plaintext before it is skipped and recorded (c->starttls,
 * c->plaintext_prefix).  Without such a record by then, or by the end of
 * the connection, the stream is not TLS.
 *
 * Bounded: at most one partial record and one partial handshake message per
 * direction, each capped (TLS_MAX_RECORD, limits.max_hs_msg); beyond that the
 * direction is marked malformed and ignored.  After ChangeCipherSpec (TLS
 * 1.2) or ServerHello selecting TLS 1.3, records of that direction are only
 * counted by header -- unless the key log (tls13_keylog.h) has this
 * connection's secrets: then TLS 1.3 handshake records are decrypted and
 * handled like cleartext until the handshake ends, and TLS 1.0-1.2 records
 * after each side's ChangeCipherSpec are opened with the CLIENT_RANDOM
 * line's master secret (tls12_decrypt.h): Finished, renegotiation hellos and
 * alerts are read (application data only counted) until that side's
 * close_notify or fatal alert.  tls_done() turns true once the handshake is
 * over (both Finished, a fatal alert, or the stream is not TLS; with TLS 1.2
 * keys, also the closing alerts) so the flow can stop buffering.
 */
#ifndef TLSINSPECT_TLS_H
#define TLSINSPECT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/tls_names.h"
#include "tlsinspect/x509.h"

#define TLS_MAX_RECORD        (16384u + 2048u)  /* RFC 8446: 2^14 + 256 ciphertext; slack */
#define TLS_MAX_HS_MSG        (256u * 1024u)    /* default handshake message cap */
#define TLS_MAX_RECORDS       100000u           /* records per connection before giving up */

/* Handshake types (RFC 8446 4, RFC 5246 7.4). */
enum tls_hs_type {
    TLS_HS_HELLO_REQUEST = 0, TLS_HS_CLIENT_HELLO = 1, TLS_HS_SERVER_HELLO = 2,
    TLS_HS_NEW_SESSION_TICKET = 4, TLS_HS_END_OF_EARLY_DATA = 5,
    TLS_HS_ENCRYPTED_EXTENSIONS = 8, TLS_HS_CERTIFICATE = 11,
    TLS_HS_SERVER_KEY_EXCHANGE = 12, TLS_HS_CERTIFICATE_REQUEST = 13,
    TLS_HS_SERVER_HELLO_DONE = 14, TLS_HS_CERTIFICATE_VERIFY = 15,
    TLS_HS_CLIENT_KEY_EXCHANGE = 16, TLS_HS_FINISHED = 20,
    TLS_HS_CERTIFICATE_STATUS = 22, TLS_HS_KEY_UPDATE = 24,
    TLS_HS_MESSAGE_HASH = 254
};

struct tls_limits {
    size_t max_hs_msg;        /* TLS_MAX_HS_MSG */
    size_t max_records;       /* TLS_MAX_RECORDS */
};
void tls_limits_default(struct tls_limits *lim);

struct tls_keylog;            /* tls13_keylog.h; may be NULL */
struct tls_session;

/* The session writes into *c (owned by the caller, must outlive the
 * session) and interns certificates into pool. */
int tls_session_new(struct tls_session **out, struct conn *c,
                    struct x509_pool *pool, const struct tls_names *names,
                    const struct tls_limits *lim,
                    const struct tls_keylog *keylog);
void tls_session_free(struct tls_session *s);     /* NULL is a no-op */
/* Borrow a JA3/JA4 memo (tls_msg.h) that outlives the session. */
struct tls_fp_memo;
void tls_session_set_fp_memo(struct tls_session *s, struct tls_fp_memo *memo);

/* TCP saw the SYN: raw side `side` is the client. */
void tls_set_client_side(struct tls_session *s, int side);
/* Fallback when no ClientHello decides: the side that is the server by port. */
void tls_set_server_side_hint(struct tls_session *s, int side);
/* -1 while unknown. */
int tls_client_side(const struct tls_session *s);

/* In-order bytes from raw side `side` (0/1). */
void tls_feed(struct tls_session *s, int side, const uint8_t *data, size_t len,
              int64_t ts);
/* n bytes of that side's stream are missing: the parser resynchronises if it
 * can (it gives up on the direction otherwise) and records the gap. */
void tls_gap(struct tls_session *s, int side, uint64_t n, int64_t ts);
/* FIN / RST from raw side `side`. */
void tls_close(struct tls_session *s, int side, bool rst, int64_t ts);

/* Nothing more can be read: stop buffering this connection.  Every
 * connection is followed to its end (record headers only after the
 * handshake). */
bool tls_done(const struct tls_session *s);
/* The handshake is decided (complete, failed, not TLS, or cannot go on):
 * what -w extracts ends there. */
bool tls_handshake_over(const struct tls_session *s);

/* End of the connection or capture: compute the outcome and derived facts
 * (preferred_auth was set at ClientHello time).  Idempotent. */
void tls_finish(struct tls_session *s);

/* TLS 1.3 without keys: the lengths of the server's protected records
 * before the client's first (its encrypted flight), as their headers give
 * them, for matching candidate chains (infer_chain.h).  Returns their
 * number, 0 when unknown (not TLS 1.3, keys used, more records than kept);
 * *lens stays valid while s lives. */
size_t tls_server_flight13(const struct tls_session *s, const uint16_t **lens);

#endif
