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

#include "store/store.h"

#define FIXTURE_FN __attribute__((unused)) static

struct fixture {
    char dir[64];
    char path[128];
    struct gw_store *st;
};

FIXTURE_FN int
fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct gw_err err;

    snprintf(f->dir, sizeof(f->dir), "/tmp/klasgw-test-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/db/klasgw.db", f->dir);
    gw_err_clear(&err);
    if (gw_store_open(f->path, NULL, &f->st, &err) != GW_OK) {
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

#endif
