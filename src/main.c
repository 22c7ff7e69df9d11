/* main.c - command line, exit status, progress line: the only place with process-wide state. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/diff.h"
#include "tlsinspect/err.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/outfile.h"
#include "tlsinspect/report.h"
#include "tlsinspect/savecerts.h"

#ifndef TLSINSPECT_VERSION
#define TLSINSPECT_VERSION "0.0.0"
#endif

/* Exit codes (grep/diff convention); never renumbered. */
enum { EXIT_OK = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2 };

#define BPF_MAX 4096
#define PROGRESS_MIN_BYTES (64ull * 1024 * 1024)
#define REPORT_OUT_BUFFER (1024u * 1024u)  /* stdio buffer of the report stream */

static const char usage_text[] =
"Usage: tlsinspect [OPTIONS] CAPTURE... [-- BPF-EXPRESSION]\n"
"       tlsinspect diff [OPTIONS] BEFORE AFTER\n"
"       tlsinspect --help | --version\n"
"\n"
"Explain failed TLS handshakes in tcpdump captures (pcap, pcapng, .gz), offline.\n"
"Several CAPTURE files are read as one capture, merged in timestamp order.\n"
"diff compares two captures, or a saved JSON report (-f json) and a capture,\n"
"per server endpoint; exit status 1 when something got worse.\n"
"\n"
"Options:\n"
"  -p, --ports LIST        TCP ports to inspect, comma-separated, or 'all' (any port\n"
"                          whose first bytes look like TLS)          [8443,6972]\n"
"      --cafile FILE       PEM (or DER) bundle of trusted CAs: the Expressway-C trust\n"
"                          store, used to verify server certificates\n"
"      --capath DIR        directory of PEM/DER CA certificates (any file names)\n"
"      --client-cafile FILE  server-side trust store (CUCM tomcat-trust) used to\n"
"                          verify client certificates in mutual TLS\n"
"      --name ADDR=NAME    expected name for server address ADDR (the connect address\n"
"                          the Expressway-C used); repeatable    [SNI, else server IP]\n"
"      --role PORT=ROLE    what a server port carries: cucm, traversal, sip,\n"
"                          edge-clients or generic; repeatable (defaults: 8443,\n"
"                          6972, 6971 cucm; 7001-7009 traversal; 5061, 5062 sip;\n"
"                          2222 ssh, not TLS; any other port generic)\n"
"      --at WHEN           verification time: capture, now, or ISO-8601 such as\n"
"                          2026-03-10T16:55:26Z                      [capture]\n"
"      --keylog FILE       NSS key log (SSLKEYLOGFILE): decrypt TLS 1.3 handshakes\n"
"                          (certificates, alerts) and, with application or\n"
"                          CLIENT_RANDOM secrets, later records up to close_notify\n"
"      --save-certs DIR    write every distinct certificate presented (server and\n"
"                          client chains) to DIR as PEM, named CN_SHA256PREFIX.pem\n"
"  -f, --format FMT        text, json or jsonl (one connection per line)   [text]\n"
"  -o, --output FILE       write the report to FILE (never over an input)  [stdout]\n"
"      --color WHEN        auto, always or never                         [auto]\n"
"  -v, --verbose           text: every connection, cipher suite and certificate field\n"
"  -q, --quiet             text: findings only, with their fix lines\n"
"      --fail-on LIST      finding ids, or error, warning, info, none, that make the\n"
"                          exit status 1                                [error]\n"
"      --max-connections N connections tracked at once               [262144]\n"
"      --max-ooo-bytes N   out-of-order bytes buffered per direction [262144]\n"
"      --max-ooo-total N   out-of-order bytes buffered in all connections\n"
"                                                                [33554432]\n"
"      --max-handshake-bytes N  largest handshake message parsed     [262144]\n"
"      --max-records N     TLS records read per connection before giving up on it\n"
"                                                                  [100000]\n"
"  -h, --help              this help\n"
"  -V, --version           version\n"
"\n"
"Exit status: 0 no finding at or above --fail-on, 1 findings (also a truncated or\n"
"damaged capture: CAPTURE_TRUNCATED), 2 usage error or unreadable input.\n"
"\n"
"Examples:\n"
"  tlsinspect --cafile trust.pem tcpdump00.pcap tcpdump01.pcap\n"
"  tlsinspect -f json -o report.json --name 10.48.36.215=cucm.steven.lab cap.pcap\n"
"  tlsinspect -p all cap.pcapng -- host 10.48.36.215\n"
"  tlsinspect diff --cafile trust.pem pre-upgrade.pcap post-upgrade.pcap\n";

enum {
    OPT_CAFILE = 256, OPT_CAPATH, OPT_CLIENT_CAFILE, OPT_NAME, OPT_AT, OPT_KEYLOG,
    OPT_COLOR, OPT_FAIL_ON, OPT_MAX_CONN, OPT_MAX_OOO, OPT_MAX_OOO_TOTAL, OPT_MAX_HS,
    OPT_MAX_RECORDS, OPT_ROLE, OPT_SAVE_CERTS
};

static const struct option long_opts[] = {
    {"ports", required_argument, NULL, 'p'},
    {"cafile", required_argument, NULL, OPT_CAFILE},
    {"capath", required_argument, NULL, OPT_CAPATH},
    {"client-cafile", required_argument, NULL, OPT_CLIENT_CAFILE},
    {"name", required_argument, NULL, OPT_NAME},
    {"at", required_argument, NULL, OPT_AT},
    {"role", required_argument, NULL, OPT_ROLE},
    {"save-certs", required_argument, NULL, OPT_SAVE_CERTS},
    {"keylog", required_argument, NULL, OPT_KEYLOG},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"color", required_argument, NULL, OPT_COLOR},
    {"colour", required_argument, NULL, OPT_COLOR},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
    {"max-ooo-bytes", required_argument, NULL, OPT_MAX_OOO},
    {"max-ooo-total", required_argument, NULL, OPT_MAX_OOO_TOTAL},
    {"max-handshake-bytes", required_argument, NULL, OPT_MAX_HS},
    {"max-records", required_argument, NULL, OPT_MAX_RECORDS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

struct fail_on {
    bool ids[FINDING_COUNT];
    int min_severity;          /* -1: none by severity */
};

struct progress {
    struct timespec start;
    bool shown;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "tlsinspect: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'tlsinspect --help' for more information.\n");
    return EXIT_USAGE;
}

static int parse_ports(const char *s, struct analyze_opts *o)
{
    char buf[512];
    char *save = NULL, *tok;

    if (strcmp(s, "all") == 0) {
        o->all_ports = true;
        o->nports = 0;
        return 0;
    }
    if (strlen(s) >= sizeof(buf))
        return -1;
    strcpy(buf, s);
    o->all_ports = false;
    o->nports = 0;
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long v;
        errno = 0;
        v = strtol(tok, &end, 10);
        if (errno != 0 || *end != '\0' || v < 1 || v > 65535 || o->nports >= FLOW_MAX_PORTS)
            return -1;
        o->ports[o->nports++] = (uint16_t)v;
    }
    return o->nports > 0 ? 0 : -1;
}

static int parse_addr(const char *s, struct conn_endpoint *e)
{
    memset(e, 0, sizeof(*e));
    if (inet_pton(AF_INET, s, e->ip) == 1) {
        e->ipver = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, e->ip) == 1) {
        e->ipver = 6;
        return 0;
    }
    return -1;
}

static int parse_name(char *s, struct analyze_opts *o)
{
    char *eq = strchr(s, '=');

    if (eq == NULL || eq[1] == '\0' || o->nnames >= ANALYZE_MAX_NAMES)
        return -1;
    *eq = '\0';
    if (parse_addr(s, &o->names[o->nnames].addr) != 0) {
        *eq = '=';
        return -1;
    }
    o->names[o->nnames].name = eq + 1;
    o->nnames++;
    return 0;
}

/* ISO-8601 as Expressway logs write it: 2022-07-11T18:55:25.910+02:00,
 * 2026-03-10T16:55:26Z, 2026-03-10 16:55:26, 2026-03-10T16:55Z, 2026-03-10.
 * Fractional seconds are accepted and dropped (verification is to the
 * second); an offset (+hh:mm, +hhmm, -hh:mm) is applied; none means UTC. */
static int parse_time(const char *s, int64_t *out)
{
    static const char *const fmts[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
                                       "%Y-%m-%d"};
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        struct tm tm;
        long off = 0;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(s, fmts[i], &tm);
        if (end == NULL)
            continue;
        if (i < 2 && *end == '.') {              /* fractional seconds */
            const char *d = ++end;
            while (*end >= '0' && *end <= '9')
                end++;
            if (end == d)
                continue;
        }
        if (*end == 'Z') {
            end++;
        } else if ((*end == '+' || *end == '-') && i < 3) {
            int sign = *end == '-' ? -1 : 1, hh, mm;
            const char *q = end + 1;
            if (!(q[0] >= '0' && q[0] <= '9' && q[1] >= '0' && q[1] <= '9'))
                continue;
            hh = (q[0] - '0') * 10 + (q[1] - '0');
            q += 2;
            if (*q == ':')
                q++;
            if (!(q[0] >= '0' && q[0] <= '9' && q[1] >= '0' && q[1] <= '9'))
                continue;
            mm = (q[0] - '0') * 10 + (q[1] - '0');
            if (hh > 23 || mm > 59)
                continue;
            off = sign * (hh * 3600L + mm * 60L);
            end = q + 2;
        }
        if (*end != '\0')
            continue;
        *out = (int64_t)timegm(&tm) - off;       /* local time minus its offset is UTC */
        return 0;
    }
    return -1;
}

static int parse_fail_on(const char *s, struct fail_on *f)
{
    char buf[1024];
    char *save = NULL, *tok;

    if (strlen(s) >= sizeof(buf))
        return -1;
    strcpy(buf, s);
    memset(f, 0, sizeof(*f));
    f->min_severity = -1;
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        int id;
        if (strcmp(tok, "none") == 0)
            continue;
        if (strcmp(tok, "error") == 0) {
            if (f->min_severity < 0 || f->min_severity > SEV_ERROR)
                f->min_severity = SEV_ERROR;
        } else if (strcmp(tok, "warning") == 0) {
            if (f->min_severity < 0 || f->min_severity > SEV_WARNING)
                f->min_severity = SEV_WARNING;
        } else if (strcmp(tok, "info") == 0) {
            f->min_severity = SEV_INFO;
        } else if ((id = finding_from_name(tok)) >= 0) {
            f->ids[id] = true;
        } else {
            return -1;
        }
    }
    return 0;
}

/* sev: the finding's own severity (ECDSA_SELECTED is info or warning by case) */
static bool fails(const struct fail_on *f, int id, enum finding_severity sev)
{
    if (id >= 0 && id < FINDING_COUNT && f->ids[id])
        return true;
    return f->min_severity >= 0 && (int)sev >= f->min_severity;
}

static int exit_status(const struct analysis *a, const struct fail_on *f)
{
    for (size_t i = 0; i < a->nglobal; i++)
        if (fails(f, a->global[i].id, finding_severity(a->global[i].id)))
            return EXIT_FINDINGS;
    for (size_t i = 0; i < a->nconns; i++)
        for (size_t j = 0; j < a->conns[i]->n_findings; j++)
            if (fails(f, a->conns[i]->findings[j].id, a->conns[i]->findings[j].severity))
                return EXIT_FINDINGS;
    return EXIT_OK;
}

static void progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    struct progress *p = ctx;
    struct timespec now;
    double secs;

    clock_gettime(CLOCK_MONOTONIC, &now);
    secs = (double)(now.tv_sec - p->start.tv_sec) + (double)(now.tv_nsec - p->start.tv_nsec) / 1e9;
    fprintf(stderr, "\rtlsinspect: %llu / %llu MB  %.1f MB/s ", (unsigned long long)(done >> 20),
            (unsigned long long)(total >> 20), secs > 0 ? (double)done / 1e6 / secs : 0.0);
    p->shown = true;
}

static bool want_progress(char *const *files, size_t n)
{
    uint64_t total = 0;
    struct stat st;

    if (!isatty(STDERR_FILENO) || getenv("CI") != NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (stat(files[i], &st) == 0)
            total += (uint64_t)st.st_size;
    return total > PROGRESS_MIN_BYTES;
}

static int parse_size(const char *s, size_t min, size_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > SIZE_MAX / 2)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* The report is written and the process ends: the kernel takes the memory
 * back at once, faster than freeing ten thousand connections and their
 * strings one by one (2% of the run on the benchmark's 1 GB capture).
 * Sanitizer builds still free everything, so LeakSanitizer keeps checking
 * that the analysis owns what it allocates. */
#if defined(__SANITIZE_ADDRESS__)
#define TI_FREE_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TI_FREE_AT_EXIT 1
#endif
#endif
static void analysis_exit_free(struct analysis *a)
{
#ifdef TI_FREE_AT_EXIT
    analysis_free(a);
#else
    (void)a;
#endif
}

static bool color_auto(FILE *out, const char *output)
{
    return output == NULL && isatty(fileno(out)) && getenv("NO_COLOR") == NULL &&
           !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
}

/* -o must not name an input: captures, trust stores, key log (outfile.h). */
static int refuse_clobber(const char *output, const struct analyze_opts *o, char *const *files,
                          size_t nfiles)
{
    struct outfile_input in[8];
    char errbuf[4200];
    size_t n = 0;

    if (output == NULL)
        return EXIT_OK;
    in[n++] = (struct outfile_input){"--cafile", o->trust.cafile, false};
    in[n++] = (struct outfile_input){"--capath", o->trust.capath, true};
    in[n++] = (struct outfile_input){"--client-cafile", o->trust.client_cafile, false};
    in[n++] = (struct outfile_input){"--keylog", o->keylog, false};
    if (outfile_check(output, in, n, errbuf, sizeof(errbuf)) != TI_OK)
        return usage_error("%s", errbuf);
    for (size_t i = 0; i < nfiles; i++) {
        struct outfile_input f = {"input", files[i], false};
        if (outfile_check(output, &f, 1, errbuf, sizeof(errbuf)) != TI_OK)
            return usage_error("%s", errbuf);
    }
    return EXIT_OK;
}

static int run_diff(struct analyze_opts *opts, const struct report_opts *ropts, char **args,
                    int nargs, const char *bpf, const char *output, const char *color)
{
    struct diff_opts dopts = {.version = TLSINSPECT_VERSION};
    char errbuf[1024] = "";
    struct outfile of = {0};
    FILE *out = stdout;
    int status;

    if (nargs != 2)
        return usage_error("%s", "diff needs two inputs: BEFORE AFTER");
    if (bpf[0] != '\0')
        return usage_error("%s", "diff takes no BPF expression");
    if (ropts->format == REPORT_JSONL)
        return usage_error("%s", "diff writes text or json, not jsonl");
    opts->now = (int64_t)time(NULL);
    if ((status = refuse_clobber(output, opts, args, 2)) != EXIT_OK)
        return status;
    if (output != NULL) {
        if (outfile_open(&of, output, errbuf, sizeof(errbuf)) != TI_OK) {
            fprintf(stderr, "tlsinspect: %s\n", errbuf);
            return EXIT_USAGE;
        }
        out = of.fp;
    }
    dopts.json = ropts->format == REPORT_JSON;
    dopts.color = ropts->color || (strcmp(color, "auto") == 0 && color_auto(out, output));
    status = diff_run(opts, args[0], args[1], &dopts, out, errbuf, sizeof(errbuf));
    if (status == EXIT_USAGE)
        fprintf(stderr, "tlsinspect: %s\n", errbuf[0] ? errbuf : "diff failed");
    if (fflush(out) != 0 || ferror(out) || status == EXIT_USAGE) {
        if (status != EXIT_USAGE)
            fprintf(stderr, "tlsinspect: writing the diff failed\n");
        outfile_abort(&of);
        return EXIT_USAGE;
    }
    if (output != NULL && outfile_commit(&of, errbuf, sizeof(errbuf)) != TI_OK) {
        fprintf(stderr, "tlsinspect: %s\n", errbuf);
        status = EXIT_USAGE;
    }
    return status;
}

int main(int argc, char **argv)
{
    static struct analyze_opts opts;   /* large: keep it off the stack */
    struct report_opts ropts = {.format = REPORT_TEXT, .version = TLSINSPECT_VERSION};
    struct fail_on fail_on;
    const char *output = NULL, *color = "auto", *save_certs = NULL;
    char bpf[BPF_MAX] = "";
    char errbuf[1024] = "";
    struct analysis *a = NULL;
    struct progress prog;
    struct outfile of = {0};
    FILE *out = stdout;
    int c, rc, status;
    int nargs;
    bool diff_mode = false;

    /* `tlsinspect diff ...`: drop the word, getopt sees the rest. */
    if (argc > 1 && strcmp(argv[1], "diff") == 0) {
        diff_mode = true;
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    nargs = argc;
    analyze_opts_default(&opts);
    parse_fail_on("error", &fail_on);

    /* Everything after a lone "--" is the BPF expression (as tcpdump takes it). */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            size_t off = 0;
            nargs = i;
            for (int j = i + 1; j < argc; j++) {
                int n = snprintf(bpf + off, sizeof(bpf) - off, "%s%s", j > i + 1 ? " " : "", argv[j]);
                if (n < 0 || (size_t)n >= sizeof(bpf) - off)
                    return usage_error("%s", "BPF expression too long");
                off += (size_t)n;
            }
            break;
        }
    }

    opterr = 0;         /* our messages: "tlsinspect: ...", not argv[0]'s path */
    while ((c = getopt_long(nargs, argv, ":p:f:o:vqhV", long_opts, NULL)) != -1) {
        size_t sz;
        switch (c) {
        case 'p':
            if (parse_ports(optarg, &opts) != 0)
                return usage_error("invalid port list '%s'", optarg);
            break;
        case OPT_CAFILE: opts.trust.cafile = optarg; break;
        case OPT_CAPATH: opts.trust.capath = optarg; break;
        case OPT_CLIENT_CAFILE: opts.trust.client_cafile = optarg; break;
        case OPT_NAME:
            if (parse_name(optarg, &opts) != 0)
                return usage_error("invalid --name '%s' (want IP=NAME)", optarg);
            break;
        case OPT_AT:
            if (strcmp(optarg, "capture") == 0)
                opts.at = AT_CAPTURE;
            else if (strcmp(optarg, "now") == 0)
                opts.at = AT_NOW;
            else if (parse_time(optarg, &opts.at_time) == 0)
                opts.at = AT_FIXED;
            else
                return usage_error("invalid --at '%s' (capture, now or ISO-8601)", optarg);
            break;
        case OPT_KEYLOG: opts.keylog = optarg; break;
        case OPT_SAVE_CERTS: save_certs = optarg; break;
        case OPT_ROLE:
            if (role_map_add(&opts.roles, optarg) != 0)
                return usage_error("invalid --role '%s' (want PORT=ROLE, ROLE one of cucm, "
                                   "traversal, sip, edge-clients, generic)", optarg);
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0)
                ropts.format = REPORT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                ropts.format = REPORT_JSON;
            else if (strcmp(optarg, "jsonl") == 0)
                ropts.format = REPORT_JSONL;
            else
                return usage_error("invalid format '%s' (text, json, jsonl)", optarg);
            break;
        case 'o': output = optarg; break;
        case OPT_COLOR:
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "always") != 0 &&
                strcmp(optarg, "never") != 0)
                return usage_error("invalid --color '%s' (auto, always, never)", optarg);
            color = optarg;
            break;
        case 'v': ropts.verbose = true; break;
        case 'q': ropts.quiet = true; break;
        case OPT_FAIL_ON:
            if (parse_fail_on(optarg, &fail_on) != 0)
                return usage_error("invalid --fail-on '%s'", optarg);
            break;
        case OPT_MAX_CONN:
            if (parse_size(optarg, 1, &sz) != 0)
                return usage_error("invalid --max-connections '%s'", optarg);
            opts.flow_limits.max_flows = sz;
            break;
        case OPT_MAX_OOO:
            if (parse_size(optarg, 0, &sz) != 0)
                return usage_error("invalid --max-ooo-bytes '%s'", optarg);
            opts.flow_limits.max_dir_bytes = sz;
            break;
        case OPT_MAX_OOO_TOTAL:
            if (parse_size(optarg, 0, &sz) != 0)
                return usage_error("invalid --max-ooo-total '%s'", optarg);
            opts.flow_limits.max_total_bytes = sz;
            break;
        case OPT_MAX_HS:
            /* a handshake message's length is 24 bits */
            if (parse_size(optarg, 1, &sz) != 0 || sz > 0xffffffu)
                return usage_error("invalid --max-handshake-bytes '%s' (1 to 16777215)", optarg);
            opts.tls_limits.max_hs_msg = sz;
            break;
        case OPT_MAX_RECORDS:
            if (parse_size(optarg, 1, &sz) != 0)
                return usage_error("invalid --max-records '%s'", optarg);
            opts.tls_limits.max_records = sz;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        case 'V':
            printf("tlsinspect %s\n", TLSINSPECT_VERSION);
            return EXIT_OK;
        case ':':
            return usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            if (optopt != 0)
                return usage_error("unknown option '-%c'", optopt);
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (strcmp(color, "always") == 0)
        ropts.color = true;
    if (diff_mode)
        return run_diff(&opts, &ropts, argv + optind, nargs - optind, bpf, output, color);
    if (optind >= nargs)
        return usage_error("%s", "no capture file given");
    if (ropts.verbose && ropts.quiet)
        return usage_error("%s", "-v and -q exclude each other");

    opts.files = argv + optind;
    opts.nfiles = (size_t)(nargs - optind);
    if ((status = refuse_clobber(output, &opts, opts.files, opts.nfiles)) != EXIT_OK)
        return status;
    opts.bpf = bpf[0] ? bpf : NULL;
    opts.now = (int64_t)time(NULL);
    if (want_progress(opts.files, opts.nfiles)) {
        clock_gettime(CLOCK_MONOTONIC, &prog.start);
        prog.shown = false;
        opts.progress = progress_cb;
        opts.progress_ctx = &prog;
    }

    rc = analyze_run(&opts, &a, errbuf, sizeof(errbuf));
    if (opts.progress != NULL && prog.shown)
        fputs("\r\033[K", stderr);
    if (rc != TI_OK) {
        fprintf(stderr, "tlsinspect: %s\n", errbuf[0] ? errbuf : ti_strerror(rc));
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < a->ninputs; i++)
        if (a->inputs[i].truncated)
            fprintf(stderr, "tlsinspect: warning: %s: %s; reporting what was read before it\n",
                    a->inputs[i].file, a->inputs[i].error ? a->inputs[i].error : "truncated");

    if (save_certs != NULL) {
        size_t nsaved;
        if (savecerts_write(a, save_certs, &nsaved, errbuf, sizeof(errbuf)) != TI_OK) {
            fprintf(stderr, "tlsinspect: %s\n", errbuf[0] ? errbuf : "--save-certs: out of memory");
            analysis_free(a);
            return EXIT_USAGE;
        }
    }
    if (output != NULL) {
        if (outfile_open(&of, output, errbuf, sizeof(errbuf)) != TI_OK) {
            fprintf(stderr, "tlsinspect: %s\n", errbuf);
            analysis_free(a);
            return EXIT_USAGE;
        }
        out = of.fp;
    }
    if (strcmp(color, "auto") == 0)
        ropts.color = color_auto(out, output);
    /* A report of a large capture is megabytes written in small pieces
     * (the text report prints line by line): one write(2) per MiB instead
     * of per 4 KiB.  Not on a terminal, where lines should appear as made. */
    if (!isatty(fileno(out)))
        (void)setvbuf(out, NULL, _IOFBF, REPORT_OUT_BUFFER);

    errno = 0;
    rc = ropts.format == REPORT_TEXT ? report_text(out, a, &ropts) : report_json(out, a, &ropts);
    status = exit_status(a, &fail_on);
    if (fflush(out) != 0 || rc != TI_OK || ferror(out)) {
        int e = errno;
        fprintf(stderr, "tlsinspect: writing the report to %s failed: %s\n",
                output != NULL ? output : "standard output",
                rc == TI_ENOMEM ? ti_strerror(rc) : e != 0 ? strerror(e) : "write error");
        outfile_abort(&of);     /* no partial report left behind */
        status = EXIT_USAGE;
    } else if (output != NULL && outfile_commit(&of, errbuf, sizeof(errbuf)) != TI_OK) {
        fprintf(stderr, "tlsinspect: writing the report: %s\n", errbuf);
        status = EXIT_USAGE;
    }
    analysis_exit_free(a);
    return status;
}
