/* test_opts.c - the option table and its parser (opts.h): every option parses
 * into its field, bad values are usage errors, the documents list them all. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/opts.h"

static struct analyze_opts aopts;   /* large */

/* Parse a NULL-terminated list of words after "tlsinspect". */
static int parse(struct cli *cli, ...)
{
    static char words[64][128];
    static char *argv[65];
    va_list ap;
    int argc = 0;
    const char *w;

    argv[argc] = strcpy(words[argc], "tlsinspect");
    argc++;
    va_start(ap, cli);
    while ((w = va_arg(ap, const char *)) != NULL) {
        assert_true(argc < 64 && strlen(w) < sizeof(words[0]));
        argv[argc] = strcpy(words[argc], w);
        argc++;
    }
    va_end(ap);
    argv[argc] = NULL;
    return opts_parse(argc, argv, &aopts, cli);
}

static void test_defaults(void **state)
{
    struct cli cli;

    (void)state;
    assert_int_equal(parse(&cli, "cap.pcap", NULL), EXIT_OK);
    assert_int_equal(cli.action, CLI_RUN);
    assert_false(cli.diff);
    assert_int_equal(cli.report.format, REPORT_TEXT);
    assert_string_equal(cli.color, "auto");
    assert_false(cli.report.color);
    assert_null(cli.output);
    assert_string_equal(cli.bpf, "");
    assert_int_equal(cli.nargs, 1);
    assert_string_equal(cli.args[0], "cap.pcap");
    assert_int_equal(cli.fail_on.min_severity, SEV_ERROR);
    assert_int_equal(aopts.nports, 2);
    assert_int_equal(aopts.ports[0], 8443);
    assert_int_equal(aopts.ports[1], 6972);
    assert_int_equal(aopts.at, AT_CAPTURE);
}

static void test_every_option(void **state)
{
    struct cli cli;

    (void)state;
    assert_int_equal(parse(&cli, "-p", "443,8443", "--cafile", "ca.pem", "--capath", "dir",
                           "--client-cafile", "cc.pem", "--name", "10.0.0.1=a.example",
                           "--name", "2001:db8::1=b.example", "--at", "2026-03-10T16:55:26Z",
                           "--keylog", "k.log", "-f", "jsonl", "-o", "out.json",
                           "--colour", "always", "-v", "--fail-on", "warning,UNKNOWN_CA_ALERT",
                           "--max-connections", "7", "--max-ooo-bytes", "0",
                           "--max-ooo-total", "99", "--max-handshake-bytes", "16777215",
                           "--max-records", "5", "a.pcap", "b.pcap", NULL), EXIT_OK);
    assert_int_equal(aopts.nports, 2);
    assert_int_equal(aopts.ports[0], 443);
    assert_string_equal(aopts.trust.cafile, "ca.pem");
    assert_string_equal(aopts.trust.capath, "dir");
    assert_string_equal(aopts.trust.client_cafile, "cc.pem");
    assert_int_equal(aopts.nnames, 2);
    assert_int_equal(aopts.names[0].addr.ipver, 4);
    assert_string_equal(aopts.names[0].name, "a.example");
    assert_int_equal(aopts.names[1].addr.ipver, 6);
    assert_int_equal(aopts.at, AT_FIXED);
    assert_int_equal(aopts.at_time, 1773161726);
    assert_string_equal(aopts.keylog, "k.log");
    assert_int_equal(cli.report.format, REPORT_JSONL);
    assert_string_equal(cli.output, "out.json");
    assert_true(cli.report.color);
    assert_true(cli.report.verbose);
    assert_int_equal(cli.fail_on.min_severity, SEV_WARNING);
    assert_true(cli.fail_on.ids[finding_from_name("UNKNOWN_CA_ALERT")]);
    assert_int_equal(aopts.flow_limits.max_flows, 7);
    assert_int_equal(aopts.flow_limits.max_dir_bytes, 0);
    assert_int_equal(aopts.flow_limits.max_total_bytes, 99);
    assert_int_equal(aopts.tls_limits.max_hs_msg, 16777215);
    assert_int_equal(aopts.tls_limits.max_records, 5);
    assert_int_equal(cli.nargs, 2);
    assert_string_equal(cli.args[1], "b.pcap");
}

static void test_diff_and_bpf(void **state)
{
    struct cli cli;

    (void)state;
    assert_int_equal(parse(&cli, "diff", "-f", "json", "x.json", "y.pcap", NULL), EXIT_OK);
    assert_true(cli.diff);
    assert_int_equal(cli.nargs, 2);
    assert_string_equal(cli.args[0], "x.json");
    assert_int_equal(cli.report.format, REPORT_JSON);
    assert_false(cli.ignore_options);
    /* --ignore-options: diff's only */
    assert_int_equal(parse(&cli, "diff", "--ignore-options", "x.json", "y.pcap", NULL), EXIT_OK);
    assert_true(cli.ignore_options);
    assert_int_equal(parse(&cli, "--ignore-options", "y.pcap", NULL), EXIT_USAGE);

    assert_int_equal(parse(&cli, "-p", "all", "c.pcap", "--", "host", "10.0.0.1", "-v", NULL),
                     EXIT_OK);
    assert_true(aopts.all_ports);
    assert_string_equal(cli.bpf, "host 10.0.0.1 -v");   /* after "--": not options */
    assert_false(cli.report.verbose);
    assert_int_equal(cli.nargs, 1);
}

/* -i and --duration fill the analysis options; the combinations with
 * files are checked by main (tests/stdin_live.sh). */
static void test_live_options(void **state)
{
    struct cli cli;

    (void)state;
    assert_int_equal(parse(&cli, "-i", "lo", "--duration", "2.5", "--", "tcp", "port", "8443",
                           NULL), EXIT_OK);
    assert_non_null(aopts.iface);
    assert_string_equal(aopts.iface, "lo");
    assert_true(aopts.duration > 2.49 && aopts.duration < 2.51);
    assert_int_equal(cli.nargs, 0);
    assert_string_equal(cli.bpf, "tcp port 8443");
    assert_int_equal(parse(&cli, "--interface", "eth0", NULL), EXIT_OK);
    assert_string_equal(aopts.iface, "eth0");
    assert_true(aopts.duration == 0);
    assert_int_equal(parse(&cli, "-", NULL), EXIT_OK);   /* standard input is an argument */
    assert_int_equal(cli.nargs, 1);
    assert_null(aopts.iface);
    assert_int_equal(parse(&cli, "-i", "lo", "--duration", "0", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-i", "lo", "--duration", "-1", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-i", "lo", "--duration", "1s", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-i", "lo", "--duration", "nan", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-i", NULL), EXIT_USAGE);      /* argument missing */
}

static void test_help_version(void **state)
{
    struct cli cli;

    (void)state;
    assert_int_equal(parse(&cli, "--help", NULL), EXIT_OK);
    assert_int_equal(cli.action, CLI_HELP);
    assert_int_equal(parse(&cli, "-V", NULL), EXIT_OK);
    assert_int_equal(cli.action, CLI_VERSION);
}

static void test_errors(void **state)
{
    struct cli cli;

    (void)state;
    assert_int_equal(parse(&cli, "-p", "0", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-p", "65536", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-p", ",", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--name", "nothing", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--name", "host=x", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--at", "yesterday", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-f", "xml", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--color", "sometimes", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--fail-on", "NO_SUCH_FINDING", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--max-connections", "0", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--max-records", "-1", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--max-handshake-bytes", "16777216", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--max-ooo-total", "12k", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--no-such-option", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-p", NULL), EXIT_USAGE);      /* argument missing */
}

/* -w and its options: parsed into cli.extract, which the analysis points at;
 * without -w its options are refused, and so is -w where it cannot go. */
static void test_extract_options(void **state)
{
    struct cli cli;

    (void)state;
    assert_int_equal(parse(&cli, "c", NULL), EXIT_OK);
    assert_null(aopts.extract);
    assert_int_equal(parse(&cli, "-w", "x.pcapng", "--only", "findings", "--connection",
                           "10.0.0.1:8443", "--connection", "[2001:db8::1]:443", "--keylog",
                           "k.log", "--write-keylog", "x.keys", "--max-extract-hold", "0", "c",
                           NULL), EXIT_OK);
    assert_ptr_equal(aopts.extract, &cli.extract);
    assert_string_equal(cli.extract.path, "x.pcapng");
    assert_int_equal(cli.extract.only, EXTRACT_FINDINGS);
    assert_int_equal(cli.extract.nendpoints, 2);
    assert_int_equal(cli.extract.endpoints[0].port, 8443);
    assert_int_equal(cli.extract.endpoints[1].ipver, 6);
    assert_int_equal(cli.extract.endpoints[1].port, 443);
    assert_string_equal(cli.extract.keylog_out, "x.keys");
    assert_int_equal(cli.extract.max_held_bytes, 0);
    assert_int_equal(parse(&cli, "--only", "failed", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "--connection", "10.0.0.1:1", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-w", "x", "--only", "some", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-w", "x", "--connection", "10.0.0.1", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-w", "x", "--connection", "10.0.0.1:0", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-w", "x", "--write-keylog", "k", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "-w", "x", "-o", "x", "c", NULL), EXIT_USAGE);
    assert_int_equal(parse(&cli, "diff", "-w", "x", "a", "b", NULL), EXIT_USAGE);
}

static char *captured(void (*fn)(FILE *))
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);

    assert_non_null(f);
    fn(f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* Every option in each document; an alias only in the man page's text. */
static void test_documents(void **state)
{
    char *help = captured(opts_help), *man = captured(opts_man), *md = captured(opts_readme);
    size_t n;
    const struct opt_def *t = opts_table(&n);

    (void)state;
    assert_true(n > 15);
    for (size_t i = 0; i < n; i++) {
        char want[80], man_want[80];
        size_t k = 0;

        snprintf(want, sizeof(want), "--%s", t[i].name);
        k = (size_t)snprintf(man_want, sizeof(man_want), "\\-\\-");
        for (const char *p = t[i].name; *p && k + 3 < sizeof(man_want); p++) {
            if (*p == '-')
                man_want[k++] = '\\';
            man_want[k++] = *p;
        }
        man_want[k] = '\0';
        assert_non_null(strstr(man, man_want));
        if (t[i].hidden) {
            assert_null(strstr(md, want));
            continue;
        }
        assert_non_null(strstr(help, want));
        assert_non_null(strstr(md, want));
        assert_true(t[i].help[0] != '\0' && t[i].doc[0] != '\0');
    }
    /* no --help line is wider than a terminal */
    for (char *line = help; line != NULL && *line; ) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        assert_true(len <= 79);
        line = nl ? nl + 1 : NULL;
    }
    assert_non_null(strstr(help, "[8443,6972]"));
    assert_non_null(strstr(man, ".SH OPTIONS\n"));
    assert_non_null(strstr(man, "Default: 8443,6972."));
    assert_non_null(strstr(md, "| `-p, --ports LIST` |"));
    free(help);
    free(man);
    free(md);
}

static void test_fail_on(void **state)
{
    struct cli cli;
    int ca = finding_from_name("UNKNOWN_CA_ALERT"), ecdsa = finding_from_name("ECDSA_SELECTED");

    (void)state;
    assert_true(ca >= 0 && ecdsa >= 0);
    assert_int_equal(parse(&cli, "c", NULL), EXIT_OK);
    assert_true(fail_on_matches(&cli.fail_on, ca, finding_severity(ca)));         /* an error */
    assert_false(fail_on_matches(&cli.fail_on, ecdsa, finding_severity(ecdsa)));     /* a warning */
    assert_int_equal(parse(&cli, "--fail-on", "none", "c", NULL), EXIT_OK);
    assert_false(fail_on_matches(&cli.fail_on, ca, finding_severity(ca)));
    assert_int_equal(parse(&cli, "--fail-on", "ECDSA_SELECTED", "c", NULL), EXIT_OK);
    assert_true(fail_on_matches(&cli.fail_on, ecdsa, finding_severity(ecdsa)));
    assert_false(fail_on_matches(&cli.fail_on, ca, finding_severity(ca)));
    /* by the finding's own severity: ECDSA_SELECTED as a warning fails
     * --fail-on warning, as info does not */
    assert_int_equal(parse(&cli, "--fail-on", "warning", "c", NULL), EXIT_OK);
    assert_true(fail_on_matches(&cli.fail_on, ecdsa, SEV_WARNING));
    assert_false(fail_on_matches(&cli.fail_on, ecdsa, SEV_INFO));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_option),
        cmocka_unit_test(test_diff_and_bpf),
        cmocka_unit_test(test_live_options),
        cmocka_unit_test(test_help_version),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_extract_options),
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_fail_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
