/* tls12_decrypt.h - TLS 1.0-1.2 record decryption with a key log's master secret.
 *
 * A key log's CLIENT_RANDOM line gives the 48-byte master secret of a TLS
 * 1.0-1.2 session (tls13_keylog.h keeps it, label TLS_KL_MASTER).  From it,
 * RFC 5246 6.3 (RFC 4346 6.3, RFC 2246 6.3 for 1.1 and 1.0):
 *
 *     key_block = PRF(master_secret, "key expansion",
 *                     server_random + client_random)
 *               = client_write_MAC_key | server_write_MAC_key |
 *                 client_write_key     | server_write_key     |
 *                 client_write_IV      | server_write_IV
 *
 * with the TLS 1.2 PRF over the suite's PRF hash (SHA-256 unless the suite
 * names SHA-384) or the TLS 1.0/1.1 MD5+SHA-1 PRF (OpenSSL EVP_KDF
 * "TLS1-PRF", digest "MD5-SHA1").  A struct tls12_dir holds one direction's
 * keys and its record sequence number, which starts at 0 at that side's
 * ChangeCipherSpec and counts every record it sends after it.
 *
 * Record layouts (the 5-byte header type(1) version(2) length(2) precedes):
 *
 *   AES-GCM / AES-CCM (RFC 5288, RFC 6655):
 *       nonce_explicit(8) | ciphertext | tag(16, or 8 for CCM_8)
 *       nonce = write_IV(4) | nonce_explicit
 *   ChaCha20-Poly1305 (RFC 7905):
 *       ciphertext | tag(16); nonce = write_IV(12) xor (0^4 | seq(8))
 *       (both AEADs: additional data = seq(8) type(1) version(2) length(2)
 *        of the plaintext)
 *   CBC, MAC-then-encrypt (RFC 5246 6.2.3.2):
 *       [IV (TLS 1.1+)] | E(content | MAC | padding | padding_length)
 *       MAC = HMAC(mac_key, seq type version length(content) content);
 *       TLS 1.0 chains the IV: the key block's IV first, then the last
 *       ciphertext block of the previous record.
 *   CBC, encrypt-then-MAC (RFC 7366, both hellos carried extension 22):
 *       IV | E(content | padding | padding_length) | MAC
 *       MAC = HMAC(mac_key, seq type version length(IV + ciphertext)
 *                  IV + ciphertext)
 *   NULL cipher (TLS_RSA_WITH_NULL_SHA256, ...): content | MAC.
 *
 * Suite parameters come from OpenSSL (SSL_CIPHER_find through
 * tls_suite_cipher; cipher, MAC digest and handshake digest NIDs); ciphers
 * and HMAC are OpenSSL EVP.  SSL 3.0, RC4 and other stream ciphers are not
 * supported (TI_EUNSUPPORTED).  TLS compression DEFLATE (RFC 3749, method
 * 1) is undone after opening (tls12_dir_set_deflate); other methods are not
 * supported (the caller checks the ServerHello).  A record that does not authenticate (tag, MAC or
 * padding) is TI_EMALFORMED: with a well-formed capture that means the key
 * log's secret is not this session's.
 */
#ifndef TLSINSPECT_TLS12_DECRYPT_H
#define TLSINSPECT_TLS12_DECRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/tls_names.h"

#define TLS12_MASTER_SECRET_LEN 48u
#define TLS12_RANDOM_LEN        32u
#define TLS12_MAX_KEY           32u     /* AES-256, ChaCha20 */
#define TLS12_MAX_MAC_KEY       48u     /* HMAC-SHA384 */
#define TLS12_MAX_IV            16u     /* AES block; ChaCha20-Poly1305 needs 12 */
#define TLS12_MAX_BLOCK         16u
/* RFC 5246 6.2.3: a TLSCiphertext fragment is at most 2^14 + 2048 bytes,
 * its plaintext at most 2^14 (6.2.1). */
#define TLS12_MAX_CIPHERTEXT    (16384u + 2048u)
#define TLS12_MAX_PLAINTEXT     16384u
/* RFC 5246 6.2.2: a TLSCompressed fragment is at most 2^14 + 1024 bytes. */
#define TLS12_MAX_COMPRESSED    (16384u + 1024u)

enum tls12_mode {
    TLS12_MODE_NONE = 0,
    TLS12_MODE_NULL,          /* no encryption, HMAC only */
    TLS12_MODE_CBC,
    TLS12_MODE_GCM,
    TLS12_MODE_CCM,
    TLS12_MODE_CHACHA20_POLY1305
};

/* What record protection a suite uses at a protocol version. */
struct tls12_suite {
    uint16_t code;
    uint16_t version;         /* 0x0301 .. 0x0303 */
    enum tls12_mode mode;
    int cipher_nid;           /* NID_undef for TLS12_MODE_NULL */
    uint8_t key_len;          /* enc_key_length */
    uint8_t fixed_iv_len;     /* key block IV: 4 (GCM, CCM), 12 (ChaCha), block (CBC), 0 */
    uint8_t record_iv_len;    /* explicit per record: 8 (GCM, CCM), block (CBC 1.1+), 0 */
    uint8_t block_len;        /* CBC block size, else 1 */
    uint8_t tag_len;          /* AEAD tag: 16, or 8 (CCM_8) */
    int mac_nid;              /* HMAC digest (NID_undef for AEAD) */
    uint8_t mac_len;          /* = mac_key_length (RFC 5246 6.2.3.1) */
    const char *prf_md;       /* "SHA256", "SHA384" or "MD5-SHA1" (TLS 1.0/1.1) */
};

/* Fill *out for suite `code` negotiated at `version`.  TI_EUNSUPPORTED:
 * unknown to OpenSSL, SSL 3.0, TLS 1.3, a stream cipher, export or an
 * AEAD suite below TLS 1.2. */
int tls12_suite_lookup(const struct tls_names *names, uint16_t code,
                       uint16_t version, struct tls12_suite *out);

/* RFC 5246 5: PRF(secret, label, seed1 + seed2) with the suite's hash
 * (md_name as in struct tls12_suite.prf_md); out_len bytes. */
int tls12_prf(const char *md_name, const uint8_t *secret, size_t secret_len,
              const char *label, const uint8_t *seed1, size_t seed1_len,
              const uint8_t *seed2, size_t seed2_len, uint8_t *out,
              size_t out_len);

/* One direction's record protection.  Zero it before first use;
 * tls12_dir_clear frees the OpenSSL objects and wipes the keys. */
struct tls12_dir {
    bool ready;
    bool etm;                 /* RFC 7366 encrypt-then-MAC (CBC only) */
    bool iv_lost;             /* TLS 1.0 CBC: a record was skipped, its chained IV is unknown */
    bool mac_unchecked;       /* a NULL suite read without keys: the MAC is cut off, not checked */
    struct tls12_suite suite;
    uint8_t mac_key[TLS12_MAX_MAC_KEY];
    uint8_t key[TLS12_MAX_KEY];
    uint8_t iv[TLS12_MAX_IV]; /* fixed IV / AEAD salt; TLS 1.0 CBC: the next record's IV */
    uint64_t seq;             /* next record's sequence number (RFC 5246 6.1) */
    void *cipher;             /* EVP_CIPHER, fetched once */
    void *cctx;               /* EVP_CIPHER_CTX, reused for every record */
    void *mac;                /* EVP_MAC "HMAC", fetched once */
    void *mctx;               /* EVP_MAC_CTX */
    void *zs;                 /* z_stream inflating DEFLATE records; NULL without compression */
    uint8_t *zbuf;            /* TLS12_MAX_PLAINTEXT + 1: one record's inflated content */
    bool zfailed;             /* the DEFLATE stream was corrupt or a record inflated too far */
};

/* Derive the key block and keep direction `dir`'s half (DIR_CLIENT: the
 * client_write keys).  etm: both hellos carried encrypt_then_mac (ignored
 * unless the suite is CBC).  The sequence number starts at 0.
 * TI_EMALFORMED: master_len is not 48; TI_ENOMEM / TI_EUNSUPPORTED from
 * OpenSSL.  On failure *d is left cleared. */
int tls12_dir_init(struct tls12_dir *d, const struct tls12_suite *suite,
                   bool etm, enum conn_dir dir, const uint8_t *master,
                   size_t master_len,
                   const uint8_t client_random[TLS12_RANDOM_LEN],
                   const uint8_t server_random[TLS12_RANDOM_LEN]);
void tls12_dir_clear(struct tls12_dir *d);   /* NULL or zeroed: no-op */

/* A NULL suite (TLS12_MODE_NULL) without the master secret: its records
 * are the plaintext followed by the MAC (RFC 5246 6.2.3.1), so they are
 * read without keys; the MAC is cut off unchecked (mac_unchecked).
 * TI_EUNSUPPORTED for any other mode. */
int tls12_dir_init_unkeyed(struct tls12_dir *d, const struct tls12_suite *suite);

/* TLS compression DEFLATE (RFC 3749) was negotiated: after each record is
 * opened its content is inflated.  One zlib stream (RFC 1950) per
 * direction, from that side's ChangeCipherSpec on, carries its history
 * across records, each ending in a Z_SYNC_FLUSH: so every record of the
 * direction must be opened in order, application data too.  Call after
 * tls12_dir_init.  TI_ENOMEM, TI_EUNSUPPORTED (not ready). */
int tls12_dir_set_deflate(struct tls12_dir *d);

/* Open one record: hdr is its 5-byte header, frag/len its fragment.  The
 * content goes to out (out_cap >= len is always enough), its length to
 * *out_len; the sequence number advances (and TLS 1.0's CBC IV chains).
 * Errors leave the state unchanged:
 *   TI_EMALFORMED   tag, MAC or padding check failed, or the fragment is
 *                   too short / too long / not a whole number of blocks
 *   TI_ELIMIT       out_cap too small
 *   TI_EUNSUPPORTED not ready, or TLS 1.0 CBC after tls12_skip_record
 * With DEFLATE the content is inflated; a corrupt stream, or a record that
 * inflates beyond 2^14 bytes (RFC 5246 6.2.2: decompression_failure), is
 * TI_EMALFORMED with zfailed set, and every later record of the direction
 * fails too: the stream's history is lost. */
int tls12_open_record(struct tls12_dir *d, const uint8_t hdr[5],
                      const uint8_t *frag, size_t len, uint8_t *out,
                      size_t out_cap, size_t *out_len);

/* A record of this direction was not opened (application data): count it.
 * TLS 1.0 CBC chains the IV through every record, so the skipped record's
 * last tls12_skip_tail_len() bytes must be passed as tail (tail_len at
 * least that); without them (NULL) later records cannot be opened
 * (iv_lost). */
size_t tls12_skip_tail_len(const struct tls12_dir *d);
void tls12_skip_record(struct tls12_dir *d, const uint8_t *tail, size_t tail_len);

#endif
