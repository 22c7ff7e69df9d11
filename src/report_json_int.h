/* report_json_int.h - parts of the JSON report written outside report_json.c.
 * Not an interface: only the JSON report's own files include it. */
#ifndef TLSINSPECT_REPORT_JSON_INT_H
#define TLSINSPECT_REPORT_JSON_INT_H

#include <stdint.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/jsonw.h"

/* "options": how the report was made (runopts.h), its key included. */
void sw_options(struct jw *w, const struct analysis *a);

/* A SHA-256 as 64 lowercase hex digits, or null when !have. */
void sw_sha256(struct jw *w, bool have, const uint8_t md[32]);

#endif
