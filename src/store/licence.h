/*
 * licence.h - the registers the counter reads (licence.c): licences valid at
 * dispensing, consent, products, pharmacies.
 */
#ifndef GW_STORE_LICENCE_H
#define GW_STORE_LICENCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "klas/register.h"

struct gw_store;

struct gw_licence_hit {
    char refnr[16], licence_type[4], general_level[16], status[8];
    int beredskap;
    char valid_from[16], valid_to[16], amount_unit[32];
    double total_amount, dispensed;
    char patient_id[16], clinic_hsa[40], hospital_hsa[40];
};
/* Licences: the one named refnr (any status), or (refnr NULL) those granted
 * for product (NPL id or name) and valid on day, enskild first, at most
 * 200. Whether one covers a dispensing is klas/licence.h's decision.
 * Caller frees *out with free(). patient_id is personal data. */
gw_rc gw_store_licences(struct gw_store *st, const char *refnr, const char *day,
                        const char *product, struct gw_licence_hit **out,
                        size_t *n) GW_WARN_UNUSED;
/* Whether any licence granted and valid on day names a product whose name
 * contains text (case-insensitive: ASCII and Latin-1 letters, Å Ä Ö too).
 * Sets *found to 0 or 1 only: which licence, whose, stays unsaid. For the
 * refusal of a check by part of a name (issue #14). */
gw_rc gw_store_licence_name_contains(struct gw_store *st, const char *day,
                                     const char *text,
                                     int *found) GW_WARN_UNUSED;

struct gw_consent {
    int known;
    int64_t consented_ms, last_applied_ms, last_active_ms;
};
gw_rc gw_store_consent_get(struct gw_store *st, const char *hsa,
                           struct gw_consent *out) GW_WARN_UNUSED;
gw_rc gw_store_consent_renew(struct gw_store *st, const char *hsa,
                             int64_t now_ms) GW_WARN_UNUSED;

/* Sök produkt (struct gw_product: klas/register.h). */
gw_rc gw_store_product_search(struct gw_store *st, const struct gw_product *q,
                              struct gw_product **out,
                              size_t *n) GW_WARN_UNUSED;

/* Sök apotek (struct gw_pharmacy: klas/register.h). */
gw_rc gw_store_pharmacy_put(struct gw_store *st,
                            const struct gw_pharmacy *p) GW_WARN_UNUSED;
gw_rc gw_store_pharmacy_search(struct gw_store *st, const struct gw_pharmacy *q,
                               struct gw_pharmacy **out,
                               size_t *n) GW_WARN_UNUSED;

#endif
