/*
 * store_cli.h - opening the store for a maintenance command: from the
 * configuration, without the writer thread unless asked, with the error
 * printed for the operator.
 */
#ifndef GW_CLI_STORE_CLI_H
#define GW_CLI_STORE_CLI_H

#include "cli/cli.h"

struct gw_store;

/* Loads the configuration and opens store.path. Prints why on failure. */
gw_rc gw_cli_open_store(struct gw_cli *cli, int with_writer,
                        struct gw_store **out) GW_WARN_UNUSED;
/* How a store command ends its parsing: nothing left in argv from next
 * (else GW_EXIT_USAGE, said), then the store opened without the writer
 * (else GW_EXIT_FAIL, said). GW_EXIT_OK with *out. */
int gw_cli_store_command(struct gw_cli *cli, const char *name, int argc,
                         char **argv, int next, struct gw_store **out);
/* The same for a command that only looks: SQLite refuses every write, and
 * nothing is migrated or reset (a gateway may be delivering right now). */
gw_rc gw_cli_open_store_read_only(struct gw_cli *cli,
                                  struct gw_store **out) GW_WARN_UNUSED;

#endif
