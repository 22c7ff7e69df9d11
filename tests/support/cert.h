/* cert.h - a real certificate for tests that need DER bytes to carry.
 *
 * Tests of the TLS parser put a certificate in a Certificate message and
 * check that the one interned is the one sent; any well-formed certificate
 * will do, so it is minted on the spot with OpenSSL rather than stored.
 */
#ifndef TLSINSPECT_TESTS_CERT_H
#define TLSINSPECT_TESTS_CERT_H

#include <stddef.h>
#include <stdint.h>

/* A self-signed P-256 certificate for CN `cn` with serial `serial`, valid
 * from now for a day; *der is allocated by OpenSSL (OPENSSL_free() it, or
 * free() as the tests do).  Returns its length; failures fail the test. */
size_t test_cert_self_signed(const char *cn, long serial, uint8_t **der);

#endif
