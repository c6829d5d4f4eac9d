/*
 * cmd_purge.c - `klasgw purge [--dry-run] [--now T]`: the retention purge
 * that serve runs daily, by hand.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/store_cli.h"
#include "core/clock.h"
#include "store/purge.h"
#include "store/store.h"

int
gw_cmd_purge(struct gw_cli *cli, int argc, char **argv)
{
    struct gw_purge_counts counts;
    struct gw_store *st;
    int open_status;
    int64_t now = gw_clock_now_ms();
    int c, dry = 0;
    gw_rc rc;

    while ((c = gw_cli_getopt("purge", argc, argv)) != -1) {
        if (c == 'd') {
            dry = 1;
        } else if (c == 'n') {
            if (gw_clock_parse(optarg, &now) != GW_OK) {
                fprintf(stderr, "klasgw purge: --now: expected "
                                "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ\n");
                return GW_EXIT_USAGE;
            }
        } else {
            return gw_cli_usage("purge");
        }
    }
    open_status = gw_cli_store_command(cli, "purge", argc, argv, optind, &st);
    if (open_status != GW_EXIT_OK)
        return open_status;
    rc = gw_store_purge(st, now, (int)cli->cfg.retention_motivation_months,
                        (int)cli->cfg.retention_decided_months, dry, &counts);
    gw_store_close(st);
    if (rc != GW_OK) {
        fprintf(stderr, "klasgw purge: %s\n", gw_rc_message(rc));
        return GW_EXIT_FAIL;
    }
    printf("%s %lld motivation(s) without application older than %ld "
           "months and %lld decided case(s) older than %ld months\n",
           dry ? "would purge" : "purged", counts.motivations,
           cli->cfg.retention_motivation_months, counts.decided,
           cli->cfg.retention_decided_months);
    return GW_EXIT_OK;
}
