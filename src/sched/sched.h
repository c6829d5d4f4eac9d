/*
 * sched.h - the scheduler thread of `klasgw serve`: runs the retention
 * purge once a day at retention.purge_hour_utc (and at start if the day's
 * run was missed), using the settable clock.
 */
#ifndef GW_SCHED_SCHED_H
#define GW_SCHED_SCHED_H

#include "core/err.h"

struct gw_store;
struct gw_sched;

struct gw_sched_opts {
    int motivation_months, decided_months, purge_hour_utc;
    int tick_ms; /* how often the clock is looked at (default 30000) */
};

gw_rc gw_sched_start(struct gw_store *st, const struct gw_sched_opts *o,
                     struct gw_sched **out) GW_WARN_UNUSED;
/* The same scheduler without its thread: only gw_sched_tick runs the
 * work (tests drive it with the settable clock; a thread ticking beside
 * them would run the day's purge at whatever time it first woke). */
gw_rc gw_sched_open(struct gw_store *st, const struct gw_sched_opts *o,
                    struct gw_sched **out) GW_WARN_UNUSED;
void gw_sched_stop(struct gw_sched *s);
/* Runs the due work once now (tests): purges when the hour has come and
 * today's purge has not run. Returns 1 when a purge ran. */
int gw_sched_tick(struct gw_sched *s);

#endif
