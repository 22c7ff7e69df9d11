/* opts.c - the command-line options: one table, its parser and its documents (opts.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlsinspect/opts.h"
#include "tlsinspect/role.h"

enum {
    OPT_PORTS = 'p', OPT_FORMAT = 'f', OPT_OUTPUT = 'o', OPT_VERBOSE = 'v', OPT_QUIET = 'q',
    OPT_HELP = 'h', OPT_VERSION = 'V',
    OPT_CAFILE = 256, OPT_CAPATH, OPT_CLIENT_CAFILE, OPT_NAME, OPT_AT, OPT_KEYLOG,
    OPT_COLOR, OPT_FAIL_ON, OPT_MAX_CONN, OPT_MAX_OOO, OPT_MAX_OOO_TOTAL, OPT_MAX_HS,
    OPT_MAX_RECORDS, OPT_INTERFACE = 'i', OPT_DURATION = 300, OPT_ROLE, OPT_SAVE_CERTS,
    OPT_WRITE = 'w', OPT_ONLY = 310, OPT_CONNECTION, OPT_WRITE_KEYLOG, OPT_MAX_EXTRACT_HOLD,
    OPT_LOG = 320, OPT_LOG_WINDOW, OPT_IGNORE_OPTIONS = 330
};

#define OPTS_MAX 40                 /* getopt's table is built on the stack */

static const struct opt_def opt_table[] = {
    {"interface", 'i', "IFACE",
     "capture live on IFACE (needs root or CAP_NET_RAW) until Ctrl-C, SIGTERM or --duration, "
     "then report",
     "Capture live on IFACE through libpcap (whole packets; the BPF filter after `--` applied "
     "in the kernel) until Ctrl-C, SIGTERM or `--duration`, then report. Needs root or the "
     "CAP_NET_RAW and CAP_NET_ADMIN capabilities; without them, or without such an "
     "interface, an error and exit status 2. Packets the kernel dropped are counted in a "
     "warning. Example: `tlsinspect -i eth0 --duration 60 -- host 10.48.36.215`",
     NULL, false, OPT_INTERFACE},
    {"duration", 0, "SECONDS",
     "with -i: stop capturing after SECONDS",
     "With `-i`: stop capturing after SECONDS (fractions allowed).",
     "until stopped", false, OPT_DURATION},
    {"ports", 'p', "LIST",
     "TCP ports to inspect, comma-separated, or 'all' (any port whose first bytes look like TLS)",
     "TCP ports to inspect, comma-separated, or `all` for any TCP connection whose first "
     "bytes are TLS.",
     "8443,6972", false, OPT_PORTS},
    {"cafile", 0, "FILE",
     "PEM (or DER) bundle of trusted CAs: the Expressway-C trust store, used to verify "
     "server certificates",
     "PEM bundle (or one DER certificate) of trusted CAs: the Expressway-C trust store. "
     "Without a trust store, chains are reported `not_checked`. "
     "Example: `--cafile expressway-trust.pem`",
     NULL, false, OPT_CAFILE},
    {"capath", 0, "DIR",
     "directory of PEM/DER CA certificates (any file names)",
     "Directory of PEM or DER CA certificates with any file names; same role as `--cafile`.",
     NULL, false, OPT_CAPATH},
    {"client-cafile", 0, "FILE",
     "server-side trust store (CUCM tomcat-trust) used to verify client certificates in "
     "mutual TLS",
     "The server side's trust store (CUCM tomcat-trust), used to verify client certificates "
     "in mutual TLS.",
     NULL, false, OPT_CLIENT_CAFILE},
    {"name", 0, "ADDR=NAME",
     "expected name for server address ADDR (the connect address the Expressway-C used); "
     "repeatable",
     "Expected name for server address ADDR (the connect address the Expressway-C used). "
     "Repeatable. Example: `--name 10.48.36.215=cucm.steven.lab`",
     "the SNI if sent, else the server IP", false, OPT_NAME},
    {"role", 0, "PORT=ROLE",
     "what a server port carries: cucm, traversal, sip, edge-clients or generic; repeatable "
     "(defaults: 8443, 6972, 6971 cucm; 7001-7009 traversal; 5061, 5062 sip; 2222 ssh, not "
     "TLS; any other port generic)",
     "What server port PORT carries, which decides the wording of messages and remedies: "
     "`cucm` (Expressway-C to CUCM/IM&P/Unity: tomcat certificates, the X14.2 cipher order), "
     "`traversal` (Expressway-C to Expressway-E, mutual TLS: peer address, TLS verify subject "
     "name, intermediates on both sides), `sip` (SIP TLS), `edge-clients` (Jabber and devices "
     "to the Expressway-E: the collab-edge name in its SAN) or `generic` (no product words). "
     "Repeatable. Defaults: 8443, 6972, 6971 cucm; 7001-7009 traversal; 5061, 5062 sip; 2222 "
     "the traversal zone's SSH tunnels (not TLS: counted and named, not parsed); any other "
     "port, 443 included, generic. Example: `--role 443=edge-clients`",
     NULL, false, OPT_ROLE},
    {"at", 0, "WHEN",
     "verification time: capture, now, or ISO-8601 such as 2026-03-10T16:55:26Z or "
     "2022-07-11T18:55:25.910+02:00",
     "Verification time: `capture` (each handshake's own timestamp), `now`, or an ISO-8601 "
     "time such as `2026-03-10T16:55:26Z`, with fractional seconds and an offset as "
     "Expressway logs write them (`2022-07-11T18:55:25.910+02:00`); no offset means UTC.",
     "capture", false, OPT_AT},
    {"keylog", 0, "FILE",
     "NSS key log (SSLKEYLOGFILE): decrypt TLS 1.3 handshakes (certificates, alerts) and, "
     "with application or CLIENT_RANDOM secrets, later records up to close_notify",
     "NSS key log (SSLKEYLOGFILE): each connection's secrets, found by its ClientHello "
     "random, decrypt its TLS 1.3 EncryptedExtensions, CertificateRequest, Certificate, "
     "CertificateVerify, Finished and alerts, so certificates are verified as in TLS 1.2; "
     "with application secrets (TLS 1.3) or CLIENT_RANDOM lines (TLS 1.0-1.2) records "
     "after the handshake are opened until close_notify so late alerts are read. Bad lines "
     "are warnings naming their line number. Example: `--keylog sslkeys.log`",
     NULL, false, OPT_KEYLOG},
    {"log", 0, "FILE",
     "traffic_server log (plain or .gz) to correlate with the connections; repeatable",
     "A traffic_server log (plain or gzip-compressed) to correlate with the connections; "
     "repeatable. Lines read: certificate verification failures (`Action=Terminate` or "
     "`Action:Terminate`), `SSL connection failed`, `SNI (...) not in certificate`, and "
     "HTTPMSG requests whose first URL path segment is the base64 connect address "
     "(domain/protocol/host/port). Wrapped lines are joined; other lines are counted. "
     "Logs inside a bundle are read without it. Example: `--log loggingsnapshot_vcsc.txt`",
     "logs in bundles", false, OPT_LOG},
    {"log-window", 0, "SECONDS",
     "how far in time a log line may be from its connection",
     "How far in time a log line may be from the connection it is attached to.",
     "2", false, OPT_LOG_WINDOW},
    {"save-certs", 0, "DIR",
     "write every distinct certificate presented (server and client chains) to DIR as PEM, "
     "named CN_SHA256PREFIX.pem",
     "Write every distinct certificate presented (server and client chains of the reported "
     "connections) to DIR (created if missing) as PEM, one file each, named by its CN and the "
     "first 16 hex digits of its SHA-256, ready to upload to a trust store. "
     "Example: `--save-certs certs/`",
     NULL, false, OPT_SAVE_CERTS},
    {"format", 'f', "FMT",
     "text, json, jsonl (one connection per line) or html (one page; also for diff)",
     "`text`, `json` (one document, indented by two spaces, with each object whose members "
     "are all scalars, such as a cipher suite, an endpoint, an alert or a finding, on one "
     "line), `jsonl` (one compact connection object per line) or `html` (one self-contained "
     "page: inline CSS and SVG ladders, nothing loaded from elsewhere; also for `diff`). "
     "Example: `-f html -o report.html`",
     "text", false, OPT_FORMAT},
    {"output", 'o', "FILE",
     "write the report to FILE (never over an input)",
     "Write the report to FILE instead of standard output. The report goes to a temporary "
     "file in the same directory, renamed over FILE when complete, so a failed run never "
     "leaves half a report. FILE must not be one of the inputs (a capture, `--cafile`, "
     "`--client-cafile`, a file in `--capath`, `--keylog`; hard and symbolic links count): "
     "that is a usage error (exit status 2).",
     "stdout", false, OPT_OUTPUT},
    {"color", 0, "WHEN",
     "auto, always or never",
     "`auto` (colour only on a terminal, not with NO_COLOR set), `always` or `never`. "
     "`--colour` is the same option.",
     "auto", false, OPT_COLOR},
    {"colour", 0, "WHEN", "", "", NULL, true, OPT_COLOR},
    {"verbose", 'v', NULL,
     "text: every connection, cipher suite and certificate field",
     "Text: every connection, every cipher suite and certificate field; identical "
     "connections are not folded.",
     NULL, false, OPT_VERBOSE},
    {"quiet", 'q', NULL,
     "text: findings only, with their fix lines",
     "Text: findings only, one line each, with its fix line.",
     NULL, false, OPT_QUIET},
    {"fail-on", 0, "LIST",
     "finding ids, or error, warning, info, none, that make the exit status 1",
     "Finding ids, or `error`, `warning`, `info`, `none`, that make the exit status 1. "
     "Example: `--fail-on UNKNOWN_CA_ALERT,ECDSA_SELECTED`",
     "error", false, OPT_FAIL_ON},
    {"ignore-options", 0, NULL,
     "diff: compare even when the two sides were judged with different trust stores, "
     "--name or --at",
     "`diff` only. Each JSON report records the options its verdicts depend on (`options`: "
     "trust stores by SHA-256, `--name`, `--at`). When BEFORE and AFTER differ there, "
     "`diff` compares nothing: it prints \"not comparable: verification options differ\" "
     "with one line per option and exits with status 2. With this option it compares "
     "anyway and says in a note what differs. A report without `options` (an older "
     "tlsinspect) is compared with a warning.",
     NULL, false, OPT_IGNORE_OPTIONS},
    {"max-connections", 0, "N",
     "connections tracked at once",
     "Connections tracked at once; beyond it the least recently active one is evicted "
     "(counted, `LIMIT_REACHED`).",
     "262144", false, OPT_MAX_CONN},
    {"max-ooo-bytes", 0, "N",
     "out-of-order bytes buffered per direction",
     "Out-of-order bytes buffered per direction before a hole is given up.",
     "262144", false, OPT_MAX_OOO},
    {"max-ooo-total", 0, "N",
     "memory for out-of-order data in all connections, headers included; beyond it "
     "segments are dropped",
     "Memory for out-of-order data in all connections together, each queued segment's "
     "header and allocation rounding included; a segment that does not fit is dropped as "
     "if not captured (a gap when its connection gets there; counted, `LIMIT_REACHED`).",
     "16777216", false, OPT_MAX_OOO_TOTAL},
    {"max-handshake-bytes", 0, "N",
     "largest handshake message parsed (1 to 16777215)",
     "Largest handshake message parsed, 1 to 16777215; a larger one stops that connection's "
     "parse (`LIMIT_REACHED`).",
     "262144", false, OPT_MAX_HS},
    {"max-records", 0, "N",
     "TLS records read per connection before giving up on it",
     "TLS records read per connection before giving up on it (`LIMIT_REACHED`).",
     "100000", false, OPT_MAX_RECORDS},
    {"write", 'w', "OUT",
     "write the inspected handshakes' packets to OUT (pcap, or pcapng when OUT ends in "
     ".pcapng): a small capture that gives the same report",
     "Write to OUT (pcap, or pcapng when OUT ends in `.pcapng`) the packets the inspected "
     "connections' handshakes need: SYN, SYN-ACK and its ACK, every packet the TLS parser "
     "read until the handshake was decided (hellos, certificates, CCS, alerts), then the "
     "first application data packet each way, later handshake, CCS and alert records, "
     "packets cut by the snaplen, FIN and RST, with their original timestamps and link type. "
     "Bulk application data and pure ACKs are dropped. Analysing OUT gives the same report "
     "but for packet and byte counts, the time span and `CAPTURE_TRUNCATED`. A pcapng "
     "extract carries the section comment \"tlsinspect extract\" and its report says so "
     "(`\"extract\": true` in `inputs`). Inputs of different link types are refused; OUT "
     "must not be an input. See docs/extract.md. Example: `-w case.pcap -f json -o "
     "case.json big.pcap`",
     NULL, false, OPT_WRITE},
    {"only", 0, "WHICH",
     "-w: all, failed or findings connections",
     "With `-w`: write `all` connections, the `failed` ones (outcome failed or incomplete), "
     "or those with `findings`.",
     "all", false, OPT_ONLY},
    {"connection", 0, "IP:PORT",
     "-w: only connections with this client or server endpoint ([IPv6]:PORT); repeatable",
     "With `-w`: only connections with this client or server endpoint (`[IPv6]:PORT` for "
     "IPv6). Repeatable.",
     NULL, false, OPT_CONNECTION},
    {"write-keylog", 0, "FILE",
     "-w: the --keylog lines of the written connections",
     "With `-w` and `--keylog`: write the key log lines whose client random belongs to a "
     "written connection, so a TLS 1.3 extract stays decryptable and no other secret leaks.",
     NULL, false, OPT_WRITE_KEYLOG},
    {"max-extract-hold", 0, "N",
     "-w: bytes of packets held while handshakes are undecided",
     "With `-w`: bytes of packets held in memory while handshakes are undecided (packets of "
     "later connections wait behind an undecided one, to keep the extract in time order). "
     "Beyond it the oldest held connection is decided at once, with a warning.",
     "67108864", false, OPT_MAX_EXTRACT_HOLD},
    {"help", 'h', NULL, "this help", "Print the usage and exit.", NULL, false, OPT_HELP},
    {"version", 'V', NULL, "version", "Print the version and exit.", NULL, false, OPT_VERSION},
};

#define OPT_COUNT (sizeof(opt_table) / sizeof(opt_table[0]))
_Static_assert(OPT_COUNT < OPTS_MAX, "getopt's table has room for every option");

const struct opt_def *opts_table(size_t *n)
{
    *n = OPT_COUNT;
    return opt_table;
}

static const char usage_head[] =
    "Usage: tlsinspect [OPTIONS] CAPTURE|BUNDLE... [-- BPF-EXPRESSION]\n"
    "       tlsinspect [OPTIONS] -i IFACE [--duration SECONDS] [-- BPF-EXPRESSION]\n"
    "       tlsinspect diff [OPTIONS] BEFORE AFTER\n"
    "       tlsinspect --help | --version\n"
    "\n"
    "Explain failed TLS handshakes in tcpdump captures (pcap, pcapng, .gz), offline.\n"
    "Several CAPTURE files are read as one capture, merged in timestamp order;\n"
    "'-' is standard input (tcpdump -w - ... | tlsinspect -).\n"
    "A BUNDLE is an Expressway diagnostic log bundle (.tar.gz, .tar or an extracted\n"
    "directory, one per cluster node): its captures and traffic_server logs are\n"
    "found by content and read in place.\n"
    "diff compares two captures, or a saved JSON report (-f json) and a capture,\n"
    "per server endpoint; exit status 1 when something got worse, 2 when the sides\n"
    "were judged with different trust stores, --name or --at (not comparable).\n"
    "\n"
    "Options:\n";

static const char usage_tail[] =
    "\n"
    "Exit status: 0 no finding at or above --fail-on, 1 findings (also a truncated\n"
    "or damaged capture: CAPTURE_TRUNCATED), 2 usage error or unreadable input.\n"
    "\n"
    "Examples:\n"
    "  tlsinspect --cafile trust.pem diagnostic_log_vcsc_2026-03-10.tar.gz\n"
    "  tlsinspect --cafile trust.pem tcpdump00.pcap tcpdump01.pcap\n"
    "  tlsinspect -f json -o r.json --name 10.48.36.215=cucm.steven.lab cap.pcap\n"
    "  tlsinspect -p all cap.pcapng -- host 10.48.36.215\n"
    "  ssh expc tcpdump -s0 -w - port 6972 | tlsinspect --cafile trust.pem -\n"
    "  tlsinspect -i eth0 --duration 60 -- host 10.48.36.215\n"
    "  tlsinspect diff --cafile trust.pem pre-upgrade.pcap post-upgrade.pcap\n"
    "  tlsinspect -w case.pcap -f json -o case.json big.pcap     (a fixture, now)\n"
    "  tlsinspect diff case.json case.pcap                         (later)\n";

/* ---- documents -------------------------------------------------------------------- */

#define HELP_WIDTH 79
#define HELP_COL 26                 /* where descriptions start */

/* "-p, --ports LIST" or "    --cafile FILE" */
static int help_lead(FILE *out, const struct opt_def *o)
{
    if (o->short_name != 0)
        return fprintf(out, "  -%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
                       o->arg ? o->arg : "");
    return fprintf(out, "      --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

/* text word by word from column col, lines up to HELP_WIDTH, continued at HELP_COL. */
static int help_words(FILE *out, const char *text, int col)
{
    const char *p = text;

    while (*p != '\0') {
        size_t n = strcspn(p, " ");

        if (col + 1 + (int)n > HELP_WIDTH && col > HELP_COL) {
            fprintf(out, "\n%*s", HELP_COL, "");
            col = HELP_COL;
        } else if (col > HELP_COL) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, n, out);
        col += (int)n;
        p += n;
        p += strspn(p, " ");
    }
    return col;
}

void opts_help(FILE *out)
{
    fputs(usage_head, out);
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *o = &opt_table[i];
        int col;

        if (o->hidden)
            continue;
        col = help_lead(out, o);
        if (col + 1 >= HELP_COL) {
            fprintf(out, "\n%*s", HELP_COL - 1, "");
            col = HELP_COL - 1;
        } else {
            fprintf(out, "%*s", HELP_COL - 1 - col, "");
            col = HELP_COL - 1;
        }
        fputc(' ', out);
        col = help_words(out, o->help, col + 1);
        if (o->deflt != NULL) {
            int w = (int)strlen(o->deflt) + 2;

            if (col + 2 + w > HELP_WIDTH)
                fprintf(out, "\n%*s", HELP_WIDTH - w, "");
            else
                fprintf(out, "%*s", HELP_WIDTH - w - col, "");
            fprintf(out, "[%s]", o->deflt);
        }
        fputc('\n', out);
    }
    fputs(usage_tail, out);
}

/* roff text: `literal` in bold, '-' and '\' escaped inside it and out. */
static void man_text(FILE *out, const char *s)
{
    bool lit = false;

    for (; *s != '\0'; s++) {
        if (*s == '`') {
            fputs(lit ? "\\fR" : "\\fB", out);
            lit = !lit;
        } else if (*s == '-' && lit) {
            fputs("\\-", out);
        } else if (*s == '\\') {
            fputs("\\e", out);
        } else {
            fputc(*s, out);
        }
    }
}

static void man_name(FILE *out, const char *name)
{
    for (; *name != '\0'; name++) {
        if (*name == '-')
            fputs("\\-", out);
        else
            fputc(*name, out);
    }
}

/* The description, its default before the example if it has one. */
static void man_doc(FILE *out, const struct opt_def *o)
{
    const char *ex = strstr(o->doc, " Example: ");
    size_t n = ex != NULL ? (size_t)(ex - o->doc) : strlen(o->doc);
    char *head = strndup(o->doc, n);

    man_text(out, head != NULL ? head : o->doc);
    if (o->deflt != NULL)
        fprintf(out, "\nDefault: %s.", o->deflt);
    if (ex != NULL && head != NULL) {
        fputc('\n', out);
        man_text(out, ex + 1);
    }
    fputc('\n', out);
    free(head);
}

void opts_man(FILE *out)
{
    fputs(".SH OPTIONS\n", out);
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *o = &opt_table[i];

        if (o->hidden)
            continue;
        fputs(".TP\n", out);
        if (o->short_name != 0) {
            fprintf(out, ".BR \\-%c \", \" \\-\\-", o->short_name);
            man_name(out, o->name);
            if (o->arg != NULL)
                fprintf(out, " \" \" \\fI%s\\fR", o->arg);
        } else {
            fputs(o->arg != NULL ? ".BI \\-\\-" : ".B \\-\\-", out);
            man_name(out, o->name);
            if (o->arg != NULL)
                fprintf(out, " \" %s\"", o->arg);
        }
        fputc('\n', out);
        man_doc(out, o);
    }
}

/* Markdown table cell text: '|' would end the cell. */
static void md_cell(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
}

void opts_readme(FILE *out)
{
    fputs("| option | meaning | default |\n|---|---|---|\n", out);
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *o = &opt_table[i];

        if (o->hidden)
            continue;
        fputs("| `", out);
        if (o->short_name != 0)
            fprintf(out, "-%c, ", o->short_name);
        fprintf(out, "--%s%s%s` | ", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        md_cell(out, o->help);
        fputs(" |", out);
        if (o->deflt != NULL) {
            fputc(' ', out);
            md_cell(out, o->deflt);
        }
        fputs(" |\n", out);
    }
}

/* ---- parsing ---------------------------------------------------------------------- */

int opts_usage_error(const char *fmt, ...)
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

/* IP:PORT or [IPv6]:PORT (--connection). */
static int parse_endpoint(const char *s, struct conn_endpoint *e)
{
    char buf[64];
    const char *colon = strrchr(s, ':');
    size_t n;
    char *end;
    long port;

    if (colon == NULL || (size_t)(colon - s) >= sizeof(buf))
        return -1;
    n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
    } else {
        memcpy(buf, s, n);
        buf[n] = '\0';
    }
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || port < 1 || port > 65535 ||
        parse_addr(buf, e) != 0)
        return -1;
    e->port = (uint16_t)port;
    return 0;
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

/* "+hh:mm", "+hhmm" or "-hh:mm" at p: the offset in seconds east of UTC,
 * *end past it; -1 when p is not one. */
static int parse_offset(const char *p, long *off, const char **end)
{
    int sign = *p == '-' ? -1 : 1, hh, mm;
    const char *q = p + 1;

    if (!(q[0] >= '0' && q[0] <= '9' && q[1] >= '0' && q[1] <= '9'))
        return -1;
    hh = (q[0] - '0') * 10 + (q[1] - '0');
    q += 2;
    if (*q == ':')
        q++;
    if (!(q[0] >= '0' && q[0] <= '9' && q[1] >= '0' && q[1] <= '9'))
        return -1;
    mm = (q[0] - '0') * 10 + (q[1] - '0');
    if (hh > 23 || mm > 59)
        return -1;
    *off = sign * (hh * 3600L + mm * 60L);
    *end = q + 2;
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
        if (*end == 'Z')
            end++;
        else if ((*end == '+' || *end == '-') && i < 3 && parse_offset(end, &off, &end) != 0)
            continue;
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

bool fail_on_matches(const struct fail_on *f, int id, enum finding_severity sev)
{
    if (id >= 0 && id < FINDING_COUNT && f->ids[id])
        return true;
    return f->min_severity >= 0 && (int)sev >= f->min_severity;
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

/* Everything after a lone "--" is the BPF expression (as tcpdump takes
 * it): joined into cli->bpf; the arguments before it are counted in *nargs. */
static int split_bpf(int argc, char **argv, struct cli *cli, int *nargs)
{
    *nargs = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") != 0)
            continue;
        size_t off = 0;
        *nargs = i;
        for (int j = i + 1; j < argc; j++) {
            int n = snprintf(cli->bpf + off, sizeof(cli->bpf) - off, "%s%s", j > i + 1 ? " " : "",
                             argv[j]);
            if (n < 0 || (size_t)n >= sizeof(cli->bpf) - off)
                return opts_usage_error("%s", "BPF expression too long");
            off += (size_t)n;
        }
        break;
    }
    return EXIT_OK;
}

/* The limits: a number each, with its own range. */
static int parse_limit(int id, const char *arg, struct analyze_opts *a)
{
    size_t sz;

    switch (id) {
    case OPT_MAX_CONN:
        if (parse_size(arg, 1, &sz) != 0)
            return opts_usage_error("invalid --max-connections '%s'", arg);
        a->flow_limits.max_flows = sz;
        break;
    case OPT_MAX_OOO:
        if (parse_size(arg, 0, &sz) != 0)
            return opts_usage_error("invalid --max-ooo-bytes '%s'", arg);
        a->flow_limits.max_dir_bytes = sz;
        break;
    case OPT_MAX_OOO_TOTAL:
        if (parse_size(arg, 0, &sz) != 0)
            return opts_usage_error("invalid --max-ooo-total '%s'", arg);
        a->flow_limits.max_total_bytes = sz;
        break;
    case OPT_MAX_HS:
        /* a handshake message's length is 24 bits */
        if (parse_size(arg, 1, &sz) != 0 || sz > 0xffffffu)
            return opts_usage_error("invalid --max-handshake-bytes '%s' (1 to 16777215)", arg);
        a->tls_limits.max_hs_msg = sz;
        break;
    default:                        /* OPT_MAX_RECORDS */
        if (parse_size(arg, 1, &sz) != 0)
            return opts_usage_error("invalid --max-records '%s'", arg);
        a->tls_limits.max_records = sz;
        break;
    }
    return EXIT_OK;
}

static int parse_duration(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    /* up to a year: the monotonic deadline stays far from overflow */
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > 366.0 * 86400)
        return -1;
    *out = v;
    return 0;
}

static int parse_log_window(const char *s, int64_t *out_us)
{
    char *end;
    double w;

    errno = 0;
    w = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(w >= 0 && w <= 86400))
        return -1;
    *out_us = (int64_t)(w * 1e6);
    return 0;
}

/* Options of the analysis (what is read and how it is judged). */
static int parse_analysis_opt(int id, char *arg, struct analyze_opts *a)
{
    switch (id) {
    case OPT_PORTS:
        if (parse_ports(arg, a) != 0)
            return opts_usage_error("invalid port list '%s'", arg);
        break;
    case OPT_CAFILE: a->trust.cafile = arg; break;
    case OPT_CAPATH: a->trust.capath = arg; break;
    case OPT_CLIENT_CAFILE: a->trust.client_cafile = arg; break;
    case OPT_NAME:
        if (parse_name(arg, a) != 0)
            return opts_usage_error("invalid --name '%s' (want IP=NAME)", arg);
        break;
    case OPT_AT:
        if (strcmp(arg, "capture") == 0)
            a->at = AT_CAPTURE;
        else if (strcmp(arg, "now") == 0)
            a->at = AT_NOW;
        else if (parse_time(arg, &a->at_time) == 0)
            a->at = AT_FIXED;
        else
            return opts_usage_error("invalid --at '%s' (capture, now or ISO-8601)", arg);
        break;
    case OPT_KEYLOG: a->keylog = arg; break;
    case OPT_LOG:
        if (a->nlogs >= ANALYZE_MAX_LOGS)
            return opts_usage_error("more than %d --log files", ANALYZE_MAX_LOGS);
        a->logs[a->nlogs++] = arg;
        break;
    case OPT_LOG_WINDOW:
        if (parse_log_window(arg, &a->log_window_us) != 0)
            return opts_usage_error("invalid --log-window '%s' (seconds, 0 to 86400)", arg);
        break;
    case OPT_ROLE:
        if (role_map_add(&a->roles, arg) != 0)
            return opts_usage_error("invalid --role '%s' (want PORT=ROLE, ROLE one of cucm, "
                                    "traversal, sip, edge-clients, generic)", arg);
        break;
    case OPT_INTERFACE: a->iface = arg; break;
    case OPT_DURATION:
        if (parse_duration(arg, &a->duration) != 0)
            return opts_usage_error("invalid --duration '%s' (seconds, more than 0)", arg);
        break;
    default:
        return parse_limit(id, arg, a);
    }
    return EXIT_OK;
}

/* Options of the output (the report, the exit status). */
static int parse_output_opt(int id, char *arg, struct cli *cli)
{
    switch (id) {
    case OPT_FORMAT:
        if (strcmp(arg, "text") == 0)
            cli->report.format = REPORT_TEXT;
        else if (strcmp(arg, "json") == 0)
            cli->report.format = REPORT_JSON;
        else if (strcmp(arg, "jsonl") == 0)
            cli->report.format = REPORT_JSONL;
        else if (strcmp(arg, "html") == 0)
            cli->report.format = REPORT_HTML;
        else
            return opts_usage_error("invalid format '%s' (text, json, jsonl, html)", arg);
        break;
    case OPT_OUTPUT: cli->output = arg; break;
    case OPT_SAVE_CERTS: cli->save_certs = arg; break;
    case OPT_COLOR:
        if (strcmp(arg, "auto") != 0 && strcmp(arg, "always") != 0 && strcmp(arg, "never") != 0)
            return opts_usage_error("invalid --color '%s' (auto, always, never)", arg);
        cli->color = arg;
        break;
    case OPT_VERBOSE: cli->report.verbose = true; break;
    case OPT_QUIET: cli->report.quiet = true; break;
    case OPT_IGNORE_OPTIONS: cli->ignore_options = true; break;
    case OPT_FAIL_ON:
        if (parse_fail_on(arg, &cli->fail_on) != 0)
            return opts_usage_error("invalid --fail-on '%s'", arg);
        break;
    }
    return EXIT_OK;
}

/* -w and its options. */
static int parse_extract_opt(int id, char *arg, struct extract_opts *x)
{
    size_t sz;

    switch (id) {
    case OPT_WRITE: x->path = arg; break;
    case OPT_ONLY:
        if (extract_only_parse(arg, &x->only) != 0)
            return opts_usage_error("invalid --only '%s' (all, failed, findings)", arg);
        break;
    case OPT_CONNECTION:
        if (x->nendpoints >= EXTRACT_MAX_ENDPOINTS ||
            parse_endpoint(arg, &x->endpoints[x->nendpoints]) != 0)
            return opts_usage_error("invalid --connection '%s' (want IP:PORT, at most %d)", arg,
                                    EXTRACT_MAX_ENDPOINTS);
        x->nendpoints++;
        break;
    case OPT_WRITE_KEYLOG: x->keylog_out = arg; break;
    default:                        /* OPT_MAX_EXTRACT_HOLD */
        if (parse_size(arg, 0, &sz) != 0)
            return opts_usage_error("invalid --max-extract-hold '%s'", arg);
        x->max_held_bytes = sz;
        break;
    }
    return EXIT_OK;
}

static bool is_extract_opt(int id)
{
    return id == OPT_WRITE || id == OPT_ONLY || id == OPT_CONNECTION || id == OPT_WRITE_KEYLOG ||
           id == OPT_MAX_EXTRACT_HOLD;
}

/* After parsing: -w's options need -w, and -w writes over nothing it reads. */
static int check_extract(struct analyze_opts *a, struct cli *cli, bool extract_opt)
{
    const struct extract_opts *x = &cli->extract;

    if (x->path == NULL) {
        if (extract_opt)
            return opts_usage_error("%s", "--only, --connection, --write-keylog and "
                                    "--max-extract-hold need -w OUT");
        return EXIT_OK;
    }
    if (cli->diff)
        return opts_usage_error("%s", "diff writes no extract (-w)");
    if (x->keylog_out != NULL && a->keylog == NULL)
        return opts_usage_error("%s", "--write-keylog needs --keylog (the lines are taken from it)");
    if ((cli->output != NULL && strcmp(cli->output, x->path) == 0) ||
        (x->keylog_out != NULL && strcmp(x->keylog_out, x->path) == 0))
        return opts_usage_error("-w %s is also the report or key log file", x->path);
    a->extract = x;
    return EXIT_OK;
}

static bool is_output_opt(int id)
{
    return id == OPT_FORMAT || id == OPT_OUTPUT || id == OPT_COLOR || id == OPT_VERBOSE ||
           id == OPT_QUIET || id == OPT_FAIL_ON || id == OPT_SAVE_CERTS || id == OPT_IGNORE_OPTIONS;
}

/* getopt_long's tables from opt_table. */
static void getopt_tables(struct option *longs, char *shorts)
{
    size_t k = 0;

    shorts[k++] = ':';              /* a missing argument is ':', not '?' */
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *o = &opt_table[i];

        longs[i] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->id};
        if (o->short_name != 0) {
            shorts[k++] = o->short_name;
            if (o->arg != NULL)
                shorts[k++] = ':';
        }
    }
    longs[OPT_COUNT] = (struct option){NULL, 0, NULL, 0};
    shorts[k] = '\0';
}

int opts_parse(int argc, char **argv, struct analyze_opts *a, struct cli *cli)
{
    struct option longs[OPTS_MAX];
    char shorts[2 * OPTS_MAX + 2];
    int c, rc, nargs;
    bool extract_opt = false;       /* an option that needs -w */

    memset(cli, 0, sizeof(*cli));
    extract_opts_default(&cli->extract);
    cli->report = (struct report_opts){.format = REPORT_TEXT};
    cli->color = "auto";
    parse_fail_on("error", &cli->fail_on);
    analyze_opts_default(a);
    /* `tlsinspect diff ...`: drop the word, getopt sees the rest. */
    if (argc > 1 && strcmp(argv[1], "diff") == 0) {
        cli->diff = true;
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if ((rc = split_bpf(argc, argv, cli, &nargs)) != EXIT_OK)
        return rc;
    getopt_tables(longs, shorts);
    optind = 0;                     /* glibc: start afresh (a second parse, in tests) */
    opterr = 0;                     /* our messages: "tlsinspect: ...", not argv[0]'s path */
    while ((c = getopt_long(nargs, argv, shorts, longs, NULL)) != -1) {
        if (c == OPT_HELP || c == OPT_VERSION) {
            cli->action = c == OPT_HELP ? CLI_HELP : CLI_VERSION;
            return EXIT_OK;
        }
        if (c == ':')
            return opts_usage_error("option '%s' needs an argument", argv[optind - 1]);
        if (c == '?' && optopt != 0)
            return opts_usage_error("unknown option '-%c'", optopt);
        if (c == '?')
            return opts_usage_error("unknown option '%s'", argv[optind - 1]);
        if (is_extract_opt(c)) {
            extract_opt |= c != OPT_WRITE;
            rc = parse_extract_opt(c, optarg, &cli->extract);
        } else {
            rc = is_output_opt(c) ? parse_output_opt(c, optarg, cli)
                                  : parse_analysis_opt(c, optarg, a);
        }
        if (rc != EXIT_OK)
            return rc;
    }
    if ((rc = check_extract(a, cli, extract_opt)) != EXIT_OK)
        return rc;
    if (cli->ignore_options && !cli->diff)
        return opts_usage_error("%s", "--ignore-options is for diff");
    if (strcmp(cli->color, "always") == 0)
        cli->report.color = true;
    cli->args = argv + optind;
    cli->nargs = nargs - optind;
    return EXIT_OK;
}
