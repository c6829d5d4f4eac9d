/*
 * pharmacy.h - the peer "pharmacy": notifications to pharmacy systems
 * through their Subscriptions (FHIR rest-hook).
 *
 * An outbox item of this peer names a GLN and an event; the notification
 * carries ids only - the event code and a reference to the case's Task -
 * never patient data: the pharmacy reads the (redacted) case itself. The
 * writer made one item per active Subscription of that GLN; each goes to
 * its endpoint with the item's stable message id in X-Message-Id so a
 * receiver can drop a resend. A Subscription that refuses (4xx) or fails
 * outbox.subscription_max_failures times in a row is set to status
 * "error" and its waiting items become dead letters. A pharmacy without a
 * Subscription polls instead.
 */
#ifndef GW_OUTBOUND_PHARMACY_H
#define GW_OUTBOUND_PHARMACY_H

#include "core/netaddr.h"
#include "outbound/client.h"
#include "store/store.h"

struct gw_pharmacy_peer {
    struct gw_store *store;
    long timeout_ms;
    /* Where endpoints may point (webhooks.*); borrowed. NULL refuses every
     * non-public address and plain http. */
    const struct gw_net_policy *policy;
    int max_failures; /* failures in a row that put a subscription in error */
    const struct gw_tls_client *tls; /* webhooks.tls_*; NULL: defaults */
};

/*
 * The payload of a "notify" item, {"gln":"...","event":"..."}: built and
 * read as a JSON structure (jansson), never by format string. Encode
 * refuses (GW_EINVAL) a GLN that is not 13 digits or an event code that is
 * empty or not [a-z0-9-]; there is no length limit on the event code.
 * Decode refuses (GW_EPARSE) anything but an object with exactly those two
 * string members, checked the same way; *event is the caller's (free()).
 */
gw_rc gw_pharmacy_notice_encode(const char *gln, const char *event,
                                char **out, size_t *len) GW_WARN_UNUSED;
gw_rc gw_pharmacy_notice_decode(const char *payload, size_t len,
                                char gln[14], char **event) GW_WARN_UNUSED;

/* Fills peer (name "pharmacy") to deliver through ctx (borrowed). */
void gw_pharmacy_peer_init(struct gw_peer *peer, struct gw_pharmacy_peer *ctx);

#endif
