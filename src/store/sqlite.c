/*
 * sqlite.c - the SQLite backend's table of operations (backend.h). The
 * functions are where they always were: db.c (open, close, pragmas,
 * migrations), writer.c (group commit), outbox.c, purge.c, licence.c,
 * health.c; its each, first, list, update and txn (db.c: gw_sqlite_each
 * ...) serve the statements of shared_reads.c.
 */
#include "store/store_int.h"

#define GW_STORE_FN(op) gw_sqlite_##op
GW_STORE_BACKEND_TABLE(gw_store_sqlite, "sqlite", struct gw_store);
