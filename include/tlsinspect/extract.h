/* extract.h - `-w OUT`: write the packets each inspected handshake needs.
 *
 * Which packets (per connection, in capture order, original timestamps and
 * link type): SYN, SYN-ACK and the client's ACK of it; every payload packet
 * the TLS parser still read (everything before the flow table stops feeding
 * it: handshake records, CCS, alerts, application data that came before the
 * handshake was decided); after that, the first payload packet each way
 * (the first application data, evidence of the outcome), payload packets
 * that start with a handshake, CCS or alert record header, payload packets
 * cut by the snaplen (SNAPLEN_TRUNCATED counts them), FIN and RST, and one
 * packet whenever the connection was silent in the extract for half the
 * idle timeout (so a re-analysis does not evict it as idle).  Pure ACKs and
 * bulk application data are dropped, as are connections not selected.
 * Re-analysing the extract therefore feeds the parser the same bytes up to
 * the same point and gives the same report; only packet and byte counters
 * differ (and eviction order when --max-connections is reached).  With a
 * key log holding application secrets the parser reads every record up to
 * the closing alert (record numbers are nonces), so such connections are
 * written whole.
 *
 * Deciding: with --only all a connection is decided when its handshake is
 * over (the parser says done) or when it ends; with failed/findings when it
 * ends (outcome and findings are known only then).  Until then its packets
 * are held, and so are the packets of every other connection that come
 * after the first undecided one: the output stays in capture order.  Held
 * bytes are bounded (max_held_bytes); beyond it the oldest held connection
 * is decided at once (written) and counted in extract_stats.forced.
 *
 * Format: pcap through libpcap's pcap_dump(); pcapng (OUT ends in
 * ".pcapng") written here, because libpcap 1.10 has no pcapng writer: one
 * section whose SHB comment is EXTRACT_MARK (how a re-analysis knows it
 * reads an extract; a pcap file has no place for it), one interface,
 * enhanced packet blocks in microseconds.  Inputs of different link types
 * are refused: libpcap reads neither a pcap nor a pcapng holding several.
 */
#ifndef TLSINSPECT_EXTRACT_H
#define TLSINSPECT_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/capture.h"
#include "tlsinspect/conn.h"
#include "tlsinspect/decode.h"

#define EXTRACT_MAX_ENDPOINTS  64                    /* --connection options */
#define EXTRACT_MAX_HELD_BYTES (64u * 1024u * 1024u) /* --max-extract-hold default */
#define EXTRACT_MARK           "tlsinspect extract"  /* pcapng SHB comment */

enum extract_only { EXTRACT_ALL = 0, EXTRACT_FAILED, EXTRACT_FINDINGS };

struct extract_opts {
    const char *path;               /* -w OUT */
    enum extract_only only;         /* --only */
    struct conn_endpoint endpoints[EXTRACT_MAX_ENDPOINTS];  /* --connection IP:PORT */
    size_t nendpoints;
    const char *keylog_out;         /* --write-keylog FILE, or NULL */
    size_t max_held_bytes;          /* EXTRACT_MAX_HELD_BYTES */
};
void extract_opts_default(struct extract_opts *o);

/* True when OUT is written as pcapng (its name ends in ".pcapng"). */
bool extract_path_is_pcapng(const char *path);

/* "failed" and the like -> *out; -1 if unknown. */
int extract_only_parse(const char *s, enum extract_only *out);

struct extract_stats {
    uint64_t packets_in;            /* packets of inspected flows offered */
    uint64_t packets_out;           /* packets written */
    uint64_t bytes_out;             /* captured bytes written (not file bytes) */
    uint64_t conns_written;
    uint64_t forced;                /* connections written because the hold limit was reached */
    uint64_t keylog_lines;          /* key log lines written */
    size_t held_peak;               /* largest held byte count */
};

struct extract;
struct extract_conn;                /* one per flow */

/* Open OUT for the inputs' link types.  keylog_in: the --keylog file the
 * --write-keylog lines come from (must be given when o->keylog_out is).
 * keepalive_us: a connection silent that long in the extract gets its next
 * packet written (half the flow idle timeout; 0 = never).  TI_EUSAGE
 * (mixed link types, OUT is an input, the key log would overwrite its
 * source) or TI_EIO with "why" in errbuf. */
int extract_open(struct extract **out, const struct extract_opts *o, const struct cap_input *in,
                 size_t nin, const char *keylog_in, int64_t keepalive_us, char *errbuf,
                 size_t errlen);

/* A new flow between a and b.  NULL when out of memory. */
struct extract_conn *extract_conn_new(struct extract *x, const struct conn_endpoint *a,
                                      const struct conn_endpoint *b);

/* One packet of the flow, before the flow table handles it: side is the
 * flow's raw side (0/1), parser_done whether the flow had stopped feeding
 * the parser before this packet.  pkt->data is copied when held. */
void extract_packet(struct extract *x, struct extract_conn *xc, int side,
                    const struct cap_packet *pkt, const struct pkt_info *pi, bool parser_done);

/* In-order stream bytes of a side (the first 43 are kept: a ClientHello's
 * random, for --write-keylog). */
void extract_stream(struct extract_conn *xc, int side, const uint8_t *d, size_t n);

/* The parser said done.  c: the connection's facts so far. */
void extract_handshake_done(struct extract *x, struct extract_conn *xc, const struct conn *c);

/* The flow left the table.  c: the finished, judged connection if it is in
 * the report, else NULL.  xc is gone afterwards. */
void extract_conn_end(struct extract *x, struct extract_conn *xc, const struct conn *c);

/* After the last flow ended: write what is held and the key log subset,
 * close OUT.  TI_EIO / TI_ENOMEM with errbuf. */
int extract_finish(struct extract *x, struct extract_stats *st, char *errbuf, size_t errlen);

/* Close and free without finishing (error paths); NULL is a no-op. */
void extract_free(struct extract *x);

/* True when the file is a pcapng section marked EXTRACT_MARK (reads at most
 * the first block). */
bool extract_file_is_extract(const char *path);

#endif
