/*
 * test_pipeline_counter.c - the pharmacy at dispensing (operations.c),
 * against a real store (pipeline_fixture.h): a granted licence covers its
 * patient and product within its validity and amount, a resent dispensing
 * counts once, and only a granted licence is dispensed against.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline_fixture.h"
#include "fhir/fhir.h"

/* --- at the counter -------------------------------------------------- */

static int
param_is(const struct gw_fhir_doc *d, const char *name, const char *want)
{
    char buf[64];
    return gw_view_param(d, name, buf, sizeof(buf)) && strcmp(buf, want) == 0;
}

static void
test_pipeline_check_licence_covers_patient_product_and_validity(void **state)
{
    static const struct {
        const char *name, *product, *patient, *unit, *on;
        const char *covered;
        const char *sv; /* the refusal's reason, Swedish part (NULL: any) */
    } cases[] = {
        {"its patient, its product", NPLID, PATIENT, NULL, NULL, "true", NULL},
        {"its patient, by product name", "Melatonin AGB 1 mg/ml oral lösning",
         PATIENT, NULL, NULL, "true", NULL},
        {"by the whole name in other case",
         "MELATONIN AGB 1 MG/ML ORAL lösning", PATIENT, NULL, NULL, "true",
         NULL},
        {"on the first day", NPLID, PATIENT, NULL, "2026-02-10", "true", NULL},
        {"on the last day", NPLID, PATIENT, NULL, "2027-02-09", "true", NULL},
        {"the day before", NPLID, PATIENT, NULL, "2026-02-09", "false",
         "Ingen giltig licens"},
        {"the day after", NPLID, PATIENT, NULL, "2027-02-10", "false",
         "Ingen giltig licens"},
        {"another patient", NPLID, OTHER_PATIENT, NULL, NULL, "false",
         "Ingen giltig licens"},
        {"another product", "20010101000017", PATIENT, NULL, NULL, "false",
         "Ingen giltig licens"},
        {"a requisition from the clinic", NPLID, NULL, "SE2321000016-KLIN",
         NULL, "false", "Ingen giltig licens"},
        /* Issue #14: part of the name is not "no licence". */
        {"the first word of the name", "Melatonin", PATIENT, NULL, NULL,
         "false", "ange hela namnet eller NPL-id"},
        {"part of the name, other case", "melatonin agb", PATIENT, NULL, NULL,
         "false", "ange hela namnet eller NPL-id"},
        {"the middle of the name", "AGB 1 mg", PATIENT, NULL, NULL, "false",
         "ange hela namnet eller NPL-id"},
        {"part of the name, on a day with no valid licence", "Melatonin",
         PATIENT, NULL, "2027-02-10", "false", "Ingen giltig licens"},
        {"a name no licence holds", "Paracetamol", PATIENT, NULL, NULL,
         "false", "Ingen giltig licens"},
        {"a wildcard is text, not a pattern", "%", PATIENT, NULL, NULL,
         "false", "Ingen giltig licens"},
    };
    struct t *t = *state;

    advance(t, AT_BEV);
    for (size_t i = 0; i < N(cases); i++) {
        const struct gw_call c = {&pharm2, BASE, "test", GW_FHIR_JSON};
        struct gw_licence_check q = {cases[i].product, cases[i].patient,
                                     cases[i].unit, NULL, cases[i].on};
        struct gw_answer a;
        char ref[64];

        gw_pipeline_check_licence(t->pl, &c, &q, &a);
        if (a.rc != GW_OK || a.doc == NULL)
            fail_msg("case '%s': rc %s", cases[i].name, gw_rc_name(a.rc));
        if (!param_is(a.doc, "covered", cases[i].covered))
            fail_msg("case '%s': covered is not %s", cases[i].name,
                     cases[i].covered);
        snprintf(ref, sizeof(ref), "<reference value=\"Task/%s\"/>", t->refnr);
        if (strcmp(cases[i].covered, "true") == 0) {
            char *xml;
            size_t len;
            assert_int_equal(gw_fhir_to_xml(a.doc, &xml, &len), GW_OK);
            if (strstr(xml, ref) == NULL ||
                !param_is(a.doc, "granted-amount", "300") ||
                !param_is(a.doc, "valid-to", "2027-02-09"))
                fail_msg("case '%s': not the granted licence: %s",
                         cases[i].name, xml);
            free(xml);
        }
        if (cases[i].sv != NULL) {
            /* Both languages give the one reason; no refnr, no patient. */
            char reason[512];
            const char *en;
            if (!gw_view_param(a.doc, "reason", reason, sizeof(reason)) ||
                strstr(reason, cases[i].sv) == NULL)
                fail_msg("case '%s': reason is not '%s'", cases[i].name,
                         cases[i].sv);
            en = strstr(reason, " / ");
            if (en == NULL ||
                (strstr(cases[i].sv, "hela namnet") != NULL) !=
                    (strstr(en, "give the whole name or the NPL id") != NULL))
                fail_msg("case '%s': English differs: %s", cases[i].name,
                         reason);
            if (strstr(reason, t->refnr) != NULL ||
                strstr(reason, PATIENT) != NULL)
                fail_msg("case '%s': reason names a case: %s", cases[i].name,
                         reason);
        }
        gw_answer_release(&a);
    }
    /* Only pharmacies check. */
    {
        const struct gw_call c = {&ehr1, BASE, "test", GW_FHIR_JSON};
        struct gw_licence_check q = {NPLID, PATIENT, NULL, NULL, NULL};
        struct gw_answer a;
        gw_pipeline_check_licence(t->pl, &c, &q, &a);
        assert_int_equal(a.rc, GW_EFORBIDDEN);
        gw_answer_release(&a);
    }
}

static char *
dispensing(const char *id, const char *refnr, const char *amount,
           const char *on, const char *patient)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "{\"resourceType\":\"Parameters\",\"parameter\":["
             "{\"name\":\"identifier\",\"valueString\":\"%s\"},"
             "{\"name\":\"licence\",\"valueString\":\"%s\"},"
             "{\"name\":\"amount\",\"valueDecimal\":%s},"
             "{\"name\":\"dispensed-on\",\"valueDate\":\"%s\"},"
             "{\"name\":\"kind\",\"valueCode\":\"prescription\"},"
             "{\"name\":\"patient\",\"valueString\":\"%s\"}]}",
             id, refnr, amount, on, patient);
    return s;
}

static void
test_pipeline_dispensing_counts_once_within_amount_and_validity(void **state)
{
    /* In order, on one licence of 300 ml. */
    static const struct {
        const char *name, *id, *amount, *on, *patient;
        gw_rc rc;
        const char *dispensed; /* after, as the licence check says */
        const char *sv;        /* the reason, as the Swedish text gives it */
    } cases[] = {
        {"a first dispensing", "exp-1", "100", "2026-03-01", PATIENT, GW_OK,
         "100", NULL},
        {"the same dispensing resent", "exp-1", "100", "2026-03-01", PATIENT,
         GW_OK, "100", NULL},
        {"the same id for another amount", "exp-1", "50", "2026-03-01", PATIENT,
         GW_EDUPLICATE, "100", NULL},
        {"another patient", "exp-2", "1", "2026-03-03", OTHER_PATIENT,
         GW_EDENIED, "100", "en annan patient"},
        {"before the validity", "exp-3", "1", "2026-02-09", PATIENT, GW_EDENIED,
         "100", "utanför giltighetstiden 2026-02-10 till 2027-02-09"},
        {"after the validity", "exp-4", "1", "2027-02-10", PATIENT, GW_EDENIED,
         "100", "utanför giltighetstiden"},
        {"on the first day of the validity", "exp-5", "1", "2026-02-10",
         PATIENT, GW_OK, "101", NULL},
        {"beyond the total amount", "exp-6", "200", "2026-03-02", PATIENT,
         GW_EDENIED, "101", "199 av 300 återstår"},
        {"up to the total amount", "exp-7", "199", "2026-03-02", PATIENT, GW_OK,
         "300", NULL},
        {"anything more", "exp-8", "1", "2026-03-03", PATIENT, GW_EDENIED,
         "300", "0 av 300 återstår"},
        {"no amount", "exp-9", "0", "2026-03-03", PATIENT, GW_EVALIDATION,
         "300", NULL},
        {"a date still to come", "exp-10", "1", "2099-01-01", PATIENT,
         GW_EVALIDATION, "300", NULL},
    };
    struct t *t = *state;

    advance(t, AT_BEV);
    /* Record after the fact: a year on, every date above has passed. */
    gw_clock_set_ms(T0 + 366LL * 24 * 3600 * 1000);
    for (size_t i = 0; i < N(cases); i++) {
        const struct gw_call c = {&pharm1, BASE, "test", GW_FHIR_JSON};
        struct gw_licence_check q = {NPLID, PATIENT, NULL, NULL, "2026-03-01"};
        char *body = dispensing(cases[i].id, t->refnr, cases[i].amount,
                                cases[i].on, cases[i].patient);
        struct gw_answer a;

        gw_pipeline_record_dispensing(t->pl, &c, body, strlen(body), &a);
        if (a.rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(a.rc), gw_rc_name(cases[i].rc));
        if (a.rc == GW_OK && !param_is(a.doc, "recorded", "true"))
            fail_msg("case '%s': not recorded", cases[i].name);
        if (cases[i].sv != NULL) {
            /* A pharmacist works on a Swedish screen: the Swedish text
             * gives the reason the English one gives. */
            char *xml = NULL;
            size_t xl = 0;
            if (a.doc == NULL || gw_fhir_to_xml(a.doc, &xml, &xl) != GW_OK ||
                strstr(xml, cases[i].sv) == NULL)
                fail_msg("case '%s': no '%s' in %s", cases[i].name, cases[i].sv,
                         xml ? xml : "(no answer)");
            free(xml);
        }
        gw_answer_release(&a);
        free(body);
        gw_pipeline_check_licence(t->pl, &c, &q, &a);
        if (!param_is(a.doc, "dispensed-amount", cases[i].dispensed))
            fail_msg("case '%s': dispensed is not %s", cases[i].name,
                     cases[i].dispensed);
        gw_answer_release(&a);
    }
}

static void
test_pipeline_dispensing_needs_a_granted_licence(void **state)
{
    struct t *t = *state;
    const struct gw_call c = {&pharm1, BASE, "test", GW_FHIR_JSON};
    struct gw_answer a;
    char *body;

    advance(t, AT_H);
    body = dispensing("exp-h", t->refnr, "1", "2026-03-01", PATIENT);
    gw_pipeline_record_dispensing(t->pl, &c, body, strlen(body), &a);
    assert_int_equal(a.rc, GW_EDENIED);
    gw_answer_release(&a);
    free(body);
}

/* --- every refusal is audited and counted ----------------------------- */

/* Calls the pipeline entry point of op as who, with a request that is
 * refused for who's role when the access table forbids op, and for its
 * content (an unknown case, a short or bad query) otherwise. Returns 0
 * when op has no pipeline entry point of its own (a SOAP interaction's
 * access, test_soap.c). */
static int
call_op(struct t *t, enum gw_operation op, int sub_step,
        const struct gw_principal *who, struct gw_answer *a)
{
    const struct gw_call c = {who, BASE, "test", GW_FHIR_JSON};
    struct gw_licence_check q = {NPLID, PATIENT, NULL, NULL, "1 March"};
    struct gw_product pq;
    static const char bad[] = "{\"resourceType\":\"Parameters\"}";

    memset(a, 0, sizeof(*a));
    memset(&pq, 0, sizeof(pq));
    switch (op) {
    case GW_OP_CHECK_LICENCE:
        gw_pipeline_check_licence(t->pl, &c, &q, a);
        return 1;
    case GW_OP_RECORD_DISPENSING:
        gw_pipeline_record_dispensing(t->pl, &c, bad, strlen(bad), a);
        return 1;
    case GW_OP_REGISTER_SEARCH:
        snprintf(pq.name, sizeof(pq.name), "ab");
        gw_pipeline_product_search(t->pl, &c, &pq, a);
        return 1;
    case GW_OP_COPY:
        gw_pipeline_copy(t->pl, &c, "2099000001", a);
        return 1;
    case GW_OP_CONSENT:
        if (who->user != NULL)
            return 0; /* no refusal for a caller that may and names it */
        gw_pipeline_renew_consent(t->pl, &c, a);
        return 1;
    case GW_OP_SUBSCRIPTION:
        if (sub_step == 0)
            gw_pipeline_sub_read(t->pl, &c, "no-such-sub", a);
        else
            gw_pipeline_sub_delete(t->pl, &c, "no-such-sub", a);
        return 1;
    default:
        return 0;
    }
}

/* Walks the operations of the access table (klas/access.h) with every
 * role: each request that is refused, for the caller's role or for its
 * content, leaves one audit record with the refusal and adds one to the
 * refusal counts, whatever the operation. */
static void
test_pipeline_every_refused_operation_is_audited_and_counted(void **state)
{
    struct t *t = *state;
    const struct gw_principal ehr_no_user = {"journal1", GW_CLIENT_EHR, NULL,
                                             NULL};
    const struct gw_principal *who[] = {&ehr_no_user, &pharm1, &lv, &ops};
    int walked = 0;

    for (int op = 0; op < GW_OP_NOPS; op++)
        for (size_t w = 0; w < N(who); w++)
            for (int step = 0; step < 2; step++) {
                struct gw_answer a;
                long long n0, a0;
                gw_rc rc;

                if (step == 1 && op != GW_OP_SUBSCRIPTION)
                    continue;
                n0 = refusals_total();
                a0 = refusals_audited(t, who[w]->label);
                if (!call_op(t, (enum gw_operation)op, step, who[w], &a))
                    continue;
                rc = a.rc;
                gw_answer_release(&a);
                if (rc == GW_OK)
                    fail_msg("op %d as %s: not refused", op, who[w]->label);
                if (refusals_total() != n0 + 1)
                    fail_msg("op %d as %s: refused %s, counted %lld times", op,
                             who[w]->label, gw_rc_name(rc),
                             refusals_total() - n0);
                if (refusals_audited(t, who[w]->label) != a0 + 1)
                    fail_msg("op %d as %s: refused %s, audited %lld times", op,
                             who[w]->label, gw_rc_name(rc),
                             refusals_audited(t, who[w]->label) - a0);
                walked++;
            }
    assert_true(walked >= GW_OP_NOPS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_pipeline_check_licence_covers_patient_product_and_validity),
        T(test_pipeline_dispensing_counts_once_within_amount_and_validity),
        T(test_pipeline_dispensing_needs_a_granted_licence),
        T(test_pipeline_every_refused_operation_is_audited_and_counted),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
