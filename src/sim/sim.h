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

/* Runs the simulator argv names; returns a process exit status. */
int gw_sim_main(const struct gw_config *cfg, int argc, char **argv);

#endif
