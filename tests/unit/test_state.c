/*
 * test_state.c - the case state machine, over every status x event x role.
 *
 * The expectation below is written as rules, independently of the table in
 * state.c, and the test walks the whole cross product: every allowed
 * transition lands where the domain says, every other one is refused with
 * ESTATE (the event does not fit the status) or EFORBIDDEN (it fits, but
 * not for this role).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "klas/state.h"

static int
in(enum gw_case_status s, enum gw_case_status a, enum gw_case_status b,
   enum gw_case_status c, enum gw_case_status d)
{
    return s == a || s == b || s == c || s == d;
}

/* Returns the status after, or -1 if the status does not fit the event;
 * *role_ok says whether the role may trigger it. */
static int
expect(enum gw_case_status from, enum gw_case_event ev, enum gw_role role,
       int *role_ok)
{
    const enum gw_case_status X = GW_CASE_NSTATUS; /* matches nothing */

    *role_ok = 0;
    switch (ev) {
    case GW_EV_SUBMIT:
        *role_ok = role == GW_ROLE_PRESCRIBER;
        return from == GW_CASE_NONE ? GW_CASE_M : -1;
    case GW_EV_APPLY:
        *role_ok = role == GW_ROLE_PHARMACY;
        return from == GW_CASE_M ? GW_CASE_A : -1;
    case GW_EV_REAPPLY:
        *role_ok = role == GW_ROLE_PHARMACY;
        return from == GW_CASE_BEV ? GW_CASE_A : -1;
    case GW_EV_REGISTER:
        *role_ok = role == GW_ROLE_LV;
        return from == GW_CASE_A ? GW_CASE_H : -1;
    case GW_EV_REQUEST_SUPPLEMENT:
        *role_ok = role == GW_ROLE_LV;
        return from == GW_CASE_H ? GW_CASE_KB : -1;
    case GW_EV_SUPPLEMENT:
        *role_ok = role == GW_ROLE_PRESCRIBER || role == GW_ROLE_PHARMACY;
        return from == GW_CASE_KB ? GW_CASE_K : -1;
    case GW_EV_SUPPLEMENT_RECEIVED:
        *role_ok = role == GW_ROLE_LV || role == GW_ROLE_GATEWAY;
        return from == GW_CASE_K ? GW_CASE_H : -1;
    case GW_EV_GRANT:
        *role_ok = role == GW_ROLE_LV;
        return in(from, GW_CASE_H, GW_CASE_KB, GW_CASE_K, X) ? GW_CASE_BEV : -1;
    case GW_EV_REJECT:
        *role_ok = role == GW_ROLE_LV;
        return in(from, GW_CASE_H, GW_CASE_KB, GW_CASE_K, X) ? GW_CASE_AVS : -1;
    case GW_EV_DISMISS:
        *role_ok = role == GW_ROLE_LV;
        return in(from, GW_CASE_H, GW_CASE_KB, GW_CASE_K, X) ? GW_CASE_AVI : -1;
    case GW_EV_PURGE:
        *role_ok = role == GW_ROLE_GATEWAY;
        return in(from, GW_CASE_M, GW_CASE_BEV, GW_CASE_AVS, GW_CASE_AVI)
                   ? GW_CASE_NONE
                   : -1;
    default:
        return -1;
    }
}

static void
test_state_every_status_event_role(void **state)
{
    int allowed = 0, refused_state = 0, refused_role = 0;
    (void)state;

    for (int s = 0; s < GW_CASE_NSTATUS; s++)
        for (int e = 0; e < GW_EV_NEVENT; e++)
            for (int r = 0; r < GW_ROLE_NROLE; r++) {
                enum gw_case_status to = GW_CASE_NSTATUS;
                struct gw_err err;
                int role_ok, want;
                gw_rc rc;

                gw_err_clear(&err);
                want = expect(s, e, r, &role_ok);
                rc = gw_case_transition(s, e, r, &to, &err);
                if (want >= 0 && role_ok) {
                    if (rc != GW_OK || (int)to != want)
                        fail_msg("%s by %s in %s: rc %s to %s, expected %s",
                                 gw_case_event_name(e), gw_role_name(r),
                                 gw_case_status_code(s), gw_rc_name(rc),
                                 gw_case_status_code(to),
                                 gw_case_status_code(want));
                    allowed++;
                } else {
                    gw_rc exp = want < 0 ? GW_ESTATE : GW_EFORBIDDEN;
                    if (rc != exp)
                        fail_msg("%s by %s in %s: rc %s, expected %s",
                                 gw_case_event_name(e), gw_role_name(r),
                                 gw_case_status_code(s), gw_rc_name(rc),
                                 gw_rc_name(exp));
                    if (to != GW_CASE_NSTATUS)
                        fail_msg("refusal wrote the out-parameter");
                    if (err.detail[0] == '\0')
                        fail_msg("refusal without a reason");
                    if (exp == GW_EFORBIDDEN)
                        refused_role++;
                    else
                        refused_state++;
                }
            }
    /* 9 statuses x 11 events x 4 roles, and the allowed ones counted by
     * hand from DOMAIN.md: submit, apply, reapply, register, request,
     * supplement x2 roles, received x2 roles, 3 decisions x 3 statuses,
     * purge x4 statuses. */
    assert_int_equal(allowed + refused_state + refused_role, 9 * 11 * 4);
    assert_int_equal(allowed, 1 + 1 + 1 + 1 + 1 + 2 + 2 + 9 + 4);
}

static void
test_state_second_application_is_refused_with_reason(void **state)
{
    static const enum gw_case_status after[] = {
        GW_CASE_A, GW_CASE_H, GW_CASE_KB, GW_CASE_K,
        GW_CASE_BEV, GW_CASE_AVS, GW_CASE_AVI};
    (void)state;
    for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
        struct gw_err err;
        gw_err_clear(&err);
        assert_int_equal(gw_case_transition(after[i], GW_EV_APPLY,
                                            GW_ROLE_PHARMACY, NULL, &err),
                         GW_ESTATE);
        assert_non_null(strstr(err.detail, "at most one application"));
    }
}

static void
test_state_locked_and_decided(void **state)
{
    (void)state;
    for (int s = 0; s < GW_CASE_NSTATUS; s++) {
        int locked = s == GW_CASE_A || s == GW_CASE_H || s == GW_CASE_KB ||
                     s == GW_CASE_K;
        int decided = s == GW_CASE_BEV || s == GW_CASE_AVS || s == GW_CASE_AVI;
        assert_int_equal(gw_case_motivation_locked(s), locked);
        assert_int_equal(gw_case_is_decided(s), decided);
        /* Decided cases take no event but re-application and purge. */
        if (decided)
            for (int e = 0; e < GW_EV_NEVENT; e++)
                for (int r = 0; r < GW_ROLE_NROLE; r++)
                    if (gw_case_transition(s, e, r, NULL, NULL) == GW_OK)
                        assert_true(e == GW_EV_PURGE ||
                                    (e == GW_EV_REAPPLY && s == GW_CASE_BEV));
    }
}

static void
test_state_codes_names_and_parsing(void **state)
{
    static const struct {
        enum gw_case_status s;
        const char *code, *sv;
    } cases[] = {
        {GW_CASE_M, "M", "Motiverad"},
        {GW_CASE_A, "A", "Ansökt"},
        {GW_CASE_H, "H", "Handläggs"},
        {GW_CASE_KB, "KB", "Komplettering begärd"},
        {GW_CASE_K, "K", "Kompletterad"},
        {GW_CASE_BEV, "Bev", "Beviljad"},
        {GW_CASE_AVS, "Avs", "Avslag"},
        {GW_CASE_AVI, "Avi", "Avvisad"},
    };
    enum gw_case_status s;
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_string_equal(gw_case_status_code(cases[i].s), cases[i].code);
        assert_string_equal(gw_case_status_name_sv(cases[i].s), cases[i].sv);
        assert_int_equal(gw_case_status_parse(cases[i].code, &s), GW_OK);
        assert_int_equal(s, cases[i].s);
    }
    assert_int_equal(gw_case_status_parse("bev", &s), GW_EINVAL);
    assert_int_equal(gw_case_status_parse("", &s), GW_EINVAL);
    assert_int_equal(gw_case_status_parse(NULL, &s), GW_EINVAL);
    assert_int_equal(gw_case_transition(GW_CASE_NSTATUS, GW_EV_APPLY,
                                        GW_ROLE_PHARMACY, NULL, NULL),
                     GW_EINVAL);
}

static void
test_state_reapply_window_is_36_months(void **state)
{
    static const struct {
        const char *name;
        int dy, dm, dd, ty, tm, td, open;
    } cases[] = {
        {"same day", 2024, 5, 10, 2024, 5, 10, 1},
        {"a year later", 2024, 5, 10, 2025, 5, 10, 1},
        {"last day", 2024, 5, 10, 2027, 5, 9, 1},
        {"36 months on", 2024, 5, 10, 2027, 5, 10, 0},
        {"later", 2024, 5, 10, 2030, 1, 1, 0},
        {"before the decision", 2024, 5, 10, 2024, 5, 9, 0},
        {"leap-day decision, 28 Feb", 2024, 2, 29, 2027, 2, 28, 1},
        {"leap-day decision, 1 Mar", 2024, 2, 29, 2027, 3, 1, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (gw_case_reapply_open(cases[i].dy, cases[i].dm, cases[i].dd,
                                 cases[i].ty, cases[i].tm, cases[i].td) !=
            cases[i].open)
            fail_msg("case '%s'", cases[i].name);
}

static void
test_state_who_may_supplement(void **state)
{
#define P "SE2321000016-DOC1"
#define Q "SE2321000016-DOC2"
#define CLINIC "SE2321000016-KLIN"
#define OTHER "SE2321000016-KL2"
#define GLN "7350000000016"
    static const struct {
        const char *name;
        enum gw_role role;
        const char *caller, *clinic;
        gw_rc rc;
    } cases[] = {
        {"the prescriber", GW_ROLE_PRESCRIBER, P, OTHER, GW_OK},
        {"a colleague at the clinic", GW_ROLE_PRESCRIBER, Q, CLINIC, GW_OK},
        {"a prescriber elsewhere", GW_ROLE_PRESCRIBER, Q, OTHER, GW_EFORBIDDEN},
        {"no clinic given", GW_ROLE_PRESCRIBER, Q, NULL, GW_EFORBIDDEN},
        {"empty clinic", GW_ROLE_PRESCRIBER, Q, "", GW_EFORBIDDEN},
        {"the pharmacy that applied", GW_ROLE_PHARMACY, GLN, NULL, GW_OK},
        {"another pharmacy", GW_ROLE_PHARMACY, "7359999999998", NULL,
         GW_EFORBIDDEN},
        {"LV", GW_ROLE_LV, P, CLINIC, GW_EFORBIDDEN},
        {"the gateway", GW_ROLE_GATEWAY, P, CLINIC, GW_EFORBIDDEN},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_err err;
        gw_err_clear(&err);
        gw_rc rc = gw_case_may_supplement(cases[i].role, P, CLINIC, GLN,
                                          cases[i].caller, cases[i].clinic,
                                          &err);
        if (rc != cases[i].rc)
            fail_msg("case '%s': %s", cases[i].name, gw_rc_name(rc));
        if (rc != GW_OK && err.detail[0] == '\0')
            fail_msg("case '%s': no reason", cases[i].name);
    }
}

/* The rows' columns: the status list, Task.status, the in-force status. */
static void
test_state_rows_columns(void **state)
{
    char buf[64], small[6];

    (void)state;
    assert_string_equal(gw_case_status_list(buf, sizeof(buf)),
                        "M, A, H, KB, K, Bev, Avs, Avi");
    /* Cut, never overrun. */
    assert_string_equal(gw_case_status_list(small, sizeof(small)), "M, A,");
    assert_int_equal(gw_case_status_in_force(), GW_CASE_BEV);
    assert_string_equal(gw_case_status_in_force_code(), "Bev");
    assert_string_equal(gw_case_status_task(GW_CASE_KB), "on-hold");
    assert_string_equal(gw_case_status_task(GW_CASE_NONE), "draft");
    assert_string_equal(gw_case_status_task(GW_CASE_NSTATUS), "draft");
    assert_true(gw_case_status_has(GW_CASE_M, GW_ST_PURGEABLE));
    assert_false(gw_case_status_has(GW_CASE_H, GW_ST_PURGEABLE));
    assert_false(gw_case_status_has(GW_CASE_NSTATUS, GW_ST_DECIDED));
    assert_int_equal(GW_STATUSES_PURGEABLE,
                     GW_STATUS_BIT(GW_CASE_M) | GW_STATUS_BIT(GW_CASE_BEV) |
                         GW_STATUS_BIT(GW_CASE_AVS) |
                         GW_STATUS_BIT(GW_CASE_AVI));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_every_status_event_role),
        cmocka_unit_test(test_state_second_application_is_refused_with_reason),
        cmocka_unit_test(test_state_locked_and_decided),
        cmocka_unit_test(test_state_codes_names_and_parsing),
        cmocka_unit_test(test_state_reapply_window_is_36_months),
        cmocka_unit_test(test_state_who_may_supplement),
        cmocka_unit_test(test_state_rows_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
