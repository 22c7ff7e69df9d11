/* filehash.c - the SHA-256 of a regular file on a second thread (filehash.h). */
#include "tlsinspect/filehash.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define FILEHASH_CHUNK (1u << 20)   /* pread size: large reads, few syscalls */

struct filehash {
    pthread_t thread;
    int fd;
    off_t from;
    atomic_bool cancel;
    bool ok;                        /* written by the thread, read after the join */
    uint8_t md[32];
};

static void *filehash_main(void *arg)
{
    struct filehash *h = arg;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t *buf = malloc(FILEHASH_CHUNK);
    off_t off = h->from;
    unsigned int len = 0;
    bool ok = md != NULL && buf != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

    while (ok && !atomic_load_explicit(&h->cancel, memory_order_relaxed)) {
        ssize_t r = pread(h->fd, buf, FILEHASH_CHUNK, off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ok = r == 0;
            break;
        }
        off += r;
        ok = EVP_DigestUpdate(md, buf, (size_t)r) == 1;
    }
    if (atomic_load_explicit(&h->cancel, memory_order_relaxed))
        ok = false;
    h->ok = ok && EVP_DigestFinal_ex(md, h->md, &len) == 1 && len == sizeof h->md;
    EVP_MD_CTX_free(md);
    free(buf);
    return NULL;
}

struct filehash *filehash_start(int fd, off_t from)
{
    struct filehash *h = calloc(1, sizeof *h);

    if (h == NULL)
        return NULL;
    atomic_init(&h->cancel, false);
    h->from = from;
    h->fd = dup(fd);
    if (h->fd < 0) {
        free(h);
        return NULL;
    }
    if (pthread_create(&h->thread, NULL, filehash_main, h) != 0) {
        close(h->fd);
        free(h);
        return NULL;
    }
    return h;
}

bool filehash_finish(struct filehash *h, uint8_t out[32])
{
    bool ok;

    pthread_join(h->thread, NULL);
    ok = h->ok;
    if (ok)
        memcpy(out, h->md, sizeof h->md);
    close(h->fd);
    free(h);
    return ok;
}

void filehash_cancel(struct filehash *h)
{
    uint8_t unused[32];

    if (h == NULL)
        return;
    atomic_store_explicit(&h->cancel, true, memory_order_relaxed);
    (void)filehash_finish(h, unused);
}
