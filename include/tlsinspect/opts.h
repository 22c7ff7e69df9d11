/* opts.h - the command-line options, declared once, and their parsing.
 *
 * opts_table() is the single list of options: getopt's table, `--help`,
 * the man page's OPTIONS section and the README's option table are all
 * made from it (`make docs` rewrites the last two; tests/docs_sync.sh fails
 * when they are out of date).  An option is added in one place, opts.c.
 */
#ifndef TLSINSPECT_OPTS_H
#define TLSINSPECT_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/extract.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/report.h"

#define OPTS_BPF_MAX 4096

/* Exit codes (grep/diff convention); never renumbered. */
enum { EXIT_OK = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2 };

/* One option.  Text fields are plain text; in doc, `word` is a literal
 * (bold in the man page). */
struct opt_def {
    const char *name;               /* long name, without "--" */
    char short_name;                /* 'p', or 0: none */
    const char *arg;                /* "LIST", or NULL: takes no argument */
    const char *help;               /* --help and the README table */
    const char *doc;                /* the man page's description */
    const char *deflt;              /* the default as shown, or NULL */
    bool hidden;                    /* an alias, in the man page's text only */
    int id;                         /* what opts_parse() switches on */
};

/* The table, in --help order; *n gets its length. */
const struct opt_def *opts_table(size_t *n);

/* --fail-on: finding ids and a severity threshold that make exit status 1. */
struct fail_on {
    bool ids[FINDING_COUNT];
    int min_severity;               /* -1: none by severity */
};

/* Does a finding with id and severity sev make the exit status 1?  sev is
 * the finding's own (ECDSA_SELECTED is info or warning by case), not
 * necessarily finding_severity(id). */
bool fail_on_matches(const struct fail_on *f, int id, enum finding_severity sev);

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };

/* What the command line asks for, besides the analysis options. */
struct cli {
    enum cli_action action;
    bool diff;                      /* `tlsinspect diff ...` */
    struct report_opts report;
    struct fail_on fail_on;
    const char *output;             /* -o, or NULL: standard output */
    const char *color;              /* "auto", "always" or "never" */
    const char *save_certs;         /* --save-certs DIR, or NULL */
    bool ignore_options;            /* diff --ignore-options */
    char bpf[OPTS_BPF_MAX];         /* after "--", or "" */
    char **args;                    /* the capture files (or BEFORE AFTER) */
    int nargs;
    struct extract_opts extract;    /* -w and its options; the analysis points here */
};

/* Parse argv (argv is reordered, as getopt_long does, and the "diff" word
 * dropped) into a (defaults first) and cli.  EXIT_OK, or EXIT_USAGE after
 * a message on stderr.  Uses getopt_long() (its state is reset first). */
int opts_parse(int argc, char **argv, struct analyze_opts *a, struct cli *cli);

/* A usage error: "tlsinspect: MESSAGE" and the --help hint on stderr.
 * Returns EXIT_USAGE. */
int opts_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The text of --help. */
void opts_help(FILE *out);

/* The man page's OPTIONS section (roff, from ".SH OPTIONS" to before the
 * next section) and the README's option table (Markdown). */
void opts_man(FILE *out);
void opts_readme(FILE *out);

#endif
