/*
 * store_fixture.h - shared by the store tests: a fresh database in a
 * temporary folder per test, and a quick way to write a motivation.
 */
#ifndef GW_TEST_STORE_FIXTURE_H
#define GW_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store/store.h"
#include "store/write.h"

#define FIXTURE_FN __attribute__((unused)) static

struct fixture {
    char dir[64];
    char path[128];
    struct gw_store *st;
    struct gw_store_opts opts; /* the backend under test */
};

/*
 * The backend under test: SQLite in the test's folder, or, with
 * KLASGW_TEST_PG_DSN set (tests/tools/pg_fixture.sh starts a PostgreSQL
 * and sets it), PostgreSQL with an empty schema for every test.
 */
FIXTURE_FN const char *
fixture_pg_dsn(void)
{
    const char *dsn = getenv("KLASGW_TEST_PG_DSN");
    return dsn != NULL && dsn[0] != '\0' ? dsn : NULL;
}

FIXTURE_FN int
fixture_pg_reset(const char *dsn)
{
    PGconn *c = PQconnectdb(dsn);
    PGresult *r;
    int ok;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    /* Emptying the tables of a migrated schema is much cheaper than
     * building it again for every test; the first test migrates. */
    r = PQexec(c,
               "SET client_min_messages = warning; DO $$ BEGIN IF "
               "to_regclass('klasgw_schema') IS NOT NULL THEN DELETE FROM "
               "cases; DELETE FROM inbox; DELETE FROM outbox; DELETE FROM "
               "hsa_cache; DELETE FROM audit; DELETE FROM subscriptions; "
               "DELETE FROM subscription_events; "
               "DELETE FROM products; DELETE FROM pharmacies; DELETE FROM "
               "purge_log; DELETE FROM prescribers; UPDATE audit_head SET "
               "seq = 0, hash = repeat('0', 64); END IF; END $$");
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "pg reset: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

FIXTURE_FN gw_rc
fixture_open(struct fixture *f, struct gw_err *err)
{
    return gw_store_open(f->path, &f->opts, &f->st, err);
}

FIXTURE_FN int
fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct gw_err err;

    snprintf(f->dir, sizeof(f->dir), "/tmp/klasgw-test-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/db/klasgw.db", f->dir);
    f->opts.start_writer = 1;
    if (fixture_pg_dsn() != NULL) {
        /* Each connection is a server process: few, to keep it fast. */
        f->opts.readers = 2;
        f->opts.backend = "postgresql";
        f->opts.dsn = fixture_pg_dsn();
        if (fixture_pg_reset(f->opts.dsn) != 0)
            return -1;
    }
    gw_err_clear(&err);
    if (fixture_open(f, &err) != GW_OK) {
        fprintf(stderr, "open: %s\n", err.detail);
        return -1;
    }
    *state = f;
    return 0;
}

FIXTURE_FN int
fixture_teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[160];

    if (f->st != NULL)
        gw_store_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

FIXTURE_FN gw_rc
respond_receipt(void *ctx, const char *refnr, long version, struct gw_buf *out)
{
    (void)ctx;
    return gw_buf_appendf(out, "receipt %s v%ld", refnr, version);
}

/* A motivation (status M) as the pipeline would write it. */
FIXTURE_FN void
motivation_write(struct gw_store_write *w, const char *msgid, const char *hash,
                 const char *prescriber, const char *drug)
{
    static const struct gw_audit_entry audit = {"journal1", NULL, "create",
                                                NULL, "ok", NULL};
    memset(w, 0, sizeof(*w));
    w->message_id = msgid;
    w->sender = "journal1";
    w->content_hash = hash;
    w->op = GW_STORE_OP_CREATE;
    w->row.status = "M";
    w->row.licence_type = "EH";
    w->row.prescriber_hsa = (char *)prescriber;
    w->row.clinic_hsa = "SE2321000016-KLIN";
    w->row.drug_name = (char *)drug;
    w->row.substances = "melatonin";
    w->row.patient_id = "191212121212";
    w->event = "submit";
    w->actor = prescriber;
    w->doc_kind = "motivation";
    w->doc_xml = "<Bundle xmlns=\"http://hl7.org/fhir\"/>";
    w->doc_len = strlen(w->doc_xml);
    w->audit = &audit;
    w->naudit = 1;
    w->response_status = 201;
    w->respond = respond_receipt;
}

/* An update of the case refnr to status, as message msgid from sender
 * (hash "h2"); the test adds what else the change carries. */
FIXTURE_FN void
update_write(struct gw_store_write *u, const char *msgid, const char *sender,
             const char *refnr, const char *status)
{
    memset(u, 0, sizeof(*u));
    u->message_id = msgid;
    u->content_hash = "h2";
    u->sender = sender;
    u->op = GW_STORE_OP_UPDATE;
    u->row.refnr = (char *)refnr;
    u->row.status = (char *)status;
}

#endif
