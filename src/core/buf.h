/*
 * buf.h - a growable byte buffer with a cap (after curl's dynbuf and git's
 * strbuf).
 *
 * Invariants: data is NUL-terminated whenever it is non-NULL; len never
 * exceeds max. Growing past max fails with GW_ETOOLARGE and leaves the
 * buffer as it was, so every buffer filled from outside has a named limit.
 * Life cycle: gw_buf_init (caller storage) ... gw_buf_release, or hand the
 * bytes over with gw_buf_take (caller frees with free()).
 */
#ifndef GW_CORE_BUF_H
#define GW_CORE_BUF_H

#include <stddef.h>
#include <string.h>

#include "core/err.h"

struct gw_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

void gw_buf_init(struct gw_buf *b, size_t max);
void gw_buf_release(struct gw_buf *b);
void gw_buf_reset(struct gw_buf *b); /* len = 0, keeps the memory */
/* gw_buf_append's path when the bytes do not fit in the memory held. */
gw_rc gw_buf_append_grow(struct gw_buf *b, const void *p, size_t n)
    GW_WARN_UNUSED;

/* Inline when the bytes fit: the serialisers append a few bytes at a
 * time, and the call and its reserve were a tenth of writing a message. */
static inline GW_WARN_UNUSED gw_rc
gw_buf_append(struct gw_buf *b, const void *p, size_t n)
{
    if (n < b->cap - b->len && n <= b->max - b->len) {
        if (n > 0)
            memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return GW_OK;
    }
    return gw_buf_append_grow(b, p, n);
}

static inline GW_WARN_UNUSED gw_rc
gw_buf_append_str(struct gw_buf *b, const char *s)
{
    return gw_buf_append(b, s, strlen(s));
}

gw_rc gw_buf_appendf(struct gw_buf *b, const char *fmt, ...)
    GW_PRINTF(2, 3) GW_WARN_UNUSED;
/* Returns the bytes (NUL-terminated, never NULL) and re-inits b; *len may
 * be NULL. NULL only when memory runs out. Caller frees. */
char *gw_buf_take(struct gw_buf *b, size_t *len);

#endif
