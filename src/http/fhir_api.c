/*
 * fhir_api.c - the FHIR R4 REST routes: formats in and out, conditional
 * headers, Prefer, then one call into the pipeline per route.
 *
 *   GET    /fhir/metadata                      CapabilityStatement
 *   POST   /fhir/$process-message              every KLAS event
 *   POST   /fhir/Bundle/$validate              validate, store nothing
 *   GET    /fhir/Task?...                      Mina ärenden, pharmacy look-up
 *   GET    /fhir/Task/{id}[/_history[/{v}]]    the case, its versions
 *   GET    /fhir/{Type}/{id}                   the case's other resources
 *   POST   /fhir/Subscription                  pharmacy rest-hook
 *   GET|DELETE /fhir/Subscription/{id}
 *   GET    /fhir/$check-licence?...            licence check at dispensing
 *   POST   /fhir/$record-dispensing            avräkning (Parameters)
 *   GET    /fhir/Medication?...                Sök produkt
 *   GET    /fhir/Organization?...              Sök apotek
 *   GET    /fhir/Task/{id}/$print              printable HTML
 *   GET    /fhir/Task/{id}/$copy               copy to a new motivation
 *   POST   /fhir/$renew-consent                the user consents again
 *
 * Formats: the body's Content-Type (application/fhir+json, application/
 * json, application/fhir+xml, application/xml, text/xml; else 415); the
 * answer's from _format, else Accept (406 when nothing acceptable is
 * offered), else the request's format, else JSON. Every error is an
 * OperationOutcome.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/log.h"
#include "fhir/build.h"
#include "http/response.h"
#include "http/route.h"
#include "klas/event.h"
#include "map/view.h"
#include "pipeline/pipeline.h"

#define NF_CONFORMANCE "no such resource"

static const char *
arg(struct gw_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* _elements (elements given) or _summary=mode (NULL) on an answer of 200:
 * the subset, made in the tree and checked there against the model like
 * any document read in. The answer may come serialised (the view cache):
 * it is read first. */
static gw_rc
reshape(const struct gw_call *c, struct gw_answer *a, const char *elements,
        int mode)
{
    struct gw_err err;
    gw_rc rc = GW_OK;

    gw_err_clear(&err);
    if (a->doc == NULL && a->body != NULL)
        rc = gw_fhir_parse(a->body, a->body_len, c->fmt, NULL, &a->doc, &err);
    if (rc == GW_OK && a->doc != NULL)
        rc = elements != NULL
                 ? gw_view_subset(a->doc, elements)
                 : gw_view_summary_as(a->doc, (enum gw_view_summary_mode)mode);
    free(a->body);
    a->body = NULL;
    a->body_len = 0;
    if (rc == GW_OK && a->doc != NULL)
        rc = gw_fhir_doc_check(a->doc, NULL, &err);
    return rc;
}

/* _summary: 0 and *mode a gw_view_summary_mode, or -1 for the whole
 * answer (false or not given); -1 when the value is none of R4's, or count
 * where the answer is not a search (searches is 0). */
static int
summary_arg(struct gw_req *r, int searches, int *mode)
{
    static const struct {
        const char *name;
        int mode;
    } modes[] = {{"false", -1},
                 {"true", GW_VIEW_SUMMARY_TRUE},
                 {"text", GW_VIEW_SUMMARY_TEXT},
                 {"data", GW_VIEW_SUMMARY_DATA},
                 {"count", GW_VIEW_SUMMARY_COUNT}};
    const char *v = arg(r, "_summary");

    *mode = -1;
    if (v == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(v, modes[i].name) == 0 &&
            (searches || modes[i].mode != GW_VIEW_SUMMARY_COUNT)) {
            *mode = modes[i].mode;
            return 0;
        }
    return -1;
}

static enum MHD_Result
summary_bad(struct gw_req *r, int searches)
{
    return gw_fhir_fail(r, GW_EINVAL, "_summary",
                        searches ? "_summary is true, false, text, data or "
                                   "count"
                                 : "_summary is true, false, text or data "
                                   "(count is for searches)");
}

/* The answer of 200 summarised as _summary asked (mode >= 0). One the
 * gateway built itself (the CapabilityStatement, the published definitions:
 * types never read in) is summarised in place, not read back. */
static enum MHD_Result
send_summarised(struct gw_req *r, const struct gw_call *c,
                struct gw_answer *a, int mode, int built)
{
    gw_rc rc;

    if (a->status == 200 && mode >= 0 &&
        (rc = built ? gw_view_summary_as(a->doc,
                                         (enum gw_view_summary_mode)mode)
                    : reshape(c, a, NULL, mode)) != GW_OK) {
        gw_answer_release(a);
        return gw_fhir_fail(r, rc, "_summary", "cannot summarise");
    }
    return gw_fhir_send_answer(r, a, 0);
}

/* _lastUpdated=ge2026-01-01 / le... (both may be given). */
struct dates {
    int64_t from, to;
    int bad;
};

static enum MHD_Result
each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
         const char *value)
{
    struct dates *d = cls;
    int64_t ms;

    (void)kind;
    if (strcmp(key, "_lastUpdated") != 0 || value == NULL)
        return MHD_YES;
    if (strlen(value) > 2 && gw_clock_parse(value + 2, &ms) == GW_OK) {
        if (strncmp(value, "ge", 2) == 0 || strncmp(value, "gt", 2) == 0)
            d->from = ms;
        else if (strncmp(value, "le", 2) == 0 || strncmp(value, "lt", 2) == 0)
            /* A date means the whole day. */
            d->to = ms + (strlen(value) == 12 ? 86400000 - 1 : 0);
        else
            d->bad = 1;
    } else {
        d->bad = 1;
    }
    return MHD_YES;
}

/* The Task search's parameters; anything else is refused. */
static const char *const task_params[] = {
    "identifier", "patient.identifier", "patient-identifier",
    "business-status", "licence-type", "drug", "_lastUpdated", "_count",
    "_include", "_format", "_summary", "_cursor", "_id", "_pretty", NULL};

/* A search's parameters (NULL-ended), and the first one a request gave
 * that is not one of them. */
struct known_params {
    const char *const *known;
    const char *bad;
};

static enum MHD_Result
check_param(void *cls, enum MHD_ValueKind kind, const char *key,
            const char *value)
{
    struct known_params *kp = cls;

    (void)kind;
    (void)value;
    for (int i = 0; kp->known[i]; i++)
        if (strcmp(key, kp->known[i]) == 0)
            return MHD_YES;
    kp->bad = key;
    return MHD_NO;
}

/* A search refuses a parameter it does not know (FHIR servers may ignore
 * unknown ones, but a silently ignored filter on patient data is worse
 * than an error): 1 with the refusal in *ret, 0 when all are known. */
static int
unknown_param(struct gw_req *r, const char *const *known,
              enum MHD_Result *ret)
{
    struct known_params kp = {known, NULL};
    char msg[160];

    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_param,
                              &kp);
    if (kp.bad == NULL)
        return 0;
    snprintf(msg, sizeof(msg), "unknown search parameter '%.60s'", kp.bad);
    *ret = gw_fhir_fail(r, GW_EINVAL, NULL, msg);
    return 1;
}

/* The search's own parameters (all but _cursor), URL-encoded again, for
 * the paging links; capped: a longer query gets no links but is served. */
#define LINK_QUERY_MAX 1024
struct link_query {
    char s[LINK_QUERY_MAX];
    size_t n;
    int over;
};

/* Appends v, percent-encoded unless raw (a separator). */
static void
lq_put(struct link_query *l, const char *v, int raw)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *v && !l->over; v++) {
        unsigned char ch = (unsigned char)*v;
        if (l->n + 4 > sizeof(l->s)) {
            l->over = 1;
            break;
        }
        if (raw || isalnum(ch) || strchr("-._~:|*,", ch) != NULL) {
            l->s[l->n++] = (char)ch;
        } else {
            l->s[l->n++] = '%';
            l->s[l->n++] = hex[ch >> 4];
            l->s[l->n++] = hex[ch & 15];
        }
    }
    l->s[l->n] = '\0';
}

static enum MHD_Result
each_link_arg(void *cls, enum MHD_ValueKind kind, const char *key,
              const char *value)
{
    struct link_query *l = cls;

    (void)kind;
    if (strcmp(key, "_cursor") == 0)
        return MHD_YES;
    if (l->n > 0)
        lq_put(l, "&", 1);
    lq_put(l, key, 0);
    if (value != NULL) {
        lq_put(l, "=", 1);
        lq_put(l, value, 0);
    }
    return MHD_YES;
}

/* _cursor: <a|b><updated_ms>.<row id>, as our own links give it. */
static int
parse_cursor(const char *v, struct gw_task_search *q)
{
    char *end;
    long long ms, id;

    if ((v[0] != 'a' && v[0] != 'b') || !isdigit((unsigned char)v[1]) ||
        strlen(v) > 42)
        return -1;
    errno = 0;
    ms = strtoll(v + 1, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]))
        return -1;
    id = strtoll(end + 1, &end, 10);
    if (*end != '\0' || errno != 0)
        return -1;
    q->page_dir = v[0] == 'a' ? 1 : -1;
    q->page_ms = ms;
    q->page_rowid = id;
    return 0;
}

enum MHD_Result
gw_fhir_task_search(struct gw_req *r, const struct gw_call *c)
{
    struct gw_task_search q;
    struct gw_answer a;
    struct dates d = {0, 0, 0};
    struct link_query lq;
    const char *v;
    enum MHD_Result ret;
    int summary;

    memset(&q, 0, sizeof(q));
    if (unknown_param(r, task_params, &ret))
        return ret;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &d);
    if (d.bad)
        return gw_fhir_fail(
            r, GW_EINVAL, "_lastUpdated",
            "give _lastUpdated as geYYYY-MM-DD or leYYYY-MM-DD");
    q.identifier = arg(r, "identifier");
    /* A Task's id is its referensnummer: _id is the same search. */
    if ((v = arg(r, "_id")) != NULL) {
        if (q.identifier != NULL && strcmp(q.identifier, v) != 0)
            return gw_fhir_fail(r, GW_EINVAL, "_id",
                                "_id and identifier name two cases");
        q.identifier = v;
    }
    /* true keeps the isSummary elements of each case, text its id,
     * meta, text and mandatory elements, data all but its text (each
     * marked SUBSETTED); count gives the total alone. */
    if (summary_arg(r, 1, &summary) != 0)
        return summary_bad(r, 1);
    q.summary_count = summary == GW_VIEW_SUMMARY_COUNT;
    if ((v = arg(r, "_pretty")) != NULL && strcmp(v, "true") != 0 &&
        strcmp(v, "false") != 0)
        return gw_fhir_fail(r, GW_EINVAL, "_pretty", "true or false");
    q.patient = arg(r, "patient.identifier");
    if (q.patient == NULL)
        q.patient = arg(r, "patient-identifier");
    if (q.patient != NULL && strchr(q.patient, '|') != NULL)
        q.patient = strchr(q.patient, '|') + 1;
    q.statuses = arg(r, "business-status");
    q.licence_type = arg(r, "licence-type");
    q.drug = arg(r, "drug");
    if (q.drug != NULL && strlen(q.drug) < 3)
        return gw_fhir_fail(r, GW_EINVAL, "drug",
                            "give at least 3 characters of the drug name or "
                            "substance");
    q.changed_from_ms = d.from;
    q.changed_to_ms = d.to;
    if ((v = arg(r, "_count")) != NULL) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end != '\0' || n < 1)
            return gw_fhir_fail(r, GW_EINVAL, "_count", "a positive number");
        q.count = n > 120 ? 120 : (int)n;
    }
    q.include = arg(r, "_include") != NULL;
    if ((v = arg(r, "_cursor")) != NULL && parse_cursor(v, &q) != 0)
        return gw_fhir_fail(r, GW_EINVAL, "_cursor",
                            "take _cursor from a link of the searchset");
    memset(&lq, 0, sizeof(lq));
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_link_arg,
                              &lq);
    q.link_query = lq.over ? NULL : lq.s;
    gw_pipeline_search_deferred(r->h->o.pipeline, c, &q, &a);
    return send_summarised(r, c, &a, q.summary_count ? -1 : summary, 0);
}

/* Decodes a form field in place ('+' is a space, %XX a byte); -1 when
 * an escape is broken or decodes to NUL. */
static int
form_decode(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (*s == '+') {
            *o++ = ' ';
        } else if (*s == '%') {
            int hi, lo;
            if (!isxdigit((unsigned char)s[1]) ||
                !isxdigit((unsigned char)s[2]))
                return -1;
            hi = isdigit((unsigned char)s[1]) ? s[1] - '0'
                                              : (tolower(s[1]) - 'a' + 10);
            lo = isdigit((unsigned char)s[2]) ? s[2] - '0'
                                              : (tolower(s[2]) - 'a' + 10);
            if (hi == 0 && lo == 0)
                return -1;
            *o++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return 0;
}

/* POST [type]/_search: the form body's fields join the query's, so the
 * search (and the look-up limit before it) reads them as one. The body
 * is decoded in place and lives as long as the request. 0, or -1 with
 * the refusal queued. */
#define FORM_FIELDS_MAX 32
static int
form_args(struct gw_req *r, enum MHD_Result *ret)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    char *p = r->body.data, *save = NULL;
    int n = 0;

    if (ct == NULL ||
        strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 ||
        (ct[33] != '\0' && ct[33] != ';')) {
        *ret = gw_fhir_fail(r, GW_EMEDIATYPE, NULL,
                            "_search takes application/"
                            "x-www-form-urlencoded");
        return -1;
    }
    if (p == NULL || r->body.len == 0)
        return 0;
    if (strlen(p) != r->body.len) {
        *ret = gw_fhir_fail(r, GW_EPARSE, NULL, "a NUL byte in the form");
        return -1;
    }
    for (char *f = strtok_r(p, "&", &save); f != NULL;
         f = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(f, '=');
        if (eq != NULL)
            *eq++ = '\0';
        if (++n > FORM_FIELDS_MAX || form_decode(f) != 0 || *f == '\0' ||
            (eq != NULL && form_decode(eq) != 0)) {
            *ret = gw_fhir_fail(r, GW_EINVAL, NULL,
                                n > FORM_FIELDS_MAX
                                    ? "too many fields in the form"
                                    : "a form field that is not "
                                      "URL-encoded");
            return -1;
        }
        if (MHD_set_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, f,
                                     eq ? eq : "") != MHD_YES) {
            *ret = gw_fhir_fail(r, GW_ENOMEM, NULL, "form");
            return -1;
        }
    }
    return 0;
}

/* Copies a query argument into a fixed field ("" when absent); 0, or -1
 * when it does not fit: a search term is used whole or refused, never cut
 * to another term. For a token (system|value) only the value counts. */
static int
field(struct gw_req *r, const char *name, int token, char *buf, size_t size)
{
    const char *v = arg(r, name);

    if (v == NULL)
        v = "";
    if (token && strchr(v, '|') != NULL)
        v = strchr(v, '|') + 1;
    if (strlen(v) >= size)
        return -1;
    memcpy(buf, v, strlen(v) + 1);
    return 0;
}

struct register_param {
    const char *name;
    int token;
    char *buf;
    size_t size;
};

static enum MHD_Result
register_search(struct gw_req *r, const struct gw_call *c, int product)
{
    struct gw_answer a;
    struct gw_product pq;
    struct gw_pharmacy fq;
    const struct register_param products[] = {
        {"name", 0, pq.name, sizeof(pq.name)},
        {"substance", 0, pq.substances, sizeof(pq.substances)},
        {"holder", 0, pq.holder, sizeof(pq.holder)},
        {"country", 0, pq.country, sizeof(pq.country)},
        {"code", 1, pq.nplid, sizeof(pq.nplid)},
        {"form", 0, pq.form, sizeof(pq.form)},
        {"atc", 1, pq.atc, sizeof(pq.atc)}};
    const struct register_param pharmacies[] = {
        {"name", 0, fq.name, sizeof(fq.name)},
        {"alias", 0, fq.actor, sizeof(fq.actor)},
        {"address", 0, fq.address, sizeof(fq.address)},
        {"address-city", 0, fq.city, sizeof(fq.city)},
        {"identifier", 1, fq.gln, sizeof(fq.gln)}};
    const struct register_param *p = product ? products : pharmacies;
    size_t n = product ? sizeof(products) / sizeof(products[0])
                       : sizeof(pharmacies) / sizeof(pharmacies[0]);

    memset(&pq, 0, sizeof(pq));
    memset(&fq, 0, sizeof(fq));
    for (size_t i = 0; i < n; i++)
        if (field(r, p[i].name, p[i].token, p[i].buf, p[i].size) != 0) {
            char why[80];
            snprintf(why, sizeof(why), "at most %zu characters",
                     p[i].size - 1);
            return gw_fhir_fail(r, GW_EINVAL, p[i].name, why);
        }
    if (product)
        gw_pipeline_product_search(r->h->o.pipeline, c, &pq, &a);
    else
        gw_pipeline_pharmacy_search(r->h->o.pipeline, c, &fq, &a);
    return gw_fhir_send_answer(r, &a, 0);
}

static long
parse_if_match(const char *v)
{
    long n = 0;

    if (v == NULL)
        return 0;
    if (strncmp(v, "W/", 2) == 0)
        v += 2;
    if (*v == '"')
        v++;
    n = strtol(v, NULL, 10);
    return n > 0 ? n : -1;
}

enum MHD_Result
gw_fhir_product_search(struct gw_req *r, const struct gw_call *c)
{
    return register_search(r, c, 1);
}

enum MHD_Result
gw_fhir_pharmacy_search(struct gw_req *r, const struct gw_call *c)
{
    return register_search(r, c, 0);
}

/* Prefer: return=minimal: no body on success. */
static int
minimal(struct gw_req *r)
{
    const char *prefer =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Prefer");

    return prefer != NULL && strstr(prefer, "return=minimal") != NULL;
}

/* The canonical of an operation ("$print"): another specification's for
 * those it defines, KLAS's own for the rest. */
static const char *
op_definition(const char *code, char *buf, size_t size)
{
    const char *foreign = gw_conformance_op_canonical(code);

    if (foreign != NULL)
        return foreign;
    snprintf(buf, size, "http://klasgw.org/fhir/OperationDefinition/%s",
             code + 1);
    return buf;
}

/* A CapabilityStatement operation entry (under rest or a resource) for a
 * route row that serves one. */
static void
add_operation(struct gw_fhir_build *b, struct gw_fhir_el *parent,
              const struct gw_route_def *d)
{
    struct gw_fhir_el *op = gw_fhir_el_add(b, parent, "operation");
    char def[128];

    gw_fhir_el_value(b, op, "name", d->cap_code + 1);
    gw_fhir_el_value(b, op, "definition",
                     op_definition(d->cap_code, def, sizeof(def)));
    gw_fhir_el_value(b, op, "documentation", d->pattern);
}

/* Whether a row claims interaction code for type (its own or "*"). */
static int
row_claims(const struct gw_route_def *d, const char *type)
{
    if (d->cap_code == NULL || d->cap_code[0] == '$' || d->cap_type == NULL)
        return 0;
    return strcmp(d->cap_type, type) == 0 ||
           (strcmp(d->cap_type, "*") == 0 &&
            strcmp(type, "Subscription") != 0);
}

gw_rc
gw_http_capability(struct gw_fhir_doc **out)
{
    struct gw_fhir_build *b = NULL;
    struct gw_fhir_el *root, *rest, *el;
    const struct gw_route_def *t;
    const struct gw_cap_resource *res;
    const struct gw_cap_param *par;
    size_t nt, nr, np;
    struct gw_err err;
    char codes[400], doc[800];
    gw_rc rc;

    *out = NULL;
    t = gw_route_table(&nt);
    res = gw_route_cap_resources(&nr);
    par = gw_route_cap_params(&np);
    rc = gw_fhir_build_new("CapabilityStatement", &b);
    if (rc != GW_OK)
        return rc;
    root = gw_fhir_build_root(b);
    gw_fhir_el_value(b, root, "id", "klasgw");
    gw_fhir_el_value(b, root, "url",
                     "http://klasgw.org/fhir/CapabilityStatement/klasgw");
    gw_fhir_el_value(b, root, "name", "KlasGateway");
    gw_fhir_el_value(b, root, "title", "klasgw: the KLAS licence-case gateway");
    gw_fhir_el_value(b, root, "status", "active");
    gw_fhir_el_value(b, root, "date", "2026-11-30");
    gw_fhir_el_value(b, root, "publisher", "klasgw");
    gw_fhir_el_value(
        b, root, "description",
        "What the gateway serves, generated from its route table. Every "
        "KLAS event is a message Bundle posted to $process-message; cases "
        "are Tasks, readable by those who may see them (pharmacies receive "
        "the redacted view). Clients authenticate with a client certificate "
        "mapped to a role (ehr, pharmacy, lv, operator); the end user is "
        "asserted in the X-Klasgw-User header (HSA-id).");
    gw_fhir_el_value(b, root, "kind", "instance");
    el = gw_fhir_el_add(b, root, "software");
    gw_fhir_el_value(b, el, "name", "klasgw");
    el = gw_fhir_el_add(b, root, "implementation");
    gw_fhir_el_value(b, el, "description", "klasgw REST/FHIR front");
    gw_fhir_el_value(b, root, "fhirVersion", "4.0.1");
    gw_fhir_el_value(b, root, "format", "application/fhir+json");
    gw_fhir_el_value(b, root, "format", "application/fhir+xml");
    rest = gw_fhir_el_add(b, root, "rest");
    gw_fhir_el_value(b, rest, "mode", "server");
    /* The events: the rows of klas/event.c. */
    snprintf(doc, sizeof(doc),
             "Errors are OperationOutcomes with a rule id, the FHIRPath of "
             "the field and the text in Swedish and English. A message id "
             "seen before (Bundle.identifier) is answered with the first "
             "answer. Events (http://klasgw.org/fhir/CodeSystem/klas-event): "
             "%s. Searches page with Bundle.link (next, previous).",
             gw_klas_list(GW_KLAS_CODES, ", ", codes, sizeof(codes)));
    gw_fhir_el_value(b, rest, "documentation", doc);
    el = gw_fhir_el_add(b, rest, "security");
    gw_fhir_el_value(b, el, "cors", "false");
    gw_fhir_el_value(b, el, "description",
                     "Mutual TLS (SITHS-style client certificates); roles "
                     "from the gateway's [clients] configuration.");
    for (size_t i = 0; i < nr; i++) {
        struct gw_fhir_el *r = gw_fhir_el_add(b, rest, "resource");
        int task = strcmp(res[i].type, "Task") == 0;
        gw_fhir_el_value(b, r, "type", res[i].type);
        gw_fhir_el_value(b, r, "profile", res[i].profile);
        gw_fhir_el_value(b, r, "documentation", res[i].documentation);
        for (size_t k = 0; k < nt; k++) {
            int seen = 0;
            if (!row_claims(&t[k], res[i].type))
                continue;
            for (size_t j = 0; j < k && !seen; j++)
                seen = row_claims(&t[j], res[i].type) &&
                       strcmp(t[j].cap_code, t[k].cap_code) == 0;
            if (!seen)
                gw_fhir_el_value(b, gw_fhir_el_add(b, r, "interaction"),
                                 "code", t[k].cap_code);
        }
        if (task) {
            gw_fhir_el_value(b, r, "versioning", "versioned");
            gw_fhir_el_value(b, r, "readHistory", "true");
            gw_fhir_el_value(b, r, "conditionalRead", "full-support");
            gw_fhir_el_value(b, r, "searchInclude", "*");
        }
        for (size_t k = 0; k < np; k++) {
            struct gw_fhir_el *sp;
            if (strcmp(par[k].type, res[i].type) != 0)
                continue;
            sp = gw_fhir_el_add(b, r, "searchParam");
            gw_fhir_el_value(b, sp, "name", par[k].name);
            gw_fhir_el_value(b, sp, "definition", par[k].definition);
            gw_fhir_el_value(b, sp, "type", par[k].ptype);
            gw_fhir_el_value(b, sp, "documentation", par[k].documentation);
        }
        /* Instance operations, on the type they are served on (after
         * searchParam: R4 order). */
        for (size_t k = 0; k < nt; k++) {
            char type[40];
            if (t[k].cap_code == NULL || t[k].cap_code[0] != '$' ||
                gw_conformance_op_type(&t[k], type, sizeof(type)) == NULL ||
                strcmp(type, res[i].type) != 0)
                continue;
            add_operation(b, r, &t[k]);
        }
    }
    for (size_t k = 0; k < nt; k++) {
        char type[40];
        if (t[k].cap_code == NULL || t[k].cap_code[0] != '$' ||
            gw_conformance_op_type(&t[k], type, sizeof(type)) != NULL)
            continue;
        add_operation(b, rest, &t[k]);
    }
    /* Every KLAS event, received on $process-message: its definition is
     * published (conformance.c). */
    el = gw_fhir_el_add(b, root, "messaging");
    gw_fhir_el_value(b, el, "documentation",
                     "Each KLAS event is a message Bundle posted to "
                     "$process-message; its MessageDefinition names the "
                     "roles that may send it.");
    for (size_t i = 0; gw_conformance_id("MessageDefinition", i) != NULL;
         i++) {
        char def[160];
        struct gw_fhir_el *m = gw_fhir_el_add(b, el, "supportedMessage");
        snprintf(def, sizeof(def),
                 "http://klasgw.org/fhir/MessageDefinition/%s",
                 gw_conformance_id("MessageDefinition", i));
        gw_fhir_el_value(b, m, "mode", "receiver");
        gw_fhir_el_value(b, m, "definition", def);
    }
    gw_err_clear(&err);
    return gw_fhir_build_take(b, NULL, out, &err);
}

enum MHD_Result
gw_fhir_metadata(struct gw_req *r, const struct gw_call *c)
{
    struct gw_answer a;
    int summary;

    memset(&a, 0, sizeof(a));
    if (summary_arg(r, 0, &summary) != 0)
        return summary_bad(r, 0);
    a.status = 200;
    if (gw_http_capability(&a.doc) != GW_OK)
        return gw_fhir_fail(r, GW_EINTERNAL, NULL, "CapabilityStatement");
    return send_summarised(r, c, &a, summary, 1);
}

/* The conformance searches' parameters. */
static const char *const conformance_params[] = {"url", "_format", "_pretty",
                                                 "_summary", NULL};

/* GET /fhir/{OperationDefinition,SearchParameter,MessageDefinition}[/{id}]:
 * the row's cap columns say which type and whether read or search. */
enum MHD_Result
gw_fhir_conformance(struct gw_req *r, const struct gw_call *c)
{
    const char *type = r->def->cap_type;
    int read = strcmp(r->def->cap_code, "read") == 0, summary;
    struct gw_answer a;
    gw_rc rc;

    memset(&a, 0, sizeof(a));
    if (summary_arg(r, !read, &summary) != 0)
        return summary_bad(r, !read);
    if (read) {
        rc = gw_conformance_read(type, r->args.id, &a.doc);
        if (rc == GW_ENOTFOUND)
            return gw_fhir_fail(r, rc, NULL, NF_CONFORMANCE);
    } else {
        const char *url = arg(r, "url");
        enum MHD_Result ret;
        if (unknown_param(r, conformance_params, &ret))
            return ret;
        if (url != NULL && strlen(url) > 256)
            return gw_fhir_fail(r, GW_EINVAL, "url", "at most 256 characters");
        rc = gw_conformance_search(type, url, c->base, &a.doc);
    }
    if (rc != GW_OK)
        return gw_fhir_fail(r, GW_EINTERNAL, NULL, type);
    a.status = 200;
    return send_summarised(r, c, &a, summary, 1);
}

enum MHD_Result
gw_fhir_process(struct gw_req *r, const struct gw_call *c)
{
    long if_match = parse_if_match(MHD_lookup_connection_value(
        r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH));

    if (if_match < 0)
        return gw_fhir_fail(r, GW_EINVAL, NULL, "If-Match takes W/\"version\"");
    return gw_http_submit(r, c, if_match, minimal(r));
}

enum MHD_Result
gw_fhir_validate(struct gw_req *r, const struct gw_call *c)
{
    struct gw_answer a;

    gw_pipeline_validate(r->h->o.pipeline, c, r->body.data, r->body.len, &a);
    /* The outcome is the operation's result: an invalid resource is a
     * successful validation. Only when validation could not run (no
     * parsable body, over a limit) is the answer an error. */
    if (a.rc == GW_EVALIDATION)
        a.status = 200;
    return gw_fhir_send_answer(r, &a, 0);
}

/* An entity tag without its weakness (W/): a weak comparison. */
static int
etag_matches(const char *tag, size_t n, const char *etag)
{
    if (n > 2 && strncmp(tag, "W/", 2) == 0)
        tag += 2, n -= 2;
    if (strncmp(etag, "W/", 2) == 0)
        etag += 2;
    return n == strlen(etag) && memcmp(tag, etag, n) == 0;
}

/* If-None-Match: "*" or a list of entity tags, any of which matches. */
static int
none_match(const char *inm, const char *etag)
{
    while (*inm) {
        size_t n;
        while (*inm == ' ' || *inm == '\t' || *inm == ',')
            inm++;
        n = strcspn(inm, ",");
        while (n > 0 && (inm[n - 1] == ' ' || inm[n - 1] == '\t'))
            n--;
        if ((n == 1 && *inm == '*') || (n > 0 && etag_matches(inm, n, etag)))
            return 1;
        inm += n;
        while (*inm && *inm != ',')
            inm++;
    }
    return 0;
}

/* An HTTP date (RFC 1123, as we send Last-Modified) in seconds; -1 when
 * it is not one. */
static int64_t
http_date(const char *v)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char wd[4], mon[4], gmt[4];
    int d, y, h, mi, se, n = 0;
    const char *m;

    if (v == NULL || strlen(v) > 40 ||
        sscanf(v, "%3s, %d %3s %d %d:%d:%d %3s%n", wd, &d, mon, &y, &h, &mi,
               &se, gmt, &n) != 8 ||
        v[n] != '\0' || strcmp(gmt, "GMT") != 0 || strlen(mon) != 3 ||
        (m = strstr(months, mon)) == NULL || (m - months) % 3 != 0 ||
        d < 1 || d > 31 || y < 1970 || y > 9999 || h > 23 || mi > 59 ||
        se > 60 || h < 0 || mi < 0 || se < 0)
        return -1;
    return (int64_t)gw_days_from_civil(y, (int)((m - months) / 3) + 1, d) *
               86400 +
           h * 3600 + mi * 60 + se;
}

/* Task/{id}, {type}/{id}, either with /_history/{vid}: conditional on
 * If-None-Match (weak comparison, "*", lists) and, without it, on
 * If-Modified-Since. */
enum MHD_Result
gw_fhir_read(struct gw_req *r, const struct gw_call *c)
{
    const char *type = r->args.type[0] ? r->args.type : "Task";
    struct gw_answer a;
    const char *inm, *ims, *elements;
    int not_modified = 0, summary;
    gw_rc rc = GW_OK;

    if (summary_arg(r, 0, &summary) != 0)
        return summary_bad(r, 0);
    gw_pipeline_read_deferred(r->h->o.pipeline, c, type, r->args.id,
                              r->args.vid, &a);
    inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_IF_NONE_MATCH);
    ims = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
    if (a.status == 200 && inm != NULL)
        not_modified = a.etag[0] && none_match(inm, a.etag);
    else if (a.status == 200 && ims != NULL && a.last_modified[0]) {
        int64_t since = http_date(ims), at = http_date(a.last_modified);
        not_modified = since >= 0 && at >= 0 && at <= since;
    }
    if (not_modified) {
        gw_fhir_doc_free(a.doc);
        a.doc = NULL;
        free(a.body);
        a.body = NULL;
        a.status = 304;
    } else if (a.status == 200 && (elements = arg(r, "_elements")) != NULL) {
        if (strlen(elements) > 1024)
            rc = GW_ETOOLARGE;
        if (rc == GW_OK)
            rc = reshape(c, &a, elements, -1);
        if (rc != GW_OK) {
            gw_answer_release(&a);
            return gw_fhir_fail(r, rc, "_elements", "cannot subset");
        }
    } else {
        return send_summarised(r, c, &a, summary, 0);
    }
    return gw_fhir_send_answer(r, &a, 0);
}

/* The operations on an id answer in full: Prefer does not apply to them. */
enum MHD_Result
gw_fhir_on_id(struct gw_req *r, const struct gw_call *c)
{
    struct gw_answer a;

    r->def->on_id(r->h->o.pipeline, c, r->args.id, &a);
    return gw_fhir_send_answer(r, &a, 0);
}

/* The operations that write what the body says honour Prefer: return. */
enum MHD_Result
gw_fhir_on_body(struct gw_req *r, const struct gw_call *c)
{
    struct gw_answer a;

    r->def->on_body(r->h->o.pipeline, c, r->body.data, r->body.len, &a);
    return gw_fhir_send_answer(r, &a, minimal(r));
}

enum MHD_Result
gw_fhir_check_licence(struct gw_req *r, const struct gw_call *c)
{
    struct gw_licence_check q = {arg(r, "product"), arg(r, "patient"),
                                 arg(r, "unit"), arg(r, "administration"),
                                 arg(r, "on")};
    struct gw_answer a;

    gw_pipeline_check_licence(r->h->o.pipeline, c, &q, &a);
    return gw_fhir_send_answer(r, &a, 0);
}

enum MHD_Result
gw_fhir_renew_consent(struct gw_req *r, const struct gw_call *c)
{
    struct gw_answer a;

    gw_pipeline_renew_consent(r->h->o.pipeline, c, &a);
    return gw_fhir_send_answer(r, &a, minimal(r));
}

/* HTML, or PDF when _format=pdf or Accept names application/pdf. */
enum MHD_Result
gw_fhir_print(struct gw_req *r, const struct gw_call *c)
{
    const char *fmt = arg(r, "_format");
    const char *acc = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_ACCEPT);
    int pdf = (fmt != NULL && strcmp(fmt, "pdf") == 0) ||
              (acc != NULL && strstr(acc, "application/pdf") != NULL);
    struct gw_answer a;
    char *html = NULL;
    size_t len = 0;

    gw_pipeline_print(r->h->o.pipeline, c, r->args.id, pdf, &html, &len, &a);
    if (html == NULL)
        return gw_fhir_send_answer(r, &a, 0);
    gw_answer_release(&a);
    return gw_http_send(r, 200,
                        pdf ? "application/pdf" : "text/html; charset=utf-8",
                        html, len);
}

/*
 * The FHIR front: the answer's format first (so that even refusals come
 * in it), the look-up limit, the body's format, then the route's action
 * (405 when the path is known but not the method; the fallback rows'
 * 404).
 */
enum MHD_Result
gw_fhir_api(struct gw_req *r)
{
    const char *url = r->url + 6; /* after "/fhir/" */
    const char *fmt = arg(r, "_format");
    int post = strcmp(r->method, "POST") == 0;
    int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    enum gw_fhir_format in_fmt = GW_FHIR_SNIFF;
    struct gw_call c = {&r->who, r->base, r->id, GW_FHIR_JSON};
    char why[80];
    int af;

    if (strncmp(r->url, "/fhir/", 6) != 0) {
        r->out_fmt = GW_FHIR_JSON;
        return gw_fhir_fail(r, GW_ENOTFOUND, NULL, "no such endpoint");
    }
    if (post)
        in_fmt = gw_http_content_format(MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE));
    if (fmt != NULL && strcmp(fmt, "pdf") == 0 &&
        r->route == GW_ROUTE_CASE_OPERATION) {
        r->out_fmt = GW_FHIR_JSON; /* $print as PDF; refusals as JSON */
    } else if (fmt != NULL) {
        af = gw_http_format_param(fmt);
        r->out_fmt = af >= 0 ? (enum gw_fhir_format)af : GW_FHIR_JSON;
        if (af == -2)
            return gw_fhir_fail(r, GW_ENOTACCEPTABLE, "_format",
                                "this server speaks FHIR 4.0 (R4) only");
        if (af < 0)
            return gw_fhir_fail(r, GW_ENOTACCEPTABLE, "_format",
                                "_format is json or xml");
    } else {
        af = gw_http_accept_format(MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
        /* $print answers HTML; its refusals come as JSON. */
        if (af < 0 && r->route == GW_ROUTE_CASE_OPERATION &&
            strstr(url, "/$print") != NULL)
            af = GW_FHIR_SNIFF;
        if (af < 0) {
            r->out_fmt = GW_FHIR_JSON;
            return gw_fhir_fail(r, GW_ENOTACCEPTABLE, "Accept",
                                "answers are application/fhir+json or "
                                "application/fhir+xml, FHIR 4.0");
        }
        r->out_fmt = af != GW_FHIR_SNIFF ? (enum gw_fhir_format)af
                     : in_fmt != GW_FHIR_SNIFF ? in_fmt
                                               : GW_FHIR_JSON;
    }

    c.fmt = r->out_fmt;
    if (post && r->method_ok && r->def->fhir == gw_fhir_task_search) {
        enum MHD_Result ret;
        if (form_args(r, &ret) != 0)
            return ret;
    }
    /* Case look-ups, by referensnummer: over the limit of failures, none
     * is served until the client's bucket has a token again. */
    r->lookup =
        (get || r->route == GW_ROUTE_TASK_SEARCH) &&
        (r->route == GW_ROUTE_TASK_READ || r->route == GW_ROUTE_TASK_HISTORY ||
         r->route == GW_ROUTE_RESOURCE_READ ||
         r->route == GW_ROUTE_CASE_OPERATION ||
         (r->route == GW_ROUTE_TASK_SEARCH &&
          (arg(r, "identifier") != NULL || arg(r, "_id") != NULL)));
    if (r->lookup && (r->retry_after_s = gw_lookup_limit_check(
                          r->lookups, r->client)) > 0) {
        r->lookup = 0; /* a refusal is not another failure */
        gw_lookup_audit(r, GW_ETOOMANYLOOKUPS, "refused");
        return gw_fhir_fail(r, GW_ETOOMANYLOOKUPS, NULL,
                            "this client looked up too many cases that it "
                            "could not find; wait Retry-After seconds");
    }
    if (post && !(r->def->flags & GW_RT_NO_BODY)) {
        if (in_fmt == GW_FHIR_SNIFF)
            return gw_fhir_fail(r, GW_EMEDIATYPE, NULL,
                                "send application/fhir+json or "
                                "application/fhir+xml");
        if (r->body.len == 0)
            return gw_fhir_fail(r, GW_EPARSE, NULL, "the request has no body");
        if (gw_fhir_sniff(r->body.data, r->body.len) != in_fmt)
            return gw_fhir_fail(r, GW_EPARSE, NULL,
                                "the body is not in the format its "
                                "Content-Type names");
    }
    if (r->method_ok && r->def->fhir != NULL)
        return r->def->fhir(r, &c);
    if (r->method_ok)
        return gw_fhir_fail(r, GW_ENOTFOUND, NULL,
                            r->def->not_found ? r->def->not_found
                                              : "no such endpoint");
    snprintf(why, sizeof(why), "method %.40s is not allowed here", r->method);
    return gw_fhir_fail_status(r, GW_EINVAL, 405, NULL, why);
}
