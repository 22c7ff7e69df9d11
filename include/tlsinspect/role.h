/* role.h - what a server port is for: the Expressway TLS path it carries.
 *
 * The same failed check has a different fix on each path: the Expressway-C
 * talking HTTPS to CUCM/IM&P/Unity (tomcat certificates, the X14.2 cipher
 * order), the traversal zone between Expressway-C and -E (mutual TLS, the
 * peer address and "TLS verify subject name", intermediates on both sides),
 * SIP TLS, and clients (Jabber) to the Expressway-E (the collab-edge name in
 * its SAN).  Port 2222 carries the traversal zone's SSH tunnels, which are
 * not TLS: it is recognised and said, never parsed.  Ports with no role are
 * `generic`, whose messages and remedies name no product.
 *
 * Defaults (role_default()): 8443, 6972, 6971: cucm; 7001-7009: traversal;
 * 5061, 5062: sip; 2222: ssh.  443 is generic: on an Expressway-C it is
 * Unity Connection (cucm), on an Expressway-E it is the clients
 * (edge-clients), and a capture does not say which host it was taken on;
 * --role 443=ROLE decides.
 */
#ifndef TLSINSPECT_ROLE_H
#define TLSINSPECT_ROLE_H

#include <stddef.h>
#include <stdint.h>

#define ROLE_MAP(X)                                                                    \
    X(GENERIC,      "generic",      "TLS")                                             \
    X(CUCM,         "cucm",         "Expressway-C to CUCM/IM&P/Unity")                 \
    X(TRAVERSAL,    "traversal",    "traversal zone")                                  \
    X(SIP,          "sip",          "SIP TLS")                                         \
    X(EDGE_CLIENTS, "edge-clients", "clients to the Expressway-E")                     \
    X(SSH,          "ssh",          "SSH tunnel, not TLS")

enum conn_role {
#define ROLE_ENUM_(id, name, desc) ROLE_##id,
    ROLE_MAP(ROLE_ENUM_)
#undef ROLE_ENUM_
    ROLE_COUNT
};

#define ROLE_MAX_OVERRIDES 64       /* --role options */

struct role_map {                   /* --role PORT=ROLE, later ones win */
    uint16_t port[ROLE_MAX_OVERRIDES];
    uint8_t role[ROLE_MAX_OVERRIDES];
    size_t n;
};

const char *role_name(int role);            /* "cucm"; "generic" when out of range */
const char *role_desc(int role);            /* "traversal zone" */
int role_from_name(const char *name);       /* -1 when unknown */
enum conn_role role_default(uint16_t port);
enum conn_role role_for_port(const struct role_map *m, uint16_t port);  /* m may be NULL */

/* Parse "PORT=ROLE" into m: 0, or -1 (bad port, unknown role, ssh, full). */
int role_map_add(struct role_map *m, const char *spec);

#endif
