/*
 * config.h - the gateway's configuration: read once from an INI file
 * (adapter/klasgw.conf.example documents every key), then overridden from
 * the environment, then checked; read-only afterwards.
 *
 * Every key is one row of GW_CONFIG_KEYS: section, key, type (a number's
 * with its range), struct field, default, and the one-line help that
 * check-config prints (the five TLS keys of a peer called out to are one
 * GW_CONFIG_PEER_TLS row). Environment overrides are named
 * KLASGW_<SECTION>_<KEY> in capitals, e.g. KLASGW_SERVER_PORT=9090. To add
 * a key: add a row here and document it in the example file (a unit test
 * checks that both agree).
 *
 * The [clients] section is a list, not fixed keys: each line maps one client
 * certificate to a role, see gw_config_client.
 *
 * A text value that starts with "${CREDENTIALS_DIRECTORY}/" names a file in
 * the folder systemd gives the unit's credentials (LoadCredential=): e.g.
 * server.tls_key = ${CREDENTIALS_DIRECTORY}/server.key. Loading fails,
 * naming the key, when that variable is not set.
 */
#ifndef GW_CONFIG_CONFIG_H
#define GW_CONFIG_CONFIG_H

#include <stdio.h>

#include "core/err.h"

enum gw_config_type { GW_CFG_STR, GW_CFG_INT, GW_CFG_BOOL };

/* The TLS keys of a peer the gateway calls out to: section sec, who the
 * help names. */
#define GW_CONFIG_PEER_TLS(XX, sec, who)                                      \
    XX(sec, tls_cert, STR, sec##_tls_cert, "",                                 \
       "PEM file with the gateway's client certificate (chain) presented "     \
       "to " who " (empty: none); re-read on SIGHUP")                          \
    XX(sec, tls_key, STR, sec##_tls_key, "",                                   \
       "PEM file with the private key of " #sec ".tls_cert")                   \
    XX(sec, tls_ca, STR, sec##_tls_ca, "",                                     \
       "PEM file with the CAs " who "'s server certificate must chain to "     \
       "(empty: the system's CAs)")                                            \
    XX(sec, tls_verify_host, BOOL, sec##_tls_verify_host, "true",              \
       "the server certificate must name the host of the URL")                 \
    XX(sec, tls_min_version, STR, sec##_tls_min_version, "1.2",                \
       "lowest TLS version offered to " who ": 1.2 or 1.3")

/* XX(section, key, type, field, default (as text), help). type is STR,
 * BOOL, or INT(min, max): a whole number that loading refuses outside
 * min..max, naming the key. */
#define GW_CONFIG_KEYS(XX)                                                    \
    XX(server, listen, STR, server_listen, "127.0.0.1",                        \
       "address to listen on (0.0.0.0 for every interface)")                  \
    XX(server, port, INT(0, 65535), server_port, "8080",                       \
       "TCP port of the HTTP front")                                           \
    XX(server, threads, INT(1, 256), server_threads, "8",                      \
       "request threads in the pool")                                          \
    XX(server, plain_http, BOOL, server_plain_http, "false",                   \
       "serve plain HTTP without TLS (demo and tests only; logged as a "       \
       "warning)")                                                             \
    XX(server, tls_cert, STR, server_tls_cert, "",                             \
       "PEM file with the server certificate chain")                           \
    XX(server, tls_key, STR, server_tls_key, "",                               \
       "PEM file with the server private key")                                 \
    XX(server, tls_client_ca, STR, server_tls_client_ca, "",                   \
       "PEM file with the CAs that client certificates must chain to; "       \
       "re-read on SIGHUP")                                                     \
    XX(server, tls_crl, STR, server_tls_crl, "",                               \
       "PEM file with the CRLs of the client CAs: a revoked client "           \
       "certificate is refused; re-read on SIGHUP (empty: no CRL)")            \
    XX(server, lookup_fail_limit, INT(0, 1000000),                             \
       server_lookup_fail_limit, "30",                                         \
       "failed case look-ups (404, empty look-up) one client may make per "    \
       "lookup_fail_window_s before it gets 429 (0: no limit)")                \
    XX(server, lookup_fail_window_s, INT(1, 86400),                            \
       server_lookup_fail_window_s, "60",                                      \
       "the window of lookup_fail_limit, in seconds")                          \
    XX(server, max_body_bytes, INT(1024, 1L << 30), server_max_body_bytes,     \
       "41943040", "largest request body accepted (413 above)")                \
    XX(server, max_header_bytes, INT(1024, 1L << 20), server_max_header_bytes, \
       "16384", "largest request header block accepted")                       \
    XX(server, max_connections, INT(1, 65536), server_max_connections, "512",  \
       "concurrent connections before new ones are refused")                   \
    XX(server, connection_timeout_s, INT(1, 3600),                             \
       server_connection_timeout_s, "30",                                      \
       "idle or slow connections are closed after this many seconds")          \
    XX(server, max_connections_per_ip, INT(1, 65536),                          \
       server_max_connections_per_ip, "64",                                    \
       "concurrent connections from one client address")                       \
    XX(server, header_timeout_s, INT(1, 3600), server_header_timeout_s, "10",  \
       "a request line and headers must arrive within this many seconds")      \
    XX(server, max_url_bytes, INT(256, 1L << 20), server_max_url_bytes,        \
       "8192", "longest request target (path and query) accepted (414 above)") \
    XX(server, max_query_params, INT(1, 100000), server_max_query_params,      \
       "64", "most query parameters accepted in one request (414 above)")      \
    XX(server, trusted_proxies, STR, server_trusted_proxies, "",              \
       "addresses or CIDR ranges (127.0.0.0/8, ::1/128) of TLS-terminating " \
       "proxies whose x-vp-auth-cert and X-Forwarded-For headers are "      \
       "believed, separated by spaces or commas (empty: none; from anyone "  \
       "else those headers are refused)")                                    \
    XX(server, trusted_platforms, STR, server_trusted_platforms, "",          \
       "labels of [clients] lines that are service platforms (NTjP), "      \
       "separated by spaces or commas: only their SOAP calls may pass the "  \
       "original consumer's HSA-id in x-rivta-original-serviceconsumer-"    \
       "hsaid (audited, never used to authorise; empty: none)")              \
    XX(store, path, STR, store_path, "./var/klasgw.db",                        \
       "SQLite database file (created with its folder if missing)")            \
    XX(store, batch_max, INT(1, 10000), store_batch_max, "256",                \
       "most submissions committed together in one transaction")               \
    XX(store, busy_timeout_ms, INT(0, 600000), store_busy_timeout_ms, "5000",  \
       "how long a reader waits on a locked database")                         \
    XX(store, backend, STR, store_backend, "sqlite",                           \
       "sqlite (one embedded file, store.path) or postgresql (store.dsn)")     \
    XX(store, dsn, STR, store_dsn, "",                                         \
       "postgresql: libpq connection string, e.g. \"host=db dbname=klasgw "   \
       "user=klasgw\" (a password belongs in ~/.pgpass, not here)")           \
    XX(log, level, STR, log_level, "info", "debug, info, warn, error or off")  \
    XX(xml, max_depth, INT(8, 1000), xml_max_depth, "64",                      \
       "deepest element nesting accepted in XML and JSON input")               \
    XX(xml, max_attributes, INT(4, 1000), xml_max_attributes, "32",            \
       "most attributes accepted on one XML element")                          \
    XX(xml, max_string_bytes, INT(1024, 1L << 30), xml_max_string_bytes,       \
       "8388608", "longest single text or attribute value accepted")           \
    XX(paths, data_dir, STR, paths_data_dir, "",                               \
       "folder holding fhir-profiles/, wsdl/ and xslt/ (empty: the installed " \
       "one, ../share/klasgw from the binary; the source tree when run from "  \
       "its build folder)")                                                    \
    XX(outbox, max_attempts, INT(1, 1000), outbox_max_attempts, "12",          \
       "deliveries tried before an item becomes a dead letter")                \
    XX(outbox, backoff_base_ms, INT(1, 86400000), outbox_backoff_base_ms,      \
       "1000", "first retry delay; doubled each attempt, with jitter")         \
    XX(outbox, backoff_cap_ms, INT(1, 86400000), outbox_backoff_cap_ms,        \
       "600000", "longest retry delay")                                        \
    XX(outbox, per_peer_concurrency, INT(1, 256), outbox_per_peer_concurrency, \
       "4", "deliveries in flight at once to one peer")                        \
    XX(outbox, lease_s, INT(1, 86400), outbox_lease_s, "60",                   \
       "a claimed delivery is another worker's to take over only after this "  \
       "lease (raised to twice the peer's timeout)")                           \
    XX(outbox, probe_interval_ms, INT(10, 3600000),                            \
       outbox_probe_interval_ms, "2000",                                       \
       "while a peer is down, one item is tried this often; when it gets "     \
       "through, everything waiting for the peer is due at once")              \
    XX(outbox, subscription_max_failures, INT(1, 1000),                        \
       outbox_subscription_max_failures, "5",                                  \
       "failed notifications in a row that put a Subscription in error")       \
    XX(retention, motivation_months, INT(1, 120),                              \
       retention_motivation_months, "12",                                      \
       "a motivation without application is purged this long after creation")  \
    XX(retention, decided_months, INT(1, 240), retention_decided_months, "36", \
       "a decided case is purged this long after the decision")                \
    XX(retention, purge_hour_utc, INT(0, 23), retention_purge_hour_utc, "2",   \
       "hour of the day (UTC) at which the daily purge runs")                  \
    XX(hsa, url, STR, hsa_url, "http://127.0.0.1:8081/hsa",                    \
       "endpoint of the HSA credentials service (empty: no HSA check, "        \
       "tests only)")                                                          \
    XX(hsa, logical_address, STR, hsa_logical_address, "SE165565594230-1000", \
       "RIV-TA LogicalAddress header of calls to HSA")                         \
    XX(hsa, timeout_ms, INT(10, 600000), hsa_timeout_ms, "3000",               \
       "HSA call timeout; past it a fresh cache entry or 503 answers")         \
    XX(hsa, cache_ttl_s, INT(0, 604800), hsa_cache_ttl_s, "3600",              \
       "how long an HSA answer is trusted")                                    \
    XX(hsa, beredskap_orgs, STR, hsa_beredskap_orgs,                           \
       "SE2021006545-0001 SE2021004078-0001 SE2021000555-0001",                \
       "organisation HSA-ids whose prescribers may motivate beredskap "        \
       "licences (Folkhälsomyndigheten, LV Giftinformationscentralen, "        \
       "Socialstyrelsen), separated by spaces")                                \
    GW_CONFIG_PEER_TLS(XX, hsa, "HSA")                                     \
    XX(lv, url, STR, lv_url, "http://127.0.0.1:8082/lv",                       \
       "endpoint of Läkemedelsverket's case system (empty: items for LV "      \
       "wait in the outbox)")                                                  \
    XX(lv, logical_address, STR, lv_logical_address, "SE2021004078-LISY",     \
       "RIV-TA LogicalAddress header of calls to LV")                          \
    XX(lv, timeout_ms, INT(10, 600000), lv_timeout_ms, "10000",                \
       "LV call timeout")                                                      \
    GW_CONFIG_PEER_TLS(XX, lv, "LV")                                       \
    XX(webhooks, allowed_hosts, STR, webhooks_allowed_hosts, "",               \
       "hosts each pharmacy may name in a Subscription endpoint: GLN=host "   \
       "entries separated by spaces (empty: none)")                           \
    XX(webhooks, allow_private, STR, webhooks_allow_private, "",               \
       "loopback, link-local, private or multicast ranges webhooks may "      \
       "reach after all, as CIDRs separated by spaces (tests: 127.0.0.0/8)")  \
    XX(webhooks, allow_http, BOOL, webhooks_allow_http, "false",               \
       "accept plain http:// endpoints (demo and tests only)")                \
    GW_CONFIG_PEER_TLS(XX, webhooks, "pharmacy webhooks")                  \
    XX(webhooks, base_url, STR, webhooks_base_url,                            \
       "https://klasgw.example/fhir",                                         \
       "the gateway's FHIR base as pharmacies reach it: the fullUrl of the "  \
       "Task each notification names (no trailing /)")                       \
    XX(webhooks, heartbeat_min_s, INT(1, 86400), webhooks_heartbeat_min_s,     \
       "60",                                                                   \
       "shortest heartbeat period a Subscription may ask for, in seconds")     \
    XX(audit, key_file, STR, audit_key_file, "",                               \
       "file with the audit chain's HMAC key, outside the database's reach "  \
       "(empty: $CREDENTIALS_DIRECTORY/audit-key if set)")                   \
    XX(audit, durable_reads, BOOL, audit_durable_reads, "true",              \
       "a read of a case is answered only once its audit record is on disk "  \
       "(false: queued for the next commit, lost in a crash before it)")

/*
 * One [clients] line: `<label> = <role> <match> [<gln>]`. The label names
 * the client in logs; match is `serial:<subject serialNumber or HSA-id>` or
 * `sha256:<hex fingerprint of the certificate>`; role is ehr, pharmacy
 * (needs its GLN), lv or operator.
 */
struct gw_config_client {
    char *label;
    char *match;
    char *role;
    char *gln; /* NULL unless pharmacy */
};

struct gw_config {
#define GW_CFG_FIELD_STR char *
#define GW_CFG_FIELD_INT(min, max) long
#define GW_CFG_FIELD_BOOL int
#define GW_CFG_FIELD(sec, key, type, field, def, help) GW_CFG_FIELD_##type field;
    GW_CONFIG_KEYS(GW_CFG_FIELD)
#undef GW_CFG_FIELD
    struct gw_config_client *clients;
    size_t nclients;
    char *source; /* the file read, or "(defaults)"; for logs */
};

/* Fills cfg with the defaults. Free with gw_config_release. */
gw_rc gw_config_init(struct gw_config *cfg) GW_WARN_UNUSED;
/* Reads path (NULL: defaults only), then the environment, then checks.
 * On failure err names the key ("server.port") and cfg keeps defaults or
 * partial values; release it either way. */
gw_rc gw_config_load(struct gw_config *cfg, const char *path,
                     struct gw_err *err) GW_WARN_UNUSED;
void gw_config_release(struct gw_config *cfg);
/* What serving needs beyond valid values: TLS material unless plain HTTP
 * is asked for, and plain HTTP only on a loopback address (anyone who
 * reaches it could name any client in X-Klasgw-Client). Commands that do
 * not serve skip it. */
gw_rc gw_config_check_serve(const struct gw_config *cfg, struct gw_err *err)
    GW_WARN_UNUSED;
/* 1 when addr (a numeric IPv4 or IPv6 address) is a loopback address. */
int gw_config_is_loopback(const char *addr);
/* Prints every key with its value, as INI, for check-config. */
void gw_config_print(const struct gw_config *cfg, FILE *out);
/* Prints the table: section.key, default, a number's range, help (for
 * --help texts). */
void gw_config_print_keys(FILE *out);
/* Resolves a data file (e.g. "fhir-profiles/xsd/fhir-klas.xsd") against
 * paths.data_dir into buf; when that is empty, against the installed data
 * beside the binary (../share/klasgw from its folder), or the source tree
 * for a binary in the build folder it was built in. */
gw_rc gw_config_data_path(const struct gw_config *cfg, const char *rel,
                          char *buf, size_t size) GW_WARN_UNUSED;

#endif
