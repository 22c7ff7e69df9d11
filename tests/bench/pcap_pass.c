/* pcap_pass.c - the benchmark's baseline: one bare libpcap pass over a capture, touching every packet.
 *
 *   pcap_pass FILE
 *
 * pcap_next_ex() over the whole file with the same 256 KiB page-aligned
 * stdio buffer tlsinspect gives libpcap, and stdio locking off as there
 * (src/capture.c: whatever makes tlsinspect read faster makes this
 * baseline faster too), reading the first and last byte
 * of every packet so the pass cannot be optimised away.  Prints packets,
 * captured bytes and a checksum of the touched bytes on stdout.  This is
 * "the cost of reading the file" the analysis is compared with.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#define PASS_READ_BUFFER (256u * 1024u)

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t packets = 0, bytes = 0, sum = 0;
    char *buf;
    FILE *fp;
    pcap_t *p;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: pcap_pass FILE\n");
        return 2;
    }
    fp = fopen(argv[1], "rb");
    buf = aligned_alloc(4096, PASS_READ_BUFFER);   /* as capture.c: see CAP_BUF_ALIGN */
    if (fp == NULL || buf == NULL) {
        fprintf(stderr, "pcap_pass: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    setvbuf(fp, buf, _IOFBF, PASS_READ_BUFFER);
    (void)__fsetlocking(fp, FSETLOCKING_BYCALLER);   /* as capture.c */
    p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, err);
    if (p == NULL) {
        fprintf(stderr, "pcap_pass: %s: %s\n", argv[1], err);
        return 2;
    }
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        packets++;
        bytes += h->caplen;
        if (h->caplen > 0)
            sum += (uint64_t)data[0] + data[h->caplen - 1];
    }
    if (rc != PCAP_ERROR_BREAK) {
        fprintf(stderr, "pcap_pass: %s: %s\n", argv[1], pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    printf("packets %llu bytes %llu sum %llu\n", (unsigned long long)packets,
           (unsigned long long)bytes, (unsigned long long)sum);
    pcap_close(p);
    free(buf);
    return 0;
}
