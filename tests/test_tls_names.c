/* test_tls_names.c - cipher suite / sigalg / group / extension / alert / version names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/ssl.h>

#include "tlsinspect/tls_names.h"

static int setup(void **state)
{
    struct tls_names *n = NULL;

    if (tls_names_new(&n) != 0)
        return -1;
    *state = n;
    return 0;
}

static int teardown(void **state)
{
    tls_names_free(*state);
    return 0;
}

static void test_suites_openssl(void **state)
{
    const struct tls_names *n = *state;

    assert_string_equal(tls_suite_name(n, 0xc02c), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    assert_int_equal(tls_suite_auth(n, 0xc02c), AUTH_ECDSA);
    assert_true(tls_suite_is_ephemeral_12(n, 0xc02c));

    assert_string_equal(tls_suite_name(n, 0xc030), "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
    assert_int_equal(tls_suite_auth(n, 0xc030), AUTH_RSA);
    assert_true(tls_suite_is_ephemeral_12(n, 0xc030));

    assert_string_equal(tls_suite_name(n, 0x1301), "TLS_AES_128_GCM_SHA256");
    assert_int_equal(tls_suite_auth(n, 0x1301), AUTH_ANY);
    assert_false(tls_suite_is_ephemeral_12(n, 0x1301));   /* TLS 1.3-only */
    assert_true(tls_suite_is_tls13(0x1301));
    assert_true(tls_suite_is_tls13(0x1303));
    assert_false(tls_suite_is_tls13(0xc02f));

    /* static RSA key exchange: RSA auth, not forward secret */
    assert_string_equal(tls_suite_name(n, 0x009c), "TLS_RSA_WITH_AES_128_GCM_SHA256");
    assert_int_equal(tls_suite_auth(n, 0x009c), AUTH_RSA);
    assert_false(tls_suite_is_ephemeral_12(n, 0x009c));

    /* DHE-RSA is ephemeral */
    assert_string_equal(tls_suite_name(n, 0x009e), "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256");
    assert_true(tls_suite_is_ephemeral_12(n, 0x009e));
    assert_int_equal(tls_suite_auth(n, 0x009e), AUTH_RSA);

    /* anonymous and PSK */
    assert_int_equal(tls_suite_auth(n, 0x00a6), AUTH_ANON);   /* DH_anon AES128 GCM */
    assert_int_equal(tls_suite_auth(n, 0x00a8), AUTH_PSK);    /* PSK AES128 GCM */
}

/* tls_names answers from its own index of the cipher list: for every code,
 * the same SSL_CIPHER OpenSSL's SSL_CIPHER_find() gives (set up as
 * tls_names_new() sets up its SSL), so names and authentication are as
 * OpenSSL's. */
static void test_suite_index_matches_openssl(void **state)
{
    const struct tls_names *n = *state;
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    SSL *ssl;
    unsigned found = 0;

    assert_non_null(ctx);
    SSL_CTX_set_security_level(ctx, 0);
    assert_int_equal(SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL"), 1);
    ssl = SSL_new(ctx);
    assert_non_null(ssl);
    for (uint32_t code = 0; code <= 0xffff; code++) {
        unsigned char b[2] = {(unsigned char)(code >> 8), (unsigned char)code};
        const SSL_CIPHER *want = SSL_CIPHER_find(ssl, b);

        if (tls_is_grease((uint16_t)code) || code == 0x00ff || code == 0x5600)
            continue;
        assert_ptr_equal(tls_suite_cipher(n, (uint16_t)code), want);
        found += want != NULL;
    }
    assert_true(found > 100);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

static void test_suites_fallback(void **state)
{
    const struct tls_names *n = *state;

    /* Compiled out of OpenSSL 3 builds: names from the fallback table, auth
     * and key exchange from the name pattern. */
    assert_string_equal(tls_suite_name(n, 0x000a), "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
    assert_int_equal(tls_suite_auth(n, 0x000a), AUTH_RSA);
    assert_false(tls_suite_is_ephemeral_12(n, 0x000a));
    assert_string_equal(tls_suite_name(n, 0xc011), "TLS_ECDHE_RSA_WITH_RC4_128_SHA");
    assert_true(tls_suite_is_ephemeral_12(n, 0xc011));
    assert_int_equal(tls_suite_auth(n, 0xc011), AUTH_RSA);
    assert_string_equal(tls_suite_name(n, 0xc008), "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA");
    assert_int_equal(tls_suite_auth(n, 0xc008), AUTH_ECDSA);
    assert_int_equal(tls_suite_auth(n, 0x0013), AUTH_DSA);     /* DHE_DSS 3DES */
    assert_true(tls_suite_is_ephemeral_12(n, 0x0013));
    assert_int_equal(tls_suite_auth(n, 0xc004), AUTH_OTHER);   /* static ECDH_ECDSA */
    assert_false(tls_suite_is_ephemeral_12(n, 0xc004));
    assert_int_equal(tls_suite_auth(n, 0x00c6), AUTH_ANY);     /* TLS_SM4_GCM_SM3, 1.3 */

    /* signalling suites are not suites */
    assert_string_equal(tls_suite_name(n, 0x00ff), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
    assert_int_equal(tls_suite_auth(n, 0x00ff), AUTH_NONE);
    assert_false(tls_suite_is_ephemeral_12(n, 0x00ff));
    assert_int_equal(tls_suite_auth(n, 0x5600), AUTH_NONE);

    /* unknown */
    assert_null(tls_suite_name(n, 0xfefe));
    assert_int_equal(tls_suite_auth(n, 0xfefe), AUTH_NONE);
    assert_false(tls_suite_is_ephemeral_12(n, 0xfefe));
    /* NULL names object: only the static table answers */
    assert_string_equal(tls_suite_name(NULL, 0xc02c), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    assert_int_equal(tls_suite_auth(NULL, 0xc02c), AUTH_ECDSA);
}

static void test_grease(void **state)
{
    const struct tls_names *n = *state;
    unsigned count = 0;

    for (unsigned v = 0; v <= 0xffff; v++)
        count += tls_is_grease((uint16_t)v);
    assert_int_equal(count, 16);   /* RFC 8701: 0x0a0a .. 0xfafa */
    assert_true(tls_is_grease(0x0a0a));
    assert_true(tls_is_grease(0xfafa));
    assert_true(tls_is_grease(0x3a3a));
    assert_false(tls_is_grease(0x0a1a));
    assert_false(tls_is_grease(0x0b0b));
    assert_null(tls_suite_name(n, 0x0a0a));
    assert_int_equal(tls_suite_auth(n, 0x0a0a), AUTH_NONE);
    assert_false(tls_suite_is_ephemeral_12(n, 0x0a0a));
    assert_int_equal(tls_sigalg_auth(0x1a1a), AUTH_NONE);
}

static void test_sigalgs(void **state)
{
    (void)state;
    assert_string_equal(tls_sigalg_name(0x0403), "ecdsa_secp256r1_sha256");
    assert_string_equal(tls_sigalg_name(0x0401), "rsa_pkcs1_sha256");
    assert_string_equal(tls_sigalg_name(0x0804), "rsa_pss_rsae_sha256");
    assert_string_equal(tls_sigalg_name(0x080b), "rsa_pss_pss_sha512");
    assert_string_equal(tls_sigalg_name(0x0807), "ed25519");
    assert_string_equal(tls_sigalg_name(0x0201), "rsa_pkcs1_sha1");
    assert_string_equal(tls_sigalg_name(0x0203), "ecdsa_sha1");
    assert_string_equal(tls_sigalg_name(0x081b), "ecdsa_brainpoolP384r1tls13_sha384");
    assert_string_equal(tls_sigalg_name(0x0905), "mldsa65");
    assert_null(tls_sigalg_name(0x0000));
    assert_int_equal(tls_sigalg_auth(0x0403), AUTH_ECDSA);
    assert_int_equal(tls_sigalg_auth(0x081a), AUTH_ECDSA);
    assert_int_equal(tls_sigalg_auth(0x0804), AUTH_RSA);
    assert_int_equal(tls_sigalg_auth(0x0809), AUTH_RSA);
    assert_int_equal(tls_sigalg_auth(0x0601), AUTH_RSA);
    assert_int_equal(tls_sigalg_auth(0x0402), AUTH_DSA);
    assert_int_equal(tls_sigalg_auth(0x0807), AUTH_OTHER);   /* EdDSA */
    assert_int_equal(tls_sigalg_auth(0x0906), AUTH_OTHER);
    assert_int_equal(tls_sigalg_auth(0x0303), AUTH_ECDSA);
    assert_int_equal(tls_sigalg_auth(0xeeee), AUTH_NONE);
}

static void test_groups_exts(void **state)
{
    (void)state;
    assert_string_equal(tls_group_name(23), "secp256r1");
    assert_string_equal(tls_group_name(24), "secp384r1");
    assert_string_equal(tls_group_name(25), "secp521r1");
    assert_string_equal(tls_group_name(29), "x25519");
    assert_string_equal(tls_group_name(30), "x448");
    assert_string_equal(tls_group_name(256), "ffdhe2048");
    assert_string_equal(tls_group_name(260), "ffdhe8192");
    assert_string_equal(tls_group_name(0x11ec), "X25519MLKEM768");
    assert_string_equal(tls_group_name(0x11eb), "SecP256r1MLKEM768");
    assert_string_equal(tls_group_name(0x6399), "X25519Kyber768Draft00");
    assert_null(tls_group_name(0x0a0a));

    assert_string_equal(tls_ext_name(0), "server_name");
    assert_string_equal(tls_ext_name(10), "supported_groups");
    assert_string_equal(tls_ext_name(13), "signature_algorithms");
    assert_string_equal(tls_ext_name(16), "application_layer_protocol_negotiation");
    assert_string_equal(tls_ext_name(43), "supported_versions");
    assert_string_equal(tls_ext_name(51), "key_share");
    assert_string_equal(tls_ext_name(0xff01), "renegotiation_info");
    assert_string_equal(tls_ext_name(0xfe0d), "encrypted_client_hello");
    assert_string_equal(tls_ext_name(17513), "application_settings_old");
    assert_string_equal(tls_ext_name(17613), "application_settings");
    assert_null(tls_ext_name(40));   /* reserved */
    assert_null(tls_ext_name(0x2a2a));
}

static void test_alerts_hs(void **state)
{
    (void)state;
    assert_string_equal(tls_alert_name(48), "unknown_ca");
    assert_string_equal(tls_alert_name(0), "close_notify");
    assert_string_equal(tls_alert_name(40), "handshake_failure");
    assert_string_equal(tls_alert_name(42), "bad_certificate");
    assert_string_equal(tls_alert_name(46), "certificate_unknown");
    assert_string_equal(tls_alert_name(70), "protocol_version");
    assert_string_equal(tls_alert_name(116), "certificate_required");
    assert_string_equal(tls_alert_name(120), "no_application_protocol");
    assert_null(tls_alert_name(1));
    assert_null(tls_alert_name(255));
    assert_string_equal(tls_alert_level_name(1), "warning");
    assert_string_equal(tls_alert_level_name(2), "fatal");
    assert_null(tls_alert_level_name(0));
    assert_null(tls_alert_level_name(3));

    assert_string_equal(tls_hs_name(1), "ClientHello");
    assert_string_equal(tls_hs_name(2), "ServerHello");
    assert_string_equal(tls_hs_name(11), "Certificate");
    assert_string_equal(tls_hs_name(12), "ServerKeyExchange");
    assert_string_equal(tls_hs_name(13), "CertificateRequest");
    assert_string_equal(tls_hs_name(14), "ServerHelloDone");
    assert_string_equal(tls_hs_name(15), "CertificateVerify");
    assert_string_equal(tls_hs_name(16), "ClientKeyExchange");
    assert_string_equal(tls_hs_name(20), "Finished");
    assert_string_equal(tls_hs_name(4), "NewSessionTicket");
    assert_string_equal(tls_hs_name(8), "EncryptedExtensions");
    assert_string_equal(tls_hs_name(22), "CertificateStatus");
    assert_string_equal(tls_hs_name(24), "KeyUpdate");
    assert_string_equal(tls_hs_name(0), "HelloRequest");
    assert_string_equal(tls_hs_name(5), "EndOfEarlyData");
    assert_string_equal(tls_hs_name(254), "MessageHash");
    assert_null(tls_hs_name(7));
    assert_null(tls_hs_name(200));
}

static void test_versions(void **state)
{
    char buf[16];

    (void)state;
    assert_string_equal(tls_version_name(0x0002, buf, sizeof(buf)), "SSL 2.0");
    assert_string_equal(tls_version_name(0x0300, buf, sizeof(buf)), "SSL 3.0");
    assert_string_equal(tls_version_name(0x0301, buf, sizeof(buf)), "TLS 1.0");
    assert_string_equal(tls_version_name(0x0302, buf, sizeof(buf)), "TLS 1.1");
    assert_string_equal(tls_version_name(0x0303, buf, sizeof(buf)), "TLS 1.2");
    assert_string_equal(tls_version_name(0x0304, buf, sizeof(buf)), "TLS 1.3");
    assert_string_equal(tls_version_name(0x7f10, buf, sizeof(buf)), "TLS 1.3 draft 16");
    assert_string_equal(tls_version_name(0x7f1c, NULL, 0), "TLS 1.3 draft 28");
    assert_string_equal(tls_version_name(0x7f1d, buf, sizeof(buf)), "0x7f1d");
    assert_string_equal(tls_version_name(0x1234, buf, sizeof(buf)), "0x1234");
    assert_null(tls_version_name(0x1234, NULL, 0));
    assert_null(tls_version_name(0x1234, buf, 4));   /* too small for "0x1234" */
}

/* Index of the first entry not strictly above its predecessor (out of order
 * or a duplicate code), or n when the table is sorted and unique. */
static size_t first_unsorted(const struct tls_name_tok *t, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (t[i].code <= t[i - 1].code)
            return i;
    return n;
}

/* Every binary-searched table is sorted by code with no code twice, and
 * every entry is found by the lookup it serves. */
static void test_names_tables(void **state)
{
    static const struct tls_name_tok unsorted[] = {{1, "a"}, {3, "c"}, {2, "b"}};
    static const struct tls_name_tok dup[] = {{1, "a"}, {2, "b"}, {2, "b2"}};
    const struct tls_names *names = *state;
    size_t n;
    const struct tls_name_table *t = tls_name_tables(&n);

    /* the check itself catches both faults */
    assert_int_equal(first_unsorted(unsorted, 3), 2);
    assert_int_equal(first_unsorted(dup, 3), 2);

    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        size_t bad = first_unsorted(t[i].toks, t[i].n);

        assert_true(t[i].n > 0);
        if (bad != t[i].n)
            fail_msg("%s[%zu] (0x%04x %s) is not above %s[%zu] (0x%04x)", t[i].what, bad,
                     t[i].toks[bad].code, t[i].toks[bad].name, t[i].what, bad - 1,
                     t[i].toks[bad - 1].code);
    }
    /* each entry is reachable through its public lookup */
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < t[i].n; k++) {
            const struct tls_name_tok *e = &t[i].toks[k];
            const char *got = NULL;
            char buf[16];

            if (strcmp(t[i].what, "sigalgs") == 0)
                got = tls_sigalg_name(e->code);
            else if (strcmp(t[i].what, "groups") == 0)
                got = tls_group_name(e->code);
            else if (strcmp(t[i].what, "exts") == 0)
                got = tls_ext_name(e->code);
            else if (strcmp(t[i].what, "alerts") == 0)
                got = tls_alert_name((uint8_t)e->code);
            else if (strcmp(t[i].what, "hs_types") == 0)
                got = tls_hs_name((uint8_t)e->code);
            else if (strcmp(t[i].what, "versions") == 0)
                got = tls_version_name(e->code, buf, sizeof buf);
            else if (strcmp(t[i].what, "suite_fallback") == 0)
                got = tls_suite_name(names, e->code);   /* OpenSSL's name may come first */
            else
                fail_msg("table %s has no lookup in this test", t[i].what);
            assert_non_null(got);
            if (strcmp(t[i].what, "suite_fallback") != 0)
                assert_string_equal(got, e->name);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suites_openssl),
        cmocka_unit_test(test_suites_fallback),
        cmocka_unit_test(test_suite_index_matches_openssl),
        cmocka_unit_test(test_grease),
        cmocka_unit_test(test_sigalgs),
        cmocka_unit_test(test_groups_exts),
        cmocka_unit_test(test_alerts_hs),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_names_tables),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
