/*
 * route.c - the route table of the HTTP front and its matcher (see
 * route.h). A new route is a new row here; the metrics labels are the
 * GW_HTTP_ROUTES list of http_int.h, and the CapabilityStatement's
 * interactions and operations are checked against the cap_ columns
 * (tests/unit/test_http_routes.c).
 */
#include "http/route.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

#define NF_RESOURCE "no such resource"
#define NF_SUB "no such subscription"
#define PUBLIC (GW_RT_PUBLIC_GET | GW_RT_NO_BODY)

/* The kinds of row, each written with what only it says (the columns of
 * struct gw_route_def in route.h):
 *   FHIR     a FHIR action, after gw_fhir_api's common preamble;
 *   ON_ID    gw_fhir_on_id, running a pipeline operation on the id the
 *            path names; ON_BODY gw_fhir_on_body, one on the body;
 *   NOT_FHIR a FHIR path no action serves, any method: its 404's detail;
 *   CONFORMANCE a published conformance type: its search and its read,
 *            public like the CapabilityStatement that refers to them;
 *   CONSOLE  a page or form of the operator's console (console.c);
 *   FRONT    a front of its own, any method. */
#define FHIR(route, method, pattern, flags, action, cap_type, cap_code)      \
    {route, method, pattern, flags, gw_fhir_api, action, NULL, cap_type,     \
     cap_code, NULL, NULL}
#define ON_ID(route, method, pattern, op, cap_type, cap_code)                \
    {route, method, pattern, 0, gw_fhir_api, gw_fhir_on_id, NULL, cap_type,  \
     cap_code, op, NULL}
#define ON_BODY(route, pattern, op, cap_type, cap_code)                      \
    {route, "POST", pattern, 0, gw_fhir_api, gw_fhir_on_body, NULL,          \
     cap_type, cap_code, NULL, op}
#define NOT_FHIR(route, pattern, detail)                                     \
    {route, NULL, pattern, 0, gw_fhir_api, NULL, detail, NULL, NULL, NULL, NULL}
#define CONFORMANCE(type)                                                    \
    FHIR(GW_ROUTE_METADATA, "GET", "/fhir/" type, PUBLIC,                    \
         gw_fhir_conformance, type, "search-type"),                          \
    FHIR(GW_ROUTE_METADATA, "GET", "/fhir/" type "/{id}", PUBLIC,            \
         gw_fhir_conformance, type, "read")
#define CONSOLE(method, pattern)                                             \
    {GW_ROUTE_CONSOLE, method, pattern, 0, gw_http_console, NULL, NULL, NULL, \
     NULL, NULL, NULL}
#define FRONT(route, pattern, flags, serve)                                  \
    {route, NULL, pattern, flags, serve, NULL, NULL, NULL, NULL, NULL, NULL}

static const struct gw_route_def routes[] = {
    FHIR(GW_ROUTE_METADATA, "GET", "/fhir/metadata", PUBLIC, gw_fhir_metadata,
         NULL, NULL),
    FHIR(GW_ROUTE_PROCESS, "POST", "/fhir/$process-message", 0,
         gw_fhir_process, NULL, "$process-message"),
    FHIR(GW_ROUTE_VALIDATE, "POST", "/fhir/Bundle/$validate", 0,
         gw_fhir_validate, NULL, "$validate"),
    FHIR(GW_ROUTE_VALIDATE, "POST", "/fhir/$validate", 0, gw_fhir_validate,
         NULL, NULL),
    FHIR(GW_ROUTE_DISPENSING, "GET", "/fhir/$check-licence", 0,
         gw_fhir_check_licence, NULL, "$check-licence"),
    ON_BODY(GW_ROUTE_DISPENSING, "/fhir/$record-dispensing",
            gw_pipeline_record_dispensing, NULL, "$record-dispensing"),
    FHIR(GW_ROUTE_CONSENT, "POST", "/fhir/$renew-consent", GW_RT_NO_BODY,
         gw_fhir_renew_consent, NULL, "$renew-consent"),
    FHIR(GW_ROUTE_REGISTER_SEARCH, "GET", "/fhir/Medication", 0,
         gw_fhir_product_search, "Medication", "search-type"),
    FHIR(GW_ROUTE_REGISTER_SEARCH, "GET", "/fhir/Organization", 0,
         gw_fhir_pharmacy_search, "Organization", "search-type"),
    FHIR(GW_ROUTE_TASK_SEARCH, "GET", "/fhir/Task", 0, gw_fhir_task_search,
         "Task", "search-type"),
    FHIR(GW_ROUTE_TASK_SEARCH, "POST", "/fhir/Task/_search", GW_RT_NO_BODY,
         gw_fhir_task_search, "Task", "search-type"),
    ON_ID(GW_ROUTE_TASK_HISTORY, "GET", "/fhir/Task/{id}/_history",
          gw_pipeline_history, "Task", "history-instance"),
    FHIR(GW_ROUTE_TASK_HISTORY, "GET", "/fhir/Task/{id}/_history/{vid}", 0,
         gw_fhir_read, "Task", "vread"),
    FHIR(GW_ROUTE_CASE_OPERATION, "GET", "/fhir/Task/{num}/$print", 0,
         gw_fhir_print, NULL, "$print"),
    ON_ID(GW_ROUTE_CASE_OPERATION, "GET", "/fhir/Task/{num}/$copy",
          gw_pipeline_copy, NULL, "$copy"),
    FHIR(GW_ROUTE_TASK_READ, "GET", "/fhir/Task/{id}", 0, gw_fhir_read, "Task",
         "read"),
    ON_BODY(GW_ROUTE_SUBSCRIPTION, "/fhir/Subscription",
            gw_pipeline_sub_create, "Subscription", "create"),
    NOT_FHIR(GW_ROUTE_SUBSCRIPTION, "/fhir/Subscription", NF_SUB),
    ON_ID(GW_ROUTE_SUBSCRIPTION, "GET", "/fhir/Subscription/{id}",
          gw_pipeline_sub_read, "Subscription", "read"),
    ON_ID(GW_ROUTE_SUBSCRIPTION, "DELETE", "/fhir/Subscription/{id}",
          gw_pipeline_sub_delete, "Subscription", "delete"),
    ON_ID(GW_ROUTE_SUBSCRIPTION, "GET", "/fhir/Subscription/{id}/$status",
          gw_pipeline_sub_status, NULL, "$status"),
    FHIR(GW_ROUTE_SUBSCRIPTION, "GET", "/fhir/Subscription/{id}/$events", 0,
         gw_fhir_sub_events, NULL, "$events"),
    NOT_FHIR(GW_ROUTE_SUBSCRIPTION, "/fhir/Subscription/{id}/_history/{vid}",
             NF_SUB),
    /* The published conformance resources (conformance.c). */
    CONFORMANCE("OperationDefinition"),
    CONFORMANCE("SearchParameter"),
    CONFORMANCE("MessageDefinition"),
    FHIR(GW_ROUTE_RESOURCE_READ, "GET", "/fhir/{type}/{id}", 0, gw_fhir_read,
         "*", "read"),
    FHIR(GW_ROUTE_RESOURCE_READ, "GET", "/fhir/{type}/{id}/_history/{vid}", 0,
         gw_fhir_read, NULL, NULL),
    FRONT(GW_ROUTE_HEALTH, "/healthz", GW_RT_NO_AUTH | GW_RT_RESERVE,
          gw_http_health),
    FRONT(GW_ROUTE_HEALTH, "/healthz/live", GW_RT_NO_AUTH | GW_RT_RESERVE,
          gw_http_health),
    FRONT(GW_ROUTE_HEALTH, "/healthz/ready", GW_RT_NO_AUTH | GW_RT_RESERVE,
          gw_http_health),
    FRONT(GW_ROUTE_METRICS, "/metrics", GW_RT_OPERATOR | GW_RT_RESERVE,
          gw_http_metrics),
    /* The operator's console (console.c): HTML, not FHIR, never in the
     * CapabilityStatement; the front checks the role itself, to refuse
     * with a page. */
    CONSOLE("GET", "/console"),
    CONSOLE("GET", "/console/"),
    CONSOLE("GET", "/console/peers"),
    CONSOLE("GET", "/console/cases"),
    CONSOLE("GET", "/console/audit"),
    CONSOLE("GET", "/console/console.css"),
    CONSOLE("GET", "/console/console.js"),
    CONSOLE("POST", "/console/outbox/{num}/retry"),
    CONSOLE("POST", "/console/outbox/{num}/discard"),
    CONSOLE("POST", "/console/audit/verify"),
    /* Fallbacks: any method; the label a path of that shape counts as. */
    FRONT(GW_ROUTE_SOAP, "/soap/*", GW_RT_PUBLIC_GET, gw_soap_front),
    {GW_ROUTE_CONSOLE, NULL, "/console/*", 0, gw_http_console, NULL,
     "no such console page", NULL, NULL, NULL, NULL},
    NOT_FHIR(GW_ROUTE_TASK_HISTORY, "/fhir/Task/*/_history*", NF_RESOURCE),
    NOT_FHIR(GW_ROUTE_CASE_OPERATION, "/fhir/Task/*/$*", "no such operation"),
    NOT_FHIR(GW_ROUTE_TASK_READ, "/fhir/Task/*", NF_RESOURCE),
    NOT_FHIR(GW_ROUTE_SUBSCRIPTION, "/fhir/Subscription*", NF_SUB),
    NOT_FHIR(GW_ROUTE_RESOURCE_READ, "/fhir/*/*", NF_RESOURCE),
    NOT_FHIR(GW_ROUTE_OTHER, "*", "no such endpoint"),
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* What the CapabilityStatement says beyond the interactions and operations
 * of the rows above: the types it lists (every one takes the "*" rows),
 * their profiles, and the search parameters of the search rows. */
#define KLAS_SD "http://klasgw.org/fhir/StructureDefinition/"
#define KLAS_SP "http://klasgw.org/fhir/SearchParameter/"
#define HL7_SP "http://hl7.org/fhir/SearchParameter/"

static const struct gw_cap_resource cap_resources[] = {
    {"Task", KLAS_SD "klas-task",
     "The licence case; id = referensnummer. A prescriber sees own cases "
     "(X-Klasgw-User); a pharmacy finds a case by identifier + "
     "patient.identifier (general licence: identifier alone) and sees it "
     "redacted; LV sees cases once applied for."},
    {"MedicationRequest", KLAS_SD "klas-motivation",
     "The motivation; for pharmacies without indication, motivation text "
     "and notes (meta.security REDACTED)."},
    {"Patient", KLAS_SD "klas-patient", NULL},
    {"Practitioner", KLAS_SD "klas-practitioner", NULL},
    {"PractitionerRole", KLAS_SD "klas-practitioner-role", NULL},
    {"Organization", NULL,
     "The case's care units and pharmacy; searched: Sök apotek."},
    {"Group", NULL, NULL},
    {"Medication", KLAS_SD "klas-medication",
     "The case's product; searched: Sök produkt (products on granted "
     "licences)."},
    {"DocumentReference", NULL,
     "Attachments; those labelled hidden-from-pharmacy are refused to "
     "pharmacies (403)."},
    {"Subscription", NULL,
     "Pharmacies only: rest-hook notifications for cases naming the "
     "pharmacy's GLN, with ids only."},
    {"OperationDefinition", NULL,
     "The gateway's own operations, published (public, read-only)."},
    {"SearchParameter", NULL,
     "The gateway's own search parameters, published (public, read-only)."},
    {"MessageDefinition", NULL,
     "One per KLAS event, with its sender roles and focus (public, "
     "read-only)."},
};

static const struct gw_cap_param cap_params[] = {
    {"Task", "_id", "token", HL7_SP "Resource-id", "the referensnummer"},
    {"Task", "identifier", "token", HL7_SP "Task-identifier",
     "referensnummer"},
    {"Task", "patient", "reference", HL7_SP "Task-patient",
     "chained as patient.identifier (also patient-identifier): "
     "personnummer, samordningsnummer or date of birth (pharmacy look-up)"},
    {"Task", "business-status", "token", HL7_SP "Task-business-status",
     "KLAS statuses (CodeSystem klas-case-status), comma-separated"},
    {"Task", "licence-type", "token", KLAS_SP "Task-licence-type",
     "EH or GH"},
    {"Task", "drug", "string", KLAS_SP "Task-drug",
     "part of the drug name or substance, at least 3 characters"},
    {"Task", "_lastUpdated", "date", HL7_SP "Resource-lastUpdated",
     "last change, ge/le"},
    {"Medication", "name", "string", KLAS_SP "Medication-name", NULL},
    {"Medication", "substance", "string", KLAS_SP "Medication-substance",
     NULL},
    {"Medication", "holder", "string", KLAS_SP "Medication-holder", NULL},
    {"Medication", "country", "string", KLAS_SP "Medication-country", NULL},
    {"Medication", "code", "token", HL7_SP "clinical-code", "NPL id"},
    {"Medication", "form", "token", HL7_SP "Medication-form", NULL},
    {"Medication", "atc", "token", KLAS_SP "Medication-atc", NULL},
    {"Organization", "name", "string", HL7_SP "Organization-name", NULL},
    {"Organization", "alias", "string", HL7_SP "Organization-alias", NULL},
    {"Organization", "address", "string", HL7_SP "Organization-address",
     NULL},
    {"Organization", "address-city", "string",
     HL7_SP "Organization-address-city", NULL},
    {"Organization", "identifier", "token", HL7_SP "Organization-identifier",
     "GLN"},
    {"OperationDefinition", "url", "uri", HL7_SP "conformance-url", NULL},
    {"SearchParameter", "url", "uri", HL7_SP "conformance-url", NULL},
    {"MessageDefinition", "url", "uri", HL7_SP "conformance-url", NULL},
};

const struct gw_cap_resource *
gw_route_cap_resources(size_t *n)
{
    *n = sizeof(cap_resources) / sizeof(cap_resources[0]);
    return cap_resources;
}

const struct gw_cap_param *
gw_route_cap_params(size_t *n)
{
    *n = sizeof(cap_params) / sizeof(cap_params[0]);
    return cap_params;
}

static const char *const labels[GW_ROUTE_N] = {
#define GW_ROUTE_LABEL(name, label) label,
    GW_HTTP_ROUTES(GW_ROUTE_LABEL)
#undef GW_ROUTE_LABEL
};

const char *
gw_route_label(enum gw_route route)
{
    return (unsigned)route < GW_ROUTE_N ? labels[route] : "other";
}

const struct gw_route_def *
gw_route_table(size_t *n)
{
    *n = NROUTES;
    return routes;
}

static int
is_exact(const struct gw_route_def *d)
{
    return strchr(d->pattern, '*') == NULL;
}

/* One segment s[0..n) into a capture named by name..end. */
static int
capture(const char *name, size_t nl, const char *s, size_t n,
        struct gw_route_args *a)
{
    if (n == 0)
        return 0;
    if (nl == 4 && memcmp(name, "type", 4) == 0) {
        if (n >= sizeof(a->type))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!isalpha((unsigned char)s[i]))
                return 0;
        memcpy(a->type, s, n);
        a->type[n] = '\0';
        return 1;
    }
    if ((nl == 2 && memcmp(name, "id", 2) == 0) ||
        (nl == 3 && memcmp(name, "num", 3) == 0)) {
        int num = nl == 3;
        if (n >= (num ? 16 : sizeof(a->id)))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (num ? !isdigit((unsigned char)s[i])
                    : !(isalnum((unsigned char)s[i]) || s[i] == '.' ||
                        s[i] == '-'))
                return 0;
        memcpy(a->id, s, n);
        a->id[n] = '\0';
        return 1;
    }
    if (nl == 3 && memcmp(name, "vid", 3) == 0) {
        long v = 0;
        if (n > 9)
            return 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)s[i]))
                return 0;
            v = v * 10 + (s[i] - '0');
        }
        a->vid = v;
        return v >= 1;
    }
    return 0;
}

static int
match(const char *p, const char *s, struct gw_route_args *a)
{
    for (;;) {
        if (*p == '\0')
            return *s == '\0';
        if (*p == '*') {
            for (const char *t = s;; t++) {
                if (match(p + 1, t, a))
                    return 1;
                if (*t == '\0')
                    return 0;
            }
        }
        if (*p == '{') {
            const char *end = strchr(p, '}');
            size_t n = strcspn(s, "/");
            if (end == NULL || !capture(p + 1, (size_t)(end - p - 1), s, n, a))
                return 0;
            p = end + 1;
            s += n;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
}

static int
method_fits(const char *want, const char *method)
{
    if (want == NULL)
        return 1;
    if (strcmp(want, method) == 0)
        return 1;
    return strcmp(want, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

size_t
gw_route_allow(const char *url, char *buf, size_t size)
{
    struct gw_route_args a;
    size_t n = 0;

    if (size == 0)
        return 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NROUTES; i++) {
        const char *m = routes[i].method;
        int len;
        memset(&a, 0, sizeof(a));
        if (!is_exact(&routes[i]) || m == NULL || !match(routes[i].pattern,
                                                         url, &a))
            continue;
        if (strstr(buf, m) != NULL) /* two rows, one method */
            continue;
        len = snprintf(buf + n, size - n, "%s%s%s", n ? ", " : "", m,
                       strcmp(m, "GET") == 0 ? ", HEAD" : "");
        if (len < 0 || (size_t)len >= size - n) {
            buf[n] = '\0';
            break;
        }
        n += (size_t)len;
    }
    return n;
}

void
gw_route_match(struct gw_req *r, const char *method, const char *url)
{
    const struct gw_route_def *seen = NULL;
    struct gw_route_args a;

    for (size_t i = 0; i < NROUTES; i++) {
        if (!is_exact(&routes[i]))
            continue;
        memset(&a, 0, sizeof(a));
        if (!match(routes[i].pattern, url, &a))
            continue;
        if (method_fits(routes[i].method, method)) {
            r->def = &routes[i];
            r->args = a;
            r->method_ok = 1;
            r->route = routes[i].route;
            return;
        }
        if (seen == NULL)
            seen = &routes[i];
    }
    if (seen != NULL) {
        r->def = seen;
        memset(&r->args, 0, sizeof(r->args));
        r->method_ok = 0;
        r->route = seen->route;
        return;
    }
    for (size_t i = 0; i < NROUTES; i++) {
        if (is_exact(&routes[i]))
            continue;
        memset(&a, 0, sizeof(a));
        if (match(routes[i].pattern, url, &a)) {
            r->def = &routes[i];
            r->args = a;
            r->method_ok = 1;
            r->route = routes[i].route;
            return;
        }
    }
    /* Not reached: the last row matches everything. */
    r->def = &routes[NROUTES - 1];
    r->method_ok = 1;
    r->route = GW_ROUTE_OTHER;
}
