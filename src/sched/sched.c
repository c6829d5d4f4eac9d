/*
 * sched.c - daily jobs (see sched.h). One thread, woken every tick or to
 * stop; the work itself is gw_sched_tick so tests can drive it with the
 * settable clock instead of waiting.
 */
#include "sched/sched.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/purge.h"

struct gw_sched {
    struct gw_store *st;
    struct gw_sched_opts o;
    pthread_t thread;
    int running, stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long last_purge_day; /* days since the epoch of the last purge */
};

int
gw_sched_tick(struct gw_sched *s)
{
    int64_t now = gw_clock_now_ms();
    long day = (long)(now / 86400000);
    int hour = (int)((now / 3600000) % 24);
    struct gw_purge_counts counts;
    gw_rc rc;

    if (day == s->last_purge_day || hour < s->o.purge_hour_utc)
        return 0;
    rc = gw_store_purge(s->st, now, s->o.motivation_months,
                        s->o.decided_months, GW_PURGE_DAILY, &counts);
    if (rc != GW_OK) {
        gw_log_err_rc(rc, "event=scheduled_purge_failed");
        return 0; /* tried again next tick */
    }
    s->last_purge_day = day;
    return 1;
}

static void *
run(void *arg)
{
    struct gw_sched *s = arg;

    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        struct timespec ts;
        pthread_mutex_unlock(&s->mu);
        gw_sched_tick(s);
        pthread_mutex_lock(&s->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += s->o.tick_ms / 1000;
        ts.tv_nsec += (long)(s->o.tick_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!s->stopping)
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

gw_rc
gw_sched_open(struct gw_store *st, const struct gw_sched_opts *o,
              struct gw_sched **out)
{
    struct gw_sched *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL)
        return GW_ENOMEM;
    s->st = st;
    s->o = *o;
    if (s->o.tick_ms <= 0)
        s->o.tick_ms = 30000;
    s->last_purge_day = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    *out = s;
    return GW_OK;
}

gw_rc
gw_sched_start(struct gw_store *st, const struct gw_sched_opts *o,
               struct gw_sched **out)
{
    struct gw_sched *s;
    gw_rc rc = gw_sched_open(st, o, &s);

    *out = NULL;
    if (rc != GW_OK)
        return rc;
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        gw_sched_stop(s);
        return GW_EINTERNAL;
    }
    s->running = 1;
    *out = s;
    return GW_OK;
}

void
gw_sched_stop(struct gw_sched *s)
{
    if (s == NULL)
        return;
    if (s->running) {
        pthread_mutex_lock(&s->mu);
        s->stopping = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
