/* savecerts.c - --save-certs DIR: distinct presented certificates as PEM (savecerts.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include "tlsinspect/err.h"
#include "tlsinspect/savecerts.h"

#define SAVECERTS_NAME_MAX 64      /* characters of the CN kept in a file name */

static int cert_cmp(const void *x, const void *y)
{
    const struct x509_cert *a = *(const struct x509_cert *const *)x;
    const struct x509_cert *b = *(const struct x509_cert *const *)y;
    return memcmp(a->sha256, b->sha256, sizeof(a->sha256));
}

static void file_name(const struct x509_cert *c, char *buf, size_t len)
{
    char base[SAVECERTS_NAME_MAX + 1];
    const char *cn = c->parsed && c->cn != NULL && c->cn[0] ? c->cn : c->parsed ? "no-cn" : "unparsed";
    size_t n = 0;

    for (; cn[n] != '\0' && n < SAVECERTS_NAME_MAX; n++) {
        unsigned char ch = (unsigned char)cn[n];
        bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '.' || ch == '-' || ch == '_';
        base[n] = keep ? (char)ch : '_';
    }
    base[n] = '\0';
    if (base[0] == '.')             /* no hidden files, no ".." */
        base[0] = '_';
    snprintf(buf, len, "%s_%.16s.pem", base, c->sha256_hex);
}

/* The DER as sent, in a CERTIFICATE block: what a trust store upload takes. */
static int write_pem(const char *path, const struct x509_cert *c)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (f == NULL)
        return -1;
    ok = PEM_write(f, PEM_STRING_X509, "", c->der, (long)c->der_len) > 0;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

int savecerts_write(const struct analysis *a, const char *dir, size_t *written,
                    char *errbuf, size_t errlen)
{
    const struct x509_cert **v;
    size_t n = 0, cap = 0;
    int rc = TI_OK;

    *written = 0;
    for (size_t i = 0; i < a->nconns; i++)
        cap += (size_t)a->conns[i]->n_server_certs + a->conns[i]->n_client_certs;
    v = malloc((cap + 1) * sizeof(*v));
    if (v == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < a->nconns; i++) {
        const struct conn *c = a->conns[i];
        if (!c->is_tls || c->outcome == OUTCOME_NOT_TLS)
            continue;
        for (size_t k = 0; k < c->n_server_certs && k < CONN_MAX_CERTS; k++)
            v[n++] = c->server_certs[k];
        for (size_t k = 0; k < c->n_client_certs && k < CONN_MAX_CERTS; k++)
            v[n++] = c->client_certs[k];
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cert_cmp);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "--save-certs %s: %s", dir, strerror(errno));
        free(v);
        return TI_EIO;
    }
    for (size_t i = 0; i < n; i++) {
        char name[SAVECERTS_NAME_MAX + 32], *path = NULL;

        if (i > 0 && cert_cmp(&v[i - 1], &v[i]) == 0)
            continue;
        if (v[i]->der == NULL || v[i]->der_len == 0)
            continue;
        file_name(v[i], name, sizeof(name));
        if (asprintf(&path, "%s/%s", dir, name) < 0) {
            rc = TI_ENOMEM;
            break;
        }
        if (write_pem(path, v[i]) != 0) {
            snprintf(errbuf, errlen, "--save-certs %s: %s", path, strerror(errno ? errno : EIO));
            free(path);
            rc = TI_EIO;
            break;
        }
        free(path);
        (*written)++;
    }
    free(v);
    return rc;
}
