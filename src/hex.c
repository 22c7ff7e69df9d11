/* hex.c - hexadecimal text of bytes, and back (hex.h). */
#include <limits.h>

#include "tlsinspect/hex.h"

void hex_encode(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digit(p[i] >> 4);
        out[2 * i + 1] = hex_digit(p[i]);
    }
    out[2 * n] = '\0';
}

void hex_u16(uint16_t v, char out[4])
{
    out[0] = hex_digit(v >> 12);
    out[1] = hex_digit(v >> 8);
    out[2] = hex_digit(v >> 4);
    out[3] = hex_digit(v);
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    if (len == 0 || len % 2 != 0 || len / 2 > cap || len / 2 > INT_MAX)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(len / 2);
}
