/*
 * hsa_cache.c - HSA answers kept until they expire, on the maintenance
 * connection (not through the group-commit writer: a cache entry is no
 * message and may be lost).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "store/store_int.h"

gw_rc
gw_sqlite_hsa_put(struct gw_store *st, const char *person_hsa,
                 const char *answer, size_t len, int64_t expires_ms)
{
    sqlite3_stmt *s = gw_store_maint_stmt(
        st, "INSERT INTO hsa_cache (person_hsa, answer, fetched_ms,"
            " expires_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT"
            " (person_hsa) DO UPDATE SET answer = ?2,"
            " fetched_ms = ?3, expires_ms = ?4");

    if (s == NULL)
        return GW_ESTORE;
    gw_bind_text(s, 1, person_hsa);
    sqlite3_bind_blob(s, 2, answer, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, gw_clock_now_ms());
    sqlite3_bind_int64(s, 4, expires_ms);
    return gw_store_maint_done(st, s, 0, "hsa_put");
}

gw_rc
gw_sqlite_hsa_get(struct gw_store *st, const char *person_hsa, int64_t now_ms,
                  char **answer, size_t *len)
{
    struct gw_bytes_out out = {answer, len};

    *answer = NULL;
    *len = 0;
    return gw_store_read_one(st,
                             "SELECT answer FROM hsa_cache WHERE person_hsa = "
                             "?1 AND expires_ms > ?2",
                             person_hsa, &now_ms, gw_rows_bytes, &out,
                             "hsa_get");
}
