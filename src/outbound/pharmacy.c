/*
 * pharmacy.c - rest-hook notifications to pharmacies (see pharmacy.h).
 */
#include "outbound/pharmacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "outbound/http_client.h"

static enum gw_delivery
send_notification(void *ctx, const struct gw_outbox_item *item, char *why,
                  size_t why_size)
{
    struct gw_pharmacy_peer *p = ctx;
    struct gw_subscription *subs = NULL;
    struct gw_outbox_item note;
    char gln[16], event[40], body[512];
    enum gw_delivery worst = GW_DELIVERED;
    size_t n = 0;

    if (sscanf(item->payload, "{\"gln\":\"%13[0-9]\",\"event\":\"%39[a-z-]\"}",
               gln, event) != 2) {
        snprintf(why, why_size, "unreadable notification item");
        return GW_DELIVERY_FAILED;
    }
    if (gw_store_sub_list(p->store, NULL, gln, &subs, &n) != GW_OK) {
        snprintf(why, why_size, "cannot read subscriptions");
        return GW_DELIVERY_RETRY;
    }
    snprintf(body, sizeof(body),
             "{\"resourceType\":\"Parameters\",\"parameter\":["
             "{\"name\":\"event\",\"valueCode\":\"%s\"},"
             "{\"name\":\"case\",\"valueReference\":{\"reference\":"
             "\"Task/%s\"}}]}",
             event, item->refnr);
    note = *item;
    note.payload = body;
    note.payload_len = strlen(body);
    for (size_t i = 0; i < n; i++) {
        static const struct gw_net_policy strict;
        struct gw_http_peer hp = {subs[i].endpoint, "application/fhir+json",
                                  p->timeout_ms,
                                  p->policy ? p->policy : &strict};
        enum gw_delivery d;
        if (strcmp(subs[i].status, "active") != 0)
            continue;
        d = gw_http_peer_send(&hp, &note, why, why_size);
        /* One endpoint down means try again; the others drop the resend. */
        if (d == GW_DELIVERY_RETRY || (d == GW_DELIVERY_FAILED &&
                                       worst == GW_DELIVERED))
            worst = d;
    }
    if (n == 0)
        gw_log_debug("event=notify_no_subscription refnr=%s", item->refnr);
    free(subs);
    return worst;
}

void
gw_pharmacy_peer_init(struct gw_peer *peer, struct gw_pharmacy_peer *ctx)
{
    memset(peer, 0, sizeof(*peer));
    peer->name = "pharmacy";
    peer->send = send_notification;
    peer->ctx = ctx;
    peer->thread_done = gw_http_client_thread_done;
}
