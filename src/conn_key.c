/* conn_key.c - the report order's key, kept without the connection (conn_key.h). */
#include <string.h>

#include "tlsinspect/conn_key.h"

void conn_key_of(const struct conn *c, struct conn_key *k)
{
    memset(k, 0, sizeof(*k));       /* padding too: keys may be hashed or written out */
    k->first_ts = c->first_ts;
    k->server = c->server;
    k->client = c->client;
    k->serial = c->serial;
}

/* The report order (conn.h): first timestamp, server, client, serial. */
int conn_key_cmp(const struct conn_key *a, const struct conn_key *b)
{
    int r;

    if (a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    r = conn_endpoint_cmp(&a->server, &b->server);
    if (r != 0)
        return r;
    r = conn_endpoint_cmp(&a->client, &b->client);
    if (r != 0)
        return r;
    return (a->serial > b->serial) - (a->serial < b->serial);
}

/* The same order on two connections (conn.h). */
int conn_order_cmp(const struct conn *a, const struct conn *b)
{
    struct conn_key ka, kb;

    conn_key_of(a, &ka);
    conn_key_of(b, &kb);
    return conn_key_cmp(&ka, &kb);
}

int conn_key_cmp_conn(const struct conn_key *a, const struct conn *b)
{
    struct conn_key kb;

    conn_key_of(b, &kb);
    return conn_key_cmp(a, &kb);
}
