/* report_json_opts.c - the JSON report's "options": ports, --name, --at,
 * and what each trust store and the key log held (path, SHA-256, count),
 * so that a saved report says how its verdicts were reached and diff can
 * refuse to compare verdicts reached differently. */
#include <stdio.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/hex.h"
#include "report_json_int.h"

void sw_sha256(struct jw *w, bool have, const uint8_t md[32])
{
    char hex[65];

    if (!have) {
        jw_null(w);
        return;
    }
    hex_encode(md, 32, hex);
    hex[64] = '\0';
    jw_cstr(w, hex);
}

/* {"path", "sha256", "count"[, "files"]} or null. */
static void sw_store(struct jw *w, const char *key, const char *path,
                     const struct x509_trust_info *ti, bool dir)
{
    jw_key(w, key);
    if (path == NULL) {
        jw_null(w);
        return;
    }
    jw_open_flat(w);
    jw_key(w, "path");
    jw_str(w, path);
    jw_key(w, "sha256");
    sw_sha256(w, ti->loaded, ti->sha256);
    jw_key(w, "count");
    jw_uint(w, ti->certs);
    if (dir) {
        jw_key(w, "files");
        jw_uint(w, ti->files);
    }
    jw_close(w);
}

void sw_options(struct jw *w, const struct analysis *a)
{
    const struct analyze_scope *s = &a->scope;
    char ip[64];

    jw_key(w, "options");
    jw_open(w, false);
    jw_key(w, "ports");
    jw_open(w, true);
    for (size_t i = 0; i < s->nports && !s->all_ports; i++)
        jw_uint(w, s->ports[i]);
    jw_close(w);
    jw_key(w, "all_ports");
    jw_bool(w, s->all_ports);
    jw_key(w, "names");
    jw_open(w, true);
    for (size_t i = 0; i < s->nnames; i++) {
        jw_open_flat(w);
        jw_key(w, "addr");
        jw_str(w, conn_ip_str(&s->names[i].addr, ip, sizeof(ip)));
        jw_key(w, "name");
        jw_str(w, s->names[i].name);
        jw_close(w);
    }
    jw_close(w);
    jw_key(w, "at");
    if (s->at == AT_FIXED)
        jw_time_s(w, s->at_time);
    else
        jw_cstr(w, s->at == AT_NOW ? "now" : "capture");
    sw_store(w, "cafile", s->cafile, &s->trust[X509_TRUST_CAFILE], false);
    sw_store(w, "capath", s->capath, &s->trust[X509_TRUST_CAPATH], true);
    sw_store(w, "client_cafile", s->client_cafile, &s->trust[X509_TRUST_CLIENT_CAFILE], false);
    jw_key(w, "keylog");
    if (s->keylog == NULL) {
        jw_null(w);
    } else {
        jw_open_flat(w);
        jw_key(w, "path");
        jw_str(w, s->keylog);
        jw_key(w, "sha256");
        sw_sha256(w, s->keylog_hashed, s->keylog_sha256);
        jw_key(w, "count");
        jw_uint(w, s->keylog_lines);
        jw_close(w);
    }
    jw_close(w);
}
