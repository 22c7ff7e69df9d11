/* decode.h - link layer -> IP -> TCP facts for one packet; no allocation.
 *
 * Link types: EN10MB (with any number of 802.1Q / 802.1ad QinQ tags, and
 * PPPoE sessions), LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL and LOOP.
 * IPv4 with options, IPv6 with extension headers (hop-by-hop, routing,
 * destination options, fragment, AH); TCP with options (MSS kept).
 * IP fragments are reported as DECODE_FRAGMENT and skipped by the caller.
 * IP-in-IP tunnels (6in4, 4in4, 4in6, 6in6; IP protocols 4 and 41) and
 * GTP-U (UDP 2152) are decoded to the inner packet, at most
 * DECODE_MAX_TUNNEL_DEPTH levels deep, and the inner addresses reported.
 * An IP length larger than the frame is capped at the frame (as Wireshark
 * does); a length of 0 (TSO on the capturing host) means "the frame".
 *
 * The payload pointer borrows the packet bytes.  When the snaplen cut the
 * packet, payload_len is what was captured and payload_wire_len what the IP
 * header says, and snap_cut is set.
 */
#ifndef TLSINSPECT_DECODE_H
#define TLSINSPECT_DECODE_H

#include <stdbool.h>
#include <stdint.h>

enum decode_result {
    DECODE_TCP = 0,           /* a TCP segment: pkt_info filled */
    DECODE_NOT_TCP,           /* IP but not TCP (UDP, ICMP, ...) */
    DECODE_NOT_IP,            /* ARP, LLDP, ... */
    DECODE_FRAGMENT,          /* an IP fragment: counted and skipped */
    DECODE_TRUNCATED,         /* headers cut by the snaplen */
    DECODE_MALFORMED,         /* headers inconsistent */
    DECODE_UNSUPPORTED_LINK   /* link type we do not decode */
};
const char *decode_result_name(enum decode_result r);

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10

/* Written by decode_packet() and read right away by the flow table: the
 * addresses come first, 8-byte aligned, so that no store or load of them
 * straddles a cache line. */
struct pkt_info {
    _Alignas(8) uint8_t src[16];  /* IPv4 in the first 4 bytes, rest zero */
    uint8_t dst[16];
    const uint8_t *payload;   /* borrowed */
    uint32_t payload_len;     /* captured payload bytes */
    uint32_t payload_wire_len;/* payload bytes per the IP length */
    uint32_t seq, ack;
    uint16_t sport, dport;
    uint16_t window;
    uint16_t mss;             /* MSS option, 0 if absent */
    uint16_t vlan_depth;      /* 802.1Q/ad tags crossed */
    uint8_t ipver;            /* 4 or 6 */
    uint8_t flags;            /* TCPF_* */
    bool snap_cut;            /* payload_len < payload_wire_len */
    bool has_payload;         /* payload_len > 0 || payload_wire_len > 0 */
};

/* Decode one packet captured on `linktype` (DLT_*). */
enum decode_result decode_packet(int linktype, const uint8_t *data,
                                 uint32_t caplen, uint32_t wirelen,
                                 struct pkt_info *out);

/* The same without the fast path for untagged Ethernet + IPv4 + TCP/UDP:
 * the reference decode_packet() is tested against (same result, same
 * bytes in *out). */
enum decode_result decode_packet_general(int linktype, const uint8_t *data,
                                         uint32_t caplen, uint32_t wirelen,
                                         struct pkt_info *out);

/* True when this link type is one decode_packet() understands. */
bool decode_linktype_supported(int linktype);

#endif
