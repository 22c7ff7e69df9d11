/* tls_decrypt.c - opening TLS records with --keylog secrets (TLS 1.3 and TLS 1.0-1.2). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/cur.h"
#include "tlsinspect/err.h"
#include "tlsinspect/tls.h"
#include "tls_internal.h"

#define TLS13_NOTE_MAX 480   /* statements joined with "; " */

/* What happened to decryption (or what TLS 1.3 did instead of sending a
 * certificate), for the reports: statements joined with "; ", each once. */
void tls_note13(struct tls_session *s, const char *fmt, ...)
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

/* ---- TLS 1.3 ------------------------------------------------------------- */

/* The key log's entry for this connection, if it has handshake secrets
 * the selected suite can use; NULL after a note saying why not. */
static const struct tls_keylog_entry *keys13_entry(struct tls_session *s)
{
    const struct tls_keylog_entry *e;
    size_t hash_len = 0;

    if (!s->have_random) {
        tls_note13(s, "the ClientHello was not captured: its random is needed to find the "
                      "connection's secrets in the key log");
        return NULL;
    }
    if (!tls13_suite_supported(s->c->sh.suite, &hash_len)) {
        tls_note13(s, "cipher suite 0x%04x: TLS 1.3 decryption is not supported for it",
                   s->c->sh.suite);
        return NULL;
    }
    e = s->kl_entry;
    if (e == NULL) {
        tls_note13(s, "no key log entry for this connection's client random");
        return NULL;
    }
    if (e->s[TLS_KL_CLIENT_HS].len == 0 && e->s[TLS_KL_SERVER_HS].len == 0) {
        tls_note13(s, "the key log has no handshake traffic secrets for this connection's "
                      "client random (only application or TLS 1.2 secrets)");
        return NULL;
    }
    if (s->dec == NULL) {
        s->dec = calloc(1, sizeof(*s->dec));
        if (s->dec == NULL) {
            tls_note13(s, "TLS 1.3 decryption: %s", ti_strerror(TI_ENOMEM));
            return NULL;
        }
    }
    return e;
}

/* The final ServerHello selected TLS 1.3: look the ClientHello's random up
 * in the key log and set each side's handshake keys from its
 * [CLIENT|SERVER]_HANDSHAKE_TRAFFIC_SECRET (RFC 8446 7.1, 7.3).  Nothing
 * changes for a side without a usable secret: its records stay opaque. */
void tls_keys13_setup(struct tls_session *s)
{
    static const uint8_t label[2] = {TLS_KL_CLIENT_HS, TLS_KL_SERVER_HS};  /* by conn_dir */
    const struct tls_keylog_entry *e;
    size_t hash_len = 0;
    bool any = false;

    if (s->keylog == NULL || tls_keyed13(s, &s->d[DIR_CLIENT]) ||
        tls_keyed13(s, &s->d[DIR_SERVER]))
        return;
    e = keys13_entry(s);
    if (e == NULL)
        return;
    (void)tls13_suite_supported(s->c->sh.suite, &hash_len);
    for (int dir = DIR_CLIENT; dir <= DIR_SERVER; dir++) {
        const struct tls_keylog_secret *sec = &e->s[label[dir]];
        int rc;

        if (sec->len == 0)
            continue;
        rc = tls13_keys_init(&s->dec->k[dir], s->c->sh.suite, sec->v, sec->len);
        if (rc == TI_EMALFORMED) {
            tls_note13(s, "the key log's %s secret has %u bytes, the selected suite needs %zu: "
                          "the key log does not match this connection",
                       dir == DIR_CLIENT ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
                                         : "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                       sec->len, hash_len);
            continue;
        }
        if (rc != TI_OK) {
            tls_note13(s, "TLS 1.3 keys not derived (%s)", ti_strerror(rc));
            continue;
        }
        s->d[dir].prot = PROT_HS13;
        any = true;
    }
    if (!any)
        return;   /* said above */
    if (s->d[DIR_SERVER].prot != PROT_HS13)
        tls_note13(s, "the key log has no SERVER_HANDSHAKE_TRAFFIC_SECRET for this connection: "
                      "only the client's handshake is decrypted");
    else if (s->d[DIR_CLIENT].prot != PROT_HS13)
        tls_note13(s, "the key log has no CLIENT_HANDSHAKE_TRAFFIC_SECRET for this connection: "
                      "only the server's handshake is decrypted");
}

/* A side's Finished was read (RFC 8446 7.2): its next records are under
 * its application traffic keys, opened while the handshake lasts when the
 * key log has them. */
void tls_keys13_app(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];
    const struct tls_keylog_secret *sec;

    d->prot = PROT_DONE13;
    d->key_changes13++;
    if (s->kl_entry == NULL)
        return;
    sec = &s->kl_entry->s[dir == DIR_CLIENT ? TLS_KL_CLIENT_AP0 : TLS_KL_SERVER_AP0];
    if (sec->len > 0 && s->dec != NULL &&
        tls13_keys_init(&s->dec->k[dir], s->c->sh.suite, sec->v, sec->len) == TI_OK)
        d->prot = PROT_APP13;
}

/* A KeyUpdate read under a side's application keys (RFC 8446 4.6.3): its
 * next records are under the next generation, derived from the current
 * secret (7.2), sequence from 0 (5.3).  body: KeyUpdateRequest, 1 byte. */
void tls_key_update13(struct tls_session *s, enum conn_dir dir, const uint8_t *body,
                      size_t len)
{
    struct tls_dir *d = &s->d[dir];
    int rc;

    if (d->prot == PROT_HS13) {
        /* RFC 8446 4.6.3: before Finished it is an unexpected_message. */
        tls_note_problem(s, dir, "KeyUpdate before the %s's Finished", tls_side_name(dir));
        return;
    }
    if (d->prot != PROT_APP13)
        return;
    if (len != 1 || body[0] > 1)
        tls_note_problem(s, dir, "malformed KeyUpdate (%zu bytes)", len);   /* keys change anyway */
    rc = tls13_keys_update(&s->dec->k[dir]);
    if (rc != TI_OK) {
        d->prot = PROT_STOPPED;
        tls_note13(s, "the %s's next application traffic keys after a KeyUpdate were not "
                      "derived (%s): decryption stopped", tls_side_name(dir), ti_strerror(rc));
        return;
    }
    d->key_changes13++;
}

/* Alerts read by decrypting a record (TLS 1.0-1.3 with --keylog): as in
 * the clear, marked decrypted.  A close_notify ends what its sender sends
 * (RFC 5246 7.2.1, RFC 8446 6.1); a fatal alert too, and in TLS 1.3 what
 * both send (RFC 8446 6.2: both close at once; the level is implied by the
 * description, 6: every alert but close_notify and user_canceled is fatal).
 * opened: false for a NULL suite read without keys (the alert was in the
 * clear). */
static void alerts_decrypted(struct tls_session *s, enum conn_dir dir, const uint8_t *p,
                             size_t n, bool opened)
{
    struct conn *c = s->c;
    struct cur cu = cur_make(p, n);
    uint8_t level, desc;

    while (cur_u8(&cu, &level) == TI_OK && cur_u8(&cu, &desc) == TI_OK) {
        uint16_t before = c->n_alerts;
        tls_add_alert(s, dir, false, level, desc);
        if (c->n_alerts > before)
            c->alerts[before].decrypted = opened;
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

    if (d->prot == PROT_APP13)
        tls_appdata_event(s, dir);   /* after its Finished: application data, as PROT_DONE13 */
    else
        tls_opaque_event(s, dir);
    d->prot = PROT_STOPPED;
}

/* A protected record that did not open: say why, unless it was 0-RTT. */
static void open13_failed(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];

    /* RFC 8446 4.2.10: 0-RTT records (client early traffic keys) come
     * before the client's first handshake-key record. */
    if (dir == DIR_CLIENT && s->early_data && !d->dec13_ok)
        return;
    if (d->prot == PROT_APP13 && s->dec->k[dir].generation == 0)
        tls_note13(s, "AEAD tag check failed on a %s record under %s_TRAFFIC_SECRET_0: the "
                      "key log's application secret does not match this connection "
                      "(decryption of the %s's records stopped)", tls_side_name(dir),
                   dir == DIR_CLIENT ? "CLIENT" : "SERVER", tls_side_name(dir));
    else if (d->prot == PROT_APP13)
        tls_note13(s, "AEAD tag check failed on a %s record under application traffic "
                      "secret generation %u, derived at a KeyUpdate (decryption of the %s's "
                      "records stopped)", tls_side_name(dir),
                   (unsigned)s->dec->k[dir].generation, tls_side_name(dir));
    else
        tls_note13(s, "AEAD tag check failed: the key log does not match this connection");
    stop13(s, dir);
}

/* A whole protected record of a side being decrypted (RFC 8446 5.2): open
 * it and hand the plaintext to the handshake or alert layer, as if it had
 * come in the clear. */
void tls_open13(struct tls_session *s, enum conn_dir dir, const uint8_t *body, size_t len)
{
    struct tls_dir *d = &s->d[dir];
    size_t n = 0;
    uint8_t type = 0;

    if (len > TLS13_MAX_CIPHERTEXT) {
        tls_note13(s, "the %s sent a protected record of %zu bytes, over the TLS 1.3 limit: "
                      "decryption stopped", tls_side_name(dir), len);
        stop13(s, dir);
        return;
    }
    if (tls13_open_record(&s->dec->k[dir], d->hdr, body, len, s->dec->buf,
                          sizeof(s->dec->buf), &n, &type) != TI_OK) {
        open13_failed(s, dir);
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
        tls_hs_input(s, dir, s->dec->buf, n, true);
        break;
    case CT_ALERT:
        alerts_decrypted(s, dir, s->dec->buf, n, true);
        break;
    case CT_APPDATA:
        if (d->prot != PROT_APP13)   /* RFC 8446 5.1: none under the handshake keys */
            tls_note_problem(s, dir, "application data under the TLS 1.3 handshake keys");
        else
            tls_appdata_event(s, dir);
        break;
    default:
        tls_note_problem(s, dir, "decrypted TLS 1.3 record of unknown content type %u", type);
        break;
    }
}

/* ---- TLS 1.0-1.2 --------------------------------------------------------- */

/* The TLS <= 1.2 decryption state, created on first use with --keylog;
 * NULL without a key log (or out of memory: then nothing is decrypted). */
struct tls12_dec *tls_dec12_state(struct tls_session *s)
{
    if (s->keylog != NULL && s->dec12 == NULL)
        s->dec12 = calloc(1, sizeof(*s->dec12));
    return s->dec12;
}

/* The master secret and suite for the latest hellos; false after a note
 * saying why there are none. */
static bool keys12_inputs(struct tls_session *s, bool reneg, const struct tls12_dec *x,
                          const struct tls_keylog_secret **ms, struct tls12_suite *suite)
{
    const struct conn *c = s->c;
    const struct tls_keylog_entry *e;

    if (!x->have_cr || !x->have_sr || !c->sh.present) {
        tls_note13(s, "the hellos were not captured: their randoms are needed to decrypt the "
                      "TLS 1.2 records with the key log");
        return false;
    }
    e = tls_keylog_find(s->keylog, x->cr);
    *ms = e != NULL ? &e->s[TLS_KL_MASTER] : NULL;
    if (*ms == NULL || (*ms)->len == 0) {
        tls_note13(s, reneg ? "no CLIENT_RANDOM line in the key log for the renegotiation's "
                              "client random: decryption stopped there"
                            : "no CLIENT_RANDOM line in the key log for this connection's "
                              "client random");
        return false;
    }
    if (tls_suite_cipher(s->names, c->sh.suite) == NULL) {
        tls_note13(s, "cipher suite 0x%04x: not implemented by this OpenSSL 3 (RC4, DES, "
                      "export and static DH/ECDH suites were removed or compiled out), so its "
                      "records cannot be decrypted", c->sh.suite);
        return false;
    }
    if (tls12_suite_lookup(s->names, c->sh.suite, c->sh.version, suite) != TI_OK) {
        tls_note13(s, "cipher suite 0x%04x at version 0x%04x: record decryption is not "
                      "supported for it", c->sh.suite, c->sh.version);
        return false;
    }
    if (c->sh.compression != 0 && c->sh.compression != TLS_COMP_DEFLATE) {
        /* RFC 5246 6.2.2: the plaintext would need decompressing first;
         * only DEFLATE (RFC 3749) was ever implemented by OpenSSL. */
        tls_note13(s, "TLS compression method %u was selected: records not decrypted (only "
                      "DEFLATE, method 1, is decompressed)", c->sh.compression);
        return false;
    }
    return true;
}

/* A NULL suite protects nothing (RFC 5246 6.2.3.1): without the master
 * secret its records are read all the same, the MAC cut off unchecked.
 * False when the suite is not one (or out of memory). */
static bool keys12_unkeyed(struct tls_session *s, enum conn_dir dir)
{
    const struct conn *c = s->c;
    struct tls12_suite suite;
    struct tls12_dec *x = s->dec12;

    if (!c->sh.present || c->sh.compression != 0 ||
        tls12_suite_lookup(s->names, c->sh.suite, c->sh.version, &suite) != TI_OK ||
        suite.mode != TLS12_MODE_NULL)
        return false;
    if (x == NULL && (x = s->dec12 = calloc(1, sizeof(*x))) == NULL)
        return false;
    if (x->buf == NULL && (x->buf = malloc(TLS12_MAX_CIPHERTEXT)) == NULL)
        return false;
    tls12_dir_clear(&x->k[dir]);
    if (tls12_dir_init_unkeyed(&x->k[dir], &suite) != TI_OK)
        return false;
    s->d[dir].prot = PROT_DEC12;
    tls_note13(s, "NULL cipher suite 0x%04x: the records are not encrypted and are read "
                  "without keys (their MACs are not checked)", c->sh.suite);
    return true;
}

/* A TLS <= 1.2 side sent ChangeCipherSpec: its next records are under the
 * keys of the latest hellos' master secret, which the key log's
 * CLIENT_RANDOM line gives (RFC 5246 6.3, 7.1).  A renegotiation's CCS
 * replaces the keys with the new handshake's.  Without a usable secret the
 * side's records stay opaque, as without --keylog, unless the suite is a
 * NULL one. */
void tls_keys12_start(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];
    struct tls12_dec *x;
    const struct tls_keylog_secret *ms = NULL;
    struct tls12_suite suite;
    bool reneg = d->prot == PROT_DEC12;
    int rc;

    if (d->prot == PROT_STOPPED)
        return;
    if (s->keylog == NULL) {
        (void)keys12_unkeyed(s, dir);
        return;
    }
    /* A renegotiation whose keys are missing ends decryption for good:
     * the next handshake's hellos would be encrypted under them. */
    d->prot = reneg ? PROT_STOPPED : PROT_OPAQUE;
    x = tls_dec12_state(s);
    if (x == NULL) {
        tls_note13(s, "TLS 1.2 decryption: %s", ti_strerror(TI_ENOMEM));
        return;
    }
    tls12_dir_clear(&x->k[dir]);
    if (!keys12_inputs(s, reneg, x, &ms, &suite)) {
        (void)keys12_unkeyed(s, dir);
        return;
    }
    if (x->buf == NULL) {
        x->buf = malloc(TLS12_MAX_CIPHERTEXT);
        if (x->buf == NULL) {
            tls_note13(s, "TLS 1.2 decryption: %s", ti_strerror(TI_ENOMEM));
            return;
        }
    }
    rc = tls12_dir_init(&x->k[dir], &suite, x->ch_etm && x->sh_etm, dir, ms->v, ms->len,
                        x->cr, x->sr);
    if (rc != TI_OK) {
        tls_note13(s, "TLS 1.2 keys not derived (%s)", ti_strerror(rc));
        return;
    }
    /* RFC 3749 2: each side's compression state starts at its CCS (a
     * renegotiation's too, as OpenSSL does it). */
    if (s->c->sh.compression == TLS_COMP_DEFLATE) {
        rc = tls12_dir_set_deflate(&x->k[dir]);
        if (rc != TI_OK) {
            tls12_dir_clear(&x->k[dir]);
            tls_note13(s, "TLS 1.2 DEFLATE decompression not set up (%s)", ti_strerror(rc));
            return;
        }
        tls_note13(s, "TLS compression DEFLATE (method 1) was selected: records are inflated "
                      "after decryption (RFC 3749)");
    }
    d->prot = PROT_DEC12;
}

/* A whole record of a TLS <= 1.2 side being decrypted: open it and hand
 * the plaintext on as if it had come in the clear. */
void tls_open12(struct tls_session *s, enum conn_dir dir, const uint8_t *body, size_t len)
{
    struct tls_dir *d = &s->d[dir];
    size_t n = 0;
    int rc;

    rc = tls12_open_record(&s->dec12->k[dir], d->hdr, body, len, s->dec12->buf,
                           TLS12_MAX_CIPHERTEXT, &n);
    if (rc != TI_OK) {
        d->prot = PROT_STOPPED;
        if (s->dec12->k[dir].zfailed)
            tls_note13(s, "DEFLATE decompression failed on a %s record (a corrupt stream, or "
                          "more than 2^14 bytes inflated): the %s's records are not read further",
                       tls_side_name(dir), tls_side_name(dir));
        else if (s->dec12->k[dir].mac_unchecked)
            tls_note13(s, "a NULL-cipher record of the %s is not a record (%s): reading stopped",
                       tls_side_name(dir), ti_strerror(rc));
        else if (rc == TI_EMALFORMED)
            tls_note13(s, "MAC check failed: the key log does not match this connection "
                          "(the %s's records stay encrypted)", tls_side_name(dir));
        else if (s->dec12->k[dir].iv_lost)
            tls_note13(s, "a capture gap inside a %s record broke the TLS 1.0 CBC IV chain: "
                          "decryption stopped", tls_side_name(dir));
        else
            tls_note13(s, "TLS 1.2 decryption of the %s's records stopped (%s)",
                       tls_side_name(dir), ti_strerror(rc));
        tls_on_opaque12(s, dir);
        return;
    }
    if (!s->dec12->k[dir].mac_unchecked)
        s->c->keys_used = true;
    switch (d->rec_type) {
    case CT_HANDSHAKE:
        d->enc_hs_seen = true;   /* Finished (or later messages) read, not guessed */
        tls_hs_input(s, dir, s->dec12->buf, n, true);
        break;
    case CT_ALERT:
        alerts_decrypted(s, dir, s->dec12->buf, n, !s->dec12->k[dir].mac_unchecked);
        break;
    case CT_CCS:
        tls_on_ccs(s, dir);   /* a renegotiation's, under the current keys */
        break;
    default:
        break;            /* application data, heartbeat */
    }
}

/* n bytes of a side's records are missing: whole records may be lost, so
 * the sequence number (and for TLS 1.0, the IV) is unknown. */
void tls_keys_lost(struct tls_session *s, enum conn_dir dir, uint64_t n)
{
    struct tls_dir *d = &s->d[dir];

    if (d->prot == PROT_DEC12) {
        d->prot = PROT_STOPPED;
        tls_note13(s, "%llu bytes of the %s's protected records are missing: decryption "
                      "stopped", (unsigned long long)n, tls_side_name(dir));
    } else if (prot_opens13(d->prot)) {
        tls_note13(s, "%llu bytes of the %s's protected %srecords are missing: "
                      "decryption stopped", (unsigned long long)n, tls_side_name(dir),
                   d->prot == PROT_HS13 ? "handshake " : "");
        d->prot = PROT_STOPPED;
    }
}
