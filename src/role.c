/* role.c - server port -> Expressway TLS path (role.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tlsinspect/role.h"

static const struct {
    const char *name, *desc;
} roles[ROLE_COUNT] = {
#define ROLE_DEF_(id, name, desc) [ROLE_##id] = {name, desc},
    ROLE_MAP(ROLE_DEF_)
#undef ROLE_DEF_
};

const char *role_name(int role)
{
    return role >= 0 && role < ROLE_COUNT ? roles[role].name : roles[ROLE_GENERIC].name;
}

const char *role_desc(int role)
{
    return role >= 0 && role < ROLE_COUNT ? roles[role].desc : roles[ROLE_GENERIC].desc;
}

int role_from_name(const char *name)
{
    for (int i = 0; i < ROLE_COUNT; i++)
        if (strcmp(roles[i].name, name) == 0)
            return i;
    return -1;
}

enum conn_role role_default(uint16_t port)
{
    switch (port) {
    case 8443: case 6972: case 6971:
        return ROLE_CUCM;          /* tomcat, TFTP over HTTPS (CUCM asks for a client certificate) */
    case 5061: case 5062:
        return ROLE_SIP;
    case 2222:
        return ROLE_SSH;           /* the traversal zone's SSH tunnels */
    default:
        break;
    }
    if (port >= 7001 && port <= 7009)
        return ROLE_TRAVERSAL;     /* one port per traversal zone, from 7001 */
    return ROLE_GENERIC;
}

enum conn_role role_for_port(const struct role_map *m, uint16_t port)
{
    for (size_t i = m ? m->n : 0; i > 0; i--)
        if (m->port[i - 1] == port)
            return (enum conn_role)m->role[i - 1];
    return role_default(port);
}

int role_map_add(struct role_map *m, const char *spec)
{
    const char *eq = strchr(spec, '=');
    char *end;
    long port;
    int role;

    if (eq == NULL || m->n >= ROLE_MAX_OVERRIDES)
        return -1;
    errno = 0;
    port = strtol(spec, &end, 10);
    if (errno != 0 || end != eq || end == spec || port < 1 || port > 65535)
        return -1;
    role = role_from_name(eq + 1);
    /* ssh is what 2222 is, not something a TLS port can be made */
    if (role < 0 || role == ROLE_SSH)
        return -1;
    m->port[m->n] = (uint16_t)port;
    m->role[m->n] = (uint8_t)role;
    m->n++;
    return 0;
}
