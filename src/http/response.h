/*
 * response.h - how the HTTP front answers (response.c): every answer
 * carries X-Request-Id and Cache-Control: no-store; FHIR answers come in
 * the format the caller asked for; refusals are OperationOutcomes.
 */
#ifndef GW_HTTP_RESPONSE_H
#define GW_HTTP_RESPONSE_H

#include <stddef.h>

#include "http/http_int.h"

struct gw_answer;
struct gw_call;

/* Queues body (taken) with status and content type; adds the request id. */
enum MHD_Result gw_http_send(struct gw_req *r, int status, const char *ctype,
                             char *body, size_t len);
/* A refusal before the FHIR layer runs: an OperationOutcome with rc's
 * status, in gw_http_refusal_format. */
enum MHD_Result gw_http_refuse(struct gw_req *r, gw_rc rc, const char *detail);
/* The format a refusal before the FHIR routes answers in: _format, else
 * Accept, else the request body's Content-Type; JSON when none names one
 * we offer. */
enum gw_fhir_format gw_http_refusal_format(struct gw_req *r);

/* The FHIR format a media type (or "json"/"xml") names; SNIFF when none
 * we take. */
enum gw_fhir_format gw_http_format_of_mime(const char *m, size_t n);
/* The format a Content-Type names; SNIFF when none we take. */
enum gw_fhir_format gw_http_content_format(const char *ct);
/* From Accept: the format we offer with the highest q (the first listed
 * on a tie; q=0 or a fhirVersion other than 4.0 rules a type out); SNIFF
 * if the best is a wildcard; -1 when it accepts nothing we offer. */
int gw_http_accept_format(const char *acc);
/* _format: a media type or json/xml, with parameters (fhirVersion must
 * be 4.0 when given): the format, -1 when none we offer, -2 when another
 * FHIR version is asked for. */
int gw_http_format_param(const char *v);
/* The Content-Type of a FHIR body in format f. */
const char *gw_http_fhir_mime(enum gw_fhir_format f);

/* Sends a pipeline answer in r->out_fmt (no body for a success under
 * Prefer: return=minimal), with Retry-After, ETag, Last-Modified and
 * Location as it says; counts a failed case look-up. Releases a. */
enum MHD_Result gw_fhir_send_answer(struct gw_req *r, struct gw_answer *a,
                                    int minimal);
/*
 * Work whose write is queued with the store, its connection suspended
 * meanwhile (no thread waits): an answer whose audit records commit first
 * (gw_answer.audit: gw_fhir_send_answer holds it), a submission (below,
 * and the SOAP front's). gw_http_park_begin
 * before the work is handed on with gw_http_wake(r) as its completion;
 * gw_http_park_cancel when it could not be (wake never runs); else
 * gw_http_park, which suspends the connection until wake (or, while the
 * server stops, waits here) and then calls resume(r, parked) to answer;
 * for a request that ends before, with r->gone set: every sender
 * (gw_fhir_send_answer, the SOAP front's) then lets its answer go.
 */
void gw_http_park_begin(struct gw_req *r);
void gw_http_park_cancel(struct gw_req *r);
void gw_http_wake(void *r);
enum MHD_Result gw_http_park(struct gw_req *r,
                             enum MHD_Result (*resume)(struct gw_req *r,
                                                       void *parked),
                             void *parked);
/* Calls r->resume once (on_request, on_completed). */
enum MHD_Result gw_http_resume(struct gw_req *r, int gone);
/* $process-message this way: the message is checked here and its write
 * queued; its answer is sent once the write is done. */
enum MHD_Result gw_http_submit(struct gw_req *r, const struct gw_call *c,
                               long if_match, int minimal);
/* Answers rc as an OperationOutcome naming path and detail. */
enum MHD_Result gw_fhir_fail(struct gw_req *r, gw_rc rc, const char *path,
                             const char *detail);
/* The same with HTTP status `status` instead of rc's (0: rc's), e.g. 405
 * for a method the route does not take. */
enum MHD_Result gw_fhir_fail_status(struct gw_req *r, gw_rc rc, int status,
                                    const char *path, const char *detail);

#endif
