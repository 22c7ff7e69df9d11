/* scen_post13.c - TLS 1.3 variants a field capture brings, for the inference
 * without keys (issue 17): each fixture comes with the client's key log, so
 * tshark (and tlsinspect --keylog) tell the truth the keyless reading is
 * checked against.
 *
 *   tls13-mtls-keys.pcap  CUCM rejects the Expressway-C client certificate
 *       (unknown_ca under its application keys) with server keys RSA-4096,
 *       ECDSA P-256 (both CA-signed, minted here) and the self-signed P-384
 *       (trusted by the client); then a client with no certificate at all,
 *       which the server refuses with certificate_required (116); the
 *       rejection again with 64-byte record padding, and both cases with
 *       TLS_AES_128_CCM_8_SHA256 (an 8-byte tag: other record sizes).
 *   tls13-abort-segments.pcap  the client aborts on the server's flight
 *       (unknown_ca, self-signed P-384): the server flight cut in 100-byte
 *       segments; the same with HelloRetryRequest first; then a
 *       HelloRetryRequest followed by success.
 *   tls13-post-handshake.pcap  successes with what follows the handshake:
 *       no tickets and the client's close_notify right after its Finished
 *       (in the same segment); tickets and the same; a KeyUpdate from each
 *       side before the data; record padding to 64-byte blocks on both
 *       sides; only the client sends data (no tickets); only the server
 *       sends data (no tickets).
 *   close-notify-12-13.pcap  healthy sessions ended by close_notify each
 *       way: TLS 1.2, TLS 1.3 with tickets, TLS 1.3 without tickets.
 * Seeded from the fixture name like the others (scenarios.c).
 */
#include "gen/gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#define P13_T0 1773161726ULL        /* 2026-03-10T16:55:26Z, as post-upgrade */
#define P13_CLIENT "10.48.36.46"
#define P13_CUCM "10.48.36.215"
#define P13_PATH_MAX 1024
#define P13_TLS13 "TLS_AES_256_GCM_SHA384"
#define P13_TLS12 "ECDHE-RSA-AES256-GCM-SHA384"
#define P13_CCM8 "TLS_AES_128_CCM_8_SHA256"  /* an 8-byte tag */
#define P13_GAP (GEN_US / 2)        /* between two connections */
#define P13_SMALL_MSS 100           /* the server flight in many segments */

enum p13_exp { P13_COMPLETE, P13_CLIENT_FAIL, P13_SERVER_FAIL };

/* One connection: its handshake, what it must end as, how it is cut. */
struct p13_leg {
    const char *label;
    uint16_t port;
    enum p13_exp exp;
    const char *cipher;
    uint16_t mss_c;                 /* the MSS the client announces; 0: default */
    bool merge_client_tail;         /* the client's Finished and close_notify in one segment */
};

/* Adjacent flights of one side become one (one write, one segment when it
 * fits): a client that closes right after its Finished. */
static void p13_merge_tail(struct gen_transcript *t)
{
    for (size_t i = 0; i + 1 < t->n; i++) {
        struct gen_flight *a = &t->v[i], *b = &t->v[i + 1];
        unsigned char *m;

        if (a->dir != GEN_C2S || b->dir != GEN_C2S)
            continue;
        m = realloc(a->data, a->len + b->len);
        if (m == NULL)
            return;
        memcpy(m + a->len, b->data, b->len);
        a->data = m;
        a->len += b->len;
        free(b->data);
        memmove(&t->v[i + 1], &t->v[i + 2], (t->n - i - 2) * sizeof t->v[0]);
        t->n--;
        i--;
    }
}

static int p13_leg(const struct p13_leg *g, const struct gen_tls_cfg *tls, struct gen_rng *rng,
                   struct gen_pktlist *out, uint64_t *t)
{
    struct gen_conn_params cp;
    struct gen_transcript tr;
    bool ok;

    if (gen_tls_run(tls, &tr) != 0) {
        fprintf(stderr, "gen: %s: TLS set-up failed\n", g->label);
        gen_transcript_free(&tr);
        return -1;
    }
    ok = (g->exp == P13_COMPLETE ? tr.complete
          : g->exp == P13_CLIENT_FAIL ? tr.failed_side == GEN_C2S : tr.failed_side == GEN_S2C) &&
         strcmp(tr.cipher, g->cipher) == 0;
    fprintf(stderr, "  %-34s :%u  %s %s  %s%s%s\n", g->label, g->port, tr.version,
            tr.cipher[0] ? tr.cipher : "-", tr.complete ? "complete" : "FAILED",
            tr.error[0] ? "  " : "", tr.error);
    if (!ok) {
        fprintf(stderr, "gen: %s: unexpected outcome (wanted %s with %s)\n", g->label,
                g->exp == P13_COMPLETE ? "complete" : g->exp == P13_CLIENT_FAIL ? "client abort"
                                                                                 : "server abort",
                g->cipher);
        gen_transcript_free(&tr);
        return -1;
    }
    if (g->merge_client_tail)
        p13_merge_tail(&tr);
    gen_conn_defaults(&cp, rng, P13_CLIENT, P13_CUCM, g->port, *t);
    if (g->mss_c != 0)
        cp.mss_c = g->mss_c;
    cp.close = g->exp == P13_CLIENT_FAIL   ? GEN_CLOSE_CLIENT_RST
               : g->exp == P13_SERVER_FAIL ? GEN_CLOSE_SERVER_FIN_CLIENT_RST
                                           : GEN_CLOSE_ORDERLY;
    *t = gen_conn_emit(&cp, &tr, out) + P13_GAP + gen_rng_range(rng, 0, 20000);
    gen_transcript_free(&tr);
    return 0;
}

/* The pcap, its .args and an emptied key log path. */
static int p13_keylog(const struct gen_ctx *ctx, const char *keys, char *path)
{
    int n = snprintf(path, P13_PATH_MAX, "%s/%s", ctx->outdir, keys);

    if (n < 0 || n >= P13_PATH_MAX)
        return -1;
    return unlink(path) != 0 && errno != ENOENT ? -1 : 0;
}

static int p13_write(const struct gen_ctx *ctx, const char *file, struct gen_pktlist *l,
                     const char *args)
{
    gen_pktlist_sort(l);
    if (gen_write_list(ctx, file, GEN_FMT_PCAP, GEN_LINK_ETH, 0, l) != 0)
        return -1;
    return gen_write_args(ctx, file, args);
}

/* A CUCM tomcat leaf signed by the lab intermediate, with a key of its own
 * (RSA bits, or an EC curve), minted from the fixture's seeded RAND. */
static int p13_mint(struct gen_cred *c, const struct gen_pki *pki, const char *type,
                    const char *param, size_t bits, long serial)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    static const struct { int nid; const char *value; } exts[] = {
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
        {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
        {NID_ext_key_usage, "serverAuth,clientAuth"},
        {NID_subject_alt_name, "DNS:cucm.steven.lab"},
    };
    int rc = -1;

    memset(c, 0, sizeof *c);
    c->key = param != NULL ? EVP_PKEY_Q_keygen(NULL, NULL, type, param)
                           : EVP_PKEY_Q_keygen(NULL, NULL, type, bits);
    if (x == NULL || name == NULL || c->key == NULL)
        goto out;
    if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
        !X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Cisco", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"cucm.steven.lab", -1, -1, 0) ||
        !X509_set_subject_name(x, name) ||
        !X509_set_issuer_name(x, X509_get_subject_name(pki->inter.cert)) ||
        !ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20250101000000Z") ||
        !ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "20350101000000Z") ||
        !X509_set_pubkey(x, c->key))
        goto out;
    X509V3_set_ctx(&v3, pki->inter.cert, x, NULL, NULL, 0);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        ext = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);
        if (ext == NULL || !X509_add_ext(x, ext, -1)) {
            X509_EXTENSION_free(ext);
            goto out;
        }
        X509_EXTENSION_free(ext);
    }
    if (X509_sign(x, pki->inter.key, EVP_sha256()) == 0)
        goto out;
    c->cert = x;
    c->issuer = pki->inter.cert;
    x = NULL;
    rc = 0;
out:
    if (rc != 0)
        ERR_print_errors_fp(stderr);
    X509_NAME_free(name);
    X509_free(x);
    return rc;
}

static void p13_cred_free(struct gen_cred *c)
{
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
    memset(c, 0, sizeof *c);
}

/* The X14.2 client to CUCM 8443 with TLS 1.3 allowed, its key log on. */
static void p13_base(struct gen_tls_cfg *tls, const struct gen_pki *pki, const char *keylog)
{
    gen_profile_rsa_ok(tls, pki, P13_T0);
    tls->server_max = 0;
    tls->keylog_path = keylog;
}

/* Mutual TLS rejected by CUCM, for each server key; then no certificate. */
int gen_fx_tls13_mtls_keys(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct p13_leg legs[] = {
        {"mTLS rejected, server RSA-4096", 8443, P13_SERVER_FAIL, P13_TLS13, 0, false},
        {"mTLS rejected, server EC P-256", 8443, P13_SERVER_FAIL, P13_TLS13, 0, false},
        {"mTLS rejected, server EC P-384 s-s", 8443, P13_SERVER_FAIL, P13_TLS13, 0, false},
        {"mTLS, client has no certificate", 8443, P13_SERVER_FAIL, P13_TLS13, 0, false},
        {"mTLS rejected, 64-byte padding", 8443, P13_SERVER_FAIL, P13_TLS13, 0, false},
        {"mTLS rejected, AES-128-CCM-8", 8443, P13_SERVER_FAIL, P13_CCM8, 0, false},
        {"mTLS, no certificate, AES-128-CCM-8", 8443, P13_SERVER_FAIL, P13_CCM8, 0, false},
    };
    const struct gen_pki *p = &ctx->pki;
    struct gen_cred rsa4096, ec256;
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_pktlist l = {0};
    char keys[P13_PATH_MAX];
    uint64_t t = P13_T0 * GEN_US + 7000;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    memset(&rsa4096, 0, sizeof rsa4096);
    memset(&ec256, 0, sizeof ec256);
    if (p13_keylog(ctx, "tls13-mtls-keys.keys", keys) != 0 ||
        p13_mint(&rsa4096, p, "RSA", NULL, 4096, 0x5e40) != 0 ||
        p13_mint(&ec256, p, "EC", "P-256", 0, 0x5e41) != 0)
        goto out;
    for (size_t i = 0; i < sizeof legs / sizeof legs[0]; i++) {
        p13_base(&tls, p, keys);
        tls.server_request_cert = true;
        tls.server_require_cert = true;
        tls.server_trust[0] = &p->root;          /* CUCM tomcat-trust: not the Expressway CA */
        tls.client_cert = i == 3 || i == 6 ? NULL : &p->expw_client;
        tls.server_certs[0] = i == 0 ? &rsa4096 : i == 1 ? &ec256 : i == 2 ? &p->cucm_ec
                                                                           : &p->cucm_rsa;
        tls.client_trust[1] = &p->cucm_ec;       /* the self-signed one is trusted here */
        if (i == 4)
            tls.block_padding = 64;
        if (i >= 5)
            tls.client_ciphersuites = tls.server_ciphersuites = P13_CCM8;
        if (p13_leg(&legs[i], &tls, &rng, &l, &t) != 0)
            goto out;
    }
    rc = p13_write(ctx, fx->name, &l,
                   "--cafile captures/pki/expressway-trust.pem --client-cafile "
                   "captures/pki/cucm-trust.pem");
out:
    p13_cred_free(&rsa4096);
    p13_cred_free(&ec256);
    gen_pktlist_free(&l);
    return rc;
}

/* The client aborts on the server's flight, in small segments, with and
 * without a HelloRetryRequest; then a HelloRetryRequest that succeeds. */
int gen_fx_tls13_abort_segments(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct p13_leg legs[] = {
        {"unknown_ca, flight in 100-byte segs", 6972, P13_CLIENT_FAIL, P13_TLS13, P13_SMALL_MSS,
         false},
        {"HRR, then unknown_ca", 6972, P13_CLIENT_FAIL, P13_TLS13, 0, false},
        {"HRR, then success, 100-byte segs", 8443, P13_COMPLETE, P13_TLS13, P13_SMALL_MSS, false},
    };
    const struct gen_pki *p = &ctx->pki;
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_pktlist l = {0};
    char keys[P13_PATH_MAX];
    uint64_t t = P13_T0 * GEN_US + 7000;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    if (p13_keylog(ctx, "tls13-abort-segments.keys", keys) != 0)
        goto out;
    for (size_t i = 0; i < sizeof legs / sizeof legs[0]; i++) {
        if (legs[i].port == 6972) {
            gen_profile_field_case(&tls, p, P13_T0);
            tls.server_max = 0;
            tls.keylog_path = keys;
        } else {
            p13_base(&tls, p, keys);
        }
        if (i > 0) {
            tls.client_groups = "X25519:P-256";
            tls.server_groups = "P-256";
        }
        if (p13_leg(&legs[i], &tls, &rng, &l, &t) != 0)
            goto out;
    }
    rc = p13_write(ctx, fx->name, &l, "--cafile captures/pki/expressway-trust.pem");
out:
    gen_pktlist_free(&l);
    return rc;
}

/* Successes and what follows their handshakes. */
int gen_fx_tls13_post_handshake(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct p13_leg legs[] = {
        {"no tickets, close right after Fin", 8443, P13_COMPLETE, P13_TLS13, 0, true},
        {"tickets, close right after Fin", 8443, P13_COMPLETE, P13_TLS13, 0, true},
        {"KeyUpdate both ways", 8443, P13_COMPLETE, P13_TLS13, 0, false},
        {"padding to 64-byte blocks", 8443, P13_COMPLETE, P13_TLS13, 0, false},
        {"only the client sends data", 8443, P13_COMPLETE, P13_TLS13, 0, false},
        {"only the server sends data", 8443, P13_COMPLETE, P13_TLS13, 0, false},
        {"no tickets, KeyUpdates, padding", 8443, P13_COMPLETE, P13_TLS13, 0, false},
    };
    const struct gen_pki *p = &ctx->pki;
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_pktlist l = {0};
    char keys[P13_PATH_MAX];
    uint64_t t = P13_T0 * GEN_US + 7000;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    if (p13_keylog(ctx, "tls13-post-handshake.keys", keys) != 0)
        goto out;
    for (size_t i = 0; i < sizeof legs / sizeof legs[0]; i++) {
        p13_base(&tls, p, keys);
        switch (i) {
        case 0: tls.server_no_tickets = true; tls.request = NULL; break;
        case 1: tls.request = NULL; break;
        case 2: tls.client_key_update = tls.server_key_update = true; break;
        case 3: tls.block_padding = 64; break;
        case 4: tls.server_no_tickets = true; tls.response = NULL; break;
        case 5: tls.server_no_tickets = true; tls.request = NULL; tls.server_first = true; break;
        default:
            tls.server_no_tickets = true;
            tls.client_key_update = tls.server_key_update = true;
            tls.block_padding = 32;
            break;
        }
        if (p13_leg(&legs[i], &tls, &rng, &l, &t) != 0)
            goto out;
    }
    rc = p13_write(ctx, fx->name, &l, "--cafile captures/pki/expressway-trust.pem");
out:
    gen_pktlist_free(&l);
    return rc;
}

/* Healthy sessions ended by close_notify both ways. */
int gen_fx_close_notify_12_13(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct p13_leg legs[] = {
        {"TLS 1.2, close_notify both ways", 8443, P13_COMPLETE, P13_TLS12, 0, false},
        {"TLS 1.3, tickets, close_notify", 8443, P13_COMPLETE, P13_TLS13, 0, false},
        {"TLS 1.3, no tickets, close_notify", 8443, P13_COMPLETE, P13_TLS13, 0, false},
    };
    const struct gen_pki *p = &ctx->pki;
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_pktlist l = {0};
    char keys[P13_PATH_MAX];
    uint64_t t = P13_T0 * GEN_US + 7000;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    if (p13_keylog(ctx, "close-notify-12-13.keys", keys) != 0)
        goto out;
    for (size_t i = 0; i < sizeof legs / sizeof legs[0]; i++) {
        p13_base(&tls, p, keys);
        if (i == 0)
            tls.server_max = TLS1_2_VERSION;
        tls.server_no_tickets = i == 2;
        if (p13_leg(&legs[i], &tls, &rng, &l, &t) != 0)
            goto out;
    }
    rc = p13_write(ctx, fx->name, &l, "--cafile captures/pki/expressway-trust.pem");
out:
    gen_pktlist_free(&l);
    return rc;
}
