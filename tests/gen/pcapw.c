/* pcapw.c - link-layer framing and capture writers (pcap via libpcap, pcapng by hand, gzip).
 *
 * libpcap 1.10 writes only pcap, so pcapng is written here: one Section
 * Header Block, one Interface Description Block (microsecond resolution,
 * the default if_tsresol) and an Enhanced Packet Block per packet
 * (pcapng spec, draft-ietf-opsawg-pcapng sections 4.1, 4.2, 4.3), in host
 * byte order as the byte-order magic allows.
 */
#include "gen/gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define LINK_HDR_MAX 24            /* SLL2 with an 802.1Q tag is the longest */
#define ETH_MIN_FRAME 60           /* IEEE 802.3 minimum, less the 4-byte FCS */
#define PPPOE_SESSION_ID 0x1d2e    /* any non-zero id (RFC 2516 4) */
#define PCAP_FILE_HDR 24
#define PCAP_REC_HDR 16

/* The Expressway-C's NIC and the next-hop router (what tcpdump sees). */
static const uint8_t MAC_EXPW[6] = {0x00, 0x50, 0x56, 0xa4, 0x2e, 0x2e};
static const uint8_t MAC_GW[6] = {0x00, 0x50, 0x56, 0xa4, 0x01, 0x01};

#define VLAN_OUTER 100             /* 802.1ad service tag */
#define VLAN_INNER 36              /* 802.1Q customer tag (10.48.36.0/24) */

struct link_info {
    int dlt;                       /* for pcap_open_dead */
    uint16_t linktype;             /* LINKTYPE_* written in pcapng */
};

static const struct link_info LINKS[] = {
    [GEN_LINK_ETH] = {DLT_EN10MB, 1},
    [GEN_LINK_QINQ] = {DLT_EN10MB, 1},
    [GEN_LINK_SLL] = {DLT_LINUX_SLL, 113},
    [GEN_LINK_SLL2] = {DLT_LINUX_SLL2, 276},
    [GEN_LINK_RAW] = {DLT_RAW, 101},
    [GEN_LINK_ETH_PAD] = {DLT_EN10MB, 1},
    [GEN_LINK_PPPOE] = {DLT_EN10MB, 1},
    [GEN_LINK_VLAN] = {DLT_EN10MB, 1},
};

int gen_link_dlt(enum gen_link link)
{
    return LINKS[link].dlt;
}

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Build the link header for packet P into hdr; returns its length. */
static size_t link_header(enum gen_link link, const struct gen_pkt *p, uint8_t *hdr)
{
    uint16_t etype = (p->len > 0 && (p->ip[0] >> 4) == 6) ? 0x86dd : 0x0800;
    bool out = p->dir == GEN_C2S;          /* sent by the capturing host */
    const uint8_t *src = out ? MAC_EXPW : MAC_GW, *dst = out ? MAC_GW : MAC_EXPW;

    switch (link) {
    case GEN_LINK_ETH:
    case GEN_LINK_ETH_PAD:
        memcpy(hdr, dst, 6);
        memcpy(hdr + 6, src, 6);
        be16(hdr + 12, etype);
        return 14;
    case GEN_LINK_QINQ:
        memcpy(hdr, dst, 6);
        memcpy(hdr + 6, src, 6);
        be16(hdr + 12, 0x88a8);
        be16(hdr + 14, VLAN_OUTER);
        be16(hdr + 16, 0x8100);
        be16(hdr + 18, VLAN_INNER);
        be16(hdr + 20, etype);
        return 22;
    case GEN_LINK_VLAN:
        /* one 802.1Q tag, as a trunk port or a tagged sub-interface shows */
        memcpy(hdr, dst, 6);
        memcpy(hdr + 6, src, 6);
        be16(hdr + 12, 0x8100);
        be16(hdr + 14, VLAN_INNER);
        be16(hdr + 16, etype);
        return 18;
    case GEN_LINK_SLL:
        /* Linux cooked v1: packet type (0 to us, 4 outgoing), ARPHRD_ETHER,
         * address length, sender address padded to 8, protocol */
        memset(hdr, 0, 16);
        be16(hdr, out ? 4 : 0);
        be16(hdr + 2, 1);
        be16(hdr + 4, 6);
        memcpy(hdr + 6, src, 6);
        if (p->vlan) {
            be16(hdr + 14, 0x8100);
            be16(hdr + 16, p->vlan);
            be16(hdr + 18, etype);
            return 20;
        }
        be16(hdr + 14, etype);
        return 16;
    case GEN_LINK_SLL2:
        /* Linux cooked v2: protocol, reserved, ifindex, ARPHRD_ETHER,
         * packet type, address length, address padded to 8 */
        memset(hdr, 0, 20);
        be16(hdr, etype);
        hdr[4] = 0;
        hdr[5] = 0;
        hdr[6] = 0;
        hdr[7] = p->ifx ? p->ifx : 2;  /* eth0 unless the packet says */
        be16(hdr + 8, 1);
        hdr[10] = out ? 4 : 0;
        hdr[11] = 6;
        memcpy(hdr + 12, src, 6);
        if (p->vlan) {
            be16(hdr, 0x8100);
            be16(hdr + 20, p->vlan);
            be16(hdr + 22, etype);
            return 24;
        }
        return 20;
    case GEN_LINK_PPPOE:
        /* PPPoE session stage: ver/type 0x11, code 0, session id, payload
         * length (the PPP protocol field and the IP packet), then PPP
         * protocol 0x0021 (IPv4) or 0x0057 (IPv6) */
        memcpy(hdr, dst, 6);
        memcpy(hdr + 6, src, 6);
        be16(hdr + 12, 0x8864);
        hdr[14] = 0x11;
        hdr[15] = 0x00;
        be16(hdr + 16, PPPOE_SESSION_ID);
        be16(hdr + 18, (uint16_t)(p->len + 2));
        be16(hdr + 20, etype == 0x86dd ? 0x0057 : 0x0021);
        return 22;
    case GEN_LINK_RAW:
        return 0;
    }
    return 0;
}

static size_t frame(enum gen_link link, const struct gen_pkt *p, uint8_t *buf, size_t cap)
{
    size_t hl = link_header(link, p, buf);
    size_t n = hl + p->len;

    if (n > cap || ETH_MIN_FRAME > cap)
        return 0;
    memcpy(buf + hl, p->ip, p->len);
    /* a short frame goes out padded: bytes after the IP packet that its
     * total length does not count */
    if ((link == GEN_LINK_ETH_PAD || link == GEN_LINK_PPPOE) && n < ETH_MIN_FRAME) {
        memset(buf + n, 0, ETH_MIN_FRAME - n);
        n = ETH_MIN_FRAME;
    }
    return n;
}

void gen_dump_pkt(pcap_dumper_t *d, enum gen_link link, int snaplen, const struct gen_pkt *p)
{
    uint8_t buf[LINK_HDR_MAX + GEN_MAX_PKT];
    size_t n = frame(link, p, buf, sizeof buf);
    struct pcap_pkthdr h;

    if (n == 0)
        return;
    memset(&h, 0, sizeof h);
    h.ts.tv_sec = (time_t)(p->ts / GEN_US);
    h.ts.tv_usec = (suseconds_t)(p->ts % GEN_US);
    h.len = (bpf_u_int32)n;
    h.caplen = (bpf_u_int32)(snaplen > 0 && n > (size_t)snaplen ? (size_t)snaplen : n);
    pcap_dump((u_char *)d, &h, buf);
}

/* ---- pcapng ---------------------------------------------------------------- */
static int ng_write(struct gen_writer *w, const void *p, size_t n)
{
    if (fwrite(p, 1, n, w->ng) != n)
        return -1;
    w->offset += (long)n;
    return 0;
}

static int ng_u32(struct gen_writer *w, uint32_t v)
{
    return ng_write(w, &v, 4);
}

static int ng_u16(struct gen_writer *w, uint16_t v)
{
    return ng_write(w, &v, 2);
}

/* One option: code, length, value padded to 32 bits. */
static int ng_opt(struct gen_writer *w, uint16_t code, const void *val, uint16_t len)
{
    static const uint8_t zeros[4] = {0};

    if (ng_u16(w, code) || ng_u16(w, len) || ng_write(w, val, len))
        return -1;
    return ng_write(w, zeros, (4 - len % 4) % 4);
}

static uint32_t ng_optlen(uint16_t len)
{
    return 4 + ((len + 3u) & ~3u);
}

static int ng_headers(struct gen_writer *w)
{
    static const char appl[] = "tlsinspect tests/gen";
    static const char ifname[] = "eth0";
    uint8_t tsresol = 6;            /* microseconds */
    uint32_t shb = 28 + ng_optlen(sizeof appl - 1) + 4;
    uint32_t idb = 20 + ng_optlen(sizeof ifname - 1) + ng_optlen(1) + 4;
    uint32_t zero = 0;
    int64_t section_len = -1;

    /* Section Header Block */
    if (ng_u32(w, 0x0A0D0D0A) || ng_u32(w, shb) || ng_u32(w, 0x1A2B3C4D) ||
        ng_u16(w, 1) || ng_u16(w, 0) || ng_write(w, &section_len, 8) ||
        ng_opt(w, 4, appl, sizeof appl - 1) || ng_write(w, &zero, 4) || ng_u32(w, shb))
        return -1;
    /* Interface Description Block */
    if (ng_u32(w, 1) || ng_u32(w, idb) || ng_u16(w, LINKS[w->link].linktype) ||
        ng_u16(w, 0) || ng_u32(w, (uint32_t)w->snaplen) ||
        ng_opt(w, 2, ifname, sizeof ifname - 1) || ng_opt(w, 9, &tsresol, 1) ||
        ng_write(w, &zero, 4) || ng_u32(w, idb))
        return -1;
    return 0;
}

/* Enhanced Packet Block: interface 0, 64-bit timestamp in microseconds. */
static int ng_packet(struct gen_writer *w, uint64_t ts, const uint8_t *buf, size_t n)
{
    static const uint8_t zeros[4] = {0};
    uint32_t caplen = (uint32_t)(n > (size_t)w->snaplen ? (size_t)w->snaplen : n);
    uint32_t pad = (4 - caplen % 4) % 4;
    uint32_t blen = 32 + caplen + pad;

    if (ng_u32(w, 6) || ng_u32(w, blen) || ng_u32(w, 0) || ng_u32(w, (uint32_t)(ts >> 32)) ||
        ng_u32(w, (uint32_t)ts) || ng_u32(w, caplen) || ng_u32(w, (uint32_t)n) ||
        ng_write(w, buf, caplen) || ng_write(w, zeros, pad) || ng_u32(w, blen))
        return -1;
    return 0;
}

int gen_writer_open(struct gen_writer *w, const char *path, enum gen_fmt fmt,
                    enum gen_link link, int snaplen)
{
    memset(w, 0, sizeof *w);
    w->fmt = fmt;
    w->link = link;
    w->snaplen = snaplen > 0 ? snaplen : 262144;
    if (fmt == GEN_FMT_PCAPNG) {
        w->ng = fopen(path, "wb");
        if (w->ng == NULL || ng_headers(w) != 0) {
            fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
            if (w->ng)
                fclose(w->ng);
            w->ng = NULL;
            return -1;
        }
        return 0;
    }
    w->pd = pcap_open_dead_with_tstamp_precision(LINKS[link].dlt, w->snaplen,
                                                 PCAP_TSTAMP_PRECISION_MICRO);
    if (w->pd == NULL)
        return -1;
    w->dump = pcap_dump_open(w->pd, path);
    if (w->dump == NULL) {
        fprintf(stderr, "gen: %s: %s\n", path, pcap_geterr(w->pd));
        pcap_close(w->pd);
        w->pd = NULL;
        return -1;
    }
    w->offset = PCAP_FILE_HDR;
    return 0;
}

int gen_writer_put(struct gen_writer *w, const struct gen_pkt *p, long *rec_off)
{
    uint8_t buf[LINK_HDR_MAX + GEN_MAX_PKT];
    size_t n;

    if (rec_off)
        *rec_off = w->offset;
    if (w->fmt == GEN_FMT_PCAP) {
        n = frame(w->link, p, buf, sizeof buf);
        gen_dump_pkt(w->dump, w->link, w->snaplen, p);
        w->offset += PCAP_REC_HDR + (long)(n > (size_t)w->snaplen ? (size_t)w->snaplen : n);
        return n ? 0 : -1;
    }
    n = frame(w->link, p, buf, sizeof buf);
    if (n == 0)
        return -1;
    return ng_packet(w, p->ts, buf, n);
}

int gen_writer_close(struct gen_writer *w)
{
    int rc = 0;

    if (w->dump) {
        if (pcap_dump_flush(w->dump) != 0)
            rc = -1;
        pcap_dump_close(w->dump);
    }
    if (w->pd)
        pcap_close(w->pd);
    if (w->ng && fclose(w->ng) != 0)
        rc = -1;
    w->dump = NULL;
    w->pd = NULL;
    w->ng = NULL;
    return rc;
}

int gen_write_pktlist(const char *path, enum gen_fmt fmt, enum gen_link link, int snaplen,
                      const struct gen_pktlist *l)
{
    struct gen_writer w;
    int rc = 0;

    if (gen_writer_open(&w, path, fmt, link, snaplen) != 0)
        return -1;
    for (size_t i = 0; i < l->n && rc == 0; i++)
        rc = gen_writer_put(&w, &l->v[i], NULL);
    if (gen_writer_close(&w) != 0)
        rc = -1;
    return rc;
}

int gen_gzip_file(const char *src, const char *dst)
{
    uint8_t buf[65536];
    FILE *in = fopen(src, "rb");
    gzFile out;
    size_t n;
    int rc = 0;

    if (in == NULL)
        return -1;
    /* zlib writes MTIME 0 and no name: the .gz is a function of the input */
    out = gzopen(dst, "wb9");
    if (out == NULL) {
        fclose(in);
        return -1;
    }
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (gzwrite(out, buf, (unsigned)n) != (int)n) {
            rc = -1;
            break;
        }
    }
    if (ferror(in))
        rc = -1;
    fclose(in);
    if (gzclose(out) != Z_OK)
        rc = -1;
    return rc;
}
