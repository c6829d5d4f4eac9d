/*
 * conformance.c - the conformance resources the gateway publishes under
 * /fhir/, read-only and public like /fhir/metadata:
 *
 *   OperationDefinition/{code}  each operation of its own: the route
 *                               table's "$" rows (those the base
 *                               specification defines excepted)
 *   SearchParameter/{Type-code} each search parameter it defines: the
 *                               route table's parameters with a KLAS
 *                               definition
 *   MessageDefinition/{code}    each KLAS event: the event table of
 *                               klas/event.c (sender roles, from the rows)
 *
 * Each is built from those tables when asked, so a new route, parameter or
 * event is published by its row. What the tables do not say, the
 * parameters of an operation, is one row per operation below; a "$" route
 * without one is still published, with no parameters (and fails
 * tests/unit/test_http_routes.c). The types are in the model table as
 * out-only: written, never accepted inbound.
 */
#include "http/route.h"

#include <stdio.h>
#include <string.h>

#include "core/names.h"
#include "fhir/build.h"
#include "klas/event.h"
#include "klas/state.h"

#define CANON "http://klasgw.org/fhir/"
#define KLAS_SP CANON "SearchParameter/"
#define EVENT_CS CANON "CodeSystem/klas-event"
#define DATE "2026-12-01"

/* --- operations --------------------------------------------------------- */

struct op_param {
    const char *op, *name, *use;
    int min;
    const char *max, *type, *doc;
};

static const struct op_param op_params[] = {
    {"print", "return", "out", 1, "1", "Binary",
     "the printable copy: HTML, or an A4 PDF with _format=pdf or Accept: "
     "application/pdf"},
    {"copy", "return", "out", 1, "1", "Bundle",
     "a pre-filled new motivation message without identifiers"},
    {"check-licence", "product", "in", 1, "1", "string",
     "NPL id or the product's whole name"},
    {"check-licence", "patient", "in", 0, "1", "string",
     "personnummer or samordningsnummer (a prescription)"},
    {"check-licence", "unit", "in", 0, "1", "string",
     "HSA-id of the care unit (a requisition)"},
    {"check-licence", "administration", "in", 0, "1", "string",
     "HSA-id of the administration (a requisition)"},
    {"check-licence", "on", "in", 0, "1", "date", "the day; default today"},
    {"check-licence", "covered", "out", 1, "1", "boolean",
     "whether a granted, valid licence covers it"},
    {"check-licence", "licence", "out", 0, "1", "Reference",
     "the licence's Task"},
    {"check-licence", "reason", "out", 0, "1", "string",
     "why not, in Swedish and English"},
    {"record-dispensing", "identifier", "in", 1, "1", "string",
     "the pharmacy's own id of the dispensing (sent again, counts once)"},
    {"record-dispensing", "licence", "in", 1, "1", "string",
     "referensnummer (or valueReference Task/<refnr>)"},
    {"record-dispensing", "amount", "in", 1, "1", "decimal", NULL},
    {"record-dispensing", "kind", "in", 1, "1", "code",
     "prescription or requisition"},
    {"record-dispensing", "patient", "in", 0, "1", "string",
     "for a prescription"},
    {"record-dispensing", "unit", "in", 0, "1", "string",
     "HSA-id, for a requisition"},
    {"record-dispensing", "administration", "in", 0, "1", "string",
     "HSA-id, for a requisition"},
    {"record-dispensing", "dispensed-on", "in", 0, "1", "date",
     "default today; never in the future"},
    {"record-dispensing", "recorded", "out", 1, "1", "boolean", NULL},
    {"record-dispensing", "licence", "out", 0, "1", "Reference",
     "the licence's Task"},
    {"renew-consent", "return", "out", 1, "1", "OperationOutcome",
     "the consent recorded"},
};
#define NOP_PARAMS (sizeof(op_params) / sizeof(op_params[0]))

/* Operations another specification defines (R4 itself, the Subscriptions
 * Backport IG): referenced by their canonical, not published here. */
static const struct foreign_op {
    const char *code, *canonical;
} foreign_ops[] = {
    {"$process-message",
     "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"},
    {"$validate", "http://hl7.org/fhir/OperationDefinition/Resource-validate"},
    {"$status", "http://hl7.org/fhir/uv/subscriptions-backport/"
                "OperationDefinition/backport-subscription-status"},
    {"$events", "http://hl7.org/fhir/uv/subscriptions-backport/"
                "OperationDefinition/backport-subscription-events"},
};

const char *
gw_conformance_op_canonical(const char *code)
{
    const struct foreign_op *op = GW_NAME_FIND(foreign_ops, code);

    return op != NULL ? op->canonical : NULL;
}

const char *
gw_conformance_op_type(const struct gw_route_def *d, char *buf, size_t size)
{
    const char *t = d->pattern + 6, *slash;

    if (strncmp(d->pattern, "/fhir/", 6) != 0 ||
        (slash = strchr(t, '/')) == NULL || slash[1] != '{' ||
        (size_t)(slash - t) >= size)
        return NULL;
    memcpy(buf, t, (size_t)(slash - t));
    buf[slash - t] = '\0';
    return buf;
}

static int
base_op(const char *code)
{
    return gw_conformance_op_canonical(code) != NULL;
}

/* The i-th route row that is an operation of our own, or NULL. */
static const struct gw_route_def *
op_row(size_t i)
{
    size_t nt;
    const struct gw_route_def *t = gw_route_table(&nt);

    for (size_t k = 0; k < nt; k++)
        if (t[k].cap_code != NULL && t[k].cap_code[0] == '$' &&
            !base_op(t[k].cap_code) && i-- == 0)
            return &t[k];
    return NULL;
}

int
gw_conformance_op_documented(const char *code)
{
    return GW_NAME_FIND(op_params, code) != NULL;
}

/* "check-licence" -> "KlasCheckLicence": names are identifiers. */
static void
camel(const char *code, char *buf, size_t size)
{
    size_t n = 0;
    int up = 1;

    n = (size_t)snprintf(buf, size, "Klas");
    for (; *code && n + 1 < size; code++) {
        if (*code == '-' || *code == '$') {
            up = 1;
            continue;
        }
        buf[n++] = up && *code >= 'a' && *code <= 'z' ? (char)(*code - 32)
                                                       : *code;
        up = 0;
    }
    buf[n] = '\0';
}

static void
fill_op(struct gw_fhir_build *b, struct gw_fhir_el *el, size_t i)
{
    const struct gw_route_def *d = op_row(i);
    const char *code = d->cap_code + 1;
    char type[40];
    int instance = gw_conformance_op_type(d, type, sizeof(type)) != NULL;
    int post = strcmp(d->method, "POST") == 0;
    char buf[160];

    gw_fhir_el_value(b, el, "id", code);
    snprintf(buf, sizeof(buf), CANON "OperationDefinition/%s", code);
    gw_fhir_el_value(b, el, "url", buf);
    camel(code, buf, sizeof(buf));
    gw_fhir_el_value(b, el, "name", buf);
    gw_fhir_el_value(b, el, "status", "active");
    gw_fhir_el_value(b, el, "kind", "operation");
    gw_fhir_el_value(b, el, "date", DATE);
    gw_fhir_el_value(b, el, "publisher", "klasgw");
    snprintf(buf, sizeof(buf), "%s %s", d->method, d->pattern);
    gw_fhir_el_value(b, el, "description", buf);
    gw_fhir_el_value(b, el, "affectsState", post ? "true" : "false");
    gw_fhir_el_value(b, el, "code", code);
    if (instance)
        gw_fhir_el_value(b, el, "resource", type);
    gw_fhir_el_value(b, el, "system", instance ? "false" : "true");
    gw_fhir_el_value(b, el, "type", "false");
    gw_fhir_el_value(b, el, "instance", instance ? "true" : "false");
    for (size_t k = 0; k < NOP_PARAMS; k++) {
        struct gw_fhir_el *p;
        char min[4];
        if (strcmp(op_params[k].op, code) != 0)
            continue;
        p = gw_fhir_el_add(b, el, "parameter");
        gw_fhir_el_value(b, p, "name", op_params[k].name);
        gw_fhir_el_value(b, p, "use", op_params[k].use);
        snprintf(min, sizeof(min), "%d", op_params[k].min);
        gw_fhir_el_value(b, p, "min", min);
        gw_fhir_el_value(b, p, "max", op_params[k].max);
        gw_fhir_el_value(b, p, "documentation", op_params[k].doc);
        gw_fhir_el_value(b, p, "type", op_params[k].type);
    }
}

static const char *
op_id(size_t i)
{
    const struct gw_route_def *d = op_row(i);
    return d != NULL ? d->cap_code + 1 : NULL;
}

/* --- search parameters -------------------------------------------------- */

static const struct gw_cap_param *
sp_row(size_t i)
{
    size_t np;
    const struct gw_cap_param *p = gw_route_cap_params(&np);

    for (size_t k = 0; k < np; k++)
        if (strncmp(p[k].definition, KLAS_SP, strlen(KLAS_SP)) == 0 &&
            i-- == 0)
            return &p[k];
    return NULL;
}

static const char *
sp_id(size_t i)
{
    const struct gw_cap_param *p = sp_row(i);
    return p != NULL ? p->definition + strlen(KLAS_SP) : NULL;
}

static void
fill_sp(struct gw_fhir_build *b, struct gw_fhir_el *el, size_t i)
{
    const struct gw_cap_param *p = sp_row(i);
    char buf[200];

    gw_fhir_el_value(b, el, "id", p->definition + strlen(KLAS_SP));
    gw_fhir_el_value(b, el, "url", p->definition);
    camel(p->definition + strlen(KLAS_SP), buf, sizeof(buf));
    gw_fhir_el_value(b, el, "name", buf);
    gw_fhir_el_value(b, el, "status", "active");
    gw_fhir_el_value(b, el, "date", DATE);
    gw_fhir_el_value(b, el, "publisher", "klasgw");
    snprintf(buf, sizeof(buf), "%s %s%s%s", p->type, p->name,
             p->documentation ? ": " : "",
             p->documentation ? p->documentation : "");
    gw_fhir_el_value(b, el, "description", buf);
    gw_fhir_el_value(b, el, "code", p->name);
    gw_fhir_el_value(b, el, "base", p->type);
    gw_fhir_el_value(b, el, "type", p->ptype);
}

/* --- messages ------------------------------------------------------------ */

/* The i-th distinct event code (rows share a code: decision has three;
 * the gateway's own events, purge, have none). */
static const struct gw_event_def *
ev_row(size_t i)
{
    for (size_t k = 0; k < gw_klas_nevents; k++) {
        int seen = gw_klas_events[k].code == NULL; /* the gateway's own */
        for (size_t j = 0; j < k && !seen; j++)
            seen = gw_klas_events[j].code != NULL &&
                   strcmp(gw_klas_events[j].code, gw_klas_events[k].code) == 0;
        if (!seen && i-- == 0)
            return &gw_klas_events[k];
    }
    return NULL;
}

static const char *
ev_id(size_t i)
{
    const struct gw_event_def *e = ev_row(i);
    return e != NULL ? e->code : NULL;
}

static void
fill_md(struct gw_fhir_build *b, struct gw_fhir_el *el, size_t i)
{
    const struct gw_event_def *e = ev_row(i);
    unsigned roles = 0;
    char buf[320], who[120];
    struct gw_fhir_el *x;
    size_t n = 0;

    for (size_t k = 0; k < gw_klas_nevents; k++)
        if (gw_klas_events[k].code != NULL &&
            strcmp(gw_klas_events[k].code, e->code) == 0)
            roles |= gw_klas_events[k].roles;
    who[0] = '\0';
    for (int r = 0; r < GW_ROLE_NROLE; r++) {
        int len;
        if (!(roles & GW_ROLE_BIT(r)) || r == GW_ROLE_GATEWAY)
            continue;
        len = snprintf(who + n, sizeof(who) - n, "%s%s", n ? ", " : "",
                       gw_role_name((enum gw_role)r));
        if (len < 0 || (size_t)len >= sizeof(who) - n)
            break;
        n += (size_t)len;
    }
    gw_fhir_el_value(b, el, "id", e->code);
    snprintf(buf, sizeof(buf), CANON "MessageDefinition/%s", e->code);
    gw_fhir_el_value(b, el, "url", buf);
    camel(e->code, buf, sizeof(buf));
    gw_fhir_el_value(b, el, "name", buf);
    gw_fhir_el_value(b, el, "status", "active");
    gw_fhir_el_value(b, el, "date", DATE);
    gw_fhir_el_value(b, el, "publisher", "klasgw");
    snprintf(buf, sizeof(buf),
             "The KLAS event %s, a message Bundle posted to "
             "$process-message. Sent by: %s.",
             e->code, who[0] ? who : "the gateway");
    gw_fhir_el_value(b, el, "description", buf);
    x = gw_fhir_el_add(b, el, "eventCoding");
    gw_fhir_el_value(b, x, "system", EVENT_CS);
    gw_fhir_el_value(b, x, "code", e->code);
    gw_fhir_el_value(b, el, "category", "consequence");
    /* klas-message-header: focus is the case's Task, exactly one. */
    x = gw_fhir_el_add(b, el, "focus");
    gw_fhir_el_value(b, x, "code", "Task");
    gw_fhir_el_value(b, x, "profile", CANON "StructureDefinition/klas-task");
    gw_fhir_el_value(b, x, "min", "1");
    gw_fhir_el_value(b, x, "max", "1");
    gw_fhir_el_value(b, el, "responseRequired", "always");
}

/* --- the kinds, and serving them ----------------------------------------- */

/* A kind, found by its type (names.h: the type leads the row). */
struct kind {
    const char *type;
    const char *(*id)(size_t i); /* NULL past the last */
    void (*fill)(struct gw_fhir_build *b, struct gw_fhir_el *el, size_t i);
};

static const struct kind kinds[] = {
    {"OperationDefinition", op_id, fill_op},
    {"SearchParameter", sp_id, fill_sp},
    {"MessageDefinition", ev_id, fill_md},
};

size_t
gw_conformance_count(const char *type)
{
    const struct kind *k = GW_NAME_FIND(kinds, type);
    size_t n = 0;

    while (k != NULL && k->id(n) != NULL)
        n++;
    return n;
}

const char *
gw_conformance_id(const char *type, size_t i)
{
    const struct kind *k = GW_NAME_FIND(kinds, type);
    return k != NULL ? k->id(i) : NULL;
}

gw_rc
gw_conformance_read(const char *type, const char *id,
                    struct gw_fhir_doc **out)
{
    const struct kind *k = GW_NAME_FIND(kinds, type);
    struct gw_fhir_build *b = NULL;
    struct gw_err err;
    const char *s;
    gw_rc rc;

    *out = NULL;
    if (k == NULL)
        return GW_ENOTFOUND;
    for (size_t i = 0; (s = k->id(i)) != NULL; i++) {
        if (strcmp(s, id) != 0)
            continue;
        rc = gw_fhir_build_new(k->type, &b);
        if (rc != GW_OK)
            return rc;
        k->fill(b, gw_fhir_build_root(b), i);
        gw_err_clear(&err);
        return gw_fhir_build_take(b, NULL, out, &err);
    }
    return GW_ENOTFOUND;
}

gw_rc
gw_conformance_search(const char *type, const char *url, const char *base,
                      struct gw_fhir_doc **out)
{
    const struct kind *k = GW_NAME_FIND(kinds, type);
    struct gw_fhir_build *b = NULL;
    struct gw_fhir_el *root;
    struct gw_err err;
    const char *s;
    char buf[300], total[24];
    size_t n = 0;
    gw_rc rc;

    *out = NULL;
    if (k == NULL)
        return GW_ENOTFOUND;
    rc = gw_fhir_build_new("Bundle", &b);
    if (rc != GW_OK)
        return rc;
    root = gw_fhir_build_root(b);
    gw_fhir_el_value(b, root, "type", "searchset");
    for (size_t i = 0; (s = k->id(i)) != NULL; i++) {
        char canon[200];
        snprintf(canon, sizeof(canon), CANON "%s/%s", k->type, s);
        if (url == NULL || strcmp(url, canon) == 0)
            n++;
    }
    snprintf(total, sizeof(total), "%zu", n);
    gw_fhir_el_value(b, root, "total", total);
    snprintf(buf, sizeof(buf), "%s/%s", base ? base : "", k->type);
    {
        struct gw_fhir_el *l = gw_fhir_el_add(b, root, "link");
        gw_fhir_el_value(b, l, "relation", "self");
        gw_fhir_el_value(b, l, "url", buf);
    }
    for (size_t i = 0; (s = k->id(i)) != NULL; i++) {
        struct gw_fhir_el *e, *r;
        char canon[200];
        snprintf(canon, sizeof(canon), CANON "%s/%s", k->type, s);
        if (url != NULL && strcmp(url, canon) != 0)
            continue;
        e = gw_fhir_el_add(b, root, "entry");
        snprintf(buf, sizeof(buf), "%s/%s/%s", base ? base : "", k->type, s);
        gw_fhir_el_value(b, e, "fullUrl", buf);
        r = gw_fhir_el_add(b, gw_fhir_el_add(b, e, "resource"), k->type);
        k->fill(b, r, i);
        gw_fhir_el_value(b, gw_fhir_el_add(b, e, "search"), "mode", "match");
    }
    gw_err_clear(&err);
    return gw_fhir_build_take(b, NULL, out, &err);
}
