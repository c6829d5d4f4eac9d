/*
 * http_client.h - a peer that delivers outbox items by HTTP POST (libcurl):
 * the payload as the body, the item's message id in X-Message-Id so the
 * receiver can drop duplicates. Used for pharmacy webhooks and as the
 * transport under the SOAP peers.
 *
 * Outcome: 2xx delivered; 408, 425, 429, 5xx, timeouts and connection
 * failures are retried; any other status is a permanent failure (dead
 * letter). Connections are reused per thread.
 */
#ifndef GW_OUTBOUND_HTTP_CLIENT_H
#define GW_OUTBOUND_HTTP_CLIENT_H

#include "outbound/client.h"

struct gw_http_peer {
    const char *url;
    const char *content_type; /* e.g. "application/fhir+json" */
    long timeout_ms;
};

/* Call once at start-up, before any thread sends (curl_global_init). */
gw_rc gw_http_client_init(void) GW_WARN_UNUSED;
/* The send function for struct gw_peer; ctx is a struct gw_http_peer. */
enum gw_delivery gw_http_peer_send(void *ctx, const struct gw_outbox_item *item,
                                   char *why, size_t why_size);
/* Frees the calling thread's connection cache: struct gw_peer's
 * thread_done (ctx unused). */
void gw_http_client_thread_done(void *ctx);

#endif
