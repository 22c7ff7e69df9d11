/* report_html.c - the self-contained HTML page (report_html.h): verdict, inputs, findings, ladders, certificates.
 *
 * Layout, verdict first:
 *   1. the verdict: a headline with a text label (FAILED / WARNINGS / OK)
 *      and the worst findings in one line each;
 *   2. inputs (file, size, SHA-256), options, trust stores, key log, span;
 *   2b. the problems, one per root cause with its fix (report_html_problems.c),
 *       right after the verdict: what to change comes first;
 *   3. findings grouped by id, worst first, with the remedy (each finding's own message);
 *   4. the endpoint table with the verdict mix;
 *   5. one block per group of identical connections (fold.h), worst first
 *      (report_html_ladder.c):
 *      an SVG ladder built from the connection's events (conn.h), the
 *      findings beside it, the chain and its verdict, a Wireshark filter;
 *   6. certificate cards, each certificate once;
 *   7. capture-level findings and warnings.
 *
 * The diff page is report_html_diff.c; the writer and the helpers the files
 * share are declared in report_html_int.h.
 *
 * The connection facts keep a timestamp per ladder event but no frame
 * number: the ladder shows times relative to the connection's first packet,
 * and frame numbers found by reading the capture again (frames_find()).
 *
 * Escaping: every string from the capture, a certificate, a file name or an
 * option goes through hesc(): report_escape() first (invalid UTF-8 and
 * control bytes become "\xNN"), then & < > " ' become entities, in element
 * text and attribute values alike.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "tlsinspect/capture.h"
#include "tlsinspect/decode.h"
#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/fold.h"
#include "tlsinspect/hex.h"
#include "tlsinspect/report_html.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls_names.h"

#include "report_html_int.h"

#define HTML_HASH_BUF   (64u * 1024u)   /* read buffer for the SHA-256 of an input */
#define HTML_FINDING_EPS  6             /* endpoints listed per finding id */

/* ---- the page's style: light, dark, print; colour always doubled by text ---- */

static const char html_css[] =
":root{--bg:#fff;--fg:#1d232b;--mute:#5b6673;--line:#d5dbe2;--card:#f6f8fa;--accent:#1f5fbf;"
"--bad:#b3261e;--bad-bg:#fde8e6;--warn:#8a5a00;--warn-bg:#fff3d6;--ok:#1e6b35;--ok-bg:#e3f4e8;"
"--info:#3d5a80;--info-bg:#e6eef8;--code:#eef1f4}\n"
"@media (prefers-color-scheme:dark){:root{--bg:#14181d;--fg:#e3e8ee;--mute:#9aa6b2;--line:#2f3842;"
"--card:#1b2128;--accent:#7fb0ff;--bad:#ff8a80;--bad-bg:#3b1d1b;--warn:#ffc965;--warn-bg:#3a2e12;"
"--ok:#7fd69a;--ok-bg:#173222;--info:#9cc0ef;--info-bg:#1b2a3d;--code:#232b34}}\n"
"*{box-sizing:border-box}\n"
"body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"
"'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\n"
"main{max-width:1180px;margin:0 auto;padding:20px 28px 40px}\n"
"a{color:var(--accent)}\n"
"h1{font-size:22px;margin:0 0 2px}h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;"
"border-bottom:1px solid var(--line)}h3{font-size:14px;margin:14px 0 6px}\n"
".sub{color:var(--mute);margin:0 0 14px}\n"
"code,.mono{font-family:ui-monospace,'SFMono-Regular',Menlo,Consolas,'DejaVu Sans Mono',monospace;"
"font-size:12.5px}\n"
"code{background:var(--code);padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}\n"
".verdict{border:2px solid var(--line);border-left-width:10px;border-radius:6px;padding:12px 16px;"
"margin:8px 0 4px;background:var(--card)}\n"
".verdict.bad{border-color:var(--bad);background:var(--bad-bg)}"
".verdict.warn{border-color:var(--warn);background:var(--warn-bg)}"
".verdict.ok{border-color:var(--ok);background:var(--ok-bg)}\n"
".verdict .head{font-size:19px;font-weight:700;margin:0 0 6px}\n"
".verdict ul{margin:4px 0 0;padding-left:20px}\n"
".badge{display:inline-block;font-size:11px;font-weight:700;letter-spacing:.04em;padding:1px 6px;"
"border-radius:3px;border:1px solid currentColor;vertical-align:1px;white-space:nowrap}\n"
".bad{color:var(--bad)}.warn{color:var(--warn)}.ok{color:var(--ok)}.info{color:var(--info)}"
".mute{color:var(--mute)}\n"
".badge.bad{background:var(--bad-bg)}.badge.warn{background:var(--warn-bg)}"
".badge.ok{background:var(--ok-bg)}.badge.info{background:var(--info-bg)}\n"
"table{border-collapse:collapse;width:100%;margin:4px 0 8px}\n"
"th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}\n"
"th{font-size:12px;color:var(--mute);font-weight:600;white-space:nowrap}\n"
"td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
"table.kv th{width:170px}\n"
".mix{display:flex;height:16px;min-width:120px;border:1px solid var(--line);border-radius:3px;"
"overflow:hidden}\n"
".mix span{display:block;height:100%}.mix .c{background:var(--ok)}.mix .f{background:var(--bad)}"
".mix .o{background:repeating-linear-gradient(45deg,var(--mute) 0 3px,transparent 3px 6px)}\n"
".finding{border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:8px 0;"
"background:var(--card)}\n"
".finding .fix{margin:6px 0 0}.finding .fix b{color:var(--ok)}\n"
"details.group{border:1px solid var(--line);border-radius:6px;margin:10px 0;background:var(--card)}\n"
"details.group>summary{cursor:pointer;padding:8px 12px;font-weight:600;list-style-position:outside;"
"margin-left:14px}\n"
"details.group>div{padding:4px 14px 12px;border-top:1px solid var(--line)}\n"
".grid{display:grid;grid-template-columns:minmax(0,680px) minmax(0,1fr);gap:16px;align-items:start}\n"
"@media (max-width:1000px){.grid{grid-template-columns:1fr}}\n"
"svg.ladder{width:100%;max-width:680px;height:auto;background:var(--bg);border:1px solid var(--line);"
"border-radius:4px}\n"
"svg.ladder text{fill:var(--fg);font-size:12px;font-family:system-ui,sans-serif}\n"
"svg.ladder .who{font-weight:700;font-size:12.5px}svg.ladder .t{fill:var(--mute);font-size:10.5px;"
"font-family:ui-monospace,Menlo,Consolas,monospace}\n"
"svg.ladder .d{fill:var(--mute);font-size:11px}svg.ladder .m{font-weight:600}\n"
"svg.ladder .life{stroke:var(--mute);stroke-width:2}svg.ladder .grid{stroke:var(--line);"
"stroke-dasharray:2 4}\n"
"svg.ladder .a{stroke:var(--accent);stroke-width:1.6;fill:none}svg.ladder .h{fill:var(--accent)}\n"
"svg.ladder .ax{stroke:var(--bad);stroke-width:2.2;fill:none}svg.ladder .hx{fill:var(--bad)}\n"
"svg.ladder text.x{fill:var(--bad);font-weight:700}\n"
"svg.ladder .ad{stroke:var(--mute);stroke-width:1.4;stroke-dasharray:5 3;fill:none}"
"svg.ladder .hd{fill:var(--mute)}\n"
".side .finding{margin-top:0}.side .fix{font-size:12.5px}\n"
".filter{margin:8px 0 0}\n"
".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:10px}\n"
".card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;background:var(--card);"
"overflow-wrap:anywhere}\n"
".card h3{margin:2px 0 6px}.card table th{width:112px}.card td,.card th{padding:3px 6px}\n"
"td code{white-space:nowrap}.card td code{white-space:normal}\n"
".diffcols{display:grid;grid-template-columns:1fr 1fr;gap:0}\n"
"table.diff th:first-child{width:170px}table.diff td{width:42%}\n"
"tr.chg td{background:var(--warn-bg)}tr.wrs td{background:var(--bad-bg)}\n"
"ol.suites{margin:0;padding-left:22px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}\n"
".mark{font-weight:700}\n"
"footer{margin-top:30px;color:var(--mute);font-size:12px}\n"
"@media print{body{font-size:11px;background:#fff;color:#000}main{max-width:none;padding:0}"
"h2,h3{break-after:avoid}details.group,.finding,.card{break-inside:avoid}details.group>summary{list-style:none}"
".grid{grid-template-columns:1fr}a{color:inherit;text-decoration:none}}\n";

/* Opens every folded section before printing (closed <details> do not print);
 * the page needs no script to be read. */
static const char html_script[] =
"window.addEventListener('beforeprint',function(){"
"document.querySelectorAll('details').forEach(function(d){d.open=true;});});";

/* ---- output helpers ---------------------------------------------------------- */

/* Trusted text: markup and numbers made here. */
void hp(struct hctx *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(h->out, fmt, ap);
    va_end(ap);
}

void hraw(struct hctx *h, const char *s)
{
    fputs(s, h->out);
}

/* Text already made printable UTF-8: only the HTML metacharacters. */
static void hmeta(FILE *out, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*p, out); break;
        }
    }
}

/* Untrusted text (wire, certificate, file name): printable, then escaped.
 * max > 0 cuts it to that many code points with "..." appended. */
void hesc_max(struct hctx *h, const char *s, size_t max)
{
    char *clean = report_escape(s != NULL ? s : "", true);
    if (clean == NULL) {
        h->oom = true;
        return;
    }
    bool cut = false;
    if (max > 0) {
        size_t cps = 0;
        for (char *p = clean; *p; p++) {
            if (((unsigned char)*p & 0xc0u) == 0x80u)
                continue;
            if (cps++ == max) {
                *p = '\0';              /* p starts a code point: a clean cut */
                cut = true;
                break;
            }
        }
    }
    hmeta(h->out, clean);
    if (cut)
        fputs("...", h->out);
    free(clean);
}

void hesc(struct hctx *h, const char *s)
{
    hesc_max(h, s, 0);
}

static void split_us(int64_t us, int64_t *sec, int64_t *frac)
{
    *sec = us / 1000000;
    *frac = us % 1000000;
    if (*frac < 0) {
        *frac += 1000000;
        *sec -= 1;
    }
}

/* "2026-03-10 16:55:26.007 UTC" (ms) or, with secs, "2026-03-10 16:55:26 UTC" */
const char *html_when(int64_t v, bool secs, char *buf, size_t len)
{
    int64_t sec = v, frac = 0;
    struct tm tm;

    if (!secs)
        split_us(v, &sec, &frac);
    time_t tt = (time_t)sec;
    if (gmtime_r(&tt, &tm) == NULL) {
        snprintf(buf, len, "?");
        return buf;
    }
    if (secs)
        snprintf(buf, len, "%04lld-%02d-%02d %02d:%02d:%02d UTC", (long long)tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    else
        snprintf(buf, len, "%04lld-%02d-%02d %02d:%02d:%02d.%03lld UTC", (long long)tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (long long)(frac / 1000));
    return buf;
}

/* "+3.212 ms" below ten seconds (a LAN handshake takes a few of them), else "+12.345 s" */
const char *html_rel(int64_t us, char *buf, size_t len)
{
    if (us < 0)
        us = 0;
    if (us < 10000000)
        snprintf(buf, len, "+%lld.%03lld ms", (long long)(us / 1000), (long long)(us % 1000));
    else
        snprintf(buf, len, "+%lld.%03lld s", (long long)(us / 1000000), (long long)(us % 1000000 / 1000));
    return buf;
}

const char *html_endpoint_str(const struct conn_endpoint *e, char *buf, size_t len)
{
    char ip[48];
    conn_ip_str(e, ip, sizeof(ip));
    snprintf(buf, len, e->ipver == 6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)e->port);
    return buf;
}

static int endpoint_cmp(const struct conn_endpoint *x, const struct conn_endpoint *y)
{
    if (x->ipver != y->ipver)
        return x->ipver < y->ipver ? -1 : 1;
    int r = memcmp(x->ip, y->ip, x->ipver == 6 ? 16 : 4);
    if (r != 0)
        return r;
    return x->port == y->port ? 0 : x->port < y->port ? -1 : 1;
}

const char *html_short_version(uint16_t v, char *buf, size_t len)
{
    const char *n = tls_version_name(v, buf, (unsigned)len);
    return n != NULL ? n : "?";
}

const char *html_suite_str(struct hctx *h, uint16_t code, char *buf, size_t len)
{
    const char *n = tls_suite_name(h->names, code);
    if (n != NULL)
        return n;
    snprintf(buf, len, "%s0x%04x", tls_is_grease(code) ? "GREASE " : "", (unsigned)code);
    return buf;
}

bool html_reported(const struct conn *c)
{
    return c != NULL && c->outcome != OUTCOME_NOT_TLS;
}

const char *html_sev_class(int sev)
{
    return sev == SEV_ERROR ? "bad" : sev == SEV_WARNING ? "warn" : "info";
}

const char *html_sev_label(int sev)
{
    return sev == SEV_ERROR ? "ERROR" : sev == SEV_WARNING ? "WARNING" : "INFO";
}

static const char *outcome_class(enum conn_outcome o)
{
    return o == OUTCOME_COMPLETE ? "ok" : o == OUTCOME_FAILED ? "bad" : "warn";
}

void html_outcome_badge(struct hctx *h, enum conn_outcome o)
{
    const char *n = conn_outcome_name(o);
    hp(h, "<span class=\"badge %s\">", outcome_class(o));
    for (const char *p = n; *p; p++)
        fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, h->out);
    hraw(h, "</span>");
}

/* Worst severity of a connection's findings, -1 without findings. */
int html_worst_sev(const struct conn *c)
{
    int w = -1;
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
        if ((int)c->findings[i].severity > w)
            w = (int)c->findings[i].severity;
    return w;
}

/* ---- SHA-256 of a file (inputs, trust stores, key log) ----------------------------- */

/* hex into out[65]; false when the file cannot be read (standard input ...). */
static bool file_sha256(const char *path, char out[65], uint64_t *size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = NULL;
    unsigned char *buf = NULL;
    FILE *f = NULL;
    bool ok = false;
    size_t n;

    *size = 0;
    if (path == NULL || strcmp(path, "-") == 0)
        return false;
    f = fopen(path, "rb");
    buf = malloc(HTML_HASH_BUF);
    ctx = EVP_MD_CTX_new();
    if (f == NULL || buf == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    while ((n = fread(buf, 1, HTML_HASH_BUF, f)) > 0) {
        if (EVP_DigestUpdate(ctx, buf, n) != 1)
            goto out;
        *size += n;
    }
    if (ferror(f) || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
        goto out;
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    ok = true;
out:
    if (f != NULL)
        fclose(f);
    free(buf);
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void file_row(struct hctx *h, const char *label, const char *path)
{
    char sha[65];
    uint64_t size;

    hp(h, "<tr><th>%s</th><td>", label);
    if (path == NULL) {
        hraw(h, "<span class=\"mute\">none</span></td></tr>\n");
        return;
    }
    hraw(h, "<code>");
    hesc(h, path);
    hraw(h, "</code>");
    if (file_sha256(path, sha, &size))
        hp(h, " <span class=\"mute\">%" PRIu64 " bytes, SHA-256</span> <code>%s</code>", size, sha);
    else
        hraw(h, " <span class=\"mute\">(not readable again to hash it)</span>");
    hraw(h, "</td></tr>\n");
}

/* ---- 1. verdict ------------------------------------------------------------------------ */

struct tally {
    size_t conns, by[OUTCOME_ENCRYPTED + 1], sev[SEV_ERROR + 1];
    size_t fconns[FINDING_COUNT];     /* connections per finding id */
    size_t first[FINDING_COUNT];      /* first connection (index) with it */
};

static void tally_fill(struct hctx *h, struct tally *t)
{
    const struct analysis *a = h->a;
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < a->nconns; i++) {
        const struct conn *c = a->conns[i];
        bool seen[FINDING_COUNT] = {false};
        if (!html_reported(c))
            continue;
        t->conns++;
        if ((unsigned)c->outcome <= OUTCOME_ENCRYPTED)
            t->by[c->outcome]++;
        for (size_t k = 0; k < c->n_findings && k < CONN_MAX_FINDINGS; k++) {
            const struct conn_finding *f = &c->findings[k];
            if ((unsigned)f->severity <= SEV_ERROR)
                t->sev[f->severity]++;
            if (f->id < 0 || f->id >= FINDING_COUNT || seen[f->id])
                continue;
            seen[f->id] = true;
            if (t->fconns[f->id]++ == 0)
                t->first[f->id] = i;
        }
    }
    for (size_t i = 0; i < a->nglobal; i++)
        t->sev[finding_severity(a->global[i].id)]++;
}

/* Finding ids that occur, worst first: severity, then connections, then id. */
static size_t finding_order(const struct tally *t, int *ids)
{
    size_t n = 0;
    for (int id = 0; id < FINDING_COUNT; id++) {
        if (t->fconns[id] == 0)
            continue;
        size_t k = n++;
        while (k > 0) {
            int p = ids[k - 1];
            int sp = (int)finding_severity(p), si = (int)finding_severity(id);
            if (sp > si || (sp == si && t->fconns[p] >= t->fconns[id]))
                break;
            ids[k] = p;
            k--;
        }
        ids[k] = id;
    }
    return n;
}

static void verdict(struct hctx *h, const struct tally *t, const int *ids, size_t nids)
{
    const char *cls, *label;
    size_t shown = 0;

    if (t->sev[SEV_ERROR] > 0) {
        cls = "bad";
        label = "FAILED";
    } else if (t->sev[SEV_WARNING] > 0) {
        cls = "warn";
        label = "WARNINGS";
    } else {
        cls = "ok";
        label = "OK";
    }
    hp(h, "<section class=\"verdict %s\" id=\"verdict\" aria-label=\"verdict\">\n"
          "<p class=\"head\"><span class=\"badge %s\">%s</span> ", cls, cls, label);
    if (t->conns == 0)
        hraw(h, "No TLS connection found on the inspected ports.");
    else if (t->by[OUTCOME_FAILED] > 0)
        hp(h, "%zu of %zu TLS connection%s failed", t->by[OUTCOME_FAILED], t->conns,
           t->conns == 1 ? "" : "s");
    else if (t->by[OUTCOME_COMPLETE] == t->conns)
        hp(h, "All %zu TLS connection%s completed their handshake", t->conns, t->conns == 1 ? "" : "s");
    else
        hp(h, "%zu of %zu TLS connection%s completed their handshake", t->by[OUTCOME_COMPLETE], t->conns,
           t->conns == 1 ? "" : "s");
    hp(h, "</p>\n<p>%zu complete, %zu failed, %zu incomplete, %zu encrypted; findings: %zu error, "
          "%zu warning, %zu info.</p>\n", t->by[OUTCOME_COMPLETE], t->by[OUTCOME_FAILED],
       t->by[OUTCOME_INCOMPLETE], t->by[OUTCOME_ENCRYPTED], t->sev[SEV_ERROR], t->sev[SEV_WARNING],
       t->sev[SEV_INFO]);
    if (nids > 0)
        hraw(h, "<ul>\n");
    for (size_t i = 0; i < nids && shown < 5; i++) {
        int id = ids[i];
        const struct conn *c = h->a->conns[t->first[id]];
        char sb[80];
        if (finding_severity(id) == SEV_INFO && t->sev[SEV_ERROR] + t->sev[SEV_WARNING] > 0)
            continue;
        hp(h, "<li><span class=\"badge %s\">%s</span> <a href=\"#f-%s\"><b>%s</b></a> on %zu "
              "connection%s, first on <code>%s</code></li>\n",
           html_sev_class(finding_severity(id)), html_sev_label(finding_severity(id)), finding_name(id),
           finding_name(id), t->fconns[id], t->fconns[id] == 1 ? "" : "s",
           html_endpoint_str(&c->server, sb, sizeof(sb)));
        shown++;
    }
    if (nids > 0)
        hraw(h, "</ul>\n");
    hraw(h, "</section>\n");
}

/* ---- 2. inputs and options -------------------------------------------------------------- */

static void inputs(struct hctx *h)
{
    const struct analysis *a = h->a;
    const struct analyze_opts *ao = h->ao;
    char b1[64], b2[64];

    hraw(h, "<h2 id=\"inputs\">Inputs</h2>\n<table>\n<tr><th>file</th><th>format</th>"
            "<th class=\"num\">packets</th><th class=\"num\">size (bytes)</th><th>SHA-256</th></tr>\n");
    for (size_t i = 0; i < a->ninputs; i++) {
        const struct cap_input *in = &a->inputs[i];
        char sha[65];
        uint64_t size = in->size;
        /* hashed as it was read; else (an archive member) read again, but a
         * live capture's input is an interface, not a file */
        bool hashed = in->hashed;
        if (hashed)
            hex_encode(in->sha256, sizeof(in->sha256), sha);
        else
            hashed = (h->ao == NULL || h->ao->iface == NULL) && file_sha256(in->file, sha, &size);
        hraw(h, "<tr><td><code>");
        hesc(h, in->file);
        hraw(h, "</code>");
        if (in->truncated) {
            hraw(h, " <span class=\"badge bad\">TRUNCATED</span> ");
            hesc(h, in->error ? in->error : "");
        }
        hraw(h, "</td><td>");
        hesc(h, in->format);
        hraw(h, ", ");
        hesc(h, in->linktype_name);
        hp(h, "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64 "</td><td>",
           in->packets, size);
        if (hashed)
            hp(h, "<code>%s</code>", sha);
        else
            hraw(h, "<span class=\"mute\">not available (standard input or a live capture)</span>");
        hraw(h, "</td></tr>\n");
    }
    hraw(h, "</table>\n<table class=\"kv\">\n");
    if (a->packets == 0)
        hraw(h, "<tr><th>time span</th><td>no packets</td></tr>\n");
    else
        hp(h, "<tr><th>time span</th><td>%s &ndash; %s (%" PRId64 ".%03" PRId64 " s), %" PRIu64
              " packets</td></tr>\n", html_when(a->first_ts, false, b1, sizeof(b1)),
           html_when(a->last_ts, false, b2, sizeof(b2)), (a->last_ts - a->first_ts) / 1000000,
           (a->last_ts - a->first_ts) % 1000000 / 1000, a->packets);
    if (ao != NULL) {
        hraw(h, "<tr><th>ports</th><td>");
        if (ao->all_ports)
            hraw(h, "all (any port whose first client bytes look like TLS)");
        for (size_t i = 0; !ao->all_ports && i < ao->nports; i++)
            hp(h, "%s%u", i ? ", " : "", (unsigned)ao->ports[i]);
        hraw(h, "</td></tr>\n");
        if (ao->bpf != NULL) {
            hraw(h, "<tr><th>BPF filter</th><td><code>");
            hesc(h, ao->bpf);
            hraw(h, "</code></td></tr>\n");
        }
        hraw(h, "<tr><th>verification time</th><td>");
        if (ao->at == AT_CAPTURE)
            hraw(h, "each handshake's own time (<code>--at capture</code>)");
        else if (ao->at == AT_NOW)
            hraw(h, "the time the report was made (<code>--at now</code>)");
        else
            hp(h, "%s (<code>--at</code>)", html_when(ao->at_time, true, b1, sizeof(b1)));
        hraw(h, "</td></tr>\n");
        for (size_t i = 0; i < ao->nnames; i++) {
            char ip[48];
            hp(h, "<tr><th>expected name</th><td><code>%s</code> = <code>",
               conn_ip_str(&ao->names[i].addr, ip, sizeof(ip)));
            hesc(h, ao->names[i].name);
            hraw(h, "</code></td></tr>\n");
        }
        if (ao->nnames == 0)
            hraw(h, "<tr><th>expected names</th><td>SNI if sent, else the server address</td></tr>\n");
        file_row(h, "trust store (--cafile)", ao->trust.cafile);
        if (ao->trust.capath != NULL) {
            hraw(h, "<tr><th>trust store (--capath)</th><td><code>");
            hesc(h, ao->trust.capath);
            hraw(h, "</code> (directory)</td></tr>\n");
        }
        if (ao->trust.client_cafile != NULL)
            file_row(h, "client trust store", ao->trust.client_cafile);
        file_row(h, "key log (--keylog)", ao->keylog);
        if (ao->trust.cafile == NULL && ao->trust.capath == NULL)
            hraw(h, "<tr><th></th><td class=\"warn\">No trust store given: server chains are not "
                    "verified (<code>--cafile</code> with the Expressway-C trust store).</td></tr>\n");
    }
    hraw(h, "</table>\n");
}

/* ---- 3. findings by id ------------------------------------------------------------------- */

static void findings(struct hctx *h, const struct tally *t, const int *ids, size_t nids)
{
    const struct analysis *a = h->a;

    hraw(h, "<h2 id=\"findings\">Findings</h2>\n");
    if (nids == 0 && a->nglobal == 0)
        hraw(h, "<p class=\"ok\">No findings.</p>\n");
    for (size_t i = 0; i < nids; i++) {
        int id = ids[i];
        const struct conn *first = a->conns[t->first[id]];
        const struct conn_finding *f = NULL;
        struct conn_endpoint eps[HTML_FINDING_EPS];
        size_t neps = 0, more = 0;

        for (size_t k = 0; k < first->n_findings && k < CONN_MAX_FINDINGS; k++)
            if (first->findings[k].id == id) {
                f = &first->findings[k];
                break;
            }
        for (size_t c = t->first[id]; c < a->nconns; c++) {
            const struct conn *x = a->conns[c];
            bool has = false, dup = false;
            if (!html_reported(x))
                continue;
            for (size_t k = 0; k < x->n_findings && k < CONN_MAX_FINDINGS; k++)
                has = has || x->findings[k].id == id;
            if (!has)
                continue;
            for (size_t e = 0; e < neps; e++)
                dup = dup || endpoint_cmp(&eps[e], &x->server) == 0;
            if (dup)
                continue;
            if (neps < HTML_FINDING_EPS)
                eps[neps++] = x->server;
            else
                more++;      /* counts connections past the list, not endpoints */
        }
        hp(h, "<div class=\"finding\" id=\"f-%s\"><span class=\"badge %s\">%s</span> <b>%s</b> "
              "<span class=\"mute\">on %zu connection%s:</span>",
           finding_name(id), html_sev_class(finding_severity(id)), html_sev_label(finding_severity(id)),
           finding_name(id), t->fconns[id], t->fconns[id] == 1 ? "" : "s");
        for (size_t e = 0; e < neps; e++) {
            char sb[80];
            hp(h, " <code>%s</code>", html_endpoint_str(&eps[e], sb, sizeof(sb)));
        }
        if (more > 0)
            hraw(h, " <span class=\"mute\">and others</span>");
        hraw(h, "\n<div>");
        if (f != NULL)
            hesc(h, f->message);
        hraw(h, "</div>\n");
        if (f != NULL && f->remedy != NULL && f->remedy[0])
            hraw(h, "<p class=\"fix\"><b>Fix:</b> "), hesc(h, f->remedy), hraw(h, "</p>\n");
        hraw(h, "</div>\n");
    }
    for (size_t i = 0; i < a->nglobal; i++) {
        const struct analyze_global_finding *g = &a->global[i];
        int sev = (int)finding_severity(g->id);
        hp(h, "<div class=\"finding\"><span class=\"badge %s\">%s</span> <b>%s</b> "
              "<span class=\"mute\">(capture)</span>\n<div>", html_sev_class(sev), html_sev_label(sev),
           finding_name(g->id));
        hesc(h, g->message);
        hraw(h, "</div></div>\n");
    }
}

/* ---- 4. endpoints -------------------------------------------------------------------------- */

struct ep_sort {
    const struct analysis *a;
};

static int ep_cmp(const void *x, const void *y, void *arg)
{
    const struct ep_sort *s = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    int r = endpoint_cmp(&s->a->conns[i]->server, &s->a->conns[j]->server);
    if (r != 0)
        return r;
    return i < j ? -1 : i > j;
}

static void mix_bar(struct hctx *h, size_t ok, size_t bad, size_t other, size_t n)
{
    hp(h, "<div class=\"mix\" role=\"img\" aria-label=\"%zu complete, %zu failed, %zu other\">", ok,
       bad, other);
    if (ok)
        hp(h, "<span class=\"c\" style=\"width:%.1f%%\"></span>", 100.0 * (double)ok / (double)n);
    if (bad)
        hp(h, "<span class=\"f\" style=\"width:%.1f%%\"></span>", 100.0 * (double)bad / (double)n);
    if (other)
        hp(h, "<span class=\"o\" style=\"width:%.1f%%\"></span>", 100.0 * (double)other / (double)n);
    hraw(h, "</div>");
}

void html_chain_verdict(struct hctx *h, const struct conn *c)
{
    const struct x509_verdict *v = &c->verify.verdict;
    bool good = v->result == X509_CHAIN_OK;
    bool unk = v->result == X509_CHAIN_NOT_CHECKED || v->result == X509_CHAIN_NO_CERTIFICATE;
    hp(h, "<span class=\"%s\">chain %s</span>", good ? "ok" : unk ? "mute" : "bad",
       x509_chain_result_name(v->result));
    if (v->name_checked)
        hp(h, ", <span class=\"%s\">name %s</span>", v->name_ok ? "ok" : "bad",
           v->name_ok ? "ok" : "mismatch");
}

static void endpoints(struct hctx *h)
{
    const struct analysis *a = h->a;
    size_t *order = malloc((a->nconns + 1) * sizeof(size_t)), n = 0;
    struct ep_sort es = {a};

    if (order == NULL) {
        h->oom = true;
        return;
    }
    for (size_t i = 0; i < a->nconns; i++)
        if (html_reported(a->conns[i]))
            order[n++] = i;
    qsort_r(order, n, sizeof(size_t), ep_cmp, &es);
    hraw(h, "<h2 id=\"endpoints\">Server endpoints</h2>\n");
    if (n == 0) {
        hraw(h, "<p class=\"mute\">None.</p>\n");
        free(order);
        return;
    }
    hraw(h, "<table>\n<tr><th>server</th><th class=\"num\">conns</th><th class=\"num\">complete</th>"
            "<th class=\"num\">failed</th><th class=\"num\">other</th><th>verdict mix</th><th>auth</th>"
            "<th>leaf certificate</th><th>verdict</th></tr>\n");
    for (size_t i = 0; i < n;) {
        size_t j = i + 1, ok = 0, bad = 0, other = 0;
        const struct conn *c0 = a->conns[order[i]], *vc = NULL;
        const struct x509_cert *leaf = NULL;
        bool auth_seen[AUTH_OTHER + 1] = {false};
        char sb[80];
        while (j < n && endpoint_cmp(&a->conns[order[j]]->server, &c0->server) == 0)
            j++;
        hp(h, "<tr><td><code>%s</code></td>", html_endpoint_str(&c0->server, sb, sizeof(sb)));
        for (size_t k = i; k < j; k++) {
            const struct conn *c = a->conns[order[k]];
            if (c->outcome == OUTCOME_COMPLETE)
                ok++;
            else if (c->outcome == OUTCOME_FAILED)
                bad++;
            else
                other++;
            if (leaf == NULL && c->n_server_certs > 0)
                leaf = c->server_certs[0];
            if (vc == NULL && c->verify.done)
                vc = c;
        }
        hp(h, "<td class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num%s\">%zu</td>"
              "<td class=\"num\">%zu</td><td>", j - i, ok, bad ? " bad" : "", bad, other);
        mix_bar(h, ok, bad, other, j - i);
        hraw(h, "</td><td>");
        bool any = false;
        for (size_t k = i; k < j; k++) {
            const struct conn *c = a->conns[order[k]];
            if (c->sh.present && (unsigned)c->sh.auth <= AUTH_OTHER && !auth_seen[c->sh.auth] &&
                conn_auth_name(c->sh.auth) != NULL) {
                auth_seen[c->sh.auth] = true;
                hp(h, "%s%s", any ? ", " : "", conn_auth_name(c->sh.auth));
                any = true;
            }
        }
        if (!any)
            hraw(h, "&ndash;");
        hraw(h, "</td><td>");
        if (leaf == NULL) {
            hraw(h, "&ndash;");
        } else if (!leaf->parsed) {
            hraw(h, "unparseable");
        } else {
            hp(h, "<a href=\"#c-%.16s\">CN=", leaf->sha256_hex);
            hesc(h, leaf->cn ? leaf->cn : leaf->subject);
            hraw(h, "</a> ");
            hesc(h, leaf->key);
            if (leaf->self_signed)
                hraw(h, " <span class=\"warn\">self-signed</span>");
        }
        hraw(h, "</td><td>");
        if (vc != NULL)
            html_chain_verdict(h, vc);
        else
            hraw(h, "&ndash;");
        hraw(h, "</td></tr>\n");
        i = j;
    }
    hraw(h, "</table>\n");
    free(order);
}

static bool pick_reported(const struct conn *c, void *arg)
{
    (void)arg;
    return html_reported(c);
}

/* ---- 6. certificate cards ------------------------------------------------------------------- */

struct cert_seen {
    const struct x509_cert *cert;
    const struct conn *conn;      /* first connection that presented it */
    size_t pos;                   /* position in that chain */
    bool client;                  /* in the client's chain */
};

static void cert_card(struct hctx *h, const struct cert_seen *s)
{
    const struct x509_cert *x = s->cert;
    const struct conn *c = s->conn;
    char b1[64], b2[64], b3[64];

    hp(h, "<div class=\"card\" id=\"c-%.16s\"><h3>", x->sha256_hex);
    if (!x->parsed) {
        hraw(h, "Unparseable certificate</h3>\n<p>");
        hesc(h, x->parse_error ? x->parse_error : "");
        hp(h, "</p><p>SHA-256 <code>%s</code></p></div>\n", x->sha256_hex);
        return;
    }
    hraw(h, "CN=");
    hesc(h, x->cn ? x->cn : "(none)");
    hraw(h, "</h3>\n<table>\n<tr><th>subject</th><td>");
    hesc(h, x->subject);
    hraw(h, "</td></tr>\n<tr><th>issuer</th><td>");
    hesc(h, x->issuer);
    if (x->self_signed)
        hraw(h, " <span class=\"warn\">(self-signed)</span>");
    hraw(h, "</td></tr>\n<tr><th>SAN</th><td>");
    for (size_t i = 0; i < x->n_san && i < X509_MAX_SAN; i++) {
        hraw(h, i ? ", " : "");
        hesc(h, x->san[i]);
    }
    if (x->n_san == 0)
        hraw(h, "<span class=\"mute\">none</span>");
    if (x->san_truncated)
        hraw(h, ", ...");
    hraw(h, "</td></tr>\n<tr><th>key</th><td>");
    hesc(h, x->key);
    hp(h, "%s</td></tr>\n<tr><th>signature</th><td>", x->is_ca ? " <span class=\"mute\">(CA:TRUE)</span>" : "");
    hesc(h, x->signature_algorithm ? x->signature_algorithm : "?");
    hp(h, "</td></tr>\n<tr><th>validity</th><td>%s &ndash; %s",
       x->not_before ? html_when(x->not_before, true, b1, sizeof(b1)) : "?",
       x->not_after ? html_when(x->not_after, true, b2, sizeof(b2)) : "?");
    if (c->verify.done && c->verify.time != 0) {
        int64_t at = c->verify.time;
        if (x->not_after != 0 && at > x->not_after)
            hp(h, "<br><span class=\"badge bad\">EXPIRED</span> at %s", html_when(at, true, b3, sizeof(b3)));
        else if (x->not_before != 0 && at < x->not_before)
            hp(h, "<br><span class=\"badge bad\">NOT YET VALID</span> at %s", html_when(at, true, b3, sizeof(b3)));
        else
            hp(h, "<br><span class=\"badge ok\">VALID</span> at %s", html_when(at, true, b3, sizeof(b3)));
        hraw(h, " <span class=\"mute\">(verification time)</span>");
    }
    hp(h, "</td></tr>\n<tr><th>SHA-256</th><td><code>%s</code></td></tr>\n", x->sha256_hex);
    hraw(h, "<tr><th>serial</th><td><code>");
    hesc(h, x->serial ? x->serial : "?");
    hraw(h, "</code></td></tr>\n<tr><th>chain position</th><td>");
    char sb[80];
    hp(h, "%s certificate %zu%s, first sent on <code>%s</code>", s->client ? "client" : "server", s->pos,
       s->pos == 0 ? " (leaf)" : " (intermediate or root)", html_endpoint_str(&c->server, sb, sizeof(sb)));
    hraw(h, "</td></tr>\n<tr><th>trust</th><td>");
    /* The verdict belongs to the chain that carried it. */
    const struct x509_verdict *v = s->client ? (c->verify.client_done ? &c->verify.client_verdict : NULL)
                                             : (c->verify.done ? &c->verify.verdict : NULL);
    const struct x509_cert *const *chain = s->client ? c->client_certs : c->server_certs;
    size_t n = s->client ? c->n_client_certs : c->n_server_certs;
    if (v == NULL || v->result == X509_CHAIN_NOT_CHECKED) {
        hraw(h, "<span class=\"mute\">not checked: no trust store for this side</span>");
    } else if (v->result == X509_CHAIN_OK) {
        const struct x509_cert *top = n > 0 && n <= CONN_MAX_CERTS ? chain[n - 1] : NULL;
        hraw(h, "<span class=\"badge ok\">TRUSTED</span> the chain reaches a trust anchor: ");
        if (top != NULL && top->parsed && top->self_signed)
            hraw(h, "the sent root "), hesc(h, top->subject);
        else if (top != NULL && top->parsed)
            hesc(h, top->issuer), hraw(h, " (from the trust store)");
    } else {
        hp(h, "<span class=\"badge bad\">NOT TRUSTED</span> %s at depth %d", x509_chain_result_name(v->result),
           v->depth);
        if (v->openssl_error != NULL) {
            hraw(h, ": ");
            hesc(h, v->openssl_error);
        }
    }
    hraw(h, "</td></tr>\n</table></div>\n");
}

static void certificates(struct hctx *h, const struct conn_fold *f)
{
    struct cert_seen *seen = calloc(REPORT_HTML_MAX_CERTS, sizeof(*seen));
    size_t n = 0, dropped = 0;

    if (seen == NULL) {
        h->oom = true;
        return;
    }
    for (size_t g = 0; g < f->ngroups; g++) {
        const struct conn *c = h->a->conns[f->rep[g]];
        for (int side = 0; side < 2; side++) {
            const struct x509_cert *const *chain = side ? c->client_certs : c->server_certs;
            size_t nc = side ? c->n_client_certs : c->n_server_certs;
            for (size_t i = 0; i < nc && i < CONN_MAX_CERTS; i++) {
                bool dup = false;
                if (chain[i] == NULL)
                    continue;
                for (size_t k = 0; k < n && !dup; k++)
                    dup = seen[k].cert == chain[i] ||
                          memcmp(seen[k].cert->sha256, chain[i]->sha256, 32) == 0;
                if (dup)
                    continue;
                if (n == REPORT_HTML_MAX_CERTS) {
                    dropped++;
                    continue;
                }
                seen[n].cert = chain[i];
                seen[n].conn = c;
                seen[n].pos = i;
                seen[n].client = side == 1;
                n++;
            }
        }
    }
    hraw(h, "<h2 id=\"certificates\">Certificates</h2>\n");
    if (n == 0)
        hraw(h, "<p class=\"mute\">No certificate was visible in the capture.</p>\n");
    else
        hraw(h, "<div class=\"cards\">\n");
    for (size_t i = 0; i < n; i++)
        cert_card(h, &seen[i]);
    if (n > 0)
        hraw(h, "</div>\n");
    if (dropped > 0)
        hp(h, "<p class=\"warn\">%zu further certificates not shown.</p>\n", dropped);
    free(seen);
}

/* ---- 7. warnings, page frame ------------------------------------------------------------------ */

static void warnings(struct hctx *h)
{
    const struct analysis *a = h->a;
    if (a->nwarnings == 0 && a->warnings_dropped == 0)
        return;
    hraw(h, "<h2 id=\"warnings\">Warnings</h2>\n<ul>\n");
    for (size_t i = 0; i < a->nwarnings && i < ANALYZE_MAX_WARNINGS; i++) {
        hraw(h, "<li>");
        hesc(h, a->warnings[i]);
        hraw(h, "</li>\n");
    }
    if (a->warnings_dropped > 0)
        hp(h, "<li>%" PRIu64 " further warnings not kept</li>\n", a->warnings_dropped);
    hraw(h, "</ul>\n");
}

void html_page_open(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"color-scheme\" content=\"light dark\">\n<title>", out);
    hmeta(out, title);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", html_css);
}

void html_page_close(FILE *out, const char *version)
{
    fputs("<footer>Made by tlsinspect ", out);
    hmeta(out, version ? version : "");
    fprintf(out, " from the capture alone and the trust store given; offline, no revocation "
                 "checks.</footer>\n</main>\n<script>%s</script>\n</body>\n</html>\n", html_script);
}

int report_html(FILE *out, const struct analysis *a, const struct report_opts *o,
                const struct analyze_opts *ao)
{
    struct hctx h = {.out = out, .a = a, .o = o, .ao = ao, .names = a->names};
    struct conn_fold f;
    struct tally *t = malloc(sizeof(*t));
    int ids[FINDING_COUNT];
    size_t nids;
    char *title = NULL;

    if (t == NULL)
        return TI_ENOMEM;
    if (conn_fold_build(&f, a->conns, a->nconns, true, pick_reported, NULL) != TI_OK) {
        free(t);
        return TI_ENOMEM;
    }
    tally_fill(&h, t);
    nids = finding_order(t, ids);

    if (asprintf(&title, "tlsinspect: %s%s", a->ninputs > 0 ? a->inputs[0].file : "no input",
                 a->ninputs > 1 ? " ..." : "") < 0)
        title = NULL;
    {
        char *clean = report_escape(title ? title : "tlsinspect", true);
        html_page_open(out, clean ? clean : "tlsinspect");
        free(clean);
    }
    free(title);
    hraw(&h, "<h1>TLS handshake report</h1>\n<p class=\"sub\">");
    for (size_t i = 0; i < a->ninputs; i++) {
        hraw(&h, i ? ", " : "");
        hesc(&h, a->inputs[i].file);
    }
    hp(&h, " &middot; tlsinspect %s &middot; <a href=\"#problems\">problems</a> &middot; "
           "<a href=\"#findings\">findings</a> &middot; "
           "<a href=\"#endpoints\">endpoints</a> &middot; <a href=\"#connections\">connections</a> "
           "&middot; <a href=\"#certificates\">certificates</a></p>\n", o->version ? o->version : "");
    verdict(&h, t, ids, nids);
    html_problems(&h);
    inputs(&h);
    findings(&h, t, ids, nids);
    endpoints(&h);
    html_connections(&h, &f);
    certificates(&h, &f);
    warnings(&h);
    html_page_close(out, o->version);

    conn_fold_free(&f);
    free(t);
    if (h.oom)
        return TI_ENOMEM;
    if (fflush(out) != 0 || ferror(out))
        return TI_EIO;
    return TI_OK;
}
