/* scen_infer.c - fixtures for TLS 1.3 read without keys (issue 17): the
 * encrypted server flight's size matched against known chains.
 *
 *   tls13-ecdsa-candidates.pcap  CUCM 8443 holding its CA-signed RSA
 *       (tomcat) and self-signed P-384 (tomcat-ECDSA) certificates; the
 *       X14.2 client's first signature algorithm is ECDSA, so the server
 *       presents the self-signed one and the client aborts (unknown_ca).
 *       Then a TLS 1.3 success to IM&P 8443 (RSA, leaf + intermediate).  No
 *       key log: the candidates come from --cafile, a bundle of the lab root,
 *       CUCM's self-signed tomcat-ECDSA and CallManager certificates, the
 *       HTML-markup P-256 one, and the IM&P and CUCM RSA leaves with their
 *       intermediate (tls13-ecdsa-candidates.pem, written beside it).
 *   tls13-seen-chain.pcap  CUCM 6972 (RSA + self-signed ECDSA, a
 *       CertificateRequest): a pre-X14.2 TLS 1.2 connection (RSA chain, in
 *       the clear), an X14.2 TLS 1.2 one (the self-signed ECDSA certificate,
 *       unknown_ca), then an X14.2 TLS 1.3 one without keys: its flight
 *       fits the ECDSA chain the server showed in the second connection.
 *       --cafile holds the lab root only, which fits nothing.
 * Seeded from the fixture name like the others (scenarios.c).
 */
#include "gen/gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#define INF_T0 1773161726ULL        /* 2026-03-10T16:55:26Z, as post-upgrade */
#define INF_CLIENT "10.48.36.46"
#define INF_CUCM "10.48.36.215"
#define INF_IMP "10.48.36.216"
#define INF_PATH_MAX 1024
#define INF_ECDSA_SUITE "ECDHE-ECDSA-AES256-GCM-SHA384"
#define INF_RSA_SUITE "ECDHE-RSA-AES256-GCM-SHA384"
#define INF_TLS13_SUITE "TLS_AES_256_GCM_SHA384"
#define INF_PRE_CIPHERS "EECDH+aRSA:EDH+aRSA:EECDH:EDH:HIGH:-AES256+SHA:!MEDIUM:!LOW:!3DES:!MD5:" \
                        "!PSK:!eNULL:!aNULL:!aDH"

enum inf_expect { INF_COMPLETE, INF_CLIENT_FAIL };

static uint64_t inf_seed(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

/* One handshake, checked against what the fixture is built for, emitted
 * into l from `start`; *end gets its last timestamp. */
static int inf_conn(const char *label, const struct gen_tls_cfg *tls, struct gen_rng *rng,
                    const char *sip, uint16_t port, uint64_t start, enum inf_expect exp,
                    const char *want, struct gen_pktlist *l, uint64_t *end)
{
    struct gen_conn_params cp;
    struct gen_transcript t;
    bool ok;

    gen_conn_defaults(&cp, rng, INF_CLIENT, sip, port, start);
    cp.close = exp == INF_CLIENT_FAIL ? GEN_CLOSE_CLIENT_RST : GEN_CLOSE_ORDERLY;
    if (gen_tls_run(tls, &t) != 0) {
        fprintf(stderr, "gen: %s: TLS set-up failed\n", label);
        gen_transcript_free(&t);
        return -1;
    }
    ok = (exp == INF_COMPLETE ? t.complete : t.failed_side == GEN_C2S) && strcmp(t.cipher, want) == 0;
    fprintf(stderr, "  %-24s -> %s:%u  %s %s  %s%s%s\n", label, sip, port, t.version,
            t.cipher[0] ? t.cipher : "-", t.complete ? "complete" : "FAILED", t.error[0] ? "  " : "",
            t.error);
    if (!ok) {
        fprintf(stderr, "gen: %s: unexpected outcome (wanted %s with %s)\n", label,
                exp == INF_COMPLETE ? "complete" : "client abort", want);
        gen_transcript_free(&t);
        return -1;
    }
    *end = gen_conn_emit(&cp, &t, l);
    gen_transcript_free(&t);
    return 0;
}

static int inf_write(const struct gen_ctx *ctx, const char *file, struct gen_pktlist *l,
                     const char *args)
{
    char path[INF_PATH_MAX + 8];
    FILE *f;

    gen_pktlist_sort(l);
    if (snprintf(path, INF_PATH_MAX, "%s/%s", ctx->outdir, file) >= INF_PATH_MAX ||
        gen_write_pktlist(path, GEN_FMT_PCAP, GEN_LINK_ETH, 0, l) != 0) {
        fprintf(stderr, "gen: cannot write %s/%s\n", ctx->outdir, file);
        return -1;
    }
    strcat(path, ".args");
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    fprintf(f, "%s\n", args);
    return fclose(f) == 0 ? 0 : -1;
}

/* The candidates bundle: certificates as PEM, in this order. */
static int inf_bundle(const struct gen_ctx *ctx, const char *file, X509 *const *v, size_t n)
{
    char path[INF_PATH_MAX];
    FILE *f;
    int rc = 0;

    if (snprintf(path, sizeof path, "%s/%s", ctx->outdir, file) >= (int)sizeof path ||
        (f = fopen(path, "w")) == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (PEM_write_X509(f, v[i]) != 1)
            rc = -1;
    return fclose(f) == 0 ? rc : -1;
}

int gen_fx_tls13_ecdsa_candidates(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    const struct gen_pki *p = &ctx->pki;
    X509 *cands[] = {p->root.cert, p->cucm_ec.cert, p->hostile.cert, ctx->edge.sip_self.cert,
                     p->imp_rsa.cert, p->cucm_rsa.cert, p->inter.cert};
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_pktlist l = {0};
    uint64_t end;
    int rc = -1;

    gen_rng_seed(&rng, inf_seed(fx->name));
    /* CUCM tomcat on 8443 with both certificates, TLS 1.3 allowed */
    gen_profile_field_case(&tls, p, INF_T0);
    tls.server_request_cert = false;
    tls.server_max = 0;
    if (inf_conn(fx->name, &tls, &rng, INF_CUCM, 8443, INF_T0 * GEN_US + 7000, INF_CLIENT_FAIL,
                 INF_TLS13_SUITE, &l, &end) != 0)
        goto out;
    /* IM&P 8443: its CA-signed RSA certificate and the intermediate */
    gen_profile_rsa_ok(&tls, p, INF_T0);
    tls.server_certs[0] = &p->imp_rsa;
    tls.sni = tls.verify_host = "imp.steven.lab";
    tls.server_max = 0;
    if (inf_conn(fx->name, &tls, &rng, INF_IMP, 8443, end + 300000, INF_COMPLETE, INF_TLS13_SUITE,
                 &l, &end) != 0)
        goto out;
    if (inf_bundle(ctx, "tls13-ecdsa-candidates.pem", cands, sizeof cands / sizeof cands[0]) == 0 &&
        inf_write(ctx, fx->name, &l, "--cafile captures/tls13-ecdsa-candidates.pem") == 0)
        rc = 0;
out:
    gen_pktlist_free(&l);
    return rc;
}

int gen_fx_tls13_seen_chain(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    const struct gen_pki *p = &ctx->pki;
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_pktlist l = {0};
    uint64_t end, t = INF_T0 * GEN_US + 7000;
    int rc = -1;

    gen_rng_seed(&rng, inf_seed(fx->name));
    /* 1. pre-X14.2 order (RSA first), no verification: the RSA chain */
    gen_profile_field_case(&tls, p, INF_T0);
    tls.client_ciphers = INF_PRE_CIPHERS;
    tls.client_verify = false;
    tls.verify_host = NULL;
    tls.client_max = TLS1_2_VERSION;
    if (inf_conn(fx->name, &tls, &rng, INF_CUCM, 6972, t, INF_COMPLETE, INF_RSA_SUITE, &l, &end) != 0)
        goto out;
    /* 2. X14.2 in TLS 1.2: the self-signed ECDSA certificate, in the clear */
    gen_profile_field_case(&tls, p, INF_T0);
    tls.client_max = TLS1_2_VERSION;
    if (inf_conn(fx->name, &tls, &rng, INF_CUCM, 6972, end + 500000, INF_CLIENT_FAIL,
                 INF_ECDSA_SUITE, &l, &end) != 0)
        goto out;
    /* 3. X14.2 in TLS 1.3, no key log: the same certificate, hidden */
    gen_profile_field_case(&tls, p, INF_T0);
    tls.server_max = 0;
    if (inf_conn(fx->name, &tls, &rng, INF_CUCM, 6972, end + 500000, INF_CLIENT_FAIL,
                 INF_TLS13_SUITE, &l, &end) != 0)
        goto out;
    if (inf_write(ctx, fx->name, &l, "--cafile captures/pki/expressway-trust.pem") == 0)
        rc = 0;
out:
    gen_pktlist_free(&l);
    return rc;
}

/* ---- incomplete handshakes, one reason each -------------------------------- */

/* Emit one RSA success to CUCM 8443 into a list of its own. */
static int inc_conn(const struct gen_ctx *ctx, struct gen_rng *rng, uint64_t start,
                    enum gen_close close, struct gen_conn_params *cp, struct gen_transcript *t,
                    struct gen_pktlist *l)
{
    struct gen_tls_cfg tls;

    gen_profile_rsa_ok(&tls, &ctx->pki, INF_T0);
    gen_conn_defaults(cp, rng, INF_CLIENT, INF_CUCM, 8443, start);
    cp->close = close;
    if (gen_tls_run(&tls, t) != 0 || !t->complete) {
        fprintf(stderr, "gen: incomplete-reasons: the RSA handshake did not complete\n");
        return -1;
    }
    gen_conn_emit(cp, t, l);
    return 0;
}

/* Append src's packets [from, to) whose flight passes keep() to dst. */
static int inc_copy(struct gen_pktlist *dst, const struct gen_pktlist *src, size_t to,
                    int16_t drop_flight, int drop_seg)
{
    int seg = 0;

    for (size_t i = 0; i < to; i++) {
        const struct gen_pkt *p = &src->v[i];
        if (p->flight == drop_flight && p->paylen > 0 && seg++ == drop_seg)
            continue;
        if (gen_pktlist_push(dst, p, p->ip, p->len) != 0)
            return -1;
    }
    return 0;
}

/* The index after the last packet of transcript flight k. */
static size_t inc_after_flight(const struct gen_pktlist *l, int16_t k)
{
    size_t end = 0;

    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].flight == k)
            end = i + 1;
    return end;
}

/* incomplete-reasons.pcap: four connections to CUCM 8443 whose handshakes
 * the capture cannot show finished, each for another reason:
 *   1. a hole: the server's second flight (ChangeCipherSpec, Finished) was
 *      not captured, though the client went on (request, close_notify);
 *   2. the server answers the ClientHello with a FIN (no alert), the client
 *      FINs back;
 *   3. nothing after the server's flight, and 11 minutes later another
 *      connection: the first one is dropped as idle;
 *   4. that later connection: nothing after the server's flight, and the
 *      capture ends. */
int gen_fx_incomplete_reasons(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_conn_params cp;
    struct gen_transcript t;
    struct gen_pktlist out = {0}, l = {0};
    uint64_t start = INF_T0 * GEN_US + 7000;
    int rc = -1;

    gen_rng_seed(&rng, inf_seed(fx->name));
    for (int k = 0; k < 4; k++) {
        memset(&t, 0, sizeof t);
        gen_pktlist_free(&l);
        if (inc_conn(ctx, &rng, start, k == 0 ? GEN_CLOSE_ORDERLY : GEN_CLOSE_NONE, &cp, &t, &l) != 0)
            goto fail;
        if (k == 0) {
            if (inc_copy(&out, &l, l.n, 3, 0) != 0)
                goto fail;
        } else if (k == 1) {
            size_t ch = inc_after_flight(&l, 0);
            uint32_t chlen = (uint32_t)t.v[0].len;
            uint64_t ts = l.v[ch - 1].ts + 2000;
            if (inc_copy(&out, &l, ch, -2, -1) != 0 ||
                gen_tcp_segment(&cp, GEN_S2C, cp.isn_s + 1, cp.isn_c + 1 + chlen,
                                GEN_TH_FIN | GEN_TH_ACK, NULL, 0, ts, -1, &out) != 0 ||
                gen_tcp_segment(&cp, GEN_C2S, cp.isn_c + 1 + chlen, cp.isn_s + 2,
                                GEN_TH_FIN | GEN_TH_ACK, NULL, 0, ts + cp.rtt_us / 2, -1, &out) != 0)
                goto fail;
        } else if (inc_copy(&out, &l, inc_after_flight(&l, 1), -2, -1) != 0) {
            goto fail;
        }
        start = (k == 2 ? l.v[inc_after_flight(&l, 1) - 1].ts + 11 * 60 * GEN_US
                        : l.v[l.n - 1].ts + GEN_US);
        gen_transcript_free(&t);
    }
    fprintf(stderr, "  %-24s -> %s:8443  4 RSA handshakes, cut: hole, server FIN, idle, capture end\n",
            fx->name, INF_CUCM);
    rc = inf_write(ctx, fx->name, &out, "--cafile captures/pki/expressway-trust.pem");
    goto done;
fail:
    gen_transcript_free(&t);
done:
    gen_pktlist_free(&l);
    gen_pktlist_free(&out);
    return rc;
}
