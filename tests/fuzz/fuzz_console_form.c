/*
 * fuzz_console_form.c - libFuzzer target for what the operator console
 * reads from the network before it trusts anything (src/http/console.c):
 * a form body (not NUL-terminated: the bytes as received) for the fields
 * it asks for, and the same bytes, cut at the first NUL as a header value
 * is, as Accept-Language and as the lang parameter. A field comes back
 * only as a NUL-terminated token of [A-Za-z0-9_-] that fits its buffer and
 * appears in the body as name=value; the language is always "sv" or "en";
 * the escaper's output holds no raw markup character.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
field(const uint8_t *data, size_t size, const char *name, size_t cap)
{
    char out[96], pair[128];
    int found;

    memset(out, 'x', sizeof(out));
    found = gw_console_form_field((const char *)data, size, name, out, cap);
    if (memchr(out, '\0', cap) == NULL)
        abort();
    if (!found) {
        if (out[0] != '\0')
            abort();
        return;
    }
    if (out[0] == '\0')
        abort();
    for (const char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            abort();
    snprintf(pair, sizeof(pair), "%s=%s", name, out);
    for (size_t i = 0, n = strlen(pair); i + n <= size; i++)
        if (memcmp(data + i, pair, n) == 0)
            return;
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    const char *lang;
    struct gw_buf b;

    if (s == NULL)
        return 0;
    field(data, size, "csrf", 65);
    field(data, size, "lang", 8);
    field(data, size, "x", 1);
    memcpy(s, data, size);
    s[size] = '\0';
    lang = gw_console_lang(NULL, s);
    if (strcmp(lang, "sv") != 0 && strcmp(lang, "en") != 0)
        abort();
    lang = gw_console_lang(s, NULL);
    if (strcmp(lang, "sv") != 0 && strcmp(lang, "en") != 0)
        abort();
    gw_buf_init(&b, 8 * size + 16);
    if (gw_html_escape(&b, s) != GW_OK)
        abort();
    if (b.len > 0 && strpbrk(b.data, "<>\"'") != NULL)
        abort();
    gw_buf_release(&b);
    free(s);
    return 0;
}
