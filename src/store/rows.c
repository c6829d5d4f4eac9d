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
#define TEXT(col) c->ops->text(c->res, c->row, (col))
#define COPY(field, col) gw_cell_copy(c, (col), o->field, sizeof(o->field))

/*
 * A row struct described by its columns, one entry a column in the order
 * its SELECT lists them: a member the text is copied into (a char array),
 * a string the row owns (char *, NULL for NULL), bytes the row owns (char
 * *, malloc'd with a NUL after them; their length in a size_t member), an
 * integer (int, or 8 bytes: int64_t, long long, long, size_t) or a real.
 * One fill walks every table; each table is written with ROW defined as
 * its struct.
 */
enum col_kind { COL_COPY, COL_OWN, COL_BYTES, COL_INT, COL_REAL };
struct col {
    size_t off, size; /* the member; its size */
    enum col_kind kind;
    size_t len_off; /* COL_BYTES: the member the length goes to */
};
#define COL(m, k)                                                              \
    {                                                                          \
        .off = offsetof(ROW, m), .size = sizeof(((ROW *)0)->m), .kind = (k)    \
    }
#define CP(m) COL(m, COL_COPY)
#define OWN(m) COL(m, COL_OWN)
#define INT(m) COL(m, COL_INT)
#define REAL(m) COL(m, COL_REAL)
#define BYTES(m, len)                                                          \
    {                                                                          \
        .off = offsetof(ROW, m), .kind = COL_BYTES,                            \
        .len_off = offsetof(ROW, len)                                          \
    }
#define NCOLS(cols) (sizeof(cols) / sizeof((cols)[0]))

/* elem's members from the row's columns 0..n, as cols says; GW_ENOMEM
 * when bytes could not be copied (their member stays NULL; what the other
 * members own is the caller's to free). */
static gw_rc
fill_cols(const struct gw_cells *c, const struct col *cols, size_t n,
          void *elem)
{
    unsigned char *base = elem;
    gw_rc rc = GW_OK;

    for (size_t k = 0; k < n; k++) {
        void *m = base + cols[k].off;
        int col = (int)k;
        if (cols[k].kind == COL_COPY) {
            gw_cell_copy(c, col, m, cols[k].size);
        } else if (cols[k].kind == COL_OWN) {
            *(char **)m = gw_cell_dup(c, col);
        } else if (cols[k].kind == COL_BYTES) {
            char *b = c->ops->bytes(c->res, c->row, col,
                                    (size_t *)(void *)(base + cols[k].len_off));
            *(char **)m = b;
            if (b == NULL)
                rc = GW_ENOMEM;
        } else if (cols[k].kind == COL_REAL) {
            double v = F64(col);
            memcpy(m, &v, sizeof(v));
        } else if (cols[k].size == sizeof(int32_t)) {
            int32_t v = (int32_t)I64(col);
            memcpy(m, &v, sizeof(v));
        } else {
            int64_t v = I64(col);
            memcpy(m, &v, sizeof(v));
        }
    }
    return rc;
}

/* The gw_cells_fill fn of a struct described by cols. */
#define FILL_FROM(fn, cols)                                                    \
    gw_rc fn(const struct gw_cells *c, void *elem, size_t i)                   \
    {                                                                          \
        (void)i;                                                               \
        return fill_cols(c, cols, NCOLS(cols), elem);                          \
    }

/* The columns of a case (GW_CASE_COLUMNS): its strings are the row's own.
 * The fill and the release walk the same list. */
#define ROW struct gw_case_row
static const struct col case_cols[] = {
    OWN(refnr),          OWN(status),       OWN(licence_type),  INT(beredskap),
    OWN(prescriber_hsa), OWN(hospital_hsa), OWN(hospital_name), OWN(clinic_hsa),
    OWN(clinic_name),    OWN(pharmacy_gln), OWN(drug_name),     OWN(substances),
    OWN(patient_id),     OWN(parent_refnr), INT(version),       INT(created_ms),
    INT(updated_ms),     INT(applied_ms),   INT(decided_ms),    INT(purged_ms),
    INT(rowid),
};
#undef ROW

gw_rc
gw_rows_case(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_case_row *o = elem;

    (void)i;
    memset(o, 0, sizeof(*o));
    (void)fill_cols(c, case_cols, NCOLS(case_cols), o); /* no bytes */
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

    for (size_t k = 0; k < NCOLS(case_cols); k++)
        if (case_cols[k].kind == COL_OWN)
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

#define ROW struct gw_write_sub_id
static const struct col sub_id_cols[] = {CP(id)};
#undef ROW
FILL_FROM(gw_rows_sub_id, sub_id_cols)

#define ROW struct gw_store_result
static const struct col inbox_cols[] = {CP(content_hash),
                                        CP(refnr),
                                        INT(version),
                                        INT(response_status),
                                        BYTES(response, response_len),
                                        INT(received_ms)};
#undef ROW

gw_rc
gw_rows_inbox(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_store_result *o = elem;
    gw_rc rc = fill_cols(c, inbox_cols, NCOLS(inbox_cols), o);

    (void)i;
    if (rc == GW_OK)
        o->replayed = 1;
    return rc;
}

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

#define ROW struct gw_consent
static const struct col consent_cols[] = {
    INT(consented_ms), INT(last_applied_ms), INT(last_active_ms)};
#undef ROW

gw_rc
gw_rows_consent(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_consent *o = elem;

    (void)i;
    o->known = 1;
    fill_cols(c, consent_cols, NCOLS(consent_cols), o);
    return GW_OK;
}

#define ROW struct gw_history_row
static const struct col history_cols[] = {CP(from_status), CP(to_status),
                                          CP(event), INT(at_ms)};
#undef ROW

gw_rc
gw_rows_history(const struct gw_cells *c, void *elem, size_t i)
{
    struct gw_history_row *o = elem;

    o->version = (long)i + 1;
    fill_cols(c, history_cols, NCOLS(history_cols), o);
    return GW_OK;
}

#define ROW struct gw_licence_hit
static const struct col licence_cols[] = {
    CP(refnr),         CP(licence_type),   INT(beredskap),  CP(valid_from),
    CP(valid_to),      REAL(total_amount), CP(amount_unit), REAL(dispensed),
    CP(general_level), CP(patient_id),     CP(clinic_hsa),  CP(hospital_hsa),
    CP(status)};
#undef ROW
FILL_FROM(gw_rows_licence, licence_cols)

#define ROW struct gw_product
static const struct col product_cols[] = {
    CP(name),  CP(substances), CP(holder),   CP(country),
    CP(nplid), CP(form),       CP(strength), CP(atc)};
#undef ROW
FILL_FROM(gw_rows_product, product_cols)

#define ROW struct gw_pharmacy
static const struct col pharmacy_cols[] = {CP(gln), CP(name), CP(actor),
                                           CP(address), CP(city)};
#undef ROW
FILL_FROM(gw_rows_pharmacy, pharmacy_cols)

#define ROW struct gw_outbox_info
static const struct col outbox_info_cols[] = {
    INT(id),         CP(message_id),     CP(peer),       CP(kind),
    CP(refnr),       CP(state),          INT(attempts),  INT(next_attempt_ms),
    INT(created_ms), INT(updated_ms),    CP(last_error), INT(payload_len),
    CP(claimed_by),  INT(claimed_until), CP(target)};
#undef ROW
FILL_FROM(gw_rows_outbox_info, outbox_info_cols)

#define ROW struct gw_outbox_item
static const struct col outbox_item_cols[] = {
    INT(id),       CP(message_id), CP(peer),
    CP(kind),      CP(refnr),      BYTES(payload, payload_len),
    INT(attempts), CP(target),     INT(next_attempt_ms)};
#undef ROW
FILL_FROM(gw_rows_outbox_item, outbox_item_cols)

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

#define ROW struct gw_subscription
static const struct col subscription_cols[] = {
    CP(id),           CP(gln),       CP(endpoint), CP(criteria), CP(status),
    INT(created_ms),  INT(failures), CP(error),    CP(filter),   CP(header),
    INT(heartbeat_s), INT(events),   INT(sent_ms)};
#undef ROW
FILL_FROM(gw_rows_subscription, subscription_cols)

#define ROW struct gw_sub_event
static const struct col sub_event_cols[] = {INT(number), INT(at_ms), CP(code),
                                            CP(refnr)};
#undef ROW
FILL_FROM(gw_rows_sub_event, sub_event_cols)

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

/* A row of (peer, state, ...): the element of out (elem_size bytes, its
 * first member a char[key_size]) keyed by its peer, and *state; NULL
 * when the peer or the state is NULL, or the array is full. */
static void *
peer_row(const struct gw_cells *c, void *out, size_t elem_size, size_t key_size,
         size_t max, size_t *n, const char **state)
{
    const char *peer = TEXT(0);
    size_t i;

    *state = TEXT(1);
    if (peer == NULL || *state == NULL)
        return NULL;
    i = gw_rows_slot(out, elem_size, key_size, max, n, peer);
    return i == SIZE_MAX ? NULL : (unsigned char *)out + elem_size * i;
}

#define PEER_ROW(type, state)                                                  \
    ((type *)peer_row(c, out, sizeof(type), sizeof(((type *)0)->peer), max, n, \
                      (state)))

void
gw_rows_add_peer_count(const struct gw_cells *c, void *out, size_t max,
                       size_t *n)
{
    const char *state;
    struct gw_outbox_peer_count *o =
        PEER_ROW(struct gw_outbox_peer_count, &state);

    if (o == NULL)
        return;
    if (strcmp(state, "dead") == 0)
        o->dead = I64(2);
    else
        o->queued += I64(2);
}

void
gw_rows_add_console_peer(const struct gw_cells *c, void *out, size_t max,
                         size_t *n)
{
    const char *state;
    struct gw_console_peer *o = PEER_ROW(struct gw_console_peer, &state);
    long long cnt = I64(2);
    int64_t fail = I64(4);

    if (o == NULL)
        return;
    if (strcmp(state, "pending") == 0) {
        o->pending = cnt;
        o->oldest_pending_ms = I64(3);
    } else if (strcmp(state, "inflight") == 0) {
        o->inflight = cnt;
    } else {
        o->dead = cnt;
    }
    if (fail > o->last_fail_ms)
        o->last_fail_ms = fail;
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

/* The gw_cells_add fn of the struct ROW described by cols: each row a
 * new element, dropped when the array is full. */
#define ADD_FROM(fn, cols)                                                     \
    void fn(const struct gw_cells *c, void *out, size_t max, size_t *n)        \
    {                                                                          \
        void *o = append(out, sizeof(ROW), max, n);                            \
        if (o != NULL)                                                         \
            fill_cols(c, cols, NCOLS(cols), o);                                \
    }

#define ROW struct gw_console_dead
static const struct col console_dead_cols[] = {
    INT(id),         CP(peer),        CP(kind),      INT(attempts),
    INT(created_ms), INT(updated_ms), CP(last_error)};
ADD_FROM(gw_rows_add_console_dead, console_dead_cols)
#undef ROW

#define ROW struct gw_console_count
static const struct col console_count_cols[] = {CP(key), INT(n)};
ADD_FROM(gw_rows_add_console_count, console_count_cols)
#undef ROW

#define ROW struct gw_outbox_peer_oldest
static const struct col peer_oldest_cols[] = {CP(peer), INT(created_ms)};
ADD_FROM(gw_rows_add_peer_oldest, peer_oldest_cols)
#undef ROW

#define ROW struct gw_console_audit
static const struct col console_audit_cols[] = {INT(seq), CP(hash), INT(at_ms)};
ADD_FROM(gw_rows_add_console_audit, console_audit_cols)
#undef ROW

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

#define ROW struct gw_purge_victim
static const struct col purge_victim_cols[] = {INT(id), CP(refnr)};
#undef ROW
FILL_FROM(gw_rows_purge_victim, purge_victim_cols)

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
