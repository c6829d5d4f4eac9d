/*
 * ident.h - Swedish and health-care identifiers, checked without I/O.
 *
 * Every check takes a NUL-terminated string, returns GW_OK or GW_EINVAL and,
 * on failure, fills `err` (may be NULL) with a reason in English that names
 * no value: identifiers can be personal data, so messages never echo them.
 *
 *   personnummer        YYYYMMDDNNNC: a real date, C = Luhn over YYMMDDNNN
 *   samordningsnummer   as personnummer with day + 60 (61..91); C over the
 *                       digits as written
 *   date of birth only  YYYYMMDD, for persons without a full number
 *   GLN                 13 digits, GS1 mod-10 check digit
 *   HSA-id              SE + 10-digit organisation number + '-' + [A-Za-z0-9]+,
 *                       at most 31 characters
 *   NPL id              14 digits
 *   ATC                 A | A01 | A01A | A01AB | A01AB01 (level 1..5)
 *   referensnummer      10 digits: the year, then 6 random digits
 */
#ifndef GW_KLAS_IDENT_H
#define GW_KLAS_IDENT_H

#include <stddef.h>

#include "core/err.h"

enum gw_pnr_kind {
    GW_PNR_PERSONNUMMER = 1,
    GW_PNR_SAMORDNINGSNUMMER,
    GW_PNR_BIRTHDATE_ONLY
};

struct gw_pnr {
    enum gw_pnr_kind kind;
    int year, month, day; /* the date of birth (day without the +60) */
};

/* Whether y-m-d is a date of the Gregorian calendar (years 1800..2999). */
int gw_date_valid(int year, int month, int day);

/*
 * Checks a 12-digit personnummer or samordningsnummer, or an 8-digit date
 * of birth. `allow` is a mask of (1 << kind) bits saying which kinds the
 * caller accepts (GW_PNR_ALLOW_ALL for all three). Fills out on success.
 * Separators ('-', '+') and 10-digit forms are refused: the KLAS formats
 * are 12 or 8 digits without separators.
 */
#define GW_PNR_ALLOW(kind) (1u << (kind))
#define GW_PNR_ALLOW_ALL                                                      \
    (GW_PNR_ALLOW(GW_PNR_PERSONNUMMER) |                                      \
     GW_PNR_ALLOW(GW_PNR_SAMORDNINGSNUMMER) |                                 \
     GW_PNR_ALLOW(GW_PNR_BIRTHDATE_ONLY))
gw_rc gw_pnr_parse(const char *s, unsigned allow, struct gw_pnr *out,
                   struct gw_err *err) GW_WARN_UNUSED;

/* The Luhn check digit over `n` ASCII digits (0..9 result). */
int gw_luhn_digit(const char *digits, size_t n);

/*
 * Age in whole years on the date y-m-d of a person born on the birth date
 * in p. A person born on 29 February becomes a year older on 1 March in
 * years without 29 February (the Swedish practice for legal age). Returns
 * -1 when the date is before the birth.
 */
int gw_pnr_age_on(const struct gw_pnr *p, int year, int month, int day);

/*
 * Finds personnummer-like strings in free text (motivation text should hold
 * no personal data). Recognised: YYYYMMDDNNNN, YYYYMMDD-NNNN, YYMMDD-NNNN,
 * YYMMDD+NNNN and YYMMDDNNNN, not touching other digits, whose date is
 * plausible (days 1..31 or 61..91 for samordningsnummer) and whose check
 * digit is right. Reports at most `max` hits as offset/length pairs and
 * returns how many there were in all. Callers must never log a match.
 */
struct gw_pnr_hit {
    size_t offset, length;
};
size_t gw_pnr_find(const char *text, struct gw_pnr_hit *hits, size_t max);

gw_rc gw_gln_check(const char *s, struct gw_err *err) GW_WARN_UNUSED;
/* The GS1 mod-10 check digit over n digits (the digits before it). */
int gw_gs1_digit(const char *digits, size_t n);
gw_rc gw_hsaid_check(const char *s, struct gw_err *err) GW_WARN_UNUSED;
gw_rc gw_nplid_check(const char *s, struct gw_err *err) GW_WARN_UNUSED;
/* On success *level (may be NULL) is 1..5. */
gw_rc gw_atc_check(const char *s, int *level, struct gw_err *err)
    GW_WARN_UNUSED;

/* Length of a referensnummer, without the NUL. */
#define GW_REFNR_LEN 10
gw_rc gw_refnr_check(const char *s, struct gw_err *err) GW_WARN_UNUSED;
/*
 * Writes a new referensnummer for `year` into out (GW_REFNR_LEN + 1 bytes):
 * the year, then 6 digits drawn from `random` (production passes
 * gw_random_bytes), by rejection sampling so every value is equally likely.
 * Nothing in it derives from the case. Uniqueness is the store's: its
 * UNIQUE column refuses a repeat and it draws again.
 */
typedef gw_rc (*gw_random_fn)(void *buf, size_t n);
gw_rc gw_refnr_generate(int year, gw_random_fn random, char *out)
    GW_WARN_UNUSED;
/* A new referensnummer for this UTC year (the clock's), from
 * gw_random_bytes: what a new case gets. */
gw_rc gw_refnr_new(char *out) GW_WARN_UNUSED;

#endif
