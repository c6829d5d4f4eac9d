/*
 * store_cli.c - see store_cli.h.
 */
#include "cli/store_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "core/log.h"
#include "store/store.h"

static gw_rc
open_store(struct gw_cli *cli, int with_writer, int read_only,
           struct gw_store **out)
{
    struct gw_store_opts o = {0};
    struct gw_err err;
    gw_rc rc;

    *out = NULL;
    int keyed;

    rc = gw_cli_load_config(cli);
    if (rc != GW_OK)
        return rc;
    /* The audit key, if configured: verify needs it, and so does any
     * command that appends to a keyed chain (purge). */
    gw_err_clear(&err);
    rc = gw_audit_key_load(cli->cfg.audit_key_file, &keyed, &err);
    if (rc != GW_OK) {
        fprintf(stderr, "klasgw: %s\n", err.detail);
        return rc;
    }
    /* A maintenance command talks to a person on stdout; keep the log to
     * warnings unless --log-level asked for more. */
    if (cli->log_level == NULL && gw_log_get_level() < GW_LOG_WARN)
        gw_log_set_level(GW_LOG_WARN);
    o.readers = 2;
    o.batch_max = (int)cli->cfg.store_batch_max;
    o.busy_timeout_ms = (int)cli->cfg.store_busy_timeout_ms;
    o.start_writer = with_writer;
    o.read_only = read_only;
    o.backend = cli->cfg.store_backend;
    o.dsn = cli->cfg.store_dsn;
    gw_err_clear(&err);
    rc = gw_store_open(cli->cfg.store_path, &o, out, &err);
    if (rc != GW_OK)
        fprintf(stderr, "klasgw: store %s: %s\n",
                strcmp(cli->cfg.store_backend, "sqlite") == 0
                    ? cli->cfg.store_path
                    : cli->cfg.store_backend,
                err.detail[0] ? err.detail : gw_rc_message(rc));
    return rc;
}

gw_rc
gw_cli_open_store(struct gw_cli *cli, int with_writer, struct gw_store **out)
{
    return open_store(cli, with_writer, 0, out);
}

gw_rc
gw_cli_open_store_read_only(struct gw_cli *cli, struct gw_store **out)
{
    return open_store(cli, 0, 1, out);
}

int
gw_cli_store_command(struct gw_cli *cli, const char *name, int argc,
                     char **argv, int next, struct gw_store **out)
{
    *out = NULL;
    if (gw_cli_extra_arg(name, argc, argv, next))
        return GW_EXIT_USAGE;
    if (gw_cli_open_store(cli, 0, out) != GW_OK)
        return GW_EXIT_FAIL;
    return GW_EXIT_OK;
}

int
gw_cmd_store(struct gw_cli *cli, int argc, char **argv)
{
    struct gw_store *st;
    struct gw_err err;
    const char *to = NULL;
    long long rows = 0;
    int c;
    gw_rc rc;

    if (argc < 2 || strcmp(argv[1], "copy") != 0)
        return gw_cli_usage("store");
    argc--;
    argv++;
    while ((c = gw_cli_getopt("store", argc, argv)) != -1) {
        if (c != 't')
            return gw_cli_usage("store");
        to = optarg;
    }
    if (to == NULL || optind < argc)
        return gw_cli_usage("store");
    gw_err_clear(&err);
    if (gw_store_dsn_check(to, &err) != GW_OK) {
        fprintf(stderr, "klasgw store copy: --to: %s\n", err.detail);
        return GW_EXIT_USAGE;
    }
    if (gw_cli_open_store(cli, 0, &st) != GW_OK)
        return GW_EXIT_FAIL;
    gw_err_clear(&err);
    rc = gw_store_copy_to_pg(st, to, &rows, &err);
    gw_store_close(st);
    if (rc != GW_OK) {
        fprintf(stderr, "klasgw store copy: %s\n",
                err.detail[0] ? err.detail : gw_rc_message(rc));
        return GW_EXIT_FAIL;
    }
    printf("copied %lld rows from %s into PostgreSQL; audit chain verified "
           "there\n",
           rows, cli->cfg.store_path);
    return GW_EXIT_OK;
}
