/*
 * store_cli.c - see store_cli.h.
 */
#include "cli/store_cli.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

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
