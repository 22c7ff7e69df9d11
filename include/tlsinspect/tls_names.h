/* tls_names.h - code -> name for cipher suites, signature schemes, groups,
 * extensions, alerts, versions and handshake types.
 *
 * Cipher suite names come from OpenSSL (SSL_CIPHER_find +
 * SSL_CIPHER_standard_name), falling back to a small table for suites
 * OpenSSL does not build, then to NULL.  Other names come from small static
 * tables (struct tok, as tcpdump does).  Returned strings are static.
 */
#ifndef TLSINSPECT_TLS_NAMES_H
#define TLSINSPECT_TLS_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/conn.h"

struct tls_names;   /* holds an SSL_CTX/SSL for SSL_CIPHER_find; read-only after init */

int tls_names_new(struct tls_names **out);
void tls_names_free(struct tls_names *n);

/* IANA standard name ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384") or NULL. */
const char *tls_suite_name(const struct tls_names *n, uint16_t code);
/* Authentication the suite implies: AUTH_RSA, AUTH_ECDSA, AUTH_ANY (TLS 1.3
 * suites), AUTH_PSK, AUTH_ANON, AUTH_DSA, AUTH_OTHER/AUTH_NONE if unknown. */
enum conn_auth tls_suite_auth(const struct tls_names *n, uint16_t code);
/* Key exchange is (EC)DHE (forward secret) and the suite is not TLS 1.3-only. */
bool tls_suite_is_ephemeral_12(const struct tls_names *n, uint16_t code);
bool tls_suite_is_tls13(uint16_t code);
/* OpenSSL's description of the suite (const SSL_CIPHER *, for the
 * SSL_CIPHER_get_* accessors) or NULL when this build does not know it.
 * Valid until tls_names_free. */
struct ssl_cipher_st;
const struct ssl_cipher_st *tls_suite_cipher(const struct tls_names *n, uint16_t code);

bool tls_is_grease(uint16_t code);                 /* RFC 8701 0x?a?a */

const char *tls_sigalg_name(uint16_t code);        /* "ecdsa_secp256r1_sha256" */
enum conn_auth tls_sigalg_auth(uint16_t code);     /* family of the scheme */
const char *tls_group_name(uint16_t code);         /* "x25519", "secp256r1" */
const char *tls_ext_name(uint16_t code);           /* "server_name" */
const char *tls_alert_name(uint8_t code);          /* "unknown_ca" */
const char *tls_alert_level_name(uint8_t level);   /* "warning", "fatal" */
const char *tls_hs_name(uint8_t type);             /* "ClientHello" */
/* "TLS 1.2", "TLS 1.3", "SSL 3.0", "TLS 1.3 draft 16", or NULL; buf for odd
 * values ("0x7f10") must be >= 16 bytes. */
const char *tls_version_name(uint16_t v, char *buf, unsigned buflen);

/* The code -> name tables looked up by binary search, so that a test can
 * assert each stays sorted by code without duplicates (a misplaced entry
 * would make its neighbours unfindable, silently). */
struct tls_name_tok {
    uint16_t code;
    const char *name;
};
struct tls_name_table {
    const char *what;                  /* the table's name in tls_names.c */
    const struct tls_name_tok *toks;
    size_t n;
};
const struct tls_name_table *tls_name_tables(size_t *n);

#endif
