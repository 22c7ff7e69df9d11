/* tslog.c - parse traffic_server log lines (failures, connect addresses) and attach them to connections. */
#include "tlsinspect/tslog.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "tlsinspect/err.h"

#define TSLOG_HOST_MAX 128

#define TSLOG_MAX_NAMES 4096

struct tl_name {
    char *name;
    struct conn_endpoint ip;
};

struct tslog {
    struct tslog_entry *entries;
    size_t nentries, cap_entries;
    struct tslog_addr *addrs;
    size_t naddrs;
    char **files;
    size_t nfiles;
    char **file_node;           /* per file: the host of its first line, or NULL */
    char **nodes;
    size_t nnodes;
    struct tslog_stats st;
    size_t kept;                /* bytes of entry text kept */
    struct tl_name *names;      /* NAME -> IP from server=NAME(IP) */
    size_t nnames;

    /* the file being fed */
    bool in_file;
    char *hint;                 /* node for lines without a host */
    uint32_t cur_file;
    uint32_t phys_line;         /* physical lines read in this file */
    char *phys;                 /* current physical line (bounded) */
    size_t nphys;
    bool phys_cut;
    char *logical;              /* current logical line (bounded) */
    size_t nlogical;
    bool logical_cut;
    uint32_t logical_line;      /* its first physical line */

    /* correlation index: entry pointers sorted by connection id */
    uint64_t *idx_ids;
    const struct tslog_entry **idx_entries;
    size_t nidx;
};

/* ---- small bounded helpers ------------------------------------------------------ */

/* First occurrence of needle in s[0..n), or NULL. */
static const char *tl_find(const char *s, size_t n, const char *needle)
{
    return memmem(s, n, needle, strlen(needle));
}

static char *tl_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Digits at s[0..k) as a number; -1 when any is not a digit. */
static int tl_num(const char *s, size_t n, size_t k)
{
    int v = 0;

    if (k > n)
        return -1;
    for (size_t i = 0; i < k; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t tl_days(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD?HH:MM:SS" with sep as '?', then [.,]fraction; returns bytes used. */
static size_t tl_datetime(const char *s, size_t n, char sep, int64_t *us)
{
    int y = tl_num(s, n, 4), mo, d, h, mi, se;
    int64_t frac = 0;
    size_t i = 19;

    if (y < 0 || n < 19 || s[4] != '-' || s[7] != '-' || s[10] != sep || s[13] != ':' ||
        s[16] != ':')
        return 0;
    mo = tl_num(s + 5, n - 5, 2);
    d = tl_num(s + 8, n - 8, 2);
    h = tl_num(s + 11, n - 11, 2);
    mi = tl_num(s + 14, n - 14, 2);
    se = tl_num(s + 17, n - 17, 2);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 60)
        return 0;
    if (i < n && (s[i] == '.' || s[i] == ',')) {
        int64_t scale = 100000;
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
    }
    *us = ((tl_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) * 1000000) + frac;
    return i;
}

size_t tslog_parse_time(const char *s, size_t n, int64_t *us)
{
    int64_t t;
    size_t i = tl_datetime(s, n, 'T', &t);

    if (i == 0)
        return 0;
    if (i < n && s[i] == 'Z') {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '+' ? 1 : -1;
        int oh = tl_num(s + i + 1, n - i - 1, 2), om;
        if (oh < 0 || oh > 23 || i + 3 >= n)
            return 0;
        /* +HH:MM or +HHMM */
        size_t j = i + 3 + (s[i + 3] == ':');
        om = tl_num(s + j, n - j, 2);
        if (om < 0 || om > 59)
            return 0;
        t -= sign * ((int64_t)oh * 3600 + om * 60) * 1000000;
        i = j + 2;
    }
    /* no offset: taken as UTC (the Expressway always writes one) */
    *us = t;
    return i;
}

bool tslog_sniff(const uint8_t *p, size_t n)
{
    int64_t us;
    size_t k = n < 4096 ? n : 4096;

    if (memchr(p, '\0', k) != NULL)
        return false;
    return tslog_parse_time((const char *)p, n, &us) > 0;
}

static int tl_b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

long tslog_b64_decode(const char *s, size_t n, uint8_t *out, size_t outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    while (n > 0 && s[n - 1] == '=')      /* padding, if any */
        n--;
    if (n % 4 == 1)                       /* 6 bits cannot end a byte */
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = tl_b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outlen)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

void tslog_entry_clear(struct tslog_entry *e)
{
    free(e->text);
    free(e->name);
    free(e->server_name);
    free(e->error);
    memset(e, 0, sizeof *e);
    e->depth = -1;
}

void tslog_addr_clear(struct tslog_addr *a)
{
    free(a->domain);
    free(a->protocol);
    free(a->host);
    memset(a, 0, sizeof *a);
}

/* Text between `open` (at p) and the first `close` after it. */
static bool tl_between(const char *s, size_t n, const char *open, char close,
                       const char **v, size_t *vn)
{
    const char *p = tl_find(s, n, open);
    const char *end = s + n, *q;

    if (p == NULL)
        return false;
    p += strlen(open);
    q = memchr(p, close, (size_t)(end - p));
    if (q == NULL)
        return false;
    *v = p;
    *vn = (size_t)(q - p);
    return true;
}

/* server=NAME(IP): the name and the address. */
static int tl_server(const char *s, size_t n, struct tslog_entry *e)
{
    const char *p = tl_find(s, n, "server=");
    const char *end = s + n, *lp, *rp;
    char ip[64];

    if (p == NULL)
        return TI_OK;
    p += 7;
    lp = memchr(p, '(', (size_t)(end - p));
    if (lp == NULL)
        return TI_OK;
    rp = memchr(lp, ')', (size_t)(end - lp));
    if (rp == NULL)
        return TI_OK;
    e->server_name = tl_dup(p, (size_t)(lp - p));
    if (e->server_name == NULL)
        return TI_ENOMEM;
    if ((size_t)(rp - lp - 1) < sizeof ip) {
        memcpy(ip, lp + 1, (size_t)(rp - lp - 1));
        ip[rp - lp - 1] = '\0';
        if (inet_pton(AF_INET, ip, e->server.ip) == 1)
            e->server.ipver = 4;
        else if (inet_pton(AF_INET6, ip, e->server.ip) == 1)
            e->server.ipver = 6;
    }
    return TI_OK;
}

static int tl_failure(const char *s, size_t n, struct tslog_entry *e)
{
    const char *v, *p, *end = s + n;
    size_t vn;

    if (tl_between(s, n, "certificate verification failed for (", ')', &v, &vn))
        e->kind = TSLOG_VERIFY_FAILED;
    else if (tl_between(s, n, "SSL connection failed for '", '\'', &v, &vn))
        e->kind = TSLOG_SSL_FAILED;
    else if (tl_between(s, n, "SNI (", ')', &v, &vn) && tl_find(s, n, ") not in certificate"))
        e->kind = TSLOG_SNI_NOT_IN_CERT;
    else
        return 0;
    e->name = tl_dup(v, vn);
    if (e->name == NULL)
        return TI_ENOMEM;
    if (tl_server(s, n, e) != TI_OK)
        return TI_ENOMEM;
    if (e->kind == TSLOG_SSL_FAILED) {
        p = tl_find(v, (size_t)(end - v), "': ");
        if (p != NULL && (e->error = tl_dup(p + 3, (size_t)(end - p - 3))) == NULL)
            return TI_ENOMEM;
    } else if ((p = tl_find(s, n, "Error=")) != NULL) {
        const char *q;
        p += 6;
        q = tl_find(p, (size_t)(end - p), " server=");
        if (q == NULL)
            q = tl_find(p, (size_t)(end - p), " depth=");
        if (q == NULL)
            q = end;
        if ((e->error = tl_dup(p, (size_t)(q - p))) == NULL)
            return TI_ENOMEM;
    }
    if ((p = tl_find(s, n, " depth=")) != NULL) {
        int d = 0;
        size_t k = 0;
        p += 7;
        while (p + k < end && k < 4 && p[k] >= '0' && p[k] <= '9')
            d = d * 10 + (p[k++] - '0');
        e->depth = k > 0 ? d : -1;
    }
    return 1;
}

/* HTTPMSG ... http://host[:port]/SEGMENT/...: SEGMENT is base64 of
 * domain/protocol/host/port. */
static int tl_httpmsg(const char *s, size_t n, struct tslog_addr *a)
{
    const char *p = tl_find(s, n, "HTTPMSG:"), *end = s + n, *seg, *q;
    const char *parts[4];
    size_t plen[4], np = 0;
    uint8_t dec[512];
    long dn;

    if (p == NULL)
        return 0;
    q = tl_find(p, (size_t)(end - p), "://");
    if (q == NULL)
        return 0;
    q += 3;
    seg = memchr(q, '/', (size_t)(end - q));
    if (seg == NULL)
        return TSLOG_LINE_BAD_ADDR;
    seg++;
    q = seg;
    while (q < end && *q != '/' && *q != '?' && *q != ' ' && *q != '\t')
        q++;
    dn = tslog_b64_decode(seg, (size_t)(q - seg), dec, sizeof dec);
    if (dn <= 0)
        return TSLOG_LINE_BAD_ADDR;
    /* printable, four parts */
    parts[0] = (const char *)dec;
    for (long i = 0; i < dn; i++) {
        if (dec[i] < 0x21 || dec[i] > 0x7e)
            return TSLOG_LINE_BAD_ADDR;
        if (dec[i] == '/') {
            if (np >= 3)
                return TSLOG_LINE_BAD_ADDR;
            plen[np] = (size_t)((const char *)dec + i - parts[np]);
            np++;
            parts[np] = (const char *)dec + i + 1;
        }
    }
    if (np != 3)
        return TSLOG_LINE_BAD_ADDR;
    plen[3] = (size_t)((const char *)dec + dn - parts[3]);
    {
        int port = 0;
        if (plen[3] == 0 || plen[3] > 5 || plen[2] == 0)
            return TSLOG_LINE_BAD_ADDR;
        for (size_t i = 0; i < plen[3]; i++) {
            if (parts[3][i] < '0' || parts[3][i] > '9')
                return TSLOG_LINE_BAD_ADDR;
            port = port * 10 + (parts[3][i] - '0');
        }
        if (port < 1 || port > 65535)
            return TSLOG_LINE_BAD_ADDR;
        a->port = (uint16_t)port;
    }
    a->domain = tl_dup(parts[0], plen[0]);
    a->protocol = tl_dup(parts[1], plen[1]);
    a->host = tl_dup(parts[2], plen[2]);
    if (a->domain == NULL || a->protocol == NULL || a->host == NULL) {
        tslog_addr_clear(a);
        return TI_ENOMEM;
    }
    a->count = 1;
    return TSLOG_LINE_ADDR;
}

int tslog_parse_line(const char *s, size_t n, struct tslog_entry *e, struct tslog_addr *addr,
                     char *host, size_t hostlen)
{
    int64_t ts;
    size_t i = tslog_parse_time(s, n, &ts), h0;
    const char *v;
    size_t vn;
    int rc;

    memset(e, 0, sizeof *e);
    e->depth = -1;
    memset(addr, 0, sizeof *addr);
    if (hostlen > 0)
        host[0] = '\0';
    if (i == 0)
        return TSLOG_LINE_NONE;
    /* " HOST PROGRAM[PID]: " */
    while (i < n && s[i] == ' ')
        i++;
    h0 = i;
    while (i < n && s[i] != ' ')
        i++;
    if (i > h0 && hostlen > 0) {
        size_t k = i - h0 < hostlen - 1 ? i - h0 : hostlen - 1;
        memcpy(host, s + h0, k);
        host[k] = '\0';
    }
    /* UTCTime="YYYY-MM-DD HH:MM:SS,mmm" is UTC and more precise */
    if (tl_between(s, n, "UTCTime=\"", '"', &v, &vn)) {
        int64_t u;
        if (tl_datetime(v, vn, ' ', &u) == vn)
            ts = u;
    }
    rc = tl_failure(s, n, e);
    if (rc == 1) {
        e->ts = ts;
        if ((e->text = tl_dup(s, n)) == NULL) {
            tslog_entry_clear(e);
            return TI_ENOMEM;
        }
        return TSLOG_LINE_FAILURE;
    }
    tslog_entry_clear(e);
    if (rc < 0)
        return rc;
    rc = tl_httpmsg(s, n, addr);
    if (rc == TSLOG_LINE_ADDR)
        addr->first_ts = ts;
    if (rc != 0)
        return rc;
    return TSLOG_LINE_OTHER;
}

/* ---- the store -------------------------------------------------------------------- */

int tslog_new(struct tslog **out)
{
    struct tslog *lg = calloc(1, sizeof *lg);

    *out = NULL;
    if (lg == NULL)
        return TI_ENOMEM;
    lg->phys = malloc(TSLOG_MAX_LINE);
    lg->logical = malloc(TSLOG_MAX_LINE);
    if (lg->phys == NULL || lg->logical == NULL) {
        tslog_free(lg);
        return TI_ENOMEM;
    }
    *out = lg;
    return TI_OK;
}

void tslog_free(struct tslog *lg)
{
    if (lg == NULL)
        return;
    for (size_t i = 0; i < lg->nentries; i++)
        tslog_entry_clear(&lg->entries[i]);
    free(lg->entries);
    for (size_t i = 0; i < lg->naddrs; i++)
        tslog_addr_clear(&lg->addrs[i]);
    free(lg->addrs);
    for (size_t i = 0; i < lg->nfiles; i++) {
        free(lg->files[i]);
        free(lg->file_node[i]);
    }
    free(lg->files);
    free(lg->file_node);
    for (size_t i = 0; i < lg->nnodes; i++)
        free(lg->nodes[i]);
    free(lg->nodes);
    for (size_t i = 0; i < lg->nnames; i++)
        free(lg->names[i].name);
    free(lg->names);
    free(lg->hint);
    free(lg->phys);
    free(lg->logical);
    free(lg->idx_ids);
    free(lg->idx_entries);
    free(lg);
}

/* Index of node `name`, added if new; UINT32_MAX when the table is full. */
static int tl_node(struct tslog *lg, const char *name, uint32_t *out)
{
    char **v;

    for (size_t i = 0; i < lg->nnodes; i++) {
        if (strcmp(lg->nodes[i], name) == 0) {
            *out = (uint32_t)i;
            return TI_OK;
        }
    }
    if (lg->nnodes >= TSLOG_MAX_NODES) {
        *out = UINT32_MAX;
        return TI_OK;
    }
    v = realloc(lg->nodes, (lg->nnodes + 1) * sizeof *v);
    if (v == NULL)
        return TI_ENOMEM;
    lg->nodes = v;
    if ((lg->nodes[lg->nnodes] = strdup(name)) == NULL)
        return TI_ENOMEM;
    *out = (uint32_t)lg->nnodes++;
    return TI_OK;
}

static int tl_add_addr(struct tslog *lg, struct tslog_addr *a)
{
    for (size_t i = 0; i < lg->naddrs; i++) {
        struct tslog_addr *b = &lg->addrs[i];
        if (b->port == a->port && strcmp(b->host, a->host) == 0 &&
            strcmp(b->domain, a->domain) == 0 && strcmp(b->protocol, a->protocol) == 0) {
            b->count++;
            if (a->first_ts < b->first_ts)
                b->first_ts = a->first_ts;
            tslog_addr_clear(a);
            return TI_OK;
        }
    }
    if (lg->naddrs >= TSLOG_MAX_ADDRS) {
        tslog_addr_clear(a);
        return TI_OK;
    }
    if (lg->naddrs % 16 == 0) {
        struct tslog_addr *v = realloc(lg->addrs, (lg->naddrs + 16) * sizeof *v);
        if (v == NULL) {
            tslog_addr_clear(a);
            return TI_ENOMEM;
        }
        lg->addrs = v;
    }
    lg->addrs[lg->naddrs++] = *a;
    return TI_OK;
}

static bool tl_ip_eq(const struct conn_endpoint *a, const struct conn_endpoint *b)
{
    size_t len = a->ipver == 4 ? 4 : 16;
    return a->ipver != 0 && a->ipver == b->ipver && memcmp(a->ip, b->ip, len) == 0;
}

/* Remember NAME -> IP of a server=NAME(IP) line. */
static int tl_learn_name(struct tslog *lg, const struct tslog_entry *e)
{
    struct tl_name *v;

    if (e->server_name == NULL || e->server.ipver == 0)
        return TI_OK;
    for (size_t i = 0; i < lg->nnames; i++)
        if (strcasecmp(lg->names[i].name, e->server_name) == 0 &&
            tl_ip_eq(&lg->names[i].ip, &e->server))
            return TI_OK;
    if (lg->nnames >= TSLOG_MAX_NAMES)
        return TI_OK;
    v = realloc(lg->names, (lg->nnames + 1) * sizeof *v);
    if (v == NULL)
        return TI_ENOMEM;
    lg->names = v;
    v[lg->nnames].ip = e->server;
    if ((v[lg->nnames].name = strdup(e->server_name)) == NULL)
        return TI_ENOMEM;
    lg->nnames++;
    return TI_OK;
}

/* One complete logical line. */
static int tl_flush(struct tslog *lg)
{
    struct tslog_entry e;
    struct tslog_addr a;
    char host[TSLOG_HOST_MAX];
    int rc;

    if (lg->nlogical == 0)
        return TI_OK;
    lg->st.lines++;
    if (lg->logical_cut)
        lg->st.cut++;
    rc = tslog_parse_line(lg->logical, lg->nlogical, &e, &a, host, sizeof host);
    lg->nlogical = 0;
    lg->logical_cut = false;
    if (rc < 0)
        return rc;
    if (host[0] != '\0' && lg->file_node[lg->cur_file] == NULL &&
        (lg->file_node[lg->cur_file] = strdup(host)) == NULL) {
        tslog_entry_clear(&e);
        tslog_addr_clear(&a);
        return TI_ENOMEM;
    }
    switch (rc) {
    case TSLOG_LINE_FAILURE:
        if (lg->nentries >= TSLOG_MAX_ENTRIES || lg->kept > TSLOG_MAX_KEPT) {
            lg->st.dropped++;
            tslog_entry_clear(&e);
            return TI_OK;
        }
        if (lg->nentries == lg->cap_entries) {
            size_t cap = lg->cap_entries ? lg->cap_entries * 2 : 64;
            struct tslog_entry *v = realloc(lg->entries, cap * sizeof *v);
            if (v == NULL) {
                tslog_entry_clear(&e);
                return TI_ENOMEM;
            }
            lg->entries = v;
            lg->cap_entries = cap;
        }
        e.file = lg->cur_file;
        e.line = lg->logical_line;
        e.node = UINT32_MAX;
        if (host[0] != '\0' || lg->hint != NULL) {
            rc = tl_node(lg, host[0] != '\0' ? host : lg->hint, &e.node);
            if (rc != TI_OK) {
                tslog_entry_clear(&e);
                return rc;
            }
        }
        lg->kept += strlen(e.text) + (e.name ? strlen(e.name) : 0) +
                    (e.server_name ? strlen(e.server_name) : 0) + (e.error ? strlen(e.error) : 0);
        lg->entries[lg->nentries++] = e;
        return tl_learn_name(lg, &lg->entries[lg->nentries - 1]);
    case TSLOG_LINE_ADDR:
        return tl_add_addr(lg, &a);
    case TSLOG_LINE_BAD_ADDR:
        lg->st.bad_address++;
        lg->st.unknown++;
        return TI_OK;
    default:
        lg->st.unknown++;
        return TI_OK;
    }
}

/* One complete physical line: a new logical line if it starts with a
 * timestamp, else the continuation of the current one. */
static int tl_phys(struct tslog *lg)
{
    int64_t us;
    size_t n = lg->nphys;
    const char *p = lg->phys;
    int rc = TI_OK;

    lg->phys_line++;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (tslog_parse_time(p, n, &us) > 0 || lg->nlogical == 0) {
        rc = tl_flush(lg);
        lg->logical_line = lg->phys_line;
    } else {
        /* continuation: one space, then the line without its indent */
        for (; n > 0 && (*p == ' ' || *p == '\t'); n--)
            p++;
        if (lg->nlogical < TSLOG_MAX_LINE)
            lg->logical[lg->nlogical++] = ' ';
    }
    if (n > TSLOG_MAX_LINE - lg->nlogical) {
        n = TSLOG_MAX_LINE - lg->nlogical;
        lg->logical_cut = true;
    }
    memcpy(lg->logical + lg->nlogical, p, n);
    lg->nlogical += n;
    if (lg->phys_cut)
        lg->logical_cut = true;
    lg->nphys = 0;
    lg->phys_cut = false;
    return rc;
}

int tslog_begin_file(struct tslog *lg, const char *file, const char *node)
{
    char **v, **w;

    if (lg->nfiles >= TSLOG_MAX_FILES)
        return TI_ENOMEM;
    v = realloc(lg->files, (lg->nfiles + 1) * sizeof *v);
    if (v == NULL)
        return TI_ENOMEM;
    lg->files = v;
    w = realloc(lg->file_node, (lg->nfiles + 1) * sizeof *w);
    if (w == NULL)
        return TI_ENOMEM;
    lg->file_node = w;
    lg->files[lg->nfiles] = strdup(file);
    lg->file_node[lg->nfiles] = NULL;
    if (lg->files[lg->nfiles] == NULL)
        return TI_ENOMEM;
    free(lg->hint);
    lg->hint = node != NULL ? strdup(node) : NULL;
    if (node != NULL && lg->hint == NULL) {
        free(lg->files[lg->nfiles]);
        return TI_ENOMEM;
    }
    lg->cur_file = (uint32_t)lg->nfiles++;
    lg->in_file = true;
    lg->phys_line = 0;
    lg->nphys = 0;
    lg->phys_cut = false;
    lg->nlogical = 0;
    lg->logical_cut = false;
    return TI_OK;
}

int tslog_feed(struct tslog *lg, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl != NULL ? (size_t)(nl - p) : n;
        size_t room = TSLOG_MAX_LINE - lg->nphys;
        size_t take = k < room ? k : room;

        memcpy(lg->phys + lg->nphys, p, take);
        lg->nphys += take;
        if (take < k)
            lg->phys_cut = true;
        if (nl == NULL)
            return TI_OK;
        {
            int rc = tl_phys(lg);
            if (rc != TI_OK)
                return rc;
        }
        p = nl + 1;
        n -= k + 1;
    }
    return TI_OK;
}

int tslog_end_file(struct tslog *lg)
{
    int rc = TI_OK;

    if (lg->nphys > 0 || lg->phys_cut)
        rc = tl_phys(lg);
    if (rc == TI_OK)
        rc = tl_flush(lg);
    lg->in_file = false;
    return rc;
}

struct tslog_entry *tslog_entries(struct tslog *lg, size_t *n)
{
    *n = lg->nentries;
    return lg->entries;
}

const struct tslog_addr *tslog_addrs(const struct tslog *lg, size_t *n)
{
    *n = lg->naddrs;
    return lg->addrs;
}

const char *const *tslog_files(const struct tslog *lg, size_t *n)
{
    *n = lg->nfiles;
    return (const char *const *)lg->files;
}

const char *const *tslog_nodes(const struct tslog *lg, size_t *n)
{
    *n = lg->nnodes;
    return (const char *const *)lg->nodes;
}

const struct tslog_stats *tslog_stats(const struct tslog *lg)
{
    return &lg->st;
}

struct tslog_stats *tslog_stats_mut(struct tslog *lg)
{
    return &lg->st;
}

const char *tslog_file_node(const struct tslog *lg, size_t file)
{
    return file < lg->nfiles ? lg->file_node[file] : NULL;
}

/* Does the log name `host` as this address: the host is the IP literal, or
 * a server=NAME(IP) line gives NAME that IP. */
static bool tl_host_is(const struct tslog *lg, const char *host, const struct conn_endpoint *ip)
{
    struct conn_endpoint e;

    memset(&e, 0, sizeof e);
    if (inet_pton(AF_INET, host, e.ip) == 1)
        e.ipver = 4;
    else if (inet_pton(AF_INET6, host, e.ip) == 1)
        e.ipver = 6;
    if (e.ipver != 0)
        return tl_ip_eq(&e, ip);
    for (size_t i = 0; i < lg->nnames; i++)
        if (strcasecmp(lg->names[i].name, host) == 0 && tl_ip_eq(&lg->names[i].ip, ip))
            return true;
    return false;
}

const struct tslog_addr *tslog_addr_for(const struct tslog *lg, const struct conn_endpoint *server)
{
    const struct tslog_addr *best = NULL;

    for (size_t i = 0; i < lg->naddrs; i++) {
        const struct tslog_addr *a = &lg->addrs[i];
        if (a->port != server->port || !tl_host_is(lg, a->host, server))
            continue;
        if (best == NULL || a->count > best->count)
            best = a;
    }
    return best;
}

/* ---- correlation ------------------------------------------------------------------ */

/* Distance in time between a log line and a connection's span. */
static int64_t tl_gap(int64_t ts, const struct conn *c)
{
    if (ts < c->first_ts)
        return c->first_ts - ts;
    if (ts > c->last_ts)
        return ts - c->last_ts;
    return 0;
}

/* Did the capture see this connection fail the way the log says? */
static int tl_capture_failed(const struct conn *c)
{
    const struct conn_verification *v = &c->verify;

    if (c->outcome == OUTCOME_FAILED)
        return 1;
    if (v->done && ((v->verdict.result != X509_CHAIN_OK &&
                     v->verdict.result != X509_CHAIN_NOT_CHECKED) ||
                    (v->verdict.name_checked && !v->verdict.name_ok)))
        return 1;
    if (c->outcome == OUTCOME_COMPLETE && v->done && v->verdict.result == X509_CHAIN_OK &&
        (!v->verdict.name_checked || v->verdict.name_ok))
        return 0;    /* verified and completed: the log's failure is not in this capture */
    return -1;       /* cannot tell (no trust store, encrypted, incomplete) */
}

static const char *tl_kind_words(const struct tslog_entry *e)
{
    switch (e->kind) {
    case TSLOG_VERIFY_FAILED: return "certificate verification failed";
    case TSLOG_SSL_FAILED: return "SSL connection failed";
    case TSLOG_SNI_NOT_IN_CERT: return "SNI not in certificate";
    default: return "failure";
    }
}

void tslog_compare_text(const struct tslog_entry *e, const struct conn *c, char *buf, size_t len)
{
    char logpart[256], cappart[384];
    const struct conn_verification *v = &c->verify;
    const struct x509_cert *leaf = c->n_server_certs ? c->server_certs[0] : NULL;
    int cf = tl_capture_failed(c);

    if (e->kind == TSLOG_VERIFY_FAILED && e->error != NULL && e->depth >= 0)
        snprintf(logpart, sizeof logpart, "%s depth=%d", e->error, e->depth);
    else if (e->kind == TSLOG_VERIFY_FAILED && e->error != NULL)
        snprintf(logpart, sizeof logpart, "%s", e->error);
    else
        snprintf(logpart, sizeof logpart, "%s (%s)", tl_kind_words(e), e->name ? e->name : "?");
    if (leaf != NULL && v->done) {
        const char *what = x509_chain_result_name(v->verdict.result);
        snprintf(cappart, sizeof cappart, "CN=%s %s%s%s", leaf->cn ? leaf->cn : "(none)",
                 v->verdict.result == X509_CHAIN_NOT_CHECKED ? "chain not checked (no --cafile)"
                 : what,
                 v->verdict.name_checked && !v->verdict.name_ok ? ", name mismatch for " : "",
                 v->verdict.name_checked && !v->verdict.name_ok ? v->expected_name : "");
    } else {
        snprintf(cappart, sizeof cappart, "outcome %s, no server certificate seen",
                 conn_outcome_name(c->outcome));
    }
    snprintf(buf, len, "log: %s; capture: %s (%s)", logpart, cappart,
             cf == 1 ? "they agree" : cf == 0 ? "they disagree" : "the capture cannot tell");
}

static int tl_ptr_cmp(const void *pa, const void *pb)
{
    const struct tslog_entry *a = *(const struct tslog_entry *const *)pa;
    const struct tslog_entry *b = *(const struct tslog_entry *const *)pb;
    return a->ts < b->ts ? -1 : a->ts > b->ts;
}

struct tl_pair {
    uint64_t id;
    const struct tslog_entry *e;
};

static int tl_pair_cmp(const void *pa, const void *pb)
{
    const struct tl_pair *a = pa, *b = pb;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return tl_ptr_cmp(&a->e, &b->e);
}

/* The server a line names, for messages. */
static void tl_server_text(const struct tslog_entry *e, char *buf, size_t len)
{
    char ip[64] = "";

    if (e->server.ipver != 0)
        inet_ntop(e->server.ipver == 4 ? AF_INET : AF_INET6, e->server.ip, ip, sizeof ip);
    if (e->server_name != NULL && ip[0] != '\0' && strcmp(e->server_name, ip) != 0)
        snprintf(buf, len, "%s(%s)", e->server_name, ip);
    else if (ip[0] != '\0')
        snprintf(buf, len, "%s", ip);
    else
        snprintf(buf, len, "%s", e->name ? e->name : "?");
}

/* Connections indexed by server address and by SNI, so that a log line
 * looks only at the connections to its server. */
struct tl_index {
    struct tslog_conn *conns;
    size_t n;
    size_t *by_ip;              /* conn positions sorted by server address */
    size_t *by_sni;             /* positions of conns with an SNI, sorted by it (no case) */
    size_t nsni;
};

static const char *tl_sni(const struct conn *c)
{
    const struct conn_client_hello *ch = c->n_ch ? &c->ch[c->n_ch - 1] : NULL;
    return ch != NULL && ch->sni != NULL && ch->sni[0] != '\0' ? ch->sni : NULL;
}

static int tl_ip_cmp3(const struct conn_endpoint *a, const struct conn_endpoint *b)
{
    if (a->ipver != b->ipver)
        return a->ipver < b->ipver ? -1 : 1;
    return memcmp(a->ip, b->ip, a->ipver == 4 ? 4 : 16);
}

static int tl_by_ip_cmp(const void *pa, const void *pb, void *arg)
{
    const struct tl_index *x = arg;
    const struct conn *a = x->conns[*(const size_t *)pa].c, *b = x->conns[*(const size_t *)pb].c;
    return tl_ip_cmp3(&a->server, &b->server);
}

static int tl_by_sni_cmp(const void *pa, const void *pb, void *arg)
{
    const struct tl_index *x = arg;
    return strcasecmp(tl_sni(x->conns[*(const size_t *)pa].c),
                      tl_sni(x->conns[*(const size_t *)pb].c));
}

/* [lo, hi) of by_ip whose server address is ip. */
static void tl_ip_range(const struct tl_index *x, const struct conn_endpoint *ip, size_t *lo, size_t *hi)
{
    size_t a = 0, b = x->n;

    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (tl_ip_cmp3(&x->conns[x->by_ip[m]].c->server, ip) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    b = x->n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (tl_ip_cmp3(&x->conns[x->by_ip[m]].c->server, ip) <= 0)
            a = m + 1;
        else
            b = m;
    }
    *hi = a;
}

static void tl_sni_range(const struct tl_index *x, const char *name, size_t *lo, size_t *hi)
{
    size_t a = 0, b = x->nsni;

    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (strcasecmp(tl_sni(x->conns[x->by_sni[m]].c), name) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    b = x->nsni;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (strcasecmp(tl_sni(x->conns[x->by_sni[m]].c), name) <= 0)
            a = m + 1;
        else
            b = m;
    }
    *hi = a;
}

/* Call fn for every connection to e's server: by its address, else by its
 * name (the address the log gives that name, or the connections' SNI).
 * A connection may come twice (address and SNI); fn copes. */
typedef void (*tl_visit_fn)(void *ctx, const struct tslog_conn *tc);

static void tl_visit(const struct tslog *lg, const struct tl_index *x, const struct tslog_entry *e,
                     tl_visit_fn fn, void *ctx)
{
    size_t lo, hi;
    struct conn_endpoint ip;

    if (e->server.ipver != 0) {
        tl_ip_range(x, &e->server, &lo, &hi);
        for (size_t i = lo; i < hi; i++)
            fn(ctx, &x->conns[x->by_ip[i]]);
        return;
    }
    if (e->name == NULL)
        return;
    memset(&ip, 0, sizeof ip);
    if (inet_pton(AF_INET, e->name, ip.ip) == 1)
        ip.ipver = 4;
    else if (inet_pton(AF_INET6, e->name, ip.ip) == 1)
        ip.ipver = 6;
    if (ip.ipver != 0) {
        tl_ip_range(x, &ip, &lo, &hi);
        for (size_t i = lo; i < hi; i++)
            fn(ctx, &x->conns[x->by_ip[i]]);
        return;
    }
    for (size_t k = 0; k < lg->nnames; k++) {
        if (strcasecmp(lg->names[k].name, e->name) != 0)
            continue;
        tl_ip_range(x, &lg->names[k].ip, &lo, &hi);
        for (size_t i = lo; i < hi; i++)
            fn(ctx, &x->conns[x->by_ip[i]]);
    }
    tl_sni_range(x, e->name, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        fn(ctx, &x->conns[x->by_sni[i]]);
}

/* One line's search: the nearest gap of its node's connections, within
 * the window and overall. */
struct tl_near {
    const struct tslog_entry *e;
    const char *enode;
    int64_t window;
    int64_t best, any;
};

static bool tl_node_ok(const char *enode, const struct tslog_conn *tc)
{
    return enode == NULL || tc->node == NULL || strcasecmp(enode, tc->node) == 0;
}

static void tl_near_fn(void *ctx, const struct tslog_conn *tc)
{
    struct tl_near *nr = ctx;
    int64_t g;

    if (!tl_node_ok(nr->enode, tc))
        return;
    g = tl_gap(nr->e->ts, tc->c);
    if (g < nr->any)
        nr->any = g;
    if (g <= nr->window && g < nr->best)
        nr->best = g;
}

/* The second search: attach the line to the connections at the best gap. */
struct tl_attach {
    struct tslog *lg;
    struct tslog_entry *e;
    const char *enode;
    int64_t best;
    int finding_id;
    struct tl_pair *pairs;
    size_t npairs, cap;
    bool oom;
};

static void tl_attach_fn(void *ctx, const struct tslog_conn *tc)
{
    struct tl_attach *at = ctx;
    struct tslog_entry *e = at->e;
    struct conn *c = tc->c;

    if (at->oom || !tl_node_ok(at->enode, tc) || tl_gap(e->ts, c) != at->best)
        return;
    for (uint8_t i = 0; i < e->nconns; i++)
        if (e->conns[i] == c->id)
            return;                 /* came by address and by SNI */
    if (e->nconns >= TSLOG_MAX_MATCHES)
        return;
    if (at->npairs == at->cap) {
        size_t nc = at->cap ? at->cap * 2 : 64;
        struct tl_pair *v = realloc(at->pairs, nc * sizeof *v);
        if (v == NULL) {
            at->oom = true;
            return;
        }
        at->pairs = v;
        at->cap = nc;
    }
    e->conns[e->nconns++] = c->id;
    at->pairs[at->npairs].id = c->id;
    at->pairs[at->npairs].e = e;
    at->npairs++;
    if (tl_capture_failed(c) == 0) {
        char cmp[768], msg[1024];
        tslog_compare_text(e, c, cmp, sizeof cmp);
        snprintf(msg, sizeof msg, "the traffic_server log (%s line %u) says this connection "
                 "failed, the capture shows a verified chain and a completed handshake: %s",
                 at->lg->files[e->file], e->line, cmp);
        (void)conn_add_finding(c, at->finding_id, SEV_WARNING, msg,
                               "Check that --cafile is the Expressway-C's trust store and "
                               "--name the connect address it uses; otherwise the log line is "
                               "about another connection to this server.");
    }
}

/* A failure line no connection took, for the grouped messages. */
struct tl_miss {
    char key[192];              /* the server as the log names it, and the node */
    size_t entry;
    int64_t nearest;            /* INT64_MAX: no connection to that server */
};

static int tl_miss_cmp(const void *pa, const void *pb)
{
    const struct tl_miss *a = pa, *b = pb;
    int r = strcmp(a->key, b->key);

    if (r != 0)
        return r;
    return a->entry < b->entry ? -1 : a->entry > b->entry;
}

/* One message per server (and node) for its lines that matched nothing. */
static int tl_report_misses(struct tslog *lg, struct tl_miss *m, size_t nm,
                            tslog_unmatched_fn unmatched, void *ctx)
{
    if (nm > 1)
        qsort(m, nm, sizeof *m, tl_miss_cmp);
    for (size_t i = 0; i < nm;) {
        size_t j = i;
        int64_t nearest = INT64_MAX;
        const struct tslog_entry *e = &lg->entries[m[i].entry];
        const char *enode = e->node < lg->nnodes ? lg->nodes[e->node] : NULL;
        char srv[160], msg[1024];
        int rc;

        while (j < nm && strcmp(m[j].key, m[i].key) == 0) {
            if (m[j].nearest < nearest)
                nearest = m[j].nearest;
            j++;
        }
        tl_server_text(e, srv, sizeof srv);
        if (nearest == INT64_MAX)
            snprintf(msg, sizeof msg, "%zu traffic_server log failure line%s for %s (%s%s%s, "
                     "first: %s line %u) match no connection: the capture has no connection "
                     "to that server at all, so it missed that interface or node; take the "
                     "capture on the interface (and the cluster node) that talks to it",
                     j - i, j - i == 1 ? "" : "s", srv, tl_kind_words(e),
                     enode ? ", node " : "", enode ? enode : "", lg->files[e->file], e->line);
        else
            snprintf(msg, sizeof msg, "%zu traffic_server log failure line%s for %s (%s%s%s, "
                     "first: %s line %u) match no connection within the window: the nearest "
                     "connection to that server is %.3f s away, so the clocks of the log and "
                     "the capture differ (or the capture missed those attempts); widen "
                     "--log-window if the clocks are off", j - i, j - i == 1 ? "" : "s", srv,
                     tl_kind_words(e), enode ? ", node " : "", enode ? enode : "",
                     lg->files[e->file], e->line, (double)nearest / 1e6);
        rc = unmatched(ctx, msg);
        if (rc != TI_OK)
            return rc;
        i = j;
    }
    return TI_OK;
}

int tslog_correlate(struct tslog *lg, struct tslog_conn *conns, size_t n, int64_t window_us,
                    int finding_id, tslog_unmatched_fn unmatched, void *ctx, uint64_t *outside)
{
    int64_t first = INT64_MAX, last = INT64_MIN;
    struct tl_index x = {.conns = conns, .n = n};
    struct tl_attach at = {.lg = lg, .finding_id = finding_id};
    struct tl_miss *miss = NULL;
    size_t nmiss = 0;
    int rc = TI_OK;

    *outside = 0;
    for (size_t i = 0; i < n; i++) {
        if (conns[i].c->first_ts < first)
            first = conns[i].c->first_ts;
        if (conns[i].c->last_ts > last)
            last = conns[i].c->last_ts;
    }
    x.by_ip = malloc((n ? n : 1) * sizeof *x.by_ip);
    x.by_sni = malloc((n ? n : 1) * sizeof *x.by_sni);
    miss = malloc((lg->nentries ? lg->nentries : 1) * sizeof *miss);
    if (x.by_ip == NULL || x.by_sni == NULL || miss == NULL) {
        rc = TI_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        x.by_ip[i] = i;
        if (tl_sni(conns[i].c) != NULL)
            x.by_sni[x.nsni++] = i;
    }
    qsort_r(x.by_ip, n, sizeof *x.by_ip, tl_by_ip_cmp, &x);
    qsort_r(x.by_sni, x.nsni, sizeof *x.by_sni, tl_by_sni_cmp, &x);

    lg->st.matched = 0;
    for (size_t k = 0; k < lg->nentries; k++) {
        struct tslog_entry *e = &lg->entries[k];
        struct tl_near nr = {.e = e, .window = window_us, .best = INT64_MAX, .any = INT64_MAX};

        nr.enode = e->node < lg->nnodes ? lg->nodes[e->node] : NULL;
        e->nconns = 0;
        tl_visit(lg, &x, e, tl_near_fn, &nr);
        if (nr.best != INT64_MAX) {
            at.e = e;
            at.enode = nr.enode;
            at.best = nr.best;
            tl_visit(lg, &x, e, tl_attach_fn, &at);
            if (at.oom) {
                rc = TI_ENOMEM;
                goto out;
            }
            lg->st.matched++;
            continue;
        }
        if (n == 0 || e->ts < first - window_us || e->ts > last + window_us) {
            (*outside)++;
            continue;
        }
        {
            char srv[160];
            tl_server_text(e, srv, sizeof srv);
            snprintf(miss[nmiss].key, sizeof miss[nmiss].key, "%s|%s", srv,
                     nr.enode ? nr.enode : "");
            miss[nmiss].entry = k;
            miss[nmiss].nearest = nr.any;
            nmiss++;
        }
    }
    rc = tl_report_misses(lg, miss, nmiss, unmatched, ctx);
    if (rc != TI_OK)
        goto out;
    if (at.npairs > 1)
        qsort(at.pairs, at.npairs, sizeof *at.pairs, tl_pair_cmp);
    free(lg->idx_ids);
    free(lg->idx_entries);
    lg->nidx = 0;
    lg->idx_ids = malloc((at.npairs ? at.npairs : 1) * sizeof *lg->idx_ids);
    lg->idx_entries = malloc((at.npairs ? at.npairs : 1) * sizeof *lg->idx_entries);
    if (lg->idx_ids == NULL || lg->idx_entries == NULL) {
        rc = TI_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < at.npairs; i++) {
        lg->idx_ids[i] = at.pairs[i].id;
        lg->idx_entries[i] = at.pairs[i].e;
    }
    lg->nidx = at.npairs;
out:
    free(x.by_ip);
    free(x.by_sni);
    free(miss);
    free(at.pairs);
    return rc;
}

size_t tslog_for_conn(const struct tslog *lg, uint64_t conn_id, const struct tslog_entry *const **out)
{
    size_t lo = 0, hi = lg->nidx, start;

    *out = NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lg->idx_ids[mid] < conn_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    start = lo;
    while (lo < lg->nidx && lg->idx_ids[lo] == conn_id)
        lo++;
    if (lo > start)
        *out = &lg->idx_entries[start];
    return lo - start;
}
