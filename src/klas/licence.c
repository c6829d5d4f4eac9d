/*
 * licence.c - the coverage rules of licence.h.
 */
#include "klas/licence.h"

#include <string.h>

static int
same(const char *a, const char *b)
{
    return a != NULL && b != NULL && a[0] != '\0' && strcmp(a, b) == 0;
}

/* "SE2321000016-XYZ": the organisation part, "SE" + 10 digits. */
static int
same_org(const char *a, const char *b)
{
    return a != NULL && b != NULL && strlen(a) >= 12 && strlen(b) >= 12 &&
           strncmp(a, b, 12) == 0;
}

gw_rc
gw_licence_covers(const struct gw_licence_facts *l,
                  const struct gw_dispensing_ctx *d, struct gw_err *err)
{
    const char *level = l->general_level ? l->general_level : "unit";
    int enskild = l->licence_type && strcmp(l->licence_type, "EH") == 0;

    if (d->kind == GW_DISPENSE_PRESCRIPTION) {
        if (enskild) {
            if (same(l->patient_id, d->patient_id))
                return GW_OK;
            gw_err_set(err, GW_EDENIED, "patient",
                       "the enskild licence is for another patient");
            return gw_err_sv(err, GW_EDENIED,
                             "den enskilda licensen gäller en annan patient");
        }
        if (l->beredskap)
            return GW_OK;
        gw_err_set(err, GW_EDENIED, "kind",
                   "a general licence covers requisitions to wards, "
                   "not prescriptions");
        return gw_err_sv(err, GW_EDENIED,
                         "en generell licens gäller rekvisition till "
                         "vårdenheter, inte recept");
    }
    if (enskild) {
        gw_err_set(err, GW_EDENIED, "kind",
                   "an enskild licence covers prescriptions for its "
                   "patient, not requisitions");
        return gw_err_sv(err, GW_EDENIED,
                         "en enskild licens gäller recept för sin patient, "
                         "inte rekvisition");
    }
    if (l->beredskap || same(l->clinic_hsa, d->unit_hsa))
        return GW_OK;
    if (strcmp(level, "administration") == 0 &&
        (same(l->hospital_hsa, d->administration_hsa) ||
         same(l->hospital_hsa, d->unit_hsa)))
        return GW_OK;
    if (strcmp(level, "region") == 0 && same_org(l->clinic_hsa, d->unit_hsa))
        return GW_OK;
    gw_err_set(err, GW_EDENIED, "unit",
               "the general licence does not cover this care unit "
               "(level %s)",
               level);
    return gw_err_sv(err, GW_EDENIED,
                     "den generella licensen gäller inte denna vårdenhet "
                     "(nivå %s)",
                     level);
}
