/* outq.c - ordered writes to a descriptor from a second thread (see outq.h).
 *
 * The producer takes buffers in turn (0, 1, .., nbuf-1, 0, ..) and submits
 * them in the same order; the writer writes them in that order.  Three
 * counters under one mutex say where each buffer is: the k-th buffer taken
 * is bufs[k % nbuf], free again once `written` has passed it. */
#include "tlsinspect/outq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define OUTQ_MAX_BUFS 8

struct outq {
    int fd;
    size_t nbuf, bufsize;
    char *bufs[OUTQ_MAX_BUFS];
    size_t lens[OUTQ_MAX_BUFS];
    uint64_t taken, submitted, written;
    int err;                        /* errno of the first failed write, or 0 */
    bool stop;                      /* outq_finish(): write what is queued, then end */
    pthread_mutex_t mu;
    pthread_cond_t work;            /* the writer waits on it */
    pthread_cond_t room;            /* the producer waits on it */
    pthread_t thread;
};

/* All of p, through short writes and EINTR; 0 or errno. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        } else if (k == 0) {
            return EIO;
        } else if (errno != EINTR) {
            return errno;
        }
    }
    return 0;
}

static void *writer(void *arg)
{
    struct outq *q = arg;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->written == q->submitted && !q->stop)
            pthread_cond_wait(&q->work, &q->mu);
        if (q->written == q->submitted)
            break;                  /* stopped, all written */
        size_t i = (size_t)(q->written % q->nbuf);
        bool skip = q->err != 0;    /* after a failure the rest is dropped */
        pthread_mutex_unlock(&q->mu);
        int e = skip ? 0 : write_all(q->fd, q->bufs[i], q->lens[i]);
        pthread_mutex_lock(&q->mu);
        if (e != 0 && q->err == 0)
            q->err = e;
        q->written++;
        pthread_cond_signal(&q->room);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

static void outq_free(struct outq *q)
{
    for (size_t i = 0; i < q->nbuf; i++)
        free(q->bufs[i]);
    free(q);
}

struct outq *outq_start(int fd, size_t nbuf, size_t bufsize, size_t align)
{
    struct outq *q;

    if (fd < 0 || nbuf < 2 || nbuf > OUTQ_MAX_BUFS || bufsize == 0 ||
        (align != 0 && (align & (align - 1)) != 0))
        return NULL;
    q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->fd = fd;
    q->bufsize = bufsize;
    for (q->nbuf = 0; q->nbuf < nbuf; q->nbuf++) {
        char *b = align ? aligned_alloc(align, (bufsize + align - 1) / align * align)
                        : malloc(bufsize);
        if (b == NULL) {
            outq_free(q);
            return NULL;
        }
        q->bufs[q->nbuf] = b;
    }
    if (pthread_mutex_init(&q->mu, NULL) != 0)
        goto fail_mutex;
    if (pthread_cond_init(&q->work, NULL) != 0)
        goto fail_work;
    if (pthread_cond_init(&q->room, NULL) != 0)
        goto fail_room;
    if (pthread_create(&q->thread, NULL, writer, q) != 0)
        goto fail_thread;
    return q;

fail_thread:
    pthread_cond_destroy(&q->room);
fail_room:
    pthread_cond_destroy(&q->work);
fail_work:
    pthread_mutex_destroy(&q->mu);
fail_mutex:
    outq_free(q);
    return NULL;
}

char *outq_buffer(struct outq *q)
{
    char *b;

    pthread_mutex_lock(&q->mu);
    while (q->taken - q->written >= q->nbuf)
        pthread_cond_wait(&q->room, &q->mu);
    b = q->bufs[q->taken++ % q->nbuf];
    pthread_mutex_unlock(&q->mu);
    return b;
}

int outq_error(struct outq *q)
{
    int e;

    pthread_mutex_lock(&q->mu);
    e = q->err;
    pthread_mutex_unlock(&q->mu);
    return e;
}

void outq_submit(struct outq *q, char *buf, size_t n)
{
    pthread_mutex_lock(&q->mu);
    size_t i = (size_t)(q->submitted % q->nbuf);
    if (q->submitted < q->taken && buf == q->bufs[i]) {   /* else: not the one due */
        q->lens[i] = n < q->bufsize ? n : q->bufsize;
        q->submitted++;
        pthread_cond_signal(&q->work);
    }
    pthread_mutex_unlock(&q->mu);
}

int outq_finish(struct outq *q)
{
    int err;

    if (q == NULL)
        return 0;
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    err = q->err;
    pthread_cond_destroy(&q->room);
    pthread_cond_destroy(&q->work);
    pthread_mutex_destroy(&q->mu);
    outq_free(q);
    return err;
}
