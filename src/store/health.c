/*
 * health.c - whether the store can commit, for /healthz/ready.
 *
 * The writer records the result of its batches (st->ws.commit_rc). While it
 * is GW_OK the answer costs a mutex. After a failed batch - the disk full,
 * an I/O error - the store is ready again only when the file system of
 * the database has GW_STORE_READY_FREE bytes free again AND a probe
 * commits: one page (page 1, rewriting the application_id the file
 * already has, so nothing changes) on the maintenance connection. The
 * free-space test is needed because a one-page commit still fits in WAL
 * space that the failed commit had allocated, while a submission does
 * not. Probes run at most once a second whatever the polling rate, and
 * never while the store is healthy, so a load balancer polling readiness
 * costs no disk writes. Readiness comes back without a restart.
 *
 * Deliberately not here: anything about peers (HSA, LV): the gateway
 * takes submissions while a peer is down.
 */
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/store_int.h"

#define PROBE_EVERY_MS 1000
/* Free bytes the database's file system needs before a store that could
 * not commit is called ready again: room for a few submissions. */
#define GW_STORE_READY_FREE (1024 * 1024)

/* Whether the folder of the database has room again. */
static int
has_room(const struct gw_store *st)
{
    char dir[1024];
    struct statvfs sv;

    snprintf(dir, sizeof(dir), "%s", st->base.where);
    if (statvfs(dirname(dir), &sv) != 0)
        return 1; /* cannot tell: let the probe decide */
    return (unsigned long long)sv.f_bavail * sv.f_frsize >= GW_STORE_READY_FREE;
}

/* One transaction that must write a page. Called with mmu held. */
static gw_rc
probe(struct gw_store *st)
{
    sqlite3_stmt *s = NULL;
    char sql[64];
    int id = 0;
    gw_rc rc;

    if (sqlite3_prepare_v2(st->m.db, "PRAGMA application_id", -1, &s, NULL) !=
        SQLITE_OK)
        return GW_ESTORE;
    if (sqlite3_step(s) == SQLITE_ROW)
        id = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", id);
    rc = gw_store_exec(&st->m, "BEGIN IMMEDIATE");
    if (rc != GW_OK)
        return rc;
    rc = gw_store_exec(&st->m, sql);
    if (rc == GW_OK)
        rc = gw_store_exec(&st->m, "COMMIT");
    if (rc != GW_OK)
        (void)gw_store_exec(&st->m, "ROLLBACK");
    return rc;
}

gw_rc
gw_sqlite_ready(struct gw_store *st, struct gw_err *err)
{
    gw_rc rc, failed;
    int64_t now = gw_clock_mono_ms();

    pthread_mutex_lock(&st->ws.mu);
    failed = st->ws.commit_rc;
    if (!st->ws.writer_running || st->ws.stopping)
        failed = GW_EUNAVAILABLE;
    pthread_mutex_unlock(&st->ws.mu);
    if (failed == GW_OK)
        return GW_OK;
    if (failed == GW_EUNAVAILABLE)
        return gw_err_set(err, failed, NULL,
                          "the store's writer is not "
                          "running");
    pthread_mutex_lock(&st->mmu);
    if (st->probe_ms != 0 && now - st->probe_ms < PROBE_EVERY_MS) {
        rc = st->probe_rc;
    } else {
        rc = has_room(st) ? probe(st) : GW_ESTORAGEFULL;
        if (rc != GW_ESTORAGEFULL && rc != GW_OK && rc != GW_EBUSY)
            rc = GW_ESTORE;
        st->probe_rc = rc;
        st->probe_ms = now;
        if (rc == GW_OK)
            gw_log_info("event=store_ready detail=\"a commit succeeds "
                        "again\"");
    }
    pthread_mutex_unlock(&st->mmu);
    if (rc == GW_EBUSY)
        rc = failed; /* the lock was held too long: nothing learnt */
    if (rc == GW_OK) {
        pthread_mutex_lock(&st->ws.mu);
        if (st->ws.commit_rc == failed)
            st->ws.commit_rc = GW_OK;
        pthread_mutex_unlock(&st->ws.mu);
        return GW_OK;
    }
    return gw_err_set(err, rc, NULL, "%s",
                      rc == GW_ESTORAGEFULL ? "the disk of the database is full"
                                            : "the database cannot be written");
}
