/* findings.c - connection facts -> findings with remedies in Expressway/CUCM terms.
 *
 * Every finding id is decided here and only here (grep FINDING_<ID>).  Messages
 * quote the Expressway-C traffic server's log wording where it has one
 * ("Core server certificate verification failed for (X). Action=Terminate
 * Error=self signed certificate server=X(IP) depth=0", "SNI (X) not in
 * certificate") so users can match them against their logs.  The wording of
 * the error names follows the traffic server (OpenSSL 1.1: "self signed
 * certificate"), not OpenSSL 3's ("self-signed certificate"), which is
 * reported separately in verification.chain.openssl_error.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/findings.h"
#include "tlsinspect/flow.h"
#include "tlsinspect/hash.h"
#include "tlsinspect/infer_chain.h"
#include "tlsinspect/role.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls_names.h"

struct finding_def {
    const char *name;
    enum finding_severity severity;
};

static const struct finding_def finding_defs[FINDING_COUNT] = {
#define FINDING_DEF_(id, sev) [FINDING_##id] = {#id, sev},
    FINDING_MAP(FINDING_DEF_)
#undef FINDING_DEF_
};

const char *finding_name(int id)
{
    if (id < 0 || id >= FINDING_COUNT)
        return "UNKNOWN";
    return finding_defs[id].name;
}

enum finding_severity finding_severity(int id)
{
    if (id < 0 || id >= FINDING_COUNT)
        return SEV_INFO;
    return finding_defs[id].severity;
}

int finding_from_name(const char *name)
{
    for (int i = 0; i < FINDING_COUNT; i++)
        if (strcmp(finding_defs[i].name, name) == 0)
            return i;
    return -1;
}

const char *finding_severity_name(enum finding_severity s)
{
    switch (s) {
    case SEV_ERROR: return "error";
    case SEV_WARNING: return "warning";
    default: return "info";
    }
}

/* ---- remedies by role ------------------------------------------------------ */

/* The same failed check is fixed in a different place on each Expressway
 * path (role.h).  A row gives the remedy per role; an empty cell takes the
 * generic column, whose text names no product, as a port nobody described
 * may carry anything.  Sources: the Cisco documents on traffic server
 * certificate verification (X14.2+), MRA certificate requirements
 * (CSCvz45074) and Expressway certificate troubleshooting (traversal zone
 * "TLS Negotiation Error", SSH tunnels after a renewal, Jabber warnings). */
enum remedy_kind {
    R_SELF_SIGNED, R_UNKNOWN_ISSUER, R_EXPIRED, R_NAME, R_CLIENT_REJECTED,
    R_CLIENT_UNTRUSTED, R_UNKNOWN_CA_BY_CLIENT, R_UNKNOWN_CA_BY_SERVER, R_TRUST_DIFFERS,
    R_ECDSA, R_COUNT
};

static const char *const remedies[R_COUNT][ROLE_COUNT] = {
    [R_SELF_SIGNED] = {
        [ROLE_GENERIC] = "Add this self-signed certificate to the client's trust store, or have the "
                         "server use a certificate signed by a CA the client trusts.",
        [ROLE_CUCM] = "Upload this self-signed certificate to the Expressway-C trust store (Maintenance > "
                      "Security > Trusted CA certificate) on every cluster node, or have it CA-signed "
                      "(CUCM: tomcat/tomcat-ECDSA CSR signed by a CA the Expressway-C trusts). CUCM 14+ "
                      "can reuse one certificate for tomcat and CallManager.",
        [ROLE_TRAVERSAL] = "Have the Expressway-E certificate signed by a CA and upload that CA chain "
                           "(root and intermediates) to the Expressway-C trusted CA list (Maintenance > "
                           "Security > Trusted CA certificate); or upload this self-signed certificate "
                           "there.",
        [ROLE_SIP] = "Upload this self-signed certificate to the SIP client's trusted CA list "
                     "(Expressway: Maintenance > Security > Trusted CA certificate; CUCM: "
                     "CallManager-trust), or have the server's certificate CA-signed.",
        [ROLE_EDGE_CLIENTS] = "Clients (Jabber, devices) do not trust a self-signed Expressway-E "
                              "certificate: have it signed by a public CA or one the devices trust, "
                              "with the collab-edge domain in its SAN.",
    },
    [R_UNKNOWN_ISSUER] = {
        [ROLE_GENERIC] = "Add the root CA and every intermediate that signed the server's certificate to "
                         "the client's trust store, and make the server send its intermediates.",
        [ROLE_CUCM] = "Upload the root CA and every intermediate that signed the server's certificate to "
                      "the Expressway-C trust store (Maintenance > Security > Trusted CA certificate), and "
                      "make the server send its intermediates.",
        [ROLE_TRAVERSAL] = "Upload every CA of the Expressway-E's chain, root and intermediates, to the "
                           "Expressway-C trusted CA list, and every CA of the Expressway-C's chain to the "
                           "Expressway-E's (Maintenance > Security > Trusted CA certificate). After a "
                           "renewal the CA may have changed an intermediate: the zone can come up on the "
                           "root alone while the SSH tunnels (port 2222) stay down.",
        [ROLE_SIP] = "Upload the root CA and every intermediate that signed the server's certificate to "
                     "the SIP client's trusted CA list (Expressway: Maintenance > Security > Trusted CA "
                     "certificate; CUCM: CallManager-trust), and make the server send its intermediates.",
        [ROLE_EDGE_CLIENTS] = "Clients cannot build the chain: install the Expressway-E certificate with "
                              "its intermediates and have it signed by a CA the devices trust.",
    },
    [R_EXPIRED] = {
        [ROLE_GENERIC] = "Renew the server's certificate and check the clocks (NTP) on both sides.",
        [ROLE_CUCM] = "Renew the certificate (CUCM: OS Administration > Security > Certificate "
                      "Management) and check NTP.",
        [ROLE_TRAVERSAL] = "Renew the Expressway-E server certificate (Maintenance > Security > Server "
                           "certificate) and check NTP on both Expressways.",
        [ROLE_EDGE_CLIENTS] = "Renew the Expressway-E server certificate (Maintenance > Security > Server "
                              "certificate) and check NTP.",
    },
    [R_NAME] = {
        [ROLE_GENERIC] = "Add the name or address the client connects to to the certificate's SAN, or "
                         "connect by a name that is in it.",
        [ROLE_CUCM] = "Add the FQDN or IP the Expressway-C connects to (the connect address) to the "
                      "certificate's SAN, or announce the server by an FQDN that is in the certificate "
                      "(CUCM: System > Server) and refresh the servers on the Expressway-C.",
        [ROLE_TRAVERSAL] = "Set the Expressway-C traversal zone's peer address to an FQDN that is in the "
                           "Expressway-E certificate's SAN (configure peers by FQDN, not IP), or add the "
                           "address to that SAN.",
        [ROLE_SIP] = "Add the name the SIP client connects to (its trunk or zone destination) to the "
                     "server certificate's SAN, or point the client at a name that is in it.",
        [ROLE_EDGE_CLIENTS] = "Add the collab-edge domain to the Expressway-E certificate's SAN: the "
                              "domain itself (example.com) or collab-edge.example.com; Jabber warns "
                              "about the certificate otherwise (--name ADDR=NAME sets the name checked).",
    },
    [R_CLIENT_REJECTED] = {
        [ROLE_GENERIC] = "The server rejected the client's certificate: add the client certificate's CA "
                         "chain (root and intermediates) to the server's trust store.",
        [ROLE_CUCM] = "Add the Expressway-C certificate's CA chain (root and intermediates) to CUCM "
                      "tomcat-trust and CallManager-trust (OS Administration > Security > Certificate "
                      "Management), then restart Cisco Tomcat.",
        [ROLE_TRAVERSAL] = "Upload every CA of the Expressway-C's chain, root and intermediates, to the "
                           "Expressway-E trusted CA list, and check that the Expressway-E zone's \"TLS "
                           "verify subject name\" is in the Expressway-C certificate (for a cluster, the "
                           "cluster FQDN, present on every node).",
        [ROLE_SIP] = "Add the client certificate's CA chain to the SIP server's trust store (CUCM: "
                     "CallManager-trust; Expressway: Maintenance > Security > Trusted CA certificate).",
        [ROLE_EDGE_CLIENTS] = "Add the client certificate's CA chain to the Expressway-E trusted CA list.",
    },
    [R_CLIENT_UNTRUSTED] = {
        [ROLE_GENERIC] = "Add the client certificate's CA chain to the server's trust store.",
        [ROLE_CUCM] = "Add the Expressway-C certificate's CA chain to CUCM tomcat-trust and "
                      "CallManager-trust.",
        [ROLE_TRAVERSAL] = "Upload every CA of the Expressway-C's chain, root and intermediates, to the "
                           "Expressway-E trusted CA list.",
        [ROLE_SIP] = "Add the client certificate's CA chain to the SIP server's trust store (CUCM: "
                     "CallManager-trust; Expressway: trusted CA list).",
        [ROLE_EDGE_CLIENTS] = "Add the client certificate's CA chain to the Expressway-E trusted CA list.",
    },
    [R_UNKNOWN_CA_BY_CLIENT] = {
        [ROLE_GENERIC] = "Add the CA that signed the server's certificate (for a self-signed certificate, "
                         "the certificate itself) to the client's trust store, or have the server present "
                         "a certificate signed by a CA the client trusts.",
        [ROLE_CUCM] = "Add the CA that signed the server's certificate (for a self-signed certificate, "
                      "the certificate itself) to the Expressway-C trust store: Maintenance > Security > "
                      "Trusted CA certificate, on every node of the cluster; or have the server present a "
                      "CA-signed certificate.",
        [ROLE_TRAVERSAL] = "Add every CA of the Expressway-E's chain, intermediates included, to the "
                           "Expressway-C trusted CA list (Maintenance > Security > Trusted CA "
                           "certificate).",
        [ROLE_SIP] = "Add the CA chain of the server's certificate to the SIP client's trusted CA list "
                     "(Expressway: Maintenance > Security > Trusted CA certificate; CUCM: "
                     "CallManager-trust).",
        [ROLE_EDGE_CLIENTS] = "The client does not trust the Expressway-E certificate: have it signed by a "
                              "CA the devices trust (a public CA), intermediates sent.",
    },
    [R_UNKNOWN_CA_BY_SERVER] = {
        [ROLE_GENERIC] = "Add the CA chain of the client's certificate to the server's trust store.",
        [ROLE_CUCM] = "CUCM asks for the Expressway-C certificate (on 6972 and 6971 even in non-secure "
                      "mode) and does not trust it: add the Expressway-C certificate's CA chain (root "
                      "and intermediates) to CUCM tomcat-trust and CallManager-trust, then restart the "
                      "services.",
        [ROLE_TRAVERSAL] = "The Expressway-E does not trust the Expressway-C certificate: upload every CA "
                           "of its chain, intermediates included, to the Expressway-E trusted CA list.",
        [ROLE_SIP] = "Add the CA chain of the client's certificate to the SIP server's trust store "
                     "(CUCM: CallManager-trust; Expressway: trusted CA list).",
        [ROLE_EDGE_CLIENTS] = "Add the CA chain of the client's certificate to the Expressway-E trusted "
                              "CA list.",
    },
    [R_TRUST_DIFFERS] = {
        [ROLE_GENERIC] = "The chain verifies against the trust store given, so the client's own trust "
                         "store differs from it: export the client's real trust store, run again with "
                         "it as --cafile, and add the missing CA there.",
        [ROLE_CUCM] = "The chain verifies against the trust store given, so the Expressway-C's own trust "
                      "store differs from it: export it (Maintenance > Security > Trusted CA certificate, "
                      "Show all (PEM file)) from every cluster node, run again with it as --cafile, and "
                      "add the missing CA there.",
        [ROLE_TRAVERSAL] = "The chain verifies against the trust store given, so the Expressway-C's own "
                           "trusted CA list differs from it: export it (Maintenance > Security > Trusted "
                           "CA certificate, Show all (PEM file)), run again with it as --cafile, and add "
                           "the missing CA (intermediates too).",
        [ROLE_SIP] = "The chain verifies against the trust store given, so the SIP client's own trust "
                     "store differs from it: export it (Expressway: Trusted CA certificate, Show all "
                     "(PEM file); CUCM: CallManager-trust), run again with it as --cafile, and add the "
                     "missing CA there.",
        [ROLE_EDGE_CLIENTS] = "The chain verifies against the trust store given, so the clients trust "
                              "other CAs: check which CAs the devices trust and have the Expressway-E "
                              "certificate signed by one of them.",
    },
    [R_ECDSA] = {
        [ROLE_GENERIC] = "The server chose its ECDSA certificate: make the client trust that "
                         "certificate's CA (or the self-signed certificate), or have the server present "
                         "its RSA certificate.",
        [ROLE_CUCM] = "Expressway X14.2+ prefers ECDSA: to get the RSA (tomcat) certificate, prefix the "
                      "cipher string with \"ECDHE-RSA-AES256-GCM-SHA384:\" (Maintenance > Security > "
                      "Ciphers, or xConfiguration Ciphers); or keep ECDSA and have tomcat-ECDSA CA-signed "
                      "or upload it to the Expressway-C trust store (CUCM 14+ can reuse tomcat-ECDSA for "
                      "CallManager-ECDSA).",
    },
};

static const char *remedy_for(int kind, int role)
{
    const char *r;

    if (kind < 0 || kind >= R_COUNT)
        return "";
    if (role < 0 || role >= ROLE_COUNT)
        role = ROLE_GENERIC;
    r = remedies[kind][role];
    return r != NULL ? r : remedies[kind][ROLE_GENERIC];
}

static const char *remedy(const struct conn *c, enum remedy_kind kind)
{
    return remedy_for(kind, c->role);
}

/* ---- small formatting helpers ------------------------------------------- */

#define MSG_MAX 1024

/* ---- the message memo ----------------------------------------------------
 *
 * A capture repeats the same failure thousands of times: the same server,
 * certificate and verdict, so the same message.  The frequent checks key
 * their message by what it is made of (certificates and verdict strings by
 * address: both live as long as the pool, which outlives the analysis's
 * connections) and find it here instead of formatting it again; the
 * connections borrow the one copy.  Bounded: past FMEMO_MAX entries new
 * messages are formatted and owned per connection, as without a memo. */
#define FKEY_MAX 400
#define FMEMO_MAX (1u << 16)

struct fkey {
    uint8_t b[FKEY_MAX];
    size_t n;
    bool ok;                       /* false: too long to memo */
};

struct fmemo_entry {
    uint64_t h;
    uint32_t klen;
    char *kv;                      /* the key's bytes, then the message */
};

struct findings_memo {
    struct fmemo_entry *v;
    size_t cap, n;                 /* cap: a power of two, or 0 */
};

struct findings_memo *findings_memo_new(void)
{
    return calloc(1, sizeof(struct findings_memo));
}

void findings_memo_free(struct findings_memo *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->v[i].kv);
    free(m->v);
    free(m);
}

static void fk_init(struct fkey *k, char tag)
{
    k->b[0] = (uint8_t)tag;
    k->n = 1;
    k->ok = true;
}

static void fk_put(struct fkey *k, const void *p, size_t n)
{
    if (!k->ok || n > sizeof(k->b) - k->n) {
        k->ok = false;
        return;
    }
    memcpy(k->b + k->n, p, n);
    k->n += n;
}

static void fk_ptr(struct fkey *k, const void *p)
{
    fk_put(k, &p, sizeof(p));
}

static void fk_int(struct fkey *k, long v)
{
    fk_put(k, &v, sizeof(v));
}

static void fk_str(struct fkey *k, const char *str)
{
    fk_put(k, str, strlen(str) + 1);
}

/* The slot holding k, or the empty slot where it goes. */
static struct fmemo_entry *fmemo_slot(struct findings_memo *m, const struct fkey *k, uint64_t h)
{
    size_t i = (size_t)h & (m->cap - 1);

    for (;; i = (i + 1) & (m->cap - 1)) {
        struct fmemo_entry *e = &m->v[i];
        if (e->kv == NULL || (e->h == h && e->klen == k->n && memcmp(e->kv, k->b, k->n) == 0))
            return e;
    }
}

static const char *fmemo_find(struct findings_memo *m, const struct fkey *k)
{
    if (m == NULL || k == NULL || !k->ok || m->cap == 0)
        return NULL;
    struct fmemo_entry *e = fmemo_slot(m, k, ti_hash_bytes(k->b, k->n));
    return e->kv != NULL ? e->kv + e->klen : NULL;
}

static int fmemo_grow(struct findings_memo *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct fmemo_entry *old = m->v, *v = calloc(cap, sizeof(*v));

    if (v == NULL)
        return -1;
    m->v = v;
    for (size_t i = 0, oc = m->cap; i < oc; i++) {
        if (old[i].kv == NULL)
            continue;
        size_t j = (size_t)old[i].h & (cap - 1);
        while (v[j].kv != NULL)
            j = (j + 1) & (cap - 1);
        v[j] = old[i];
    }
    m->cap = cap;
    free(old);
    return 0;
}

/* Keep msg under k; the stored copy, or NULL when the memo is full. */
static const char *fmemo_add(struct findings_memo *m, const struct fkey *k, const char *msg)
{
    size_t len = strlen(msg) + 1;
    uint64_t h;
    struct fmemo_entry *e;

    if (m == NULL || k == NULL || !k->ok || m->n >= FMEMO_MAX)
        return NULL;
    if ((m->n + 1) * 2 > m->cap && fmemo_grow(m) != 0)
        return NULL;
    h = ti_hash_bytes(k->b, k->n);
    e = fmemo_slot(m, k, h);
    if (e->kv == NULL) {
        if ((e->kv = malloc(k->n + len)) == NULL)
            return NULL;
        memcpy(e->kv, k->b, k->n);
        memcpy(e->kv + k->n, msg, len);
        e->h = h;
        e->klen = (uint32_t)k->n;
        m->n++;
    }
    return e->kv + e->klen;
}

/* The finding with the message memoised under k, if it is there. */
static bool memo_hit(struct conn *c, struct findings_memo *m, const struct fkey *k, int id,
                     const char *remedy)
{
    const char *msg = fmemo_find(m, k);

    if (msg == NULL)
        return false;
    (void)conn_add_finding_shared(c, id, finding_severity(id), msg, remedy);
    return true;
}

static void vadd(struct conn *c, struct findings_memo *m, const struct fkey *k, int id,
                 const char *remedy, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

static void vadd(struct conn *c, struct findings_memo *m, const struct fkey *k, int id,
                 const char *remedy, const char *fmt, va_list ap)
{
    char msg[MSG_MAX];
    const char *kept;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    kept = fmemo_add(m, k, msg);
    if (kept != NULL)
        (void)conn_add_finding_shared(c, id, finding_severity(id), kept, remedy);
    else
        (void)conn_add_finding(c, id, finding_severity(id), msg, remedy);
}

static void add(struct conn *c, int id, const char *remedy, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(struct conn *c, int id, const char *remedy, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vadd(c, NULL, NULL, id, remedy, fmt, ap);
    va_end(ap);
}

/* add(), the message memoised under k (k NULL: not memoised). */
static void add_memo(struct conn *c, struct findings_memo *m, const struct fkey *k, int id,
                     const char *remedy, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void add_memo(struct conn *c, struct findings_memo *m, const struct fkey *k, int id,
                     const char *remedy, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vadd(c, m, k, id, remedy, fmt, ap);
    va_end(ap);
}

#define FD_STR_(x) #x
#define FD_STR(x) FD_STR_(x)

/* The option that raises a parser limit (CONN_LIMIT_* bits); static text. */
static const char *parser_limit_remedy(unsigned bits)
{
    bool hs = (bits & CONN_LIMIT_HS_MSG) != 0, recs = (bits & CONN_LIMIT_RECORDS) != 0;

    if (hs && recs)
        return "If the capture is legitimate, raise --max-handshake-bytes and --max-records.";
    if (hs)
        return "If the capture is legitimate, raise --max-handshake-bytes.";
    if (recs)
        return "If the capture is legitimate, raise --max-records.";
    return "Only the first " FD_STR(CONN_MAX_CERTS) " certificates of a chain are kept and "
           "verified; a real chain is never that long, so look at who sent it.";
}

static const char *dir_name(enum conn_dir d)
{
    return d == DIR_CLIENT ? "client" : "server";
}

/* Why the handshake messages before an alert may be missing from the
 * capture (NULL: they were not sent). */
static const char *hs_lost_why(const struct conn *c)
{
    if (!c->tcp.syn_seen)
        return "the capture started mid-connection";
    if (c->tcp.snap_cut[0] + c->tcp.snap_cut[1] > 0)
        return "the snaplen cut them";
    if (c->tcp.gaps[0] + c->tcp.gaps[1] > 0)
        return "segments are missing";
    return NULL;
}

/* "CN=cucm-EC.steven.lab, EC P-384, self-signed" of the leaf, or a fallback. */
static void leaf_desc(const struct conn *c, bool client, char *buf, size_t len)
{
    const struct x509_cert *leaf = NULL;

    if (!client && c->n_server_certs > 0)
        leaf = c->server_certs[0];
    if (client && c->n_client_certs > 0)
        leaf = c->client_certs[0];
    if (leaf == NULL && !client && c->inferred_leaf != NULL && c->inferred_leaf->parsed) {
        /* TLS 1.3 without keys: the one known chain its size fits (infer_chain.h) */
        leaf = c->inferred_leaf;
        snprintf(buf, len, "encrypted; inferred by size: CN=%s, %s, %s",
                 leaf->cn ? leaf->cn : "(none)", leaf->key,
                 leaf->self_signed ? "self-signed" : "CA-signed");
        return;
    }
    if (leaf == NULL && !client && c->tls13 && !c->keys_used && c->sh.present &&
        c->resumed == RESUMED_NO) {
        snprintf(buf, len, "encrypted: TLS 1.3 without key log");
        return;
    }
    if (leaf == NULL) {
        snprintf(buf, len, hs_lost_why(c) ? "certificate not captured" : "no certificate");
        return;
    }
    if (!leaf->parsed) {
        snprintf(buf, len, "undecodable certificate sha256 %.16s...", leaf->sha256_hex);
        return;
    }
    snprintf(buf, len, "CN=%s, %s, %s", leaf->cn ? leaf->cn : "(none)", leaf->key,
             leaf->self_signed ? "self-signed" : "CA-signed");
}

/* The certificate leaf_desc() describes (NULL: none): a memo key. */
static const struct x509_cert *leaf_of(const struct conn *c, bool client)
{
    if (!client && c->n_server_certs > 0)
        return c->server_certs[0];
    if (client && c->n_client_certs > 0)
        return c->client_certs[0];
    if (!client && c->inferred_leaf != NULL && c->inferred_leaf->parsed)
        return c->inferred_leaf;   /* described as inferred: keyed apart (leaf_inferred) */
    return NULL;
}

/* Whether leaf_desc() describes an inferred leaf: part of the memo key
 * wherever leaf_of() is, so a visible copy of the same certificate does not
 * share its text. */
static bool leaf_inferred(const struct conn *c, bool client)
{
    return !client && c->n_server_certs == 0 && c->inferred_leaf != NULL;
}

/* The traffic server's wording for a chain verdict. */
static const char *ats_error(enum x509_chain_result r)
{
    switch (r) {
    case X509_CHAIN_SELF_SIGNED: return "self signed certificate";
    case X509_CHAIN_SELF_SIGNED_IN_CHAIN: return "self signed certificate in certificate chain";
    case X509_CHAIN_UNKNOWN_ISSUER: return "unable to get local issuer certificate";
    case X509_CHAIN_EXPIRED: return "certificate has expired";
    case X509_CHAIN_NOT_YET_VALID: return "certificate is not yet valid";
    case X509_CHAIN_BAD_SIGNATURE: return "certificate signature failure";
    default: return "certificate verify failed";
    }
}

/* ---- alerts --------------------------------------------------------------- */

/* Per alert: a remedy in any product's terms, and one in Expressway/CUCM
 * terms for the cucm role where the product's menus help. */
struct alert_remedy {
    uint8_t code;
    const char *remedy;
    const char *cucm;               /* NULL: the generic text */
};

static const struct alert_remedy alert_remedies[] = {
    {40, "No common cipher suite, version or signature algorithm: compare the client's cipher list "
         "with what the server allows.",
         "No common cipher suite, version or signature algorithm: compare the client's cipher string "
         "(Expressway-C Maintenance > Security > Ciphers) with what the server allows."},
    {42, "The peer rejected the certificate it received: check its chain and key usage against the "
         "peer's trust store.", NULL},
    {43, "The peer does not support the certificate's key or signature type: use an RSA certificate or "
         "enable the ECDSA suites on both sides.", NULL},
    {44, "The peer found the certificate revoked: renew it.", NULL},
    {45, "The certificate has expired at the peer's clock: renew it and check NTP on both sides.",
         "The certificate has expired at the peer's clock: renew it (CUCM: OS Administration > "
         "Security > Certificate Management) and check NTP on both sides."},
    {46, "The peer could not validate the certificate (often an untrusted or incomplete chain): upload "
         "the full CA chain to the peer's trust store.", NULL},
    {47, "The peer rejected a handshake parameter: compare TLS versions and cipher strings.", NULL},
    {51, "Signature or Finished check failed: check for a TLS-intercepting middlebox or a key/certificate "
         "mismatch on the server.", NULL},
    {70, "No common TLS version: align the minimum TLS version on both sides.",
         "No common TLS version: align the minimum TLS version on the Expressway-C "
         "(Maintenance > Security > Ciphers) and on CUCM."},
    {71, "The server requires a stronger cipher suite: update the client's cipher string.", NULL},
    {80, "The peer hit an internal error: check its logs.", NULL},
    {86, "A version downgrade was detected: check for a middlebox.", NULL},
    {112, "The server does not know the name in SNI: connect with a name the server is configured for.",
          NULL},
    {116, "The server requires a client certificate: configure one on the client.", NULL},
    {120, "No common ALPN protocol: check the application protocols offered.", NULL},
};

static const char *alert_remedy(uint8_t code, int role)
{
    for (size_t i = 0; i < sizeof(alert_remedies) / sizeof(alert_remedies[0]); i++)
        if (alert_remedies[i].code == code)
            return role == ROLE_CUCM && alert_remedies[i].cucm != NULL ? alert_remedies[i].cucm
                                                                      : alert_remedies[i].remedy;
    return "Check the sender's logs for why it aborted the handshake.";
}

/* True when this connection's server certificate failed the name check:
 * OpenSSL (and the traffic server) answer that with bad_certificate, and
 * other stacks with certificate_unknown, so the alert's fix is the name's. */
static bool name_failed(const struct conn *c)
{
    return c->verify.done && c->verify.verdict.name_checked && !c->verify.verdict.name_ok;
}

/* The chain verified against the trust store given (not merely unchecked). */
static bool chain_ok(const struct conn *c)
{
    return c->verify.done && c->verify.verdict.result == X509_CHAIN_OK;
}

/* TLS 1.3 without keys, a full handshake: the server's certificate is
 * encrypted, and so is its flight after the ServerHello. */
static bool hidden13(const struct conn *c)
{
    return c->tls13 && !c->keys_used && c->sh.present && c->resumed == RESUMED_NO;
}

/* The alert followed the server's encrypted flight (TLS 1.3 without keys):
 * its last readable message was the ServerHello, but more came after it. */
static bool after_hidden_flight(const struct conn *c, const struct conn_alert *al)
{
    if (!hidden13(c) || al->after_msg != TLS_HS_SERVER_HELLO || al->after_msg_from != DIR_SERVER)
        return false;
    for (size_t i = 0; i < c->n_events && c->events[i].ts <= al->ts; i++)
        if (c->events[i].kind == EV_ENCRYPTED_HS && c->events[i].from == DIR_SERVER)
            return true;
    return false;
}

static const char *after_desc(const struct conn *c, const struct conn_alert *al, char *buf,
                              size_t len)
{
    const char *lost = al->after_msg < 0 ? hs_lost_why(c) : NULL;

    if (after_hidden_flight(c, al))
        snprintf(buf, len, "after the server's encrypted flight (ServerHello, then "
                 "EncryptedExtensions to Finished)");
    else if (lost)
        snprintf(buf, len, "after handshake messages the capture does not show (%s)", lost);
    else if (al->after_msg < 0)
        snprintf(buf, len, "before any handshake message");
    else
        snprintf(buf, len, "after the %s's %s", dir_name(al->after_msg_from),
                 tls_hs_name((uint8_t)al->after_msg));
    return buf;
}

/* True when the server aborted right after the client sent its certificate. */
static bool server_rejected_client_cert(const struct conn *c, const struct conn_alert *al)
{
    if (!c->certificate_request || !c->client_cert_msg_seen)
        return false;
    if (al != NULL)
        return al->from == DIR_SERVER && al->after_msg_from == DIR_CLIENT &&
               (al->after_msg == TLS_HS_CERTIFICATE || al->after_msg == TLS_HS_CLIENT_KEY_EXCHANGE ||
                al->after_msg == TLS_HS_CERTIFICATE_VERIFY || al->after_msg == TLS_HS_FINISHED);
    return c->tcp.rst[DIR_SERVER] && !c->finished[DIR_SERVER];
}


static void check_alerts(struct conn *c, struct findings_memo *m)
{
    char leaf[512], after[128];
    struct fkey k;
    bool unknown_ca_done = false, client_rejected_done = false;

    for (size_t i = 0; i < c->n_alerts; i++) {
        const struct conn_alert *al = &c->alerts[i];

        if (al->encrypted || al->level != 2)
            continue;
        if (server_rejected_client_cert(c, al) && !client_rejected_done) {
            client_rejected_done = true;
            leaf_desc(c, true, leaf, sizeof(leaf));
            add(c, FINDING_CLIENT_CERT_REJECTED, remedy(c, R_CLIENT_REJECTED),
                "The server asked for a client certificate and aborted with fatal %s (%u) after the "
                "client sent its certificate (%s).",
                tls_alert_name(al->description) ? tls_alert_name(al->description) : "alert",
                al->description, leaf);
        }
        if (al->description == 48) {
            if (unknown_ca_done)
                continue;
            unknown_ca_done = true;
            fk_init(&k, 'U');
            fk_int(&k, al->from);
            fk_int(&k, al->after_msg);
            fk_int(&k, al->after_msg_from);
            fk_ptr(&k, leaf_of(c, al->from == DIR_SERVER));
            fk_int(&k, leaf_inferred(c, al->from == DIR_SERVER));
            fk_int(&k, hidden13(c) * 2 + after_hidden_flight(c, al));
            /* the wording depends on whether the given store accepts the chain */
            bool trusted_here = al->from == DIR_CLIENT && chain_ok(c);
            fk_int(&k, trusted_here);
            const char *fix = al->from == DIR_SERVER ? remedy(c, R_UNKNOWN_CA_BY_SERVER)
                              : trusted_here         ? remedy(c, R_TRUST_DIFFERS)
                                                     : remedy(c, R_UNKNOWN_CA_BY_CLIENT);
            if (memo_hit(c, m, &k, FINDING_UNKNOWN_CA_ALERT, fix))
                continue;
            leaf_desc(c, al->from == DIR_SERVER, leaf, sizeof(leaf));
            if (trusted_here)
                /* The given trust store accepts the chain the client refused:
                 * adding a CA to the given store would change nothing. */
                add_memo(c, m, &k, FINDING_UNKNOWN_CA_ALERT, fix,
                    "The client sent fatal unknown_ca (48) %s although the server's chain (%s) "
                    "verifies against the trust store given: the client's own trust store differs.",
                    after_desc(c, al, after, sizeof(after)), leaf);
            else if (al->from == DIR_CLIENT)
                add_memo(c, m, &k, FINDING_UNKNOWN_CA_ALERT, fix,
                    "The client sent fatal unknown_ca (48) %s: it does not trust the server's "
                    "certificate (%s).",
                    after_desc(c, al, after, sizeof(after)), leaf);
            else
                add_memo(c, m, &k, FINDING_UNKNOWN_CA_ALERT, fix,
                    "The server sent fatal unknown_ca (48) %s: it does not trust the client's "
                    "certificate (%s).",
                    after_desc(c, al, after, sizeof(after)), leaf);
            continue;
        }
        const char *name = tls_alert_name(al->description);
        if (al->from == DIR_CLIENT && (al->description == 42 || al->description == 46) &&
            name_failed(c)) {
            add(c, FINDING_FATAL_ALERT, remedy(c, R_NAME),
                "The client sent fatal %s (%u) %s: the expected name (%s) is not in the server's "
                "certificate (a name mismatch is answered with this alert).",
                name ? name : "alert", al->description, after_desc(c, al, after, sizeof(after)),
                c->verify.expected_name);
            continue;
        }
        fk_init(&k, 'F');
        fk_int(&k, al->from);
        fk_int(&k, al->description);
        fk_int(&k, al->after_msg);
        fk_int(&k, al->after_msg_from);
        fk_int(&k, after_hidden_flight(c, al));
        const char *afix = alert_remedy(al->description, c->role);
        if (memo_hit(c, m, &k, FINDING_FATAL_ALERT, afix))
            continue;
        add_memo(c, m, &k, FINDING_FATAL_ALERT, afix,
            "The %s sent fatal %s (%u) %s.", dir_name(al->from), name ? name : "alert",
            al->description, after_desc(c, al, after, sizeof(after)));
    }
    if (!client_rejected_done && server_rejected_client_cert(c, NULL)) {
        leaf_desc(c, true, leaf, sizeof(leaf));
        add(c, FINDING_CLIENT_CERT_REJECTED, remedy(c, R_CLIENT_REJECTED),
            "The server asked for a client certificate and reset the connection after the client "
            "sent its certificate (%s).", leaf);
    }
}

/* ---- verification ------------------------------------------------------------ */

static const char *expected_server(const struct conn *c, char *buf, size_t len)
{
    char ip[64];

    conn_ip_str(&c->server, ip, sizeof(ip));
    snprintf(buf, len, "%s(%s)", c->verify.expected_name[0] ? c->verify.expected_name : ip, ip);
    return buf;
}

/* The chain finding's message: the traffic server's words on the cucm
 * path ("Action=Terminate" only for a connection that was terminated). */
static void add_chain_finding(struct conn *c, struct findings_memo *m, const struct fkey *kp,
                              int id, const char *fix, const char *name, const char *server,
                              const char *leaf)
{
    const struct x509_verdict *vd = &c->verify.verdict;
    bool ats = c->role == ROLE_CUCM, done = c->outcome == OUTCOME_COMPLETE;
    /* Name the certificate OpenSSL stopped at: depth 0 is the leaf; a
     * depth past the chain as sent is a CA from the trust store. */
    char at[600];
    if (vd->depth <= 0)
        snprintf(at, sizeof(at), "%s", leaf);
    else if ((size_t)vd->depth < c->n_server_certs && c->server_certs[vd->depth]->parsed)
        snprintf(at, sizeof(at), "at depth %d: CN=%s; leaf %s", vd->depth,
                 c->server_certs[vd->depth]->cn ? c->server_certs[vd->depth]->cn : "(none)", leaf);
    else
        snprintf(at, sizeof(at), "at depth %d: a CA certificate from the trust store; leaf %s",
                 vd->depth, leaf);
    const char *oerr = vd->openssl_error != NULL ? vd->openssl_error : "";
    if (ats && !done)
        add_memo(c, m, kp, id, fix,
            "Core server certificate verification failed for (%s). Action=Terminate Error=%s "
            "server=%s depth=%d [%s; OpenSSL: %s]",
            name, ats_error(vd->result), server, vd->depth, at, oerr);
    else if (ats)
        add_memo(c, m, kp, id, fix,
            "Core server certificate verification would fail for (%s): Error=%s server=%s "
            "depth=%d; the handshake completed, so the client did not verify it [%s; OpenSSL: %s]",
            name, ats_error(vd->result), server, vd->depth, at, oerr);
    else
        add_memo(c, m, kp, id, fix,
            "Server certificate verification fails for (%s): %s, server=%s depth=%d%s [%s; "
            "OpenSSL: %s]",
            name, ats_error(vd->result), server, vd->depth,
            done ? "; the handshake completed, so the client did not verify it" : "", at, oerr);
}

static void check_chain(struct conn *c, struct findings_memo *m)
{
    struct fkey k;
    bool hit = false;
    const struct conn_verification *v = &c->verify;
    const struct x509_verdict *vd = &v->verdict;
    char leaf[512], server[400];
    const char *name = v->expected_name;
    int id = -1;
    enum remedy_kind rk = R_COUNT;
    const char *fixed = NULL, *fix = NULL;
    /* The traffic server's log words belong to the cucm path, and
     * "Action=Terminate" only to a connection that was terminated. */
    bool ats = c->role == ROLE_CUCM, done = c->outcome == OUTCOME_COMPLETE;

    if (!v->done)
        return;
    switch (vd->result) {
    case X509_CHAIN_SELF_SIGNED:
        id = FINDING_CHAIN_SELF_SIGNED;
        rk = R_SELF_SIGNED;
        break;
    case X509_CHAIN_SELF_SIGNED_IN_CHAIN:
    case X509_CHAIN_UNKNOWN_ISSUER:
    case X509_CHAIN_OTHER:
        id = FINDING_CHAIN_UNKNOWN_ISSUER;
        rk = R_UNKNOWN_ISSUER;
        break;
    case X509_CHAIN_EXPIRED:
        id = FINDING_CERT_EXPIRED;
        rk = R_EXPIRED;
        break;
    case X509_CHAIN_NOT_YET_VALID:
        id = FINDING_CERT_NOT_YET_VALID;
        fixed = "Check the clocks (NTP) on both sides, or reissue the certificate with a correct "
                "start date.";
        break;
    case X509_CHAIN_BAD_SIGNATURE:
        id = FINDING_CHAIN_BAD_SIGNATURE;
        fixed = "The certificate's signature does not verify with its issuer's key: reissue it, or "
                "check for an intercepting middlebox.";
        break;
    default:
        break;
    }
    if (id >= 0) {
        fk_init(&k, 'C');
        fk_int(&k, vd->result);            /* several share an id, not a wording */
        fk_int(&k, vd->depth);
        fk_ptr(&k, leaf_of(c, false));
        fk_int(&k, leaf_inferred(c, false));
        fk_ptr(&k, vd->depth > 0 && (size_t)vd->depth < c->n_server_certs
                       ? c->server_certs[vd->depth] : NULL);
        fk_ptr(&k, vd->openssl_error);
        fk_int(&k, c->server.ipver);
        fk_put(&k, c->server.ip, sizeof(c->server.ip));
        fk_str(&k, name);
        fk_int(&k, ats);                   /* the wording depends on both */
        fk_int(&k, done);
        fix = fixed != NULL ? fixed : remedy(c, rk);
        hit = memo_hit(c, m, &k, id, fix);
    }
    /* the texts below only when a finding needs them: most chains pass */
    if ((id >= 0 && !hit) || (vd->name_checked && !vd->name_ok)) {
        leaf_desc(c, false, leaf, sizeof(leaf));
        expected_server(c, server, sizeof(server));
    }
    if (id >= 0 && !hit)
        add_chain_finding(c, m, &k, id, fix, name, server, leaf);

    if (vd->name_checked && !vd->name_ok) {
        const struct x509_cert *lc = c->n_server_certs ? c->server_certs[0] : NULL;
        char sans[512] = "";
        size_t off = 0;

        for (size_t i = 0; lc != NULL && i < lc->n_san && off < sizeof(sans) - 1; i++) {
            int n = snprintf(sans + off, sizeof(sans) - off, "%s%s", i ? ", " : "", lc->san[i]);
            if (n < 0)
                break;
            off += (size_t)n;
        }
        const char *from = x509_name_source_name(v->name_source);
        const char *cn = lc && lc->cn ? lc->cn : "(none)";
        if (ats)
            add(c, FINDING_NAME_MISMATCH, remedy(c, R_NAME),
                "SNI (%s) not in certificate.%s server=%s [expected name from %s; "
                "certificate CN=%s, SAN: %s]",
                name, done ? " The handshake completed, so the client did not check the name;"
                           : " Action=Terminate",
                server, from, cn, sans[0] ? sans : "(none)");
        else
            add(c, FINDING_NAME_MISMATCH, remedy(c, R_NAME),
                "The expected name (%s) is not in the server's certificate%s. server=%s [expected "
                "name from %s; certificate CN=%s, SAN: %s]",
                name, done ? " (the handshake completed: the client did not check it)" : "",
                server, from, cn, sans[0] ? sans : "(none)");
    }

    if (v->client_done && v->client_verdict.result != X509_CHAIN_OK &&
        v->client_verdict.result != X509_CHAIN_NOT_CHECKED &&
        v->client_verdict.result != X509_CHAIN_NO_CERTIFICATE) {
        leaf_desc(c, true, leaf, sizeof(leaf));
        add(c, FINDING_CLIENT_CHAIN_UNTRUSTED, remedy(c, R_CLIENT_UNTRUSTED),
            "The client certificate (%s) does not verify against the server's trust store: %s "
            "(depth %d).", leaf,
            v->client_verdict.openssl_error != NULL ? v->client_verdict.openssl_error : "",
            v->client_verdict.depth);
    }
}

/* ---- certificate selection ---------------------------------------------------- */


/* TLS 1.3 without keys: the first inferred alert of a failed handshake
 * (check_tls13_inferred() reads it), NULL without one. */
static const struct conn_alert *inferred_abort(const struct conn *c)
{
    if (!c->tls13 || c->keys_used || c->outcome != OUTCOME_FAILED)
        return NULL;
    for (size_t i = 0; i < c->n_alerts; i++)
        if (c->alerts[i].inferred)
            return &c->alerts[i];
    return NULL;
}

/* The handshake failed on the client's certificate, not the server's: the
 * server rejected it (CLIENT_CERT_REJECTED, already decided by
 * check_alerts()) or, inferred, aborted right after the client's
 * certificate flight (check_tls13_inferred(), which runs later). */
static bool failed_on_client_cert(const struct conn *c)
{
    const struct conn_alert *al = inferred_abort(c);

    for (size_t i = 0; i < c->n_findings && i < CONN_MAX_FINDINGS; i++)
        if (c->findings[i].id == FINDING_CLIENT_CERT_REJECTED)
            return true;
    return al != NULL && al->from == DIR_SERVER &&
           (c->inferred_client_cert || c->inferred_empty_client_cert);
}

static void check_ecdsa(struct conn *c, const struct tls_names *names, struct findings_memo *m)
{
    struct fkey k;
    const struct conn_client_hello *ch = c->n_ch ? &c->ch[c->n_ch - 1] : NULL;
    const struct x509_cert *leaf = c->n_server_certs ? c->server_certs[0] : NULL;
    bool ecdsa = false;
    char leafd[512], pref[256];

    if (!c->sh.present || c->resumed != RESUMED_NO)
        return;   /* a resumed session presents no certificate to speak of */
    if (c->sh.auth == AUTH_ECDSA)
        ecdsa = true;
    else if (c->sh.auth == AUTH_ANY && leaf && leaf->parsed && strcmp(leaf->key_type, "EC") == 0)
        ecdsa = true;
    if (!ecdsa)
        return;
    fk_init(&k, 'E');
    fk_int(&k, c->sh.suite);
    fk_ptr(&k, leaf_of(c, false));
    fk_int(&k, leaf_inferred(c, false));
    fk_int(&k, ch ? (long)ch->preferred_auth : -1);
    fk_int(&k, ch ? ch->preferred_suite : 0);
    /* Choosing ECDSA is no fault: it is news only when that chain fails, or
     * the connection failed anyway -- unless it failed on the client's
     * certificate, which the server's choice has nothing to do with.  A
     * complete handshake with a verified ECDSA chain is info, with nothing
     * to do.  The message does not depend on it, so the memo's key need not
     * either. */
    const struct x509_verdict *vd = &c->verify.verdict;
    bool chain_failed = c->verify.done && vd->result != X509_CHAIN_OK &&
                        vd->result != X509_CHAIN_NOT_CHECKED && vd->result != X509_CHAIN_NO_CERTIFICATE;
    bool warn = chain_failed || name_failed(c) ||
                (c->outcome == OUTCOME_FAILED && !failed_on_client_cert(c));
    enum finding_severity sev = warn ? SEV_WARNING : SEV_INFO;
    const char *fix = warn ? remedy(c, R_ECDSA) : "";
    const char *msg = fmemo_find(m, &k);
    if (msg != NULL) {   /* the text is made once a key: looked up before it is formatted */
        (void)conn_add_finding_shared(c, FINDING_ECDSA_SELECTED, sev, msg, fix);
        return;
    }
    leaf_desc(c, false, leafd, sizeof(leafd));
    if (ch && ch->preferred_auth == AUTH_ECDSA && ch->preferred_suite)
        snprintf(pref, sizeof(pref), "the client preferred ECDSA (its first ECDHE suite is %s)",
                 tls_suite_name(names, ch->preferred_suite) ? tls_suite_name(names, ch->preferred_suite)
                                                            : "an ECDSA suite");
    else if (ch && ch->preferred_auth == AUTH_ECDSA)
        snprintf(pref, sizeof(pref), "the client preferred ECDSA (first signature algorithm)");
    else if (ch && ch->preferred_auth == AUTH_RSA)
        snprintf(pref, sizeof(pref), "the client preferred RSA, the server chose ECDSA itself");
    else
        snprintf(pref, sizeof(pref), "the client's preference is unknown");
    const char *sname = tls_suite_name(names, c->sh.suite);
    char buf[MSG_MAX];
    snprintf(buf, sizeof(buf), "The server selected %s and presented its ECDSA certificate (%s); %s.",
             sname ? sname : "an ECDSA suite", leafd, pref);
    if ((msg = fmemo_add(m, &k, buf)) != NULL)
        (void)conn_add_finding_shared(c, FINDING_ECDSA_SELECTED, sev, msg, fix);
    else
        (void)conn_add_finding(c, FINDING_ECDSA_SELECTED, sev, buf, fix);
}

/* ---- TLS 1.3, capture quality ------------------------------------------------- */

/* TLS 1.3 without keys: what the record sizes and order showed (the parser
 * marked it inferred); each message says it is an inference. */
static void check_tls13_inferred(struct conn *c, const struct tls_names *names)
{
    const struct conn_alert *al = inferred_abort(c);
    const struct conn_client_hello *ch = c->n_ch ? &c->ch[c->n_ch - 1] : NULL;

    if (al != NULL && al->from == DIR_SERVER && c->inferred_empty_client_cert)
        add(c, FINDING_FATAL_ALERT, alert_remedy(116, c->role),
            "Inferred from the encrypted TLS 1.3 records (no key log): the client answered the "
            "server's certificate request with an empty Certificate (its record's size) and the "
            "server answered with one alert-sized record and closed, so the server most likely "
            "requires a client certificate (certificate_required, 116) and the client has none.");
    else if (al != NULL && al->from == DIR_SERVER && c->inferred_client_cert)
        add(c, FINDING_CLIENT_CERT_REJECTED,
            "Add the Expressway-C certificate's CA chain (root and intermediates) to CUCM "
            "tomcat-trust and CallManager-trust (OS Administration > Security > Certificate "
            "Management), then restart Cisco Tomcat.",
            "Inferred from the encrypted TLS 1.3 records (no key log): the client sent its "
            "certificate flight and the server answered with one alert-sized record and closed, "
            "so the server most likely rejected the client certificate.");
    else if (al != NULL && al->from == DIR_CLIENT)
        add(c, FINDING_UNKNOWN_CA_ALERT,
            "Add the CA that signed the server's certificate (for a self-signed certificate, the "
            "certificate itself) to the Expressway-C trust store, or have the server present a "
            "CA-signed certificate; capture with a key log (--keylog) to see the alert itself.",
            "Inferred from the encrypted TLS 1.3 records (no key log): the client answered the "
            "server's encrypted flight with one alert-sized record and closed, so it most likely "
            "rejected the server's certificate (unknown_ca or another certificate alert).");
    if (c->inferred_server_key == KEY_GUESS_EC && c->n_server_certs == 0) {
        char by[96], chain[600] = "";
        if (c->inferred_sig_len > 0)
            snprintf(by, sizeof(by), "the encrypted CertificateVerify (a %u-byte ECDSA signature)",
                     (unsigned)c->inferred_sig_len);
        else
            snprintf(by, sizeof(by), "the encrypted server flight");
        if (c->inferred_leaf != NULL) {   /* infer_chain.h: the one known chain that fits */
            memcpy(chain, "; by size, ", 11);
            infer_chain_words(c, chain + 11, sizeof(chain) - 11);
        }
        /* As for a visible certificate (check_ecdsa): news only when the
         * connection failed, and not on the client's certificate; a
         * completed one is info with nothing to do. */
        char msg[MSG_MAX];
        bool warn = c->outcome == OUTCOME_FAILED && !failed_on_client_cert(c);
        snprintf(msg, sizeof(msg), "Inferred from the size of %s: the server presented an ECDSA "
                 "certificate%s%s.", by, chain,
                 ch && ch->preferred_auth == AUTH_ECDSA ? "; the client preferred ECDSA" : "");
        (void)conn_add_finding(c, FINDING_ECDSA_SELECTED, warn ? SEV_WARNING : SEV_INFO, msg,
                               warn ? remedy(c, R_ECDSA) : "");
    }
    (void)names;
}

static void check_tls13(struct conn *c)
{
    /* a resumed session (PSK) sends no certificate: nothing is hidden */
    if (!c->tls13 || c->keys_used || c->n_server_certs > 0 || !c->sh.present ||
        c->resumed != RESUMED_NO)
        return;
    /* A key log was given but did not open this handshake: say why (the
     * parser's note: no entry for the client random, tag failure, ...). */
    if (c->tls13_note != NULL) {
        add(c, FINDING_TLS13_CERT_HIDDEN,
            "Check that the key log was written by this client for this capture "
            "(SSLKEYLOGFILE on the TLS client), or force TLS 1.2 for the test.",
            "TLS 1.3 handshake without usable keys: %s; no server certificate is visible.",
            c->tls13_note);
        return;
    }
    /* The client aborted on the server's flight when it sent an alert, or
     * reset before the server said anything more; not when it reset after
     * the server's own alert or FIN (the server aborted), nor after a
     * handshake the records show complete. */
    bool rejected = false, server_ended = c->tcp.fin[DIR_SERVER];
    for (size_t i = 0; i < c->n_alerts && c->outcome != OUTCOME_COMPLETE; i++) {
        if (c->alerts[i].from == DIR_CLIENT)
            rejected = true;
        else
            server_ended = true;
    }
    if (c->tcp.rst[DIR_CLIENT] && !c->appdata[DIR_SERVER] && !server_ended &&
        c->outcome != OUTCOME_COMPLETE)
        rejected = true;
    add(c, FINDING_TLS13_CERT_HIDDEN,
        "Capture with a key log (SSLKEYLOGFILE) and pass it with --keylog, or force TLS 1.2 for the "
        "test to see the certificate in the clear.",
        "TLS 1.3 handshake without keys: the server's certificate is encrypted%s.",
        rejected ? "; the client aborted right after the server's encrypted flight, so it likely "
                   "rejected the certificate"
                 : "");
}

/* Why a handshake is incomplete, the first that applies: the capture began
 * after its start, a hole in a stream before its end, the connection table
 * let it go (idle, or full), a side closed it without an alert, or the
 * capture ended with it still open.  Returns the remedy. */
static const char *incomplete_reason(const struct conn *c, char *buf, size_t len)
{
    const char *capture_all = "Capture the whole handshake: start tcpdump before the connection "
                              "and stop it after the failure.";
    const char *table = c->tcp.evictions_before
                        ? "; the connection table was full earlier, so it may have been dropped "
                          "and picked up again mid-stream"
                        : "";
    const char *full = "Raise --max-connections, or narrow the capture with a BPF filter.";
    int d = c->tcp.gap_bytes[DIR_SERVER] > 0 ? DIR_SERVER : DIR_CLIENT;

    if (c->n_ch == 0 && !c->tcp.syn_seen) {
        /* With the SYN captured the capture did not start late: the
         * hello was lost to a hole or the snaplen (below). */
        if (!c->sh.present)
            snprintf(buf, len, "the capture started after the handshake: no hello was captured%s",
                     table);
        else
            snprintf(buf, len, "the capture started during the handshake: the ClientHello was "
                     "not captured%s", table);
        return c->tcp.evictions_before ? full : capture_all;
    } else if (c->tcp.snap_cut[0] + c->tcp.snap_cut[1] > 0) {
        snprintf(buf, len, "the capture's snaplen cut %llu packet(s) short, so the handshake "
                 "messages could not be read",
                 (unsigned long long)(c->tcp.snap_cut[0] + c->tcp.snap_cut[1]));
        return "Capture with tcpdump -s 0 (no snaplen limit).";
    } else if (c->tcp.gaps[0] + c->tcp.gaps[1] > 0) {
        snprintf(buf, len, "segments are missing: %llu bytes of the %s's stream were not captured "
                 "before the handshake could be read to its end",
                 (unsigned long long)c->tcp.gap_bytes[d], dir_name((enum conn_dir)d));
        return "Capture with tcpdump -s 0 on an interface that sees both directions, and check "
               "tcpdump's \"packets dropped by kernel\".";
    } else if (c->tcp.evicted == CONN_EVICTED_IDLE) {
        snprintf(buf, len, "the connection was silent for more than %lld minutes and was "
                 "judged at the idle timeout", (long long)(FLOW_IDLE_TIMEOUT_US / 60000000LL));
        return "The peers stopped sending mid-handshake: check for a stalled server or a firewall "
               "dropping packets between them.";
    } else if (c->tcp.evicted == CONN_EVICTED_FULL) {
        snprintf(buf, len, "the connection table was full, so this connection was dropped "
                 "before its handshake ended");
        return full;
    } else if (c->tcp.fin[DIR_CLIENT] || c->tcp.fin[DIR_SERVER]) {
        enum conn_dir by = c->tcp.fin[DIR_SERVER] ? DIR_SERVER : DIR_CLIENT;
        for (size_t i = 0; i < c->n_events; i++)    /* the first FIN on the ladder */
            if (c->events[i].kind == EV_FIN) {
                by = (enum conn_dir)c->events[i].from;
                break;
            }
        snprintf(buf, len, "the %s closed the connection with a FIN before it finished, "
                 "without an alert", dir_name(by));
        return "Check the closing side's logs for why it gave up (protocol or cipher mismatch, "
               "a load balancer or firewall in between).";
    } else {
        snprintf(buf, len, "the capture ends before it finished");
    }
    return capture_all;
}

static void check_capture(struct conn *c)
{
    uint64_t gaps = c->tcp.gaps[0] + c->tcp.gaps[1];
    uint64_t snap = c->tcp.snap_cut[0] + c->tcp.snap_cut[1];

    if (c->outcome == OUTCOME_INCOMPLETE) {
        char why[256];
        const char *fix = incomplete_reason(c, why, sizeof(why));
        add(c, FINDING_HANDSHAKE_INCOMPLETE, fix, "The handshake did not finish in the capture (%s).",
            why);
    } else if (c->outcome == OUTCOME_FAILED && c->n_findings == 0 &&
               (c->tcp.rst[DIR_CLIENT] || c->tcp.rst[DIR_SERVER])) {
        /* Ended by an RST without an alert: nothing above explains the
         * failure.  Who ended it is who sent the first FIN or RST. */
        enum conn_dir by = c->tcp.rst[DIR_SERVER] ? DIR_SERVER : DIR_CLIENT;
        bool fin = false;
        char lost[160] = "";
        for (size_t i = 0; i < c->n_events; i++)
            if (c->events[i].kind == EV_RST || c->events[i].kind == EV_FIN) {
                by = (enum conn_dir)c->events[i].from;
                fin = c->events[i].kind == EV_FIN;
                break;
            }
        if (c->tcp.gap_bytes[by] > 0)
            snprintf(lost, sizeof(lost), "; %llu bytes it sent before were not captured (an alert "
                     "may be among them)", (unsigned long long)c->tcp.gap_bytes[by]);
        add(c, FINDING_HANDSHAKE_INCOMPLETE,
            "Check the closing side's logs for why it gave up (a crashed or restarted service, "
            "a protocol or certificate problem it does not report, a load balancer or firewall "
            "in between).",
            "The handshake did not finish: the %s ended the connection (%s) before it finished, "
            "without an alert%s.", dir_name(by), fin ? "FIN, then an RST" : "TCP RST", lost);
    }
    if (gaps)
        add(c, FINDING_CAPTURE_GAP,
            "Capture with tcpdump -s 0 and check that the kernel dropped no packets (tcpdump's "
            "\"packets dropped by kernel\").",
            "%llu bytes missing in %llu hole(s) (client %llu, server %llu bytes).",
            (unsigned long long)(c->tcp.gap_bytes[0] + c->tcp.gap_bytes[1]), (unsigned long long)gaps,
            (unsigned long long)c->tcp.gap_bytes[DIR_CLIENT],
            (unsigned long long)c->tcp.gap_bytes[DIR_SERVER]);
    if (snap)
        add(c, FINDING_SNAPLEN_TRUNCATED, "Capture with tcpdump -s 0 (no snaplen limit).",
            "%llu packet(s) were cut by the capture's snaplen; the certificate may be unreadable.",
            (unsigned long long)snap);
    for (int d = 0; d < 2; d++)
        if (c->malformed[d])
            add(c, FINDING_MALFORMED_TLS, "",
                "The %s's TLS stream could not be parsed past some point: %s.",
                dir_name((enum conn_dir)d), c->malformed_why[d] ? c->malformed_why[d] : "malformed");
    if (c->tcp.limit_hit[0] || c->tcp.limit_hit[1])
        add(c, FINDING_LIMIT_REACHED,
            "If the capture is legitimate, raise --max-ooo-bytes (per direction) or "
            "--max-ooo-total (all connections).",
            "The out-of-order buffer limit was reached on this connection; some bytes were skipped.");
    if (c->limits_hit)
        add(c, FINDING_LIMIT_REACHED, parser_limit_remedy(c->limits_hit),
            "A parser limit was reached on this connection (%s%s%s%s%s); the rest was not parsed.",
            (c->limits_hit & CONN_LIMIT_HS_MSG) ? "handshake message size" : "",
            (c->limits_hit & CONN_LIMIT_HS_MSG) && (c->limits_hit & ~CONN_LIMIT_HS_MSG) ? ", " : "",
            (c->limits_hit & CONN_LIMIT_RECORDS) ? "records per connection" : "",
            (c->limits_hit & CONN_LIMIT_RECORDS) && (c->limits_hit & CONN_LIMIT_CERTS) ? ", " : "",
            (c->limits_hit & CONN_LIMIT_CERTS) ? "certificates per chain" : "");
}

void findings_run(struct conn *c, const struct tls_names *names)
{
    findings_run_memo(c, names, NULL);
}

void findings_run_memo(struct conn *c, const struct tls_names *names, struct findings_memo *m)
{
    /* Root cause first, as SPEC's example orders them: the failed check,
     * then the alert it caused, then the certificate selection behind it. */
    check_chain(c, m);
    check_alerts(c, m);
    check_ecdsa(c, names, m);
    check_tls13(c);
    if (c->tls13 && !c->keys_used)
        check_tls13_inferred(c, names);
    check_capture(c);
}
