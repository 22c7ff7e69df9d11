/* tls_session.c - the TLS session's life: creation, problems, alerts, closing, outcome. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/err.h"
#include "tlsinspect/tls.h"
#include "tls_internal.h"

#define TLS_BUF_MIN    512u  /* first allocation of a partial-record/message buffer */

void tls_limits_default(struct tls_limits *lim)
{
    lim->max_hs_msg = TLS_MAX_HS_MSG;
    lim->max_records = TLS_MAX_RECORDS;
}

int tls_session_new(struct tls_session **out, struct conn *c,
                    struct x509_pool *pool, const struct tls_names *names,
                    const struct tls_limits *lim,
                    const struct tls_keylog *keylog)
{
    struct tls_session *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL)
        return TI_ENOMEM;
    s->c = c;
    s->pool = pool;
    s->names = names;
    s->keylog = keylog;
    if (lim != NULL)
        s->lim = *lim;
    else
        tls_limits_default(&s->lim);
    s->client_side = -1;
    s->server_hint = -1;
    s->first_speaker = -1;
    s->last_hs_type = -1;
    *out = s;
    return TI_OK;
}

void tls_session_set_fp_memo(struct tls_session *s, struct tls_fp_memo *memo)
{
    s->memo = memo;
}

void tls_session_free(struct tls_session *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        free(s->d[i].rec_buf);
        free(s->d[i].hs_buf);
    }
    if (s->dec != NULL) {
        tls13_keys_clear(&s->dec->k[0]);
        tls13_keys_clear(&s->dec->k[1]);
        free(s->dec);
    }
    if (s->dec12 != NULL) {
        tls12_dir_clear(&s->dec12->k[0]);
        tls12_dir_clear(&s->dec12->k[1]);
        free(s->dec12->buf);
        free(s->dec12);
    }
    free(s);
}

/* ---- problems ---------------------------------------------------------- */

__attribute__((format(printf, 1, 0)))
static char *vfmt(const char *fmt, va_list ap)
{
    char tmp[160];

    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    return strdup(tmp);
}

/* A problem the parser survived: kept in malformed_why (first one only)
 * without setting malformed[] (which means "gave up"). */
void tls_note_problem(struct tls_session *s, enum conn_dir dir, const char *fmt, ...)
{
    va_list ap;

    if (s->c->malformed_why[dir] != NULL)
        return;
    va_start(ap, fmt);
    s->c->malformed_why[dir] = vfmt(fmt, ap);
    va_end(ap);
}

/* Give up on a direction; the reason replaces any earlier note. */
void tls_give_up(struct tls_session *s, enum conn_dir dir, const char *fmt, ...)
{
    va_list ap;
    char *why;

    va_start(ap, fmt);
    why = vfmt(fmt, ap);
    va_end(ap);
    if (why != NULL) {
        free(s->c->malformed_why[dir]);
        s->c->malformed_why[dir] = why;
    }
    s->c->malformed[dir] = true;
    s->d[dir].sync = SYNC_DEAD;
    s->d[dir].rec = REC_HEADER;
    s->d[dir].hs_len = 0;
}

void tls_not_tls(struct tls_session *s)
{
    s->run = RUN_NOT_TLS;
    s->c->outcome = OUTCOME_NOT_TLS;
}

int tls_buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t max)
{
    size_t ncap;
    uint8_t *nb;

    if (need <= *cap)
        return TI_OK;
    if (need > max)
        return TI_ELIMIT;
    ncap = *cap < TLS_BUF_MIN ? TLS_BUF_MIN : *cap;
    while (ncap < need)
        ncap = ncap > max / 2 ? max : ncap * 2;
    nb = realloc(*buf, ncap);
    if (nb == NULL)
        return TI_ENOMEM;
    *buf = nb;
    *cap = ncap;
    return TI_OK;
}

/* ---- how far the handshake got ------------------------------------------- */

bool tls_hs12_complete(const struct tls_session *s)
{
    return !s->c->tls13 && s->c->finished[0] && s->c->finished[1];
}

/* TLS 1.3 with both Finished read: over once the server, if it asked for a
 * certificate, went on after the client's Finished (RFC 8446 4.4.2.4: it
 * judges the certificate then, and its next record may be the alert; a
 * decrypted alert does not count as going on).  A fatal alert after that
 * does not fail the handshake. */
bool tls_hs13_over(const struct tls_session *s)
{
    return s->c->tls13 && s->c->finished[DIR_CLIENT] && s->c->finished[DIR_SERVER] &&
           (!s->c->certificate_request || s->srv_after_cfin);
}

/* TLS 1.3 without keys: both sides encrypted, the client answered the
 * server's flight, and something flowed after that answer (so an answer
 * that was an encrypted alert followed by a reset is not taken for done). */
static bool tls13_done(const struct tls_session *s)
{
    const struct tls_dir *cl = &s->d[DIR_CLIENT], *sv = &s->d[DIR_SERVER];

    if (!s->c->tls13)
        return false;
    /* With keys: a side still being decrypted has not sent its Finished. */
    if (cl->prot == PROT_HS13 || sv->prot == PROT_HS13)
        return false;
    if (s->c->finished[DIR_CLIENT] && s->c->finished[DIR_SERVER])
        return tls_hs13_over(s);
    return sv->enc13_records > 0 && cl->enc13_records > 0 &&
           (cl->enc13_records > 1 || s->srv_after_cli13);
}

/* ---- events -------------------------------------------------------------- */

/* RFC 5246 7.2.2 / RFC 8446 6.2: descriptions that end the connection
 * whatever level the sender wrote. */
static bool alert_always_fatal(uint8_t desc)
{
    switch (desc) {
    case 0: case 41: case 42: case 43: case 44: case 45: case 46:
    case 90: case 100: case 112:
        return false;
    default:
        return true;
    }
}

void tls_add_alert(struct tls_session *s, enum conn_dir dir, bool encrypted,
                   uint8_t level, uint8_t desc)
{
    struct conn *c = s->c;

    if (c->n_alerts < CONN_MAX_ALERTS) {
        struct conn_alert *a = &c->alerts[c->n_alerts++];
        a->from = dir;
        a->encrypted = encrypted;
        a->level = encrypted ? 0 : level;
        a->description = encrypted ? 0 : desc;
        a->ts = s->ts;
        a->after_msg = (s->last_hs_type >= 0 && s->last_hs_type <= 127)
                           ? (int8_t)s->last_hs_type : -1;
        a->after_msg_from = s->last_hs_from;
        a->after_appdata = c->appdata[0] || c->appdata[1];
        a->after_appdata_us = a->after_appdata ? s->ts - c->appdata_ts : 0;
    } else {
        c->alerts_truncated = true;
    }
    conn_add_event(c, s->ts, EV_ALERT, dir, encrypted ? 0 : desc,
                   encrypted ? 0 : level);
    /* An encrypted alert fails a handshake that was seen starting; in a
     * capture that begins after the handshake it is the end of a session,
     * and so it is once application data went either way: a TLS <= 1.2
     * client sends it only after the server's Finished, which may be
     * behind a hole in the capture (read only when the hole is given up,
     * after the alerts). */
    if (!tls_hs12_complete(s) && !tls_hs13_over(s) &&
        ((encrypted && (c->n_ch > 0 || c->sh.present) && !c->appdata[0] && !c->appdata[1]) ||
         level == 2 ||
         (level == 1 && alert_always_fatal(desc))))
        s->hs_failed = true;
}

/* The side's first application data. */
void tls_appdata_event(struct tls_session *s, enum conn_dir dir)
{
    if (!s->c->appdata[dir]) {
        if (!s->c->appdata[1 - dir])
            s->c->appdata_ts = s->ts;
        s->c->appdata[dir] = true;
        conn_add_event(s->c, s->ts, EV_APPDATA, dir, 0, 0);
    }
}

/* The side's first encrypted handshake record that is not read. */
void tls_opaque_event(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];

    if (!d->opaque_event) {
        d->opaque_event = true;
        conn_add_event(s->c, s->ts, EV_ENCRYPTED_HS, dir, 0, 0);
    }
}

/* ---- end of the connection ----------------------------------------------- */

void tls_close(struct tls_session *s, int side, bool rst, int64_t ts)
{
    enum conn_dir dir;

    if (s == NULL || (side != 0 && side != 1))
        return;
    s->ts = ts;
    if (s->client_side < 0 && s->run != RUN_NOT_TLS)
        tls_decide_role(s);
    if (s->client_side < 0)
        s->client_side = s->server_hint >= 0 ? 1 - s->server_hint : 0;
    dir = tls_dir_of(s, side);
    if (rst)
        s->d[dir].rst = true;
    else
        s->d[dir].fin = true;
    conn_add_event(s->c, ts, rst ? EV_RST : EV_FIN, dir, 0, 0);
}

/* A side sends nothing more: it closed TCP, closed TLS with a decrypted
 * close_notify or fatal alert, or was given up. */
static bool side_over(const struct tls_dir *d)
{
    return d->fin || d->alert_closed || d->sync == SYNC_DEAD;
}

/* Every connection is followed to its end: after the handshake only record
 * headers are read (no copies; bodies only to open them with --keylog, or
 * a 2-byte alert), so closing and mid-session alerts reach the report.  Done
 * when nothing more can be read: the connection is not TLS, the record
 * limit was reached, either side reset, or both sides are over. */
bool tls_done(const struct tls_session *s)
{
    if (s == NULL || !tls_running(s))
        return true;
    if (s->d[0].rst || s->d[1].rst)
        return true;
    return side_over(&s->d[0]) && side_over(&s->d[1]);
}

/* TLS <= 1.2 with keys: a side being decrypted may still send its
 * close_notify (or a renegotiation). */
static bool dec12_pending(const struct tls_session *s)
{
    for (int dir = DIR_CLIENT; dir <= DIR_SERVER; dir++)
        if (s->d[dir].prot == PROT_DEC12 && !s->d[dir].alert_closed)
            return true;
    return false;
}

/* TLS 1.3 with application secrets: a side whose records are still opened
 * may yet send its close_notify or an alert. */
static bool dec13_pending(const struct tls_session *s)
{
    if (s->d[DIR_CLIENT].rst || s->d[DIR_SERVER].rst)
        return false;
    for (int dir = DIR_CLIENT; dir <= DIR_SERVER; dir++) {
        const struct tls_dir *d = &s->d[dir];
        if (d->prot == PROT_APP13 && !d->alert_closed && !d->fin && d->sync != SYNC_DEAD)
            return true;
    }
    return false;
}

/* TLS 1.3 without keys: the inference still needs the records after the
 * client's flight (tls_infer_settled). */
static bool infer13_pending(const struct tls_session *s)
{
    return s->c->tls13 && !s->c->keys_used &&
           !(s->c->finished[DIR_CLIENT] && s->c->finished[DIR_SERVER]) && !tls_infer_settled(s);
}

bool tls_handshake_over(const struct tls_session *s)
{
    if (tls_done(s) || s->hs_failed)
        return true;
    return (tls_hs12_complete(s) && !dec12_pending(s)) ||
           (tls13_done(s) && !dec13_pending(s) && !infer13_pending(s));
}

static enum conn_outcome tls13_outcome(const struct tls_session *s, bool rst)
{
    if (s->d[DIR_SERVER].enc13_records == 0)
        return rst ? OUTCOME_FAILED : OUTCOME_INCOMPLETE;
    if (rst && !tls13_done(s))
        return OUTCOME_FAILED;   /* reset right after the server's flight */
    if (s->c->keys_used)
        return tls13_done(s) ? OUTCOME_COMPLETE : OUTCOME_INCOMPLETE;
    return OUTCOME_ENCRYPTED;   /* nothing in the record pattern to go by */
}

void tls_finish(struct tls_session *s)
{
    struct conn *c;
    bool rst;

    if (s == NULL)
        return;
    c = s->c;
    /* A stream shorter than the peek window still gets parsed. */
    if (s->client_side < 0 && s->run != RUN_NOT_TLS && (s->peek_len[0] || s->peek_len[1]))
        tls_decide_role(s);
    tls_scan_end(s);
    if (s->run == RUN_NOT_TLS) {
        c->is_tls = false;
        c->outcome = OUTCOME_NOT_TLS;
        return;
    }
    if (!c->is_tls) {
        c->outcome = OUTCOME_INCOMPLETE;   /* nothing (or too little) to judge */
        return;
    }
    rst = c->tcp.rst[0] || c->tcp.rst[1] || s->d[0].rst || s->d[1].rst;
    if (c->tls13 && !c->keys_used)
        tls_infer_server_key(s);
    if (s->hs_failed)
        c->outcome = OUTCOME_FAILED;
    else if (!c->tls13)
        c->outcome = tls_hs12_complete(s) ? OUTCOME_COMPLETE
                     : rst                ? OUTCOME_FAILED
                                          : OUTCOME_INCOMPLETE;
    else if (c->keys_used || !tls_infer_outcome(s))
        c->outcome = tls13_outcome(s, rst);
}
