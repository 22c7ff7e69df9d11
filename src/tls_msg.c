/* tls_msg.c - TLS handshake message bodies: hellos, certificates, alerts, JA3/JA4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tlsinspect/err.h"
#include "tlsinspect/hash.h"
#include "tlsinspect/hex.h"
#include "tlsinspect/tls_msg.h"

const uint8_t TLS_HRR_RANDOM[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02,
    0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
    0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* Extension code points read here (IANA). */
enum {
    EXT_SERVER_NAME = 0,
    EXT_SUPPORTED_GROUPS = 10,
    EXT_EC_POINT_FORMATS = 11,
    EXT_SIGNATURE_ALGORITHMS = 13,
    EXT_ALPN = 16,
    EXT_SUPPORTED_VERSIONS = 43,
    EXT_KEY_SHARE = 51,
};

int tls_msg_header(struct cur *c, uint8_t *type, struct cur *body)
{
    struct cur save = *c;
    int rc = cur_u8(c, type);

    if (rc == TI_OK)
        rc = cur_vec(c, 3, body);
    if (rc != TI_OK)
        *c = save;
    return rc;
}

static void set_note(char *note, size_t notelen, const char *msg, unsigned type,
                     const char *problem)
{
    const char *name = tls_ext_name((uint16_t)type);

    if (note == NULL || notelen == 0 || note[0] != '\0')
        return;   /* keep the first problem */
    snprintf(note, notelen, "%s extension %u (%s) %s", msg, type,
             name ? name : "unknown", problem);
}

/* ---- ClientHello extensions -------------------------------------------- */

/* A u16 list inside a vector of `lenbytes` length: even length in
 * [minlen, maxlen], consumed exactly.  Keeps up to cap entries. */
static int parse_u16_list(struct cur *ext, int lenbytes, size_t minlen,
                          uint16_t *out, uint16_t *n, uint16_t cap,
                          bool *truncated)
{
    struct cur v;
    uint16_t x;

    if (cur_vec(ext, lenbytes, &v) != TI_OK || !cur_done(ext))
        return TI_EMALFORMED;
    if (cur_left(&v) < minlen || cur_left(&v) % 2 != 0)
        return TI_EMALFORMED;
    *n = 0;
    while (cur_u16(&v, &x) == TI_OK) {
        if (*n < cap)
            out[(*n)++] = x;
        else
            *truncated = true;
    }
    return TI_OK;
}

/* Copy wire bytes into a NUL-free string: NUL is written as "\0" (as x509.h
 * does) so "good.example\0.evil" can never pass for "good.example". */
static char *dup_escaped(struct cur s)
{
    size_t n = cur_left(&s), extra = 0, j = 0;
    char *out;
    uint8_t b;

    for (struct cur t = s; cur_u8(&t, &b) == TI_OK;)
        extra += (b == 0);
    out = malloc(n + extra + 1);
    if (out == NULL)
        return NULL;
    while (cur_u8(&s, &b) == TI_OK) {
        if (b == 0) {
            out[j++] = '\\';
            out[j++] = '0';
        } else {
            out[j++] = (char)b;
        }
    }
    out[j] = '\0';
    return out;
}

/* RFC 6066 3: ServerNameList<1..2^16-1> of {name_type, HostName<1..2^16-1>};
 * the first host_name (type 0) is kept. */
static int parse_sni(struct cur *ext, struct conn_client_hello *h)
{
    struct cur list, name, first = {NULL, NULL};
    uint8_t type;
    bool have = false;

    if (cur_vec(ext, 2, &list) != TI_OK || !cur_done(ext) || cur_left(&list) == 0)
        return TI_EMALFORMED;
    while (!cur_done(&list)) {
        if (cur_u8(&list, &type) != TI_OK || cur_vec(&list, 2, &name) != TI_OK ||
            cur_left(&name) == 0)
            return TI_EMALFORMED;
        if (type == 0 && !have) {
            first = name;
            have = true;
        }
    }
    if (have) {
        h->sni = dup_escaped(first);
        if (h->sni == NULL)
            return TI_ENOMEM;
    }
    return TI_OK;
}

/* RFC 7301 3.1: ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>. */
static int parse_alpn(struct cur *ext, struct conn_client_hello *h,
                      struct cur *first)
{
    struct cur list, name;

    if (cur_vec(ext, 2, &list) != TI_OK || !cur_done(ext) || cur_left(&list) < 2)
        return TI_EMALFORMED;
    while (!cur_done(&list)) {
        if (cur_vec(&list, 1, &name) != TI_OK || cur_left(&name) == 0)
            return TI_EMALFORMED;
        if (first->p == NULL)
            *first = name;
        if (h->n_alpn >= CONN_MAX_ALPN) {
            h->lists_truncated = true;
            continue;
        }
        h->alpn[h->n_alpn] = dup_escaped(name);
        if (h->alpn[h->n_alpn] == NULL)
            return TI_ENOMEM;
        h->n_alpn++;
    }
    return TI_OK;
}

/* RFC 8446 4.2.8: client_shares<0..2^16-1> of {group, key_exchange<1..2^16-1>}. */
static int parse_key_share(struct cur *ext, struct conn_client_hello *h)
{
    struct cur list, key;
    uint16_t group;

    if (cur_vec(ext, 2, &list) != TI_OK || !cur_done(ext))
        return TI_EMALFORMED;
    while (!cur_done(&list)) {
        if (cur_u16(&list, &group) != TI_OK || cur_vec(&list, 2, &key) != TI_OK ||
            cur_left(&key) == 0)
            return TI_EMALFORMED;
        if (h->n_key_share_groups < CONN_MAX_GROUPS)
            h->key_share_groups[h->n_key_share_groups++] = group;
        else
            h->lists_truncated = true;
    }
    return TI_OK;
}

/* RFC 8422 5.1.2: ECPointFormatList<1..2^8-1>. */
static int parse_point_formats(struct cur *ext, struct conn_client_hello *h)
{
    struct cur list;
    uint8_t f;

    if (cur_vec(ext, 1, &list) != TI_OK || !cur_done(ext) || cur_left(&list) == 0)
        return TI_EMALFORMED;
    while (cur_u8(&list, &f) == TI_OK) {
        if (h->n_point_formats < CONN_MAX_POINTFMTS)
            h->point_formats[h->n_point_formats++] = f;
        else
            h->lists_truncated = true;
    }
    return TI_OK;
}

static void free_alpn(struct conn_client_hello *h)
{
    for (uint16_t i = 0; i < h->n_alpn && i < CONN_MAX_ALPN; i++) {
        free(h->alpn[i]);
        h->alpn[i] = NULL;
    }
    h->n_alpn = 0;
}

/* Parse one extension body; on failure undo what it stored so the hello
 * keeps only well-formed facts. */
static int parse_ch_ext(uint16_t type, struct cur ext, struct conn_client_hello *h,
                        struct cur *alpn0)
{
    int rc;

    switch (type) {
    case EXT_SERVER_NAME:
        rc = parse_sni(&ext, h);
        if (rc != TI_OK) {
            free(h->sni);
            h->sni = NULL;
        }
        return rc;
    case EXT_SUPPORTED_VERSIONS:   /* RFC 8446 4.2.1: versions<2..254> */
        rc = parse_u16_list(&ext, 1, 2, h->versions, &h->n_versions,
                            CONN_MAX_VERSIONS, &h->lists_truncated);
        if (rc != TI_OK)
            h->n_versions = 0;
        return rc;
    case EXT_SIGNATURE_ALGORITHMS: /* RFC 8446 4.2.3: <2..2^16-2> */
        rc = parse_u16_list(&ext, 2, 2, h->sigalgs, &h->n_sigalgs,
                            CONN_MAX_SIGALGS, &h->lists_truncated);
        if (rc != TI_OK)
            h->n_sigalgs = 0;
        return rc;
    case EXT_SUPPORTED_GROUPS:     /* RFC 8446 4.2.7: <2..2^16-1> */
        rc = parse_u16_list(&ext, 2, 2, h->groups, &h->n_groups,
                            CONN_MAX_GROUPS, &h->lists_truncated);
        if (rc != TI_OK)
            h->n_groups = 0;
        return rc;
    case EXT_EC_POINT_FORMATS:
        rc = parse_point_formats(&ext, h);
        if (rc != TI_OK)
            h->n_point_formats = 0;
        return rc;
    case EXT_ALPN:
        rc = parse_alpn(&ext, h, alpn0);
        if (rc != TI_OK) {
            free_alpn(h);
            alpn0->p = alpn0->end = NULL;
        }
        return rc;
    case EXT_KEY_SHARE:
        rc = parse_key_share(&ext, h);
        if (rc != TI_OK)
            h->n_key_share_groups = 0;
        return rc;
    default:
        return TI_OK;
    }
}

/* Where a ClientHello's lists are filled, at their full capacities, before
 * conn_hello_keep_lists() keeps what they hold. */
struct hello_scratch {
    char *alpn[CONN_MAX_ALPN];
    uint16_t exts[CONN_MAX_EXTS];
    uint16_t versions[CONN_MAX_VERSIONS];
    uint16_t sigalgs[CONN_MAX_SIGALGS];
    uint16_t groups[CONN_MAX_GROUPS];
    uint16_t key_share_groups[CONN_MAX_GROUPS];
    uint8_t point_formats[CONN_MAX_POINTFMTS];
};

static void hello_scratch_lists(struct conn_client_hello *h, struct hello_scratch *s)
{
    h->alpn = s->alpn;
    h->exts = s->exts;
    h->versions = s->versions;
    h->sigalgs = s->sigalgs;
    h->groups = s->groups;
    h->key_share_groups = s->key_share_groups;
    h->point_formats = s->point_formats;
}

static bool seen_ext(const uint16_t *types, size_t n, uint16_t type)
{
    for (size_t i = 0; i < n; i++)
        if (types[i] == type)
            return true;
    return false;
}

/* The part of a ClientHello after the cipher suites, read leniently (see
 * tls_msg_client_hello_salvage): the compression methods when they frame
 * (any length), then the extensions that frame before the first broken one.
 * Sets *exts to those extensions and *where to what was lost ("" if
 * nothing). */
static void salvage_tail(struct cur c, struct cur *exts, const char **where)
{
    struct cur comp, t, ext;
    uint16_t type;

    *exts = cur_make(NULL, 0);
    *where = "";
    if (cur_done(&c))
        return;
    if (cur_vec(&c, 1, &comp) != TI_OK) {
        *where = "compression methods overrun the message";
        return;
    }
    if (cur_left(&comp) == 0)
        *where = "empty compression methods";
    if (cur_done(&c))
        return;
    if (cur_vec(&c, 2, exts) != TI_OK) {
        *where = "extensions overrun the message";
        *exts = cur_make(NULL, 0);
        return;
    }
    if (!cur_done(&c))
        *where = "bytes after the extensions";
    for (t = *exts; !cur_done(&t);) {
        struct cur before = t;
        if (cur_u16(&t, &type) != TI_OK || cur_vec(&t, 2, &ext) != TI_OK) {
            exts->end = before.p;   /* keep the extensions before the broken one */
            *where = "an extension overruns the extension list";
            return;
        }
    }
}

static int fingerprints(struct conn_client_hello *h, const uint8_t *alpn0, size_t alpn0_len,
                        struct tls_fp_memo *m);

/* RFC 8446 4.1.2 / RFC 5246 7.4.1.2; lenient: see the salvage function. */
static int client_hello(const uint8_t *body, size_t len,
                        const struct tls_names *names, struct tls_fp_memo *memo,
                        struct conn_client_hello *out,
                        char *note, size_t notelen, bool lenient)
{
    struct conn_client_hello h;
    struct hello_scratch scratch;
    struct cur c = cur_make(body, len), sid = {NULL, NULL}, suites = {NULL, NULL};
    struct cur comp = {NULL, NULL}, exts = {NULL, NULL}, ext = {NULL, NULL};
    struct cur alpn0 = {NULL, NULL};
    const char *lost = "";
    uint16_t v = 0, type = 0;
    int rc;

    memset(&h, 0, sizeof(h));
    hello_scratch_lists(&h, &scratch);
    if (note != NULL && notelen > 0)
        note[0] = '\0';
    if ((rc = cur_u16(&c, &h.legacy_version)) != TI_OK ||
        (rc = cur_skip(&c, 32)) != TI_OK ||
        (rc = cur_vec(&c, 1, &sid)) != TI_OK)
        return rc;
    if (cur_left(&sid) > 32)
        return TI_EMALFORMED;
    h.session_id_len = (uint8_t)cur_left(&sid);
    if ((rc = cur_vec(&c, 2, &suites)) != TI_OK)
        return rc;
    if (cur_left(&suites) < 2 || cur_left(&suites) % 2 != 0)
        return TI_EMALFORMED;
    if (lenient) {
        salvage_tail(c, &exts, &lost);
    } else {
        if ((rc = cur_vec(&c, 1, &comp)) != TI_OK)
            return rc;
        if (cur_left(&comp) < 1)
            return TI_EMALFORMED;
        if (!cur_done(&c)) {
            /* Extensions are optional in SSL 3.0 / TLS 1.0-1.2 hellos. */
            if ((rc = cur_vec(&c, 2, &exts)) != TI_OK)
                return rc;
            if (!cur_done(&c))
                return TI_EMALFORMED;
            /* Frame every extension first: a broken frame is a broken hello. */
            for (struct cur t = exts; !cur_done(&t);) {
                if (cur_u16(&t, &type) != TI_OK || cur_vec(&t, 2, &ext) != TI_OK)
                    return TI_EMALFORMED;
            }
        } else {
            exts = cur_make(NULL, 0);
        }
    }

    h.n_suites = (uint32_t)(cur_left(&suites) / 2);
    h.suites = malloc(h.n_suites * sizeof(*h.suites));
    if (h.suites == NULL)
        return TI_ENOMEM;
    for (uint32_t i = 0; cur_u16(&suites, &v) == TI_OK; i++)
        h.suites[i] = v;

    while (!cur_done(&exts)) {
        (void)cur_u16(&exts, &type);   /* framing checked above */
        (void)cur_vec(&exts, 2, &ext);
        if (seen_ext(h.exts, h.n_exts, type)) {
            /* RFC 8446 4.2: at most one of each type; keep the first. */
            set_note(note, notelen, "ClientHello", type, "repeated");
            continue;
        }
        if (h.n_exts < CONN_MAX_EXTS)
            h.exts[h.n_exts++] = type;
        else
            h.lists_truncated = true;
        rc = parse_ch_ext(type, ext, &h, &alpn0);
        if (rc == TI_ENOMEM) {
            conn_hello_free(&h);
            return rc;
        }
        if (rc != TI_OK)
            set_note(note, notelen, "ClientHello", type, "malformed");
    }
    if (lost[0] != '\0' && note != NULL && notelen > 0)
        snprintf(note, notelen, "ClientHello malformed (%s): read up to there", lost);

    tls_msg_preferred_auth(&h, names);
    if ((rc = fingerprints(&h, alpn0.p, cur_left(&alpn0), memo)) != TI_OK ||
        (rc = conn_hello_keep_lists(&h)) != TI_OK) {
        conn_hello_free(&h);
        return rc;
    }
    *out = h;
    return TI_OK;
}

int tls_msg_client_hello(const uint8_t *body, size_t len,
                         const struct tls_names *names, struct tls_fp_memo *memo,
                         struct conn_client_hello *out,
                         char *note, size_t notelen)
{
    return client_hello(body, len, names, memo, out, note, notelen, false);
}

int tls_msg_client_hello_salvage(const uint8_t *body, size_t len,
                                 const struct tls_names *names, struct tls_fp_memo *memo,
                                 struct conn_client_hello *out,
                                 char *note, size_t notelen)
{
    return client_hello(body, len, names, memo, out, note, notelen, true);
}

/* RFC 5246 E.2 / RFC 6101 E: the SSL 2.0 CLIENT-HELLO some old clients send
 * to offer SSL 3.0/TLS from an SSLv2-compatible start. */
int tls_msg_sslv2_client_hello(const uint8_t *msg, size_t len,
                               const struct tls_names *names,
                               struct conn_client_hello *out)
{
    struct conn_client_hello h;
    struct cur c = cur_make(msg, len), specs, sid, chal;
    uint8_t type, b0;
    uint16_t spec_len, sid_len, chal_len, code;
    uint32_t n = 0;
    int rc;

    memset(&h, 0, sizeof(h));
    if ((rc = cur_u8(&c, &type)) != TI_OK ||
        (rc = cur_u16(&c, &h.legacy_version)) != TI_OK ||
        (rc = cur_u16(&c, &spec_len)) != TI_OK ||
        (rc = cur_u16(&c, &sid_len)) != TI_OK ||
        (rc = cur_u16(&c, &chal_len)) != TI_OK)
        return rc;
    if (type != 1)
        return TI_EMALFORMED;
    if (spec_len == 0 || spec_len % 3 != 0 || sid_len > 32 ||
        chal_len < 16 || chal_len > 32)
        return TI_EMALFORMED;
    if ((rc = cur_bytes(&c, spec_len, &specs)) != TI_OK ||
        (rc = cur_bytes(&c, sid_len, &sid)) != TI_OK ||
        (rc = cur_bytes(&c, chal_len, &chal)) != TI_OK)
        return rc;
    if (!cur_done(&c))
        return TI_EMALFORMED;

    h.sslv2 = true;
    h.session_id_len = (uint8_t)sid_len;
    h.suites = malloc((spec_len / 3) * sizeof(*h.suites));
    if (h.suites == NULL)
        return TI_ENOMEM;
    while (cur_u8(&specs, &b0) == TI_OK && cur_u16(&specs, &code) == TI_OK) {
        if (b0 == 0)   /* 0x00XXXX = TLS suite XXXX; others are SSLv2-only */
            h.suites[n++] = code;
    }
    h.n_suites = n;
    tls_msg_preferred_auth(&h, names);
    *out = h;
    return TI_OK;
}

/* ---- ServerHello --------------------------------------------------------- */

bool tls_msg_sh_is_early_draft(uint16_t version)
{
    /* 0x7fNN is draft NN; draft 22 brought back the TLS 1.2 layout
     * (legacy_session_id_echo, legacy_compression_method) for middleboxes. */
    return (version >> 8) == 0x7f && (version & 0xff) < 22;
}

/* RFC 8446 4.1.3 (and 4.1.4: HelloRetryRequest shares the layout). */
int tls_msg_server_hello(const uint8_t *body, size_t len,
                         const struct tls_names *names,
                         struct conn_server_hello *out,
                         char *note, size_t notelen)
{
    struct conn_server_hello sh;
    struct cur c = cur_make(body, len), random = {NULL, NULL}, sid = {NULL, NULL};
    struct cur exts = {NULL, NULL}, ext = {NULL, NULL};
    uint16_t type = 0, sv = 0;
    bool have_sv = false;
    int rc;

    memset(&sh, 0, sizeof(sh));
    if (note != NULL && notelen > 0)
        note[0] = '\0';
    if ((rc = cur_u16(&c, &sh.legacy_version)) != TI_OK ||
        (rc = cur_bytes(&c, 32, &random)) != TI_OK)
        return rc;
    if (tls_msg_sh_is_early_draft(sh.legacy_version)) {
        /* draft-ietf-tls-tls13-16 4.1.3 (drafts up to 21): version(2)
         * random(32) cipher_suite(2) extensions<0..2^16-1>: no session_id,
         * no compression; the version is the negotiated one. */
        if ((rc = cur_u16(&c, &sh.suite)) != TI_OK)
            return rc;
    } else {
        if ((rc = cur_vec(&c, 1, &sid)) != TI_OK)
            return rc;
        if (cur_left(&sid) > 32)
            return TI_EMALFORMED;
        if ((rc = cur_u16(&c, &sh.suite)) != TI_OK ||
            (rc = cur_u8(&c, &sh.compression)) != TI_OK)
            return rc;
    }
    if (!cur_done(&c)) {
        if ((rc = cur_vec(&c, 2, &exts)) != TI_OK)
            return rc;
        if (!cur_done(&c))
            return TI_EMALFORMED;
        for (struct cur t = exts; !cur_done(&t);) {
            if (cur_u16(&t, &type) != TI_OK || cur_vec(&t, 2, &ext) != TI_OK)
                return TI_EMALFORMED;
        }
        while (!cur_done(&exts)) {
            (void)cur_u16(&exts, &type);
            (void)cur_vec(&exts, 2, &ext);
            if (sh.n_exts < CONN_MAX_EXTS)
                sh.exts[sh.n_exts++] = type;
            if (type == EXT_SUPPORTED_VERSIONS && !have_sv) {
                /* RFC 8446 4.2.1: selected_version, exactly 2 bytes */
                if (cur_u16(&ext, &sv) == TI_OK && cur_done(&ext))
                    have_sv = true;
                else
                    set_note(note, notelen, "ServerHello", type, "malformed");
            }
        }
    }
    sh.present = true;
    sh.hrr = memcmp(random.p, TLS_HRR_RANDOM, sizeof(TLS_HRR_RANDOM)) == 0;
    sh.version = have_sv ? sv : sh.legacy_version;
    sh.auth = tls_suite_auth(names, sh.suite);
    *out = sh;
    return TI_OK;
}

/* ---- Certificate ------------------------------------------------------- */

/* Walk the certificate list; with pool == NULL only validate. */
static int cert_walk(struct cur list, bool tls13, struct x509_pool *pool,
                     const struct x509_cert **certs, uint16_t cap, uint16_t *n,
                     bool *truncated)
{
    struct cur der, exts;

    while (!cur_done(&list)) {
        if (cur_vec(&list, 3, &der) != TI_OK || cur_left(&der) == 0)
            return TI_EMALFORMED;
        if (tls13 && cur_vec(&list, 2, &exts) != TI_OK)
            return TI_EMALFORMED;
        if (pool == NULL)
            continue;
        if (*n >= cap) {
            *truncated = true;
            continue;
        }
        certs[*n] = x509_intern(pool, der.p, cur_left(&der));
        if (certs[*n] == NULL) {
            /* out of memory or the pool is full: keep what we have */
            *truncated = true;
            return TI_OK;
        }
        (*n)++;
    }
    return TI_OK;
}

/* RFC 5246 7.4.2 / RFC 8446 4.4.2. */
int tls_msg_certificate(const uint8_t *body, size_t len, bool tls13,
                        struct x509_pool *pool,
                        const struct x509_cert **certs, uint16_t cap,
                        uint16_t *n, bool *truncated)
{
    struct cur c = cur_make(body, len), ctx, list;
    uint16_t got = 0;
    bool trunc = false;
    int rc;

    if (tls13 && (rc = cur_vec(&c, 1, &ctx)) != TI_OK)
        return rc;
    if ((rc = cur_vec(&c, 3, &list)) != TI_OK)
        return rc;
    if (!cur_done(&c))
        return TI_EMALFORMED;
    if ((rc = cert_walk(list, tls13, NULL, NULL, 0, NULL, NULL)) != TI_OK)
        return rc;
    if (pool != NULL) {
        rc = cert_walk(list, tls13, pool, certs, cap, &got, &trunc);
        if (rc != TI_OK)
            return rc;
    }
    *n = got;
    *truncated = trunc;
    return TI_OK;
}

/* ---- Alert ------------------------------------------------------------- */

int tls_msg_alert(const uint8_t *body, size_t len, uint8_t *level,
                  uint8_t *description)
{
    if (len < 2)
        return TI_ETRUNC;
    if (len > 2)
        return TI_EMALFORMED;
    *level = body[0];
    *description = body[1];
    return TI_OK;
}

/* ---- preferred authentication ----------------------------------------- */

static bool version_is_tls13(uint16_t v)
{
    return v == 0x0304 || (v >> 8) == 0x7f;
}

static bool auth_is_cert(enum conn_auth a)
{
    return a == AUTH_RSA || a == AUTH_ECDSA || a == AUTH_DSA;
}

void tls_msg_preferred_auth(struct conn_client_hello *h,
                            const struct tls_names *names)
{
    bool only13 = false, any = false;

    h->preferred_auth = AUTH_NONE;
    h->preferred_suite = 0;
    for (uint16_t i = 0; i < h->n_versions; i++) {
        if (tls_is_grease(h->versions[i]))
            continue;
        if (!any)
            only13 = true;
        any = true;
        if (!version_is_tls13(h->versions[i]))
            only13 = false;
    }
    if (!only13) {
        for (uint32_t i = 0; i < h->n_suites; i++) {
            uint16_t s = h->suites[i];
            enum conn_auth a;
            if (tls_is_grease(s) || !tls_suite_is_ephemeral_12(names, s))
                continue;
            a = tls_suite_auth(names, s);
            if (auth_is_cert(a)) {
                h->preferred_auth = a;
                h->preferred_suite = s;
                return;
            }
        }
        /* No forward-secret suite: the first suite with a certificate. */
        for (uint32_t i = 0; i < h->n_suites; i++) {
            uint16_t s = h->suites[i];
            enum conn_auth a;
            if (tls_is_grease(s) || tls_suite_is_tls13(s))
                continue;
            a = tls_suite_auth(names, s);
            if (auth_is_cert(a)) {
                h->preferred_auth = a;
                h->preferred_suite = s;
                return;
            }
        }
    }
    for (uint16_t i = 0; i < h->n_sigalgs; i++) {
        if (tls_is_grease(h->sigalgs[i]))
            continue;
        h->preferred_auth = tls_sigalg_auth(h->sigalgs[i]);
        return;
    }
}

/* ---- JA3 / JA4 ------------------------------------------------------- */

/* Text goes to an optional digest and an optional bounded buffer.  The
 * digest is fed SINK_CHUNK bytes at a time: one EVP_DigestUpdate() and one
 * snprintf() per number cost more than the hashing (a ClientHello has a
 * hundred numbers, and a capture thousands of ClientHellos). */
#define SINK_CHUNK 1024
struct sink {
    EVP_MD_CTX *md;
    char *buf;
    size_t cap;
    size_t len;
    bool failed;
    char pend[SINK_CHUNK];   /* text not yet given to the digest */
    size_t npend;
};

static void sink_drain(struct sink *s)
{
    if (s->md != NULL && s->npend > 0 && EVP_DigestUpdate(s->md, s->pend, s->npend) != 1)
        s->failed = true;
    s->npend = 0;
}

static void sink_put(struct sink *s, const char *p, size_t n)
{
    if (s->md != NULL && n > 0) {
        if (n > SINK_CHUNK - s->npend)
            sink_drain(s);
        if (n > SINK_CHUNK) {
            if (EVP_DigestUpdate(s->md, p, n) != 1)
                s->failed = true;
        } else {
            memcpy(s->pend + s->npend, p, n);
            s->npend += n;
        }
    }
    if (s->buf != NULL && s->cap > 0 && s->len < s->cap - 1) {
        size_t room = s->cap - 1 - s->len;
        memcpy(s->buf + s->len, p, n < room ? n : room);
        s->buf[s->len + (n < room ? n : room)] = '\0';
    }
    s->len += n;
}

static void sink_dec(struct sink *s, unsigned v)
{
    char tmp[12];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    sink_put(s, tmp + i, sizeof(tmp) - i);
}

static void sink_hex4(struct sink *s, uint16_t v)
{
    char tmp[4];

    hex_u16(v, tmp);
    sink_put(s, tmp, sizeof(tmp));
}

static void ja3_list16(struct sink *s, const uint16_t *v, size_t n)
{
    bool first = true;

    for (size_t i = 0; i < n; i++) {
        if (tls_is_grease(v[i]))
            continue;
        if (!first)
            sink_put(s, "-", 1);
        sink_dec(s, v[i]);
        first = false;
    }
}

static void ja3_emit(const struct conn_client_hello *h, struct sink *s)
{
    sink_dec(s, h->legacy_version);
    sink_put(s, ",", 1);
    ja3_list16(s, h->suites, h->n_suites);
    sink_put(s, ",", 1);
    ja3_list16(s, h->exts, h->n_exts);
    sink_put(s, ",", 1);
    ja3_list16(s, h->groups, h->n_groups);
    sink_put(s, ",", 1);
    for (uint16_t i = 0; i < h->n_point_formats; i++) {
        if (i > 0)
            sink_put(s, "-", 1);
        sink_dec(s, h->point_formats[i]);
    }
}

size_t tls_msg_ja3_string(const struct conn_client_hello *h, char *buf,
                          size_t buflen)
{
    struct sink s = {.buf = buf, .cap = buflen};

    if (buf != NULL && buflen > 0)
        buf[0] = '\0';
    ja3_emit(h, &s);
    return s.len;
}

/* ---- fingerprint memo -------------------------------------------------- */

/* A capture's ClientHellos mostly repeat (one client build makes them all),
 * and JA3/JA4 cost more than parsing the hello: two lists to format, one to
 * sort, three EVP digests.  The memo maps the fields JA3 and JA4 read
 * (legacy_version, suites, extensions, groups, point formats, versions,
 * signature algorithms, the first ALPN name) to the two fingerprints.  The
 * key is those fields' bytes, compared in full on a hit; a hello whose key
 * is longer than FP_KEY_MAX is fingerprinted without the memo.  A slot holds
 * one key; a new key that lands on it replaces it. */
#define FP_MEMO_SLOTS 128              /* power of two */
#define FP_KEY_MAX    4096
#define FP_TEXT_MAX   2048             /* digest inputs up to this are built in one piece */

enum fp_alg { FP_MD5 = 0, FP_SHA256 = 1 };

struct fp_slot {
    uint64_t hash;
    uint8_t *key;                      /* NULL: empty slot */
    size_t len;
    char ja3[33];
    char ja4[40];
};

struct tls_fp_memo {
    struct fp_slot slot[FP_MEMO_SLOTS];
    EVP_MD *md[2];                     /* fetched once: FP_MD5, FP_SHA256 */
    EVP_MD_CTX *ctx;                   /* reused for every digest */
    uint64_t hits, misses;
};

int tls_fp_memo_new(struct tls_fp_memo **out)
{
    struct tls_fp_memo *m = calloc(1, sizeof(*m));

    *out = NULL;
    if (m == NULL)
        return TI_ENOMEM;
    m->md[FP_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
    m->md[FP_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
    m->ctx = EVP_MD_CTX_new();
    if (m->md[FP_MD5] == NULL || m->md[FP_SHA256] == NULL || m->ctx == NULL) {
        tls_fp_memo_free(m);
        return TI_EUNSUPPORTED;
    }
    *out = m;
    return TI_OK;
}

void tls_fp_memo_free(struct tls_fp_memo *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < FP_MEMO_SLOTS; i++)
        free(m->slot[i].key);
    EVP_MD_free(m->md[FP_MD5]);
    EVP_MD_free(m->md[FP_SHA256]);
    EVP_MD_CTX_free(m->ctx);
    free(m);
}

void tls_fp_memo_stats(const struct tls_fp_memo *m, uint64_t *hits, uint64_t *misses)
{
    *hits = m != NULL ? m->hits : 0;
    *misses = m != NULL ? m->misses : 0;
}

/* Appends a counted array to the key; false once it would pass cap. */
static bool fp_key_put(uint8_t *key, size_t cap, size_t *len, const void *p, size_t n)
{
    uint32_t count = (uint32_t)n;

    if (n > cap || cap - *len < sizeof(count) + n)
        return false;
    memcpy(key + *len, &count, sizeof(count));
    if (n > 0)                         /* p may be NULL for an empty list */
        memcpy(key + *len + sizeof(count), p, n);
    *len += sizeof(count) + n;
    return true;
}

/* The key of h (see above) in key[0, *len); false when longer than cap. */
static bool fp_key(const struct conn_client_hello *h, const uint8_t *alpn0, size_t alpn0_len,
                   uint8_t *key, size_t cap, size_t *len)
{
    *len = 0;
    return fp_key_put(key, cap, len, &h->legacy_version, sizeof(h->legacy_version)) &&
           fp_key_put(key, cap, len, h->suites, (size_t)h->n_suites * sizeof(uint16_t)) &&
           fp_key_put(key, cap, len, h->exts, (size_t)h->n_exts * sizeof(uint16_t)) &&
           fp_key_put(key, cap, len, h->groups, (size_t)h->n_groups * sizeof(uint16_t)) &&
           fp_key_put(key, cap, len, h->point_formats, h->n_point_formats) &&
           fp_key_put(key, cap, len, h->versions, (size_t)h->n_versions * sizeof(uint16_t)) &&
           fp_key_put(key, cap, len, h->sigalgs, (size_t)h->n_sigalgs * sizeof(uint16_t)) &&
           fp_key_put(key, cap, len, alpn0, alpn0 != NULL ? alpn0_len : 0);
}

/* Hex digest (2 * 16 or 2 * 32 chars + NUL) of text[0, len); m (may be
 * NULL) lends its fetched digests and context. */
static int fp_digest(struct tls_fp_memo *m, int alg, const char *text, size_t len, char *hex)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0, want = alg == FP_MD5 ? 16 : 32;
    int ok;

    if (m != NULL)
        ok = EVP_DigestInit_ex2(m->ctx, m->md[alg], NULL) == 1 &&
             EVP_DigestUpdate(m->ctx, text, len) == 1 &&
             EVP_DigestFinal_ex(m->ctx, d, &dl) == 1;
    else
        ok = EVP_Digest(text, len, d, &dl, alg == FP_MD5 ? EVP_md5() : EVP_sha256(), NULL) == 1;
    if (!ok || dl != want)
        return TI_EUNSUPPORTED;
    hex_encode(d, want, hex);
    return TI_OK;
}

/* The JA3 digest as a stream: for strings longer than FP_TEXT_MAX. */
static int ja3_stream(const struct conn_client_hello *h, char out[33])
{
    struct sink s = {.md = NULL};
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    int rc = TI_OK;

    out[0] = '\0';
    s.md = EVP_MD_CTX_new();
    if (s.md == NULL)
        return TI_ENOMEM;
    if (EVP_DigestInit_ex(s.md, EVP_md5(), NULL) != 1) {
        rc = TI_EUNSUPPORTED;
        goto out;
    }
    ja3_emit(h, &s);
    sink_drain(&s);
    if (s.failed || EVP_DigestFinal_ex(s.md, d, &dl) != 1 || dl != 16) {
        rc = TI_EUNSUPPORTED;
        goto out;
    }
    hex_encode(d, 16, out);
out:
    EVP_MD_CTX_free(s.md);
    return rc;
}

static int ja3_compute(const struct conn_client_hello *h, struct tls_fp_memo *memo, char out[33])
{
    char text[FP_TEXT_MAX];
    struct sink s = {.buf = text, .cap = sizeof(text)};

    out[0] = '\0';
    ja3_emit(h, &s);
    if (s.len >= sizeof(text))
        return ja3_stream(h, out);
    return fp_digest(memo, FP_MD5, text, s.len, out);
}

int tls_msg_ja3(const struct conn_client_hello *h, char out[33])
{
    return ja3_compute(h, NULL, out);
}

/* Heapsort: no allocation and no comparison callback, n log n even for a
 * hostile 32767-suite list (glibc's qsort allocates and calls back). */
static void sort_u16(uint16_t *v, size_t n)
{
    size_t start = n / 2, end = n;

    while (end > 1) {
        size_t root, child;
        uint16_t t;

        if (start > 0) {
            start--;
        } else {
            end--;
            t = v[0];
            v[0] = v[end];
            v[end] = t;
        }
        root = start;
        while ((child = 2 * root + 1) < end) {
            if (child + 1 < end && v[child] < v[child + 1])
                child++;
            if (v[root] >= v[child])
                break;
            t = v[root];
            v[root] = v[child];
            v[child] = t;
            root = child;
        }
    }
}

/* The text JA4's b and c hash: hex4 values ','-joined, then '_' and the
 * signature algorithms. */
static void ja4_emit(struct sink *s, const uint16_t *sorted, size_t n, const uint16_t *sig,
                     size_t nsig)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sink_put(s, ",", 1);
        sink_hex4(s, sorted[i]);
    }
    if (nsig > 0) {
        sink_put(s, "_", 1);
        for (size_t i = 0; i < nsig; i++) {
            if (i > 0)
                sink_put(s, ",", 1);
            sink_hex4(s, sig[i]);
        }
    }
}

/* First 12 hex digits of SHA-256 over what ja4_emit() writes. */
static int ja4_hash12(const uint16_t *sorted, size_t n, const uint16_t *sig,
                      size_t nsig, struct tls_fp_memo *memo, char out[13])
{
    struct sink s = {.md = NULL};
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    char hex[65];
    char text[FP_TEXT_MAX];
    int rc = TI_OK;

    s.buf = text;
    s.cap = sizeof(text);
    ja4_emit(&s, sorted, n, sig, nsig);
    if (s.len < sizeof(text)) {
        rc = fp_digest(memo, FP_SHA256, text, s.len, hex);
        if (rc == TI_OK) {
            memcpy(out, hex, 12);
            out[12] = '\0';
        }
        return rc;
    }
    /* too long to keep: digest it as a stream */
    s = (struct sink){.md = NULL};
    s.md = EVP_MD_CTX_new();
    if (s.md == NULL)
        return TI_ENOMEM;
    if (EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
        rc = TI_EUNSUPPORTED;
        goto out;
    }
    ja4_emit(&s, sorted, n, sig, nsig);
    sink_drain(&s);
    if (s.failed || EVP_DigestFinal_ex(s.md, d, &dl) != 1 || dl != 32) {
        rc = TI_EUNSUPPORTED;
        goto out;
    }
    hex_encode(d, 32, hex);
    memcpy(out, hex, 12);
    out[12] = '\0';
out:
    EVP_MD_CTX_free(s.md);
    return rc;
}

static const char *ja4_version(const struct conn_client_hello *h)
{
    uint16_t v = h->legacy_version;
    bool have = false;

    /* Highest non-GREASE supported_versions value, else legacy_version. */
    for (uint16_t i = 0; i < h->n_versions; i++) {
        if (tls_is_grease(h->versions[i]))
            continue;
        if (!have || h->versions[i] > v)
            v = h->versions[i];
        have = true;
    }
    switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002:
    case 0x0200: return "s2";
    case 0x0100: return "s1";
    default: return "00";
    }
}

static bool is_alnum(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

/* FoxIO JA4 spec: first and last character of the first ALPN value; when
 * either is not alphanumeric, the first hex digit of the first byte and the
 * last hex digit of the last byte. */
static void ja4_alpn(const uint8_t *a, size_t n, char out[3])
{
    if (a == NULL || n == 0) {
        out[0] = out[1] = '0';
    } else if (is_alnum(a[0]) && is_alnum(a[n - 1])) {
        out[0] = (char)a[0];
        out[1] = (char)a[n - 1];
    } else {
        out[0] = hex_digit(a[0] >> 4);
        out[1] = hex_digit(a[n - 1]);
    }
    out[2] = '\0';
}

static int ja4_compute(const struct conn_client_hello *h, const uint8_t *alpn0,
                       size_t alpn0_len, struct tls_fp_memo *memo, char out[40])
{
    uint16_t *list = NULL;
    uint16_t sig[CONN_MAX_SIGALGS];
    size_t n = 0, nsig = 0, next = 0;
    char alpn[3], hb[13], hc[13];
    bool sni = false;
    int rc;

    out[0] = '\0';
    /* One scratch list serves the ciphers, then the extensions. */
    list = malloc(((size_t)h->n_suites + CONN_MAX_EXTS + 1) * sizeof(*list));
    if (list == NULL)
        return TI_ENOMEM;

    for (uint32_t i = 0; i < h->n_suites; i++)
        if (!tls_is_grease(h->suites[i]))
            list[n++] = h->suites[i];
    if (n == 0) {
        memcpy(hb, "000000000000", 13);
    } else {
        sort_u16(list, n);
        if ((rc = ja4_hash12(list, n, NULL, 0, memo, hb)) != TI_OK)
            goto out;
    }
    size_t nciph = n;

    n = 0;
    for (uint16_t i = 0; i < h->n_exts; i++) {
        uint16_t e = h->exts[i];
        if (tls_is_grease(e))
            continue;
        next++;
        if (e == EXT_SERVER_NAME)
            sni = true;
        if (e == EXT_SERVER_NAME || e == EXT_ALPN)
            continue;
        list[n++] = e;
    }
    for (uint16_t i = 0; i < h->n_sigalgs && i < CONN_MAX_SIGALGS; i++)
        if (!tls_is_grease(h->sigalgs[i]))
            sig[nsig++] = h->sigalgs[i];
    if (n == 0 && nsig == 0) {
        memcpy(hc, "000000000000", 13);
    } else {
        sort_u16(list, n);
        if ((rc = ja4_hash12(list, n, sig, nsig, memo, hc)) != TI_OK)
            goto out;
    }
    ja4_alpn(alpn0, alpn0_len, alpn);
    snprintf(out, 40, "t%s%c%02u%02u%s_%s_%s", ja4_version(h), sni ? 'd' : 'i',
             (unsigned)(nciph > 99 ? 99 : nciph), (unsigned)(next > 99 ? 99 : next),
             alpn, hb, hc);
    rc = TI_OK;
out:
    free(list);
    return rc;
}

int tls_msg_ja4(const struct conn_client_hello *h, const uint8_t *alpn0,
                size_t alpn0_len, char out[40])
{
    return ja4_compute(h, alpn0, alpn0_len, NULL, out);
}

/* JA3 and JA4 of h, from the memo when it has them (see tls_fp_memo). */
static int fingerprints(struct conn_client_hello *h, const uint8_t *alpn0, size_t alpn0_len,
                        struct tls_fp_memo *m)
{
    uint8_t key[FP_KEY_MAX];
    struct fp_slot *slot = NULL;
    uint64_t hash = 0;
    size_t len = 0;
    int rc;

    if (m != NULL && fp_key(h, alpn0, alpn0_len, key, sizeof(key), &len)) {
        hash = ti_hash_bytes(key, len);
        slot = &m->slot[hash & (FP_MEMO_SLOTS - 1)];
        if (slot->key != NULL && slot->hash == hash && slot->len == len &&
            memcmp(slot->key, key, len) == 0) {
            memcpy(h->ja3, slot->ja3, sizeof(h->ja3));
            memcpy(h->ja4, slot->ja4, sizeof(h->ja4));
            m->hits++;
            return TI_OK;
        }
    }
    if ((rc = ja3_compute(h, m, h->ja3)) != TI_OK ||
        (rc = ja4_compute(h, alpn0, alpn0_len, m, h->ja4)) != TI_OK)
        return rc;
    if (slot != NULL) {
        uint8_t *copy = malloc(len > 0 ? len : 1);
        if (copy != NULL) {            /* no memory: simply not remembered */
            memcpy(copy, key, len);
            free(slot->key);
            slot->key = copy;
            slot->len = len;
            slot->hash = hash;
            memcpy(slot->ja3, h->ja3, sizeof(slot->ja3));
            memcpy(slot->ja4, h->ja4, sizeof(slot->ja4));
        }
        m->misses++;
    }
    return TI_OK;
}
