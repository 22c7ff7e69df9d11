/* capture.h - read one or several capture files as one time-ordered capture.
 *
 * Inputs are files, standard input ("-"), streams the caller opened
 * (capture_open_sources()) or a live interface (capture_open_live()).
 * Nothing is read twice: the format is sniffed from the first bytes and,
 * where the input cannot seek (a pipe), those bytes are served again from a
 * small buffer, so `tcpdump -w - | tlsinspect -` works, gzip included.
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

#include <signal.h>
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
    uint64_t dropped;         /* live: packets the kernel dropped (buffer full) */
    /* SHA-256 of the input's bytes (compressed ones for gzip), hashed as they
     * are read -- no second pass.  A file: what sha256sum prints, also when
     * damage stopped libpcap (the rest is read for the hash).  Standard input
     * or a pipe: set only when read to its end (not after Ctrl-C or damage).
     * A stream the caller labelled (an archive member): what its sha256()
     * says.  Never for a live capture. */
    bool hashed;
    uint8_t sha256[32];
    bool archive_hashed;      /* an archive member: its archive's SHA-256 */
    uint8_t archive_sha256[32];
};

/* An input for capture_open_sources(). */
struct cap_source {
    const char *name;         /* the file, or what to call the stream in reports/messages */
    FILE *fp;                 /* NULL: fopen(name).  Else read from its current position
                               * to its end, never seeking back; owned by the capture from
                               * the call on (closed by capture_close(), or on failure) */
    uint64_t size;            /* bytes, for the progress line; 0: fstat() tells, if it can */
    /* Optional, with fp: set when the opener already knows the format (an
     * archive member it inflates itself): no sniffing, `format` ("pcap+gzip")
     * is the input's label, and `why` says why a read failed (the archive's
     * damage, "Truncated tar archive"), appended to the input's error. */
    const char *format;
    const char *(*why)(void *ctx);
    void *why_ctx;
    /* Optional, with format: once the input has ended, the SHA-256 of the
     * bytes the stream gave -- true with out filled when it was read whole --
     * and that of the archive it is a member of (NULL: none). */
    bool (*sha256)(void *ctx, uint8_t out[32]);
    void *sha256_ctx;
    const uint8_t *archive_sha256;
    /* true: the input's SHA-256 is not wanted (a report that does not show
     * it): no digest is made, inputs[].hashed stays false. */
    bool no_hash;
};

struct capture;

/* Open all files ("-" is standard input, at most once).  Unreadable files (missing, not a capture, bad BPF) are a
 * usage/input error: returns TI_EIO or TI_EUSAGE and writes "FILE: why" to
 * errbuf.  bpf may be NULL. */
int capture_open(struct capture **out, char *const *files, size_t nfiles,
                 const char *bpf, char *errbuf, size_t errlen);

/* The same for inputs given as streams or names: a FILE * from
 * fopencookie() (an archive member, say) is read like a pipe. */
int capture_open_sources(struct capture **out, const struct cap_source *srcs, size_t n,
                         const char *bpf, char *errbuf, size_t errlen);

/* Capture on interface `iface` through libpcap (snaplen 262144, immediate
 * mode, BPF in the kernel) until capture_set_stop()'s flag is set or
 * `duration` seconds (> 0) have passed.  Without the privilege to capture,
 * or no such interface: TI_EIO with a message that says which and what to do. */
int capture_open_live(struct capture **out, const char *iface, const char *bpf,
                      double duration, char *errbuf, size_t errlen);

/* A flag a signal handler sets (Ctrl-C, SIGTERM): once it is non-zero,
 * capture_next() ends the capture -- within 100 ms on a quiet
 * interface; a blocked read of standard input is cut by the signal itself
 * when the handler was installed without SA_RESTART.  NULL: never. */
void capture_set_stop(struct capture *cap, const volatile sig_atomic_t *stop);

/* No SHA-256 for these inputs: a second read of captures already hashed
 * (the HTML report's frame numbers) does not pay for it again. */
void capture_skip_hash(struct capture *cap);

/* Next packet in timestamp order: 1 = packet, 0 = end of all inputs. */
int capture_next(struct capture *cap, struct cap_packet *pkt);

const struct cap_input *capture_inputs(const struct capture *cap, size_t *n);

/* Total bytes read / total size of all inputs, for a progress line (asks
 * each open input for its offset: a system call each, not per packet). */
void capture_progress(struct capture *cap, uint64_t *done, uint64_t *total);

void capture_close(struct capture *cap);   /* NULL is a no-op */

#endif
