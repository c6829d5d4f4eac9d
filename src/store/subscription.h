/*
 * subscription.h - pharmacy subscriptions (rest-hook) (shared_reads.c,
 * on either backend), topic-based as the FHIR R4 Subscriptions Backport
 * IG has them, and the events each one was told of (for $events).
 */
#ifndef GW_STORE_SUBSCRIPTION_H
#define GW_STORE_SUBSCRIPTION_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "klas/facts.h"

struct gw_store;

struct gw_subscription {
    char id[40];
    char gln[16];
    char endpoint[512];
    char criteria[128]; /* the topic's canonical URL (Backport IG); older
                           subscriptions: "Task?owner.identifier=GLN" */
    char status[16]; /* "requested" until the handshake was answered 2xx,
                        "active", or "error" after failed notifications */
    int64_t created_ms;
    int failures;    /* failed notifications in a row */
    char error[200]; /* why it is in error ("" when active) */
    char filter[128];  /* the _criteria filter as stored ("" none) */
    char header[272];  /* channel.header: one "Name: value" ("" none) */
    int heartbeat_s;   /* channel heartbeat period in seconds, 0: none */
    int64_t events;    /* events since the subscription started */
    int64_t sent_ms;   /* when a notification was last sent (any kind) */
};

/* One event a subscription was told of (or was to be told of). */
struct gw_sub_event {
    int64_t number;  /* 1, 2, ... per subscription */
    int64_t at_ms;   /* when it was numbered */
    char code[GW_KLAS_EVENT_SIZE]; /* the KLAS event code (as the
                                      message's facts.event) */
    char refnr[32];  /* the case: Task/<refnr> */
};
/* Events kept per subscription: older ones are dropped when a new one is
 * numbered ($events answers only what is kept). */
#define GW_SUB_EVENTS_KEPT 1000
/* At most this many events in one $events answer. */
#define GW_SUB_EVENTS_MAX 100
gw_rc gw_store_sub_put(struct gw_store *st,
                       const struct gw_subscription *sub) GW_WARN_UNUSED;
/* GW_ENOTFOUND unless a subscription `id` of `gln` existed. */
gw_rc gw_store_sub_delete(struct gw_store *st, const char *id,
                          const char *gln) GW_WARN_UNUSED;
/* Subscriptions by id and/or GLN (NULL: any), at most 100. Caller frees
 * *subs with free(). */
gw_rc gw_store_sub_list(struct gw_store *st, const char *id, const char *gln,
                        struct gw_subscription **subs,
                        size_t *n) GW_WARN_UNUSED;

/* Records the outcome of one notification to subscription `id`: a success
 * clears its failures; a failure counts one, and a permanent one
 * (`permanent`) or the `max_failures`-th in a row puts the subscription in
 * status "error" with `why`, and its items still waiting become due at
 * once (each is then numbered for $events and becomes a dead letter,
 * outbound/pharmacy.c). *in_error (may be NULL) is 1 when it is in error now.
 * GW_ENOTFOUND when the subscription is gone. */
gw_rc gw_store_sub_note(struct gw_store *st, const char *id, int ok,
                        int permanent, int max_failures, const char *why,
                        int *in_error) GW_WARN_UNUSED;

/* The event of notification item `message_id` for subscription `id`:
 * the one numbered before (a retry of the item), or a new one with the
 * next number (events + 1), stored with code and refnr in the same
 * transaction. *ev gets it. GW_ENOTFOUND when the subscription is gone. */
gw_rc gw_store_sub_event(struct gw_store *st, const char *id,
                         const char *message_id, const char *code,
                         const char *refnr,
                         struct gw_sub_event *ev) GW_WARN_UNUSED;
/* The kept events of subscription `id` numbered since..until (inclusive),
 * in order, at most `max` (<= GW_SUB_EVENTS_MAX). Caller frees *out. */
gw_rc gw_store_sub_events(struct gw_store *st, const char *id, int64_t since,
                          int64_t until, size_t max, struct gw_sub_event **out,
                          size_t *n) GW_WARN_UNUSED;
/* Sets the status of subscription `id` (NULL: kept) with `why` as its
 * error (NULL: cleared when the status is set), and when sent_ms > 0 the
 * time a notification was last sent. GW_ENOTFOUND when it is gone. */
gw_rc gw_store_sub_mark(struct gw_store *st, const char *id,
                        const char *status, const char *why,
                        int64_t sent_ms) GW_WARN_UNUSED;

#endif
