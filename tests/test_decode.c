/* test_decode.c - link/IP/TCP decoding on hand-built packets, every prefix, damage. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "tlsinspect/decode.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

/* ---- packet builder ------------------------------------------------------ */

#define PKT_CAP 4096

struct pkt {
    uint8_t b[PKT_CAP];
    size_t n;
};

static void app(struct pkt *p, const void *d, size_t n)
{
    assert_true(p->n + n <= PKT_CAP);
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void app8(struct pkt *p, unsigned v)
{
    uint8_t b = (uint8_t)v;
    app(p, &b, 1);
}

static void app16(struct pkt *p, unsigned v)
{
    app8(p, v >> 8);
    app8(p, v);
}

static void app32(struct pkt *p, uint32_t v)
{
    app16(p, v >> 16);
    app16(p, v & 0xffff);
}

static void fill(struct pkt *p, unsigned v, size_t n)
{
    while (n--)
        app8(p, v);
}

static const uint8_t SRC4[4] = {10, 0, 0, 1};
static const uint8_t DST4[4] = {192, 168, 1, 20};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const char PAYLOAD[] = "hello, world";   /* 12 bytes */
#define PAYLOAD_LEN 12u

/* Ethernet II header: dst, src, EtherType/TPID. */
static void eth(struct pkt *p, unsigned etype)
{
    static const uint8_t macs[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    app(p, macs, sizeof macs);
    app16(p, etype);
}

/* One 802.1Q/802.1ad tag body: TCI, then the next EtherType. */
static void vlan(struct pkt *p, unsigned vid, unsigned next)
{
    app16(p, vid & 0xfff);
    app16(p, next);
}

static void pppoe(struct pkt *p, unsigned ppp_proto, unsigned len)
{
    app8(p, 0x11);
    app8(p, 0);
    app16(p, 0x1234);
    app16(p, len);
    app16(p, ppp_proto);
}

/* IPv4 header with optlen option bytes (multiple of 4) before l4len bytes. */
static void ipv4(struct pkt *p, size_t optlen, size_t l4len, unsigned frag, unsigned proto)
{
    app8(p, 0x40 | (unsigned)((20 + optlen) / 4));
    app8(p, 0);
    app16(p, (unsigned)(20 + optlen + l4len));
    app16(p, 0xbeef);
    app16(p, frag);
    app8(p, 64);
    app8(p, proto);
    app16(p, 0);
    app(p, SRC4, 4);
    app(p, DST4, 4);
    fill(p, 1, optlen);   /* NOPs */
}

static void ipv6(struct pkt *p, size_t plen, unsigned nh)
{
    app32(p, 0x60000000u);
    app16(p, (unsigned)plen);
    app8(p, nh);
    app8(p, 64);
    app(p, SRC6, 16);
    app(p, DST6, 16);
}

/* IPv6 hop-by-hop / destination options header of (hlen+1)*8 bytes. */
static void ip6_opts(struct pkt *p, unsigned nh, unsigned hlen)
{
    app8(p, nh);
    app8(p, hlen);
    app8(p, 1);                   /* PadN covering the rest */
    app8(p, (hlen + 1) * 8 - 4);
    fill(p, 0, (hlen + 1) * 8 - 4);
}

static void ip6_frag(struct pkt *p, unsigned nh, unsigned offset, unsigned more)
{
    app8(p, nh);
    app8(p, 0);
    app16(p, (offset << 3) | (more ? 1 : 0));
    app32(p, 0xabcdef01u);
}

#define TCP_SPORT 40001
#define TCP_DPORT 8443
#define TCP_SEQ 0x01020304u
#define TCP_ACK 0xa0b0c0d0u
#define TCP_WIN 0x7210

/* TCP header with optlen option bytes (multiple of 4) and a payload. */
static void tcp(struct pkt *p, const uint8_t *opts, size_t optlen, unsigned flags,
                const void *payload, size_t plen)
{
    app16(p, TCP_SPORT);
    app16(p, TCP_DPORT);
    app32(p, TCP_SEQ);
    app32(p, TCP_ACK);
    app8(p, (unsigned)((20 + optlen) / 4) << 4);
    app8(p, flags);
    app16(p, TCP_WIN);
    app16(p, 0);
    app16(p, 0);
    if (optlen)
        app(p, opts, optlen);
    if (plen)
        app(p, payload, plen);
}

static void tcp_std(struct pkt *p)
{
    tcp(p, NULL, 0, TCPF_PSH | TCPF_ACK, PAYLOAD, PAYLOAD_LEN);
}

/* Checks common to every well-formed TCP packet built above. */
static void check_tcp(const struct pkt *p, enum decode_result r, const struct pkt_info *pi,
                      unsigned ipver, size_t payload_off)
{
    assert_int_equal(r, DECODE_TCP);
    assert_int_equal(pi->ipver, ipver);
    if (ipver == 4) {
        assert_memory_equal(pi->src, SRC4, 4);
        assert_memory_equal(pi->dst, DST4, 4);
        for (int i = 4; i < 16; i++)
            assert_int_equal(pi->src[i] | pi->dst[i], 0);
    } else {
        assert_memory_equal(pi->src, SRC6, 16);
        assert_memory_equal(pi->dst, DST6, 16);
    }
    assert_int_equal(pi->sport, TCP_SPORT);
    assert_int_equal(pi->dport, TCP_DPORT);
    assert_int_equal(pi->seq, TCP_SEQ);
    assert_int_equal(pi->ack, TCP_ACK);
    assert_int_equal(pi->window, TCP_WIN);
    assert_ptr_equal(pi->payload, p->b + payload_off);
    assert_int_equal(pi->payload_len, PAYLOAD_LEN);
    assert_int_equal(pi->payload_wire_len, PAYLOAD_LEN);
    assert_false(pi->snap_cut);
    assert_true(pi->has_payload);
    assert_memory_equal(pi->payload, PAYLOAD, PAYLOAD_LEN);
}

static enum decode_result dec(int lt, const struct pkt *p, struct pkt_info *pi)
{
    return decode_packet(lt, p->b, (uint32_t)p->n, (uint32_t)p->n, pi);
}

/* ---- link types ------------------------------------------------------------ */

static void test_eth_ipv4(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    eth(&p, 0x0800);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0x4000 /* DF */, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 4, 14 + 20 + 20);
    assert_int_equal(pi.flags, TCPF_PSH | TCPF_ACK);
    assert_int_equal(pi.vlan_depth, 0);
    assert_int_equal(pi.mss, 0);
}

static void test_eth_ipv6(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    eth(&p, 0x86dd);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 6, 14 + 40 + 20);
}

static void test_vlan_tags(void **state)
{
    static const unsigned tpids[] = {0x8100, 0x88a8, 0x9100};
    struct pkt p;
    struct pkt_info pi;

    for (size_t t = 0; t < 3; t++) {   /* one tag of each kind */
        p.n = 0;
        eth(&p, tpids[t]);
        vlan(&p, 100, 0x0800);
        ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
        tcp_std(&p);
        check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 4, 18 + 40);
        assert_int_equal(pi.vlan_depth, 1);
    }

    /* QinQ: 802.1ad outer, 802.1Q inner, IPv6 */
    p.n = 0;
    eth(&p, 0x88a8);
    vlan(&p, 10, 0x8100);
    vlan(&p, 20, 0x86dd);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 6, 22 + 60);
    assert_int_equal(pi.vlan_depth, 2);

    /* 8 tags is the cap: still decoded; 9 is refused */
    for (unsigned ntags = 8; ntags <= 9; ntags++) {
        p.n = 0;
        eth(&p, 0x8100);
        for (unsigned i = 0; i < ntags; i++)
            vlan(&p, i, i + 1 < ntags ? 0x8100 : 0x0800);
        ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
        tcp_std(&p);
        if (ntags == 8) {
            check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 4, 14 + 4 * 8 + 40);
            assert_int_equal(pi.vlan_depth, 8);
        } else {
            assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
        }
    }
}

static void test_pppoe(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    eth(&p, 0x8864);
    pppoe(&p, 0x0021, 2 + 40 + PAYLOAD_LEN);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 4, 14 + 8 + 40);

    /* IPv6 in PPPoE inside a VLAN */
    p.n = 0;
    eth(&p, 0x8100);
    vlan(&p, 7, 0x8864);
    pppoe(&p, 0x0057, 2 + 60 + PAYLOAD_LEN);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 6, 18 + 8 + 60);
    assert_int_equal(pi.vlan_depth, 1);

    /* PPP protocol field compression (RFC 1661 section 6.5): 1-byte 0x21 */
    p.n = 0;
    eth(&p, 0x8864);
    app8(&p, 0x11);
    app8(&p, 0);
    app16(&p, 1);
    app16(&p, 1 + 40 + PAYLOAD_LEN);
    app8(&p, 0x21);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 4, 14 + 7 + 40);

    /* LCP (0xc021) is not IP */
    p.n = 0;
    eth(&p, 0x8864);
    pppoe(&p, 0xc021, 10);
    fill(&p, 0, 10);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_NOT_IP);

    /* wrong PPPoE version/type */
    p.n = 0;
    eth(&p, 0x8864);
    pppoe(&p, 0x0021, 2 + 40);
    p.b[14] = 0x21;
    ipv4(&p, 0, 20, 0, 6);
    tcp(&p, NULL, 0, TCPF_ACK, NULL, 0);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
}

static void test_sll(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    /* SLL v1: packet type 0 (to us), ARPHRD_ETHER, addr len 6, addr, protocol */
    app16(&p, 0);
    app16(&p, 1);
    app16(&p, 6);
    fill(&p, 0xaa, 8);
    app16(&p, 0x0800);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_LINUX_SLL, &p, &pi), &pi, 4, 16 + 40);

    /* SLL v2: protocol, reserved, ifindex, ARPHRD, pkttype, addr len, addr */
    p.n = 0;
    app16(&p, 0x86dd);
    app16(&p, 0);
    app32(&p, 3);
    app16(&p, 1);
    app8(&p, 4);
    app8(&p, 6);
    fill(&p, 0xbb, 8);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_LINUX_SLL2, &p, &pi), &pi, 6, 20 + 60);

    /* SLL v2 carrying ARP */
    p.b[0] = 0x08;
    p.b[1] = 0x06;
    assert_int_equal(dec(DLT_LINUX_SLL2, &p, &pi), DECODE_NOT_IP);
}

static void test_null_loop(void **state)
{
    static const uint8_t af_le4[4] = {2, 0, 0, 0}, af_be4[4] = {0, 0, 0, 2};
    static const uint8_t v6_afs[] = {24, 28, 30};
    struct pkt p;
    struct pkt_info pi;

    /* DLT_NULL: host byte order of the writer, either order accepted */
    for (int order = 0; order < 2; order++) {
        p.n = 0;
        app(&p, order ? af_be4 : af_le4, 4);
        ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
        tcp_std(&p);
        check_tcp(&p, dec(DLT_NULL, &p, &pi), &pi, 4, 4 + 40);
    }
    for (size_t i = 0; i < sizeof v6_afs; i++) {
        for (int order = 0; order < 2; order++) {
            p.n = 0;
            if (order)
                app32(&p, v6_afs[i]);
            else
                app(&p, (uint8_t[4]){v6_afs[i], 0, 0, 0}, 4);
            ipv6(&p, 20 + PAYLOAD_LEN, 6);
            tcp_std(&p);
            check_tcp(&p, dec(DLT_NULL, &p, &pi), &pi, 6, 4 + 60);
        }
    }
    /* AF_APPLETALK-ish value, and a value that is neither order */
    p.b[0] = 0;
    p.b[1] = 0;
    p.b[2] = 0;
    p.b[3] = 16;
    assert_int_equal(dec(DLT_NULL, &p, &pi), DECODE_NOT_IP);
    p.b[0] = 2;
    p.b[3] = 2;
    assert_int_equal(dec(DLT_NULL, &p, &pi), DECODE_NOT_IP);

    /* DLT_LOOP: network byte order only */
    p.n = 0;
    app(&p, af_be4, 4);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_LOOP, &p, &pi), &pi, 4, 4 + 40);
    memcpy(p.b, af_le4, 4);
    assert_int_equal(dec(DLT_LOOP, &p, &pi), DECODE_NOT_IP);
    p.n = 0;
    app32(&p, 30);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_LOOP, &p, &pi), &pi, 6, 4 + 60);
}

static void test_raw(void **state)
{
    static const int raw_types[] = {DLT_RAW, 12, 14, 101};
    struct pkt p4 = {.n = 0}, p6 = {.n = 0};
    struct pkt_info pi;

    ipv4(&p4, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p4);
    ipv6(&p6, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p6);
    for (size_t i = 0; i < 4; i++) {
        assert_true(decode_linktype_supported(raw_types[i]));
        check_tcp(&p4, dec(raw_types[i], &p4, &pi), &pi, 4, 40);
        check_tcp(&p6, dec(raw_types[i], &p6, &pi), &pi, 6, 60);
    }
    check_tcp(&p4, dec(DLT_IPV4, &p4, &pi), &pi, 4, 40);
    check_tcp(&p6, dec(DLT_IPV6, &p6, &pi), &pi, 6, 60);
    /* the link type promises a version: a mismatch is inconsistent */
    assert_int_equal(dec(DLT_IPV4, &p6, &pi), DECODE_MALFORMED);
    assert_int_equal(dec(DLT_IPV6, &p4, &pi), DECODE_MALFORMED);
    /* raw with version 5: not IP we know */
    p4.b[0] = 0x55;
    assert_int_equal(dec(DLT_RAW, &p4, &pi), DECODE_NOT_IP);
}

static void test_not_ip_and_unsupported(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    eth(&p, 0x0806);                 /* ARP */
    fill(&p, 0, 28);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_NOT_IP);
    p.b[12] = 0x00;                  /* 802.3 length field + LLC */
    p.b[13] = 0x2e;
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_NOT_IP);

    p.n = 0;
    eth(&p, 0x0800);
    ipv4(&p, 0, 8, 0, 17);           /* UDP */
    fill(&p, 0, 8);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_NOT_TCP);
    assert_int_equal(pi.ipver, 4);

    p.n = 0;
    eth(&p, 0x86dd);
    ipv6(&p, 8, 58);                 /* ICMPv6 */
    fill(&p, 0, 8);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_NOT_TCP);

    assert_int_equal(dec(DLT_IEEE802_11, &p, &pi), DECODE_UNSUPPORTED_LINK);
    assert_int_equal(dec(-1, &p, &pi), DECODE_UNSUPPORTED_LINK);
    assert_false(decode_linktype_supported(DLT_IEEE802_11));
    assert_false(decode_linktype_supported(DLT_PPP));
    assert_true(decode_linktype_supported(DLT_EN10MB));
    assert_true(decode_linktype_supported(DLT_LINUX_SLL));
    assert_true(decode_linktype_supported(DLT_LINUX_SLL2));
    assert_true(decode_linktype_supported(DLT_NULL));
    assert_true(decode_linktype_supported(DLT_LOOP));
    assert_true(decode_linktype_supported(DLT_IPV4));
    assert_true(decode_linktype_supported(DLT_IPV6));
}

static void test_result_names(void **state)
{
    assert_string_equal(decode_result_name(DECODE_TCP), "tcp");
    assert_string_equal(decode_result_name(DECODE_FRAGMENT), "fragment");
    assert_string_equal(decode_result_name(DECODE_TRUNCATED), "truncated");
    assert_string_equal(decode_result_name(DECODE_MALFORMED), "malformed");
    assert_string_equal(decode_result_name(DECODE_UNSUPPORTED_LINK), "unsupported_link");
    assert_string_equal(decode_result_name((enum decode_result)99), "unknown");
    assert_string_equal(decode_result_name((enum decode_result)-1), "unknown");
}

/* ---- IP ------------------------------------------------------------------------ */

static void test_ipv4_options(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    /* IHL 15: 40 bytes of options, the maximum */
    eth(&p, 0x0800);
    ipv4(&p, 40, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 4, 14 + 60 + 20);

    p.n = 0;
    eth(&p, 0x0800);
    ipv4(&p, 12, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 4, 14 + 32 + 20);
}

static void test_ipv6_ext_headers(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    /* hop-by-hop (8) + destination options (16) */
    eth(&p, 0x86dd);
    ipv6(&p, 8 + 16 + 20 + PAYLOAD_LEN, 0);
    ip6_opts(&p, 60, 0);
    ip6_opts(&p, 6, 1);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 6, 14 + 40 + 24 + 20);

    /* routing (8) + AH (payload len 4 -> (4+2)*4 = 24 bytes) */
    p.n = 0;
    eth(&p, 0x86dd);
    ipv6(&p, 8 + 24 + 20 + PAYLOAD_LEN, 43);
    ip6_opts(&p, 51, 0);
    app8(&p, 6);
    app8(&p, 4);
    fill(&p, 0, 22);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 6, 14 + 40 + 32 + 20);

    /* atomic fragment (offset 0, M 0): a whole datagram */
    p.n = 0;
    eth(&p, 0x86dd);
    ipv6(&p, 8 + 20 + PAYLOAD_LEN, 44);
    ip6_frag(&p, 6, 0, 0);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 6, 14 + 48 + 20);

    /* no next header */
    p.n = 0;
    eth(&p, 0x86dd);
    ipv6(&p, 8, 0);
    ip6_opts(&p, 59, 0);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_NOT_TCP);

    /* 8 extension headers decode, 9 are refused */
    for (unsigned next = 8; next <= 9; next++) {
        p.n = 0;
        eth(&p, 0x86dd);
        ipv6(&p, next * 8 + 20 + PAYLOAD_LEN, 60);
        for (unsigned i = 0; i < next; i++)
            ip6_opts(&p, i + 1 < next ? 60 : 6, 0);
        tcp_std(&p);
        if (next == 8)
            check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 6, 14 + 40 + 64 + 20);
        else
            assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
    }

    /* extension header longer than the IPv6 payload length */
    p.n = 0;
    eth(&p, 0x86dd);
    ipv6(&p, 8, 0);
    ip6_opts(&p, 6, 1);          /* 16 bytes but payload length says 8 */
    tcp_std(&p);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
}

static void test_fragments(void **state)
{
    /* IPv4 fragments: the first piece (MF), a later piece, and a fragment
     * of UDP, which is a fragment too. */
    static const struct { uint16_t frag; uint8_t proto; } v4[] = {
        {0x2000 /* MF */, 6}, {185 /* offset 1480 */, 6}, {0x2000, 17},
    };
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        p.n = 0;
        eth(&p, 0x0800);
        if (v4[i].proto == 6) {
            ipv4(&p, 0, 20 + PAYLOAD_LEN, v4[i].frag, 6);
            tcp_std(&p);
        } else {
            ipv4(&p, 0, 16, v4[i].frag, v4[i].proto);
            fill(&p, 0, 16);
        }
        assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_FRAGMENT);
    }

    for (int kind = 0; kind < 2; kind++) {   /* first piece (M=1), later piece */
        p.n = 0;
        eth(&p, 0x86dd);
        ipv6(&p, 8 + 20 + PAYLOAD_LEN, 44);
        ip6_frag(&p, 6, kind ? 100 : 0, kind ? 0 : 1);
        tcp_std(&p);
        assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_FRAGMENT);
    }
}

static void test_ethernet_padding(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    /* bare ACK: 54 bytes, padded to the 60-byte minimum with junk */
    eth(&p, 0x0800);
    ipv4(&p, 0, 20, 0, 6);
    tcp(&p, NULL, 0, TCPF_ACK, NULL, 0);
    fill(&p, 0xee, 6);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 0);
    assert_int_equal(pi.payload_wire_len, 0);
    assert_false(pi.snap_cut);
    assert_false(pi.has_payload);     /* padding is not payload */
    assert_int_equal(pi.flags, TCPF_ACK);

    /* 2-byte payload then 4 padding bytes */
    p.n = 0;
    eth(&p, 0x0800);
    ipv4(&p, 0, 22, 0, 6);
    tcp(&p, NULL, 0, TCPF_ACK, "ab", 2);
    fill(&p, 0xee, 4);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 2);
    assert_int_equal(pi.payload_wire_len, 2);
    assert_memory_equal(pi.payload, "ab", 2);

    /* same over IPv6 (payload length honoured) */
    p.n = 0;
    eth(&p, 0x86dd);
    ipv6(&p, 20 + 2, 6);
    tcp(&p, NULL, 0, TCPF_ACK, "ab", 2);
    fill(&p, 0xee, 8);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 2);
    assert_int_equal(pi.payload_wire_len, 2);
}

static void test_snaplen_cut(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;
    uint8_t big[1000];

    memset(big, 'x', sizeof big);
    eth(&p, 0x0800);
    ipv4(&p, 0, 20 + sizeof big, 0, 6);
    tcp(&p, NULL, 0, TCPF_ACK, big, sizeof big);
    assert_int_equal(p.n, 14 + 40 + 1000);
    /* tcpdump -s 96 */
    assert_int_equal(decode_packet(DLT_EN10MB, p.b, 96, (uint32_t)p.n, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 96 - 54);
    assert_int_equal(pi.payload_wire_len, 1000);
    assert_true(pi.snap_cut);
    assert_ptr_equal(pi.payload, p.b + 54);

    /* cut exactly after the TCP header: no byte captured, yet payload */
    assert_int_equal(decode_packet(DLT_EN10MB, p.b, 54, (uint32_t)p.n, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 0);
    assert_int_equal(pi.payload_wire_len, 1000);
    assert_true(pi.snap_cut);
    assert_true(pi.has_payload);

    /* one byte short of complete */
    assert_int_equal(decode_packet(DLT_EN10MB, p.b, (uint32_t)p.n - 1, (uint32_t)p.n, &pi),
                     DECODE_TCP);
    assert_int_equal(pi.payload_len, 999);
    assert_true(pi.snap_cut);
}

/* Sender-side captures with TSO carry IP length 0; the frame length stands in. */
static void test_tso_zero_length(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    eth(&p, 0x0800);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    p.b[16] = 0;
    p.b[17] = 0;
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 4, 54);
    /* snaplen cut a TSO super-packet: the wire length says how much is missing */
    assert_int_equal(decode_packet(DLT_EN10MB, p.b, 60, 3000, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 6);
    assert_int_equal(pi.payload_wire_len, 3000 - 54);
    assert_true(pi.snap_cut);

    p.n = 0;
    eth(&p, 0x86dd);
    ipv6(&p, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 6, 74);
}

/* ---- malformed ---------------------------------------------------------------- */

static void test_malformed_ip_tcp(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    eth(&p, 0x0800);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);

    for (unsigned ihl = 0; ihl < 5; ihl++) {     /* IHL < 5 */
        p.b[14] = (uint8_t)(0x40 | ihl);
        assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
    }
    p.b[14] = 0x45;
    p.b[14] = 0x65;                              /* version 6 under EtherType IPv4 */
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
    p.b[14] = 0x45;

    p.b[17] = 19;                                /* total length < header */
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
    p.b[17] = 20;                                /* room for no TCP header */
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
    p.b[17] = 39;                                /* TCP header one byte short */
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
    p.b[17] = 40;                                /* exactly a header: empty payload */
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 0);
    assert_int_equal(pi.payload_wire_len, 0);
    p.b[17] = 40 + PAYLOAD_LEN;

    for (unsigned doff = 0; doff < 5; doff++) {  /* data offset < 5 */
        p.b[14 + 20 + 12] = (uint8_t)(doff << 4);
        assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
    }
    /* data offset 8 (32 bytes) fits in 32 bytes of IP payload; 9 does not */
    p.b[14 + 20 + 12] = 8 << 4;
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 0);
    p.b[14 + 20 + 12] = 9 << 4;
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
    p.b[14 + 20 + 12] = 15 << 4;
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_MALFORMED);
}

static void test_tcp_options(void **state)
{
    struct {
        uint8_t opts[20];
        size_t len;
        uint16_t mss;
    } cases[] = {
        /* SYN style: MSS, SACK-permitted, timestamps, NOP, window scale */
        {{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}, 20, 1460},
        {{1, 1, 1, 1, 2, 4, 0x21, 0x34}, 8, 0x2134},      /* NOPs then MSS */
        {{0, 0, 0, 0, 2, 4, 0x05, 0xb4}, 8, 0},           /* EOL: rest ignored */
        {{2, 3, 0x05, 0}, 4, 0},                          /* MSS of wrong length */
        {{8, 0, 2, 4, 0x05, 0xb4, 0, 0}, 8, 0},           /* length 0: stop */
        {{8, 1, 2, 4, 0x05, 0xb4, 0, 0}, 8, 0},           /* length 1: stop */
        {{1, 1, 8, 40, 2, 4, 0x05, 0xb4}, 8, 0},          /* length past the end */
        {{1, 1, 1, 2}, 4, 0},                             /* kind without length */
        {{2, 4, 0x01, 0x00, 1, 1, 8, 200}, 8, 0x100},     /* MSS then garbage */
        {{1, 1, 2, 4}, 4, 0},                             /* MSS cut by the header end */
    };
    struct pkt_info pi;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pkt p = {.n = 0};

        eth(&p, 0x0800);
        ipv4(&p, 0, 20 + cases[i].len + PAYLOAD_LEN, 0, 6);
        tcp(&p, cases[i].opts, cases[i].len, TCPF_SYN, PAYLOAD, PAYLOAD_LEN);
        check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 4, 54 + cases[i].len);
        assert_int_equal(pi.mss, cases[i].mss);
        assert_int_equal(pi.flags, TCPF_SYN);
    }
}

static void test_flags(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    eth(&p, 0x0800);
    ipv4(&p, 0, 20, 0, 6);
    tcp(&p, NULL, 0, 0xff, NULL, 0);     /* every flag incl. URG, ECE, CWR */
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.flags, TCPF_FIN | TCPF_SYN | TCPF_RST | TCPF_PSH | TCPF_ACK);
    p.b[14 + 20 + 13] = TCPF_RST;
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.flags, TCPF_RST);
}

/* ---- every prefix ------------------------------------------------------------- */

/* Decode every prefix of p from a heap copy of exactly that many bytes (so
 * ASan sees any over-read): shorter than the headers -> TRUNCATED, else TCP
 * with the captured part of the payload and snap_cut. */
static void check_prefixes(int lt, const struct pkt *p, size_t hdr_end)
{
    struct pkt_info pi;

    for (size_t k = 0; k <= p->n; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        enum decode_result r;

        assert_non_null(copy);
        memcpy(copy, p->b, k);
        r = decode_packet(lt, copy, (uint32_t)k, (uint32_t)p->n, &pi);
        if (k < hdr_end) {
            assert_int_equal(r, DECODE_TRUNCATED);
        } else {
            assert_int_equal(r, DECODE_TCP);
            assert_ptr_equal(pi.payload, copy + hdr_end);
            assert_int_equal(pi.payload_len, k - hdr_end);
            assert_int_equal(pi.payload_wire_len, p->n - hdr_end);
            assert_int_equal(pi.snap_cut, k < p->n);
        }
        free(copy);
    }
}

static void test_prefixes(void **state)
{
    static const uint8_t mss_opts[8] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
    struct pkt p;

    p.n = 0;                                     /* Ethernet, IPv4 options, TCP options */
    eth(&p, 0x0800);
    ipv4(&p, 8, 28 + PAYLOAD_LEN, 0, 6);
    tcp(&p, mss_opts, 8, TCPF_ACK, PAYLOAD, PAYLOAD_LEN);
    check_prefixes(DLT_EN10MB, &p, 14 + 28 + 28);

    p.n = 0;                                     /* QinQ + PPPoE + IPv6 ext headers */
    eth(&p, 0x88a8);
    vlan(&p, 1, 0x8100);
    vlan(&p, 2, 0x8864);
    pppoe(&p, 0x0057, 2 + 40 + 24 + 20 + PAYLOAD_LEN);
    ipv6(&p, 24 + 20 + PAYLOAD_LEN, 0);
    ip6_opts(&p, 44, 1);
    ip6_frag(&p, 6, 0, 0);
    tcp_std(&p);
    check_prefixes(DLT_EN10MB, &p, 14 + 8 + 8 + 40 + 24 + 20);

    p.n = 0;                                     /* SLL */
    app16(&p, 0);
    app16(&p, 1);
    app16(&p, 6);
    fill(&p, 0xaa, 8);
    app16(&p, 0x0800);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_prefixes(DLT_LINUX_SLL, &p, 16 + 40);

    p.n = 0;                                     /* SLL2 */
    app16(&p, 0x86dd);
    fill(&p, 0, 18);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    check_prefixes(DLT_LINUX_SLL2, &p, 20 + 60);

    p.n = 0;                                     /* NULL, LOOP */
    app32(&p, 2);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_prefixes(DLT_NULL, &p, 44);
    check_prefixes(DLT_LOOP, &p, 44);

    p.n = 0;                                     /* RAW */
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    check_prefixes(DLT_RAW, &p, 60);
    check_prefixes(DLT_IPV6, &p, 60);
}

/* ---- tunnels --------------------------------------------------------------- */

/* Outer headers get their own addresses so the tests can tell that the
 * endpoints come from the inner packet. */
static void ipv4_outer(struct pkt *p, size_t l4len, unsigned proto)
{
    size_t at = p->n;
    ipv4(p, 0, l4len, 0, proto);
    p->b[at + 12] = 198;   /* 198.51.100.7 -> 203.0.113.9 */
    p->b[at + 13] = 51;
    p->b[at + 14] = 100;
    p->b[at + 15] = 7;
    p->b[at + 16] = 203;
    p->b[at + 17] = 0;
    p->b[at + 18] = 113;
    p->b[at + 19] = 9;
}

static void ipv6_outer(struct pkt *p, size_t plen, unsigned nh)
{
    size_t at = p->n;
    ipv6(p, plen, nh);
    p->b[at + 23] = 0x77;   /* 2001:db8::77 -> 2001:db8::78 */
    p->b[at + 39] = 0x78;
}

static void test_ip_tunnels(void **state)
{
    struct pkt p;
    struct pkt_info pi;

    p.n = 0;                                     /* 6in4 (RFC 4213 3.5): protocol 41 */
    eth(&p, 0x0800);
    ipv4_outer(&p, 40 + 20 + PAYLOAD_LEN, 41);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 6, 14 + 20 + 40 + 20);
    check_prefixes(DLT_EN10MB, &p, 14 + 20 + 40 + 20);

    p.n = 0;                                     /* IPv4 in IPv4 (RFC 2003): protocol 4 */
    ipv4_outer(&p, 20 + 20 + PAYLOAD_LEN, 4);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_RAW, &p, &pi), &pi, 4, 20 + 20 + 20);
    check_prefixes(DLT_RAW, &p, 60);

    p.n = 0;                                     /* IPv6 in IPv6 (RFC 2473) after a hop-by-hop header */
    eth(&p, 0x86dd);
    ipv6_outer(&p, 16 + 40 + 20 + PAYLOAD_LEN, 0);
    ip6_opts(&p, 41, 1);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 6, 14 + 40 + 16 + 40 + 20);

    p.n = 0;                                     /* IPv4 in IPv6 */
    ipv6_outer(&p, 20 + 20 + PAYLOAD_LEN, 4);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_IPV6, &p, &pi), &pi, 4, 40 + 20 + 20);

    p.n = 0;                                     /* two levels: still decoded */
    ipv4_outer(&p, 40 + 20 + 20 + PAYLOAD_LEN, 41);
    ipv6_outer(&p, 20 + 20 + PAYLOAD_LEN, 4);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_RAW, &p, &pi), &pi, 4, 20 + 40 + 20 + 20);

    p.n = 0;                                     /* three levels: beyond the bound */
    ipv4_outer(&p, 20 + 40 + 20 + 20 + PAYLOAD_LEN, 4);
    ipv4_outer(&p, 40 + 20 + 20 + PAYLOAD_LEN, 41);
    ipv6_outer(&p, 20 + 20 + PAYLOAD_LEN, 4);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    assert_int_equal(dec(DLT_RAW, &p, &pi), DECODE_NOT_TCP);

    p.n = 0;                                     /* protocol 41 but an IPv4 header inside */
    ipv4_outer(&p, 20 + 20 + PAYLOAD_LEN, 41);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    assert_int_equal(dec(DLT_RAW, &p, &pi), DECODE_MALFORMED);

    p.n = 0;                                     /* inner UDP: not TCP */
    ipv4_outer(&p, 40 + 8, 41);
    ipv6(&p, 8, 17);
    fill(&p, 0, 8);
    assert_int_equal(dec(DLT_RAW, &p, &pi), DECODE_NOT_TCP);

    p.n = 0;                                     /* fragmented outer: skipped as a fragment */
    ipv4(&p, 0, 40 + 20 + PAYLOAD_LEN, 0x2000, 41);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    assert_int_equal(dec(DLT_RAW, &p, &pi), DECODE_FRAGMENT);

    /* the outer datagram bounds the inner one: an inner length claiming
     * more than the outer carries is cut to it, and is no snaplen cut */
    p.n = 0;
    ipv4_outer(&p, 40 + 20 + 6, 41);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    p.n -= PAYLOAD_LEN - 6;
    assert_int_equal(dec(DLT_RAW, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 6);
    assert_int_equal(pi.payload_wire_len, 6);
    assert_false(pi.snap_cut);
    /* a snaplen cut inside the inner packet still shows as one */
    p.n = 0;
    ipv4_outer(&p, 40 + 20 + PAYLOAD_LEN, 41);
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    assert_int_equal(decode_packet(DLT_RAW, p.b, (uint32_t)p.n - 5, (uint32_t)p.n, &pi),
                     DECODE_TCP);
    assert_int_equal(pi.payload_len, PAYLOAD_LEN - 5);
    assert_int_equal(pi.payload_wire_len, PAYLOAD_LEN);
    assert_true(pi.snap_cut);
}

/* GTP-U (3GPP TS 29.281) over UDP 2152, as in nDPI's tls_invalid_reads.pcap. */
static void udp_gtpu(struct pkt *p, unsigned flags, unsigned type, size_t opt_ext,
                     size_t inner_len)
{
    size_t gtp_payload = opt_ext + inner_len;
    app16(p, 2152);
    app16(p, 2152);
    app16(p, (unsigned)(8 + 8 + gtp_payload));
    app16(p, 0);
    app8(p, flags);
    app8(p, type);
    app16(p, (unsigned)gtp_payload);
    app32(p, 0x0a07ece4u);   /* TEID */
}

static void test_gtpu(void **state)
{
    struct pkt p;
    struct pkt_info pi;
    const size_t inner = 20 + 20 + PAYLOAD_LEN;
    size_t hdr;

    p.n = 0;                                     /* VLAN, outer IPv4, UDP, GTP-U, IPv4, TCP */
    eth(&p, 0x8100);
    vlan(&p, 108, 0x0800);
    ipv4_outer(&p, 8 + 8 + inner, 17);
    udp_gtpu(&p, 0x30, 0xff, 0, inner);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0x4000, 6);
    tcp_std(&p);
    hdr = 14 + 4 + 20 + 16 + 40;
    check_tcp(&p, dec(DLT_EN10MB, &p, &pi), &pi, 4, hdr);
    assert_int_equal(pi.vlan_depth, 1);
    /* prefixes: cut in the UDP/GTP headers it is a UDP packet we cannot
     * read; cut in the inner packet, a truncated one */
    for (size_t k = 14 + 4 + 20; k < p.n; k++) {
        enum decode_result r = decode_packet(DLT_EN10MB, p.b, (uint32_t)k, (uint32_t)p.n, &pi);
        if (k < 14 + 4 + 20 + 16)
            assert_int_equal(r, DECODE_NOT_TCP);
        else if (k < hdr)
            assert_int_equal(r, DECODE_TRUNCATED);
        else
            assert_int_equal(r, DECODE_TCP);
    }

    p.n = 0;                                     /* S flag: 4 option bytes; IPv6 inside */
    ipv4_outer(&p, 8 + 8 + 4 + 40 + 20 + PAYLOAD_LEN, 17);
    udp_gtpu(&p, 0x32, 0xff, 4, 40 + 20 + PAYLOAD_LEN);
    app32(&p, 0x00010000u);   /* sequence 1, N-PDU 0, no extension */
    ipv6(&p, 20 + PAYLOAD_LEN, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_RAW, &p, &pi), &pi, 6, 20 + 16 + 4 + 40 + 20);

    p.n = 0;                                     /* E flag: one 4-byte extension (PDU session) */
    ipv4_outer(&p, 8 + 8 + 8 + inner, 17);
    udp_gtpu(&p, 0x34, 0xff, 8, inner);
    app32(&p, 0x00000085u);   /* next extension type 0x85 */
    app32(&p, 0x01000900u);   /* length 1 (4 bytes), content, next type 0 */
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    check_tcp(&p, dec(DLT_RAW, &p, &pi), &pi, 4, 20 + 16 + 8 + 20 + 20);
    p.b[20 + 16 + 4] = 0;     /* extension length 0: malformed chain */
    assert_int_equal(dec(DLT_RAW, &p, &pi), DECODE_NOT_TCP);

    p.n = 0;                                     /* echo request (type 1): not user data */
    ipv4_outer(&p, 8 + 8 + inner, 17);
    udp_gtpu(&p, 0x30, 0x01, 0, inner);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    assert_int_equal(dec(DLT_RAW, &p, &pi), DECODE_NOT_TCP);
    p.b[20 + 9] = 0xff;                          /* GTPv0 / GTP' (version bits): not read */
    p.b[20 + 8] = 0x10;
    assert_int_equal(dec(DLT_RAW, &p, &pi), DECODE_NOT_TCP);

    p.n = 0;                                     /* the same bytes on another UDP port */
    ipv4_outer(&p, 8 + 8 + inner, 17);
    udp_gtpu(&p, 0x30, 0xff, 0, inner);
    ipv4(&p, 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&p);
    p.b[20] = 0x13;
    p.b[22] = 0x13;
    assert_int_equal(dec(DLT_RAW, &p, &pi), DECODE_NOT_TCP);
}

/* An IP length beyond the frame's own wire length is bogus, not a snaplen
 * cut: nDPI's tls_invalid_reads.pcap has a 66-byte SYN-ACK whose IPv4 total
 * length is 4148; taken at its word it would hide 4096 bytes of stream. */
static void test_bogus_ip_length(void **state)
{
    struct pkt p = {.n = 0};
    struct pkt_info pi;

    eth(&p, 0x0800);
    ipv4(&p, 0, 20 + 12 + 4096, 0, 6);
    {
        static const uint8_t opts[12] = {2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 14};
        tcp(&p, opts, 12, TCPF_SYN | TCPF_ACK, NULL, 0);
    }
    assert_int_equal(p.n, 66);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 0);
    assert_int_equal(pi.payload_wire_len, 0);
    assert_false(pi.snap_cut);
    assert_int_equal(pi.mss, 1460);
    /* the same header in a frame that really was longer: a snaplen cut */
    assert_int_equal(decode_packet(DLT_EN10MB, p.b, 66, 66 + 4096, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_wire_len, 4096);
    assert_true(pi.snap_cut);
    /* partly bogus: the frame holds 10 bytes more than the headers */
    fill(&p, 'z', 10);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, 10);
    assert_int_equal(pi.payload_wire_len, 10);
    assert_false(pi.snap_cut);

    p.n = 0;                                     /* IPv6 payload length likewise */
    eth(&p, 0x86dd);
    ipv6(&p, 20 + 3000, 6);
    tcp(&p, NULL, 0, TCPF_ACK, PAYLOAD, PAYLOAD_LEN);
    assert_int_equal(dec(DLT_EN10MB, &p, &pi), DECODE_TCP);
    assert_int_equal(pi.payload_len, PAYLOAD_LEN);
    assert_int_equal(pi.payload_wire_len, PAYLOAD_LEN);
    assert_false(pi.snap_cut);
}

/* Random damage on valid packets, from heap copies of exact size: whatever
 * the verdict, a TCP result stays inside the captured bytes. */
static void test_random_damage(void **state)
{
    static const int lts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_RAW};
    struct pkt base = {.n = 0};
    uint32_t rng = 12345;
    struct pkt_info pi;

    eth(&base, 0x8100);
    vlan(&base, 3, 0x86dd);
    ipv6(&base, 8 + 20 + 8 + PAYLOAD_LEN, 0);
    ip6_opts(&base, 6, 0);
    tcp(&base, (const uint8_t[8]){2, 4, 1, 2, 3, 3, 3, 0}, 8, TCPF_ACK, PAYLOAD, PAYLOAD_LEN);

    for (int iter = 0; iter < 20000; iter++) {
        uint8_t *copy;
        size_t k;
        int lt;
        enum decode_result r;

        rng = rng * 1103515245u + 12345u;
        k = (rng >> 8) % (base.n + 1);
        lt = lts[(rng >> 20) % 5];
        copy = malloc(k ? k : 1);
        assert_non_null(copy);
        memcpy(copy, base.b, k);
        for (int m = 0; m < 3 && k > 0; m++) {
            rng = rng * 1103515245u + 12345u;
            copy[(rng >> 8) % k] = (uint8_t)(rng >> 24);
        }
        r = decode_packet(lt, copy, (uint32_t)k, (uint32_t)base.n, &pi);
        assert_true(r >= DECODE_TCP && r <= DECODE_UNSUPPORTED_LINK);
        if (r == DECODE_TCP) {
            assert_true(pi.payload >= copy);
            assert_true((size_t)(pi.payload - copy) + pi.payload_len <= k);
            assert_true(pi.payload_len <= pi.payload_wire_len);
        }
        free(copy);
    }
}

/* decode_packet() takes a fast path for untagged Ethernet + IPv4 (no
 * options, no fragment) + TCP/UDP; decode_packet_general() is the walk it
 * skips.  Over packets of that shape and its near misses, every prefix,
 * wire lengths shorter, equal and longer than captured, and every header
 * byte set to values that matter (version/IHL, lengths, flags, protocols,
 * ports), both must give the same result and the same bytes in pkt_info. */
static void fast_vs_general(const uint8_t *b, size_t k, uint32_t wirelen, unsigned *fast_tcp)
{
    uint8_t *copy = malloc(k ? k : 1);
    struct pkt_info a, g;
    enum decode_result ra, rg;

    assert_non_null(copy);
    memcpy(copy, b, k);
    memset(&a, 0x5a, sizeof a);
    memset(&g, 0xa5, sizeof g);
    ra = decode_packet(DLT_EN10MB, copy, (uint32_t)k, wirelen, &a);
    rg = decode_packet_general(DLT_EN10MB, copy, (uint32_t)k, wirelen, &g);
    assert_int_equal(ra, rg);
    assert_memory_equal(&a, &g, sizeof a);
    if (ra == DECODE_TCP)
        (*fast_tcp)++;
    free(copy);
}

static void test_fast_path_matches_general(void **state)
{
    static const uint8_t mss_opts[4] = {2, 4, 0x05, 0xb4};
    static const uint8_t vals[] = {0x00, 0x01, 0x04, 0x06, 0x11, 0x14, 0x20, 0x29, 0x3f,
                                   0x40, 0x45, 0x46, 0x4f, 0x60, 0x7f, 0x80, 0x86, 0xdd,
                                   0xff};
    struct pkt pk[6];
    unsigned tcp_results = 0;
    size_t n = 0;

    pk[n].n = 0;                                 /* TCP with payload */
    eth(&pk[n], 0x0800);
    ipv4(&pk[n], 0, 20 + PAYLOAD_LEN, 0x4000, 6);
    tcp(&pk[n], NULL, 0, TCPF_ACK | TCPF_PSH, PAYLOAD, PAYLOAD_LEN);
    n++;
    pk[n].n = 0;                                 /* SYN with MSS */
    eth(&pk[n], 0x0800);
    ipv4(&pk[n], 0, 24, 0, 6);
    tcp(&pk[n], mss_opts, 4, TCPF_SYN, NULL, 0);
    n++;
    pk[n].n = 0;                                 /* plain UDP (RTP-like) */
    eth(&pk[n], 0x0800);
    ipv4(&pk[n], 0, 8 + PAYLOAD_LEN, 0, 17);
    app16(&pk[n], 16384);
    app16(&pk[n], 20000);
    app16(&pk[n], 8 + PAYLOAD_LEN);
    app16(&pk[n], 0);
    app(&pk[n], PAYLOAD, PAYLOAD_LEN);
    n++;
    pk[n].n = 0;                                 /* GTP-U: the general path's */
    eth(&pk[n], 0x0800);
    ipv4(&pk[n], 0, 8 + 8 + 40 + PAYLOAD_LEN, 0, 17);
    udp_gtpu(&pk[n], 0x30, 0xff, 0, 40 + PAYLOAD_LEN);
    ipv4(&pk[n], 0, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&pk[n]);
    n++;
    pk[n].n = 0;                                 /* IPv4 options: the general path's */
    eth(&pk[n], 0x0800);
    ipv4(&pk[n], 4, 20 + PAYLOAD_LEN, 0, 6);
    tcp_std(&pk[n]);
    n++;
    pk[n].n = 0;                                 /* padded to the Ethernet minimum */
    eth(&pk[n], 0x0800);
    ipv4(&pk[n], 0, 20, 0, 6);
    tcp(&pk[n], NULL, 0, TCPF_ACK, NULL, 0);
    fill(&pk[n], 0, 6);
    n++;

    for (size_t i = 0; i < n; i++) {
        const struct pkt *p = &pk[i];
        struct pkt m;

        for (size_t k = 0; k <= p->n; k++) {
            const uint32_t wires[] = {(uint32_t)p->n, (uint32_t)k, (uint32_t)k / 2,
                                      (uint32_t)p->n + 1500, 0};
            for (size_t w = 0; w < sizeof wires / sizeof wires[0]; w++)
                fast_vs_general(p->b, k, wires[w], &tcp_results);
        }
        /* every byte of the Ethernet, IP and transport headers, damaged */
        for (size_t pos = 12; pos < 14 + 20 + 20 && pos < p->n; pos++) {
            for (size_t v = 0; v < sizeof vals; v++) {
                m = *p;
                m.b[pos] = vals[v];
                fast_vs_general(m.b, m.n, (uint32_t)m.n, &tcp_results);
                fast_vs_general(m.b, m.n, (uint32_t)m.n + 100, &tcp_results);
                fast_vs_general(m.b, m.n > 40 ? m.n - 7 : m.n, (uint32_t)m.n, &tcp_results);
            }
        }
        /* IPv4 total length: 0 (TSO), below the header, short, long */
        for (unsigned tot = 0; tot < 20 + 40 + PAYLOAD_LEN + 40; tot++) {
            m = *p;
            m.b[16] = (uint8_t)(tot >> 8);
            m.b[17] = (uint8_t)tot;
            fast_vs_general(m.b, m.n, (uint32_t)m.n, &tcp_results);
            fast_vs_general(m.b, m.n, 2000, &tcp_results);
        }
    }
    assert_true(tcp_results > 1000);   /* the comparison saw real segments */
}

static void test_empty(void **state)
{
    static const int lts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL,
                              DLT_LOOP, DLT_RAW, DLT_IPV4, DLT_IPV6};
    struct pkt_info pi;

    for (size_t i = 0; i < sizeof lts / sizeof lts[0]; i++) {
        assert_int_equal(decode_packet(lts[i], NULL, 0, 0, &pi), DECODE_TRUNCATED);
        assert_int_equal(decode_packet(lts[i], (const uint8_t *)"", 0, 60, &pi),
                         DECODE_TRUNCATED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eth_ipv4),
        cmocka_unit_test(test_eth_ipv6),
        cmocka_unit_test(test_vlan_tags),
        cmocka_unit_test(test_pppoe),
        cmocka_unit_test(test_sll),
        cmocka_unit_test(test_null_loop),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_not_ip_and_unsupported),
        cmocka_unit_test(test_result_names),
        cmocka_unit_test(test_ipv4_options),
        cmocka_unit_test(test_ipv6_ext_headers),
        cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_ethernet_padding),
        cmocka_unit_test(test_snaplen_cut),
        cmocka_unit_test(test_tso_zero_length),
        cmocka_unit_test(test_malformed_ip_tcp),
        cmocka_unit_test(test_tcp_options),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_ip_tunnels),
        cmocka_unit_test(test_gtpu),
        cmocka_unit_test(test_bogus_ip_length),
        cmocka_unit_test(test_random_damage),
        cmocka_unit_test(test_fast_path_matches_general),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
