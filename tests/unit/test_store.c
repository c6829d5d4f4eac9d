/*
 * test_store.c - the store's write path: creation with a generated
 * referensnummer, idempotency (same id and content replays, same id with
 * other content is refused, concurrent duplicates create one case), group
 * commit under concurrency, updates with expected status and version, a
 * failing request rolling back alone, reads and searches; the WAL stays
 * bounded under a steady load; a commit reaches the WAL in a few writes;
 * SQLite's heap is counted without SQLite's own statistics; an HSA
 * answer is handed to the writer without waiting for the write lock.
 */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "core/clock.h"
#include "klas/ident.h"
#include "klas/state.h"
#include "store/audit_log.h"
#include "store/hsa_cache.h"
#include "store/licence.h"
#include "store/outbox.h"
#include "store/console.h"
#include "store/read.h"
#include "store/rows.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/subscription.h"
#include "store/write.h"
#include "store/wqueue.h"
#include "store/write_apply.h"
#include "store_fixture.h"

static long long
count_cases(struct gw_store *st, const char *prescriber)
{
    struct gw_case_query q;
    struct gw_case_row *rows;
    size_t n;

    memset(&q, 0, sizeof(q));
    q.prescriber_hsa = prescriber;
    q.limit = 1000;
    assert_int_equal(gw_store_case_search(st, &q, &rows, &n), GW_OK);
    gw_case_rows_free(rows, n);
    return (long long)n;
}

static void
test_store_create_generates_referensnummer_and_answers(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w;
    struct gw_store_result r;
    struct gw_case_row row;
    char *kind, *xml;
    size_t len;
    long v;
    char want[64];

    motivation_write(&w, "msg-1", "h1", "SE2321000016-DOC1", "Circadin");
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
    assert_int_equal(gw_refnr_check(r.refnr, NULL), GW_OK);
    assert_int_equal(r.version, 1);
    assert_false(r.replayed);
    snprintf(want, sizeof(want), "receipt %s v1", r.refnr);
    assert_string_equal(r.response, want);
    assert_int_equal(r.response_status, 201);

    assert_int_equal(gw_store_case_get(f->st, r.refnr, &row), GW_OK);
    assert_string_equal(row.status, "M");
    assert_string_equal(row.drug_name, "Circadin");
    assert_string_equal(row.patient_id, "191212121212");
    assert_int_equal(row.version, 1);
    gw_case_row_release(&row);

    assert_int_equal(gw_store_document_get(f->st, r.refnr, 0, &kind, &xml,
                                           &len, &v), GW_OK);
    assert_string_equal(kind, "motivation");
    assert_string_equal(xml, w.doc_xml);
    assert_int_equal(v, 1);
    free(kind);
    free(xml);
    gw_store_result_release(&r);

    assert_int_equal(gw_store_case_get(f->st, "2026000000", &row),
                     GW_ENOTFOUND);
}

static void
test_store_same_message_id_replays_first_answer(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w;
    struct gw_store_result a, b, c;

    motivation_write(&w, "msg-dup", "hash-A", "SE2321000016-DOC2", "X");
    assert_int_equal(gw_store_write(f->st, &w, &a), GW_OK);
    assert_int_equal(gw_store_write(f->st, &w, &b), GW_OK);
    assert_true(b.replayed);
    assert_string_equal(a.refnr, b.refnr);
    assert_string_equal(a.response, b.response);
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC2"), 1);

    /* Same id, other content: refused, nothing created. */
    motivation_write(&w, "msg-dup", "hash-B", "SE2321000016-DOC2", "Y");
    assert_int_equal(gw_store_write(f->st, &w, &c), GW_EDUPLICATE);
    assert_non_null(strstr(c.err.detail, "different message"));
    assert_null(c.response);
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC2"), 1);
    gw_store_result_release(&a);
    gw_store_result_release(&b);
}

struct dup_arg {
    struct gw_store *st;
    const char *msgid;
    struct gw_store_result res;
};

static void *
submit_thread(void *p)
{
    struct dup_arg *a = p;
    struct gw_store_write w;

    motivation_write(&w, a->msgid, "same", "SE2321000016-DOC3", "Z");
    if (gw_store_write(a->st, &w, &a->res) != GW_OK)
        return NULL; /* the main thread checks a->res.rc */
    return NULL;
}

static void
test_store_concurrent_duplicates_create_one_case(void **state)
{
    struct fixture *f = *state;
    struct dup_arg args[16];
    pthread_t t[16];
    int replayed = 0;

    for (int i = 0; i < 16; i++) {
        args[i].st = f->st;
        args[i].msgid = "msg-race";
        pthread_create(&t[i], NULL, submit_thread, &args[i]);
    }
    for (int i = 0; i < 16; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(args[i].res.rc, GW_OK);
        assert_string_equal(args[i].res.refnr, args[0].res.refnr);
        replayed += args[i].res.replayed;
        gw_store_result_release(&args[i].res);
    }
    assert_int_equal(replayed, 15);
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC3"), 1);
}

static void
test_store_group_commit_batches_concurrent_writers(void **state)
{
    struct fixture *f = *state;
    enum { N = 64 };
    struct dup_arg args[N];
    pthread_t t[N];
    char ids[N][16];
    struct gw_store_stats stats;

    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "gc-%d", i);
        args[i].st = f->st;
        args[i].msgid = ids[i];
        pthread_create(&t[i], NULL, submit_thread, &args[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].res.rc, GW_OK);
        assert_false(args[i].res.replayed);
        gw_store_result_release(&args[i].res);
    }
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC3"), N);
    gw_store_stats(f->st, &stats);
    assert_int_equal(stats.requests, N);
    /* 64 threads racing one writer: some commits carried several. */
    assert_true(stats.batches < N);
    assert_true(stats.max_batch > 1);
}

/* Writes per writer of the steady load below, and the WAL's bound. */
enum { STEADY_WRITES = 1200 };
#define WAL_BOUND_BYTES ((GW_STORE_WAL_MAX_FRAMES + 2048LL) * (2048 + 24) + 32)

struct steady_arg {
    struct gw_store *st;
    const char *wal;
    int id;
    off_t max_wal;
    gw_rc rc;
};

/* One writer of a steady load: writes back to back, and after each
 * acknowledged write looks at the size of the WAL. */
static void *
steady_writer(void *p)
{
    struct steady_arg *a = p;
    char msgid[32];

    for (int i = 0; i < STEADY_WRITES && a->rc == GW_OK; i++) {
        struct gw_store_write w;
        struct gw_store_result r;
        struct stat sb;

        snprintf(msgid, sizeof(msgid), "steady-%d-%d", a->id, i);
        motivation_write(&w, msgid, "h", "SE2321000016-DOC4", "Y");
        a->rc = gw_store_write(a->st, &w, &r);
        gw_store_result_release(&r);
        if (stat(a->wal, &sb) == 0 && sb.st_size > a->max_wal)
            a->max_wal = sb.st_size;
    }
    return NULL;
}

/*
 * 16 writers without a pause (19,200 writes, ~280 MB of WAL frames): the
 * WAL starts over again and again instead of growing with the load. It
 * can only start over at a write transaction that begins with every
 * frame copied, and the writer kept committing while the checkpointer
 * copied: the WAL grew to 270 MB in one 4 s bench_store run. The bound:
 * the store's (GW_STORE_WAL_MAX_FRAMES), and one batch's frames more.
 */
/* Runs the steady load of 16 writers on f's store: the largest WAL any
 * of them saw must stay within WAL_BOUND_BYTES. */
static void
steady_load(struct fixture *f)
{
    char wal[160];
    off_t max = 0;
    enum { N = 16 };
    struct steady_arg args[N];
    pthread_t t[N];

    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    for (int i = 0; i < N; i++) {
        args[i] = (struct steady_arg){f->st, wal, i, 0, GW_OK};
        pthread_create(&t[i], NULL, steady_writer, &args[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].rc, GW_OK);
        if (args[i].max_wal > max)
            max = args[i].max_wal;
    }
    print_message("largest WAL: %lld bytes\n", (long long)max);
    assert_true(max <= WAL_BOUND_BYTES);
}

static void
test_store_wal_stays_bounded_under_a_steady_load(void **state)
{
    struct fixture *f = *state;
    struct gw_store_stats stats;
    struct stat sb;
    long long syncs = gw_store_ckpt_paced_syncs();

    if (fixture_pg_dsn() != NULL)
        skip(); /* PostgreSQL has no WAL file of ours */
    steady_load(f);
    gw_store_stats(f->st, &stats);
    assert_int_equal(stats.requests, 16 * STEADY_WRITES);
    /* The checkpointer wrote (nearly) all of the database file, in pieces
     * each followed by a sync: not one sync per round at its end. */
    assert_int_equal(stat(f->path, &sb), 0);
    syncs = gw_store_ckpt_paced_syncs() - syncs;
    print_message("database: %lld bytes, %lld syncs in between\n",
                  (long long)sb.st_size, syncs);
    assert_true(syncs >= sb.st_size / GW_STORE_CKPT_PACE_BYTES / 2);
}

/*
 * The same load with a checkpointer slower than the writer (a second
 * after each round, as on a disk that cannot keep up): the writer asked
 * for round after round and, while one ran, never caught up itself, so
 * the WAL grew with the load (1 GB in 20 s of bench_http.sh under perf
 * trace). Past its bound the writer waits for the round and copies the
 * rest itself.
 */
static void
test_store_wal_stays_bounded_with_a_slow_checkpointer(void **state)
{
    struct fixture *f = *state;

    if (fixture_pg_dsn() != NULL)
        skip(); /* PostgreSQL has no WAL file of ours */
    pthread_mutex_lock(&f->st->ws.mu);
    f->st->ckpt_test_pause_ms = 1000;
    pthread_mutex_unlock(&f->st->ws.mu);
    steady_load(f);
}

/* A burst of asynchronous writes and the writer thread that ran them. */
struct burst {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int left, failed;
    long tid;
};

static void
burst_done(void *arg, gw_rc rc)
{
    struct burst *b = arg;

    pthread_mutex_lock(&b->mu);
    b->failed += rc != GW_OK;
    b->tid = (long)syscall(SYS_gettid);
    b->left--;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* Queues n writes at once, waits for them all; returns the id of the
 * writer thread that answered them. */
static long
burst_run(struct gw_store *st, int n, int from)
{
    struct gw_store_write *w = calloc((size_t)n, sizeof(*w));
    struct gw_store_result *r = calloc((size_t)n, sizeof(*r));
    char(*ids)[32] = calloc((size_t)n, sizeof(*ids));
    struct burst b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                      n, 0, 0};

    for (int i = 0; i < n; i++) {
        snprintf(ids[i], sizeof(ids[i]), "burst-%d", from + i);
        motivation_write(&w[i], ids[i], "h", "SE2321000016-DOC5", "Z");
        assert_int_equal(gw_store_write_async(st, &w[i], &r[i], burst_done,
                                              &b),
                         GW_OK);
    }
    pthread_mutex_lock(&b.mu);
    while (b.left > 0)
        pthread_cond_wait(&b.cv, &b.mu);
    pthread_mutex_unlock(&b.mu);
    assert_int_equal(b.failed, 0);
    for (int i = 0; i < n; i++)
        gw_store_result_release(&r[i]);
    free(w);
    free(r);
    free(ids);
    return b.tid;
}

/* write(2)-like calls a thread of this process made (/proc: syscw). */
static long long
thread_writes(long tid)
{
    char path[64], line[128];
    long long n = -1;
    FILE *fp;

    snprintf(path, sizeof(path), "/proc/self/task/%ld/io", tid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), fp) != NULL)
        if (sscanf(line, "syscw: %lld", &n) == 1)
            break;
    fclose(fp);
    return n;
}

/*
 * 128 writes queued at once: the writer commits them in a few batches.
 * SQLite writes a WAL frame as two pwrite() calls (its header, then the
 * page): 154 calls on the writer thread for two commits, and at 32
 * writers a quarter of its CPU (bench_store.sh). Gathered (walbuf.c), a
 * commit is one call per 120 KiB of frames: 3 here.
 */
static void
test_store_commit_reaches_the_wal_in_few_writes(void **state)
{
    struct fixture *f = *state;
    struct gw_store_stats before, after;
    long long w0, w1;
    long tid;
    enum { N = 128 };

    if (fixture_pg_dsn() != NULL)
        skip(); /* PostgreSQL has no WAL file of ours */
    tid = burst_run(f->st, 1, 0); /* the schema read, statements prepared */
    w0 = thread_writes(tid);
    if (w0 < 0)
        skip(); /* no per-thread I/O accounting in this kernel */
    gw_store_stats(f->st, &before);
    assert_int_equal(burst_run(f->st, N, 1), tid);
    w1 = thread_writes(tid);
    gw_store_stats(f->st, &after);
    print_message("%lld writes on the writer thread for %d requests in %ld "
                  "commits\n",
                  w1 - w0, N, (long)(after.batches - before.batches));
    assert_int_equal(after.requests - before.requests, N);
    assert_true(w1 - w0 < N / 2);
}

/*
 * SQLite counts its heap without its memory statistics, which take one
 * process-wide mutex around every allocation and free (every thread's,
 * the writer's included): klasgw's own count answers for
 * klasgw_store_memory_bytes, and SQLite's stays at zero.
 */
static void
test_store_sqlite_heap_counted_without_sqlite_statistics(void **state)
{
    struct fixture *f = *state;
    sqlite3_int64 used = -1, high = -1;

    assert_int_equal(burst_run(f->st, 4, 0) > 0, 1);
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC5"), 4);
    assert_int_equal(
        sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &used, &high, 0),
        SQLITE_OK);
    print_message("SQLite's count: %lld bytes; klasgw's: %lld bytes\n",
                  (long long)used, gw_store_memory_used());
    assert_int_equal(used, 0);
    if (fixture_pg_dsn() == NULL) /* the SQLite store's connections */
        assert_true(gw_store_memory_used() > 64 * 1024);
}

/*
 * Two nodes on one database (two stores open on it, each with its own
 * writer, as two `klasgw serve` would be): the same message ids sent to
 * both at once make one case each, every other message is stored once,
 * and the audit chain stays one line that verifies.
 */
static void
test_store_two_nodes_one_chain_one_case_per_message(void **state)
{
    struct fixture *f = *state;
    enum { N = 24 };
    struct gw_store *other;
    struct dup_arg args[N];
    pthread_t t[N];
    char ids[N][16];
    struct gw_err err;
    long long records = 0;
    int replayed = 0;

    gw_err_clear(&err);
    assert_int_equal(gw_store_open(f->path, &f->opts, &other, &err), GW_OK);
    for (int i = 0; i < N; i++) {
        /* Pairs: message i/2 goes to both nodes. */
        snprintf(ids[i], sizeof(ids[i]), "node-%d", i / 2);
        args[i].st = i % 2 ? other : f->st;
        args[i].msgid = ids[i];
        pthread_create(&t[i], NULL, submit_thread, &args[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) {
        assert_int_equal(args[i].res.rc, GW_OK);
        if (i % 2)
            assert_string_equal(args[i].res.refnr, args[i - 1].res.refnr);
        replayed += args[i].res.replayed;
        gw_store_result_release(&args[i].res);
    }
    assert_int_equal(replayed, N / 2);
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC3"), N / 2);
    assert_int_equal(count_cases(other, "SE2321000016-DOC3"), N / 2);
    gw_store_close(other);
    assert_int_equal(gw_store_audit_verify(f->st, &records, &err), GW_OK);
    assert_int_equal(records, N / 2);
}

/* Mina ärenden's drug filter ignores case in Swedish too: Ö is ö. */
static void
test_store_search_folds_swedish_letters(void **state)
{
    static const struct {
        const char *name, *drug, *query;
        size_t want;
    } cases[] = {
        {"capital Ö by small ö", "ÖSTRADIOL Åkerö", "östradiol", 1},
        {"small å by capital Å", "östradiol åkerö", "ÅKERÖ", 1},
        {"Ä by ä inside", "Betametason-ÄRTER", "son-ärt", 1},
        {"ASCII both ways", "MeLaToNiN", "melatonin", 1},
        {"a is not ä", "Betametason-ÄRTER", "arter", 0},
    };
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_store_write w;
        struct gw_store_result r;
        struct gw_case_query q;
        struct gw_case_row *rows;
        char msgid[32], hsa[40];
        size_t n;

        snprintf(msgid, sizeof(msgid), "fold-%zu", i);
        snprintf(hsa, sizeof(hsa), "SE2321000016-F%zu", i);
        motivation_write(&w, msgid, "h", hsa, cases[i].drug);
        w.row.substances = "x";
        assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
        gw_store_result_release(&r);
        memset(&q, 0, sizeof(q));
        q.prescriber_hsa = hsa;
        q.drug = cases[i].query;
        assert_int_equal(gw_store_case_search(f->st, &q, &rows, &n), GW_OK);
        if (n != cases[i].want)
            fail_msg("%s: %zu rows, expected %zu", cases[i].name, n,
                     cases[i].want);
        gw_case_rows_free(rows, n);
    }
}

/* A new case under a referensnummer already taken is refused and
 * changes nothing, right after writes whose statements did change rows
 * (the connection's count of changed rows is the insert's own); the next
 * new case gets its own row. */
static void
test_store_create_under_a_taken_refnr_is_refused(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w;
    struct gw_store_result r, r2;
    struct gw_case_row row;

    motivation_write(&w, "msg-t1", "h", "SE2321000016-DOC6", "T-drug");
    w.row.refnr = "2026000042";
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
    assert_string_equal(r.refnr, "2026000042");
    gw_store_result_release(&r);

    motivation_write(&w, "msg-t2", "h", "SE2321000016-DOC7", "T-drug");
    w.row.refnr = "2026000042";
    assert_int_equal(gw_store_write(f->st, &w, &r2), GW_ECONFLICT);
    assert_non_null(strstr(r2.err.detail, "2026000042 exists"));
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC7"), 0);
    assert_int_equal(gw_store_case_get(f->st, "2026000042", &row), GW_OK);
    assert_string_equal(row.prescriber_hsa, "SE2321000016-DOC6");
    assert_int_equal(row.version, 1);
    gw_case_row_release(&row);

    motivation_write(&w, "msg-t3", "h", "SE2321000016-DOC7", "T-drug");
    assert_int_equal(gw_store_write(f->st, &w, &r2), GW_OK);
    assert_string_not_equal(r2.refnr, "2026000042");
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC7"), 1);
    assert_int_equal(gw_store_case_get(f->st, r2.refnr, &row), GW_OK);
    assert_string_equal(row.prescriber_hsa, "SE2321000016-DOC7");
    gw_case_row_release(&row);
    gw_store_result_release(&r2);
}

/* The number a caller drew ahead (refnr_first) is the new case's when
 * it is free; a taken one is no refusal: the writer draws another. */
static void
test_store_create_tries_the_callers_number_first(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w;
    struct gw_store_result r, r2;
    struct gw_case_row row;

    motivation_write(&w, "msg-f1", "h", "SE2321000016-DOC8", "F-drug");
    w.refnr_first = "2026000043";
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
    assert_string_equal(r.refnr, "2026000043");
    assert_int_equal(r.version, 1);
    gw_store_result_release(&r);

    motivation_write(&w, "msg-f2", "h", "SE2321000016-DOC9", "F-drug");
    w.refnr_first = "2026000043";
    assert_int_equal(gw_store_write(f->st, &w, &r2), GW_OK);
    assert_string_not_equal(r2.refnr, "2026000043");
    assert_int_equal(gw_store_case_get(f->st, r2.refnr, &row), GW_OK);
    assert_string_equal(row.prescriber_hsa, "SE2321000016-DOC9");
    gw_case_row_release(&row);
    assert_int_equal(gw_store_case_get(f->st, "2026000043", &row), GW_OK);
    assert_string_equal(row.prescriber_hsa, "SE2321000016-DOC8");
    gw_case_row_release(&row);
    gw_store_result_release(&r2);
}

static void
test_store_update_checks_status_and_version(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w, u;
    struct gw_store_result r, r2;
    struct gw_case_row row;

    motivation_write(&w, "msg-u1", "h", "SE2321000016-DOC4", "A-drug");
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);

    update_write(&u, "msg-u2", "apotek1", r.refnr, "A");
    u.effects = GW_STORE_FX_APPLIED; /* as klas/ decides for apply */
    u.row.pharmacy_gln = "7350000000016";
    u.expect_status = "M";
    u.expect_version = 1;
    u.event = "apply";
    u.actor = "7350000000016";
    assert_int_equal(gw_store_write(f->st, &u, &r2), GW_OK);
    assert_int_equal(r2.version, 2);
    gw_store_result_release(&r2);

    assert_int_equal(gw_store_case_get(f->st, r.refnr, &row), GW_OK);
    assert_string_equal(row.status, "A");
    assert_string_equal(row.pharmacy_gln, "7350000000016");
    assert_true(row.applied_ms > 0);
    gw_case_row_release(&row);

    /* A second application expecting M is refused, nothing changes. */
    u.message_id = "msg-u3";
    u.expect_version = 0;
    assert_int_equal(gw_store_write(f->st, &u, &r2), GW_ECONFLICT);
    assert_non_null(strstr(r2.err.detail, "status A"));
    /* A stale version is refused. */
    u.message_id = "msg-u4";
    u.expect_status = NULL;
    u.expect_version = 1;
    assert_int_equal(gw_store_write(f->st, &u, &r2), GW_EPRECONDITION);
    /* An unknown case. */
    u.message_id = "msg-u5";
    u.expect_version = 0;
    u.row.refnr = "2026999999";
    assert_int_equal(gw_store_write(f->st, &u, &r2), GW_ENOTFOUND);
    assert_int_equal(gw_store_case_get(f->st, r.refnr, &row), GW_OK);
    assert_int_equal(row.version, 2);
    gw_case_row_release(&row);
    gw_store_result_release(&r);
}

static gw_rc
respond_fail(void *ctx, const char *refnr, long version, struct gw_buf *out)
{
    (void)ctx;
    (void)refnr;
    (void)version;
    (void)out;
    return GW_EINTERNAL;
}

static void
test_store_failing_request_leaves_nothing_behind(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w;
    struct gw_store_result r;
    static const struct gw_store_outbox_new ob = {"ob-fail", "lv", "apply",
                                                  "x", 1, NULL};
    long long counts[4];

    motivation_write(&w, "msg-f1", "h", "SE2321000016-DOC5", "F");
    w.outbox = &ob;
    w.noutbox = 1;
    w.respond = respond_fail; /* fails after the case and outbox rows */
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_EINTERNAL);
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC5"), 0);
    assert_int_equal(gw_outbox_counts(f->st, counts), GW_OK);
    assert_int_equal(counts[0] + counts[1] + counts[2] + counts[3], 0);
    /* The message id is still free: a corrected resend works. */
    w.respond = respond_receipt;
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC5"), 1);
    gw_store_result_release(&r);
}

/* Waits for s at most 60 s: a broken writer makes a test fail, not hang
 * until ctest's timeout. 0 when posted. */
static int
sem_wait_60s(sem_t *s)
{
    struct timespec until;
    int rc;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    while ((rc = sem_timedwait(s, &until)) != 0 && errno == EINTR)
        ;
    return rc;
}

/* Holds the writer inside a batch until the test has queued the next. */
struct hold {
    sem_t entered, release;
};

static gw_rc
respond_hold(void *ctx, const char *refnr, long version, struct gw_buf *out)
{
    struct hold *h = ctx;

    sem_post(&h->entered);
    if (sem_wait_60s(&h->release) != 0)
        return GW_EINTERNAL; /* never released: the test fails on it */
    return respond_receipt(NULL, refnr, version, out);
}

static void
done_post(void *arg, gw_rc rc)
{
    (void)rc;
    sem_post(arg);
}

/* One batch: durable reads (one record, and two), a write that fails after
 * its audit record, and writes after it. The failed write's record is
 * rolled back and must not advance the chain head the others hang on. */
static void
test_store_batch_with_failed_request_keeps_audit_chain(void **state)
{
    struct fixture *f = *state;
    static const struct gw_audit_entry read1 = {"apotek1", "7350000000001",
                                                "read", "X1", "ok", NULL};
    static const struct gw_audit_entry read2[2] = {
        {"apotek1", "7350000000001", "search", "X1", "ok", NULL},
        {"apotek1", "7350000000001", "search", "X2", "ok", NULL}};
    enum { N = 6 };
    struct gw_store_write w[N];
    struct gw_store_result r[N];
    struct gw_store_stats stats;
    struct hold h;
    sem_t done;
    struct gw_err err;
    long long records = 0;

    sem_init(&h.entered, 0, 0);
    sem_init(&h.release, 0, 0);
    sem_init(&done, 0, 0);
    motivation_write(&w[0], "bf-hold", "h0", "SE2321000016-DOC7", "A");
    w[0].respond = respond_hold;
    w[0].respond_ctx = &h;
    memset(&w[1], 0, sizeof(w[1])); /* a durable read */
    w[1].op = GW_STORE_OP_NONE;
    w[1].audit = &read1;
    w[1].naudit = 1;
    motivation_write(&w[2], "bf-fail", "h2", "SE2321000016-DOC7", "B");
    w[2].respond = respond_fail; /* after its audit record */
    w[3] = w[1];
    memset(&w[4], 0, sizeof(w[4])); /* a durable search: two records */
    w[4].op = GW_STORE_OP_NONE;
    w[4].audit = read2;
    w[4].naudit = 2;
    motivation_write(&w[5], "bf-ok", "h5", "SE2321000016-DOC7", "C");
    assert_int_equal(gw_store_write_async(f->st, &w[0], &r[0], done_post,
                                          &done),
                     GW_OK);
    if (sem_wait_60s(&h.entered) != 0)
        fail_msg("the writer never ran the first write");
    for (int i = 1; i < N; i++)
        assert_int_equal(gw_store_write_async(f->st, &w[i], &r[i], done_post,
                                              &done),
                         GW_OK);
    sem_post(&h.release);
    for (int i = 0; i < N; i++)
        if (sem_wait_60s(&done) != 0)
            fail_msg("%d of %d writes answered in 60 s", i, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].rc, i == 2 ? GW_EINTERNAL : GW_OK);
        gw_store_result_release(&r[i]);
    }
    gw_store_stats(f->st, &stats);
    if (fixture_pg_dsn() == NULL) /* one writer: the five in one batch */
        assert_true(stats.max_batch >= N - 1);
    gw_err_clear(&err);
    assert_int_equal(gw_store_audit_verify(f->st, &records, &err), GW_OK);
    assert_int_equal(records, 6);
    /* The next batch reads the head again and goes on from it. */
    w[1].audit = &read1;
    assert_int_equal(gw_store_write(f->st, &w[1], &r[1]), GW_OK);
    gw_store_result_release(&r[1]);
    assert_int_equal(gw_store_audit_verify(f->st, &records, &err), GW_OK);
    assert_int_equal(records, 7);
    sem_destroy(&h.entered);
    sem_destroy(&h.release);
    sem_destroy(&done);
}

static void
test_store_search_filters_and_orders_newest_first(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *msg, *prescriber, *drug, *status;
    } seed[] = {
        {"s1", "SE2321000016-P1", "Circadin", "M"},
        {"s2", "SE2321000016-P1", "Ospolot", "M"},
        {"s3", "SE2321000016-P1", "Circadin forte", "M"},
        {"s4", "SE2321000016-P2", "Circadin", "M"},
    };
    char refnr[4][16];
    struct gw_case_query q;
    struct gw_case_row *rows;
    size_t n;

    for (int i = 0; i < 4; i++) {
        struct gw_store_write w;
        struct gw_store_result r;
        motivation_write(&w, seed[i].msg, "h", seed[i].prescriber,
                         seed[i].drug);
        assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
        snprintf(refnr[i], sizeof(refnr[i]), "%s", r.refnr);
        gw_store_result_release(&r);
        usleep(2000); /* distinct change times */
    }
    memset(&q, 0, sizeof(q));
    q.prescriber_hsa = "SE2321000016-P1";
    q.drug = "circadin";
    assert_int_equal(gw_store_case_search(f->st, &q, &rows, &n), GW_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].refnr, refnr[2]); /* newest first */
    assert_string_equal(rows[1].refnr, refnr[0]);
    gw_case_rows_free(rows, n);

    q.drug = "melatonin"; /* substance matches too */
    q.limit = 2;
    assert_int_equal(gw_store_case_search(f->st, &q, &rows, &n), GW_OK);
    assert_int_equal(n, 2);
    gw_case_rows_free(rows, n);

    memset(&q, 0, sizeof(q));
    q.statuses[0] = "A";
    q.statuses[1] = "H";
    assert_int_equal(gw_store_case_search(f->st, &q, &rows, &n), GW_OK);
    assert_int_equal(n, 0);
    q.statuses[1] = "M";
    q.refnr = refnr[3];
    assert_int_equal(gw_store_case_search(f->st, &q, &rows, &n), GW_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].prescriber_hsa, "SE2321000016-P2");
    gw_case_rows_free(rows, n);
}

static void
test_store_reopen_keeps_everything_and_schema(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w;
    struct gw_store_result r;
    struct gw_case_row row;
    struct gw_err err;

    motivation_write(&w, "msg-r1", "h", "SE2321000016-DOC6", "R");
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
    gw_store_close(f->st);
    assert_int_equal(fixture_open(f, &err), GW_OK);
    assert_int_equal(gw_store_schema_version(f->st), GW_STORE_SCHEMA_VERSION);
    assert_int_equal(gw_store_case_get(f->st, r.refnr, &row), GW_OK);
    gw_case_row_release(&row);
    assert_int_equal(gw_store_integrity_check(f->st), GW_OK);
    gw_store_result_release(&r);
}

/* The first row of sql on db as an integer (-1: none). */
static long long
sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    long long v = -1;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* A database of schema 5, its outbox's state checked with IN, comes to 6
 * with the outbox as it was: the same rows and ids, its indexes, and a
 * state other than the four still refused. */
static void
test_store_migration_6_keeps_the_outbox(void **state)
{
    static const char v5[] =
        "BEGIN;"
        "CREATE TABLE outbox5 ("
        "  id INTEGER PRIMARY KEY,"
        "  message_id TEXT NOT NULL UNIQUE, peer TEXT NOT NULL,"
        "  kind TEXT NOT NULL, refnr TEXT, payload BLOB NOT NULL,"
        "  state TEXT NOT NULL CHECK (state IN"
        "    ('pending', 'inflight', 'done', 'dead')),"
        "  attempts INTEGER NOT NULL DEFAULT 0,"
        "  next_attempt_ms INTEGER NOT NULL, last_error TEXT,"
        "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
        "  claimed_by TEXT, claimed_until INTEGER, target TEXT);"
        "INSERT INTO outbox5 SELECT * FROM outbox;"
        "DROP TABLE outbox;"
        "ALTER TABLE outbox5 RENAME TO outbox;"
        "CREATE INDEX outbox_due ON outbox(peer, state, next_attempt_ms);"
        "CREATE INDEX outbox_target ON outbox(target, state)"
        "  WHERE target IS NOT NULL;"
        "PRAGMA user_version = 5;"
        "COMMIT;";
    static const struct gw_store_outbox_new ob = {"ob-m6", "lv", "apply",
                                                  "x", 1, NULL};
    struct fixture *f = *state;
    struct gw_store_write w;
    struct gw_store_result r;
    struct gw_err err;
    long long id;
    sqlite3 *db;

    if (fixture_pg_dsn() != NULL)
        skip(); /* SQLite's schema */
    motivation_write(&w, "msg-m6", "h", "SE2321000016-DOC8", "M");
    w.outbox = &ob;
    w.noutbox = 1;
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
    gw_store_result_release(&r);
    gw_store_close(f->st);
    f->st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    id = sql_int(db, "SELECT id FROM outbox WHERE message_id = 'ob-m6'");
    assert_true(id > 0);
    assert_int_equal(sqlite3_exec(db, v5, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(fixture_open(f, &err), GW_OK);
    assert_int_equal(gw_store_schema_version(f->st), GW_STORE_SCHEMA_VERSION);
    assert_int_equal(gw_store_integrity_check(f->st), GW_OK);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_schema WHERE "
                                 "name = 'outbox' AND sql LIKE '%state IN%'"),
                     0);
    assert_int_equal(sql_int(db, "SELECT id FROM outbox WHERE message_id = "
                                 "'ob-m6' AND state = 'pending' AND "
                                 "CAST(payload AS TEXT) = 'x'"),
                     id);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_schema WHERE "
                                 "tbl_name = 'outbox' AND type = 'index'"),
                     3);
    assert_int_equal(sqlite3_exec(db, "UPDATE outbox SET state = 'lost'",
                                  NULL, NULL, NULL),
                     SQLITE_CONSTRAINT);
    sqlite3_close(db);
}

/* Whether a table's CREATE statement has a CHECK with an IN list: its
 * words upper-cased, white space as one blank. */
static int
check_with_in(const char *sql)
{
    char norm[4096];
    size_t n = 0;

    for (; *sql != '\0' && n + 1 < sizeof(norm); sql++) {
        if (isspace((unsigned char)*sql)) {
            if (n > 0 && norm[n - 1] != ' ')
                norm[n++] = ' ';
        } else {
            norm[n++] = (char)toupper((unsigned char)*sql);
        }
    }
    norm[n] = '\0';
    return strstr(norm, "CHECK") != NULL &&
           (strstr(norm, " IN (") != NULL || strstr(norm, " IN('") != NULL);
}

/* No table of the current schema checks a column against an IN list:
 * SQLite evaluates one by building a temporary b-tree of the list at
 * every insert, which was ~1/5 of the writer's work for a new case with
 * its outbox item (schema 6 took it out; comparisons joined by OR do the
 * same without it). */
static void
test_store_schema_has_no_check_with_in(void **state)
{
    struct fixture *f = *state;
    sqlite3_stmt *s;
    sqlite3 *db;

    if (fixture_pg_dsn() != NULL)
        skip(); /* SQLite's evaluation */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT name, sql FROM sqlite_schema "
                                        "WHERE type = 'table' AND sql IS NOT NULL",
                                        -1, &s, NULL),
                     SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW)
        if (check_with_in((const char *)sqlite3_column_text(s, 1)))
            fail_msg("table %s checks with IN (a temporary b-tree at every "
                     "insert): write it as comparisons joined by OR",
                     (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* A database of schema 6 comes to 7 without licences_nplid, an index
 * no query reads (the licence search asks for the product number OR its
 * name, and SQLite drives it from cases_status), with its licences as
 * they were; a new database never has it. */
static void
test_store_migration_7_drops_the_unused_licence_index(void **state)
{
    static const char v6[] = "CREATE INDEX licences_nplid ON licences(nplid);"
                             "PRAGMA user_version = 6;";
    static const char has_index[] = "SELECT count(*) FROM sqlite_schema "
                                    "WHERE name = 'licences_nplid'";
    struct fixture *f = *state;
    struct gw_err err;
    sqlite3 *db;

    if (fixture_pg_dsn() != NULL)
        skip(); /* SQLite's schema */
    gw_store_close(f->st);
    f->st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sql_int(db, has_index), 0);
    assert_int_equal(sqlite3_exec(db, v6, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sql_int(db, has_index), 1);
    sqlite3_close(db);

    assert_int_equal(fixture_open(f, &err), GW_OK);
    assert_int_equal(gw_store_schema_version(f->st), GW_STORE_SCHEMA_VERSION);
    assert_int_equal(gw_store_integrity_check(f->st), GW_OK);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sql_int(db, has_index), 0);
    sqlite3_close(db);
}

/* A database a newer klasgw migrated is refused, read-write and
 * read-only alike, with the advice that fits: upgrade klasgw (not "run
 * migrate", which cannot help). */
/* Sets (on PostgreSQL: adds, or with add 0 removes) the schema version
 * GW_STORE_SCHEMA_VERSION + 1 in f's database, as a newer klasgw's
 * migration would leave it. */
static void
newer_schema(const struct fixture *f, int add)
{
    char sql[96];

    if (fixture_pg_dsn() != NULL) {
        PGconn *c = PQconnectdb(fixture_pg_dsn());
        PGresult *r;

        snprintf(sql, sizeof(sql),
                 add ? "INSERT INTO klasgw_schema (version) VALUES (%d)"
                     : "DELETE FROM klasgw_schema WHERE version = %d",
                 GW_STORE_SCHEMA_VERSION + 1);
        r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            fail_msg("pg: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
    } else if (add) {
        sqlite3 *db;

        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
                 GW_STORE_SCHEMA_VERSION + 1);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    }
}

static void
test_store_newer_schema_refused_with_upgrade_advice(void **state)
{
    struct fixture *f = *state;
    struct gw_store_opts ro = f->opts;
    struct gw_store *st = NULL;
    struct gw_err err, ro_err;
    gw_rc rc, ro_rc;

    gw_store_close(f->st);
    f->st = NULL;
    newer_schema(f, 1);
    rc = gw_store_open(f->path, &f->opts, &st, &err);
    ro.read_only = 1;
    ro.start_writer = 0;
    ro_rc = gw_store_open(f->path, &ro, &st, &ro_err);
    /* PostgreSQL's database outlives the test: the next one must open. */
    newer_schema(f, 0);
    assert_int_equal(rc, GW_ESTORE);
    if (strstr(err.detail, "newer than this klasgw") == NULL ||
        strstr(err.detail, "upgrade klasgw") == NULL)
        fail_msg("read-write: %s", err.detail);
    assert_int_equal(ro_rc, GW_ESTORE);
    if (strstr(ro_err.detail, "newer than this klasgw") == NULL ||
        strstr(ro_err.detail, "upgrade klasgw") == NULL)
        fail_msg("read-only: %s", ro_err.detail);
}

/* Another process's commit, made from the maintenance connection's
 * progress handler: in the middle of whatever that connection runs. A
 * lock it holds makes the commit fail at once (no wait: the same
 * thread), which is what a transaction begun IMMEDIATE is to do. */
struct poke {
    sqlite3 *other;
    int commits;
};

static int
poke_commit(void *arg)
{
    struct poke *p = arg;

    if (p->commits < 50 &&
        sqlite3_exec(p->other, "INSERT INTO poke VALUES (1)", NULL, NULL,
                     NULL) == SQLITE_OK)
        p->commits++;
    return 0;
}

/* The daily purge's PRAGMA optimize writes the planner's statistics even
 * when the writer commits while it runs: begun as a read, the pragma's
 * write failed at once with "database is locked" (SQLITE_BUSY, the
 * snapshot stale) and left no statistics; the reliability soak logged
 * it. Here another connection commits at every step of the maintenance
 * connection's statements (seen failing without the IMMEDIATE: the same
 * log line, no statistics). */
static void
test_store_daily_optimize_survives_commits_meanwhile(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w;
    struct gw_store_result r;
    struct gw_purge_counts c;
    struct poke p = {NULL, 0};
    sqlite3_stmt *s;
    int stats = 0;

    if (fixture_pg_dsn() != NULL)
        skip(); /* SQLite's maintenance connection */
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof(id), "msg-o%d", i);
        motivation_write(&w, id, id, "SE2321000016-DOC1", "O-drug");
        assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
        gw_store_result_release(&r);
    }
    assert_int_equal(sqlite3_open(f->path, &p.other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(p.other, "CREATE TABLE poke (x)", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    sqlite3_progress_handler(f->st->m.db, 1, poke_commit, &p);
    assert_int_equal(gw_store_purge(f->st, gw_clock_now_ms(), 12, 36,
                                    GW_PURGE_DAILY, &c),
                     GW_OK);
    sqlite3_progress_handler(f->st->m.db, 0, NULL, NULL);
    assert_int_equal(sqlite3_prepare_v2(p.other,
                                        "SELECT count(*) FROM sqlite_stat1",
                                        -1, &s, NULL),
                     SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        stats = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(p.other);
    assert_true(p.commits > 0); /* else nothing was tried */
    if (stats == 0)
        fail_msg("no planner statistics after the daily purge (%d commits "
                 "meanwhile)",
                 p.commits);
}

/* The database's write lock (SQLite), or person's row of the cache
 * (PostgreSQL: an uncommitted answer of its own), held by another
 * connection as another process or a long transaction would hold it. */
struct lock_holder {
    sqlite3 *db;
    PGconn *pg;
};

static void
pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("pg: %s", PQerrorMessage(c));
    PQclear(r);
}

static void
lock_hold(const struct fixture *f, struct lock_holder *h, const char *person)
{
    char sql[256];

    memset(h, 0, sizeof(*h));
    if (fixture_pg_dsn() != NULL) {
        h->pg = PQconnectdb(fixture_pg_dsn());
        assert_int_equal(PQstatus(h->pg), CONNECTION_OK);
        pg_exec(h->pg, "BEGIN");
        snprintf(sql, sizeof(sql),
                 "INSERT INTO hsa_cache (person_hsa, answer, fetched_ms, "
                 "expires_ms) VALUES ('%s', 'stale', 0, 1)",
                 person);
        pg_exec(h->pg, sql);
        return;
    }
    assert_int_equal(sqlite3_open(f->path, &h->db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
}

static void
lock_release(struct lock_holder *h)
{
    if (h->pg != NULL) {
        pg_exec(h->pg, "COMMIT");
        PQfinish(h->pg);
    } else {
        assert_int_equal(sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(h->db);
    }
}

/* person's answer at now_ms once it reads want: a put hands the answer
 * to the writer, which commits it with its next batch. 5 s at most. */
static gw_rc
hsa_get_committed(struct gw_store *st, const char *person, int64_t now_ms,
                  const char *want)
{
    for (int i = 0; i < 500; i++) {
        char *a = NULL;
        size_t n = 0;
        int same = gw_store_hsa_get(st, person, now_ms, &a, &n) == GW_OK &&
                   n == strlen(want) && memcmp(a, want, n) == 0;

        free(a);
        if (same)
            return GW_OK;
        usleep(10000);
    }
    return GW_ENOTFOUND;
}

static void
test_store_hsa_cache_expires(void **state)
{
    struct fixture *f = *state;
    char *a;
    size_t n;

    assert_int_equal(
        gw_store_hsa_put_async(f->st, "SE2321000016-DOC1", "yes", 3, 5000),
        GW_OK);
    assert_int_equal(hsa_get_committed(f->st, "SE2321000016-DOC1", 4999, "yes"),
                     GW_OK);
    assert_int_equal(gw_store_hsa_get(f->st, "SE2321000016-DOC1", 5000, &a,
                                      &n), GW_ENOTFOUND);
    assert_int_equal(gw_store_hsa_get(f->st, "SE2321000016-NONE", 0, &a, &n),
                     GW_ENOTFOUND);
}

/* A cache miss's put on a request thread waits for no lock: with the
 * database's write lock held elsewhere it returns at once (it used to
 * wait store.busy_timeout_ms for the lock, then fail: "database is
 * locked"), and the writer commits the answer once the lock is free. */
static void
test_store_hsa_put_waits_for_no_lock(void **state)
{
    struct fixture *f = *state;
    const char *who = "SE2321000016-DOC7";
    struct lock_holder h;
    int64_t t0, took_ms;
    gw_rc rc;

    lock_hold(f, &h, who);
    t0 = gw_clock_mono_us();
    rc = gw_store_hsa_put_async(f->st, who, "fresh", 5, INT64_MAX);
    took_ms = (gw_clock_mono_us() - t0) / 1000;
    if (rc != GW_OK || took_ms > 1000)
        fail_msg("put with the write lock held elsewhere: rc %d after %lld "
                 "ms",
                 (int)rc, (long long)took_ms);
    usleep(100000); /* the writer meanwhile waits for the lock */
    lock_release(&h);
    assert_int_equal(hsa_get_committed(f->st, who, 0, "fresh"), GW_OK);
}

/* The answers waiting for a writer kept from the lock are bounded: past
 * GW_WQ_HSA_MAX a put is refused at once (GW_EBUSY), and what was queued
 * is committed once the lock is free. */
static void
test_store_hsa_put_bounded_while_the_writer_waits(void **state)
{
    struct fixture *f = *state;
    struct lock_holder h;
    char who[32];

    if (fixture_pg_dsn() != NULL)
        skip(); /* its other writers would take what one waits with */
    lock_hold(f, &h, NULL);
    /* The first taken: the writer waits for the lock with it. */
    assert_int_equal(
        gw_store_hsa_put_async(f->st, "SE2321000016-FIRST", "a", 1, INT64_MAX),
        GW_OK);
    usleep(100000);
    for (int i = 0; i < GW_WQ_HSA_MAX; i++) {
        snprintf(who, sizeof(who), "SE2321000016-B%04d", i);
        assert_int_equal(gw_store_hsa_put_async(f->st, who, "b", 1, INT64_MAX),
                         GW_OK);
    }
    assert_int_equal(
        gw_store_hsa_put_async(f->st, "SE2321000016-LAST", "c", 1, INT64_MAX),
        GW_EBUSY);
    lock_release(&h);
    assert_int_equal(hsa_get_committed(f->st, who, 0, "b"), GW_OK);
    assert_int_equal(hsa_get_committed(f->st, "SE2321000016-FIRST", 0, "a"),
                     GW_OK);
    /* Taken by the writer: room again. */
    assert_int_equal(
        gw_store_hsa_put_async(f->st, "SE2321000016-LAST", "c", 1, INT64_MAX),
        GW_OK);
    assert_int_equal(hsa_get_committed(f->st, "SE2321000016-LAST", 0, "c"),
                     GW_OK);
}

/* A trigger that refuses person's answer in the cache (on 1), or none. */
static void
hsa_refuse(const struct fixture *f, const char *person, int on)
{
    char sql[512];

    if (fixture_pg_dsn() != NULL) {
        PGconn *c = PQconnectdb(fixture_pg_dsn());

        if (on)
            snprintf(sql, sizeof(sql),
                     "CREATE FUNCTION hsa_refuse() RETURNS trigger LANGUAGE "
                     "plpgsql AS $$ BEGIN IF NEW.person_hsa = '%s' THEN "
                     "RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$; "
                     "CREATE TRIGGER hsa_refuse BEFORE INSERT ON hsa_cache "
                     "FOR EACH ROW EXECUTE FUNCTION hsa_refuse()",
                     person);
        else
            snprintf(sql, sizeof(sql),
                     "DROP TRIGGER hsa_refuse ON hsa_cache; DROP FUNCTION "
                     "hsa_refuse()");
        pg_exec(c, sql);
        PQfinish(c);
    } else {
        sqlite3 *db;

        if (on)
            snprintf(sql, sizeof(sql),
                     "CREATE TRIGGER hsa_refuse BEFORE INSERT ON hsa_cache "
                     "WHEN NEW.person_hsa = '%s' BEGIN SELECT "
                     "RAISE(ABORT, 'refused'); END",
                     person);
        else
            snprintf(sql, sizeof(sql), "DROP TRIGGER hsa_refuse");
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    }
}

/* An answer the writer cannot store is lost alone: the message of its
 * batch is stored and answered, and the writer goes on. */
static void
test_store_hsa_put_that_fails_takes_no_message_along(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w[2];
    struct gw_store_result r[2];
    struct hold h;
    sem_t done;
    char *a = NULL;
    size_t n;

    hsa_refuse(f, "SE2321000016-FAIL", 1);
    sem_init(&h.entered, 0, 0);
    sem_init(&h.release, 0, 0);
    sem_init(&done, 0, 0);
    motivation_write(&w[0], "hf-hold", "h0", "SE2321000016-DOC7", "A");
    w[0].respond = respond_hold;
    w[0].respond_ctx = &h;
    motivation_write(&w[1], "hf-ok", "h1", "SE2321000016-DOC8", "B");
    assert_int_equal(
        gw_store_write_async(f->st, &w[0], &r[0], done_post, &done), GW_OK);
    if (sem_wait_60s(&h.entered) != 0)
        fail_msg("the writer never ran the first write");
    /* The next batch (SQLite's one writer): the answer, then a message. */
    assert_int_equal(
        gw_store_hsa_put_async(f->st, "SE2321000016-FAIL", "x", 1, INT64_MAX),
        GW_OK);
    assert_int_equal(
        gw_store_write_async(f->st, &w[1], &r[1], done_post, &done), GW_OK);
    sem_post(&h.release);
    for (int i = 0; i < 2; i++)
        if (sem_wait_60s(&done) != 0)
            fail_msg("%d of 2 writes answered in 60 s", i);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].rc, GW_OK);
        gw_store_result_release(&r[i]);
    }
    assert_int_equal(count_cases(f->st, "SE2321000016-DOC8"), 1);
    assert_int_equal(
        gw_store_hsa_put_async(f->st, "SE2321000016-DOC8", "y", 1, INT64_MAX),
        GW_OK);
    assert_int_equal(hsa_get_committed(f->st, "SE2321000016-DOC8", 0, "y"),
                     GW_OK);
    assert_int_equal(gw_store_hsa_get(f->st, "SE2321000016-FAIL", 0, &a, &n),
                     GW_ENOTFOUND);
    hsa_refuse(f, NULL, 0);
    sem_destroy(&h.entered);
    sem_destroy(&h.release);
    sem_destroy(&done);
}

/* Sök apotek and Sök produkt find what an application and a decision
 * wrote in their transactions. A pharmacy's application names it but
 * may give no address (the pipeline then stores none), a serve start
 * registers a pharmacy client under its label only, a licence's product
 * may lack holder, country, form: an empty query field means "any" and
 * must match a row whose column is empty (NULL) too. PostgreSQL's
 * search answered total 0 for GET /fhir/Organization?name=apotek after
 * a SOAP application (NULL LIKE '%%' is not true). */
static void
test_store_register_searches_find_what_was_written(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w, u;
    struct gw_store_result r, r2;
    struct gw_pharmacy ph, label, q;
    struct gw_product pq;
    struct gw_pharmacy *hits = NULL;
    struct gw_product *prods = NULL;
    struct gw_licence_info lic;
    size_t n = 0;

    memset(&lic, 0, sizeof(lic));
    lic.product_name = "Melatonin Östra 3 mg";
    lic.substances = "melatonin";
    motivation_write(&w, "msg-reg1", "h", "SE2321000016-DOC9", "Melatonin");
    w.licence = &lic;
    w.effects = GW_STORE_FX_PRODUCT;
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);

    /* serve's start: the client's label, no name of its own yet */
    memset(&label, 0, sizeof(label));
    snprintf(label.gln, sizeof(label.gln), "7350000000030");
    snprintf(label.name, sizeof(label.name), "APO3");
    snprintf(label.actor, sizeof(label.actor), "APO3");
    assert_int_equal(gw_store_pharmacy_put(f->st, &label), GW_OK);

    /* the application registers the pharmacy as it names itself */
    memset(&ph, 0, sizeof(ph));
    snprintf(ph.gln, sizeof(ph.gln), "7350000000016");
    snprintf(ph.name, sizeof(ph.name), "Apoteket Örnen");
    update_write(&u, "msg-reg2", "apotek1", r.refnr, "A");
    u.row.pharmacy_gln = ph.gln;
    u.effects = GW_STORE_FX_APPLIED;
    u.expect_status = "M";
    u.event = "apply";
    u.actor = ph.gln;
    u.pharmacy = &ph;
    assert_int_equal(gw_store_write(f->st, &u, &r2), GW_OK);
    gw_store_result_release(&r2);
    gw_store_result_release(&r);

    const struct {
        const char *what, *name, *gln, *city;
        size_t hits;
    } pq_cases[] = {
        {"name=apotek", "apotek", "", "", 1},
        {"name=ÖRNEN (folded)", "ÖRNEN", "", "", 1},
        {"by GLN only (serve's start)", "", "7350000000016", "", 1},
        {"the label's GLN", "", "7350000000030", "", 1},
        {"everything", "", "", "", 2},
        {"a city nobody has", "", "", "Kiruna", 0},
    };
    for (size_t i = 0; i < sizeof(pq_cases) / sizeof(pq_cases[0]); i++) {
        memset(&q, 0, sizeof(q));
        snprintf(q.name, sizeof(q.name), "%s", pq_cases[i].name);
        snprintf(q.gln, sizeof(q.gln), "%s", pq_cases[i].gln);
        snprintf(q.city, sizeof(q.city), "%s", pq_cases[i].city);
        assert_int_equal(gw_store_pharmacy_search(f->st, &q, &hits, &n),
                         GW_OK);
        if (n != pq_cases[i].hits)
            fail_msg("pharmacy search %s: %zu hits, expected %zu",
                     pq_cases[i].what, n, pq_cases[i].hits);
        free(hits);
        hits = NULL;
    }
    memset(&q, 0, sizeof(q));
    snprintf(q.name, sizeof(q.name), "apotek");
    assert_int_equal(gw_store_pharmacy_search(f->st, &q, &hits, &n), GW_OK);
    assert_int_equal(n, 1);
    assert_string_equal(hits[0].gln, "7350000000016");
    assert_string_equal(hits[0].name, "Apoteket Örnen");
    free(hits);

    const struct {
        const char *what, *name, *substances;
        size_t hits;
    } pr_cases[] = {
        {"name=melatonin", "melatonin", "", 1},
        {"name=östra (folded)", "ÖSTRA", "", 1},
        {"substance", "", "MELATONIN", 1},
        {"another product", "paracetamol", "", 0},
        {"a % is a letter", "%", "", 0},
        {"an _ is a letter", "mel_tonin", "", 0},
        {"a \\ is a letter", "melatonin\\", "", 0},
    };
    for (size_t i = 0; i < sizeof(pr_cases) / sizeof(pr_cases[0]); i++) {
        memset(&pq, 0, sizeof(pq));
        snprintf(pq.name, sizeof(pq.name), "%s", pr_cases[i].name);
        snprintf(pq.substances, sizeof(pq.substances), "%s",
                 pr_cases[i].substances);
        assert_int_equal(gw_store_product_search(f->st, &pq, &prods, &n),
                         GW_OK);
        if (n != pr_cases[i].hits)
            fail_msg("product search %s: %zu hits, expected %zu",
                     pr_cases[i].what, n, pr_cases[i].hits);
        free(prods);
        prods = NULL;
    }
}

/* The counter's hint (operations.c: "the text is part of a licensed
 * product's name") asks gw_store_licence_name_contains; empty text is
 * part of no name on either backend. PostgreSQL's strpos(name, '') is 1,
 * so it answered "found" for any licence in force. */
static void
test_store_licence_name_contains_needs_text(void **state)
{
    struct fixture *f = *state;
    struct gw_store_write w, u;
    struct gw_store_result r, r2;
    struct gw_licence_info lic;
    struct gw_licence_hit *hits = NULL;
    size_t n = 0;
    int found = -1;

    memset(&lic, 0, sizeof(lic));
    lic.product_name = "Melatonin Östra 3 mg";
    lic.nplid = "20150101000011";
    lic.valid_from = "2026-01-01";
    lic.valid_to = "2026-12-31";
    motivation_write(&w, "msg-lic1", "h", "SE2321000016-DOC9", "Melatonin");
    w.licence = &lic;
    assert_int_equal(gw_store_write(f->st, &w, &r), GW_OK);
    /* LV grants it: the licence's validity comes with the decision */
    update_write(&u, "msg-lic2", "lv", r.refnr,
                 gw_case_status_in_force_code());
    u.licence = &lic;
    u.effects = GW_STORE_FX_DECIDED;
    u.event = "decide";
    u.actor = "lv";
    assert_int_equal(gw_store_write(f->st, &u, &r2), GW_OK);
    gw_store_result_release(&r2);
    gw_store_result_release(&r);

    assert_int_equal(gw_store_licences(f->st, NULL, "2026-06-01",
                                       "20150101000011", &hits, &n), GW_OK);
    assert_int_equal(n, 1);
    free(hits);
    assert_int_equal(gw_store_licence_name_contains(f->st, "2026-06-01",
                                                    "östra", &found), GW_OK);
    assert_int_equal(found, 1);
    assert_int_equal(gw_store_licence_name_contains(f->st, "2027-06-01",
                                                    "östra", &found), GW_OK);
    assert_int_equal(found, 0); /* not valid that day */
    assert_int_equal(gw_store_licence_name_contains(f->st, "2026-06-01", "",
                                                    &found), GW_OK);
    if (found != 0)
        fail_msg("empty text found in a licensed product's name");
}

/* serve closes the store in its cleanup path also when opening failed (a
 * second serve on a locked store): closing no store does nothing, as
 * free(NULL). R4 saw that second serve die of SIGSEGV instead. */
static void
test_store_close_of_no_store_is_a_no_op(void **state)
{
    (void)state;
    gw_store_close(NULL);
}

/* The store's own klasgw_fold, as far as a plan needs it: there. */
static void
fold_stub(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_result_value(cx, argv[0]);
}

/* EXPLAIN QUERY PLAN of sql on the store at db_path, prepared on *db
 * (rows: id, parent, notused, detail); finalize it, close *db. */
static sqlite3_stmt *
plan_stmt(const char *db_path, const char *sql, sqlite3 **db)
{
    char explain[8192];
    sqlite3_stmt *s;

    snprintf(explain, sizeof(explain), "EXPLAIN QUERY PLAN %s", sql);
    assert_int_equal(sqlite3_open_v2(db_path, db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_create_function(*db, "klasgw_fold", 1,
                                             SQLITE_UTF8, NULL, fold_stub,
                                             NULL, NULL),
                     SQLITE_OK);
    if (sqlite3_prepare_v2(*db, explain, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", explain, sqlite3_errmsg(*db));
    return s;
}

/* SQLite's plan for the statement sql: its details, one a line. */
static void
sqlite_plan(const char *db_path, const char *sql, char *out, size_t size)
{
    sqlite3 *db;
    sqlite3_stmt *s = plan_stmt(db_path, sql, &db);
    size_t len = 0;

    out[0] = '\0';
    while (sqlite3_step(s) == SQLITE_ROW && len < size)
        len += (size_t)snprintf(out + len, size - len, "%s\n",
                                (const char *)sqlite3_column_text(s, 3));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* SQLite's plan for the search q runs. */
static void
search_plan(const char *db_path, const struct gw_case_query *q, char *out,
            size_t size)
{
    sqlite_plan(db_path, gw_store_case_search_sqlite(q), out, size);
}

/* Mina ärenden, a pharmacy's own list and the searches by patient or
 * referensnummer find their cases through their own index, not by walking
 * every case in the order of the last change (which SQLite did for "?1 IS
 * NULL OR col = ?1": it plans once, not for the values bound). A
 * pharmacy's list reads the partial cases_pharmacy in the search's order
 * (no sort); its search by patient keeps to the patient's index. */
static void
test_store_case_search_uses_the_selective_index(void **state)
{
    struct fixture *f = *state;
    struct gw_case_query q;
    char plan[1024];

    if (fixture_pg_dsn() != NULL)
        skip(); /* PostgreSQL plans with the values bound */
    memset(&q, 0, sizeof(q));
    q.prescriber_hsa = "SE2321000016-DOC1";
    q.statuses[0] = "M";
    search_plan(f->path, &q, plan, sizeof(plan));
    if (strstr(plan, "USING INDEX cases_prescriber (prescriber_hsa=?") == NULL)
        fail_msg("by prescriber:\n%s", plan);
    memset(&q, 0, sizeof(q));
    q.patient_id = "201006301111";
    search_plan(f->path, &q, plan, sizeof(plan));
    if (strstr(plan, "USING INDEX cases_patient (patient_id=?)") == NULL)
        fail_msg("by patient:\n%s", plan);
    memset(&q, 0, sizeof(q));
    q.refnr = "2026123456";
    q.prescriber_hsa = "SE2321000016-DOC1";
    search_plan(f->path, &q, plan, sizeof(plan));
    if (strstr(plan, "(refnr=?)") == NULL)
        fail_msg("by referensnummer:\n%s", plan);
    memset(&q, 0, sizeof(q));
    q.pharmacy_gln = "7350000000001";
    q.statuses[0] = "A";
    search_plan(f->path, &q, plan, sizeof(plan));
    if (strstr(plan, "USING INDEX cases_pharmacy (pharmacy_gln=?") == NULL ||
        strstr(plan, "TEMP B-TREE") != NULL)
        fail_msg("by pharmacy:\n%s", plan);
    q.patient_id = "201006301111";
    search_plan(f->path, &q, plan, sizeof(plan));
    if (strstr(plan, "USING INDEX cases_patient (patient_id=?)") == NULL)
        fail_msg("by pharmacy and patient:\n%s", plan);
}

/* klasgw audit export --case reads one case's records through audit_refnr
 * (in seq order, which the index keeps after the refnr), not the whole
 * chain; without a refnr it walks the chain by seq. */
static void
test_store_audit_by_refnr_uses_its_index(void **state)
{
    struct fixture *f = *state;
    char plan[1024];

    if (fixture_pg_dsn() != NULL)
        skip(); /* PostgreSQL plans with the values bound */
    sqlite_plan(f->path, gw_store_audit_each_sqlite("2026123456"), plan,
                sizeof(plan));
    if (strstr(plan, "USING INDEX audit_refnr (refnr=?") == NULL ||
        strstr(plan, "TEMP B-TREE") != NULL)
        fail_msg("by referensnummer:\n%s", plan);
    sqlite_plan(f->path, gw_store_audit_each_sqlite(NULL), plan, sizeof(plan));
    if (strstr(plan, "INTEGER PRIMARY KEY (rowid>?)") == NULL)
        fail_msg("the whole chain:\n%s", plan);
}

/*
 * An outbox claim reads the first due item of the peer's backlog from
 * outbox_due, not every pending item sorted: its one ORDER BY over a UNION
 * ALL of the pending items and the expired leases sorted the whole
 * backlog for each claim (bench_store outbox: 114 us a claim at a backlog
 * of 100, 21.5 ms at 100,000; deliveries slowed as a backlog after an
 * outage grew). A sort (USE TEMP B-TREE) belongs to the select its parent
 * is, so none may have the pending half's read below that parent; and the
 * pending half is a range (up to now), not a walk past items not due.
 */
static void
test_store_outbox_claim_sorts_no_backlog(void **state)
{
    struct fixture *f = *state;
    struct {
        int id, parent;
        char detail[160];
    } row[64];
    char plan[4096];
    size_t n = 0, len = 0, pending = 64;
    sqlite3 *db;
    sqlite3_stmt *s;

    if (fixture_pg_dsn() != NULL)
        skip(); /* PostgreSQL plans with the values bound */
    s = plan_stmt(f->path, gw_outbox_claim_sqlite(), &db);
    while (n < 64 && sqlite3_step(s) == SQLITE_ROW) {
        row[n].id = sqlite3_column_int(s, 0);
        row[n].parent = sqlite3_column_int(s, 1);
        snprintf(row[n].detail, sizeof(row[n].detail), "%s",
                 (const char *)sqlite3_column_text(s, 3));
        len += (size_t)snprintf(plan + len, sizeof(plan) - len, "%d %d %s\n",
                                row[n].id, row[n].parent, row[n].detail);
        /* the pending half reads outbox_due first (the left of the two) */
        if (pending == 64 && strstr(row[n].detail, "outbox_due") != NULL)
            pending = n;
        n++;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (pending == 64)
        fail_msg("no read of outbox_due:\n%s", plan);
    for (size_t i = 0; i < n; i++) {
        int up = row[pending].parent;
        if (strstr(row[i].detail, "TEMP B-TREE") == NULL)
            continue;
        /* up: the pending read's ancestors, to the root (0) */
        for (;;) {
            size_t j = 0;
            if (up == row[i].parent)
                fail_msg("the pending items are sorted:\n%s", plan);
            if (up == 0)
                break;
            while (j < n && row[j].id != up)
                j++;
            up = j < n ? row[j].parent : 0;
        }
    }
    if (strstr(row[pending].detail,
               "outbox_due (peer=? AND state=? AND next_attempt_ms<?)") == NULL)
        fail_msg("the pending items are not a range of outbox_due:\n%s",
                 plan);
}

/* A result whose cell in column k is the text "c<k>", the integer
 * 100 + k, the real k + 0.5 and the bytes "b<k>": each member a fill sets
 * says which column it came from. */
static const char *
fake_text(const void *res, int row, int col)
{
    static char t[32][8];

    (void)res;
    (void)row;
    snprintf(t[col], sizeof(t[col]), "c%d", col);
    return t[col];
}

static int64_t
fake_i64(const void *res, int row, int col)
{
    (void)res;
    (void)row;
    return 100 + col;
}

static double
fake_f64(const void *res, int row, int col)
{
    (void)res;
    (void)row;
    return col + 0.5;
}

static char *
fake_bytes(const void *res, int row, int col, size_t *len)
{
    char *b = malloc(8);

    (void)res;
    (void)row;
    if (b != NULL)
        *len = (size_t)snprintf(b, 8, "b%d", col);
    return b;
}

/* What a fill must set: member k of the list from column k, as the text
 * ("c<k>") in a char array (t) or a string of its own (s), the bytes
 * "b<k>" (b), an int (i), an 8-byte integer (l) or a real (d). */
struct want {
    const char *name;
    size_t off;
    char kind;
};
#define W(m, kind) {#m, offsetof(ROW, m), kind}
#define TXT(m) W(m, 't')
#define OWN(m) W(m, 's')
#define BYT(m) W(m, 'b')
#define INT(m) W(m, 'i')
#define I64(m) W(m, 'l')
#define DBL(m) W(m, 'd')
#define NW(w) (sizeof(w) / sizeof((w)[0]))

static void
check_row(const char *what, const void *elem, const struct want *w, size_t n)
{
    const unsigned char *b = elem;

    for (size_t k = 0; k < n; k++) {
        const void *m = b + w[k].off;
        const char *t = w[k].kind == 't' ? (const char *)m : NULL;
        char exp[8];
        int64_t v = 0;
        snprintf(exp, sizeof(exp), "%c%zu", w[k].kind == 'b' ? 'b' : 'c', k);
        if (w[k].kind == 's' || w[k].kind == 'b')
            t = *(char *const *)m;
        else if (w[k].kind == 'i')
            v = *(const int *)m;
        else if (w[k].kind == 'l')
            v = *(const int64_t *)m;
        else if (w[k].kind == 'd')
            v = (int64_t)(*(const double *)m * 2);
        if (w[k].kind == 'd' ? v != (int64_t)(2 * k + 1)
            : t == NULL      ? v != (int64_t)(100 + k)
                             : strcmp(t, exp) != 0)
            fail_msg("%s: %s is not column %zu's", what, w[k].name, k);
    }
}

/* elem (size bytes, zeroed here) filled from the fake row as element i. */
static void
check_fill(const char *what, gw_cells_fill fill, void *elem, size_t size,
           size_t i, const struct want *w, size_t n)
{
    const struct gw_cells_ops ops = {fake_text, fake_i64, fake_f64, fake_bytes};
    const struct gw_cells c = {&ops, NULL, 0};

    memset(elem, 0, size);
    assert_int_equal(fill(&c, elem, i), GW_OK);
    check_row(what, elem, w, n);
}

/* The same through an add into a one-element array: a second row is
 * dropped. */
static void
check_add(const char *what, gw_cells_add add, void *elem, size_t size,
          const struct want *w, size_t n)
{
    const struct gw_cells_ops ops = {fake_text, fake_i64, fake_f64, fake_bytes};
    const struct gw_cells c = {&ops, NULL, 0};
    size_t k = 0;

    memset(elem, 0, size);
    add(&c, elem, 1, &k);
    add(&c, elem, 1, &k);
    assert_int_equal(k, 1);
    check_row(what, elem, w, n);
}

#define CHECK_FILL(fill, elem, i, w)                                           \
    check_fill(#fill, fill, &(elem), sizeof(elem), (i), (w), NW(w))
#define CHECK_ADD(add, elem, w)                                                \
    check_add(#add, add, &(elem), sizeof(elem), (w), NW(w))

static void
test_store_rows_fill_each_member_from_its_column(void **state)
{
    struct gw_product pr;
    struct gw_pharmacy ph;
    struct gw_licence_hit l;
    struct gw_outbox_info oi;
    struct gw_outbox_item it;
    struct gw_subscription sub;
    struct gw_sub_event ev;
    struct gw_history_row h;
    struct gw_consent co;
    struct gw_case_row cr;
    struct gw_store_result in;
    struct gw_purge_victim v;
    struct gw_write_sub_id si;
    struct gw_console_dead dead;
    struct gw_console_count cnt;
    struct gw_outbox_peer_oldest old;
    struct gw_console_audit au;
    struct gw_outbox_peer_count pc[1];
    struct gw_console_peer cp[1];
    const struct gw_cells_ops ops = {fake_text, fake_i64, fake_f64, fake_bytes};
    const struct gw_cells c = {&ops, NULL, 0};
    size_t n = 0;

    (void)state;
#define ROW struct gw_product
    static const struct want product[] = {
        TXT(name),  TXT(substances), TXT(holder),   TXT(country),
        TXT(nplid), TXT(form),       TXT(strength), TXT(atc)};
#undef ROW
    CHECK_FILL(gw_rows_product, pr, 0, product);
#define ROW struct gw_pharmacy
    static const struct want pharmacy[] = {TXT(gln), TXT(name), TXT(actor),
                                           TXT(address), TXT(city)};
#undef ROW
    CHECK_FILL(gw_rows_pharmacy, ph, 0, pharmacy);
#define ROW struct gw_licence_hit
    static const struct want licence[] = {
        TXT(refnr),       TXT(licence_type), INT(beredskap),
        TXT(valid_from),  TXT(valid_to),     DBL(total_amount),
        TXT(amount_unit), DBL(dispensed),    TXT(general_level),
        TXT(patient_id),  TXT(clinic_hsa),   TXT(hospital_hsa),
        TXT(status)};
#undef ROW
    CHECK_FILL(gw_rows_licence, l, 0, licence);
#define ROW struct gw_outbox_info
    static const struct want outbox_info[] = {
        I64(id),         TXT(message_id),      TXT(peer),
        TXT(kind),       TXT(refnr),           TXT(state),
        INT(attempts),   I64(next_attempt_ms), I64(created_ms),
        I64(updated_ms), TXT(last_error),      I64(payload_len),
        TXT(claimed_by), I64(claimed_until),   TXT(target)};
#undef ROW
    CHECK_FILL(gw_rows_outbox_info, oi, 0, outbox_info);
#define ROW struct gw_outbox_item
    static const struct want outbox_item[] = {
        I64(id),       TXT(message_id), TXT(peer),
        TXT(kind),     TXT(refnr),      BYT(payload),
        INT(attempts), TXT(target),     I64(next_attempt_ms)};
#undef ROW
    CHECK_FILL(gw_rows_outbox_item, it, 0, outbox_item);
    assert_int_equal(it.payload_len, 2);
    free(it.payload);
#define ROW struct gw_subscription
    static const struct want subscription[] = {
        TXT(id),     TXT(gln),        TXT(endpoint),    TXT(criteria),
        TXT(status), I64(created_ms), INT(failures),    TXT(error),
        TXT(filter), TXT(header),     INT(heartbeat_s), I64(events),
        I64(sent_ms)};
#undef ROW
    CHECK_FILL(gw_rows_subscription, sub, 0, subscription);
#define ROW struct gw_sub_event
    static const struct want sub_event[] = {I64(number), I64(at_ms), TXT(code),
                                            TXT(refnr)};
#undef ROW
    CHECK_FILL(gw_rows_sub_event, ev, 0, sub_event);
#define ROW struct gw_history_row
    static const struct want history[] = {TXT(from_status), TXT(to_status),
                                          TXT(event), I64(at_ms)};
#undef ROW
    CHECK_FILL(gw_rows_history, h, 4, history);
    assert_int_equal(h.version, 5); /* the row's place, from 1 */
#define ROW struct gw_consent
    static const struct want consent[] = {
        I64(consented_ms), I64(last_applied_ms), I64(last_active_ms)};
#undef ROW
    CHECK_FILL(gw_rows_consent, co, 0, consent);
    assert_int_equal(co.known, 1);
#define ROW struct gw_case_row
    static const struct want case_row[] = {
        OWN(refnr),         OWN(status),         OWN(licence_type),
        INT(beredskap),     OWN(prescriber_hsa), OWN(hospital_hsa),
        OWN(hospital_name), OWN(clinic_hsa),     OWN(clinic_name),
        OWN(pharmacy_gln),  OWN(drug_name),      OWN(substances),
        OWN(patient_id),    OWN(parent_refnr),   I64(version),
        I64(created_ms),    I64(updated_ms),     I64(applied_ms),
        I64(decided_ms),    I64(purged_ms),      I64(rowid)};
#undef ROW
    CHECK_FILL(gw_rows_case, cr, 0, case_row);
    gw_case_row_release(&cr);
#define ROW struct gw_store_result
    static const struct want inbox[] = {TXT(content_hash), TXT(refnr),
                                        I64(version),      INT(response_status),
                                        BYT(response),     I64(received_ms)};
#undef ROW
    CHECK_FILL(gw_rows_inbox, in, 0, inbox);
    assert_int_equal(in.response_len, 2);
    assert_int_equal(in.replayed, 1);
    free(in.response);
#define ROW struct gw_purge_victim
    static const struct want purge_victim[] = {I64(id), TXT(refnr)};
#undef ROW
    CHECK_FILL(gw_rows_purge_victim, v, 0, purge_victim);
#define ROW struct gw_write_sub_id
    static const struct want sub_id[] = {TXT(id)};
#undef ROW
    CHECK_FILL(gw_rows_sub_id, si, 0, sub_id);

#define ROW struct gw_console_dead
    static const struct want console_dead[] = {
        I64(id),         TXT(peer),       TXT(kind),      INT(attempts),
        I64(created_ms), I64(updated_ms), TXT(last_error)};
#undef ROW
    CHECK_ADD(gw_rows_add_console_dead, dead, console_dead);
#define ROW struct gw_console_count
    static const struct want console_count[] = {TXT(key), I64(n)};
#undef ROW
    CHECK_ADD(gw_rows_add_console_count, cnt, console_count);
#define ROW struct gw_outbox_peer_oldest
    static const struct want peer_oldest[] = {TXT(peer), I64(created_ms)};
#undef ROW
    CHECK_ADD(gw_rows_add_peer_oldest, old, peer_oldest);
#define ROW struct gw_console_audit
    static const struct want console_audit[] = {I64(seq), TXT(hash),
                                                I64(at_ms)};
#undef ROW
    CHECK_ADD(gw_rows_add_console_audit, au, console_audit);

    /* The keyed adds: the peer (column 0) once; its state (1) is none
     * they name, so counted as queued / dead, from column 2. */
    gw_rows_add_peer_count(&c, pc, 1, &n);
    gw_rows_add_peer_count(&c, pc, 1, &n);
    assert_int_equal(n, 1);
    assert_string_equal(pc[0].peer, "c0");
    assert_int_equal(pc[0].queued, 204);
    assert_int_equal(pc[0].dead, 0);
    n = 0;
    memset(cp, 0, sizeof(cp));
    gw_rows_add_console_peer(&c, cp, 1, &n);
    assert_int_equal(n, 1);
    assert_string_equal(cp[0].peer, "c0");
    assert_int_equal(cp[0].dead, 102);
    assert_int_equal(cp[0].last_fail_ms, 104);
}

int
main(void)
{
#define T(name)                                                                \
    cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_store_create_generates_referensnummer_and_answers),
        T(test_store_same_message_id_replays_first_answer),
        T(test_store_concurrent_duplicates_create_one_case),
        T(test_store_group_commit_batches_concurrent_writers),
        T(test_store_batch_with_failed_request_keeps_audit_chain),
        T(test_store_wal_stays_bounded_under_a_steady_load),
        T(test_store_wal_stays_bounded_with_a_slow_checkpointer),
        T(test_store_commit_reaches_the_wal_in_few_writes),
        T(test_store_sqlite_heap_counted_without_sqlite_statistics),
        T(test_store_case_search_uses_the_selective_index),
        T(test_store_audit_by_refnr_uses_its_index),
        T(test_store_outbox_claim_sorts_no_backlog),
        T(test_store_create_under_a_taken_refnr_is_refused),
        T(test_store_create_tries_the_callers_number_first),
        T(test_store_update_checks_status_and_version),
        T(test_store_failing_request_leaves_nothing_behind),
        T(test_store_search_filters_and_orders_newest_first),
        T(test_store_reopen_keeps_everything_and_schema),
        T(test_store_migration_6_keeps_the_outbox),
        T(test_store_schema_has_no_check_with_in),
        T(test_store_migration_7_drops_the_unused_licence_index),
        T(test_store_newer_schema_refused_with_upgrade_advice),
        T(test_store_daily_optimize_survives_commits_meanwhile),
        T(test_store_hsa_cache_expires),
        T(test_store_hsa_put_waits_for_no_lock),
        T(test_store_hsa_put_bounded_while_the_writer_waits),
        T(test_store_hsa_put_that_fails_takes_no_message_along),
        T(test_store_two_nodes_one_chain_one_case_per_message),
        T(test_store_search_folds_swedish_letters),
        T(test_store_register_searches_find_what_was_written),
        T(test_store_licence_name_contains_needs_text),
        cmocka_unit_test(test_store_close_of_no_store_is_a_no_op),
        cmocka_unit_test(test_store_rows_fill_each_member_from_its_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
