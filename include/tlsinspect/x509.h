/* x509.h - certificate facts, offline chain verification and name checks.
 *
 * Everything X.509 goes through OpenSSL (d2i_X509, X509_STORE_CTX,
 * X509_check_host / X509_check_ip_asc); nothing here parses DER by hand.
 *
 * Certificates are interned: x509_intern() hashes the DER with SHA-256 and
 * returns the one struct x509_cert for those bytes, parsing each distinct
 * certificate once however many connections present it.  The returned pointer
 * stays valid until x509_pool_free().
 *
 * Verification results are cached in the pool keyed by (the chain's SHA-256s,
 * expected name, trust store, verification time rounded down to the day), so
 * ten thousand connections presenting the same chain cost one verification.
 */
#ifndef TLSINSPECT_X509_H
#define TLSINSPECT_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define X509_MAX_SAN 64          /* SAN entries kept per certificate */
#define X509_MAX_STR 1024        /* longest subject/issuer/SAN string kept */
#define X509_MATCHED_MAX 272     /* "DNS:" + a 255-byte host name + slack */
#define X509_POOL_MAX_CERTS (1u << 20)  /* distinct certificates a pool holds */
#define X509_VERIFY_CACHE_MAX 4096      /* cached verdicts; emptied when full */

/* Facts of one certificate.  Strings are NUL-terminated UTF-8 as OpenSSL
 * prints them (RFC 2253 for names); they may contain any byte the
 * certificate carried except NUL, which is escaped as "\0" in text.  NULL
 * means "absent". */
struct x509_cert {
    uint8_t *der;                /* owned copy of the DER bytes */
    size_t der_len;
    uint8_t sha256[32];
    char sha256_hex[65];

    bool parsed;                 /* false: DER undecodable, see parse_error */
    char *parse_error;           /* OpenSSL's reason when !parsed; when parsed,
                                    NULL or a note ("3 trailing bytes after
                                    the certificate": facts are still valid) */

    char *subject;               /* RFC 2253 */
    char *issuer;                /* RFC 2253 */
    char *cn;                    /* first subject CN, or NULL */
    char *san[X509_MAX_SAN];     /* "DNS:x", "IP:1.2.3.4", "URI:..", "email:.." */
    size_t n_san;
    bool san_truncated;          /* more than X509_MAX_SAN entries */
    char key[32];                /* "RSA 2048", "EC P-256", "Ed25519", "unknown" */
    char key_type[16];           /* "RSA", "EC", "DSA", "Ed25519", ... */
    char *signature_algorithm;   /* "sha256WithRSAEncryption", "ecdsa-with-SHA384" */
    int64_t not_before;          /* seconds since the epoch, UTC (negative */
    int64_t not_after;           /* before 1970; 0 if OpenSSL cannot read it) */
    char *serial;                /* hex, upper case, no separators */
    char *ski;                   /* hex or NULL */
    char *aki;                   /* hex key id or NULL */
    bool is_ca;                  /* basicConstraints CA:TRUE */
    bool self_signed;            /* subject == issuer and own key verifies it */

    void *x509;                  /* OpenSSL X509 *, owned by the pool */
};

enum x509_chain_result {
    X509_CHAIN_NOT_CHECKED = 0,  /* no trust store given */
    X509_CHAIN_OK,
    X509_CHAIN_SELF_SIGNED,      /* depth 0 self-signed, not trusted */
    X509_CHAIN_SELF_SIGNED_IN_CHAIN,
    X509_CHAIN_UNKNOWN_ISSUER,   /* missing intermediate or CA not trusted */
    X509_CHAIN_EXPIRED,
    X509_CHAIN_NOT_YET_VALID,
    X509_CHAIN_BAD_SIGNATURE,
    X509_CHAIN_NO_CERTIFICATE,   /* nothing to verify */
    X509_CHAIN_OTHER             /* any other OpenSSL error (see openssl_error) */
};

/* "ok", "self_signed", "self_signed_in_chain", "unknown_issuer", "expired",
 * "not_yet_valid", "bad_signature", "not_checked", "no_certificate", "other" */
const char *x509_chain_result_name(enum x509_chain_result r);

/* X509_NAME_FROM_LOG: the connect address a traffic_server log gives for
 * the server address (--log, diagnostic bundles). */
enum x509_name_source { X509_NAME_FROM_OPTION, X509_NAME_FROM_SNI, X509_NAME_FROM_SERVER_IP,
                        X509_NAME_FROM_LOG };
const char *x509_name_source_name(enum x509_name_source s); /* option|sni|server_ip|log */

/* Small on purpose: every connection holds three.  Its strings are not
 * copied: openssl_error is static text, matched lives in the pool. */
struct x509_verdict {
    enum x509_chain_result result;
    int depth;                   /* depth of the failing certificate, 0 = leaf */
    int openssl_code;            /* X509_V_ERR_*, 0 when ok */
    const char *openssl_error;   /* X509_verify_cert_error_string() or another
                                    static text; NULL when none */
    bool name_checked;
    bool name_ok;
    const char *matched;         /* "DNS:cucm.example.com", "IP:10.0.0.1", "CN:..",
                                    at most X509_MATCHED_MAX - 1 bytes, owned by the
                                    pool (valid until x509_pool_free()); NULL when
                                    nothing matched */
};

struct x509_pool;

/* Trust stores: cafile and capath may be NULL; both NULL means no server
 * trust store (results are X509_CHAIN_NOT_CHECKED).  client_cafile is the
 * server side's trust store for client certificates.  Files may be PEM
 * bundles or single DER certificates; capath may hold PEM or DER files with
 * any name.  Errors are written to errbuf. */
struct x509_trust_opts {
    const char *cafile;
    const char *capath;
    const char *client_cafile;
};

int x509_pool_new(struct x509_pool **out, const struct x509_trust_opts *opts,
                  char *errbuf, size_t errlen);
void x509_pool_free(struct x509_pool *pool);   /* NULL is a no-op */

/* Intern a DER certificate.  Never fails on bad DER (the cert is returned
 * with parsed == false); returns NULL only when out of memory or when the
 * pool already holds X509_POOL_MAX_CERTS certificates. */
const struct x509_cert *x509_intern(struct x509_pool *pool,
                                    const uint8_t *der, size_t len);

/* Verify a chain as sent (chain[0] = leaf) at time `at` (seconds since the
 * epoch) against the server trust store (client == false, purpose sslserver)
 * or the client trust store (client == true, purpose sslclient), and check
 * `expected_name` (DNS name or IP literal; NULL or "" = no name check) with
 * X509_check_host / X509_check_ip_asc semantics.  Cached.
 *
 * n == 0: X509_CHAIN_NO_CERTIFICATE, no name check.  No trust store for the
 * role: X509_CHAIN_NOT_CHECKED, the name is still checked.  An undecodable
 * leaf: X509_CHAIN_OTHER ("certificate could not be decoded") and name_ok
 * false; undecodable intermediates are left out.  The chain is judged at
 * `at` exactly, but the cache key holds `at` rounded down to the UTC day, so
 * later calls on the same day get the first verdict.  Returns TI_EUSAGE
 * for NULL arguments, TI_ENOMEM, else 0. */
int x509_verify(struct x509_pool *pool, const struct x509_cert *const *chain,
                size_t n, int64_t at, const char *expected_name, bool client,
                struct x509_verdict *out);

/* How many real (uncached) verifications ran; for tests and the benchmark. */
uint64_t x509_verify_count(const struct x509_pool *pool);
size_t x509_pool_size(const struct x509_pool *pool);   /* certificates held */
bool x509_have_trust(const struct x509_pool *pool, bool client);

/* What a trust store option loaded, for the reports' "options": the
 * SHA-256 of the file's bytes (--capath: of the listing `sha256sum` prints
 * for the directory's regular files in byte order of their names, one
 * "HEX  NAME\n" line each) and the certificates taken from it. */
enum x509_trust_src { X509_TRUST_CAFILE = 0, X509_TRUST_CAPATH, X509_TRUST_CLIENT_CAFILE,
                      X509_TRUST_NSRC };
struct x509_trust_info {
    bool loaded;                    /* the option was given and read */
    uint8_t sha256[32];
    uint64_t certs;
    uint64_t files;                 /* --capath: regular files hashed */
};
const struct x509_trust_info *x509_trust_info(const struct x509_pool *pool,
                                              enum x509_trust_src src);

/* The server trust store's certificates (--cafile, --capath), interned so
 * their facts are parsed: at most max of them into out, in the store's
 * order; returns how many.  0 without a trust store. */
size_t x509_trust_certs(struct x509_pool *pool, const struct x509_cert **out, size_t max);

/* What loading the trust stores warned about ("FILE: PEM block 2 is
 * damaged (...); skipped"): *out points at the pool's strings, valid while
 * the pool lives.  Returns their number (at most X509_POOL_MAX_WARNINGS). */
#define X509_POOL_MAX_WARNINGS 64
size_t x509_pool_warnings(const struct x509_pool *pool, const char *const **out);

#endif
