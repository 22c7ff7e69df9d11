/* tls_msg.h - TLS handshake message bodies (internal to the TLS parser).
 *
 * Decoders for the messages tlsinspect reads, each over one complete body
 * (the handshake layer in tls_record.c has already reassembled it):
 *
 *   Handshake        type(1) length(3) body                 RFC 8446 4
 *   ClientHello      version(2) random(32) session_id<0..32>
 *                    cipher_suites<2..2^16-2> compression<1..2^8-1>
 *                    [extensions<0..2^16-1>]                RFC 8446 4.1.2, RFC 5246 7.4.1.2
 *   SSLv2 hello      type(1)=1 version(2) spec_len(2) sid_len(2) chal_len(2)
 *                    specs(3 each) session_id challenge     RFC 5246 E.2
 *   ServerHello      version(2) random(32) session_id<0..32> suite(2)
 *                    compression(1) [extensions<0..2^16-1>] RFC 8446 4.1.3
 *   ServerHello of TLS 1.3 drafts < 22 (version 0x7f00-0x7f15):
 *                    version(2) random(32) suite(2) extensions<0..2^16-1>
 *                                                           draft-ietf-tls-tls13-16 4.1.3
 *   Certificate 1.2  certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>
 *   Certificate 1.3  context<0..255> list<0..2^24-1> of {cert<1..2^24-1>
 *                    extensions<0..2^16-1>}                 RFC 8446 4.4.2
 *   Alert            level(1) description(1)                RFC 8446 6
 *
 * Return values: TI_OK; TI_ETRUNC when the body ends before an outer
 * length-prefixed field it announces (every proper prefix of a valid body
 * gives TI_ETRUNC, except where the grammar itself allows the message to end,
 * e.g. a ClientHello without extensions); TI_EMALFORMED when the bytes are
 * wrong (an inner vector overruns its parent, an odd suite list, trailing
 * bytes); TI_ENOMEM.  On any error the output is left untouched: no
 * partial facts.
 */
#ifndef TLSINSPECT_TLS_MSG_H
#define TLSINSPECT_TLS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/cur.h"
#include "tlsinspect/tls_names.h"
#include "tlsinspect/x509.h"

/* RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest
 * (SHA-256 of "HelloRetryRequest"). */
extern const uint8_t TLS_HRR_RANDOM[32];

/* Handshake header: type(1) length(3); *body borrows the body. */
int tls_msg_header(struct cur *c, uint8_t *type, struct cur *body);

/* JA3/JA4 digests already computed, by their exact input: one per
 * analysis (not shared between threads).  A capture's ClientHellos mostly
 * repeat, and an EVP digest costs more than parsing the hello. */
struct tls_fp_memo;
int tls_fp_memo_new(struct tls_fp_memo **out);
void tls_fp_memo_free(struct tls_fp_memo *m);            /* NULL is a no-op */
void tls_fp_memo_stats(const struct tls_fp_memo *m, uint64_t *hits, uint64_t *misses);

/* ClientHello body.  *out must be zeroed (or freed) storage; on success it
 * owns suites/sni/alpn (released by conn_free) and has preferred_auth, JA3
 * and JA4 set (through memo, which may be NULL).  note (may be NULL)
 * receives the first problem found in an extension body ("" if none): such
 * a hello is still accepted. */
int tls_msg_client_hello(const uint8_t *body, size_t len,
                         const struct tls_names *names, struct tls_fp_memo *memo,
                         struct conn_client_hello *out,
                         char *note, size_t notelen);

/* Lenient reading of a ClientHello tls_msg_client_hello rejected, as
 * Wireshark reads one field by field: version, random, session_id and the
 * cipher suites must be whole (else the same error as the strict decoder);
 * after them, compression methods of any length are accepted, and the
 * extensions that frame before the first broken one are kept (their bodies
 * parsed as usual); bytes after the extension list are ignored.  On success
 * note says what was lost.  Used so that a damaged hello still shows what
 * the client offered. */
int tls_msg_client_hello_salvage(const uint8_t *body, size_t len,
                                 const struct tls_names *names, struct tls_fp_memo *memo,
                                 struct conn_client_hello *out,
                                 char *note, size_t notelen);

/* SSLv2-compatible ClientHello: msg starts at msg_type, after the 2-byte
 * record header.  Only 0x00XXXX cipher specs are kept (as TLS suites). */
int tls_msg_sslv2_client_hello(const uint8_t *msg, size_t len,
                               const struct tls_names *names,
                               struct conn_client_hello *out);

/* True for a TLS 1.3 draft version (0x7fNN, NN < 22) whose ServerHello has
 * neither session_id nor compression. */
bool tls_msg_sh_is_early_draft(uint16_t version);

/* ServerHello body (either layout); sets hrr, version (supported_versions if
 * present, else the version field), auth. */
int tls_msg_server_hello(const uint8_t *body, size_t len,
                         const struct tls_names *names,
                         struct conn_server_hello *out,
                         char *note, size_t notelen);

/* Certificate body (1.2 or 1.3 form).  Interns up to cap certificates into
 * certs[] (order kept), *n = how many, *truncated when the list had more.
 * The whole message is validated before anything is interned. */
int tls_msg_certificate(const uint8_t *body, size_t len, bool tls13,
                        struct x509_pool *pool,
                        const struct x509_cert **certs, uint16_t cap,
                        uint16_t *n, bool *truncated);

/* Alert body: exactly 2 bytes. */
int tls_msg_alert(const uint8_t *body, size_t len, uint8_t *level,
                  uint8_t *description);

/* The client's preferred authentication (SPEC): for a TLS 1.3-only offer
 * the family of the first signature algorithm; otherwise the auth of the
 * first (EC)DHE suite that is not TLS 1.3-only (GREASE skipped), falling back
 * to the first suite with a certificate-based auth, then to the first
 * signature algorithm.  Sets preferred_auth and preferred_suite. */
void tls_msg_preferred_auth(struct conn_client_hello *h,
                            const struct tls_names *names);

/* JA3 (Salesforce): "version,ciphers,extensions,groups,point_formats",
 * decimal, '-'-joined, GREASE excluded.  Writes at most buflen-1 chars plus
 * NUL and returns the full length.  tls_msg_ja3 stores its MD5 hex. */
size_t tls_msg_ja3_string(const struct conn_client_hello *h, char *buf,
                          size_t buflen);
int tls_msg_ja3(const struct conn_client_hello *h, char out[33]);

/* JA4 (FoxIO) for TLS over TCP.  alpn0 is the first ALPN protocol name as
 * sent (NULL/0 when none). */
int tls_msg_ja4(const struct conn_client_hello *h, const uint8_t *alpn0,
                size_t alpn0_len, char out[40]);

#endif
