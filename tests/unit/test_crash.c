/*
 * test_crash.c - crash safety: a child process takes concurrent
 * submissions and is killed with SIGKILL at a random moment, many times.
 * After every kill the database is opened again and must hold every
 * acknowledged submission exactly once, exactly one outbox delivery for
 * each, pass PRAGMA integrity_check, and have an intact audit chain.
 * Each child also resends earlier acknowledged messages, which must replay
 * without creating anything. Bounded: ROUNDS kills of at most ~0.3 s each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "store/audit_log.h"
#include "store/store.h"
#include "store/write.h"
#include "store_fixture.h"

#define ROUNDS 12
#define THREADS 8
#define MAX_ACKS 200000

static char *acked[MAX_ACKS];
static size_t nacked;

struct child_arg {
    struct gw_store *st;
    int round, thread, fd;
};

static void
submit(struct gw_store *st, const char *msgid, int fd, int report)
{
    static const struct gw_audit_entry audit = {"journal1", "SE2321000016-DOC1",
                                                "create", NULL, "ok", NULL};
    char ob[96], line[96];
    struct gw_store_outbox_new o;
    struct gw_store_write w;
    struct gw_store_result r;

    motivation_write(&w, msgid, "same-content", "SE2321000016-DOC1", "Crash");
    snprintf(ob, sizeof(ob), "ob-%s", msgid);
    memset(&o, 0, sizeof(o)); /* fanout_gln NULL: one item for LV */
    o.message_id = ob;
    o.peer = "lv";
    o.kind = "application";
    o.payload = "<p/>";
    o.payload_len = 4;
    w.outbox = &o;
    w.noutbox = 1;
    w.audit = &audit;
    if (gw_store_write(st, &w, &r) == GW_OK && report) {
        int n = snprintf(line, sizeof(line), "%s\n", msgid);
        /* One write per line, under PIPE_BUF: never interleaved. */
        if (write(fd, line, (size_t)n) != n)
            _exit(3);
    }
    gw_store_result_release(&r);
}

static void *
child_thread(void *p)
{
    struct child_arg *a = p;
    char id[64];

    for (int i = 0;; i++) {
        snprintf(id, sizeof(id), "r%d-t%d-%d", a->round, a->thread, i);
        submit(a->st, id, a->fd, 1);
    }
    return NULL;
}

static void
child(const char *path, int round, int fd, char **resend, size_t nresend)
{
    struct child_arg args[THREADS];
    pthread_t t[THREADS];
    struct gw_store *st;
    struct gw_err err;

    if (gw_store_open(path, NULL, &st, &err) != GW_OK)
        _exit(2);
    for (size_t i = 0; i < nresend; i++)
        submit(st, resend[i], fd, 0);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct child_arg){st, round, i, fd};
        pthread_create(&t[i], NULL, child_thread, &args[i]);
    }
    for (;;)
        pause();
}

static long long
scalar(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *s;
    long long v = -1;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (arg)
        sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void
read_acks(int fd)
{
    char buf[8192], line[96];
    size_t ll = 0;
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n') {
                if (ll < sizeof(line) - 1)
                    line[ll++] = buf[i];
                continue;
            }
            line[ll] = '\0';
            ll = 0;
            if (nacked < MAX_ACKS)
                acked[nacked++] = strdup(line);
        }
}

static void
check(const char *path)
{
    struct gw_store *st;
    struct gw_store_opts o = {2, 16, 5000, 0, 0, NULL, NULL};
    struct gw_err err;
    long long n;
    sqlite3 *db;

    /* Opening runs recovery (WAL replay) the way a restart would. */
    assert_int_equal(gw_store_open(path, &o, &st, &err), GW_OK);
    assert_int_equal(gw_store_integrity_check(st), GW_OK);
    gw_err_clear(&err);
    if (gw_store_audit_verify(st, &n, &err) != GW_OK)
        fail_msg("audit chain broken after a kill: %s", err.detail);
    gw_store_close(st);

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (size_t i = 0; i < nacked; i++) {
        char ob[96];
        if (scalar(db, "SELECT count(*) FROM inbox WHERE message_id = ?",
                   acked[i]) != 1)
            fail_msg("acknowledged %s is not stored exactly once", acked[i]);
        snprintf(ob, sizeof(ob), "ob-%s", acked[i]);
        if (scalar(db, "SELECT count(*) FROM outbox WHERE message_id = ?",
                   ob) != 1)
            fail_msg("acknowledged %s has no single outbox item", acked[i]);
    }
    /* Nothing half-stored or doubled, acknowledged or not. */
    n = scalar(db, "SELECT count(*) FROM inbox", NULL);
    assert_int_equal(scalar(db, "SELECT count(*) FROM cases", NULL), n);
    assert_int_equal(scalar(db, "SELECT count(*) FROM outbox", NULL), n);
    assert_int_equal(scalar(db, "SELECT count(*) FROM documents", NULL), n);
    assert_int_equal(scalar(db, "SELECT count(*) FROM audit", NULL), n);
    assert_true((size_t)n >= nacked);
    sqlite3_close(db);
}

static void
test_crash_kill9_loses_and_doubles_nothing(void **state)
{
    struct fixture *f = *state;
    unsigned seed = (unsigned)getpid();

    gw_store_close(f->st); /* the children own the database */
    f->st = NULL;
    for (int round = 0; round < ROUNDS; round++) {
        int fds[2];
        pid_t pid;
        size_t nresend = nacked < 50 ? nacked : 50;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child(f->path, round, fds[1], acked + nacked - nresend, nresend);
        }
        close(fds[1]);
        usleep((useconds_t)(30000 + rand_r(&seed) % 270000));
        kill(pid, SIGKILL);
        read_acks(fds[0]);
        close(fds[0]);
        waitpid(pid, NULL, 0);
        check(f->path);
    }
    print_message("crash test: %d kills, %zu acknowledged submissions, all "
                  "present once\n", ROUNDS, nacked);
    assert_true(nacked > 0);
    for (size_t i = 0; i < nacked; i++)
        free(acked[i]);
    /* Teardown expects an open store. */
    struct gw_err err;
    assert_int_equal(gw_store_open(f->path, NULL, &f->st, &err), GW_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_crash_kill9_loses_and_doubles_nothing, fixture_setup,
            fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
