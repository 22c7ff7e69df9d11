/* bundle.h - Expressway diagnostic bundles: captures and logs found by content in archives and directories.
 *
 * A bundle is an archive (tar, optionally gzip/bzip2/xz/zstd compressed:
 * .tar.gz, .tgz, .tar) or an extracted directory.  Its layout is not
 * documented, so members are told apart by their first bytes, never by
 * name: pcap/pcapng magic is a capture, a gzip-compressed member is looked
 * at once inflated (a capture or a log inside), text whose first line starts
 * with an ISO-8601 timestamp is a log.  Anything else is skipped without
 * being loaded.  libarchive reads the archives; nothing is extracted to disk.
 *
 * Memory stays bounded while captures are merged by timestamp.  A tar is
 * sequential, so each capture member is read through a FILE * whose reads
 * are served
 *   1. from the member's first BUNDLE_PREFIX bytes, kept from the scan (the
 *      merge reads every capture's first packet before anything else), then
 *   2. from an archive handle positioned at that member.  Handles are
 *      pooled per archive: a reader that needs one takes a free handle
 *      positioned before its member (a reader done with its member frees
 *      its handle there), else opens the archive again.  Rotated captures
 *      read one after the other thus share one handle, one forward pass;
 *      captures that overlap in time cost one handle (and one pass up to
 *      their member) each.
 * The scan itself is one pass over the archive (which for a compressed
 * archive means decompressing it): the logs must be read before the first
 * packet, and the captures found, before the merge can start.
 */
#ifndef TLSINSPECT_BUNDLE_H
#define TLSINSPECT_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/capture.h"
#include "tlsinspect/tslog.h"

#define BUNDLE_PREFIX        (64u * 1024u)   /* bytes of each capture member kept from the scan */
#define BUNDLE_MAX_CAPTURES  256             /* capture members per archive */
#define BUNDLE_MAX_DEPTH     16              /* directory nesting followed */
#define BUNDLE_MAX_WARNINGS  64

struct bundle;

/* Look at each command-line input: a plain capture file (and "-", standard
 * input) passes through as it is (capture.c opens it); a directory or an archive is scanned, its
 * logs fed to `logs` (may be NULL: logs ignored) and its captures listed.
 * TI_EUSAGE with "INPUT: no capture ..." when a bundle holds no capture;
 * TI_EIO for an unreadable input.  Damage found while scanning an archive
 * is not an error: what was read before it stays, bundle_damage() says. */
int bundle_open(struct bundle **out, char *const *inputs, size_t n, struct tslog *logs,
                char *errbuf, size_t errlen);

/* The capture sources of all inputs, for capture_open_sources(): plain files
 * by path ("-" as stdin), archive members as fresh streams (capture_open_sources takes the
 * FILE *s over).  *out is malloc'd, free() it; its strings belong to b.
 * Call once. */
int bundle_sources(struct bundle *b, struct cap_source **out, size_t *n,
                   char *errbuf, size_t errlen);

/* The node (Expressway host name) source i came from: the host most lines
 * of its bundle's logs name, else NULL (a plain file, or no log). */
const char *bundle_source_node(const struct bundle *b, size_t i);

/* Archives found damaged while scanning: one message each ("ARCHIVE:
 * damaged after member 'x' (libarchive's words); N captures and M logs
 * before it were read"). */
const char *const *bundle_damage(const struct bundle *b, size_t *n);

/* Other things worth a warning (nested archives not read, limits). */
const char *const *bundle_warnings(const struct bundle *b, size_t *n);

/* Read a log file given with --log (plain or compressed) into logs. */
int bundle_read_log(struct tslog *logs, const char *path, char *errbuf, size_t errlen);

void bundle_free(struct bundle *b);   /* after capture_close(); NULL is a no-op */

#endif
