/* report_html_diff.c - the diff page: `tlsinspect diff -f html` from the diff's JSON document. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tlsinspect/err.h"
#include "tlsinspect/report_html.h"

#include "report_html_int.h"

/* ---- the diff page ------------------------------------------------------------------------------ */

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

#define DIFF_LIST_SHOWN 12

/* One value of a change, as text (untrusted: escaped). */
static void diff_value(struct hctx *h, const char *field, const json_t *v)
{
    if (v == NULL || json_is_null(v)) {
        hraw(h, "<span class=\"mute\">none</span>");
    } else if (json_is_string(v)) {
        hesc(h, json_string_value(v));
    } else if (json_is_boolean(v)) {
        hraw(h, strcmp(field, "name_ok") == 0 ? (json_is_true(v) ? "ok" : "mismatch")
                                             : (json_is_true(v) ? "true" : "false"));
    } else if (json_is_integer(v)) {
        hp(h, "%lld", (long long)json_integer_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) {
            if (i == DIFF_LIST_SHOWN) {
                hp(h, ", ... (%zu in all)", json_array_size(v));
                break;
            }
            hraw(h, i ? ", " : "");
            if (json_is_object(x) && json_object_get(x, "count") != NULL &&
                json_object_get(x, "value") != NULL) {
                diff_value(h, field, json_object_get(x, "value"));
                hp(h, " &times;%lld", (long long)json_integer_value(json_object_get(x, "count")));
            } else if (json_is_object(x) && jstr(x, "from") != NULL) {
                /* an alert */
                if (json_is_true(json_object_get(x, "encrypted")))
                    hraw(h, "encrypted alert");
                else
                    hesc(h, jstr(x, "level") ? jstr(x, "level") : "?"), hraw(h, " "),
                        hesc(h, jstr(x, "description") ? jstr(x, "description") : "?");
                hraw(h, " from ");
                hesc(h, jstr(x, "from"));
                if (json_is_integer(json_object_get(x, "count")))
                    hp(h, " &times;%lld", (long long)json_integer_value(json_object_get(x, "count")));
            } else {
                diff_value(h, field, x);
            }
        }
        if (json_array_size(v) == 0)
            hraw(h, "<span class=\"mute\">none</span>");
    } else if (json_is_object(v) && json_object_get(v, "sha256") != NULL) {
        /* a leaf certificate */
        const char *sha = jstr(v, "sha256");
        hraw(h, "CN=");
        hesc(h, jstr(v, "cn") ? jstr(v, "cn") : "(none)");
        hraw(h, " ");
        hesc(h, jstr(v, "key") ? jstr(v, "key") : "");
        if (json_is_true(json_object_get(v, "self_signed")))
            hraw(h, " <span class=\"warn\">self-signed</span>");
        else if (jstr(v, "issuer") != NULL)
            hraw(h, "<br><span class=\"mute\">issuer</span> "), hesc(h, jstr(v, "issuer"));
        if (sha != NULL)
            hraw(h, "<br><span class=\"mute\">SHA-256</span> <code>"), hesc_max(h, sha, 16), hraw(h, "</code>");
    } else if (json_is_object(v)) {
        /* findings: {"ID": count} */
        const char *k;
        const json_t *x;
        bool first = true;
        json_object_foreach((json_t *)v, k, x) {
            hraw(h, first ? "" : ", ");
            hesc(h, k);
            if (json_is_integer(x))
                hp(h, " &times;%lld", (long long)json_integer_value(x));
            first = false;
        }
        if (first)
            hraw(h, "<span class=\"mute\">none</span>");
    } else {
        hraw(h, "?");
    }
}

/* A cipher list: numbered up to a few past the first difference, which is marked. */
static void diff_list(struct hctx *h, const json_t *list, long long fd)
{
    size_t i, n = json_array_size(list), upto = fd > 0 ? (size_t)fd + 2 : 8;
    const json_t *x;

    if (upto < 6)
        upto = 6;
    hraw(h, "<ol class=\"suites\">");
    json_array_foreach(list, i, x) {
        if (i == upto)
            break;
        if ((long long)i + 1 == fd)
            hraw(h, "<li class=\"first\"><b>"), hesc(h, json_string_value(x)),
                hraw(h, "</b> <span class=\"mark\">&larr; first difference</span></li>");
        else
            hraw(h, "<li>"), hesc(h, json_string_value(x)), hraw(h, "</li>");
    }
    hraw(h, "</ol>");
    if (n > upto)
        hp(h, "<span class=\"mute\">... %zu suites in all</span>", n);
}

static void diff_side(struct hctx *h, const char *field, const json_t *c, const char *which,
                      const char *values)
{
    if (strcmp(field, "cipher_list") == 0 && json_is_array(json_object_get(c, which))) {
        const json_t *fd = json_object_get(c, "first_difference");
        diff_list(h, json_object_get(c, which), json_is_integer(fd) ? (long long)json_integer_value(fd) : 0);
        return;
    }
    const json_t *vals = json_object_get(c, values);
    if (json_array_size(vals) > 1)
        diff_value(h, field, vals);
    else
        diff_value(h, field, json_object_get(c, which));
}

static void diff_marks(struct hctx *h, const json_t *c)
{
    static const char *const keys[] = {"added", "removed"};
    static const char *const marks[] = {"+ added", "&minus; removed"};
    for (size_t k = 0; k < 2; k++) {
        const json_t *arr = json_object_get(c, keys[k]);
        if (json_array_size(arr) == 0)
            continue;
        hp(h, "<br><span class=\"mark\">%s:</span> ", marks[k]);
        diff_value(h, "", arr);
    }
}

/* The diff's field names (diff.c) in words; others as they are. */
static const char *diff_label(const char *field)
{
    static const char *const map[][2] = {
        {"connections", "connections"}, {"complete", "complete handshakes"},
        {"failed", "failed handshakes"}, {"incomplete", "incomplete"}, {"encrypted", "encrypted"},
        {"preferred_auth", "client prefers"}, {"cipher_list", "offered cipher list"},
        {"selected_suite", "selected suite"}, {"selected_auth", "selected auth"},
        {"leaf_certificate", "leaf certificate"}, {"chain_result", "chain verification"},
        {"name_ok", "name check"}, {"alerts", "alerts"}, {"findings", "findings"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(field, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static void diff_endpoint(struct hctx *h, const json_t *ep)
{
    const char *status = jstr(ep, "status");
    bool worse = json_is_true(json_object_get(ep, "worse"));
    const json_t *changes = json_object_get(ep, "changes"), *reasons = json_object_get(ep, "reasons");
    const json_t *conns = json_object_get(ep, "connections"), *c;
    const char *cls = worse ? "bad" : status && strcmp(status, "unchanged") == 0 ? "ok" : "warn";
    size_t i;

    hp(h, "<details class=\"group\"%s><summary><span class=\"badge %s\">", worse || (status &&
       strcmp(status, "unchanged") != 0) ? " open" : "", cls);
    for (const char *p = status ? status : "?"; *p; p++)
        fputc(*p == '_' ? ' ' : (*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p, h->out);
    hraw(h, "</span> <code>");
    hesc(h, jstr(ep, "server"));
    hp(h, "</code> <span class=\"mute\">%lld &rarr; %lld connections</span>",
       (long long)json_integer_value(json_object_get(conns, "before")),
       (long long)json_integer_value(json_object_get(conns, "after")));
    hraw(h, "</summary>\n<div>\n");
    if (json_array_size(reasons) > 0) {
        hraw(h, "<p class=\"bad\"><b>Worse:</b> ");
        json_array_foreach(reasons, i, c) {
            hraw(h, i ? "; " : "");
            hesc(h, json_string_value(c));
        }
        hraw(h, "</p>\n");
    }
    /* what to change, as the report words it, beside what got worse */
    json_array_foreach(json_object_get(ep, "fixes"), i, c) {
        hraw(h, "<p class=\"fix\"><b>Fix</b> <code>");
        hesc(h, jstr(c, "id"));
        hraw(h, "</code>: ");
        hesc(h, jstr(c, "fix"));
        hraw(h, "</p>\n");
    }
    if (json_array_size(changes) == 0) {
        hraw(h, "<p class=\"ok\">No change.</p>\n</div></details>\n");
        return;
    }
    hraw(h, "<table class=\"diff\">\n<tr><th>what</th><th>before</th><th>after</th></tr>\n");
    json_array_foreach(changes, i, c) {
        const char *field = jstr(c, "field");
        bool bad = field != NULL && worse &&
                   (strcmp(field, "findings") == 0 || strcmp(field, "complete") == 0 ||
                    strcmp(field, "failed") == 0 || strcmp(field, "alerts") == 0 ||
                    strcmp(field, "chain_result") == 0);
        hp(h, "<tr class=\"%s\"><th>%s", bad ? "wrs" : "chg", bad ? "<span class=\"bad\">&#9888;</span> " : "");
        /* field names are ours, but a saved report is a file anyone could edit */
        if (field != NULL && diff_label(field) != NULL)
            hraw(h, diff_label(field));
        else
            hesc(h, field ? field : "?");
        hraw(h, "</th><td>");
        diff_side(h, field ? field : "", c, "before", "before_values");
        hraw(h, "</td><td>");
        diff_side(h, field ? field : "", c, "after", "after_values");
        diff_marks(h, c);
        const json_t *chg = json_object_get(c, "count_changed"), *x;
        size_t k;
        json_array_foreach(chg, k, x) {
            hraw(h, k ? ", " : "<br><span class=\"mark\">count changed:</span> ");
            hesc(h, jstr(x, "value"));
            hp(h, " &times;%lld &rarr; &times;%lld", (long long)json_integer_value(json_object_get(x, "before")),
               (long long)json_integer_value(json_object_get(x, "after")));
        }
        hraw(h, "</td></tr>\n");
    }
    hraw(h, "</table>\n</div></details>\n");
}

static void diff_input(struct hctx *h, const char *label, const json_t *side)
{
    const json_t *inputs = json_object_get(side, "inputs"), *x;
    size_t i;

    hp(h, "<tr><th>%s</th><td><code>", label);
    hesc(h, jstr(side, "file"));
    hraw(h, "</code> ");
    if (jstr(side, "source") != NULL && strcmp(jstr(side, "source"), "report") == 0) {
        hraw(h, "(saved report of ");
        json_array_foreach(inputs, i, x) {
            hraw(h, i ? ", " : "");
            hesc(h, jstr(x, "file") ? jstr(x, "file") : "?");
        }
        hraw(h, ") ");
    } else {
        hraw(h, "(capture) ");
    }
    hp(h, "%lld connections", (long long)json_integer_value(json_object_get(side, "connections")));
    json_array_foreach(inputs, i, x) {
        if (jstr(x, "sha256") != NULL) {
            hraw(h, "<br><span class=\"mute\">SHA-256</span> <code>");
            hesc(h, jstr(x, "sha256"));
            hraw(h, "</code>");
        }
    }
    hraw(h, "</td></tr>\n");
}

/* The verdict when the two sides' verification options differ: what
 * differs, one row per option, and nothing compared. */
static void diff_not_comparable(struct hctx *h, const json_t *doc)
{
    const json_t *x;
    size_t i;

    hraw(h, "<section class=\"verdict bad\" id=\"verdict\"><p class=\"head\"><span class=\"badge "
            "bad\">NOT COMPARABLE</span> verification options differ</p>\n<p>Each side's verdicts "
            "were reached with its own trust store, names or verification time: nothing was "
            "compared. Analyse both with the same options, or run diff with "
            "<code>--ignore-options</code>.</p>\n</section>\n");
    hraw(h, "<h2 id=\"options\">Verification options</h2>\n<table>\n<tr><th>option</th>"
            "<th>before</th><th>after</th></tr>\n");
    json_array_foreach(json_object_get(doc, "option_differences"), i, x) {
        hraw(h, "<tr class=\"wrs\"><th>");
        hesc(h, jstr(x, "option"));
        hraw(h, "</th><td>");
        hesc(h, jstr(x, "before"));
        hraw(h, "</td><td>");
        hesc(h, jstr(x, "after"));
        hraw(h, "</td></tr>\n");
    }
    hraw(h, "</table>\n");
}

int report_html_diff(FILE *out, const json_t *doc)
{
    struct hctx h = {.out = out};
    const json_t *eps = json_object_get(doc, "endpoints"), *sum = json_object_get(doc, "summary");
    const json_t *notes = json_object_get(doc, "notes"), *x;
    const char *version = jstr(json_object_get(doc, "tool"), "version");
    bool worse = json_is_true(json_object_get(doc, "worse"));
    size_t i;

    html_page_open(out, "tlsinspect diff");
    hraw(&h, "<h1>TLS handshake comparison</h1>\n<p class=\"sub\">before &rarr; after, per server "
             "endpoint, worse first &middot; tlsinspect ");
    hesc(&h, version ? version : "");
    hraw(&h, "</p>\n");
    bool comparable = !json_is_false(json_object_get(doc, "comparable"));
    if (!comparable) {
        diff_not_comparable(&h, doc);
    } else {
        hp(&h, "<section class=\"verdict %s\" id=\"verdict\"><p class=\"head\"><span class=\"badge "
               "%s\">%s</span> ", worse ? "bad" : "ok", worse ? "bad" : "ok", worse ? "WORSE" : "NOT WORSE");
        hp(&h, "%lld of %lld endpoint%s got worse</p>\n<p>%lld changed, %lld unchanged, %lld only "
               "before, %lld only after.</p>\n</section>\n",
           (long long)json_integer_value(json_object_get(sum, "worse")),
           (long long)json_integer_value(json_object_get(sum, "endpoints")),
           json_integer_value(json_object_get(sum, "endpoints")) == 1 ? "" : "s",
           (long long)json_integer_value(json_object_get(sum, "changed")),
           (long long)json_integer_value(json_object_get(sum, "unchanged")),
           (long long)json_integer_value(json_object_get(sum, "only_before")),
           (long long)json_integer_value(json_object_get(sum, "only_after")));
    }
    hraw(&h, "<h2 id=\"inputs\">Inputs</h2>\n<table class=\"kv\">\n");
    diff_input(&h, "before", json_object_get(doc, "before"));
    diff_input(&h, "after", json_object_get(doc, "after"));
    hraw(&h, "</table>\n");
    json_array_foreach(notes, i, x) {
        hraw(&h, "<p class=\"warn\">Note: ");
        hesc(&h, json_string_value(x));
        hraw(&h, "</p>\n");
    }
    if (comparable)
        hraw(&h, "<h2 id=\"endpoints\">Endpoints</h2>\n");
    json_array_foreach(eps, i, x)
        diff_endpoint(&h, x);
    if (json_array_size(eps) == 0 && comparable)
        hraw(&h, "<p class=\"mute\">No TLS connection on either side.</p>\n");
    const json_t *cc = json_object_get(doc, "capture_changes");
    if (json_array_size(cc) > 0) {
        const json_t *c;
        hraw(&h, "<h2>Capture-level findings</h2>\n<table>\n<tr><th>what</th><th>before</th><th>after</th></tr>\n");
        json_array_foreach(cc, i, c) {
            hraw(&h, "<tr class=\"chg\"><th>findings</th><td>");
            diff_value(&h, "findings", json_object_get(c, "before"));
            hraw(&h, "</td><td>");
            diff_value(&h, "findings", json_object_get(c, "after"));
            hraw(&h, "</td></tr>\n");
        }
        hraw(&h, "</table>\n");
    }
    html_page_close(out, version);
    if (h.oom)
        return TI_ENOMEM;
    if (fflush(out) != 0 || ferror(out))
        return TI_EIO;
    return TI_OK;
}
