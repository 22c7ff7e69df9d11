/* tls_prefix.c - the plaintext prefix scan: TLS that starts after STARTTLS and the like. */
#include <string.h>

#include "tlsinspect/cur.h"
#include "tlsinspect/err.h"
#include "tlsinspect/tls.h"
#include "tls_internal.h"

/* The smallest hello body: ServerHello version(2) random(32) session_id(1)
 * suite(2) compression(1) (RFC 5246 7.4.1.3); a ClientHello is longer. */
#define TLS_MIN_HELLO_BODY 38u
#define TLS_SCAN_FAILED "no TLS hello in the first 64 KiB"

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
        tls_not_tls(s);
        return;
    }
    if (s->client_side < 0)
        tls_decide_role(s);
    tls_give_up(s, tls_dir_of(s, side), "not TLS: %s", why);
}

/* The hello that starts TLS was found after `prefix` plaintext bytes: its
 * first bytes are a[0..alen) (held from the previous chunk) then b[0..blen). */
static void scan_found(struct tls_session *s, int side, unsigned which,
                       uint32_t prefix, const uint8_t *a, size_t alen,
                       const uint8_t *b, size_t blen)
{
    struct tls_scan *sc = &s->scan[side];
    uint8_t held[TLS_SCAN_WINDOW];
    bool roles_now = s->client_side < 0;
    enum conn_dir dir;

    if (alen > 0)
        memcpy(held, a, alen);   /* a may point into sc->carry */
    sc->on = false;
    sc->carry_len = 0;
    if (roles_now)   /* no SYN: the side that sends the ClientHello is the client */
        s->client_side = which == WANT_CH ? side : 1 - side;
    dir = tls_dir_of(s, side);
    s->c->starttls = true;
    s->c->plaintext_prefix[dir] = prefix;
    s->d[dir].origin = ORIGIN_PREFIX;
    if (roles_now)
        tls_replay_peeks(s);   /* what the other side held while the roles were unknown */
    tls_dir_feed(s, dir, held, alen);
    tls_dir_feed(s, dir, b, blen);
}

/* Candidates that began in the previous chunk (sc->carry) and go on in
 * p[0..n).  True when the scan ended or must wait for more bytes. */
static bool scan_carry(struct tls_session *s, int side, unsigned want, const uint8_t *p,
                       size_t n)
{
    struct tls_scan *sc = &s->scan[side];
    uint8_t tmp[2 * TLS_SCAN_WINDOW];
    size_t extra = n < TLS_SCAN_WINDOW - 1 ? n : TLS_SCAN_WINDOW - 1;
    size_t tl = sc->carry_len + extra, cl = sc->carry_len;
    unsigned which = 0;

    memcpy(tmp, sc->carry, cl);
    memcpy(tmp + cl, p, extra);
    for (size_t i = 0; i < cl; i++) {
        int r = hello_at(s, tmp + i, tl - i, want, &which);
        if (r > 0) {
            scan_found(s, side, which, sc->skipped + (uint32_t)i, tmp + i, cl - i, p, n);
            return true;
        }
        if (r < 0) {
            /* Still too short: then all of p fitted in tmp (extra == n). */
            memcpy(sc->carry, tmp + i, tl - i);
            sc->carry_len = (uint8_t)(tl - i);
            sc->skipped += (uint32_t)i;
            return true;
        }
    }
    sc->skipped += (uint32_t)cl;
    sc->carry_len = 0;
    return false;
}

/* Plaintext bytes of raw side `side`: look for a plausible hello start,
 * keeping a candidate cut by the chunk end in the carry buffer. */
void tls_scan_feed(struct tls_session *s, int side, const uint8_t *p, size_t n)
{
    struct tls_scan *sc = &s->scan[side];
    unsigned want = scan_want(s, side), which = 0;
    size_t off = 0;
    int r;

    if (!sc->on || n == 0)
        return;
    if (sc->carry_len > 0 && scan_carry(s, side, want, p, n))
        return;
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
        scan_fail(s, side, TLS_SCAN_FAILED);
}

/* Start scanning raw side `side`; first[0..n) are the bytes it sent so far. */
void tls_scan_begin(struct tls_session *s, int side, const uint8_t *first, size_t n)
{
    struct tls_scan *sc = &s->scan[side];

    sc->on = true;
    sc->used = true;
    sc->skipped = 0;
    sc->carry_len = 0;
    tls_scan_feed(s, side, first, n);
}

/* A hole in the plaintext prefix: the bytes count towards the limit and a
 * candidate cut by the hole is dropped. */
void tls_scan_gap(struct tls_session *s, int side, uint64_t n, int64_t ts)
{
    struct tls_scan *sc = &s->scan[side];

    sc->skipped += sc->carry_len;   /* <= TLS_MAX_PLAINTEXT_PREFIX + TLS_SCAN_WINDOW */
    sc->carry_len = 0;
    if (sc->skipped > TLS_MAX_PLAINTEXT_PREFIX || n > TLS_MAX_PLAINTEXT_PREFIX - sc->skipped)
        sc->skipped = TLS_MAX_PLAINTEXT_PREFIX + 1u;
    else
        sc->skipped += (uint32_t)n;
    if (s->client_side >= 0)
        conn_add_event(s->c, ts, EV_GAP, tls_dir_of(s, side), 0, 0);
    if (sc->skipped > TLS_MAX_PLAINTEXT_PREFIX)
        scan_fail(s, side, TLS_SCAN_FAILED);
}

/* The connection ended during a plaintext prefix. */
void tls_scan_end(struct tls_session *s)
{
    for (int side = 0; side < 2; side++) {
        struct tls_scan *sc = &s->scan[side];
        if (!sc->on)
            continue;
        sc->on = false;
        if (!s->c->is_tls) {
            s->run = RUN_NOT_TLS;
        } else {
            if (s->client_side < 0)
                tls_decide_role(s);
            enum conn_dir dir = tls_dir_of(s, side);
            s->c->plaintext_prefix[dir] = sc->skipped + sc->carry_len;
            tls_note_problem(s, dir, "no TLS %s after %u plaintext bytes",
                             dir == DIR_CLIENT ? "ClientHello" : "ServerHello",
                             (unsigned)s->c->plaintext_prefix[dir]);
        }
        sc->carry_len = 0;
    }
}

/* The first bytes of a direction are not TLS.  A plaintext prefix is
 * expected on both sides of a STARTTLS-like exchange, so the direction is
 * scanned for its hello, unless the other side spoke TLS from its first byte
 * (then these bytes are a plaintext answer to TLS, e.g. an HTTP error) or
 * this direction was scanned already.  Without a hello in time, the whole
 * connection is not TLS when nothing TLS was seen, else only this direction
 * is given up. */
void tls_bad_start(struct tls_session *s, enum conn_dir dir, const char *what)
{
    struct tls_dir *d = &s->d[dir], *o = &s->d[1 - dir];
    int side = tls_side_of(s, dir);

    if (!s->scan[side].used && o->origin != ORIGIN_START && o->origin != ORIGIN_MIDSTREAM) {
        uint8_t first[5];
        size_t n = d->hdr_len;

        memcpy(first, d->hdr, n);
        d->hdr_len = 0;
        d->rec = REC_HEADER;
        tls_scan_begin(s, side, first, n);
        return;
    }
    if (!s->c->is_tls) {
        tls_not_tls(s);
        return;
    }
    tls_give_up(s, dir, "not TLS: %s", what);
}
