/* scen_resume.c - issue 17 fixtures: resumed sessions, TLS 1.2 suites opened
 * with a key log, padded and PPPoE frames.
 *
 * Every connection is a real OpenSSL handshake (tlspair.c) and each one is
 * checked: complete, the suite wanted, and resumed exactly when it should
 * be, so an OpenSSL that stops resuming (or negotiating a suite) fails the
 * generator instead of writing a fixture that no longer shows the case.
 */
#include "gen/gen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define POST_T0 1773161726ULL      /* 2026-03-10T16:55:26Z, as in scenarios.c */
#define EXPW_IP "10.48.36.46"
#define CUCM_IP "10.48.36.215"
#define TRUST_ARGS "--cafile captures/pki/expressway-trust.pem"
#define PATH_MAX_GEN 1024
#define RECONNECT_GAP (GEN_US / 2) /* the Expressway-C's next request to the same node */
#define PPPOE_MSS 1452             /* MTU 1492 (RFC 2516 7) less 40 bytes of headers */

/* One connection of a fixture and what it must show. */
struct leg {
    const char *label;
    uint16_t sport;
    const char *cipher;            /* OpenSSL name of the suite it must select */
    bool resumed;                  /* it must resume the previous session */
    uint16_t mss;                  /* both sides' MSS; 0: the default */
};

/* Run the handshake, check it, emit its packets after *t; *t becomes the
 * time the next connection starts. */
static int run_leg(const struct leg *g, const struct gen_tls_cfg *tls, struct gen_rng *rng,
                   uint32_t tag, struct gen_pktlist *out, uint64_t *t)
{
    struct gen_conn_params cp;
    struct gen_transcript tr;
    uint64_t end;

    if (gen_tls_run(tls, &tr) != 0) {
        fprintf(stderr, "gen: %s: TLS set-up failed\n", g->label);
        gen_transcript_free(&tr);
        return -1;
    }
    fprintf(stderr, "  %-28s :%u  %s %s  %s%s\n", g->label, g->sport, tr.version, tr.cipher,
            tr.complete ? "complete" : "FAILED", tr.resumed ? " (resumed)" : "");
    if (!tr.complete || strcmp(tr.cipher, g->cipher) != 0 || tr.resumed != g->resumed) {
        fprintf(stderr, "gen: %s: wanted a complete %s%s handshake (%s)\n", g->label,
                g->resumed ? "resumed " : "", g->cipher, tr.error);
        gen_transcript_free(&tr);
        return -1;
    }
    gen_conn_defaults(&cp, rng, EXPW_IP, CUCM_IP, g->sport, *t);
    if (g->mss != 0)
        cp.mss_c = cp.mss_s = g->mss;
    cp.conn = tag;
    end = gen_conn_emit(&cp, &tr, out);
    gen_transcript_free(&tr);
    *t = end + RECONNECT_GAP + gen_rng_range(rng, 0, 20000);
    return 0;
}

/* An empty key log at OUTDIR/keys (the callback appends). */
static int fresh_keylog(const struct gen_ctx *ctx, const char *keys, char *path)
{
    int n = snprintf(path, PATH_MAX_GEN, "%s/%s", ctx->outdir, keys);

    if (n < 0 || n >= PATH_MAX_GEN)
        return -1;
    return unlink(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* Resumption as the Expressway-C does it, reconnecting to the same node:
 *   8443, TLS 1.2, tickets off: full handshake, then resumed by session ID;
 *   6972, TLS 1.2 with tickets (CertificateRequest, fix-prefix client list):
 *         full handshake with a NewSessionTicket, then resumed by ticket;
 *   8443, TLS 1.3: full handshake, then resumed with the ticket as a PSK
 *         (psk_dhe_ke).
 * The client's key log is written beside it (resumption.keys). */
int gen_fx_resumption(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct leg legs[] = {
        {"session-id full", 8443, "ECDHE-RSA-AES256-GCM-SHA384", false, 0},
        {"session-id resumed", 8443, "ECDHE-RSA-AES256-GCM-SHA384", true, 0},
        {"ticket full", 6972, "ECDHE-RSA-AES256-GCM-SHA384", false, 0},
        {"ticket resumed", 6972, "ECDHE-RSA-AES256-GCM-SHA384", true, 0},
        {"tls13 full", 8443, "TLS_AES_256_GCM_SHA384", false, 0},
        {"tls13 psk resumed", 8443, "TLS_AES_256_GCM_SHA384", true, 0},
    };
    struct gen_tls_cfg tls[3];
    struct gen_resume res[3];
    struct gen_rng rng;
    struct gen_pktlist l = {0};
    char kpath[PATH_MAX_GEN], fix_list[512];
    uint64_t t = POST_T0 * GEN_US + 7000;
    int rc = -1;

    memset(res, 0, sizeof res);
    if (fresh_keylog(ctx, "resumption.keys", kpath) != 0)
        return -1;
    gen_profile_rsa_ok(&tls[0], &ctx->pki, POST_T0);
    tls[0].server_no_ticket = true;
    gen_profile_field_case(&tls[1], &ctx->pki, POST_T0);
    snprintf(fix_list, sizeof fix_list, "ECDHE-RSA-AES256-GCM-SHA384:%s", tls[1].client_ciphers);
    tls[1].client_ciphers = fix_list;
    gen_profile_rsa_ok(&tls[2], &ctx->pki, POST_T0);
    tls[2].server_max = 0;                       /* TLS 1.3 allowed */
    for (int k = 0; k < 3; k++) {
        tls[k].resume = &res[k];
        tls[k].keylog_path = kpath;
    }
    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    for (size_t i = 0; i < sizeof legs / sizeof legs[0]; i++)
        if (run_leg(&legs[i], &tls[i / 2], &rng, (uint32_t)i + 1, &l, &t) != 0)
            goto out;
    gen_pktlist_sort(&l);
    if (gen_write_list(ctx, fx->name, GEN_FMT_PCAP, GEN_LINK_ETH, 0, &l) == 0 &&
        gen_write_args(ctx, fx->name, TRUST_ARGS) == 0)
        rc = 0;
out:
    for (int k = 0; k < 3; k++)
        gen_resume_free(&res[k]);
    gen_pktlist_free(&l);
    return rc;
}

/* TLS 1.2 suites beyond AES-GCM, one connection each, with the client's
 * key log (keylog-suites-12.keys): Camellia-CBC with encrypt_then_mac and
 * without (MAC-then-encrypt), ARIA-GCM, AES-CCM_8 (8-byte tags) and
 * NULL-SHA256 (no encryption, security level 0). */
int gen_fx_keylog_suites(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct leg legs[] = {
        {"camellia128 etm", 8443, "ECDHE-RSA-CAMELLIA128-SHA256", false, 0},
        {"camellia256 mte", 8443, "ECDHE-RSA-CAMELLIA256-SHA384", false, 0},
        {"aria128 gcm", 8443, "ECDHE-ARIA128-GCM-SHA256", false, 0},
        {"aes128 ccm8", 8443, "AES128-CCM8", false, 0},
        {"null sha256", 8443, "NULL-SHA256", false, 0},
    };
    struct gen_tls_cfg tls;
    struct gen_rng rng;
    struct gen_pktlist l = {0};
    char kpath[PATH_MAX_GEN], args[PATH_MAX_GEN];
    uint64_t t = POST_T0 * GEN_US + 7000;
    int rc = -1;

    if (fresh_keylog(ctx, "keylog-suites-12.keys", kpath) != 0)
        return -1;
    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    for (size_t i = 0; i < sizeof legs / sizeof legs[0]; i++) {
        gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
        /* OpenSSL 3's DEFAULT list leaves Camellia and ARIA out: the
         * server is told to accept the suite */
        tls.client_ciphers = tls.server_ciphers = legs[i].cipher;
        tls.client_max = TLS1_2_VERSION;
        tls.keylog_path = kpath;
        tls.client_no_etm = strstr(legs[i].label, "mte") != NULL;
        tls.seclevel0 = strcmp(legs[i].cipher, "NULL-SHA256") == 0;
        if (run_leg(&legs[i], &tls, &rng, (uint32_t)i + 1, &l, &t) != 0)
            goto out;
    }
    gen_pktlist_sort(&l);
    snprintf(args, sizeof args, TRUST_ARGS " --keylog captures/keylog-suites-12.keys");
    if (gen_write_list(ctx, fx->name, GEN_FMT_PCAP, GEN_LINK_ETH, 0, &l) == 0 &&
        gen_write_args(ctx, fx->name, args) == 0)
        rc = 0;
out:
    gen_pktlist_free(&l);
    return rc;
}

/* The RSA success twice on an Ethernet capture whose short frames (ACKs,
 * FINs: 54 bytes) are padded with zeros to 60; the second connection runs
 * over PPPoE (MSS 1452, as a client behind a 1492-byte MTU clamps it).  The padding is not TCP payload: the IP total
 * length says where the packet ends. */
int gen_fx_padded_frames(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct leg legs[] = {
        {"ethernet padded", 8443, "ECDHE-RSA-AES256-GCM-SHA384", false, 0},
        {"pppoe", 8443, "ECDHE-RSA-AES256-GCM-SHA384", false, PPPOE_MSS},
    };
    struct gen_tls_cfg tls;
    struct gen_rng rng;
    struct gen_pktlist l = {0};
    struct gen_writer w;
    char path[PATH_MAX_GEN];
    uint64_t t = POST_T0 * GEN_US + 7000;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    for (size_t i = 0; i < sizeof legs / sizeof legs[0]; i++)
        if (run_leg(&legs[i], &tls, &rng, (uint32_t)i + 1, &l, &t) != 0)
            goto out;
    gen_pktlist_sort(&l);
    if (snprintf(path, sizeof path, "%s/%s", ctx->outdir, fx->name) >= (int)sizeof path ||
        gen_writer_open(&w, path, GEN_FMT_PCAP, GEN_LINK_ETH_PAD, 0) != 0)
        goto out;
    rc = 0;
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        w.link = l.v[i].conn == 2 ? GEN_LINK_PPPOE : GEN_LINK_ETH_PAD;
        rc = gen_writer_put(&w, &l.v[i], NULL);
    }
    if (gen_writer_close(&w) != 0 || rc != 0 || gen_write_args(ctx, fx->name, TRUST_ARGS) != 0)
        rc = -1;
out:
    gen_pktlist_free(&l);
    return rc;
}
