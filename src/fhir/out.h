/*
 * out.h - internal to fhir/ (and the receipt's writer, which shares
 * jsonw.h): the block the writers of text (fhir.c's plain XML, jsonw.h's
 * JSON) gather their pieces in, handed to the output buffer a block at a
 * time, so that the many small pieces of a tree cost a copy each: an
 * append of each piece, with its checks and NUL, was a seventh of
 * writing a message.
 */
#ifndef GW_FHIR_OUT_H
#define GW_FHIR_OUT_H

#include <stddef.h>
#include <string.h>

#include "core/buf.h"

struct gw_fhir_out {
    struct gw_buf *b;
    size_t n; /* bytes gathered in buf */
    gw_rc rc; /* the first failure of the buffer */
    char buf[4096];
};

/* A new block writing to b (allocate it: it is 4 KB). */
static inline void
gw_fhir_out_init(struct gw_fhir_out *o, struct gw_buf *b)
{
    o->b = b;
    o->n = 0;
    o->rc = GW_OK;
}

/* Hands what is gathered to the buffer. */
void gw_fhir_out_flush(struct gw_fhir_out *o);
/* gw_fhir_out_put for a piece that does not fit what is left. */
void gw_fhir_out_put_full(struct gw_fhir_out *o, const void *p, size_t n);

/* Always inline: a piece is mostly a few bytes of known length, a move
 * or two where inlined, and GCC left a call in fhir.c's writer. */
static inline __attribute__((always_inline)) void
gw_fhir_out_put(struct gw_fhir_out *o, const void *p, size_t n)
{
    if (n <= sizeof(o->buf) - o->n) {
        memcpy(o->buf + o->n, p, n);
        o->n += n;
        return;
    }
    gw_fhir_out_put_full(o, p, n);
}

#endif
