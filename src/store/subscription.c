/*
 * subscription.c - pharmacy subscriptions (rest-hook endpoints, one GLN
 * each) on SQLite: their deletion, notes and event numbers, each one
 * short transaction on the maintenance connection (the plain reads and
 * writes are both backends': shared_reads.c). Subscriptions are few and
 * change rarely, so they are not written through the group-commit
 * writer.
 *
 * A subscription is "active" or "error": gw_store_sub_note counts the
 * failed notifications in a row and puts it in error after a permanent
 * refusal or outbox.subscription_max_failures of them; its waiting items
 * then become dead letters in the same transaction, and it gets nothing
 * more until the pharmacy creates it again (a new subscription). A new
 * one is "requested" until its handshake was answered (outbound/
 * pharmacy.c).
 *
 * Each event a subscription is to be told of is numbered when its
 * notification is first tried (gw_store_sub_event), in one transaction
 * with the subscription's count, so the numbers have no gaps and a retry
 * keeps its number; the last GW_SUB_EVENTS_KEPT are kept for $events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "store/store_int.h"
#include "store/subscription.h"

/* Begins a transaction on the maintenance connection (its lock held)
 * and prepares its first statement, sql: NULL with *rc set when either
 * fails (*begun: whether the transaction is open). */
static sqlite3_stmt *
maint_begin(struct gw_store *st, const char *sql, int *begun, gw_rc *rc)
{
    sqlite3_stmt *s;

    if ((*rc = gw_store_exec(&st->m, "BEGIN IMMEDIATE")) != GW_OK)
        return NULL;
    *begun = 1;
    if ((s = gw_store_stmt(&st->m, sql)) == NULL)
        *rc = GW_ESTORE;
    return s;
}

static const char SQL_SUB_OK[] =
    "UPDATE subscriptions SET failures = 0 WHERE id = ?1 AND failures != 0";
static const char SQL_SUB_FAILED[] =
    "UPDATE subscriptions SET failures = failures + 1,"
    " status = CASE WHEN ?2 OR failures + 1 >= ?3 THEN 'error' ELSE status END,"
    " error = CASE WHEN ?2 OR failures + 1 >= ?3 THEN ?4 ELSE error END"
    " WHERE id = ?1 RETURNING status";
/* Its waiting items are due at once: each is then numbered for $events
 * and becomes a dead letter (outbound/pharmacy.c, not_active). */
static const char SQL_SUB_ITEMS_DUE[] =
    "UPDATE outbox SET next_attempt_ms = ?2, updated_ms = ?2,"
    " last_error = 'subscription in error: ' || ?3"
    " WHERE target = ?1 AND state = 'pending'";

gw_rc
gw_sqlite_sub_note(struct gw_store *st, const char *id, int ok, int permanent,
                  int max_failures, const char *why, int *in_error)
{
    sqlite3_stmt *s;
    int err_now = 0, src, begun = 0;
    gw_rc rc;

    if (in_error != NULL)
        *in_error = 0;
    pthread_mutex_lock(&st->mmu);
    if (ok) {
        s = gw_store_stmt(&st->m, SQL_SUB_OK);
        rc = s == NULL ? GW_ESTORE : GW_OK;
        if (rc == GW_OK) {
            gw_bind_text(s, 1, id);
            rc = gw_store_rc(st->m.db, sqlite3_step(s), "sub_ok");
            sqlite3_reset(s);
        }
        goto out;
    }
    /* The subscription's status and its waiting items in one transaction. */
    if ((s = maint_begin(st, SQL_SUB_FAILED, &begun, &rc)) == NULL)
        goto out;
    gw_bind_text(s, 1, id);
    sqlite3_bind_int(s, 2, permanent != 0);
    sqlite3_bind_int(s, 3, max_failures > 0 ? max_failures : 1);
    gw_bind_text(s, 4, why ? why : "notification failed");
    src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        err_now = strcmp((const char *)sqlite3_column_text(s, 0), "error") == 0;
        while ((src = sqlite3_step(s)) == SQLITE_ROW)
            ;
        rc = gw_store_rc(st->m.db, src, "sub_failed");
    } else {
        rc = src == SQLITE_DONE ? GW_ENOTFOUND
                                : gw_store_rc(st->m.db, src, "sub_failed");
    }
    sqlite3_reset(s);
    if (rc == GW_OK && err_now) {
        if ((s = gw_store_stmt(&st->m, SQL_SUB_ITEMS_DUE)) == NULL) {
            rc = GW_ESTORE;
            goto out;
        }
        gw_bind_text(s, 1, id);
        sqlite3_bind_int64(s, 2, gw_clock_now_ms());
        gw_bind_text(s, 3, why ? why : "notification failed");
        rc = gw_store_rc(st->m.db, sqlite3_step(s), "sub_items_due");
        sqlite3_reset(s);
    }
out:
    if (begun) /* GW_ENOTFOUND changed nothing: rolled back */
        rc = gw_store_end(&st->m, rc);
    pthread_mutex_unlock(&st->mmu);
    if (rc == GW_OK && in_error != NULL)
        *in_error = err_now;
    return rc;
}

/* --- events (Subscriptions Backport IG: event numbers, $events) ------- */

static const char SQL_EV_FIND[] =
    "SELECT event_number, at_ms FROM subscription_events WHERE sub_id = ?1"
    " AND message_id = ?2";
static const char SQL_EV_NEXT[] =
    "UPDATE subscriptions SET events = events + 1 WHERE id = ?1"
    " RETURNING events";
static const char SQL_EV_PUT[] =
    "INSERT INTO subscription_events (sub_id, event_number, message_id,"
    " code, refnr, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_EV_TRIM[] =
    "DELETE FROM subscription_events WHERE sub_id = ?1 AND event_number <= ?2";

gw_rc
gw_sqlite_sub_event(struct gw_store *st, const char *id,
                    const char *message_id, const char *code,
                    const char *refnr, struct gw_sub_event *ev)
{
    sqlite3_stmt *s;
    int begun = 0, src;
    gw_rc rc;

    memset(ev, 0, sizeof(*ev));
    snprintf(ev->code, sizeof(ev->code), "%s", code);
    snprintf(ev->refnr, sizeof(ev->refnr), "%s", refnr ? refnr : "");
    pthread_mutex_lock(&st->mmu);
    if ((s = maint_begin(st, SQL_EV_FIND, &begun, &rc)) == NULL)
        goto out;
    gw_bind_text(s, 1, id);
    gw_bind_text(s, 2, message_id);
    src = sqlite3_step(s);
    if (src == SQLITE_ROW) { /* a retry: the number it had */
        ev->number = sqlite3_column_int64(s, 0);
        ev->at_ms = sqlite3_column_int64(s, 1);
    }
    rc = gw_store_rc(st->m.db, src, "sub_event_find");
    sqlite3_reset(s);
    if (rc != GW_OK || ev->number != 0)
        goto out;
    if ((s = gw_store_stmt(&st->m, SQL_EV_NEXT)) == NULL) {
        rc = GW_ESTORE;
        goto out;
    }
    gw_bind_text(s, 1, id);
    src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        ev->number = sqlite3_column_int64(s, 0);
    while (src == SQLITE_ROW)
        src = sqlite3_step(s);
    rc = gw_store_rc(st->m.db, src, "sub_event_next");
    sqlite3_reset(s);
    if (rc == GW_OK && ev->number == 0)
        rc = GW_ENOTFOUND;
    if (rc != GW_OK)
        goto out;
    ev->at_ms = gw_clock_now_ms();
    if ((s = gw_store_stmt(&st->m, SQL_EV_PUT)) == NULL) {
        rc = GW_ESTORE;
        goto out;
    }
    gw_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, ev->number);
    gw_bind_text(s, 3, message_id);
    gw_bind_text(s, 4, code);
    gw_bind_text(s, 5, refnr);
    sqlite3_bind_int64(s, 6, ev->at_ms);
    rc = gw_store_rc(st->m.db, sqlite3_step(s), "sub_event_put");
    sqlite3_reset(s);
    if (rc == GW_OK && ev->number > GW_SUB_EVENTS_KEPT) {
        if ((s = gw_store_stmt(&st->m, SQL_EV_TRIM)) == NULL) {
            rc = GW_ESTORE;
            goto out;
        }
        gw_bind_text(s, 1, id);
        sqlite3_bind_int64(s, 2, ev->number - GW_SUB_EVENTS_KEPT);
        rc = gw_store_rc(st->m.db, sqlite3_step(s), "sub_event_trim");
        sqlite3_reset(s);
    }
out:
    if (begun)
        rc = gw_store_end(&st->m, rc);
    pthread_mutex_unlock(&st->mmu);
    return rc;
}

