/*
 * wstate.c - the state both backends keep under their one lock
 * (wstate.h).
 */
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "store/wstate.h"

void
gw_wstate_init(struct gw_wstate *ws, int batch_max)
{
    memset(ws, 0, sizeof(*ws));
    pthread_mutex_init(&ws->mu, NULL);
    gw_wq_init(&ws->wq, &ws->mu, &ws->stopping, &ws->writer_running, batch_max);
    pthread_cond_init(&ws->outbox_cv, NULL);
}

void
gw_wstate_stop(struct gw_wstate *ws)
{
    pthread_mutex_lock(&ws->mu);
    ws->stopping = 1;
    gw_wq_wake_all(&ws->wq);
    pthread_cond_broadcast(&ws->outbox_cv);
    /* The last waiter to leave wakes us (gw_wstate_outbox_wait). */
    while (ws->outbox_waiters > 0)
        pthread_cond_wait(&ws->outbox_cv, &ws->mu);
    pthread_mutex_unlock(&ws->mu);
}

void
gw_wstate_destroy(struct gw_wstate *ws)
{
    gw_wq_destroy(&ws->wq);
    pthread_cond_destroy(&ws->outbox_cv);
    pthread_mutex_destroy(&ws->mu);
}

gw_rc
gw_wstate_outbox_wait(struct gw_wstate *ws, long long *seen, int64_t timeout_ms)
{
    struct timespec ts;
    gw_rc rc = GW_OK;

    gw_clock_deadline(&ts, (long)timeout_ms);
    pthread_mutex_lock(&ws->mu);
    ws->outbox_waiters++;
    while (ws->outbox_generation == *seen && rc == GW_OK)
        if (ws->stopping)
            rc = GW_EUNAVAILABLE;
        else if (pthread_cond_timedwait(&ws->outbox_cv, &ws->mu, &ts) != 0)
            rc = GW_ETIMEOUT;
    *seen = ws->outbox_generation;
    if (--ws->outbox_waiters == 0 && ws->stopping)
        pthread_cond_broadcast(&ws->outbox_cv);
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

void
gw_wstate_outbox_bump_locked(struct gw_wstate *ws)
{
    ws->outbox_generation++;
    pthread_cond_broadcast(&ws->outbox_cv);
}

void
gw_wstate_outbox_bump(struct gw_wstate *ws)
{
    pthread_mutex_lock(&ws->mu);
    gw_wstate_outbox_bump_locked(ws);
    pthread_mutex_unlock(&ws->mu);
}

void
gw_wstate_stats(struct gw_wstate *ws, struct gw_store_stats *out)
{
    pthread_mutex_lock(&ws->mu);
    *out = ws->stats;
    pthread_mutex_unlock(&ws->mu);
}
