/*
 * tls.h - the TLS material the configuration names, checked with GnuTLS:
 *
 *  - per outbound peer (hsa, lv, webhooks: one row of a table in tls.c)
 *    the client certificate and key the gateway presents, the CA bundle
 *    the peer's server certificate must chain to, host verification and
 *    the lowest TLS version (struct gw_tls_client, read by the HTTP
 *    client when it opens a connection);
 *  - checks of PEM files: readable, the certificate parses, the key
 *    matches it, a CA file holds certificates (check-config, start-up,
 *    SIGHUP);
 *  - the expiry time of every certificate in use, by label, for /metrics
 *    (klasgw_certificate_expiry_seconds), refreshed on each check.
 */
#ifndef GW_CONFIG_TLS_H
#define GW_CONFIG_TLS_H

#include <stdio.h>
#include <time.h>

#include "config/config.h"

struct gw_tls_client {
    const char *peer; /* "hsa", "lv", "webhooks": logs and metrics */
    const char *cert; /* client certificate chain (PEM); NULL: none */
    const char *key;  /* its private key (PEM) */
    const char *ca;   /* CAs for the server certificate; NULL: system's */
    int verify_host;  /* the server certificate must name the URL's host */
    int min_version;  /* 12 (TLS 1.2) or 13 */
};

/* The TLS settings of peer ("hsa", "lv" or "webhooks") as configured;
 * GW_ECONFIG naming the key when a value is not valid (a certificate
 * without its key, a version other than 1.2 or 1.3). Strings are cfg's. */
gw_rc gw_tls_client_get(const struct gw_config *cfg, const char *peer,
                        struct gw_tls_client *out,
                        struct gw_err *err) GW_WARN_UNUSED;

/* cert and key are readable, cert holds a certificate chain whose first
 * certificate matches key. *not_after (may be NULL): that certificate's
 * expiry. err names the key `field` (e.g. "lv.tls_cert"). */
gw_rc gw_tls_check_pair(const char *field, const char *cert, const char *key,
                        time_t *not_after, struct gw_err *err) GW_WARN_UNUSED;
/* path is readable and holds at least one certificate. */
gw_rc gw_tls_check_ca(const char *field, const char *path,
                      struct gw_err *err) GW_WARN_UNUSED;

/* Every TLS file of the configuration: the server's certificate, key and
 * client CA (unless plain_http), each peer's. Records each certificate's
 * expiry for gw_tls_expiry_print. Stops at the first failure. */
gw_rc gw_tls_check_config(const struct gw_config *cfg,
                          struct gw_err *err) GW_WARN_UNUSED;

/* Records the expiry of the certificate serving `label` (a Prometheus
 * label set, e.g. `use="server"` or `peer="lv"`). */
void gw_tls_expiry_set(const char *label, time_t not_after);
/* Calls out(ctx, label, not_after) for each recorded certificate (under
 * a lock: out must not call back in). */
void gw_tls_expiry_each(void (*out)(void *ctx, const char *label,
                                    time_t not_after),
                        void *ctx);

#endif
