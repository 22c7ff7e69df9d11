/* outq.h - ordered writes to a descriptor from a second thread.
 *
 * The JSON report of a large capture is tens of megabytes; write(2) into
 * the page cache costs about as much as formatting it.  An outq lets the
 * formatter fill one buffer while a writer thread writes the previous
 * ones, in order.  A fixed set of buffers: memory does not grow with the
 * report, and the formatter waits when the writer falls behind.
 *
 *   q = outq_start(fd, 3, 256 * 1024, 4096);
 *   buf = outq_buffer(q);          fill up to bufsize bytes
 *   outq_submit(q, buf, n);        then outq_buffer() again
 *   err = outq_finish(q);          0, or the errno of the first failed write
 *
 * Used by one producer thread.  After a failed write the rest is dropped
 * (outq_error() tells the producer it may stop); outq_finish() says why.
 */
#ifndef TLSINSPECT_OUTQ_H
#define TLSINSPECT_OUTQ_H

#include <stddef.h>

struct outq;

/* A writer thread for fd with nbuf (2..8) buffers of bufsize bytes aligned
 * to align (a power of two, or 0 for malloc's).  NULL when a buffer or the
 * thread cannot be had: the caller writes by itself. */
struct outq *outq_start(int fd, size_t nbuf, size_t bufsize, size_t align);

/* A free buffer of bufsize bytes; waits while every buffer is queued.
 * Never NULL: after a failed write the buffers still go round, unwritten. */
char *outq_buffer(struct outq *q);

/* The errno of the first failed write so far, or 0. */
int outq_error(struct outq *q);

/* Queue buf (from outq_buffer) holding n bytes; n may be 0. */
void outq_submit(struct outq *q, char *buf, size_t n);

/* Wait until everything queued is written, stop the thread, free q.
 * Returns 0 or the errno of the first write that failed.  NULL: 0. */
int outq_finish(struct outq *q);

#endif
