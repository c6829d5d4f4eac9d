/*
 * log.c - key=value operator log lines (see log.h).
 *
 * Each line is formatted into a stack buffer and written with a single
 * write(2), so lines from different threads never interleave. Lines longer
 * than the buffer are cut and end with "...". The level is read without a
 * lock: a stale read only shows or hides one line.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/names.h"

static volatile int log_level = GW_LOG_INFO;
static volatile int log_fd = 2;
static _Thread_local char request_id[64] = "-";
/* Worst case of one quoted value: the quotes, every byte as \xNN, the
 * "..." of a cut value and the NUL. A ring of them lets the values of one
 * log line be quoted side by side. */
#define QUOTE_MAX 200
#define QUOTE_SIZE (2 + 4 * QUOTE_MAX + 3 + 1)
#define QUOTE_RING 4
static _Thread_local char quote_buf[QUOTE_RING][QUOTE_SIZE];
static _Thread_local unsigned quote_next;

static const char *const level_names[] = {"debug", "info", "warn", "error",
                                          "off"};

gw_rc
gw_log_level_parse(const char *s, enum gw_log_level *out)
{
    int v;

    if (gw_name_parse(level_names, GW_LOG_OFF + 1, s, &v) != GW_OK)
        return GW_EINVAL;
    *out = (enum gw_log_level)v;
    return GW_OK;
}

void gw_log_set_level(enum gw_log_level level) { log_level = (int)level; }
enum gw_log_level gw_log_get_level(void) { return (enum gw_log_level)log_level; }
void gw_log_set_fd(int fd) { log_fd = fd; }

void
gw_log_set_request_id(const char *id)
{
    snprintf(request_id, sizeof(request_id), "%s",
             (id != NULL && id[0] != '\0') ? id : "-");
}

const char *gw_log_request_id(void) { return request_id; }

const char *
gw_log_quote(const char *s)
{
    static const char hex[] = "0123456789abcdef";
    char *q = quote_buf[quote_next++ % QUOTE_RING];
    size_t o = 0, i = 0;

    q[o++] = '"';
    for (; s != NULL && s[i] != '\0' && i < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            q[o++] = '\\';
            q[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            q[o++] = '\\';
            q[o++] = 'x';
            q[o++] = hex[c >> 4];
            q[o++] = hex[c & 0xf];
        } else {
            q[o++] = (char)c;
        }
    }
    if (s != NULL && s[i] != '\0') {
        memcpy(q + o, "...", 3);
        o += 3;
    }
    q[o++] = '"';
    q[o] = '\0';
    return q;
}

void
gw_log_write(enum gw_log_level level, const char *file, int line,
             const char *func, gw_rc rc, const char *fmt, ...)
{
    char buf[2048];
    struct timespec ts;
    struct tm tm;
    const char *base = strrchr(file, '/');
    size_t n;
    int w;
    va_list ap;

    (void)func;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    w = snprintf(buf, sizeof(buf),
                 "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s req=%s "
                 "src=%s:%d ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                 level_names[level], request_id, base ? base + 1 : file, line);
    n = w > 0 ? (size_t)w : 0;
    va_start(ap, fmt);
    w = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);
    n += w > 0 ? (size_t)w : 0;
    if (rc != GW_OK && n < sizeof(buf))
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, " rc=%s",
                              gw_rc_name(rc));
    if (n >= sizeof(buf) - 1) {
        n = sizeof(buf) - 5;
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n++] = '\n';
    if (write(log_fd, buf, n) < 0) {
        /* Nowhere left to report a failing log; drop the line. */
    }
}
