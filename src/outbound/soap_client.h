/*
 * soap_client.h - gSOAP client contexts for the gateway's SOAP peers (HSA,
 * LV) and the simulators' calls back: every call goes out through libcurl
 * (gSOAP's curl plugin) with the peer's timeout, and carries the RIV-TA
 * LogicalAddress header.
 *
 * A pool keeps idle contexts, each with its own curl handle, so
 * connections to the peer are reused across calls and threads never share
 * a context. A context that failed is reset before it is pooled again, so
 * a broken connection is never reused.
 */
#ifndef GW_OUTBOUND_SOAP_CLIENT_H
#define GW_OUTBOUND_SOAP_CLIENT_H

#include <stddef.h>

#include "core/err.h"

struct soap;
struct gw_soap_pool;
struct gw_tls_client;

struct gw_soap_pool_opts {
    const char *url;             /* endpoint, e.g. http://127.0.0.1:8081/hsa */
    long timeout_ms;             /* connect and whole-call timeout */
    const char *logical_address; /* RIV-TA LogicalAddress; NULL: dflt */
    const char *extra_headers;   /* "Name: value\r\n..." or NULL */
    const struct gw_tls_client *tls; /* https: client certificate, CAs,
                                        ...; NULL: defaults */
};

/* dflt: the peer's LogicalAddress when o names none (NULL: o names
 * one). */
gw_rc gw_soap_pool_new(const struct gw_soap_pool_opts *o, const char *dflt,
                       struct gw_soap_pool **out) GW_WARN_UNUSED;
/* Frees the pool and its idle contexts (none may be out). */
void gw_soap_pool_free(struct gw_soap_pool *p);
const char *gw_soap_pool_url(const struct gw_soap_pool *p);

/* A context ready for one call (header set, timeouts set); NULL when out
 * of memory. Give it back with gw_soap_pool_put. */
struct soap *gw_soap_pool_get(struct gw_soap_pool *p);
/* Before a further call on the same context: gSOAP consumes the SOAP
 * header and the extra HTTP headers with each call, so set them again. */
gw_rc gw_soap_pool_rearm(struct gw_soap_pool *p, struct soap *s) GW_WARN_UNUSED;
/* Frees what the call allocated; ok = 0 drops the context's connection. */
void gw_soap_pool_put(struct gw_soap_pool *p, struct soap *s, int ok);

/* What a failed call amounts to, without personal data. */
struct gw_soap_failure {
    int http_status; /* 0: no HTTP answer (connect failure, timeout) */
    int timeout;     /* the call timed out */
    int fault;       /* the peer answered with a SOAP fault */
    char why[320];
};
void gw_soap_describe(struct soap *s, struct gw_soap_failure *f);

#endif
