/* tls_names.c - code -> name tables for TLS suites, groups, signature schemes, alerts, versions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/ssl.h>

#include "tlsinspect/err.h"
#include "tlsinspect/tls_names.h"

/* Holds the OpenSSL objects SSL_CIPHER_find needs; never changed after
 * tls_names_new(), so one instance can serve every connection. */
struct suite_ent {
    uint16_t code;
    const SSL_CIPHER *c;
};

struct tls_names {
    SSL_CTX *ctx;
    SSL *ssl;
    struct suite_ent *suites;      /* the SSL's cipher list by code (see suite_find) */
    size_t nsuites;
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Tables are sorted by code, without duplicates: looked up by binary search.
 * Every table searched here is listed in name_tables[] at the end of this
 * file, where test_tls_names asserts that order. */
static const char *tok_find(const struct tls_name_tok *t, size_t n, uint16_t code)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].code == code)
            return t[mid].name;
        if (t[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- cipher suites ------------------------------------------------------ */

/* IANA names of suites this OpenSSL build does not know (weak ciphers are
 * compiled out of Debian's OpenSSL 3: RC4, DES, 3DES, export; static DH/ECDH
 * and Kerberos were never implemented), so that old clients' offers still
 * print by name. */
static const struct tls_name_tok suite_fallback[] = {
    {0x0000, "TLS_NULL_WITH_NULL_NULL"},
    {0x0001, "TLS_RSA_WITH_NULL_MD5"},
    {0x0002, "TLS_RSA_WITH_NULL_SHA"},
    {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
    {0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"},
    {0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"},
    {0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA"},
    {0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x000b, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA"},
    {0x000c, "TLS_DH_DSS_WITH_DES_CBC_SHA"},
    {0x000d, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x000e, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x000f, "TLS_DH_RSA_WITH_DES_CBC_SHA"},
    {0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"},
    {0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"},
    {0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA"},
    {0x001a, "TLS_DH_anon_WITH_DES_CBC_SHA"},
    {0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
    {0x001e, "TLS_KRB5_WITH_DES_CBC_SHA"},
    {0x001f, "TLS_KRB5_WITH_3DES_EDE_CBC_SHA"},
    {0x0020, "TLS_KRB5_WITH_RC4_128_SHA"},
    {0x0021, "TLS_KRB5_WITH_IDEA_CBC_SHA"},
    {0x0022, "TLS_KRB5_WITH_DES_CBC_MD5"},
    {0x0023, "TLS_KRB5_WITH_3DES_EDE_CBC_MD5"},
    {0x0024, "TLS_KRB5_WITH_RC4_128_MD5"},
    {0x0025, "TLS_KRB5_WITH_IDEA_CBC_MD5"},
    {0x0026, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA"},
    {0x0027, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA"},
    {0x0028, "TLS_KRB5_EXPORT_WITH_RC4_40_SHA"},
    {0x0029, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5"},
    {0x002a, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5"},
    {0x002b, "TLS_KRB5_EXPORT_WITH_RC4_40_MD5"},
    {0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"},
    {0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"},
    {0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"},
    {0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"},
    {0x003e, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256"},
    {0x003f, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256"},
    {0x0042, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0043, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256"},
    {0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256"},
    {0x0085, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0086, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x008a, "TLS_PSK_WITH_RC4_128_SHA"},
    {0x008b, "TLS_PSK_WITH_3DES_EDE_CBC_SHA"},
    {0x008e, "TLS_DHE_PSK_WITH_RC4_128_SHA"},
    {0x008f, "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA"},
    {0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA"},
    {0x0093, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA"},
    {0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"},
    {0x0097, "TLS_DH_DSS_WITH_SEED_CBC_SHA"},
    {0x0098, "TLS_DH_RSA_WITH_SEED_CBC_SHA"},
    {0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA"},
    {0x009a, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"},
    {0x009b, "TLS_DH_anon_WITH_SEED_CBC_SHA"},
    {0x00a0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256"},
    {0x00a1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384"},
    {0x00a4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256"},
    {0x00a5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384"},
    {0x00c6, "TLS_SM4_GCM_SM3"},
    {0x00c7, "TLS_SM4_CCM_SM3"},
    {0x1301, "TLS_AES_128_GCM_SHA256"},
    {0x1302, "TLS_AES_256_GCM_SHA384"},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
    {0x1304, "TLS_AES_128_CCM_SHA256"},
    {0x1305, "TLS_AES_128_CCM_8_SHA256"},
    {0x1306, "TLS_AEGIS_256_SHA512"},
    {0x1307, "TLS_AEGIS_128L_SHA256"},
    {0xc001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"},
    {0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"},
    {0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xc005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
    {0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xc00b, "TLS_ECDH_RSA_WITH_NULL_SHA"},
    {0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA"},
    {0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc00e, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"},
    {0xc00f, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"},
    {0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
    {0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    {0xc016, "TLS_ECDH_anon_WITH_RC4_128_SHA"},
    {0xc017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"},
    {0xc01a, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA"},
    {0xc01b, "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc01c, "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xc025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xc026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
    {0xc029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"},
    {0xc02a, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"},
    {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xc02d, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xc02e, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0xc031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"},
    {0xc032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"},
    {0xc033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA"},
    {0xc034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA"},
    /* pre-RFC 7905 ChaCha20 code points (old Chrome/Android) */
    {0xcc13, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xcc14, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xcc15, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xd001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256"},
    {0xd002, "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384"},
    {0xd003, "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256"},
    {0xd005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256"},
};

/* Key exchange / authentication implied by the "TLS_<KX>_<AUTH>_WITH_" part
 * of a standard name (RFC 5246 appendix C naming), for suites OpenSSL does
 * not describe.  Longest prefixes first. */
struct suite_pattern {
    const char *prefix;
    enum conn_auth auth;
    bool ephemeral;
};

static const struct suite_pattern suite_patterns[] = {
    {"TLS_ECDHE_ECDSA_", AUTH_ECDSA, true},
    {"TLS_ECDHE_RSA_", AUTH_RSA, true},
    {"TLS_ECDHE_PSK_", AUTH_PSK, true},
    {"TLS_ECDH_anon_", AUTH_ANON, true},
    {"TLS_ECDH_ECDSA_", AUTH_OTHER, false},   /* static ECDH: certificate carries the DH key */
    {"TLS_ECDH_RSA_", AUTH_OTHER, false},
    {"TLS_DHE_DSS_", AUTH_DSA, true},
    {"TLS_DHE_RSA_", AUTH_RSA, true},
    {"TLS_DHE_PSK_", AUTH_PSK, true},
    {"TLS_DH_anon_", AUTH_ANON, true},
    {"TLS_DH_DSS_", AUTH_OTHER, false},
    {"TLS_DH_RSA_", AUTH_OTHER, false},
    {"TLS_RSA_PSK_", AUTH_RSA, false},
    {"TLS_RSA_", AUTH_RSA, false},
    {"TLS_PSK_", AUTH_PSK, false},
    {"TLS_SRP_SHA_RSA_", AUTH_RSA, false},
    {"TLS_SRP_SHA_DSS_", AUTH_DSA, false},
    {"TLS_SRP_SHA_", AUTH_OTHER, false},
    {"TLS_KRB5_", AUTH_OTHER, false},
    {"TLS_NULL_", AUTH_NONE, false},
};

static int suite_ent_cmp(const void *x, const void *y)
{
    const struct suite_ent *a = x, *b = y;

    return (a->code > b->code) - (a->code < b->code);
}

/* SSL_CIPHER_find() goes through OpenSSL's generic binary search with a
 * comparison callback, and a report asks
 * for every suite of every ClientHello.  The suites of the SSL's cipher list
 * (every one this OpenSSL has, at security level 0 and
 * ALL:COMPLEMENTOFALL) sorted by code answer instead; a code not among them
 * still goes to SSL_CIPHER_find(). */
static int suites_index(struct tls_names *n)
{
    STACK_OF(SSL_CIPHER) *sk = SSL_get_ciphers(n->ssl);
    int k = sk != NULL ? sk_SSL_CIPHER_num(sk) : 0;
    size_t m = 0;

    if (k <= 0)
        return TI_OK;
    n->suites = calloc((size_t)k, sizeof(*n->suites));
    if (n->suites == NULL)
        return TI_ENOMEM;
    for (int i = 0; i < k; i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
        uint32_t id = c != NULL ? SSL_CIPHER_get_id(c) : 0;

        if ((id & 0xffff0000u) != 0x03000000u)   /* a TLS suite: 0x0300 + its code */
            continue;
        n->suites[m].code = (uint16_t)id;
        n->suites[m].c = c;
        m++;
    }
    qsort(n->suites, m, sizeof(*n->suites), suite_ent_cmp);
    n->nsuites = m;
    return TI_OK;
}

int tls_names_new(struct tls_names **out)
{
    struct tls_names *n = calloc(1, sizeof(*n));

    *out = NULL;
    if (n == NULL)
        return TI_ENOMEM;
    n->ctx = SSL_CTX_new(TLS_method());
    if (n->ctx == NULL)
        goto fail;
    /* Level 0 and every cipher, so that SSL_CIPHER_find knows the weak and
     * anonymous suites old clients still offer. */
    SSL_CTX_set_security_level(n->ctx, 0);
    (void)SSL_CTX_set_cipher_list(n->ctx, "ALL:COMPLEMENTOFALL");
    n->ssl = SSL_new(n->ctx);
    if (n->ssl == NULL)
        goto fail;
    if (suites_index(n) != TI_OK)
        goto fail;
    *out = n;
    return TI_OK;
fail:
    tls_names_free(n);
    return TI_ENOMEM;
}

void tls_names_free(struct tls_names *n)
{
    if (n == NULL)
        return;
    SSL_free(n->ssl);
    SSL_CTX_free(n->ctx);
    free(n->suites);
    free(n);
}

/* Signalling suites (RFC 5746, RFC 7507) are not real suites. */
static bool suite_is_scsv(uint16_t code)
{
    return code == 0x00ff || code == 0x5600;
}

static const SSL_CIPHER *suite_find(const struct tls_names *n, uint16_t code)
{
    unsigned char b[2] = {(unsigned char)(code >> 8), (unsigned char)code};

    if (n == NULL || n->ssl == NULL)
        return NULL;
    for (size_t lo = 0, hi = n->nsuites; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        if (n->suites[mid].code == code)
            return n->suites[mid].c;
        if (n->suites[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* SSL_CIPHER_find only reads the SSL's method; the object is shared
     * read-only, hence the cast. */
    return SSL_CIPHER_find((SSL *)n->ssl, b);
}

const struct ssl_cipher_st *tls_suite_cipher(const struct tls_names *n, uint16_t code)
{
    if (tls_is_grease(code) || suite_is_scsv(code))
        return NULL;
    return suite_find(n, code);
}

const char *tls_suite_name(const struct tls_names *n, uint16_t code)
{
    const SSL_CIPHER *c;
    const char *name;

    if (tls_is_grease(code))
        return NULL;
    c = suite_find(n, code);
    if (c != NULL) {
        name = SSL_CIPHER_standard_name(c);
        if (name != NULL && strcmp(name, "(NONE)") != 0)
            return name;
    }
    return tok_find(suite_fallback, NELEM(suite_fallback), code);
}

static const struct suite_pattern *suite_pattern_of(uint16_t code)
{
    const char *name = tok_find(suite_fallback, NELEM(suite_fallback), code);

    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < NELEM(suite_patterns); i++) {
        size_t len = strlen(suite_patterns[i].prefix);
        if (strncmp(name, suite_patterns[i].prefix, len) == 0)
            return &suite_patterns[i];
    }
    return NULL;
}

enum conn_auth tls_suite_auth(const struct tls_names *n, uint16_t code)
{
    const SSL_CIPHER *c;
    const struct suite_pattern *p;

    if (tls_is_grease(code) || suite_is_scsv(code))
        return AUTH_NONE;
    if (tls_suite_is_tls13(code))
        return AUTH_ANY;   /* RFC 8446: the certificate's key decides */
    c = suite_find(n, code);
    if (c != NULL) {
        int nid = SSL_CIPHER_get_auth_nid(c);
        if (nid == NID_auth_rsa)
            return AUTH_RSA;
        if (nid == NID_auth_ecdsa)
            return AUTH_ECDSA;
        if (nid == NID_auth_dss)
            return AUTH_DSA;
        if (nid == NID_auth_psk)
            return AUTH_PSK;
        if (nid == NID_auth_null)
            return AUTH_ANON;
        if (nid == NID_auth_any)
            return AUTH_ANY;
        return AUTH_OTHER;
    }
    p = suite_pattern_of(code);
    if (p != NULL)
        return p->auth;
    return AUTH_NONE;
}

bool tls_suite_is_ephemeral_12(const struct tls_names *n, uint16_t code)
{
    const SSL_CIPHER *c;
    const struct suite_pattern *p;

    if (tls_is_grease(code) || suite_is_scsv(code) || tls_suite_is_tls13(code))
        return false;
    c = suite_find(n, code);
    if (c != NULL) {
        int nid = SSL_CIPHER_get_kx_nid(c);
        return nid == NID_kx_ecdhe || nid == NID_kx_dhe ||
               nid == NID_kx_ecdhe_psk || nid == NID_kx_dhe_psk;
    }
    p = suite_pattern_of(code);
    return p != NULL && p->ephemeral;
}

bool tls_suite_is_tls13(uint16_t code)
{
    /* RFC 8446 B.4 (0x13xx) and RFC 8998 (SM4, 0x00c6/0x00c7). */
    return (code & 0xff00) == 0x1300 || code == 0x00c6 || code == 0x00c7;
}

bool tls_is_grease(uint16_t code)
{
    /* RFC 8701: 0x0a0a, 0x1a1a, ..., 0xfafa */
    return (code & 0x0f0f) == 0x0a0a && (code >> 8) == (code & 0xff);
}

/* ---- signature schemes -------------------------------------------------- */

/* RFC 8446 4.2.3, RFC 5246 7.4.1.4.1 (hash, signature) pairs, RFC 8734,
 * RFC 9189 (GOST), draft-tls-westerbaan-mldsa. */
static const struct tls_name_tok sigalgs[] = {
    {0x0101, "rsa_md5"},
    {0x0102, "dsa_md5"},
    {0x0103, "ecdsa_md5"},
    {0x0201, "rsa_pkcs1_sha1"},
    {0x0202, "dsa_sha1"},
    {0x0203, "ecdsa_sha1"},
    {0x0301, "rsa_pkcs1_sha224"},
    {0x0302, "dsa_sha224"},
    {0x0303, "ecdsa_sha224"},
    {0x0401, "rsa_pkcs1_sha256"},
    {0x0402, "dsa_sha256"},
    {0x0403, "ecdsa_secp256r1_sha256"},
    {0x0420, "rsa_pkcs1_sha256_legacy"},
    {0x0501, "rsa_pkcs1_sha384"},
    {0x0502, "dsa_sha384"},
    {0x0503, "ecdsa_secp384r1_sha384"},
    {0x0520, "rsa_pkcs1_sha384_legacy"},
    {0x0601, "rsa_pkcs1_sha512"},
    {0x0602, "dsa_sha512"},
    {0x0603, "ecdsa_secp521r1_sha512"},
    {0x0620, "rsa_pkcs1_sha512_legacy"},
    {0x0708, "sm2sig_sm3"},
    {0x0709, "gostr34102012_256a"},
    {0x070a, "gostr34102012_256b"},
    {0x070b, "gostr34102012_256c"},
    {0x070c, "gostr34102012_256d"},
    {0x070d, "gostr34102012_512a"},
    {0x070e, "gostr34102012_512b"},
    {0x070f, "gostr34102012_512c"},
    {0x0804, "rsa_pss_rsae_sha256"},
    {0x0805, "rsa_pss_rsae_sha384"},
    {0x0806, "rsa_pss_rsae_sha512"},
    {0x0807, "ed25519"},
    {0x0808, "ed448"},
    {0x0809, "rsa_pss_pss_sha256"},
    {0x080a, "rsa_pss_pss_sha384"},
    {0x080b, "rsa_pss_pss_sha512"},
    {0x081a, "ecdsa_brainpoolP256r1tls13_sha256"},
    {0x081b, "ecdsa_brainpoolP384r1tls13_sha384"},
    {0x081c, "ecdsa_brainpoolP512r1tls13_sha512"},
    {0x0904, "mldsa44"},
    {0x0905, "mldsa65"},
    {0x0906, "mldsa87"},
};

const char *tls_sigalg_name(uint16_t code)
{
    return tok_find(sigalgs, NELEM(sigalgs), code);
}

enum conn_auth tls_sigalg_auth(uint16_t code)
{
    const char *name;

    if (tls_is_grease(code))
        return AUTH_NONE;
    name = tls_sigalg_name(code);
    if (name == NULL) {
        /* TLS 1.2 pairs: the low byte is the SignatureAlgorithm (RFC 5246
         * 7.4.1.4.1): 1 rsa, 2 dsa, 3 ecdsa. */
        if ((code >> 8) >= 1 && (code >> 8) <= 6) {
            switch (code & 0xff) {
            case 1: return AUTH_RSA;
            case 2: return AUTH_DSA;
            case 3: return AUTH_ECDSA;
            default: break;
            }
        }
        return AUTH_NONE;
    }
    if (strncmp(name, "ecdsa_", 6) == 0)
        return AUTH_ECDSA;
    if (strncmp(name, "rsa_", 4) == 0)
        return AUTH_RSA;
    if (strncmp(name, "dsa_", 4) == 0)
        return AUTH_DSA;
    return AUTH_OTHER;   /* EdDSA, SM2, GOST, ML-DSA */
}

/* ---- groups ------------------------------------------------------------- */

/* RFC 8422 5.1.1, RFC 7919, RFC 8446 4.2.7, RFC 8734, draft-kwiatkowski-tls-ecdhe-mlkem. */
static const struct tls_name_tok groups[] = {
    {1, "sect163k1"}, {2, "sect163r1"}, {3, "sect163r2"}, {4, "sect193r1"},
    {5, "sect193r2"}, {6, "sect233k1"}, {7, "sect233r1"}, {8, "sect239k1"},
    {9, "sect283k1"}, {10, "sect283r1"}, {11, "sect409k1"}, {12, "sect409r1"},
    {13, "sect571k1"}, {14, "sect571r1"}, {15, "secp160k1"}, {16, "secp160r1"},
    {17, "secp160r2"}, {18, "secp192k1"}, {19, "secp192r1"}, {20, "secp224k1"},
    {21, "secp224r1"}, {22, "secp256k1"}, {23, "secp256r1"}, {24, "secp384r1"},
    {25, "secp521r1"}, {26, "brainpoolP256r1"}, {27, "brainpoolP384r1"},
    {28, "brainpoolP512r1"}, {29, "x25519"}, {30, "x448"},
    {31, "brainpoolP256r1tls13"}, {32, "brainpoolP384r1tls13"},
    {33, "brainpoolP512r1tls13"}, {34, "GC256A"}, {35, "GC256B"}, {36, "GC256C"},
    {37, "GC256D"}, {38, "GC512A"}, {39, "GC512B"}, {40, "GC512C"}, {41, "curveSM2"},
    {256, "ffdhe2048"}, {257, "ffdhe3072"}, {258, "ffdhe4096"}, {259, "ffdhe6144"},
    {260, "ffdhe8192"},
    {0x0200, "MLKEM512"}, {0x0201, "MLKEM768"}, {0x0202, "MLKEM1024"},
    {0x11eb, "SecP256r1MLKEM768"}, {0x11ec, "X25519MLKEM768"},
    {0x11ed, "SecP384r1MLKEM1024"},
    {0x6399, "X25519Kyber768Draft00"}, {0x639a, "SecP256r1Kyber768Draft00"},
    {0xff01, "arbitrary_explicit_prime_curves"},
    {0xff02, "arbitrary_explicit_char2_curves"},
};

const char *tls_group_name(uint16_t code)
{
    return tok_find(groups, NELEM(groups), code);
}

/* ---- extensions --------------------------------------------------------- */

/* IANA "TLS ExtensionType Values". */
static const struct tls_name_tok exts[] = {
    {0, "server_name"}, {1, "max_fragment_length"}, {2, "client_certificate_url"},
    {3, "trusted_ca_keys"}, {4, "truncated_hmac"}, {5, "status_request"},
    {6, "user_mapping"}, {7, "client_authz"}, {8, "server_authz"}, {9, "cert_type"},
    {10, "supported_groups"}, {11, "ec_point_formats"}, {12, "srp"},
    {13, "signature_algorithms"}, {14, "use_srtp"}, {15, "heartbeat"},
    {16, "application_layer_protocol_negotiation"}, {17, "status_request_v2"},
    {18, "signed_certificate_timestamp"}, {19, "client_certificate_type"},
    {20, "server_certificate_type"}, {21, "padding"}, {22, "encrypt_then_mac"},
    {23, "extended_master_secret"}, {24, "token_binding"}, {25, "cached_info"},
    {26, "tls_lts"}, {27, "compress_certificate"}, {28, "record_size_limit"},
    {29, "pwd_protect"}, {30, "pwd_clear"}, {31, "password_salt"},
    {32, "ticket_pinning"}, {33, "tls_cert_with_extern_psk"},
    {34, "delegated_credential"}, {35, "session_ticket"}, {36, "TLMSP"},
    {37, "TLMSP_proxying"}, {38, "TLMSP_delegate"}, {39, "supported_ekt_ciphers"},
    {41, "pre_shared_key"}, {42, "early_data"}, {43, "supported_versions"},
    {44, "cookie"}, {45, "psk_key_exchange_modes"}, {47, "certificate_authorities"},
    {48, "oid_filters"}, {49, "post_handshake_auth"}, {50, "signature_algorithms_cert"},
    {51, "key_share"}, {52, "transparency_info"}, {53, "connection_id_deprecated"},
    {54, "connection_id"}, {55, "external_id_hash"}, {56, "external_session_id"},
    {57, "quic_transport_parameters"}, {58, "ticket_request"}, {59, "dnssec_chain"},
    {60, "sequence_number_encryption_algorithms"}, {61, "rrc"},
    {13172, "next_protocol_negotiation"},
    {17513, "application_settings_old"},   /* 0x4469, ALPS as first deployed */
    {17613, "application_settings"},       /* 0x44cd */
    {30031, "channel_id_old"}, {30032, "channel_id"},
    {65037, "encrypted_client_hello"},     /* 0xfe0d */
    {65281, "renegotiation_info"},         /* 0xff01 */
};

const char *tls_ext_name(uint16_t code)
{
    return tok_find(exts, NELEM(exts), code);
}

/* ---- alerts, handshake types, versions --------------------------------- */

/* RFC 8446 6, RFC 5246 7.2, RFC 6066, RFC 7301, RFC 7507, RFC 4279, SSL 3.0. */
static const struct tls_name_tok alerts[] = {
    {0, "close_notify"}, {10, "unexpected_message"}, {20, "bad_record_mac"},
    {21, "decryption_failed"}, {22, "record_overflow"}, {30, "decompression_failure"},
    {40, "handshake_failure"}, {41, "no_certificate"}, {42, "bad_certificate"},
    {43, "unsupported_certificate"}, {44, "certificate_revoked"},
    {45, "certificate_expired"}, {46, "certificate_unknown"},
    {47, "illegal_parameter"}, {48, "unknown_ca"}, {49, "access_denied"},
    {50, "decode_error"}, {51, "decrypt_error"}, {60, "export_restriction"},
    {70, "protocol_version"}, {71, "insufficient_security"}, {80, "internal_error"},
    {86, "inappropriate_fallback"}, {90, "user_canceled"}, {100, "no_renegotiation"},
    {109, "missing_extension"}, {110, "unsupported_extension"},
    {111, "certificate_unobtainable"}, {112, "unrecognized_name"},
    {113, "bad_certificate_status_response"}, {114, "bad_certificate_hash_value"},
    {115, "unknown_psk_identity"}, {116, "certificate_required"},
    {117, "general_error"}, {120, "no_application_protocol"}, {121, "ech_required"},
};

const char *tls_alert_name(uint8_t code)
{
    return tok_find(alerts, NELEM(alerts), code);
}

const char *tls_alert_level_name(uint8_t level)
{
    switch (level) {
    case 1: return "warning";
    case 2: return "fatal";
    default: return NULL;
    }
}

/* RFC 8446 B.3, RFC 5246 7.4, RFC 6066 (url, status), RFC 8879 (compressed). */
static const struct tls_name_tok hs_types[] = {
    {0, "HelloRequest"}, {1, "ClientHello"}, {2, "ServerHello"},
    {3, "HelloVerifyRequest"}, {4, "NewSessionTicket"}, {5, "EndOfEarlyData"},
    {6, "HelloRetryRequest"}, {8, "EncryptedExtensions"}, {9, "RequestConnectionId"},
    {10, "NewConnectionId"}, {11, "Certificate"}, {12, "ServerKeyExchange"},
    {13, "CertificateRequest"}, {14, "ServerHelloDone"}, {15, "CertificateVerify"},
    {16, "ClientKeyExchange"}, {17, "ClientCertificateRequest"}, {20, "Finished"},
    {21, "CertificateURL"}, {22, "CertificateStatus"}, {23, "SupplementalData"},
    {24, "KeyUpdate"}, {25, "CompressedCertificate"}, {26, "EKTKey"},
    {254, "MessageHash"},
};

const char *tls_hs_name(uint8_t type)
{
    return tok_find(hs_types, NELEM(hs_types), type);
}

static const struct tls_name_tok versions[] = {
    {0x0002, "SSL 2.0"}, {0x0300, "SSL 3.0"}, {0x0301, "TLS 1.0"},
    {0x0302, "TLS 1.1"}, {0x0303, "TLS 1.2"}, {0x0304, "TLS 1.3"},
    {0xfefc, "DTLS 1.3"}, {0xfefd, "DTLS 1.2"}, {0xfeff, "DTLS 1.0"},
};

/* Draft code points 0x7f00 + N (RFC 8446 was draft 28); static so no buffer
 * is needed for them. */
static const char *const tls13_drafts[] = {
    "TLS 1.3 draft 0", "TLS 1.3 draft 1", "TLS 1.3 draft 2", "TLS 1.3 draft 3",
    "TLS 1.3 draft 4", "TLS 1.3 draft 5", "TLS 1.3 draft 6", "TLS 1.3 draft 7",
    "TLS 1.3 draft 8", "TLS 1.3 draft 9", "TLS 1.3 draft 10", "TLS 1.3 draft 11",
    "TLS 1.3 draft 12", "TLS 1.3 draft 13", "TLS 1.3 draft 14", "TLS 1.3 draft 15",
    "TLS 1.3 draft 16", "TLS 1.3 draft 17", "TLS 1.3 draft 18", "TLS 1.3 draft 19",
    "TLS 1.3 draft 20", "TLS 1.3 draft 21", "TLS 1.3 draft 22", "TLS 1.3 draft 23",
    "TLS 1.3 draft 24", "TLS 1.3 draft 25", "TLS 1.3 draft 26", "TLS 1.3 draft 27",
    "TLS 1.3 draft 28",
};

const char *tls_version_name(uint16_t v, char *buf, unsigned buflen)
{
    const char *name = tok_find(versions, NELEM(versions), v);

    if (name != NULL)
        return name;
    if ((v >> 8) == 0x7f && (v & 0xff) < NELEM(tls13_drafts))
        return tls13_drafts[v & 0xff];
    if (buf == NULL || buflen < 7)
        return NULL;
    snprintf(buf, buflen, "0x%04x", (unsigned)v);
    return buf;
}

static const struct tls_name_table name_tables[] = {
    {"suite_fallback", suite_fallback, NELEM(suite_fallback)},
    {"sigalgs", sigalgs, NELEM(sigalgs)},
    {"groups", groups, NELEM(groups)},
    {"exts", exts, NELEM(exts)},
    {"alerts", alerts, NELEM(alerts)},
    {"hs_types", hs_types, NELEM(hs_types)},
    {"versions", versions, NELEM(versions)},
};

const struct tls_name_table *tls_name_tables(size_t *n)
{
    *n = NELEM(name_tables);
    return name_tables;
}
