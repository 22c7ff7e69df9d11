/* pcap_pass.c - the benchmark's baselines: one bare pass over a capture.
 *
 *   pcap_pass FILE            pcap_open_offline() and pcap_next_ex() over the
 *                             whole file, libpcap's default stdio: "a plain
 *                             libpcap pass (pcap_next_ex with default stdio)",
 *                             the reference the issues' time targets name
 *   pcap_pass --tuned FILE    the same with the 256 KiB page-aligned stdio
 *                             buffer and stdio locking off that tlsinspect
 *                             gives libpcap (src/capture.c): the floor of
 *                             reading the file the way tlsinspect reads it
 *   pcap_pass --sha256 FILE   the SHA-256 of the file as tlsinspect's second
 *                             thread makes it for inputs[].sha256
 *                             (src/filehash.c: 1 MiB preads, OpenSSL EVP): the
 *                             floor of any report that carries the digest
 *
 * The passes read the first and last byte of every packet so they cannot be
 * optimised away, and print packets, captured bytes and a checksum of the
 * touched bytes on stdout; --sha256 prints the digest.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>
#include <fcntl.h>
#include <unistd.h>
#include <openssl/evp.h>

#define PASS_READ_BUFFER (256u * 1024u)

static int sha256_file(const char *path)
{
    static uint8_t buf[1u << 20];
    uint8_t md[32];
    unsigned int mdlen = 0;
    off_t off = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (fd < 0 || ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "pcap_pass: %s: %s\n", path, strerror(errno));
        return 2;
    }
    while ((r = pread(fd, buf, sizeof buf, off)) > 0) {
        off += r;
        if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1)
            return 2;
    }
    if (r < 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        fprintf(stderr, "pcap_pass: %s: %s\n", path, strerror(errno));
        return 2;
    }
    for (unsigned int i = 0; i < mdlen; i++)
        printf("%02x", md[i]);
    printf("  %s\n", path);
    EVP_MD_CTX_free(ctx);
    close(fd);
    return 0;
}

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

    bool tuned = false;
    const char *path;

    if (argc == 3 && strcmp(argv[1], "--sha256") == 0)
        return sha256_file(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--tuned") == 0)
        tuned = true;
    else if (argc != 2) {
        fprintf(stderr, "usage: pcap_pass [--tuned | --sha256] FILE\n");
        return 2;
    }
    path = argv[argc - 1];
    buf = NULL;
    if (!tuned) {
        p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, err);
    } else {
        fp = fopen(path, "rb");
        buf = aligned_alloc(4096, PASS_READ_BUFFER);   /* as capture.c: see CAP_BUF_ALIGN */
        if (fp == NULL || buf == NULL) {
            fprintf(stderr, "pcap_pass: %s: %s\n", path, strerror(errno));
            return 2;
        }
        setvbuf(fp, buf, _IOFBF, PASS_READ_BUFFER);
        (void)__fsetlocking(fp, FSETLOCKING_BYCALLER);   /* as capture.c */
        p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, err);
    }
    if (p == NULL) {
        fprintf(stderr, "pcap_pass: %s: %s\n", path, err);
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
