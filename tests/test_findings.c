/* test_findings.c - each finding is produced when its facts hold, and not otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tlsinspect/findings.h"
#include "tlsinspect/role.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls_names.h"

struct fx {
    struct tls_names *names;
    struct conn c;
    struct x509_cert ec_self, rsa_leaf;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tls_names_new(&f->names), 0);
    conn_init(&f->c);
    f->ec_self.parsed = true;
    f->ec_self.cn = (char *)"cucm-EC.steven.lab";
    strcpy(f->ec_self.key, "EC P-384");
    strcpy(f->ec_self.key_type, "EC");
    f->ec_self.self_signed = true;
    f->ec_self.san[0] = (char *)"DNS:cucm.steven.lab";
    f->ec_self.n_san = 1;
    f->rsa_leaf.parsed = true;
    f->rsa_leaf.cn = (char *)"cucm.steven.lab";
    strcpy(f->rsa_leaf.key, "RSA 2048");
    strcpy(f->rsa_leaf.key_type, "RSA");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    conn_free(&f->c);
    tls_names_free(f->names);
    free(f);
    return 0;
}

static bool has(const struct conn *c, int id)
{
    for (size_t i = 0; i < c->n_findings; i++)
        if (c->findings[i].id == id)
            return true;
    return false;
}

static const char *msg_of(const struct conn *c, int id)
{
    for (size_t i = 0; i < c->n_findings; i++)
        if (c->findings[i].id == id)
            return c->findings[i].message;
    return "";
}

/* The documented field case: ECDSA suite, self-signed EC leaf, client unknown_ca. */
static void field_case(struct fx *f)
{
    struct conn *c = &f->c;
    c->n_ch = 1;
    c->ch[0].preferred_auth = AUTH_ECDSA;
    c->ch[0].preferred_suite = 0xc02c;
    c->sh.present = true;
    c->sh.suite = 0xc02c;
    c->sh.auth = AUTH_ECDSA;
    c->server_certs[0] = &f->ec_self;
    c->n_server_certs = 1;
    c->certificate_request = true;
    c->alerts[0] = (struct conn_alert){.from = DIR_CLIENT, .level = 2, .description = 48,
                                       .after_msg = TLS_HS_SERVER_HELLO_DONE,
                                       .after_msg_from = DIR_SERVER};
    c->n_alerts = 1;
    c->tcp.rst[DIR_CLIENT] = true;
    c->outcome = OUTCOME_FAILED;
    c->verify.done = true;
    c->verify.expected_name = "cucm.steven.lab";
    c->verify.name_source = X509_NAME_FROM_SNI;
    c->verify.verdict.result = X509_CHAIN_SELF_SIGNED;
    c->verify.verdict.depth = 0;
    c->verify.verdict.name_checked = true;
    c->verify.verdict.name_ok = true;
    c->verify.verdict.openssl_error = "self-signed certificate";
    c->server.ipver = 4;
    memcpy(c->server.ip, "\x0a\x30\x24\xd7", 4);
    c->server.port = 6972;
    c->role = ROLE_CUCM;
}

static const struct conn_finding *finding_of(const struct conn *c, int id)
{
    for (size_t i = 0; i < c->n_findings; i++)
        if (c->findings[i].id == id)
            return &c->findings[i];
    return NULL;
}

/* Every message and remedy of c, for words that must not appear. */
static bool any_text_has(const struct conn *c, const char *word)
{
    for (size_t i = 0; i < c->n_findings; i++)
        if (strstr(c->findings[i].message, word) || strstr(c->findings[i].remedy, word))
            return true;
    return false;
}

static void test_field_case(void **state)
{
    struct fx *f = *state;
    field_case(f);
    findings_run(&f->c, f->names);
    assert_true(has(&f->c, FINDING_UNKNOWN_CA_ALERT));
    assert_true(has(&f->c, FINDING_CHAIN_SELF_SIGNED));
    assert_true(has(&f->c, FINDING_ECDSA_SELECTED));
    assert_false(has(&f->c, FINDING_FATAL_ALERT));
    assert_false(has(&f->c, FINDING_NAME_MISMATCH));
    assert_false(has(&f->c, FINDING_CLIENT_CERT_REJECTED));
    assert_false(has(&f->c, FINDING_HANDSHAKE_INCOMPLETE));
    /* The Expressway's own log wording, so users can match their logs. */
    assert_non_null(strstr(msg_of(&f->c, FINDING_CHAIN_SELF_SIGNED),
                           "Core server certificate verification failed for (cucm.steven.lab). "
                           "Action=Terminate Error=self signed certificate "
                           "server=cucm.steven.lab(10.48.36.215) depth=0"));
    assert_non_null(strstr(msg_of(&f->c, FINDING_UNKNOWN_CA_ALERT), "client"));
    assert_non_null(strstr(msg_of(&f->c, FINDING_UNKNOWN_CA_ALERT), "CN=cucm-EC.steven.lab"));
    assert_non_null(strstr(msg_of(&f->c, FINDING_ECDSA_SELECTED), "client preferred ECDSA"));
    for (size_t i = 0; i < f->c.n_findings; i++) {
        if (f->c.findings[i].id == FINDING_ECDSA_SELECTED) {
            assert_non_null(strstr(f->c.findings[i].remedy, "ECDHE-RSA-AES256-GCM-SHA384:"));
            assert_int_equal(f->c.findings[i].severity, SEV_WARNING);
        }
    }
}

static void test_rsa_success_has_no_findings(void **state)
{
    struct fx *f = *state;
    struct conn *c = &f->c;
    c->n_ch = 1;
    c->ch[0].preferred_auth = AUTH_RSA;
    c->sh.present = true;
    c->sh.suite = 0xc030;
    c->sh.auth = AUTH_RSA;
    c->server_certs[0] = &f->rsa_leaf;
    c->n_server_certs = 1;
    c->outcome = OUTCOME_COMPLETE;
    c->verify.done = true;
    c->verify.verdict.result = X509_CHAIN_OK;
    c->verify.verdict.name_checked = true;
    c->verify.verdict.name_ok = true;
    findings_run(c, f->names);
    assert_int_equal(c->n_findings, 0);
}

static void test_name_mismatch(void **state)
{
    struct fx *f = *state;
    field_case(f);
    f->c.verify.verdict.result = X509_CHAIN_OK;
    f->c.verify.verdict.name_ok = false;
    f->c.verify.expected_name = "10.48.36.215";
    f->c.verify.name_source = X509_NAME_FROM_SERVER_IP;
    findings_run(&f->c, f->names);
    assert_true(has(&f->c, FINDING_NAME_MISMATCH));
    assert_false(has(&f->c, FINDING_CHAIN_SELF_SIGNED));
    assert_non_null(strstr(msg_of(&f->c, FINDING_NAME_MISMATCH),
                           "SNI (10.48.36.215) not in certificate"));
}

static void test_chain_results_map_to_ids(void **state)
{
    struct fx *f = *state;
    static const struct { enum x509_chain_result r; int id; } map[] = {
        {X509_CHAIN_UNKNOWN_ISSUER, FINDING_CHAIN_UNKNOWN_ISSUER},
        {X509_CHAIN_SELF_SIGNED_IN_CHAIN, FINDING_CHAIN_UNKNOWN_ISSUER},
        {X509_CHAIN_EXPIRED, FINDING_CERT_EXPIRED},
        {X509_CHAIN_NOT_YET_VALID, FINDING_CERT_NOT_YET_VALID},
        {X509_CHAIN_BAD_SIGNATURE, FINDING_CHAIN_BAD_SIGNATURE},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        conn_free(&f->c);
        field_case(f);
        f->c.verify.verdict.result = map[i].r;
        findings_run(&f->c, f->names);
        assert_true(has(&f->c, map[i].id));
        assert_false(has(&f->c, FINDING_CHAIN_SELF_SIGNED));
    }
    /* Not checked (no trust store) and ok give no chain finding. */
    conn_free(&f->c);
    field_case(f);
    f->c.verify.verdict.result = X509_CHAIN_NOT_CHECKED;
    findings_run(&f->c, f->names);
    assert_false(has(&f->c, FINDING_CHAIN_SELF_SIGNED));
    assert_false(has(&f->c, FINDING_CHAIN_UNKNOWN_ISSUER));
}

static void test_client_cert_rejected(void **state)
{
    struct fx *f = *state;
    struct conn *c = &f->c;
    c->n_ch = 1;
    c->sh.present = true;
    c->sh.suite = 0xc030;
    c->sh.auth = AUTH_RSA;
    c->certificate_request = true;
    c->client_cert_msg_seen = true;
    c->client_certs[0] = &f->rsa_leaf;
    c->n_client_certs = 1;
    c->alerts[0] = (struct conn_alert){.from = DIR_SERVER, .level = 2, .description = 48,
                                       .after_msg = TLS_HS_CERTIFICATE_VERIFY,
                                       .after_msg_from = DIR_CLIENT};
    c->n_alerts = 1;
    c->outcome = OUTCOME_FAILED;
    findings_run(c, f->names);
    assert_true(has(c, FINDING_CLIENT_CERT_REJECTED));
    assert_true(has(c, FINDING_UNKNOWN_CA_ALERT));
    assert_non_null(strstr(msg_of(c, FINDING_UNKNOWN_CA_ALERT), "server sent"));
    assert_false(has(c, FINDING_ECDSA_SELECTED));
}

static void test_other_fatal_alert_and_warning_alert(void **state)
{
    struct fx *f = *state;
    struct conn *c = &f->c;
    c->alerts[0] = (struct conn_alert){.from = DIR_SERVER, .level = 1, .description = 112,
                                       .after_msg = -1};
    c->alerts[1] = (struct conn_alert){.from = DIR_SERVER, .level = 2, .description = 40,
                                       .after_msg = TLS_HS_CLIENT_HELLO,
                                       .after_msg_from = DIR_CLIENT};
    c->alerts[2] = (struct conn_alert){.from = DIR_CLIENT, .encrypted = true};
    c->n_alerts = 3;
    c->outcome = OUTCOME_FAILED;
    findings_run(c, f->names);
    assert_true(has(c, FINDING_FATAL_ALERT));
    assert_non_null(strstr(msg_of(c, FINDING_FATAL_ALERT), "handshake_failure (40)"));
    assert_non_null(strstr(msg_of(c, FINDING_FATAL_ALERT), "after the client's ClientHello"));
    assert_false(has(c, FINDING_UNKNOWN_CA_ALERT));
    size_t fatal = 0;
    for (size_t i = 0; i < c->n_findings; i++)
        fatal += c->findings[i].id == FINDING_FATAL_ALERT;
    assert_int_equal(fatal, 1);   /* the warning and the encrypted alert give none */
}

static void test_tls13_hidden_and_inference(void **state)
{
    struct fx *f = *state;
    struct conn *c = &f->c;
    c->tls13 = true;
    c->sh.present = true;
    c->sh.suite = 0x1301;
    c->sh.auth = AUTH_ANY;
    c->outcome = OUTCOME_ENCRYPTED;
    findings_run(c, f->names);
    assert_true(has(c, FINDING_TLS13_CERT_HIDDEN));
    assert_null(strstr(msg_of(c, FINDING_TLS13_CERT_HIDDEN), "likely rejected"));
    conn_free(c);
    c->tls13 = true;
    c->sh.present = true;
    c->sh.auth = AUTH_ANY;
    c->tcp.rst[DIR_CLIENT] = true;
    findings_run(c, f->names);
    assert_non_null(strstr(msg_of(c, FINDING_TLS13_CERT_HIDDEN), "likely rejected"));
    /* With keys used, nothing is hidden. */
    conn_free(c);
    c->tls13 = true;
    c->sh.present = true;
    c->keys_used = true;
    findings_run(c, f->names);
    assert_false(has(c, FINDING_TLS13_CERT_HIDDEN));
}

static void test_capture_quality(void **state)
{
    struct fx *f = *state;
    struct conn *c = &f->c;
    c->outcome = OUTCOME_INCOMPLETE;
    c->tcp.gaps[DIR_SERVER] = 1;
    c->tcp.gap_bytes[DIR_SERVER] = 1448;
    c->tcp.snap_cut[DIR_SERVER] = 3;
    findings_run(c, f->names);
    assert_true(has(c, FINDING_HANDSHAKE_INCOMPLETE));
    assert_true(has(c, FINDING_CAPTURE_GAP));
    assert_non_null(strstr(msg_of(c, FINDING_CAPTURE_GAP), "1448 bytes"));
    assert_true(has(c, FINDING_SNAPLEN_TRUNCATED));
    conn_free(c);
    c->outcome = OUTCOME_COMPLETE;
    findings_run(c, f->names);
    assert_false(has(c, FINDING_HANDSHAKE_INCOMPLETE));
    assert_false(has(c, FINDING_CAPTURE_GAP));
    assert_false(has(c, FINDING_SNAPLEN_TRUNCATED));
}

/* HANDSHAKE_INCOMPLETE names the first reason that applies. */
static void incomplete_case(struct fx *f, const char *want, const char *fix)
{
    struct conn *c = &f->c;

    c->outcome = OUTCOME_INCOMPLETE;
    findings_run(c, f->names);
    assert_non_null(strstr(msg_of(c, FINDING_HANDSHAKE_INCOMPLETE), want));
    assert_non_null(strstr(finding_of(c, FINDING_HANDSHAKE_INCOMPLETE)->remedy, fix));
    for (size_t i = 0; i < c->n_findings; i++)
        if (!(c->findings_shared & (1u << i)))
            free(c->findings[i].message);
    c->n_findings = 0;
    c->findings_shared = 0;
}

static void test_incomplete_reasons(void **state)
{
    struct fx *f = *state;
    struct conn *c = &f->c;

    incomplete_case(f, "no hello was captured", "Capture the whole handshake");
    c->sh.present = true;
    c->tcp.evictions_before = true;
    incomplete_case(f, "started during the handshake: the ClientHello was not captured; the "
                    "connection table was full earlier", "--max-connections");
    c->n_ch = 1;
    c->tcp.evicted = CONN_EVICTED_FULL;
    incomplete_case(f, "connection table was full, so this connection was dropped", "--max-connections");
    c->tcp.evicted = CONN_EVICTED_IDLE;
    incomplete_case(f, "silent for more than 10 minutes", "stalled server");
    c->tcp.gaps[DIR_CLIENT] = 1;
    c->tcp.gap_bytes[DIR_CLIENT] = 99;
    incomplete_case(f, "99 bytes of the client's stream were not captured", "dropped by kernel");
    c->tcp.gaps[DIR_CLIENT] = 0;
    c->tcp.gap_bytes[DIR_CLIENT] = 0;
    c->tcp.evicted = CONN_EVICTED_NO;
    c->tcp.fin[DIR_CLIENT] = c->tcp.fin[DIR_SERVER] = true;
    conn_add_event(c, 5, EV_FIN, DIR_SERVER, 0, 0);
    conn_add_event(c, 6, EV_FIN, DIR_CLIENT, 0, 0);
    incomplete_case(f, "the server closed the connection with a FIN", "closing side's logs");
    c->tcp.fin[DIR_CLIENT] = c->tcp.fin[DIR_SERVER] = false;
    incomplete_case(f, "the capture ends before it finished", "Capture the whole handshake");
}

static void test_rsa_selected_is_not_ecdsa(void **state)
{
    struct fx *f = *state;
    field_case(f);
    f->c.sh.suite = 0xc030;
    f->c.sh.auth = AUTH_RSA;
    findings_run(&f->c, f->names);
    assert_false(has(&f->c, FINDING_ECDSA_SELECTED));
    /* TLS 1.3: the EC key of the leaf decides. */
    conn_free(&f->c);
    field_case(f);
    f->c.sh.suite = 0x1302;
    f->c.sh.auth = AUTH_ANY;
    findings_run(&f->c, f->names);
    assert_true(has(&f->c, FINDING_ECDSA_SELECTED));
}

/* OpenSSL answers an IP (or host) mismatch with bad_certificate: the
 * alert's remedy is the name's, not "check its chain". */
static void test_alert_after_name_mismatch_gets_name_fix(void **state)
{
    struct fx *f = *state;
    field_case(f);
    f->c.sh.suite = 0xc030;
    f->c.sh.auth = AUTH_RSA;
    f->c.server_certs[0] = &f->rsa_leaf;
    f->c.verify.verdict.result = X509_CHAIN_OK;
    f->c.verify.verdict.name_ok = false;
    f->c.verify.expected_name = "10.48.36.215";
    f->c.alerts[0].description = 42;
    findings_run(&f->c, f->names);
    const struct conn_finding *fa = finding_of(&f->c, FINDING_FATAL_ALERT);
    const struct conn_finding *nm = finding_of(&f->c, FINDING_NAME_MISMATCH);
    assert_non_null(fa);
    assert_non_null(nm);
    assert_string_equal(fa->remedy, nm->remedy);
    assert_null(strstr(fa->remedy, "key usage"));
    assert_non_null(strstr(fa->message, "10.48.36.215"));
}

/* The chain verifies against --cafile, yet the client said unknown_ca:
 * its trust store is another one; adding the CA to --cafile fixes nothing. */
static void test_unknown_ca_with_ok_chain_says_trust_store_differs(void **state)
{
    struct fx *f = *state;
    field_case(f);
    f->c.verify.verdict.result = X509_CHAIN_OK;
    findings_run(&f->c, f->names);
    const struct conn_finding *u = finding_of(&f->c, FINDING_UNKNOWN_CA_ALERT);
    assert_non_null(u);
    assert_non_null(strstr(u->message, "verifies against the trust store given"));
    assert_non_null(strstr(u->remedy, "differs"));
    assert_non_null(strstr(u->remedy, "Show all (PEM file)"));
    assert_null(strstr(u->remedy, "Add the CA that signed"));
}

/* A complete connection was not terminated: no "Action=Terminate". */
static void test_complete_never_quotes_terminate(void **state)
{
    struct fx *f = *state;
    field_case(f);
    f->c.n_alerts = 0;
    f->c.tcp.rst[DIR_CLIENT] = false;
    f->c.outcome = OUTCOME_COMPLETE;
    f->c.verify.verdict.name_ok = false;
    findings_run(&f->c, f->names);
    assert_true(has(&f->c, FINDING_CHAIN_SELF_SIGNED));
    assert_true(has(&f->c, FINDING_NAME_MISMATCH));
    assert_false(any_text_has(&f->c, "Action=Terminate"));
    assert_non_null(strstr(msg_of(&f->c, FINDING_CHAIN_SELF_SIGNED), "handshake completed"));
}

/* ECDSA chosen, chain verified, handshake complete: info, nothing to do;
 * a warning with the cipher-order remedy when it coincides with a failure. */
static void test_ecdsa_severity_follows_the_facts(void **state)
{
    struct fx *f = *state;
    field_case(f);
    f->c.n_alerts = 0;
    f->c.tcp.rst[DIR_CLIENT] = false;
    f->c.outcome = OUTCOME_COMPLETE;
    f->c.verify.verdict.result = X509_CHAIN_OK;
    findings_run(&f->c, f->names);
    const struct conn_finding *e = finding_of(&f->c, FINDING_ECDSA_SELECTED);
    assert_non_null(e);
    assert_int_equal(e->severity, SEV_INFO);
    assert_string_equal(e->remedy, "");

    conn_free(&f->c);
    field_case(f);
    findings_run(&f->c, f->names);
    e = finding_of(&f->c, FINDING_ECDSA_SELECTED);
    assert_non_null(e);
    assert_int_equal(e->severity, SEV_WARNING);
    assert_non_null(strstr(e->remedy, "ECDHE-RSA-AES256-GCM-SHA384:"));

    /* failed, but on the client's certificate (the server rejected it, the
     * ECDSA chain verified): the server's choice is no news */
    conn_free(&f->c);
    field_case(f);
    f->c.verify.verdict.result = X509_CHAIN_OK;
    f->c.client_cert_msg_seen = true;
    f->c.client_certs[0] = &f->rsa_leaf;
    f->c.n_client_certs = 1;
    f->c.alerts[0] = (struct conn_alert){.from = DIR_SERVER, .level = 2, .description = 48,
                                         .after_msg = TLS_HS_CERTIFICATE_VERIFY,
                                         .after_msg_from = DIR_CLIENT};
    f->c.tcp.rst[DIR_CLIENT] = false;
    findings_run(&f->c, f->names);
    assert_true(has(&f->c, FINDING_CLIENT_CERT_REJECTED));
    e = finding_of(&f->c, FINDING_ECDSA_SELECTED);
    assert_non_null(e);
    assert_int_equal(e->severity, SEV_INFO);
    assert_string_equal(e->remedy, "");
}

/* TLS 1.3 without keys, an ECDSA key inferred from the flight's sizes: the
 * same rules as a visible certificate -- a warning with the role's fix when
 * the client aborted, info when the server rejected the client's
 * certificate, and no tomcat or cipher-string advice outside the cucm role. */
static void test_inferred_ecdsa_follows_role_and_cause(void **state)
{
    struct fx *f = *state;
    struct conn *c = &f->c;

    for (int pass = 0; pass < 3; pass++) {
        conn_free(c);
        c->tls13 = true;
        c->n_ch = 1;
        c->ch[0].preferred_auth = AUTH_ECDSA;
        c->sh.present = true;
        c->sh.suite = 0x1302;
        c->sh.auth = AUTH_ANY;
        c->inferred_server_key = KEY_GUESS_EC;
        c->inferred_sig_len = 103;
        c->outcome = OUTCOME_FAILED;
        c->role = pass == 1 ? ROLE_GENERIC : ROLE_CUCM;
        bool server_rejects = pass == 2;
        c->alerts[0] = (struct conn_alert){.from = server_rejects ? DIR_SERVER : DIR_CLIENT,
                                           .level = 2, .encrypted = true, .inferred = true};
        c->n_alerts = 1;
        c->inferred_client_cert = server_rejects;
        findings_run(c, f->names);
        const struct conn_finding *e = finding_of(c, FINDING_ECDSA_SELECTED);
        assert_non_null(e);
        if (server_rejects) {
            assert_true(has(c, FINDING_CLIENT_CERT_REJECTED));
            assert_int_equal(e->severity, SEV_INFO);
            assert_string_equal(e->remedy, "");
        } else {
            assert_int_equal(e->severity, SEV_WARNING);
            assert_true((strstr(e->remedy, "ECDHE-RSA-AES256-GCM-SHA384") != NULL) ==
                        (c->role == ROLE_CUCM));
            assert_true((strstr(e->remedy, "tomcat") != NULL) == (c->role == ROLE_CUCM));
        }
    }
}

/* Outside the cucm role: no tomcat or cipher-string advice; generic: no
 * product words at all.  The traversal zone gets its own fixes. */
static void test_remedies_follow_the_role(void **state)
{
    struct fx *f = *state;
    static const char *const product[] = {"Expressway", "CUCM", "tomcat", "CallManager",
                                          "ECDHE-RSA-AES256-GCM-SHA384", "Action=Terminate",
                                          "Core server"};
    field_case(f);
    f->c.role = ROLE_GENERIC;
    f->c.verify.verdict.name_ok = false;
    findings_run(&f->c, f->names);
    assert_true(has(&f->c, FINDING_CHAIN_SELF_SIGNED));
    assert_true(has(&f->c, FINDING_ECDSA_SELECTED));
    for (size_t i = 0; i < sizeof(product) / sizeof(product[0]); i++)
        assert_false(any_text_has(&f->c, product[i]));

    for (int role = ROLE_TRAVERSAL; role <= ROLE_EDGE_CLIENTS; role++) {
        conn_free(&f->c);
        field_case(f);
        f->c.role = (uint8_t)role;
        f->c.verify.verdict.result = X509_CHAIN_UNKNOWN_ISSUER;
        f->c.verify.verdict.name_ok = false;
        findings_run(&f->c, f->names);
        assert_false(any_text_has(&f->c, "tomcat"));
        assert_false(any_text_has(&f->c, "ECDHE-RSA-AES256-GCM-SHA384"));
        if (role == ROLE_TRAVERSAL) {
            assert_non_null(strstr(finding_of(&f->c, FINDING_NAME_MISMATCH)->remedy, "peer address"));
            assert_non_null(strstr(finding_of(&f->c, FINDING_CHAIN_UNKNOWN_ISSUER)->remedy,
                                   "intermediates"));
        }
        if (role == ROLE_EDGE_CLIENTS)
            assert_non_null(strstr(finding_of(&f->c, FINDING_NAME_MISMATCH)->remedy, "collab-edge"));
    }
    /* the server rejecting the client's certificate on the traversal zone:
     * the Expressway-E's trust list and its "TLS verify subject name" */
    conn_free(&f->c);
    field_case(f);
    f->c.role = ROLE_TRAVERSAL;
    f->c.verify.verdict.result = X509_CHAIN_OK;
    f->c.client_cert_msg_seen = true;
    f->c.alerts[0] = (struct conn_alert){.from = DIR_SERVER, .level = 2, .description = 48,
                                         .after_msg = TLS_HS_CERTIFICATE,
                                         .after_msg_from = DIR_CLIENT};
    findings_run(&f->c, f->names);
    assert_non_null(strstr(finding_of(&f->c, FINDING_CLIENT_CERT_REJECTED)->remedy,
                           "TLS verify subject name"));
}

static void test_names_table(void **state)
{
    (void)state;
    assert_string_equal(finding_name(FINDING_UNKNOWN_CA_ALERT), "UNKNOWN_CA_ALERT");
    assert_int_equal(finding_from_name("CAPTURE_TRUNCATED"), FINDING_CAPTURE_TRUNCATED);
    assert_int_equal(finding_from_name("NOPE"), -1);
    assert_int_equal(finding_severity(FINDING_ECDSA_SELECTED), SEV_WARNING);
    assert_int_equal(finding_severity(FINDING_TLS13_CERT_HIDDEN), SEV_INFO);
    assert_int_equal(finding_severity(FINDING_CAPTURE_TRUNCATED), SEV_ERROR);
    for (int i = 0; i < FINDING_COUNT; i++)
        assert_int_equal(finding_from_name(finding_name(i)), i);
}

/* The memo: a second connection with the same facts borrows the first one's
 * messages (the same texts as without the memo); one fact changed (the
 * server's address) gives its own text. */
static void test_memo_shares_equal_messages(void **state)
{
    struct fx *f = *state;
    struct findings_memo *m = findings_memo_new();
    struct conn plain, a, b, other;

    assert_non_null(m);
    field_case(f);
    plain = f->c;
    a = f->c;
    b = f->c;
    other = f->c;
    other.server.ip[3] = 0xd8;
    findings_run(&plain, f->names);
    findings_run_memo(&a, f->names, m);
    findings_run_memo(&b, f->names, m);
    findings_run_memo(&other, f->names, m);
    assert_int_equal(a.n_findings, plain.n_findings);
    assert_int_equal(b.n_findings, plain.n_findings);
    assert_int_equal(plain.n_findings, 3);
    for (size_t i = 0; i < plain.n_findings; i++) {
        assert_false(plain.findings_shared & (1u << i));
        assert_true(a.findings_shared & (1u << i));
        assert_int_equal(a.findings[i].id, plain.findings[i].id);
        assert_string_equal(a.findings[i].message, plain.findings[i].message);
        assert_string_equal(a.findings[i].remedy, plain.findings[i].remedy);
        assert_ptr_equal(b.findings[i].message, a.findings[i].message);
    }
    assert_ptr_not_equal(msg_of(&other, FINDING_CHAIN_SELF_SIGNED),
                         msg_of(&a, FINDING_CHAIN_SELF_SIGNED));
    assert_non_null(strstr(msg_of(&other, FINDING_CHAIN_SELF_SIGNED), "(10.48.36.216)"));
    assert_ptr_equal(msg_of(&other, FINDING_UNKNOWN_CA_ALERT), msg_of(&a, FINDING_UNKNOWN_CA_ALERT));

    /* two verdicts of one finding id and one OpenSSL text, worded apart */
    struct conn issuer = f->c, in_chain = f->c;
    issuer.verify.verdict.result = X509_CHAIN_UNKNOWN_ISSUER;
    in_chain.verify.verdict.result = X509_CHAIN_SELF_SIGNED_IN_CHAIN;
    findings_run_memo(&issuer, f->names, m);
    findings_run_memo(&in_chain, f->names, m);
    assert_non_null(strstr(msg_of(&issuer, FINDING_CHAIN_UNKNOWN_ISSUER),
                           "Error=unable to get local issuer certificate"));
    assert_non_null(strstr(msg_of(&in_chain, FINDING_CHAIN_UNKNOWN_ISSUER),
                           "Error=self signed certificate in certificate chain"));
    conn_free(&issuer);
    conn_free(&in_chain);
    conn_free(&plain);
    conn_free(&a);
    conn_free(&b);
    conn_free(&other);
    findings_memo_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_field_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_success_has_no_findings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_results_map_to_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_cert_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_fatal_alert_and_warning_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls13_hidden_and_inference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capture_quality, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_selected_is_not_ecdsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_after_name_mismatch_gets_name_fix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_ca_with_ok_chain_says_trust_store_differs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_complete_never_quotes_terminate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecdsa_severity_follows_the_facts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inferred_ecdsa_follows_role_and_cause, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remedies_follow_the_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo_shares_equal_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incomplete_reasons, setup, teardown),
        cmocka_unit_test(test_names_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
