/* diff_load.c - the two sides of `tlsinspect diff`: a capture (analysed into
 * the report document) or a saved JSON report, told apart by content; and
 * diff_run(), which loads both and compares them (diff.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "diff_int.h"
#include "tlsinspect/conn_key.h"
#include "tlsinspect/diff.h"
#include "tlsinspect/err.h"
#include "tlsinspect/report.h"
#include "tlsinspect/sink.h"

/* A saved report starts with '{' (after blanks); no capture format does
 * (pcap a1b2c3d4/d4c3b2a1, pcapng 0a0d0d0a, gzip 1f8b). */
static int looks_like_json(const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    int ch;

    if (f == NULL) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    do
        ch = getc(f);
    while (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n');
    fclose(f);
    return ch == '{';
}

/* A saved report is input: a server that is not an address or an outcome
 * the tool never writes would be compared as if it meant something.  The
 * first bad value is named (connection number, field, value). */
static int check_report_values(const char *path, const json_t *conns, char *errbuf, size_t errlen)
{
    /* the outcomes diff.c folds (a report never holds not-TLS connections) */
    static const char *const outcomes[] = {"complete", "failed", "incomplete", "encrypted"};
    const json_t *c;
    size_t i;

    json_array_foreach(conns, i, c) {
        const json_t *srv = json_object_get(c, "server"), *port = json_object_get(srv, "port");
        const char *ip = json_string_value(json_object_get(srv, "ip"));
        const char *oc = json_string_value(json_object_get(c, "outcome"));
        unsigned char buf[16];
        bool known = false;

        if (ip == NULL || (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1)) {
            snprintf(errbuf, errlen, "%s: connection %zu: server ip %s%s%s is not an IP address",
                     path, i + 1, ip ? "'" : "", ip ? ip : "missing", ip ? "'" : "");
            return TI_EUSAGE;
        }
        if (!json_is_integer(port) || json_integer_value(port) < 0 ||
            json_integer_value(port) > 65535) {
            snprintf(errbuf, errlen, "%s: connection %zu: server port is not 0-65535", path, i + 1);
            return TI_EUSAGE;
        }
        for (size_t k = 0; oc != NULL && k < sizeof(outcomes) / sizeof(outcomes[0]); k++)
            known = known || strcmp(oc, outcomes[k]) == 0;
        if (!known) {
            snprintf(errbuf, errlen, "%s: connection %zu: unknown outcome %s%s%s (complete, failed, "
                     "incomplete, encrypted)", path, i + 1, oc ? "'" : "", oc ? oc : "missing",
                     oc ? "'" : "");
            return TI_EUSAGE;
        }
    }
    return TI_OK;
}

/* A report saved by `tlsinspect -f json` (one without schema_version is
 * from before it was added: version 1). */
static int load_report(const char *path, json_t **doc, char *errbuf, size_t errlen)
{
    json_error_t jerr;
    struct stat st;
    json_t *d, *tool, *version;

    if (stat(path, &st) == 0 && st.st_size > DIFF_MAX_REPORT) {
        snprintf(errbuf, errlen, "%s: report larger than %ld bytes", path, (long)DIFF_MAX_REPORT);
        return TI_ELIMIT;
    }
    d = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (d == NULL) {
        snprintf(errbuf, errlen, "%s: not a capture, and not a JSON report (line %d: %s)%s", path,
                 jerr.line, jerr.text,
                 jerr.line > 1 ? "; diff reads `-f json` reports, not `-f jsonl`" : "");
        return TI_EUSAGE;
    }
    tool = json_object_get(d, "tool");
    version = json_object_get(d, "schema_version");
    if (json_is_integer(version) && json_integer_value(version) > REPORT_SCHEMA_VERSION) {
        snprintf(errbuf, errlen, "%s: a report of schema_version %" JSON_INTEGER_FORMAT
                 ", newer than this tlsinspect reads (%d)", path, json_integer_value(version),
                 REPORT_SCHEMA_VERSION);
        json_decref(d);
        return TI_EUSAGE;
    }
    if (!json_is_object(d) || !json_is_string(json_object_get(tool, "name")) ||
        strcmp(json_string_value(json_object_get(tool, "name")), "tlsinspect") != 0 ||
        !json_is_array(json_object_get(d, "connections"))) {
        json_decref(d);
        snprintf(errbuf, errlen, "%s: JSON, but not a report saved by `tlsinspect -f json`", path);
        return TI_EUSAGE;
    }
    if (check_report_values(path, json_object_get(d, "connections"), errbuf, errlen) != TI_OK) {
        json_decref(d);
        return TI_EUSAGE;
    }
    *doc = d;
    return TI_OK;
}

/* Analyse the capture at path alone (base's options; with sink: each
 * connection goes there as it ends and none is kept) and make its report
 * document (without sink: with its connections). */
static int analyse_one(const struct analyze_opts *base, const char *path, const char *version,
                       const struct conn_sink *sink, json_t **doc, char *errbuf, size_t errlen)
{
    struct analyze_opts *o = malloc(sizeof(*o));   /* large (names[]): not on the stack */
    struct analysis *a = NULL;
    char *files[1] = {strdup(path)};
    int rc;

    if (o == NULL || files[0] == NULL) {
        free(o);
        free(files[0]);
        snprintf(errbuf, errlen, "%s", ti_strerror(TI_ENOMEM));
        return TI_ENOMEM;
    }
    *o = *base;
    o->files = files;
    o->nfiles = 1;
    if (sink != NULL) {
        o->sinks = sink;
        o->nsinks = 1;
        o->drop_conns = true;
    }
    rc = analyze_run(o, &a, errbuf, errlen);
    if (rc == TI_OK) {
        struct report_opts ro = {.format = REPORT_JSON, .version = version};
        *doc = report_json_document(a, &ro);
        if (*doc == NULL) {
            snprintf(errbuf, errlen, "%s", ti_strerror(TI_ENOMEM));
            rc = TI_ENOMEM;
        }
    } else if (errbuf[0] == '\0') {
        snprintf(errbuf, errlen, "%s: %s", path, ti_strerror(rc));
    }
    analysis_free(a);
    free(files[0]);
    free(o);
    return rc;
}

int diff_load(const struct analyze_opts *base, const char *path, const char *version,
              json_t **doc, enum diff_source *source, char *errbuf, size_t errlen)
{
    int js;

    *doc = NULL;
    js = looks_like_json(path, errbuf, errlen);
    if (js < 0)
        return TI_EIO;
    if (js) {
        *source = DIFF_REPORT;
        return load_report(path, doc, errbuf, errlen);
    }
    *source = DIFF_CAPTURE;
    return analyse_one(base, path, version, NULL, doc, errbuf, errlen);
}

/* ---- diff_run(): a capture folded while it is read ---------------------------------- */

struct feed {
    struct dctx *d;
    struct side *s;
};

/* A sink (sink.h): each connection as it ends, as its report object, into
 * the side's tallies; nothing of it kept. */
static int feed_conn(void *ctx, const struct analysis *a, const struct conn *c)
{
    struct feed *f = ctx;
    struct conn_key k;
    json_t *v = report_json_conn(a, c);

    if (v == NULL)
        return TI_ENOMEM;
    conn_key_of(c, &k);
    diff_side_conn(f->d, f->s, &k, v);
    json_decref(v);
    return f->d->oom ? TI_ENOMEM : TI_OK;
}

/* One side: a saved report's document, or a capture analysed with base
 * whose connections are folded as they end (s->doc: the document without
 * them), so a capture's side costs its tallies, not its connections. */
static int load_side(const struct analyze_opts *base, const char *path, const char *version,
                     struct dctx *d, struct side *s, char *errbuf, size_t errlen)
{
    struct feed f = {d, s};
    struct conn_sink sink = {.conn = feed_conn, .finish = NULL, .ctx = &f};
    int js = looks_like_json(path, errbuf, errlen);

    if (js < 0)
        return TI_EIO;
    if (js) {
        s->source = DIFF_REPORT;
        return load_report(path, &s->doc, errbuf, errlen);
    }
    s->source = DIFF_CAPTURE;
    s->fed = true;                  /* a capture without connections is folded too */
    return analyse_one(base, path, version, &sink, &s->doc, errbuf, errlen);
}

int diff_run(const struct analyze_opts *base, const char *before, const char *after,
             const struct diff_opts *o, FILE *out, char *errbuf, size_t errlen)
{
    struct dctx d = {.color = o->color};
    struct side sb = {.name = before}, sa = {.name = after};
    int rc;

    if (errlen > 0)
        errbuf[0] = '\0';
    rc = load_side(base, before, o->version, &d, &sb, errbuf, errlen);
    if (rc == TI_OK)
        rc = load_side(base, after, o->version, &d, &sa, errbuf, errlen);
    if (rc == TI_OK) {
        rc = diff_sides(&d, &sb, &sa, o, out);
        if (rc < 0)
            snprintf(errbuf, errlen, "%s", rc == TI_EIO ? "writing the diff failed"
                                                         : ti_strerror(rc));
        else if (rc == DIFF_NOT_COMPARABLE)
            snprintf(errbuf, errlen, "not comparable: verification options differ "
                     "(--ignore-options compares anyway)");
    } else {
        diff_side_free(&sb);
        diff_side_free(&sa);
    }
    json_decref(sb.doc);
    json_decref(sa.doc);
    return rc < 0 ? 2 : rc;
}
