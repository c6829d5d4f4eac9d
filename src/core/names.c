/*
 * names.c - tables looked up by name (see names.h).
 */
#include "core/names.h"

#include <string.h>

const void *
gw_name_find(const void *rows, size_t n, size_t size, const char *name)
{
    const char *row = rows;

    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++, row += size) {
        /* A struct's first member is at its start (C11 6.7.2.1). */
        const char *s = *(const char *const *)(const void *)row;
        if (s != NULL && strcmp(s, name) == 0)
            return row;
    }
    return NULL;
}

const char *
gw_name_of(const char *const *names, size_t n, int value, const char *none)
{
    return value >= 0 && (size_t)value < n ? names[value] : none;
}

gw_rc
gw_name_parse(const char *const *names, size_t n, const char *name, int *out)
{
    const char *const *row = gw_name_find(names, n, sizeof(*names), name);

    if (row == NULL)
        return GW_EINVAL;
    *out = (int)(row - names);
    return GW_OK;
}
