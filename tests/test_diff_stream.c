/* test_diff_stream.c - a diff side fed one connection at a time, in any
 * order (what diff_run() does with a capture: its connections arrive in
 * release order), gives the diff of the document read in order.
 * White box: it feeds the side through src/diff_int.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../src/diff_int.h"
#include "tlsinspect/err.h"

static json_t *load(const char *path)
{
    static struct analyze_opts o;
    enum diff_source src;
    json_t *doc = NULL;
    char err[512] = "";

    analyze_opts_default(&o);
    o.trust.cafile = "captures/pki/expressway-trust.pem";
    o.all_ports = true;
    o.now = 1773161726;
    if (diff_load(&o, path, "v", &doc, &src, err, sizeof(err)) != TI_OK)
        fail_msg("%s: %s", path, err);
    return doc;
}

/* BEFORE's connections fed reversed (shuffle 0) or shuffled, each with its
 * place in the document as its report-order key. */
static char *diff_fed(json_t *db, json_t *da, int shuffle, bool json)
{
    struct diff_opts o = {.version = "v", .json = json};
    struct dctx d = {0};
    struct side sb = {.doc = db, .source = DIFF_CAPTURE, .name = "before.pcap"};
    struct side sa = {.doc = da, .source = DIFF_CAPTURE, .name = "after.pcap"};
    const json_t *conns = json_object_get(db, "connections");
    size_t n = json_array_size(conns), *perm = malloc((n + 1) * sizeof(*perm));
    uint32_t rnd = 88172645u;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(perm);
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        perm[i] = n - 1 - i;
    for (size_t i = n; shuffle && i > 1; i--) {
        rnd ^= rnd << 13;
        rnd ^= rnd >> 17;
        rnd ^= rnd << 5;
        size_t j = rnd % i, x = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = x;
    }
    sb.fed = true;
    for (size_t i = 0; i < n; i++) {
        struct conn_key k = {.first_ts = (int64_t)perm[i]};
        diff_side_conn(&d, &sb, &k, json_array_get(conns, perm[i]));
    }
    assert_true(diff_sides(&d, &sb, &sa, &o, f) <= 1);
    fclose(f);
    free(perm);
    return buf;
}

static char *diff_doc(json_t *db, json_t *da, bool json)
{
    struct diff_opts o = {.version = "v", .json = json};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    assert_true(diff_documents(db, DIFF_CAPTURE, "before.pcap", da, DIFF_CAPTURE, "after.pcap",
                               &o, f) <= 1);
    fclose(f);
    return buf;
}

static void any_order(void **state)
{
    static const char *const pairs[][2] = {
        {"captures/many-flows.pcap", "captures/post-upgrade.pcap"},
        {"captures/post-upgrade.pcap", "captures/field-case-6972.pcap"},
        {"captures/many-flows.pcap", "captures/many-flows.pcap"},
    };
    (void)state;

    for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
        json_t *db = load(pairs[p][0]), *da = load(pairs[p][1]);
        for (int json = 0; json < 2; json++) {
            char *want = diff_doc(db, da, json);
            for (int shuffle = 0; shuffle < 2; shuffle++) {
                char *got = diff_fed(db, da, shuffle, json);
                if (strcmp(want, got) != 0)
                    fail_msg("%s -> %s (%s, %s): the fed diff differs:\n%s\n-- want --\n%s",
                             pairs[p][0], pairs[p][1], json ? "json" : "text",
                             shuffle ? "shuffled" : "reversed", got, want);
                free(got);
            }
            free(want);
        }
        json_decref(db);
        json_decref(da);
    }
}

static json_t *leaf_conn(int i, const char *sha, const char *alert)
{
    return json_pack("{s:i, s:{s:s, s:i}, s:s, s:[{s:s, s:s, s:s, s:s, s:b}], s:[{s:s, s:s, s:s, s:b}]}",
                     "id", i + 1, "server", "ip", "10.0.0.1", "port", 6972, "outcome", "failed",
                     "server_certificates", "sha256", sha, "cn", sha, "key", "EC P-256", "issuer",
                     "CN=x", "self_signed", 1, "alerts", "from", "client", "level", "fatal",
                     "description", alert, "encrypted", 0);
}

static json_t *doc_of(const char *const *shas, const char *const *alerts, size_t n)
{
    json_t *d = json_pack("{s:{s:s, s:s}, s:[], s:[]}", "tool", "name", "tlsinspect", "version",
                          "v", "connections", "findings");
    for (size_t i = 0; i < n; i++)
        json_array_append_new(json_object_get(d, "connections"), leaf_conn((int)i, shas[i], alerts[i]));
    return d;
}

/* Ties go to the value seen first in the report order: two leaves once
 * each, the first is BEFORE's; the alerts listed in that order too. */
static void ties_by_report_order(void **state)
{
    static const char *const bs[] = {"aaaa", "bbbb"}, *const ba[] = {"unknown_ca", "bad_certificate"};
    static const char *const as[] = {"cccc"}, *const aa[] = {"handshake_failure"};
    json_t *db = doc_of(bs, ba, 2), *da = doc_of(as, aa, 1);
    (void)state;

    for (int json = 0; json < 2; json++) {
        char *want = diff_doc(db, da, json);
        const char *a = strstr(want, "aaaa"), *b = strstr(want, "bbbb");
        assert_non_null(a);
        if (b != NULL)
            assert_true(a < b);
        assert_true(strstr(want, "unknown_ca") < strstr(want, "bad_certificate"));
        for (int shuffle = 0; shuffle < 2; shuffle++) {
            char *got = diff_fed(db, da, shuffle, json);
            assert_string_equal(got, want);
            free(got);
        }
        free(want);
    }
    json_decref(db);
    json_decref(da);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(any_order),
        cmocka_unit_test(ties_by_report_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
