/* diff_opts.c - are two reports' verdicts comparable?
 *
 * A chain is `ok` or `unknown_issuer` against a trust store, a name check
 * passes or fails against --name, an expiry depends on --at: two reports
 * made with different ones differ at every endpoint for that reason alone.
 * The "options" each report records (runopts.h) are compared first; what
 * differs is said once, one line per option, instead of every endpoint
 * listed as changed.  The trust stores are compared by content (SHA-256),
 * so the same file under another path matches.  Ports and the key log are
 * not compared: they decide what is seen, not how it is judged, and each
 * capture comes with its own key log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/report.h"
#include "diff_int.h"

static const char *const store_keys[] = {"cafile", "capath", "client_cafile"};

/* "none" or "PATH (SHA-256 0123456789abcdef.., N certificates)". */
static json_t *store_desc(const json_t *st)
{
    const char *path = jstr_get(st, "path"), *sha = jstr_get(st, "sha256");
    json_int_t n = json_integer_value(json_object_get(st, "count"));
    char *s = NULL;
    json_t *v;

    if (!json_is_object(st))
        return json_string("none");
    if (asprintf(&s, "%s (SHA-256 %.16s.., %lld certificate%s)", path ? path : "?",
                 sha ? sha : "unknown", (long long)n, n == 1 ? "" : "s") < 0)
        return NULL;
    v = json_string(s);
    free(s);
    return v;
}

/* Same trust store: both absent, or both present with the same content. */
static bool store_same(const json_t *b, const json_t *a)
{
    const char *hb, *ha;

    if (!json_is_object(b) || !json_is_object(a))
        return json_is_object(b) == json_is_object(a);
    hb = jstr_get(b, "sha256");
    ha = jstr_get(a, "sha256");
    if (hb != NULL && ha != NULL)
        return strcmp(hb, ha) == 0;
    hb = jstr_get(b, "path");
    ha = jstr_get(a, "path");
    return hb != NULL && ha != NULL && strcmp(hb, ha) == 0;
}

static int str_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The --name set as one string, sorted ("10.0.0.1=a, 10.0.0.2=b"), "none"
 * when empty; NULL when out of memory. */
static char *names_desc(const json_t *names)
{
    size_t n = json_array_size(names), len = 1;
    char **v = calloc(n ? n : 1, sizeof(*v)), *out;
    const json_t *x;
    size_t i;

    if (v == NULL)
        return NULL;
    json_array_foreach(names, i, x) {
        if (asprintf(&v[i], "%s=%s", jstr_get(x, "addr") ? jstr_get(x, "addr") : "?",
                     jstr_get(x, "name") ? jstr_get(x, "name") : "") < 0)
            v[i] = NULL;
        len += v[i] ? strlen(v[i]) + 2 : 0;
    }
    qsort(v, n, sizeof(*v), str_cmp);   /* NULLs only after a failure, checked below */
    out = malloc(n == 0 ? sizeof("none") : len);
    if (out != NULL) {
        strcpy(out, n == 0 ? "none" : "");
        for (i = 0; i < n; i++) {
            if (v[i] == NULL) {
                free(out);
                out = NULL;
                break;
            }
            if (i > 0)
                strcat(out, ", ");
            strcat(out, v[i]);
        }
    }
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return out;
}

static void add_difference(struct dctx *d, json_t *out, const char *option, json_t *before,
                           json_t *after)
{
    json_t *o = json_object();

    put(d, o, "option", json_string(option));
    put(d, o, "before", before);
    put(d, o, "after", after);
    add(d, out, o);
}

static void cmp_names(struct dctx *d, json_t *out, const json_t *ob, const json_t *oa)
{
    char *nb = names_desc(json_object_get(ob, "names"));
    char *na = names_desc(json_object_get(oa, "names"));

    if (nb == NULL || na == NULL)
        d->oom = true;
    else if (strcmp(nb, na) != 0)
        add_difference(d, out, "name", json_string(nb), json_string(na));
    free(nb);
    free(na);
}

json_t *diff_option_differences(struct dctx *d, const json_t *before, const json_t *after,
                                json_t *notes)
{
    const json_t *ob = json_object_get(before, "options"), *oa = json_object_get(after, "options");
    json_t *out = json_array();
    const char *ab, *aa;

    if (out == NULL) {
        d->oom = true;
        return NULL;
    }
    if (!json_is_object(ob) || !json_is_object(oa)) {
        add(d, notes, json_string(!json_is_object(ob) && !json_is_object(oa)
            ? "warning: neither side records its verification options (reports from an older "
              "tlsinspect): compared as if they were the same"
            : !json_is_object(ob)
            ? "warning: BEFORE does not record its verification options (a report from an older "
              "tlsinspect): compared as if they were AFTER's"
            : "warning: AFTER does not record its verification options (a report from an older "
              "tlsinspect): compared as if they were BEFORE's"));
        return out;
    }
    for (size_t i = 0; i < sizeof(store_keys) / sizeof(store_keys[0]); i++) {
        const json_t *sb = json_object_get(ob, store_keys[i]), *sa = json_object_get(oa, store_keys[i]);
        if (!store_same(sb, sa))
            add_difference(d, out, store_keys[i], store_desc(sb), store_desc(sa));
    }
    cmp_names(d, out, ob, oa);
    ab = jstr_get(ob, "at");
    aa = jstr_get(oa, "at");
    if (strcmp(ab ? ab : "capture", aa ? aa : "capture") != 0)
        add_difference(d, out, "at", json_string(ab ? ab : "capture"), json_string(aa ? aa : "capture"));
    return out;
}

static void put_clean(struct dctx *d, FILE *out, const char *s)
{
    char *c = report_escape(s, true);

    if (c == NULL) {
        d->oom = true;
        return;
    }
    fputs(c, out);
    free(c);
}

void diff_text_not_comparable(struct dctx *d, FILE *out, const json_t *differences,
                              const struct side *sb, const struct side *sa)
{
    const json_t *x;
    size_t i;

    fprintf(out, "\n%snot comparable: verification options differ%s\n",
            d->color ? "\033[1;31m" : "", d->color ? "\033[0m" : "");
    json_array_foreach(differences, i, x) {
        char label[32];
        snprintf(label, sizeof(label), "--%s", jstr_get(x, "option"));
        for (char *p = label; *p; p++)
            if (*p == '_')
                *p = '-';
        fprintf(out, "  %-*s ", LABEL_WIDTH, label);
        put_clean(d, out, jstr_get(x, "before"));
        fputs(" -> ", out);
        put_clean(d, out, jstr_get(x, "after"));
        fputc('\n', out);
    }
    fprintf(out, "\n%s,\nor add --ignore-options to compare anyway.\n",
            sb->source == DIFF_CAPTURE || sa->source == DIFF_CAPTURE
                ? "Analyse the capture with the options the report was made with"
                : "Compare reports made with the same options");
}
