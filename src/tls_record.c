/* tls_record.c - TLS record framing: headers, bodies, gaps, and what a record's header alone says. */
#include <string.h>

#include "tlsinspect/cur.h"
#include "tlsinspect/err.h"
#include "tlsinspect/tls.h"
#include "tls_internal.h"

/* ---- what a record's header says ------------------------------------------ */

void tls_on_ccs(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];

    conn_add_event(s->c, s->ts, EV_CCS, dir, 0, 0);
    if (s->c->tls13)
        return;   /* RFC 8446 D.4: middlebox compatibility, no key change */
    /* RFC 5246 7.3: a server that goes from its ServerHello (and maybe a
     * NewSessionTicket, RFC 5077 3.1) straight to ChangeCipherSpec resumed
     * a session: no certificate is sent in this handshake. */
    if (dir == DIR_SERVER && !s->c->ccs[dir] && s->c->sh.present && !s->srv_hello_done &&
        !s->c->server_cert_msg_seen && s->c->sh.version >= 0x0300 && s->c->sh.version <= 0x0303)
        s->c->resumed = s->ch_ticket ? RESUMED_TICKET : RESUMED_SESSION_ID;
    s->c->ccs[dir] = true;
    if (d->prot == PROT_PLAIN)
        d->prot = PROT_OPAQUE;
    d->hs_len = 0;
    tls_keys12_start(s, dir);
}

/* Protected record of a TLS 1.3 connection (type 23, or anything
 * encrypted), at its header. */
static void on_opaque13(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];

    if (!s->c->sh.present)
        return;   /* 0-RTT early data before the ServerHello */
    d->enc13_records++;
    tls_infer_record(s, dir, d->rec_len);
    if (dir == DIR_SERVER && s->d[DIR_CLIENT].enc13_records > 0)
        s->srv_after_cli13 = true;
    switch (d->prot) {
    case PROT_HS13:
    case PROT_APP13:
        break;    /* opened at its end: its messages make the ladder */
    case PROT_DONE13:
        /* After this side's Finished: application traffic keys (RFC 8446
         * 7.2), which tlsinspect does not need. */
        tls_appdata_event(s, dir);
        break;
    default:
        tls_opaque_event(s, dir);
        break;
    }
}

void tls_on_appdata(struct tls_session *s, enum conn_dir dir)
{
    struct conn *c = s->c;

    if (c->tls13) {
        on_opaque13(s, dir);
        return;
    }
    /* TLS <= 1.2: application data only after this side's CCS. */
    if (s->d[dir].prot != PROT_PLAIN && c->sh.present)
        tls_appdata_event(s, dir);
}

static void on_encrypted_hs(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];

    if (s->c->tls13) {
        on_opaque13(s, dir);
        return;
    }
    if (d->enc_hs_seen)
        return;   /* renegotiation or HelloRequest under encryption */
    /* RFC 5246 7.4.9: the first message after CCS is Finished. */
    d->enc_hs_seen = true;
    s->c->finished[dir] = true;
    s->last_hs_type = TLS_HS_FINISHED;
    s->last_hs_from = dir;
    conn_add_event(s->c, s->ts, EV_ENCRYPTED_HS, dir, TLS_HS_FINISHED, 0);
}

/* A TLS <= 1.2 record not opened: what its header alone says, as without
 * keys (RFC 5246 7.4.9: the first handshake record after CCS is Finished). */
void tls_on_opaque12(struct tls_session *s, enum conn_dir dir)
{
    switch (s->d[dir].rec_type) {
    case CT_CCS: tls_on_ccs(s, dir); break;
    case CT_HANDSHAKE: on_encrypted_hs(s, dir); break;
    case CT_ALERT: tls_add_alert(s, dir, true, 0, 0); break;
    default: break;   /* application data was counted at its header */
    }
}

/* A record whose body is not read, at its header. */
static void on_header_only(struct tls_session *s, enum conn_dir dir, uint8_t type)
{
    switch (type) {
    case CT_CCS: tls_on_ccs(s, dir); break;
    case CT_APPDATA: tls_on_appdata(s, dir); break;
    case CT_HANDSHAKE: on_encrypted_hs(s, dir); break;
    case CT_ALERT:
        if (s->c->tls13)
            on_opaque13(s, dir);
        else
            tls_add_alert(s, dir, true, 0, 0);
        break;
    default: break;   /* heartbeat */
    }
}

/* Alerts are 2 bytes; a record may carry several.  One split across
 * records (legal before TLS 1.3, never seen) is ignored. */
void tls_alerts_input(struct tls_session *s, enum conn_dir dir, const uint8_t *p, size_t n)
{
    struct cur c = cur_make(p, n);
    uint8_t level, desc;

    while (cur_u8(&c, &level) == TI_OK && cur_u8(&c, &desc) == TI_OK)
        tls_add_alert(s, dir, false, level, desc);
}

/* ---- record start and end ---------------------------------------------- */

/* Is the body read?  Only plaintext handshake and alerts (and the SSLv2
 * hello, and TLS 1.3 records to open); everything else is handled from its
 * header alone, which is all that is read after the handshake without keys. */
static bool record_read(const struct tls_dir *d, uint8_t type, size_t len)
{
    if (type == CT_APPDATA)   /* TLS 1.3 record to decrypt */
        return prot_opens13(d->prot);
    if (type == CT_HANDSHAKE)
        return d->prot == PROT_PLAIN;
    /* An alert is 2 bytes in the clear: a longer alert record is a protected
     * one (a capture that starts after the handshake, a TLS 1.3 peer's),
     * not a run of plaintext alerts. */
    if (type == CT_ALERT)
        return len == 2;
    return false;
}

/* A TLS <= 1.2 side being decrypted: handshake, alert and CCS records are
 * opened; the rest only counted (sequence numbers), unless TLS 1.0 CBC
 * chains its IV through them or DEFLATE its history (RFC 3749 2). */
static enum tls_rec record_fate12(const struct tls_session *s, enum conn_dir dir, uint8_t type)
{
    if (type == CT_HANDSHAKE || type == CT_ALERT || type == CT_CCS ||
        tls12_skip_tail_len(&s->dec12->k[dir]) > 0 || s->dec12->k[dir].zs != NULL)
        return REC_OPEN12;
    return REC_COUNT12;
}

static void record_end(struct tls_session *s, enum conn_dir dir, const uint8_t *body)
{
    struct tls_dir *d = &s->d[dir];
    enum tls_rec rec = d->rec;
    size_t len = d->rec_len;

    d->rec = REC_HEADER;
    d->hdr_len = 0;
    if (d->unconfirmed && !d->rec_damaged) {
        d->unconfirmed = false;
        if (!s->c->is_tls) {
            s->c->is_tls = true;
            s->c->record_version = d->unconfirmed_version;
        }
    }
    /* Read by tls_done() once this chunk is processed (tls13_done); a
     * record to open under the server's application keys is judged by
     * its content in tls_open13. */
    if (dir == DIR_SERVER && s->c->finished[DIR_CLIENT] &&
        !(rec == REC_READ && !d->rec_damaged && d->rec_type == CT_APPDATA &&
          d->prot == PROT_APP13))
        s->srv_after_cfin = true;
    if (rec == REC_COUNT12 || (rec == REC_OPEN12 && d->rec_damaged)) {
        /* Not opened (or bytes lost inside): its sequence number is used
         * up all the same (RFC 5246 6.1). */
        tls12_skip_record(&s->dec12->k[dir], NULL, 0);
        if (d->rec_damaged)
            tls_on_opaque12(s, dir);   /* what its header says, as without keys */
    }
    if (rec != REC_READ && rec != REC_OPEN12)
        return;
    if (d->rec_damaged) {
        if (d->rec_type == CT_APPDATA && prot_opens13(d->prot)) {
            /* Lost bytes inside a protected record: it cannot be opened,
             * but its sequence number is used up (RFC 8446 5.3). */
            s->dec->k[dir].seq++;
            d->hs_lost = true;
            d->hs_len = 0;
        }
        if (d->rec_type == CT_HANDSHAKE) {
            d->hs_lost = true;
            d->hs_len = 0;
        }
        return;
    }
    if (rec == REC_OPEN12) {
        tls_open12(s, dir, body, len);
        return;
    }
    switch (d->rec_type) {
    case CT_HANDSHAKE:
        tls_hs_input(s, dir, body, len, false);
        break;
    case CT_ALERT:
        tls_alerts_input(s, dir, body, len);
        break;
    case CT_APPDATA:
        tls_open13(s, dir, body, len);
        break;
    case CT_SSL2:
        tls_on_ssl2_hello(s, dir, body, len);
        break;
    default:
        break;
    }
}

bool tls_plausible_first_byte(uint8_t b)
{
    return (b >= CT_CCS && b <= CT_HEARTBEAT) || (b & 0x80) != 0;
}

/* The direction's first record header was accepted. */
static void first_record(struct tls_session *s, struct tls_dir *d, uint16_t version)
{
    d->sync = SYNC_IN;
    if (d->origin == ORIGIN_NONE)
        d->origin = ORIGIN_START;
    if (!s->c->is_tls) {
        s->c->is_tls = true;
        s->c->record_version = version;
    }
}

/* Header of the SSLv2-compatible CLIENT-HELLO (RFC 5246 E.2): 2-byte length
 * with the high bit set, msg_type 1, version 0x0002 or 0x03xx. */
static bool start_sslv2(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];
    size_t v2len = ((size_t)(d->hdr[0] & 0x7f) << 8) | d->hdr[1];

    if (dir != DIR_CLIENT || d->hdr[2] != 1 ||
        !((d->hdr[3] == 0x00 && d->hdr[4] == 0x02) || d->hdr[3] == 0x03) ||
        v2len < 9 || v2len > TLS_MAX_RECORD)
        return false;
    if (tls_buf_reserve(&d->rec_buf, &d->rec_cap, v2len, TLS_MAX_RECORD) != TI_OK)
        return false;
    first_record(s, d, 0x0002);
    memcpy(d->rec_buf, d->hdr + 2, 3);   /* msg_type and version belong to the message */
    d->rec = REC_READ;
    d->rec_type = CT_SSL2;
    d->rec_len = v2len;
    d->rec_have = 3;
    d->rec_damaged = false;
    s->records++;
    return true;
}

/* Is the complete header in d->hdr acceptable?  The first one of a
 * direction must look like TLS (else the prefix scan may start); later ones
 * only give up on the direction when they are wrong. */
static bool header_ok(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];
    uint8_t type = d->hdr[0];
    uint16_t ver = ti_be16(d->hdr + 1);
    size_t len = ti_be16(d->hdr + 3);

    if (d->sync == SYNC_START) {
        if ((type & 0x80) != 0) {
            if (!start_sslv2(s, dir))
                tls_bad_start(s, dir, "neither a TLS record nor an SSLv2 ClientHello");
            return false;
        }
        if (type < CT_CCS || type > CT_HEARTBEAT || ver < 0x0300 || ver > 0x0304 ||
            len == 0) {
            tls_bad_start(s, dir, "first bytes are not a TLS record header");
            return false;
        }
        first_record(s, d, ver);
    } else if (type < CT_CCS || type > CT_HEARTBEAT) {
        tls_give_up(s, dir, "unknown record type %u", type);
        return false;
    } else if ((ver >> 8) != 3) {
        tls_give_up(s, dir, "bad record version 0x%04x", ver);
        return false;
    }
    if (len > TLS_MAX_RECORD) {
        tls_give_up(s, dir, "record of %zu bytes exceeds the limit", len);
        return false;
    }
    if (++s->records > s->lim.max_records) {
        s->c->limits_hit |= CONN_LIMIT_RECORDS;
        tls_give_up(s, dir, "record limit");
        s->run = RUN_STOPPED;
        return false;
    }
    return true;
}

/* A complete 5-byte header is in d->hdr. */
static void record_start(struct tls_session *s, enum conn_dir dir)
{
    struct tls_dir *d = &s->d[dir];
    uint8_t type = d->hdr[0];
    size_t len = ti_be16(d->hdr + 3);

    if (!header_ok(s, dir))
        return;
    d->rec_type = type;
    d->rec_len = len;
    d->rec_have = 0;
    d->rec_damaged = false;
    /* A 2-byte alert after CCS is in the clear: no protected record is
     * that short. */
    if (d->prot == PROT_DEC12 && !(type == CT_ALERT && len == 2))
        d->rec = record_fate12(s, dir, type);
    else
        d->rec = record_read(d, type, len) ? REC_READ : REC_COUNT;
    if (d->rec == REC_OPEN12 && type == CT_APPDATA)
        tls_on_appdata(s, dir);
    else if (d->rec == REC_READ && type == CT_APPDATA)
        on_opaque13(s, dir);   /* counted now, opened at its end */
    else if (d->rec == REC_COUNT || d->rec == REC_COUNT12)
        on_header_only(s, dir, type);
    if (len == 0)
        record_end(s, dir, NULL);
}

/* ---- feeding and gaps ------------------------------------------------- */

/* Plausible header to resynchronise on after a gap. */
static bool resync_header(const uint8_t h[5])
{
    size_t len = ti_be16(h + 3);

    if (h[0] < CT_CCS || h[0] > CT_HEARTBEAT || h[1] != 3 || h[2] > 4)
        return false;
    if (len == 0 || len > TLS_MAX_RECORD)
        return false;
    return h[0] != CT_CCS || len == 1;
}

/* SYNC_SEARCHING: slide a 5-byte window over the bytes; returns how many
 * were used. */
static size_t resync(struct tls_session *s, enum conn_dir dir, const uint8_t *p, size_t n)
{
    struct tls_dir *d = &s->d[dir];
    struct cur c = cur_make(p, n);
    uint8_t b;

    while (cur_u8(&c, &b) == TI_OK) {
        if (d->hdr_len == 5) {
            memmove(d->hdr, d->hdr + 1, 4);
            d->hdr_len = 4;
        }
        d->hdr[d->hdr_len++] = b;
        if (d->hdr_len == 5 && resync_header(d->hdr)) {
            d->sync = SYNC_IN;
            if (d->origin == ORIGIN_NONE) {
                /* The stream's start was never seen: five plausible bytes
                 * after a hole do not make a TLS connection (a flood of
                 * such half-open connections would all be kept for the
                 * report); the first whole record does (record_end). */
                d->origin = ORIGIN_MIDSTREAM;
                if (!s->c->is_tls) {
                    d->unconfirmed = true;
                    d->unconfirmed_version = ti_be16(d->hdr + 1);
                }
            }
            record_start(s, dir);
            break;
        }
    }
    return n - cur_left(&c);
}

/* Header bytes.  A first header that is not TLS starts the prefix scan
 * (tls_dir_feed then hands it the rest) or ends the direction. */
static void header_input(struct tls_session *s, enum conn_dir dir, struct cur *c)
{
    struct tls_dir *d = &s->d[dir];
    struct cur m = {NULL, NULL};
    size_t take = 5u - d->hdr_len;

    if (take > cur_left(c))
        take = cur_left(c);
    (void)cur_bytes(c, take, &m);
    memcpy(d->hdr + d->hdr_len, m.p, take);
    d->hdr_len = (uint8_t)(d->hdr_len + take);
    if (d->sync == SYNC_START) {
        /* Tell "GET / HTTP" apart early, even from a short stream. */
        if (!tls_plausible_first_byte(d->hdr[0]) ||
            ((d->hdr[0] & 0x80) == 0 && d->hdr_len >= 2 && d->hdr[1] != 3)) {
            tls_bad_start(s, dir, "first bytes are not a TLS record header");
            return;   /* the rest goes to the scan, if one started */
        }
    }
    if (d->hdr_len == 5)
        record_start(s, dir);
}

/* Body bytes of the current record: kept whole (no copy when the record
 * is in one chunk), or only counted. */
static void body_input(struct tls_session *s, enum conn_dir dir, struct cur *c)
{
    struct tls_dir *d = &s->d[dir];
    struct cur m = {NULL, NULL};
    size_t take = d->rec_len - d->rec_have;

    if (take > cur_left(c))
        take = cur_left(c);
    (void)cur_bytes(c, take, &m);
    if (d->rec == REC_COUNT || d->rec == REC_COUNT12 || d->rec_damaged) {
        d->rec_have += take;
        if (d->rec_have == d->rec_len)
            record_end(s, dir, NULL);
    } else if (d->rec_have == 0 && take == d->rec_len) {
        d->rec_have = take;
        record_end(s, dir, m.p);   /* whole record in this chunk: no copy */
    } else {
        int rc = tls_buf_reserve(&d->rec_buf, &d->rec_cap, d->rec_len, TLS_MAX_RECORD);
        if (rc != TI_OK) {
            tls_give_up(s, dir, "record buffer: %s", ti_strerror(rc));
            return;
        }
        memcpy(d->rec_buf + d->rec_have, m.p, take);
        d->rec_have += take;
        if (d->rec_have == d->rec_len)
            record_end(s, dir, d->rec_buf);
    }
}

void tls_dir_feed(struct tls_session *s, enum conn_dir dir, const uint8_t *p, size_t n)
{
    struct tls_dir *d = &s->d[dir];
    struct cur c = cur_make(p, n);

    while (!cur_done(&c)) {
        if (d->sync == SYNC_DEAD || !tls_running(s))
            return;
        if (s->scan[tls_side_of(s, dir)].on) {
            tls_scan_feed(s, tls_side_of(s, dir), c.p, cur_left(&c));
            return;
        }
        if (d->sync == SYNC_SEARCHING)
            (void)cur_skip(&c, resync(s, dir, c.p, cur_left(&c)));
        else if (d->rec == REC_HEADER)
            header_input(s, dir, &c);
        else
            body_input(s, dir, &c);
    }
}

/* n bytes of the direction are missing (the prefix scan is not running). */
void tls_dir_gap(struct tls_session *s, enum conn_dir dir, uint64_t n)
{
    struct tls_dir *d = &s->d[dir];

    if (d->sync == SYNC_DEAD || !tls_running(s))
        return;
    if (d->sync == SYNC_SEARCHING) {
        d->hdr_len = 0;   /* the window is no longer contiguous */
        return;
    }
    if (d->rec != REC_HEADER) {
        /* The header told us where the record ends: skip to there and stay
         * in step; only the record's contents are lost. */
        uint64_t rest = d->rec_len - d->rec_have;
        d->rec_damaged = true;
        if (n < rest) {
            d->rec_have += (size_t)n;
            return;
        }
        d->rec_have = d->rec_len;
        record_end(s, dir, NULL);
        if (n == rest)
            return;
    } else if (d->hdr_len > 0) {
        tls_give_up(s, dir, "gap of %llu bytes inside a record header", (unsigned long long)n);
        return;
    }
    /* Between records, position unknown: scan for the next header. */
    d->sync = SYNC_SEARCHING;
    d->hdr_len = 0;
    d->hs_lost = d->prot == PROT_PLAIN;
    d->hs_len = 0;
    tls_keys_lost(s, dir, n);
}

void tls_gap(struct tls_session *s, int side, uint64_t n, int64_t ts)
{
    enum conn_dir dir;

    if (s == NULL || (side != 0 && side != 1) || n == 0)
        return;
    s->ts = ts;
    if (s->scan[side].on) {
        tls_scan_gap(s, side, n, ts);
        return;
    }
    if (s->client_side < 0)
        tls_decide_role(s);
    dir = tls_dir_of(s, side);
    conn_add_event(s->c, ts, EV_GAP, dir, 0, 0);
    tls_dir_gap(s, dir, n);
}
