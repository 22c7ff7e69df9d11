/* tls13_keylog.c - NSS key log parsing, HKDF-Expand-Label and TLS 1.3 record decryption. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "tlsinspect/err.h"
#include "tlsinspect/hex.h"
#include "tlsinspect/tls13_keylog.h"

/* ---- key log ------------------------------------------------------------ */

/* Labels written by NSS / OpenSSL / BoringSSL (NSS "Key Log Format"). */
struct kl_label {
    const char *name;
    int label;                 /* enum tls_keylog_label, or -1: tolerated and ignored */
};

static const struct kl_label KL_LABELS[] = {
    {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", TLS_KL_CLIENT_HS},
    {"SERVER_HANDSHAKE_TRAFFIC_SECRET", TLS_KL_SERVER_HS},
    {"CLIENT_TRAFFIC_SECRET_0", TLS_KL_CLIENT_AP0},
    {"SERVER_TRAFFIC_SECRET_0", TLS_KL_SERVER_AP0},
    {"EXPORTER_SECRET", TLS_KL_EXPORTER},
    {"CLIENT_EARLY_TRAFFIC_SECRET", TLS_KL_CLIENT_EARLY},
    {"EARLY_EXPORTER_SECRET", TLS_KL_EARLY_EXPORTER},
    {"CLIENT_RANDOM", TLS_KL_MASTER},
    {"RSA", -1},               /* TLS 1.2 RSA pre-master, keyed by ciphertext */
    {"ECH_SECRET", -1},        /* Encrypted ClientHello (draft-ietf-tls-esni) */
    {"ECH_CONFIG", -1},
};

/* One accepted line before grouping by client random. */
struct kl_line {
    uint8_t random[TLS_KEYLOG_RANDOM_LEN];
    uint8_t label;
    struct tls_keylog_secret secret;
    uint32_t lineno;           /* for the duplicate warning */
};

struct kl_parser {
    struct kl_line *v;
    size_t n, cap;
    uint64_t lines;
    uint64_t bad;
    bool full;                 /* TLS_KEYLOG_MAX_SECRETS reached */
    tls_keylog_warn_fn warn;
    void *warn_ctx;
};

static void kl_warn(struct kl_parser *p, unsigned long line, const char *msg)
{
    p->bad++;
    if (p->warn != NULL && p->bad <= TLS_KEYLOG_MAX_WARNINGS)
        p->warn(p->warn_ctx, line, msg);
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/* Next whitespace-separated field of s[0..n) from *pos. */
static bool next_field(const char *s, size_t n, size_t *pos, const char **f, size_t *flen)
{
    size_t i = *pos;

    while (i < n && is_space(s[i]))
        i++;
    if (i == n)
        return false;
    *f = s + i;
    while (i < n && !is_space(s[i]))
        i++;
    *flen = (size_t)(s + i - *f);
    *pos = i;
    return true;
}

static int kl_push(struct kl_parser *p, const struct kl_line *l)
{
    if (p->n == p->cap) {
        size_t ncap = p->cap == 0 ? 64 : p->cap * 2;
        struct kl_line *nv;
        if (ncap > TLS_KEYLOG_MAX_SECRETS)
            ncap = TLS_KEYLOG_MAX_SECRETS;
        nv = realloc(p->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return TI_ENOMEM;
        p->v = nv;
        p->cap = ncap;
    }
    p->v[p->n++] = *l;
    return TI_OK;
}

/* One line (without its newline).  Only TI_ENOMEM is an error: anything
 * wrong with the line is a warning. */
static int kl_line(struct kl_parser *p, const char *s, size_t n, unsigned long lineno)
{
    const char *f[4];
    size_t fl[4], pos = 0, nf = 0;
    const struct kl_label *lab = NULL;
    struct kl_line l;
    char msg[128];
    int r;

    while (nf < 4 && next_field(s, n, &pos, &f[nf], &fl[nf]))
        nf++;
    if (nf == 0 || f[0][0] == '#')
        return TI_OK;   /* blank line or comment */
    for (size_t i = 0; i < sizeof(KL_LABELS) / sizeof(KL_LABELS[0]); i++)
        if (strlen(KL_LABELS[i].name) == fl[0] &&
            memcmp(KL_LABELS[i].name, f[0], fl[0]) == 0)
            lab = &KL_LABELS[i];
    if (lab == NULL) {
        snprintf(msg, sizeof(msg), "unknown label \"%.*s\"",
                 (int)(fl[0] > 40 ? 40 : fl[0]), f[0]);
        kl_warn(p, lineno, msg);
        return TI_OK;
    }
    if (lab->label < 0)
        return TI_OK;
    if (nf != 3) {
        snprintf(msg, sizeof(msg), "%s: expected 3 fields, found %s", lab->name,
                 nf < 3 ? (nf == 1 ? "1" : "2") : "more");
        kl_warn(p, lineno, msg);
        return TI_OK;
    }
    memset(&l, 0, sizeof(l));
    if (fl[1] != 2 * TLS_KEYLOG_RANDOM_LEN ||
        hex_decode(f[1], fl[1], l.random, sizeof(l.random)) < 0) {
        snprintf(msg, sizeof(msg), "%s: client random is not 64 hex digits", lab->name);
        kl_warn(p, lineno, msg);
        return TI_OK;
    }
    r = hex_decode(f[2], fl[2], l.secret.v, sizeof(l.secret.v));
    if (r < 0) {
        snprintf(msg, sizeof(msg), "%s: secret is not hex of at most %u bytes",
                 lab->name, TLS13_MAX_SECRET);
        kl_warn(p, lineno, msg);
        return TI_OK;
    }
    if (lab->label == TLS_KL_MASTER ? r != (int)TLS12_MASTER_LEN : (r != 32 && r != 48)) {
        snprintf(msg, sizeof(msg), "%s: secret of %d bytes (expected %s)", lab->name, r,
                 lab->label == TLS_KL_MASTER ? "48" : "32 or 48");
        kl_warn(p, lineno, msg);
        return TI_OK;
    }
    l.secret.len = (uint8_t)r;
    l.label = (uint8_t)lab->label;
    l.lineno = lineno > UINT32_MAX ? UINT32_MAX : (uint32_t)lineno;
    if (p->n >= TLS_KEYLOG_MAX_SECRETS) {
        if (!p->full) {
            snprintf(msg, sizeof(msg), "more than %u secrets: the rest of the file is ignored",
                     TLS_KEYLOG_MAX_SECRETS);
            kl_warn(p, lineno, msg);
        }
        p->full = true;
        return TI_OK;
    }
    return kl_push(p, &l);
}

static int kl_line_cmp(const void *a, const void *b)
{
    const struct kl_line *x = a, *y = b;
    int r = memcmp(x->random, y->random, TLS_KEYLOG_RANDOM_LEN);

    if (r != 0)
        return r;
    if (x->label != y->label)
        return x->label < y->label ? -1 : 1;
    return x->lineno < y->lineno ? -1 : x->lineno > y->lineno;
}

/* Sort the lines by client random and fold them into entries. */
static int kl_build(struct kl_parser *p, struct tls_keylog *kl)
{
    size_t ne = 0;

    if (p->n == 0)
        return TI_OK;
    qsort(p->v, p->n, sizeof(*p->v), kl_line_cmp);
    for (size_t i = 0; i < p->n; i++)
        if (i == 0 || memcmp(p->v[i].random, p->v[i - 1].random, TLS_KEYLOG_RANDOM_LEN) != 0)
            ne++;
    kl->entries = calloc(ne, sizeof(*kl->entries));
    if (kl->entries == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < p->n; i++) {
        const struct kl_line *l = &p->v[i];
        struct tls_keylog_entry *e;
        if (i == 0 || memcmp(l->random, p->v[i - 1].random, TLS_KEYLOG_RANDOM_LEN) != 0) {
            e = &kl->entries[kl->n_entries++];
            memcpy(e->client_random, l->random, TLS_KEYLOG_RANDOM_LEN);
        }
        e = &kl->entries[kl->n_entries - 1];
        if (e->s[l->label].len == 0) {
            e->s[l->label] = l->secret;
            kl->secrets++;
        } else if (e->s[l->label].len != l->secret.len ||
                   memcmp(e->s[l->label].v, l->secret.v, l->secret.len) != 0) {
            /* Same connection, same label, another value: the first line wins
             * (the file is usually appended to by one process). */
            kl_warn(p, l->lineno, "a different secret for a client random and label "
                                  "already logged: ignored");
        }
    }
    return TI_OK;
}

static void kl_parser_free(struct kl_parser *p)
{
    if (p->v != NULL)
        OPENSSL_cleanse(p->v, p->cap * sizeof(*p->v));
    free(p->v);
}

static int kl_finish(struct kl_parser *p, struct tls_keylog **out)
{
    struct tls_keylog *kl = calloc(1, sizeof(*kl));
    int rc;

    if (kl == NULL)
        return TI_ENOMEM;
    rc = kl_build(p, kl);
    if (rc != TI_OK) {
        tls_keylog_free(kl);
        return rc;
    }
    if (p->bad > TLS_KEYLOG_MAX_WARNINGS && p->warn != NULL) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%llu more bad lines not listed",
                 (unsigned long long)(p->bad - TLS_KEYLOG_MAX_WARNINGS));
        p->warn(p->warn_ctx, 0, msg);
    }
    kl->lines = p->lines;
    kl->bad_lines = p->bad;
    *out = kl;
    return TI_OK;
}

int tls_keylog_load_mem(struct tls_keylog **out, const char *data, size_t len,
                        tls_keylog_warn_fn warn, void *warn_ctx,
                        char *errbuf, size_t errlen)
{
    struct kl_parser p;
    size_t pos = 0;
    int rc = TI_OK;

    memset(&p, 0, sizeof(p));
    p.warn = warn;
    p.warn_ctx = warn_ctx;
    *out = NULL;
    if (errlen > 0)
        errbuf[0] = '\0';
    while (pos < len && rc == TI_OK && !p.full) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - (data + pos)) : len - pos;
        if (++p.lines > TLS_KEYLOG_MAX_LINES) {
            kl_warn(&p, (unsigned long)p.lines, "too many lines: the rest of the file is ignored");
            break;
        }
        if (n > TLS_KEYLOG_MAX_LINE)
            kl_warn(&p, (unsigned long)p.lines, "line too long: skipped");
        else
            rc = kl_line(&p, data + pos, n, (unsigned long)p.lines);
        pos += n + (nl != NULL ? 1 : 0);
    }
    if (rc == TI_OK)
        rc = kl_finish(&p, out);
    if (rc != TI_OK && errlen > 0)
        snprintf(errbuf, errlen, "key log: %s", ti_strerror(rc));
    kl_parser_free(&p);
    return rc;
}

/* Read the file in chunks; each line is gathered into a buffer of
 * TLS_KEYLOG_MAX_LINE bytes (a longer line is warned about and skipped). */
int tls_keylog_load(struct tls_keylog **out, const char *path,
                    tls_keylog_warn_fn warn, void *warn_ctx,
                    char *errbuf, size_t errlen)
{
    enum { CHUNK = 65536 };
    struct kl_parser p;
    char *chunk, *line;
    size_t len = 0, got;
    bool too_long = false, stop = false;
    FILE *f;
    int rc = TI_OK;

    *out = NULL;
    if (errlen > 0)
        errbuf[0] = '\0';
    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return TI_EIO;
    }
    chunk = malloc(CHUNK);
    line = malloc(TLS_KEYLOG_MAX_LINE);
    if (chunk == NULL || line == NULL) {
        free(chunk);
        free(line);
        fclose(f);
        snprintf(errbuf, errlen, "%s: %s", path, ti_strerror(TI_ENOMEM));
        return TI_ENOMEM;
    }
    memset(&p, 0, sizeof(p));
    p.warn = warn;
    p.warn_ctx = warn_ctx;
    while (!stop && rc == TI_OK && (got = fread(chunk, 1, CHUNK, f)) > 0) {
        for (size_t i = 0; i < got && !stop && rc == TI_OK; i++) {
            if (chunk[i] != '\n') {
                if (len < TLS_KEYLOG_MAX_LINE)
                    line[len++] = chunk[i];
                else
                    too_long = true;
                continue;
            }
            if (++p.lines > TLS_KEYLOG_MAX_LINES) {
                kl_warn(&p, (unsigned long)p.lines,
                        "too many lines: the rest of the file is ignored");
                stop = true;
            } else if (too_long) {
                kl_warn(&p, (unsigned long)p.lines, "line too long: skipped");
            } else {
                rc = kl_line(&p, line, len, (unsigned long)p.lines);
            }
            len = 0;
            too_long = false;
            stop = stop || p.full;
        }
    }
    if (rc == TI_OK && ferror(f)) {
        snprintf(errbuf, errlen, "%s: read error", path);
        rc = TI_EIO;
    }
    if (rc == TI_OK && !stop && (len > 0 || too_long)) {   /* last line without newline */
        if (++p.lines > TLS_KEYLOG_MAX_LINES)
            kl_warn(&p, (unsigned long)p.lines, "too many lines: the rest of the file is ignored");
        else if (too_long)
            kl_warn(&p, (unsigned long)p.lines, "line too long: skipped");
        else
            rc = kl_line(&p, line, len, (unsigned long)p.lines);
    }
    fclose(f);
    OPENSSL_cleanse(line, TLS_KEYLOG_MAX_LINE);
    OPENSSL_cleanse(chunk, CHUNK);
    free(line);
    free(chunk);
    if (rc == TI_OK)
        rc = kl_finish(&p, out);
    if (rc == TI_ENOMEM)
        snprintf(errbuf, errlen, "%s: %s", path, ti_strerror(rc));
    kl_parser_free(&p);
    return rc;
}

void tls_keylog_free(struct tls_keylog *kl)
{
    if (kl == NULL)
        return;
    if (kl->entries != NULL)
        OPENSSL_cleanse(kl->entries, kl->n_entries * sizeof(*kl->entries));
    free(kl->entries);
    free(kl);
}

static int kl_entry_cmp(const void *key, const void *elem)
{
    const struct tls_keylog_entry *e = elem;

    return memcmp(key, e->client_random, TLS_KEYLOG_RANDOM_LEN);
}

const struct tls_keylog_entry *tls_keylog_find(const struct tls_keylog *kl,
                                               const uint8_t random[TLS_KEYLOG_RANDOM_LEN])
{
    if (kl == NULL || random == NULL || kl->n_entries == 0)
        return NULL;
    return bsearch(random, kl->entries, kl->n_entries, sizeof(*kl->entries), kl_entry_cmp);
}

/* ---- TLS 1.3 record protection ------------------------------------------ */

/* RFC 8446 B.4 (and RFC 8998 CCM_8): the AEAD and the hash of each suite. */
struct tls13_aead {
    uint16_t suite;
    const char *md;            /* HKDF hash */
    size_t hash_len;
    const EVP_CIPHER *(*cipher)(void);
    size_t key_len;
    size_t tag_len;
    bool ccm;                  /* CCM wants the tag and lengths first */
};

static const struct tls13_aead TLS13_AEADS[] = {
    {0x1301, "SHA256", 32, EVP_aes_128_gcm, 16, 16, false},
    {0x1302, "SHA384", 48, EVP_aes_256_gcm, 32, 16, false},
    {0x1303, "SHA256", 32, EVP_chacha20_poly1305, 32, 16, false},
    {0x1304, "SHA256", 32, EVP_aes_128_ccm, 16, 16, true},
    {0x1305, "SHA256", 32, EVP_aes_128_ccm, 16, 8, true},
};

static const struct tls13_aead *aead_of(uint16_t suite)
{
    for (size_t i = 0; i < sizeof(TLS13_AEADS) / sizeof(TLS13_AEADS[0]); i++)
        if (TLS13_AEADS[i].suite == suite)
            return &TLS13_AEADS[i];
    return NULL;
}

bool tls13_suite_supported(uint16_t suite, size_t *hash_len)
{
    const struct tls13_aead *a = aead_of(suite);

    if (a != NULL && hash_len != NULL)
        *hash_len = a->hash_len;
    return a != NULL;
}

/* RFC 8446 7.1:
 *   struct { uint16 length; opaque label<7..255> = "tls13 " + Label;
 *            opaque context<0..255>; } HkdfLabel;
 *   HKDF-Expand-Label = HKDF-Expand(Secret, HkdfLabel, Length) */
int tls13_hkdf_expand_label(const char *md_name, const uint8_t *secret,
                            size_t secret_len, const char *label,
                            const uint8_t *context, size_t context_len,
                            uint8_t *out, size_t out_len)
{
    static const char prefix[] = "tls13 ";
    uint8_t info[2 + 1 + 255 + 1 + 255];
    size_t llen = strlen(label), plen = sizeof(prefix) - 1, n = 0;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[5];
    EVP_KDF *kdf;
    EVP_KDF_CTX *kctx;
    int rc = TI_OK;

    if (plen + llen > 255 || context_len > 255 || out_len == 0 || out_len > 0xffff ||
        secret == NULL || secret_len == 0 || (context_len > 0 && context == NULL))
        return TI_EUSAGE;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(plen + llen);
    memcpy(info + n, prefix, plen);
    n += plen;
    memcpy(info + n, label, llen);
    n += llen;
    info[n++] = (uint8_t)context_len;
    if (context_len > 0)
        memcpy(info + n, context, context_len);
    n += context_len;

    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL)
        return TI_EUNSUPPORTED;
    kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return TI_ENOMEM;
    params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name, 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
    params[4] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, out_len, params) <= 0)
        rc = TI_EUNSUPPORTED;
    EVP_KDF_CTX_free(kctx);
    return rc;
}

void tls13_keys_clear(struct tls13_dir_keys *k)
{
    if (k == NULL)
        return;
    EVP_CIPHER_CTX_free(k->ctx);
    OPENSSL_cleanse(k, sizeof(*k));
}

int tls13_keys_init(struct tls13_dir_keys *k, uint16_t suite,
                    const uint8_t *secret, size_t secret_len)
{
    const struct tls13_aead *a = aead_of(suite);
    void *ctx = k->ctx;
    int rc;

    k->ready = false;
    if (a == NULL)
        return TI_EUNSUPPORTED;
    if (secret == NULL || secret_len != a->hash_len)
        return TI_EMALFORMED;   /* logged for another suite: not this connection's */
    /* RFC 8446 7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length),
     *               [sender]_write_iv  = HKDF-Expand-Label(Secret, "iv", "", iv_length) */
    rc = tls13_hkdf_expand_label(a->md, secret, secret_len, "key", NULL, 0, k->key, a->key_len);
    if (rc == TI_OK)
        rc = tls13_hkdf_expand_label(a->md, secret, secret_len, "iv", NULL, 0, k->iv,
                                     TLS13_IV_LEN);
    if (rc != TI_OK)
        return rc;
    if (ctx == NULL) {
        ctx = EVP_CIPHER_CTX_new();
        if (ctx == NULL)
            return TI_ENOMEM;
        k->ctx = ctx;
    }
    if (secret != k->secret)
        memcpy(k->secret, secret, secret_len);   /* <= TLS13_MAX_SECRET: a->hash_len */
    k->secret_len = (uint8_t)secret_len;
    k->generation = 0;
    k->suite = suite;
    k->aead = a;
    k->seq = 0;
    k->ready = true;
    return TI_OK;
}

int tls13_keys_update(struct tls13_dir_keys *k)
{
    const struct tls13_aead *a;
    uint8_t next[TLS13_MAX_SECRET];
    uint32_t gen;
    int rc;

    if (k == NULL || !k->ready || k->aead == NULL || k->secret_len == 0)
        return TI_EUNSUPPORTED;
    a = k->aead;
    rc = tls13_hkdf_expand_label(a->md, k->secret, k->secret_len, "traffic upd", NULL, 0,
                                 next, a->hash_len);
    if (rc != TI_OK)
        return rc;
    gen = k->generation;
    rc = tls13_keys_init(k, a->suite, next, a->hash_len);
    OPENSSL_cleanse(next, sizeof(next));
    if (rc == TI_OK)
        k->generation = gen + 1;
    return rc;
}

/* One AEAD open with OpenSSL; returns false on a tag mismatch (or any
 * OpenSSL failure, which cannot be told apart from it here). */
static bool aead_open(const struct tls13_aead *a, EVP_CIPHER_CTX *ctx,
                      const uint8_t *key, const uint8_t nonce[TLS13_IV_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                      size_t ct_len, const uint8_t *tag, uint8_t *out)
{
    int outl = 0, fl = 0;

    if (ct_len > INT32_MAX)
        return false;
    if (EVP_CIPHER_CTX_reset(ctx) != 1 ||
        EVP_DecryptInit_ex(ctx, a->cipher(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, TLS13_IV_LEN, NULL) != 1)
        return false;
    if (a->ccm) {
        /* CCM: tag before the key, then the total length before the AAD. */
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)a->tag_len, (void *)tag) != 1 ||
            EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
            EVP_DecryptUpdate(ctx, NULL, &outl, NULL, (int)ct_len) != 1 ||
            EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
            return false;
        /* The tag is checked by this update. */
        return EVP_DecryptUpdate(ctx, out, &outl, ct, (int)ct_len) == 1 &&
               (size_t)outl == ct_len;
    }
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
        return false;
    if (ct_len > 0 && EVP_DecryptUpdate(ctx, out, &outl, ct, (int)ct_len) != 1)
        return false;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)a->tag_len, (void *)tag) != 1)
        return false;
    return EVP_DecryptFinal_ex(ctx, out + outl, &fl) == 1 && (size_t)(outl + fl) == ct_len;
}

int tls13_open_record(struct tls13_dir_keys *k, const uint8_t hdr[5],
                      const uint8_t *ct, size_t len, uint8_t *out,
                      size_t out_cap, size_t *out_len, uint8_t *inner_type)
{
    const struct tls13_aead *a;
    uint8_t nonce[TLS13_IV_LEN];
    size_t body, n;

    *out_len = 0;
    *inner_type = 0;
    if (k == NULL || !k->ready || k->aead == NULL || k->ctx == NULL)
        return TI_EUNSUPPORTED;
    a = k->aead;
    /* RFC 8446 5.2: at least one byte of content type plus the tag. */
    if (len < a->tag_len + 1 || len > TLS13_MAX_CIPHERTEXT || ct == NULL)
        return TI_EMALFORMED;
    body = len - a->tag_len;
    if (out_cap < body)
        return TI_ELIMIT;
    /* RFC 8446 5.3: the 64-bit sequence number, big-endian, left-padded
     * to iv_length, xored with the IV. */
    memcpy(nonce, k->iv, TLS13_IV_LEN);
    for (size_t i = 0; i < 8; i++)
        nonce[TLS13_IV_LEN - 1 - i] ^= (uint8_t)(k->seq >> (8 * i));
    if (!aead_open(a, k->ctx, k->key, nonce, hdr, 5, ct, body, ct + body, out)) {
        OPENSSL_cleanse(out, body);
        return TI_EMALFORMED;
    }
    k->seq++;
    /* RFC 8446 5.4: TLSInnerPlaintext = content || type || zeros; the type
     * is the last non-zero byte. */
    n = body;
    while (n > 0 && out[n - 1] == 0)
        n--;
    if (n == 0)
        return TI_EMALFORMED;   /* all padding: RFC 8446 5.4 unexpected_message */
    *inner_type = out[n - 1];
    *out_len = n - 1;
    return TI_OK;
}
