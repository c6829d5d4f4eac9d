/*
 * cli.c - command table, global options, help texts and dispatch.
 *
 * The help of every command lives here, in one table, so `klasgw --help`,
 * `klasgw help CMD` and `klasgw CMD --help` print the same text; a
 * command's options are rows of its own table beside it, which both its
 * help and its parsing read. What a command does lives in its cmd_<name>.c.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/options_rows.h"
#include "core/log.h"
#include "core/names.h"
#include "klas/event.h"
#include "sim/sim.h"

/* Where a help text lists LV's decisions: gw_cli_print_command_help
 * writes the outcomes of the decision rows (klas/event.c) there. */
#define GW_CLI_DECISIONS "\001decisions\001"

/* The most options a command (or the global table) has. */
#define GW_CLI_MAX_OPTS 24

/* One option, a row of cli/options.tsv: getopt_long parses what the row
 * says and the help prints the row, so the two cannot disagree. */
struct gw_cli_opt {
    const char *command; /* "klasgw": an option before the command */
    const char *name;    /* --name */
    const char *arg;  /* its argument's name in the help; NULL: takes none */
    int val;          /* what gw_cli_getopt returns for it */
    int short_too;    /* nonzero: -val (a letter) is the same option */
    const char *help; /* what it does; '\n' between lines */
};

/* A command, found by its name (names.h: the name leads the row). */
struct command {
    const char *name;
    const char *summary;
    const char *usage;
    const char *help; /* printed before the options */
    int (*run)(struct gw_cli *, int, char **);
};

static const struct command commands[] = {
    {"serve", "run the gateway in the foreground",
     "klasgw [-c FILE] serve",
     "Opens (and migrates) the store, then serves REST/FHIR and SOAP on\n"
     "server.listen:server.port, runs the outbox worker and the scheduler\n"
     "(retries, daily retention purge). Stops cleanly on SIGTERM or SIGINT:\n"
     "requests in flight are finished and committed first.\n",
     gw_cmd_serve},
    {"validate", "validate KLAS message Bundles without storing them",
     "klasgw validate [--format json|xml|text] FILE...",
     "Reads each FILE (FHIR JSON or XML, sniffed; - for standard input),\n"
     "checks it against the KLAS profiles, schemas and business rules, and\n"
     "prints one OperationOutcome per file.\n"
     "Exit status: 0 every file valid, 1 some file invalid, 2 unusable\n"
     "input (unreadable, not JSON or XML).\n",
     gw_cmd_validate},
    {"migrate", "create or upgrade the database schema",
     "klasgw [-c FILE] migrate [--status]",
     "Applies every pending schema migration to store.path in one\n"
     "transaction each (serve also does this at start).\n",
     gw_cmd_migrate},
    {"purge", "remove personal data past its retention period",
     "klasgw [-c FILE] purge [--dry-run] [--now YYYY-MM-DDTHH:MM:SSZ]",
     "Removes motivations without an application 12 months after creation\n"
     "and decided cases 36 months after the decision (retention.* keys),\n"
     "keeping counts; each purge is audited. serve runs this daily.\n",
     gw_cmd_purge},
    {"outbox", "inspect and steer outbound deliveries",
     "klasgw [-c FILE] outbox list [--state S] | show ID | retry ID | dead",
     "  list        list items, newest first (200 at most)\n"
     "  show ID     one item with its attempts and last error\n"
     "  retry ID    put a dead or failed item back in the queue now\n"
     "  dead        list the dead letters\n",
     gw_cmd_outbox},
    {"store", "copy an SQLite store into PostgreSQL",
     "klasgw [-c FILE] store copy --to DSN",
     "Copies every row of the SQLite store (store.path) into the empty\n"
     "PostgreSQL database DSN (a libpq connection string; migrated first),\n"
     "in one transaction, and verifies the audit chain there. Stop serve\n"
     "first. Then set store.backend = postgresql and store.dsn.\n",
     gw_cmd_store},
    {"audit", "verify, checkpoint and export the audit log",
     "klasgw [-c FILE] audit verify [--checkpoint FILE]... | checkpoint "
     "[--out FILE]\n"
     "       | export [--case REFNR] [--since T]",
     "  verify      walk the keyed hash chain (audit.key_file); exit 1 and\n"
     "              name the first broken row if any row was edited or\n"
     "              removed; with --checkpoint, also if a checkpointed\n"
     "              record is gone or changed (a cut tail)\n"
     "  checkpoint  verify, then write the head (seq, hash, time) signed\n"
     "              with the audit key, to FILE or stdout; keep it away\n"
     "              from the database\n"
     "  export      print audit records as a FHIR Bundle of AuditEvent\n",
     gw_cmd_audit},
    {"sim", "run a peer simulator (HSA, LV, pharmacy webhook)",
     "klasgw [-c FILE] sim hsa|lv|pharmacy [OPTION]...",
     "Runs one peer simulator in the foreground for demos and tests.\n"
     "  hsa       HSA credentials service from a fixture of prescribers\n"
     "  lv        Läkemedelsverket: registers applications and supplements\n"
     "            (duplicates dropped by messageId), then calls the gateway\n"
     "            back as client role lv; or, with --call, makes one call\n"
     "            on command and exits\n"
     "  pharmacy  webhook receiver that logs notifications; with\n"
     "            --subscribe or --save also a Subscriptions client that\n"
     "            catches up with $events after a restart\n"
     "LV's calls (--then, --call): registered, supplement, "
     GW_CLI_DECISIONS ".\n",
     gw_cmd_sim},
    {"check-config", "check a configuration file and print it",
     "klasgw [-c FILE] check-config [--keys]",
     "Reads the configuration (file, then KLASGW_<SECTION>_<KEY> variables),\n"
     "checks every value and everything serve needs on this machine (the\n"
     "listen address binds, TLS files readable, matching and not expired,\n"
     "URLs, clients, the data folder's files, the store's folder writable;\n"
     "the store is not opened), lists every problem naming its key, and\n"
     "prints the effective configuration. serve runs the same checks.\n",
     gw_cmd_check_config},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

#define GW_CLI_OPTION_ROW(command, name, arg, val, short_too, help)            \
    {command, name, arg, val, short_too, help},
static const struct gw_cli_opt options[] = {GW_CLI_OPTIONS(GW_CLI_OPTION_ROW)};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* How a row is spelled in the help: "-c, --config FILE", "--now T". */
static int
format_opt(const struct gw_cli_opt *o, char *buf, size_t size)
{
    const char *sp = o->arg ? " " : "", *arg = o->arg ? o->arg : "";

    if (o->short_too)
        return snprintf(buf, size, "-%c, --%s%s%s", o->val, o->name, sp, arg);
    return snprintf(buf, size, "--%s%s%s", o->name, sp, arg);
}

/* The rows of command's options, in the file's order: n of them. */
static size_t
opts_of(const char *command, const struct gw_cli_opt *out[GW_CLI_MAX_OPTS])
{
    size_t n = 0;

    for (size_t i = 0; i < NOPTIONS && n < GW_CLI_MAX_OPTS; i++)
        if (strcmp(options[i].command, command) == 0)
            out[n++] = &options[i];
    return n;
}

/* The help lines of command's options: each row's spelling, then its help
 * in one column three spaces after the longest spelling. */
static void
print_opts(const char *command, FILE *out)
{
    const struct gw_cli_opt *opts[GW_CLI_MAX_OPTS];
    size_t nopts = opts_of(command, opts);
    char spelled[64];
    int width = 0;

    for (size_t i = 0; i < nopts; i++) {
        int n = format_opt(opts[i], spelled, sizeof(spelled));
        if (n > width)
            width = n;
    }
    for (size_t i = 0; i < nopts; i++) {
        const char *line = opts[i]->help, *nl;

        format_opt(opts[i], spelled, sizeof(spelled));
        fprintf(out, "  %-*s", width + 3, spelled);
        while ((nl = strchr(line, '\n')) != NULL) {
            fprintf(out, "%.*s\n%*s", (int)(nl - line), line, width + 5, "");
            line = nl + 1;
        }
        fprintf(out, "%s\n", line);
    }
}

/* getopt_long over command's options; lead opens the short options. */
static int
getopt_table(const char *command, const char *lead, int argc, char **argv)
{
    const struct gw_cli_opt *opts[GW_CLI_MAX_OPTS];
    struct option longopts[GW_CLI_MAX_OPTS + 1];
    char shortopts[2 + 2 * GW_CLI_MAX_OPTS];
    size_t nopts = opts_of(command, opts), n = 0, k = strlen(lead);

    memcpy(shortopts, lead, k);
    for (; n < nopts; n++) {
        longopts[n].name = opts[n]->name;
        longopts[n].has_arg = opts[n]->arg ? required_argument : no_argument;
        longopts[n].flag = NULL;
        longopts[n].val = opts[n]->val;
        if (opts[n]->short_too) {
            shortopts[k++] = (char)opts[n]->val;
            if (opts[n]->arg)
                shortopts[k++] = ':';
        }
    }
    memset(&longopts[n], 0, sizeof(longopts[n]));
    shortopts[k] = '\0';
    return getopt_long(argc, argv, shortopts, longopts, NULL);
}

int
gw_cli_getopt(const char *name, int argc, char **argv)
{
    return getopt_table(name, "", argc, argv);
}

static void
print_main_help(FILE *out)
{
    fprintf(out,
            "Usage: klasgw [-c FILE] [--log-level L] COMMAND [ARGS]\n"
            "  or:  klasgw help COMMAND | klasgw COMMAND --help\n"
            "klasgw %s, the gateway for Swedish licence-medicine cases "
            "(KLAS).\n"
            "\n"
            "Global options:\n",
            GW_VERSION);
    print_opts("klasgw", out);
    fprintf(out, "\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\nEnvironment:\n"
            "  KLASGW_<SECTION>_<KEY>  overrides a configuration key, e.g.\n"
            "                          KLASGW_SERVER_PORT=9090\n"
            "\nExit status:\n"
            "  0 ok, 1 failure, 2 usage error, 3 not available.\n");
}

/* A command's help, GW_CLI_DECISIONS replaced by the decision outcomes
 * of the event rows ("Bev, Avs, Avi"). */
static void
print_help_text(const char *help, FILE *out)
{
    const char *p = help, *hit;

    char outcomes[256];

    gw_klas_decision_outcomes(", ", outcomes, sizeof(outcomes));
    while ((hit = strstr(p, GW_CLI_DECISIONS)) != NULL) {
        fwrite(p, 1, (size_t)(hit - p), out);
        fputs(outcomes, out);
        p = hit + strlen(GW_CLI_DECISIONS);
    }
    fputs(p, out);
}

void
gw_cli_print_command_help(const char *name, FILE *out)
{
    const struct command *c = GW_NAME_FIND(commands, name);

    if (c == NULL)
        return;
    fprintf(out, "Usage: %s\n\n%s — %s.\n\n", c->usage, c->name, c->summary);
    print_help_text(c->help, out);
    print_opts(c->name, out);
}

int
gw_cli_usage(const char *name)
{
    gw_cli_print_command_help(name, stderr);
    return GW_EXIT_USAGE;
}

int
gw_cli_extra_arg(const char *name, int argc, char **argv, int next)
{
    if (next >= argc)
        return 0;
    fprintf(stderr, "klasgw %s: unexpected argument '%s'\n", name, argv[next]);
    return 1;
}

gw_rc
gw_cli_load_config(struct gw_cli *cli)
{
    struct gw_err err;
    enum gw_log_level level;
    gw_rc rc;

    if (cli->cfg_loaded)
        return GW_OK;
    gw_err_clear(&err);
    rc = gw_config_init(&cli->cfg);
    if (rc == GW_OK)
        rc = gw_config_load(&cli->cfg, cli->config_path, &err);
    if (rc != GW_OK) {
        fprintf(stderr, "klasgw: configuration: %s\n",
                err.detail[0] ? err.detail : gw_rc_message(rc));
        gw_config_release(&cli->cfg);
        return rc;
    }
    cli->cfg_loaded = 1;
    if (gw_log_level_parse(cli->log_level ? cli->log_level
                                          : cli->cfg.log_level,
                           &level) == GW_OK)
        gw_log_set_level(level);
    return GW_OK;
}

static int
wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int
gw_cli_main(int argc, char **argv)
{
    struct gw_cli cli;
    const struct command *cmd;
    enum gw_log_level level;
    int c, status;

    memset(&cli, 0, sizeof(cli));
    /* '+' stops at the first non-option: the command owns the rest. */
    while ((c = getopt_table("klasgw", "+", argc, argv)) != -1) {
        switch (c) {
        case 'c':
            cli.config_path = optarg;
            break;
        case 'l':
            if (gw_log_level_parse(optarg, &level) != GW_OK) {
                fprintf(stderr, "klasgw: --log-level: expected debug, info, "
                                "warn, error or off\n");
                return GW_EXIT_USAGE;
            }
            cli.log_level = optarg;
            gw_log_set_level(level);
            break;
        case 'h':
            print_main_help(stdout);
            return GW_EXIT_OK;
        case 'V':
            printf("klasgw %s\n", GW_VERSION);
            return GW_EXIT_OK;
        default:
            fprintf(stderr, "Try 'klasgw --help'.\n");
            return GW_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        print_main_help(stderr);
        return GW_EXIT_USAGE;
    }
    if (strcmp(argv[optind], "help") == 0) {
        if (optind + 1 >= argc) {
            print_main_help(stdout);
            return GW_EXIT_OK;
        }
        if (GW_NAME_FIND(commands, argv[optind + 1]) == NULL) {
            fprintf(stderr, "klasgw: unknown command '%s'\n", argv[optind + 1]);
            return GW_EXIT_USAGE;
        }
        gw_cli_print_command_help(argv[optind + 1], stdout);
        return GW_EXIT_OK;
    }
    cmd = GW_NAME_FIND(commands, argv[optind]);
    if (cmd == NULL) {
        fprintf(stderr, "klasgw: unknown command '%s'. Try 'klasgw --help'.\n",
                argv[optind]);
        return GW_EXIT_USAGE;
    }
    argc -= optind;
    argv += optind;
    if (wants_help(argc, argv)) {
        gw_cli_print_command_help(cmd->name, stdout);
        return GW_EXIT_OK;
    }
    optind = 1; /* the handler parses its own options */
    status = cmd->run(&cli, argc, argv);
    if (cli.cfg_loaded)
        gw_config_release(&cli.cfg);
    return status;
}
