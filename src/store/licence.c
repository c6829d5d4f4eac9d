/*
 * licence.c - a pharmacy as it names itself (Sök apotek), registered on
 * SQLite: by the writer inside its write, or on the maintenance
 * connection. The reads of licence.h (licences, consent, the searches of
 * products and pharmacies) are both backends' (shared_reads.c); whether
 * a licence covers a given patient or unit is the domain's decision
 * (klas/licence.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/licence.h"
#include "store/store_int.h"

static const char SQL_PHARMACY_PUT[] =
    "INSERT INTO pharmacies (gln, name, actor, address, city, connected) "
    "VALUES (?1, ?2, ?3, ?4, ?5, 1) ON CONFLICT (gln) DO UPDATE SET "
    "name = ?2, actor = coalesce(?3, actor), address = coalesce(?4, "
    "address), city = coalesce(?5, city), connected = 1";

gw_rc
gw_store_pharmacy_upsert(struct conn *c, const struct gw_pharmacy *p)
{
    sqlite3_stmt *s = gw_store_stmt(c, SQL_PHARMACY_PUT);
    gw_rc rc;

    if (s == NULL)
        return GW_ESTORE;
    gw_bind_text(s, 1, p->gln);
    gw_bind_text(s, 2, p->name);
    gw_bind_text(s, 3, p->actor[0] ? p->actor : NULL);
    gw_bind_text(s, 4, p->address[0] ? p->address : NULL);
    gw_bind_text(s, 5, p->city[0] ? p->city : NULL);
    rc = gw_store_rc(c->db, sqlite3_step(s), "pharmacy_put");
    sqlite3_reset(s);
    return rc;
}

gw_rc
gw_sqlite_pharmacy_put(struct gw_store *st, const struct gw_pharmacy *p)
{
    gw_rc rc;

    pthread_mutex_lock(&st->mmu);
    rc = gw_store_pharmacy_upsert(&st->m, p);
    pthread_mutex_unlock(&st->mmu);
    return rc;
}

