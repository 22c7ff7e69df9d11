/* report_html.h - `-f html`: one self-contained page to attach to a case.
 *
 * One file: inline CSS, inline SVG, no external resource (no fonts, images,
 * scripts or links outside the page), readable offline and printed, light
 * and dark (prefers-color-scheme), and readable without colour: every state
 * has a text label as well as a hue.  The only script opens the folded
 * sections before printing; the page reads the same without it.
 *
 * Verdict first: the verdict, the inputs (names, sizes, SHA-256), options,
 * trust stores and key log, the time span; the findings grouped by id, worst
 * first, with their remedy; the endpoint table with the verdict mix; one
 * block per group of identical connections (fold.h) with an SVG ladder, the
 * findings beside it and a Wireshark display filter; certificate cards.
 *
 * Everything that came from the capture, a certificate or a file name is
 * escaped (report_escape() for bytes, then the HTML metacharacters), so a
 * certificate whose CN is "<script>alert(1)</script>" renders as text.
 * The output is deterministic: no current time, no random identifiers.
 * Large captures stay small: identical connections fold, and the number of
 * ladders, table rows and certificate cards is capped (REPORT_HTML_MAX_*).
 */
#ifndef TLSINSPECT_REPORT_HTML_H
#define TLSINSPECT_REPORT_HTML_H

#include <stdio.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/report.h"

#define REPORT_HTML_MAX_LADDERS 100    /* connection groups drawn as ladders */
#define REPORT_HTML_MAX_ROWS    2000   /* further groups, one table row each */
#define REPORT_HTML_MAX_CERTS   100    /* certificate cards */
#define REPORT_HTML_MAX_PORTS   40     /* client ports listed for a folded group */

/* The page for an analysis.  `ao` (may be NULL) are the options it ran
 * with: trust stores, key log, ports, names, verification time; the input
 * files, trust stores and key log are read again to hash them (SHA-256),
 * and the capture once more for the frame numbers of the ladders' events
 * (not for standard input: then the ladders show times only).
 * Returns TI_OK, TI_ENOMEM or TI_EIO. */
int report_html(FILE *out, const struct analysis *a, const struct report_opts *o,
                const struct analyze_opts *ao);

/* The diff page from the document `tlsinspect diff -f json` prints (as
 * diff_documents() builds it): per endpoint, before and after side by side,
 * the changes marked, worse first.  TI_OK, TI_ENOMEM or TI_EIO. */
struct json_t;
int report_html_diff(FILE *out, const struct json_t *diff);

#endif
