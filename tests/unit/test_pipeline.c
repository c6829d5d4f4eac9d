/*
 * test_pipeline.c - the one way every message takes (src/pipeline/),
 * against a real store in a temporary folder, the real validator and the
 * real case views, with the example messages of
 * fhir-profiles/examples/valid.
 *
 * What it proves: an enskild case runs M -> A -> H -> KB -> K -> H -> Bev
 * with each party in its role; every refusal (wrong role, wrong status,
 * second application, applying in another pharmacy's name, wrong patient,
 * a supplement from another clinic, a reused message id, HSA saying no or
 * not answering, consent due) leaves no case, no outbox item and no status
 * change behind; an identical resend is answered as the first time; at
 * the counter a granted licence covers its patient and product within its
 * validity and amount, and a resent dispensing counts once; a pharmacy is
 * refused a hidden attachment and finds a case only with its patient.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <string.h>

#include "core/log.h"
#include "fhir/fhir.h"
#include "map/view.h"
#include "pipeline/pipeline.h"
#include "sched/clock.h"
#include "validate/validate.h"

#include "store_fixture.h"
#include "text_fixture.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define EX "fhir-profiles/examples/valid/"
#define BASE "http://gw.test/fhir"
/* The referensnummer the examples carry; replaced by the gateway's. */
#define EXAMPLE_REFNR "2026658327"
#define PATIENT "201006301111"
#define OTHER_PATIENT "191212121212"
#define GLN1 "7350000000016"
#define GLN2 "7350000000023"
#define NPLID "20130603015935"
/* 2026-03-01T10:00:00Z: the decision example's licence is valid. */
#define T0 1772359200000LL
#define MONTH_MS (int64_t)(30.44 * 24 * 3600 * 1000)

static const struct gw_principal ehr1 = {"journal1", GW_CLIENT_EHR, NULL,
                                         "SE2321000016-DOC1"};
static const struct gw_principal ehr2 = {"journal1", GW_CLIENT_EHR, NULL,
                                         "SE2321000016-DOC2"};
/* A prescriber at another clinic, not allowed to supplement. */
static const struct gw_principal ehr9 = {"journal1", GW_CLIENT_EHR, NULL,
                                         "SE2321000016-DOC9"};
static const struct gw_principal pharm1 = {"apotek1", GW_CLIENT_PHARMACY, GLN1,
                                           NULL};
static const struct gw_principal pharm2 = {"apotek2", GW_CLIENT_PHARMACY, GLN2,
                                           NULL};
static const struct gw_principal lv = {"lv", GW_CLIENT_LV, NULL, NULL};
static const struct gw_principal ops = {"ops", GW_CLIENT_OPERATOR, NULL, NULL};

static struct gw_views *views;
static struct gw_validator *validator;

static int pipeline_setup(void **state);
static int pipeline_teardown(void **state);

/* The HSA check, faked: answers rc and counts calls. */
struct fake_hsa {
    gw_rc rc;
    int calls;
    char last[40];
};

static gw_rc
fake_check(void *ctx, const struct gw_msg_facts *f, struct gw_err *err)
{
    struct fake_hsa *h = ctx;

    h->calls++;
    snprintf(h->last, sizeof(h->last), "%s",
             f->prescriber_hsa[0] ? f->prescriber_hsa : f->sender_hsa);
    if (h->rc != GW_OK)
        return gw_err_set(err, h->rc, NULL, "fake HSA says %s",
                          gw_rc_name(h->rc));
    return GW_OK;
}

struct t {
    struct fixture *fx;
    struct gw_pipeline *pl;
    struct fake_hsa hsa;
    char refnr[16];
};

/* --- helpers ---------------------------------------------------------- */

/* An example message as a caller would send it for this case: the
 * gateway's referensnummer, optionally a Bundle.identifier and one edit. */
static char *
message(const struct t *t, const char *file, const char *msgid,
        const char *from, const char *to)
{
    char rel[256];
    char *msg;

    snprintf(rel, sizeof(rel), EX "%s", file);
    msg = text_slurp(rel);
    if (t->refnr[0] != '\0')
        msg = text_replace_all(msg, EXAMPLE_REFNR, t->refnr);
    if (msgid != NULL) {
        char ident[200];
        snprintf(ident, sizeof(ident),
                 "<identifier><system value=\"urn:ietf:rfc:3986\"/>"
                 "<value value=\"urn:uuid:%s\"/></identifier>"
                 "<type value=\"message\"/>",
                 msgid);
        msg = text_replace(msg, "<type value=\"message\"/>", ident);
    }
    if (from != NULL && strcmp(from, "@refnr") == 0)
        msg = text_replace_all(msg, t->refnr, to); /* another case */
    else if (from != NULL)
        msg = text_replace(msg, from, to);
    return msg;
}

static void
process(struct t *t, const struct gw_principal *who, const char *msg,
        struct gw_answer *a)
{
    const struct gw_call c = {who, BASE, "test", GW_FHIR_JSON};
    gw_pipeline_process(t->pl, &c, msg, strlen(msg), 0, a);
}

/* Sends an example; returns the answer's rc, a released. */
static gw_rc
send(struct t *t, const struct gw_principal *who, const char *file,
     const char *msgid, const char *from, const char *to, const char *name)
{
    struct gw_answer a;
    char *msg = message(t, file, msgid, from, to);
    gw_rc rc;

    process(t, who, msg, &a);
    rc = a.rc;
    if (rc == GW_OK && (a.status != 200 || a.doc == NULL))
        fail_msg("case '%s': OK with status %d, doc %p", name, a.status,
                 (void *)a.doc);
    if (rc != GW_OK && a.doc == NULL)
        fail_msg("case '%s': refusal %s without an OperationOutcome", name,
                 gw_rc_name(rc));
    if (rc != GW_OK && a.status != gw_rc_http_status(rc))
        fail_msg("case '%s': refusal %s with status %d", name, gw_rc_name(rc),
                 a.status);
    gw_answer_release(&a);
    free(msg);
    return rc;
}

static size_t
case_count(struct t *t)
{
    struct gw_case_query q;
    struct gw_case_row *rows = NULL;
    size_t n = 0;

    memset(&q, 0, sizeof(q));
    q.limit = 120;
    assert_int_equal(gw_store_case_search(t->fx->st, &q, &rows, &n), GW_OK);
    gw_case_rows_free(rows, n);
    return n;
}

static long long
outbox_count(struct t *t)
{
    long long c[4] = {0};
    assert_int_equal(gw_outbox_counts(t->fx->st, c), GW_OK);
    return c[0] + c[1] + c[2] + c[3];
}

/* Status and version of the case (status "" if none). */
static void
case_state(struct t *t, char status[8], long *version)
{
    struct gw_case_row row;

    status[0] = '\0';
    *version = 0;
    if (t->refnr[0] == '\0' ||
        gw_store_case_get(t->fx->st, t->refnr, &row) != GW_OK)
        return;
    snprintf(status, 8, "%s", row.status);
    *version = row.version;
    gw_case_row_release(&row);
}

/* Submits msg as ehr1; keeps the referensnummer. Frees msg. */
static void
submit_msg(struct t *t, char *msg)
{
    struct gw_answer a;

    process(t, &ehr1, msg, &a);
    if (a.rc != GW_OK)
        fail_msg("submit: %s", gw_rc_name(a.rc));
    /* Location: Task/<refnr>/_history/1 */
    assert_int_equal(strncmp(a.location, "Task/", 5), 0);
    snprintf(t->refnr, sizeof(t->refnr), "%.10s", a.location + 5);
    assert_int_equal(strlen(t->refnr), 10);
    assert_string_equal(a.location + 15, "/_history/1");
    gw_answer_release(&a);
    free(msg);
}

/* Submits the attachments motivation as ehr1. */
static void
submit(struct t *t)
{
    submit_msg(
        t, message(t, "motivation-enskild-attachments.xml", NULL, NULL, NULL));
}

/* The enskild case, step by step. */
static const struct step {
    const char *name;
    const struct gw_principal *who;
    const char *file;
    const char *msgid; /* where the content would repeat an earlier one */
    const char *status;
    int outbox; /* items it queues */
} steps[] = {
    {"the pharmacy applies", &pharm1, "application-enskild.xml", NULL, "A",
     1 /* application to LV */},
    {"LV registers", &lv, "application-registered.xml", NULL, "H",
     1 /* notify the pharmacy */},
    {"LV asks the prescriber for more", &lv,
     "supplement-request-to-prescriber.xml", NULL, "KB", 0},
    {"a colleague at the clinic supplements", &ehr2,
     "supplement-by-prescriber.xml", NULL, "K", 1 /* supplement to LV */},
    {"LV has the supplement", &lv, "application-registered.xml",
     "9a1e0000-0000-4000-8000-000000000006", "H", 0},
    {"LV grants", &lv, "decision-bev.xml", NULL, "Bev",
     1 /* notify the pharmacy */},
};

/* Runs the case up to and including step `upto` (-1: only submitted). */
static void
advance(struct t *t, int upto)
{
    submit(t);
    for (int i = 0; i <= upto; i++)
        if (send(t, steps[i].who, steps[i].file, steps[i].msgid, NULL, NULL,
                 steps[i].name) != GW_OK)
            fail_msg("advance: step '%s' refused", steps[i].name);
}

enum {
    AT_M = -1,
    AT_A = 0,
    AT_H = 1,
    AT_KB = 2,
    AT_K = 3,
    AT_H2 = 4,
    AT_BEV = 5
};

/* --- the whole case -------------------------------------------------- */

static void
test_pipeline_enskild_case_runs_to_a_grant(void **state)
{
    struct t *t = *state;
    char status[8];
    long version;

    submit(t);
    case_state(t, status, &version);
    assert_string_equal(status, "M");
    assert_int_equal(version, 1);
    assert_int_equal(outbox_count(t), 1); /* the chosen pharmacy */
    assert_int_equal(t->hsa.calls, 1);
    assert_string_equal(t->hsa.last, "SE2321000016-DOC1");
    for (size_t i = 0; i < N(steps); i++) {
        long long before = outbox_count(t);
        gw_rc rc = send(t, steps[i].who, steps[i].file, steps[i].msgid, NULL,
                        NULL, steps[i].name);
        if (rc != GW_OK)
            fail_msg("case '%s': refused %s", steps[i].name, gw_rc_name(rc));
        case_state(t, status, &version);
        if (strcmp(status, steps[i].status) != 0)
            fail_msg("case '%s': status %s, expected %s", steps[i].name, status,
                     steps[i].status);
        if (version != (long)i + 2)
            fail_msg("case '%s': version %ld, expected %ld", steps[i].name,
                     version, (long)i + 2);
        if (outbox_count(t) - before != steps[i].outbox)
            fail_msg("case '%s': %lld outbox items, expected %d", steps[i].name,
                     outbox_count(t) - before, steps[i].outbox);
    }
    assert_int_equal(case_count(t), 1);
    /* HSA was asked for the motivation and the prescriber's supplement. */
    assert_int_equal(t->hsa.calls, 2);
    assert_string_equal(t->hsa.last, "SE2321000016-DOC2");
}

/* --- refusals leave nothing behind ---------------------------------- */

static void
test_pipeline_refusals_leave_nothing_stored(void **state)
{
    static const struct {
        const char *name;
        int at; /* how far the case has come first */
        const struct gw_principal *who;
        const char *file, *msgid, *from, *to;
        gw_rc rc;
    } cases[] = {
        /* Wrong role. */
        {"LV submits a motivation", AT_M, &lv,
         "motivation-enskild-searched.xml", NULL, NULL, NULL, GW_EFORBIDDEN},
        {"a pharmacy submits a motivation", AT_M, &pharm1,
         "motivation-enskild-searched.xml", NULL, NULL, NULL, GW_EFORBIDDEN},
        {"an operator submits a motivation", AT_M, &ops,
         "motivation-enskild-searched.xml", NULL, NULL, NULL, GW_EFORBIDDEN},
        {"an EHR applies", AT_M, &ehr1, "application-enskild.xml", NULL, NULL,
         NULL, GW_EFORBIDDEN},
        {"a pharmacy registers", AT_A, &pharm1, "application-registered.xml",
         NULL, NULL, NULL, GW_EFORBIDDEN},
        {"a pharmacy decides", AT_H, &pharm1, "decision-bev.xml", NULL, NULL,
         NULL, GW_EFORBIDDEN},
        {"an EHR decides", AT_H, &ehr1, "decision-bev.xml", NULL, NULL, NULL,
         GW_EFORBIDDEN},
        {"LV supplements", AT_KB, &lv, "supplement-by-prescriber.xml", NULL,
         NULL, NULL, GW_EFORBIDDEN},
        /* Wrong status. */
        {"registered before an application", AT_M, &lv,
         "application-registered.xml", NULL, NULL, NULL, GW_ESTATE},
        {"a decision on an application not registered", AT_A, &lv,
         "decision-bev.xml", NULL, NULL, NULL, GW_ESTATE},
        {"a supplement nobody asked for", AT_H, &ehr2,
         "supplement-by-prescriber.xml", NULL, NULL, NULL, GW_ESTATE},
        {"a supplement request before registration", AT_A, &lv,
         "supplement-request-to-prescriber.xml", NULL, NULL, NULL, GW_ESTATE},
        /* One motivation, one application. */
        {"a second application by the same pharmacy", AT_A, &pharm1,
         "application-enskild.xml", "9a1e0000-0000-4000-8000-0000000000a2",
         NULL, NULL, GW_ESTATE},
        {"a second application by another pharmacy", AT_H, &pharm2,
         "application-enskild.xml", NULL, GLN1, GLN2, GW_ESTATE},
        /* In its own name, for the right patient, from the right clinic. */
        {"a pharmacy applies in another pharmacy's name", AT_M, &pharm2,
         "application-enskild.xml", NULL, NULL, NULL, GW_EFORBIDDEN},
        {"an application for another patient", AT_M, &pharm1,
         "application-enskild.xml", NULL, PATIENT, OTHER_PATIENT, GW_ENOTFOUND},
        {"a supplement by a prescriber of another clinic", AT_KB, &ehr2,
         "supplement-by-prescriber.xml", NULL, "SE2321000016-KLIN",
         "SE2321000016-ANNAN", GW_EFORBIDDEN},
        {"a supplement by a pharmacy that did not apply", AT_KB, &pharm2,
         "supplement-by-pharmacy.xml", NULL, GLN1, GLN2, GW_EFORBIDDEN},
        {"the pharmacy supplements in another pharmacy's name", AT_KB, &pharm1,
         "supplement-by-pharmacy.xml", NULL, GLN1, GLN2, GW_EFORBIDDEN},
        {"an EHR user supplements in the case prescriber's name", AT_KB, &ehr9,
         "supplement-by-prescriber.xml", NULL, "SE2321000016-DOC2",
         "SE2321000016-DOC1", GW_EFORBIDDEN},
        {"a motivation in another prescriber's name", AT_M, &ehr2,
         "motivation-enskild-searched.xml", NULL, NULL, NULL, GW_EFORBIDDEN},
        {"a decision on an unknown case", AT_H, &lv, "decision-bev.xml", NULL,
         "@refnr", "2025112233", GW_ENOTFOUND},
    };
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        struct t *t = NULL;
        char before_status[8], after_status[8];
        long before_version, after_version;
        size_t before_cases;
        long long before_outbox;
        gw_rc rc;

        /* A fresh store per row: a refusal must not depend on the last. */
        {
            void *fresh = NULL;
            assert_int_equal(pipeline_setup(&fresh), 0);
            t = fresh;
        }
        advance(t, cases[i].at);
        case_state(t, before_status, &before_version);
        before_cases = case_count(t);
        before_outbox = outbox_count(t);
        rc = send(t, cases[i].who, cases[i].file, cases[i].msgid, cases[i].from,
                  cases[i].to, cases[i].name);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(rc), gw_rc_name(cases[i].rc));
        case_state(t, after_status, &after_version);
        if (strcmp(before_status, after_status) != 0 ||
            before_version != after_version)
            fail_msg("case '%s': the case moved from %s v%ld to %s v%ld",
                     cases[i].name, before_status, before_version, after_status,
                     after_version);
        if (case_count(t) != before_cases)
            fail_msg("case '%s': %zu cases, expected %zu", cases[i].name,
                     case_count(t), before_cases);
        if (outbox_count(t) != before_outbox)
            fail_msg("case '%s': %lld outbox items, expected %lld",
                     cases[i].name, outbox_count(t), before_outbox);
        {
            void *done = t;
            assert_int_equal(pipeline_teardown(&done), 0);
        }
    }
}

/* --- idempotency ------------------------------------------------------ */

static void
test_pipeline_reused_message_id_vs_identical_replay(void **state)
{
    struct t *t = *state;
    struct gw_answer a, b;
    char *first = message(t, "motivation-enskild-searched.xml",
                          "9a1e0000-0000-4000-8000-0000000000b1", NULL, NULL);
    char *other = message(t, "motivation-enskild-attachments.xml",
                          "9a1e0000-0000-4000-8000-0000000000b1", NULL, NULL);
    char *xa, *xb;
    size_t la, lb;

    process(t, &ehr1, first, &a);
    assert_int_equal(a.rc, GW_OK);
    assert_int_equal(a.replayed, 0);
    /* The very same message again: the very same answer. */
    process(t, &ehr1, first, &b);
    assert_int_equal(b.rc, GW_OK);
    assert_int_equal(b.replayed, 1);
    assert_string_equal(a.location, b.location);
    assert_string_equal(a.etag, b.etag);
    assert_int_equal(gw_fhir_to_xml(a.doc, &xa, &la), GW_OK);
    assert_int_equal(gw_fhir_to_xml(b.doc, &xb, &lb), GW_OK);
    assert_string_equal(xa, xb);
    free(xa);
    free(xb);
    gw_answer_release(&b);
    assert_int_equal(case_count(t), 1);
    assert_int_equal(outbox_count(t), 1);
    /* The same id for other content is refused. */
    process(t, &ehr1, other, &b);
    assert_int_equal(b.rc, GW_EDUPLICATE);
    assert_int_equal(b.status, 409);
    gw_answer_release(&b);
    assert_int_equal(case_count(t), 1);
    assert_int_equal(outbox_count(t), 1);
    /* Another sender's id space is its own. */
    gw_answer_release(&a);
    free(first);
    free(other);
}

/* Without a Bundle.identifier the content is the key: a resend of the
 * same bytes makes no second case. */
static void
test_pipeline_resend_without_id_makes_one_case(void **state)
{
    struct t *t = *state;
    char *msg = message(t, "motivation-enskild-searched.xml", NULL, NULL, NULL);
    struct gw_answer a, b;

    process(t, &ehr1, msg, &a);
    process(t, &ehr1, msg, &b);
    assert_int_equal(a.rc, GW_OK);
    assert_int_equal(b.rc, GW_OK);
    assert_int_equal(b.replayed, 1);
    assert_string_equal(a.location, b.location);
    assert_int_equal(case_count(t), 1);
    gw_answer_release(&a);
    gw_answer_release(&b);
    free(msg);
}

/* --- the HSA hook ------------------------------------------------------ */

static void
test_pipeline_hsa_check_stops_before_anything_is_stored(void **state)
{
    static const struct {
        const char *name;
        gw_rc hsa, rc;
        size_t cases;
    } cases[] = {
        {"HSA says not authorised", GW_ENOTAUTHORISED, GW_ENOTAUTHORISED, 0},
        {"HSA does not answer", GW_EUNAVAILABLE, GW_EUNAVAILABLE, 0},
        {"HSA times out", GW_ETIMEOUT, GW_ETIMEOUT, 0},
        {"HSA says yes", GW_OK, GW_OK, 1},
    };
    struct t *t = *state;
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        char msgid[64];
        int calls = t->hsa.calls;
        size_t before = case_count(t);
        long long ob = outbox_count(t);
        gw_rc rc;

        t->hsa.rc = cases[i].hsa;
        snprintf(msgid, sizeof(msgid), "9a1e0000-0000-4000-8000-%012zu", i);
        rc = send(t, &ehr1, "motivation-enskild-searched.xml", msgid, NULL,
                  NULL, cases[i].name);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(rc), gw_rc_name(cases[i].rc));
        if (t->hsa.calls != calls + 1)
            fail_msg("case '%s': HSA asked %d times", cases[i].name,
                     t->hsa.calls - calls);
        if (case_count(t) != before + cases[i].cases)
            fail_msg("case '%s': %zu new cases", cases[i].name,
                     case_count(t) - before);
        if (cases[i].cases == 0 && outbox_count(t) != ob)
            fail_msg("case '%s': the outbox grew", cases[i].name);
    }
    /* A retryable refusal is not remembered: the resend goes through. */
    t->hsa.rc = GW_OK;
    assert_int_equal(send(t, &ehr1, "motivation-enskild-searched.xml",
                          "9a1e0000-0000-4000-8000-000000000001", NULL, NULL,
                          "resend after HSA was back"),
                     GW_OK);
    assert_int_equal(case_count(t), 2);
}

static void
test_pipeline_hsa_refuses_a_prescribers_supplement(void **state)
{
    struct t *t = *state;
    char status[8];
    long v;

    advance(t, AT_KB);
    t->hsa.rc = GW_ENOTAUTHORISED;
    assert_int_equal(send(t, &ehr2, "supplement-by-prescriber.xml", NULL, NULL,
                          NULL, "supplement, HSA says no"),
                     GW_ENOTAUTHORISED);
    case_state(t, status, &v);
    assert_string_equal(status, "KB");
    /* A pharmacy's supplement is not the prescriber's: HSA is not asked. */
    {
        int calls = t->hsa.calls;
        assert_int_equal(send(t, &pharm1, "supplement-by-pharmacy.xml", NULL,
                              NULL, NULL, "supplement by the pharmacy"),
                         GW_OK);
        assert_int_equal(t->hsa.calls, calls);
    }
    case_state(t, status, &v);
    assert_string_equal(status, "K");
}

/* --- consent ---------------------------------------------------------- */

static void
test_pipeline_consent_due_until_renewed(void **state)
{
    struct t *t = *state;
    struct gw_answer a;
    const struct gw_call c = {&ehr1, BASE, "test", GW_FHIR_JSON};
    const struct gw_call c_lv = {&lv, BASE, "test", GW_FHIR_JSON};

    submit(t);
    /* 13 months without a motivation leading to an application. */
    gw_clock_set_ms(T0 + 13 * MONTH_MS);
    assert_int_equal(send(t, &ehr1, "motivation-enskild-searched.xml", NULL,
                          NULL, NULL, "submission with consent due"),
                     GW_ECONSENT);
    assert_int_equal(case_count(t), 1);
    /* Only the EHR renews. */
    gw_pipeline_renew_consent(t->pl, &c_lv, &a);
    assert_int_equal(a.rc, GW_EFORBIDDEN);
    gw_answer_release(&a);
    assert_int_equal(send(t, &ehr1, "motivation-enskild-searched.xml", NULL,
                          NULL, NULL, "still due"),
                     GW_ECONSENT);
    gw_pipeline_renew_consent(t->pl, &c, &a);
    assert_int_equal(a.rc, GW_OK);
    assert_int_equal(a.status, 200);
    gw_answer_release(&a);
    assert_int_equal(send(t, &ehr1, "motivation-enskild-searched.xml", NULL,
                          NULL, NULL, "after renewal"),
                     GW_OK);
    assert_int_equal(case_count(t), 2);
}

/* The same, with the prescribers row aged directly in the database
 * through a connection of its own, the clock left alone. */
static void
test_pipeline_consent_from_an_aged_prescriber_row(void **state)
{
    struct t *t = *state;
    const struct gw_call c = {&ehr1, BASE, "test", GW_FHIR_JSON};
    struct gw_answer a;
    sqlite3 *db = NULL;
    char sql[256];

    submit(t);
    snprintf(sql, sizeof(sql),
             "UPDATE prescribers SET consented_ms = %lld, last_active_ms = "
             "%lld, last_applied_ms = NULL WHERE hsa = '%s'",
             (long long)(T0 - 13 * MONTH_MS), (long long)(T0 - 13 * MONTH_MS),
             ehr1.user);
    assert_int_equal(sqlite3_open(t->fx->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
    assert_int_equal(send(t, &ehr1, "motivation-enskild-searched.xml", NULL,
                          NULL, NULL, "aged row"),
                     GW_ECONSENT);
    assert_int_equal(case_count(t), 1);
    gw_pipeline_renew_consent(t->pl, &c, &a);
    assert_int_equal(a.rc, GW_OK);
    gw_answer_release(&a);
    assert_int_equal(send(t, &ehr1, "motivation-enskild-searched.xml", NULL,
                          NULL, NULL, "aged row, renewed"),
                     GW_OK);
    assert_int_equal(case_count(t), 2);
}

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
    } cases[] = {
        {"its patient, its product", NPLID, PATIENT, NULL, NULL, "true"},
        {"its patient, by product name", "Melatonin AGB 1 mg/ml oral lösning",
         PATIENT, NULL, NULL, "true"},
        {"on the first day", NPLID, PATIENT, NULL, "2026-02-10", "true"},
        {"on the last day", NPLID, PATIENT, NULL, "2027-02-09", "true"},
        {"the day before", NPLID, PATIENT, NULL, "2026-02-09", "false"},
        {"the day after", NPLID, PATIENT, NULL, "2027-02-10", "false"},
        {"another patient", NPLID, OTHER_PATIENT, NULL, NULL, "false"},
        {"another product", "20010101000017", PATIENT, NULL, NULL, "false"},
        {"a requisition from the clinic", NPLID, NULL, "SE2321000016-KLIN",
         NULL, "false"},
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

/* --- reads and searches by pharmacies -------------------------------- */

static void
test_pipeline_read_hides_attachments_from_pharmacies(void **state)
{
    struct t *t = *state;
    char hidden[32], visible[32];
    const struct {
        const char *name;
        const struct gw_principal *who;
        const char *type, *id;
        gw_rc rc;
    } cases[] = {
        {"the pharmacy, the hidden attachment", &pharm1, "DocumentReference",
         hidden, GW_EFORBIDDEN},
        {"the pharmacy, the other attachment", &pharm1, "DocumentReference",
         visible, GW_OK},
        {"the pharmacy, the case", &pharm1, "Task", t->refnr, GW_OK},
        /* Not its case: answered as if there were none (access.h). */
        {"another pharmacy, the case", &pharm2, "Task", t->refnr, GW_ENOTFOUND},
        {"the prescriber, the hidden attachment", &ehr1, "DocumentReference",
         hidden, GW_OK},
        {"a colleague, the case", &ehr2, "Task", t->refnr, GW_ENOTFOUND},
        {"LV, the hidden attachment", &lv, "DocumentReference", hidden, GW_OK},
        {"the operator, the case", &ops, "Task", t->refnr, GW_EFORBIDDEN},
        {"the pharmacy, an id past the message", &pharm1, "Patient", NULL,
         GW_ENOTFOUND},
    };

    advance(t, AT_A);
    snprintf(hidden, sizeof(hidden), "%s-10", t->refnr);
    snprintf(visible, sizeof(visible), "%s-11", t->refnr);
    for (size_t i = 0; i < N(cases); i++) {
        const struct gw_call c = {cases[i].who, BASE, "test", GW_FHIR_JSON};
        struct gw_answer a;
        char id[32];

        snprintf(id, sizeof(id), "%s", cases[i].id ? cases[i].id : "");
        if (cases[i].id == NULL)
            snprintf(id, sizeof(id), "%s-99", t->refnr);
        gw_pipeline_read(t->pl, &c, cases[i].type, id, 0, &a);
        if (a.rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(a.rc), gw_rc_name(cases[i].rc));
        if (a.rc == GW_OK && a.status != 200)
            fail_msg("case '%s': status %d", cases[i].name, a.status);
        gw_answer_release(&a);
    }
}

/* Ids come from the URL: short, long or odd ones are simply not found,
 * and are read only as far as they go (ASan checks the latter). */
static void
test_pipeline_read_odd_ids_are_not_found(void **state)
{
    static const struct {
        const char *name, *type, *id;
    } cases[] = {
        {"empty", "Task", ""},
        {"one digit", "Task", "2"},
        {"nine digits", "Task", "202665832"},
        {"a Task with a resource suffix", "Task", "@-3"},
        {"a resource without suffix", "Patient", "@"},
        {"eleven digits", "Task", "20266583270"},
        {"too long", "Patient", "@-1234567890123456789012345678901234567890"},
        {"another case", "Task", "2025112233"},
    };
    struct t *t = *state;
    const struct gw_call c = {&ehr1, BASE, "test", GW_FHIR_JSON};

    submit(t);
    for (size_t i = 0; i < N(cases); i++) {
        struct gw_answer a;
        char *id;

        /* Exactly as long as it is, on the heap. */
        if (cases[i].id[0] == '@') {
            id = malloc(strlen(t->refnr) + strlen(cases[i].id));
            sprintf(id, "%s%s", t->refnr, cases[i].id + 1);
        } else {
            id = strdup(cases[i].id);
        }
        gw_pipeline_read(t->pl, &c, cases[i].type, id, 0, &a);
        if (a.rc != GW_ENOTFOUND)
            fail_msg("case '%s': rc %s, expected ENOTFOUND", cases[i].name,
                     gw_rc_name(a.rc));
        gw_answer_release(&a);
        free(id);
    }
}

static void
test_pipeline_pharmacy_search_needs_the_patient(void **state)
{
    struct t *t = *state;
    const struct {
        const char *name;
        const struct gw_principal *who;
        const char *patient;
        const char *total;
    } cases[] = {
        {"the right patient", &pharm2, PATIENT, "1"},
        {"the wrong patient", &pharm2, OTHER_PATIENT, "0"},
        {"no patient", &pharm2, NULL, "0"},
        {"the wrong patient, even for the chosen pharmacy", &pharm1,
         OTHER_PATIENT, "0"},
    };

    submit(t);
    for (size_t i = 0; i < N(cases); i++) {
        const struct gw_call c = {cases[i].who, BASE, "test", GW_FHIR_JSON};
        struct gw_task_search q;
        struct gw_answer a;
        char buf[16];
        char *xml;
        size_t len;

        memset(&q, 0, sizeof(q));
        q.identifier = t->refnr;
        q.patient = cases[i].patient;
        gw_pipeline_search(t->pl, &c, &q, &a);
        if (a.rc != GW_OK)
            fail_msg("case '%s': rc %s", cases[i].name, gw_rc_name(a.rc));
        if (!gw_view_value(a.doc, "total", buf, sizeof(buf)) ||
            strcmp(buf, cases[i].total) != 0)
            fail_msg("case '%s': total %s, expected %s", cases[i].name, buf,
                     cases[i].total);
        assert_int_equal(gw_fhir_to_xml(a.doc, &xml, &len), GW_OK);
        /* A hit is the pharmacy view: no indication, no hidden file. */
        if (strstr(xml, "<reasonCode>") != NULL ||
            strstr(xml, "bilaga-1.pdf") != NULL ||
            strstr(xml, "Produktinformation 1") != NULL)
            fail_msg("case '%s': unredacted content", cases[i].name);
        if (strcmp(cases[i].total, "1") == 0 &&
            strstr(xml, "Produktinformation 2") == NULL)
            fail_msg("case '%s': the visible attachment is missing",
                     cases[i].name);
        free(xml);
        gw_answer_release(&a);
    }
}

/* Searches without a referensnummer: who sees which of two cases, one in
 * M (only motivated) and one applied for by pharmacy 1. */
static void
test_pipeline_search_shows_each_role_its_cases(void **state)
{
    static const struct gw_principal ehr_nouser = {"journal1", GW_CLIENT_EHR,
                                                   NULL, NULL};
    static const struct gw_principal pharm3 = {"apotek3", GW_CLIENT_PHARMACY,
                                               "7350000000030", NULL};
    const struct {
        const char *name;
        const struct gw_principal *who;
        gw_rc rc;
        const char *total;
    } cases[] = {
        {"the prescriber sees both", &ehr1, GW_OK, "2"},
        {"a colleague sees none", &ehr2, GW_OK, "0"},
        {"an EHR without user is refused", &ehr_nouser, GW_EUNAUTH, NULL},
        {"LV sees only the applied one", &lv, GW_OK, "1"},
        {"the chosen pharmacy sees both (one applied by it)", &pharm1, GW_OK,
         "2"},
        {"an unrelated pharmacy sees none", &pharm3, GW_OK, "0"},
        {"the operator is refused", &ops, GW_EFORBIDDEN, NULL},
    };
    struct t *t = *state;

    submit(t);
    assert_int_equal(
        send(t, &pharm1, "application-enskild.xml", NULL, NULL, NULL, "apply"),
        GW_OK);
    t->refnr[0] = '\0';
    assert_int_equal(send(t, &ehr1, "motivation-enskild-searched.xml", NULL,
                          NULL, NULL, "second motivation"),
                     GW_OK);
    for (size_t i = 0; i < N(cases); i++) {
        const struct gw_call c = {cases[i].who, BASE, "test", GW_FHIR_JSON};
        struct gw_task_search q;
        struct gw_answer a;
        char buf[16];

        memset(&q, 0, sizeof(q));
        gw_pipeline_search(t->pl, &c, &q, &a);
        if (a.rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(a.rc), gw_rc_name(cases[i].rc));
        if (cases[i].total != NULL &&
            (!gw_view_value(a.doc, "total", buf, sizeof(buf)) ||
             strcmp(buf, cases[i].total) != 0))
            fail_msg("case '%s': total %s, expected %s", cases[i].name, buf,
                     cases[i].total);
        gw_answer_release(&a);
    }
}

/* --- redaction on every pharmacy path -------------------------------- */

/* What a pharmacy must never receive, planted in the motivation. */
static const struct {
    const char *name, *from, *to, *sentinel;
} planted[] = {
    {"indication", "Sömnstörning vid neuropsykiatrisk",
     "SENTINELINDIKATION vid neuropsykiatrisk", "SENTINELINDIKATION"},
    {"motivation text", "Godkända alternativ har prövats",
     "SENTINELMOTIVERING alternativ har prövats", "SENTINELMOTIVERING"},
    {"hidden attachment title", "bilaga-1.pdf", "SENTINELTITEL.pdf",
     "SENTINELTITEL"},
    {"hidden attachment description", "Produktinformation 1",
     "SENTINELBESKRIVNING", "SENTINELBESKRIVNING"},
    {"hidden attachment data", "<data value=\"JVBERi0xLjQK\"/>",
     "<data value=\"U0VOVElORUxEQVRB\"/>", "U0VOVElORUxEQVRB"},
    {"note", "<dosageInstruction>",
     "<note><text value=\"SENTINELNOTERING\"/></note><dosageInstruction>",
     "SENTINELNOTERING"},
    {"narrative", "<MedicationRequest><contained>",
     "<MedicationRequest><text><status value=\"generated\"/><div "
     "xmlns=\"http://www.w3.org/1999/xhtml\">SENTINELNARRATIV</div></text>"
     "<contained>",
     "SENTINELNARRATIV"},
};

/* Fails if any sentinel is in the answer's XML or JSON (want 0), or if
 * not every one is (want 1). */
static void
check_sentinels(const struct gw_fhir_doc *d, const char *html, int want,
                const char *what)
{
    char *x = NULL, *j = NULL;
    size_t n;

    if (d != NULL) {
        assert_int_equal(gw_fhir_to_xml(d, &x, &n), GW_OK);
        assert_int_equal(gw_fhir_to_json(d, &j, &n), GW_OK);
    }
    for (size_t i = 0; i < N(planted); i++) {
        const char *s = planted[i].sentinel;
        int in = (x && strstr(x, s)) || (j && strstr(j, s)) ||
                 (html && strstr(html, s));
        if (in != want)
            fail_msg("%s: the %s is %s", what, planted[i].name,
                     in ? "there" : "missing");
    }
    free(x);
    free(j);
}

static void
test_pipeline_pharmacy_never_receives_what_is_hidden(void **state)
{
    struct t *t = *state;
    const struct gw_call ph = {&pharm1, BASE, "test", GW_FHIR_JSON};
    const struct gw_call pr = {&ehr1, BASE, "test", GW_FHIR_JSON};
    char *msg =
        message(t, "motivation-enskild-attachments.xml", NULL, NULL, NULL);
    struct gw_task_search q;
    struct gw_answer a;
    char *html = NULL, id[32], what[64];
    size_t len;

    for (size_t i = 0; i < N(planted); i++)
        msg = text_replace(msg, planted[i].from, planted[i].to);
    submit_msg(t, msg);
    assert_int_equal(
        send(t, &pharm1, "application-enskild.xml", NULL, NULL, NULL, "apply"),
        GW_OK);

    /* Every resource of the case, one by one. */
    for (int n = 1; n <= 11; n++) {
        static const char *const types[] = {NULL,
                                            NULL,
                                            "Task",
                                            "MedicationRequest",
                                            "Patient",
                                            "PractitionerRole",
                                            "Practitioner",
                                            "Organization",
                                            "Organization",
                                            "Organization",
                                            "DocumentReference",
                                            "DocumentReference"};
        if (types[n] == NULL)
            continue;
        if (n == 2)
            snprintf(id, sizeof(id), "%s", t->refnr);
        else
            snprintf(id, sizeof(id), "%s-%d", t->refnr, n);
        gw_pipeline_read(t->pl, &ph, types[n], id, 0, &a);
        snprintf(what, sizeof(what), "pharmacy read of %s/%s", types[n], id);
        if (n == 10) {
            if (a.rc != GW_EFORBIDDEN)
                fail_msg("%s: rc %s", what, gw_rc_name(a.rc));
        } else if (a.rc != GW_OK) {
            fail_msg("%s: rc %s", what, gw_rc_name(a.rc));
        }
        check_sentinels(a.doc, NULL, 0, what);
        gw_answer_release(&a);
    }
    /* Its history, at every version. */
    gw_pipeline_history(t->pl, &ph, t->refnr, &a);
    assert_int_equal(a.rc, GW_OK);
    check_sentinels(a.doc, NULL, 0, "pharmacy history");
    gw_answer_release(&a);
    gw_pipeline_read(t->pl, &ph, "Task", t->refnr, 1, &a);
    assert_int_equal(a.rc, GW_OK);
    check_sentinels(a.doc, NULL, 0, "pharmacy read of version 1");
    gw_answer_release(&a);
    /* Searches: the look-up with everything included, and its own cases. */
    memset(&q, 0, sizeof(q));
    q.identifier = t->refnr;
    q.patient = PATIENT;
    q.include = 1;
    gw_pipeline_search(t->pl, &ph, &q, &a);
    assert_int_equal(a.rc, GW_OK);
    check_sentinels(a.doc, NULL, 0, "pharmacy look-up");
    gw_answer_release(&a);
    memset(&q, 0, sizeof(q));
    q.include = 1;
    gw_pipeline_search(t->pl, &ph, &q, &a);
    assert_int_equal(a.rc, GW_OK);
    check_sentinels(a.doc, NULL, 0, "pharmacy search of own cases");
    gw_answer_release(&a);
    /* The printable copy. */
    gw_pipeline_print(t->pl, &ph, t->refnr, 0, &html, &len, &a);
    assert_int_equal(a.rc, GW_OK);
    assert_non_null(html);
    check_sentinels(NULL, html, 0, "pharmacy print");
    free(html);
    gw_answer_release(&a);

    /* The prescriber sees it all: the sentinels did arrive. */
    snprintf(id, sizeof(id), "%s-3", t->refnr);
    gw_pipeline_read(t->pl, &pr, "MedicationRequest", id, 0, &a);
    assert_int_equal(a.rc, GW_OK);
    {
        char *x;
        assert_int_equal(gw_fhir_to_xml(a.doc, &x, &len), GW_OK);
        assert_non_null(strstr(x, "SENTINELINDIKATION"));
        assert_non_null(strstr(x, "SENTINELMOTIVERING"));
        assert_non_null(strstr(x, "SENTINELNARRATIV"));
        free(x);
    }
    gw_answer_release(&a);
    memset(&q, 0, sizeof(q));
    q.include = 1;
    gw_pipeline_search(t->pl, &pr, &q, &a);
    assert_int_equal(a.rc, GW_OK);
    check_sentinels(a.doc, NULL, 1, "prescriber search");
    gw_answer_release(&a);
}

/* --- re-application on a granted licence ---------------------------- */

static void
test_pipeline_reapplication_makes_a_new_case(void **state)
{
    struct t *t = *state;
    char *msg;
    struct gw_answer a;
    char parent[16], status[8];
    long v;

    advance(t, AT_BEV);
    snprintf(parent, sizeof(parent), "%s", t->refnr);
    /* Another patient: as if the licence did not exist. */
    msg = message(t, "application-reapply.xml", NULL, NULL, NULL);
    msg = text_replace_all(msg, "2025112233", parent);
    msg = text_replace_all(msg, PATIENT, OTHER_PATIENT);
    process(t, &pharm1, msg, &a);
    assert_int_equal(a.rc, GW_ENOTFOUND);
    gw_answer_release(&a);
    free(msg);
    assert_int_equal(case_count(t), 1);
    /* In another pharmacy's name. */
    msg = message(t, "application-reapply.xml", NULL, NULL, NULL);
    msg = text_replace_all(msg, "2025112233", parent);
    process(t, &pharm2, msg, &a);
    assert_int_equal(a.rc, GW_EFORBIDDEN);
    gw_answer_release(&a);
    assert_int_equal(case_count(t), 1);
    /* As it should be: a new case in A, the granted one stays Bev. */
    process(t, &pharm1, msg, &a);
    assert_int_equal(a.rc, GW_OK);
    assert_int_equal(case_count(t), 2);
    snprintf(t->refnr, sizeof(t->refnr), "%.10s", a.location + 5);
    assert_string_not_equal(t->refnr, parent);
    gw_answer_release(&a);
    case_state(t, status, &v);
    assert_string_equal(status, "A");
    snprintf(t->refnr, sizeof(t->refnr), "%s", parent);
    case_state(t, status, &v);
    assert_string_equal(status, "Bev");
    free(msg);
    /* 37 months after the decision the window is closed. */
    gw_clock_set_ms(T0 + 37 * MONTH_MS);
    msg = message(t, "application-reapply.xml",
                  "9a1e0000-0000-4000-8000-0000000000c1", NULL, NULL);
    msg = text_replace_all(msg, "2025112233", parent);
    process(t, &pharm1, msg, &a);
    assert_int_equal(a.rc, GW_ESTATE);
    gw_answer_release(&a);
    assert_int_equal(case_count(t), 2);
    free(msg);
}

/* --- fixtures --------------------------------------------------------- */

static int
pipeline_setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    struct gw_pipeline_opts o;
    void *fs = NULL;

    if (t == NULL || fixture_setup(&fs) != 0)
        return -1;
    t->fx = fs;
    memset(&o, 0, sizeof(o));
    o.store = t->fx->st;
    o.validator = validator;
    o.views = views;
    gw_fhir_limits_default(&o.limits);
    o.check_prescriber = fake_check;
    o.check_ctx = &t->hsa;
    if (gw_pipeline_new(&o, &t->pl) != GW_OK)
        return -1;
    {
        /* Each pharmacy has one Subscription: a notification is one outbox
         * item per subscription (none without one). */
        const char *glns[] = {GLN1, GLN2};
        for (int i = 0; i < 2; i++) {
            struct gw_subscription sub;
            memset(&sub, 0, sizeof(sub));
            snprintf(sub.id, sizeof(sub.id), "sub-%d", i + 1);
            snprintf(sub.gln, sizeof(sub.gln), "%s", glns[i]);
            snprintf(sub.endpoint, sizeof(sub.endpoint),
                     "https://apotek%d.example/hook", i + 1);
            snprintf(sub.status, sizeof(sub.status), "active");
            if (gw_store_sub_put(t->fx->st, &sub) != GW_OK)
                return -1;
        }
    }
    gw_clock_set_ms(T0);
    *state = t;
    return 0;
}

static int
pipeline_teardown(void **state)
{
    struct t *t = *state;
    void *fs = t->fx;
    int rc;

    gw_pipeline_free(t->pl);
    rc = fixture_teardown(&fs);
    gw_clock_reset();
    free(t);
    return rc;
}

static int
group_setup(void **state)
{
    char xsd[512];
    struct gw_err err;
    (void)state;

    gw_fhir_init();
    gw_log_set_level(GW_LOG_WARN);
    gw_err_clear(&err);
    if (gw_views_new(GW_SOURCE_DIR "/xslt", &views, &err) != GW_OK)
        return -1;
    snprintf(xsd, sizeof(xsd), "%s/fhir-profiles/xsd/fhir-klas.xsd",
             GW_SOURCE_DIR);
    return gw_validator_new(xsd, &validator, &err) == GW_OK ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    gw_views_free(views);
    gw_validator_free(validator);
    return 0;
}

#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, pipeline_setup, pipeline_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_pipeline_enskild_case_runs_to_a_grant),
        cmocka_unit_test(test_pipeline_refusals_leave_nothing_stored),
        T(test_pipeline_reused_message_id_vs_identical_replay),
        T(test_pipeline_resend_without_id_makes_one_case),
        T(test_pipeline_hsa_check_stops_before_anything_is_stored),
        T(test_pipeline_hsa_refuses_a_prescribers_supplement),
        T(test_pipeline_consent_due_until_renewed),
        T(test_pipeline_consent_from_an_aged_prescriber_row),
        T(test_pipeline_check_licence_covers_patient_product_and_validity),
        T(test_pipeline_dispensing_counts_once_within_amount_and_validity),
        T(test_pipeline_dispensing_needs_a_granted_licence),
        T(test_pipeline_read_hides_attachments_from_pharmacies),
        T(test_pipeline_read_odd_ids_are_not_found),
        T(test_pipeline_search_shows_each_role_its_cases),
        T(test_pipeline_pharmacy_never_receives_what_is_hidden),
        T(test_pipeline_reapplication_makes_a_new_case),
        T(test_pipeline_pharmacy_search_needs_the_patient),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
