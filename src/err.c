/* err.c - names and messages of the TI_E* codes. */
#include "tlsinspect/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *ti_err_name(int err)
{
    switch (err) {
    case TI_OK: return "OK";
#define TI_ERR_NAME_(name, val, msg) case (val): return #name;
    TI_ERRNO_MAP(TI_ERR_NAME_)
#undef TI_ERR_NAME_
    default: return "EUNKNOWN";
    }
}

const char *ti_strerror(int err)
{
    switch (err) {
    case TI_OK: return "success";
#define TI_ERR_MSG_(name, val, msg) case (val): return msg;
    TI_ERRNO_MAP(TI_ERR_MSG_)
#undef TI_ERR_MSG_
    default: return "unknown error";
    }
}

void ti_errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}
