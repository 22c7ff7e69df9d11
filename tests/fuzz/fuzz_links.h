/* fuzz_links.h - the link types the decoder harness picks from (byte 0 of its input), shared with mkseeds. */
#ifndef TLSINSPECT_FUZZ_LINKS_H
#define TLSINSPECT_FUZZ_LINKS_H

#include <pcap/dlt.h>

#define FUZZ_NLINKS (sizeof(fuzz_decode_links) / sizeof(fuzz_decode_links[0]))

static const int fuzz_decode_links[] __attribute__((unused)) = {
    DLT_EN10MB, DLT_LINUX_SLL, 276 /* LINUX_SLL2 */, DLT_RAW, 14 /* RAW on BSD */,
    101 /* LINKTYPE_RAW */, 228 /* IPV4 */, 229 /* IPV6 */, DLT_NULL, DLT_LOOP,
    DLT_EN10MB, DLT_EN10MB, DLT_LINUX_SLL, DLT_RAW, 0x7fffffff, -1,
};

#endif
