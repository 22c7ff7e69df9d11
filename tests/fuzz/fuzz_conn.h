/* fuzz_conn.h - invariants of a finished struct conn, checked by the TLS and pipeline harnesses. */
#ifndef TLSINSPECT_FUZZ_CONN_H
#define TLSINSPECT_FUZZ_CONN_H

#include <string.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/findings.h"

#include "fuzz_check.h"

/* Invariants every consumer of struct conn relies on. */
static inline void fuzz_check_conn(const struct conn *c)
{
    FUZZ_CHECK(c->n_ch <= CONN_MAX_HELLOS);
    for (unsigned i = 0; i < c->n_ch; i++) {
        const struct conn_client_hello *ch = &c->ch[i];
        FUZZ_CHECK(ch->n_suites <= CONN_SUITES_MAX);
        FUZZ_CHECK(ch->n_suites == 0 || ch->suites != NULL);
        for (uint32_t k = 0; k < ch->n_suites; k++)
            fuzz_sink ^= ch->suites[k];          /* ASan: the whole array is there */
        FUZZ_CHECK(ch->n_exts <= CONN_MAX_EXTS);
        FUZZ_CHECK(ch->n_versions <= CONN_MAX_VERSIONS);
        FUZZ_CHECK(ch->n_sigalgs <= CONN_MAX_SIGALGS);
        FUZZ_CHECK(ch->n_groups <= CONN_MAX_GROUPS);
        FUZZ_CHECK(ch->n_key_share_groups <= CONN_MAX_GROUPS);
        FUZZ_CHECK(ch->n_point_formats <= CONN_MAX_POINTFMTS);
        FUZZ_CHECK(ch->n_alpn <= CONN_MAX_ALPN);
        for (unsigned k = 0; k < ch->n_alpn; k++)
            FUZZ_CHECK(ch->alpn[k] != NULL && strlen(ch->alpn[k]) < 256);
        if (ch->sni != NULL)
            fuzz_sink ^= strlen(ch->sni);
        FUZZ_CHECK(memchr(ch->ja3, 0, sizeof(ch->ja3)) != NULL);
        FUZZ_CHECK(memchr(ch->ja4, 0, sizeof(ch->ja4)) != NULL);
        FUZZ_CHECK((unsigned)ch->preferred_auth <= AUTH_OTHER);
    }
    FUZZ_CHECK(c->sh.n_exts <= CONN_MAX_EXTS && c->sh_hrr.n_exts <= CONN_MAX_EXTS);
    FUZZ_CHECK(c->n_server_certs <= CONN_MAX_CERTS && c->n_client_certs <= CONN_MAX_CERTS);
    for (unsigned i = 0; i < c->n_server_certs; i++)
        FUZZ_CHECK(c->server_certs[i] != NULL);
    for (unsigned i = 0; i < c->n_client_certs; i++)
        FUZZ_CHECK(c->client_certs[i] != NULL);
    FUZZ_CHECK(c->n_alerts <= CONN_MAX_ALERTS);
    /* Inference (issue 17) only where the wire is opaque: TLS 1.3 without
     * keys; an inferred alert is an encrypted one, in time order. */
    FUZZ_CHECK(!c->outcome_inferred || (c->tls13 && !c->keys_used));
    FUZZ_CHECK(c->inferred_server_key == KEY_GUESS_NONE || (c->tls13 && !c->keys_used));
    for (unsigned i = 0; i < c->n_alerts; i++) {
        FUZZ_CHECK(!c->alerts[i].inferred || (c->alerts[i].encrypted && c->tls13));
        FUZZ_CHECK(i == 0 || !c->alerts[i].inferred || c->alerts[i - 1].ts <= c->alerts[i].ts);
    }
    for (unsigned i = 0; i < c->n_alerts; i++)
        FUZZ_CHECK(c->alerts[i].from == DIR_CLIENT || c->alerts[i].from == DIR_SERVER);
    FUZZ_CHECK(c->n_events <= CONN_MAX_EVENTS);
    for (unsigned i = 0; i < c->n_events; i++)
        FUZZ_CHECK(c->events[i].kind <= EV_GAP && c->events[i].from <= DIR_SERVER);
    FUZZ_CHECK(c->n_findings <= CONN_MAX_FINDINGS);
    for (unsigned i = 0; i < c->n_findings; i++) {
        FUZZ_CHECK(c->findings[i].id >= 0 && c->findings[i].id < FINDING_COUNT);
        FUZZ_CHECK(c->findings[i].message != NULL);
        fuzz_sink ^= strlen(c->findings[i].message);
        if (c->findings[i].remedy != NULL)
            fuzz_sink ^= strlen(c->findings[i].remedy);
    }
    for (int d = 0; d < 2; d++)
        if (c->malformed_why[d] != NULL)
            fuzz_sink ^= strlen(c->malformed_why[d]);
    if (c->tls13_note != NULL)
        fuzz_sink ^= strlen(c->tls13_note);
    FUZZ_CHECK((unsigned)c->outcome <= OUTCOME_NOT_TLS);
    FUZZ_CHECK(c->verify.expected_name != NULL &&
               memchr(c->verify.expected_name, 0, CONN_NAME_MAX + 1) != NULL);
}

#endif
