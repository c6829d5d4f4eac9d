/*
 * ticker.c - a job every period on a thread of its own (see ticker.h).
 */
#include "core/ticker.h"

#include "core/clock.h"
#include "core/thread.h"

static void *
run(void *arg)
{
    struct gw_ticker *t = arg;

    pthread_mutex_lock(&t->mu);
    while (!t->stopping) {
        struct timespec ts;
        pthread_mutex_unlock(&t->mu);
        t->fn(t->arg);
        pthread_mutex_lock(&t->mu);
        gw_clock_deadline(&ts, t->period_ms);
        if (!t->stopping)
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

gw_rc
gw_ticker_start(struct gw_ticker *t, void (*fn)(void *), void *arg,
                long period_ms)
{
    t->fn = fn;
    t->arg = arg;
    t->period_ms = period_ms;
    t->stopping = 0;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->running = pthread_create(&t->thread, NULL, run, t) == 0;
    if (t->running)
        return GW_OK;
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    return GW_EINTERNAL;
}

void
gw_ticker_stop(struct gw_ticker *t)
{
    if (!t->running)
        return;
    t->running = 0;
    gw_thread_stop(t->thread, &t->mu, &t->cv, &t->stopping);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
}
