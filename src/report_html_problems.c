/* report_html_problems.c - the page's Problems section: one root cause, one fix (problems.h).
 *
 * The same grouping the text and JSON reports lead with, so the page's
 * first screen says what to change rather than how many findings fired.
 * Severity is a text label beside its colour.  Every string from the
 * problem (summary, fix, workaround, servers, references) goes through
 * hesc(): the summary carries certificate and wire text.
 */
#include <stddef.h>

#include "report_html_int.h"
#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/problems.h"
#include "tlsinspect/role.h"
#include "tlsinspect/x509.h"

static void problem_block(struct hctx *h, const struct problem *pr, size_t num)
{
    char sb[80];

    hp(h, "<div class=\"finding problem\" id=\"p-%zu\"><span class=\"badge %s\">%s</span> <b>", num,
       html_sev_class((int)pr->severity), html_sev_label((int)pr->severity));
    hesc(h, finding_name(pr->cause));
    hraw(h, "</b> <span class=\"mute\">role ");
    hesc(h, role_name(pr->role));
    hp(h, "; %llu connection%s (%llu failed) to", (unsigned long long)pr->connections,
       pr->connections == 1 ? "" : "s", (unsigned long long)pr->failed);
    for (size_t k = 0; k < pr->nservers; k++) {
        hraw(h, k ? ", <code>" : " <code>");
        hesc(h, problems_server_str(&pr->servers[k], sb, sizeof(sb)));
        hraw(h, "</code>");
    }
    hraw(h, "</span>\n<div>");
    hesc(h, pr->summary ? pr->summary : "");
    hraw(h, "</div>\n");
    if (pr->fix != NULL && pr->fix[0])
        hraw(h, "<p class=\"fix\"><b>Fix:</b> "), hesc(h, pr->fix), hraw(h, "</p>\n");
    if (pr->workaround != NULL && pr->workaround[0])
        hraw(h, "<p class=\"fix\"><b>Workaround:</b> "), hesc(h, pr->workaround), hraw(h, "</p>\n");
    if (pr->nrefs > 0) {
        hraw(h, "<p class=\"mute\">References:");
        for (size_t k = 0; k < pr->nrefs && k < PROBLEM_MAX_REFS; k++) {
            hraw(h, k ? ", " : " ");
            hesc(h, pr->references[k]);
        }
        hraw(h, "</p>\n");
    }
    hraw(h, "</div>\n");
}

void html_problems(struct hctx *h)
{
    struct problems p;

    if (problems_build(h->a, &p) != TI_OK) {
        h->oom = true;
        return;
    }
    hraw(h, "<h2 id=\"problems\">Problems</h2>\n");
    if (p.n == 0)
        hraw(h, "<p class=\"ok\">No problems: no connection has a warning or error.</p>\n");
    for (size_t i = 0; i < p.n; i++)
        problem_block(h, &p.v[i], i + 1);
    problems_free(&p);
}
