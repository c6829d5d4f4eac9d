/*
 * pdf.c - the printable copy as PDF: the HTML of xslt/print-html.xsl (the
 * one place that says which fields a printout holds) laid out on A4 pages
 * with libharu.
 *
 * Only the structure the stylesheet writes is read: h1, h2, and table
 * rows of th (label, English in a span) and td (value). Text is set in
 * DejaVu Sans (Debian's fonts-dejavu-core), embedded as a Unicode font
 * with libharu's UTF-8 encoder, so that every name prints as written
 * (Dvořák, Łukasiewicz-Şahin, Nguyễn Thị). A copy whose text all fits
 * CP1252 (most: Swedish names, åäö é ü) embeds the same font as a simple
 * TrueType font with WinAnsi instead: libharu builds the UTF-8 font's
 * 65,536-entry CID-to-glyph map by a linear cmap search per code point
 * and deflates it into every PDF, three quarters of a PDF's CPU (perf,
 * fuzz_message replay), for no glyph the copy shows. Without that font the copy
 * falls back to Helvetica with WinAnsi (CP1252; other letters become
 * '?') and says so in the log. Long values wrap; pages break; a row is
 * never split across pages. Every page ends with the referensnummer, the
 * print time and "sida x av y" (from the page's klas-refnr and
 * klas-printed meta elements).
 */
#include "map/view.h"

#include <hpdf.h>
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define MARGIN 50.0f
#define MAX_PAGES 500
/* Debian's fonts-dejavu-core; GW_PDF_FONT_DIR overrides for other hosts. */
#ifndef GW_PDF_FONT_DIR
#define GW_PDF_FONT_DIR "/usr/share/fonts/truetype/dejavu"
#endif
#define LABEL_W 170.0f
#define PAGE_BOTTOM 60.0f

struct layout {
    struct pdf_slot *slot;
    HPDF_Doc pdf;
    HPDF_Page page;
    HPDF_Font font, bold;
    float y;
    int failed;
    int utf8; /* the Unicode font is in use: text goes as it is */
    iconv_t cd;
    HPDF_Page pages[MAX_PAGES];
    int npages;
};

/* A libharu document with the fonts loaded, kept for the next copy.
 * libharu keeps a document's font definitions across HPDF_NewDoc and
 * resets only which glyphs were used (the embedded font still holds just
 * the glyphs of its own copy), so the two TrueType files (1.4 MB) are
 * read and parsed once per pooled document instead of once per PDF (7 %
 * of the fuzz_message replay's CPU; deflating the embedded font tables on
 * save remains). A document is used by one copy at a time; one that saw
 * an error is freed, not pooled. */
struct pdf_slot {
    HPDF_Doc pdf;
    struct layout *l; /* the copy being laid out, for on_error */
    int failed;
    int embedded;     /* DejaVu Sans loaded, else Helvetica */
    char dir[512];    /* where the fonts came from */
    char regular[HPDF_LIMIT_MAX_NAME_LEN + 1], bold[HPDF_LIMIT_MAX_NAME_LEN + 1];
};

/* Enough for the copies the HTTP threads render at once; more are made
 * and freed as needed. */
#define POOL_MAX 4
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pdf_slot *pool[POOL_MAX];
static int pooled;

static void
on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    struct pdf_slot *s = user_data;

    (void)error_no;
    (void)detail_no;
    s->failed = 1;
    if (s->l != NULL)
        s->l->failed = 1;
}

/* The text as the font takes it: UTF-8 for the embedded Unicode font,
 * else WinAnsi (CP1252) for the base-14 fonts. */
static void
winansi(struct layout *l, const char *in, char *out, size_t size)
{
    char *src = (char *)in, *dst = out;
    size_t inleft = strlen(in), outleft = size - 1;

    if (l->utf8) {
        snprintf(out, size, "%s", in);
        return;
    }
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
    if (l->npages == MAX_PAGES) {
        l->failed = 1;
        return;
    }
    l->page = HPDF_AddPage(l->pdf);
    l->pages[l->npages++] = l->page;
    HPDF_Page_SetSize(l->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    l->y = HPDF_Page_GetHeight(l->page) - MARGIN;
}

static void
need(struct layout *l, float h)
{
    if (l->y - h < PAGE_BOTTOM)
        new_page(l);
}

/* Wraps text at spaces into width w at size, from the current line down;
 * writes it at x when draw, else only counts (the dry run that sizes a
 * row before it is placed). Returns the lines used. */
static int
wrap(struct layout *l, HPDF_Font font, float size, float x, float w,
     const char *text, int draw)
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
        /* Never in the middle of a UTF-8 sequence. */
        while (n > 1 && ((unsigned char)p[n] & 0xC0) == 0x80)
            n--;
        if (draw) {
            snprintf(line, sizeof(line), "%.*s", (int)n, p);
            HPDF_Page_BeginText(l->page);
            HPDF_Page_TextOut(l->page, x, l->y - lines * (size + 3), line);
            HPDF_Page_EndText(l->page);
        }
        p += n;
        while (*p == ' ')
            p++;
        lines++;
    } while (*p != '\0' && lines < 200);
    return lines;
}

/* Writes text at x within width w from the current line down, wrapping at
 * spaces; returns the lines used. */
static int
wrapped(struct layout *l, HPDF_Font font, float size, float x, float w,
        const char *text)
{
    return wrap(l, font, size, x, w, text, 1);
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
            /* An empty span (no English for the label) is no " ()". */
            if (t != NULL && t[0] != '\0') {
                xmlBufferCat(b, (const xmlChar *)" (");
                xmlBufferCat(b, t);
                xmlBufferCat(b, (const xmlChar *)")");
            }
            xmlFree(t);
        }
    }
    s = strdup((const char *)xmlBufferContent(b));
    xmlBufferFree(b);
    return s;
}

/* Lines text takes in width w at size: a dry run of wrapped(). */
static int
lines_of(struct layout *l, HPDF_Font font, float size, float w,
         const char *text)
{
    return wrap(l, font, size, 0, w, text, 0);
}

/* The height a table row takes, so that it starts on a page it fits on. */
static float
row_height(struct layout *l, const char *label, const char *value)
{
    int a = lines_of(l, l->font, 8, LABEL_W - 10, label);
    int b = lines_of(l, l->font, 10, 495 - LABEL_W, value);
    float h = (float)(a > b ? a * 11 : b * 13) + 4;

    /* A row longer than a page breaks anyway. */
    return h < 700 ? h : 14;
}

/* The content of <meta name="name" content="..."> anywhere under n. */
static char *
meta(xmlNodePtr n, const char *name)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)n->name, "meta") == 0) {
            xmlChar *nm = xmlGetProp(n, (const xmlChar *)"name");
            int hit = nm != NULL && strcmp((const char *)nm, name) == 0;
            xmlFree(nm);
            if (hit) {
                xmlChar *c = xmlGetProp(n, (const xmlChar *)"content");
                char *s = c ? strdup((const char *)c) : NULL;
                xmlFree(c);
                return s;
            }
        }
        {
            char *s = meta(n->children, name);
            if (s != NULL)
                return s;
        }
    }
    return NULL;
}

/* The referensnummer, print time and page number at the foot of every
 * page, once the number of pages is known. */
static void
footers(struct layout *l, const char *refnr, const char *printed)
{
    for (int i = 0; i < l->npages && !l->failed; i++) {
        char line[400], buf[800];
        snprintf(line, sizeof(line),
                 "Referensnummer %s   Utskriven %s   Sida %d av %d "
                 "(page %d of %d)",
                 refnr ? refnr : "-", printed ? printed : "-", i + 1, l->npages,
                 i + 1, l->npages);
        winansi(l, line, buf, sizeof(buf));
        HPDF_Page_SetFontAndSize(l->pages[i], l->font, 8);
        HPDF_Page_BeginText(l->pages[i]);
        HPDF_Page_TextOut(l->pages[i], MARGIN, 30, buf);
        HPDF_Page_EndText(l->pages[i]);
    }
}

/* 1 when every character of s has a place in CP1252 (WinAnsi). */
static int
fits_winansi(iconv_t cd, const char *s)
{
    char *src = (char *)s, out[1024];
    size_t inleft = s ? strlen(s) : 0;

    iconv(cd, NULL, NULL, NULL, NULL);
    while (inleft > 0) {
        char *dst = out;
        size_t outleft = sizeof(out);
        if (iconv(cd, &src, &inleft, &dst, &outleft) == (size_t)-1 &&
            errno != E2BIG)
            return 0;
    }
    return 1;
}

/* 1 when the copy needs the UTF-8 font: some text, or a meta value the
 * footer prints, outside CP1252. */
static int
needs_unicode(xmlNodePtr root, const char *refnr, const char *printed)
{
    iconv_t cd = iconv_open("WINDOWS-1252", "UTF-8");
    xmlChar *all;
    int need = 1;

    if (cd == (iconv_t)-1)
        return 1;
    all = xmlNodeGetContent(root);
    if (all != NULL)
        need = !fits_winansi(cd, (const char *)all) ||
               !fits_winansi(cd, refnr) || !fits_winansi(cd, printed);
    xmlFree(all);
    iconv_close(cd);
    return need;
}

static const char *
font_dir(void)
{
    const char *dir = getenv("GW_PDF_FONT_DIR");

    return dir == NULL || dir[0] == '\0' ? GW_PDF_FONT_DIR : dir;
}

/* A new document with DejaVu Sans, regular and bold, loaded for embedding
 * (both encoders registered: UTF-8 and WinAnsi), or with none when the
 * font files are not there or do not load (Helvetica then). */
static struct pdf_slot *
slot_new(const char *dir)
{
    struct pdf_slot *s = calloc(1, sizeof(*s));
    char regular[600], bold[600];
    const char *r = NULL, *b = NULL;

    if (s == NULL)
        return NULL;
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    snprintf(regular, sizeof(regular), "%s/DejaVuSans.ttf", dir);
    snprintf(bold, sizeof(bold), "%s/DejaVuSans-Bold.ttf", dir);
    if (access(regular, R_OK) == 0 && access(bold, R_OK) == 0 &&
        (s->pdf = HPDF_New(on_error, s)) != NULL) {
        if (HPDF_UseUTFEncodings(s->pdf) == HPDF_OK &&
            (r = HPDF_LoadTTFontFromFile(s->pdf, regular, HPDF_TRUE)) != NULL &&
            (b = HPDF_LoadTTFontFromFile(s->pdf, bold, HPDF_TRUE)) != NULL &&
            !s->failed) {
            snprintf(s->regular, sizeof(s->regular), "%s", r);
            snprintf(s->bold, sizeof(s->bold), "%s", b);
            s->embedded = 1;
            return s;
        }
        HPDF_Free(s->pdf);
    }
    s->failed = 0;
    s->pdf = HPDF_New(on_error, s);
    if (s->pdf == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

static void
slot_free(struct pdf_slot *s)
{
    if (s == NULL)
        return;
    HPDF_Free(s->pdf);
    free(s);
}

/* A pooled document from the same font folder, as a new empty document,
 * or a new one. */
static struct pdf_slot *
slot_take(void)
{
    const char *dir = font_dir();
    struct pdf_slot *s = NULL, *stale = NULL;

    pthread_mutex_lock(&pool_lock);
    if (pooled > 0) {
        s = pool[--pooled];
        if (strcmp(s->dir, dir) != 0) {
            stale = s;
            s = NULL;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    slot_free(stale);
    if (s == NULL)
        return slot_new(dir);
    if (HPDF_NewDoc(s->pdf) != HPDF_OK || s->failed) {
        slot_free(s);
        return slot_new(dir);
    }
    return s;
}

/* Back to the pool when it saw no error; its pages (a patient's copy)
 * are freed either way. */
static void
slot_give(struct pdf_slot *s)
{
    if (s == NULL)
        return;
    s->l = NULL;
    if (!s->failed) {
        HPDF_FreeDoc(s->pdf);
        pthread_mutex_lock(&pool_lock);
        if (pooled < POOL_MAX) {
            pool[pooled++] = s;
            s = NULL;
        }
        pthread_mutex_unlock(&pool_lock);
    }
    slot_free(s);
}

/* DejaVu Sans, regular and bold, embedded: with the UTF-8 encoder when
 * unicode, else as simple TrueType fonts with WinAnsi; 0 when the font
 * files are not there. */
static int
dejavu_fonts(struct layout *l, int unicode)
{
    const char *enc = unicode ? "UTF-8" : "WinAnsiEncoding";

    if (!l->slot->embedded)
        return 0;
    l->font = HPDF_GetFont(l->pdf, l->slot->regular, enc);
    l->bold = HPDF_GetFont(l->pdf, l->slot->bold, enc);
    return l->font != NULL && l->bold != NULL;
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
            /* A heading stays with the row after it. */
            need(l, size + 50);
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
                need(l, row_height(l, label ? label : "", value ? value : ""));
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
    char *refnr = meta(root, "klas-refnr");
    char *printed = meta(root, "klas-printed");
    int unicode = needs_unicode(root, refnr, printed), embedded;
    gw_rc rc = GW_EINTERNAL;

    *pdf = NULL;
    *len = 0;
    memset(&l, 0, sizeof(l));
    l.cd = iconv_open("WINDOWS-1252//TRANSLIT", "UTF-8");
    if (l.cd == (iconv_t)-1) {
        free(refnr);
        free(printed);
        return GW_EINTERNAL;
    }
    l.slot = slot_take();
    if (l.slot == NULL)
        goto out;
    l.slot->l = &l;
    l.pdf = l.slot->pdf;
    HPDF_SetCompressionMode(l.pdf, HPDF_COMP_ALL);
    HPDF_SetInfoAttr(l.pdf, HPDF_INFO_CREATOR, "klasgw");
    embedded = dejavu_fonts(&l, unicode);
    l.utf8 = embedded && unicode;
    if (!embedded) {
        static atomic_int warned;
        if (atomic_fetch_add(&warned, 1) == 0)
            gw_log_warn("event=pdf_font_missing dir=%s detail=\"names outside "
                        "CP1252 print as '?'; install fonts-dejavu-core\"",
                        GW_PDF_FONT_DIR);
        l.failed = 0;
        l.font = HPDF_GetFont(l.pdf, "Helvetica", "WinAnsiEncoding");
        l.bold = HPDF_GetFont(l.pdf, "Helvetica-Bold", "WinAnsiEncoding");
    }
    new_page(&l);
    walk(&l, root);
    footers(&l, refnr, printed);
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
    slot_give(l.slot);
    iconv_close(l.cd);
    free(refnr);
    free(printed);
    return rc;
}
