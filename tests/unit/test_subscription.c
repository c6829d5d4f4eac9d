/*
 * test_subscription.c - the store's subscriptions as the Subscriptions
 * Backport IG needs them (store/subscription.h), on SQLite and, run by
 * tests/e2e/test_store_pg.sh with KLASGW_TEST_PG_DSN, on PostgreSQL:
 * an event is numbered once per outbox item (a retry keeps its number),
 * numbers follow each other per subscription, $events reads a range in
 * order and bounded, mark sets status and the last send, and deleting a
 * subscription deletes its events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/subscription.h"
#include "store_fixture.h"

#define GLN "7350000000016"
#define TOPIC "http://klasgw.org/fhir/SubscriptionTopic/decision"

static void
put(struct gw_store *st, const char *id)
{
    struct gw_subscription s;

    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "%s", id);
    snprintf(s.gln, sizeof(s.gln), GLN);
    snprintf(s.endpoint, sizeof(s.endpoint), "https://apotek.example/hook");
    snprintf(s.criteria, sizeof(s.criteria), TOPIC);
    snprintf(s.filter, sizeof(s.filter), "Task?owner.identifier=" GLN);
    snprintf(s.header, sizeof(s.header), "Authorization: Bearer x");
    snprintf(s.status, sizeof(s.status), "requested");
    s.heartbeat_s = 30;
    s.created_ms = 1000;
    assert_int_equal(gw_store_sub_put(st, &s), GW_OK);
}

static void
get(struct gw_store *st, const char *id, struct gw_subscription *out)
{
    struct gw_subscription *subs = NULL;
    size_t n = 0;

    assert_int_equal(gw_store_sub_list(st, id, NULL, &subs, &n), GW_OK);
    assert_int_equal(n, 1);
    *out = subs[0];
    free(subs);
}

static void
test_sub_fields_round_trip(void **state)
{
    struct fixture *f = *state;
    struct gw_subscription s;

    put(f->st, "s1");
    get(f->st, "s1", &s);
    assert_string_equal(s.criteria, TOPIC);
    assert_string_equal(s.filter, "Task?owner.identifier=" GLN);
    assert_string_equal(s.header, "Authorization: Bearer x");
    assert_string_equal(s.status, "requested");
    assert_int_equal(s.heartbeat_s, 30);
    assert_int_equal(s.events, 0);
    assert_int_equal(s.sent_ms, 0);
    assert_int_equal(gw_store_sub_mark(f->st, "s1", "active", NULL, 5000),
                     GW_OK);
    get(f->st, "s1", &s);
    assert_string_equal(s.status, "active");
    assert_int_equal(s.sent_ms, 5000);
    /* Only the time: the status stays. */
    assert_int_equal(gw_store_sub_mark(f->st, "s1", NULL, NULL, 6000), GW_OK);
    get(f->st, "s1", &s);
    assert_string_equal(s.status, "active");
    assert_int_equal(s.sent_ms, 6000);
    assert_int_equal(gw_store_sub_mark(f->st, "s1", "error", "no answer", 0),
                     GW_OK);
    get(f->st, "s1", &s);
    assert_string_equal(s.status, "error");
    assert_string_equal(s.error, "no answer");
    assert_int_equal(s.sent_ms, 6000);
    assert_int_equal(gw_store_sub_mark(f->st, "nope", "active", NULL, 1),
                     GW_ENOTFOUND);
}

static void
test_sub_events_numbered_once(void **state)
{
    struct fixture *f = *state;
    struct gw_sub_event ev, *evs = NULL;
    struct gw_subscription s;
    size_t n = 0;

    put(f->st, "s1");
    put(f->st, "s2");
    assert_int_equal(gw_store_sub_event(f->st, "s1", "m-a", "decision",
                                        "2026000001", &ev),
                     GW_OK);
    assert_int_equal(ev.number, 1);
    assert_int_equal(gw_store_sub_event(f->st, "s1", "m-b", "decision",
                                        "2026000002", &ev),
                     GW_OK);
    assert_int_equal(ev.number, 2);
    /* A retry of the first item: the same number, nothing new. */
    assert_int_equal(gw_store_sub_event(f->st, "s1", "m-a", "decision",
                                        "2026000001", &ev),
                     GW_OK);
    assert_int_equal(ev.number, 1);
    /* Another subscription counts on its own. */
    assert_int_equal(gw_store_sub_event(f->st, "s2", "m-a", "decision",
                                        "2026000001", &ev),
                     GW_OK);
    assert_int_equal(ev.number, 1);
    get(f->st, "s1", &s);
    assert_int_equal(s.events, 2);
    assert_int_equal(gw_store_sub_event(f->st, "gone", "m-a", "decision",
                                        "2026000001", &ev),
                     GW_ENOTFOUND);

    assert_int_equal(gw_store_sub_events(f->st, "s1", 1, INT64_MAX, 100, &evs,
                                         &n),
                     GW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(evs[0].number, 1);
    assert_string_equal(evs[0].refnr, "2026000001");
    assert_string_equal(evs[0].code, "decision");
    assert_int_equal(evs[1].number, 2);
    assert_string_equal(evs[1].refnr, "2026000002");
    free(evs);
    assert_int_equal(gw_store_sub_events(f->st, "s1", 2, 2, 100, &evs, &n),
                     GW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(evs[0].number, 2);
    free(evs);
    /* Bounded: at most max, never more than GW_SUB_EVENTS_MAX. */
    assert_int_equal(gw_store_sub_events(f->st, "s1", 1, INT64_MAX, 1, &evs,
                                         &n),
                     GW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(evs[0].number, 1);
    free(evs);
    /* Deleted: its events go with it. */
    assert_int_equal(gw_store_sub_delete(f->st, "s1", GLN), GW_OK);
    assert_int_equal(gw_store_sub_events(f->st, "s1", 1, INT64_MAX, 100, &evs,
                                         &n),
                     GW_OK);
    assert_int_equal(n, 0);
    free(evs);
    assert_int_equal(gw_store_sub_events(f->st, "s2", 1, INT64_MAX, 100, &evs,
                                         &n),
                     GW_OK);
    assert_int_equal(n, 1);
    free(evs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sub_fields_round_trip,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sub_events_numbered_once,
                                        fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
