/*
 * licence.c - reads for the pharmacy's work at dispensing and for the
 * searches of products and pharmacies, plus the prescriber's consent.
 *
 * gw_store_licences finds the candidates (granted, valid on the day, the
 * product) or one licence by referensnummer; whether one covers a given
 * patient or unit is the domain's decision (klas/licence.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klas/state.h"
#include "store/licence.h"
#include "store/store_int.h"

/* Licences count while their case is granted: the status comes from klas/
 * (bound as a parameter), the SQL names none. */
#define GRANTED gw_case_status_in_force_code()

static const char SQL_LICENCES[] =
    "SELECT c.refnr, c.licence_type, c.beredskap, coalesce(l.valid_from,''), "
    "coalesce(l.valid_to,''), coalesce(l.total_amount, 0), "
    "coalesce(l.amount_unit, ''), (SELECT coalesce(sum(d.amount), 0) FROM "
    "dispensings d WHERE d.case_id = c.id), coalesce(l.general_level, ''), "
    "coalesce(c.patient_id, ''), coalesce(c.clinic_hsa, ''), "
    "coalesce(c.hospital_hsa, ''), c.status "
    "FROM cases c JOIN licences l ON l.case_id = c.id "
    "WHERE c.purged_ms IS NULL AND ("
    /* by referensnummer, whatever its state */
    " (?1 IS NOT NULL AND c.refnr = ?1) OR"
    /* granted for the product and valid on the day */
    " (?1 IS NULL AND c.status = ?4 AND l.valid_from <= ?2 AND"
    "  l.valid_to >= ?2 AND (l.nplid = ?3 OR klasgw_fold(l.product_name) ="
    "  klasgw_fold(?3)))) "
    "ORDER BY c.licence_type = 'EH' DESC, c.beredskap, l.valid_to DESC "
    "LIMIT 200";

gw_rc
gw_sqlite_licences(struct gw_store *st, const char *refnr, const char *day,
                  const char *product, struct gw_licence_hit **out, size_t *n)
{
    struct conn *c = gw_store_reader_take(st);
    sqlite3_stmt *s = gw_store_stmt(c, SQL_LICENCES);
    gw_rc rc = GW_ESTORE;

    *out = NULL;
    *n = 0;
    if (s != NULL) {
        gw_bind_text(s, 1, refnr);
        gw_bind_text(s, 2, day);
        gw_bind_text(s, 3, product);
        gw_bind_text(s, 4, GRANTED);
        rc = gw_store_collect_cells(c, s, sizeof(**out), 200, gw_rows_licence,
                                    NULL, "licences", (void **)out, n);
        sqlite3_reset(s);
    }
    gw_store_reader_give(st, c);
    return rc;
}

/* instr, not LIKE: the pharmacist's text may hold % or _. */
static const char SQL_NAME_CONTAINS[] =
    "SELECT 1 FROM cases c JOIN licences l ON l.case_id = c.id "
    "WHERE c.purged_ms IS NULL AND c.status = ?3 AND l.valid_from <= ?1 "
    "AND l.valid_to >= ?1 AND instr(klasgw_fold(l.product_name), "
    "klasgw_fold(?2)) > 0 "
    "LIMIT 1";

gw_rc
gw_sqlite_licence_name_contains(struct gw_store *st, const char *day,
                               const char *text, int *found)
{
    struct conn *c;
    sqlite3_stmt *s;
    gw_rc rc = GW_ESTORE;

    *found = 0;
    if (text == NULL || text[0] == '\0')
        return GW_OK;
    c = gw_store_reader_take(st);
    s = gw_store_stmt(c, SQL_NAME_CONTAINS);
    if (s != NULL) {
        gw_bind_text(s, 1, day);
        gw_bind_text(s, 2, text);
        gw_bind_text(s, 3, GRANTED);
        rc = gw_store_one(c, s, NULL, NULL, "licence names");
        *found = rc == GW_OK;
        if (rc == GW_ENOTFOUND)
            rc = GW_OK;
        sqlite3_reset(s);
    }
    gw_store_reader_give(st, c);
    return rc;
}

gw_rc
gw_sqlite_consent_get(struct gw_store *st, const char *hsa,
                     struct gw_consent *out)
{
    gw_rc rc;

    memset(out, 0, sizeof(*out));
    rc = gw_store_read_one(
        st,
        "SELECT coalesce(consented_ms, 0), coalesce(last_applied_ms, 0), "
        "coalesce(last_active_ms, 0) FROM prescribers WHERE hsa = ?",
        hsa, NULL, gw_rows_consent, out, "consent_get");
    return rc == GW_ENOTFOUND ? GW_OK : rc; /* never seen: known 0 */
}

gw_rc
gw_sqlite_consent_renew(struct gw_store *st, const char *hsa, int64_t now_ms)
{
    sqlite3_stmt *s = gw_store_maint_stmt(
        st, "INSERT INTO prescribers (hsa, consented_ms) VALUES (?1, ?2) ON"
            " CONFLICT (hsa) DO UPDATE SET consented_ms = ?2");

    if (s == NULL)
        return GW_ESTORE;
    gw_bind_text(s, 1, hsa);
    sqlite3_bind_int64(s, 2, now_ms);
    return gw_store_maint_done(st, s, 0, "consent_renew");
}

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
