/*
 * cmd_outbox.c - `klasgw outbox`. Not available yet: the outbox arrives with
 * issue 4. Says so and exits 3, so scripts cannot mistake it for work
 * done.
 */
#include <stdio.h>

#include "cli/cli.h"

int
gw_cmd_outbox(struct gw_cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    fprintf(stderr, "klasgw outbox: not available yet (it comes with %s, "
                    "issue 4)\n", "the outbox");
    return GW_EXIT_UNAVAILABLE;
}
