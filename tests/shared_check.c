/* shared_check.c - does a JSON report list what tshark saw?  (tests/shared_smoke.sh)
 *
 *   shared_check EXPECTED.json REPORT.json
 *   shared_check --keylog EXPECTED.json   prints the key log's path under
 *                                         captures/ (nothing when none)
 *
 * EXPECTED is one of ../shared/captures/expected/NAME.json (tshark 4.0.17's view
 * of a third-party capture, see that directory's README); REPORT is what
 * `tlsinspect -p all -f json` wrote for the same capture.  test_conformance
 * compares tshark with the analysis in memory; this checks the report a user
 * gets through the command line and the JSON writer: it parses, its summary
 * counts its connections, and every connection tshark saw with a handshake
 * is listed with client and server the right way round, the selected suite,
 * the server certificates' SHA-256 in the order sent, and the plaintext
 * alerts with their sender.  Connections the expected file marks
 * "tshark_wrong" are left out (their reason is in the file).
 *
 * Prints one line per disagreement and a closing count; exit 0 when all
 * agree, 1 on a disagreement or when the report lists no connection that
 * tshark expects one for, 2 on unreadable input.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void disagree(unsigned *bad, const char *cap, const char *client, const char *field, const char *what)
{
    printf("  DISAGREE %s %s %s: %s\n", cap, client, field, what);
    (*bad)++;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* "ip:port" as the expected files write endpoints. */
static void ep(const json_t *e, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%" JSON_INTEGER_FORMAT, str(e, "ip") ? str(e, "ip") : "?",
             json_integer_value(json_object_get(e, "port")));
}

static const json_t *find_conn(const json_t *conns, const char *client, const char *server,
                               bool *reversed)
{
    char c[96], s[96];
    size_t i;
    const json_t *x;

    *reversed = false;
    json_array_foreach(conns, i, x) {
        ep(json_object_get(x, "client"), c, sizeof c);
        ep(json_object_get(x, "server"), s, sizeof s);
        if (strcmp(c, client) == 0 && strcmp(s, server) == 0)
            return x;
        if (strcmp(s, client) == 0 && strcmp(c, server) == 0)
            *reversed = true;
    }
    return NULL;
}

static bool code_eq(const char *hex, const json_t *suite)
{
    const char *have = str(suite, "code");
    return hex != NULL && have != NULL && strtoul(hex, NULL, 16) == strtoul(have, NULL, 16);
}

static void check_conn(unsigned *bad, const char *cap, const char *client, const json_t *want, const json_t *have)
{
    const json_t *wsh = json_object_get(want, "server_hello");
    const json_t *hsh = json_object_get(have, "server_hello");
    const json_t *wcerts = json_object_get(want, "server_cert_sha256");
    const json_t *hcerts = json_object_get(have, "server_certificates");
    const json_t *walerts = json_object_get(want, "alerts");
    const json_t *halerts = json_object_get(have, "alerts");
    char msg[256];
    size_t i, k = 0;
    const json_t *x;
    bool ok;

    if (json_is_object(wsh)) {
        const char *want_suite = str(wsh, "cipher_suite");
        if (!json_is_object(hsh) || !code_eq(want_suite, json_object_get(hsh, "cipher_suite"))) {
            snprintf(msg, sizeof msg, "tshark %s, report %s", want_suite ? want_suite : "?",
                     json_is_object(hsh) ? str(json_object_get(hsh, "cipher_suite"), "code") : "null");
            disagree(bad, cap, client, "server_hello", msg);
        }
    } else if (!json_is_null(hsh)) {
        disagree(bad, cap, client, "server_hello", "tshark none, the report has one");
    }

    ok = json_array_size(wcerts) == json_array_size(hcerts);
    for (i = 0; ok && i < json_array_size(wcerts); i++) {
        const char *w = json_string_value(json_array_get(wcerts, i));
        const char *h = str(json_array_get(hcerts, i), "sha256");
        ok = w != NULL && h != NULL && strcmp(w, h) == 0;
    }
    if (!ok) {
        snprintf(msg, sizeof msg, "tshark %zu certificates, report %zu (or digests differ)",
                 json_array_size(wcerts), json_array_size(hcerts));
        disagree(bad, cap, client, "server_certificates", msg);
    }

    ok = true;
    json_array_foreach(halerts, i, x) {
        const json_t *w;
        const char *level;
        if (json_is_true(json_object_get(x, "encrypted")))
            continue;
        w = json_array_get(walerts, k++);
        level = str(x, "level");
        ok = ok && w != NULL && str(w, "from") && str(x, "from") &&
             strcmp(str(w, "from"), str(x, "from")) == 0 &&
             json_integer_value(json_object_get(w, "description")) ==
                 json_integer_value(json_object_get(x, "code")) &&
             level != NULL &&
             json_integer_value(json_object_get(w, "level")) == (strcmp(level, "fatal") == 0 ? 2 : 1);
    }
    if (!ok || k != json_array_size(walerts)) {
        snprintf(msg, sizeof msg, "tshark %zu plaintext alerts, report %zu (or they differ)",
                 json_array_size(walerts), k);
        disagree(bad, cap, client, "alerts", msg);
    }
}

int main(int argc, char **argv)
{
    json_error_t err;
    json_t *want, *have;
    const json_t *wconns, *hconns, *wrong, *x;
    const char *cap;
    size_t i;
    unsigned checked = 0, skipped = 0, bad = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: shared_check EXPECTED.json REPORT.json\n"
                        "       shared_check --keylog EXPECTED.json\n");
        return 2;
    }
    if (strcmp(argv[1], "--keylog") == 0) {
        want = json_load_file(argv[2], 0, &err);
        if (want == NULL) {
            fprintf(stderr, "shared_check: %s: %s (line %d)\n", argv[2], err.text, err.line);
            return 2;
        }
        if (str(want, "keylog") != NULL)
            printf("%s\n", str(want, "keylog"));
        json_decref(want);
        return 0;
    }
    want = json_load_file(argv[1], 0, &err);
    if (want == NULL) {
        fprintf(stderr, "shared_check: %s: %s (line %d)\n", argv[1], err.text, err.line);
        return 2;
    }
    cap = str(want, "capture") ? str(want, "capture") : argv[1];
    have = json_load_file(argv[2], 0, &err);
    if (have == NULL) {
        printf("  FAIL %s: the report does not parse: %s (line %d)\n", cap, err.text, err.line);
        json_decref(want);
        return 1;
    }
    wconns = json_object_get(want, "connections");
    hconns = json_object_get(have, "connections");
    wrong = json_object_get(want, "tshark_wrong");
    if (!json_is_array(hconns) ||
        json_integer_value(json_object_get(json_object_get(have, "summary"), "connections")) !=
            (json_int_t)json_array_size(hconns)) {
        printf("  FAIL %s: the report's connections and summary.connections disagree\n", cap);
        bad++;
    }
    json_array_foreach(wconns, i, x) {
        const char *client = str(x, "client"), *server = str(x, "server");
        const json_t *c;
        bool reversed;

        if (client == NULL || server == NULL || json_object_get(wrong, client) != NULL) {
            skipped++;       /* no roles (mid-stream start) or checked by hand */
            continue;
        }
        checked++;
        c = find_conn(hconns, client, server, &reversed);
        if (c == NULL) {
            disagree(&bad, cap, client, "endpoints", reversed ? "listed with client and server swapped"
                                                        : "not in the report");
            continue;
        }
        check_conn(&bad, cap, client, x, c);
    }
    printf("%s: %u tshark connections checked, %u not comparable, %u disagreements\n",
           cap, checked, skipped, bad);
    json_decref(want);
    json_decref(have);
    return bad == 0 ? 0 : 1;
}
