/*
 * sim.h - peer simulators for the demo and the tests: `klasgw sim hsa|lv|
 * pharmacy`. Synthetic data only. Each runs in the foreground until
 * SIGTERM/SIGINT and logs one line per request it serves (ids, never
 * patient data).
 *
 *   hsa       GetCredentialsForPersonIncludingProtectedPerson from a fixture
 *             file of prescribers (tests/fixtures/hsa/prescribers.tsv)
 *   lv        RegisterLicenseApplication / RegisterLicenseSupplement; drops
 *             duplicates by messageId; after each new application calls the
 *             gateway back over SOAP as client role lv (ReportCaseRegistered,
 *             then optionally RequestSupplement and ReportDecision), or,
 *             with --call, makes one such call on command and exits
 *   pharmacy  webhook receiver: logs every POST it gets, answers 204;
 *             with --subscribe TOPIC and/or --save DIR also a Subscriptions
 *             Backport IG client that checks what it gets and catches up
 *             with $events after a restart (subs.h)
 *
 * Failure modes for tests (--fail MODE, the first --fail-count requests,
 * default all): down (close the connection unanswered), slow (answer after
 * --slow-ms), fault (SOAP fault, HTTP 500), fault200 (SOAP fault inside
 * HTTP 200), drop (LV: register, then close without answering).
 */
#ifndef GW_SIM_SIM_H
#define GW_SIM_SIM_H

#include "config/config.h"

/* The simulator's options: `klasgw sim`'s rows in cli/options.tsv name each
 * (that row is also its help), and the command hands them over one by
 * one as getopt_long returns them. */
enum gw_sim_opt {
    GW_SIM_PORT = 256,
    GW_SIM_FIXTURE,
    GW_SIM_FAIL,
    GW_SIM_FAIL_COUNT,
    GW_SIM_SLOW_MS,
    GW_SIM_HANG_MS,
    GW_SIM_GATEWAY,
    GW_SIM_CLIENT,
    GW_SIM_THEN,
    GW_SIM_DELAY_MS,
    GW_SIM_CALL,
    GW_SIM_REFNR,
    GW_SIM_PATIENT,
    GW_SIM_SUBSCRIBE,
    GW_SIM_HEADER,
    GW_SIM_HEARTBEAT,
    GW_SIM_SAVE,
    GW_SIM_TLS_CERT,
    GW_SIM_TLS_KEY,
    GW_SIM_TLS_CA,
    GW_SIM_REQUIRE_CLIENT_CERT
};
/* The next option (a gw_sim_opt; -1 at the end, anything else an option
 * the simulator does not know) and its argument in *arg. */
typedef int (*gw_sim_next_opt)(void *ctx, const char **arg);

/* Runs the simulator kind names ("hsa", "lv" or "pharmacy") with the
 * options next gives; returns a process exit status, 2 for a usage error
 * (said on stderr; the caller prints the help). */
int gw_sim_main(const struct gw_config *cfg, const char *kind,
                gw_sim_next_opt next, void *ctx);

#endif
