/*
 * pharmacy.h - the peer "pharmacy": notifications to pharmacy systems
 * through their Subscriptions (FHIR rest-hook).
 *
 * An outbox item of this peer names a GLN and an event; the notification
 * (a Subscriptions Backport IG notification Bundle, below) carries ids
 * only - the event's number and a reference to the case's Task - never
 * patient data: the pharmacy reads the (redacted) case itself. The
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
#include "core/ticker.h"
#include "outbound/client.h"
#include "store/subscription.h"

struct gw_pharmacy_peer {
    struct gw_store *store;
    long timeout_ms;
    /* Where endpoints may point (webhooks.*); borrowed. NULL refuses every
     * non-public address and plain http. */
    const struct gw_net_policy *policy;
    int max_failures; /* failures in a row that put a subscription in error */
    const struct gw_tls_client *tls; /* webhooks.tls_*; NULL: defaults */
    /* The gateway's FHIR base as pharmacies reach it (webhooks.base_url),
     * for the focus fullUrl of notifications; NULL: GW_PHARMACY_BASE. */
    const char *base;
};
#define GW_PHARMACY_BASE "https://klasgw.example/fhir"

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

/*
 * Topic-based notifications (FHIR R4 Subscriptions Backport IG 1.1.0).
 * A Subscription names one topic in `criteria`, by canonical URL:
 * GW_TOPIC_BASE and the topic column (.topic) of an event's row in
 * klas/event.c. The rows are the list of topics and of the events each
 * carries (gw_klas_list(GW_KLAS_TOPICS, ...) joins them for texts, as the
 * refusal of an unknown topic does).
 * Every notification is a Bundle of type history: first the
 * SubscriptionStatus as a Parameters (backport-subscription-status-r4),
 * then, for an event notification, one entry per event naming its Task
 * by fullUrl only (id-only: request and response, no resource).
 */
#define GW_TOPIC_BASE "http://klasgw.org/fhir/SubscriptionTopic/"

/* 1 when url is one of the topics of the rows (GW_TOPIC_BASE + name). */
int gw_pharmacy_topic_known(const char *url);
/* 1 when a notification of event_code goes to subscription sub: its
 * topic has the event (a subscription from before topics: every one). */
int gw_pharmacy_topic_matches(const struct gw_subscription *sub,
                              const char *event_code);

/* The notification of `type` ("handshake", "heartbeat",
 * "event-notification", "query-status", "query-event") for sub with its
 * n events, focus URLs under base (the gateway's FHIR base, no trailing
 * '/'; NULL: GW_PHARMACY_BASE): the notification Bundle as a tree
 * (fhir/build.h), checked against the R4 model. The sender writes it to
 * JSON once, for the wire; $status and $events answer the tree itself.
 * Caller frees *out with gw_fhir_doc_free. */
struct gw_fhir_doc;
gw_rc gw_pharmacy_notification(const struct gw_subscription *sub,
                               const char *type,
                               const struct gw_sub_event *ev, size_t n,
                               const char *base, struct gw_fhir_doc **out)
    GW_WARN_UNUSED;

/* A channel.header value as it may be sent: "Name: value", the name an
 * HTTP token not set by the gateway itself, the value printable (no CR,
 * LF or other control characters), at most 256 bytes in all. 1 if ok,
 * else 0 with why (static text). */
int gw_pharmacy_header_ok(const char *h, const char **why);

/* The keeper: one thread that sends each "requested" subscription its
 * handshake (2xx: active; else error) and each active one with a
 * heartbeat period its heartbeat when nothing was sent for that long.
 * Checks every second on t, the caller's, which gw_ticker_stop stops. */
gw_rc gw_pharmacy_keeper_start(struct gw_ticker *t,
                               struct gw_pharmacy_peer *ctx) GW_WARN_UNUSED;

#endif
