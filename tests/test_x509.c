/* test_x509.c - certificate facts, trust loading, chain verification, name checks and the verdict cache. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlsinspect/err.h"
#include "tlsinspect/x509.h"

#include "support/tmpdir.h"

/* The pinned "capture time": 2023-11-14T22:13:20Z.  T0 + 3600 is the same
 * UTC day, T0 + DAY the next one. */
#define T0   1700000000LL
#define DAY  86400LL
#define YEAR (365 * DAY)
#define T1960 (-315619200LL)        /* 1960-01-01T00:00:00Z */
#define T2050 2524608000LL          /* 2050-01-01T00:00:00Z: GeneralizedTime */

struct spec {
    const char *cn;
    size_t cn_len;                  /* 0: strlen(cn) */
    const char *o;
    const char *san;                /* OpenSSL config syntax, NULL: none */
    bool bc, ca;                    /* add basicConstraints, its CA flag */
    const char *ku, *eku;
    int64_t nb, na;
    long serial;
    EVP_PKEY *key;                  /* subject key */
    X509 *issuer;                   /* NULL: self-issued */
    EVP_PKEY *issuer_key;           /* NULL: key (self-signed) */
    EVP_PKEY *sign_key;             /* overrides issuer_key: a bad signature */
    const EVP_MD *md;               /* NULL: sha256 (none for Ed25519) */
    bool no_md;
};

struct pki {
    EVP_PKEY *root_key, *int_key, *rsa_key, *ec384_key, *ec256_key, *ed_key, *wrong_key, *croot_key;
    X509 *root, *inter, *leaf_rsa, *self_ec, *leaf_ip, *expired, *future, *wild, *cn_only,
         *ip_san_only, *cn_ip, *nul_cn, *badsig, *fake_self, *ss_nocertsign, *ed, *croot,
         *cleaf, *cleaf_server, *special, *many_san, *long_subject, *oldtimes, *san_mix;
    char dir[256];
    char root_pem[300], bundle_pem[300], root_der[300], client_pem[300], junk[300],
         capath[300], emptydir[300], self_pem[300];
};

/* ---- building certificates ------------------------------------------------ */

static EVP_PKEY *keygen_ec(const char *curve)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    assert_non_null(k);
    return k;
}

static EVP_PKEY *keygen_rsa(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(k);
    return k;
}

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

static X509_NAME *mk_name(const char *cn, size_t cn_len, const char *o)
{
    X509_NAME *nm = X509_NAME_new();
    assert_non_null(nm);
    assert_int_equal(X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_UTF8, (const unsigned char *)"BE", -1, -1, 0), 1);
    if (o != NULL)
        assert_int_equal(X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const unsigned char *)o, -1, -1, 0), 1);
    if (cn != NULL)
        assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                                    cn_len ? (int)cn_len : -1, -1, 0), 1);
    return nm;
}

static void set_time(ASN1_TIME *t, int64_t when)
{
    assert_non_null(ASN1_TIME_set(t, (time_t)when));
}

static X509 *mk_cert(const struct spec *s)
{
    X509 *x = X509_new();
    X509_NAME *nm = mk_name(s->cn, s->cn_len, s->o ? s->o : "Steven Lab");
    X509V3_CTX ctx;
    EVP_PKEY *signer = s->sign_key ? s->sign_key : (s->issuer_key ? s->issuer_key : s->key);
    const EVP_MD *md = s->no_md ? NULL : (s->md ? s->md : EVP_sha256());

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial ? s->serial : 1), 1);
    assert_int_equal(X509_set_subject_name(x, nm), 1);
    assert_int_equal(X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer) : nm), 1);
    X509_NAME_free(nm);
    set_time(X509_getm_notBefore(x), s->nb ? s->nb : T0 - YEAR);
    set_time(X509_getm_notAfter(x), s->na ? s->na : T0 + YEAR);
    assert_int_equal(X509_set_pubkey(x, s->key), 1);

    X509V3_set_ctx(&ctx, s->issuer ? s->issuer : x, x, NULL, NULL, 0);
    if (s->bc)
        add_ext(x, &ctx, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (s->ku)
        add_ext(x, &ctx, NID_key_usage, s->ku);
    if (s->eku)
        add_ext(x, &ctx, NID_ext_key_usage, s->eku);
    add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    if (s->san)
        add_ext(x, &ctx, NID_subject_alt_name, s->san);
    assert_true(X509_sign(x, signer, md) > 0);
    return x;
}

/* Subject Alternative Names OpenSSL's config syntax cannot express. */
static void push_gen(GENERAL_NAMES *gens, int type, const void *data, int len)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_STRING *str = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
    assert_non_null(g);
    assert_non_null(str);
    assert_int_equal(ASN1_STRING_set(str, data, len), 1);
    GENERAL_NAME_set0_value(g, type, str);
    assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
}

static X509 *mk_san_mix(struct pki *p)
{
    struct spec s = { .cn = "mix.steven.lab", .key = p->ec256_key, .issuer = p->inter,
                      .issuer_key = p->int_key, .serial = 77 };
    X509 *x = mk_cert(&s);
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    GENERAL_NAME *g;
    ASN1_TYPE *val;
    ASN1_UTF8STRING *u;
    static const uint8_t v4[4] = { 10, 48, 36, 215 };
    static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
    static const uint8_t odd[5] = { 1, 2, 3, 4, 5 };

    assert_non_null(gens);
    push_gen(gens, GEN_DNS, "a\0b.steven.lab", 14);
    push_gen(gens, GEN_URI, "sip:cucm@steven.lab", -1);
    push_gen(gens, GEN_EMAIL, "admin@steven.lab", -1);
    push_gen(gens, GEN_IPADD, v4, 4);
    push_gen(gens, GEN_IPADD, v6, 16);
    push_gen(gens, GEN_IPADD, odd, 5);
    g = GENERAL_NAME_new();
    assert_non_null(g);
    GENERAL_NAME_set0_value(g, GEN_RID, OBJ_txt2obj("1.2.3.4", 1));
    assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
    g = GENERAL_NAME_new();
    val = ASN1_TYPE_new();
    u = ASN1_UTF8STRING_new();
    assert_non_null(g);
    assert_non_null(val);
    assert_non_null(u);
    assert_int_equal(ASN1_STRING_set(u, "user@steven.lab", -1), 1);
    ASN1_TYPE_set(val, V_ASN1_UTF8STRING, u);
    assert_int_equal(GENERAL_NAME_set0_othername(g, OBJ_txt2obj("1.3.6.1.4.1.311.20.2.3", 1), val), 1);
    assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
    assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT), 1);
    GENERAL_NAMES_free(gens);
    assert_true(X509_sign(x, p->int_key, EVP_sha256()) > 0);
    return x;
}

static void write_pem(const char *path, X509 *const *certs, size_t n, const char *preamble)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (preamble)
        fputs(preamble, f);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(PEM_write_X509(f, certs[i]), 1);
    assert_int_equal(fclose(f), 0);
}

static void write_der(const char *path, X509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    FILE *f = fopen(path, "wb");
    assert_true(len > 0);
    assert_non_null(f);
    assert_int_equal(fwrite(der, 1, (size_t)len, f), (size_t)len);
    assert_int_equal(fclose(f), 0);
    OPENSSL_free(der);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int setup_pki(void **state)
{
    struct pki *p = calloc(1, sizeof(*p));
    char path[400];

    assert_non_null(p);
    p->root_key = keygen_rsa();
    p->int_key = keygen_rsa();
    p->rsa_key = keygen_rsa();
    p->ec384_key = keygen_ec("P-384");
    p->ec256_key = keygen_ec("P-256");
    p->wrong_key = keygen_ec("P-256");
    p->croot_key = keygen_ec("P-256");
    p->ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(p->ed_key);

    {
        struct spec s = { .cn = "Steven Lab Root CA", .bc = true, .ca = true, .ku = "critical,keyCertSign,cRLSign",
                          .nb = T0 - 10 * YEAR, .na = T0 + 10 * YEAR, .key = p->root_key, .serial = 1 };
        p->root = mk_cert(&s);
    }
    {
        struct spec s = { .cn = "Steven Lab Issuing CA", .bc = true, .ca = true, .ku = "critical,keyCertSign,cRLSign",
                          .nb = T0 - 5 * YEAR, .na = T0 + 5 * YEAR, .key = p->int_key,
                          .issuer = p->root, .issuer_key = p->root_key, .serial = 2 };
        p->inter = mk_cert(&s);
    }
#define LEAF(field, ...) do { \
        struct spec s = { .issuer = p->inter, .issuer_key = p->int_key, __VA_ARGS__ }; \
        p->field = mk_cert(&s); } while (0)
    LEAF(leaf_rsa, .cn = "cucm.steven.lab", .san = "DNS:cucm.steven.lab,DNS:cucm1.steven.lab",
         .bc = true, .ca = false, .eku = "serverAuth", .key = p->rsa_key, .serial = 0x1A2B3C4D5E6FL,
         .nb = T0 - 30 * DAY, .na = T0 + 365 * DAY);
    LEAF(leaf_ip, .cn = "cucm-ip.steven.lab", .san = "DNS:cucm-ip.steven.lab,IP:10.48.36.215,IP:2001:db8::1",
         .key = p->ec256_key, .serial = 10);
    LEAF(expired, .cn = "old.steven.lab", .san = "DNS:old.steven.lab", .key = p->ec256_key,
         .nb = T0 - 400 * DAY, .na = T0 - 30 * DAY, .serial = 11);
    LEAF(future, .cn = "new.steven.lab", .san = "DNS:new.steven.lab", .key = p->ec256_key,
         .nb = T0 + 30 * DAY, .na = T0 + 400 * DAY, .serial = 12);
    LEAF(wild, .cn = "*.steven.lab", .san = "DNS:*.steven.lab", .key = p->ec256_key, .serial = 13);
    LEAF(cn_only, .cn = "cucm2.steven.lab", .key = p->ec256_key, .serial = 14);
    LEAF(ip_san_only, .cn = "cucm3.steven.lab", .san = "IP:10.48.36.216", .key = p->ec256_key, .serial = 15);
    LEAF(cn_ip, .cn = "10.48.36.217", .key = p->ec256_key, .serial = 16);
    LEAF(nul_cn, .cn = "evil\0.steven.lab", .cn_len = 16, .key = p->ec256_key, .serial = 17);
    /* names and AKI of the intermediate, signature by another RSA key (OpenSSL
     * 3 does not even consider an issuer whose key type differs from the
     * signature algorithm: that would be unknown_issuer) */
    LEAF(badsig, .cn = "bad.steven.lab", .san = "DNS:bad.steven.lab", .key = p->ec256_key,
         .sign_key = p->rsa_key, .serial = 18);
    LEAF(special, .cn = "caf\xc3\xa9.steven.lab", .o = "Steven, Lab", .key = p->ec256_key, .serial = 19);
#undef LEAF
    {
        /* CUCM's tomcat-ECDSA: self-signed EC P-384, SAN = the FQDN */
        struct spec s = { .cn = "cucm-EC.steven.lab", .san = "DNS:cucm.steven.lab", .bc = true, .ca = true,
                          .ku = "digitalSignature,keyCertSign,keyAgreement", .eku = "serverAuth,clientAuth",
                          .key = p->ec384_key, .md = EVP_sha384(), .serial = 0x55 };
        p->self_ec = mk_cert(&s);
    }
    {
        /* issuer name == subject name, but signed by an unrelated key */
        struct spec s = { .cn = "fake.steven.lab", .key = p->ec256_key, .sign_key = p->wrong_key, .serial = 20 };
        p->fake_self = mk_cert(&s);
    }
    {
        /* self-signed without keyCertSign: still self-signed per SPEC */
        struct spec s = { .cn = "nocertsign.steven.lab", .ku = "digitalSignature", .key = p->ec256_key, .serial = 21 };
        p->ss_nocertsign = mk_cert(&s);
    }
    {
        struct spec s = { .cn = "ed.steven.lab", .key = p->ed_key, .no_md = true, .serial = 22 };
        p->ed = mk_cert(&s);
    }
    {
        struct spec s = { .cn = "Client Root CA", .bc = true, .ca = true, .ku = "critical,keyCertSign,cRLSign",
                          .key = p->croot_key, .serial = 30 };
        p->croot = mk_cert(&s);
    }
    {
        struct spec s = { .cn = "expe-c.steven.lab", .eku = "clientAuth", .key = p->ec256_key,
                          .issuer = p->croot, .issuer_key = p->croot_key, .serial = 31 };
        p->cleaf = mk_cert(&s);
    }
    {
        struct spec s = { .cn = "web.steven.lab", .san = "DNS:web.steven.lab", .eku = "serverAuth",
                          .key = p->ec256_key, .issuer = p->croot, .issuer_key = p->croot_key, .serial = 32 };
        p->cleaf_server = mk_cert(&s);
    }
    {
        char san[70 * 24] = "";
        for (int i = 0; i < 70; i++) {
            char one[32];
            snprintf(one, sizeof(one), "%sDNS:h%d.steven.lab", i ? "," : "", i);
            strcat(san, one);
        }
        struct spec s = { .cn = "many.steven.lab", .san = san, .key = p->ec256_key,
                          .issuer = p->inter, .issuer_key = p->int_key, .serial = 40 };
        p->many_san = mk_cert(&s);
    }
    {
        /* 40 OUs of 2-byte UTF-8 characters: the RFC 2253 text is > 2 KB */
        struct spec s = { .cn = "long.steven.lab", .key = p->ec256_key, .serial = 41 };
        X509_NAME *nm;
        char ou[61];
        p->long_subject = mk_cert(&s);
        nm = X509_get_subject_name(p->long_subject);
        for (int i = 0; i < 30; i++)
            memcpy(ou + 2 * i, "\xc3\xa9", 2);
        ou[60] = '\0';
        for (int i = 0; i < 40; i++)
            assert_int_equal(X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0), 1);
        assert_true(X509_sign(p->long_subject, p->ec256_key, EVP_sha256()) > 0);
    }
    {
        struct spec s = { .cn = "old-times.steven.lab", .key = p->ec256_key, .nb = T1960, .na = T2050 };
        BIGNUM *bn = NULL;
        ASN1_INTEGER *serial;
        p->oldtimes = mk_cert(&s);
        assert_true(BN_hex2bn(&bn, "-1F") > 0);
        serial = BN_to_ASN1_INTEGER(bn, NULL);
        assert_non_null(serial);
        assert_int_equal(X509_set_serialNumber(p->oldtimes, serial), 1);
        assert_true(X509_sign(p->oldtimes, p->ec256_key, EVP_sha256()) > 0);
        ASN1_INTEGER_free(serial);
        BN_free(bn);
    }
    p->san_mix = mk_san_mix(p);

    /* trust files in a private directory */
    assert_int_equal(tmpdir_make(p->dir, sizeof(p->dir), "x509"), 0);
    snprintf(p->root_pem, sizeof(p->root_pem), "%s/root.pem", p->dir);
    snprintf(p->bundle_pem, sizeof(p->bundle_pem), "%s/bundle.pem", p->dir);
    snprintf(p->root_der, sizeof(p->root_der), "%s/root.cer", p->dir);
    snprintf(p->client_pem, sizeof(p->client_pem), "%s/client.pem", p->dir);
    snprintf(p->self_pem, sizeof(p->self_pem), "%s/self.pem", p->dir);
    snprintf(p->junk, sizeof(p->junk), "%s/junk.pem", p->dir);
    snprintf(p->capath, sizeof(p->capath), "%s/capath", p->dir);
    snprintf(p->emptydir, sizeof(p->emptydir), "%s/empty", p->dir);
    write_pem(p->root_pem, &p->root, 1, NULL);
    {
        X509 *both[2] = { p->root, p->inter };
        write_pem(p->bundle_pem, both, 2, "Steven Lab trust bundle\nsubject=whatever\n");
    }
    write_der(p->root_der, p->root);
    write_pem(p->client_pem, &p->croot, 1, NULL);
    write_pem(p->self_pem, &p->self_ec, 1, NULL);
    write_text(p->junk, "this is not a certificate\n");
    assert_int_equal(mkdir(p->capath, 0700), 0);
    assert_int_equal(mkdir(p->emptydir, 0700), 0);
    snprintf(path, sizeof(path), "%s/Steven Lab root (DER).bin", p->capath);
    write_der(path, p->root);
    snprintf(path, sizeof(path), "%s/cucm tomcat-ECDSA.txt", p->capath);
    write_pem(path, &p->self_ec, 1, NULL);
    snprintf(path, sizeof(path), "%s/README", p->capath);
    write_text(path, "certificates for the lab\n");
    snprintf(path, sizeof(path), "%s/subdir", p->capath);
    assert_int_equal(mkdir(path, 0700), 0);
    *state = p;
    return 0;
}

static int teardown_pki(void **state)
{
    struct pki *p = *state;
    X509 *all[] = { p->root, p->inter, p->leaf_rsa, p->self_ec, p->leaf_ip, p->expired, p->future, p->wild,
                    p->cn_only, p->ip_san_only, p->cn_ip, p->nul_cn, p->badsig, p->fake_self,
                    p->ss_nocertsign, p->ed, p->croot, p->cleaf, p->cleaf_server, p->special, p->many_san,
                    p->long_subject, p->oldtimes, p->san_mix };
    EVP_PKEY *keys[] = { p->root_key, p->int_key, p->rsa_key, p->ec384_key, p->ec256_key, p->ed_key,
                         p->wrong_key, p->croot_key };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        X509_free(all[i]);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(keys[i]);
    assert_int_equal(tmpdir_remove(p->dir), 0);
    free(p);
    return 0;
}

/* ---- helpers over the module ------------------------------------------------ */

static const struct x509_cert *intern(struct x509_pool *pool, X509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    const struct x509_cert *c;

    assert_true(len > 0);
    c = x509_intern(pool, der, (size_t)len);
    OPENSSL_free(der);
    assert_non_null(c);
    return c;
}

static struct x509_pool *pool_with(const char *cafile, const char *capath, const char *client)
{
    struct x509_trust_opts o = { cafile, capath, client };
    struct x509_pool *pool = NULL;
    char err[512];
    int rc = x509_pool_new(&pool, &o, err, sizeof(err));

    if (rc != TI_OK)
        print_error("x509_pool_new: %s\n", err);
    assert_int_equal(rc, TI_OK);
    assert_non_null(pool);
    return pool;
}

/* Verify a chain of X509 objects (interned first). */
static struct x509_verdict verify(struct x509_pool *pool, X509 *const *certs, size_t n, int64_t at,
                                  const char *name, bool client)
{
    const struct x509_cert *chain[8];
    struct x509_verdict v;

    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        chain[i] = intern(pool, certs[i]);
    assert_int_equal(x509_verify(pool, chain, n, at, name, client, &v), TI_OK);
    return v;
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0)
            return false;
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
        }
        p += n;
    }
    return true;
}

static bool is_lower_hex(const char *s, size_t len)
{
    if (s == NULL || strlen(s) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

/* ---- facts -------------------------------------------------------------- */

static void test_facts_rsa_leaf_and_chain(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    const struct x509_cert *leaf = intern(pool, p->leaf_rsa);
    const struct x509_cert *ca = intern(pool, p->inter);
    const struct x509_cert *root = intern(pool, p->root);
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65];

    assert_true(leaf->parsed);
    assert_null(leaf->parse_error);
    /* RFC 2253 order is the reverse of the DER order (C, O, CN) */
    assert_string_equal(leaf->subject, "CN=cucm.steven.lab,O=Steven Lab,C=BE");
    assert_string_equal(leaf->issuer, "CN=Steven Lab Issuing CA,O=Steven Lab,C=BE");
    assert_string_equal(leaf->cn, "cucm.steven.lab");
    assert_int_equal(leaf->n_san, 2);
    assert_false(leaf->san_truncated);
    assert_string_equal(leaf->san[0], "DNS:cucm.steven.lab");
    assert_string_equal(leaf->san[1], "DNS:cucm1.steven.lab");
    assert_string_equal(leaf->key, "RSA 2048");
    assert_string_equal(leaf->key_type, "RSA");
    assert_string_equal(leaf->signature_algorithm, "sha256WithRSAEncryption");
    assert_true(leaf->not_before == T0 - 30 * DAY);
    assert_true(leaf->not_after == T0 + 365 * DAY);
    assert_string_equal(leaf->serial, "1A2B3C4D5E6F");
    assert_false(leaf->is_ca);
    assert_false(leaf->self_signed);
    assert_non_null(leaf->x509);

    /* fingerprint: the same digest through a different OpenSSL path */
    assert_int_equal(X509_digest(p->leaf_rsa, EVP_sha256(), md, &mdlen), 1);
    assert_int_equal(mdlen, 32);
    assert_memory_equal(leaf->sha256, md, 32);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(leaf->sha256_hex, hex);

    /* SKI/AKI: SHA-1 key ids, lower-case hex; each AKI names its issuer */
    assert_true(is_lower_hex(leaf->ski, 40));
    assert_true(is_lower_hex(ca->ski, 40));
    assert_true(is_lower_hex(root->ski, 40));
    assert_string_equal(leaf->aki, ca->ski);
    assert_string_equal(ca->aki, root->ski);
    assert_string_not_equal(leaf->ski, ca->ski);
    assert_string_equal(root->aki, root->ski);

    assert_true(ca->is_ca);
    assert_false(ca->self_signed);
    assert_string_equal(ca->subject, "CN=Steven Lab Issuing CA,O=Steven Lab,C=BE");
    assert_string_equal(ca->issuer, "CN=Steven Lab Root CA,O=Steven Lab,C=BE");
    assert_string_equal(ca->serial, "02");       /* BN_bn2hex: whole bytes */
    assert_true(root->is_ca);
    assert_true(root->self_signed);
    assert_int_equal(root->n_san, 0);
    assert_true(root->not_before == T0 - 10 * YEAR);
    x509_pool_free(pool);
}

static void test_facts_self_signed_ec(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    const struct x509_cert *c = intern(pool, p->self_ec);
    const struct x509_cert *fake = intern(pool, p->fake_self);
    const struct x509_cert *nocs = intern(pool, p->ss_nocertsign);
    const struct x509_cert *ed = intern(pool, p->ed);
    const struct x509_cert *ec256 = intern(pool, p->croot);

    assert_true(c->parsed);
    assert_string_equal(c->subject, "CN=cucm-EC.steven.lab,O=Steven Lab,C=BE");
    assert_string_equal(c->issuer, c->subject);
    assert_string_equal(c->cn, "cucm-EC.steven.lab");
    assert_int_equal(c->n_san, 1);
    assert_string_equal(c->san[0], "DNS:cucm.steven.lab");
    assert_string_equal(c->key, "EC P-384");
    assert_string_equal(c->key_type, "EC");
    assert_string_equal(c->signature_algorithm, "ecdsa-with-SHA384");
    assert_string_equal(c->serial, "55");
    assert_true(c->self_signed);
    assert_true(c->is_ca);

    /* issuer == subject but the signature is another key's: not self-signed */
    assert_string_equal(fake->issuer, fake->subject);
    assert_false(fake->self_signed);
    /* no keyCertSign: still "subject = issuer and own key verifies" */
    assert_true(nocs->self_signed);
    assert_false(nocs->is_ca);

    assert_string_equal(ed->key, "Ed25519");
    assert_string_equal(ed->key_type, "Ed25519");
    assert_string_equal(ed->signature_algorithm, "ED25519");
    assert_true(ed->self_signed);
    assert_string_equal(ec256->key, "EC P-256");
    assert_string_equal(ec256->signature_algorithm, "ecdsa-with-SHA256");
    x509_pool_free(pool);
}

static void test_facts_names_escaping(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    const struct x509_cert *nul = intern(pool, p->nul_cn);
    const struct x509_cert *sp = intern(pool, p->special);
    const struct x509_cert *longs = intern(pool, p->long_subject);

    /* a NUL inside the CN must not cut it short ("evil" would be a lie) */
    assert_string_equal(nul->cn, "evil\\0.steven.lab");
    /* RFC 2253 2.4: control characters as \XX hex pairs */
    assert_string_equal(nul->subject, "CN=evil\\00.steven.lab,O=Steven Lab,C=BE");
    /* ',' escaped per RFC 2253; non-ASCII kept as UTF-8, not \C3\A9 */
    assert_string_equal(sp->subject, "CN=caf\xc3\xa9.steven.lab,O=Steven\\, Lab,C=BE");
    assert_string_equal(sp->cn, "caf\xc3\xa9.steven.lab");
    /* capped at X509_MAX_STR - 1 bytes, cut on a character boundary */
    assert_true(strlen(longs->subject) <= X509_MAX_STR - 1);
    assert_true(strlen(longs->subject) >= X509_MAX_STR - 4);
    assert_true(utf8_valid(longs->subject));
    assert_string_equal(longs->cn, "long.steven.lab");
    x509_pool_free(pool);
}

static void test_facts_sans(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    const struct x509_cert *mix = intern(pool, p->san_mix);
    const struct x509_cert *many = intern(pool, p->many_san);
    const struct x509_cert *ip = intern(pool, p->leaf_ip);
    const struct x509_cert *none = intern(pool, p->cn_only);
    static const char *const want[] = {
        "DNS:a\\0b.steven.lab", "URI:sip:cucm@steven.lab", "email:admin@steven.lab",
        "IP:10.48.36.215", "IP:2001:db8::1", "IP:0102030405", "RID:1.2.3.4",
        "othername:msUPN:user@steven.lab",
    };

    assert_int_equal(mix->n_san, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < mix->n_san; i++)
        assert_string_equal(mix->san[i], want[i]);
    assert_int_equal(many->n_san, X509_MAX_SAN);
    assert_true(many->san_truncated);
    assert_string_equal(many->san[0], "DNS:h0.steven.lab");
    assert_string_equal(many->san[X509_MAX_SAN - 1], "DNS:h63.steven.lab");
    assert_int_equal(ip->n_san, 3);
    assert_string_equal(ip->san[1], "IP:10.48.36.215");
    assert_string_equal(ip->san[2], "IP:2001:db8::1");
    assert_int_equal(none->n_san, 0);
    assert_false(none->san_truncated);
    x509_pool_free(pool);
}

static void test_facts_times_and_serial(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    const struct x509_cert *c = intern(pool, p->oldtimes);

    assert_true(c->parsed);
    assert_true(c->not_before == T1960);    /* UTCTime "600101000000Z", before the epoch */
    assert_true(c->not_after == T2050);     /* GeneralizedTime from 2050 on */
    assert_string_equal(c->serial, "-1F");
    x509_pool_free(pool);
}

/* Change the last byte of every occurrence of an encoded OID in a DER copy. */
static size_t patch_oid(uint8_t *der, size_t len, const uint8_t *oid, size_t oid_len, uint8_t last)
{
    size_t hits = 0;

    for (size_t i = 0; i + oid_len <= len; i++) {
        if (memcmp(der + i, oid, oid_len) == 0) {
            der[i + oid_len - 1] = last;
            hits++;
        }
    }
    return hits;
}

static void test_facts_unknown_algorithms(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    /* id-ecPublicKey 1.2.840.10045.2.1 and ecdsa-with-SHA256 1.2.840.10045.4.3.2 */
    static const uint8_t ec_pub[] = { 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
    static const uint8_t ecdsa256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
    unsigned char *der = NULL;
    int len = i2d_X509(p->croot, &der);
    const struct x509_cert *c;

    assert_true(len > 0);
    /* a key algorithm OpenSSL cannot load (as ML-DSA in OpenSSL 3.0) */
    assert_int_equal(patch_oid(der, (size_t)len, ec_pub, sizeof(ec_pub), 0x7f), 1);
    c = x509_intern(pool, der, (size_t)len);
    assert_non_null(c);
    assert_true(c->parsed);
    assert_string_equal(c->key, "unknown");
    assert_string_equal(c->key_type, "unknown");
    assert_false(c->self_signed);               /* no key to check it with */
    assert_string_equal(c->cn, "Client Root CA");
    /* and a signature algorithm without a name: the dotted OID (outer and TBS copies) */
    assert_int_equal(patch_oid(der, (size_t)len, ecdsa256, sizeof(ecdsa256), 0x7f), 2);
    c = x509_intern(pool, der, (size_t)len);
    assert_non_null(c);
    assert_true(c->parsed);
    assert_string_equal(c->signature_algorithm, "1.2.840.10045.4.3.127");
    OPENSSL_free(der);
    x509_pool_free(pool);
}

/* ---- interning and bad DER -------------------------------------------------- */

static void test_intern_same_pointer(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    unsigned char *der = NULL;
    int len = i2d_X509(p->leaf_rsa, &der);
    uint8_t *copy = malloc((size_t)len);
    const struct x509_cert *a, *b, *other;

    assert_non_null(copy);
    memcpy(copy, der, (size_t)len);
    a = x509_intern(pool, der, (size_t)len);
    b = x509_intern(pool, copy, (size_t)len);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a->der, copy);        /* the pool owns its copy */
    assert_memory_equal(a->der, der, (size_t)len);
    assert_int_equal(a->der_len, len);
    other = intern(pool, p->inter);
    assert_ptr_not_equal(a, other);
    /* many distinct certificates: the table grows, old pointers stay */
    for (int i = 0; i < 600; i++) {
        uint8_t junk[8] = { 0x30, 0x03, (uint8_t)i, (uint8_t)(i >> 8), 1, 2, 3, 4 };
        assert_non_null(x509_intern(pool, junk, sizeof(junk)));
    }
    assert_ptr_equal(x509_intern(pool, copy, (size_t)len), a);
    assert_ptr_equal(intern(pool, p->inter), other);
    OPENSSL_free(der);
    free(copy);
    x509_pool_free(pool);
}

static void test_intern_garbage(void **state)
{
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    const struct x509_cert *c = x509_intern(pool, (const uint8_t *)"abc", 3);
    const struct x509_cert *e = x509_intern(pool, NULL, 0);

    (void)state;
    assert_non_null(c);
    assert_false(c->parsed);
    assert_non_null(c->parse_error);
    assert_true(strlen(c->parse_error) > 0);
    assert_null(c->subject);
    assert_null(c->x509);
    /* FIPS 180-2 test vector: SHA-256("abc") */
    assert_string_equal(c->sha256_hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_non_null(e);
    assert_false(e->parsed);
    assert_string_equal(e->sha256_hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(ERR_peek_error(), 0);     /* the OpenSSL queue was cleared */
    assert_null(x509_intern(NULL, (const uint8_t *)"abc", 3));
    assert_null(x509_intern(pool, NULL, 3));
    x509_pool_free(pool);
}

static void test_intern_every_prefix(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    unsigned char *der = NULL;
    int len = i2d_X509(p->self_ec, &der);

    assert_true(len > 100);
    for (int n = 0; n < len; n++) {
        /* a heap copy of exactly n bytes so ASan catches any over-read */
        uint8_t *cut = malloc(n > 0 ? (size_t)n : 1);
        const struct x509_cert *c;
        assert_non_null(cut);
        memcpy(cut, der, (size_t)n);
        c = x509_intern(pool, cut, (size_t)n);
        free(cut);
        assert_non_null(c);
        assert_false(c->parsed);
        assert_non_null(c->parse_error);
        assert_int_equal(c->der_len, n);
    }
    assert_true(x509_intern(pool, der, (size_t)len)->parsed);
    OPENSSL_free(der);
    x509_pool_free(pool);
}

static void test_intern_trailing_bytes(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    unsigned char *der = NULL;
    int len = i2d_X509(p->leaf_rsa, &der);
    uint8_t *more = malloc((size_t)len + 3);
    const struct x509_cert *c, *plain;

    assert_non_null(more);
    memcpy(more, der, (size_t)len);
    memcpy(more + len, "\0\1\2", 3);
    c = x509_intern(pool, more, (size_t)len + 3);
    plain = x509_intern(pool, der, (size_t)len);
    assert_ptr_not_equal(c, plain);              /* different bytes, different entry */
    assert_true(c->parsed);
    assert_non_null(c->parse_error);
    assert_string_equal(c->parse_error, "3 trailing bytes after the certificate");
    assert_string_equal(c->subject, plain->subject);
    assert_null(plain->parse_error);
    assert_string_not_equal(c->sha256_hex, plain->sha256_hex);
    free(more);
    OPENSSL_free(der);
    x509_pool_free(pool);
}

/* ---- trust stores ------------------------------------------------------------ */

static void test_trust_errors(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = (struct x509_pool *)1;
    char err[512], path[400];
    struct x509_trust_opts o = { 0 };

    snprintf(path, sizeof(path), "%s/missing.pem", p->dir);
    o.cafile = path;
    assert_int_equal(x509_pool_new(&pool, &o, err, sizeof(err)), TI_EIO);
    assert_null(pool);
    /* the message names the option at fault */
    assert_true(strncmp(err, "--cafile ", 9) == 0);
    assert_true(strncmp(err + 9, path, strlen(path)) == 0);
    assert_non_null(strstr(err, ": No such file"));

    o.cafile = p->junk;
    assert_int_equal(x509_pool_new(&pool, &o, err, sizeof(err)), TI_EIO);
    assert_non_null(strstr(err, "junk.pem: no certificate found"));

    o.cafile = NULL;
    o.capath = p->emptydir;
    assert_int_equal(x509_pool_new(&pool, &o, err, sizeof(err)), TI_EIO);
    assert_non_null(strstr(err, "empty: no certificate found"));

    o.capath = p->root_pem;                      /* a file, not a directory */
    assert_int_equal(x509_pool_new(&pool, &o, err, sizeof(err)), TI_EIO);

    o.capath = NULL;
    o.client_cafile = p->junk;
    assert_int_equal(x509_pool_new(&pool, &o, err, sizeof(err)), TI_EIO);
    assert_non_null(strstr(err, "no certificate found"));

    o.cafile = p->capath;                        /* a directory as a file */
    o.client_cafile = NULL;
    assert_int_equal(x509_pool_new(&pool, &o, err, sizeof(err)), TI_EIO);
    assert_non_null(strstr(err, "not a regular file"));

    o.cafile = NULL;
    o.capath = p->emptydir;
    assert_int_equal(x509_pool_new(&pool, &o, err, sizeof(err)), TI_EIO);
    assert_true(strncmp(err, "--capath ", 9) == 0);
    o.capath = NULL;
    o.client_cafile = p->junk;
    assert_int_equal(x509_pool_new(&pool, &o, err, sizeof(err)), TI_EIO);
    assert_true(strncmp(err, "--client-cafile ", 16) == 0);
    o.client_cafile = NULL;
    o.cafile = p->capath;

    /* A bundle with one damaged block: skipped with a warning naming the
     * file and the block, the others kept (the root verifies). */
    {
        char bundle[400], *pem = NULL;
        size_t plen = 0;
        FILE *in = fopen(p->root_pem, "r"), *out;
        const char *const *w;
        assert_non_null(in);
        pem = calloc(1, 65536);
        assert_non_null(pem);
        plen = fread(pem, 1, 65535, in);
        fclose(in);
        snprintf(bundle, sizeof(bundle), "%s/damaged-bundle.pem", p->dir);
        out = fopen(bundle, "w");
        assert_non_null(out);
        fwrite(pem, 1, plen, out);
        fputs("-----BEGIN CERTIFICATE-----\nMIIB!!!not base64 at all!!!\n-----END CERTIFICATE-----\n", out);
        fwrite(pem, 1, plen, out);
        assert_int_equal(fclose(out), 0);
        free(pem);
        struct x509_trust_opts ob = {0};
        ob.cafile = bundle;
        assert_int_equal(x509_pool_new(&pool, &ob, err, sizeof(err)), TI_OK);
        assert_true(x509_have_trust(pool, false));
        assert_int_equal(x509_pool_warnings(pool, &w), 1);
        assert_non_null(strstr(w[0], "damaged-bundle.pem: PEM block 2 is damaged"));
        x509_pool_free(pool);
    }

    assert_int_equal(x509_pool_new(NULL, &o, err, sizeof(err)), TI_EUSAGE);
    assert_int_equal(x509_pool_new(&pool, NULL, NULL, 0), TI_OK);  /* no trust at all */
    assert_false(x509_have_trust(pool, false));
    assert_false(x509_have_trust(pool, true));
    x509_pool_free(pool);
    x509_pool_free(NULL);
}

static void test_trust_capath_der_cafile(void **state)
{
    struct pki *p = *state;
    X509 *chain[] = { p->leaf_rsa, p->inter };
    struct x509_pool *dir = pool_with(NULL, p->capath, NULL);
    struct x509_pool *der = pool_with(p->root_der, NULL, NULL);
    struct x509_pool *bundle = pool_with(p->bundle_pem, NULL, NULL);
    struct x509_verdict v;

    assert_true(x509_have_trust(dir, false));
    assert_false(x509_have_trust(dir, true));
    /* root from "Steven Lab root (DER).bin" */
    v = verify(dir, chain, 2, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_OK);
    /* the self-signed tomcat certificate from "cucm tomcat-ECDSA.txt" */
    v = verify(dir, &p->self_ec, 1, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_OK);
    v = verify(der, chain, 2, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_OK);
    v = verify(der, &p->self_ec, 1, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_SELF_SIGNED);
    /* the intermediate comes from the bundle: leaf alone is enough */
    v = verify(bundle, chain, 1, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_OK);
    x509_pool_free(dir);
    x509_pool_free(der);
    x509_pool_free(bundle);
}

/* ---- chain verification ------------------------------------------------------ */

static void test_verify_results(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(p->root_pem, NULL, NULL);
    X509 *ok[] = { p->leaf_rsa, p->inter };
    X509 *exp[] = { p->expired, p->inter };
    X509 *fut[] = { p->future, p->inter };
    X509 *bad[] = { p->badsig, p->inter };
    X509 *other_root[] = { p->cleaf_server, p->croot };
    struct x509_verdict v;

    v = verify(pool, ok, 2, T0, "cucm.steven.lab", false);
    assert_int_equal(v.result, X509_CHAIN_OK);
    assert_int_equal(v.depth, 0);
    assert_int_equal(v.openssl_code, X509_V_OK);
    assert_true(v.name_checked);
    assert_true(v.name_ok);
    assert_string_equal(v.matched, "DNS:cucm.steven.lab");

    /* the server forgot its intermediate */
    v = verify(pool, ok, 1, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_UNKNOWN_ISSUER);
    assert_int_equal(v.depth, 0);
    assert_int_equal(v.openssl_code, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert_string_equal(v.openssl_error, "unable to get local issuer certificate");
    assert_false(v.name_checked);

    /* CUCM tomcat-ECDSA not in the Expressway trust store */
    v = verify(pool, &p->self_ec, 1, T0, "cucm.steven.lab", false);
    assert_int_equal(v.result, X509_CHAIN_SELF_SIGNED);
    assert_int_equal(v.depth, 0);
    assert_int_equal(v.openssl_code, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    assert_string_equal(v.openssl_error, "self-signed certificate");
    assert_true(v.name_ok);

    v = verify(pool, other_root, 2, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_SELF_SIGNED_IN_CHAIN);
    assert_int_equal(v.depth, 1);

    v = verify(pool, exp, 2, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_EXPIRED);
    assert_int_equal(v.depth, 0);
    assert_string_equal(v.openssl_error, "certificate has expired");
    v = verify(pool, exp, 2, T0 - 100 * DAY, NULL, false);   /* when it was valid */
    assert_int_equal(v.result, X509_CHAIN_OK);
    v = verify(pool, exp, 2, T0 - 30 * DAY - 1, NULL, false); /* its last second */
    assert_int_equal(v.result, X509_CHAIN_OK);
    v = verify(pool, exp, 2, T0 - 30 * DAY + 1, NULL, false); /* same day, after it */
    assert_int_equal(v.result, X509_CHAIN_OK);                 /* documented: the day's first verdict */

    v = verify(pool, fut, 2, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_NOT_YET_VALID);
    assert_int_equal(v.depth, 0);
    v = verify(pool, fut, 2, T0 + 100 * DAY, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_OK);

    v = verify(pool, bad, 2, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_BAD_SIGNATURE);
    assert_int_equal(v.depth, 0);
    assert_int_equal(v.openssl_code, X509_V_ERR_CERT_SIGNATURE_FAILURE);

    /* intermediate valid from T0 - 5y: judged in 2010 the chain is not valid yet */
    v = verify(pool, ok, 2, T0 - 13 * YEAR, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_NOT_YET_VALID);
    assert_true(v.depth > 0);
    x509_pool_free(pool);
}

static void test_verify_trusted_self_signed(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(p->self_pem, NULL, NULL);
    struct x509_verdict v = verify(pool, &p->self_ec, 1, T0, "cucm.steven.lab", false);

    assert_int_equal(v.result, X509_CHAIN_OK);
    assert_true(v.name_ok);
    /* a later day than its validity: expired even though trusted */
    v = verify(pool, &p->self_ec, 1, T0 + 2 * YEAR, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_EXPIRED);
    x509_pool_free(pool);
}

static void test_verify_edge_inputs(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(p->root_pem, NULL, NULL);
    const struct x509_cert *leaf = intern(pool, p->leaf_rsa);
    const struct x509_cert *inter = intern(pool, p->inter);
    const struct x509_cert *junk = x509_intern(pool, (const uint8_t *)"\x30\x03\x02\x01", 4);
    const struct x509_cert *chain[3];
    struct x509_verdict v = {0};   /* LTO cannot see x509_verify() always writes it */

    assert_non_null(junk);
    assert_int_equal(x509_verify(pool, NULL, 0, T0, "cucm.steven.lab", false, &v), TI_OK);
    assert_int_equal(v.result, X509_CHAIN_NO_CERTIFICATE);
    assert_false(v.name_checked);
    assert_string_equal(x509_chain_result_name(v.result), "no_certificate");

    chain[0] = junk;
    assert_int_equal(x509_verify(pool, chain, 1, T0, "cucm.steven.lab", false, &v), TI_OK);
    assert_int_equal(v.result, X509_CHAIN_OTHER);
    assert_string_equal(v.openssl_error, "certificate could not be decoded");
    assert_true(v.name_checked);
    assert_false(v.name_ok);
    assert_null(v.matched);

    /* an undecodable intermediate is skipped, the good one still used */
    chain[0] = leaf;
    chain[1] = junk;
    chain[2] = inter;
    assert_int_equal(x509_verify(pool, chain, 3, T0, NULL, false, &v), TI_OK);
    assert_int_equal(v.result, X509_CHAIN_OK);
    assert_int_equal(x509_verify(pool, chain, 2, T0, NULL, false, &v), TI_OK);
    assert_int_equal(v.result, X509_CHAIN_UNKNOWN_ISSUER);

    chain[1] = NULL;
    assert_int_equal(x509_verify(pool, chain, 2, T0, NULL, false, &v), TI_EUSAGE);
    assert_int_equal(x509_verify(NULL, chain, 1, T0, NULL, false, &v), TI_EUSAGE);
    assert_int_equal(x509_verify(pool, chain, 1, T0, NULL, false, NULL), TI_EUSAGE);
    assert_int_equal(x509_verify(pool, NULL, 1, T0, NULL, false, &v), TI_EUSAGE);

    /* times before 1970 are fine too (the root was not valid then) */
    chain[1] = inter;
    assert_int_equal(x509_verify(pool, chain, 2, -DAY - 1, NULL, false, &v), TI_OK);
    assert_int_equal(v.result, X509_CHAIN_NOT_YET_VALID);
    x509_pool_free(pool);
}

static void test_verify_no_trust_still_checks_name(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    struct x509_verdict v = verify(pool, &p->self_ec, 1, T0, "cucm.steven.lab", false);

    assert_int_equal(v.result, X509_CHAIN_NOT_CHECKED);
    assert_string_equal(x509_chain_result_name(v.result), "not_checked");
    assert_true(v.name_checked);
    assert_true(v.name_ok);
    assert_string_equal(v.matched, "DNS:cucm.steven.lab");
    v = verify(pool, &p->self_ec, 1, T0, "expe.steven.lab", false);
    assert_int_equal(v.result, X509_CHAIN_NOT_CHECKED);
    assert_true(v.name_checked);
    assert_false(v.name_ok);
    x509_pool_free(pool);
}

static void test_verify_client_purpose(void **state)
{
    struct pki *p = *state;
    struct x509_pool *both = pool_with(p->root_pem, NULL, p->client_pem);
    struct x509_pool *client_only = pool_with(NULL, NULL, p->client_pem);
    X509 *cchain[] = { p->cleaf, p->croot };
    struct x509_verdict v;

    assert_true(x509_have_trust(both, true));
    assert_true(x509_have_trust(both, false));
    v = verify(both, cchain, 1, T0, NULL, true);
    assert_int_equal(v.result, X509_CHAIN_OK);
    v = verify(both, cchain, 2, T0, NULL, true);
    assert_int_equal(v.result, X509_CHAIN_OK);
    /* the server store does not know the client CA */
    v = verify(both, cchain, 1, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_UNKNOWN_ISSUER);
    /* a serverAuth-only certificate presented as a client certificate */
    v = verify(both, &p->cleaf_server, 1, T0, NULL, true);
    assert_int_equal(v.result, X509_CHAIN_OTHER);
    assert_int_equal(v.openssl_code, X509_V_ERR_INVALID_PURPOSE);
    /* and a clientAuth-only one as a server certificate */
    {
        struct x509_pool *cs = pool_with(p->client_pem, NULL, NULL);
        v = verify(cs, cchain, 1, T0, NULL, false);
        assert_int_equal(v.result, X509_CHAIN_OTHER);
        assert_int_equal(v.openssl_code, X509_V_ERR_INVALID_PURPOSE);
        x509_pool_free(cs);
    }
    assert_false(x509_have_trust(client_only, false));
    v = verify(client_only, cchain, 1, T0, NULL, false);
    assert_int_equal(v.result, X509_CHAIN_NOT_CHECKED);
    v = verify(client_only, cchain, 1, T0, NULL, true);
    assert_int_equal(v.result, X509_CHAIN_OK);
    x509_pool_free(both);
    x509_pool_free(client_only);
}

/* ---- name checks ------------------------------------------------------------------ */

static void expect_name(struct x509_pool *pool, X509 *x, const char *name, bool ok, const char *matched)
{
    struct x509_verdict v = verify(pool, &x, 1, T0, name, false);

    assert_true(v.name_checked);
    if (v.name_ok != ok)
        print_error("name %s: name_ok %d, matched '%s'\n", name, v.name_ok,
                    v.matched ? v.matched : "(none)");
    assert_int_equal(v.name_ok, ok);
    if (matched[0] == '\0')
        assert_null(v.matched);
    else
        assert_string_equal(v.matched, matched);
}

static void test_names(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    struct x509_verdict v;

    /* SAN DNS, case-insensitive; matched is the certificate's spelling */
    expect_name(pool, p->self_ec, "cucm.steven.lab", true, "DNS:cucm.steven.lab");
    expect_name(pool, p->self_ec, "CUCM.Steven.LAB", true, "DNS:cucm.steven.lab");
    /* the CN is ignored when a DNS SAN exists (RFC 6125 6.4.4) */
    expect_name(pool, p->self_ec, "cucm-EC.steven.lab", false, "");
    expect_name(pool, p->self_ec, "10.48.36.215", false, "");
    /* wildcard: one label, leftmost only */
    expect_name(pool, p->wild, "expe.steven.lab", true, "DNS:*.steven.lab");
    expect_name(pool, p->wild, "a.b.steven.lab", false, "");
    expect_name(pool, p->wild, "steven.lab", false, "");
    /* connect by IP: IP SANs only, normalised text */
    expect_name(pool, p->leaf_ip, "10.48.36.215", true, "IP:10.48.36.215");
    expect_name(pool, p->leaf_ip, "2001:DB8:0:0::1", true, "IP:2001:db8::1");
    expect_name(pool, p->leaf_ip, "10.48.36.216", false, "");
    expect_name(pool, p->leaf_ip, "cucm-ip.steven.lab", true, "DNS:cucm-ip.steven.lab");
    expect_name(pool, p->leaf_rsa, "10.48.36.215", false, "");
    /* an IP in the CN is never used for an IP check */
    expect_name(pool, p->cn_ip, "10.48.36.217", false, "");
    /* CN fallback: no SAN at all, or a SAN with no DNS entry */
    expect_name(pool, p->cn_only, "cucm2.steven.lab", true, "CN:cucm2.steven.lab");
    expect_name(pool, p->cn_only, "Cucm2.Steven.Lab", true, "CN:cucm2.steven.lab");
    expect_name(pool, p->cn_only, "other.steven.lab", false, "");
    expect_name(pool, p->ip_san_only, "cucm3.steven.lab", true, "CN:cucm3.steven.lab");
    expect_name(pool, p->ip_san_only, "10.48.36.216", true, "IP:10.48.36.216");
    /* a NUL in the CN cannot match its prefix */
    expect_name(pool, p->nul_cn, "evil", false, "");
    expect_name(pool, p->nul_cn, "evil.steven.lab", false, "");

    v = verify(pool, &p->self_ec, 1, T0, "", false);
    assert_false(v.name_checked);
    assert_false(v.name_ok);
    v = verify(pool, &p->self_ec, 1, T0, NULL, false);
    assert_false(v.name_checked);
    x509_pool_free(pool);
}

/* ---- cache ---------------------------------------------------------------------------- */

static void test_cache(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(p->root_pem, NULL, NULL);
    X509 *xs[] = { p->leaf_rsa, p->inter };
    const struct x509_cert *chain[2];
    struct x509_verdict first, v;

    chain[0] = intern(pool, xs[0]);
    chain[1] = intern(pool, xs[1]);
    assert_int_equal(x509_verify_count(pool), 0);
    assert_int_equal(x509_verify(pool, chain, 2, T0, "cucm.steven.lab", false, &first), TI_OK);
    for (int i = 0; i < 10000; i++) {
        /* all within the same UTC day as T0 (22:13:20 + < 1h) */
        assert_int_equal(x509_verify(pool, chain, 2, T0 + (i % 3600), "cucm.steven.lab", false, &v), TI_OK);
        assert_memory_equal(&v, &first, sizeof(v));
    }
    assert_int_equal(x509_verify_count(pool), 1);
    assert_int_equal(x509_verify(pool, chain, 2, T0, "cucm1.steven.lab", false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 2);
    assert_int_equal(x509_verify(pool, chain, 2, T0 + DAY, "cucm.steven.lab", false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 3);
    assert_int_equal(x509_verify(pool, chain, 2, T0, "cucm.steven.lab", true, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 4);
    assert_int_equal(v.result, X509_CHAIN_NOT_CHECKED);
    assert_int_equal(x509_verify(pool, chain, 1, T0, "cucm.steven.lab", false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 5);
    assert_int_equal(v.result, X509_CHAIN_UNKNOWN_ISSUER);
    assert_int_equal(x509_verify(pool, chain, 2, T0, NULL, false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 6);
    /* all of those are still cached */
    assert_int_equal(x509_verify(pool, chain, 2, T0 + DAY + 5, "cucm.steven.lab", false, &v), TI_OK);
    assert_int_equal(x509_verify(pool, chain, 2, T0, "cucm1.steven.lab", false, &v), TI_OK);
    assert_int_equal(x509_verify(pool, chain, 1, T0, "cucm.steven.lab", false, &v), TI_OK);
    assert_int_equal(v.result, X509_CHAIN_UNKNOWN_ISSUER);
    assert_int_equal(x509_verify_count(pool), 6);
    /* the day boundary is 00:00 UTC: T0's day ends at T0 + 6400 */
    assert_int_equal(x509_verify(pool, chain, 2, T0 + 6399, "cucm.steven.lab", false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 6);
    assert_int_equal(x509_verify(pool, chain, 2, T0 + 6400 - DAY, "cucm.steven.lab", false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 6);
    assert_int_equal(x509_verify(pool, chain, 2, T0 + 6400 - DAY - 1, "cucm.steven.lab", false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 7);
    /* the order of the chain is part of the key */
    const struct x509_cert *swapped[2] = {chain[1], chain[0]};
    assert_int_equal(x509_verify(pool, swapped, 2, T0, "cucm.steven.lab", false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 8);
    /* a key longer than the stack buffer (a 700-byte name): kept whole,
     * so a name differing only in its last byte is another verdict */
    char longname[701];
    memset(longname, 'a', 700);
    longname[700] = '\0';
    assert_int_equal(x509_verify(pool, chain, 2, T0, longname, false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 9);
    assert_int_equal(x509_verify(pool, chain, 2, T0, longname, false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 9);
    longname[699] = 'b';
    assert_int_equal(x509_verify(pool, chain, 2, T0, longname, false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), 10);
    x509_pool_free(pool);
}

static void test_cache_bounded(void **state)
{
    struct pki *p = *state;
    struct x509_pool *pool = pool_with(NULL, NULL, NULL);
    const struct x509_cert *leaf = intern(pool, p->wild);
    struct x509_verdict v;
    char name[64];
    const int n = X509_VERIFY_CACHE_MAX + 1000;

    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "h%d.steven.lab", i);
        assert_int_equal(x509_verify(pool, &leaf, 1, T0, name, false, &v), TI_OK);
        assert_true(v.name_ok);
    }
    assert_int_equal(x509_verify_count(pool), n);
    /* the newest verdicts are kept ... */
    snprintf(name, sizeof(name), "h%d.steven.lab", n - 1);
    assert_int_equal(x509_verify(pool, &leaf, 1, T0, name, false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), n);
    /* ... the oldest went when the cache filled up */
    assert_int_equal(x509_verify(pool, &leaf, 1, T0, "h0.steven.lab", false, &v), TI_OK);
    assert_int_equal(x509_verify_count(pool), n + 1);
    assert_string_equal(v.matched, "DNS:*.steven.lab");
    x509_pool_free(pool);
}

static void test_names_tables(void **state)
{
    (void)state;
    assert_string_equal(x509_chain_result_name(X509_CHAIN_OK), "ok");
    assert_string_equal(x509_chain_result_name(X509_CHAIN_SELF_SIGNED), "self_signed");
    assert_string_equal(x509_chain_result_name(X509_CHAIN_SELF_SIGNED_IN_CHAIN), "self_signed_in_chain");
    assert_string_equal(x509_chain_result_name(X509_CHAIN_UNKNOWN_ISSUER), "unknown_issuer");
    assert_string_equal(x509_chain_result_name(X509_CHAIN_EXPIRED), "expired");
    assert_string_equal(x509_chain_result_name(X509_CHAIN_NOT_YET_VALID), "not_yet_valid");
    assert_string_equal(x509_chain_result_name(X509_CHAIN_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(x509_chain_result_name(X509_CHAIN_OTHER), "other");
    assert_string_equal(x509_chain_result_name((enum x509_chain_result)99), "other");
    assert_string_equal(x509_name_source_name(X509_NAME_FROM_OPTION), "option");
    assert_string_equal(x509_name_source_name(X509_NAME_FROM_SNI), "sni");
    assert_string_equal(x509_name_source_name(X509_NAME_FROM_SERVER_IP), "server_ip");
    assert_int_equal(x509_verify_count(NULL), 0);
    assert_false(x509_have_trust(NULL, false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facts_rsa_leaf_and_chain),
        cmocka_unit_test(test_facts_self_signed_ec),
        cmocka_unit_test(test_facts_names_escaping),
        cmocka_unit_test(test_facts_sans),
        cmocka_unit_test(test_facts_times_and_serial),
        cmocka_unit_test(test_facts_unknown_algorithms),
        cmocka_unit_test(test_intern_same_pointer),
        cmocka_unit_test(test_intern_garbage),
        cmocka_unit_test(test_intern_every_prefix),
        cmocka_unit_test(test_intern_trailing_bytes),
        cmocka_unit_test(test_trust_errors),
        cmocka_unit_test(test_trust_capath_der_cafile),
        cmocka_unit_test(test_verify_results),
        cmocka_unit_test(test_verify_trusted_self_signed),
        cmocka_unit_test(test_verify_edge_inputs),
        cmocka_unit_test(test_verify_no_trust_still_checks_name),
        cmocka_unit_test(test_verify_client_purpose),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_cache_bounded),
        cmocka_unit_test(test_names_tables),
    };
    return cmocka_run_group_tests(tests, setup_pki, teardown_pki);
}
