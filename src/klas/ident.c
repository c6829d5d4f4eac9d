/*
 * ident.c - identifier checks (see ident.h).
 *
 * Pure functions over ASCII; nothing here allocates or does I/O. Error
 * details never quote the value checked, since a personnummer is personal
 * data and details reach logs and pharmacy-facing answers.
 */
#include "klas/ident.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/digits.h"
#include "core/random.h"

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int
gw_date_valid(int year, int month, int day)
{
    return year >= 1800 && year <= 2999 && month >= 1 && month <= 12 &&
           day >= 1 && day <= gw_days_in_month(year, month);
}

int
gw_luhn_digit(const char *digits, size_t n)
{
    int sum = 0;

    /* Weights 2,1,2,1,... from the first digit; digits of products add. */
    for (size_t i = 0; i < n; i++) {
        int d = (digits[i] - '0') * (i % 2 == 0 ? 2 : 1);
        sum += d > 9 ? d - 9 : d;
    }
    return (10 - sum % 10) % 10;
}

gw_rc
gw_pnr_parse(const char *s, unsigned allow, struct gw_pnr *out,
             struct gw_err *err)
{
    const char *what = "personnummer";
    struct gw_pnr p;
    size_t n;

    if (s == NULL || *s == '\0')
        return gw_err_set(err, GW_EINVAL, NULL, "%s is missing", what);
    n = strlen(s);
    if ((n != 12 && n != 8) || !gw_all_digits(s, n))
        return gw_err_set(err, GW_EINVAL, NULL,
                          "%s must be 12 digits YYYYMMDDNNNN (or a date of "
                          "birth YYYYMMDD), without separators",
                          what);
    memset(&p, 0, sizeof(p));
    p.year = gw_num_at(s, 4);
    p.month = gw_num_at(s + 4, 2);
    p.day = gw_num_at(s + 6, 2);
    if (n == 8) {
        if (!(allow & GW_PNR_ALLOW(GW_PNR_BIRTHDATE_ONLY)))
            return gw_err_set(err, GW_EINVAL, NULL,
                              "a full personnummer is required here, not a "
                              "date of birth");
        if (!gw_date_valid(p.year, p.month, p.day))
            return gw_err_set(err, GW_EINVAL, NULL,
                              "date of birth is not a calendar date");
        p.kind = GW_PNR_BIRTHDATE_ONLY;
    } else {
        p.kind = GW_PNR_PERSONNUMMER;
        if (p.day > 60) {
            p.kind = GW_PNR_SAMORDNINGSNUMMER;
            p.day -= 60;
            what = "samordningsnummer";
        }
        if (!(allow & GW_PNR_ALLOW(p.kind)))
            return gw_err_set(err, GW_EINVAL, NULL, "a %s is not accepted here",
                              what);
        if (!gw_date_valid(p.year, p.month, p.day))
            return gw_err_set(err, GW_EINVAL, NULL,
                              "%s does not begin with a calendar date", what);
        if (gw_luhn_digit(s + 2, 9) != s[11] - '0')
            return gw_err_set(err, GW_EINVAL, NULL, "%s has a wrong check digit",
                              what);
    }
    if (out != NULL)
        *out = p;
    return GW_OK;
}

int
gw_pnr_age_on(const struct gw_pnr *p, int year, int month, int day)
{
    int age = year - p->year;
    int bm = p->month, bd = p->day;

    /* Born 29 Feb: in common years the birthday counts from 1 March. */
    if (bm == 2 && bd == 29 && !gw_leap_year(year)) {
        bm = 3;
        bd = 1;
    }
    if (month < bm || (month == bm && day < bd))
        age--;
    return age < 0 ? -1 : age;
}

/* A plausible date for the finder: valid in the 1900s or the 2000s when
 * the century is not written; samordningsnummer days count. */
static int
plausible(int year, int century_known, int month, int day)
{
    if (day > 60)
        day -= 60;
    if (century_known)
        return gw_date_valid(year, month, day);
    return gw_date_valid(1900 + year, month, day) ||
           gw_date_valid(2000 + year, month, day);
}

/* Checks the 10 significant digits (YYMMDDNNNC) gathered in d. */
static int
luhn_ok(const char d[10])
{
    return gw_luhn_digit(d, 9) == d[9] - '0';
}

static size_t
run_length(const char *s)
{
    size_t n = 0;

    while (is_digit(s[n]))
        n++;
    return n;
}

size_t
gw_pnr_find(const char *text, struct gw_pnr_hit *hits, size_t max)
{
    size_t found = 0, i = 0;

    if (text == NULL)
        return 0;
    while (text[i] != '\0') {
        size_t len, tail, total = 0;
        char d[10];
        int ok = 0;

        if (!is_digit(text[i]) || (i > 0 && is_digit(text[i - 1]))) {
            i++;
            continue;
        }
        len = run_length(text + i);
        if (len == 12) {
            memcpy(d, text + i + 2, 10);
            ok =
                plausible(gw_num_at(text + i, 4), 1, gw_num_at(text + i + 4, 2),
                          gw_num_at(text + i + 6, 2));
            total = 12;
        } else if (len == 10) {
            memcpy(d, text + i, 10);
            ok =
                plausible(gw_num_at(text + i, 2), 0, gw_num_at(text + i + 2, 2),
                          gw_num_at(text + i + 4, 2));
            total = 10;
        } else if ((len == 8 || len == 6) &&
                   (text[i + len] == '-' ||
                    (len == 6 && text[i + len] == '+')) &&
                   (tail = run_length(text + i + len + 1)) == 4) {
            memcpy(d, text + i + len - 6, 6);
            memcpy(d + 6, text + i + len + 1, 4);
            ok = len == 8 ? plausible(gw_num_at(text + i, 4), 1,
                                      gw_num_at(text + i + 4, 2),
                                      gw_num_at(text + i + 6, 2))
                          : plausible(gw_num_at(text + i, 2), 0,
                                      gw_num_at(text + i + 2, 2),
                                      gw_num_at(text + i + 4, 2));
            total = len + 5;
        }
        if (ok && luhn_ok(d)) {
            if (found < max) {
                hits[found].offset = i;
                hits[found].length = total;
            }
            found++;
            i += total;
        } else {
            i += len;
        }
    }
    return found;
}

int
gw_gs1_digit(const char *digits, size_t n)
{
    int sum = 0;

    /* From the right: weight 3 on the digit next to the check digit. */
    for (size_t k = 0; k < n; k++)
        sum += (digits[n - 1 - k] - '0') * (k % 2 == 0 ? 3 : 1);
    return (10 - sum % 10) % 10;
}

gw_rc
gw_gln_check(const char *s, struct gw_err *err)
{
    if (s == NULL || strlen(s) != 13 || !gw_all_digits(s, 13))
        return gw_err_set(err, GW_EINVAL, NULL, "GLN must be 13 digits");
    if (gw_gs1_digit(s, 12) != s[12] - '0')
        return gw_err_set(err, GW_EINVAL, NULL, "GLN has a wrong check digit");
    return GW_OK;
}

gw_rc
gw_hsaid_check(const char *s, struct gw_err *err)
{
    size_t n, digits, i;

    if (s == NULL)
        return gw_err_set(err, GW_EINVAL, NULL, "HSA-id is missing");
    n = strlen(s);
    if (n > 31)
        return gw_err_set(err, GW_EINVAL, NULL,
                          "HSA-id is longer than 31 characters");
    if (n < 2 || s[0] != 'S' || s[1] != 'E')
        return gw_err_set(err, GW_EINVAL, NULL, "HSA-id must begin with SE");
    /* The organisation number: 10 digits, or 12 with the legal-entity
     * prefix 16 that some issuers write. */
    digits = run_length(s + 2);
    if (!(digits == 10 || (digits == 12 && s[2] == '1' && s[3] == '6')))
        return gw_err_set(err, GW_EINVAL, NULL,
                          "HSA-id must have a 10-digit organisation number "
                          "after SE");
    i = 2 + digits;
    if (s[i] != '-' || s[i + 1] == '\0')
        return gw_err_set(err, GW_EINVAL, NULL,
                          "HSA-id must continue with '-' and a local part");
    for (i++; s[i] != '\0'; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              is_digit(s[i])))
            return gw_err_set(err, GW_EINVAL, NULL,
                              "HSA-id local part may hold only letters and "
                              "digits");
    return GW_OK;
}

gw_rc
gw_nplid_check(const char *s, struct gw_err *err)
{
    if (s == NULL || strlen(s) != 14 || !gw_all_digits(s, 14))
        return gw_err_set(err, GW_EINVAL, NULL, "NPL id must be 14 digits");
    return GW_OK;
}

gw_rc
gw_atc_check(const char *s, int *level, struct gw_err *err)
{
    /* Lengths of the five levels and the shape of each added part. */
    static const char *const groups = "ABCDGHJLMNPRSV";
    size_t n;
    int lvl;

    if (s == NULL)
        return gw_err_set(err, GW_EINVAL, NULL, "ATC code is missing");
    n = strlen(s);
    switch (n) {
    case 1: lvl = 1; break;
    case 3: lvl = 2; break;
    case 4: lvl = 3; break;
    case 5: lvl = 4; break;
    case 7: lvl = 5; break;
    default:
        return gw_err_set(err, GW_EINVAL, NULL,
                          "ATC code must have 1, 3, 4, 5 or 7 characters");
    }
    if (strchr(groups, s[0]) == NULL || s[0] == '\0')
        return gw_err_set(err, GW_EINVAL, NULL,
                          "ATC code must begin with an anatomical main group "
                          "(A B C D G H J L M N P R S V)");
    if ((lvl >= 2 && !gw_all_digits(s + 1, 2)) ||
        (lvl >= 3 && !(s[3] >= 'A' && s[3] <= 'Z')) ||
        (lvl >= 4 && !(s[4] >= 'A' && s[4] <= 'Z')) ||
        (lvl == 5 && !gw_all_digits(s + 5, 2)))
        return gw_err_set(err, GW_EINVAL, NULL,
                          "ATC code must look like A01AB01 (letter, two "
                          "digits, two letters, two digits)");
    if (level != NULL)
        *level = lvl;
    return GW_OK;
}

gw_rc
gw_refnr_check(const char *s, struct gw_err *err)
{
    if (s == NULL || strlen(s) != GW_REFNR_LEN ||
        !gw_all_digits(s, GW_REFNR_LEN))
        return gw_err_set(err, GW_EINVAL, NULL,
                          "referensnummer must be 10 digits");
    if (gw_num_at(s, 4) < 2000)
        return gw_err_set(err, GW_EINVAL, NULL,
                          "referensnummer must begin with a year");
    return GW_OK;
}

gw_rc
gw_refnr_generate(int year, gw_random_fn random, char *out)
{
    /* 4294000000 is the largest multiple of 10^6 below 2^32: draws above
     * it are thrown away so that no suffix is likelier than another. */
    const uint32_t limit = 4294000000u;
    uint32_t r;
    gw_rc rc;

    if (year < 2000 || year > 9999 || random == NULL)
        return GW_EINVAL;
    do {
        rc = random(&r, sizeof(r));
        if (rc != GW_OK)
            return rc;
    } while (r >= limit);
    snprintf(out, GW_REFNR_LEN + 1, "%04d%06u", year, (unsigned)(r % 1000000u));
    return GW_OK;
}

gw_rc
gw_refnr_new(char *out)
{
    time_t t = (time_t)(gw_clock_now_ms() / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    return gw_refnr_generate(tm.tm_year + 1900, gw_random_bytes, out);
}
