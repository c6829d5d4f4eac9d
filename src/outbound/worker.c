/*
 * worker.c - outbox delivery threads (see worker.h).
 */
#include "outbound/worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/random.h"
#include "sched/clock.h"
#include "sched/retry.h"

/* Logging state of one peer, so an outage is not a log flood. */
struct peer_state {
    const struct gw_peer *peer;
    pthread_mutex_t mu;
    long long failures; /* in a row */
    long long suppressed;
    int64_t last_log_ms;
};

struct thread_arg {
    struct gw_outbox_worker *w;
    struct peer_state *ps;
};

struct gw_outbox_worker {
    struct gw_store *st;
    struct gw_outbox_worker_opts o;
    struct peer_state *peers;
    size_t npeers;
    pthread_t *threads;
    struct thread_arg *args;
    size_t nthreads;
    atomic_int stopping;
};

#define LOG_EVERY_MS 60000

static double
uniform(void)
{
    uint32_t r = 0;

    if (gw_random_bytes(&r, sizeof(r)) != GW_OK)
        return 0.5;
    return (double)r / 4294967296.0;
}

static void
note_failure(struct peer_state *ps, const struct gw_outbox_item *item,
             const char *why, int dead)
{
    int64_t now = gw_clock_now_ms();

    pthread_mutex_lock(&ps->mu);
    ps->failures++;
    if (dead) {
        gw_log_err("event=outbox_dead_letter peer=%s item=%lld "
                   "message_id=%s attempts=%d why=%s",
                   ps->peer->name, item->id, item->message_id,
                   item->attempts + 1, gw_log_quote(why));
    } else if (ps->failures == 1 || now - ps->last_log_ms >= LOG_EVERY_MS) {
        gw_log_warn("event=outbox_delivery_failed peer=%s item=%lld "
                    "failures_in_row=%lld suppressed=%lld why=%s",
                    ps->peer->name, item->id, ps->failures, ps->suppressed,
                    gw_log_quote(why));
        ps->last_log_ms = now;
        ps->suppressed = 0;
    } else {
        ps->suppressed++;
    }
    pthread_mutex_unlock(&ps->mu);
}

static void
note_success(struct peer_state *ps)
{
    pthread_mutex_lock(&ps->mu);
    if (ps->failures > 0)
        gw_log_info("event=peer_recovered peer=%s after_failures=%lld",
                    ps->peer->name, ps->failures);
    ps->failures = 0;
    ps->suppressed = 0;
    pthread_mutex_unlock(&ps->mu);
}

static void
deliver(struct gw_outbox_worker *w, struct peer_state *ps,
        struct gw_outbox_item *item)
{
    char why[200] = "";
    enum gw_delivery d = ps->peer->send(ps->peer->ctx, item, why, sizeof(why));
    gw_rc rc;

    if (d == GW_DELIVERED) {
        rc = gw_outbox_done(w->st, item->id);
        note_success(ps);
        gw_log_debug("event=outbox_delivered peer=%s item=%lld",
                     ps->peer->name, item->id);
    } else {
        int attempts = item->attempts + 1;
        int dead = d == GW_DELIVERY_FAILED || attempts >= w->o.max_attempts;
        int64_t next = gw_clock_now_ms() +
                       gw_retry_delay_ms(attempts, w->o.backoff_base_ms,
                                         w->o.backoff_cap_ms, uniform());
        rc = gw_outbox_fail(w->st, item->id, dead, next,
                            why[0] ? why : "delivery failed");
        note_failure(ps, item, why[0] ? why : "delivery failed", dead);
    }
    if (rc != GW_OK)
        gw_log_err_rc(rc, "event=outbox_record_failed item=%lld", item->id);
}

static void *
run(void *arg)
{
    struct thread_arg *a = arg;
    struct gw_outbox_worker *w = a->w;
    long long seen = 0;

    while (!atomic_load(&w->stopping)) {
        struct gw_outbox_item *item = NULL;
        gw_rc rc = gw_outbox_claim(w->st, a->ps->peer->name, &item);

        if (rc == GW_OK && item != NULL) {
            deliver(w, a->ps, item);
            gw_outbox_item_free(item);
            continue;
        }
        if (rc != GW_OK)
            gw_log_err_rc(rc, "event=outbox_claim_failed peer=%s",
                          a->ps->peer->name);
        /* Nothing due: sleep until a commit brings work or the next
         * retry is due, but never past the idle poll. */
        int64_t wait = w->o.idle_poll_ms, due = gw_outbox_next_due(w->st);
        if (due >= 0) {
            int64_t until = due - gw_clock_now_ms();
            if (until < wait)
                wait = until < 10 ? 10 : until;
        }
        (void)gw_outbox_wait(w->st, &seen, wait);
    }
    if (a->ps->peer->thread_done != NULL)
        a->ps->peer->thread_done(a->ps->peer->ctx);
    return NULL;
}

gw_rc
gw_outbox_worker_start(struct gw_store *st, const struct gw_peer *peers,
                       size_t npeers, const struct gw_outbox_worker_opts *opts,
                       struct gw_outbox_worker **out)
{
    struct gw_outbox_worker *w = calloc(1, sizeof(*w));
    size_t per;

    *out = NULL;
    if (w == NULL)
        return GW_ENOMEM;
    w->st = st;
    w->o = *opts;
    if (w->o.per_peer_concurrency < 1)
        w->o.per_peer_concurrency = 1;
    if (w->o.idle_poll_ms <= 0)
        w->o.idle_poll_ms = 1000;
    if (w->o.max_attempts < 1)
        w->o.max_attempts = 1;
    per = (size_t)w->o.per_peer_concurrency;
    w->peers = calloc(npeers ? npeers : 1, sizeof(*w->peers));
    w->threads = calloc(npeers * per + 1, sizeof(*w->threads));
    w->args = calloc(npeers * per + 1, sizeof(*w->args));
    if (w->peers == NULL || w->threads == NULL || w->args == NULL) {
        gw_outbox_worker_stop(w);
        return GW_ENOMEM;
    }
    for (size_t p = 0; p < npeers; p++) {
        w->peers[p].peer = &peers[p];
        pthread_mutex_init(&w->peers[p].mu, NULL);
        w->npeers++;
        for (size_t k = 0; k < per; k++) {
            struct thread_arg *a = &w->args[w->nthreads];
            a->w = w;
            a->ps = &w->peers[p];
            if (pthread_create(&w->threads[w->nthreads], NULL, run, a) != 0) {
                gw_outbox_worker_stop(w);
                return GW_EINTERNAL;
            }
            w->nthreads++;
        }
    }
    gw_log_info("event=outbox_worker_start peers=%zu threads=%zu", w->npeers,
                w->nthreads);
    *out = w;
    return GW_OK;
}

void
gw_outbox_worker_stop(struct gw_outbox_worker *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stopping, 1);
    gw_outbox_wake(w->st);
    for (size_t i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    for (size_t p = 0; p < w->npeers; p++)
        pthread_mutex_destroy(&w->peers[p].mu);
    free(w->threads);
    free(w->args);
    free(w->peers);
    free(w);
}
