/* capture.h - read one or several capture files as one time-ordered capture.
 *
 * libpcap reads every format and link type (pcap, pcapng, any DLT); the
 * format is told apart by content (magic number), never by file name.  A
 * gzip-compressed file (magic 1f 8b) is inflated by zlib behind a FILE *
 * (fopencookie) that libpcap reads.  Several files are merged by timestamp
 * (rotated tcpdump files; a connection may span two of them): at each step
 * the file whose pending packet is oldest is read; ties go to the file named
 * first.  An optional BPF expression is compiled for each file's link type
 * and applied by libpcap.
 *
 * A file damaged or cut mid-record stops that file only: what was read
 * before stays, the input is marked `truncated` with libpcap's message, and
 * the caller reports CAPTURE_TRUNCATED.
 */
#ifndef TLSINSPECT_CAPTURE_H
#define TLSINSPECT_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One packet.  `data` is borrowed and valid until the next capture_next(). */
struct cap_packet {
    const uint8_t *data;
    uint32_t caplen;          /* bytes captured */
    uint32_t len;             /* bytes on the wire */
    int64_t ts;               /* microseconds since the epoch */
    int linktype;             /* DLT_* as libpcap reports for this file */
    unsigned input;           /* index into the inputs */
};

struct cap_input {
    char *file;               /* as given */
    char format[16];          /* "pcap", "pcapng", with "+gzip" when inflated */
    int linktype;
    char linktype_name[32];   /* pcap_datalink_val_to_name(), e.g. "EN10MB" */
    uint32_t snaplen;
    uint64_t packets;         /* records read (before the BPF filter) */
    uint64_t bytes;           /* file bytes read (compressed size for .gz) */
    uint64_t size;            /* file size in bytes, 0 if unknown */
    bool truncated;           /* damaged or cut mid-record */
    char *error;              /* libpcap's message for the damage, or NULL */
};

struct capture;

/* Open all files.  Unreadable files (missing, not a capture, bad BPF) are a
 * usage/input error: returns TI_EIO or TI_EUSAGE and writes "FILE: why" to
 * errbuf.  bpf may be NULL. */
int capture_open(struct capture **out, char *const *files, size_t nfiles,
                 const char *bpf, char *errbuf, size_t errlen);

/* Next packet in timestamp order: 1 = packet, 0 = end of all inputs. */
int capture_next(struct capture *cap, struct cap_packet *pkt);

/* An input that is a stream rather than a file of its own: a capture inside
 * an archive (bundle.c).  `fp` is read sequentially from its first byte (no
 * seeking; ftell() should work, for progress); capture_open_sources() takes
 * it over and closes it, also on failure.  With fp NULL, `file` is opened as
 * capture_open() opens it. */
struct cap_source {
    const char *file;         /* path, or the name shown for fp */
    FILE *fp;
    const char *format;       /* with fp: "pcap", "pcapng+gzip", ... */
    uint64_t size;            /* with fp: bytes, 0 if unknown */
    const char *(*why)(void *ctx);   /* with fp: why a read failed, or NULL */
    void *why_ctx;
};

int capture_open_sources(struct capture **out, const struct cap_source *sources, size_t n,
                         const char *bpf, char *errbuf, size_t errlen);

const struct cap_input *capture_inputs(const struct capture *cap, size_t *n);

/* Total bytes read / total size of all inputs, for a progress line (asks
 * each open input for its offset: a system call each, not per packet). */
void capture_progress(struct capture *cap, uint64_t *done, uint64_t *total);

void capture_close(struct capture *cap);   /* NULL is a no-op */

#endif
