/* runopts.h - how a report was made: the options that decide its verdicts.
 *
 * A saved report is compared later (diff) with another report or a fresh
 * analysis; verdicts made against another trust store, another --name set
 * or another --at are not comparable.  analyze_run() records here, before
 * the first packet, what those options were and what they held: the
 * trust stores' SHA-256 and certificate counts (x509_trust_info()), the
 * key log's SHA-256 and line count.  The JSON report writes it as
 * "options" (report_json_opts.c); diff reads it back (diff_opts.c).
 */
#ifndef TLSINSPECT_RUNOPTS_H
#define TLSINSPECT_RUNOPTS_H

#include "tlsinspect/analyze.h"

/* Fill a->scope's names, at and hashes from o and a->pool / a->keylog
 * (loaded already).  The key log is hashed by reading it once more: it is
 * small next to a capture, and its parser is not ours to change.  TI_OK,
 * TI_ENOMEM, or TI_EIO when the key log cannot be read again (errbuf). */
int runopts_record(struct analysis *a, const struct analyze_opts *o, char *errbuf, size_t errlen);

/* Free what runopts_record() copied. */
void runopts_free(struct analyze_scope *s);

#endif
