/* test_tls_record.c - the incremental TLS session: framing, reassembly, roles, encryption, outcome. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tlsinspect/err.h"
#include "tlsinspect/tls.h"
#include "support/bytebuf.h"
#include "support/cert.h"
#include "../src/tls_internal.h"   /* tls_infer_alert_sized: the size rule itself */

/* ---- byte builder ------------------------------------------------------ */

/* struct b and b_* come from tests/support/bytebuf.h */

/* One TLS record (RFC 8446 5.1). */
static void rec(struct b *out, unsigned type, const void *frag, size_t len)
{
    b_u8(out, type);
    b_u16(out, 0x0303);
    b_u16(out, (unsigned)len);
    b_put(out, frag, len);
}

/* A handshake message (type, u24 length, body). */
static void hs(struct b *out, unsigned type, const struct b *body)
{
    b_u8(out, type);
    b_u24(out, body ? (unsigned)body->n : 0);
    if (body)
        b_put(out, body->p, body->n);
}

static void hs_rec(struct b *out, const struct b *msgs)
{
    rec(out, 22, msgs->p, msgs->n);
}

/* ClientHello body: ECDSA-first suites, SNI, optionally TLS 1.3. */
static void ch_body(struct b *b, bool tls13, unsigned tag)
{
    static const uint16_t suites[] = {0x1301, 0xc02c, 0xc030};
    b_u16(b, 0x0303);
    b_fill(b, 32, tag);
    b_u8(b, 0);
    b_u16(b, 6);
    for (int i = 0; i < 3; i++)
        b_u16(b, suites[i]);
    b_u8(b, 1);
    b_u8(b, 0);
    struct b e = {0};
    /* server_name */
    b_u16(&e, 0);
    b_u16(&e, 5 + 8);
    b_u16(&e, 3 + 8);
    b_u8(&e, 0);
    b_u16(&e, 8);
    b_put(&e, "cucm.lab", 8);
    if (tls13) {
        b_u16(&e, 43);
        b_u16(&e, 5);
        b_u8(&e, 4);
        b_u16(&e, 0x0304);
        b_u16(&e, 0x0303);
    }
    b_u16(b, (unsigned)e.n);
    b_put(b, e.p, e.n);
    b_free(&e);
}

static void ch_msg(struct b *out, bool tls13, unsigned tag)
{
    struct b body = {0};
    ch_body(&body, tls13, tag);
    hs(out, 1, &body);
    b_free(&body);
}

static const uint8_t HRR_RANDOM[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02,
    0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
    0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

static void sh_msg(struct b *out, unsigned suite, bool tls13, bool hrr)
{
    struct b body = {0};
    b_u16(&body, 0x0303);
    if (hrr)
        b_put(&body, HRR_RANDOM, 32);
    else
        b_fill(&body, 32, 0x40);
    b_u8(&body, 0);
    b_u16(&body, suite);
    b_u8(&body, 0);
    if (tls13) {
        b_u16(&body, 6);
        b_u16(&body, 43);
        b_u16(&body, 2);
        b_u16(&body, 0x0304);
    }
    hs(out, 2, &body);
    b_free(&body);
}

/* Certificate (1.2 form) of the given DER blobs. */
static void cert_msg(struct b *out, const uint8_t *const *der, const size_t *len, size_t n)
{
    struct b body = {0};
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += 3 + len[i];
    b_u24(&body, (unsigned)total);
    for (size_t i = 0; i < n; i++) {
        b_u24(&body, (unsigned)len[i]);
        b_put(&body, der[i], len[i]);
    }
    hs(out, 11, &body);
    b_free(&body);
}

/* ---- fixture ------------------------------------------------------------ */

static struct tls_names *names;

struct fx {
    struct conn c;
    struct x509_pool *pool;
    struct tls_session *s;
};

static struct fx *fx_new(const struct tls_limits *lim)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[128];

    assert_non_null(f);
    conn_init(&f->c);
    assert_int_equal(x509_pool_new(&f->pool, NULL, err, sizeof(err)), TI_OK);
    assert_int_equal(tls_session_new(&f->s, &f->c, f->pool, names, lim, NULL), TI_OK);
    return f;
}

static void fx_free(struct fx *f)
{
    tls_session_free(f->s);
    conn_free(&f->c);
    x509_pool_free(f->pool);
    free(f);
}

static int64_t now = 1000;

static void feed(struct fx *f, int side, const struct b *b)
{
    tls_feed(f->s, side, b->p, b->n, now++);
}

static void feed_chunks(struct fx *f, int side, const struct b *b, size_t chunk)
{
    for (size_t off = 0; off < b->n; off += chunk) {
        size_t n = b->n - off < chunk ? b->n - off : chunk;
        tls_feed(f->s, side, b->p + off, n, now++);
    }
}

static bool has_event(const struct conn *c, enum conn_event_kind k, int from, int type)
{
    for (unsigned i = 0; i < c->n_events; i++)
        if (c->events[i].kind == k && c->events[i].from == from &&
            (type < 0 || c->events[i].type == type))
            return true;
    return false;
}

static void server_flight12(struct b *out, bool separate)
{
    struct b m = {0}, body = {0};
    static const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x01};   /* not a certificate */
    const uint8_t *d[] = {der};
    size_t l[] = {sizeof(der)};

    sh_msg(&m, 0xc02c, false, false);
    if (separate) {
        hs_rec(out, &m);
        m.n = 0;
    }
    cert_msg(&m, d, l, 1);
    if (separate) {
        hs_rec(out, &m);
        m.n = 0;
    }
    hs(&m, 14, NULL);
    hs_rec(out, &m);
    b_free(&m);
    b_free(&body);
}

static void client_finish12(struct b *out)
{
    struct b m = {0}, body = {0};
    static const uint8_t ccs[] = {1};
    uint8_t fin[40];

    b_u8(&body, 32);
    b_fill(&body, 32, 7);
    hs(&m, 16, &body);
    hs_rec(out, &m);
    rec(out, 20, ccs, 1);
    memset(fin, 0x5a, sizeof(fin));
    rec(out, 22, fin, sizeof(fin));
    b_free(&m);
    b_free(&body);
}

static void server_finish12(struct b *out)
{
    static const uint8_t ccs[] = {1};
    uint8_t fin[40];

    rec(out, 20, ccs, 1);
    memset(fin, 0xa5, sizeof(fin));
    rec(out, 22, fin, sizeof(fin));
}

/* ---- tests -------------------------------------------------------------- */

static void test_ch_bytewise(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b m = {0}, r = {0};

    (void)state;
    ch_msg(&m, false, 1);
    b_u8(&r, 22);
    b_u16(&r, 0x0301);
    b_u16(&r, (unsigned)m.n);
    b_put(&r, m.p, m.n);
    for (size_t i = 0; i < r.n; i++) {
        assert_int_equal(f->c.n_ch, 0);   /* a prefix gives no facts */
        tls_feed(f->s, 1, r.p + i, 1, now++);
    }
    assert_int_equal(f->c.n_ch, 1);
    assert_int_equal(tls_client_side(f->s), 1);   /* side 1 sent the ClientHello */
    assert_true(f->c.is_tls);
    assert_int_equal(f->c.record_version, 0x0301);
    assert_string_equal(f->c.ch[0].sni, "cucm.lab");
    assert_int_equal(f->c.ch[0].n_suites, 3);
    assert_int_equal(f->c.ch[0].preferred_auth, AUTH_ECDSA);
    assert_int_equal(f->c.n_events, 1);
    assert_int_equal(f->c.events[0].kind, EV_HANDSHAKE);
    assert_int_equal(f->c.events[0].type, 1);
    assert_int_equal(f->c.events[0].from, DIR_CLIENT);
    assert_false(tls_done(f->s));
    assert_null(f->c.malformed_why[0]);
    b_free(&m);
    b_free(&r);
    fx_free(f);
}

static void test_roles(void **state)
{
    struct b m = {0}, r = {0};
    static const uint8_t alert[] = {2, 40};
    struct fx *f;

    (void)state;
    /* the first bytes are a ServerHello: that side is the server */
    f = fx_new(NULL);
    sh_msg(&m, 0xc02f, false, false);
    hs_rec(&r, &m);
    feed(f, 0, &r);
    assert_int_equal(tls_client_side(f->s), 1);
    assert_true(f->c.sh.present);
    assert_int_equal(f->c.sh.auth, AUTH_RSA);
    fx_free(f);
    b_free(&r);

    /* neither hello: the port hint decides */
    f = fx_new(NULL);
    tls_set_server_side_hint(f->s, 0);
    rec(&r, 21, alert, 2);
    feed(f, 0, &r);
    assert_int_equal(tls_client_side(f->s), 1);
    assert_int_equal(f->c.n_alerts, 1);
    assert_int_equal(f->c.alerts[0].from, DIR_SERVER);
    fx_free(f);

    /* no hint: side 0 is the client */
    f = fx_new(NULL);
    feed(f, 1, &r);
    assert_int_equal(tls_client_side(f->s), 0);
    assert_int_equal(f->c.alerts[0].from, DIR_SERVER);
    fx_free(f);
    b_free(&r);

    /* TCP knows: it wins, even if that side sends a ServerHello */
    f = fx_new(NULL);
    tls_set_client_side(f->s, 1);
    m.n = 0;
    ch_msg(&m, false, 2);
    hs_rec(&r, &m);
    feed(f, 1, &r);
    assert_int_equal(tls_client_side(f->s), 1);
    assert_int_equal(f->c.n_ch, 1);
    fx_free(f);

    /* bytes held before TCP told us are not lost */
    f = fx_new(NULL);
    tls_feed(f->s, 1, r.p, 3, now++);
    tls_set_client_side(f->s, 1);
    tls_feed(f->s, 1, r.p + 3, r.n - 3, now++);
    assert_int_equal(f->c.n_ch, 1);
    fx_free(f);
    b_free(&r);
    b_free(&m);
}

static void test_records_and_messages(void **state)
{
    struct fx *f;
    struct b cl = {0}, sv = {0}, m = {0}, body = {0};

    (void)state;
    /* two (three) records in one chunk */
    f = fx_new(NULL);
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    server_flight12(&sv, true);
    feed(f, 1, &sv);
    assert_true(f->c.sh.present);
    assert_true(f->c.server_cert_msg_seen);
    assert_int_equal(f->c.n_server_certs, 1);
    assert_false(f->c.server_certs[0]->parsed);   /* junk DER is kept, not parsed */
    assert_true(has_event(&f->c, EV_HANDSHAKE, DIR_SERVER, 14));
    assert_int_equal(f->c.n_events, 4);
    fx_free(f);
    b_free(&sv);

    /* three messages in one record, plus CertificateRequest and CertificateStatus */
    f = fx_new(NULL);
    feed(f, 0, &cl);
    m.n = 0;
    sh_msg(&m, 0xc030, false, false);
    b_u8(&body, 1);
    b_u24(&body, 3);
    b_fill(&body, 3, 0);
    hs(&m, 22, &body);
    body.n = 0;
    b_u8(&body, 1);
    b_u8(&body, 1);
    b_u16(&body, 2);
    b_u16(&body, 0x0401);
    b_u16(&body, 0);
    hs(&m, 13, &body);
    hs(&m, 14, NULL);
    hs_rec(&sv, &m);
    feed(f, 1, &sv);
    assert_true(f->c.certificate_status);
    assert_true(f->c.certificate_request);
    assert_true(has_event(&f->c, EV_HANDSHAKE, DIR_SERVER, 14));
    assert_int_equal(f->c.n_events, 5);
    fx_free(f);
    b_free(&sv);

    /* one message over three records */
    f = fx_new(NULL);
    m.n = 0;
    ch_msg(&m, true, 3);
    cl.n = 0;
    size_t a = m.n / 3, b2 = 2 * m.n / 3;
    rec(&cl, 22, m.p, a);
    rec(&cl, 22, m.p + a, b2 - a);
    feed(f, 0, &cl);
    assert_int_equal(f->c.n_ch, 0);
    cl.n = 0;
    rec(&cl, 22, m.p + b2, m.n - b2);
    feed(f, 0, &cl);
    assert_int_equal(f->c.n_ch, 1);
    assert_int_equal(f->c.ch[0].n_versions, 2);
    assert_int_equal(f->c.n_events, 1);
    fx_free(f);
    b_free(&cl);
    b_free(&m);
    b_free(&body);
}

static void test_big_chain(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b m = {0}, cl = {0}, sv = {0};
    uint8_t *real;
    size_t lreal = test_cert_self_signed("cucm-EC.lab", 1, &real);
    uint8_t *blob = malloc(14000);
    const uint8_t *d[4];
    size_t l[4];

    (void)state;
    for (size_t i = 0; i < 14000; i++)
        blob[i] = (uint8_t)(i * 7);
    d[0] = real;
    l[0] = lreal;
    for (int i = 1; i < 4; i++) {
        d[i] = blob + i;   /* three distinct 13 KB blobs */
        l[i] = 13000;
    }
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    m.n = 0;
    sh_msg(&m, 0xc02c, false, false);
    cert_msg(&m, d, l, 4);
    hs(&m, 14, NULL);
    assert_true(m.n > 39000);
    /* records of at most 2^14 bytes, delivered as 1448-byte segments */
    for (size_t off = 0; off < m.n; off += 16384)
        rec(&sv, 22, m.p + off, m.n - off < 16384 ? m.n - off : 16384);
    feed_chunks(f, 1, &sv, 1448);
    assert_true(f->c.server_cert_msg_seen);
    assert_int_equal(f->c.n_server_certs, 4);
    assert_memory_equal(f->c.server_certs[0]->der, real, lreal);
    assert_true(f->c.server_certs[0]->parsed);
    assert_int_equal(f->c.server_certs[3]->der_len, 13000);
    assert_memory_equal(f->c.server_certs[3]->der, blob + 3, 13000);
    assert_true(has_event(&f->c, EV_HANDSHAKE, DIR_SERVER, 14));
    assert_false(f->c.malformed[1]);
    fx_free(f);
    OPENSSL_free(real);
    free(blob);
    b_free(&m);
    b_free(&cl);
    b_free(&sv);
}

static void test_limits(void **state)
{
    struct fx *f;
    struct b cl = {0}, sv = {0}, m = {0}, body = {0};
    struct tls_limits lim;

    (void)state;
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);

    /* record of exactly TLS_MAX_RECORD: accepted; one more: malformed */
    f = fx_new(NULL);
    feed(f, 0, &cl);
    b_u8(&sv, 23);
    b_u16(&sv, 0x0303);
    b_u16(&sv, TLS_MAX_RECORD);
    b_fill(&sv, TLS_MAX_RECORD, 0);
    feed(f, 1, &sv);
    assert_false(f->c.malformed[1]);
    sv.n = 0;
    b_u8(&sv, 23);
    b_u16(&sv, 0x0303);
    b_u16(&sv, TLS_MAX_RECORD + 1);
    feed(f, 1, &sv);
    assert_true(f->c.malformed[1]);
    assert_non_null(strstr(f->c.malformed_why[1], "exceeds"));
    assert_false(f->c.malformed[0]);
    /* the client side still parses */
    m.n = 0;
    static const uint8_t al[] = {1, 0};
    rec(&m, 21, al, 2);
    feed(f, 0, &m);
    assert_int_equal(f->c.n_alerts, 1);
    fx_free(f);
    b_free(&sv);

    /* handshake message cap */
    tls_limits_default(&lim);
    assert_int_equal(lim.max_hs_msg, TLS_MAX_HS_MSG);
    assert_int_equal(lim.max_records, TLS_MAX_RECORDS);
    lim.max_hs_msg = 1000;
    f = fx_new(&lim);
    feed(f, 0, &cl);
    m.n = 0;
    b_fill(&body, 1000, 0);
    hs(&m, 12, &body);   /* ServerKeyExchange of exactly the cap */
    hs_rec(&sv, &m);
    feed(f, 1, &sv);
    assert_false(f->c.malformed[1]);
    assert_true(has_event(&f->c, EV_HANDSHAKE, DIR_SERVER, 12));
    m.n = 0;
    sv.n = 0;
    b_u8(&body, 0);
    hs(&m, 12, &body);   /* 1001 bytes, split so it must be buffered */
    rec(&sv, 22, m.p, 500);
    rec(&sv, 22, m.p + 500, m.n - 500);
    feed(f, 1, &sv);
    assert_true(f->c.malformed[1]);
    assert_non_null(strstr(f->c.malformed_why[1], "handshake message"));
    assert_true(tls_done(f->s) == false);
    fx_free(f);
    b_free(&sv);

    /* record count limit */
    tls_limits_default(&lim);
    lim.max_records = 3;
    f = fx_new(&lim);
    feed(f, 0, &cl);
    static const uint8_t w[] = {1, 100};
    for (int i = 0; i < 4; i++)
        rec(&sv, 21, w, 2);
    feed(f, 1, &sv);
    assert_int_equal(f->c.n_alerts, 2);   /* records 2 and 3 */
    assert_string_equal(f->c.malformed_why[1], "record limit");
    assert_true(tls_done(f->s));
    fx_free(f);
    b_free(&sv);
    b_free(&cl);
    b_free(&m);
    b_free(&body);
}

static void test_not_tls(void **state)
{
    struct fx *f;
    static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    struct b cl = {0}, m = {0};

    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

    (void)state;
    /* plain HTTP: it could still upgrade (STARTTLS-like), so the parser keeps
     * looking until the connection ends; then it is not TLS */
    f = fx_new(NULL);
    tls_feed(f->s, 0, (const uint8_t *)get, strlen(get), now++);
    tls_feed(f->s, 1, (const uint8_t *)ok, strlen(ok), now++);
    assert_false(tls_done(f->s));
    assert_false(f->c.is_tls);
    tls_close(f->s, 0, false, now++);
    tls_close(f->s, 1, false, now++);
    assert_true(tls_done(f->s));
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_NOT_TLS);
    assert_false(f->c.is_tls);
    assert_false(f->c.starttls);
    fx_free(f);

    /* a short stream ending before any decision is not TLS either */
    f = fx_new(NULL);
    tls_feed(f->s, 0, (const uint8_t *)"GET", 3, now++);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_NOT_TLS);
    fx_free(f);

    /* 0x16 but not version 3 */
    f = fx_new(NULL);
    tls_feed(f->s, 1, (const uint8_t *)"\x16\x01\x00", 3, now++);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_NOT_TLS);
    fx_free(f);

    /* a TLS client answered in plain HTTP: the server side is given up */
    f = fx_new(NULL);
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    tls_feed(f->s, 1, (const uint8_t *)"HTTP/1.1 400 Bad Request\r\n", 26, now++);
    assert_true(f->c.is_tls);
    assert_true(f->c.malformed[1]);
    assert_non_null(strstr(f->c.malformed_why[1], "not TLS"));
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_INCOMPLETE);
    fx_free(f);
    b_free(&cl);
    b_free(&m);
}

/* ---- STARTTLS: plaintext before the handshake ---------------------------- */

#define PLAINTEXT_LIMIT (64u * 1024u)   /* TLS_MAX_PLAINTEXT_PREFIX in src/tls_internal.h */

static void put_str(struct b *b, const char *s)
{
    b_put(b, s, strlen(s));
}

/* An SMTP STARTTLS exchange (RFC 3207) then a full TLS 1.2 handshake, as the
 * bytes each side sends: raw side 0 is the client. */
struct smtp_tls {
    struct b cl1, sv1, cl2, sv2, cl3, sv3;   /* in the order they are sent */
    size_t cl_plain, sv_plain;
};

static void smtp_tls_make(struct smtp_tls *x)
{
    struct b m = {0};

    memset(x, 0, sizeof(*x));
    put_str(&x->sv1, "220 mx.example ESMTP\r\n");
    put_str(&x->cl1, "EHLO client.example\r\n");
    /* a decoy: 0x16 0x03 0x01 in the plaintext that is no hello */
    put_str(&x->sv1, "250-mx.example\r\n250-\x16\x03\x01 x\r\n250 STARTTLS\r\n");
    put_str(&x->cl1, "STARTTLS\r\n");
    put_str(&x->sv1, "220 2.0.0 Ready to start TLS\r\n");
    x->cl_plain = x->cl1.n;
    x->sv_plain = x->sv1.n;
    ch_msg(&m, false, 3);
    hs_rec(&x->cl2, &m);
    server_flight12(&x->sv2, true);
    client_finish12(&x->cl3);
    server_finish12(&x->sv3);
    b_free(&m);
}

static void smtp_tls_free(struct smtp_tls *x)
{
    b_free(&x->cl1);
    b_free(&x->sv1);
    b_free(&x->cl2);
    b_free(&x->sv2);
    b_free(&x->cl3);
    b_free(&x->sv3);
}

/* Feed the exchange; chunk 0 = each part whole.  The client's plaintext and
 * its ClientHello travel in one stream, so they are fed as one buffer. */
static void smtp_tls_feed(struct fx *f, const struct smtp_tls *x, size_t chunk)
{
    struct b cl = {0}, sv = {0};

    b_put(&cl, x->cl1.p, x->cl1.n);
    b_put(&cl, x->cl2.p, x->cl2.n);
    b_put(&sv, x->sv1.p, x->sv1.n);
    b_put(&sv, x->sv2.p, x->sv2.n);
    if (chunk == 0) {
        feed(f, 1, &sv);
        feed(f, 0, &cl);
    } else {
        /* interleave: server banner first, then both sides chunk by chunk */
        size_t ci = 0, si = 0;
        while (ci < cl.n || si < sv.n) {
            size_t n;
            if (si < sv.n) {
                n = sv.n - si < chunk ? sv.n - si : chunk;
                tls_feed(f->s, 1, sv.p + si, n, now++);
                si += n;
            }
            if (ci < cl.n && si >= x->sv1.n / 2) {
                n = cl.n - ci < chunk ? cl.n - ci : chunk;
                tls_feed(f->s, 0, cl.p + ci, n, now++);
                ci += n;
            }
        }
    }
    feed(f, 0, &x->cl3);
    feed(f, 1, &x->sv3);
    b_free(&cl);
    b_free(&sv);
}

static void smtp_tls_check(struct fx *f, const struct smtp_tls *x, int client_side)
{
    assert_int_equal(tls_client_side(f->s), client_side);
    assert_true(f->c.is_tls);
    assert_true(f->c.starttls);
    assert_int_equal(f->c.plaintext_prefix[DIR_CLIENT], x->cl_plain);
    assert_int_equal(f->c.plaintext_prefix[DIR_SERVER], x->sv_plain);
    assert_int_equal(f->c.n_ch, 1);
    assert_string_equal(f->c.ch[0].sni, "cucm.lab");
    assert_true(f->c.sh.present);
    assert_int_equal(f->c.sh.suite, 0xc02c);
    assert_true(f->c.server_cert_msg_seen);
    assert_false(f->c.malformed[0]);
    assert_false(f->c.malformed[1]);
    assert_null(f->c.malformed_why[0]);
    assert_null(f->c.malformed_why[1]);
    assert_false(tls_done(f->s));   /* followed to the end of the connection */
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);
    /* plaintext leaves no events: the ladder starts at the hellos */
    assert_true(f->c.n_events > 2);
    assert_int_equal(f->c.events[0].kind, EV_HANDSHAKE);
    assert_int_equal(f->c.events[1].kind, EV_HANDSHAKE);
    assert_true(has_event(&f->c, EV_HANDSHAKE, DIR_CLIENT, 1));
    assert_true(has_event(&f->c, EV_HANDSHAKE, DIR_SERVER, 2));
    assert_false(has_event(&f->c, EV_GAP, DIR_CLIENT, -1));
    assert_false(has_event(&f->c, EV_GAP, DIR_SERVER, -1));
}

static void test_starttls(void **state)
{
    struct smtp_tls x;
    struct fx *f;

    (void)state;
    smtp_tls_make(&x);

    /* SYN known, every part whole */
    f = fx_new(NULL);
    tls_set_client_side(f->s, 0);
    smtp_tls_feed(f, &x, 0);
    smtp_tls_check(f, &x, 0);
    fx_free(f);

    /* every chunking from 1 to 13 bytes: the hello's record header and the
     * 11-byte test window straddle chunk ends at every offset */
    for (size_t chunk = 1; chunk <= 13; chunk++) {
        f = fx_new(NULL);
        tls_set_client_side(f->s, 0);
        smtp_tls_feed(f, &x, chunk);
        smtp_tls_check(f, &x, 0);
        fx_free(f);
    }

    /* no SYN and no port hint: the server speaks first, but the side that
     * sends the ClientHello is the client */
    f = fx_new(NULL);
    smtp_tls_feed(f, &x, 0);
    smtp_tls_check(f, &x, 0);
    fx_free(f);
    f = fx_new(NULL);
    tls_set_server_side_hint(f->s, 0);   /* a wrong hint loses to the hello */
    smtp_tls_feed(f, &x, 5);
    smtp_tls_check(f, &x, 0);
    fx_free(f);
    smtp_tls_free(&x);
}

static void test_starttls_edges(void **state)
{
    struct fx *f;
    struct b cl = {0}, m = {0}, pre = {0};

    (void)state;
    ch_msg(&m, false, 4);
    hs_rec(&cl, &m);

    /* the prefix may be exactly the limit ... */
    f = fx_new(NULL);
    tls_set_client_side(f->s, 0);
    b_fill(&pre, PLAINTEXT_LIMIT, 0);   /* bytes 0..255 cycling: 0x16 included */
    for (size_t i = 0; i < pre.n; i++)
        if (pre.p[i] == 0x16)
            pre.p[i] = 'x';
    feed(f, 0, &pre);
    assert_false(tls_done(f->s));
    feed(f, 0, &cl);
    assert_int_equal(f->c.n_ch, 1);
    assert_int_equal(f->c.plaintext_prefix[DIR_CLIENT], PLAINTEXT_LIMIT);
    fx_free(f);

    /* ... one byte more and the connection is not TLS, decided without
     * waiting for its end */
    f = fx_new(NULL);
    tls_set_client_side(f->s, 0);
    feed(f, 0, &pre);
    tls_feed(f->s, 0, (const uint8_t *)"y", 1, now++);
    assert_true(tls_done(f->s));
    feed(f, 0, &cl);
    assert_int_equal(f->c.n_ch, 0);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_NOT_TLS);
    fx_free(f);

    /* a hole in the plaintext counts towards the limit; TLS after it is found */
    f = fx_new(NULL);
    tls_set_client_side(f->s, 0);
    tls_feed(f->s, 0, (const uint8_t *)"STARTTLS\r\n\x16\x03", 12, now++);
    tls_gap(f->s, 0, 100, now++);   /* the candidate cut by the hole is dropped */
    feed(f, 0, &cl);
    assert_int_equal(f->c.n_ch, 1);
    assert_int_equal(f->c.plaintext_prefix[DIR_CLIENT], 12 + 100);
    assert_true(has_event(&f->c, EV_GAP, DIR_CLIENT, -1));
    fx_free(f);
    f = fx_new(NULL);
    tls_set_client_side(f->s, 0);
    tls_feed(f->s, 0, (const uint8_t *)"EHLO", 4, now++);
    tls_gap(f->s, 0, PLAINTEXT_LIMIT, now++);
    assert_true(tls_done(f->s));
    fx_free(f);

    /* the wrong hello for the side is plaintext: a ServerHello-looking record
     * from the client does not start TLS */
    f = fx_new(NULL);
    tls_set_client_side(f->s, 0);
    m.n = 0;
    pre.n = 0;
    put_str(&pre, "HELO\r\n");
    sh_msg(&m, 0xc02f, false, false);
    hs_rec(&pre, &m);
    feed(f, 0, &pre);
    assert_false(f->c.is_tls);
    assert_false(f->c.sh.present);
    feed(f, 0, &cl);   /* the real ClientHello after it */
    assert_int_equal(f->c.n_ch, 1);
    assert_int_equal(f->c.plaintext_prefix[DIR_CLIENT], pre.n);
    fx_free(f);

    /* implausible hello lengths are plaintext too: hello body shorter than a
     * ServerHello, record length 0, version 3.5 */
    static const uint8_t bad[][11] = {
        {22, 3, 1, 0, 40, 1, 0, 0, 37, 3, 3},
        {22, 3, 1, 0, 0, 1, 0, 0, 60, 3, 3},
        {22, 3, 5, 0, 64, 1, 0, 0, 60, 3, 3},
        {22, 3, 1, 0, 64, 1, 0, 0, 60, 2, 3},
        {22, 3, 1, 0, 64, 1, 0, 0, 60, 3, 5},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f = fx_new(NULL);
        tls_set_client_side(f->s, 0);
        tls_feed(f->s, 0, (const uint8_t *)"AUTH\r\n", 6, now++);
        tls_feed(f->s, 0, bad[i], sizeof(bad[i]), now++);
        assert_false(f->c.is_tls);
        feed(f, 0, &cl);
        assert_int_equal(f->c.n_ch, 1);
        assert_int_equal(f->c.plaintext_prefix[DIR_CLIENT], 6 + sizeof(bad[i]));
        fx_free(f);
    }

    /* the connection ends during the server's plaintext: the client's TLS
     * stands, the server side says what happened */
    f = fx_new(NULL);
    tls_set_client_side(f->s, 0);
    tls_feed(f->s, 1, (const uint8_t *)"220 go\r\n", 8, now++);
    tls_feed(f->s, 0, (const uint8_t *)"STARTTLS\r\n", 10, now++);
    feed(f, 0, &cl);
    tls_close(f->s, 1, true, now++);
    tls_finish(f->s);
    assert_true(f->c.is_tls);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    assert_int_equal(f->c.plaintext_prefix[DIR_SERVER], 8);
    assert_non_null(strstr(f->c.malformed_why[DIR_SERVER], "no TLS ServerHello"));
    assert_false(f->c.malformed[DIR_SERVER]);
    fx_free(f);

    /* a client speaking TLS from its first byte: the server's plaintext is
     * an answer, not a STARTTLS prefix (checked in test_not_tls too) */
    f = fx_new(NULL);
    tls_set_client_side(f->s, 0);
    feed(f, 0, &cl);
    tls_feed(f->s, 1, (const uint8_t *)"220 ok\r\n", 8, now++);
    assert_true(f->c.malformed[DIR_SERVER]);
    assert_false(f->c.starttls);
    fx_free(f);

    b_free(&cl);
    b_free(&m);
    b_free(&pre);
}

static void test_sslv2(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b msg = {0}, r = {0}, m = {0};

    (void)state;
    b_u8(&msg, 1);
    b_u16(&msg, 0x0301);
    b_u16(&msg, 9);
    b_u16(&msg, 0);
    b_u16(&msg, 32);
    b_u8(&msg, 0x01); b_u16(&msg, 0x0080);   /* SSL_CK_RC4_128_WITH_MD5 */
    b_u8(&msg, 0x00); b_u16(&msg, 0xc030);
    b_u8(&msg, 0x00); b_u16(&msg, 0x0035);
    b_fill(&msg, 32, 9);
    b_u8(&r, 0x80 | (unsigned)(msg.n >> 8));
    b_u8(&r, (unsigned)(msg.n & 0xff));
    b_put(&r, msg.p, msg.n);
    feed_chunks(f, 0, &r, 2);
    assert_int_equal(tls_client_side(f->s), 0);
    assert_int_equal(f->c.n_ch, 1);
    assert_true(f->c.ch[0].sslv2);
    assert_int_equal(f->c.ch[0].legacy_version, 0x0301);
    assert_int_equal(f->c.ch[0].n_suites, 2);
    assert_int_equal(f->c.ch[0].suites[0], 0xc030);
    assert_int_equal(f->c.ch[0].preferred_auth, AUTH_RSA);
    assert_int_equal(f->c.record_version, 0x0002);
    /* the server answers in TLS records; the client continues in TLS records */
    sh_msg(&m, 0x0035, false, false);
    b_free(&r);
    hs_rec(&r, &m);
    feed(f, 1, &r);
    assert_true(f->c.sh.present);
    assert_int_equal(f->c.sh.suite, 0x0035);
    assert_false(f->c.malformed[0] || f->c.malformed[1]);
    b_free(&msg);
    b_free(&r);
    b_free(&m);
    fx_free(f);
}

static void test_tls12_full(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b cl = {0}, sv = {0}, m = {0};
    static const uint8_t app[30] = {0};

    (void)state;
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    server_flight12(&sv, false);
    feed(f, 1, &sv);
    cl.n = 0;
    client_finish12(&cl);
    feed(f, 0, &cl);
    assert_true(f->c.ccs[0]);
    assert_true(f->c.finished[0]);
    assert_false(tls_done(f->s));
    sv.n = 0;
    server_finish12(&sv);
    feed_chunks(f, 1, &sv, 1);
    assert_true(f->c.finished[1]);
    assert_false(tls_done(f->s));   /* followed to the end of the connection */
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);
    tls_finish(f->s);   /* idempotent */
    assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);

    static const struct { uint8_t kind, from, type; } ladder[] = {
        {EV_HANDSHAKE, DIR_CLIENT, 1}, {EV_HANDSHAKE, DIR_SERVER, 2},
        {EV_HANDSHAKE, DIR_SERVER, 11}, {EV_HANDSHAKE, DIR_SERVER, 14},
        {EV_HANDSHAKE, DIR_CLIENT, 16}, {EV_CCS, DIR_CLIENT, 0},
        {EV_ENCRYPTED_HS, DIR_CLIENT, 20}, {EV_CCS, DIR_SERVER, 0},
        {EV_ENCRYPTED_HS, DIR_SERVER, 20},
    };
    assert_int_equal(f->c.n_events, 9);
    for (unsigned i = 0; i < 9; i++) {
        assert_int_equal(f->c.events[i].kind, ladder[i].kind);
        assert_int_equal(f->c.events[i].from, ladder[i].from);
        assert_int_equal(f->c.events[i].type, ladder[i].type);
    }
    assert_int_equal(f->c.sh.auth, AUTH_ECDSA);
    /* application data is seen once per side; a later encrypted alert
     * (close_notify) does not turn the outcome */
    cl.n = 0;
    rec(&cl, 23, app, sizeof(app));
    rec(&cl, 23, app, sizeof(app));
    rec(&cl, 21, app, 26);
    feed(f, 0, &cl);
    assert_true(f->c.appdata[0]);
    assert_false(f->c.appdata[1]);
    assert_int_equal(f->c.n_events, 11);
    assert_true(f->c.alerts[0].encrypted);
    tls_close(f->s, 0, true, now++);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);
    b_free(&cl);
    b_free(&sv);
    b_free(&m);
    fx_free(f);
}

static void test_unknown_ca(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b cl = {0}, sv = {0}, m = {0};
    static const uint8_t alert[] = {2, 48};

    (void)state;
    tls_set_client_side(f->s, 0);
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    server_flight12(&sv, true);
    feed(f, 1, &sv);
    cl.n = 0;
    rec(&cl, 21, alert, 2);
    feed(f, 0, &cl);
    assert_int_equal(f->c.n_alerts, 1);
    assert_int_equal(f->c.alerts[0].from, DIR_CLIENT);
    assert_false(f->c.alerts[0].encrypted);
    assert_int_equal(f->c.alerts[0].level, 2);
    assert_int_equal(f->c.alerts[0].description, 48);
    assert_int_equal(f->c.alerts[0].after_msg, 14);   /* ServerHelloDone */
    assert_int_equal(f->c.alerts[0].after_msg_from, DIR_SERVER);
    assert_true(has_event(&f->c, EV_ALERT, DIR_CLIENT, 48));
    assert_int_equal(f->c.events[f->c.n_events - 1].level, 2);
    assert_false(tls_done(f->s));   /* followed to the end of the connection */
    tls_close(f->s, 0, false, now++);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    assert_true(has_event(&f->c, EV_FIN, DIR_CLIENT, -1));
    b_free(&cl);
    b_free(&sv);
    b_free(&m);
    fx_free(f);
}

static void test_encrypted_alert(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b cl = {0}, sv = {0}, m = {0};
    static const uint8_t ccs[] = {1};
    uint8_t enc[26];

    (void)state;
    memset(enc, 0x33, sizeof(enc));
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    server_flight12(&sv, false);
    feed(f, 1, &sv);
    cl.n = 0;
    client_finish12(&cl);
    feed(f, 0, &cl);
    sv.n = 0;
    rec(&sv, 20, ccs, 1);
    rec(&sv, 21, enc, sizeof(enc));   /* decrypt_error or similar, encrypted */
    feed(f, 1, &sv);
    assert_int_equal(f->c.n_alerts, 1);
    assert_true(f->c.alerts[0].encrypted);
    assert_int_equal(f->c.alerts[0].from, DIR_SERVER);
    assert_int_equal(f->c.alerts[0].level, 0);
    assert_int_equal(f->c.alerts[0].description, 0);
    assert_int_equal(f->c.alerts[0].after_msg, TLS_HS_FINISHED);
    assert_int_equal(f->c.alerts[0].after_msg_from, DIR_CLIENT);
    assert_true(has_event(&f->c, EV_ALERT, DIR_SERVER, 0));
    assert_false(f->c.finished[1]);
    assert_false(tls_done(f->s));   /* followed to the end of the connection */
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    b_free(&cl);
    b_free(&sv);
    b_free(&m);
    fx_free(f);
}

/* Client hello + server ServerHello(1.3) + CCS + opaque flight. */
static void start13(struct fx *f)
{
    struct b cl = {0}, sv = {0}, m = {0};
    static const uint8_t ccs[] = {1};
    uint8_t enc[60];

    memset(enc, 0x77, sizeof(enc));
    ch_msg(&m, true, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    m.n = 0;
    sh_msg(&m, 0x1301, true, false);
    hs_rec(&sv, &m);
    rec(&sv, 20, ccs, 1);
    for (int i = 0; i < 4; i++)
        rec(&sv, 23, enc, sizeof(enc));   /* EE, Certificate, CV, Finished */
    feed(f, 1, &sv);
    b_free(&cl);
    b_free(&sv);
    b_free(&m);
}

static void test_tls13(void **state)
{
    struct fx *f;
    struct b cl = {0};
    static const uint8_t ccs[] = {1}, alert[] = {2, 48};
    uint8_t enc[53];

    (void)state;
    memset(enc, 0x11, sizeof(enc));
    f = fx_new(NULL);
    start13(f);
    assert_true(f->c.tls13);
    assert_int_equal(f->c.sh.version, 0x0304);
    assert_int_equal(f->c.sh.auth, AUTH_ANY);
    assert_false(f->c.ccs[1]);   /* middlebox-compat CCS changes nothing */
    assert_true(has_event(&f->c, EV_CCS, DIR_SERVER, -1));
    assert_true(has_event(&f->c, EV_ENCRYPTED_HS, DIR_SERVER, -1));
    assert_false(f->c.server_cert_msg_seen);
    assert_false(tls_done(f->s));
    rec(&cl, 20, ccs, 1);
    rec(&cl, 23, enc, sizeof(enc));   /* client Finished */
    feed(f, 0, &cl);
    assert_false(f->c.ccs[0]);
    assert_true(has_event(&f->c, EV_ENCRYPTED_HS, DIR_CLIENT, -1));
    assert_false(tls_done(f->s));   /* could still be an encrypted alert */
    cl.n = 0;
    rec(&cl, 23, enc, sizeof(enc));   /* application data */
    feed(f, 0, &cl);
    assert_false(tls_done(f->s));   /* followed to the end of the connection */
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_ENCRYPTED);
    assert_int_equal(f->c.n_alerts, 0);
    fx_free(f);

    /* the client answers with one record then resets: failed */
    f = fx_new(NULL);
    start13(f);
    cl.n = 0;
    rec(&cl, 23, enc, 19);
    feed(f, 0, &cl);
    tls_close(f->s, 0, true, now++);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    assert_true(has_event(&f->c, EV_RST, DIR_CLIENT, -1));
    fx_free(f);

    /* ... or the server sends more (session tickets): encrypted, even with a reset later */
    f = fx_new(NULL);
    start13(f);
    feed(f, 0, &cl);
    struct b sv = {0};
    rec(&sv, 23, enc, sizeof(enc));
    feed(f, 1, &sv);
    assert_false(tls_done(f->s));   /* followed to the end of the connection */
    tls_close(f->s, 1, true, now++);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_ENCRYPTED);
    fx_free(f);
    b_free(&sv);

    /* a plaintext alert from the client is readable: failed */
    f = fx_new(NULL);
    start13(f);
    cl.n = 0;
    rec(&cl, 21, alert, 2);
    feed(f, 0, &cl);
    assert_int_equal(f->c.n_alerts, 1);
    assert_false(f->c.alerts[0].encrypted);
    assert_int_equal(f->c.alerts[0].description, 48);
    assert_int_equal(f->c.alerts[0].after_msg, 2);   /* after the ServerHello */
    assert_false(tls_done(f->s));   /* followed to the end of the connection */
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    fx_free(f);

    /* a client CCS sent before the ServerHello (compat mode) is undone */
    f = fx_new(NULL);
    {
        struct b m = {0}, c2 = {0}, s2 = {0};
        ch_msg(&m, true, 1);
        hs_rec(&c2, &m);
        rec(&c2, 20, ccs, 1);
        feed(f, 0, &c2);
        assert_true(f->c.ccs[0]);
        m.n = 0;
        sh_msg(&m, 0x1302, true, false);
        hs_rec(&s2, &m);
        feed(f, 1, &s2);
        assert_false(f->c.ccs[0]);
        assert_true(f->c.tls13);
        b_free(&m);
        b_free(&c2);
        b_free(&s2);
    }
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_INCOMPLETE);
    fx_free(f);
    b_free(&cl);
}

static void test_hrr(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b cl = {0}, sv = {0}, m = {0};
    static const uint8_t ccs[] = {1};
    uint8_t enc[40];

    (void)state;
    memset(enc, 1, sizeof(enc));
    ch_msg(&m, true, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    m.n = 0;
    sh_msg(&m, 0x1302, true, true);
    hs_rec(&sv, &m);
    rec(&sv, 20, ccs, 1);
    feed(f, 1, &sv);
    assert_true(f->c.sh_hrr.present);
    assert_true(f->c.sh_hrr.hrr);
    assert_false(f->c.sh.present);
    assert_true(f->c.tls13);
    cl.n = 0;
    m.n = 0;
    rec(&cl, 20, ccs, 1);
    ch_msg(&m, true, 2);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    assert_int_equal(f->c.n_ch, 2);
    assert_int_equal(f->c.ch[1].n_versions, 2);
    sv.n = 0;
    m.n = 0;
    sh_msg(&m, 0x1302, true, false);
    hs_rec(&sv, &m);
    rec(&sv, 23, enc, sizeof(enc));
    feed(f, 1, &sv);
    assert_true(f->c.sh.present);
    assert_false(f->c.sh.hrr);
    assert_int_equal(f->c.sh.suite, 0x1302);
    /* a third hello is only counted */
    cl.n = 0;
    m.n = 0;
    ch_msg(&m, false, 3);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    assert_true(f->c.ch_more);
    assert_int_equal(f->c.n_ch, 2);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_ENCRYPTED);
    b_free(&cl);
    b_free(&sv);
    b_free(&m);
    fx_free(f);
}

static void test_rst_and_close(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b cl = {0}, sv = {0}, m = {0};

    (void)state;
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    server_flight12(&sv, false);
    feed(f, 1, &sv);
    tls_close(f->s, 1, true, now++);
    assert_true(has_event(&f->c, EV_RST, DIR_SERVER, -1));
    assert_true(tls_done(f->s));   /* nothing follows a reset */
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    fx_free(f);

    /* FIN both ways without Finished: done, incomplete */
    f = fx_new(NULL);
    feed(f, 0, &cl);
    tls_close(f->s, 0, false, now++);
    assert_false(tls_done(f->s));
    tls_close(f->s, 1, false, now++);
    assert_true(tls_done(f->s));
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_INCOMPLETE);
    fx_free(f);

    /* nothing at all */
    f = fx_new(NULL);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_INCOMPLETE);
    assert_false(f->c.is_tls);
    fx_free(f);
    b_free(&cl);
    b_free(&sv);
    b_free(&m);
}

static void test_gaps(void **state)
{
    struct fx *f;
    struct b cl = {0}, sv = {0}, m = {0}, shd = {0}, body = {0};

    (void)state;
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    m.n = 0;
    hs(&m, 14, NULL);
    hs_rec(&shd, &m);

    /* gap inside a Certificate record: that record is lost, the next one parses */
    f = fx_new(NULL);
    feed(f, 0, &cl);
    m.n = 0;
    b_fill(&body, 1990, 0);
    hs(&m, 11, &body);
    hs_rec(&sv, &m);
    tls_feed(f->s, 1, sv.p, 105, now++);
    tls_gap(f->s, 1, 500, now++);
    tls_feed(f->s, 1, sv.p + 605, sv.n - 605, now++);
    feed(f, 1, &shd);
    assert_true(has_event(&f->c, EV_GAP, DIR_SERVER, -1));
    assert_false(f->c.server_cert_msg_seen);
    assert_true(has_event(&f->c, EV_HANDSHAKE, DIR_SERVER, 14));
    assert_false(f->c.malformed[1]);
    fx_free(f);

    /* gap inside a record header: the direction gives up */
    f = fx_new(NULL);
    feed(f, 0, &cl);
    tls_feed(f->s, 1, shd.p, 3, now++);
    tls_gap(f->s, 1, 10, now++);
    feed(f, 1, &shd);
    assert_true(f->c.malformed[1]);
    assert_non_null(strstr(f->c.malformed_why[1], "gap of 10 bytes"));
    assert_false(has_event(&f->c, EV_HANDSHAKE, DIR_SERVER, 14));
    fx_free(f);

    /* gap past the end of a record: resynchronise on the next header */
    f = fx_new(NULL);
    feed(f, 0, &cl);
    tls_feed(f->s, 1, sv.p, 105, now++);
    tls_gap(f->s, 1, sv.n - 105 + 700, now++);
    tls_feed(f->s, 1, (const uint8_t *)"\x01\x02\x16\x03", 4, now++);
    feed_chunks(f, 1, &shd, 1);
    assert_true(has_event(&f->c, EV_HANDSHAKE, DIR_SERVER, 14));
    assert_false(f->c.malformed[1]);
    fx_free(f);

    /* gap between records */
    f = fx_new(NULL);
    feed(f, 0, &cl);
    m.n = 0;
    sh_msg(&m, 0xc02f, false, false);
    b_free(&sv);
    hs_rec(&sv, &m);
    feed(f, 1, &sv);
    tls_gap(f->s, 1, 1000, now++);
    tls_gap(f->s, 1, 10, now++);
    feed(f, 1, &shd);
    assert_true(f->c.sh.present);
    assert_true(has_event(&f->c, EV_HANDSHAKE, DIR_SERVER, 14));
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_INCOMPLETE);
    fx_free(f);

    /* gap in the middle of a message spanning records: later messages that
     * continue it are dropped, the stream picks up at a record boundary */
    f = fx_new(NULL);
    feed(f, 0, &cl);
    m.n = 0;
    body.n = 0;
    b_fill(&body, 300, 0);
    hs(&m, 11, &body);
    sv.n = 0;
    rec(&sv, 22, m.p, 100);
    feed(f, 1, &sv);
    tls_gap(f->s, 1, 105, now++);   /* exactly the next record */
    sv.n = 0;
    rec(&sv, 22, m.p + 200, m.n - 200);   /* tail of the Certificate */
    feed(f, 1, &sv);
    feed(f, 1, &shd);
    assert_false(f->c.server_cert_msg_seen);
    assert_true(has_event(&f->c, EV_HANDSHAKE, DIR_SERVER, 14));
    assert_false(f->c.malformed[1]);
    fx_free(f);

    b_free(&cl);
    b_free(&sv);
    b_free(&m);
    b_free(&shd);
    b_free(&body);
}

static void test_alert_capacity(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b cl = {0}, sv = {0}, m = {0};

    (void)state;
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    static const uint8_t warn[2] = {1, 100};   /* warning no_renegotiation */
    for (int i = 0; i < CONN_MAX_ALERTS + 1; i++)
        rec(&sv, 21, warn, 2);
    feed(f, 1, &sv);
    assert_int_equal(f->c.n_alerts, CONN_MAX_ALERTS);
    assert_true(f->c.alerts_truncated);
    assert_false(tls_done(f->s));   /* warnings are not fatal */
    assert_int_equal(f->c.alerts[0].level, 1);
    assert_int_equal(f->c.alerts[0].after_msg, 1);
    b_free(&cl);
    b_free(&sv);
    b_free(&m);
    fx_free(f);
}

/* Issue 17: a connection is followed to its end.  After a TLS 1.2
 * handshake only record headers are read: the closing alerts are listed,
 * encrypted, with how long after application data they came. */
static void test_follow_to_end(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b cl = {0}, sv = {0}, m = {0};
    uint8_t enc[26];

    (void)state;
    memset(enc, 0x3c, sizeof(enc));
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    server_flight12(&sv, false);
    feed(f, 1, &sv);
    cl.n = 0;
    client_finish12(&cl);
    feed(f, 0, &cl);
    sv.n = 0;
    server_finish12(&sv);
    feed(f, 1, &sv);
    assert_false(tls_done(f->s));
    cl.n = 0;
    rec(&cl, 23, enc, sizeof(enc));   /* application data */
    now += 5000;
    rec(&cl, 21, enc, sizeof(enc));   /* close_notify, encrypted */
    feed(f, 0, &cl);
    sv.n = 0;
    rec(&sv, 21, enc, sizeof(enc));
    feed(f, 1, &sv);
    assert_int_equal(f->c.n_alerts, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(f->c.alerts[i].from, i == 0 ? DIR_CLIENT : DIR_SERVER);
        assert_true(f->c.alerts[i].encrypted);
        assert_false(f->c.alerts[i].inferred);
        assert_true(f->c.alerts[i].after_appdata);
        assert_int_equal(f->c.alerts[i].after_msg, TLS_HS_FINISHED);
    }
    assert_true(f->c.alerts[1].after_appdata_us > f->c.alerts[0].after_appdata_us);
    assert_false(tls_done(f->s));
    tls_close(f->s, 0, false, now++);
    assert_false(tls_done(f->s));
    tls_close(f->s, 1, false, now++);
    assert_true(tls_done(f->s));
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);   /* closing alerts do not fail it */
    b_free(&cl);
    b_free(&sv);
    b_free(&m);
    fx_free(f);
}

/* Issue 17: an alert record longer than 2 bytes is a protected one (here a
 * capture that starts after the handshake), not a run of plaintext alerts,
 * and without a hello it fails nothing. */
static void test_long_alert_is_encrypted(void **state)
{
    struct fx *f = fx_new(NULL);
    struct b r = {0};
    uint8_t enc[26];

    (void)state;
    for (size_t i = 0; i < sizeof(enc); i++)
        enc[i] = (uint8_t)(0xb1 + 37 * i);   /* "level 177 unknown (58)" and friends */
    tls_set_client_side(f->s, 0);
    rec(&r, 23, enc, sizeof(enc));
    rec(&r, 21, enc, sizeof(enc));
    feed(f, 0, &r);
    assert_true(f->c.is_tls);
    assert_int_equal(f->c.n_alerts, 1);
    assert_true(f->c.alerts[0].encrypted);
    assert_int_equal(f->c.alerts[0].from, DIR_CLIENT);
    tls_close(f->s, 0, false, now++);
    tls_close(f->s, 1, false, now++);
    tls_finish(f->s);
    assert_int_not_equal(f->c.outcome, OUTCOME_FAILED);
    b_free(&r);
    fx_free(f);
}

/* A TLS 1.3 server flight of realistic record sizes (AES-128-GCM,
 * SHA-256: a 16-byte tag, a 32-byte Finished): EncryptedExtensions,
 * Certificate, CertificateVerify with a `sig`-byte signature, Finished. */
static void start13_sized(struct fx *f, size_t sig)
{
    struct b cl = {0}, sv = {0}, m = {0};
    static const uint8_t ccs[] = {1};
    static uint8_t enc[1024];
    const size_t lens[4] = {6 + 21, 900, 4 + 2 + 2 + sig + 1 + 16, 4 + 32 + 1 + 16};

    memset(enc, 0x77, sizeof(enc));
    ch_msg(&m, true, 1);
    hs_rec(&cl, &m);
    feed(f, 0, &cl);
    m.n = 0;
    sh_msg(&m, 0x1301, true, false);
    hs_rec(&sv, &m);
    rec(&sv, 20, ccs, 1);
    for (int i = 0; i < 4; i++)
        rec(&sv, 23, enc, lens[i]);
    feed(f, 1, &sv);
    b_free(&cl);
    b_free(&sv);
    b_free(&m);
}

/* Issue 17: TLS 1.3 without keys, read from the record sizes and order,
 * and marked inferred. */
static void test_tls13_inferred(void **state)
{
    struct fx *f;
    struct b cl = {0}, sv = {0};
    static uint8_t enc[600];

    (void)state;
    memset(enc, 0x5e, sizeof(enc));
    /* The client aborts on the server's flight (RSA-2048 CertificateVerify):
     * its only record is alert-sized. */
    f = fx_new(NULL);
    start13_sized(f, 256);
    rec(&cl, 23, enc, 19);
    feed(f, 0, &cl);
    tls_close(f->s, 0, true, now++);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    assert_true(f->c.outcome_inferred);
    assert_int_equal(f->c.n_alerts, 1);
    assert_true(f->c.alerts[0].inferred && f->c.alerts[0].encrypted);
    assert_int_equal(f->c.alerts[0].from, DIR_CLIENT);
    assert_int_equal(f->c.inferred_server_key, KEY_GUESS_RSA);
    assert_int_equal(f->c.inferred_sig_len, 256);
    assert_true(has_event(&f->c, EV_ALERT, DIR_CLIENT, -1));
    fx_free(f);

    /* mutual TLS rejected: the client's flight carries a certificate, the
     * server answers with one alert-sized record (ECDSA P-256 server). */
    f = fx_new(NULL);
    start13_sized(f, 71);
    cl.n = 0;
    rec(&cl, 23, enc, 500);            /* Certificate */
    rec(&cl, 23, enc, 4 + 2 + 2 + 256 + 17);   /* CertificateVerify */
    rec(&cl, 23, enc, 4 + 32 + 17);    /* Finished */
    feed(f, 0, &cl);
    rec(&sv, 23, enc, 19);
    feed(f, 1, &sv);
    tls_close(f->s, 1, false, now++);
    tls_close(f->s, 0, true, now++);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    assert_true(f->c.outcome_inferred);
    assert_true(f->c.inferred_client_cert);
    assert_int_equal(f->c.n_alerts, 1);
    assert_int_equal(f->c.alerts[0].from, DIR_SERVER);
    assert_true(f->c.alerts[0].inferred);
    assert_int_equal(f->c.inferred_server_key, KEY_GUESS_EC);
    fx_free(f);

    /* complete: tickets and data both ways after the client's Finished,
     * closing alerts at the end */
    f = fx_new(NULL);
    start13_sized(f, 256);
    cl.n = 0;
    rec(&cl, 23, enc, 4 + 32 + 17);    /* Finished */
    feed(f, 0, &cl);
    sv.n = 0;
    rec(&sv, 23, enc, 250);            /* NewSessionTicket */
    feed(f, 1, &sv);
    cl.n = 0;
    rec(&cl, 23, enc, 120);            /* request */
    feed(f, 0, &cl);
    sv.n = 0;
    rec(&sv, 23, enc, 300);            /* response */
    rec(&sv, 23, enc, 19);             /* close_notify */
    feed(f, 1, &sv);
    tls_close(f->s, 1, false, now++);
    tls_close(f->s, 0, false, now++);
    tls_finish(f->s);
    assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);
    assert_true(f->c.outcome_inferred);
    assert_int_equal(f->c.n_alerts, 0);
    tls_finish(f->s);                  /* idempotent: no second inferred anything */
    assert_int_equal(f->c.n_alerts, 0);
    fx_free(f);

    /* a flight in one record says nothing about the key */
    f = fx_new(NULL);
    start13(f);
    tls_finish(f->s);
    assert_int_equal(f->c.inferred_server_key, KEY_GUESS_NONE);
    assert_false(f->c.outcome_inferred);
    fx_free(f);
    b_free(&cl);
    b_free(&sv);
}

/* One TLS 1.3 connection without keys after start13_sized (AES-128-GCM):
 * the client's records, then the server's, then both FIN; the outcome. */
static struct fx *tls13_after(const size_t *cli, size_t ncli, const size_t *srv, size_t nsrv)
{
    struct fx *f = fx_new(NULL);
    struct b cl = {0}, sv = {0};
    static uint8_t enc[1200];

    memset(enc, 0x6b, sizeof(enc));
    start13_sized(f, 256);
    for (size_t i = 0; i < ncli; i++)
        rec(&cl, 23, enc, cli[i]);
    feed(f, 0, &cl);
    for (size_t i = 0; i < nsrv; i++)
        rec(&sv, 23, enc, srv[i]);
    if (nsrv > 0)
        feed(f, 1, &sv);
    tls_close(f->s, 0, false, now++);
    tls_close(f->s, 1, false, now++);
    tls_finish(f->s);
    b_free(&cl);
    b_free(&sv);
    return f;
}

/* The field sweep's rules (scen_post13.c fixtures): an alert is 19 bytes
 * (with a 16-byte tag) or a padding block, a KeyUpdate (22) is not; what
 * the server does after the client's flight decides the outcome; the
 * client's first record tells a certificate from an empty one. */
static void test_tls13_inferred_rules(void **state)
{
    struct fx *f;
    (void)state;

    f = fx_new(NULL);
    start13_sized(f, 256);
    assert_true(tls_infer_alert_sized(f->s, 19));     /* 2 + type + tag */
    assert_false(tls_infer_alert_sized(f->s, 22));    /* KeyUpdate: 4 + 1 + type + tag */
    assert_false(tls_infer_alert_sized(f->s, 18));
    assert_false(tls_infer_alert_sized(f->s, 25));    /* an empty Certificate */
    assert_true(tls_infer_alert_sized(f->s, 16 + 32));   /* padded to 32 */
    assert_true(tls_infer_alert_sized(f->s, 16 + 64));   /* padded to 64 */
    assert_false(tls_infer_alert_sized(f->s, 16 + 48));  /* not a block */
    assert_false(tls_infer_alert_sized(f->s, 16 + 256)); /* a padded ticket, not an alert */
    fx_free(f);

    /* no tickets, the client closes right after its Finished, the server
     * answers with its close_notify: complete, not a rejection */
    static const size_t close_c[] = {53, 19}, close_s[] = {19};
    f = tls13_after(close_c, 2, close_s, 1);
    assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);
    assert_false(f->c.inferred_client_cert);
    assert_int_equal(f->c.n_alerts, 0);                /* closing, not aborting: none inferred */
    fx_free(f);

    /* only the client sends data, then closes; the server only closes */
    static const size_t data_c[] = {53, 120, 19};
    f = tls13_after(data_c, 3, close_s, 1);
    assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);
    fx_free(f);

    /* a KeyUpdate is neither an alert nor a close: after a client Finished
     * and KeyUpdate, one server alert-sized record is not told */
    static const size_t ku_c[] = {53, 22};
    f = tls13_after(ku_c, 2, close_s, 1);
    assert_int_not_equal(f->c.outcome, OUTCOME_FAILED);
    assert_int_equal(f->c.n_alerts, 0);
    fx_free(f);

    /* ... nor does a server KeyUpdate show the server went on */
    static const size_t fin_c[] = {53}, ku_s[] = {22, 19};
    f = tls13_after(fin_c, 1, ku_s, 2);
    assert_int_not_equal(f->c.outcome, OUTCOME_COMPLETE);
    assert_int_not_equal(f->c.outcome, OUTCOME_FAILED);
    fx_free(f);

    /* tickets after the client's flight: complete, whatever the client did */
    static const size_t nst_s[] = {250, 250, 19};
    f = tls13_after(close_c, 2, nst_s, 3);
    assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);
    fx_free(f);

    /* an empty Certificate (asked, the client had none), then the server's
     * alert: failed, but no client certificate was rejected */
    static const size_t empty_c[] = {25, 53};
    f = tls13_after(empty_c, 2, close_s, 1);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    assert_true(f->c.inferred_empty_client_cert);
    assert_false(f->c.inferred_client_cert);
    assert_int_equal(f->c.n_alerts, 1);
    assert_int_equal(f->c.alerts[0].from, DIR_SERVER);
    fx_free(f);

    /* the client sends its request right after its certificate flight and
     * the server rejects the certificate: still the server's rejection */
    static const size_t cert_c[] = {1089, 281, 53, 120};
    f = tls13_after(cert_c, 4, close_s, 1);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    assert_true(f->c.inferred_client_cert);
    fx_free(f);

    /* what the extract (-w) keeps: the handshake is not over for it while
     * the server has not gone on after the client's flight, even when the
     * client sent two records (Finished, KeyUpdate) */
    {
        struct b cl = {0}, sv = {0};
        static uint8_t enc[300];

        f = fx_new(NULL);
        start13_sized(f, 256);
        rec(&cl, 23, enc, 53);
        rec(&cl, 23, enc, 22);
        feed(f, 0, &cl);
        assert_false(tls_handshake_over(f->s));
        rec(&sv, 23, enc, 22);             /* the server's KeyUpdate: not yet */
        feed(f, 1, &sv);
        assert_false(tls_handshake_over(f->s));
        sv.n = 0;
        rec(&sv, 23, enc, 250);            /* a ticket: the server went on */
        feed(f, 1, &sv);
        assert_true(tls_handshake_over(f->s));
        fx_free(f);
        b_free(&cl);
        b_free(&sv);
    }

    /* a padded flight (64-byte blocks): the Finished and the alert have one
     * size; a padded certificate-sized first record below 512 bytes is not
     * taken for a certificate */
    static const size_t pad_c[] = {16 + 64}, pad_s[] = {16 + 256, 16 + 64};
    f = tls13_after(pad_c, 1, pad_s, 2);
    assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);  /* the server went on: tickets */
    fx_free(f);
    /* mutual TLS rejected, everything padded: the client's padded Finished
     * has an alert's size but ends a certificate flight, it is no close */
    static const size_t padrej_c[] = {16 + 1088, 16 + 320, 16 + 64}, padrej_s[] = {16 + 64};
    f = tls13_after(padrej_c, 3, padrej_s, 1);
    assert_int_equal(f->c.outcome, OUTCOME_FAILED);
    assert_true(f->c.inferred_client_cert);
    fx_free(f);
    static const size_t padcert_c[] = {16 + 320, 16 + 64};
    f = tls13_after(padcert_c, 2, close_s, 1);
    assert_false(f->c.inferred_client_cert);
    assert_int_not_equal(f->c.outcome, OUTCOME_FAILED);
    fx_free(f);
}

/* A hello message whose body gets a 32-byte session ID (hand-made: the
 * resumption logic only, see issue 17 for the fixture still missing). */
static void hello_with_sid(struct b *out, unsigned type, const struct b *body0, uint8_t fill)
{
    struct b body = {0};

    b_put(&body, body0->p, 34);          /* version, random */
    b_u8(&body, 32);
    b_fill(&body, 32, fill);
    b_put(&body, body0->p + 35, body0->n - 35);
    hs(out, type, &body);
    b_free(&body);
}

/* Issue 17: a TLS 1.2 server that answers its ServerHello with
 * ChangeCipherSpec resumed the session (RFC 5246 7.3): no certificate
 * claim, resumed by session ID (echoed) or by ticket. */
static void test_resumption12(void **state)
{
    static const uint8_t ccs[] = {1};
    uint8_t fin[40];

    (void)state;
    memset(fin, 0x5a, sizeof(fin));
    for (int echo = 0; echo < 2; echo++) {
        struct fx *f = fx_new(NULL);
        struct b cl = {0}, sv = {0}, m = {0}, body = {0};

        ch_body(&body, false, 1);
        hello_with_sid(&m, 1, &body, 0x33);
        hs_rec(&cl, &m);
        feed(f, 0, &cl);
        body.n = 0;
        m.n = 0;
        b_u16(&body, 0x0303);
        b_fill(&body, 32, 0x40);
        b_u8(&body, 0);
        b_u16(&body, 0xc02c);
        b_u8(&body, 0);
        hello_with_sid(&m, 2, &body, echo ? 0x33 : 0x44);
        hs_rec(&sv, &m);
        rec(&sv, 20, ccs, 1);
        rec(&sv, 22, fin, sizeof(fin));
        feed(f, 1, &sv);
        cl.n = 0;
        rec(&cl, 20, ccs, 1);
        rec(&cl, 22, fin, sizeof(fin));
        feed(f, 0, &cl);
        tls_close(f->s, 0, false, now++);
        tls_close(f->s, 1, false, now++);
        tls_finish(f->s);
        assert_int_equal(f->c.outcome, OUTCOME_COMPLETE);
        assert_int_equal(f->c.n_server_certs, 0);
        /* no ticket in this ClientHello: resumed by session ID either way */
        assert_int_equal(f->c.resumed, RESUMED_SESSION_ID);
        b_free(&cl);
        b_free(&sv);
        b_free(&m);
        b_free(&body);
        fx_free(f);
    }

    /* a full handshake is not a resumption */
    {
        struct fx *f = fx_new(NULL);
        struct b cl = {0}, sv = {0}, m = {0};

        ch_msg(&m, false, 1);
        hs_rec(&cl, &m);
        feed(f, 0, &cl);
        server_flight12(&sv, false);
        feed(f, 1, &sv);
        sv.n = 0;
        server_finish12(&sv);
        feed(f, 1, &sv);
        tls_finish(f->s);
        assert_int_equal(f->c.resumed, RESUMED_NO);
        b_free(&cl);
        b_free(&sv);
        b_free(&m);
        fx_free(f);
    }
}

/* Every prefix of a full TLS 1.2 exchange, and the exchange at every split
 * point: no crash, and facts only once their bytes are complete. */
static void test_prefixes(void **state)
{
    struct b cl = {0}, sv = {0}, m = {0};
    size_t sh_end;

    (void)state;
    ch_msg(&m, false, 1);
    hs_rec(&cl, &m);
    m.n = 0;
    sh_msg(&m, 0xc02c, false, false);
    hs_rec(&sv, &m);
    sh_end = sv.n;
    server_flight12(&sv, true);
    server_finish12(&sv);
    for (size_t k = 0; k <= sv.n; k++) {
        struct fx *f = fx_new(NULL);
        feed(f, 0, &cl);
        tls_feed(f->s, 1, sv.p, k, now++);
        assert_int_equal(f->c.sh.present, k >= sh_end);
        assert_false(f->c.malformed[1]);
        if (k < sv.n)
            tls_feed(f->s, 1, sv.p + k, sv.n - k, now++);
        assert_true(f->c.finished[1]);
        assert_int_equal(f->c.n_server_certs, 1);
        fx_free(f);
    }
    b_free(&cl);
    b_free(&sv);
    b_free(&m);
}

static int setup(void **state)
{
    (void)state;
    return tls_names_new(&names);
}

static int teardown(void **state)
{
    (void)state;
    tls_names_free(names);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ch_bytewise),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_records_and_messages),
        cmocka_unit_test(test_big_chain),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_not_tls),
        cmocka_unit_test(test_starttls),
        cmocka_unit_test(test_starttls_edges),
        cmocka_unit_test(test_sslv2),
        cmocka_unit_test(test_tls12_full),
        cmocka_unit_test(test_unknown_ca),
        cmocka_unit_test(test_encrypted_alert),
        cmocka_unit_test(test_tls13),
        cmocka_unit_test(test_hrr),
        cmocka_unit_test(test_rst_and_close),
        cmocka_unit_test(test_gaps),
        cmocka_unit_test(test_alert_capacity),
        cmocka_unit_test(test_follow_to_end),
        cmocka_unit_test(test_long_alert_is_encrypted),
        cmocka_unit_test(test_tls13_inferred),
        cmocka_unit_test(test_tls13_inferred_rules),
        cmocka_unit_test(test_resumption12),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
