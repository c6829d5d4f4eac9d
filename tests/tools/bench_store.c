/*
 * bench_store.c - durable write throughput of the store, next to the disk's
 * own single-commit rate, measured in the same run; and outbox deliveries
 * per second to a loopback HTTP peer.
 *
 *   bench_store DIR SECONDS [single | WRITERS | outbox N...]
 *
 * With "single", only the disk's single-commit rate; with a number, the
 * single commit and group commit with that many writers only (to profile
 * one of them: perf record -g bench_store DIR 10 32). With "outbox" and
 * backlog sizes, per size: the time of one claim (with its done) and
 * deliveries/s, with N items of the peer pending at the start (a backlog
 * after an outage of the peer), each figure also against the smallest
 * size's, measured in the same run. Each group commit
 * figure is set against the single-commit rate of the second before and
 * after it (AROUND_S).
 *
 * Prints one line per figure. Not a test: nothing here passes or fails.
 * Run through tests/bench/bench_store.sh.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../unit/store_fixture.h"
#include "core/log.h"
#include "outbound/http_client.h"
#include "outbound/worker.h"
#include "store/outbox.h"
#include "store/store.h"
#include "store/write.h"

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds the whole process has used (every thread, user + system). */
static double
cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds the store's writer thread (named klasgw-writer, writer.c)
 * has used, from /proc: on a CPU in all (schedstat, nanoseconds) and of
 * that in user mode (stat's utime, clock ticks): the rest is the kernel's
 * (the WAL's writes, fsync). -1 when there is none to be found. */
struct thread_cpu {
    double all, user;
};

static int
task_cpu(const char *tid, struct thread_cpu *t)
{
    char path[300], line[1024], *p;
    unsigned long long ns, ut;
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", tid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    ok = fscanf(f, "%llu", &ns) == 1;
    fclose(f);
    snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tid);
    if (!ok || (f = fopen(path, "r")) == NULL)
        return -1;
    p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
    fclose(f);
    /* After the name: state, then utime is the 12th field. */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                                   "%*u %llu", &ut) != 1)
        return -1;
    t->all = (double)ns / 1e9;
    t->user = (double)ut / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

static int
writer_cpu(struct thread_cpu *t)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int rc = -1;

    while (d != NULL && rc < 0 && (e = readdir(d)) != NULL) {
        char path[300], name[32] = "";
        FILE *f;

        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fgets(name, sizeof(name), f) == NULL)
            name[0] = '\0';
        fclose(f);
        if (strcmp(name, "klasgw-writer\n") == 0)
            rc = task_cpu(e->d_name, t);
    }
    if (d != NULL)
        closedir(d);
    return rc;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One commit's time on this disk: the floor under any acknowledged
 * write's latency (a gateway's tail cannot be shorter than the disk's). */
struct commit_times {
    double p50, p99, max; /* seconds */
};

static double
single_commit_rate(const char *dir, double seconds, struct commit_times *ct)
{
    char path[512];
    sqlite3 *db;
    sqlite3_stmt *s;
    long n = 0;
    double t0, t, *lat = NULL;
    size_t cap = 0;

    snprintf(path, sizeof(path), "%s/single.db", dir);
    unlink(path);
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (randomblob(200))", -1,
                       &s, NULL);
    t = t0 = now_s();
    do {
        double t1 = t;
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        sqlite3_step(s);
        sqlite3_reset(s);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        t = now_s();
        if (ct != NULL && (size_t)n == cap) {
            cap = cap ? cap * 2 : 4096;
            lat = realloc(lat, cap * sizeof(*lat));
            if (lat == NULL)
                exit(1);
        }
        if (ct != NULL)
            lat[n] = t - t1;
        n++;
    } while (t - t0 < seconds);
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (ct != NULL) {
        qsort(lat, (size_t)n, sizeof(*lat), cmp);
        ct->p50 = lat[n / 2];
        ct->p99 = lat[(size_t)((double)n * 0.99)];
        ct->max = lat[n - 1];
        free(lat);
    }
    return (double)n / (t - t0);
}

struct writer_arg {
    struct gw_store *st;
    int id;
    double until;
    double *lat;
    size_t nlat, cap;
};

static void *
writer(void *p)
{
    struct writer_arg *a = p;
    char msgid[64], ob[80];
    struct gw_store_outbox_new o = {NULL, "bench", "application",
                                    "<application/>", 14, NULL};

    for (long i = 0; now_s() < a->until; i++) {
        struct gw_store_write w;
        struct gw_store_result r;
        double t0 = now_s();
        snprintf(msgid, sizeof(msgid), "w%d-%ld", a->id, i);
        snprintf(ob, sizeof(ob), "ob-%s", msgid);
        motivation_write(&w, msgid, "h", "SE2321000016-DOC1", "Bench");
        o.message_id = ob;
        w.outbox = &o;
        w.noutbox = 1;
        if (gw_store_write(a->st, &w, &r) != GW_OK) {
            fprintf(stderr, "write failed: %s\n", r.err.detail);
            exit(1);
        }
        gw_store_result_release(&r);
        if (a->nlat == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 4096;
            a->lat = realloc(a->lat, a->cap * sizeof(double));
        }
        a->lat[a->nlat++] = now_s() - t0;
    }
    return NULL;
}

/* Seconds of single commits measured before and after each group
 * commit figure (group_commit). */
#define AROUND_S 1.0

static struct gw_store *
group_commit(const char *dir, int writers, double seconds)
{
    char path[512];
    struct gw_store *st;
    struct gw_err err;
    struct writer_arg *args = calloc((size_t)writers, sizeof(*args));
    pthread_t *t = calloc((size_t)writers, sizeof(*t));
    double *all = NULL, t0, c0;
    struct thread_cpu w0, w1;
    int wok;
    size_t n = 0;
    struct gw_store_stats stats;
    double single, before;

    snprintf(path, sizeof(path), "%s/gc%d.db", dir, writers);
    unlink(path);
    if (gw_store_open(path, NULL, &st, &err) != GW_OK) {
        fprintf(stderr, "open: %s\n", err.detail);
        exit(1);
    }
    before = single_commit_rate(dir, AROUND_S, NULL);
    t0 = now_s();
    c0 = cpu_s();
    wok = writer_cpu(&w0) == 0;
    for (int i = 0; i < writers; i++) {
        args[i] = (struct writer_arg){st, i, t0 + seconds, NULL, 0, 0};
        pthread_create(&t[i], NULL, writer, &args[i]);
    }
    for (int i = 0; i < writers; i++) {
        pthread_join(t[i], NULL);
        all = realloc(all, (n + args[i].nlat) * sizeof(double));
        memcpy(all + n, args[i].lat, args[i].nlat * sizeof(double));
        n += args[i].nlat;
        free(args[i].lat);
    }
    double elapsed = now_s() - t0, cpu = cpu_s() - c0;
    wok = wok && writer_cpu(&w1) == 0;
    /* The ratio against the disk's rate right before and after: on a
     * disk shared with other work the single-commit rate moved 10 x
     * within a minute, and one figure from the start of the run made
     * the ratio anything from 1.6 to 31. */
    single = (before + single_commit_rate(dir, AROUND_S, NULL)) / 2;
    qsort(all, n, sizeof(double), cmp);
    gw_store_stats(st, &stats);
    printf("group commit, %2d writers: %8.0f acknowledged writes/s  "
           "(%.1f x single commit, %.0f commits/s around it)  p50 %.2f ms  "
           "p99 %.2f ms  max %.1f ms  mean batch %.1f  CPU %.0f us/write "
           "(writer thread %.1f, user %.1f)\n",
           writers, (double)n / elapsed, (double)n / elapsed / single, single,
           all[n / 2] * 1000, all[(size_t)((double)n * 0.99)] * 1000,
           all[n - 1] * 1000,
           (double)stats.requests / (double)stats.batches,
           cpu * 1e6 / (double)n, wok ? (w1.all - w0.all) * 1e6 / (double)n : -1,
           wok ? (w1.user - w0.user) * 1e6 / (double)n : -1);
    free(all);
    free(args);
    free(t);
    return st;
}

/* A loopback HTTP peer: answers 200 to every POST, keep-alive. */
static void *
peer_conn(void *p)
{
    int fd = (int)(intptr_t)p;
    char buf[65536];
    size_t have = 0;

    for (;;) {
        char *end;
        ssize_t r = read(fd, buf + have, sizeof(buf) - have - 1);
        if (r <= 0)
            break;
        have += (size_t)r;
        buf[have] = '\0';
        while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
            char *cl = strcasestr(buf, "content-length:");
            size_t body = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
            size_t need = (size_t)(end - buf) + 4 + body;
            if (have < need)
                break;
            static const char ok[] =
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
            if (write(fd, ok, sizeof(ok) - 1) < 0)
                goto out;
            memmove(buf, buf + need, have - need);
            have -= need;
            buf[have] = '\0';
        }
    }
out:
    close(fd);
    return NULL;
}

static void *
peer_main(void *p)
{
    int ls = (int)(intptr_t)p;

    for (;;) {
        int fd = accept(ls, NULL, NULL);
        pthread_t t;
        if (fd < 0)
            return NULL;
        pthread_create(&t, NULL, peer_conn, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static double
outbox_rate(struct gw_store *st, double seconds)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    pthread_t pt;
    char url[64];
    struct gw_http_peer hp = {url, "application/xml", 5000, NULL, NULL, NULL};
    struct gw_peer peer = {"bench", gw_http_peer_send, &hp,
                           gw_http_client_thread_done};
    struct gw_outbox_worker_opts o = {5, 1000, 60000, 4, 200, 0, 0, NULL};
    struct gw_outbox_worker *w;
    long long c0[4], c[4];
    double t0;

    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(ls, (struct sockaddr *)&a, sizeof(a));
    listen(ls, 64);
    getsockname(ls, (struct sockaddr *)&a, &alen);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", ntohs(a.sin_port));
    pthread_create(&pt, NULL, peer_main, (void *)(intptr_t)ls);
    pthread_detach(pt);

    if (gw_outbox_counts(st, c0) != GW_OK || gw_http_client_init() != GW_OK ||
        gw_outbox_worker_start(st, &peer, 1, &o, &w) != GW_OK) {
        fprintf(stderr, "cannot start the outbox worker\n");
        exit(1);
    }
    t0 = now_s();
    do {
        usleep(100000);
        if (gw_outbox_counts(st, c) != GW_OK)
            break;
    } while (c[0] > 0 && now_s() - t0 < seconds);
    double elapsed = now_s() - t0;
    gw_outbox_worker_stop(w);
    if (gw_outbox_counts(st, c) != GW_OK)
        exit(1);
    printf("outbox: %8.0f deliveries/s to a loopback HTTP peer "
           "(%lld delivered, 4 connections, backlog %lld pending%s)\n",
           (double)(c[2] - c0[2]) / elapsed, c[2] - c0[2], c0[0],
           c[0] == 0 ? ", drained: a floor" : "");
    return (double)(c[2] - c0[2]) / elapsed;
}

/* A store at DIR/backlogN.db with n items of peer "bench" pending and
 * due, written in one transaction past the store (the writer's
 * acknowledged path is not what is measured here), plus as many done
 * ones (delivered before the outage). */
static struct gw_store *
backlog_store(const char *dir, long n)
{
    char path[512];
    struct gw_store *st;
    struct gw_err err;
    sqlite3 *db;

    snprintf(path, sizeof(path), "%s/backlog%ld.db", dir, n);
    unlink(path);
    if (gw_store_open(path, NULL, &st, &err) != GW_OK) {
        fprintf(stderr, "open: %s\n", err.detail);
        exit(1);
    }
    gw_store_close(st);
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "backlog: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    {
        sqlite3_stmt *s;
        int rc = sqlite3_prepare_v2(
            db,
            "INSERT INTO outbox (message_id, peer, kind, payload, state,"
            " next_attempt_ms, created_ms, updated_ms) WITH RECURSIVE"
            " i(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM i WHERE k < 2 * ?1)"
            " SELECT 'backlog-' || k, 'bench', 'application',"
            " '<application/>', CASE WHEN k <= ?1 THEN 'done' ELSE 'pending'"
            " END, 1000 + k, 1000 + k, 1000 + k FROM i",
            -1, &s, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(s, 1, n);
            rc = sqlite3_step(s);
            sqlite3_finalize(s);
        }
        if (rc != SQLITE_DONE) {
            fprintf(stderr, "backlog: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
    }
    sqlite3_close(db);
    if (gw_store_open(path, NULL, &st, &err) != GW_OK) {
        fprintf(stderr, "open: %s\n", err.detail);
        exit(1);
    }
    return st;
}

/* Microseconds per claim of one item (and its done) out of st's backlog,
 * over `claims` of them. */
static double
claim_us(struct gw_store *st, int claims)
{
    double t0 = now_s();

    for (int i = 0; i < claims; i++) {
        struct gw_outbox_item *item = NULL;
        if (gw_outbox_claim(st, "bench", "bench:1:a", 60000, 0, &item) !=
                GW_OK ||
            item == NULL ||
            gw_outbox_done(st, item->id, "bench:1:a") != GW_OK) {
            fprintf(stderr, "claim failed\n");
            exit(1);
        }
        gw_outbox_item_free(item);
    }
    return (now_s() - t0) * 1e6 / claims;
}

/* Claim cost and deliveries/s against backlog size (argv: the sizes). */
static void
outbox_backlogs(const char *dir, double seconds, int argc, char **argv)
{
    double us0 = 0, rate0 = 0;

    for (int i = 0; i < argc; i++) {
        long n = atol(argv[i]);
        struct gw_store *st = backlog_store(dir, n);
        int claims = n < 200 ? (int)n / 2 : 100;
        double us = claim_us(st, claims), rate;

        printf("backlog %7ld: claim + done %9.1f us (%d claims)", n, us,
               claims);
        if (i == 0)
            us0 = us;
        else
            printf("  %.1f x backlog %s", us / us0, argv[0]);
        printf("\n");
        rate = outbox_rate(st, seconds);
        if (i == 0)
            rate0 = rate;
        else
            printf("backlog %7ld: deliveries/s %.2f x backlog %s\n", n,
                   rate / rate0, argv[0]);
        gw_store_close(st);
    }
}

int
main(int argc, char **argv)
{
    double seconds = argc > 2 ? atof(argv[2]) : 5;
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    struct gw_store *st = NULL;
    struct commit_times ct;
    double single;

    gw_log_set_level(GW_LOG_WARN);
    if (argc > 3 && strcmp(argv[3], "outbox") == 0) {
        outbox_backlogs(dir, seconds, argc - 4, argv + 4);
        return 0;
    }
    single = single_commit_rate(dir, seconds, &ct);
    printf("single commit (1 row per transaction, WAL, synchronous=FULL): "
           "%8.0f commits/s  p50 %.2f ms  p99 %.2f ms  max %.1f ms\n",
           single, ct.p50 * 1000, ct.p99 * 1000, ct.max * 1000);
    if (argc > 3 && strcmp(argv[3], "single") == 0)
        return 0; /* the disk's rate only (tests/bench/bench_http.sh) */
    if (argc > 3 && atoi(argv[3]) > 0) {
        gw_store_close(group_commit(dir, atoi(argv[3]), seconds));
        return 0;
    }
    for (int w = 1; w <= 32; w *= (w == 1 ? 8 : 4)) {
        if (st)
            gw_store_close(st);
        st = group_commit(dir, w, seconds);
    }
    outbox_rate(st, seconds * 2);
    gw_store_close(st);
    return 0;
}
