/* report_escape.c - wire strings made safe to print: valid UTF-8, no raw
 * control bytes (report.h: report_utf8_seq(), report_escape()).  Used by
 * every report; the JSON writer (jsonw.c) applies the same UTF-8 rule.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/hex.h"
#include "tlsinspect/report.h"

/* ---- UTF-8 cleaning (shared with report_text.c through report.h) ---------- */

size_t report_utf8_seq(const unsigned char *p, size_t left)
{
    unsigned char b = p[0];
    size_t n;
    uint32_t cp;

    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
        cp = b & 0x1fu;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        cp = b & 0x0fu;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        cp = b & 0x07u;
    } else {
        return 0;                       /* continuation byte, 0xc0/0xc1, 0xf5.. */
    }
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0u) != 0x80u)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    /* RFC 3629 3: reject overlong forms, UTF-16 surrogates, > U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    if (cp >= 0xd800 && cp <= 0xdfff)
        return 0;
    return n;
}

/* C0, DEL, and the C1 controls (U+0080..U+009F: 0xc2 0x80..0x9f), which
 * some terminals act on as escape sequences. */
static bool is_control_seq(const unsigned char *p, size_t n)
{
    if (n == 1)
        return p[0] < 0x20 || p[0] == 0x7f;
    return n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

char *report_escape(const char *s, bool printable)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t len = strlen((const char *)p);
    char *out, *w;

    /* worst case: every byte becomes 4 characters */
    out = malloc(len * 4 + 1);
    if (out == NULL)
        return NULL;
    w = out;
    for (size_t i = 0; i < len;) {
        /* a run of printable ASCII, the whole of most texts, copied as it is */
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x7f)
            run++;
        if (run > i) {
            memcpy(w, p + i, run - i);
            w += run - i;
            i = run;
            continue;
        }
        size_t n = report_utf8_seq(p + i, len - i);
        if (n == 0 || (printable && is_control_seq(p + i, n))) {
            size_t k = n == 0 ? 1 : n;
            for (size_t j = 0; j < k; j++) {
                *w++ = '\\';
                *w++ = 'x';
                *w++ = hex_digit(p[i + j] >> 4);
                *w++ = hex_digit(p[i + j]);
            }
            i += k;
            continue;
        }
        memcpy(w, p + i, n);
        w += n;
        i += n;
    }
    *w = '\0';
    return out;
}
