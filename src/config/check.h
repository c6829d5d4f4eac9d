/*
 * check.h - what `serve` needs from its configuration, checked before
 * serve touches the store: `check-config` and the start of `serve` run
 * the same checks (cli/cmd_check_config.c adds the data folder's files
 * and the audit key, which need modules above config/).
 *
 * Checked here, each problem reported with the key it is about:
 *   server.listen   a numeric IPv4/IPv6 address this host can bind, on
 *                   server.port (bound and released at once)
 *   server.tls_*    readable, the certificate parses and matches its key,
 *                   not expired (a warning under 30 days), the client CA
 *                   and CRL readable; the same for hsa/lv/webhooks.tls_*
 *   hsa.url lv.url  http(s)://host[:port][/path] (empty: off)
 *   webhooks.*      allowed_hosts and allow_private parse
 *   clients         at least one
 *   paths.data_dir  a folder holding fhir-profiles/, wsdl/ and xslt/
 *   store.path      its folder exists (or can be made) and is writable;
 *                   the store itself is NOT opened, migrated or purged
 *
 * Nothing is kept: the bound socket is closed, the files are only read.
 */
#ifndef GW_CONFIG_CHECK_H
#define GW_CONFIG_CHECK_H

#include <time.h>

#include "config/config.h"

enum gw_check_level { GW_CHECK_WARN, GW_CHECK_FAIL };

/* Where problems go; counts what was reported. */
struct gw_check_report {
    void (*out)(void *ctx, enum gw_check_level level, const char *key,
                const char *why);
    void *ctx;
    int serving; /* serve's own check: a port in use is a failure (for
                    check-config beside a running serve, a warning) */
    time_t now;  /* certificate expiry is judged against it */
    int failures, warnings;
    int data_dir_ok; /* set: paths.data_dir holds the folders needed */
};

/* Certificates expiring within this many days are a warning. */
#define GW_CHECK_EXPIRY_WARN_DAYS 30

/* Reports one problem about key (printf-style why). */
void gw_check_problem(struct gw_check_report *rep, enum gw_check_level level,
                      const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Every check above; GW_ECONFIG when at least one failure was reported
 * (warnings alone: GW_OK). Does not stop at the first problem. */
gw_rc gw_config_check_all(const struct gw_config *cfg,
                          struct gw_check_report *rep) GW_WARN_UNUSED;

/* url is http:// or https://, a host name or address literal, an
 * optional port 1..65535 and path; no spaces, no user info. 1 if so, else
 * 0 with *why set to a static reason. */
int gw_config_url_ok(const char *url, const char **why);

#endif
