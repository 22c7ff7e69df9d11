/* extract.c - `-w OUT`: the handshake packets of the inspected connections, as pcap or pcapng. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "tlsinspect/cur.h"
#include "tlsinspect/err.h"
#include "tlsinspect/extract.h"
#include "tlsinspect/outq.h"

#ifndef TLSINSPECT_VERSION
#define TLSINSPECT_VERSION "0.0.0"
#endif

#define EX_MAX_IFACES      16          /* distinct link types named in the refusal */
#define EX_SNAPLEN_MAX     262144u     /* libpcap's MAXIMUM_SNAPLEN */
#define EX_HEAD            43u         /* record(5) + hs header(4) + version(2) + random(32) */
#define EX_RANDOM_OFF      11u
#define EX_RANDOM_LEN      32u
#define EX_KEYLOG_LINE_MAX 4096u       /* longer key log lines are not copied */
#define EX_MARK_SCAN_MAX   65536u      /* SHB bytes read to find the mark */
#define EX_OUT_BUFFER      (1024u * 1024u)  /* bytes per write(2) of OUT */
#define EX_OUT_BUFS        3                /* outq buffers */
#define EX_STDIO_BUFFER    (64u * 1024u)    /* stdio buffer before the outq */

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_BOM 0x1A2B3C4Du
#define PCAPNG_OPT_COMMENT   1u
#define PCAPNG_OPT_USERAPPL  4u

enum ex_state { XC_UNDECIDED = 0, XC_KEEP, XC_DROP };

struct extract_conn {
    enum ex_state state;
    bool ended;                 /* the flow left the table */
    uint32_t held;              /* queue entries pointing here */
    int syn_side;               /* sender of the SYN without ACK, -1 none */
    bool synack_seen;
    bool ack_kept;              /* the ACK of the SYN-ACK */
    bool after_kept[2];         /* first payload packet after the parser stopped, each way */
    int64_t last_kept_ts;
    uint8_t head[2][EX_HEAD];   /* first stream bytes of each side */
    uint8_t head_len[2];
};

/* One held packet, its bytes after it. */
struct ex_held {
    struct ex_held *next;
    struct extract_conn *xc;
    int64_t ts;
    uint32_t caplen, len;
    uint8_t data[];
};

struct extract {
    struct extract_opts o;
    const char *keylog_in;      /* --keylog, the source of --write-keylog */
    int64_t keepalive_us;
    /* writer */
    bool ng;
    FILE *f;                    /* pcapng (pcap: owned by dump) */
    pcap_t *dead;               /* pcap */
    pcap_dumper_t *dump;
    int ifaces[EX_MAX_IFACES];  /* the inputs' link types (one is written) */
    size_t nifaces;
    bool werr;
    /* held packets, in arrival order */
    struct ex_held *head, *tail;
    size_t held_bytes;
    /* client randoms of written connections (--write-keylog) */
    uint8_t (*randoms)[EX_RANDOM_LEN];
    size_t nrandoms, cap_randoms;
    bool oom;
    struct extract_stats st;
};

void extract_opts_default(struct extract_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->only = EXTRACT_ALL;
    o->max_held_bytes = EXTRACT_MAX_HELD_BYTES;
}

bool extract_path_is_pcapng(const char *path)
{
    size_t n = strlen(path);
    return n >= 7 && strcasecmp(path + n - 7, ".pcapng") == 0;
}

int extract_only_parse(const char *s, enum extract_only *out)
{
    static const char *const names[] = {"all", "failed", "findings"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum extract_only)i;
            return 0;
        }
    return -1;
}

/* ---- the output stream --------------------------------------------------------- */

/* OUT's bytes go to an outq (outq.h): the write(2) calls of an extract of
 * tens of megabytes run on the writer thread, beside the analysis.  A
 * FILE * (fopencookie) so that libpcap's pcap_dump() writes through it
 * too. */
struct ex_sink {
    int fd;
    struct outq *q;
    char *buf;                  /* from outq_buffer(), or NULL */
    size_t len;
};

static ssize_t sink_write(void *cookie, const char *d, size_t n)
{
    struct ex_sink *k = cookie;
    size_t done = 0;

    while (done < n) {
        size_t take;
        if (k->buf == NULL) {
            k->buf = outq_buffer(k->q);
            k->len = 0;
        }
        take = n - done < EX_OUT_BUFFER - k->len ? n - done : EX_OUT_BUFFER - k->len;
        memcpy(k->buf + k->len, d + done, take);
        k->len += take;
        done += take;
        if (k->len == EX_OUT_BUFFER) {
            outq_submit(k->q, k->buf, k->len);
            k->buf = NULL;
        }
    }
    return (ssize_t)n;
}

static int sink_close(void *cookie)
{
    struct ex_sink *k = cookie;
    int err;

    if (k->buf != NULL)
        outq_submit(k->q, k->buf, k->len);
    err = outq_finish(k->q);
    if (close(k->fd) != 0 && err == 0)
        err = errno;
    free(k);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

/* OUT opened for writing: through a writer thread, or (no thread to be
 * had) a plain stdio stream with a large buffer. */
static FILE *ex_fopen(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    static const cookie_io_functions_t io = {.write = sink_write, .close = sink_close};
    struct ex_sink *k;
    FILE *f;

    if (fd < 0)
        return NULL;
    k = calloc(1, sizeof(*k));
    if (k != NULL)
        k->q = outq_start(fd, EX_OUT_BUFS, EX_OUT_BUFFER, 0);
    if (k == NULL || k->q == NULL) {
        free(k);
        f = fdopen(fd, "wb");
        if (f == NULL)
            close(fd);
        else
            (void)setvbuf(f, NULL, _IOFBF, EX_OUT_BUFFER);
        return f;
    }
    k->fd = fd;
    f = fopencookie(k, "wb", io);
    if (f == NULL) {
        int e = errno;
        (void)outq_finish(k->q);
        close(fd);
        free(k);
        errno = e;
        return NULL;
    }
    /* stdio gathers the packet-sized fwrite()s; the cookie is called per
     * EX_STDIO_BUFFER bytes (cheaper than a call per fwrite unbuffered). */
    (void)setvbuf(f, NULL, _IOFBF, EX_STDIO_BUFFER);
    return f;
}

/* ---- writers ------------------------------------------------------------------ */

/* pcapng blocks are written in host byte order (the BOM says which). */
static void ng_put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void ng_put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static size_t ng_pad4(size_t n)
{
    return (n + 3u) & ~(size_t)3u;
}

/* An option (code, length, value padded to 4) at p; returns its size. */
static size_t ng_opt(uint8_t *p, uint16_t code, const char *val)
{
    size_t n = strlen(val);

    ng_put16(p, code);
    ng_put16(p + 2, (uint16_t)n);
    memset(p + 4, 0, ng_pad4(n));
    memcpy(p + 4, val, n);
    return 4 + ng_pad4(n);
}

static int ng_header(struct extract *x, uint32_t snaplen)
{
    uint8_t b[256];
    size_t n = 0;
    uint64_t seclen = UINT64_MAX;   /* section length not given */

    ng_put32(b, PCAPNG_SHB);
    n = 8;
    ng_put32(b + n, PCAPNG_BOM);
    ng_put16(b + n + 4, 1);
    ng_put16(b + n + 6, 0);
    memcpy(b + n + 8, &seclen, 8);
    n += 16;
    n += ng_opt(b + n, PCAPNG_OPT_COMMENT, EXTRACT_MARK);
    n += ng_opt(b + n, PCAPNG_OPT_USERAPPL, "tlsinspect " TLSINSPECT_VERSION);
    memset(b + n, 0, 4);                 /* opt_endofopt */
    n += 4;
    ng_put32(b + 4, (uint32_t)(n + 4));
    ng_put32(b + n, (uint32_t)(n + 4));
    n += 4;
    if (fwrite(b, 1, n, x->f) != n)
        return TI_EIO;
    for (size_t i = 0; i < x->nifaces; i++) {
        ng_put32(b, PCAPNG_IDB);
        ng_put32(b + 4, 20);
        ng_put16(b + 8, (uint16_t)x->ifaces[i]);
        ng_put16(b + 10, 0);
        ng_put32(b + 12, snaplen);      /* no if_tsresol: microseconds */
        ng_put32(b + 16, 20);
        if (fwrite(b, 1, 20, x->f) != 20)
            return TI_EIO;
    }
    return TI_OK;
}

static void ng_packet(struct extract *x, int64_t ts, uint32_t caplen, uint32_t len,
                      const uint8_t *data)
{
    static const uint8_t zero[4];
    uint8_t h[28], t[4];
    uint32_t iface = 0, total = (uint32_t)(32 + ng_pad4(caplen));   /* one interface */
    uint64_t us = ts < 0 ? 0 : (uint64_t)ts;

    ng_put32(h, PCAPNG_EPB);
    ng_put32(h + 4, total);
    ng_put32(h + 8, iface);
    ng_put32(h + 12, (uint32_t)(us >> 32));
    ng_put32(h + 16, (uint32_t)us);
    ng_put32(h + 20, caplen);
    ng_put32(h + 24, len);
    ng_put32(t, total);
    if (fwrite(h, 1, sizeof(h), x->f) != sizeof(h) || fwrite(data, 1, caplen, x->f) != caplen ||
        fwrite(zero, 1, ng_pad4(caplen) - caplen, x->f) != ng_pad4(caplen) - caplen ||
        fwrite(t, 1, 4, x->f) != 4)
        x->werr = true;
}

static void ex_write(struct extract *x, int64_t ts, uint32_t caplen, uint32_t len,
                     const uint8_t *data)
{
    x->st.packets_out++;
    x->st.bytes_out += caplen;
    if (x->ng) {
        ng_packet(x, ts, caplen, len, data);
    } else {
        struct pcap_pkthdr h;
        h.ts.tv_sec = (time_t)(ts / 1000000);
        h.ts.tv_usec = (suseconds_t)(ts % 1000000);
        if (ts < 0 && h.ts.tv_usec != 0) {
            h.ts.tv_sec--;
            h.ts.tv_usec += 1000000;
        }
        h.caplen = caplen;
        h.len = len;
        pcap_dump((u_char *)x->dump, &h, data);
    }
}

/* The same file by device and inode: -w must never overwrite an input. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int extract_open(struct extract **out, const struct extract_opts *o, const struct cap_input *in,
                 size_t nin, const char *keylog_in, int64_t keepalive_us, char *errbuf,
                 size_t errlen)
{
    struct extract *x;
    uint32_t snaplen = 0;
    int rc;

    *out = NULL;
    if (o->keylog_out != NULL && keylog_in == NULL) {
        snprintf(errbuf, errlen, "--write-keylog needs --keylog (the lines are taken from it)");
        return TI_EUSAGE;
    }
    if (o->keylog_out != NULL &&
        (strcmp(o->keylog_out, keylog_in) == 0 || same_file(o->keylog_out, keylog_in))) {
        snprintf(errbuf, errlen, "--write-keylog %s: that is the --keylog file", o->keylog_out);
        return TI_EUSAGE;
    }
    for (size_t i = 0; i < nin; i++)
        if (in[i].file != NULL && same_file(o->path, in[i].file)) {
            snprintf(errbuf, errlen, "-w %s: that is an input; write the extract elsewhere", o->path);
            return TI_EUSAGE;
        }
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return TI_ENOMEM;
    x->o = *o;
    x->keylog_in = keylog_in;
    x->keepalive_us = keepalive_us;
    x->ng = extract_path_is_pcapng(o->path);
    for (size_t i = 0; i < nin; i++) {
        size_t j;
        for (j = 0; j < x->nifaces && x->ifaces[j] != in[i].linktype; j++)
            ;
        if (j == x->nifaces) {
            if (x->nifaces == EX_MAX_IFACES) {
                snprintf(errbuf, errlen, "-w: more than %d link types in the inputs", EX_MAX_IFACES);
                rc = TI_EUSAGE;
                goto fail;
            }
            x->ifaces[x->nifaces++] = in[i].linktype;
        }
        if (in[i].snaplen > snaplen)
            snaplen = in[i].snaplen;
    }
    if (snaplen == 0 || snaplen > EX_SNAPLEN_MAX)
        snaplen = EX_SNAPLEN_MAX;
    if (x->nifaces == 0)
        x->ifaces[x->nifaces++] = DLT_EN10MB;
    if (x->nifaces > 1) {
        /* A pcap file has one link type.  pcapng could have an interface
         * per link type, but libpcap (and so tlsinspect) refuses to read
         * such a file, and rewriting link headers would change what the
         * analysis decodes: one extract per link type. */
        snprintf(errbuf, errlen, "-w %s: the inputs have %zu link types and libpcap reads one per "
                 "file; extract the inputs of each link type separately", o->path, x->nifaces);
        rc = TI_EUSAGE;
        goto fail;
    }
    x->f = ex_fopen(o->path);
    if (x->f == NULL) {
        snprintf(errbuf, errlen, "-w %s: %s", o->path, strerror(errno));
        rc = TI_EIO;
        goto fail;
    }
    if (x->ng) {
        rc = ng_header(x, snaplen);
        if (rc != TI_OK) {
            snprintf(errbuf, errlen, "-w %s: write error", o->path);
            goto fail;
        }
    } else {
        x->dead = pcap_open_dead_with_tstamp_precision(x->ifaces[0], (int)snaplen,
                                                       PCAP_TSTAMP_PRECISION_MICRO);
        if (x->dead == NULL) {
            rc = TI_ENOMEM;
            snprintf(errbuf, errlen, "-w %s: %s", o->path, ti_strerror(rc));
            goto fail;
        }
        x->dump = pcap_dump_fopen(x->dead, x->f);
        if (x->dump == NULL) {
            snprintf(errbuf, errlen, "-w %s: %s", o->path, pcap_geterr(x->dead));
            rc = TI_EIO;
            goto fail;
        }
        x->f = NULL;                /* the dumper owns it now */
    }
    *out = x;
    return TI_OK;
fail:
    extract_free(x);
    return rc;
}

/* ---- connections and the queue ----------------------------------------------- */

static bool ep_eq(const struct conn_endpoint *a, const struct conn_endpoint *b)
{
    return a->ipver == b->ipver && a->port == b->port && memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

struct extract_conn *extract_conn_new(struct extract *x, const struct conn_endpoint *a,
                                      const struct conn_endpoint *b)
{
    struct extract_conn *xc = calloc(1, sizeof(*xc));

    if (xc == NULL)
        return NULL;
    xc->syn_side = -1;
    if (x->o.nendpoints > 0) {
        bool match = false;
        for (size_t i = 0; i < x->o.nendpoints && !match; i++)
            match = ep_eq(&x->o.endpoints[i], a) || ep_eq(&x->o.endpoints[i], b);
        if (!match)
            xc->state = XC_DROP;    /* nothing of it is ever held */
    }
    return xc;
}

static void xc_maybe_free(struct extract_conn *xc)
{
    if (xc->ended && xc->held == 0)
        free(xc);
}

/* The client random of a kept connection: the side whose stream starts
 * with a handshake record holding a ClientHello. */
static void keep_random(struct extract *x, const struct extract_conn *xc)
{
    if (x->o.keylog_out == NULL)
        return;
    for (int s = 0; s < 2; s++) {
        const uint8_t *h = xc->head[s];
        if (xc->head_len[s] < EX_HEAD || h[0] != 22 || h[1] != 3 || h[5] != 1)
            continue;
        if (x->nrandoms == x->cap_randoms) {
            size_t cap = x->cap_randoms ? x->cap_randoms * 2 : 64;
            uint8_t (*v)[EX_RANDOM_LEN] = realloc(x->randoms, cap * EX_RANDOM_LEN);
            if (v == NULL) {
                x->oom = true;
                return;
            }
            x->randoms = v;
            x->cap_randoms = cap;
        }
        memcpy(x->randoms[x->nrandoms++], h + EX_RANDOM_OFF, EX_RANDOM_LEN);
    }
}

/* Write or drop held packets from the front while their connection is decided. */
static void ex_drain(struct extract *x)
{
    struct ex_held *e;

    while ((e = x->head) != NULL && e->xc->state != XC_UNDECIDED) {
        struct extract_conn *xc = e->xc;
        x->head = e->next;
        if (x->head == NULL)
            x->tail = NULL;
        if (xc->state == XC_KEEP)
            ex_write(x, e->ts, e->caplen, e->len, e->data);
        x->held_bytes -= sizeof(*e) + e->caplen;
        xc->held--;
        xc_maybe_free(xc);
        free(e);
    }
}

static void ex_decide(struct extract *x, struct extract_conn *xc, bool keep)
{
    if (xc->state != XC_UNDECIDED)
        return;
    xc->state = keep ? XC_KEEP : XC_DROP;
    if (keep) {
        x->st.conns_written++;
        keep_random(x, xc);
    }
    ex_drain(x);
}

/* Does the analysis (or the reader of the extract) need this packet? */
static bool ex_wanted(struct extract *x, struct extract_conn *xc, int side,
                      const struct pkt_info *p, bool done, int64_t ts)
{
    if (p->flags & TCPF_SYN) {
        if (p->flags & TCPF_ACK)
            xc->synack_seen = true;
        else
            xc->syn_side = side;
        return true;
    }
    if (p->flags & (TCPF_FIN | TCPF_RST))
        return true;
    if (p->has_payload) {
        if (!done || p->snap_cut)
            return true;
        if (!xc->after_kept[side]) {
            xc->after_kept[side] = true;
            return true;
        }
        /* A handshake, CCS or alert record after the handshake: a
         * renegotiation, a ticket, an (encrypted) alert before the close. */
        if (p->payload_len >= 5 && p->payload[1] == 3 && p->payload[0] >= 20 &&
            p->payload[0] <= 22)
            return true;
    } else if (!xc->ack_kept && xc->synack_seen && side == xc->syn_side &&
               p->flags == TCPF_ACK) {
        xc->ack_kept = true;
        return true;
    }
    return x->keepalive_us > 0 && ts - xc->last_kept_ts > x->keepalive_us;
}

static void ex_hold(struct extract *x, struct extract_conn *xc, const struct cap_packet *pkt)
{
    struct ex_held *e = malloc(sizeof(*e) + pkt->caplen);

    if (e == NULL) {
        x->oom = true;
        return;
    }
    e->next = NULL;
    e->xc = xc;
    e->ts = pkt->ts;
    e->caplen = pkt->caplen;
    e->len = pkt->len;
    memcpy(e->data, pkt->data, pkt->caplen);
    if (x->tail != NULL)
        x->tail->next = e;
    else
        x->head = e;
    x->tail = e;
    xc->held++;
    x->held_bytes += sizeof(*e) + pkt->caplen;
    if (x->held_bytes > x->st.held_peak)
        x->st.held_peak = x->held_bytes;
    /* Over the limit: the oldest held connection is decided now, whatever
     * its handshake turns into: written if it carried bytes (it may be
     * TLS), dropped if not (a SYN never answered, waiting for the idle
     * timeout, would otherwise hold everything behind it). */
    while (x->held_bytes > x->o.max_held_bytes && x->head != NULL) {
        struct extract_conn *old = x->head->xc;
        x->st.forced++;
        ex_decide(x, old, old->head_len[0] > 0 || old->head_len[1] > 0);
    }
}

void extract_packet(struct extract *x, struct extract_conn *xc, int side,
                    const struct cap_packet *pkt, const struct pkt_info *pi, bool parser_done)
{
    x->st.packets_in++;
    if (xc->state == XC_DROP || !ex_wanted(x, xc, side, pi, parser_done, pkt->ts))
        return;
    xc->last_kept_ts = pkt->ts;
    if (xc->state == XC_KEEP && x->head == NULL)
        ex_write(x, pkt->ts, pkt->caplen, pkt->len, pkt->data);
    else
        ex_hold(x, xc, pkt);
}

void extract_stream(struct extract_conn *xc, int side, const uint8_t *d, size_t n)
{
    size_t have = xc->head_len[side], take;

    if (have >= EX_HEAD || n == 0)
        return;
    take = n < EX_HEAD - have ? n : EX_HEAD - have;
    memcpy(xc->head[side] + have, d, take);
    xc->head_len[side] = (uint8_t)(have + take);
}

void extract_handshake_done(struct extract *x, struct extract_conn *xc, const struct conn *c)
{
    if (xc->state != XC_UNDECIDED)
        return;
    if (x->o.only == EXTRACT_ALL) {
        ex_decide(x, xc, c->is_tls);
    } else if (x->o.only == EXTRACT_FAILED && !c->tls13 && c->finished[DIR_CLIENT] &&
               c->finished[DIR_SERVER] && c->n_alerts == 0 && !c->alerts_truncated) {
        /* TLS 1.2 with both Finished and no alert before: complete, whatever
         * follows (tls.h: only an alert before the end fails a handshake).
         * Dropped now, so a long connection does not hold the others. */
        ex_decide(x, xc, false);
    }
    /* Otherwise (findings, TLS 1.3) the outcome and findings are known
     * only when the connection ends. */
}

static bool ex_selected(const struct extract *x, const struct conn *c)
{
    if (c == NULL)
        return false;
    switch (x->o.only) {
    case EXTRACT_FAILED:
        return c->outcome == OUTCOME_FAILED || c->outcome == OUTCOME_INCOMPLETE;
    case EXTRACT_FINDINGS:
        return c->n_findings > 0;
    default:
        return true;
    }
}

void extract_conn_end(struct extract *x, struct extract_conn *xc, const struct conn *c)
{
    if (xc == NULL)
        return;
    ex_decide(x, xc, ex_selected(x, c));
    xc->ended = true;
    xc_maybe_free(xc);
}

/* ---- the end ---------------------------------------------------------------------- */

static int random_cmp(const void *a, const void *b)
{
    return memcmp(a, b, EX_RANDOM_LEN);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* "LABEL <64 hex> ..." -> the client random; false for anything else. */
static bool line_random(const char *line, size_t n, uint8_t r[EX_RANDOM_LEN])
{
    const char *sp = memchr(line, ' ', n);
    size_t off;

    if (sp == NULL || line[0] == '#')
        return false;
    off = (size_t)(sp - line) + 1;
    if (n - off < 2 * EX_RANDOM_LEN || (n - off > 2 * EX_RANDOM_LEN && line[off + 64] != ' '))
        return false;
    for (size_t i = 0; i < EX_RANDOM_LEN; i++) {
        int hi = hexval((unsigned char)line[off + 2 * i]);
        int lo = hexval((unsigned char)line[off + 2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        r[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static int write_keylog(struct extract *x, const char *in_path, char *errbuf, size_t errlen)
{
    FILE *in, *out;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = TI_OK;

    in = fopen(in_path, "r");
    if (in == NULL) {
        snprintf(errbuf, errlen, "--write-keylog: %s: %s", in_path, strerror(errno));
        return TI_EIO;
    }
    out = fopen(x->o.keylog_out, "w");
    if (out == NULL) {
        snprintf(errbuf, errlen, "--write-keylog %s: %s", x->o.keylog_out, strerror(errno));
        fclose(in);
        return TI_EIO;
    }
    if (x->nrandoms > 1)
        qsort(x->randoms, x->nrandoms, EX_RANDOM_LEN, random_cmp);
    while ((n = getline(&line, &cap, in)) > 0) {
        uint8_t r[EX_RANDOM_LEN];
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (x->nrandoms == 0 || len > EX_KEYLOG_LINE_MAX || !line_random(line, len, r) ||
            bsearch(r, x->randoms, x->nrandoms, EX_RANDOM_LEN, random_cmp) == NULL)
            continue;
        if (fwrite(line, 1, len, out) != len || fputc('\n', out) == EOF)
            break;
        x->st.keylog_lines++;
    }
    free(line);
    if (ferror(in)) {
        snprintf(errbuf, errlen, "--write-keylog: reading %s failed", in_path);
        rc = TI_EIO;
    }
    fclose(in);
    if (ferror(out) | (fclose(out) != 0)) {
        snprintf(errbuf, errlen, "--write-keylog %s: write error", x->o.keylog_out);
        rc = TI_EIO;
    }
    return rc;
}

/* Close OUT; TI_EIO when anything failed to reach the file. */
static int ex_close_out(struct extract *x)
{
    int rc = x->werr ? TI_EIO : TI_OK;

    if (x->f != NULL) {
        if (ferror(x->f) | (fclose(x->f) != 0))
            rc = TI_EIO;
        x->f = NULL;
    }
    if (x->dump != NULL) {
        if (pcap_dump_flush(x->dump) != 0 || ferror(pcap_dump_file(x->dump)))
            rc = TI_EIO;
        pcap_dump_close(x->dump);
        x->dump = NULL;
    }
    if (x->dead != NULL) {
        pcap_close(x->dead);
        x->dead = NULL;
    }
    return rc;
}

int extract_finish(struct extract *x, struct extract_stats *st, char *errbuf, size_t errlen)
{
    int rc;

    /* Every flow has ended, so nothing is undecided; be safe anyway. */
    while (x->head != NULL)
        ex_decide(x, x->head->xc, true);
    rc = ex_close_out(x);
    if (rc != TI_OK) {
        snprintf(errbuf, errlen, "-w %s: write error", x->o.path);
        return rc;
    }
    if (x->oom) {
        snprintf(errbuf, errlen, "-w %s: %s", x->o.path, ti_strerror(TI_ENOMEM));
        return TI_ENOMEM;
    }
    if (x->o.keylog_out != NULL) {
        rc = write_keylog(x, x->keylog_in, errbuf, errlen);
        if (rc != TI_OK)
            return rc;
    }
    if (st != NULL)
        *st = x->st;
    return TI_OK;
}

void extract_free(struct extract *x)
{
    struct ex_held *e;

    if (x == NULL)
        return;
    while ((e = x->head) != NULL) {
        x->head = e->next;
        e->xc->held--;
        xc_maybe_free(e->xc);
        free(e);
    }
    (void)ex_close_out(x);
    free(x->randoms);
    free(x);
}

/* ---- recognising an extract ------------------------------------------------------- */

static uint32_t ng_get32(const uint8_t *p, bool swap)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

bool extract_file_is_extract(const char *path)
{
    uint8_t buf[EX_MARK_SCAN_MAX];
    struct cur c, opts;
    FILE *f;
    size_t n;
    uint32_t blen;
    bool swap, found = false;

    if (path == NULL || strcmp(path, "-") == 0)
        return false;
    f = fopen(path, "rb");
    if (f == NULL)
        return false;
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    /* type(4) length(4) BOM(4) major(2) minor(2) section length(8) options length(4) */
    if (n < 28 || ng_get32(buf, false) != PCAPNG_SHB)
        return false;
    swap = ng_get32(buf + 8, false) != PCAPNG_BOM;
    if (swap && ng_get32(buf + 8, true) != PCAPNG_BOM)
        return false;
    blen = ng_get32(buf + 4, swap);
    if (blen < 28 || blen > n)
        return false;
    c = cur_make(buf, blen - 4);
    if (cur_skip(&c, 24) != TI_OK || cur_bytes(&c, cur_left(&c), &opts) != TI_OK)
        return false;
    while (!found && cur_left(&opts) >= 4) {
        struct cur hdr, val;
        uint16_t code, len;

        if (cur_bytes(&opts, 4, &hdr) != TI_OK)
            break;
        memcpy(&code, hdr.p, 2);
        memcpy(&len, hdr.p + 2, 2);
        if (swap) {
            code = __builtin_bswap16(code);
            len = __builtin_bswap16(len);
        }
        if (code == 0 || cur_bytes(&opts, len, &val) != TI_OK)
            break;
        if (code == PCAPNG_OPT_COMMENT && len == strlen(EXTRACT_MARK) &&
            memcmp(val.p, EXTRACT_MARK, len) == 0)
            found = true;
        if (cur_skip(&opts, ng_pad4(len) - len) != TI_OK)
            break;
    }
    return found;
}
