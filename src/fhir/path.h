/*
 * path.h - internal to fhir/: the element path of a walk over a document
 * (json.c's and xml.c's), e.g. "Bundle.entry[1].resource.birthDate", as a
 * fault reports it.
 *
 * A walk keeps the path as its (name, index) segments, pushed and popped
 * at every element, and writes it out only for a fault: writing it at
 * every element was a tenth of a walk. The first GW_FHIR_PATH_SEGS are
 * kept: each writes at least two bytes (".x"), so they fill the text, and
 * any after them would be cut.
 */
#ifndef GW_FHIR_PATH_H
#define GW_FHIR_PATH_H

#include <stddef.h>

#define GW_FHIR_PATH_SEGS 256

struct gw_fhir_path {
    size_t n; /* segments pushed, also those past GW_FHIR_PATH_SEGS */
    struct {
        const char *name;
        int index;
    } seg[GW_FHIR_PATH_SEGS];
    char text[512]; /* gw_fhir_path_text's */
};

/* An empty path; the segments are left as they are (a push writes one
 * before it is read): zeroing them cost more than checking a small
 * document. */
static inline void
gw_fhir_path_init(struct gw_fhir_path *p)
{
    p->n = 0;
    p->text[0] = '\0';
}

/* Appends ".name" or ".name[index]" (index < 0: none); name must live
 * until the walk ends. Returns what gw_fhir_path_pop goes back to. */
static inline size_t
gw_fhir_path_push(struct gw_fhir_path *p, const char *name, int index)
{
    size_t old = p->n++;

    if (old < GW_FHIR_PATH_SEGS) {
        p->seg[old].name = name;
        p->seg[old].index = index;
    }
    return old;
}

static inline void
gw_fhir_path_pop(struct gw_fhir_path *p, size_t old)
{
    p->n = old;
}

/* The path written out into p->text, cut at its end as snprintf would;
 * returns p->text. */
const char *gw_fhir_path_text(struct gw_fhir_path *p);

#endif
