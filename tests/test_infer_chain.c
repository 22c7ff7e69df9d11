/* test_infer_chain.c - the encrypted TLS 1.3 server flight matched by size
 * against known chains: exact (one message a record), by total (coalesced
 * or padded), ambiguity, the server endpoint of a seen chain, and the words
 * the reports use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/infer_chain.h"

#define TAG 16
#define SUITE_SHA384 0x1302

struct fx {
    struct infer_chains *t;
    struct x509_cert ec, rsa, inter;
    struct conn seen12, c13;
    struct conn_endpoint srv, other;
};

static void cert(struct x509_cert *x, const char *cn, const char *key, const char *type,
                 size_t der_len, bool self)
{
    memset(x, 0, sizeof(*x));
    x->parsed = true;
    x->cn = (char *)cn;
    x->subject = (char *)cn;
    snprintf(x->key, sizeof(x->key), "%s", key);
    snprintf(x->key_type, sizeof(x->key_type), "%s", type);
    x->der_len = der_len;
    x->self_signed = self;
    snprintf(x->sha256_hex, sizeof(x->sha256_hex), "%064d", (int)der_len);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(infer_chains_new(&f->t, NULL), 0);   /* no trust store: seen only */
    cert(&f->ec, "cucm-EC.steven.lab", "EC P-384", "EC", 580, true);
    cert(&f->rsa, "cucm.steven.lab", "RSA 2048", "RSA", 923, false);
    cert(&f->inter, "Steven Lab Issuing CA 1", "RSA 2048", "RSA", 1001, false);
    f->srv.ipver = 4;
    memcpy(f->srv.ip, "\x0a\x30\x24\xd7", 4);
    f->srv.port = 6972;
    f->other = f->srv;
    f->other.port = 8443;
    conn_init(&f->seen12);
    conn_init(&f->c13);
    f->c13.tls13 = true;
    f->c13.sh.present = true;
    f->c13.sh.suite = SUITE_SHA384;
    f->c13.server = f->srv;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    infer_chains_free(f->t);
    free(f);
    return 0;
}

/* The server saw presenting chain v[0..n) at time ts. */
static void seen(struct fx *f, const struct conn_endpoint *ep, const struct x509_cert *a,
                 const struct x509_cert *b, int64_t ts)
{
    conn_init(&f->seen12);
    f->seen12.server_certs[0] = a;
    f->seen12.server_certs[1] = b;
    f->seen12.n_server_certs = b ? 2 : 1;
    infer_chains_note(f->t, ep, &f->seen12, ts);
}

/* A record carrying `inner` plaintext bytes. */
static uint16_t rec(unsigned inner)
{
    return (uint16_t)(inner + 1 + TAG);
}

/* EE(6+), [CR], Certificate, CertificateVerify(sig), Finished (SHA-384). */
static size_t flight(uint16_t *l, unsigned ee, unsigned cr, unsigned cert, unsigned sig)
{
    size_t n = 0;

    l[n++] = rec(ee);
    if (cr)
        l[n++] = rec(cr);
    l[n++] = rec(cert);
    l[n++] = rec(8 + sig);
    l[n++] = rec(4 + 48);
    return n;
}

static void exact_match_seen_ec(void **state)
{
    struct fx *f = *state;
    uint16_t l[8];
    char basis[1024];
    size_t n;

    seen(f, &f->srv, &f->rsa, &f->inter, 1000000);
    seen(f, &f->srv, &f->ec, NULL, 2000000);
    seen(f, &f->srv, &f->ec, NULL, 3000000);   /* the same chain again: kept once */
    n = flight(l, 20, 40, 8 + 5 + 580, 103);   /* with a CertificateRequest */
    infer_chain_match(f->t, &f->c13, l, n);
    assert_ptr_equal(f->c13.inferred_leaf, &f->ec);
    assert_int_equal(f->c13.inferred_chain_source, INFER_SRC_SEEN);
    assert_int_equal(f->c13.inferred_chain_certs, 1);
    assert_true(f->c13.inferred_chain_exact);
    assert_int_equal(f->c13.inferred_cert_msg, 593);
    assert_int_equal(f->c13.inferred_chain_seen_ts, 2000000);
    assert_int_equal(f->c13.inferred_server_key, KEY_GUESS_EC);
    infer_chain_basis(&f->c13, basis, sizeof(basis));
    assert_non_null(strstr(basis, "593 bytes, exactly"));
    assert_non_null(strstr(basis, "self-signed EC P-384 chain of cucm-EC.steven.lab"));
    assert_non_null(strstr(basis, "10.48.36.215:6972 presented in a readable handshake at 1970-01-01T00:00:02Z"));
}

static void exact_rsa_chain_without_cr(void **state)
{
    struct fx *f = *state;
    uint16_t l[8];
    size_t n;

    seen(f, &f->srv, &f->rsa, &f->inter, 1000000);
    seen(f, &f->srv, &f->ec, NULL, 2000000);
    n = flight(l, 20, 0, 8 + 5 + 923 + 5 + 1001, 256);
    infer_chain_match(f->t, &f->c13, l, n);
    assert_ptr_equal(f->c13.inferred_leaf, &f->rsa);
    assert_int_equal(f->c13.inferred_chain_certs, 2);
}

/* The right size with the wrong signature: RSA-3072 is not the EC key. */
static void signature_must_fit_key(void **state)
{
    struct fx *f = *state;
    uint16_t l[8];
    size_t n;

    seen(f, &f->srv, &f->ec, NULL, 1);
    n = flight(l, 20, 0, 593, 384);
    infer_chain_match(f->t, &f->c13, l, n);
    assert_null(f->c13.inferred_leaf);
    n = flight(l, 20, 0, 594, 103);           /* one byte more: not exact */
    infer_chain_match(f->t, &f->c13, l, n);
    assert_null(f->c13.inferred_leaf);
}

/* A chain seen from another port of the same host does not count. */
static void other_endpoint_ignored(void **state)
{
    struct fx *f = *state;
    uint16_t l[8];
    size_t n;

    seen(f, &f->other, &f->ec, NULL, 1);
    n = flight(l, 20, 0, 593, 103);
    infer_chain_match(f->t, &f->c13, l, n);
    assert_null(f->c13.inferred_leaf);
}

/* Everything in one padded record: only the total is known. */
static void total_fits_one(void **state)
{
    struct fx *f = *state;
    uint16_t l[1];

    seen(f, &f->srv, &f->rsa, &f->inter, 1);
    seen(f, &f->srv, &f->ec, NULL, 2);
    l[0] = rec(30 + 593 + 8 + 103 + 52 + 100);   /* EE 30, 100 bytes of padding */
    infer_chain_match(f->t, &f->c13, l, 1);
    assert_null(f->c13.inferred_leaf);            /* one record: too few to read */
    uint16_t l2[2] = {rec(30 + 593), rec(8 + 103 + 52 + 100)};
    f->c13.inferred_server_key = KEY_GUESS_NONE;
    infer_chain_match(f->t, &f->c13, l2, 2);
    assert_ptr_equal(f->c13.inferred_leaf, &f->ec);
    assert_false(f->c13.inferred_chain_exact);
    assert_int_equal(f->c13.inferred_server_key, KEY_GUESS_EC);
    assert_int_equal(f->c13.inferred_chain_room, 30 + 100 + 103 - 104);
}

/* One message a record, padded to 64-byte blocks (RFC 8446 5.4): each
 * record is matched to within the block, not the flight's total, so a
 * smaller chain whose total would fit with room to spare does not. */
static void padded_per_record(void **state)
{
    struct fx *f = *state;
    struct x509_cert root;
    uint16_t l[4];

    /* the self-signed P-384 chain (593-byte message), padded */
    seen(f, &f->srv, &f->ec, NULL, 1);
    l[0] = rec(63);                 /* EncryptedExtensions: 64 inner */
    l[1] = rec(639);                /* Certificate 593 + type, padded to 640 */
    l[2] = rec(127);                /* CertificateVerify 8 + 103 + type, padded to 128 */
    l[3] = rec(63);                 /* Finished 52 + type, padded to 64 */
    infer_chain_match(f->t, &f->c13, l, 4);
    assert_ptr_equal(f->c13.inferred_leaf, &f->ec);
    assert_false(f->c13.inferred_chain_exact);
    assert_int_equal(f->c13.inferred_chain_room, 639 - 593);

    /* the CA-signed RSA-2048 chain sent padded, only a self-signed RSA-3072
     * known: by the total it would fit (1134-byte message, 2428 bytes
     * seen), record by record its 384-byte signature cannot */
    cert(&root, "Steven Lab Root CA", "RSA 3072", "RSA", 1121, true);
    conn_init(&f->c13);
    f->c13.tls13 = true;
    f->c13.sh.present = true;
    f->c13.sh.suite = SUITE_SHA384;
    f->c13.server = f->srv;
    seen(f, &f->srv, &root, NULL, 2);
    l[1] = rec(1983);               /* 1942 + type, padded to 1984 */
    l[2] = rec(319);                /* 8 + 256 + type, padded to 320 */
    infer_chain_match(f->t, &f->c13, l, 4);
    assert_null(f->c13.inferred_leaf);
}

/* Two different leaves of the same size and key: no answer. */
static void ambiguous_is_no_match(void **state)
{
    struct fx *f = *state;
    struct x509_cert twin;
    uint16_t l[8];
    size_t n;

    cert(&twin, "cucm-EC2.steven.lab", "EC P-384", "EC", 580, true);
    seen(f, &f->srv, &f->ec, NULL, 1);
    seen(f, &f->srv, &twin, NULL, 2);
    n = flight(l, 20, 0, 593, 103);
    infer_chain_match(f->t, &f->c13, l, n);
    assert_null(f->c13.inferred_leaf);
}

/* Keys used, certificates visible, or hostile lengths: nothing, no crash. */
static void not_applicable(void **state)
{
    struct fx *f = *state;
    uint16_t l[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    uint16_t big[4] = {65535, 65535, 65535, 65535};

    seen(f, &f->srv, &f->ec, NULL, 1);
    infer_chain_match(f->t, &f->c13, l, 8);
    assert_null(f->c13.inferred_leaf);
    infer_chain_match(f->t, &f->c13, big, 4);
    assert_null(f->c13.inferred_leaf);
    f->c13.keys_used = true;
    infer_chain_match(f->t, &f->c13, l, flight(l, 20, 0, 593, 103));
    assert_null(f->c13.inferred_leaf);
    infer_chain_match(NULL, &f->c13, l, 5);
    infer_chains_note(NULL, &f->srv, &f->seen12, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(exact_match_seen_ec, setup, teardown),
        cmocka_unit_test_setup_teardown(exact_rsa_chain_without_cr, setup, teardown),
        cmocka_unit_test_setup_teardown(signature_must_fit_key, setup, teardown),
        cmocka_unit_test_setup_teardown(other_endpoint_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(total_fits_one, setup, teardown),
        cmocka_unit_test_setup_teardown(padded_per_record, setup, teardown),
        cmocka_unit_test_setup_teardown(ambiguous_is_no_match, setup, teardown),
        cmocka_unit_test_setup_teardown(not_applicable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
