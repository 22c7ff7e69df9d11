/* cur.h - bounds-checked reading cursor for every wire format we parse.
 *
 * struct cur is a borrowed view [p, end) of bytes owned by someone else; no
 * function here allocates.  Every read compares the requested length with
 * what is left (never forms p + n before that check, cf. redis ziplist).
 * On a short read the cursor is left unchanged and TI_ETRUNC is returned.
 *
 *   struct cur c = cur_make(buf, len), sub;
 *   if (cur_u16(&c, &v) || cur_vec(&c, 2, &sub)) return TI_ETRUNC;
 *   ... parse sub ...; if (!cur_done(&sub)) return TI_EMALFORMED;
 */
#ifndef TLSINSPECT_CUR_H
#define TLSINSPECT_CUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/err.h"

struct cur {
    const uint8_t *p;
    const uint8_t *end;
};

static inline struct cur cur_make(const uint8_t *p, size_t n)
{
    struct cur c;
    c.p = p;
    c.end = p ? p + n : p;
    return c;
}

static inline size_t cur_left(const struct cur *c)
{
    return (size_t)(c->end - c->p);
}

/* True when the block was consumed exactly. */
static inline bool cur_done(const struct cur *c)
{
    return c->p == c->end;
}

static inline int cur_skip(struct cur *c, size_t n)
{
    if (n > cur_left(c))
        return TI_ETRUNC;
    c->p += n;
    return TI_OK;
}

static inline int cur_u8(struct cur *c, uint8_t *v)
{
    if (cur_left(c) < 1)
        return TI_ETRUNC;
    *v = c->p[0];
    c->p += 1;
    return TI_OK;
}

static inline int cur_u16(struct cur *c, uint16_t *v)
{
    if (cur_left(c) < 2)
        return TI_ETRUNC;
    *v = (uint16_t)((unsigned)c->p[0] << 8 | c->p[1]);
    c->p += 2;
    return TI_OK;
}

static inline int cur_u24(struct cur *c, uint32_t *v)
{
    if (cur_left(c) < 3)
        return TI_ETRUNC;
    *v = (uint32_t)c->p[0] << 16 | (uint32_t)c->p[1] << 8 | c->p[2];
    c->p += 3;
    return TI_OK;
}

static inline int cur_u32(struct cur *c, uint32_t *v)
{
    if (cur_left(c) < 4)
        return TI_ETRUNC;
    *v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 |
         (uint32_t)c->p[2] << 8 | c->p[3];
    c->p += 4;
    return TI_OK;
}

/* Borrow n bytes as a sub-cursor (no copy). */
static inline int cur_bytes(struct cur *c, size_t n, struct cur *out)
{
    if (n > cur_left(c))
        return TI_ETRUNC;
    out->p = c->p;
    out->end = c->p + n;
    c->p += n;
    return TI_OK;
}

/* opaque<..> vector with a 1, 2 or 3 byte length prefix. */
static inline int cur_vec(struct cur *c, int lenbytes, struct cur *out)
{
    struct cur save = *c;
    uint32_t n = 0;
    int rc;
    uint8_t b;
    uint16_t s;

    switch (lenbytes) {
    case 1: rc = cur_u8(c, &b); n = b; break;
    case 2: rc = cur_u16(c, &s); n = s; break;
    case 3: rc = cur_u24(c, &n); break;
    default: return TI_EMALFORMED;
    }
    if (rc == TI_OK)
        rc = cur_bytes(c, n, out);
    if (rc != TI_OK)
        *c = save;
    return rc;
}

/* Big-endian helpers for fixed-offset header fields (caller checked length). */
static inline uint16_t ti_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t ti_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
