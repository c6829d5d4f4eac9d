/*
 * refusals.h - how many messages were refused, by rule id, since the
 * process started: counts only, for the operator's console. Fed from the
 * pipeline's one refusal path (pipeline.c, refuse()); nothing of the
 * message is kept, not even which case it was about.
 */
#ifndef GW_PIPELINE_REFUSALS_H
#define GW_PIPELINE_REFUSALS_H

#include <stddef.h>

#include "core/err.h"

struct gw_outcome;

/* Rule ids counted apart; later ones share the row GW_REFUSALS_OTHER. */
#define GW_REFUSALS_MAX 64
#define GW_REFUSALS_OTHER "(other)"

/* Counts one refusal: once under each distinct rule id of the error
 * issues of o, or, when o has none (NULL or empty), under the gw_rc name
 * of rc ("EFORBIDDEN"). Thread-safe, no allocation. */
void gw_refusals_count(gw_rc rc, const struct gw_outcome *o);

struct gw_refusal_count {
    char rule[48];
    long long n;
};
/* Copies up to max rows, most refused first; returns how many. */
size_t gw_refusals_get(struct gw_refusal_count *out, size_t max);
/* Forgets every count (tests). */
void gw_refusals_reset(void);

#endif
