/*
 * test_licence.c - does a granted licence cover a dispensing
 * (klas/licence.c)? One table over the licence types and general levels
 * of DOMAIN.md: an enskild licence covers prescriptions for its own
 * patient only; a general one requisitions from its unit, administration
 * or region (same organisation number: private providers under contract
 * are not covered); beredskap covers prescriptions and every unit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "klas/licence.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define PNR "191212121212"
#define PNR2 "199001012380"
/* Region Exempel, org number 2321000016: a hospital and two clinics. */
#define HOSP "SE2321000016-SJUK"
#define CLIN "SE2321000016-KLIN"
#define CLIN2 "SE2321000016-KL2"
#define HOSP2 "SE2321000016-SJK2"
/* A private provider under contract: its own org number. */
#define PRIV "SE5566778899-VC01"
/* Same first 11 characters as the region, another 12th. */
#define NEAR "SE2321000017-KLIN"

static void
test_licence_covers_by_type_level_and_kind(void **state)
{
    enum { RX = GW_DISPENSE_PRESCRIPTION, REQ = GW_DISPENSE_REQUISITION };
    static const struct {
        const char *name;
        const char *type;
        int beredskap;
        const char *level;
        int kind;
        const char *patient, *unit, *admin;
        gw_rc rc;
    } cases[] = {
        /* Enskild. */
        {"EH, prescription for its own patient", "EH", 0, NULL, RX, PNR, NULL,
         NULL, GW_OK},
        {"EH, prescription for another patient", "EH", 0, NULL, RX, PNR2, NULL,
         NULL, GW_EDENIED},
        {"EH, prescription without patient", "EH", 0, NULL, RX, NULL, NULL,
         NULL, GW_EDENIED},
        {"EH, prescription with an empty patient", "EH", 0, NULL, RX, "", NULL,
         NULL, GW_EDENIED},
        {"EH, requisition refused even from the unit", "EH", 0, NULL, REQ, PNR,
         CLIN, HOSP, GW_EDENIED},
        /* General, unit level (the default). */
        {"GH unit, requisition from the unit", "GH", 0, "unit", REQ, NULL, CLIN,
         NULL, GW_OK},
        {"GH no level given means unit, same unit", "GH", 0, NULL, REQ, NULL,
         CLIN, NULL, GW_OK},
        {"GH unit, other unit of the same hospital", "GH", 0, "unit", REQ, NULL,
         CLIN2, HOSP, GW_EDENIED},
        {"GH no level given, other unit", "GH", 0, NULL, REQ, NULL, CLIN2, HOSP,
         GW_EDENIED},
        {"GH unit, the hospital itself", "GH", 0, "unit", REQ, NULL, HOSP, NULL,
         GW_EDENIED},
        {"GH unit, prescription refused", "GH", 0, "unit", RX, PNR, CLIN, NULL,
         GW_EDENIED},
        {"GH unit, requisition without unit", "GH", 0, "unit", REQ, NULL, NULL,
         NULL, GW_EDENIED},
        /* Administration level. */
        {"GH administration, other unit via the administration HSA-id", "GH", 0,
         "administration", REQ, NULL, CLIN2, HOSP, GW_OK},
        {"GH administration, the unit is the hospital", "GH", 0,
         "administration", REQ, NULL, HOSP, NULL, GW_OK},
        {"GH administration, its own unit", "GH", 0, "administration", REQ,
         NULL, CLIN, NULL, GW_OK},
        {"GH administration, unit of another hospital", "GH", 0,
         "administration", REQ, NULL, CLIN2, HOSP2, GW_EDENIED},
        {"GH administration, other unit, no administration given", "GH", 0,
         "administration", REQ, NULL, CLIN2, NULL, GW_EDENIED},
        {"GH administration, prescription refused", "GH", 0, "administration",
         RX, PNR, CLIN, HOSP, GW_EDENIED},
        /* Region level. */
        {"GH region, unit of another hospital, same org number", "GH", 0,
         "region", REQ, NULL, "SE2321000016-ANNAN", HOSP2, GW_OK},
        {"GH region, private provider under contract", "GH", 0, "region", REQ,
         NULL, PRIV, HOSP, GW_EDENIED},
        {"GH region, org number differing in its last digit", "GH", 0, "region",
         REQ, NULL, NEAR, NULL, GW_EDENIED},
        {"GH region, HSA-id shorter than an org number", "GH", 0, "region", REQ,
         NULL, "SE23210000", NULL, GW_EDENIED},
        {"GH region, prescription refused", "GH", 0, "region", RX, PNR, CLIN,
         NULL, GW_EDENIED},
        /* Region does not reach down past the unit rule for others. */
        {"GH unit level does not cover the region", "GH", 0, "unit", REQ, NULL,
         "SE2321000016-ANNAN", NULL, GW_EDENIED},
        {"GH administration level does not cover the region", "GH", 0,
         "administration", REQ, NULL, "SE2321000016-ANNAN", HOSP2, GW_EDENIED},
        /* Beredskap. */
        {"beredskap, prescription", "GH", 1, "unit", RX, PNR2, NULL, NULL,
         GW_OK},
        {"beredskap, requisition from any unit", "GH", 1, "unit", REQ, NULL,
         PRIV, NULL, GW_OK},
        {"beredskap, requisition from its unit", "GH", 1, NULL, REQ, NULL, CLIN,
         NULL, GW_OK},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        struct gw_licence_facts l = {
            cases[i].type, cases[i].beredskap, cases[i].level, PNR, CLIN, HOSP};
        struct gw_dispensing_ctx d = {cases[i].kind, cases[i].patient,
                                      cases[i].unit, cases[i].admin};
        struct gw_err err;
        gw_rc rc;

        /* An enskild licence names a patient, not units; a general one
         * the reverse. */
        if (strcmp(cases[i].type, "GH") == 0)
            l.patient_id = NULL;
        gw_err_clear(&err);
        rc = gw_licence_covers(&l, &d, &err);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(rc), gw_rc_name(cases[i].rc));
        if (rc != GW_OK && err.detail[0] == '\0')
            fail_msg("case '%s': refused without a reason", cases[i].name);
        if (rc != GW_OK && (strstr(err.detail, PNR) != NULL ||
                            strstr(err.detail, PNR2) != NULL))
            fail_msg("case '%s': personal data in the reason", cases[i].name);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_licence_covers_by_type_level_and_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
