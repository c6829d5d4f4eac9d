/*
 * notify.c - the sd_notify datagram (see notify.h). Written out rather than
 * linked from libsystemd: the protocol is a documented, stable datagram of
 * a few lines, and the gateway then needs no systemd library to build or
 * run (nor on hosts without systemd, where it is a no-op).
 *
 * What it does not do: file descriptor passing (FDSTORE), credentials,
 * or keeping the socket open between calls.
 */
#include "core/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

gw_rc
gw_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t salen;
    size_t plen, slen;
    ssize_t sent;
    int fd = -1, e;
    gw_rc rc = GW_OK;

    if (path == NULL || path[0] == '\0')
        return GW_OK;
    plen = strlen(path);
    slen = strlen(state);
    /* A path, or "@name" for the abstract namespace (leading NUL). */
    if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sa.sun_path) ||
        slen == 0)
        return GW_EINVAL;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, plen);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
                        (path[0] == '/'));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = GW_EIO;
        goto out;
    }
    do
        sent = sendto(fd, state, slen, MSG_NOSIGNAL,
                      (const struct sockaddr *)&sa, salen);
    while (sent < 0 && errno == EINTR);
    if (sent < 0 || (size_t)sent != slen)
        rc = GW_EIO;
out:
    e = errno;
    if (fd >= 0)
        close(fd);
    errno = e;
    return rc;
}

int64_t
gw_notify_watchdog_interval_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    char *end;
    unsigned long long us, p;

    if (usec == NULL || usec[0] == '\0')
        return 0;
    if (pid != NULL && pid[0] != '\0') {
        errno = 0;
        p = strtoull(pid, &end, 10);
        if (errno != 0 || *end != '\0' || p != (unsigned long long)getpid())
            return 0;
    }
    errno = 0;
    us = strtoull(usec, &end, 10);
    if (errno != 0 || *end != '\0' || us == 0 || us > INT64_MAX / 2)
        return 0;
    /* Half the interval, as sd_watchdog_enabled(3) advises. */
    return us / 2000 > 0 ? (int64_t)(us / 2000) : 1;
}
