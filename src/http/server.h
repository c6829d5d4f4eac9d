/*
 * server.h - the one inbound HTTP front, on libmicrohttpd: REST/FHIR
 * (fhir_api.c), RIV-TA SOAP at /soap/ (soap_front.c), /healthz and
 * /metrics (metrics.c).
 *
 * A pool of server.threads threads serves up to server.max_connections
 * keep-alive connections; idle or slow ones are closed after
 * server.connection_timeout_s. Bodies over server.max_body_bytes get 413
 * before they are read; header blocks over server.max_header_bytes are
 * refused by libmicrohttpd.
 *
 * Callers authenticate with a client certificate (mutual TLS) that
 * chains to server.tls_client_ca, has extendedKeyUsage clientAuth, is not
 * revoked by server.tls_crl (re-read on SIGHUP) and [clients] maps to a
 * role; with server.plain_http (demo and tests only)
 * they name their [clients] match in the X-Klasgw-Client header instead.
 * The end user an EHR or pharmacy system acts for is asserted in
 * X-Klasgw-User (an HSA-id).
 *
 * gw_http_stop stops accepting, lets requests in flight finish (and
 * commit), then closes every connection.
 */
#ifndef GW_HTTP_SERVER_H
#define GW_HTTP_SERVER_H

#include "config/config.h"
#include "core/err.h"

struct gw_pipeline;
struct gw_store;
struct gw_fhir_doc;
struct gw_http;
struct gw_soap;

struct gw_http_opts {
    const struct gw_config *cfg;
    struct gw_pipeline *pipeline;
    struct gw_store *store;
    struct gw_soap *soap;                 /* /soap/...; NULL: off */
};

gw_rc gw_http_start(const struct gw_http_opts *o, struct gw_http **out,
                    struct gw_err *err) GW_WARN_UNUSED;
/* SIGHUP: re-reads server.tls_client_ca, the server certificate and
 * server.tls_crl, each kept as it was when its new file is bad (logged,
 * the first error returned). New client CAs apply from the next request
 * (and are named in the next handshakes); connections stay open. GW_OK
 * without TLS. */
gw_rc gw_http_reload(struct gw_http *h);
/* SIGHUP: fresh's [clients] table (the configuration file read again)
 * replaces the one in use from the next request, also on connections
 * already open; the look-up limits start afresh. Takes fresh (allocated,
 * loaded) on GW_OK; on failure (an empty table) the caller keeps it. */
gw_rc gw_http_reload_clients(struct gw_http *h, struct gw_config *fresh)
    GW_WARN_UNUSED;
/* Loads the OperationDefinition of each operation of our own (the route
 * table's "$" rows but those another specification defines) from dir,
 * the fhir-profiles folder: OperationDefinition-{code}.json, at most
 * 64 KiB, R4 JSON, with the id, url, code, resource, affectsState and
 * system/type/instance flags its row implies. Once at start (the
 * configuration check), before gw_http_start; GW_ECONFIG with
 * err->detail naming the file, and nothing loaded.
 * gw_conformance_unload frees them. */
gw_rc gw_conformance_load(const char *dir, struct gw_err *err) GW_WARN_UNUSED;
void gw_conformance_unload(void);
/* The port actually bound (server.port 0 picks a free one). */
int gw_http_port(const struct gw_http *h);
void gw_http_stop(struct gw_http *h);

#endif
