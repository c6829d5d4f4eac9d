/*
 * cmd_sim.c - `klasgw sim`: runs one peer simulator (src/sim/, linked into
 * the klasgw binary only) with the loaded configuration, so the demo's
 * simulators listen where the example configuration points the gateway.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "sim/sim.h"

int
gw_cmd_sim(struct gw_cli *cli, int argc, char **argv)
{
    if (gw_cli_load_config(cli) != GW_OK)
        return GW_EXIT_FAIL;
    return gw_sim_main(&cli->cfg, argc, argv);
}
