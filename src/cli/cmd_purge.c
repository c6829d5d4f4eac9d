/*
 * cmd_purge.c - `klasgw purge`. Not available yet: the store and retention arrives with
 * issue 4. Says so and exits 3, so scripts cannot mistake it for work
 * done.
 */
#include <stdio.h>

#include "cli/cli.h"

int
gw_cmd_purge(struct gw_cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    fprintf(stderr, "klasgw purge: not available yet (it comes with %s, "
                    "issue 4)\n", "the store and retention");
    return GW_EXIT_UNAVAILABLE;
}
