/*
 * rows.c - the row-to-struct copies both backends share (rows.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "klas/state.h"
#include "store/backend.h"
#include "store/console.h"
#include "store/licence.h"
#include "store/outbox.h"
#include "store/purge.h"
#include "store/read.h"
#include "store/rows.h"
#include "store/subscription.h"
#include "store/write.h"
#include "store/write_apply.h"

void
gw_cell_copy(const struct gw_cells *c, int col, char *dst, size_t size)
{
    const char *t = c->ops->text(c->res, c->row, col);

    snprintf(dst, size, "%s", t ? t : "");
}

char *
gw_cell_dup(const struct gw_cells *c, int col)
{
    const char *t = c->ops->text(c->res, c->row, col);

    return t ? strdup(t) : NULL;
}

#define I64(col) c->ops->i64(c->res, c->row, (col))
#define F64(col) c->ops->f64(c->res, c->row, (col))
#define COPY(field, col) gw_cell_copy(c, (col), o->field, sizeof(o->field))

/* A case row as GW_CASE_COLUMNS lists it, column by column: a string the
 * row owns (size 0), or a number of its field's size. The fill and the
 * release walk the same list. */
#define CASE_TEXT(f) {offsetof(struct gw_case_row, f), 0}
#define CASE_NUM(f)                                                            \
    {offsetof(struct gw_case_row, f), sizeof(((struct gw_case_row *)0)->f)}
static const struct {
    size_t off, num_size;
} case_cols[] = {
    CASE_TEXT(refnr),        CASE_TEXT(status),        CASE_TEXT(licence_type),
    CASE_NUM(beredskap),     CASE_TEXT(prescriber_hsa), CASE_TEXT(hospital_hsa),
    CASE_TEXT(hospital_name), CASE_TEXT(clinic_hsa),    CASE_TEXT(clinic_name),
    CASE_TEXT(pharmacy_gln), CASE_TEXT(drug_name),     CASE_TEXT(substances),
    CASE_TEXT(patient_id),   CASE_TEXT(parent_refnr),  CASE_NUM(version),
    CASE_NUM(created_ms),    CASE_NUM(updated_ms),     CASE_NUM(applied_ms),
    CASE_NUM(decided_ms),    CASE_NUM(purged_ms),      CASE_NUM(rowid),
};
#undef CASE_TEXT
#undef CASE_NUM

gw_rc
gw_rows_case(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_case_row *o = elem;
    unsigned char *base = elem;

    (void)i;
    memset(o, 0, sizeof(*o));
    for (size_t k = 0; k < sizeof(case_cols) / sizeof(case_cols[0]); k++) {
        void *field = base + case_cols[k].off;
        if (case_cols[k].num_size == 0) {
            *(char **)field = gw_cell_dup(c, (int)k);
        } else if (case_cols[k].num_size == sizeof(int32_t)) {
            int32_t v = (int32_t)I64((int)k);
            memcpy(field, &v, sizeof(v));
        } else {
            int64_t v = I64((int)k);
            memcpy(field, &v, sizeof(v));
        }
    }
    if (o->refnr == NULL || o->status == NULL || o->licence_type == NULL) {
        gw_case_row_release(o);
        return GW_ENOMEM;
    }
    return GW_OK;
}

void
gw_case_row_release(struct gw_case_row *r)
{
    unsigned char *base = (unsigned char *)r;

    for (size_t k = 0; k < sizeof(case_cols) / sizeof(case_cols[0]); k++)
        if (case_cols[k].num_size == 0)
            free(*(char **)(base + case_cols[k].off));
    memset(r, 0, sizeof(*r));
}

void
gw_case_rows_free(struct gw_case_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gw_case_row_release(&rows[i]);
    free(rows);
}

void
gw_rows_case_release(void *elem)
{
    gw_case_row_release(elem);
}

gw_rc
gw_rows_statuses(const struct gw_case_query *q, char *buf, size_t size)
{
    size_t o = 0;

    buf[0] = '\0';
    if (q->statuses[0] == NULL)
        return GW_OK;
    buf[o++] = ',';
    for (int i = 0; i < GW_CASE_NSTATUS && q->statuses[i] != NULL; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s,", q->statuses[i]);
    return o >= size ? GW_EINVAL : GW_OK;
}

void
gw_rows_case_reverse(struct gw_case_row *rows, size_t n)
{
    for (size_t i = 0, j = n; j-- > i + 1; i++) {
        struct gw_case_row t = rows[i];
        rows[i] = rows[j];
        rows[j] = t;
    }
}

gw_rc
gw_rows_document(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_document_out *o = elem;
    size_t len = 0;
    char *kind = gw_cell_dup(c, 0);
    char *xml = c->ops->bytes(c->res, c->row, 1, &len);

    (void)i;
    if (kind == NULL || xml == NULL) {
        free(kind);
        free(xml);
        return GW_ENOMEM;
    }
    *o->kind = kind;
    *o->xml = xml;
    *o->len = len;
    if (o->version != NULL)
        *o->version = (long)I64(2);
    return GW_OK;
}

gw_rc
gw_rows_bytes(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_bytes_out *o = elem;
    size_t len = 0;
    char *data = c->ops->bytes(c->res, c->row, 0, &len);

    (void)i;
    if (data == NULL)
        return GW_ENOMEM;
    *o->data = data;
    *o->len = len;
    return GW_OK;
}

gw_rc
gw_rows_i64(const struct gw_cells *c, void *elem, size_t i)
{
    (void)i;
    *(int64_t *)elem = I64(0);
    return GW_OK;
}

gw_rc
gw_rows_sub_id(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_write_sub_id *o = elem;

    (void)i;
    COPY(id, 0);
    return GW_OK;
}

gw_rc
gw_rows_inbox(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_store_result *o = elem;

    (void)i;
    COPY(content_hash, 0);
    COPY(refnr, 1);
    o->version = (long)I64(2);
    o->response_status = (int)I64(3);
    o->received_ms = I64(5);
    o->response = c->ops->bytes(c->res, c->row, 4, &o->response_len);
    if (o->response == NULL)
        return GW_ENOMEM;
    o->replayed = 1;
    return GW_OK;
}

#define TEXT(col) c->ops->text(c->res, c->row, (col))

void
gw_rows_audit(const struct gw_cells *c, struct gw_audit_record *o)
{
    memset(o, 0, sizeof(*o));
    o->seq = I64(0);
    o->at_ms = I64(1);
    o->e.system = TEXT(2);
    o->e.user = TEXT(3);
    o->e.action = TEXT(4);
    o->e.refnr = TEXT(5);
    o->e.outcome = TEXT(6);
    o->e.detail = TEXT(7);
    COPY(prev_hash, 8);
    COPY(hash, 9);
}

gw_rc
gw_rows_consent(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_consent *o = elem;

    (void)i;
    o->known = 1;
    o->consented_ms = I64(0);
    o->last_applied_ms = I64(1);
    o->last_active_ms = I64(2);
    return GW_OK;
}

gw_rc
gw_rows_history(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_history_row *o = elem;

    o->version = (long)i + 1;
    COPY(from_status, 0);
    COPY(to_status, 1);
    COPY(event, 2);
    o->at_ms = I64(3);
    return GW_OK;
}

gw_rc
gw_rows_licence(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_licence_hit *o = elem;

    (void)i;
    COPY(refnr, 0);
    COPY(licence_type, 1);
    o->beredskap = (int)I64(2);
    COPY(valid_from, 3);
    COPY(valid_to, 4);
    o->total_amount = F64(5);
    COPY(amount_unit, 6);
    o->dispensed = F64(7);
    COPY(general_level, 8);
    COPY(patient_id, 9);
    COPY(clinic_hsa, 10);
    COPY(hospital_hsa, 11);
    COPY(status, 12);
    return GW_OK;
}

gw_rc
gw_rows_product(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_product *o = elem;

    (void)i;
    COPY(name, 0);
    COPY(substances, 1);
    COPY(holder, 2);
    COPY(country, 3);
    COPY(nplid, 4);
    COPY(form, 5);
    COPY(strength, 6);
    COPY(atc, 7);
    return GW_OK;
}

gw_rc
gw_rows_pharmacy(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_pharmacy *o = elem;

    (void)i;
    COPY(gln, 0);
    COPY(name, 1);
    COPY(actor, 2);
    COPY(address, 3);
    COPY(city, 4);
    return GW_OK;
}

gw_rc
gw_rows_outbox_info(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_outbox_info *o = elem;

    (void)i;
    o->id = I64(0);
    COPY(message_id, 1);
    COPY(peer, 2);
    COPY(kind, 3);
    COPY(refnr, 4);
    COPY(state, 5);
    o->attempts = (int)I64(6);
    o->next_attempt_ms = I64(7);
    o->created_ms = I64(8);
    o->updated_ms = I64(9);
    COPY(last_error, 10);
    o->payload_len = (size_t)I64(11);
    COPY(claimed_by, 12);
    o->claimed_until = I64(13);
    COPY(target, 14);
    return GW_OK;
}

gw_rc
gw_rows_outbox_item(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_outbox_item *o = elem;

    (void)i;
    o->payload = c->ops->bytes(c->res, c->row, 5, &o->payload_len);
    if (o->payload == NULL)
        return GW_ENOMEM;
    o->id = I64(0);
    COPY(message_id, 1);
    COPY(peer, 2);
    COPY(kind, 3);
    COPY(refnr, 4);
    o->attempts = (int)I64(6);
    COPY(target, 7);
    o->next_attempt_ms = I64(8);
    return GW_OK;
}

gw_rc
gw_rows_outbox_item_keep(struct gw_outbox_item *got,
                         struct gw_outbox_item **out)
{
    /* One block, the payload after the item: gw_outbox_item_free is one
     * free. */
    *out = malloc(sizeof(**out) + got->payload_len + 1);
    if (*out != NULL) {
        **out = *got;
        (*out)->payload = (char *)(*out + 1);
        memcpy((*out)->payload, got->payload, got->payload_len + 1);
    }
    free(got->payload);
    return *out != NULL ? GW_OK : GW_ENOMEM;
}

void
gw_outbox_item_free(struct gw_outbox_item *item)
{
    free(item);
}

gw_rc
gw_rows_subscription(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_subscription *o = elem;

    (void)i;
    COPY(id, 0);
    COPY(gln, 1);
    COPY(endpoint, 2);
    COPY(criteria, 3);
    COPY(status, 4);
    o->created_ms = I64(5);
    o->failures = (int)I64(6);
    COPY(error, 7);
    COPY(filter, 8);
    COPY(header, 9);
    o->heartbeat_s = (int)I64(10);
    o->events = I64(11);
    o->sent_ms = I64(12);
    return GW_OK;
}

gw_rc
gw_rows_sub_event(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_sub_event *o = elem;

    (void)i;
    o->number = I64(0);
    o->at_ms = I64(1);
    COPY(code, 2);
    COPY(refnr, 3);
    return GW_OK;
}

size_t
gw_rows_slot(void *out, size_t elem_size, size_t key_size, size_t max,
             size_t *n, const char *key)
{
    unsigned char *a = out;

    for (size_t i = 0; i < *n; i++)
        if (strncmp((const char *)(a + elem_size * i), key, key_size) == 0)
            return i;
    if (*n == max)
        return SIZE_MAX;
    memset(a + elem_size * *n, 0, elem_size);
    snprintf((char *)(a + elem_size * *n), key_size, "%s", key);
    return (*n)++;
}

#define SLOT(arr, max, n, key)                                                 \
    gw_rows_slot((arr), sizeof(*(arr)), sizeof((arr)->peer), (max), (n), (key))

void
gw_rows_add_peer_count(const struct gw_cells *c, void *out, size_t max,
                       size_t *n)
{
    struct gw_outbox_peer_count *o = out;
    const char *peer = c->ops->text(c->res, c->row, 0);
    const char *state = c->ops->text(c->res, c->row, 1);
    size_t i;

    if (peer == NULL || state == NULL ||
        (i = SLOT(o, max, n, peer)) == SIZE_MAX)
        return;
    if (strcmp(state, "dead") == 0)
        o[i].dead = I64(2);
    else
        o[i].queued += I64(2);
}

void
gw_rows_add_console_peer(const struct gw_cells *c, void *out, size_t max,
                         size_t *n)
{
    struct gw_console_peer *o = out;
    const char *peer = c->ops->text(c->res, c->row, 0);
    const char *state = c->ops->text(c->res, c->row, 1);
    long long cnt = I64(2);
    int64_t fail = I64(4);
    size_t i;

    if (peer == NULL || state == NULL ||
        (i = SLOT(o, max, n, peer)) == SIZE_MAX)
        return;
    if (strcmp(state, "pending") == 0) {
        o[i].pending = cnt;
        o[i].oldest_pending_ms = I64(3);
    } else if (strcmp(state, "inflight") == 0) {
        o[i].inflight = cnt;
    } else {
        o[i].dead = cnt;
    }
    if (fail > o[i].last_fail_ms)
        o[i].last_fail_ms = fail;
}

/* The next free element of out (elem_size bytes each), zeroed and
 * counted in *n; NULL when max are filled (the row is dropped). */
static void *
append(void *out, size_t elem_size, size_t max, size_t *n)
{
    unsigned char *e;

    if (*n == max)
        return NULL;
    e = (unsigned char *)out + elem_size * (*n)++;
    memset(e, 0, elem_size);
    return e;
}

#define APPEND(type) ((type *)append(out, sizeof(type), max, n))

void
gw_rows_add_console_dead(const struct gw_cells *c, void *out, size_t max,
                         size_t *n)
{
    struct gw_console_dead *o = APPEND(struct gw_console_dead);

    if (o == NULL)
        return;
    o->id = I64(0);
    COPY(peer, 1);
    COPY(kind, 2);
    o->attempts = (int)I64(3);
    o->created_ms = I64(4);
    o->updated_ms = I64(5);
    COPY(last_error, 6);
}

void
gw_rows_add_console_count(const struct gw_cells *c, void *out, size_t max,
                          size_t *n)
{
    struct gw_console_count *o = APPEND(struct gw_console_count);

    if (o == NULL)
        return;
    COPY(key, 0);
    o->n = I64(1);
}

void
gw_rows_add_peer_oldest(const struct gw_cells *c, void *out, size_t max,
                        size_t *n)
{
    struct gw_outbox_peer_oldest *o = APPEND(struct gw_outbox_peer_oldest);

    if (o == NULL)
        return;
    COPY(peer, 0);
    o->created_ms = I64(1);
}

void
gw_rows_add_console_audit(const struct gw_cells *c, void *out, size_t max,
                          size_t *n)
{
    struct gw_console_audit *o = APPEND(struct gw_console_audit);

    if (o == NULL)
        return;
    o->seq = I64(0);
    COPY(hash, 1);
    o->at_ms = I64(2);
}

void
gw_rows_add_i64(const struct gw_cells *c, void *out, size_t max, size_t *n)
{
    int64_t *o = APPEND(int64_t);

    if (o != NULL)
        *o = I64(0);
}

void
gw_rows_add_outbox_count(const struct gw_cells *c, void *out, size_t max,
                         size_t *n)
{
    static const char *const names[] = {"pending", "inflight", "done", "dead"};
    long long *counts = out;
    const char *state = TEXT(0);

    (void)n;
    for (size_t i = 0; state != NULL && i < 4 && i < max; i++)
        if (strcmp(state, names[i]) == 0)
            counts[i] = I64(1);
}

gw_rc
gw_rows_purge_victim(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_purge_victim *o = elem;

    (void)i;
    o->id = I64(0);
    COPY(refnr, 1);
    return GW_OK;
}

/* Appends part[0..k) (freed here) to *v (*n elements), each marked
 * decided; GW_ENOMEM leaves *v and *n as they were. */
static gw_rc
purge_join(struct gw_purge_victim **v, size_t *n, struct gw_purge_victim *part,
           size_t k, int decided)
{
    struct gw_purge_victim *g = NULL;

    if (k > 0 && (g = realloc(*v, (*n + k) * sizeof(**v))) == NULL) {
        free(part);
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        g[*n + i] = part[i];
        g[*n + i].decided = decided;
    }
    if (k > 0) {
        *v = g;
        *n += k;
    }
    free(part);
    return GW_OK;
}

/* The statements of the walk, in both dialects. The victims of one
 * status past its cut, by the decision or by the motivation; PostgreSQL
 * locks them (FOR UPDATE: see gw_pg_purge). */
#define PURGE_FIND(status, cut, since, lock)                                   \
    "SELECT id, refnr FROM cases WHERE purged_ms IS NULL AND status = "      \
    status " AND " since " < " cut " ORDER BY id" lock
static const struct gw_sql purge_find[2] = {
    {PURGE_FIND("?1", "?2", "created_ms", ""),
     PURGE_FIND("$1", "$2", "created_ms", " FOR UPDATE")},
    {PURGE_FIND("?1", "?2", "decided_ms", ""),
     PURGE_FIND("$1", "$2", "decided_ms", " FOR UPDATE")},
};
#undef PURGE_FIND
/* What purging one case does; each step's parameters: its id, its
 * referensnummer, or its id and the time. */
enum purge_arg { BY_ID, BY_REFNR, BY_ID_NOW };
static const struct {
    struct gw_sql sql;
    enum purge_arg arg;
} purge_steps[] = {
    {{"DELETE FROM documents WHERE case_id = ?1",
      "DELETE FROM documents WHERE case_id = $1"},
     BY_ID},
    {{"DELETE FROM attachments WHERE case_id = ?1",
      "DELETE FROM attachments WHERE case_id = $1"},
     BY_ID},
    {{"UPDATE status_history SET actor = '(purged)' WHERE case_id = ?1",
      "UPDATE status_history SET actor = '(purged)' WHERE case_id = $1"},
     BY_ID},
    {{"UPDATE inbox SET response = NULL WHERE refnr = ?1",
      "UPDATE inbox SET response = NULL WHERE refnr = $1"},
     BY_REFNR},
    {{"UPDATE outbox SET payload = x'' WHERE refnr = ?1"
      " AND state IN ('done', 'dead')",
      "UPDATE outbox SET payload = ''::bytea WHERE refnr = $1"
      " AND state IN ('done', 'dead')"},
     BY_REFNR},
    {{"UPDATE cases SET patient_id = NULL, prescriber_hsa = NULL,"
      " purged_ms = ?2 WHERE id = ?1",
      "UPDATE cases SET patient_id = NULL, prescriber_hsa = NULL,"
      " purged_ms = $2 WHERE id = $1"},
     BY_ID_NOW},
};
static const struct gw_sql purge_log = {
    "INSERT INTO purge_log (at_ms, motivations, decided) VALUES (?1, ?2, ?3)",
    "INSERT INTO purge_log (at_ms, motivations, decided) VALUES ($1, $2, $3)"};

/* Purges victim v: its steps, then its audit record e. */
static gw_rc
purge_one(const struct gw_purge_ops *ops, void *conn,
          const struct gw_purge_victim *v, const struct gw_audit_entry *e,
          int64_t now_ms)
{
    gw_rc rc = GW_OK;

    for (size_t k = 0; rc == GW_OK && k < sizeof(purge_steps) /
                                             sizeof(purge_steps[0]); k++) {
        struct gw_args a = {0};
        if (purge_steps[k].arg == BY_REFNR)
            gw_args_str(&a, v->refnr);
        else
            gw_args_i64(&a, v->id);
        if (purge_steps[k].arg == BY_ID_NOW)
            gw_args_i64(&a, now_ms);
        rc = ops->run(conn, &purge_steps[k].sql, &a, "purge_step");
    }
    return rc == GW_OK ? ops->audit(conn, e, now_ms) : rc;
}

gw_rc
gw_rows_purge_walk(const struct gw_purge_ops *ops, void *conn, int64_t now_ms,
                   int motivation_months, int decided_months, int mode,
                   struct gw_purge_counts *out)
{
    int dry_run = mode == GW_PURGE_DRY_RUN;
    int64_t cut_motivation = gw_clock_minus_months(now_ms, motivation_months);
    int64_t cut_decided = gw_clock_minus_months(now_ms, decided_months);
    struct gw_purge_victim *v = NULL;
    size_t n = 0;
    gw_rc rc = GW_OK;

    for (int s = GW_CASE_NONE + 1; rc == GW_OK && s < GW_CASE_NSTATUS; s++) {
        enum gw_case_status to;
        int decided = gw_case_is_decided((enum gw_case_status)s);
        struct gw_purge_victim *part = NULL;
        size_t k = 0;
        struct gw_args a = {0};
        if (gw_case_transition((enum gw_case_status)s, GW_EV_PURGE,
                               GW_ROLE_GATEWAY, &to, NULL) != GW_OK)
            continue;
        gw_args_str(&a, gw_case_status_code((enum gw_case_status)s));
        gw_args_i64(&a, decided ? cut_decided : cut_motivation);
        rc = ops->list(conn, &purge_find[decided], &a, sizeof(*part),
                       gw_rows_purge_victim, (void **)&part, &k, "purge_find");
        if (rc == GW_OK)
            rc = purge_join(&v, &n, part, k, decided);
    }
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        struct gw_audit_entry e = {"gateway",
                                   NULL,
                                   "purge",
                                   v[i].refnr,
                                   "ok",
                                   v[i].decided
                                       ? "decided case past retention"
                                       : "motivation without application"};
        if (v[i].decided)
            out->decided++;
        else
            out->motivations++;
        if (!dry_run)
            rc = purge_one(ops, conn, &v[i], &e, now_ms);
    }
    free(v);
    if (rc == GW_OK && !dry_run &&
        (mode == GW_PURGE_DAILY || out->motivations || out->decided)) {
        struct gw_args a = {0};
        gw_args_i64(&a, now_ms);
        gw_args_i64(&a, out->motivations);
        gw_args_i64(&a, out->decided);
        rc = ops->run(conn, &purge_log, &a, "purge_log");
    }
    return rc;
}
