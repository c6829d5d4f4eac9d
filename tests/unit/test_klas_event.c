/*
 * test_klas_event.c - the decision on a message (klas/event.c), without a
 * store: the case, the message's facts and the caller go in, the status,
 * deliveries and effects come out.
 *
 * The expectations are written from DOMAIN.md and the handbook, not from
 * the table: who is told about what (the chosen pharmacy of a motivation,
 * the case's pharmacy of a registration, a decision, a request addressed
 * to it), what goes to LV (applications, supplements), what the store must
 * stamp, when HSA is asked. The facts are filled through their own table
 * (gw_msg_fact_set), which refuses a value over its cap.
 *
 * The worked example at the end adds an event as a row: LV's special
 * permit (särskilt tillstånd, DOMAIN.md: "LV can grant a special permit
 * letting pharmacies dispense prescriptions under a general licence") on a
 * granted licence, decided by the same function from an extended table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klas/event.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define GLN1 "7350000000016"
#define GLN2 "7350000000023"
#define DOC1 "SE2321000016-DOC1"
#define DOC2 "SE2321000016-DOC2"
#define CLINIC "SE2321000016-CLIN"
#define PATIENT "201006301111"
#define DAY_MS (int64_t)(24 * 3600 * 1000LL)
/* 2026-03-01T10:00:00Z */
#define T0 1772359200000LL

static const struct gw_principal ehr1 = {"journal1", GW_CLIENT_EHR, NULL, DOC1};
static const struct gw_principal ehr2 = {"journal1", GW_CLIENT_EHR, NULL, DOC2};
static const struct gw_principal pharm1 = {"apotek1", GW_CLIENT_PHARMACY, GLN1,
                                           NULL};
static const struct gw_principal pharm2 = {"apotek2", GW_CLIENT_PHARMACY, GLN2,
                                           NULL};
static const struct gw_principal lv = {"lv", GW_CLIENT_LV, NULL, NULL};
static const struct gw_principal ops = {"ops", GW_CLIENT_OPERATOR, NULL, NULL};

static void
set(struct gw_msg_facts *f, const char *name, const char *v)
{
    struct gw_err err;

    gw_err_clear(&err);
    if (gw_msg_fact_set(f, name, v, strlen(v), &err) != GW_OK)
        fail_msg("fact %s: %s", name, err.detail);
}

/* The facts of a message: event code, then name=value pairs, NULL-ended. */
static void
facts(struct gw_msg_facts *f, const char *event, ...)
{
    va_list ap;
    const char *k;

    memset(f, 0, sizeof(*f));
    snprintf(f->event, sizeof(f->event), "%s", event);
    va_start(ap, event);
    while ((k = va_arg(ap, const char *)) != NULL)
        set(f, k, va_arg(ap, const char *));
    va_end(ap);
}

/* An enskild case of DOC1 at CLINIC, applied for by GLN1. */
static struct gw_case_facts
kase(enum gw_case_status s)
{
    struct gw_case_facts k = {s,           "2026658327", "EH", DOC1,
                              CLINIC,      GLN1,         PATIENT,
                              T0 - 30 * DAY_MS};
    return k;
}

static gw_rc
decide(const struct gw_principal *who, const struct gw_msg_facts *f,
       const struct gw_case_facts *k, struct gw_decision *d,
       struct gw_err *err)
{
    struct gw_consent_facts none = {0, 0, 0, 0};
    struct gw_decide_in in = {who, f, k, &none, T0};

    gw_err_clear(err);
    return gw_klas_decide(&in, d, err);
}

/* --- what each event delivers, stamps and asks ------------------------ */

static void
test_klas_decide_deliveries_and_effects(void **state)
{
    static const struct {
        const char *name;
        const struct gw_principal *who;
        const char *event, *status; /* message: code, decision outcome */
        char recipient;             /* supplement request: 'P' or 'O' */
        const char *chosen;         /* motivation: chosen pharmacy */
        int has_case;
        enum gw_case_status from, to;
        const char *notify, *lv;
        int applied, decided, product, hsa;
    } cases[] = {
        {"motivation with a chosen pharmacy", &ehr1, "motivation-submit", "",
         0, GLN2, 0, GW_CASE_NONE, GW_CASE_M, GLN2, NULL, 0, 0, 0, 1},
        {"motivation without a pharmacy", &ehr1, "motivation-submit", "", 0,
         "", 0, GW_CASE_NONE, GW_CASE_M, NULL, NULL, 0, 0, 0, 1},
        {"application", &pharm1, "application-create", "", 0, "", 1,
         GW_CASE_M, GW_CASE_A, NULL, "application", 1, 0, 0, 0},
        {"registration", &lv, "application-registered", "", 0, "", 1,
         GW_CASE_A, GW_CASE_H, GLN1, NULL, 0, 0, 0, 0},
        {"request to the prescriber", &lv, "supplement-request", "", 'P', "",
         1, GW_CASE_H, GW_CASE_KB, NULL, NULL, 0, 0, 0, 0},
        {"request to the pharmacy", &lv, "supplement-request", "", 'O', "", 1,
         GW_CASE_H, GW_CASE_KB, GLN1, NULL, 0, 0, 0, 0},
        {"supplement by the prescriber", &ehr1, "motivation-supplement", "", 0,
         "", 1, GW_CASE_KB, GW_CASE_K, NULL, "supplement", 0, 0, 0, 1},
        {"supplement by the pharmacy", &pharm1, "motivation-supplement", "", 0,
         "", 1, GW_CASE_KB, GW_CASE_K, NULL, "supplement", 0, 0, 0, 0},
        {"LV has the supplement", &lv, "application-registered", "", 0, "", 1,
         GW_CASE_K, GW_CASE_H, NULL, NULL, 0, 0, 0, 0},
        {"grant", &lv, "decision", "Bev", 0, "", 1, GW_CASE_H, GW_CASE_BEV,
         GLN1, NULL, 0, 1, 1, 0},
        {"rejection from KB", &lv, "decision", "Avs", 0, "", 1, GW_CASE_KB,
         GW_CASE_AVS, GLN1, NULL, 0, 1, 0, 0},
        {"dismissal from K", &lv, "decision", "Avi", 0, "", 1, GW_CASE_K,
         GW_CASE_AVI, GLN1, NULL, 0, 1, 0, 0},
    };
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        struct gw_msg_facts f;
        struct gw_case_facts k = kase(cases[i].from);
        struct gw_decision d;
        struct gw_err err;
        gw_rc rc;

        facts(&f, cases[i].event, "status", cases[i].status, "pharmacy_gln",
              cases[i].who == &pharm1 ? GLN1 : cases[i].chosen,
              "prescriber_hsa", DOC1, "sender_hsa", DOC1,
              "sender_clinic_hsa", CLINIC, "patient_id", PATIENT, NULL);
        f.recipient_kind = cases[i].recipient;
        f.sender_kind = cases[i].who == &pharm1 ? 'O' : 'P';
        rc = decide(cases[i].who, &f, cases[i].has_case ? &k : NULL, &d, &err);
        if (rc != GW_OK)
            fail_msg("%s: %s (%s)", cases[i].name, gw_rc_name(rc), err.detail);
        if (d.to != cases[i].to)
            fail_msg("%s: to %s", cases[i].name, gw_case_status_code(d.to));
        if ((d.notify_gln == NULL) != (cases[i].notify == NULL) ||
            (d.notify_gln && strcmp(d.notify_gln, cases[i].notify) != 0))
            fail_msg("%s: notifies %s", cases[i].name,
                     d.notify_gln ? d.notify_gln : "nobody");
        if ((d.lv == NULL) != (cases[i].lv == NULL) ||
            (d.lv && strcmp(d.lv, cases[i].lv) != 0))
            fail_msg("%s: to LV %s", cases[i].name, d.lv ? d.lv : "nothing");
        if (!!(d.effects & GW_FX_APPLIED) != cases[i].applied ||
            !!(d.effects & GW_FX_DECIDED) != cases[i].decided ||
            !!(d.effects & GW_FX_PRODUCT) != cases[i].product)
            fail_msg("%s: effects %#x", cases[i].name, d.effects);
        if (d.check_hsa != cases[i].hsa)
            fail_msg("%s: HSA %d", cases[i].name, d.check_hsa);
    }
}

/* --- what the sender must prove -------------------------------------- */

static void
test_klas_decide_refusals_name_their_reason(void **state)
{
    struct gw_msg_facts f;
    struct gw_case_facts k;
    struct gw_consent_facts due = {1, T0 - 400 * DAY_MS, 0, T0};
    struct gw_decide_in in;
    struct gw_decision d;
    struct gw_err err;
    (void)state;

    /* Another patient than the enskild case's: as if there were no case. */
    facts(&f, "application-create", "pharmacy_gln", GLN1, "patient_id",
          "191212121212", NULL);
    k = kase(GW_CASE_M);
    assert_int_equal(decide(&pharm1, &f, &k, &d, &err), GW_ENOTFOUND);
    assert_string_equal(err.path, "Task.for");
    assert_null(d.def); /* a refusal leaves no decision */
    /* A general licence names no patient. */
    k.licence_type = "GH";
    assert_int_equal(decide(&pharm1, &f, &k, &d, &err), GW_OK);

    /* A supplement from a prescriber at another clinic. */
    facts(&f, "motivation-supplement", "sender_hsa", DOC2,
          "sender_clinic_hsa", "SE2321000016-OTHER", NULL);
    k = kase(GW_CASE_KB);
    assert_int_equal(decide(&ehr2, &f, &k, &d, &err), GW_EFORBIDDEN);
    /* A colleague at the same clinic may. */
    set(&f, "sender_clinic_hsa", CLINIC);
    assert_int_equal(decide(&ehr2, &f, &k, &d, &err), GW_OK);
    /* Another pharmacy may not. */
    assert_int_equal(decide(&pharm2, &f, &k, &d, &err), GW_EFORBIDDEN);

    /* Re-application: within 36 months of the decision, not after. */
    facts(&f, "application-reapply", "pharmacy_gln", GLN1, "patient_id",
          PATIENT, NULL);
    k = kase(GW_CASE_BEV);
    assert_int_equal(decide(&pharm1, &f, &k, &d, &err), GW_OK);
    assert_true(d.effects & GW_FX_LICENCE_COPY);
    k.decided_ms = T0 - 37 * 31 * DAY_MS;
    assert_int_equal(decide(&pharm1, &f, &k, &d, &err), GW_ESTATE);
    assert_string_equal(err.path, "Task.basedOn");

    /* Consent due: refused until renewed; a new prescriber owes none. */
    facts(&f, "motivation-submit", "prescriber_hsa", DOC1, NULL);
    in = (struct gw_decide_in){&ehr1, &f, NULL, &due, T0};
    gw_err_clear(&err);
    assert_int_equal(gw_klas_decide(&in, &d, &err), GW_ECONSENT);
    due.known = 0;
    assert_int_equal(gw_klas_decide(&in, &d, &err), GW_OK);

    /* Roles, statuses, codes. */
    assert_int_equal(decide(&ops, &f, NULL, &d, &err), GW_EFORBIDDEN);
    assert_int_equal(decide(&lv, &f, NULL, &d, &err), GW_EFORBIDDEN);
    k = kase(GW_CASE_M);
    assert_int_equal(decide(&ehr1, &f, &k, &d, &err), GW_ESTATE);
    facts(&f, "decision", "status", "Xyz", NULL);
    k = kase(GW_CASE_H);
    assert_int_equal(decide(&lv, &f, &k, &d, &err), GW_EINVAL);
    assert_string_equal(err.path, "Task.businessStatus");
    facts(&f, "no-such-event", NULL);
    assert_int_equal(decide(&lv, &f, &k, &d, &err), GW_EINVAL);
    assert_string_equal(err.path, "MessageHeader.eventCoding");
    /* A registration in H is neither of its two rows. */
    facts(&f, "application-registered", NULL);
    assert_int_equal(decide(&lv, &f, &k, &d, &err), GW_ESTATE);
    /* A row that names a case, without one. */
    facts(&f, "decision", "status", "Bev", NULL);
    assert_int_equal(decide(&lv, &f, NULL, &d, &err), GW_ESTATE);
}

static void
test_klas_check_sender_names_the_field(void **state)
{
    static const struct gw_principal anon = {"journal1", GW_CLIENT_EHR, NULL,
                                             NULL};
    struct gw_msg_facts f;
    struct gw_err err;
    (void)state;

    gw_err_clear(&err);
    facts(&f, "motivation-submit", "prescriber_hsa", DOC1, NULL);
    assert_int_equal(gw_klas_check_sender(&ehr1, &f, &err), GW_OK);
    assert_int_equal(gw_klas_check_sender(&anon, &f, &err), GW_EUNAUTH);
    assert_int_equal(gw_klas_check_sender(&ehr2, &f, &err), GW_EFORBIDDEN);
    assert_string_equal(err.path, "Practitioner.identifier");
    facts(&f, "application-create", "pharmacy_gln", GLN1, NULL);
    assert_int_equal(gw_klas_check_sender(&pharm1, &f, &err), GW_OK);
    assert_int_equal(gw_klas_check_sender(&pharm2, &f, &err), GW_EFORBIDDEN);
    assert_string_equal(err.path, "Task.owner");
    facts(&f, "motivation-supplement", "sender_gln", GLN1, NULL);
    f.sender_kind = 'O';
    assert_int_equal(gw_klas_check_sender(&pharm2, &f, &err), GW_EFORBIDDEN);
    assert_string_equal(err.path, "Communication.sender");
}

/* --- the facts table --------------------------------------------------- */

static void
test_klas_facts_are_whole_or_refused(void **state)
{
    struct gw_msg_facts f;
    struct gw_err err;
    char big[1024];
    (void)state;

    memset(big, 'x', sizeof(big));
    for (size_t i = 0; i < gw_msg_nfact_fields; i++) {
        const struct gw_msg_fact_field *ff = &gw_msg_fact_fields[i];
        const char *v = (const char *)&f + ff->offset;
        assert_true(ff->cap < sizeof(big));
        memset(&f, 0, sizeof(f));
        gw_err_clear(&err);
        if (gw_msg_fact_set(&f, ff->name, big, ff->cap, &err) != GW_OK ||
            strlen(v) != ff->cap)
            fail_msg("%s: a value of its cap is not kept whole", ff->name);
        if (gw_msg_fact_set(&f, ff->name, big, ff->cap + 1, &err) !=
                GW_ETOOLARGE ||
            v[0] != '\0' || strcmp(err.path, ff->name) != 0)
            fail_msg("%s: one byte over its cap is not refused", ff->name);
    }
    assert_int_equal(gw_msg_fact_set(&f, "nosuch", "x", 1, &err), GW_EINVAL);
}

/* --- worked example: a new event is a new row ------------------------- */

/*
 * LV's special permit on a granted licence: LV sends it, the case stays
 * Bev, the case's pharmacy is told, readers see the message. The whole
 * change in klas/ is this row (and, for the real thing, an enum value
 * GW_EV_SPECIAL_PERMIT in state.h; here GW_EV_NEVENT stands in).
 */
static const struct gw_event_def special_permit = {
    .name = "special-permit",
    .code = "special-permit",
    .event = GW_EV_NEVENT,
    .roles = GW_ROLE_BIT(GW_ROLE_LV),
    .from = GW_STATUS_BIT(GW_CASE_BEV),
    .to = GW_CASE_BEV,
    .ref = GW_CASE_REF_TASK,
    .adds_view = 1,
    .notify = GW_NOTIFY_CASE,
};

static void
test_klas_new_event_is_one_row(void **state)
{
    struct gw_event_def *rows = calloc(gw_klas_nevents + 1, sizeof(*rows));
    struct gw_consent_facts none = {0, 0, 0, 0};
    struct gw_msg_facts f;
    struct gw_case_facts k = kase(GW_CASE_BEV);
    struct gw_decide_in in = {&lv, &f, &k, &none, T0};
    struct gw_decision d;
    struct gw_err err;
    (void)state;

    assert_non_null(rows);
    memcpy(rows, gw_klas_events, gw_klas_nevents * sizeof(*rows));
    rows[gw_klas_nevents] = special_permit;
    facts(&f, "special-permit", NULL);
    gw_err_clear(&err);
    /* Unknown to the real table. */
    assert_int_equal(gw_klas_decide(&in, &d, &err), GW_EINVAL);
    /* Decided from the row, with what the row says. */
    assert_int_equal(
        gw_klas_decide_table(rows, gw_klas_nevents + 1, &in, &d, &err), GW_OK);
    assert_int_equal(d.to, GW_CASE_BEV);
    assert_string_equal(d.notify_gln, GLN1);
    assert_null(d.lv);
    assert_int_equal(d.effects, 0);
    /* Only LV, only on a granted licence. */
    in.who = &pharm1;
    assert_int_equal(
        gw_klas_decide_table(rows, gw_klas_nevents + 1, &in, &d, &err),
        GW_EFORBIDDEN);
    in.who = &lv;
    k.status = GW_CASE_H;
    assert_int_equal(
        gw_klas_decide_table(rows, gw_klas_nevents + 1, &in, &d, &err),
        GW_ESTATE);
    /* The other events decide as before with the row added. */
    facts(&f, "decision", "status", "Bev", NULL);
    assert_int_equal(
        gw_klas_decide_table(rows, gw_klas_nevents + 1, &in, &d, &err), GW_OK);
    assert_int_equal(d.to, GW_CASE_BEV);
    free(rows);
}

/* --- operations besides messages and reads ----------------------------- */

static void
test_klas_operations_by_role(void **state)
{
    /* From README's route table: who may call what. */
    static const struct {
        enum gw_operation op;
        int ehr, pharmacy, lv, operator;
    } cases[] = {
        {GW_OP_CHECK_LICENCE, 0, 1, 0, 0},
        {GW_OP_RECORD_DISPENSING, 0, 1, 0, 0},
        {GW_OP_REGISTER_SEARCH, 1, 1, 1, 0},
        {GW_OP_COPY, 1, 0, 0, 0},
        {GW_OP_CONSENT, 1, 0, 0, 0},
        {GW_OP_SUBSCRIPTION, 0, 1, 0, 0},
        {GW_OP_MY_CASES, 1, 0, 0, 0},
        {GW_OP_CASE_LOOKUP, 0, 1, 0, 0},
    };
    static const struct gw_principal nogln = {"apotek9", GW_CLIENT_PHARMACY,
                                              NULL, NULL};
    struct gw_err err;
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        const struct gw_principal *who[] = {&ehr1, &pharm1, &lv, &ops};
        const int want[] = {cases[i].ehr, cases[i].pharmacy, cases[i].lv,
                            cases[i].operator};
        for (size_t r = 0; r < N(who); r++) {
            gw_err_clear(&err);
            gw_rc rc = gw_access_operation(who[r], cases[i].op, &err);
            if ((rc == GW_OK) != want[r] ||
                (rc != GW_OK && (rc != GW_EFORBIDDEN || !err.detail[0])))
                fail_msg("operation %d, %s: %s", (int)cases[i].op,
                         gw_client_role_name(who[r]->role), gw_rc_name(rc));
        }
    }
    assert_int_equal(gw_access_operation(&nogln, GW_OP_SUBSCRIPTION, &err),
                     GW_EFORBIDDEN);
}

/* The pharmacy notice carries the klas-event code; its reader
 * (outbound/pharmacy.c) takes at most 39 characters of [a-z-]. */
static void
test_klas_event_codes_fit_the_notice(void **state)
{
    (void)state;
    for (size_t i = 0; i < gw_klas_nevents; i++) {
        const char *code = gw_klas_events[i].code;
        if (code == NULL)
            continue;
        if (strlen(code) > 39 || strspn(code, "abcdefghijklmnopqrstuvwxyz-") !=
                                     strlen(code))
            fail_msg("event code %s does not fit the notice", code);
        assert_true(strlen(code) < sizeof(((struct gw_msg_facts *)0)->event));
    }
}

/* --- searches: what each caller's search is narrowed to ---------------- */

static void
test_klas_search_scope_by_role(void **state)
{
    static const struct gw_principal anon = {"journal1", GW_CLIENT_EHR, NULL,
                                             NULL};
    struct gw_search_scope sc;
    struct gw_err err;
    (void)state;

    gw_err_clear(&err);
    /* Mina ärenden: the EHR's user's own cases, every status. */
    assert_int_equal(gw_access_search(&ehr1, 0, &sc, &err), GW_OK);
    assert_string_equal(sc.prescriber_hsa, DOC1);
    assert_null(sc.pharmacy_gln);
    assert_true(sc.statuses & GW_STATUS_BIT(GW_CASE_M));
    /* A pharmacy: its own cases, or a look-up by referensnummer. */
    assert_int_equal(gw_access_search(&pharm1, 0, &sc, &err), GW_OK);
    assert_string_equal(sc.pharmacy_gln, GLN1);
    assert_int_equal(sc.lookup, 0);
    assert_int_equal(gw_access_search(&pharm1, 1, &sc, &err), GW_OK);
    assert_null(sc.pharmacy_gln);
    assert_int_equal(sc.lookup, 1);
    /* LV: every case once applied for, never a bare motivation. */
    assert_int_equal(gw_access_search(&lv, 0, &sc, &err), GW_OK);
    assert_false(sc.statuses & GW_STATUS_BIT(GW_CASE_M));
    for (int s = GW_CASE_A; s < GW_CASE_NSTATUS; s++)
        assert_true(sc.statuses & GW_STATUS_BIT(s));
    assert_null(sc.prescriber_hsa);
    assert_null(sc.pharmacy_gln);
    /* Refusals that depend on the caller alone. */
    assert_int_equal(gw_access_search(&anon, 0, &sc, &err), GW_EUNAUTH);
    assert_int_equal(gw_access_search(&ops, 0, &sc, &err), GW_EFORBIDDEN);
}

/* The texts that list events and topics are the rows, in table order. */
static void
test_klas_lists_are_the_rows(void **state)
{
    char buf[400], small[12];

    (void)state;
    assert_string_equal(gw_klas_list(GW_KLAS_CODES, ", ", buf, sizeof(buf)),
                        "motivation-submit, application-create, "
                        "application-reapply, application-registered, "
                        "supplement-request, motivation-supplement, "
                        "decision");
    assert_string_equal(gw_klas_list(GW_KLAS_TOPICS, " or ", buf, sizeof(buf)),
                        "case-for-pharmacy, supplement-request or decision");
    /* Cut, never overrun. */
    assert_string_equal(
        gw_klas_list(GW_KLAS_TOPICS, " or ", small, sizeof(small)),
        "case-for-ph");
    /* The codes each SOAP interaction carries (soap.c's check). */
    assert_string_equal(
        gw_klas_soap_events("CreateLicenseApplication", buf, sizeof(buf)),
        " application-create application-reapply ");
    assert_string_equal(
        gw_klas_soap_events("ReportCaseRegistered", buf, sizeof(buf)),
        " application-registered ");
    assert_string_equal(gw_klas_soap_events("ReportDecision", buf, sizeof(buf)),
                        " decision ");
    assert_string_equal(gw_klas_soap_events("CheckLicense", buf, sizeof(buf)),
                        "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_klas_decide_deliveries_and_effects),
        cmocka_unit_test(test_klas_decide_refusals_name_their_reason),
        cmocka_unit_test(test_klas_check_sender_names_the_field),
        cmocka_unit_test(test_klas_facts_are_whole_or_refused),
        cmocka_unit_test(test_klas_new_event_is_one_row),
        cmocka_unit_test(test_klas_operations_by_role),
        cmocka_unit_test(test_klas_event_codes_fit_the_notice),
        cmocka_unit_test(test_klas_search_scope_by_role),
        cmocka_unit_test(test_klas_lists_are_the_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
