/* x509.c - certificate facts, trust stores, offline chain verification, name checks and the verdict cache (OpenSSL). */
#include "tlsinspect/x509.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlsinspect/err.h"
#include "tlsinspect/hash.h"
#include "tlsinspect/hex.h"
#include "x509_int.h"

#define X509_POOL_INIT_SLOTS  256u          /* first size of the certificate table */
#define X509_VCACHE_SLOTS     (2u * X509_VERIFY_CACHE_MAX) /* open addressing, load <= 1/2 */
#define X509_SECS_PER_DAY     86400

/* RFC 2253 output as OpenSSL's XN_FLAG_RFC2253, but characters above 0x7f
 * are kept as UTF-8 instead of "\C3\A9" escapes (like -nameopt utf8): the
 * header promises UTF-8.  Control characters (NUL included) stay escaped. */
#define X509_RFC2253_UTF8 (XN_FLAG_RFC2253 & ~(unsigned long)ASN1_STRFLGS_ESC_MSB)

enum { X509_ROLE_SERVER = 0, X509_ROLE_CLIENT = 1 };

struct x509_vcache_entry {
    uint64_t hash;                 /* ti_hash_bytes(key) */
    size_t key_len;
    struct x509_verdict verdict;
    uint8_t key[];                 /* the whole key: a hit compares every byte */
};

struct x509_pool {
    struct x509_cert **slots;      /* open addressing by ti_hash_bytes(DER), NULL = empty */
    uint64_t *hashes;              /* ti_hash_bytes() of slots[i]'s DER */
    size_t n_slots;                /* power of two */
    size_t n_certs;

    X509_STORE *store[2];          /* indexed by X509_ROLE_*; NULL = no trust */
    uint64_t generation;           /* trust store identity in cache keys */

    struct x509_vcache_entry **vslots; /* X509_VCACHE_SLOTS, allocated on first use */
    size_t n_verdicts;
    uint64_t n_verify;

    EVP_MD *sha256;                /* fetched once */
    EVP_MD_CTX *md;                /* reused for every digest */

    struct x509_pool_str *strs;    /* verdicts' matched names, newest first */

    char *warnings[X509_POOL_MAX_WARNINGS]; /* trust store loading: damaged PEM blocks */
    size_t n_warnings;
    struct x509_trust_info trust_info[X509_TRUST_NSRC];
};

/* A string the pool keeps for verdicts to point at (x509_verdict.matched):
 * one per verification that matched a name, so it outlives the verdict
 * cache being emptied and the connections holding copies of the verdict. */
struct x509_pool_str {
    struct x509_pool_str *next;
    char s[];
};

/* ---- small helpers -------------------------------------------------------- */

/* A bounded string being built: at most X509_MAX_STR - 1 bytes.  Appends
 * stop at the cap without splitting an escape or a UTF-8 sequence. */
struct x509_sb {
    char buf[X509_MAX_STR];
    size_t len;
    bool full;
};

static void sb_init(struct x509_sb *sb)
{
    sb->len = 0;
    sb->full = false;
    sb->buf[0] = '\0';
}

/* Append n bytes; NUL becomes the two characters "\0" (header contract:
 * strings never carry NUL, a CN "a\0b" must not read as "a"). */
static void sb_put(struct x509_sb *sb, const void *data, size_t n)
{
    const unsigned char *s = data;

    for (size_t i = 0; i < n && !sb->full; i++) {
        size_t room = sizeof(sb->buf) - 1 - sb->len;
        if (s[i] == '\0') {
            if (room < 2) {
                sb->full = true;
                break;
            }
            sb->buf[sb->len++] = '\\';
            sb->buf[sb->len++] = '0';
        } else {
            if (room < 1) {
                sb->full = true;
                break;
            }
            sb->buf[sb->len++] = (char)s[i];
        }
    }
    sb->buf[sb->len] = '\0';
}

static void sb_puts(struct x509_sb *sb, const char *s)
{
    sb_put(sb, s, strlen(s));
}

/* After a cut, drop a trailing incomplete UTF-8 sequence so JSON writers
 * get whole characters. */
static void sb_trim_utf8(struct x509_sb *sb)
{
    size_t j, need;
    unsigned char lead;

    if (!sb->full || sb->len == 0)
        return;
    j = sb->len - 1;
    while (j > 0 && sb->len - j < 4 && ((unsigned char)sb->buf[j] & 0xC0) == 0x80)
        j--;
    lead = (unsigned char)sb->buf[j];
    if (lead < 0x80)
        need = 1;
    else if ((lead & 0xE0) == 0xC0)
        need = 2;
    else if ((lead & 0xF0) == 0xE0)
        need = 3;
    else if ((lead & 0xF8) == 0xF0)
        need = 4;
    else
        return;                     /* not UTF-8 anyway: leave the bytes */
    if (sb->len - j < need) {
        sb->len = j;
        sb->buf[sb->len] = '\0';
    }
}

static char *sb_dup(struct x509_sb *sb, bool *oom)
{
    char *s;

    sb_trim_utf8(sb);
    s = strdup(sb->buf);
    if (s == NULL)
        *oom = true;
    return s;
}

/* Lower-case hex of an octet string, capped at X509_MAX_STR. */
static char *octets_hex(const ASN1_OCTET_STRING *os, bool *oom)
{
    const unsigned char *p = ASN1_STRING_get0_data(os);
    int len = ASN1_STRING_length(os);
    size_t n = len > 0 ? (size_t)len : 0;
    char *s;

    if (n > (X509_MAX_STR - 1) / 2)
        n = (X509_MAX_STR - 1) / 2;
    s = malloc(2 * n + 1);
    if (s == NULL) {
        *oom = true;
        return NULL;
    }
    hex_encode(p, n, s);
    return s;
}

void x509_set_err(char *errbuf, size_t errlen, const char *what, const char *why)
{
    if (errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, "%s: %s", what, why);
}

/* The first (deepest) OpenSSL error as text; clears the queue. */
void x509_openssl_err_text(char *buf, size_t len, const char *fallback)
{
    unsigned long e = ERR_get_error();

    if (e != 0)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "%s", fallback);
    ERR_clear_error();
}

static int digest(struct x509_pool *pool, const void *data, size_t len, uint8_t out[32])
{
    unsigned int outlen = 0;

    if (EVP_DigestInit_ex(pool->md, pool->sha256, NULL) != 1 ||
        EVP_DigestUpdate(pool->md, data, len) != 1 ||
        EVP_DigestFinal_ex(pool->md, out, &outlen) != 1 || outlen != 32) {
        ERR_clear_error();
        return TI_ENOMEM;
    }
    return TI_OK;
}

/* Interning finds a certificate by a fast hash of its DER (ti_hash_bytes),
 * then the DER itself: SHA-256 runs once per distinct certificate (for its
 * fingerprint), not once per connection presenting it -- a fleet presents
 * the same chain thousands of times. */
static bool der_equal(const struct x509_cert *c, const uint8_t *der, size_t len)
{
    return c->der_len == len && (len == 0 || memcmp(c->der, der, len) == 0);
}

/* ---- certificate facts ---------------------------------------------------- */

/* Name of an OID: short name if OpenSSL knows one (or the long name when
 * prefer_ln), else the dotted form. */
static void obj_name(const ASN1_OBJECT *obj, bool prefer_ln, char *buf, size_t len)
{
    int nid = OBJ_obj2nid(obj);
    const char *s = NULL;

    if (nid != NID_undef) {
        s = prefer_ln ? OBJ_nid2ln(nid) : OBJ_nid2sn(nid);
        if (s == NULL)
            s = prefer_ln ? OBJ_nid2sn(nid) : OBJ_nid2ln(nid);
    }
    if (s != NULL)
        snprintf(buf, len, "%s", s);
    else if (OBJ_obj2txt(buf, (int)len, obj, 1) <= 0)
        snprintf(buf, len, "unknown");
}

/* RFC 2253 text of a name appended to sb.  If OpenSSL refuses to print it
 * (e.g. a BMPString of odd length) fall back to X509_NAME_oneline, which
 * escapes what it cannot print. */
static void name_append(struct x509_sb *sb, const X509_NAME *nm)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;

    if (bio != NULL && X509_NAME_print_ex(bio, nm, 0, X509_RFC2253_UTF8) >= 0) {
        n = BIO_get_mem_data(bio, &data);
        if (n > 0 && data != NULL)
            sb_put(sb, data, (size_t)n);
    } else {
        char line[X509_MAX_STR];
        if (X509_NAME_oneline(nm, line, (int)sizeof(line)) != NULL)
            sb_puts(sb, line);
    }
    BIO_free(bio);
    ERR_clear_error();
}

static char *name_string(const X509_NAME *nm, bool *oom)
{
    struct x509_sb sb;

    sb_init(&sb);
    if (nm != NULL)
        name_append(&sb, nm);
    return sb_dup(&sb, oom);
}

/* ASN.1 string as UTF-8 (raw bytes if OpenSSL cannot convert it). */
static void asn1_append(struct x509_sb *sb, const ASN1_STRING *str)
{
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, str);

    if (n >= 0) {
        sb_put(sb, u, (size_t)n);
    } else {
        int len = ASN1_STRING_length(str);
        if (len > 0)
            sb_put(sb, ASN1_STRING_get0_data(str), (size_t)len);
        ERR_clear_error();
    }
    OPENSSL_free(u);
}

static char *first_cn(const X509_NAME *nm, bool *oom)
{
    struct x509_sb sb;
    const X509_NAME_ENTRY *e;
    int idx;

    if (nm == NULL)
        return NULL;
    idx = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
    if (idx < 0)
        return NULL;
    e = X509_NAME_get_entry(nm, idx);
    if (e == NULL)
        return NULL;
    sb_init(&sb);
    asn1_append(&sb, X509_NAME_ENTRY_get_data(e));
    return sb_dup(&sb, oom);
}

static void san_format(struct x509_sb *sb, const GENERAL_NAME *gen)
{
    char tmp[128];
    int len;
    const unsigned char *p;

    switch (gen->type) {
    case GEN_DNS:
        sb_puts(sb, "DNS:");
        sb_put(sb, ASN1_STRING_get0_data(gen->d.dNSName),
               (size_t)ASN1_STRING_length(gen->d.dNSName));
        break;
    case GEN_EMAIL:
        sb_puts(sb, "email:");
        sb_put(sb, ASN1_STRING_get0_data(gen->d.rfc822Name),
               (size_t)ASN1_STRING_length(gen->d.rfc822Name));
        break;
    case GEN_URI:
        sb_puts(sb, "URI:");
        sb_put(sb, ASN1_STRING_get0_data(gen->d.uniformResourceIdentifier),
               (size_t)ASN1_STRING_length(gen->d.uniformResourceIdentifier));
        break;
    case GEN_IPADD:
        p = ASN1_STRING_get0_data(gen->d.iPAddress);
        len = ASN1_STRING_length(gen->d.iPAddress);
        sb_puts(sb, "IP:");
        if (len == 4 && inet_ntop(AF_INET, p, tmp, sizeof(tmp)) != NULL) {
            sb_puts(sb, tmp);
        } else if (len == 16 && inet_ntop(AF_INET6, p, tmp, sizeof(tmp)) != NULL) {
            sb_puts(sb, tmp);
        } else {
            /* RFC 5280 4.2.1.6 allows only 4 or 16 octets here; show the bytes */
            for (int i = 0; i < len && !sb->full; i++) {
                snprintf(tmp, sizeof(tmp), "%02x", p[i]);
                sb_puts(sb, tmp);
            }
        }
        break;
    case GEN_DIRNAME:
        sb_puts(sb, "DirName:");
        name_append(sb, gen->d.directoryName);
        break;
    case GEN_RID:
        obj_name(gen->d.registeredID, false, tmp, sizeof(tmp));
        sb_puts(sb, "RID:");
        sb_puts(sb, tmp);
        break;
    case GEN_OTHERNAME:
        obj_name(gen->d.otherName->type_id, false, tmp, sizeof(tmp));
        sb_puts(sb, "othername:");
        sb_puts(sb, tmp);
        /* the common ones (msUPN, SRVName) are strings: show the value */
        switch (gen->d.otherName->value->type) {
        case V_ASN1_UTF8STRING: case V_ASN1_IA5STRING: case V_ASN1_PRINTABLESTRING:
        case V_ASN1_BMPSTRING: case V_ASN1_UNIVERSALSTRING: case V_ASN1_VISIBLESTRING:
            sb_puts(sb, ":");
            asn1_append(sb, gen->d.otherName->value->value.asn1_string);
            break;
        default:
            break;
        }
        break;
    case GEN_X400:
        sb_puts(sb, "X400Name");
        break;
    case GEN_EDIPARTY:
        sb_puts(sb, "EdiPartyName");
        break;
    default:
        sb_puts(sb, "unknown");
        break;
    }
}

static void fill_sans(struct x509_cert *c, X509 *x, bool *oom)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int n;

    if (gens == NULL)
        return;
    n = sk_GENERAL_NAME_num(gens);
    for (int i = 0; i < n && !*oom; i++) {
        struct x509_sb sb;
        if (c->n_san == X509_MAX_SAN) {
            c->san_truncated = true;
            break;
        }
        sb_init(&sb);
        san_format(&sb, sk_GENERAL_NAME_value(gens, i));
        c->san[c->n_san] = sb_dup(&sb, oom);
        if (c->san[c->n_san] != NULL)
            c->n_san++;
    }
    GENERAL_NAMES_free(gens);
}

static const struct { int id; const char *name; bool bits; } x509_key_types[] = {
    { EVP_PKEY_RSA,     "RSA",     true },
    { EVP_PKEY_RSA_PSS, "RSA-PSS", true },
    { EVP_PKEY_EC,      "EC",      false },
    { EVP_PKEY_DSA,     "DSA",     true },
    { EVP_PKEY_DH,      "DH",      true },
    { EVP_PKEY_DHX,     "DH",      true },
    { EVP_PKEY_ED25519, "Ed25519", false },
    { EVP_PKEY_ED448,   "Ed448",   false },
    { EVP_PKEY_X25519,  "X25519",  false },
    { EVP_PKEY_X448,    "X448",    false },
};

/* OpenSSL group names to the NIST names the Expressway and CUCM GUIs use. */
static const struct { const char *openssl; const char *nist; } x509_curves[] = {
    { "prime256v1", "P-256" },
    { "secp384r1",  "P-384" },
    { "secp521r1",  "P-521" },
    { "secp224r1",  "P-224" },
    { "prime192v1", "P-192" },
};

static void fill_key(struct x509_cert *c, X509 *x)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    const char *type = NULL;
    bool with_bits = true;
    int id;

    snprintf(c->key, sizeof(c->key), "unknown");
    snprintf(c->key_type, sizeof(c->key_type), "unknown");
    if (pk == NULL) {
        /* OpenSSL 3.0 cannot load e.g. ML-DSA keys: name the algorithm OID */
        ASN1_OBJECT *alg = NULL;
        X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
        if (xpk != NULL && X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, xpk) == 1 &&
            alg != NULL && OBJ_obj2nid(alg) != NID_undef) {
            obj_name(alg, false, c->key_type, sizeof(c->key_type));
            snprintf(c->key, sizeof(c->key), "%s", c->key_type);
        }
        ERR_clear_error();
        return;
    }
    id = EVP_PKEY_get_base_id(pk);
    for (size_t i = 0; i < sizeof(x509_key_types) / sizeof(x509_key_types[0]); i++) {
        if (x509_key_types[i].id == id) {
            type = x509_key_types[i].name;
            with_bits = x509_key_types[i].bits;
            break;
        }
    }
    if (type == NULL)
        type = EVP_PKEY_get0_type_name(pk);
    if (type == NULL)
        return;
    snprintf(c->key_type, sizeof(c->key_type), "%s", type);
    if (id == EVP_PKEY_EC) {
        char group[64];
        size_t glen = 0;
        const char *curve = NULL;
        if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) == 1 && glen > 0) {
            curve = group;
            for (size_t i = 0; i < sizeof(x509_curves) / sizeof(x509_curves[0]); i++) {
                if (strcmp(group, x509_curves[i].openssl) == 0) {
                    curve = x509_curves[i].nist;
                    break;
                }
            }
        }
        if (curve != NULL)
            snprintf(c->key, sizeof(c->key), "EC %.28s", curve);
        else    /* explicit parameters: no name, give the size */
            snprintf(c->key, sizeof(c->key), "EC %d", EVP_PKEY_get_bits(pk));
    } else if (with_bits) {
        snprintf(c->key, sizeof(c->key), "%s %d", type, EVP_PKEY_get_bits(pk));
    } else {
        snprintf(c->key, sizeof(c->key), "%s", type);
    }
    ERR_clear_error();
}

static int64_t asn1_time_secs(const ASN1_TIME *t)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return 0;                   /* unreadable time: documented as 0 */
    }
    return (int64_t)timegm(&tm);    /* negative before 1970 */
}

static char *serial_hex(X509 *x, bool *oom)
{
    struct x509_sb sb;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;  /* upper case, '-' if negative */
    char *s;

    BN_free(bn);
    if (hex == NULL) {
        ERR_clear_error();
        *oom = true;
        return NULL;
    }
    sb_init(&sb);
    sb_puts(&sb, hex);
    OPENSSL_free(hex);
    s = sb_dup(&sb, oom);
    return s;
}

static int cert_fill(struct x509_cert *c)
{
    const unsigned char *p = c->der;
    bool oom = false;
    X509 *x;
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *alg_obj = NULL;
    const ASN1_OCTET_STRING *id;
    BASIC_CONSTRAINTS *bc;
    EVP_PKEY *pk;
    char tmp[128];
    size_t used;

    if (c->der_len > LONG_MAX) {
        c->parse_error = strdup("certificate too large");
        return c->parse_error != NULL ? TI_OK : TI_ENOMEM;
    }
    x = d2i_X509(NULL, &p, (long)c->der_len);
    if (x == NULL) {
        x509_openssl_err_text(tmp, sizeof(tmp), "undecodable certificate");
        c->parse_error = strdup(tmp);
        return c->parse_error != NULL ? TI_OK : TI_ENOMEM;
    }
    c->x509 = x;
    c->parsed = true;
    used = (size_t)(p - c->der);
    if (used != c->der_len) {
        /* A TLS stack would reject this entry (OpenSSL: cert length
         * mismatch); keep the facts of the certificate and say so. */
        snprintf(tmp, sizeof(tmp), "%zu trailing bytes after the certificate",
                 c->der_len - used);
        c->parse_error = strdup(tmp);
        if (c->parse_error == NULL)
            return TI_ENOMEM;
    }

    c->subject = name_string(X509_get_subject_name(x), &oom);
    c->issuer = name_string(X509_get_issuer_name(x), &oom);
    c->cn = first_cn(X509_get_subject_name(x), &oom);
    fill_sans(c, x, &oom);
    fill_key(c, x);

    X509_get0_signature(NULL, &alg, x);
    X509_ALGOR_get0(&alg_obj, NULL, NULL, alg);
    if (alg_obj != NULL) {
        obj_name(alg_obj, true, tmp, sizeof(tmp));
        c->signature_algorithm = strdup(tmp);
        if (c->signature_algorithm == NULL)
            oom = true;
    }
    c->not_before = asn1_time_secs(X509_get0_notBefore(x));
    c->not_after = asn1_time_secs(X509_get0_notAfter(x));
    c->serial = serial_hex(x, &oom);

    id = X509_get0_subject_key_id(x);
    if (id != NULL)
        c->ski = octets_hex(id, &oom);
    id = X509_get0_authority_key_id(x);
    if (id != NULL)
        c->aki = octets_hex(id, &oom);

    bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    c->is_ca = bc != NULL && bc->ca;
    BASIC_CONSTRAINTS_free(bc);

    /* SPEC: self-signed = subject equals issuer AND the signature verifies
     * with the certificate's own key.  (X509_check_issued would also demand
     * keyCertSign, which self-signed tomcat certificates may lack.) */
    pk = X509_get0_pubkey(x);
    c->self_signed = pk != NULL &&
        X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0 &&
        X509_verify(x, pk) == 1;
    ERR_clear_error();
    return oom ? TI_ENOMEM : TI_OK;
}

static void cert_free(struct x509_cert *c)
{
    if (c == NULL)
        return;
    free(c->der);
    free(c->parse_error);
    free(c->subject);
    free(c->issuer);
    free(c->cn);
    for (size_t i = 0; i < c->n_san; i++)
        free(c->san[i]);
    free(c->signature_algorithm);
    free(c->serial);
    free(c->ski);
    free(c->aki);
    X509_free(c->x509);
    free(c);
}

static int pool_grow(struct x509_pool *pool)
{
    size_t n = pool->n_slots * 2;
    struct x509_cert **slots = calloc(n, sizeof(*slots));
    uint64_t *hashes = calloc(n, sizeof(*hashes));

    if (slots == NULL || hashes == NULL) {
        free(slots);
        free(hashes);
        return TI_ENOMEM;
    }
    for (size_t i = 0; i < pool->n_slots; i++) {
        struct x509_cert *c = pool->slots[i];
        size_t j;
        if (c == NULL)
            continue;
        j = (size_t)pool->hashes[i] & (n - 1);
        while (slots[j] != NULL)
            j = (j + 1) & (n - 1);
        slots[j] = c;
        hashes[j] = pool->hashes[i];
    }
    free(pool->slots);
    free(pool->hashes);
    pool->slots = slots;
    pool->hashes = hashes;
    pool->n_slots = n;
    return TI_OK;
}

const struct x509_cert *x509_intern(struct x509_pool *pool, const uint8_t *der, size_t len)
{
    uint8_t sha[32];
    struct x509_cert *c;
    uint64_t h;
    size_t j;

    if (pool == NULL || (der == NULL && len > 0))
        return NULL;
    h = ti_hash_bytes(der, len);
    j = (size_t)h & (pool->n_slots - 1);
    while (pool->slots[j] != NULL) {
        if (pool->hashes[j] == h && der_equal(pool->slots[j], der, len))
            return pool->slots[j];
        j = (j + 1) & (pool->n_slots - 1);
    }
    if (pool->n_certs >= X509_POOL_MAX_CERTS)
        return NULL;
    if (digest(pool, der, len, sha) != TI_OK)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->der = malloc(len > 0 ? len : 1);
    if (c->der == NULL) {
        free(c);
        return NULL;
    }
    if (len > 0)
        memcpy(c->der, der, len);
    c->der_len = len;
    memcpy(c->sha256, sha, sizeof(sha));
    hex_encode(sha, sizeof(sha), c->sha256_hex);
    if (cert_fill(c) != TI_OK) {
        cert_free(c);
        ERR_clear_error();
        return NULL;
    }
    ERR_clear_error();

    if ((pool->n_certs + 1) * 2 > pool->n_slots && pool_grow(pool) != TI_OK) {
        cert_free(c);
        return NULL;
    }
    j = (size_t)h & (pool->n_slots - 1);
    while (pool->slots[j] != NULL)
        j = (j + 1) & (pool->n_slots - 1);
    pool->slots[j] = c;
    pool->hashes[j] = h;
    pool->n_certs++;
    return c;
}

/* ---- trust stores (loaded by x509_trust.c) --------------------------------- */

/* A warning kept for x509_pool_warnings() (x509_int.h). */
void x509_pool_warn(struct x509_pool *pool, const char *fmt, ...)
{
    va_list ap;
    char *m = NULL;

    if (pool->n_warnings >= X509_POOL_MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    if (vasprintf(&m, fmt, ap) < 0)
        m = NULL;
    va_end(ap);
    if (m != NULL)
        pool->warnings[pool->n_warnings++] = m;
}

int x509_pool_new(struct x509_pool **out, const struct x509_trust_opts *opts,
                  char *errbuf, size_t errlen)
{
    struct x509_pool *pool;
    int rc = TI_OK;

    if (out == NULL)
        return TI_EUSAGE;
    *out = NULL;
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return TI_ENOMEM;
    pool->n_slots = X509_POOL_INIT_SLOTS;
    pool->slots = calloc(pool->n_slots, sizeof(*pool->slots));
    pool->hashes = calloc(pool->n_slots, sizeof(*pool->hashes));
    pool->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    pool->md = EVP_MD_CTX_new();
    pool->generation = 1;
    if (pool->slots == NULL || pool->hashes == NULL || pool->sha256 == NULL || pool->md == NULL) {
        x509_set_err(errbuf, errlen, "x509", "out of memory");
        rc = TI_ENOMEM;
        goto fail;
    }
    if (opts != NULL && (opts->cafile != NULL || opts->capath != NULL)) {
        pool->store[X509_ROLE_SERVER] = X509_STORE_new();
        if (pool->store[X509_ROLE_SERVER] == NULL) {
            rc = TI_ENOMEM;
            goto fail;
        }
        if (opts->cafile != NULL)
            rc = x509_trust_file(pool, pool->store[X509_ROLE_SERVER], "--cafile", opts->cafile,
                                 &pool->trust_info[X509_TRUST_CAFILE], errbuf, errlen);
        if (rc == TI_OK && opts->capath != NULL)
            rc = x509_trust_dir(pool, pool->store[X509_ROLE_SERVER], opts->capath,
                                &pool->trust_info[X509_TRUST_CAPATH], errbuf, errlen);
        if (rc != TI_OK)
            goto fail;
    }
    if (opts != NULL && opts->client_cafile != NULL) {
        pool->store[X509_ROLE_CLIENT] = X509_STORE_new();
        if (pool->store[X509_ROLE_CLIENT] == NULL) {
            rc = TI_ENOMEM;
            goto fail;
        }
        rc = x509_trust_file(pool, pool->store[X509_ROLE_CLIENT], "--client-cafile", opts->client_cafile,
                             &pool->trust_info[X509_TRUST_CLIENT_CAFILE], errbuf, errlen);
        if (rc != TI_OK)
            goto fail;
    }
    ERR_clear_error();
    *out = pool;
    return TI_OK;
fail:
    ERR_clear_error();
    x509_pool_free(pool);
    return rc;
}

static void vcache_clear(struct x509_pool *pool)
{
    if (pool->vslots == NULL)
        return;
    for (size_t i = 0; i < X509_VCACHE_SLOTS; i++) {
        free(pool->vslots[i]);
        pool->vslots[i] = NULL;
    }
    pool->n_verdicts = 0;
}

const struct x509_trust_info *x509_trust_info(const struct x509_pool *pool,
                                              enum x509_trust_src src)
{
    static const struct x509_trust_info none;   /* read-only */
    return pool != NULL && (unsigned)src < X509_TRUST_NSRC ? &pool->trust_info[src] : &none;
}

size_t x509_pool_warnings(const struct x509_pool *pool, const char *const **out)
{
    *out = (const char *const *)pool->warnings;
    return pool->n_warnings;
}

void x509_pool_free(struct x509_pool *pool)
{
    if (pool == NULL)
        return;
    for (size_t i = 0; i < pool->n_warnings; i++)
        free(pool->warnings[i]);
    if (pool->slots != NULL) {
        for (size_t i = 0; i < pool->n_slots; i++)
            cert_free(pool->slots[i]);
        free(pool->slots);
    }
    free(pool->hashes);
    vcache_clear(pool);
    free(pool->vslots);
    X509_STORE_free(pool->store[X509_ROLE_SERVER]);
    X509_STORE_free(pool->store[X509_ROLE_CLIENT]);
    EVP_MD_CTX_free(pool->md);
    EVP_MD_free(pool->sha256);
    while (pool->strs != NULL) {
        struct x509_pool_str *next = pool->strs->next;
        free(pool->strs);
        pool->strs = next;
    }
    free(pool);
}

/* A copy of s[0, n) that lives as long as the pool; NULL without memory. */
static const char *pool_str(struct x509_pool *pool, const char *s, size_t n)
{
    struct x509_pool_str *e = malloc(sizeof(*e) + n + 1);

    if (e == NULL)
        return NULL;
    memcpy(e->s, s, n);
    e->s[n] = '\0';
    e->next = pool->strs;
    pool->strs = e;
    return e->s;
}

/* ---- verification ---------------------------------------------------------- */

static const char *const x509_chain_names[] = {
    [X509_CHAIN_NOT_CHECKED] = "not_checked",
    [X509_CHAIN_OK] = "ok",
    [X509_CHAIN_SELF_SIGNED] = "self_signed",
    [X509_CHAIN_SELF_SIGNED_IN_CHAIN] = "self_signed_in_chain",
    [X509_CHAIN_UNKNOWN_ISSUER] = "unknown_issuer",
    [X509_CHAIN_EXPIRED] = "expired",
    [X509_CHAIN_NOT_YET_VALID] = "not_yet_valid",
    [X509_CHAIN_BAD_SIGNATURE] = "bad_signature",
    [X509_CHAIN_NO_CERTIFICATE] = "no_certificate",
    [X509_CHAIN_OTHER] = "other",
};

const char *x509_chain_result_name(enum x509_chain_result r)
{
    if ((unsigned)r < sizeof(x509_chain_names) / sizeof(x509_chain_names[0]) &&
        x509_chain_names[r] != NULL)
        return x509_chain_names[r];
    return "other";
}

static const char *const x509_source_names[] = {
    [X509_NAME_FROM_OPTION] = "option",
    [X509_NAME_FROM_SNI] = "sni",
    [X509_NAME_FROM_SERVER_IP] = "server_ip",
    [X509_NAME_FROM_LOG] = "log",
};

const char *x509_name_source_name(enum x509_name_source s)
{
    if ((unsigned)s < sizeof(x509_source_names) / sizeof(x509_source_names[0]))
        return x509_source_names[s];
    return "option";
}

/* OpenSSL verify codes to results, as the Expressway traffic server words them. */
static const struct { int code; enum x509_chain_result result; } x509_codes[] = {
    { X509_V_OK,                                  X509_CHAIN_OK },
    { X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,     X509_CHAIN_SELF_SIGNED },
    { X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,       X509_CHAIN_SELF_SIGNED_IN_CHAIN },
    { X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,       X509_CHAIN_UNKNOWN_ISSUER },
    { X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_CHAIN_UNKNOWN_ISSUER },
    { X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_CHAIN_UNKNOWN_ISSUER },
    { X509_V_ERR_CERT_HAS_EXPIRED,                X509_CHAIN_EXPIRED },
    { X509_V_ERR_CERT_NOT_YET_VALID,              X509_CHAIN_NOT_YET_VALID },
    { X509_V_ERR_CERT_SIGNATURE_FAILURE,          X509_CHAIN_BAD_SIGNATURE },
    { X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE, X509_CHAIN_BAD_SIGNATURE },
};

static enum x509_chain_result classify(int code)
{
    for (size_t i = 0; i < sizeof(x509_codes) / sizeof(x509_codes[0]); i++) {
        if (x509_codes[i].code == code)
            return x509_codes[i].result;
    }
    return X509_CHAIN_OTHER;
}

static void verify_chain(X509_STORE *store, const struct x509_cert *const *chain, size_t n,
                         int64_t at, bool client, struct x509_verdict *out)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rv = -1, code = X509_V_ERR_UNSPECIFIED, depth = 0;

    if (untrusted == NULL || ctx == NULL)
        goto done;
    for (size_t i = 1; i < n; i++) {
        /* an undecodable intermediate is treated as absent; the stack
         * borrows the pool's X509 objects (freed with sk_X509_free) */
        if (chain[i]->parsed && sk_X509_push(untrusted, chain[i]->x509) <= 0)
            goto done;
    }
    if (X509_STORE_CTX_init(ctx, store, chain[0]->x509, untrusted) != 1)
        goto done;
    X509_STORE_CTX_set_purpose(ctx, client ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
    /* judge the chain as of the handshake, not today (SPEC: --at capture);
     * no X509_V_FLAG_PARTIAL_CHAIN: the chain must reach a trusted root,
     * as on the Expressway (a trusted self-signed leaf is such a root) */
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)at);
    rv = X509_verify_cert(ctx);
    code = X509_STORE_CTX_get_error(ctx);
    depth = X509_STORE_CTX_get_error_depth(ctx);
done:
    if (rv == 1) {
        out->result = X509_CHAIN_OK;
        out->openssl_code = X509_V_OK;
        out->depth = 0;
    } else {
        if (code == X509_V_OK)      /* internal failure without a verify code */
            code = X509_V_ERR_UNSPECIFIED;
        out->result = classify(code);
        out->openssl_code = code;
        out->depth = depth < 0 ? 0 : depth;
    }
    /* static text for every code in OpenSSL 3 ("unknown certificate
     * verification error" for codes it does not know) */
    out->openssl_error = X509_verify_cert_error_string(out->openssl_code);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    ERR_clear_error();
}

static bool has_dns_san(X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    bool dns = false;

    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        if (sk_GENERAL_NAME_value(gens, i)->type == GEN_DNS) {
            dns = true;
            break;
        }
    }
    GENERAL_NAMES_free(gens);
    return dns;
}

/* RFC 6125 via OpenSSL: DNS SANs with wildcards, CN only when there is no
 * DNS SAN; IP literals only against IP SANs (never the CN). */
static int verify_name(struct x509_pool *pool, const struct x509_cert *leaf, const char *name,
                       struct x509_verdict *out)
{
    uint8_t addr[16];
    char text[64];
    struct x509_sb sb;
    X509 *x = leaf->x509;

    out->name_checked = true;
    out->name_ok = false;
    out->matched = NULL;
    if (!leaf->parsed)
        return TI_OK;
    sb_init(&sb);
    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1) {
        if (X509_check_ip_asc(x, name, 0) == 1) {
            int af = strchr(name, ':') != NULL ? AF_INET6 : AF_INET;
            out->name_ok = true;
            sb_puts(&sb, "IP:");
            /* normalised ("2001:DB8:0::1" -> "2001:db8::1"), as the SAN prints */
            sb_puts(&sb, inet_ntop(af, addr, text, sizeof(text)) != NULL ? text : name);
        }
    } else {
        char *peer = NULL;
        if (X509_check_host(x, name, 0, 0, &peer) == 1) {
            out->name_ok = true;
            sb_puts(&sb, has_dns_san(x) ? "DNS:" : "CN:");
            sb_puts(&sb, peer != NULL ? peer : name);
        }
        OPENSSL_free(peer);
    }
    sb_trim_utf8(&sb);
    ERR_clear_error();
    if (sb.len == 0)
        return TI_OK;
    /* A matched name is a host name or an address: it fits; cut defensively. */
    out->matched = pool_str(pool, sb.buf, sb.len < X509_MATCHED_MAX - 1 ? sb.len
                                                                       : X509_MATCHED_MAX - 1);
    return out->matched != NULL ? TI_OK : TI_ENOMEM;
}

/* The verdict cache's key: everything a verdict depends on, in bytes --
 * chain length, name length, day, trust store generation, role, each
 * certificate's SHA-256 in order, the name.  Kept whole in the entry and
 * compared on a hit, so the hash below only spreads keys over the slots.
 * Not a SHA-256 of these bytes: a digest through EVP costs far more than
 * the comparison, and it would run twice per connection. */
#define VKEY_STACK 512

struct vkey {
    uint8_t *b;                    /* stack, or malloc'd for long chains/names */
    size_t len;
    uint64_t hash;
    uint8_t stack[VKEY_STACK];
};

static void put_be64(uint8_t *p, uint64_t v)
{
    for (size_t b = 0; b < 8; b++)
        p[b] = (uint8_t)(v >> (56 - 8 * b));
}


static int vkey_make(struct vkey *k, const struct x509_pool *pool,
                     const struct x509_cert *const *chain, size_t n, int64_t at,
                     const char *name, bool client)
{
    int64_t day = at / X509_SECS_PER_DAY;
    size_t name_len = name != NULL ? strlen(name) : 0;
    uint8_t *o;

    if (at % X509_SECS_PER_DAY < 0)
        day--;                      /* floor for times before 1970 */
    if (n > (SIZE_MAX - 33 - name_len) / 32)
        return TI_ENOMEM;
    k->len = 33 + n * 32 + name_len;
    k->b = k->len <= sizeof(k->stack) ? k->stack : malloc(k->len);
    if (k->b == NULL)
        return TI_ENOMEM;
    o = k->b;
    put_be64(o, (uint64_t)n);
    put_be64(o + 8, (uint64_t)name_len);
    put_be64(o + 16, (uint64_t)day);
    put_be64(o + 24, pool->generation);
    o[32] = client ? 1 : 0;
    o += 33;
    for (size_t i = 0; i < n; i++, o += 32)
        memcpy(o, chain[i]->sha256, 32);
    if (name_len > 0)
        memcpy(o, name, name_len);
    k->hash = ti_hash_bytes(k->b, k->len);
    return TI_OK;
}

static void vkey_done(struct vkey *k)
{
    if (k->b != k->stack)
        free(k->b);
    k->b = NULL;
}

static const struct x509_verdict *vcache_find(const struct x509_pool *pool, const struct vkey *k)
{
    size_t j;

    if (pool->vslots == NULL)
        return NULL;
    j = (size_t)k->hash & (X509_VCACHE_SLOTS - 1);
    while (pool->vslots[j] != NULL) {
        const struct x509_vcache_entry *e = pool->vslots[j];
        if (e->hash == k->hash && e->key_len == k->len && memcmp(e->key, k->b, k->len) == 0)
            return &e->verdict;
        j = (j + 1) & (X509_VCACHE_SLOTS - 1);
    }
    return NULL;
}

/* Remember a verdict; when X509_VERIFY_CACHE_MAX verdicts are held the
 * cache is emptied first (bounded memory; a capture rarely has that many
 * distinct chain/name/day combinations). */
static void vcache_put(struct x509_pool *pool, const struct vkey *k, const struct x509_verdict *v)
{
    struct x509_vcache_entry *e;
    size_t j;

    if (pool->vslots == NULL) {
        pool->vslots = calloc(X509_VCACHE_SLOTS, sizeof(*pool->vslots));
        if (pool->vslots == NULL)
            return;                 /* no cache: every call verifies */
    }
    if (pool->n_verdicts >= X509_VERIFY_CACHE_MAX)
        vcache_clear(pool);
    e = malloc(sizeof(*e) + k->len);
    if (e == NULL)
        return;
    e->hash = k->hash;
    e->key_len = k->len;
    memcpy(e->key, k->b, k->len);
    e->verdict = *v;
    j = (size_t)k->hash & (X509_VCACHE_SLOTS - 1);
    while (pool->vslots[j] != NULL)
        j = (j + 1) & (X509_VCACHE_SLOTS - 1);
    pool->vslots[j] = e;
    pool->n_verdicts++;
}

int x509_verify(struct x509_pool *pool, const struct x509_cert *const *chain,
                size_t n, int64_t at, const char *expected_name, bool client,
                struct x509_verdict *out)
{
    const char *name = expected_name != NULL && expected_name[0] != '\0' ? expected_name : NULL;
    const struct x509_verdict *hit;
    X509_STORE *store;
    struct vkey key;
    int rc;

    if (pool == NULL || out == NULL || (n > 0 && chain == NULL))
        return TI_EUSAGE;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        if (chain[i] == NULL)
            return TI_EUSAGE;
    }
    if (n == 0) {
        out->result = X509_CHAIN_NO_CERTIFICATE;
        out->openssl_error = "no certificate";
        return TI_OK;
    }
    rc = vkey_make(&key, pool, chain, n, at, name, client);
    if (rc != TI_OK)
        return rc;
    hit = vcache_find(pool, &key);
    if (hit != NULL) {
        *out = *hit;
        vkey_done(&key);
        return TI_OK;
    }

    store = pool->store[client ? X509_ROLE_CLIENT : X509_ROLE_SERVER];
    if (store == NULL) {
        out->result = X509_CHAIN_NOT_CHECKED;
    } else if (!chain[0]->parsed) {
        out->result = X509_CHAIN_OTHER;
        out->openssl_code = X509_V_ERR_UNSPECIFIED;
        out->openssl_error = "certificate could not be decoded";
    } else {
        verify_chain(store, chain, n, at, client, out);
    }
    if (name != NULL && (rc = verify_name(pool, chain[0], name, out)) != TI_OK) {
        vkey_done(&key);
        return rc;
    }
    pool->n_verify++;
    vcache_put(pool, &key, out);
    vkey_done(&key);
    return TI_OK;
}

uint64_t x509_verify_count(const struct x509_pool *pool)
{
    return pool != NULL ? pool->n_verify : 0;
}

size_t x509_pool_size(const struct x509_pool *pool)
{
    return pool != NULL ? pool->n_certs : 0;
}

bool x509_have_trust(const struct x509_pool *pool, bool client)
{
    return pool != NULL && pool->store[client ? X509_ROLE_CLIENT : X509_ROLE_SERVER] != NULL;
}

size_t x509_trust_certs(struct x509_pool *pool, const struct x509_cert **out, size_t max)
{
    X509_STORE *st = pool != NULL ? pool->store[X509_ROLE_SERVER] : NULL;
    STACK_OF(X509_OBJECT) *objs;
    size_t n = 0;

    if (st == NULL)
        return 0;
    objs = X509_STORE_get0_objects(st);
    for (int i = 0; i < sk_X509_OBJECT_num(objs) && n < max; i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        unsigned char *der = NULL;
        int len;
        const struct x509_cert *c;

        if (x == NULL || (len = i2d_X509(x, &der)) <= 0)
            continue;   /* a CRL, or a certificate OpenSSL cannot encode */
        c = x509_intern(pool, der, (size_t)len);
        OPENSSL_free(der);
        if (c != NULL && c->parsed)
            out[n++] = c;
    }
    return n;
}
