/* test_reasm.c - TCP reassembly: order, overlaps, wraparound, SYN handling, gaps, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tlsinspect/err.h"
#include "tlsinspect/reasm.h"

#define REC_MAX    (64u * 1024u)
#define REC_EVENTS 512u

enum { EV_DATA = 1, EV_GAP = 2 };

struct rec_ev {
    int kind;
    uint64_t n;
};

/* Recording sink: the delivered bytes, concatenated and at their stream
 * position (data and gaps both advance the position), plus the event log. */
struct rec {
    uint8_t out[REC_MAX];       /* data bytes only, concatenated */
    size_t outlen;
    uint8_t at[REC_MAX];        /* byte at stream position */
    bool have[REC_MAX];
    uint64_t pos;               /* stream position: data + gaps */
    struct rec_ev ev[REC_EVENTS];
    size_t nev;
    const uint8_t *first_ptr;   /* pointer passed by the first data call */
    bool overflow;
};

static void rec_data(void *ctx, const uint8_t *data, size_t len, int64_t ts)
{
    struct rec *r = ctx;
    size_t i;

    assert_non_null(data);
    assert_true(len > 0);
    if (!r->first_ptr)
        r->first_ptr = data;
    for (i = 0; i < len; i++) {
        if (r->outlen < REC_MAX)
            r->out[r->outlen++] = data[i];
        else
            r->overflow = true;
        if (r->pos + i < REC_MAX) {
            r->at[r->pos + i] = data[i];
            r->have[r->pos + i] = true;
        }
    }
    r->pos += len;
    if (r->nev < REC_EVENTS)
        r->ev[r->nev++] = (struct rec_ev){ EV_DATA, len };
}

static void rec_gap(void *ctx, uint64_t n, int64_t ts)
{
    struct rec *r = ctx;

    assert_true(n > 0);
    r->pos += n;
    if (r->nev < REC_EVENTS)
        r->ev[r->nev++] = (struct rec_ev){ EV_GAP, n };
}

struct fix {
    struct rec *rec;
    struct reasm_sink sink;
    struct reasm_limits lim;
    size_t total;
    struct reasm_dir d;
};

static struct fix *fix_new(void)
{
    struct fix *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->rec = calloc(1, sizeof(*f->rec));
    assert_non_null(f->rec);
    f->sink.ctx = f->rec;
    f->sink.data = rec_data;
    f->sink.gap = rec_gap;
    f->lim.max_dir_bytes = REASM_MAX_OOO_BYTES_DIR;
    f->lim.max_dir_segs = REASM_MAX_OOO_SEGS_DIR;
    f->lim.max_total_bytes = REASM_MAX_OOO_BYTES_TOTAL;
    f->lim.total_used = &f->total;
    reasm_init(&f->d);
    return f;
}

static void fix_free(struct fix *f)
{
    reasm_free(&f->d, &f->lim);
    assert_int_equal(f->d.ooo_bytes, 0);
    assert_int_equal(f->d.ooo_segs, 0);
    assert_int_equal(f->total, 0);
    free(f->rec);
    free(f);
}

static int seg(struct fix *f, uint32_t seq, const char *s)
{
    return reasm_segment(&f->d, seq, (const uint8_t *)s, strlen(s), 0, &f->sink, &f->lim);
}

static void assert_out(const struct fix *f, const char *want)
{
    assert_int_equal(f->rec->outlen, strlen(want));
    assert_memory_equal(f->rec->out, want, strlen(want));
}

/* ---- basic ordering ------------------------------------------------------ */

static void test_in_order_zero_copy(void **state)
{
    struct fix *f = fix_new();
    static const char a[] = "hello";

    reasm_syn(&f->d, 1000);
    assert_int_equal(reasm_segment(&f->d, 1001, (const uint8_t *)a, 5, 0, &f->sink, &f->lim),
                     TI_OK);
    /* in order: handed over from the caller's buffer, not a copy */
    assert_ptr_equal(f->rec->first_ptr, a);
    assert_int_equal(seg(f, 1006, " world"), TI_OK);
    assert_out(f, "hello world");
    assert_int_equal(f->d.st.delivered, 11);
    assert_int_equal(f->d.next_seq, 1012);
    assert_int_equal(f->d.st.retrans, 0);
    assert_int_equal(f->d.ooo_segs, 0);
    assert_int_equal(f->total, 0);
    fix_free(f);
}

static void test_reordered_1_3_2(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 99);
    seg(f, 100, "AAAAA");
    seg(f, 110, "CCCCC");
    assert_out(f, "AAAAA");
    assert_int_equal(f->d.ooo_segs, 1);
    assert_int_equal(f->d.ooo_bytes, 5);
    assert_int_equal(f->total, reasm_seg_cost(5));
    seg(f, 105, "BBBBB");
    assert_out(f, "AAAAABBBBBCCCCC");
    assert_int_equal(f->d.ooo_segs, 0);
    assert_int_equal(f->d.ooo_bytes, 0);
    assert_int_equal(f->total, 0);
    assert_int_equal(f->d.st.retrans, 0);
    assert_int_equal(f->d.st.gaps, 0);
    assert_int_equal(f->rec->nev, 3);
    fix_free(f);
}

static void test_duplicate(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 99);
    seg(f, 100, "AAAAA");
    seg(f, 100, "AAAAA");                 /* delivered duplicate */
    assert_out(f, "AAAAA");
    assert_int_equal(f->d.st.retrans, 1);
    seg(f, 110, "CCCCC");
    seg(f, 110, "CCCCC");                 /* queued duplicate: not copied twice */
    assert_int_equal(f->d.ooo_bytes, 5);
    assert_int_equal(f->d.ooo_segs, 1);
    assert_int_equal(f->d.st.retrans, 2);
    seg(f, 105, "BBBBB");
    assert_out(f, "AAAAABBBBBCCCCC");
    assert_int_equal(f->d.st.overlap_conflicts, 0);
    fix_free(f);
}

/* The field sweep's TCP quirks in one direction: a 1-byte zero-window
 * probe of the next byte, a lost segment, the one after it queued, then a
 * retransmission with other boundaries (the lost segment and half the
 * queued one): every byte once, in order, the probe's and the queued
 * copies first; one retransmitted segment, no gap, nothing left queued. */
static void test_probe_then_retransmission_over_queue(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 99);
    seg(f, 100, "AAAAAAAAAA");            /* s0 */
    seg(f, 110, "B");                     /* zero-window probe: s1's first byte */
    seg(f, 120, "CCCCCCCCCC");            /* s2, s1 lost */
    assert_out(f, "AAAAAAAAAAB");
    assert_int_equal(f->d.ooo_segs, 1);
    seg(f, 110, "BBBBBBBBBBCCCCC");       /* s1 and half of s2 again */
    assert_out(f, "AAAAAAAAAABBBBBBBBBBCCCCCCCCCC");
    assert_int_equal(f->d.st.retrans, 1);
    assert_int_equal(f->d.st.gaps, 0);
    assert_int_equal(f->d.st.overlap_conflicts, 0);
    assert_int_equal(f->d.ooo_segs, 0);
    assert_int_equal(f->total, 0);
    fix_free(f);
}

/* A FIN's or RST's sequence number past the captured bytes: the rest is a
 * hole (after anything queued), reported when flushed; a claim beyond the
 * bound, or behind the stream, changes nothing. */
static void test_end_at_reports_missing_tail(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 99);
    seg(f, 100, "AAAAA");
    seg(f, 110, "CCCCC");                 /* queued behind a 5-byte hole */
    assert_int_equal(reasm_end_at(&f->d, 122, 1000, 0, &f->sink, &f->lim), TI_OK);
    assert_int_equal(reasm_end_at(&f->d, 105 + 5000, 1000, 0, &f->sink, &f->lim), TI_OK);
    assert_int_equal(reasm_end_at(&f->d, 90, 1000, 0, &f->sink, &f->lim), TI_OK);
    reasm_flush(&f->d, 0, &f->sink, &f->lim);
    assert_out(f, "AAAAACCCCC");
    assert_int_equal(f->d.st.gaps, 2);
    assert_int_equal(f->d.st.gap_bytes, 5 + 7);
    assert_int_equal(f->d.next_seq, 122);
    fix_free(f);
}

static void test_partial_overlap_front(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 0xFFFFFFFFu);        /* data starts at 0 */
    seg(f, 0, "0123456789");
    seg(f, 5, "56789abcde");              /* only "abcde" is new */
    assert_out(f, "0123456789abcde");
    assert_int_equal(f->d.st.retrans, 1);
    assert_int_equal(f->d.st.delivered, 15);
    fix_free(f);
}

static void test_partial_overlap_back_in_queue(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 0xFFFFFFFFu);
    seg(f, 10, "abcdefghij");             /* queued [10,20) */
    seg(f, 5, "56789abcde");              /* [5,15): only [5,10) is new */
    assert_int_equal(f->d.ooo_bytes, 15);
    assert_int_equal(f->d.ooo_segs, 2);
    assert_int_equal(f->d.st.retrans, 1);
    seg(f, 15, "fghijKLMNO");             /* [15,25): overlaps the back */
    assert_int_equal(f->d.ooo_bytes, 20);
    seg(f, 0, "01234");
    assert_out(f, "0123456789abcdefghijKLMNO");
    assert_int_equal(f->d.st.overlap_conflicts, 0);
    assert_int_equal(f->d.ooo_bytes, 0);
    fix_free(f);
}

static void test_overlap_conflict_first_wins(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 0xFFFFFFFFu);
    seg(f, 10, "AAAAAAAAAA");             /* [10,20) */
    seg(f, 15, "BBBBBCCCCC");             /* [15,20) differs: first copy wins */
    assert_int_equal(f->d.st.overlap_conflicts, 5);
    seg(f, 0, "0123456789");
    assert_out(f, "0123456789AAAAAAAAAACCCCC");
    assert_int_equal(f->d.st.overlap_conflicts, 5);
    fix_free(f);
}

static void test_overlap_conflict_in_order_vs_queued(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 0xFFFFFFFFu);
    seg(f, 5, "XXXXX");                   /* queued first */
    seg(f, 0, "0123456789ab");            /* in order, covers the queued copy */
    assert_out(f, "01234XXXXXab");
    assert_int_equal(f->d.st.overlap_conflicts, 5);
    assert_int_equal(f->d.st.retrans, 1);
    assert_int_equal(f->d.ooo_segs, 0);
    fix_free(f);
}

static void test_segment_contains_queued(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 0xFFFFFFFFu);
    seg(f, 10, "ab");                     /* [10,12) */
    seg(f, 5, "56789abcdefghij");         /* [5,20) contains it */
    assert_int_equal(f->d.ooo_segs, 3);   /* [5,10) [10,12) [12,20) */
    assert_int_equal(f->d.ooo_bytes, 15);
    assert_int_equal(f->d.st.overlap_conflicts, 0);
    seg(f, 0, "01234");
    assert_out(f, "0123456789abcdefghij");
    assert_int_equal(f->d.ooo_bytes, 0);
    fix_free(f);
}

/* ---- sequence wraparound ------------------------------------------------- */

static void test_wrap_in_order(void **state)
{
    struct fix *f = fix_new();
    uint32_t s = 0xFFFFFFF1u;

    reasm_syn(&f->d, 0xFFFFFFF0u);
    seg(f, s, "0123456789");              /* ends at 0xFFFFFFFB */
    seg(f, s + 10, "abcdefghij");         /* crosses 2^32 */
    seg(f, s + 20, "ABCDEFGHIJ");
    assert_out(f, "0123456789abcdefghijABCDEFGHIJ");
    assert_int_equal(f->d.next_seq, (uint32_t)(s + 30));
    assert_true(f->d.next_seq < 0x100);
    assert_int_equal(f->d.st.retrans, 0);
    fix_free(f);
}

static void test_wrap_out_of_order(void **state)
{
    struct fix *f = fix_new();
    uint32_t s = 0xFFFFFFF1u;

    reasm_syn(&f->d, 0xFFFFFFF0u);
    seg(f, s + 20, "ABCDEFGHIJ");         /* after the wrap: queued */
    seg(f, s + 10, "abcdefghij");         /* straddles the wrap: queued before it */
    assert_int_equal(f->d.ooo_segs, 2);
    assert_int_equal(f->rec->outlen, 0);
    seg(f, s + 25, "FGHIJklmno");         /* overlaps the queued one after the wrap */
    seg(f, s, "0123456789");
    assert_out(f, "0123456789abcdefghijABCDEFGHIJklmno");
    assert_int_equal(f->d.st.overlap_conflicts, 0);
    assert_int_equal(f->d.ooo_segs, 0);
    /* an old segment from before the wrap is a retransmission now */
    seg(f, s, "0123456789");
    assert_int_equal(f->rec->outlen, 35);
    assert_int_equal(f->d.st.retrans, 2);
    fix_free(f);
}

/* ---- SYN handling -------------------------------------------------------- */

static void test_no_syn_first_data_starts(void **state)
{
    struct fix *f = fix_new();

    assert_false(f->d.started);
    seg(f, 5000, "first");
    assert_true(f->d.started);
    assert_out(f, "first");
    seg(f, 4990, "0123456789");           /* before the start: old data */
    assert_out(f, "first");
    assert_int_equal(f->d.st.retrans, 1);
    /* an empty segment neither starts nor changes anything */
    reasm_init(&f->d);
    assert_int_equal(reasm_segment(&f->d, 7, (const uint8_t *)"", 0, 0, &f->sink, &f->lim),
                     TI_OK);
    assert_false(f->d.started);
    fix_free(f);
}

static void test_syn_then_data(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 100);
    assert_true(f->d.started);
    assert_int_equal(f->d.next_seq, 101);
    seg(f, 111, "later");                 /* ahead of isn+1: must wait */
    assert_int_equal(f->rec->outlen, 0);
    seg(f, 101, "0123456789");
    assert_out(f, "0123456789later");
    fix_free(f);
}

static void test_repeated_syn_other_isn(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 100);
    reasm_syn(&f->d, 500);                /* new attempt before data: replaces */
    assert_int_equal(f->d.next_seq, 501);
    seg(f, 501, "data");
    assert_out(f, "data");
    reasm_syn(&f->d, 900);                /* after data: ignored */
    assert_int_equal(f->d.next_seq, 505);
    seg(f, 505, "more");
    assert_out(f, "datamore");
    fix_free(f);
}

static void test_syn_ignored_when_data_queued(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 100);
    seg(f, 111, "queued");
    reasm_syn(&f->d, 7000);               /* data already queued for the first ISN */
    assert_int_equal(f->d.next_seq, 101);
    seg(f, 101, "0123456789");
    assert_out(f, "0123456789queued");
    fix_free(f);
}

/* ---- gaps and flush ------------------------------------------------------ */

static void test_hole_flush_reports_exact_gap(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 0);                  /* next = 1 */
    seg(f, 11, "abcde");                  /* hole [1,11) */
    seg(f, 21, "wxyz");                   /* hole [16,21) */
    assert_int_equal(f->rec->nev, 0);
    reasm_flush(&f->d, 0, &f->sink, &f->lim);
    assert_int_equal(f->rec->nev, 4);
    assert_int_equal(f->rec->ev[0].kind, EV_GAP);
    assert_int_equal(f->rec->ev[0].n, 10);
    assert_int_equal(f->rec->ev[1].kind, EV_DATA);
    assert_int_equal(f->rec->ev[1].n, 5);
    assert_int_equal(f->rec->ev[2].kind, EV_GAP);
    assert_int_equal(f->rec->ev[2].n, 5);
    assert_int_equal(f->rec->ev[3].kind, EV_DATA);
    assert_int_equal(f->rec->ev[3].n, 4);
    assert_out(f, "abcdewxyz");
    assert_int_equal(f->d.st.gaps, 2);
    assert_int_equal(f->d.st.gap_bytes, 15);
    assert_int_equal(f->d.next_seq, 25);
    assert_int_equal(f->d.ooo_segs, 0);
    assert_int_equal(f->total, 0);
    /* the stream goes on after the flush */
    seg(f, 25, "!");
    assert_out(f, "abcdewxyz!");
    /* flushing an empty queue reports nothing */
    reasm_flush(&f->d, 0, &f->sink, &f->lim);
    assert_int_equal(f->rec->nev, 5);
    fix_free(f);
}

static void test_skip_in_order_and_queued(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 0xFFFFFFFFu);
    /* snaplen cut: 4 bytes captured of 10, then the rest is a hole */
    seg(f, 0, "abcd");
    assert_int_equal(reasm_skip(&f->d, 4, 6, 0, &f->sink, &f->lim), TI_OK);
    assert_int_equal(f->d.next_seq, 10);
    assert_int_equal(f->rec->nev, 2);
    assert_int_equal(f->rec->ev[1].kind, EV_GAP);
    assert_int_equal(f->rec->ev[1].n, 6);
    /* out of order cut segment [20,30) with [23,30) missing */
    seg(f, 20, "xyz");
    reasm_skip(&f->d, 23, 7, 0, &f->sink, &f->lim);
    assert_int_equal(f->d.ooo_segs, 2);
    assert_int_equal(f->d.ooo_bytes, 3);  /* holes hold no payload, only their entry */
    assert_int_equal(f->total, reasm_seg_cost(3) + reasm_seg_cost(0));
    seg(f, 30, "END");                    /* waits behind the known hole: no stall */
    seg(f, 10, "0123456789");
    assert_out(f, "abcd0123456789xyzEND");
    assert_int_equal(f->rec->pos, 33);
    assert_int_equal(f->d.st.gap_bytes, 13);
    assert_int_equal(f->d.st.gaps, 2);
    assert_int_equal(f->d.ooo_segs, 0);
    /* a skip on a fresh direction starts the stream */
    reasm_free(&f->d, &f->lim);
    reasm_init(&f->d);
    reasm_skip(&f->d, 500, 10, 0, &f->sink, &f->lim);
    assert_true(f->d.started);
    assert_int_equal(f->d.next_seq, 510);
    fix_free(f);
}

/* ---- limits -------------------------------------------------------------- */

static void test_limit_dir_bytes(void **state)
{
    struct fix *f = fix_new();

    f->lim.max_dir_bytes = 10;
    reasm_syn(&f->d, 0xFFFFFFFFu);
    assert_int_equal(seg(f, 10, "AAAAAA"), TI_OK);       /* [10,16) queued */
    /* 6 more would make 12 > 10: the hole [0,10) gives way */
    assert_int_equal(seg(f, 20, "BBBBBB"), TI_ELIMIT);
    assert_int_equal(f->d.st.limit_hits, 1);
    assert_int_equal(f->d.st.gaps, 1);
    assert_int_equal(f->d.st.gap_bytes, 10);
    assert_out(f, "AAAAAA");
    assert_int_equal(f->d.ooo_bytes, 6);                 /* [20,26) now queued */
    assert_int_equal(f->total, reasm_seg_cost(6));
    assert_true(f->d.ooo_bytes <= 10);
    /* a segment larger than the limit alone: gap, then delivered directly */
    assert_int_equal(seg(f, 40, "0123456789ABCDE"), TI_ELIMIT);
    assert_out(f, "AAAAAABBBBBB0123456789ABCDE");
    assert_int_equal(f->rec->pos, 55);
    assert_int_equal(f->d.st.gap_bytes, 10 + 4 + 14);
    assert_int_equal(f->d.ooo_bytes, 0);
    assert_int_equal(f->total, 0);
    fix_free(f);
}

static void test_limit_earlier_segment_goes_first(void **state)
{
    struct fix *f = fix_new();

    f->lim.max_dir_bytes = 10;
    reasm_syn(&f->d, 0xFFFFFFFFu);
    seg(f, 20, "BBBBBB");
    /* [10,16) does not fit, but it is earlier than the queue head: skip the
     * hole before it and deliver it, keep [20,26) queued */
    assert_int_equal(seg(f, 10, "AAAAAA"), TI_ELIMIT);
    assert_int_equal(f->rec->nev, 2);
    assert_int_equal(f->rec->ev[0].kind, EV_GAP);
    assert_int_equal(f->rec->ev[0].n, 10);
    assert_out(f, "AAAAAA");
    assert_int_equal(f->d.ooo_bytes, 6);
    seg(f, 16, "CCCC");
    assert_out(f, "AAAAAACCCCBBBBBB");
    fix_free(f);
}

static void test_limit_dir_segs(void **state)
{
    struct fix *f = fix_new();

    f->lim.max_dir_segs = 2;
    reasm_syn(&f->d, 0xFFFFFFFFu);
    assert_int_equal(seg(f, 10, "a"), TI_OK);
    assert_int_equal(seg(f, 20, "b"), TI_OK);
    assert_int_equal(f->d.ooo_segs, 2);
    assert_int_equal(seg(f, 30, "c"), TI_ELIMIT);
    assert_int_equal(f->d.ooo_segs, 2);                  /* [20] and [30] */
    assert_int_equal(f->d.st.limit_hits, 1);
    assert_out(f, "a");
    assert_int_equal(f->d.next_seq, 11);
    reasm_flush(&f->d, 0, &f->sink, &f->lim);
    assert_out(f, "abc");
    assert_int_equal(f->d.st.gap_bytes, 10 + 9 + 9);
    fix_free(f);
}

static void test_limit_total_shared(void **state)
{
    struct fix *f = fix_new();
    struct reasm_dir other;

    /* room for the other direction's 8 bytes and one 2-byte span here */
    f->lim.max_total_bytes = reasm_seg_cost(8) + reasm_seg_cost(2);
    reasm_init(&other);
    reasm_syn(&other, 0xFFFFFFFFu);
    reasm_segment(&other, 10, (const uint8_t *)"OOOOOOOO", 8, 0, NULL, &f->lim);
    assert_int_equal(f->total, reasm_seg_cost(8));
    reasm_syn(&f->d, 0xFFFFFFFFu);
    /* over the total before this direction delivered anything: dropped,
     * the hole stays (no gap, nothing delivered) */
    assert_int_equal(seg(f, 10, "ABCDEFGHIJKLMNOPQRSTU"), TI_ELIMIT);
    assert_int_equal(f->d.st.limit_hits, 1);
    assert_out(f, "");
    assert_int_equal(f->d.st.gap_bytes, 0);
    assert_int_equal(f->d.ooo_bytes, 0);
    assert_int_equal(f->total, reasm_seg_cost(8));
    /* 2 bytes still fit */
    assert_int_equal(seg(f, 40, "xy"), TI_OK);
    assert_int_equal(f->total, reasm_seg_cost(8) + reasm_seg_cost(2));
    /* in-order bytes need no room */
    assert_int_equal(seg(f, 0, "abc"), TI_OK);
    assert_out(f, "abc");
    /* under way now: over the total, the hole [3,40) gives way, "xy" is
     * delivered, then [42,50) and the segment itself */
    assert_int_equal(seg(f, 50, "LMNOPQRSTUVWXYZ012345"), TI_ELIMIT);
    assert_int_equal(f->d.st.limit_hits, 3);
    assert_out(f, "abcxyLMNOPQRSTUVWXYZ012345");
    assert_int_equal(f->d.st.gap_bytes, 37 + 8);
    assert_int_equal(f->total, reasm_seg_cost(8));
    reasm_free(&other, &f->lim);
    assert_int_equal(other.ooo_bytes, 0);
    assert_int_equal(f->total, 0);
    fix_free(f);
}

static void test_stop_ignores_later(void **state)
{
    struct fix *f = fix_new();

    reasm_syn(&f->d, 0xFFFFFFFFu);
    seg(f, 0, "abc");
    seg(f, 10, "queued");
    assert_int_equal(f->total, reasm_seg_cost(6));
    reasm_stop(&f->d, &f->lim);
    assert_true(f->d.stopped);
    assert_int_equal(f->total, 0);
    assert_int_equal(f->d.ooo_segs, 0);
    assert_int_equal(seg(f, 3, "defghij"), TI_OK);
    assert_int_equal(reasm_skip(&f->d, 3, 5, 0, &f->sink, &f->lim), TI_OK);
    reasm_flush(&f->d, 0, &f->sink, &f->lim);
    assert_out(f, "abc");
    assert_int_equal(f->rec->nev, 1);
    assert_int_equal(f->d.st.delivered, 3);
    fix_free(f);
}

/* ---- property test ------------------------------------------------------- */

#define PROP_LEN 10240u

struct prop_seg {
    uint32_t off, len;
};

static uint32_t prng(uint64_t *s)
{
    /* xorshift64*: deterministic, local state */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

static size_t prop_make(uint64_t *rs, struct prop_seg *segs, size_t cap)
{
    size_t n = 0, i;
    uint32_t off = 0;

    while (off < PROP_LEN && n < cap) {          /* a cover of the buffer */
        uint32_t len = 1 + prng(rs) % 1500;
        if (len > PROP_LEN - off)
            len = PROP_LEN - off;
        segs[n++] = (struct prop_seg){ off, len };
        off += len;
    }
    for (i = prng(rs) % 40; i > 0 && n < cap; i--) {   /* duplicates, overlaps */
        uint32_t o = prng(rs) % PROP_LEN;
        uint32_t len = 1 + prng(rs) % 3000;
        if (len > PROP_LEN - o)
            len = PROP_LEN - o;
        segs[n++] = (struct prop_seg){ o, len };
    }
    for (i = n; i > 1; i--) {                    /* Fisher-Yates */
        size_t j = prng(rs) % i;
        struct prop_seg t = segs[i - 1];
        segs[i - 1] = segs[j];
        segs[j] = t;
    }
    return n;
}

static void test_property_random_permutations(void **state)
{
    uint64_t rs = 0x9E3779B97F4A7C15ULL;
    uint8_t *buf = malloc(PROP_LEN);
    struct prop_seg segs[64];
    uint64_t retrans = 0;
    size_t max_queued = 0;
    int iter;
    size_t i;

    assert_non_null(buf);
    for (iter = 0; iter < 400; iter++) {
        struct fix *f = fix_new();
        /* half of the runs start close to 2^32 so the stream wraps */
        uint32_t isn = (iter & 1) ? 0xFFFFFFFFu - prng(&rs) % 8000 : prng(&rs);
        size_t n;

        for (i = 0; i < PROP_LEN; i++)
            buf[i] = (uint8_t)prng(&rs);
        n = prop_make(&rs, segs, 64);
        reasm_syn(&f->d, isn);
        for (i = 0; i < n; i++) {
            assert_int_equal(reasm_segment(&f->d, isn + 1 + segs[i].off, buf + segs[i].off,
                                           segs[i].len, 0, &f->sink, &f->lim), TI_OK);
            if (f->d.ooo_segs > max_queued)
                max_queued = f->d.ooo_segs;
        }
        retrans += f->d.st.retrans;
        assert_int_equal(f->rec->outlen, PROP_LEN);
        assert_memory_equal(f->rec->out, buf, PROP_LEN);
        assert_int_equal(f->d.st.gaps, 0);
        assert_int_equal(f->d.st.overlap_conflicts, 0);
        assert_int_equal(f->d.ooo_segs, 0);
        assert_int_equal(f->total, 0);
        fix_free(f);
    }
    free(buf);
    /* the runs did exercise reordering and duplicates */
    assert_true(max_queued > 3);
    assert_true(retrans > 100);
}

/* Under tight limits bytes get skipped, but every delivered byte must sit at
 * its true stream position and data + gaps must cover the stream exactly. */
static void test_property_tight_limits(void **state)
{
    uint64_t rs = 12345;
    uint8_t *buf = malloc(PROP_LEN);
    struct prop_seg segs[64];
    uint64_t hits = 0, gap_bytes = 0;
    int iter;
    size_t i;

    assert_non_null(buf);
    for (iter = 0; iter < 300; iter++) {
        struct fix *f = fix_new();
        uint32_t isn = (iter & 1) ? 0xFFFFFFFFu - prng(&rs) % 8000 : prng(&rs);
        size_t n, maxb = 1 + prng(&rs) % 4000, maxs = 1 + prng(&rs) % 6;

        f->lim.max_dir_bytes = maxb;
        f->lim.max_dir_segs = maxs;
        for (i = 0; i < PROP_LEN; i++)
            buf[i] = (uint8_t)prng(&rs);
        n = prop_make(&rs, segs, 64);
        reasm_syn(&f->d, isn);
        for (i = 0; i < n; i++) {
            reasm_segment(&f->d, isn + 1 + segs[i].off, buf + segs[i].off, segs[i].len, 0,
                          &f->sink, &f->lim);
            assert_true(f->d.ooo_bytes <= maxb);
            assert_true(f->d.ooo_segs <= maxs);
            /* memory: each span's payload, its header, malloc's rounding */
            assert_true(f->total >= f->d.ooo_bytes + f->d.ooo_segs * reasm_seg_cost(0));
            assert_true(f->total <= f->d.ooo_bytes + f->d.ooo_segs * (reasm_seg_cost(0) + 15));
        }
        reasm_flush(&f->d, 0, &f->sink, &f->lim);
        /* the last byte always arrives: the stream ends exactly there */
        assert_int_equal(f->rec->pos, PROP_LEN);
        assert_int_equal(f->d.st.delivered + f->d.st.gap_bytes, PROP_LEN);
        for (i = 0; i < PROP_LEN; i++)
            if (f->rec->have[i])
                assert_int_equal(f->rec->at[i], buf[i]);
        assert_int_equal(f->d.st.overlap_conflicts, 0);
        hits += f->d.st.limit_hits;
        gap_bytes += f->d.st.gap_bytes;
        fix_free(f);
    }
    free(buf);
    assert_true(hits > 100);
    assert_true(gap_bytes > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_zero_copy),
        cmocka_unit_test(test_reordered_1_3_2),
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_probe_then_retransmission_over_queue),
        cmocka_unit_test(test_end_at_reports_missing_tail),
        cmocka_unit_test(test_partial_overlap_front),
        cmocka_unit_test(test_partial_overlap_back_in_queue),
        cmocka_unit_test(test_overlap_conflict_first_wins),
        cmocka_unit_test(test_overlap_conflict_in_order_vs_queued),
        cmocka_unit_test(test_segment_contains_queued),
        cmocka_unit_test(test_wrap_in_order),
        cmocka_unit_test(test_wrap_out_of_order),
        cmocka_unit_test(test_no_syn_first_data_starts),
        cmocka_unit_test(test_syn_then_data),
        cmocka_unit_test(test_repeated_syn_other_isn),
        cmocka_unit_test(test_syn_ignored_when_data_queued),
        cmocka_unit_test(test_hole_flush_reports_exact_gap),
        cmocka_unit_test(test_skip_in_order_and_queued),
        cmocka_unit_test(test_limit_dir_bytes),
        cmocka_unit_test(test_limit_earlier_segment_goes_first),
        cmocka_unit_test(test_limit_dir_segs),
        cmocka_unit_test(test_limit_total_shared),
        cmocka_unit_test(test_stop_ignores_later),
        cmocka_unit_test(test_property_random_permutations),
        cmocka_unit_test(test_property_tight_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
