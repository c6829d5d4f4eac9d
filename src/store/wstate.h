/*
 * wstate.h - what both backends (db.c, pg.c) keep under their store's
 * one lock: the writers' queue and whether they run, the writers' last
 * commit result and counts, and the outbox's wake-ups. One init, one
 * stop and one destroy, so both shut down the same way.
 */
#ifndef GW_STORE_WSTATE_H
#define GW_STORE_WSTATE_H

#include <pthread.h>
#include <stdint.h>

#include "store/store.h"
#include "store/wqueue.h"

struct gw_wstate {
    pthread_mutex_t mu;  /* guards all below */
    struct gw_wqueue wq; /* wqueue.h */
    int writer_running;  /* writer threads started */
    int stopping;        /* set once, by gw_wstate_stop */
    struct gw_store_stats stats;
    gw_rc commit_rc; /* readiness: the writers' last commit result */

    /* Woken when outbox work may exist: a commit with outbox items, a
     * retry, a NOTIFY, gw_outbox_wake. */
    pthread_cond_t outbox_cv;
    long long outbox_generation;
    int outbox_waiters; /* threads inside gw_wstate_outbox_wait */
};

void gw_wstate_init(struct gw_wstate *ws, int batch_max);
/* Sets stopping, wakes every writer and every outbox waiter, and returns
 * once no waiter is left inside gw_wstate_outbox_wait. The caller joins
 * its writer threads afterwards. */
void gw_wstate_stop(struct gw_wstate *ws);
/* After gw_wstate_stop and the writers' join. */
void gw_wstate_destroy(struct gw_wstate *ws);

/* Waits until the outbox generation is no longer *seen (GW_OK), the
 * store stops (GW_EUNAVAILABLE) or timeout_ms pass (GW_ETIMEOUT); *seen
 * becomes the generation: both backends' gw_outbox_wait. */
gw_rc gw_wstate_outbox_wait(struct gw_wstate *ws, long long *seen,
                            int64_t timeout_ms);
/* Moves the generation on and wakes every waiter (locks mu). */
void gw_wstate_outbox_bump(struct gw_wstate *ws);
/* The same for a caller that holds mu (a writer after its commit). */
void gw_wstate_outbox_bump_locked(struct gw_wstate *ws);
/* A copy of the counts, under mu. */
void gw_wstate_stats(struct gw_wstate *ws, struct gw_store_stats *out);

#endif
