/* seedrand.c - OpenSSL's random numbers made deterministic, for the generator only.
 *
 * A fixture's bytes depend on every random number OpenSSL draws while the
 * handshake runs: TLS randoms, session ids, ECDHE and X25519 key shares, RSA-PSS
 * salts, ECDSA nonces, session-ticket keys and, when the PKI is minted anew,
 * the keys themselves.  Replacing the default RAND_METHOD routes all of them
 * (libssl and the default provider both call RAND_bytes_ex/RAND_priv_bytes_ex,
 * which defer to a non-default method) through one stream seeded from the
 * fixture's name, so `make captures` rewrites identical bytes and a golden
 * diff after regeneration shows only what the code changed.
 *
 * The stream is SHA-256(seed || counter): no secrecy is wanted, only the same
 * bytes on every run and on every machine.  RAND_METHOD callbacks take no
 * context, so the state is a file-level static; the generator is a
 * single-threaded test program (tlsinspect itself never links this file).
 */
#define OPENSSL_SUPPRESS_DEPRECATED   /* RAND_METHOD is deprecated in 3.0, still honoured */
#include "gen/gen.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

static struct {
    unsigned char seed[SHA256_DIGEST_LENGTH];
    uint64_t counter;
    unsigned char block[SHA256_DIGEST_LENGTH];
    size_t used;                    /* bytes of block already handed out */
} sr;

static int sr_bytes(unsigned char *out, int num)
{
    for (int i = 0; i < num; i++) {
        if (sr.used == sizeof sr.block) {
            unsigned char in[sizeof sr.seed + 8];

            memcpy(in, sr.seed, sizeof sr.seed);
            for (int b = 0; b < 8; b++)
                in[sizeof sr.seed + b] = (unsigned char)(sr.counter >> (8 * b));
            sr.counter++;
            SHA256(in, sizeof in, sr.block);
            sr.used = 0;
        }
        out[i] = sr.block[sr.used++];
    }
    return 1;
}

/* Entropy offered by OpenSSL (or anyone) is ignored: mixing it in would undo
 * the point of the method. */
static int sr_seed(const void *buf, int num)
{
    (void)buf;
    (void)num;
    return 1;
}

static int sr_add(const void *buf, int num, double entropy)
{
    (void)buf;
    (void)num;
    (void)entropy;
    return 1;
}

static int sr_status(void)
{
    return 1;
}

static const RAND_METHOD seeded_method = {
    .seed = sr_seed,
    .bytes = sr_bytes,
    .cleanup = NULL,
    .add = sr_add,
    .pseudorand = sr_bytes,
    .status = sr_status,
};

int gen_rand_seed(const char *label)
{
    SHA256((const unsigned char *)label, strlen(label), sr.seed);
    sr.counter = 0;
    sr.used = sizeof sr.block;
    if (RAND_get_rand_method() != &seeded_method && RAND_set_rand_method(&seeded_method) != 1) {
        fprintf(stderr, "gen: RAND_set_rand_method failed\n");
        return -1;
    }
    return 0;
}
