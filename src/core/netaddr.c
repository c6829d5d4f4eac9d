/*
 * netaddr.c - address classes and the webhook policy (see netaddr.h).
 *
 * Pure functions over bytes: no resolution, no sockets opened. The class
 * table is the one place that says which ranges are not "the internet";
 * addresses that embed an IPv4 address (IPv4-mapped, 6to4, NAT64) are
 * judged by the address they embed, so ::ffff:127.0.0.1 and
 * 64:ff9b::a9fe:a9fe are not a way around the IPv4 rows.
 */
#include "core/netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/names.h"

#define MAX_ENTRIES 1024

/* Ranges that are not public; IPv4 rows are written as mapped (::ffff:). */
static const struct {
    const char *cidr;
    enum gw_net_class cls;
} class_rows[] = {
    {"0.0.0.0/8", GW_NET_UNSPECIFIED},
    {"10.0.0.0/8", GW_NET_PRIVATE},
    {"100.64.0.0/10", GW_NET_PRIVATE},
    {"127.0.0.0/8", GW_NET_LOOPBACK},
    {"169.254.0.0/16", GW_NET_LINKLOCAL},
    {"172.16.0.0/12", GW_NET_PRIVATE},
    {"192.0.0.0/24", GW_NET_RESERVED},
    {"192.168.0.0/16", GW_NET_PRIVATE},
    {"198.18.0.0/15", GW_NET_RESERVED},
    {"224.0.0.0/4", GW_NET_MULTICAST},
    {"240.0.0.0/4", GW_NET_RESERVED},
    {"::/128", GW_NET_UNSPECIFIED},
    {"::1/128", GW_NET_LOOPBACK},
    {"::/96", GW_NET_RESERVED},
    {"fc00::/7", GW_NET_PRIVATE},
    {"fe80::/10", GW_NET_LINKLOCAL},
    {"fec0::/10", GW_NET_PRIVATE},
    {"ff00::/8", GW_NET_MULTICAST},
};

static const char *const class_names[] = {
    [GW_NET_PUBLIC] = "public",
    [GW_NET_UNSPECIFIED] = "unspecified",
    [GW_NET_LOOPBACK] = "loopback",
    [GW_NET_LINKLOCAL] = "link-local",
    [GW_NET_PRIVATE] = "private",
    [GW_NET_MULTICAST] = "multicast",
    [GW_NET_RESERVED] = "reserved",
};

const char *
gw_net_class_name(enum gw_net_class c)
{
    return gw_name_of(class_names,
                      sizeof(class_names) / sizeof(class_names[0]), (int)c,
                      "reserved");
}

int
gw_net_parse_addr(const char *text, unsigned char out[16])
{
    struct in_addr v4;
    struct in6_addr v6;

    if (inet_pton(AF_INET, text, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return 1;
    }
    if (inet_pton(AF_INET6, text, &v6) == 1) {
        memcpy(out, &v6, 16);
        return 1;
    }
    return 0;
}

/* "a/n" or "a" into r; 0 when malformed. IPv4 prefixes count from 96. */
static int
parse_range(const char *text, struct gw_net_range *r)
{
    char addr[64];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    int v4, max;

    if (len == 0 || len >= sizeof(addr))
        return 0;
    memcpy(addr, text, len);
    addr[len] = '\0';
    v4 = strchr(addr, ':') == NULL;
    if (!gw_net_parse_addr(addr, r->addr))
        return 0;
    max = v4 ? 32 : 128;
    if (slash == NULL) {
        r->bits = max;
    } else {
        char *end;
        long n;
        if (!isdigit((unsigned char)slash[1]))
            return 0;
        n = strtol(slash + 1, &end, 10);
        if (*end != '\0' || n < 0 || n > max)
            return 0;
        r->bits = (int)n;
    }
    if (v4)
        r->bits += 96;
    return 1;
}

static int
in_range(const unsigned char a[16], const struct gw_net_range *r)
{
    int full = r->bits / 8, rest = r->bits % 8;

    if (memcmp(a, r->addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((a[full] ^ r->addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static enum gw_net_class
classify_table(const unsigned char a[16])
{
    for (size_t i = 0; i < sizeof(class_rows) / sizeof(class_rows[0]); i++) {
        struct gw_net_range r;
        if (parse_range(class_rows[i].cidr, &r) && in_range(a, &r))
            return class_rows[i].cls;
    }
    return GW_NET_PUBLIC;
}

/* The IPv4 address embedded by 6to4 (2002:AABB:CCDD::/48) or NAT64
 * (64:ff9b::/96), mapped; 0 if a embeds none. */
static int
embedded_v4(const unsigned char a[16], unsigned char out[16])
{
    static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};

    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    if (a[0] == 0x20 && a[1] == 0x02) {
        memcpy(out + 12, a + 2, 4);
        return 1;
    }
    if (memcmp(a, nat64, 12) == 0) {
        memcpy(out + 12, a + 12, 4);
        return 1;
    }
    return 0;
}

enum gw_net_class
gw_net_classify16(const unsigned char a[16])
{
    unsigned char v4[16];
    enum gw_net_class c = classify_table(a);

    if (c == GW_NET_PUBLIC && embedded_v4(a, v4))
        c = classify_table(v4);
    return c;
}

/* The socket address as 16 bytes; 0 for another family. */
static int
sa_bytes(const struct sockaddr *sa, unsigned char out[16])
{
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &in->sin_addr, 4);
        return 1;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(out, &in6->sin6_addr, 16);
        return 1;
    }
    return 0;
}

enum gw_net_class
gw_net_classify(const struct sockaddr *sa)
{
    unsigned char a[16];

    return sa_bytes(sa, a) ? gw_net_classify16(a) : GW_NET_RESERVED;
}

int
gw_net_addr16_allowed(const struct gw_net_policy *p, const unsigned char a[16],
                      const char **why)
{
    enum gw_net_class c = gw_net_classify16(a);

    if (c == GW_NET_PUBLIC)
        return 1;
    for (size_t i = 0; p != NULL && i < p->nallow; i++)
        if (in_range(a, &p->allow[i]))
            return 1;
    if (why != NULL)
        *why = gw_net_class_name(c);
    return 0;
}

int
gw_net_addr_allowed(const struct gw_net_policy *p, const struct sockaddr *sa,
                    const char **why)
{
    unsigned char a[16];

    if (!sa_bytes(sa, a)) {
        if (why != NULL)
            *why = "not an IP address";
        return 0;
    }
    return gw_net_addr16_allowed(p, a, why);
}

int
gw_net_host_allowed(const struct gw_net_policy *p, const char *gln,
                    const char *host)
{
    for (size_t i = 0; p != NULL && i < p->nhosts; i++)
        if (strcmp(p->hosts[i].gln, gln) == 0 &&
            strcasecmp(p->hosts[i].host, host) == 0)
            return 1;
    return 0;
}

/* Next space-separated word of *s into w (cap size); 0 at the end, -1 when
 * a word is too long. */
static int
next_word(const char **s, char *w, size_t size)
{
    const char *p = *s, *start;
    size_t n;

    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    if (*p == '\0')
        return 0;
    start = p;
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
        p++;
    n = (size_t)(p - start);
    *s = p;
    if (n >= size)
        return -1;
    memcpy(w, start, n);
    w[n] = '\0';
    return 1;
}

static int
valid_host(const char *h)
{
    if (h[0] == '\0')
        return 0;
    for (const char *p = h; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != ':')
            return 0;
    return 1;
}

int
gw_net_sockaddr16(const struct sockaddr *sa, unsigned char out[16])
{
    return sa_bytes(sa, out);
}

int
gw_net_ranges_match(const struct gw_net_range *r, size_t n,
                    const unsigned char a[16])
{
    for (size_t i = 0; r != NULL && i < n; i++)
        if (in_range(a, &r[i]))
            return 1;
    return 0;
}

/* parse_range, stricter: no leading zero or more than three digits in
 * the prefix, no address bit beyond it. 0 when refused, with *why. */
static int
parse_range_strict(const char *text, struct gw_net_range *r, const char **why)
{
    const char *slash = strchr(text, '/');

    *why = "not an IPv4 or IPv6 address, or address/prefix";
    if (slash != NULL) {
        size_t digits = strspn(slash + 1, "0123456789");
        if (digits == 0 || digits > 3 || slash[1 + digits] != '\0' ||
            (digits > 1 && slash[1] == '0')) {
            *why = "the prefix length is not a number of at most 32 (IPv4) "
                   "or 128 (IPv6)";
            return 0;
        }
    }
    if (!parse_range(text, r)) {
        if (slash != NULL && strchr(slash + 1, '/') == NULL) {
            char addr[64];
            size_t len = (size_t)(slash - text);
            unsigned char b[16];
            if (len > 0 && len < sizeof(addr)) {
                memcpy(addr, text, len);
                addr[len] = '\0';
                if (gw_net_parse_addr(addr, b))
                    *why = "the prefix length is over 32 (IPv4) or 128 "
                           "(IPv6)";
            }
        }
        return 0;
    }
    for (int bit = r->bits; bit < 128; bit++)
        if (r->addr[bit / 8] & (0x80 >> (bit % 8))) {
            *why = "an address bit is set beyond the prefix (write the "
                   "network's first address)";
            return 0;
        }
    return 1;
}

gw_rc
gw_net_ranges_parse(const char *key, const char *text, size_t max,
                    struct gw_net_range **out, size_t *n, struct gw_err *err)
{
    struct gw_net_range *r = NULL;
    const char *s = text ? text : "", *why;
    char w[80];
    size_t count = 0;
    int k;
    gw_rc rc = GW_OK;

    *out = NULL;
    *n = 0;
    while ((k = next_word(&s, w, sizeof(w))) != 0) {
        if (k < 0) {
            rc = gw_err_set(err, GW_ECONFIG, key,
                            "%s: an entry is too long to be an address or "
                            "CIDR range",
                            key);
            goto out;
        }
        if (count == max) {
            rc = gw_err_set(err, GW_ECONFIG, key, "%s: more than %zu entries",
                            key, max);
            goto out;
        }
        if (r == NULL && (r = calloc(max, sizeof(*r))) == NULL) {
            rc = GW_ENOMEM;
            goto out;
        }
        if (!parse_range_strict(w, &r[count], &why)) {
            rc = gw_err_set(err, GW_ECONFIG, key, "%s: '%s': %s", key, w, why);
            goto out;
        }
        count++;
    }
    *out = r;
    *n = count;
    r = NULL;
out:
    free(r);
    return rc;
}

/* Room in list (n entries, MAX_ENTRIES allocated at the first): 0, or -1
 * when it is full, -2 out of memory. */
#define ROOM(list, n)                                                          \
    ((n) == MAX_ENTRIES ? -1                                                   \
     : (list) == NULL &&                                                       \
             ((list) = calloc(MAX_ENTRIES, sizeof(*(list)))) == NULL           \
         ? -2                                                                  \
         : 0)

/* Adds the range w to p: 1, or 0 when w is not one, -1 when the list is
 * full, -2 out of memory. */
static int
add_range(struct gw_net_policy *p, char *w)
{
    struct gw_net_range r;
    int k;

    if (!parse_range(w, &r))
        return 0;
    if ((k = ROOM(p->allow, p->nallow)) < 0)
        return k;
    p->allow[p->nallow++] = r;
    return 1;
}

/* Adds the GLN=host entry w to p, as add_range. */
static int
add_host(struct gw_net_policy *p, char *w)
{
    char *eq = strchr(w, '=');
    struct gw_net_host *h;
    size_t glen = eq ? (size_t)(eq - w) : 0;
    int k;

    if (eq == NULL || glen != 13 || strspn(w, "0123456789") != 13 ||
        strlen(eq + 1) >= sizeof(h->host) || !valid_host(eq + 1))
        return 0;
    if ((k = ROOM(p->hosts, p->nhosts)) < 0)
        return k;
    h = &p->hosts[p->nhosts++];
    memcpy(h->gln, w, 13);
    h->gln[13] = '\0';
    snprintf(h->host, sizeof(h->host), "%s", eq + 1);
    for (char *c = h->host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return 1;
}

/* Each word of the configuration value list (key) added to p by add;
 * a word that is not `form` or one past MAX_ENTRIES `items` is refused. */
static gw_rc
add_words(struct gw_net_policy *p, const char *list, const char *key,
          const char *form, const char *items,
          int (*add)(struct gw_net_policy *, char *), struct gw_err *err)
{
    char w[300];
    const char *s;
    int k, r;

    for (s = list ? list : ""; (k = next_word(&s, w, sizeof(w))) != 0;) {
        r = k < 0 ? 0 : add(p, w);
        if (r == 0)
            return gw_err_set(err, GW_ECONFIG, NULL, "%s: '%.60s' is not %s",
                              key, k < 0 ? "(too long)" : w, form);
        if (r == -1)
            return gw_err_set(err, GW_ECONFIG, NULL, "%s: more than %d %s", key,
                              MAX_ENTRIES, items);
        if (r < 0)
            return GW_ENOMEM;
    }
    return GW_OK;
}

gw_rc
gw_net_policy_init(struct gw_net_policy *p, const char *hosts,
                   const char *ranges, int allow_http, struct gw_err *err)
{
    gw_rc rc;

    memset(p, 0, sizeof(*p));
    p->allow_http = allow_http;
    rc = add_words(p, ranges, "webhooks.allow_private",
                   "an address or CIDR range", "ranges", add_range, err);
    if (rc == GW_OK)
        rc = add_words(p, hosts, "webhooks.allowed_hosts",
                       "GLN=host (13-digit GLN, host name or address)",
                       "entries", add_host, err);
    return rc;
}

void
gw_net_policy_release(struct gw_net_policy *p)
{
    free(p->allow);
    free(p->hosts);
    memset(p, 0, sizeof(*p));
}
