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

/* The registers an operator searches: Sök produkt (its query and rows a
 * struct gw_product: klas/register.h), Sök apotek (struct gw_pharmacy,
 * connected pharmacies only). */
enum gw_register { GW_REGISTER_PRODUCTS, GW_REGISTER_PHARMACIES };
#define GW_REGISTER_FIELDS 8
/* The fields of query q that register r's search matches, in their order,
 * into f; how many. */
size_t gw_store_register_fields(enum gw_register r, const void *q,
                                const char *f[GW_REGISTER_FIELDS]);
/* The rows of r (at most 120, *out malloc'd) matching every field of q
 * that is given, case-insensitively: anywhere in its column, or by its
 * start for codes (NPL id, ATC, GLN). */
gw_rc gw_store_register_search(struct gw_store *st, enum gw_register r,
                               const void *q, void **out,
                               size_t *n) GW_WARN_UNUSED;
/* The same, typed. */
gw_rc gw_store_product_search(struct gw_store *st, const struct gw_product *q,
                              struct gw_product **out,
                              size_t *n) GW_WARN_UNUSED;
gw_rc gw_store_pharmacy_search(struct gw_store *st, const struct gw_pharmacy *q,
                               struct gw_pharmacy **out,
                               size_t *n) GW_WARN_UNUSED;
/* A connected pharmacy put into the register (Sök apotek). */
gw_rc gw_store_pharmacy_put(struct gw_store *st,
                            const struct gw_pharmacy *p) GW_WARN_UNUSED;

#endif
