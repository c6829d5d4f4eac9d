/*
 * clock.h - the gateway's idea of "now", which tests can set.
 *
 * Everything that depends on the date (retention, outbox backoff, audit
 * timestamps, HSA cache expiry) asks gw_clock_now_ms() rather than the
 * system, so a test can freeze time or jump it months ahead.
 */
#ifndef GW_CORE_CLOCK_H
#define GW_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "core/err.h"

/* Milliseconds since the Unix epoch, UTC. */
int64_t gw_clock_now_ms(void);
/* Milliseconds of CLOCK_MONOTONIC, for intervals: neither frozen by tests
 * nor moved when the system's time is set. */
int64_t gw_clock_mono_ms(void);
/* The same in microseconds. */
int64_t gw_clock_mono_us(void);
/* Freezes the clock at ms (tests). */
void gw_clock_set_ms(int64_t ms);
/* Moves a frozen clock forward (or a real one: then it freezes there). */
void gw_clock_advance_ms(int64_t delta);
/* Back to the system clock. */
void gw_clock_reset(void);

/* Formats ms as "2026-01-15T16:34:00.000Z" (out: at least 25 bytes). */
void gw_clock_format(int64_t ms, char *out, size_t size);
/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" or with fractions / an
 * offset like +01:00. GW_EINVAL when it is none of these. */
gw_rc gw_clock_parse(const char *s, int64_t *out_ms) GW_WARN_UNUSED;
/* The same instant `months` calendar months earlier (day clamped to the
 * month's last day: 31 March minus one month is 28/29 February). */
int64_t gw_clock_minus_months(int64_t ms, int months);

/* The system's real time (CLOCK_REALTIME, not the settable clock) ms
 * milliseconds from now, as pthread_cond_timedwait takes a deadline. */
void gw_clock_deadline(struct timespec *ts, long ms);

/* Days from 1970-01-01 to the civil (proleptic Gregorian) date y-m-d,
 * negative before it (Howard Hinnant's days_from_civil). */
long gw_days_from_civil(int y, int m, int d);

#endif
