/*
 * log.h - operator logging: one line per event, key=value.
 *
 *   ts=2026-11-22T17:20:01.123Z level=info req=7f3a.. src=server.c:42 event=listening port=8080
 *
 * Callers write the event part themselves as key=value pairs, starting with
 * event=<name>. A value that may hold spaces is quoted by the caller with
 * %s and gw_log_quote(). The request id is per thread: the front sets it when
 * it takes a request and clears it afterwards; "-" outside requests.
 *
 * Never log patient data, personal identity numbers, indication or
 * motivation text: log referensnummer, message ids and row ids instead.
 * Logging is thread-safe; each line is written with one write(2).
 */
#ifndef GW_CORE_LOG_H
#define GW_CORE_LOG_H

#include "core/err.h"

enum gw_log_level {
    GW_LOG_DEBUG = 0,
    GW_LOG_INFO,
    GW_LOG_WARN,
    GW_LOG_ERROR,
    GW_LOG_OFF
};

/* Parses "debug|info|warn|error|off"; GW_EINVAL otherwise. */
gw_rc gw_log_level_parse(const char *s, enum gw_log_level *out) GW_WARN_UNUSED;
void gw_log_set_level(enum gw_log_level level);
enum gw_log_level gw_log_get_level(void);
/* Send lines to fd (default 2, stderr). The fd stays the caller's. */
void gw_log_set_fd(int fd);

/* Request id of the calling thread; NULL or "" resets to "-". Copied. */
void gw_log_set_request_id(const char *id);
const char *gw_log_request_id(void);

void gw_log_write(enum gw_log_level level, const char *file, int line,
                  const char *func, gw_rc rc, const char *fmt, ...)
    GW_PRINTF(6, 7);

/*
 * Quotes s for a key=value line: wraps it in double quotes, escapes quotes,
 * backslashes and control characters (as \xNN), cuts it at 200 bytes of
 * input (marked "..."). Returns a thread-local buffer that stays valid for
 * the next three calls in the same thread, so up to four values can be
 * quoted in one log line. Never writes past its buffer, whatever s holds.
 */
const char *gw_log_quote(const char *s);

#define gw_log_at(lvl, rc, ...)                                               \
    do {                                                                      \
        if ((lvl) >= gw_log_get_level())                                      \
            gw_log_write((lvl), __FILE__, __LINE__, __func__, (rc),           \
                         __VA_ARGS__);                                        \
    } while (0)

#define gw_log_debug(...) gw_log_at(GW_LOG_DEBUG, GW_OK, __VA_ARGS__)
#define gw_log_info(...) gw_log_at(GW_LOG_INFO, GW_OK, __VA_ARGS__)
#define gw_log_warn(...) gw_log_at(GW_LOG_WARN, GW_OK, __VA_ARGS__)
#define gw_log_err(...) gw_log_at(GW_LOG_ERROR, GW_OK, __VA_ARGS__)
/* With a gw_rc printed by name: rc=ESTORE */
#define gw_log_warn_rc(rc, ...) gw_log_at(GW_LOG_WARN, (rc), __VA_ARGS__)
#define gw_log_err_rc(rc, ...) gw_log_at(GW_LOG_ERROR, (rc), __VA_ARGS__)

#endif
