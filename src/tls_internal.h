/* tls_internal.h - private to the TLS stream engine (src/tls_*.c).
 *
 * The engine behind tls.h, in five files along its jobs:
 *   tls_record.c   record framing: headers, bodies, gaps, resynchronisation,
 *                  what a record means from its header alone
 *   tls_hs.c       handshake message reassembly and the messages' facts
 *   tls_decrypt.c  opening records with --keylog secrets (TLS 1.0-1.3)
 *   tls_prefix.c   the plaintext prefix scan (STARTTLS and the like)
 *   tls_role.c     which raw side is the client; tls_feed()
 *   tls_session.c  the session's life: creation, alerts, closing, outcome
 *   tls_infer.c    TLS 1.3 without keys: what record sizes and order show
 *
 * Each direction has two state variables, and the rest of its fields are
 * registers that only mean something in some of their states:
 *
 *   sync   SYNC_START -> SYNC_IN <-> SYNC_SEARCHING; any -> SYNC_DEAD (final)
 *   prot   PROT_PLAIN -> PROT_OPAQUE | PROT_DEC12 | PROT_HS13;
 *          PROT_HS13 -> PROT_APP13 | PROT_DONE13 (at its Finished);
 *          PROT_DEC12, PROT_HS13, PROT_APP13 -> PROT_STOPPED (final but
 *          for a TLS 1.3 ServerHello, which puts the server in PROT_OPAQUE)
 *
 * Invariants:
 *   - rec != REC_HEADER only in SYNC_IN: hdr[0..5) is then the record's
 *     header and rec_have <= rec_len bytes of its body were seen.  In
 *     SYNC_START and SYNC_IN with rec == REC_HEADER, hdr[0..hdr_len) is a
 *     header being read; in SYNC_SEARCHING it is the resync window.
 *   - origin != ORIGIN_NONE once a header was accepted (it never goes back);
 *     SYNC_START implies origin is ORIGIN_NONE or ORIGIN_PREFIX (the scan
 *     found the hello, whose header is being read).
 *   - hs_len > 0 (a partial handshake message in hs_buf) only while
 *     handshake records are read: PROT_PLAIN, or a PROT_DEC12 / PROT_HS13 /
 *     PROT_APP13 side's decrypted records; a CCS, the TLS 1.3 ServerHello
 *     and a gap empty it.
 *   - PROT_DEC12 implies s->dec12 with ready keys for this side; PROT_HS13
 *     and PROT_APP13 imply s->dec with keys for this side.
 *   - PROT_HS13, PROT_APP13 and PROT_DONE13 only on a TLS 1.3 connection
 *     (c->tls13); PROT_DEC12 only on TLS <= 1.2.  A TLS 1.3 client stays
 *     PROT_PLAIN without keys: its protected records are type 23, told apart
 *     by their header.
 *   - rec_damaged only with rec != REC_HEADER: a gap fell inside the body,
 *     which is then counted, never read.
 *   - SYNC_DEAD: nothing more is read from this side, and no buffer holds
 *     anything (rec == REC_HEADER, hs_len == 0).
 *   - s->run != RUN_ON: neither side reads anything more.
 */
#ifndef TLSINSPECT_TLS_INTERNAL_H
#define TLSINSPECT_TLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls12_decrypt.h"
#include "tlsinspect/tls13_keylog.h"

/* Record content types (RFC 8446 5.1, RFC 6520). */
enum {
    CT_CCS = 20,
    CT_ALERT = 21,
    CT_HANDSHAKE = 22,
    CT_APPDATA = 23,
    CT_HEARTBEAT = 24,
    CT_SSL2 = 0x80,          /* internal: an SSLv2-compatible ClientHello */
};

/* ServerHello compression_method DEFLATE (RFC 3749 2). */
#define TLS_COMP_DEFLATE 1u

#define TLS_PEEK_MAX   6     /* record header + handshake type: enough to tell the roles */

/* STARTTLS and the like (SMTP, IMAP, POP3, LDAP, MySQL, ...): a direction
 * whose first bytes are not TLS is scanned for the record that begins its
 * hello, at most this many plaintext bytes per direction. */
#define TLS_MAX_PLAINTEXT_PREFIX (64u * 1024u)
/* record header(5) + handshake type(1) + length(3) + hello version(2) */
#define TLS_SCAN_WINDOW 11
#define TLS_HS_HDR     4     /* type(1) length(3) */

/* Where a direction is in its record stream. */
enum tls_sync {
    SYNC_START = 0,          /* no record header accepted yet: the first bytes decide */
    SYNC_IN,                 /* in step with the records */
    SYNC_SEARCHING,          /* after a gap between records: sliding a window for a header */
    SYNC_DEAD                /* given up (malformed, record limit, not TLS) */
};

/* How the direction's TLS began. */
enum tls_origin {
    ORIGIN_NONE = 0,         /* not yet */
    ORIGIN_START,            /* at its first byte */
    ORIGIN_PREFIX,           /* after a plaintext prefix (found by the scan) */
    ORIGIN_MIDSTREAM         /* after a gap: its start was never seen */
};

/* What protects the direction's records. */
enum tls_prot {
    PROT_PLAIN = 0,          /* in the clear */
    PROT_OPAQUE,             /* encrypted (after CCS, or the TLS 1.3 server after its
                              * ServerHello), no keys: handled by header */
    PROT_DEC12,              /* TLS <= 1.2 after its CCS, opened with the key log's master
                              * secret (RFC 5246 6.3) until close_notify or a fatal alert */
    PROT_HS13,               /* TLS 1.3 handshake keys: type-23 records opened */
    PROT_APP13,              /* TLS 1.3 after its Finished, [CLIENT|SERVER]_TRAFFIC_SECRET_0
                              * logged: records opened (application data discarded,
                              * KeyUpdate followed) until close_notify or a fatal alert, so a
                              * server's alert rejecting the client's certificate and the
                              * closing alerts are read */
    PROT_DONE13,             /* TLS 1.3 after its Finished, no application secret: its
                              * records are application data, by header */
    PROT_STOPPED             /* keys failed (MAC/tag, lost records, renegotiation without
                              * keys): opaque from here on */
};

/* The record being read, by what its body is for. */
enum tls_rec {
    REC_HEADER = 0,          /* none: the next bytes are a header */
    REC_COUNT,               /* handled from its header alone, body skipped */
    REC_READ,                /* body needed: plaintext handshake, alert, SSLv2 hello, or a
                              * TLS 1.3 record to open */
    REC_OPEN12,              /* body opened with the TLS <= 1.2 keys */
    REC_COUNT12              /* body skipped, but it uses up a TLS <= 1.2 sequence number */
};

/* One direction of the connection (indexed by enum conn_dir). */
struct tls_dir {
    uint8_t sync;            /* enum tls_sync */
    uint8_t origin;          /* enum tls_origin */
    uint8_t prot;            /* enum tls_prot */
    uint8_t rec;             /* enum tls_rec */
    uint8_t hdr[5];          /* record header being read (or resync window) */
    uint8_t hdr_len;
    uint8_t rec_type;
    bool rec_damaged;        /* a gap fell inside this record */
    size_t rec_len, rec_have;
    uint8_t *rec_buf;        /* partial record, cap TLS_MAX_RECORD */
    size_t rec_cap;
    uint8_t *hs_buf;         /* partial handshake message, cap max_hs_msg + 4 */
    size_t hs_len, hs_cap;
    bool hs_lost;            /* handshake messages out of step after a gap */

    bool unconfirmed;        /* ORIGIN_MIDSTREAM: TLS once a whole record parses */
    uint16_t unconfirmed_version;
    bool fin, rst;           /* TCP FIN / RST seen from this side */
    /* A decrypted close_notify or fatal alert ended what this side sends
     * (RFC 5246 7.2.1; RFC 8446 6.1, 6.2: after a fatal alert neither side
     * sends anything). */
    bool alert_closed;

    bool enc_hs_seen;        /* TLS <= 1.2: first encrypted handshake record (Finished) */
    bool opaque_event;       /* EV_ENCRYPTED_HS added for this side */
    uint32_t enc13_records;  /* TLS 1.3: opaque records after the ServerHello */
    bool dec13_ok;           /* a record of this side opened (TLS 1.3) */
    uint32_t key_changes13;  /* Finished and KeyUpdates read: a record's messages end there */
};

/* TLS <= 1.2 decryption state, allocated at the first hello with --keylog
 * only (a connection without a key log pays one pointer). */
struct tls12_dec {
    /* The latest hellos (a renegotiation brings new ones), for the key
     * block (RFC 5246 6.3) and encrypt_then_mac (RFC 7366). */
    bool have_cr, have_sr;
    bool ch_etm, sh_etm;                  /* the hello carried extension 22 */
    uint8_t cr[TLS12_RANDOM_LEN], sr[TLS12_RANDOM_LEN];
    struct tls12_dir k[2];                /* by enum conn_dir */
    uint8_t *buf;            /* TLS12_MAX_CIPHERTEXT: plaintext of one record (CBC: with
                              * MAC and padding); allocated with the first keys */
};

/* TLS 1.3 decryption state, allocated once keys are set (most connections
 * never need it: one pointer each). */
struct tls13_dec {
    struct tls13_dir_keys k[2];           /* by enum conn_dir */
    uint8_t buf[TLS13_MAX_CIPHERTEXT];    /* plaintext of one record */
};

/* Plaintext-prefix scan of one raw side (indexed by raw side 0/1, since it
 * may run before the roles are known). */
struct tls_scan {
    bool on;                 /* looking for the hello that starts TLS */
    bool used;               /* a scan ran on this side (found or not) */
    uint32_t skipped;        /* plaintext bytes passed so far */
    uint8_t carry[TLS_SCAN_WINDOW - 1];  /* a candidate hello start cut by the chunk end */
    uint8_t carry_len;
};

/* TLS 1.3 protected records by their headers, for what the wire shows
 * without keys (tls_infer.c): the server's encrypted flight, the client's
 * answer to it, and what each side sent after that. */
#define TLS13_FLIGHT_MAX 16
enum { W13_SERVER_FLIGHT = 0, W13_CLIENT_FLIGHT, W13_AFTER };
struct tls13_wire {
    uint8_t phase;                        /* W13_* */
    uint8_t n_srv_len;
    uint16_t srv_len[TLS13_FLIGHT_MAX];   /* the server flight's record lengths */
    uint32_t srv_flight, cli_flight;      /* records in each flight */
    uint64_t cli_flight_bytes;
    uint16_t cli_first_len, cli_last_len; /* the client flight's first and last records */
    uint32_t after[2];                    /* records after the client's flight, by conn_dir */
    uint32_t after_big[2];                /* ... too long for an alert */
    uint16_t last_len[2];                 /* each side's latest protected record */
    int64_t last_ts[2];
    bool judged;                          /* tls_finish ran the inference (idempotent) */
    uint8_t outcome;                      /* what it decided, when it did */
};

/* Whether the session still reads anything. */
enum tls_run {
    RUN_ON = 0,
    RUN_STOPPED,             /* record limit reached */
    RUN_NOT_TLS              /* the connection is not TLS (overrides RUN_STOPPED) */
};

struct tls_session {
    struct conn *c;
    struct x509_pool *pool;
    const struct tls_names *names;
    struct tls_fp_memo *memo;          /* NULL: JA3/JA4 digested every time */
    const struct tls_keylog *keylog;   /* NULL without --keylog */
    struct tls_limits lim;

    int client_side;         /* raw side of the client, -1 unknown */
    int server_hint;         /* raw side that is the server by port, -1 none */
    int first_speaker;       /* raw side that sent bytes first, -1 none */
    uint8_t peek[2][TLS_PEEK_MAX];   /* raw side's first bytes while roles are unknown */
    uint8_t peek_len[2];

    struct tls_dir d[2];
    struct tls_scan scan[2];
    uint64_t records;
    uint8_t run;             /* enum tls_run */
    int last_hs_type;        /* -1 none */
    enum conn_dir last_hs_from;
    bool hs_failed;          /* fatal (or encrypted) alert before the handshake completed */
    bool srv_after_cli13;    /* TLS 1.3: server record after the client's first opaque record */
    bool srv_after_cfin;     /* TLS 1.3: a server record ended after the client's Finished
                              * (decrypted: one that was not an alert) */
    bool have_random;        /* a ClientHello random was seen (and looked up) */
    bool early_data;         /* the ClientHello offered 0-RTT (early_data extension) */
    bool ch_ticket;          /* the ClientHello carried a non-empty session ticket */
    bool srv_hello_done;     /* TLS <= 1.2: ServerHelloDone (a full handshake) */

    const struct tls_keylog_entry *kl_entry;  /* the key log's secrets for that random */
    struct tls13_wire w13;
    struct tls13_dec *dec;   /* only for a connection being decrypted */
    struct tls12_dec *dec12; /* TLS <= 1.2 decryption; only with --keylog */
    int64_t ts;
};

/* ---- state tests ---- */

static inline bool tls_running(const struct tls_session *s)
{
    return s->run == RUN_ON;
}

/* Records of this side are opened with keys (TLS 1.3 handshake or
 * application keys, or TLS <= 1.2). */
static inline bool prot_opens(uint8_t prot)
{
    return prot == PROT_DEC12 || prot == PROT_HS13 || prot == PROT_APP13;
}

static inline bool prot_opens13(uint8_t prot)
{
    return prot == PROT_HS13 || prot == PROT_APP13;
}

/* A side that has TLS 1.3 keys or had them (a ServerHello's keys were set
 * up for it). */
static inline bool tls_keyed13(const struct tls_session *s, const struct tls_dir *d)
{
    return d->prot == PROT_HS13 || d->prot == PROT_APP13 || d->prot == PROT_DONE13 ||
           (d->prot == PROT_STOPPED && s->dec != NULL);
}

static inline const char *tls_side_name(enum conn_dir dir)
{
    return dir == DIR_CLIENT ? "client" : "server";
}

/* ---- tls_session.c ---- */
__attribute__((format(printf, 3, 4)))
void tls_note_problem(struct tls_session *s, enum conn_dir dir, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
void tls_give_up(struct tls_session *s, enum conn_dir dir, const char *fmt, ...);
void tls_not_tls(struct tls_session *s);
int tls_buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t max);
bool tls_hs12_complete(const struct tls_session *s);
bool tls_hs13_over(const struct tls_session *s);
void tls_add_alert(struct tls_session *s, enum conn_dir dir, bool encrypted,
                   uint8_t level, uint8_t desc);
void tls_appdata_event(struct tls_session *s, enum conn_dir dir);
void tls_opaque_event(struct tls_session *s, enum conn_dir dir);

/* ---- tls_record.c ---- */
void tls_dir_feed(struct tls_session *s, enum conn_dir dir, const uint8_t *p, size_t n);
void tls_dir_gap(struct tls_session *s, enum conn_dir dir, uint64_t n);
void tls_on_ccs(struct tls_session *s, enum conn_dir dir);
void tls_on_appdata(struct tls_session *s, enum conn_dir dir);
void tls_on_opaque12(struct tls_session *s, enum conn_dir dir);
void tls_alerts_input(struct tls_session *s, enum conn_dir dir, const uint8_t *p, size_t n);
bool tls_plausible_first_byte(uint8_t b);

/* ---- tls_hs.c ---- */
void tls_hs_input(struct tls_session *s, enum conn_dir dir, const uint8_t *p, size_t n,
                  bool decrypted);
void tls_on_ssl2_hello(struct tls_session *s, enum conn_dir dir, const uint8_t *msg,
                       size_t len);

/* ---- tls_decrypt.c ---- */
__attribute__((format(printf, 2, 3)))
void tls_note13(struct tls_session *s, const char *fmt, ...);
void tls_keys13_setup(struct tls_session *s);
void tls_keys13_app(struct tls_session *s, enum conn_dir dir);
void tls_key_update13(struct tls_session *s, enum conn_dir dir, const uint8_t *body,
                      size_t len);
void tls_keys12_start(struct tls_session *s, enum conn_dir dir);
struct tls12_dec *tls_dec12_state(struct tls_session *s);
void tls_open13(struct tls_session *s, enum conn_dir dir, const uint8_t *body, size_t len);
void tls_open12(struct tls_session *s, enum conn_dir dir, const uint8_t *body, size_t len);
void tls_keys_lost(struct tls_session *s, enum conn_dir dir, uint64_t n);

/* ---- tls_prefix.c ---- */
void tls_scan_begin(struct tls_session *s, int side, const uint8_t *first, size_t n);
void tls_scan_feed(struct tls_session *s, int side, const uint8_t *p, size_t n);
void tls_scan_gap(struct tls_session *s, int side, uint64_t n, int64_t ts);
void tls_scan_end(struct tls_session *s);
void tls_bad_start(struct tls_session *s, enum conn_dir dir, const char *what);

/* ---- tls_infer.c ---- */
void tls_infer_record(struct tls_session *s, enum conn_dir dir, size_t len);
/* A protected record of `len` bytes could be an alert: 3 inner bytes, or a
 * padding block (a power of two, 16-64); a KeyUpdate (22 bytes) is not. */
bool tls_infer_alert_sized(const struct tls_session *s, size_t len);
/* The records so far decide the inferred outcome, whatever follows. */
bool tls_infer_settled(const struct tls_session *s);
bool tls_infer_outcome(struct tls_session *s);
void tls_infer_server_key(struct tls_session *s);

/* ---- tls_role.c ---- */
int tls_side_of(const struct tls_session *s, enum conn_dir dir);
enum conn_dir tls_dir_of(const struct tls_session *s, int side);
void tls_decide_role(struct tls_session *s);
void tls_replay_peeks(struct tls_session *s);

#endif
