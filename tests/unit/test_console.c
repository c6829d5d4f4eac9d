/*
 * test_console.c - the operator console's pieces without a browser: the
 * HTML escaper, the form reader, the CSRF token, the language choice
 * (http/console.c), the refusal counts (pipeline/refusals.c) and the
 * store's console reads and discard (store/console.c) on a real store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/clock.h"
#include "http/console.h"
#include "pipeline/refusals.h"
#include "store/audit_log.h"
#include "store/console.h"
#include "store/outbox.h"
#include "store/write.h"
#include "store_fixture.h"
#include "validate/outcome.h"

static void
test_console_escape_covers_markup_and_quotes(void **state)
{
    static const struct {
        const char *name, *in, *out;
    } cases[] = {
        {"plain", "lv", "lv"},
        {"empty", "", ""},
        {"element", "<script>x</script>", "&lt;script&gt;x&lt;/script&gt;"},
        {"attribute", "\" onmouseover='a'", "&quot; onmouseover=&#39;a&#39;"},
        {"ampersand", "a&b&amp;", "a&amp;b&amp;amp;"},
        {"utf-8 kept", "Läkemedelsverket – ö", "Läkemedelsverket – ö"},
    };
    struct gw_buf b;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_buf_init(&b, 1024);
        assert_int_equal(gw_html_escape(&b, cases[i].in), GW_OK);
        assert_non_null(b.data);
        if (strcmp(b.data, cases[i].out) != 0)
            fail_msg("%s: '%s', wanted '%s'", cases[i].name, b.data,
                     cases[i].out);
        gw_buf_release(&b);
    }
    gw_buf_init(&b, 1024);
    assert_int_equal(gw_html_escape(&b, NULL), GW_OK);
    assert_int_equal(b.len, 0);
    gw_buf_release(&b);
    /* Over the buffer's cap: an error, not a cut page. */
    gw_buf_init(&b, 8);
    assert_int_not_equal(gw_html_escape(&b, "<<<<<<"), GW_OK);
    gw_buf_release(&b);
}

static void
test_console_form_field_takes_tokens_only(void **state)
{
    static const struct {
        const char *name, *body, *field;
        int found;
        const char *value;
    } cases[] = {
        {"first", "csrf=ab12&lang=en", "csrf", 1, "ab12"},
        {"last", "csrf=ab12&lang=en", "lang", 1, "en"},
        {"absent", "csrf=ab12", "lang", 0, ""},
        {"prefix of a name", "csrfx=ab12", "csrf", 0, ""},
        {"empty value", "csrf=&lang=en", "csrf", 0, ""},
        {"encoded", "csrf=a%20b", "csrf", 0, ""},
        {"plus", "csrf=a+b", "csrf", 0, ""},
        {"markup", "lang=<en>", "lang", 0, ""},
        {"too long", "lang=abcdefghij", "lang", 0, ""},
        {"no equals", "csrf&lang=sv", "lang", 1, "sv"},
    };
    char out[8];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int found = gw_console_form_field(cases[i].body, strlen(cases[i].body),
                                          cases[i].field, out, sizeof(out));
        if (found != cases[i].found || strcmp(out, cases[i].value) != 0)
            fail_msg("%s: found %d '%s', wanted %d '%s'", cases[i].name, found,
                     out, cases[i].found, cases[i].value);
    }
}

static void
test_console_csrf_is_bound_to_the_caller(void **state)
{
    char a[65], b[65], c[65];

    (void)state;
    assert_int_equal(gw_console_csrf("ops", NULL, a), GW_OK);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(gw_console_csrf("ops", NULL, b), GW_OK);
    assert_string_equal(a, b); /* stable within the process */
    assert_true(gw_console_csrf_ok("ops", NULL, a));
    assert_int_equal(gw_console_csrf("ops2", NULL, c), GW_OK);
    assert_string_not_equal(a, c);
    assert_false(gw_console_csrf_ok("ops2", NULL, a));
    assert_int_equal(gw_console_csrf("ops", "SE2321000016-DOC1", c), GW_OK);
    assert_string_not_equal(a, c);
    assert_false(gw_console_csrf_ok("ops", "SE2321000016-DOC1", a));
    assert_false(gw_console_csrf_ok("ops", NULL, NULL));
    assert_false(gw_console_csrf_ok("ops", NULL, ""));
    a[63] = a[63] == '0' ? '1' : '0';
    assert_false(gw_console_csrf_ok("ops", NULL, a));
}

static void
test_console_lang_from_param_then_header(void **state)
{
    static const struct {
        const char *name, *param, *header, *want;
    } cases[] = {
        {"nothing", NULL, NULL, "sv"},
        {"param en", "en", "sv", "en"},
        {"param sv", "sv", "en", "sv"},
        {"unknown param", "de", "en-GB,en;q=0.8", "en"},
        {"header en first", NULL, "en-US,sv;q=0.5", "en"},
        {"header sv first", NULL, "sv-SE, en;q=0.9", "sv"},
        {"other languages first", NULL, "de-DE,fr;q=0.9,en;q=0.5", "en"},
        {"none known", NULL, "de,fr", "sv"},
        {"english refused", NULL, "en;q=0, sv", "sv"},
        {"not a prefix", NULL, "eno,svx", "sv"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = gw_console_lang(cases[i].param, cases[i].header);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: %s, wanted %s", cases[i].name, got, cases[i].want);
    }
}

static long long
count_of(const char *rule)
{
    struct gw_refusal_count c[GW_REFUSALS_MAX];
    size_t n = gw_refusals_get(c, GW_REFUSALS_MAX);

    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].rule, rule) == 0)
            return c[i].n;
    return 0;
}

static void
test_refusals_count_rules_once_per_refusal(void **state)
{
    struct gw_outcome o;
    char rule[32];

    (void)state;
    gw_refusals_reset();
    gw_outcome_init(&o);
    assert_int_equal(gw_outcome_add(&o, GW_SEV_ERROR, "value",
                                    "klas-pnr-checksum", "Patient.identifier",
                                    "sv", "en"),
                     GW_OK);
    assert_int_equal(gw_outcome_add(&o, GW_SEV_ERROR, "value",
                                    "klas-pnr-checksum", "Patient.identifier",
                                    "sv", "en"),
                     GW_OK);
    assert_int_equal(gw_outcome_add(&o, GW_SEV_WARNING, "value",
                                    "klas-warning-only", "Task", "sv", "en"),
                     GW_OK);
    gw_refusals_count(GW_EVALIDATION, &o);
    gw_refusals_count(GW_EVALIDATION, &o);
    gw_refusals_count(GW_EFORBIDDEN, NULL);
    assert_int_equal(count_of("klas-pnr-checksum"), 2);
    assert_int_equal(count_of("klas-warning-only"), 0);
    assert_int_equal(count_of("EFORBIDDEN"), 1);
    assert_int_equal(count_of("EVALIDATION"), 0);
    gw_outcome_release(&o);
    /* The table never grows past its size, whatever arrives. */
    for (int i = 0; i < 3 * GW_REFUSALS_MAX; i++) {
        gw_outcome_init(&o);
        snprintf(rule, sizeof(rule), "rule-%d<x>", i);
        assert_int_equal(
            gw_outcome_add(&o, GW_SEV_ERROR, "value", rule, "X", "sv", "en"),
            GW_OK);
        gw_refusals_count(GW_EVALIDATION, &o);
        gw_outcome_release(&o);
    }
    {
        struct gw_refusal_count c[2 * GW_REFUSALS_MAX];
        size_t n = gw_refusals_get(c, 2 * GW_REFUSALS_MAX);
        long long total = 0;
        assert_true(n <= GW_REFUSALS_MAX);
        for (size_t i = 0; i < n; i++) {
            assert_null(strchr(c[i].rule, '<')); /* cleaned */
            total += c[i].n;
        }
        assert_int_equal(total, 3 + 3 * GW_REFUSALS_MAX);
        assert_true(count_of(GW_REFUSALS_OTHER) > 0);
        assert_int_equal(count_of("rule-0_x_"), 1);
    }
    gw_refusals_reset();
}

/* --- the store's part ---------------------------------------------------- */

static void
put_item(struct gw_store *st, const char *msgid, const char *peer)
{
    struct gw_store_write w;
    struct gw_store_result r;
    struct gw_store_outbox_new o = {msgid,  peer, "application",
                                    "<p/>", 4,    NULL};

    memset(&w, 0, sizeof(w));
    w.op = GW_STORE_OP_NONE;
    w.outbox = &o;
    w.noutbox = 1;
    assert_int_equal(gw_store_write(st, &w, &r), GW_OK);
    gw_store_result_release(&r);
}

/* Claims the next item of peer and records a permanent failure. */
static long long
kill_next(struct gw_store *st, const char *peer)
{
    struct gw_outbox_item *it = NULL;
    long long id;

    assert_int_equal(gw_outbox_claim(st, peer, "t:1", 60000, 0, &it), GW_OK);
    assert_non_null(it);
    id = it->id;
    assert_int_equal(gw_outbox_fail(st, id, "t:1", 1, 0, "peer answered 400"),
                     GW_OK);
    gw_outbox_item_free(it);
    return id;
}

static void
test_console_store_peers_dead_and_discard(void **state)
{
    struct fixture *f = *state;
    static const char *const known[] = {"lv", "pharmacy"};
    struct gw_console_peer p[GW_CONSOLE_MAX_PEERS];
    struct gw_console_dead d[GW_CONSOLE_MAX_DEAD];
    struct gw_console_audit h0, h1;
    struct gw_outbox_item *it = NULL;
    char peer[32];
    size_t n;
    long long dead1, dead2;

    gw_clock_set_ms(1767225600000LL); /* 2026-01-01 */
    put_item(f->st, "m1", "lv");
    put_item(f->st, "m2", "lv");
    put_item(f->st, "m3", "lv");
    put_item(f->st, "m4", "webhook-x");
    dead1 = kill_next(f->st, "lv");
    gw_clock_advance_ms(1000);
    dead2 = kill_next(f->st, "lv");
    /* m3 delivered. */
    assert_int_equal(gw_outbox_claim(f->st, "lv", "t:1", 60000, 0, &it), GW_OK);
    assert_non_null(it);
    assert_int_equal(gw_outbox_done(f->st, it->id, "t:1"), GW_OK);
    gw_outbox_item_free(it);

    assert_int_equal(gw_console_peers(f->st, known, 2, p, 16, &n), GW_OK);
    assert_int_equal(n, 3);
    assert_string_equal(p[0].peer, "lv");
    assert_int_equal(p[0].dead, 2);
    assert_int_equal(p[0].pending, 0);
    assert_true(p[0].last_ok_ms > 0);
    assert_true(p[0].last_fail_ms > 0);
    assert_string_equal(p[1].peer, "pharmacy"); /* known, nothing queued */
    assert_int_equal(p[1].pending + p[1].dead + p[1].inflight, 0);
    assert_string_equal(p[2].peer, "webhook-x");
    assert_int_equal(p[2].pending, 1);
    assert_int_equal(p[2].oldest_pending_ms, 1767225600000LL);

    assert_int_equal(gw_console_dead_letters(f->st, d, 100, &n), GW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(d[0].id, dead2); /* newest first */
    assert_int_equal(d[1].id, dead1);
    assert_string_equal(d[0].last_error, "peer answered 400");

    assert_int_equal(gw_console_audit_head(f->st, &h0), GW_OK);
    assert_int_equal(
        gw_console_discard(f->st, dead1, "ops", NULL, peer, sizeof(peer)),
        GW_OK);
    assert_string_equal(peer, "lv");
    /* Gone, with its audit record in the chain. */
    assert_int_equal(gw_console_discard(f->st, dead1, "ops", NULL, NULL, 0),
                     GW_ENOTFOUND);
    assert_int_equal(gw_console_audit_head(f->st, &h1), GW_OK);
    assert_int_equal(h1.seq, h0.seq + 1);
    {
        long long cnt = 0;
        struct gw_err err;
        gw_err_clear(&err);
        assert_int_equal(gw_store_audit_verify(f->st, &cnt, &err), GW_OK);
        assert_int_equal(cnt, h1.seq);
    }
    /* Only dead letters: a pending item is not discarded. */
    assert_int_equal(gw_outbox_retry(f->st, dead2), GW_OK);
    assert_int_equal(gw_console_discard(f->st, dead2, "ops", NULL, NULL, 0),
                     GW_ENOTFOUND);
    assert_int_equal(gw_console_dead_letters(f->st, d, 100, &n), GW_OK);
    assert_int_equal(n, 0);
    gw_clock_reset();
}

static void
test_console_store_counts_on_an_empty_store(void **state)
{
    struct fixture *f = *state;
    struct gw_console_count c[16];
    struct gw_console_audit h;
    int64_t hsa = -1;
    size_t n = 99;

    assert_int_equal(gw_console_cases_by_status(f->st, c, 16, &n), GW_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gw_console_cases_by_day(f->st, 0, c, 16, &n), GW_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gw_console_hsa_last_answer(f->st, &hsa), GW_OK);
    assert_int_equal(hsa, 0);
    assert_int_equal(gw_console_audit_head(f->st, &h), GW_OK);
    assert_int_equal(h.seq, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_escape_covers_markup_and_quotes),
        cmocka_unit_test(test_console_form_field_takes_tokens_only),
        cmocka_unit_test(test_console_csrf_is_bound_to_the_caller),
        cmocka_unit_test(test_console_lang_from_param_then_header),
        cmocka_unit_test(test_refusals_count_rules_once_per_refusal),
        cmocka_unit_test_setup_teardown(
            test_console_store_peers_dead_and_discard, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_console_store_counts_on_an_empty_store, fixture_setup,
            fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
