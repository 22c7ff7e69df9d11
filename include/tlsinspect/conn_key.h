/* conn_key.h - a connection's place in the report order, kept without the
 * connection.
 *
 * Streaming reports see connections in release order and drop them; what
 * they keep to sort by at the end (the first of a group, a fold group's
 * representative) is this copy of the fields conn_order_cmp() compares.
 * conn_key_cmp(key(a), key(b)) == conn_order_cmp(a, b) for every pair.
 */
#ifndef TLSINSPECT_CONN_KEY_H
#define TLSINSPECT_CONN_KEY_H

#include <stdint.h>

#include "tlsinspect/conn.h"

struct conn_key {
    int64_t first_ts;
    struct conn_endpoint server, client;
    uint64_t serial;
};

void conn_key_of(const struct conn *c, struct conn_key *k);
int conn_key_cmp(const struct conn_key *a, const struct conn_key *b);
/* The same order against a connection, without copying it. */
int conn_key_cmp_conn(const struct conn_key *a, const struct conn *b);

#endif
