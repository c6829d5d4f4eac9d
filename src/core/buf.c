/*
 * buf.c - capped growable buffer (see buf.h).
 */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

void
gw_buf_init(struct gw_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
gw_buf_release(struct gw_buf *b)
{
    free(b->data);
    gw_buf_init(b, b->max);
}

void
gw_buf_reset(struct gw_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static gw_rc
reserve(struct gw_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > b->max - b->len)
        return GW_ETOOLARGE;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return GW_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return GW_ENOMEM;
    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0';
    return GW_OK;
}

gw_rc
gw_buf_append_grow(struct gw_buf *b, const void *p, size_t n)
{
    gw_rc rc = reserve(b, n);

    if (rc != GW_OK)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return GW_OK;
}

gw_rc
gw_buf_appendf(struct gw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    gw_rc rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return GW_EINVAL;
    rc = reserve(b, (size_t)n);
    if (rc != GW_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return GW_OK;
}

char *
gw_buf_take(struct gw_buf *b, size_t *len)
{
    char *p;

    if (b->data == NULL && reserve(b, 0) != GW_OK)
        return NULL;
    p = b->data;
    if (len != NULL)
        *len = b->len;
    gw_buf_init(b, b->max);
    return p;
}
