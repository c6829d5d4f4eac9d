/*
 * test_access.c - who may send and read what (klas/access.c).
 *
 * The expectations are written as the security model of DESIGN.md states
 * them, independently of the state machine's table: an operator sends and
 * reads nothing; a pharmacy only applies, re-applies and supplements; LV
 * only registers, asks for supplements and decides; an EHR submits and
 * supplements. Reads: a prescriber sees own cases in full, a pharmacy sees
 * its own or looked-up cases redacted, LV sees every case once applied.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "klas/access.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- gw_access_event -------------------------------------------------- */

static void
test_access_event_maps_every_code(void **state)
{
    static const struct {
        const char *name, *code;
        enum gw_case_status current;
        const char *decision;
        gw_rc rc;
        enum gw_case_event ev;
    } cases[] = {
        {"submit", "motivation-submit", GW_CASE_NONE, NULL, GW_OK,
         GW_EV_SUBMIT},
        {"supplement", "motivation-supplement", GW_CASE_KB, NULL, GW_OK,
         GW_EV_SUPPLEMENT},
        {"apply", "application-create", GW_CASE_M, NULL, GW_OK, GW_EV_APPLY},
        {"re-apply", "application-reapply", GW_CASE_BEV, NULL, GW_OK,
         GW_EV_REAPPLY},
        {"supplement request", "supplement-request", GW_CASE_H, NULL, GW_OK,
         GW_EV_REQUEST_SUPPLEMENT},
        {"registered on A is registration", "application-registered", GW_CASE_A,
         NULL, GW_OK, GW_EV_REGISTER},
        {"registered on K is the supplement received", "application-registered",
         GW_CASE_K, NULL, GW_OK, GW_EV_SUPPLEMENT_RECEIVED},
        {"registered on H is registration (refused later by state)",
         "application-registered", GW_CASE_H, NULL, GW_OK, GW_EV_REGISTER},
        {"decision Bev grants", "decision", GW_CASE_H, "Bev", GW_OK,
         GW_EV_GRANT},
        {"decision Avs rejects", "decision", GW_CASE_H, "Avs", GW_OK,
         GW_EV_REJECT},
        {"decision Avi dismisses", "decision", GW_CASE_KB, "Avi", GW_OK,
         GW_EV_DISMISS},
        {"decision with an unknown outcome", "decision", GW_CASE_H, "H",
         GW_EINVAL, 0},
        {"decision in lower case", "decision", GW_CASE_H, "bev", GW_EINVAL, 0},
        {"decision without outcome", "decision", GW_CASE_H, NULL, GW_EINVAL, 0},
        {"unknown code", "motivation-delete", GW_CASE_M, NULL, GW_EINVAL, 0},
        {"empty code", "", GW_CASE_M, NULL, GW_EINVAL, 0},
        {"code is case-sensitive", "Motivation-Submit", GW_CASE_NONE, NULL,
         GW_EINVAL, 0},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        enum gw_case_event ev = GW_EV_NEVENT;
        struct gw_err err;
        gw_rc rc;

        gw_err_clear(&err);
        rc = gw_access_event(cases[i].code, cases[i].current, cases[i].decision,
                             &ev, &err);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(rc), gw_rc_name(cases[i].rc));
        if (rc == GW_OK && ev != cases[i].ev)
            fail_msg("case '%s': event %s, expected %s", cases[i].name,
                     gw_case_event_name(ev), gw_case_event_name(cases[i].ev));
        if (rc != GW_OK && err.detail[0] == '\0')
            fail_msg("case '%s': refused without a reason", cases[i].name);
    }
}

/* --- gw_access_send --------------------------------------------------- */

/* The client roles whose events these are (bit per enum gw_client_role). */
#define C(r) (1u << (r))

static unsigned
senders(enum gw_case_event e)
{
    switch (e) {
    case GW_EV_SUBMIT:
        return C(GW_CLIENT_EHR);
    case GW_EV_APPLY:
    case GW_EV_REAPPLY:
        return C(GW_CLIENT_PHARMACY);
    case GW_EV_SUPPLEMENT:
        return C(GW_CLIENT_EHR) | C(GW_CLIENT_PHARMACY);
    case GW_EV_REGISTER:
    case GW_EV_REQUEST_SUPPLEMENT:
    case GW_EV_SUPPLEMENT_RECEIVED:
    case GW_EV_GRANT:
    case GW_EV_REJECT:
    case GW_EV_DISMISS:
        return C(GW_CLIENT_LV);
    default: /* purge: the gateway's own, never a client's */
        return 0;
    }
}

/* The status an event fits and where it leads; -1 if it does not fit. */
static int
fits(enum gw_case_status s, enum gw_case_event e)
{
    switch (e) {
    case GW_EV_SUBMIT:
        return s == GW_CASE_NONE ? GW_CASE_M : -1;
    case GW_EV_APPLY:
        return s == GW_CASE_M ? GW_CASE_A : -1;
    case GW_EV_REAPPLY:
        return s == GW_CASE_BEV ? GW_CASE_A : -1;
    case GW_EV_REGISTER:
        return s == GW_CASE_A ? GW_CASE_H : -1;
    case GW_EV_REQUEST_SUPPLEMENT:
        return s == GW_CASE_H ? GW_CASE_KB : -1;
    case GW_EV_SUPPLEMENT:
        return s == GW_CASE_KB ? GW_CASE_K : -1;
    case GW_EV_SUPPLEMENT_RECEIVED:
        return s == GW_CASE_K ? GW_CASE_H : -1;
    case GW_EV_GRANT:
    case GW_EV_REJECT:
    case GW_EV_DISMISS:
        if (s != GW_CASE_H && s != GW_CASE_KB && s != GW_CASE_K)
            return -1;
        return e == GW_EV_GRANT    ? GW_CASE_BEV
               : e == GW_EV_REJECT ? GW_CASE_AVS
                                   : GW_CASE_AVI;
    case GW_EV_PURGE:
        return (s == GW_CASE_M || s == GW_CASE_BEV || s == GW_CASE_AVS ||
                s == GW_CASE_AVI)
                   ? GW_CASE_NONE
                   : -1;
    default:
        return -1;
    }
}

static void
test_access_send_every_role_event_status(void **state)
{
    int allowed[GW_CLIENT_NROLE] = {0};
    (void)state;

    for (int r = 0; r < GW_CLIENT_NROLE; r++)
        for (int e = 0; e < GW_EV_NEVENT; e++)
            for (int s = 0; s < GW_CASE_NSTATUS; s++) {
                struct gw_principal p = {"client", r, "7350000000016",
                                         "SE2321000016-DOC1"};
                enum gw_case_status to = GW_CASE_NSTATUS;
                int want = fits(s, e);
                int role_ok = (senders(e) & C(r)) != 0;
                struct gw_err err;
                gw_rc rc, exp;

                gw_err_clear(&err);
                rc = gw_access_send(&p, s, e, &to, &err);
                if (r == GW_CLIENT_OPERATOR)
                    exp = GW_EFORBIDDEN; /* whatever the status */
                else if (want < 0)
                    exp = GW_ESTATE;
                else if (!role_ok)
                    exp = GW_EFORBIDDEN;
                else
                    exp = GW_OK;
                if (rc != exp)
                    fail_msg("%s sends %s in %s: rc %s, expected %s",
                             gw_client_role_name(r), gw_case_event_name(e),
                             gw_case_status_code(s), gw_rc_name(rc),
                             gw_rc_name(exp));
                if (exp == GW_OK && (int)to != want)
                    fail_msg("%s sends %s in %s: to %s, expected %s",
                             gw_client_role_name(r), gw_case_event_name(e),
                             gw_case_status_code(s), gw_case_status_code(to),
                             gw_case_status_code(want));
                if (exp != GW_OK && to != GW_CASE_NSTATUS)
                    fail_msg("%s sends %s in %s: refusal set *to",
                             gw_client_role_name(r), gw_case_event_name(e),
                             gw_case_status_code(s));
                if (exp != GW_OK && err.detail[0] == '\0')
                    fail_msg("%s sends %s in %s: refused without a reason",
                             gw_client_role_name(r), gw_case_event_name(e),
                             gw_case_status_code(s));
                if (exp == GW_OK)
                    allowed[r]++;
            }
    /* Counted by hand: ehr submit + supplement; pharmacy apply, reapply,
     * supplement; lv register, request, received, 3 decisions x 3. */
    assert_int_equal(allowed[GW_CLIENT_EHR], 2);
    assert_int_equal(allowed[GW_CLIENT_PHARMACY], 3);
    assert_int_equal(allowed[GW_CLIENT_LV], 3 + 9);
    assert_int_equal(allowed[GW_CLIENT_OPERATOR], 0);
}

/* --- gw_access_read --------------------------------------------------- */

#define DOC1 "SE2321000016-DOC1"
#define DOC2 "SE2321000016-DOC2"
#define GLN1 "7350000000016"
#define GLN2 "7350000000023"

static void
test_access_read_by_role(void **state)
{
    enum { NO = -1 };
    static const struct {
        const char *name;
        enum gw_client_role role;
        const char *gln, *user;
        enum gw_case_status status;
        const char *case_gln;
        int lookup;
        gw_rc rc;
        int redact; /* on GW_OK */
    } cases[] = {
        {"ehr without a user", GW_CLIENT_EHR, NULL, NULL, GW_CASE_M, NULL, 0,
         GW_EUNAUTH, NO},
        {"ehr with an empty user", GW_CLIENT_EHR, NULL, "", GW_CASE_M, NULL, 0,
         GW_EUNAUTH, NO},
        {"ehr, own case in M, unredacted", GW_CLIENT_EHR, NULL, DOC1, GW_CASE_M,
         NULL, 0, GW_OK, 0},
        {"ehr, own case in Bev, unredacted", GW_CLIENT_EHR, NULL, DOC1,
         GW_CASE_BEV, GLN1, 0, GW_OK, 0},
        {"ehr, another prescriber's case", GW_CLIENT_EHR, NULL, DOC2, GW_CASE_M,
         NULL, 0, GW_ENOTFOUND, NO},
        {"ehr, another's case even when 'looked up'", GW_CLIENT_EHR, NULL, DOC2,
         GW_CASE_A, GLN1, 1, GW_ENOTFOUND, NO},
        {"pharmacy naming its GLN, redacted", GW_CLIENT_PHARMACY, GLN1, NULL,
         GW_CASE_A, GLN1, 0, GW_OK, 1},
        {"pharmacy that found it by look-up, redacted", GW_CLIENT_PHARMACY,
         GLN2, NULL, GW_CASE_M, NULL, 1, GW_OK, 1},
        {"pharmacy, look-up of another's case, redacted", GW_CLIENT_PHARMACY,
         GLN2, NULL, GW_CASE_H, GLN1, 1, GW_OK, 1},
        {"pharmacy, another pharmacy's case", GW_CLIENT_PHARMACY, GLN2, NULL,
         GW_CASE_A, GLN1, 0, GW_ENOTFOUND, NO},
        {"pharmacy, case without pharmacy", GW_CLIENT_PHARMACY, GLN1, NULL,
         GW_CASE_M, NULL, 0, GW_ENOTFOUND, NO},
        {"pharmacy without GLN, case without pharmacy", GW_CLIENT_PHARMACY,
         NULL, NULL, GW_CASE_M, NULL, 0, GW_ENOTFOUND, NO},
        {"pharmacy with empty GLN, case with empty GLN", GW_CLIENT_PHARMACY, "",
         NULL, GW_CASE_M, "", 0, GW_ENOTFOUND, NO},
        {"lv, motivation only", GW_CLIENT_LV, NULL, NULL, GW_CASE_M, NULL, 0,
         GW_ENOTFOUND, NO},
        {"lv, no case", GW_CLIENT_LV, NULL, NULL, GW_CASE_NONE, NULL, 0,
         GW_ENOTFOUND, NO},
        {"lv, applied", GW_CLIENT_LV, NULL, NULL, GW_CASE_A, GLN1, 0, GW_OK, 0},
        {"lv, handled", GW_CLIENT_LV, NULL, NULL, GW_CASE_H, GLN1, 0, GW_OK, 0},
        {"lv, supplement requested", GW_CLIENT_LV, NULL, NULL, GW_CASE_KB, GLN1,
         0, GW_OK, 0},
        {"lv, supplemented", GW_CLIENT_LV, NULL, NULL, GW_CASE_K, GLN1, 0,
         GW_OK, 0},
        {"lv, granted", GW_CLIENT_LV, NULL, NULL, GW_CASE_BEV, GLN1, 0, GW_OK,
         0},
        {"lv, rejected", GW_CLIENT_LV, NULL, NULL, GW_CASE_AVS, GLN1, 0, GW_OK,
         0},
        {"lv, dismissed", GW_CLIENT_LV, NULL, NULL, GW_CASE_AVI, GLN1, 0, GW_OK,
         0},
        {"operator, own-looking user", GW_CLIENT_OPERATOR, GLN1, DOC1,
         GW_CASE_H, GLN1, 1, GW_EFORBIDDEN, NO},
        {"operator", GW_CLIENT_OPERATOR, NULL, NULL, GW_CASE_M, NULL, 0,
         GW_EFORBIDDEN, NO},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        struct gw_principal p = {"client", cases[i].role, cases[i].gln,
                                 cases[i].user};
        struct gw_case_access c = {cases[i].status, DOC1, cases[i].case_gln};
        struct gw_err err;
        int redact = 42;
        gw_rc rc;

        gw_err_clear(&err);
        rc = gw_access_read(&p, &c, cases[i].lookup, &redact, &err);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(rc), gw_rc_name(cases[i].rc));
        if (rc == GW_OK && redact != cases[i].redact)
            fail_msg("case '%s': redact %d, expected %d", cases[i].name, redact,
                     cases[i].redact);
        if (rc != GW_OK && err.detail[0] == '\0')
            fail_msg("case '%s': refused without a reason", cases[i].name);
        /* Not-yours says exactly what unknown says: nothing more. */
        if (rc == GW_ENOTFOUND &&
            (strcmp(err.detail, GW_ACCESS_NO_SUCH_CASE) != 0 ||
             err.path[0] != '\0'))
            fail_msg("case '%s': refusal '%s' at '%s' differs from an "
                     "unknown case's",
                     cases[i].name, err.detail, err.path);
        /* What depends on the caller alone is said before any look-up. */
        if (rc == GW_EUNAUTH || rc == GW_EFORBIDDEN) {
            gw_err_clear(&err);
            if (gw_access_read_any(&p, &err) != rc)
                fail_msg("case '%s': gw_access_read_any does not refuse it "
                         "before the look-up",
                         cases[i].name);
        }
    }
}

/* A pharmacy is never handed an unredacted case, whatever the inputs. */
static void
test_access_pharmacy_read_is_never_unredacted(void **state)
{
    static const char *const glns[] = {NULL, "", GLN1, GLN2};
    (void)state;
    for (int s = 0; s < GW_CASE_NSTATUS; s++)
        for (size_t g = 0; g < N(glns); g++)
            for (size_t cg = 0; cg < N(glns); cg++)
                for (int lookup = 0; lookup < 2; lookup++) {
                    struct gw_principal p = {"apotek", GW_CLIENT_PHARMACY,
                                             glns[g], DOC1};
                    struct gw_case_access c = {s, DOC1, glns[cg]};
                    int redact = 0;
                    if (gw_access_read(&p, &c, lookup, &redact, NULL) ==
                            GW_OK &&
                        redact != 1)
                        fail_msg("pharmacy read unredacted: status %s, gln "
                                 "%zu, case gln %zu, lookup %d",
                                 gw_case_status_code(s), g, cg, lookup);
                }
}

/* --- gw_access_consent ------------------------------------------------ */

#define DAY (int64_t)(24 * 3600 * 1000)
/* A month is about 30.44 days; boundaries are tested a day either side,
 * so the test does not depend on how the months are counted. */
#define MONTHS(m) ((int64_t)((m)*30.44 * 24 * 3600 * 1000))

static void
test_access_consent_boundaries(void **state)
{
    const int64_t now = 1790000000000LL; /* 2026-09-21 */
    static const struct {
        const char *name;
        int64_t consented_ago, applied_ago, active_ago; /* -1: never */
        gw_rc rc;
    } cases[] = {
        {"fresh consent, never applied", DAY, -1, DAY, GW_OK},
        {"never applied, consented a day short of 12 months", MONTHS(12) - DAY,
         -1, DAY, GW_OK},
        {"never applied, consented a day past 12 months", MONTHS(12) + DAY, -1,
         DAY, GW_ECONSENT},
        {"never applied and no activity recorded, 13 months", MONTHS(13), -1,
         -1, GW_ECONSENT},
        {"old consent, application a day short of 12 months ago", MONTHS(30),
         MONTHS(12) - DAY, MONTHS(12) - DAY, GW_OK},
        {"old consent, application a day past 12 months ago", MONTHS(30),
         MONTHS(12) + DAY, DAY, GW_ECONSENT},
        {"old consent, recent application", MONTHS(20), MONTHS(1), MONTHS(1),
         GW_OK},
        {"recent renewal after an old application", MONTHS(1), MONTHS(14),
         MONTHS(14), GW_OK},
        {"active a day short of 36 months ago (renewed within 12)", MONTHS(11),
         MONTHS(11), MONTHS(36) - DAY, GW_OK},
        {"application recent but nothing active for 36 months + a day",
         MONTHS(40), MONTHS(6), MONTHS(36) + DAY, GW_ECONSENT},
        {"application recent, active a day short of 36 months", MONTHS(40),
         MONTHS(6), MONTHS(36) - DAY, GW_OK},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
#define AT(ago) ((ago) < 0 ? 0 : now - (ago))
        struct gw_err err;
        gw_rc rc;

        gw_err_clear(&err);
        rc = gw_access_consent(AT(cases[i].consented_ago),
                               AT(cases[i].applied_ago),
                               AT(cases[i].active_ago), now, &err);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(rc), gw_rc_name(cases[i].rc));
        if (rc != GW_OK && strstr(err.detail, "renew") == NULL)
            fail_msg("case '%s': reason does not say to renew: %s",
                     cases[i].name, err.detail);
#undef AT
    }
}

/* --- role names ------------------------------------------------------- */

static void
test_access_client_role_names_round_trip(void **state)
{
    static const struct {
        const char *name, *s;
        gw_rc rc;
        enum gw_client_role role;
    } cases[] = {
        {"ehr", "ehr", GW_OK, GW_CLIENT_EHR},
        {"pharmacy", "pharmacy", GW_OK, GW_CLIENT_PHARMACY},
        {"lv", "lv", GW_OK, GW_CLIENT_LV},
        {"operator", "operator", GW_OK, GW_CLIENT_OPERATOR},
        {"upper case", "LV", GW_EINVAL, 0},
        {"prefix", "pharm", GW_EINVAL, 0},
        {"longer", "ehrs", GW_EINVAL, 0},
        {"empty", "", GW_EINVAL, 0},
        {"NULL", NULL, GW_EINVAL, 0},
        {"a case role, not a client role", "prescriber", GW_EINVAL, 0},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        enum gw_client_role r = GW_CLIENT_NROLE;
        gw_rc rc = gw_client_role_parse(cases[i].s, &r);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %s", cases[i].name, gw_rc_name(rc));
        if (rc == GW_OK && r != cases[i].role)
            fail_msg("case '%s': role %d", cases[i].name, (int)r);
        if (rc == GW_OK && strcmp(gw_client_role_name(r), cases[i].s) != 0)
            fail_msg("case '%s': name %s", cases[i].name,
                     gw_client_role_name(r));
        if (rc != GW_OK && r != GW_CLIENT_NROLE)
            fail_msg("case '%s': refusal set the role", cases[i].name);
    }
    assert_string_equal(gw_client_role_name(GW_CLIENT_NROLE), "?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access_event_maps_every_code),
        cmocka_unit_test(test_access_send_every_role_event_status),
        cmocka_unit_test(test_access_read_by_role),
        cmocka_unit_test(test_access_pharmacy_read_is_never_unredacted),
        cmocka_unit_test(test_access_consent_boundaries),
        cmocka_unit_test(test_access_client_role_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
