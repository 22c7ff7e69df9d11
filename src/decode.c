/* decode.c - link layer -> IPv4/IPv6 (through IP-in-IP and GTP-U tunnels) -> TCP header facts for one packet; no allocation. */
#include "tlsinspect/decode.h"

#include <string.h>

#include <pcap/dlt.h>

#include "tlsinspect/cur.h"

/* Link types not every libpcap names the same way (pcap/dlt.h). */
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
/* LINKTYPE_RAW as written in files; libpcap usually maps it to DLT_RAW, but
 * DLT_RAW itself is 12 on most systems and 14 on OpenBSD/BSD/OS. */
#define DECODE_LINKTYPE_RAW 101
#define DECODE_DLT_RAW_12   12
#define DECODE_DLT_RAW_14   14

#define DECODE_MAX_VLAN_TAGS  8   /* 802.1Q/802.1ad tags crossed before giving up */
#define DECODE_MAX_IP6_EXT    8   /* IPv6 extension headers walked before giving up */
/* Encapsulations crossed (IPv6-in-IPv4 6in4, IPv4-in-IPv4, IPv6-in-IPv6,
 * GTP-U) before the packet is left undecoded as not TCP. */
#define DECODE_MAX_TUNNEL_DEPTH 2

#define ETH_HDR_LEN      14
#define SLL_HDR_LEN      16
#define SLL2_HDR_LEN     20
#define NULL_HDR_LEN     4
#define VLAN_TAG_LEN     4
#define PPPOE_HDR_LEN    6
#define IP4_MIN_HDR_LEN  20
#define IP6_HDR_LEN      40
#define TCP_MIN_HDR_LEN  20

#define ETHERTYPE_IPV4     0x0800
#define ETHERTYPE_IPV6     0x86dd
#define ETHERTYPE_8021Q    0x8100
#define ETHERTYPE_8021AD   0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100   /* pre-802.1ad vendor QinQ */
#define ETHERTYPE_PPPOE_S  0x8864
#define ETHERTYPE_MIN      0x0600   /* below: IEEE 802.3 length field (LLC) */

#define PPP_PROTO_IPV4 0x0021
#define PPP_PROTO_IPV6 0x0057

#define IPPROTO_NUM_IPIP     4    /* RFC 2003 IPv4 in IP */
#define IPPROTO_NUM_TCP      6
#define IPPROTO_NUM_UDP      17
#define IPPROTO_NUM_IPV6     41   /* RFC 4213 3.5 (6in4), RFC 2473 (IPv6 in IPv6) */
#define UDP_HDR_LEN          8
#define GTPU_PORT            2152 /* 3GPP TS 29.281 4.4.2 */
#define GTPU_HDR_LEN         8
#define GTPU_OPT_LEN         4    /* sequence number, N-PDU number, next extension type */
#define GTPU_MSG_GPDU        0xff /* G-PDU: a user IP packet follows */
#define GTPU_MAX_EXT         8    /* extension headers walked before giving up */
#define IP6_NH_HOPOPTS       0
#define IP6_NH_ROUTING       43
#define IP6_NH_FRAGMENT      44
#define IP6_NH_AH            51
#define IP6_NH_NONE          59
#define IP6_NH_DSTOPTS       60

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2

static const char *const decode_result_names[] = {
    [DECODE_TCP] = "tcp",
    [DECODE_NOT_TCP] = "not_tcp",
    [DECODE_NOT_IP] = "not_ip",
    [DECODE_FRAGMENT] = "fragment",
    [DECODE_TRUNCATED] = "truncated",
    [DECODE_MALFORMED] = "malformed",
    [DECODE_UNSUPPORTED_LINK] = "unsupported_link",
};

const char *decode_result_name(enum decode_result r)
{
    if ((unsigned)r >= sizeof decode_result_names / sizeof decode_result_names[0] ||
        decode_result_names[r] == NULL)
        return "unknown";
    return decode_result_names[r];
}

/* Which network layer follows the link header. */
enum decode_net { NET_IPV4, NET_IPV6, NET_BY_VERSION, NET_ETHERTYPE, NET_OTHER };

static bool decode_is_raw(int linktype)
{
    /* Compared one by one: DLT_LOOP is 12 on OpenBSD, so a switch with these
     * values could hold duplicate labels on some platform. */
    if (linktype == DLT_LOOP)
        return false;
    return linktype == DLT_RAW || linktype == DECODE_DLT_RAW_12 ||
           linktype == DECODE_DLT_RAW_14 || linktype == DECODE_LINKTYPE_RAW;
}

bool decode_linktype_supported(int linktype)
{
    if (decode_is_raw(linktype))
        return true;
    switch (linktype) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    default:
        return false;
    }
}

/* BSD loopback address family values meaning IPv6: NetBSD/OpenBSD 24,
 * FreeBSD 28, Darwin 30 (the writer's value, whatever OS reads the file). */
static enum decode_net decode_af(uint32_t af)
{
    if (af == 2)
        return NET_IPV4;
    if (af == 24 || af == 28 || af == 30)
        return NET_IPV6;
    return NET_OTHER;
}

/* Cross VLAN tags and PPPoE after an EtherType; leaves c at the IP header. */
static enum decode_result decode_ethertype(struct cur *c, uint16_t etype,
                                           enum decode_net *net, struct pkt_info *out)
{
    for (;;) {
        if (etype == ETHERTYPE_8021Q || etype == ETHERTYPE_8021AD ||
            etype == ETHERTYPE_QINQ_OLD) {
            uint16_t tci;
            if (out->vlan_depth >= DECODE_MAX_VLAN_TAGS)
                return DECODE_MALFORMED;
            if (cur_u16(c, &tci) || cur_u16(c, &etype))
                return DECODE_TRUNCATED;
            out->vlan_depth++;
            continue;
        }
        if (etype == ETHERTYPE_PPPOE_S) {
            /* RFC 2516 section 4: ver/type 0x11, code 0, session, length,
             * then the PPP protocol (RFC 1661), maybe compressed to 1 byte. */
            uint8_t vt = 0, proto1 = 0;
            uint16_t proto;
            if (cur_u8(c, &vt) || cur_skip(c, PPPOE_HDR_LEN - 1) || cur_u8(c, &proto1))
                return DECODE_TRUNCATED;
            if (vt != 0x11)
                return DECODE_MALFORMED;
            if (proto1 & 1) {
                proto = proto1;                 /* protocol field compression */
            } else {
                uint8_t lo;
                if (cur_u8(c, &lo))
                    return DECODE_TRUNCATED;
                proto = (uint16_t)(proto1 << 8 | lo);
            }
            if (proto == PPP_PROTO_IPV4)
                *net = NET_IPV4;
            else if (proto == PPP_PROTO_IPV6)
                *net = NET_IPV6;
            else
                return DECODE_NOT_IP;
            return DECODE_TCP;
        }
        if (etype == ETHERTYPE_IPV4) {
            *net = NET_IPV4;
            return DECODE_TCP;
        }
        if (etype == ETHERTYPE_IPV6) {
            *net = NET_IPV6;
            return DECODE_TCP;
        }
        return DECODE_NOT_IP;   /* ARP, LLDP, 802.3 length + LLC, ... */
    }
}

/* Skip the link header; DECODE_TCP here means "go on with *net at c". */
static enum decode_result decode_link(int linktype, struct cur *c, enum decode_net *net,
                                      struct pkt_info *out)
{
    uint16_t etype = 0;
    uint8_t b[4];

    switch (linktype) {
    case DLT_EN10MB:
        if (cur_skip(c, 12) || cur_u16(c, &etype))
            return DECODE_TRUNCATED;
        if (etype < ETHERTYPE_MIN)
            return DECODE_NOT_IP;
        return decode_ethertype(c, etype, net, out);
    case DLT_LINUX_SLL:
        /* packet type, ARPHRD, addr len, 8-byte addr, protocol */
        if (cur_skip(c, SLL_HDR_LEN - 2) || cur_u16(c, &etype))
            return DECODE_TRUNCATED;
        return decode_ethertype(c, etype, net, out);
    case DLT_LINUX_SLL2:
        /* protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr */
        if (cur_u16(c, &etype) || cur_skip(c, SLL2_HDR_LEN - 2))
            return DECODE_TRUNCATED;
        return decode_ethertype(c, etype, net, out);
    case DLT_IPV4:
        *net = NET_IPV4;
        return DECODE_TCP;
    case DLT_IPV6:
        *net = NET_IPV6;
        return DECODE_TCP;
    case DLT_NULL:
    case DLT_LOOP:
        if (cur_left(c) < NULL_HDR_LEN)
            return DECODE_TRUNCATED;
        memcpy(b, c->p, NULL_HDR_LEN);
        (void)cur_skip(c, NULL_HDR_LEN);
        if (linktype == DLT_LOOP)
            *net = decode_af(ti_be32(b));
        else if ((b[1] | b[2] | b[3]) == 0)
            *net = decode_af(b[0]);     /* little-endian writer */
        else if ((b[0] | b[1] | b[2]) == 0)
            *net = decode_af(b[3]);     /* big-endian writer */
        else
            *net = NET_OTHER;
        return *net == NET_OTHER ? DECODE_NOT_IP : DECODE_TCP;
    default:
        /* raw IP last: its values are not switch labels (decode_is_raw) */
        if (decode_is_raw(linktype)) {
            *net = NET_BY_VERSION;
            return DECODE_TCP;
        }
        return DECODE_UNSUPPORTED_LINK;
    }
}

/* IP payload in two views: what the IP header says went on the wire, and
 * what the capture holds (never more than the wire length: Ethernet padding
 * after the IP datagram is dropped). */
struct decode_ip_payload {
    struct cur cap;
    uint32_t wire_len;
    uint8_t proto;
};

/* The frame's wire length from the IP header on, for headers whose length
 * field is 0 (TSO/GSO captures on the sender, IPv6 jumbograms). */
static uint32_t decode_frame_rest(const struct cur *c, const uint8_t *data, uint32_t wirelen)
{
    size_t off = (size_t)(c->p - data);
    size_t left = cur_left(c);

    if (wirelen > off && wirelen - off > left)
        return (uint32_t)(wirelen - off);
    return (uint32_t)left;
}

static enum decode_result decode_ipv4(struct cur *c, const uint8_t *data, uint32_t wirelen,
                                      struct pkt_info *out, struct decode_ip_payload *pl)
{
    const uint8_t *h = c->p;
    uint32_t hl, tot, cap_rest, frame_rest;
    uint16_t frag;

    if (cur_left(c) < IP4_MIN_HDR_LEN)
        return DECODE_TRUNCATED;
    if (h[0] >> 4 != 4)
        return DECODE_MALFORMED;
    hl = (uint32_t)(h[0] & 0x0f) * 4;
    if (hl < IP4_MIN_HDR_LEN)
        return DECODE_MALFORMED;
    tot = ti_be16(h + 2);
    if (tot == 0) {
        /* Wireshark's TSO heuristic: a sender capturing before segmentation
         * offload writes total length 0; the frame length stands in. */
        tot = decode_frame_rest(c, data, wirelen);
        if (tot > UINT16_MAX)
            tot = UINT16_MAX;
    }
    if (tot < hl)
        return DECODE_MALFORMED;
    if (cur_left(c) < hl)
        return DECODE_TRUNCATED;
    /* A total length beyond the frame is bogus (Wireshark: "IPv4 total
     * length exceeds packet length"): the frame bounds the datagram, and
     * only bytes missing from the capture count as cut by the snaplen. */
    frame_rest = decode_frame_rest(c, data, wirelen);
    if (tot > frame_rest)
        tot = frame_rest;   /* >= hl: the header was captured */
    out->ipver = 4;
    memset(out->src, 0, sizeof(out->src));   /* an outer IPv6 header may have filled them */
    memset(out->dst, 0, sizeof(out->dst));
    memcpy(out->src, h + 12, 4);
    memcpy(out->dst, h + 16, 4);
    frag = ti_be16(h + 6);
    /* RFC 791: MF flag or a non-zero fragment offset. */
    if ((frag & 0x2000) || (frag & 0x1fff))
        return DECODE_FRAGMENT;
    pl->proto = h[9];
    (void)cur_skip(c, hl);
    pl->wire_len = tot - hl;
    cap_rest = (uint32_t)cur_left(c);
    pl->cap = cur_make(c->p, cap_rest < pl->wire_len ? cap_rest : pl->wire_len);
    return pl->proto == IPPROTO_NUM_TCP ? DECODE_TCP : DECODE_NOT_TCP;
}

static enum decode_result decode_ipv6(struct cur *c, const uint8_t *data, uint32_t wirelen,
                                      struct pkt_info *out, struct decode_ip_payload *pl)
{
    const uint8_t *h = c->p;
    uint32_t plen, cap_rest, used = 0;
    uint8_t nh;
    unsigned n;

    if (cur_left(c) < IP6_HDR_LEN)
        return DECODE_TRUNCATED;
    if (h[0] >> 4 != 6)
        return DECODE_MALFORMED;
    plen = ti_be16(h + 4);
    nh = h[6];
    out->ipver = 6;
    memcpy(out->src, h + 8, 16);
    memcpy(out->dst, h + 24, 16);
    (void)cur_skip(c, IP6_HDR_LEN);
    if (plen == 0)   /* jumbogram (RFC 2675) or TSO: the frame says */
        plen = decode_frame_rest(c, data, wirelen);
    else if (plen > decode_frame_rest(c, data, wirelen))
        plen = decode_frame_rest(c, data, wirelen);   /* bogus: see decode_ipv4 */

    /* RFC 8200 section 4: walk the extension header chain, bounded. */
    for (n = 0;; n++) {
        uint32_t ext_len;
        const uint8_t *e = c->p;

        if (nh != IP6_NH_HOPOPTS && nh != IP6_NH_ROUTING && nh != IP6_NH_DSTOPTS &&
            nh != IP6_NH_FRAGMENT && nh != IP6_NH_AH)
            break;
        if (n >= DECODE_MAX_IP6_EXT)
            return DECODE_MALFORMED;
        if (plen - used < 2)
            return DECODE_MALFORMED;
        if (cur_left(c) < 2)
            return DECODE_TRUNCATED;
        if (nh == IP6_NH_FRAGMENT)
            ext_len = 8;
        else if (nh == IP6_NH_AH)
            ext_len = ((uint32_t)e[1] + 2) * 4;     /* RFC 4302 section 2.2 */
        else
            ext_len = ((uint32_t)e[1] + 1) * 8;
        if (ext_len > plen - used)
            return DECODE_MALFORMED;
        if (cur_left(c) < ext_len)
            return DECODE_TRUNCATED;
        if (nh == IP6_NH_FRAGMENT) {
            uint16_t off_m = ti_be16(e + 2);
            /* RFC 6946: offset 0 and M = 0 is an atomic fragment, a whole
             * datagram; anything else is a piece. */
            if ((off_m & 0xfff8) || (off_m & 1))
                return DECODE_FRAGMENT;
        }
        nh = e[0];
        used += ext_len;
        (void)cur_skip(c, ext_len);
    }
    pl->proto = nh;
    pl->wire_len = plen - used;
    cap_rest = (uint32_t)cur_left(c);
    pl->cap = cur_make(c->p, cap_rest < pl->wire_len ? cap_rest : pl->wire_len);
    return nh == IPPROTO_NUM_TCP ? DECODE_TCP : DECODE_NOT_TCP;
}

/* TCP options (RFC 9293 section 3.1): keep the MSS; a malformed option list
 * ends the walk, it does not reject the segment. */
static uint16_t decode_tcp_mss(struct cur opts)
{
    uint16_t mss = 0;
    uint8_t kind, len;

    while (cur_u8(&opts, &kind) == TI_OK) {
        if (kind == TCPOPT_EOL)
            break;
        if (kind == TCPOPT_NOP)
            continue;
        if (cur_u8(&opts, &len) || len < 2 || (size_t)(len - 2) > cur_left(&opts))
            break;
        if (kind == TCPOPT_MSS && len == 4)
            mss = ti_be16(opts.p);
        (void)cur_skip(&opts, (size_t)(len - 2));
    }
    return mss;
}

static enum decode_result decode_tcp(struct decode_ip_payload *pl, struct pkt_info *out)
{
    struct cur *c = &pl->cap;
    const uint8_t *t = c->p;
    struct cur opts = cur_make(NULL, 0);
    uint32_t thl, plen, pwire;

    if (pl->wire_len < TCP_MIN_HDR_LEN)
        return DECODE_MALFORMED;
    if (cur_left(c) < TCP_MIN_HDR_LEN)
        return DECODE_TRUNCATED;
    thl = (uint32_t)(t[12] >> 4) * 4;
    if (thl < TCP_MIN_HDR_LEN || thl > pl->wire_len)
        return DECODE_MALFORMED;
    if (cur_skip(c, TCP_MIN_HDR_LEN) || cur_bytes(c, thl - TCP_MIN_HDR_LEN, &opts))
        return DECODE_TRUNCATED;
    out->sport = ti_be16(t);
    out->dport = ti_be16(t + 2);
    out->seq = ti_be32(t + 4);
    out->ack = ti_be32(t + 8);
    out->flags = t[13] & (TCPF_FIN | TCPF_SYN | TCPF_RST | TCPF_PSH | TCPF_ACK);
    out->window = ti_be16(t + 14);
    out->mss = decode_tcp_mss(opts);
    /* from locals: the flag stores above may alias out's fields, and
     * reading them back merged two 4-byte stores into one 8-byte load that
     * the CPU cannot forward (a stall on every TCP packet) */
    plen = (uint32_t)cur_left(c);
    pwire = pl->wire_len - thl;
    out->payload = c->p;
    out->payload_len = plen;
    out->payload_wire_len = pwire;
    out->snap_cut = plen < pwire;
    out->has_payload = plen > 0 || pwire > 0;
    return DECODE_TCP;
}

/* GTP-U (3GPP TS 29.281 5.1) over UDP port 2152: flags(1) type(1)
 * length(2) TEID(4), then when E, S or PN is set sequence(2) N-PDU(1)
 * next-extension-type(1) and a chain of extensions, each length(1, in
 * 4-byte units) ... next-type(1).  On DECODE_TCP, *inner is the user IP
 * packet of a G-PDU and *inner_wire its length on the wire. */
static enum decode_result decode_gtpu(const struct decode_ip_payload *pl,
                                      struct cur *inner, uint32_t *inner_wire)
{
    struct cur c = pl->cap;
    uint16_t sport, dport;
    uint8_t flags, type, next, elen;
    uint32_t used;

    if (pl->wire_len < UDP_HDR_LEN)
        return DECODE_MALFORMED;
    if (cur_u16(&c, &sport) || cur_u16(&c, &dport) || cur_skip(&c, 4))
        return DECODE_TRUNCATED;
    if (sport != GTPU_PORT && dport != GTPU_PORT)
        return DECODE_NOT_TCP;
    used = UDP_HDR_LEN + GTPU_HDR_LEN;
    if (cur_u8(&c, &flags) || cur_u8(&c, &type) || cur_skip(&c, 6))
        return DECODE_TRUNCATED;
    if ((flags >> 5) != 1 || (flags & 0x10) == 0 || type != GTPU_MSG_GPDU)
        return DECODE_NOT_TCP;   /* not GTPv1-U, or a signalling message */
    if (flags & 0x07) {
        used += GTPU_OPT_LEN;
        if (cur_skip(&c, 3) || cur_u8(&c, &next))
            return DECODE_TRUNCATED;
        for (unsigned n = 0; (flags & 0x04) && next != 0; n++) {
            if (n >= GTPU_MAX_EXT)
                return DECODE_MALFORMED;
            if (cur_u8(&c, &elen))
                return DECODE_TRUNCATED;
            if (elen == 0)
                return DECODE_MALFORMED;
            used += (uint32_t)elen * 4;
            if (cur_skip(&c, (size_t)elen * 4 - 2) || cur_u8(&c, &next))
                return DECODE_TRUNCATED;
        }
    }
    if (used > pl->wire_len)
        return DECODE_MALFORMED;
    *inner = c;
    *inner_wire = pl->wire_len - used;
    return DECODE_TCP;
}

/* The shape of nearly every packet in an Expressway-C tcpdump: Ethernet II
 * without tags, IPv4 without options, not a fragment, TCP or UDP.  Decoded
 * here without the general walk (link switch, tag loop, tunnel loop).  Any
 * other shape -- IPv4 total length 0 or below the header, a fragment, GTP-U,
 * another protocol -- returns false and takes the general path, which
 * alone decides the odd cases; for the shapes taken here the answer and
 * every byte of *out are those of decode_packet_general() (test_decode and
 * fuzz_decode compare the two). */
static inline bool decode_fast(int linktype, const uint8_t *d, uint32_t caplen,
                               uint32_t wirelen, struct pkt_info *out, enum decode_result *r)
{
    const uint8_t *h = d + ETH_HDR_LEN;
    struct decode_ip_payload pl;
    uint32_t tot, left, frame_rest;

    if (linktype != DLT_EN10MB || d == NULL ||
        caplen < ETH_HDR_LEN + IP4_MIN_HDR_LEN + UDP_HDR_LEN)
        return false;
    if (ti_be16(d + 12) != ETHERTYPE_IPV4 || h[0] != 0x45 || (ti_be16(h + 6) & 0x3fff) != 0 ||
        (h[9] != IPPROTO_NUM_TCP && h[9] != IPPROTO_NUM_UDP))
        return false;
    tot = ti_be16(h + 2);
    if (tot < IP4_MIN_HDR_LEN)
        return false;
    left = caplen - ETH_HDR_LEN;                  /* decode_frame_rest() at the IP header */
    frame_rest = wirelen > ETH_HDR_LEN && wirelen - ETH_HDR_LEN > left ? wirelen - ETH_HDR_LEN
                                                                        : left;
    if (tot > frame_rest)
        tot = frame_rest;
    memset(out, 0, sizeof *out);
    out->ipver = 4;
    memcpy(out->src, h + 12, 4);
    memcpy(out->dst, h + 16, 4);
    pl.proto = h[9];
    pl.wire_len = tot - IP4_MIN_HDR_LEN;
    left -= IP4_MIN_HDR_LEN;
    pl.cap = cur_make(h + IP4_MIN_HDR_LEN, left < pl.wire_len ? left : pl.wire_len);
    if (pl.proto == IPPROTO_NUM_TCP) {
        *r = decode_tcp(&pl, out);
        return true;
    }
    /* UDP: not TCP, unless GTP-U carries a packet (the general path's) */
    if (cur_left(&pl.cap) < 4 || ti_be16(pl.cap.p) == GTPU_PORT ||
        ti_be16(pl.cap.p + 2) == GTPU_PORT) {
        struct cur inner;
        uint32_t inner_wire;

        if (decode_gtpu(&pl, &inner, &inner_wire) == DECODE_TCP)
            return false;
    }
    *r = DECODE_NOT_TCP;
    return true;
}

enum decode_result decode_packet(int linktype, const uint8_t *data, uint32_t caplen,
                                 uint32_t wirelen, struct pkt_info *out)
{
    enum decode_result r;

    if (decode_fast(linktype, data, caplen, wirelen, out, &r))
        return r;
    return decode_packet_general(linktype, data, caplen, wirelen, out);
}

enum decode_result decode_packet_general(int linktype, const uint8_t *data, uint32_t caplen,
                                         uint32_t wirelen, struct pkt_info *out)
{
    struct cur c = cur_make(data, data ? caplen : 0);
    struct decode_ip_payload pl;
    enum decode_net net = NET_OTHER;
    enum decode_result r;
    const uint8_t *base = data;   /* start of the current network layer's frame */
    uint32_t base_wire = wirelen;

    memset(out, 0, sizeof *out);
    r = decode_link(linktype, &c, &net, out);
    if (r != DECODE_TCP)
        return r;
    for (unsigned depth = 0;; depth++) {
        if (net == NET_BY_VERSION) {
            if (cur_left(&c) < 1)
                return DECODE_TRUNCATED;
            net = c.p[0] >> 4 == 4 ? NET_IPV4 : c.p[0] >> 4 == 6 ? NET_IPV6 : NET_OTHER;
            if (net == NET_OTHER)
                return depth == 0 ? DECODE_NOT_IP : DECODE_NOT_TCP;
        }
        if (net == NET_IPV4)
            r = decode_ipv4(&c, base, base_wire, out, &pl);
        else
            r = decode_ipv6(&c, base, base_wire, out, &pl);
        if (r != DECODE_NOT_TCP)
            break;
        /* Tunnels: the inner packet is the connection (its addresses are
         * what the endpoints use).  The outer datagram bounds the inner. */
        if (pl.proto == IPPROTO_NUM_IPIP || pl.proto == IPPROTO_NUM_IPV6) {
            if (depth >= DECODE_MAX_TUNNEL_DEPTH)
                return DECODE_NOT_TCP;
            net = pl.proto == IPPROTO_NUM_IPIP ? NET_IPV4 : NET_IPV6;
            c = pl.cap;
            base = pl.cap.p;
            base_wire = pl.wire_len;
        } else if (pl.proto == IPPROTO_NUM_UDP) {
            struct cur inner;
            uint32_t inner_wire;
            /* Plain UDP, or GTP-U we cannot read: a UDP packet all the same. */
            if (decode_gtpu(&pl, &inner, &inner_wire) != DECODE_TCP)
                return r;
            if (depth >= DECODE_MAX_TUNNEL_DEPTH)
                return DECODE_NOT_TCP;
            net = NET_BY_VERSION;
            c = inner;
            base = inner.p;
            base_wire = inner_wire;
        } else {
            return r;
        }
    }
    if (r != DECODE_TCP)
        return r;
    return decode_tcp(&pl, out);
}
