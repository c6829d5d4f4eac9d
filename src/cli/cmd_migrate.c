/*
 * cmd_migrate.c - `klasgw migrate`. Not available yet: the store arrives with
 * issue 4. Says so and exits 3, so scripts cannot mistake it for work
 * done.
 */
#include <stdio.h>

#include "cli/cli.h"

int
gw_cmd_migrate(struct gw_cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    fprintf(stderr, "klasgw migrate: not available yet (it comes with %s, "
                    "issue 4)\n", "the store");
    return GW_EXIT_UNAVAILABLE;
}
