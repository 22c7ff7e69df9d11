/* infer_chain.c - TLS 1.3 without keys: the known chain the encrypted
 * server flight's size fits (infer_chain.h).
 *
 * The server's flight after its ServerHello is EncryptedExtensions, maybe
 * a CertificateRequest, Certificate, CertificateVerify and Finished.  Two
 * ways to read it:
 *   - one message a record (OpenSSL, and the stacks CUCM and the
 *     Expressway use): the last record is exactly a Finished, the one before
 *     it the CertificateVerify, and the records between EncryptedExtensions
 *     (and a CertificateRequest, when sent) and the CertificateVerify are
 *     the Certificate message, split over records when over 2^14 bytes.  Its
 *     size is known to the byte: a candidate matches exactly, and its key
 *     must give a signature of the CertificateVerify's size;
 *   - one message a record, padded to a block (RFC 8446 5.4; every
 *     record's inner length a multiple of it): each message's size is known
 *     to within the block, and a candidate must fill the Certificate and
 *     CertificateVerify records to their padded lengths;
 *   - anything else (messages coalesced): only the flight's total is known.  A candidate fits when the total leaves between
 *     ROOM_MIN and ROOM_MAX bytes for EncryptedExtensions, a
 *     CertificateRequest and padding once its Certificate message, a
 *     CertificateVerify for its key and the Finished are taken out.
 * Either way a match counts only when a single leaf fits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlsinspect/err.h"
#include "tlsinspect/infer_chain.h"

#define TLS13_SUITE_SHA384 0x1302   /* TLS_AES_256_GCM_SHA384: a 48-byte Finished */
#define TLS13_SUITE_CCM_8 0x1305    /* TLS_AES_128_CCM_8_SHA256: an 8-byte tag */
#define ROOM_MIN 6                  /* the smallest EncryptedExtensions: header + empty list */
#define ROOM_MAX 1024               /* EncryptedExtensions + CertificateRequest + padding */
#define CV_FIXED 8                  /* CertificateVerify: header(4), scheme(2), length(2) */
#define TRUST_SCAN_MAX 1024         /* trust store certificates examined */
#define PAD_BLOCK_MIN 16            /* padding blocks looked for, powers of two */
#define PAD_BLOCK_MAX 256

struct cand {
    const struct x509_cert *chain[INFER_CHAIN_MAX_LEN];
    uint8_t n;
    uint8_t src;                    /* enum infer_chain_source */
    struct conn_endpoint server;    /* INFER_SRC_SEEN: who presented it */
    int64_t ts;                     /* ... and when */
};

struct infer_chains {
    struct cand trust[INFER_CHAIN_MAX_CANDS];
    size_t n_trust;
    struct cand seen[INFER_CHAIN_MAX_SEEN];
    size_t n_seen;
};

const char *infer_chain_source_name(uint8_t src)
{
    return src == INFER_SRC_CAFILE ? "cafile" : src == INFER_SRC_SEEN ? "seen" : NULL;
}

static bool same_endpoint(const struct conn_endpoint *a, const struct conn_endpoint *b)
{
    return a->ipver == b->ipver && a->port == b->port && memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

/* The store's issuer of c, when it holds one that is not self-signed. */
static const struct x509_cert *store_issuer(const struct x509_cert *const *v, size_t n,
                                            const struct x509_cert *c)
{
    for (size_t i = 0; i < n && c->issuer != NULL; i++)
        if (v[i] != c && !v[i]->self_signed && v[i]->subject != NULL &&
            strcmp(v[i]->subject, c->issuer) == 0)
            return v[i];
    return NULL;
}

/* Self-signed certificates alone, and leaves with the issuers the store
 * holds below its roots (a server sends its chain without the root). */
static void load_trust(struct infer_chains *t, const struct x509_cert *const *v, size_t n)
{
    for (size_t i = 0; i < n && t->n_trust < INFER_CHAIN_MAX_CANDS; i++) {
        struct cand *k = &t->trust[t->n_trust];
        const struct x509_cert *c = v[i];

        if (!c->self_signed && c->is_ca)
            continue;   /* an intermediate: part of a leaf's chain, not a chain */
        memset(k, 0, sizeof(*k));
        k->src = INFER_SRC_CAFILE;
        k->chain[k->n++] = c;
        while (!c->self_signed && k->n < INFER_CHAIN_MAX_LEN &&
               (c = store_issuer(v, n, c)) != NULL)
            k->chain[k->n++] = c;
        t->n_trust++;
    }
}

int infer_chains_new(struct infer_chains **out, struct x509_pool *pool)
{
    struct infer_chains *t = calloc(1, sizeof(*t));
    const struct x509_cert **v;
    size_t n;

    *out = NULL;
    if (t == NULL)
        return TI_ENOMEM;
    v = calloc(TRUST_SCAN_MAX, sizeof(*v));
    if (v == NULL) {
        free(t);
        return TI_ENOMEM;
    }
    n = x509_trust_certs(pool, v, TRUST_SCAN_MAX);
    load_trust(t, v, n);
    free(v);
    *out = t;
    return TI_OK;
}

void infer_chains_free(struct infer_chains *t)
{
    free(t);
}

void infer_chains_note(struct infer_chains *t, const struct conn_endpoint *server,
                       const struct conn *c, int64_t ts)
{
    size_t n = c->n_server_certs;
    struct cand *k;

    if (t == NULL || n == 0 || n > INFER_CHAIN_MAX_LEN || c->server_certs_truncated ||
        c->server_certs[0] == NULL || !c->server_certs[0]->parsed)
        return;
    for (size_t i = 0; i < t->n_seen; i++) {
        k = &t->seen[i];
        if (k->n == n && same_endpoint(&k->server, server) &&
            memcmp(k->chain, c->server_certs, n * sizeof(k->chain[0])) == 0)
            return;   /* interned: the same bytes are the same pointer */
    }
    if (t->n_seen >= INFER_CHAIN_MAX_SEEN)
        return;
    k = &t->seen[t->n_seen++];
    memset(k, 0, sizeof(*k));
    k->src = INFER_SRC_SEEN;
    k->server = *server;
    k->ts = ts;
    k->n = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        if ((k->chain[i] = c->server_certs[i]) == NULL)
            k->n = (uint8_t)i;   /* cannot happen with a parsed chain; keep what is there */
}

/* ---- sizes ------------------------------------------------------------------ */

/* RFC 8446 4.4.2 with an empty request context and no per-certificate
 * extensions (OCSP stapling or SCTs would add to it). */
static uint64_t cert_msg13(const struct cand *k)
{
    uint64_t n = 4 + 1 + 3;

    for (size_t i = 0; i < k->n; i++)
        n += 3 + (uint64_t)k->chain[i]->der_len + 2;
    return n;
}

/* The signature sizes the leaf's key makes: RSA its modulus, ECDSA a DER
 * pair of integers of the field size give or take a byte, EdDSA fixed. */
static bool sig_range(const struct x509_cert *leaf, unsigned *lo, unsigned *hi)
{
    unsigned bits = 0;

    if (strcmp(leaf->key_type, "RSA") == 0 || strcmp(leaf->key_type, "RSA-PSS") == 0) {
        if (sscanf(leaf->key + strlen(leaf->key_type), " %u", &bits) != 1 || bits < 512 ||
            bits > 16384)
            return false;
        *lo = *hi = (bits + 7) / 8;
        return true;
    }
    if (strcmp(leaf->key_type, "EC") == 0) {
        if (sscanf(leaf->key, "EC P-%u", &bits) != 1 && sscanf(leaf->key, "EC %u", &bits) != 1)
            return false;
        if (bits < 160 || bits > 571)
            return false;
        unsigned f = (bits + 7) / 8, min = 2 * (2 + f - 2), max = 2 * (2 + f + 1);
        *lo = min + (min < 128 ? 2 : 3);
        *hi = max + (max < 128 ? 2 : 3);
        return true;
    }
    if (strcmp(leaf->key_type, "Ed25519") == 0)
        return (*lo = *hi = 64), true;
    if (strcmp(leaf->key_type, "Ed448") == 0)
        return (*lo = *hi = 114), true;
    return false;
}

/* What the wire shows of the server flight, inner plaintext per record
 * (the content type byte and the tag taken out). */
struct flight {
    uint32_t p[32];
    size_t n;
    uint64_t total;
    bool exact;                     /* one message a record */
    unsigned pad;                   /* one message a record padded to this block; 0: none */
    unsigned fin;                   /* Finished message bytes */
};

/* The largest block every record's inner plaintext (content type and
 * padding included) is a multiple of, when the Finished fits it: the
 * flight is padded to it.  An unpadded flight of four or more records
 * lands on a common multiple of 16 by chance once in 65536. */
static unsigned padding_block(const uint32_t *inner, size_t n, unsigned fin)
{
    for (unsigned b = PAD_BLOCK_MAX; b >= PAD_BLOCK_MIN; b /= 2) {
        size_t i = 0;
        while (i < n && inner[i] % b == 0)
            i++;
        if (i == n)
            return (fin + 1 + b - 1) / b * b == inner[n - 1] ? b : 0;
    }
    return 0;
}

static bool read_flight(const struct conn *c, const uint16_t *lens, size_t n, struct flight *f)
{
    unsigned tag = c->sh.suite == TLS13_SUITE_CCM_8 ? 8 : 16;

    memset(f, 0, sizeof(*f));
    if (n < 2 || n > sizeof(f->p) / sizeof(f->p[0]))
        return false;
    f->fin = 4 + (c->sh.suite == TLS13_SUITE_SHA384 ? 48 : 32);
    for (size_t i = 0; i < n; i++) {
        if (lens[i] < tag + 1)
            return false;
        f->p[i] = lens[i] - tag - 1;
        f->total += f->p[i];
    }
    f->n = n;
    f->exact = n >= 4 && f->p[n - 1] == f->fin;
    if (!f->exact && n >= 4) {
        uint32_t inner[32];
        for (size_t i = 0; i < n; i++)
            inner[i] = f->p[i] + 1;
        f->pad = padding_block(inner, n, f->fin);
    }
    return true;
}

/* Padded flight: the candidate's CertificateVerify and Certificate, padded,
 * make the records seen (each record holds its message, a content type
 * byte and fewer than `pad` bytes of padding). */
static bool padded_fits(const struct flight *f, uint64_t msg, unsigned lo, unsigned hi,
                        uint32_t *room)
{
    uint32_t cv = f->p[f->n - 2];

    if (cv < CV_FIXED + lo || cv >= CV_FIXED + hi + f->pad)
        return false;
    for (size_t first = 1; first <= 2 && first + 2 < f->n; first++) {
        uint64_t obs = 0, k = 0;
        for (size_t i = first; i + 2 < f->n; i++, k++)
            obs += f->p[i];
        if (msg <= obs && msg + k * f->pad > obs) {
            *room = (uint32_t)(obs - msg);
            return true;
        }
    }
    return false;
}

struct fit {
    const struct cand *k;
    uint32_t msg;                   /* its Certificate message */
    uint32_t room;                  /* total layout: bytes left over (at the largest signature) */
};

/* Whether candidate k fits the flight; fills *out. */
static bool cand_fits(const struct flight *f, const struct cand *k, struct fit *out)
{
    unsigned lo, hi;
    uint64_t msg = cert_msg13(k);

    if (k->n == 0 || !k->chain[0]->parsed || !sig_range(k->chain[0], &lo, &hi) ||
        msg > 0xffffff)
        return false;
    out->k = k;
    out->msg = (uint32_t)msg;
    out->room = 0;
    if (f->exact) {
        uint32_t cv = f->p[f->n - 2];
        if (cv < CV_FIXED + lo || cv > CV_FIXED + hi)
            return false;
        for (size_t first = 1; first <= 2 && first + 2 < f->n; first++) {
            uint64_t obs = 0;
            for (size_t i = first; i + 2 < f->n; i++)
                obs += f->p[i];
            if (obs == msg)
                return true;
        }
        return false;
    }
    if (f->pad != 0)
        return padded_fits(f, msg, lo, hi, &out->room);
    uint64_t base = msg + f->fin + CV_FIXED;
    if (f->total < base + lo + ROOM_MIN || f->total > base + hi + ROOM_MAX)
        return false;
    out->room = f->total >= base + hi ? (uint32_t)(f->total - base - hi) : 0;
    return true;
}

/* Keep the single fitting leaf; a second distinct leaf makes it ambiguous.
 * The same leaf seen from this server beats the trust store's copy. */
static void consider(const struct flight *f, const struct cand *k, struct fit *best, int *nbest)
{
    struct fit cur;

    if (*nbest < 0 || !cand_fits(f, k, &cur))
        return;
    if (*nbest == 0) {
        *best = cur;
        *nbest = 1;
    } else if (best->k->chain[0] != k->chain[0] || best->msg != cur.msg) {
        *nbest = -1;
    } else if (k->src == INFER_SRC_SEEN && best->k->src != INFER_SRC_SEEN) {
        *best = cur;
    }
}

void infer_chain_match(const struct infer_chains *t, struct conn *c, const uint16_t *lens,
                       size_t n)
{
    struct flight f;
    struct fit best = {0};
    int nbest = 0;

    if (t == NULL || !c->tls13 || c->keys_used || c->n_server_certs > 0 || !c->sh.present ||
        !read_flight(c, lens, n, &f))
        return;
    for (size_t i = 0; i < t->n_trust; i++)
        consider(&f, &t->trust[i], &best, &nbest);
    for (size_t i = 0; i < t->n_seen; i++)
        if (same_endpoint(&t->seen[i].server, &c->server))
            consider(&f, &t->seen[i], &best, &nbest);
    if (nbest != 1)
        return;
    const struct x509_cert *leaf = best.k->chain[0];
    c->inferred_leaf = leaf;
    c->inferred_chain_source = best.k->src;
    c->inferred_chain_certs = best.k->n;
    c->inferred_chain_exact = f.exact;
    c->inferred_cert_msg = best.msg;
    c->inferred_chain_room = best.room;
    c->inferred_chain_seen_ts = best.k->src == INFER_SRC_SEEN ? best.k->ts : 0;
    if (c->inferred_server_key == KEY_GUESS_NONE)
        c->inferred_server_key = strcmp(leaf->key_type, "EC") == 0 ? KEY_GUESS_EC
                                 : strncmp(leaf->key_type, "RSA", 3) == 0 ? KEY_GUESS_RSA
                                                                         : KEY_GUESS_NONE;
}

/* ---- words ------------------------------------------------------------------ */

/* "the self-signed EC P-384 chain of cucm-EC.steven.lab (1 certificate) from
 * the trust store" */
void infer_chain_words(const struct conn *c, char *buf, size_t len)
{
    const struct x509_cert *leaf = c->inferred_leaf;
    const char *name = leaf->cn != NULL ? leaf->cn : leaf->subject != NULL ? leaf->subject : "?";
    char from[160];

    if (len == 0)
        return;
    if (leaf == NULL) {
        buf[0] = '\0';
        return;
    }
    if (c->inferred_chain_source == INFER_SRC_SEEN) {
        char when[32] = "earlier";
        char ip[64];
        time_t secs = (time_t)(c->inferred_chain_seen_ts / 1000000);
        struct tm tm;
        if (gmtime_r(&secs, &tm) != NULL)
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(from, sizeof(from), "that %s%s%s:%u presented in a readable handshake at %s",
                 c->server.ipver == 6 ? "[" : "", conn_ip_str(&c->server, ip, sizeof(ip)),
                 c->server.ipver == 6 ? "]" : "", (unsigned)c->server.port, when);
    } else {
        snprintf(from, sizeof(from), "from the trust store (--cafile/--capath)");
    }
    snprintf(buf, len, "the %s%s chain of %.200s (%u certificate%s) %s",
             leaf->self_signed ? "self-signed " : "", leaf->key, name,
             (unsigned)c->inferred_chain_certs, c->inferred_chain_certs == 1 ? "" : "s", from);
}

char *infer_key_basis(const struct conn *c, const char *chain_words, char *buf, size_t len)
{
    bool rsa = c->inferred_server_key == KEY_GUESS_RSA;

    if (c->inferred_server_key == KEY_GUESS_NONE)
        snprintf(buf, len, "%s", "");
    else if (c->inferred_sig_len > 0)
        snprintf(buf, len, "the encrypted CertificateVerify record is %u bytes, a %u-byte %s signature",
                 (unsigned)c->inferred_cv_record, (unsigned)c->inferred_sig_len,
                 rsa ? "RSA" : "ECDSA");
    else
        snprintf(buf, len, "%s", chain_words);
    return buf;
}

char *infer_chain_basis(const struct conn *c, char *buf, size_t len)
{
    char chain[512];

    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (c->inferred_leaf == NULL)
        return buf;
    infer_chain_words(c, chain, sizeof(chain));
    if (c->inferred_chain_exact)
        snprintf(buf, len, "by size: the encrypted Certificate message is %u bytes, exactly what "
                 "%s makes, and the CertificateVerify's signature fits its key",
                 (unsigned)c->inferred_cert_msg, chain);
    else
        snprintf(buf, len, "by size: of the known chains only %s (a %u-byte Certificate message) "
                 "fits the server's encrypted flight, leaving %u bytes for its other messages "
                 "and padding", chain, (unsigned)c->inferred_cert_msg,
                 (unsigned)c->inferred_chain_room);
    return buf;
}
