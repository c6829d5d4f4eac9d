/*
 * test_notify.c - the sd_notify datagram (core/notify.c) against real
 * AF_UNIX sockets, as systemd listens for it: a path socket, an abstract
 * one, none set (a no-op), unusable addresses; and the watchdog interval
 * from WATCHDOG_USEC / WATCHDOG_PID.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/notify.h"

/* A datagram socket bound at name ("@..." abstract); returns its fd. */
static int
listen_at(const char *name)
{
    struct sockaddr_un sa;
    size_t n = strlen(name);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_true(n < sizeof(sa.sun_path));
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    assert_int_equal(bind(fd, (struct sockaddr *)&sa,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
                                      n + (name[0] != '@'))),
                     0);
    return fd;
}

static void
expect_datagram(int fd, const char *want)
{
    char got[256];
    ssize_t n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);

    assert_true(n >= 0);
    got[n] = '\0';
    assert_string_equal(got, want);
}

static void
test_notify_without_socket_is_a_no_op(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(gw_notify("READY=1"), GW_OK);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(gw_notify("READY=1"), GW_OK);
    unsetenv("NOTIFY_SOCKET");
}

static void
test_notify_sends_to_a_path_socket(void **state)
{
    char dir[] = "/tmp/klasgw-notify-XXXXXX", path[128];
    int fd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    fd = listen_at(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(gw_notify("READY=1\nSTATUS=serving"), GW_OK);
    expect_datagram(fd, "READY=1\nSTATUS=serving");
    assert_int_equal(gw_notify("STOPPING=1"), GW_OK);
    expect_datagram(fd, "STOPPING=1");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void
test_notify_sends_to_an_abstract_socket(void **state)
{
    char name[64];
    int fd;

    (void)state;
    snprintf(name, sizeof(name), "@klasgw-test-notify-%ld", (long)getpid());
    fd = listen_at(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(gw_notify("WATCHDOG=1"), GW_OK);
    expect_datagram(fd, "WATCHDOG=1");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}

static void
test_notify_refuses_unusable_addresses(void **state)
{
    static const struct {
        const char *name, *socket;
        gw_rc want;
    } cases[] = {
        {"relative path", "run/notify", GW_EINVAL},
        {"too long for sun_path",
         "/tmp/"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         GW_EINVAL},
        {"nobody listens", "/nonexistent/klasgw/notify", GW_EIO},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv("NOTIFY_SOCKET", cases[i].socket, 1);
        if (gw_notify("READY=1") != cases[i].want)
            fail_msg("%s: wanted %d", cases[i].name, (int)cases[i].want);
    }
    unsetenv("NOTIFY_SOCKET");
}

static void
test_notify_watchdog_interval_is_half_of_usec_for_us_only(void **state)
{
    char self[32], other[32];
    const struct {
        const char *name, *usec, *pid;
        int64_t want;
    } cases[] = {
        {"no watchdog", NULL, NULL, 0},
        {"20 s, no pid", "20000000", NULL, 10000},
        {"20 s, our pid", "20000000", self, 10000},
        {"20 s, another pid", "20000000", other, 0},
        {"1 us rounds up to 1 ms", "1", NULL, 1},
        {"zero", "0", NULL, 0},
        {"not a number", "20s", NULL, 0},
        {"empty", "", NULL, 0},
    };
    (void)state;
    snprintf(self, sizeof(self), "%ld", (long)getpid());
    snprintf(other, sizeof(other), "%ld", (long)getpid() + 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got;
        if (cases[i].usec)
            setenv("WATCHDOG_USEC", cases[i].usec, 1);
        else
            unsetenv("WATCHDOG_USEC");
        if (cases[i].pid)
            setenv("WATCHDOG_PID", cases[i].pid, 1);
        else
            unsetenv("WATCHDOG_PID");
        got = gw_notify_watchdog_interval_ms();
        if (got != cases[i].want)
            fail_msg("%s: %lld ms, wanted %lld", cases[i].name, (long long)got,
                     (long long)cases[i].want);
    }
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_without_socket_is_a_no_op),
        cmocka_unit_test(test_notify_sends_to_a_path_socket),
        cmocka_unit_test(test_notify_sends_to_an_abstract_socket),
        cmocka_unit_test(test_notify_refuses_unusable_addresses),
        cmocka_unit_test(
            test_notify_watchdog_interval_is_half_of_usec_for_us_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
