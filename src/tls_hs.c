/* tls_hs.c - TLS handshake message reassembly and what the messages say. */
#include <string.h>

#include "tlsinspect/cur.h"
#include "tlsinspect/err.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls_msg.h"
#include "tls_internal.h"

#define TLS_EXT_ENCRYPT_THEN_MAC 22   /* RFC 7366 */
#define TLS_EXT_SESSION_TICKET 35     /* RFC 5077 */

static bool version_is_tls13(uint16_t v)
{
    return v == 0x0304 || (v >> 8) == 0x7f;   /* final or draft (0x7fNN) */
}

/* The data length of a hello body's extension `type`, -1 when absent.
 * ClientHello (RFC 5246 7.4.1.2): version(2) random(32) session_id<0..32>
 * cipher_suites<2..2^16-2> compression_methods<1..2^8-1>
 * extensions<0..2^16-1>; ServerHello (7.4.1.3): version(2) random(32)
 * session_id<0..32> cipher_suite(2) compression_method(1)
 * extensions<0..2^16-1>. */
static long hello_ext_len(const uint8_t *body, size_t len, bool client, uint16_t type)
{
    struct cur c = cur_make(body, len), v, exts, e;
    uint16_t t;

    if (cur_skip(&c, 2 + TLS12_RANDOM_LEN) != TI_OK || cur_vec(&c, 1, &v) != TI_OK)
        return -1;
    if (client) {
        if (cur_vec(&c, 2, &v) != TI_OK || cur_vec(&c, 1, &v) != TI_OK)
            return -1;
    } else if (cur_skip(&c, 3) != TI_OK) {
        return -1;
    }
    if (cur_vec(&c, 2, &exts) != TI_OK)
        return -1;
    while (cur_u16(&exts, &t) == TI_OK && cur_vec(&exts, 2, &e) == TI_OK)
        if (t == type)
            return (long)cur_left(&e);
    return -1;
}

/* TLS 1.3 negotiated by a (non-HRR) ServerHello: the server's later records
 * are encrypted; a CCS the client sent before we knew was the RFC 8446 D.4
 * middlebox-compatibility one, not a key change. */
static void enter_tls13(struct tls_session *s)
{
    struct tls_dir *sv = &s->d[DIR_SERVER], *cl = &s->d[DIR_CLIENT];

    if (!tls_keyed13(s, sv))
        sv->prot = PROT_OPAQUE;
    sv->hs_len = 0;
    if (cl->prot != PROT_PLAIN && !tls_keyed13(s, cl)) {
        cl->prot = PROT_PLAIN;
        s->c->ccs[DIR_CLIENT] = false;
    }
}

static void on_client_hello(struct tls_session *s, enum conn_dir dir,
                            const uint8_t *body, size_t len)
{
    struct conn *c = s->c;
    char note[128];
    int rc;

    if (dir != DIR_CLIENT) {
        tls_note_problem(s, dir, "ClientHello sent by the server side");
        return;
    }
    if (len >= 2 + TLS12_RANDOM_LEN && tls_dec12_state(s) != NULL) {
        /* The latest ClientHello names the TLS <= 1.2 master secret in the
         * key log, a renegotiation's included (RFC 5246 6.3). */
        memcpy(s->dec12->cr, body + 2, TLS12_RANDOM_LEN);
        s->dec12->have_cr = true;
        s->dec12->ch_etm = hello_ext_len(body, len, true, TLS_EXT_ENCRYPT_THEN_MAC) >= 0;
    }
    /* A resumption is by ticket when the latest hello offered one
     * (RFC 5077 3.4: the server then echoes the client's session ID too). */
    s->ch_ticket = hello_ext_len(body, len, true, TLS_EXT_SESSION_TICKET) > 0;
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
        tls_note_problem(s, dir, "ClientHello not decoded (%s)", ti_err_name(rc));
        return;
    }
    c->ch[c->n_ch].ts = s->ts;
    for (uint16_t i = 0; i < c->ch[c->n_ch].n_exts; i++)
        if (c->ch[c->n_ch].exts[i] == 42)   /* early_data (RFC 8446 4.2.10) */
            s->early_data = true;
    c->n_ch++;
    if (note[0] != '\0')
        tls_note_problem(s, dir, "%s", note);
}

/* The final ServerHello selected TLS 1.3. */
static void on_tls13_selected(struct tls_session *s, const struct conn_server_hello *sh)
{
    enter_tls13(s);
    for (uint16_t i = 0; i < sh->n_exts; i++)
        if (sh->exts[i] == 41) {   /* pre_shared_key (RFC 8446 4.2.11) */
            s->c->resumed = RESUMED_PSK;
            tls_note13(s, "PSK resumption: the server accepted a pre-shared key and sends no "
                          "certificate in this handshake (it was checked when the session "
                          "was first established)");
        }
    /* After a HelloRetryRequest the keys come from this second
     * ServerHello's handshake secret: only now are they logged. */
    if (sh->version == 0x0304)
        tls_keys13_setup(s);
    else if (s->keylog != NULL)
        tls_note13(s, "TLS 1.3 draft version 0x%04x: not decrypted", sh->version);
}

static void on_server_hello(struct tls_session *s, enum conn_dir dir,
                            const uint8_t *body, size_t len)
{
    struct conn *c = s->c;
    struct conn_server_hello sh;
    char note[128];
    int rc;

    if (dir != DIR_SERVER) {
        tls_note_problem(s, dir, "ServerHello sent by the client side");
        return;
    }
    rc = tls_msg_server_hello(body, len, s->names, &sh, note, sizeof(note));
    if (rc != TI_OK) {
        tls_note_problem(s, dir, "ServerHello not decoded (%s)", ti_err_name(rc));
        return;
    }
    if (note[0] != '\0')
        tls_note_problem(s, dir, "%s", note);
    sh.ts = s->ts;
    if (sh.hrr)
        c->sh_hrr = sh;   /* RFC 8446 4.1.4: the client answers with a second ClientHello */
    else
        c->sh = sh;
    if (!sh.hrr && len >= 2 + TLS12_RANDOM_LEN && tls_dec12_state(s) != NULL) {
        memcpy(s->dec12->sr, body + 2, TLS12_RANDOM_LEN);
        s->dec12->have_sr = true;
        s->dec12->sh_etm = false;
        for (uint16_t i = 0; i < sh.n_exts; i++)
            if (sh.exts[i] == TLS_EXT_ENCRYPT_THEN_MAC)
                s->dec12->sh_etm = true;
    }
    if (!sh.hrr)
        s->srv_hello_done = false;
    if (version_is_tls13(sh.version)) {
        c->tls13 = true;
        if (!sh.hrr)
            on_tls13_selected(s, &sh);
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
        tls_note_problem(s, dir, "Certificate not decoded (%s)", ti_err_name(rc));
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

    if (s->d[dir].prot == PROT_APP13) {
        /* Read under this side's application keys: post-handshake messages
         * (RFC 8446 4.6).  NewSessionTicket and post-handshake
         * authentication say nothing about the handshake and are ignored
         * (the ladder and the alerts' "after" stay with the handshake's
         * last message); a KeyUpdate changes the keys. */
        if (type == TLS_HS_KEY_UPDATE)
            tls_key_update13(s, dir, body, len);
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
    case TLS_HS_SERVER_HELLO_DONE:
        if (dir == DIR_SERVER)
            s->srv_hello_done = true;
        break;
    case TLS_HS_FINISHED:
        c->finished[dir] = true;   /* only visible in clear when decrypted */
        if (s->d[dir].prot == PROT_HS13)
            tls_keys13_app(s, dir);   /* application traffic keys follow (RFC 8446 7.2) */
        break;
    case TLS_HS_KEY_UPDATE:
        tls_key_update13(s, dir, body, len);   /* under handshake keys: a problem */
        break;
    default:
        break;
    }
}

/* Are this side's handshake messages still read from this record?  Plaintext
 * ones until encryption starts; decrypted ones while its keys last.  A key
 * change (Finished, KeyUpdate) also ends its record's messages (RFC 8446
 * 5.1): the caller compares key_changes13. */
static bool hs_reading(const struct tls_dir *d, bool decrypted)
{
    if (d->sync == SYNC_DEAD)
        return false;
    return decrypted ? prot_opens(d->prot) : d->prot == PROT_PLAIN;
}

static uint32_t hs_msg_len(const uint8_t *h)
{
    return (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* After a gap: pick the message stream up again only where a record
 * starts with a plausible message header.  False: skip this record. */
static bool hs_resync(struct tls_session *s, struct tls_dir *d, struct cur c)
{
    uint8_t type;
    uint32_t mlen;

    d->hs_len = 0;
    if (cur_u8(&c, &type) != TI_OK || cur_u24(&c, &mlen) != TI_OK ||
        tls_hs_name(type) == NULL || mlen > s->lim.max_hs_msg)
        return false;
    d->hs_lost = false;
    return true;
}

/* Bytes of a message that does not fit in what is left of the record:
 * header first, then the body up to its length, in hs_buf.  False: the
 * direction was given up. */
static bool hs_partial(struct tls_session *s, enum conn_dir dir, struct cur *c)
{
    struct tls_dir *d = &s->d[dir];
    struct cur m = {NULL, NULL};
    size_t need = TLS_HS_HDR, take;
    uint32_t mlen;
    int rc;

    if (d->hs_len >= TLS_HS_HDR)
        need = TLS_HS_HDR + (size_t)hs_msg_len(d->hs_buf);
    rc = tls_buf_reserve(&d->hs_buf, &d->hs_cap, need, s->lim.max_hs_msg + TLS_HS_HDR);
    if (rc != TI_OK) {
        tls_give_up(s, dir, "handshake message buffer: %s", ti_strerror(rc));
        return false;
    }
    take = need - d->hs_len;
    if (take > cur_left(c))
        take = cur_left(c);
    (void)cur_bytes(c, take, &m);
    memcpy(d->hs_buf + d->hs_len, m.p, take);
    d->hs_len += take;
    if (d->hs_len == TLS_HS_HDR && need == TLS_HS_HDR) {
        mlen = hs_msg_len(d->hs_buf);
        if (mlen > s->lim.max_hs_msg) {
            s->c->limits_hit |= CONN_LIMIT_HS_MSG;
            tls_give_up(s, dir, "handshake message of %u bytes exceeds the limit", mlen);
            return false;
        }
        need = TLS_HS_HDR + (size_t)mlen;
    }
    if (d->hs_len == need) {
        d->hs_len = 0;
        hs_message(s, dir, d->hs_buf[0], d->hs_buf + TLS_HS_HDR, need - TLS_HS_HDR);
    }
    return true;
}

/* Handshake layer (RFC 8446 5.1): messages may share a record or span many;
 * at most one partial message per direction is buffered. */
void tls_hs_input(struct tls_session *s, enum conn_dir dir, const uint8_t *p, size_t n,
                  bool decrypted)
{
    struct tls_dir *d = &s->d[dir];
    struct cur c = cur_make(p, n), m = {NULL, NULL};
    uint32_t mlen, keys = d->key_changes13;

    if (d->hs_lost && !hs_resync(s, d, c))
        return;
    while (!cur_done(&c) && d->key_changes13 == keys && hs_reading(d, decrypted)) {
        if (d->hs_len == 0 && cur_left(&c) >= TLS_HS_HDR) {
            mlen = hs_msg_len(c.p);
            if (mlen > s->lim.max_hs_msg) {
                s->c->limits_hit |= CONN_LIMIT_HS_MSG;
                tls_give_up(s, dir, "handshake message of %u bytes exceeds the limit", mlen);
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
        if (!hs_partial(s, dir, &c))
            return;
    }
    /* RFC 8446 5.1: a Finished or KeyUpdate ends its record; what follows
     * would be under the old keys, which the sender no longer uses. */
    if (d->key_changes13 != keys && !cur_done(&c) && d->sync != SYNC_DEAD)
        tls_note_problem(s, dir, "%zu bytes after a key change in the same record ignored",
                         cur_left(&c));
}

void tls_on_ssl2_hello(struct tls_session *s, enum conn_dir dir, const uint8_t *msg,
                       size_t len)
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
        tls_note_problem(s, dir, "SSLv2 ClientHello not decoded (%s)", ti_err_name(rc));
        return;
    }
    c->ch[c->n_ch].ts = s->ts;
    c->n_ch++;
}
