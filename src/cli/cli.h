/*
 * cli.h - the klasgw command line: `klasgw [global options] COMMAND [args]`.
 *
 * cli.c owns the table of commands (name, one-line summary, usage, help),
 * global options (--config, --log-level, --help, --version) and dispatch.
 * Each command's handler lives in its own file, cmd_<name>.c, next to it.
 * A handler gets its own argv (argv[0] is the command name), parses its
 * options with gw_cli_getopt from its rows in cli/options.tsv (the
 * rows its help prints; sim hands them to the simulator one by one), and
 * returns the process exit status:
 *   0 success, 1 failure (or "invalid" for validate), 2 usage error or
 *   unusable input, 3 command not available yet.
 */
#ifndef GW_CLI_CLI_H
#define GW_CLI_CLI_H

#include "config/config.h"

enum {
    GW_EXIT_OK = 0,
    GW_EXIT_FAIL = 1,
    GW_EXIT_USAGE = 2,
    GW_EXIT_UNAVAILABLE = 3
};

struct gw_cli {
    const char *config_path; /* NULL: defaults + environment only */
    const char *log_level;   /* NULL: from the configuration */
    struct gw_config cfg;
    int cfg_loaded;
};

/* Loads the configuration once (file, environment, checks) and applies the
 * log level. Prints a clear error and returns non-OK when unusable. */
gw_rc gw_cli_load_config(struct gw_cli *cli) GW_WARN_UNUSED;

/* What the check compiled that serve goes on with, not compiling it a
 * second time: the FHIR schema and the stylesheets of the views (each
 * NULL when it did not load; the caller frees them). */
struct gw_validator;
struct gw_views;
struct gw_cli_loaded {
    struct gw_validator *validator;
    struct gw_views *views;
};

/* Everything serve needs from cfg, checked without touching the store
 * (cmd_check_config.c): each problem printed to stderr naming its key
 * (serving, keep not NULL: failures also logged, warnings logged only,
 * and what loaded handed over in *keep). Returns the number of failures
 * (0: serve may start). */
int gw_cli_check_config(const struct gw_config *cfg,
                        struct gw_cli_loaded *keep);

/* The next option of command name's argv, as getopt_long returns it:
 * the letter its row in cli/options.tsv gives it (that row is also
 * its line in the help), -1 at the end, '?' for one the row lacks. */
int gw_cli_getopt(const char *name, int argc, char **argv);

/* Prints the help of one command (usage + text + options) to out. */
void gw_cli_print_command_help(const char *name, FILE *out);
/* A usage error of command name: its help on stderr; GW_EXIT_USAGE. */
int gw_cli_usage(const char *name);
/* Whether argv[next..argc) holds an argument command name does not take
 * (nonzero: said on stderr, the command exits GW_EXIT_USAGE). */
int gw_cli_extra_arg(const char *name, int argc, char **argv, int next);

/* The parsers' limits as cfg sets them (server.max_body_bytes, xml.*). */
struct gw_fhir_limits;
void gw_cli_limits(const struct gw_config *cfg, struct gw_fhir_limits *lim);

/* The SOAP front and LV's client as cfg sets them, on the data folder's
 * wsdl/ and xslt/ given: one loader for what check-config loads and serve
 * starts (the check gives no pipeline and no store). */
struct gw_lv;
struct gw_pipeline;
struct gw_soap;
struct gw_store;
struct gw_tls_client;
gw_rc gw_cli_soap_new(const struct gw_config *cfg, const char *wsdl_dir,
                      const char *xslt_dir, struct gw_pipeline *pl,
                      struct gw_soap **out, struct gw_err *err) GW_WARN_UNUSED;
gw_rc gw_cli_lv_new(const struct gw_config *cfg, const char *wsdl_dir,
                    const char *xslt_dir, const struct gw_tls_client *tls,
                    struct gw_store *st, struct gw_lv **out,
                    struct gw_err *err) GW_WARN_UNUSED;

int gw_cli_main(int argc, char **argv);

/* Handlers, one per cmd_<name>.c. */
int gw_cmd_serve(struct gw_cli *cli, int argc, char **argv);
int gw_cmd_validate(struct gw_cli *cli, int argc, char **argv);
int gw_cmd_migrate(struct gw_cli *cli, int argc, char **argv);
int gw_cmd_purge(struct gw_cli *cli, int argc, char **argv);
int gw_cmd_outbox(struct gw_cli *cli, int argc, char **argv);
int gw_cmd_audit(struct gw_cli *cli, int argc, char **argv);
int gw_cmd_store(struct gw_cli *cli, int argc, char **argv);
int gw_cmd_sim(struct gw_cli *cli, int argc, char **argv);
int gw_cmd_check_config(struct gw_cli *cli, int argc, char **argv);

#endif
