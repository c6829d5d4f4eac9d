/*
 * test_validate.c - validation of KLAS messages: every valid example
 * passes with no error; every invalid example fails with its expected rule
 * at its expected FHIRPath (fhir-profiles/examples/invalid/EXPECTED.tsv);
 * the warnings fire on their own; the OperationOutcome is valid FHIR and
 * bilingual.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir_xml.h"
#include "validate/rules.h"
#include "validate/validate.h"
#include "text_fixture.h"

static struct gw_validator *v;

static gw_rc
validate_file(const char *path, struct gw_outcome *o)
{
    size_t n;
    char *s = text_slurp_path(path, &n);
    gw_rc rc = gw_validate_bytes(v, s, n, NULL, "2026-11-22", o, NULL);

    free(s);
    return rc;
}

static int
has_issue(const struct gw_outcome *o, const char *rule, const char *expr,
          enum gw_severity sev)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->issues[i].rule, rule) == 0 &&
            (expr == NULL || strcmp(o->issues[i].expression, expr) == 0) &&
            o->issues[i].severity == sev)
            return 1;
    return 0;
}

static void
test_validate_every_valid_example_passes(void **state)
{
    char dir[512], path[1024];
    struct dirent *e;
    DIR *d;
    int files = 0;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/fhir-profiles/examples/valid",
             GW_SOURCE_DIR);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        struct gw_outcome o;
        gw_rc rc;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        gw_outcome_init(&o);
        /* Every event and variant, in JSON and in XML. */
        rc = validate_file(path, &o);
        if (rc != GW_OK)
            fail_msg("%s: %s, first issue %s at %s", e->d_name,
                     gw_rc_name(rc), o.n ? o.issues[0].rule : "-",
                     o.n ? o.issues[0].expression : "-");
        gw_outcome_release(&o);
        files++;
    }
    closedir(d);
    assert_true(files >= 48);
}

/* Thousands of unknown extensions get a bounded answer: the shape rules
 * report at most 20 issues, and the first names the element. */
static void
test_validate_shape_issues_are_capped(void **state)
{
    static const char ext[] = "<extension url=\"http://example.org/x\">"
                              "<valueString value=\"x\"/></extension>";
    static const char at[] = "<status value=\"active\"/><intent";
    char path[1024];
    size_t n, cap;
    char *s, *big, *p;
    struct gw_outcome o;
    size_t shape = 0;
    (void)state;

    snprintf(path, sizeof(path),
             "%s/fhir-profiles/examples/valid/motivation-enskild-searched.xml",
             GW_SOURCE_DIR);
    s = text_slurp_path(path, &n);
    p = strstr(s, at);
    assert_non_null(p);
    cap = n + 5000 * (sizeof(ext) - 1) + 1;
    big = malloc(cap);
    assert_non_null(big);
    memcpy(big, s, (size_t)(p - s));
    big[p - s] = '\0';
    for (int i = 0; i < 5000; i++)
        strcat(big + (p - s) + (size_t)i * (sizeof(ext) - 1), ext);
    strcat(big, p);
    gw_outcome_init(&o);
    assert_int_equal(
        gw_validate_bytes(v, big, strlen(big), NULL, "2026-11-22", &o, NULL),
        GW_EVALIDATION);
    assert_true(has_issue(&o, "klas-extension",
                          "Bundle.entry[2].resource.extension[2]",
                          GW_SEV_ERROR));
    for (size_t i = 0; i < o.n; i++)
        shape += strcmp(o.issues[i].rule, "klas-extension") == 0;
    assert_true(shape == 20);
    gw_outcome_release(&o);
    free(big);
    free(s);
}

static void
test_validate_every_invalid_example_fails_as_expected(void **state)
{
    char path[1024], line[1024];
    FILE *tsv;
    int cases = 0;
    (void)state;

    snprintf(path, sizeof(path),
             "%s/fhir-profiles/examples/invalid/EXPECTED.tsv", GW_SOURCE_DIR);
    tsv = fopen(path, "r");
    assert_non_null(tsv);
    while (fgets(line, sizeof(line), tsv) != NULL) {
        char file[256], rule[64], expr[256];
        struct gw_outcome o;
        gw_rc rc;
        if (line[0] == '#' ||
            sscanf(line, "%255[^\t]\t%63[^\t]\t%255[^\n]", file, rule, expr) != 3)
            continue;
        snprintf(path, sizeof(path), "%s/fhir-profiles/examples/invalid/%s",
                 GW_SOURCE_DIR, file);
        gw_outcome_init(&o);
        rc = validate_file(path, &o);
        if (rc != GW_EVALIDATION || !has_issue(&o, rule, expr, GW_SEV_ERROR))
            fail_msg("%s: %s; expected %s at %s", file, gw_rc_name(rc), rule,
                     expr);
        /* Every invalid message also gets the handbook's summary. */
        if (!has_issue(&o, "klas-summary", NULL, GW_SEV_ERROR))
            fail_msg("%s: no summary issue", file);
        gw_outcome_release(&o);
        cases++;
    }
    fclose(tsv);
    assert_true(cases >= 40);
}

/* Reads a valid example, replaces one text, validates the result. */
static gw_rc
validate_edit_of(const char *example, const char *from, const char *to,
                 struct gw_outcome *o)
{
    char path[1024];
    size_t n;
    char *s, *at, *edited;
    gw_rc rc;

    snprintf(path, sizeof(path), "%s/fhir-profiles/examples/valid/%s",
             GW_SOURCE_DIR, example);
    s = text_slurp_path(path, &n);
    at = strstr(s, from);
    assert_non_null(at);
    edited = malloc(n + strlen(to) + 1);
    memcpy(edited, s, (size_t)(at - s));
    strcpy(edited + (at - s), to);
    strcat(edited, at + strlen(from));
    rc = gw_validate_bytes(v, edited, strlen(edited), NULL, "2026-11-22", o,
                           NULL);
    free(s);
    free(edited);
    return rc;
}

/* The same for the base example, a motivation. */
static gw_rc
validate_edit(const char *from, const char *to, struct gw_outcome *o)
{
    return validate_edit_of("motivation-enskild-searched.json", from, to, o);
}

/* A prescriber can be called back: a supplement sent by a prescriber
 * without a phone number is refused as a motivation without one is
 * (missing-prescriber-phone.json). */
static void
test_validate_prescriber_supplement_needs_the_phone(void **state)
{
    struct gw_outcome o;
    (void)state;

    gw_outcome_init(&o);
    assert_int_equal(validate_edit_of("supplement-by-prescriber.json",
                                      "\"system\": \"phone\"",
                                      "\"system\": \"fax\"", &o),
                     GW_EVALIDATION);
    assert_true(has_issue(&o, "klas-prescriber-phone", NULL, GW_SEV_ERROR));
    gw_outcome_release(&o);
}

static void
test_validate_warnings_do_not_make_a_message_invalid(void **state)
{
    static const struct {
        const char *name, *from, *to, *rule;
    } cases[] = {
        {"personnummer in the text", "utan tillräcklig effekt",
         "utan tillräcklig effekt hos 201006301111", "klas-text-personal-data"},
        {"personnummer with dash in the text", "utan tillräcklig effekt",
         "hos 100630-1111", "klas-text-personal-data"},
        {"missing e-mail",
         ", {\"system\": \"email\", \"value\": \"forskrivare@example.org\"}", "",
         "klas-prescriber-email"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_outcome o;
        gw_outcome_init(&o);
        gw_rc rc = validate_edit(cases[i].from, cases[i].to, &o);
        if (rc != GW_OK || !has_issue(&o, cases[i].rule, NULL, GW_SEV_WARNING))
            fail_msg("case '%s': %s", cases[i].name, gw_rc_name(rc));
        gw_outcome_release(&o);
    }
}

static void
test_validate_food_age_and_manual_attachment_warnings(void **state)
{
    char path[1024];
    struct gw_outcome o;
    (void)state;

    /* The food example's patient was born 2024-06-30: 16 on 2040-06-30. */
    snprintf(path, sizeof(path),
             "%s/fhir-profiles/examples/valid/motivation-enskild-food-child.json",
             GW_SOURCE_DIR);
    {
        size_t n;
        char *s = text_slurp_path(path, &n);
        gw_outcome_init(&o);
        assert_int_equal(
            gw_validate_bytes(v, s, n, NULL, "2040-06-29", &o, NULL), GW_OK);
        assert_false(has_issue(&o, "klas-food-age", NULL, GW_SEV_WARNING));
        gw_outcome_release(&o);
        gw_outcome_init(&o);
        assert_int_equal(
            gw_validate_bytes(v, s, n, NULL, "2040-06-30", &o, NULL), GW_OK);
        assert_true(has_issue(&o, "klas-food-age", NULL, GW_SEV_WARNING));
        gw_outcome_release(&o);
        free(s);
    }
    gw_outcome_init(&o);
    assert_int_equal(validate_edit("\"valueCode\": \"searched\"",
                                   "\"valueCode\": \"manual\"", &o),
                     GW_OK);
    assert_true(has_issue(&o, "klas-manual-attachment", NULL, GW_SEV_WARNING));
    gw_outcome_release(&o);
}

/* The issue of `rule` in o, or NULL. */
static const struct gw_issue *
issue_of(const struct gw_outcome *o, const char *rule)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->issues[i].rule, rule) == 0)
            return &o->issues[i];
    return NULL;
}

/* A pharmacist works on a Swedish screen: each refusal states the same
 * reason in Swedish as in English, not a general "är felaktigt". */
static void
test_validate_swedish_text_gives_the_reason(void **state)
{
    static const struct {
        const char *file, *rule, *sv, *en;
    } cases[] = {
        {"pnr-wrong-check-digit.json", "klas-pnr", "kontrollsiffra",
         "check digit"},
        {"pnr-not-a-date.json", "klas-pnr", "giltigt datum", "calendar date"},
        {"samordningsnummer-day-92.json", "klas-pnr", "samordningsnumret",
         "samordningsnummer"},
        {"pnr-ten-digits.json", "klas-pnr", "12 siffror", "12 digits"},
        {"pnr-with-separator.json", "klas-pnr", "skiljetecken", "separators"},
        {"date-of-birth-invalid.json", "klas-pnr", "födelsedatumet",
         "date of birth"},
        {"supplement-bad-patient-number.json", "klas-pnr", "kontrollsiffra",
         "check digit"},
        {"bad-atc.json", "klas-atc", "A01AB01", "A01AB01"},
        {"pharmacy-gln-handbook-check-digit.json", "klas-pharmacy-gln",
         "kontrollsiffra", "check digit"},
        {"bad-pharmacy-gln.json", "klas-pharmacy-gln", "kontrollsiffra",
         "check digit"},
    };
    char path[1024];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_outcome o;
        const struct gw_issue *is;
        snprintf(path, sizeof(path), "%s/fhir-profiles/examples/invalid/%s",
                 GW_SOURCE_DIR, cases[i].file);
        gw_outcome_init(&o);
        assert_int_equal(validate_file(path, &o), GW_EVALIDATION);
        is = issue_of(&o, cases[i].rule);
        if (is == NULL || strstr(is->sv, cases[i].sv) == NULL ||
            strstr(is->en, cases[i].en) == NULL)
            fail_msg("%s: %s: sv '%s', en '%s'", cases[i].file, cases[i].rule,
                     is ? is->sv : "-", is ? is->en : "-");
        gw_outcome_release(&o);
    }
}

/* base64 of n zero bytes, as an attachment's data (malloc'd). */
static char *
zeros_base64(size_t n)
{
    size_t len = (n + 2) / 3 * 4;
    char *s = malloc(len + 1);

    assert_non_null(s);
    memset(s, 'A', len);
    if (n % 3 == 1)
        memcpy(s + len - 2, "==", 2);
    else if (n % 3 == 2)
        s[len - 1] = '=';
    s[len] = '\0';
    return s;
}

/* The 5 MB limit is on the file's real bytes, decoded: exactly 5 MiB is
 * accepted, one byte more refused (the length of the base64 text overstated
 * it by up to two bytes). */
static void
test_validate_attachment_limit_counts_decoded_bytes(void **state)
{
    static const struct {
        const char *name;
        size_t bytes;
        int refused;
    } cases[] = {
        {"exactly 5 MiB", 5u * 1024 * 1024, 0},
        {"5 MiB less one", 5u * 1024 * 1024 - 1, 0},
        {"5 MiB and one byte", 5u * 1024 * 1024 + 1, 1},
        {"5 MiB and two bytes", 5u * 1024 * 1024 + 2, 1},
    };
    char path[1024];
    size_t n;
    char *base;
    (void)state;

    snprintf(path, sizeof(path),
             "%s/fhir-profiles/examples/valid/motivation-enskild-attachments."
             "json", GW_SOURCE_DIR);
    base = text_slurp_path(path, &n);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *data = zeros_base64(cases[i].bytes);
        char *at = strstr(base, "JVBERi0xLjQK");
        char *msg = malloc(n + strlen(data) + 1);
        struct gw_outcome o;
        gw_rc rc;
        assert_non_null(at);
        assert_non_null(msg);
        memcpy(msg, base, (size_t)(at - base));
        strcpy(msg + (at - base), data);
        strcat(msg, at + strlen("JVBERi0xLjQK"));
        gw_outcome_init(&o);
        rc = gw_validate_bytes(v, msg, strlen(msg), NULL, "2026-11-22", &o,
                               NULL);
        if ((rc != GW_OK) != cases[i].refused ||
            has_issue(&o, "klas-attachment-size", NULL, GW_SEV_ERROR) !=
                cases[i].refused)
            fail_msg("case '%s': %s, first issue %s", cases[i].name,
                     gw_rc_name(rc), o.n ? o.issues[0].rule : "-");
        gw_outcome_release(&o);
        free(msg);
        free(data);
    }
    free(base);
}

static void
test_validate_outcome_is_valid_bilingual_fhir(void **state)
{
    struct gw_outcome o;
    struct gw_fhir_doc *doc;
    char *json, *xml;
    size_t n;
    (void)state;

    gw_outcome_init(&o);
    assert_int_equal(validate_edit("\"reasonCode\"", "\"note\"", &o),
                     GW_EVALIDATION);
    assert_int_equal(gw_outcome_to_doc(&o, &doc), GW_OK);
    assert_int_equal(gw_fhir_to_json(doc, &json, &n), GW_OK);
    assert_non_null(strstr(json, "Motiveringen måste innehålla en "
                                 "behandlingsindikation"));
    assert_non_null(strstr(json, "The motivation must state a treatment "
                                 "indication"));
    assert_non_null(strstr(json, "\"klas-indication\""));
    assert_non_null(strstr(json, "Bundle.entry[2].resource.reasonCode"));
    assert_int_equal(gw_fhir_to_xml(doc, &xml, &n), GW_OK);
    free(json);
    free(xml);
    gw_fhir_doc_free(doc);
    gw_outcome_release(&o);

    /* Unusable input: its own code and one issue saying why. */
    gw_outcome_init(&o);
    assert_int_equal(gw_validate_bytes(v, "{\"resourceType\":", 16, NULL,
                                       NULL, &o, NULL),
                     GW_EPARSE);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.issues[0].rule, "EPARSE");
    gw_outcome_release(&o);
    /* An empty outcome still makes a valid OperationOutcome. */
    gw_outcome_init(&o);
    assert_int_equal(gw_outcome_to_doc(&o, &doc), GW_OK);
    gw_fhir_doc_free(doc);
}

static int
setup(void **state)
{
    char xsd[512];
    struct gw_err err;
    (void)state;
    snprintf(xsd, sizeof(xsd), "%s/fhir-profiles/xsd/fhir-klas.xsd",
             GW_SOURCE_DIR);
    gw_err_clear(&err);
    return gw_validator_new(xsd, &v, &err) == GW_OK ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    gw_validator_free(v);
    return 0;
}

/* The rules walk their own paths (rules.c, mp_walk) where libxml2's
 * XPath did: after every example has been validated (so every expression
 * the rules use is known), each of them from every element of every
 * example gives libxml2's first node and count. */
static void
test_validate_rule_paths_agree_with_libxml2(void **state)
{
    static const char *const dirs[] = {"valid", "invalid"};
    size_t pairs = 0, bad = 0;
    int files = 0;
    (void)state;

    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
            char dir[512], path[1024];
            struct dirent *e;
            DIR *d;
            snprintf(dir, sizeof(dir), "%s/fhir-profiles/examples/%s",
                     GW_SOURCE_DIR, dirs[k]);
            d = opendir(dir);
            assert_non_null(d);
            while ((e = readdir(d)) != NULL) {
                struct gw_outcome o;
                struct gw_fhir_doc *doc = NULL;
                struct gw_err err;
                size_t n, p = 0;
                char *s;
                if (strstr(e->d_name, ".xml") == NULL &&
                    strstr(e->d_name, ".json") == NULL)
                    continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                if (pass == 0) { /* the rules meet their expressions */
                    gw_outcome_init(&o);
                    (void)validate_file(path, &o);
                    gw_outcome_release(&o);
                    continue;
                }
                s = text_slurp_path(path, &n);
                gw_err_clear(&err);
                if (gw_fhir_parse(s, n, GW_FHIR_SNIFF, NULL, &doc, &err) ==
                    GW_OK) {
                    size_t b =
                        gw_rules_paths_disagree(gw_fhir_doc_xml(doc), &p);
                    if (b > 0)
                        print_message("%s: %zu of %zu disagree\n", e->d_name, b,
                                      p);
                    bad += b;
                    pairs += p;
                    files++;
                }
                gw_fhir_doc_free(doc);
                free(s);
            }
            closedir(d);
        }
    print_message("rule paths: %d files, %zu pairs\n", files, pairs);
    assert_true(files > 20);
    assert_true(pairs > 100000);
    assert_int_equal(bad, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_every_valid_example_passes),
        cmocka_unit_test(test_validate_every_invalid_example_fails_as_expected),
        cmocka_unit_test(test_validate_shape_issues_are_capped),
        cmocka_unit_test(test_validate_warnings_do_not_make_a_message_invalid),
        cmocka_unit_test(test_validate_prescriber_supplement_needs_the_phone),
        cmocka_unit_test(test_validate_food_age_and_manual_attachment_warnings),
        cmocka_unit_test(test_validate_outcome_is_valid_bilingual_fhir),
        cmocka_unit_test(test_validate_rule_paths_agree_with_libxml2),
        cmocka_unit_test(test_validate_swedish_text_gives_the_reason),
        cmocka_unit_test(test_validate_attachment_limit_counts_decoded_bytes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
