/* x509_int.h - what x509.c and x509_trust.c share: the trust stores are
 * loaded in x509_trust.c into a pool whose layout only x509.c knows.  Not
 * an interface: only the x509 files include it. */
#ifndef TLSINSPECT_X509_INT_H
#define TLSINSPECT_X509_INT_H

#include <stddef.h>

#include <openssl/x509.h>

#include "tlsinspect/x509.h"

/* "what: why" into errbuf (NULL-safe). */
void x509_set_err(char *errbuf, size_t errlen, const char *what, const char *why);
/* The first (deepest) OpenSSL error as text, else fallback; clears the queue. */
void x509_openssl_err_text(char *buf, size_t len, const char *fallback);
/* A warning for x509_pool_warnings() (a damaged PEM block skipped). */
void x509_pool_warn(struct x509_pool *pool, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Load a PEM bundle or DER certificate (opt: the option it came from, for
 * messages) or every certificate file of a directory into store.  TI_OK,
 * or an error with errbuf naming the option and file. */
int x509_trust_file(struct x509_pool *pool, X509_STORE *store, const char *opt, const char *path,
                    struct x509_trust_info *info, char *errbuf, size_t errlen);
int x509_trust_dir(struct x509_pool *pool, X509_STORE *store, const char *dir,
                   struct x509_trust_info *info, char *errbuf, size_t errlen);

#endif
