/*
 * http_client.h - a peer that delivers outbox items by HTTP POST (libcurl):
 * the payload as the body, the item's message id in X-Message-Id so the
 * receiver can drop duplicates. Used for pharmacy webhooks and as the
 * transport under the SOAP peers.
 *
 * Outcome: 2xx delivered; 408, 425, 429, 5xx, timeouts and connection
 * failures are retried; any other status is a permanent failure (dead
 * letter). Redirects are never followed (a 3xx is a permanent failure).
 * Connections are reused per thread.
 *
 * A peer with a policy (pharmacy webhooks: endpoints named by someone
 * outside) is held to it at connect time: https only unless the policy
 * allows http, no proxy from the environment, and every address curl is
 * about to connect to must pass gw_net_addr_allowed - checked on the
 * resolved address in the socket callback, so a name that resolved to a
 * public address at Subscription create and to 127.0.0.1 now (DNS
 * rebinding) is still refused. A refusal is permanent (dead letter,
 * "address refused: loopback").
 */
#ifndef GW_OUTBOUND_HTTP_CLIENT_H
#define GW_OUTBOUND_HTTP_CLIENT_H

#include "config/tls.h"
#include "core/netaddr.h"
#include "outbound/client.h"
#include "store/outbox.h"

struct gw_http_peer {
    const char *url;
    const char *content_type; /* e.g. "application/fhir+json" */
    long timeout_ms;
    const struct gw_net_policy *policy; /* NULL: an operator-set peer */
    const struct gw_tls_client *tls;    /* NULL: no client certificate,
                                           system CAs, TLS 1.2+ */
    const char *header;  /* one more "Name: value" line (a Subscription's
                           channel.header), checked by its owner; NULL */
};

/* The parts of an endpoint URL as libcurl reads them: scheme ("https"),
 * host (lower case, IPv6 without brackets) and port (the scheme's default
 * when absent). GW_EINVAL when url is not an absolute URL. */
gw_rc gw_http_url_parts(const char *url, char *scheme, size_t scheme_size,
                        char *host, size_t host_size,
                        long *port) GW_WARN_UNUSED;

/* Sets the TLS options of tls (NULL: the defaults) on a libcurl easy
 * handle (void *: curl.h stays in http_client.c): client certificate and
 * key, CA bundle, host verification, lowest version. Peer verification is
 * always on. libcurl reads the files when it opens a connection, so a
 * certificate replaced on disk is used by the next connection. Also used
 * on the handle of gSOAP's curl plugin (soap_client.c). */
void gw_http_tls_apply(void *curl, const struct gw_tls_client *tls);
/* Call once at start-up, before any thread sends (curl_global_init). */
gw_rc gw_http_client_init(void) GW_WARN_UNUSED;
/* The send function for struct gw_peer; ctx is a struct gw_http_peer. */
enum gw_delivery gw_http_peer_send(void *ctx, const struct gw_outbox_item *item,
                                   char *why, size_t why_size);
/* Frees the calling thread's connection cache: struct gw_peer's
 * thread_done (ctx unused). */
void gw_http_client_thread_done(void *ctx);

#endif
