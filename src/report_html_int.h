/* report_html_int.h - private to report_html*.c: the page writer, escaping and the helpers the page's parts share. */
#ifndef TLSINSPECT_REPORT_HTML_INT_H
#define TLSINSPECT_REPORT_HTML_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/fold.h"
#include "tlsinspect/report.h"
#include "tlsinspect/report_html.h"
#include "tlsinspect/tls_names.h"

struct hctx {
    FILE *out;
    const struct analysis *a;
    const struct report_opts *o;
    const struct analyze_opts *ao;
    const struct tls_names *names;
    bool oom;
};

/* ---- the writer (report_html.c) ---- */

/* Trusted text: markup and numbers made here. */
void hp(struct hctx *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hraw(struct hctx *h, const char *s);
/* Untrusted text (wire, certificate, file name): printable, then escaped.
 * max > 0 cuts it to that many code points with "..." appended. */
void hesc_max(struct hctx *h, const char *s, size_t max);
void hesc(struct hctx *h, const char *s);

/* ---- formatting and classification (report_html.c) ---- */

const char *html_when(int64_t v, bool secs, char *buf, size_t len);
const char *html_rel(int64_t us, char *buf, size_t len);
const char *html_endpoint_str(const struct conn_endpoint *e, char *buf, size_t len);
const char *html_short_version(uint16_t v, char *buf, size_t len);
const char *html_suite_str(struct hctx *h, uint16_t code, char *buf, size_t len);
bool html_reported(const struct conn *c);
const char *html_sev_class(int sev);
const char *html_sev_label(int sev);
void html_outcome_badge(struct hctx *h, enum conn_outcome o);
int html_worst_sev(const struct conn *c);
void html_chain_verdict(struct hctx *h, const struct conn *c);
void html_page_open(FILE *out, const char *title);
void html_page_close(FILE *out, const char *version);

/* ---- 2b. the problems, one per root cause (report_html_problems.c) ---- */

void html_problems(struct hctx *h);

/* ---- 5. the connection blocks with their ladders (report_html_ladder.c) ---- */

void html_connections(struct hctx *h, struct conn_fold *f);

#endif
