/* gen.h - fixture generator: real OpenSSL handshakes written as TCP/IP packets.
 *
 * The pieces, each reusable on its own (the benchmark reuses them for a large
 * capture):
 *   pki.c       test PKI built with OpenSSL (root, intermediate, leaves), PEM
 *               files, reloaded from disk when present so fixtures stay stable;
 *   tlspair.c   a client SSL and a server SSL in one process over memory
 *               BIOs; every flight each side sends is kept in a transcript;
 *   tcpconn.c   a transcript -> TCP/IP packets (3-way handshake, MSS split,
 *               ACKs, FIN/RST close, timestamps as seen on the client host);
 *   pcapw.c     link-layer framing and file writers (libpcap for pcap, a
 *               minimal hand-written pcapng, gzip, cutting a file);
 *   scenarios.c the fixtures in captures/ (see captures/README.md);
 *   seedrand.c  OpenSSL's RAND made deterministic, seeded per fixture;
 *   main.c      `gen OUTDIR`, `gen --list`, `gen --only NAME OUTDIR`.
 *
 * Timestamps are microseconds since the epoch.  The generator is test code:
 * it allocates freely but frees everything it allocates.
 */
#ifndef TLSINSPECT_GEN_H
#define TLSINSPECT_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pcap/pcap.h>

#define GEN_US 1000000ULL          /* microseconds per second */
#define GEN_MAX_FLIGHTS 64         /* flights per transcript (a handshake has < 12) */
#define GEN_MAX_FLIGHT_BYTES (1u << 20)
#define GEN_MAX_PKT 1600           /* IP packet bytes (MSS 1460 + headers + v6) */

/* ---- deterministic random numbers (splitmix64) ---------------------------- */
struct gen_rng {
    uint64_t s;
};
void gen_rng_seed(struct gen_rng *r, uint64_t seed);
uint64_t gen_rng_next(struct gen_rng *r);
uint32_t gen_rng_range(struct gen_rng *r, uint32_t lo, uint32_t hi); /* inclusive */

/* Make every random number OpenSSL draws from now on a function of LABEL
 * (seedrand.c), so a fixture is the same bytes on every run.  Returns 0 or -1. */
int gen_rand_seed(const char *label);

/* ---- PKI ------------------------------------------------------------------ */
struct gen_cred {
    X509 *cert;
    EVP_PKEY *key;
    X509 *issuer;                  /* intermediate sent as chain, or NULL */
};

struct gen_pki {
    struct gen_cred root;          /* Steven Lab Root CA (RSA 3072) */
    struct gen_cred inter;         /* Steven Lab Issuing CA, signed by root */
    struct gen_cred cucm_rsa;      /* tomcat: cucm.steven.lab, signed by inter */
    struct gen_cred cucm_ec;       /* tomcat-ECDSA: cucm-EC.steven.lab, self-signed P-384 */
    struct gen_cred cucm_expired;  /* tomcat, 2020-01-01..2025-06-01 */
    struct gen_cred imp_rsa;       /* imp.steven.lab, signed by inter */
    struct gen_cred unity_rsa;     /* unity.steven.lab, signed by inter */
    struct gen_cred expw_ca;       /* Expressway Lab CA (not in CUCM trust) */
    struct gen_cred expw_client;   /* expc.steven.lab, signed by expw_ca */
    /* Self-signed P-256 whose names are HTML markup (CN "<script>alert(1)</script>"):
     * the HTML report must show them as text.  Kept in hostile.pem apart from
     * the table above, so adding it did not re-mint the PKI of every fixture. */
    struct gen_cred hostile;
};

/* The second set: the traversal zone (Expressway-C <-> -E), SIP TLS and
 * clients to the Expressway-E.  Its own files, so the first set stays. */
struct gen_pki_edge {
    struct gen_cred root;          /* Edge Lab Root CA (RSA 3072) */
    struct gen_cred inter;         /* Edge Lab Issuing CA 2, signed by root */
    struct gen_cred expe;          /* Expressway-E expe.steven.lab (no collab-edge name), by inter */
    struct gen_cred expc;          /* Expressway-C expc.steven.lab, by inter */
    struct gen_cred sip_self;      /* CUCM CallManager cucm.steven.lab, self-signed RSA */
};
int gen_pki_edge_load_or_create(struct gen_pki_edge *e, const char *dir);
void gen_pki_edge_free(struct gen_pki_edge *e);

/* Load the PKI from DIR (all files present) or create it and write it there.
 * Returns 0 or -1 with a message on stderr. */
int gen_pki_load_or_create(struct gen_pki *pki, const char *dir);
void gen_pki_free(struct gen_pki *pki);

/* ---- one TLS handshake between two OpenSSL endpoints ---------------------- */
enum gen_dir { GEN_C2S = 0, GEN_S2C = 1 };

/* A server that stays up across connections and a client that keeps its
 * session: what session resumption needs (RFC 5246 7.3, RFC 5077, RFC 8446
 * 2.2).  Zero it before the first gen_tls_run(); the first run keeps its
 * server SSL_CTX here (session cache, ticket keys), every run leaves the
 * client's latest session here and offers the one it found.  Free with
 * gen_resume_free(). */
struct gen_resume {
    SSL_CTX *sctx;                    /* its ticket callback points at the first run's cfg:
                                       * the runs share one struct gen_tls_cfg */
    SSL_SESSION *sess;
};
void gen_resume_free(struct gen_resume *r);

struct gen_tls_cfg {
    const char *client_ciphers;       /* TLS <= 1.2 list; NULL = OpenSSL default */
    const char *client_ciphersuites;  /* TLS 1.3 list; NULL = OpenSSL default */
    int client_min, client_max;       /* TLS1_2_VERSION...; 0 = library default */
    int server_min, server_max;
    const char *sni;                  /* NULL: no server_name extension */
    const char *client_alpn;          /* one ALPN protocol name offered; NULL: none */
    bool client_verify;               /* SSL_VERIFY_PEER against client_trust */
    const struct gen_cred *client_trust[3];
    const char *verify_host;          /* X509_VERIFY_PARAM_set1_host */
    const char *verify_ip;            /* X509_VERIFY_PARAM_set1_ip_asc */
    const struct gen_cred *client_cert; /* presented when asked; NULL = none */
    const struct gen_cred *server_certs[2]; /* RSA and/or ECDSA, one SSL_CTX */
    bool server_send_chain;           /* send cred->issuer after the leaf */
    bool server_request_cert;         /* CertificateRequest (SSL_VERIFY_PEER) */
    bool server_require_cert;         /* + SSL_VERIFY_FAIL_IF_NO_PEER_CERT */
    const struct gen_cred *server_trust[3]; /* CAs for client certificates */
    bool server_cipher_pref;          /* SSL_OP_CIPHER_SERVER_PREFERENCE */
    const char *keylog_path;          /* append NSS key log lines here */
    const char *client_groups;        /* SSL_CTX_set1_groups_list (key share: the first); NULL = default */
    const char *server_groups;        /* a server without the client's key share group asks
                                       * for another one: HelloRetryRequest (RFC 8446 4.1.4) */
    const char *request, *response;   /* application data once complete */
    time_t verify_time;               /* X509_VERIFY_PARAM_set_time on both sides */
    const char *server_ciphers;       /* TLS <= 1.2 list of the server; NULL = OpenSSL default */
    bool seclevel0;                   /* security level 0 on both sides (NULL suites) */
    bool client_no_etm;               /* SSL_OP_NO_ENCRYPT_THEN_MAC: MAC-then-encrypt CBC */
    bool server_no_ticket;            /* SSL_OP_NO_TICKET: TLS 1.2 resumes by session ID */
    struct gen_resume *resume;        /* NULL: a fresh server and session every run */
    bool compression;                 /* both sides clear SSL_OP_NO_COMPRESSION, security
                                       * level 1 (2+ forbids it): DEFLATE where OpenSSL
                                       * has zlib (RFC 3749) */
    int app_rounds;                   /* request/response exchanges; 0 = 1 */
    /* TLS 1.3 after the handshake (scen_post13.c): */
    int block_padding;                /* SSL_CTX_set_block_padding on both sides; 0 = none */
    bool server_no_tickets;           /* SSL_CTX_set_num_tickets(0): no NewSessionTicket */
    bool client_key_update, server_key_update; /* SSL_key_update before the side's first data */
    bool server_first;                /* the server writes the response unasked (no request) */
    const char *server_ciphersuites;  /* TLS 1.3 list of the server; NULL = OpenSSL default */
};

struct gen_flight {
    enum gen_dir dir;
    unsigned char *data;
    size_t len;
};

struct gen_transcript {
    struct gen_flight v[GEN_MAX_FLIGHTS];
    size_t n;
    bool complete;                    /* both sides finished the handshake */
    int failed_side;                  /* -1, GEN_C2S (client failed), GEN_S2C */
    bool resumed;                     /* SSL_session_reused() on the client */
    char cipher[64];                  /* negotiated suite (OpenSSL name) */
    char version[16];
    char error[256];                  /* OpenSSL's reason when failed */
    char compression[32];             /* SSL_get_current_compression() name; "" for none */
};

/* Run the handshake (then request/response and close_notify when complete).
 * Returns 0 (whatever the TLS outcome) or -1 on a set-up error.  A transcript
 * may be emitted many times with different gen_conn_params (a benchmark need
 * not pay one handshake per connection). */
int gen_tls_run(const struct gen_tls_cfg *cfg, struct gen_transcript *t);
void gen_transcript_free(struct gen_transcript *t);
/* A transcript of plain bytes (non-TLS TCP): alternating flights. */
int gen_transcript_add(struct gen_transcript *t, enum gen_dir dir,
                       const void *data, size_t len);

/* ---- packets --------------------------------------------------------------- */
struct gen_pkt {
    uint64_t ts;                      /* microseconds since the epoch */
    uint64_t ord;                     /* tie-break for a stable time sort */
    unsigned char *ip;                /* IPv4 or IPv6 packet, owned */
    uint32_t len;
    uint8_t dir;                      /* enum gen_dir */
    uint8_t tcpflags;
    int16_t flight;                   /* transcript flight index, -1 control */
    uint32_t conn;                    /* connection tag set by the caller */
    uint32_t seq;                     /* TCP sequence number (absolute) */
    uint32_t paylen;                  /* TCP payload bytes */
    uint8_t ifx;                      /* capturing interface (SLL2 ifindex); 0 = eth0 */
    uint16_t vlan;                    /* SLL/SLL2: an 802.1Q tag as seen on the parent
                                       * interface (libpcap puts it back); 0 = none */
};

struct gen_pktlist {
    struct gen_pkt *v;
    size_t n, cap;
    uint64_t next_ord;
};

int gen_pktlist_push(struct gen_pktlist *l, const struct gen_pkt *p, const void *ip, uint32_t len);
void gen_pktlist_sort(struct gen_pktlist *l);       /* by (ts, ord) */
int gen_pktlist_append(struct gen_pktlist *dst, const struct gen_pktlist *src); /* deep copy */
void gen_pktlist_free(struct gen_pktlist *l);

#define GEN_TH_FIN 0x01
#define GEN_TH_SYN 0x02
#define GEN_TH_RST 0x04
#define GEN_TH_PSH 0x08
#define GEN_TH_ACK 0x10

enum gen_close {
    GEN_CLOSE_ORDERLY,               /* each side FINs after its last flight */
    GEN_CLOSE_CLIENT_RST,            /* client RST after the last flight (Expressway abort) */
    GEN_CLOSE_SERVER_FIN_CLIENT_RST, /* server FIN, then client RST */
    GEN_CLOSE_NONE                   /* capture ends */
};

struct gen_conn_params {
    int af;                           /* AF_INET or AF_INET6 */
    uint8_t cip[16], sip[16];         /* network order; 4 bytes used for v4 */
    uint16_t cport, sport;
    uint32_t isn_c, isn_s;
    uint16_t mss_c, mss_s;            /* MSS each side advertises in its SYN */
    uint32_t rtt_us;                  /* client <-> server round trip */
    uint32_t srv_proc_us, cli_proc_us;/* think time before answering a flight */
    uint64_t start;                   /* timestamp of the SYN */
    enum gen_close close;
    uint32_t conn;                    /* tag copied into every packet */
};

/* Fill addresses/ports/ISNs/timing with defaults (seeded from rng). */
void gen_conn_defaults(struct gen_conn_params *p, struct gen_rng *rng,
                       const char *cip, const char *sip, uint16_t sport, uint64_t start);

/* Emit the whole connection (SYN..close) carrying the transcript's flights.
 * Returns the timestamp of the last packet. */
uint64_t gen_conn_emit(const struct gen_conn_params *p, const struct gen_transcript *t,
                       struct gen_pktlist *out);

/* Build one TCP segment of a connection (for crafted retransmissions):
 * seq is absolute; ack = the peer's ISN + 1 + ack_off. */
int gen_tcp_segment(const struct gen_conn_params *p, enum gen_dir dir, uint32_t seq,
                    uint32_t ack, uint8_t flags, const void *data, uint32_t len,
                    uint64_t ts, int16_t flight, struct gen_pktlist *out);

/* One UDP datagram from src to dst (addresses as text, v4 or v6). */
int gen_udp_packet(struct gen_pktlist *out, const char *src, const char *dst,
                   uint16_t sport, uint16_t dport, const void *data, uint32_t len,
                   uint64_t ts, uint32_t conn);

/* ---- writers ------------------------------------------------------------- */
enum gen_fmt { GEN_FMT_PCAP, GEN_FMT_PCAPNG };
/* GEN_LINK_ETH_PAD: Ethernet frames shorter than 60 bytes padded with zeros
 * to 60, as a NIC sends them (IEEE 802.3 minimum frame less the FCS);
 * GEN_LINK_PPPOE: Ethernet, PPPoE session (RFC 2516) and PPP (RFC 1661),
 * padded the same way.  Both are DLT_EN10MB. */
enum gen_link { GEN_LINK_ETH, GEN_LINK_QINQ, GEN_LINK_SLL, GEN_LINK_SLL2, GEN_LINK_RAW,
                GEN_LINK_ETH_PAD, GEN_LINK_PPPOE, GEN_LINK_VLAN };

struct gen_writer {
    enum gen_fmt fmt;
    enum gen_link link;
    int snaplen;
    pcap_t *pd;
    pcap_dumper_t *dump;
    FILE *ng;
    long offset;                      /* file offset of the next record */
};

int gen_writer_open(struct gen_writer *w, const char *path, enum gen_fmt fmt,
                    enum gen_link link, int snaplen);
/* Writes one record; *rec_off (may be NULL) gets the record's file offset. */
int gen_writer_put(struct gen_writer *w, const struct gen_pkt *p, long *rec_off);
int gen_writer_close(struct gen_writer *w);
int gen_write_pktlist(const char *path, enum gen_fmt fmt, enum gen_link link,
                      int snaplen, const struct gen_pktlist *l);

/* Frame one IP packet for LINK and pcap_dump() it to an open dumper (the
 * dumper's pcap_t must have been opened with gen_link_dlt(link)). */
int gen_link_dlt(enum gen_link link);
void gen_dump_pkt(pcap_dumper_t *d, enum gen_link link, int snaplen, const struct gen_pkt *p);

int gen_gzip_file(const char *src, const char *dst);

/* ---- scenarios ----------------------------------------------------------- */
struct gen_ctx {
    const char *outdir;
    bool only;                        /* --only: a fixture that cannot be made fails */
    struct gen_pki pki;
    struct gen_pki_edge edge;
};

struct gen_fixture {
    const char *name;                 /* main output file name */
    const char *what;                 /* one line for --list */
    int (*fn)(struct gen_ctx *ctx, const struct gen_fixture *fx);
};

extern const struct gen_fixture gen_fixtures[];

/* Helpers the fixtures share (scenarios.c): the seed of a name, the
 * captures/<file>.args line, a packet list written as OUTDIR/name. */
uint64_t gen_fnv1a(const char *s);
int gen_write_args(const struct gen_ctx *ctx, const char *file, const char *args);
int gen_write_list(const struct gen_ctx *ctx, const char *name, enum gen_fmt fmt,
                   enum gen_link link, int snaplen, const struct gen_pktlist *l);

/* Issue 17 fixtures (scen_resume.c): resumption, key-log suites, padded frames. */
int gen_fx_resumption(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_keylog_suites(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_padded_frames(struct gen_ctx *ctx, const struct gen_fixture *fx);
/* scen_compress.c: TLS 1.2 with DEFLATE (needs an OpenSSL built with zlib). */
int gen_fx_compressed_12(struct gen_ctx *ctx, const struct gen_fixture *fx);
extern const size_t gen_nfixtures;

/* TLS profiles (t0 = verification time, seconds since the epoch):
 * rsa_ok     X14.2 client (verifies root + cucm.steven.lab, SNI) -> CUCM 8443
 *            with the CA-signed RSA cert only: completes, HTTP inside;
 * field_case X14.2 client -> CUCM 6972 with RSA + self-signed ECDSA and a
 *            CertificateRequest: ECDHE-ECDSA picked, client sends unknown_ca. */
void gen_profile_rsa_ok(struct gen_tls_cfg *c, const struct gen_pki *pki, uint64_t t0);
void gen_profile_field_case(struct gen_tls_cfg *c, const struct gen_pki *pki, uint64_t t0);

/* scen_infer.c: TLS 1.3 without keys, chains matched by size (issue 17). */
int gen_fx_tls13_ecdsa_candidates(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_tls13_seen_chain(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_incomplete_reasons(struct gen_ctx *ctx, const struct gen_fixture *fx);
/* scen_post13.c: TLS 1.3 field variants with key logs (mTLS per server key,
 * segmented aborts, HelloRetryRequest, what follows the handshake). */
int gen_fx_tls13_mtls_keys(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_tls13_abort_segments(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_tls13_post_handshake(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_close_notify_12_13(struct gen_ctx *ctx, const struct gen_fixture *fx);

/* scen_sweep.c: field-sweep captures at the capture and TCP level. */
int gen_fx_any_dup(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_tcp_quirks(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_port_reuse(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_cut_starts(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_snaplen_96(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_vlan_ip_options(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_any_dup_sll(struct gen_ctx *ctx, const struct gen_fixture *fx);
int gen_fx_idle_continue(struct gen_ctx *ctx, const struct gen_fixture *fx);

/* Reusable for the benchmark: run one handshake scenario and dump its
 * packets to an open pcap dumper.  Returns 0 and the last timestamp. */
int gen_emit_scenario(pcap_dumper_t *d, enum gen_link link, int snaplen,
                      const struct gen_tls_cfg *tls, const struct gen_conn_params *cp,
                      uint64_t *last_ts);

#endif
