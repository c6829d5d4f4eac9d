/*
 * test_lv.c - how a reply from LV decides the fate of an outbox item
 * (gw_lv_classify, no I/O): only OK/INFO is delivered; TECHNICAL_ERROR,
 * every fault (also inside HTTP 200), timeouts, connection failures and
 * HTTP errors are retried; VALIDATION_ERROR and APPLICATION_ERROR are dead
 * letters at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "outbound/lv.h"

struct classify_case {
    const char *name;
    struct gw_lv_reply r;
    enum gw_delivery want;
    const char *why; /* substring of the reason */
};

/* answered, fault, timeout, http, result, errorCode */
static const struct classify_case cases[] = {
    {"OK",
     {1, 0, 0, 200, GW_LV_OK, GW_LV_NO_ERROR_ID},
     GW_DELIVERED,
     "registered"},
    {"INFO",
     {1, 0, 0, 200, GW_LV_INFO, GW_LV_NO_ERROR_ID},
     GW_DELIVERED,
     "registered"},
    {"TECHNICAL_ERROR",
     {1, 0, 0, 200, GW_LV_ERROR, GW_LV_TECHNICAL_ERROR},
     GW_DELIVERY_RETRY,
     "TECHNICAL_ERROR"},
    {"INVALID_REQUEST",
     {1, 0, 0, 200, GW_LV_ERROR, GW_LV_VALIDATION_ERROR},
     GW_DELIVERY_FAILED,
     "INVALID_REQUEST"},
    {"APPLICATION_ERROR",
     {1, 0, 0, 200, GW_LV_ERROR, GW_LV_APPLICATION_ERROR},
     GW_DELIVERY_FAILED,
     "APPLICATION_ERROR"},
    {"ERROR without errorCode",
     {1, 0, 0, 200, GW_LV_ERROR, GW_LV_NO_ERROR_ID},
     GW_DELIVERY_FAILED,
     "without errorCode"},
    {"no result element",
     {1, 0, 0, 200, GW_LV_NO_RESULT, GW_LV_NO_ERROR_ID},
     GW_DELIVERY_RETRY,
     "without a result"},
    {"SOAP fault in HTTP 500",
     {0, 1, 0, 500, GW_LV_NO_RESULT, -1},
     GW_DELIVERY_RETRY,
     "HTTP 500"},
    {"SOAP fault in HTTP 200",
     {0, 1, 0, 200, GW_LV_NO_RESULT, -1},
     GW_DELIVERY_RETRY,
     "HTTP 200"},
    {"timeout",
     {0, 0, 1, 0, GW_LV_NO_RESULT, -1},
     GW_DELIVERY_RETRY,
     "in time"},
    {"connection refused",
     {0, 0, 0, 0, GW_LV_NO_RESULT, -1},
     GW_DELIVERY_RETRY,
     "reached"},
    {"HTTP 503 without SOAP",
     {0, 0, 0, 503, GW_LV_NO_RESULT, -1},
     GW_DELIVERY_RETRY,
     "HTTP 503"},
    {"HTTP 404 (wrong endpoint)",
     {0, 0, 0, 404, GW_LV_NO_RESULT, -1},
     GW_DELIVERY_RETRY,
     "HTTP 404"},
};

static void
test_lv_classify_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[128] = "";
        enum gw_delivery d = gw_lv_classify(&cases[i].r, why, sizeof(why));
        if (d != cases[i].want || strstr(why, cases[i].why) == NULL) {
            print_error("case '%s': got %d (%s)\n", cases[i].name, (int)d, why);
            fail();
        }
    }
}

static void
test_lv_classify_reason_fits_small_buffers(void **state)
{
    struct gw_lv_reply r = {1, 0, 0, 200, GW_LV_ERROR, GW_LV_APPLICATION_ERROR};
    char why[8];

    (void)state;
    assert_int_equal(gw_lv_classify(&r, why, sizeof(why)), GW_DELIVERY_FAILED);
    assert_int_equal(strlen(why), sizeof(why) - 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lv_classify_table),
        cmocka_unit_test(test_lv_classify_reason_fits_small_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
