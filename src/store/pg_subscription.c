/*
 * pg_subscription.c - the PostgreSQL backend's subscriptions: the same
 * contracts as subscription.c (subscription.h), each one statement or one
 * short transaction on a pool connection. An event is numbered under the
 * subscription's row lock (UPDATE ... RETURNING), so two nodes trying the
 * same item, or two items at once, get distinct numbers without gaps.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/pg_int.h"
#include "store/subscription.h"


gw_rc
gw_pg_sub_note(struct gw_store *st, const char *id, int ok, int permanent,
               int max_failures, const char *why, int *in_error)
{
    struct gw_pg_params p = {0};
    PGconn *c;
    PGresult *r = NULL;
    int err_now = 0;
    gw_rc rc;

    if (in_error != NULL)
        *in_error = 0;
    gw_pg_p_str(&p, id);
    if (ok)
        return gw_pg_run(st,
                   "UPDATE subscriptions SET failures = 0 WHERE id = $1 AND "
                   "failures <> 0",
                   &p, NULL, "sub_ok");
    if ((rc = gw_pg_take(PG(st), &c)) != GW_OK)
        return rc;
    gw_pg_p_i64(&p, permanent != 0);
    gw_pg_p_i64(&p, max_failures);
    gw_pg_p_str(&p, why ? why : "notification failed");
    rc = gw_pg_q(c, "BEGIN", NULL, NULL, "sub_begin");
    if (rc == GW_OK)
        rc = gw_pg_q(c,
                     "UPDATE subscriptions SET failures = failures + 1, "
                     "status = CASE WHEN $2::int <> 0 OR failures + 1 >= $3 "
                     "THEN 'error' ELSE status END, error = CASE WHEN "
                     "$2::int <> 0 OR failures + 1 >= $3 THEN $4 ELSE error "
                     "END WHERE id = $1 RETURNING status",
                     &p, &r, "sub_failed");
    if (rc == GW_OK && PQntuples(r) == 0)
        rc = GW_ENOTFOUND;
    if (rc == GW_OK)
        err_now = strcmp(PQgetvalue(r, 0, 0), "error") == 0;
    PQclear(r);
    if (rc == GW_OK && err_now) {
        struct gw_pg_params d = {0};
        gw_pg_p_str(&d, id);
        gw_pg_p_i64(&d, gw_clock_now_ms());
        gw_pg_p_str(&d, why ? why : "notification failed");
        rc = gw_pg_q(c,
                     "UPDATE outbox SET next_attempt_ms = $2, updated_ms = "
                     "$2, last_error = 'subscription in error: ' || $3 "
                     "WHERE target = $1 AND state = 'pending'",
                     &d, NULL, "sub_items_due");
    }
    if (rc == GW_OK)
        rc = gw_pg_q(c, "COMMIT", NULL, NULL, "sub_commit");
    gw_pg_give(PG(st), c); /* rolls back what did not commit */
    if (rc == GW_OK && in_error != NULL)
        *in_error = err_now;
    return rc;
}

/* --- events -------------------------------------------------------------- */

gw_rc
gw_pg_sub_event(struct gw_store *st, const char *id, const char *message_id,
                const char *code, const char *refnr, struct gw_sub_event *ev)
{
    struct gw_pg_params p = {0};
    PGconn *c;
    PGresult *r = NULL;
    gw_rc rc;

    memset(ev, 0, sizeof(*ev));
    snprintf(ev->code, sizeof(ev->code), "%s", code);
    snprintf(ev->refnr, sizeof(ev->refnr), "%s", refnr ? refnr : "");
    if ((rc = gw_pg_take(PG(st), &c)) != GW_OK)
        return rc;
    gw_pg_p_str(&p, id);
    rc = gw_pg_q(c, "BEGIN", NULL, NULL, "sub_event_begin");
    /* The subscription's row lock orders everyone numbering its events. */
    if (rc == GW_OK)
        rc = gw_pg_q(c, "SELECT events FROM subscriptions WHERE id = $1 FOR "
                        "UPDATE",
                     &p, &r, "sub_event_lock");
    if (rc == GW_OK && PQntuples(r) == 0)
        rc = GW_ENOTFOUND;
    PQclear(r);
    r = NULL;
    if (rc == GW_OK) {
        struct gw_pg_params f = {0};
        gw_pg_p_str(&f, id);
        gw_pg_p_str(&f, message_id);
        rc = gw_pg_q(c,
                     "SELECT event_number, at_ms FROM subscription_events "
                     "WHERE sub_id = $1 AND message_id = $2",
                     &f, &r, "sub_event_find");
        if (rc == GW_OK && PQntuples(r) == 1) { /* a retry */
            ev->number = gw_pg_i64(r, 0, 0);
            ev->at_ms = gw_pg_i64(r, 0, 1);
        }
        PQclear(r);
        r = NULL;
    }
    if (rc == GW_OK && ev->number == 0) {
        struct gw_pg_params q = {0};
        ev->at_ms = gw_clock_now_ms();
        gw_pg_p_str(&q, id);
        gw_pg_p_str(&q, message_id);
        gw_pg_p_str(&q, code);
        gw_pg_p_str(&q, refnr);
        gw_pg_p_i64(&q, ev->at_ms);
        gw_pg_p_i64(&q, GW_SUB_EVENTS_KEPT);
        rc = gw_pg_q(c,
                     "WITH n AS (UPDATE subscriptions SET events = events + 1 "
                     "WHERE id = $1 RETURNING events), ins AS (INSERT INTO "
                     "subscription_events (sub_id, event_number, message_id, "
                     "code, refnr, at_ms) SELECT $1, events, $2, $3, $4, $5 "
                     "FROM n), cut AS (DELETE FROM subscription_events WHERE "
                     "sub_id = $1 AND event_number <= (SELECT events FROM n) "
                     "- $6) SELECT events FROM n",
                     &q, &r, "sub_event_put");
        if (rc == GW_OK && PQntuples(r) == 1)
            ev->number = gw_pg_i64(r, 0, 0);
        else if (rc == GW_OK)
            rc = GW_ENOTFOUND;
        PQclear(r);
    }
    if (rc == GW_OK)
        rc = gw_pg_q(c, "COMMIT", NULL, NULL, "sub_event_commit");
    gw_pg_give(PG(st), c); /* rolls back what did not commit */
    return rc;
}

