/*
 * cmd_sim.c - `klasgw sim`: runs one peer simulator (src/sim/, linked into
 * the klasgw binary only) with the loaded configuration, so the demo's
 * simulators listen where the example configuration points the gateway.
 * Its options are parsed from sim's rows in cli/options.tsv, the rows its help
 * prints, and handed to the simulator one by one.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "sim/sim.h"

struct args {
    int argc;
    char **argv;
};

static int
next_opt(void *ctx, const char **arg)
{
    struct args *a = ctx;
    int c = gw_cli_getopt("sim", a->argc, a->argv);

    *arg = optarg;
    /* After the options: nothing more (getopt_long moved any other
     * argument there). '?' makes it a usage error. */
    if (c == -1 && gw_cli_extra_arg("sim", a->argc, a->argv, optind))
        return '?';
    return c;
}

int
gw_cmd_sim(struct gw_cli *cli, int argc, char **argv)
{
    struct args a = {argc, argv};
    int rc;

    if (gw_cli_load_config(cli) != GW_OK)
        return GW_EXIT_FAIL;
    optind = 2; /* argv[1] is the simulator */
    rc = gw_sim_main(&cli->cfg, argc > 1 ? argv[1] : NULL, next_opt, &a);
    return rc == GW_EXIT_USAGE ? gw_cli_usage("sim") : rc;
}
