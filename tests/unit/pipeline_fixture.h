/*
 * pipeline_fixture.h - shared by the pipeline tests (test_pipeline*.c):
 * a real store in a temporary folder, the real validator and case views,
 * the example messages of fhir-profiles/examples/valid, the parties, and
 * the enskild case step by step.
 */
#ifndef GW_TEST_PIPELINE_FIXTURE_H
#define GW_TEST_PIPELINE_FIXTURE_H

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
#include "map/view.h"
#include "pipeline/pipeline.h"
#include "pipeline/refusals.h"
#include "store/audit_log.h"
#include "store/write.h"
#include "core/clock.h"
#include "validate/validate.h"

#include "store/outbox.h"
#include "store/read.h"
#include "store/subscription.h"
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

__attribute__((unused)) static const struct gw_principal ehr1 = {"journal1", GW_CLIENT_EHR, NULL,
                                         "SE2321000016-DOC1"};
__attribute__((unused)) static const struct gw_principal ehr2 = {"journal1", GW_CLIENT_EHR, NULL,
                                         "SE2321000016-DOC2"};
/* A prescriber at another clinic, not allowed to supplement. */
__attribute__((unused)) static const struct gw_principal ehr9 = {"journal1", GW_CLIENT_EHR, NULL,
                                         "SE2321000016-DOC9"};
__attribute__((unused)) static const struct gw_principal pharm1 = {"apotek1", GW_CLIENT_PHARMACY, GLN1,
                                           NULL};
__attribute__((unused)) static const struct gw_principal pharm2 = {"apotek2", GW_CLIENT_PHARMACY, GLN2,
                                           NULL};
__attribute__((unused)) static const struct gw_principal lv = {"lv", GW_CLIENT_LV, NULL, NULL};
__attribute__((unused)) static const struct gw_principal ops = {"ops", GW_CLIENT_OPERATOR, NULL, NULL};

__attribute__((unused)) static struct gw_views *views;
__attribute__((unused)) static struct gw_validator *validator;


/* The HSA check, faked: answers rc and counts calls; runs during (when
 * set) first, as something else happening while the HSA is asked. */
struct fake_hsa {
    gw_rc rc;
    int calls;
    char last[40];
    void (*during)(void *ctx);
    void *during_ctx;
};

FIXTURE_FN gw_rc
fake_check(void *ctx, const char *person, const char *unit, int beredskap,
           struct gw_err *err)
{
    struct fake_hsa *h = ctx;

    (void)unit;
    (void)beredskap;
    h->calls++;
    snprintf(h->last, sizeof(h->last), "%s", person);
    if (h->during != NULL)
        h->during(h->during_ctx);
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
FIXTURE_FN char *
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

FIXTURE_FN void
process(struct t *t, const struct gw_principal *who, const char *msg,
        struct gw_answer *a)
{
    const struct gw_call c = {who, BASE, "test", GW_FHIR_JSON};
    gw_pipeline_process(t->pl, &c, msg, strlen(msg), 0, a);
}

/* Sends an example; returns the answer's rc, a released. */
FIXTURE_FN gw_rc
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

FIXTURE_FN size_t
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

FIXTURE_FN long long
outbox_count(struct t *t)
{
    long long c[4] = {0};
    assert_int_equal(gw_outbox_counts(t->fx->st, c), GW_OK);
    return c[0] + c[1] + c[2] + c[3];
}

/* Status and version of the case (status "" if none). */
FIXTURE_FN void
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
FIXTURE_FN void
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
FIXTURE_FN void
submit(struct t *t)
{
    submit_msg(
        t, message(t, "motivation-enskild-attachments.xml", NULL, NULL, NULL));
}

/* The enskild case, step by step. */
__attribute__((unused)) static const struct step {
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
FIXTURE_FN void
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

/* --- refusals: counted (refusals.h) and audited ------------------------ */

/* All refusals counted so far (refusals.h). */
FIXTURE_FN long long
refusals_total(void)
{
    struct gw_refusal_count rows[GW_REFUSALS_MAX];
    size_t n = gw_refusals_get(rows, GW_REFUSALS_MAX);
    long long sum = 0;

    for (size_t i = 0; i < n; i++)
        sum += rows[i].n;
    return sum;
}

struct refused_audits {
    const char *system;
    long long n;
};

FIXTURE_FN gw_rc
count_refused(void *ctx, const struct gw_audit_record *r)
{
    struct refused_audits *x = ctx;

    if (strcmp(r->e.system, x->system) == 0 && strcmp(r->e.outcome, "ok") != 0)
        x->n++;
    return GW_OK;
}

/* The audit records of refusals to system, after a write that carries
 * the queued ones along. */
FIXTURE_FN long long
refusals_audited(struct t *t, const char *system)
{
    static const struct gw_audit_entry mark = {"test", NULL, "flush",
                                               NULL,   "ok", NULL};
    struct refused_audits x = {system, 0};
    struct gw_store_write w;
    struct gw_store_result res;

    memset(&w, 0, sizeof(w));
    w.op = GW_STORE_OP_NONE;
    w.audit = &mark;
    w.naudit = 1;
    assert_int_equal(gw_store_write(t->fx->st, &w, &res), GW_OK);
    gw_store_result_release(&res);
    assert_int_equal(gw_store_audit_each(t->fx->st, NULL, 0, count_refused, &x),
                     GW_OK);
    return x.n;
}

/* --- fixtures --------------------------------------------------------- */

/* t's pipeline on t's store, as a gateway process starts it (again: a
 * new process has not seen the messages the store holds). */
FIXTURE_FN gw_rc
pipeline_open(struct t *t)
{
    struct gw_pipeline_opts o;

    memset(&o, 0, sizeof(o));
    o.store = t->fx->st;
    o.validator = validator;
    o.views = views;
    gw_fhir_limits_default(&o.limits);
    o.check_prescriber = fake_check;
    o.check_ctx = &t->hsa;
    return gw_pipeline_new(&o, &t->pl);
}

FIXTURE_FN int
pipeline_setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    void *fs = NULL;

    if (t == NULL || fixture_setup(&fs) != 0)
        return -1;
    t->fx = fs;
    if (pipeline_open(t) != GW_OK)
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

FIXTURE_FN int
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

FIXTURE_FN int
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

FIXTURE_FN int
group_teardown(void **state)
{
    (void)state;
    gw_views_free(views);
    gw_validator_free(validator);
    return 0;
}
#define T(f)                                                                   \
    cmocka_unit_test_setup_teardown(f, pipeline_setup, pipeline_teardown)

#endif
