/* test_tls_msg.c - ClientHello/ServerHello/Certificate/Alert bodies, JA3, JA4, on hand-built bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tlsinspect/tls_msg.h"
#include "support/bytebuf.h"
#include "support/cert.h"

/* ---- byte builder ------------------------------------------------------ */

/* struct b and b_* come from tests/support/bytebuf.h */

/* ---- extension builders -------------------------------------------------- */

static void ext_raw(struct b *e, unsigned type, const void *body, size_t len)
{
    b_u16(e, type);
    b_u16(e, (unsigned)len);
    b_put(e, body, len);
}

static void ext_sni(struct b *e, const char *name, size_t len)
{
    size_t x, l;
    b_u16(e, 0);
    x = b_open(e, 2);
    l = b_open(e, 2);
    b_u8(e, 0);
    b_u16(e, (unsigned)len);
    b_put(e, name, len);
    b_close(e, l, 2);
    b_close(e, x, 2);
}

/* u16 list extension: lenbytes-long list length inside the extension. */
static void ext_u16s(struct b *e, unsigned type, int lenbytes, const uint16_t *v, size_t n)
{
    size_t x, l;
    b_u16(e, type);
    x = b_open(e, 2);
    l = b_open(e, lenbytes);
    for (size_t i = 0; i < n; i++)
        b_u16(e, v[i]);
    b_close(e, l, lenbytes);
    b_close(e, x, 2);
}

static void ext_alpn(struct b *e, const char *const *names, size_t n)
{
    size_t x, l;
    b_u16(e, 16);
    x = b_open(e, 2);
    l = b_open(e, 2);
    for (size_t i = 0; i < n; i++) {
        b_u8(e, (unsigned)strlen(names[i]));
        b_put(e, names[i], strlen(names[i]));
    }
    b_close(e, l, 2);
    b_close(e, x, 2);
}

static void ext_key_share(struct b *e, const uint16_t *groups, size_t n, size_t keylen)
{
    size_t x, l;
    b_u16(e, 51);
    x = b_open(e, 2);
    l = b_open(e, 2);
    for (size_t i = 0; i < n; i++) {
        b_u16(e, groups[i]);
        b_u16(e, (unsigned)keylen);
        for (size_t k = 0; k < keylen; k++)
            b_u8(e, (unsigned)(k + 1));
    }
    b_close(e, l, 2);
    b_close(e, x, 2);
}

static void ext_pf(struct b *e, const uint8_t *f, size_t n)
{
    b_u16(e, 11);
    b_u16(e, (unsigned)(n + 1));
    b_u8(e, (unsigned)n);
    b_put(e, f, n);
}

/* ClientHello body from raw pieces; exts == NULL: no extensions block. */
static void build_ch_raw(struct b *out, unsigned version, size_t sid_len,
                         const uint8_t *suites, size_t suites_len, size_t comp_len,
                         const struct b *exts)
{
    b_u16(out, version);
    for (unsigned i = 0; i < 32; i++)
        b_u8(out, i);
    b_u8(out, (unsigned)sid_len);
    for (size_t i = 0; i < sid_len; i++)
        b_u8(out, 0xee);
    b_u16(out, (unsigned)suites_len);
    b_put(out, suites, suites_len);
    b_u8(out, (unsigned)comp_len);
    b_zero(out, comp_len);
    if (exts != NULL) {
        b_u16(out, (unsigned)exts->n);
        b_put(out, exts->p, exts->n);
    }
}

static void build_ch(struct b *out, unsigned version, const uint16_t *suites, size_t n,
                     const struct b *exts)
{
    struct b s = {0};
    for (size_t i = 0; i < n; i++)
        b_u16(&s, suites[i]);
    build_ch_raw(out, version, 0, s.p, s.n, 1, exts);
    b_free(&s);
}

/* ---- helpers ----------------------------------------------------------- */

static struct tls_names *names;

static void free_hello(struct conn_client_hello *h)
{
    conn_hello_free(h);
}

static int parse_ch(const struct b *body, struct conn_client_hello *h, char *note, size_t nl)
{
    memset(h, 0, sizeof(*h));
    return tls_msg_client_hello(body->p, body->n, names, NULL, h, note, nl);
}

static void digest_hex(const char *md, const char *s, char *out, size_t hexlen)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    static const char hx[] = "0123456789abcdef";

    assert_int_equal(EVP_Digest(s, strlen(s), d, &dl, EVP_get_digestbyname(md), NULL), 1);
    for (size_t i = 0; i < hexlen / 2 && i < dl; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[hexlen] = '\0';
}

static int setup(void **state)
{
    (void)state;
    return tls_names_new(&names);
}

static int teardown(void **state)
{
    (void)state;
    tls_names_free(names);
    return 0;
}

/* The hello of test_ch_full: every extension we read, GREASE in places. */
static size_t full_hello(struct b *body)
{
    static const uint16_t suites[] = {0x0a0a, 0xc02c, 0xc030, 0x1301, 0x009c};
    static const uint16_t vers[] = {0x2a2a, 0x0304, 0x0303};
    static const uint16_t sig[] = {0x0403, 0x0804, 0x0401};
    static const uint16_t grp[] = {0x3a3a, 29, 23, 24};
    static const uint16_t ks[] = {29};
    static const uint8_t pf[] = {0};
    static const char *const alpn[] = {"h2", "http/1.1"};
    static const uint8_t reneg[] = {0};
    struct b e = {0};
    size_t noext;

    ext_raw(&e, 0x1a1a, NULL, 0);
    ext_sni(&e, "cucm.example.com", 16);
    ext_u16s(&e, 43, 1, vers, 3);
    ext_u16s(&e, 13, 2, sig, 3);
    ext_u16s(&e, 10, 2, grp, 4);
    ext_pf(&e, pf, 1);
    ext_alpn(&e, alpn, 2);
    ext_key_share(&e, ks, 1, 32);
    ext_raw(&e, 0xff01, reneg, 1);
    ext_raw(&e, 35, NULL, 0);
    {
        struct b s = {0};
        for (size_t i = 0; i < 5; i++)
            b_u16(&s, suites[i]);
        build_ch_raw(body, 0x0303, 32, s.p, s.n, 1, NULL);
        noext = body->n;
        b_u16(body, (unsigned)e.n);
        b_put(body, e.p, e.n);
        b_free(&s);
    }
    b_free(&e);
    return noext;
}

/* ---- ClientHello ---------------------------------------------------------- */

static void test_ch_full(void **state)
{
    struct b body = {0};
    struct conn_client_hello h;
    char note[128];
    char expect_md5[33], ja4[64];

    (void)state;
    full_hello(&body);
    assert_int_equal(parse_ch(&body, &h, note, sizeof(note)), TI_OK);
    assert_string_equal(note, "");
    assert_false(h.sslv2);
    assert_int_equal(h.legacy_version, 0x0303);
    assert_int_equal(h.session_id_len, 32);
    assert_int_equal(h.n_suites, 5);
    assert_int_equal(h.suites[0], 0x0a0a);   /* GREASE kept in the list */
    assert_int_equal(h.suites[4], 0x009c);
    assert_int_equal(h.n_exts, 10);
    assert_int_equal(h.exts[0], 0x1a1a);
    assert_int_equal(h.exts[1], 0);
    assert_int_equal(h.exts[9], 35);
    assert_int_equal(h.n_versions, 3);
    assert_int_equal(h.versions[1], 0x0304);
    assert_int_equal(h.n_sigalgs, 3);
    assert_int_equal(h.sigalgs[0], 0x0403);
    assert_int_equal(h.n_groups, 4);
    assert_int_equal(h.groups[3], 24);
    assert_int_equal(h.n_key_share_groups, 1);
    assert_int_equal(h.key_share_groups[0], 29);
    assert_int_equal(h.n_point_formats, 1);
    assert_int_equal(h.n_alpn, 2);
    assert_string_equal(h.alpn[0], "h2");
    assert_string_equal(h.alpn[1], "http/1.1");
    assert_string_equal(h.sni, "cucm.example.com");
    assert_false(h.lists_truncated);
    /* offers 1.2 too: first ephemeral non-1.3 suite, GREASE skipped */
    assert_int_equal(h.preferred_auth, AUTH_ECDSA);
    assert_int_equal(h.preferred_suite, 0xc02c);

    /* JA3 by hand: GREASE out of every list, extensions in wire order */
    const char *ja3 = "771,49196-49200-4865-156,0-43-13-10-11-16-51-65281-35,29-23-24,0";
    char got[256];
    assert_int_equal(tls_msg_ja3_string(&h, got, sizeof(got)), strlen(ja3));
    assert_string_equal(got, ja3);
    digest_hex("MD5", ja3, expect_md5, 32);
    assert_string_equal(h.ja3, expect_md5);

    /* JA4 by hand: t 13 d 04 09 h2 _ sorted ciphers _ sorted exts w/o 0,16 _ sigalgs */
    char part_b[13], part_c[13];
    digest_hex("SHA256", "009c,1301,c02c,c030", part_b, 12);
    digest_hex("SHA256", "000a,000b,000d,0023,002b,0033,ff01_0403,0804,0401", part_c, 12);
    snprintf(ja4, sizeof(ja4), "t13d0409h2_%s_%s", part_b, part_c);
    assert_string_equal(h.ja4, ja4);
    free_hello(&h);
    b_free(&body);
}

static void test_ch_prefixes(void **state)
{
    struct b body = {0}, msg = {0};
    struct conn_client_hello h;
    size_t noext;
    struct cur c, bodyc = {0};
    uint8_t type = 0;

    (void)state;
    noext = full_hello(&body);
    for (size_t k = 0; k < body.n; k++) {
        int rc;
        memset(&h, 0, sizeof(h));
        rc = tls_msg_client_hello(body.p, k, names, NULL, &h, NULL, 0);
        if (k == noext) {
            /* the grammar lets an old hello end after compression_methods */
            assert_int_equal(rc, TI_OK);
            assert_int_equal(h.n_exts, 0);
            free_hello(&h);
            continue;
        }
        assert_int_equal(rc, TI_ETRUNC);
        assert_null(h.suites);   /* no facts */
        assert_int_equal(h.n_suites, 0);
    }
    /* with the handshake header: every proper prefix is truncated */
    b_u8(&msg, 1);
    b_u24(&msg, (unsigned)body.n);
    b_put(&msg, body.p, body.n);
    for (size_t k = 0; k < msg.n; k++) {
        c = cur_make(msg.p, k);
        assert_int_equal(tls_msg_header(&c, &type, &bodyc), TI_ETRUNC);
        assert_int_equal(cur_left(&c), k);   /* cursor untouched */
    }
    c = cur_make(msg.p, msg.n);
    assert_int_equal(tls_msg_header(&c, &type, &bodyc), TI_OK);
    assert_int_equal(type, 1);
    assert_int_equal(cur_left(&bodyc), body.n);
    assert_true(cur_done(&c));
    b_free(&msg);
    b_free(&body);
}

static void test_ch_lengths(void **state)
{
    struct conn_client_hello h;
    struct b body = {0}, e = {0}, suites = {0};
    char note[128];

    (void)state;
    b_u16(&suites, 0xc02f);

    /* session_id: 0, 32 ok; 33 malformed */
    build_ch_raw(&body, 0x0303, 0, suites.p, suites.n, 1, NULL);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
    assert_int_equal(h.session_id_len, 0);
    free_hello(&h);
    b_free(&body);
    build_ch_raw(&body, 0x0303, 32, suites.p, suites.n, 1, NULL);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
    assert_int_equal(h.session_id_len, 32);
    free_hello(&h);
    b_free(&body);
    build_ch_raw(&body, 0x0303, 33, suites.p, suites.n, 1, NULL);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_EMALFORMED);
    assert_null(h.suites);
    b_free(&body);

    /* cipher_suites<2..2^16-2>: empty and odd are malformed */
    build_ch_raw(&body, 0x0303, 0, suites.p, 0, 1, NULL);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_EMALFORMED);
    b_free(&body);
    {
        static const uint8_t odd[] = {0xc0, 0x2f, 0x00};
        build_ch_raw(&body, 0x0303, 0, odd, 3, 1, NULL);
        assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_EMALFORMED);
        b_free(&body);
    }
    /* the largest list: 32767 suites, all kept */
    {
        struct b big = {0};
        for (unsigned i = 0; i < 32767; i++)
            b_u16(&big, i == 0 ? 0xc02c : (i % 2 ? 0xc030 : 0x0035));
        build_ch_raw(&body, 0x0303, 0, big.p, big.n, 1, NULL);
        assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
        assert_int_equal(h.n_suites, CONN_SUITES_MAX);
        assert_int_equal(h.suites[0], 0xc02c);
        assert_int_equal(h.suites[32766], 0x0035);
        assert_int_equal(strncmp(h.ja4, "t12i9900", 8), 0);   /* counts cap at 99 */
        free_hello(&h);
        b_free(&body);
        b_free(&big);
    }

    /* compression_methods<1..2^8-1> */
    build_ch_raw(&body, 0x0303, 0, suites.p, suites.n, 0, NULL);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_EMALFORMED);
    b_free(&body);
    build_ch_raw(&body, 0x0303, 0, suites.p, suites.n, 255, NULL);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
    free_hello(&h);
    b_free(&body);

    /* extensions block of length 0 */
    build_ch_raw(&body, 0x0303, 0, suites.p, suites.n, 1, &e);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
    assert_int_equal(h.n_exts, 0);
    free_hello(&h);
    /* one trailing byte after the block */
    b_u8(&body, 0);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_EMALFORMED);
    b_free(&body);

    /* an extension overrunning the block: the hello is broken */
    b_u16(&e, 13);
    b_u16(&e, 10);
    b_u16(&e, 0x0403);
    build_ch_raw(&body, 0x0303, 0, suites.p, suites.n, 1, &e);
    assert_int_equal(parse_ch(&body, &h, note, sizeof(note)), TI_EMALFORMED);
    assert_null(h.suites);
    b_free(&body);
    b_free(&e);

    /* more extensions than CONN_MAX_EXTS */
    for (unsigned i = 0; i < 70; i++)
        ext_raw(&e, 1000 + i, NULL, 0);
    build_ch_raw(&body, 0x0303, 0, suites.p, suites.n, 1, &e);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
    assert_int_equal(h.n_exts, CONN_MAX_EXTS);
    assert_int_equal(h.exts[63], 1063);
    assert_true(h.lists_truncated);
    free_hello(&h);
    b_free(&body);
    b_free(&e);
    b_free(&suites);
}

/* One hello per broken extension body: the hello is kept, the list is
 * empty, the note names the extension. */
static void expect_ext_note(struct b *e, unsigned type, struct conn_client_hello *h)
{
    struct b body = {0};
    static const uint16_t s[] = {0xc02f};
    char note[128], want[64];

    build_ch(&body, 0x0303, s, 1, e);
    assert_int_equal(parse_ch(&body, h, note, sizeof(note)), TI_OK);
    snprintf(want, sizeof(want), "extension %u (", type);
    assert_non_null(strstr(note, want));
    assert_non_null(strstr(note, "malformed"));
    assert_int_equal(h->n_exts, 1);
    assert_int_equal(h->exts[0], type);
    b_free(&body);
    b_free(e);
}

static void test_ch_ext_bodies(void **state)
{
    struct conn_client_hello h;
    struct b e = {0}, body = {0};
    static const uint16_t s[] = {0xc02f};
    char note[128];

    (void)state;
    /* server_name with no list at all */
    ext_raw(&e, 0, NULL, 0);
    expect_ext_note(&e, 0, &h);
    assert_null(h.sni);
    free_hello(&h);
    /* server_name with an empty host name */
    ext_sni(&e, "", 0);
    expect_ext_note(&e, 0, &h);
    assert_null(h.sni);
    free_hello(&h);
    /* supported_versions with an odd list */
    {
        static const uint8_t v[] = {3, 0x03, 0x04, 0x03};
        ext_raw(&e, 43, v, sizeof(v));
        expect_ext_note(&e, 43, &h);
        assert_int_equal(h.n_versions, 0);
        free_hello(&h);
    }
    /* signature_algorithms with an empty list */
    {
        static const uint8_t v[] = {0, 0};
        ext_raw(&e, 13, v, sizeof(v));
        expect_ext_note(&e, 13, &h);
        assert_int_equal(h.n_sigalgs, 0);
        free_hello(&h);
    }
    /* supported_groups list longer than the extension */
    {
        static const uint8_t v[] = {0, 4, 0, 29};
        ext_raw(&e, 10, v, sizeof(v));
        expect_ext_note(&e, 10, &h);
        assert_int_equal(h.n_groups, 0);
        free_hello(&h);
    }
    /* ALPN with an empty protocol name after a good one */
    {
        static const uint8_t v[] = {0, 4, 2, 'h', '2', 0};
        ext_raw(&e, 16, v, sizeof(v));
        expect_ext_note(&e, 16, &h);
        assert_int_equal(h.n_alpn, 0);
        assert_int_equal(strncmp(h.ja4 + 8, "00", 2), 0);
        free_hello(&h);
    }
    /* key_share entry with an empty key */
    {
        static const uint8_t v[] = {0, 4, 0, 29, 0, 0};
        ext_raw(&e, 51, v, sizeof(v));
        expect_ext_note(&e, 51, &h);
        assert_int_equal(h.n_key_share_groups, 0);
        free_hello(&h);
    }
    /* ec_point_formats empty */
    {
        static const uint8_t v[] = {0};
        ext_raw(&e, 11, v, sizeof(v));
        expect_ext_note(&e, 11, &h);
        assert_int_equal(h.n_point_formats, 0);
        free_hello(&h);
    }

    /* SNI with a NUL byte is kept NUL-free; a non-host_name entry is skipped */
    {
        size_t x, l;
        b_u16(&e, 0);
        x = b_open(&e, 2);
        l = b_open(&e, 2);
        b_u8(&e, 1);   /* unknown name type */
        b_u16(&e, 3);
        b_put(&e, "zzz", 3);
        b_u8(&e, 0);
        b_u16(&e, 5);
        b_put(&e, "ab\0cd", 5);
        b_close(&e, l, 2);
        b_close(&e, x, 2);
        build_ch(&body, 0x0303, s, 1, &e);
        assert_int_equal(parse_ch(&body, &h, note, sizeof(note)), TI_OK);
        assert_string_equal(note, "");
        assert_string_equal(h.sni, "ab\\0cd");
        assert_int_equal(h.ja4[3], 'd');
        free_hello(&h);
        b_free(&body);
        b_free(&e);
    }
    /* repeated extension: first kept */
    {
        static const uint16_t g1[] = {23}, g2[] = {24};
        ext_u16s(&e, 10, 2, g1, 1);
        ext_u16s(&e, 10, 2, g2, 1);
        build_ch(&body, 0x0303, s, 1, &e);
        assert_int_equal(parse_ch(&body, &h, note, sizeof(note)), TI_OK);
        assert_non_null(strstr(note, "repeated"));
        assert_int_equal(h.n_groups, 1);
        assert_int_equal(h.groups[0], 23);
        free_hello(&h);
        b_free(&body);
        b_free(&e);
    }
    /* lists over capacity: sigalgs 65 -> 64, versions 17 -> 16, ALPN 17 -> 16,
     * point formats 9 -> 8 */
    {
        uint16_t many[65];
        const char *const al[17] = {"a", "b", "c", "d", "e", "f", "g", "h", "i",
                                    "j", "k", "l", "m", "n", "o", "p", "q"};
        uint8_t pf[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
        for (unsigned i = 0; i < 65; i++)
            many[i] = (uint16_t)(0x0400 + i);
        ext_u16s(&e, 13, 2, many, 65);
        ext_u16s(&e, 43, 1, many, 17);
        ext_alpn(&e, al, 17);
        ext_pf(&e, pf, 9);
        build_ch(&body, 0x0303, s, 1, &e);
        assert_int_equal(parse_ch(&body, &h, note, sizeof(note)), TI_OK);
        assert_string_equal(note, "");
        assert_true(h.lists_truncated);
        assert_int_equal(h.n_sigalgs, CONN_MAX_SIGALGS);
        assert_int_equal(h.sigalgs[63], 0x0400 + 63);
        assert_int_equal(h.n_versions, CONN_MAX_VERSIONS);
        assert_int_equal(h.n_alpn, CONN_MAX_ALPN);
        assert_string_equal(h.alpn[15], "p");
        assert_int_equal(h.n_point_formats, CONN_MAX_POINTFMTS);
        free_hello(&h);
        b_free(&body);
        b_free(&e);
    }
}

/* ---- preferred auth -------------------------------------------------- */

static enum conn_auth pref(const uint16_t *suites, size_t n, const uint16_t *vers, size_t nv,
                           const uint16_t *sig, size_t ns, uint16_t *suite)
{
    struct b e = {0}, body = {0};
    struct conn_client_hello h;
    enum conn_auth a;

    if (nv > 0)
        ext_u16s(&e, 43, 1, vers, nv);
    if (ns > 0)
        ext_u16s(&e, 13, 2, sig, ns);
    build_ch(&body, 0x0303, suites, n, &e);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
    a = h.preferred_auth;
    *suite = h.preferred_suite;
    free_hello(&h);
    b_free(&body);
    b_free(&e);
    return a;
}

static void test_preferred_auth(void **state)
{
    uint16_t ps;
    static const uint16_t v12[] = {0x0304, 0x0303}, v13[] = {0x0a0a, 0x0304};
    static const uint16_t sig_rsa[] = {0x0804, 0x0403}, sig_ec[] = {0x0403, 0x0804};

    (void)state;
    /* ECDSA-first (the X14.2 Expressway order) */
    {
        static const uint16_t s[] = {0xc02c, 0xc030, 0xc02b, 0xc02f};
        assert_int_equal(pref(s, 4, NULL, 0, NULL, 0, &ps), AUTH_ECDSA);
        assert_int_equal(ps, 0xc02c);
    }
    /* RSA-first */
    {
        static const uint16_t s[] = {0xc030, 0xc02c};
        assert_int_equal(pref(s, 2, NULL, 0, NULL, 0, &ps), AUTH_RSA);
        assert_int_equal(ps, 0xc030);
    }
    /* TLS 1.3 suite first, then ECDHE-RSA: the 1.3 suite does not decide */
    {
        static const uint16_t s[] = {0x1301, 0x1302, 0xc02f, 0xc02b};
        assert_int_equal(pref(s, 4, v12, 2, sig_ec, 2, &ps), AUTH_RSA);
        assert_int_equal(ps, 0xc02f);
    }
    /* GREASE and static RSA before the first ECDHE suite */
    {
        static const uint16_t s[] = {0x0a0a, 0x009c, 0xc02b};
        assert_int_equal(pref(s, 3, NULL, 0, NULL, 0, &ps), AUTH_ECDSA);
        assert_int_equal(ps, 0xc02b);
    }
    /* TLS 1.3-only offer: family of the first signature algorithm */
    {
        static const uint16_t s[] = {0x1301, 0xc02c};
        assert_int_equal(pref(s, 2, v13, 2, sig_rsa, 2, &ps), AUTH_RSA);
        assert_int_equal(ps, 0);
        assert_int_equal(pref(s, 2, v13, 2, sig_ec, 2, &ps), AUTH_ECDSA);
        assert_int_equal(ps, 0);
    }
    /* only static RSA suites: RSA from the first suite with a certificate */
    {
        static const uint16_t s[] = {0x00ff, 0x009c, 0x002f};
        assert_int_equal(pref(s, 3, NULL, 0, NULL, 0, &ps), AUTH_RSA);
        assert_int_equal(ps, 0x009c);
    }
    /* only TLS 1.3 suites offered with 1.2 in versions: sigalg decides */
    {
        static const uint16_t s[] = {0x1301};
        assert_int_equal(pref(s, 1, v12, 2, sig_ec, 2, &ps), AUTH_ECDSA);
        assert_int_equal(ps, 0);
    }
}

/* ---- JA3 / JA4 against published examples ----------------------------- */

/* Chrome 143 as published by browserleaks (ja3_text/ja3_hash/ja4/ja4_ro):
 * ciphers 1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035;
 * extensions 002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,ff01,0023,0012,0005,000d,001b;
 * groups 4588-29-23-24; ja3 98487aa16281980e7d1120d399efb6a4;
 * ja4 t13d1516h2_8daaf6152771_d8a2da3f94cd.  GREASE added the way Chrome
 * sends it: it must not change either fingerprint. */
static const uint16_t chrome_suites[] = {0x5a5a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
                                         0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
                                         0x009d, 0x002f, 0x0035};
static const uint16_t chrome_sig[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};

static void chrome_ext(struct b *e, unsigned type)
{
    static const uint16_t grp[] = {0x4a4a, 4588, 29, 23, 24};
    static const uint16_t vers[] = {0x8a8a, 0x0304, 0x0303};
    static const uint16_t ks[] = {29};
    static const uint8_t pf[] = {0};
    static const char *const alpn[] = {"h2", "http/1.1"};

    switch (type) {
    case 0x002d: { static const uint8_t v[] = {1, 1}; ext_raw(e, type, v, 2); break; }
    case 0x0033: ext_key_share(e, ks, 1, 32); break;
    case 0x0010: ext_alpn(e, alpn, 2); break;
    case 0x000b: ext_pf(e, pf, 1); break;
    case 0x000a: ext_u16s(e, 10, 2, grp, 5); break;
    case 0x002b: ext_u16s(e, 43, 1, vers, 3); break;
    case 0xff01: { static const uint8_t v[] = {0}; ext_raw(e, type, v, 1); break; }
    case 0x0005: { static const uint8_t v[] = {1, 0, 0, 0, 0}; ext_raw(e, type, v, 5); break; }
    case 0x000d: ext_u16s(e, 13, 2, chrome_sig, 8); break;
    case 0x001b: { static const uint8_t v[] = {2, 0, 2}; ext_raw(e, type, v, 3); break; }
    case 0x0000: ext_sni(e, "tls.browserleaks.com", 20); break;
    case 0x44cd:
    case 0x4469: { static const uint8_t v[] = {0, 3, 2, 'h', '2'}; ext_raw(e, type, v, 5); break; }
    case 0xfe0d: { static const uint8_t v[] = {0, 0, 1, 0, 1, 0x42}; ext_raw(e, type, v, 6); break; }
    default: ext_raw(e, type, NULL, 0); break;   /* 0017, 0023, 0012, 0015: empty */
    }
}

static void test_ja3_ja4_published(void **state)
{
    static const uint16_t order[] = {0x0a0a, 0x002d, 0x0033, 0x0010, 0xfe0d, 0x0017, 0x44cd,
                                     0x0000, 0x000b, 0x000a, 0x002b, 0xff01, 0x0023, 0x0012,
                                     0x0005, 0x000d, 0x001b, 0xdada};
    struct b e = {0}, body = {0};
    struct conn_client_hello h;
    char got[512];

    (void)state;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        chrome_ext(&e, order[i]);
    build_ch(&body, 0x0303, chrome_suites, 16, &e);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
    tls_msg_ja3_string(&h, got, sizeof(got));
    assert_string_equal(got, "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
                             "45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0");
    assert_string_equal(h.ja3, "98487aa16281980e7d1120d399efb6a4");
    assert_string_equal(h.ja4, "t13d1516h2_8daaf6152771_d8a2da3f94cd");
    free_hello(&h);
    b_free(&body);
    b_free(&e);
}

/* The JA3/JA4 memo gives what a fresh computation gives: the published
 * Chrome values on a miss and on a hit; a hello one suite apart is a miss,
 * not taken for the first; a hello whose lists are past the memo's key limit
 * bypasses it and agrees with the memo-less path. */
static void test_fp_memo(void **state)
{
    static const uint16_t order[] = {0x0a0a, 0x002d, 0x0033, 0x0010, 0xfe0d, 0x0017, 0x44cd,
                                     0x0000, 0x000b, 0x000a, 0x002b, 0xff01, 0x0023, 0x0012,
                                     0x0005, 0x000d, 0x001b, 0xdada};
    struct b e = {0}, body = {0}, other = {0}, big = {0}, bigbody = {0};
    struct conn_client_hello h, h2;
    struct tls_fp_memo *memo = NULL;
    uint64_t hits = 0, misses = 0;
    uint16_t suites2[16];

    (void)state;
    assert_int_equal(tls_fp_memo_new(&memo), TI_OK);
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        chrome_ext(&e, order[i]);
    build_ch(&body, 0x0303, chrome_suites, 16, &e);
    for (int round = 0; round < 2; round++) {
        memset(&h, 0, sizeof(h));
        assert_int_equal(tls_msg_client_hello(body.p, body.n, names, memo, &h, NULL, 0), TI_OK);
        assert_string_equal(h.ja3, "98487aa16281980e7d1120d399efb6a4");
        assert_string_equal(h.ja4, "t13d1516h2_8daaf6152771_d8a2da3f94cd");
        free_hello(&h);
        tls_fp_memo_stats(memo, &hits, &misses);
        assert_int_equal(misses, 1);
        assert_int_equal(hits, (uint64_t)round);
    }

    /* the last two suites swapped: JA3 differs, JA4 (sorted suites) not */
    memcpy(suites2, chrome_suites, sizeof(suites2));
    suites2[14] = chrome_suites[15];
    suites2[15] = chrome_suites[14];
    build_ch(&other, 0x0303, suites2, 16, &e);
    memset(&h, 0, sizeof(h));
    memset(&h2, 0, sizeof(h2));
    assert_int_equal(tls_msg_client_hello(other.p, other.n, names, memo, &h, NULL, 0), TI_OK);
    assert_int_equal(tls_msg_client_hello(other.p, other.n, names, NULL, &h2, NULL, 0), TI_OK);
    tls_fp_memo_stats(memo, &hits, &misses);
    assert_int_equal(misses, 2);
    assert_int_equal(hits, 1);
    assert_string_not_equal(h.ja3, "98487aa16281980e7d1120d399efb6a4");
    assert_string_equal(h.ja3, h2.ja3);
    assert_string_equal(h.ja4, h2.ja4);
    assert_string_equal(h.ja4, "t13d1516h2_8daaf6152771_d8a2da3f94cd");
    free_hello(&h);
    free_hello(&h2);

    /* 3000 suites: a key of 6 KB and a JA3 string of 15 KB, both past the
     * memo's limits */
    for (unsigned i = 0; i < 3000; i++)
        b_u16(&big, 0x1000 + i);
    build_ch_raw(&bigbody, 0x0303, 0, big.p, big.n, 1, &e);
    memset(&h, 0, sizeof(h));
    memset(&h2, 0, sizeof(h2));
    assert_int_equal(tls_msg_client_hello(bigbody.p, bigbody.n, names, memo, &h, NULL, 0), TI_OK);
    tls_fp_memo_stats(memo, &hits, &misses);
    assert_int_equal(misses, 2);
    assert_int_equal(hits, 1);
    assert_int_equal(tls_msg_client_hello(bigbody.p, bigbody.n, names, NULL, &h2, NULL, 0), TI_OK);
    assert_int_equal(strlen(h.ja3), 32);
    assert_string_equal(h.ja3, h2.ja3);
    assert_string_equal(h.ja4, h2.ja4);
    assert_int_equal(strncmp(h.ja4, "t13d9916h2_", 11), 0);
    free_hello(&h);
    free_hello(&h2);

    tls_fp_memo_free(memo);
    b_free(&e);
    b_free(&body);
    b_free(&other);
    b_free(&big);
    b_free(&bigbody);
}

/* The FoxIO JA4 README/technical_details example: extensions
 * 001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015
 * -> t13d1516h2_8daaf6152771_e5627efa2ab1; without signature algorithms the
 * c part is the hash of the extension list alone: 6d807ffa2a79. */
static void test_ja4_foxio(void **state)
{
    static const uint16_t order[] = {0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d,
                                     0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b,
                                     0x000a, 0x0015};
    struct b e = {0}, body = {0};
    struct conn_client_hello h;

    (void)state;
    for (size_t i = 0; i < 16; i++)
        chrome_ext(&e, order[i]);
    build_ch(&body, 0x0303, chrome_suites, 16, &e);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
    assert_string_equal(h.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
    free_hello(&h);
    b_free(&body);
    b_free(&e);

    /* signature_algorithms present but empty (malformed): no "_" part */
    for (size_t i = 0; i < 16; i++) {
        if (order[i] == 0x000d) {
            static const uint8_t v[] = {0, 0};
            ext_raw(&e, 13, v, 2);
        } else {
            chrome_ext(&e, order[i]);
        }
    }
    build_ch(&body, 0x0303, chrome_suites, 16, &e);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
    assert_string_equal(h.ja4, "t13d1516h2_8daaf6152771_6d807ffa2a79");
    free_hello(&h);
    b_free(&body);
    b_free(&e);
}

static void test_ja4_edges(void **state)
{
    struct b e = {0}, body = {0};
    struct conn_client_hello h;
    static const uint16_t s[] = {0x0a0a, 0xc02f};
    char part_b[13], want[64];

    (void)state;
    /* no extensions at all: TLS 1.2 from legacy_version, i, 01 cipher, 00 exts,
     * no ALPN, empty c part */
    build_ch(&body, 0x0303, s, 2, NULL);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
    digest_hex("SHA256", "c02f", part_b, 12);
    snprintf(want, sizeof(want), "t12i010000_%s_000000000000", part_b);
    assert_string_equal(h.ja4, want);
    assert_int_equal(strlen(h.ja3), 32);
    free_hello(&h);
    b_free(&body);

    /* only GREASE ciphers: cipher hash is zeros; legacy SSL 3.0 */
    {
        static const uint16_t g[] = {0x0a0a};
        build_ch(&body, 0x0300, g, 1, NULL);
        assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
        assert_string_equal(h.ja4, "ts3i000000_000000000000_000000000000");
        free_hello(&h);
        b_free(&body);
    }
    /* ALPN "http/1.1" -> h1; non-alphanumeric ends -> hex digits */
    {
        static const char *const a1[] = {"http/1.1"};
        ext_alpn(&e, a1, 1);
        build_ch(&body, 0x0301, s, 2, &e);
        assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
        assert_int_equal(strncmp(h.ja4, "t10i0101h1_", 11), 0);
        free_hello(&h);
        b_free(&body);
        b_free(&e);

        static const uint8_t v[] = {0, 4, 3, 0x2a, 'x', 0xff};
        ext_raw(&e, 16, v, sizeof(v));
        build_ch(&body, 0x0303, s, 2, &e);
        assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_OK);
        assert_int_equal(strncmp(h.ja4, "t12i01012f_", 11), 0);   /* '*'=0x2a -> 2, 0xff -> f */
        free_hello(&h);
        b_free(&body);
        b_free(&e);
    }
}

/* ---- SSLv2 hello ------------------------------------------------------- */

static void test_sslv2_hello(void **state)
{
    struct b m = {0};
    struct conn_client_hello h;

    (void)state;
    b_u8(&m, 1);          /* CLIENT-HELLO */
    b_u16(&m, 0x0301);
    b_u16(&m, 12);        /* 4 cipher specs */
    b_u16(&m, 0);         /* session id */
    b_u16(&m, 16);        /* challenge */
    b_u8(&m, 0x07); b_u16(&m, 0x00c0);   /* SSL_CK_DES_192_EDE3_CBC_WITH_MD5: v2 only */
    b_u8(&m, 0x00); b_u16(&m, 0x002f);
    b_u8(&m, 0x00); b_u16(&m, 0xc02c);
    b_u8(&m, 0x00); b_u16(&m, 0x00ff);
    for (unsigned i = 0; i < 16; i++)
        b_u8(&m, i);
    memset(&h, 0, sizeof(h));
    assert_int_equal(tls_msg_sslv2_client_hello(m.p, m.n, names, &h), TI_OK);
    assert_true(h.sslv2);
    assert_int_equal(h.legacy_version, 0x0301);
    assert_int_equal(h.n_suites, 3);
    assert_int_equal(h.suites[0], 0x002f);
    assert_int_equal(h.suites[1], 0xc02c);
    assert_int_equal(h.preferred_auth, AUTH_ECDSA);
    free_hello(&h);
    for (size_t k = 0; k < m.n; k++) {
        memset(&h, 0, sizeof(h));
        assert_int_not_equal(tls_msg_sslv2_client_hello(m.p, k, names, &h), TI_OK);
        assert_null(h.suites);
    }
    /* trailing byte, bad spec length */
    b_u8(&m, 0);
    assert_int_equal(tls_msg_sslv2_client_hello(m.p, m.n, names, &h), TI_EMALFORMED);
    m.p[4] = 13;
    assert_int_equal(tls_msg_sslv2_client_hello(m.p, m.n - 1, names, &h), TI_EMALFORMED);
    b_free(&m);
}

/* ---- ServerHello ------------------------------------------------------- */

static void build_sh(struct b *b, unsigned legacy, const uint8_t *random, size_t sid,
                     unsigned suite, const struct b *exts)
{
    static const uint8_t zr[32] = {1};
    b_u16(b, legacy);
    b_put(b, random ? random : zr, 32);
    b_u8(b, (unsigned)sid);
    b_zero(b, sid);
    b_u16(b, suite);
    b_u8(b, 0);
    if (exts != NULL) {
        b_u16(b, (unsigned)exts->n);
        b_put(b, exts->p, exts->n);
    }
}

static void test_server_hello(void **state)
{
    struct b b = {0}, e = {0};
    struct conn_server_hello sh;
    char note[128];
    size_t noext;

    (void)state;
    build_sh(&b, 0x0303, NULL, 32, 0xc02c, NULL);
    assert_int_equal(tls_msg_server_hello(b.p, b.n, names, &sh, note, sizeof(note)), TI_OK);
    assert_true(sh.present);
    assert_false(sh.hrr);
    assert_int_equal(sh.version, 0x0303);
    assert_int_equal(sh.suite, 0xc02c);
    assert_int_equal(sh.auth, AUTH_ECDSA);
    assert_int_equal(sh.n_exts, 0);
    b_free(&b);

    /* TLS 1.3: supported_versions decides the version */
    {
        static const uint8_t sv[] = {0x03, 0x04};
        static const uint8_t ks[] = {0, 29, 0, 2, 1, 2};
        ext_raw(&e, 51, ks, sizeof(ks));
        ext_raw(&e, 43, sv, sizeof(sv));
    }
    build_sh(&b, 0x0303, NULL, 32, 0x1301, NULL);
    noext = b.n;
    b_u16(&b, (unsigned)e.n);
    b_put(&b, e.p, e.n);
    assert_int_equal(tls_msg_server_hello(b.p, b.n, names, &sh, note, sizeof(note)), TI_OK);
    assert_int_equal(sh.version, 0x0304);
    assert_int_equal(sh.legacy_version, 0x0303);
    assert_int_equal(sh.auth, AUTH_ANY);
    assert_int_equal(sh.n_exts, 2);
    assert_int_equal(sh.exts[1], 43);
    /* every prefix: truncated, except the extension-less boundary */
    for (size_t k = 0; k < b.n; k++) {
        memset(&sh, 0, sizeof(sh));
        int rc = tls_msg_server_hello(b.p, k, names, &sh, NULL, 0);
        if (k == noext) {
            assert_int_equal(rc, TI_OK);
            assert_int_equal(sh.version, 0x0303);
        } else {
            assert_int_equal(rc, TI_ETRUNC);
            assert_false(sh.present);
        }
    }
    b_free(&b);
    b_free(&e);

    /* HelloRetryRequest */
    {
        static const uint8_t sv[] = {0x03, 0x04};
        ext_raw(&e, 43, sv, sizeof(sv));
        build_sh(&b, 0x0303, TLS_HRR_RANDOM, 0, 0x1302, &e);
        assert_int_equal(tls_msg_server_hello(b.p, b.n, names, &sh, NULL, 0), TI_OK);
        assert_true(sh.hrr);
        assert_int_equal(sh.version, 0x0304);
        b_free(&b);
        b_free(&e);
    }
    /* session id 33: malformed; supported_versions of 3 bytes: noted, legacy kept */
    build_sh(&b, 0x0303, NULL, 33, 0xc02f, NULL);
    assert_int_equal(tls_msg_server_hello(b.p, b.n, names, &sh, NULL, 0), TI_EMALFORMED);
    b_free(&b);
    {
        static const uint8_t sv[] = {0x03, 0x04, 0x00};
        ext_raw(&e, 43, sv, sizeof(sv));
        build_sh(&b, 0x0303, NULL, 0, 0xc02f, &e);
        assert_int_equal(tls_msg_server_hello(b.p, b.n, names, &sh, note, sizeof(note)), TI_OK);
        assert_int_equal(sh.version, 0x0303);
        assert_int_equal(sh.auth, AUTH_RSA);
        assert_non_null(strstr(note, "supported_versions"));
        b_free(&b);
        b_free(&e);
    }
    /* trailing byte after extensions */
    build_sh(&b, 0x0303, NULL, 0, 0xc02f, &e);
    b_u8(&b, 0);
    assert_int_equal(tls_msg_server_hello(b.p, b.n, names, &sh, NULL, 0), TI_EMALFORMED);
    b_free(&b);
}

/* TLS 1.3 drafts before 22 (draft-ietf-tls-tls13-16 4.1.3): version(2)
 * random(32) cipher_suite(2) extensions, no session_id nor compression;
 * the Firefox 52 ServerHello in zeek's tls13draft16-ff52.a01.pcap. */
static void test_server_hello_draft(void **state)
{
    struct b b = {0}, e = {0};
    struct conn_server_hello sh;
    static const uint8_t zr[32] = {9};
    static const uint8_t ks[] = {0, 24, 0, 4, 4, 1, 2, 3};
    size_t noext;

    (void)state;
    assert_true(tls_msg_sh_is_early_draft(0x7f10));
    assert_true(tls_msg_sh_is_early_draft(0x7f00));
    assert_true(tls_msg_sh_is_early_draft(0x7f15));   /* draft 21 */
    assert_false(tls_msg_sh_is_early_draft(0x7f16));  /* draft 22: final layout */
    assert_false(tls_msg_sh_is_early_draft(0x7f1c));
    assert_false(tls_msg_sh_is_early_draft(0x0304));
    assert_false(tls_msg_sh_is_early_draft(0x0303));
    assert_false(tls_msg_sh_is_early_draft(0x7e10));
    assert_false(tls_msg_sh_is_early_draft(0xfb1a));

    ext_raw(&e, 13, NULL, 0);
    ext_raw(&e, 40, ks, sizeof(ks));   /* key_share was 40 in the drafts */
    b_u16(&b, 0x7f10);
    b_put(&b, zr, 32);
    b_u16(&b, 0x1303);
    noext = b.n;
    b_u16(&b, (unsigned)e.n);
    b_put(&b, e.p, e.n);
    memset(&sh, 0, sizeof(sh));
    assert_int_equal(tls_msg_server_hello(b.p, b.n, names, &sh, NULL, 0), TI_OK);
    assert_true(sh.present);
    assert_int_equal(sh.version, 0x7f10);
    assert_int_equal(sh.legacy_version, 0x7f10);
    assert_int_equal(sh.suite, 0x1303);
    assert_int_equal(sh.compression, 0);
    assert_int_equal(sh.n_exts, 2);
    assert_int_equal(sh.exts[0], 13);
    assert_int_equal(sh.exts[1], 40);
    /* every prefix: truncated, except where the extensions may be absent */
    for (size_t k = 0; k < b.n; k++) {
        memset(&sh, 0, sizeof(sh));
        int rc = tls_msg_server_hello(b.p, k, names, &sh, NULL, 0);
        if (k == noext) {
            assert_int_equal(rc, TI_OK);
            assert_int_equal(sh.suite, 0x1303);
        } else {
            assert_int_equal(rc, TI_ETRUNC);
            assert_false(sh.present);
        }
    }
    /* read with the final layout this would have taken 0x13 as the
     * session_id length and failed: check the draft layout is what decides */
    b.n = 0;
    b_u16(&b, 0x7f10);
    b_put(&b, zr, 32);
    b_u16(&b, 0xc02f);
    assert_int_equal(tls_msg_server_hello(b.p, b.n, names, &sh, NULL, 0), TI_OK);
    assert_int_equal(sh.suite, 0xc02f);
    b_u8(&b, 0);   /* a trailing byte is not an extension block */
    assert_int_equal(tls_msg_server_hello(b.p, b.n, names, &sh, NULL, 0), TI_ETRUNC);
    b_free(&b);

    /* draft 22 and later: session_id and compression are back */
    build_sh(&b, 0x7f16, NULL, 32, 0x1301, NULL);
    assert_int_equal(tls_msg_server_hello(b.p, b.n, names, &sh, NULL, 0), TI_OK);
    assert_int_equal(sh.suite, 0x1301);
    assert_int_equal(sh.version, 0x7f16);
    b_free(&b);
    b_free(&e);
}

/* ---- ClientHello salvage ------------------------------------------------ */

static int salvage(const struct b *body, struct conn_client_hello *h, char *note, size_t nl)
{
    memset(h, 0, sizeof(*h));
    return tls_msg_client_hello_salvage(body->p, body->n, names, NULL, h, note, nl);
}

static void test_ch_salvage(void **state)
{
    static const uint16_t suites11[] = {0x0004, 0x0005, 0x000a, 0x0009, 0x0064, 0x0062,
                                        0x0003, 0x0006, 0x0013, 0x0012, 0x0025};
    static const uint16_t sig[] = {0x0403, 0x0804};
    struct conn_client_hello h, h2;
    struct b body = {0}, s = {0}, e = {0};
    char note[128];
    size_t suites_end;

    (void)state;
    /* nDPI tls_invalid_reads.pcap: empty compression methods, then a stray
     * byte where the extension block would start */
    for (size_t i = 0; i < 11; i++)
        b_u16(&s, suites11[i]);
    build_ch_raw(&body, 0x0301, 32, s.p, s.n, 0, NULL);
    b_u8(&body, 0);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_EMALFORMED);
    assert_int_equal(salvage(&body, &h, note, sizeof(note)), TI_OK);
    assert_int_equal(h.legacy_version, 0x0301);
    assert_int_equal(h.session_id_len, 32);
    assert_int_equal(h.n_suites, 11);
    for (size_t i = 0; i < 11; i++)
        assert_int_equal(h.suites[i], suites11[i]);
    assert_null(h.sni);
    assert_int_equal(h.n_exts, 0);
    assert_non_null(strstr(note, "malformed"));
    assert_non_null(strstr(note, "extensions overrun"));
    assert_int_equal(strlen(h.ja3), 32);
    free_hello(&h);

    /* only the empty compression methods */
    body.n = 0;
    build_ch_raw(&body, 0x0301, 0, s.p, s.n, 0, NULL);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_EMALFORMED);
    assert_int_equal(salvage(&body, &h, note, sizeof(note)), TI_OK);
    assert_non_null(strstr(note, "empty compression"));
    free_hello(&h);

    /* PcapPlusPlus ssl-malformed1.pcap: a server_name of 1 byte (its body is
     * broken), then an extension whose length overruns the list; the
     * extensions before the broken frame are kept */
    ext_u16s(&e, 13, 2, sig, 2);
    {
        static const uint8_t one[] = {1};
        ext_raw(&e, 0, one, 1);
    }
    b_u16(&e, 0);
    b_u16(&e, 0xfffc);
    b_put(&e, "eb5.secure", 10);
    body.n = 0;
    build_ch_raw(&body, 0x0302, 0, s.p, s.n, 1, &e);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_EMALFORMED);
    assert_int_equal(salvage(&body, &h, note, sizeof(note)), TI_OK);
    assert_int_equal(h.n_suites, 11);
    assert_int_equal(h.n_exts, 2);
    assert_int_equal(h.exts[0], 13);
    assert_int_equal(h.exts[1], 0);
    assert_int_equal(h.n_sigalgs, 2);
    assert_null(h.sni);   /* its body was broken */
    assert_non_null(strstr(note, "overruns the extension list"));
    free_hello(&h);

    /* bytes after the extension block */
    body.n = 0;
    e.n = 0;
    ext_u16s(&e, 13, 2, sig, 2);
    build_ch_raw(&body, 0x0303, 0, s.p, s.n, 1, &e);
    b_u8(&body, 7);
    assert_int_equal(parse_ch(&body, &h, NULL, 0), TI_EMALFORMED);
    assert_int_equal(salvage(&body, &h, note, sizeof(note)), TI_OK);
    assert_int_equal(h.n_sigalgs, 2);
    assert_non_null(strstr(note, "after the extensions"));
    free_hello(&h);

    /* what salvage still refuses: a session id over 32, an odd or empty
     * suite list, anything cut before the suites end */
    body.n = 0;
    build_ch_raw(&body, 0x0303, 33, s.p, s.n, 1, NULL);
    assert_int_equal(salvage(&body, &h, NULL, 0), TI_EMALFORMED);
    assert_null(h.suites);
    body.n = 0;
    build_ch_raw(&body, 0x0303, 0, s.p, 3, 1, NULL);
    assert_int_equal(salvage(&body, &h, NULL, 0), TI_EMALFORMED);
    body.n = 0;
    build_ch_raw(&body, 0x0303, 0, s.p, 0, 1, NULL);
    assert_int_equal(salvage(&body, &h, NULL, 0), TI_EMALFORMED);
    body.n = 0;
    suites_end = 2 + 32 + 1 + 32 + 2 + 10;
    (void)full_hello(&body);
    for (size_t k = 0; k < body.n; k++) {
        int rc;
        memset(&h, 0, sizeof(h));
        rc = tls_msg_client_hello_salvage(body.p, k, names, NULL, &h, note, sizeof(note));
        if (k < suites_end) {
            assert_int_equal(rc, TI_ETRUNC);
            assert_null(h.suites);
        } else {
            assert_int_equal(rc, TI_OK);
            assert_int_equal(h.n_suites, 5);
            free_hello(&h);
        }
    }

    /* a well-formed hello reads the same either way */
    assert_int_equal(parse_ch(&body, &h, note, sizeof(note)), TI_OK);
    assert_int_equal(salvage(&body, &h2, note, sizeof(note)), TI_OK);
    assert_string_equal(note, "");
    assert_string_equal(h.ja3, h2.ja3);
    assert_string_equal(h.ja4, h2.ja4);
    assert_string_equal(h.sni, h2.sni);
    assert_int_equal(h.n_exts, h2.n_exts);
    free_hello(&h);
    free_hello(&h2);
    b_free(&body);
    b_free(&s);
    b_free(&e);
}

/* ---- Certificate ------------------------------------------------------- */

static void test_certificate(void **state)
{
    struct x509_pool *pool = NULL;
    char err[128];
    uint8_t *d1, *d2;
    size_t l1 = test_cert_self_signed("cucm-EC.example.com", 7, &d1);
    size_t l2 = test_cert_self_signed("ca", 7, &d2);
    const struct x509_cert *certs[4];
    uint16_t n = 99;
    bool trunc = true;
    struct b b = {0};
    size_t at;

    (void)state;
    assert_int_equal(x509_pool_new(&pool, NULL, err, sizeof(err)), TI_OK);

    /* TLS 1.2 form */
    at = b_open(&b, 3);
    b_u24(&b, (unsigned)l1);
    b_put(&b, d1, l1);
    b_u24(&b, (unsigned)l2);
    b_put(&b, d2, l2);
    b_close(&b, at, 3);
    assert_int_equal(tls_msg_certificate(b.p, b.n, false, pool, certs, 4, &n, &trunc), TI_OK);
    assert_int_equal(n, 2);
    assert_false(trunc);
    assert_int_equal(certs[0]->der_len, l1);
    assert_memory_equal(certs[0]->der, d1, l1);
    assert_memory_equal(certs[1]->der, d2, l2);
    assert_true(certs[0]->parsed);
    /* the same bytes intern to the same object */
    const struct x509_cert *first = certs[0];
    assert_int_equal(tls_msg_certificate(b.p, b.n, false, pool, certs, 1, &n, &trunc), TI_OK);
    assert_int_equal(n, 1);
    assert_true(trunc);
    assert_ptr_equal(certs[0], first);
    for (size_t k = 0; k < b.n; k++) {
        n = 77;
        assert_int_not_equal(tls_msg_certificate(b.p, k, false, pool, certs, 4, &n, &trunc), TI_OK);
        assert_int_equal(n, 77);   /* untouched */
    }
    /* the 1.2 body is not a valid 1.3 body */
    assert_int_not_equal(tls_msg_certificate(b.p, b.n, true, pool, certs, 4, &n, &trunc), TI_OK);
    b_free(&b);

    /* empty list (a client without a certificate) */
    b_u24(&b, 0);
    assert_int_equal(tls_msg_certificate(b.p, b.n, false, pool, certs, 4, &n, &trunc), TI_OK);
    assert_int_equal(n, 0);
    b_free(&b);
    /* zero-length ASN.1Cert is malformed; trailing bytes too */
    b_u24(&b, 3);
    b_u24(&b, 0);
    assert_int_equal(tls_msg_certificate(b.p, b.n, false, pool, certs, 4, &n, &trunc), TI_EMALFORMED);
    b_free(&b);
    b_u24(&b, 0);
    b_u8(&b, 0);
    assert_int_equal(tls_msg_certificate(b.p, b.n, false, pool, certs, 4, &n, &trunc), TI_EMALFORMED);
    b_free(&b);
    /* a certificate overrunning the list */
    b_u24(&b, 4);
    b_u24(&b, 5);
    b_u8(&b, 0x30);
    assert_int_equal(tls_msg_certificate(b.p, b.n, false, pool, certs, 4, &n, &trunc), TI_EMALFORMED);
    b_free(&b);

    /* TLS 1.3 form: context, then {cert, extensions} */
    b_u8(&b, 2);
    b_u16(&b, 0xabcd);
    at = b_open(&b, 3);
    b_u24(&b, (unsigned)l2);
    b_put(&b, d2, l2);
    b_u16(&b, 4);
    b_u16(&b, 5);   /* status_request extension, empty */
    b_u16(&b, 0);
    b_u24(&b, (unsigned)l1);
    b_put(&b, d1, l1);
    b_u16(&b, 0);
    b_close(&b, at, 3);
    assert_int_equal(tls_msg_certificate(b.p, b.n, true, pool, certs, 4, &n, &trunc), TI_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(certs[0]->der, d2, l2);
    assert_memory_equal(certs[1]->der, d1, l1);
    for (size_t k = 0; k < b.n; k++) {
        n = 77;
        assert_int_not_equal(tls_msg_certificate(b.p, k, true, pool, certs, 4, &n, &trunc), TI_OK);
        assert_int_equal(n, 77);
    }
    b_free(&b);

    OPENSSL_free(d1);
    OPENSSL_free(d2);
    x509_pool_free(pool);
}

/* ---- Alert --------------------------------------------------------------- */

static void test_alert(void **state)
{
    static const uint8_t a[] = {2, 48, 0};
    uint8_t level = 9, desc = 9;

    (void)state;
    assert_int_equal(tls_msg_alert(a, 2, &level, &desc), TI_OK);
    assert_int_equal(level, 2);
    assert_int_equal(desc, 48);
    level = desc = 9;
    assert_int_equal(tls_msg_alert(a, 0, &level, &desc), TI_ETRUNC);
    assert_int_equal(tls_msg_alert(a, 1, &level, &desc), TI_ETRUNC);
    assert_int_equal(tls_msg_alert(a, 3, &level, &desc), TI_EMALFORMED);
    assert_int_equal(level, 9);
    assert_int_equal(desc, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ch_full),
        cmocka_unit_test(test_fp_memo),
        cmocka_unit_test(test_ch_prefixes),
        cmocka_unit_test(test_ch_lengths),
        cmocka_unit_test(test_ch_ext_bodies),
        cmocka_unit_test(test_preferred_auth),
        cmocka_unit_test(test_ja3_ja4_published),
        cmocka_unit_test(test_ja4_foxio),
        cmocka_unit_test(test_ja4_edges),
        cmocka_unit_test(test_sslv2_hello),
        cmocka_unit_test(test_server_hello),
        cmocka_unit_test(test_server_hello_draft),
        cmocka_unit_test(test_ch_salvage),
        cmocka_unit_test(test_certificate),
        cmocka_unit_test(test_alert),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
