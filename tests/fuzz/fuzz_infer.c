/* fuzz_infer.c - libFuzzer harness: TLS 1.3 read without keys (tls_infer.c)
 * and the chain matching by size (infer_chain.c).
 *
 * The parser is given a fixed TLS 1.3 ClientHello and ServerHello (real
 * bytes' shape, hand-made), then a sequence of records the input describes
 * by header only, so the fuzzer works on what the inference reads: record
 * lengths, content types, directions, their order, FIN/RST and holes.
 * Input format:
 *   byte 0: setup.  bits 0-1: the suite (0x1301, 0x1302, 0x1303, 0x1305:
 *           tag and Finished sizes differ); bit 2: the EC candidate was seen
 *           from this server; bit 3: the RSA chain was; bit 4: a second,
 *           same-size EC leaf was (ambiguity); bit 5: a server CCS
 *           (middlebox compatibility) after the ServerHello.
 *   bytes 1-4: the EC candidate's DER length, the RSA leaf's (big-endian),
 *           each + 64, so the fuzzer can make a flight fit them.
 *   then operations, each a control byte:
 *     bits 0-1: 0 or 3 a record, 1 FIN, 2 RST; bit 2: from the server;
 *     bits 3-5: the record's type: 23 (most), 21, 22, 20, 24, or the next
 *     input byte; bit 6: the record is fed in two pieces; bit 7: a hole of
 *     the record's length instead of its bytes.
 *     A record takes a 2-byte big-endian body length (at most 2^14 + 256).
 * After the input: tls_finish(), the flight lengths into
 * infer_chain_match() with the candidates, the findings, and checks: a
 * match is one of the candidates, its numbers agree, its words exist.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/infer_chain.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls_names.h"
#include "tlsinspect/x509.h"

#include "fuzz_check.h"
#include "fuzz_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FI_BODY_MAX (16384 + 256)

static const uint16_t fi_suites[4] = {0x1301, 0x1302, 0x1303, 0x1305};

/* A TLS 1.3 ClientHello (one suite, supported_versions 1.3) or ServerHello
 * (that suite, supported_versions 1.3, an X25519 key share) record. */
static size_t fi_hello(uint8_t *b, bool server, uint16_t suite)
{
    size_t n = 0, hs, ext;

    b[n++] = 22; b[n++] = 3; b[n++] = server ? 3 : 1; n += 2;   /* record header */
    hs = n;
    b[n++] = server ? 2 : 1; n += 3;
    b[n++] = 3; b[n++] = 3;
    memset(b + n, 0x5a, 32); n += 32;                          /* random */
    b[n++] = 32; memset(b + n, 0x11, 32); n += 32;             /* session id */
    if (!server) { b[n++] = 0; b[n++] = 2; }
    b[n++] = (uint8_t)(suite >> 8); b[n++] = (uint8_t)suite;
    if (!server) { b[n++] = 1; }
    b[n++] = 0;                                                /* compression */
    ext = n; n += 2;
    b[n++] = 0x00; b[n++] = 0x2b;                              /* supported_versions */
    if (server) {
        b[n++] = 0; b[n++] = 2; b[n++] = 3; b[n++] = 4;
        b[n++] = 0x00; b[n++] = 0x33; b[n++] = 0; b[n++] = 36;  /* key_share */
        b[n++] = 0x00; b[n++] = 0x1d; b[n++] = 0; b[n++] = 32;
        memset(b + n, 0x22, 32); n += 32;
    } else {
        b[n++] = 0; b[n++] = 3; b[n++] = 2; b[n++] = 3; b[n++] = 4;
    }
    b[ext] = (uint8_t)((n - ext - 2) >> 8); b[ext + 1] = (uint8_t)(n - ext - 2);
    b[hs + 1] = 0; b[hs + 2] = (uint8_t)((n - hs - 4) >> 8); b[hs + 3] = (uint8_t)(n - hs - 4);
    b[3] = (uint8_t)((n - 5) >> 8); b[4] = (uint8_t)(n - 5);
    return n;
}

static void fi_feed(struct tls_session *s, int side, const uint8_t *p, size_t n, int64_t ts)
{
    uint8_t *copy = malloc(n ? n : 1);   /* exact size: ASan sees a read past it */

    if (copy == NULL)
        abort();
    memcpy(copy, p, n);
    tls_feed(s, side, copy, n, ts);
    free(copy);
}

static void fi_cert(struct x509_cert *x, const char *cn, const char *key, const char *type,
                    size_t der_len)
{
    memset(x, 0, sizeof(*x));
    x->parsed = true;
    x->cn = (char *)cn;
    x->subject = (char *)cn;
    snprintf(x->key, sizeof(x->key), "%s", key);
    snprintf(x->key_type, sizeof(x->key_type), "%s", type);
    x->der_len = der_len;
    x->self_signed = type[0] == 'E';
}

/* What the matcher must have done, if anything. */
static void fi_check_match(const struct conn *c, const struct x509_cert *const *cands, size_t n)
{
    char basis[1024];
    bool known = false;

    if (c->inferred_leaf == NULL) {
        FUZZ_CHECK(infer_chain_basis(c, basis, sizeof(basis))[0] == '\0');
        return;
    }
    for (size_t i = 0; i < n; i++)
        known |= c->inferred_leaf == cands[i];
    FUZZ_CHECK(known);
    FUZZ_CHECK(c->tls13 && !c->keys_used && c->n_server_certs == 0);
    FUZZ_CHECK(c->inferred_chain_source == INFER_SRC_SEEN);
    FUZZ_CHECK(c->inferred_chain_certs >= 1 && c->inferred_chain_certs <= INFER_CHAIN_MAX_LEN);
    FUZZ_CHECK(c->inferred_cert_msg > c->inferred_leaf->der_len);
    FUZZ_CHECK(c->inferred_server_key != KEY_GUESS_NONE);
    FUZZ_CHECK(infer_chain_basis(c, basis, sizeof(basis))[0] != '\0');
    FUZZ_CHECK(strstr(basis, "by size") != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tls_names *names;   /* read-only after init: one per process */
    static uint8_t body[FI_BODY_MAX + 5];
    struct x509_trust_opts trust = {NULL, NULL, NULL};
    struct x509_pool *pool = NULL;
    struct infer_chains *t = NULL;
    struct tls_session *s = NULL;
    struct tls_limits lim;
    struct x509_cert ec, ec2, rsa, inter;
    const struct x509_cert *cands[4] = {&ec, &ec2, &rsa, &inter};
    struct conn c, seen;
    uint8_t hello[256];
    int64_t ts = 1700000000000000LL;
    size_t i = 5, n;
    uint16_t suite;
    char err[256];

    if (size < 5)
        return 0;
    if (names == NULL && tls_names_new(&names) != TI_OK)
        abort();
    if (x509_pool_new(&pool, &trust, err, sizeof(err)) != TI_OK ||
        infer_chains_new(&t, pool) != TI_OK)
        abort();
    suite = fi_suites[data[0] & 3];
    fi_cert(&ec, "ec.example", "EC P-384", "EC", ((size_t)data[1] << 8 | data[2]) + 64);
    fi_cert(&ec2, "ec2.example", "EC P-384", "EC", ec.der_len);
    fi_cert(&rsa, "rsa.example", "RSA 2048", "RSA", ((size_t)data[3] << 8 | data[4]) + 64);
    fi_cert(&inter, "ca.example", "RSA 2048", "RSA", 1001);
    inter.is_ca = true;

    conn_init(&c);
    tls_limits_default(&lim);
    if (tls_session_new(&s, &c, pool, names, &lim, NULL) != TI_OK)
        abort();
    tls_set_client_side(s, 0);
    fi_feed(s, 0, hello, fi_hello(hello, false, suite), ts);
    ts += 1000;
    fi_feed(s, 1, hello, fi_hello(hello, true, suite), ts);
    if (data[0] & 0x20) {
        static const uint8_t ccs[6] = {20, 3, 3, 0, 1, 1};
        fi_feed(s, 1, ccs, sizeof(ccs), ts);
    }

    while (i < size) {
        uint8_t ctl = data[i++];
        int side = (ctl >> 2) & 1;
        static const uint8_t types[6] = {23, 23, 21, 22, 20, 24};
        unsigned k = (ctl >> 3) & 7;
        uint8_t type = k < 6 ? types[k] : 23;

        ts += 1000;
        if ((ctl & 3) == 1 || (ctl & 3) == 2) {
            tls_close(s, side, (ctl & 3) == 2, ts);
            continue;
        }
        if (k >= 6) {
            if (i >= size)
                break;
            type = data[i++];
        }
        if (size - i < 2)
            break;
        n = ((size_t)data[i] << 8 | data[i + 1]) % (FI_BODY_MAX + 1);
        i += 2;
        body[0] = type; body[1] = 3; body[2] = 3;
        body[3] = (uint8_t)(n >> 8); body[4] = (uint8_t)n;
        memset(body + 5, 0xa5, n);
        if (tls_done(s))
            continue;
        if (ctl & 0x80) {
            tls_gap(s, side, n + 5, ts);
        } else if (ctl & 0x40) {
            fi_feed(s, side, body, (n + 5) / 2, ts);
            fi_feed(s, side, body + (n + 5) / 2, n + 5 - (n + 5) / 2, ts);
        } else {
            fi_feed(s, side, body, n + 5, ts);
        }
    }
    tls_finish(s);

    /* The candidates, as chains seen from this server in cleartext. */
    conn_init(&seen);
    seen.server = c.server;
    seen.n_server_certs = 1;
    if (data[0] & 4) {
        seen.server_certs[0] = &ec;
        infer_chains_note(t, &c.server, &seen, 1);
    }
    if (data[0] & 0x10) {
        seen.server_certs[0] = &ec2;
        infer_chains_note(t, &c.server, &seen, 2);
    }
    if (data[0] & 8) {
        seen.server_certs[0] = &rsa;
        seen.server_certs[1] = &inter;
        seen.n_server_certs = 2;
        infer_chains_note(t, &c.server, &seen, 3);
    }
    {
        const uint16_t *lens;
        size_t nl = tls_server_flight13(s, &lens);
        FUZZ_CHECK(nl <= 16);
        infer_chain_match(t, &c, lens, nl);
        infer_chain_match(t, &c, lens, nl);   /* the same answer again */
    }
    tls_session_free(s);
    fi_check_match(&c, cands, 4);
    findings_run(&c, names);
    fuzz_check_conn(&c);
    for (size_t k = 0; k < c.n_alerts; k++) {
        FUZZ_CHECK(!c.alerts[k].inferred || c.alerts[k].encrypted);
        /* an inferred alert is the one that ended the handshake */
        FUZZ_CHECK(!c.alerts[k].inferred || (c.outcome_inferred && c.outcome == OUTCOME_FAILED));
    }
    FUZZ_CHECK(!c.outcome_inferred || c.outcome == OUTCOME_COMPLETE || c.outcome == OUTCOME_FAILED);
    /* the client's flight began with a certificate, an empty one, or neither */
    FUZZ_CHECK(!(c.inferred_client_cert && c.inferred_empty_client_cert));
    /* a rejection of the client's certificate needs a certificate, sent or empty */
    for (size_t k = 0; k < c.n_findings; k++)
        FUZZ_CHECK(c.findings[k].id != FINDING_CLIENT_CERT_REJECTED || c.inferred_client_cert ||
                   c.certificate_request);
    conn_free(&c);
    infer_chains_free(t);
    x509_pool_free(pool);
    return 0;
}
