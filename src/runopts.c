/* runopts.c - record how a report was made (runopts.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tlsinspect/err.h"
#include "tlsinspect/runopts.h"
#include "tlsinspect/tls13_keylog.h"

#define RUNOPTS_READ_BUF (64u * 1024u)

/* SHA-256 of a whole file into out[32]. */
static int file_sha256(const char *path, uint8_t out[32], char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *buf = malloc(RUNOPTS_READ_BUF);
    unsigned int len = 0;
    int rc = TI_ENOMEM;
    size_t n;

    if (f == NULL) {
        snprintf(errbuf, errlen, "--keylog %s: %s", path, strerror(errno));
        rc = TI_EIO;
        goto out;
    }
    if (md == NULL || buf == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    while ((n = fread(buf, 1, RUNOPTS_READ_BUF, f)) > 0)
        if (EVP_DigestUpdate(md, buf, n) != 1)
            goto out;
    if (ferror(f)) {
        snprintf(errbuf, errlen, "--keylog %s: read error", path);
        rc = TI_EIO;
        goto out;
    }
    if (EVP_DigestFinal_ex(md, out, &len) == 1 && len == 32)
        rc = TI_OK;
out:
    if (rc == TI_ENOMEM)
        snprintf(errbuf, errlen, "hashing the key log: %s", ti_strerror(rc));
    if (f != NULL)
        fclose(f);
    free(buf);
    EVP_MD_CTX_free(md);
    return rc;
}

int runopts_record(struct analysis *a, const struct analyze_opts *o, char *errbuf, size_t errlen)
{
    struct analyze_scope *s = &a->scope;

    s->at = o->at;
    s->at_time = o->at_time;
    for (int i = 0; i < X509_TRUST_NSRC; i++)
        s->trust[i] = *x509_trust_info(a->pool, (enum x509_trust_src)i);
    if (o->nnames > 0) {
        s->names = calloc(o->nnames, sizeof(*s->names));
        if (s->names == NULL)
            goto nomem;
        for (size_t i = 0; i < o->nnames; i++) {
            s->names[i].addr = o->names[i].addr;
            s->names[i].name = strdup(o->names[i].name ? o->names[i].name : "");
            if (s->names[i].name == NULL)
                goto nomem;
            s->nnames = i + 1;
        }
    }
    if (o->keylog != NULL && a->keylog != NULL) {
        int rc = file_sha256(o->keylog, s->keylog_sha256, errbuf, errlen);
        if (rc != TI_OK)
            return rc;
        s->keylog_hashed = true;
        s->keylog_lines = a->keylog->lines;
    }
    return TI_OK;
nomem:
    snprintf(errbuf, errlen, "recording the options: %s", ti_strerror(TI_ENOMEM));
    return TI_ENOMEM;
}

void runopts_free(struct analyze_scope *s)
{
    for (size_t i = 0; i < s->nnames; i++)
        free((char *)s->names[i].name);
    free(s->names);
    s->names = NULL;
    s->nnames = 0;
}
