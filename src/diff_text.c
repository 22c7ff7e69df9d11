/* diff_text.c - `tlsinspect diff`'s text output, rendered from the same
 * change objects as its JSON (diff_int.h), so the two cannot disagree. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "diff_int.h"
#include "tlsinspect/report.h"

static void put_esc(struct dctx *d, FILE *out, const char *s)
{
    char *e = report_escape(s, true);      /* wire strings: no raw control bytes */
    if (e == NULL) {
        d->oom = true;
        return;
    }
    fputs(e, out);
    free(e);
}

static void text_leaf(struct dctx *d, FILE *out, const json_t *v)
{
    const char *cn = jstr_get(v, "cn"), *key = jstr_get(v, "key");
    const char *issuer = jstr_get(v, "issuer"), *sha = jstr_get(v, "sha256");

    if (json_object_get(v, "parse_error") != NULL) {
        fputs("unparseable certificate", out);
    } else {
        fputs("CN=", out);
        put_esc(d, out, cn ? cn : "(none)");
        if (key != NULL) {
            fputc(' ', out);
            put_esc(d, out, key);
        }
        if (json_is_true(json_object_get(v, "self_signed"))) {
            fputs(" self-signed", out);
        } else if (issuer != NULL) {
            fputs(", issuer ", out);
            put_esc(d, out, issuer);
        }
    }
    if (sha != NULL) {
        /* 16 hex digits tell certificates apart; JSON has all 64 */
        char shortsha[20];
        snprintf(shortsha, sizeof(shortsha), "%.16s%s", sha, strlen(sha) > 16 ? ".." : "");
        fputs(" (sha256 ", out);
        put_esc(d, out, shortsha);
        fputc(')', out);
    }
}

static void text_value(struct dctx *d, FILE *out, const char *field, const json_t *v)
{
    if (v == NULL || json_is_null(v))
        fputs("none", out);
    else if (json_is_string(v))
        put_esc(d, out, json_string_value(v));
    else if (json_is_boolean(v))
        fputs(strcmp(field, "name_ok") == 0 ? (json_is_true(v) ? "ok" : "mismatch")
                                            : (json_is_true(v) ? "true" : "false"), out);
    else if (json_is_integer(v))
        fprintf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_object(v))
        text_leaf(d, out, v);
    else
        fputs("?", out);
}

/* One side of a K_MODE change: the value, or every value with its count. */
static void text_mode_side(struct dctx *d, FILE *out, const char *field, const json_t *c,
                           const char *which, const char *values_key)
{
    const json_t *vals = json_object_get(c, values_key), *x;
    size_t i;

    if (json_array_size(vals) <= 1) {
        text_value(d, out, field, json_object_get(c, which));
        return;
    }
    json_array_foreach(vals, i, x) {
        if (i > 0)
            fputs(", ", out);
        text_value(d, out, field, json_object_get(x, "value"));
        fprintf(out, " x%lld", (long long)json_integer_value(json_object_get(x, "count")));
    }
}

static void text_names(struct dctx *d, FILE *out, const json_t *arr)
{
    const json_t *x;
    size_t i;
    json_array_foreach(arr, i, x) {
        if (i > 0)
            fputs(", ", out);
        put_esc(d, out, json_string_value(x));
    }
}

static void text_list(struct dctx *d, FILE *out, const json_t *c)
{
    const json_t *b = json_object_get(c, "before"), *a = json_object_get(c, "after");
    const json_t *added = json_object_get(c, "added"), *removed = json_object_get(c, "removed");

    if (!json_is_array(b) || !json_is_array(a)) {
        const json_t *l = json_is_array(b) ? b : a;
        char desc[64];
        snprintf(desc, sizeof(desc), "%zu suites", json_array_size(l));
        fputs(json_is_array(b) ? desc : "none", out);
        fputs(" -> ", out);
        fputs(json_is_array(a) ? desc : "none", out);
        fputc('\n', out);
        return;
    }
    size_t pos = (size_t)json_integer_value(json_object_get(c, "first_difference"));
    const char *sb = json_string_value(json_array_get(b, pos - 1));
    const char *sa = json_string_value(json_array_get(a, pos - 1));
    fprintf(out, "differs at position %zu: ", pos);
    put_esc(d, out, sb ? sb : "(end of list)");
    fputs(" -> ", out);
    put_esc(d, out, sa ? sa : "(end of list)");
    if (json_array_size(added) == 0 && json_array_size(removed) == 0)
        fputs("; same suites, reordered\n", out);
    else
        fprintf(out, "; %zu added, %zu removed\n", json_array_size(added), json_array_size(removed));
    if (json_array_size(added) > 0) {
        fprintf(out, "  %-*s   added:   ", LABEL_WIDTH, "");
        text_names(d, out, added);
        fputc('\n', out);
    }
    if (json_array_size(removed) > 0) {
        fprintf(out, "  %-*s   removed: ", LABEL_WIDTH, "");
        text_names(d, out, removed);
        fputc('\n', out);
    }
}

static void text_counts(struct dctx *d, FILE *out, const json_t *c)
{
    const json_t *x;
    size_t i;
    bool first = true;

    json_array_foreach(json_object_get(c, "added"), i, x) {
        fputs(first ? "+ " : ", + ", out);
        put_esc(d, out, jstr_get(x, "value"));
        fprintf(out, " (x%lld)", (long long)json_integer_value(json_object_get(x, "count")));
        first = false;
    }
    json_array_foreach(json_object_get(c, "removed"), i, x) {
        fputs(first ? "- " : ", - ", out);
        put_esc(d, out, jstr_get(x, "value"));
        fprintf(out, " (x%lld)", (long long)json_integer_value(json_object_get(x, "count")));
        first = false;
    }
    json_array_foreach(json_object_get(c, "count_changed"), i, x) {
        if (!first)
            fputs(", ", out);
        put_esc(d, out, jstr_get(x, "value"));
        fprintf(out, " x%lld -> x%lld", (long long)json_integer_value(json_object_get(x, "before")),
                (long long)json_integer_value(json_object_get(x, "after")));
        first = false;
    }
    fputc('\n', out);
}

void diff_text_change(struct dctx *d, FILE *out, const json_t *c, const char *label_override)
{
    const char *field = jstr_get(c, "field");
    const char *label = field;
    enum kind kind = K_MODE;
    bool number = json_is_integer(json_object_get(c, "before")) ||
                  json_is_integer(json_object_get(c, "after"));

    for (int f = 0; f < F_COUNT; f++)
        if (strcmp(field, diff_fields[f].name) == 0) {
            label = diff_fields[f].label;
            kind = diff_fields[f].kind;
            number = false;
        }
    fprintf(out, "  %-*s ", LABEL_WIDTH, label_override ? label_override : label);
    if (kind == K_LIST) {
        text_list(d, out, c);
    } else if (kind == K_COUNTS) {
        text_counts(d, out, c);
    } else if (number) {
        fprintf(out, "%lld -> %lld\n", (long long)json_integer_value(json_object_get(c, "before")),
                (long long)json_integer_value(json_object_get(c, "after")));
    } else {
        text_mode_side(d, out, field, c, "before", "before_values");
        fputs(" -> ", out);
        text_mode_side(d, out, field, c, "after", "after_values");
        fputc('\n', out);
    }
}

/* "3 connections: 2 complete, 1 failed" */
static void text_outcomes(FILE *out, const struct endpoint *e)
{
    bool first = true;
    fprintf(out, "%" PRIu64 " connection%s", e->conns, e->conns == 1 ? "" : "s");
    for (int k = 0; k < O_COUNT; k++) {
        if (e->outcome[k] == 0)
            continue;
        fprintf(out, "%s%" PRIu64 " %s", first ? ": " : ", ", e->outcome[k], diff_outcomes[k]);
        first = false;
    }
}

void diff_text_reasons(struct dctx *d, FILE *out, const json_t *reasons)
{
    const json_t *x;
    size_t i;
    fputs(d->color ? "  \033[1;31mWORSE\033[0m: " : "  WORSE: ", out);
    json_array_foreach(reasons, i, x) {
        if (i > 0)
            fputs("; ", out);
        fputs(json_string_value(x), out);
    }
}

void diff_text_row(struct dctx *d, FILE *out, const struct row *r)
{
    const json_t *changes = json_object_get(r->obj, "changes"), *c;
    size_t i;

    put_esc(d, out, r->key->server);
    switch (r->status) {
    case ST_UNCHANGED:
        fputs("  unchanged (", out);
        text_outcomes(out, r->b);
        fputs(")\n", out);
        return;
    case ST_ONLY_BEFORE:
    case ST_ONLY_AFTER:
        fputs(r->status == ST_ONLY_BEFORE ? "  only before: " : "  only after: ", out);
        text_outcomes(out, r->b ? r->b : r->a);
        if (r->worse)
            diff_text_reasons(d, out, json_object_get(r->obj, "reasons"));
        fputc('\n', out);
        diff_text_fixes(d, out, json_object_get(r->obj, "fixes"));
        /* the findings say what this endpoint is about */
        json_array_foreach(changes, i, c)
            if (strcmp(jstr_get(c, "field"), "findings") == 0)
                diff_text_change(d, out, c, NULL);
        return;
    case ST_WORSE:
        diff_text_reasons(d, out, json_object_get(r->obj, "reasons"));
        fputc('\n', out);
        diff_text_fixes(d, out, json_object_get(r->obj, "fixes"));
        break;
    case ST_BETTER:
        fputs(d->color ? "  \033[32mbetter\033[0m: " : "  better: ", out);
        json_array_foreach(json_object_get(r->obj, "improvements"), i, c)
            fprintf(out, "%s%s", i ? "; " : "", json_string_value(c));
        fputc('\n', out);
        break;
    default:
        fputs(d->color ? "  \033[33mchanged\033[0m\n" : "  changed\n", out);
        break;
    }
    /* the connection count is context for every other line: always shown */
    fprintf(out, "  %-*s %" PRIu64 " -> %" PRIu64 "\n", LABEL_WIDTH, "connections",
            r->b->conns, r->a->conns);
    json_array_foreach(changes, i, c)
        if (strcmp(jstr_get(c, "field"), "connections") != 0)
            diff_text_change(d, out, c, NULL);
}

void diff_text_side(struct dctx *d, FILE *out, const char *label, const struct side *s)
{
    const json_t *inputs = json_object_get(s->doc, "inputs"), *x;
    size_t i;

    fprintf(out, "%-8s", label);
    put_esc(d, out, s->name);
    if (s->source == DIFF_REPORT) {
        fputs("  (saved report of ", out);
        json_array_foreach(inputs, i, x) {
            if (i > 0)
                fputs(", ", out);
            put_esc(d, out, jstr_get(x, "file") ? jstr_get(x, "file") : "?");
        }
        if (json_array_size(inputs) == 0)
            fputs("no input", out);
        fputs("; ", out);
    } else {
        fputs("  (capture; ", out);
    }
    fprintf(out, "%" PRIu64 " connection%s)\n", s->conns, s->conns == 1 ? "" : "s");
}
