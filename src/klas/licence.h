/*
 * licence.h - does a granted licence cover a dispensing? (DOMAIN.md,
 * licence types and pharmacy duties), without I/O.
 *
 *   enskild (EH)        a prescription for its own patient
 *   generell (GH)       a requisition from its care unit, at its level:
 *                         unit            the unit itself
 *                         administration  any unit of the administration
 *                                         (the hospital the motivation names)
 *                         region          any unit of the same region: the
 *                                         same organisation number in the
 *                                         HSA-id, so private providers under
 *                                         contract (their own number) are
 *                                         not covered
 *   beredskap (GH)      prescriptions and requisitions alike
 *
 * Validity and amount are checked where the dispensing is recorded
 * (store/writer.c), atomically with the record.
 */
#ifndef GW_KLAS_LICENCE_H
#define GW_KLAS_LICENCE_H

#include "core/err.h"

struct gw_licence_facts {
    const char *licence_type;  /* EH, GH */
    int beredskap;
    const char *general_level; /* unit, administration, region; NULL = unit */
    const char *patient_id;    /* EH */
    const char *clinic_hsa;    /* the unit the motivation names */
    const char *hospital_hsa;  /* its hospital / administration */
};

enum gw_dispensing_kind { GW_DISPENSE_PRESCRIPTION, GW_DISPENSE_REQUISITION };

struct gw_dispensing_ctx {
    enum gw_dispensing_kind kind;
    const char *patient_id;         /* prescription */
    const char *unit_hsa;           /* requisition */
    const char *administration_hsa; /* requisition, may be NULL */
};

/* GW_OK when the licence covers the dispensing, GW_EDENIED with the reason
 * (English, no personal data) otherwise. */
gw_rc gw_licence_covers(const struct gw_licence_facts *l,
                        const struct gw_dispensing_ctx *d, struct gw_err *err)
    GW_WARN_UNUSED;

#endif
