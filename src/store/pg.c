/*
 * pg.c - the PostgreSQL backend (backend.h: gw_store_pg): not yet.
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"

gw_rc
gw_store_dsn_check(const char *dsn, struct gw_err *err)
{
    char *msg = NULL;
    PQconninfoOption *o;

    if (dsn == NULL || dsn[0] == '\0')
        return gw_err_set(err, GW_ECONFIG, "store.dsn",
                          "store.dsn: empty, but store.backend is "
                          "postgresql");
    o = PQconninfoParse(dsn, &msg);
    if (o == NULL) {
        gw_err_set(err, GW_ECONFIG, "store.dsn", "store.dsn: %s",
                   msg ? msg : "not a connection string");
        PQfreemem(msg);
        return GW_ECONFIG;
    }
    PQconninfoFree(o);
    return GW_OK;
}
