/* tls12_decrypt.c - TLS 1.0-1.2 key block derivation and record opening (AEAD, CBC MtE/EtM, NULL, with or without keys; DEFLATE). */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/ssl.h>

#include "tlsinspect/cur.h"
#include "tlsinspect/err.h"
#include "tlsinspect/tls12_decrypt.h"

#define TLS12_HDR_LEN     5u
#define TLS12_SEQ_LEN     8u
#define TLS12_AAD_LEN     13u   /* seq(8) type(1) version(2) length(2) */
#define TLS12_AEAD_NONCE  12u   /* RFC 5288 3, RFC 7905 2 */
#define TLS12_AEAD_SALT   4u    /* RFC 5288 3: GCMNonce.salt from the key block */
#define TLS12_AEAD_EXPL   8u    /* RFC 5288 3: nonce_explicit in each record */
#define TLS12_AEAD_TAG    16u
#define TLS12_CCM8_TAG    8u    /* RFC 6655 3: the _CCM_8 suites */
#define TLS12_MAX_KEY_BLOCK (2u * (TLS12_MAX_MAC_KEY + TLS12_MAX_KEY + TLS12_MAX_IV))

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* RFC 5246 5 and 7.4.9: the PRF hash is the suite's (SHA-384 for the
 * _SHA384 suites) and SHA-256 for every older suite at TLS 1.2; TLS 1.0
 * and 1.1 always use the MD5/SHA-1 PRF (RFC 4346 5). */
static const char *prf_md_of(const SSL_CIPHER *c, uint16_t version)
{
    const EVP_MD *md;

    if (version < 0x0303)
        return "MD5-SHA1";
    md = SSL_CIPHER_get_handshake_digest(c);
    if (md == NULL)
        return "SHA256";
    switch (EVP_MD_get_type(md)) {
    case NID_sha384:
        return "SHA384";
    case NID_sha256:
    case NID_md5_sha1:   /* OpenSSL's "default" handshake MAC: SHA-256 at 1.2 */
        return "SHA256";
    default:
        return NULL;     /* GOST, SM3: not a TLS 1.2 PRF we handle */
    }
}

int tls12_suite_lookup(const struct tls_names *names, uint16_t code,
                       uint16_t version, struct tls12_suite *out)
{
    const SSL_CIPHER *c;
    const EVP_CIPHER *ev = NULL;
    const EVP_MD *md;
    const char *std;
    int alg_bits = 0;

    memset(out, 0, sizeof(*out));
    /* SSL 3.0 derives keys and MACs differently (no HMAC, no TLS PRF);
     * TLS 1.3 has its own key schedule (tls13_keylog.h). */
    if (version < 0x0301 || version > 0x0303 || tls_suite_is_tls13(code))
        return TI_EUNSUPPORTED;
    c = (const SSL_CIPHER *)tls_suite_cipher(names, code);
    if (c == NULL)
        return TI_EUNSUPPORTED;
    out->code = code;
    out->version = version;
    out->prf_md = prf_md_of(c, version);
    if (out->prf_md == NULL)
        return TI_EUNSUPPORTED;
    out->cipher_nid = SSL_CIPHER_get_cipher_nid(c);
    out->mac_nid = SSL_CIPHER_get_digest_nid(c);
    out->block_len = 1;
    std = SSL_CIPHER_standard_name(c);
    if (std == NULL)
        std = "";

    if (out->cipher_nid == NID_undef) {
        /* eNULL suites: authenticated, not encrypted (RFC 5246 6.2.3.1). */
        SSL_CIPHER_get_bits(c, &alg_bits);
        if (alg_bits != 0 || out->mac_nid == NID_undef || strstr(std, "_NULL_") == NULL)
            return TI_EUNSUPPORTED;
        out->mode = TLS12_MODE_NULL;
    } else {
        ev = EVP_get_cipherbynid(out->cipher_nid);
        if (ev == NULL)
            return TI_EUNSUPPORTED;
        out->key_len = (uint8_t)EVP_CIPHER_get_key_length(ev);
        if (out->cipher_nid == NID_chacha20_poly1305) {
            out->mode = TLS12_MODE_CHACHA20_POLY1305;
            out->fixed_iv_len = TLS12_AEAD_NONCE;
            out->tag_len = TLS12_AEAD_TAG;
        } else if (EVP_CIPHER_get_mode(ev) == EVP_CIPH_GCM_MODE ||
                   EVP_CIPHER_get_mode(ev) == EVP_CIPH_CCM_MODE) {
            out->mode = EVP_CIPHER_get_mode(ev) == EVP_CIPH_GCM_MODE ? TLS12_MODE_GCM
                                                                    : TLS12_MODE_CCM;
            out->fixed_iv_len = TLS12_AEAD_SALT;
            out->record_iv_len = TLS12_AEAD_EXPL;
            out->tag_len = ends_with(std, "_CCM_8") ? TLS12_CCM8_TAG : TLS12_AEAD_TAG;
        } else if (EVP_CIPHER_get_mode(ev) == EVP_CIPH_CBC_MODE) {
            int bl = EVP_CIPHER_get_block_size(ev);
            if (bl < 8 || bl > (int)TLS12_MAX_BLOCK)
                return TI_EUNSUPPORTED;
            out->mode = TLS12_MODE_CBC;
            out->block_len = (uint8_t)bl;
            /* The key block always carries a block-sized IV; TLS 1.1+
             * ignores it and sends one per record (RFC 4346 6.2.3.2). */
            out->fixed_iv_len = (uint8_t)bl;
            out->record_iv_len = version >= 0x0302 ? (uint8_t)bl : 0;
        } else {
            return TI_EUNSUPPORTED;   /* RC4 and other stream ciphers */
        }
        if (out->key_len == 0 || out->key_len > TLS12_MAX_KEY)
            return TI_EUNSUPPORTED;
    }
    if (out->mode == TLS12_MODE_CBC || out->mode == TLS12_MODE_NULL) {
        md = EVP_get_digestbynid(out->mac_nid);
        if (md == NULL || EVP_MD_get_size(md) <= 0 ||
            EVP_MD_get_size(md) > (int)TLS12_MAX_MAC_KEY)
            return TI_EUNSUPPORTED;
        out->mac_len = (uint8_t)EVP_MD_get_size(md);
    } else {
        /* RFC 5246 6.2.3.3: AEAD suites exist from TLS 1.2 on. */
        if (version < 0x0303)
            return TI_EUNSUPPORTED;
        out->mac_nid = NID_undef;
    }
    return TI_OK;
}

int tls12_prf(const char *md_name, const uint8_t *secret, size_t secret_len,
              const char *label, const uint8_t *seed1, size_t seed1_len,
              const uint8_t *seed2, size_t seed2_len, uint8_t *out,
              size_t out_len)
{
    EVP_KDF *kdf;
    EVP_KDF_CTX *kctx;
    OSSL_PARAM params[6], *p = params;
    int rc = TI_OK;

    kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    if (kdf == NULL)
        return TI_EUNSUPPORTED;
    kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return TI_ENOMEM;
    /* The provider concatenates repeated seed parameters: label + seeds. */
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret,
                                             secret_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)label,
                                             strlen(label));
    if (seed1_len > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed1,
                                                 seed1_len);
    if (seed2_len > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed2,
                                                 seed2_len);
    *p = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, out_len, params) <= 0)
        rc = TI_EUNSUPPORTED;
    EVP_KDF_CTX_free(kctx);
    return rc;
}

void tls12_dir_clear(struct tls12_dir *d)
{
    if (d == NULL)
        return;
    EVP_CIPHER_CTX_free(d->cctx);
    EVP_CIPHER_free(d->cipher);
    EVP_MAC_CTX_free(d->mctx);
    EVP_MAC_free(d->mac);
    if (d->zs != NULL) {
        (void)inflateEnd(d->zs);
        free(d->zs);
    }
    if (d->zbuf != NULL) {
        OPENSSL_cleanse(d->zbuf, TLS12_MAX_PLAINTEXT + 1);
        free(d->zbuf);
    }
    OPENSSL_cleanse(d, sizeof(*d));
}

/* Providers know the ciphers by their OpenSSL short names ("AES-128-CBC",
 * "id-aes128-GCM", "ChaCha20-Poly1305"); long names as a fallback. */
static EVP_CIPHER *fetch_cipher(int nid)
{
    EVP_CIPHER *c = NULL;
    const char *sn = OBJ_nid2sn(nid), *ln = OBJ_nid2ln(nid);

    if (sn != NULL)
        c = EVP_CIPHER_fetch(NULL, sn, NULL);
    if (c == NULL && ln != NULL)
        c = EVP_CIPHER_fetch(NULL, ln, NULL);
    return c;
}

int tls12_dir_init(struct tls12_dir *d, const struct tls12_suite *suite,
                   bool etm, enum conn_dir dir, const uint8_t *master,
                   size_t master_len,
                   const uint8_t client_random[TLS12_RANDOM_LEN],
                   const uint8_t server_random[TLS12_RANDOM_LEN])
{
    uint8_t kb[TLS12_MAX_KEY_BLOCK];
    size_t ml = suite->mac_len, kl = suite->key_len, il = suite->fixed_iv_len;
    size_t off, need = 2 * (ml + kl + il);
    int rc;

    memset(d, 0, sizeof(*d));
    if (master_len != TLS12_MASTER_SECRET_LEN || suite->mode == TLS12_MODE_NONE)
        return TI_EMALFORMED;
    if (ml > TLS12_MAX_MAC_KEY || kl > TLS12_MAX_KEY || il > TLS12_MAX_IV)
        return TI_EUNSUPPORTED;
    /* RFC 5246 6.3: the seed is server_random + client_random. */
    rc = tls12_prf(suite->prf_md, master, master_len, "key expansion",
                   server_random, TLS12_RANDOM_LEN, client_random,
                   TLS12_RANDOM_LEN, kb, need);
    if (rc != TI_OK)
        goto fail;
    d->suite = *suite;
    d->etm = etm && suite->mode == TLS12_MODE_CBC;   /* RFC 7366 3: CBC only */
    off = dir == DIR_CLIENT ? 0 : ml;
    memcpy(d->mac_key, kb + off, ml);
    off = 2 * ml + (dir == DIR_CLIENT ? 0 : kl);
    memcpy(d->key, kb + off, kl);
    off = 2 * ml + 2 * kl + (dir == DIR_CLIENT ? 0 : il);
    memcpy(d->iv, kb + off, il);
    OPENSSL_cleanse(kb, sizeof(kb));

    rc = TI_ENOMEM;
    if (suite->mode != TLS12_MODE_NULL) {
        d->cipher = fetch_cipher(suite->cipher_nid);
        if (d->cipher == NULL) {
            rc = TI_EUNSUPPORTED;
            goto fail;
        }
        d->cctx = EVP_CIPHER_CTX_new();
        if (d->cctx == NULL)
            goto fail;
    }
    if (ml > 0) {
        d->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (d->mac == NULL) {
            rc = TI_EUNSUPPORTED;
            goto fail;
        }
        d->mctx = EVP_MAC_CTX_new(d->mac);
        if (d->mctx == NULL)
            goto fail;
    }
    d->ready = true;
    return TI_OK;

fail:
    OPENSSL_cleanse(kb, sizeof(kb));
    tls12_dir_clear(d);
    return rc;
}

int tls12_dir_init_unkeyed(struct tls12_dir *d, const struct tls12_suite *suite)
{
    memset(d, 0, sizeof(*d));
    if (suite->mode != TLS12_MODE_NULL || suite->mac_len == 0 ||
        suite->mac_len > TLS12_MAX_MAC_KEY)
        return TI_EUNSUPPORTED;
    d->suite = *suite;
    d->mac_unchecked = true;
    d->ready = true;
    return TI_OK;
}

int tls12_dir_set_deflate(struct tls12_dir *d)
{
    z_stream *zs;

    if (d == NULL || !d->ready || d->zs != NULL)
        return TI_EUNSUPPORTED;
    zs = calloc(1, sizeof(*zs));
    d->zbuf = malloc(TLS12_MAX_PLAINTEXT + 1);
    if (zs == NULL || d->zbuf == NULL || inflateInit(zs) != Z_OK) {
        free(zs);
        free(d->zbuf);
        d->zbuf = NULL;
        return TI_ENOMEM;
    }
    d->zs = zs;
    return TI_OK;
}

/* The largest opened content: TLSCompressed under DEFLATE, else
 * TLSPlaintext (RFC 5246 6.2.1-6.2.2; record_overflow beyond). */
static size_t inner_max(const struct tls12_dir *d)
{
    return d->zs != NULL ? TLS12_MAX_COMPRESSED : TLS12_MAX_PLAINTEXT;
}

/* Inflate one opened record's content in place (RFC 3749 2: the sender
 * flushed it whole, so all of it inflates now).  One byte of room beyond
 * 2^14 tells an oversized record (a decompression bomb) from a full one;
 * zlib never writes past avail_out. */
static int inflate_record(struct tls12_dir *d, uint8_t *out, size_t out_cap, size_t *out_len)
{
    z_stream *zs = d->zs;
    size_t n;
    int zr;

    if (d->zfailed)
        return TI_EMALFORMED;
    zs->next_in = out;
    zs->avail_in = (uInt)*out_len;
    zs->next_out = d->zbuf;
    zs->avail_out = TLS12_MAX_PLAINTEXT + 1;
    zr = inflate(zs, Z_SYNC_FLUSH);
    n = TLS12_MAX_PLAINTEXT + 1 - zs->avail_out;
    /* Z_BUF_ERROR: no progress possible, fine for an empty record.  The
     * stream never ends in TLS (Z_STREAM_END): the history would be gone. */
    if ((zr != Z_OK && zr != Z_BUF_ERROR) || zs->avail_in != 0 ||
        n > TLS12_MAX_PLAINTEXT || n > out_cap) {
        d->zfailed = true;
        return TI_EMALFORMED;
    }
    if (n > 0)
        memcpy(out, d->zbuf, n);
    *out_len = n;
    return TI_OK;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* seq(8) type(1) version(2) length(2): the AEAD additional data (RFC 5246
 * 6.2.3.3) and the HMAC prefix (6.2.3.1). */
static void pseudo_header(uint8_t out[TLS12_AAD_LEN], uint64_t seq,
                          const uint8_t hdr[5], size_t len)
{
    put_u64(out, seq);
    out[8] = hdr[0];
    out[9] = hdr[1];
    out[10] = hdr[2];
    out[11] = (uint8_t)(len >> 8);
    out[12] = (uint8_t)len;
}

/* HMAC(mac_key, seq type version length data) into mac (suite.mac_len bytes). */
static bool hmac(struct tls12_dir *d, const uint8_t hdr[5], size_t len,
                 const uint8_t *data, size_t data_len, uint8_t *mac)
{
    uint8_t ph[TLS12_AAD_LEN];
    OSSL_PARAM params[2];
    size_t outl = 0;

    pseudo_header(ph, d->seq, hdr, len);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)OBJ_nid2sn(d->suite.mac_nid), 0);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_MAC_init(d->mctx, d->mac_key, d->suite.mac_len, params) == 1 &&
           EVP_MAC_update(d->mctx, ph, sizeof(ph)) == 1 &&
           (data_len == 0 || EVP_MAC_update(d->mctx, data, data_len) == 1) &&
           EVP_MAC_final(d->mctx, mac, &outl, TLS12_MAX_MAC_KEY) == 1 &&
           outl == d->suite.mac_len;
}

static bool mac_ok(struct tls12_dir *d, const uint8_t hdr[5], size_t len,
                   const uint8_t *data, size_t data_len, const uint8_t *expect)
{
    uint8_t mac[TLS12_MAX_MAC_KEY];
    bool ok = hmac(d, hdr, len, data, data_len, mac) &&
              CRYPTO_memcmp(mac, expect, d->suite.mac_len) == 0;

    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

/* AEAD decryption with the tag check; CCM needs the tag and the total
 * length before the data (EVP's CCM protocol). */
static bool aead_open(struct tls12_dir *d, const uint8_t *nonce,
                      const uint8_t *aad, const uint8_t *ct, size_t ct_len,
                      const uint8_t *tag, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = d->cctx;
    int outl = 0, fl = 0;
    bool ccm = d->suite.mode == TLS12_MODE_CCM;

    if (EVP_CIPHER_CTX_reset(ctx) != 1 ||
        EVP_DecryptInit_ex(ctx, d->cipher, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, TLS12_AEAD_NONCE, NULL) != 1)
        return false;
    if (ccm) {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, d->suite.tag_len,
                                (void *)tag) != 1 ||
            EVP_DecryptInit_ex(ctx, NULL, NULL, d->key, nonce) != 1 ||
            EVP_DecryptUpdate(ctx, NULL, &outl, NULL, (int)ct_len) != 1 ||
            EVP_DecryptUpdate(ctx, NULL, &outl, aad, TLS12_AAD_LEN) != 1)
            return false;
        /* With CCM the tag is checked by this (only) data update. */
        return EVP_DecryptUpdate(ctx, out, &outl, ct, (int)ct_len) == 1 &&
               (size_t)outl == ct_len;
    }
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, d->key, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &outl, aad, TLS12_AAD_LEN) != 1)
        return false;
    outl = 0;
    if (ct_len > 0 && EVP_DecryptUpdate(ctx, out, &outl, ct, (int)ct_len) != 1)
        return false;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, d->suite.tag_len,
                            (void *)tag) != 1)
        return false;
    return EVP_DecryptFinal_ex(ctx, out + outl, &fl) == 1 &&
           (size_t)(outl + fl) == ct_len;
}

static int open_aead(struct tls12_dir *d, const uint8_t hdr[5],
                     const uint8_t *frag, size_t len, uint8_t *out,
                     size_t out_cap, size_t *out_len)
{
    uint8_t nonce[TLS12_AEAD_NONCE], aad[TLS12_AAD_LEN];
    struct cur c = cur_make(frag, len), expl = {NULL, NULL}, ct = {NULL, NULL},
               tag = {NULL, NULL};
    size_t ct_len;

    if (len < (size_t)d->suite.record_iv_len + d->suite.tag_len)
        return TI_EMALFORMED;
    ct_len = len - d->suite.record_iv_len - d->suite.tag_len;
    if (ct_len > inner_max(d))
        return TI_EMALFORMED;   /* RFC 5246 6.2.1: record_overflow */
    if (ct_len > out_cap)
        return TI_ELIMIT;
    (void)cur_bytes(&c, d->suite.record_iv_len, &expl);
    (void)cur_bytes(&c, ct_len, &ct);
    (void)cur_bytes(&c, d->suite.tag_len, &tag);
    if (d->suite.mode == TLS12_MODE_CHACHA20_POLY1305) {
        /* RFC 7905 2: the 64-bit sequence number, left-padded to 96 bits
         * with zeros, XORed with client/server_write_IV. */
        uint8_t padded[TLS12_AEAD_NONCE] = {0};
        put_u64(padded + 4, d->seq);
        for (size_t i = 0; i < TLS12_AEAD_NONCE; i++)
            nonce[i] = d->iv[i] ^ padded[i];
    } else {
        /* RFC 5288 3 / RFC 6655 3: salt(4) from the key block + the
         * record's nonce_explicit(8). */
        memcpy(nonce, d->iv, TLS12_AEAD_SALT);
        memcpy(nonce + TLS12_AEAD_SALT, expl.p, TLS12_AEAD_EXPL);
    }
    pseudo_header(aad, d->seq, hdr, ct_len);
    if (!aead_open(d, nonce, aad, ct.p, ct_len, tag.p, out))
        return TI_EMALFORMED;
    *out_len = ct_len;
    return TI_OK;
}

/* CBC-decrypt ct (a whole number of blocks) with iv into out, no padding
 * removal by EVP. */
static bool cbc_decrypt(struct tls12_dir *d, const uint8_t *iv, const uint8_t *ct,
                        size_t ct_len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = d->cctx;
    int outl = 0, fl = 0;

    return EVP_CIPHER_CTX_reset(ctx) == 1 &&
           EVP_DecryptInit_ex(ctx, d->cipher, NULL, d->key, iv) == 1 &&
           EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
           EVP_DecryptUpdate(ctx, out, &outl, ct, (int)ct_len) == 1 &&
           EVP_DecryptFinal_ex(ctx, out + outl, &fl) == 1 &&
           (size_t)(outl + fl) == ct_len;
}

/* RFC 5246 6.2.3.2: padding_length n, then n bytes each equal to n before
 * it; returns the length of what precedes the padding, or -1. */
static long cbc_unpad(const uint8_t *pt, size_t pt_len)
{
    uint8_t n;

    if (pt_len == 0)
        return -1;
    n = pt[pt_len - 1];
    if ((size_t)n + 1 > pt_len)
        return -1;
    for (size_t i = pt_len - 1 - n; i < pt_len - 1; i++)
        if (pt[i] != n)
            return -1;
    return (long)(pt_len - 1 - n);
}

static int open_cbc(struct tls12_dir *d, const uint8_t hdr[5],
                    const uint8_t *frag, size_t len, uint8_t *out,
                    size_t out_cap, size_t *out_len)
{
    size_t bl = d->suite.block_len, ml = d->suite.mac_len;
    size_t ivl = d->suite.record_iv_len, body_len, ct_len;
    struct cur c = cur_make(frag, len), body = {NULL, NULL}, iv = {NULL, NULL},
               ct = {NULL, NULL}, mac = {NULL, NULL};
    const uint8_t *ivp;
    long plen;

    if (d->iv_lost)
        return TI_EUNSUPPORTED;
    /* EtM: IV + ciphertext, then the MAC over both (RFC 7366 3). */
    if (len < (d->etm ? ml : 0) + ivl + bl)
        return TI_EMALFORMED;
    body_len = d->etm ? len - ml : len;
    (void)cur_bytes(&c, body_len, &body);
    if (d->etm)
        (void)cur_bytes(&c, ml, &mac);
    ct_len = body_len - ivl;
    if (ct_len % bl != 0 || ct_len == 0)
        return TI_EMALFORMED;
    if (ct_len > out_cap)
        return TI_ELIMIT;
    if (d->etm && !mac_ok(d, hdr, body_len, body.p, body_len, mac.p))
        return TI_EMALFORMED;
    (void)cur_bytes(&body, ivl, &iv);
    (void)cur_bytes(&body, ct_len, &ct);
    /* TLS 1.0 (RFC 2246 6.2.3.2): no IV in the record, the previous
     * record's last ciphertext block chains on. */
    ivp = ivl > 0 ? iv.p : d->iv;
    if (!cbc_decrypt(d, ivp, ct.p, ct_len, out))
        return TI_EMALFORMED;
    plen = cbc_unpad(out, ct_len);
    if (plen < 0)
        return TI_EMALFORMED;
    if (!d->etm) {
        /* MAC-then-encrypt: content | MAC | padding. */
        if ((size_t)plen < ml)
            return TI_EMALFORMED;
        plen -= (long)ml;
        if (!mac_ok(d, hdr, (size_t)plen, out, (size_t)plen, out + plen))
            return TI_EMALFORMED;
    }
    if ((size_t)plen > inner_max(d))
        return TI_EMALFORMED;
    if (ivl == 0)
        memcpy(d->iv, ct.p + ct_len - bl, bl);
    *out_len = (size_t)plen;
    return TI_OK;
}

static int open_null(struct tls12_dir *d, const uint8_t hdr[5],
                     const uint8_t *frag, size_t len, uint8_t *out,
                     size_t out_cap, size_t *out_len)
{
    size_t ml = d->suite.mac_len, plen;

    if (len < ml)
        return TI_EMALFORMED;
    plen = len - ml;
    if (plen > inner_max(d))
        return TI_EMALFORMED;
    if (plen > out_cap)
        return TI_ELIMIT;
    if (!d->mac_unchecked && !mac_ok(d, hdr, plen, frag, plen, frag + plen))
        return TI_EMALFORMED;
    if (plen > 0)
        memcpy(out, frag, plen);
    *out_len = plen;
    return TI_OK;
}

int tls12_open_record(struct tls12_dir *d, const uint8_t hdr[5],
                      const uint8_t *frag, size_t len, uint8_t *out,
                      size_t out_cap, size_t *out_len)
{
    int rc;

    *out_len = 0;
    if (d == NULL || !d->ready)
        return TI_EUNSUPPORTED;
    if (len > TLS12_MAX_CIPHERTEXT || ti_be16(hdr + 3) != len)
        return TI_EMALFORMED;
    switch (d->suite.mode) {
    case TLS12_MODE_GCM:
    case TLS12_MODE_CCM:
    case TLS12_MODE_CHACHA20_POLY1305:
        rc = open_aead(d, hdr, frag, len, out, out_cap, out_len);
        break;
    case TLS12_MODE_CBC:
        rc = open_cbc(d, hdr, frag, len, out, out_cap, out_len);
        break;
    case TLS12_MODE_NULL:
        rc = open_null(d, hdr, frag, len, out, out_cap, out_len);
        break;
    default:
        rc = TI_EUNSUPPORTED;
        break;
    }
    if (rc == TI_OK && d->zs != NULL)
        rc = inflate_record(d, out, out_cap, out_len);
    if (rc == TI_OK)
        d->seq++;
    else
        *out_len = 0;
    return rc;
}

size_t tls12_skip_tail_len(const struct tls12_dir *d)
{
    if (d == NULL || !d->ready || d->suite.mode != TLS12_MODE_CBC ||
        d->suite.record_iv_len != 0)
        return 0;
    return (size_t)d->suite.block_len + (d->etm ? d->suite.mac_len : 0);
}

void tls12_skip_record(struct tls12_dir *d, const uint8_t *tail, size_t tail_len)
{
    size_t need = tls12_skip_tail_len(d);

    if (d == NULL || !d->ready)
        return;
    d->seq++;
    if (need == 0)
        return;
    if (tail == NULL || tail_len < need) {
        d->iv_lost = true;
        return;
    }
    /* The last ciphertext block sits before the MAC under EtM. */
    memcpy(d->iv, tail + tail_len - need, d->suite.block_len);
}
