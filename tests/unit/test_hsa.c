/*
 * test_hsa.c - the HSA decision (outbound/hsa.c, no I/O): licence as
 * physician or dentist, an active "Vård och behandling" commission at the
 * stated care unit, beredskap only at the listed organisations; and the
 * cache form round trip. Synthetic HSA-ids only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "outbound/hsa.h"

#define NOW 1767225600000LL /* 2026-01-01T00:00:00Z */
#define DAY 86400000LL
#define KLIN "SE2321000016-KLIN"
#define ORGS "SE2021006545-0001 SE2021004078-0001 SE2021000555-0001"

struct person_spec {
    int found, physician, dentist;
    struct gw_hsa_commission c[3];
    size_t nc;
};

struct decide_case {
    const char *name;
    struct person_spec p;
    const char *unit;
    int beredskap;
    gw_rc rc;
    const char *path; /* the field the refusal names */
};

#define VOB(unit, prov)                                                        \
    {                                                                          \
        unit, prov, 1, 0, 0                                                    \
    }
static const struct decide_case cases[] = {
    {"physician with commission at the unit",
     {1, 1, 0, {VOB(KLIN, "SE2321000016-0001")}, 1},
     KLIN,
     0,
     GW_OK,
     ""},
    {"dentist with commission at the unit",
     {1, 0, 1, {VOB(KLIN, "SE2321000016-0001")}, 1},
     KLIN,
     0,
     GW_OK,
     ""},
    {"unknown in HSA",
     {0, 0, 0, {{"", "", 0, 0, 0}}, 0},
     KLIN,
     0,
     GW_ENOTAUTHORISED,
     "Practitioner.identifier"},
    {"no licence (nurse)",
     {1, 0, 0, {VOB(KLIN, "")}, 1},
     KLIN,
     0,
     GW_ENOTAUTHORISED,
     "Practitioner.qualification"},
    {"commission at another unit",
     {1, 1, 0, {VOB("SE2321000016-ANNAN", "")}, 1},
     KLIN,
     0,
     GW_ENOTAUTHORISED,
     "PractitionerRole.organization"},
    {"commission for another purpose",
     {1, 1, 0, {{KLIN, "", 0, 0, 0}}, 1},
     KLIN,
     0,
     GW_ENOTAUTHORISED,
     "PractitionerRole.organization"},
    {"commission ended",
     {1, 1, 0, {{KLIN, "", 1, NOW - 400 * DAY, NOW - DAY}}, 1},
     KLIN,
     0,
     GW_ENOTAUTHORISED,
     "PractitionerRole.organization"},
    {"commission not started yet",
     {1, 1, 0, {{KLIN, "", 1, NOW + DAY, 0}}, 1},
     KLIN,
     0,
     GW_ENOTAUTHORISED,
     "PractitionerRole.organization"},
    {"commission within its period",
     {1, 1, 0, {{KLIN, "", 1, NOW - DAY, NOW + DAY}}, 1},
     KLIN,
     0,
     GW_OK,
     ""},
    {"second commission matches",
     {1, 1, 0, {VOB("SE2321000016-ANNAN", ""), VOB(KLIN, "")}, 2},
     KLIN,
     0,
     GW_OK,
     ""},
    {"no unit stated",
     {1, 1, 0, {VOB(KLIN, "")}, 1},
     "",
     0,
     GW_ENOTAUTHORISED,
     "PractitionerRole.organization"},
    {"beredskap at Folkhälsomyndigheten",
     {1, 1, 0, {VOB("SE2021006545-SMIT", "SE2021006545-0001")}, 1},
     "SE2021006545-SMIT",
     1,
     GW_OK,
     ""},
    {"beredskap at an ordinary clinic",
     {1, 1, 0, {VOB(KLIN, "SE2321000016-0001")}, 1},
     KLIN,
     1,
     GW_ENOTAUTHORISED,
     "beredskap"},
    {"beredskap org only on a commission elsewhere",
     {1,
      1,
      0,
      {VOB(KLIN, "SE2321000016-0001"),
       VOB("SE2021006545-SMIT", "SE2021006545-0001")},
      2},
     KLIN,
     1,
     GW_ENOTAUTHORISED,
     "beredskap"},
    {"beredskap org as the unit itself",
     {1, 1, 0, {VOB("SE2021000555-0001", "")}, 1},
     "SE2021000555-0001",
     1,
     GW_OK,
     ""},
    {"org id prefix is not a match",
     {1, 1, 0, {VOB(KLIN, "SE2021006545-000")}, 1},
     KLIN,
     1,
     GW_ENOTAUTHORISED,
     "beredskap"},
};

static void
fill(struct gw_hsa_person *p, const struct person_spec *s)
{
    memset(p, 0, sizeof(*p));
    p->found = s->found;
    p->physician = s->physician;
    p->dentist = s->dentist;
    for (size_t i = 0; i < s->nc; i++)
        p->c[i] = s->c[i];
    p->nc = s->nc;
}

static void
test_hsa_decide_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct decide_case *t = &cases[i];
        struct gw_hsa_person p;
        struct gw_err err;
        gw_rc rc;

        fill(&p, &t->p);
        gw_err_clear(&err);
        rc = gw_hsa_decide(&p, t->unit, t->beredskap, ORGS, NOW, &err);
        if (rc != t->rc || strstr(err.path, t->path) == NULL) {
            print_error("case '%s': rc %s path '%s' detail '%s'\n", t->name,
                        gw_rc_name(rc), err.path, err.detail);
            fail();
        }
        if (rc != GW_OK && (strstr(err.detail, " / ") == NULL)) {
            print_error("case '%s': detail not in Swedish / English\n",
                        t->name);
            fail();
        }
    }
}

static void
test_hsa_cache_form_round_trips(void **state)
{
    struct gw_hsa_person p, q;
    char buf[2048];

    (void)state;
    memset(&p, 0, sizeof(p));
    p.found = 1;
    p.dentist = 1;
    p.c[0] =
        (struct gw_hsa_commission){KLIN, "SE2321000016-0001", 1, NOW - DAY, 0};
    p.c[1] =
        (struct gw_hsa_commission){"SE2021006545-SMIT", "", 0, 0, NOW + DAY};
    p.nc = 2;
    assert_int_equal(gw_hsa_person_encode(&p, buf, sizeof(buf)), GW_OK);
    assert_null(strstr(buf, "Läkarsson")); /* never names */
    assert_int_equal(gw_hsa_person_decode(buf, strlen(buf), &q), GW_OK);
    assert_memory_equal(&p, &q, sizeof(p));
}

static void
test_hsa_cache_form_refuses_garbage(void **state)
{
    static const char *const bad[] = {
        "X 1\n",
        "F one\n",
        "L 1\n",
        "C a|b\n",
        "C a|b|x|1|2\n",
        "C SE2321000016-KLIN-WAY-TOO-LONG-FOR-THE-FIELD-SE2321000016|b|1|0|0\n",
    };
    struct gw_hsa_person q;
    char buf[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (gw_hsa_person_decode(bad[i], strlen(bad[i]), &q) == GW_OK) {
            print_error("garbage %zu accepted\n", i);
            fail();
        }
    /* Too small a buffer is a size error, not a truncated entry. */
    memset(&q, 0, sizeof(q));
    q.nc = 1;
    assert_int_equal(gw_hsa_person_encode(&q, buf, 12), GW_ETOOLARGE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hsa_decide_table),
        cmocka_unit_test(test_hsa_cache_form_round_trips),
        cmocka_unit_test(test_hsa_cache_form_refuses_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
