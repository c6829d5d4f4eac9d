/*
 * notify.h - telling the service manager how serve is doing: systemd's
 * sd_notify protocol (Type=notify units), without libsystemd.
 *
 * The protocol is one datagram of "KEY=VALUE\n" lines to the AF_UNIX
 * socket named in $NOTIFY_SOCKET (a path, or "@name" for the abstract
 * namespace). Without $NOTIFY_SOCKET (run by hand, in tests, under another
 * supervisor) every call is a no-op that succeeds. The watchdog interval
 * comes from $WATCHDOG_USEC, meant for us only when $WATCHDOG_PID is unset
 * or our PID.
 *
 * No state is kept and nothing is allocated: each call reads the
 * environment and sends one datagram, so it is safe from any thread.
 */
#ifndef GW_CORE_NOTIFY_H
#define GW_CORE_NOTIFY_H

#include <stdint.h>

#include "core/err.h"

/* Sends state (e.g. "READY=1\nSTATUS=listening on 8443") to
 * $NOTIFY_SOCKET. GW_OK when sent or when there is no socket to send to;
 * GW_EINVAL when $NOTIFY_SOCKET is not a usable address or state too
 * long; GW_EIO when sending failed (errno says why). */
gw_rc gw_notify(const char *state) GW_WARN_UNUSED;

/* How often the watchdog wants WATCHDOG=1, in milliseconds: half of
 * $WATCHDOG_USEC (at least 1), or 0 when no watchdog is asked of this
 * process. */
int64_t gw_notify_watchdog_interval_ms(void);

#endif
