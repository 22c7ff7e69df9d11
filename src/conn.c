/* conn.c - life cycle and small helpers of struct conn. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/err.h"

static const char *const outcome_names[] = {
    [OUTCOME_INCOMPLETE] = "incomplete",
    [OUTCOME_COMPLETE] = "complete",
    [OUTCOME_FAILED] = "failed",
    [OUTCOME_ENCRYPTED] = "encrypted",
    [OUTCOME_NOT_TLS] = "not_tls",
};

const char *conn_outcome_name(enum conn_outcome o)
{
    if ((unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]))
        return outcome_names[o];
    return "unknown";
}

static const char *const auth_names[] = {
    [AUTH_NONE] = NULL, [AUTH_RSA] = "RSA", [AUTH_ECDSA] = "ECDSA",
    [AUTH_DSA] = "DSA", [AUTH_PSK] = "PSK", [AUTH_ANON] = "anon",
    [AUTH_ANY] = "any", [AUTH_OTHER] = "other",
};

const char *conn_auth_name(enum conn_auth a)
{
    if ((unsigned)a < sizeof(auth_names) / sizeof(auth_names[0]))
        return auth_names[a];
    return NULL;
}

void conn_init(struct conn *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < CONN_MAX_ALERTS; i++)
        c->alerts[i].after_msg = -1;
}

/* Free what c owns; c itself is left as it is. */
static void conn_release(struct conn *c)
{
    for (size_t i = 0; i < CONN_MAX_HELLOS; i++) {
        struct conn_client_hello *h = &c->ch[i];
        free(h->suites);
        free(h->sni);
        for (size_t j = 0; j < h->n_alpn && j < CONN_MAX_ALPN; j++)
            free(h->alpn[j]);
    }
    for (size_t i = 0; i < 2; i++)
        free(c->malformed_why[i]);
    free(c->tls13_note);
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++) {
        free(c->findings[i].message);
    }
}

void conn_free(struct conn *c)
{
    if (c == NULL)
        return;
    conn_release(c);
    conn_init(c);
}

void conn_delete(struct conn *c)
{
    if (c == NULL)
        return;
    conn_release(c);
    free(c);
}

void conn_add_event(struct conn *c, int64_t ts, enum conn_event_kind kind,
                    enum conn_dir from, uint8_t type, uint8_t level)
{
    if (c->n_events >= CONN_MAX_EVENTS) {
        c->events_truncated = true;
        return;
    }
    struct conn_event *e = &c->events[c->n_events++];
    e->ts = ts;
    e->kind = (uint8_t)kind;
    e->from = (uint8_t)from;
    e->type = type;
    e->level = level;
}

int conn_add_finding(struct conn *c, int id, enum finding_severity sev,
                     const char *message, const char *remedy)
{
    if (c->n_findings >= CONN_MAX_FINDINGS)
        return TI_ELIMIT;
    struct conn_finding *f = &c->findings[c->n_findings];
    f->message = strdup(message ? message : "");
    f->remedy = remedy ? remedy : "";
    if (f->message == NULL) {
        f->remedy = NULL;
        return TI_ENOMEM;
    }
    f->id = id;
    f->severity = sev;
    c->n_findings++;
    return TI_OK;
}

/* One byte of a dotted quad in decimal, no leading zeros. */
static char *conn_dec_u8(char *o, unsigned v)
{
    if (v >= 100) {
        *o++ = (char)('0' + v / 100);
        v %= 100;
        *o++ = (char)('0' + v / 10);
    } else if (v >= 10) {
        *o++ = (char)('0' + v / 10);
    }
    *o++ = (char)('0' + v % 10);
    return o;
}

const char *conn_ip_str(const struct conn_endpoint *e, char *buf, size_t len)
{
    int af = e->ipver == 6 ? AF_INET6 : AF_INET;

    /* IPv4 written here: glibc's inet_ntop() formats it through sprintf(),
     * some 1,300 instructions, twice per connection in a JSON report.
     * test_report compares the two over every byte value. */
    if (af == AF_INET && len >= sizeof("255.255.255.255")) {
        char *o = buf;
        for (int i = 0; i < 4; i++) {
            if (i > 0)
                *o++ = '.';
            o = conn_dec_u8(o, e->ip[i]);
        }
        *o = '\0';
        return buf;
    }
    if (inet_ntop(af, e->ip, buf, (socklen_t)len) == NULL) {
        if (len > 0)
            buf[0] = '\0';
    }
    return buf;
}
