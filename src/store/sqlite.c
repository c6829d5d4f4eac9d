/*
 * sqlite.c - the SQLite backend's table of operations (backend.h). The
 * functions are where they always were: db.c (open, close, pragmas,
 * migrations), writer.c (group commit), read.c, outbox.c, audit_log.c,
 * purge.c, hsa_cache.c, licence.c, subscription.c, health.c.
 */
#include "store/store_int.h"

#define ROW(ret, pub, op, params, args) .op = gw_sqlite_##op,
const struct gw_store_backend gw_store_sqlite = {
    .name = "sqlite",
    .open = gw_sqlite_open,
    GW_STORE_OPS(ROW) GW_STORE_VOID_OPS(ROW)
};
#undef ROW
