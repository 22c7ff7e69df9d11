/* test_tls13_keylog.c - NSS key log parsing and TLS 1.3 record decryption (RFC 8448, Illustrated TLS 1.3, round trips). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/err.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls13_keylog.h"
#include "tlsinspect/tls_msg.h"
#include "tlsinspect/x509.h"

#include "support/bytebuf.h"

/* ---- helpers ------------------------------------------------------------ */

/* Hex (whitespace ignored) into a fresh buffer. */
static uint8_t *unhex(const char *h, size_t *n)
{
    size_t len = strlen(h), k = 0;
    uint8_t *out = malloc(len / 2 + 1);
    int hi = -1;

    assert_non_null(out);
    for (size_t i = 0; i < len; i++) {
        int v;
        char ch = h[i];
        if (ch == ' ' || ch == '\n')
            continue;
        if (ch >= '0' && ch <= '9') v = ch - '0';
        else if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F') v = ch - 'A' + 10;
        else { fail_msg("bad hex in a test vector"); return NULL; }
        if (hi < 0) {
            hi = v;
        } else {
            out[k++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    *n = k;
    return out;
}

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    size_t wn;
    uint8_t *w = unhex(want, &wn);

    assert_int_equal(n, wn);
    assert_memory_equal(got, w, n);
    free(w);
}

/* ---- published vectors: RFC 8448 section 3, Simple 1-RTT Handshake ------ */

/* {server} send handshake record: EE, Certificate, CertificateVerify, Finished (679 octets) */
static const char RFC8448_SERVER_FLIGHT_RECORD[] =
    "17030302a2d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35e"
    "df7869fcf40aa40aa2b8ea73f848a7ca07612ef9f945cb960b4068905123ea78"
    "b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13b"
    "d9aefb0e57f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d57a6b9"
    "d7477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2e"
    "d65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd61092"
    "8d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead68694"
    "5ba246ab66e5edd8044b4c6de3fcf2a89441ac66272fd8fb330ef8190579b368"
    "4596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611ea5e22f"
    "4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26"
    "f59ecaba9acbbb317b66d902f4f292a36ac1b639c637ce343117b65962224531"
    "7b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84dc3bd7e"
    "1b7a6c7178af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da"
    "8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db7cca71e4599426f7d4"
    "61e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe"
    "5a37668936b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb"
    "992f2b992f67f8afe67f76913fa388cb5630c8ca01e0c65d11c66a1e2ac4c859"
    "77b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c0b3b66763038"
    "ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b84"
    "5e275592c12335ee340bbc4fddd502784016e4b3be7ef04dda49f4b440a30cb5"
    "d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e"
    "750edc53370d2b";
/* {server} EncryptedExtensions */
static const char RFC8448_EE[] =
    "080000240022000a00140012001d00170018001901000101010201030104001c"
    "0002400100000000";
/* {server} Certificate */
static const char RFC8448_CERT[] =
    "0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a"
    "864886f70d01010b0500300e310c300a06035504031303727361301e170d3136"
    "303733303031323335395a170d3236303733303031323335395a300e310c300a"
    "0603550403130372736130819f300d06092a864886f70d010101050003818d00"
    "30818902818100b4bb498f8279303d980836399b36c6988c0c68de55e1bdb826"
    "d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19eaa6af98c7ced4312"
    "0998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda4308467480"
    "30530ef0461c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a"
    "8d88d79f7f1e3f0203010001a31a301830090603551d1304023000300b060355"
    "1d0f0404030205a0300d06092a864886f70d01010b05000381810085aad2a0e5"
    "b9276b908c65f73a7267170618a54c5f8a7b337d2df7a594365417f2eae8f8a5"
    "8c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd335e5e67f2dbf102"
    "702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb2bd5203b1c3b84e0"
    "a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b42b4de10000";
/* {server} CertificateVerify */
static const char RFC8448_CV[] =
    "0f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f824cd484145a"
    "b3ff52f1fda8477b0b7abc90db78e2d33a5c141a078653fa6bef780c5ea248ee"
    "aaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671459e46445c"
    "9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda65cdf5aea2"
    "0d53dfacd42f74f3";
/* {server} Finished */
static const char RFC8448_SFIN[] =
    "140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454"
    "b78f0718";

/* RFC 8448 3: server_handshake_traffic_secret and its write key / iv. */
#define RFC8448_S_HS "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
#define RFC8448_S_HS_KEY "3fce516009c21727d0f2e4e86ee403bc"
#define RFC8448_S_HS_IV "5d313eb2671276ee13000b30"
/* RFC 8448 3: client_handshake_traffic_secret, key, iv, and the client's
 * Finished message and the record carrying it. */
#define RFC8448_C_HS "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21"
#define RFC8448_C_HS_KEY "dbfaa693d1762c5b666af5d950258d01"
#define RFC8448_C_HS_IV "5bd3c71b836e0b76bb73265f"
#define RFC8448_CFIN "14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61"
#define RFC8448_CFIN_RECORD \
    "170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338" \
    "ac98fc46deb384bd1caeacab6867d726c40546"

/* The Illustrated TLS 1.3 Connection (tls13.xargs.org), TLS_AES_256_GCM_SHA384:
 * server handshake traffic secret, key, iv, and the wrapped EncryptedExtensions. */
#define XARGS_S_HS \
    "23323da031634b241dd37d61032b62a4f450584d1f7f47983ba2f7cc0cdcc39a" \
    "68f481f2b019f9403a3051908a5d1622"
#define XARGS_S_HS_KEY "9f13575ce3f8cfc1df64a77ceaffe89700b492ad31b4fab01c4792be1b266b7f"
#define XARGS_S_HS_IV "9563bc8b590f671f488d2da3"
#define XARGS_EE_RECORD "17030300176be02f9da7c2dc9ddef56f2468b90adfa25101ab0344ae"
#define XARGS_EE "080000020000"

static void open_hex_record(struct tls13_dir_keys *k, const char *rec_hex, int want_rc,
                            uint8_t want_type, const char *want_plain)
{
    size_t n, out_len = 99;
    uint8_t *rec = unhex(rec_hex, &n), type = 99;
    uint8_t *out = malloc(n);
    int rc;

    assert_non_null(out);
    assert_true(n > 5);
    assert_int_equal((size_t)(rec[3] << 8 | rec[4]), n - 5);
    rc = tls13_open_record(k, rec, rec + 5, n - 5, out, n, &out_len, &type);
    assert_int_equal(rc, want_rc);
    if (rc == TI_OK) {
        assert_int_equal(type, want_type);
        assert_hex(out, out_len, want_plain);
    } else {
        assert_int_equal(out_len, 0);
    }
    free(rec);
    free(out);
}

static void keys_from_hex(struct tls13_dir_keys *k, uint16_t suite, const char *secret_hex)
{
    size_t n;
    uint8_t *s = unhex(secret_hex, &n);

    assert_int_equal(tls13_keys_init(k, suite, s, n), TI_OK);
    free(s);
}

static char *rfc8448_flight_plain(void)
{
    size_t n = strlen(RFC8448_EE) + strlen(RFC8448_CERT) + strlen(RFC8448_CV) +
               strlen(RFC8448_SFIN) + 1;
    char *p = malloc(n);

    assert_non_null(p);
    snprintf(p, n, "%s%s%s%s", RFC8448_EE, RFC8448_CERT, RFC8448_CV, RFC8448_SFIN);
    return p;
}

static void test_rfc8448_server_flight(void **state)
{
    struct tls13_dir_keys k;
    char *plain = rfc8448_flight_plain();

    (void)state;
    memset(&k, 0, sizeof(k));
    keys_from_hex(&k, 0x1301, RFC8448_S_HS);
    assert_hex(k.key, 16, RFC8448_S_HS_KEY);
    assert_hex(k.iv, TLS13_IV_LEN, RFC8448_S_HS_IV);
    assert_int_equal(k.seq, 0);
    /* One record: EE, Certificate, CertificateVerify, Finished; inner type 22. */
    open_hex_record(&k, RFC8448_SERVER_FLIGHT_RECORD, TI_OK, 22, plain);
    assert_int_equal(k.seq, 1);
    /* The same record again is sequence 1 now: another nonce, the tag fails. */
    open_hex_record(&k, RFC8448_SERVER_FLIGHT_RECORD, TI_EMALFORMED, 0, NULL);
    assert_int_equal(k.seq, 1);
    tls13_keys_clear(&k);
    assert_false(k.ready);
    free(plain);
}

static void test_rfc8448_client_finished(void **state)
{
    struct tls13_dir_keys k;

    (void)state;
    memset(&k, 0, sizeof(k));
    keys_from_hex(&k, 0x1301, RFC8448_C_HS);
    assert_hex(k.key, 16, RFC8448_C_HS_KEY);
    assert_hex(k.iv, TLS13_IV_LEN, RFC8448_C_HS_IV);
    open_hex_record(&k, RFC8448_CFIN_RECORD, TI_OK, 22, RFC8448_CFIN);
    /* Re-initialising restarts the sequence at 0 and reuses the context. */
    keys_from_hex(&k, 0x1301, RFC8448_C_HS);
    assert_int_equal(k.seq, 0);
    open_hex_record(&k, RFC8448_CFIN_RECORD, TI_OK, 22, RFC8448_CFIN);
    tls13_keys_clear(&k);
}

/* The server's keys do not open the client's record. */
static void test_rfc8448_wrong_key(void **state)
{
    struct tls13_dir_keys k;

    (void)state;
    memset(&k, 0, sizeof(k));
    keys_from_hex(&k, 0x1301, RFC8448_S_HS);
    open_hex_record(&k, RFC8448_CFIN_RECORD, TI_EMALFORMED, 0, NULL);
    tls13_keys_clear(&k);
}

/* Any changed bit of the header (additional data), ciphertext or tag fails. */
static void test_rfc8448_tamper(void **state)
{
    struct tls13_dir_keys k;
    size_t n, out_len;
    uint8_t *rec = unhex(RFC8448_CFIN_RECORD, &n), out[128], type;
    const size_t where[] = {0, 2, 4, 5, 20, 5 + 36, n - 1};

    (void)state;
    memset(&k, 0, sizeof(k));
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        keys_from_hex(&k, 0x1301, RFC8448_C_HS);
        rec[where[i]] ^= 0x01;
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                           &out_len, &type), TI_EMALFORMED);
        rec[where[i]] ^= 0x01;
    }
    keys_from_hex(&k, 0x1301, RFC8448_C_HS);
    assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                       &out_len, &type), TI_OK);
    tls13_keys_clear(&k);
    free(rec);
}

static void test_xargs_aes256_sha384(void **state)
{
    struct tls13_dir_keys k;

    (void)state;
    memset(&k, 0, sizeof(k));
    keys_from_hex(&k, 0x1302, XARGS_S_HS);
    assert_hex(k.key, 32, XARGS_S_HS_KEY);
    assert_hex(k.iv, TLS13_IV_LEN, XARGS_S_HS_IV);
    open_hex_record(&k, XARGS_EE_RECORD, TI_OK, 22, XARGS_EE);
    tls13_keys_clear(&k);
}

/* ---- HKDF-Expand-Label against OpenSSL's own TLS13-KDF ------------------- */

static void tls13_kdf_ref(const char *md, const uint8_t *secret, size_t slen,
                          const char *label, const uint8_t *ctx, size_t clen,
                          uint8_t *out, size_t olen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
    EVP_KDF_CTX *kc;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM p[7], *q = p;

    assert_non_null(kdf);
    kc = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    assert_non_null(kc);
    *q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, (void *)"tls13 ", 6);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label, strlen(label));
    if (clen > 0)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, (void *)ctx, clen);
    *q = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_KDF_derive(kc, out, olen, p), 1);
    EVP_KDF_CTX_free(kc);
}

static void test_hkdf_expand_label_vs_openssl(void **state)
{
    static const struct { const char *md; size_t slen; const char *label; size_t clen, olen; } cases[] = {
        {"SHA256", 32, "key", 0, 16}, {"SHA256", 32, "iv", 0, 12},
        {"SHA256", 32, "key", 0, 32}, {"SHA384", 48, "key", 0, 32},
        {"SHA384", 48, "iv", 0, 12}, {"SHA256", 32, "finished", 0, 32},
        {"SHA256", 32, "c hs traffic", 32, 32}, {"SHA384", 48, "derived", 48, 48},
        {"SHA256", 32, "a-label-of-some-length-to-span-blocks", 255, 100},
    };
    uint8_t secret[48], ctx[255], got[128], want[128];

    (void)state;
    for (size_t i = 0; i < sizeof(secret); i++)
        secret[i] = (uint8_t)(i * 7 + 3);
    for (size_t i = 0; i < sizeof(ctx); i++)
        ctx[i] = (uint8_t)(255 - i);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(got, 0, sizeof(got));
        assert_int_equal(tls13_hkdf_expand_label(cases[i].md, secret, cases[i].slen,
                                                 cases[i].label, ctx, cases[i].clen,
                                                 got, cases[i].olen), TI_OK);
        tls13_kdf_ref(cases[i].md, secret, cases[i].slen, cases[i].label, ctx,
                      cases[i].clen, want, cases[i].olen);
        assert_memory_equal(got, want, cases[i].olen);
    }
    /* Limits of the HkdfLabel encoding. */
    char longlabel[251];
    memset(longlabel, 'a', 250);
    longlabel[250] = '\0';   /* 6 + 250 > 255 */
    assert_int_equal(tls13_hkdf_expand_label("SHA256", secret, 32, longlabel, NULL, 0, got, 16),
                     TI_EUSAGE);
    longlabel[249] = '\0';   /* 6 + 249 = 255: allowed */
    assert_int_equal(tls13_hkdf_expand_label("SHA256", secret, 32, longlabel, NULL, 0, got, 16),
                     TI_OK);
    assert_int_equal(tls13_hkdf_expand_label("SHA256", secret, 32, "key", ctx, 256, got, 16),
                     TI_EUSAGE);
    assert_int_equal(tls13_hkdf_expand_label("SHA256", secret, 32, "key", NULL, 0, got, 0),
                     TI_EUSAGE);
    /* HKDF-Expand cannot give more than 255 hash lengths. */
    uint8_t *big = malloc(255 * 32 + 1);
    assert_non_null(big);
    assert_int_equal(tls13_hkdf_expand_label("SHA256", secret, 32, "key", NULL, 0,
                                             big, 255 * 32), TI_OK);
    assert_int_not_equal(tls13_hkdf_expand_label("SHA256", secret, 32, "key", NULL, 0,
                                                 big, 255 * 32 + 1), TI_OK);
    free(big);
}

/* ---- round trips for every suite ---------------------------------------- */

struct suite_case {
    uint16_t suite;
    const char *md;
    size_t hash_len, key_len, tag_len;
    const EVP_CIPHER *(*cipher)(void);
    bool ccm;
};

static const struct suite_case SUITES[] = {
    {0x1301, "SHA256", 32, 16, 16, EVP_aes_128_gcm, false},
    {0x1302, "SHA384", 48, 32, 16, EVP_aes_256_gcm, false},
    {0x1303, "SHA256", 32, 32, 16, EVP_chacha20_poly1305, false},
    {0x1304, "SHA256", 32, 16, 16, EVP_aes_128_ccm, true},
    {0x1305, "SHA256", 32, 16, 8, EVP_aes_128_ccm, true},
};

/* Seal one record the way a TLS 1.3 sender does (RFC 8446 5.2-5.4), written
 * independently of the module: key/iv from OpenSSL's TLS13-KDF, nonce, AAD. */
static size_t seal(const struct suite_case *sc, const uint8_t *secret, uint64_t seq,
                   uint8_t type, const uint8_t *content, size_t clen, size_t pad,
                   uint8_t *rec)
{
    uint8_t key[32], iv[12], nonce[12], inner[512];
    size_t ilen = clen + 1 + pad, total = ilen + sc->tag_len;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ol;

    assert_true(ilen <= sizeof(inner));
    tls13_kdf_ref(sc->md, secret, sc->hash_len, "key", NULL, 0, key, sc->key_len);
    tls13_kdf_ref(sc->md, secret, sc->hash_len, "iv", NULL, 0, iv, 12);
    memcpy(nonce, iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
    if (clen > 0)
        memcpy(inner, content, clen);
    inner[clen] = type;
    memset(inner + clen + 1, 0, pad);
    rec[0] = 23; rec[1] = 3; rec[2] = 3;
    rec[3] = (uint8_t)(total >> 8); rec[4] = (uint8_t)total;
    assert_non_null(c);
    assert_int_equal(EVP_EncryptInit_ex(c, sc->cipher(), NULL, NULL, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL), 1);
    if (sc->ccm)
        assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)sc->tag_len, NULL), 1);
    assert_int_equal(EVP_EncryptInit_ex(c, NULL, NULL, key, nonce), 1);
    if (sc->ccm)
        assert_int_equal(EVP_EncryptUpdate(c, NULL, &ol, NULL, (int)ilen), 1);
    assert_int_equal(EVP_EncryptUpdate(c, NULL, &ol, rec, 5), 1);
    assert_int_equal(EVP_EncryptUpdate(c, rec + 5, &ol, inner, (int)ilen), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, rec + 5 + ol, &ol), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, (int)sc->tag_len,
                                         rec + 5 + ilen), 1);
    EVP_CIPHER_CTX_free(c);
    return 5 + total;
}

static void test_round_trip_all_suites(void **state)
{
    uint8_t secret[48], rec[600], out[600], type, content[300];
    size_t hash_len = 0, out_len = 0;
    struct tls13_dir_keys k;

    (void)state;
    memset(&k, 0, sizeof(k));
    for (size_t i = 0; i < sizeof(content); i++)
        content[i] = (uint8_t)(i ^ 0x5a);
    for (size_t s = 0; s < sizeof(SUITES) / sizeof(SUITES[0]); s++) {
        const struct suite_case *sc = &SUITES[s];
        for (size_t i = 0; i < sizeof(secret); i++)
            secret[i] = (uint8_t)(s * 31 + i);
        assert_true(tls13_suite_supported(sc->suite, &hash_len));
        assert_int_equal(hash_len, sc->hash_len);
        assert_int_equal(tls13_keys_init(&k, sc->suite, secret, sc->hash_len), TI_OK);
        /* seq 0: handshake with padding; seq 1: an alert; seq 2: empty
         * content (legal for application data); seq 300: only after 300. */
        size_t n = seal(sc, secret, 0, 22, content, 300, 17, rec);
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                           &out_len, &type), TI_OK);
        assert_int_equal(type, 22);
        assert_int_equal(out_len, 300);
        assert_memory_equal(out, content, 300);
        uint8_t alert[2] = {2, 48};   /* fatal unknown_ca */
        n = seal(sc, secret, 1, 21, alert, 2, 0, rec);
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                           &out_len, &type), TI_OK);
        assert_int_equal(type, 21);
        assert_int_equal(out_len, 2);
        assert_memory_equal(out, alert, 2);
        n = seal(sc, secret, 2, 23, NULL, 0, 3, rec);
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                           &out_len, &type), TI_OK);
        assert_int_equal(type, 23);
        assert_int_equal(out_len, 0);
        assert_int_equal(k.seq, 3);
        /* Sequence 300 does not open at 3 (nonce uses the full number). */
        n = seal(sc, secret, 300, 22, content, 10, 0, rec);
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                           &out_len, &type), TI_EMALFORMED);
        k.seq = 300;
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                           &out_len, &type), TI_OK);
        /* Tag failure: last byte of the tag. */
        n = seal(sc, secret, 301, 22, content, 10, 0, rec);
        rec[n - 1] ^= 0x80;
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                           &out_len, &type), TI_EMALFORMED);
        assert_int_equal(k.seq, 301);
        /* All padding: no content type (RFC 8446 5.4). */
        n = seal(sc, secret, 301, 0, NULL, 0, 5, rec);
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                           &out_len, &type), TI_EMALFORMED);
        /* Output buffer one byte short of the ciphertext minus the tag. */
        n = seal(sc, secret, 302, 22, content, 10, 0, rec);
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out,
                                           n - 5 - sc->tag_len - 1, &out_len, &type),
                         TI_ELIMIT);
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out,
                                           n - 5 - sc->tag_len, &out_len, &type), TI_OK);
        assert_int_equal(out_len, 10);
        /* Too short to hold a tag and a type byte. */
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, sc->tag_len, out, sizeof(out),
                                           &out_len, &type), TI_EMALFORMED);
        assert_int_equal(tls13_open_record(&k, rec, rec + 5, 0, out, sizeof(out),
                                           &out_len, &type), TI_EMALFORMED);
    }
    tls13_keys_clear(&k);
}

static void test_keys_init_errors(void **state)
{
    struct tls13_dir_keys k;
    uint8_t secret[48] = {1}, rec[32] = {23, 3, 3, 0, 20}, out[32], type;
    size_t out_len;

    (void)state;
    memset(&k, 0, sizeof(k));
    /* Not ready yet. */
    assert_int_equal(tls13_open_record(&k, rec, rec + 5, 20, out, sizeof(out), &out_len, &type),
                     TI_EUNSUPPORTED);
    assert_int_equal(tls13_keys_init(&k, 0xc02f, secret, 32), TI_EUNSUPPORTED);
    assert_int_equal(tls13_keys_init(&k, 0x0000, secret, 32), TI_EUNSUPPORTED);
    assert_false(tls13_suite_supported(0xc02f, NULL));
    assert_false(tls13_suite_supported(0x1306, NULL));
    /* A SHA-384 secret for a SHA-256 suite and the reverse. */
    assert_int_equal(tls13_keys_init(&k, 0x1301, secret, 48), TI_EMALFORMED);
    assert_int_equal(tls13_keys_init(&k, 0x1302, secret, 32), TI_EMALFORMED);
    assert_int_equal(tls13_keys_init(&k, 0x1303, NULL, 32), TI_EMALFORMED);
    assert_false(k.ready);
    assert_int_equal(tls13_keys_init(&k, 0x1302, secret, 48), TI_OK);
    assert_true(k.ready);
    /* A failed re-init leaves the keys unusable rather than stale. */
    assert_int_equal(tls13_keys_init(&k, 0x1302, secret, 32), TI_EMALFORMED);
    assert_int_equal(tls13_open_record(&k, rec, rec + 5, 20, out, sizeof(out), &out_len, &type),
                     TI_EUNSUPPORTED);
    tls13_keys_clear(&k);
    tls13_keys_clear(&k);   /* twice is fine */
    tls13_keys_clear(NULL);
}

/* ---- KeyUpdate (RFC 8446 4.6.3, 7.2) --------------------------------------- */

/* Each generation's secret is HKDF-Expand-Label(previous, "traffic upd", "",
 * Hash.length), checked against OpenSSL's TLS13-KDF; records sealed under it
 * open from sequence 0, records under the previous one no longer do. */
static void test_keys_update(void **state)
{
    uint8_t secret[48], next[48], rec[600], out[600], type;
    static const uint8_t msg[5] = {'h', 'e', 'l', 'l', 'o'};
    struct tls13_dir_keys k;
    size_t out_len, n;

    (void)state;
    memset(&k, 0, sizeof(k));
    assert_int_equal(tls13_keys_update(NULL), TI_EUNSUPPORTED);
    assert_int_equal(tls13_keys_update(&k), TI_EUNSUPPORTED);   /* never initialised */
    for (size_t s = 0; s < sizeof(SUITES) / sizeof(SUITES[0]); s++) {
        const struct suite_case *sc = &SUITES[s];
        for (size_t i = 0; i < sc->hash_len; i++)
            secret[i] = (uint8_t)(0x40 + s * 7 + i);
        assert_int_equal(tls13_keys_init(&k, sc->suite, secret, sc->hash_len), TI_OK);
        assert_int_equal(k.generation, 0);
        assert_int_equal(k.secret_len, sc->hash_len);
        assert_memory_equal(k.secret, secret, sc->hash_len);
        k.seq = 41;   /* records already read under generation 0 */
        for (uint32_t gen = 1; gen <= 3; gen++) {
            tls13_kdf_ref(sc->md, secret, sc->hash_len, "traffic upd", NULL, 0, next,
                          sc->hash_len);
            assert_int_equal(tls13_keys_update(&k), TI_OK);
            assert_int_equal(k.generation, gen);
            assert_int_equal(k.seq, 0);                  /* RFC 8446 5.3 */
            assert_memory_equal(k.secret, next, sc->hash_len);
            /* The previous generation's record at the new sequence: refused. */
            n = seal(sc, secret, 0, 23, msg, sizeof(msg), 0, rec);
            assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                               &out_len, &type), TI_EMALFORMED);
            assert_int_equal(k.seq, 0);
            n = seal(sc, next, 0, 21, msg, 2, 3, rec);
            assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                               &out_len, &type), TI_OK);
            assert_int_equal(type, 21);
            assert_int_equal(out_len, 2);
            n = seal(sc, next, 1, 23, msg, sizeof(msg), 0, rec);
            assert_int_equal(tls13_open_record(&k, rec, rec + 5, n - 5, out, sizeof(out),
                                               &out_len, &type), TI_OK);
            assert_memory_equal(out, msg, sizeof(msg));
            memcpy(secret, next, sc->hash_len);
        }
        /* A fresh init starts again at generation 0. */
        assert_int_equal(tls13_keys_init(&k, sc->suite, secret, sc->hash_len), TI_OK);
        assert_int_equal(k.generation, 0);
    }
    tls13_keys_clear(&k);
    assert_false(k.ready);
    assert_int_equal(k.secret_len, 0);                   /* wiped */
    assert_int_equal(tls13_keys_update(&k), TI_EUNSUPPORTED);
}

/* ---- key log ------------------------------------------------------------ */

#define MAX_W 64
struct warns {
    unsigned long line[MAX_W];
    char msg[MAX_W][128];
    size_t n;
};

static void on_warn(void *ctx, unsigned long line, const char *msg)
{
    struct warns *w = ctx;

    assert_true(w->n < MAX_W);
    w->line[w->n] = line;
    snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
    w->n++;
}

#define R1 "025c7fcde5acc0600cb9bbea7622eef857544b4ba607c3768f1cc6bebb6e5732"
#define R2 "B7EA9D2EDE7CA3298DD03BFCF23D835A3F44E014FDC293D6D2529FA54EAA0AAE"
#define S32 "1b4d84c61d99cf4928861ccfc6a1bbcfa1a9a9187c2447ba0907929de08f14a0"
#define S48 "afc12588b31900562909cd021d045bd60592ce0184cbdc9644eb36ee94e072b5" \
            "ae07e0473f9cf447a18a57906d02fc05"

static const char GOOD_AND_BAD[] =
    "# SSL/TLS secrets log file, generated by NSS\n"                    /* 1 */
    "\n"                                                                   /* 2 */
    "SERVER_HANDSHAKE_TRAFFIC_SECRET " R1 " " S32 "\n"                     /* 3 */
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET\t" R1 "  " S32 "\r\n"                 /* 4 */
    "SERVER_HANDSHAKE_TRAFFIC_SECRET " R2 " " S48 "\n"                     /* 5 */
    "BOGUS_LABEL " R1 " " S32 "\n"                                         /* 6 */
    "CLIENT_TRAFFIC_SECRET_0 " R1 "\n"                                     /* 7 */
    "SERVER_TRAFFIC_SECRET_0 " R1 " " S32 " extra\n"                       /* 8 */
    "EXPORTER_SECRET 025c7f " S32 "\n"                                     /* 9 */
    "CLIENT_TRAFFIC_SECRET_0 " R1 " 1b4d8\n"                               /* 10 */
    "CLIENT_TRAFFIC_SECRET_0 " R1 " 1b4d84c61d99cf4928861ccfc6a1bbcf\n"    /* 11: 16 bytes */
    "CLIENT_TRAFFIC_SECRET_0 " R1 " zz4d84c61d99cf4928861ccfc6a1bbcfa1a9a9187c2447ba0907929de08f14a0\n" /* 12 */
    "RSA 0123456789abcdef 0303" S32 "\n"                                   /* 13: tolerated */
    "CLIENT_RANDOM " R2 " " S48 "\n"                                       /* 14 */
    "CLIENT_RANDOM " R1 " " S32 "\n"                                       /* 15: 32-byte master */
    "SERVER_HANDSHAKE_TRAFFIC_SECRET " R1 " " S48 "\n"                     /* 16: conflicts with 3 */
    "SERVER_HANDSHAKE_TRAFFIC_SECRET " R1 " " S32 "\n"                     /* 17: same as 3, silent */
    "   # indented comment\n"                                              /* 18 */
    "EXPORTER_SECRET " R1 " " S32;                                         /* 19: no newline */

static void test_keylog_lines(void **state)
{
    struct tls_keylog *kl = NULL;
    struct warns w;
    char err[128];
    size_t n;
    uint8_t *r1 = unhex(R1, &n), *r2 = unhex(R2, &n), *s32 = unhex(S32, &n), *s48 = unhex(S48, &n);
    const struct tls_keylog_entry *e;

    (void)state;
    memset(&w, 0, sizeof(w));
    assert_int_equal(tls_keylog_load_mem(&kl, GOOD_AND_BAD, strlen(GOOD_AND_BAD), on_warn, &w,
                                         err, sizeof(err)), TI_OK);
    assert_non_null(kl);
    assert_int_equal(kl->lines, 19);
    assert_int_equal(kl->n_entries, 2);
    /* Warnings, in line order, each with its line number. */
    const unsigned long want_lines[] = {6, 7, 8, 9, 10, 11, 12, 15, 16};
    assert_int_equal(w.n, sizeof(want_lines) / sizeof(want_lines[0]));
    for (size_t i = 0; i < w.n; i++)
        assert_int_equal(w.line[i], want_lines[i]);
    assert_non_null(strstr(w.msg[0], "BOGUS_LABEL"));
    assert_non_null(strstr(w.msg[1], "3 fields"));
    assert_non_null(strstr(w.msg[3], "client random"));
    assert_non_null(strstr(w.msg[7], "48"));
    assert_non_null(strstr(w.msg[8], "different secret"));
    assert_int_equal(kl->bad_lines, 9);

    e = tls_keylog_find(kl, r1);
    assert_non_null(e);
    assert_memory_equal(e->client_random, r1, 32);
    assert_int_equal(e->s[TLS_KL_SERVER_HS].len, 32);
    assert_memory_equal(e->s[TLS_KL_SERVER_HS].v, s32, 32);   /* line 3 won over 16 */
    assert_int_equal(e->s[TLS_KL_CLIENT_HS].len, 32);
    assert_memory_equal(e->s[TLS_KL_CLIENT_HS].v, s32, 32);
    assert_int_equal(e->s[TLS_KL_EXPORTER].len, 32);           /* last line, no newline */
    assert_int_equal(e->s[TLS_KL_CLIENT_AP0].len, 0);          /* every try was bad */
    assert_int_equal(e->s[TLS_KL_SERVER_AP0].len, 0);
    assert_int_equal(e->s[TLS_KL_MASTER].len, 0);

    e = tls_keylog_find(kl, r2);                               /* upper-case hex */
    assert_non_null(e);
    assert_int_equal(e->s[TLS_KL_SERVER_HS].len, 48);
    assert_memory_equal(e->s[TLS_KL_SERVER_HS].v, s48, 48);
    assert_int_equal(e->s[TLS_KL_CLIENT_HS].len, 0);           /* missing secret */
    assert_int_equal(e->s[TLS_KL_MASTER].len, 48);

    r1[31] ^= 1;
    assert_null(tls_keylog_find(kl, r1));
    assert_null(tls_keylog_find(NULL, r2));
    tls_keylog_free(kl);
    tls_keylog_free(NULL);
    free(r1); free(r2); free(s32); free(s48);
}

static void test_keylog_empty_and_garbage(void **state)
{
    struct tls_keylog *kl = NULL;
    struct warns w;
    char err[128];
    uint8_t r[32] = {0};
    static const char bin[] = "\x01\x02\x00\xff garbage\n\n#\n";

    (void)state;
    memset(&w, 0, sizeof(w));
    assert_int_equal(tls_keylog_load_mem(&kl, "", 0, on_warn, &w, err, sizeof(err)), TI_OK);
    assert_int_equal(kl->n_entries, 0);
    assert_int_equal(kl->lines, 0);
    assert_null(tls_keylog_find(kl, r));
    tls_keylog_free(kl);
    assert_int_equal(tls_keylog_load_mem(&kl, bin, sizeof(bin) - 1, on_warn, &w, err,
                                         sizeof(err)), TI_OK);
    assert_int_equal(kl->n_entries, 0);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.line[0], 1);
    tls_keylog_free(kl);
    /* Warnings without a callback are only counted. */
    assert_int_equal(tls_keylog_load_mem(&kl, "X\nY\n", 4, NULL, NULL, err, sizeof(err)), TI_OK);
    assert_int_equal(kl->bad_lines, 2);
    tls_keylog_free(kl);
}

/* More bad lines than TLS_KEYLOG_MAX_WARNINGS: the first ones, then a count. */
static void test_keylog_warning_cap(void **state)
{
    struct tls_keylog *kl = NULL;
    struct warns w;
    char err[128], *buf;
    size_t n = TLS_KEYLOG_MAX_WARNINGS + 10, len = 0;

    (void)state;
    buf = malloc(n * 8 + 200);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(buf + len, "BAD %zu\n", i);
    len += (size_t)sprintf(buf + len, "SERVER_HANDSHAKE_TRAFFIC_SECRET " R1 " " S32 "\n");
    memset(&w, 0, sizeof(w));
    assert_int_equal(tls_keylog_load_mem(&kl, buf, len, on_warn, &w, err, sizeof(err)), TI_OK);
    assert_int_equal(w.n, TLS_KEYLOG_MAX_WARNINGS + 1);
    assert_int_equal(w.line[TLS_KEYLOG_MAX_WARNINGS - 1], TLS_KEYLOG_MAX_WARNINGS);
    assert_int_equal(w.line[TLS_KEYLOG_MAX_WARNINGS], 0);
    assert_non_null(strstr(w.msg[TLS_KEYLOG_MAX_WARNINGS], "10 more"));
    assert_int_equal(kl->n_entries, 1);   /* the good line after them still counts */
    tls_keylog_free(kl);
    free(buf);
}

static void test_keylog_file(void **state)
{
    char path[] = "/tmp/test_tls13_keylog_XXXXXX", err[256];
    struct tls_keylog *kl = NULL;
    struct warns w;
    size_t n;
    uint8_t *r1 = unhex(R1, &n);
    int fd = mkstemp(path);
    FILE *f;

    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %s\n", R1, S32);
    fputs("SERVER_TRAFFIC_SECRET_0 ", f);             /* line 2: too long */
    for (size_t i = 0; i < TLS_KEYLOG_MAX_LINE; i++)
        fputc('a', f);
    fputc('\n', f);
    /* Line 3 exactly at the limit is read (and is bad only by its content). */
    fputs("CLIENT_RANDOM", f);
    for (size_t i = strlen("CLIENT_RANDOM"); i < TLS_KEYLOG_MAX_LINE; i++)
        fputc('b', f);
    fputc('\n', f);
    fprintf(f, "SERVER_HANDSHAKE_TRAFFIC_SECRET %s %s", R1, S32);   /* line 4, no newline */
    fclose(f);

    memset(&w, 0, sizeof(w));
    assert_int_equal(tls_keylog_load(&kl, path, on_warn, &w, err, sizeof(err)), TI_OK);
    assert_int_equal(kl->lines, 4);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.line[0], 2);
    assert_non_null(strstr(w.msg[0], "too long"));
    assert_int_equal(w.line[1], 3);
    assert_null(strstr(w.msg[1], "too long"));
    const struct tls_keylog_entry *e = tls_keylog_find(kl, r1);
    assert_non_null(e);
    assert_int_equal(e->s[TLS_KL_CLIENT_HS].len, 32);
    assert_int_equal(e->s[TLS_KL_SERVER_HS].len, 32);
    tls_keylog_free(kl);
    unlink(path);

    kl = (struct tls_keylog *)1;
    assert_int_equal(tls_keylog_load(&kl, path, on_warn, &w, err, sizeof(err)), TI_EIO);
    assert_null(kl);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));
    free(r1);
}

/* The key log entry's secrets open the record: lookup + init + open, as the
 * record layer does it. */
static void test_keylog_to_record(void **state)
{
    static const char log[] =
        "SERVER_HANDSHAKE_TRAFFIC_SECRET "
        "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 " RFC8448_S_HS "\n"
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET "
        "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 " RFC8448_C_HS "\n";
    /* RFC 8448 3 ClientHello random */
    static const uint8_t random[32] = {
        0xcb, 0x34, 0xec, 0xb1, 0xe7, 0x81, 0x63, 0xba, 0x1c, 0x38, 0xc6, 0xda, 0xcb, 0x19,
        0x6a, 0x6d, 0xff, 0xa2, 0x1a, 0x8d, 0x99, 0x12, 0xec, 0x18, 0xa2, 0xef, 0x62, 0x83,
        0x02, 0x4d, 0xec, 0xe7};
    struct tls_keylog *kl = NULL;
    struct tls13_dir_keys k;
    char err[64];
    const struct tls_keylog_entry *e;

    (void)state;
    memset(&k, 0, sizeof(k));
    assert_int_equal(tls_keylog_load_mem(&kl, log, sizeof(log) - 1, NULL, NULL, err, sizeof(err)),
                     TI_OK);
    e = tls_keylog_find(kl, random);
    assert_non_null(e);
    assert_int_equal(tls13_keys_init(&k, 0x1301, e->s[TLS_KL_CLIENT_HS].v,
                                     e->s[TLS_KL_CLIENT_HS].len), TI_OK);
    open_hex_record(&k, RFC8448_CFIN_RECORD, TI_OK, 22, RFC8448_CFIN);
    /* The same secret taken for TLS_AES_256_GCM_SHA384: wrong length. */
    assert_int_equal(tls13_keys_init(&k, 0x1302, e->s[TLS_KL_CLIENT_HS].v,
                                     e->s[TLS_KL_CLIENT_HS].len), TI_EMALFORMED);
    /* ChaCha20 with the right length but the wrong cipher: tag failure. */
    assert_int_equal(tls13_keys_init(&k, 0x1303, e->s[TLS_KL_CLIENT_HS].v,
                                     e->s[TLS_KL_CLIENT_HS].len), TI_OK);
    open_hex_record(&k, RFC8448_CFIN_RECORD, TI_EMALFORMED, 0, NULL);
    tls13_keys_clear(&k);
    tls_keylog_free(kl);
}

/* ---- the record layer with a key log (tls_record.c) ---------------------- */

/* Handshake message type(1) length(3) body. */
static void bmsg(struct b *b, unsigned type, const struct b *body)
{
    b_u8(b, type);
    b_u24(b, (unsigned)body->n);
    b_put(b, body->p, body->n);
}

/* Plaintext record. */
static void brec(struct b *b, unsigned type, const struct b *frag)
{
    b_u8(b, type);
    b_u16(b, 0x0303);
    b_u16(b, (unsigned)frag->n);
    b_put(b, frag->p, frag->n);
}

static const uint8_t CLIENT_RANDOM[32] = {
    0xc1, 0x1e, 0x47, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 0x28};

#define SECRET_S_HS 0x51
#define SECRET_C_HS 0xc1
#define SECRET_S_AP 0x5a
#define SECRET_C_AP 0xca

static void secret_of(uint8_t v, size_t len, uint8_t *out)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(v + i * 3);
}

static void hexs(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* Key log text: which secrets, for CLIENT_RANDOM (or another random). */
static char *keylog_text(size_t hash_len, bool s_hs, bool c_hs, bool app, bool other_random)
{
    char *t = malloc(2048), r[65], v[97];
    uint8_t rnd[32], sec[48];
    size_t n = 0;

    assert_non_null(t);
    memcpy(rnd, CLIENT_RANDOM, 32);
    if (other_random)
        rnd[0] ^= 0xff;
    hexs(r, rnd, 32);
    t[0] = '\0';
    if (s_hs) {
        secret_of(SECRET_S_HS, hash_len, sec);
        hexs(v, sec, hash_len);
        n += (size_t)sprintf(t + n, "SERVER_HANDSHAKE_TRAFFIC_SECRET %s %s\n", r, v);
    }
    if (c_hs) {
        secret_of(SECRET_C_HS, hash_len, sec);
        hexs(v, sec, hash_len);
        n += (size_t)sprintf(t + n, "CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %s\n", r, v);
    }
    if (app) {
        secret_of(SECRET_S_AP, hash_len, sec);
        hexs(v, sec, hash_len);
        n += (size_t)sprintf(t + n, "SERVER_TRAFFIC_SECRET_0 %s %s\n", r, v);
        secret_of(SECRET_C_AP, hash_len, sec);
        hexs(v, sec, hash_len);
        n += (size_t)sprintf(t + n, "CLIENT_TRAFFIC_SECRET_0 %s %s\n", r, v);
    }
    return t;
}

static void client_hello(struct b *out, bool early_data)
{
    struct b body = {0}, msg = {0};

    b_u16(&body, 0x0303);
    b_put(&body, CLIENT_RANDOM, 32);
    b_u8(&body, 0);                    /* session_id */
    b_u16(&body, 10);                  /* every suite tested */
    b_u16(&body, 0x1301); b_u16(&body, 0x1302); b_u16(&body, 0x1303);
    b_u16(&body, 0x1304); b_u16(&body, 0x1305);
    b_u8(&body, 1); b_u8(&body, 0);     /* compression: null */
    b_u16(&body, early_data ? 11 : 7);
    b_u16(&body, 43); b_u16(&body, 3); b_u8(&body, 2); b_u16(&body, 0x0304);
    if (early_data) {
        b_u16(&body, 42); b_u16(&body, 0);
    }
    bmsg(&msg, TLS_HS_CLIENT_HELLO, &body);
    brec(out, 22, &msg);
    free(body.p);
    free(msg.p);
}

static void server_hello(struct b *out, uint16_t suite, bool hrr, bool psk)
{
    struct b body = {0}, msg = {0};
    uint8_t rnd[32];

    memset(rnd, 0x77, sizeof(rnd));
    b_u16(&body, 0x0303);
    b_put(&body, hrr ? TLS_HRR_RANDOM : rnd, 32);
    b_u8(&body, 0);
    b_u16(&body, suite);
    b_u8(&body, 0);
    b_u16(&body, psk ? 12 : 6);
    b_u16(&body, 43); b_u16(&body, 2); b_u16(&body, 0x0304);
    if (psk) {
        b_u16(&body, 41); b_u16(&body, 2); b_u16(&body, 0);
    }
    bmsg(&msg, TLS_HS_SERVER_HELLO, &body);
    brec(out, 22, &msg);
    free(body.p);
    free(msg.p);
}

static const uint8_t FAKE_CERT[48] = {0x30, 0x2e, 1, 2, 3, 4, 5, 6, 7, 8, 9};

/* EncryptedExtensions [CertificateRequest] [Certificate CertificateVerify] Finished. */
static void server_flight(struct b *out, bool cr, bool cert)
{
    struct b b = {0};
    uint8_t fin[32];

    memset(fin, 0xf1, sizeof(fin));
    b_u16(&b, 0);
    bmsg(out, TLS_HS_ENCRYPTED_EXTENSIONS, &b);
    if (cr) {
        b.n = 0;
        b_u8(&b, 0);                                   /* context */
        b_u16(&b, 8); b_u16(&b, 13); b_u16(&b, 4); b_u16(&b, 2); b_u16(&b, 0x0804);
        bmsg(out, TLS_HS_CERTIFICATE_REQUEST, &b);
    }
    if (cert) {
        b.n = 0;
        b_u8(&b, 0);                                   /* RFC 8446 4.4.2 */
        b_u24(&b, 3 + sizeof(FAKE_CERT) + 2);
        b_u24(&b, sizeof(FAKE_CERT));
        b_put(&b, FAKE_CERT, sizeof(FAKE_CERT));
        b_u16(&b, 0);
        bmsg(out, TLS_HS_CERTIFICATE, &b);
        b.n = 0;
        b_u16(&b, 0x0804); b_u16(&b, 4); b_u16(&b, 0xaaaa); b_u16(&b, 0xbbbb);
        bmsg(out, TLS_HS_CERTIFICATE_VERIFY, &b);
    }
    b.n = 0;
    b_put(&b, fin, 32);
    bmsg(out, TLS_HS_FINISHED, &b);
    free(b.p);
}

static const struct suite_case *suite_case(uint16_t suite)
{
    for (size_t i = 0; i < sizeof(SUITES) / sizeof(SUITES[0]); i++)
        if (SUITES[i].suite == suite)
            return &SUITES[i];
    fail_msg("suite");
    return NULL;
}

/* A protected record of `plain` under this traffic secret. */
static void sealed_with(struct b *out, uint16_t suite, const uint8_t *secret, uint64_t seq,
                        uint8_t type, const uint8_t *plain, size_t n, size_t pad)
{
    uint8_t rec[600];
    size_t len = seal(suite_case(suite), secret, seq, type, plain, n, pad, rec);

    b_put(out, rec, len);
}

/* A protected record of `plain` under the secret made of v. */
static void sealed(struct b *out, uint16_t suite, uint8_t v, uint64_t seq, uint8_t type,
                   const uint8_t *plain, size_t n, size_t pad)
{
    uint8_t secret[48];

    secret_of(v, suite_case(suite)->hash_len, secret);
    sealed_with(out, suite, secret, seq, type, plain, n, pad);
}

struct sess {
    struct conn c;
    struct x509_pool *pool;
    struct tls_names *names;
    struct tls_keylog *kl;
    struct tls_session *s;
    size_t chunk;            /* feed in pieces of this size (0: whole) */
};

static void sess_open(struct sess *h, const char *keylog, size_t chunk)
{
    struct x509_trust_opts topts = {NULL, NULL, NULL};
    char err[256];

    memset(h, 0, sizeof(*h));
    h->chunk = chunk;
    conn_init(&h->c);
    if (keylog != NULL)
        assert_int_equal(tls_keylog_load_mem(&h->kl, keylog, strlen(keylog), NULL, NULL, err,
                                             sizeof(err)), TI_OK);
    assert_int_equal(x509_pool_new(&h->pool, &topts, err, sizeof(err)), TI_OK);
    assert_int_equal(tls_names_new(&h->names), TI_OK);
    assert_int_equal(tls_session_new(&h->s, &h->c, h->pool, h->names, NULL, h->kl), TI_OK);
    tls_set_client_side(h->s, 0);
}

static void sess_close(struct sess *h)
{
    tls_session_free(h->s);
    conn_free(&h->c);
    x509_pool_free(h->pool);
    tls_names_free(h->names);
    tls_keylog_free(h->kl);
}

/* side 0: client, 1: server */
static void sess_feed(struct sess *h, int side, struct b *b)
{
    size_t step = h->chunk ? h->chunk : b->n;

    for (size_t off = 0; off < b->n; off += step)
        tls_feed(h->s, side, b->p + off, b->n - off < step ? b->n - off : step, 1000);
    b->n = 0;
}

static void assert_fake_cert(const struct x509_cert *cert)
{
    uint8_t md[32];
    char hex[65];
    unsigned mdlen = 0;

    assert_non_null(cert);
    assert_int_equal(EVP_Digest(FAKE_CERT, sizeof(FAKE_CERT), md, &mdlen, EVP_sha256(), NULL), 1);
    hexs(hex, md, 32);
    assert_string_equal(cert->sha256_hex, hex);
}

/* A whole TLS 1.3 handshake with both handshake secrets, for every suite,
 * fed whole and one byte at a time; the server flight spans two records
 * (the Certificate message is cut between them) with padding. */
static void test_session_decrypts_handshake(void **state)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305};
    static const size_t chunks[] = {0, 1, 7};

    (void)state;
    for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
        for (size_t ci = 0; ci < sizeof(chunks) / sizeof(chunks[0]); ci++) {
            uint16_t suite = suites[si];
            char *kl = keylog_text(suite_case(suite)->hash_len, true, true, false, false);
            struct sess h;
            struct b b = {0}, flight = {0}, fin = {0};
            uint8_t cfin[32];

            sess_open(&h, kl, chunks[ci]);
            client_hello(&b, false);
            sess_feed(&h, 0, &b);
            server_hello(&b, suite, false, false);
            /* RFC 8446 D.4 middlebox CCS from the server, in the clear */
            b_u8(&b, 20); b_u16(&b, 0x0303); b_u16(&b, 1); b_u8(&b, 1);
            server_flight(&flight, false, true);
            sealed(&b, suite, SECRET_S_HS, 0, 22, flight.p, 30, 0);
            sealed(&b, suite, SECRET_S_HS, 1, 22, flight.p + 30, flight.n - 30, 9);
            sess_feed(&h, 1, &b);
            assert_true(h.c.tls13);
            assert_int_equal(h.c.n_server_certs, 1);
            assert_fake_cert(h.c.server_certs[0]);
            assert_true(h.c.finished[DIR_SERVER]);
            assert_false(h.c.finished[DIR_CLIENT]);
            assert_false(tls_done(h.s));     /* the client's Finished is still to come */
            memset(cfin, 0xcf, sizeof(cfin));
            b_u8(&fin, TLS_HS_FINISHED); b_u24(&fin, 32); b_put(&fin, cfin, 32);
            sealed(&b, suite, SECRET_C_HS, 0, 22, fin.p, fin.n, 0);
            sess_feed(&h, 0, &b);
            assert_true(h.c.finished[DIR_CLIENT]);
            assert_true(h.c.keys_used);
            assert_false(tls_done(h.s));   /* followed to the end of the connection */
            tls_finish(h.s);
            assert_int_equal(h.c.outcome, OUTCOME_COMPLETE);
            assert_null(h.c.tls13_note);
            assert_int_equal(h.c.n_alerts, 0);
            assert_false(h.c.malformed[0] || h.c.malformed[1]);
            sess_close(&h);
            free(kl); free(b.p); free(flight.p); free(fin.p);
        }
    }
}

/* The client rejects the certificate with an alert under its handshake keys. */
static void test_session_client_encrypted_alert(void **state)
{
    char *kl = keylog_text(32, true, true, false, false);
    struct sess h;
    struct b b = {0}, flight = {0};
    static const uint8_t alert[2] = {2, 48};

    (void)state;
    sess_open(&h, kl, 0);
    client_hello(&b, false);
    sess_feed(&h, 0, &b);
    server_hello(&b, 0x1301, false, false);
    server_flight(&flight, true, true);
    sealed(&b, 0x1301, SECRET_S_HS, 0, 22, flight.p, flight.n, 0);
    sess_feed(&h, 1, &b);
    assert_true(h.c.certificate_request);
    sealed(&b, 0x1301, SECRET_C_HS, 0, 21, alert, 2, 0);
    sess_feed(&h, 0, &b);
    assert_int_equal(h.c.n_alerts, 1);
    assert_false(h.c.alerts[0].encrypted);
    assert_true(h.c.alerts[0].decrypted);   /* under the client's handshake keys */
    assert_int_equal(h.c.alerts[0].from, DIR_CLIENT);
    assert_int_equal(h.c.alerts[0].level, 2);
    assert_int_equal(h.c.alerts[0].description, 48);
    assert_int_equal(h.c.alerts[0].after_msg, TLS_HS_FINISHED);
    assert_int_equal(h.c.alerts[0].after_msg_from, DIR_SERVER);
    assert_true(tls_done(h.s));
    tls_finish(h.s);
    assert_int_equal(h.c.outcome, OUTCOME_FAILED);
    sess_close(&h);
    free(kl); free(b.p); free(flight.p);
}

/* Mutual TLS: the client's certificate is read; the server's verdict comes
 * after its own Finished, under its application keys: with
 * SERVER_TRAFFIC_SECRET_0 the alert is read, without it the handshake is
 * over only once a server record follows the client's Finished. */
static void test_session_mtls_server_alert(void **state)
{
    (void)state;
    for (int with_app = 0; with_app < 2; with_app++) {
        char *kl = keylog_text(48, true, true, with_app != 0, false);
        struct sess h;
        struct b b = {0}, flight = {0}, cf = {0}, body = {0};
        static const uint8_t alert[2] = {2, 48};
        uint8_t cfin[48];

        sess_open(&h, kl, 0);
        client_hello(&b, false);
        sess_feed(&h, 0, &b);
        server_hello(&b, 0x1302, false, false);
        server_flight(&flight, true, true);
        sealed(&b, 0x1302, SECRET_S_HS, 0, 22, flight.p, flight.n, 0);
        sess_feed(&h, 1, &b);
        /* Client Certificate, CertificateVerify, Finished in one record. */
        b_u8(&body, 0);
        b_u24(&body, 3 + sizeof(FAKE_CERT) + 2);
        b_u24(&body, sizeof(FAKE_CERT));
        b_put(&body, FAKE_CERT, sizeof(FAKE_CERT));
        b_u16(&body, 0);
        bmsg(&cf, TLS_HS_CERTIFICATE, &body);
        body.n = 0;
        b_u16(&body, 0x0804); b_u16(&body, 2); b_u16(&body, 0x1234);
        bmsg(&cf, TLS_HS_CERTIFICATE_VERIFY, &body);
        memset(cfin, 0xcf, sizeof(cfin));
        body.n = 0;
        b_put(&body, cfin, 48);
        bmsg(&cf, TLS_HS_FINISHED, &body);
        sealed(&b, 0x1302, SECRET_C_HS, 0, 22, cf.p, cf.n, 0);
        sess_feed(&h, 0, &b);
        assert_true(h.c.client_cert_msg_seen);
        assert_int_equal(h.c.n_client_certs, 1);
        assert_fake_cert(h.c.client_certs[0]);
        assert_true(h.c.finished[DIR_CLIENT] && h.c.finished[DIR_SERVER]);
        assert_false(tls_done(h.s));   /* the server has not judged the certificate yet */
        sealed(&b, 0x1302, SECRET_S_AP, 0, 21, alert, 2, 0);
        sess_feed(&h, 1, &b);
        assert_int_equal(tls_done(h.s), with_app);   /* a decrypted fatal alert ends both */
        tls_finish(h.s);
        if (with_app) {
            assert_int_equal(h.c.n_alerts, 1);
            assert_int_equal(h.c.alerts[0].from, DIR_SERVER);
            assert_true(h.c.alerts[0].decrypted);
            assert_int_equal(h.c.alerts[0].description, 48);
            assert_int_equal(h.c.alerts[0].after_msg, TLS_HS_FINISHED);
            assert_int_equal(h.c.alerts[0].after_msg_from, DIR_CLIENT);
            assert_int_equal(h.c.outcome, OUTCOME_FAILED);
        } else {
            assert_int_equal(h.c.n_alerts, 0);   /* an opaque record: not an alert we can read */
            assert_int_equal(h.c.outcome, OUTCOME_COMPLETE);
        }
        sess_close(&h);
        free(kl); free(b.p); free(flight.p); free(cf.p); free(body.p);
    }
}

/* HelloRetryRequest: nothing is decrypted before the second ServerHello. */
static void test_session_hrr(void **state)
{
    char *kl = keylog_text(32, true, true, false, false);
    struct sess h;
    struct b b = {0}, flight = {0};

    (void)state;
    sess_open(&h, kl, 0);
    client_hello(&b, false);
    sess_feed(&h, 0, &b);
    server_hello(&b, 0x1303, true, false);
    sess_feed(&h, 1, &b);
    assert_true(h.c.sh_hrr.hrr);
    assert_false(h.c.sh.present);
    /* The second ClientHello repeats the random (RFC 8446 4.1.2). */
    client_hello(&b, false);
    sess_feed(&h, 0, &b);
    server_hello(&b, 0x1303, false, false);
    server_flight(&flight, false, true);
    sealed(&b, 0x1303, SECRET_S_HS, 0, 22, flight.p, flight.n, 0);
    sess_feed(&h, 1, &b);
    assert_int_equal(h.c.n_ch, 2);
    assert_int_equal(h.c.n_server_certs, 1);
    assert_true(h.c.keys_used);
    assert_null(h.c.tls13_note);
    sess_close(&h);
    free(kl); free(b.p); free(flight.p);
}

/* One server flight under the given key log; returns the session open. */
static void flight_with(struct sess *h, const char *kl, bool psk)
{
    struct b b = {0}, flight = {0};

    sess_open(h, kl, 0);
    client_hello(&b, false);
    sess_feed(h, 0, &b);
    server_hello(&b, 0x1301, false, psk);
    server_flight(&flight, false, !psk);
    sealed(&b, 0x1301, SECRET_S_HS, 0, 22, flight.p, flight.n, 0);
    sess_feed(h, 1, &b);
    free(b.p);
    free(flight.p);
}

/* One key-log scenario for test_session_statements: what keylog_text()
 * writes, whether the server's secret is damaged, whether the server
 * resumes a PSK, and what the connection must then say. */
struct statement_case {
    const char *what;
    size_t hash_len;                  /* secret length: 32 (SHA-256), 48 */
    bool s_hs, c_hs, app, other_random, flip_secret, psk;
    uint8_t certs;                    /* server certificates read */
    bool keys_used;
    const char *note;                 /* in tls13_note */
};

static const struct statement_case statements[] = {
    {"a key log for another connection", 32, true, true, true, true, false, false,
     0, false, "no key log entry for this connection's client random"},
    {"the right random, the wrong secret: tag failure", 32, true, true, false, false, true, false,
     0, false, "AEAD tag check failed: the key log does not match"},
    {"SHA-384-sized secrets for a SHA-256 suite", 48, true, true, false, false, false, false,
     0, false, "does not match this connection"},
    {"only application secrets for this random", 32, false, false, true, false, false, false,
     0, false, "no handshake traffic secrets"},
    {"only the server's secret (OpenSSL client aborting early): certificate read, said so",
     32, true, false, false, false, false, false, 1, true, "no CLIENT_HANDSHAKE_TRAFFIC_SECRET"},
    {"PSK resumption: no certificate at all, stated", 32, true, true, false, false, false, true,
     0, true, "PSK resumption"},
};

static void test_session_statements(void **state)
{
    struct sess h;
    char *kl;

    (void)state;
    /* No --keylog: as before, no statement. */
    flight_with(&h, NULL, false);
    assert_int_equal(h.c.n_server_certs, 0);
    assert_false(h.c.keys_used);
    assert_null(h.c.tls13_note);
    tls_close(h.s, 0, false, 2000);
    tls_close(h.s, 1, false, 2000);
    tls_finish(h.s);
    assert_int_equal(h.c.outcome, OUTCOME_ENCRYPTED);
    sess_close(&h);

    /* Key logs that do not open this handshake, and one that opens it only
     * in part: each says why in the connection's note. */
    for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
        const struct statement_case *sc = &statements[i];

        print_message("    %s\n", sc->what);
        kl = keylog_text(sc->hash_len, sc->s_hs, sc->c_hs, sc->app, sc->other_random);
        if (sc->flip_secret)    /* first hex digit of the server's secret */
            kl[strlen("SERVER_HANDSHAKE_TRAFFIC_SECRET ") + 65] ^= 1;
        flight_with(&h, kl, sc->psk);
        assert_int_equal(h.c.n_server_certs, sc->certs);
        assert_int_equal(h.c.keys_used, sc->keys_used);
        if (sc->psk) {
            assert_false(h.c.server_cert_msg_seen);
            assert_true(h.c.finished[DIR_SERVER]);
        }
        assert_non_null(h.c.tls13_note);
        assert_non_null(strstr(h.c.tls13_note, sc->note));
        sess_close(&h);
        free(kl);
    }
}

/* 0-RTT records the hello announced are skipped, not taken for a bad key log. */
static void test_session_early_data(void **state)
{
    char *kl = keylog_text(32, true, true, false, false);
    struct sess h;
    struct b b = {0}, flight = {0}, fin = {0};
    static const uint8_t early[20] = {'G', 'E', 'T'};
    uint8_t cfin[32] = {0};

    (void)state;
    sess_open(&h, kl, 0);
    client_hello(&b, true);
    sess_feed(&h, 0, &b);
    server_hello(&b, 0x1301, false, false);
    server_flight(&flight, false, true);
    sealed(&b, 0x1301, SECRET_S_HS, 0, 22, flight.p, flight.n, 0);
    sess_feed(&h, 1, &b);
    sealed(&b, 0x1301, 0xee, 0, 23, early, sizeof(early), 0);   /* early traffic keys */
    sess_feed(&h, 0, &b);
    b_u8(&fin, TLS_HS_FINISHED); b_u24(&fin, 32); b_put(&fin, cfin, 32);
    sealed(&b, 0x1301, SECRET_C_HS, 0, 22, fin.p, fin.n, 0);
    sess_feed(&h, 0, &b);
    assert_true(h.c.finished[DIR_CLIENT]);
    assert_null(h.c.tls13_note);
    sess_close(&h);
    free(kl); free(b.p); free(flight.p); free(fin.p);
}

/* Bytes lost between protected records: the sequence number is unknown,
 * decryption stops and says why; inside a record, only that record is lost. */
static void test_session_gap(void **state)
{
    char *kl = keylog_text(32, true, true, false, false);
    struct sess h;
    struct b b = {0}, flight = {0}, r1 = {0};

    (void)state;
    /* Gap inside the first record: it is skipped, the second opens (seq 1). */
    sess_open(&h, kl, 0);
    client_hello(&b, false);
    sess_feed(&h, 0, &b);
    server_hello(&b, 0x1301, false, false);
    sess_feed(&h, 1, &b);
    server_flight(&flight, false, true);
    sealed(&r1, 0x1301, SECRET_S_HS, 0, 22, flight.p, 6, 0);   /* EncryptedExtensions */
    tls_feed(h.s, 1, r1.p, 10, 1000);
    tls_gap(h.s, 1, r1.n - 10, 1000);
    sealed(&b, 0x1301, SECRET_S_HS, 1, 22, flight.p + 6, flight.n - 6, 0);
    sess_feed(&h, 1, &b);
    assert_int_equal(h.c.n_server_certs, 1);
    assert_true(h.c.finished[DIR_SERVER]);
    assert_null(h.c.tls13_note);
    sess_close(&h);

    /* Gap between records: stop. */
    sess_open(&h, kl, 0);
    client_hello(&b, false);
    sess_feed(&h, 0, &b);
    server_hello(&b, 0x1301, false, false);
    sess_feed(&h, 1, &b);
    tls_gap(h.s, 1, 100, 1000);
    sealed(&b, 0x1301, SECRET_S_HS, 1, 22, flight.p + 6, flight.n - 6, 0);
    sess_feed(&h, 1, &b);
    assert_int_equal(h.c.n_server_certs, 0);
    assert_non_null(strstr(h.c.tls13_note, "missing: decryption stopped"));
    sess_close(&h);
    free(kl); free(b.p); free(flight.p); free(r1.p);
}

/* ---- after the handshake: application traffic keys ----------------------- */

/* NewSessionTicket body (RFC 8446 4.6.1): lifetime, age_add, nonce<0..255>,
 * ticket<1..2^16-1>, extensions<0..2^16-2>. */
static void bu32_ticket(struct b *b)
{
    b_u16(b, 0); b_u16(b, 7200);          /* ticket_lifetime */
    b_u16(b, 0x1234); b_u16(b, 0x5678);   /* ticket_age_add */
    b_u8(b, 1); b_u8(b, 0);               /* ticket_nonce */
    b_u16(b, 4); b_u16(b, 0xabcd); b_u16(b, 0xef01);
    b_u16(b, 0);                         /* extensions */
}

/* A whole handshake (no client certificate) under the given key log: server
 * flight (seq 0), client Finished (seq 0); the session stays open. */
static void handshake_with(struct sess *h, uint16_t suite, const char *kl, size_t chunk)
{
    struct b b = {0}, flight = {0}, fin = {0};
    uint8_t cfin[48];
    size_t hl = suite_case(suite)->hash_len;

    sess_open(h, kl, chunk);
    client_hello(&b, false);
    sess_feed(h, 0, &b);
    server_hello(&b, suite, false, false);
    server_flight(&flight, false, true);
    sealed(&b, suite, SECRET_S_HS, 0, 22, flight.p, flight.n, 0);
    sess_feed(h, 1, &b);
    memset(cfin, 0xcf, sizeof(cfin));
    b_u8(&fin, TLS_HS_FINISHED); b_u24(&fin, (unsigned)hl); b_put(&fin, cfin, hl);
    sealed(&b, suite, SECRET_C_HS, 0, 22, fin.p, fin.n, 0);
    sess_feed(h, 0, &b);
    assert_true(h->c.finished[DIR_CLIENT] && h->c.finished[DIR_SERVER]);
    free(b.p); free(flight.p); free(fin.p);
}

static bool has_hs_event(const struct conn *c, int type)
{
    for (uint16_t i = 0; i < c->n_events; i++)
        if (c->events[i].kind == EV_HANDSHAKE && c->events[i].type == type)
            return true;
    return false;
}

static void assert_close_notify(const struct conn *c, size_t i, enum conn_dir from)
{
    assert_true(c->n_alerts > i);
    assert_int_equal(c->alerts[i].from, from);
    assert_false(c->alerts[i].encrypted);
    assert_true(c->alerts[i].decrypted);
    assert_int_equal(c->alerts[i].level, 1);
    assert_int_equal(c->alerts[i].description, 0);
    /* Post-handshake messages do not move "after": the handshake's last. */
    assert_int_equal(c->alerts[i].after_msg, TLS_HS_FINISHED);
    assert_int_equal(c->alerts[i].after_msg_from, DIR_CLIENT);
}

static const uint8_t CLOSE_NOTIFY[2] = {1, 0};

/* With [CLIENT|SERVER]_TRAFFIC_SECRET_0 each side's records are opened after
 * its Finished: a NewSessionTicket is ignored, application data only counted
 * (sequence numbers), and the close_notify alerts are read, marked
 * decrypted; the session waits for both.  Every suite, whole and in pieces. */
static void test_session_app_close_notify(void **state)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305};
    static const size_t chunks[] = {0, 1, 7};

    (void)state;
    for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
        for (size_t ci = 0; ci < sizeof(chunks) / sizeof(chunks[0]); ci++) {
            uint16_t suite = suites[si];
            char *kl = keylog_text(suite_case(suite)->hash_len, true, true, true, false);
            struct sess h;
            struct b b = {0}, nst = {0}, body = {0};
            uint8_t data[300];

            memset(data, 0xda, sizeof(data));
            handshake_with(&h, suite, kl, chunks[ci]);
            assert_false(tls_done(h.s));   /* both sides may still send alerts */
            /* Server: NewSessionTicket (RFC 8446 4.6.1), then data. */
            bu32_ticket(&body);
            bmsg(&nst, TLS_HS_NEW_SESSION_TICKET, &body);
            sealed(&b, suite, SECRET_S_AP, 0, 22, nst.p, nst.n, 0);
            sealed(&b, suite, SECRET_S_AP, 1, 23, data, sizeof(data), 20);
            sess_feed(&h, 1, &b);
            /* Client: two records of data, then its close_notify. */
            sealed(&b, suite, SECRET_C_AP, 0, 23, data, 100, 0);
            sealed(&b, suite, SECRET_C_AP, 1, 23, data, 0, 0);
            sess_feed(&h, 0, &b);
            assert_true(h.c.appdata[DIR_CLIENT] && h.c.appdata[DIR_SERVER]);
            assert_false(has_hs_event(&h.c, TLS_HS_NEW_SESSION_TICKET));
            assert_int_equal(h.c.n_alerts, 0);
            assert_false(tls_done(h.s));
            sealed(&b, suite, SECRET_C_AP, 2, 21, CLOSE_NOTIFY, 2, 0);
            sess_feed(&h, 0, &b);
            assert_int_equal(h.c.n_alerts, 1);
            assert_close_notify(&h.c, 0, DIR_CLIENT);
            assert_false(tls_done(h.s));   /* the server has not closed yet */
            sealed(&b, suite, SECRET_S_AP, 2, 21, CLOSE_NOTIFY, 2, 5);
            sess_feed(&h, 1, &b);
            assert_int_equal(h.c.n_alerts, 2);
            assert_close_notify(&h.c, 1, DIR_SERVER);
            assert_true(tls_done(h.s));
            tls_finish(h.s);
            assert_int_equal(h.c.outcome, OUTCOME_COMPLETE);
            assert_null(h.c.tls13_note);
            assert_null(h.c.malformed_why[0]);
            assert_null(h.c.malformed_why[1]);
            sess_close(&h);
            free(kl); free(b.p); free(nst.p); free(body.p);
        }
    }
}

/* KeyUpdate (RFC 8446 4.6.3): the sender's next records are under the next
 * generation, derived here with OpenSSL's TLS13-KDF, from sequence 0; the
 * peer's answer updates the peer only.  Two generations on the client. */
static void test_session_key_update(void **state)
{
    static const uint16_t suites[] = {0x1301, 0x1302};

    (void)state;
    for (size_t si = 0; si < 2; si++) {
        uint16_t suite = suites[si];
        const struct suite_case *sc = suite_case(suite);
        char *kl = keylog_text(sc->hash_len, true, true, true, false);
        struct sess h;
        struct b b = {0}, ku = {0}, body = {0};
        uint8_t c0[48], c1[48], c2[48], s0[48], s1[48], data[40] = {0};

        secret_of(SECRET_C_AP, sc->hash_len, c0);
        secret_of(SECRET_S_AP, sc->hash_len, s0);
        tls13_kdf_ref(sc->md, c0, sc->hash_len, "traffic upd", NULL, 0, c1, sc->hash_len);
        tls13_kdf_ref(sc->md, c1, sc->hash_len, "traffic upd", NULL, 0, c2, sc->hash_len);
        tls13_kdf_ref(sc->md, s0, sc->hash_len, "traffic upd", NULL, 0, s1, sc->hash_len);
        handshake_with(&h, suite, kl, 0);
        /* Client: data, KeyUpdate(update_requested), data under generation 1. */
        sealed_with(&b, suite, c0, 0, 23, data, sizeof(data), 0);
        b_u8(&body, 1);
        bmsg(&ku, TLS_HS_KEY_UPDATE, &body);
        sealed_with(&b, suite, c0, 1, 22, ku.p, ku.n, 0);
        sealed_with(&b, suite, c1, 0, 23, data, sizeof(data), 0);
        sess_feed(&h, 0, &b);
        /* Server answers with KeyUpdate(update_not_requested), then data. */
        ku.n = 0; body.n = 0;
        b_u8(&body, 0);
        bmsg(&ku, TLS_HS_KEY_UPDATE, &body);
        sealed_with(&b, suite, s0, 0, 22, ku.p, ku.n, 0);
        sealed_with(&b, suite, s1, 0, 23, data, sizeof(data), 0);
        sess_feed(&h, 1, &b);
        /* Client: a second KeyUpdate, then close_notify under generation 2. */
        ku.n = 0; body.n = 0;
        b_u8(&body, 0);
        bmsg(&ku, TLS_HS_KEY_UPDATE, &body);
        sealed_with(&b, suite, c1, 1, 22, ku.p, ku.n, 0);
        sealed_with(&b, suite, c2, 0, 21, CLOSE_NOTIFY, 2, 0);
        sess_feed(&h, 0, &b);
        assert_null(h.c.tls13_note);
        assert_int_equal(h.c.n_alerts, 1);
        assert_close_notify(&h.c, 0, DIR_CLIENT);
        assert_false(has_hs_event(&h.c, TLS_HS_KEY_UPDATE));
        assert_false(tls_done(h.s));
        sealed_with(&b, suite, s1, 1, 21, CLOSE_NOTIFY, 2, 0);
        sess_feed(&h, 1, &b);
        assert_int_equal(h.c.n_alerts, 2);
        assert_close_notify(&h.c, 1, DIR_SERVER);
        assert_true(tls_done(h.s));
        assert_null(h.c.malformed_why[0]);
        assert_null(h.c.malformed_why[1]);
        sess_close(&h);

        /* Without following the KeyUpdate the close_notify would not open:
         * sealed under the old generation it fails the tag check. */
        handshake_with(&h, suite, kl, 0);
        ku.n = 0; body.n = 0;
        b_u8(&body, 0);
        bmsg(&ku, TLS_HS_KEY_UPDATE, &body);
        sealed_with(&b, suite, c0, 0, 22, ku.p, ku.n, 0);
        sealed_with(&b, suite, c0, 0, 21, CLOSE_NOTIFY, 2, 0);
        sess_feed(&h, 0, &b);
        assert_int_equal(h.c.n_alerts, 0);
        assert_non_null(h.c.tls13_note);
        assert_non_null(strstr(h.c.tls13_note, "client record under application traffic "
                                               "secret generation 1"));
        sess_close(&h);
        free(kl); free(b.p); free(ku.p); free(body.p);
    }
}

/* What ends the wait besides the alerts: a tag failure (with a note naming
 * the secret), a capture gap, FIN, RST, a fatal alert (both sides, RFC 8446
 * 6.2, and it does not fail a finished handshake); what a KeyUpdate must
 * not carry. */
static void test_session_app_stops(void **state)
{
    struct sess h;
    struct b b = {0}, ku = {0}, body = {0};
    uint8_t data[16] = {0}, c1[32];
    char *kl = keylog_text(32, true, true, true, false), *bad;
    static const uint8_t fatal[2] = {2, 10};   /* unexpected_message */

    (void)state;
    /* The client's application secret is wrong: the client stops, said so;
     * the server is still read. */
    bad = strdup(kl);
    assert_non_null(bad);
    char *line = strstr(bad, "CLIENT_TRAFFIC_SECRET_0 ");
    assert_non_null(line);
    line[strlen("CLIENT_TRAFFIC_SECRET_0 ") + 65] ^= 1;
    handshake_with(&h, 0x1301, bad, 0);
    sealed(&b, 0x1301, SECRET_C_AP, 0, 21, CLOSE_NOTIFY, 2, 0);
    sess_feed(&h, 0, &b);
    assert_int_equal(h.c.n_alerts, 0);
    assert_non_null(h.c.tls13_note);
    assert_non_null(strstr(h.c.tls13_note, "client record under CLIENT_TRAFFIC_SECRET_0"));
    assert_true(h.c.appdata[DIR_CLIENT]);   /* an opaque record after Finished */
    assert_false(tls_done(h.s));            /* the server's records still open */
    sealed(&b, 0x1301, SECRET_S_AP, 0, 21, CLOSE_NOTIFY, 2, 0);
    sess_feed(&h, 1, &b);
    assert_int_equal(h.c.n_alerts, 1);
    assert_false(tls_done(h.s));   /* the client's records are opaque now: it may still send */
    tls_close(h.s, 0, false, 2000);
    assert_true(tls_done(h.s));
    tls_finish(h.s);
    assert_int_equal(h.c.outcome, OUTCOME_COMPLETE);
    sess_close(&h);
    free(bad);

    /* A gap in the server's records: stopped, said so; each side's FIN
     * ends its side. */
    handshake_with(&h, 0x1301, kl, 0);
    tls_gap(h.s, 1, 50, 2000);
    assert_non_null(strstr(h.c.tls13_note, "50 bytes of the server's protected records are "
                                           "missing: decryption stopped"));
    assert_false(tls_done(h.s));
    tls_close(h.s, 0, false, 2000);
    assert_false(tls_done(h.s));   /* the server's closing records are still read by header */
    tls_close(h.s, 1, false, 2000);
    assert_true(tls_done(h.s));
    sess_close(&h);

    /* RST from either side ends the wait. */
    for (int side = 0; side < 2; side++) {
        handshake_with(&h, 0x1301, kl, 0);
        assert_false(tls_done(h.s));
        tls_close(h.s, side, true, 2000);
        assert_true(tls_done(h.s));
        sess_close(&h);
    }

    /* A fatal alert after the handshake: read, ends both sides, and the
     * handshake stays complete (it is not a handshake failure). */
    handshake_with(&h, 0x1301, kl, 0);
    sealed(&b, 0x1301, SECRET_S_AP, 0, 23, data, sizeof(data), 0);
    sealed(&b, 0x1301, SECRET_S_AP, 1, 21, fatal, 2, 0);
    sess_feed(&h, 1, &b);
    assert_int_equal(h.c.n_alerts, 1);
    assert_true(h.c.alerts[0].decrypted);
    assert_int_equal(h.c.alerts[0].level, 2);
    assert_int_equal(h.c.alerts[0].description, 10);
    assert_true(tls_done(h.s));
    tls_finish(h.s);
    assert_int_equal(h.c.outcome, OUTCOME_COMPLETE);
    sess_close(&h);

    /* A KeyUpdate with a message after it in the same record (RFC 8446 5.1):
     * the rest is ignored with a note, the keys change all the same. */
    secret_of(SECRET_C_AP, 32, c1);
    tls13_kdf_ref("SHA256", c1, 32, "traffic upd", NULL, 0, c1, 32);
    handshake_with(&h, 0x1301, kl, 0);
    b_u8(&body, 0);
    bmsg(&ku, TLS_HS_KEY_UPDATE, &body);
    bmsg(&ku, TLS_HS_KEY_UPDATE, &body);
    sealed(&b, 0x1301, SECRET_C_AP, 0, 22, ku.p, ku.n, 0);
    sealed_with(&b, 0x1301, c1, 0, 21, CLOSE_NOTIFY, 2, 0);
    sess_feed(&h, 0, &b);
    assert_non_null(h.c.malformed_why[DIR_CLIENT]);
    assert_non_null(strstr(h.c.malformed_why[DIR_CLIENT], "5 bytes after a key change"));
    assert_int_equal(h.c.n_alerts, 1);      /* generation 1, not 2 */
    assert_true(h.c.alerts[0].decrypted);
    assert_null(h.c.tls13_note);
    sess_close(&h);

    /* A malformed KeyUpdate (2 bytes of request): noted, keys change. */
    handshake_with(&h, 0x1301, kl, 0);
    ku.n = 0; body.n = 0;
    b_u8(&body, 0); b_u8(&body, 0);
    bmsg(&ku, TLS_HS_KEY_UPDATE, &body);
    sealed(&b, 0x1301, SECRET_C_AP, 0, 22, ku.p, ku.n, 0);
    sealed_with(&b, 0x1301, c1, 0, 21, CLOSE_NOTIFY, 2, 0);
    sess_feed(&h, 0, &b);
    assert_non_null(strstr(h.c.malformed_why[DIR_CLIENT], "malformed KeyUpdate (2 bytes)"));
    assert_int_equal(h.c.n_alerts, 1);
    sess_close(&h);

    /* A KeyUpdate under the handshake keys, before the client's Finished
     * (RFC 8446 4.6.3: unexpected_message): noted, no key change. */
    {
        struct b flight = {0};
        sess_open(&h, kl, 0);
        client_hello(&b, false);
        sess_feed(&h, 0, &b);
        server_hello(&b, 0x1301, false, false);
        server_flight(&flight, false, true);
        sealed(&b, 0x1301, SECRET_S_HS, 0, 22, flight.p, flight.n, 0);
        sess_feed(&h, 1, &b);
        ku.n = 0; body.n = 0;
        b_u8(&body, 0);
        bmsg(&ku, TLS_HS_KEY_UPDATE, &body);
        sealed(&b, 0x1301, SECRET_C_HS, 0, 22, ku.p, ku.n, 0);
        sealed(&b, 0x1301, SECRET_C_HS, 1, 21, fatal, 2, 0);   /* still the handshake keys */
        sess_feed(&h, 0, &b);
        assert_non_null(strstr(h.c.malformed_why[DIR_CLIENT], "KeyUpdate before the client's Finished"));
        assert_int_equal(h.c.n_alerts, 1);
        assert_true(h.c.alerts[0].decrypted);
        assert_true(tls_done(h.s));          /* a fatal alert during the handshake */
        tls_finish(h.s);
        assert_int_equal(h.c.outcome, OUTCOME_FAILED);
        sess_close(&h);
        free(flight.p);
    }

    /* Without the application secrets: opaque records after Finished, read
     * by their headers until the connection ends. */
    free(kl);
    kl = keylog_text(32, true, true, false, false);
    handshake_with(&h, 0x1301, kl, 0);
    assert_false(tls_done(h.s));
    sealed(&b, 0x1301, SECRET_C_AP, 0, 21, CLOSE_NOTIFY, 2, 0);
    sess_feed(&h, 0, &b);
    assert_int_equal(h.c.n_alerts, 0);
    assert_true(h.c.appdata[DIR_CLIENT]);
    sess_close(&h);
    free(kl); free(b.p); free(ku.p); free(body.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8448_server_flight),
        cmocka_unit_test(test_rfc8448_client_finished),
        cmocka_unit_test(test_rfc8448_wrong_key),
        cmocka_unit_test(test_rfc8448_tamper),
        cmocka_unit_test(test_xargs_aes256_sha384),
        cmocka_unit_test(test_hkdf_expand_label_vs_openssl),
        cmocka_unit_test(test_round_trip_all_suites),
        cmocka_unit_test(test_keys_init_errors),
        cmocka_unit_test(test_keys_update),
        cmocka_unit_test(test_keylog_lines),
        cmocka_unit_test(test_keylog_empty_and_garbage),
        cmocka_unit_test(test_keylog_warning_cap),
        cmocka_unit_test(test_keylog_file),
        cmocka_unit_test(test_keylog_to_record),
        cmocka_unit_test(test_session_decrypts_handshake),
        cmocka_unit_test(test_session_client_encrypted_alert),
        cmocka_unit_test(test_session_mtls_server_alert),
        cmocka_unit_test(test_session_hrr),
        cmocka_unit_test(test_session_statements),
        cmocka_unit_test(test_session_early_data),
        cmocka_unit_test(test_session_gap),
        cmocka_unit_test(test_session_app_close_notify),
        cmocka_unit_test(test_session_key_update),
        cmocka_unit_test(test_session_app_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
