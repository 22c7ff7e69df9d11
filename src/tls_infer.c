/* tls_infer.c - TLS 1.3 without keys: what the protected records' sizes and order show.
 *
 * Field captures rarely come with key logs, and after the ServerHello a
 * TLS 1.3 handshake is one opaque record type.  Its shape still tells a lot
 * (RFC 8446 5.2: a record is the inner plaintext, its content type byte,
 * padding, and the AEAD tag):
 *   - an alert record is 2 + 1 + tag bytes (19 with a 16-byte tag), a
 *     little more with padding, and it is its sender's last record;
 *   - the server's flight is EncryptedExtensions, Certificate(Request),
 *     CertificateVerify, Finished, one message a record in the common
 *     stacks, so the record before Finished holds the signature, whose size
 *     tells RSA (128-512 bytes, the modulus) from ECDSA (70-139, DER);
 *   - the client answers with its flight (a certificate, when asked, and
 *     Finished); then the server sends tickets and data, or an alert when it
 *     rejects the client's certificate (RFC 8446 4.4.2.4).
 * Everything decided here is marked inferred, and the reports say so.
 */
#include <string.h>

#include "tlsinspect/tls.h"
#include "tls_internal.h"

#define TLS13_SUITE_CCM_8 0x1305     /* TLS_AES_128_CCM_8_SHA256: an 8-byte tag */
#define ALERT_PAD_MAX 16             /* record padding allowed on an alert */

static size_t tag_len(const struct tls_session *s)
{
    return s->c->sh.suite == TLS13_SUITE_CCM_8 ? 8 : 16;
}

static bool alert_sized(const struct tls_session *s, size_t len)
{
    size_t min = 2 + 1 + tag_len(s);

    return len >= min && len <= min + ALERT_PAD_MAX;
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
        w->cli_flight++;
        w->cli_flight_bytes += l;
    }
    if (w->phase == W13_AFTER) {
        w->after[dir]++;
        if (!alert_sized(s, len))
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
    size_t fin_only = 4 + 48 + 1 + tag_len(s);   /* a client Finished alone, at most */

    if (w->judged) {
        if (w->outcome != OUTCOME_INCOMPLETE)
            c->outcome = (enum conn_outcome)w->outcome;
        return w->outcome != OUTCOME_INCOMPLETE;
    }
    s->w13.judged = true;
    s->w13.outcome = OUTCOME_INCOMPLETE;   /* none */
    if (w->srv_flight == 0)
        return false;
    c->inferred_client_cert = w->cli_flight_bytes > fin_only;
    /* The client aborted on the server's flight: its only record is an
     * alert, and the server sent nothing after it. */
    if (w->phase == W13_CLIENT_FLIGHT && w->cli_flight == 1 &&
        alert_sized(s, w->cli_first_len)) {
        add_inferred_alert(s, DIR_CLIENT, w->last_ts[DIR_CLIENT]);
        return decided(s, OUTCOME_FAILED);
    }
    /* The server answered the client's flight with one alert and nothing
     * else, and the client sent no data: it rejected what the client sent
     * (its certificate, when it sent one). */
    if (w->phase == W13_AFTER && w->after[DIR_SERVER] == 1 && w->after_big[DIR_SERVER] == 0 &&
        w->after_big[DIR_CLIENT] == 0) {
        add_inferred_alert(s, DIR_SERVER, w->last_ts[DIR_SERVER]);
        return decided(s, OUTCOME_FAILED);
    }
    /* Both sides went on after the client's flight. */
    if (w->after_big[DIR_SERVER] > 0 && (w->after_big[DIR_CLIENT] > 0 || w->cli_flight >= 2)) {
        return decided(s, OUTCOME_COMPLETE);
    }
    return false;
}

size_t tls_server_flight13(const struct tls_session *s, const uint16_t **lens)
{
    const struct tls13_wire *w = &s->w13;

    *lens = w->srv_len;
    if (!s->c->tls13 || s->c->keys_used || w->n_srv_len != w->srv_flight)
        return 0;
    return w->n_srv_len;
}
