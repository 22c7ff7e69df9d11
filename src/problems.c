/* problems.c - findings grouped by root cause, with one fix (problems.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/conn_key.h"
#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/problems.h"
#include "tlsinspect/report.h"
#include "tlsinspect/role.h"
#include "tlsinspect/hash.h"

#define PROBLEMS_SERVERS_SHOWN 4        /* servers on a text line before "+N more" */

/* Root causes in the order they explain a connection: the failed check
 * first, the alert it caused after it, the capture's own defects, and the
 * certificate selection last (alone it is no fault). */
static const int cause_order[] = {
    FINDING_CHAIN_SELF_SIGNED, FINDING_CHAIN_UNKNOWN_ISSUER, FINDING_CERT_EXPIRED,
    FINDING_CERT_NOT_YET_VALID, FINDING_CHAIN_BAD_SIGNATURE, FINDING_NAME_MISMATCH,
    FINDING_CLIENT_CERT_REJECTED, FINDING_CLIENT_CHAIN_UNTRUSTED, FINDING_UNKNOWN_CA_ALERT,
    FINDING_FATAL_ALERT, FINDING_SNAPLEN_TRUNCATED, FINDING_HANDSHAKE_INCOMPLETE,
    FINDING_CAPTURE_GAP, FINDING_MALFORMED_TLS, FINDING_LIMIT_REACHED, FINDING_ECDSA_SELECTED,
    FINDING_TLS13_CERT_HIDDEN,
};

static const struct conn_finding *root_finding(const struct conn *c)
{
    for (size_t k = 0; k < sizeof(cause_order) / sizeof(cause_order[0]); k++)
        for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
            if (c->findings[i].id == cause_order[k] && c->findings[i].severity >= SEV_WARNING)
                return &c->findings[i];
    return NULL;
}

static bool is_client_cause(const struct conn *c, int id)
{
    if (id == FINDING_CLIENT_CERT_REJECTED || id == FINDING_CLIENT_CHAIN_UNTRUSTED)
        return true;
    if (id == FINDING_UNKNOWN_CA_ALERT)
        for (size_t i = 0; i < c->n_alerts && i < CONN_MAX_ALERTS; i++)
            if (!c->alerts[i].encrypted && c->alerts[i].description == 48)
                return c->alerts[i].from == DIR_SERVER;
    return false;
}

static bool is_chain_cause(int id)
{
    return id == FINDING_CHAIN_SELF_SIGNED || id == FINDING_CHAIN_UNKNOWN_ISSUER ||
           id == FINDING_CERT_EXPIRED || id == FINDING_CERT_NOT_YET_VALID ||
           id == FINDING_CHAIN_BAD_SIGNATURE;
}

/* The client preferred ECDSA and got it: X14.2's cipher order at work. */
static bool ecdsa_by_preference(const struct conn *c)
{
    const struct conn_client_hello *ch = c->n_ch ? &c->ch[c->n_ch - 1] : NULL;

    if (ch == NULL || ch->preferred_auth != AUTH_ECDSA)
        return false;
    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
        if (c->findings[i].id == FINDING_ECDSA_SELECTED)
            return true;
    return false;
}

/* ---- grouping ---------------------------------------------------------------------- */

/* One group being accumulated: the grouping key (root cause, role, whose
 * certificate, that certificate, the fix), the tallies, the servers, and
 * the facts of its first connection (report order) that the summary and
 * the field notes are written from. */
struct pgroup {
    uint64_t hash;
    int cause;
    enum finding_severity severity;     /* the worst of its connections' */
    int role;
    const struct x509_cert *leaf;       /* pool pointer, outlives the connections */
    bool client_leaf;
    const char *remedy;                 /* static text, never NULL */
    uint64_t connections, failed;
    bool ecdsa_preferred;
    struct conn_key first;
    /* the first connection's facts */
    char *message;                      /* its root finding's message (owned copy) */
    char *expected_name;                /* owned copy */
    enum x509_name_source name_source;
    uint16_t n_server_certs;
    bool name_alert;                    /* verified, name checked and not ok */
    /* distinct servers, sorted in [0, nsorted); appended unsorted after */
    struct conn_endpoint *servers;
    size_t nservers, nsorted, cap;
};

#define REMEDY_MEMO 16

struct problems_acc {
    struct pgroup *g;
    size_t n, cap;
    uint32_t *slot;                     /* open addressing: group index + 1, 0 empty */
    size_t nslot;                       /* a power of two, > 2 n */
    /* remedies are static texts (conn.h): their hashes by address, so a
     * connection does not hash its remedy's few hundred bytes again */
    struct {
        const char *remedy;
        uint64_t hash;
    } rmemo[REMEDY_MEMO];
};

static uint64_t remedy_hash(struct problems_acc *acc, const char *remedy)
{
    size_t k = ((uintptr_t)remedy >> 3) % REMEDY_MEMO;

    if (acc->rmemo[k].remedy != remedy) {
        acc->rmemo[k].remedy = remedy;
        acc->rmemo[k].hash = ti_hash_bytes(remedy, strlen(remedy));
    }
    return acc->rmemo[k].hash;
}

static uint64_t group_hash(int cause, int role, bool client_leaf, const struct x509_cert *leaf,
                           uint64_t remedy)
{
    uint64_t h = TI_HASH_SEED;
    uint8_t cl = client_leaf;

    h = ti_hash_add(h, &cause, sizeof(cause));
    h = ti_hash_add(h, &role, sizeof(role));
    h = ti_hash_add(h, &cl, 1);
    if (leaf != NULL)
        h = ti_hash_add(h, leaf->sha256, 32);
    return ti_hash_add(h, &remedy, sizeof(remedy));
}

static bool group_is(const struct pgroup *g, uint64_t h, int cause, int role, bool client_leaf,
                     const struct x509_cert *leaf, const char *remedy)
{
    return g->hash == h && g->cause == cause && g->role == role && g->client_leaf == client_leaf &&
           (g->leaf == NULL) == (leaf == NULL) &&
           (leaf == NULL || memcmp(g->leaf->sha256, leaf->sha256, 32) == 0) &&
           /* remedies are static texts: equal text, equal fix */
           (g->remedy == remedy || strcmp(g->remedy, remedy) == 0);
}

static int ep_cmp(const void *pa, const void *pb)
{
    const struct conn_endpoint *a = pa, *b = pb;
    int r;

    if (a->ipver != b->ipver)
        return a->ipver < b->ipver ? -1 : 1;
    if ((r = memcmp(a->ip, b->ip, sizeof(a->ip))) != 0)
        return r;
    return a->port < b->port ? -1 : a->port > b->port;
}

static int problem_cmp(const void *pa, const void *pb)
{
    const struct problem *a = pa, *b = pb;

    if (a->severity != b->severity)
        return a->severity > b->severity ? -1 : 1;
    if (a->failed != b->failed)
        return a->failed > b->failed ? -1 : 1;
    if (a->connections != b->connections)
        return a->connections > b->connections ? -1 : 1;
    return conn_key_cmp(&a->first, &b->first);
}

const char *problems_server_str(const struct conn_endpoint *e, char *buf, size_t len)
{
    char ip[64];

    conn_ip_str(e, ip, sizeof(ip));
    snprintf(buf, len, e->ipver == 6 ? "[%s]:%u" : "%s:%u", ip, e->port);
    return buf;
}

/* ---- words ----------------------------------------------------------------------------- */

static void add_ref(struct problem *p, const char *ref)
{
    if (p->nrefs < PROBLEM_MAX_REFS)
        p->references[p->nrefs++] = ref;
}

/* Workarounds and bug ids from the Cisco documents, on the cucm path only:
 * the traffic server's origin verification (X14.2+), its cipher order, and
 * CUCM's trust of the Expressway-C certificate. */
static void field_notes(struct problem *p, bool name_alert_seen)
{
    static const char verify_off[] =
        "Short term, on every Expressway-C node's CLI: xConfiguration EdgeConfigServer "
        "VerifyOriginServer: Off (turns off the origin certificate verification of X14.2+; "
        "turn it back on once the certificates are fixed).";
    static const char rsa_first[] =
        "Prefix the Expressway-C cipher string with \"ECDHE-RSA-AES256-GCM-SHA384:\" "
        "(Maintenance > Security > Ciphers, or xConfiguration Ciphers) so that CUCM presents its "
        "CA-signed RSA tomcat certificate again; or, short term, xConfiguration EdgeConfigServer "
        "VerifyOriginServer: Off.";
    bool name_alert = p->cause == FINDING_FATAL_ALERT && name_alert_seen;

    if (p->role != ROLE_CUCM)
        return;
    if (p->client_leaf) {
        /* CUCM asks for the Expressway-C certificate on 6972/6971 even in
         * non-secure mode (X14.0.2+) */
        add_ref(p, "CSCvz45074");
        return;
    }
    if (is_chain_cause(p->cause) || p->cause == FINDING_NAME_MISMATCH || name_alert ||
        p->cause == FINDING_UNKNOWN_CA_ALERT) {
        p->workaround = p->ecdsa_preferred && p->cause != FINDING_NAME_MISMATCH ? rsa_first
                                                                                : verify_off;
        add_ref(p, "CSCwc69661");
        add_ref(p, "CSCwa25108");
        /* two certificates with one CN cannot both be in the Expressway
         * trust store: tomcat-ECDSA and CallManager-ECDSA self-signed */
        if (p->cause == FINDING_CHAIN_SELF_SIGNED)
            add_ref(p, "CSCwa12905");
    } else if (p->cause == FINDING_ECDSA_SELECTED) {
        p->workaround = rsa_first;
    }
}

static void leaf_words(const struct x509_cert *l, char *buf, size_t len)
{
    char *cn;

    if (l == NULL) {
        snprintf(buf, len, "no certificate seen");
        return;
    }
    if (!l->parsed) {
        snprintf(buf, len, "an undecodable certificate (sha256 %.16s...)", l->sha256_hex);
        return;
    }
    cn = report_escape(l->cn ? l->cn : "(no CN)", true);
    snprintf(buf, len, "CN=%s (%s, %s)", cn ? cn : "?", l->key,
             l->self_signed ? "self-signed" : "CA-signed");
    free(cn);
}

/* What happened, from the first connection's facts. */
static char *summary_of(const struct problem *p, const struct pgroup *g)
{
    char leaf[400], what[1600], *out = NULL, *name = NULL;
    const char *role_sent = "";

    leaf_words(p->leaf, leaf, sizeof(leaf));
    switch (p->cause) {
    case FINDING_CHAIN_SELF_SIGNED:
        snprintf(what, sizeof(what), "the server presents a self-signed certificate, %s, that the "
                 "trust store does not hold", leaf);
        break;
    case FINDING_CHAIN_UNKNOWN_ISSUER:
        snprintf(what, sizeof(what), "the server's chain (leaf %s, %u certificate%s sent) does not "
                 "reach a trusted CA: an intermediate is missing or the CA is not trusted", leaf,
                 g->n_server_certs, g->n_server_certs == 1 ? "" : "s");
        break;
    case FINDING_CERT_EXPIRED:
        snprintf(what, sizeof(what), "a certificate of the server's chain (leaf %s) has expired",
                 leaf);
        break;
    case FINDING_CERT_NOT_YET_VALID:
        snprintf(what, sizeof(what), "a certificate of the server's chain (leaf %s) is not yet "
                 "valid", leaf);
        break;
    case FINDING_CHAIN_BAD_SIGNATURE:
        snprintf(what, sizeof(what), "a signature in the server's chain (leaf %s) does not verify",
                 leaf);
        break;
    case FINDING_NAME_MISMATCH:
        name = report_escape(g->expected_name, true);
        snprintf(what, sizeof(what), "the expected name %s (from %s) is not in the server's "
                 "certificate %s", name ? name : "?", x509_name_source_name(g->name_source),
                 leaf);
        break;
    case FINDING_CLIENT_CERT_REJECTED:
        snprintf(what, sizeof(what), "the server asks for a client certificate and rejects the one "
                 "sent, %s", leaf);
        break;
    case FINDING_CLIENT_CHAIN_UNTRUSTED:
        snprintf(what, sizeof(what), "the client certificate %s does not verify against the "
                 "server's trust store given (--client-cafile)", leaf);
        break;
    default:
        name = report_escape(g->message, true);
        snprintf(what, sizeof(what), "%s", name ? name : "?");
        break;
    }
    free(name);
    /* a finding's message ends with its own full stop */
    for (size_t n = strlen(what); n > 0 && what[n - 1] == '.'; n--)
        what[n - 1] = '\0';
    /* not where the client's own certificate was refused: the server's
     * choice of certificate had no part in that */
    if (p->ecdsa_preferred && p->cause != FINDING_ECDSA_SELECTED && !p->client_leaf)
        role_sent = p->role == ROLE_CUCM
                        ? " The server chose its ECDSA certificate (CUCM: tomcat-ECDSA) because the "
                          "client prefers ECDSA (the X14.2+ cipher order); its RSA certificate may "
                          "be trusted."
                        : " The server chose its ECDSA certificate because the client prefers ECDSA.";
    if (asprintf(&out, "%" PRIu64 " connection%s (%" PRIu64 " failed): %s.%s", p->connections,
                 p->connections == 1 ? "" : "s", p->failed, what, role_sent) < 0)
        return NULL;
    return out;
}

/* ---- build ------------------------------------------------------------------------------ */

void problems_free(struct problems *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].servers);
        free(p->v[i].summary);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

struct problems_acc *problems_acc_new(void)
{
    return calloc(1, sizeof(struct problems_acc));
}

void problems_acc_free(struct problems_acc *acc)
{
    if (acc == NULL)
        return;
    for (size_t i = 0; i < acc->n; i++) {
        free(acc->g[i].message);
        free(acc->g[i].expected_name);
        free(acc->g[i].servers);
    }
    free(acc->g);
    free(acc->slot);
    free(acc);
}

static int acc_rehash(struct problems_acc *acc)
{
    size_t ns = acc->nslot ? acc->nslot * 2 : 16;
    uint32_t *slot = calloc(ns, sizeof(*slot));

    if (slot == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < acc->n; i++) {
        size_t k = acc->g[i].hash & (ns - 1);
        while (slot[k] != 0)
            k = (k + 1) & (ns - 1);
        slot[k] = (uint32_t)(i + 1);
    }
    free(acc->slot);
    acc->slot = slot;
    acc->nslot = ns;
    return TI_OK;
}

/* Sort and deduplicate g->servers. */
static void servers_compact(struct pgroup *g)
{
    size_t n = 0;

    if (g->nsorted == g->nservers)
        return;
    qsort(g->servers, g->nservers, sizeof(*g->servers), ep_cmp);
    for (size_t k = 0; k < g->nservers; k++)
        if (n == 0 || ep_cmp(&g->servers[n - 1], &g->servers[k]) != 0)
            g->servers[n++] = g->servers[k];
    g->nservers = g->nsorted = n;
}

/* Add a server to the group's set: appended, compacted when full, so the
 * set costs its distinct servers (twice at most), not one per connection. */
static int servers_add(struct pgroup *g, const struct conn_endpoint *e)
{
    if (g->nsorted > 0 && bsearch(e, g->servers, g->nsorted, sizeof(*e), ep_cmp) != NULL)
        return TI_OK;
    if (g->nservers == g->cap) {
        servers_compact(g);
        if (g->nservers * 2 >= g->cap) {
            size_t nc = g->cap ? g->cap * 2 : 4;
            struct conn_endpoint *v = realloc(g->servers, nc * sizeof(*v));
            if (v == NULL)
                return TI_ENOMEM;
            g->servers = v;
            g->cap = nc;
        }
    }
    g->servers[g->nservers++] = *e;
    return TI_OK;
}

/* The first connection's facts, kept for the summary and the notes. */
static int group_first(struct pgroup *g, const struct conn *c, const struct conn_finding *f)
{
    char *m = strdup(f->message ? f->message : "");
    char *n = strdup(c->verify.expected_name ? c->verify.expected_name : "");

    if (m == NULL || n == NULL) {
        free(m);
        free(n);
        return TI_ENOMEM;
    }
    free(g->message);
    free(g->expected_name);
    g->message = m;
    g->expected_name = n;
    conn_key_of(c, &g->first);
    g->name_source = c->verify.name_source;
    g->n_server_certs = c->n_server_certs;
    g->name_alert = c->verify.done && c->verify.verdict.name_checked && !c->verify.verdict.name_ok;
    return TI_OK;
}

static struct pgroup *acc_group(struct problems_acc *acc, const struct conn *c,
                                const struct conn_finding *f, const struct x509_cert *leaf,
                                bool client_leaf)
{
    const char *remedy = f->remedy ? f->remedy : "";
    uint64_t h = group_hash(f->id, c->role, client_leaf, leaf, remedy_hash(acc, remedy));
    size_t k;
    struct pgroup *g;

    if (acc->nslot > 0)
        for (k = h & (acc->nslot - 1); acc->slot[k] != 0; k = (k + 1) & (acc->nslot - 1))
            if (group_is(&acc->g[acc->slot[k] - 1], h, f->id, c->role, client_leaf, leaf, remedy))
                return &acc->g[acc->slot[k] - 1];
    if (acc->n == acc->cap) {
        size_t nc = acc->cap ? acc->cap * 2 : 8;
        struct pgroup *v = nc < UINT32_MAX ? realloc(acc->g, nc * sizeof(*v)) : NULL;
        if (v == NULL)
            return NULL;
        acc->g = v;
        acc->cap = nc;
    }
    if ((acc->n + 1) * 2 >= acc->nslot && acc_rehash(acc) != TI_OK)
        return NULL;
    g = &acc->g[acc->n];
    memset(g, 0, sizeof(*g));
    if (group_first(g, c, f) != TI_OK)
        return NULL;
    g->hash = h;
    g->cause = f->id;
    g->severity = f->severity;
    g->role = c->role;
    g->leaf = leaf;
    g->client_leaf = client_leaf;
    g->remedy = remedy;
    for (k = h & (acc->nslot - 1); acc->slot[k] != 0; k = (k + 1) & (acc->nslot - 1))
        ;
    acc->slot[k] = (uint32_t)(++acc->n);
    return g;
}

int problems_acc_add(struct problems_acc *acc, const struct analysis *a, const struct conn *c)
{
    const struct conn_finding *f;
    const struct x509_cert *leaf;
    struct pgroup *g;
    bool client_leaf, fresh;
    size_t n0 = acc->n;

    (void)a;
    if (!c->is_tls || c->outcome == OUTCOME_NOT_TLS || (f = root_finding(c)) == NULL)
        return TI_OK;
    client_leaf = is_client_cause(c, f->id);
    leaf = client_leaf ? (c->n_client_certs ? c->client_certs[0] : NULL)
                       : (c->n_server_certs ? c->server_certs[0] : NULL);
    if ((g = acc_group(acc, c, f, leaf, client_leaf)) == NULL)
        return TI_ENOMEM;
    fresh = acc->n != n0;
    if (!fresh && conn_key_cmp_conn(&g->first, c) > 0 && group_first(g, c, f) != TI_OK)
        return TI_ENOMEM;
    g->connections++;
    g->failed += c->outcome == OUTCOME_FAILED;
    g->ecdsa_preferred |= ecdsa_by_preference(c);
    if (f->severity > g->severity)
        g->severity = f->severity;
    return servers_add(g, &c->server);
}

int problems_acc_build(struct problems_acc *acc, const struct analysis *a, struct problems *p)
{
    (void)a;
    p->n = 0;
    p->v = calloc(acc->n + 1, sizeof(*p->v));
    if (p->v == NULL)
        return TI_ENOMEM;
    for (size_t i = 0; i < acc->n; i++) {
        struct pgroup *g = &acc->g[i];
        struct problem *pr = &p->v[p->n];

        servers_compact(g);
        pr->servers = malloc((g->nservers + 1) * sizeof(*pr->servers));
        if (pr->servers == NULL)
            goto oom;
        p->n++;
        memcpy(pr->servers, g->servers, g->nservers * sizeof(*pr->servers));
        pr->nservers = g->nservers;
        pr->cause = g->cause;
        pr->severity = g->severity;
        pr->role = g->role;
        pr->leaf = g->leaf;
        pr->client_leaf = g->client_leaf;
        pr->first = g->first;
        pr->fix = g->remedy;
        pr->connections = g->connections;
        pr->failed = g->failed;
        pr->ecdsa_preferred = g->ecdsa_preferred;
        field_notes(pr, g->name_alert);
        pr->summary = summary_of(pr, g);
        if (pr->summary == NULL)
            goto oom;
    }
    if (p->n > 1)
        qsort(p->v, p->n, sizeof(*p->v), problem_cmp);
    return TI_OK;
oom:
    problems_free(p);
    return TI_ENOMEM;
}

int problems_build(const struct analysis *a, struct problems *p)
{
    struct problems_acc *acc = problems_acc_new();
    int rc = acc != NULL ? TI_OK : TI_ENOMEM;

    p->v = NULL;
    p->n = 0;
    for (size_t i = 0; i < a->nconns && rc == TI_OK; i++)
        rc = problems_acc_add(acc, a, a->conns[i]);
    if (rc == TI_OK)
        rc = problems_acc_build(acc, a, p);
    problems_acc_free(acc);
    return rc;
}

/* ---- text ------------------------------------------------------------------------------- */

static void put_escaped(FILE *out, const char *s)
{
    char *x = report_escape(s, true);
    fputs(x ? x : "?", out);
    free(x);
}

static void ssh_lines(FILE *out, const struct analysis *a)
{
    char cb[64], sb[64];

    for (size_t i = 0; i < a->nssh; i++) {
        const struct analyze_ssh *s = &a->ssh[i];
        fprintf(out, "  SSH on %s from %s: %" PRIu64 " connection%s, the traversal zone's SSH "
                "tunnel (not TLS, not inspected). If the Expressway says \"No SSH tunnels have been "
                "established\" while the zone is up, an intermediate CA (often changed by a "
                "certificate renewal) is missing from a trust list: upload every intermediate to "
                "both Expressways.\n",
                problems_server_str(&s->server, sb, sizeof(sb)), conn_ip_str(&s->client, cb, sizeof(cb)),
                s->conns, s->conns == 1 ? "" : "s");
    }
}

int problems_text_built(FILE *out, const struct analysis *a, const struct problems *p, bool color)
{
    char sb[64];

    fputc('\n', out);
    if (p->n == 0)
        fputs("Problems: none (no connection has a finding at warning or error level)\n", out);
    else
        fprintf(out, "Problems: %zu (one per root cause, worst first)\n", p->n);
    for (size_t i = 0; i < p->n; i++) {
        const struct problem *pr = &p->v[i];
        if (color)
            fputs(pr->severity == SEV_ERROR ? "\033[31m" : "\033[33m", out);
        fprintf(out, "  %zu. %s", i + 1, finding_name(pr->cause));
        if (color)
            fputs("\033[0m", out);
        fputs("  ", out);
        for (size_t k = 0; k < pr->nservers && k < PROBLEMS_SERVERS_SHOWN; k++)
            fprintf(out, "%s%s", k ? ", " : "", problems_server_str(&pr->servers[k], sb, sizeof(sb)));
        if (pr->nservers > PROBLEMS_SERVERS_SHOWN)
            fprintf(out, " +%zu more", pr->nservers - PROBLEMS_SERVERS_SHOWN);
        fprintf(out, "  (%s: %s)\n", role_name(pr->role), role_desc(pr->role));
        fputs("     ", out);
        put_escaped(out, pr->summary);
        fputc('\n', out);
        if (pr->fix[0]) {
            fputs("     fix: ", out);
            put_escaped(out, pr->fix);
            fputc('\n', out);
        }
        if (pr->workaround != NULL) {
            fputs("     workaround: ", out);
            put_escaped(out, pr->workaround);
            fputc('\n', out);
        }
        if (pr->nrefs > 0) {
            fputs("     references:", out);
            for (size_t k = 0; k < pr->nrefs; k++)
                fprintf(out, "%s %s", k ? "," : "", pr->references[k]);
            fputc('\n', out);
        }
    }
    ssh_lines(out, a);
    return ferror(out) ? TI_EIO : TI_OK;
}

int problems_text(FILE *out, const struct analysis *a, bool color)
{
    struct problems p;
    int rc;

    if (problems_build(a, &p) != TI_OK)
        return TI_ENOMEM;
    rc = problems_text_built(out, a, &p, color);
    problems_free(&p);
    return rc;
}
