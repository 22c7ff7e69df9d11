/* report.h - text, JSON and JSONL reports of an analysis.
 *
 * JSON is streamed in SPEC's shape with a deterministic order, laid out as
 * jansson's json_dumpf() lays it out with JSON_INDENT(2), except that an
 * object whose members are all scalars sits on one line as jansson writes it
 * without indentation ({"code": "0x1301", "name": "..."}); JSONL is
 * JSON_COMPACT;
 * certificate and other wire strings carry arbitrary bytes, so invalid
 * UTF-8 in them is written as the text "\xNN" (see report_escape()).
 */
#ifndef TLSINSPECT_REPORT_H
#define TLSINSPECT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "tlsinspect/analyze.h"

enum report_format { REPORT_TEXT = 0, REPORT_JSON, REPORT_JSONL, REPORT_HTML /* report_html.h */ };

/* "schema_version", the first member of the JSON report: raised when a
 * field changes meaning or goes away, not when one is added.  2: the
 * document's members known only at the end (inputs, first_ts, last_ts,
 * problems, ssh_tunnels) come after "connections", so that connections
 * can be written as they finish. */
#define REPORT_SCHEMA_VERSION 2

struct report_opts {
    enum report_format format;
    bool color;
    bool verbose;
    bool quiet;
    const char *version;            /* tool version string */
};

/* Both return TI_OK, TI_ENOMEM, or TI_EIO when writing to `out` failed.
 * report_json() writes REPORT_JSON (one indented document, with summary,
 * global findings and warnings) or REPORT_JSONL (exactly one compact
 * connection object per line and nothing else: the summary is only in the
 * JSON document) according to o->format.  Connections whose outcome is
 * OUTCOME_NOT_TLS are left out of every report. */
int report_text(FILE *out, const struct analysis *a, const struct report_opts *o);
int report_json(FILE *out, const struct analysis *a, const struct report_opts *o);

/* The JSON / JSONL report as a sink (sink.h): each connection is rendered
 * when analyze_run() releases it and written in report order through a
 * bounded reorder stage (stream_order.h, max_bytes held before spilling to
 * a temporary file; 0: SO_MAX_BYTES), ids given as they are written; the
 * document's end is written by the sink's finish().  The bytes are what
 * report_json() writes for the same analysis.  *sink is what to put in
 * analyze_opts.sinks.  After analyze_run(): json_sink_end() (everything
 * written; TI_OK, TI_EIO, TI_ENOMEM), then json_sink_free(). */
struct json_sink;
struct conn_sink;
int json_sink_new(struct json_sink **out, FILE *f, const struct report_opts *o,
                  size_t max_bytes, struct conn_sink *sink);
int json_sink_end(struct json_sink *s);
/* Connections written out of order (stream_order_late()). */
uint64_t json_sink_late(const struct json_sink *s);
void json_sink_free(struct json_sink *s);     /* NULL is a no-op */

/* The text report's scope lines (report_scope.c): ports and roles, trust
 * stores, key log, the NO TRUST STORE banner, TLS 1.3 without keys, TLS on
 * ports not inspected.  hidden: the reported connections' TLS13_CERT_HIDDEN
 * findings (counted by the caller: the connections may be gone).  TI_OK or
 * TI_ENOMEM. */
int report_scope_text(FILE *out, const struct analysis *a, size_t hidden, bool color);

/* The REPORT_JSON document itself (what report_json() prints, parsed back
 * by jansson, key order kept), as a new reference owned by the caller
 * (json_decref); NULL when out of memory.  Used by diff to compare a capture
 * with a saved report. */
struct json_t;
struct json_t *report_json_document(const struct analysis *a, const struct report_opts *o);
/* One connection's object of that document (diff folds a capture's
 * connections as they end); NULL when out of memory. */
struct json_t *report_json_conn(const struct analysis *a, const struct conn *c);

/* Any jansson value v (a report_json_document(), a diff) written as
 * report_json() lays its document out, then a newline; TI_OK or TI_EIO. */
int report_json_dumpf(FILE *out, const struct json_t *v);

/* Length (1-4) of the valid UTF-8 sequence starting at p, 0 when the byte at
 * p does not start one (RFC 3629 3: no overlong forms, no surrogates, nothing
 * above U+10FFFF).  left >= 1. */
size_t report_utf8_seq(const unsigned char *p, size_t left);

/* A malloc'd copy of s that is valid UTF-8: every byte that is not part of a
 * valid sequence becomes the four characters "\xNN"; with `printable`, so do
 * control characters (C0, DEL and the C1 range U+0080..U+009F) so that no raw
 * control byte reaches a terminal.  NULL when out of memory; s NULL gives "". */
char *report_escape(const char *s, bool printable);

/* The CN of an RFC 2253 name ("CN=Root CA,O=Example" -> "Root CA"), copied
 * into buf up to the next unescaped comma; the whole name when it has no CN,
 * "?" for NULL.  Returns buf, dn or a literal. */
const char *report_dn_cn(const char *dn, char *buf, size_t len);

#endif
