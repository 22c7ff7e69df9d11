/* scenarios.c - the committed fixtures: which handshakes, which addresses, which file framing.
 *
 * Every connection is a real OpenSSL handshake (tlspair.c); every alert in
 * the captures is the one OpenSSL itself sent.  Each fixture checks the
 * outcome it was built for (complete, or which side failed and with which
 * suite) and fails loudly otherwise, so a library change cannot silently
 * turn the field case into a success.  Random choices (ports, ISNs, RTTs)
 * are seeded from the fixture name.
 */
#include "gen/gen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define POST_T0 1773161726ULL      /* 2026-03-10T16:55:26Z: after the X14.2 upgrade */
#define PRE_T0 1770026400ULL       /* 2026-02-02T10:00:00Z: before it */

#define EXPW_IP "10.48.36.46"      /* Expressway-C */
#define CUCM_IP "10.48.36.215"
#define IMP_IP "10.48.36.216"
#define UNITY_IP "10.48.36.217"
#define EXPW_IP6 "2001:db8:48::46"
#define CUCM_IP6 "2001:db8:48::215"
#define CUCM_FQDN "cucm.steven.lab"
#define EXPE_IP "10.48.37.10"      /* Expressway-E, inside (traversal zone) */
#define EXPE_PUB_IP "203.0.113.10" /* Expressway-E, outside (clients) */
#define JABBER_IP "198.51.100.20"  /* a Jabber client on the internet */
#define EDGE_TRUST "captures/pki/edge-trust.pem"

/* Expressway X14.2 default origin cipher string.  OpenSSL 3.0 orders it
 * ECDHE-ECDSA-AES256-GCM-SHA384 first (after the TLS 1.3 suites): the
 * strength sort keeps ECDSA before RSA within each strength. */
#define X142_CIPHERS "EECDH:EDH:HIGH:-AES256+SHA:!MEDIUM:!LOW:!3DES:!MD5:!PSK:!eNULL:!aNULL:!aDH"
/* Pre-X14.2 style: the same suites with RSA authentication moved first. */
#define PRE_CIPHERS "EECDH+aRSA:EDH+aRSA:" X142_CIPHERS

#define TRUST_ARGS "--cafile captures/pki/expressway-trust.pem"
#define PATH_MAX_GEN 1024

enum expect { EXP_COMPLETE, EXP_CLIENT_FAIL, EXP_SERVER_FAIL };

static const char REQ_UDS[] =
    "GET /cucm-uds/version HTTP/1.1\r\nHost: cucm.steven.lab:8443\r\n"
    "User-Agent: ATS/9.1.4\r\nAccept: */*\r\n\r\n";
static const char RESP_UDS[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 76\r\n\r\n"
    "<versionInformation><version>15.0.1.12900(1)</version></versionInformation>\n";
static const char REQ_TFTP[] =
    "GET /SEP00BB00CC00DD.cnf.xml HTTP/1.1\r\nHost: cucm.steven.lab:6972\r\n"
    "User-Agent: ATS/9.1.4\r\n\r\n";
static const char RESP_TFTP[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 27\r\n\r\n"
    "<device><loadInformation/>\n";

uint64_t gen_fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

static int out_path(char *buf, const struct gen_ctx *ctx, const char *name)
{
    int n = snprintf(buf, PATH_MAX_GEN, "%s/%s", ctx->outdir, name);

    return (n < 0 || n >= PATH_MAX_GEN) ? -1 : 0;
}

/* captures/<file>.args: the options the golden test passes before the file */
int gen_write_args(const struct gen_ctx *ctx, const char *file, const char *args)
{
    char path[PATH_MAX_GEN + 8];
    FILE *f;
    int n = snprintf(path, sizeof path, "%s/%s.args", ctx->outdir, file);

    if (n < 0 || (size_t)n >= sizeof path || (f = fopen(path, "w")) == NULL)
        return -1;
    fprintf(f, "%s\n", args);
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- TLS profiles ------------------------------------------------------- */

/* Expressway-C X14.2+: default cipher string, verifies chain and name. */
static void cli_x142(struct gen_tls_cfg *c, const struct gen_pki *pki, uint64_t t0)
{
    c->client_ciphers = X142_CIPHERS;
    c->client_min = TLS1_2_VERSION;
    c->client_verify = true;
    c->client_trust[0] = &pki->root;
    c->verify_time = (time_t)t0;
    c->request = REQ_UDS;
    c->response = RESP_UDS;
}

/* Pre-X14.2 Expressway-C: RSA suites first, no verification. */
static void cli_pre(struct gen_tls_cfg *c, uint64_t t0)
{
    c->client_ciphers = PRE_CIPHERS;
    c->client_min = TLS1_2_VERSION;
    c->client_verify = false;
    c->verify_time = (time_t)t0;
    c->request = REQ_UDS;
    c->response = RESP_UDS;
}

/* CUCM Tomcat on 8443: the CA-signed RSA tomcat certificate only, TLS 1.2. */
static void srv_rsa(struct gen_tls_cfg *c, const struct gen_cred *leaf)
{
    c->server_certs[0] = leaf;
    c->server_send_chain = true;
    c->server_max = TLS1_2_VERSION;
}

/* CUCM TFTP on 6972: tomcat (RSA, CA-signed) and tomcat-ECDSA (self-signed)
 * in one context, and a CertificateRequest (optional client cert). */
static void srv_6972(struct gen_tls_cfg *c, const struct gen_pki *pki)
{
    c->server_certs[0] = &pki->cucm_rsa;
    c->server_certs[1] = &pki->cucm_ec;
    c->server_send_chain = true;
    c->server_request_cert = true;
    c->server_trust[0] = &pki->root;
    c->server_max = TLS1_2_VERSION;
    c->request = REQ_TFTP;
    c->response = RESP_TFTP;
}

void gen_profile_rsa_ok(struct gen_tls_cfg *c, const struct gen_pki *pki, uint64_t t0)
{
    memset(c, 0, sizeof *c);
    cli_x142(c, pki, t0);
    srv_rsa(c, &pki->cucm_rsa);
    c->sni = CUCM_FQDN;
    c->verify_host = CUCM_FQDN;
}

void gen_profile_field_case(struct gen_tls_cfg *c, const struct gen_pki *pki, uint64_t t0)
{
    memset(c, 0, sizeof *c);
    cli_x142(c, pki, t0);
    srv_6972(c, pki);
    c->sni = CUCM_FQDN;
    c->verify_host = CUCM_FQDN;
}

/* ---- running one connection -------------------------------------------- */

/* Run the handshake, check it went as the scenario says, emit its packets.
 * Returns 0 and the connection's last timestamp in *end. */
static int run_conn(const char *label, const struct gen_tls_cfg *tls, const struct gen_conn_params *cp,
                    enum expect exp, const char *want_cipher, struct gen_pktlist *out,
                    struct gen_transcript *keep, uint64_t *end)
{
    struct gen_transcript t;
    bool ok;
    char cip[64] = "", sip[64] = "";

    if (gen_tls_run(tls, &t) != 0) {
        fprintf(stderr, "gen: %s: TLS set-up failed\n", label);
        gen_transcript_free(&t);
        return -1;
    }
    ok = exp == EXP_COMPLETE ? t.complete
       : exp == EXP_CLIENT_FAIL ? t.failed_side == GEN_C2S : t.failed_side == GEN_S2C;
    if (want_cipher && strcmp(want_cipher, t.cipher) != 0)
        ok = false;
    inet_ntop(cp->af, cp->cip, cip, sizeof cip);
    inet_ntop(cp->af, cp->sip, sip, sizeof sip);
    fprintf(stderr, "  %-24s %s:%u -> %s:%u  %s %s  %s%s%s\n", label, cip, cp->cport, sip, cp->sport,
            t.version, t.cipher[0] ? t.cipher : "-", t.complete ? "complete" : "FAILED",
            t.error[0] ? "  " : "", t.error);
    if (!ok) {
        fprintf(stderr, "gen: %s: unexpected outcome (wanted %s%s%s)\n", label,
                exp == EXP_COMPLETE ? "complete" : exp == EXP_CLIENT_FAIL ? "client abort" : "server abort",
                want_cipher ? " with " : "", want_cipher ? want_cipher : "");
        gen_transcript_free(&t);
        return -1;
    }
    *end = gen_conn_emit(cp, &t, out);
    if (keep)
        *keep = t;
    else
        gen_transcript_free(&t);
    return 0;
}

static void conn_for(struct gen_conn_params *cp, struct gen_rng *rng, const char *sip,
                     uint16_t sport, uint64_t start, enum expect exp)
{
    gen_conn_defaults(cp, rng, EXPW_IP, sip, sport, start);
    /* The Expressway resets after its own fatal alert; a server abort is
     * followed by the server's FIN and the Expressway's RST. */
    if (exp == EXP_CLIENT_FAIL)
        cp->close = GEN_CLOSE_CLIENT_RST;
    else if (exp == EXP_SERVER_FAIL)
        cp->close = GEN_CLOSE_SERVER_FIN_CLIENT_RST;
}

int gen_write_list(const struct gen_ctx *ctx, const char *name, enum gen_fmt fmt,
                   enum gen_link link, int snaplen, const struct gen_pktlist *l)
{
    char path[PATH_MAX_GEN];

    if (out_path(path, ctx, name) != 0 || gen_write_pktlist(path, fmt, link, snaplen, l) != 0) {
        fprintf(stderr, "gen: cannot write %s/%s\n", ctx->outdir, name);
        return -1;
    }
    return 0;
}

/* A single-connection fixture: one scenario, one file. */
struct single {
    const char *file;
    const char *sip;
    uint16_t sport;
    enum expect exp;
    const char *cipher;
    enum gen_fmt fmt;
    enum gen_link link;
    int snaplen;
    const char *args;
};

static int emit_single(struct gen_ctx *ctx, const struct single *s, const struct gen_tls_cfg *tls,
                       struct gen_conn_params *cp)
{
    struct gen_pktlist l = {0};
    uint64_t end;
    int rc = -1;

    if (run_conn(s->file, tls, cp, s->exp, s->cipher, &l, NULL, &end) == 0 &&
        gen_write_list(ctx, s->file, s->fmt, s->link, s->snaplen, &l) == 0 &&
        gen_write_args(ctx, s->file, s->args ? s->args : TRUST_ARGS) == 0)
        rc = 0;
    gen_pktlist_free(&l);
    return rc;
}

static int single_default(struct gen_ctx *ctx, const struct single *s, const struct gen_tls_cfg *tls)
{
    struct gen_rng rng;
    struct gen_conn_params cp;

    gen_rng_seed(&rng, gen_fnv1a(s->file));
    conn_for(&cp, &rng, s->sip, s->sport, POST_T0 * GEN_US + 7000, s->exp);
    return emit_single(ctx, s, tls, &cp);
}

/* ---- the fixtures ------------------------------------------------------ */

static int fx_rsa_ok(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct single s = {"rsa-ok-8443.pcap", CUCM_IP, 8443, EXP_COMPLETE,
                                    "ECDHE-RSA-AES256-GCM-SHA384", GEN_FMT_PCAP, GEN_LINK_ETH, 0, NULL};
    struct gen_tls_cfg tls;
    char src[PATH_MAX_GEN], dst[PATH_MAX_GEN + 4];

    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    if (single_default(ctx, &s, &tls) != 0 || out_path(src, ctx, s.file) != 0)
        return -1;
    snprintf(dst, sizeof dst, "%s.gz", src);
    if (gen_gzip_file(src, dst) != 0)
        return -1;
    return gen_write_args(ctx, "rsa-ok-8443.pcap.gz", TRUST_ARGS);
}

/* The documented field case, attempted twice (the Expressway retries). */
static int fx_field_case(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_conn_params cp;
    struct gen_pktlist l = {0};
    uint64_t t = POST_T0 * GEN_US + 7000, end;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    gen_profile_field_case(&tls, &ctx->pki, POST_T0);
    for (int i = 0; i < 2; i++) {
        conn_for(&cp, &rng, CUCM_IP, 6972, t, EXP_CLIENT_FAIL);
        if (run_conn(fx->name, &tls, &cp, EXP_CLIENT_FAIL, "ECDHE-ECDSA-AES256-GCM-SHA384", &l,
                     NULL, &end) != 0)
            goto out;
        t = end + GEN_US + gen_rng_range(&rng, 0, 20000);
    }
    if (gen_write_list(ctx, fx->name, GEN_FMT_PCAP, GEN_LINK_ETH, 0, &l) == 0 &&
        gen_write_args(ctx, fx->name, TRUST_ARGS) == 0)
        rc = 0;
out:
    gen_pktlist_free(&l);
    return rc;
}

static int fx_ip_not_in_san(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct single s = {"ip-not-in-san.pcap", CUCM_IP, 8443, EXP_CLIENT_FAIL,
                                    "ECDHE-RSA-AES256-GCM-SHA384", GEN_FMT_PCAP, GEN_LINK_ETH, 0, NULL};
    struct gen_tls_cfg tls;

    /* CUCM announced by IP (System > Server): no SNI, the IP is checked */
    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    tls.sni = NULL;
    tls.verify_host = NULL;
    tls.verify_ip = CUCM_IP;
    return single_default(ctx, &s, &tls);
}

static int fx_missing_inter(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct single s = {"missing-intermediate.pcap", CUCM_IP, 8443, EXP_CLIENT_FAIL,
                                    "ECDHE-RSA-AES256-GCM-SHA384", GEN_FMT_PCAP, GEN_LINK_ETH, 0, NULL};
    struct gen_tls_cfg tls;

    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    tls.server_send_chain = false;
    return single_default(ctx, &s, &tls);
}

static int fx_expired(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct single s = {"expired-leaf.pcap", CUCM_IP, 8443, EXP_CLIENT_FAIL,
                                    "ECDHE-RSA-AES256-GCM-SHA384", GEN_FMT_PCAP, GEN_LINK_ETH, 0, NULL};
    struct gen_tls_cfg tls;

    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    tls.server_certs[0] = &ctx->pki.cucm_expired;
    return single_default(ctx, &s, &tls);
}

/* TLS 1.3 with the client's NSS key log next to the capture. */
static int tls13_fixture_args(struct gen_ctx *ctx, const char *file, const char *keys,
                              struct gen_tls_cfg *tls, uint16_t port, enum expect exp,
                              const char *cipher, const char *extra_args)
{
    char kpath[PATH_MAX_GEN], args[PATH_MAX_GEN + 128];
    struct single s = {file, CUCM_IP, port, exp, cipher, GEN_FMT_PCAP, GEN_LINK_ETH, 0, NULL};

    if (out_path(kpath, ctx, keys) != 0)
        return -1;
    if (unlink(kpath) != 0 && errno != ENOENT)
        return -1;
    tls->keylog_path = kpath;
    tls->server_max = 0;                 /* TLS 1.3 allowed */
    snprintf(args, sizeof args, TRUST_ARGS " --keylog captures/%s%s", keys, extra_args);
    s.args = args;
    return single_default(ctx, &s, tls);
}

static int tls13_fixture(struct gen_ctx *ctx, const char *file, const char *keys,
                         struct gen_tls_cfg *tls, uint16_t port, enum expect exp, const char *cipher)
{
    return tls13_fixture_args(ctx, file, keys, tls, port, exp, cipher, "");
}

static int fx_tls13_keylog(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_tls_cfg tls;

    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    tls.client_ciphersuites = "TLS_AES_128_GCM_SHA256";
    return tls13_fixture(ctx, "tls13-keylog.pcap", "tls13-keylog.keys", &tls, 8443,
                         EXP_COMPLETE, "TLS_AES_128_GCM_SHA256");
}

static int fx_tls13_unknown_ca(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_tls_cfg tls;

    gen_profile_field_case(&tls, &ctx->pki, POST_T0);
    return tls13_fixture(ctx, "tls13-unknown-ca.pcap", "tls13-unknown-ca.keys", &tls, 6972,
                         EXP_CLIENT_FAIL, "TLS_AES_256_GCM_SHA384");
}

static int fx_tls13_chacha20(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_tls_cfg tls;

    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    tls.client_ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
    return tls13_fixture(ctx, "tls13-chacha20.pcap", "tls13-chacha20.keys", &tls, 8443,
                         EXP_COMPLETE, "TLS_CHACHA20_POLY1305_SHA256");
}

/* The client's key share is X25519 only; the server takes P-256 only. */
static int fx_tls13_hrr(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_tls_cfg tls;

    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    tls.client_groups = "X25519:P-256";
    tls.server_groups = "P-256";
    return tls13_fixture(ctx, "tls13-hrr.pcap", "tls13-hrr.keys", &tls, 8443,
                         EXP_COMPLETE, "TLS_AES_256_GCM_SHA384");
}

/* Mutual TLS 1.3: CUCM does not trust the Expressway's client certificate;
 * its unknown_ca comes after its own Finished, under its application keys. */
static int fx_tls13_mtls(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_tls_cfg tls;

    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    tls.server_request_cert = true;
    tls.server_require_cert = true;
    tls.server_trust[0] = &ctx->pki.root;      /* CUCM tomcat-trust: not the Expressway CA */
    tls.client_cert = &ctx->pki.expw_client;
    return tls13_fixture_args(ctx, "tls13-mtls-rejected.pcap", "tls13-mtls-rejected.keys", &tls,
                              8443, EXP_SERVER_FAIL, "TLS_AES_256_GCM_SHA384",
                              " --client-cafile captures/pki/cucm-trust.pem");
}

static int fx_mtls(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct single s = {"mtls-client-rejected.pcap", CUCM_IP, 8443, EXP_SERVER_FAIL,
                                    "ECDHE-RSA-AES256-GCM-SHA384", GEN_FMT_PCAP, GEN_LINK_ETH, 0,
                                    TRUST_ARGS " --client-cafile captures/pki/cucm-trust.pem"};
    struct gen_tls_cfg tls;

    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    tls.server_request_cert = true;
    tls.server_require_cert = true;
    tls.server_trust[0] = &ctx->pki.root;      /* CUCM tomcat-trust: not the Expressway CA */
    tls.client_cert = &ctx->pki.expw_client;
    return single_default(ctx, &s, &tls);
}

/* ---- the Expressway's other TLS paths (roles) ------------------------------ */

/* Traversal zone, Expressway-C -> Expressway-E on 7001, mutual TLS: the
 * Expressway-E sends its leaf without the intermediate, the Expressway-C
 * trusts the root only and aborts (unknown_ca).  Then the zone's SSH
 * tunnel on 2222 between the same pair: SSH banners, not TLS. */
static int fx_traversal(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const char banner[] = "SSH-2.0-OpenSSH_8.4\r\n";
    const struct gen_pki_edge *e = &ctx->edge;
    struct gen_tls_cfg tls;
    struct gen_rng rng;
    struct gen_conn_params cp;
    struct gen_pktlist l = {0};
    struct gen_transcript pt;
    uint64_t end;
    int rc = -1;

    memset(&tls, 0, sizeof tls);
    tls.client_min = TLS1_2_VERSION;
    tls.client_verify = true;
    tls.client_trust[0] = &e->root;
    tls.verify_host = "expe.steven.lab";     /* the zone's peer address, by FQDN */
    tls.sni = "expe.steven.lab";
    tls.client_cert = &e->expc;
    tls.server_certs[0] = &e->expe;
    tls.server_send_chain = false;           /* the intermediate is missing */
    tls.server_request_cert = true;
    tls.server_require_cert = true;
    tls.server_trust[0] = &e->root;
    tls.server_max = TLS1_2_VERSION;
    tls.verify_time = (time_t)POST_T0;
    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    conn_for(&cp, &rng, EXPE_IP, 7001, POST_T0 * GEN_US + 7000, EXP_CLIENT_FAIL);
    if (run_conn(fx->name, &tls, &cp, EXP_CLIENT_FAIL, NULL, &l, NULL, &end) != 0)
        goto out;
    memset(&pt, 0, sizeof pt);
    if (gen_transcript_add(&pt, GEN_C2S, banner, sizeof banner - 1) != 0 ||
        gen_transcript_add(&pt, GEN_S2C, banner, sizeof banner - 1) != 0) {
        gen_transcript_free(&pt);
        goto out;
    }
    gen_conn_defaults(&cp, &rng, EXPW_IP, EXPE_IP, 2222, end + 500000);
    cp.conn = 2;
    gen_conn_emit(&cp, &pt, &l);
    gen_transcript_free(&pt);
    gen_pktlist_sort(&l);
    if (gen_write_list(ctx, fx->name, GEN_FMT_PCAP, GEN_LINK_ETH, 0, &l) == 0 &&
        gen_write_args(ctx, fx->name, "-p 7001,2222 --cafile " EDGE_TRUST) == 0)
        rc = 0;
out:
    gen_pktlist_free(&l);
    return rc;
}

/* SIP TLS on 5061: CUCM presents its self-signed CallManager certificate;
 * the Expressway-C (trusting the lab root) aborts with unknown_ca. */
static int fx_sip_self_signed(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct single s = {"sip-5061-self-signed.pcap", CUCM_IP, 5061, EXP_CLIENT_FAIL,
                                    NULL, GEN_FMT_PCAP, GEN_LINK_ETH, 0, "-p 5061 " TRUST_ARGS};
    struct gen_tls_cfg tls;

    memset(&tls, 0, sizeof tls);
    tls.client_min = TLS1_2_VERSION;
    tls.client_verify = true;
    tls.client_trust[0] = &ctx->pki.root;
    tls.verify_host = CUCM_FQDN;
    tls.sni = CUCM_FQDN;
    tls.client_cert = &ctx->pki.expw_client;
    tls.server_certs[0] = &ctx->edge.sip_self;
    tls.server_request_cert = true;           /* SIP TLS: mutual */
    tls.server_trust[0] = &ctx->pki.expw_ca;
    tls.server_max = TLS1_2_VERSION;
    tls.verify_time = (time_t)POST_T0;
    return single_default(ctx, &s, &tls);
}

/* Jabber to the Expressway-E on 443: it checks collab-edge.steven.lab, the
 * certificate has expe.steven.lab only; OpenSSL answers bad_certificate. */
static int fx_edge_clients(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct single s = {"edge-clients-443.pcap", EXPE_PUB_IP, 443, EXP_CLIENT_FAIL,
                                    NULL, GEN_FMT_PCAP, GEN_LINK_ETH, 0,
                                    "-p 443 --role 443=edge-clients --cafile " EDGE_TRUST};
    struct gen_tls_cfg tls;
    struct gen_rng rng;
    struct gen_conn_params cp;

    memset(&tls, 0, sizeof tls);
    tls.client_min = TLS1_2_VERSION;
    tls.client_verify = true;
    tls.client_trust[0] = &ctx->edge.root;
    tls.verify_host = "collab-edge.steven.lab";
    tls.sni = "collab-edge.steven.lab";
    tls.server_certs[0] = &ctx->edge.expe;
    tls.server_send_chain = true;
    tls.server_max = TLS1_2_VERSION;
    tls.verify_time = (time_t)POST_T0;
    gen_rng_seed(&rng, gen_fnv1a(s.file));
    gen_conn_defaults(&cp, &rng, JABBER_IP, EXPE_PUB_IP, 443, POST_T0 * GEN_US + 7000);
    cp.close = GEN_CLOSE_CLIENT_RST;
    return emit_single(ctx, &s, &tls, &cp);
}

/* Several connections to CUCM 6972/8443 and IM&P 8443, before or after. */
static int upgrade_capture(struct gen_ctx *ctx, const char *file, bool post)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_conn_params cp;
    struct gen_pktlist l = {0};
    uint64_t t0 = post ? POST_T0 : PRE_T0, t = t0 * GEN_US + 7000, end;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(file));
    for (int round = 0; round < 2; round++) {
        /* CUCM 6972: post: ECDSA picked -> unknown_ca, retried */
        int tries = post ? (round == 0 ? 3 : 2) : 1;

        for (int i = 0; i < tries; i++) {
            enum expect exp = post ? EXP_CLIENT_FAIL : EXP_COMPLETE;

            gen_profile_field_case(&tls, &ctx->pki, t0);
            if (!post)
                cli_pre(&tls, t0);
            tls.request = REQ_TFTP;
            tls.response = RESP_TFTP;
            conn_for(&cp, &rng, CUCM_IP, 6972, t, exp);
            if (run_conn(file, &tls, &cp, exp,
                         post ? "ECDHE-ECDSA-AES256-GCM-SHA384" : "ECDHE-RSA-AES256-GCM-SHA384",
                         &l, NULL, &end) != 0)
                goto out;
            t = end + (post ? GEN_US : 200000) + gen_rng_range(&rng, 0, 30000);
        }
        /* CUCM 8443 (RSA only) and IM&P 8443: complete either way */
        for (int k = 0; k < 2; k++) {
            gen_profile_rsa_ok(&tls, &ctx->pki, t0);
            if (k == 1) {
                tls.server_certs[0] = &ctx->pki.imp_rsa;
                tls.sni = tls.verify_host = "imp.steven.lab";
            }
            if (!post) {
                cli_pre(&tls, t0);
                tls.verify_host = NULL;
            }
            conn_for(&cp, &rng, k ? IMP_IP : CUCM_IP, 8443, t, EXP_COMPLETE);
            if (run_conn(file, &tls, &cp, EXP_COMPLETE, "ECDHE-RSA-AES256-GCM-SHA384", &l, NULL, &end) != 0)
                goto out;
            t = end + gen_rng_range(&rng, 50000, 400000);
        }
        t += 5 * GEN_US;
    }
    gen_pktlist_sort(&l);
    if (gen_write_list(ctx, file, GEN_FMT_PCAP, GEN_LINK_ETH, 0, &l) == 0 &&
        gen_write_args(ctx, file, TRUST_ARGS) == 0)
        rc = 0;
out:
    gen_pktlist_free(&l);
    return rc;
}

static int fx_pre(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    return upgrade_capture(ctx, fx->name, false);
}

static int fx_post(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    return upgrade_capture(ctx, fx->name, true);
}

static uint32_t pkt_ack(const struct gen_pkt *p)
{
    size_t hl = (p->ip[0] >> 4) == 6 ? 40 : 20;
    const uint8_t *a = p->ip + hl + 8;

    return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/* The server's first flight at MSS 536, captured as:
 *   s0 s2 s1 s1(duplicate) s3 [s3/2..s4/2 identical overlap] s4.. [conflict in s1]
 * The conflicting copy comes after the original: the first copy must win. */
static int fx_reorder(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_conn_params cp;
    struct gen_transcript tr;
    struct gen_pktlist l = {0}, o = {0};
    uint64_t end, ts;
    size_t first = 0, nseg = 0;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    conn_for(&cp, &rng, CUCM_IP, 8443, POST_T0 * GEN_US + 7000, EXP_COMPLETE);
    cp.mss_c = 536;
    if (run_conn(fx->name, &tls, &cp, EXP_COMPLETE, NULL, &l, &tr, &end) != 0)
        return -1;
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].flight == 1 && l.v[i].paylen > 0) {
            if (nseg == 0)
                first = i;
            nseg++;
        }
    }
    if (nseg < 5 || tr.v[1].dir != GEN_S2C) {
        fprintf(stderr, "gen: %s: server flight has %zu segments, need 5\n", fx->name, nseg);
        goto out;
    }
    for (size_t i = 0; i < first; i++)
        if (gen_pktlist_push(&o, &l.v[i], l.v[i].ip, l.v[i].len) != 0)
            goto out;
    {
        const struct gen_pkt *s = &l.v[first];
        const uint8_t *fl = tr.v[1].data;
        uint32_t base = s[0].seq, ack = pkt_ack(&s[0]);
        size_t order[] = {0, 2, 1, 1, 3};
        uint8_t bad[100];
        uint32_t ov_from, ov_to;

        ts = s[0].ts;
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++, ts += 12) {
            struct gen_pkt p = s[order[k]];

            p.ts = ts;
            if (gen_pktlist_push(&o, &p, p.ip, p.len) != 0)
                goto out;
        }
        /* identical-bytes overlap: second half of s3 + first half of s4 */
        ov_from = s[3].seq - base + s[3].paylen / 2;
        ov_to = s[4].seq - base + s[4].paylen / 2;
        if (gen_tcp_segment(&cp, GEN_S2C, base + ov_from, ack, GEN_TH_ACK, fl + ov_from,
                            ov_to - ov_from, ts, 1, &o) != 0)
            goto out;
        ts += 12;
        for (size_t k = 4; k < nseg; k++, ts += 12) {
            struct gen_pkt p = s[k];

            p.ts = ts;
            if (gen_pktlist_push(&o, &p, p.ip, p.len) != 0)
                goto out;
        }
        /* conflicting overlap inside s1: same sequence range, other bytes */
        memcpy(bad, fl + (s[1].seq - base) + 10, sizeof bad);
        for (size_t k = 0; k < sizeof bad; k++)
            bad[k] ^= 0x5a;
        if (gen_tcp_segment(&cp, GEN_S2C, s[1].seq + 10, ack, GEN_TH_ACK, bad, sizeof bad,
                            ts, 1, &o) != 0)
            goto out;
    }
    for (size_t i = first + nseg; i < l.n; i++)
        if (gen_pktlist_push(&o, &l.v[i], l.v[i].ip, l.v[i].len) != 0)
            goto out;
    gen_pktlist_sort(&o);
    if (gen_write_list(ctx, fx->name, GEN_FMT_PCAP, GEN_LINK_ETH, 0, &o) == 0 &&
        gen_write_args(ctx, fx->name, TRUST_ARGS) == 0)
        rc = 0;
out:
    gen_transcript_free(&tr);
    gen_pktlist_free(&l);
    gen_pktlist_free(&o);
    return rc;
}

/* Field case / RSA success in other framings. */
static int framing(struct gen_ctx *ctx, const char *file, bool field, enum gen_fmt fmt,
                   enum gen_link link, int snaplen, bool v6)
{
    struct single s = {file, CUCM_IP, field ? 6972 : 8443, field ? EXP_CLIENT_FAIL : EXP_COMPLETE,
                       NULL, fmt, link, snaplen, NULL};
    struct gen_tls_cfg tls;
    struct gen_rng rng;
    struct gen_conn_params cp;

    if (field)
        gen_profile_field_case(&tls, &ctx->pki, POST_T0);
    else
        gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    gen_rng_seed(&rng, gen_fnv1a(file));
    if (!v6)
        return single_default(ctx, &s, &tls);
    gen_conn_defaults(&cp, &rng, EXPW_IP6, CUCM_IP6, s.sport, POST_T0 * GEN_US + 7000);
    cp.close = field ? GEN_CLOSE_CLIENT_RST : GEN_CLOSE_ORDERLY;
    return emit_single(ctx, &s, &tls, &cp);
}

static int fx_qinq(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    return framing(ctx, fx->name, true, GEN_FMT_PCAP, GEN_LINK_QINQ, 0, false);
}

static int fx_sll(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    return framing(ctx, fx->name, false, GEN_FMT_PCAP, GEN_LINK_SLL, 0, false);
}

static int fx_sll2(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    return framing(ctx, fx->name, true, GEN_FMT_PCAP, GEN_LINK_SLL2, 0, false);
}

static int fx_raw(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    return framing(ctx, fx->name, false, GEN_FMT_PCAP, GEN_LINK_RAW, 0, false);
}

static int fx_ipv6(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    return framing(ctx, fx->name, true, GEN_FMT_PCAP, GEN_LINK_ETH, 0, true);
}

static int fx_pcapng(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    return framing(ctx, fx->name, true, GEN_FMT_PCAPNG, GEN_LINK_ETH, 0, false);
}

static int fx_snaplen(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    return framing(ctx, fx->name, true, GEN_FMT_PCAP, GEN_LINK_ETH, 256, false);
}

/* rotated-00 holds the field case up to its ClientHello, rotated-01 the
 * rest of it and a whole RSA success two seconds later. */
static int fx_rotated(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_conn_params cp;
    struct gen_pktlist l = {0}, a = {0}, b = {0};
    uint64_t t = POST_T0 * GEN_US + 7000, end;
    size_t split = 0;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    gen_profile_field_case(&tls, &ctx->pki, POST_T0);
    conn_for(&cp, &rng, CUCM_IP, 6972, t, EXP_CLIENT_FAIL);
    cp.conn = 1;
    if (run_conn(fx->name, &tls, &cp, EXP_CLIENT_FAIL, NULL, &l, NULL, &end) != 0)
        goto out;
    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    conn_for(&cp, &rng, CUCM_IP, 8443, end + 2 * GEN_US, EXP_COMPLETE);
    cp.conn = 2;
    if (run_conn(fx->name, &tls, &cp, EXP_COMPLETE, NULL, &l, NULL, &end) != 0)
        goto out;
    gen_pktlist_sort(&l);
    for (split = 0; split < l.n; split++)
        if (l.v[split].conn == 1 && l.v[split].dir == GEN_S2C && l.v[split].paylen > 0)
            break;
    for (size_t i = 0; i < l.n; i++)
        if (gen_pktlist_push(i < split ? &a : &b, &l.v[i], l.v[i].ip, l.v[i].len) != 0)
            goto out;
    if (gen_write_list(ctx, "rotated-00.pcap", GEN_FMT_PCAP, GEN_LINK_ETH, 0, &a) == 0 &&
        gen_write_list(ctx, "rotated-01.pcap", GEN_FMT_PCAP, GEN_LINK_ETH, 0, &b) == 0 &&
        gen_write_args(ctx, "rotated-00.pcap", TRUST_ARGS) == 0)
        rc = 0;
out:
    gen_pktlist_free(&l);
    gen_pktlist_free(&a);
    gen_pktlist_free(&b);
    return rc;
}

/* A DNS A query or answer for NAME (RFC 1035 4.1). */
static size_t dns_msg(uint8_t *buf, uint16_t id, const char *name, const uint8_t *answer)
{
    size_t n = 12;
    const char *p = name;

    memset(buf, 0, 12);
    buf[0] = (uint8_t)(id >> 8);
    buf[1] = (uint8_t)id;
    buf[2] = answer ? 0x81 : 0x01;       /* QR (answer), RD */
    buf[3] = answer ? 0x80 : 0x00;       /* RA */
    buf[5] = 1;                          /* QDCOUNT */
    buf[7] = answer ? 1 : 0;             /* ANCOUNT */
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);

        buf[n++] = (uint8_t)len;
        memcpy(buf + n, p, len);
        n += len;
        p += len + (dot ? 1 : 0);
    }
    buf[n++] = 0;
    memcpy(buf + n, "\x00\x01\x00\x01", 4);   /* A, IN */
    n += 4;
    if (answer) {
        memcpy(buf + n, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04", 12);
        n += 12;
        memcpy(buf + n, answer, 4);
        n += 4;
    }
    return n;
}

/* ~50 interleaved connections on several ports, plain HTTP, DNS, and one
 * connection whose server sequence numbers wrap past 2^32. */
static int fx_many(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const char *const names[] = {CUCM_FQDN, "imp.steven.lab", "unity.steven.lab"};
    static const char *const ips[] = {CUCM_IP, IMP_IP, UNITY_IP};
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_conn_params cp;
    struct gen_pktlist l = {0};
    uint64_t t = POST_T0 * GEN_US + 120000, end;
    uint16_t port;
    uint32_t tag = 1;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    port = (uint16_t)gen_rng_range(&rng, 31000, 40000);
    for (int i = 0; i < 48; i++, tag++) {
        /* connection 20 is a CUCM 8443 success whose server ISN wraps */
        int kind = i == 20 ? 3 : (int)gen_rng_range(&rng, 0, 9);
        enum expect exp = EXP_COMPLETE;
        const char *sip = CUCM_IP;
        uint16_t sport = 8443;
        const char *want = NULL;

        switch (kind) {
        case 0: case 1: case 2:          /* field case on 6972 */
            gen_profile_field_case(&tls, &ctx->pki, POST_T0);
            sport = 6972;
            exp = EXP_CLIENT_FAIL;
            want = "ECDHE-ECDSA-AES256-GCM-SHA384";
            break;
        case 3: case 4:                  /* CUCM 8443 */
            gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
            break;
        case 5:                          /* IM&P 8443 */
            gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
            tls.server_certs[0] = &ctx->pki.imp_rsa;
            tls.sni = tls.verify_host = names[1];
            sip = ips[1];
            break;
        case 6:                          /* Unity 443 */
            gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
            tls.server_certs[0] = &ctx->pki.unity_rsa;
            tls.sni = tls.verify_host = names[2];
            sip = ips[2];
            sport = 443;
            break;
        case 7:                          /* CUCM SIP TLS 5061 */
            gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
            tls.request = "OPTIONS sip:cucm.steven.lab:5061;transport=tls SIP/2.0\r\n"
                          "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
            tls.response = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
            sport = 5061;
            break;
        case 8:                          /* field case on 6972 with the fix applied */
            gen_profile_field_case(&tls, &ctx->pki, POST_T0);
            tls.client_ciphers = "ECDHE-RSA-AES256-GCM-SHA384:" X142_CIPHERS;
            sport = 6972;
            want = "ECDHE-RSA-AES256-GCM-SHA384";
            break;
        default:                         /* CUCM 8443 in TLS 1.3, no key log */
            gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
            tls.server_max = 0;
            break;
        }
        conn_for(&cp, &rng, sip, sport, t, exp);
        cp.cport = port;
        port = (uint16_t)(port + gen_rng_range(&rng, 1, 40));
        cp.conn = tag;
        if (i == 20)
            cp.isn_s = 0xFFFFFFFFu - 700;   /* the Certificate straddles 2^32 */
        if (run_conn(fx->name, &tls, &cp, exp, want, &l, NULL, &end) != 0)
            goto out;
        t += gen_rng_range(&rng, 1000, 9000);
        if (i % 12 == 5) {
            /* plain HTTP to CUCM's TFTP HTTP port 6970: TCP that is not TLS */
            struct gen_transcript pt;
            static const char get[] = "GET /ITLSEP00BB00CC00DD.tlv HTTP/1.1\r\nHost: 10.48.36.215:6970\r\n\r\n";
            static const char resp[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

            memset(&pt, 0, sizeof pt);
            if (gen_transcript_add(&pt, GEN_C2S, get, sizeof get - 1) != 0 ||
                gen_transcript_add(&pt, GEN_S2C, resp, sizeof resp - 1) != 0) {
                gen_transcript_free(&pt);
                goto out;
            }
            gen_conn_defaults(&cp, &rng, EXPW_IP, CUCM_IP, 6970, t);
            cp.cport = port++;
            cp.conn = ++tag;
            gen_conn_emit(&cp, &pt, &l);
            gen_transcript_free(&pt);
        }
        if (i % 10 == 3) {
            /* DNS lookup of a node over UDP */
            uint8_t q[128], r[128];
            const char *nm = names[i % 3];
            uint8_t addr[4];
            uint16_t id = (uint16_t)gen_rng_next(&rng), sp = (uint16_t)gen_rng_range(&rng, 32768, 60999);
            size_t qn, rn;

            inet_pton(AF_INET, ips[i % 3], addr);
            qn = dns_msg(q, id, nm, NULL);
            rn = dns_msg(r, id, nm, addr);
            if (gen_udp_packet(&l, EXPW_IP, "10.48.36.10", sp, 53, q, (uint32_t)qn, t + 100, 0) != 0 ||
                gen_udp_packet(&l, "10.48.36.10", EXPW_IP, 53, sp, r, (uint32_t)rn, t + 420, 0) != 0)
                goto out;
            l.v[l.n - 1].dir = GEN_S2C;
        }
    }
    gen_pktlist_sort(&l);
    if (gen_write_list(ctx, fx->name, GEN_FMT_PCAP, GEN_LINK_ETH, 0, &l) == 0 &&
        gen_write_args(ctx, fx->name, "--ports all " TRUST_ARGS) == 0)
        rc = 0;
out:
    gen_pktlist_free(&l);
    return rc;
}

/* A server whose certificate names are HTML markup, a client whose SNI and
 * ALPN are too: the report must show them as text (the HTML report's
 * escaping test).  The X14.2 client does not trust the self-signed
 * certificate and sends unknown_ca, so the names reach the findings too. */
static int fx_hostile(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    static const struct single s = {"hostile-names.pcap", CUCM_IP, 8443, EXP_CLIENT_FAIL,
                                    "ECDHE-ECDSA-AES256-GCM-SHA384", GEN_FMT_PCAP, GEN_LINK_ETH, 0, NULL};
    struct gen_tls_cfg tls;

    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    tls.server_certs[0] = &ctx->pki.hostile;
    tls.sni = "\"><svg onload=alert(3)>.steven.lab";
    tls.verify_host = NULL;
    tls.client_alpn = "<b>h2</b>";
    return single_default(ctx, &s, &tls);
}

/* The RSA success cut in the middle of the server flight's first record. */
static int fx_cut(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_conn_params cp;
    struct gen_pktlist l = {0};
    struct gen_writer w;
    char path[PATH_MAX_GEN];
    uint64_t end;
    long cut = -1, off;
    int rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    conn_for(&cp, &rng, CUCM_IP, 8443, POST_T0 * GEN_US + 7000, EXP_COMPLETE);
    if (run_conn(fx->name, &tls, &cp, EXP_COMPLETE, NULL, &l, NULL, &end) != 0 ||
        out_path(path, ctx, fx->name) != 0 ||
        gen_writer_open(&w, path, GEN_FMT_PCAP, GEN_LINK_ETH, 0) != 0)
        goto out;
    for (size_t i = 0; i < l.n; i++) {
        if (gen_writer_put(&w, &l.v[i], &off) != 0)
            break;
        /* 16-byte record header + half of the packet */
        if (cut < 0 && l.v[i].dir == GEN_S2C && l.v[i].paylen > 0)
            cut = off + 16 + (long)(14 + l.v[i].len) / 2;
    }
    if (gen_writer_close(&w) != 0 || cut < 0)
        goto out;
    if (truncate(path, cut) != 0) {
        fprintf(stderr, "gen: truncate %s: %s\n", path, strerror(errno));
        goto out;
    }
    rc = gen_write_args(ctx, fx->name, TRUST_ARGS);
out:
    gen_pktlist_free(&l);
    return rc;
}

/* Index of the first packet carrying transcript flight k, or l->n. */
static size_t first_of_flight(const struct gen_pktlist *l, int k)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].flight == k && l->v[i].paylen > 0)
            return i;
    return l->n;
}

/* Capture-cut variants of the RSA success (issue 17), one connection each:
 *   1. the client's close_notify segment sent again 200 ms after both FINs
 *      (a retransmission, not a second connection);
 *   2. a capture that starts after the handshake: its first packet is the
 *      client's request (only encrypted records and alerts follow). */
static int fx_cut_variants(struct gen_ctx *ctx, const struct gen_fixture *fx)
{
    struct gen_rng rng;
    struct gen_tls_cfg tls;
    struct gen_conn_params cp;
    struct gen_transcript tr;
    struct gen_pktlist l = {0}, l2 = {0};
    uint64_t end, end2;
    size_t last = SIZE_MAX, from;
    int req = -1, rc = -1;

    gen_rng_seed(&rng, gen_fnv1a(fx->name));
    gen_profile_rsa_ok(&tls, &ctx->pki, POST_T0);
    conn_for(&cp, &rng, CUCM_IP, 8443, POST_T0 * GEN_US + 7000, EXP_COMPLETE);
    if (run_conn(fx->name, &tls, &cp, EXP_COMPLETE, NULL, &l, NULL, &end) != 0)
        return -1;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].dir == GEN_C2S && l.v[i].paylen > 0)
            last = i;
    if (last == SIZE_MAX)
        goto out;
    {
        struct gen_pkt p = l.v[last];   /* the client's close_notify */

        p.ts = end + 200000;
        if (gen_pktlist_push(&l, &p, l.v[last].ip, l.v[last].len) != 0)
            goto out;
    }
    conn_for(&cp, &rng, CUCM_IP, 8443, end + GEN_US, EXP_COMPLETE);
    if (run_conn(fx->name, &tls, &cp, EXP_COMPLETE, NULL, &l2, &tr, &end2) != 0)
        goto out;
    for (size_t k = 0; k < tr.n && req < 0; k++)
        if (tr.v[k].dir == GEN_C2S && tr.v[k].len > 0 && tr.v[k].data[0] == 23)
            req = (int)k;   /* the first application data record */
    from = req < 0 ? l2.n : first_of_flight(&l2, req);
    if (from == l2.n) {
        fprintf(stderr, "gen: %s: no client request in the second connection\n", fx->name);
        gen_transcript_free(&tr);
        goto out;
    }
    for (size_t i = from; i < l2.n; i++)
        if (gen_pktlist_push(&l, &l2.v[i], l2.v[i].ip, l2.v[i].len) != 0) {
            gen_transcript_free(&tr);
            goto out;
        }
    gen_transcript_free(&tr);
    gen_pktlist_sort(&l);
    if (gen_write_list(ctx, fx->name, GEN_FMT_PCAP, GEN_LINK_ETH, 0, &l) == 0 &&
        gen_write_args(ctx, fx->name, TRUST_ARGS) == 0)
        rc = 0;
out:
    gen_pktlist_free(&l);
    gen_pktlist_free(&l2);
    return rc;
}

const struct gen_fixture gen_fixtures[] = {
    {"rsa-ok-8443.pcap", "RSA CA-signed, X14.2 client verifies, complete (+ .gz copy)", fx_rsa_ok},
    {"field-case-6972.pcap", "ECDSA picked, self-signed cucm-EC, client unknown_ca + RST, twice", fx_field_case},
    {"ip-not-in-san.pcap", "connect by IP, no SNI, SAN has the FQDN only", fx_ip_not_in_san},
    {"missing-intermediate.pcap", "leaf sent without its intermediate", fx_missing_inter},
    {"expired-leaf.pcap", "CA-signed leaf expired 2025-06-01", fx_expired},
    {"tls13-keylog.pcap", "TLS 1.3 success with NSS key log", fx_tls13_keylog},
    {"tls13-unknown-ca.pcap", "TLS 1.3 field case, unknown_ca (plaintext from OpenSSL), key log", fx_tls13_unknown_ca},
    {"mtls-client-rejected.pcap", "CUCM rejects the Expressway client cert (unknown_ca)", fx_mtls},
    {"tls13-chacha20.pcap", "TLS 1.3 ChaCha20-Poly1305 success, key log", fx_tls13_chacha20},
    {"tls13-hrr.pcap", "TLS 1.3 HelloRetryRequest (X25519 share, P-256 server), key log", fx_tls13_hrr},
    {"tls13-mtls-rejected.pcap", "TLS 1.3 mutual TLS, CUCM rejects the client cert, key log", fx_tls13_mtls},
    {"tls13-ecdsa-candidates.pcap", "TLS 1.3 no key log: self-signed ECDSA chosen on 8443, chains from --cafile", gen_fx_tls13_ecdsa_candidates},
    {"tls13-seen-chain.pcap", "TLS 1.3 no key log on 6972 after TLS 1.2 showed the server's chains", gen_fx_tls13_seen_chain},
    {"incomplete-reasons.pcap", "4 RSA handshakes cut: hole, server FIN, idle 11 min, capture end", gen_fx_incomplete_reasons},
    {"pre-upgrade.pcap", "before X14.2: RSA-first list, no verification, all complete", fx_pre},
    {"post-upgrade.pcap", "after X14.2: 6972 fails (ECDSA), 8443 complete", fx_post},
    {"reorder-dup-overlap.pcap", "server flight reordered, duplicated, overlapping", fx_reorder},
    {"vlan-qinq.pcap", "field case, 802.1ad + 802.1Q tags", fx_qinq},
    {"sll.pcap", "RSA success, Linux cooked v1", fx_sll},
    {"sll2.pcap", "field case, Linux cooked v2", fx_sll2},
    {"raw-ip.pcap", "RSA success, DLT_RAW", fx_raw},
    {"ipv6.pcap", "field case over IPv6", fx_ipv6},
    {"pcapng.pcapng", "field case in pcapng", fx_pcapng},
    {"rotated-00.pcap", "rotated pair: a connection spanning rotated-00/01", fx_rotated},
    {"many-flows.pcap", "~50 interleaved connections, other ports, UDP, ISN wrap", fx_many},
    {"snaplen.pcap", "field case captured with snaplen 256", fx_snaplen},
    {"hostile-names.pcap", "certificate CN, SAN, SNI and ALPN that are HTML markup", fx_hostile},
    {"cut-mid-packet.pcap", "RSA success, file cut mid-record", fx_cut},
    {"traversal-7001.pcap", "traversal zone mTLS, Expressway-E leaf without intermediate; SSH on 2222", fx_traversal},
    {"sip-5061-self-signed.pcap", "SIP TLS 5061, self-signed CallManager certificate", fx_sip_self_signed},
    {"edge-clients-443.pcap", "Jabber to Expressway-E 443, SAN lacks collab-edge name", fx_edge_clients},
    {"cut-variants.pcap", "RSA success twice: close_notify retransmitted after FIN; capture from mid-session", fx_cut_variants},
    {"resumption.pcap", "TLS 1.2 resumed by session ID (8443) and by ticket (6972), TLS 1.3 PSK; key log", gen_fx_resumption},
    {"keylog-suites-12.pcap", "TLS 1.2 Camellia (EtM, MtE), ARIA-GCM, AES-CCM_8, NULL-SHA256; key log", gen_fx_keylog_suites},
    {"padded-frames.pcap", "RSA success with short frames padded to 60 bytes, then over PPPoE", gen_fx_padded_frames},
    {"tls13-mtls-keys.pcap", "TLS 1.3 mTLS rejected: server RSA-4096, P-256, P-384; no client cert; key log", gen_fx_tls13_mtls_keys},
    {"tls13-abort-segments.pcap", "TLS 1.3 client abort, flight in 100-byte segments; HRR abort and success; key log", gen_fx_tls13_abort_segments},
    {"tls13-post-handshake.pcap", "TLS 1.3 close after Finished, tickets or none, KeyUpdate, padding, one-sided data; key log", gen_fx_tls13_post_handshake},
    {"close-notify-12-13.pcap", "healthy TLS 1.2 and 1.3 sessions ended by close_notify; key log", gen_fx_close_notify_12_13},
    {"compressed-12.pcap", "TLS 1.2 with DEFLATE compression, HTTP both ways; key log (needs OpenSSL with zlib)", gen_fx_compressed_12},
    {"any-dup.pcap", "tcpdump -i any on a bond (SLL2): every packet twice; field case, TLS 1.3 success", gen_fx_any_dup},
    {"tcp-quirks.pcap", "zero-window probe, retransmission over 1.5 segments, swapped segments, keepalives", gen_fx_tcp_quirks},
    {"port-reuse.pcap", "one 4-tuple, four connections (TIME_WAIT reuse, after RST, SYN not captured)", gen_fx_port_reuse},
    {"cut-starts.pcap", "SYN again, segments after the RST, captures from mid-flight, server RST mid-flight", gen_fx_cut_starts},
    {"snaplen-96.pcap", "field case, TLS 1.3 and TLS 1.2 successes at snaplen 96", gen_fx_snaplen_96},
    {"vlan-ip-options.pcap", "802.1Q; IPv4 options; IPv6 extension headers and an atomic fragment", gen_fx_vlan_ip_options},
    {"any-dup-sll.pcap", "tcpdump -i any (SLL v1): every packet twice; TLS 1.2 success, field case", gen_fx_any_dup_sll},
    {"idle-continue.pcap", "TLS 1.2 and TLS 1.3 connections reused after 15 and 12 minutes of silence", gen_fx_idle_continue},
};
const size_t gen_nfixtures = sizeof gen_fixtures / sizeof gen_fixtures[0];

int gen_emit_scenario(pcap_dumper_t *d, enum gen_link link, int snaplen,
                      const struct gen_tls_cfg *tls, const struct gen_conn_params *cp,
                      uint64_t *last_ts)
{
    struct gen_transcript t;
    struct gen_pktlist l = {0};

    if (gen_tls_run(tls, &t) != 0) {
        gen_transcript_free(&t);
        return -1;
    }
    *last_ts = gen_conn_emit(cp, &t, &l);
    gen_transcript_free(&t);
    for (size_t i = 0; i < l.n; i++)
        gen_dump_pkt(d, link, snaplen, &l.v[i]);
    gen_pktlist_free(&l);
    return 0;
}
