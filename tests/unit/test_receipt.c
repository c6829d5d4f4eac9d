/*
 * test_receipt.c - the receipt written as text (src/pipeline/receipt.c)
 * is, byte for byte, what the receipt built as a tree (fhir/build.h, as
 * pipeline.c built it before) gives through gw_fhir_to_xml and
 * gw_fhir_to_json: over every shape (licence type and product there or
 * not, no, one or several warnings, other issues among them, an unknown
 * MessageHeader id) and values that need escaping or cannot be carried
 * (quotes, markup, backslashes, line breaks, control characters,
 * UTF-8). The text also reads back (gw_fhir_parse) to itself, as a
 * replay from the inbox does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "fhir/build.h"
#include "fhir/fhir.h"
#include "klas/state.h"
#include "map/view.h"
#include "pipeline/receipt.h"
#include "validate/outcome.h"

#define SYS_REFNR "http://klasgw.org/fhir/NamingSystem/referensnummer"

/* --- the receipt as a tree: pipeline.c's respond() before receipt.c --- */

static void
warnings_entry(struct gw_fhir_build *b, struct gw_fhir_el *root,
               const char *url, const struct gw_outcome *o)
{
    struct gw_fhir_el *e = gw_fhir_el_add(b, root, "entry"), *oo, *is, *d, *c;

    gw_fhir_el_value(b, e, "fullUrl", url);
    oo =
        gw_fhir_el_add(b, gw_fhir_el_add(b, e, "resource"), "OperationOutcome");
    for (size_t i = 0; i < o->n; i++) {
        const struct gw_issue *w = &o->issues[i];
        if (w->severity != GW_SEV_WARNING)
            continue;
        is = gw_fhir_el_add(b, oo, "issue");
        gw_fhir_el_value(b, is, "severity", "warning");
        gw_fhir_el_value(b, is, "code", w->code);
        d = gw_fhir_el_add(b, is, "details");
        c = gw_fhir_el_add(b, d, "coding");
        gw_fhir_el_value(b, c, "system",
                         "http://klasgw.org/fhir/CodeSystem/klas-validation");
        gw_fhir_el_value(b, c, "code", w->rule);
        gw_fhir_el_value(b, c, "display", w->en);
        gw_fhir_el_value(b, d, "text", w->sv);
        gw_fhir_el_value(b, is, "expression", w->expression);
    }
}

static struct gw_fhir_doc *
tree(const struct gw_receipt *r)
{
    struct gw_fhir_build *b = NULL;
    struct gw_fhir_el *root, *e, *mh, *x, *task, *in;
    struct gw_fhir_doc *doc = NULL;
    enum gw_case_status cs = GW_CASE_NONE;
    char now[40], created[40], url[48], oo_url[48], ver[24], ref[32];
    int warn = gw_receipt_has_warnings(r->issues);
    struct gw_err err;

    if (gw_case_status_parse(r->status, &cs) != GW_OK)
        cs = GW_CASE_NONE;
    gw_clock_format(r->now_ms, now, sizeof(now));
    gw_clock_format(r->created_ms ? r->created_ms : r->now_ms, created,
                    sizeof(created));
    snprintf(url, sizeof(url), "urn:uuid:%s", r->uuid);
    snprintf(ver, sizeof(ver), "%ld", r->version);
    snprintf(ref, sizeof(ref), "Task/%s", r->refnr);
    assert_int_equal(gw_fhir_build_new("Bundle", &b), GW_OK);
    root = gw_fhir_build_root(b);
    gw_fhir_el_value(b, root, "type", "message");
    gw_fhir_el_value(b, root, "timestamp", now);
    e = gw_fhir_el_add(b, root, "entry");
    gw_fhir_el_value(b, e, "fullUrl", url);
    mh = gw_fhir_el_add(b, gw_fhir_el_add(b, e, "resource"), "MessageHeader");
    x = gw_fhir_el_add(b, mh, "eventCoding");
    gw_fhir_el_value(b, x, "system",
                     "http://klasgw.org/fhir/CodeSystem/klas-event");
    gw_fhir_el_value(b, x, "code", r->event);
    x = gw_fhir_el_add(b, mh, "source");
    gw_fhir_el_value(b, x, "name", "klasgw");
    gw_fhir_el_value(b, x, "endpoint", r->base);
    x = gw_fhir_el_add(b, mh, "response");
    gw_fhir_el_value(b, x, "identifier",
                     r->header_id[0] ? r->header_id : "unknown");
    gw_fhir_el_value(b, x, "code", "ok");
    if (warn) {
        snprintf(oo_url, sizeof(oo_url), "urn:uuid:%s", r->oo_uuid);
        gw_fhir_el_value(b, gw_fhir_el_add(b, x, "details"), "reference",
                         oo_url);
    }
    gw_fhir_el_value(b, gw_fhir_el_add(b, mh, "focus"), "reference", ref);
    e = gw_fhir_el_add(b, root, "entry");
    {
        char full[512];
        snprintf(full, sizeof(full), "%s/%s", r->base, ref);
        gw_fhir_el_value(b, e, "fullUrl", full);
    }
    task = gw_fhir_el_add(b, gw_fhir_el_add(b, e, "resource"), "Task");
    gw_fhir_el_value(b, task, "id", r->refnr);
    x = gw_fhir_el_add(b, task, "meta");
    gw_fhir_el_value(b, x, "versionId", ver);
    gw_fhir_el_value(b, x, "lastUpdated", now);
    x = gw_fhir_el_add(b, task, "identifier");
    gw_fhir_el_value(b, x, "system", SYS_REFNR);
    gw_fhir_el_value(b, x, "value", r->refnr);
    gw_fhir_el_value(b, task, "status", gw_view_task_status(r->status));
    x = gw_fhir_el_add(b, gw_fhir_el_add(b, task, "businessStatus"), "coding");
    gw_fhir_el_value(b, x, "system",
                     "http://klasgw.org/fhir/CodeSystem/klas-case-status");
    gw_fhir_el_value(b, x, "code", r->status);
    gw_fhir_el_value(b, x, "display", gw_case_status_name_sv(cs));
    gw_fhir_el_value(b, task, "intent", "proposal");
    gw_fhir_el_value(b, task, "authoredOn", created);
    gw_fhir_el_value(b, task, "lastModified", now);
    if (r->licence_type && r->licence_type[0]) {
        in = gw_fhir_el_add(b, task, "input");
        gw_fhir_el_value(b, gw_fhir_el_add(b, in, "type"), "text", "licenstyp");
        gw_fhir_el_value(b, in, "valueCode", r->licence_type);
    }
    if (r->drug && r->drug[0]) {
        in = gw_fhir_el_add(b, task, "input");
        gw_fhir_el_value(b, gw_fhir_el_add(b, in, "type"), "text", "produkt");
        gw_fhir_el_value(b, in, "valueString", r->drug);
    }
    if (warn)
        warnings_entry(b, root, oo_url, r->issues);
    gw_err_clear(&err);
    if (gw_fhir_build_take(b, NULL, &doc, &err) != GW_OK)
        fail_msg("the tree: %s: %s", err.path, err.detail);
    return doc;
}

/* --- comparison ------------------------------------------------------- */

static char *
text(const struct gw_receipt *r, enum gw_fhir_format fmt, size_t *len)
{
    struct gw_buf b;
    char *s;

    gw_buf_init(&b, 1 << 20);
    assert_int_equal(gw_receipt_write(r, fmt, &b), GW_OK);
    s = gw_buf_take(&b, len);
    assert_non_null(s);
    return s;
}

static void
same(const char *what, const char *want, size_t wlen, const char *got,
     size_t glen)
{
    if (wlen != glen || memcmp(want, got, wlen) != 0) {
        size_t i = 0;
        while (i < wlen && i < glen && want[i] == got[i])
            i++;
        fail_msg("%s differs at byte %zu:\n--- tree:\n%s\n--- text:\n%s", what,
                 i, want, got);
    }
}

/* r written both ways equals the tree's forms, and reads back to itself. */
static void
check(const struct gw_receipt *r)
{
    struct gw_fhir_doc *doc = tree(r), *back = NULL;
    char *want, *got, *again;
    size_t wl, gl, al;
    struct gw_err err;

    assert_int_equal(gw_fhir_to_xml(doc, &want, &wl), GW_OK);
    got = text(r, GW_FHIR_XML, &gl);
    same("XML", want, wl, got, gl);
    gw_err_clear(&err);
    assert_int_equal(gw_fhir_parse(got, gl, GW_FHIR_XML, NULL, &back, &err),
                     GW_OK);
    assert_int_equal(gw_fhir_to_xml(back, &again, &al), GW_OK);
    same("XML read back", got, gl, again, al);
    free(again);
    free(want);
    free(got);

    assert_int_equal(gw_fhir_to_json(doc, &want, &wl), GW_OK);
    got = text(r, GW_FHIR_JSON, &gl);
    same("JSON", want, wl, got, gl);
    assert_int_equal(gw_fhir_to_json(back, &again, &al), GW_OK);
    same("JSON of the XML read back", got, gl, again, al);
    free(again);
    free(want);
    free(got);
    gw_fhir_doc_free(back);
    gw_fhir_doc_free(doc);
}

static struct gw_receipt
plain(void)
{
    return (struct gw_receipt){
        .event = "motivation-submit",
        .base = "http://127.0.0.1:8443/fhir",
        .header_id = "0b3e7a1c-1d2e-4f50-9a61-000000000001",
        .refnr = "2026919362",
        .version = 1,
        .status = "M",
        .licence_type = "EH",
        .drug = "Melatonin AGB 1 mg/ml oral lösning",
        .now_ms = 1772359200123LL,
        .created_ms = 0,
        .uuid = "600920cb-0ade-4c60-b068-34fdbf37ceb7",
        .oo_uuid = "f9240966-dd94-4309-804d-972eae333a72",
        .issues = NULL,
    };
}

static void
test_receipt_every_shape_is_the_trees(void **state)
{
    static const char *const statuses[] = {"M",   "A",   "H",         "KB", "K",
                                           "Bev", "Avs", "Makulerad", "??"};
    struct gw_receipt r;
    (void)state;

    for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++)
        for (int shape = 0; shape < 4; shape++) {
            r = plain();
            r.status = statuses[s];
            r.licence_type = shape & 1 ? "GH" : (shape & 2 ? "" : NULL);
            r.drug = shape & 2 ? "Produkt" : NULL;
            r.version = 17 + shape;
            r.created_ms = shape ? 1767225600000LL : 0;
            check(&r);
        }
    r = plain();
    r.header_id = "";
    check(&r);
}

static void
test_receipt_warnings_are_the_trees(void **state)
{
    struct gw_outcome o;
    struct gw_receipt r = plain();
    (void)state;

    gw_outcome_init(&o);
    r.issues = &o;
    check(&r); /* none */
    assert_int_equal(gw_outcome_add(&o, GW_SEV_ERROR, "value", "klas-x",
                                    "Bundle", "fel", "error"),
                     GW_OK);
    check(&r); /* an error only: no warnings entry */
    assert_int_equal(gw_outcome_add(&o, GW_SEV_WARNING, "business-rule",
                                    "klas-prescriber-email",
                                    "Bundle.entry[3].resource.telecom",
                                    "E-postadress bör anges",
                                    "An e-mail address should be given"),
                     GW_OK);
    check(&r);
    assert_int_equal(gw_outcome_add(&o, GW_SEV_INFORMATION, "informational",
                                    "klas-i", "", "info", "info"),
                     GW_OK);
    assert_int_equal(gw_outcome_add(&o, GW_SEV_WARNING, "business-rule",
                                    "klas-manual-attachment", "",
                                    "Bifoga \"produktinformation\" <här> & "
                                    "där",
                                    "Attach\tproduct\ninformation\r\\"),
                     GW_OK);
    check(&r); /* two, one without expression, an issue between */
    assert_int_equal(gw_outcome_add(&o, GW_SEV_ERROR, "value", "klas-y",
                                    "Bundle", "fel", "error"),
                     GW_OK);
    check(&r); /* the last issue is not a warning */
    gw_outcome_release(&o);
}

/* The free texts (the product's name, the warnings' texts) with what a
 * value may hold; the other values are codes, ids and URLs that the
 * model's check of the tree would refuse with such characters (and
 * that the gateway makes or has checked: the base URL from a Host
 * header of letters, digits and ".-:[]" only, server.c). */
static void
test_receipt_awkward_values_are_the_trees(void **state)
{
    static const char *const values[] = {
        "a \"quoted\" <b>bold</b> & 'single'",
        "back\\slash and /slash",
        "tab\there\nnewline\rreturn",
        "ctrl\001\002\037end\177",
        "åäö ÅÄÖ é ü € 𝄞",
        "x",
    };
    struct gw_receipt r;
    (void)state;

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct gw_outcome o;
        gw_outcome_init(&o);
        assert_int_equal(gw_outcome_add(&o, GW_SEV_WARNING, "business-rule",
                                        "klas-r", values[i], values[i],
                                        values[i]),
                         GW_OK);
        r = plain();
        r.drug = values[i];
        r.issues = &o;
        check(&r);
        gw_outcome_release(&o);
    }
    {
        /* The longest Host header server.c takes. */
        char base[300];
        memset(base, 'h', sizeof(base));
        memcpy(base, "https://[::1]:", 14);
        snprintf(base + 14 + 185, sizeof(base) - 14 - 185, "/fhir");
        r = plain();
        r.base = base;
        check(&r);
    }
}

/* Where the tree's check refused the receipt, the text is refused too. */
static void
test_receipt_refused_where_the_tree_was(void **state)
{
    struct gw_receipt r = plain();
    struct gw_buf b;
    (void)state;

    gw_buf_init(&b, 1 << 20);
    r.header_id = "x_y";
    assert_int_equal(gw_receipt_write(&r, GW_FHIR_XML, &b), GW_EVALIDATION);
    assert_int_equal(gw_receipt_write(&r, GW_FHIR_JSON, &b), GW_EVALIDATION);
    r = plain();
    r.licence_type = "E H ";
    assert_int_equal(gw_receipt_write(&r, GW_FHIR_XML, &b), GW_EVALIDATION);
    r = plain();
    r.header_id = "unknown-but.fine-123";
    check(&r);
    gw_buf_release(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receipt_every_shape_is_the_trees),
        cmocka_unit_test(test_receipt_warnings_are_the_trees),
        cmocka_unit_test(test_receipt_awkward_values_are_the_trees),
        cmocka_unit_test(test_receipt_refused_where_the_tree_was),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
