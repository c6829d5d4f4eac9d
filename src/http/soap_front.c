/*
 * soap_front.c - glue between the HTTP front and src/soap/: reads what
 * libmicrohttpd holds (path, query, Content-Type), hands the request to
 * gw_soap_handle or gw_soap_contract, sends the reply and logs one line
 * (interaction, result, errorCode; never the content).
 *
 *   POST /soap/<Interaction>            a RIV-TA call (authenticated)
 *   GET  /soap/<Interaction>?wsdl       its WSDL (public, like metadata)
 *   GET  /soap/<file>.xsd               a schema the WSDL imports
 *
 * Refusals the HTTP front makes before we are called (401, 403, 413, 414,
 * 503) come here too (gw_soap_front_refuse): a SOAP client gets a SOAP
 * fault, never a FHIR OperationOutcome.
 */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "http/response.h"
#include "http/route.h"
#include "klas/ident.h"
#include "pipeline/pipeline.h"
#include "soap/soap.h"

static enum MHD_Result
has_key(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    int *found = cls;

    (void)kind;
    (void)value;
    if (strcasecmp(key, "wsdl") == 0) {
        *found = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

/* Whether the caller's [clients] label is listed in
 * server.trusted_platforms (labels separated by spaces or commas). */
static int
is_platform(const struct gw_req *r)
{
    const char *s = r->h->o.cfg->server_trusted_platforms;
    size_t n = strlen(r->label);

    while (*s != '\0') {
        size_t len;
        s += strspn(s, " \t,");
        len = strcspn(s, " \t,");
        if (len > 0 && len == n && strncmp(s, r->label, n) == 0)
            return 1;
        s += len;
    }
    return 0;
}

static enum MHD_Result
plain(struct gw_req *r, int status, const char *text)
{
    char *body = strdup(text);

    return gw_http_send(r, status, "text/plain; charset=utf-8", body,
                        body ? strlen(body) : 0);
}

static enum MHD_Result
send_reply(struct gw_req *r, struct gw_soap_reply *rep)
{
    char *body = rep->body;

    rep->body = NULL;
    return gw_http_send(r, rep->status, rep->content_type, body,
                        body ? rep->len : 0);
}

static enum MHD_Result
contract(struct gw_req *r, const char *name)
{
    struct gw_soap_reply rep;
    char base[300];
    char *fhir;
    int wsdl = 0;
    gw_rc rc;

    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, has_key, &wsdl);
    /* r->base is "<scheme>://<host>/fhir": the WSDL wants the host. */
    snprintf(base, sizeof(base), "%s", r->base);
    fhir = strstr(base, "/fhir");
    if (fhir != NULL)
        *fhir = '\0';
    rc = gw_soap_contract(r->h->o.soap, name, wsdl, base, &rep);
    if (rc != GW_OK)
        return plain(r, rc == GW_ENOTFOUND ? 404 : 500, "no such contract\n");
    return send_reply(r, &rep);
}

enum MHD_Result
gw_soap_front_refuse(struct gw_req *r, gw_rc rc, const char *detail)
{
    struct gw_soap_reply rep;
    enum MHD_Result ret;

    gw_soap_refusal(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_TYPE),
                    rc, detail, &rep);
    ret = send_reply(r, &rep);
    gw_soap_reply_release(&rep);
    return ret;
}

/* The consumer a service platform passed on (see gw_soap_front), or NULL. */
static const char *
original_consumer(const struct gw_req *r)
{
    return MHD_lookup_connection_value(
        r->conn, MHD_HEADER_KIND, "x-rivta-original-serviceconsumer-hsaid");
}

/* Logs the reply (never its content) and sends it. */
static enum MHD_Result
reply(struct gw_req *r, struct gw_soap_reply *rep)
{
    const char *via;
    enum MHD_Result ret;

    if (r->gone) { /* closed before its reply (gw_http_resume) */
        gw_soap_reply_release(rep);
        return MHD_NO;
    }
    via = original_consumer(r);
    gw_log_set_request_id(r->id);
    gw_log_info("event=soap interaction=%s result=%s error_code=%s client=%s "
                "original_consumer=%s",
                gw_log_quote(r->url + strlen("/soap/")), rep->result,
                rep->error_id[0] ? rep->error_id : "-", r->label,
                via ? via : "-");
    gw_log_set_request_id(NULL);
    ret = send_reply(r, rep);
    gw_soap_reply_release(rep);
    return ret;
}

/* A message's reply once its write is done (gw_http_park). */
static enum MHD_Result
soap_resume(struct gw_req *r, void *pending)
{
    struct gw_soap_reply rep;

    gw_soap_handle_end(pending, &rep);
    return reply(r, &rep);
}

enum MHD_Result
gw_soap_front(struct gw_req *r)
{
    const char *name = r->url + strlen("/soap/");
    struct gw_soap_reply rep;
    struct gw_soap_pending *pending;
    struct gw_call call;
    const char *via;

    if (r->h->o.soap == NULL)
        return plain(r, 404, "SOAP is not enabled\n");
    if (strcmp(r->method, "GET") == 0)
        return contract(r, name);
    if (strcmp(r->method, "POST") != 0)
        return plain(r, 405, "use POST (or GET ?wsdl)\n");
    memset(&call, 0, sizeof(call));
    call.who = &r->who;
    call.base = r->base;
    call.request_id = r->id;
    /* The consumer a service platform passes on: believed only from a
     * platform of server.trusted_platforms, as the caller's identity in
     * the audit log; never used for authorization: the certificate (the
     * platform's [clients] line) decides what may be called. */
    via = original_consumer(r);
    if (via != NULL) {
        char note[200];
        struct gw_err err;
        if (!is_platform(r)) {
            snprintf(note, sizeof(note),
                     "interaction=%.60s request=%s: the client is no "
                     "platform of server.trusted_platforms",
                     name, r->id);
            gw_pipeline_audit_note(r->h->o.pipeline, &call,
                                   "soap-consumer-refused", note);
            gw_log_warn("event=soap_consumer_refused client=%s detail=\"not "
                        "in server.trusted_platforms\"",
                        r->label);
            return gw_http_refuse(
                r, GW_EFORBIDDEN,
                "x-rivta-original-serviceconsumer-hsaid is accepted only "
                "from a service platform listed in server.trusted_platforms");
        }
        gw_err_clear(&err);
        if (gw_hsaid_check(via, &err) != GW_OK)
            return gw_http_refuse(
                r, GW_EINVAL,
                "x-rivta-original-serviceconsumer-hsaid: not an HSA-id");
        snprintf(note, sizeof(note),
                 "interaction=%.60s original-consumer=%s platform=%.40s "
                 "request=%s",
                 name, via, r->label, r->id);
        gw_pipeline_audit_note(r->h->o.pipeline, &call, "soap-consumer", note);
    }
    gw_http_park_begin(r);
    if (gw_soap_handle_async(
            r->h->o.soap, &call, name,
            MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                        MHD_HTTP_HEADER_CONTENT_TYPE),
            r->body.data, r->body.len, &rep, gw_http_wake, r, &pending))
        return gw_http_park(r, soap_resume, pending);
    gw_http_park_cancel(r);
    return reply(r, &rep);
}
