/*
 * digits.h - numbers and dates written in ASCII digits, as identifiers
 * (klas/ident.c) and FHIR's primitive values (fhir/model.c) read them:
 * the given bytes only (atoi reads on past them) and no locale. Inline:
 * they run for every date a message holds.
 */
#ifndef GW_CORE_DIGITS_H
#define GW_CORE_DIGITS_H

#include <stddef.h>

/* Whether the n bytes at s are all '0'..'9' (a NUL among them is not). */
static inline int
gw_all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The number the n digits at s write (gw_all_digits has checked them). */
static inline int
gw_num_at(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Whether year y of the Gregorian calendar is a leap year. */
static inline int
gw_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The days of month m (1..12) of year y. */
static inline int
gw_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && gw_leap_year(y) ? 29 : days[m - 1];
}

#endif
