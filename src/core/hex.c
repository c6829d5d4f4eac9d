/*
 * hex.c - bytes written as lowercase hexadecimal.
 */
#include "core/hex.h"

void
gw_hex(const void *p, size_t n, char *out)
{
    static const char digit[] = "0123456789abcdef";
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digit[b[i] >> 4];
        out[2 * i + 1] = digit[b[i] & 15];
    }
    out[2 * n] = '\0';
}
