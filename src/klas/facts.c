/*
 * facts.c - the table of message facts (facts.h): one row per field with
 * its cap, and the one setter that keeps a value whole or refuses it.
 */
#include "klas/facts.h"

#include <string.h>

const struct gw_msg_fact_field gw_msg_fact_fields[] = {
#define GW_FACT_ROW(name, cap)                                                \
    {#name, offsetof(struct gw_msg_facts, name), (cap)},
    GW_MSG_FACTS(GW_FACT_ROW)
#undef GW_FACT_ROW
};
const size_t gw_msg_nfact_fields =
    sizeof(gw_msg_fact_fields) / sizeof(gw_msg_fact_fields[0]);

gw_rc
gw_msg_fact_set(struct gw_msg_facts *f, const char *name, const char *value,
                size_t len, struct gw_err *err)
{
    for (size_t i = 0; i < gw_msg_nfact_fields; i++) {
        const struct gw_msg_fact_field *ff = &gw_msg_fact_fields[i];
        char *dst;

        if (strcmp(ff->name, name) != 0)
            continue;
        dst = (char *)f + ff->offset;
        dst[0] = '\0';
        if (len > ff->cap)
            return gw_err_set(err, GW_ETOOLARGE, name,
                              "longer than %zu bytes", ff->cap);
        memcpy(dst, value, len);
        dst[len] = '\0';
        return GW_OK;
    }
    return gw_err_set(err, GW_EINVAL, name, "not a message fact");
}
