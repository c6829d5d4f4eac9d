/*
 * subscription.h - pharmacy subscriptions (rest-hook) (subscription.c).
 */
#ifndef GW_STORE_SUBSCRIPTION_H
#define GW_STORE_SUBSCRIPTION_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct gw_store;

struct gw_subscription {
    char id[40];
    char gln[16];
    char endpoint[512];
    char criteria[128];
    char status[16]; /* "active", or "error" after failed notifications */
    int64_t created_ms;
    int failures;    /* failed notifications in a row */
    char error[200]; /* why it is in error ("" when active) */
};
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
 * status "error" with `why`, and its items still waiting become dead
 * letters. *in_error (may be NULL) is 1 when it is in error now.
 * GW_ENOTFOUND when the subscription is gone. */
gw_rc gw_store_sub_note(struct gw_store *st, const char *id, int ok,
                        int permanent, int max_failures, const char *why,
                        int *in_error) GW_WARN_UNUSED;

#endif
