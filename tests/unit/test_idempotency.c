/*
 * test_idempotency.c - what makes two messages "the same" for the inbox,
 * and that every message fact is kept whole or refused, never cut.
 *
 * The content hash: every valid example as JSON and as XML, pretty and
 * compact, gives one digest; Bundle.id, Bundle.meta and Bundle.timestamp
 * do not count; any other change does.
 *
 * The fact caps: for every row of the facts table (facts.h), a valid
 * example that carries the field gets a value of exactly the cap (kept
 * whole) and of the cap plus one (refused: too-long, naming the element
 * and the cap, the fact left empty). The values are put where the
 * example has the field's value, found by value, not by the walk's paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir_xml.h"
#include "validate/facts.h"
#include "validate/outcome.h"
#include "validate/rules.h"

#include "text_fixture.h"

#define EXAMPLES GW_SOURCE_DIR "/fhir-profiles/examples/valid"

static void
hash_of(const char *what, const char *bytes, size_t len, char out[65])
{
    struct gw_fhir_doc *doc = NULL;
    struct gw_err err;

    gw_err_clear(&err);
    if (gw_fhir_parse(bytes, len, GW_FHIR_SNIFF, NULL, &doc, &err) != GW_OK)
        fail_msg("%s: does not parse: %s %s", what, err.path, err.detail);
    assert_int_equal(gw_msg_content_hash(doc, out), GW_OK);
    gw_fhir_doc_free(doc);
}

static void
hash_file(const char *name, char out[65])
{
    char rel[512];
    char *s;

    snprintf(rel, sizeof(rel), "fhir-profiles/examples/valid/%s", name);
    s = text_slurp(rel);
    hash_of(name, s, strlen(s), out);
    free(s);
}

/* The JSON example re-serialised by jansson: compact, and with another
 * indentation and key order, as a retry library would. */
static void
hash_json_reserialised(const char *name, size_t flags, char out[65])
{
    char path[512], *dump;
    json_error_t je;
    json_t *j;

    snprintf(path, sizeof(path), "%s/%s", EXAMPLES, name);
    j = json_load_file(path, 0, &je);
    if (j == NULL)
        fail_msg("%s: %s", name, je.text);
    dump = json_dumps(j, flags);
    assert_non_null(dump);
    hash_of(name, dump, strlen(dump), out);
    free(dump);
    json_decref(j);
}

/* The XML example pretty-printed by libxml2 (indentation added). */
static void
hash_xml_pretty(const char *name, char out[65])
{
    char path[512];
    xmlDocPtr d;
    xmlChar *mem = NULL;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", EXAMPLES, name);
    d = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    assert_non_null(d);
    xmlDocDumpFormatMemoryEnc(d, &mem, &n, "UTF-8", 1);
    hash_of(name, (const char *)mem, (size_t)n, out);
    xmlFree(mem);
    xmlFreeDoc(d);
}

static void
test_idempotency_every_serialisation_has_one_hash(void **state)
{
    struct dirent *e;
    DIR *d = opendir(EXAMPLES);
    int pairs = 0;

    (void)state;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char xmlname[300], a[65], b[65];
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        snprintf(xmlname, sizeof(xmlname), "%.*s.xml", (int)(l - 5),
                 e->d_name);
        hash_file(e->d_name, a);
        hash_file(xmlname, b);
        if (strcmp(a, b) != 0)
            fail_msg("%s: JSON and XML hash differently", e->d_name);
        hash_json_reserialised(e->d_name, JSON_COMPACT, b);
        if (strcmp(a, b) != 0)
            fail_msg("%s: compact JSON hashes differently", e->d_name);
        hash_json_reserialised(e->d_name, JSON_INDENT(7) | JSON_SORT_KEYS, b);
        if (strcmp(a, b) != 0)
            fail_msg("%s: sorted keys hash differently", e->d_name);
        hash_xml_pretty(xmlname, b);
        if (strcmp(a, b) != 0)
            fail_msg("%s: pretty XML hashes differently", e->d_name);
        pairs++;
    }
    closedir(d);
    assert_true(pairs >= 10);
}

/* Edits of one JSON example, each with whether it is the same content. */
static const struct {
    const char *name;
    const char *key;   /* top-level Bundle key set */
    const char *value; /* JSON text */
    int same;
} edits[] = {
    {"new Bundle.id", "id", "\"a-new-id-on-retry\"", 1},
    {"new Bundle.timestamp", "timestamp", "\"2030-01-01T00:00:00Z\"", 1},
    {"new Bundle.meta", "meta", "{\"lastUpdated\":\"2030-01-01T00:00:00Z\"}",
     1},
    {"new Bundle.identifier", "identifier",
     "{\"system\":\"urn:ietf:rfc:3986\",\"value\":\"urn:uuid:"
     "00000000-0000-4000-8000-000000000001\"}",
     0},
    {"Bundle.type changed", "type", "\"collection\"", 0},
};

static void
test_idempotency_only_id_meta_timestamp_do_not_count(void **state)
{
    const char *name = "motivation-enskild-searched.json";
    char path[512], base[65], h[65];
    json_error_t je;

    (void)state;
    snprintf(path, sizeof(path), "%s/%s", EXAMPLES, name);
    hash_file(name, base);
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        json_t *j = json_load_file(path, 0, &je);
        json_t *v = json_loads(edits[i].value, JSON_DECODE_ANY, &je);
        char *dump;
        assert_non_null(j);
        assert_non_null(v);
        json_object_set_new(j, edits[i].key, v);
        dump = json_dumps(j, JSON_COMPACT);
        hash_of(edits[i].name, dump, strlen(dump), h);
        if ((strcmp(base, h) == 0) != edits[i].same)
            fail_msg("%s: %s", edits[i].name,
                     edits[i].same ? "changed the hash" : "kept the hash");
        free(dump);
        json_decref(j);
    }
}

/* --- fact caps -------------------------------------------------------- */

/* Sets every value="old" in the tree to new; returns how many. */
static int
replace_values(xmlNodePtr n, const char *old, const char *new)
{
    int k = 0;

    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        xmlChar *v = xmlGetProp(n, (const xmlChar *)"value");
        if (v != NULL && strcmp((const char *)v, old) == 0) {
            xmlSetProp(n, (const xmlChar *)"value", (const xmlChar *)new);
            k++;
        }
        xmlFree(v);
        k += replace_values(n->children, old, new);
    }
    return k;
}

static const struct gw_msg_fact_field *
field_named(const char *name)
{
    for (size_t i = 0; i < gw_msg_nfact_fields; i++)
        if (strcmp(gw_msg_fact_fields[i].name, name) == 0)
            return &gw_msg_fact_fields[i];
    return NULL;
}

static const char *
fact_of(const struct gw_msg_facts *f, const struct gw_msg_fact_field *ff)
{
    return (const char *)f + ff->offset;
}

static xmlNodePtr
child(xmlNodePtr n, const char *name)
{
    for (n = n->children; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE &&
            strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

/* The examples carry no Bundle.identifier (a sender adds its own, as
 * tests/e2e/fj.py does): give them one, before Bundle.type. */
static void
add_identifier(xmlDocPtr d)
{
    xmlNodePtr root = xmlDocGetRootElement(d), id, n;

    if (child(root, "identifier") != NULL)
        return;
    id = xmlNewNode(root->ns, (const xmlChar *)"identifier");
    n = xmlNewChild(id, root->ns, (const xmlChar *)"system", NULL);
    xmlSetProp(n, (const xmlChar *)"value", (const xmlChar *)"urn:ietf:rfc:3986");
    n = xmlNewChild(id, root->ns, (const xmlChar *)"value", NULL);
    xmlSetProp(n, (const xmlChar *)"value",
               (const xmlChar *)"urn:uuid:6f1c1e1a-0000-4000-8000-00000000abcd");
    xmlAddPrevSibling(child(root, "type"), id);
}

/* Fields the examples leave out, added so every fact has a place: the
 * MessageHeader's own id, and an address of every organisation named by
 * a GLN (urn:oid:2.51.1.3, a pharmacy) that has none. */
static void
add_optional(xmlNodePtr n)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)n->name, "MessageHeader") == 0 &&
            child(n, "id") == NULL) {
            xmlNodePtr id = xmlNewNode(n->ns, (const xmlChar *)"id");
            xmlSetProp(id, (const xmlChar *)"value",
                       (const xmlChar *)"header-1");
            if (n->children != NULL)
                xmlAddPrevSibling(n->children, id);
            else
                xmlAddChild(n, id);
        }
        if (strcmp((const char *)n->name, "Organization") == 0 &&
            child(n, "address") == NULL && child(n, "identifier") != NULL) {
            xmlNodePtr sys = child(child(n, "identifier"), "system");
            xmlChar *v = sys ? xmlGetProp(sys, (const xmlChar *)"value")
                             : NULL;
            if (v != NULL && strcmp((const char *)v, "urn:oid:2.51.1.3") == 0) {
                xmlNodePtr a = xmlNewNode(n->ns, (const xmlChar *)"address");
                xmlNodePtr after = child(n, "telecom") ? child(n, "telecom")
                                                       : child(n, "name");
                xmlSetProp(xmlNewChild(a, n->ns, (const xmlChar *)"line", NULL),
                           (const xmlChar *)"value",
                           (const xmlChar *)"Apoteksgatan 1");
                xmlSetProp(xmlNewChild(a, n->ns, (const xmlChar *)"city", NULL),
                           (const xmlChar *)"value",
                           (const xmlChar *)"Uppsala");
                if (after != NULL)
                    xmlAddNextSibling(after, a);
                else
                    xmlFreeNode(a);
            }
            xmlFree(v);
        }
        add_optional(n->children);
    }
}

static xmlDocPtr
load_xml(const char *name)
{
    char rel[512];
    char *s;
    struct gw_fhir_doc *doc = NULL;
    struct gw_err err;
    xmlDocPtr copy;

    snprintf(rel, sizeof(rel), "fhir-profiles/examples/valid/%s", name);
    s = text_slurp(rel);
    gw_err_clear(&err);
    assert_int_equal(gw_fhir_parse(s, strlen(s), GW_FHIR_SNIFF, NULL, &doc, &err),
                     GW_OK);
    copy = xmlCopyDoc(gw_fhir_doc_xml(doc), 1);
    gw_fhir_doc_free(doc);
    free(s);
    add_identifier(copy);
    add_optional(xmlDocGetRootElement(copy));
    return copy;
}

static int
too_long_issues(const struct gw_outcome *o, size_t cap, char *where,
                size_t size)
{
    char want[64];
    int k = 0;

    snprintf(want, sizeof(want), "limit is %zu bytes", cap);
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->issues[i].code, "too-long") == 0) {
            if (strstr(o->issues[i].en, want) == NULL &&
                strstr(o->issues[i].en, "limit of") == NULL)
                fail_msg("too-long issue without the cap: %s",
                         o->issues[i].en);
            snprintf(where, size, "%s", o->issues[i].expression);
            k++;
        }
    return k;
}

/* One field in one example at length len: kept whole, or refused. */
static void
try_length(const char *example, const struct gw_msg_fact_field *ff,
           const char *orig, size_t len)
{
    xmlDocPtr d = load_xml(example);
    char *val = malloc(len + 1), where[200] = "";
    struct gw_msg_facts f;
    struct gw_outcome o;
    int n;

    assert_non_null(val);
    memset(val, 'x', len);
    val[len] = '\0';
    if (replace_values(xmlDocGetRootElement(d), orig, val) == 0)
        fail_msg("%s/%s: value not found again", example, ff->name);
    gw_outcome_init(&o);
    assert_int_equal(gw_rules_run(d, "2026-11-22", &o, &f), GW_OK);
    n = too_long_issues(&o, ff->cap, where, sizeof(where));
    if (len <= ff->cap) {
        if (n != 0)
            fail_msg("%s/%s: %zu bytes (cap %zu) refused at %s", example,
                     ff->name, len, ff->cap, where);
        if (strcmp(fact_of(&f, ff), val) != 0)
            fail_msg("%s/%s: %zu bytes (cap %zu) not kept whole (%zu)",
                     example, ff->name, len, ff->cap,
                     strlen(fact_of(&f, ff)));
    } else {
        if (n == 0)
            fail_msg("%s/%s: %zu bytes (cap %zu) not refused", example,
                     ff->name, len, ff->cap);
        if (where[0] == '\0')
            fail_msg("%s/%s: the refusal names no element", example,
                     ff->name);
        if (fact_of(&f, ff)[0] != '\0')
            fail_msg("%s/%s: a refused value was kept (%zu bytes)", example,
                     ff->name, strlen(fact_of(&f, ff)));
    }
    gw_outcome_release(&o);
    free(val);
    xmlFreeDoc(d);
}

static void
test_idempotency_every_fact_whole_at_cap_refused_past_it(void **state)
{
    int *covered = calloc(gw_msg_nfact_fields, sizeof(int));
    struct dirent *e;
    DIR *d = opendir(EXAMPLES);

    (void)state;
    assert_non_null(d);
    assert_non_null(covered);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        struct gw_msg_facts f;
        struct gw_outcome o;
        xmlDocPtr x;
        if (l < 5 || strcmp(e->d_name + l - 4, ".xml") != 0)
            continue;
        x = load_xml(e->d_name);
        gw_outcome_init(&o);
        assert_int_equal(gw_rules_run(x, "2026-11-22", &o, &f), GW_OK);
        gw_outcome_release(&o);
        xmlFreeDoc(x);
        for (size_t i = 0; i < gw_msg_nfact_fields; i++) {
            const struct gw_msg_fact_field *ff = &gw_msg_fact_fields[i];
            char *orig = strdup(fact_of(&f, ff));
            xmlDocPtr probe;
            int found;
            if (covered[i] || orig[0] == '\0') {
                free(orig);
                continue;
            }
            /* The example must carry the value as one element's value
             * (a joined value like two substances is not). */
            probe = load_xml(e->d_name);
            found = replace_values(xmlDocGetRootElement(probe), orig, orig);
            xmlFreeDoc(probe);
            if (found > 0) {
                try_length(e->d_name, ff, orig, ff->cap);
                try_length(e->d_name, ff, orig, ff->cap + 1);
                covered[i] = 1;
            }
            free(orig);
        }
    }
    closedir(d);
    for (size_t i = 0; i < gw_msg_nfact_fields; i++)
        if (!covered[i])
            fail_msg("fact %s: no example carries it",
                     gw_msg_fact_fields[i].name);
    assert_non_null(field_named("message_id"));
    free(covered);
}

/* The bug of issue 12 §5: two 250-byte message ids that share their
 * first 127 bytes were one idempotency key. Now both are kept whole. */
static void
test_idempotency_long_message_ids_stay_distinct(void **state)
{
    const struct gw_msg_fact_field *ff = field_named("message_id");
    char a[251], b[251];
    struct gw_msg_facts fa, fb;
    struct gw_outcome o;
    xmlDocPtr d;

    (void)state;
    assert_non_null(ff);
    assert_true(ff->cap >= 250);
    memset(a, 'm', 250);
    a[250] = '\0';
    memcpy(b, a, sizeof(b));
    a[200] = 'A';
    b[200] = 'B';
    for (int k = 0; k < 2; k++) {
        d = load_xml("motivation-enskild-searched.xml");
        xmlNodePtr id = child(xmlDocGetRootElement(d), "identifier");
        assert_non_null(id);
        xmlSetProp(child(id, "value"), (const xmlChar *)"value",
                   (const xmlChar *)(k ? b : a));
        gw_outcome_init(&o);
        assert_int_equal(gw_rules_run(d, "2026-11-22", &o, k ? &fb : &fa),
                         GW_OK);
        assert_int_equal(gw_outcome_errors(&o), 0);
        gw_outcome_release(&o);
        xmlFreeDoc(d);
    }
    assert_string_equal(fa.message_id, a);
    assert_string_equal(fb.message_id, b);
    assert_string_not_equal(fa.message_id, fb.message_id);
}

/* The digests themselves, as stored in the inbox of a running gateway:
 * a faster way of computing them must give the same bytes, or a retry of
 * a message sent before an upgrade would be refused as a conflict.
 * Pinned from the copy-strip-C14N implementation of 906e3a6; the XML
 * with a comment and a prefixed namespace takes the slow path. */
static void
test_idempotency_digests_stay_the_same_across_versions(void **state)
{
    static const struct {
        const char *name, *digest;
    } pinned[] = {
        {"motivation-enskild-searched.json",
         "c2c67318fade81c77bfc685a131b2f8e01bd4e7003ea112ec4e8bb2d51e1df79"},
        {"motivation-enskild-searched.xml",
         "c2c67318fade81c77bfc685a131b2f8e01bd4e7003ea112ec4e8bb2d51e1df79"},
        {"decision-bev.json",
         "29d86ad9123fa3312302d60fb630000bd513169f019e0b3b43a656fd0fe08004"},
        {"application-enskild.xml",
         "9b4292eb90ed2f9306fa500ada0659630d776fbdc1781624ac872972d7f01231"},
    };
    static const char prefixed[] =
        "<!-- a comment --><f:Bundle xmlns:f=\"http://hl7.org/fhir\">"
        "<f:id value=\"x\"/><f:meta><f:versionId value=\"1\"/></f:meta>"
        "<!-- inside --><f:type value=\"collection\"/>\n  "
        "<f:timestamp value=\"2026-01-01T00:00:00Z\"/></f:Bundle>";
    static const char plain[] =
        "<Bundle xmlns=\"http://hl7.org/fhir\"><type value=\"collection\"/>"
        "</Bundle>";
    char h[65], g[65];
    (void)state;

    for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
        hash_file(pinned[i].name, h);
        if (strcmp(h, pinned[i].digest) != 0)
            fail_msg("%s: %s", pinned[i].name, h);
    }
    /* What C14N escapes in attribute values, and attributes in order:
     * the JSON (written by facts.c) as libxml2 writes the XML (a comment
     * in it takes the other path). */
    {
        static const char json[] =
            "{\"resourceType\":\"Bundle\",\"identifier\":{\"extension\":[{"
            "\"url\":\"http://x/y?a=1&b=2\",\"id\":\"e1\",\"valueString\":"
            "\"v\"}],\"value\":\"a&b<c>d\\\"e\\tf\\ng\\rh'i "
            "\\u00e5\\u00e4\\u00f6 \\ud83d\\ude00\"},\"type\":\"collection\"}";
        static const char xml[] =
            "<Bundle xmlns=\"http://hl7.org/fhir\"><!-- c --><identifier>"
            "<extension url=\"http://x/y?a=1&amp;b=2\" id=\"e1\"><valueString "
            "value=\"v\"/></extension><value value=\"a&amp;b&lt;"
            "c&gt;d&quot;e&#9;f&#10;g&#13;h'i \xC3\xA5\xC3\xA4\xC3\xB6 "
            "\xF0\x9F\x98\x80\"/></identifier><type value=\"collection\"/>"
            "</Bundle>";
        hash_of("escapes, JSON", json, strlen(json), h);
        hash_of("escapes, XML", xml, strlen(xml), g);
        assert_string_equal(h, g);
    }
    hash_of("prefixed", prefixed, strlen(prefixed), h);
    hash_of("plain", plain, strlen(plain), g);
    assert_string_equal(h, g);
    if (strcmp(h, "df6ba5fd2aa6d1866f6debac9ea33a8f"
                  "818449ae504348e219b8c753e3f0fab6") != 0)
        fail_msg("plain: %s", h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotency_every_serialisation_has_one_hash),
        cmocka_unit_test(test_idempotency_only_id_meta_timestamp_do_not_count),
        cmocka_unit_test(
            test_idempotency_every_fact_whole_at_cap_refused_past_it),
        cmocka_unit_test(test_idempotency_long_message_ids_stay_distinct),
        cmocka_unit_test(
            test_idempotency_digests_stay_the_same_across_versions),
    };

    gw_fhir_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
