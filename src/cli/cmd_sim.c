/*
 * cmd_sim.c - `klasgw sim`. Not available yet: the peer simulators arrives with
 * issue 6. Says so and exits 3, so scripts cannot mistake it for work
 * done.
 */
#include <stdio.h>

#include "cli/cli.h"

int
gw_cmd_sim(struct gw_cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    fprintf(stderr, "klasgw sim: not available yet (it comes with %s, "
                    "issue 6)\n", "the peer simulators");
    return GW_EXIT_UNAVAILABLE;
}
