/*
 * test_outbox.c - delivery through the outbox worker with a test
 * transport and a frozen clock: delivery, retry with backoff, dead letter
 * after the maximum attempts and on a permanent failure, operator retry,
 * a poison item not blocking the others, the per-peer concurrency cap, and
 * items in flight at a crash coming back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "outbound/worker.h"
#include "sched/clock.h"
#include "sched/retry.h"
#include "store_fixture.h"

struct transport {
    atomic_int calls, inflight, max_inflight;
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
    if (t->poison_forever && strcmp(item->kind, "poison") == 0) {
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
    struct gw_store_outbox_new o = {msgid, "lv", kind, "<payload/>", 10};

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

static struct gw_outbox_worker *
start(struct gw_store *st, struct gw_peer *peer, int max_attempts, int conc)
{
    struct gw_outbox_worker_opts o = {max_attempts, 1000, 8000, conc, 10};
    struct gw_outbox_worker *w;

    assert_int_equal(gw_outbox_worker_start(st, peer, 1, &o, &w), GW_OK);
    return w;
}

static void
test_outbox_delivers_everything_once(void **state)
{
    struct fixture *f = *state;
    struct transport t = {0};
    struct gw_peer peer = {"lv", send_fn, &t, NULL};
    struct gw_outbox_worker *w;
    char id[32];

    gw_clock_set_ms(1700000000000LL);
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "m-%d", i);
        enqueue(f->st, id, "apply");
    }
    w = start(f->st, &peer, 5, 2);
    assert_true(wait_count(f->st, 2, 20));
    gw_outbox_worker_stop(w);
    assert_int_equal(atomic_load(&t.calls), 20);
    gw_clock_reset();
}

static void
test_outbox_retries_with_backoff_then_delivers(void **state)
{
    struct fixture *f = *state;
    struct transport t = {0};
    struct gw_peer peer = {"lv", send_fn, &t, NULL};
    struct gw_outbox_worker *w;
    struct gw_outbox_info info;
    struct gw_outbox_info *items;
    size_t n;

    atomic_store(&t.fail_first, 2);
    gw_clock_set_ms(1700000000000LL);
    enqueue(f->st, "m-retry", "apply");
    w = start(f->st, &peer, 5, 1);
    /* First attempt fails: pending again, not due before 500 ms. */
    for (int i = 0; i < 400 && atomic_load(&t.calls) < 1; i++)
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
    assert_int_equal(atomic_load(&t.calls), 1); /* the clock has not moved */

    gw_clock_advance_ms(1000); /* second attempt due, fails */
    for (int i = 0; i < 400 && atomic_load(&t.calls) < 2; i++)
        usleep(5000);
    assert_true(wait_count(f->st, 0, 1));
    gw_clock_advance_ms(2000); /* third attempt delivers */
    assert_true(wait_count(f->st, 2, 1));
    gw_outbox_worker_stop(w);
    assert_int_equal(atomic_load(&t.calls), 3);
    gw_clock_reset();
}

static void
test_outbox_dead_letter_after_max_attempts_and_operator_retry(void **state)
{
    struct fixture *f = *state;
    struct transport t = {0};
    struct gw_peer peer = {"lv", send_fn, &t, NULL};
    struct gw_outbox_worker *w;
    struct gw_outbox_info *items;
    size_t n;

    atomic_store(&t.fail_first, 3);
    gw_clock_set_ms(1700000000000LL);
    enqueue(f->st, "m-dead", "apply");
    w = start(f->st, &peer, 3, 1);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 400 && atomic_load(&t.calls) < k + 1; i++)
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
    gw_outbox_worker_stop(w);
    gw_clock_reset();
}

static void
test_outbox_permanent_failure_is_dead_at_once(void **state)
{
    struct fixture *f = *state;
    struct transport t = {0};
    struct gw_peer peer = {"lv", send_fn, &t, NULL};
    struct gw_outbox_worker *w;

    atomic_store(&t.fail_first, 1);
    t.permanent = 1;
    enqueue(f->st, "m-perm", "apply");
    w = start(f->st, &peer, 10, 1);
    assert_true(wait_count(f->st, 3, 1));
    gw_outbox_worker_stop(w);
    assert_int_equal(atomic_load(&t.calls), 1);
}

static void
test_outbox_poison_item_does_not_block_others(void **state)
{
    struct fixture *f = *state;
    struct transport t = {0};
    struct gw_peer peer = {"lv", send_fn, &t, NULL};
    struct gw_outbox_worker *w;
    char id[32];

    t.poison_forever = 1;
    enqueue(f->st, "m-poison", "poison");
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "m-after-%d", i);
        enqueue(f->st, id, "apply");
    }
    w = start(f->st, &peer, 1000, 1); /* one thread: order matters */
    assert_true(wait_count(f->st, 2, 10));
    gw_outbox_worker_stop(w);
}

static void
test_outbox_per_peer_concurrency_is_capped(void **state)
{
    struct fixture *f = *state;
    struct transport t = {0};
    struct gw_peer peer = {"lv", send_fn, &t, NULL};
    struct gw_outbox_worker *w;
    char id[32];

    t.sleep_us = 20000;
    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof(id), "m-cap-%d", i);
        enqueue(f->st, id, "apply");
    }
    w = start(f->st, &peer, 5, 3);
    assert_true(wait_count(f->st, 2, 12));
    gw_outbox_worker_stop(w);
    assert_true(atomic_load(&t.max_inflight) <= 3);
    assert_true(atomic_load(&t.max_inflight) >= 2);
}

static void
test_outbox_inflight_at_crash_is_pending_after_reopen(void **state)
{
    struct fixture *f = *state;
    struct gw_outbox_item *item;
    struct gw_err err;
    long long c[4];

    enqueue(f->st, "m-crash", "apply");
    assert_int_equal(gw_outbox_claim(f->st, "lv", &item), GW_OK);
    assert_non_null(item);
    assert_string_equal(item->message_id, "m-crash");
    assert_string_equal(item->payload, "<payload/>");
    gw_outbox_item_free(item);
    /* Claimed once: a second claim finds nothing. */
    assert_int_equal(gw_outbox_claim(f->st, "lv", &item), GW_OK);
    assert_null(item);
    gw_store_close(f->st);
    assert_int_equal(gw_store_open(f->path, NULL, &f->st, &err), GW_OK);
    assert_int_equal(gw_outbox_counts(f->st, c), GW_OK);
    assert_int_equal(c[0], 1);
    assert_int_equal(c[1], 0);
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

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_outbox_delivers_everything_once),
        T(test_outbox_retries_with_backoff_then_delivers),
        T(test_outbox_dead_letter_after_max_attempts_and_operator_retry),
        T(test_outbox_permanent_failure_is_dead_at_once),
        T(test_outbox_poison_item_does_not_block_others),
        T(test_outbox_per_peer_concurrency_is_capped),
        T(test_outbox_inflight_at_crash_is_pending_after_reopen),
        cmocka_unit_test(test_retry_delay_grows_caps_and_jitters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
