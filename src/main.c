/* main.c - command line, exit status, progress line: the only place with process-wide state. */
#include <errno.h>
#include <signal.h>
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
#include "tlsinspect/opts.h"
#include "tlsinspect/outfile.h"
#include "tlsinspect/report.h"
#include "tlsinspect/report_html.h"
#include "tlsinspect/savecerts.h"
#include "tlsinspect/sink.h"
#include "tlsinspect/textagg.h"

#ifndef TLSINSPECT_VERSION
#define TLSINSPECT_VERSION "0.0.0"
#endif

#define PROGRESS_MIN_BYTES (64ull * 1024 * 1024)
#define REPORT_OUT_BUFFER (1024u * 1024u)  /* stdio buffer of the report stream */

struct progress {
    struct timespec start;
    bool shown;
};

/* ---- live capture and standard input: Ctrl-C ends the input, not the run ---- */

/* Set by SIGINT/SIGTERM; the capture polls it (through analyze_opts.stop)
 * and ends as if the input had, so the report still gets written. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* No SA_RESTART: a read blocked on standard input returns (EINTR) and the
 * input ends there.  SA_RESETHAND: a second Ctrl-C kills as usual. */
static void catch_stop_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* -i and "-" (standard input): what the command line may not combine; the
 * stop flag for both.  EXIT_OK or EXIT_USAGE after a message. */
static int check_inputs(struct analyze_opts *opts, const struct cli *cli)
{
    int nstdin = 0;

    if (opts->iface != NULL && cli->nargs > 0)
        return opts_usage_error("-i captures live: no capture file as well ('%s')", cli->args[0]);
    if (opts->iface == NULL && opts->duration > 0)
        return opts_usage_error("%s", "--duration goes with -i");
    if (opts->iface == NULL && cli->nargs < 1)
        return opts_usage_error("%s", "no capture file given");
    for (int i = 0; i < cli->nargs; i++)
        nstdin += strcmp(cli->args[i], "-") == 0;
    if (nstdin > 1)
        return opts_usage_error("%s", "standard input (-) can be read only once");
    if (nstdin > 0 || opts->iface != NULL) {
        catch_stop_signals();
        opts->stop = &stop_requested;
    }
    return EXIT_OK;
}

static int exit_status(const struct analysis *a, const struct fail_on *f)
{
    for (size_t i = 0; i < a->nglobal; i++)
        if (fail_on_matches(f, a->global[i].id, finding_severity(a->global[i].id)))
            return EXIT_FINDINGS;
    for (int id = 0; id < FINDING_COUNT; id++)      /* tallies: the conns may be gone */
        for (int sev = SEV_INFO; sev <= SEV_ERROR; sev++)
            if (a->finding_conns[id][sev] > 0 && fail_on_matches(f, id, (enum finding_severity)sev))
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

/* The report is written and the process ends: the kernel takes the memory
 * back at once, faster than freeing ten thousand connections and their
 * strings one by one.
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
        return opts_usage_error("%s", errbuf);
    for (size_t i = 0; i < nfiles; i++) {
        struct outfile_input f = {"input", files[i], false};
        if (outfile_check(output, &f, 1, errbuf, sizeof(errbuf)) != TI_OK)
            return opts_usage_error("%s", errbuf);
    }
    return EXIT_OK;
}

/* After the diff or report is written: flush, and rename the temporary
 * file into place (or remove it when anything failed).  The status. */
static int finish_output(struct outfile *of, FILE *out, const char *output, int status,
                         bool failed)
{
    char errbuf[1024];

    if (failed || fflush(out) != 0 || ferror(out)) {
        outfile_abort(of);          /* no partial output left behind */
        return EXIT_USAGE;
    }
    if (output != NULL && outfile_commit(of, errbuf, sizeof(errbuf)) != TI_OK) {
        fprintf(stderr, "tlsinspect: writing %s: %s\n", output, errbuf);
        return EXIT_USAGE;
    }
    return status;
}

static int run_diff(struct analyze_opts *opts, const struct cli *cli)
{
    struct diff_opts dopts = {.version = TLSINSPECT_VERSION};
    char errbuf[1024] = "";
    struct outfile of = {0};
    FILE *out = stdout;
    int status;

    if (cli->nargs != 2)
        return opts_usage_error("%s", "diff needs two inputs: BEFORE AFTER");
    if (opts->iface != NULL)
        return opts_usage_error("%s", "diff reads files, not -i");
    if (strcmp(cli->args[0], "-") == 0 || strcmp(cli->args[1], "-") == 0)
        return opts_usage_error("%s", "diff reads each input twice (report or capture?): "
                                "save standard input to a file first");
    if (cli->bpf[0] != '\0')
        return opts_usage_error("%s", "diff takes no BPF expression");
    if (cli->report.format == REPORT_JSONL)
        return opts_usage_error("%s", "diff writes text, json or html, not jsonl");
    opts->now = (int64_t)time(NULL);
    if ((status = refuse_clobber(cli->output, opts, cli->args, 2)) != EXIT_OK)
        return status;
    if (cli->output != NULL) {
        if (outfile_open(&of, cli->output, errbuf, sizeof(errbuf)) != TI_OK) {
            fprintf(stderr, "tlsinspect: %s\n", errbuf);
            return EXIT_USAGE;
        }
        out = of.fp;
    }
    dopts.json = cli->report.format == REPORT_JSON;
    dopts.ignore_options = cli->ignore_options;
    dopts.html = cli->report.format == REPORT_HTML;
    dopts.color = cli->report.color ||
                  (strcmp(cli->color, "auto") == 0 && color_auto(out, cli->output));
    status = diff_run(opts, cli->args[0], cli->args[1], &dopts, out, errbuf, sizeof(errbuf));
    if (status == DIFF_NOT_COMPARABLE) {
        /* the output says what differs: kept, and the exit status is 2 */
        fprintf(stderr, "tlsinspect: %s\n", errbuf);
        return finish_output(&of, out, cli->output, EXIT_USAGE, false);
    }
    if (status == EXIT_USAGE)
        fprintf(stderr, "tlsinspect: %s\n", errbuf[0] ? errbuf : "diff failed");
    if (status != EXIT_USAGE && (fflush(out) != 0 || ferror(out)))
        fprintf(stderr, "tlsinspect: writing the diff failed\n");
    return finish_output(&of, out, cli->output, status, status == EXIT_USAGE);
}

/* The analysis of the captures in cli, with a progress line on a terminal
 * for large ones; NULL after a message. */
static struct analysis *run_analysis(struct analyze_opts *opts, const struct cli *cli)
{
    struct analysis *a = NULL;
    struct progress prog;
    char errbuf[1024] = "";
    int rc;

    opts->files = cli->args;
    opts->nfiles = (size_t)cli->nargs;
    opts->bpf = cli->bpf[0] ? cli->bpf : NULL;
    opts->now = (int64_t)time(NULL);
    if (opts->stop == NULL && want_progress(opts->files, opts->nfiles)) {
        clock_gettime(CLOCK_MONOTONIC, &prog.start);
        prog.shown = false;
        opts->progress = progress_cb;
        opts->progress_ctx = &prog;
    }
    rc = analyze_run(opts, &a, errbuf, sizeof(errbuf));
    if (opts->progress != NULL && prog.shown)
        fputs("\r\033[K", stderr);
    opts->progress = NULL;          /* prog goes out of scope */
    opts->progress_ctx = NULL;
    if (rc != TI_OK) {
        fprintf(stderr, "tlsinspect: %s\n", errbuf[0] ? errbuf : ti_strerror(rc));
        return NULL;
    }
    for (size_t i = 0; i < a->ninputs; i++)
        if (a->inputs[i].truncated)
            fprintf(stderr, "tlsinspect: warning: %s: %s; reporting what was read before it\n",
                    a->inputs[i].file, a->inputs[i].error ? a->inputs[i].error : "truncated");
    for (size_t i = 0; i < a->ndamaged; i++)
        fprintf(stderr, "tlsinspect: warning: %s; reporting what was read before it\n", a->damaged[i]);
    for (size_t i = 0; i < a->ninputs; i++)
        if (a->inputs[i].dropped > 0)
            fprintf(stderr, "tlsinspect: warning: %s: the kernel dropped %llu packets "
                    "(capture buffer full); connections may have gaps\n",
                    a->inputs[i].file, (unsigned long long)a->inputs[i].dropped);
    return a;
}

/* The report's output (-o FILE, through a temporary file, or standard
 * output); false after a message. */
static bool open_output(struct cli *cli, struct outfile *of, FILE **out)
{
    char errbuf[1024] = "";

    *out = stdout;
    if (cli->output != NULL) {
        if (outfile_open(of, cli->output, errbuf, sizeof(errbuf)) != TI_OK) {
            fprintf(stderr, "tlsinspect: %s\n", errbuf);
            return false;
        }
        *out = of->fp;
    }
    if (strcmp(cli->color, "auto") == 0)
        cli->report.color = color_auto(*out, cli->output);
    /* A report of a large capture is megabytes written in small pieces
     * (the text report prints line by line): one write(2) per MiB instead
     * of per 4 KiB.  Not on a terminal, where lines should appear as made. */
    if (!isatty(fileno(*out)))
        (void)setvbuf(*out, NULL, _IOFBF, REPORT_OUT_BUFFER);
    return true;
}

/* The report of a (made with opts) to cli's output (open already when js,
 * the JSON sink that wrote it during the analysis, is not NULL); the exit
 * status. */
static int write_report(struct analysis *a, const struct analyze_opts *opts, struct cli *cli,
                        struct outfile *of, FILE *out, struct json_sink *js,
                        struct textagg *tagg)
{
    char errbuf[1024] = "";
    int rc, status;

    if (cli->save_certs != NULL) {
        size_t nsaved;
        if (savecerts_write(a, cli->save_certs, &nsaved, errbuf, sizeof(errbuf)) != TI_OK) {
            fprintf(stderr, "tlsinspect: %s\n", errbuf[0] ? errbuf : "--save-certs: out of memory");
            analysis_free(a);
            return finish_output(of, out, cli->output, EXIT_USAGE, true);
        }
    }
    if (js == NULL && !open_output(cli, of, &out)) {
        analysis_free(a);
        return EXIT_USAGE;
    }
    errno = 0;
    rc = js != NULL ? json_sink_end(js)
         : tagg != NULL ? report_text_agg(out, a, tagg, &cli->report)
         : cli->report.format == REPORT_TEXT ? report_text(out, a, &cli->report)
         : cli->report.format == REPORT_HTML ? report_html(out, a, &cli->report, opts)
         : report_json(out, a, &cli->report);
    json_sink_free(js);
    status = exit_status(a, &cli->fail_on);
    if (fflush(out) != 0 || rc != TI_OK || ferror(out)) {
        int e = errno;
        fprintf(stderr, "tlsinspect: writing the report to %s failed: %s\n",
                cli->output != NULL ? cli->output : "standard output",
                rc == TI_ENOMEM ? ti_strerror(rc) : e != 0 ? strerror(e) : "write error");
        status = finish_output(of, out, cli->output, status, true);
    } else {
        status = finish_output(of, out, cli->output, status, false);
    }
    analysis_exit_free(a);
    return status;
}

/* The text report is built while the capture is read (textagg.h), so no
 * connection needs to stay in memory -- unless --save-certs reads them all
 * at the end.  Its ladders are rendered as connections end: the colour is
 * decided before the analysis.  NULL: not text (or no memory: a->conns). */
static struct textagg *text_stream(struct analyze_opts *opts, struct cli *cli,
                                   struct conn_sink *sink)
{
    struct textagg *g;

    if (cli->report.format != REPORT_TEXT)
        return NULL;
    if (strcmp(cli->color, "auto") == 0)
        cli->report.color = color_auto(stdout, cli->output);
    if ((g = textagg_new(&cli->report)) == NULL)
        return NULL;
    *sink = textagg_sink(g);
    opts->sinks = sink;
    opts->nsinks = 1;
    opts->drop_conns = cli->save_certs == NULL;
    return g;
}

/* -f json / jsonl are written while the capture is read, each connection
 * as it ends (report.h: json_sink_new()), and then no connection needs to
 * stay in memory (drop_conns) -- unless something else reads them all at
 * the end: --save-certs (the certificates of every connection).
 * traffic_server logs (--log, a bundle's) keep them too, analyze_run()
 * decides that (analyze.h).  The text report streams the same way
 * (text_stream()); the HTML report reads a->conns. */
static int run_report(struct analyze_opts *opts, struct cli *cli)
{
    struct outfile of = {0};
    FILE *out = stdout;
    struct json_sink *js = NULL;
    struct conn_sink sink;
    struct textagg *tagg = NULL;
    struct analysis *a;
    int rc;

    if (cli->report.format == REPORT_JSON || cli->report.format == REPORT_JSONL) {
        if (!open_output(cli, &of, &out))
            return EXIT_USAGE;
        if (json_sink_new(&js, out, &cli->report, 0, &sink) != TI_OK) {
            fprintf(stderr, "tlsinspect: %s\n", ti_strerror(TI_ENOMEM));
            return finish_output(&of, out, cli->output, EXIT_USAGE, true);
        }
        opts->sinks = &sink;
        opts->nsinks = 1;
        opts->drop_conns = cli->save_certs == NULL;
    } else {
        tagg = text_stream(opts, cli, &sink);
    }
    /* The text report does not show the inputs' SHA-256: no digest. */
    opts->no_input_hash = cli->report.format == REPORT_TEXT;
    a = run_analysis(opts, cli);
    opts->sinks = NULL;             /* sink goes out of scope */
    opts->nsinks = 0;
    if (a == NULL) {
        json_sink_free(js);
        textagg_free(tagg);
        return js != NULL ? finish_output(&of, out, cli->output, EXIT_USAGE, true) : EXIT_USAGE;
    }
    rc = write_report(a, opts, cli, &of, out, js, tagg);
    textagg_free(tagg);
    return rc;
}

int main(int argc, char **argv)
{
    static struct analyze_opts opts;   /* large: keep it off the stack */
    static struct cli cli;
    int rc;

    rc = opts_parse(argc, argv, &opts, &cli);
    if (rc != EXIT_OK)
        return rc;
    cli.report.version = TLSINSPECT_VERSION;
    if (cli.action == CLI_HELP) {
        opts_help(stdout);
        return EXIT_OK;
    }
    if (cli.action == CLI_VERSION) {
        printf("tlsinspect %s\n", TLSINSPECT_VERSION);
        return EXIT_OK;
    }
    if (cli.diff)
        return run_diff(&opts, &cli);
    if ((rc = check_inputs(&opts, &cli)) != EXIT_OK)
        return rc;
    if (cli.report.verbose && cli.report.quiet)
        return opts_usage_error("%s", "-v and -q exclude each other");
    if ((rc = refuse_clobber(cli.output, &opts, cli.args, (size_t)cli.nargs)) != EXIT_OK)
        return rc;
    return run_report(&opts, &cli);
}
