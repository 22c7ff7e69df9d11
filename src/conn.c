/* conn.c - life cycle and small helpers of struct conn. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/err.h"
#include "tlsinspect/hash.h"

/* AddressSanitizer cannot see slots handed back to the arena: poison them,
 * so a use after conn_arena_put() is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define CONN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONN_ASAN 1
#endif
#endif
#ifdef CONN_ASAN
#include <sanitizer/asan_interface.h>
#define CONN_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define CONN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define CONN_POISON(p, n) ((void)(p), (void)(n))
#define CONN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

static const char *const outcome_names[] = {
    [OUTCOME_INCOMPLETE] = "incomplete",
    [OUTCOME_COMPLETE] = "complete",
    [OUTCOME_FAILED] = "failed",
    [OUTCOME_ENCRYPTED] = "encrypted",
    [OUTCOME_NOT_TLS] = "not_tls",
};

const char *conn_outcome_name(enum conn_outcome o)
{
    if ((unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]))
        return outcome_names[o];
    return "unknown";
}

static const char *const auth_names[] = {
    [AUTH_NONE] = NULL, [AUTH_RSA] = "RSA", [AUTH_ECDSA] = "ECDSA",
    [AUTH_DSA] = "DSA", [AUTH_PSK] = "PSK", [AUTH_ANON] = "anon",
    [AUTH_ANY] = "any", [AUTH_OTHER] = "other",
};

const char *conn_auth_name(enum conn_auth a)
{
    if ((unsigned)a < sizeof(auth_names) / sizeof(auth_names[0]))
        return auth_names[a];
    return NULL;
}

/* The fields whose initial value is not zero. */
static void conn_defaults(struct conn *c)
{
    for (size_t i = 0; i < CONN_MAX_ALERTS; i++)
        c->alerts[i].after_msg = -1;
    c->verify.expected_name = "";
}

void conn_init(struct conn *c)
{
    memset(c, 0, sizeof(*c));
    conn_defaults(c);
}

void conn_hello_free(struct conn_client_hello *h)
{
    free(h->suites);
    free(h->sni);
    for (size_t j = 0; h->alpn != NULL && j < h->n_alpn && j < CONN_MAX_ALPN; j++)
        free(h->alpn[j]);
    free(h->lists);
    memset(h, 0, sizeof(*h));
}

/* The block behind a hello's lists: the ALPN pointers first (aligned as
 * malloc aligns), then the 16-bit lists, then the point formats. */
static size_t hello_lists_size(size_t n_alpn, size_t n16, size_t n8)
{
    return n_alpn * sizeof(char *) + n16 * sizeof(uint16_t) + n8;
}

static void *hello_take(uint8_t **p, const void *src, size_t n)
{
    void *at = *p;

    if (n == 0)
        return NULL;
    memcpy(at, src, n);
    *p += n;
    return at;
}

int conn_hello_keep_lists(struct conn_client_hello *h)
{
    size_t n16 = (size_t)h->n_exts + h->n_versions + h->n_sigalgs + h->n_groups +
                 h->n_key_share_groups;
    size_t size = hello_lists_size(h->n_alpn, n16, h->n_point_formats);
    uint8_t *block = NULL, *p;

    if (size == 0) {               /* nothing sent: no block, no lists */
        h->alpn = NULL;
        h->exts = h->versions = h->sigalgs = h->groups = h->key_share_groups = NULL;
        h->point_formats = NULL;
        free(h->lists);
        h->lists = NULL;
        return TI_OK;
    }
    if ((block = malloc(size)) == NULL)
        return TI_ENOMEM;
    p = block;
    h->alpn = hello_take(&p, h->alpn, h->n_alpn * sizeof(char *));
    h->exts = hello_take(&p, h->exts, h->n_exts * sizeof(uint16_t));
    h->versions = hello_take(&p, h->versions, h->n_versions * sizeof(uint16_t));
    h->sigalgs = hello_take(&p, h->sigalgs, h->n_sigalgs * sizeof(uint16_t));
    h->groups = hello_take(&p, h->groups, h->n_groups * sizeof(uint16_t));
    h->key_share_groups = hello_take(&p, h->key_share_groups,
                                     h->n_key_share_groups * sizeof(uint16_t));
    h->point_formats = hello_take(&p, h->point_formats, h->n_point_formats);
    free(h->lists);
    h->lists = block;
    return TI_OK;
}

int conn_hello_alloc_lists(struct conn_client_hello *h)
{
    size_t n16 = CONN_MAX_EXTS + CONN_MAX_VERSIONS + CONN_MAX_SIGALGS + 2 * CONN_MAX_GROUPS;
    uint8_t *p = calloc(1, hello_lists_size(CONN_MAX_ALPN, n16, CONN_MAX_POINTFMTS));

    if (p == NULL)
        return TI_ENOMEM;
    free(h->lists);
    h->lists = p;
    h->alpn = (char **)(void *)p;
    p += CONN_MAX_ALPN * sizeof(char *);
    h->exts = (uint16_t *)(void *)p;
    h->versions = h->exts + CONN_MAX_EXTS;
    h->sigalgs = h->versions + CONN_MAX_VERSIONS;
    h->groups = h->sigalgs + CONN_MAX_SIGALGS;
    h->key_share_groups = h->groups + CONN_MAX_GROUPS;
    h->point_formats = (uint8_t *)(h->key_share_groups + CONN_MAX_GROUPS);
    return TI_OK;
}

/* Free what c owns; c itself is left as it is. */
static void conn_release(struct conn *c)
{
    for (size_t i = 0; i < CONN_MAX_HELLOS; i++)
        conn_hello_free(&c->ch[i]);
    for (size_t i = 0; i < 2; i++)
        free(c->malformed_why[i]);
    free(c->tls13_note);
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++) {
        if (!(c->findings_shared & (1u << i)))
            free(c->findings[i].message);
    }
}

void conn_free(struct conn *c)
{
    if (c == NULL)
        return;
    conn_release(c);
    conn_init(c);
}

void conn_add_event(struct conn *c, int64_t ts, enum conn_event_kind kind,
                    enum conn_dir from, uint8_t type, uint8_t level)
{
    if (c->n_events >= CONN_MAX_EVENTS) {
        c->events_truncated = true;
        return;
    }
    struct conn_event *e = &c->events[c->n_events++];
    e->ts = ts;
    e->kind = (uint8_t)kind;
    e->from = (uint8_t)from;
    e->type = type;
    e->level = level;
}

int conn_add_finding(struct conn *c, int id, enum finding_severity sev,
                     const char *message, const char *remedy)
{
    if (c->n_findings >= CONN_MAX_FINDINGS)
        return TI_ELIMIT;
    struct conn_finding *f = &c->findings[c->n_findings];
    f->message = strdup(message ? message : "");
    f->remedy = remedy ? remedy : "";
    if (f->message == NULL) {
        f->remedy = NULL;
        return TI_ENOMEM;
    }
    f->id = id;
    f->severity = sev;
    c->findings_shared &= (uint16_t)~(1u << c->n_findings);
    c->n_findings++;
    return TI_OK;
}

_Static_assert(CONN_MAX_FINDINGS <= 16, "conn.findings_shared has one bit per finding");

int conn_add_finding_shared(struct conn *c, int id, enum finding_severity sev,
                            const char *message, const char *remedy)
{
    if (c->n_findings >= CONN_MAX_FINDINGS)
        return TI_ELIMIT;
    struct conn_finding *f = &c->findings[c->n_findings];
    f->id = id;
    f->severity = sev;
    f->message = (char *)(uintptr_t)message;   /* borrowed: the bit below */
    f->remedy = remedy ? remedy : "";
    c->findings_shared |= (uint16_t)(1u << c->n_findings);
    c->n_findings++;
    return TI_OK;
}

/* One byte of a dotted quad in decimal, no leading zeros. */
static char *conn_dec_u8(char *o, unsigned v)
{
    if (v >= 100) {
        *o++ = (char)('0' + v / 100);
        v %= 100;
        *o++ = (char)('0' + v / 10);
    } else if (v >= 10) {
        *o++ = (char)('0' + v / 10);
    }
    *o++ = (char)('0' + v % 10);
    return o;
}

int conn_endpoint_cmp(const struct conn_endpoint *a, const struct conn_endpoint *b)
{
    if (a->ipver != b->ipver)
        return a->ipver < b->ipver ? -1 : 1;
    int r = memcmp(a->ip, b->ip, sizeof(a->ip));
    if (r != 0)
        return r;
    return a->port < b->port ? -1 : a->port > b->port;
}

const char *conn_ip_str(const struct conn_endpoint *e, char *buf, size_t len)
{
    int af = e->ipver == 6 ? AF_INET6 : AF_INET;

    /* IPv4 written here: glibc's inet_ntop() formats it through sprintf(),
     * heavy for something done twice per connection in a JSON report.
     * test_report compares the two over every byte value. */
    if (af == AF_INET && len >= sizeof("255.255.255.255")) {
        char *o = buf;
        for (int i = 0; i < 4; i++) {
            if (i > 0)
                *o++ = '.';
            o = conn_dec_u8(o, e->ip[i]);
        }
        *o = '\0';
        return buf;
    }
    if (inet_ntop(af, e->ip, buf, (socklen_t)len) == NULL) {
        if (len > 0)
            buf[0] = '\0';
    }
    return buf;
}

/* ---- the arena ---------------------------------------------------------------
 *
 * A report keeps every connection to the end, tens of megabytes of them
 * on a large capture.  Taken one malloc() at a time, each new 4 KiB page of
 * that costs a page fault.  The arena hands out slots from chunks instead:
 * a first small one from calloc (small captures and the fuzzers pay
 * nothing more), then 2 MiB mappings faulted in by one
 * madvise(MADV_POPULATE_WRITE) each.  Not transparent huge pages
 * (MADV_HUGEPAGE): the kernel zeroes each fresh 2 MiB page, a cost that
 * varies widely, where ordinary pages come back warm.  Slots given back
 * are reused first.  (Measurements: docs/PERFORMANCE.md.) */
#define CONN_ARENA_FIRST 32                        /* slots in the first chunk */
#define CONN_ARENA_CHUNK ((size_t)2 << 20)         /* later chunks */

struct conn_chunk {
    struct conn_chunk *next;
    bool mapped;                   /* munmap (a 2 MiB chunk), else free */
    size_t nslots, used;           /* slots, slots handed out so far */
    struct conn *slots;
};

struct conn_free_slot {            /* a slot given back: the free list */
    struct conn_free_slot *next;
};

struct conn_arena {
    struct conn_chunk *chunks;     /* newest first */
    struct conn_free_slot *free;
};

struct conn_arena *conn_arena_new(void)
{
    return calloc(1, sizeof(struct conn_arena));
}

/* A chunk: an anonymous mapping (zero), faulted in at once. */
static void *conn_map_chunk(void)
{
    void *p = mmap(NULL, CONN_ARENA_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_POPULATE_WRITE
    /* Linux 5.14+: one call instead of 512 faults (older kernels say
     * EINVAL and the pages fault in one by one, as before) */
    (void)madvise(p, CONN_ARENA_CHUNK, MADV_POPULATE_WRITE);
#endif
    return p;
}

static struct conn_chunk *conn_chunk_new(struct conn_arena *ar)
{
    struct conn_chunk *k = calloc(1, sizeof(*k));

    if (k == NULL)
        return NULL;
    if (ar->chunks == NULL) {
        k->nslots = CONN_ARENA_FIRST;
        k->slots = calloc(k->nslots, sizeof(struct conn));   /* zeroed, as a mapping is */
    } else {
        k->nslots = CONN_ARENA_CHUNK / sizeof(struct conn);
        k->slots = conn_map_chunk();
        k->mapped = true;
    }
    if (k->slots == NULL) {
        free(k);
        return NULL;
    }
    CONN_POISON(k->slots, k->nslots * sizeof(struct conn));
    k->next = ar->chunks;
    ar->chunks = k;
    return k;
}

struct conn *conn_arena_get(struct conn_arena *ar)
{
    struct conn *c;

    if (ar->free != NULL) {
        struct conn_free_slot *f = ar->free;
        CONN_UNPOISON(f, sizeof(*f));
        ar->free = f->next;
        c = (struct conn *)(void *)f;
        CONN_UNPOISON(c, sizeof(*c));
        conn_init(c);
    } else {
        /* a slot never handed out is still zero (calloc, or a fresh
         * mapping): only the non-zero defaults, no memset of the slot */
        struct conn_chunk *k = ar->chunks;
        if ((k == NULL || k->used == k->nslots) && (k = conn_chunk_new(ar)) == NULL)
            return NULL;
        c = &k->slots[k->used++];
        CONN_UNPOISON(c, sizeof(*c));
        conn_defaults(c);
    }
    return c;
}

void conn_arena_put(struct conn_arena *ar, struct conn *c)
{
    struct conn_free_slot *f;

    if (c == NULL)
        return;
    conn_release(c);
    f = (struct conn_free_slot *)(void *)c;
    f->next = ar->free;
    ar->free = f;
    CONN_POISON((uint8_t *)c + sizeof(*f), sizeof(*c) - sizeof(*f));
}

void conn_arena_free(struct conn_arena *ar)
{
    struct conn_chunk *k, *next;

    if (ar == NULL)
        return;
    for (k = ar->chunks; k != NULL; k = next) {
        next = k->next;
        CONN_UNPOISON(k->slots, k->nslots * sizeof(struct conn));
        if (k->mapped)
            munmap(k->slots, CONN_ARENA_CHUNK);
        else
            free(k->slots);
        free(k);
    }
    free(ar);
}

/* ---- the string pool -----------------------------------------------------------
 *
 * The name a chain is verified for was a 256-byte array in every
 * connection; a capture has a few distinct names (SNI, --name, the server's
 * address) over thousands of connections. */
struct conn_strpool_ent {
    uint64_t h;
    char *s;                       /* NULL: empty slot */
};

struct conn_strpool {
    struct conn_strpool_ent *v;
    size_t cap, n;                 /* cap: a power of two, or 0 */
};

struct conn_strpool *conn_strpool_new(void)
{
    return calloc(1, sizeof(struct conn_strpool));
}

void conn_strpool_free(struct conn_strpool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->cap; i++)
        free(p->v[i].s);
    free(p->v);
    free(p);
}

static int strpool_grow(struct conn_strpool *p)
{
    size_t cap = p->cap ? p->cap * 2 : 64;
    struct conn_strpool_ent *v = calloc(cap, sizeof(*v));

    if (v == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < p->cap; i++) {
        if (p->v[i].s == NULL)
            continue;
        size_t j = (size_t)p->v[i].h & (cap - 1);
        while (v[j].s != NULL)
            j = (j + 1) & (cap - 1);
        v[j] = p->v[i];
    }
    free(p->v);
    p->v = v;
    p->cap = cap;
    return TI_OK;
}

const char *conn_strpool_intern(struct conn_strpool *p, const char *s, size_t max)
{
    size_t len = strnlen(s, max);
    uint64_t h = ti_hash_bytes(s, len);
    size_t i;

    if ((p->n + 1) * 2 > p->cap && strpool_grow(p) != TI_OK)
        return NULL;
    for (i = (size_t)h & (p->cap - 1); p->v[i].s != NULL; i = (i + 1) & (p->cap - 1))
        if (p->v[i].h == h && strncmp(p->v[i].s, s, len) == 0 && p->v[i].s[len] == '\0')
            return p->v[i].s;
    if ((p->v[i].s = malloc(len + 1)) == NULL)
        return NULL;
    memcpy(p->v[i].s, s, len);
    p->v[i].s[len] = '\0';
    p->v[i].h = h;
    p->n++;
    return p->v[i].s;
}
