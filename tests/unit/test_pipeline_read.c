/*
 * test_pipeline_read.c - reads and searches (pipeline.c), against a real
 * store (pipeline_fixture.h): a pharmacy is refused a hidden attachment,
 * finds a case only with its patient, and never receives what is hidden
 * on any path; each role sees its own cases.
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

#include "pipeline_fixture.h"
#include "pipeline/pipeline_int.h"

/* --- reads and searches by pharmacies -------------------------------- */

static void
test_pipeline_read_hides_attachments_from_pharmacies(void **state)
{
    struct t *t = *state;
    char hidden[32], visible[32];
    const struct {
        const char *name;
        const struct gw_principal *who;
        const char *type, *id;
        gw_rc rc;
    } cases[] = {
        {"the pharmacy, the hidden attachment", &pharm1, "DocumentReference",
         hidden, GW_EFORBIDDEN},
        {"the pharmacy, the other attachment", &pharm1, "DocumentReference",
         visible, GW_OK},
        {"the pharmacy, the case", &pharm1, "Task", t->refnr, GW_OK},
        /* Not its case: answered as if there were none (access.h). */
        {"another pharmacy, the case", &pharm2, "Task", t->refnr, GW_ENOTFOUND},
        {"the prescriber, the hidden attachment", &ehr1, "DocumentReference",
         hidden, GW_OK},
        {"a colleague, the case", &ehr2, "Task", t->refnr, GW_ENOTFOUND},
        {"LV, the hidden attachment", &lv, "DocumentReference", hidden, GW_OK},
        {"the operator, the case", &ops, "Task", t->refnr, GW_EFORBIDDEN},
        {"the pharmacy, an id past the message", &pharm1, "Patient", NULL,
         GW_ENOTFOUND},
    };

    advance(t, AT_A);
    snprintf(hidden, sizeof(hidden), "%s-10", t->refnr);
    snprintf(visible, sizeof(visible), "%s-11", t->refnr);
    for (size_t i = 0; i < N(cases); i++) {
        const struct gw_call c = {cases[i].who, BASE, "test", GW_FHIR_JSON};
        struct gw_answer a;
        char id[32];

        snprintf(id, sizeof(id), "%s", cases[i].id ? cases[i].id : "");
        if (cases[i].id == NULL)
            snprintf(id, sizeof(id), "%s-99", t->refnr);
        gw_pipeline_read(t->pl, &c, cases[i].type, id, 0, &a);
        if (a.rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(a.rc), gw_rc_name(cases[i].rc));
        if (a.rc == GW_OK && a.status != 200)
            fail_msg("case '%s': status %d", cases[i].name, a.status);
        gw_answer_release(&a);
    }
}

/* Ids come from the URL: short, long or odd ones are simply not found,
 * and are read only as far as they go (ASan checks the latter). */
static void
test_pipeline_read_odd_ids_are_not_found(void **state)
{
    static const struct {
        const char *name, *type, *id;
    } cases[] = {
        {"empty", "Task", ""},
        {"one digit", "Task", "2"},
        {"nine digits", "Task", "202665832"},
        {"a Task with a resource suffix", "Task", "@-3"},
        {"a resource without suffix", "Patient", "@"},
        {"eleven digits", "Task", "20266583270"},
        {"too long", "Patient", "@-1234567890123456789012345678901234567890"},
        {"another case", "Task", "2025112233"},
    };
    struct t *t = *state;
    const struct gw_call c = {&ehr1, BASE, "test", GW_FHIR_JSON};

    submit(t);
    for (size_t i = 0; i < N(cases); i++) {
        struct gw_answer a;
        char *id;

        /* Exactly as long as it is, on the heap. */
        if (cases[i].id[0] == '@') {
            id = malloc(strlen(t->refnr) + strlen(cases[i].id));
            sprintf(id, "%s%s", t->refnr, cases[i].id + 1);
        } else {
            id = strdup(cases[i].id);
        }
        gw_pipeline_read(t->pl, &c, cases[i].type, id, 0, &a);
        if (a.rc != GW_ENOTFOUND)
            fail_msg("case '%s': rc %s, expected ENOTFOUND", cases[i].name,
                     gw_rc_name(a.rc));
        gw_answer_release(&a);
        free(id);
    }
}

static void
test_pipeline_pharmacy_search_needs_the_patient(void **state)
{
    struct t *t = *state;
    const struct {
        const char *name;
        const struct gw_principal *who;
        const char *patient;
        const char *total;
    } cases[] = {
        {"the right patient", &pharm2, PATIENT, "1"},
        {"the wrong patient", &pharm2, OTHER_PATIENT, "0"},
        {"no patient", &pharm2, NULL, "0"},
        {"the wrong patient, even for the chosen pharmacy", &pharm1,
         OTHER_PATIENT, "0"},
    };

    submit(t);
    for (size_t i = 0; i < N(cases); i++) {
        const struct gw_call c = {cases[i].who, BASE, "test", GW_FHIR_JSON};
        struct gw_task_search q;
        struct gw_answer a;
        char buf[16];
        char *xml;
        size_t len;

        memset(&q, 0, sizeof(q));
        q.identifier = t->refnr;
        q.patient = cases[i].patient;
        gw_pipeline_search(t->pl, &c, &q, &a);
        if (a.rc != GW_OK)
            fail_msg("case '%s': rc %s", cases[i].name, gw_rc_name(a.rc));
        if (!gw_view_value(a.doc, "total", buf, sizeof(buf)) ||
            strcmp(buf, cases[i].total) != 0)
            fail_msg("case '%s': total %s, expected %s", cases[i].name, buf,
                     cases[i].total);
        assert_int_equal(gw_fhir_to_xml(a.doc, &xml, &len), GW_OK);
        /* A hit is the pharmacy view: no indication, no hidden file. */
        if (strstr(xml, "<reasonCode>") != NULL ||
            strstr(xml, "bilaga-1.pdf") != NULL ||
            strstr(xml, "Produktinformation 1") != NULL)
            fail_msg("case '%s': unredacted content", cases[i].name);
        if (strcmp(cases[i].total, "1") == 0 &&
            strstr(xml, "Produktinformation 2") == NULL)
            fail_msg("case '%s': the visible attachment is missing",
                     cases[i].name);
        free(xml);
        gw_answer_release(&a);
    }
}

/* Searches without a referensnummer: who sees which of two cases, one in
 * M (only motivated) and one applied for by pharmacy 1. */
static void
test_pipeline_search_shows_each_role_its_cases(void **state)
{
    static const struct gw_principal ehr_nouser = {"journal1", GW_CLIENT_EHR,
                                                   NULL, NULL};
    static const struct gw_principal pharm3 = {"apotek3", GW_CLIENT_PHARMACY,
                                               "7350000000030", NULL};
    const struct {
        const char *name;
        const struct gw_principal *who;
        gw_rc rc;
        const char *total;
    } cases[] = {
        {"the prescriber sees both", &ehr1, GW_OK, "2"},
        {"a colleague sees none", &ehr2, GW_OK, "0"},
        {"an EHR without user is refused", &ehr_nouser, GW_EUNAUTH, NULL},
        {"LV sees only the applied one", &lv, GW_OK, "1"},
        {"the chosen pharmacy sees both (one applied by it)", &pharm1, GW_OK,
         "2"},
        {"an unrelated pharmacy sees none", &pharm3, GW_OK, "0"},
        {"the operator is refused", &ops, GW_EFORBIDDEN, NULL},
    };
    struct t *t = *state;

    submit(t);
    assert_int_equal(
        send(t, &pharm1, "application-enskild.xml", NULL, NULL, NULL, "apply"),
        GW_OK);
    t->refnr[0] = '\0';
    assert_int_equal(send(t, &ehr1, "motivation-enskild-searched.xml", NULL,
                          NULL, NULL, "second motivation"),
                     GW_OK);
    for (size_t i = 0; i < N(cases); i++) {
        const struct gw_call c = {cases[i].who, BASE, "test", GW_FHIR_JSON};
        struct gw_task_search q;
        struct gw_answer a;
        char buf[16];

        memset(&q, 0, sizeof(q));
        gw_pipeline_search(t->pl, &c, &q, &a);
        if (a.rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(a.rc), gw_rc_name(cases[i].rc));
        if (cases[i].total != NULL &&
            (!gw_view_value(a.doc, "total", buf, sizeof(buf)) ||
             strcmp(buf, cases[i].total) != 0))
            fail_msg("case '%s': total %s, expected %s", cases[i].name, buf,
                     cases[i].total);
        gw_answer_release(&a);
    }
}

/* --- redaction on every pharmacy path -------------------------------- */

/* What a pharmacy must never receive, planted in the motivation. */
static const struct {
    const char *name, *from, *to, *sentinel;
} planted[] = {
    {"indication", "Sömnstörning vid neuropsykiatrisk",
     "SENTINELINDIKATION vid neuropsykiatrisk", "SENTINELINDIKATION"},
    {"motivation text", "Godkända alternativ har prövats",
     "SENTINELMOTIVERING alternativ har prövats", "SENTINELMOTIVERING"},
    {"hidden attachment title", "bilaga-1.pdf", "SENTINELTITEL.pdf",
     "SENTINELTITEL"},
    {"hidden attachment description", "Produktinformation 1",
     "SENTINELBESKRIVNING", "SENTINELBESKRIVNING"},
    {"hidden attachment data", "<data value=\"JVBERi0xLjQK\"/>",
     "<data value=\"U0VOVElORUxEQVRB\"/>", "U0VOVElORUxEQVRB"},
    {"note", "<dosageInstruction>",
     "<note><text value=\"SENTINELNOTERING\"/></note><dosageInstruction>",
     "SENTINELNOTERING"},
    {"narrative", "<MedicationRequest><contained>",
     "<MedicationRequest><text><status value=\"generated\"/><div "
     "xmlns=\"http://www.w3.org/1999/xhtml\">SENTINELNARRATIV</div></text>"
     "<contained>",
     "SENTINELNARRATIV"},
};

/* Fails if any sentinel is in the answer's XML or JSON (want 0), or if
 * not every one is (want 1). */
static void
check_sentinels(const struct gw_fhir_doc *d, const char *html, int want,
                const char *what)
{
    char *x = NULL, *j = NULL;
    size_t n;

    if (d != NULL) {
        assert_int_equal(gw_fhir_to_xml(d, &x, &n), GW_OK);
        assert_int_equal(gw_fhir_to_json(d, &j, &n), GW_OK);
    }
    for (size_t i = 0; i < N(planted); i++) {
        const char *s = planted[i].sentinel;
        int in = (x && strstr(x, s)) || (j && strstr(j, s)) ||
                 (html && strstr(html, s));
        if (in != want)
            fail_msg("%s: the %s is %s", what, planted[i].name,
                     in ? "there" : "missing");
    }
    free(x);
    free(j);
}

static void
test_pipeline_pharmacy_never_receives_what_is_hidden(void **state)
{
    struct t *t = *state;
    const struct gw_call ph = {&pharm1, BASE, "test", GW_FHIR_JSON};
    const struct gw_call pr = {&ehr1, BASE, "test", GW_FHIR_JSON};
    char *msg =
        message(t, "motivation-enskild-attachments.xml", NULL, NULL, NULL);
    struct gw_task_search q;
    struct gw_answer a;
    char *html = NULL, id[32], what[64];
    size_t len;

    for (size_t i = 0; i < N(planted); i++)
        msg = text_replace(msg, planted[i].from, planted[i].to);
    submit_msg(t, msg);
    assert_int_equal(
        send(t, &pharm1, "application-enskild.xml", NULL, NULL, NULL, "apply"),
        GW_OK);

    /* Every resource of the case, one by one. */
    for (int n = 1; n <= 11; n++) {
        static const char *const types[] = {NULL,
                                            NULL,
                                            "Task",
                                            "MedicationRequest",
                                            "Patient",
                                            "PractitionerRole",
                                            "Practitioner",
                                            "Organization",
                                            "Organization",
                                            "Organization",
                                            "DocumentReference",
                                            "DocumentReference"};
        if (types[n] == NULL)
            continue;
        if (n == 2)
            snprintf(id, sizeof(id), "%s", t->refnr);
        else
            snprintf(id, sizeof(id), "%s-%d", t->refnr, n);
        gw_pipeline_read(t->pl, &ph, types[n], id, 0, &a);
        snprintf(what, sizeof(what), "pharmacy read of %s/%s", types[n], id);
        if (n == 10) {
            if (a.rc != GW_EFORBIDDEN)
                fail_msg("%s: rc %s", what, gw_rc_name(a.rc));
        } else if (a.rc != GW_OK) {
            fail_msg("%s: rc %s", what, gw_rc_name(a.rc));
        }
        check_sentinels(a.doc, NULL, 0, what);
        gw_answer_release(&a);
    }
    /* Its history, at every version. */
    gw_pipeline_history(t->pl, &ph, t->refnr, &a);
    assert_int_equal(a.rc, GW_OK);
    check_sentinels(a.doc, NULL, 0, "pharmacy history");
    gw_answer_release(&a);
    gw_pipeline_read(t->pl, &ph, "Task", t->refnr, 1, &a);
    assert_int_equal(a.rc, GW_OK);
    check_sentinels(a.doc, NULL, 0, "pharmacy read of version 1");
    gw_answer_release(&a);
    /* Searches: the look-up with everything included, and its own cases. */
    memset(&q, 0, sizeof(q));
    q.identifier = t->refnr;
    q.patient = PATIENT;
    q.include = 1;
    gw_pipeline_search(t->pl, &ph, &q, &a);
    assert_int_equal(a.rc, GW_OK);
    check_sentinels(a.doc, NULL, 0, "pharmacy look-up");
    gw_answer_release(&a);
    memset(&q, 0, sizeof(q));
    q.include = 1;
    gw_pipeline_search(t->pl, &ph, &q, &a);
    assert_int_equal(a.rc, GW_OK);
    check_sentinels(a.doc, NULL, 0, "pharmacy search of own cases");
    gw_answer_release(&a);
    /* The printable copy. */
    gw_pipeline_print(t->pl, &ph, t->refnr, 0, &html, &len, &a);
    assert_int_equal(a.rc, GW_OK);
    assert_non_null(html);
    check_sentinels(NULL, html, 0, "pharmacy print");
    free(html);
    gw_answer_release(&a);

    /* The prescriber sees it all: the sentinels did arrive. */
    snprintf(id, sizeof(id), "%s-3", t->refnr);
    gw_pipeline_read(t->pl, &pr, "MedicationRequest", id, 0, &a);
    assert_int_equal(a.rc, GW_OK);
    {
        char *x;
        assert_int_equal(gw_fhir_to_xml(a.doc, &x, &len), GW_OK);
        assert_non_null(strstr(x, "SENTINELINDIKATION"));
        assert_non_null(strstr(x, "SENTINELMOTIVERING"));
        assert_non_null(strstr(x, "SENTINELNARRATIV"));
        free(x);
    }
    gw_answer_release(&a);
    memset(&q, 0, sizeof(q));
    q.include = 1;
    gw_pipeline_search(t->pl, &pr, &q, &a);
    assert_int_equal(a.rc, GW_OK);
    check_sentinels(a.doc, NULL, 1, "prescriber search");
    gw_answer_release(&a);
}

/* A read renders the case view once per case version and reader: the
 * same reads again come from the cache, whichever keys they have. 200
 * keys (one case, 200 bases) fit the cache; a direct-mapped cache of 1024
 * slots lost some of them to each other and rendered them again. */
static void
test_pipeline_read_renders_each_view_once(void **state)
{
    struct t *t = *state;
    unsigned long first = 0;

    advance(t, AT_M);
    for (int pass = 0; pass < 2; pass++) {
        unsigned long before = t->pl->renders;
        for (int i = 0; i < 200; i++) {
            char base[64];
            const struct gw_call c = {&ehr1, base, "test", GW_FHIR_JSON};
            struct gw_answer a;

            snprintf(base, sizeof(base), "http://gw%d.test/fhir", i);
            gw_pipeline_read(t->pl, &c, "Task", t->refnr, 0, &a);
            assert_int_equal(a.rc, GW_OK);
            assert_int_equal(a.status, 200);
            gw_answer_release(&a);
        }
        if (pass == 0)
            first = t->pl->renders - before;
        else if (t->pl->renders != before)
            fail_msg("the second pass rendered %lu of 200 views again "
                     "(the first %lu)",
                     t->pl->renders - before, first);
    }
    assert_int_equal(first, 200);
}

/* The view cache stays within its bounds, counting what it really holds:
 * reading one case through more bases than the cache has entries fills
 * it to its bound and no further, and the bytes it reports cover every
 * body and key it keeps (not the bodies alone). */
static void
test_pipeline_read_view_cache_stays_bounded(void **state)
{
    enum { NREAD = 3 * GW_VIEW_CACHE_ENTRIES / 2 };
    struct t *t = *state;
    struct gw_view_cache_stats vc;
    static size_t held[NREAD]; /* body and key of each read, bytes */
    size_t kept = 0, most = 0;

    advance(t, AT_M);
    for (int i = 0; i < NREAD; i++) {
        char base[64];
        const struct gw_call c = {&ehr1, base, "test", GW_FHIR_JSON};
        struct gw_answer a;

        snprintf(base, sizeof(base), "http://bound%d.test/fhir", i);
        gw_pipeline_read(t->pl, &c, "Task", t->refnr, 0, &a);
        assert_int_equal(a.rc, GW_OK);
        /* The key names at least the case and the base. */
        held[i] = a.body_len + strlen(t->refnr) + strlen(base);
        if (held[i] > most)
            most = held[i];
        gw_answer_release(&a);
        gw_pipeline_cache_stats(t->pl, &vc);
        if (vc.entries > vc.max_entries || vc.bytes > vc.max_bytes)
            fail_msg("after %d reads the cache holds %zu entries, %zu bytes "
                     "(bounds %zu, %zu)",
                     i + 1, vc.entries, vc.bytes, vc.max_entries,
                     vc.max_bytes);
    }
    gw_pipeline_cache_stats(t->pl, &vc);
    assert_int_equal(vc.max_entries, GW_VIEW_CACHE_ENTRIES);
    assert_int_equal(vc.max_bytes, GW_VIEW_CACHE_BUDGET);
    /* Full: at its entry bound, or too full for one more entry. */
    if (vc.entries != vc.max_entries && vc.bytes + most <= vc.max_bytes)
        fail_msg("not full after %d reads: %zu entries, %zu bytes", NREAD,
                 vc.entries, vc.bytes);
    /* Each read was a new key, so the cache keeps the last reads. */
    for (size_t i = 0; i < vc.entries; i++)
        kept += held[NREAD - 1 - i];
    if (vc.bytes < kept)
        fail_msg("the cache reports %zu bytes for %zu entries whose bodies "
                 "and keys alone are %zu bytes",
                 vc.bytes, vc.entries, kept);
}

/* --- register answers carry hostile values unchanged ------------------ */

/* Values a register row may hold (a pharmacy or product name comes from
 * outside): markup, quotes, entities, control characters, non-BMP UTF-8,
 * and the longest value each field holds. XML 1.0 cannot carry control
 * characters but tab, LF and CR: every answer turns them into a space. */
static const struct {
    const char *what, *value, *expected;
} hostile[] = {
    {"markup and quotes", "<b>\"Ap&otek\" 'x'</b> ]]> &amp;",
     "<b>\"Ap&otek\" 'x'</b> ]]> &amp;"},
    {"control characters", "A\x01" "B\x1f" "C\tD\x7f" "E",
     "A B C\tD\x7f" "E"},
    {"non-BMP UTF-8", "Apotek \xf0\x9f\x92\x8a \xf0\x9d\x84\x9e \xe2\x80\xa8",
     "Apotek \xf0\x9f\x92\x8a \xf0\x9d\x84\x9e \xe2\x80\xa8"},
    {"backslash and JSON escapes", "a\\\"b\\u0000c/\\n",
     "a\\\"b\\u0000c/\\n"},
};

/* The longest value a field of size bytes holds, made of a 4-byte
 * character (no character cut). */
static void
longest(char *out, size_t size)
{
    size_t n = 0;

    while (n + 4 < size) {
        memcpy(out + n, "\xf0\x9f\x92\x8a", 4);
        n += 4;
    }
    out[n] = '\0';
}

/* v into a field of size bytes, whole (the test's values fit). */
static void
copy_in(char *dst, size_t size, const char *v)
{
    assert_true(strlen(v) < size);
    memcpy(dst, v, strlen(v) + 1);
}

/* doc written as XML and as JSON, each read back (well-formed, valid
 * against the model) and the value at path compared with want; both
 * forms are left in dir for the independent R4 check. */
static void
check_forms(const struct gw_fhir_doc *doc, const char *path, const char *want,
            const char *dir, const char *name)
{
    static const enum gw_fhir_format fmts[] = {GW_FHIR_XML, GW_FHIR_JSON};

    for (size_t f = 0; f < N(fmts); f++) {
        struct gw_fhir_doc *back = NULL;
        struct gw_err err;
        char *text = NULL, file[256], got[1024];
        size_t len = 0;
        FILE *fp;

        gw_err_clear(&err);
        assert_int_equal(fmts[f] == GW_FHIR_XML
                             ? gw_fhir_to_xml(doc, &text, &len)
                             : gw_fhir_to_json(doc, &text, &len),
                         GW_OK);
        if (gw_fhir_parse(text, len, fmts[f], NULL, &back, &err) != GW_OK)
            fail_msg("%s as %s does not read back: %s: %s\n%.*s", name,
                     f ? "JSON" : "XML", err.path, err.detail, (int)len, text);
        if (!gw_view_value(back, path, got, sizeof(got)) ||
            strcmp(got, want) != 0)
            fail_msg("%s as %s: %s is '%s', wanted '%s'", name,
                     f ? "JSON" : "XML", path, got, want);
        snprintf(file, sizeof(file), "%s/%s.%s", dir, name,
                 f ? "json" : "xml");
        fp = fopen(file, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(text, 1, len, fp), len);
        fclose(fp);
        gw_fhir_doc_free(back);
        free(text);
    }
}

/* Sök apotek and Sök produkt over rows holding hostile values: every
 * answer is well-formed XML and JSON, valid R4 (the model, and
 * tests/fhircheck when installed), and carries the value unchanged. */
static void
test_pipeline_register_answers_carry_hostile_values(void **state)
{
    struct t *t = *state;
    const struct gw_call c = {&pharm1, BASE, "test", GW_FHIR_JSON};
    char dir[] = "/tmp/gw-hostile-XXXXXX", cmd[1024];
    char longname[128], longprod[160];
    sqlite3 *db = NULL;
    size_t nv = N(hostile) + 2;

    if (fixture_pg_dsn() != NULL) /* products are put into the SQLite file */
        skip();
    assert_non_null(mkdtemp(dir));
    longest(longname, sizeof(longname));
    longest(longprod, sizeof(longprod));
    assert_int_equal(sqlite3_open(t->fx->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    for (size_t i = 0; i < nv; i++) {
        const char *v = i < N(hostile)       ? hostile[i].value
                        : i == N(hostile)    ? longname
                                             : longprod;
        const char *want = i < N(hostile) ? hostile[i].expected : v;
        struct gw_pharmacy ph, q;
        struct gw_product pq;
        struct gw_answer a;
        sqlite3_stmt *st = NULL;
        char name[64], nplid[16];

        /* Sök apotek: the value as name, alias, line and city. */
        memset(&ph, 0, sizeof(ph));
        snprintf(ph.gln, sizeof(ph.gln), "73500000090%02zu", i);
        if (strlen(v) < sizeof(ph.name))
            copy_in(ph.name, sizeof(ph.name), v);
        if (i < N(hostile)) { /* the long ones fit the name only */
            copy_in(ph.actor, sizeof(ph.actor), v);
            copy_in(ph.address, sizeof(ph.address), v);
            copy_in(ph.city, sizeof(ph.city), v);
        }
        if (i < nv - 1) {
            assert_int_equal(gw_store_pharmacy_put(t->fx->st, &ph), GW_OK);
            memset(&q, 0, sizeof(q));
            snprintf(q.gln, sizeof(q.gln), "%s", ph.gln);
            gw_pipeline_pharmacy_search(t->pl, &c, &q, &a);
            if (a.rc != GW_OK || a.doc == NULL)
                fail_msg("pharmacy search, %s: rc %s",
                         i < N(hostile) ? hostile[i].what : "longest",
                         gw_rc_name(a.rc));
            snprintf(name, sizeof(name), "pharmacy-%zu", i);
            check_forms(a.doc, "entry/resource/Organization/name", want, dir,
                        name);
            if (i < N(hostile))
                check_forms(a.doc, "entry/resource/Organization/address/city",
                            want, dir, name);
            gw_answer_release(&a);
        }

        /* Sök produkt: the value in every text the row gives. */
        snprintf(nplid, sizeof(nplid), "2099010100%04zu", i);
        assert_int_equal(
            sqlite3_prepare_v2(db,
                               "INSERT INTO products (name, substances, "
                               "holder, country, nplid, form, strength, atc, "
                               "first_seen_ms) VALUES (?1, ?3, ?3, ?3, ?2, "
                               "?3, ?3, 'N05CH01', 0)",
                               -1, &st, NULL),
            SQLITE_OK);
        sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, nplid, -1, SQLITE_STATIC);
        /* the long ones fit the name only */
        sqlite3_bind_text(st, 3, i < N(hostile) ? v : "Hostile Pharma", -1,
                          SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        memset(&pq, 0, sizeof(pq));
        snprintf(pq.nplid, sizeof(pq.nplid), "%s", nplid);
        gw_pipeline_product_search(t->pl, &c, &pq, &a);
        if (a.rc != GW_OK || a.doc == NULL)
            fail_msg("product search, %s: rc %s",
                     i < N(hostile) ? hostile[i].what : "longest",
                     gw_rc_name(a.rc));
        snprintf(name, sizeof(name), "product-%zu", i);
        check_forms(a.doc, "entry/resource/Medication/code/text", want, dir,
                    name);
        if (i < N(hostile))
            check_forms(a.doc,
                        "entry/resource/Medication/manufacturer/display", want,
                        dir, name);
        gw_answer_release(&a);
    }
    sqlite3_close(db);

    /* The independent R4 checker over every answer, when installed. */
    snprintf(cmd, sizeof(cmd), "%s/tests/fhircheck/node_modules",
             GW_SOURCE_DIR);
    if (access(cmd, F_OK) == 0) {
        snprintf(cmd, sizeof(cmd),
                 "node %s/tests/fhircheck/check.js --quiet %s/*.xml "
                 "%s/*.json",
                 GW_SOURCE_DIR, dir, dir);
        if (system(cmd) != 0)
            fail_msg("tests/fhircheck refuses an answer (in %s)", dir);
    } else {
        print_message("tests/fhircheck not installed: model check only\n");
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_pipeline_read_hides_attachments_from_pharmacies),
        T(test_pipeline_read_odd_ids_are_not_found),
        T(test_pipeline_search_shows_each_role_its_cases),
        T(test_pipeline_pharmacy_never_receives_what_is_hidden),
        T(test_pipeline_pharmacy_search_needs_the_patient),
        T(test_pipeline_read_renders_each_view_once),
        T(test_pipeline_read_view_cache_stays_bounded),
        T(test_pipeline_register_answers_carry_hostile_values),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
