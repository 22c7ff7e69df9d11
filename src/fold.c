/* fold.c - identical repeated connections folded into groups (see fold.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/err.h"
#include "tlsinspect/fold.h"
#include "tlsinspect/hash.h"

static const struct x509_cert *fold_leaf(const struct conn *c)
{
    return c->n_server_certs > 0 ? c->server_certs[0] : NULL;
}

static bool fold_same_endpoint(const struct conn_endpoint *x, const struct conn_endpoint *y,
                               bool port)
{
    return x->ipver == y->ipver && memcmp(x->ip, y->ip, x->ipver == 6 ? 16 : 4) == 0 &&
           (!port || x->port == y->port);
}

static bool fold_same_leaf(const struct x509_cert *x, const struct x509_cert *y)
{
    if (x == NULL || y == NULL)
        return x == y;
    return x == y || memcmp(x->sha256, y->sha256, sizeof(x->sha256)) == 0;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

bool conn_fold_msg_same(const char *a, const char *b)
{
    if (a == b)
        return true;
    if (a == NULL || b == NULL)
        return false;
    for (;;) {
        if (is_digit(*a) && is_digit(*b)) {
            while (is_digit(*a))
                a++;
            while (is_digit(*b))
                b++;
            continue;
        }
        if (*a != *b)
            return false;
        if (*a == '\0')
            return true;
        a++;
        b++;
    }
}

size_t conn_fold_msg_shape(const char *msg, char *out)
{
    size_t n = 0;

    while (msg != NULL && *msg != '\0') {
        if (is_digit(*msg)) {
            out[n++] = '#';
            while (is_digit(*msg))
                msg++;
        } else {
            out[n++] = *msg++;
        }
    }
    return n;
}

bool conn_fold_same(const struct conn *x, const struct conn *y)
{
    /* The client's address and port do not count: a cluster of
     * Expressway-C nodes failing the same way is one group. */
    if (!fold_same_endpoint(&x->server, &y->server, true))
        return false;
    if (x->outcome != y->outcome || x->n_ch != y->n_ch)
        return false;
    if (x->n_ch > 0) {
        const struct conn_client_hello *a = &x->ch[0], *b = &y->ch[0];
        if (a->n_suites != b->n_suites)
            return false;
        if (a->n_suites > 0 && (a->suites == NULL || b->suites == NULL ||
                                memcmp(a->suites, b->suites, a->n_suites * sizeof(uint16_t)) != 0))
            return false;
        if ((a->sni == NULL) != (b->sni == NULL) ||
            (a->sni != NULL && strcmp(a->sni, b->sni) != 0))
            return false;
    }
    if (x->sh.present != y->sh.present || (x->sh.present && x->sh.suite != y->sh.suite))
        return false;
    if (!fold_same_leaf(fold_leaf(x), fold_leaf(y)))
        return false;
    if (x->n_findings != y->n_findings)
        return false;
    for (size_t i = 0; i < x->n_findings && i < CONN_MAX_FINDINGS; i++)
        if (x->findings[i].id != y->findings[i].id ||
            !conn_fold_msg_same(x->findings[i].message, y->findings[i].message))
            return false;
    return true;
}

/* A hash consistent with conn_fold_same (hashes a subset of its fields). */
static uint64_t fold_hash(const struct conn *c)
{
    uint64_t h = TI_HASH_SEED;
    const struct x509_cert *l = fold_leaf(c);

    h = ti_hash_add(h, c->server.ip, sizeof(c->server.ip));
    h = ti_hash_add(h, &c->server.port, sizeof(c->server.port));
    h = ti_hash_add(h, &c->outcome, sizeof(c->outcome));
    if (c->n_ch > 0 && c->ch[0].suites != NULL)
        h = ti_hash_add(h, c->ch[0].suites, c->ch[0].n_suites * sizeof(uint16_t));
    if (l != NULL)
        h = ti_hash_add(h, l->sha256, sizeof(l->sha256));
    return h;
}

void conn_fold_free(struct conn_fold *f)
{
    free(f->rep);
    free(f->count);
    free(f->next);
    memset(f, 0, sizeof(*f));
}

int conn_fold_build(struct conn_fold *f, struct conn *const *conns, size_t n, bool fold,
                    conn_fold_pick pick, void *arg)
{
    size_t nb = 16;
    size_t *head = NULL, *gnext = NULL, *tail = NULL;
    uint64_t *ghash = NULL;
    int rc = TI_ENOMEM;

    memset(f, 0, sizeof(*f));
    while (nb < 2 * n)
        nb *= 2;
    f->rep = calloc(n + 1, sizeof(size_t));
    f->count = calloc(n + 1, sizeof(size_t));
    f->next = calloc(n + 1, sizeof(size_t));
    tail = calloc(n + 1, sizeof(size_t));
    gnext = calloc(n + 1, sizeof(size_t));
    ghash = calloc(n + 1, sizeof(uint64_t));
    head = malloc(nb * sizeof(size_t));
    if (!f->rep || !f->count || !f->next || !tail || !gnext || !ghash || !head)
        goto out;
    for (size_t i = 0; i < nb; i++)
        head[i] = SIZE_MAX;

    for (size_t i = 0; i < n; i++) {
        const struct conn *c = conns[i];
        f->next[i] = SIZE_MAX;
        if (pick != NULL && !pick(c, arg))
            continue;
        size_t g = SIZE_MAX;
        uint64_t h = fold_hash(c);
        if (fold) {
            for (size_t k = head[h & (nb - 1)]; k != SIZE_MAX; k = gnext[k])
                if (ghash[k] == h && conn_fold_same(conns[f->rep[k]], c)) {
                    g = k;
                    break;
                }
        }
        if (g == SIZE_MAX) {
            g = f->ngroups++;
            f->rep[g] = i;
            ghash[g] = h;
            gnext[g] = head[h & (nb - 1)];
            head[h & (nb - 1)] = g;
        } else {
            f->next[tail[g]] = i;
        }
        tail[g] = i;
        f->count[g]++;
    }
    rc = TI_OK;
out:
    free(head);
    free(gnext);
    free(tail);
    free(ghash);
    if (rc != TI_OK)
        conn_fold_free(f);
    return rc;
}
