/* hex.h - hexadecimal text of bytes, and back: the one implementation.
 *
 * Lower case everywhere the tool writes hex (certificate fingerprints, key
 * identifiers, JA3/JA4 digests, code points "0x1301", "\xNN" for invalid
 * UTF-8); hex_digit_uc() only for JSON's \u00XX escapes, which jansson
 * writes in upper case.  Reading accepts either case.
 */
#ifndef TLSINSPECT_HEX_H
#define TLSINSPECT_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The lower-case digit of the low 4 bits of v. */
static inline char hex_digit(unsigned v)
{
    return "0123456789abcdef"[v & 15u];
}

static inline char hex_digit_uc(unsigned v)
{
    return "0123456789ABCDEF"[v & 15u];
}

/* n bytes as 2n lower-case digits and a NUL: out holds 2n + 1 chars. */
void hex_encode(const uint8_t *p, size_t n, char *out);

/* v as exactly four lower-case digits, no NUL ("1301"). */
void hex_u16(uint16_t v, char out[4]);

/* The value of one hex digit (either case), or -1. */
int hex_value(char c);

/* len hex digits (either case) into len / 2 bytes of out (cap bytes).
 * Returns the byte count, or -1 when len is 0 or odd, a character is not
 * a hex digit, or the bytes would not fit. */
int hex_decode(const char *s, size_t len, uint8_t *out, size_t cap);

#endif
