/*
 * response.c - how the HTTP front answers: queuing a body with the
 * headers every answer carries, the FHIR formats (what a Content-Type or
 * Accept names, which one an answer takes), a pipeline answer as a FHIR
 * response, and refusals as OperationOutcomes. It decides nothing about
 * routes; the fronts call it.
 */
#include "http/response.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/route.h"
#include "core/log.h"
#include "core/names.h"
#include "pipeline/pipeline.h"
#include "pipeline/refusals.h"
#include "validate/outcome.h"

enum MHD_Result
gw_http_send(struct gw_req *r, int status, const char *ctype, char *body,
             size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    if (ctype != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return ret;
}

/*
 * The front's side of the one refusal path (pipeline.h): a refused caller
 * the front has authenticated goes through gw_pipeline_refuse (answer a,
 * audit record, count, log line). Before that (no certificate, an unknown
 * one, a target or body over the limits, a full server) there is no one
 * to audit: the refusal is counted by its reason in the fixed table of
 * refusals.c and logged in one line naming the route, never the request's
 * content. So a flood of them grows no memory and never reaches the audit
 * writer's queue.
 */
static void
refused(struct gw_req *r, gw_rc rc, const struct gw_err *err,
        struct gw_answer *a)
{
    if (r->authenticated && r->h->o.pipeline != NULL) {
        const struct gw_call c = {&r->who, r->base, r->id, r->out_fmt};
        gw_pipeline_refuse(r->h->o.pipeline, &c, a, rc, err, NULL,
                           gw_route_label(r->route), NULL, NULL);
        return;
    }
    gw_answer_error(a, rc, err);
    gw_refusals_count(rc, NULL);
    gw_log_info("event=refused rc=%s action=%s request=%s", gw_rc_name(rc),
                gw_route_label(r->route), r->id);
}

enum MHD_Result
gw_http_refuse(struct gw_req *r, gw_rc rc, const char *detail)
{
    struct gw_answer a;
    struct gw_outcome o;
    struct gw_fhir_doc *doc = NULL;
    struct gw_err err;
    char *out = NULL;
    size_t len = 0;
    int xml;

    gw_err_clear(&err);
    gw_err_set(&err, rc, NULL, "%s", detail);
    memset(&a, 0, sizeof(a));
    refused(r, rc, &err, &a);
    gw_answer_release(&a);
    /* A SOAP client gets a SOAP fault, not an OperationOutcome. */
    if (r->def != NULL && r->def->serve == gw_soap_front)
        return gw_soap_front_refuse(r, rc, detail);
    xml = gw_http_refusal_format(r) == GW_FHIR_XML;
    gw_outcome_init(&o);
    if (gw_outcome_add_rc(&o, rc, &err) == GW_OK &&
        gw_outcome_to_doc(&o, &doc) == GW_OK &&
        (xml ? gw_fhir_to_xml(doc, &out, &len)
             : gw_fhir_to_json(doc, &out, &len)) != GW_OK)
        out = NULL;
    gw_fhir_doc_free(doc);
    gw_outcome_release(&o);
    return gw_http_send(r, gw_rc_http_status(rc),
                        out == NULL ? NULL
                        : xml       ? "application/fhir+xml; charset=utf-8"
                                    : "application/fhir+json; charset=utf-8",
                        out, out ? len : 0);
}

enum gw_fhir_format
gw_http_format_of_mime(const char *m, size_t n)
{
    static const struct gw_name_value map[] = {
        {"application/fhir+json", GW_FHIR_JSON},
        {"application/json", GW_FHIR_JSON},
        {"application/fhir+xml", GW_FHIR_XML},
        {"application/xml", GW_FHIR_XML},
        {"text/xml", GW_FHIR_XML},
        {"json", GW_FHIR_JSON},
        {"xml", GW_FHIR_XML},
    };
    const struct gw_name_value *row;
    char low[32]; /* longer than every name in map */

    while (n > 0 && isspace((unsigned char)*m))
        m++, n--;
    while (n > 0 && isspace((unsigned char)m[n - 1]))
        n--;
    if (n >= sizeof(low))
        return GW_FHIR_SNIFF;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)m[i]);
    low[n] = '\0';
    row = GW_NAME_FIND(map, low);
    return row != NULL ? (enum gw_fhir_format)row->value : GW_FHIR_SNIFF;
}

enum gw_fhir_format
gw_http_content_format(const char *ct)
{
    if (ct == NULL)
        return GW_FHIR_SNIFF;
    return gw_http_format_of_mime(ct, strcspn(ct, ";"));
}

/* The parameters of one media range p[0..n) after its type: q (1 when
 * absent; 0 when unreadable) and whether a fhirVersion, if named, is R4
 * (4.0 or 4.0.x). */
static void
media_params(const char *p, size_t n, double *q, int *r4)
{
    *q = 1.0;
    *r4 = 1;
    while (n > 0) {
        size_t k = 0, vl;
        const char *v;
        char num[16];
        while (n > 0 && (*p == ';' || isspace((unsigned char)*p)))
            p++, n--;
        while (k < n && p[k] != ';')
            k++;
        v = memchr(p, '=', k);
        if (v != NULL) {
            size_t nl = (size_t)(v - p);
            v++;
            vl = k - (size_t)(v - p);
            while (nl > 0 && isspace((unsigned char)p[nl - 1]))
                nl--;
            while (vl > 0 && isspace((unsigned char)v[vl - 1]))
                vl--;
            if (nl == 1 && (*p == 'q' || *p == 'Q')) {
                char *end;
                if (vl == 0 || vl >= sizeof(num)) {
                    *q = 0;
                } else {
                    memcpy(num, v, vl);
                    num[vl] = '\0';
                    *q = strtod(num, &end);
                    if (*end != '\0' || !(*q >= 0 && *q <= 1))
                        *q = 0;
                }
            } else if (nl == 11 && strncasecmp(p, "fhirVersion", 11) == 0) {
                *r4 = (vl == 3 && memcmp(v, "4.0", 3) == 0) ||
                      (vl > 4 && memcmp(v, "4.0.", 4) == 0);
            }
        }
        p += k;
        n -= k;
    }
}

int
gw_http_accept_format(const char *acc)
{
    int best = -1;
    double best_q = 0;

    if (acc == NULL || *acc == '\0')
        return GW_FHIR_SNIFF;
    /* The highest q wins, the first listed on a tie; q=0 and another
     * fhirVersion than R4 exclude a type. */
    while (*acc) {
        size_t n = strcspn(acc, ",");
        size_t m = strcspn(acc, ";,");
        enum gw_fhir_format f = gw_http_format_of_mime(acc, m);
        const char *p = acc;
        int cand = -1, r4;
        double q;
        while (isspace((unsigned char)*p))
            p++;
        if (f != GW_FHIR_SNIFF)
            cand = f;
        else if (strncmp(p, "*/*", 3) == 0 ||
                 strncasecmp(p, "application/*", 13) == 0)
            cand = GW_FHIR_SNIFF;
        media_params(acc + m, n - m, &q, &r4);
        if (cand != -1 && r4 && q > best_q) {
            best = cand;
            best_q = q;
        }
        acc += n + (acc[n] == ',');
    }
    return best;
}

int
gw_http_format_param(const char *v)
{
    size_t m = strcspn(v, ";");
    enum gw_fhir_format f = gw_http_format_of_mime(v, m);
    double q;
    int r4;

    if (f == GW_FHIR_SNIFF)
        return -1;
    media_params(v + m, strlen(v + m), &q, &r4);
    return r4 ? (int)f : -2;
}

enum gw_fhir_format
gw_http_refusal_format(struct gw_req *r)
{
    const char *fmt =
        MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "_format");
    int af;

    if (fmt != NULL)
        return gw_http_format_param(fmt) == GW_FHIR_XML
                   ? GW_FHIR_XML
                   : GW_FHIR_JSON;
    af = gw_http_accept_format(MHD_lookup_connection_value(
        r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
    if (af == GW_FHIR_SNIFF)
        af = gw_http_content_format(MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE));
    return af == GW_FHIR_XML ? GW_FHIR_XML : GW_FHIR_JSON;
}

const char *
gw_http_fhir_mime(enum gw_fhir_format f)
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

/* Guards the held_ fields of every request between the commit of their
 * audit records and the writer's completion (on_audited). */
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
/* Signalled with held_mu when an answer's records are done: for the
 * answers held while the server stops, which wait on their thread. */
static pthread_cond_t held_cv = PTHREAD_COND_INITIALIZER;

/* On the writer thread, once what r waits for (the audit records of a
 * held answer, the write of a submission) is on disk or refused. Once
 * the lock is released r belongs to libmicrohttpd's thread again: not
 * yet suspended, park() returns and the thread sends the answer itself;
 * suspended, the resume lets on_request send it, and the request may be
 * sent, closed and freed before MHD_resume_connection returns here. So
 * what the end needs (the connection, the server) is read under the
 * lock, and r never after. */
void
gw_http_wake(void *arg)
{
    struct gw_req *r = arg;
    struct gw_http *h;
    struct MHD_Connection *conn = NULL;

    pthread_mutex_lock(&held_mu);
    h = r->h;
    r->held_done = 1;
    if (r->held_suspended)
        conn = r->conn;
    else {
        /* Not suspended, its thread is still in park() and h is alive
         * until the lock is released. */
        __atomic_sub_fetch(&h->held, 1, __ATOMIC_SEQ_CST);
        pthread_cond_broadcast(&held_cv);
    }
    pthread_mutex_unlock(&held_mu);
    if (conn == NULL)
        return;
    /* Suspended, the connection stays until it is resumed, and h until
     * held is 0 (gw_http_stop waits for it before libmicrohttpd stops):
     * the count is the last touch. */
    MHD_resume_connection(conn);
    __atomic_sub_fetch(&h->held, 1, __ATOMIC_SEQ_CST);
}

/* Before what r waits for is handed on (gw_http_wake follows). */
void
gw_http_park_begin(struct gw_req *r)
{
    r->held_done = r->held_suspended = 0;
    __atomic_add_fetch(&r->h->held, 1, __ATOMIC_SEQ_CST);
}

/* When it could not be handed on: gw_http_wake never runs. */
void
gw_http_park_cancel(struct gw_req *r)
{
    __atomic_sub_fetch(&r->h->held, 1, __ATOMIC_SEQ_CST);
}

/* Once it is handed on: 1 when r's connection is suspended until gw_http_wake
 * (return MHD_YES; libmicrohttpd calls on_request again once resumed);
 * 0 when it is done already and this thread answers now. */
static int
park(struct gw_req *r)
{
    pthread_mutex_lock(&held_mu);
    /* held was counted before the flag is read: a stop that sets the
     * flag after this read waits for the resume of this connection. */
    if (!r->held_done &&
        !__atomic_load_n(&r->h->held_no_suspend, __ATOMIC_SEQ_CST)) {
        MHD_suspend_connection(r->conn);
        r->held_suspended = 1;
        pthread_mutex_unlock(&held_mu);
        return 1;
    }
    while (!r->held_done) /* stopping: no new suspension */
        pthread_cond_wait(&held_cv, &held_mu);
    pthread_mutex_unlock(&held_mu);
    return 0;
}

static void
on_audited(void *arg, gw_rc rc, const struct gw_err *err)
{
    struct gw_req *r = arg;

    r->held_rc = rc;
    if (rc != GW_OK)
        r->held_err = *err;
    gw_http_wake(r);
}

/* Frees a held answer that is not to be sent. */
static void
drop_held(struct gw_req *r)
{
    if (r->held != NULL)
        MHD_destroy_response(r->held);
    r->held = NULL;
}

/* The resume of a held answer (gw_http_park), once its records are done:
 * sent, or the refusal in its place when they could not be stored. */
static enum MHD_Result
held_resume(struct gw_req *r, void *parked)
{
    struct MHD_Response *resp = r->held;
    struct gw_answer e;
    enum MHD_Result ret;

    (void)parked;
    if (r->gone) { /* closed before it was sent */
        drop_held(r);
        return MHD_NO;
    }
    r->held = NULL;
    if (r->held_rc == GW_OK) {
        ret = MHD_queue_response(r->conn, r->held_status, resp);
        MHD_destroy_response(resp);
        r->status = (int)r->held_status;
        return ret;
    }
    /* The case does not leave without its record on disk. */
    MHD_destroy_response(resp);
    memset(&e, 0, sizeof(e));
    gw_answer_error(&e, r->held_rc, &r->held_err);
    return gw_fhir_send_answer(r, &e, 0);
}

/* The answer waits for a->audit: resp is sent by held_resume. */
static enum MHD_Result
hold(struct gw_req *r, struct MHD_Response *resp, struct gw_answer *a)
{
    struct gw_err err;
    struct gw_answer e;
    gw_rc rc;

    gw_err_clear(&err);
    r->held = resp;
    r->held_status = (unsigned)a->status;
    gw_http_park_begin(r);
    rc = gw_answer_commit_audit(r->h->o.pipeline, a, on_audited, r, &err);
    if (rc != GW_OK) {
        gw_http_park_cancel(r);
        drop_held(r);
        gw_answer_release(a);
        memset(&e, 0, sizeof(e));
        gw_answer_error(&e, rc, &err);
        return gw_fhir_send_answer(r, &e, 0);
    }
    gw_answer_release(a);
    return gw_http_park(r, held_resume, NULL);
}

enum MHD_Result
gw_http_park(struct gw_req *r,
             enum MHD_Result (*resume)(struct gw_req *r, void *parked),
             void *parked)
{
    r->resume = resume;
    r->parked = parked;
    if (park(r))
        return MHD_YES;
    return gw_http_resume(r, 0);
}

enum MHD_Result
gw_http_resume(struct gw_req *r, int gone)
{
    enum MHD_Result (*resume)(struct gw_req *, void *) = r->resume;
    void *parked = r->parked;

    r->resume = NULL;
    r->parked = NULL;
    r->gone = gone;
    return resume(r, parked);
}

static enum MHD_Result
fhir_resume(struct gw_req *r, void *submit)
{
    struct gw_answer a;

    gw_pipeline_process_end(submit, &a);
    return gw_fhir_send_answer(r, &a, r->minimal);
}

enum MHD_Result
gw_http_submit(struct gw_req *r, const struct gw_call *c, long if_match,
               int minimal)
{
    struct gw_submit *s;
    struct gw_answer a;

    gw_http_park_begin(r);
    r->minimal = minimal;
    if (!gw_pipeline_process_async(r->h->o.pipeline, c, r->body.data,
                                   r->body.len, if_match, &a, gw_http_wake, r,
                                   &s)) {
        gw_http_park_cancel(r);
        return gw_fhir_send_answer(r, &a, minimal);
    }
    return gw_http_park(r, fhir_resume, s);
}

enum MHD_Result
gw_fhir_send_answer(struct gw_req *r, struct gw_answer *a, int minimal)
{
    struct MHD_Response *resp;
    char *body = NULL;
    size_t len = 0;
    enum MHD_Result ret;
    gw_rc rc = GW_OK;

    if (r->gone) { /* closed before its answer (gw_http_resume) */
        gw_answer_release(a);
        return MHD_NO;
    }
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
    resp = MHD_create_response_from_buffer(
        len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    if (body != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                gw_http_fhir_mime(r->out_fmt));
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
        gw_lookup_counted(r, a->status == 404 ||
                                 (r->route == GW_ROUTE_TASK_SEARCH &&
                                  a->status == 200 && a->total == 0));
    if (a->status == 405) {
        char allow[64];
        if (gw_route_allow(r->url, allow, sizeof(allow)) > 0)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    }
    if (a->etag[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
    if (a->last_modified[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED,
                                a->last_modified);
    if (a->location[0]) {
        char loc[512];
        snprintf(loc, sizeof(loc), "%s/%s", r->base, a->location);
        MHD_add_response_header(resp,
                                a->status == 201
                                    ? MHD_HTTP_HEADER_LOCATION
                                    : MHD_HTTP_HEADER_CONTENT_LOCATION,
                                loc);
    }
    if (a->audit != NULL)
        return hold(r, resp, a);
    ret = MHD_queue_response(r->conn, (unsigned)a->status, resp);
    MHD_destroy_response(resp);
    r->status = a->status;
    gw_answer_release(a);
    return ret;
}

enum MHD_Result
gw_fhir_fail_status(struct gw_req *r, gw_rc rc, int status, const char *path,
                    const char *detail)
{
    struct gw_answer a;
    struct gw_err err;

    memset(&a, 0, sizeof(a));
    gw_err_clear(&err);
    gw_err_set(&err, rc, path, "%s", detail);
    refused(r, rc, &err, &a);
    if (status != 0)
        a.status = status;
    return gw_fhir_send_answer(r, &a, 0);
}

enum MHD_Result
gw_fhir_fail(struct gw_req *r, gw_rc rc, const char *path, const char *detail)
{
    return gw_fhir_fail_status(r, rc, 0, path, detail);
}
