/*
 * cmd_serve.c - `klasgw serve`: start every part of the gateway, wait for
 * SIGTERM or SIGINT, stop them in reverse order.
 *
 * Start order: configuration, store (migrations, writer), outbox worker,
 * scheduler, validator and views, pipeline, HTTP front; stop is the
 * reverse: the front stops accepting and finishes its requests (which
 * commit) before anything below it goes.
 *
 * Signals are blocked in every thread and taken here with sigwait, so no
 * work happens in a signal handler and threads started later inherit the
 * mask. Start order: configuration, store (migrations, writer), outbox
 * worker, scheduler. Stop order is the reverse, so work in flight finishes
 * and commits before the store closes.
 *
 * One serve per store: before the store opens, serve takes an exclusive
 * fcntl lock on "<store.path>.lock" (holding its PID) for its lifetime; a
 * second serve on the same SQLite file refuses to start, naming the PID.
 * The kernel drops the lock when the process ends, even by SIGKILL.
 *
 * So a serve that has the lock knows every outbox lease in the store
 * belongs to a process that has ended (SQLite is single-node; only a
 * serve delivers): before its worker starts it puts every item in flight
 * back to pending at once (gw_outbox_reclaim_all) instead of waiting
 * outbox.lease_s for each lease to lapse. After a SIGKILL the killed
 * deliveries go again within a second of the restart. Lease expiry stays
 * the rule inside a running serve and for a future multi-node store.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/tls.h"
#include "core/file.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/notify.h"
#include "fhir/fhir.h"
#include "http/server.h"
#include "map/view.h"
#include "outbound/hsa.h"
#include "outbound/http_client.h"
#include "outbound/lv.h"
#include "outbound/pharmacy.h"
#include "outbound/stats.h"
#include "outbound/worker.h"
#include "pipeline/pipeline.h"
#include "sched/sched.h"
#include "soap/soap.h"
#include "store/audit_log.h"
#include "store/licence.h"
#include "store/outbox.h"
#include "store/store.h"
#include "store/write.h"
#include "validate/validate.h"

/* Pharmacy clients are "connected to the gateway": findable (Sök apotek)
 * under their label until their applications give name and address. */
static void
register_pharmacies(const struct gw_config *cfg, struct gw_store *st)
{
    for (size_t i = 0; i < cfg->nclients; i++) {
        struct gw_pharmacy p;
        struct gw_pharmacy *found = NULL;
        size_t n = 0;
        if (cfg->clients[i].gln == NULL)
            continue;
        memset(&p, 0, sizeof(p));
        snprintf(p.gln, sizeof(p.gln), "%s", cfg->clients[i].gln);
        if (gw_store_pharmacy_search(st, &p, &found, &n) == GW_OK && n == 0) {
            snprintf(p.name, sizeof(p.name), "%s", cfg->clients[i].label);
            snprintf(p.actor, sizeof(p.actor), "%s", cfg->clients[i].label);
            if (gw_store_pharmacy_put(st, &p) != GW_OK)
                gw_log_warn("event=pharmacy_register_failed");
        }
        free(found);
    }
}

/* Takes the store's serve lock; *fd_out stays open for the process's
 * life. Prints why on failure. */
static gw_rc
lock_store(const char *store_path, int *fd_out)
{
    char path[1100], pid[32];
    struct flock fl;
    int fd, n;

    *fd_out = -1;
    if (strcmp(store_path, ":memory:") == 0)
        return GW_OK;
    snprintf(path, sizeof(path), "%s.lock", store_path);
    {
        /* The store's folder may not exist yet (serve creates it). */
        char dir[1100], *slash;
        snprintf(dir, sizeof(dir), "%s", store_path);
        slash = strrchr(dir, '/');
        if (slash != NULL && slash != dir) {
            *slash = '\0';
            if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
                fprintf(stderr, "klasgw serve: cannot create folder %s: %s\n",
                        dir, strerror(errno));
                return GW_ESTORE;
            }
        }
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, "klasgw serve: cannot open %s: %s\n", path,
                strerror(errno));
        return GW_ESTORE;
    }
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int e = errno;
        memset(&fl, 0, sizeof(fl));
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if ((e == EAGAIN || e == EACCES) && fcntl(fd, F_GETLK, &fl) == 0 &&
            fl.l_type != F_UNLCK)
            fprintf(stderr,
                    "klasgw serve: the store %s is in use by another klasgw "
                    "serve (pid %ld, lock %s); one gateway per SQLite "
                    "database: stop that one first\n",
                    store_path, (long)fl.l_pid, path);
        else
            fprintf(stderr, "klasgw serve: cannot lock %s: %s\n", path,
                    strerror(e));
        gw_log_err("event=store_locked path=%s holder_pid=%ld",
                   gw_log_quote(store_path), (long)fl.l_pid);
        close(fd);
        return GW_EBUSY;
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n)
        gw_log_warn("event=lock_pid_not_written path=%s", gw_log_quote(path));
    *fd_out = fd;
    return GW_OK;
}

/* SIGHUP: the outbound client certificates. libcurl reads them at each
 * new connection, so a replaced file is used from the next one; here they
 * are checked (a broken pair is reported before it fails a delivery) and
 * their expiry goes to /metrics. */
static void
reload_outbound_tls(const struct gw_config *cfg)
{
    struct gw_err err;

    gw_err_clear(&err);
    if (gw_tls_check_config(cfg, &err) != GW_OK)
        gw_log_err("event=tls_reload_failed detail=%s",
                   gw_log_quote(err.detail));
    else
        gw_log_info("event=tls_checked detail=\"certificates and keys "
                    "readable and matching\"");
}

/* SIGHUP: the [clients] table, from the configuration file read again
 * (with the environment, checked as at start). A file that does not load
 * keeps the table in use and logs why (`klasgw check-config` names the
 * line); other keys of the file need a restart. */
static void
reload_clients(const char *path, struct gw_http *http, struct gw_store *st)
{
    struct gw_config *fresh = calloc(1, sizeof(*fresh));
    struct gw_err err;
    gw_rc rc;

    if (fresh == NULL)
        return;
    gw_err_clear(&err);
    rc = gw_config_init(fresh);
    if (rc == GW_OK)
        rc = gw_config_load(fresh, path, &err);
    if (rc != GW_OK) {
        gw_log_err_rc(rc,
                      "event=clients_reload_failed detail=%s "
                      "keeping=previous",
                      gw_log_quote(err.detail[0] ? err.detail
                                                 : gw_rc_message(rc)));
    } else if (gw_http_reload_clients(http, fresh) == GW_OK) {
        register_pharmacies(fresh, st); /* fresh lives until stop */
        return;
    }
    gw_config_release(fresh);
    free(fresh);
}

/* A claim's lease for a peer with this timeout: outbox.lease_s, but never
 * less than twice the timeout, so a delivery still running has always
 * ended (given up) before its lease lapses and another worker could take
 * the item. */
static int64_t
lease_for(const struct gw_config *cfg, long timeout_ms)
{
    int64_t lease = (int64_t)cfg->outbox_lease_s * 1000;

    if (lease < 2 * (int64_t)timeout_ms) {
        gw_log_info("event=lease_raised lease_s=%ld lease_ms=%lld "
                    "peer_timeout_ms=%ld",
                    cfg->outbox_lease_s, (long long)(2 * (int64_t)timeout_ms),
                    timeout_ms);
        lease = 2 * (int64_t)timeout_ms;
    }
    return lease;
}

/*
 * The audit chain and the key must agree: without a key a keyed chain
 * cannot grow (refuse to start); with one, a chain whose head is still
 * unkeyed (written before the key) gets a record that marks the change, so
 * that from now on verify finds a keyed record.
 */
static gw_rc
audit_key_start(struct gw_store *st, int keyed)
{
    char head[GW_AUDIT_HASH_HEX];
    int64_t seq = 0;
    gw_rc rc = gw_store_audit_head(st, &seq, head);

    if (rc != GW_OK)
        return rc;
    if (!keyed) {
        if (gw_audit_hash_is_keyed(head)) {
            gw_log_err("event=audit_key_missing detail=\"the audit log is "
                       "keyed: set audit.key_file\"");
            return GW_ECONFIG;
        }
        gw_log_warn("event=audit_unkeyed detail=\"no audit.key_file: the "
                    "audit chain is plain SHA-256 (demo and tests only)\"");
        return GW_OK;
    }
    if (seq > 0 && !gw_audit_hash_is_keyed(head)) {
        struct gw_audit_entry e = {"gateway", NULL, "audit-keyed", NULL, "ok",
                                   "the chain is keyed from this record"};
        gw_log_info("event=audit_keyed from_seq=%lld", (long long)seq + 1);
        return gw_store_audit_async(st, &e);
    }
    return GW_OK;
}

/* Whether a start-up step failed; if so, logged as event with err's
 * detail (which names no patient data). */
static int
start_failed(gw_rc rc, const char *event, const struct gw_err *err)
{
    if (rc == GW_OK)
        return 0;
    gw_log_err_rc(rc, "event=%s detail=%s", event, gw_log_quote(err->detail));
    return 1;
}

/* The service manager (systemd Type=notify, core/notify.h): told READY=1
 * once the front listens, STOPPING=1 when a stop begins, WATCHDOG=1 every
 * half $WATCHDOG_USEC. A failed notification is logged, never fatal. */
static void
notify_state(const char *state)
{
    if (gw_notify(state) != GW_OK)
        gw_log_warn("event=notify_failed state=%.*s errno=%d",
                    (int)strcspn(state, "\n="), state, errno);
}

static const char *
ready_state(struct gw_http *http, char *buf, size_t size)
{
    snprintf(buf, size, "READY=1\nSTATUS=serving on port %d\nMAINPID=%ld",
             gw_http_port(http), (long)getpid());
    return buf;
}

/* Waits for a signal of set into *sig; with a watchdog, at most
 * watchdog_ms, then *sig is 0. Returns 0, or -1 when waiting failed. */
static int
wait_signal(const sigset_t *set, int64_t watchdog_ms, int *sig)
{
    struct timespec ts;
    int s;

    *sig = 0;
    if (watchdog_ms <= 0)
        return sigwait(set, sig) == 0 ? 0 : -1;
    ts.tv_sec = (time_t)(watchdog_ms / 1000);
    ts.tv_nsec = (long)(watchdog_ms % 1000) * 1000000L;
    do
        s = sigtimedwait(set, NULL, &ts);
    while (s < 0 && errno == EINTR);
    if (s < 0)
        return errno == EAGAIN ? 0 : -1;
    *sig = s;
    return 0;
}

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
    struct gw_cli_loaded loaded = {NULL, NULL};
    struct gw_pipeline *pipeline = NULL;
    struct gw_http *http = NULL;
    struct gw_soap *soap = NULL;
    struct gw_hsa *hsa = NULL;
    struct gw_hsa_opts hsao;
    struct gw_lv *lv = NULL;
    char xslt_dir[1024];
    char wsdl_dir[1024];
    struct gw_pipeline_opts po;
    struct gw_pharmacy_peer pharmacy_ctx;
    struct gw_ticker keeper = {0};
    struct gw_net_policy webhooks;
    struct gw_tls_client tls_hsa, tls_lv, tls_webhooks;
    int keyed = 0;
    struct gw_peer peers[4];
    struct gw_outbox_peer_opts peer_opts[4];
    size_t npeers = 0;
    int lock_fd = -1;
    struct gw_http_opts ho;
    struct gw_err err;
    sigset_t set;
    int sig = 0, status = GW_EXIT_FAIL;
    int64_t watchdog_ms = 0;
    char sd_state[128];
    gw_rc rc;

    if (gw_cli_extra_arg("serve", argc, argv, 1))
        return GW_EXIT_USAGE;
    if (gw_cli_load_config(cli) != GW_OK)
        return GW_EXIT_FAIL;
    cfg = &cli->cfg;
    /* Everything check-config checks, before the store is touched: a
     * configuration serve cannot run with leaves no trace. */
    if (gw_cli_check_config(cfg, &loaded) > 0 || loaded.validator == NULL ||
        loaded.views == NULL) {
        fprintf(stderr, "klasgw serve: configuration: refusing to start "
                        "(klasgw check-config lists the same problems)\n");
        goto refuse;
    }
    gw_err_clear(&err);
    if (gw_tls_client_get(cfg, "hsa", &tls_hsa, &err) != GW_OK ||
        gw_tls_client_get(cfg, "lv", &tls_lv, &err) != GW_OK ||
        gw_tls_client_get(cfg, "webhooks", &tls_webhooks, &err) != GW_OK)
        goto refuse_err;
    gw_err_clear(&err);
    if (gw_audit_key_load(cfg->audit_key_file, &keyed, &err) != GW_OK)
        goto refuse_err;
    if (!keyed && !cfg->server_plain_http) {
        gw_err_set(&err, GW_EINVAL, NULL, "audit.key_file is required "
                                          "unless server.plain_http = true");
        goto refuse_err;
    }
    gw_err_clear(&err);
    if (gw_net_policy_init(&webhooks, cfg->webhooks_allowed_hosts,
                           cfg->webhooks_allow_private,
                           cfg->webhooks_allow_http, &err) != GW_OK) {
        gw_net_policy_release(&webhooks);
        goto refuse_err;
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

    /* One serve per SQLite file; on PostgreSQL several nodes share the
     * database by design (store/pg.c). */
    if (strcmp(cfg->store_backend, "sqlite") == 0 &&
        lock_store(cfg->store_path, &lock_fd) != GW_OK)
        goto out;
    so.readers = (int)cfg->server_threads;
    so.batch_max = (int)cfg->store_batch_max;
    so.busy_timeout_ms = (int)cfg->store_busy_timeout_ms;
    so.start_writer = 1;
    so.backend = cfg->store_backend;
    so.dsn = cfg->store_dsn;
    gw_err_clear(&err);
    rc = gw_store_open(cfg->store_path, &so, &st, &err);
    if (rc != GW_OK) {
        gw_log_err_rc(rc, "event=store_open_failed path=%s detail=%s",
                      gw_log_quote(cfg->store_path), gw_log_quote(err.detail));
        goto out;
    }
    rc = audit_key_start(st, keyed);
    if (rc != GW_OK)
        goto out;
    {
        /* We hold the store's lock: whoever held these leases is dead. */
        long long reclaimed = 0;
        rc = gw_outbox_reclaim_all(st, &reclaimed);
        if (rc != GW_OK) {
            gw_log_err_rc(rc, "event=outbox_reclaim_failed");
            goto out;
        }
        if (reclaimed > 0)
            gw_log_info("event=outbox_reclaimed items=%lld detail=\"in "
                        "flight when the last serve ended: delivered again\"",
                        reclaimed);
    }
    /* Peers register here; items for a peer not registered wait in the
     * outbox, durably. */
    gw_err_clear(&err);
    rc = gw_http_client_init();
    if (rc == GW_OK)
        rc = gw_config_data_path(cfg, "wsdl", wsdl_dir, sizeof(wsdl_dir));
    if (rc == GW_OK)
        rc = gw_config_data_path(cfg, "xslt", xslt_dir, sizeof(xslt_dir));
    if (rc == GW_OK && cfg->lv_url[0] != '\0')
        rc = gw_cli_lv_new(cfg, wsdl_dir, xslt_dir, &tls_lv, st, &lv, &err);
    if (start_failed(rc, "lv_peer_failed", &err))
        goto out;
    memset(peer_opts, 0, sizeof(peer_opts));
    if (lv != NULL) {
        /* One endpoint: when it is down, probe it. */
        peer_opts[npeers].lease_ms = lease_for(cfg, cfg->lv_timeout_ms);
        peer_opts[npeers].probe = 1;
        gw_lv_peer(lv, &peers[npeers++]);
    } else {
        gw_log_warn("event=lv_off detail=\"lv.url is empty: items for LV "
                    "wait in the outbox\"");
        gw_stats_peer_add("lv"); /* its backlog in /metrics, from zero */
    }
    wo.max_attempts = (int)cfg->outbox_max_attempts;
    wo.backoff_base_ms = cfg->outbox_backoff_base_ms;
    wo.backoff_cap_ms = cfg->outbox_backoff_cap_ms;
    wo.per_peer_concurrency = (int)cfg->outbox_per_peer_concurrency;
    wo.lease_ms = (int64_t)cfg->outbox_lease_s * 1000;
    wo.probe_interval_ms = cfg->outbox_probe_interval_ms;
    wo.peer_opts = peer_opts;
    pharmacy_ctx.store = st;
    pharmacy_ctx.timeout_ms = 10000;
    pharmacy_ctx.policy = &webhooks;
    pharmacy_ctx.tls = &tls_webhooks;
    pharmacy_ctx.max_failures = (int)cfg->outbox_subscription_max_failures;
    pharmacy_ctx.base = cfg->webhooks_base_url;
    /* Many endpoints, each with its own items and Subscription status: no
     * peer-wide probing (one endpoint down must not stop the others). */
    peer_opts[npeers].lease_ms = lease_for(cfg, pharmacy_ctx.timeout_ms);
    peer_opts[npeers].probe = 0;
    gw_pharmacy_peer_init(&peers[npeers++], &pharmacy_ctx);
    register_pharmacies(cfg, st);
    rc = gw_outbox_worker_start(st, peers, npeers, &wo, &worker);
    if (rc != GW_OK) {
        gw_log_err_rc(rc, "event=outbox_worker_start_failed");
        goto out;
    }
    /* Subscription handshakes and heartbeats (outbound/pharmacy.h). */
    rc = gw_pharmacy_keeper_start(&keeper, &pharmacy_ctx);
    if (rc != GW_OK) {
        gw_log_err_rc(rc, "event=subscription_keeper_start_failed");
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
    memset(&po, 0, sizeof(po));
    po.store = st;
    po.validator = loaded.validator; /* compiled by the check */
    po.views = loaded.views;
    memset(&hsao, 0, sizeof(hsao));
    hsao.peer.url = cfg->hsa_url;
    hsao.peer.logical_address = cfg->hsa_logical_address;
    hsao.peer.timeout_ms = cfg->hsa_timeout_ms;
    hsao.peer.tls = &tls_hsa;
    hsao.cache_ttl_s = cfg->hsa_cache_ttl_s;
    hsao.beredskap_orgs = cfg->hsa_beredskap_orgs;
    hsao.store = st;
    if (cfg->hsa_url[0] != '\0') {
        rc = gw_hsa_new(&hsao, &hsa);
        if (rc != GW_OK)
            goto out;
        po.check_prescriber = gw_hsa_check_prescriber;
        po.check_ctx = hsa;
    } else {
        gw_log_warn("event=hsa_off detail=\"hsa.url is empty: prescribers "
                    "are NOT checked in HSA (tests only)\"");
    }
    gw_cli_limits(cfg, &po.limits);
    /* Where notifications may go: webhooks.* (https, allowed hosts,
     * public addresses unless named). */
    po.webhooks = &webhooks;
    po.heartbeat_min_s = (int)cfg->webhooks_heartbeat_min_s;
    po.reads_queued = !cfg->audit_durable_reads;
    rc = gw_pipeline_new(&po, &pipeline);
    if (rc != GW_OK)
        goto out;
    gw_err_clear(&err);
    rc = gw_cli_soap_new(cfg, wsdl_dir, xslt_dir, pipeline, &soap, &err);
    if (start_failed(rc, "soap_start_failed", &err))
        goto out;
    memset(&ho, 0, sizeof(ho));
    ho.cfg = cfg;
    ho.pipeline = pipeline;
    ho.store = st;
    ho.soap = soap;
    gw_err_clear(&err);
    rc = gw_http_start(&ho, &http, &err);
    if (start_failed(rc, "http_start_failed", &err))
        goto out;
    gw_log_info("event=ready store=%s listen=%s port=%d tls=%s",
                gw_log_quote(cfg->store_path), cfg->server_listen,
                gw_http_port(http), cfg->server_plain_http ? "off" : "mutual");
    notify_state(ready_state(http, sd_state, sizeof(sd_state)));
    watchdog_ms = gw_notify_watchdog_interval_ms();
    if (watchdog_ms > 0)
        gw_log_info("event=watchdog interval_ms=%lld", (long long)watchdog_ms);
    for (;;) {
        if (wait_signal(&set, watchdog_ms, &sig) != 0)
            break;
        if (sig == 0) {
            /* The main thread is alive and taking signals. */
            notify_state("WATCHDOG=1");
            continue;
        }
        if (sig == SIGHUP) {
            /* Certificates, client CAs, the CRL and [clients] are
             * re-read; other changes need a restart. */
            gw_log_info("event=sighup detail=\"re-reading certificates, "
                        "server.tls_client_ca, server.tls_crl and [clients]; "
                        "restart to apply other changes\"");
            reload_outbound_tls(cfg);
            (void)gw_http_reload(http);
            reload_clients(cli->config_path, http, st);
            continue;
        }
        break;
    }
    gw_log_info("event=serve_stop signal=%d", sig);
    notify_state("STOPPING=1");
    status = GW_EXIT_OK;
out:
    gw_http_stop(http);
    gw_soap_free(soap);
    gw_pipeline_free(pipeline);
    gw_views_free(loaded.views);
    gw_validator_free(loaded.validator);
    gw_conformance_unload();
    gw_hsa_free(hsa);
    gw_sched_stop(sched);
    gw_ticker_stop(&keeper);
    gw_outbox_worker_stop(worker);
    gw_lv_free(lv);
    gw_store_close(st);
    gw_net_policy_release(&webhooks);
    gw_audit_key_clear();
    if (lock_fd >= 0)
        close(lock_fd);
    if (status == GW_EXIT_OK)
        gw_log_info("event=stopped");
    return status;
refuse_err:
    fprintf(stderr, "klasgw serve: configuration: %s\n", err.detail);
refuse:
    gw_audit_key_clear();
    gw_conformance_unload();
    gw_views_free(loaded.views);
    gw_validator_free(loaded.validator);
    return GW_EXIT_FAIL;
}
