/* report_text.c - the human report: header, endpoint table, ladders, summary.
 *
 * Layout (SPEC "Outputs", text):
 *   1. header: files, time span, connections, endpoints, scope (report_scope.c);
 *   2. the problems, one per root cause with its fix (problems.c);
 *   2b. one line per server endpoint (sorted by address, then port);
 *   3. the connections that have findings (warning or error; info and
 *      connections without findings only with -v), each as a compact ladder
 *      followed by its findings and their remedies.  Identical repeated
 *      connections (a fleet of retries) are folded into one ladder with
 *      "(and N more identical connections: ports ...)" unless -v;
 *   4. capture-level findings and warnings;
 *   5. the summary line.
 * -q prints only one line per finding (folded the same way) with its fix
 * line, and the summary.
 *
 * What is printed about connections comes from the aggregates of textagg.c,
 * fed one connection at a time as connections end (streaming) or from
 * a->conns (report_text()); this file renders one connection's ladder for
 * them (report_text_conn()) and prints the rest at the end.
 *
 * Every string that came off the wire or out of a certificate is printed
 * through report_escape(..., printable = true): control bytes and invalid
 * UTF-8 appear as "\xNN", never raw on a terminal.  ANSI colour only when
 * o->color.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/infer_chain.h"
#include "tlsinspect/problems.h"
#include "tlsinspect/report.h"
#include "tlsinspect/role.h"
#include "tlsinspect/textagg.h"
#include "tlsinspect/tls_names.h"

#define REPORT_SAN_SHOWN    4    /* SAN values on a Certificate line */
#define REPORT_LABEL_W      14   /* ladder label column ("ClientHello   ") */
#define REPORT_ID_W         20   /* finding id column, as in SPEC's example */

#define C_RED    "\033[31m"
#define C_GREEN  "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BOLD   "\033[1m"
#define C_RESET  "\033[0m"

struct tctx {
    FILE *out;
    const struct analysis *a;
    const struct report_opts *o;
    const struct tls_names *names;
    bool oom;
};

/* ---- small printing helpers ------------------------------------------------- */

static void tcolor(struct tctx *t, const char *esc)
{
    if (t->o->color)
        fputs(esc, t->out);
}

/* A wire / certificate string, made safe for a terminal. */
static void tputs(struct tctx *t, const char *s)
{
    char *clean = report_escape(s, true);
    if (clean == NULL) {
        t->oom = true;
        return;
    }
    fputs(clean, t->out);
    free(clean);
}

/* Display width of an escaped (valid UTF-8) string: code points. */
static size_t text_width(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0u) != 0x80u)
            n++;
    return n;
}

static void pad(struct tctx *t, size_t used, size_t width)
{
    for (size_t i = used; i < width; i++)
        fputc(' ', t->out);
}

static void label(struct tctx *t, const char *l)
{
    fprintf(t->out, "  %s", l);
    pad(t, strlen(l), REPORT_LABEL_W);
}

static void cont_indent(struct tctx *t)
{
    pad(t, 0, REPORT_LABEL_W + 2);
}

const char *report_text_endpoint(const struct conn_endpoint *e, char *buf, size_t len)
{
    char ip[48];                    /* INET6_ADDRSTRLEN */
    conn_ip_str(e, ip, sizeof(ip));
    if (e->ipver == 6)
        snprintf(buf, len, "[%s]:%u", ip, (unsigned)e->port);
    else
        snprintf(buf, len, "%s:%u", ip, (unsigned)e->port);
    return buf;
}

static const char *endpoint_str(const struct conn_endpoint *e, char *buf, size_t len)
{
    return report_text_endpoint(e, buf, len);
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

/* "16:55:26.007" (UTC) */
static const char *hms_ms(int64_t us, char *buf, size_t len)
{
    int64_t sec, frac;
    struct tm tm;

    split_us(us, &sec, &frac);
    time_t tt = (time_t)sec;
    if (gmtime_r(&tt, &tm) == NULL) {
        snprintf(buf, len, "??:??:??.???");
        return buf;
    }
    snprintf(buf, len, "%02d:%02d:%02d.%03lld", tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long long)(frac / 1000));
    return buf;
}

/* RFC 3339 UTC: with microseconds when us is true, else to the second. */
static const char *rfc3339(int64_t v, bool us, char *buf, size_t len)
{
    int64_t sec = v, frac = 0;
    struct tm tm;

    if (us)
        split_us(v, &sec, &frac);
    time_t tt = (time_t)sec;
    if (gmtime_r(&tt, &tm) == NULL) {
        snprintf(buf, len, "?");
        return buf;
    }
    if (us)
        snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                 (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
    else
        snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
                 (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

/* "1.493s", "2m05.100s", "3h02m07s" */
static const char *duration(int64_t us, char *buf, size_t len)
{
    if (us < 0)
        us = 0;
    int64_t s = us / 1000000, ms = (us % 1000000) / 1000;
    if (s < 60)
        snprintf(buf, len, "%lld.%03llds", (long long)s, (long long)ms);
    else if (s < 3600)
        snprintf(buf, len, "%lldm%02lld.%03llds", (long long)(s / 60),
                 (long long)(s % 60), (long long)ms);
    else
        snprintf(buf, len, "%lldh%02lldm%02llds", (long long)(s / 3600),
                 (long long)(s / 60 % 60), (long long)(s % 60));
    return buf;
}

/* Compact version names of the ladder ("TLS1.2"). */
static const char *short_version(uint16_t v, char *buf, size_t len)
{
    switch (v) {
    case 0x0002: return "SSL2";
    case 0x0300: return "SSL3.0";
    case 0x0301: return "TLS1.0";
    case 0x0302: return "TLS1.1";
    case 0x0303: return "TLS1.2";
    case 0x0304: return "TLS1.3";
    default:
        snprintf(buf, len, "0x%04x", (unsigned)v);
        return buf;
    }
}

static const char *suite_str(struct tctx *t, uint16_t code, char *buf, size_t len)
{
    const char *n = tls_suite_name(t->names, code);
    if (n != NULL)
        return n;
    snprintf(buf, len, "%s0x%04x", tls_is_grease(code) ? "GREASE " : "", (unsigned)code);
    return buf;
}

/* The CN of an RFC 2253 name ("CN=Root CA,O=Example" -> "Root CA"), copied
 * up to the next unescaped comma; the whole name when it has no CN. */
const char *report_dn_cn(const char *dn, char *buf, size_t len)
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

/* A finding is shown in the ladder section at warning or error; info
 * (TLS13_CERT_HIDDEN) only with -v. */
static bool finding_shown(struct tctx *t, const struct conn_finding *f)
{
    return f->severity >= SEV_WARNING || t->o->verbose;
}

static bool has_shown_finding(struct tctx *t, const struct conn *c)
{
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
        if (finding_shown(t, &c->findings[i]))
            return true;
    return false;
}

/* bold id, red for errors, yellow for warnings (reset by the caller) */
static void sev_color_id(struct tctx *t, enum finding_severity s)
{
    tcolor(t, C_BOLD);
    if (s == SEV_ERROR)
        tcolor(t, C_RED);
    else if (s == SEV_WARNING)
        tcolor(t, C_YELLOW);
}

/* ---- what the aggregate asks for (textagg.h) --------------------------------------- */

/* The connections the ladder section shows: those with a shown finding,
 * every one with -v. */
bool report_text_picked(const struct report_opts *o, const struct conn *c)
{
    struct tctx t = { .o = o };
    return reported(c) && (o->verbose || has_shown_finding(&t, c));
}

/* ---- 1. header ------------------------------------------------------------------- */

static void header(struct tctx *t, size_t nconns, size_t nendpoints, size_t hidden)
{
    const struct analysis *a = t->a;
    char b1[64], b2[64], b3[64];

    fprintf(t->out, "tlsinspect %s -- %zu file(s):", t->o->version ? t->o->version : "",
            a->ninputs);
    for (size_t i = 0; i < a->ninputs; i++) {
        const struct cap_input *in = &a->inputs[i];
        /* one file on the header line, several one per line */
        fputs(a->ninputs == 1 ? " " : "\n  ", t->out);
        tputs(t, in->file);
        fputs(" (", t->out);
        tputs(t, in->format);
        fputs(", ", t->out);
        tputs(t, in->linktype_name);
        fprintf(t->out, ", %" PRIu64 " pkts)", in->packets);
        if (a->inputs_extract != NULL && a->inputs_extract[i])
            fputs(" tlsinspect extract: packet counts are the extract's", t->out);
        if (in->truncated) {
            tcolor(t, C_RED);
            fputs(" TRUNCATED", t->out);
            tcolor(t, C_RESET);
            if (in->error) {
                fputs(": ", t->out);
                tputs(t, in->error);
            }
        }
    }
    fputc('\n', t->out);
    if (a->packets == 0)
        fputs("no packets\n", t->out);
    else
        fprintf(t->out, "%s .. %s (%s)\n", rfc3339(a->first_ts, true, b1, sizeof(b1)),
                rfc3339(a->last_ts, true, b2, sizeof(b2)),
                duration(a->last_ts - a->first_ts, b3, sizeof(b3)));
    fprintf(t->out, "%zu TLS connection%s on %zu server endpoint%s\n", nconns,
            nconns == 1 ? "" : "s", nendpoints, nendpoints == 1 ? "" : "s");
    if (report_scope_text(t->out, a, hidden, t->o->color) != TI_OK)
        t->oom = true;
    if (a->logs != NULL) {
        size_t nfiles, naddrs;
        const struct tslog_stats *st = tslog_stats(a->logs);
        const struct tslog_addr *ad = tslog_addrs(a->logs, &naddrs);

        (void)tslog_files(a->logs, &nfiles);
        fprintf(t->out, "traffic_server logs: %zu file%s, %" PRIu64 " lines, %" PRIu64
                " failure line%s matched to connections\n", nfiles, nfiles == 1 ? "" : "s",
                st->lines, st->matched, st->matched == 1 ? "" : "s");
        for (size_t i = 0; i < naddrs; i++) {
            fputs("  connect address ", t->out);
            tputs(t, ad[i].host);
            fprintf(t->out, ":%u (", ad[i].port);
            tputs(t, ad[i].protocol);
            fputs(", domain ", t->out);
            tputs(t, ad[i].domain);
            fprintf(t->out, "), %" PRIu64 " request%s from %s\n", ad[i].count,
                    ad[i].count == 1 ? "" : "s", rfc3339(ad[i].first_ts, true, b1, sizeof(b1)));
        }
    }
}

/* ---- 2. per-endpoint table --------------------------------------------------------- */

static void leaf_desc(struct tctx *t, const struct x509_cert *l, char **out)
{
    char *s = NULL;
    if (l == NULL) {
        *out = strdup("-");
    } else if (!l->parsed) {
        if (asprintf(&s, "unparseable (%zu bytes)", l->der_len) < 0)
            s = NULL;
        *out = s;
    } else {
        char *cn = report_escape(l->cn ? l->cn : (l->subject ? l->subject : "?"), true);
        if (cn != NULL && asprintf(&s, "CN=%s %s%s", cn, l->key,
                                   l->self_signed ? " self-signed" : "") < 0)
            s = NULL;
        free(cn);
        *out = s;
    }
    if (*out == NULL)
        t->oom = true;
}

/* "CN=... RSA-2048 self-signed (+2 other)": the row's most common leaf */
static char *row_leaf(struct tctx *t, const struct textagg_row *r)
{
    char *d = NULL, *s = NULL;

    leaf_desc(t, r->leaf, &d);
    if (d != NULL && r->leaf != NULL && r->nleaves > 1) {
        if (asprintf(&s, "%s (+%zu other)", d, r->nleaves - 1) >= 0) {
            free(d);
            d = s;
        }
    }
    return d;
}

static void ep_table(struct tctx *t, const struct textagg_row *rows, size_t nr)
{
    char **leaf = calloc(nr ? nr : 1, sizeof(*leaf)), sb[64];
    size_t w_srv = strlen("server"), w_auth = strlen("auth"), w_leaf = strlen("leaf certificate");
    size_t w_role = strlen("role");

    if (leaf == NULL) {
        t->oom = true;
        return;
    }
    for (size_t i = 0; i < nr; i++) {
        const struct textagg_row *r = &rows[i];
        leaf[i] = row_leaf(t, r);
        if (strlen(endpoint_str(&r->server, sb, sizeof(sb))) > w_srv)
            w_srv = strlen(sb);
        if (strlen(r->auth) > w_auth)
            w_auth = strlen(r->auth);
        if (strlen(role_name(r->role)) > w_role)
            w_role = strlen(role_name(r->role));
        if (leaf[i] && text_width(leaf[i]) > w_leaf)
            w_leaf = text_width(leaf[i]);
    }
    fputc('\n', t->out);
    fprintf(t->out, "%-*s  %-*s  conns  complete  failed  other  %-*s  %-*s  verdict\n",
            (int)w_srv, "server", (int)w_role, "role", (int)w_auth, "auth", (int)w_leaf,
            "leaf certificate");
    for (size_t i = 0; i < nr; i++) {
        const struct textagg_row *r = &rows[i];
        fprintf(t->out, "%-*s  %-*s  %5zu  %8zu  ", (int)w_srv,
                endpoint_str(&r->server, sb, sizeof(sb)), (int)w_role, role_name(r->role),
                r->conns, r->complete);
        if (r->failed)
            tcolor(t, C_RED);
        fprintf(t->out, "%6zu", r->failed);
        if (r->failed)
            tcolor(t, C_RESET);
        fprintf(t->out, "  %5zu  %-*s  ", r->other, (int)w_auth, r->auth);
        fputs(leaf[i] ? leaf[i] : "?", t->out);
        pad(t, leaf[i] ? text_width(leaf[i]) : 1, w_leaf);
        fprintf(t->out, "  %s\n", r->verdict);
        free(leaf[i]);
    }
    free(leaf);
}

/* ---- 3. ladders ----------------------------------------------------------------------- */

static void hello_line(struct tctx *t, const char *lab, const struct conn_client_hello *h)
{
    char vb[16], sb[32];
    bool v13 = false;

    for (size_t i = 0; i < h->n_versions && i < CONN_MAX_VERSIONS; i++)
        if (h->versions[i] == 0x0304)
            v13 = true;
    label(t, lab);
    if (h->sslv2)
        fputs("SSLv2-compat  ", t->out);
    fprintf(t->out, "%s  ", v13 ? "TLS1.3" : short_version(h->legacy_version, vb, sizeof(vb)));
    if (h->sni != NULL) {
        fputs("SNI ", t->out);
        tputs(t, h->sni);
    } else {
        fputs("no SNI", t->out);
    }
    const char *pref = conn_auth_name(h->preferred_auth);
    if (pref != NULL) {
        fprintf(t->out, "  prefers %s", pref);
        if (h->preferred_suite != 0) {
            fprintf(t->out, " (1st: %s)", suite_str(t, h->preferred_suite, sb, sizeof(sb)));
        } else {
            /* TLS 1.3 offer: decided by the first signature algorithm of that family */
            for (size_t i = 0; i < h->n_sigalgs && i < CONN_MAX_SIGALGS; i++)
                if (tls_sigalg_auth(h->sigalgs[i]) == h->preferred_auth &&
                    tls_sigalg_name(h->sigalgs[i]) != NULL) {
                    fprintf(t->out, " (1st sigalg: %s)", tls_sigalg_name(h->sigalgs[i]));
                    break;
                }
        }
    }
    fputc('\n', t->out);
}

static void code_list(struct tctx *t, const char *what, const uint16_t *v, size_t n,
                      const char *(*name)(uint16_t))
{
    if (n == 0)
        return;
    cont_indent(t);
    fprintf(t->out, "%s:", what);
    for (size_t i = 0; i < n; i++) {
        const char *nm = name(v[i]);
        if (nm != NULL)
            fprintf(t->out, "%s %s", i ? "," : "", nm);
        else
            fprintf(t->out, "%s %s0x%04x", i ? "," : "", tls_is_grease(v[i]) ? "GREASE " : "",
                    (unsigned)v[i]);
    }
    fputc('\n', t->out);
}

static void hello_verbose(struct tctx *t, const struct conn_client_hello *h)
{
    char vb[16], sb[32];

    cont_indent(t);
    fprintf(t->out, "legacy_version %s  session_id %u bytes", short_version(h->legacy_version, vb, sizeof(vb)),
            (unsigned)h->session_id_len);
    if (h->n_versions > 0) {
        fputs("  supported_versions", t->out);
        for (size_t i = 0; i < h->n_versions && i < CONN_MAX_VERSIONS; i++)
            fprintf(t->out, "%s %s", i ? "," : "",
                    tls_is_grease(h->versions[i]) ? "GREASE" : short_version(h->versions[i], vb, sizeof(vb)));
    }
    fputc('\n', t->out);
    cont_indent(t);
    fprintf(t->out, "cipher suites (%" PRIu32 "):\n", h->n_suites);
    for (uint32_t i = 0; i < h->n_suites && h->suites != NULL; i++) {
        cont_indent(t);
        fprintf(t->out, "%4" PRIu32 ". 0x%04x %s\n", i + 1, (unsigned)h->suites[i],
                tls_is_grease(h->suites[i]) ? "GREASE"
                    : suite_str(t, h->suites[i], sb, sizeof(sb)));
    }
    if (h->n_exts > 0) {
        cont_indent(t);
        fputs("extensions:", t->out);
        for (size_t i = 0; i < h->n_exts && i < CONN_MAX_EXTS; i++) {
            const char *nm = tls_ext_name(h->exts[i]);
            fprintf(t->out, "%s %s(%u)", i ? "," : "",
                    nm ? nm : (tls_is_grease(h->exts[i]) ? "GREASE" : "unknown"), (unsigned)h->exts[i]);
        }
        fputc('\n', t->out);
    }
    code_list(t, "signature_algorithms", h->sigalgs, h->n_sigalgs < CONN_MAX_SIGALGS ? h->n_sigalgs : CONN_MAX_SIGALGS,
              tls_sigalg_name);
    code_list(t, "supported_groups", h->groups, h->n_groups < CONN_MAX_GROUPS ? h->n_groups : CONN_MAX_GROUPS,
              tls_group_name);
    if (h->n_alpn > 0) {
        cont_indent(t);
        fputs("alpn:", t->out);
        for (size_t i = 0; i < h->n_alpn && i < CONN_MAX_ALPN; i++) {
            fputs(i ? ", " : " ", t->out);
            tputs(t, h->alpn[i]);
        }
        fputc('\n', t->out);
    }
    if (h->ja3[0] || h->ja4[0]) {
        cont_indent(t);
        fputs("ja3 ", t->out);
        tputs(t, h->ja3[0] ? h->ja3 : "-");
        fputs("  ja4 ", t->out);
        tputs(t, h->ja4[0] ? h->ja4 : "-");
        fputc('\n', t->out);
    }
}

static void server_hello_line(struct tctx *t, const char *lab, const struct conn_server_hello *sh)
{
    char vb[16], sb[32];
    label(t, lab);
    /* SPEC's example shows no version for TLS 1.2; anything else is named */
    if (sh->version != 0x0303)
        fprintf(t->out, "%s  ", short_version(sh->version, vb, sizeof(vb)));
    fputs(suite_str(t, sh->suite, sb, sizeof(sb)), t->out);
    if (conn_auth_name(sh->auth) != NULL)
        fprintf(t->out, "  (%s)", conn_auth_name(sh->auth));
    fputc('\n', t->out);
}

/* "SAN a, b, c, d +2 more": DNS and IP values only */
static void san_list(struct tctx *t, const struct x509_cert *c)
{
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < c->n_san && i < X509_MAX_SAN; i++) {
        const char *s = c->san[i];
        const char *v = NULL;
        if (s == NULL)
            continue;
        if (strncmp(s, "DNS:", 4) == 0)
            v = s + 4;
        else if (strncmp(s, "IP:", 3) == 0)
            v = s + 3;
        if (v == NULL)
            continue;
        total++;
        if (shown < REPORT_SAN_SHOWN) {
            fputs(shown ? ", " : "  SAN ", t->out);
            tputs(t, v);
            shown++;
        }
    }
    if (total > shown)
        fprintf(t->out, " +%zu more", total - shown);
}

static void cert_summary(struct tctx *t, const struct x509_cert *c)
{
    char b[256];
    if (!c->parsed) {
        fprintf(t->out, "(unparseable, %zu bytes: ", c->der_len);
        tputs(t, c->parse_error ? c->parse_error : "?");
        fprintf(t->out, ")  sha256 %s", c->sha256_hex);
        return;
    }
    fputs("CN=", t->out);
    tputs(t, c->cn ? c->cn : (c->subject ? c->subject : "?"));
    fputs("  ", t->out);
    tputs(t, c->key);
    if (c->self_signed) {
        fputs("  self-signed", t->out);
    } else {
        fputs("  CA-signed by ", t->out);
        tputs(t, report_dn_cn(c->issuer, b, sizeof(b)));
    }
    san_list(t, c);
}

static void cert_verbose(struct tctx *t, size_t i, const struct x509_cert *c)
{
    char b1[64], b2[64];
    if (!c->parsed)
        return;
    cont_indent(t);
    fprintf(t->out, "[%zu] subject  ", i);
    tputs(t, c->subject);
    fputc('\n', t->out);
    static const char *const fields[] = {"issuer", "serial", "sha256", "ski", "aki", "sigalg"};
    const char *vals[] = {c->issuer, c->serial, c->sha256_hex, c->ski, c->aki, c->signature_algorithm};
    for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
        cont_indent(t);
        fprintf(t->out, "    %-8s ", fields[k]);
        tputs(t, vals[k] ? vals[k] : "-");
        fputc('\n', t->out);
    }
    cont_indent(t);
    /* x509.h: 0 means OpenSSL could not read the time */
    fprintf(t->out, "    validity %s .. %s  CA:%s\n",
            c->not_before ? rfc3339(c->not_before, false, b1, sizeof(b1)) : "?",
            c->not_after ? rfc3339(c->not_after, false, b2, sizeof(b2)) : "?", c->is_ca ? "TRUE" : "FALSE");
    if (c->n_san > 0) {
        cont_indent(t);
        fputs("    SAN     ", t->out);
        for (size_t k = 0; k < c->n_san && k < X509_MAX_SAN; k++) {
            fputs(k ? ", " : " ", t->out);
            tputs(t, c->san[k]);
        }
        fputc('\n', t->out);
    }
}

static void chain_lines(struct tctx *t, const char *lab, const struct x509_cert *const *certs,
                        size_t n, bool truncated)
{
    char b[256];
    label(t, lab);
    if (n == 0) {
        fputs("(empty)\n", t->out);
        return;
    }
    if (certs[0] == NULL)
        fputs("?", t->out);
    else
        cert_summary(t, certs[0]);
    fputc('\n', t->out);
    if (t->o->verbose && certs[0])
        cert_verbose(t, 0, certs[0]);
    for (size_t i = 1; i < n && i < CONN_MAX_CERTS; i++) {
        const struct x509_cert *c = certs[i];
        if (c == NULL)
            continue;
        /* "+" under the label column, the CN aligned with the leaf's */
        pad(t, 0, REPORT_LABEL_W);
        fputs("+ ", t->out);
        if (!c->parsed) {
            cert_summary(t, c);
        } else {
            fputs("CN=", t->out);
            tputs(t, c->cn ? c->cn : (c->subject ? c->subject : "?"));
            fputs(" (issuer ", t->out);
            tputs(t, report_dn_cn(c->issuer, b, sizeof(b)));
            fputs(c->self_signed ? ", self-signed)" : ")", t->out);
        }
        fputc('\n', t->out);
        if (t->o->verbose)
            cert_verbose(t, i, c);
    }
    if (truncated) {
        pad(t, 0, REPORT_LABEL_W);
        fputs("+ ... (more certificates than kept)\n", t->out);
    }
}

/* An alert after the handshake: how long after application data began. */
static void alert_when(struct tctx *t, const struct conn_alert *al)
{
    char db[32];

    if (al->after_appdata)
        fprintf(t->out, ", %s after application data began",
                duration(al->after_appdata_us, db, sizeof(db)));
    fputc('\n', t->out);
}

static void alert_line(struct tctx *t, const struct conn_alert *al)
{
    const char *from = al->from == DIR_CLIENT ? "client" : "server";
    /* the header reads "client -> server": a client's alert travels right */
    label(t, al->from == DIR_CLIENT ? "Alert ->" : "Alert <-");
    if (al->encrypted) {
        fprintf(t->out, "encrypted alert from %s%s", from,
                al->inferred ? " (inferred from the record's size and position)" : "");
        alert_when(t, al);
        return;
    }
    const char *lv = tls_alert_level_name(al->level);
    const char *ds = tls_alert_name(al->description);
    if (al->level == 2)
        tcolor(t, C_RED);
    if (lv != NULL)
        fputs(lv, t->out);
    else
        fprintf(t->out, "level %u", (unsigned)al->level);
    fprintf(t->out, " %s (%u)", ds ? ds : "unknown", (unsigned)al->description);
    if (al->level == 2)
        tcolor(t, C_RESET);
    fprintf(t->out, " from %s%s", from, al->decrypted ? " (decrypted)" : "");
    alert_when(t, al);
}

static void verify_line(struct tctx *t, const struct conn_verification *v)
{
    char b[64];
    const struct x509_verdict *vd = &v->verdict;
    label(t, "Verify");
    fprintf(t->out, "chain %s", x509_chain_result_name(vd->result));
    if (vd->result != X509_CHAIN_OK && vd->result != X509_CHAIN_NOT_CHECKED)
        fprintf(t->out, " at depth %d", vd->depth);
    if (vd->openssl_error != NULL && vd->openssl_error[0]) {
        fputs(" (", t->out);
        tputs(t, vd->openssl_error);
        fputc(')', t->out);
    }
    if (v->expected_name[0]) {
        fputs("; name ", t->out);
        tputs(t, v->expected_name);
        fprintf(t->out, " (%s): ", x509_name_source_name(v->name_source));
        if (!vd->name_checked) {
            fputs("not checked", t->out);
        } else if (vd->name_ok) {
            fputs("ok", t->out);
            if (vd->matched != NULL && vd->matched[0]) {
                fputs(" by ", t->out);
                tputs(t, vd->matched);
            }
        } else {
            fputs("mismatch", t->out);
        }
    }
    fprintf(t->out, "; at %s\n", rfc3339(v->time, false, b, sizeof(b)));
    if (v->now_differs) {
        cont_indent(t);
        fprintf(t->out, "today: chain %s\n", x509_chain_result_name(v->verdict_now.result));
    }
    if (v->client_done) {
        cont_indent(t);
        fprintf(t->out, "client chain %s\n", x509_chain_result_name(v->client_verdict.result));
    }
}

static void tcp_lines(struct tctx *t, const struct conn *c)
{
    const struct conn_tcp *tc = &c->tcp;
    for (int d = DIR_CLIENT; d <= DIR_SERVER; d++)
        if (tc->gaps[d] > 0) {
            label(t, "Gap");
            fprintf(t->out, "%" PRIu64 " hole%s (%" PRIu64 " bytes) from %s\n", tc->gaps[d],
                    tc->gaps[d] == 1 ? "" : "s", tc->gap_bytes[d], d == DIR_CLIENT ? "client" : "server");
        }
    if (tc->rst[DIR_CLIENT] || tc->rst[DIR_SERVER]) {
        label(t, "RST");
        fprintf(t->out, "from %s\n", tc->rst[DIR_CLIENT] && tc->rst[DIR_SERVER] ? "client and server"
                                     : tc->rst[DIR_CLIENT] ? "client" : "server");
    }
    if (tc->fin[DIR_CLIENT] || tc->fin[DIR_SERVER]) {
        label(t, "FIN");
        fprintf(t->out, "from %s\n", tc->fin[DIR_CLIENT] && tc->fin[DIR_SERVER] ? "client and server"
                                     : tc->fin[DIR_CLIENT] ? "client" : "server");
    }
    if (t->o->verbose) {
        label(t, "TCP");
        fprintf(t->out, "SYN %s  packets %" PRIu64 "/%" PRIu64 "  retransmissions %" PRIu64 "/%" PRIu64
                " (client/server)\n", tc->syn_seen ? "seen" : "not seen", tc->packets[DIR_CLIENT],
                tc->packets[DIR_SERVER], tc->retrans[DIR_CLIENT], tc->retrans[DIR_SERVER]);
    }
}

static void finding_lines(struct tctx *t, const struct conn *c)
{
    size_t w = REPORT_ID_W;
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
        if (finding_shown(t, &c->findings[i]) && strlen(finding_name(c->findings[i].id)) + 2 > w)
            w = strlen(finding_name(c->findings[i].id)) + 2;
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++) {
        const struct conn_finding *f = &c->findings[i];
        if (!finding_shown(t, f))
            continue;
        const char *id = finding_name(f->id);
        fputs("  ! ", t->out);
        sev_color_id(t, f->severity);
        fputs(id, t->out);
        tcolor(t, C_RESET);
        pad(t, strlen(id), w);
        tputs(t, f->message);
        fputc('\n', t->out);
        if (f->remedy != NULL && f->remedy[0]) {
            fputs("    fix: ", t->out);
            tputs(t, f->remedy);
            fputc('\n', t->out);
        }
    }
}

/* TLS 1.3 without keys: the server's key type, by the size of its
 * encrypted CertificateVerify. */
static void server_key_guess(struct tctx *t, const struct conn *c)
{
    char basis[1024];

    if (c->inferred_server_key != KEY_GUESS_NONE) {
        label(t, "Server key");
        fprintf(t->out, "%s (inferred: %s)\n", c->inferred_server_key == KEY_GUESS_RSA ? "RSA" : "EC",
                infer_key_basis(c, "the key of the chain below", basis, sizeof(basis)));
    }
    if (c->inferred_leaf != NULL) {   /* infer_chain.h: a known chain fits the flight */
        char *e = report_escape(infer_chain_basis(c, basis, sizeof(basis)), true);
        label(t, "Chain");
        fprintf(t->out, "inferred %s\n", e != NULL ? e : "");
        if (e == NULL)
            t->oom = true;
        free(e);
    }
}

/* The traffic_server log lines attached to c, and how they compare. */
static void log_lines(struct tctx *t, const struct conn *c)
{
    const struct tslog_entry *const *es;
    size_t n, nfiles, nnodes;
    const char *const *files, *const *nodes;
    char cmp[1024], tb[32];

    if (t->a->logs == NULL)
        return;
    n = tslog_for_conn(t->a->logs, c->id, &es);
    files = tslog_files(t->a->logs, &nfiles);
    nodes = tslog_nodes(t->a->logs, &nnodes);
    for (size_t i = 0; i < n; i++) {
        const struct tslog_entry *e = es[i];
        label(t, "Log");
        fprintf(t->out, "%s ", hms_ms(e->ts, tb, sizeof(tb)));
        if (e->node < nnodes) {
            tputs(t, nodes[e->node]);
            fputc(' ', t->out);
        }
        tputs(t, e->file < nfiles ? files[e->file] : "");
        fprintf(t->out, ":%u\n", e->line);
        cont_indent(t);
        tputs(t, e->text);
        fputc('\n', t->out);
        tslog_compare_text(e, c, cmp, sizeof cmp);
        cont_indent(t);
        tputs(t, cmp);
        fputc('\n', t->out);
    }
}

static void ladder(struct tctx *t, const struct conn *c)
{
    char cb[80], sb[80], tb[32], xb[32];
    const char *oc = conn_outcome_name(c->outcome);

    fprintf(t->out, "%s -> %s  %s  ", endpoint_str(&c->client, cb, sizeof(cb)),
            endpoint_str(&c->server, sb, sizeof(sb)), hms_ms(c->first_ts, tb, sizeof(tb)));
    if (c->outcome == OUTCOME_FAILED)
        tcolor(t, C_RED);
    else if (c->outcome == OUTCOME_COMPLETE)
        tcolor(t, C_GREEN);
    for (const char *p = oc; *p; p++)
        fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, t->out);
    if (c->outcome == OUTCOME_FAILED || c->outcome == OUTCOME_COMPLETE)
        tcolor(t, C_RESET);
    if (c->outcome_inferred)
        fputs(" (inferred from the encrypted records)", t->out);
    if (t->o->verbose)
        fputc(TEXTAGG_MARK, t->out);        /* "  (#id)": ids are ranks, known at the end */
    fputc('\n', t->out);

    if (c->n_ch == 0) {
        label(t, "ClientHello");
        fputs("(not captured)\n", t->out);
    } else {
        hello_line(t, "ClientHello", &c->ch[0]);
        if (t->o->verbose)
            hello_verbose(t, &c->ch[0]);
    }
    if (c->sh_hrr.hrr) {
        label(t, "HelloRetry");
        fputs(suite_str(t, c->sh_hrr.suite, xb, sizeof(xb)), t->out);
        fputc('\n', t->out);
        if (c->n_ch > 1) {
            hello_line(t, "ClientHello2", &c->ch[1]);
            if (t->o->verbose)
                hello_verbose(t, &c->ch[1]);
        }
    }
    if (c->sh.present)
        server_hello_line(t, "ServerHello", &c->sh);

    if (c->n_server_certs > 0 || c->server_cert_msg_seen) {
        chain_lines(t, "Certificate", c->server_certs, c->n_server_certs, c->server_certs_truncated);
    } else if (c->resumed != RESUMED_NO) {
        label(t, "Certificate");
        fprintf(t->out, "(none: session resumed by %s; the certificate was checked when the "
                "session was first established)\n",
                c->resumed == RESUMED_TICKET ? "session ticket"
                : c->resumed == RESUMED_PSK ? "TLS 1.3 pre-shared key" : "session ID");
    } else if (c->tls13 && !c->keys_used) {
        /* RFC 8446 2: everything after ServerHello is encrypted */
        label(t, "Certificate");
        fputs("(encrypted: TLS 1.3 without key log)\n", t->out);
        server_key_guess(t, c);
    }
    if (c->certificate_request)
        fputs("  CertRequest\n", t->out);    /* no trailing blanks */
    if (c->n_client_certs > 0 || c->client_cert_msg_seen)
        chain_lines(t, "ClientCert", c->client_certs, c->n_client_certs, false);
    if (t->o->verbose && c->verify.done)
        verify_line(t, &c->verify);
    for (size_t i = 0; i < c->n_alerts && i < CONN_MAX_ALERTS; i++)
        alert_line(t, &c->alerts[i]);
    for (int d = DIR_CLIENT; d <= DIR_SERVER; d++)
        if (c->malformed[d]) {
            label(t, "Malformed");
            fprintf(t->out, "%s: ", d == DIR_CLIENT ? "client" : "server");
            tputs(t, c->malformed_why[d] ? c->malformed_why[d] : "parser gave up");
            fputc('\n', t->out);
        }
    if (c->tls13_note != NULL) {
        label(t, "Note");
        tputs(t, c->tls13_note);
        fputc('\n', t->out);
    }
    tcp_lines(t, c);
    log_lines(t, c);
    finding_lines(t, c);
}

/* ---- -q: one line per finding ------------------------------------------------------- */

static void quiet_lines(struct tctx *t, const struct conn *c)
{
    char sb[80];
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++) {
        const struct conn_finding *fd = &c->findings[i];
        if (!finding_shown(t, fd))
            continue;
        fprintf(t->out, "%s  ", endpoint_str(&c->server, sb, sizeof(sb)));
        sev_color_id(t, fd->severity);
        fputs(finding_name(fd->id), t->out);
        tcolor(t, C_RESET);
        fputs("  ", t->out);
        tputs(t, fd->message);
        fputc(TEXTAGG_MARK, t->out);        /* "  (N connections)": the group's count */
        fputc('\n', t->out);
        /* quiet drops the ladders, not what to do */
        if (fd->remedy != NULL && fd->remedy[0]) {
            fputs("  fix: ", t->out);
            tputs(t, fd->remedy);
            fputc('\n', t->out);
        }
    }
}

int report_text_conn(FILE *out, const struct analysis *a, const struct report_opts *o,
                     const struct conn *c)
{
    struct tctx t = { .out = out, .a = a, .o = o, .names = a->names, .oom = false };

    if (o->quiet)
        quiet_lines(&t, c);
    else
        ladder(&t, c);
    if (t.oom)
        return TI_ENOMEM;
    return ferror(out) ? TI_EIO : TI_OK;
}

/* ---- 4. + 5. ------------------------------------------------------------------------------ */

static void globals(struct tctx *t)
{
    const struct analysis *a = t->a;
    if (a->nglobal > 0 && !t->o->quiet)
        fputs("\nCapture findings:\n", t->out);
    for (size_t i = 0; i < a->nglobal; i++) {
        const struct analyze_global_finding *g = &a->global[i];
        fputs(t->o->quiet ? "capture  " : "  ! ", t->out);
        sev_color_id(t, finding_severity(g->id));
        fputs(finding_name(g->id), t->out);
        tcolor(t, C_RESET);
        fputs("  ", t->out);
        tputs(t, g->message);
        fputc('\n', t->out);
    }
    if (t->o->quiet)
        return;
    if (a->nwarnings > 0 || a->warnings_dropped > 0)
        fputs("\nWarnings:\n", t->out);
    for (size_t i = 0; i < a->nwarnings && i < ANALYZE_MAX_WARNINGS; i++) {
        fputs("  - ", t->out);
        tputs(t, a->warnings[i]);
        fputc('\n', t->out);
    }
    if (a->warnings_dropped > 0)
        fprintf(t->out, "  - %" PRIu64 " further warnings not kept\n", a->warnings_dropped);
}

static void summary(struct tctx *t, const struct textagg_totals *tot)
{
    const struct analysis *a = t->a;
    const size_t *by = tot->by_outcome, nconns = tot->conns;
    size_t sev[SEV_ERROR + 1];

    memcpy(sev, tot->sev, sizeof(sev));
    for (size_t i = 0; i < a->nglobal; i++)
        sev[finding_severity(a->global[i].id)]++;

    if (!t->o->quiet)
        fputc('\n', t->out);
    fprintf(t->out, "%zu connection%s: ", nconns, nconns == 1 ? "" : "s");
    if (by[OUTCOME_COMPLETE])
        tcolor(t, C_GREEN);
    fprintf(t->out, "%zu complete", by[OUTCOME_COMPLETE]);
    if (by[OUTCOME_COMPLETE])
        tcolor(t, C_RESET);
    fputs(", ", t->out);
    if (by[OUTCOME_FAILED])
        tcolor(t, C_RED);
    fprintf(t->out, "%zu failed", by[OUTCOME_FAILED]);
    if (by[OUTCOME_FAILED])
        tcolor(t, C_RESET);
    fprintf(t->out, ", %zu incomplete, %zu encrypted; findings: ", by[OUTCOME_INCOMPLETE],
            by[OUTCOME_ENCRYPTED]);
    if (sev[SEV_ERROR])
        tcolor(t, C_RED);
    fprintf(t->out, "%zu error", sev[SEV_ERROR]);
    if (sev[SEV_ERROR])
        tcolor(t, C_RESET);
    fputs(", ", t->out);
    if (sev[SEV_WARNING])
        tcolor(t, C_YELLOW);
    fprintf(t->out, "%zu warning", sev[SEV_WARNING]);
    if (sev[SEV_WARNING])
        tcolor(t, C_RESET);
    fputc('\n', t->out);
}

/* ---- entry point --------------------------------------------------------------------------- */

int report_text_agg(FILE *out, const struct analysis *a, struct textagg *g,
                    const struct report_opts *o)
{
    struct tctx t = { .out = out, .a = a, .o = o, .names = a->names, .oom = false };
    const struct textagg_row *rows;
    struct textagg_totals tot;
    struct problems p;
    size_t nrows;
    int rc = textagg_finish(g, a, &rows, &nrows, &tot, &p);

    if (rc != TI_OK)
        return rc;
    if (!o->quiet) {
        header(&t, tot.conns, nrows, tot.hidden);
        if (problems_text_built(out, a, &p, o->color) == TI_ENOMEM)   /* the first screen: what to fix */
            t.oom = true;
        if (tot.conns > 0)
            ep_table(&t, rows, nrows);
    }
    problems_free(&p);
    rc = textagg_print_groups(g, out);
    if (rc != TI_OK)
        return rc;
    globals(&t);
    summary(&t, &tot);
    if (t.oom)
        return TI_ENOMEM;
    if (fflush(out) != 0 || ferror(out))
        return TI_EIO;
    return TI_OK;
}

int report_text(FILE *out, const struct analysis *a, const struct report_opts *o)
{
    struct textagg *g = textagg_new(o);
    int rc = g != NULL ? TI_OK : TI_ENOMEM;

    for (size_t i = 0; i < a->nconns && rc == TI_OK; i++)
        rc = textagg_add(g, a, a->conns[i]);
    if (rc == TI_OK)
        rc = report_text_agg(out, a, g, o);
    textagg_free(g);
    return rc;
}
