/*
 * model.c - lookups into the generated table and the lexical checks of the
 * primitive types (the value regexes of the R4 definitions, by hand: each
 * is small, and libc's regex would accept more than FHIR does).
 */
#include "fhir/model.h"
#include "fhir/path.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/digits.h"

/*
 * The index of the table: every type by name and every element by (type,
 * name), in open-addressed hash tables built once per process from the
 * generated table (names are unique per type and types unique by name;
 * test_fhir checks that every entry is found). The walks look an element
 * up for every node and every JSON key: a linear strcmp over a type's
 * elements (up to 56) was a tenth of a submission's CPU.
 */
#define TYPE_SLOTS 512u  /* a power of two, > 2 x gw_fhir_ntypes */
#define ELEM_SLOTS 4096u /* a power of two, > 2 x gw_fhir_nelems */
#define EMPTY 0xFFFFu

static uint16_t type_slot[TYPE_SLOTS], elem_slot[ELEM_SLOTS];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;
static int index_ready; /* set (release) when index_build is done */

/* Each indexed type's required elements (min > 0), in definition order:
 * req[req_at[t] .. req_at[t + 1]), indexes into the type's elements. The
 * walks check them for every element, and most of a type's are optional. */
static uint16_t req[ELEM_SLOTS / 2], req_at[TYPE_SLOTS / 2 + 1];
static unsigned req_types; /* how many types have their list */

/* FNV-1a of name, mixed with seed (the type's index for an element). */
static unsigned
name_hash(const char *name, unsigned seed)
{
    unsigned h = 2166136261u ^ (seed * 0x9E3779B1u);

    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 16777619u;
    return h ^ (h >> 15);
}

/* Fills both tables (once; types past half the slots stay out, which
 * test_fhir would show). */
static void
index_build(void)
{
    memset(type_slot, 0xFF, sizeof(type_slot));
    memset(elem_slot, 0xFF, sizeof(elem_slot));
    for (unsigned t = 0; t < gw_fhir_ntypes && t < TYPE_SLOTS / 2; t++) {
        const struct gw_fhir_type *ty = &gw_fhir_types[t];
        unsigned h = name_hash(ty->name, 0);
        while (type_slot[h & (TYPE_SLOTS - 1)] != EMPTY)
            h++;
        type_slot[h & (TYPE_SLOTS - 1)] = (uint16_t)t;
        if (req_types == t) {
            unsigned at = req_at[t], k;
            for (k = 0; k < ty->n && at < ELEM_SLOTS / 2; k++)
                if (gw_fhir_elems[ty->first + k].min > 0)
                    req[at++] = (uint16_t)k;
            if (k == ty->n) { /* else: this type and the ones after it
                               * go without (the walks check them all) */
                req_at[t + 1] = (uint16_t)at;
                req_types = t + 1;
            }
        }
        for (unsigned i = ty->first; i < (unsigned)ty->first + ty->n; i++) {
            unsigned g = name_hash(gw_fhir_elems[i].name, t);
            while (elem_slot[g & (ELEM_SLOTS - 1)] != EMPTY)
                g++;
            elem_slot[g & (ELEM_SLOTS - 1)] = (uint16_t)i;
        }
    }
    __atomic_store_n(&index_ready, 1, __ATOMIC_RELEASE);
}

/* The tables, built once. The walks look up every element: a flag read
 * first spares them pthread_once's call. */
static inline void
index_wait(void)
{
    if (!__atomic_load_n(&index_ready, __ATOMIC_ACQUIRE))
        pthread_once(&index_once, index_build);
}

const struct gw_fhir_type *
gw_fhir_type_find(const char *name)
{
    unsigned h, k;

    index_wait();
    for (h = name_hash(name, 0); (k = type_slot[h & (TYPE_SLOTS - 1)]) != EMPTY;
         h++)
        if (strcmp(gw_fhir_types[k].name, name) == 0)
            return &gw_fhir_types[k];
    return NULL;
}

const struct gw_fhir_type *
gw_fhir_resource_find(const char *name)
{
    const struct gw_fhir_type *t = gw_fhir_type_find(name);

    return t != NULL && t->kind == GW_FHIR_RESOURCE ? t : NULL;
}

const struct gw_fhir_elem *
gw_fhir_elem_find(const struct gw_fhir_type *t, const char *name)
{
    unsigned h, k, ti = (unsigned)(t - gw_fhir_types);

    index_wait();
    for (h = name_hash(name, ti);
         (k = elem_slot[h & (ELEM_SLOTS - 1)]) != EMPTY; h++)
        if (k >= t->first && k < (unsigned)t->first + t->n &&
            strcmp(gw_fhir_elems[k].name, name) == 0)
            return &gw_fhir_elems[k];
    return NULL;
}

unsigned
gw_fhir_type_required(const struct gw_fhir_type *t, const uint16_t **idx)
{
    unsigned ti = (unsigned)(t - gw_fhir_types);

    index_wait();
    if (ti >= req_types) {
        *idx = NULL;
        return t->n;
    }
    *idx = &req[req_at[ti]];
    return (unsigned)(req_at[ti + 1] - req_at[ti]);
}

/* YYYY, YYYY-MM or YYYY-MM-DD; returns the length used or 0. */
static size_t
date_part(const char *s, int full)
{
    int y, m, d;

    if (!gw_all_digits(s, 4) || (y = gw_num_at(s, 4)) < 1)
        return 0;
    if (s[4] != '-')
        return full ? 0 : 4;
    if (!gw_all_digits(s + 5, 2) || (m = gw_num_at(s + 5, 2)) < 1 || m > 12)
        return 0;
    if (s[7] != '-')
        return full ? 0 : 7;
    if (!gw_all_digits(s + 8, 2))
        return 0;
    d = gw_num_at(s + 8, 2);
    if (d < 1 || d > gw_days_in_month(y, m))
        return 0;
    return 10;
}

/* hh:mm:ss(.fff)? ; returns length or 0. */
static size_t
time_part(const char *s)
{
    size_t n = 8;

    if (!gw_all_digits(s, 2) || s[2] != ':' || !gw_all_digits(s + 3, 2) ||
        s[5] != ':' || !gw_all_digits(s + 6, 2))
        return 0;
    if (gw_num_at(s, 2) > 23 || gw_num_at(s + 3, 2) > 59 ||
        gw_num_at(s + 6, 2) > 60)
        return 0;
    if (s[8] == '.') {
        n = 9;
        if (!isdigit((unsigned char)s[n]))
            return 0;
        while (isdigit((unsigned char)s[n]))
            n++;
    }
    return n;
}

/* Z or +hh:mm / -hh:mm; returns length or 0. */
static size_t
zone(const char *s)
{
    if (s[0] == 'Z')
        return 1;
    if ((s[0] == '+' || s[0] == '-') && gw_all_digits(s + 1, 2) &&
        s[3] == ':' && gw_all_digits(s + 4, 2) && gw_num_at(s + 1, 2) <= 14 &&
        gw_num_at(s + 4, 2) <= 59)
        return 6;
    return 0;
}

static int
datetime(const char *s, int instant)
{
    size_t n = date_part(s, instant), t, z;

    if (n == 0)
        return 0;
    if (s[n] == '\0')
        return !instant;
    if (n != 10 || s[n] != 'T' || (t = time_part(s + n + 1)) == 0)
        return 0;
    n += 1 + t;
    z = zone(s + n);
    return z > 0 && s[n + z] == '\0';
}

static int
integer(const char *s, long min)
{
    char *end;
    long v;

    if (s[0] == '+' || (s[0] == '0' && s[1] != '\0') ||
        (s[0] == '-' && (s[1] == '0' || s[1] == '\0')))
        return 0;
    v = strtol(s, &end, 10);
    return *end == '\0' && end != s && v >= min && v <= 2147483647L &&
           v >= -2147483648L;
}

static int
decimal(const char *s)
{
    size_t i = 0;

    if (s[i] == '-')
        i++;
    if (s[i] == '0' && isdigit((unsigned char)s[i + 1]))
        return 0;
    if (!isdigit((unsigned char)s[i]))
        return 0;
    while (isdigit((unsigned char)s[i]))
        i++;
    if (s[i] == '.') {
        i++;
        if (!isdigit((unsigned char)s[i]))
            return 0;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        if (s[i] == '+' || s[i] == '-')
            i++;
        if (!isdigit((unsigned char)s[i]))
            return 0;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    return s[i] == '\0' && i <= 64;
}

int
gw_fhir_prim_valid(enum gw_fhir_prim p, const char *v, const char **why)
{
    size_t n = strlen(v);

    *why = NULL;
    if (n == 0 && p != GW_FHIR_P_XHTML) {
        *why = "empty value";
        return 0;
    }
    switch (p) {
    case GW_FHIR_P_BOOLEAN:
        if (strcmp(v, "true") && strcmp(v, "false"))
            *why = "not a boolean";
        break;
    case GW_FHIR_P_INTEGER:
        if (!integer(v, -2147483648L))
            *why = "not an integer";
        break;
    case GW_FHIR_P_POSITIVEINT:
        if (!integer(v, 1))
            *why = "not a positive integer";
        break;
    case GW_FHIR_P_UNSIGNEDINT:
        if (!integer(v, 0))
            *why = "not an unsigned integer";
        break;
    case GW_FHIR_P_DECIMAL:
        if (!decimal(v))
            *why = "not a decimal";
        break;
    case GW_FHIR_P_CODE:
        if (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]) ||
            strstr(v, "  ") != NULL || strpbrk(v, "\t\r\n") != NULL)
            *why = "a code has no leading, trailing or double whitespace";
        break;
    case GW_FHIR_P_ID:
        if (n > 64 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                                "wxyz0123456789-.") != n)
            *why = "an id is 1-64 letters, digits, '-' or '.'";
        break;
    case GW_FHIR_P_URI:
    case GW_FHIR_P_URL:
    case GW_FHIR_P_CANONICAL:
        if (strpbrk(v, " \t\r\n") != NULL)
            *why = "a URI has no whitespace";
        break;
    case GW_FHIR_P_OID:
        if (strncmp(v, "urn:oid:", 8) != 0 || strspn(v + 8, "0123456789.") !=
                                                  n - 8)
            *why = "not an OID (urn:oid:1.2.3)";
        break;
    case GW_FHIR_P_UUID:
        if (strncmp(v, "urn:uuid:", 9) != 0 || n != 45)
            *why = "not a UUID (urn:uuid:...)";
        break;
    case GW_FHIR_P_BASE64:
        if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789+/= \r\n\t") != n)
            *why = "not base64";
        break;
    case GW_FHIR_P_DATE:
        if (date_part(v, 0) != n)
            *why = "not a date (YYYY, YYYY-MM or YYYY-MM-DD)";
        break;
    case GW_FHIR_P_DATETIME:
        if (!datetime(v, 0))
            *why = "not a dateTime (with seconds and a time zone when a "
                   "time is given)";
        break;
    case GW_FHIR_P_INSTANT:
        if (!datetime(v, 1))
            *why = "not an instant (YYYY-MM-DDThh:mm:ss with a time zone)";
        break;
    case GW_FHIR_P_TIME:
        if (time_part(v) != n)
            *why = "not a time (hh:mm:ss)";
        break;
    default: /* string, markdown, xhtml: any text */
        break;
    }
    return *why == NULL;
}

/* Appends ".name" or ".name[index]" (index < 0: none) to the path of
 * `size` bytes, cut at its end as snprintf would. */
static void
path_append(char *path, size_t size, const char *name, int index)
{
    size_t old = strlen(path), at = old, cap = size - 1;
    char num[16];
    int nd = 0;

    if (old && at < cap)
        path[at++] = '.';
    for (; *name != '\0' && at < cap; name++)
        path[at++] = *name;
    if (index >= 0) {
        unsigned u = (unsigned)index;
        do
            num[nd++] = (char)('0' + u % 10);
        while ((u /= 10) != 0);
        if (at < cap)
            path[at++] = '[';
        while (nd > 0 && at < cap)
            path[at++] = num[--nd];
        if (at < cap)
            path[at++] = ']';
    }
    path[at] = '\0';
}

const char *
gw_fhir_path_text(struct gw_fhir_path *p)
{
    p->text[0] = '\0';
    for (size_t i = 0; i < p->n && i < GW_FHIR_PATH_SEGS; i++)
        path_append(p->text, sizeof(p->text), p->seg[i].name, p->seg[i].index);
    return p->text;
}
