/* stream_order.c - the bounded reorder stage (stream_order.h).
 *
 * Held texts sit in a min-heap by key.  A spilled run is the heap emptied
 * in order into a temporary file: records of the key, the length and the
 * text; only each run's next record is in memory.  Emitting takes the
 * smallest of the heap's top and the runs' next records while it lies below
 * the floor, so a text comes out at the same place whether it was held or
 * spilled: the output does not depend on max_bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/err.h"
#include "tlsinspect/stream_order.h"

#define SO_RUN_BUF (64u * 1024u)    /* stdio buffer of each run being read */

struct so_item {
    struct conn_key k;
    size_t len;
    char text[];
};

struct so_run {
    FILE *f;
    struct so_item *head;           /* its next record; NULL once read to the end */
};

struct stream_order {
    size_t max_bytes;
    so_emit_fn emit;
    void *ctx;
    struct so_item **heap;          /* held, smallest key first */
    size_t n, cap;
    size_t bytes;                   /* held: texts and their records */
    struct so_run runs[SO_MAX_RUNS];
    size_t nruns;
    struct conn_key last;             /* the largest key emitted */
    bool any;
    uint64_t late, spilled;
    int err;                        /* sticky */
};

struct stream_order *stream_order_new(size_t max_bytes, so_emit_fn emit, void *ctx)
{
    struct stream_order *so = calloc(1, sizeof(*so));

    if (so == NULL)
        return NULL;
    so->max_bytes = max_bytes ? max_bytes : SO_MAX_BYTES;
    so->emit = emit;
    so->ctx = ctx;
    return so;
}

/* ---- the heap of held texts ------------------------------------------------ */

static bool item_less(const struct so_item *a, const struct so_item *b)
{
    return conn_key_cmp(&a->k, &b->k) < 0;
}

static int heap_push(struct stream_order *so, struct so_item *it)
{
    size_t i;

    if (so->n == so->cap) {
        size_t cap = so->cap ? so->cap * 2 : 256;
        struct so_item **h = realloc(so->heap, cap * sizeof(*h));
        if (h == NULL)
            return TI_ENOMEM;
        so->heap = h;
        so->cap = cap;
    }
    for (i = so->n++; i > 0 && item_less(it, so->heap[(i - 1) / 2]); i = (i - 1) / 2)
        so->heap[i] = so->heap[(i - 1) / 2];
    so->heap[i] = it;
    so->bytes += sizeof(*it) + it->len;
    return TI_OK;
}

static struct so_item *heap_pop(struct stream_order *so)
{
    struct so_item *top = so->heap[0], *last = so->heap[--so->n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= so->n)
            break;
        if (c + 1 < so->n && item_less(so->heap[c + 1], so->heap[c]))
            c++;
        if (!item_less(so->heap[c], last))
            break;
        so->heap[i] = so->heap[c];
        i = c;
    }
    if (so->n > 0)
        so->heap[i] = last;
    so->bytes -= sizeof(*top) + top->len;
    return top;
}

/* ---- runs ------------------------------------------------------------------- */

static int item_write(FILE *f, const struct so_item *it)
{
    if (fwrite(&it->k, sizeof(it->k), 1, f) != 1 || fwrite(&it->len, sizeof(it->len), 1, f) != 1 ||
        (it->len > 0 && fwrite(it->text, it->len, 1, f) != 1))
        return TI_EIO;
    return TI_OK;
}

/* The run's next record into r->head (NULL at its end: the file is closed). */
static int run_advance(struct so_run *r)
{
    struct conn_key k;
    size_t len;

    free(r->head);
    r->head = NULL;
    if (fread(&k, sizeof(k), 1, r->f) != 1) {
        int rc = ferror(r->f) ? TI_EIO : TI_OK;
        fclose(r->f);
        r->f = NULL;
        return rc;
    }
    if (fread(&len, sizeof(len), 1, r->f) != 1)
        return TI_EIO;
    r->head = malloc(sizeof(*r->head) + len);
    if (r->head == NULL)
        return TI_ENOMEM;
    r->head->k = k;
    r->head->len = len;
    if (len > 0 && fread(r->head->text, len, 1, r->f) != 1)
        return TI_EIO;
    return TI_OK;
}

/* A temporary file, written by the caller, then read from its start. */
static int run_open(FILE **f)
{
    *f = tmpfile();
    return *f != NULL ? TI_OK : TI_EIO;
}

static int run_start(struct stream_order *so, FILE *f)
{
    struct so_run *r = &so->runs[so->nruns];

    if (fflush(f) != 0 || ferror(f) || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return TI_EIO;
    }
    (void)setvbuf(f, NULL, _IOFBF, SO_RUN_BUF);
    r->f = f;
    r->head = NULL;
    so->nruns++;
    return run_advance(r);
}

/* Drop the runs read to their end. */
static void runs_compact(struct stream_order *so)
{
    size_t k = 0;

    for (size_t i = 0; i < so->nruns; i++)
        if (so->runs[i].head != NULL)
            so->runs[k++] = so->runs[i];
    so->nruns = k;
}

/* The run whose next record is smallest, or -1. */
static int runs_min(const struct stream_order *so)
{
    int best = -1;

    for (size_t i = 0; i < so->nruns; i++)
        if (so->runs[i].head != NULL &&
            (best < 0 || item_less(so->runs[i].head, so->runs[best].head)))
            best = (int)i;
    return best;
}

/* Every run merged into one (when SO_MAX_RUNS are open). */
static int runs_merge(struct stream_order *so)
{
    FILE *f;
    int rc = run_open(&f), i;

    while (rc == TI_OK && (i = runs_min(so)) >= 0) {
        rc = item_write(f, so->runs[i].head);
        if (rc == TI_OK)
            rc = run_advance(&so->runs[i]);
    }
    for (size_t k = 0; k < so->nruns; k++) {
        free(so->runs[k].head);
        so->runs[k].head = NULL;
        if (so->runs[k].f != NULL)
            fclose(so->runs[k].f);
        so->runs[k].f = NULL;
    }
    so->nruns = 0;
    if (rc != TI_OK) {
        if (f != NULL)
            fclose(f);
        return rc;
    }
    return run_start(so, f);
}

/* What is held, sorted, to a new run. */
static int spill(struct stream_order *so)
{
    FILE *f;
    int rc = TI_OK;

    if (so->nruns == SO_MAX_RUNS)
        rc = runs_merge(so);
    if (rc == TI_OK)
        rc = run_open(&f);
    while (rc == TI_OK && so->n > 0) {
        struct so_item *it = heap_pop(so);
        rc = item_write(f, it);
        free(it);
    }
    if (rc == TI_OK) {
        so->spilled++;
        return run_start(so, f);
    }
    return rc;
}

/* ---- emitting ---------------------------------------------------------------- */

static int emit_item(struct stream_order *so, const struct so_item *it)
{
    if (!so->any || conn_key_cmp(&it->k, &so->last) > 0)
        so->last = it->k;
    so->any = true;
    return so->emit(so->ctx, it->text, it->len);
}

/* Emit while the smallest key's first_ts is below floor_ts (all: everything). */
static int release_below(struct stream_order *so, int64_t floor_ts, bool all)
{
    while (so->err == TI_OK) {
        int r = runs_min(so);
        bool from_heap = so->n > 0 && (r < 0 || item_less(so->heap[0], so->runs[r].head));
        const struct so_item *it = from_heap ? so->heap[0] : r >= 0 ? so->runs[r].head : NULL;

        if (it == NULL || (!all && it->k.first_ts >= floor_ts))
            break;
        so->err = emit_item(so, it);
        if (from_heap) {
            free(heap_pop(so));
        } else {
            if (so->err == TI_OK)
                so->err = run_advance(&so->runs[r]);
            if (so->runs[r].head == NULL)
                runs_compact(so);
        }
    }
    return so->err;
}

int stream_order_release(struct stream_order *so, int64_t floor_ts)
{
    return release_below(so, floor_ts, false);
}

int stream_order_add(struct stream_order *so, const struct conn_key *k, const char *text,
                     size_t len)
{
    struct so_item *it;

    if (so->err != TI_OK)
        return so->err;
    it = malloc(sizeof(*it) + len);
    if (it == NULL)
        return so->err = TI_ENOMEM;
    it->k = *k;
    it->len = len;
    memcpy(it->text, text, len);
    if (so->any && conn_key_cmp(k, &so->last) < 0) {
        /* behind what is written already: at once, out of order */
        so->late++;
        so->err = emit_item(so, it);
        free(it);
        return so->err;
    }
    so->err = heap_push(so, it);
    if (so->err != TI_OK) {
        free(it);
        return so->err;
    }
    if (so->bytes > so->max_bytes)
        so->err = spill(so);
    return so->err;
}

int stream_order_finish(struct stream_order *so)
{
    return release_below(so, 0, true);
}

uint64_t stream_order_late(const struct stream_order *so)
{
    return so->late;
}

uint64_t stream_order_runs(const struct stream_order *so)
{
    return so->spilled;
}

void stream_order_free(struct stream_order *so)
{
    if (so == NULL)
        return;
    while (so->n > 0)
        free(heap_pop(so));
    free(so->heap);
    for (size_t i = 0; i < so->nruns; i++) {
        free(so->runs[i].head);
        if (so->runs[i].f != NULL)
            fclose(so->runs[i].f);
    }
    free(so);
}
