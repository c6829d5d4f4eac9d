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
    static const struct option opts[] = {
        {"status", no_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    struct gw_store *st;
    int c, status = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 's') {
            gw_cli_print_command_help("migrate", stderr);
            return GW_EXIT_USAGE;
        }
        status = 1;
    }
    if (optind < argc) {
        fprintf(stderr, "klasgw migrate: unexpected argument '%s'\n",
                argv[optind]);
        return GW_EXIT_USAGE;
    }
    if (gw_cli_open_store(cli, 0, &st) != GW_OK)
        return GW_EXIT_FAIL;
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
