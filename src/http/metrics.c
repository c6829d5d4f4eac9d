/*
 * metrics.c - /metrics in the Prometheus text format, and /healthz.
 *
 * Counters are plain atomics indexed by route and status, so observing a
 * request costs no lock. Figures from the store (queue depth per peer,
 * dead letters, commit batch sizes) are read when scraped.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config/tls.h"
#include "core/buf.h"
#include "core/clock.h"
#include "http/response.h"
#include "http/route.h"
#include "outbound/stats.h"
#include "pipeline/pipeline.h"
#include "store/outbox.h"
#include "store/store.h"

/* One klasgw_certificate_expiry_seconds line per certificate in use. */
struct expiry_out {
    struct gw_buf *b;
    gw_rc rc;
};

static void
expiry_line(void *ctx, const char *label, time_t not_after)
{
    struct expiry_out *eo = ctx;

    if (eo->rc == GW_OK)
        eo->rc = gw_buf_appendf(eo->b,
                                "klasgw_certificate_expiry_seconds{%s} %lld\n",
                                label, (long long)not_after);
}

/* Appends the peers registered in outbound/stats.h that the store has
 * no items of; returns the new count. */
static size_t
add_configured_peers(struct gw_outbox_peer_count *peers, size_t max, size_t n)
{
    struct gw_stats_peer sp[GW_STATS_MAX_PEERS];
    size_t ns = gw_stats_peers(sp, GW_STATS_MAX_PEERS);

    for (size_t i = 0; i < ns && n < max; i++) {
        size_t j;
        for (j = 0; j < n; j++)
            if (strcmp(peers[j].peer, sp[i].peer) == 0)
                break;
        if (j < n)
            continue;
        memset(&peers[n], 0, sizeof(peers[n]));
        /* Both 32 bytes, NUL-terminated (stats.c). */
        memcpy(peers[n].peer, sp[i].peer, sizeof(peers[n].peer));
        n++;
    }
    return n;
}

/* klasgw_outbox_oldest_age_seconds for each peer of the list: how long
 * the oldest item waiting or in flight has waited (0: none). */
static gw_rc
oldest_lines(struct gw_buf *b, struct gw_store *st,
             const struct gw_outbox_peer_count *peers, size_t np)
{
    struct gw_outbox_peer_oldest old[32];
    int64_t now = gw_clock_now_ms();
    size_t no = 0;
    gw_rc rc = gw_outbox_peer_oldest(st, old, 32, &no);

    if (rc != GW_OK)
        return GW_OK; /* the other outbox series are still worth having */
    rc = gw_buf_appendf(b, "# HELP klasgw_outbox_oldest_age_seconds How long "
                           "the oldest item waiting or in flight has "
                           "waited, per peer (0: none).\n"
                           "# TYPE klasgw_outbox_oldest_age_seconds gauge\n");
    for (size_t i = 0; i < np && rc == GW_OK; i++) {
        double age = 0;
        for (size_t j = 0; j < no; j++)
            if (strcmp(old[j].peer, peers[i].peer) == 0 &&
                now > old[j].created_ms)
                age = (double)(now - old[j].created_ms) / 1000.0;
        rc = gw_buf_appendf(b,
                            "klasgw_outbox_oldest_age_seconds{peer=\"%s\"} "
                            "%.3f\n",
                            peers[i].peer, age);
    }
    return rc;
}

/* The process_* series of Prometheus's client libraries, from /proc. */
static gw_rc
process_lines(struct gw_buf *b)
{
    char buf[1024], *p;
    unsigned long long utime = 0, stime = 0, start = 0, btime = 0;
    long rss = 0, tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    long long fds = 0;
    struct rlimit rl;
    struct dirent *de;
    DIR *d;
    FILE *f;
    size_t n = 0;
    gw_rc rc;

    if ((f = fopen("/proc/self/stat", "r")) != NULL) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    /* After "pid (comm) ": field 3 on; comm may hold spaces. */
    p = strrchr(buf, ')');
    if (p != NULL &&
        sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d "
               "%*d %*d %*d %*d %*d %llu %*u %ld",
               &utime, &stime, &start, &rss) != 4)
        utime = stime = start = 0;
    if ((f = fopen("/proc/stat", "r")) != NULL) {
        while (fgets(buf, sizeof(buf), f) != NULL)
            if (sscanf(buf, "btime %llu", &btime) == 1)
                break;
        fclose(f);
    }
    if ((d = opendir("/proc/self/fd")) != NULL) {
        while ((de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                fds++;
        closedir(d);
        fds--; /* the one opendir holds */
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = 0;
    if (tick <= 0)
        tick = 100;
    rc = gw_buf_appendf(
        b,
        "# HELP klasgw_build_info The running version (value 1).\n"
        "# TYPE klasgw_build_info gauge\n"
        "klasgw_build_info{version=\"%s\"} 1\n"
        "# HELP process_start_time_seconds Start time of the process since "
        "unix epoch in seconds.\n"
        "# TYPE process_start_time_seconds gauge\n"
        "process_start_time_seconds %.2f\n"
        "# HELP process_cpu_seconds_total Total user and system CPU time "
        "spent in seconds.\n"
        "# TYPE process_cpu_seconds_total counter\n"
        "process_cpu_seconds_total %.2f\n"
        "# HELP process_resident_memory_bytes Resident memory size in "
        "bytes.\n"
        "# TYPE process_resident_memory_bytes gauge\n"
        "process_resident_memory_bytes %lld\n"
        "# HELP process_open_fds Number of open file descriptors.\n"
        "# TYPE process_open_fds gauge\n"
        "process_open_fds %lld\n"
        "# HELP process_max_fds Maximum number of open file descriptors.\n"
        "# TYPE process_max_fds gauge\n"
        "process_max_fds %llu\n",
        GW_VERSION, (double)btime + (double)start / (double)tick,
        (double)(utime + stime) / (double)tick, (long long)rss * page, fds,
        (unsigned long long)rl.rlim_cur);
    return rc;
}

/* One histogram: the upper bounds le_s[0..n) in seconds, counts[0..n]
 * (not cumulative; the last past every bound) and their sum. */
static gw_rc
histogram_lines(struct gw_buf *b, const char *name, const char *help,
                const double *le_s, size_t n, const long long *counts,
                long long sum_us)
{
    long long cum = 0;
    gw_rc rc = gw_buf_appendf(b, "# HELP %s %s\n# TYPE %s histogram\n", name,
                              help, name);

    for (size_t k = 0; k < n && rc == GW_OK; k++) {
        cum += counts[k];
        rc = gw_buf_appendf(b, "%s_bucket{le=\"%g\"} %lld\n", name, le_s[k],
                            cum);
    }
    cum += counts[n];
    if (rc == GW_OK)
        rc = gw_buf_appendf(b,
                            "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %.6f\n"
                            "%s_count %lld\n",
                            name, cum, name, sum_us / 1e6, name, cum);
    return rc;
}

/* The writer's duration histograms: one row each, all on the bounds of
 * store.h (gw_store_dur_le_us, microseconds). */
static gw_rc
store_duration_lines(struct gw_buf *b, const struct gw_store_stats *ss)
{
    const struct {
        const char *name, *help;
        const long long *counts;
        long long sum_us;
    } hists[] = {
        {"klasgw_store_wait_duration_seconds",
         "A message's time in the store: from joining the writer's queue "
         "until its group commit is durable.",
         ss->wait_us_hist, ss->wait_us_sum},
        {"klasgw_store_batch_duration_seconds",
         "The writer's time for one group commit, from BEGIN until the "
         "COMMIT is durable.",
         ss->batch_us_hist, ss->batch_us_sum},
        {"klasgw_store_commit_duration_seconds",
         "The COMMIT of a group commit alone: the log's write and its sync "
         "to disk.",
         ss->commit_us_hist, ss->commit_us_sum},
        {"klasgw_store_wal_catch_up_duration_seconds",
         "SQLite: the writer's copy of the last log frames into the "
         "database and its sync, so the log starts over; requests queued "
         "meanwhile wait for it.",
         ss->catch_up_us_hist, ss->catch_up_us_sum},
    };
    double le_s[GW_STORE_DUR_N];
    gw_rc rc = GW_OK;

    for (int k = 0; k < GW_STORE_DUR_N; k++)
        le_s[k] = gw_store_dur_le_us[k] / 1e6;
    for (size_t i = 0; i < sizeof(hists) / sizeof(hists[0]) && rc == GW_OK; i++)
        rc = histogram_lines(b, hists[i].name, hists[i].help, le_s,
                             GW_STORE_DUR_N, hists[i].counts, hists[i].sum_us);
    return rc;
}

/* Delivery attempts per peer and outcome, the HSA check, readiness and
 * the process. */
static gw_rc
ops_lines(struct gw_buf *b, struct gw_store *st)
{
    struct gw_stats_peer sp[GW_STATS_MAX_PEERS];
    size_t ns = gw_stats_peers(sp, GW_STATS_MAX_PEERS);
    struct gw_stats_hsa h;
    struct gw_err err;
    gw_rc rc;

    rc = gw_buf_appendf(b, "# HELP klasgw_delivery_attempts_total Delivery "
                           "attempts per peer and outcome (delivered; retry: "
                           "down, timeout, 5xx; refused: a dead letter at "
                           "once).\n"
                           "# TYPE klasgw_delivery_attempts_total counter\n");
    for (size_t i = 0; i < ns && rc == GW_OK; i++)
        for (int k = 0; k < 3 && rc == GW_OK; k++)
            rc = gw_buf_appendf(b,
                                "klasgw_delivery_attempts_total{peer=\"%s\","
                                "outcome=\"%s\"} %lld\n",
                                sp[i].peer, gw_stats_outcome[k],
                                sp[i].attempts[k]);
    gw_stats_hsa_get(&h);
    if (rc == GW_OK)
        rc = histogram_lines(b, "klasgw_hsa_request_duration_seconds",
                             "Calls to HSA (cache misses), answered or not.",
                             gw_stats_hsa_bucket_s, GW_STATS_HSA_NBUCKET,
                             h.bucket, h.sum_us);
    if (rc == GW_OK)
        rc = gw_buf_appendf(
            b,
            "# HELP klasgw_hsa_errors_total Calls to HSA without an answer "
            "(down, timeout, fault, resultCode ERROR): the prescriber "
            "check answered 503.\n"
            "# TYPE klasgw_hsa_errors_total counter\n"
            "klasgw_hsa_errors_total %lld\n"
            "# HELP klasgw_hsa_cache_hits_total Prescriber look-ups answered "
            "from the HSA cache.\n"
            "# TYPE klasgw_hsa_cache_hits_total counter\n"
            "klasgw_hsa_cache_hits_total %lld\n"
            "# HELP klasgw_hsa_cache_misses_total Prescriber look-ups that "
            "called HSA.\n"
            "# TYPE klasgw_hsa_cache_misses_total counter\n"
            "klasgw_hsa_cache_misses_total %lld\n",
            h.errors, h.cache_hits, h.cache_misses);
    gw_err_clear(&err);
    if (rc == GW_OK)
        rc = gw_buf_appendf(b,
                            "# HELP klasgw_ready 1 while the store can "
                            "commit (/healthz/ready answers 200), 0 while it "
                            "cannot (the disk is full, the writer stopped).\n"
                            "# TYPE klasgw_ready gauge\n"
                            "klasgw_ready %d\n",
                            gw_store_ready(st, &err) == GW_OK ? 1 : 0);
    if (rc == GW_OK)
        rc = process_lines(b);
    return rc;
}

/* Seconds; the last bucket is +Inf. */
static const double bucket_s[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                  0.1,   0.25,   0.5,   1.0,  2.5};
#define NBUCKET (sizeof(bucket_s) / sizeof(bucket_s[0]))

static long long requests[GW_ROUTE_N][600];
static long long hist[GW_ROUTE_N][NBUCKET + 1];
static long long sum_us[GW_ROUTE_N];

void
gw_metrics_observe(enum gw_route route, int status, int64_t micros)
{
    size_t b = 0;

    if ((unsigned)route >= GW_ROUTE_N)
        route = GW_ROUTE_OTHER;
    if (status < 100 || status > 599)
        status = 599;
    __atomic_add_fetch(&requests[route][status], 1, __ATOMIC_RELAXED);
    while (b < NBUCKET && micros > (int64_t)(bucket_s[b] * 1e6))
        b++;
    __atomic_add_fetch(&hist[route][b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&sum_us[route], micros, __ATOMIC_RELAXED);
}

enum MHD_Result
gw_http_metrics(struct gw_req *r)
{
    struct gw_store *st = r->h->o.store;
    struct gw_outbox_peer_count peers[32];
    struct gw_store_stats ss;
    static const char *const batch_le[] = {"1", "3", "7", "15", "31", "63",
                                           "127", "+Inf"};
    struct gw_buf b;
    size_t np = 0;
    long long cum;
    gw_rc rc = GW_OK;

    gw_buf_init(&b, 4 << 20);
#define OUT(...)                                                              \
    do {                                                                      \
        if (rc == GW_OK)                                                      \
            rc = gw_buf_appendf(&b, __VA_ARGS__);                             \
    } while (0)
    OUT("# HELP klasgw_http_requests_total HTTP requests by route and "
        "status.\n# TYPE klasgw_http_requests_total counter\n");
    for (int i = 0; i < GW_ROUTE_N; i++)
        for (int s = 100; s < 600; s++) {
            long long v = __atomic_load_n(&requests[i][s], __ATOMIC_RELAXED);
            if (v > 0)
                OUT("klasgw_http_requests_total{route=\"%s\",status=\"%d\"} "
                    "%lld\n",
                    gw_route_label((enum gw_route)i), s, v);
        }
    OUT("# HELP klasgw_http_request_duration_seconds Time to answer, by "
        "route.\n# TYPE klasgw_http_request_duration_seconds histogram\n");
    for (int i = 0; i < GW_ROUTE_N; i++) {
        cum = 0;
        for (size_t k = 0; k <= NBUCKET; k++)
            cum += __atomic_load_n(&hist[i][k], __ATOMIC_RELAXED);
        if (cum == 0)
            continue;
        cum = 0;
        for (size_t k = 0; k <= NBUCKET; k++) {
            cum += __atomic_load_n(&hist[i][k], __ATOMIC_RELAXED);
            if (k < NBUCKET)
                OUT("klasgw_http_request_duration_seconds_bucket{route=\"%s\","
                    "le=\"%g\"} %lld\n",
                    gw_route_label((enum gw_route)i), bucket_s[k], cum);
            else
                OUT("klasgw_http_request_duration_seconds_bucket{route=\"%s\","
                    "le=\"+Inf\"} %lld\n",
                    gw_route_label((enum gw_route)i), cum);
        }
        OUT("klasgw_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
            gw_route_label((enum gw_route)i),
            __atomic_load_n(&sum_us[i], __ATOMIC_RELAXED) / 1e6);
        OUT("klasgw_http_request_duration_seconds_count{route=\"%s\"} %lld\n",
            gw_route_label((enum gw_route)i), cum);
    }
    if (gw_outbox_peer_counts(st, peers, 32, &np) == GW_OK) {
        /* Every configured peer, at zero when it has nothing queued: an
         * absent series cannot be told from a gateway that lost it. */
        np = add_configured_peers(peers, 32, np);
        OUT("# HELP klasgw_outbox_queue_depth Items waiting or in flight, "
            "per peer.\n# TYPE klasgw_outbox_queue_depth gauge\n");
        for (size_t i = 0; i < np; i++)
            OUT("klasgw_outbox_queue_depth{peer=\"%s\"} %lld\n", peers[i].peer,
                peers[i].queued);
        OUT("# HELP klasgw_outbox_dead_letters Items given up on, per peer."
            "\n# TYPE klasgw_outbox_dead_letters gauge\n");
        for (size_t i = 0; i < np; i++)
            OUT("klasgw_outbox_dead_letters{peer=\"%s\"} %lld\n",
                peers[i].peer, peers[i].dead);
        if (rc == GW_OK)
            rc = oldest_lines(&b, st, peers, np);
    }
    if (rc == GW_OK)
        rc = ops_lines(&b, r->h->o.store);
    gw_store_stats(st, &ss);
    OUT("# HELP klasgw_store_commit_batch_size Requests per group commit.\n"
        "# TYPE klasgw_store_commit_batch_size histogram\n");
    cum = 0;
    for (int k = 0; k < 8; k++) {
        cum += ss.batch_hist[k];
        OUT("klasgw_store_commit_batch_size_bucket{le=\"%s\"} %lld\n",
            batch_le[k], cum);
    }
    OUT("klasgw_store_commit_batch_size_sum %lld\n"
        "klasgw_store_commit_batch_size_count %lld\n",
        ss.requests, ss.batches);
    if (rc == GW_OK)
        rc = store_duration_lines(&b, &ss);
    {
        /* The C heap: what the gateway holds (in use) against what malloc
         * holds from the system; RSS growing with in_use flat is free
         * memory malloc cannot give back (fragmentation), not a leak. */
        size_t in_use, held;

        gw_heap_stats(&in_use, &held);
        OUT("# HELP klasgw_heap_bytes The C heap (the allocator): in use, "
            "and held from the system (resident, in use and free).\n"
            "# TYPE klasgw_heap_bytes gauge\n"
            "klasgw_heap_bytes{kind=\"in_use\"} %zu\n"
            "klasgw_heap_bytes{kind=\"held\"} %zu\n",
            in_use, held);
        OUT("# HELP klasgw_store_memory_bytes SQLite's part of the heap "
            "(page caches, 5.5 MiB at most, and statements).\n"
            "# TYPE klasgw_store_memory_bytes gauge\n"
            "klasgw_store_memory_bytes %lld\n",
            gw_store_memory_used());
    }
    if (r->h->o.pipeline != NULL) {
        struct gw_view_cache_stats vc;

        gw_pipeline_cache_stats(r->h->o.pipeline, &vc);
        OUT("# HELP klasgw_view_cache_bytes Heap held by the cache of "
            "rendered case views (bodies, keys, entries), and its bound.\n"
            "# TYPE klasgw_view_cache_bytes gauge\n"
            "klasgw_view_cache_bytes{kind=\"held\"} %zu\n"
            "klasgw_view_cache_bytes{kind=\"limit\"} %zu\n"
            "# HELP klasgw_view_cache_entries Case views in the cache, and "
            "its bound.\n"
            "# TYPE klasgw_view_cache_entries gauge\n"
            "klasgw_view_cache_entries{kind=\"held\"} %zu\n"
            "klasgw_view_cache_entries{kind=\"limit\"} %zu\n",
            vc.bytes, vc.max_bytes, vc.entries, vc.max_entries);
    }
    OUT("# HELP klasgw_certificate_expiry_seconds When each certificate in "
        "use expires (Unix time): the server's, each peer's client "
        "certificate; updated at start and on SIGHUP.\n"
        "# TYPE klasgw_certificate_expiry_seconds gauge\n");
    if (rc == GW_OK) {
        struct expiry_out eo = {&b, GW_OK};
        gw_tls_expiry_each(expiry_line, &eo);
        rc = eo.rc;
    }
#undef OUT
    if (rc != GW_OK) {
        gw_buf_release(&b);
        return gw_http_send(r, 500, NULL, NULL, 0);
    }
    {
        size_t len = b.len;
        char *body = gw_buf_take(&b, &len);
        return gw_http_send(r, 200, "text/plain; version=0.0.4; charset=utf-8",
                            body, len);
    }
}

/*
 * /healthz/live: the process answers HTTP (restart it when it does not).
 * /healthz/ready, and /healthz as before: the store answers and can
 * commit; while it cannot (the disk is full), 503 with Retry-After, so
 * that a load balancer sends submissions elsewhere instead of having them
 * refused. Peers (HSA, LV) are not part of it.
 */
enum MHD_Result
gw_http_health(struct gw_req *r)
{
    struct MHD_Response *resp;
    struct gw_err err;
    const char *why = NULL;
    char *body;
    enum MHD_Result ret;
    int v = 0, n, status;

    body = malloc(160);
    if (body == NULL)
        return MHD_NO;
    gw_err_clear(&err);
    if (strcmp(r->url, "/healthz/live") == 0) {
        status = 200;
        n = snprintf(body, 160, "{\"status\":\"live\"}\n");
    } else {
        v = gw_store_schema_version(r->h->o.store);
        if (v <= 0)
            why = "store unavailable";
        else if (gw_store_ready(r->h->o.store, &err) != GW_OK)
            why = err.rc == GW_ESTORAGEFULL ? "storage full"
                                            : "store cannot commit";
        status = why == NULL ? 200 : 503;
        n = snprintf(body, 160, "{\"status\":\"%s\",\"schema\":%d}\n",
                     why == NULL ? "ok" : why, v);
    }
    resp =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status != 200)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5");
    ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return ret;
}
