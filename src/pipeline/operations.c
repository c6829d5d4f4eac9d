/*
 * operations.c - what pharmacies and prescribers do besides sending case
 * messages: the licence check and dispensing record at the pharmacy
 * counter, the product and pharmacy searches, the printable copy, "copy
 * to a new motivation", and renewing consent.
 *
 * Same habits as pipeline.c: the caller's role decides first, every call
 * is audited, answers are FHIR resources built as trees (fhir/build.h)
 * and checked against the model before they leave.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "fhir/build.h"
#include "klas/event.h"
#include "klas/ident.h"
#include "klas/licence.h"
#include "map/view.h"
#include "pipeline/pipeline_int.h"
#include "store/licence.h"
#include "store/read.h"
#include "store/write.h"
#include "validate/outcome.h"

/* Whether the caller may do op; if not, a is the refusal and it is
 * audited as action. Returns 1 when refused. */
static int
refuse_unless(struct gw_pipeline *pl, const struct gw_call *c,
              enum gw_operation op, const char *action, struct gw_answer *a)
{
    struct gw_err err;
    gw_rc rc;

    gw_err_clear(&err);
    rc = gw_access_operation(c->who, op, &err);
    if (rc == GW_OK)
        return 0;
    gw_pipeline_refuse(pl, c, a, rc, &err, NULL, action, NULL, NULL);
    return 1;
}

static void
today(char out[16])
{
    char ts[40];

    gw_clock_format(gw_clock_now_ms(), ts, sizeof(ts));
    snprintf(out, 16, "%.10s", ts);
}

static int
is_date(const char *s)
{
    int y, m, d;
    char tail;

    return s != NULL && strlen(s) == 10 &&
           sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 &&
           gw_date_valid(y, m, d);
}

/* --- $check-licence ---------------------------------------------------- */

/* One Parameters entry, <parameter><name/><value[x]/></parameter>; the
 * builder's errors are sticky (gw_fhir_build_take reports them). */
static struct gw_fhir_el *
param(struct gw_fhir_build *b, const char *name, const char *type,
      const char *v)
{
    struct gw_fhir_el *p = gw_fhir_el_add(b, gw_fhir_build_root(b), "parameter");
    char el[40];

    gw_fhir_el_value(b, p, "name", name);
    if (type != NULL) {
        snprintf(el, sizeof(el), "value%s", type);
        gw_fhir_el_value(b, p, el, v);
    }
    return p;
}

static void
licence_params(struct gw_fhir_build *b, const struct gw_licence_hit *h)
{
    char num[64], ref[40];

    snprintf(ref, sizeof(ref), "Task/%s", h->refnr);
    gw_fhir_el_value(b,
                     gw_fhir_el_add(b, param(b, "licence", NULL, NULL),
                                    "valueReference"),
                     "reference", ref);
    param(b, "licence-type", "Code", h->licence_type);
    param(b, "beredskap", "Boolean", h->beredskap ? "true" : "false");
    if (h->general_level[0])
        param(b, "general-level", "Code", h->general_level);
    param(b, "valid-from", "Date", h->valid_from);
    param(b, "valid-to", "Date", h->valid_to);
    if (h->total_amount > 0) {
        snprintf(num, sizeof(num), "%g", h->total_amount);
        param(b, "granted-amount", "Decimal", num);
        snprintf(num, sizeof(num), "%g", h->dispensed);
        param(b, "dispensed-amount", "Decimal", num);
        snprintf(num, sizeof(num), "%g", h->total_amount - h->dispensed);
        param(b, "remaining-amount", "Decimal", num);
    }
    if (h->amount_unit[0])
        param(b, "unit", "String", h->amount_unit);
}

/* The answer Parameters, built as a tree: `flag` (covered, recorded)
 * true or false, the licence when there is one, a reason when given. */
static gw_rc
licence_answer(const char *flag, int yes, const struct gw_licence_hit *h,
               const char *reason, struct gw_fhir_doc **out)
{
    struct gw_fhir_build *b = NULL;
    struct gw_err err;
    gw_rc rc = gw_fhir_build_new("Parameters", &b);

    if (rc != GW_OK)
        return rc;
    param(b, flag, "Boolean", yes ? "true" : "false");
    if (h != NULL)
        licence_params(b, h);
    if (reason != NULL)
        param(b, "reason", "String", reason);
    gw_err_clear(&err);
    return gw_fhir_build_take(b, NULL, out, &err);
}

static void
facts_of(const struct gw_licence_hit *h, struct gw_licence_facts *l)
{
    l->licence_type = h->licence_type;
    l->beredskap = h->beredskap;
    l->general_level = h->general_level[0] ? h->general_level : NULL;
    l->patient_id = h->patient_id;
    l->clinic_hsa = h->clinic_hsa;
    l->hospital_hsa = h->hospital_hsa;
}

static gw_rc
check_inputs(const char *product, const char *patient, const char *unit,
             const char *admin, struct gw_err *err)
{
    if (product != NULL && product[0] == '\0')
        return gw_err_set(err, GW_EINVAL, "product",
                          "name the product (NPL id or name)");
    if ((patient == NULL) == (unit == NULL))
        return gw_err_set(err, GW_EINVAL, "patient",
                          "give the patient (prescription) or the care unit "
                          "(requisition), not both");
    if (patient != NULL &&
        gw_pnr_parse(patient, GW_PNR_ALLOW_ALL, NULL, NULL) != GW_OK)
        return gw_err_set(err, GW_EINVAL, "patient",
                          "not a personnummer, samordningsnummer or date of "
                          "birth");
    if (unit != NULL && gw_hsaid_check(unit, NULL) != GW_OK)
        return gw_err_set(err, GW_EINVAL, "unit", "not an HSA-id");
    if (admin != NULL && gw_hsaid_check(admin, NULL) != GW_OK)
        return gw_err_set(err, GW_EINVAL, "administration", "not an HSA-id");
    return GW_OK;
}

/* The refusal when the product was given by part of its name: the same
 * reason in Swedish and English. */
#define REASON_PARTIAL_NAME                                                   \
    "Ingen licens för exakt det produktnamnet; ange hela namnet eller "      \
    "NPL-id (det finns licenser för produkter vars namn innehåller "         \
    "texten) / No licence for exactly that product name; give the whole "   \
    "name or the NPL id (there are licences for products whose name "        \
    "contains the text)"

void
gw_pipeline_check_licence(struct gw_pipeline *pl, const struct gw_call *c,
                          const struct gw_licence_check *q,
                          struct gw_answer *a)
{
    struct gw_licence_hit *hits = NULL, *hit = NULL;
    struct gw_dispensing_ctx d;
    int used_up, partial = 0;
    struct gw_err err;
    size_t n = 0;
    char day[16];
    gw_rc rc;

    memset(a, 0, sizeof(*a));
    gw_err_clear(&err);
    if (refuse_unless(pl, c, GW_OP_CHECK_LICENCE, "check-licence", a))
        return;
    rc = check_inputs(q->product ? q->product : "", q->patient, q->unit,
                      q->administration, &err);
    if (rc == GW_OK && q->on != NULL && !is_date(q->on))
        rc = gw_err_set(&err, GW_EINVAL, "on", "a date YYYY-MM-DD");
    if (rc != GW_OK) {
        gw_pipeline_refuse(pl, c, a, rc, &err, NULL, "check-licence", NULL,
                           err.path);
        return;
    }
    today(day);
    rc = gw_store_licences(pl->o.store, NULL, q->on ? q->on : day, q->product,
                           &hits, &n);
    if (rc != GW_OK) {
        gw_answer_error(a, rc, NULL);
        return;
    }
    /* Nothing by the whole name or NPL id: if the text is part of a
     * licensed product's name, say so, or the pharmacist reads "no
     * licence" where one exists (issue #14). Whose, which: unsaid. */
    if (n == 0 && q->product != NULL) {
        rc = gw_store_licence_name_contains(pl->o.store, q->on ? q->on : day,
                                            q->product, &partial);
        if (rc != GW_OK) {
            gw_answer_error(a, rc, NULL);
            return;
        }
    }
    d.kind = q->patient ? GW_DISPENSE_PRESCRIPTION : GW_DISPENSE_REQUISITION;
    d.patient_id = q->patient;
    d.unit_hsa = q->unit;
    d.administration_hsa = q->administration;
    for (size_t i = 0; i < n && hit == NULL; i++) {
        struct gw_licence_facts l;
        facts_of(&hits[i], &l);
        if (gw_licence_covers(&l, &d, NULL) == GW_OK)
            hit = &hits[i];
    }
    /* A licence whose granted amount is used up covers nothing more; it
     * is still named, so the pharmacy knows which and why. */
    used_up = hit != NULL && hit->total_amount > 0 &&
              hit->total_amount - hit->dispensed <= 1e-9;
    if (licence_answer(
            "covered", hit && !used_up, hit,
            used_up ? "Licensens beviljade totalmängd är expedierad / The "
                      "granted total amount has been dispensed"
            : hit == NULL && partial ? REASON_PARTIAL_NAME
            : hit == NULL ? "Ingen giltig licens täcker expedieringen / No "
                            "valid licence covers this dispensing"
                          : NULL,
            &a->doc) != GW_OK)
        gw_answer_error(a, GW_EINTERNAL, NULL);
    else
        a->status = 200;
    gw_pl_audit(pl, c, "check-licence", hit ? hit->refnr : NULL, GW_OK,
                hit ? "covered" : "not covered");
    free(hits);
}

/* --- $record-dispensing ------------------------------------------------ */

/* The dispensing, from the parsed Parameters (doc taken; NULL: parse_err
 * says why there is none). bytes: parse them here instead. */
static void
record(struct gw_pipeline *pl, const struct gw_call *c,
       struct gw_fhir_doc *doc, const struct gw_err *parse_err,
       const char *body, size_t len, struct gw_answer *a)
{
    struct gw_licence_hit *hits = NULL;
    struct gw_licence_facts l;
    struct gw_dispensing_ctx dc;
    struct gw_store_write w;
    struct gw_store_result res;
    struct gw_dispense d;
    struct gw_audit_entry au;
    struct gw_err err;
    size_t n = 0;
    char ident[80], ident2[64], refnr[16] = "", amount[32], on[16], kind[16],
        patient[16],
        unit[40], admin[40], key[200], num[128], day[16], *end;
    double amt = 0;
    gw_rc rc;

    memset(a, 0, sizeof(*a));
    memset(&res, 0, sizeof(res));
    gw_err_clear(&err);
    if (refuse_unless(pl, c, GW_OP_RECORD_DISPENSING, "record-dispensing",
                      a)) {
        gw_fhir_doc_free(doc);
        return;
    }
    if (body != NULL)
        rc = gw_fhir_parse(body, len, GW_FHIR_SNIFF, &pl->o.limits, &doc,
                           &err);
    else if (doc == NULL)
        rc = gw_err_set(&err,
                        parse_err && parse_err->rc ? parse_err->rc
                                                   : GW_EPARSE,
                        parse_err ? parse_err->path : NULL, "%s",
                        parse_err ? parse_err->detail : "no Parameters");
    else
        rc = GW_OK;
    if (rc == GW_OK && strcmp(gw_fhir_doc_type(doc), "Parameters") != 0)
        rc = gw_err_set(&err, GW_EVALIDATION, "resourceType",
                        "expected Parameters");
    if (rc != GW_OK)
        goto out;
    gw_view_param(doc, "patient", patient, sizeof(patient));
    gw_view_param(doc, "unit", unit, sizeof(unit));
    gw_view_param(doc, "administration", admin, sizeof(admin));
    gw_view_param(doc, "dispensed-on", on, sizeof(on));
    if (!gw_view_param(doc, "identifier", ident, sizeof(ident)))
        rc = gw_err_set(&err, GW_EVALIDATION,
                        "Parameters.parameter('identifier')",
                        "the pharmacy's own id of the dispensing is required "
                        "(it makes a resend harmless)");
    else if (!gw_view_param(doc, "licence", ident2, sizeof(ident2)) ||
             snprintf(refnr, sizeof(refnr), "%s",
                      strncmp(ident2, "Task/", 5) == 0 ? ident2 + 5
                                                       : ident2) < 0 ||
             gw_refnr_check(refnr, NULL) != GW_OK)
        rc = gw_err_set(&err, GW_EVALIDATION,
                        "Parameters.parameter('licence')",
                        "the licence's referensnummer is required");
    else if (!gw_view_param(doc, "amount", amount, sizeof(amount)) ||
             (amt = strtod(amount, &end)) <= 0 || *end != '\0')
        rc = gw_err_set(&err, GW_EVALIDATION,
                        "Parameters.parameter('amount')",
                        "a positive amount is required");
    else if (on[0] != '\0' && !is_date(on))
        rc = gw_err_set(&err, GW_EVALIDATION,
                        "Parameters.parameter('dispensed-on')",
                        "a date YYYY-MM-DD");
    else if (!gw_view_param(doc, "kind", kind, sizeof(kind)) ||
             (strcmp(kind, "prescription") != 0 &&
              strcmp(kind, "requisition") != 0))
        rc = gw_err_set(&err, GW_EVALIDATION, "Parameters.parameter('kind')",
                        "prescription or requisition");
    else
        rc = check_inputs(NULL, patient[0] ? patient : NULL,
                          unit[0] ? unit : NULL, admin[0] ? admin : NULL, &err);
    if (rc == GW_OK && (strcmp(kind, "prescription") == 0) != (patient[0] != 0))
        rc = gw_err_set(&err, GW_EVALIDATION,
                        "Parameters.parameter('patient')",
                        "a prescription names the patient, a requisition "
                        "the care unit");
    if (rc != GW_OK)
        goto out;
    today(day);
    if (on[0] == '\0')
        snprintf(on, sizeof(on), "%s", day);
    else if (strcmp(on, day) > 0) {
        rc = gw_err_set(&err, GW_EVALIDATION,
                        "Parameters.parameter('dispensed-on')",
                        "a dispensing is recorded when it has happened, not "
                        "before");
        goto out;
    }

    /* The licence must cover this patient or unit; the writer then checks
     * status, validity and amount in the same transaction as the record. */
    rc = gw_store_licences(pl->o.store, refnr, NULL, NULL, &hits, &n);
    if (rc == GW_OK && n == 0) {
        gw_err_set(&err, GW_EDENIED, "licence", "no such licence");
        rc = gw_err_sv(&err, GW_EDENIED, "det finns ingen sådan licens");
    }
    if (rc != GW_OK)
        goto out;
    facts_of(&hits[0], &l);
    dc.kind = strcmp(kind, "prescription") == 0 ? GW_DISPENSE_PRESCRIPTION
                                                 : GW_DISPENSE_REQUISITION;
    dc.patient_id = patient[0] ? patient : NULL;
    dc.unit_hsa = unit[0] ? unit : NULL;
    dc.administration_hsa = admin[0] ? admin : NULL;
    rc = gw_licence_covers(&l, &dc, &err);
    if (rc != GW_OK)
        goto out;

    memset(&w, 0, sizeof(w));
    snprintf(key, sizeof(key), "%s:dispense:%s", c->who->label, ident);
    d = (struct gw_dispense){c->who->gln, amt, on, kind};
    au = (struct gw_audit_entry){c->who->label, c->who->gln,
                                 "record-dispensing", refnr, "ok",
                                 c->request_id};
    w.message_id = key;
    w.sender = c->who->label;
    snprintf(num, sizeof(num), "%s|%s|%s|%s", refnr, amount, on, kind);
    w.content_hash = num;
    w.op = GW_STORE_OP_DISPENSE;
    w.row.refnr = refnr;
    w.expect_status = gw_case_status_in_force_code(); /* granted only */
    w.dispense = &d;
    w.audit = &au;
    w.naudit = 1;
    w.response_status = 200;
    rc = gw_store_write(pl->o.store, &w, &res);
    if (rc != GW_OK) {
        err = res.err;
        goto out;
    }
    gw_store_result_release(&res);
    /* The answer: what is left now. */
    free(hits);
    hits = NULL;
    if (gw_store_licences(pl->o.store, refnr, NULL, NULL, &hits, &n) !=
            GW_OK ||
        n == 0 ||
        licence_answer("recorded", 1, &hits[0], NULL, &a->doc) != GW_OK) {
        rc = GW_EINTERNAL;
        goto out;
    }
    a->status = 200;
    gw_log_info("event=dispensing refnr=%s kind=%s", refnr, kind);
out:
    if (rc != GW_OK) {
        gw_pipeline_refuse(pl, c, a, rc, &err, NULL, "record-dispensing",
                           refnr[0] ? refnr : NULL, err.detail);
    }
    gw_store_result_release(&res);
    free(hits);
    gw_fhir_doc_free(doc);
}

void
gw_pipeline_record_dispensing(struct gw_pipeline *pl, const struct gw_call *c,
                              const char *body, size_t len,
                              struct gw_answer *a)
{
    record(pl, c, NULL, NULL, body, len, a);
}

void
gw_pipeline_record_dispensing_doc(struct gw_pipeline *pl,
                                  const struct gw_call *c,
                                  struct gw_fhir_doc *doc,
                                  const struct gw_err *parse_err,
                                  struct gw_answer *a)
{
    record(pl, c, doc, parse_err, NULL, 0, a);
}

/* --- Sök produkt, Sök apotek -------------------------------------------- */

static int
long_enough(const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fields[i] != NULL && strlen(fields[i]) >= 3)
            return 1;
    return 0;
}

/* The searchset Bundle's entry for type/id: <entry><fullUrl/><resource>
 * <type><id/>...; returns the resource element, the caller fills it. */
static struct gw_fhir_el *
entry_open(struct gw_fhir_build *b, const struct gw_call *c, const char *type,
           const char *id)
{
    struct gw_fhir_el *e = gw_fhir_el_add(b, gw_fhir_build_root(b), "entry");
    struct gw_fhir_el *r;
    char url[1024];

    snprintf(url, sizeof(url), "%s/%s/%s", c->base ? c->base : "", type, id);
    gw_fhir_el_value(b, e, "fullUrl", url);
    r = gw_fhir_el_add(b, gw_fhir_el_add(b, e, "resource"), type);
    gw_fhir_el_value(b, gw_fhir_el_add(b, e, "search"), "mode", "match");
    gw_fhir_el_value(b, r, "id", id);
    return r;
}

/* <wrap><name value="v"/></wrap> under parent when v is not empty. */
static void
wrapped_value(struct gw_fhir_build *b, struct gw_fhir_el *parent,
              const char *wrap, const char *name, const char *v)
{
    if (v != NULL && v[0] != '\0')
        gw_fhir_el_value(b, gw_fhir_el_add(b, parent, wrap), name, v);
}

/* <coding><system/><code/></coding> under parent when code is not empty. */
static void
coding(struct gw_fhir_build *b, struct gw_fhir_el *parent, const char *system,
       const char *code)
{
    struct gw_fhir_el *cd;

    if (code == NULL || code[0] == '\0')
        return;
    cd = gw_fhir_el_add(b, parent, "coding");
    gw_fhir_el_value(b, cd, "system", system);
    gw_fhir_el_value(b, cd, "code", code);
}

static void
product_entry(struct gw_fhir_build *b, const struct gw_call *c,
              const void *row, size_t i)
{
    const struct gw_product *p = row;
    struct gw_fhir_el *m, *code;
    char id[40];

    /* Products have no identity of their own but the NPL id. */
    if (p->nplid[0])
        snprintf(id, sizeof(id), "npl-%s", p->nplid);
    else
        snprintf(id, sizeof(id), "product-%zu", i + 1);
    m = entry_open(b, c, "Medication", id);
    if (p->country[0])
        gw_fhir_el_value(b,
                         gw_fhir_el_extension(
                             b,
                             gw_fhir_el_extension(
                                 b, m,
                                 "http://klasgw.org/fhir/StructureDefinition/"
                                 "klas-approval"),
                             "country"),
                         "valueString", p->country);
    if (p->strength[0])
        gw_fhir_el_value(b,
                         gw_fhir_el_extension(
                             b, m,
                             "http://klasgw.org/fhir/StructureDefinition/"
                             "klas-strength"),
                         "valueString", p->strength);
    code = gw_fhir_el_add(b, m, "code");
    coding(b, code, "http://electronichealth.se/identifier/nplid", p->nplid);
    coding(b, code, "http://www.whocc.no/atc", p->atc);
    gw_fhir_el_value(b, code, "text", p->name);
    wrapped_value(b, m, "manufacturer", "display", p->holder);
    wrapped_value(b, m, "form", "text", p->form);
    for (const char *s = p->substances; *s;) {
        char one[256];
        size_t n = strcspn(s, ",");
        snprintf(one, sizeof(one), "%.*s", (int)n, s);
        wrapped_value(b, gw_fhir_el_add(b, m, "ingredient"),
                      "itemCodeableConcept", "text", one);
        s += n;
        while (*s == ',' || *s == ' ')
            s++;
    }
}

static int
not_operator(struct gw_pipeline *pl, const struct gw_call *c,
             const char *action, struct gw_answer *a)
{
    return !refuse_unless(pl, c, GW_OP_REGISTER_SEARCH, action, a);
}

static void
pharmacy_entry(struct gw_fhir_build *b, const struct gw_call *c,
               const void *row, size_t i)
{
    const struct gw_pharmacy *p = row;
    struct gw_fhir_el *o = entry_open(b, c, "Organization", p->gln);
    struct gw_fhir_el *ident = gw_fhir_el_add(b, o, "identifier");

    (void)i;
    gw_fhir_el_value(b, ident, "system", "urn:oid:2.51.1.3");
    gw_fhir_el_value(b, ident, "value", p->gln);
    gw_fhir_el_value(b, o, "active", "true");
    gw_fhir_el_value(b, o, "name", p->name);
    gw_fhir_el_value(b, o, "alias", p->actor);
    if (p->address[0] || p->city[0]) {
        struct gw_fhir_el *ad = gw_fhir_el_add(b, o, "address");
        gw_fhir_el_value(b, ad, "line", p->address);
        gw_fhir_el_value(b, ad, "city", p->city);
    }
}

/* Whether a register search may run: operators only, and at least 3
 * characters in some field; on refusal a is set. */
static int
search_allowed(struct gw_pipeline *pl, const struct gw_call *c,
               const char *action, const char *const *fields, size_t n,
               struct gw_answer *a)
{
    struct gw_err err;

    memset(a, 0, sizeof(*a));
    gw_err_clear(&err);
    if (!not_operator(pl, c, action, a))
        return 0;
    if (!long_enough(fields, n)) {
        gw_err_set(&err, GW_EINVAL, NULL,
                   "give at least 3 characters in some field");
        gw_pipeline_refuse(pl, c, a, GW_EINVAL, &err, NULL, action, NULL, NULL);
        return 0;
    }
    return 1;
}

/* The searchset Bundle of n register rows (size each), one entry per row
 * by entry(), built as a tree, answered and audited as action. Takes
 * rows. */
static void
search_answer(struct gw_pipeline *pl, const struct gw_call *c,
              const char *action, gw_rc rc, void *rows, size_t n,
              size_t size,
              void (*entry)(struct gw_fhir_build *, const struct gw_call *,
                            const void *, size_t),
              struct gw_answer *a)
{
    struct gw_fhir_build *b = NULL;
    char ts[40], total[32];
    struct gw_err err;

    gw_err_clear(&err);
    if (rc == GW_OK)
        rc = gw_fhir_build_new("Bundle", &b);
    if (rc == GW_OK) {
        struct gw_fhir_el *root = gw_fhir_build_root(b);

        gw_clock_format(gw_clock_now_ms(), ts, sizeof(ts));
        snprintf(total, sizeof(total), "%zu", n);
        gw_fhir_el_value(b, root, "type", "searchset");
        gw_fhir_el_value(b, root, "timestamp", ts);
        gw_fhir_el_value(b, root, "total", total);
        for (size_t i = 0; i < n; i++)
            entry(b, c, (const char *)rows + i * size, i);
        rc = gw_fhir_build_take(b, NULL, &a->doc, &err);
    }
    gw_pl_answer(pl, c, a, rc, NULL, action, NULL);
    free(rows);
}

/* How a register's search is answered: its action (refusals, audit), the
 * size of a row and its entry. */
static const struct {
    const char *action;
    size_t size;
    void (*entry)(struct gw_fhir_build *, const struct gw_call *, const void *,
                  size_t);
} registers[] = {
    [GW_REGISTER_PRODUCTS] = {"product-search", sizeof(struct gw_product),
                              product_entry},
    [GW_REGISTER_PHARMACIES] = {"pharmacy-search", sizeof(struct gw_pharmacy),
                                pharmacy_entry},
};

/* The search of register r for q (a struct of its kind), if allowed. */
static void
register_search(struct gw_pipeline *pl, const struct gw_call *c,
                enum gw_register r, const void *q, struct gw_answer *a)
{
    const char *fields[GW_REGISTER_FIELDS];
    size_t nf = gw_store_register_fields(r, q, fields);
    void *rows = NULL;
    size_t n = 0;
    gw_rc rc;

    if (!search_allowed(pl, c, registers[r].action, fields, nf, a))
        return;
    rc = gw_store_register_search(pl->o.store, r, q, &rows, &n);
    search_answer(pl, c, registers[r].action, rc, rows, n, registers[r].size,
                  registers[r].entry, a);
}

void
gw_pipeline_product_search(struct gw_pipeline *pl, const struct gw_call *c,
                           const struct gw_product *q, struct gw_answer *a)
{
    register_search(pl, c, GW_REGISTER_PRODUCTS, q, a);
}

void
gw_pipeline_pharmacy_search(struct gw_pipeline *pl, const struct gw_call *c,
                            const struct gw_pharmacy *q, struct gw_answer *a)
{
    register_search(pl, c, GW_REGISTER_PHARMACIES, q, a);
}

/* --- printable copy, copy to new, consent ------------------------------- */

void
gw_pipeline_print(struct gw_pipeline *pl, const struct gw_call *c,
                  const char *refnr, int pdf, char **html, size_t *len,
                  struct gw_answer *a)
{
    struct gw_case_row row;
    struct gw_fhir_doc *view = NULL;
    int redact = 1;
    gw_rc rc;

    *html = NULL;
    *len = 0;
    memset(a, 0, sizeof(*a));
    if (gw_pl_case_for_read(pl, c, refnr, 0, &row, &redact, a) != GW_OK)
        return;
    rc = gw_pl_case_view(pl, c, &row, row.status, row.version, row.updated_ms,
                         redact, 1, &view);
    if (rc == GW_OK)
        rc = gw_view_print(pl->o.views, view, pdf, html, len);
    gw_pl_answer(pl, c, a, rc, NULL, "print", refnr);
    gw_fhir_doc_free(view);
    gw_case_row_release(&row);
}

void
gw_pipeline_copy(struct gw_pipeline *pl, const struct gw_call *c,
                 const char *refnr, struct gw_answer *a)
{
    const struct gw_event_def *def;
    struct gw_case_row row;
    struct gw_err err;
    char *kind = NULL, *xml = NULL;
    size_t len = 0;
    long got = 0;
    int redact = 1;
    gw_rc rc;

    memset(a, 0, sizeof(*a));
    gw_err_clear(&err);
    if (refuse_unless(pl, c, GW_OP_COPY, "copy", a))
        return;
    if (gw_pl_case_for_read(pl, c, refnr, 0, &row, &redact, a) != GW_OK)
        return;
    rc = gw_store_document_get(pl->o.store, refnr, 1, &kind, &xml, &len, &got);
    /* Only a message that makes a case from itself is a motivation. */
    if (rc == GW_OK && ((def = gw_klas_event_by_code(kind)) == NULL ||
                        def->ref != GW_CASE_REF_NONE))
        rc = gw_err_set(&err, GW_EINVAL, NULL,
                        "a re-application has no motivation to copy");
    if (rc == GW_OK)
        rc = gw_view_copy(pl->o.views, xml, len, &a->doc);
    gw_pl_answer(pl, c, a, rc, &err, "copy", refnr);
    free(kind);
    free(xml);
    gw_case_row_release(&row);
}

void
gw_pipeline_renew_consent(struct gw_pipeline *pl, const struct gw_call *c,
                          struct gw_answer *a)
{
    struct gw_outcome o;
    struct gw_err err;
    gw_rc rc;

    memset(a, 0, sizeof(*a));
    gw_err_clear(&err);
    if (refuse_unless(pl, c, GW_OP_CONSENT, "consent", a))
        return;
    if (c->who->user == NULL || c->who->user[0] == '\0') {
        gw_err_set(&err, GW_EUNAUTH, NULL,
                   "the EHR must name its user (X-Klasgw-User)");
        gw_pipeline_refuse(pl, c, a, GW_EUNAUTH, &err, NULL, "consent", NULL,
                           NULL);
        return;
    }
    rc = gw_store_consent_renew(pl->o.store, c->who->user, gw_clock_now_ms());
    gw_outcome_init(&o);
    if (rc == GW_OK &&
        gw_outcome_add(&o, GW_SEV_INFORMATION, "informational",
                       "klas-consent", NULL,
                       "Godkännandet av personuppgiftsbehandlingen är "
                       "registrerat",
                       "Consent to the processing of personal data is "
                       "recorded") == GW_OK &&
        gw_outcome_to_doc(&o, &a->doc) == GW_OK)
        a->status = 200;
    else
        gw_answer_error(a, rc == GW_OK ? GW_EINTERNAL : rc, NULL);
    gw_outcome_release(&o);
    gw_pl_audit(pl, c, "consent", NULL, rc, NULL);
}
