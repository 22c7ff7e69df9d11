/* err.h - one error convention for every module (libuv style X-macro).
 *
 * Functions return int: 0 (TI_OK) on success, a negative TI_E* on failure.
 * TI_ETRUNC ("need more bytes", or the snaplen cut the data) is kept apart
 * from TI_EMALFORMED ("the bytes are wrong"), as tcpdump tells "[|tcp]" from
 * "(invalid)".  Numbers are never renumbered.
 */
#ifndef TLSINSPECT_ERR_H
#define TLSINSPECT_ERR_H

#include <stddef.h>

#define TI_ERRNO_MAP(X)                                                   \
    X(ETRUNC,       -1, "truncated: more bytes needed or cut by snaplen") \
    X(EMALFORMED,   -2, "malformed data")                                 \
    X(ENOMEM,       -3, "out of memory")                                  \
    X(ELIMIT,       -4, "a configured limit was reached")                 \
    X(EIO,          -5, "input/output error")                             \
    X(EUSAGE,       -6, "usage error")                                    \
    X(EUNSUPPORTED, -7, "unsupported")                                    \
    X(ENOTFOUND,    -8, "not found")

enum ti_err {
    TI_OK = 0,
#define TI_ERR_ENUM_(name, val, msg) TI_##name = (val),
    TI_ERRNO_MAP(TI_ERR_ENUM_)
#undef TI_ERR_ENUM_
};

/* Short symbolic name ("ETRUNC") and message; never NULL. */
const char *ti_err_name(int err);
const char *ti_strerror(int err);

/* Format a message into the caller's errbuf (NULL or 0 bytes: nothing). */
void ti_errf(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
