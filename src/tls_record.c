/* tls_record.c - incremental TLS session: record framing, handshake reassembly, encryption state, outcome. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/cur.h"
#include "tlsinspect/err.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls12_decrypt.h"
#include "tlsinspect/tls13_keylog.h"
#include "tlsinspect/tls_msg.h"

/* Record content types (RFC 8446 5.1, RFC 6520). */
enum {
    CT_CCS = 20,
    CT_ALERT = 21,
    CT_HANDSHAKE = 22,
    CT_APPDATA = 23,
    CT_HEARTBEAT = 24,
    CT_SSL2 = 0x80,          /* internal: an SSLv2-compatible ClientHello */
};

#define TLS_PEEK_MAX   6     /* record header + handshake type: enough to tell the roles */

/* STARTTLS and the like (SMTP, IMAP, POP3, LDAP, MySQL, ...): a direction
 * whose first bytes are not TLS is scanned for the record that begins its
 * hello, at most this many plaintext bytes per direction. */
#define TLS_MAX_PLAINTEXT_PREFIX (64u * 1024u)
/* record header(5) + handshake type(1) + length(3) + hello version(2) */
#define TLS_SCAN_WINDOW 11
/* The smallest hello body: ServerHello version(2) random(32) session_id(1)
 * suite(2) compression(1) (RFC 5246 7.4.1.3); a ClientHello is longer. */
#define TLS_MIN_HELLO_BODY 38u
#define TLS_HS_HDR     4     /* type(1) length(3) */
#define TLS_BUF_MIN    512u  /* first allocation of a partial-record/message buffer */

/* One direction of the connection (indexed by enum conn_dir). */
struct tls_dir {
    uint8_t hdr[5];          /* record header being read (or resync window) */
    uint8_t hdr_len;
    bool in_rec;             /* header read, fragment pending */
    uint8_t rec_type;
    size_t rec_len, rec_have;
    bool rec_keep;           /* fragment needed: plaintext handshake, alert, SSLv2 */
    bool rec_damaged;        /* a gap fell inside this record */
    uint8_t *rec_buf;        /* partial record, cap TLS_MAX_RECORD */
    size_t rec_cap;
    uint8_t *hs_buf;         /* partial handshake message, cap max_hs_msg + 4 */
    size_t hs_len, hs_cap;

    bool started;            /* first record header accepted */
    bool dead;               /* given up (malformed, record limit) */
    bool lost_sync;          /* scanning for a record header after a gap */
    bool hs_lost;            /* handshake messages out of step after a gap */
    bool enc;                /* records encrypted: after CCS (<= 1.2) or the 1.3 ServerHello */
    bool ccs12;              /* enc came from a CCS sent before the version was known */
    bool enc_hs_seen;        /* TLS <= 1.2: first encrypted handshake record (Finished) */
    uint32_t enc13_records;  /* TLS 1.3: opaque records after the ServerHello */
    bool prefixed;           /* TLS began after a plaintext prefix (found by the scan) */
    bool unconfirmed;        /* stream began with a gap: TLS once a whole record parses */
    uint16_t unconfirmed_version;
    bool closed, rst;
    /* TLS 1.3 with --keylog: this side's handshake records are decrypted
     * from the ServerHello until its Finished (RFC 8446 2, 7.3). */
    uint8_t dec13;           /* enum dec13_state */
    bool dec13_ok;           /* a record of this side opened */
    bool opaque_event;       /* EV_ENCRYPTED_HS added for this side */
    uint32_t key_changes13;  /* Finished and KeyUpdates read: a record's messages end there */
    /* TLS <= 1.2 with --keylog: from its ChangeCipherSpec, this side's
     * records are opened with the keys of the CLIENT_RANDOM line's master
     * secret (RFC 5246 6.3). */
    uint8_t dec12;           /* enum dec12_state */
    bool dec12_all;          /* keep every record (TLS 1.0 CBC: the IV chains through them) */
    bool rec_open12;         /* the current record is to be opened */
    /* A decrypted close_notify or fatal alert ended what this side sends
     * (RFC 5246 7.2.1; RFC 8446 6.1, 6.2: after a fatal alert neither side
     * sends anything). */
    bool alert_closed;
};

enum dec12_state {
    DEC12_NONE = 0,          /* no keys (before CCS, no --keylog, no CLIENT_RANDOM line) */
    DEC12_ON,                /* records after this side's CCS are opened */
    DEC12_STOPPED            /* MAC failure, lost records, renegotiation without keys */
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

/* Decryption state, allocated once keys are set (most connections never
 * need it: one pointer each). */
struct tls13_dec {
    struct tls13_dir_keys k[2];           /* by enum conn_dir */
    uint8_t buf[TLS13_MAX_CIPHERTEXT];    /* plaintext of one record */
};

enum dec13_state {
    DEC13_NONE = 0,          /* no secret for this side (or no --keylog) */
    DEC13_ON,                /* handshake keys set: type-23 records are opened */
    DEC13_APP,               /* Finished read, [CLIENT|SERVER]_TRAFFIC_SECRET_0 logged: records
                              * are opened (application data discarded, KeyUpdate followed)
                              * until this side's close_notify or a fatal alert, so a server's
                              * alert rejecting the client's certificate and the closing
                              * alerts are read */
    DEC13_DONE,              /* Finished read, no application secret: opaque */
    DEC13_STOPPED            /* tag failure or lost records: opaque from here on */
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
    bool stopped;            /* record limit reached */
    bool not_tls;
    int last_hs_type;        /* -1 none */
    enum conn_dir last_hs_from;
    bool hs_failed;          /* fatal (or encrypted) alert before the handshake completed */
    bool srv_after_cli13;    /* TLS 1.3: server record after the client's first opaque record */
    bool have_random;        /* a ClientHello random was seen (and looked up) */
    bool early_data;         /* the ClientHello offered 0-RTT (early_data extension) */
    bool srv_after_cfin;     /* TLS 1.3: a server record ended after the client's Finished
                              * (decrypted: one that was not an alert) */
    const struct tls_keylog_entry *kl_entry;  /* the key log's secrets for that random */
    struct tls13_dec *dec;   /* only for a connection being decrypted */
    struct tls12_dec *dec12; /* TLS <= 1.2 decryption; only with --keylog */
    int64_t ts;
};

void tls_limits_default(struct tls_limits *lim)
{
    lim->max_hs_msg = TLS_MAX_HS_MSG;
    lim->max_records = TLS_MAX_RECORDS;
}

int tls_session_new(struct tls_session **out, struct conn *c,
                    struct x509_pool *pool, const struct tls_names *names,
                    const struct tls_limits *lim,
                    const struct tls_keylog *keylog)
{
    struct tls_session *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL)
        return TI_ENOMEM;
    s->c = c;
    s->pool = pool;
    s->names = names;
    s->keylog = keylog;
    if (lim != NULL)
        s->lim = *lim;
    else
        tls_limits_default(&s->lim);
    s->client_side = -1;
    s->server_hint = -1;
    s->first_speaker = -1;
    s->last_hs_type = -1;
    *out = s;
    return TI_OK;
}

void tls_session_set_fp_memo(struct tls_session *s, struct tls_fp_memo *memo)
{
    s->memo = memo;
}

void tls_session_free(struct tls_session *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        free(s->d[i].rec_buf);
        free(s->d[i].hs_buf);
    }
    if (s->dec != NULL) {
        tls13_keys_clear(&s->dec->k[0]);
        tls13_keys_clear(&s->dec->k[1]);
        free(s->dec);
    }
    if (s->dec12 != NULL) {
        tls12_dir_clear(&s->dec12->k[0]);
        tls12_dir_clear(&s->dec12->k[1]);
        free(s->dec12->buf);
        free(s->dec12);
    }
    free(s);
}

/* ---- problems ---------------------------------------------------------- */

__attribute__((format(printf, 1, 0)))
static char *vfmt(const char *fmt, va_list ap)
{
    char tmp[160];

    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    return strdup(tmp);
}

/* A problem the parser survived: kept in malformed_why (first one only)
 * without setting malformed[] (which means "gave up"). */
__attribute__((format(printf, 3, 4)))
static void note_problem(struct tls_session *s, enum conn_dir dir,
                         const char *fmt, ...)
{
    va_list ap;

    if (s->c->malformed_why[dir] != NULL)
        return;
    va_start(ap, fmt);
    s->c->malformed_why[dir] = vfmt(fmt, ap);
    va_end(ap);
}

/* Give up on a direction; the reason replaces any earlier note. */
__attribute__((format(printf, 3, 4)))
static void give_up(struct tls_session *s, enum conn_dir dir, const char *fmt, ...)
{
    va_list ap;
    char *why;

    va_start(ap, fmt);
    why = vfmt(fmt, ap);
    va_end(ap);
    if (why != NULL) {
        free(s->c->malformed_why[dir]);
        s->c->malformed_why[dir] = why;
    }
    s->c->malformed[dir] = true;
    s->d[dir].dead = true;
    s->d[dir].in_rec = false;
    s->d[dir].hs_len = 0;
}

/* ---- buffers ----------------------------------------------------------- */

static int buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t max)
{
    size_t ncap;
    uint8_t *nb;

    if (need <= *cap)
        return TI_OK;
    if (need > max)
        return TI_ELIMIT;
    ncap = *cap < TLS_BUF_MIN ? TLS_BUF_MIN : *cap;
    while (ncap < need)
        ncap = ncap > max / 2 ? max : ncap * 2;
    nb = realloc(*buf, ncap);
    if (nb == NULL)
        return TI_ENOMEM;
    *buf = nb;
    *cap = ncap;
    return TI_OK;
}

/* ---- state helpers ---------------------------------------------------- */

static const char *side_name(enum conn_dir dir)
{
    return dir == DIR_CLIENT ? "client" : "server";
}

static bool version_is_tls13(uint16_t v)
{
    return v == 0x0304 || (v >> 8) == 0x7f;   /* final or draft (0x7fNN) */
}

static bool hs12_complete(const struct tls_session *s)
{
    return !s->c->tls13 && s->c->finished[0] && s->c->finished[1];
}

/* TLS 1.3 with both Finished read: over once the server, if it asked for a
 * certificate, went on after the client's Finished (RFC 8446 4.4.2.4: it
 * judges the certificate then, and its next record may be the alert; a
 * decrypted alert does not count as going on).  A fatal alert after that
 * does not fail the handshake. */
static bool hs13_over(const struct tls_session *s)
{
    return s->c->tls13 && s->c->finished[DIR_CLIENT] && s->c->finished[DIR_SERVER] &&
           (!s->c->certificate_request || s->srv_after_cfin);
}

/* TLS 1.3 without keys: both sides encrypted, the client answered the
 * server's flight, and something flowed after that answer (so an answer
 * that was an encrypted alert followed by a reset is not taken for done). */
static bool tls13_done(const struct tls_session *s)
{
    const struct tls_dir *cl = &s->d[DIR_CLIENT], *sv = &s->d[DIR_SERVER];

    if (!s->c->tls13)
        return false;
    /* With keys: a side still being decrypted has not sent its Finished. */
    if (cl->dec13 == DEC13_ON || sv->dec13 == DEC13_ON)
        return false;
    if (s->c->finished[DIR_CLIENT] && s->c->finished[DIR_SERVER])
        return hs13_over(s);
    return sv->enc13_records > 0 && cl->enc13_records > 0 &&
           (cl->enc13_records > 1 || s->srv_after_cli13);
}

/* RFC 5246 7.2.2 / RFC 8446 6.2: descriptions that end the connection
 * whatever level the sender wrote. */
static bool alert_always_fatal(uint8_t desc)
{
    switch (desc) {
    case 0: case 41: case 42: case 43: case 44: case 45: case 46:
    case 90: case 100: case 112:
        return false;
    default:
        return true;
    }
}

static void add_alert(struct tls_session *s, enum conn_dir dir, bool encrypted,
                      uint8_t level, uint8_t desc)
{
    struct conn *c = s->c;

    if (c->n_alerts < CONN_MAX_ALERTS) {
        struct conn_alert *a = &c->alerts[c->n_alerts++];
        a->from = dir;
        a->encrypted = encrypted;
        a->level = encrypted ? 0 : level;
        a->description = encrypted ? 0 : desc;
        a->ts = s->ts;
        a->after_msg = (s->last_hs_type >= 0 && s->last_hs_type <= 127)
                           ? (int8_t)s->last_hs_type : -1;
        a->after_msg_from = s->last_hs_from;
    } else {
        c->alerts_truncated = true;
    }
    conn_add_event(c, s->ts, EV_ALERT, dir, encrypted ? 0 : desc,
                   encrypted ? 0 : level);
    if (!hs12_complete(s) && !hs13_over(s) &&
        (encrypted || level == 2 || (level == 1 && alert_always_fatal(desc))))
        s->hs_failed = true;
}

/* TLS 1.3 negotiated by a (non-HRR) ServerHello: the server's later records
 * are encrypted; a CCS the client sent before we knew was the RFC 8446 D.4
 * middlebox-compatibility one, not a key change. */
static void enter_tls13(struct tls_session *s)
{
    struct tls_dir *sv = &s->d[DIR_SERVER], *cl = &s->d[DIR_CLIENT];

    sv->enc = true;
    sv->hs_len = 0;
    if (cl->ccs12) {
        cl->ccs12 = false;
        cl->enc = false;
        s->c->ccs[DIR_CLIENT] = false;
    }
}

/* ---- TLS 1.3 decryption with --keylog ----------------------------------- */

#define TLS13_NOTE_MAX 480   /* statements joined with "; " */

/* What happened to decryption (or what TLS 1.3 did instead of sending a
 * certificate), for the reports: statements joined with "; ", each once. */
__attribute__((format(printf, 2, 3)))
static void note13(struct tls_session *s, const char *fmt, ...)
{
    char add[TLS13_NOTE_MAX], *old = s->c->tls13_note, *joined;
    size_t olen, alen;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(add, sizeof(add), fmt, ap);
    va_end(ap);
    if (old != NULL && strstr(old, add) != NULL)
        return;
    olen = old != NULL ? strlen(old) : 0;
    alen = strlen(add);
    if (olen + 2 + alen >= TLS13_NOTE_MAX)
        return;   /* enough said */
    joined = malloc(olen + 2 + alen + 1);
    if (joined == NULL)
        return;
    if (old != NULL) {
        memcpy(joined, old, olen);
        memcpy(joined + olen, "; ", 2);
        olen += 2;
    }
    memcpy(joined + olen, add, alen + 1);
    free(old);
    s->c->tls13_note = joined;
}

/* The final ServerHello selected TLS 1.3: look the ClientHello's random up
 * in the key log and set each side's handshake keys from its
 * [CLIENT|SERVER]_HANDSHAKE_TRAFFIC_SECRET (RFC 8446 7.1, 7.3).  Nothing
 * changes for a side without a usable secret: its records stay opaque. */
static void keys13_setup(struct tls_session *s)
{
    static const uint8_t label[2] = {TLS_KL_CLIENT_HS, TLS_KL_SERVER_HS};  /* by conn_dir */
    struct conn *c = s->c;
    const struct tls_keylog_entry *e;
    size_t hash_len = 0;
    bool any = false;

    if (s->keylog == NULL || s->d[DIR_CLIENT].dec13 != DEC13_NONE ||
        s->d[DIR_SERVER].dec13 != DEC13_NONE)
        return;
    if (!s->have_random) {
        note13(s, "the ClientHello was not captured: its random is needed to find the "
                  "connection's secrets in the key log");
        return;
    }
    if (!tls13_suite_supported(c->sh.suite, &hash_len)) {
        note13(s, "cipher suite 0x%04x: TLS 1.3 decryption is not supported for it", c->sh.suite);
        return;
    }
    e = s->kl_entry;
    if (e == NULL) {
        note13(s, "no key log entry for this connection's client random");
        return;
    }
    if (e->s[TLS_KL_CLIENT_HS].len == 0 && e->s[TLS_KL_SERVER_HS].len == 0) {
        note13(s, "the key log has no handshake traffic secrets for this connection's client "
                  "random (only application or TLS 1.2 secrets)");
        return;
    }
    if (s->dec == NULL) {
        s->dec = calloc(1, sizeof(*s->dec));
        if (s->dec == NULL) {
            note13(s, "TLS 1.3 decryption: %s", ti_strerror(TI_ENOMEM));
            return;
        }
    }
    for (int dir = DIR_CLIENT; dir <= DIR_SERVER; dir++) {
        const struct tls_keylog_secret *sec = &e->s[label[dir]];
        struct tls_dir *d = &s->d[dir];
        int rc;

        if (sec->len == 0)
            continue;
        rc = tls13_keys_init(&s->dec->k[dir], c->sh.suite, sec->v, sec->len);
        if (rc == TI_EMALFORMED) {
            note13(s, "the key log's %s secret has %u bytes, the selected suite needs %zu: "
                      "the key log does not match this connection",
                   dir == DIR_CLIENT ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
                                     : "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                   sec->len, hash_len);
            continue;
        }
        if (rc != TI_OK) {
            note13(s, "TLS 1.3 keys not derived (%s)", ti_strerror(rc));
            continue;
        }
        d->dec13 = DEC13_ON;
        any = true;
    }
    if (!any)
        return;   /* said above */
    if (s->d[DIR_SERVER].dec13 != DEC13_ON)
        note13(s, "the key log has no SERVER_HANDSHAKE_TRAFFIC_SECRET for this connection: "
                  "only the client's handshake is decrypted");
    else if (s->d[DIR_CLIENT].dec13 != DEC13_ON)
        note13(s, "the key log has no CLIENT_HANDSHAKE_TRAFFIC_SECRET for this connection: "
                  "only the server's handshake is decrypted");
}

/* A side's Finished was read (RFC 8446 7.2): its next records are under
 * its application traffic keys, opened while the handshake lasts when the
 * key log has them. */
static void keys13_app(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];
    const struct tls_keylog_secret *sec;

    d->dec13 = DEC13_DONE;
    d->key_changes13++;
    if (s->kl_entry == NULL)
        return;
    sec = &s->kl_entry->s[dir == DIR_CLIENT ? TLS_KL_CLIENT_AP0 : TLS_KL_SERVER_AP0];
    if (sec->len > 0 && s->dec != NULL &&
        tls13_keys_init(&s->dec->k[dir], s->c->sh.suite, sec->v, sec->len) == TI_OK)
        d->dec13 = DEC13_APP;
}

/* A KeyUpdate read under a side's application keys (RFC 8446 4.6.3): its
 * next records are under the next generation, derived from the current
 * secret (7.2), sequence from 0 (5.3).  body: KeyUpdateRequest, 1 byte. */
static void key_update13(struct tls_session *s, enum conn_dir dir, const uint8_t *body,
                         size_t len)
{
    struct tls_dir *d = &s->d[dir];
    int rc;

    if (d->dec13 == DEC13_ON) {
        /* RFC 8446 4.6.3: before Finished it is an unexpected_message. */
        note_problem(s, dir, "KeyUpdate before the %s's Finished", side_name(dir));
        return;
    }
    if (d->dec13 != DEC13_APP)
        return;
    if (len != 1 || body[0] > 1)
        note_problem(s, dir, "malformed KeyUpdate (%zu bytes)", len);   /* keys change anyway */
    rc = tls13_keys_update(&s->dec->k[dir]);
    if (rc != TI_OK) {
        d->dec13 = DEC13_STOPPED;
        note13(s, "the %s's next application traffic keys after a KeyUpdate were not derived "
                  "(%s): decryption stopped", side_name(dir), ti_strerror(rc));
        return;
    }
    d->key_changes13++;
}

/* ---- TLS 1.0-1.2 decryption with --keylog ------------------------------- */

#define TLS_EXT_ENCRYPT_THEN_MAC 22   /* RFC 7366 */

/* Does a hello body carry extension `type`?  ClientHello (RFC 5246
 * 7.4.1.2): version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
 * compression_methods<1..2^8-1> extensions<0..2^16-1>; ServerHello
 * (7.4.1.3): version(2) random(32) session_id<0..32> cipher_suite(2)
 * compression_method(1) extensions<0..2^16-1>. */
static bool hello_has_ext(const uint8_t *body, size_t len, bool client, uint16_t type)
{
    struct cur c = cur_make(body, len), v, exts, e;
    uint16_t t;

    if (cur_skip(&c, 2 + TLS12_RANDOM_LEN) != TI_OK || cur_vec(&c, 1, &v) != TI_OK)
        return false;
    if (client) {
        if (cur_vec(&c, 2, &v) != TI_OK || cur_vec(&c, 1, &v) != TI_OK)
            return false;
    } else if (cur_skip(&c, 3) != TI_OK) {
        return false;
    }
    if (cur_vec(&c, 2, &exts) != TI_OK)
        return false;
    while (cur_u16(&exts, &t) == TI_OK && cur_vec(&exts, 2, &e) == TI_OK)
        if (t == type)
            return true;
    return false;
}

/* The TLS <= 1.2 decryption state, created on first use with --keylog;
 * NULL without a key log (or out of memory: then nothing is decrypted). */
static struct tls12_dec *dec12_state(struct tls_session *s)
{
    if (s->keylog != NULL && s->dec12 == NULL)
        s->dec12 = calloc(1, sizeof(*s->dec12));
    return s->dec12;
}

/* A TLS <= 1.2 side sent ChangeCipherSpec: its next records are under the
 * keys of the latest hellos' master secret, which the key log's
 * CLIENT_RANDOM line gives (RFC 5246 6.3, 7.1).  A renegotiation's CCS
 * replaces the keys with the new handshake's.  Without a usable secret the
 * side's records stay opaque, as without --keylog. */
static void keys12_start(struct tls_session *s, enum conn_dir dir)
{
    struct conn *c = s->c;
    struct tls_dir *d = &s->d[dir];
    struct tls12_dec *x;
    const struct tls_keylog_entry *e;
    const struct tls_keylog_secret *ms;
    struct tls12_suite suite;
    bool reneg = d->dec12 == DEC12_ON;
    int rc;

    if (s->keylog == NULL || d->dec12 == DEC12_STOPPED)
        return;
    /* A renegotiation whose keys are missing ends decryption for good:
     * the next handshake's hellos would be encrypted under them. */
    d->dec12 = reneg ? DEC12_STOPPED : DEC12_NONE;
    x = dec12_state(s);
    if (x == NULL) {
        note13(s, "TLS 1.2 decryption: %s", ti_strerror(TI_ENOMEM));
        return;
    }
    tls12_dir_clear(&x->k[dir]);
    if (!x->have_cr || !x->have_sr || !c->sh.present) {
        note13(s, "the hellos were not captured: their randoms are needed to decrypt the "
                  "TLS 1.2 records with the key log");
        return;
    }
    e = tls_keylog_find(s->keylog, x->cr);
    ms = e != NULL ? &e->s[TLS_KL_MASTER] : NULL;
    if (ms == NULL || ms->len == 0) {
        note13(s, reneg ? "no CLIENT_RANDOM line in the key log for the renegotiation's client "
                          "random: decryption stopped there"
                        : "no CLIENT_RANDOM line in the key log for this connection's client "
                          "random");
        return;
    }
    rc = tls12_suite_lookup(s->names, c->sh.suite, c->sh.version, &suite);
    if (rc != TI_OK) {
        note13(s, "cipher suite 0x%04x at version 0x%04x: record decryption is not supported "
                  "for it", c->sh.suite, c->sh.version);
        return;
    }
    if (c->sh.compression != 0) {
        /* RFC 5246 6.2.2: the plaintext would need inflating first. */
        note13(s, "TLS compression (method %u) was selected: records not decrypted",
               c->sh.compression);
        return;
    }
    if (x->buf == NULL) {
        x->buf = malloc(TLS12_MAX_CIPHERTEXT);
        if (x->buf == NULL) {
            note13(s, "TLS 1.2 decryption: %s", ti_strerror(TI_ENOMEM));
            return;
        }
    }
    rc = tls12_dir_init(&x->k[dir], &suite, x->ch_etm && x->sh_etm, dir, ms->v, ms->len,
                        x->cr, x->sr);
    if (rc != TI_OK) {
        note13(s, "TLS 1.2 keys not derived (%s)", ti_strerror(rc));
        return;
    }
    d->dec12 = DEC12_ON;
    d->dec12_all = tls12_skip_tail_len(&x->k[dir]) > 0;
}

/* ---- handshake messages ---------------------------------------------- */

static void on_client_hello(struct tls_session *s, enum conn_dir dir,
                            const uint8_t *body, size_t len)
{
    struct conn *c = s->c;
    char note[128];
    int rc;

    if (dir != DIR_CLIENT) {
        note_problem(s, dir, "ClientHello sent by the server side");
        return;
    }
    if (len >= 2 + TLS12_RANDOM_LEN && dec12_state(s) != NULL) {
        /* The latest ClientHello names the TLS <= 1.2 master secret in the
         * key log, a renegotiation's included (RFC 5246 6.3). */
        memcpy(s->dec12->cr, body + 2, TLS12_RANDOM_LEN);
        s->dec12->have_cr = true;
        s->dec12->ch_etm = hello_has_ext(body, len, true, TLS_EXT_ENCRYPT_THEN_MAC);
    }
    if (!s->have_random && len >= 2 + TLS_KEYLOG_RANDOM_LEN) {
        /* version(2) random(32); a second ClientHello after a
         * HelloRetryRequest repeats the random (RFC 8446 4.1.2). */
        s->have_random = true;
        s->kl_entry = tls_keylog_find(s->keylog, body + 2);
    }
    if (c->n_ch >= CONN_MAX_HELLOS) {
        c->ch_more = true;
        return;
    }
    rc = tls_msg_client_hello(body, len, s->names, s->memo, &c->ch[c->n_ch], note,
                              sizeof(note));
    if (rc == TI_EMALFORMED || rc == TI_ETRUNC) {
        /* Damaged hello (fuzzed, buggy client): keep what the client
         * offered, as Wireshark does, and say what was lost. */
        int rc2 = tls_msg_client_hello_salvage(body, len, s->names, s->memo, &c->ch[c->n_ch],
                                               note, sizeof(note));
        if (rc2 == TI_OK)
            rc = TI_OK;
    }
    if (rc != TI_OK) {
        note_problem(s, dir, "ClientHello not decoded (%s)", ti_err_name(rc));
        return;
    }
    c->ch[c->n_ch].ts = s->ts;
    for (uint16_t i = 0; i < c->ch[c->n_ch].n_exts; i++)
        if (c->ch[c->n_ch].exts[i] == 42)   /* early_data (RFC 8446 4.2.10) */
            s->early_data = true;
    c->n_ch++;
    if (note[0] != '\0')
        note_problem(s, dir, "%s", note);
}

static void on_server_hello(struct tls_session *s, enum conn_dir dir,
                            const uint8_t *body, size_t len)
{
    struct conn *c = s->c;
    struct conn_server_hello sh;
    char note[128];
    int rc;

    if (dir != DIR_SERVER) {
        note_problem(s, dir, "ServerHello sent by the client side");
        return;
    }
    rc = tls_msg_server_hello(body, len, s->names, &sh, note, sizeof(note));
    if (rc != TI_OK) {
        note_problem(s, dir, "ServerHello not decoded (%s)", ti_err_name(rc));
        return;
    }
    if (note[0] != '\0')
        note_problem(s, dir, "%s", note);
    sh.ts = s->ts;
    if (sh.hrr)
        c->sh_hrr = sh;   /* RFC 8446 4.1.4: the client answers with a second ClientHello */
    else
        c->sh = sh;
    if (!sh.hrr && len >= 2 + TLS12_RANDOM_LEN && dec12_state(s) != NULL) {
        memcpy(s->dec12->sr, body + 2, TLS12_RANDOM_LEN);
        s->dec12->have_sr = true;
        s->dec12->sh_etm = false;
        for (uint16_t i = 0; i < sh.n_exts; i++)
            if (sh.exts[i] == TLS_EXT_ENCRYPT_THEN_MAC)
                s->dec12->sh_etm = true;
    }
    if (version_is_tls13(sh.version)) {
        c->tls13 = true;
        if (!sh.hrr) {
            enter_tls13(s);
            for (uint16_t i = 0; i < sh.n_exts; i++)
                if (sh.exts[i] == 41)   /* pre_shared_key (RFC 8446 4.2.11) */
                    note13(s, "PSK resumption: the server accepted a pre-shared key and sends no "
                              "certificate in this handshake (it was checked when the session "
                              "was first established)");
            /* After a HelloRetryRequest the keys come from this second
             * ServerHello's handshake secret: only now are they logged. */
            if (sh.version == 0x0304)
                keys13_setup(s);
            else if (s->keylog != NULL)
                note13(s, "TLS 1.3 draft version 0x%04x: not decrypted", sh.version);
        }
    }
}

static void on_certificate(struct tls_session *s, enum conn_dir dir,
                           const uint8_t *body, size_t len)
{
    struct conn *c = s->c;
    bool server = dir == DIR_SERVER;
    bool *seen = server ? &c->server_cert_msg_seen : &c->client_cert_msg_seen;
    const struct x509_cert **certs = server ? c->server_certs : c->client_certs;
    uint16_t *n = server ? &c->n_server_certs : &c->n_client_certs;
    bool trunc = false;
    int rc;

    if (*seen)
        return;   /* keep the first chain (a renegotiation would be encrypted anyway) */
    rc = tls_msg_certificate(body, len, c->tls13, s->pool, certs, CONN_MAX_CERTS,
                             n, &trunc);
    if (rc != TI_OK) {
        note_problem(s, dir, "Certificate not decoded (%s)", ti_err_name(rc));
        return;
    }
    *seen = true;
    if (server)
        c->server_certs_truncated = trunc;
    else
        c->client_certs_truncated = trunc;
    if (trunc)
        c->limits_hit |= CONN_LIMIT_CERTS;
}

static void hs_message(struct tls_session *s, enum conn_dir dir, uint8_t type,
                       const uint8_t *body, size_t len)
{
    struct conn *c = s->c;

    if (s->d[dir].dec13 == DEC13_APP) {
        /* Read under this side's application keys: post-handshake messages
         * (RFC 8446 4.6).  NewSessionTicket and post-handshake
         * authentication say nothing about the handshake and are ignored
         * (the ladder and the alerts' "after" stay with the handshake's
         * last message); a KeyUpdate changes the keys. */
        if (type == TLS_HS_KEY_UPDATE)
            key_update13(s, dir, body, len);
        return;
    }
    conn_add_event(c, s->ts, EV_HANDSHAKE, dir, type, 0);
    s->last_hs_type = type;
    s->last_hs_from = dir;
    switch (type) {
    case TLS_HS_CLIENT_HELLO:
        on_client_hello(s, dir, body, len);
        break;
    case TLS_HS_SERVER_HELLO:
        on_server_hello(s, dir, body, len);
        break;
    case TLS_HS_CERTIFICATE:
        on_certificate(s, dir, body, len);
        break;
    case TLS_HS_CERTIFICATE_REQUEST:
        if (dir == DIR_SERVER)
            c->certificate_request = true;
        break;
    case TLS_HS_CERTIFICATE_STATUS:
        if (dir == DIR_SERVER)
            c->certificate_status = true;
        break;
    case TLS_HS_FINISHED:
        c->finished[dir] = true;   /* only visible in clear when decrypted */
        if (s->d[dir].dec13 == DEC13_ON)
            keys13_app(s, dir);   /* application traffic keys follow (RFC 8446 7.2) */
        break;
    case TLS_HS_KEY_UPDATE:
        key_update13(s, dir, body, len);   /* under handshake keys: a problem */
        break;
    default:
        break;
    }
}

/* Handshake layer (RFC 8446 5.1): messages may share a record or span many;
 * at most one partial message per direction is buffered. */
static void hs_input(struct tls_session *s, enum conn_dir dir, const uint8_t *p,
                     size_t n, bool decrypted)
{
    struct tls_dir *d = &s->d[dir];
    struct cur c = cur_make(p, n), m = {NULL, NULL};
    uint32_t mlen, keys = d->key_changes13;
    int rc;

    if (d->hs_lost) {
        /* After a gap: pick the message stream up again only where a
         * record starts with a plausible message header. */
        struct cur t = c;
        uint8_t type;
        d->hs_len = 0;
        if (cur_u8(&t, &type) != TI_OK || cur_u24(&t, &mlen) != TI_OK ||
            tls_hs_name(type) == NULL || mlen > s->lim.max_hs_msg)
            return;
        d->hs_lost = false;
    }
    /* A key change ends the message stream of its record (RFC 8446 5.1):
     * plaintext stops at encryption, decrypted text at the next keys. */
    while (!cur_done(&c) && !d->dead && d->key_changes13 == keys &&
           (decrypted ? d->dec13 == DEC13_ON || d->dec13 == DEC13_APP || d->dec12 == DEC12_ON
                      : !d->enc)) {
        if (d->hs_len == 0 && cur_left(&c) >= TLS_HS_HDR) {
            mlen = (uint32_t)c.p[1] << 16 | (uint32_t)c.p[2] << 8 | c.p[3];
            if (mlen > s->lim.max_hs_msg) {
                s->c->limits_hit |= CONN_LIMIT_HS_MSG;
                give_up(s, dir, "handshake message of %u bytes exceeds the limit", mlen);
                return;
            }
            if (cur_left(&c) - TLS_HS_HDR >= mlen) {
                uint8_t type = c.p[0];
                (void)cur_skip(&c, TLS_HS_HDR);
                (void)cur_bytes(&c, mlen, &m);
                hs_message(s, dir, type, m.p, mlen);   /* zero copy */
                continue;
            }
        }
        /* Partial message: header first, then the body up to its length. */
        size_t need = TLS_HS_HDR;
        if (d->hs_len >= TLS_HS_HDR) {
            mlen = (uint32_t)d->hs_buf[1] << 16 | (uint32_t)d->hs_buf[2] << 8 | d->hs_buf[3];
            need = TLS_HS_HDR + (size_t)mlen;
        }
        rc = buf_reserve(&d->hs_buf, &d->hs_cap, need, s->lim.max_hs_msg + TLS_HS_HDR);
        if (rc != TI_OK) {
            give_up(s, dir, "handshake message buffer: %s", ti_strerror(rc));
            return;
        }
        size_t take = need - d->hs_len;
        if (take > cur_left(&c))
            take = cur_left(&c);
        (void)cur_bytes(&c, take, &m);
        memcpy(d->hs_buf + d->hs_len, m.p, take);
        d->hs_len += take;
        if (d->hs_len == TLS_HS_HDR && need == TLS_HS_HDR) {
            mlen = (uint32_t)d->hs_buf[1] << 16 | (uint32_t)d->hs_buf[2] << 8 | d->hs_buf[3];
            if (mlen > s->lim.max_hs_msg) {
                s->c->limits_hit |= CONN_LIMIT_HS_MSG;
                give_up(s, dir, "handshake message of %u bytes exceeds the limit", mlen);
                return;
            }
            need = TLS_HS_HDR + (size_t)mlen;
        }
        if (d->hs_len == need) {
            d->hs_len = 0;
            hs_message(s, dir, d->hs_buf[0], d->hs_buf + TLS_HS_HDR, need - TLS_HS_HDR);
        }
    }
    /* RFC 8446 5.1: a Finished or KeyUpdate ends its record; what follows
     * would be under the old keys, which the sender no longer uses. */
    if (d->key_changes13 != keys && !cur_done(&c) && !d->dead)
        note_problem(s, dir, "%zu bytes after a key change in the same record ignored",
                     cur_left(&c));
}

/* ---- records ----------------------------------------------------------- */

static void on_ccs(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];

    conn_add_event(s->c, s->ts, EV_CCS, dir, 0, 0);
    if (s->c->tls13)
        return;   /* RFC 8446 D.4: middlebox compatibility, no key change */
    s->c->ccs[dir] = true;
    d->enc = true;
    d->ccs12 = true;
    d->hs_len = 0;
    keys12_start(s, dir);
}

static void opaque_event(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];

    if (!d->opaque_event) {
        d->opaque_event = true;
        conn_add_event(s->c, s->ts, EV_ENCRYPTED_HS, dir, 0, 0);
    }
}

/* Protected record of a TLS 1.3 connection (type 23, or anything
 * encrypted), at its header. */
static void on_opaque13(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];
    struct conn *c = s->c;

    if (!c->sh.present)
        return;   /* 0-RTT early data before the ServerHello */
    d->enc13_records++;
    if (dir == DIR_SERVER && s->d[DIR_CLIENT].enc13_records > 0)
        s->srv_after_cli13 = true;
    switch (d->dec13) {
    case DEC13_ON:
    case DEC13_APP:
        break;    /* opened in record_end: its messages make the ladder */
    case DEC13_DONE:
        /* After this side's Finished: application traffic keys (RFC 8446
         * 7.2), which tlsinspect does not need. */
        if (!c->appdata[dir]) {
            c->appdata[dir] = true;
            conn_add_event(c, s->ts, EV_APPDATA, dir, 0, 0);
        }
        break;
    default:
        opaque_event(s, dir);
        break;
    }
}

/* Alerts are 2 bytes; a record may carry several.  One split across
 * records (legal before TLS 1.3, never seen) is ignored. */
static void alerts_input(struct tls_session *s, enum conn_dir dir, const uint8_t *p,
                         size_t n)
{
    struct cur c = cur_make(p, n);
    uint8_t level, desc;

    while (cur_u8(&c, &level) == TI_OK && cur_u8(&c, &desc) == TI_OK)
        add_alert(s, dir, false, level, desc);
}

/* Alerts read by decrypting a record (TLS 1.0-1.3 with --keylog): as in
 * the clear, marked decrypted.  A close_notify ends what its sender sends
 * (RFC 5246 7.2.1, RFC 8446 6.1); a fatal alert too, and in TLS 1.3 what
 * both send (RFC 8446 6.2: both close at once; the level is implied by the
 * description, 6: every alert but close_notify and user_canceled is fatal). */
static void alerts_decrypted(struct tls_session *s, enum conn_dir dir, const uint8_t *p,
                             size_t n)
{
    struct conn *c = s->c;
    struct cur cu = cur_make(p, n);
    uint8_t level, desc;

    while (cur_u8(&cu, &level) == TI_OK && cur_u8(&cu, &desc) == TI_OK) {
        uint16_t before = c->n_alerts;
        add_alert(s, dir, false, level, desc);
        if (c->n_alerts > before)
            c->alerts[before].decrypted = true;
        if (desc == 0 || level == 2)
            s->d[dir].alert_closed = true;
        if (c->tls13 && desc != 0 && desc != 90)   /* 90: user_canceled */
            s->d[DIR_CLIENT].alert_closed = s->d[DIR_SERVER].alert_closed = true;
    }
}

/* Decryption of a TLS 1.3 side stops (the note says why): its records are
 * opaque from here, as without keys. */
static void stop13(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];
    struct conn *c = s->c;

    if (d->dec13 == DEC13_APP) {
        /* After its Finished: application data, as DEC13_DONE counts it. */
        if (!c->appdata[dir]) {
            c->appdata[dir] = true;
            conn_add_event(c, s->ts, EV_APPDATA, dir, 0, 0);
        }
    } else {
        opaque_event(s, dir);
    }
    d->dec13 = DEC13_STOPPED;
}

/* A whole protected record of a side being decrypted (RFC 8446 5.2): open
 * it and hand the plaintext to the handshake or alert layer, as if it had
 * come in the clear. */
static void on_record13(struct tls_session *s, enum conn_dir dir, const uint8_t *body,
                        size_t len)
{
    struct tls_dir *d = &s->d[dir];
    size_t n = 0;
    uint8_t type = 0;
    int rc;

    if (len > TLS13_MAX_CIPHERTEXT) {
        note13(s, "the %s sent a protected record of %zu bytes, over the TLS 1.3 limit: "
                  "decryption stopped", side_name(dir), len);
        stop13(s, dir);
        return;
    }
    rc = tls13_open_record(&s->dec->k[dir], d->hdr, body, len, s->dec->buf, sizeof(s->dec->buf),
                           &n, &type);
    if (rc != TI_OK) {
        /* RFC 8446 4.2.10: 0-RTT records (client early traffic keys) come
         * before the client's first handshake-key record. */
        if (dir == DIR_CLIENT && s->early_data && !d->dec13_ok)
            return;
        if (d->dec13 == DEC13_APP && s->dec->k[dir].generation == 0)
            note13(s, "AEAD tag check failed on a %s record under %s_TRAFFIC_SECRET_0: the "
                      "key log's application secret does not match this connection "
                      "(decryption of the %s's records stopped)", side_name(dir),
                   dir == DIR_CLIENT ? "CLIENT" : "SERVER", side_name(dir));
        else if (d->dec13 == DEC13_APP)
            note13(s, "AEAD tag check failed on a %s record under application traffic "
                      "secret generation %u, derived at a KeyUpdate (decryption of the %s's "
                      "records stopped)", side_name(dir), (unsigned)s->dec->k[dir].generation,
                   side_name(dir));
        else
            note13(s, "AEAD tag check failed: the key log does not match this connection");
        stop13(s, dir);
        return;
    }
    d->dec13_ok = true;
    s->c->keys_used = true;
    /* Read by tls13_done(): the server went on after the client's Finished
     * with something other than an alert. */
    if (dir == DIR_SERVER && s->c->finished[DIR_CLIENT] && type != CT_ALERT)
        s->srv_after_cfin = true;
    switch (type) {
    case CT_HANDSHAKE:
        hs_input(s, dir, s->dec->buf, n, true);
        break;
    case CT_ALERT:
        alerts_decrypted(s, dir, s->dec->buf, n);
        break;
    case CT_APPDATA:
        if (d->dec13 != DEC13_APP) {
            /* RFC 8446 5.1: no application data under the handshake keys. */
            note_problem(s, dir, "application data under the TLS 1.3 handshake keys");
        } else if (!s->c->appdata[dir]) {
            s->c->appdata[dir] = true;
            conn_add_event(s->c, s->ts, EV_APPDATA, dir, 0, 0);
        }
        break;
    default:
        note_problem(s, dir, "decrypted TLS 1.3 record of unknown content type %u", type);
        break;
    }
}

static void on_appdata(struct tls_session *s, enum conn_dir dir)
{
    struct conn *c = s->c;

    if (c->tls13) {
        on_opaque13(s, dir);
        return;
    }
    /* TLS <= 1.2: application data only after this side's CCS. */
    if (s->d[dir].enc && c->sh.present && !c->appdata[dir]) {
        c->appdata[dir] = true;
        conn_add_event(c, s->ts, EV_APPDATA, dir, 0, 0);
    }
}

static void on_encrypted_hs(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];

    if (s->c->tls13) {
        on_opaque13(s, dir);
        return;
    }
    if (d->enc_hs_seen)
        return;   /* renegotiation or HelloRequest under encryption */
    /* RFC 5246 7.4.9: the first message after CCS is Finished. */
    d->enc_hs_seen = true;
    s->c->finished[dir] = true;
    s->last_hs_type = TLS_HS_FINISHED;
    s->last_hs_from = dir;
    conn_add_event(s->c, s->ts, EV_ENCRYPTED_HS, dir, TLS_HS_FINISHED, 0);
}

/* The record could not be opened: what its header alone says, as without
 * keys (RFC 5246 7.4.9: the first handshake record after CCS is Finished). */
static void opaque12(struct tls_session *s, enum conn_dir dir)
{
    switch (s->d[dir].rec_type) {
    case CT_CCS: on_ccs(s, dir); break;
    case CT_HANDSHAKE: on_encrypted_hs(s, dir); break;
    case CT_ALERT: add_alert(s, dir, true, 0, 0); break;
    default: break;   /* application data was counted at its header */
    }
}

/* A whole record of a TLS <= 1.2 side being decrypted: open it and hand
 * the plaintext on as if it had come in the clear. */
static void on_record12(struct tls_session *s, enum conn_dir dir, const uint8_t *body,
                        size_t len)
{
    struct tls_dir *d = &s->d[dir];
    size_t n = 0;
    int rc;

    rc = tls12_open_record(&s->dec12->k[dir], d->hdr, body, len, s->dec12->buf,
                           TLS12_MAX_CIPHERTEXT, &n);
    if (rc != TI_OK) {
        d->dec12 = DEC12_STOPPED;
        if (rc == TI_EMALFORMED)
            note13(s, "MAC check failed: the key log does not match this connection "
                      "(the %s's records stay encrypted)", side_name(dir));
        else if (s->dec12->k[dir].iv_lost)
            note13(s, "a capture gap inside a %s record broke the TLS 1.0 CBC IV chain: "
                      "decryption stopped", side_name(dir));
        else
            note13(s, "TLS 1.2 decryption of the %s's records stopped (%s)", side_name(dir),
                   ti_strerror(rc));
        opaque12(s, dir);
        return;
    }
    s->c->keys_used = true;
    switch (d->rec_type) {
    case CT_HANDSHAKE:
        d->enc_hs_seen = true;   /* Finished (or later messages) read, not guessed */
        hs_input(s, dir, s->dec12->buf, n, true);
        break;
    case CT_ALERT:
        alerts_decrypted(s, dir, s->dec12->buf, n);
        break;
    case CT_CCS:
        on_ccs(s, dir);   /* a renegotiation's, under the current keys */
        break;
    default:
        break;            /* application data, heartbeat */
    }
}

static void on_ssl2_hello(struct tls_session *s, enum conn_dir dir,
                          const uint8_t *msg, size_t len)
{
    struct conn *c = s->c;
    int rc;

    conn_add_event(c, s->ts, EV_HANDSHAKE, dir, TLS_HS_CLIENT_HELLO, 0);
    s->last_hs_type = TLS_HS_CLIENT_HELLO;
    s->last_hs_from = dir;
    if (c->n_ch >= CONN_MAX_HELLOS) {
        c->ch_more = true;
        return;
    }
    rc = tls_msg_sslv2_client_hello(msg, len, s->names, &c->ch[c->n_ch]);
    if (rc != TI_OK) {
        note_problem(s, dir, "SSLv2 ClientHello not decoded (%s)", ti_err_name(rc));
        return;
    }
    c->ch[c->n_ch].ts = s->ts;
    c->n_ch++;
}

/* Does the record body matter?  Only plaintext handshake and alerts (and
 * the SSLv2 hello); everything else is handled from its header alone. */
static bool record_keep(const struct tls_dir *d, uint8_t type, size_t len)
{
    if (type == CT_APPDATA)   /* TLS 1.3 record to decrypt */
        return d->dec13 == DEC13_ON || d->dec13 == DEC13_APP;
    if (type == CT_HANDSHAKE)
        return !d->enc;
    if (type == CT_ALERT)
        return !d->enc || len == 2;   /* a 2-byte alert is in the clear */
    return false;
}

/* A TLS <= 1.2 side being decrypted: handshake, alert and CCS records are
 * opened; the rest only counted (sequence numbers), unless TLS 1.0 CBC
 * chains its IV through them. */
static bool record_keep12(const struct tls_dir *d, uint8_t type)
{
    return type == CT_HANDSHAKE || type == CT_ALERT || type == CT_CCS || d->dec12_all;
}

static void record_end(struct tls_session *s, enum conn_dir dir,
                       const uint8_t *body)
{
    struct tls_dir *d = &s->d[dir];
    size_t len = d->rec_len;

    d->in_rec = false;
    d->hdr_len = 0;
    if (d->unconfirmed && !d->rec_damaged) {
        d->unconfirmed = false;
        if (!s->c->is_tls) {
            s->c->is_tls = true;
            s->c->record_version = d->unconfirmed_version;
        }
    }
    /* Read by tls_done() once this chunk is processed (tls13_done); a
     * record to open under the server's application keys is judged by
     * its content in on_record13. */
    if (dir == DIR_SERVER && s->c->finished[DIR_CLIENT] &&
        !(d->rec_keep && !d->rec_damaged && d->rec_type == CT_APPDATA && !d->rec_open12 &&
          d->dec13 == DEC13_APP))
        s->srv_after_cfin = true;
    if (d->rec_open12 && (!d->rec_keep || d->rec_damaged)) {
        /* Not opened (or bytes lost inside): its sequence number is used
         * up all the same (RFC 5246 6.1). */
        tls12_skip_record(&s->dec12->k[dir], NULL, 0);
        if (d->rec_damaged)
            opaque12(s, dir);   /* what its header says, as without keys */
    }
    if (!d->rec_keep)
        return;
    if (d->rec_damaged) {
        if (d->rec_type == CT_APPDATA && (d->dec13 == DEC13_ON || d->dec13 == DEC13_APP)) {
            /* Lost bytes inside a protected record: it cannot be opened,
             * but its sequence number is used up (RFC 8446 5.3). */
            s->dec->k[dir].seq++;
            d->hs_lost = true;
            d->hs_len = 0;
        }
        if (d->rec_type == CT_HANDSHAKE) {
            d->hs_lost = true;
            d->hs_len = 0;
        }
        return;
    }
    if (d->rec_open12) {
        on_record12(s, dir, body, len);
        return;
    }
    switch (d->rec_type) {
    case CT_HANDSHAKE:
        hs_input(s, dir, body, len, false);
        break;
    case CT_ALERT:
        alerts_input(s, dir, body, len);
        break;
    case CT_APPDATA:
        on_record13(s, dir, body, len);
        break;
    case CT_SSL2:
        on_ssl2_hello(s, dir, body, len);
        break;
    default:
        break;
    }
}

/* ---- plaintext prefix (STARTTLS) ---------------------------------------- */

static void dir_feed(struct tls_session *s, enum conn_dir dir, const uint8_t *p,
                     size_t n);
static void scan_feed(struct tls_session *s, int side, const uint8_t *p, size_t n);
static void decide_role(struct tls_session *s);
static void replay_peeks(struct tls_session *s);

static int side_of(const struct tls_session *s, enum conn_dir dir)
{
    return dir == DIR_CLIENT ? s->client_side : 1 - s->client_side;
}

static enum conn_dir dir_of(const struct tls_session *s, int side)
{
    return side == s->client_side ? DIR_CLIENT : DIR_SERVER;
}

enum { WANT_CH = 1, WANT_SH = 2 };

/* Which hello may start TLS on raw side `side`: the client's ClientHello or
 * the server's ServerHello; either while the roles are unknown. */
static unsigned scan_want(const struct tls_session *s, int side)
{
    if (s->client_side < 0)
        return WANT_CH | WANT_SH;
    return side == s->client_side ? WANT_CH : WANT_SH;
}

/* Does w[0..n) begin a handshake record holding a wanted hello?  1 yes
 * (*which = WANT_CH or WANT_SH), 0 no, -1 the bytes so far fit but fewer
 * than TLS_SCAN_WINDOW are available.  Plausible means: type 22, record
 * version 0x0300-0x0304, record length 1..TLS_MAX_RECORD, hello type, hello
 * length TLS_MIN_HELLO_BODY..max_hs_msg, and a hello version 3.x (a
 * ServerHello may also carry a TLS 1.3 draft 0x7fNN or Facebook 0xfbNN). */
static int hello_at(const struct tls_session *s, const uint8_t *w, size_t n,
                    unsigned want, unsigned *which)
{
    size_t reclen, hslen;

    if (n < 1 || w[0] != CT_HANDSHAKE)
        return 0;
    if (n < 2)
        return -1;
    if (w[1] != 3)
        return 0;
    if (n < 3)
        return -1;
    if (w[2] > 4)
        return 0;
    if (n < 5)
        return -1;
    reclen = ti_be16(w + 3);
    if (reclen == 0 || reclen > TLS_MAX_RECORD)
        return 0;
    if (n < 6)
        return -1;
    if (w[5] == TLS_HS_CLIENT_HELLO && (want & WANT_CH))
        *which = WANT_CH;
    else if (w[5] == TLS_HS_SERVER_HELLO && (want & WANT_SH))
        *which = WANT_SH;
    else
        return 0;
    if (n < 9)
        return -1;
    hslen = (size_t)w[6] << 16 | (size_t)w[7] << 8 | w[8];
    if (hslen < TLS_MIN_HELLO_BODY || hslen > s->lim.max_hs_msg)
        return 0;
    if (n < 10)
        return -1;
    if (w[9] != 3 && !(*which == WANT_SH && (w[9] == 0x7f || w[9] == 0xfb)))
        return 0;
    if (n < 11)
        return -1;
    if (w[9] == 3 && w[10] > 4)
        return 0;
    return 1;
}

/* The scan passed its limit (or the connection ended): no TLS here. */
static void scan_fail(struct tls_session *s, int side, const char *why)
{
    struct tls_scan *sc = &s->scan[side];

    sc->on = false;
    sc->carry_len = 0;
    if (!s->c->is_tls) {
        s->not_tls = true;
        s->c->outcome = OUTCOME_NOT_TLS;
        return;
    }
    if (s->client_side < 0)
        decide_role(s);
    give_up(s, dir_of(s, side), "not TLS: %s", why);
}

/* The hello that starts TLS was found after `prefix` plaintext bytes: its
 * first bytes are a[0..alen) (held from the previous chunk) then b[0..blen). */
static void scan_found(struct tls_session *s, int side, unsigned which,
                       uint32_t prefix, const uint8_t *a, size_t alen,
                       const uint8_t *b, size_t blen)
{
    struct tls_scan *sc = &s->scan[side];
    uint8_t held[TLS_SCAN_WINDOW];
    enum conn_dir dir;

    if (alen > 0)
        memcpy(held, a, alen);   /* a may point into sc->carry */
    sc->on = false;
    sc->carry_len = 0;
    if (s->client_side < 0) {
        /* No SYN: the side that sends the ClientHello is the client. */
        s->client_side = which == WANT_CH ? side : 1 - side;
        dir = dir_of(s, side);
        s->c->starttls = true;
        s->c->plaintext_prefix[dir] = prefix;
        s->d[dir].prefixed = true;
        replay_peeks(s);   /* what the other side held while the roles were unknown */
    } else {
        dir = dir_of(s, side);
        s->c->starttls = true;
        s->c->plaintext_prefix[dir] = prefix;
        s->d[dir].prefixed = true;
    }
    dir_feed(s, dir, held, alen);
    dir_feed(s, dir, b, blen);
}

/* Plaintext bytes of raw side `side`: look for a plausible hello start,
 * keeping a candidate cut by the chunk end in the carry buffer. */
static void scan_feed(struct tls_session *s, int side, const uint8_t *p, size_t n)
{
    struct tls_scan *sc = &s->scan[side];
    unsigned want = scan_want(s, side), which = 0;
    size_t off = 0;
    int r;

    if (!sc->on || n == 0)
        return;
    if (sc->carry_len > 0) {
        /* Candidates that began in the previous chunk. */
        uint8_t tmp[2 * TLS_SCAN_WINDOW];
        size_t extra = n < TLS_SCAN_WINDOW - 1 ? n : TLS_SCAN_WINDOW - 1;
        size_t tl = sc->carry_len + extra, cl = sc->carry_len;

        memcpy(tmp, sc->carry, cl);
        memcpy(tmp + cl, p, extra);
        for (size_t i = 0; i < cl; i++) {
            r = hello_at(s, tmp + i, tl - i, want, &which);
            if (r > 0) {
                scan_found(s, side, which, sc->skipped + (uint32_t)i, tmp + i, cl - i, p, n);
                return;
            }
            if (r < 0) {
                /* Still too short: then all of p fitted in tmp (extra == n). */
                memcpy(sc->carry, tmp + i, tl - i);
                sc->carry_len = (uint8_t)(tl - i);
                sc->skipped += (uint32_t)i;
                return;
            }
        }
        sc->skipped += (uint32_t)cl;
        sc->carry_len = 0;
    }
    while (off < n) {
        const uint8_t *q = memchr(p + off, CT_HANDSHAKE, n - off);
        size_t i;

        if (q == NULL)
            break;
        i = (size_t)(q - p);
        if (sc->skipped + i > TLS_MAX_PLAINTEXT_PREFIX)
            break;
        r = hello_at(s, p + i, n - i, want, &which);
        if (r > 0) {
            scan_found(s, side, which, sc->skipped + (uint32_t)i, NULL, 0, p + i, n - i);
            return;
        }
        if (r < 0) {
            memcpy(sc->carry, p + i, n - i);   /* n - i < TLS_SCAN_WINDOW */
            sc->carry_len = (uint8_t)(n - i);
            sc->skipped += (uint32_t)i;
            return;
        }
        off = i + 1;
    }
    if (n > TLS_MAX_PLAINTEXT_PREFIX + 1u - sc->skipped)
        sc->skipped = TLS_MAX_PLAINTEXT_PREFIX + 1u;
    else
        sc->skipped += (uint32_t)n;
    if (sc->skipped > TLS_MAX_PLAINTEXT_PREFIX)
        scan_fail(s, side, "no TLS hello in the first 64 KiB");
}

/* Start scanning raw side `side`; first[0..n) are the bytes it sent so far. */
static void scan_begin(struct tls_session *s, int side, const uint8_t *first, size_t n)
{
    struct tls_scan *sc = &s->scan[side];

    sc->on = true;
    sc->used = true;
    sc->skipped = 0;
    sc->carry_len = 0;
    scan_feed(s, side, first, n);
}

/* The first bytes of a direction are not TLS.  A plaintext prefix is
 * expected on both sides of a STARTTLS-like exchange, so the direction is
 * scanned for its hello, unless the other side spoke TLS from its first byte
 * (then these bytes are a plaintext answer to TLS, e.g. an HTTP error) or
 * this direction was scanned already.  Without a hello in time, the whole
 * connection is not TLS when nothing TLS was seen, else only this direction
 * is given up. */
static void bad_start(struct tls_session *s, enum conn_dir dir, const char *what)
{
    struct tls_dir *d = &s->d[dir], *o = &s->d[1 - dir];
    int side = side_of(s, dir);

    if (!s->scan[side].used && !(o->started && !o->prefixed)) {
        uint8_t first[5];
        size_t n = d->hdr_len;

        memcpy(first, d->hdr, n);
        d->hdr_len = 0;
        d->in_rec = false;
        scan_begin(s, side, first, n);
        return;
    }
    if (!s->c->is_tls) {
        s->not_tls = true;
        s->c->outcome = OUTCOME_NOT_TLS;
        return;
    }
    give_up(s, dir, "not TLS: %s", what);
}

static bool plausible_first_byte(uint8_t b)
{
    return (b >= CT_CCS && b <= CT_HEARTBEAT) || (b & 0x80) != 0;
}

/* Header of the SSLv2-compatible CLIENT-HELLO (RFC 5246 E.2): 2-byte length
 * with the high bit set, msg_type 1, version 0x0002 or 0x03xx. */
static bool start_sslv2(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];
    size_t v2len = ((size_t)(d->hdr[0] & 0x7f) << 8) | d->hdr[1];

    if (dir != DIR_CLIENT || d->hdr[2] != 1 ||
        !((d->hdr[3] == 0x00 && d->hdr[4] == 0x02) || d->hdr[3] == 0x03) ||
        v2len < 9 || v2len > TLS_MAX_RECORD)
        return false;
    if (buf_reserve(&d->rec_buf, &d->rec_cap, v2len, TLS_MAX_RECORD) != TI_OK)
        return false;
    d->started = true;
    if (!s->c->is_tls) {
        s->c->is_tls = true;
        s->c->record_version = 0x0002;
    }
    memcpy(d->rec_buf, d->hdr + 2, 3);   /* msg_type and version belong to the message */
    d->in_rec = true;
    d->rec_type = CT_SSL2;
    d->rec_len = v2len;
    d->rec_have = 3;
    d->rec_keep = true;
    d->rec_damaged = false;
    s->records++;
    return true;
}

/* A complete 5-byte header is in d->hdr. */
static void record_start(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];
    uint8_t type = d->hdr[0];
    uint16_t ver = ti_be16(d->hdr + 1);
    size_t len = ti_be16(d->hdr + 3);

    if (!d->started) {
        if ((type & 0x80) != 0) {
            if (!start_sslv2(s, dir))
                bad_start(s, dir, "neither a TLS record nor an SSLv2 ClientHello");
            return;
        }
        if (type < CT_CCS || type > CT_HEARTBEAT || ver < 0x0300 || ver > 0x0304 ||
            len == 0) {
            bad_start(s, dir, "first bytes are not a TLS record header");
            return;
        }
        d->started = true;
        if (!s->c->is_tls) {
            s->c->is_tls = true;
            s->c->record_version = ver;
        }
    } else if (type < CT_CCS || type > CT_HEARTBEAT) {
        give_up(s, dir, "unknown record type %u", type);
        return;
    } else if ((ver >> 8) != 3) {
        give_up(s, dir, "bad record version 0x%04x", ver);
        return;
    }
    if (len > TLS_MAX_RECORD) {
        give_up(s, dir, "record of %zu bytes exceeds the limit", len);
        return;
    }
    if (++s->records > s->lim.max_records) {
        s->c->limits_hit |= CONN_LIMIT_RECORDS;
        give_up(s, dir, "record limit");
        s->stopped = true;
        return;
    }
    d->in_rec = true;
    d->rec_type = type;
    d->rec_len = len;
    d->rec_have = 0;
    d->rec_damaged = false;
    /* A 2-byte alert after CCS is in the clear: no protected record is
     * that short. */
    d->rec_open12 = d->dec12 == DEC12_ON && !(type == CT_ALERT && len == 2);
    d->rec_keep = d->rec_open12 ? record_keep12(d, type) : record_keep(d, type, len);
    if (d->rec_keep && type == CT_APPDATA) {
        if (d->rec_open12)
            on_appdata(s, dir);
        else
            on_opaque13(s, dir);   /* counted now, opened at its end */
    }
    if (!d->rec_keep) {
        switch (type) {
        case CT_CCS: on_ccs(s, dir); break;
        case CT_APPDATA: on_appdata(s, dir); break;
        case CT_HANDSHAKE: on_encrypted_hs(s, dir); break;
        case CT_ALERT:
            if (s->c->tls13)
                on_opaque13(s, dir);
            else
                add_alert(s, dir, true, 0, 0);
            break;
        default: break;   /* heartbeat */
        }
    }
    if (len == 0)
        record_end(s, dir, NULL);
}

/* Plausible header to resynchronise on after a gap. */
static bool resync_header(const uint8_t h[5])
{
    size_t len = ti_be16(h + 3);

    if (h[0] < CT_CCS || h[0] > CT_HEARTBEAT || h[1] != 3 || h[2] > 4)
        return false;
    if (len == 0 || len > TLS_MAX_RECORD)
        return false;
    return h[0] != CT_CCS || len == 1;
}

/* Slide a 5-byte window over the bytes; returns how many were used. */
static size_t resync(struct tls_session *s, enum conn_dir dir, const uint8_t *p,
                     size_t n)
{
    struct tls_dir *d = &s->d[dir];
    struct cur c = cur_make(p, n);
    uint8_t b;

    while (cur_u8(&c, &b) == TI_OK) {
        if (d->hdr_len == 5) {
            memmove(d->hdr, d->hdr + 1, 4);
            d->hdr_len = 4;
        }
        d->hdr[d->hdr_len++] = b;
        if (d->hdr_len == 5 && resync_header(d->hdr)) {
            d->lost_sync = false;
            if (!d->started) {
                /* The stream's start was never seen: five plausible bytes
                 * after a hole do not make a TLS connection (a flood of
                 * such half-open connections would all be kept for the
                 * report); the first whole record does (record_end). */
                d->started = true;
                if (!s->c->is_tls) {
                    d->unconfirmed = true;
                    d->unconfirmed_version = ti_be16(d->hdr + 1);
                }
            }
            record_start(s, dir);
            break;
        }
    }
    return n - cur_left(&c);
}

static void dir_feed(struct tls_session *s, enum conn_dir dir, const uint8_t *p,
                     size_t n)
{
    struct tls_dir *d = &s->d[dir];
    struct cur c = cur_make(p, n), m = {NULL, NULL};

    while (!cur_done(&c)) {
        if (d->dead || s->stopped || s->not_tls)
            return;
        if (s->scan[side_of(s, dir)].on) {
            scan_feed(s, side_of(s, dir), c.p, cur_left(&c));
            return;
        }
        if (d->lost_sync) {
            size_t used = resync(s, dir, c.p, cur_left(&c));
            (void)cur_skip(&c, used);
            continue;
        }
        if (!d->in_rec) {
            size_t take = 5u - d->hdr_len;
            if (take > cur_left(&c))
                take = cur_left(&c);
            (void)cur_bytes(&c, take, &m);
            memcpy(d->hdr + d->hdr_len, m.p, take);
            d->hdr_len = (uint8_t)(d->hdr_len + take);
            if (!d->started && !d->lost_sync) {
                /* Tell "GET / HTTP" apart early, even from a short stream. */
                if (!plausible_first_byte(d->hdr[0]) ||
                    ((d->hdr[0] & 0x80) == 0 && d->hdr_len >= 2 && d->hdr[1] != 3)) {
                    bad_start(s, dir, "first bytes are not a TLS record header");
                    continue;   /* the rest goes to the scan, if one started */
                }
            }
            if (d->hdr_len == 5)
                record_start(s, dir);
            continue;
        }
        size_t take = d->rec_len - d->rec_have;
        if (take > cur_left(&c))
            take = cur_left(&c);
        (void)cur_bytes(&c, take, &m);
        if (!d->rec_keep || d->rec_damaged) {
            d->rec_have += take;
            if (d->rec_have == d->rec_len)
                record_end(s, dir, NULL);
        } else if (d->rec_have == 0 && take == d->rec_len) {
            d->rec_have = take;
            record_end(s, dir, m.p);   /* whole record in this chunk: no copy */
        } else {
            int rc = buf_reserve(&d->rec_buf, &d->rec_cap, d->rec_len, TLS_MAX_RECORD);
            if (rc != TI_OK) {
                give_up(s, dir, "record buffer: %s", ti_strerror(rc));
                return;
            }
            memcpy(d->rec_buf + d->rec_have, m.p, take);
            d->rec_have += take;
            if (d->rec_have == d->rec_len)
                record_end(s, dir, d->rec_buf);
        }
    }
}

/* ---- roles ------------------------------------------------------------ */

static bool peek_is_hello(const uint8_t *p, size_t n, uint8_t hs_type)
{
    if (n >= 6 && p[0] == CT_HANDSHAKE && p[1] == 3 && p[5] == hs_type)
        return true;
    /* SSLv2-compatible ClientHello */
    return hs_type == TLS_HS_CLIENT_HELLO && n >= 3 && (p[0] & 0x80) != 0 && p[2] == 1;
}

/* Could p[0..n) (a side's first bytes) begin a TLS record or an SSLv2
 * ClientHello?  The same tests dir_feed and record_start apply. */
static bool peek_plausible(const uint8_t *p, size_t n)
{
    if (n == 0)
        return true;
    if (!plausible_first_byte(p[0]))
        return false;
    if ((p[0] & 0x80) != 0)
        return n < 3 || p[2] == TLS_HS_CLIENT_HELLO;
    if (n >= 2 && p[1] != 3)
        return false;
    if (n >= 3 && p[2] > 4)
        return false;
    return n < 5 || ti_be16(p + 3) != 0;
}

/* Roles are known: push the bytes held while they were not. */
static void replay_peeks(struct tls_session *s)
{
    int order[2] = {s->first_speaker >= 0 ? s->first_speaker : 0, 0};

    order[1] = 1 - order[0];
    for (int i = 0; i < 2; i++) {
        int side = order[i];
        uint8_t n = s->peek_len[side];
        if (n == 0)
            continue;
        s->peek_len[side] = 0;
        dir_feed(s, dir_of(s, side), s->peek[side], n);
    }
}

static void decide_role(struct tls_session *s)
{
    int side = -1;

    for (int i = 0; i < 2 && side < 0; i++)
        if (peek_is_hello(s->peek[i], s->peek_len[i], TLS_HS_CLIENT_HELLO))
            side = i;
    for (int i = 0; i < 2 && side < 0; i++)
        if (peek_is_hello(s->peek[i], s->peek_len[i], TLS_HS_SERVER_HELLO))
            side = 1 - i;
    if (side < 0)
        side = s->server_hint >= 0 ? 1 - s->server_hint : 0;
    s->client_side = side;
    replay_peeks(s);
}

void tls_set_client_side(struct tls_session *s, int side)
{
    if (s == NULL || (side != 0 && side != 1) || s->client_side >= 0)
        return;
    s->client_side = side;
    replay_peeks(s);
}

void tls_set_server_side_hint(struct tls_session *s, int side)
{
    if (s != NULL && (side == 0 || side == 1))
        s->server_hint = side;
}

int tls_client_side(const struct tls_session *s)
{
    return s != NULL ? s->client_side : -1;
}

/* ---- feeding ----------------------------------------------------------- */

void tls_feed(struct tls_session *s, int side, const uint8_t *data, size_t len,
              int64_t ts)
{
    if (s == NULL || (side != 0 && side != 1) || data == NULL || len == 0)
        return;
    s->ts = ts;
    if (s->not_tls || s->stopped)
        return;
    if (s->client_side < 0) {
        if (s->scan[side].on) {
            scan_feed(s, side, data, len);   /* may decide the roles */
            return;
        }
        /* Hold the first bytes until they tell who is the client. */
        size_t take = TLS_PEEK_MAX - s->peek_len[side];
        if (take > len)
            take = len;
        memcpy(s->peek[side] + s->peek_len[side], data, take);
        s->peek_len[side] = (uint8_t)(s->peek_len[side] + take);
        if (s->first_speaker < 0)
            s->first_speaker = side;
        data += take;
        len -= take;
        if (!peek_plausible(s->peek[side], s->peek_len[side])) {
            /* Plaintext first (STARTTLS): the hello found later tells the
             * roles; until then this side is only scanned. */
            uint8_t first[TLS_PEEK_MAX];
            uint8_t n = s->peek_len[side];
            memcpy(first, s->peek[side], n);
            s->peek_len[side] = 0;
            scan_begin(s, side, first, n);
            if (len > 0)
                tls_feed(s, side, data, len, ts);
            return;
        }
        if (s->peek_len[side] < TLS_PEEK_MAX)
            return;
        decide_role(s);
    }
    if (len > 0)
        dir_feed(s, dir_of(s, side), data, len);
}

void tls_gap(struct tls_session *s, int side, uint64_t n, int64_t ts)
{
    struct tls_dir *d;
    enum conn_dir dir;

    if (s == NULL || (side != 0 && side != 1) || n == 0)
        return;
    s->ts = ts;
    if (s->scan[side].on) {
        /* A hole in the plaintext prefix: the bytes count towards the
         * limit and a candidate cut by the hole is dropped. */
        struct tls_scan *sc = &s->scan[side];
        sc->skipped += sc->carry_len;   /* <= TLS_MAX_PLAINTEXT_PREFIX + TLS_SCAN_WINDOW */
        sc->carry_len = 0;
        if (sc->skipped > TLS_MAX_PLAINTEXT_PREFIX ||
            n > TLS_MAX_PLAINTEXT_PREFIX - sc->skipped)
            sc->skipped = TLS_MAX_PLAINTEXT_PREFIX + 1u;
        else
            sc->skipped += (uint32_t)n;
        if (s->client_side >= 0)
            conn_add_event(s->c, ts, EV_GAP, dir_of(s, side), 0, 0);
        if (sc->skipped > TLS_MAX_PLAINTEXT_PREFIX)
            scan_fail(s, side, "no TLS hello in the first 64 KiB");
        return;
    }
    if (s->client_side < 0)
        decide_role(s);
    dir = dir_of(s, side);
    d = &s->d[dir];
    conn_add_event(s->c, ts, EV_GAP, dir, 0, 0);
    if (d->dead || s->not_tls || s->stopped)
        return;
    if (d->lost_sync) {
        d->hdr_len = 0;   /* the window is no longer contiguous */
        return;
    }
    if (d->in_rec) {
        /* The header told us where the record ends: skip to there and stay
         * in step; only the record's contents are lost. */
        uint64_t rest = d->rec_len - d->rec_have;
        d->rec_damaged = true;
        if (n < rest) {
            d->rec_have += (size_t)n;
            return;
        }
        d->rec_have = d->rec_len;
        record_end(s, dir, NULL);
        if (n == rest)
            return;
    } else if (d->hdr_len > 0) {
        give_up(s, dir, "gap of %llu bytes inside a record header", (unsigned long long)n);
        return;
    }
    /* Between records, position unknown: scan for the next header. */
    d->lost_sync = true;
    d->hdr_len = 0;
    d->hs_lost = !d->enc;
    d->hs_len = 0;
    if (d->dec12 == DEC12_ON) {
        d->dec12 = DEC12_STOPPED;
        note13(s, "%llu bytes of the %s's protected records are missing: decryption stopped",
               (unsigned long long)n, side_name(dir));
    }
    if (d->dec13 == DEC13_ON || d->dec13 == DEC13_APP) {
        /* Whole records may be lost: the sequence number is unknown. */
        note13(s, "%llu bytes of the %s's protected %srecords are missing: "
                  "decryption stopped", (unsigned long long)n, side_name(dir),
               d->dec13 == DEC13_ON ? "handshake " : "");
        d->dec13 = DEC13_STOPPED;
    }
}

void tls_close(struct tls_session *s, int side, bool rst, int64_t ts)
{
    enum conn_dir dir;

    if (s == NULL || (side != 0 && side != 1))
        return;
    s->ts = ts;
    if (s->client_side < 0 && !s->not_tls)
        decide_role(s);
    if (s->client_side < 0)
        s->client_side = s->server_hint >= 0 ? 1 - s->server_hint : 0;
    dir = dir_of(s, side);
    if (rst)
        s->d[dir].rst = true;
    else
        s->d[dir].closed = true;
    if (rst)
        s->d[dir].closed = true;
    conn_add_event(s->c, ts, rst ? EV_RST : EV_FIN, dir, 0, 0);
}

/* TLS <= 1.2 with keys: a side being decrypted may still send its
 * close_notify (or a renegotiation), which the flow must deliver. */
static bool dec12_pending(const struct tls_session *s)
{
    for (int dir = DIR_CLIENT; dir <= DIR_SERVER; dir++)
        if (s->d[dir].dec12 == DEC12_ON && !s->d[dir].alert_closed)
            return true;
    return false;
}

/* TLS 1.3 with application secrets: a side whose records are still opened
 * may yet send its close_notify or an alert, until it closed with an
 * alert, ended its half of TCP (FIN), or either side reset.  A
 * decryption failure or a gap ends it too (DEC13_STOPPED, with a note). */
static bool dec13_pending(const struct tls_session *s)
{
    if (s->d[DIR_CLIENT].rst || s->d[DIR_SERVER].rst)
        return false;
    for (int dir = DIR_CLIENT; dir <= DIR_SERVER; dir++) {
        const struct tls_dir *d = &s->d[dir];
        if (d->dec13 == DEC13_APP && !d->alert_closed && !d->closed && !d->dead)
            return true;
    }
    return false;
}

bool tls_done(const struct tls_session *s)
{
    if (s == NULL)
        return true;
    if (s->not_tls || s->stopped || s->hs_failed)
        return true;
    if ((hs12_complete(s) && !dec12_pending(s)) || (tls13_done(s) && !dec13_pending(s)))
        return true;
    if (s->d[0].dead && s->d[1].dead)
        return true;
    return s->d[0].closed && s->d[1].closed;
}

void tls_finish(struct tls_session *s)
{
    struct conn *c;
    bool rst;

    if (s == NULL)
        return;
    c = s->c;
    /* A stream shorter than the peek window still gets parsed. */
    if (s->client_side < 0 && !s->not_tls && (s->peek_len[0] || s->peek_len[1]))
        decide_role(s);
    for (int side = 0; side < 2; side++) {
        struct tls_scan *sc = &s->scan[side];
        if (!sc->on)
            continue;
        /* The connection ended during the plaintext prefix. */
        sc->on = false;
        if (!c->is_tls) {
            s->not_tls = true;
        } else {
            if (s->client_side < 0)
                decide_role(s);
            enum conn_dir dir = dir_of(s, side);
            c->plaintext_prefix[dir] = sc->skipped + sc->carry_len;
            note_problem(s, dir, "no TLS %s after %u plaintext bytes",
                         dir == DIR_CLIENT ? "ClientHello" : "ServerHello",
                         (unsigned)c->plaintext_prefix[dir]);
        }
        sc->carry_len = 0;
    }
    if (s->not_tls) {
        c->is_tls = false;
        c->outcome = OUTCOME_NOT_TLS;
        return;
    }
    if (!c->is_tls) {
        c->outcome = OUTCOME_INCOMPLETE;   /* nothing (or too little) to judge */
        return;
    }
    rst = c->tcp.rst[0] || c->tcp.rst[1] || s->d[0].rst || s->d[1].rst;
    if (s->hs_failed)
        c->outcome = OUTCOME_FAILED;
    else if (!c->tls13)
        c->outcome = hs12_complete(s) ? OUTCOME_COMPLETE
                     : rst            ? OUTCOME_FAILED
                                      : OUTCOME_INCOMPLETE;
    else if (s->d[DIR_SERVER].enc13_records == 0)
        c->outcome = rst ? OUTCOME_FAILED : OUTCOME_INCOMPLETE;
    else if (rst && !tls13_done(s))
        c->outcome = OUTCOME_FAILED;   /* reset right after the server's flight */
    else if (c->keys_used)
        c->outcome = tls13_done(s) ? OUTCOME_COMPLETE : OUTCOME_INCOMPLETE;
    else
        c->outcome = OUTCOME_ENCRYPTED;
}
