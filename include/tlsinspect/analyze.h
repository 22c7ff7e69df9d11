/* analyze.h - the pipeline: capture -> decode -> flows -> TLS -> checks.
 *
 * analyze_run() reads the capture files named in the options and returns
 * every TLS connection's facts, verified and with findings, plus what the
 * reports need to know about the inputs.  It owns nothing process-wide: all
 * state lives in the struct analysis it returns.
 */
#ifndef TLSINSPECT_ANALYZE_H
#define TLSINSPECT_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/capture.h"
#include "tlsinspect/tslog.h"
#include "tlsinspect/conn.h"
#include "tlsinspect/extract.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/flow.h"
#include "tlsinspect/role.h"
#include "tlsinspect/tls.h"

struct conn_sink;             /* sink.h */
#include "tlsinspect/x509.h"

#define ANALYZE_MAX_NAMES    256   /* --name options */
#define ANALYZE_MAX_WARNINGS 256   /* distinct warnings kept */
#define ANALYZE_MAX_LOGS     256   /* --log options */
#define ANALYZE_MAX_SSH      64    /* distinct client/server pairs of SSH tunnels kept */
#define ANALYZE_MAX_OTHER    64    /* ports not inspected on which TLS was seen, kept */

struct analyze_name {               /* --name ADDR=NAME */
    struct conn_endpoint addr;      /* port unused */
    const char *name;
};

enum analyze_at { AT_CAPTURE = 0, AT_NOW, AT_FIXED };

#define ANALYZE_LOG_WINDOW_US 2000000   /* --log-window default: 2 s */

struct analyze_opts {
    char *const *files;             /* captures, bundles (archives, directories); "-": stdin */
    size_t nfiles;
    const char *iface;              /* non-NULL: capture live there instead of files */
    double duration;                /* live: seconds, 0 until stopped */
    const volatile sig_atomic_t *stop;  /* set by a signal: the capture ends (may be NULL) */
    const char *logs[ANALYZE_MAX_LOGS];  /* --log: traffic_server log files */
    size_t nlogs;
    int64_t log_window_us;          /* how far a log line may be from its connection */
    const char *bpf;                /* NULL: no filter */
    uint16_t ports[FLOW_MAX_PORTS];
    size_t nports;
    bool all_ports;
    struct x509_trust_opts trust;
    struct analyze_name names[ANALYZE_MAX_NAMES];
    size_t nnames;
    enum analyze_at at;
    int64_t at_time;                /* seconds, for AT_FIXED */
    int64_t now;                    /* seconds: "now" (main passes time(NULL)) */
    const char *keylog;
    struct role_map roles;          /* --role PORT=ROLE */
    struct flow_limits flow_limits;
    struct tls_limits tls_limits;
    void (*progress)(void *ctx, uint64_t done, uint64_t total);  /* may be NULL */
    void *progress_ctx;
    /* Cipher suite names, borrowed for the analysis' lifetime (it must
     * outlive the struct analysis).  NULL: analyze_run() makes its own.
     * Building them costs an SSL_CTX, so a caller running many analyses
     * (diff, the pipeline fuzzer) builds them once. */
    const struct tls_names *suite_names;
    /* Certificates and verdicts, borrowed the same way: a pool made with
     * x509_pool_new(..., &this->trust, ...) that several analyses share, so
     * a certificate seen by each is parsed once.  NULL: a pool of its own. */
    struct x509_pool *pool;
    /* -w: write the inspected handshakes there (extract.h); NULL: no. */
    const struct extract_opts *extract;
    /* Where each finished TLS connection goes (sink.h), in this order;
     * their finish() runs at the end of a successful analyze_run(). */
    const struct conn_sink *sinks;
    size_t nsinks;
    /* true: the sinks are all the reports need; a->conns stays empty and
     * memory stays flat in the number of connections.  false: every
     * connection is also kept, sorted, in a->conns.  Ignored when there are
     * traffic_server logs (--log, or a bundle's): correlating them needs
     * every connection at the end, so they are kept and the sinks see them
     * then, in report order, with their log findings. */
    bool drop_conns;
    /* true: the report does not show the inputs' SHA-256 (the text report):
     * skip the digest, which costs about as much CPU as reading the file. */
    bool no_input_hash;
};
void analyze_opts_default(struct analyze_opts *o);

/* TCP connections to an ssh-role port (the traversal zone's SSH tunnels,
 * 2222): not TLS, so not connections of the report, but worth saying. */
struct analyze_ssh {
    struct conn_endpoint client, server;   /* ports: server's only */
    uint64_t conns;
};

/* A port not inspected (not in --ports) to which a TLS ClientHello went:
 * the report names it so that 443 or 5061 traffic is not dropped without
 * a word. */
struct analyze_other_port {
    uint16_t port;
    uint64_t hellos;                /* segments that start a ClientHello record */
};

/* What the analysis was told to look at, for the reports' header: copies
 * of the options (owned). */
struct analyze_scope {
    uint16_t ports[FLOW_MAX_PORTS];
    size_t nports;
    bool all_ports;
    struct role_map roles;          /* --role */
    char *cafile, *capath, *client_cafile, *keylog;   /* NULL when not given */
    /* The rest of how the report was made (runopts.h): --name (copies,
     * owned), --at, what the trust stores and the key log held. */
    struct analyze_name *names;
    size_t nnames;
    enum analyze_at at;
    int64_t at_time;                /* AT_FIXED */
    struct x509_trust_info trust[X509_TRUST_NSRC];
    bool keylog_hashed;
    uint8_t keylog_sha256[32];
    uint64_t keylog_lines;
};

/* A capture-level finding (not tied to one connection). */
struct analyze_global_finding {
    int id;                         /* enum finding_id */
    char *message;
};

struct analysis {
    struct cap_input *inputs;       /* copies, owned */
    size_t ninputs;
    uint64_t packets;               /* all packets read */
    int64_t first_ts, last_ts;      /* microseconds; 0 if no packet */
    struct conn **conns;            /* in report order (conn_order_cmp); empty with drop_conns */
    struct conn_arena *conn_arena;  /* where the conns live */
    size_t nconns;
    /* Tallies of every TLS connection, kept or not (drop_conns): what the
     * capture-level findings and the exit status need. */
    uint64_t tls_conns;             /* TLS connections judged */
    uint64_t limit_conns[3];        /* connections with CONN_LIMIT_HS_MSG, _RECORDS, _CERTS */
    uint64_t finding_conns[FINDING_COUNT][SEV_ERROR + 1];   /* findings by id and severity */
    /* While a sink's conn() runs: no connection still to come has a
     * smaller first_ts (the oldest open flow; the newest packet time minus
     * a lag, as timestamps may go back a little).  INT64_MAX at the end.
     * What a sink writing in report order may write up to. */
    int64_t order_floor_ts;
    struct analyze_global_finding *global;   /* CAPTURE_TRUNCATED, LIMIT_REACHED ... */
    size_t nglobal;
    struct analyze_ssh ssh[ANALYZE_MAX_SSH];
    size_t nssh;
    struct analyze_other_port other[ANALYZE_MAX_OTHER];   /* by port */
    size_t nother;
    uint64_t other_dropped;         /* hellos on ports beyond ANALYZE_MAX_OTHER */
    struct analyze_scope scope;
    char *warnings[ANALYZE_MAX_WARNINGS];
    size_t nwarnings;
    uint64_t warnings_dropped;
    struct flow_stats flow_stats;
    uint64_t decode_counts[8];      /* by enum decode_result */
    uint64_t verifications;         /* uncached chain verifications run */
    struct x509_pool *pool;         /* owns the certificates the conns borrow */
    struct x509_pool *pool_owned;   /* == pool when analyze_run made it */
    const struct tls_names *names;  /* cipher suite names for the reports */
    struct tls_names *names_owned;  /* == names when analyze_run made them */
    struct tls_keylog *keylog;      /* --keylog, loaded; NULL without */
    struct findings_memo *fmemo;    /* findings' messages the conns share */
    struct conn_strpool *strpool;   /* the conns' expected names */
    bool *inputs_extract;           /* per input: a pcapng marked as a -w extract */
    struct extract_stats extract;   /* -w: what was written */
    struct tslog *logs;             /* traffic_server logs read (--log, bundles); NULL: none */
    char **input_node;              /* per input: its node (bundle host name) or NULL */
    size_t ninput_node;             /* entries of input_node (the inputs) */
    char **damaged;                 /* damaged bundles: what was read ("ARCHIVE: ..."), for stderr */
    size_t ndamaged;
};

/* Returns TI_OK, or TI_EIO/TI_EUSAGE for unreadable input or bad options
 * (message in errbuf).  A truncated capture is not an error: it shows up as
 * a global CAPTURE_TRUNCATED finding. */
int analyze_run(const struct analyze_opts *o, struct analysis **out,
                char *errbuf, size_t errlen);
void analysis_free(struct analysis *a);   /* NULL is a no-op */

/* Append a capture-level finding (message copied); TI_OK or TI_ENOMEM. */
int analysis_add_global(struct analysis *a, int id, const char *msg);

/* printf-style warning, deduplicated by text, capped. */
void analysis_warn(struct analysis *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
