/*
 * receipt.c - the receipt written as text (receipt.h).
 *
 * One description of the receipt (write_receipt) drives either form: an
 * element is opened, given values and closed the same way for both, and
 * the writer below turns that into what gw_fhir_to_xml writes for a plain
 * tree (fhir.c: put_plain) or what gw_fhir_to_json writes (through the
 * same JSON writer, fhir/jsonw.h, members in the model's order, which is
 * the order they are written here). The one thing JSON needs
 * that XML does not is where a repeating element's array begins and
 * ends: the description says so (FIRST, LAST).
 */
#include "pipeline/receipt.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "fhir/jsonw.h"
#include "fhir/model.h"
#include "fhir/out.h"
#include "klas/state.h"
#include "map/view.h"
#include "validate/outcome.h"

#define FHIR_NS "http://hl7.org/fhir"
#define KLAS "http://klasgw.org/fhir"

/* A member of a repeating element: the first opens the JSON array, the
 * last closes it (one alone is both). */
#define ONE 0
#define FIRST 1
#define LAST 2
#define MANY 4 /* an element of a repeating one */
#define ALONE (FIRST | LAST | MANY)

/* The writer: JSON's layout is gw_fhir_to_json's own (jsonw.h); both
 * forms gather in out's block. */
struct rw {
    struct gw_fhir_out out;
    struct gw_jsonw j;
    int json;
};

static inline void
put(struct rw *w, const char *s, size_t n)
{
    gw_fhir_out_put(&w->out, s, n);
}

static inline void
put_str(struct rw *w, const char *s)
{
    put(w, s, strlen(s));
}

/* v as an attribute value, escaped as gw_fhir_to_xml escapes it, its
 * control characters as fhir/build.h keeps them. */
static void
put_xml_value(struct rw *w, const char *v)
{
    gw_fhir_out_flush(&w->out);
    if (w->out.rc == GW_OK)
        w->out.rc = gw_xml_escape_attr(w->out.b, v);
}

/* --- elements, for either form ---------------------------------------- */

/* An XML tag: name with what goes before and after it ("<", ">"). */
static inline void
tag(struct rw *w, const char *before, const char *name, const char *after)
{
    put_str(w, before);
    put_str(w, name);
    put_str(w, after);
}

/* JSON: the key a value or element goes under; the first of a repeating
 * element gives its name to the array it opens, the others go in it. */
static void
json_key(struct rw *w, const char *name, int many)
{
    if (!(many & MANY)) {
        gw_jsonw_member(&w->j, name);
        return;
    }
    if (many & FIRST) {
        gw_jsonw_member(&w->j, name);
        gw_jsonw_open(&w->j, "[");
    }
    gw_jsonw_member(&w->j, NULL);
}

/* JSON: after the last of a repeating element, its array closes. */
static void
json_key_end(struct rw *w, int many)
{
    if ((many & MANY) && (many & LAST))
        gw_jsonw_close(&w->j, "]");
}

/* <name value="v"/> or "name": "v"; nothing when v is NULL or "". */
static void
value(struct rw *w, const char *name, const char *v, int many)
{
    if (v == NULL || v[0] == '\0')
        return;
    if (!w->json) {
        put(w, "<", 1);
        put_str(w, name);
        put(w, " value=\"", 8);
        put_xml_value(w, v);
        put(w, "\"/>", 3);
        return;
    }
    json_key(w, name, many);
    gw_jsonw_string(&w->j, v);
    json_key_end(w, many);
}

/* An element with children: begin, its children, end (same `many`).
 * Inline, as tag is: the names are constants where they are called,
 * and their lengths then fold; the receipt is written for every
 * submission on the request thread. */
static inline void
begin(struct rw *w, const char *name, int many)
{
    if (!w->json) {
        tag(w, "<", name, ">");
        return;
    }
    json_key(w, name, many);
    gw_jsonw_open(&w->j, "{");
}

static inline void
end(struct rw *w, const char *name, int many)
{
    if (!w->json) {
        tag(w, "</", name, ">");
        return;
    }
    gw_jsonw_close(&w->j, "}");
    json_key_end(w, many);
}

/* A Bundle entry: its fullUrl and the resource in it, which XML names by
 * its type and JSON by its first member, resourceType. */
static void
entry_begin(struct rw *w, const char *url, const char *type, int many)
{
    begin(w, "entry", many);
    value(w, "fullUrl", url, ONE);
    if (!w->json) {
        tag(w, "<resource><", type, ">");
        return;
    }
    begin(w, "resource", ONE);
    value(w, "resourceType", type, ONE);
}

static void
entry_end(struct rw *w, const char *type, int many)
{
    if (!w->json)
        tag(w, "</", type, "></resource>");
    else
        end(w, "resource", ONE);
    end(w, "entry", many);
}

/* --- the receipt ------------------------------------------------------ */

int
gw_receipt_has_warnings(const struct gw_outcome *o)
{
    for (size_t i = 0; o != NULL && i < o->n; i++)
        if (o->issues[i].severity == GW_SEV_WARNING)
            return 1;
    return 0;
}

/* The warnings of a stored message as an OperationOutcome entry of the
 * receipt (MessageHeader.response.details points at it): severity
 * warning, the rule id and the texts in Swedish and English, exactly as
 * $validate gives them. */
static void
warnings_entry(struct rw *w, const char *url, const struct gw_outcome *o)
{
    size_t last = 0, n = 0;

    for (size_t i = 0; i < o->n; i++)
        if (o->issues[i].severity == GW_SEV_WARNING)
            last = i, n++;
    entry_begin(w, url, "OperationOutcome", MANY | LAST);
    for (size_t i = 0, k = 0; i < o->n; i++) {
        const struct gw_issue *is = &o->issues[i];
        int many = MANY | (k == 0 ? FIRST : 0) | (i == last ? LAST : 0);
        if (is->severity != GW_SEV_WARNING)
            continue;
        k++;
        begin(w, "issue", many);
        value(w, "severity", "warning", ONE);
        value(w, "code", is->code, ONE);
        begin(w, "details", ONE);
        begin(w, "coding", ALONE);
        value(w, "system", KLAS "/CodeSystem/klas-validation", ONE);
        value(w, "code", is->rule, ONE);
        value(w, "display", is->en, ONE);
        end(w, "coding", ALONE);
        value(w, "text", is->sv, ONE);
        end(w, "details", ONE);
        value(w, "expression", is->expression, ALONE);
        end(w, "issue", many);
    }
    (void)n;
    entry_end(w, "OperationOutcome", MANY | LAST);
}

/* A Task.input: its type as text, its value as value[x] (kind). */
static void
task_input(struct rw *w, const char *text, const char *kind, const char *v,
           int many)
{
    begin(w, "input", many);
    begin(w, "type", ONE);
    value(w, "text", text, ONE);
    end(w, "type", ONE);
    value(w, kind, v, ONE);
    end(w, "input", many);
}

static void
write_receipt(struct rw *w, const struct gw_receipt *r)
{
    enum gw_case_status cs = GW_CASE_NONE;
    int warn = gw_receipt_has_warnings(r->issues);
    int has_type = r->licence_type != NULL && r->licence_type[0] != '\0';
    int has_drug = r->drug != NULL && r->drug[0] != '\0';
    char now[40], created[40], url[48], oo_url[48], ver[24], ref[32];
    char full[512];

    if (gw_case_status_parse(r->status, &cs) != GW_OK)
        cs = GW_CASE_NONE;
    gw_clock_format(r->now_ms, now, sizeof(now));
    gw_clock_format(r->created_ms ? r->created_ms : r->now_ms, created,
                    sizeof(created));
    snprintf(url, sizeof(url), "urn:uuid:%s", r->uuid);
    snprintf(oo_url, sizeof(oo_url), "urn:uuid:%s",
             r->oo_uuid != NULL ? r->oo_uuid : "");
    snprintf(ver, sizeof(ver), "%ld", r->version);
    snprintf(ref, sizeof(ref), "Task/%s", r->refnr);
    snprintf(full, sizeof(full), "%s/%s", r->base, ref);

    if (w->json) {
        gw_jsonw_open(&w->j, "{");
        value(w, "resourceType", "Bundle", ONE);
    } else {
        put_str(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<Bundle xmlns=\"" FHIR_NS "\">");
    }
    value(w, "type", "message", ONE);
    value(w, "timestamp", now, ONE);

    entry_begin(w, url, "MessageHeader", MANY | FIRST);
    begin(w, "eventCoding", ONE);
    value(w, "system", KLAS "/CodeSystem/klas-event", ONE);
    value(w, "code", r->event, ONE);
    end(w, "eventCoding", ONE);
    begin(w, "source", ONE);
    value(w, "name", "klasgw", ONE);
    value(w, "endpoint", r->base, ONE);
    end(w, "source", ONE);
    begin(w, "response", ONE);
    value(w, "identifier",
          r->header_id != NULL && r->header_id[0] ? r->header_id : "unknown",
          ONE);
    value(w, "code", "ok", ONE);
    if (warn) {
        begin(w, "details", ONE);
        value(w, "reference", oo_url, ONE);
        end(w, "details", ONE);
    }
    end(w, "response", ONE);
    begin(w, "focus", ALONE);
    value(w, "reference", ref, ONE);
    end(w, "focus", ALONE);
    entry_end(w, "MessageHeader", MANY | FIRST);

    entry_begin(w, full, "Task", MANY | (warn ? 0 : LAST));
    value(w, "id", r->refnr, ONE);
    begin(w, "meta", ONE);
    value(w, "versionId", ver, ONE);
    value(w, "lastUpdated", now, ONE);
    end(w, "meta", ONE);
    begin(w, "identifier", ALONE);
    value(w, "system", KLAS "/NamingSystem/referensnummer", ONE);
    value(w, "value", r->refnr, ONE);
    end(w, "identifier", ALONE);
    value(w, "status", gw_view_task_status(r->status), ONE);
    begin(w, "businessStatus", ONE);
    begin(w, "coding", ALONE);
    value(w, "system", KLAS "/CodeSystem/klas-case-status", ONE);
    value(w, "code", r->status, ONE);
    value(w, "display", gw_case_status_name_sv(cs), ONE);
    end(w, "coding", ALONE);
    end(w, "businessStatus", ONE);
    value(w, "intent", "proposal", ONE);
    value(w, "authoredOn", created, ONE);
    value(w, "lastModified", now, ONE);
    if (has_type)
        task_input(w, "licenstyp", "valueCode", r->licence_type,
                   MANY | FIRST | (has_drug ? 0 : LAST));
    if (has_drug)
        task_input(w, "produkt", "valueString", r->drug,
                   MANY | LAST | (has_type ? 0 : FIRST));
    entry_end(w, "Task", MANY | (warn ? 0 : LAST));

    if (warn)
        warnings_entry(w, oo_url, r->issues);

    if (w->json) {
        gw_jsonw_close(&w->j, "}");
        put(w, "\n", 1);
    } else {
        put_str(w, "</Bundle>\n");
    }
}

/* What the model's check of the receipt as a tree refused (and with it
 * the write): the values that come from the message and are not checked
 * as what they become here. The MessageHeader id of a message without
 * one is the uuid of its entry's fullUrl (a uri), which the receipt's
 * response.identifier (an id) may not hold; the other values are the
 * gateway's own codes, ids and times, or checked already. */
static gw_rc
check(const struct gw_receipt *r)
{
    const char *why;

    if (r->header_id != NULL && r->header_id[0] != '\0' &&
        !gw_fhir_prim_valid(GW_FHIR_P_ID, r->header_id, &why))
        return GW_EVALIDATION;
    if (r->licence_type != NULL && r->licence_type[0] != '\0' &&
        !gw_fhir_prim_valid(GW_FHIR_P_CODE, r->licence_type, &why))
        return GW_EVALIDATION;
    return GW_OK;
}

gw_rc
gw_receipt_write(const struct gw_receipt *r, enum gw_fhir_format fmt,
                 struct gw_buf *out)
{
    struct rw w;
    gw_rc rc = check(r);

    if (rc != GW_OK)
        return rc;
    gw_fhir_out_init(&w.out, out);
    /* Control characters as a space: a JSON message may carry them
     * (\u0001 in a string), and the receipt's tree held a space. */
    gw_jsonw_init(&w.j, &w.out, 1);
    w.json = fmt == GW_FHIR_JSON;
    write_receipt(&w, r);
    gw_fhir_out_flush(&w.out);
    return w.out.rc;
}
