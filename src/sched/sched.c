/*
 * sched.c - daily jobs (see sched.h). One thread, woken every tick or to
 * stop; the work itself is gw_sched_tick so tests can drive it with the
 * settable clock instead of waiting.
 */
#include "sched/sched.h"

#include <stdlib.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/ticker.h"
#include "store/purge.h"

struct gw_sched {
    struct gw_store *st;
    struct gw_sched_opts o;
    struct gw_ticker ticker;
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

static void
tick(void *s)
{
    (void)gw_sched_tick(s);
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
    *out = s;
    return GW_OK;
}

gw_rc
gw_sched_start(struct gw_store *st, const struct gw_sched_opts *o,
               struct gw_sched **out)
{
    struct gw_sched *s;
    gw_rc rc = gw_sched_open(st, o, &s);

    if (rc == GW_OK &&
        (rc = gw_ticker_start(&s->ticker, tick, s, s->o.tick_ms)) != GW_OK)
        gw_sched_stop(s);
    *out = rc == GW_OK ? s : NULL;
    return rc;
}

void
gw_sched_stop(struct gw_sched *s)
{
    if (s != NULL)
        gw_ticker_stop(&s->ticker);
    free(s);
}
