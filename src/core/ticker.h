/*
 * ticker.h - one thread that does a job at once and then every period
 * until it is stopped; stopping wakes it rather than waiting the period
 * out. The scheduler's daily jobs and the pharmacy keeper run on it.
 */
#ifndef GW_CORE_TICKER_H
#define GW_CORE_TICKER_H

#include <pthread.h>

#include "core/err.h"

/* Embedded in its owner; the fields are ticker.c's. */
struct gw_ticker {
    void (*fn)(void *);
    void *arg;
    long period_ms;
    int stopping;
    int running; /* started; 0 in a zeroed ticker */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Starts t's thread calling fn(arg) every period_ms (> 0); GW_EINTERNAL
 * when no thread could be started. */
gw_rc gw_ticker_start(struct gw_ticker *t, void (*fn)(void *), void *arg,
                      long period_ms) GW_WARN_UNUSED;
/* Wakes the thread and waits for a job in progress to end. Nothing to do
 * for a ticker that is zeroed or did not start, like free(NULL). */
void gw_ticker_stop(struct gw_ticker *t);

#endif
