/*
 * test_core.c - the error table, the capped buffer, log quoting, the
 * file reader and the name tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/file.h"
#include "core/log.h"
#include "core/names.h"
#include "core/words.h"

static void
test_err_table_rows_are_complete_and_consistent(void **state)
{
    static const struct {
        gw_rc rc;
        int http;
        const char *fhir, *riv;
    } cases[] = {
        {GW_OK, 200, "informational", ""},
        {GW_EVALIDATION, 422, "invariant", "INVALID_REQUEST"},
        {GW_ETOOLARGE, 413, "too-long", "INVALID_REQUEST"},
        {GW_EMEDIATYPE, 415, "not-supported", "INVALID_REQUEST"},
        {GW_EFORBIDDEN, 403, "forbidden", "APPLICATION_ERROR"},
        {GW_EUNAUTH, 401, "login", "APPLICATION_ERROR"},
        {GW_ENOTFOUND, 404, "not-found", "APPLICATION_ERROR"},
        {GW_EPRECONDITION, 412, "conflict", "APPLICATION_ERROR"},
        {GW_EUNAVAILABLE, 503, "transient", "TECHNICAL_ERROR"},
        {GW_ESTORE, 500, "exception", "TECHNICAL_ERROR"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(gw_rc_http_status(cases[i].rc), cases[i].http);
        assert_string_equal(gw_rc_fhir_code(cases[i].rc), cases[i].fhir);
        assert_string_equal(gw_rc_riv_error_id(cases[i].rc), cases[i].riv);
        assert_true(strlen(gw_rc_message(cases[i].rc)) > 0);
        assert_true(strlen(gw_rc_message_sv(cases[i].rc)) > 0);
    }
    assert_string_equal(gw_rc_message_sv(GW_EVALIDATION),
                        "Ett eller flera obligatoriska fält saknas eller är "
                        "felaktigt ifyllda");
    /* Only technical errors are worth resending. */
    assert_true(gw_rc_is_retryable(GW_EUNAVAILABLE));
    assert_false(gw_rc_is_retryable(GW_EVALIDATION));
    assert_false(gw_rc_is_retryable(GW_ECONFLICT));
    /* Unknown codes fall back to the internal error row. */
    assert_string_equal(gw_rc_name((gw_rc)-9999), "EINTERNAL");
    /* Every row's RIV-TA errorCode is one the SOAP contracts allow
     * (core ErrorCodeEnum), or a SOAP answer would break its schema. */
    for (int v = -1; v >= -200; v--) {
        const char *riv = gw_rc_riv_error_id((gw_rc)v);
        assert_true(strcmp(riv, "INVALID_REQUEST") == 0 ||
                    strcmp(riv, "TRANSFORMATION_ERROR") == 0 ||
                    strcmp(riv, "APPLICATION_ERROR") == 0 ||
                    strcmp(riv, "TECHNICAL_ERROR") == 0);
    }
}

static void
test_err_set_formats_and_tolerates_null(void **state)
{
    struct gw_err err;
    (void)state;
    gw_err_clear(&err);
    assert_int_equal(gw_err_set(&err, GW_EINVAL, "Patient.birthDate",
                                "not a date: %d", 7),
                     GW_EINVAL);
    assert_string_equal(err.path, "Patient.birthDate");
    assert_string_equal(err.detail, "not a date: 7");
    assert_int_equal(gw_err_set(NULL, GW_EIO, NULL, "x"), GW_EIO);
}

static void
test_buf_refuses_growth_past_its_cap_and_keeps_content(void **state)
{
    struct gw_buf b;
    size_t len;
    char *p;
    (void)state;
    gw_buf_init(&b, 10);
    assert_int_equal(gw_buf_append_str(&b, "12345"), GW_OK);
    assert_int_equal(gw_buf_appendf(&b, "%d", 6789), GW_OK);
    assert_int_equal(gw_buf_append_str(&b, "01"), GW_ETOOLARGE);
    assert_string_equal(b.data, "123456789");
    assert_int_equal(gw_buf_append_str(&b, "0"), GW_OK);
    assert_int_equal(b.len, 10);
    assert_int_equal(gw_buf_appendf(&b, "%s", "x"), GW_ETOOLARGE);
    p = gw_buf_take(&b, &len);
    assert_string_equal(p, "1234567890");
    assert_int_equal(len, 10);
    assert_null(b.data);
    free(p);
    p = gw_buf_take(&b, NULL); /* empty buffer still yields "" */
    assert_string_equal(p, "");
    free(p);
    gw_buf_release(&b);
}

static void
test_log_quote_escapes_controls_and_quotes(void **state)
{
    static const struct {
        const char *name, *in, *out;
    } cases[] = {
        {"plain", "abc", "\"abc\""},
        {"quote", "a\"b", "\"a\\\"b\""},
        {"backslash", "a\\b", "\"a\\\\b\""},
        {"newline", "a\nb", "\"a\\x0ab\""},
        {"null", NULL, "\"\""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(gw_log_quote(cases[i].in), cases[i].out) != 0)
            fail_msg("case %s: got %s", cases[i].name,
                     gw_log_quote(cases[i].in));
    char longs[1000];
    memset(longs, 'x', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    /* 200 bytes kept, the cut marked */
    assert_int_equal(strlen(gw_log_quote(longs)), 205);
}

/* Issue 11: 120 control characters overran the 416-byte buffer (one SOAP
 * interaction name of 120 x %01 killed the gateway). Every byte value, in
 * runs longer than the cut, must come out escaped and whole. */
static void
test_log_quote_worst_case_inputs_stay_in_bounds(void **state)
{
    char in[1024], want[1024 * 4 + 8];
    (void)state;
    for (int b = 1; b < 256; b++) {
        size_t o = 0;
        memset(in, b, sizeof(in) - 1);
        in[sizeof(in) - 1] = '\0';
        want[o++] = '"';
        for (int i = 0; i < 200; i++) {
            if (b == '"' || b == '\\') {
                want[o++] = '\\';
                want[o++] = (char)b;
            } else if (b < 0x20 || b == 0x7f) {
                o += (size_t)snprintf(want + o, 5, "\\x%02x", b);
            } else {
                want[o++] = (char)b;
            }
        }
        memcpy(want + o, "...\"", 5);
        assert_string_equal(gw_log_quote(in), want);
    }
    /* exactly at the cut: no marker */
    memset(in, 1, 200);
    in[200] = '\0';
    assert_int_equal(strlen(gw_log_quote(in)), 2 + 4 * 200);
}

/* Two quoted values in one log line each keep their own text. */
static void
test_log_quote_values_side_by_side(void **state)
{
    char line[128];
    (void)state;
    snprintf(line, sizeof(line), "a=%s b=%s c=%s d=%s", gw_log_quote("one"),
             gw_log_quote("two"), gw_log_quote("th\"ree"),
             gw_log_quote(NULL));
    assert_string_equal(line, "a=\"one\" b=\"two\" c=\"th\\\"ree\" d=\"\"");
}

static void
test_log_level_parse(void **state)
{
    enum gw_log_level l;
    (void)state;
    assert_int_equal(gw_log_level_parse("warn", &l), GW_OK);
    assert_int_equal(l, GW_LOG_WARN);
    assert_int_equal(gw_log_level_parse("verbose", &l), GW_EINVAL);
    assert_int_equal(gw_log_level_parse(NULL, &l), GW_EINVAL);
}

static void
test_array_grow_doubles_and_refuses_overflow(void **state)
{
    size_t cap = 0, n;
    int *a = NULL, *g;
    (void)state;
    for (n = 0; n < 100; n++) {
        g = gw_array_grow(a, &cap, n, sizeof(*a), 8);
        assert_non_null(g);
        a = g;
        a[n] = (int)n; /* room for element n: ASan checks it */
        assert_true(cap > n);
    }
    assert_int_equal(cap, 128); /* 8, 16, 32, 64, 128 */
    assert_ptr_equal(gw_array_grow(a, &cap, 50, sizeof(*a), 8), a);
    for (n = 0; n < 100; n++)
        assert_int_equal(a[n], (int)n);
    /* A size that would overflow: NULL, the array and cap as they were. */
    assert_null(gw_array_grow(a, &cap, cap, SIZE_MAX / 64, 8));
    assert_int_equal(cap, 128);
    free(a);
}

/* Word lists: separators in runs, at either end, whole words only. */
static void
test_word_listed_matches_whole_words(void **state)
{
#define LISTED(list, seps, w) gw_word_listed(list, seps, w, strlen(w))
    (void)state;
    assert_true(LISTED("a,b c", " ,", "b"));
    assert_true(LISTED("a,b c", " ,", "c"));
    assert_true(LISTED(" ,a, ", " ,", "a"));
    assert_true(LISTED("a\tb", " ,\t", "b"));
    assert_false(LISTED("ab", " ,", "a"));
    assert_false(LISTED("a", " ,", "ab"));
    assert_false(LISTED("a\tb", " ,", "b"));
    assert_false(LISTED("", " ,", "a"));
    assert_false(LISTED(NULL, " ,", "a"));
    assert_false(LISTED("a,,", " ,", ""));
#undef LISTED
}

/* A whole file under its cap; over it, the first max + 1 bytes (klasgw
 * validate refuses them as too large in the validator's words); a file
 * that cannot be opened: GW_EIO and nothing. */
static void
test_file_read_keeps_the_first_bytes_over_its_cap(void **state)
{
    char path[] = "/tmp/test_core_file_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    char *buf = NULL;
    size_t len = 0;

    (void)state;
    assert_non_null(f);
    fputs("0123456789abcdef", f);
    fclose(f);
    assert_int_equal(gw_file_read(path, 16, &buf, &len), GW_OK);
    assert_int_equal(len, 16);
    assert_string_equal(buf, "0123456789abcdef");
    free(buf);
    assert_int_equal(gw_file_read(path, 9, &buf, &len), GW_ETOOLARGE);
    assert_non_null(buf);
    assert_int_equal(len, 10);
    assert_string_equal(buf, "0123456789");
    free(buf);
    unlink(path);
    assert_int_equal(gw_file_read(path, 9, &buf, &len), GW_EIO);
    assert_null(buf);
}

/* One look-up serves every table that leads with its names: an enum's
 * names (index = value), {name, value} rows and rows of their own. */
static void
test_name_tables_find_rows_by_leading_name(void **state)
{
    static const char *const names[] = {"zero", NULL, "two"};
    static const struct gw_name_value pairs[] = {{"json", 7}, {"xml", 9}};
    static const struct row {
        const char *name;
        double weight;
    } rows[] = {{"a", 1.5}, {"b", 2.5}, {"b", 3.5}};
    const struct gw_name_value *pair;
    const struct row *row;
    int v = -1;

    (void)state;
    assert_string_equal(gw_name_of(names, 3, 2, "?"), "two");
    assert_null(gw_name_of(names, 3, 1, "?")); /* a hole stays a hole */
    assert_string_equal(gw_name_of(names, 3, 3, "?"), "?");
    assert_string_equal(gw_name_of(names, 3, -1, "?"), "?");
    assert_int_equal(gw_name_parse(names, 3, "two", &v), GW_OK);
    assert_int_equal(v, 2);
    assert_int_equal(gw_name_parse(names, 3, "zero", &v), GW_OK);
    assert_int_equal(v, 0);
    v = -1;
    assert_int_equal(gw_name_parse(names, 3, "one", &v), GW_EINVAL);
    assert_int_equal(gw_name_parse(names, 3, "", &v), GW_EINVAL);
    assert_int_equal(gw_name_parse(names, 3, NULL, &v), GW_EINVAL);
    assert_int_equal(gw_name_parse(names, 2, "two", &v), GW_EINVAL);
    assert_int_equal(v, -1);

    pair = GW_NAME_FIND(pairs, "xml");
    assert_ptr_equal(pair, &pairs[1]);
    assert_int_equal(pair->value, 9);
    assert_null(GW_NAME_FIND(pairs, "XML")); /* exact */
    assert_null(GW_NAME_FIND(pairs, "xm"));
    assert_null(GW_NAME_FIND(pairs, NULL));

    row = GW_NAME_FIND(rows, "b"); /* the first of two */
    assert_ptr_equal(row, &rows[1]);
    assert_ptr_equal(gw_name_find(rows, 1, sizeof(rows[0]), "b"), NULL);
    assert_ptr_equal(gw_name_find(&rows[2], 1, sizeof(rows[0]), "b"),
                     &rows[2]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_table_rows_are_complete_and_consistent),
        cmocka_unit_test(test_err_set_formats_and_tolerates_null),
        cmocka_unit_test(test_buf_refuses_growth_past_its_cap_and_keeps_content),
        cmocka_unit_test(test_log_quote_escapes_controls_and_quotes),
        cmocka_unit_test(test_log_quote_worst_case_inputs_stay_in_bounds),
        cmocka_unit_test(test_log_quote_values_side_by_side),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_array_grow_doubles_and_refuses_overflow),
        cmocka_unit_test(test_word_listed_matches_whole_words),
        cmocka_unit_test(test_file_read_keeps_the_first_bytes_over_its_cap),
        cmocka_unit_test(test_name_tables_find_rows_by_leading_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
