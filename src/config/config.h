/*
 * config.h - the gateway's configuration: read once from an INI file
 * (adapter/klasgw.conf.example documents every key), then overridden from
 * the environment, then checked; read-only afterwards.
 *
 * Every key is one row of src/config/keys.tsv: section, key, type (a
 * number's with its range), default, and the one-line help that
 * check-config prints; the build makes GW_CONFIG_KEYS of it
 * (cmake/GwTable.cmake), and its field here is <section>_<key>.
 * Environment overrides are named KLASGW_<SECTION>_<KEY> in capitals, e.g.
 * KLASGW_SERVER_PORT=9090. To add a key: add a row there and document it
 * in the example file (a unit test checks that both agree).
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

/* GW_CONFIG_KEYS(X): X(section, key, type, min, max, default, help) per
 * row of keys.tsv; type is STR, BOOL or INT, min and max 0 but for INT,
 * default NULL when empty (the empty text). */
#include "config/keys_rows.h"

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
#define GW_CFG_FIELD_INT long
#define GW_CFG_FIELD_BOOL int
#define GW_CFG_FIELD(sec, key, type, min, max, def, help)                     \
    GW_CFG_FIELD_##type sec##_##key;
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
