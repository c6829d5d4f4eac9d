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
    long long decided;     /* decided (GW_ST_DECIDED) past retention */
};
/*
 * Purges personal data: motivations (status M) created before
 * now - motivation_months, and decided cases decided before
 * now - decided_months. Documents, attachments, patient identity and
 * stored answers go; the case row stays as a counted tombstone (refnr,
 * type, status, dates). Audited.
 *
 * mode: GW_PURGE_NOW purges (an operator's `klasgw purge`);
 * GW_PURGE_DRY_RUN only counts; GW_PURGE_DAILY is the scheduler's run:
 * at most one a UTC day for all the nodes that share the store (a node
 * that finds the day's run logged, or another node purging, leaves it),
 * and logged in purge_log even when it found nothing.
 */
enum gw_purge_mode { GW_PURGE_NOW = 0, GW_PURGE_DRY_RUN = 1, GW_PURGE_DAILY = 2 };

gw_rc gw_store_purge(struct gw_store *st, int64_t now_ms, int motivation_months,
                     int decided_months, int mode,
                     struct gw_purge_counts *out) GW_WARN_UNUSED;

#endif
