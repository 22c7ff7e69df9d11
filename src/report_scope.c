/* report_scope.c - the text report's lines on what was looked at: the ports
 * inspected and their roles, the trust stores, the key log; a banner without
 * a trust store; TLS 1.3 without keys; TLS seen on ports not inspected. */
#include <inttypes.h>
#include <stdlib.h>

#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/report.h"
#include "tlsinspect/role.h"

struct sctx {
    FILE *out;
    bool oom;
};

/* A path from the command line, made safe for a terminal. */
static void tputs(struct sctx *t, const char *s)
{
    char *clean = report_escape(s, true);
    if (clean == NULL) {
        t->oom = true;
        return;
    }
    fputs(clean, t->out);
    free(clean);
}

/* What was looked at: ports (with their roles), trust stores, key log; a
 * banner without a trust store; the ports not inspected where TLS went. */
int report_scope_text(FILE *out, const struct analysis *a, size_t hidden, bool color)
{
    const struct analyze_scope *s = &a->scope;
    struct sctx sc = {out, false};
    struct sctx *t = &sc;

    fputs("inspected: ", t->out);
    if (s->all_ports || s->nports == 0) {
        fputs("every TCP port whose first bytes are TLS", t->out);
    } else {
        fputs("TCP ", t->out);
        for (size_t i = 0; i < s->nports; i++)
            fprintf(t->out, "%s%u (%s)", i ? ", " : "", s->ports[i],
                    role_name(role_for_port(&s->roles, s->ports[i])));
    }
    fputs("; trust store: ", t->out);
    if (s->cafile == NULL && s->capath == NULL) {
        fputs("none", t->out);
    } else {
        if (s->cafile) {
            fputs("--cafile ", t->out);
            tputs(t, s->cafile);
        }
        if (s->capath) {
            fputs(s->cafile ? ", --capath " : "--capath ", t->out);
            tputs(t, s->capath);
        }
    }
    if (s->client_cafile) {
        fputs("; client certificates: --client-cafile ", t->out);
        tputs(t, s->client_cafile);
    }
    fputs("; key log: ", t->out);
    if (s->keylog)
        tputs(t, s->keylog);
    else
        fputs("none", t->out);
    fputc('\n', t->out);
    if (s->cafile == NULL && s->capath == NULL) {
        if (color)
            fputs("\033[33m", out);
        fputs("NO TRUST STORE: server chains are not checked (not_checked); give the client's trust "
              "store with --cafile to verify them", t->out);
        if (color)
            fputs("\033[0m", out);
        fputc('\n', t->out);
    }
    /* TLS 1.3 without keys: the hint is worth the first screen even though
     * TLS13_CERT_HIDDEN itself is info (shown with -v) */
    if (hidden > 0)
        fprintf(t->out, "%zu TLS 1.3 connection%s hide%s the server certificate: %s\n", hidden,
                hidden == 1 ? "" : "s", hidden == 1 ? "s" : "",
                s->keylog ? "the key log given has no usable secrets for them (see -v)"
                          : "capture with a key log (SSLKEYLOGFILE) and pass it with --keylog, "
                            "or force TLS 1.2 for the test");
    if (a->nother == 0)
        return sc.oom ? TI_ENOMEM : TI_OK;
    fputs("TLS also on ports not inspected: ", t->out);
    for (size_t i = 0; i < a->nother; i++) {
        int role = role_for_port(&s->roles, a->other[i].port);
        fprintf(t->out, "%s%u (%" PRIu64 " ClientHello%s%s%s)", i ? ", " : "", a->other[i].port,
                a->other[i].hellos, a->other[i].hellos == 1 ? "" : "s",
                role != ROLE_GENERIC ? ", " : "", role != ROLE_GENERIC ? role_desc(role) : "");
    }
    if (a->other_dropped)
        fprintf(t->out, " and %" PRIu64 " more on other ports", a->other_dropped);
    fputs(": add them with -p ", t->out);
    for (size_t i = 0; i < s->nports; i++)
        fprintf(t->out, "%u,", s->ports[i]);
    for (size_t i = 0; i < a->nother; i++)
        fprintf(t->out, "%u%s", a->other[i].port, i + 1 < a->nother ? "," : "");
    fputs(" or -p all\n", t->out);
    return sc.oom ? TI_ENOMEM : TI_OK;
}
