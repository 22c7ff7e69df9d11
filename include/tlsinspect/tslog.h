/* tslog.h - Expressway traffic_server log lines: what the server rejected, and where it connected.
 *
 * The Expressway writes syslog-style lines, local time with an offset:
 *
 *   2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING:
 *       Core server certificate verification failed for (NAME). Action=Terminate
 *       Error=TEXT server=NAME(IP) depth=N                     (also "Action:Terminate")
 *   ... ERROR: SSL connection failed for 'NAME': error:1416F086:SSL routines:...
 *   ... WARNING: SNI (NAME) not in certificate. Action:Terminate server=NAME(IP)
 *   ... UTCTime="2022-07-11 17:49:01,472" Module="network" ... HTTPMSG:
 *   |GET http://vcs_control.steven.lab:8443/BASE64/cucm-uds/... HTTP/1.1
 *
 * A line that does not start with a timestamp continues the one before it
 * (wrapped lines, the HTTPMSG request line).  The first path segment of an
 * HTTPMSG URL is unpadded base64 (either alphabet) of
 * "domain/protocol/host/port": the connect address the Expressway-C uses for
 * the server.  `UTCTime="..."` is UTC and wins over the line's own time.
 *
 * Logs are fed in chunks (tslog_feed), line by line with a bounded line
 * buffer: a file of any size costs memory only for the failure lines kept
 * (at most TSLOG_MAX_ENTRIES, TSLOG_MAX_KEPT bytes of text) and the distinct
 * connect addresses (at most TSLOG_MAX_ADDRS).  Every other line is
 * counted, never fatal.
 *
 * Correlation looks at the connections to a line's server only (indexes by
 * address and SNI): its cost is the failure lines times the connections to
 * their server.
 */
#ifndef TLSINSPECT_TSLOG_H
#define TLSINSPECT_TSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/conn.h"

#define TSLOG_MAX_LINE     16384     /* bytes of one logical line kept (the rest cut) */
#define TSLOG_MAX_ENTRIES  100000    /* failure lines kept */
#define TSLOG_MAX_KEPT     (64u * 1024u * 1024u)  /* bytes of their text kept, all lines */
#define TSLOG_MAX_ADDRS    4096      /* distinct connect addresses */
#define TSLOG_MAX_FILES    4096
#define TSLOG_MAX_NODES    256
#define TSLOG_MAX_MATCHES  8         /* connections one line is attached to */

enum tslog_kind {
    TSLOG_VERIFY_FAILED = 0,   /* Core server certificate verification failed */
    TSLOG_SSL_FAILED,          /* SSL connection failed for 'NAME' */
    TSLOG_SNI_NOT_IN_CERT,     /* SNI (NAME) not in certificate */
    TSLOG_HTTPMSG              /* a request naming a connect address (not kept as an entry) */
};

/* One failure line.  Strings are owned by the tslog. */
struct tslog_entry {
    enum tslog_kind kind;
    int64_t ts;                /* microseconds since the epoch, UTC */
    uint32_t file;             /* index into tslog_files() */
    uint32_t line;             /* 1-based number of its first physical line */
    uint32_t node;             /* index into tslog_nodes() */
    char *text;                /* the logical line, continuations joined by a space */
    char *name;                /* "for (NAME)", "for 'NAME'", "SNI (NAME)"; NULL if absent */
    char *server_name;         /* server=NAME(...); NULL if absent */
    struct conn_endpoint server;   /* server=...(IP); ipver 0 if absent; port 0 */
    char *error;               /* Error=TEXT up to " server=", or the OpenSSL error */
    int depth;                 /* depth=N, -1 if absent */
    /* filled by correlation */
    uint64_t conns[TSLOG_MAX_MATCHES];   /* connection ids it was attached to */
    uint8_t nconns;
};

struct tslog_addr {            /* a decoded connect address */
    char *domain, *protocol, *host;
    uint16_t port;
    int64_t first_ts;
    uint64_t count;
};

struct tslog_stats {
    uint64_t lines;            /* logical lines read (all files) */
    uint64_t unknown;          /* lines of no known format */
    uint64_t cut;              /* lines longer than TSLOG_MAX_LINE (parsed cut) */
    uint64_t bad_address;      /* HTTPMSG whose first segment did not decode */
    uint64_t dropped;          /* failure lines over TSLOG_MAX_ENTRIES or TSLOG_MAX_KEPT */
    uint64_t matched;          /* failure lines attached to at least one connection */
};

struct tslog;

int tslog_new(struct tslog **out);          /* TI_OK or TI_ENOMEM */
void tslog_free(struct tslog *lg);          /* NULL is a no-op */

/* Feed one file: begin (its name as shown in reports, and the node to use
 * for lines without a host name, may be NULL), any number of chunks, end.
 * Returns TI_OK or TI_ENOMEM. */
int tslog_begin_file(struct tslog *lg, const char *file, const char *node);
int tslog_feed(struct tslog *lg, const char *p, size_t n);
int tslog_end_file(struct tslog *lg);

/* Does this look like the start of a traffic_server/syslog log: text
 * whose first line starts with an ISO-8601 date and time? */
bool tslog_sniff(const uint8_t *p, size_t n);

enum tslog_line {
    TSLOG_LINE_NONE = 0,       /* no timestamp: not a log line (or a continuation) */
    TSLOG_LINE_OTHER,          /* a log line of no known form */
    TSLOG_LINE_FAILURE,        /* e filled (strings malloc'd: tslog_entry_clear) */
    TSLOG_LINE_ADDR,           /* HTTPMSG, addr filled (tslog_addr_clear) */
    TSLOG_LINE_BAD_ADDR        /* HTTPMSG whose first path segment did not decode */
};

/* Parse one logical line (no newline) into e or addr; an enum tslog_line,
 * or TI_ENOMEM.  `host` receives the line's host name (at most hostlen-1
 * bytes, "" if none); e->ts / addr->first_ts its time. */
int tslog_parse_line(const char *s, size_t n, struct tslog_entry *e, struct tslog_addr *addr,
                     char *host, size_t hostlen);
void tslog_entry_clear(struct tslog_entry *e);
void tslog_addr_clear(struct tslog_addr *a);

/* Timestamp "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]" at s: microseconds
 * UTC; returns the bytes used, 0 if s does not start with one. */
size_t tslog_parse_time(const char *s, size_t n, int64_t *us);

/* Decode base64 (either alphabet, padding optional) of at most outlen
 * bytes; returns the decoded length, or -1 for a bad character/length. */
long tslog_b64_decode(const char *s, size_t n, uint8_t *out, size_t outlen);

/* Read access. */
struct tslog_entry *tslog_entries(struct tslog *lg, size_t *n);
const struct tslog_addr *tslog_addrs(const struct tslog *lg, size_t *n);
const char *const *tslog_files(const struct tslog *lg, size_t *n);
const char *const *tslog_nodes(const struct tslog *lg, size_t *n);
const struct tslog_stats *tslog_stats(const struct tslog *lg);
struct tslog_stats *tslog_stats_mut(struct tslog *lg);

/* The node (host name) the first line of file index `file` named, or NULL. */
const char *tslog_file_node(const struct tslog *lg, size_t file);

/* The connect address the log gives for server ip:port (host equal to the
 * address, or to a name the log's server=NAME(IP) lines give that address);
 * NULL if none.  With several, the one seen most. */
const struct tslog_addr *tslog_addr_for(const struct tslog *lg, const struct conn_endpoint *server);

/* ---- correlation -------------------------------------------------------------- */

/* What a connection is, for matching: its facts and its node (NULL unknown). */
struct tslog_conn {
    struct conn *c;
    const char *node;
};

/* A group of failure lines for one server that matched no connection:
 * called once per server, `why` says which case (no connection to that
 * server at all: the capture missed its interface or node; or the nearest
 * one is `gap_us` away: the clocks differ, or the window is too small). */
typedef int (*tslog_unmatched_fn)(void *ctx, const char *message);

/* Attach each failure line to the connection(s) to its server nearest in
 * time within window_us (same node when both are known); compare the
 * log's verdict with the capture's and add LOG_CAPTURE_MISMATCH to a
 * connection where they disagree (finding id passed in, the findings
 * table lives in findings.c).  Lines outside the capture's time span (by
 * more than the window) are not compared; *outside counts them.
 * TI_OK or TI_ENOMEM. */
int tslog_correlate(struct tslog *lg, struct tslog_conn *conns, size_t n, int64_t window_us,
                    int finding_id, tslog_unmatched_fn unmatched, void *ctx, uint64_t *outside);

/* The failure lines attached to connection id (ascending time); the
 * pointer stays valid until tslog_free. */
size_t tslog_for_conn(const struct tslog *lg, uint64_t conn_id, const struct tslog_entry *const **out);

/* One sentence comparing a line's verdict with the connection's:
 * "log: self signed certificate depth=0; capture: CN=x self-signed (agree)". */
void tslog_compare_text(const struct tslog_entry *e, const struct conn *c, char *buf, size_t len);

#endif
