/* test_roles.c - port roles, and the golden reports' words by role.
 *
 * Every golden report in captures/ (and captures/cases/) is read back: no
 * remedy, fix or workaround of a connection or problem outside the cucm
 * role may speak of tomcat or the cipher-string prefix, and a generic one
 * names no product at all.  The role fixtures must carry their role.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glob.h>
#include <jansson.h>
#include <string.h>

#include "tlsinspect/role.h"

static void test_defaults_and_overrides(void **state)
{
    struct role_map m = {0};
    (void)state;

    assert_int_equal(role_default(8443), ROLE_CUCM);
    assert_int_equal(role_default(6972), ROLE_CUCM);
    assert_int_equal(role_default(6971), ROLE_CUCM);
    assert_int_equal(role_default(7001), ROLE_TRAVERSAL);
    assert_int_equal(role_default(7009), ROLE_TRAVERSAL);
    assert_int_equal(role_default(7010), ROLE_GENERIC);
    assert_int_equal(role_default(5061), ROLE_SIP);
    assert_int_equal(role_default(5062), ROLE_SIP);
    assert_int_equal(role_default(2222), ROLE_SSH);
    assert_int_equal(role_default(443), ROLE_GENERIC);
    assert_int_equal(role_default(1), ROLE_GENERIC);

    assert_int_equal(role_map_add(&m, "443=edge-clients"), 0);
    assert_int_equal(role_map_add(&m, "8443=generic"), 0);
    assert_int_equal(role_map_add(&m, "443=cucm"), 0);       /* later wins */
    assert_int_equal(role_for_port(&m, 443), ROLE_CUCM);
    assert_int_equal(role_for_port(&m, 8443), ROLE_GENERIC);
    assert_int_equal(role_for_port(&m, 6972), ROLE_CUCM);
    assert_int_equal(role_for_port(NULL, 7002), ROLE_TRAVERSAL);
    assert_int_equal(role_map_add(&m, "443=nope"), -1);
    assert_int_equal(role_map_add(&m, "0=cucm"), -1);
    assert_int_equal(role_map_add(&m, "65536=cucm"), -1);
    assert_int_equal(role_map_add(&m, "x=cucm"), -1);
    assert_int_equal(role_map_add(&m, "443"), -1);
    assert_int_equal(role_map_add(&m, "2222=ssh"), -1);
    for (int r = 0; r < ROLE_COUNT; r++)
        assert_int_equal(role_from_name(role_name(r)), r);
    assert_string_equal(role_name(99), "generic");
}

static const char *const cucm_only[] = {"tomcat", "ECDHE-RSA-AES256-GCM-SHA384"};
static const char *const product[] = {"Expressway", "CUCM", "tomcat", "CallManager", "Jabber",
                                      "ECDHE-RSA-AES256-GCM-SHA384", "Action=Terminate",
                                      "Core server", "xConfiguration", "CSC"};

/* fails the test naming the file when a string of `words` is in text */
static void check_words(const char *file, const char *role, const char *what, const char *text,
                        const char *const *words, size_t n)
{
    if (text == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        if (strstr(text, words[i]) != NULL)
            fail_msg("%s: a %s %s mentions \"%s\": %s", file, role, what, words[i], text);
}

static void check_texts(const char *file, const char *role, const char *what, const char *text)
{
    if (strcmp(role, "cucm") != 0)
        check_words(file, role, what, text, cucm_only, sizeof(cucm_only) / sizeof(cucm_only[0]));
    if (strcmp(role, "generic") == 0)
        check_words(file, role, what, text, product, sizeof(product) / sizeof(product[0]));
}

static size_t check_report(const char *file, size_t *nroles)
{
    json_error_t err;
    json_t *doc = json_load_file(file, 0, &err), *v;
    size_t i, j, checked = 0;

    if (doc == NULL)
        fail_msg("%s: %s", file, err.text);
    json_array_foreach(json_object_get(doc, "connections"), i, v) {
        const char *role = json_string_value(json_object_get(v, "role"));
        json_t *f;
        assert_non_null(role);
        assert_true(role_from_name(role) >= 0);
        json_array_foreach(json_object_get(v, "findings"), j, f) {
            check_texts(file, role, "remedy", json_string_value(json_object_get(f, "remedy")));
            check_texts(file, role, "message", strcmp(role, "cucm") == 0 ? NULL :
                        json_string_value(json_object_get(f, "message")));
            checked++;
        }
        if (strcmp(role, "cucm") != 0)
            (*nroles)++;
    }
    json_array_foreach(json_object_get(doc, "problems"), i, v) {
        const char *role = json_string_value(json_object_get(v, "role"));
        assert_non_null(role);
        check_texts(file, role, "fix", json_string_value(json_object_get(v, "fix")));
        check_texts(file, role, "workaround", json_string_value(json_object_get(v, "workaround")));
        check_texts(file, role, "summary", json_string_value(json_object_get(v, "summary")));
        if (strcmp(role, "cucm") != 0)
            assert_int_equal(json_array_size(json_object_get(v, "references")), 0);
        checked++;
    }
    json_decref(doc);
    return checked;
}

static void test_golden_words_by_role(void **state)
{
    static const char *const pats[] = {"captures/*.expected.json", "captures/cases/*.expected.json"};
    size_t files = 0, checked = 0, non_cucm = 0;
    (void)state;

    for (size_t p = 0; p < 2; p++) {
        glob_t g;
        if (glob(pats[p], 0, NULL, &g) != 0)
            continue;
        for (size_t i = 0; i < g.gl_pathc; i++, files++)
            checked += check_report(g.gl_pathv[i], &non_cucm);
        globfree(&g);
    }
    assert_true(files >= 30);
    assert_true(checked > 50);
    assert_true(non_cucm >= 5);        /* the role fixtures, 5061 and 443 in many-flows */
}

/* The role fixtures carry their role, per connection and per problem, and
 * their role's fix. */
static void test_role_fixtures(void **state)
{
    static const struct {
        const char *file, *role, *cause, *fix_word;
    } want[] = {
        {"captures/traversal-7001.pcap.expected.json", "traversal", "CHAIN_UNKNOWN_ISSUER",
         "intermediates"},
        {"captures/sip-5061-self-signed.pcap.expected.json", "sip", "CHAIN_SELF_SIGNED",
         "CallManager-trust"},
        {"captures/edge-clients-443.pcap.expected.json", "edge-clients", "NAME_MISMATCH",
         "collab-edge"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        json_t *doc = json_load_file(want[i].file, 0, NULL);
        assert_non_null(doc);
        json_t *c = json_array_get(json_object_get(doc, "connections"), 0);
        json_t *p = json_array_get(json_object_get(doc, "problems"), 0);
        assert_string_equal(json_string_value(json_object_get(c, "role")), want[i].role);
        assert_string_equal(json_string_value(json_object_get(p, "role")), want[i].role);
        assert_string_equal(json_string_value(json_object_get(p, "cause")), want[i].cause);
        assert_non_null(strstr(json_string_value(json_object_get(p, "fix")), want[i].fix_word));
        if (i == 0) {          /* the SSH tunnel on 2222 is said, not parsed as TLS */
            json_t *ssh = json_array_get(json_object_get(doc, "ssh_tunnels"), 0);
            assert_non_null(ssh);
            assert_string_equal(json_string_value(json_object_get(ssh, "server")), "10.48.37.10:2222");
            assert_int_equal(json_array_size(json_object_get(doc, "connections")), 1);
        }
        json_decref(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_overrides),
        cmocka_unit_test(test_golden_words_by_role),
        cmocka_unit_test(test_role_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
