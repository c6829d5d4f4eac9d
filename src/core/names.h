/*
 * names.h - tables looked up by name: the names of an enum's values, or
 * rows that begin with their name (a command, a resource kind, a media
 * type and the format it stands for). One look-up walks them all, so a
 * table is only its rows.
 */
#ifndef GW_CORE_NAMES_H
#define GW_CORE_NAMES_H

#include <stddef.h>

#include "core/err.h"

/* A row that maps a name to an enum's value. */
struct gw_name_value {
    const char *name;
    int value;
};

/* The row of rows (n rows of size bytes, each beginning with its name, a
 * const char *) whose name is name, compared exactly; NULL when none is,
 * or name is NULL. A row whose name is NULL is never found. Serves a
 * struct gw_name_value table, any struct table whose first member is the
 * name, and a const char *const names[] indexed by an enum. */
const void *gw_name_find(const void *rows, size_t n, size_t size,
                         const char *name);

/* The same over a whole array, rows and their size from its type. */
#define GW_NAME_FIND(rows, name)                                             \
    gw_name_find((rows), sizeof(rows) / sizeof((rows)[0]),                   \
                 sizeof((rows)[0]), (name))

/* names[value] of an enum's names (n of them, indexed by its values), or
 * none when value is out of range. */
const char *gw_name_of(const char *const *names, size_t n, int value,
                       const char *none);

/* The value whose name in names (n, indexed by the values) is name, into
 * *out; GW_EINVAL when no name is (or name is NULL). */
gw_rc gw_name_parse(const char *const *names, size_t n, const char *name,
                    int *out) GW_WARN_UNUSED;

#endif
