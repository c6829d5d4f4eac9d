/*
 * test_pdf.c - the printable copy's PDF (map/pdf.c) and its fonts, read
 * back with poppler-utils (pdffonts, pdftotext).
 *
 * What it proves: DejaVu Sans is embedded in every copy; a copy whose text
 * all fits CP1252 (Swedish names) embeds it as a simple TrueType font with
 * WinAnsi, not as the UTF-8 CID font whose 65,536-entry glyph map libharu
 * builds and deflates per PDF (three quarters of a PDF's CPU); a name
 * outside CP1252 (in the text or in the footer's meta) still gets the
 * Unicode font and prints as written. A copy made on a document that
 * pdf.c reuses (its fonts loaded once) is byte for byte the copy a fresh
 * one gives, also while other threads make copies: nothing of an earlier
 * copy (its glyphs, its pages) carries over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

/* map/pdf.c, declared where view.c uses it. */
gw_rc gw_view_pdf_from_html(const void *html_doc, char **pdf, size_t *len);

/* The output of "tool PDF-path after", malloc'd. */
static char *
run_over(const char *pdf, size_t len, const char *tool, const char *after)
{
    char path[] = "/tmp/test_pdf_XXXXXX", cmd[512];
    int fd = mkstemp(path);
    char *out = calloc(1, 1 << 16);
    FILE *p;
    size_t n;

    assert_true(fd >= 0);
    assert_non_null(out);
    assert_int_equal(write(fd, pdf, len), (ssize_t)len);
    close(fd);
    snprintf(cmd, sizeof(cmd), "%s %s %s 2>&1", tool, path, after);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, (1 << 16) - 1, p);
    out[n] = '\0';
    if (pclose(p) != 0)
        fail_msg("%s (poppler-utils, scripts/install-deps.sh): %s", tool, out);
    unlink(path);
    return out;
}

/* The copy of print-html.xsl's shape: a heading, rows, the meta the
 * footer reads. */
static xmlDocPtr
copy_of(const char *name, const char *refnr)
{
    char html[2048];
    xmlDocPtr doc;

    snprintf(html, sizeof(html),
             "<html><head><meta name=\"klas-refnr\" content=\"%s\"/>"
             "<meta name=\"klas-printed\" content=\"2026-01-15 16:34 CET\"/>"
             "</head><body><h1>Licensmotivering</h1><table>"
             "<tr><th>Patient<span>Patient</span></th><td>%s</td></tr>"
             "<tr><th>Läkemedel<span>Medicinal product</span></th>"
             "<td>Sömnmedel 5 mg – 300 ml</td></tr></table></body></html>",
             refnr, name);
    doc = xmlReadMemory(html, (int)strlen(html), "copy.html", "UTF-8",
                        XML_PARSE_NONET);
    assert_non_null(doc);
    return doc;
}

static void
check_copy(const char *name, const char *refnr, const char *font_type,
           const char *never_type)
{
    xmlDocPtr doc = copy_of(name, refnr);
    char *pdf = NULL, *fonts, *text;
    size_t len = 0;

    assert_int_equal(gw_view_pdf_from_html(doc, &pdf, &len), GW_OK);
    fonts = run_over(pdf, len, "pdffonts", "");
    text = run_over(pdf, len, "pdftotext -enc UTF-8", "-");
    /* Every font of the copy (a line after the dashes) is DejaVu Sans,
     * embedded ("emb" yes), of the type. */
    {
        const char *l = strstr(fonts, "\n---");
        int n = 0;
        assert_non_null(l);
        while ((l = strchr(l + 1, '\n')) != NULL && l[1] != '\0') {
            char row[200];
            snprintf(row, sizeof(row), "%.*s", (int)strcspn(l + 1, "\n"), l + 1);
            if (strstr(row, "DejaVuSans") == NULL || strstr(row, font_type) == NULL ||
                (never_type != NULL && strstr(row, never_type) != NULL) ||
                strstr(row, " yes ") == NULL)
                fail_msg("%s: want %s embedded, pdffonts says:\n%s", name,
                         font_type, fonts);
            n++;
        }
        assert_int_equal(n, 2); /* regular and bold */
    }
    if (strstr(text, name) == NULL || strstr(text, refnr) == NULL ||
        strstr(text, "Sömnmedel 5 mg – 300 ml") == NULL)
        fail_msg("%s: not printed as written:\n%s", name, text);
    free(text);
    free(fonts);
    free(pdf);
    xmlFreeDoc(doc);
}

static void
test_pdf_swedish_copy_embeds_simple_truetype(void **state)
{
    (void)state;
    check_copy("Åsa Öberg-Lindén", "2026123456", "TrueType", "CID TrueType");
}

static void
test_pdf_name_outside_cp1252_embeds_unicode_font(void **state)
{
    (void)state;
    check_copy("Nguyễn Thị Dvořák", "2026123456", "CID TrueType", NULL);
    check_copy("Łukasiewicz-Şahin", "2026123456", "CID TrueType", NULL);
}

static void
test_pdf_footer_outside_cp1252_embeds_unicode_font(void **state)
{
    (void)state;
    check_copy("Åsa Öberg", "2026-Ł-1", "CID TrueType", NULL);
}

/* The PDF of copy_of(name, refnr), malloc'd. */
static char *
pdf_of(const char *name, const char *refnr, size_t *len)
{
    xmlDocPtr doc = copy_of(name, refnr);
    char *pdf = NULL;

    assert_int_equal(gw_view_pdf_from_html(doc, &pdf, len), GW_OK);
    xmlFreeDoc(doc);
    return pdf;
}

static const char *const names[] = {"Åsa Öberg-Lindén", "Nguyễn Thị Dvořák",
                                    "Bo Ek"};
static char *first[3];
static size_t first_len[3];

static void *
render_again(void *arg)
{
    int *bad = arg;

    for (int round = 0; round < 6; round++) {
        int k = round % 3;
        size_t len = 0;
        char *pdf = pdf_of(names[k], "2026123456", &len);
        if (len != first_len[k] || memcmp(pdf, first[k], len) != 0)
            (*bad)++;
        free(pdf);
    }
    return NULL;
}

static void
test_pdf_reused_document_gives_the_same_copy(void **state)
{
    pthread_t t[4];
    int bad[4] = {0};

    (void)state;
    /* The first copies: a simple TrueType copy, a Unicode one, and a
     * short one with few glyphs, which would grow if the glyphs of the
     * copies before it stayed in its font. */
    for (int k = 0; k < 3; k++)
        first[k] = pdf_of(names[k], "2026123456", &first_len[k]);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, render_again, &bad[i]), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(bad[i], 0);
    }
    for (int k = 0; k < 3; k++)
        free(first[k]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pdf_swedish_copy_embeds_simple_truetype),
        cmocka_unit_test(test_pdf_name_outside_cp1252_embeds_unicode_font),
        cmocka_unit_test(test_pdf_footer_outside_cp1252_embeds_unicode_font),
        cmocka_unit_test(test_pdf_reused_document_gives_the_same_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
