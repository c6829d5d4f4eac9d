/*
 * test_ident.c - identifiers: personnummer, samordningsnummer, date of
 * birth, age, the free-text finder, GLN, HSA-id, NPL id, ATC and the
 * referensnummer. Every valid number here is synthetic; their check digits
 * were computed outside this code base (Python) so the tests do not share
 * the implementation's arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "klas/ident.h"

struct pnr_case {
    const char *name, *in;
    unsigned allow;
    gw_rc rc;
    enum gw_pnr_kind kind;
    int y, m, d;
    const char *detail; /* substring of the error detail */
};

#define ALL GW_PNR_ALLOW_ALL
#define FULL (GW_PNR_ALLOW(GW_PNR_PERSONNUMMER) | GW_PNR_ALLOW(GW_PNR_SAMORDNINGSNUMMER))

static const struct pnr_case pnr_cases[] = {
    {"test number", "191212121212", ALL, GW_OK, GW_PNR_PERSONNUMMER, 1912, 12, 12, NULL},
    {"leap day 2000", "200002292381", ALL, GW_OK, GW_PNR_PERSONNUMMER, 2000, 2, 29, NULL},
    {"leap day 2024", "202402291237", ALL, GW_OK, GW_PNR_PERSONNUMMER, 2024, 2, 29, NULL},
    {"leap day 1996", "199602292220", ALL, GW_OK, GW_PNR_PERSONNUMMER, 1996, 2, 29, NULL},
    {"last day of 1899", "189912319879", ALL, GW_OK, GW_PNR_PERSONNUMMER, 1899, 12, 31, NULL},
    {"first day of 1900", "190001011238", ALL, GW_OK, GW_PNR_PERSONNUMMER, 1900, 1, 1, NULL},
    {"first day of 2000", "200001015551", ALL, GW_OK, GW_PNR_PERSONNUMMER, 2000, 1, 1, NULL},
    {"samordningsnummer day 72", "191212721219", ALL, GW_OK, GW_PNR_SAMORDNINGSNUMMER, 1912, 12, 12, NULL},
    {"samordningsnummer day 61", "199001614560", ALL, GW_OK, GW_PNR_SAMORDNINGSNUMMER, 1990, 1, 1, NULL},
    {"samordningsnummer day 91", "199001914564", ALL, GW_OK, GW_PNR_SAMORDNINGSNUMMER, 1990, 1, 31, NULL},
    {"date of birth only", "20100630", ALL, GW_OK, GW_PNR_BIRTHDATE_ONLY, 2010, 6, 30, NULL},
    {"date of birth leap day", "20000229", ALL, GW_OK, GW_PNR_BIRTHDATE_ONLY, 2000, 2, 29, NULL},
    {"1900 was no leap year", "19000229", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
    {"2023 was no leap year", "202302291234", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
    {"month 00", "199000011234", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
    {"month 13", "199013011234", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
    {"day 00", "199001001234", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
    {"day 32", "199001321234", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
    {"day 31 in April", "199004311234", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
    {"day 60 is neither", "199001601234", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
    {"samordning day 92", "199001921234", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
    {"samordning 31 Feb", "199002911234", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
    {"ten digits", "1212121212", ALL, GW_EINVAL, 0, 0, 0, 0, "12 digits"},
    {"separator", "19121212-1212", ALL, GW_EINVAL, 0, 0, 0, 0, "12 digits"},
    {"plus separator", "121212+1212", ALL, GW_EINVAL, 0, 0, 0, 0, "12 digits"},
    {"thirteen digits", "1912121212120", ALL, GW_EINVAL, 0, 0, 0, 0, "12 digits"},
    {"letters", "19121212121X", ALL, GW_EINVAL, 0, 0, 0, 0, "12 digits"},
    {"space", " 191212121212", ALL, GW_EINVAL, 0, 0, 0, 0, "12 digits"},
    {"empty", "", ALL, GW_EINVAL, 0, 0, 0, 0, "missing"},
    {"null", NULL, ALL, GW_EINVAL, 0, 0, 0, 0, "missing"},
    {"birth date where a full number is required", "20100630", FULL, GW_EINVAL, 0, 0, 0, 0, "full personnummer"},
    {"samordningsnummer where only personnummer", "191212721219", GW_PNR_ALLOW(GW_PNR_PERSONNUMMER), GW_EINVAL, 0, 0, 0, 0, "not accepted"},
    {"year before 1800", "179912319871", ALL, GW_EINVAL, 0, 0, 0, 0, "calendar date"},
};

static void
test_pnr_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(pnr_cases) / sizeof(pnr_cases[0]); i++) {
        const struct pnr_case *c = &pnr_cases[i];
        struct gw_pnr p;
        struct gw_err err;
        gw_rc rc;

        memset(&p, 0, sizeof(p));
        gw_err_clear(&err);
        rc = gw_pnr_parse(c->in, c->allow, &p, &err);
        if (rc != c->rc)
            fail_msg("case '%s': rc %s, expected %s (%s)", c->name,
                     gw_rc_name(rc), gw_rc_name(c->rc), err.detail);
        if (rc == GW_OK) {
            if (p.kind != c->kind || p.year != c->y || p.month != c->m ||
                p.day != c->d)
                fail_msg("case '%s': parsed %d %04d-%02d-%02d", c->name,
                         p.kind, p.year, p.month, p.day);
        } else if (strstr(err.detail, c->detail) == NULL) {
            fail_msg("case '%s': detail '%s' lacks '%s'", c->name, err.detail,
                     c->detail);
        }
        /* Error details never quote the number itself. */
        if (c->in != NULL && strlen(c->in) >= 8 &&
            strstr(err.detail, c->in) != NULL)
            fail_msg("case '%s': detail quotes the number", c->name);
    }
}

/* For each valid 12-digit number, all nine other check digits fail. */
static void
test_pnr_rejects_every_wrong_check_digit(void **state)
{
    static const char *const valid[] = {
        "191212121212", "200002292381", "202402291237", "191212721219",
        "199001614560", "199001914564", "189912319879", "190001011238",
        "200001015551", "198610012349", "201101012340", "201006301111",
        "199602282221",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        char s[13];
        int wrong = 0;
        struct gw_err err;
        assert_int_equal(gw_pnr_parse(valid[i], GW_PNR_ALLOW_ALL, NULL, NULL),
                         GW_OK);
        for (char d = '0'; d <= '9'; d++) {
            memcpy(s, valid[i], 13);
            if (s[11] == d)
                continue;
            s[11] = d;
            gw_err_clear(&err);
            if (gw_pnr_parse(s, GW_PNR_ALLOW_ALL, NULL, &err) != GW_EINVAL ||
                strstr(err.detail, "check digit") == NULL)
                fail_msg("%s with check digit %c was accepted", valid[i], d);
            wrong++;
        }
        assert_int_equal(wrong, 9);
    }
}

static void
test_pnr_age_on_dates(void **state)
{
    static const struct {
        const char *name, *pnr;
        int y, m, d, age;
    } cases[] = {
        {"day before 16th birthday", "201006301111", 2026, 6, 29, 15},
        {"on 16th birthday", "201006301111", 2026, 6, 30, 16},
        {"year-end", "201006301111", 2026, 12, 31, 16},
        {"born leap day, common year 28 Feb", "200002292381", 2017, 2, 28, 16},
        {"born leap day, common year 1 Mar", "200002292381", 2017, 3, 1, 17},
        {"born leap day, leap year 29 Feb", "200002292381", 2016, 2, 29, 16},
        {"before birth", "201006301111", 2009, 1, 1, -1},
        {"birth day", "201006301111", 2010, 6, 30, 0},
        {"samordningsnummer uses the real day", "191212721219", 1922, 12, 12, 10},
        {"date of birth only", "20100630", 2026, 6, 29, 15},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_pnr p;
        int age;
        assert_int_equal(gw_pnr_parse(cases[i].pnr, GW_PNR_ALLOW_ALL, &p, NULL),
                         GW_OK);
        age = gw_pnr_age_on(&p, cases[i].y, cases[i].m, cases[i].d);
        if (age != cases[i].age)
            fail_msg("case '%s': age %d, expected %d", cases[i].name, age,
                     cases[i].age);
    }
}

static void
test_pnr_finder_hits_and_misses(void **state)
{
    static const struct {
        const char *name, *text;
        size_t count, off0, len0;
    } cases[] = {
        {"twelve digits", "Patienten 191212121212 har provat", 1, 10, 12},
        {"long form with dash", "pnr 19121212-1212.", 1, 4, 13},
        {"short form with dash", "(121212-1212)", 1, 1, 11},
        {"short form with plus", "121212+1212", 1, 0, 11},
        {"ten digits", "x1212121212x", 1, 1, 10},
        {"samordningsnummer", "191212721219", 1, 0, 12},
        {"two numbers", "191212121212 och 199001614560", 2, 0, 12},
        {"wrong check digit", "Patienten 191212121213", 0, 0, 0},
        {"phone number", "Ring 070-123 45 67 eller 08-1234567", 0, 0, 0},
        {"date", "Insatt 2024-01-15, dos 20 mg", 0, 0, 0},
        {"NPL id", "NPL 20130603015935", 0, 0, 0},
        {"amount", "Totalmängd 1200000 mg", 0, 0, 0},
        {"digits inside a longer run", "1191212121212", 0, 0, 0},
        {"impossible date", "199013321234", 0, 0, 0},
        {"empty", "", 0, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_pnr_hit hits[4];
        size_t n = gw_pnr_find(cases[i].text, hits, 4);
        if (n != cases[i].count)
            fail_msg("case '%s': %zu hits, expected %zu", cases[i].name, n,
                     cases[i].count);
        if (n > 0 && (hits[0].offset != cases[i].off0 ||
                      hits[0].length != cases[i].len0))
            fail_msg("case '%s': hit at %zu+%zu", cases[i].name,
                     hits[0].offset, hits[0].length);
    }
    /* More hits than room: counted, not written past the array. */
    struct gw_pnr_hit one[1];
    assert_int_equal(gw_pnr_find("191212121212 191212121212 191212121212",
                                 one, 1), 3);
    assert_int_equal(gw_pnr_find(NULL, one, 1), 0);
}

static void
test_gln_check(void **state)
{
    static const struct {
        const char *name, *in;
        gw_rc rc;
    } cases[] = {
        {"valid", "7350000000016", GW_OK},
        {"valid nines", "7359999999998", GW_OK},
        {"valid other", "7312345678909", GW_OK},
        {"valid zeros", "0000000000000", GW_OK},
        {"wrong check digit", "7350000000017", GW_EINVAL},
        {"twelve digits", "735000000001", GW_EINVAL},
        {"fourteen digits", "73500000000160", GW_EINVAL},
        {"letter", "735000000001A", GW_EINVAL},
        {"null", NULL, GW_EINVAL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (gw_gln_check(cases[i].in, NULL) != cases[i].rc)
            fail_msg("case '%s'", cases[i].name);
    /* Every wrong check digit of a valid GLN fails. */
    char s[14] = "7312345678909";
    for (char d = '0'; d <= '9'; d++) {
        s[12] = d;
        assert_int_equal(gw_gln_check(s, NULL), d == '9' ? GW_OK : GW_EINVAL);
    }
}

static void
test_hsaid_check(void **state)
{
    static const struct {
        const char *name, *in;
        gw_rc rc;
    } cases[] = {
        {"care unit", "SE2321000016-15CQ", GW_OK},
        {"person", "SE2321000016-A1B2", GW_OK},
        {"legal-entity prefix 16", "SE162321000255-O12345", GW_OK},
        {"exactly 31 characters", "SE2321000016-ABCDEFGHIJKLMNOPQR", GW_OK},
        {"32 characters", "SE2321000016-ABCDEFGHIJKLMNOPQRS", GW_EINVAL},
        {"lower-case prefix", "se2321000016-15CQ", GW_EINVAL},
        {"no dash", "SE232100001615CQ", GW_EINVAL},
        {"empty local part", "SE2321000016-", GW_EINVAL},
        {"nine digits", "SE232100001-15CQ", GW_EINVAL},
        {"eleven digits", "SE23210000161-15CQ", GW_EINVAL},
        {"twelve digits not 16", "SE992321000016-1", GW_EINVAL},
        {"punctuation in local part", "SE2321000016-15.CQ", GW_EINVAL},
        {"space", "SE2321000016-15 CQ", GW_EINVAL},
        {"null", NULL, GW_EINVAL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (gw_hsaid_check(cases[i].in, NULL) != cases[i].rc)
            fail_msg("case '%s'", cases[i].name);
}

static void
test_nplid_and_atc_checks(void **state)
{
    static const struct {
        const char *name, *in;
        gw_rc rc;
    } npl[] = {
        {"valid", "20130603015935", GW_OK},
        {"13 digits", "2013060301593", GW_EINVAL},
        {"15 digits", "201306030159350", GW_EINVAL},
        {"letter", "2013060301593X", GW_EINVAL},
        {"null", NULL, GW_EINVAL},
    };
    static const struct {
        const char *name, *in;
        gw_rc rc;
        int level;
    } atc[] = {
        {"level 1", "R", GW_OK, 1},
        {"level 2", "R06", GW_OK, 2},
        {"level 3", "R06A", GW_OK, 3},
        {"level 4", "R06AX", GW_OK, 4},
        {"level 5", "R06AX17", GW_OK, 5},
        {"level 5 other group", "L01XE01", GW_OK, 5},
        {"six characters", "R06AX1", GW_EINVAL, 0},
        {"lower case", "r06ax17", GW_EINVAL, 0},
        {"not a main group", "E06AX17", GW_EINVAL, 0},
        {"letters where digits", "RA6AX17", GW_EINVAL, 0},
        {"digit where letter", "R061X17", GW_EINVAL, 0},
        {"eight characters", "R06AX171", GW_EINVAL, 0},
        {"empty", "", GW_EINVAL, 0},
        {"null", NULL, GW_EINVAL, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(npl) / sizeof(npl[0]); i++)
        if (gw_nplid_check(npl[i].in, NULL) != npl[i].rc)
            fail_msg("npl case '%s'", npl[i].name);
    for (size_t i = 0; i < sizeof(atc) / sizeof(atc[0]); i++) {
        int level = 0;
        if (gw_atc_check(atc[i].in, &level, NULL) != atc[i].rc ||
            (atc[i].rc == GW_OK && level != atc[i].level))
            fail_msg("atc case '%s' (level %d)", atc[i].name, level);
    }
}

/* A random source that replays fixed words, to test rejection sampling. */
static const uint32_t *replay;
static size_t replay_left;

static gw_rc
replay_random(void *buf, size_t n)
{
    if (n != sizeof(uint32_t) || replay_left == 0)
        return GW_EIO;
    memcpy(buf, replay, n);
    replay++;
    replay_left--;
    return GW_OK;
}

static void
test_refnr_check_and_generate(void **state)
{
    static const uint32_t words[] = {4294967295u, 4294000000u, 658327u};
    char out[GW_REFNR_LEN + 1];
    (void)state;

    assert_int_equal(gw_refnr_check("2026658327", NULL), GW_OK);
    assert_int_equal(gw_refnr_check("202665832", NULL), GW_EINVAL);
    assert_int_equal(gw_refnr_check("20266583270", NULL), GW_EINVAL);
    assert_int_equal(gw_refnr_check("2026-58327", NULL), GW_EINVAL);
    assert_int_equal(gw_refnr_check("1999658327", NULL), GW_EINVAL);
    assert_int_equal(gw_refnr_check(NULL, NULL), GW_EINVAL);

    /* Draws at or above the largest multiple of 10^6 are thrown away. */
    replay = words;
    replay_left = 3;
    assert_int_equal(gw_refnr_generate(2026, replay_random, out), GW_OK);
    assert_string_equal(out, "2026658327");
    assert_int_equal(replay_left, 0);
    /* A failing source fails the draw. */
    replay_left = 0;
    assert_int_equal(gw_refnr_generate(2026, replay_random, out), GW_EIO);
    assert_int_equal(gw_refnr_generate(1999, gw_random_bytes, out), GW_EINVAL);

    /* Real draws: valid, of the year, and not all alike. */
    char first[GW_REFNR_LEN + 1];
    int differ = 0;
    assert_int_equal(gw_refnr_generate(2026, gw_random_bytes, first), GW_OK);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(gw_refnr_generate(2026, gw_random_bytes, out), GW_OK);
        assert_int_equal(gw_refnr_check(out, NULL), GW_OK);
        assert_memory_equal(out, "2026", 4);
        differ |= strcmp(out, first) != 0;
    }
    assert_true(differ);
}

static void
test_random_uuid_is_version_4(void **state)
{
    char a[37], b[37];
    (void)state;
    assert_int_equal(gw_random_uuid(a), GW_OK);
    assert_int_equal(gw_random_uuid(b), GW_OK);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    assert_int_equal(a[8], '-');
    assert_string_not_equal(a, b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pnr_table),
        cmocka_unit_test(test_pnr_rejects_every_wrong_check_digit),
        cmocka_unit_test(test_pnr_age_on_dates),
        cmocka_unit_test(test_pnr_finder_hits_and_misses),
        cmocka_unit_test(test_gln_check),
        cmocka_unit_test(test_hsaid_check),
        cmocka_unit_test(test_nplid_and_atc_checks),
        cmocka_unit_test(test_refnr_check_and_generate),
        cmocka_unit_test(test_random_uuid_is_version_4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
