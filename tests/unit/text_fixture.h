/*
 * text_fixture.h - shared by tests that work on example messages as text:
 * read a file of the source tree, edit a copy (plant a value, add an
 * element), count occurrences. Every helper fails the test on its own
 * misuse, so a fixture that no longer matches the example is noticed.
 */
#ifndef GW_TEST_TEXT_FIXTURE_H
#define GW_TEST_TEXT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_FN __attribute__((unused)) static

/* The file at path, NUL-terminated, its length in *len (NULL: not
 * wanted); caller frees. The one file reader of the tests. */
TEXT_FN char *
text_slurp_path(const char *path, size_t *len)
{
    FILE *f;
    char *buf;
    long n;

    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

/* The file at GW_SOURCE_DIR/rel, NUL-terminated; caller frees. */
TEXT_FN char *
text_slurp(const char *rel)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", GW_SOURCE_DIR, rel);
    return text_slurp_path(path, NULL);
}

/* s with its first `from` replaced by `to`; frees s. Fails the test when
 * `from` is absent. */
TEXT_FN char *
text_replace(char *s, const char *from, const char *to)
{
    char *at = strstr(s, from);
    size_t head, fl = strlen(from), tl = strlen(to), n = strlen(s);
    char *r;

    if (at == NULL)
        fail_msg("fixture edit: '%.80s' not found", from);
    head = (size_t)(at - s);
    r = malloc(n - fl + tl + 1);
    assert_non_null(r);
    memcpy(r, s, head);
    memcpy(r + head, to, tl);
    memcpy(r + head + tl, at + fl, n - head - fl + 1);
    free(s);
    return r;
}

/* Every `from` replaced by `to` (`to` must not contain `from`); frees s. */
TEXT_FN char *
text_replace_all(char *s, const char *from, const char *to)
{
    if (strstr(to, from) != NULL)
        fail_msg("fixture edit: '%s' contains '%s'", to, from);
    while (strstr(s, from) != NULL)
        s = text_replace(s, from, to);
    return s;
}

TEXT_FN int
text_count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

#endif
