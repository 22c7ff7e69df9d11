/* tlspair.c - a real OpenSSL client and server talking over memory BIOs.
 *
 * Each side has its own pair of memory BIOs; after every step the bytes one
 * side wrote are taken out as a "flight" (what it would send in one go) and
 * fed to the other side.  Alerts are OpenSSL's own: the client verifies the
 * server chain (and host/IP) against its trust store at cfg->verify_time,
 * so unknown_ca, certificate_expired etc. are what a real client sends.
 */
#include "gen/gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define TLS_MAX_STEPS 40      /* a TLS 1.2/1.3 handshake needs < 10 steps */
#define TLS_APP_BUF 4096
#define GEN_RESUME_TIMEOUT (20L * 365 * 24 * 3600)   /* seconds */

static void tls_keylog_cb(const SSL *ssl, const char *line)
{
    const char *path = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    FILE *f;

    if (path == NULL)
        return;
    f = fopen(path, "a");
    if (f == NULL)
        return;
    fprintf(f, "%s\n", line);
    fclose(f);
}

static int tls_add_trust(SSL_CTX *ctx, const struct gen_cred *const *trust, size_t n)
{
    X509_STORE *st = SSL_CTX_get_cert_store(ctx);

    for (size_t i = 0; i < n; i++) {
        if (trust[i] != NULL && X509_STORE_add_cert(st, trust[i]->cert) != 1)
            return -1;
    }
    return 0;
}

static int tls_versions(SSL_CTX *ctx, int min, int max)
{
    if (min != 0 && SSL_CTX_set_min_proto_version(ctx, min) != 1)
        return -1;
    if (max != 0 && SSL_CTX_set_max_proto_version(ctx, max) != 1)
        return -1;
    return 0;
}

static SSL_CTX *tls_client_ctx(const struct gen_tls_cfg *cfg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL)
        return NULL;
    if (tls_versions(ctx, cfg->client_min, cfg->client_max) != 0)
        goto fail;
    if (cfg->seclevel0)
        SSL_CTX_set_security_level(ctx, 0);
    if (cfg->client_no_etm)
        SSL_CTX_set_options(ctx, SSL_OP_NO_ENCRYPT_THEN_MAC);
    if (cfg->compression) {
        SSL_CTX_set_security_level(ctx, 1);
        SSL_CTX_clear_options(ctx, SSL_OP_NO_COMPRESSION);
    }
    if (cfg->client_ciphers && SSL_CTX_set_cipher_list(ctx, cfg->client_ciphers) != 1)
        goto fail;
    if (cfg->block_padding > 0 && SSL_CTX_set_block_padding(ctx, (size_t)cfg->block_padding) != 1)
        goto fail;
    if (cfg->client_ciphersuites && SSL_CTX_set_ciphersuites(ctx, cfg->client_ciphersuites) != 1)
        goto fail;
    if (cfg->client_groups && SSL_CTX_set1_groups_list(ctx, cfg->client_groups) != 1)
        goto fail;
    if (cfg->client_verify) {
        if (tls_add_trust(ctx, cfg->client_trust, 3) != 0)
            goto fail;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (cfg->client_cert) {
        if (SSL_CTX_use_certificate(ctx, cfg->client_cert->cert) != 1 ||
            SSL_CTX_use_PrivateKey(ctx, cfg->client_cert->key) != 1)
            goto fail;
    }
    if (cfg->client_alpn) {
        unsigned char alpn[256];
        size_t n = strlen(cfg->client_alpn);
        if (n == 0 || n > 255)
            goto fail;
        alpn[0] = (unsigned char)n;
        memcpy(alpn + 1, cfg->client_alpn, n);
        if (SSL_CTX_set_alpn_protos(ctx, alpn, (unsigned)(n + 1)) != 0)   /* 0 = success */
            goto fail;
    }
    if (cfg->keylog_path) {
        SSL_CTX_set_app_data(ctx, (void *)cfg->keylog_path);
        SSL_CTX_set_keylog_callback(ctx, tls_keylog_cb);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* A session ticket carries, encrypted, the time its session was made; the
 * seeded RAND (seedrand.c) fixes every other byte, so the time is pinned to
 * the scenario's own clock to make the ticket, and the fixture, the same on
 * every run. */
static int tls_ticket_time_cb(SSL *s, void *arg)
{
    const struct gen_tls_cfg *cfg = arg;
    SSL_SESSION *sess = SSL_get_session(s);

    if (sess != NULL)
        SSL_SESSION_set_time(sess, cfg->verify_time ? (long)cfg->verify_time : 1773161726L);
    return 1;
}

static SSL_CTX *tls_server_ctx(const struct gen_tls_cfg *cfg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL)
        return NULL;
    if (tls_versions(ctx, cfg->server_min, cfg->server_max) != 0)
        goto fail;
    if (cfg->server_groups && SSL_CTX_set1_groups_list(ctx, cfg->server_groups) != 1)
        goto fail;
    if (cfg->seclevel0)
        SSL_CTX_set_security_level(ctx, 0);
    if (cfg->server_ciphers && SSL_CTX_set_cipher_list(ctx, cfg->server_ciphers) != 1)
        goto fail;
    if (cfg->server_no_ticket)
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (cfg->server_no_tickets && SSL_CTX_set_num_tickets(ctx, 0) != 1)
        goto fail;
    if (cfg->server_ciphersuites && SSL_CTX_set_ciphersuites(ctx, cfg->server_ciphersuites) != 1)
        goto fail;
    if (cfg->block_padding > 0 && SSL_CTX_set_block_padding(ctx, (size_t)cfg->block_padding) != 1)
        goto fail;
    if (cfg->compression) {
        SSL_CTX_set_security_level(ctx, 1);
        SSL_CTX_clear_options(ctx, SSL_OP_NO_COMPRESSION);
    }
    /* A ticket carries the scenario's pinned time (tls_ticket_time_cb),
     * months before the run: a session that must resume outlives that. */
    if (cfg->resume != NULL) {
        static const unsigned char sid_ctx[] = "tlsinspect-gen";

        SSL_CTX_set_timeout(ctx, GEN_RESUME_TIMEOUT);
        /* OpenSSL resumes a session of a server that verifies clients only
         * within the context it was made in (SSL_set_session_id_context). */
        if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1) != 1)
            goto fail;
    }
    /* The chain sent is exactly what the scenario says: no building it
     * from the trust store behind our back (missing-intermediate case). */
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    if (SSL_CTX_set_session_ticket_cb(ctx, tls_ticket_time_cb, NULL, (void *)cfg) != 1)
        goto fail;
    if (cfg->server_cipher_pref)
        SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    else
        SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    for (size_t i = 0; i < 2; i++) {
        const struct gen_cred *c = cfg->server_certs[i];
        STACK_OF(X509) *chain;
        int ok;

        if (c == NULL)
            continue;
        chain = sk_X509_new_null();
        if (chain == NULL)
            goto fail;
        if (cfg->server_send_chain && c->issuer != NULL && !sk_X509_push(chain, c->issuer)) {
            sk_X509_free(chain);
            goto fail;
        }
        /* RSA and ECDSA keys live side by side in one SSL_CTX; OpenSSL
         * picks the one the negotiated suite (or TLS 1.3 sigalg) needs. */
        ok = SSL_CTX_use_cert_and_key(ctx, c->cert, c->key, chain, 1);
        sk_X509_free(chain);
        if (ok != 1)
            goto fail;
    }
    if (cfg->server_request_cert) {
        if (tls_add_trust(ctx, cfg->server_trust, 3) != 0)
            goto fail;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
                           (cfg->server_require_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int gen_transcript_add(struct gen_transcript *t, enum gen_dir dir, const void *data, size_t len)
{
    unsigned char *copy;

    if (len == 0)
        return 0;
    if (t->n >= GEN_MAX_FLIGHTS || len > GEN_MAX_FLIGHT_BYTES)
        return -1;
    copy = malloc(len);
    if (copy == NULL)
        return -1;
    memcpy(copy, data, len);
    t->v[t->n].dir = dir;
    t->v[t->n].data = copy;
    t->v[t->n].len = len;
    t->n++;
    return 0;
}

/* Move what FROM's write BIO holds into a flight and into TO's read BIO. */
static int tls_shuttle(struct gen_transcript *t, enum gen_dir dir, BIO *from, BIO *to, bool *moved)
{
    size_t pending = BIO_ctrl_pending(from);
    unsigned char *buf;
    int n;

    if (pending == 0)
        return 0;
    if (pending > GEN_MAX_FLIGHT_BYTES)
        return -1;
    buf = malloc(pending);
    if (buf == NULL)
        return -1;
    n = BIO_read(from, buf, (int)pending);
    if (n != (int)pending || BIO_write(to, buf, n) != n || gen_transcript_add(t, dir, buf, pending) != 0) {
        free(buf);
        return -1;
    }
    free(buf);
    *moved = true;
    return 0;
}

/* One handshake step of one side: 1 done, 0 wants more, -1 failed. */
static int tls_step(SSL *ssl, bool *done)
{
    int r;

    if (*done)
        return 1;
    r = SSL_do_handshake(ssl);
    if (r == 1) {
        *done = true;
        return 1;
    }
    r = SSL_get_error(ssl, r);
    return (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE) ? 0 : -1;
}

static void tls_note_error(struct gen_transcript *t, SSL *ssl, const char *who)
{
    unsigned long e = ERR_peek_last_error();
    char reason[160] = "";
    long v = SSL_get_verify_result(ssl);

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof reason);
    snprintf(t->error, sizeof t->error, "%s: %s; verify: %s", who, reason,
             X509_verify_cert_error_string(v));
    ERR_clear_error();
}

/* Application data each way, then close_notify from both sides. */
static int tls_app(const struct gen_tls_cfg *cfg, struct gen_transcript *t, SSL *c, SSL *s,
                   BIO *c_in, BIO *c_out, BIO *s_in, BIO *s_out)
{
    char buf[TLS_APP_BUF];
    bool moved = false;

    /* A KeyUpdate (RFC 8446 4.6.3) goes out on its own, before any data. */
    if (cfg->client_key_update &&
        (SSL_key_update(c, SSL_KEY_UPDATE_NOT_REQUESTED) != 1 || SSL_do_handshake(c) != 1 ||
         tls_shuttle(t, GEN_C2S, c_out, s_in, &moved) != 0))
        return -1;
    if (cfg->server_key_update &&
        (SSL_key_update(s, SSL_KEY_UPDATE_NOT_REQUESTED) != 1 || SSL_do_handshake(s) != 1 ||
         tls_shuttle(t, GEN_S2C, s_out, c_in, &moved) != 0))
        return -1;
    if (cfg->server_first && cfg->response != NULL) {
        if (SSL_write(s, cfg->response, (int)strlen(cfg->response)) <= 0 ||
            tls_shuttle(t, GEN_S2C, s_out, c_in, &moved) != 0 || SSL_read(c, buf, sizeof buf) <= 0)
            return -1;
    }
    for (int round = 0; cfg->request != NULL && round < (cfg->app_rounds > 0 ? cfg->app_rounds : 1);
         round++) {
        if (SSL_write(c, cfg->request, (int)strlen(cfg->request)) <= 0 ||
            tls_shuttle(t, GEN_C2S, c_out, s_in, &moved) != 0)
            return -1;
        if (SSL_read(s, buf, sizeof buf) <= 0)
            return -1;
        if (tls_shuttle(t, GEN_S2C, s_out, c_in, &moved) != 0)
            return -1;
        if (cfg->response != NULL) {
            if (SSL_write(s, cfg->response, (int)strlen(cfg->response)) <= 0 ||
                tls_shuttle(t, GEN_S2C, s_out, c_in, &moved) != 0)
                return -1;
            if (SSL_read(c, buf, sizeof buf) <= 0)
                return -1;
        }
    }
    /* close_notify: client first (the Expressway ends its request), then
     * the server answers with its own. */
    SSL_shutdown(c);
    if (tls_shuttle(t, GEN_C2S, c_out, s_in, &moved) != 0)
        return -1;
    if (SSL_read(s, buf, sizeof buf) > 0)
        return -1;
    SSL_shutdown(s);
    if (tls_shuttle(t, GEN_S2C, s_out, c_in, &moved) != 0)
        return -1;
    ERR_clear_error();
    return 0;
}

void gen_resume_free(struct gen_resume *r)
{
    SSL_SESSION_free(r->sess);
    SSL_CTX_free(r->sctx);
    r->sess = NULL;
    r->sctx = NULL;
}

/* The server context: the one kept for resumption, or a new one. */
static SSL_CTX *tls_server_for(const struct gen_tls_cfg *cfg)
{
    SSL_CTX *ctx;

    if (cfg->resume != NULL && cfg->resume->sctx != NULL)
        return SSL_CTX_up_ref(cfg->resume->sctx) == 1 ? cfg->resume->sctx : NULL;
    ctx = tls_server_ctx(cfg);
    if (ctx != NULL && cfg->resume != NULL && SSL_CTX_up_ref(ctx) == 1)
        cfg->resume->sctx = ctx;
    return ctx;
}

/* The client's session after the run (TLS 1.3: from the NewSessionTicket
 * read with the response), to be offered by the next connection. */
static void tls_keep_session(const struct gen_tls_cfg *cfg, SSL *c)
{
    SSL_SESSION *sess;

    if (cfg->resume == NULL || (sess = SSL_get1_session(c)) == NULL)
        return;
    SSL_SESSION_free(cfg->resume->sess);
    cfg->resume->sess = sess;
}

int gen_tls_run(const struct gen_tls_cfg *cfg, struct gen_transcript *t)
{
    SSL_CTX *cctx = tls_client_ctx(cfg), *sctx = tls_server_for(cfg);
    SSL *c = NULL, *s = NULL;
    BIO *c_in, *c_out, *s_in, *s_out;
    bool cdone = false, sdone = false;
    int rc = -1;

    memset(t, 0, sizeof *t);
    t->failed_side = -1;
    if (cctx == NULL || sctx == NULL)
        goto out;
    c = SSL_new(cctx);
    s = SSL_new(sctx);
    if (c == NULL || s == NULL)
        goto out;
    c_in = BIO_new(BIO_s_mem());
    c_out = BIO_new(BIO_s_mem());
    s_in = BIO_new(BIO_s_mem());
    s_out = BIO_new(BIO_s_mem());
    if (c_in == NULL || c_out == NULL || s_in == NULL || s_out == NULL) {
        BIO_free(c_in);
        BIO_free(c_out);
        BIO_free(s_in);
        BIO_free(s_out);
        goto out;
    }
    SSL_set_bio(c, c_in, c_out);
    SSL_set_bio(s, s_in, s_out);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    if (cfg->sni && SSL_set_tlsext_host_name(c, cfg->sni) != 1)
        goto out;
    if (cfg->resume != NULL && cfg->resume->sess != NULL &&
        SSL_set_session(c, cfg->resume->sess) != 1)
        goto out;
    if (cfg->verify_time) {
        X509_VERIFY_PARAM_set_time(SSL_get0_param(c), cfg->verify_time);
        X509_VERIFY_PARAM_set_time(SSL_get0_param(s), cfg->verify_time);
    }
    if (cfg->verify_host && X509_VERIFY_PARAM_set1_host(SSL_get0_param(c), cfg->verify_host, 0) != 1)
        goto out;
    if (cfg->verify_ip && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c), cfg->verify_ip) != 1)
        goto out;

    for (int step = 0; step < TLS_MAX_STEPS && !(cdone && sdone); step++) {
        bool moved = false;
        int r = tls_step(c, &cdone);

        if (tls_shuttle(t, GEN_C2S, c_out, s_in, &moved) != 0)
            goto out;
        if (r < 0) {
            t->failed_side = GEN_C2S;
            tls_note_error(t, c, "client");
            break;
        }
        r = tls_step(s, &sdone);
        if (tls_shuttle(t, GEN_S2C, s_out, c_in, &moved) != 0)
            goto out;
        if (r < 0) {
            t->failed_side = GEN_S2C;
            tls_note_error(t, s, "server");
            break;
        }
        if (!moved && !(cdone && sdone))
            break;              /* stuck: nobody has anything to say */
    }
    t->complete = cdone && sdone;
    t->resumed = SSL_session_reused(c) == 1;
    snprintf(t->version, sizeof t->version, "%s", SSL_get_version(c));
    {
        /* an aborted TLS 1.2 handshake has only the pending (ServerHello) suite */
        const SSL_CIPHER *ci = SSL_get_current_cipher(c);

        if (ci == NULL)
            ci = SSL_get_pending_cipher(c);
        if (ci == NULL)
            ci = SSL_get_current_cipher(s);
        if (ci == NULL)
            ci = SSL_get_pending_cipher(s);
        if (ci != NULL)
            snprintf(t->cipher, sizeof t->cipher, "%s", SSL_CIPHER_get_name(ci));
    }
    {
        const COMP_METHOD *cm = SSL_get_current_compression(c);

        if (cm != NULL)
            snprintf(t->compression, sizeof t->compression, "%s", SSL_COMP_get_name(cm));
    }
    if (t->complete && tls_app(cfg, t, c, s, c_in, c_out, s_in, s_out) != 0)
        goto out;
    tls_keep_session(cfg, c);
    rc = 0;
out:
    if (rc != 0)
        ERR_print_errors_fp(stderr);
    ERR_clear_error();
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    return rc;
}

void gen_transcript_free(struct gen_transcript *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].data);
    t->n = 0;
}
