/* test_json_shape.c - the JSON report of real fixtures has SPEC's shape.
 *
 * SPEC ("Outputs") fixes the field names and types of the JSON report; this
 * test walks the report of the bundled fixtures and checks every field SPEC
 * names, with its type (and its value set where SPEC lists one).  Runs from
 * the repository root (as `make unit` does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/err.h"
#include "tlsinspect/report.h"

enum kind { K_STR, K_INT, K_BOOL, K_OBJ, K_ARR, K_STR_OR_NULL, K_INT_OR_NULL, K_OBJ_OR_NULL };

static void want(json_t *obj, const char *key, enum kind k)
{
    json_t *v = json_object_get(obj, key);
    bool ok;

    if (v == NULL)
        fail_msg("missing key \"%s\"", key);
    switch (k) {
    case K_STR: ok = json_is_string(v); break;
    case K_INT: ok = json_is_integer(v); break;
    case K_BOOL: ok = json_is_boolean(v); break;
    case K_OBJ: ok = json_is_object(v); break;
    case K_ARR: ok = json_is_array(v); break;
    case K_STR_OR_NULL: ok = json_is_string(v) || json_is_null(v); break;
    case K_INT_OR_NULL: ok = json_is_integer(v) || json_is_null(v); break;
    default: ok = json_is_object(v) || json_is_null(v); break;
    }
    if (!ok)
        fail_msg("key \"%s\" has the wrong type", key);
}

static void want_one_of(json_t *obj, const char *key, const char *const *values)
{
    const char *s = json_string_value(json_object_get(obj, key));
    assert_non_null(s);
    for (size_t i = 0; values[i] != NULL; i++)
        if (strcmp(s, values[i]) == 0)
            return;
    fail_msg("key \"%s\" has unexpected value \"%s\"", key, s);
}

/* RFC 3339 UTC with microseconds, as SPEC asks for timestamps. */
static void want_ts_us(json_t *obj, const char *key)
{
    regex_t re;
    const char *s = json_string_value(json_object_get(obj, key));
    assert_non_null(s);
    assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
                             REG_EXTENDED | REG_NOSUB), 0);
    if (regexec(&re, s, 0, NULL, 0) != 0) {
        regfree(&re);
        fail_msg("key \"%s\": \"%s\" is not RFC 3339 UTC with microseconds", key, s);
    }
    regfree(&re);
}

static void want_code_list(json_t *arr)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        const char *code = json_string_value(json_object_get(e, "code"));
        assert_non_null(code);
        assert_int_equal(strlen(code), 6);
        assert_memory_equal(code, "0x", 2);
        want(e, "name", K_STR_OR_NULL);
    }
}

static void check_cert(json_t *c)
{
    static const char *const strs[] = {"subject", "issuer", "key", "signature_algorithm",
                                       "not_before", "not_after", "serial", "sha256", NULL};
    for (size_t i = 0; strs[i]; i++)
        want(c, strs[i], K_STR);
    want(c, "cn", K_STR_OR_NULL);
    want(c, "ski", K_STR_OR_NULL);
    want(c, "aki", K_STR_OR_NULL);
    want(c, "san", K_ARR);
    want(c, "is_ca", K_BOOL);
    want(c, "self_signed", K_BOOL);
    assert_int_equal(strlen(json_string_value(json_object_get(c, "sha256"))), 64);
}

static void check_conn(json_t *c)
{
    static const char *const outcomes[] = {"complete", "failed", "incomplete", "encrypted", NULL};
    static const char *const dirs[] = {"client", "server", NULL};
    static const char *const sevs[] = {"error", "warning", "info", NULL};
    size_t i;
    json_t *e;

    want(c, "id", K_INT);
    want(c, "client", K_OBJ);
    want(c, "server", K_OBJ);
    want(json_object_get(c, "client"), "ip", K_STR);
    want(json_object_get(c, "client"), "port", K_INT);
    want(json_object_get(c, "server"), "ip", K_STR);
    want(json_object_get(c, "server"), "port", K_INT);
    want_ts_us(c, "start_ts");
    want_one_of(c, "outcome", outcomes);

    want(c, "client_hello", K_OBJ_OR_NULL);
    json_t *ch = json_object_get(c, "client_hello");
    if (json_is_object(ch)) {
        want(ch, "legacy_version", K_STR);
        want(ch, "supported_versions", K_ARR);
        want(ch, "sni", K_STR_OR_NULL);
        want(ch, "cipher_suites", K_ARR);
        want_code_list(json_object_get(ch, "cipher_suites"));
        want(ch, "signature_algorithms", K_ARR);
        want_code_list(json_object_get(ch, "signature_algorithms"));
        want(ch, "supported_groups", K_ARR);
        want(ch, "alpn", K_ARR);
        want(ch, "preferred_auth", K_STR_OR_NULL);
        want(ch, "ja3", K_STR_OR_NULL);
        want(ch, "ja4", K_STR_OR_NULL);
    }
    want(c, "server_hello", K_OBJ_OR_NULL);
    json_t *sh = json_object_get(c, "server_hello");
    if (json_is_object(sh)) {
        want(sh, "version", K_STR);
        want(sh, "cipher_suite", K_OBJ);
        want(json_object_get(sh, "cipher_suite"), "code", K_STR);
        want(sh, "auth", K_STR_OR_NULL);
    }
    want(c, "server_certificates", K_ARR);
    json_array_foreach(json_object_get(c, "server_certificates"), i, e)
        check_cert(e);
    want(c, "certificate_request", K_BOOL);
    want(c, "client_certificates", K_ARR);
    json_array_foreach(json_object_get(c, "client_certificates"), i, e)
        check_cert(e);
    want(c, "alerts", K_ARR);
    json_array_foreach(json_object_get(c, "alerts"), i, e) {
        want_one_of(e, "from", dirs);
        want(e, "level", K_STR_OR_NULL);
        want(e, "description", K_STR_OR_NULL);
        want(e, "code", K_INT_OR_NULL);
        want(e, "encrypted", K_BOOL);
        want_ts_us(e, "ts");
    }
    want(c, "verification", K_OBJ_OR_NULL);
    json_t *v = json_object_get(c, "verification");
    if (json_is_object(v)) {
        static const char *const srcs[] = {"option", "sni", "server_ip", NULL};
        want(v, "time", K_STR);
        want(v, "expected_name", K_STR_OR_NULL);
        want_one_of(v, "name_source", srcs);
        want(v, "chain", K_OBJ);
        want(json_object_get(v, "chain"), "result", K_STR);
        want(json_object_get(v, "chain"), "depth", K_INT);
        want(v, "name", K_OBJ);
        want(json_object_get(v, "name"), "matched", K_STR_OR_NULL);
    }
    want(c, "findings", K_ARR);
    json_array_foreach(json_object_get(c, "findings"), i, e) {
        want(e, "id", K_STR);
        want_one_of(e, "severity", sevs);
        want(e, "message", K_STR);
        want(e, "remedy", K_STR);
    }
}

static json_t *report_of(char **files, size_t n, const char *cafile, const char *client_cafile)
{
    struct analyze_opts *o = calloc(1, sizeof(*o));
    struct analysis *a = NULL;
    struct report_opts ro = {.format = REPORT_JSON, .version = "test"};
    char err[256];

    assert_non_null(o);
    analyze_opts_default(o);
    o->files = files;
    o->nfiles = n;
    o->trust.cafile = cafile;
    o->trust.client_cafile = client_cafile;
    o->now = (int64_t)time(NULL);
    assert_int_equal(analyze_run(o, &a, err, sizeof(err)), TI_OK);
    json_t *doc = report_json_document(a, &ro);
    analysis_free(a);
    free(o);
    assert_non_null(doc);
    return doc;
}

static void check_document(json_t *d, size_t want_conns)
{
    size_t i;
    json_t *e;

    want(d, "schema_version", K_INT);
    assert_int_equal(json_integer_value(json_object_get(d, "schema_version")), 2);
    assert_string_equal(json_object_iter_key(json_object_iter(d)), "schema_version");
    want(d, "tool", K_OBJ);
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "tool"), "name")),
                        "tlsinspect");
    want(json_object_get(d, "tool"), "version", K_STR);
    want(d, "inputs", K_ARR);
    json_array_foreach(json_object_get(d, "inputs"), i, e) {
        static const char *const fmts[] = {"pcap", "pcapng", "pcap+gzip", "pcapng+gzip", NULL};
        want(e, "file", K_STR);
        want_one_of(e, "format", fmts);
        want(e, "linktype", K_STR);
        want(e, "packets", K_INT);
        want(e, "bytes", K_INT);
    }
    want_ts_us(d, "first_ts");
    want_ts_us(d, "last_ts");
    want(d, "connections", K_ARR);
    assert_int_equal(json_array_size(json_object_get(d, "connections")), want_conns);
    json_array_foreach(json_object_get(d, "connections"), i, e) {
        check_conn(e);
        assert_int_equal(json_integer_value(json_object_get(e, "id")), (json_int_t)(i + 1));
    }
    want(d, "summary", K_OBJ);
    json_t *s = json_object_get(d, "summary");
    want(s, "connections", K_INT);
    assert_int_equal(json_integer_value(json_object_get(s, "connections")), want_conns);
    want(s, "by_outcome", K_OBJ);
    want(s, "findings", K_OBJ);
    want(d, "warnings", K_ARR);
}

static void test_field_case_shape(void **state)
{
    (void)state;
    char *files[] = {"captures/field-case-6972.pcap"};
    json_t *d = report_of(files, 1, "captures/pki/expressway-trust.pem", NULL);
    check_document(d, 2);
    json_t *c = json_array_get(json_object_get(d, "connections"), 0);
    /* The values SPEC's example shows for this case. */
    assert_string_equal(json_string_value(json_object_get(c, "outcome")), "failed");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "client_hello"),
                                                          "preferred_auth")), "ECDSA");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "server_hello"),
                                                          "auth")), "ECDSA");
    json_t *al = json_array_get(json_object_get(c, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(al, "from")), "client");
    assert_string_equal(json_string_value(json_object_get(al, "description")), "unknown_ca");
    assert_int_equal(json_integer_value(json_object_get(al, "code")), 48);
    json_t *chain = json_object_get(json_object_get(c, "verification"), "chain");
    assert_string_equal(json_string_value(json_object_get(chain, "result")), "self_signed");
    json_decref(d);
}

static void test_pre_post_and_mtls_shape(void **state)
{
    (void)state;
    char *pre[] = {"captures/pre-upgrade.pcap"};
    json_t *d = report_of(pre, 1, "captures/pki/expressway-trust.pem", NULL);
    check_document(d, 6);
    json_decref(d);
    char *mtls[] = {"captures/mtls-client-rejected.pcap"};
    d = report_of(mtls, 1, "captures/pki/expressway-trust.pem", "captures/pki/cucm-trust.pem");
    check_document(d, 1);
    json_t *c = json_array_get(json_object_get(d, "connections"), 0);
    assert_true(json_is_true(json_object_get(c, "certificate_request")));
    assert_true(json_array_size(json_object_get(c, "client_certificates")) >= 1);
    json_decref(d);
    char *rot[] = {"captures/rotated-00.pcap", "captures/rotated-01.pcap"};
    d = report_of(rot, 2, "captures/pki/expressway-trust.pem", NULL);
    check_document(d, 2);
    assert_int_equal(json_array_size(json_object_get(d, "inputs")), 2);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_case_shape),
        cmocka_unit_test(test_pre_post_and_mtls_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
