/*
 * cmd_validate.c - `klasgw validate`. Not available yet: validation of message Bundles arrives with
 * issue 3. Says so and exits 3, so scripts cannot mistake it for work
 * done.
 */
#include <stdio.h>

#include "cli/cli.h"

int
gw_cmd_validate(struct gw_cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    fprintf(stderr, "klasgw validate: not available yet (it comes with %s, "
                    "issue 3)\n", "validation of message Bundles");
    return GW_EXIT_UNAVAILABLE;
}
