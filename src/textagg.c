/* textagg.c - the text report's aggregates, fed one connection at a time (textagg.h). */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlsinspect/conn_key.h"
#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/fold.h"
#include "tlsinspect/textagg.h"
#include "tlsinspect/hash.h"
#include "tlsinspect/stream_order.h"

#define REPORT_FOLD_PORTS  10       /* client ports listed on a "(and N more ...)" line */
#define REPORT_LEAVES      16       /* distinct leaves counted per endpoint */
#define AGG_MEMBERS        (1 + REPORT_FOLD_PORTS)   /* members kept: the representative + listed */
#define AGG_SPILL_MEM      ((size_t)4 << 20)

/* ---- a hash of indexes ----------------------------------------------------------------------
 *
 * Open addressing over an array of elements that start with their 64-bit
 * hash; slots hold index + 1 (0: empty), kept under half full. */
struct ihash {
    uint32_t *slot;
    size_t nslot;                   /* 0 or a power of two */
};

static int ihash_reserve(struct ihash *h, const void *base, size_t stride, size_t n)
{
    size_t ns = h->nslot ? h->nslot : 16;
    uint32_t *slot;

    if ((n + 1) * 2 < h->nslot)
        return TI_OK;
    if (n >= UINT32_MAX - 1)
        return TI_ENOMEM;
    while ((n + 1) * 2 >= ns)
        ns *= 2;
    if ((slot = calloc(ns, sizeof(*slot))) == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        uint64_t hv = *(const uint64_t *)(const void *)((const char *)base + i * stride);
        size_t k = hv & (ns - 1);
        while (slot[k] != 0)
            k = (k + 1) & (ns - 1);
        slot[k] = (uint32_t)(i + 1);
    }
    free(h->slot);
    h->slot = slot;
    h->nslot = ns;
    return TI_OK;
}

/* After ihash_reserve(): element i (whose hash is hv) into a free slot. */
static void ihash_put(struct ihash *h, uint64_t hv, size_t i)
{
    size_t k = hv & (h->nslot - 1);
    while (h->slot[k] != 0)
        k = (k + 1) & (h->nslot - 1);
    h->slot[k] = (uint32_t)(i + 1);
}

/* Grow a vector of elements of `size` bytes to hold n + 1. */
static int vec_room(void *pv, size_t *cap, size_t n, size_t size)
{
    void **p = pv;
    size_t nc;
    void *v;

    if (n < *cap)
        return TI_OK;
    nc = *cap ? *cap * 2 : 16;
    if ((v = realloc(*p, nc * size)) == NULL)
        return TI_ENOMEM;
    *p = v;
    *cap = nc;
    return TI_OK;
}

/* ---- the pieces ------------------------------------------------------------------------------ */

/* A place in the report order among connections to one server. */
struct member {
    int64_t ts;
    struct conn_endpoint client;
    uint64_t serial;
};

/* An interned byte string: the part of a fold identity that has variable
 * length (ClientHello suites and SNI, finding ids), kept once. */
struct blob {
    uint64_t hash;
    size_t len;
    unsigned char d[];
};

struct group {
    uint64_t hash;
    /* the identity (fold.h: conn_fold_same) */
    struct conn_endpoint server;
    uint8_t outcome, n_ch;
    bool sh_present;
    uint16_t sh_suite;
    const struct x509_cert *leaf;
    const struct blob *id;          /* interned; NULL: folds with nothing (no suites kept) */
    /* the members */
    uint64_t count;
    struct member *m;               /* the first nm, in report order: m[0] is the representative */
    uint8_t nm, capm;
    /* the representative's text in the spill */
    uint64_t off;
    size_t len;
};

struct rauth {
    uint8_t auth;                   /* enum conn_auth */
    struct member first;
};

struct row {
    uint64_t hash;
    struct conn_endpoint server;
    struct member first;
    int role;
    size_t conns, complete, failed, other;
    struct rauth *auths;            /* selected auths, first connection of each */
    size_t nauths;
    size_t vcount[X509_CHAIN_OTHER + 1], mism, checked;
    bool vset;                      /* the first verified connection's verdict: */
    struct member vfirst;
    struct x509_verdict vverdict;
};

/* A leaf seen at an endpoint. */
struct leafent {
    uint64_t hash;
    size_t row;
    const struct x509_cert *leaf;
    struct member first, last;      /* its first and last connection there */
    size_t count;
};

struct spill {
    FILE *f;                        /* a memory stream, then a temporary file */
    char *mem;
    size_t memlen;
    bool file;
    size_t limit;
};

/* The last shapes made, by message address: a capture repeats the same
 * messages (the findings memo hands every connection the same copy), and
 * making a shape reads the message byte by byte.  A hit is checked against
 * the kept text, so an address reused for another message only misses. */
#define SHAPE_MEMO_SLOTS 64
struct shape_memo {
    const char *addr;
    char *text;                     /* a copy of the message */
    size_t len;
    const struct blob *shape;
};

struct textagg {
    struct report_opts o;
    int rc;                         /* the first error */
    struct spill sp;
    struct textagg_totals tot;
    struct problems_acc *problems;
    struct group *g;
    size_t ng, capg;
    struct ihash gh;
    struct blob **blobs;
    size_t nblobs, capblobs;
    struct ihash bh;
    struct row *r;
    size_t nr, capr;
    struct ihash rh;
    struct leafent *l;
    size_t nl, capl;
    struct ihash lh;
    unsigned char *scratch;         /* the identity being interned */
    size_t scratch_cap;
    struct shape_memo shapes[SHAPE_MEMO_SLOTS];
    struct textagg_row *rows;       /* textagg_finish() */
    size_t *order;                  /* groups in report order */
    /* -v: every connection's ladder, through a reorder stage that spills
     * (stream_order.h) instead of a group each */
    struct stream_order *so;
    FILE *vf;                       /* the ladder being rendered */
    char *vbuf;
    size_t vlen, vrank;
    FILE *vout;                     /* textagg_print_groups()'s */
};

static void member_of(const struct conn *c, struct member *m)
{
    memset(m, 0, sizeof(*m));
    m->ts = c->first_ts;
    m->client = c->client;
    m->serial = c->serial;
}

/* conn_order_cmp() between connections to the same server. */
static int member_cmp(const struct member *a, const struct member *b)
{
    int r;

    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if ((r = conn_endpoint_cmp(&a->client, &b->client)) != 0)
        return r;
    return (a->serial > b->serial) - (a->serial < b->serial);
}

static void key_of(const struct conn_endpoint *server, const struct member *m, struct conn_key *k)
{
    memset(k, 0, sizeof(*k));
    k->first_ts = m->ts;
    k->server = *server;
    k->client = m->client;
    k->serial = m->serial;
}

/* The text report's endpoint identity: the address bytes of its family. */
static bool same_endpoint(const struct conn_endpoint *x, const struct conn_endpoint *y, bool port)
{
    return x->ipver == y->ipver && memcmp(x->ip, y->ip, x->ipver == 6 ? 16 : 4) == 0 &&
           (!port || x->port == y->port);
}

static uint64_t endpoint_hash(uint64_t h, const struct conn_endpoint *e)
{
    h = ti_hash_add(h, &e->ipver, 1);
    h = ti_hash_add(h, e->ip, e->ipver == 6 ? 16 : 4);
    return ti_hash_add(h, &e->port, sizeof(e->port));
}

static bool same_leaf(const struct x509_cert *x, const struct x509_cert *y)
{
    if (x == NULL || y == NULL)
        return x == y;
    return x == y || memcmp(x->sha256, y->sha256, sizeof(x->sha256)) == 0;
}

static const struct x509_cert *leaf_of(const struct conn *c)
{
    return c->n_server_certs > 0 ? c->server_certs[0] : NULL;
}

/* ---- the spill ------------------------------------------------------------------------------- */

static int spill_open(struct spill *s)
{
    s->f = open_memstream(&s->mem, &s->memlen);
    return s->f != NULL ? TI_OK : TI_ENOMEM;
}

static void spill_close(struct spill *s)
{
    if (s->f != NULL)
        fclose(s->f);
    free(s->mem);
    memset(s, 0, sizeof(*s));
}

/* Past the memory limit: the text so far to a temporary file, which takes
 * what follows. */
static int spill_to_file(struct spill *s)
{
    FILE *f;

    if (fflush(s->f) != 0)
        return TI_ENOMEM;
    if ((f = tmpfile()) == NULL)
        return TI_EIO;
    if (fwrite(s->mem, 1, s->memlen, f) != s->memlen) {
        fclose(f);
        return TI_EIO;
    }
    fclose(s->f);
    free(s->mem);
    s->mem = NULL;
    s->memlen = 0;
    s->f = f;
    s->file = true;
    return TI_OK;
}

static int spill_read(struct spill *s, uint64_t off, size_t len, char *buf)
{
    if (fflush(s->f) != 0)
        return s->file ? TI_EIO : TI_ENOMEM;
    if (!s->file) {
        if (off + len > s->memlen)
            return TI_EIO;
        memcpy(buf, s->mem + off, len);
        return TI_OK;
    }
    for (size_t got = 0; got < len;) {
        ssize_t r = pread(fileno(s->f), buf + got, len - got, (off_t)(off + got));
        if (r <= 0)
            return TI_EIO;
        got += (size_t)r;
    }
    return TI_OK;
}

/* The representative's text, appended (a replaced one stays as dead bytes). */
static int render(struct textagg *g, const struct analysis *a, struct group *gr,
                  const struct conn *c)
{
    off_t start = ftello(g->sp.f), end;
    int rc;

    if (start < 0)
        return TI_EIO;
    rc = report_text_conn(g->sp.f, a, &g->o, c);
    if (rc != TI_OK)
        return rc;
    if ((end = ftello(g->sp.f)) < start)
        return TI_EIO;
    gr->off = (uint64_t)start;
    gr->len = (size_t)(end - start);
    if (!g->sp.file && (size_t)end > g->sp.limit)
        return spill_to_file(&g->sp);
    return TI_OK;
}

/* ---- fold groups ----------------------------------------------------------------------------- */

static int scratch_grow(struct textagg *g, size_t need)
{
    if (need > g->scratch_cap) {
        size_t nc = g->scratch_cap ? g->scratch_cap : 256;
        unsigned char *v;
        while (nc < need)
            nc *= 2;
        if ((v = realloc(g->scratch, nc)) == NULL)
            return TI_ENOMEM;
        g->scratch = v;
        g->scratch_cap = nc;
    }
    return TI_OK;
}

static int scratch_put(struct textagg *g, size_t *n, const void *p, size_t len)
{
    int rc = scratch_grow(g, *n + len);

    if (rc == TI_OK && len > 0) {
        memcpy(g->scratch + *n, p, len);
        *n += len;
    }
    return rc;
}

/* p[0..n) kept once: the same bytes give the same blob (its address is its
 * identity).  p must not point into a blob being added. */
static const struct blob *intern(struct textagg *g, const unsigned char *p, size_t n)
{
    uint64_t h = ti_hash_add(TI_HASH_SEED, p, n);
    struct blob *b;

    if (g->bh.nslot > 0)
        for (size_t k = h & (g->bh.nslot - 1); g->bh.slot[k] != 0; k = (k + 1) & (g->bh.nslot - 1)) {
            b = g->blobs[g->bh.slot[k] - 1];
            if (b->hash == h && b->len == n && memcmp(b->d, p, n) == 0)
                return b;
        }
    if (vec_room(&g->blobs, &g->capblobs, g->nblobs, sizeof(*g->blobs)) != TI_OK)
        return NULL;
    /* the slots rehash from the blobs' hashes: a vector of pointers, so by hand */
    if ((g->nblobs + 1) * 2 >= g->bh.nslot) {
        size_t ns = g->bh.nslot ? g->bh.nslot * 2 : 16;
        uint32_t *slot = g->nblobs < UINT32_MAX - 1 ? calloc(ns, sizeof(*slot)) : NULL;
        if (slot == NULL)
            return NULL;
        free(g->bh.slot);
        g->bh.slot = slot;
        g->bh.nslot = ns;
        for (size_t i = 0; i < g->nblobs; i++)
            ihash_put(&g->bh, g->blobs[i]->hash, i);
    }
    if ((b = malloc(sizeof(*b) + n)) == NULL)
        return NULL;
    b->hash = h;
    b->len = n;
    memcpy(b->d, p, n);
    g->blobs[g->nblobs] = b;
    ihash_put(&g->bh, h, g->nblobs++);
    return b;
}

/* A finding message's shape (conn_fold_msg_shape), kept once as a blob:
 * the identity holds the blob's address. */
static int scratch_shape(struct textagg *g, size_t *n, const char *msg)
{
    size_t len = msg != NULL ? strlen(msg) : 0;
    struct shape_memo *e = &g->shapes[((uintptr_t)msg >> 4) % SHAPE_MEMO_SLOTS];
    const struct blob *b;

    if (msg != NULL && e->addr == msg && e->len == len && memcmp(e->text, msg, len) == 0) {
        b = e->shape;
    } else {
        /* made past the identity's bytes, which intern() copies */
        if (scratch_grow(g, *n + len) != TI_OK)
            return TI_ENOMEM;
        b = intern(g, g->scratch + *n, conn_fold_msg_shape(msg, (char *)g->scratch + *n));
        if (b == NULL)
            return TI_ENOMEM;
        char *t = msg != NULL ? realloc(e->text, len + 1) : NULL;
        if (t != NULL) {   /* no room: the next one makes it again */
            memcpy(t, msg, len);
            *e = (struct shape_memo){msg, t, len, b};
        }
    }
    return scratch_put(g, n, &b, sizeof(b));
}

/* The variable part of c's fold identity as bytes: the first ClientHello's
 * suites and SNI, the finding ids and their messages' shapes.  TI_OK,
 * TI_ENOMEM, or IDENTITY_NONE: c folds with nothing. */
#define IDENTITY_NONE 1
static int identity_bytes(struct textagg *g, const struct conn *c, size_t *n)
{
    uint16_t nf = c->n_findings;
    bool ok = true;

    *n = 0;
    if (c->n_ch > 0) {
        const struct conn_client_hello *h = &c->ch[0];
        uint8_t has_sni = h->sni != NULL;
        /* conn_fold_same(): a list that was not kept equals none */
        if (h->n_suites > 0 && h->suites == NULL)
            return IDENTITY_NONE;
        ok = scratch_put(g, n, &h->n_suites, sizeof(h->n_suites)) == TI_OK &&
             (h->n_suites == 0 ||
              scratch_put(g, n, h->suites, h->n_suites * sizeof(uint16_t)) == TI_OK) &&
             scratch_put(g, n, &has_sni, 1) == TI_OK &&
             (!has_sni || scratch_put(g, n, h->sni, strlen(h->sni) + 1) == TI_OK);
    }
    ok = ok && scratch_put(g, n, &nf, sizeof(nf)) == TI_OK;
    for (size_t i = 0; ok && i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
        ok = scratch_put(g, n, &c->findings[i].id, sizeof(c->findings[i].id)) == TI_OK &&
             scratch_shape(g, n, c->findings[i].message) == TI_OK;
    return ok ? TI_OK : TI_ENOMEM;
}

static void group_identity(struct group *gr, const struct conn *c, const struct blob *id)
{
    const struct x509_cert *l = leaf_of(c);
    uint64_t h = endpoint_hash(TI_HASH_SEED, &c->server);

    memset(gr, 0, sizeof(*gr));
    gr->server = c->server;
    gr->outcome = (uint8_t)c->outcome;
    gr->n_ch = c->n_ch;
    gr->sh_present = c->sh.present;
    gr->sh_suite = c->sh.present ? c->sh.suite : 0;
    gr->leaf = l;
    gr->id = id;
    h = ti_hash_add(h, &gr->outcome, 1);
    h = ti_hash_add(h, &gr->n_ch, 1);
    h = ti_hash_add(h, &gr->sh_suite, sizeof(gr->sh_suite));
    if (l != NULL)
        h = ti_hash_add(h, l->sha256, sizeof(l->sha256));
    gr->hash = ti_hash_add(h, &id, sizeof(id));
}

static bool group_same(const struct group *x, const struct group *y)
{
    return x->hash == y->hash && x->id == y->id && same_endpoint(&x->server, &y->server, true) &&
           x->outcome == y->outcome && x->n_ch == y->n_ch && x->sh_present == y->sh_present &&
           x->sh_suite == y->sh_suite && same_leaf(x->leaf, y->leaf);
}

/* c's group: found, or new (count 0, no members yet). */
static struct group *group_for(struct textagg *g, const struct conn *c, bool *fresh)
{
    const struct blob *id = NULL;
    struct group probe;
    size_t n;
    int rc;

    rc = identity_bytes(g, c, &n);   /* -v never gets here: verbose_add() */
    if (rc == TI_ENOMEM || (rc == TI_OK && (id = intern(g, g->scratch, n)) == NULL))
        return NULL;
    group_identity(&probe, c, id);
    *fresh = false;
    if (id != NULL && g->gh.nslot > 0)
        for (size_t k = probe.hash & (g->gh.nslot - 1); g->gh.slot[k] != 0;
             k = (k + 1) & (g->gh.nslot - 1))
            if (group_same(&g->g[g->gh.slot[k] - 1], &probe))
                return &g->g[g->gh.slot[k] - 1];
    if (vec_room(&g->g, &g->capg, g->ng, sizeof(*g->g)) != TI_OK)
        return NULL;
    if (id != NULL) {
        if (ihash_reserve(&g->gh, g->g, sizeof(*g->g), g->ng) != TI_OK)
            return NULL;
        ihash_put(&g->gh, probe.hash, g->ng);
    }
    g->g[g->ng] = probe;
    *fresh = true;
    return &g->g[g->ng++];
}

/* Keep m among the group's first AGG_MEMBERS; its position (AGG_MEMBERS:
 * not kept). */
static int members_add(struct group *gr, const struct member *m, size_t *pos)
{
    size_t i = gr->nm;

    while (i > 0 && member_cmp(m, &gr->m[i - 1]) < 0)
        i--;
    *pos = i;
    if (i >= AGG_MEMBERS)
        return TI_OK;
    if (gr->nm == gr->capm && gr->nm < AGG_MEMBERS) {
        size_t nc = gr->capm ? (size_t)gr->capm * 2 : 1;
        struct member *v;
        if (nc > AGG_MEMBERS)
            nc = AGG_MEMBERS;
        if ((v = realloc(gr->m, nc * sizeof(*v))) == NULL)
            return TI_ENOMEM;
        gr->m = v;
        gr->capm = (uint8_t)nc;
    }
    if (gr->nm < AGG_MEMBERS)
        gr->nm++;
    memmove(&gr->m[i + 1], &gr->m[i], (gr->nm - 1 - i) * sizeof(*gr->m));
    gr->m[i] = *m;
    return TI_OK;
}

static void put_marked(struct textagg *g, FILE *out, const char *s, size_t len, size_t rank,
                       uint64_t count);

static int verbose_emit(void *ctx, const char *text, size_t len)
{
    struct textagg *g = ctx;

    fputc('\n', g->vout);
    put_marked(g, g->vout, text, len, ++g->vrank, 1);
    return ferror(g->vout) ? TI_EIO : TI_OK;
}

/* -v folds nothing: each ladder goes to the reorder stage under its
 * connection's key, and out in report order, numbered, at the end; what
 * stays in memory is the stage's bound, not a group a connection. */
static int verbose_add(struct textagg *g, const struct analysis *a, const struct conn *c)
{
    struct conn_key k;
    off_t len;
    int rc;

    if (g->so == NULL) {
        /* a smaller spill limit (the tests' 0) spills the stage as early */
        size_t max = g->sp.limit < AGG_SPILL_MEM ? g->sp.limit + 1 : 0;
        if ((g->so = stream_order_new(max, verbose_emit, g)) == NULL)
            return TI_ENOMEM;
    }
    if (g->vf == NULL && (g->vf = open_memstream(&g->vbuf, &g->vlen)) == NULL)
        return TI_ENOMEM;
    if (fseeko(g->vf, 0, SEEK_SET) != 0)
        return TI_ENOMEM;
    if ((rc = report_text_conn(g->vf, a, &g->o, c)) != TI_OK)
        return rc;
    if (fflush(g->vf) != 0 || (len = ftello(g->vf)) < 0)
        return TI_ENOMEM;
    conn_key_of(c, &k);
    return stream_order_add(g->so, &k, g->vbuf, (size_t)len);
}

static int groups_add(struct textagg *g, const struct analysis *a, const struct conn *c)
{
    struct member m;
    struct group *gr;
    bool fresh;                 /* unused: a new group has no members, so c is first */
    size_t pos;
    int rc;

    if (g->o.verbose)
        return verbose_add(g, a, c);
    if ((gr = group_for(g, c, &fresh)) == NULL)
        return TI_ENOMEM;
    member_of(c, &m);
    if ((rc = members_add(gr, &m, &pos)) != TI_OK)
        return rc;              /* kept by textagg_add(): the aggregate takes no more */
    gr->count++;
    /* a new representative: its ladder replaces the one kept */
    return pos == 0 ? render(g, a, gr, c) : TI_OK;
}

/* ---- endpoint rows --------------------------------------------------------------------------- */

static struct row *row_for(struct textagg *g, const struct conn *c)
{
    uint64_t h = endpoint_hash(TI_HASH_SEED, &c->server);
    struct row *r;

    if (g->rh.nslot > 0)
        for (size_t k = h & (g->rh.nslot - 1); g->rh.slot[k] != 0; k = (k + 1) & (g->rh.nslot - 1)) {
            r = &g->r[g->rh.slot[k] - 1];
            if (r->hash == h && same_endpoint(&r->server, &c->server, true))
                return r;
        }
    if (vec_room(&g->r, &g->capr, g->nr, sizeof(*g->r)) != TI_OK ||
        ihash_reserve(&g->rh, g->r, sizeof(*g->r), g->nr) != TI_OK)
        return NULL;
    r = &g->r[g->nr];
    memset(r, 0, sizeof(*r));
    r->hash = h;
    r->server = c->server;
    member_of(c, &r->first);
    r->role = c->role;
    ihash_put(&g->rh, h, g->nr++);
    return r;
}

static int row_auth(struct row *r, const struct conn *c, const struct member *m)
{
    struct rauth *v;

    /* selected auths in order of first appearance ("RSA,ECDSA") */
    if (!c->sh.present || (unsigned)c->sh.auth > AUTH_OTHER || conn_auth_name(c->sh.auth) == NULL)
        return TI_OK;
    for (size_t i = 0; i < r->nauths; i++)
        if (r->auths[i].auth == c->sh.auth) {
            if (member_cmp(m, &r->auths[i].first) < 0)
                r->auths[i].first = *m;
            return TI_OK;
        }
    if ((v = realloc(r->auths, (r->nauths + 1) * sizeof(*v))) == NULL)
        return TI_ENOMEM;
    r->auths = v;
    v[r->nauths].auth = (uint8_t)c->sh.auth;
    v[r->nauths++].first = *m;
    return TI_OK;
}

static void row_verdict(struct row *r, const struct conn *c, const struct member *m)
{
    const struct x509_verdict *v = &c->verify.verdict;

    if (!c->verify.done || (unsigned)v->result > X509_CHAIN_OTHER)
        return;
    if (!r->vset || member_cmp(m, &r->vfirst) < 0) {
        r->vset = true;
        r->vfirst = *m;
        r->vverdict = *v;
    }
    r->vcount[v->result]++;
    if (v->name_checked) {
        r->checked++;
        r->mism += !v->name_ok;
    }
}

static int row_leaf(struct textagg *g, size_t ri, const struct conn *c, const struct member *m)
{
    const struct x509_cert *l = leaf_of(c);
    uint64_t h;
    struct leafent *e;

    if (l == NULL)
        return TI_OK;
    h = ti_hash_add(ti_hash_add(TI_HASH_SEED, &ri, sizeof(ri)), l->sha256, sizeof(l->sha256));
    if (g->lh.nslot > 0)
        for (size_t k = h & (g->lh.nslot - 1); g->lh.slot[k] != 0; k = (k + 1) & (g->lh.nslot - 1)) {
            e = &g->l[g->lh.slot[k] - 1];
            if (e->hash == h && e->row == ri && same_leaf(e->leaf, l)) {
                e->count++;
                if (member_cmp(m, &e->first) < 0)
                    e->first = *m;
                if (member_cmp(m, &e->last) > 0)
                    e->last = *m;
                return TI_OK;
            }
        }
    if (vec_room(&g->l, &g->capl, g->nl, sizeof(*g->l)) != TI_OK ||
        ihash_reserve(&g->lh, g->l, sizeof(*g->l), g->nl) != TI_OK)
        return TI_ENOMEM;
    e = &g->l[g->nl];
    e->hash = h;
    e->row = ri;
    e->leaf = l;
    e->first = e->last = *m;
    e->count = 1;
    ihash_put(&g->lh, h, g->nl++);
    return TI_OK;
}

static int rows_add(struct textagg *g, const struct conn *c)
{
    struct row *r = row_for(g, c);
    struct member m;

    if (r == NULL)
        return TI_ENOMEM;
    member_of(c, &m);
    if (member_cmp(&m, &r->first) < 0) {
        r->first = m;
        r->role = c->role;
    }
    r->conns++;
    if (c->outcome == OUTCOME_COMPLETE)
        r->complete++;
    else if (c->outcome == OUTCOME_FAILED)
        r->failed++;
    else
        r->other++;
    row_verdict(r, c, &m);
    if (row_auth(r, c, &m) != TI_OK)
        return TI_ENOMEM;
    return row_leaf(g, (size_t)(r - g->r), c, &m);
}

/* ---- feeding --------------------------------------------------------------------------------- */

struct textagg *textagg_new(const struct report_opts *o)
{
    struct textagg *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return NULL;
    g->o = *o;
    g->sp.limit = AGG_SPILL_MEM;
    g->problems = problems_acc_new();
    if (g->problems == NULL || spill_open(&g->sp) != TI_OK) {
        textagg_free(g);
        return NULL;
    }
    return g;
}

void textagg_spill_limit(struct textagg *g, size_t bytes)
{
    g->sp.limit = bytes;
}

void textagg_free(struct textagg *g)
{
    if (g == NULL)
        return;
    spill_close(&g->sp);
    stream_order_free(g->so);
    if (g->vf != NULL)
        fclose(g->vf);
    free(g->vbuf);
    problems_acc_free(g->problems);
    for (size_t i = 0; i < g->ng; i++)
        free(g->g[i].m);
    free(g->g);
    free(g->gh.slot);
    for (size_t i = 0; i < g->nblobs; i++)
        free(g->blobs[i]);
    free(g->blobs);
    free(g->bh.slot);
    for (size_t i = 0; i < g->nr; i++)
        free(g->r[i].auths);
    free(g->r);
    free(g->rh.slot);
    free(g->l);
    free(g->lh.slot);
    free(g->scratch);
    for (size_t i = 0; i < SHAPE_MEMO_SLOTS; i++)
        free(g->shapes[i].text);
    free(g->rows);
    free(g->order);
    free(g);
}

static void totals_add(struct textagg_totals *t, const struct conn *c)
{
    t->conns++;
    if ((unsigned)c->outcome <= OUTCOME_ENCRYPTED)
        t->by_outcome[c->outcome]++;
    for (size_t k = 0; k < c->n_findings && k < CONN_MAX_FINDINGS; k++) {
        if ((unsigned)c->findings[k].severity <= SEV_ERROR)
            t->sev[c->findings[k].severity]++;
        t->hidden += c->findings[k].id == FINDING_TLS13_CERT_HIDDEN;
    }
}

int textagg_add(struct textagg *g, const struct analysis *a, const struct conn *c)
{
    int rc;

    if (g->rc != TI_OK)
        return g->rc;
    if (c == NULL || c->outcome == OUTCOME_NOT_TLS)
        return TI_OK;
    totals_add(&g->tot, c);
    rc = rows_add(g, c);
    if (rc == TI_OK)
        rc = problems_acc_add(g->problems, a, c);
    if (rc == TI_OK && report_text_picked(&g->o, c))
        rc = groups_add(g, a, c);
    g->rc = rc;
    return rc;
}

static int sink_conn(void *ctx, const struct analysis *a, const struct conn *c)
{
    return textagg_add(ctx, a, c);
}

struct conn_sink textagg_sink(struct textagg *g)
{
    struct conn_sink s = { .conn = sink_conn, .finish = NULL, .ctx = g };
    return s;
}

/* ---- the end --------------------------------------------------------------------------------- */

static int row_cmp(const void *pa, const void *pb)
{
    const struct textagg_row *x = pa, *y = pb;
    int r;

    if (x->server.ipver != y->server.ipver)
        return x->server.ipver < y->server.ipver ? -1 : 1;
    r = memcmp(x->server.ip, y->server.ip, x->server.ipver == 6 ? 16 : 4);
    if (r != 0)
        return r;
    return x->server.port < y->server.port ? -1 : x->server.port > y->server.port;
}

static int auth_cmp(const void *pa, const void *pb)
{
    return member_cmp(&((const struct rauth *)pa)->first, &((const struct rauth *)pb)->first);
}

/* The leaves of one row (e[0 .. n), sorted by first connection): the most
 * common of the first REPORT_LEAVES, ties to the one that reached that
 * count first (its last connection is earlier). */
static void row_leaves(struct textagg_row *out, const struct leafent *e, size_t n)
{
    size_t best = SIZE_MAX;

    if (n > REPORT_LEAVES)
        n = REPORT_LEAVES;
    for (size_t k = 0; k < n; k++)
        if (best == SIZE_MAX || e[k].count > e[best].count ||
            (e[k].count == e[best].count && member_cmp(&e[k].last, &e[best].last) < 0))
            best = k;
    out->nleaves = n;
    out->leaf = best == SIZE_MAX ? NULL : e[best].leaf;
}

/* "ok, name ok" when the verdicts agree, else the mix by count ("17 ok,
 * 3 self_signed, 1 expired; 2 name mismatch"), most frequent first. */
static void row_verdict_text(const struct row *r, char *buf, size_t len)
{
    size_t count[X509_CHAIN_OTHER + 1], kinds = 0, off = 0;

    snprintf(buf, len, "-");
    if (!r->vset)
        return;
    memcpy(count, r->vcount, sizeof(count));
    for (size_t k = 0; k <= X509_CHAIN_OTHER; k++)
        kinds += count[k] > 0;
    if (kinds == 1 && (r->mism == 0 || r->mism == r->checked)) {
        const struct x509_verdict *v = &r->vverdict;
        snprintf(buf, len, "%s%s", x509_chain_result_name(v->result),
                 !v->name_checked ? "" : v->name_ok ? ", name ok" : ", name mismatch");
        return;
    }
    for (size_t k = 0; k < kinds; k++) {
        size_t best = 0;
        for (size_t i = 1; i <= X509_CHAIN_OTHER; i++)
            if (count[i] > count[best])
                best = i;
        int w = snprintf(buf + off, len - off, "%s%zu %s", k ? ", " : "", count[best],
                         x509_chain_result_name((enum x509_chain_result)best));
        count[best] = 0;
        if (w < 0 || (size_t)w >= len - off)
            return;
        off += (size_t)w;
    }
    if (r->mism > 0)
        snprintf(buf + off, len - off, "; %zu name mismatch", r->mism);
}

static void row_out(struct row *r, struct textagg_row *out)
{
    size_t alen = 0;

    memset(out, 0, sizeof(*out));
    out->server = r->server;
    out->role = r->role;
    out->conns = r->conns;
    out->complete = r->complete;
    out->failed = r->failed;
    out->other = r->other;
    if (r->nauths > 1)
        qsort(r->auths, r->nauths, sizeof(*r->auths), auth_cmp);
    for (size_t i = 0; i < r->nauths; i++) {
        int w = snprintf(out->auth + alen, sizeof(out->auth) - alen, "%s%s", alen ? "," : "",
                         conn_auth_name(r->auths[i].auth));
        if (w > 0 && (size_t)w < sizeof(out->auth) - alen)
            alen += (size_t)w;
    }
    if (alen == 0)
        snprintf(out->auth, sizeof(out->auth), "-");
    row_verdict_text(r, out->verdict, sizeof(out->verdict));
}

static int leaf_cmp(const void *pa, const void *pb)
{
    const struct leafent *x = pa, *y = pb;

    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return member_cmp(&x->first, &y->first);
}

static int group_cmp(const void *pa, const void *pb, void *arg)
{
    const struct group *gs = arg, *x = &gs[*(const size_t *)pa], *y = &gs[*(const size_t *)pb];
    struct conn_key kx, ky;

    key_of(&x->server, &x->m[0], &kx);
    key_of(&y->server, &y->m[0], &ky);
    return conn_key_cmp(&kx, &ky);
}

int textagg_finish(struct textagg *g, const struct analysis *a, const struct textagg_row **rows,
                   size_t *nrows, struct textagg_totals *tot, struct problems *p)
{
    p->v = NULL;
    p->n = 0;
    if (g->rc != TI_OK)
        return g->rc;
    free(g->rows);
    free(g->order);
    g->rows = calloc(g->nr + 1, sizeof(*g->rows));
    g->order = malloc((g->ng + 1) * sizeof(*g->order));
    if (g->rows == NULL || g->order == NULL)
        return g->rc = TI_ENOMEM;
    /* the leaves by row, then first connection: each row's in report order */
    if (g->nl > 1)
        qsort(g->l, g->nl, sizeof(*g->l), leaf_cmp);
    free(g->lh.slot);               /* the sort moved them: no more lookups */
    memset(&g->lh, 0, sizeof(g->lh));
    for (size_t i = 0, j = 0; i < g->nr; i++) {
        size_t k = j;
        row_out(&g->r[i], &g->rows[i]);
        while (k < g->nl && g->l[k].row == i)
            k++;
        row_leaves(&g->rows[i], k > j ? g->l + j : NULL, k - j);   /* g->l is NULL without leaves */
        j = k;
    }
    if (g->nr > 1)
        qsort(g->rows, g->nr, sizeof(*g->rows), row_cmp);
    for (size_t i = 0; i < g->ng; i++)
        g->order[i] = i;
    if (g->ng > 1)
        qsort_r(g->order, g->ng, sizeof(*g->order), group_cmp, g->g);
    *rows = g->rows;
    *nrows = g->nr;
    *tot = g->tot;
    if ((g->rc = problems_acc_build(g->problems, a, p)) != TI_OK)
        return g->rc;
    return TI_OK;
}

/* "  (and 2 more identical connections: ports 31577, 31578)" */
static void fold_line(FILE *out, const struct group *gr)
{
    uint64_t more = gr->count - 1, shown = 0;
    char cb[80];

    if (more == 0)
        return;
    fprintf(out, "  (and %" PRIu64 " more identical connection%s: port%s", more,
            more == 1 ? "" : "s", more == 1 ? "" : "s");
    for (size_t i = 1; i < gr->nm; i++) {
        const struct conn_endpoint *cl = &gr->m[i].client;
        if (shown == REPORT_FOLD_PORTS)
            break;
        /* another client: its address too */
        if (same_endpoint(cl, &gr->m[0].client, false))
            fprintf(out, "%s %u", shown ? "," : "", (unsigned)cl->port);
        else
            fprintf(out, "%s %s", shown ? "," : "", report_text_endpoint(cl, cb, sizeof(cb)));
        shown++;
    }
    if (more > shown)
        fprintf(out, ", ... +%" PRIu64, more - shown);
    fputs(")\n", out);
}

/* The text with its marks replaced: the group's number (-v) or count (-q). */
static void put_marked(struct textagg *g, FILE *out, const char *s, size_t len, size_t rank,
                       uint64_t count)
{
    for (const char *p = s, *end = s + len; p < end;) {
        const char *m = memchr(p, TEXTAGG_MARK, (size_t)(end - p));
        fwrite(p, 1, (size_t)((m ? m : end) - p), out);
        if (m == NULL)
            break;
        if (g->o.quiet) {
            if (count > 1)
                fprintf(out, "  (%" PRIu64 " connections)", count);
        } else {
            fprintf(out, "  (#%zu)", rank);
        }
        p = m + 1;
    }
}

int textagg_print_groups(struct textagg *g, FILE *out)
{
    char *buf = NULL;
    size_t cap = 0;
    int rc = TI_OK;

    if (g->so != NULL) {
        g->vout = out;
        g->vrank = 0;
        rc = stream_order_finish(g->so);
        return rc == TI_OK && ferror(out) ? TI_EIO : rc;
    }

    for (size_t i = 0; i < g->ng && rc == TI_OK; i++) {
        const struct group *gr = &g->g[g->order[i]];
        if (gr->len + 1 > cap) {
            char *v = realloc(buf, gr->len + 1);
            if (v == NULL) {
                rc = TI_ENOMEM;
                break;
            }
            buf = v;
            cap = gr->len + 1;
        }
        if ((rc = spill_read(&g->sp, gr->off, gr->len, buf)) != TI_OK)
            break;
        if (!g->o.quiet)
            fputc('\n', out);
        put_marked(g, out, buf, gr->len, i + 1, gr->count);
        if (!g->o.quiet)
            fold_line(out, gr);
    }
    free(buf);
    if (rc == TI_OK && ferror(out))
        rc = TI_EIO;
    return rc;
}
