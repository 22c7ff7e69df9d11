/* fuzz_tls.c - libFuzzer harness: the TLS record and handshake parser over both directions' bytes.
 *
 * Input format (so that seeds built from real captures replay the exact
 * sequence of calls the flow table made, and the fuzzer can still move the
 * split points):
 *   byte 0: setup.  bits 0-1: 0 nothing, 1 tls_set_client_side(0),
 *           2 tls_set_client_side(1), 3 tls_set_server_side_hint(bit 2);
 *           bit 3: keep feeding after tls_done() (the flow table stops, but
 *           the parser must not care); bit 4: tiny limits (1 KiB handshake
 *           messages, 16 records) so that the limit paths run.
 *   then operations, each a control byte:
 *           bits 0-1: 0 or 3 data, 1 gap, 2 close; bit 2: raw side;
 *           bit 3: RST (close); bit 4: gap size in units of 64 KiB;
 *           bit 5: this operation's timestamp goes backwards.
 *     data: 2-byte big-endian length, then that many bytes (clamped to what
 *           is left of the input);  gap: 2-byte length = missing bytes;
 *     close: nothing more.
 * After the input, tls_finish(), the findings stage, and invariant checks on
 * struct conn: the reports trust these counts and strings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/err.h"
#include "tlsinspect/conn.h"
#include "tlsinspect/findings.h"
#include "tlsinspect/tls.h"
#include "tlsinspect/tls_names.h"
#include "tlsinspect/x509.h"

#include "fuzz_check.h"
#include "fuzz_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tls_names *names;   /* read-only after init: one per process */
    struct x509_trust_opts trust = {NULL, NULL, NULL};
    struct x509_pool *pool = NULL;
    struct tls_session *s = NULL;
    struct tls_limits lim;
    struct conn c;
    char err[256];
    size_t i = 1;
    int64_t ts = 1700000000000000LL;
    bool ignore_done;

    if (size < 1)
        return 0;
    if (names == NULL && tls_names_new(&names) != TI_OK)
        abort();
    if (x509_pool_new(&pool, &trust, err, sizeof(err)) != TI_OK)
        abort();
    conn_init(&c);
    tls_limits_default(&lim);
    if (data[0] & 0x10) {
        lim.max_hs_msg = 1024;
        lim.max_records = 16;
    }
    if (tls_session_new(&s, &c, pool, names, &lim, NULL) != TI_OK)
        abort();
    switch (data[0] & 3) {
    case 1: tls_set_client_side(s, 0); break;
    case 2: tls_set_client_side(s, 1); break;
    case 3: tls_set_server_side_hint(s, (data[0] >> 2) & 1); break;
    default: break;
    }
    ignore_done = (data[0] & 8) != 0;

    while (i < size) {
        uint8_t ctl = data[i++];
        int side = (ctl >> 2) & 1;
        size_t n = 0;

        ts += (ctl & 0x20) ? -1000 : 1000;
        if ((ctl & 3) != 2) {
            if (size - i < 2)
                break;
            n = (size_t)data[i] << 8 | data[i + 1];
            i += 2;
        }
        bool done = tls_done(s);
        FUZZ_CHECK(tls_client_side(s) >= -1 && tls_client_side(s) <= 1);
        switch (ctl & 3) {
        case 1:
            if (!done || ignore_done)
                tls_gap(s, side, (ctl & 0x10) ? (uint64_t)n << 16 : n, ts);
            break;
        case 2:
            tls_close(s, side, (ctl & 8) != 0, ts);
            break;
        default:
            if (n > size - i)
                n = size - i;
            if (n > 0 && (!done || ignore_done)) {
                /* An exact-size copy, so ASan sees a read past the chunk. */
                uint8_t *chunk = malloc(n);
                if (chunk == NULL)
                    abort();
                memcpy(chunk, data + i, n);
                tls_feed(s, side, chunk, n, ts);
                free(chunk);
            }
            i += n;
            break;
        }
    }
    tls_finish(s);
    tls_finish(s);                     /* documented as idempotent */
    tls_session_free(s);
    findings_run(&c, names);
    fuzz_check_conn(&c);
    conn_free(&c);
    x509_pool_free(pool);
    return 0;
}
