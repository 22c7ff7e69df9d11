/* bytebuf.c - the test byte builder (see bytebuf.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "support/bytebuf.h"

void b_put(struct b *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->n, d, n);
    b->n += n;
}

void b_u8(struct b *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    b_put(b, &x, 1);
}

void b_u16(struct b *b, unsigned v)
{
    b_u8(b, v >> 8);
    b_u8(b, v);
}

void b_u24(struct b *b, unsigned v)
{
    b_u8(b, v >> 16);
    b_u16(b, v);
}

void b_zero(struct b *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b_u8(b, 0);
}

void b_fill(struct b *b, size_t n, unsigned v)
{
    for (size_t i = 0; i < n; i++)
        b_u8(b, v + (unsigned)i);
}

size_t b_open(struct b *b, int lenbytes)
{
    size_t at = b->n;
    b_zero(b, (size_t)lenbytes);
    return at;
}

void b_close(struct b *b, size_t at, int lenbytes)
{
    size_t len = b->n - at - (size_t)lenbytes;
    for (int i = lenbytes - 1; i >= 0; i--) {
        b->p[at + (size_t)i] = (uint8_t)len;
        len >>= 8;
    }
}

void b_free(struct b *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}
