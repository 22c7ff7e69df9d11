/* scen_compress.c - issue 17 fixture: TLS 1.2 with DEFLATE compression and a
 * key log.
 *
 * OpenSSL negotiates compression method 1 (DEFLATE, RFC 3749) only when it
 * was built with zlib (enable-zlib) and both sides clear
 * SSL_OP_NO_COMPRESSION at security level 1 (level 2 and up forbid it).
 * Debian's libssl is built without zlib, so this fixture is written by the
 * generator linked against such a build (captures/README.md); linked
 * against an OpenSSL without zlib the handshake completes uncompressed and
 * the scenario fails rather than write a fixture that does not show the case.
 */
#include "gen/gen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define POST_T0 1773161726ULL      /* 2026-03-10T16:55:26Z, as in scenarios.c */
#define EXPW_IP "10.48.36.46"
#define CUCM_IP "10.48.36.215"
#define PATH_MAX_GEN 1024
#define SUITE "ECDHE-RSA-AES256-GCM-SHA384"

/* Compressible text each way, three times: the later records lean on the
 * history of the earlier ones (one zlib stream per direction). */
#define REQ "GET /cucm-uds/users?name=jsmith&max=64 HTTP/1.1\r\n" \
            "Host: cucm.steven.lab:8443\r\nAccept: application/xml\r\n" \
            "User-Agent: Expressway-C/X14.2 (edge config provisioning)\r\n" \
            "Authorization: Basic ZXhwcmVzc3dheTpleHByZXNzd2F5\r\n\r\n"
#define RSP_ROW "<user><userName>jsmith</userName><firstName>John</firstName>" \
                "<lastName>Smith</lastName><homeCluster>cucm.steven.lab</homeCluster></user>\n"
#define RSP "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n\r\n<users>\n" \
            RSP_ROW RSP_ROW RSP_ROW RSP_ROW RSP_ROW RSP_ROW RSP_ROW RSP_ROW "</users>\n"

int gen_fx_compressed_12(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_tls_cfg tls;
    struct gen_transcript tr;
    struct gen_conn_params cp;
    struct gen_rng rng;
    struct gen_pktlist l = {0};
    char kpath[PATH_MAX_GEN], args[PATH_MAX_GEN];
    int rc = -1, n;

    /* A full run with an OpenSSL without zlib (Debian's) keeps the
     * committed fixture; asked for by name, it must be made or fail. */
    if (!ctx->only && sk_SSL_COMP_num(SSL_COMP_get_compression_methods()) <= 0) {
        fprintf(stderr, "  skipped: this OpenSSL has no zlib compression; the committed "
                        "fixture stays (see captures/README.md)\n");
        return 0;
    }
    n = snprintf(kpath, sizeof kpath, "%s/compressed-12.keys", ctx->outdir);
    if (n < 0 || n >= (int)sizeof kpath || (unlink(kpath) != 0 && errno != ENOENT))
        return -1;
    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    tls.client_max = TLS1_2_VERSION;
    tls.client_ciphers = tls.server_ciphers = SUITE;
    tls.keylog_path = kpath;
    tls.compression = true;
    tls.request = REQ;
    tls.response = RSP;
    tls.app_rounds = 3;
    if (gen_tls_run(&tls, &tr) != 0) {
        fprintf(stderr, "gen: %s: TLS set-up failed\n", fx->name);
        gen_transcript_free(&tr);
        return -1;
    }
    fprintf(stderr, "  compressed                   :8443  %s %s  %s  compression %s\n",
            tr.version, tr.cipher, tr.complete ? "complete" : "FAILED",
            tr.compression[0] != '\0' ? tr.compression : "none");
    if (!tr.complete || strcmp(tr.cipher, SUITE) != 0 || tr.compression[0] == '\0') {
        fprintf(stderr, "gen: %s: wanted a complete %s handshake with compression (%s)%s\n",
                fx->name, SUITE, tr.error,
                tr.compression[0] == '\0' ? "; this OpenSSL has no zlib: link the generator "
                                            "against one built with enable-zlib "
                                            "(captures/README.md)" : "");
        gen_transcript_free(&tr);
        return -1;
    }
    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    gen_conn_defaults(&cp, &rng, EXPW_IP, CUCM_IP, 8443, POST_T0 * GEN_US + 7000);
    cp.conn = 1;
    (void)gen_conn_emit(&cp, &tr, &l);
    gen_transcript_free(&tr);
    gen_pktlist_sort(&l);
    snprintf(args, sizeof args,
             "--cafile captures/pki/expressway-trust.pem --keylog captures/compressed-12.keys");
    if (gen_write_list(ctx, fx->name, GEN_FMT_PCAP, GEN_LINK_ETH, 0, &l) == 0 &&
        gen_write_args(ctx, fx->name, args) == 0)
        rc = 0;
    gen_pktlist_free(&l);
    return rc;
}
