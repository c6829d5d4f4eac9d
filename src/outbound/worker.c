/*
 * worker.c - outbox delivery threads (see worker.h).
 *
 * A peer is up or down, per worker (peer_state):
 *
 *   up ── note_failure: DOWN_AFTER transient failures in a row ──► down
 *    ▲                                                               │
 *    └──── note_success / a refusal: the peer answered ──────────────┘
 *          (every pending item of the peer due now: gw_outbox_due_now)
 *
 * While down, next_probe_ms says when one thread may claim one item (the
 * probe, `probing` set); the others sleep until the peer is up.
 */
#include "outbound/worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/random.h"
#include "outbound/stats.h"
#include "sched/retry.h"
#include "store/outbox.h"

/* Logging and up/down state of one peer, so an outage is not a log flood
 * and a peer coming back gets its queue at once. */
struct peer_state {
    const struct gw_peer *peer;
    pthread_mutex_t mu;
    long long failures; /* in a row */
    long long suppressed;
    int64_t last_log_ms;
    int64_t lease_ms;
    int probe;         /* probing enabled for this peer */
    int down, probing; /* see the drawing above */
    int64_t down_since_ms, next_probe_ms;
};

/* Transient failures in a row that make a peer down: one alone may be the
 * item (a poison message), two are the peer. */
#define DOWN_AFTER 2

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
    char owner[96]; /* claimed_by of our leases */
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
note_failure(struct gw_outbox_worker *w, struct peer_state *ps,
             const struct gw_outbox_item *item, const char *why, int dead,
             enum gw_delivery d)
{
    int64_t now = gw_clock_now_ms();

    pthread_mutex_lock(&ps->mu);
    ps->failures++;
    if (d == GW_DELIVERY_RETRY && ps->probe && !ps->down &&
        ps->failures >= DOWN_AFTER) {
        ps->down = 1;
        ps->down_since_ms = now;
        ps->next_probe_ms = now + w->o.probe_interval_ms;
        gw_log_warn("event=peer_down peer=%s probe_every_ms=%lld",
                    ps->peer->name, (long long)w->o.probe_interval_ms);
    } else if (ps->down) {
        ps->next_probe_ms = now + w->o.probe_interval_ms;
    }
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

/* The peer answered (delivered, or refused this one item for good). */
static void
note_answer(struct gw_outbox_worker *w, struct peer_state *ps, int delivered)
{
    int was_down;
    int64_t since;
    long long n = 0;

    pthread_mutex_lock(&ps->mu);
    if (ps->failures > 0 && delivered)
        gw_log_info("event=peer_recovered peer=%s after_failures=%lld",
                    ps->peer->name, ps->failures);
    if (delivered || ps->down) {
        ps->failures = 0;
        ps->suppressed = 0;
    }
    was_down = ps->down;
    since = ps->down_since_ms;
    ps->down = 0;
    pthread_mutex_unlock(&ps->mu);
    if (was_down) {
        /* Everything that waited for the peer goes now, at most
         * per_peer_concurrency at a time (one per thread). */
        gw_rc rc = gw_outbox_due_now(w->st, ps->peer->name, &n);
        if (rc != GW_OK)
            gw_log_err_rc(rc, "event=outbox_release_failed peer=%s",
                          ps->peer->name);
        gw_log_info("event=peer_up peer=%s down_ms=%lld released=%lld",
                    ps->peer->name, (long long)(gw_clock_now_ms() - since), n);
    }
}

static void
deliver(struct gw_outbox_worker *w, struct peer_state *ps,
        struct gw_outbox_item *item, int probe)
{
    char why[200] = "";
    int64_t claimed_ms = gw_clock_now_ms();
    enum gw_delivery d = ps->peer->send(ps->peer->ctx, item, why, sizeof(why));
    gw_rc rc;

    gw_stats_delivery(ps->peer->name, d);

    if (d == GW_DELIVERED) {
        rc = gw_outbox_done(w->st, item->id, w->owner);
        note_answer(w, ps, 1);
        gw_log_debug("event=outbox_delivered peer=%s item=%lld",
                     ps->peer->name, item->id);
    } else if (probe && d == GW_DELIVERY_RETRY &&
               item->next_attempt_ms > claimed_ms) {
        /* A probe before the item's own time: the peer is still down,
         * which is no fault of the item's. */
        rc = gw_outbox_release(w->st, item->id, w->owner,
                               why[0] ? why : "delivery failed");
        note_failure(w, ps, item, why[0] ? why : "delivery failed", 0, d);
    } else {
        int attempts = item->attempts + 1;
        int dead = d == GW_DELIVERY_FAILED || attempts >= w->o.max_attempts;
        int64_t next = gw_clock_now_ms() +
                       gw_retry_delay_ms(attempts, w->o.backoff_base_ms,
                                         w->o.backoff_cap_ms, uniform());
        rc = gw_outbox_fail(w->st, item->id, w->owner, dead, next,
                            why[0] ? why : "delivery failed");
        if (d == GW_DELIVERY_FAILED)
            note_answer(w, ps, 0);
        note_failure(w, ps, item, why[0] ? why : "delivery failed", dead, d);
    }
    if (rc == GW_ENOTFOUND)
        gw_log_err("event=outbox_lease_lost peer=%s item=%lld detail=\"the "
                   "lease expired before the delivery ended: raise "
                   "outbox.lease_s\"",
                   ps->peer->name, item->id);
    else if (rc != GW_OK)
        gw_log_err_rc(rc, "event=outbox_record_failed item=%lld", item->id);
}

/* While the peer is down: 1 and *probe set when this thread may probe
 * now, 0 with *wait_ms to sleep when it may not; 1 with *probe clear when
 * the peer is up. */
static int
may_claim(struct gw_outbox_worker *w, struct peer_state *ps, int *probe,
          int64_t *wait_ms)
{
    int64_t now;
    int go = 1;

    *probe = 0;
    if (!ps->probe)
        return 1;
    pthread_mutex_lock(&ps->mu);
    if (ps->down) {
        now = gw_clock_now_ms();
        if (!ps->probing && now >= ps->next_probe_ms) {
            ps->probing = 1;
            *probe = 1;
        } else {
            go = 0;
            *wait_ms =
                ps->probing ? w->o.probe_interval_ms : ps->next_probe_ms - now;
        }
    }
    pthread_mutex_unlock(&ps->mu);
    return go;
}

static void *
run(void *arg)
{
    struct thread_arg *a = arg;
    struct gw_outbox_worker *w = a->w;
    struct peer_state *ps = a->ps;
    long long seen = 0;

    while (!atomic_load(&w->stopping)) {
        struct gw_outbox_item *item = NULL;
        int64_t wait = w->o.idle_poll_ms, due;
        int probe = 0;
        gw_rc rc;

        if (!may_claim(w, ps, &probe, &wait)) {
            if (wait > w->o.idle_poll_ms)
                wait = w->o.idle_poll_ms;
            (void)gw_outbox_wait(w->st, &seen, wait < 10 ? 10 : wait);
            continue;
        }
        rc = gw_outbox_claim(w->st, ps->peer->name, w->owner, ps->lease_ms,
                             probe, &item);
        if (rc == GW_OK && item != NULL) {
            if (probe)
                gw_log_info("event=peer_probe peer=%s item=%lld",
                            ps->peer->name, item->id);
            deliver(w, ps, item, probe);
            gw_outbox_item_free(item);
            if (probe) {
                pthread_mutex_lock(&ps->mu);
                ps->probing = 0;
                pthread_mutex_unlock(&ps->mu);
            }
            continue;
        }
        if (probe) {
            /* Nothing to probe with: the next item is the probe. */
            pthread_mutex_lock(&ps->mu);
            ps->probing = 0;
            pthread_mutex_unlock(&ps->mu);
        }
        if (rc != GW_OK)
            gw_log_err_rc(rc, "event=outbox_claim_failed peer=%s",
                          ps->peer->name);
        /* Nothing due: sleep until a commit brings work or the next
         * retry (or lease expiry) is due, but never past the idle poll. */
        due = gw_outbox_next_due(w->st, ps->peer->name);
        if (due >= 0) {
            int64_t until = due - gw_clock_now_ms();
            if (until < wait)
                wait = until < 10 ? 10 : until;
        }
        (void)gw_outbox_wait(w->st, &seen, wait);
    }
    if (ps->peer->thread_done != NULL)
        ps->peer->thread_done(ps->peer->ctx);
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
    for (size_t i = 0; i < npeers; i++)
        gw_stats_peer_add(peers[i].name); /* its series from the start */
    w->o.peer_opts = NULL; /* borrowed: read below, not kept */
    if (w->o.per_peer_concurrency < 1)
        w->o.per_peer_concurrency = 1;
    if (w->o.idle_poll_ms <= 0)
        w->o.idle_poll_ms = 1000;
    if (w->o.max_attempts < 1)
        w->o.max_attempts = 1;
    if (w->o.lease_ms <= 0)
        w->o.lease_ms = 60000;
    {
        char host[64] = "host";
        uint32_t r = 0;
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "host");
        host[sizeof(host) - 1] = '\0';
        if (gw_random_bytes(&r, sizeof(r)) != GW_OK)
            r = (uint32_t)gw_clock_now_ms();
        snprintf(w->owner, sizeof(w->owner), "%s:%ld:%08x", host,
                 (long)getpid(), r);
    }
    per = (size_t)w->o.per_peer_concurrency;
    w->peers = calloc(npeers ? npeers : 1, sizeof(*w->peers));
    w->threads = calloc(npeers * per + 1, sizeof(*w->threads));
    w->args = calloc(npeers * per + 1, sizeof(*w->args));
    if (w->peers == NULL || w->threads == NULL || w->args == NULL) {
        gw_outbox_worker_stop(w);
        return GW_ENOMEM;
    }
    for (size_t p = 0; p < npeers; p++) {
        const struct gw_outbox_peer_opts *po =
            opts->peer_opts ? &opts->peer_opts[p] : NULL;
        w->peers[p].peer = &peers[p];
        w->peers[p].lease_ms =
            po && po->lease_ms > 0 ? po->lease_ms : w->o.lease_ms;
        w->peers[p].probe = w->o.probe_interval_ms > 0 && (!po || po->probe);
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
    gw_log_info("event=outbox_worker_start peers=%zu threads=%zu owner=%s",
                w->npeers, w->nthreads, w->owner);
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
