/* fuzz_decode.c - libFuzzer harness: the packet decoder (link layer -> IP -> TCP).
 *
 * Input: byte 0 picks the link type (a table of the ones decode.h names, and
 * a few it does not), bytes 1-2 a wire-length delta (bit 15: shorter than
 * captured, which a damaged capture can claim); the rest is the packet,
 * copied to an exact-size buffer so ASan flags any read past caplen.
 * Checks: pkt_info points inside the packet and its lengths agree, and
 * decode_packet() (with its fast path) gives what decode_packet_general()
 * gives: the same result and the same bytes in pkt_info.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/decode.h"

#include "fuzz_check.h"
#include "fuzz_links.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pkt_info pi, pg;
    enum decode_result r, rg;
    uint8_t *pkt;
    uint32_t caplen, wirelen;
    uint16_t delta;
    int link;

    if (size < 3)
        return 0;
    link = fuzz_decode_links[data[0] % FUZZ_NLINKS];
    delta = (uint16_t)(data[1] << 8 | data[2]);
    caplen = (uint32_t)(size - 3);
    if (delta & 0x8000)
        wirelen = (delta & 0x7fff) < caplen ? caplen - (delta & 0x7fff) : 0;
    else
        wirelen = caplen + delta;
    pkt = malloc(caplen ? caplen : 1);
    if (pkt == NULL)
        abort();
    memcpy(pkt, data + 3, caplen);
    memset(&pi, 0xa5, sizeof(pi));
    r = decode_packet(link, pkt, caplen, wirelen, &pi);
    memset(&pg, 0x5a, sizeof(pg));
    rg = decode_packet_general(link, pkt, caplen, wirelen, &pg);
    FUZZ_CHECK(r == rg);
    FUZZ_CHECK(memcmp(&pi, &pg, sizeof(pi)) == 0);
    FUZZ_CHECK((unsigned)r <= DECODE_UNSUPPORTED_LINK);
    FUZZ_CHECK(decode_result_name(r) != NULL);
    if (r == DECODE_UNSUPPORTED_LINK)
        FUZZ_CHECK(!decode_linktype_supported(link));
    if (r == DECODE_TCP) {
        FUZZ_CHECK(decode_linktype_supported(link));
        FUZZ_CHECK(pi.ipver == 4 || pi.ipver == 6);
        FUZZ_CHECK(pi.payload_len <= caplen);
        if (pi.payload_len > 0) {
            FUZZ_CHECK(pi.payload != NULL);
            FUZZ_CHECK(pi.payload >= pkt && pi.payload <= pkt + caplen);
            FUZZ_CHECK((size_t)(pkt + caplen - pi.payload) >= pi.payload_len);
            fuzz_sink ^= pi.payload[0] ^ pi.payload[pi.payload_len - 1];
        }
        FUZZ_CHECK(pi.snap_cut == (pi.payload_len < pi.payload_wire_len));
        if (pi.ipver == 4)
            for (int k = 4; k < 16; k++)
                FUZZ_CHECK(pi.src[k] == 0 && pi.dst[k] == 0);
    }
    free(pkt);
    return 0;
}
