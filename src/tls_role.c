/* tls_role.c - which raw side is the client, and the bytes held until that is known. */
#include <string.h>

#include "tlsinspect/cur.h"
#include "tlsinspect/tls.h"
#include "tls_internal.h"

int tls_side_of(const struct tls_session *s, enum conn_dir dir)
{
    return dir == DIR_CLIENT ? s->client_side : 1 - s->client_side;
}

enum conn_dir tls_dir_of(const struct tls_session *s, int side)
{
    return side == s->client_side ? DIR_CLIENT : DIR_SERVER;
}

static bool peek_is_hello(const uint8_t *p, size_t n, uint8_t hs_type)
{
    if (n >= 6 && p[0] == CT_HANDSHAKE && p[1] == 3 && p[5] == hs_type)
        return true;
    /* SSLv2-compatible ClientHello */
    return hs_type == TLS_HS_CLIENT_HELLO && n >= 3 && (p[0] & 0x80) != 0 && p[2] == 1;
}

/* Could p[0..n) (a side's first bytes) begin a TLS record or an SSLv2
 * ClientHello?  The same tests the record layer applies to a first header. */
static bool peek_plausible(const uint8_t *p, size_t n)
{
    if (n == 0)
        return true;
    if (!tls_plausible_first_byte(p[0]))
        return false;
    if ((p[0] & 0x80) != 0)
        return n < 3 || p[2] == TLS_HS_CLIENT_HELLO;
    if (n >= 2 && p[1] != 3)
        return false;
    if (n >= 3 && p[2] > 4)
        return false;
    return n < 5 || ti_be16(p + 3) != 0;
}

/* Roles are known: push the bytes held while they were not. */
void tls_replay_peeks(struct tls_session *s)
{
    int order[2] = {s->first_speaker >= 0 ? s->first_speaker : 0, 0};

    order[1] = 1 - order[0];
    for (int i = 0; i < 2; i++) {
        int side = order[i];
        uint8_t n = s->peek_len[side];
        if (n == 0)
            continue;
        s->peek_len[side] = 0;
        tls_dir_feed(s, tls_dir_of(s, side), s->peek[side], n);
    }
}

void tls_decide_role(struct tls_session *s)
{
    int side = -1;

    for (int i = 0; i < 2 && side < 0; i++)
        if (peek_is_hello(s->peek[i], s->peek_len[i], TLS_HS_CLIENT_HELLO))
            side = i;
    for (int i = 0; i < 2 && side < 0; i++)
        if (peek_is_hello(s->peek[i], s->peek_len[i], TLS_HS_SERVER_HELLO))
            side = 1 - i;
    if (side < 0)
        side = s->server_hint >= 0 ? 1 - s->server_hint : 0;
    s->client_side = side;
    tls_replay_peeks(s);
}

void tls_set_client_side(struct tls_session *s, int side)
{
    if (s == NULL || (side != 0 && side != 1) || s->client_side >= 0)
        return;
    s->client_side = side;
    tls_replay_peeks(s);
}

void tls_set_server_side_hint(struct tls_session *s, int side)
{
    if (s != NULL && (side == 0 || side == 1))
        s->server_hint = side;
}

int tls_client_side(const struct tls_session *s)
{
    return s != NULL ? s->client_side : -1;
}

void tls_feed(struct tls_session *s, int side, const uint8_t *data, size_t len,
              int64_t ts)
{
    if (s == NULL || (side != 0 && side != 1) || data == NULL || len == 0)
        return;
    s->ts = ts;
    if (!tls_running(s))
        return;
    if (s->client_side < 0) {
        if (s->scan[side].on) {
            tls_scan_feed(s, side, data, len);   /* may decide the roles */
            return;
        }
        /* Hold the first bytes until they tell who is the client. */
        size_t take = TLS_PEEK_MAX - s->peek_len[side];
        if (take > len)
            take = len;
        memcpy(s->peek[side] + s->peek_len[side], data, take);
        s->peek_len[side] = (uint8_t)(s->peek_len[side] + take);
        if (s->first_speaker < 0)
            s->first_speaker = side;
        data += take;
        len -= take;
        if (!peek_plausible(s->peek[side], s->peek_len[side])) {
            /* Plaintext first (STARTTLS): the hello found later tells the
             * roles; until then this side is only scanned. */
            uint8_t first[TLS_PEEK_MAX];
            uint8_t n = s->peek_len[side];
            memcpy(first, s->peek[side], n);
            s->peek_len[side] = 0;
            tls_scan_begin(s, side, first, n);
            if (len > 0)
                tls_feed(s, side, data, len, ts);
            return;
        }
        if (s->peek_len[side] < TLS_PEEK_MAX)
            return;
        tls_decide_role(s);
    }
    if (len > 0)
        tls_dir_feed(s, tls_dir_of(s, side), data, len);
}
