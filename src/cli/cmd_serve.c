/*
 * cmd_serve.c - `klasgw serve`: start every part of the gateway, wait for
 * SIGTERM or SIGINT, stop them in reverse order.
 *
 * Signals are blocked in every thread and taken here with sigwait, so no
 * work happens in a signal handler and threads started later inherit the
 * mask. Start order: configuration, store (migrations, writer), outbox
 * worker, scheduler. Stop order is the reverse, so work in flight finishes
 * and commits before the store closes.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "cli/cli.h"
#include "core/log.h"
#include "outbound/worker.h"
#include "sched/sched.h"
#include "store/store.h"

int
gw_cmd_serve(struct gw_cli *cli, int argc, char **argv)
{
    const struct gw_config *cfg;
    struct gw_store *st = NULL;
    struct gw_outbox_worker *worker = NULL;
    struct gw_sched *sched = NULL;
    struct gw_store_opts so = {0};
    struct gw_outbox_worker_opts wo = {0};
    struct gw_sched_opts schedo = {0};
    struct gw_err err;
    sigset_t set;
    int sig = 0, status = GW_EXIT_FAIL;
    gw_rc rc;

    if (argc > 1) {
        fprintf(stderr, "klasgw serve: unexpected argument '%s'\n", argv[1]);
        return GW_EXIT_USAGE;
    }
    if (gw_cli_load_config(cli) != GW_OK)
        return GW_EXIT_FAIL;
    cfg = &cli->cfg;
    gw_err_clear(&err);
    if (gw_config_check_serve(cfg, &err) != GW_OK) {
        fprintf(stderr, "klasgw serve: configuration: %s\n", err.detail);
        return GW_EXIT_FAIL;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    gw_log_info("event=serve_start version=%s config=%s", GW_VERSION,
                gw_log_quote(cfg->source));
    if (cfg->server_plain_http)
        gw_log_warn("event=plain_http detail=\"TLS is off: for demos and "
                    "tests only\"");

    so.readers = (int)cfg->server_threads;
    so.batch_max = (int)cfg->store_batch_max;
    so.busy_timeout_ms = (int)cfg->store_busy_timeout_ms;
    so.start_writer = 1;
    gw_err_clear(&err);
    rc = gw_store_open(cfg->store_path, &so, &st, &err);
    if (rc != GW_OK) {
        gw_log_err_rc(rc, "event=store_open_failed path=%s detail=%s",
                      gw_log_quote(cfg->store_path), gw_log_quote(err.detail));
        goto out;
    }
    /* Peers (LV, pharmacy webhooks) register here as they are built;
     * until then items wait in the outbox, durably. */
    wo.max_attempts = (int)cfg->outbox_max_attempts;
    wo.backoff_base_ms = cfg->outbox_backoff_base_ms;
    wo.backoff_cap_ms = cfg->outbox_backoff_cap_ms;
    wo.per_peer_concurrency = (int)cfg->outbox_per_peer_concurrency;
    rc = gw_outbox_worker_start(st, NULL, 0, &wo, &worker);
    if (rc != GW_OK) {
        gw_log_err_rc(rc, "event=outbox_worker_start_failed");
        goto out;
    }
    schedo.motivation_months = (int)cfg->retention_motivation_months;
    schedo.decided_months = (int)cfg->retention_decided_months;
    schedo.purge_hour_utc = (int)cfg->retention_purge_hour_utc;
    rc = gw_sched_start(st, &schedo, &sched);
    if (rc != GW_OK) {
        gw_log_err_rc(rc, "event=scheduler_start_failed");
        goto out;
    }
    gw_log_info("event=ready store=%s", gw_log_quote(cfg->store_path));
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
    status = GW_EXIT_OK;
out:
    gw_sched_stop(sched);
    gw_outbox_worker_stop(worker);
    gw_store_close(st);
    if (status == GW_EXIT_OK)
        gw_log_info("event=stopped");
    return status;
}
