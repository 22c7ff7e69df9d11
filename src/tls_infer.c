/* tls_infer.c - TLS 1.3 without keys: what the protected records' sizes and order show.
 *
 * Field captures rarely come with key logs, and after the ServerHello a
 * TLS 1.3 handshake is one opaque record type.  Its shape still tells a lot
 * (RFC 8446 5.2: a record is the inner plaintext, its content type byte,
 * padding, and the AEAD tag):
 *   - an alert record is 2 + 1 + tag bytes (19 with a 16-byte tag); a
 *     padded one (RFC 8446 5.4) is padded to a block, a power of two; a
 *     KeyUpdate (4 + 1 + 1 + tag: 22) is not an alert, nor does it show
 *     that its sender went on with the session;
 *   - the server's flight is EncryptedExtensions, Certificate(Request),
 *     CertificateVerify, Finished, one message a record in the common
 *     stacks, so the record before Finished holds the signature, whose size
 *     tells RSA (128-512 bytes, the modulus) from ECDSA (70-139, DER);
 *   - the client answers with its flight (a certificate when asked, empty
 *     when it has none, and Finished; data and its close_notify may follow
 *     at once); then the server sends tickets and data, which it does only
 *     once it accepted that flight, or an alert when it rejects the
 *     client's certificate (RFC 8446 4.4.2.4), or its close_notify when
 *     the client closed first.
 * Everything decided here is marked inferred, and the reports say so.
 */
#include <string.h>

#include "tlsinspect/tls.h"
#include "tls_internal.h"

#define TLS13_SUITE_CCM_8 0x1305     /* TLS_AES_128_CCM_8_SHA256: an 8-byte tag */
#define TLS13_SUITE_SHA384 0x1302    /* TLS_AES_256_GCM_SHA384: a 48-byte Finished */
#define ALERT_INNER 3                /* level, description, content type */
#define KEY_UPDATE_INNER 6           /* handshake header 4, request_update 1, type 1 */
#define EMPTY_CERT_INNER 9           /* header 4, context length 1, list length 3, type 1 */
#define PAD_BLOCK_MIN 16             /* record padding blocks taken for an alert's */
#define PAD_BLOCK_MAX 64
#define CERT_INNER_MIN 128           /* a Certificate message holding a certificate is larger */
#define PADDED_MAX 512               /* a padded Finished or empty Certificate stays below */

static size_t tag_len(const struct tls_session *s)
{
    return s->c->sh.suite == TLS13_SUITE_CCM_8 ? 8 : 16;
}

static size_t finished_inner(const struct tls_session *s)
{
    return 4 + (s->c->sh.suite == TLS13_SUITE_SHA384 ? 48 : 32) + 1;
}

static bool pow2_block(size_t inner)
{
    return inner >= PAD_BLOCK_MIN && inner <= PAD_BLOCK_MAX && (inner & (inner - 1)) == 0;
}

/* An alert: 3 inner bytes, or a padding block (which a padded KeyUpdate
 * fills as well: then the position decides). */
bool tls_infer_alert_sized(const struct tls_session *s, size_t len)
{
    size_t tag = tag_len(s);

    if (len < ALERT_INNER + tag)
        return false;
    return len - tag == ALERT_INNER || pow2_block(len - tag);
}

/* A record that shows its sender went on with the session: neither an
 * alert nor a bare KeyUpdate (RFC 8446 4.6.3: a peer may send one right
 * after its Finished, before it read anything). */
static bool carries_more(const struct tls_session *s, size_t len)
{
    return !tls_infer_alert_sized(s, len) && len != KEY_UPDATE_INNER + tag_len(s);
}

enum cli_flight_kind { CLI_UNKNOWN = 0, CLI_FINISHED, CLI_EMPTY_CERT, CLI_CERT };

/* What the client's flight began with, by the size of its first record:
 * Finished alone (no certificate asked), an empty Certificate (asked, it
 * had none), or a Certificate holding one.  A padded record of a size a
 * padded Finished could have says nothing. */
static enum cli_flight_kind client_flight_kind(const struct tls_session *s)
{
    size_t tag = tag_len(s), first = s->w13.cli_first_len, inner;

    if (first < tag + 1)
        return CLI_UNKNOWN;
    inner = first - tag;
    if (inner == finished_inner(s))
        return CLI_FINISHED;
    if (inner == EMPTY_CERT_INNER)
        return CLI_EMPTY_CERT;
    if (inner > CERT_INNER_MIN && (inner % PAD_BLOCK_MIN != 0 || inner > PADDED_MAX))
        return CLI_CERT;
    return CLI_UNKNOWN;
}

/* A protected record of `len` bytes from `dir`, at its header. */
void tls_infer_record(struct tls_session *s, enum conn_dir dir, size_t len)
{
    struct tls13_wire *w = &s->w13;
    uint16_t l = len > UINT16_MAX ? UINT16_MAX : (uint16_t)len;

    if (dir == DIR_SERVER) {
        if (w->phase == W13_SERVER_FLIGHT) {
            w->srv_flight++;
            if (w->n_srv_len < TLS13_FLIGHT_MAX)
                w->srv_len[w->n_srv_len++] = l;
        } else {
            w->phase = W13_AFTER;
        }
    } else if (w->phase != W13_AFTER) {
        if (w->phase == W13_SERVER_FLIGHT) {
            w->phase = W13_CLIENT_FLIGHT;
            w->cli_first_len = l;
        }
        w->cli_last_len = l;
        w->cli_flight++;
        w->cli_flight_bytes += l;
    }
    if (w->phase == W13_AFTER) {
        w->after[dir]++;
        if (carries_more(s, len))
            w->after_big[dir]++;
    }
    w->last_len[dir] = l;
    w->last_ts[dir] = s->ts;
}

/* The server's key type from its CertificateVerify record: the one before
 * Finished (4 + hash bytes), holding handshake header(4), scheme(2),
 * length(2) and the signature. */
void tls_infer_server_key(struct tls_session *s)
{
    const struct tls13_wire *w = &s->w13;
    struct conn *c = s->c;
    size_t tag = tag_len(s), fin, cv, sig;

    if (w->n_srv_len < 3 || w->n_srv_len != w->srv_flight)
        return;
    fin = w->srv_len[w->n_srv_len - 1];
    cv = w->srv_len[w->n_srv_len - 2];
    if (fin != 4 + 32 + 1 + tag && fin != 4 + 48 + 1 + tag)
        return;   /* not one message a record: the sizes say nothing */
    if (cv < 4 + 2 + 2 + 1 + tag)
        return;
    sig = cv - (4 + 2 + 2 + 1 + tag);
    if (sig == 128 || sig == 256 || sig == 384 || sig == 512)
        c->inferred_server_key = KEY_GUESS_RSA;
    else if (sig >= 68 && sig <= 139)
        c->inferred_server_key = KEY_GUESS_EC;
    else
        return;
    c->inferred_sig_len = (uint16_t)sig;
    c->inferred_cv_record = (uint16_t)cv;
}

/* Insert an inferred encrypted alert from `dir` at time ts, in time order
 * with the alerts and ladder events read from the wire. */
static void add_inferred_alert(struct tls_session *s, enum conn_dir dir, int64_t ts)
{
    struct conn *c = s->c;
    size_t i;

    if (c->n_alerts >= CONN_MAX_ALERTS) {
        c->alerts_truncated = true;
        return;
    }
    for (i = c->n_alerts; i > 0 && c->alerts[i - 1].ts > ts; i--)
        ;
    memmove(&c->alerts[i + 1], &c->alerts[i], (c->n_alerts - i) * sizeof(c->alerts[0]));
    c->n_alerts++;
    memset(&c->alerts[i], 0, sizeof(c->alerts[i]));
    c->alerts[i].from = dir;
    c->alerts[i].encrypted = true;
    c->alerts[i].inferred = true;
    c->alerts[i].ts = ts;
    c->alerts[i].after_msg = -1;
    c->alerts[i].after_msg_from = dir;
    if (c->n_events >= CONN_MAX_EVENTS) {
        c->events_truncated = true;
        return;
    }
    for (i = c->n_events; i > 0 && c->events[i - 1].ts > ts; i--)
        ;
    memmove(&c->events[i + 1], &c->events[i], (c->n_events - i) * sizeof(c->events[0]));
    c->n_events++;
    memset(&c->events[i], 0, sizeof(c->events[i]));
    c->events[i].ts = ts;
    c->events[i].kind = EV_ALERT;
    c->events[i].from = (uint8_t)dir;
}

static bool decided(struct tls_session *s, enum conn_outcome o)
{
    s->w13.outcome = (uint8_t)o;
    s->c->outcome = o;
    s->c->outcome_inferred = true;
    return true;
}

/* TLS 1.3 without keys, at the end of the connection: decide the outcome
 * from the record pattern when it shows one (true), and infer the
 * server's key type.  Without a pattern the outcome stays as the caller
 * judges it (encrypted, or failed after a reset). */
bool tls_infer_outcome(struct tls_session *s)
{
    const struct tls13_wire *w = &s->w13;
    struct conn *c = s->c;
    enum cli_flight_kind kind;

    if (w->judged) {
        if (w->outcome != OUTCOME_INCOMPLETE)
            c->outcome = (enum conn_outcome)w->outcome;
        return w->outcome != OUTCOME_INCOMPLETE;
    }
    s->w13.judged = true;
    s->w13.outcome = OUTCOME_INCOMPLETE;   /* none */
    if (w->srv_flight == 0 || w->phase == W13_SERVER_FLIGHT)
        return false;
    kind = client_flight_kind(s);
    c->inferred_client_cert = kind == CLI_CERT;
    c->inferred_empty_client_cert = kind == CLI_EMPTY_CERT;
    /* The client aborted on the server's flight: its only record is an
     * alert, and the server sent nothing after it. */
    if (w->phase == W13_CLIENT_FLIGHT) {
        if (w->cli_flight != 1 || !tls_infer_alert_sized(s, w->cli_first_len))
            return false;
        add_inferred_alert(s, DIR_CLIENT, w->last_ts[DIR_CLIENT]);
        return decided(s, OUTCOME_FAILED);
    }
    /* The server went on after the client's flight (tickets, data): it
     * accepted the client's Finished, and certificate if one was sent.  Not
     * after a lone unpadded alert (a padded Finished alone has a padded
     * alert's size: then what follows decides). */
    if (w->after_big[DIR_SERVER] > 0 &&
        !(w->cli_flight == 1 && w->cli_first_len == ALERT_INNER + tag_len(s)))
        return decided(s, OUTCOME_COMPLETE);
    if (w->after[DIR_SERVER] != 1 || w->after_big[DIR_SERVER] != 0 || w->after_big[DIR_CLIENT] != 0)
        return false;
    /* The server's one answer is alert-sized.  When the client had closed
     * first (its flight ends with an alert-sized record after its
     * Finished: after the Certificate, CertificateVerify and Finished it
     * began with, as padded a Finished has an alert's size), that is the
     * server's close_notify: without a client certificate nothing was left
     * to reject. */
    if (w->cli_flight >= (kind == CLI_CERT ? 4u : kind == CLI_EMPTY_CERT ? 3u : 2u) &&
        tls_infer_alert_sized(s, w->cli_last_len))
        return kind == CLI_FINISHED ? decided(s, OUTCOME_COMPLETE) : false;
    /* Otherwise the server rejected what the client sent: its certificate,
     * or the lack of one it required.  After a Finished alone (or a
     * padded flight) there is no telling an alert from a close. */
    if (kind != CLI_CERT && kind != CLI_EMPTY_CERT)
        return false;
    add_inferred_alert(s, DIR_SERVER, w->last_ts[DIR_SERVER]);
    return decided(s, OUTCOME_FAILED);
}

/* Without keys, the outcome can no longer change once the server went on
 * after the client's flight (tls_infer_outcome's first verdict holds
 * whatever follows); before that, a lone alert-sized answer may still come
 * and be the server's rejection, so the records after the client's
 * Finished are still needed (by the -w extract too). */
bool tls_infer_settled(const struct tls_session *s)
{
    const struct tls13_wire *w = &s->w13;

    return w->phase == W13_AFTER && w->after_big[DIR_SERVER] > 0 &&
           !(w->cli_flight == 1 && w->cli_first_len == ALERT_INNER + tag_len(s));
}

size_t tls_server_flight13(const struct tls_session *s, const uint16_t **lens)
{
    const struct tls13_wire *w = &s->w13;

    *lens = w->srv_len;
    if (!s->c->tls13 || s->c->keys_used || w->n_srv_len != w->srv_flight)
        return 0;
    return w->n_srv_len;
}
