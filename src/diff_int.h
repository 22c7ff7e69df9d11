/* diff_int.h - what diff.c and diff_text.c share: the folded sides, the
 * rows of the comparison and the small JSON helpers.  Not an interface:
 * only the diff's own files include it. */
#ifndef TLSINSPECT_DIFF_INT_H
#define TLSINSPECT_DIFF_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "tlsinspect/conn_key.h"
#include "tlsinspect/diff.h"

/* ---- what is compared ------------------------------------------------------ */

enum field {
    F_PREF_AUTH = 0, F_CIPHERS, F_SUITE, F_AUTH, F_LEAF, F_CHAIN, F_NAME_OK,
    F_ALERTS, F_FINDINGS, F_COUNT
};

enum kind {
    K_MODE,     /* one value per connection; the most common one is shown */
    K_LIST,     /* the cipher list: the most common list, compared by position */
    K_COUNTS    /* several per connection: every value with its count */
};

struct field_desc {
    const char *name;          /* JSON "field" */
    const char *label;         /* text */
    enum kind kind;
};

static const struct field_desc diff_fields[F_COUNT] = {
    [F_PREF_AUTH] = {"preferred_auth", "preferred auth", K_MODE},
    [F_CIPHERS] = {"cipher_list", "cipher list", K_LIST},
    [F_SUITE] = {"selected_suite", "selected suite", K_MODE},
    [F_AUTH] = {"selected_auth", "selected auth", K_MODE},
    [F_LEAF] = {"leaf_certificate", "leaf certificate", K_MODE},
    [F_CHAIN] = {"chain_result", "verification", K_MODE},
    [F_NAME_OK] = {"name_ok", "name check", K_MODE},
    [F_ALERTS] = {"alerts", "alerts", K_COUNTS},
    [F_FINDINGS] = {"findings", "findings", K_COUNTS},
};

enum { O_COMPLETE = 0, O_FAILED, O_INCOMPLETE, O_ENCRYPTED, O_COUNT };
static const char *const diff_outcomes[O_COUNT] = {"complete", "failed", "incomplete", "encrypted"};

#define LABEL_WIDTH 17

/* ---- tallies: distinct values in first-seen order with counts --------------- */

/* Where a value was seen first: the connection (report order; a saved
 * report's connections by their place in it) and the order of the values
 * within it.  A capture's connections arrive in release order. */
struct seen {
    struct conn_key conn;
    uint64_t seq;
};

struct tally_item {
    char *key;                 /* identity (suite name, sha256, alert text ...) */
    json_t *value;             /* what is shown (owned reference): the first occurrence's */
    uint64_t count;
    struct seen first;
};

struct tally {
    json_t *index;             /* key -> slot (json integer) */
    struct tally_item *items;
    size_t n, cap;
    uint64_t other;            /* occurrences past DIFF_MAX_VALUES */
};

struct endpoint {
    char *server;              /* "ip:port", "[v6]:port" */
    int family;                /* sort: 4, 6, then 9 for an unparseable address */
    unsigned char addr[16];
    long long port;
    uint64_t conns;
    uint64_t outcome[O_COUNT];
    struct tally t[F_COUNT];
    json_t *remedies;          /* finding id -> its remedy as the report phrased it (diff_fix.c) */
};

struct side {
    json_t *doc;
    enum diff_source source;
    const char *name;
    struct endpoint *eps;
    size_t n, cap;
    json_t *index;             /* server -> slot */
    uint64_t conns;
    uint64_t dropped;          /* connections past DIFF_MAX_ENDPOINTS */
    struct tally global;       /* capture-level findings */
    bool fed;                  /* connections came one at a time, not from doc */
};

struct dctx {
    struct seen cur;           /* the connection being folded */
    bool oom;
    bool capped;               /* some tally hit DIFF_MAX_VALUES */
    bool color;
};

/* ---- small JSON helpers ----------------------------------------------------- */

static inline void put(struct dctx *d, json_t *obj, const char *key, json_t *v)
{
    if (obj == NULL) {
        json_decref(v);
        d->oom = true;
    } else if (v == NULL || json_object_set_new(obj, key, v) != 0) {
        d->oom = true;
    }
}

static inline void add(struct dctx *d, json_t *arr, json_t *v)
{
    if (arr == NULL) {
        json_decref(v);
        d->oom = true;
    } else if (v == NULL || json_array_append_new(arr, v) != 0) {
        d->oom = true;
    }
}

static inline const char *jstr_get(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static inline json_t *juint(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* A suite object {"code", "name"}: its name, else its code. */
static inline const char *suite_label(const json_t *cs)
{
    const char *s = jstr_get(cs, "name");
    return s ? s : jstr_get(cs, "code");
}

/* ---- the rows of the comparison ---------------------------------------------- */

enum status { ST_WORSE = 0, ST_BETTER, ST_CHANGED, ST_ONLY_BEFORE, ST_ONLY_AFTER, ST_UNCHANGED,
              ST_COUNT };
static const char *const status_names[ST_COUNT] = {
    "worse", "better", "changed", "only_before", "only_after", "unchanged"
};

struct row {
    const struct endpoint *b, *a;     /* one may be NULL */
    const struct endpoint *key;       /* for sorting */
    json_t *obj;
    enum status status;
    bool worse;
};

/* ---- a capture's side fed by the analysis (diff_load.c) -------------------- */

/* Fold one connection object (report_json_conn()) of the report order key k,
 * in any order; then diff_sides() with s->doc the document without its
 * connections (s->fed set). */
void diff_side_conn(struct dctx *d, struct side *s, const struct conn_key *k, const json_t *conn);
/* Fold the sides' documents (their connections unless fed), compare, write;
 * frees what the sides hold (not their documents).  As diff_documents(). */
int diff_sides(struct dctx *d, struct side *sb, struct side *sa, const struct diff_opts *o,
               FILE *out);
void diff_side_free(struct side *s);      /* what the side holds, not its document */

/* ---- text rendering (diff_text.c) ------------------------------------------- */

/* A change object as text; label_override replaces the field's label. */
void diff_text_change(struct dctx *d, FILE *out, const json_t *c, const char *label_override);
void diff_text_reasons(struct dctx *d, FILE *out, const json_t *reasons);
/* One endpoint's row: a one-liner, or a block for worse, better, changed. */
void diff_text_row(struct dctx *d, FILE *out, const struct row *r);
/* "before:  FILE  (capture; N connections)" */
void diff_text_side(struct dctx *d, FILE *out, const char *label, const struct side *s);

/* ---- the fix beside what got worse (diff_fix.c) -------------------------------- */

/* Remember a finding's remedy on its endpoint (per id: the first one seen,
 * replaced when `first`: this occurrence is the earliest in the report
 * order, for a side fed in release order). */
void diff_fix_note(struct dctx *d, struct endpoint *e, const json_t *finding, bool first);
/* For an endpoint that got worse: [{"id", "fix"}] -- the remedies of the
 * error findings new on AFTER, or, when it got worse by its handshakes
 * alone, of every error and warning finding AFTER has.  b may be NULL. */
json_t *diff_fixes(struct dctx *d, const struct endpoint *b, const struct endpoint *a);
/* "  fix ID: remedy" lines. */
void diff_text_fixes(struct dctx *d, FILE *out, const json_t *fixes);

/* ---- verification options (diff_opts.c) ----------------------------------------- */

/* What differs between the "options" of two report documents, as
 * [{"option", "before", "after"}] (descriptions, not values: "none",
 * "PATH (SHA-256 0123.., 3 certificates)", "capture" ...).  A side without
 * "options" (a report from an older tlsinspect) adds a note and is taken
 * as matching.  NULL when out of memory. */
json_t *diff_option_differences(struct dctx *d, const json_t *before, const json_t *after,
                                json_t *notes);
/* The text block for sides that are not comparable. */
void diff_text_not_comparable(struct dctx *d, FILE *out, const json_t *differences,
                              const struct side *sb, const struct side *sa);

#endif
