/* test_tls12_decrypt.c - TLS 1.0-1.2 key block and record opening against real OpenSSL sessions over memory BIOs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pcap/pcap.h>
#include <zlib.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/cur.h"
#include "tlsinspect/err.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls12_decrypt.h"
#include "tlsinspect/tls13_keylog.h"
#include "tlsinspect/tls_names.h"
#include "tlsinspect/x509.h"

#define WIRE_CAP   (64u * 1024u)   /* bytes one side sends in a test session */
#define MAX_RECS   64u
#define MAX_LINES  4u              /* key log lines kept (renegotiation adds one) */
#define MAX_CHUNKS 64u             /* BIO reads, in the order they crossed */

/* ---- fixtures: keys, certificates, the tls_names instance ---------------- */

struct fx {
    struct tls_names *names;
    EVP_PKEY *ec_key, *rsa_key;
    X509 *ec_cert, *rsa_cert;
};

static X509 *self_signed(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_NAME *name;

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    name = X509_get_subject_name(x);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)"tls12.test", -1, -1, 0), 1);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL || tls_names_new(&f->names) != TI_OK)
        return -1;
    f->ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    f->rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (f->ec_key == NULL || f->rsa_key == NULL)
        return -1;
    f->ec_cert = self_signed(f->ec_key);
    f->rsa_cert = self_signed(f->rsa_key);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    X509_free(f->ec_cert);
    X509_free(f->rsa_cert);
    EVP_PKEY_free(f->ec_key);
    EVP_PKEY_free(f->rsa_key);
    tls_names_free(f->names);
    free(f);
    return 0;
}

/* ---- a TLS session between two OpenSSL objects, bytes captured --------- */

struct rec {
    uint8_t hdr[5];
    const uint8_t *frag;
    size_t len;
};

struct sess {
    uint8_t wire[2][WIRE_CAP];       /* what each side sent, indexed by enum conn_dir */
    size_t wire_len[2];
    struct { uint8_t dir; size_t off, len; } chunks[MAX_CHUNKS];   /* wire order */
    size_t n_chunks;
    struct rec recs[2][MAX_RECS];
    size_t n_recs[2];
    char lines[MAX_LINES][256];      /* key log lines, in order */
    size_t n_lines;
    uint8_t master[48], cr[32], sr[32];  /* from OpenSSL's own accessors */
    uint8_t fin[2][64];              /* verify_data each side sent (SSL_get_finished) */
    size_t fin_len[2];
    uint8_t cr_reneg[32];            /* the renegotiation ClientHello's random */
    uint16_t suite, version;
    bool renegotiated;
};

static void keylog_cb(const SSL *ssl, const char *line)
{
    struct sess *s = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

    if (s->n_lines < MAX_LINES)
        snprintf(s->lines[s->n_lines++], sizeof(s->lines[0]), "%s", line);
}

/* Move what `from` wrote to `to`, keeping a copy. */
static void move(struct sess *s, enum conn_dir dir, BIO *from, BIO *to)
{
    uint8_t buf[4096];
    int n;

    while ((n = BIO_read(from, buf, sizeof(buf))) > 0) {
        assert_true(s->wire_len[dir] + (size_t)n <= WIRE_CAP);
        assert_true(s->n_chunks < MAX_CHUNKS);
        s->chunks[s->n_chunks].dir = (uint8_t)dir;
        s->chunks[s->n_chunks].off = s->wire_len[dir];
        s->chunks[s->n_chunks].len = (size_t)n;
        s->n_chunks++;
        memcpy(s->wire[dir] + s->wire_len[dir], buf, (size_t)n);
        s->wire_len[dir] += (size_t)n;
        assert_int_equal(BIO_write(to, buf, n), n);
    }
}

static void split_records(struct sess *s, enum conn_dir dir)
{
    struct cur c = cur_make(s->wire[dir], s->wire_len[dir]), frag = {NULL, NULL};

    s->n_recs[dir] = 0;
    while (!cur_done(&c)) {
        struct rec *r = &s->recs[dir][s->n_recs[dir]];
        struct cur h = {NULL, NULL};
        assert_true(s->n_recs[dir] < MAX_RECS);
        assert_int_equal(cur_bytes(&c, 5, &h), TI_OK);
        memcpy(r->hdr, h.p, 5);
        assert_int_equal(cur_bytes(&c, ti_be16(r->hdr + 3), &frag), TI_OK);
        r->frag = frag.p;
        r->len = ti_be16(r->hdr + 3);
        s->n_recs[dir]++;
    }
}

struct scase {
    const char *name;
    const char *ciphers;
    bool rsa;
    int version;              /* TLS1_VERSION .. TLS1_2_VERSION */
    bool no_etm;
    enum tls12_mode mode;
    bool etm;                 /* expected: encrypt-then-MAC negotiated */
    bool renegotiate;         /* client renegotiates after the application data */
};

static const char CLIENT_MSG[] = "GET / HTTP/1.0 from the client";
static const char SERVER_MSG[] = "HTTP/1.0 200 OK from the server";

/* Returns false when this OpenSSL build refuses the suite (CCM, NULL). */
static bool run_session(const struct fx *f, const struct scase *sc, struct sess *s)
{
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL *cli, *srv;
    BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
    BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
    uint8_t buf[256];
    bool ok = true;
    uint64_t opts = SSL_OP_NO_TICKET | SSL_OP_ALLOW_CLIENT_RENEGOTIATION;
    int n, i;

    memset(s, 0, sizeof(*s));
    assert_non_null(sctx);
    assert_non_null(cctx);
    if (sc->no_etm)
        opts |= SSL_OP_NO_ENCRYPT_THEN_MAC;
    SSL_CTX_set_options(sctx, opts);
    SSL_CTX_set_options(cctx, opts);
    for (i = 0; i < 2; i++) {
        SSL_CTX *ctx = i == 0 ? sctx : cctx;
        assert_int_equal(SSL_CTX_set_min_proto_version(ctx, sc->version), 1);
        assert_int_equal(SSL_CTX_set_max_proto_version(ctx, sc->version), 1);
        if (SSL_CTX_set_cipher_list(ctx, sc->ciphers) != 1)
            ok = false;
    }
    assert_int_equal(SSL_CTX_use_certificate(sctx, sc->rsa ? f->rsa_cert : f->ec_cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(sctx, sc->rsa ? f->rsa_key : f->ec_key), 1);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_app_data(cctx, s);
    SSL_CTX_set_keylog_callback(cctx, keylog_cb);
    cli = SSL_new(cctx);
    srv = SSL_new(sctx);
    assert_non_null(cli);
    assert_non_null(srv);
    SSL_set_bio(cli, c_in, c_out);
    SSL_set_bio(srv, s_in, s_out);
    SSL_set_connect_state(cli);
    SSL_set_accept_state(srv);

    for (i = 0; ok && i < 20 && !(SSL_is_init_finished(cli) && SSL_is_init_finished(srv)); i++) {
        if (SSL_do_handshake(cli) == 1 && SSL_do_handshake(srv) == 1)
            break;
        move(s, DIR_CLIENT, c_out, s_in);
        SSL_do_handshake(srv);
        move(s, DIR_SERVER, s_out, c_in);
    }
    if (!ok || !SSL_is_init_finished(cli) || !SSL_is_init_finished(srv)) {
        ok = false;
        goto out;
    }
    s->suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(cli));
    s->version = (uint16_t)SSL_version(cli);
    assert_int_equal(SSL_SESSION_get_master_key(SSL_get_session(cli), s->master, 48), 48);
    assert_int_equal(SSL_get_client_random(cli, s->cr, 32), 32);
    assert_int_equal(SSL_get_server_random(cli, s->sr, 32), 32);
    s->fin_len[DIR_CLIENT] = SSL_get_finished(cli, s->fin[DIR_CLIENT], 64);
    s->fin_len[DIR_SERVER] = SSL_get_finished(srv, s->fin[DIR_SERVER], 64);

    /* One application data exchange. */
    assert_int_equal(SSL_write(cli, CLIENT_MSG, (int)strlen(CLIENT_MSG)), (int)strlen(CLIENT_MSG));
    move(s, DIR_CLIENT, c_out, s_in);
    n = SSL_read(srv, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(CLIENT_MSG));
    assert_int_equal(SSL_write(srv, SERVER_MSG, (int)strlen(SERVER_MSG)), (int)strlen(SERVER_MSG));
    move(s, DIR_SERVER, s_out, c_in);
    n = SSL_read(cli, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(SERVER_MSG));

    if (sc->renegotiate) {
        /* RFC 5746: the new ClientHello travels under the current keys. */
        assert_int_equal(SSL_renegotiate(cli), 1);
        SSL_do_handshake(cli);
        move(s, DIR_CLIENT, c_out, s_in);
        assert_int_equal(SSL_get_client_random(cli, s->cr_reneg, 32), 32);
        s->renegotiated = true;
    } else {
        /* close_notify both ways (RFC 5246 7.2.1). */
        SSL_shutdown(cli);
        move(s, DIR_CLIENT, c_out, s_in);
        assert_true(SSL_read(srv, buf, sizeof(buf)) <= 0);
        SSL_shutdown(srv);
        move(s, DIR_SERVER, s_out, c_in);
    }
    split_records(s, DIR_CLIENT);
    split_records(s, DIR_SERVER);

out:
    SSL_free(cli);
    SSL_free(srv);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    return ok;
}

/* ---- helpers over the captured bytes ----------------------------------- */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

/* "CLIENT_RANDOM <64 hex> <96 hex>" into its random and master secret. */
static void parse_line(const char *line, uint8_t cr[32], uint8_t ms[48])
{
    static const char label[] = "CLIENT_RANDOM ";

    assert_int_equal(strncmp(line, label, strlen(label)), 0);
    assert_int_equal(strlen(line), strlen(label) + 64 + 1 + 96);
    unhex(line + strlen(label), cr, 32);
    assert_int_equal(line[strlen(label) + 64], ' ');
    unhex(line + strlen(label) + 65, ms, 48);
}

/* The first record of type 22 holds the hello: random at body offset 2. */
static void hello_random(const struct sess *s, enum conn_dir dir, uint8_t out[32])
{
    const struct rec *r = &s->recs[dir][0];

    assert_int_equal(r->hdr[0], 22);
    assert_true(r->len >= 4 + 2 + 32);
    assert_int_equal(r->frag[0], dir == DIR_CLIENT ? 1 : 2);
    memcpy(out, r->frag + 4 + 2, 32);
}

/* Does the ServerHello carry extension `type`? */
static bool sh_has_ext(const struct sess *s, uint16_t type)
{
    const struct rec *r = &s->recs[DIR_SERVER][0];
    struct cur c = cur_make(r->frag + 4, r->len - 4), sid, exts, body;
    uint16_t t;

    assert_int_equal(cur_skip(&c, 2 + 32), TI_OK);
    assert_int_equal(cur_vec(&c, 1, &sid), TI_OK);
    assert_int_equal(cur_skip(&c, 3), TI_OK);
    if (cur_vec(&c, 2, &exts) != TI_OK)
        return false;
    while (cur_u16(&exts, &t) == TI_OK && cur_vec(&exts, 2, &body) == TI_OK)
        if (t == type)
            return true;
    return false;
}

static size_t ccs_index(const struct sess *s, enum conn_dir dir)
{
    for (size_t i = 0; i < s->n_recs[dir]; i++)
        if (s->recs[dir][i].hdr[0] == 20)
            return i;
    fail_msg("no ChangeCipherSpec");
    return 0;
}

/* Handshake transcript before the client Finished (RFC 5246 7.4.9), for a
 * session without tickets or client certificates: the ClientHello, the
 * server's flight, then the rest of the client's flight. */
static size_t transcript(const struct sess *s, uint8_t *out, size_t cap)
{
    size_t n = 0, first;
    const struct rec *r;

    r = &s->recs[DIR_CLIENT][0];
    first = 4 + ((size_t)r->frag[1] << 16 | (size_t)r->frag[2] << 8 | r->frag[3]);
    assert_true(first <= r->len && first <= cap);
    memcpy(out, r->frag, first);
    n = first;
    for (size_t i = 0; i < ccs_index(s, DIR_SERVER); i++) {
        r = &s->recs[DIR_SERVER][i];
        assert_int_equal(r->hdr[0], 22);
        assert_true(n + r->len <= cap);
        memcpy(out + n, r->frag, r->len);
        n += r->len;
    }
    for (size_t i = 0; i < ccs_index(s, DIR_CLIENT); i++) {
        size_t skip = i == 0 ? first : 0;
        r = &s->recs[DIR_CLIENT][i];
        assert_true(n + r->len - skip <= cap);
        memcpy(out + n, r->frag + skip, r->len - skip);
        n += r->len - skip;
    }
    return n;
}

/* verify_data = PRF(master, label, Hash(transcript))[0..12) (RFC 5246 7.4.9);
 * TLS 1.0/1.1 hash with MD5 and SHA-1 side by side, which is "MD5-SHA1". */
static void expect_verify_data(const struct tls12_suite *suite, const uint8_t *ms,
                               const uint8_t *t, size_t tlen, const char *label,
                               uint8_t out[12])
{
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned hlen = 0;

    assert_int_equal(EVP_Digest(t, tlen, h, &hlen, EVP_get_digestbyname(suite->prf_md), NULL), 1);
    assert_int_equal(tls12_prf(suite->prf_md, ms, 48, label, h, hlen, NULL, 0, out, 12), TI_OK);
}

/* ---- the round trip ------------------------------------------------------ */

struct opened {
    uint8_t type;
    uint8_t pt[TLS12_MAX_PLAINTEXT];
    size_t len;
};

/* Open every record `dir` sent after its CCS; returns how many opened. */
static size_t open_dir(const struct fx *f, const struct sess *s, enum conn_dir dir,
                       const uint8_t *ms, bool etm, struct opened *out, size_t max)
{
    struct tls12_suite suite;
    struct tls12_dir d = {0};
    size_t k = 0;

    assert_int_equal(tls12_suite_lookup(f->names, s->suite, s->version, &suite), TI_OK);
    assert_int_equal(tls12_dir_init(&d, &suite, etm, dir, ms, 48, s->cr, s->sr), TI_OK);
    for (size_t i = ccs_index(s, dir) + 1; i < s->n_recs[dir] && k < max; i++) {
        const struct rec *r = &s->recs[dir][i];
        assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out[k].pt,
                                           sizeof(out[k].pt), &out[k].len), TI_OK);
        out[k].type = r->hdr[0];
        k++;
    }
    assert_int_equal(d.seq, k);
    tls12_dir_clear(&d);
    return k;
}

static void check_dir(const struct fx *f, const struct scase *sc, const struct sess *s,
                      enum conn_dir dir, const uint8_t *ms)
{
    struct opened *o = calloc(MAX_RECS, sizeof(*o));
    const char *msg = dir == DIR_CLIENT ? CLIENT_MSG : SERVER_MSG;
    uint8_t app[256];
    size_t n, napp = 0, k;

    assert_non_null(o);
    n = open_dir(f, s, dir, ms, sc->etm, o, MAX_RECS);
    assert_true(n >= 2);
    /* RFC 5246 7.4.9: the first protected message is Finished with the
     * verify_data OpenSSL computed. */
    assert_int_equal(o[0].type, 22);
    assert_int_equal(o[0].len, 4 + s->fin_len[dir]);
    assert_int_equal(o[0].pt[0], 20);
    assert_int_equal(ti_be32(o[0].pt) & 0xffffff, s->fin_len[dir]);
    assert_memory_equal(o[0].pt + 4, s->fin[dir], s->fin_len[dir]);
    /* Application data, possibly split (TLS 1.0 CBC: empty fragments first). */
    for (k = 1; k < n && o[k].type == 23; k++) {
        assert_true(napp + o[k].len <= sizeof(app));
        memcpy(app + napp, o[k].pt, o[k].len);
        napp += o[k].len;
    }
    assert_int_equal(napp, strlen(msg));
    assert_memory_equal(app, msg, napp);
    if (sc->renegotiate) {
        /* The renegotiation ClientHello, encrypted under the first keys;
         * its random is the new one OpenSSL reports. */
        assert_int_equal(k + 1, n);
        assert_int_equal(o[k].type, 22);
        assert_int_equal(o[k].pt[0], 1);
        assert_true(o[k].len > 4 + 2 + 32);
        assert_memory_not_equal(o[k].pt + 6, s->cr, 32);
        assert_memory_equal(o[k].pt + 6, s->cr_reneg, 32);
    } else {
        /* close_notify (RFC 5246 7.2.1): warning(1), close_notify(0). */
        assert_int_equal(k + 1, n);
        assert_int_equal(o[k].type, 21);
        assert_int_equal(o[k].len, 2);
        assert_int_equal(o[k].pt[0], 1);
        assert_int_equal(o[k].pt[1], 0);
    }
    free(o);
}

static void run_case(void **state, const struct scase *sc)
{
    const struct fx *f = *state;
    struct sess *s = malloc(sizeof(*s));
    struct tls12_suite suite;
    uint8_t cr[32], ms[48], rnd[32], *t, vd[12];
    size_t tlen;
    bool found;

    assert_non_null(s);
    if (!run_session(f, sc, s)) {
        free(s);
        print_message("    (%s: this OpenSSL build refuses the suite; skipped)\n", sc->name);
        skip();
        return;
    }
    assert_int_equal(s->version, sc->version);
    /* The key log line agrees with the session and with the hellos on the wire. */
    /* RSA key exchange logs an "RSA" line (encrypted premaster) first. */
    found = false;
    for (size_t i = 0; i < s->n_lines && !found; i++) {
        if (strncmp(s->lines[i], "CLIENT_RANDOM ", 14) == 0) {
            parse_line(s->lines[i], cr, ms);
            found = true;
        }
    }
    assert_true(found);
    assert_memory_equal(cr, s->cr, 32);
    assert_memory_equal(ms, s->master, 48);
    hello_random(s, DIR_CLIENT, rnd);
    assert_memory_equal(rnd, cr, 32);
    hello_random(s, DIR_SERVER, rnd);
    assert_memory_equal(rnd, s->sr, 32);
    assert_int_equal(sh_has_ext(s, 22), sc->etm);

    assert_int_equal(tls12_suite_lookup(f->names, s->suite, s->version, &suite), TI_OK);
    assert_int_equal(suite.mode, sc->mode);

    /* The PRF, checked through the Finished computation on the plaintext
     * transcript: independent of OpenSSL's record layer. */
    t = malloc(WIRE_CAP);
    assert_non_null(t);
    tlen = transcript(s, t, WIRE_CAP);
    expect_verify_data(&suite, ms, t, tlen, "client finished", vd);
    assert_int_equal(s->fin_len[DIR_CLIENT], 12);
    assert_memory_equal(vd, s->fin[DIR_CLIENT], 12);
    free(t);

    check_dir(f, sc, s, DIR_CLIENT, ms);
    if (!sc->renegotiate)
        check_dir(f, sc, s, DIR_SERVER, ms);
    free(s);
}

#define CASE(fn, ...)                                  \
    static void fn(void **state)                       \
    {                                                  \
        static const struct scase sc = {__VA_ARGS__};  \
        run_case(state, &sc);                          \
    }

CASE(test_gcm_ecdsa, "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256",
     false, TLS1_2_VERSION, false, TLS12_MODE_GCM, false, false)
CASE(test_gcm_sha384, "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
     true, TLS1_2_VERSION, false, TLS12_MODE_GCM, false, false)
CASE(test_chacha, "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
     true, TLS1_2_VERSION, false, TLS12_MODE_CHACHA20_POLY1305, false, false)
CASE(test_ccm, "ECDHE-ECDSA-AES128-CCM", "ECDHE-ECDSA-AES128-CCM",
     false, TLS1_2_VERSION, false, TLS12_MODE_CCM, false, false)
CASE(test_ccm8, "ECDHE-ECDSA-AES256-CCM8", "ECDHE-ECDSA-AES256-CCM8",
     false, TLS1_2_VERSION, false, TLS12_MODE_CCM, false, false)
CASE(test_cbc_sha256_etm, "ECDHE-RSA-AES128-SHA256 EtM", "ECDHE-RSA-AES128-SHA256",
     true, TLS1_2_VERSION, false, TLS12_MODE_CBC, true, false)
CASE(test_cbc_sha256_mte, "ECDHE-RSA-AES128-SHA256 MtE", "ECDHE-RSA-AES128-SHA256",
     true, TLS1_2_VERSION, true, TLS12_MODE_CBC, false, false)
CASE(test_cbc_sha384_mte, "ECDHE-RSA-AES256-SHA384 MtE", "ECDHE-RSA-AES256-SHA384",
     true, TLS1_2_VERSION, true, TLS12_MODE_CBC, false, false)
CASE(test_cbc_sha1_etm, "ECDHE-ECDSA-AES256-SHA EtM", "ECDHE-ECDSA-AES256-SHA",
     false, TLS1_2_VERSION, false, TLS12_MODE_CBC, true, false)
CASE(test_tls11_mte, "TLS 1.1 ECDHE-RSA-AES128-SHA MtE", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
     true, TLS1_1_VERSION, true, TLS12_MODE_CBC, false, false)
CASE(test_tls11_etm, "TLS 1.1 ECDHE-RSA-AES128-SHA EtM", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
     true, TLS1_1_VERSION, false, TLS12_MODE_CBC, true, false)
CASE(test_tls10_mte, "TLS 1.0 ECDHE-RSA-AES128-SHA MtE", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
     true, TLS1_VERSION, true, TLS12_MODE_CBC, false, false)
CASE(test_tls10_etm, "TLS 1.0 ECDHE-RSA-AES256-SHA EtM", "ECDHE-RSA-AES256-SHA:@SECLEVEL=0",
     true, TLS1_VERSION, false, TLS12_MODE_CBC, true, false)
CASE(test_null_sha256, "NULL-SHA256", "NULL-SHA256:@SECLEVEL=0",
     true, TLS1_2_VERSION, true, TLS12_MODE_NULL, false, false)
CASE(test_renegotiation_gcm, "renegotiation under GCM", "ECDHE-ECDSA-AES128-GCM-SHA256",
     false, TLS1_2_VERSION, false, TLS12_MODE_GCM, false, true)

/* ---- failures: wrong secret, wrong mode, damage, order ------------------ */

static struct sess *session_or_skip(void **state, const struct scase *sc)
{
    struct sess *s = malloc(sizeof(*s));

    assert_non_null(s);
    if (!run_session(*state, sc, s)) {
        free(s);
        skip();
    }
    return s;
}

static const struct scase GCM_CASE = {"gcm", "ECDHE-ECDSA-AES128-GCM-SHA256", false,
                                      TLS1_2_VERSION, false, TLS12_MODE_GCM, false, false};
static const struct scase ETM_CASE = {"etm", "ECDHE-RSA-AES128-SHA256", true,
                                      TLS1_2_VERSION, false, TLS12_MODE_CBC, true, false};
static const struct scase MTE_CASE = {"mte", "ECDHE-RSA-AES128-SHA256", true,
                                      TLS1_2_VERSION, true, TLS12_MODE_CBC, false, false};
static const struct scase T10_CASE = {"tls10", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", true,
                                      TLS1_VERSION, true, TLS12_MODE_CBC, false, false};
static const struct scase CHACHA_CASE = {"chacha", "ECDHE-RSA-CHACHA20-POLY1305", true,
                                         TLS1_2_VERSION, false, TLS12_MODE_CHACHA20_POLY1305,
                                         false, false};

/* A wrong master secret (one bit) never opens the first record; the state
 * is left as it was. */
static void wrong_master(void **state, const struct scase *sc)
{
    const struct fx *f = *state;
    struct sess *s = session_or_skip(state, sc);
    struct tls12_suite suite;
    struct tls12_dir d = {0};
    uint8_t ms[48], out[TLS12_MAX_PLAINTEXT];
    size_t olen = 99;

    for (int dir = 0; dir < 2; dir++) {
        const struct rec *r = &s->recs[dir][ccs_index(s, (enum conn_dir)dir) + 1];
        for (int bit = 0; bit < 48 * 8; bit += 47) {
            memcpy(ms, s->master, 48);
            ms[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_equal(tls12_suite_lookup(f->names, s->suite, s->version, &suite), TI_OK);
            assert_int_equal(tls12_dir_init(&d, &suite, sc->etm, (enum conn_dir)dir, ms, 48,
                                            s->cr, s->sr), TI_OK);
            assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out, sizeof(out),
                                               &olen), TI_EMALFORMED);
            assert_int_equal(olen, 0);
            assert_int_equal(d.seq, 0);
            tls12_dir_clear(&d);
        }
        /* The randoms matter too: swapped client/server random. */
        assert_int_equal(tls12_dir_init(&d, &suite, sc->etm, (enum conn_dir)dir, s->master, 48,
                                        s->sr, s->cr), TI_OK);
        assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out, sizeof(out),
                                           &olen), TI_EMALFORMED);
        tls12_dir_clear(&d);
        /* And the direction: the other side's keys. */
        assert_int_equal(tls12_dir_init(&d, &suite, sc->etm, (enum conn_dir)(1 - dir),
                                        s->master, 48, s->cr, s->sr), TI_OK);
        assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out, sizeof(out),
                                           &olen), TI_EMALFORMED);
        tls12_dir_clear(&d);
    }
    free(s);
}

static void test_wrong_master_gcm(void **state) { wrong_master(state, &GCM_CASE); }
static void test_wrong_master_etm(void **state) { wrong_master(state, &ETM_CASE); }
static void test_wrong_master_mte(void **state) { wrong_master(state, &MTE_CASE); }
static void test_wrong_master_tls10(void **state) { wrong_master(state, &T10_CASE); }
static void test_wrong_master_chacha(void **state) { wrong_master(state, &CHACHA_CASE); }

/* EtM on a MtE session and the reverse: the MAC cannot check. */
static void test_etm_flag_mismatch(void **state)
{
    const struct fx *f = *state;
    const struct scase *cases[2] = {&ETM_CASE, &MTE_CASE};

    for (int i = 0; i < 2; i++) {
        struct sess *s = session_or_skip(state, cases[i]);
        const struct rec *r = &s->recs[DIR_CLIENT][ccs_index(s, DIR_CLIENT) + 1];
        struct tls12_suite suite;
        struct tls12_dir d = {0};
        uint8_t out[TLS12_MAX_PLAINTEXT];
        size_t olen;

        assert_int_equal(tls12_suite_lookup(f->names, s->suite, s->version, &suite), TI_OK);
        assert_int_equal(tls12_dir_init(&d, &suite, !cases[i]->etm, DIR_CLIENT, s->master, 48,
                                        s->cr, s->sr), TI_OK);
        assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out, sizeof(out),
                                           &olen), TI_EMALFORMED);
        tls12_dir_clear(&d);
        free(s);
    }
}

/* Every prefix of a valid record fails cleanly (its header says the
 * prefix's length), every single-byte change fails, the output buffer's
 * size is respected, and afterwards the untouched record still opens: a
 * failure leaves the state unchanged. */
static void damage(void **state, const struct scase *sc)
{
    const struct fx *f = *state;
    struct sess *s = session_or_skip(state, sc);
    const struct rec *r = &s->recs[DIR_CLIENT][ccs_index(s, DIR_CLIENT) + 1];
    struct tls12_suite suite;
    struct tls12_dir d = {0};
    uint8_t out[TLS12_MAX_PLAINTEXT], hdr[5], *copy = malloc(r->len);
    size_t olen;

    assert_non_null(copy);
    assert_int_equal(tls12_suite_lookup(f->names, s->suite, s->version, &suite), TI_OK);
    assert_int_equal(tls12_dir_init(&d, &suite, sc->etm, DIR_CLIENT, s->master, 48, s->cr,
                                    s->sr), TI_OK);
    memcpy(hdr, r->hdr, 5);
    for (size_t n = 0; n < r->len; n++) {
        hdr[3] = (uint8_t)(n >> 8);
        hdr[4] = (uint8_t)n;
        memcpy(copy, r->frag, n);
        assert_int_equal(tls12_open_record(&d, hdr, n ? copy : NULL, n, out, sizeof(out), &olen),
                         TI_EMALFORMED);
    }
    /* The header's length must be the fragment's. */
    assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len - 1, out, sizeof(out), &olen),
                     TI_EMALFORMED);
    /* Additional data: the type and version are authenticated. */
    memcpy(hdr, r->hdr, 5);
    hdr[0] = 23;
    assert_int_equal(tls12_open_record(&d, hdr, r->frag, r->len, out, sizeof(out), &olen),
                     TI_EMALFORMED);
    memcpy(hdr, r->hdr, 5);
    hdr[2] ^= 1;
    assert_int_equal(tls12_open_record(&d, hdr, r->frag, r->len, out, sizeof(out), &olen),
                     TI_EMALFORMED);
    for (size_t i = 0; i < r->len; i++) {
        memcpy(copy, r->frag, r->len);
        copy[i] ^= 0x80;
        assert_int_equal(tls12_open_record(&d, r->hdr, copy, r->len, out, sizeof(out), &olen),
                         TI_EMALFORMED);
    }
    /* Output too small: the whole decrypted size is needed (CBC decrypts
     * the padding and MAC too). */
    assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out, 2, &olen), TI_ELIMIT);
    assert_int_equal(d.seq, 0);
    assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out, r->len, &olen), TI_OK);
    assert_int_equal(olen, 16);   /* Finished: 4-byte header + 12 bytes verify_data */
    assert_int_equal(d.seq, 1);
    /* The same record again: sequence number 1 is in the MAC/nonce. */
    assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out, sizeof(out), &olen),
                     TI_EMALFORMED);
    assert_int_equal(d.seq, 1);
    /* Over the RFC 5246 6.2.3 limit. */
    hdr[3] = (uint8_t)((TLS12_MAX_CIPHERTEXT + 1) >> 8);
    hdr[4] = (uint8_t)(TLS12_MAX_CIPHERTEXT + 1);
    assert_int_equal(tls12_open_record(&d, hdr, r->frag, TLS12_MAX_CIPHERTEXT + 1, out,
                                       sizeof(out), &olen), TI_EMALFORMED);
    tls12_dir_clear(&d);
    /* Not initialised. */
    assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out, sizeof(out), &olen),
                     TI_EUNSUPPORTED);
    free(copy);
    free(s);
}

static void test_damage_gcm(void **state) { damage(state, &GCM_CASE); }
static void test_damage_chacha(void **state) { damage(state, &CHACHA_CASE); }
static void test_damage_etm(void **state) { damage(state, &ETM_CASE); }
static void test_damage_mte(void **state) { damage(state, &MTE_CASE); }
static void test_damage_tls10(void **state) { damage(state, &T10_CASE); }

/* Records out of order fail: the second protected record with a fresh
 * state (sequence number 0). */
static void test_sequence_matters(void **state)
{
    const struct fx *f = *state;
    struct sess *s = session_or_skip(state, &GCM_CASE);
    const struct rec *r = &s->recs[DIR_SERVER][ccs_index(s, DIR_SERVER) + 2];
    struct tls12_suite suite;
    struct tls12_dir d = {0};
    uint8_t out[TLS12_MAX_PLAINTEXT];
    size_t olen;

    assert_int_equal(tls12_suite_lookup(f->names, s->suite, s->version, &suite), TI_OK);
    assert_int_equal(tls12_dir_init(&d, &suite, false, DIR_SERVER, s->master, 48, s->cr, s->sr),
                     TI_OK);
    assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out, sizeof(out), &olen),
                     TI_EMALFORMED);
    tls12_skip_record(&d, NULL, 0);   /* counting the Finished record puts it right */
    assert_int_equal(tls12_open_record(&d, r->hdr, r->frag, r->len, out, sizeof(out), &olen),
                     TI_OK);
    assert_int_equal(r->hdr[0], 23);
    assert_int_equal(olen, strlen(SERVER_MSG));
    assert_memory_equal(out, SERVER_MSG, olen);
    tls12_dir_clear(&d);
    free(s);
}

/* Skipping application data: the close_notify after it still opens.  TLS
 * 1.0 CBC needs the skipped records' last block (IV chaining); without it
 * the direction can no longer be read. */
static void skip_then_alert(void **state, const struct scase *sc)
{
    const struct fx *f = *state;
    struct sess *s = session_or_skip(state, sc);
    struct tls12_suite suite;
    uint8_t out[TLS12_MAX_PLAINTEXT];
    size_t olen;

    assert_int_equal(tls12_suite_lookup(f->names, s->suite, s->version, &suite), TI_OK);
    for (int with_tail = 1; with_tail >= 0; with_tail--) {
        struct tls12_dir d = {0};
        size_t i = ccs_index(s, DIR_CLIENT) + 1;
        size_t tail;
        int rc;

        assert_int_equal(tls12_dir_init(&d, &suite, sc->etm, DIR_CLIENT, s->master, 48, s->cr,
                                        s->sr), TI_OK);
        tail = tls12_skip_tail_len(&d);
        assert_int_equal(tail, s->version == TLS1_VERSION ? 16u + (sc->etm ? 20u : 0u) : 0u);
        assert_int_equal(tls12_open_record(&d, s->recs[DIR_CLIENT][i].hdr,
                                           s->recs[DIR_CLIENT][i].frag,
                                           s->recs[DIR_CLIENT][i].len, out, sizeof(out), &olen),
                         TI_OK);
        for (i++; s->recs[DIR_CLIENT][i].hdr[0] == 23; i++) {
            const struct rec *r = &s->recs[DIR_CLIENT][i];
            assert_true(r->len >= tail);
            if (with_tail)
                tls12_skip_record(&d, r->frag + r->len - tail, tail);
            else
                tls12_skip_record(&d, NULL, 0);
        }
        rc = tls12_open_record(&d, s->recs[DIR_CLIENT][i].hdr, s->recs[DIR_CLIENT][i].frag,
                               s->recs[DIR_CLIENT][i].len, out, sizeof(out), &olen);
        if (with_tail || tail == 0) {
            assert_int_equal(rc, TI_OK);
            assert_int_equal(s->recs[DIR_CLIENT][i].hdr[0], 21);
            assert_int_equal(olen, 2);
            assert_int_equal(out[0], 1);
            assert_int_equal(out[1], 0);
        } else {
            assert_int_equal(rc, TI_EUNSUPPORTED);
            assert_true(d.iv_lost);
        }
        tls12_dir_clear(&d);
    }
    free(s);
}

static void test_skip_gcm(void **state) { skip_then_alert(state, &GCM_CASE); }
static void test_skip_tls10(void **state) { skip_then_alert(state, &T10_CASE); }
static void test_skip_tls10_etm(void **state)
{
    static const struct scase sc = {"tls10 etm", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", true,
                                     TLS1_VERSION, false, TLS12_MODE_CBC, true, false};
    skip_then_alert(state, &sc);
}

/* ---- suite table ---------------------------------------------------------- */

static void test_suite_lookup(void **state)
{
    const struct fx *f = *state;
    struct tls12_suite s;

    /* TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (RFC 5289) */
    assert_int_equal(tls12_suite_lookup(f->names, 0xc02b, 0x0303, &s), TI_OK);
    assert_int_equal(s.mode, TLS12_MODE_GCM);
    assert_int_equal(s.key_len, 16);
    assert_int_equal(s.fixed_iv_len, 4);
    assert_int_equal(s.record_iv_len, 8);
    assert_int_equal(s.tag_len, 16);
    assert_int_equal(s.mac_len, 0);
    assert_string_equal(s.prf_md, "SHA256");
    /* TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: the PRF is SHA-384 */
    assert_int_equal(tls12_suite_lookup(f->names, 0xc030, 0x0303, &s), TI_OK);
    assert_int_equal(s.key_len, 32);
    assert_string_equal(s.prf_md, "SHA384");
    /* TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905) */
    assert_int_equal(tls12_suite_lookup(f->names, 0xcca8, 0x0303, &s), TI_OK);
    assert_int_equal(s.mode, TLS12_MODE_CHACHA20_POLY1305);
    assert_int_equal(s.key_len, 32);
    assert_int_equal(s.fixed_iv_len, 12);
    assert_int_equal(s.record_iv_len, 0);
    /* TLS_ECDHE_ECDSA_WITH_AES_128_CCM and _CCM_8 (RFC 7251) */
    assert_int_equal(tls12_suite_lookup(f->names, 0xc0ac, 0x0303, &s), TI_OK);
    assert_int_equal(s.mode, TLS12_MODE_CCM);
    assert_int_equal(s.tag_len, 16);
    assert_int_equal(tls12_suite_lookup(f->names, 0xc0ae, 0x0303, &s), TI_OK);
    assert_int_equal(s.mode, TLS12_MODE_CCM);
    assert_int_equal(s.tag_len, 8);
    /* TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: HMAC-SHA256, explicit IV */
    assert_int_equal(tls12_suite_lookup(f->names, 0xc027, 0x0303, &s), TI_OK);
    assert_int_equal(s.mode, TLS12_MODE_CBC);
    assert_int_equal(s.mac_len, 32);
    assert_int_equal(s.block_len, 16);
    assert_int_equal(s.record_iv_len, 16);
    assert_string_equal(s.prf_md, "SHA256");
    /* TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: HMAC-SHA384 and the SHA-384 PRF */
    assert_int_equal(tls12_suite_lookup(f->names, 0xc028, 0x0303, &s), TI_OK);
    assert_int_equal(s.mac_len, 48);
    assert_string_equal(s.prf_md, "SHA384");
    /* TLS_RSA_WITH_AES_128_CBC_SHA at 1.2 (SHA-256 PRF), 1.1 (explicit IV),
     * 1.0 (chained IV, MD5/SHA-1 PRF) */
    assert_int_equal(tls12_suite_lookup(f->names, 0x002f, 0x0303, &s), TI_OK);
    assert_int_equal(s.mac_len, 20);
    assert_string_equal(s.prf_md, "SHA256");
    assert_int_equal(tls12_suite_lookup(f->names, 0x002f, 0x0302, &s), TI_OK);
    assert_int_equal(s.record_iv_len, 16);
    assert_string_equal(s.prf_md, "MD5-SHA1");
    assert_int_equal(tls12_suite_lookup(f->names, 0x002f, 0x0301, &s), TI_OK);
    assert_int_equal(s.record_iv_len, 0);
    assert_int_equal(s.fixed_iv_len, 16);
    /* Refused: AEAD below 1.2, TLS 1.3 suites, SSL 3.0, unknown codes,
     * GREASE, the renegotiation SCSV. */
    assert_int_equal(tls12_suite_lookup(f->names, 0xc02b, 0x0302, &s), TI_EUNSUPPORTED);
    assert_int_equal(tls12_suite_lookup(f->names, 0x1301, 0x0303, &s), TI_EUNSUPPORTED);
    assert_int_equal(tls12_suite_lookup(f->names, 0x1301, 0x0304, &s), TI_EUNSUPPORTED);
    assert_int_equal(tls12_suite_lookup(f->names, 0x002f, 0x0300, &s), TI_EUNSUPPORTED);
    assert_int_equal(tls12_suite_lookup(f->names, 0xfefe, 0x0303, &s), TI_EUNSUPPORTED);
    assert_int_equal(tls12_suite_lookup(f->names, 0x0a0a, 0x0303, &s), TI_EUNSUPPORTED);
    assert_int_equal(tls12_suite_lookup(f->names, 0x00ff, 0x0303, &s), TI_EUNSUPPORTED);
    assert_int_equal(tls12_suite_lookup(f->names, 0x0000, 0x0303, &s), TI_EUNSUPPORTED);
    assert_int_equal(s.mode, TLS12_MODE_NONE);
}

static void test_dir_init_errors(void **state)
{
    const struct fx *f = *state;
    struct tls12_suite s;
    struct tls12_dir d;
    uint8_t ms[48] = {0}, r[32] = {0};

    assert_int_equal(tls12_suite_lookup(f->names, 0xc02b, 0x0303, &s), TI_OK);
    /* RFC 5246 8.1: the master secret is always 48 bytes. */
    assert_int_equal(tls12_dir_init(&d, &s, false, DIR_CLIENT, ms, 47, r, r), TI_EMALFORMED);
    assert_false(d.ready);
    assert_int_equal(tls12_dir_init(&d, &s, false, DIR_CLIENT, ms, 49, r, r), TI_EMALFORMED);
    memset(&s, 0, sizeof(s));
    assert_int_equal(tls12_dir_init(&d, &s, false, DIR_CLIENT, ms, 48, r, r), TI_EMALFORMED);
    tls12_dir_clear(&d);
    tls12_dir_clear(NULL);
    /* EtM does not apply to AEAD suites (RFC 7366 3). */
    assert_int_equal(tls12_suite_lookup(f->names, 0xc02b, 0x0303, &s), TI_OK);
    assert_int_equal(tls12_dir_init(&d, &s, true, DIR_CLIENT, ms, 48, r, r), TI_OK);
    assert_false(d.etm);
    tls12_dir_clear(&d);
    assert_false(d.ready);
}

/* ---- through the TLS session parser (tls.h) with a key log ------------- */

enum feed_mode { FEED_WHOLE, FEED_BYTES, FEED_GAP_CLIENT_APPDATA, FEED_DAMAGE_CLIENT_APPDATA };

/* Replay the session's bytes in wire order into a tls_session (client =
 * raw side 0), stopping when it says it is done, as the flow table does.
 * keylog: key log text, or NULL for no --keylog. */
static void replay(const struct fx *f, const struct sess *s, const char *keylog,
                   enum feed_mode mode, struct conn *c)
{
    struct tls_keylog *kl = NULL;
    struct x509_pool *pool = NULL;
    struct tls_session *ts = NULL;
    char err[256];
    int64_t ts_us = 1000;

    if (keylog != NULL)
        assert_int_equal(tls_keylog_load_mem(&kl, keylog, strlen(keylog), NULL, NULL, err,
                                             sizeof(err)), TI_OK);
    assert_int_equal(x509_pool_new(&pool, NULL, err, sizeof(err)), TI_OK);
    conn_init(c);
    assert_int_equal(tls_session_new(&ts, c, pool, f->names, NULL, kl), TI_OK);
    tls_set_client_side(ts, 0);
    for (size_t i = 0; i < s->n_chunks && !tls_done(ts); i++) {
        int dir = s->chunks[i].dir;
        const uint8_t *p = s->wire[dir] + s->chunks[i].off;
        size_t n = s->chunks[i].len;

        if (mode == FEED_GAP_CLIENT_APPDATA && dir == DIR_CLIENT && p[0] == 23) {
            tls_gap(ts, dir, n, ts_us++);   /* whole records lost */
        } else if (mode == FEED_DAMAGE_CLIENT_APPDATA && dir == DIR_CLIENT && p[0] == 23) {
            /* Bytes lost inside the first application data record only. */
            size_t end = 5 + (size_t)ti_be16(p + 3);
            assert_true(end <= n && end > 8);
            tls_feed(ts, dir, p, 8, ts_us++);
            tls_gap(ts, dir, end - 8, ts_us++);
            if (end < n)
                tls_feed(ts, dir, p + end, n - end, ts_us++);
        } else if (mode == FEED_BYTES) {
            for (size_t k = 0; k < n; k++)
                tls_feed(ts, dir, p + k, 1, ts_us++);
        } else {
            tls_feed(ts, dir, p, n, ts_us++);
        }
    }
    tls_close(ts, 0, false, ts_us++);
    tls_close(ts, 1, false, ts_us++);
    tls_finish(ts);
    tls_session_free(ts);   /* the conn keeps what it learnt */
    x509_pool_free(pool);
    tls_keylog_free(kl);
}

static char *keylog_text(const struct sess *s)
{
    char *t = calloc(MAX_LINES, sizeof(s->lines[0]) + 1);

    assert_non_null(t);
    for (size_t i = 0; i < s->n_lines; i++) {
        strcat(t, s->lines[i]);
        strcat(t, "\n");
    }
    return t;
}

static void expect_close_notify(const struct conn_alert *a, enum conn_dir from)
{
    assert_int_equal(a->from, from);
    assert_false(a->encrypted);
    assert_true(a->decrypted);
    assert_int_equal(a->level, 1);
    assert_int_equal(a->description, 0);
}

/* Without usable keys the session is still followed to its end: each
 * side's closing alert is an encrypted record after application data. */
static void expect_opaque_closes(const struct conn *c)
{
    assert_int_equal(c->n_alerts, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(c->alerts[i].from, i == 0 ? DIR_CLIENT : DIR_SERVER);
        assert_true(c->alerts[i].encrypted);
        assert_false(c->alerts[i].decrypted);
        assert_false(c->alerts[i].inferred);
        assert_true(c->alerts[i].after_appdata);
        assert_true(c->alerts[i].after_appdata_us > 0);
    }
}

/* With the key log the close_notify alerts after the handshake are read
 * (the parser keeps going until they came), and the Finished messages are
 * decrypted rather than guessed; any chunking gives the same answer. */
static void session_decrypts(void **state, const struct scase *sc, enum feed_mode mode)
{
    const struct fx *f = *state;
    struct sess *s = session_or_skip(state, sc);
    char *kl = keylog_text(s);
    struct conn c;

    replay(f, s, kl, mode, &c);
    assert_true(c.keys_used);
    assert_null(c.tls13_note);
    assert_true(c.ccs[DIR_CLIENT] && c.ccs[DIR_SERVER]);
    assert_true(c.finished[DIR_CLIENT] && c.finished[DIR_SERVER]);
    assert_int_equal(c.outcome, OUTCOME_COMPLETE);
    assert_true(c.appdata[DIR_CLIENT] && c.appdata[DIR_SERVER]);
    assert_int_equal(c.n_alerts, 2);
    expect_close_notify(&c.alerts[0], DIR_CLIENT);
    expect_close_notify(&c.alerts[1], DIR_SERVER);
    /* The ladder shows the decrypted Finished as a handshake message. */
    {
        int fin = 0;
        for (uint16_t i = 0; i < c.n_events; i++) {
            assert_int_not_equal(c.events[i].kind, EV_ENCRYPTED_HS);
            if (c.events[i].kind == EV_HANDSHAKE && c.events[i].type == 20)
                fin++;
        }
        assert_int_equal(fin, 2);
    }
    conn_free(&c);

    /* The same bytes without --keylog: Finished inferred, and the closing
     * alerts after the handshake listed by their headers, encrypted. */
    replay(f, s, NULL, mode, &c);
    assert_false(c.keys_used);
    assert_true(c.finished[DIR_CLIENT] && c.finished[DIR_SERVER]);
    assert_int_equal(c.outcome, OUTCOME_COMPLETE);
    expect_opaque_closes(&c);
    conn_free(&c);
    free(kl);
    free(s);
}

static void test_session_gcm(void **state) { session_decrypts(state, &GCM_CASE, FEED_WHOLE); }

/* A NULL suite without the master secret (RFC 5246 6.2.3.1): records open
 * to the same plaintext as with it, a damaged MAC goes unnoticed (it is
 * not checked), other modes are refused; through the session parser the
 * Finished and close_notify are read in the clear, not marked decrypted. */
static void test_null_unkeyed(void **state)
{
    static const struct scase null_case = {"null", "NULL-SHA256:@SECLEVEL=0", true,
                                           TLS1_2_VERSION, true, TLS12_MODE_NULL, false, false};
    const struct fx *f = *state;
    struct sess *s = session_or_skip(state, &null_case);
    struct tls12_suite suite, gcm;
    struct tls12_dir d;
    struct opened *o = calloc(2, sizeof(*o));
    struct conn c;
    size_t i = ccs_index(s, DIR_SERVER) + 1;
    const struct rec *r = &s->recs[DIR_SERVER][i];
    uint8_t frag[512];

    assert_non_null(o);
    assert_int_equal(tls12_suite_lookup(f->names, 0xc02b, 0x0303, &gcm), TI_OK);
    assert_int_equal(tls12_dir_init_unkeyed(&d, &gcm), TI_EUNSUPPORTED);
    assert_false(d.ready);
    assert_int_equal(tls12_suite_lookup(f->names, s->suite, s->version, &suite), TI_OK);
    assert_int_equal(open_dir(f, s, DIR_SERVER, s->master, false, o, 1), 1);
    assert_int_equal(tls12_dir_init_unkeyed(&d, &suite), TI_OK);
    assert_true(r->len <= sizeof(frag) && r->len > suite.mac_len);
    memcpy(frag, r->frag, r->len);
    frag[r->len - 1] ^= 0x01;   /* the MAC's last byte */
    assert_int_equal(tls12_open_record(&d, r->hdr, frag, r->len, o[1].pt, sizeof(o[1].pt),
                                       &o[1].len), TI_OK);
    assert_int_equal(o[1].len, o[0].len);
    assert_memory_equal(o[1].pt, o[0].pt, o[0].len);
    tls12_dir_clear(&d);

    replay(f, s, NULL, FEED_WHOLE, &c);
    assert_false(c.keys_used);
    assert_non_null(c.tls13_note);
    assert_non_null(strstr(c.tls13_note, "NULL cipher suite 0x003b"));
    assert_int_equal(c.outcome, OUTCOME_COMPLETE);
    assert_int_equal(c.n_alerts, 2);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(c.alerts[k].from, k == 0 ? DIR_CLIENT : DIR_SERVER);
        assert_false(c.alerts[k].encrypted);
        assert_false(c.alerts[k].decrypted);
        assert_int_equal(c.alerts[k].description, 0);
    }
    conn_free(&c);
    free(o);
    free(s);
}
static void test_session_gcm_bytes(void **state) { session_decrypts(state, &GCM_CASE, FEED_BYTES); }
static void test_session_chacha(void **state) { session_decrypts(state, &CHACHA_CASE, FEED_WHOLE); }
static void test_session_etm(void **state) { session_decrypts(state, &ETM_CASE, FEED_WHOLE); }
static void test_session_mte(void **state) { session_decrypts(state, &MTE_CASE, FEED_WHOLE); }
static void test_session_tls10(void **state) { session_decrypts(state, &T10_CASE, FEED_BYTES); }

/* A key log whose master secret is wrong: the MAC check says so, the
 * records stay opaque and the handshake reads as without keys. */
static void test_session_wrong_master(void **state)
{
    const struct fx *f = *state;
    struct sess *s = session_or_skip(state, &ETM_CASE);
    char *kl = keylog_text(s);
    char *ms = strstr(kl, "CLIENT_RANDOM ");
    struct conn c;

    assert_non_null(ms);
    ms += 14 + 64 + 1 + 10;   /* a hex digit inside the master secret */
    *ms = *ms == '0' ? '1' : '0';
    replay(f, s, kl, FEED_WHOLE, &c);
    assert_false(c.keys_used);
    assert_non_null(c.tls13_note);
    assert_non_null(strstr(c.tls13_note, "MAC check failed: the key log does not match"));
    assert_true(c.finished[DIR_CLIENT] && c.finished[DIR_SERVER]);
    assert_int_equal(c.outcome, OUTCOME_COMPLETE);
    expect_opaque_closes(&c);
    conn_free(&c);
    free(kl);
    free(s);
}

/* A key log for another connection: said, nothing decrypted. */
static void test_session_other_random(void **state)
{
    const struct fx *f = *state;
    struct sess *s = session_or_skip(state, &GCM_CASE);
    char *kl = keylog_text(s);
    char *cr = strstr(kl, "CLIENT_RANDOM ");
    struct conn c;

    assert_non_null(cr);
    cr[14] = cr[14] == 'a' ? 'b' : 'a';
    replay(f, s, kl, FEED_WHOLE, &c);
    assert_false(c.keys_used);
    assert_non_null(c.tls13_note);
    assert_non_null(strstr(c.tls13_note, "no CLIENT_RANDOM line"));
    expect_opaque_closes(&c);
    conn_free(&c);
    free(kl);
    free(s);
}

/* Records lost between records: the sequence number is unknown, so that
 * side stops (its alert is opaque); the other side is still read. */
static void test_session_gap(void **state)
{
    const struct fx *f = *state;
    struct sess *s = session_or_skip(state, &GCM_CASE);
    char *kl = keylog_text(s);
    struct conn c;

    replay(f, s, kl, FEED_GAP_CLIENT_APPDATA, &c);
    assert_true(c.keys_used);
    assert_non_null(c.tls13_note);
    assert_non_null(strstr(c.tls13_note, "client's protected records are missing"));
    assert_int_equal(c.n_alerts, 2);
    assert_int_equal(c.alerts[0].from, DIR_CLIENT);
    assert_true(c.alerts[0].encrypted);
    assert_false(c.alerts[0].decrypted);
    expect_close_notify(&c.alerts[1], DIR_SERVER);
    conn_free(&c);
    free(kl);
    free(s);
}

/* Bytes lost inside a record: its sequence number still counts, so the
 * AEAD session reads on; TLS 1.0 CBC loses its IV chain and stops. */
static void test_session_damaged_record(void **state)
{
    const struct fx *f = *state;
    const struct scase *cases[2] = {&GCM_CASE, &T10_CASE};

    for (int i = 0; i < 2; i++) {
        struct sess *s = session_or_skip(state, cases[i]);
        char *kl = keylog_text(s);
        struct conn c;

        replay(f, s, kl, FEED_DAMAGE_CLIENT_APPDATA, &c);
        assert_true(c.keys_used);
        assert_int_equal(c.n_alerts, 2);
        if (i == 0) {
            assert_null(c.tls13_note);
            expect_close_notify(&c.alerts[0], DIR_CLIENT);
        } else {
            assert_non_null(c.tls13_note);
            assert_non_null(strstr(c.tls13_note, "broke the TLS 1.0 CBC IV chain"));
            assert_int_equal(c.alerts[0].from, DIR_CLIENT);
            assert_true(c.alerts[0].encrypted);
        }
        expect_close_notify(&c.alerts[1], DIR_SERVER);
        conn_free(&c);
        free(kl);
        free(s);
    }
}

/* The renegotiation ClientHello inside the encrypted session becomes the
 * connection's second ClientHello. */
static void test_session_renegotiation(void **state)
{
    static const struct scase sc = {"reneg", "ECDHE-ECDSA-AES128-GCM-SHA256", false,
                                     TLS1_2_VERSION, false, TLS12_MODE_GCM, false, true};
    const struct fx *f = *state;
    struct sess *s = session_or_skip(state, &sc);
    char *kl = keylog_text(s);
    struct conn c;

    replay(f, s, kl, FEED_WHOLE, &c);
    assert_true(c.keys_used);
    assert_int_equal(c.n_ch, 2);
    assert_int_equal(c.ch[1].legacy_version, 0x0303);
    assert_true(c.ch[1].n_suites >= 1);
    assert_int_equal(c.ch[1].suites[0], 0xc02b);
    conn_free(&c);
    replay(f, s, NULL, FEED_WHOLE, &c);
    assert_int_equal(c.n_ch, 1);
    conn_free(&c);
    free(kl);
    free(s);
}

/* ---- DEFLATE (RFC 3749): the real compressed session of the fixture ------ */

#define CFX_PCAP "captures/compressed-12.pcap"
#define CFX_KEYS "captures/compressed-12.keys"
#define CFX_STREAM (64u * 1024u)

/* One direction of the fixture's connection: the TCP payload in order and
 * its records (type, offset of the fragment, length). */
struct cfx_dir {
    uint8_t b[CFX_STREAM];
    size_t n;
    uint32_t next_seq;
    bool started;
    size_t nrec;
    uint8_t type[MAX_RECS];
    size_t off[MAX_RECS], len[MAX_RECS];
};

struct cfx {
    struct cfx_dir d[2];          /* by enum conn_dir */
    size_t nchunk;                /* TCP payloads in capture order */
    uint8_t chunk_dir[MAX_RECS];
    size_t chunk_off[MAX_RECS];
    uint8_t cr[32], sr[32], ms[48];
    uint8_t compression;
};

/* The generator writes Ethernet/IPv4/TCP without loss or reordering: the
 * payload of each direction is appended at the next expected sequence
 * number (the client is the side that sent the first SYN). */
static void cfx_packet(struct cfx *x, const uint8_t *p, size_t caplen, uint16_t *cport)
{
    size_t ihl, thl, iplen;
    uint16_t sport;
    uint32_t seq;
    struct cfx_dir *d;
    uint8_t flags;

    if (caplen < 14 + 20 || p[12] != 0x08 || p[13] != 0x00)
        return;
    p += 14;
    caplen -= 14;
    ihl = (size_t)(p[0] & 0x0f) * 4;
    iplen = ti_be16(p + 2);
    if (p[9] != 6 || iplen > caplen || ihl + 20 > iplen)
        return;
    thl = (size_t)(p[ihl + 12] >> 4) * 4;
    sport = ti_be16(p + ihl);
    seq = (uint32_t)ti_be16(p + ihl + 4) << 16 | ti_be16(p + ihl + 6);
    flags = p[ihl + 13];
    if ((flags & 0x02) != 0 && (flags & 0x10) == 0)
        *cport = sport;
    d = &x->d[sport == *cport ? DIR_CLIENT : DIR_SERVER];
    if ((flags & 0x02) != 0) {
        d->next_seq = seq + 1;
        d->started = true;
        return;
    }
    if (!d->started || seq != d->next_seq || ihl + thl > iplen)
        return;
    assert_true(d->n + (iplen - ihl - thl) <= sizeof(d->b));
    if (iplen > ihl + thl) {
        assert_true(x->nchunk < MAX_RECS);
        x->chunk_dir[x->nchunk] = d == &x->d[DIR_CLIENT] ? DIR_CLIENT : DIR_SERVER;
        x->chunk_off[x->nchunk++] = d->n;
    }
    memcpy(d->b + d->n, p + ihl + thl, iplen - ihl - thl);
    d->n += iplen - ihl - thl;
    d->next_seq += (uint32_t)(iplen - ihl - thl);
}

static void cfx_records(struct cfx_dir *d)
{
    size_t at = 0;

    while (at + 5 <= d->n) {
        size_t len = ti_be16(d->b + at + 3);
        assert_true(at + 5 + len <= d->n);
        assert_true(d->nrec < MAX_RECS);
        d->type[d->nrec] = d->b[at];
        d->off[d->nrec] = at + 5;
        d->len[d->nrec] = len;
        d->nrec++;
        at += 5 + len;
    }
    assert_int_equal(at, d->n);
}

/* The fixture's hellos, key log line and records; fails (the fixture is
 * committed, so it must be there). */
static struct cfx *cfx_load(void)
{
    char err[PCAP_ERRBUF_SIZE], line[512];
    struct cfx *x = calloc(1, sizeof(*x));
    struct pcap_pkthdr *h;
    const u_char *p;
    uint16_t cport = 0;
    const uint8_t *sh;
    pcap_t *pc;
    FILE *kf;
    bool have_ms = false;

    assert_non_null(x);
    pc = pcap_open_offline(CFX_PCAP, err);
    assert_non_null(pc);
    while (pcap_next_ex(pc, &h, &p) == 1)
        cfx_packet(x, p, h->caplen, &cport);
    pcap_close(pc);
    cfx_records(&x->d[DIR_CLIENT]);
    cfx_records(&x->d[DIR_SERVER]);
    /* ClientHello and ServerHello: header(4) version(2) random(32) */
    assert_int_equal(x->d[DIR_CLIENT].type[0], 22);
    assert_int_equal(x->d[DIR_SERVER].type[0], 22);
    memcpy(x->cr, x->d[DIR_CLIENT].b + x->d[DIR_CLIENT].off[0] + 6, 32);
    sh = x->d[DIR_SERVER].b + x->d[DIR_SERVER].off[0];
    memcpy(x->sr, sh + 6, 32);
    /* session_id<0..32>, cipher_suite(2), compression_method(1) */
    assert_int_equal(ti_be16(sh + 39 + sh[38]), 0xc030);
    x->compression = sh[39 + sh[38] + 2];
    kf = fopen(CFX_KEYS, "r");
    assert_non_null(kf);
    while (fgets(line, sizeof line, kf) != NULL) {
        uint8_t cr[32];
        if (strncmp(line, "CLIENT_RANDOM ", 14) != 0)
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        parse_line(line, cr, x->ms);
        if (memcmp(cr, x->cr, 32) == 0)
            have_ms = true;
    }
    fclose(kf);
    assert_true(have_ms);
    return x;
}

/* Index of the first record after the direction's ChangeCipherSpec. */
static size_t cfx_after_ccs(const struct cfx_dir *d)
{
    for (size_t i = 0; i < d->nrec; i++)
        if (d->type[i] == 20)
            return i + 1;
    fail_msg("no ChangeCipherSpec");
    return 0;
}

static void cfx_dir_init(const struct fx *f, const struct cfx *x, enum conn_dir dir,
                         struct tls12_dir *k)
{
    struct tls12_suite suite;

    assert_int_equal(tls12_suite_lookup(f->names, 0xc030, 0x0303, &suite), TI_OK);
    assert_int_equal(tls12_dir_init(k, &suite, false, dir, x->ms, 48, x->cr, x->sr), TI_OK);
    assert_int_equal(tls12_dir_set_deflate(k), TI_OK);
}

static int cfx_open(struct tls12_dir *k, const struct cfx_dir *d, size_t i, uint8_t *out,
                    size_t *n)
{
    uint8_t hdr[5];

    memcpy(hdr, d->b + d->off[i] - 5, 5);
    return tls12_open_record(k, hdr, d->b + d->off[i], d->len[i], out, TLS12_MAX_CIPHERTEXT, n);
}

static bool has(const uint8_t *p, size_t n, const char *s)
{
    return memmem(p, n, s, strlen(s)) != NULL;
}

/* Every record of both directions after CCS opens and inflates: Finished
 * (a 12-byte verify_data), the HTTP request and response three times
 * (the later ones smaller on the wire: they lean on the history), the
 * close_notify. */
static void test_deflate_fixture(void **state)
{
    const struct fx *f = *state;
    struct cfx *x = cfx_load();
    uint8_t *out = malloc(TLS12_MAX_CIPHERTEXT);

    assert_non_null(out);
    assert_int_equal(x->compression, 1);   /* DEFLATE */
    for (int dir = DIR_CLIENT; dir <= DIR_SERVER; dir++) {
        const struct cfx_dir *d = &x->d[dir];
        const char *want = dir == DIR_CLIENT ? "GET /cucm-uds/users" : "HTTP/1.1 200 OK";
        struct tls12_dir k;
        size_t first = cfx_after_ccs(d), apps = 0, n = 0, wire[3] = {0};

        cfx_dir_init(f, x, (enum conn_dir)dir, &k);
        for (size_t i = first; i < d->nrec; i++) {
            assert_int_equal(cfx_open(&k, d, i, out, &n), TI_OK);
            if (i == first) {
                assert_int_equal(d->type[i], 22);
                assert_int_equal(n, 16);
                assert_int_equal(out[0], 20);              /* Finished */
                assert_int_equal(ti_be16(out + 2), 12);
            } else if (d->type[i] == 23) {
                assert_true(apps < 3);
                assert_true(has(out, n, want));
                /* what was sent is longer than what went on the wire */
                assert_true(n > d->len[i] - 8 - 16);
                wire[apps++] = d->len[i];
            } else {
                assert_int_equal(d->type[i], 21);
                assert_int_equal(n, 2);
                assert_int_equal(out[0], 1);
                assert_int_equal(out[1], 0);               /* close_notify */
            }
        }
        assert_int_equal(apps, 3);
        assert_true(wire[1] < wire[0] && wire[2] < wire[0]);
        assert_false(k.zfailed);
        tls12_dir_clear(&k);
    }
    free(out);
    free(x);
}

/* AES-256-GCM seal of one record with a direction's keys (RFC 5288), to put
 * bad compressed content under a valid tag. */
static size_t cfx_seal(const struct tls12_dir *k, uint64_t seq, uint8_t type,
                       const uint8_t *pt, size_t n, uint8_t hdr[5], uint8_t *rec)
{
    uint8_t nonce[12], aad[13];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0;

    memcpy(nonce, k->iv, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = rec[i] = aad[i] = (uint8_t)(seq >> (56 - 8 * i));
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = (uint8_t)(n >> 8);
    aad[12] = (uint8_t)n;
    assert_non_null(c);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->key, nonce), 1);
    assert_int_equal(EVP_EncryptUpdate(c, NULL, &l, aad, 13), 1);
    assert_int_equal(EVP_EncryptUpdate(c, rec + 8, &l, pt, (int)n), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, rec + 8 + l, &l), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, rec + 8 + n), 1);
    EVP_CIPHER_CTX_free(c);
    hdr[0] = type;
    hdr[1] = 3;
    hdr[2] = 3;
    hdr[3] = (uint8_t)((n + 24) >> 8);
    hdr[4] = (uint8_t)(n + 24);
    return n + 24;
}

/* Damage that the tag cannot see: the fixture's own compressed Finished
 * with a bad zlib header, and a record that inflates past 2^14 (a
 * decompression bomb), both sealed with the session's real keys; and a
 * record whose history was never inflated (a skipped application data
 * record).  Each fails with zfailed, and so does everything after it. */
static void test_deflate_corrupt(void **state)
{
    const struct fx *f = *state;
    struct cfx *x = cfx_load();
    const struct cfx_dir *d = &x->d[DIR_CLIENT];
    size_t first = cfx_after_ccs(d), n = 0, rl;
    uint8_t *out = malloc(TLS12_MAX_CIPHERTEXT), *rec = malloc(TLS12_MAX_CIPHERTEXT);
    uint8_t *zeros = calloc(1, 20000), hdr[5], zin[64], *bomb = malloc(1024);
    struct tls12_dir k;
    z_stream zs;
    size_t zn;

    assert_true(out != NULL && rec != NULL && zeros != NULL && bomb != NULL);
    /* The compressed Finished as it was sent: open it without inflating. */
    cfx_dir_init(f, x, DIR_CLIENT, &k);
    assert_true(d->len[first] - 24 <= sizeof(zin));
    zn = d->len[first] - 24;
    {
        struct tls12_dir plain;
        struct tls12_suite suite;
        assert_int_equal(tls12_suite_lookup(f->names, 0xc030, 0x0303, &suite), TI_OK);
        assert_int_equal(tls12_dir_init(&plain, &suite, false, DIR_CLIENT, x->ms, 48, x->cr,
                                        x->sr), TI_OK);
        assert_int_equal(cfx_open(&plain, d, first, zin, &n), TI_OK);
        assert_int_equal(n, zn);
        assert_int_equal(zin[0], 0x78);    /* a zlib stream (RFC 1950), as OpenSSL sends */
        tls12_dir_clear(&plain);
    }
    zin[0] ^= 0x01;                        /* header check (FCHECK) now fails */
    rl = cfx_seal(&k, 0, 22, zin, zn, hdr, rec);
    assert_int_equal(tls12_open_record(&k, hdr, rec, rl, out, TLS12_MAX_CIPHERTEXT, &n),
                     TI_EMALFORMED);
    assert_true(k.zfailed);
    assert_int_equal(n, 0);
    /* the good record does not bring it back: the stream is gone */
    assert_int_equal(cfx_open(&k, d, first, out, &n), TI_EMALFORMED);
    tls12_dir_clear(&k);

    /* 20000 zeros in one record: more than 2^14 inflated. */
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit(&zs, Z_DEFAULT_COMPRESSION), Z_OK);
    zs.next_in = zeros;
    zs.avail_in = 20000;
    zs.next_out = bomb;
    zs.avail_out = 1024;
    assert_int_equal(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
    zn = 1024 - zs.avail_out;
    deflateEnd(&zs);
    cfx_dir_init(f, x, DIR_CLIENT, &k);
    rl = cfx_seal(&k, 0, 23, bomb, zn, hdr, rec);
    assert_int_equal(tls12_open_record(&k, hdr, rec, rl, out, TLS12_MAX_CIPHERTEXT, &n),
                     TI_EMALFORMED);
    assert_true(k.zfailed);
    tls12_dir_clear(&k);

    /* The first request skipped: the second one's back-references reach
     * into history this stream never had. */
    cfx_dir_init(f, x, DIR_CLIENT, &k);
    assert_int_equal(cfx_open(&k, d, first, out, &n), TI_OK);
    assert_int_equal(d->type[first + 1], 23);
    tls12_skip_record(&k, NULL, 0);
    assert_int_equal(cfx_open(&k, d, first + 2, out, &n), TI_EMALFORMED);
    assert_true(k.zfailed);
    tls12_dir_clear(&k);

    free(zeros);
    free(bomb);
    free(rec);
    free(out);
    free(x);
}

/* The session layer on the fixture, record by record in capture order,
 * with the client's first request replaced by a record sealed with the
 * real keys whose content is not DEFLATE (0xff: a reserved block type):
 * the note says so, the client's later records are not read (its
 * close_notify stays encrypted), the server's still are. */
static void test_deflate_session_corrupt(void **state)
{
    const struct fx *f = *state;
    struct cfx *x = cfx_load();
    const struct cfx_dir *cd = &x->d[DIR_CLIENT];
    size_t bad = cfx_after_ccs(cd) + 1, fed[2] = {0, 0}, rl;
    uint8_t junk[40], hdr[5], *rec = malloc(TLS12_MAX_CIPHERTEXT);
    struct tls12_dir k;
    struct tls_keylog *kl = NULL;
    struct x509_pool *pool = NULL;
    struct tls_session *ts = NULL;
    struct conn c;
    char err[256], line[256];
    int64_t now = 1000;

    assert_non_null(rec);
    assert_int_equal(cd->type[bad], 23);
    memset(junk, 0xff, sizeof(junk));
    cfx_dir_init(f, x, DIR_CLIENT, &k);
    rl = cfx_seal(&k, 1, 23, junk, sizeof(junk), hdr, rec);   /* seq 1: after Finished */
    tls12_dir_clear(&k);

    strcpy(line, "CLIENT_RANDOM ");
    for (int i = 0; i < 32; i++)
        sprintf(line + strlen(line), "%02x", x->cr[i]);
    strcat(line, " ");
    for (int i = 0; i < 48; i++)
        sprintf(line + strlen(line), "%02x", x->ms[i]);
    strcat(line, "\n");
    assert_int_equal(tls_keylog_load_mem(&kl, line, strlen(line), NULL, NULL, err, sizeof(err)),
                     TI_OK);
    assert_int_equal(x509_pool_new(&pool, NULL, err, sizeof(err)), TI_OK);
    conn_init(&c);
    assert_int_equal(tls_session_new(&ts, &c, pool, f->names, NULL, kl), TI_OK);
    tls_set_client_side(ts, 0);
    for (size_t i = 0; i < x->nchunk; i++) {
        int dir = x->chunk_dir[i];
        const struct cfx_dir *d = &x->d[dir];
        size_t end = i + 1 < x->nchunk ? SIZE_MAX : d->n;

        for (size_t j = i + 1; j < x->nchunk && end == SIZE_MAX; j++)
            if (x->chunk_dir[j] == dir)
                end = x->chunk_off[j];
        if (end == SIZE_MAX)
            end = d->n;
        while (fed[dir] < d->nrec && d->off[fed[dir]] - 5 < end) {
            size_t r = fed[dir]++;
            if (dir == DIR_CLIENT && r == bad) {
                tls_feed(ts, dir, hdr, 5, now++);
                tls_feed(ts, dir, rec, rl, now++);
            } else {
                tls_feed(ts, dir, d->b + d->off[r] - 5, 5 + d->len[r], now++);
            }
        }
    }
    assert_int_equal(fed[DIR_CLIENT], cd->nrec);
    assert_int_equal(fed[DIR_SERVER], x->d[DIR_SERVER].nrec);
    tls_close(ts, 0, false, now++);
    tls_close(ts, 1, false, now++);
    tls_finish(ts);
    tls_session_free(ts);
    x509_pool_free(pool);
    tls_keylog_free(kl);

    assert_non_null(c.tls13_note);
    assert_non_null(strstr(c.tls13_note, "records are inflated after decryption"));
    assert_non_null(strstr(c.tls13_note, "DEFLATE decompression failed on a client record"));
    assert_true(c.keys_used);
    assert_int_equal(c.n_alerts, 2);
    assert_int_equal(c.alerts[0].from, DIR_CLIENT);
    assert_true(c.alerts[0].encrypted);
    assert_false(c.alerts[0].decrypted);
    expect_close_notify(&c.alerts[1], DIR_SERVER);
    conn_free(&c);
    free(rec);
    free(x);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_lookup),
        cmocka_unit_test(test_dir_init_errors),
        cmocka_unit_test(test_gcm_ecdsa),
        cmocka_unit_test(test_gcm_sha384),
        cmocka_unit_test(test_chacha),
        cmocka_unit_test(test_ccm),
        cmocka_unit_test(test_ccm8),
        cmocka_unit_test(test_cbc_sha256_etm),
        cmocka_unit_test(test_cbc_sha256_mte),
        cmocka_unit_test(test_cbc_sha384_mte),
        cmocka_unit_test(test_cbc_sha1_etm),
        cmocka_unit_test(test_tls11_mte),
        cmocka_unit_test(test_tls11_etm),
        cmocka_unit_test(test_tls10_mte),
        cmocka_unit_test(test_tls10_etm),
        cmocka_unit_test(test_null_sha256),
        cmocka_unit_test(test_renegotiation_gcm),
        cmocka_unit_test(test_wrong_master_gcm),
        cmocka_unit_test(test_wrong_master_etm),
        cmocka_unit_test(test_wrong_master_mte),
        cmocka_unit_test(test_wrong_master_tls10),
        cmocka_unit_test(test_wrong_master_chacha),
        cmocka_unit_test(test_etm_flag_mismatch),
        cmocka_unit_test(test_damage_gcm),
        cmocka_unit_test(test_damage_chacha),
        cmocka_unit_test(test_damage_etm),
        cmocka_unit_test(test_damage_mte),
        cmocka_unit_test(test_damage_tls10),
        cmocka_unit_test(test_sequence_matters),
        cmocka_unit_test(test_skip_gcm),
        cmocka_unit_test(test_skip_tls10),
        cmocka_unit_test(test_skip_tls10_etm),
        cmocka_unit_test(test_session_gcm),
        cmocka_unit_test(test_session_gcm_bytes),
        cmocka_unit_test(test_null_unkeyed),
        cmocka_unit_test(test_session_chacha),
        cmocka_unit_test(test_session_etm),
        cmocka_unit_test(test_session_mte),
        cmocka_unit_test(test_session_tls10),
        cmocka_unit_test(test_session_wrong_master),
        cmocka_unit_test(test_session_other_random),
        cmocka_unit_test(test_session_gap),
        cmocka_unit_test(test_session_damaged_record),
        cmocka_unit_test(test_session_renegotiation),
        cmocka_unit_test(test_deflate_fixture),
        cmocka_unit_test(test_deflate_corrupt),
        cmocka_unit_test(test_deflate_session_corrupt),
    };

    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
