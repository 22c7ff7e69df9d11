/* diff_fix.c - the fix beside each endpoint that got worse: the remedy of
 * the finding that made it worse, worded as the report words it, so that
 * the diff says what to change and not only what changed. */
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/report.h"
#include "diff_int.h"

void diff_fix_note(struct dctx *d, struct endpoint *e, const json_t *finding, bool first)
{
    const char *id = jstr_get(finding, "id"), *remedy = jstr_get(finding, "remedy");

    if (id == NULL || remedy == NULL || remedy[0] == '\0')
        return;
    if (e->remedies == NULL && (e->remedies = json_object()) == NULL) {
        d->oom = true;
        return;
    }
    if (first || json_object_get(e->remedies, id) == NULL)
        put(d, e->remedies, id, json_string(remedy));
}

static bool sev_is(const struct tally_item *it, const char *sev)
{
    const char *s = jstr_get(it->value, "severity");
    return s != NULL && strcmp(s, sev) == 0;
}

static void add_fix(struct dctx *d, json_t *out, const struct endpoint *a, const char *id)
{
    const char *fix = jstr_get(a->remedies, id);
    json_t *o;

    if (fix == NULL)
        return;
    o = json_object();
    put(d, o, "id", json_string(id));
    put(d, o, "fix", json_string(fix));
    add(d, out, o);
}

/* Every finding of AFTER with severity sev (and, with `fresh`, not on BEFORE). */
static void add_fixes(struct dctx *d, json_t *out, const struct endpoint *b,
                      const struct endpoint *a, const char *sev, bool fresh)
{
    const struct tally *ta = &a->t[F_FINDINGS];

    for (size_t i = 0; i < ta->n; i++) {
        const struct tally_item *it = &ta->items[i];
        bool known = false;
        for (size_t k = 0; fresh && b != NULL && k < b->t[F_FINDINGS].n && !known; k++)
            known = strcmp(b->t[F_FINDINGS].items[k].key, it->key) == 0;
        if (sev_is(it, sev) && !known)
            add_fix(d, out, a, it->key);
    }
}

json_t *diff_fixes(struct dctx *d, const struct endpoint *b, const struct endpoint *a)
{
    json_t *out = json_array();

    if (out == NULL) {
        d->oom = true;
        return NULL;
    }
    add_fixes(d, out, b, a, "error", true);
    /* worse by its handshakes alone: what AFTER's findings say to change */
    if (json_array_size(out) == 0)
        add_fixes(d, out, b, a, "error", false);
    if (json_array_size(out) == 0)
        add_fixes(d, out, b, a, "warning", false);
    return out;
}

void diff_text_fixes(struct dctx *d, FILE *out, const json_t *fixes)
{
    const json_t *x;
    size_t i;

    json_array_foreach(fixes, i, x) {
        /* the remedy may quote a certificate name: no raw control byte out */
        char *fix = report_escape(jstr_get(x, "fix"), true);
        if (fix == NULL) {
            d->oom = true;
            return;
        }
        fprintf(out, "  %sfix%s %s: %s\n", d->color ? "\033[1m" : "", d->color ? "\033[0m" : "",
                jstr_get(x, "id"), fix);
        free(fix);
    }
}
