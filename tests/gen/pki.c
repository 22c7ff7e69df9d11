/* pki.c - the fixtures' test PKI, built with OpenSSL and kept as PEM files.
 *
 * Everything is valid 2025-01-01..2035-01-01 (the expired leaf:
 * 2020-01-01..2025-06-01), so verifying at the captures' own times
 * (2026-02-02, 2026-03-10) is deterministic.  Once written, the files are
 * reloaded on the next run so regenerated captures keep the same
 * certificates (delete the directory to mint a new PKI).
 */
#include "gen/gen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define PKI_PATH_MAX 1024

/* Which certificate each file holds; the table drives both load and save. */
struct pki_file {
    const char *stem;                 /* <stem>.pem and <stem>.key.pem */
    size_t off;                       /* offsetof(struct gen_pki, cred) */
};

static const struct pki_file PKI_FILES[] = {
    {"root-ca", offsetof(struct gen_pki, root)},
    {"intermediate-ca", offsetof(struct gen_pki, inter)},
    {"cucm-rsa", offsetof(struct gen_pki, cucm_rsa)},
    {"cucm-ecdsa-selfsigned", offsetof(struct gen_pki, cucm_ec)},
    {"cucm-rsa-expired", offsetof(struct gen_pki, cucm_expired)},
    {"imp-rsa", offsetof(struct gen_pki, imp_rsa)},
    {"unity-rsa", offsetof(struct gen_pki, unity_rsa)},
    {"expressway-ca", offsetof(struct gen_pki, expw_ca)},
    {"expressway-client", offsetof(struct gen_pki, expw_client)},
};
#define PKI_NFILES (sizeof PKI_FILES / sizeof PKI_FILES[0])

/* The edge PKI (traversal zone, SIP TLS, Expressway-E) is a second set of
 * files, so adding it left the first set's certificates (and every golden
 * report that shows their fingerprints) as they were. */
static const struct pki_file EDGE_FILES[] = {
    {"edge-root-ca", offsetof(struct gen_pki_edge, root)},
    {"edge-intermediate-ca", offsetof(struct gen_pki_edge, inter)},
    {"expe", offsetof(struct gen_pki_edge, expe)},
    {"expc-edge", offsetof(struct gen_pki_edge, expc)},
    {"cucm-sip-selfsigned", offsetof(struct gen_pki_edge, sip_self)},
};
#define EDGE_NFILES (sizeof EDGE_FILES / sizeof EDGE_FILES[0])

static struct gen_cred *set_cred(void *base, const struct pki_file *files, size_t i)
{
    return (struct gen_cred *)((char *)base + files[i].off);
}

static struct gen_cred *pki_cred(struct gen_pki *pki, size_t i)
{
    return set_cred(pki, PKI_FILES, i);
}

/* The leaves signed by the intermediate send it as their chain. */
static void pki_link_issuers(struct gen_pki *pki)
{
    pki->cucm_rsa.issuer = pki->inter.cert;
    pki->cucm_expired.issuer = pki->inter.cert;
    pki->imp_rsa.issuer = pki->inter.cert;
    pki->unity_rsa.issuer = pki->inter.cert;
}

static int pki_path(char *buf, const char *dir, const char *stem, const char *suffix)
{
    int n = snprintf(buf, PKI_PATH_MAX, "%s/%s%s", dir, stem, suffix);
    return (n < 0 || n >= PKI_PATH_MAX) ? -1 : 0;
}

static int pki_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
    if (ext == NULL)
        return -1;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

struct pki_spec {
    const char *cn;
    const char *org;
    long serial;
    const char *not_before, *not_after;   /* YYYYMMDDHHMMSSZ */
    const char *bc, *ku, *eku, *san;      /* extension values or NULL */
};

/* Make a certificate for KEY signed by ISSUER (NULL: self-signed). */
static X509 *pki_make(EVP_PKEY *key, const struct pki_spec *s, const struct gen_cred *issuer)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509 *icert;
    EVP_PKEY *ikey;
    const EVP_MD *md;

    if (x == NULL || name == NULL)
        goto fail;
    if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial))
        goto fail;
    if (!X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)s->org, -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)s->cn, -1, -1, 0))
        goto fail;
    if (!X509_set_subject_name(x, name))
        goto fail;
    if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert) : name))
        goto fail;
    /* ASN1_TIME_set_string_X509 picks UTCTime before 2050 as RFC 5280 wants */
    if (!ASN1_TIME_set_string_X509(X509_getm_notBefore(x), s->not_before) ||
        !ASN1_TIME_set_string_X509(X509_getm_notAfter(x), s->not_after))
        goto fail;
    if (!X509_set_pubkey(x, key))
        goto fail;
    icert = issuer ? issuer->cert : x;
    ikey = issuer ? issuer->key : key;
    /* SKI first: a self-signed AKI takes its keyid from the SKI */
    if (pki_add_ext(x, icert, NID_subject_key_identifier, "hash") != 0 ||
        pki_add_ext(x, icert, NID_authority_key_identifier, "keyid:always") != 0)
        goto fail;
    if (s->bc && pki_add_ext(x, icert, NID_basic_constraints, s->bc) != 0)
        goto fail;
    if (s->ku && pki_add_ext(x, icert, NID_key_usage, s->ku) != 0)
        goto fail;
    if (s->eku && pki_add_ext(x, icert, NID_ext_key_usage, s->eku) != 0)
        goto fail;
    if (s->san && pki_add_ext(x, icert, NID_subject_alt_name, s->san) != 0)
        goto fail;
    md = EVP_PKEY_is_a(ikey, "EC") ? EVP_sha384() : EVP_sha256();
    if (X509_sign(x, ikey, md) == 0)
        goto fail;
    X509_NAME_free(name);
    return x;
fail:
    ERR_print_errors_fp(stderr);
    X509_NAME_free(name);
    X509_free(x);
    return NULL;
}

static int pki_mint(struct gen_cred *c, const struct pki_spec *s, const struct gen_cred *issuer,
                    bool ec)
{
    c->key = ec ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")
                : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(issuer ? 2048 : 3072));
    if (c->key == NULL)
        return -1;
    c->cert = pki_make(c->key, s, issuer);
    return c->cert ? 0 : -1;
}

#define CA_BC "critical,CA:TRUE"
#define CA_KU "critical,keyCertSign,cRLSign"
#define LEAF_KU "critical,digitalSignature,keyEncipherment"
#define LEAF_EKU "serverAuth,clientAuth"
#define V_FROM "20250101000000Z"
#define V_TO "20350101000000Z"

static int pki_create(struct gen_pki *pki)
{
    static const struct pki_spec root = {"Steven Lab Root CA", "Steven Lab", 0x5e01,
        V_FROM, V_TO, CA_BC, CA_KU, NULL, NULL};
    static const struct pki_spec inter = {"Steven Lab Issuing CA 1", "Steven Lab", 0x5e02,
        V_FROM, V_TO, "critical,CA:TRUE,pathlen:0", CA_KU, NULL, NULL};
    static const struct pki_spec cucm = {"cucm.steven.lab", "Steven Lab", 0x5e1001,
        V_FROM, V_TO, "CA:FALSE", LEAF_KU, LEAF_EKU, "DNS:cucm.steven.lab"};
    /* CUCM's self-signed tomcat-ECDSA: CA:TRUE with keyCertSign, as CUCM
     * mints them, so OpenSSL reports "self-signed certificate" (depth 0). */
    static const struct pki_spec cucm_ec = {"cucm-EC.steven.lab", "Cisco", 0x5ec001,
        V_FROM, V_TO, "CA:TRUE", "critical,digitalSignature,keyCertSign", LEAF_EKU,
        "DNS:cucm.steven.lab"};
    static const struct pki_spec expired = {"cucm.steven.lab", "Steven Lab", 0x5e1002,
        "20200101000000Z", "20250601000000Z", "CA:FALSE", LEAF_KU, LEAF_EKU,
        "DNS:cucm.steven.lab"};
    static const struct pki_spec imp = {"imp.steven.lab", "Steven Lab", 0x5e1003,
        V_FROM, V_TO, "CA:FALSE", LEAF_KU, LEAF_EKU, "DNS:imp.steven.lab"};
    static const struct pki_spec unity = {"unity.steven.lab", "Steven Lab", 0x5e1004,
        V_FROM, V_TO, "CA:FALSE", LEAF_KU, LEAF_EKU, "DNS:unity.steven.lab"};
    static const struct pki_spec eca = {"Expressway Lab CA", "Expressway Lab", 0xe01,
        V_FROM, V_TO, CA_BC, CA_KU, NULL, NULL};
    static const struct pki_spec ecl = {"expc.steven.lab", "Expressway Lab", 0xe1001,
        V_FROM, V_TO, "CA:FALSE", LEAF_KU, LEAF_EKU,
        "DNS:expc.steven.lab,IP:10.48.36.46"};

    if (pki_mint(&pki->root, &root, NULL, false) != 0 ||
        pki_mint(&pki->inter, &inter, &pki->root, false) != 0 ||
        pki_mint(&pki->cucm_rsa, &cucm, &pki->inter, false) != 0 ||
        pki_mint(&pki->cucm_ec, &cucm_ec, NULL, true) != 0 ||
        pki_mint(&pki->cucm_expired, &expired, &pki->inter, false) != 0 ||
        pki_mint(&pki->imp_rsa, &imp, &pki->inter, false) != 0 ||
        pki_mint(&pki->unity_rsa, &unity, &pki->inter, false) != 0 ||
        pki_mint(&pki->expw_ca, &eca, NULL, false) != 0 ||
        pki_mint(&pki->expw_client, &ecl, &pki->expw_ca, false) != 0)
        return -1;
    pki_link_issuers(pki);
    return 0;
}

static int pki_write_certs(const char *dir, const char *stem, X509 *a, X509 *b)
{
    char path[PKI_PATH_MAX];
    FILE *f;
    int ok;

    if (pki_path(path, dir, stem, ".pem") != 0 || (f = fopen(path, "w")) == NULL) {
        fprintf(stderr, "gen: cannot write %s/%s.pem\n", dir, stem);
        return -1;
    }
    ok = PEM_write_X509(f, a) && (b == NULL || PEM_write_X509(f, b));
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static int set_save(void *base, const struct pki_file *files, size_t n, const char *dir)
{
    char path[PKI_PATH_MAX];

    for (size_t i = 0; i < n; i++) {
        struct gen_cred *c = set_cred(base, files, i);
        FILE *f;
        int ok;

        if (pki_write_certs(dir, files[i].stem, c->cert, NULL) != 0)
            return -1;
        if (pki_path(path, dir, files[i].stem, ".key.pem") != 0 ||
            (f = fopen(path, "w")) == NULL)
            return -1;
        ok = PEM_write_PrivateKey(f, c->key, NULL, NULL, 0, NULL, NULL);
        if (fclose(f) != 0 || !ok)
            return -1;
    }
    return 0;
}

static int pki_save(struct gen_pki *pki, const char *dir)
{
    if (set_save(pki, PKI_FILES, PKI_NFILES, dir) != 0)
        return -1;
    /* Bundles: the leaf with its chain, and the two trust stores. */
    if (pki_write_certs(dir, "cucm-rsa-chain", pki->cucm_rsa.cert, pki->inter.cert) != 0 ||
        pki_write_certs(dir, "expressway-trust", pki->root.cert, NULL) != 0 ||
        pki_write_certs(dir, "cucm-trust", pki->root.cert, NULL) != 0)
        return -1;
    return 0;
}

/* 1 = loaded, 0 = some file missing (create instead), -1 = unreadable. */
static int set_load(void *base, const struct pki_file *files, size_t n, const char *dir)
{
    char path[PKI_PATH_MAX];

    for (size_t i = 0; i < n; i++) {
        struct gen_cred *c = set_cred(base, files, i);
        FILE *f;

        if (pki_path(path, dir, files[i].stem, ".pem") != 0)
            return -1;
        f = fopen(path, "r");
        if (f == NULL)
            return 0;
        c->cert = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        if (pki_path(path, dir, files[i].stem, ".key.pem") != 0)
            return -1;
        f = fopen(path, "r");
        if (f == NULL)
            return 0;
        c->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        if (c->cert == NULL || c->key == NULL || X509_check_private_key(c->cert, c->key) != 1) {
            fprintf(stderr, "gen: %s/%s: unreadable certificate or key\n", dir, files[i].stem);
            return -1;
        }
    }
    return 1;
}

static int pki_load(struct gen_pki *pki, const char *dir)
{
    int rc = set_load(pki, PKI_FILES, PKI_NFILES, dir);

    if (rc == 1)
        pki_link_issuers(pki);
    return rc;
}

/* The hostile certificate: loaded from DIR/hostile.pem when present, else
 * minted and written there.  Its names are markup and quotes on purpose. */
static int pki_hostile(struct gen_pki *pki, const char *dir)
{
    static const struct pki_spec spec = {"<script>alert(1)</script>", "\"Evil\" & <Co>", 0x666,
        V_FROM, V_TO, "CA:FALSE", LEAF_KU, LEAF_EKU,
        "DNS:<img src=x onerror=alert(2)>.steven.lab,DNS:cucm.steven.lab"};
    struct gen_cred *c = &pki->hostile;
    char path[PKI_PATH_MAX];
    FILE *f;
    int ok;

    if (pki_path(path, dir, "hostile", ".pem") == 0 && (f = fopen(path, "r")) != NULL) {
        c->cert = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        if (pki_path(path, dir, "hostile", ".key.pem") == 0 && (f = fopen(path, "r")) != NULL) {
            c->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
            fclose(f);
        }
        if (c->cert != NULL && c->key != NULL && X509_check_private_key(c->cert, c->key) == 1)
            return 0;
        fprintf(stderr, "gen: %s/hostile: unreadable certificate or key\n", dir);
        return -1;
    }
    c->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (c->key == NULL || (c->cert = pki_make(c->key, &spec, NULL)) == NULL)
        return -1;
    if (pki_write_certs(dir, "hostile", c->cert, NULL) != 0 ||
        pki_path(path, dir, "hostile", ".key.pem") != 0 || (f = fopen(path, "w")) == NULL)
        return -1;
    ok = PEM_write_PrivateKey(f, c->key, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0 || !ok)
        return -1;
    return 0;
}

int gen_pki_load_or_create(struct gen_pki *pki, const char *dir)
{
    int rc;

    memset(pki, 0, sizeof *pki);
    rc = pki_load(pki, dir);
    if (rc == 1)
        return pki_hostile(pki, dir) == 0 ? 0 : (gen_pki_free(pki), -1);
    gen_pki_free(pki);
    if (rc < 0)
        return -1;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (pki_create(pki) != 0 || pki_save(pki, dir) != 0 || pki_hostile(pki, dir) != 0) {
        fprintf(stderr, "gen: cannot create the PKI in %s\n", dir);
        gen_pki_free(pki);
        return -1;
    }
    return 0;
}

void gen_pki_free(struct gen_pki *pki)
{
    for (size_t i = 0; i < PKI_NFILES; i++) {
        struct gen_cred *c = pki_cred(pki, i);

        X509_free(c->cert);
        EVP_PKEY_free(c->key);
        c->cert = NULL;
        c->key = NULL;
        c->issuer = NULL;
    }
    X509_free(pki->hostile.cert);
    EVP_PKEY_free(pki->hostile.key);
    pki->hostile.cert = NULL;
    pki->hostile.key = NULL;
}

/* ---- the edge PKI: traversal zone, SIP TLS, Expressway-E ------------------ */

static void edge_link_issuers(struct gen_pki_edge *e)
{
    e->expe.issuer = e->inter.cert;
    e->expc.issuer = e->inter.cert;
}

static int edge_create(struct gen_pki_edge *e)
{
    static const struct pki_spec root = {"Edge Lab Root CA", "Edge Lab", 0xed01,
        V_FROM, V_TO, CA_BC, CA_KU, NULL, NULL};
    static const struct pki_spec inter = {"Edge Lab Issuing CA 2", "Edge Lab", 0xed02,
        V_FROM, V_TO, "critical,CA:TRUE,pathlen:0", CA_KU, NULL, NULL};
    /* The Expressway-E: its own FQDN only, not the collab-edge name */
    static const struct pki_spec expe = {"expe.steven.lab", "Edge Lab", 0xed1001,
        V_FROM, V_TO, "CA:FALSE", LEAF_KU, LEAF_EKU, "DNS:expe.steven.lab"};
    static const struct pki_spec expc = {"expc.steven.lab", "Edge Lab", 0xed1002,
        V_FROM, V_TO, "CA:FALSE", LEAF_KU, LEAF_EKU, "DNS:expc.steven.lab"};
    /* CUCM CallManager certificate, self-signed as installed */
    static const struct pki_spec sip = {"cucm.steven.lab", "Cisco", 0xed5061,
        V_FROM, V_TO, "CA:FALSE", LEAF_KU, LEAF_EKU, "DNS:cucm.steven.lab"};

    if (pki_mint(&e->root, &root, NULL, false) != 0 ||
        pki_mint(&e->inter, &inter, &e->root, false) != 0 ||
        pki_mint(&e->expe, &expe, &e->inter, false) != 0 ||
        pki_mint(&e->expc, &expc, &e->inter, false) != 0 ||
        pki_mint(&e->sip_self, &sip, NULL, false) != 0)
        return -1;
    edge_link_issuers(e);
    return 0;
}

void gen_pki_edge_free(struct gen_pki_edge *e)
{
    for (size_t i = 0; i < EDGE_NFILES; i++) {
        struct gen_cred *c = set_cred(e, EDGE_FILES, i);

        X509_free(c->cert);
        EVP_PKEY_free(c->key);
        c->cert = NULL;
        c->key = NULL;
    }
}

int gen_pki_edge_load_or_create(struct gen_pki_edge *e, const char *dir)
{
    int rc;

    memset(e, 0, sizeof *e);
    rc = set_load(e, EDGE_FILES, EDGE_NFILES, dir);
    if (rc == 1) {
        edge_link_issuers(e);
        return 0;
    }
    gen_pki_edge_free(e);
    if (rc < 0)
        return -1;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (edge_create(e) != 0 || set_save(e, EDGE_FILES, EDGE_NFILES, dir) != 0 ||
        pki_write_certs(dir, "edge-trust", e->root.cert, NULL) != 0) {
        fprintf(stderr, "gen: cannot create the edge PKI in %s\n", dir);
        gen_pki_edge_free(e);
        return -1;
    }
    return 0;
}
