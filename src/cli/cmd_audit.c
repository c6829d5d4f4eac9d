/*
 * cmd_audit.c - `klasgw audit`. Not available yet: the audit log arrives with
 * issue 4. Says so and exits 3, so scripts cannot mistake it for work
 * done.
 */
#include <stdio.h>

#include "cli/cli.h"

int
gw_cmd_audit(struct gw_cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    fprintf(stderr, "klasgw audit: not available yet (it comes with %s, "
                    "issue 4)\n", "the audit log");
    return GW_EXIT_UNAVAILABLE;
}
