/*
 * pdf.c - the printable copy as PDF: the HTML of xslt/print-html.xsl (the
 * one place that says which fields a printout holds) laid out on A4 pages
 * with libharu.
 *
 * Only the structure the stylesheet writes is read: h1, h2, and table
 * rows of th (label, English in a span) and td (value). Text is set in
 * Helvetica with WinAnsi encoding, which holds Swedish letters; anything
 * outside it is transliterated by iconv. Long values wrap; pages break.
 */
#include "map/view.h"

#include <hpdf.h>
#include <iconv.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARGIN 50.0f
#define LABEL_W 170.0f
#define PAGE_BOTTOM 60.0f

struct layout {
    HPDF_Doc pdf;
    HPDF_Page page;
    HPDF_Font font, bold;
    float y;
    int failed;
    iconv_t cd;
};

static void
on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    struct layout *l = user_data;

    (void)error_no;
    (void)detail_no;
    l->failed = 1;
}

/* UTF-8 to WinAnsi (CP1252) for the base-14 fonts. */
static void
winansi(struct layout *l, const char *in, char *out, size_t size)
{
    char *src = (char *)in, *dst = out;
    size_t inleft = strlen(in), outleft = size - 1;

    iconv(l->cd, NULL, NULL, NULL, NULL);
    while (inleft > 0 && outleft > 0 &&
           iconv(l->cd, &src, &inleft, &dst, &outleft) == (size_t)-1) {
        if (outleft == 0)
            break;
        /* Not representable or malformed: a '?' and go on. */
        *dst++ = '?';
        outleft--;
        src++;
        inleft--;
    }
    *dst = '\0';
}

static void
new_page(struct layout *l)
{
    l->page = HPDF_AddPage(l->pdf);
    HPDF_Page_SetSize(l->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    l->y = HPDF_Page_GetHeight(l->page) - MARGIN;
}

static void
need(struct layout *l, float h)
{
    if (l->y - h < PAGE_BOTTOM)
        new_page(l);
}

/* Writes text at x within width w from the current line down, wrapping at
 * spaces; returns the lines used. */
static int
wrapped(struct layout *l, HPDF_Font font, float size, float x, float w,
        const char *text)
{
    char buf[4096];
    const char *p;
    int lines = 0;

    winansi(l, text, buf, sizeof(buf));
    p = buf;
    HPDF_Page_SetFontAndSize(l->page, font, size);
    if (*p == '\0')
        return 1;
    do {
        HPDF_REAL used = 0;
        HPDF_UINT n = HPDF_Page_MeasureText(l->page, p, w, HPDF_TRUE, &used);
        char line[4096];
        if (n == 0) /* one word wider than the column: break it anyway */
            n = HPDF_Page_MeasureText(l->page, p, w, HPDF_FALSE, &used);
        if (n == 0)
            n = 1;
        if (n > strlen(p))
            n = (HPDF_UINT)strlen(p);
        snprintf(line, sizeof(line), "%.*s", (int)n, p);
        HPDF_Page_BeginText(l->page);
        HPDF_Page_TextOut(l->page, x, l->y - lines * (size + 3), line);
        HPDF_Page_EndText(l->page);
        p += n;
        while (*p == ' ')
            p++;
        lines++;
    } while (*p != '\0' && lines < 200);
    return lines;
}

static char *
text_of(xmlNodePtr n, int skip_spans)
{
    xmlBufferPtr b = xmlBufferCreate();
    char *s;

    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE)
            xmlBufferCat(b, c->content);
        else if (c->type == XML_ELEMENT_NODE && !skip_spans) {
            xmlChar *t = xmlNodeGetContent(c);
            xmlBufferCat(b, (const xmlChar *)" (");
            xmlBufferCat(b, t);
            xmlBufferCat(b, (const xmlChar *)")");
            xmlFree(t);
        }
    }
    s = strdup((const char *)xmlBufferContent(b));
    xmlBufferFree(b);
    return s;
}

static void
walk(struct layout *l, xmlNodePtr n)
{
    for (; n != NULL && !l->failed; n = n->next) {
        const char *name = (const char *)n->name;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp(name, "h1") == 0 || strcmp(name, "h2") == 0) {
            char *t = text_of(n, 1);
            float size = name[1] == '1' ? 16 : 12;
            need(l, size + 30);
            l->y -= name[1] == '1' ? 0 : 12;
            wrapped(l, l->bold, size, MARGIN, 495, t ? t : "");
            l->y -= size + 8;
            free(t);
        } else if (strcmp(name, "tr") == 0) {
            xmlNodePtr th = NULL, td = NULL;
            for (xmlNodePtr c = n->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE)
                    *(strcmp((const char *)c->name, "th") == 0 ? &th : &td) = c;
            if (th != NULL && td != NULL) {
                char *label = text_of(th, 0), *value = text_of(td, 1);
                int a, b;
                need(l, 14);
                a = wrapped(l, l->font, 8, MARGIN, LABEL_W - 10,
                            label ? label : "");
                b = wrapped(l, l->font, 10, MARGIN + LABEL_W,
                            495 - LABEL_W, value ? value : "");
                l->y -= (a > b ? a * 11 : b * 13) + 4;
                free(label);
                free(value);
            }
        } else if (strcmp(name, "p") == 0) {
            char *t = text_of(n, 1);
            need(l, 24);
            l->y -= 8;
            l->y -= 11 * wrapped(l, l->font, 8, MARGIN, 495, t ? t : "");
            free(t);
        } else {
            walk(l, n->children);
        }
    }
}

gw_rc
gw_view_pdf_from_html(const void *html_doc, char **pdf, size_t *len)
{
    struct layout l;
    xmlNodePtr root = xmlDocGetRootElement((xmlDocPtr)html_doc);
    HPDF_UINT32 size;
    gw_rc rc = GW_EINTERNAL;

    *pdf = NULL;
    *len = 0;
    memset(&l, 0, sizeof(l));
    l.cd = iconv_open("WINDOWS-1252//TRANSLIT", "UTF-8");
    if (l.cd == (iconv_t)-1)
        return GW_EINTERNAL;
    l.pdf = HPDF_New(on_error, &l);
    if (l.pdf == NULL)
        goto out;
    HPDF_SetCompressionMode(l.pdf, HPDF_COMP_ALL);
    HPDF_SetInfoAttr(l.pdf, HPDF_INFO_CREATOR, "klasgw");
    l.font = HPDF_GetFont(l.pdf, "Helvetica", "WinAnsiEncoding");
    l.bold = HPDF_GetFont(l.pdf, "Helvetica-Bold", "WinAnsiEncoding");
    new_page(&l);
    walk(&l, root);
    if (l.failed || HPDF_SaveToStream(l.pdf) != HPDF_OK)
        goto out;
    size = HPDF_GetStreamSize(l.pdf);
    *pdf = malloc(size ? size : 1);
    if (*pdf == NULL) {
        rc = GW_ENOMEM;
        goto out;
    }
    HPDF_ResetStream(l.pdf);
    if (HPDF_ReadFromStream(l.pdf, (HPDF_BYTE *)*pdf, &size) != HPDF_OK &&
        size == 0) {
        free(*pdf);
        *pdf = NULL;
        goto out;
    }
    *len = size;
    rc = GW_OK;
out:
    if (l.pdf != NULL)
        HPDF_Free(l.pdf);
    iconv_close(l.cd);
    return rc;
}
