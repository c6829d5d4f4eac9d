/*
 * test_view.c - case views through the real stylesheets of xslt/
 * (map/view.c), over the example messages of fhir-profiles/examples/valid.
 *
 * What it proves: the Task of a view is the case (referensnummer as id and
 * identifier, status and businessStatus per KLAS status, version); every
 * Bundle-local reference becomes Type/<refnr>-<n> and resolves inside the
 * view; the pharmacy view drops indication, motivation, notes and hidden
 * attachments and says so (REDACTED) - checked with sentinel strings
 * planted in the message, which reach the full view's JSON, XML and print
 * but never the redacted ones; pick, print, copy-to-new (a valid
 * motivation again), search/history Bundles and Parameters values.
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
#include <unistd.h>

#include "fhir/fhir.h"
#include "klas/state.h"
#include "map/view.h"
#include "validate/validate.h"

#include "text_fixture.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define EX "fhir-profiles/examples/valid/"
#define BASE "http://gw.test/fhir"
#define REFNR "2026658327"
#define REFNS "http://klasgw.org/fhir/NamingSystem/referensnummer"

static struct gw_views *views;
static struct gw_validator *validator;

static const struct gw_case_stamp stamp_m = {
    BASE, REFNR,          "M", 3, 1768491240000LL, 1768577640000LL, NULL, NULL,
    NULL, "7350000000016"};

/* --- helpers ---------------------------------------------------------- */

static struct gw_fhir_doc *
view_of(const char *xml, const struct gw_case_stamp *s, int redact,
        const char *name)
{
    struct gw_fhir_doc *v = NULL;
    gw_rc rc = gw_view_case(views, xml, strlen(xml), s, redact, &v);

    if (rc != GW_OK || v == NULL)
        fail_msg("case '%s': gw_view_case %s", name, gw_rc_name(rc));
    return v;
}

static char *
as_xml(const struct gw_fhir_doc *d)
{
    char *s = NULL;
    size_t n;
    assert_int_equal(gw_fhir_to_xml(d, &s, &n), GW_OK);
    assert_int_equal(strlen(s), n);
    return s;
}

static char *
as_json(const struct gw_fhir_doc *d)
{
    char *s = NULL;
    size_t n;
    assert_int_equal(gw_fhir_to_json(d, &s, &n), GW_OK);
    return s;
}

/* The resource type/id of a view as XML text, or NULL if absent. */
static char *
picked_xml(const struct gw_fhir_doc *v, const char *type, const char *id)
{
    struct gw_fhir_doc *d = NULL;
    char *s;

    if (gw_view_pick(v, type, id, &d) != GW_OK)
        return NULL;
    s = as_xml(d);
    gw_fhir_doc_free(d);
    return s;
}

static struct gw_fhir_doc *
parse(const char *text, const char *name)
{
    struct gw_fhir_doc *d = NULL;
    struct gw_err err;
    gw_rc rc;

    gw_err_clear(&err);
    rc = gw_fhir_parse(text, strlen(text), GW_FHIR_SNIFF, NULL, &d, &err);
    if (rc != GW_OK)
        fail_msg("case '%s': parse %s at %s: %s", name, gw_rc_name(rc),
                 err.path, err.detail);
    return d;
}

/* --- the Task is the case --------------------------------------------- */

static void
test_view_task_carries_refnr_status_and_version(void **state)
{
    static const struct {
        const char *name, *klas, *fhir, *sv;
    } cases[] = {
        {"motiverad", "M", "requested", "Motiverad"},
        {"ansökt", "A", "received", "Ansökt"},
        {"handläggs", "H", "in-progress", "Handläggs"},
        {"komplettering begärd", "KB", "on-hold", "Komplettering begärd"},
        {"kompletterad", "K", "in-progress", "Kompletterad"},
        {"beviljad", "Bev", "completed", "Beviljad"},
        {"avslag", "Avs", "rejected", "Avslag"},
        {"avvisad", "Avi", "rejected", "Avvisad"},
    };
    char *msg = text_slurp(EX "motivation-enskild-searched.xml");
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        struct gw_case_stamp s = stamp_m;
        struct gw_fhir_doc *v, *task = NULL;
        char buf[128];

        s.status = cases[i].klas;
        s.version = 7 + (long)i;
        if (strcmp(gw_view_task_status(cases[i].klas), cases[i].fhir) != 0)
            fail_msg("case '%s': task status %s, expected %s", cases[i].name,
                     gw_view_task_status(cases[i].klas), cases[i].fhir);
        v = view_of(msg, &s, 0, cases[i].name);
        if (!gw_view_has(v, "Task", REFNR))
            fail_msg("case '%s': no Task/%s", cases[i].name, REFNR);
        assert_int_equal(gw_view_pick(v, "Task", REFNR, &task), GW_OK);
#define EXPECT_VALUE(path, want)                                               \
    do {                                                                       \
        if (!gw_view_value(task, path, buf, sizeof(buf)) ||                    \
            strcmp(buf, want) != 0)                                            \
            fail_msg("case '%s': Task.%s is '%s', expected '%s'",              \
                     cases[i].name, path, buf, want);                          \
    } while (0)
        EXPECT_VALUE("id", REFNR);
        EXPECT_VALUE("identifier/system", REFNS);
        EXPECT_VALUE("identifier/value", REFNR);
        EXPECT_VALUE("status", cases[i].fhir);
        EXPECT_VALUE("businessStatus/coding/code", cases[i].klas);
        EXPECT_VALUE("businessStatus/coding/display", cases[i].sv);
        {
            char want[32];
            snprintf(want, sizeof(want), "%ld", s.version);
            EXPECT_VALUE("meta/versionId", want);
        }
        EXPECT_VALUE("lastModified", "2026-01-16T15:34:00.000Z");
#undef EXPECT_VALUE
        gw_fhir_doc_free(task);
        gw_fhir_doc_free(v);
    }
    /* Anything else is a draft. */
    assert_string_equal(gw_view_task_status("bev"), "draft");
    assert_string_equal(gw_view_task_status(""), "draft");
    assert_string_equal(gw_view_task_status(NULL), "draft");
    free(msg);
}

/* --- references ------------------------------------------------------- */

/* Checks every reference value and fullUrl of a view's XML. */
static void
check_references(const struct gw_fhir_doc *v, const char *xml, const char *orig,
                 const char *name)
{
    static const char ref[] = "<reference value=\"";
    static const char full[] = "<fullUrl value=\"";
    int n = 0;

    for (const char *p = strstr(xml, ref); p; p = strstr(p + 1, ref)) {
        char val[256], type[64], id[64], want[300];
        const char *slash;
        size_t l;

        p += sizeof(ref) - 1;
        l = strcspn(p, "\"");
        assert_true(l < sizeof(val));
        memcpy(val, p, l);
        val[l] = '\0';
        if (val[0] == '#')
            continue; /* contained */
        if (strncmp(val, "urn:uuid:", 9) == 0) {
            /* Only a reference to something outside the message may stay;
             * one to an entry of the message must have been rewritten. */
            snprintf(want, sizeof(want), "<fullUrl value=\"%s\"", val);
            if (strstr(orig, want) != NULL)
                fail_msg("case '%s': %s was not rewritten", name, val);
            continue;
        }
        slash = strchr(val, '/');
        if (slash == NULL || (size_t)(slash - val) >= sizeof(type))
            fail_msg("case '%s': reference %s is not Type/id", name, val);
        memcpy(type, val, (size_t)(slash - val));
        type[slash - val] = '\0';
        snprintf(id, sizeof(id), "%s", slash + 1);
        if (strncmp(id, REFNR, strlen(REFNR)) != 0)
            continue; /* refers to another case (basedOn a granted one) */
        if (strcmp(id, REFNR) != 0 &&
            (id[strlen(REFNR)] != '-' ||
             strspn(id + strlen(REFNR) + 1, "0123456789") !=
                 strlen(id + strlen(REFNR) + 1) ||
             id[strlen(REFNR) + 1] == '\0'))
            fail_msg("case '%s': id %s is not <refnr>-<n>", name, id);
        if (!gw_view_has(v, type, id))
            fail_msg("case '%s': %s does not resolve in the view", name, val);
        n++;
    }
    for (const char *p = strstr(xml, full); p; p = strstr(p + 1, full)) {
        p += sizeof(full) - 1;
        if (strncmp(p, BASE "/", strlen(BASE) + 1) != 0)
            fail_msg("case '%s': fullUrl %.60s not under the base", name, p);
    }
    if (n == 0)
        fail_msg("case '%s': no server reference in the view", name);
}

static void
test_view_every_reference_is_rewritten_and_resolves(void **state)
{
    char dir[512];
    struct dirent *e;
    DIR *d;
    int files = 0;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/" EX, GW_SOURCE_DIR);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char rel[600];
        size_t l = strlen(e->d_name);
        char *msg, *xml;
        struct gw_fhir_doc *v;

        if (l < 5 || strcmp(e->d_name + l - 4, ".xml") != 0)
            continue;
        snprintf(rel, sizeof(rel), EX "%s", e->d_name);
        msg = text_slurp(rel);
        for (int redact = 0; redact < 2; redact++) {
            v = view_of(msg, &stamp_m, redact, e->d_name);
            xml = as_xml(v);
            if (strstr(xml, "<MessageHeader") != NULL)
                fail_msg("case '%s': MessageHeader in the view", e->d_name);
            if (strstr(xml, "<type value=\"collection\"/>") == NULL)
                fail_msg("case '%s': not a collection", e->d_name);
            check_references(v, xml, msg, e->d_name);
            free(xml);
            gw_fhir_doc_free(v);
        }
        free(msg);
        files++;
    }
    closedir(d);
    assert_true(files >= 20);
}

/* Positions in motivation-enskild-attachments.xml: entry n of the stored
 * message is <refnr>-n in the view. */
static void
test_view_ids_follow_entry_positions(void **state)
{
    static const struct {
        const char *name, *type, *id;
    } cases[] = {
        {"the motivation", "MedicationRequest", REFNR "-3"},
        {"the patient", "Patient", REFNR "-4"},
        {"the prescriber's role", "PractitionerRole", REFNR "-5"},
        {"the prescriber", "Practitioner", REFNR "-6"},
        {"the clinic", "Organization", REFNR "-7"},
        {"the hospital", "Organization", REFNR "-8"},
        {"the pharmacy", "Organization", REFNR "-9"},
        {"the hidden attachment", "DocumentReference", REFNR "-10"},
        {"the visible attachment", "DocumentReference", REFNR "-11"},
    };
    char *msg = text_slurp(EX "motivation-enskild-attachments.xml");
    struct gw_fhir_doc *v = view_of(msg, &stamp_m, 0, "attachments");
    (void)state;

    for (size_t i = 0; i < N(cases); i++)
        if (!gw_view_has(v, cases[i].type, cases[i].id))
            fail_msg("case '%s': no %s/%s", cases[i].name, cases[i].type,
                     cases[i].id);
    assert_false(gw_view_has(v, "MessageHeader", NULL));
    assert_false(gw_view_has(v, "DocumentReference", REFNR "-12"));
    gw_fhir_doc_free(v);
    free(msg);
}

/* --- redaction -------------------------------------------------------- */

/* Sentinels planted in what a pharmacy must never see. */
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
    /* The first data is the hidden attachment's; base64 of SENTINELDATA. */
    {"hidden attachment data", "<data value=\"JVBERi0xLjQK\"/>",
     "<data value=\"U0VOVElORUxEQVRB\"/>", "U0VOVElORUxEQVRB"},
    {"narrative of the motivation", "<MedicationRequest><contained>",
     "<MedicationRequest><text><status value=\"generated\"/><div "
     "xmlns=\"http://www.w3.org/1999/xhtml\">SENTINELNARRATIV</div></text>"
     "<contained>",
     "SENTINELNARRATIV"},
    {"note on the motivation", "<dosageInstruction>",
     "<note><text value=\"SENTINELNOTERING\"/></note><dosageInstruction>",
     "SENTINELNOTERING"},
};

static char *
planted_message(void)
{
    char *msg = text_slurp(EX "motivation-enskild-attachments.xml");
    for (size_t i = 0; i < N(planted); i++)
        msg = text_replace(msg, planted[i].from, planted[i].to);
    return msg;
}

static void
test_view_redacted_motivation_has_no_reason_motivation_or_note(void **state)
{
    char *msg = planted_message();
    struct gw_fhir_doc *full = view_of(msg, &stamp_m, 0, "full");
    struct gw_fhir_doc *red = view_of(msg, &stamp_m, 1, "redacted");
    char *mr_full = picked_xml(full, "MedicationRequest", REFNR "-3");
    char *mr_red = picked_xml(red, "MedicationRequest", REFNR "-3");
    static const struct {
        const char *name, *text;
        int in_full, in_redacted;
    } cases[] = {
        {"reasonCode", "<reasonCode>", 1, 0},
        {"motivation extension", "StructureDefinition/klas-motivation\"", 1, 0},
        {"note", "<note>", 1, 0},
        {"REDACTED label", "<code value=\"REDACTED\"/>", 0, 1},
        {"v3-ObservationValue", "CodeSystem/v3-ObservationValue", 0, 1},
        {"licence type stays", "klas-licence-type", 1, 1},
        {"dosage stays", "<dosageInstruction>", 1, 1},
        {"total amount stays", "<dispenseRequest>", 1, 1},
        {"product stays", "20130603015935", 1, 1},
        {"subject stays", "<subject><reference value=\"Patient/" REFNR "-4\"",
         1, 1},
    };
    (void)state;

    assert_non_null(mr_full);
    assert_non_null(mr_red);
    for (size_t i = 0; i < N(cases); i++) {
        if ((strstr(mr_full, cases[i].text) != NULL) != cases[i].in_full)
            fail_msg("case '%s': in the full motivation: %d, expected %d",
                     cases[i].name, !cases[i].in_full, cases[i].in_full);
        if ((strstr(mr_red, cases[i].text) != NULL) != cases[i].in_redacted)
            fail_msg("case '%s': in the redacted motivation: %d, expected %d",
                     cases[i].name, !cases[i].in_redacted,
                     cases[i].in_redacted);
    }
    /* The hidden attachment goes, the other stays. */
    assert_true(gw_view_has(full, "DocumentReference", REFNR "-10"));
    assert_true(gw_view_has(full, "DocumentReference", REFNR "-11"));
    assert_false(gw_view_has(red, "DocumentReference", REFNR "-10"));
    assert_true(gw_view_has(red, "DocumentReference", REFNR "-11"));
    /* Nothing else of the case goes. */
    assert_true(gw_view_has(red, "Task", REFNR));
    assert_true(gw_view_has(red, "Patient", REFNR "-4"));
    assert_true(gw_view_has(red, "Organization", REFNR "-9"));
    free(mr_full);
    free(mr_red);
    gw_fhir_doc_free(full);
    gw_fhir_doc_free(red);
    free(msg);
}

static void
test_view_sentinels_reach_the_full_view_never_the_redacted(void **state)
{
    char *msg = planted_message();
    struct gw_fhir_doc *full = view_of(msg, &stamp_m, 0, "full");
    struct gw_fhir_doc *red = view_of(msg, &stamp_m, 1, "redacted");
    char *fx = as_xml(full), *fj = as_json(full);
    char *rx = as_xml(red), *rj = as_json(red);
    char *fh = NULL, *rh = NULL;
    size_t fl, rl;
    (void)state;

    assert_int_equal(gw_view_print(views, full, 0, &fh, &fl), GW_OK);
    assert_int_equal(gw_view_print(views, red, 0, &rh, &rl), GW_OK);
    for (size_t i = 0; i < N(planted); i++) {
        const char *s = planted[i].sentinel;
        if (strstr(fx, s) == NULL || strstr(fj, s) == NULL)
            fail_msg("case '%s': not in the full view (xml %d, json %d)",
                     planted[i].name, strstr(fx, s) != NULL,
                     strstr(fj, s) != NULL);
        if (strstr(rx, s) != NULL)
            fail_msg("case '%s': in the redacted view's XML", planted[i].name);
        if (strstr(rj, s) != NULL)
            fail_msg("case '%s': in the redacted view's JSON", planted[i].name);
        if (strstr(rh, s) != NULL)
            fail_msg("case '%s': in the redacted print", planted[i].name);
    }
    /* The print of the full view shows the motivation. */
    assert_non_null(strstr(fh, "SENTINELINDIKATION"));
    assert_non_null(strstr(fh, "SENTINELMOTIVERING"));
    free(fx);
    free(fj);
    free(rx);
    free(rj);
    free(fh);
    free(rh);
    gw_fhir_doc_free(full);
    gw_fhir_doc_free(red);
    free(msg);
}

/*
 * What the old deny-list let through (issue 11): anything it did not name.
 * Each case plants one sentinel where a submitted case could hold it; the
 * full view must show it (so the case is real) and no pharmacy's view,
 * XML, JSON or print, may.
 */
#define MR_SUBJECT                                                             \
    "<subject><reference value=\"urn:uuid:0b3e7a1c-1d2e-4f50-"                 \
    "9a61-000000000004\"/></subject>"
#define HIDDEN_LABEL                                                           \
    "<meta><security><system value=\"http://klasgw.org/fhir/CodeSystem/"       \
    "klas-security\"/><code value=\"hidden-from-pharmacy\"/></security>"       \
    "</meta>"
static const struct {
    const char *name, *from, *to, *sentinel;
} unlisted[] = {
    {"Task.note", "000000000009\"/></owner></Task>",
     "000000000009\"/></owner><note><text value=\"SENTTASKNOTE\"/></note>"
     "</Task>",
     "SENTTASKNOTE"},
    {"Task.description", "<intent value=\"proposal\"/><focus>",
     "<intent value=\"proposal\"/><description value=\"SENTTASKDESC\"/>"
     "<focus>",
     "SENTTASKDESC"},
    {"Task.reasonCode", "000000000009\"/></owner></Task>",
     "000000000009\"/></owner><reasonCode><text value=\"SENTTASKREASON\"/>"
     "</reasonCode></Task>",
     "SENTTASKREASON"},
    {"Task.input.valueString", "000000000009\"/></owner></Task>",
     "000000000009\"/></owner><input><type><text value=\"x\"/></type>"
     "<valueString value=\"SENTTASKINPUT\"/></input></Task>",
     "SENTTASKINPUT"},
    {"Binary entry", "</Bundle>",
     "<entry><fullUrl value=\"urn:uuid:0b3e7a1c-1d2e-4f50-9a61-000000000999\"/>"
     "<resource><Binary><contentType value=\"application/pdf\"/>"
     "<data value=\"U0VOVEJJTkFSWURBVEE=\"/></Binary></resource></entry>"
     "</Bundle>",
     "U0VOVEJJTkFSWURBVEE"},
    {"display of a reference to a contained hidden resource",
     "</Medication></contained>",
     "</Medication></contained><contained><DocumentReference>"
     "<id value=\"dold\"/>" HIDDEN_LABEL "<status value=\"current\"/>"
     "<content><attachment><title value=\"x\"/></attachment></content>"
     "</DocumentReference></contained>",
     NULL},
    {"display of a reference to a contained hidden resource", MR_SUBJECT,
     MR_SUBJECT
     "<supportingInformation><reference value=\"#dold\"/>"
     "<display value=\"SENTHIDDENDISPLAY\"/></supportingInformation>",
     "SENTHIDDENDISPLAY"},
    {"display of the patient reference", MR_SUBJECT,
     "<subject><reference value=\"urn:uuid:0b3e7a1c-1d2e-4f50-9a61-"
     "000000000004\"/><display value=\"SENTSUBJECTDISPLAY\"/></subject>",
     "SENTSUBJECTDISPLAY"},
    {"free-text extension on the MedicationRequest",
     "<status value=\"active\"/><intent value=\"proposal\"/><medication",
     "<extension url=\"http://example.org/fritext\"><valueString "
     "value=\"SENTEXTENSION\"/></extension><status value=\"active\"/>"
     "<intent value=\"proposal\"/><medication",
     "SENTEXTENSION"},
    {"modifierExtension on the MedicationRequest",
     "<status value=\"active\"/><intent value=\"proposal\"/><medication",
     "<modifierExtension url=\"http://example.org/fritext\"><valueString "
     "value=\"SENTMODIFIER\"/></modifierExtension><status value=\"active\"/>"
     "<intent value=\"proposal\"/><medication",
     "SENTMODIFIER"},
};

static void
test_view_pharmacy_sees_only_the_allow_list(void **state)
{
    static const struct gw_case_stamp other = {BASE,
                                               REFNR,
                                               "M",
                                               3,
                                               1768491240000LL,
                                               1768577640000LL,
                                               NULL,
                                               NULL,
                                               NULL,
                                               "7350000000023"};
    (void)state;

    for (size_t i = 0; i < N(unlisted); i++) {
        char *msg = text_slurp(EX "motivation-enskild-attachments.xml");
        struct gw_fhir_doc *full, *red[2];
        char *fx, *html;
        size_t hl;

        /* A case with a NULL sentinel prepares the next one. */
        for (; unlisted[i].sentinel == NULL; i++)
            msg = text_replace(msg, unlisted[i].from, unlisted[i].to);
        msg = text_replace(msg, unlisted[i].from, unlisted[i].to);
        full = view_of(msg, &stamp_m, 0, unlisted[i].name);
        red[0] = view_of(msg, &stamp_m, 1, unlisted[i].name);
        red[1] = view_of(msg, &other, 1, unlisted[i].name);
        fx = as_xml(full);
        if (strstr(fx, unlisted[i].sentinel) == NULL)
            fail_msg("case '%s': not in the full view", unlisted[i].name);
        for (int r = 0; r < 2; r++) {
            char *rx = as_xml(red[r]), *rj = as_json(red[r]);
            if (strstr(rx, unlisted[i].sentinel) != NULL ||
                strstr(rj, unlisted[i].sentinel) != NULL)
                fail_msg("case '%s': in pharmacy %d's view", unlisted[i].name,
                         r + 1);
            assert_int_equal(gw_view_print(views, red[r], 0, &html, &hl),
                             GW_OK);
            if (strstr(html, unlisted[i].sentinel) != NULL)
                fail_msg("case '%s': in pharmacy %d's print", unlisted[i].name,
                         r + 1);
            /* What a pharmacy needs is still there. */
            if (strstr(rx, "20130603015935") == NULL ||
                strstr(rx, "201006301111") == NULL)
                fail_msg("case '%s': the product or patient went",
                         unlisted[i].name);
            free(html);
            free(rx);
            free(rj);
            gw_fhir_doc_free(red[r]);
        }
        free(fx);
        gw_fhir_doc_free(full);
        free(msg);
    }
}

/* LV's requests and the supplements: a pharmacy sees those between LV and
 * itself, never a prescriber's nor those of another pharmacy. */
static void
test_view_pharmacy_sees_only_its_own_communications(void **state)
{
    static const struct {
        const char *name, *file, *payload;
        int to_chosen, to_other;
    } cases[] = {
        {"LV asks the chosen pharmacy", "supplement-request-to-pharmacy.xml",
         "<CommunicationRequest>", 1, 0},
        {"the chosen pharmacy supplements", "supplement-by-pharmacy.xml",
         "<Communication>", 1, 0},
        {"LV asks the prescriber", "supplement-request-to-prescriber.xml",
         "<CommunicationRequest>", 0, 0},
        {"the prescriber supplements", "supplement-by-prescriber.xml",
         "<Communication>", 0, 0},
    };
    struct gw_case_stamp s[2] = {stamp_m, stamp_m};
    (void)state;

    s[0].later_prefix = s[1].later_prefix = REFNR "-v5";
    s[0].viewer_gln = "7350000000016"; /* the chosen pharmacy's GLN */
    s[1].viewer_gln = "7350000000023";
    for (size_t i = 0; i < N(cases); i++) {
        char rel[200];
        char *msg, *fx;
        struct gw_fhir_doc *full;
        snprintf(rel, sizeof(rel), EX "%s", cases[i].file);
        msg = text_slurp(rel);
        full = view_of(msg, &s[0], 0, cases[i].name);
        fx = as_xml(full);
        if (strstr(fx, cases[i].payload) == NULL)
            fail_msg("case '%s': not in the full view", cases[i].name);
        for (int r = 0; r < 2; r++) {
            struct gw_fhir_doc *red = view_of(msg, &s[r], 1, cases[i].name);
            char *rx = as_xml(red);
            int want = r == 0 ? cases[i].to_chosen : cases[i].to_other;
            if ((strstr(rx, cases[i].payload) != NULL) != want)
                fail_msg("case '%s': pharmacy %s sees it: %d, expected %d",
                         cases[i].name, s[r].viewer_gln, !want, want);
            free(rx);
            gw_fhir_doc_free(red);
        }
        free(fx);
        gw_fhir_doc_free(full);
        free(msg);
    }
}

/* --- pick -------------------------------------------------------------- */

static void
test_view_pick_present_and_absent(void **state)
{
    static const struct {
        const char *name, *type, *id;
        int redact;
        gw_rc rc;
    } cases[] = {
        {"the Task", "Task", REFNR, 0, GW_OK},
        {"the patient", "Patient", REFNR "-4", 0, GW_OK},
        {"the hidden attachment, full view", "DocumentReference", REFNR "-10",
         0, GW_OK},
        {"the hidden attachment, redacted view", "DocumentReference",
         REFNR "-10", 1, GW_ENOTFOUND},
        {"the visible attachment, redacted view", "DocumentReference",
         REFNR "-11", 1, GW_OK},
        {"an id past the last entry", "Patient", REFNR "-99", 0, GW_ENOTFOUND},
        {"a right id with the wrong type", "Patient", REFNR "-3", 0,
         GW_ENOTFOUND},
        {"the MessageHeader is not part of the case", "MessageHeader",
         REFNR "-1", 0, GW_ENOTFOUND},
        {"another case's Task", "Task", "2026000000", 0, GW_ENOTFOUND},
    };
    char *msg = text_slurp(EX "motivation-enskild-attachments.xml");
    struct gw_fhir_doc *v[2] = {view_of(msg, &stamp_m, 0, "full"),
                                view_of(msg, &stamp_m, 1, "redacted")};
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        struct gw_fhir_doc *d = (struct gw_fhir_doc *)1;
        char id[64];
        gw_rc rc =
            gw_view_pick(v[cases[i].redact], cases[i].type, cases[i].id, &d);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %s, expected %s", cases[i].name,
                     gw_rc_name(rc), gw_rc_name(cases[i].rc));
        if (rc != GW_OK) {
            if (d != NULL)
                fail_msg("case '%s': refusal left *out set", cases[i].name);
            continue;
        }
        if (strcmp(gw_fhir_doc_type(d), cases[i].type) != 0)
            fail_msg("case '%s': picked a %s", cases[i].name,
                     gw_fhir_doc_type(d));
        if (!gw_view_value(d, "id", id, sizeof(id)) ||
            strcmp(id, cases[i].id) != 0)
            fail_msg("case '%s': picked id %s", cases[i].name, id);
        gw_fhir_doc_free(d);
    }
    gw_fhir_doc_free(v[0]);
    gw_fhir_doc_free(v[1]);
    free(msg);
}

/* --- print ------------------------------------------------------------- */

static void
test_view_print_names_the_case(void **state)
{
    static const struct {
        const char *name, *file;
    } cases[] = {
        {"enskild", "motivation-enskild-searched.xml"},
        {"general", "motivation-generell-unit.xml"},
        {"attachments", "motivation-enskild-attachments.xml"},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        char rel[256];
        char *msg, *html = NULL;
        size_t len = 0;
        struct gw_fhir_doc *v;

        snprintf(rel, sizeof(rel), EX "%s", cases[i].file);
        msg = text_slurp(rel);
        for (int redact = 0; redact < 2; redact++) {
            v = view_of(msg, &stamp_m, redact, cases[i].name);
            if (gw_view_print(views, v, 0, &html, &len) != GW_OK)
                fail_msg("case '%s': print failed", cases[i].name);
            if (strlen(html) != len)
                fail_msg("case '%s': length %zu for %zu bytes", cases[i].name,
                         len, strlen(html));
            if (strstr(html, REFNR) == NULL)
                fail_msg("case '%s' (redact %d): no referensnummer",
                         cases[i].name, redact);
            if (strstr(html, "<script") != NULL)
                fail_msg("case '%s': a script in the print", cases[i].name);
            free(html);
            gw_fhir_doc_free(v);
        }
        free(msg);
    }
}

/*
 * The printable copy of a case in every status (the rows of state.h, not
 * a list here): a status whose row is decided prints the "Beslut" section
 * with the row's Swedish name and English definition; the others print
 * none; only the status in force prints the validity. The worked example
 * (tests/worked-example) runs this on its patched tree, with its new row.
 */
#define STATUS_ROW_(id, code, sv, en, task, flags) {code, sv, en, flags},
static void
test_view_print_decision_line_follows_the_rows(void **state)
{
    static const struct {
        const char *code, *sv, *en;
        unsigned flags;
    } rows[] = {GW_CASE_STATUS_ROWS(STATUS_ROW_)};
    char *msg = text_slurp(EX "motivation-enskild-searched.xml");
    int decided = 0;
    (void)state;

    for (size_t i = 0; i < N(rows); i++) {
        struct gw_case_stamp s = stamp_m;
        struct gw_fhir_doc *v;
        char *html = NULL, want[256], *sect;
        size_t len = 0;
        int is_decided = (rows[i].flags & GW_ST_DECIDED) != 0;

        s.status = rows[i].code;
        s.valid_from = "2026-02-10", s.valid_to = "2027-02-09";
        v = view_of(msg, &s, 0, rows[i].code);
        if (gw_view_print(views, v, 0, &html, &len) != GW_OK)
            fail_msg("status %s: print failed", rows[i].code);
        /* "<sv> / <en with a lower-case initial>" */
        snprintf(want, sizeof(want), "%s / %c%s", rows[i].sv,
                 rows[i].en[0] >= 'A' && rows[i].en[0] <= 'Z'
                     ? rows[i].en[0] + 32
                     : rows[i].en[0],
                 rows[i].en + 1);
        sect = strstr(html, "<h2>Beslut");
        if (is_decided && (sect == NULL || strstr(sect, want) == NULL))
            fail_msg("status %s is decided: no decision line \"%s\"",
                     rows[i].code, want);
        if (!is_decided && sect != NULL)
            fail_msg("status %s is not decided: a decision section",
                     rows[i].code);
        if ((strstr(html, "Giltig") != NULL) !=
            ((rows[i].flags & GW_ST_IN_FORCE) != 0))
            fail_msg("status %s: validity printed %d, in force %d",
                     rows[i].code, strstr(html, "Giltig") != NULL,
                     (rows[i].flags & GW_ST_IN_FORCE) != 0);
        decided += is_decided;
        free(html);
        gw_fhir_doc_free(v);
    }
    assert_true(decided > 0);
    free(msg);
}
#undef STATUS_ROW_

/* Swedish time with the zone named, across both changes of 2026 (last
 * Sundays of March and October, at 01:00 UTC). */
static void
test_view_print_times_are_swedish_local_time(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"2026-01-15T15:34:00Z", "2026-01-15 16:34 CET"},
        {"2026-01-15T16:34:00+01:00", "2026-01-15 16:34 CET"},
        {"2026-01-15T16:34:00.123+01:00", "2026-01-15 16:34 CET"},
        {"2026-03-29T00:59:00Z", "2026-03-29 01:59 CET"},
        {"2026-03-29T01:00:00Z", "2026-03-29 03:00 CEST"},
        {"2026-07-01T10:00:00Z", "2026-07-01 12:00 CEST"},
        {"2026-10-25T00:59:00Z", "2026-10-25 02:59 CEST"},
        {"2026-10-25T01:00:00Z", "2026-10-25 02:00 CET"},
        {"2026-12-31T23:30:00Z", "2027-01-01 00:30 CET"},
        {"2026-06-30T23:30:00-05:00", "2026-07-01 06:30 CEST"},
    };
    char out[64];
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        if (!gw_print_local_time(cases[i].in, out, sizeof(out)) ||
            strcmp(out, cases[i].out) != 0)
            fail_msg("%s: '%s', expected '%s'", cases[i].in, out, cases[i].out);
    }
    assert_false(gw_print_local_time("2026-01-15", out, sizeof(out)));
    assert_false(gw_print_local_time("2026-01-15T16:34:00", out, sizeof(out)));
}

/* Replaces the first `from` in s (malloc'd, freed) by `to`. */
static char *
edit(char *s, const char *from, const char *to)
{
    char *at = strstr(s, from), *r;

    assert_non_null(at);
    r = malloc(strlen(s) + strlen(to) + 1);
    assert_non_null(r);
    memcpy(r, s, (size_t)(at - s));
    strcpy(r + (at - s), to);
    strcat(r, at + strlen(from));
    free(s);
    return r;
}

/* The PDF read back as text (pdftotext, poppler-utils), malloc'd. */
static char *
pdf_text(const char *pdf, size_t len)
{
    char path[] = "/tmp/test_view_pdf_XXXXXX", cmd[128];
    int fd = mkstemp(path);
    FILE *p;
    char *out = calloc(1, 1 << 20);
    size_t n;

    assert_true(fd >= 0);
    assert_non_null(out);
    assert_int_equal(write(fd, pdf, len), (ssize_t)len);
    close(fd);
    snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 %s - 2>&1", path);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, (1 << 20) - 1, p);
    out[n] = '\0';
    if (pclose(p) != 0)
        fail_msg("pdftotext (poppler-utils, scripts/install-deps.sh): %s", out);
    /* GW_TEST_KEEP_PDF=FILE keeps it to look at (pdftoppm -png). */
    if (getenv("GW_TEST_KEEP_PDF") != NULL)
        rename(path, getenv("GW_TEST_KEEP_PDF"));
    else
        unlink(path);
    return out;
}

/* A copy a prescriber can file: names outside CP1252 as written, times in
 * Swedish time with the zone, labels instead of codes, the personnummer as
 * ÅÅÅÅMMDD-NNNN, the decision, and on every page the referensnummer, the
 * print time and "sida x av y"; the HTML has no empty rows. */
static void
test_view_pdf_is_a_copy_worth_filing(void **state)
{
    static const char *const expect[] = {
        "Dvořák",
        "Łukasiewicz-Şahin",
        "Nguyễn Thị",
        "2026-01-15 16:34 CET",
        "2026-07-01 12:00 CEST",
        "Enskild licens",
        "Sökt bland beviljade licenser",
        "20100630-1111",
        "Beviljad mängd",
        "300 ml",
        "2026-07-01 – 2027-06-30",
    };
    static const char *const never[] = {"Dvo?ák", "Licenstyp: EH", "?"};
    const struct gw_case_stamp bev = {
        BASE, REFNR,        "Bev",        7,   1768491240000LL, 1782900000000LL,
        NULL, "2026-07-01", "2027-06-30", NULL};
    char *msg = text_slurp(EX "motivation-enskild-searched.xml");
    char *pdf = NULL, *html = NULL, *text, *page;
    size_t len = 0, hlen = 0;
    struct gw_fhir_doc *v;
    int pages = 0;
    (void)state;

    msg = edit(msg, "<family value=\"Testsson\"", "<family value=\"Dvořák\"");
    msg = edit(msg, "<given value=\"Tova\"",
               "<given value=\"Łukasiewicz-Şahin\"");
    msg = edit(msg, "<family value=\"Läkarsson\"",
               "<family value=\"Nguyễn Thị\"");
    v = view_of(msg, &bev, 0, "pdf");
    assert_int_equal(gw_view_print(views, v, 1, &pdf, &len), GW_OK);
    assert_int_equal(gw_view_print(views, v, 0, &html, &hlen), GW_OK);
    text = pdf_text(pdf, len);
    for (size_t i = 0; i < N(expect); i++)
        if (strstr(text, expect[i]) == NULL)
            fail_msg("the PDF lacks '%s':\n%s", expect[i], text);
    for (size_t i = 0; i < N(never); i++)
        if (strstr(text, never[i]) != NULL)
            fail_msg("the PDF holds '%s':\n%s", never[i], text);
    /* Every page (form feed separated) names the case and its number. */
    for (page = text; page != NULL && *page != '\0';) {
        char *ff = strchr(page, '\f'), want[64];
        if (ff != NULL)
            *ff = '\0';
        pages++;
        snprintf(want, sizeof(want), "Sida %d av", pages);
        if (strstr(page, REFNR) == NULL || strstr(page, want) == NULL ||
            strstr(page, "Utskriven 20") == NULL)
            fail_msg("page %d lacks the referensnummer, print time or "
                     "'%s':\n%s",
                     pages, want, page);
        page = ff ? ff + 1 : NULL;
    }
    assert_true(pages >= 1);
    if (strstr(html, "<td></td>") != NULL || strstr(html, "<td> </td>") != NULL)
        fail_msg("an empty row in the HTML:\n%s", html);
    assert_non_null(strstr(html, "@page"));
    free(text);
    free(pdf);
    free(html);
    gw_fhir_doc_free(v);
    free(msg);
}

/* Issue #14 §4, from the rendered pages: an attachment's row is labelled
 * "Bilaga / Attachment" with the file's title and description as its
 * value (a title without description still prints), no label has an
 * empty English part (the PDF showed "bilaga-1.pdf ()"), and the HTML's
 * print stylesheet puts the referensnummer and "Sida x av y" on every
 * page as the PDF does. */
static void
test_view_print_labels_attachments_and_numbers_pages(void **state)
{
    static const char *const want_html[] = {
        "<th>Bilaga (dold för apotek)<span class=\"en\">Attachment (hidden "
        "from pharmacy)</span>",
        "<td>bilaga-1.pdf – Produktinformation 1</td>",
        "<td>bilaga-2.pdf</td>",
        "@bottom-left",
        "Referensnummer " REFNR,
        "Sida \" counter(page) \" av \" counter(pages)",
    };
    char *msg = text_slurp(EX "motivation-enskild-attachments.xml");
    char *pdf = NULL, *html = NULL, *text;
    size_t len = 0, hlen = 0;
    struct gw_fhir_doc *v;
    (void)state;

    msg = edit(msg, "<description value=\"Produktinformation 2\"/>", "");
    v = view_of(msg, &stamp_m, 0, "attachments");
    assert_int_equal(gw_view_print(views, v, 0, &html, &hlen), GW_OK);
    assert_int_equal(gw_view_print(views, v, 1, &pdf, &len), GW_OK);
    for (size_t i = 0; i < N(want_html); i++)
        if (strstr(html, want_html[i]) == NULL)
            fail_msg("the HTML lacks '%s':\n%s", want_html[i], html);
    if (strstr(html, "<span class=\"en\"></span>") != NULL)
        fail_msg("a label without English in the HTML:\n%s", html);
    /* Chromium split a heading from its English line across pages. */
    {
        const char *h = strstr(html, "@media print"), *end;
        h = h ? strstr(h, "h1, h2 {") : NULL;
        end = h ? strchr(h, '}') : NULL;
        if (end == NULL || strstr(h, "break-inside: avoid") == NULL ||
            strstr(h, "break-inside: avoid") > end)
            fail_msg("a heading may split across pages:\n%s", html);
    }
    text = pdf_text(pdf, len);
    if (strstr(text, "()") != NULL)
        fail_msg("an empty '()' in the PDF:\n%s", text);
    if (strstr(text, "Bilaga (dold för apotek)") == NULL)
        fail_msg("the PDF lacks the attachment's label:\n%s", text);
    free(text);
    free(pdf);
    free(html);
    gw_fhir_doc_free(v);
    free(msg);
}

/* --- copy to a new motivation --------------------------------------- */

static void
test_view_copy_is_a_fresh_valid_motivation(void **state)
{
    static const struct {
        const char *name, *file;
    } cases[] = {
        {"enskild with attachments", "motivation-enskild-attachments.xml"},
        {"enskild searched", "motivation-enskild-searched.xml"},
        {"general administration", "motivation-generell-administration.xml"},
        {"beredskap", "motivation-beredskap.xml"},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        char rel[256], buf[128];
        char *msg, *xml;
        struct gw_fhir_doc *copy = NULL, *task = NULL, *hdr = NULL;
        struct gw_outcome o;
        gw_rc rc;

        snprintf(rel, sizeof(rel), EX "%s", cases[i].file);
        msg = text_slurp(rel);
        /* As stored: identified by the sender, and the case stamped. */
        msg = text_replace(msg, "<type value=\"message\"/>",
                           "<identifier><system value=\"urn:ietf:rfc:3986\"/>"
                           "<value value=\"urn:uuid:5e2b0c4e-0000-4000-8000-"
                           "00000000abcd\"/></identifier>"
                           "<type value=\"message\"/>");
        msg = text_replace(msg, "<Task><status value=\"requested\"/>",
                           "<Task><identifier><system value=\"" REFNS
                           "\"/><value value=\"" REFNR "\"/></identifier>"
                           "<status value=\"requested\"/>");
        rc = gw_view_copy(views, msg, strlen(msg), &copy);
        if (rc != GW_OK)
            fail_msg("case '%s': copy %s", cases[i].name, gw_rc_name(rc));
        xml = as_xml(copy);
        if (strstr(xml, "urn:ietf:rfc:3986") != NULL ||
            strstr(xml, "00000000abcd") != NULL)
            fail_msg("case '%s': the Bundle.identifier survived",
                     cases[i].name);
        if (strstr(xml, REFNR) != NULL || strstr(xml, REFNS) != NULL)
            fail_msg("case '%s': the referensnummer survived", cases[i].name);
        if (gw_view_value(copy, "identifier/value", buf, sizeof(buf)))
            fail_msg("case '%s': Bundle.identifier %s", cases[i].name, buf);
        if (gw_view_pick(copy, "Task", NULL, &task) != GW_OK)
            fail_msg("case '%s': no Task", cases[i].name);
        if (gw_view_value(task, "identifier/value", buf, sizeof(buf)))
            fail_msg("case '%s': Task.identifier %s", cases[i].name, buf);
        if (!gw_view_value(task, "status", buf, sizeof(buf)) ||
            strcmp(buf, "draft") != 0)
            fail_msg("case '%s': Task.status %s", cases[i].name, buf);
        if (gw_view_pick(copy, "MessageHeader", NULL, &hdr) != GW_OK ||
            !gw_view_value(hdr, "eventCoding/code", buf, sizeof(buf)) ||
            strcmp(buf, "motivation-submit") != 0)
            fail_msg("case '%s': event %s", cases[i].name, buf);
        gw_outcome_init(&o);
        rc = gw_validate_doc(validator, copy, "2026-11-22", &o);
        if (rc != GW_OK) {
            gw_outcome_print_text(&o, stdout);
            fail_msg("case '%s': the copy does not validate (%s)",
                     cases[i].name, gw_rc_name(rc));
        }
        gw_outcome_release(&o);
        gw_fhir_doc_free(hdr);
        gw_fhir_doc_free(task);
        gw_fhir_doc_free(copy);
        free(xml);
        free(msg);
    }
}

/* --- search and history Bundles -------------------------------------- */

static void
test_view_bundles_parse_back(void **state)
{
    static const struct {
        const char *name, *type, *mode, *method;
        int include;
        long total;
        const char *self;
        int entries; /* Task + 9 others of the attachments message */
    } cases[] = {
        {"searchset of the Task", "searchset", "match", NULL, 0, 1,
         BASE "/Task?identifier=" REFNR, 1},
        {"searchset with _include", "searchset", "match", NULL, 1, 1, NULL, 10},
        {"searchset, no total", "searchset", "match", NULL, 0, -1, NULL, 1},
        {"history", "history", NULL, "GET", 0, 1, NULL, 1},
    };
    char *msg = text_slurp(EX "motivation-enskild-attachments.xml");
    struct gw_fhir_doc *v = view_of(msg, &stamp_m, 0, "view");
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        struct gw_bundle *b = NULL;
        struct gw_fhir_doc *out = NULL, *back;
        char *xml, *json, want[128], buf[128];

        assert_int_equal(gw_bundle_new(cases[i].type, &b), GW_OK);
        assert_int_equal(gw_bundle_add(b, v, "Task", REFNR, cases[i].mode,
                                       cases[i].method,
                                       cases[i].method ? "Task/" REFNR : NULL),
                         GW_OK);
        if (cases[i].include)
            assert_int_equal(
                gw_bundle_add(b, v, NULL, NULL, "include", NULL, NULL), GW_OK);
        assert_int_equal(gw_bundle_take(b, cases[i].total, cases[i].self, &out),
                         GW_OK);
        xml = as_xml(out);
        json = as_json(out);
        back = parse(json, cases[i].name);
        if (strcmp(gw_fhir_doc_type(back), "Bundle") != 0)
            fail_msg("case '%s': parsed back a %s", cases[i].name,
                     gw_fhir_doc_type(back));
        gw_fhir_doc_free(back);
        back = parse(xml, cases[i].name);
        gw_fhir_doc_free(back);
        if (!gw_view_value(out, "type", buf, sizeof(buf)) ||
            strcmp(buf, cases[i].type) != 0)
            fail_msg("case '%s': type %s", cases[i].name, buf);
        if (text_count(xml, "<entry>") != cases[i].entries)
            fail_msg("case '%s': %d entries, expected %d", cases[i].name,
                     text_count(xml, "<entry>"), cases[i].entries);
        if (text_count(xml, "<Task") != 1)
            fail_msg("case '%s': %d Tasks", cases[i].name,
                     text_count(xml, "<Task"));
        snprintf(want, sizeof(want), "%ld", cases[i].total);
        if (cases[i].total >= 0 &&
            (!gw_view_value(out, "total", buf, sizeof(buf)) ||
             strcmp(buf, want) != 0))
            fail_msg("case '%s': total %s", cases[i].name, buf);
        if (cases[i].total < 0 && gw_view_value(out, "total", buf, 16))
            fail_msg("case '%s': a total without one", cases[i].name);
        if (cases[i].self != NULL &&
            (!gw_view_value(out, "link/url", buf, sizeof(buf)) ||
             strcmp(buf, cases[i].self) != 0))
            fail_msg("case '%s': self link %s", cases[i].name, buf);
        if (!gw_view_value(out, "timestamp", buf, sizeof(buf)))
            fail_msg("case '%s': no timestamp", cases[i].name);
        if (!gw_view_value(out, "entry/fullUrl", buf, sizeof(buf)) ||
            strcmp(buf, BASE "/Task/" REFNR) != 0)
            fail_msg("case '%s': first fullUrl %s", cases[i].name, buf);
        if (cases[i].method != NULL &&
            strstr(xml,
                   "<request><method value=\"GET\"/><url value=\"Task/" REFNR
                   "\"/></request>") == NULL)
            fail_msg("case '%s': no request in the history entry",
                     cases[i].name);
        if (cases[i].mode != NULL &&
            text_count(xml, "<mode value=\"match\"/>") != 1)
            fail_msg("case '%s': %d matches", cases[i].name,
                     text_count(xml, "<mode value=\"match\"/>"));
        free(xml);
        free(json);
        gw_fhir_doc_free(out);
    }
    gw_fhir_doc_free(v);
    free(msg);
}

/* --- Parameters ------------------------------------------------------- */

static void
test_view_param_reads_every_value_kind(void **state)
{
    static const char params[] =
        "{\"resourceType\":\"Parameters\",\"parameter\":["
        "{\"name\":\"licence\",\"valueString\":\"" REFNR "\"},"
        "{\"name\":\"amount\",\"valueDecimal\":12.5},"
        "{\"name\":\"quantity\",\"valueQuantity\":{\"value\":300,"
        "\"unit\":\"ml\"}},"
        "{\"name\":\"identifier\",\"valueIdentifier\":{\"system\":"
        "\"urn:ietf:rfc:3986\",\"value\":\"urn:uuid:1\"}},"
        "{\"name\":\"on\",\"valueDate\":\"2026-03-01\"},"
        "{\"name\":\"licence\",\"valueString\":\"second\"}]}";
    static const struct {
        const char *name, *param, *value;
        int found;
    } cases[] = {
        {"valueString", "licence", REFNR, 1},
        {"valueDecimal as written", "amount", "12.5", 1},
        {"valueQuantity.value", "quantity", "300", 1},
        {"valueIdentifier.value", "identifier", "urn:uuid:1", 1},
        {"valueDate", "on", "2026-03-01", 1},
        {"missing name", "patient", "", 0},
        {"a prefix of a name", "licen", "", 0},
    };
    struct gw_fhir_doc *d = parse(params, "parameters");
    struct gw_fhir_doc *notp = NULL;
    char *msg;
    (void)state;

    for (size_t i = 0; i < N(cases); i++) {
        char buf[64] = "junk";
        int found = gw_view_param(d, cases[i].param, buf, sizeof(buf));
        if (found != cases[i].found || strcmp(buf, cases[i].value) != 0)
            fail_msg("case '%s': found %d '%s', expected %d '%s'",
                     cases[i].name, found, buf, cases[i].found, cases[i].value);
    }
    /* Not a Parameters resource: nothing. */
    msg = text_slurp(EX "motivation-enskild-searched.xml");
    notp = parse(msg, "bundle");
    {
        char buf[16] = "junk";
        assert_int_equal(gw_view_param(notp, "type", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "");
    }
    gw_fhir_doc_free(notp);
    gw_fhir_doc_free(d);
    free(msg);
}

static int
setup(void **state)
{
    char xsd[512];
    struct gw_err err;
    (void)state;

    gw_fhir_init();
    gw_err_clear(&err);
    if (gw_views_new(GW_SOURCE_DIR "/xslt", &views, &err) != GW_OK) {
        fprintf(stderr, "views: %s\n", err.detail);
        return -1;
    }
    snprintf(xsd, sizeof(xsd), "%s/fhir-profiles/xsd/fhir-klas.xsd",
             GW_SOURCE_DIR);
    return gw_validator_new(xsd, &validator, &err) == GW_OK ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    gw_views_free(views);
    gw_validator_free(validator);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_task_carries_refnr_status_and_version),
        cmocka_unit_test(test_view_every_reference_is_rewritten_and_resolves),
        cmocka_unit_test(test_view_ids_follow_entry_positions),
        cmocka_unit_test(
            test_view_redacted_motivation_has_no_reason_motivation_or_note),
        cmocka_unit_test(
            test_view_sentinels_reach_the_full_view_never_the_redacted),
        cmocka_unit_test(test_view_pharmacy_sees_only_the_allow_list),
        cmocka_unit_test(test_view_pharmacy_sees_only_its_own_communications),
        cmocka_unit_test(test_view_pick_present_and_absent),
        cmocka_unit_test(test_view_print_names_the_case),
        cmocka_unit_test(test_view_print_decision_line_follows_the_rows),
        cmocka_unit_test(test_view_print_times_are_swedish_local_time),
        cmocka_unit_test(test_view_pdf_is_a_copy_worth_filing),
        cmocka_unit_test(test_view_print_labels_attachments_and_numbers_pages),
        cmocka_unit_test(test_view_copy_is_a_fresh_valid_motivation),
        cmocka_unit_test(test_view_bundles_parse_back),
        cmocka_unit_test(test_view_param_reads_every_value_kind),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
