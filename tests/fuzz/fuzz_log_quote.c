/*
 * fuzz_log_quote.c - libFuzzer target for gw_log_quote: whatever the bytes,
 * the quoted value stays inside its buffer, holds no raw control character
 * or lone quote, decodes back to the first 200 bytes of the input, is
 * marked "..." exactly when the input was longer, and a second quoted value
 * in the same line does not overwrite the first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes q (ending in "..." when cut) into out; the number of bytes, or
 * -1 if q is not well formed. */
static long
decode(const char *q, int cut, char *out)
{
    size_t n = strlen(q), o = 0, end;

    if (n < 2 || q[0] != '"' || q[n - 1] != '"')
        return -1;
    end = n - 1;
    if (cut) {
        if (end < 4 || memcmp(q + end - 3, "...", 3) != 0)
            return -1;
        end -= 3;
    }
    for (size_t i = 1; i < end; i++) {
        unsigned char c = (unsigned char)q[i];
        if (c < 0x20 || c == 0x7f || c == '"')
            return -1; /* must have been escaped */
        if (c != '\\') {
            out[o++] = (char)c;
            continue;
        }
        if (i + 1 >= end)
            return -1;
        c = (unsigned char)q[++i];
        if (c == '"' || c == '\\') {
            out[o++] = (char)c;
        } else if (c == 'x' && i + 2 < end && unhex(q[i + 1]) >= 0 &&
                   unhex(q[i + 2]) >= 0) {
            int v = unhex(q[i + 1]) * 16 + unhex(q[i + 2]);
            if (v >= 0x20 && v != 0x7f)
                return -1; /* only control characters are escaped */
            out[o++] = (char)v;
            i += 2;
        } else {
            return -1;
        }
    }
    return (long)o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *first = NULL;
    char back[256];
    size_t len, keep;
    long n;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    len = strlen(s);
    keep = len < 200 ? len : 200;
    first = strdup(gw_log_quote(s));
    if (first == NULL)
        abort();
    n = decode(first, len > 200, back);
    if (n < 0 || (size_t)n != keep || memcmp(back, s, keep) != 0)
        abort();
    /* a second value (the input's second half) leaves the first alone */
    {
        const char *a = gw_log_quote(s);
        const char *b = gw_log_quote(len > 0 ? s + len / 2 : "");
        if (strcmp(a, first) != 0 || (a == b && len > 0))
            abort();
    }
    free(first);
    free(s);
    return 0;
}
