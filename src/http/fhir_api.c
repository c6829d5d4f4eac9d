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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/http_int.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

static enum gw_fhir_format
format_of_mime(const char *m, size_t n)
{
    static const struct {
        const char *mime;
        enum gw_fhir_format f;
    } map[] = {
        {"application/fhir+json", GW_FHIR_JSON}, {"application/json", GW_FHIR_JSON},
        {"application/fhir+xml", GW_FHIR_XML},   {"application/xml", GW_FHIR_XML},
        {"text/xml", GW_FHIR_XML},               {"json", GW_FHIR_JSON},
        {"xml", GW_FHIR_XML},
    };

    while (n > 0 && isspace((unsigned char)*m))
        m++, n--;
    while (n > 0 && isspace((unsigned char)m[n - 1]))
        n--;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strlen(map[i].mime) == n && strncasecmp(m, map[i].mime, n) == 0)
            return map[i].f;
    return GW_FHIR_SNIFF;
}

/* The format a Content-Type names; SNIFF when none we take. */
static enum gw_fhir_format
content_format(const char *ct)
{
    if (ct == NULL)
        return GW_FHIR_SNIFF;
    return format_of_mime(ct, strcspn(ct, ";"));
}

/* From Accept: the first listed format we offer; SNIFF if the caller
 * accepts anything; -1 when it accepts nothing we offer. */
static int
accept_format(const char *acc)
{
    int any = 0;

    if (acc == NULL || *acc == '\0')
        return GW_FHIR_SNIFF;
    while (*acc) {
        size_t n = strcspn(acc, ",");
        size_t m = strcspn(acc, ";,");
        enum gw_fhir_format f = format_of_mime(acc, m);
        const char *p = acc;
        if (f != GW_FHIR_SNIFF)
            return f;
        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, "*/*", 3) == 0 || strncasecmp(p, "application/*", 13) == 0)
            any = 1;
        acc += n + (acc[n] == ',');
    }
    return any ? GW_FHIR_SNIFF : -1;
}

enum gw_fhir_format
gw_http_refusal_format(struct gw_req *r)
{
    const char *fmt =
        MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "_format");
    int af;

    if (fmt != NULL)
        return format_of_mime(fmt, strlen(fmt)) == GW_FHIR_XML ? GW_FHIR_XML
                                                               : GW_FHIR_JSON;
    af = accept_format(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_ACCEPT));
    if (af == GW_FHIR_SNIFF)
        af = content_format(MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE));
    return af == GW_FHIR_XML ? GW_FHIR_XML : GW_FHIR_JSON;
}

static const char *
mime(enum gw_fhir_format f)
{
    return f == GW_FHIR_XML ? "application/fhir+xml; charset=utf-8"
                            : "application/fhir+json; charset=utf-8";
}

/* Retry-After of answers worth resending later; the look-up limit sets
 * its own (r->retry_after_s). */
static int
retry_after_of(gw_rc rc)
{
    static const struct {
        gw_rc rc;
        int s;
    } t[] = {
        {GW_EHSAUNAVAILABLE, 30},
        {GW_EUNAVAILABLE, 30},
        {GW_ESTORAGEFULL, 60},
        {GW_EBUSY, 5},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (t[i].rc == rc)
            return t[i].s;
    return 0;
}

static void
audit_lookup(struct gw_req *r, gw_rc rc, const char *detail)
{
    struct gw_audit_entry e = {
        .system = r->who.label,
        .user = r->who.user ? r->who.user : r->who.gln,
        .action = "lookup-limit",
        .outcome = rc == GW_OK ? "ok" : gw_rc_name(rc),
        .detail = detail,
    };

    if (gw_store_audit_async(r->h->o.store, &e) != GW_OK)
        gw_log_err("event=audit_enqueue_failed action=lookup-limit");
}

/* A case look-up that found nothing: 404 on a read, or a search by
 * referensnummer without hits. It counts against the client. */
static void
count_lookup(struct gw_req *r, const struct gw_answer *a)
{
    int failed = a->status == 404 || (r->route == GW_ROUTE_TASK_SEARCH &&
                                      a->status == 200 && a->total == 0);

    if (!failed || !gw_lookup_limit_fail(r->h->lookups, r->client))
        return;
    gw_log_warn("event=lookup_limit client=%s limit=%ld window_s=%ld", r->label,
                r->h->o.cfg->server_lookup_fail_limit,
                r->h->o.cfg->server_lookup_fail_window_s);
    audit_lookup(r, GW_ETOOMANYLOOKUPS, "limit reached");
}

static enum MHD_Result
send_answer(struct gw_req *r, struct gw_answer *a, int minimal)
{
    struct MHD_Response *resp;
    char *body = NULL;
    size_t len = 0;
    enum MHD_Result ret;
    gw_rc rc = GW_OK;

    if (a->body != NULL && !(minimal && a->status < 300)) {
        body = a->body; /* already in r->out_fmt */
        len = a->body_len;
        a->body = NULL;
    } else if (a->doc != NULL && !(minimal && a->status < 300))
        rc = r->out_fmt == GW_FHIR_XML ? gw_fhir_to_xml(a->doc, &body, &len)
                                       : gw_fhir_to_json(a->doc, &body, &len);
    if (rc != GW_OK) {
        free(body);
        body = NULL;
        len = 0;
        a->status = 500;
    }
    resp = MHD_create_response_from_buffer(len, body,
                                           body ? MHD_RESPMEM_MUST_FREE
                                                : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    if (body != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                mime(r->out_fmt));
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    {
        int retry =
            r->retry_after_s > 0 ? r->retry_after_s : retry_after_of(a->rc);
        char v[16];
        if (retry > 0) {
            snprintf(v, sizeof(v), "%d", retry);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
        }
    }
    if (r->lookup)
        count_lookup(r, a);
    if (a->etag[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
    if (a->last_modified[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED,
                                a->last_modified);
    if (a->location[0]) {
        char loc[512];
        snprintf(loc, sizeof(loc), "%s/%s", r->base, a->location);
        MHD_add_response_header(resp, a->status == 201
                                          ? MHD_HTTP_HEADER_LOCATION
                                          : MHD_HTTP_HEADER_CONTENT_LOCATION,
                                loc);
    }
    ret = MHD_queue_response(r->conn, (unsigned)a->status, resp);
    MHD_destroy_response(resp);
    r->status = a->status;
    gw_answer_release(a);
    return ret;
}

static enum MHD_Result
fail(struct gw_req *r, gw_rc rc, const char *path, const char *detail)
{
    struct gw_answer a;
    struct gw_err err;

    memset(&a, 0, sizeof(a));
    gw_err_clear(&err);
    gw_err_set(&err, rc, path, "%s", detail);
    gw_answer_error(&a, rc, &err);
    return send_answer(r, &a, 0);
}

static const char *
arg(struct gw_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
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

/* Search parameters we understand; anything else is refused (FHIR
 * servers may ignore unknown ones, but a silently ignored filter on
 * patient data is worse than an error). */
static const char *const task_params[] = {
    "identifier", "patient.identifier", "patient-identifier",
    "business-status", "licence-type", "drug", "_lastUpdated", "_count",
    "_include", "_format", "_summary", NULL};

static enum MHD_Result
check_param(void *cls, enum MHD_ValueKind kind, const char *key,
            const char *value)
{
    const char **bad = cls;

    (void)kind;
    (void)value;
    for (int i = 0; task_params[i]; i++)
        if (strcmp(key, task_params[i]) == 0)
            return MHD_YES;
    *bad = key;
    return MHD_NO;
}

static enum MHD_Result
task_search(struct gw_req *r, const struct gw_call *c)
{
    struct gw_task_search q;
    struct gw_answer a;
    struct dates d = {0, 0, 0};
    const char *bad = NULL, *v;

    memset(&q, 0, sizeof(q));
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_param,
                              &bad);
    if (bad != NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "unknown search parameter '%.60s'", bad);
        return fail(r, GW_EINVAL, NULL, msg);
    }
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &d);
    if (d.bad)
        return fail(r, GW_EINVAL, "_lastUpdated",
                    "give _lastUpdated as geYYYY-MM-DD or leYYYY-MM-DD");
    q.identifier = arg(r, "identifier");
    q.patient = arg(r, "patient.identifier");
    if (q.patient == NULL)
        q.patient = arg(r, "patient-identifier");
    if (q.patient != NULL && strchr(q.patient, '|') != NULL)
        q.patient = strchr(q.patient, '|') + 1;
    q.statuses = arg(r, "business-status");
    q.licence_type = arg(r, "licence-type");
    q.drug = arg(r, "drug");
    if (q.drug != NULL && strlen(q.drug) < 3)
        return fail(r, GW_EINVAL, "drug",
                    "give at least 3 characters of the drug name or "
                    "substance");
    q.changed_from_ms = d.from;
    q.changed_to_ms = d.to;
    if ((v = arg(r, "_count")) != NULL) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end != '\0' || n < 1)
            return fail(r, GW_EINVAL, "_count", "a positive number");
        q.count = n > 120 ? 120 : (int)n;
    }
    q.include = arg(r, "_include") != NULL;
    gw_pipeline_search(r->h->o.pipeline, c, &q, &a);
    return send_answer(r, &a, 0);
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
register_search(struct gw_req *r, const struct gw_call *c, const char *url)
{
    struct gw_answer a;
    struct gw_product pq;
    struct gw_pharmacy fq;
    int product = strcmp(url, "Medication") == 0;
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
            return fail(r, GW_EINVAL, p[i].name, why);
        }
    if (product)
        gw_pipeline_product_search(r->h->o.pipeline, c, &pq, &a);
    else
        gw_pipeline_pharmacy_search(r->h->o.pipeline, c, &fq, &a);
    return send_answer(r, &a, 0);
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
gw_fhir_api(struct gw_req *r)
{
    const char *url = r->url + 6; /* after "/fhir/" */
    const char *fmt = arg(r, "_format");
    const char *prefer = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                     "Prefer");
    int minimal = prefer != NULL && strstr(prefer, "return=minimal") != NULL;
    int post = strcmp(r->method, "POST") == 0;
    int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    enum gw_fhir_format in_fmt = GW_FHIR_SNIFF;
    struct gw_call c = {&r->who, r->base, r->id, GW_FHIR_JSON};
    struct gw_answer a;
    int af;

    if (strncmp(r->url, "/fhir/", 6) != 0) {
        r->out_fmt = GW_FHIR_JSON;
        return fail(r, GW_ENOTFOUND, NULL, "no such endpoint");
    }
    if (post) {
        const char *ct = MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        in_fmt = content_format(ct);
    }
    /* The answer's format first, so that even refusals come in it. */
    if (fmt != NULL && strcmp(fmt, "pdf") == 0 &&
        r->route == GW_ROUTE_CASE_OPERATION) {
        r->out_fmt = GW_FHIR_JSON; /* $print as PDF; refusals as JSON */
    } else if (fmt != NULL) {
        r->out_fmt = format_of_mime(fmt, strlen(fmt));
        if (r->out_fmt == GW_FHIR_SNIFF) {
            r->out_fmt = GW_FHIR_JSON;
            return fail(r, GW_ENOTACCEPTABLE, "_format",
                        "_format is json or xml");
        }
    } else {
        af = accept_format(MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
        /* $print answers HTML; its refusals come as JSON. */
        if (af < 0 && r->route == GW_ROUTE_CASE_OPERATION &&
            strstr(url, "/$print") != NULL)
            af = GW_FHIR_SNIFF;
        if (af < 0) {
            r->out_fmt = GW_FHIR_JSON;
            return fail(r, GW_ENOTACCEPTABLE, NULL,
                        "answers are application/fhir+json or "
                        "application/fhir+xml");
        }
        r->out_fmt = af != GW_FHIR_SNIFF ? (enum gw_fhir_format)af
                     : in_fmt != GW_FHIR_SNIFF ? in_fmt
                                               : GW_FHIR_JSON;
    }

    c.fmt = r->out_fmt;
    /* Case look-ups, by referensnummer: over the limit of failures, none
     * is served until the client's bucket has a token again. */
    r->lookup =
        get &&
        (r->route == GW_ROUTE_TASK_READ || r->route == GW_ROUTE_TASK_HISTORY ||
         r->route == GW_ROUTE_RESOURCE_READ ||
         r->route == GW_ROUTE_CASE_OPERATION ||
         (r->route == GW_ROUTE_TASK_SEARCH && arg(r, "identifier") != NULL));
    if (r->lookup && (r->retry_after_s = gw_lookup_limit_check(
                          r->h->lookups, r->client)) > 0) {
        r->lookup = 0; /* a refusal is not another failure */
        audit_lookup(r, GW_ETOOMANYLOOKUPS, "refused");
        return fail(r, GW_ETOOMANYLOOKUPS, NULL,
                    "this client looked up too many cases that it could "
                    "not find; wait Retry-After seconds");
    }
    if (r->route == GW_ROUTE_METADATA) {
        memset(&a, 0, sizeof(a));
        a.status = 200;
        if (r->h->o.capability == NULL)
            return fail(r, GW_EINTERNAL, NULL, "no CapabilityStatement");
        {
            char *xml = NULL;
            size_t len = 0;
            struct gw_err err;
            gw_err_clear(&err);
            if (gw_fhir_to_xml(r->h->o.capability, &xml, &len) != GW_OK ||
                gw_fhir_parse(xml, len, GW_FHIR_XML, NULL, &a.doc, &err) !=
                    GW_OK) {
                free(xml);
                return fail(r, GW_EINTERNAL, NULL, "CapabilityStatement");
            }
            free(xml);
        }
        return send_answer(r, &a, 0);
    }
    if (post && r->route != GW_ROUTE_CONSENT) {
        if (in_fmt == GW_FHIR_SNIFF)
            return fail(r, GW_EMEDIATYPE, NULL,
                        "send application/fhir+json or application/fhir+xml");
        if (r->body.len == 0)
            return fail(r, GW_EPARSE, NULL, "the request has no body");
        if (gw_fhir_sniff(r->body.data, r->body.len) != in_fmt)
            return fail(r, GW_EPARSE, NULL,
                        "the body is not in the format its Content-Type "
                        "names");
    }

    switch (r->route) {
    case GW_ROUTE_PROCESS: {
        long if_match = parse_if_match(MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH));
        if (!post)
            break;
        if (if_match < 0)
            return fail(r, GW_EINVAL, NULL, "If-Match takes W/\"version\"");
        gw_pipeline_process(r->h->o.pipeline, &c, r->body.data, r->body.len,
                            if_match, &a);
        return send_answer(r, &a, minimal);
    }
    case GW_ROUTE_VALIDATE:
        if (!post)
            break;
        gw_pipeline_validate(r->h->o.pipeline, &c, r->body.data, r->body.len,
                             &a);
        return send_answer(r, &a, 0);
    case GW_ROUTE_TASK_SEARCH:
        if (!get)
            break;
        return task_search(r, &c);
    case GW_ROUTE_TASK_READ:
    case GW_ROUTE_TASK_HISTORY:
    case GW_ROUTE_RESOURCE_READ: {
        char type[40], id[48], rest[48];
        long vid = 0;
        int n;
        const char *inm;
        if (!get)
            break;
        rest[0] = '\0';
        n = sscanf(url, "%39[A-Za-z]/%47[A-Za-z0-9.-]%47s", type, id, rest);
        if (n < 2)
            return fail(r, GW_ENOTFOUND, NULL, "no such resource");
        if (n == 3 && strcmp(rest, "/_history") == 0 &&
            strcmp(type, "Task") == 0) {
            gw_pipeline_history(r->h->o.pipeline, &c, id, &a);
            return send_answer(r, &a, 0);
        }
        if (n == 3) {
            char *end;
            if (strncmp(rest, "/_history/", 10) != 0 ||
                (vid = strtol(rest + 10, &end, 10)) < 1 || *end != '\0')
                return fail(r, GW_ENOTFOUND, NULL, "no such resource");
        }
        if (strcmp(type, "Subscription") == 0) {
            gw_pipeline_sub_read(r->h->o.pipeline, &c, id, &a);
            return send_answer(r, &a, 0);
        }
        gw_pipeline_read(r->h->o.pipeline, &c, type, id, vid, &a);
        inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                          MHD_HTTP_HEADER_IF_NONE_MATCH);
        if (a.status == 200 && inm != NULL && a.etag[0] &&
            strcmp(inm, a.etag) == 0) {
            gw_fhir_doc_free(a.doc);
            a.doc = NULL;
            a.status = 304;
        }
        return send_answer(r, &a, 0);
    }
    case GW_ROUTE_SUBSCRIPTION: {
        char id[48];
        if (post && strcmp(url, "Subscription") == 0) {
            gw_pipeline_sub_create(r->h->o.pipeline, &c, r->body.data,
                                   r->body.len, &a);
            return send_answer(r, &a, minimal);
        }
        if (sscanf(url, "Subscription/%47[A-Za-z0-9.-]", id) != 1)
            return fail(r, GW_ENOTFOUND, NULL, "no such subscription");
        if (strcmp(r->method, "DELETE") == 0) {
            gw_pipeline_sub_delete(r->h->o.pipeline, &c, id, &a);
            return send_answer(r, &a, 0);
        }
        if (get) {
            gw_pipeline_sub_read(r->h->o.pipeline, &c, id, &a);
            return send_answer(r, &a, 0);
        }
        break;
    }
    case GW_ROUTE_DISPENSING:
        if (get && strcmp(url, "$check-licence") == 0) {
            struct gw_licence_check q = {arg(r, "product"), arg(r, "patient"),
                                         arg(r, "unit"),
                                         arg(r, "administration"),
                                         arg(r, "on")};
            gw_pipeline_check_licence(r->h->o.pipeline, &c, &q, &a);
            return send_answer(r, &a, 0);
        }
        if (post && strcmp(url, "$record-dispensing") == 0) {
            gw_pipeline_record_dispensing(r->h->o.pipeline, &c, r->body.data,
                                          r->body.len, &a);
            return send_answer(r, &a, minimal);
        }
        break;
    case GW_ROUTE_CONSENT:
        if (!post)
            break;
        gw_pipeline_renew_consent(r->h->o.pipeline, &c, &a);
        return send_answer(r, &a, minimal);
    case GW_ROUTE_REGISTER_SEARCH:
        if (!get)
            break;
        return register_search(r, &c, url);
    case GW_ROUTE_CASE_OPERATION: {
        char id[16], op[16];
        if (!get)
            break;
        if (sscanf(url, "Task/%15[0-9]/$%15s", id, op) != 2)
            return fail(r, GW_ENOTFOUND, NULL, "no such operation");
        if (strcmp(op, "copy") == 0) {
            gw_pipeline_copy(r->h->o.pipeline, &c, id, &a);
            return send_answer(r, &a, 0);
        }
        if (strcmp(op, "print") == 0) {
            char *html = NULL;
            size_t len = 0;
            const char *acc = MHD_lookup_connection_value(
                r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
            int pdf = (fmt != NULL && strcmp(fmt, "pdf") == 0) ||
                      (acc != NULL && strstr(acc, "application/pdf") != NULL);
            gw_pipeline_print(r->h->o.pipeline, &c, id, pdf, &html, &len, &a);
            if (html == NULL)
                return send_answer(r, &a, 0);
            gw_answer_release(&a);
            return gw_http_send(r, 200,
                                pdf ? "application/pdf"
                                    : "text/html; charset=utf-8",
                                html, len);
        }
        return fail(r, GW_ENOTFOUND, NULL, "no such operation");
    }
    default:
        return fail(r, GW_ENOTFOUND, NULL, "no such endpoint");
    }
    memset(&a, 0, sizeof(a));
    {
        struct gw_err err;
        gw_err_clear(&err);
        gw_err_set(&err, GW_EINVAL, NULL, "method %s is not allowed here",
                   r->method);
        gw_answer_error(&a, GW_EINVAL, &err);
        a.status = 405;
    }
    return send_answer(r, &a, 0);
}
