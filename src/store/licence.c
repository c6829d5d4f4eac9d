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
#include "store/write_apply.h"

gw_rc
gw_sqlite_pharmacy_put(struct gw_store *st, const struct gw_pharmacy *p)
{
    gw_rc rc;

    pthread_mutex_lock(&st->mmu);
    rc = gw_write_pharmacy_put(gw_store_conn_run, &st->m, p);
    pthread_mutex_unlock(&st->mmu);
    return rc;
}

