/*
 * test_outbox.c - delivery through the outbox worker with a test
 * transport and a frozen clock: delivery, retry with backoff, dead letter
 * after the maximum attempts and on a permanent failure, operator retry,
 * a poison item not blocking the others, the per-peer concurrency cap,
 * leases (opening the store leaves items in flight alone, a live lease
 * cannot be taken, an expired one is taken over, only the holder records
 * the outcome, serve's start-up reclaim takes every lease back, a
 * read-only store cannot write), the order claims take items in (due
 * ones oldest first, expired leases among them by their expiry, an item
 * not due only for a probe), a peer that is down probed with one item
 * and every item released when it is back, and one item per
 * subscription endpoint with a failing subscription put in error without
 * touching the others; and a waiter for outbox work let go when the
 * store closes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "core/clock.h"
#include "outbound/worker.h"
#include "sched/retry.h"
#include "store/outbox.h"
#include "store/store.h"
#include "store/subscription.h"
#include "store/write.h"
#include "store_fixture.h"

struct transport {
    atomic_int calls, inflight, max_inflight;
    atomic_int down;        /* every call fails (retryable) while set */
    atomic_int fail_first;  /* fail this many calls, then deliver */
    int poison_forever;     /* kind "poison" always fails (retryable) */
    int permanent;          /* every failure is permanent */
    int sleep_us;
};

static enum gw_delivery
send_fn(void *ctx, const struct gw_outbox_item *item, char *why, size_t n)
{
    struct transport *t = ctx;
    int now = atomic_fetch_add(&t->inflight, 1) + 1;
    enum gw_delivery d = GW_DELIVERED;

    for (int m = atomic_load(&t->max_inflight);
         now > m && !atomic_compare_exchange_weak(&t->max_inflight, &m, now);)
        ;
    atomic_fetch_add(&t->calls, 1);
    if (t->sleep_us)
        usleep((useconds_t)t->sleep_us);
    if (atomic_load(&t->down)) {
        snprintf(why, n, "connection refused");
        d = GW_DELIVERY_RETRY;
    } else if (t->poison_forever && strcmp(item->kind, "poison") == 0) {
        snprintf(why, n, "peer answered 500");
        d = GW_DELIVERY_RETRY;
    } else if (atomic_fetch_sub(&t->fail_first, 1) > 0) {
        snprintf(why, n, "connection refused");
        d = t->permanent ? GW_DELIVERY_FAILED : GW_DELIVERY_RETRY;
    }
    atomic_fetch_sub(&t->inflight, 1);
    return d;
}

static void
enqueue(struct gw_store *st, const char *msgid, const char *kind)
{
    struct gw_store_write w;
    struct gw_store_result r;
    struct gw_store_outbox_new o = {msgid, "lv", kind, "<payload/>", 10, NULL};

    memset(&w, 0, sizeof(w));
    w.op = GW_STORE_OP_NONE;
    w.outbox = &o;
    w.noutbox = 1;
    assert_int_equal(gw_store_write(st, &w, &r), GW_OK);
    gw_store_result_release(&r);
}

/* Waits (real time, bounded) until the outbox has `want` items in state
 * index idx (0 pending, 1 inflight, 2 done, 3 dead). */
static int
wait_count(struct gw_store *st, int idx, long long want)
{
    long long c[4];

    for (int i = 0; i < 1000; i++) {
        if (gw_outbox_counts(st, c) == GW_OK && c[idx] == want)
            return 1;
        usleep(5000);
    }
    return 0;
}

/*
 * A failed assertion leaves the test function at once (cmocka longjmps
 * out of it), past its stop(): the worker's threads would go on running
 * on a store that teardown then closes and frees, and would read the
 * transport and the peer from the test's dead stack frame. Under load a
 * bounded wait can fail so (slow PostgreSQL commits); what followed was
 * a crash or a run hung until ctest's 600 s timeout, hiding the failure.
 * So the worker of the running test is stopped by teardown when the test
 * did not, and the transport and the peer it borrows are static.
 */
static struct gw_outbox_worker *running;
static struct transport transport;
static struct gw_peer lv_peer = {"lv", send_fn, &transport, NULL};

static struct transport *
transport_reset(void)
{
    memset(&transport, 0, sizeof(transport));
    return &transport;
}

static void
stop(struct gw_outbox_worker *w)
{
    gw_outbox_worker_stop(w);
    if (w == running)
        running = NULL;
}

static int
outbox_teardown(void **state)
{
    if (running != NULL) {
        gw_outbox_worker_stop(running);
        running = NULL;
    }
    return fixture_teardown(state);
}

static struct gw_outbox_worker *
start(struct gw_store *st, struct gw_peer *peer, int max_attempts, int conc)
{
    struct gw_outbox_worker_opts o = {max_attempts, 1000, 8000, conc,
                                      10,           0,    0,    NULL};
    struct gw_outbox_worker *w;

    assert_int_equal(gw_outbox_worker_start(st, peer, 1, &o, &w), GW_OK);
    running = w;
    return w;
}

static void
test_outbox_delivers_everything_once(void **state)
{
    struct fixture *f = *state;
    struct transport *t = transport_reset();
    struct gw_peer *peer = &lv_peer;
    struct gw_outbox_worker *w;
    char id[32];

    gw_clock_set_ms(1700000000000LL);
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "m-%d", i);
        enqueue(f->st, id, "apply");
    }
    w = start(f->st, peer, 5, 2);
    assert_true(wait_count(f->st, 2, 20));
    stop(w);
    assert_int_equal(atomic_load(&t->calls), 20);
    gw_clock_reset();
}

static void
test_outbox_retries_with_backoff_then_delivers(void **state)
{
    struct fixture *f = *state;
    struct transport *t = transport_reset();
    struct gw_peer *peer = &lv_peer;
    struct gw_outbox_worker *w;
    struct gw_outbox_info info;
    struct gw_outbox_info *items;
    size_t n;

    atomic_store(&t->fail_first, 2);
    gw_clock_set_ms(1700000000000LL);
    enqueue(f->st, "m-retry", "apply");
    w = start(f->st, peer, 5, 1);
    /* First attempt fails: pending again, not due before 500 ms. */
    for (int i = 0; i < 400 && atomic_load(&t->calls) < 1; i++)
        usleep(5000);
    assert_true(wait_count(f->st, 0, 1));
    assert_int_equal(gw_outbox_list(f->st, NULL, 10, &items, &n), GW_OK);
    assert_int_equal(n, 1);
    info = items[0];
    free(items);
    assert_int_equal(info.attempts, 1);
    assert_string_equal(info.last_error, "connection refused");
    assert_true(info.next_attempt_ms >= 1700000000000LL + 500);
    assert_true(info.next_attempt_ms <= 1700000000000LL + 1000);
    usleep(50000);
    assert_int_equal(atomic_load(&t->calls), 1); /* the clock has not moved */

    gw_clock_advance_ms(1000); /* second attempt due, fails */
    for (int i = 0; i < 400 && atomic_load(&t->calls) < 2; i++)
        usleep(5000);
    assert_true(wait_count(f->st, 0, 1));
    gw_clock_advance_ms(2000); /* third attempt delivers */
    assert_true(wait_count(f->st, 2, 1));
    stop(w);
    assert_int_equal(atomic_load(&t->calls), 3);
    gw_clock_reset();
}

static void
test_outbox_dead_letter_after_max_attempts_and_operator_retry(void **state)
{
    struct fixture *f = *state;
    struct transport *t = transport_reset();
    struct gw_peer *peer = &lv_peer;
    struct gw_outbox_worker *w;
    struct gw_outbox_info *items;
    size_t n;

    atomic_store(&t->fail_first, 3);
    gw_clock_set_ms(1700000000000LL);
    enqueue(f->st, "m-dead", "apply");
    w = start(f->st, peer, 3, 1);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 400 && atomic_load(&t->calls) < k + 1; i++)
            usleep(5000);
        gw_clock_advance_ms(10000);
    }
    assert_true(wait_count(f->st, 3, 1));
    assert_int_equal(gw_outbox_list(f->st, "dead", 10, &items, &n), GW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].attempts, 3);
    /* An operator puts it back; the peer works now. */
    assert_int_equal(gw_outbox_retry(f->st, items[0].id), GW_OK);
    assert_true(wait_count(f->st, 2, 1));
    assert_int_equal(gw_outbox_retry(f->st, items[0].id), GW_ENOTFOUND);
    free(items);
    stop(w);
    gw_clock_reset();
}

static void
test_outbox_permanent_failure_is_dead_at_once(void **state)
{
    struct fixture *f = *state;
    struct transport *t = transport_reset();
    struct gw_peer *peer = &lv_peer;
    struct gw_outbox_worker *w;

    atomic_store(&t->fail_first, 1);
    t->permanent = 1;
    enqueue(f->st, "m-perm", "apply");
    w = start(f->st, peer, 10, 1);
    assert_true(wait_count(f->st, 3, 1));
    stop(w);
    assert_int_equal(atomic_load(&t->calls), 1);
}

static void
test_outbox_poison_item_does_not_block_others(void **state)
{
    struct fixture *f = *state;
    struct transport *t = transport_reset();
    struct gw_peer *peer = &lv_peer;
    struct gw_outbox_worker *w;
    char id[32];

    t->poison_forever = 1;
    enqueue(f->st, "m-poison", "poison");
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "m-after-%d", i);
        enqueue(f->st, id, "apply");
    }
    w = start(f->st, peer, 1000, 1); /* one thread: order matters */
    assert_true(wait_count(f->st, 2, 10));
    stop(w);
}

static void
test_outbox_per_peer_concurrency_is_capped(void **state)
{
    struct fixture *f = *state;
    struct transport *t = transport_reset();
    struct gw_peer *peer = &lv_peer;
    struct gw_outbox_worker *w;
    char id[32];

    t->sleep_us = 20000;
    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof(id), "m-cap-%d", i);
        enqueue(f->st, id, "apply");
    }
    w = start(f->st, peer, 5, 3);
    assert_true(wait_count(f->st, 2, 12));
    stop(w);
    assert_true(atomic_load(&t->max_inflight) <= 3);
    assert_true(atomic_load(&t->max_inflight) >= 2);
}

static struct gw_outbox_item *
claim(struct gw_store *st, const char *owner, int64_t lease_ms)
{
    struct gw_outbox_item *item = NULL;

    assert_int_equal(gw_outbox_claim(st, "lv", owner, lease_ms, 0, &item),
                     GW_OK);
    return item;
}

static void
test_outbox_reopen_leaves_inflight_to_its_lease(void **state)
{
    struct fixture *f = *state;
    struct gw_outbox_item *item;
    struct gw_outbox_info info;
    struct gw_err err;
    long long c[4];

    gw_clock_set_ms(1700000000000LL);
    enqueue(f->st, "m-crash", "apply");
    item = claim(f->st, "host:1:a", 10000);
    assert_non_null(item);
    assert_string_equal(item->message_id, "m-crash");
    assert_string_equal(item->payload, "<payload/>");
    /* The process dies here: no done, no fail. Opening the store (a CLI
     * command, a restart) must not put the item back. */
    gw_store_close(f->st);
    assert_int_equal(fixture_open(f, &err), GW_OK);
    assert_int_equal(gw_outbox_counts(f->st, c), GW_OK);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1], 1);
    assert_int_equal(gw_outbox_show(f->st, item->id, &info), GW_OK);
    assert_string_equal(info.claimed_by, "host:1:a");
    assert_int_equal(info.claimed_until, 1700000000000LL + 10000);
    /* Another worker cannot take a live lease ... */
    assert_null(claim(f->st, "host:2:b", 10000));
    gw_clock_advance_ms(9999);
    assert_null(claim(f->st, "host:2:b", 10000));
    /* ... but takes it over once it has expired. */
    gw_clock_advance_ms(2);
    {
        struct gw_outbox_item *again = claim(f->st, "host:2:b", 10000);
        assert_non_null(again);
        assert_int_equal(again->id, item->id);
        assert_string_equal(again->message_id, "m-crash");
        gw_outbox_item_free(again);
    }
    /* The old holder, were it alive, records nothing any more. */
    assert_int_equal(gw_outbox_done(f->st, item->id, "host:1:a"), GW_ENOTFOUND);
    assert_int_equal(
        gw_outbox_fail(f->st, item->id, "host:1:a", 0, gw_clock_now_ms(), "x"),
        GW_ENOTFOUND);
    assert_int_equal(gw_outbox_done(f->st, item->id, "host:2:b"), GW_OK);
    assert_int_equal(gw_outbox_counts(f->st, c), GW_OK);
    assert_int_equal(c[2], 1);
    gw_outbox_item_free(item);
    gw_clock_reset();
}

static void
test_outbox_worker_takes_over_expired_lease(void **state)
{
    struct fixture *f = *state;
    struct transport *t = transport_reset();
    struct gw_peer *peer = &lv_peer;
    struct gw_outbox_worker *w;
    struct gw_outbox_item *item;

    gw_clock_set_ms(1700000000000LL);
    enqueue(f->st, "m-orphan", "apply");
    item = claim(f->st, "dead-host:1:x", 5000); /* then that worker dies */
    assert_non_null(item);
    gw_outbox_item_free(item);
    w = start(f->st, peer, 5, 2);
    usleep(100000);
    assert_int_equal(atomic_load(&t->calls), 0); /* the lease is live */
    gw_clock_advance_ms(5001);
    assert_true(wait_count(f->st, 2, 1));
    stop(w);
    assert_int_equal(atomic_load(&t->calls), 1);
    gw_clock_reset();
}

/* serve with the store's lock: every lease back at once, whatever its
 * expiry; items pending, done or dead untouched, the cut delivery not
 * counted as an attempt, and the old holder records nothing. */
static void
test_outbox_reclaim_all_takes_back_live_leases(void **state)
{
    struct fixture *f = *state;
    struct gw_outbox_item *a, *b, *d;
    struct gw_outbox_info info;
    long long c[4], n = -1;

    /* PostgreSQL is shared by several nodes: no one process knows every
     * lease holder is dead, so reclaim_all takes nothing back there and
     * leases expire instead (test_outbox_reopen_leaves_inflight_...). */
    if (fixture_pg_dsn() != NULL) {
        assert_int_equal(gw_outbox_reclaim_all(f->st, &n), GW_OK);
        assert_int_equal(n, 0);
        return;
    }
    gw_clock_set_ms(1700000000000LL);
    enqueue(f->st, "m-done", "apply");
    enqueue(f->st, "m-a", "apply");
    enqueue(f->st, "m-b", "apply");
    enqueue(f->st, "m-pending", "apply");
    d = claim(f->st, "host:1:a", 600000);
    a = claim(f->st, "host:1:a", 600000);
    b = claim(f->st, "host:1:a", 600000);
    assert_non_null(d);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(d->message_id, "m-done");
    assert_string_equal(b->message_id, "m-b");
    assert_int_equal(gw_outbox_done(f->st, d->id, "host:1:a"), GW_OK);
    assert_int_equal(gw_outbox_reclaim_all(f->st, &n), GW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(gw_outbox_counts(f->st, c), GW_OK);
    assert_int_equal(c[0], 3);
    assert_int_equal(c[1], 0);
    assert_int_equal(c[2], 1);
    assert_int_equal(gw_outbox_show(f->st, a->id, &info), GW_OK);
    assert_string_equal(info.state, "pending");
    assert_string_equal(info.claimed_by, "");
    assert_int_equal(info.attempts, 0);
    /* Due at once, long before the 600 s lease would have lapsed. */
    gw_clock_advance_ms(1);
    {
        struct gw_outbox_item *again = claim(f->st, "host:2:b", 600000);
        assert_non_null(again);
        gw_outbox_item_free(again);
    }
    assert_int_equal(gw_outbox_done(f->st, b->id, "host:1:a"), GW_ENOTFOUND);
    assert_int_equal(gw_outbox_reclaim_all(f->st, &n), GW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(gw_outbox_reclaim_all(f->st, &n), GW_OK);
    assert_int_equal(n, 0);
    gw_outbox_item_free(a);
    gw_outbox_item_free(b);
    gw_outbox_item_free(d);
    gw_clock_reset();
}

/* The message id of the item `owner` claims now (probe as given), ""
 * when there is nothing to take; *id (unless NULL) its id. */
static const char *
claim_id(struct gw_store *st, const char *owner, int64_t lease_ms, int probe,
         long long *id)
{
    static char msgid[160];
    struct gw_outbox_item *item = NULL;

    assert_int_equal(gw_outbox_claim(st, "lv", owner, lease_ms, probe, &item),
                     GW_OK);
    msgid[0] = '\0';
    if (item != NULL) {
        snprintf(msgid, sizeof(msgid), "%s", item->message_id);
        if (id != NULL)
            *id = item->id;
    }
    gw_outbox_item_free(item);
    return msgid;
}

/* The claim's order, over the two halves it merges: due pending items by
 * (next_attempt_ms, id), expired leases by (claimed_until, id), the
 * earlier of the two first, ties by id; an item not due yet only for a
 * probe; a live lease never. */
static void
test_outbox_claim_takes_due_and_expired_oldest_first(void **state)
{
    struct fixture *f = *state;
    const int64_t t0 = 1700000000000LL;
    long long c_id = 0;

    gw_clock_set_ms(t0);
    enqueue(f->st, "m-a", "apply"); /* due at t0 */
    gw_clock_set_ms(t0 + 1);
    enqueue(f->st, "m-b", "apply"); /* b and c due at t0 + 1: by id */
    enqueue(f->st, "m-c", "apply");
    gw_clock_set_ms(t0 + 3);
    enqueue(f->st, "m-d", "apply"); /* due at t0 + 3 */
    assert_string_equal(claim_id(f->st, "host:1:a", 5, 0, NULL), "m-a");
    assert_string_equal(claim_id(f->st, "host:1:a", 600000, 0, NULL), "m-b");
    assert_string_equal(claim_id(f->st, "host:1:a", 600000, 0, &c_id), "m-c");
    /* c failed: pending again, due in a minute */
    assert_int_equal(gw_outbox_fail(f->st, c_id, "host:1:a", 0, t0 + 60000, "x"),
                     GW_OK);
    /* a's lease (until t0 + 8) has expired, b's runs until t0 + 600003,
     * d is due since t0 + 3, c at t0 + 60000: d was due before a's lease
     * lapsed, so d first, then a taken over. */
    gw_clock_set_ms(t0 + 10);
    assert_string_equal(claim_id(f->st, "host:2:b", 600000, 0, NULL), "m-d");
    assert_string_equal(claim_id(f->st, "host:2:b", 600000, 0, NULL), "m-a");
    /* b's lease is live and c is not due: nothing, but for a probe. */
    assert_string_equal(claim_id(f->st, "host:2:b", 600000, 0, NULL), "");
    assert_string_equal(claim_id(f->st, "host:2:b", 600000, 1, NULL), "m-c");
    assert_string_equal(claim_id(f->st, "host:2:b", 600000, 1, NULL), "");
    /* An item due when b's lease lapses: b first, by id. */
    gw_clock_set_ms(t0 + 600003);
    enqueue(f->st, "m-e", "apply");
    gw_clock_set_ms(t0 + 600004);
    assert_string_equal(claim_id(f->st, "host:3:c", 600000, 0, NULL), "m-b");
    assert_string_equal(claim_id(f->st, "host:3:c", 600000, 0, NULL), "m-e");
    gw_clock_reset();
}

/* A worker waits for its own peer's next item: another peer's due items
 * or leases are not its business (an idle LV worker that saw the
 * pharmacy's backlog polled every 10 ms and starved the pharmacy's claims:
 * R1 with 100 kills, 4,632 notifications left after 120 s). */
static void
test_outbox_next_due_is_per_peer(void **state)
{
    struct fixture *f = *state;
    struct gw_outbox_item *it;

    gw_clock_set_ms(1700000000000LL);
    assert_true(gw_outbox_next_due(f->st, "lv") == -1);
    enqueue(f->st, "m-due", "apply");
    assert_true(gw_outbox_next_due(f->st, "lv") == 1700000000000LL);
    assert_true(gw_outbox_next_due(f->st, "pharmacy") == -1);
    it = claim(f->st, "host:1:a", 600000);
    assert_non_null(it);
    /* in flight: due when its lease lapses, for its own peer only */
    assert_true(gw_outbox_next_due(f->st, "lv") == 1700000000000LL + 600000);
    assert_true(gw_outbox_next_due(f->st, "pharmacy") == -1);
    gw_outbox_item_free(it);
    gw_clock_reset();
}

static void
test_outbox_read_only_store_cannot_write(void **state)
{
    struct fixture *f = *state;
    struct gw_store_opts o = {2, 0, 0, 0, 1, f->opts.backend, f->opts.dsn};
    struct gw_store *ro;
    struct gw_outbox_item *item = NULL;
    struct gw_outbox_info *items;
    struct gw_err err;
    size_t n;

    enqueue(f->st, "m-ro", "apply");
    item = claim(f->st, "host:1:a", 60000);
    assert_non_null(item);
    gw_err_clear(&err);
    assert_int_equal(gw_store_open(f->path, &o, &ro, &err), GW_OK);
    /* It sees the item in flight, with its holder ... */
    assert_int_equal(gw_outbox_list(ro, "inflight", 10, &items, &n), GW_OK);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].claimed_by, "host:1:a");
    free(items);
    /* ... and can change nothing. */
    assert_int_not_equal(gw_outbox_retry(ro, item->id), GW_OK);
    assert_int_not_equal(gw_outbox_done(ro, item->id, "host:1:a"), GW_OK);
    {
        struct gw_outbox_item *other = NULL;
        assert_int_not_equal(
            gw_outbox_claim(ro, "lv", "host:2:b", 1000, 1, &other), GW_OK);
        assert_null(other);
    }
    gw_store_close(ro);
    /* A missing database is an error, not a new file (SQLite: a file;
     * PostgreSQL never creates a database). */
    if (fixture_pg_dsn() == NULL) {
        char path[160];
        snprintf(path, sizeof(path), "%s/nope.db", f->dir);
        assert_int_not_equal(gw_store_open(path, &o, &ro, &err), GW_OK);
        assert_int_not_equal(access(path, F_OK), 0);
    }
    assert_int_equal(gw_outbox_done(f->st, item->id, "host:1:a"), GW_OK);
    gw_outbox_item_free(item);
}

static void
test_outbox_peer_down_is_probed_then_released_at_once(void **state)
{
    struct fixture *f = *state;
    struct transport *t = transport_reset();
    struct gw_peer *peer = &lv_peer;
    struct gw_outbox_worker_opts o = {1000, 1000, 600000, 3, 10, 0, 2000, NULL};
    struct gw_outbox_worker *w;
    struct gw_outbox_info *items;
    long long c[4];
    int calls;
    char id[32];
    size_t n;

    gw_clock_set_ms(1700000000000LL);
    atomic_store(&t->down, 1);
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "m-down-%d", i);
        enqueue(f->st, id, "apply");
    }
    t->sleep_us = 2000;
    assert_int_equal(gw_outbox_worker_start(f->st, peer, 1, &o, &w), GW_OK);
    running = w;
    /* The first failures make the peer down; then nothing is tried while
     * the (frozen) clock stands still. */
    for (int i = 0; i < 400 && atomic_load(&t->calls) < 2; i++)
        usleep(5000);
    usleep(200000);
    calls = atomic_load(&t->calls);
    assert_true(calls >= 2 && calls < 10);
    usleep(100000);
    assert_int_equal(atomic_load(&t->calls), calls);
    /* Every probe interval: exactly one item, the probe. */
    for (int k = 1; k <= 3; k++) {
        gw_clock_advance_ms(2000);
        for (int i = 0; i < 400 && atomic_load(&t->calls) < calls + k; i++)
            usleep(5000);
        usleep(100000);
        assert_int_equal(atomic_load(&t->calls), calls + k);
    }
    /* The peer is back: the next probe gets through and everything waiting
     * goes at once (the clock stays frozen: no backoff has run out), never
     * more than the concurrency cap at a time. */
    atomic_store(&t->down, 0);
    gw_clock_advance_ms(2000);
    assert_true(wait_count(f->st, 2, 10));
    stop(w);
    assert_true(atomic_load(&t->max_inflight) <= 3);
    assert_int_equal(gw_outbox_counts(f->st, c), GW_OK);
    assert_int_equal(c[3], 0);
    /* Early probes did not count as attempts: nobody came close to dying. */
    assert_int_equal(gw_outbox_list(f->st, NULL, 20, &items, &n), GW_OK);
    for (size_t i = 0; i < n; i++)
        assert_true(items[i].attempts <= 2);
    free(items);
    gw_clock_reset();
}

static void
sub_add(struct gw_store *st, const char *id, const char *gln,
        const char *status)
{
    struct gw_subscription s;

    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "%s", id);
    snprintf(s.gln, sizeof(s.gln), "%s", gln);
    snprintf(s.endpoint, sizeof(s.endpoint), "http://127.0.0.1:9/%s", id);
    snprintf(s.status, sizeof(s.status), "%s", status);
    s.created_ms = gw_clock_now_ms();
    assert_int_equal(gw_store_sub_put(st, &s), GW_OK);
}

static void
notify(struct gw_store *st, const char *msgid, const char *gln)
{
    struct gw_store_write w;
    struct gw_store_result r;
    const char *p = "{\"gln\":\"x\",\"event\":\"decision\"}";
    struct gw_store_outbox_new o = {msgid, "pharmacy", "notify",
                                    p,     strlen(p),  gln};

    memset(&w, 0, sizeof(w));
    w.op = GW_STORE_OP_NONE;
    w.outbox = &o;
    w.noutbox = 1;
    assert_int_equal(gw_store_write(st, &w, &r), GW_OK);
    gw_store_result_release(&r);
}

static void
test_outbox_notification_is_one_item_per_subscription(void **state)
{
    struct fixture *f = *state;
    struct gw_outbox_info *items;
    size_t n;

    gw_clock_set_ms(1700000000000LL);
    sub_add(f->st, "sub-a", "7350000000016", "active");
    gw_clock_advance_ms(1);
    sub_add(f->st, "sub-b", "7350000000016", "active");
    /* One in error still counts its events (the Backport IG), one that
     * awaits its handshake gets them once active: both get their item. */
    sub_add(f->st, "sub-c-error", "7350000000016", "error");
    sub_add(f->st, "sub-d-requested", "7350000000016", "requested");
    sub_add(f->st, "sub-other", "7350000000023", "active");
    notify(f->st, "ev-1", "7350000000016");
    notify(f->st, "ev-none", "7350000000030"); /* no subscription: none */
    assert_int_equal(gw_outbox_list(f->st, NULL, 20, &items, &n), GW_OK);
    assert_int_equal(n, 4);
    /* Newest first. */
    assert_string_equal(items[3].message_id, "ev-1:sub-a");
    assert_string_equal(items[3].target, "sub-a");
    assert_string_equal(items[2].message_id, "ev-1:sub-b");
    assert_string_equal(items[2].target, "sub-b");
    assert_string_equal(items[2].peer, "pharmacy");
    assert_string_equal(items[1].target, "sub-c-error");
    assert_string_equal(items[0].target, "sub-d-requested");
    free(items);
    gw_clock_reset();
}

/* A pharmacy may register as many subscriptions as it likes (the
 * Subscription profile sets no bound): a notification reaches every one of
 * them. The writer used to read at most 100 and drop the rest unsaid. */
static void
test_outbox_notification_reaches_every_subscription(void **state)
{
    struct fixture *f = *state;
    struct gw_outbox_info *items;
    enum { NSUB = 150 };
    char id[40], want[64];
    size_t n;

    gw_clock_set_ms(1700000000000LL);
    for (int i = 0; i < NSUB; i++) {
        snprintf(id, sizeof(id), "sub-%03d", i);
        sub_add(f->st, id, "7350000000016", "active");
        gw_clock_advance_ms(1);
    }
    notify(f->st, "ev-many", "7350000000016");
    assert_int_equal(gw_outbox_list(f->st, NULL, 4 * NSUB, &items, &n), GW_OK);
    assert_int_equal(n, NSUB);
    /* Newest first; subscriptions oldest first: item k is sub NSUB-1-k. */
    for (size_t k = 0; k < n; k++) {
        snprintf(want, sizeof(want), "sub-%03d", (int)(NSUB - 1 - k));
        assert_string_equal(items[k].target, want);
    }
    free(items);
    gw_clock_reset();
}

/* The ids the pipeline makes (sha256 of the idempotency key + ":notify")
 * and a Subscription's uuid make a 108-byte message id: it reaches the
 * listing and the claimed item whole. Cut at 79 bytes, every notification
 * carried another id than its item (receivers dedupe by it). */
static void
test_outbox_long_message_ids_stay_whole(void **state)
{
    struct fixture *f = *state;
    struct gw_outbox_info *items;
    struct gw_outbox_item *item;
    char ev[80], want[160];
    const char *sub = "c00bb34c-a9b4-499c-bd04-d825d4ca069f";
    size_t n;

    gw_clock_set_ms(1700000000000LL);
    for (int i = 0; i < 64; i++)
        ev[i] = "0123456789abcdef"[(i * 7) % 16];
    snprintf(ev + 64, sizeof(ev) - 64, ":notify");
    snprintf(want, sizeof(want), "%s:%s", ev, sub);
    assert_int_equal(strlen(want), 108);
    sub_add(f->st, sub, "7350000000016", "active");
    notify(f->st, ev, "7350000000016");
    assert_int_equal(gw_outbox_list(f->st, NULL, 20, &items, &n), GW_OK);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].message_id, want);
    free(items);
    item = NULL;
    assert_int_equal(
        gw_outbox_claim(f->st, "pharmacy", "host:1:a", 10000, 0, &item), GW_OK);
    assert_non_null(item);
    assert_string_equal(item->message_id, want);
    gw_outbox_item_free(item);
    gw_clock_reset();
}

static void
test_outbox_failing_subscription_goes_to_error_alone(void **state)
{
    struct fixture *f = *state;
    struct gw_subscription *subs;
    struct gw_outbox_info *items;
    int in_error = -1;
    size_t n;

    sub_add(f->st, "sub-bad", "7350000000016", "active");
    sub_add(f->st, "sub-good", "7350000000016", "active");
    struct gw_outbox_item *item = NULL;

    notify(f->st, "ev-1", "7350000000016");
    notify(f->st, "ev-2", "7350000000016");
    /* The first try of ev-1 to sub-bad failed: it waits ten minutes. */
    assert_int_equal(
        gw_outbox_claim(f->st, "pharmacy", "host:1:a", 10000, 0, &item), GW_OK);
    assert_non_null(item);
    assert_string_equal(item->message_id, "ev-1:sub-bad");
    assert_int_equal(gw_outbox_fail(f->st, item->id, "host:1:a", 0,
                                    gw_clock_now_ms() + 600000, "HTTP 503"),
                     GW_OK);
    gw_outbox_item_free(item);
    /* Two transient failures of three allowed: still active. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gw_store_sub_note(f->st, "sub-bad", 0, 0, 3,
                                           "peer answered HTTP 503", &in_error),
                         GW_OK);
        assert_int_equal(in_error, 0);
    }
    /* A success in between starts the count again. */
    assert_int_equal(
        gw_store_sub_note(f->st, "sub-bad", 1, 0, 3, NULL, &in_error), GW_OK);
    assert_int_equal(gw_store_sub_list(f->st, "sub-bad", NULL, &subs, &n),
                     GW_OK);
    assert_int_equal(subs[0].failures, 0);
    free(subs);
    /* A refusal (401) puts it in error at once, and its waiting items are
     * due at once, the one that waited too: each is to be numbered for
     * $events and then be a dead letter (outbound/pharmacy.c). The good
     * subscription's items are untouched. */
    assert_int_equal(gw_store_sub_note(f->st, "sub-bad", 0, 1, 3,
                                       "peer answered HTTP 401", &in_error),
                     GW_OK);
    assert_int_equal(in_error, 1);
    assert_int_equal(gw_store_sub_list(f->st, NULL, "7350000000016", &subs, &n),
                     GW_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(subs[i].id, "sub-bad") == 0) {
            assert_string_equal(subs[i].status, "error");
            assert_string_equal(subs[i].error, "peer answered HTTP 401");
        } else {
            assert_string_equal(subs[i].status, "active");
        }
    }
    free(subs);
    assert_int_equal(gw_outbox_list(f->st, NULL, 20, &items, &n), GW_OK);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        int bad = strcmp(items[i].target, "sub-bad") == 0;
        assert_string_equal(items[i].state, "pending");
        if (bad && (items[i].next_attempt_ms > gw_clock_now_ms() ||
                    strcmp(items[i].last_error,
                           "subscription in error: peer answered HTTP 401")))
            fail_msg("%s: due at %lld, %s", items[i].message_id,
                     (long long)items[i].next_attempt_ms, items[i].last_error);
        if (!bad && items[i].last_error[0] != '\0')
            fail_msg("%s: %s", items[i].message_id, items[i].last_error);
    }
    free(items);
    /* New events go to both: the one in error counts them too. */
    notify(f->st, "ev-3", "7350000000016");
    assert_int_equal(gw_outbox_list(f->st, "pending", 20, &items, &n), GW_OK);
    assert_int_equal(n, 6);
    free(items);
    assert_int_equal(gw_store_sub_note(f->st, "gone", 0, 1, 3, "x", NULL),
                     GW_ENOTFOUND);
}

static void
test_retry_delay_grows_caps_and_jitters(void **state)
{
    static const struct {
        int attempts;
        double r;
        int64_t want;
    } cases[] = {
        {1, 0.0, 500}, {1, 0.999999, 999}, {2, 0.0, 1000}, {3, 0.5, 3000},
        {4, 0.0, 4000}, {5, 0.0, 5000}, {60, 0.0, 5000}, {1000, 0.999, 9995},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t d = gw_retry_delay_ms(cases[i].attempts, 1000, 10000,
                                      cases[i].r);
        if (d != cases[i].want)
            fail_msg("attempts %d r %f: %lld, want %lld", cases[i].attempts,
                     cases[i].r, (long long)d, (long long)cases[i].want);
    }
}

/* A thread waiting for outbox work when the store closes leaves at once
 * (GW_EUNAVAILABLE), and the close waits for it before it tears the
 * condition variable down. PostgreSQL's close did not wake it, SQLite's
 * woke it into another wait: either close hung until the wait's timeout
 * and destroyed what the waiter was still to lock. */
struct waiter {
    struct gw_store *st;
    long long seen;
    gw_rc rc;
};

static void *
wait_main(void *arg)
{
    struct waiter *w = arg;

    w->rc = gw_outbox_wait(w->st, &w->seen, 20000);
    return NULL;
}

static void
test_outbox_close_ends_a_waiter(void **state)
{
    struct fixture *f = *state;
    struct waiter w = {f->st, 0, GW_OK};
    pthread_t t;
    int64_t t0;

    /* Catch up with the generation, so the next wait sleeps (on
     * PostgreSQL the listener wakes waiters once it listens). */
    while (gw_outbox_wait(f->st, &w.seen, 100) == GW_OK)
        ;
    assert_int_equal(pthread_create(&t, NULL, wait_main, &w), 0);
    usleep(200 * 1000); /* it is asleep in the wait by now */
    t0 = gw_clock_mono_ms();
    gw_store_close(f->st);
    f->st = NULL;
    pthread_join(t, NULL);
    if (gw_clock_mono_ms() - t0 > 5000)
        fail_msg("close took %lld ms with a waiter",
                 (long long)(gw_clock_mono_ms() - t0));
    assert_int_equal(w.rc, GW_EUNAVAILABLE);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, outbox_teardown)
    const struct CMUnitTest tests[] = {
        T(test_outbox_delivers_everything_once),
        T(test_outbox_retries_with_backoff_then_delivers),
        T(test_outbox_dead_letter_after_max_attempts_and_operator_retry),
        T(test_outbox_permanent_failure_is_dead_at_once),
        T(test_outbox_poison_item_does_not_block_others),
        T(test_outbox_per_peer_concurrency_is_capped),
        T(test_outbox_reopen_leaves_inflight_to_its_lease),
        T(test_outbox_worker_takes_over_expired_lease),
        T(test_outbox_reclaim_all_takes_back_live_leases),
        T(test_outbox_claim_takes_due_and_expired_oldest_first),
        T(test_outbox_next_due_is_per_peer),
        T(test_outbox_read_only_store_cannot_write),
        T(test_outbox_peer_down_is_probed_then_released_at_once),
        T(test_outbox_notification_is_one_item_per_subscription),
        T(test_outbox_notification_reaches_every_subscription),
        T(test_outbox_failing_subscription_goes_to_error_alone),
        T(test_outbox_long_message_ids_stay_whole),
        T(test_outbox_close_ends_a_waiter),
        cmocka_unit_test(test_retry_delay_grows_caps_and_jitters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
