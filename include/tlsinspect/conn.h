/* conn.h - what tlsinspect knows about one TLS connection.
 *
 * Plain data: filled by the flow table (TCP facts), the TLS parser (hellos,
 * certificates, alerts, outcome), the verifier and the findings stage; read by
 * the reports, which never parse bytes again.  Lists have fixed capacities
 * (the *_MAX constants) with a count and an overflow flag, except the cipher
 * suite list, which is allocated to its exact size (a ClientHello may offer
 * hundreds).  Certificates are borrowed from the x509 pool and outlive the
 * connection.  Times are microseconds since the epoch, UTC.
 */
#ifndef TLSINSPECT_CONN_H
#define TLSINSPECT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/x509.h"

#define CONN_MAX_EXTS      64
#define CONN_MAX_SIGALGS   64
#define CONN_MAX_GROUPS    64
#define CONN_MAX_VERSIONS  16
#define CONN_MAX_ALPN      16
#define CONN_MAX_POINTFMTS 8
#define CONN_MAX_HELLOS    2   /* first ClientHello and one after HelloRetryRequest */
#define CONN_MAX_CERTS     16  /* certificates kept per chain */
#define CONN_MAX_ALERTS    16
#define CONN_MAX_EVENTS    32  /* ladder entries kept */
#define CONN_MAX_FINDINGS  16
#define CONN_SUITES_MAX    32767 /* a 2-byte vector cannot hold more */
#define CONN_NAME_MAX      255   /* bytes of conn_verification.expected_name kept */

enum conn_dir { DIR_CLIENT = 0, DIR_SERVER = 1 };

/* struct conn.limits_hit bits (counted in the LIMIT_REACHED finding). */
#define CONN_LIMIT_HS_MSG   0x01u  /* a handshake message over tls_limits.max_hs_msg */
#define CONN_LIMIT_RECORDS  0x02u  /* more than tls_limits.max_records records */
#define CONN_LIMIT_CERTS    0x04u  /* a chain longer than CONN_MAX_CERTS */   /* who sent it */

enum conn_outcome {
    OUTCOME_INCOMPLETE = 0,   /* capture ended (or gaps) before the end */
    OUTCOME_COMPLETE,         /* both Finished (TLS 1.2: both CCS + encrypted Finished) */
    OUTCOME_FAILED,           /* fatal alert or reset before Finished */
    OUTCOME_ENCRYPTED,        /* TLS 1.3 without keys: certificate not visible */
    OUTCOME_NOT_TLS           /* --ports all: the stream was not TLS (not reported) */
};
const char *conn_outcome_name(enum conn_outcome o); /* "complete", ... */

enum conn_key_guess { KEY_GUESS_NONE = 0, KEY_GUESS_RSA, KEY_GUESS_EC };
/* How a session was resumed: TLS <= 1.2 abbreviated handshake (RFC 5246
 * 7.3, RFC 5077), or a TLS 1.3 ServerHello accepting a pre-shared key
 * (RFC 8446 2.2, 4.2.11).  Either way no certificate is sent. */
enum conn_resumption { RESUMED_NO = 0, RESUMED_SESSION_ID, RESUMED_TICKET, RESUMED_PSK };
enum conn_auth { AUTH_NONE = 0, AUTH_RSA, AUTH_ECDSA, AUTH_DSA, AUTH_PSK, AUTH_ANON, AUTH_ANY, AUTH_OTHER };
const char *conn_auth_name(enum conn_auth a);        /* NULL, "RSA", "ECDSA", ..., "any" */

struct conn_endpoint {
    uint8_t ipver;            /* 4 or 6 */
    uint8_t ip[16];           /* IPv4 in the first 4 bytes */
    uint16_t port;
};

struct conn_tcp {
    bool syn_seen;            /* client SYN captured */
    bool synack_seen;
    bool fin[2];              /* indexed by enum conn_dir: who sent FIN */
    bool rst[2];              /* who sent RST */
    int64_t rst_ts[2];
    uint64_t packets[2];
    uint64_t bytes[2];        /* TCP payload bytes seen */
    uint64_t retrans[2];      /* duplicate/overlapping segments dropped */
    uint64_t overlap_conflicts[2]; /* overlaps whose bytes differed (first copy won) */
    uint64_t gaps[2];         /* holes that never filled */
    uint64_t gap_bytes[2];
    uint64_t snap_cut[2];     /* packets cut by the snaplen carrying payload */
    uint64_t synacks_isn_changed; /* SYN-ACKs seen with a different ISN */
    bool limit_hit[2];        /* out-of-order buffer limit reached */
    uint8_t evicted;          /* enum conn_evicted: why the flow table dropped it early */
    bool evictions_before;    /* the full table had dropped other connections before this
                                 one ended: a mid-stream start may be a re-tracked flow */
};

/* Why the connection table let a connection go before its end. */
enum conn_evicted { CONN_EVICTED_NO = 0, CONN_EVICTED_IDLE, CONN_EVICTED_FULL };

/* The lists (exts ... alpn) point into one block the hello owns, `lists`,
 * holding exactly the entries sent, at most CONN_MAX_* each: a connection
 * keeps two hellos, and fixed arrays of those capacities would be mostly
 * empty in every connection.  A list with no entries may be NULL. */
struct conn_client_hello {
    bool sslv2;               /* SSLv2-compatible ClientHello */
    int64_t ts;
    uint16_t legacy_version;
    uint16_t *suites;         /* owned, n_suites entries, order kept */
    uint32_t n_suites;
    uint16_t *exts;           /* extension types, order kept */
    uint16_t n_exts;
    uint16_t *versions;       /* supported_versions */
    uint16_t n_versions;
    uint16_t *sigalgs;        /* signature_algorithms */
    uint16_t n_sigalgs;
    uint16_t *groups;         /* supported_groups (at most CONN_MAX_GROUPS) */
    uint16_t n_groups;
    uint16_t *key_share_groups;            /* at most CONN_MAX_GROUPS */
    uint16_t n_key_share_groups;
    uint8_t *point_formats;
    uint16_t n_point_formats;
    char **alpn;              /* the strings are owned too */
    uint16_t n_alpn;
    void *lists;              /* owned: the block the lists above live in */
    char *sni;                /* owned, NULL when absent (bytes as sent, NUL-free) */
    uint8_t session_id_len;
    bool lists_truncated;     /* some list above exceeded its capacity */
    enum conn_auth preferred_auth; /* SPEC: first ECDHE/DHE non-1.3 suite, or 1st sigalg */
    uint16_t preferred_suite; /* the suite that decided preferred_auth (0 if sigalg) */
    char ja3[33];             /* MD5 hex of the JA3 string */
    char ja4[40];             /* JA4 (FoxIO) a_b_c */
};

struct conn_server_hello {
    bool present;
    bool hrr;                 /* this was a HelloRetryRequest */
    int64_t ts;
    uint16_t legacy_version;
    uint16_t version;         /* negotiated: supported_versions if present */
    uint16_t suite;
    uint8_t compression;
    uint16_t exts[CONN_MAX_EXTS];
    uint16_t n_exts;
    enum conn_auth auth;      /* implied by the suite; AUTH_ANY for TLS 1.3 */
};

struct conn_alert {
    enum conn_dir from;
    bool encrypted;           /* level/description unknown */
    bool decrypted;           /* TLS 1.0-1.3: read by decrypting the record with --keylog */
    uint8_t level;            /* 1 warning, 2 fatal (valid when !encrypted) */
    uint8_t description;
    int64_t ts;
    int8_t after_msg;         /* last handshake message type seen before it (either side), -1 none */
    enum conn_dir after_msg_from;
    bool inferred;            /* TLS 1.3 without keys: an alert by its record's size and position */
    bool after_appdata;       /* sent after application data began (either side) */
    int64_t after_appdata_us; /* how long after, when after_appdata */
};

/* One ladder line: a handshake message, CCS, alert or the first app data. */
enum conn_event_kind { EV_HANDSHAKE, EV_CCS, EV_ALERT, EV_APPDATA, EV_ENCRYPTED_HS, EV_RST, EV_FIN, EV_GAP };
struct conn_event {
    int64_t ts;
    uint8_t kind;             /* enum conn_event_kind */
    uint8_t from;             /* enum conn_dir */
    uint8_t type;             /* handshake type, or alert description */
    uint8_t level;            /* alert level */
};

enum finding_severity { SEV_INFO = 0, SEV_WARNING, SEV_ERROR };

struct conn_finding {
    int id;                   /* enum finding_id (findings.h) */
    enum finding_severity severity;
    char *message;            /* owned, unless its bit in conn.findings_shared is set */
    const char *remedy;       /* static text (the findings tables), not owned */
};

struct conn_verification {
    bool done;
    int64_t time;             /* seconds since the epoch the chain was judged at */
    const char *expected_name; /* "" until verified; at most CONN_NAME_MAX bytes,
                                  borrowed from the analysis's conn_strpool */
    enum x509_name_source name_source;
    struct x509_verdict verdict;
    bool now_differs;         /* --at capture and the verdict today differs */
    struct x509_verdict verdict_now;
    bool client_done;         /* client chain verified against --client-cafile */
    struct x509_verdict client_verdict;
};

struct conn {
    uint64_t id;              /* 1-based, in report order */
    uint32_t input;           /* the capture input its first packet came from */
    uint64_t serial;          /* its flow's creation order: the last tie-break of the report order */
    struct conn_endpoint client, server;
    int64_t first_ts, last_ts;
    struct conn_tcp tcp;

    bool is_tls;              /* a TLS (or SSLv2) ClientHello or record was seen */
    bool starttls;            /* TLS began after a plaintext prefix (STARTTLS and the like) */
    uint32_t plaintext_prefix[2]; /* bytes skipped before TLS, per direction */
    uint16_t record_version;  /* of the first record */
    struct conn_client_hello ch[CONN_MAX_HELLOS];
    uint8_t n_ch;
    bool ch_more;             /* more ClientHellos than kept */
    struct conn_server_hello sh;  /* the final ServerHello (HRR kept in sh_hrr) */
    struct conn_server_hello sh_hrr;
    bool tls13;

    const struct x509_cert *server_certs[CONN_MAX_CERTS];  /* order as sent */
    uint16_t n_server_certs;
    bool server_certs_truncated;
    bool client_certs_truncated;
    bool server_cert_msg_seen;
    bool certificate_request;
    bool certificate_status;   /* OCSP staple */
    const struct x509_cert *client_certs[CONN_MAX_CERTS];
    uint16_t n_client_certs;
    bool client_cert_msg_seen; /* may be empty (n_client_certs == 0) */

    struct conn_alert alerts[CONN_MAX_ALERTS];
    uint16_t n_alerts;
    bool alerts_truncated;

    struct conn_event events[CONN_MAX_EVENTS];
    uint16_t n_events;
    bool events_truncated;

    bool ccs[2];               /* ChangeCipherSpec sent (direction encrypted after) */
    bool finished[2];          /* Finished seen (TLS 1.2: encrypted hs record after CCS) */
    bool appdata[2];
    /* TLS 1.3 without keys: what the protected records' sizes and order show
     * (tls_record: inferred, and said to be). */
    bool outcome_inferred;     /* outcome complete/failed read from the record pattern */
    uint8_t inferred_server_key; /* enum conn_key_guess */
    uint16_t inferred_sig_len; /* its basis: the CertificateVerify signature's bytes */
    uint16_t inferred_cv_record; /* ... in a protected record of this many bytes */
    bool inferred_client_cert; /* the client's flight began with a record too large for
                                * a Finished or an empty Certificate: its certificate */
    bool inferred_empty_client_cert; /* ... with an empty Certificate record: asked, it had none */
    /* The known chain (infer_chain.h) the encrypted server flight's size
     * fits, when exactly one does; inferred_leaf NULL when none. */
    const struct x509_cert *inferred_leaf;  /* borrowed from the x509 pool */
    uint8_t inferred_chain_source;  /* enum infer_chain_source: cafile or seen */
    uint8_t inferred_chain_certs;   /* certificates in that chain */
    bool inferred_chain_exact;      /* the Certificate record(s) exactly; else the flight's total */
    uint32_t inferred_cert_msg;     /* the TLS 1.3 Certificate message it makes, bytes */
    uint32_t inferred_chain_room;   /* total: bytes left for EncryptedExtensions and the like */
    int64_t inferred_chain_seen_ts; /* seen: when this server presented it in cleartext */
    uint8_t resumed;           /* enum conn_resumption: no certificate in this handshake */
    int64_t appdata_ts;        /* first application data record (either side), valid when appdata[] */
    bool malformed[2];         /* the parser gave up on this direction */
    char *malformed_why[2];    /* owned */
    bool keys_used;            /* --keylog opened records (TLS 1.3 handshake, TLS 1.0-1.3) */
    char *tls13_note;          /* owned: no secrets, tag failure, ... */

    uint8_t limits_hit;        /* CONN_LIMIT_* bits: a configured limit cut the parse */

    enum conn_outcome outcome;
    uint8_t role;              /* enum conn_role (role.h): the server port's path */
    struct conn_verification verify;
    struct conn_finding findings[CONN_MAX_FINDINGS];
    uint16_t n_findings;
    uint16_t findings_shared;  /* bit i: findings[i].message is borrowed
                                  (conn_add_finding_shared), not owned */
};

/* Initialise / release a connection (frees owned strings and suites, never
 * the borrowed certificates), leaving it initialised for reuse.
 * conn_free(NULL) is a no-op. */
void conn_init(struct conn *c);
void conn_free(struct conn *c);

/* Free what a ClientHello owns (suites, SNI, ALPN strings, the list block)
 * and zero it. */
void conn_hello_free(struct conn_client_hello *h);

/* Point h's lists at one block the hello owns, sized to what they hold now
 * (n_exts ... n_alpn entries; the ALPN strings change owner, not place):
 * how a parser that filled them in scratch arrays of CONN_MAX_* entries
 * keeps them.  With every count 0 the lists are set NULL and nothing is
 * allocated.  TI_ENOMEM leaves h as it was. */
int conn_hello_keep_lists(struct conn_client_hello *h);

/* Give h empty lists of the full CONN_MAX_* capacities, owned by h: for a
 * hello built field by field (the tests).  TI_ENOMEM without memory. */
int conn_hello_alloc_lists(struct conn_client_hello *h);


/* Where an analysis keeps its connections: slots from 2 MiB chunks faulted
 * in at once, so a report's thousands of connections do not cost a page
 * fault per 4 KiB.  conn_arena_get() gives an
 * initialised connection (NULL when out of memory); conn_arena_put()
 * releases one and keeps its slot for the next get; conn_arena_free()
 * unmaps everything -- put back (or conn_free()) the connections first, it
 * does not release what they own.  NULL-safe: put(c NULL), free(NULL). */
struct conn_arena;
struct conn_arena *conn_arena_new(void);
struct conn *conn_arena_get(struct conn_arena *ar);
void conn_arena_put(struct conn_arena *ar, struct conn *c);
void conn_arena_free(struct conn_arena *ar);

/* Append helpers that respect the capacities (set the overflow flags). */
void conn_add_event(struct conn *c, int64_t ts, enum conn_event_kind kind,
                    enum conn_dir from, uint8_t type, uint8_t level);
int conn_add_finding(struct conn *c, int id, enum finding_severity sev,
                     const char *message, const char *remedy);
/* The same with a message the connection borrows (not copied, not freed):
 * one text shared by the many connections that have the same finding.  It
 * must outlive the connection. */
int conn_add_finding_shared(struct conn *c, int id, enum finding_severity sev,
                            const char *message, const char *remedy);

/* Strings many connections share (the names their chains were verified
 * for), kept once each: conn_strpool_intern() gives the pool's copy of the
 * first `max` bytes of s (NULL when out of memory), valid until
 * conn_strpool_free().  NULL-safe free. */
struct conn_strpool;
struct conn_strpool *conn_strpool_new(void);
const char *conn_strpool_intern(struct conn_strpool *p, const char *s, size_t max);
void conn_strpool_free(struct conn_strpool *p);

/* Format an endpoint address ("10.0.0.1", "2001:db8::1"); buf >= 46 bytes. */
/* The report order: first timestamp, then server endpoint, then client
 * endpoint, then serial (total: two connections never compare equal unless
 * they are the same).  Every report and sink uses this one order. */
int conn_endpoint_cmp(const struct conn_endpoint *a, const struct conn_endpoint *b);
int conn_order_cmp(const struct conn *a, const struct conn *b);

const char *conn_ip_str(const struct conn_endpoint *e, char *buf, size_t len);

#endif
