/*
 * cmd_check_config.c - `klasgw check-config`: load, check everything
 * serve needs, print. serve runs the same checks (gw_cli_check_config)
 * before it touches the store.
 *
 * Beyond config/check.c (addresses, TLS files, URLs, clients, folders),
 * the files of the data folder are loaded as serve loads them (the XSD,
 * the OperationDefinitions, every stylesheet, the SOAP Responder schemas, LV's
 * mapping) and freed, and the audit key is read and wiped. The store is never
 * opened: a check must not create, migrate or purge it. serve keeps the schema
 * and the views the check compiled (the SOAP front and LV are made again: they
 * need the pipeline and the store, which the check must not open).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "config/check.h"
#include "config/tls.h"
#include "core/log.h"
#include "fhir/fhir.h"
#include "http/server.h"
#include "map/view.h"
#include "outbound/lv.h"
#include "soap/soap.h"
#include "store/store.h"
#include "validate/validate.h"

static void
print_problem(void *ctx, enum gw_check_level level, const char *key,
              const char *why)
{
    int serving = *(const int *)ctx;

    if (serving) {
        if (level == GW_CHECK_FAIL)
            gw_log_err("event=config_invalid key=%s detail=%s", key,
                       gw_log_quote(why));
        else
            gw_log_warn("event=config_warning key=%s detail=%s", key,
                        gw_log_quote(why));
    }
    if (level == GW_CHECK_FAIL || !serving)
        fprintf(stderr, "klasgw: configuration: %s%s: %s\n",
                level == GW_CHECK_WARN ? "warning: " : "", key, why);
}

void
gw_cli_limits(const struct gw_config *cfg, struct gw_fhir_limits *lim)
{
    lim->max_bytes = (size_t)cfg->server_max_body_bytes;
    lim->max_depth = (int)cfg->xml_max_depth;
    lim->max_attributes = (int)cfg->xml_max_attributes;
    lim->max_string = (size_t)cfg->xml_max_string_bytes;
}

gw_rc
gw_cli_soap_new(const struct gw_config *cfg, const char *wsdl_dir,
                const char *xslt_dir, struct gw_pipeline *pl,
                struct gw_soap **out, struct gw_err *err)
{
    struct gw_soap_opts o;

    memset(&o, 0, sizeof(o));
    o.wsdl_dir = wsdl_dir;
    o.xslt_dir = xslt_dir;
    o.pipeline = pl;
    gw_cli_limits(cfg, &o.limits);
    return gw_soap_new(&o, out, err);
}

gw_rc
gw_cli_lv_new(const struct gw_config *cfg, const char *wsdl_dir,
              const char *xslt_dir, const struct gw_tls_client *tls,
              struct gw_store *st, struct gw_lv **out, struct gw_err *err)
{
    struct gw_lv_opts o;

    memset(&o, 0, sizeof(o));
    o.peer.url = cfg->lv_url;
    o.peer.logical_address = cfg->lv_logical_address;
    o.peer.timeout_ms = cfg->lv_timeout_ms;
    o.peer.tls = tls;
    o.store = st;
    o.wsdl_dir = wsdl_dir;
    o.xslt_dir = xslt_dir;
    return gw_lv_new(&o, out, err);
}

/* The data folder's files, loaded as serve loads them, then freed (the
 * schema and the views handed to keep instead, when not NULL). */
static void
check_data_files(const struct gw_config *cfg, struct gw_check_report *rep,
                 struct gw_cli_loaded *keep)
{
    struct gw_validator *validator = NULL;
    struct gw_views *views = NULL;
    struct gw_soap *soap = NULL;
    struct gw_lv *lv = NULL;
    struct gw_tls_client tls;
    char xsd[1024], wsdl[1024], xslt[1024], prof[1024];
    struct gw_err err;

    if (gw_config_data_path(cfg, "fhir-profiles/xsd/fhir-klas.xsd", xsd,
                            sizeof(xsd)) != GW_OK ||
        gw_config_data_path(cfg, "fhir-profiles", prof, sizeof(prof)) !=
            GW_OK ||
        gw_config_data_path(cfg, "wsdl", wsdl, sizeof(wsdl)) != GW_OK ||
        gw_config_data_path(cfg, "xslt", xslt, sizeof(xslt)) != GW_OK) {
        gw_check_problem(rep, GW_CHECK_FAIL, "paths.data_dir",
                         "the path is too long");
        return;
    }
    gw_fhir_init();
    gw_err_clear(&err);
    if (gw_validator_new(xsd, &validator, &err) != GW_OK)
        gw_check_problem(rep, GW_CHECK_FAIL, "paths.data_dir",
                         "fhir-profiles: %s", err.detail);
    gw_err_clear(&err);
    if (gw_conformance_load(prof, &err) != GW_OK)
        gw_check_problem(rep, GW_CHECK_FAIL, "paths.data_dir",
                         "fhir-profiles: %s", err.detail);
    gw_err_clear(&err);
    if (gw_views_new(xslt, &views, &err) != GW_OK)
        gw_check_problem(rep, GW_CHECK_FAIL, "paths.data_dir", "xslt: %s",
                         err.detail);
    gw_err_clear(&err);
    if (gw_cli_soap_new(cfg, wsdl, xslt, NULL, &soap, &err) != GW_OK)
        gw_check_problem(rep, GW_CHECK_FAIL, "paths.data_dir",
                         "wsdl, xslt (SOAP): %s", err.detail);
    gw_err_clear(&err);
    if (cfg->lv_url[0] != '\0' &&
        gw_tls_client_get(cfg, "lv", &tls, &err) == GW_OK &&
        gw_cli_lv_new(cfg, wsdl, xslt, &tls, NULL, &lv, &err) != GW_OK)
        gw_check_problem(rep, GW_CHECK_FAIL, "paths.data_dir",
                         "wsdl, xslt (LV): %s", err.detail);
    gw_lv_free(lv);
    gw_soap_free(soap);
    if (keep != NULL) {
        keep->validator = validator;
        keep->views = views;
        return; /* and the OperationDefinitions, until serve ends */
    }
    gw_conformance_unload();
    gw_views_free(views);
    gw_validator_free(validator);
}

int
gw_cli_check_config(const struct gw_config *cfg, struct gw_cli_loaded *keep)
{
    struct gw_check_report rep;
    struct gw_err err;
    int keyed = 0, serving = keep != NULL;

    memset(&rep, 0, sizeof(rep));
    rep.out = print_problem;
    rep.ctx = &serving;
    rep.serving = serving;
    rep.now = time(NULL);
    /* The data files are loaded only when their folders are there: one
     * clear message instead of one per file. */
    if (gw_config_check_all(cfg, &rep) == GW_OK || rep.data_dir_ok)
        check_data_files(cfg, &rep, keep);
    gw_err_clear(&err);
    if (gw_audit_key_load(cfg->audit_key_file, &keyed, &err) != GW_OK)
        gw_check_problem(&rep, GW_CHECK_FAIL, "audit.key_file", "%s",
                         err.detail);
    else if (!keyed && !cfg->server_plain_http)
        gw_check_problem(&rep, GW_CHECK_FAIL, "audit.key_file",
                         "required unless server.plain_http = true");
    gw_audit_key_clear();
    gw_err_clear(&err);
    if (strcmp(cfg->store_backend, "postgresql") == 0 &&
        gw_store_dsn_check(cfg->store_dsn, &err) != GW_OK)
        gw_check_problem(&rep, GW_CHECK_FAIL, "store.dsn", "%s", err.detail);
    return rep.failures;
}

int
gw_cmd_check_config(struct gw_cli *cli, int argc, char **argv)
{
    int c, keys = 0, failures;

    while ((c = gw_cli_getopt("check-config", argc, argv)) != -1) {
        if (c != 'k')
            return gw_cli_usage("check-config");
        keys = 1;
    }
    if (gw_cli_extra_arg("check-config", argc, argv, optind))
        return GW_EXIT_USAGE;
    if (keys) {
        gw_config_print_keys(stdout);
        return GW_EXIT_OK;
    }
    if (gw_cli_load_config(cli) != GW_OK)
        return GW_EXIT_FAIL;
    failures = gw_cli_check_config(&cli->cfg, NULL);
    if (failures > 0) {
        fprintf(stderr,
                "klasgw: configuration: %d problem%s: serve would refuse "
                "to start\n",
                failures, failures == 1 ? "" : "s");
        return GW_EXIT_FAIL;
    }
    gw_config_print(&cli->cfg, stdout);
    printf("\n# configuration ok\n");
    return GW_EXIT_OK;
}
