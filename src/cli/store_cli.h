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
/* The same for a command that only looks: SQLite refuses every write, and
 * nothing is migrated or reset (a gateway may be delivering right now). */
gw_rc gw_cli_open_store_read_only(struct gw_cli *cli,
                                  struct gw_store **out) GW_WARN_UNUSED;

#endif
