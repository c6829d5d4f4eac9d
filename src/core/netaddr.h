/*
 * netaddr.h - which network addresses the gateway may send webhooks to.
 *
 * A pharmacy names its rest-hook endpoint; without a check it could aim the
 * gateway at its own loopback services, the cloud metadata address or the
 * hospital network (SSRF). This module is the pure part of that check: it
 * classifies an address (loopback, link-local, private, multicast, ...)
 * and holds the operator's policy: which hosts each pharmacy (GLN) may
 * name, which otherwise refused ranges are allowed after all (tests use
 * loopback through that), and whether plain http is allowed. No I/O and no
 * name resolution here: the caller resolves, at Subscription create
 * (pipeline/) and again at connect time (outbound/http_client.c), so a
 * DNS answer that changes in between (rebinding) is still caught.
 *
 * IPv4 addresses are handled as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one
 * range list covers both families and ::ffff:127.0.0.1 is loopback.
 */
#ifndef GW_CORE_NETADDR_H
#define GW_CORE_NETADDR_H

#include <stddef.h>

#include "core/err.h"

struct sockaddr;

/* What an address is; everything but GW_NET_PUBLIC is refused by default. */
enum gw_net_class {
    GW_NET_PUBLIC = 0,
    GW_NET_UNSPECIFIED, /* 0.0.0.0/8, :: */
    GW_NET_LOOPBACK,    /* 127.0.0.0/8, ::1 */
    GW_NET_LINKLOCAL,   /* 169.254.0.0/16 (cloud metadata), fe80::/10 */
    GW_NET_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7,
                           fec0::/10 */
    GW_NET_MULTICAST,   /* 224.0.0.0/4, ff00::/8 */
    GW_NET_RESERVED,    /* 240.0.0.0/4 and broadcast, 192.0.0.0/24,
                           198.18.0.0/15, IPv4-compatible ::a.b.c.d */
};

/* One range: a 16-byte address (IPv4 mapped) and a prefix length 0..128. */
struct gw_net_range {
    unsigned char addr[16];
    int bits;
};

/* One allow-list entry: a pharmacy and a host it may name. */
struct gw_net_host {
    char gln[14];
    char host[256]; /* lower case; an IPv6 literal without brackets */
};

struct gw_net_policy {
    struct gw_net_range *allow; /* refused classes allowed after all */
    size_t nallow;
    struct gw_net_host *hosts;
    size_t nhosts;
    int allow_http; /* http:// endpoints (demo and tests only) */
};

/* Classifies a 16-byte address (IPv4 as ::ffff:a.b.c.d). */
enum gw_net_class gw_net_classify16(const unsigned char a[16]);
/* Classifies an AF_INET or AF_INET6 socket address; other families are
 * GW_NET_RESERVED. */
enum gw_net_class gw_net_classify(const struct sockaddr *sa);
/* "public", "loopback", "link-local", ... for messages. */
const char *gw_net_class_name(enum gw_net_class c);

/*
 * Parses text as an IPv4 or IPv6 literal (no brackets, no port) into a
 * 16-byte address. Returns 1 on success, 0 if it is not a literal.
 */
int gw_net_parse_addr(const char *text, unsigned char out[16]);

/*
 * Parses a list of addresses and CIDR ranges (server.trusted_proxies:
 * "127.0.0.0/8, ::1/128 192.0.2.7"), separated by spaces or commas,
 * strictly: a literal IPv4 or IPv6 address (no brackets, zone or port), a
 * prefix of decimal digits without a leading zero, at most 32 or 128, and
 * no address bit set beyond the prefix (10.1.2.3/8 is refused: write
 * 10.0.0.0/8). A bare address is /32 or /128. At most max entries. On
 * failure err names key and the entry, *out is NULL. *out is NULL for an
 * empty list; free() it.
 */
gw_rc gw_net_ranges_parse(const char *key, const char *text, size_t max,
                          struct gw_net_range **out, size_t *n,
                          struct gw_err *err) GW_WARN_UNUSED;
/* Whether the 16-byte address (IPv4 as ::ffff:a.b.c.d, so an IPv4-mapped
 * IPv6 peer matches IPv4 ranges) is inside one of the n ranges. */
int gw_net_ranges_match(const struct gw_net_range *r, size_t n,
                        const unsigned char a[16]);
/* The socket address as 16 bytes (IPv4 mapped); 0 for another family. */
int gw_net_sockaddr16(const struct sockaddr *sa, unsigned char out[16]);

/*
 * Builds a policy from the configuration's text: hosts is
 * "GLN=host GLN=host ..." (webhooks.allowed_hosts), ranges is
 * "CIDR CIDR ..." (webhooks.allow_private; a bare address is /32 or /128).
 * On failure err names the key and the entry. Free with
 * gw_net_policy_release (also after a failure).
 */
gw_rc gw_net_policy_init(struct gw_net_policy *p, const char *hosts,
                         const char *ranges, int allow_http,
                         struct gw_err *err) GW_WARN_UNUSED;
void gw_net_policy_release(struct gw_net_policy *p);

/* Whether the pharmacy gln may name host (case-insensitive, exact). */
int gw_net_host_allowed(const struct gw_net_policy *p, const char *gln,
                        const char *host);
/*
 * Whether the gateway may connect to sa: a public address, or one inside
 * a range of p->allow. When not, *why (if given) is set to the class name.
 */
int gw_net_addr_allowed(const struct gw_net_policy *p,
                        const struct sockaddr *sa, const char **why);
/* The same for a 16-byte address. */
int gw_net_addr16_allowed(const struct gw_net_policy *p,
                          const unsigned char a[16], const char **why);

#endif
