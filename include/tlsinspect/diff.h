/* diff.h - `tlsinspect diff BEFORE AFTER`: what changed per server endpoint.
 *
 * Each side is a capture (analysed with the caller's options) or a JSON
 * report saved by `tlsinspect -f json`, told apart by content.  Both are
 * read as the same JSON connection objects (report_json_conn) and compared
 * per server ip:port; diff_run() folds a capture's connections into the
 * per-endpoint tallies as they end (memory per endpoint and value, not per
 * connection), ordered as the report would order them.  Past the caps below
 * (DIFF_MAX_ENDPOINTS, DIFF_MAX_VALUES) a capture keeps the first to end,
 * a saved report the first in it.
 *
 * "Worse" (exit status 1), per endpoint present on both sides:
 *   - an error-severity finding id that the endpoint did not have before, or
 *   - fewer complete handshakes, or, when the number of connections differs,
 *     a lower share of complete handshakes (2/2 -> 3/4 is worse).
 * An endpoint seen only AFTER is worse when it has an error finding; one seen
 * only BEFORE is never worse (the AFTER capture may simply not include it).
 * A new error-severity capture-level finding (CAPTURE_TRUNCATED ...) is worse.
 *
 * Not comparable: the two sides were judged with different verification
 * options (the "options" a report records: trust stores by SHA-256, the
 * --name set, --at).  Nothing is compared; the options that differ are
 * listed and the result is DIFF_NOT_COMPARABLE, unless ignore_options.
 */
#ifndef TLSINSPECT_DIFF_H
#define TLSINSPECT_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tlsinspect/analyze.h"

#define DIFF_MAX_ENDPOINTS 65536   /* server ip:port kept per side */
#define DIFF_MAX_VALUES    256     /* distinct values tallied per field and endpoint */
#define DIFF_MAX_REPORT    (1024L * 1024 * 1024)   /* bytes of a saved report read */
/* "schema_version" of the diff's JSON document: raised when a field changes
 * meaning or goes away, not when one is added. */
#define DIFF_SCHEMA_VERSION 1

struct diff_opts {
    bool json;                 /* JSON document instead of text */
    bool html;                 /* the HTML page (report_html_diff) instead of text */
    bool color;                /* ANSI colour in text */
    const char *version;       /* tool version for the JSON "tool" object */
    bool ignore_options;       /* --ignore-options: compare even when the options differ */
};

/* What diff_documents() and diff_run() return when the verification
 * options differ: the output is written (it says what differs); main
 * exits 2, the diff convention's "trouble". */
#define DIFF_NOT_COMPARABLE 3

struct json_t;

/* What a side is, from its content. */
enum diff_source { DIFF_CAPTURE = 0, DIFF_REPORT };

/* Compare two report documents (as report_json_document builds them or a
 * saved report holds them) and write the result to `out`.  `before_name` /
 * `after_name` label the sides; `*_source` says what they were.  Returns 0
 * (nothing worse), 1 (something worse), DIFF_NOT_COMPARABLE, TI_ENOMEM or
 * TI_EIO. */
int diff_documents(struct json_t *before, enum diff_source before_source,
                   const char *before_name,
                   struct json_t *after, enum diff_source after_source,
                   const char *after_name,
                   const struct diff_opts *o, FILE *out);

/* Load one side: a saved report (first non-blank byte '{' and a "tool" object
 * named "tlsinspect") or a capture analysed with `base` (its files/nfiles are
 * replaced by `path`).  Returns TI_OK and a new reference in *doc, or
 * TI_EIO / TI_EUSAGE / TI_ENOMEM with a message in errbuf. */
int diff_load(const struct analyze_opts *base, const char *path, const char *version,
              struct json_t **doc, enum diff_source *source,
              char *errbuf, size_t errlen);

/* The whole command: load both sides, compare, print.  Returns 0 (nothing
 * worse), 1 (something worse), 2 (unreadable input, bad options, or the
 * output could not be written; message in errbuf) or DIFF_NOT_COMPARABLE
 * (output written, a message in errbuf). */
int diff_run(const struct analyze_opts *base, const char *before, const char *after,
             const struct diff_opts *o, FILE *out, char *errbuf, size_t errlen);

#endif
