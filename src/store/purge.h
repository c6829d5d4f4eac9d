/*
 * purge.h - retention (purge.c): personal data purged, tombstones kept.
 */
#ifndef GW_STORE_PURGE_H
#define GW_STORE_PURGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct gw_store;

struct gw_purge_counts {
    long long motivations; /* M without application, past retention */
    long long decided;     /* Bev/Avs/Avi past retention */
};
/*
 * Purges personal data: motivations (status M) created before
 * now - motivation_months, and decided cases decided before
 * now - decided_months. Documents, attachments, patient identity and
 * stored answers go; the case row stays as a counted tombstone (refnr,
 * type, status, dates). Audited. dry_run only counts.
 */
gw_rc gw_store_purge(struct gw_store *st, int64_t now_ms, int motivation_months,
                     int decided_months, int dry_run,
                     struct gw_purge_counts *out) GW_WARN_UNUSED;

#endif
