/* bytebuf.h - a growable byte builder for hand-made wire messages in tests.
 *
 *   struct b m = {0};
 *   b_u16(&m, 0x0303);
 *   size_t at = b_open(&m, 2);     // a length-prefixed vector
 *   b_u8(&m, 1);
 *   b_close(&m, at, 2);            // patches the 2-byte length
 *   ... m.p, m.n ...; b_free(&m);
 *
 * Allocation failures fail the running cmocka test.
 */
#ifndef TLSINSPECT_TESTS_BYTEBUF_H
#define TLSINSPECT_TESTS_BYTEBUF_H

#include <stddef.h>
#include <stdint.h>

struct b {
    uint8_t *p;
    size_t n, cap;
};

void b_put(struct b *b, const void *d, size_t n);
void b_u8(struct b *b, unsigned v);
void b_u16(struct b *b, unsigned v);
void b_u24(struct b *b, unsigned v);
void b_zero(struct b *b, size_t n);
/* n bytes v, v+1, v+2, ... (mod 256). */
void b_fill(struct b *b, size_t n, unsigned v);
/* Open a vector with a lenbytes-long length prefix; b_close patches it. */
size_t b_open(struct b *b, int lenbytes);
void b_close(struct b *b, size_t at, int lenbytes);
void b_free(struct b *b);

#endif
