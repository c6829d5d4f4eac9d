/*
 * store.h - the durable store: cases, documents, attachments, history,
 * inbox (idempotency), outbox, audit, HSA cache, subscriptions, products
 * and pharmacies, in one SQLite database (WAL, synchronous=FULL, foreign
 * keys on).
 *
 * Writes: every change that a message causes is ONE struct gw_store_write,
 * handed to the single writer thread with gw_store_write(). The writer
 * takes up to store.batch_max waiting requests, applies each inside its own
 * SAVEPOINT (a failing request rolls back alone), commits the batch in one
 * transaction, and only after that commit returns to each caller (group
 * commit). Nothing is acknowledged before it is durable.
 *
 * Reads: readers use their own connections from a small pool; reads never
 * wait for the writer.
 *
 * Lifecycle, as `klasgw serve` does it:
 *   gw_store_open(path, &opts, &st)   open, migrate, start the writer
 *   gw_outbox_worker_start(st, peers) deliver the outbox (optional)
 *   gw_sched_start(st, ...)           daily purge, cache expiry (sched.h)
 *   ... serve ...
 *   gw_sched_stop, gw_outbox_worker_stop, gw_store_close (finishes the
 *   batch in progress, then closes)
 */
#ifndef GW_STORE_STORE_H
#define GW_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct gw_store;

/* Latest schema version the code knows. */
#define GW_STORE_SCHEMA_VERSION 7

struct gw_store_opts {
    int readers;            /* reader connections (default 8) */
    int batch_max;          /* most requests in one commit (default 256) */
    int busy_timeout_ms;    /* default 5000 */
    int start_writer;       /* 0: open for reading/maintenance only */
    int read_only;          /* 1: SQLite refuses every write; no migration
                               (an older schema is an error), no writer */
    const char *backend;    /* "sqlite" (NULL: the default) or "postgresql" */
    const char *dsn;        /* postgresql: libpq conninfo (path unused) */
};

/*
 * Opens (creating the file and its folder if missing) and migrates the
 * database, and starts the writer thread unless opts->start_writer is 0.
 * With opts->backend "postgresql" path is unused: opts->dsn names the
 * database (pg.c), which must exist; the schema is migrated the same way.
 * opts may be NULL for defaults. Free with gw_store_close.
 */
gw_rc gw_store_open(const char *path, const struct gw_store_opts *opts,
                    struct gw_store **out, struct gw_err *err) GW_WARN_UNUSED;
/* "sqlite" or "postgresql": the backend st was opened with. */
const char *gw_store_backend_name(struct gw_store *st);
/* Whether dsn is a connection string libpq can parse (nothing is
 * connected); GW_ECONFIG naming store.dsn in err if not. */
gw_rc gw_store_dsn_check(const char *dsn, struct gw_err *err) GW_WARN_UNUSED;
/* Stops the writer after the batch in progress, closes every connection. */
void gw_store_close(struct gw_store *st);
/* Schema version of the open database. */
int gw_store_schema_version(struct gw_store *st);

/* --- statistics for metrics ----------------------------------------- */
/* The upper bounds (microseconds) of the writer's duration histograms;
 * a last bucket holds the longer ones. */
#define GW_STORE_DUR_N 10
extern const long long gw_store_dur_le_us[GW_STORE_DUR_N];
/* Counts a duration of us microseconds into hist (GW_STORE_DUR_N + 1
 * buckets on those bounds) and its sum. */
void gw_store_dur_record(long long *hist, long long *sum_us, int64_t us);

struct gw_store_stats {
    long long batches, requests, max_batch;
    long long batch_hist[8]; /* sizes 1, 2-3, 4-7, 8-15, 16-31, 32-63,
                                64-127, 128+ */
    /* The writer's time for a group commit, BEGIN until the COMMIT is
     * durable (batch_us), and the COMMIT alone (commit_us: the log's
     * write and sync): where a latency tail comes from. */
    long long batch_us_hist[GW_STORE_DUR_N + 1], batch_us_sum;
    long long commit_us_hist[GW_STORE_DUR_N + 1], commit_us_sum;
    /* SQLite's writer: its WAL catch-ups (db.c), each a copy of the last
     * frames into the database and its sync, with the queue waiting. */
    long long catch_up_us_hist[GW_STORE_DUR_N + 1], catch_up_us_sum;
    /* A message's time in the store: from joining the writer's queue
     * until its commit is durable (both backends). */
    long long wait_us_hist[GW_STORE_DUR_N + 1], wait_us_sum;
};
void gw_store_stats(struct gw_store *st, struct gw_store_stats *out);
/* Bytes SQLite holds now (page caches, statements, schema), all stores. */
long long gw_store_memory_used(void);

/*
 * Readiness (/healthz/ready): GW_OK while the store can commit. After a
 * batch that could not be written (GW_ESTORAGEFULL: the disk is full;
 * GW_ESTORE) it is ready again, without a restart, once the database's
 * file system has 1 MiB free and a one-page probe commit succeeds
 * (probed at most once a second). err says why not.
 */
gw_rc gw_store_ready(struct gw_store *st, struct gw_err *err) GW_WARN_UNUSED;

/*
 * Copies the SQLite store src, every row, into the PostgreSQL database
 * dsn (migrated first; it must hold no cases, audit records or messages),
 * in one transaction, then verifies the audit chain there. *rows gets the
 * rows copied. Stop serve on src first. (copy.c)
 */
gw_rc gw_store_copy_to_pg(struct gw_store *src, const char *dsn,
                          long long *rows, struct gw_err *err) GW_WARN_UNUSED;

/* Runs PRAGMA integrity_check; GW_OK when "ok". */
gw_rc gw_store_integrity_check(struct gw_store *st) GW_WARN_UNUSED;

#endif
