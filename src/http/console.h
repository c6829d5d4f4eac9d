/*
 * console.h - the operator's console at /console/ (console.c): shared
 * with its assets (console_assets.c) and its unit test.
 */
#ifndef GW_HTTP_CONSOLE_H
#define GW_HTTP_CONSOLE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* The style sheet and the script, compiled in (console_assets.c). */
extern const char gw_console_css[];
extern const char gw_console_js[];

/* Appends s to b with & < > " ' as character references, so the text can
 * stand in an element or a quoted attribute. NULL appends nothing. */
gw_rc gw_html_escape(struct gw_buf *b, const char *s) GW_WARN_UNUSED;

/* The value of field name of an application/x-www-form-urlencoded body
 * into out (size): only when it is made of [A-Za-z0-9_-] (the console's
 * fields are tokens and words; anything else is refused, never decoded).
 * 1 when found and fits, else 0 (out ""). */
int gw_console_form_field(const char *body, size_t len, const char *name,
                          char *out, size_t size);

/* The CSRF token of a caller: hex HMAC-SHA256 under a per-process secret
 * of the client label and user (user NULL: ""). out: at least 65 bytes.
 * GW_EINTERNAL when no secret could be drawn. */
gw_rc gw_console_csrf(const char *label, const char *user,
                      char out[65]) GW_WARN_UNUSED;
/* Whether token is the caller's (compared in constant time). */
int gw_console_csrf_ok(const char *label, const char *user, const char *token);

/* The language of a request: "sv" or "en", from the lang parameter when
 * it names one, else the first of them in Accept-Language, else "sv". */
const char *gw_console_lang(const char *param, const char *accept_language);

#endif
