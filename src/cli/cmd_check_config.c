/*
 * cmd_check_config.c - `klasgw check-config`: load, check, print.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config/tls.h"
#include "store/store.h"

int
gw_cmd_check_config(struct gw_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"keys", no_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    int c, keys = 0;

    while ((c = getopt_long(argc, argv, "k", opts, NULL)) != -1) {
        if (c != 'k') {
            gw_cli_print_command_help("check-config", stderr);
            return GW_EXIT_USAGE;
        }
        keys = 1;
    }
    if (optind < argc) {
        fprintf(stderr, "klasgw check-config: unexpected argument '%s'\n",
                argv[optind]);
        return GW_EXIT_USAGE;
    }
    if (keys) {
        gw_config_print_keys(stdout);
        return GW_EXIT_OK;
    }
    if (gw_cli_load_config(cli) != GW_OK)
        return GW_EXIT_FAIL;
    {
        struct gw_err err;
        gw_err_clear(&err);
        if (gw_config_check_serve(&cli->cfg, &err) != GW_OK ||
            gw_tls_check_config(&cli->cfg, &err) != GW_OK ||
            (strcmp(cli->cfg.store_backend, "postgresql") == 0 &&
             gw_store_dsn_check(cli->cfg.store_dsn, &err) != GW_OK)) {
            fprintf(stderr, "klasgw: configuration: %s\n", err.detail);
            return GW_EXIT_FAIL;
        }
    }
    gw_config_print(&cli->cfg, stdout);
    printf("\n# configuration ok\n");
    return GW_EXIT_OK;
}
