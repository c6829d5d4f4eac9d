/*
 * cmd_migrate.c - `klasgw migrate [--status]`: opening the store applies
 * every pending migration; --status only reports.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/store_cli.h"
#include "store/store.h"

int
gw_cmd_migrate(struct gw_cli *cli, int argc, char **argv)
{
    struct gw_store *st;
    int open_status;
    int c, status = 0;

    while ((c = gw_cli_getopt("migrate", argc, argv)) != -1) {
        if (c != 's')
            return gw_cli_usage("migrate");
        status = 1;
    }
    open_status = gw_cli_store_command(cli, "migrate", argc, argv, optind, &st);
    if (open_status != GW_EXIT_OK)
        return open_status;
    /* PostgreSQL: the DSN may hold a password; name the backend only. */
    printf("%s: schema version %d (latest %d)%s\n",
           strcmp(gw_store_backend_name(st), "sqlite") == 0
               ? cli->cfg.store_path
               : gw_store_backend_name(st),
           gw_store_schema_version(st), GW_STORE_SCHEMA_VERSION,
           status ? "" : ", up to date");
    gw_store_close(st);
    return GW_EXIT_OK;
}
