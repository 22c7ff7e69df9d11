/* fuzz_tslog.c - libFuzzer harness: traffic_server log lines, fed whole and in chunks.
 *
 * Input: log text.  It is parsed line by line as tslog_parse_line() sees a
 * logical line, and fed to a tslog in chunks whose sizes come from the
 * input's first byte (wrapped lines, cut lines, CRLF across chunk borders);
 * every entry and connect address kept is read to the end of its strings
 * (ASan checks each is terminated inside its allocation), and the store
 * must stay within its limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/err.h"
#include "tlsinspect/tslog.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_tslog_str(const char *s)
{
    if (s != NULL)
        FUZZ_CHECK(strlen(s) <= TSLOG_MAX_LINE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tslog *lg = NULL;
    struct tslog_entry e, *es;
    struct tslog_addr a;
    const struct tslog_addr *as;
    char host[64];
    size_t chunk, ne, na;
    int rc;

    /* one logical line, exactly `size` bytes (a copy: no terminator to lean on) */
    {
        char *copy = malloc(size ? size : 1);
        if (copy == NULL)
            return 0;
        memcpy(copy, data, size);
        rc = tslog_parse_line(copy, size, &e, &a, host, sizeof host);
        FUZZ_CHECK(rc == TI_ENOMEM || (rc >= TSLOG_LINE_NONE && rc <= TSLOG_LINE_BAD_ADDR));
        FUZZ_CHECK(strlen(host) < sizeof host);
        if (rc == TSLOG_LINE_FAILURE) {
            fuzz_tslog_str(e.text);
            fuzz_tslog_str(e.name);
            fuzz_tslog_str(e.server_name);
            fuzz_tslog_str(e.error);
            tslog_entry_clear(&e);
        } else if (rc == TSLOG_LINE_ADDR) {
            FUZZ_CHECK(a.port >= 1);
            fuzz_tslog_str(a.domain);
            fuzz_tslog_str(a.protocol);
            fuzz_tslog_str(a.host);
            tslog_addr_clear(&a);
        }
        free(copy);
    }

    /* the stream */
    if (tslog_new(&lg) != TI_OK)
        return 0;
    chunk = size > 0 ? (size_t)data[0] % 97 + 1 : 1;
    if (tslog_begin_file(lg, "fuzz.log", "node") == TI_OK) {
        for (size_t off = 0; off < size; off += chunk)
            if (tslog_feed(lg, (const char *)data + off, size - off < chunk ? size - off : chunk) != TI_OK)
                break;
        (void)tslog_end_file(lg);
    }
    es = tslog_entries(lg, &ne);
    as = tslog_addrs(lg, &na);
    FUZZ_CHECK(ne <= TSLOG_MAX_ENTRIES && na <= TSLOG_MAX_ADDRS);
    for (size_t i = 0; i < ne; i++) {
        fuzz_tslog_str(es[i].text);
        fuzz_tslog_str(es[i].name);
        FUZZ_CHECK(es[i].line >= 1);
    }
    for (size_t i = 0; i < na; i++)
        fuzz_tslog_str(as[i].host);
    FUZZ_CHECK(tslog_stats(lg)->unknown <= tslog_stats(lg)->lines);
    tslog_free(lg);
    return 0;
}
