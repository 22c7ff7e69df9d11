/* tls13_keylog.h - NSS key log (SSLKEYLOGFILE) and TLS 1.3 handshake record decryption.
 *
 * Key log: one secret per line, as written by NSS, OpenSSL
 * (SSL_CTX_set_keylog_callback), curl, browsers and read by tshark:
 *
 *     # comment
 *     LABEL <client_random: 64 hex digits> <secret: hex>
 *
 * LABEL is one of CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET,
 * CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0, EXPORTER_SECRET,
 * CLIENT_EARLY_TRAFFIC_SECRET, EARLY_EXPORTER_SECRET (TLS 1.3),
 * CLIENT_RANDOM (TLS 1.2 master secret); RSA, ECH_SECRET and ECH_CONFIG
 * lines are tolerated and ignored.  Anything else is a warning naming the
 * line number; the line is skipped.  The secrets are grouped by client
 * random (the ClientHello's 32-byte random, RFC 8446 4.1.2), which is how a
 * connection finds its own.  Loading is bounded (TLS_KEYLOG_MAX_*).
 *
 * Record decryption (RFC 8446 5.2-5.4, 7.3): a struct tls13_dir_keys holds
 * one direction's write key and IV derived from its traffic secret with
 * HKDF-Expand-Label (OpenSSL EVP_KDF "HKDF", expand only), and its record
 * sequence number.  tls13_open_record() decrypts one TLSCiphertext with the
 * suite's AEAD (OpenSSL EVP): nonce = IV xor sequence, additional data = the
 * 5-byte record header; the padding zeros are stripped and the inner content
 * type returned.  Suites: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
 * TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256, TLS_AES_128_CCM_8_SHA256.
 * The traffic secret is kept with the keys so that tls13_keys_update() can
 * follow a KeyUpdate (RFC 8446 4.6.3, 7.2) without the key log.
 */
#ifndef TLSINSPECT_TLS13_KEYLOG_H
#define TLSINSPECT_TLS13_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_KEYLOG_MAX_LINES     4000000u  /* lines read before giving up on the rest */
#define TLS_KEYLOG_MAX_SECRETS   1000000u  /* secret lines kept (about 100 bytes each) */
#define TLS_KEYLOG_MAX_LINE      4096u     /* characters per line (ECH_CONFIG is the longest) */
#define TLS_KEYLOG_MAX_WARNINGS  20u       /* bad lines reported one by one, then a count */
#define TLS_KEYLOG_RANDOM_LEN    32u       /* client random */
#define TLS13_MAX_SECRET         48u       /* SHA-384 traffic secret */
#define TLS12_MASTER_LEN         48u       /* CLIENT_RANDOM master secret */
#define TLS13_MAX_KEY            32u
#define TLS13_IV_LEN             12u       /* RFC 8446 5.3: iv_length is 12 for every suite here */
#define TLS13_MAX_CIPHERTEXT     (16384u + 256u)  /* RFC 8446 5.2: 2^14 + 256 */

/* The secrets of one key log line, by label. */
enum tls_keylog_label {
    TLS_KL_CLIENT_HS = 0,      /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
    TLS_KL_SERVER_HS,          /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
    TLS_KL_CLIENT_AP0,         /* CLIENT_TRAFFIC_SECRET_0 */
    TLS_KL_SERVER_AP0,         /* SERVER_TRAFFIC_SECRET_0 */
    TLS_KL_EXPORTER,           /* EXPORTER_SECRET */
    TLS_KL_CLIENT_EARLY,       /* CLIENT_EARLY_TRAFFIC_SECRET */
    TLS_KL_EARLY_EXPORTER,     /* EARLY_EXPORTER_SECRET */
    TLS_KL_MASTER,             /* CLIENT_RANDOM: TLS 1.2 master secret (48 bytes) */
    TLS_KL_COUNT
};

struct tls_keylog_secret {
    uint8_t len;               /* 0: absent */
    uint8_t v[TLS13_MAX_SECRET];
};

/* Every secret logged for one client random. */
struct tls_keylog_entry {
    uint8_t client_random[TLS_KEYLOG_RANDOM_LEN];
    struct tls_keylog_secret s[TLS_KL_COUNT];
};

struct tls_keylog {
    struct tls_keylog_entry *entries;   /* owned, sorted by client random */
    size_t n_entries;
    uint64_t lines;                     /* lines read */
    uint64_t secrets;                   /* secret lines accepted */
    uint64_t bad_lines;                 /* lines warned about */
};

/* A bad line: `line` is 1-based; msg says why ("unknown label FOO", ...). */
typedef void (*tls_keylog_warn_fn)(void *ctx, unsigned long line, const char *msg);

/* Read a key log file.  Bad lines are passed to warn (may be NULL), at most
 * TLS_KEYLOG_MAX_WARNINGS of them one by one and then one summary (line 0).
 * Returns TI_OK (possibly with no usable secret), TI_EIO when the file
 * cannot be read ("PATH: why" in errbuf), TI_ENOMEM. */
int tls_keylog_load(struct tls_keylog **out, const char *path,
                    tls_keylog_warn_fn warn, void *warn_ctx,
                    char *errbuf, size_t errlen);
/* The same from bytes in memory (tests, fuzzing). */
int tls_keylog_load_mem(struct tls_keylog **out, const char *data, size_t len,
                        tls_keylog_warn_fn warn, void *warn_ctx,
                        char *errbuf, size_t errlen);
void tls_keylog_free(struct tls_keylog *kl);   /* NULL is a no-op */

/* The secrets logged for this client random, NULL when none (or kl NULL).
 * Valid until tls_keylog_free. */
const struct tls_keylog_entry *tls_keylog_find(const struct tls_keylog *kl,
                                               const uint8_t random[TLS_KEYLOG_RANDOM_LEN]);

/* ---- TLS 1.3 record protection ------------------------------------------ */

/* One direction's handshake (or application) traffic keys.  Zero it (or
 * call tls13_keys_clear) before first use; tls13_keys_clear frees the
 * OpenSSL context and wipes the key. */
struct tls13_dir_keys {
    bool ready;
    uint16_t suite;
    const void *aead;          /* internal: the suite's table entry */
    uint8_t key[TLS13_MAX_KEY];
    uint8_t iv[TLS13_IV_LEN];
    uint64_t seq;              /* next record's sequence number (RFC 8446 5.3) */
    void *ctx;                 /* EVP_CIPHER_CTX, reused for every record */
    uint8_t secret[TLS13_MAX_SECRET];  /* the traffic secret the keys came from */
    uint8_t secret_len;
    uint32_t generation;       /* KeyUpdates followed since tls13_keys_init */
};

/* Is this a TLS 1.3 suite tlsinspect can decrypt?  hash_len: the length of
 * its traffic secrets (32 or 48); may be NULL. */
bool tls13_suite_supported(uint16_t suite, size_t *hash_len);

/* RFC 8446 7.1 HKDF-Expand-Label(secret, label, context, out_len) with the
 * hash named md_name ("SHA256", "SHA384"); label without the "tls13 " prefix. */
int tls13_hkdf_expand_label(const char *md_name, const uint8_t *secret,
                            size_t secret_len, const char *label,
                            const uint8_t *context, size_t context_len,
                            uint8_t *out, size_t out_len);

/* RFC 8446 7.3: key and IV from the traffic secret; the sequence restarts
 * at 0.  TI_EUNSUPPORTED for another suite, TI_EMALFORMED when the secret's
 * length is not the suite's hash length. */
int tls13_keys_init(struct tls13_dir_keys *k, uint16_t suite,
                    const uint8_t *secret, size_t secret_len);
void tls13_keys_clear(struct tls13_dir_keys *k);

/* RFC 8446 7.2: the next generation after a KeyUpdate,
 *   application_traffic_secret_N+1 =
 *       HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length)
 * and its key and IV (7.3); the sequence restarts at 0 and generation
 * counts up.  TI_EUNSUPPORTED: keys not ready (nothing changes then). */
int tls13_keys_update(struct tls13_dir_keys *k);

/* Open one record: hdr is its 5-byte header (the additional data), ct/len
 * its fragment (ciphertext and tag).  The plaintext without padding goes
 * to out (out_cap >= len is always enough), its length to *out_len and
 * the inner content type to *inner_type; the sequence number advances.
 * TI_EMALFORMED: tag check failed, too short, or all padding (no content
 * type); TI_ELIMIT: out_cap too small; TI_EUNSUPPORTED: keys not ready. */
int tls13_open_record(struct tls13_dir_keys *k, const uint8_t hdr[5],
                      const uint8_t *ct, size_t len, uint8_t *out,
                      size_t out_cap, size_t *out_len, uint8_t *inner_type);

#endif
