/* fuzz_x509.c - libFuzzer harness: certificate fact extraction (x509_intern) and the name check.
 *
 * Input: the DER of one certificate.  It is interned twice (the second time
 * must return the same struct), its facts are read to the end of every
 * string (ASan checks each is terminated inside its allocation), and it is
 * verified as a one-certificate chain against an empty trust store with a
 * DNS name and an IP address, which runs the name checks on whatever the
 * SAN/CN hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/err.h"
#include "tlsinspect/x509.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_x509_str(const char *s, size_t max)
{
    if (s != NULL)
        FUZZ_CHECK(strlen(s) <= max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct x509_trust_opts trust = {NULL, NULL, NULL};
    static struct x509_pool *pool;   /* see FUZZ_POOL_INPUTS */
    static unsigned uses;
    const struct x509_cert *c, *c2;
    struct x509_verdict v;
    char err[256];
    uint8_t *der;

    if (pool == NULL || ++uses > FUZZ_POOL_INPUTS) {
        x509_pool_free(pool);
        if (x509_pool_new(&pool, &trust, err, sizeof(err)) != TI_OK)
            abort();
        uses = 1;
    }
    der = malloc(size ? size : 1);
    if (der == NULL)
        abort();
    memcpy(der, data, size);
    c = x509_intern(pool, der, size);
    FUZZ_CHECK(c != NULL);
    free(der);                          /* the pool keeps its own copy */
    FUZZ_CHECK(c->der_len == size && (size == 0 || memcmp(c->der, data, size) == 0));
    FUZZ_CHECK(strlen(c->sha256_hex) == 64);
    c2 = x509_intern(pool, data, size);
    FUZZ_CHECK(c2 == c);
    if (!c->parsed) {
        FUZZ_CHECK(c->parse_error != NULL);
    }
    fuzz_x509_str(c->parse_error, 4096);
    fuzz_x509_str(c->subject, 1u << 20);
    fuzz_x509_str(c->issuer, 1u << 20);
    fuzz_x509_str(c->cn, 1u << 20);
    FUZZ_CHECK(c->n_san <= X509_MAX_SAN);
    for (size_t i = 0; i < c->n_san; i++) {
        FUZZ_CHECK(c->san[i] != NULL);
        fuzz_x509_str(c->san[i], 1u << 20);
    }
    FUZZ_CHECK(memchr(c->key, 0, sizeof(c->key)) != NULL);
    FUZZ_CHECK(memchr(c->key_type, 0, sizeof(c->key_type)) != NULL);
    fuzz_x509_str(c->signature_algorithm, 4096);
    fuzz_x509_str(c->serial, 1u << 20);
    fuzz_x509_str(c->ski, 1u << 20);
    fuzz_x509_str(c->aki, 1u << 20);

    memset(&v, 0, sizeof(v));
    FUZZ_CHECK(x509_verify(pool, &c, 1, 1700000000, "cucm.example.com", false, &v) == TI_OK);
    FUZZ_CHECK(v.result == X509_CHAIN_NOT_CHECKED || v.result == X509_CHAIN_OTHER);
    FUZZ_CHECK(v.matched == NULL || strlen(v.matched) < X509_MATCHED_MAX);
    FUZZ_CHECK(v.matched == NULL || v.name_ok);
    FUZZ_CHECK(v.openssl_error == NULL || strlen(v.openssl_error) < 4096);
    if (!c->parsed)
        FUZZ_CHECK(!v.name_ok);
    FUZZ_CHECK(x509_verify(pool, &c, 1, -1, "10.0.0.1", true, &v) == TI_OK);
    FUZZ_CHECK(v.matched == NULL || strncmp(v.matched, "IP:", 3) == 0);
    /* A chain of the same certificate twice: leaf and "intermediate". */
    {
        const struct x509_cert *chain[2] = {c, c};
        FUZZ_CHECK(x509_verify(pool, chain, 2, 4102444800LL, "", false, &v) == TI_OK);
    }
    return 0;
}
