/*
 * proxy.h - reading what a trusted TLS-terminating proxy forwards (NTjP
 * style): the client certificate in x-vp-auth-cert and the client's
 * address in X-Forwarded-For. Pure parsing of header values that come from
 * the network; whether the sender may forward them at all
 * (server.trusted_proxies) and whether the certificate is trusted are
 * decided by the caller (server.c).
 */
#ifndef GW_HTTP_PROXY_H
#define GW_HTTP_PROXY_H

#include <stddef.h>

#include <gnutls/x509.h>

/* Longest x-vp-auth-cert value read; a longer one is refused unread. */
#define GW_PROXY_CERT_MAX 16384

/* The certificate in an x-vp-auth-cert value: PEM (the line breaks may be
 * spaces or gone, as headers carry them) or the DER in base64. Returns 0
 * and a certificate the caller deinits, or -1 when the value is none. */
int gw_proxy_cert_parse(const char *value, gnutls_x509_crt_t *out);

struct gw_net_range;

/* Most X-Forwarded-For entries looked at, from the right. */
#define GW_PROXY_XFF_MAX 16

/* The caller's address in an X-Forwarded-For value, into out: walking
 * from the right (the entry our proxy added), the first address not in
 * the trusted ranges (server.trusted_proxies: proxies in a chain), or the
 * leftmost when all are. out is "" when that entry is not a numeric IPv4
 * or IPv6 address, or lies beyond GW_PROXY_XFF_MAX entries. */
void gw_proxy_forwarded_for(const char *xff, const struct gw_net_range *trusted,
                            size_t ntrusted, char *out, size_t size);

#endif
