/*
 * err.c - lookups into the error table of err.h. No state.
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct row {
    gw_rc rc;
    int http;
    const char *name, *fhir, *riv, *en, *sv;
};

static const struct row rows[] = {
#define GW_ERR_ROW(name, val, http, fhir, riv, en, sv)                        \
    {GW_##name, http, #name, fhir, riv, en, sv},
    GW_ERRNO_MAP(GW_ERR_ROW)
#undef GW_ERR_ROW
};

static const struct row *
find(gw_rc rc)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (rows[i].rc == rc)
            return &rows[i];
    return find(GW_EINTERNAL);
}

const char *gw_rc_name(gw_rc rc) { return find(rc)->name; }
const char *gw_rc_message(gw_rc rc) { return find(rc)->en; }
const char *gw_rc_message_sv(gw_rc rc) { return find(rc)->sv; }
int gw_rc_http_status(gw_rc rc) { return find(rc)->http; }
const char *gw_rc_fhir_code(gw_rc rc) { return find(rc)->fhir; }
const char *gw_rc_riv_error_id(gw_rc rc) { return find(rc)->riv; }

int
gw_rc_is_retryable(gw_rc rc)
{
    return strcmp(find(rc)->riv, "TECHNICAL_ERROR") == 0;
}

void
gw_err_clear(struct gw_err *err)
{
    if (err == NULL)
        return;
    err->rc = GW_OK;
    err->path[0] = '\0';
    err->detail[0] = '\0';
    err->detail_sv[0] = '\0';
}

gw_rc
gw_err_set(struct gw_err *err, gw_rc rc, const char *path, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return rc;
    err->rc = rc;
    snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    err->detail_sv[0] = '\0';
    return rc;
}

gw_rc
gw_err_sv(struct gw_err *err, gw_rc rc, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return rc;
    va_start(ap, fmt);
    vsnprintf(err->detail_sv, sizeof(err->detail_sv), fmt, ap);
    va_end(ap);
    return rc;
}
