/* hash.h - one fast non-cryptographic hash for the lookup tables.
 *
 * Used where a table finds an entry by a hash and then compares the whole
 * key (certificate DER, verdict keys, ClientHello fingerprint keys): the
 * hash only spreads keys over slots.  64-bit words through a
 * multiply-xorshift mixer, the tail as one partial word, splitmix64's
 * finaliser at the end.  Not for anything an attacker must not steer: a
 * crafted collision costs a probe, never a wrong answer.
 */
#ifndef TLSINSPECT_HASH_H
#define TLSINSPECT_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t ti_hash_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 31);
}

static inline uint64_t ti_hash_bytes(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

    if (n >= 32) {
        /* four independent lanes: a certificate's DER or a long remedy is
         * hashed once a connection, and one serial chain of multiplies was
         * its latency */
        uint64_t l[4] = {h, h ^ 0x6a09e667f3bcc908ULL, h ^ 0xbb67ae8584caa73bULL,
                         h ^ 0x3c6ef372fe94f82bULL};
        for (; n >= 32; p += 32, n -= 32)
            for (int k = 0; k < 4; k++) {
                memcpy(&w, p + 8 * k, 8);
                l[k] = ti_hash_mix(l[k], w);
            }
        h = ti_hash_mix(ti_hash_mix(ti_hash_mix(l[0], l[1]), l[2]), l[3]);
    }
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = ti_hash_mix(h, w);
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, p, n);
        h = ti_hash_mix(h, w);
    }
    h ^= h >> 29;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 32);
}

/* For keys hashed field by field (h = ti_hash_add(h, field, size), from
 * TI_HASH_SEED): the fold groups, the problems, the text aggregates.  Each
 * field goes through ti_hash_bytes() a word at a time (keys hold remedy
 * texts and ClientHello lists hundreds of bytes long, hashed once a
 * connection), then one multiply-xorshift chains it to the fields before. */
#define TI_HASH_SEED 0x243f6a8885a308d3ULL

static inline uint64_t ti_hash_add(uint64_t h, const void *data, size_t n)
{
    return ti_hash_mix(h, ti_hash_bytes(data, n));
}

#endif
