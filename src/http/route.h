/*
 * route.h - the routes of the HTTP front as one table (route.c): method,
 * path pattern, who may call, the front that serves it, the FHIR action,
 * the metrics label and the CapabilityStatement entry. A request is
 * matched once, when its head arrives; what the pattern captured travels
 * with it (struct gw_req.args), so no handler parses the path again.
 *
 * Patterns are literal text with captures, each one path segment:
 *   {type}  a resource type, [A-Za-z]{1,39}
 *   {id}    a resource id, [A-Za-z0-9.-]{1,47}
 *   {num}   a referensnummer, [0-9]{1,15}
 *   {vid}   a version, a positive decimal
 * and '*' (any text, '/' too) in the fallback rows at the end.
 *
 * Matching: the first exact row whose pattern and method fit; a path an
 * exact row knows, asked with another method, is 405; else the first
 * fallback row whose pattern fits (404 with its own detail, or a front
 * such as /soap/ that sorts methods out itself).
 */
#ifndef GW_HTTP_ROUTE_H
#define GW_HTTP_ROUTE_H

#include <stddef.h>

#include "http/http_int.h"

struct gw_answer;
struct gw_call;
struct gw_pipeline;

/* Row flags. */
#define GW_RT_NO_AUTH 1u    /* any method, before authentication */
#define GW_RT_PUBLIC_GET 2u /* GET before authentication (contracts) */
#define GW_RT_OPERATOR 4u   /* operators only */
#define GW_RT_RESERVE 8u    /* also on connections past max_connections */
#define GW_RT_NO_BODY 16u   /* a POST without a FHIR body */

/* A FHIR action, after the common FHIR preamble (formats, look-up limit,
 * body checks) of gw_fhir_api. */
typedef enum MHD_Result (*gw_fhir_action)(struct gw_req *r,
                                          const struct gw_call *c);

/* The pipeline operations a row names for the actions gw_fhir_on_id and
 * gw_fhir_on_body: on the resource the path names (r->args.id), or on
 * the request body. */
typedef void (*gw_fhir_on_id_fn)(struct gw_pipeline *pl,
                                 const struct gw_call *c, const char *id,
                                 struct gw_answer *a);
typedef void (*gw_fhir_on_body_fn)(struct gw_pipeline *pl,
                                   const struct gw_call *c, const char *body,
                                   size_t len, struct gw_answer *a);

struct gw_route_def {
    enum gw_route route; /* metrics and log label */
    const char *method;  /* NULL: any; "GET" takes HEAD too */
    const char *pattern;
    unsigned flags;
    enum MHD_Result (*serve)(struct gw_req *r); /* the front */
    gw_fhir_action fhir;   /* with serve == gw_fhir_api; NULL: not_found */
    const char *not_found; /* fallback rows: the 404's detail */
    /* CapabilityStatement rest.resource.interaction (cap_type, code) or,
     * with cap_type NULL and cap_code "$name", rest.operation; cap_type
     * "*" is every type the CapabilityStatement lists for reads. NULL
     * cap_code: not advertised. */
    const char *cap_type, *cap_code;
    /* The operation fhir runs when it is gw_fhir_on_id or
     * gw_fhir_on_body; NULL (left out) in every other row. */
    gw_fhir_on_id_fn on_id;
    gw_fhir_on_body_fn on_body;
};

/* Matches method and url against the table: sets r->def, r->args and
 * r->route, and r->method_ok (0: 405). Always finds a row (the last one
 * takes everything). */
void gw_route_match(struct gw_req *r, const char *method, const char *url);

/* The methods the exact rows take at url, as an Allow header value
 * ("GET, HEAD, DELETE") into buf; the length, 0 when no exact row has
 * the path. */
size_t gw_route_allow(const char *url, char *buf, size_t size);

/* The table itself, for the CapabilityStatement check (tests). */
const struct gw_route_def *gw_route_table(size_t *n);

/* The resource types the CapabilityStatement lists, and the search
 * parameters of their search rows (route.c); the interactions and
 * operations come from the rows' cap_ columns. */
struct gw_cap_resource {
    const char *type, *profile, *documentation; /* NULL: none */
};
struct gw_cap_param {
    const char *type, *name, *ptype, *definition, *documentation;
};
const struct gw_cap_resource *gw_route_cap_resources(size_t *n);
const struct gw_cap_param *gw_route_cap_params(size_t *n);

/* The CapabilityStatement, built from the tables above (fhir_api.c).
 * Caller frees *out with gw_fhir_doc_free. */
gw_rc gw_http_capability(struct gw_fhir_doc **out) GW_WARN_UNUSED;

/* The fronts the table names. */
enum MHD_Result gw_fhir_api(struct gw_req *r);     /* fhir_api.c */
enum MHD_Result gw_soap_front(struct gw_req *r);   /* soap_front.c */
/* A refusal on a SOAP route, as a SOAP fault (soap_front.c). */
enum MHD_Result gw_soap_front_refuse(struct gw_req *r, gw_rc rc,
                                     const char *detail);
enum MHD_Result gw_http_metrics(struct gw_req *r); /* metrics.c */
enum MHD_Result gw_http_health(struct gw_req *r);  /* metrics.c */
enum MHD_Result gw_http_console(struct gw_req *r); /* console.c */

/* The FHIR actions (fhir_api.c). The row's on_id operation on the
 * resource the path names, answered in full (Prefer does not apply to
 * it); the row's on_body operation on the request body, which honours
 * Prefer: return. */
enum MHD_Result gw_fhir_on_id(struct gw_req *r, const struct gw_call *c);
enum MHD_Result gw_fhir_on_body(struct gw_req *r, const struct gw_call *c);
enum MHD_Result gw_fhir_metadata(struct gw_req *r, const struct gw_call *c);
enum MHD_Result gw_fhir_process(struct gw_req *r, const struct gw_call *c);
enum MHD_Result gw_fhir_validate(struct gw_req *r, const struct gw_call *c);
enum MHD_Result gw_fhir_task_search(struct gw_req *r, const struct gw_call *c);
enum MHD_Result gw_fhir_read(struct gw_req *r, const struct gw_call *c);
/* Subscription $events (subs.c). */
enum MHD_Result gw_fhir_sub_events(struct gw_req *r, const struct gw_call *c);
enum MHD_Result gw_fhir_check_licence(struct gw_req *r,
                                      const struct gw_call *c);
enum MHD_Result gw_fhir_renew_consent(struct gw_req *r,
                                      const struct gw_call *c);
enum MHD_Result gw_fhir_product_search(struct gw_req *r,
                                       const struct gw_call *c);
enum MHD_Result gw_fhir_pharmacy_search(struct gw_req *r,
                                        const struct gw_call *c);
enum MHD_Result gw_fhir_print(struct gw_req *r, const struct gw_call *c);
enum MHD_Result gw_fhir_conformance(struct gw_req *r, const struct gw_call *c);

/* conformance.c: the OperationDefinitions (loaded from fhir-profiles/),
 * SearchParameters and MessageDefinitions (built from the route and
 * event tables) published under /fhir/. type is the resource type; GW_ENOTFOUND
 * for an unknown type or id. A search (url NULL: all) is a searchset Bundle
 * whose fullUrls start with base. */
gw_rc gw_conformance_read(const char *type, const char *id,
                          struct gw_fhir_doc **out) GW_WARN_UNUSED;
gw_rc gw_conformance_search(const char *type, const char *url,
                            const char *base, struct gw_fhir_doc **out)
    GW_WARN_UNUSED;
/* How many of type are published, and the id of the i-th (NULL past). */
size_t gw_conformance_count(const char *type);
const char *gw_conformance_id(const char *type, size_t i);
/* The canonical of an operation another specification defines ("$validate",
 * "$status" ...), or NULL for the gateway's own ones. */
const char *gw_conformance_op_canonical(const char *code);
/* The resource type an instance operation's route is served on
 * ("/fhir/Subscription/{id}/$status": "Subscription"), into buf; NULL for
 * an operation at the system or type level. */
const char *gw_conformance_op_type(const struct gw_route_def *d, char *buf,
                                   size_t size);

#endif
