/* report.h - text, JSON and JSONL reports of an analysis.
 *
 * JSON is written through jansson (certificate strings carry arbitrary
 * bytes; jansson escapes them) in SPEC's shape with a deterministic order.
 */
#ifndef TLSINSPECT_REPORT_H
#define TLSINSPECT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "tlsinspect/analyze.h"

enum report_format { REPORT_TEXT = 0, REPORT_JSON, REPORT_JSONL };

struct report_opts {
    enum report_format format;
    bool color;
    bool verbose;
    bool quiet;
    const char *version;            /* tool version string */
};

int report_text(FILE *out, const struct analysis *a, const struct report_opts *o);
int report_json(FILE *out, const struct analysis *a, const struct report_opts *o);

#endif
