/*
 * test_fhir.c - the FHIR codec: byte-stable round trips over the fixtures
 * in both directions, strict refusals with the path of the fault, hostile
 * inputs refused in bounded time and memory, and truncation / bit-flip
 * loops that must end in a clean answer.
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

#include <libxml/parser.h>

#include "core/buf.h"
#include "fhir/fhir.h"
#include "fhir/fhir_xml.h"
#include "fhir/jsonw.h"
#include "fhir/model.h"
#include "fhir/path.h"
#include "text_fixture.h"

static gw_rc
parse(const char *s, size_t n, struct gw_fhir_doc **doc, struct gw_err *err)
{
    gw_err_clear(err);
    return gw_fhir_parse(s, n, GW_FHIR_SNIFF, NULL, doc, err);
}

static char *
convert(const char *in, size_t n, int to_json, size_t *out_len)
{
    struct gw_fhir_doc *doc;
    struct gw_err err;
    char *out;

    if (parse(in, n, &doc, &err) != GW_OK)
        fail_msg("parse: %s: %s", err.path, err.detail);
    assert_int_equal(to_json ? gw_fhir_to_json(doc, &out, out_len)
                             : gw_fhir_to_xml(doc, &out, out_len),
                     GW_OK);
    gw_fhir_doc_free(doc);
    return out;
}

/* X -> JSON -> XML -> JSON gives the same JSON twice and the same XML
 * twice, for every file in dir; returns how many files there were. */
static int
round_trip_dir(const char *rel)
{
    char dir[512], path[800];
    struct dirent *e;
    DIR *d;
    int files = 0;

    snprintf(dir, sizeof(dir), "%s/%s", GW_SOURCE_DIR, rel);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t n, j1n, x1n, j2n, x2n;
        char *in, *j1, *x1, *j2, *x2;
        if (e->d_name[0] == '.' || (strstr(e->d_name, ".json") == NULL &&
                                    strstr(e->d_name, ".xml") == NULL))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        in = text_slurp_path(path, &n);
        j1 = convert(in, n, 1, &j1n);
        x1 = convert(j1, j1n, 0, &x1n);
        j2 = convert(x1, x1n, 1, &j2n);
        x2 = convert(j2, j2n, 0, &x2n);
        if (j1n != j2n || memcmp(j1, j2, j1n) != 0)
            fail_msg("%s: JSON -> XML -> JSON changed", e->d_name);
        if (x1n != x2n || memcmp(x1, x2, x1n) != 0)
            fail_msg("%s: XML -> JSON -> XML changed", e->d_name);
        free(in);
        free(j1);
        free(x1);
        free(j2);
        free(x2);
        files++;
    }
    closedir(d);
    return files;
}

static void
test_fhir_round_trips_are_byte_stable(void **state)
{
    (void)state;
    assert_true(round_trip_dir("tests/fixtures/fhir") >= 6);
    assert_true(round_trip_dir("fhir-profiles/examples/valid") >= 40);
    assert_true(round_trip_dir("fhir-profiles/examples/invalid") >= 40 - 1);
}

static void
test_fhir_keeps_decimals_and_companions(void **state)
{
    static const char in[] =
        "{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"A\",\"B\"],"
        "\"_given\":[null,{\"id\":\"g2\"}]}],\"multipleBirthInteger\":2}";
    static const char obs[] =
        "{\"resourceType\":\"MedicationRequest\",\"status\":\"active\","
        "\"intent\":\"proposal\",\"medicationCodeableConcept\":{\"text\":\"x\"},"
        "\"subject\":{\"reference\":\"Patient/1\"},\"dispenseRequest\":"
        "{\"quantity\":{\"value\":1.50,\"unit\":\"ml\"}}}";
    size_t n;
    char *xml, *json;
    (void)state;

    xml = convert(in, sizeof(in) - 1, 0, &n);
    assert_non_null(strstr(xml, "<given value=\"A\"/><given value=\"B\" "
                                "id=\"g2\"/>"));
    assert_non_null(strstr(xml, "<multipleBirthInteger value=\"2\"/>"));
    json = convert(xml, n, 1, &n);
    assert_non_null(strstr(json, "\"_given\": [\n"));
    assert_non_null(strstr(json, "null,"));
    free(xml);
    free(json);
    json = convert(obs, sizeof(obs) - 1, 1, &n);
    assert_non_null(strstr(json, "\"value\": 1.50"));
    free(json);
}

static void
test_fhir_refuses_with_the_path_of_the_fault(void **state)
{
    static const struct {
        const char *name, *in;
        gw_rc rc;
        const char *path, *detail;
    } cases[] = {
        {"duplicate key", "{\"resourceType\":\"Patient\",\"gender\":\"male\","
                          "\"gender\":\"female\"}",
         GW_EPARSE, "", "duplicate"},
        {"null", "{\"resourceType\":\"Patient\",\"active\":null}",
         GW_EVALIDATION, "Patient.active", "null"},
        {"empty string", "{\"resourceType\":\"Patient\",\"gender\":\"\"}",
         GW_EVALIDATION, "Patient.gender", "empty"},
        {"empty object", "{\"resourceType\":\"Patient\",\"meta\":{}}",
         GW_EVALIDATION, "Patient.meta", "empty objects"},
        {"empty array", "{\"resourceType\":\"Patient\",\"name\":[]}",
         GW_EVALIDATION, "Patient", "empty arrays"},
        {"unknown element", "{\"resourceType\":\"Patient\",\"nick\":\"x\"}",
         GW_EVALIDATION, "Patient.nick", "unknown element"},
        {"unknown nested", "{\"resourceType\":\"Patient\",\"name\":[{\"first\":"
                           "\"x\"}]}",
         GW_EVALIDATION, "Patient.name[0].first", "unknown element"},
        {"wrong type", "{\"resourceType\":\"Patient\",\"active\":\"yes\"}",
         GW_EVALIDATION, "Patient.active", "true or false"},
        {"number as string", "{\"resourceType\":\"Patient\","
                             "\"multipleBirthInteger\":\"2\"}",
         GW_EVALIDATION, "Patient.multipleBirthInteger", "JSON number"},
        {"string as number", "{\"resourceType\":\"Patient\",\"gender\":1}",
         GW_EVALIDATION, "Patient.gender", "JSON string"},
        {"array for single", "{\"resourceType\":\"Patient\",\"gender\":"
                             "[\"male\"]}",
         GW_EVALIDATION, "Patient.gender", "not an array"},
        {"object for array", "{\"resourceType\":\"Patient\",\"name\":"
                             "{\"family\":\"x\"}}",
         GW_EVALIDATION, "Patient", "takes an array"},
        {"bad date", "{\"resourceType\":\"Patient\",\"birthDate\":"
                     "\"2023-02-29\"}",
         GW_EVALIDATION, "Patient.birthDate", "not a date"},
        {"dateTime without zone", "{\"resourceType\":\"Task\",\"status\":"
                                  "\"draft\",\"intent\":\"order\","
                                  "\"authoredOn\":\"2026-01-15T16:34:00\"}",
         GW_EVALIDATION, "Task.authoredOn", "dateTime"},
        {"two choices", "{\"resourceType\":\"Patient\",\"deceasedBoolean\":"
                        "true,\"deceasedDateTime\":\"2020\"}",
         GW_EVALIDATION, "Patient", "two choices"},
        {"missing required", "{\"resourceType\":\"Task\",\"status\":\"draft\"}",
         GW_EVALIDATION, "Task", "intent is missing"},
        {"companion misaligned", "{\"resourceType\":\"Patient\",\"name\":[{"
                                 "\"given\":[\"a\"],\"_given\":[null,null]}]}",
         GW_EVALIDATION, "Patient.name[0]", "different lengths"},
        {"companion of complex", "{\"resourceType\":\"Patient\",\"_name\":"
                                 "{\"id\":\"x\"}}",
         GW_EVALIDATION, "Patient._name", "unknown element"},
        {"NUL in string", "{\"resourceType\":\"Patient\",\"gender\":"
                          "\"ma\\u0000le\"}",
         GW_EVALIDATION, "Patient.gender", "NUL"},
        {"unknown resource", "{\"resourceType\":\"Questionnaire\"}",
         GW_EVALIDATION, "", "resource type"},
        {"no resourceType", "{\"id\":\"x\"}", GW_EVALIDATION, "",
         "resourceType"},
        {"not an object", "[1,2]", GW_EPARSE, "", "neither"},
        {"syntax", "{\"resourceType\":\"Patient\",}", GW_EPARSE, "", "JSON"},
        {"bad id", "{\"resourceType\":\"Patient\",\"id\":\"a b\"}",
         GW_EVALIDATION, "Patient.id", "an id"},
        {"contained without type", "{\"resourceType\":\"Patient\","
                                   "\"contained\":[{\"id\":\"x\"}]}",
         GW_EVALIDATION, "Patient.contained[0]", "resourceType"},
        {"xml no namespace", "<Patient><id value=\"x\"/></Patient>",
         GW_EVALIDATION, "", "namespace"},
        {"xml out of order", "<Patient xmlns=\"http://hl7.org/fhir\"><gender "
                             "value=\"male\"/><active value=\"true\"/>"
                             "</Patient>",
         GW_EVALIDATION, "Patient", "out of order"},
        {"xml repeated single", "<Patient xmlns=\"http://hl7.org/fhir\">"
                                "<gender value=\"male\"/><gender value=\"male\"/>"
                                "</Patient>",
         GW_EVALIDATION, "Patient", "only once"},
        {"xml text content", "<Patient xmlns=\"http://hl7.org/fhir\"><gender>"
                             "male</gender></Patient>",
         GW_EVALIDATION, "Patient.gender", "text content"},
        {"xml unknown attribute", "<Patient xmlns=\"http://hl7.org/fhir\">"
                                  "<gender value=\"male\" x=\"1\"/></Patient>",
         GW_EVALIDATION, "Patient.gender", "unknown attribute"},
        {"xml empty value", "<Patient xmlns=\"http://hl7.org/fhir\"><gender "
                            "value=\"\"/></Patient>",
         GW_EVALIDATION, "Patient.gender", "empty"},
        {"xml bad boolean", "<Patient xmlns=\"http://hl7.org/fhir\"><active "
                            "value=\"yes\"/></Patient>",
         GW_EVALIDATION, "Patient.active", "boolean"},
        {"xml two resources in container",
         "<Bundle xmlns=\"http://hl7.org/fhir\"><type value=\"collection\"/>"
         "<entry><resource><Patient/><Patient/></resource></entry></Bundle>",
         GW_EVALIDATION, "Bundle.entry[0].resource", "exactly one"},
        {"xml script in narrative",
         "<Patient xmlns=\"http://hl7.org/fhir\"><text><status "
         "value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\">"
         "<script>x()</script></div></text></Patient>",
         GW_EVALIDATION, "Patient.text.div", "script"},
        {"xml event attribute in narrative",
         "<Patient xmlns=\"http://hl7.org/fhir\"><text><status "
         "value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\">"
         "<p onclick=\"x()\">a</p></div></text></Patient>",
         GW_EVALIDATION, "Patient.text.div", "event"},
        {"xml other encoding", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                               "<Patient xmlns=\"http://hl7.org/fhir\"/>",
         GW_EPARSE, "", "UTF-8"},
        {"not fhir at all", "hello", GW_EPARSE, "", "neither"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_fhir_doc *doc = NULL;
        struct gw_err err;
        gw_rc rc = parse(cases[i].in, strlen(cases[i].in), &doc, &err);
        if (rc != cases[i].rc || strcmp(err.path, cases[i].path) != 0 ||
            strstr(err.detail, cases[i].detail) == NULL)
            fail_msg("case '%s': %s at '%s': %s", cases[i].name,
                     gw_rc_name(rc), err.path, err.detail);
        assert_null(doc);
    }
}

/* The JSON reader skips the structural check of its tree when its own
 * walk shows the tree passes (json.c, need_check): what only the check
 * finds must still be refused, with the check's path and reason. */
static void
test_fhir_json_tree_checked_where_the_walk_cannot_vouch(void **state)
{
    static const struct {
        const char *name, *in;
        int depth;
        size_t string;
        gw_rc rc;
        const char *path, *detail;
    } cases[] = {
        {"required attribute of an extension",
         "{\"resourceType\":\"Patient\",\"_gender\":{\"extension\":"
         "[{\"valueString\":\"x\"}]}}",
         64, 8388608, GW_EVALIDATION, "Patient.gender.extension",
         "required attribute url is missing"},
        {"required element of a backbone",
         "{\"resourceType\":\"Task\",\"status\":\"draft\",\"intent\":"
         "\"order\",\"input\":[{\"valueString\":\"x\"}]}",
         64, 8388608, GW_EVALIDATION, "Task.input[0]",
         "required element type is missing"},
        {"required choice", "{\"resourceType\":\"Task\",\"status\":"
                            "\"draft\",\"intent\":\"order\",\"input\":[{"
                            "\"type\":{\"text\":\"a\"}}]}",
         64, 8388608, GW_EVALIDATION, "Task.input[0]", "is missing"},
        {"XML deeper than JSON", "{\"resourceType\":\"Patient\","
                                 "\"gender\":\"male\"}",
         1, 8388608, GW_ETOOLARGE, "Patient.gender", "deeper"},
        {"resource in a container",
         "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":"
         "[{\"resource\":{\"resourceType\":\"Patient\",\"active\":true}}]}",
         4, 8388608, GW_ETOOLARGE, "Bundle.entry[0].resource.active",
         "deeper"},
        {"long id of a primitive", "{\"resourceType\":\"Patient\","
                                   "\"_gender\":{\"id\":\"0123456789abc\"}}",
         64, 12, GW_ETOOLARGE, "Patient.gender", "longer than the limit"},
        {"long number", "{\"resourceType\":\"Patient\","
                        "\"multipleBirthInteger\":1234567890}",
         64, 9, GW_ETOOLARGE, "Patient.multipleBirthInteger",
         "longer than the limit"},
        {"script in a narrative",
         "{\"resourceType\":\"Patient\",\"text\":{\"status\":"
         "\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/"
         "xhtml\\\"><script>x()</script></div>\"}}",
         64, 8388608, GW_EVALIDATION, "Patient.text.div", "script"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_fhir_limits lim;
        struct gw_fhir_doc *doc = NULL;
        struct gw_err err;
        gw_rc rc;
        gw_fhir_limits_default(&lim);
        lim.max_depth = cases[i].depth;
        lim.max_string = cases[i].string;
        gw_err_clear(&err);
        rc = gw_fhir_parse(cases[i].in, strlen(cases[i].in), GW_FHIR_JSON,
                           &lim, &doc, &err);
        if (rc != cases[i].rc || strcmp(err.path, cases[i].path) != 0 ||
            strstr(err.detail, cases[i].detail) == NULL)
            fail_msg("case '%s': %s at '%s': %s", cases[i].name,
                     gw_rc_name(rc), err.path, err.detail);
        assert_null(doc);
    }
}

static char *
repeat(const char *head, const char *unit, size_t times, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * times + tl + 1), *p = s;

    memcpy(p, head, hl);
    p += hl;
    for (size_t i = 0; i < times; i++, p += ul)
        memcpy(p, unit, ul);
    memcpy(p, tail, tl + 1);
    return s;
}

static void
test_fhir_refuses_hostile_inputs(void **state)
{
    static const char laughs[] =
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
        "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&lol3;\"/>"
        "</Patient>";
    static const char xxe[] =
        "<!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&x;\"/></Patient>";
    static const char undeclared[] =
        "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&x;\"/></Patient>";
    static const char xinclude[] =
        "<Patient xmlns=\"http://hl7.org/fhir\" "
        "xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include "
        "href=\"file:///etc/passwd\"/></Patient>";
    static const char bad_utf8_json[] =
        "{\"resourceType\":\"Patient\",\"gender\":\"m\xC3\x28le\"}";
    static const char bad_utf8_xml[] =
        "<Patient xmlns=\"http://hl7.org/fhir\"><gender value=\"m\xFF\"/>"
        "</Patient>";
    static const struct {
        const char *name, *in;
        gw_rc rc;
    } fixed[] = {
        {"billion laughs", laughs, GW_EPARSE},
        {"external entity", xxe, GW_EPARSE},
        {"undeclared entity", undeclared, GW_EPARSE},
        {"xinclude", xinclude, GW_EVALIDATION},
        {"invalid UTF-8 in JSON", bad_utf8_json, GW_EPARSE},
        {"invalid UTF-8 in XML", bad_utf8_xml, GW_EPARSE},
    };
    struct gw_fhir_doc *doc;
    struct gw_err err;
    char *s;
    (void)state;

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (parse(fixed[i].in, strlen(fixed[i].in), &doc, &err) != fixed[i].rc)
            fail_msg("case '%s': %s", fixed[i].name, err.detail);

    /* 100 000-deep nesting, JSON and XML. */
    s = repeat("{\"resourceType\":\"Patient\",\"x\":", "[", 100000, "");
    assert_int_equal(parse(s, strlen(s), &doc, &err), GW_ETOOLARGE);
    assert_non_null(strstr(err.detail, "deeper"));
    free(s);
    s = repeat("<Patient xmlns=\"http://hl7.org/fhir\">", "<extension>", 100000,
               "");
    assert_true(parse(s, strlen(s), &doc, &err) != GW_OK);
    free(s);
    /* Nesting within libxml2's own limit but past ours. */
    s = repeat("<Patient xmlns=\"http://hl7.org/fhir\"><extension url=\"u\">",
               "<extension url=\"u\">", 100, "");
    {
        char *t = repeat(s, "</extension>", 101, "</Patient>");
        assert_int_equal(parse(t, strlen(t), &doc, &err), GW_ETOOLARGE);
        free(t);
    }
    free(s);
    /* A 10 MB string, past xml.max_string_bytes (8 MiB). */
    s = repeat("{\"resourceType\":\"Patient\",\"gender\":\"", "xxxxxxxxxx",
               1024 * 1024, "\"}");
    assert_int_equal(parse(s, strlen(s), &doc, &err), GW_ETOOLARGE);
    free(s);
    /* In XML, libxml2 itself stops attribute values at 10 000 000 bytes;
     * below that our own cap (8 MiB) answers. */
    s = repeat("<Patient xmlns=\"http://hl7.org/fhir\"><gender value=\"",
               "xxxxxxxxxx", 1024 * 1024, "\"/></Patient>");
    assert_int_equal(parse(s, strlen(s), &doc, &err), GW_ETOOLARGE);
    assert_non_null(strstr(err.detail, "larger than"));
    free(s);
    s = repeat("<Patient xmlns=\"http://hl7.org/fhir\"><gender value=\"",
               "xxxxxxxxxx", 900 * 1024, "\"/></Patient>");
    assert_int_equal(parse(s, strlen(s), &doc, &err), GW_ETOOLARGE);
    free(s);
    /* Past the body cap: refused before parsing. */
    {
        struct gw_fhir_limits lim;
        gw_fhir_limits_default(&lim);
        lim.max_bytes = 100;
        s = repeat("{\"resourceType\":\"Patient\",\"gender\":\"", "x", 200,
                   "\"}");
        gw_err_clear(&err);
        assert_int_equal(gw_fhir_parse(s, strlen(s), GW_FHIR_JSON, &lim, &doc,
                                       &err),
                         GW_ETOOLARGE);
        free(s);
    }
    /* Too many attributes on one element. */
    s = repeat("<Patient xmlns=\"http://hl7.org/fhir\" xmlns:a=\"urn:a\"><id ",
               "", 0, "");
    {
        char attrs[4096] = "";
        for (int i = 0; i < 40; i++)
            snprintf(attrs + strlen(attrs), sizeof(attrs) - strlen(attrs),
                     "a:x%d=\"1\" ", i);
        char *t = malloc(strlen(s) + strlen(attrs) + 64);
        sprintf(t, "%s%svalue=\"x\"/></Patient>", s, attrs);
        assert_int_equal(parse(t, strlen(t), &doc, &err), GW_ETOOLARGE);
        free(t);
    }
    free(s);
}

/* Issue 11: every limit of the XML reader bites while the bytes are read,
 * before libxml2 builds anything: each input passes one limit and then
 * turns malformed. Read first and checked afterwards (as before), the
 * malformed tail would be the answer (EPARSE), after all the work - 50,000
 * attributes cost libxml2 seconds. Read under the limits, the limit
 * answers, named. The inputs come from the limits' values. */
static void
test_fhir_xml_limits_bite_while_reading(void **state)
{
    static const char head[] = "<Patient xmlns=\"http://hl7.org/fhir\">";
    static const char broken[] = "<<&</Patient";
    struct gw_fhir_limits lim;
    struct {
        const char *name, *needle;
        char *in;
    } cases[9];
    size_t n = 0, big;
    char *s, *p;
    (void)state;

    gw_fhir_limits_default(&lim);
    lim.max_string = 4096;
    big = 60000 * 24 + 1024;

    /* attributes: 50,000 on one element (xml.max_attributes is 32) */
    s = p = malloc(big);
    p += sprintf(p, "%s<id", head);
    for (int i = 0; i < 50000; i++)
        p += sprintf(p, " a%d=\"1\"", i);
    sprintf(p, " value=\"x\"/>%s", broken);
    cases[n].name = "attributes";
    cases[n].needle = "xml.max_attributes";
    cases[n++].in = s;
    /* namespace declarations: not attributes (a SOAP Envelope has dozens),
     * but capped too */
    s = p = malloc(big);
    p += sprintf(p, "%s<id", head);
    for (int i = 0; i < 50000; i++)
        p += sprintf(p, " xmlns:a%d=\"u\"", i);
    sprintf(p, " value=\"x\"/>%s", broken);
    cases[n].name = "namespace declarations";
    cases[n].needle = "namespace declarations";
    cases[n++].in = s;
    /* depth: one past xml.max_depth */
    s = repeat(head, "<extension url=\"u\">", (size_t)lim.max_depth, broken);
    cases[n].name = "depth";
    cases[n].needle = "xml.max_depth";
    cases[n++].in = s;
    /* names */
    s = repeat("<Patient xmlns=\"http://hl7.org/fhir\"><", "n", 100000, broken);
    cases[n].name = "element name";
    cases[n].needle = "element name";
    cases[n++].in = s;
    s = repeat("<Patient xmlns=\"http://hl7.org/fhir\"><id ", "n", 100000,
               broken);
    cases[n].name = "attribute name";
    cases[n].needle = "attribute name";
    cases[n++].in = s;
    /* text, attribute value, CDATA: one byte past xml.max_string_bytes */
    s = repeat(head, "x", lim.max_string + 1, broken);
    cases[n].name = "text";
    cases[n].needle = "xml.max_string_bytes";
    cases[n++].in = s;
    s = repeat("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"", "x",
               lim.max_string + 1, broken);
    cases[n].name = "attribute value";
    cases[n].needle = "xml.max_string_bytes";
    cases[n++].in = s;
    s = repeat("<Patient xmlns=\"http://hl7.org/fhir\"><![CDATA[", "x",
               lim.max_string + 1, broken);
    cases[n].name = "CDATA";
    cases[n].needle = "xml.max_string_bytes";
    cases[n++].in = s;
    /* elements: a million and one, each small */
    s = repeat(head, "<a/>", 1000001, broken);
    cases[n].name = "elements";
    cases[n].needle = "elements in one document";
    cases[n++].in = s;

    for (size_t i = 0; i < n; i++) {
        struct gw_fhir_doc *doc = NULL;
        struct gw_err err;
        gw_rc rc;
        gw_err_clear(&err);
        rc = gw_fhir_parse(cases[i].in, strlen(cases[i].in), GW_FHIR_XML,
                           &lim, &doc, &err);
        if (rc != GW_ETOOLARGE || strstr(err.detail, cases[i].needle) == NULL)
            fail_msg("case %s: rc %s, %s", cases[i].name, gw_rc_name(rc),
                     err.detail);
        gw_fhir_doc_free(doc);
        free(cases[i].in);
    }
}

/* Issue 11: a JSON document's values are counted before jansson builds
 * them (12 MB of short strings took 300 MB); the inputs pass the count and
 * then turn malformed, so the count must answer first. */
static void
test_fhir_json_values_counted_before_parsing(void **state)
{
    /* numbers too: they are values like the others (jansson's marking
     * of them had its own cap) */
    static const char *const units[] = {"\"a\",", "true,", "null,", "{},",
                                        "[],", "1,"};
    (void)state;
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        struct gw_fhir_doc *doc = NULL;
        struct gw_err err;
        char *s = repeat("{\"resourceType\":\"Patient\",\"x\":[", units[u],
                         1000001, "}}}");
        gw_rc rc = parse(s, strlen(s), &doc, &err);
        if (rc != GW_ETOOLARGE || strstr(err.detail, "values") == NULL)
            fail_msg("unit %s: rc %s, %s", units[u], gw_rc_name(rc),
                     err.detail);
        free(s);
    }
}

/* The JSON reader (fhir/json.c, our own since jansson went): escapes
 * decoded to UTF-8, JSON's grammar held strictly, duplicate keys found in
 * small and big objects alike, keys with NUL never taken for an element. */
static void
test_fhir_json_reader_decodes_and_refuses(void **state)
{
    static const struct {
        const char *name, *in;
        gw_rc rc;
        const char *want; /* in the XML (accepted) or the detail */
    } cases[] = {
        {"escapes", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":"
                    "\"\\u00c5\\t\\\"q\\\"\\/\\\\ \\ud83d\\ude00\"}]}",
         GW_OK, "value=\"\xC3\x85&#9;&quot;q&quot;/\\ \xF0\x9F\x98\x80\""},
        {"raw UTF-8", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":"
                      "\"\xC3\xA5\xE2\x82\xAC\xF0\x9F\x98\x80\"}]}",
         GW_OK, "value=\"\xC3\xA5\xE2\x82\xAC\xF0\x9F\x98\x80\""},
        {"lone high surrogate", "{\"resourceType\":\"Patient\",\"gender\":"
                                "\"\\ud83d\"}",
         GW_EPARSE, "surrogate"},
        {"lone low surrogate", "{\"resourceType\":\"Patient\",\"gender\":"
                               "\"\\ude00\"}",
         GW_EPARSE, "surrogate"},
        {"bad escape", "{\"resourceType\":\"Patient\",\"gender\":\"\\x\"}",
         GW_EPARSE, "escape"},
        {"short \\u", "{\"resourceType\":\"Patient\",\"gender\":\"\\u12\"}",
         GW_EPARSE, "escape"},
        {"control character", "{\"resourceType\":\"Patient\",\"gender\":"
                              "\"ma\nle\"}",
         GW_EPARSE, "control"},
        {"overlong UTF-8", "{\"resourceType\":\"Patient\",\"gender\":"
                           "\"\xC0\xAF\"}",
         GW_EPARSE, "UTF-8"},
        {"UTF-8 surrogate", "{\"resourceType\":\"Patient\",\"gender\":"
                            "\"\xED\xA0\x80\"}",
         GW_EPARSE, "UTF-8"},
        {"leading zero", "{\"resourceType\":\"Patient\","
                         "\"multipleBirthInteger\":01}",
         GW_EPARSE, "JSON line 1"},
        {"two dots", "{\"resourceType\":\"Patient\","
                     "\"multipleBirthInteger\":1.2.3}",
         GW_EPARSE, "JSON line 1"},
        {"bare minus", "{\"resourceType\":\"Patient\","
                       "\"multipleBirthInteger\":-}",
         GW_EPARSE, "number"},
        {"exponent without digits", "{\"resourceType\":\"Patient\","
                                    "\"multipleBirthInteger\":1e}",
         GW_EPARSE, "number"},
        {"bad literal", "{\"resourceType\":\"Patient\",\"active\":tru}",
         GW_EPARSE, "invalid token"},
        {"trailing bytes", "{\"resourceType\":\"Patient\",\"active\":true}x",
         GW_EPARSE, "end of input"},
        {"line of the fault", "{\"resourceType\":\"Patient\",\n\n\"active\":"
                              "\"\\q\"}",
         GW_EPARSE, "JSON line 3"},
        {"unterminated", "{\"resourceType\":\"Patient\",\"gender\":\"ma",
         GW_EPARSE, "end of input"},
        {"key with NUL", "{\"resourceType\":\"Patient\",\"gender\\u0000x\":"
                         "\"male\"}",
         GW_EVALIDATION, "unknown element"},
        {"resourceType with NUL", "{\"resourceType\":\"Patient\\u0000\"}",
         GW_EVALIDATION, "resource type"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_fhir_doc *doc = NULL;
        struct gw_err err;
        char *xml = NULL;
        size_t n;
        gw_rc rc = parse(cases[i].in, strlen(cases[i].in), &doc, &err);
        if (rc != cases[i].rc)
            fail_msg("case '%s': %s: %s", cases[i].name, gw_rc_name(rc),
                     err.detail);
        if (rc != GW_OK) {
            if (strstr(err.detail, cases[i].want) == NULL)
                fail_msg("case '%s': %s", cases[i].name, err.detail);
            continue;
        }
        assert_int_equal(gw_fhir_to_xml(doc, &xml, &n), GW_OK);
        if (strstr(xml, cases[i].want) == NULL)
            fail_msg("case '%s': %s", cases[i].name, xml);
        free(xml);
        gw_fhir_doc_free(doc);
    }
}

/* A duplicate key is refused in an object of any size, also where the
 * reader sorts the keys (past 16) instead of comparing each pair. */
static void
test_fhir_json_duplicate_keys_in_big_objects(void **state)
{
    (void)state;
    for (int keys = 2; keys <= 200; keys += keys < 20 ? 1 : 60) {
        struct gw_buf b;
        struct gw_fhir_doc *doc = NULL;
        struct gw_err err;
        gw_buf_init(&b, 1 << 20);
        assert_int_equal(gw_buf_append_str(&b, "{\"resourceType\":\"Patient\""),
                         GW_OK);
        for (int k = 1; k < keys; k++)
            assert_int_equal(gw_buf_appendf(&b, ",\"k%d\":1", k), GW_OK);
        /* the first key again, last */
        assert_int_equal(gw_buf_append_str(&b, ",\"resourceType\":\"Patient\"}"),
                         GW_OK);
        assert_int_equal(parse(b.data, b.len, &doc, &err), GW_EPARSE);
        if (strstr(err.detail, "duplicate") == NULL)
            fail_msg("%d keys: %s", keys, err.detail);
        gw_buf_release(&b);
    }
}

/* Every truncation and a bit flip per byte of a fixture: a clean answer,
 * never a crash (the sanitizer build checks memory). */
static void
test_fhir_truncations_and_bit_flips_end_cleanly(void **state)
{
    static const char *const files[] = {"message-motivation.json",
                                        "message-motivation.xml"};
    (void)state;
    for (size_t f = 0; f < 2; f++) {
        char path[600];
        size_t n;
        char *in, *copy;
        int ok = 0, refused = 0;
        snprintf(path, sizeof(path), "%s/tests/fixtures/fhir/%s",
                 GW_SOURCE_DIR, files[f]);
        in = text_slurp_path(path, &n);
        copy = malloc(n + 1);
        for (size_t i = 0; i < n; i += 7) {
            struct gw_fhir_doc *doc = NULL;
            struct gw_err err;
            for (int flip = 0; flip < 2; flip++) {
                size_t len = flip ? n : i;
                memcpy(copy, in, n);
                if (flip)
                    copy[i] ^= 0x20;
                if (parse(copy, len, &doc, &err) == GW_OK) {
                    ok++;
                    gw_fhir_doc_free(doc);
                } else {
                    if (err.detail[0] == '\0')
                        fail_msg("%s at %zu: refused without a reason",
                                 files[f], i);
                    refused++;
                }
            }
        }
        assert_true(refused > 0);
        free(in);
        free(copy);
    }
}

/* Every ASCII byte, escaped as element text and as an attribute value,
 * gives well-formed XML 1.0 (the parser is the judge) that reads back as
 * the byte itself, or as a space where XML 1.0 allows no such character. */
static void
test_xml_escape_gives_well_formed_xml_for_every_byte(void **state)
{
    (void)state;
    for (int c = 1; c < 0x80; c++) {
        char in[4] = {'x', (char)c, 'y', '\0'};
        struct gw_buf b;
        xmlDocPtr d;
        xmlChar *text, *attr;
        int allowed = c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
        char want[4] = {'x', allowed ? (char)c : ' ', 'y', '\0'};

        gw_buf_init(&b, 1024);
        assert_int_equal(gw_buf_append_str(&b, "<a v=\""), GW_OK);
        assert_int_equal(gw_xml_escape(&b, in), GW_OK);
        assert_int_equal(gw_buf_append_str(&b, "\">"), GW_OK);
        assert_int_equal(gw_xml_escape(&b, in), GW_OK);
        assert_int_equal(gw_buf_append_str(&b, "</a>"), GW_OK);
        d = xmlReadMemory(b.data, (int)b.len, NULL, NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR |
                              XML_PARSE_NOWARNING);
        if (d == NULL)
            fail_msg("byte 0x%02x: the escaped text is not well-formed XML", c);
        text = xmlNodeGetContent(xmlDocGetRootElement(d));
        attr = xmlGetProp(xmlDocGetRootElement(d), (const xmlChar *)"v");
        /* The parser turns CR into LF in text, and TAB, LF, CR into spaces
         * in attribute values (XML 1.0 2.11, 3.3.3). */
        if (c != '\r' && strcmp((const char *)text, want) != 0)
            fail_msg("byte 0x%02x: text reads back as '%s'", c, text);
        if (c >= 0x20 && strcmp((const char *)attr, want) != 0)
            fail_msg("byte 0x%02x: attribute reads back as '%s'", c, attr);
        xmlFree(text);
        xmlFree(attr);
        xmlFreeDoc(d);
        gw_buf_release(&b);
    }
}

/* An attribute value escaped as gw_fhir_to_xml writes it reads back as
 * it was, tab, LF and CR too; a control character XML 1.0 cannot carry
 * as a space. Its bytes are libxml2's for the value it reads back. */
static void
test_xml_escape_attr_reads_back_as_written(void **state)
{
    (void)state;
    for (int c = 1; c < 0x80; c++) {
        char in[4] = {'x', (char)c, 'y', '\0'};
        struct gw_buf b;
        xmlDocPtr d;
        xmlChar *attr, *mem = NULL;
        int size = 0,
            allowed = c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
        char want[4] = {'x', allowed ? (char)c : ' ', 'y', '\0'};
        const char *written;

        gw_buf_init(&b, 1024);
        assert_int_equal(gw_buf_append_str(&b, "<a v=\""), GW_OK);
        assert_int_equal(gw_xml_escape_attr(&b, in), GW_OK);
        assert_int_equal(gw_buf_append_str(&b, "\"/>"), GW_OK);
        d = xmlReadMemory(b.data, (int)b.len, NULL, NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR |
                              XML_PARSE_NOWARNING);
        if (d == NULL)
            fail_msg("byte 0x%02x: the escaped value is not well-formed", c);
        attr = xmlGetProp(xmlDocGetRootElement(d), (const xmlChar *)"v");
        if (strcmp((const char *)attr, want) != 0)
            fail_msg("byte 0x%02x: attribute reads back as '%s'", c, attr);
        xmlDocDumpFormatMemoryEnc(d, &mem, &size, "UTF-8", 0);
        written = strstr((const char *)mem, "<a v=");
        if (written == NULL || strncmp(written, b.data, b.len - 2) != 0)
            fail_msg("byte 0x%02x: libxml2 writes %s", c, (const char *)mem);
        xmlFree(mem);
        xmlFree(attr);
        xmlFreeDoc(d);
        gw_buf_release(&b);
    }
    {
        struct gw_buf b;
        gw_buf_init(&b, 64);
        assert_int_equal(gw_xml_escape_attr(&b, NULL), GW_OK);
        assert_int_equal(b.len, 0);
        gw_buf_release(&b);
    }
}

/* A walk's path (path.h): segments pushed and popped, written out only
 * when asked; those past the kept ones count for the pops but are not
 * written, and the text is cut at its end. */
static void
test_fhir_path_written_from_its_segments(void **state)
{
    struct gw_fhir_path *p = malloc(sizeof(*p));
    size_t a, b, old;

    (void)state;
    assert_non_null(p);
    gw_fhir_path_init(p);
    assert_string_equal(gw_fhir_path_text(p), "");
    a = gw_fhir_path_push(p, "Bundle", -1);
    b = gw_fhir_path_push(p, "entry", 12);
    gw_fhir_path_push(p, "resource", -1);
    assert_string_equal(gw_fhir_path_text(p), "Bundle.entry[12].resource");
    gw_fhir_path_pop(p, b);
    gw_fhir_path_push(p, "link", 0);
    assert_string_equal(gw_fhir_path_text(p), "Bundle.link[0]");
    gw_fhir_path_pop(p, a);
    assert_string_equal(gw_fhir_path_text(p), "");
    for (int i = 0; i < GW_FHIR_PATH_SEGS; i++)
        gw_fhir_path_push(p, "x", -1);
    old = gw_fhir_path_push(p, "beyond", 7);
    assert_int_equal(old, GW_FHIR_PATH_SEGS);
    assert_int_equal(strlen(gw_fhir_path_text(p)), sizeof(p->text) - 1);
    assert_null(strstr(p->text, "beyond"));
    gw_fhir_path_pop(p, 1);
    assert_string_equal(gw_fhir_path_text(p), "x");
    free(p);
}

/* Dates are read with core/digits.h, as klas/ident.c reads them: the
 * Gregorian calendar's months and leap years, digits only. */
static void
test_fhir_dates_follow_the_calendar(void **state)
{
    static const struct {
        enum gw_fhir_prim p;
        const char *v;
        int ok;
    } cases[] = {
        {GW_FHIR_P_DATE, "2000-02-29", 1},
        {GW_FHIR_P_DATE, "2024-02-29", 1},
        {GW_FHIR_P_DATE, "1900-02-29", 0},
        {GW_FHIR_P_DATE, "2023-02-29", 0},
        {GW_FHIR_P_DATE, "2023-04-31", 0},
        {GW_FHIR_P_DATE, "2023-12-31", 1},
        {GW_FHIR_P_DATE, "2023-13", 0},
        {GW_FHIR_P_DATE, "2023-00", 0},
        {GW_FHIR_P_DATE, "0000", 0},
        {GW_FHIR_P_DATE, "2023-1a", 0},
        {GW_FHIR_P_DATETIME, "2024-02-29T23:59:60+14:00", 1},
        {GW_FHIR_P_DATETIME, "2024-02-29T24:00:00Z", 0},
        {GW_FHIR_P_DATETIME, "2024-02-29T12:00:00+15:00", 0},
        {GW_FHIR_P_TIME, "12:3x:00", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = NULL;
        if (gw_fhir_prim_valid(cases[i].p, cases[i].v, &why) != cases[i].ok)
            fail_msg("%s: %s", cases[i].v, cases[i].ok ? why : "accepted");
    }
}

/* The conformance resources the gateway publishes are in the model to be
 * written (conformance.c); taken in, at the root or inside a Bundle, in
 * JSON or XML, they are refused like any type it does not exchange. */
static void
test_fhir_published_types_are_refused_inbound(void **state)
{
    static const char *const in[] = {
        "{\"resourceType\":\"OperationDefinition\",\"name\":\"X\","
        "\"status\":\"active\",\"kind\":\"operation\",\"code\":\"x\","
        "\"system\":true,\"type\":false,\"instance\":false}",
        "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":"
        "[{\"resource\":{\"resourceType\":\"MessageDefinition\","
        "\"status\":\"active\",\"date\":\"2026-12-01\","
        "\"eventUri\":\"urn:x\"}}]}",
        "<SearchParameter xmlns=\"http://hl7.org/fhir\"><status "
        "value=\"active\"/></SearchParameter>",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct gw_fhir_doc *doc = NULL;
        struct gw_err err;
        assert_int_equal(parse(in[i], strlen(in[i]), &doc, &err),
                         GW_EVALIDATION);
        assert_null(doc);
    }
}

/* Takes the child element `name` out of root (it must be there). */
static void
drop_child(xmlNodePtr root, const char *name)
{
    xmlNodePtr n;

    for (n = root->children; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE &&
            strcmp((const char *)n->name, name) == 0)
            break;
    assert_non_null(n);
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

/* A tree changed in place (a subset) is checked against the model
 * without being written out: a required element taken away is refused
 * with its name, as reading the document in would refuse it. */
static void
test_fhir_doc_check_refuses_a_tree_changed_badly(void **state)
{
    static const char task[] =
        "{\"resourceType\":\"Task\",\"id\":\"t1\",\"status\":\"draft\","
        "\"intent\":\"order\",\"description\":\"x\"}";
    struct gw_fhir_doc *doc = NULL;
    struct gw_err err;
    xmlNodePtr root;

    (void)state;
    assert_int_equal(parse(task, strlen(task), &doc, &err), GW_OK);
    assert_int_equal(gw_fhir_doc_check(doc, NULL, &err), GW_OK);
    root = xmlDocGetRootElement(gw_fhir_doc_xml(doc));
    drop_child(root, "description"); /* optional: still a Task */
    assert_int_equal(gw_fhir_doc_check(doc, NULL, &err), GW_OK);
    drop_child(root, "status"); /* required */
    gw_err_clear(&err);
    assert_int_equal(gw_fhir_doc_check(doc, NULL, &err), GW_EVALIDATION);
    assert_non_null(strstr(err.detail, "status"));
    gw_fhir_doc_free(doc);
}

/* The model's index (model.c): every type found by its name and every
 * element by its type and name, each at its own row; names that are not
 * in the table, or belong to another type, are not found. */
static void
test_fhir_model_index_finds_every_entry_and_no_other(void **state)
{
    static const char *const strangers[] = {
        "", "x", "Bundl", "Bundlee", "bundle", "entry ", "valueX"};
    unsigned found = 0;

    (void)state;
    for (unsigned i = 0; i < gw_fhir_ntypes; i++) {
        const struct gw_fhir_type *t = &gw_fhir_types[i];
        if (gw_fhir_type_find(t->name) != t)
            fail_msg("type %s not found at its row", t->name);
        for (unsigned k = t->first; k < (unsigned)t->first + t->n; k++) {
            if (gw_fhir_elem_find(t, gw_fhir_elems[k].name) !=
                &gw_fhir_elems[k])
                fail_msg("%s.%s not found at its row", t->name,
                         gw_fhir_elems[k].name);
            found++;
        }
        for (size_t s = 0; s < sizeof(strangers) / sizeof(strangers[0]); s++)
            assert_null(gw_fhir_elem_find(t, strangers[s]));
    }
    assert_int_equal(found, gw_fhir_nelems);
    for (size_t s = 0; s < sizeof(strangers) / sizeof(strangers[0]); s++)
        assert_null(gw_fhir_type_find(strangers[s]));
    /* An element of another type is not one of this type's. */
    assert_non_null(
        gw_fhir_elem_find(gw_fhir_type_find("Bundle.entry"), "fullUrl"));
    assert_null(gw_fhir_elem_find(gw_fhir_type_find("Bundle"), "fullUrl"));
    assert_null(gw_fhir_elem_find(gw_fhir_type_find("Extension"), "status"));
    assert_null(gw_fhir_resource_find("Bundle.entry")); /* a backbone */
    assert_non_null(gw_fhir_resource_find("Task"));
}

/* The entries of one [x] choice are neighbours in definition order: the
 * walks (json.c's fill, xml.c's walk_members) look for a second choice
 * of a group only next to the first. */
static void
test_fhir_model_choice_groups_are_contiguous(void **state)
{
    unsigned groups = 0;

    (void)state;
    for (unsigned i = 0; i < gw_fhir_ntypes; i++) {
        const struct gw_fhir_type *t = &gw_fhir_types[i];
        for (unsigned k = 0; k < t->n; k++) {
            unsigned c = gw_fhir_elems[t->first + k].choice;
            if (c == 0 || (k > 0 && gw_fhir_elems[t->first + k - 1].choice == c))
                continue;
            groups++;
            /* the group's first entry: none of it may come later */
            for (unsigned j = k + 1; j < t->n; j++)
                if (gw_fhir_elems[t->first + j].choice == c &&
                    gw_fhir_elems[t->first + j - 1].choice != c)
                    fail_msg("%s.%s: its [x] group is split", t->name,
                             gw_fhir_elems[t->first + j].name);
        }
    }
    assert_true(groups > 0);
}

/* Every type's list of required elements (model.c, for the walks' check
 * of missing ones) is its elements with min > 0, in definition order. */
static void
test_fhir_model_required_lists_every_required_element(void **state)
{
    unsigned listed = 0;

    (void)state;
    for (unsigned i = 0; i < gw_fhir_ntypes; i++) {
        const struct gw_fhir_type *t = &gw_fhir_types[i];
        const uint16_t *idx;
        unsigned n = gw_fhir_type_required(t, &idx), r = 0;
        if (idx == NULL)
            fail_msg("type %s has no list", t->name);
        for (unsigned k = 0; k < t->n; k++)
            if (gw_fhir_elems[t->first + k].min > 0) {
                if (r >= n || idx[r] != k)
                    fail_msg("%s.%s is not listed in its place", t->name,
                             gw_fhir_elems[t->first + k].name);
                r++;
            }
        assert_int_equal(r, n);
        listed += n;
    }
    assert_true(listed > 0);
}

/* gw_fhir_to_xml writes a plain tree itself (fhir.c): its bytes are
 * libxml2's (xmlDocDumpFormatMemoryEnc, UTF-8, unformatted) for every
 * example and fixture, read from JSON and from XML, and for values that
 * need escaping. */
static int
same_as_libxml2(const char *in, size_t n, const char *name)
{
    struct gw_fhir_doc *doc;
    struct gw_err err;
    xmlChar *mem = NULL;
    char *out = NULL;
    size_t len = 0;
    int size = 0, same;

    if (parse(in, n, &doc, &err) != GW_OK)
        return -1; /* refused: nothing to write */
    assert_int_equal(gw_fhir_to_xml(doc, &out, &len), GW_OK);
    xmlDocDumpFormatMemoryEnc(gw_fhir_doc_xml(doc), &mem, &size, "UTF-8", 0);
    assert_non_null(mem);
    same =
        (size_t)size == len && memcmp(mem, out, len) == 0 && out[len] == '\0';
    if (!same)
        print_message("%s: gw_fhir_to_xml differs from libxml2\n%s\n%s\n", name,
                      out, (const char *)mem);
    xmlFree(mem);
    free(out);
    gw_fhir_doc_free(doc);
    return same;
}

static void
test_fhir_xml_written_as_libxml2_writes_it(void **state)
{
    static const char *const dirs[] = {
        "fhir-profiles/examples/valid", "fhir-profiles/examples/invalid",
        "tests/fixtures/fhir", "tests/fixtures/ig"};
    static const char escaped[] =
        "{\"resourceType\": \"Patient\", \"id\": \"p1\", \"name\": "
        "[{\"family\": \"a\\\"b<c>d&e'f\\n\\r\\tg \u00e5\u00e4\u00f6 "
        "\u20ac \U0001F600 ]]> &amp;\", \"given\": [\"x\"]}], "
        "\"_birthDate\": {\"id\": \"b\"}, \"extension\": [{\"url\": "
        "\"http://x/y?a=1&b=2\", \"valueString\": \"<\\u0001>\"}]}";
    int files = 0, bad = 0;
    (void)state;

    for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
        char dir[512], path[800];
        struct dirent *e;
        DIR *d;
        snprintf(dir, sizeof(dir), "%s/%s", GW_SOURCE_DIR, dirs[k]);
        if ((d = opendir(dir)) == NULL)
            continue;
        while ((e = readdir(d)) != NULL) {
            size_t n, jn;
            char *in, *j;
            if (e->d_name[0] == '.' || (strstr(e->d_name, ".json") == NULL &&
                                        strstr(e->d_name, ".xml") == NULL))
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            in = text_slurp_path(path, &n);
            if (same_as_libxml2(in, n, e->d_name) == 0)
                bad++;
            else
                files++;
            /* The same tree read from JSON (another shape in memory). */
            {
                struct gw_fhir_doc *doc;
                struct gw_err err;
                if (parse(in, n, &doc, &err) == GW_OK) {
                    assert_int_equal(gw_fhir_to_json(doc, &j, &jn), GW_OK);
                    gw_fhir_doc_free(doc);
                    bad += same_as_libxml2(j, jn, e->d_name) == 0;
                    free(j);
                }
            }
            free(in);
        }
        closedir(d);
    }
    bad += same_as_libxml2(escaped, strlen(escaped), "escaped") != 1;
    assert_true(files > 50);
    assert_int_equal(bad, 0);
}

/* jsonw.h's layout, and the one rule that differs between its writers:
 * a control character is \u00XX in gw_fhir_to_json's answers, a space in
 * the receipt's (what a tree built by fhir/build.h holds). */
static void
test_fhir_jsonw_layout_and_control_characters(void **state)
{
    static const char *const want[] = {
        "{\n  \"a\": [\n    \"x\\u0001\\\"\\n\"\n  ],\n  \"b\": {}\n}",
        "{\n  \"a\": [\n    \"x \\\"\\n\"\n  ],\n  \"b\": {}\n}",
    };
    (void)state;

    for (int ctl_space = 0; ctl_space < 2; ctl_space++) {
        struct gw_buf b;
        struct gw_fhir_out *o = malloc(sizeof(*o));
        struct gw_jsonw *j = malloc(sizeof(*j));
        size_t n;
        char *text;
        assert_non_null(o);
        assert_non_null(j);
        gw_buf_init(&b, 1 << 16);
        gw_fhir_out_init(o, &b);
        gw_jsonw_init(j, o, ctl_space);
        gw_jsonw_open(j, "{");
        gw_jsonw_member(j, "a");
        gw_jsonw_open(j, "[");
        gw_jsonw_member(j, NULL);
        gw_jsonw_string(j, "x\001\"\n");
        gw_jsonw_close(j, "]");
        gw_jsonw_member(j, "b");
        gw_jsonw_open(j, "{");
        gw_jsonw_close(j, "}");
        gw_jsonw_close(j, "}");
        gw_fhir_out_flush(o);
        assert_int_equal(o->rc, GW_OK);
        text = gw_buf_take(&b, &n);
        assert_non_null(text);
        assert_string_equal(text, want[ctl_space]);
        free(text);
        gw_buf_release(&b);
        free(j);
        free(o);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fhir_round_trips_are_byte_stable),
        cmocka_unit_test(test_fhir_keeps_decimals_and_companions),
        cmocka_unit_test(test_fhir_refuses_with_the_path_of_the_fault),
        cmocka_unit_test(
            test_fhir_json_tree_checked_where_the_walk_cannot_vouch),
        cmocka_unit_test(test_fhir_refuses_hostile_inputs),
        cmocka_unit_test(test_fhir_xml_limits_bite_while_reading),
        cmocka_unit_test(test_fhir_json_values_counted_before_parsing),
        cmocka_unit_test(test_fhir_json_reader_decodes_and_refuses),
        cmocka_unit_test(test_fhir_json_duplicate_keys_in_big_objects),
        cmocka_unit_test(test_fhir_truncations_and_bit_flips_end_cleanly),
        cmocka_unit_test(test_xml_escape_gives_well_formed_xml_for_every_byte),
        cmocka_unit_test(test_xml_escape_attr_reads_back_as_written),
        cmocka_unit_test(test_fhir_path_written_from_its_segments),
        cmocka_unit_test(test_fhir_dates_follow_the_calendar),
        cmocka_unit_test(test_fhir_published_types_are_refused_inbound),
        cmocka_unit_test(test_fhir_doc_check_refuses_a_tree_changed_badly),
        cmocka_unit_test(test_fhir_model_index_finds_every_entry_and_no_other),
        cmocka_unit_test(test_fhir_model_choice_groups_are_contiguous),
        cmocka_unit_test(test_fhir_model_required_lists_every_required_element),
        cmocka_unit_test(test_fhir_xml_written_as_libxml2_writes_it),
        cmocka_unit_test(test_fhir_jsonw_layout_and_control_characters),
    };
    gw_fhir_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
