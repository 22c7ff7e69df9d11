/* diff.c - `tlsinspect diff`: compare two captures or saved reports per server endpoint.
 *
 * Both sides become the JSON report document (a capture through analyze_run
 * and report_json_document, a saved report through jansson), so a capture
 * and the report saved from it compare as equal.  From each document the
 * connections are folded into per-endpoint tallies (outcomes, preferred
 * auth, cipher list, selected suite, leaf certificate, verification,
 * alerts, findings); the tallies of the two sides are compared into change
 * objects, and the text output is rendered from those same objects so the
 * two formats cannot disagree.
 *
 * Every ordering is derived from the documents, which are deterministic:
 * values are kept in first-seen order, the "most common" value breaks ties
 * by first occurrence, endpoints are sorted by status then address.  A
 * capture's side is fed one connection at a time in release order
 * (diff_side_conn, diff_load.c): each value keeps the report-order key of
 * its first connection and the tallies are put in that order before the
 * comparison, so the result is the document's.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "diff_int.h"
#include "tlsinspect/diff.h"
#include "tlsinspect/err.h"
#include "tlsinspect/report.h"
#include "tlsinspect/report_html.h"

static void tally_free(struct tally *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->items[i].key);
        json_decref(t->items[i].value);
    }
    free(t->items);
    json_decref(t->index);
    memset(t, 0, sizeof(*t));
}

static int seen_cmp(const struct seen *a, const struct seen *b)
{
    int r = conn_key_cmp(&a->conn, &b->conn);
    return r != 0 ? r : (a->seq > b->seq) - (a->seq < b->seq);
}

static int item_cmp(const void *pa, const void *pb)
{
    return seen_cmp(&((const struct tally_item *)pa)->first, &((const struct tally_item *)pb)->first);
}

/* The values in the order they were first seen in the report order, as a
 * document read from the start gives them. */
static void tally_order(struct dctx *d, struct tally *t)
{
    if (t->n < 2)
        return;
    qsort(t->items, t->n, sizeof(*t->items), item_cmp);
    for (size_t i = 0; i < t->n; i++)
        if (json_object_set_new(t->index, t->items[i].key, json_integer((json_int_t)i)) != 0)
            d->oom = true;
}

/* Count one occurrence of `key`; `value` (borrowed, NULL = null) is kept the
 * first time the key is seen. */
static void tally_add(struct dctx *d, struct tally *t, const char *key, json_t *value)
{
    json_t *slot;

    if (t->index == NULL && (t->index = json_object()) == NULL) {
        d->oom = true;
        return;
    }
    d->cur.seq++;
    slot = json_object_get(t->index, key);
    if (slot != NULL) {
        struct tally_item *it = &t->items[json_integer_value(slot)];
        it->count++;
        if (seen_cmp(&d->cur, &it->first) < 0) {      /* an earlier connection's value */
            json_decref(it->value);
            it->value = value ? json_incref(value) : json_null();
            it->first = d->cur;
        }
        return;
    }
    if (t->n >= DIFF_MAX_VALUES) {
        t->other++;
        d->capped = true;
        return;
    }
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 4;
        if (ncap > DIFF_MAX_VALUES)
            ncap = DIFF_MAX_VALUES;
        struct tally_item *ni = realloc(t->items, ncap * sizeof(*ni));
        if (ni == NULL) {
            d->oom = true;
            return;
        }
        t->items = ni;
        t->cap = ncap;
    }
    struct tally_item *it = &t->items[t->n];
    it->key = strdup(key);
    if (it->key == NULL) {
        d->oom = true;
        return;
    }
    it->value = value ? json_incref(value) : json_null();
    it->count = 1;
    it->first = d->cur;
    if (json_object_set_new(t->index, key, json_integer((json_int_t)t->n)) != 0) {
        free(it->key);
        json_decref(it->value);
        d->oom = true;
        return;
    }
    t->n++;
}

static const struct tally_item *tally_find(const struct tally *t, const char *key)
{
    json_t *slot = t->index ? json_object_get(t->index, key) : NULL;
    return slot ? &t->items[json_integer_value(slot)] : NULL;
}

/* The most common value; ties go to the first seen.  -1 when empty. */
static long tally_mode(const struct tally *t)
{
    long best = -1;
    for (size_t i = 0; i < t->n; i++)
        if (best < 0 || t->items[i].count > t->items[best].count)
            best = (long)i;
    return best;
}

static bool tally_same_keys(const struct tally *x, const struct tally *y)
{
    if (x->n != y->n)
        return false;
    for (size_t i = 0; i < x->n; i++)
        if (tally_find(y, x->items[i].key) == NULL)
            return false;
    return true;
}

/* ---- folding a document into endpoints --------------------------------------- */

static struct endpoint *side_endpoint(struct dctx *d, struct side *s, const json_t *server)
{
    const char *ip = jstr_get(server, "ip");
    json_t *port = json_object_get(server, "port");
    char key[128];
    json_t *slot;

    if (ip == NULL)
        ip = "?";
    snprintf(key, sizeof(key), strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip,
             json_is_integer(port) ? (long long)json_integer_value(port) : -1LL);
    if (s->index == NULL && (s->index = json_object()) == NULL) {
        d->oom = true;
        return NULL;
    }
    slot = json_object_get(s->index, key);
    if (slot != NULL)
        return &s->eps[json_integer_value(slot)];
    if (s->n >= DIFF_MAX_ENDPOINTS)
        return NULL;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        if (ncap > DIFF_MAX_ENDPOINTS)
            ncap = DIFF_MAX_ENDPOINTS;
        struct endpoint *ne = realloc(s->eps, ncap * sizeof(*ne));
        if (ne == NULL) {
            d->oom = true;
            return NULL;
        }
        s->eps = ne;
        s->cap = ncap;
    }
    struct endpoint *e = &s->eps[s->n];
    memset(e, 0, sizeof(*e));
    e->server = strdup(key);
    if (e->server == NULL) {
        d->oom = true;
        return NULL;
    }
    if (inet_pton(AF_INET, ip, e->addr) == 1)
        e->family = 4;
    else if (inet_pton(AF_INET6, ip, e->addr) == 1)
        e->family = 6;
    else
        e->family = 9;
    e->port = json_is_integer(port) ? (long long)json_integer_value(port) : -1;
    if (json_object_set_new(s->index, key, json_integer((json_int_t)s->n)) != 0) {
        free(e->server);
        d->oom = true;
        return NULL;
    }
    s->n++;
    return e;
}

/* The offered suites by name, GREASE left out (RFC 8701: random per
 * connection, it would make every ClientHello differ). */
static void add_cipher_list(struct dctx *d, struct endpoint *e, const json_t *suites)
{
    json_t *names = json_array();
    size_t i;
    json_t *cs;

    if (names == NULL) {
        d->oom = true;
        return;
    }
    json_array_foreach(suites, i, cs) {
        const char *n = suite_label(cs);
        if (json_is_true(json_object_get(cs, "grease")) || n == NULL)
            continue;
        add(d, names, json_string(n));
    }
    char *key = json_dumps(names, JSON_COMPACT);
    if (key == NULL)
        d->oom = true;
    else
        tally_add(d, &e->t[F_CIPHERS], key, names);
    free(key);
    json_decref(names);
}

static void add_leaf(struct dctx *d, struct endpoint *e, const json_t *cert)
{
    static const char *const keep[] = {"sha256", "cn", "key", "issuer", "self_signed"};
    const char *sha = jstr_get(cert, "sha256");
    json_t *v = json_object();

    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        json_t *x = json_object_get(cert, keep[i]);
        put(d, v, keep[i], x ? json_incref(x) : json_null());
    }
    if (json_object_get(cert, "parse_error") != NULL)
        put(d, v, "parse_error", json_incref(json_object_get(cert, "parse_error")));
    if (v != NULL)
        tally_add(d, &e->t[F_LEAF], sha ? sha : "(no fingerprint)", v);
    json_decref(v);
}

static void add_alert(struct dctx *d, struct endpoint *e, const json_t *al)
{
    const char *from = jstr_get(al, "from");
    const char *level = jstr_get(al, "level");
    const char *desc = jstr_get(al, "description");
    json_t *code = json_object_get(al, "code");
    bool enc = json_is_true(json_object_get(al, "encrypted"));
    char key[256], codebuf[32];

    if (from == NULL)
        from = "?";
    if (enc) {
        snprintf(key, sizeof(key), "encrypted alert from %s", from);
    } else {
        if (desc == NULL) {
            snprintf(codebuf, sizeof(codebuf), "alert %lld",
                     json_is_integer(code) ? (long long)json_integer_value(code) : -1LL);
            desc = codebuf;
        }
        snprintf(key, sizeof(key), "%s %s from %s", level ? level : "?", desc, from);
    }
    json_t *v = json_object();
    put(d, v, "from", json_string(from));
    put(d, v, "level", level && !enc ? json_string(level) : json_null());
    put(d, v, "description", desc && !enc ? json_string(desc) : json_null());
    put(d, v, "encrypted", json_boolean(enc));
    if (v != NULL)
        tally_add(d, &e->t[F_ALERTS], key, v);
    json_decref(v);
}

static void add_finding(struct dctx *d, struct tally *t, const json_t *f)
{
    const char *id = jstr_get(f, "id");
    const char *sev = jstr_get(f, "severity");
    json_t *v;

    if (id == NULL)
        return;
    v = json_object();
    put(d, v, "id", json_string(id));
    put(d, v, "severity", sev ? json_string(sev) : json_null());
    if (v != NULL)
        tally_add(d, t, id, v);
    json_decref(v);
}

static void add_conn(struct dctx *d, struct side *s, const json_t *c)
{
    struct endpoint *e = side_endpoint(d, s, json_object_get(c, "server"));
    const json_t *ch, *sh, *certs, *ver, *arr;
    json_t *x;
    const char *str;
    size_t i;

    if (e == NULL) {
        s->dropped++;
        return;
    }
    s->conns++;
    e->conns++;
    str = jstr_get(c, "outcome");
    for (int k = 0; str != NULL && k < O_COUNT; k++)
        if (strcmp(str, diff_outcomes[k]) == 0)
            e->outcome[k]++;

    /* tallies take only what is there: a connection without ServerHello
     * shows in the outcome counts, not as a "none" suite */
    ch = json_object_get(c, "client_hello");
    if (json_is_object(ch)) {
        x = json_object_get(ch, "preferred_auth");
        if (json_is_string(x))
            tally_add(d, &e->t[F_PREF_AUTH], json_string_value(x), x);
        arr = json_object_get(ch, "cipher_suites");
        if (json_is_array(arr))
            add_cipher_list(d, e, arr);
    }
    sh = json_object_get(c, "server_hello");
    if (json_is_object(sh)) {
        str = suite_label(json_object_get(sh, "cipher_suite"));
        if (str != NULL) {
            json_t *v = json_string(str);
            tally_add(d, &e->t[F_SUITE], str, v);
            json_decref(v);
        }
        x = json_object_get(sh, "auth");
        if (json_is_string(x))
            tally_add(d, &e->t[F_AUTH], json_string_value(x), x);
    }
    certs = json_object_get(c, "server_certificates");
    if (json_is_array(certs) && json_is_object(json_array_get(certs, 0)))
        add_leaf(d, e, json_array_get(certs, 0));
    ver = json_object_get(c, "verification");
    if (json_is_object(ver)) {
        x = json_object_get(json_object_get(ver, "chain"), "result");
        if (json_is_string(x))
            tally_add(d, &e->t[F_CHAIN], json_string_value(x), x);
        x = json_object_get(json_object_get(ver, "name"), "ok");
        if (json_is_boolean(x))
            tally_add(d, &e->t[F_NAME_OK], json_is_true(x) ? "true" : "false", x);
    }
    arr = json_object_get(c, "alerts");
    json_array_foreach(arr, i, x)
        if (json_is_object(x))
            add_alert(d, e, x);
    arr = json_object_get(c, "findings");
    json_array_foreach(arr, i, x) {
        if (json_is_object(x)) {
            const struct tally_item *it;
            add_finding(d, &e->t[F_FINDINGS], x);
            /* the remedy of the id's first occurrence in the report order */
            it = tally_find(&e->t[F_FINDINGS], jstr_get(x, "id") ? jstr_get(x, "id") : "");
            diff_fix_note(d, e, x, it != NULL && seen_cmp(&it->first, &d->cur) == 0);
        }
    }
}

void diff_side_conn(struct dctx *d, struct side *s, const struct conn_key *k, const json_t *conn)
{
    d->cur.conn = *k;
    d->cur.seq = 0;
    s->fed = true;
    if (json_is_object(conn))
        add_conn(d, s, conn);
}

static void side_fold(struct dctx *d, struct side *s)
{
    const json_t *arr, *x;
    size_t i;

    memset(&d->cur, 0, sizeof(d->cur));
    arr = json_object_get(s->doc, "connections");
    json_array_foreach(arr, i, x)
        if (json_is_object(x) && !s->fed) {
            d->cur.conn.first_ts = (int64_t)i;      /* the document's order is the report's */
            d->cur.seq = 0;
            add_conn(d, s, x);
        }
    arr = json_object_get(s->doc, "findings");
    json_array_foreach(arr, i, x)
        if (json_is_object(x))
            add_finding(d, &s->global, x);
    for (size_t e = 0; e < s->n; e++)
        for (int f = 0; f < F_COUNT; f++)
            tally_order(d, &s->eps[e].t[f]);
}

void diff_side_free(struct side *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->eps[i].server);
        for (int f = 0; f < F_COUNT; f++)
            tally_free(&s->eps[i].t[f]);
        json_decref(s->eps[i].remedies);
    }
    free(s->eps);
    json_decref(s->index);
    tally_free(&s->global);
}

/* ---- comparing two endpoints ------------------------------------------------- */

static json_t *change_new(struct dctx *d, const char *field)
{
    json_t *c = json_object();
    put(d, c, "field", json_string(field));
    return c;
}

static void cmp_number(struct dctx *d, json_t *changes, const char *field, uint64_t b, uint64_t a)
{
    if (a == b)
        return;
    json_t *c = change_new(d, field);
    put(d, c, "before", juint(b));
    put(d, c, "after", juint(a));
    add(d, changes, c);
}

/* [{"value": v, "count": n}] most common first, ties in first-seen order. */
static json_t *values_array(struct dctx *d, const struct tally *t)
{
    json_t *arr = json_array();
    size_t order[DIFF_MAX_VALUES];

    for (size_t i = 0; i < t->n; i++) {
        size_t k = i;
        while (k > 0 && t->items[order[k - 1]].count < t->items[i].count) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    for (size_t i = 0; i < t->n; i++) {
        json_t *o = json_object();
        put(d, o, "value", json_incref(t->items[order[i]].value));
        put(d, o, "count", juint(t->items[order[i]].count));
        add(d, arr, o);
    }
    return arr;
}

static json_t *mode_value(const struct tally *t)
{
    long m = tally_mode(t);
    return m < 0 ? json_null() : json_incref(t->items[m].value);
}

static void cmp_mode(struct dctx *d, json_t *changes, enum field f,
                     const struct tally *b, const struct tally *a)
{
    long mb = tally_mode(b), ma = tally_mode(a);
    bool same_mode = (mb < 0 && ma < 0) ||
                     (mb >= 0 && ma >= 0 && strcmp(b->items[mb].key, a->items[ma].key) == 0);

    if (same_mode && tally_same_keys(b, a))
        return;
    json_t *c = change_new(d, diff_fields[f].name);
    put(d, c, "before", mode_value(b));
    put(d, c, "after", mode_value(a));
    if (b->n > 1 || a->n > 1) {
        put(d, c, "before_values", values_array(d, b));
        put(d, c, "after_values", values_array(d, a));
    }
    add(d, changes, c);
}

/* Names of `from` that are not in `in`, in `from`'s order. */
static json_t *list_minus(struct dctx *d, const json_t *from, const json_t *in)
{
    json_t *set = json_object(), *out = json_array(), *x;
    size_t i;

    if (set == NULL) {
        d->oom = true;
        return out;
    }
    json_array_foreach(in, i, x)
        if (json_is_string(x) && json_object_set(set, json_string_value(x), json_true()) != 0)
            d->oom = true;
    json_array_foreach(from, i, x)
        if (json_is_string(x) && json_object_get(set, json_string_value(x)) == NULL)
            add(d, out, json_incref(x));
    json_decref(set);
    return out;
}

static void cmp_list(struct dctx *d, json_t *changes, const struct tally *b, const struct tally *a)
{
    long mb = tally_mode(b), ma = tally_mode(a);
    json_t *lb = mb < 0 ? NULL : b->items[mb].value;
    json_t *la = ma < 0 ? NULL : a->items[ma].value;

    if ((lb == NULL && la == NULL) || (lb != NULL && la != NULL && json_equal(lb, la)))
        return;
    json_t *c = change_new(d, diff_fields[F_CIPHERS].name);
    put(d, c, "before", lb ? json_incref(lb) : json_null());
    put(d, c, "after", la ? json_incref(la) : json_null());
    if (lb != NULL && la != NULL) {
        size_t nb = json_array_size(lb), na = json_array_size(la), i = 0;
        while (i < nb && i < na && json_equal(json_array_get(lb, i), json_array_get(la, i)))
            i++;
        put(d, c, "first_difference", juint(i + 1));      /* 1-based, as people count */
        put(d, c, "added", list_minus(d, la, lb));
        put(d, c, "removed", list_minus(d, lb, la));
    }
    add(d, changes, c);
}

/* findings: {"ID": count}; alerts: [{from, level, description, encrypted, count}] */
static json_t *counts_side(struct dctx *d, enum field f, const struct tally *t)
{
    json_t *out = f == F_FINDINGS ? json_object() : json_array();

    for (size_t i = 0; i < t->n; i++) {
        if (f == F_FINDINGS) {
            put(d, out, t->items[i].key, juint(t->items[i].count));
        } else {
            json_t *o = json_deep_copy(t->items[i].value);
            put(d, o, "count", juint(t->items[i].count));
            add(d, out, o);
        }
    }
    return out;
}

static json_t *entry(struct dctx *d, const char *value, uint64_t count)
{
    json_t *o = json_object();
    put(d, o, "value", json_string(value));
    put(d, o, "count", juint(count));
    return o;
}

/* Returns the change (borrowed from `changes`) or NULL when nothing changed. */
static json_t *cmp_counts(struct dctx *d, json_t *changes, enum field f,
                          const struct tally *b, const struct tally *a)
{
    json_t *added = json_array(), *removed = json_array(), *changed = json_array();

    for (size_t i = 0; i < a->n; i++) {
        const struct tally_item *o = tally_find(b, a->items[i].key);
        if (o == NULL) {
            add(d, added, entry(d, a->items[i].key, a->items[i].count));
        } else if (o->count != a->items[i].count) {
            json_t *e = json_object();
            put(d, e, "value", json_string(a->items[i].key));
            put(d, e, "before", juint(o->count));
            put(d, e, "after", juint(a->items[i].count));
            add(d, changed, e);
        }
    }
    for (size_t i = 0; i < b->n; i++)
        if (tally_find(a, b->items[i].key) == NULL)
            add(d, removed, entry(d, b->items[i].key, b->items[i].count));

    if (json_array_size(added) == 0 && json_array_size(removed) == 0 &&
        json_array_size(changed) == 0) {
        json_decref(added);
        json_decref(removed);
        json_decref(changed);
        return NULL;
    }
    json_t *c = change_new(d, diff_fields[f].name);
    put(d, c, "before", counts_side(d, f, b));
    put(d, c, "after", counts_side(d, f, a));
    put(d, c, "added", added);
    put(d, c, "removed", removed);
    put(d, c, "count_changed", changed);
    add(d, changes, c);
    return c;
}

/* The reason for "worse" from the findings: error-severity ids new on
 * AFTER, as one "new error finding(s) A, B" string. */
static void new_errors(struct dctx *d, json_t *reasons, const struct tally *b, const struct tally *a)
{
    char *r = NULL;
    size_t n = 0;

    for (size_t i = 0; i < a->n; i++) {
        const char *sev = jstr_get(a->items[i].value, "severity");
        if (sev == NULL || strcmp(sev, "error") != 0 || tally_find(b, a->items[i].key) != NULL)
            continue;
        char *next = NULL;
        if (asprintf(&next, "%s%s%s", r ? r : "", r ? ", " : "", a->items[i].key) < 0) {
            d->oom = true;
            break;
        }
        free(r);
        r = next;
        n++;
    }
    if (r != NULL && !d->oom) {
        char *msg = NULL;
        if (asprintf(&msg, "new error finding%s %s", n == 1 ? "" : "s", r) < 0)
            d->oom = true;
        else
            add(d, reasons, json_string(msg));
        free(msg);
    }
    free(r);
}


/* The reasons for "better", the mirror of "worse": error findings gone,
 * more complete handshakes (a larger share of them when the connection
 * counts differ: 2/2 -> 3/3 is more traffic, not better). */
static void improvements(struct dctx *d, json_t *out, const struct endpoint *b, const struct endpoint *a)
{
    const struct tally *tb = &b->t[F_FINDINGS], *ta = &a->t[F_FINDINGS];
    uint64_t cb = b->outcome[O_COMPLETE], ca = a->outcome[O_COMPLETE];
    char *r = NULL;

    for (size_t i = 0; i < tb->n; i++) {
        const char *sev = jstr_get(tb->items[i].value, "severity");
        char *next = NULL;
        if (sev == NULL || strcmp(sev, "error") != 0 || tally_find(ta, tb->items[i].key) != NULL)
            continue;
        if (asprintf(&next, "%s%s%s", r ? r : "error findings gone: ", r ? ", " : "",
                     tb->items[i].key) < 0) {
            d->oom = true;
            break;
        }
        free(r);
        r = next;
    }
    if (r != NULL && !d->oom)
        add(d, out, json_string(r));
    free(r);
    if (ca > cb && (a->conns == b->conns || b->conns == 0 ||
                    (double)ca / (double)a->conns > (double)cb / (double)b->conns)) {
        char buf[96];
        snprintf(buf, sizeof(buf), "complete handshakes %" PRIu64 " -> %" PRIu64, cb, ca);
        add(d, out, json_string(buf));
    }
}


static void compare_endpoint(struct dctx *d, struct row *r)
{
    static const struct endpoint empty;
    const struct endpoint *b = r->b ? r->b : &empty, *a = r->a ? r->a : &empty;
    json_t *o = json_object(), *changes = json_array(), *reasons = json_array();

    cmp_number(d, changes, "connections", b->conns, a->conns);
    for (int k = 0; k < O_COUNT; k++)
        cmp_number(d, changes, diff_outcomes[k], b->outcome[k], a->outcome[k]);
    for (int f = 0; f < F_COUNT; f++) {
        switch (diff_fields[f].kind) {
        case K_MODE: cmp_mode(d, changes, (enum field)f, &b->t[f], &a->t[f]); break;
        case K_LIST: cmp_list(d, changes, &b->t[f], &a->t[f]); break;
        case K_COUNTS: cmp_counts(d, changes, (enum field)f, &b->t[f], &a->t[f]); break;
        }
    }

    if (r->a != NULL)
        new_errors(d, reasons, &b->t[F_FINDINGS], &a->t[F_FINDINGS]);
    if (r->a != NULL && r->b != NULL) {
        uint64_t cb = b->outcome[O_COMPLETE], ca = a->outcome[O_COMPLETE];
        char buf[160];
        buf[0] = '\0';
        if (ca < cb) {
            snprintf(buf, sizeof(buf), "complete handshakes %" PRIu64 " -> %" PRIu64, cb, ca);
        } else if (a->conns != b->conns && a->conns > 0 && b->conns > 0 &&
                   (double)ca / (double)a->conns < (double)cb / (double)b->conns) {
            /* more connections, more complete, but a smaller share of them */
            snprintf(buf, sizeof(buf),
                     "complete handshakes %" PRIu64 "/%" PRIu64 " -> %" PRIu64 "/%" PRIu64,
                     cb, b->conns, ca, a->conns);
        }
        if (buf[0])
            add(d, reasons, json_string(buf));
    }

    r->worse = json_array_size(reasons) > 0;
    json_t *better = json_array();
    if (r->a != NULL && r->b != NULL && !r->worse)
        improvements(d, better, b, a);
    if (r->b == NULL)
        r->status = ST_ONLY_AFTER;
    else if (r->a == NULL)
        r->status = ST_ONLY_BEFORE;
    else if (r->worse)
        r->status = ST_WORSE;
    else if (json_array_size(better) > 0)
        r->status = ST_BETTER;
    else if (json_array_size(changes) > 0)
        r->status = ST_CHANGED;
    else
        r->status = ST_UNCHANGED;

    json_t *conns = json_object();
    put(d, conns, "before", juint(b->conns));
    put(d, conns, "after", juint(a->conns));
    put(d, o, "server", json_string(r->key->server));
    put(d, o, "status", json_string(status_names[r->status]));
    put(d, o, "worse", json_boolean(r->worse));
    put(d, o, "reasons", reasons);
    if (r->worse && r->a != NULL)
        put(d, o, "fixes", diff_fixes(d, r->b, r->a));
    if (r->status == ST_BETTER)
        put(d, o, "improvements", better);
    else
        json_decref(better);
    put(d, o, "connections", conns);
    put(d, o, "changes", changes);
    r->obj = o;
}

/* Worse first, then changed, one-sided, unchanged; by address within. */
static int row_rank(const struct row *r)
{
    return r->worse ? 0 : r->status == ST_BETTER ? 1 : r->status == ST_CHANGED ? 2 :
           r->status == ST_ONLY_BEFORE || r->status == ST_ONLY_AFTER ? 3 : 4;
}

static int row_cmp(const void *pa, const void *pb)
{
    const struct row *x = pa, *y = pb;
    int c = row_rank(x) - row_rank(y);
    if (c != 0)
        return c;
    if (x->key->family != y->key->family)
        return x->key->family - y->key->family;
    if (x->key->family != 9) {
        c = memcmp(x->key->addr, y->key->addr, x->key->family == 4 ? 4 : 16);
        if (c != 0)
            return c;
    }
    if (x->key->port != y->key->port)
        return x->key->port < y->key->port ? -1 : 1;
    return strcmp(x->key->server, y->key->server);
}

/* ---- the document-level output ------------------------------------------------- */

static const char *source_name(enum diff_source s)
{
    return s == DIFF_REPORT ? "report" : "capture";
}

static json_t *side_json(struct dctx *d, const struct side *s)
{
    json_t *o = json_object(), *inputs = json_object_get(s->doc, "inputs");

    put(d, o, "file", json_string(s->name));
    put(d, o, "source", json_string(source_name(s->source)));
    if (s->source == DIFF_REPORT) {
        const char *v = jstr_get(json_object_get(s->doc, "tool"), "version");
        put(d, o, "report_version", v ? json_string(v) : json_null());
    }
    put(d, o, "inputs", json_is_array(inputs) ? json_incref(inputs) : json_array());
    put(d, o, "connections", juint(s->conns));
    return o;
}

static void add_note(struct dctx *d, json_t *notes, const struct side *s, const char *which,
                     const struct side *other)
{
    char *msg = NULL;
    if (s->source != DIFF_REPORT)
        return;
    if (asprintf(&msg, "%s is a saved report: its verdicts (trust store, expected names, "
                 "verification time) are the ones it was made with, not re-evaluated%s",
                 which, other->source == DIFF_CAPTURE
                     ? "; the analysis options of this run apply to the capture only" : "") < 0) {
        d->oom = true;
        return;
    }
    add(d, notes, json_string(msg));
    free(msg);
}

/* What comparing two sides found: rows sorted worst first, the notes and
 * the capture-level changes; owned, freed by result_free(). */
struct result {
    struct row *rows;
    size_t nrows, nworse, count[ST_COUNT];
    json_t *notes, *capture_changes, *reasons;
    json_t *optdiff;           /* verification options that differ (diff_opts.c) */
    bool comparable;           /* no option differs, or --ignore-options */
    bool worse;
};

static void result_free(struct result *r)
{
    for (size_t i = 0; i < r->nrows; i++)
        json_decref(r->rows[i].obj);
    free(r->rows);
    json_decref(r->notes);
    json_decref(r->capture_changes);
    json_decref(r->reasons);
    json_decref(r->optdiff);
}

/* The union of the server endpoints (BEFORE's, then AFTER's new ones),
 * each compared; sorted worst first. */
static int compare_rows(struct dctx *d, const struct side *sb, const struct side *sa,
                        struct result *r)
{
    r->rows = calloc(sb->n + sa->n + 1, sizeof(*r->rows));
    if (r->rows == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < sb->n; i++) {
        json_t *slot = sa->index ? json_object_get(sa->index, sb->eps[i].server) : NULL;
        struct row *row = &r->rows[r->nrows++];

        row->b = &sb->eps[i];
        row->a = slot ? &sa->eps[json_integer_value(slot)] : NULL;
        row->key = &sb->eps[i];
    }
    for (size_t i = 0; i < sa->n; i++) {
        struct row *row;

        if (sb->index && json_object_get(sb->index, sa->eps[i].server))
            continue;
        row = &r->rows[r->nrows++];
        row->a = &sa->eps[i];
        row->key = &sa->eps[i];
    }
    for (size_t i = 0; i < r->nrows; i++) {
        compare_endpoint(d, &r->rows[i]);
        r->count[r->rows[i].status]++;
        r->nworse += r->rows[i].worse;
        r->worse = r->worse || r->rows[i].worse;
    }
    qsort(r->rows, r->nrows, sizeof(*r->rows), row_cmp);
    return TI_OK;
}

/* Compare the two sides: endpoints, capture-level findings, notes. */
static int compare_sides(struct dctx *d, const struct side *sb, const struct side *sa,
                         struct result *r)
{
    r->notes = json_array();
    r->capture_changes = json_array();
    r->reasons = json_array();
    if (r->notes == NULL || r->capture_changes == NULL || r->reasons == NULL ||
        compare_rows(d, sb, sa, r) != TI_OK)
        return TI_ENOMEM;

    /* capture-level findings (CAPTURE_TRUNCATED ...) */
    cmp_counts(d, r->capture_changes, F_FINDINGS, &sb->global, &sa->global);
    new_errors(d, r->reasons, &sb->global, &sa->global);
    r->worse = r->worse || json_array_size(r->reasons) > 0;

    add_note(d, r->notes, sb, "BEFORE", sa);
    add_note(d, r->notes, sa, "AFTER", sb);
    r->optdiff = diff_option_differences(d, sb->doc, sa->doc, r->notes);
    if (sb->dropped || sa->dropped) {
        char buf[160];
        snprintf(buf, sizeof(buf), "more than %d server endpoints: %" PRIu64 " connections not compared",
                 DIFF_MAX_ENDPOINTS, sb->dropped + sa->dropped);
        add(d, r->notes, json_string(buf));
    }
    if (d->capped) {
        char buf[160];
        snprintf(buf, sizeof(buf), "more than %d distinct values of a field on an endpoint: "
                 "the rest not compared", DIFF_MAX_VALUES);
        add(d, r->notes, json_string(buf));
    }
    return d->oom ? TI_ENOMEM : TI_OK;
}

/* --ignore-options with options that differ: compared, and said so. */
static void ignored_note(struct dctx *d, struct result *r)
{
    const json_t *x;
    size_t i;
    char *msg = NULL;

    json_array_foreach(r->optdiff, i, x) {
        char *next = NULL;
        if (asprintf(&next, "%s%s%s: %s -> %s", msg ? msg : "verification options differ, "
                     "compared anyway (--ignore-options): ", msg ? "; " : "", jstr_get(x, "option"),
                     jstr_get(x, "before"), jstr_get(x, "after")) < 0) {
            d->oom = true;
            break;
        }
        free(msg);
        msg = next;
    }
    if (msg != NULL && !d->oom)
        add(d, r->notes, json_string(msg));
    free(msg);
}

/* The diff as a JSON document (docs/json-schema.md), written to out. */
static int result_json(struct dctx *d, const struct result *r, const struct side *sb,
                       const struct side *sa, const struct diff_opts *o, FILE *out)
{
    json_t *doc = json_object(), *tool = json_object(), *eps = json_array(), *sum = json_object();
    int rc = TI_OK;

    put(d, doc, "schema_version", json_integer(DIFF_SCHEMA_VERSION));
    put(d, tool, "name", json_string("tlsinspect"));
    put(d, tool, "version", json_string(o->version ? o->version : "unknown"));
    put(d, doc, "tool", tool);
    put(d, doc, "before", side_json(d, sb));
    put(d, doc, "after", side_json(d, sa));
    put(d, doc, "notes", json_incref(r->notes));
    /* not comparable: the options that differ, nothing compared */
    put(d, doc, "comparable", json_boolean(r->comparable));
    put(d, doc, "option_differences", json_incref(r->optdiff));
    for (size_t i = 0; i < r->nrows && r->comparable; i++)
        add(d, eps, json_incref(r->rows[i].obj));
    put(d, doc, "endpoints", eps);
    put(d, doc, "capture_changes", r->comparable ? json_incref(r->capture_changes) : json_array());
    put(d, doc, "capture_reasons", r->comparable ? json_incref(r->reasons) : json_array());
    put(d, sum, "endpoints", juint(r->comparable ? r->nrows : 0));
    put(d, sum, "worse", juint(r->comparable ? r->nworse : 0));
    for (int s = ST_BETTER; s < ST_COUNT; s++)
        put(d, sum, status_names[s], juint(r->comparable ? r->count[s] : 0));
    put(d, doc, "summary", sum);
    put(d, doc, "worse", json_boolean(r->worse));
    if (d->oom || doc == NULL)
        rc = TI_ENOMEM;
    else if (o->html)
        rc = report_html_diff(out, doc);     /* the same document, as a page */
    else if (report_json_dumpf(out, doc) != TI_OK)
        rc = TI_EIO;
    json_decref(doc);
    return rc;
}

/* The diff as text, written to out. */
static int result_text(struct dctx *d, const struct result *r, const struct side *sb,
                       const struct side *sa, FILE *out)
{
    const json_t *x;
    size_t i;
    bool block_open = false;

    diff_text_side(d, out, "before:", sb);
    diff_text_side(d, out, "after:", sa);
    json_array_foreach(r->notes, i, x)
        fprintf(out, "note: %s\n", json_string_value(x));
    if (!r->comparable) {
        diff_text_not_comparable(d, out, r->optdiff, sb, sa);
        return d->oom ? TI_ENOMEM : TI_OK;
    }
    for (size_t k = 0; k < r->nrows; k++) {
        bool block = r->rows[k].status == ST_WORSE || r->rows[k].status == ST_CHANGED ||
                     r->rows[k].status == ST_BETTER;
        /* blank line before every block and between blocks and one-liners */
        if (k == 0 || block || block_open)
            fputc('\n', out);
        diff_text_row(d, out, &r->rows[k]);
        block_open = block;
    }
    if (json_array_size(r->capture_changes) > 0) {
        fputc('\n', out);
        fputs("capture-level findings", out);
        if (json_array_size(r->reasons) > 0)
            diff_text_reasons(d, out, r->reasons);
        fputc('\n', out);
        diff_text_change(d, out, json_array_get(r->capture_changes, 0), NULL);
    }
    /* an endpoint seen only AFTER and worse counts in both */
    fprintf(out, "\n%zu endpoint%s: %zu worse, %zu better, %zu changed, %zu unchanged, %zu only "
            "before, %zu only after%s\n", r->nrows, r->nrows == 1 ? "" : "s", r->nworse,
            r->count[ST_BETTER], r->count[ST_CHANGED], r->count[ST_UNCHANGED], r->count[ST_ONLY_BEFORE],
            r->count[ST_ONLY_AFTER], r->worse ? "; something got worse" : "");
    return d->oom ? TI_ENOMEM : TI_OK;
}

int diff_sides(struct dctx *d, struct side *sb, struct side *sa, const struct diff_opts *o,
               FILE *out)
{
    struct result r = {0};
    int rc;

    side_fold(d, sb);
    side_fold(d, sa);
    rc = d->oom ? TI_ENOMEM : compare_sides(d, sb, sa, &r);
    if (rc == TI_OK) {
        r.comparable = json_array_size(r.optdiff) == 0 || o->ignore_options;
        if (!r.comparable)
            r.worse = false;
        else if (json_array_size(r.optdiff) > 0)
            ignored_note(d, &r);
    }
    if (rc == TI_OK)
        rc = o->json || o->html ? result_json(d, &r, sb, sa, o, out)
                                : result_text(d, &r, sb, sa, out);
    if (rc == TI_OK && (fflush(out) != 0 || ferror(out)))
        rc = TI_EIO;
    result_free(&r);
    diff_side_free(sb);
    diff_side_free(sa);
    if (rc != TI_OK)
        return rc;
    return !r.comparable ? DIFF_NOT_COMPARABLE : r.worse ? 1 : 0;
}

int diff_documents(json_t *before, enum diff_source before_source, const char *before_name,
                   json_t *after, enum diff_source after_source, const char *after_name,
                   const struct diff_opts *o, FILE *out)
{
    struct dctx d = {.color = o->color};
    struct side sb = {.doc = before, .source = before_source, .name = before_name};
    struct side sa = {.doc = after, .source = after_source, .name = after_name};

    return diff_sides(&d, &sb, &sa, o, out);
}
