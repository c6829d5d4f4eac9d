/*
 * clock.c - settable clock and UTC date arithmetic (see clock.h).
 * The override is an atomic so request threads may read it while a test
 * thread sets it.
 */
#include "core/clock.h"
#include "core/digits.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t fixed_ms = -1;

int64_t
gw_clock_now_ms(void)
{
    struct timespec ts;
    int64_t f = atomic_load(&fixed_ms);

    if (f >= 0)
        return f;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
gw_clock_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
gw_clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gw_clock_set_ms(int64_t ms) { atomic_store(&fixed_ms, ms); }

void
gw_clock_advance_ms(int64_t delta)
{
    gw_clock_set_ms(gw_clock_now_ms() + delta);
}

void gw_clock_reset(void) { atomic_store(&fixed_ms, -1); }

/* v's last n decimal digits at p. */
static void
put_digits(char *p, int v, int n)
{
    while (n-- > 0) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/*
 * Written digit by digit: snprintf's format was ~3.4K instructions of
 * each call, and a submission formats three times (its receipt twice, on
 * the writer thread). Out of the years 0..9999 or before 1970 snprintf
 * writes what it always wrote (a sign, a fifth digit); a short out is cut
 * as snprintf cuts.
 */
void
gw_clock_format(int64_t ms, char *out, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[] = "0000-00-00T00:00:00.000Z";
    size_t n = sizeof(s) - 1;

    gmtime_r(&t, &tm);
    if (ms < 0 || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
        return;
    }
    put_digits(s, tm.tm_year + 1900, 4);
    put_digits(s + 5, tm.tm_mon + 1, 2);
    put_digits(s + 8, tm.tm_mday, 2);
    put_digits(s + 11, tm.tm_hour, 2);
    put_digits(s + 14, tm.tm_min, 2);
    put_digits(s + 17, tm.tm_sec, 2);
    put_digits(s + 20, (int)(ms % 1000), 3);
    if (size == 0)
        return;
    if (n > size - 1)
        n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

gw_rc
gw_clock_parse(const char *s, int64_t *out_ms)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, ms = 0, off = 0;
    const char *p;

    memset(&tm, 0, sizeof(tm));
    if (s == NULL || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 ||
        n != 10)
        return GW_EINVAL;
    p = s + n;
    if (*p == 'T') {
        if (sscanf(p, "T%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 9)
            return GW_EINVAL;
        p += n;
        if (*p == '.') {
            int digits = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 3)
                    ms = ms * 10 + (*p - '0');
            for (; digits < 3; digits++)
                ms *= 10;
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
                return GW_EINVAL;
            off = (*p == '+' ? 1 : -1) * (oh * 60 + om);
            p += 6;
        } else {
            return GW_EINVAL;
        }
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > gw_days_in_month(y, mo) ||
        h > 23 || mi > 59 || sec > 59)
        return GW_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out_ms = ((int64_t)timegm(&tm) - (int64_t)off * 60) * 1000 + ms;
    return GW_OK;
}

int64_t
gw_clock_minus_months(int64_t ms, int months)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    int total;

    gmtime_r(&t, &tm);
    total = tm.tm_year * 12 + tm.tm_mon - months;
    tm.tm_year = total / 12;
    tm.tm_mon = total % 12;
    if (tm.tm_mday > gw_days_in_month(tm.tm_year + 1900, tm.tm_mon + 1))
        tm.tm_mday = gw_days_in_month(tm.tm_year + 1900, tm.tm_mon + 1);
    return (int64_t)timegm(&tm) * 1000 + ms % 1000;
}

long
gw_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
gw_clock_deadline(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}
