/*
 * cmd_outbox.c - `klasgw outbox list|show|retry|dead`: what is waiting to
 * leave the gateway, and putting dead letters back.
 *
 * Safe while a gateway delivers: list, show and dead open the store
 * read-only; retry only touches a dead or pending item, never one in
 * flight (that belongs to the worker holding its lease).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/store_cli.h"
#include "core/clock.h"
#include "store/outbox.h"
#include "store/store.h"

static void
print_row(const struct gw_outbox_info *i)
{
    char next[32];

    gw_clock_format(i->next_attempt_ms, next, sizeof(next));
    printf("%-6lld %-9s %-10s %-22s %-10s %3d  %s\n", i->id, i->state, i->peer,
           i->kind, i->refnr[0] ? i->refnr : "-", i->attempts, next);
}

static int
list(struct gw_store *st, const char *state)
{
    struct gw_outbox_info *items;
    size_t n;

    if (gw_outbox_list(st, state, 200, &items, &n) != GW_OK) {
        fprintf(stderr, "klasgw outbox: cannot read the outbox\n");
        return GW_EXIT_FAIL;
    }
    printf("%-6s %-9s %-10s %-22s %-10s %3s  %s\n", "ID", "STATE", "PEER",
           "KIND", "REFNR", "TRY", "NEXT ATTEMPT");
    for (size_t i = 0; i < n; i++)
        print_row(&items[i]);
    printf("(%zu item%s)\n", n, n == 1 ? "" : "s");
    free(items);
    return GW_EXIT_OK;
}

static int
parse_id(const char *s, long long *id)
{
    char *end;

    *id = strtoll(s, &end, 10);
    return *s != '\0' && *end == '\0' && *id > 0;
}

int
gw_cmd_outbox(struct gw_cli *cli, int argc, char **argv)
{
    static const char *const states[] = {"pending", "inflight", "done", "dead"};
    const char *sub = argc > 1 ? argv[1] : NULL, *state = NULL;
    struct gw_store *st;
    long long id = 0;
    int c, status = GW_EXIT_USAGE;

    if (sub == NULL)
        return gw_cli_usage("outbox");
    if (strcmp(sub, "list") == 0) {
        optind = 2;
        while ((c = gw_cli_getopt("outbox", argc, argv)) != -1) {
            if (c != 's' || state != NULL)
                return gw_cli_usage("outbox");
            for (int i = 0; i < 4; i++)
                if (strcmp(optarg, states[i]) == 0)
                    state = states[i];
            if (state == NULL) {
                fprintf(stderr, "klasgw outbox list: --state is one of "
                                "pending, inflight, done, dead\n");
                return GW_EXIT_USAGE;
            }
        }
        if (optind < argc)
            return gw_cli_usage("outbox");
    } else if (strcmp(sub, "show") == 0 || strcmp(sub, "retry") == 0) {
        if (argc != 3 || !parse_id(argv[2], &id)) {
            fprintf(stderr, "klasgw outbox %s: give one item id (a number "
                            "from 'klasgw outbox list')\n", sub);
            return GW_EXIT_USAGE;
        }
    } else if (strcmp(sub, "dead") == 0) {
        state = "dead";
    } else {
        fprintf(stderr, "klasgw outbox: unknown subcommand '%s'\n", sub);
        return GW_EXIT_USAGE;
    }
    if ((strcmp(sub, "retry") == 0
             ? gw_cli_open_store(cli, 0, &st)
             : gw_cli_open_store_read_only(cli, &st)) != GW_OK)
        return GW_EXIT_FAIL;
    if (strcmp(sub, "show") == 0) {
        struct gw_outbox_info i;
        char t[3][32];
        if (gw_outbox_show(st, id, &i) != GW_OK) {
            fprintf(stderr, "klasgw outbox show: no item %lld\n", id);
            status = GW_EXIT_FAIL;
        } else {
            gw_clock_format(i.created_ms, t[0], sizeof(t[0]));
            gw_clock_format(i.updated_ms, t[1], sizeof(t[1]));
            gw_clock_format(i.next_attempt_ms, t[2], sizeof(t[2]));
            printf("id: %lld\nmessage id: %s\npeer: %s\nkind: %s\n"
                   "referensnummer: %s\nstate: %s\nattempts: %d\n"
                   "created: %s\nupdated: %s\nnext attempt: %s\n"
                   "last error: %s\npayload: %zu bytes\n",
                   i.id, i.message_id, i.peer, i.kind,
                   i.refnr[0] ? i.refnr : "-", i.state, i.attempts, t[0], t[1],
                   t[2], i.last_error[0] ? i.last_error : "-", i.payload_len);
            if (i.target[0])
                printf("subscription: %s\n", i.target);
            if (strcmp(i.state, "inflight") == 0) {
                gw_clock_format(i.claimed_until, t[0], sizeof(t[0]));
                printf("claimed by: %s\nlease until: %s\n",
                       i.claimed_by[0] ? i.claimed_by : "-", t[0]);
            }
            status = GW_EXIT_OK;
        }
    } else if (strcmp(sub, "retry") == 0) {
        gw_rc rc = gw_outbox_retry(st, id);
        if (rc == GW_OK) {
            printf("item %lld is pending again\n", id);
            status = GW_EXIT_OK;
        } else {
            fprintf(stderr, "klasgw outbox retry: item %lld is not dead or "
                            "pending (or does not exist)\n", id);
            status = GW_EXIT_FAIL;
        }
    } else {
        status = list(st, state);
    }
    gw_store_close(st);
    return status;
}
