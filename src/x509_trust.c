/* x509_trust.c - loading the trust stores (--cafile, --capath,
 * --client-cafile) into the pool's X509_STOREs (x509_int.h). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tlsinspect/err.h"
#include "x509_int.h"

#define X509_TRUST_FILE_MAX   (64u << 20)   /* biggest trust file we read */
#define X509_CAPATH_MAX_FILES 100000u       /* directory entries examined in --capath */

/* Read a whole regular file (at most X509_TRUST_FILE_MAX bytes). */
static int trust_read(const char *path, uint8_t **out, size_t *outlen, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *buf = NULL;
    size_t n;
    int rc = TI_EIO;

    *out = NULL;
    *outlen = 0;
    if (f == NULL) {
        snprintf(why, whylen, "%s", strerror(errno));
        return TI_EIO;
    }
    if (fstat(fileno(f), &st) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a regular file");
        goto done;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > X509_TRUST_FILE_MAX) {
        snprintf(why, whylen, "file larger than %u bytes", X509_TRUST_FILE_MAX);
        goto done;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        snprintf(why, whylen, "out of memory");
        rc = TI_ENOMEM;
        goto done;
    }
    n = fread(buf, 1, (size_t)st.st_size, f);
    if (n != (size_t)st.st_size || ferror(f)) {
        snprintf(why, whylen, "read error");
        free(buf);
        buf = NULL;
        goto done;
    }
    *out = buf;
    *outlen = n;
    rc = TI_OK;
done:
    fclose(f);
    return rc;
}

/* SHA-256 of bytes in memory into out[32]; false when OpenSSL fails. */
static bool trust_sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

static bool pem_is_cert(const char *name)
{
    return strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0 ||
           strcmp(name, PEM_STRING_X509_TRUSTED) == 0;
}

/* The certificates of a PEM bundle, block by block: a trust store exported
 * by hand often has one block damaged (a line lost in copy and paste);
 * that block is skipped with a warning naming the file and its number,
 * the others are kept.  Failing that, a single DER certificate. */
static int trust_add(struct x509_pool *pool, X509_STORE *store, const char *path,
                     const uint8_t *buf, size_t len, size_t *added, char *why, size_t whylen)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    const unsigned char *p = buf;
    X509 *x;
    size_t found = 0, block = 0;
    int rc = TI_OK;

    why[0] = '\0';
    if (bio == NULL)
        return TI_ENOMEM;
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long dlen = 0;
        size_t before = (size_t)BIO_pending(bio);

        if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1) {
            unsigned long e = ERR_peek_last_error();
            /* no further "-----BEGIN": the end of the bundle */
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break;
            block++;
            if (why[0] == '\0')
                x509_openssl_err_text(why, whylen, "PEM error");
            x509_pool_warn(pool, "%s: PEM block %zu is damaged (%s); skipped, the other blocks are kept",
                      path, block, why);
            ERR_clear_error();
            if ((size_t)BIO_pending(bio) >= before)
                break;              /* nothing consumed: stop rather than spin */
            continue;
        }
        block++;
        if (pem_is_cert(name)) {
            const unsigned char *q = data;
            x = strcmp(name, PEM_STRING_X509_TRUSTED) == 0 ? d2i_X509_AUX(NULL, &q, dlen)
                                                           : d2i_X509(NULL, &q, dlen);
            if (x == NULL || q != data + dlen) {
                x509_pool_warn(pool, "%s: PEM block %zu is not a valid certificate; skipped, the "
                          "other blocks are kept", path, block);
            } else if (X509_STORE_add_cert(store, x) != 1) {
                rc = TI_ENOMEM;
            } else {
                found++;
            }
            X509_free(x);
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        ERR_clear_error();
        if (rc != TI_OK)
            break;
    }
    BIO_free(bio);
    if (rc == TI_OK && found == 0 && block == 0 && len > 0) {
        x = d2i_X509(NULL, &p, (long)len);
        if (x != NULL && p == buf + len) {
            if (X509_STORE_add_cert(store, x) == 1)
                found++;
            else
                rc = TI_ENOMEM;
        }
        X509_free(x);
    }
    *added += found;
    ERR_clear_error();
    return rc;
}

/* Errors name the option at fault: "--cafile /x: No such file or directory". */
int x509_trust_file(struct x509_pool *pool, X509_STORE *store, const char *opt, const char *path,
                    struct x509_trust_info *info, char *errbuf, size_t errlen)
{
    char why[256], what[4200];
    uint8_t *buf;
    size_t len, added = 0;
    int rc = trust_read(path, &buf, &len, why, sizeof(why));

    snprintf(what, sizeof(what), "%s %s", opt, path);
    if (rc != TI_OK) {
        x509_set_err(errbuf, errlen, what, why);
        return rc == TI_ENOMEM ? rc : TI_EIO;
    }
    rc = trust_add(pool, store, path, buf, len, &added, why, sizeof(why));
    if (rc == TI_OK && !trust_sha256(buf, len, info->sha256))
        rc = TI_ENOMEM;
    free(buf);
    if (rc != TI_OK) {
        x509_set_err(errbuf, errlen, what, "out of memory");
        return rc;
    }
    if (added == 0) {
        char msg[320];
        snprintf(msg, sizeof(msg), "no certificate found%s%s%s", why[0] ? " (" : "", why,
                 why[0] ? ")" : "");
        x509_set_err(errbuf, errlen, what, msg);
        return TI_EIO;
    }
    info->loaded = true;
    info->certs = added;
    info->files = 1;
    return TI_OK;
}

/* One regular file of --capath, for the listing's hash. */
struct trust_entry {
    char *name;
    char hex[65];
};

static int trust_entry_cmp(const void *x, const void *y)
{
    return strcmp(((const struct trust_entry *)x)->name, ((const struct trust_entry *)y)->name);
}

/* The hash of a directory: of what `sha256sum` prints for its files taken
 * in byte order of their names ("HEX  NAME\n" each), so that readdir()'s
 * order does not matter and the value can be checked with coreutils. */
static bool trust_listing_sha256(struct trust_entry *e, size_t n, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = 0;
    bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

    if (n > 1)
        qsort(e, n, sizeof(*e), trust_entry_cmp);
    for (size_t i = 0; i < n && ok; i++)
        ok = EVP_DigestUpdate(md, e[i].hex, 64) == 1 && EVP_DigestUpdate(md, "  ", 2) == 1 &&
             EVP_DigestUpdate(md, e[i].name, strlen(e[i].name)) == 1 &&
             EVP_DigestUpdate(md, "\n", 1) == 1;
    ok = ok && EVP_DigestFinal_ex(md, out, &len) == 1 && len == 32;
    EVP_MD_CTX_free(md);
    return ok;
}

/* Remember one file's name and hash; TI_ENOMEM. */
static int trust_entry_add(struct trust_entry **v, size_t *n, size_t *cap, const char *name,
                           const uint8_t *buf, size_t len)
{
    uint8_t md[32];

    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct trust_entry *nv = realloc(*v, nc * sizeof(*nv));
        if (nv == NULL)
            return TI_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    if (!trust_sha256(buf, len, md) || ((*v)[*n].name = strdup(name)) == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < 32; i++)
        snprintf((*v)[*n].hex + 2 * i, 3, "%02x", md[i]);
    (*n)++;
    return TI_OK;
}

/* --capath: every regular file of the directory whatever its name (not
 * only OpenSSL's hash.0 links); files that hold no certificate are skipped. */
int x509_trust_dir(struct x509_pool *pool, X509_STORE *store, const char *dir,
                   struct x509_trust_info *info, char *errbuf, size_t errlen)
{
    DIR *d = opendir(dir);
    size_t added = 0, seen = 0, nent = 0, capent = 0;
    struct trust_entry *ent = NULL;
    int rc = TI_OK;
    char what[4200];

    snprintf(what, sizeof(what), "--capath %s", dir);
    if (d == NULL) {
        x509_set_err(errbuf, errlen, what, strerror(errno));
        return TI_EIO;
    }
    for (;;) {
        struct dirent *de = readdir(d);
        char path[4096], why[256];
        struct stat st;
        uint8_t *buf;
        size_t len;
        int n;

        if (de == NULL)
            break;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (++seen > X509_CAPATH_MAX_FILES)
            break;
        n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof(path))
            continue;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = trust_read(path, &buf, &len, why, sizeof(why));
        if (rc == TI_ENOMEM)
            break;
        rc = TI_OK;
        if (buf == NULL)
            continue;               /* unreadable: skip like OpenSSL's -CApath */
        rc = trust_add(pool, store, path, buf, len, &added, why, sizeof(why));
        if (rc == TI_OK)
            rc = trust_entry_add(&ent, &nent, &capent, de->d_name, buf, len);
        free(buf);
        if (rc != TI_OK)
            break;
    }
    closedir(d);
    if (rc == TI_OK && !trust_listing_sha256(ent, nent, info->sha256))
        rc = TI_ENOMEM;
    for (size_t i = 0; i < nent; i++)
        free(ent[i].name);
    free(ent);
    if (rc != TI_OK) {
        x509_set_err(errbuf, errlen, what, "out of memory");
        return rc;
    }
    if (added == 0) {
        x509_set_err(errbuf, errlen, what, "no certificate found");
        return TI_EIO;
    }
    info->loaded = true;
    info->certs = added;
    info->files = nent;
    return TI_OK;
}
