/*
 * soap.h - the RIV-TA SOAP front of the gateway, without HTTP: one call
 * turns an inbound request to /soap/<Interaction> into the bytes to send
 * back, through the same pipeline calls as REST.
 *
 *   envelope (map/envelope.c) -> LogicalAddress -> Responder XSD (wsdl/)
 *     -> xslt/soap-to-fhir-message.xsl -> gw_pipeline_process
 *        (or gw_pipeline_search for GetLicenseCases, GetLicenseMotivation;
 *        gw_pipeline_check_licence for CheckLicense;
 *        gw_pipeline_record_dispensing, with a Parameters body built from
 *        the request, for RecordDispensing)
 *     -> xslt/fhir-to-soap-answer.xsl -> envelope of the caller's version
 *
 * Logical refusals (validation, authorization, case state) are answered
 * with HTTP 200 and result ERROR + errorCode + message naming the fields;
 * technical failures (TECHNICAL_ERROR, a broken envelope, a peer down) as
 * a SOAP fault with HTTP 500. Nothing is stored unless the pipeline says
 * GW_OK.
 *
 * Schemas and stylesheets are compiled once by gw_soap_new and shared
 * read-only by all request threads; gw_soap_handle is thread-safe.
 */
#ifndef GW_SOAP_SOAP_H
#define GW_SOAP_SOAP_H

#include <stddef.h>

#include "core/err.h"
#include "fhir/fhir.h"
#include "pipeline/pipeline.h"

struct gw_soap;

struct gw_soap_opts {
    const char *wsdl_dir; /* wsdl/: WSDLs and Responder XSDs */
    const char *xslt_dir; /* xslt/ */
    struct gw_pipeline *pipeline;
    struct gw_fhir_limits limits;
};

gw_rc gw_soap_new(const struct gw_soap_opts *o, struct gw_soap **out,
                  struct gw_err *err) GW_WARN_UNUSED;
void gw_soap_free(struct gw_soap *s);

/* What to send back: status, Content-Type (static string) and body
 * (malloc'd; the caller frees it or hands it to the HTTP layer). */
struct gw_soap_reply {
    int status;
    const char *content_type;
    char *body;
    size_t len;
    /* For the request log line: no personal data. */
    char result[8];    /* OK, ERROR, FAULT */
    char error_id[24]; /* errorCode or "" */
};
void gw_soap_reply_release(struct gw_soap_reply *r);

/*
 * One POST to /soap/<interaction>. content_type may be NULL. Always fills
 * *out (a fault at worst; body NULL only when out of memory).
 */
void gw_soap_handle(struct gw_soap *s, const struct gw_call *c,
                    const char *interaction, const char *content_type,
                    const char *body, size_t len, struct gw_soap_reply *out);

/*
 * The same without holding the caller's thread while a message's write
 * waits for its group commit (see gw_pipeline_process_async). 0: *out is
 * the reply now. 1: the write is queued and *pending holds the request:
 * done(arg) runs once on the store's writer thread, after which the
 * caller makes the reply with gw_soap_handle_end on a thread of its own.
 * c's strings and body must stay until then.
 */
struct gw_soap_pending;
int gw_soap_handle_async(struct gw_soap *s, const struct gw_call *c,
                         const char *interaction, const char *content_type,
                         const char *body, size_t len,
                         struct gw_soap_reply *out, gw_pipeline_done_fn done,
                         void *arg, struct gw_soap_pending **pending);
/* The reply of a request whose write is done (done has run); frees p. */
void gw_soap_handle_end(struct gw_soap_pending *p, struct gw_soap_reply *out);

/*
 * A refusal made before the request reaches gw_soap_handle (no or an
 * unknown client certificate: 401, a role that may not call: 403, a body
 * or URL over its cap, a full server) as the SOAP fault a SOAP client
 * expects, not as a FHIR OperationOutcome: the version by content_type
 * (may be NULL), HTTP status from the rc's row, faultstring "<errorCode>:
 * <Swedish> / <English>: <detail>". Always fills *out.
 */
void gw_soap_refusal(const char *content_type, gw_rc rc, const char *detail,
                     struct gw_soap_reply *out);

/*
 * GET /soap/<interaction>?wsdl (wsdl = 1) or GET /soap/<file>.xsd
 * (wsdl = 0, name is the file name): the contract file from wsdl/'s
 * RIV-TA layout (schemas/interactions/<Name>Interaction/ for the WSDL and
 * its Responder XSD, schemas/core_components/ for the shared XSDs), served
 * flat: the WSDL's endpoint addresses rewritten to base
 * ("http://host:port"), imports of ../../core_components/ made siblings.
 * GW_ENOTFOUND for an unknown name.
 */
gw_rc gw_soap_contract(struct gw_soap *s, const char *name, int wsdl,
                       const char *base,
                       struct gw_soap_reply *out) GW_WARN_UNUSED;

#endif
