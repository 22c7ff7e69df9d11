/* report_html.c - the self-contained HTML page (report_html.h): verdict, inputs, findings, ladders, certificates.
 *
 * Layout, verdict first:
 *   1. the verdict: a headline with a text label (FAILED / WARNINGS / OK)
 *      and the worst findings in one line each;
 *   2. inputs (file, size, SHA-256), options, trust stores, key log, span;
 *   3. findings grouped by id, worst first, with the remedy;
 *   4. the endpoint table with the verdict mix;
 *   5. one block per group of identical connections (fold.h), worst first:
 *      an SVG ladder built from the connection's events (conn.h), the
 *      findings beside it, the chain and its verdict, a Wireshark filter;
 *   6. certificate cards, each certificate once;
 *   7. capture-level findings and warnings.
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
#include "tlsinspect/report_html.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls_names.h"

#define HTML_HASH_BUF   (64u * 1024u)   /* read buffer for the SHA-256 of an input */
/* Code points of a ladder label before "...": what fits between the lifelines */
#define HTML_LABEL_MAX  64              /* the message line (12 px, semibold) */
#define HTML_DETAIL_MAX 74              /* the detail line under the arrow (11 px) */
#define HTML_SUITES_SHOWN 3             /* first suites on the ClientHello arrow */
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

struct hctx {
    FILE *out;
    const struct analysis *a;
    const struct report_opts *o;
    const struct analyze_opts *ao;
    const struct tls_names *names;
    bool oom;
};

/* ---- output helpers ---------------------------------------------------------- */

static void hp(struct hctx *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Trusted text: markup and numbers made here. */
static void hp(struct hctx *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(h->out, fmt, ap);
    va_end(ap);
}

static void hraw(struct hctx *h, const char *s)
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
static void hesc_max(struct hctx *h, const char *s, size_t max)
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

static void hesc(struct hctx *h, const char *s)
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
static const char *when(int64_t v, bool secs, char *buf, size_t len)
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
static const char *rel(int64_t us, char *buf, size_t len)
{
    if (us < 0)
        us = 0;
    if (us < 10000000)
        snprintf(buf, len, "+%lld.%03lld ms", (long long)(us / 1000), (long long)(us % 1000));
    else
        snprintf(buf, len, "+%lld.%03lld s", (long long)(us / 1000000), (long long)(us % 1000000 / 1000));
    return buf;
}

static const char *endpoint_str(const struct conn_endpoint *e, char *buf, size_t len)
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

static const char *short_version(uint16_t v, char *buf, size_t len)
{
    const char *n = tls_version_name(v, buf, (unsigned)len);
    return n != NULL ? n : "?";
}

static const char *suite_str(struct hctx *h, uint16_t code, char *buf, size_t len)
{
    const char *n = tls_suite_name(h->names, code);
    if (n != NULL)
        return n;
    snprintf(buf, len, "%s0x%04x", tls_is_grease(code) ? "GREASE " : "", (unsigned)code);
    return buf;
}

/* The CN of an RFC 2253 name, else the whole name. */
static const char *dn_cn(const char *dn, char *buf, size_t len)
{
    const char *p = dn;
    if (dn == NULL || len == 0)
        return "?";
    while (*p) {
        if (strncmp(p, "CN=", 3) == 0 && (p == dn || p[-1] == ',')) {
            size_t n = 0;
            for (p += 3; *p && !(*p == ',' && p[-1] != '\\') && n + 1 < len; p++)
                buf[n++] = *p;
            buf[n] = '\0';
            return buf;
        }
        p++;
    }
    return dn;
}

static bool reported(const struct conn *c)
{
    return c != NULL && c->outcome != OUTCOME_NOT_TLS;
}

static const char *sev_class(int sev)
{
    return sev == SEV_ERROR ? "bad" : sev == SEV_WARNING ? "warn" : "info";
}

static const char *sev_label(int sev)
{
    return sev == SEV_ERROR ? "ERROR" : sev == SEV_WARNING ? "WARNING" : "INFO";
}

static const char *outcome_class(enum conn_outcome o)
{
    return o == OUTCOME_COMPLETE ? "ok" : o == OUTCOME_FAILED ? "bad" : "warn";
}

static void outcome_badge(struct hctx *h, enum conn_outcome o)
{
    const char *n = conn_outcome_name(o);
    hp(h, "<span class=\"badge %s\">", outcome_class(o));
    for (const char *p = n; *p; p++)
        fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, h->out);
    hraw(h, "</span>");
}

/* Worst severity of a connection's findings, -1 without findings. */
static int worst_sev(const struct conn *c)
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
        if (!reported(c))
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
           sev_class(finding_severity(id)), sev_label(finding_severity(id)), finding_name(id),
           finding_name(id), t->fconns[id], t->fconns[id] == 1 ? "" : "s",
           endpoint_str(&c->server, sb, sizeof(sb)));
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
        uint64_t size = 0;
        /* a live capture's input is an interface, not a file */
        bool hashed = (h->ao == NULL || h->ao->iface == NULL) && file_sha256(in->file, sha, &size);
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
           in->packets, hashed ? size : in->size);
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
              " packets</td></tr>\n", when(a->first_ts, false, b1, sizeof(b1)),
           when(a->last_ts, false, b2, sizeof(b2)), (a->last_ts - a->first_ts) / 1000000,
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
            hp(h, "%s (<code>--at</code>)", when(ao->at_time, true, b1, sizeof(b1)));
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
            if (!reported(x))
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
           finding_name(id), sev_class(finding_severity(id)), sev_label(finding_severity(id)),
           finding_name(id), t->fconns[id], t->fconns[id] == 1 ? "" : "s");
        for (size_t e = 0; e < neps; e++) {
            char sb[80];
            hp(h, " <code>%s</code>", endpoint_str(&eps[e], sb, sizeof(sb)));
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
              "<span class=\"mute\">(capture)</span>\n<div>", sev_class(sev), sev_label(sev),
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

static void chain_verdict(struct hctx *h, const struct conn *c)
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
        if (reported(a->conns[i]))
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
        hp(h, "<tr><td><code>%s</code></td>", endpoint_str(&c0->server, sb, sizeof(sb)));
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
            chain_verdict(h, vc);
        else
            hraw(h, "&ndash;");
        hraw(h, "</td></tr>\n");
        i = j;
    }
    hraw(h, "</table>\n");
    free(order);
}

/* ---- 5. ladders ------------------------------------------------------------------------------ */

#define L_W      680
#define L_CX     150      /* client lifeline */
#define L_SX     600      /* server lifeline */
#define L_TOP    56
#define L_ROW    40

/* A label of one arrow: built in a buffer (untrusted text escaped when written). */
struct lbl {
    char main[160];
    char detail[512];
    int style;            /* 0 normal, 1 alert (red), 2 TCP (dashed) */
};

static void hello_label(struct hctx *h, const struct conn_client_hello *ch, struct lbl *l,
                        const char *name)
{
    char vb[16], sb[48];
    bool v13 = false;
    size_t off;

    for (size_t i = 0; i < ch->n_versions && i < CONN_MAX_VERSIONS; i++)
        if (ch->versions != NULL && ch->versions[i] == 0x0304)
            v13 = true;
    snprintf(l->main, sizeof(l->main), "%s  %s%s%s", name,
             v13 ? "TLS 1.3, 1.2" : short_version(ch->legacy_version, vb, sizeof(vb)),
             ch->sni ? "  SNI " : "  no SNI", ch->sni ? ch->sni : "");
    off = 0;
    if (conn_auth_name(ch->preferred_auth) != NULL)
        off += (size_t)snprintf(l->detail, sizeof(l->detail), "prefers %s; ",
                                conn_auth_name(ch->preferred_auth));
    for (size_t i = 0; i < ch->n_alpn && i < CONN_MAX_ALPN && ch->alpn != NULL && off < sizeof(l->detail); i++)
        off += (size_t)snprintf(l->detail + off, sizeof(l->detail) - off, "%s%s%s", i ? "," : "ALPN ",
                                ch->alpn[i] ? ch->alpn[i] : "?", i + 1 == ch->n_alpn ? "; " : "");
    if (off < sizeof(l->detail))
        off += (size_t)snprintf(l->detail + off, sizeof(l->detail) - off, "%" PRIu32 " suites:", ch->n_suites);
    size_t shown = 0;
    for (uint32_t i = 0; i < ch->n_suites && ch->suites != NULL && shown < HTML_SUITES_SHOWN &&
                         off < sizeof(l->detail); i++) {
        if (tls_is_grease(ch->suites[i]))
            continue;
        off += (size_t)snprintf(l->detail + off, sizeof(l->detail) - off, "%s %s", shown ? "," : "",
                                suite_str(h, ch->suites[i], sb, sizeof(sb)));
        shown++;
    }
    if (shown < ch->n_suites && off < sizeof(l->detail))
        snprintf(l->detail + off, sizeof(l->detail) - off, ", ...");
}

static void cert_label(const struct conn *c, bool server, struct lbl *l)
{
    const struct x509_cert *const *certs = server ? c->server_certs : c->client_certs;
    size_t n = server ? c->n_server_certs : c->n_client_certs;
    char b[256];

    snprintf(l->main, sizeof(l->main), "Certificate%s", server ? "" : " (client)");
    if (n == 0 || certs[0] == NULL) {
        snprintf(l->detail, sizeof(l->detail), "%s", n == 0 ? "empty: no certificate" : "?");
        return;
    }
    if (!certs[0]->parsed) {
        snprintf(l->detail, sizeof(l->detail), "unparseable, %zu bytes", certs[0]->der_len);
        return;
    }
    snprintf(l->detail, sizeof(l->detail), "CN=%s  %s  %s%s  (%zu in chain)",
             certs[0]->cn ? certs[0]->cn : (certs[0]->subject ? certs[0]->subject : "?"), certs[0]->key,
             certs[0]->self_signed ? "self-signed" : "issuer ",
             certs[0]->self_signed ? "" : dn_cn(certs[0]->issuer, b, sizeof(b)), n);
}

/* The label for event i; false to skip it. */
static bool event_label(struct hctx *h, const struct conn *c, size_t i, size_t *alert_i,
                        size_t *sh_i, size_t *ch_i, struct lbl *l)
{
    const struct conn_event *e = &c->events[i];
    char sb[48], vb[16];

    memset(l, 0, sizeof(*l));
    switch (e->kind) {
    case EV_HANDSHAKE:
        switch (e->type) {
        case TLS_HS_CLIENT_HELLO:
            if (*ch_i < c->n_ch && *ch_i < CONN_MAX_HELLOS)
                hello_label(h, &c->ch[*ch_i], l, *ch_i ? "ClientHello (2nd)" : "ClientHello");
            else
                snprintf(l->main, sizeof(l->main), "ClientHello");
            (*ch_i)++;
            return true;
        case TLS_HS_SERVER_HELLO: {
            const struct conn_server_hello *sh = (*sh_i == 0 && c->sh_hrr.hrr) ? &c->sh_hrr : &c->sh;
            bool hrr = sh == &c->sh_hrr;
            (*sh_i)++;
            snprintf(l->main, sizeof(l->main), "%s", hrr ? "HelloRetryRequest" : "ServerHello");
            if (sh->present || hrr)
                snprintf(l->detail, sizeof(l->detail), "%s  %s%s%s", short_version(sh->version, vb, sizeof(vb)),
                         suite_str(h, sh->suite, sb, sizeof(sb)),
                         conn_auth_name(sh->auth) ? "  auth " : "",
                         conn_auth_name(sh->auth) ? conn_auth_name(sh->auth) : "");
            return true;
        }
        case TLS_HS_CERTIFICATE:
            cert_label(c, e->from == DIR_SERVER, l);
            return true;
        case TLS_HS_CERTIFICATE_REQUEST:
            snprintf(l->main, sizeof(l->main), "CertificateRequest");
            snprintf(l->detail, sizeof(l->detail), "the server asks for the client's certificate");
            return true;
        default: {
            const char *n = tls_hs_name(e->type);
            if (n != NULL)
                snprintf(l->main, sizeof(l->main), "%s", n);
            else
                snprintf(l->main, sizeof(l->main), "handshake type %u", (unsigned)e->type);
            return true;
        }
        }
    case EV_CCS:
        snprintf(l->main, sizeof(l->main), "ChangeCipherSpec");
        return true;
    case EV_ENCRYPTED_HS:
        snprintf(l->main, sizeof(l->main), "%s", e->type == TLS_HS_FINISHED ? "Finished" : "encrypted handshake");
        snprintf(l->detail, sizeof(l->detail), "encrypted");
        return true;
    case EV_APPDATA:
        snprintf(l->main, sizeof(l->main), "application data");
        return true;
    case EV_ALERT: {
        const struct conn_alert *al = *alert_i < c->n_alerts && *alert_i < CONN_MAX_ALERTS
                                          ? &c->alerts[*alert_i] : NULL;
        (*alert_i)++;
        l->style = 1;
        if (al != NULL && al->encrypted) {
            snprintf(l->main, sizeof(l->main), "Alert (encrypted)");
            snprintf(l->detail, sizeof(l->detail), "level and description not visible");
        } else {
            const char *lv = tls_alert_level_name(e->level), *ds = tls_alert_name(e->type);
            snprintf(l->main, sizeof(l->main), "Alert %s %s (%u)", lv ? lv : "?", ds ? ds : "unknown",
                     (unsigned)e->type);
            if (al != NULL && al->decrypted)
                snprintf(l->detail, sizeof(l->detail), "decrypted with the key log");
            if (e->level != 2)
                l->style = 0;
        }
        return true;
    }
    case EV_FIN:
        snprintf(l->main, sizeof(l->main), "TCP FIN");
        l->style = 2;
        return true;
    case EV_RST:
        snprintf(l->main, sizeof(l->main), "TCP RST");
        l->style = 1;
        return true;
    case EV_GAP:
        snprintf(l->main, sizeof(l->main), "gap: bytes missing in the capture");
        l->style = 2;
        return true;
    default:
        return false;
    }
}

static void svg_text(struct hctx *h, int x, int y, const char *cls, const char *anchor,
                     const char *s, size_t untrusted_max)
{
    hp(h, "<text x=\"%d\" y=\"%d\"", x, y);
    if (cls != NULL)
        hp(h, " class=\"%s\"", cls);
    if (anchor != NULL)
        hp(h, " text-anchor=\"%s\"", anchor);
    hraw(h, ">");
    if (untrusted_max > 0)
        hesc_max(h, s, untrusted_max);
    else
        hraw(h, s);
    hraw(h, "</text>");
}

/* ---- frame numbers of the ladder events -------------------------------------------------
 *
 * The connection facts keep each event's timestamp, not its frame, so the
 * frames are found by reading the capture again (without the BPF filter:
 * Wireshark numbers every packet): an event's frame is the packet of its
 * connection and direction with the same timestamp that carried payload
 * (FIN / RST: that flag).  Packets sharing a timestamp give a range.
 * Several files are numbered in the merged order. */

struct frames {
    const struct conn **conns;    /* the ladders' connections */
    size_t n;
    uint64_t *lo, *hi;            /* [k * CONN_MAX_EVENTS + i], 0 = not found */
    int32_t *by_port;             /* client port -> first k, -1 none */
    int32_t *next;                /* next k with the same client port */
    bool merged;                  /* numbered over several files */
};

static bool frames_same_ip(const struct conn_endpoint *e, const uint8_t *ip, uint8_t ipver)
{
    return e->ipver == ipver && memcmp(e->ip, ip, ipver == 6 ? 16 : 4) == 0;
}

static void frames_packet(struct frames *fr, uint64_t frame, int64_t ts, const struct pkt_info *pi)
{
    for (int side = 0; side < 2; side++) {
        uint16_t port = side ? pi->dport : pi->sport;
        for (int32_t k = fr->by_port[port]; k >= 0; k = fr->next[k]) {
            const struct conn *c = fr->conns[k];
            int dir;
            if (frames_same_ip(&c->client, pi->src, pi->ipver) && pi->sport == c->client.port &&
                frames_same_ip(&c->server, pi->dst, pi->ipver) && pi->dport == c->server.port)
                dir = DIR_CLIENT;
            else if (frames_same_ip(&c->server, pi->src, pi->ipver) && pi->sport == c->server.port &&
                     frames_same_ip(&c->client, pi->dst, pi->ipver) && pi->dport == c->client.port)
                dir = DIR_SERVER;
            else
                continue;
            if (ts < c->first_ts || (c->last_ts != 0 && ts > c->last_ts))
                continue;
            for (size_t i = 0; i < c->n_events && i < CONN_MAX_EVENTS; i++) {
                const struct conn_event *e = &c->events[i];
                bool kind = e->kind == EV_FIN ? (pi->flags & TCPF_FIN) != 0
                          : e->kind == EV_RST ? (pi->flags & TCPF_RST) != 0
                          : e->kind == EV_GAP ? false : pi->has_payload;
                if (e->from != dir || e->ts != ts || !kind)
                    continue;
                size_t at = (size_t)k * CONN_MAX_EVENTS + i;
                if (fr->lo[at] == 0)
                    fr->lo[at] = frame;
                fr->hi[at] = frame;
            }
        }
    }
}

static void frames_free(struct frames *fr)
{
    free(fr->conns);
    free(fr->lo);
    free(fr->hi);
    free(fr->by_port);
    free(fr->next);
    memset(fr, 0, sizeof(*fr));
}

/* Fill fr for the connections in conns[0..n); false (fr empty) when the
 * capture cannot be read again (standard input, a file gone) or no memory. */
static bool frames_find(struct hctx *h, struct frames *fr, const struct conn **conns, size_t n)
{
    const struct analyze_opts *ao = h->ao;
    struct capture *cap = NULL;
    struct cap_packet pkt;
    struct pkt_info pi;
    char err[256];
    uint64_t frame = 0;

    memset(fr, 0, sizeof(*fr));
    if (ao == NULL || ao->iface != NULL || ao->files == NULL || ao->nfiles == 0 || n == 0)
        return false;
    for (size_t i = 0; i < ao->nfiles; i++)
        if (ao->files[i] == NULL || strcmp(ao->files[i], "-") == 0)
            return false;
    fr->conns = malloc(n * sizeof(*fr->conns));
    fr->lo = calloc(n * CONN_MAX_EVENTS, sizeof(uint64_t));
    fr->hi = calloc(n * CONN_MAX_EVENTS, sizeof(uint64_t));
    fr->by_port = malloc(65536 * sizeof(int32_t));
    fr->next = malloc(n * sizeof(int32_t));
    if (!fr->conns || !fr->lo || !fr->hi || !fr->by_port || !fr->next) {
        frames_free(fr);
        h->oom = true;
        return false;
    }
    fr->n = n;
    fr->merged = ao->nfiles > 1;
    for (size_t p = 0; p < 65536; p++)
        fr->by_port[p] = -1;
    for (size_t k = n; k-- > 0;) {
        fr->conns[k] = conns[k];
        fr->next[k] = fr->by_port[conns[k]->client.port];
        fr->by_port[conns[k]->client.port] = (int32_t)k;
    }
    if (capture_open(&cap, ao->files, ao->nfiles, NULL, err, sizeof(err)) != TI_OK) {
        frames_free(fr);
        return false;
    }
    while (capture_next(cap, &pkt) == 1) {
        frame++;
        if (decode_packet(pkt.linktype, pkt.data, pkt.caplen, pkt.len, &pi) == DECODE_TCP)
            frames_packet(fr, frame, pkt.ts, &pi);
    }
    capture_close(cap);
    return true;
}

/* The frame(s) of conns[k]'s event i as text, "" when not found. */
static const char *frame_str(const struct frames *fr, size_t k, size_t i, char *buf, size_t len)
{
    buf[0] = '\0';
    if (fr == NULL || fr->lo == NULL || k >= fr->n)
        return buf;
    size_t at = k * CONN_MAX_EVENTS + i;
    if (fr->lo[at] == 0)
        return buf;
    if (fr->hi[at] != fr->lo[at])
        snprintf(buf, len, "frames %" PRIu64 "-%" PRIu64, fr->lo[at], fr->hi[at]);
    else
        snprintf(buf, len, "frame %" PRIu64, fr->lo[at]);
    return buf;
}

static void ladder(struct hctx *h, const struct conn *c, const struct frames *fr, size_t k)
{
    size_t alert_i = 0, sh_i = 0, ch_i = 0, rows = 0;
    struct lbl l;
    char cb[80], sb[80], tb[32], fb[48];

    for (size_t i = 0; i < c->n_events && i < CONN_MAX_EVENTS; i++) {
        size_t a1 = alert_i, s1 = sh_i, c1 = ch_i;
        if (event_label(h, c, i, &a1, &s1, &c1, &l))
            rows++;
        alert_i = a1, sh_i = s1, ch_i = c1;
    }
    alert_i = sh_i = ch_i = 0;
    int height = L_TOP + (int)(rows + (c->events_truncated ? 1 : 0)) * L_ROW + 18;
    hp(h, "<svg class=\"ladder\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
          "aria-label=\"handshake ladder\">", L_W, height, L_W, height);
    svg_text(h, L_CX, 18, "who", "middle", "client", 0);
    svg_text(h, L_CX, 34, "t", "middle", endpoint_str(&c->client, cb, sizeof(cb)), 0);
    svg_text(h, L_SX, 18, "who", "middle", "server", 0);
    svg_text(h, L_SX, 34, "t", "middle", endpoint_str(&c->server, sb, sizeof(sb)), 0);
    svg_text(h, 6, 18, "t", NULL, "time", 0);
    hp(h, "<line class=\"life\" x1=\"%d\" y1=\"42\" x2=\"%d\" y2=\"%d\"/>", L_CX, L_CX, height - 8);
    hp(h, "<line class=\"life\" x1=\"%d\" y1=\"42\" x2=\"%d\" y2=\"%d\"/>", L_SX, L_SX, height - 8);
    size_t row = 0;
    for (size_t i = 0; i < c->n_events && i < CONN_MAX_EVENTS; i++) {
        const struct conn_event *e = &c->events[i];
        if (!event_label(h, c, i, &alert_i, &sh_i, &ch_i, &l))
            continue;
        int y = L_TOP + (int)row * L_ROW + 18;
        bool c2s = e->from == DIR_CLIENT;
        int x1 = c2s ? L_CX : L_SX, x2 = c2s ? L_SX : L_CX;
        int tcp = l.style == 2 || e->kind == EV_RST || e->kind == EV_FIN;
        /* TCP events: a short stub from the sender's lifeline */
        if (tcp)
            x2 = c2s ? L_CX + 110 : L_SX - 110;
        const char *lc = l.style == 1 ? "ax" : tcp ? "ad" : "a";
        const char *hc = l.style == 1 ? "hx" : tcp ? "hd" : "h";
        int dir = x2 > x1 ? 1 : -1;
        hp(h, "<line class=\"grid\" x1=\"80\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", y, L_CX, y);
        svg_text(h, 4, y + 4, "t", NULL, rel(e->ts - c->first_ts, tb, sizeof(tb)), 0);
        if (frame_str(fr, k, i, fb, sizeof(fb))[0])
            svg_text(h, 4, y + 17, "t", NULL, fb, 0);
        hp(h, "<line class=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", lc, x1, y, x2 - dir * 8, y);
        hp(h, "<polygon class=\"%s\" points=\"%d,%d %d,%d %d,%d\"/>", hc, x2, y, x2 - dir * 10, y - 5,
           x2 - dir * 10, y + 5);
        int tx = tcp ? (x1 + x2) / 2 : (L_CX + L_SX) / 2;
        svg_text(h, tx, y - 6, l.style == 1 ? "m x" : "m", "middle", l.main, HTML_LABEL_MAX);
        if (l.detail[0])
            svg_text(h, tx, y + 14, "d", "middle", l.detail, HTML_DETAIL_MAX);
        row++;
    }
    if (c->events_truncated) {
        int y = L_TOP + (int)row * L_ROW + 18;
        svg_text(h, (L_CX + L_SX) / 2, y, "d", "middle", "(more events than kept)", 0);
    }
    hraw(h, "</svg>\n");
}

static void conn_findings(struct hctx *h, const struct conn *c)
{
    if (c->n_findings == 0)
        hraw(h, "<p class=\"ok\">No findings.</p>\n");
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++) {
        const struct conn_finding *f = &c->findings[i];
        hp(h, "<div class=\"finding\"><span class=\"badge %s\">%s</span> <a href=\"#f-%s\"><b>%s</b></a>"
              "\n<div>", sev_class(f->severity), sev_label(f->severity), finding_name(f->id),
           finding_name(f->id));
        hesc(h, f->message);
        hraw(h, "</div>");
        /* the remedy is under the finding's id in Findings: one copy per page */
        if (f->remedy != NULL && f->remedy[0])
            hp(h, "<p class=\"fix\"><a href=\"#f-%s\">how to fix &uarr;</a></p>", finding_name(f->id));
        hraw(h, "</div>\n");
    }
}

static void chain_table(struct hctx *h, const char *what, const struct x509_cert *const *certs,
                        size_t n, bool truncated)
{
    if (n == 0)
        return;
    hp(h, "<h3>%s</h3>\n<table>\n<tr><th>#</th><th>subject CN</th><th>key</th><th>issuer</th></tr>\n", what);
    for (size_t i = 0; i < n && i < CONN_MAX_CERTS; i++) {
        const struct x509_cert *x = certs[i];
        char b[256];
        if (x == NULL)
            continue;
        hp(h, "<tr><td>%zu%s</td><td><a href=\"#c-%.16s\">", i, i == 0 ? " (leaf)" : "", x->sha256_hex);
        if (!x->parsed)
            hraw(h, "unparseable");
        else
            hesc(h, x->cn ? x->cn : x->subject);
        hraw(h, "</a></td><td>");
        hesc(h, x->key);
        hraw(h, "</td><td>");
        if (x->self_signed)
            hraw(h, "<span class=\"warn\">self-signed</span>");
        else
            hesc(h, dn_cn(x->issuer, b, sizeof(b)));
        hraw(h, "</td></tr>\n");
    }
    if (truncated)
        hraw(h, "<tr><td colspan=\"4\">more certificates than kept</td></tr>\n");
    hraw(h, "</table>\n");
}

/* The first ClientHello's facts that do not fit on its arrow. */
static void hello_table(struct hctx *h, const struct conn *c)
{
    const struct conn_client_hello *ch = &c->ch[0];
    char vb[16], sb[48];

    if (c->n_ch == 0)
        return;
    hraw(h, "<table class=\"kv\">\n<tr><th>ClientHello</th><td>SNI ");
    if (ch->sni != NULL)
        hraw(h, "<code>"), hesc(h, ch->sni), hraw(h, "</code>");
    else
        hraw(h, "<span class=\"mute\">none</span>");
    hraw(h, "; ALPN ");
    for (size_t i = 0; i < ch->n_alpn && i < CONN_MAX_ALPN && ch->alpn != NULL; i++)
        hraw(h, i ? ", <code>" : "<code>"), hesc(h, ch->alpn[i]), hraw(h, "</code>");
    if (ch->n_alpn == 0)
        hraw(h, "<span class=\"mute\">none</span>");
    hraw(h, "; versions");
    for (size_t i = 0; i < ch->n_versions && i < CONN_MAX_VERSIONS && ch->versions != NULL; i++)
        if (!tls_is_grease(ch->versions[i]))
            hp(h, " %s", short_version(ch->versions[i], vb, sizeof(vb)));
    if (ch->n_versions == 0)
        hp(h, " %s", short_version(ch->legacy_version, vb, sizeof(vb)));
    if (conn_auth_name(ch->preferred_auth) != NULL)
        hp(h, "; prefers <b>%s</b>", conn_auth_name(ch->preferred_auth));
    hp(h, "</td></tr>\n<tr><th>offered suites</th><td>%" PRIu32 ":", ch->n_suites);
    size_t shown = 0;
    for (uint32_t i = 0; i < ch->n_suites && ch->suites != NULL && shown < 6; i++) {
        if (tls_is_grease(ch->suites[i]))
            continue;
        hp(h, "%s <code>%s</code>", shown ? "," : "", suite_str(h, ch->suites[i], sb, sizeof(sb)));
        shown++;
    }
    if (shown < ch->n_suites)
        hraw(h, ", ...");
    hraw(h, "</td></tr>\n");
    if (ch->ja3[0] || ch->ja4[0]) {
        hraw(h, "<tr><th>fingerprints</th><td>JA3 <code>");
        hesc(h, ch->ja3);
        hraw(h, "</code> JA4 <code>");
        hesc(h, ch->ja4);
        hraw(h, "</code></td></tr>\n");
    }
    hraw(h, "</table>\n");
}

static void verification(struct hctx *h, const struct conn *c)
{
    const struct conn_verification *v = &c->verify;
    const struct x509_verdict *vd = &v->verdict;
    char b[64];

    if (!v->done)
        return;
    hraw(h, "<table class=\"kv\">\n<tr><th>server chain</th><td>");
    chain_verdict(h, c);
    if (vd->result != X509_CHAIN_OK && vd->result != X509_CHAIN_NOT_CHECKED &&
        vd->result != X509_CHAIN_NO_CERTIFICATE)
        hp(h, " at depth %d", vd->depth);
    if (vd->result != X509_CHAIN_OK && vd->openssl_error != NULL && vd->openssl_error[0]) {
        hraw(h, " <span class=\"mute\">(OpenSSL: ");
        hesc(h, vd->openssl_error);
        hraw(h, ")</span>");
    }
    hp(h, "; judged at %s</td></tr>\n", when(v->time, true, b, sizeof(b)));
    if (v->expected_name != NULL && v->expected_name[0]) {
        hraw(h, "<tr><th>expected name</th><td><code>");
        hesc(h, v->expected_name);
        hp(h, "</code> (from %s): ", x509_name_source_name(v->name_source));
        if (!vd->name_checked)
            hraw(h, "not checked");
        else if (vd->name_ok)
            hraw(h, "<span class=\"ok\">matches</span> "), hesc(h, vd->matched ? vd->matched : "");
        else
            hraw(h, "<span class=\"bad\">not in the certificate</span>");
        hraw(h, "</td></tr>\n");
    }
    if (v->now_differs)
        hp(h, "<tr><th>today</th><td>chain %s</td></tr>\n", x509_chain_result_name(v->verdict_now.result));
    if (v->client_done) {
        const struct x509_verdict *cv = &v->client_verdict;
        hp(h, "<tr><th>client chain</th><td><span class=\"%s\">chain %s</span>",
           cv->result == X509_CHAIN_OK ? "ok" : "bad", x509_chain_result_name(cv->result));
        if (cv->result != X509_CHAIN_OK && cv->openssl_error != NULL) {
            hraw(h, " <span class=\"mute\">(OpenSSL: ");
            hesc(h, cv->openssl_error);
            hraw(h, ")</span>");
        }
        hraw(h, " against the server side's trust store</td></tr>\n");
    }
    hraw(h, "</table>\n");
}

static void wireshark_filter(struct hctx *h, const struct conn_fold *f, size_t g)
{
    const struct conn *c = h->a->conns[f->rep[g]];
    char ip[48];
    const char *af = c->server.ipver == 6 ? "ipv6" : "ip";

    conn_ip_str(&c->server, ip, sizeof(ip));
    hp(h, "<p class=\"filter\">Wireshark display filter: <code>%s.addr==%s &amp;&amp; tcp.port==%u</code>",
       af, ip, (unsigned)c->client.port);
    if (f->count[g] > 1) {
        size_t shown = 0;
        hp(h, "<br>all %zu: <code>%s.addr==%s &amp;&amp; tcp.port in {", f->count[g], af, ip);
        for (size_t i = f->rep[g]; i != SIZE_MAX && shown < REPORT_HTML_MAX_PORTS; i = f->next[i], shown++)
            hp(h, "%s%u", shown ? " " : "", (unsigned)h->a->conns[i]->client.port);
        hraw(h, "}</code>");
        if (shown < f->count[g])
            hp(h, " <span class=\"mute\">(first %zu ports)</span>", shown);
    }
    hraw(h, "</p>\n");
}

static void group_block(struct hctx *h, const struct conn_fold *f, size_t g, size_t num,
                        const struct frames *fr, size_t k)
{
    const struct conn *c = h->a->conns[f->rep[g]];
    char cb[80], sb[80], tb[64];
    bool open = c->outcome == OUTCOME_FAILED || worst_sev(c) >= SEV_WARNING;

    hp(h, "<details class=\"group\" id=\"g%zu\"%s><summary>", num, open ? " open" : "");
    outcome_badge(h, c->outcome);
    hp(h, " <code>%s</code> &rarr; <code>%s</code>", endpoint_str(&c->client, cb, sizeof(cb)),
       endpoint_str(&c->server, sb, sizeof(sb)));
    if (f->count[g] > 1)
        hp(h, " <span class=\"mute\">and %zu more identical connection%s</span>", f->count[g] - 1,
           f->count[g] == 2 ? "" : "s");
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
        if (c->findings[i].severity >= SEV_WARNING)
            hp(h, " <span class=\"badge %s\">%s</span>", sev_class(c->findings[i].severity),
               finding_name(c->findings[i].id));
    hp(h, "</summary>\n<div>\n<p class=\"mute\">first packet %s, connection #%" PRIu64 "",
       when(c->first_ts, false, tb, sizeof(tb)), c->id);
    if (f->count[g] > 1) {
        size_t shown = 0;
        hp(h, "; %zu connections, client ports", f->count[g]);
        for (size_t i = f->rep[g]; i != SIZE_MAX; i = f->next[i]) {
            if (shown == REPORT_HTML_MAX_PORTS) {
                hp(h, " ... +%zu", f->count[g] - shown);
                break;
            }
            hp(h, "%s %u", shown ? "," : "", (unsigned)h->a->conns[i]->client.port);
            shown++;
        }
    }
    hraw(h, "</p>\n<div class=\"grid\"><div>");
    ladder(h, c, fr, k);
    if (fr != NULL && fr->lo != NULL)
        hp(h, "<p class=\"mute\">Times are relative to the connection's first packet; frame "
              "numbers are Wireshark's%s.</p>", fr->merged
              ? " for the files merged in time order (as mergecap writes them)" : "");
    else
        hraw(h, "<p class=\"mute\">Times are relative to the connection's first packet; the "
                "capture could not be read again for frame numbers: the filter below finds "
                "the frames.</p>");
    hraw(h, "</div><div class=\"side\">\n");
    conn_findings(h, c);
    hraw(h, "</div></div>\n");
    hello_table(h, c);
    verification(h, c);
    chain_table(h, "Server certificate chain (as sent)", c->server_certs, c->n_server_certs,
                c->server_certs_truncated);
    chain_table(h, "Client certificate chain", c->client_certs, c->n_client_certs,
                c->client_certs_truncated);
    for (int d = DIR_CLIENT; d <= DIR_SERVER; d++)
        if (c->malformed[d]) {
            hp(h, "<p class=\"warn\">Malformed TLS from the %s: ", d == DIR_CLIENT ? "client" : "server");
            hesc(h, c->malformed_why[d] ? c->malformed_why[d] : "parser gave up");
            hraw(h, "</p>\n");
        }
    if (c->tls13_note != NULL) {
        hraw(h, "<p class=\"mute\">Note: ");
        hesc(h, c->tls13_note);
        hraw(h, "</p>\n");
    }
    if (c->tcp.retrans[0] + c->tcp.retrans[1] + c->tcp.gaps[0] + c->tcp.gaps[1] > 0)
        hp(h, "<p class=\"mute\">TCP: %" PRIu64 "/%" PRIu64 " retransmissions, %" PRIu64 "/%" PRIu64
              " holes (client/server)</p>\n", c->tcp.retrans[0], c->tcp.retrans[1], c->tcp.gaps[0],
           c->tcp.gaps[1]);
    wireshark_filter(h, f, g);
    hraw(h, "</div>\n</details>\n");
}

static void group_row(struct hctx *h, const struct conn_fold *f, size_t g)
{
    const struct conn *c = h->a->conns[f->rep[g]];
    char cb[80], sb[80], ip[48];

    hraw(h, "<tr><td>");
    outcome_badge(h, c->outcome);
    hp(h, "</td><td><code>%s</code></td><td><code>%s</code></td><td class=\"num\">%zu</td><td>",
       endpoint_str(&c->client, cb, sizeof(cb)), endpoint_str(&c->server, sb, sizeof(sb)), f->count[g]);
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
        hp(h, "%s%s", i ? ", " : "", finding_name(c->findings[i].id));
    conn_ip_str(&c->server, ip, sizeof(ip));
    hp(h, "</td><td><code>%s.addr==%s &amp;&amp; tcp.port==%u</code></td></tr>\n",
       c->server.ipver == 6 ? "ipv6" : "ip", ip, (unsigned)c->client.port);
}

struct grp_sort {
    const struct analysis *a;
    const struct conn_fold *f;
};

/* Worst first: severity of the findings, failed before the rest, then report order. */
static int grp_cmp(const void *x, const void *y, void *arg)
{
    const struct grp_sort *s = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    const struct conn *ci = s->a->conns[s->f->rep[i]], *cj = s->a->conns[s->f->rep[j]];
    int wi = worst_sev(ci), wj = worst_sev(cj);
    if (wi != wj)
        return wi > wj ? -1 : 1;
    bool fi = ci->outcome == OUTCOME_FAILED, fj = cj->outcome == OUTCOME_FAILED;
    if (fi != fj)
        return fi ? -1 : 1;
    return i < j ? -1 : i > j;
}

static bool pick_reported(const struct conn *c, void *arg)
{
    (void)arg;
    return reported(c);
}

static void connections(struct hctx *h, struct conn_fold *f)
{
    size_t *order = malloc((f->ngroups + 1) * sizeof(size_t));
    struct grp_sort gs = {h->a, f};
    size_t rows;

    if (order == NULL) {
        h->oom = true;
        return;
    }
    for (size_t g = 0; g < f->ngroups; g++)
        order[g] = g;
    qsort_r(order, f->ngroups, sizeof(size_t), grp_cmp, &gs);
    hp(h, "<h2 id=\"connections\">Connections</h2>\n<p class=\"mute\">%zu group%s of identical "
          "connections (same client address, server, ClientHello, selected suite, leaf certificate, "
          "outcome and findings), worst first.</p>\n", f->ngroups, f->ngroups == 1 ? "" : "s");
    size_t nl = f->ngroups < REPORT_HTML_MAX_LADDERS ? f->ngroups : REPORT_HTML_MAX_LADDERS;
    const struct conn **lc = malloc((nl + 1) * sizeof(*lc));
    struct frames fr;
    bool have_frames = false;
    if (lc == NULL) {
        h->oom = true;
    } else {
        for (size_t k = 0; k < nl; k++)
            lc[k] = h->a->conns[f->rep[order[k]]];
        have_frames = frames_find(h, &fr, lc, nl);
    }
    for (size_t k = 0; k < nl; k++)
        group_block(h, f, order[k], k + 1, have_frames ? &fr : NULL, k);
    if (have_frames)
        frames_free(&fr);
    free(lc);
    if (f->ngroups > REPORT_HTML_MAX_LADDERS) {
        rows = f->ngroups - REPORT_HTML_MAX_LADDERS;
        if (rows > REPORT_HTML_MAX_ROWS)
            rows = REPORT_HTML_MAX_ROWS;
        hp(h, "<h3>Further groups</h3>\n<table>\n<tr><th>outcome</th><th>client</th><th>server</th>"
              "<th class=\"num\">conns</th><th>findings</th><th>Wireshark filter</th></tr>\n");
        for (size_t k = REPORT_HTML_MAX_LADDERS; k < REPORT_HTML_MAX_LADDERS + rows; k++)
            group_row(h, f, order[k]);
        hraw(h, "</table>\n");
        if (f->ngroups > REPORT_HTML_MAX_LADDERS + rows)
            hp(h, "<p class=\"warn\">%zu further groups are not listed: see the JSON report "
                  "(<code>-f json</code>).</p>\n", f->ngroups - REPORT_HTML_MAX_LADDERS - rows);
    }
    free(order);
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
       x->not_before ? when(x->not_before, true, b1, sizeof(b1)) : "?",
       x->not_after ? when(x->not_after, true, b2, sizeof(b2)) : "?");
    if (c->verify.done && c->verify.time != 0) {
        int64_t at = c->verify.time;
        if (x->not_after != 0 && at > x->not_after)
            hp(h, "<br><span class=\"badge bad\">EXPIRED</span> at %s", when(at, true, b3, sizeof(b3)));
        else if (x->not_before != 0 && at < x->not_before)
            hp(h, "<br><span class=\"badge bad\">NOT YET VALID</span> at %s", when(at, true, b3, sizeof(b3)));
        else
            hp(h, "<br><span class=\"badge ok\">VALID</span> at %s", when(at, true, b3, sizeof(b3)));
        hraw(h, " <span class=\"mute\">(verification time)</span>");
    }
    hp(h, "</td></tr>\n<tr><th>SHA-256</th><td><code>%s</code></td></tr>\n", x->sha256_hex);
    hraw(h, "<tr><th>serial</th><td><code>");
    hesc(h, x->serial ? x->serial : "?");
    hraw(h, "</code></td></tr>\n<tr><th>chain position</th><td>");
    char sb[80];
    hp(h, "%s certificate %zu%s, first sent on <code>%s</code>", s->client ? "client" : "server", s->pos,
       s->pos == 0 ? " (leaf)" : " (intermediate or root)", endpoint_str(&c->server, sb, sizeof(sb)));
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

static void page_open(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"color-scheme\" content=\"light dark\">\n<title>", out);
    hmeta(out, title);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", html_css);
}

static void page_close(FILE *out, const char *version)
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
        page_open(out, clean ? clean : "tlsinspect");
        free(clean);
    }
    free(title);
    hraw(&h, "<h1>TLS handshake report</h1>\n<p class=\"sub\">");
    for (size_t i = 0; i < a->ninputs; i++) {
        hraw(&h, i ? ", " : "");
        hesc(&h, a->inputs[i].file);
    }
    hp(&h, " &middot; tlsinspect %s &middot; <a href=\"#findings\">findings</a> &middot; "
           "<a href=\"#endpoints\">endpoints</a> &middot; <a href=\"#connections\">connections</a> "
           "&middot; <a href=\"#certificates\">certificates</a></p>\n", o->version ? o->version : "");
    verdict(&h, t, ids, nids);
    inputs(&h);
    findings(&h, t, ids, nids);
    endpoints(&h);
    connections(&h, &f);
    certificates(&h, &f);
    warnings(&h);
    page_close(out, o->version);

    conn_fold_free(&f);
    free(t);
    if (h.oom)
        return TI_ENOMEM;
    if (fflush(out) != 0 || ferror(out))
        return TI_EIO;
    return TI_OK;
}

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

int report_html_diff(FILE *out, const json_t *doc)
{
    struct hctx h = {.out = out};
    const json_t *eps = json_object_get(doc, "endpoints"), *sum = json_object_get(doc, "summary");
    const json_t *notes = json_object_get(doc, "notes"), *x;
    const char *version = jstr(json_object_get(doc, "tool"), "version");
    bool worse = json_is_true(json_object_get(doc, "worse"));
    size_t i;

    page_open(out, "tlsinspect diff");
    hraw(&h, "<h1>TLS handshake comparison</h1>\n<p class=\"sub\">before &rarr; after, per server "
             "endpoint, worse first &middot; tlsinspect ");
    hesc(&h, version ? version : "");
    hraw(&h, "</p>\n");
    hp(&h, "<section class=\"verdict %s\" id=\"verdict\"><p class=\"head\"><span class=\"badge %s\">%s</span> ",
       worse ? "bad" : "ok", worse ? "bad" : "ok", worse ? "WORSE" : "NOT WORSE");
    hp(&h, "%lld of %lld endpoint%s got worse</p>\n<p>%lld changed, %lld unchanged, %lld only before, "
           "%lld only after.</p>\n</section>\n",
       (long long)json_integer_value(json_object_get(sum, "worse")),
       (long long)json_integer_value(json_object_get(sum, "endpoints")),
       json_integer_value(json_object_get(sum, "endpoints")) == 1 ? "" : "s",
       (long long)json_integer_value(json_object_get(sum, "changed")),
       (long long)json_integer_value(json_object_get(sum, "unchanged")),
       (long long)json_integer_value(json_object_get(sum, "only_before")),
       (long long)json_integer_value(json_object_get(sum, "only_after")));
    hraw(&h, "<h2 id=\"inputs\">Inputs</h2>\n<table class=\"kv\">\n");
    diff_input(&h, "before", json_object_get(doc, "before"));
    diff_input(&h, "after", json_object_get(doc, "after"));
    hraw(&h, "</table>\n");
    json_array_foreach(notes, i, x) {
        hraw(&h, "<p class=\"warn\">Note: ");
        hesc(&h, json_string_value(x));
        hraw(&h, "</p>\n");
    }
    hraw(&h, "<h2 id=\"endpoints\">Endpoints</h2>\n");
    json_array_foreach(eps, i, x)
        diff_endpoint(&h, x);
    if (json_array_size(eps) == 0)
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
    page_close(out, version);
    if (h.oom)
        return TI_ENOMEM;
    if (fflush(out) != 0 || ferror(out))
        return TI_EIO;
    return TI_OK;
}
