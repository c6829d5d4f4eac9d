/*
 * test_pipeline.c - messages through the pipeline (src/pipeline/),
 * against a real store (pipeline_fixture.h).
 *
 * What it proves: an enskild case runs M -> A -> H -> KB -> K -> H -> Bev
 * with each party in its role; every refusal (wrong role, wrong status,
 * second application, applying in another pharmacy's name, wrong patient,
 * a supplement from another clinic, a reused message id, HSA saying no or
 * not answering, consent due) leaves no case, no outbox item and no status
 * change behind and is audited; an identical resend is answered as the
 * first time; a re-application makes a new case; the pharmacy register
 * commits with the application or not at all. The decisions themselves
 * are tested without a store in test_klas_event.c; the counter in
 * test_pipeline_counter.c, reads in test_pipeline_read.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "pipeline_fixture.h"
#include "store/licence.h"

static void db_exec(struct t *t, const char *sql);

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

/* The first answer as text (the REST front's) is the receipt the inbox
 * replays, byte for byte, in JSON and in XML; so is a replay's. */
static void
test_pipeline_text_answer_is_the_stored_receipt(void **state)
{
    static const enum gw_fhir_format fmts[] = {GW_FHIR_JSON, GW_FHIR_XML};
    struct t *t = *state;

    for (size_t i = 0; i < N(fmts); i++) {
        const struct gw_call c = {&ehr1, BASE, "test", fmts[i]};
        char msgid[64], *msg, *want;
        size_t wlen;
        struct gw_answer a, b;

        snprintf(msgid, sizeof(msgid), "9a1e0000-0000-4000-8000-0000000000e%zu",
                 i);
        msg = message(t, "motivation-enskild-searched.xml", msgid, NULL, NULL);
        gw_pipeline_process_text(t->pl, &c, msg, strlen(msg), 0, &a);
        assert_int_equal(a.rc, GW_OK);
        assert_int_equal(a.status, 200);
        assert_int_equal(a.replayed, 0);
        assert_null(a.doc);
        assert_non_null(a.body);
        gw_pipeline_process(t->pl, &c, msg, strlen(msg), 0, &b);
        assert_int_equal(b.rc, GW_OK);
        assert_int_equal(b.replayed, 1);
        assert_non_null(b.doc);
        assert_int_equal(fmts[i] == GW_FHIR_JSON
                             ? gw_fhir_to_json(b.doc, &want, &wlen)
                             : gw_fhir_to_xml(b.doc, &want, &wlen),
                         GW_OK);
        assert_int_equal(a.body_len, wlen);
        assert_memory_equal(a.body, want, wlen);
        assert_string_equal(a.etag, b.etag);
        assert_string_equal(a.location, b.location);
        free(want);
        gw_answer_release(&b);
        gw_answer_release(&a);
        free(msg);
    }
}

/* A MessageHeader without an id is named in the receipt by the uuid of
 * its entry's fullUrl; one that cannot be an id there (the receipt's
 * response.identifier) fails the receipt, and the write with it, as the
 * check of the receipt built as a tree did. */
static void
test_pipeline_header_uuid_that_is_no_id(void **state)
{
    struct t *t = *state;
    char *msg = message(t, "motivation-enskild-searched.xml", NULL,
                        "0b3e7a1c-1d2e-4f50-9a61-000000000001", "x_y");
    struct gw_answer a;

    process(t, &ehr1, msg, &a);
    assert_int_equal(a.rc, GW_EVALIDATION);
    assert_int_equal(a.status, 422);
    gw_answer_release(&a);
    assert_int_equal(case_count(t), 0);
    assert_int_equal(outbox_count(t), 0);
    free(msg);
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

/* The pipeline of a process started again on the same store: it has
 * not seen the messages t's stored. */
static void
restart(struct t *t)
{
    gw_pipeline_free(t->pl);
    assert_int_equal(pipeline_open(t), GW_OK);
}

/* A resend whose case has moved on since (its decision would refuse it
 * now), or whose HSA check fails now, is answered as the first time: the
 * inbox answers it, not the refusal; by the same process before it looks
 * at the case or asks HSA, by one started since (restart) instead of the
 * refusal. */
static void
resend_after_the_case_moved_on(struct t *t, int restarted)
{
    char *mot, *app;
    struct gw_answer first, again;
    char status[8];
    long v;
    int calls;

    mot = message(t, "motivation-enskild-searched.xml",
                  "9a1e0000-0000-4000-8000-0000000000d1", NULL, NULL);
    process(t, &ehr1, mot, &first);
    assert_int_equal(first.rc, GW_OK);
    snprintf(t->refnr, sizeof(t->refnr), "%.10s", first.location + 5);
    app = message(t, "application-enskild.xml", NULL, NULL, NULL);
    process(t, &pharm1, app, &again);
    assert_int_equal(again.rc, GW_OK);
    gw_answer_release(&again);
    if (restarted)
        restart(t);
    /* The motivation again while HSA cannot answer. */
    t->hsa.rc = GW_EUNAVAILABLE;
    calls = t->hsa.calls;
    process(t, &ehr1, mot, &again);
    assert_int_equal(again.rc, GW_OK);
    assert_int_equal(again.replayed, 1);
    assert_string_equal(again.location, first.location);
    assert_int_equal(t->hsa.calls, calls + restarted);
    gw_answer_release(&again);
    t->hsa.rc = GW_OK;
    /* LV registers; the application again, in a status that would
     * refuse it as new. */
    assert_int_equal(send(t, &lv, "application-registered.xml", NULL, NULL,
                          NULL, "LV registers"),
                     GW_OK);
    if (restarted)
        restart(t);
    process(t, &pharm1, app, &again);
    assert_int_equal(again.rc, GW_OK);
    assert_int_equal(again.status, 200);
    assert_int_equal(again.replayed, 1);
    assert_string_equal(again.location + 15, "/_history/2");
    gw_answer_release(&again);
    case_state(t, status, &v);
    assert_string_equal(status, "H");
    assert_int_equal(v, 3);
    assert_int_equal(case_count(t), 1);
    gw_answer_release(&first);
    free(mot);
    free(app);
}

static void
test_pipeline_resend_after_the_case_moved_on_is_answered(void **state)
{
    resend_after_the_case_moved_on(*state, 0);
}

static void
test_pipeline_resend_to_a_restarted_process_is_answered(void **state)
{
    resend_after_the_case_moved_on(*state, 1);
}

/* Inbox rows from before the canonical hash hold the hash of the bytes
 * as received: the same bytes again are the same message, other content
 * under the id is refused. */
static void
test_pipeline_resend_of_a_raw_hash_row(void **state)
{
    struct t *t = *state;
    char *msg = message(t, "motivation-enskild-searched.xml",
                        "9a1e0000-0000-4000-8000-0000000000d2", NULL, NULL);
    char *other = message(t, "motivation-enskild-attachments.xml",
                          "9a1e0000-0000-4000-8000-0000000000d2", NULL, NULL);
    unsigned char d[32];
    char hex[65], sql[256];
    struct gw_answer a, b;

    /* It edits the SQLite file underneath the store. */
    if (fixture_pg_dsn() != NULL)
        skip();
    process(t, &ehr1, msg, &a);
    assert_int_equal(a.rc, GW_OK);
    restart(t); /* the writer's look-up, not this process's memory */
    assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, msg, strlen(msg), d),
                     0);
    for (size_t i = 0; i < sizeof(d); i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    snprintf(sql, sizeof(sql),
             "UPDATE inbox SET content_hash = '%s' WHERE message_id = "
             "'journal1:urn:uuid:9a1e0000-0000-4000-8000-0000000000d2'",
             hex);
    db_exec(t, sql);
    process(t, &ehr1, msg, &b);
    assert_int_equal(b.rc, GW_OK);
    assert_int_equal(b.replayed, 1);
    assert_string_equal(a.location, b.location);
    gw_answer_release(&b);
    process(t, &ehr1, other, &b);
    assert_int_equal(b.rc, GW_EDUPLICATE);
    assert_int_equal(b.status, 409);
    gw_answer_release(&b);
    assert_int_equal(case_count(t), 1);
    gw_answer_release(&a);
    free(msg);
    free(other);
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

/* A change of the case by someone else, stored while the HSA is asked:
 * the case's version moves on under the message being processed. */
static void
bump_case(void *ctx)
{
    struct t *t = ctx;
    struct gw_store_write u;
    struct gw_store_result r;

    update_write(&u, "bump-1", "test", t->refnr, NULL);
    assert_int_equal(gw_store_write(t->fx->st, &u, &r), GW_OK);
    gw_store_result_release(&r);
}

/* The receipt is built ahead for the case's next version; when the case
 * moved on in between, the write's own version is the one it quotes, and
 * the stored receipt (a resend's answer) is the same. */
static void
test_pipeline_receipt_quotes_the_written_version(void **state)
{
    struct t *t = *state;
    struct gw_answer a, b;
    char status[8], want[48], *msg, *xa, *xb;
    size_t la, lb;
    long v;

    advance(t, AT_KB);
    case_state(t, status, &v);
    msg = message(t, "supplement-by-prescriber.xml",
                  "9a1e0000-0000-4000-8000-0000000000c1", NULL, NULL);
    t->hsa.during = bump_case;
    t->hsa.during_ctx = t;
    process(t, &ehr2, msg, &a);
    t->hsa.during = NULL;
    assert_int_equal(a.rc, GW_OK);
    snprintf(want, sizeof(want), "W/\"%ld\"", v + 2);
    assert_string_equal(a.etag, want);
    assert_int_equal(gw_fhir_to_xml(a.doc, &xa, &la), GW_OK);
    snprintf(want, sizeof(want), "<versionId value=\"%ld\"/>", v + 2);
    assert_non_null(strstr(xa, want));
    process(t, &ehr2, msg, &b);
    assert_int_equal(b.rc, GW_OK);
    assert_int_equal(b.replayed, 1);
    assert_int_equal(gw_fhir_to_xml(b.doc, &xb, &lb), GW_OK);
    assert_string_equal(xa, xb);
    case_state(t, status, &v);
    assert_string_equal(status, "K");
    free(xa);
    free(xb);
    gw_answer_release(&a);
    gw_answer_release(&b);
    free(msg);
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

    /* It edits the SQLite file underneath the store. */
    if (fixture_pg_dsn() != NULL)
        skip();

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

/* --- the pharmacy register commits with the application ------------- */

/* The pharmacies the register holds under GLN1 (Sök apotek). */
static size_t
registered(struct t *t)
{
    struct gw_pharmacy q, *rows = NULL;
    size_t n = 0;

    memset(&q, 0, sizeof(q));
    snprintf(q.gln, sizeof(q.gln), "%s", GLN1);
    assert_int_equal(gw_store_pharmacy_search(t->fx->st, &q, &rows, &n),
                     GW_OK);
    free(rows);
    return n;
}

static void
db_exec(struct t *t, const char *sql)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(t->fx->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
}

static void
test_pipeline_register_fails_with_its_application(void **state)
{
    struct t *t = *state;
    char status[8];
    long v;
    long long queued;

    /* It edits the SQLite file underneath the store. */
    if (fixture_pg_dsn() != NULL)
        skip();

    advance(t, AT_M);
    queued = outbox_count(t);
    /* The register cannot be written: the application must not be
     * stored without it (nothing half-stored). */
    db_exec(t, "CREATE TRIGGER no_register BEFORE INSERT ON pharmacies "
               "BEGIN SELECT RAISE(ABORT, 'register refused'); END");
    assert_int_not_equal(send(t, &pharm1, "application-enskild.xml", NULL,
                              NULL, NULL, "apply, register refused"),
                         GW_OK);
    case_state(t, status, &v);
    assert_string_equal(status, "M");
    assert_int_equal(v, 1);
    assert_int_equal(outbox_count(t), queued);
    assert_int_equal(registered(t), 0);
    /* With the register writable, both commit together. */
    db_exec(t, "DROP TRIGGER no_register");
    assert_int_equal(send(t, &pharm1, "application-enskild.xml", NULL, NULL,
                          NULL, "apply"),
                     GW_OK);
    case_state(t, status, &v);
    assert_string_equal(status, "A");
    assert_int_equal(registered(t), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_pipeline_enskild_case_runs_to_a_grant),
        cmocka_unit_test(test_pipeline_refusals_leave_nothing_stored),
        T(test_pipeline_reused_message_id_vs_identical_replay),
        T(test_pipeline_resend_without_id_makes_one_case),
        T(test_pipeline_text_answer_is_the_stored_receipt),
        T(test_pipeline_header_uuid_that_is_no_id),
        T(test_pipeline_resend_after_the_case_moved_on_is_answered),
        T(test_pipeline_resend_to_a_restarted_process_is_answered),
        T(test_pipeline_resend_of_a_raw_hash_row),
        T(test_pipeline_hsa_check_stops_before_anything_is_stored),
        T(test_pipeline_hsa_refuses_a_prescribers_supplement),
        T(test_pipeline_receipt_quotes_the_written_version),
        T(test_pipeline_consent_due_until_renewed),
        T(test_pipeline_consent_from_an_aged_prescriber_row),
        T(test_pipeline_reapplication_makes_a_new_case),
        T(test_pipeline_register_fails_with_its_application),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
