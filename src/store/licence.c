/*
 * licence.c - the searches of products and pharmacies (Sök produkt, Sök
 * apotek) on SQLite. The reads for the pharmacy's work at dispensing
 * (gw_store_licences, gw_store_licence_name_contains) and the
 * prescriber's consent are both backends' (shared_reads.c); whether a
 * licence covers a given patient or unit is the domain's decision
 * (klas/licence.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/licence.h"
#include "store/store_int.h"

/* --- Sök produkt, Sök apotek ------------------------------------------ */

/* Binds fields[i] to parameter i + 1 for "LIKE '%' || ? || '%' ESCAPE
 * '\\'": a user's % and _ are letters, not wildcards. */
static void
bind_like(sqlite3_stmt *s, const char *const *fields, int n)
{
    for (int i = 0; i < n; i++) {
        char esc[512];
        size_t o = 0;
        for (const char *p = fields[i]; *p && o + 2 < sizeof(esc); p++) {
            if (*p == '%' || *p == '_' || *p == '\\')
                esc[o++] = '\\';
            esc[o++] = *p;
        }
        esc[o] = '\0';
        sqlite3_bind_text(s, i + 1, esc, -1, SQLITE_TRANSIENT);
    }
}

gw_rc
gw_sqlite_product_search(struct gw_store *st, const struct gw_product *q,
                        struct gw_product **out, size_t *n)
{
    struct conn *c = gw_store_reader_take(st);
    /* Every given field narrows (AND); each matches a part of the value,
     * case-insensitively (LIKE with escaped wildcards). */
    sqlite3_stmt *s = gw_store_stmt(
        c, "SELECT name, coalesce(substances,''), coalesce(holder,''), "
           "coalesce(country,''), coalesce(nplid,''), coalesce(form,''), "
           "coalesce(strength,''), coalesce(atc,'') FROM products WHERE "
           "(?1 = '' OR klasgw_fold(name) LIKE '%' || klasgw_fold(?1) || '%' ESCAPE '\\') AND "
           "(?2 = '' OR klasgw_fold(substances) LIKE '%' || klasgw_fold(?2) || '%' ESCAPE '\\') AND "
           "(?3 = '' OR klasgw_fold(holder) LIKE '%' || klasgw_fold(?3) || '%' ESCAPE '\\') AND "
           "(?4 = '' OR klasgw_fold(country) LIKE '%' || klasgw_fold(?4) || '%' ESCAPE '\\') AND "
           "(?5 = '' OR klasgw_fold(nplid) LIKE klasgw_fold(?5) || '%' ESCAPE '\\') AND "
           "(?6 = '' OR klasgw_fold(form) LIKE '%' || klasgw_fold(?6) || '%' ESCAPE '\\') AND "
           "(?7 = '' OR klasgw_fold(atc) LIKE klasgw_fold(?7) || '%' ESCAPE '\\') "
           "ORDER BY name, strength LIMIT 120");
    const char *f[7] = {q->name,  q->substances, q->holder, q->country,
                        q->nplid, q->form,       q->atc};
    gw_rc rc = GW_ESTORE;

    *out = NULL;
    *n = 0;
    if (s != NULL) {
        bind_like(s, f, 7);
        rc = gw_store_collect_cells(c, s, sizeof(**out), 120, gw_rows_product,
                                    NULL, "product_search", (void **)out, n);
        sqlite3_reset(s);
    }
    gw_store_reader_give(st, c);
    return rc;
}

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

gw_rc
gw_sqlite_pharmacy_search(struct gw_store *st, const struct gw_pharmacy *q,
                         struct gw_pharmacy **out, size_t *n)
{
    struct conn *c = gw_store_reader_take(st);
    sqlite3_stmt *s = gw_store_stmt(
        c, "SELECT gln, name, coalesce(actor,''), coalesce(address,''), "
           "coalesce(city,'') FROM pharmacies WHERE connected = 1 AND "
           "(?1 = '' OR klasgw_fold(name) LIKE '%' || klasgw_fold(?1) || '%' ESCAPE '\\') AND "
           "(?2 = '' OR klasgw_fold(actor) LIKE '%' || klasgw_fold(?2) || '%' ESCAPE '\\') AND "
           "(?3 = '' OR klasgw_fold(address) LIKE '%' || klasgw_fold(?3) || '%' ESCAPE '\\') AND "
           "(?4 = '' OR klasgw_fold(city) LIKE '%' || klasgw_fold(?4) || '%' ESCAPE '\\') AND "
           "(?5 = '' OR klasgw_fold(gln) LIKE klasgw_fold(?5) || '%' ESCAPE '\\') "
           "ORDER BY name LIMIT 120");
    const char *f[5] = {q->name, q->actor, q->address, q->city, q->gln};
    gw_rc rc = GW_ESTORE;

    *out = NULL;
    *n = 0;
    if (s != NULL) {
        bind_like(s, f, 5);
        rc = gw_store_collect_cells(c, s, sizeof(**out), 120, gw_rows_pharmacy,
                                    NULL, "pharmacy_search", (void **)out, n);
        sqlite3_reset(s);
    }
    gw_store_reader_give(st, c);
    return rc;
}
