/*
 * test_audit.c - the audit chain and retention purge, with a settable
 * clock: every write leaves a record, verify passes on an honest log and
 * names the first broken record when a row is edited, removed from the
 * middle or cut off the end; AuditEvent export; purge removes personal
 * data at 12 and 36 months (not a day before), keeps counts and audits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "sched/clock.h"
#include "sched/sched.h"
#include "store_fixture.h"

static void
tamper(struct fixture *f, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static char *
create(struct fixture *f, const char *msgid)
{
    struct gw_store_write w;
    struct gw_store_result r;
    char *refnr;

    motivation_write(&w, msgid, "h", "SE2321000016-DOC1", "Circadin");
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
    refnr = strdup(r.refnr);
    gw_store_result_release(&r);
    return refnr;
}

static void
set_status(struct fixture *f, const char *refnr, const char *status,
           const char *msgid)
{
    struct gw_store_write w;
    struct gw_store_result r;

    memset(&w, 0, sizeof(w));
    w.message_id = msgid;
    w.content_hash = "h";
    w.op = GW_STORE_OP_UPDATE;
    w.row.refnr = (char *)refnr;
    w.row.status = (char *)status;
    w.event = "test";
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
    gw_store_result_release(&r);
}

static void
test_audit_chain_verifies_and_reads_are_audited(void **state)
{
    struct fixture *f = *state;
    struct gw_audit_entry read = {"apotek1", "7350000000016", "read", NULL,
                                  "ok", NULL};
    struct gw_err err;
    long long n;
    char *refnr;

    gw_err_clear(&err);
    refnr = create(f, "a1");
    free(create(f, "a2"));
    read.refnr = refnr;
    assert_int_equal(gw_store_audit_async(f->st, &read), GW_OK);
    free(create(f, "a3")); /* its commit carries the read along */
    assert_int_equal(gw_store_audit_verify(f->st, &n, &err), GW_OK);
    assert_int_equal(n, 4);
    free(refnr);
}

static void
test_audit_detects_edit_removal_and_truncation(void **state)
{
    static const struct {
        const char *name, *sql, *expect;
    } cases[] = {
        {"edited outcome", "UPDATE audit SET outcome = 'EFORBIDDEN' WHERE seq = 2",
         "record 2 was changed"},
        {"edited user", "UPDATE audit SET user_id = 'x' WHERE seq = 1",
         "record 1 was changed"},
        {"removed middle", "DELETE FROM audit WHERE seq = 2", "records are missing"},
        {"removed tail", "DELETE FROM audit WHERE seq = 3", "removed from the end"},
        {"rehashed edit",
         "UPDATE audit SET detail = 'x', hash = prev_hash WHERE seq = 2",
         "record 2 was changed"},
    };
    struct fixture *f = *state;
    (void)state;
    free(create(f, "t1"));
    free(create(f, "t2"));
    free(create(f, "t3"));
    gw_store_close(f->st);
    /* Keep a pristine copy and tamper with a fresh one for each case. */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cp %s %s.orig", f->path, f->path);
    assert_int_equal(system(cmd), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_err err;
        long long n;
        snprintf(cmd, sizeof(cmd), "cp %s.orig %s && rm -f %s-wal %s-shm",
                 f->path, f->path, f->path, f->path);
        assert_int_equal(system(cmd), 0);
        tamper(f, cases[i].sql);
        assert_int_equal(gw_store_open(f->path, NULL, &f->st, &err), GW_OK);
        gw_err_clear(&err);
        if (gw_store_audit_verify(f->st, &n, &err) != GW_ECONFLICT ||
            strstr(err.detail, cases[i].expect) == NULL)
            fail_msg("case '%s': '%s'", cases[i].name, err.detail);
        gw_store_close(f->st);
    }
    snprintf(cmd, sizeof(cmd), "cp %s.orig %s && rm -f %s-wal %s-shm", f->path,
             f->path, f->path, f->path);
    assert_int_equal(system(cmd), 0);
    struct gw_err err;
    assert_int_equal(gw_store_open(f->path, NULL, &f->st, &err), GW_OK);
}

static gw_rc
collect(void *ctx, const struct gw_audit_record *r)
{
    return gw_audit_to_fhir(r, ctx);
}

static void
test_audit_exports_fhir_audit_events(void **state)
{
    struct fixture *f = *state;
    struct gw_buf b;
    char *refnr = create(f, "e1");

    gw_buf_init(&b, 1 << 20);
    assert_int_equal(gw_store_audit_each(f->st, refnr, 0, collect, &b), GW_OK);
    assert_non_null(strstr(b.data, "\"resourceType\":\"AuditEvent\""));
    assert_non_null(strstr(b.data, "\"action\":\"C\""));
    assert_non_null(strstr(b.data, refnr));
    assert_non_null(strstr(b.data, "\"outcome\":\"0\""));
    /* No patient identity in the audit trail. */
    assert_null(strstr(b.data, "191212121212"));
    gw_buf_release(&b);
    free(refnr);
}

static void
test_purge_at_12_and_36_months_keeps_counts(void **state)
{
    struct fixture *f = *state;
    struct gw_purge_counts c;
    struct gw_case_row row;
    struct gw_case_query q;
    struct gw_case_row *rows;
    char *kind, *xml;
    size_t len, n;
    struct gw_err err;
    long long audited;
    const int64_t t0 = 1767225600000LL; /* 2026-01-01T00:00:00Z */
    char *m, *applied, *granted;

    gw_clock_set_ms(t0);
    m = create(f, "p1");       /* stays M */
    applied = create(f, "p2"); /* applied: never purged while open */
    set_status(f, applied, "A", "p2a");
    granted = create(f, "p3");
    set_status(f, granted, "A", "p3a");
    set_status(f, granted, "H", "p3h");
    gw_clock_set_ms(t0 + 86400000LL * 31); /* decided 2026-02-01 */
    set_status(f, granted, "Bev", "p3b");

    /* 2026-12-31: nothing is due yet. */
    gw_clock_set_ms(gw_clock_minus_months(t0, -12) - 86400000LL);
    assert_int_equal(gw_store_purge(f->st, gw_clock_now_ms(), 12, 36, 0, &c),
                     GW_OK);
    assert_int_equal(c.motivations + c.decided, 0);
    /* 2027-01-01 plus a minute: the motivation goes; dry run first. */
    gw_clock_set_ms(gw_clock_minus_months(t0, -12) + 60000);
    assert_int_equal(gw_store_purge(f->st, gw_clock_now_ms(), 12, 36, 1, &c),
                     GW_OK);
    assert_int_equal(c.motivations, 1);
    assert_int_equal(gw_store_case_get(f->st, m, &row), GW_OK);
    assert_int_equal(row.purged_ms, 0); /* dry run changed nothing */
    gw_case_row_release(&row);
    assert_int_equal(gw_store_purge(f->st, gw_clock_now_ms(), 12, 36, 0, &c),
                     GW_OK);
    assert_int_equal(c.motivations, 1);
    assert_int_equal(c.decided, 0);
    assert_int_equal(gw_store_case_get(f->st, m, &row), GW_OK);
    assert_true(row.purged_ms > 0);
    assert_null(row.patient_id);
    assert_null(row.prescriber_hsa);
    assert_string_equal(row.licence_type, "EH"); /* counts survive */
    gw_case_row_release(&row);
    assert_int_equal(gw_store_document_get(f->st, m, 0, &kind, &xml, &len,
                                           NULL), GW_ENOTFOUND);
    /* Purged cases are gone from searches, and a second run finds none. */
    memset(&q, 0, sizeof(q));
    q.refnr = m;
    assert_int_equal(gw_store_case_search(f->st, &q, &rows, &n), GW_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gw_store_purge(f->st, gw_clock_now_ms(), 12, 36, 0, &c),
                     GW_OK);
    assert_int_equal(c.motivations + c.decided, 0);

    /* The grant was decided 2026-02-01: purged from 2029-02-01. */
    gw_clock_set_ms(gw_clock_minus_months(t0 + 86400000LL * 31, -36) - 60000);
    assert_int_equal(gw_store_purge(f->st, gw_clock_now_ms(), 12, 36, 0, &c),
                     GW_OK);
    assert_int_equal(c.decided, 0);
    gw_clock_advance_ms(120000);
    assert_int_equal(gw_store_purge(f->st, gw_clock_now_ms(), 12, 36, 0, &c),
                     GW_OK);
    assert_int_equal(c.decided, 1);
    /* The open case (A) is never purged. */
    assert_int_equal(gw_store_case_get(f->st, applied, &row), GW_OK);
    assert_int_equal(row.purged_ms, 0);
    assert_string_equal(row.patient_id, "191212121212");
    gw_case_row_release(&row);
    /* Purges are audited and the chain still holds. */
    assert_int_equal(gw_store_audit_verify(f->st, &audited, &err), GW_OK);
    assert_int_equal(audited, 3 + 2);
    /* Updates to a purged case are refused as gone. */
    struct gw_store_write w;
    struct gw_store_result r;
    memset(&w, 0, sizeof(w));
    w.op = GW_STORE_OP_UPDATE;
    w.row.refnr = m;
    w.row.status = "A";
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_EGONE);
    gw_clock_reset();
    free(m);
    free(applied);
    free(granted);
}

static void
test_scheduler_purges_once_a_day_at_its_hour(void **state)
{
    struct fixture *f = *state;
    struct gw_sched_opts o = {12, 36, 2, 3600000};
    struct gw_sched *s;
    const int64_t t0 = 1767225600000LL; /* 2026-01-01T00:00:00Z */
    char *m;

    gw_clock_set_ms(t0);
    m = create(f, "s1");
    assert_int_equal(gw_sched_start(f->st, &o, &s), GW_OK);
    gw_clock_set_ms(gw_clock_minus_months(t0, -13) + 3600000LL); /* 01:00 */
    assert_int_equal(gw_sched_tick(s), 0); /* before the purge hour */
    gw_clock_advance_ms(3600000LL);        /* 02:00 */
    assert_int_equal(gw_sched_tick(s), 1);
    assert_int_equal(gw_sched_tick(s), 0); /* once a day */
    gw_clock_advance_ms(86400000LL);
    assert_int_equal(gw_sched_tick(s), 1);
    gw_sched_stop(s);
    struct gw_case_row row;
    assert_int_equal(gw_store_case_get(f->st, m, &row), GW_OK);
    assert_true(row.purged_ms > 0);
    gw_case_row_release(&row);
    gw_clock_reset();
    free(m);
}

static void
test_clock_parse_format_and_months(void **state)
{
    static const struct {
        const char *in;
        gw_rc rc;
        int64_t ms;
    } cases[] = {
        {"2026-01-15", GW_OK, 1768435200000LL},
        {"2026-01-15T16:34:00Z", GW_OK, 1768494840000LL},
        {"2026-01-15T16:34:00.5Z", GW_OK, 1768494840500LL},
        {"2026-01-15T17:34:00+01:00", GW_OK, 1768494840000LL},
        {"2026-02-29", GW_EINVAL, 0},
        {"2026-01-15T16:34", GW_EINVAL, 0},
        {"2026-01-15T16:34:00", GW_EINVAL, 0},
        {"15/01/2026", GW_EINVAL, 0},
        {"", GW_EINVAL, 0},
    };
    char buf[32];
    int64_t ms;
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_rc rc = gw_clock_parse(cases[i].in, &ms);
        if (rc != cases[i].rc || (rc == GW_OK && ms != cases[i].ms))
            fail_msg("case '%s'", cases[i].in);
    }
    gw_clock_format(1768494840500LL, buf, sizeof(buf));
    assert_string_equal(buf, "2026-01-15T16:34:00.500Z");
    assert_int_equal(gw_clock_parse("2026-03-31", &ms), GW_OK);
    gw_clock_format(gw_clock_minus_months(ms, 1), buf, sizeof(buf));
    assert_string_equal(buf, "2026-02-28T00:00:00.000Z");
    gw_clock_format(gw_clock_minus_months(ms, 12), buf, sizeof(buf));
    assert_string_equal(buf, "2025-03-31T00:00:00.000Z");
    gw_clock_format(gw_clock_minus_months(ms, -11), buf, sizeof(buf));
    assert_string_equal(buf, "2027-02-28T00:00:00.000Z");
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_audit_chain_verifies_and_reads_are_audited),
        T(test_audit_detects_edit_removal_and_truncation),
        T(test_audit_exports_fhir_audit_events),
        T(test_purge_at_12_and_36_months_keeps_counts),
        T(test_scheduler_purges_once_a_day_at_its_hour),
        cmocka_unit_test(test_clock_parse_format_and_months),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
