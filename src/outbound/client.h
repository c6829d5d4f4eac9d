/*
 * client.h - the one interface through which the gateway delivers to a
 * peer (LV, a pharmacy's webhook, ...). The outbox worker knows only this.
 *
 * A peer implementation (outbound/lv.c, outbound/pharmacy.c, or a test
 * transport) fills struct gw_peer. `send` delivers one item and classifies
 * the outcome; it must be safe to call from several threads at once (up to
 * outbox.per_peer_concurrency per peer) and must give up within its own
 * timeout.
 */
#ifndef GW_OUTBOUND_CLIENT_H
#define GW_OUTBOUND_CLIENT_H

#include <stddef.h>

#include "core/err.h"
#include "store/outbox.h"

enum gw_delivery {
    GW_DELIVERED = 0,  /* the peer has it */
    GW_DELIVERY_RETRY, /* try again later (down, timeout, 5xx, fault) */
    GW_DELIVERY_FAILED /* will never work: dead letter now */
};

struct gw_peer {
    const char *name; /* matches gw_outbox_item.peer */
    /* Delivers item; writes a short reason (no personal data) into why. */
    enum gw_delivery (*send)(void *ctx, const struct gw_outbox_item *item,
                             char *why, size_t why_size);
    void *ctx;
    /* Optional: called by each delivery thread as it ends, to free what
     * `send` kept per thread (connections). */
    void (*thread_done)(void *ctx);
};

/* Fills *peer with name, send and ctx, and nothing else (no thread_done):
 * one place, so that a field added to struct gw_peer starts out zero in
 * every peer. */
static inline void
gw_peer_init(struct gw_peer *peer, const char *name,
             enum gw_delivery (*send)(void *ctx,
                                      const struct gw_outbox_item *item,
                                      char *why, size_t why_size),
             void *ctx)
{
    *peer = (struct gw_peer){.name = name, .send = send, .ctx = ctx};
}

#endif
