/*
 * jsonw.h - JSON's layout as gw_fhir_to_json writes it, for its writer
 * (xml.c) and the receipt's (pipeline/receipt.c), which must give the
 * same bytes: two spaces an indent level, a member a line, a comma
 * before every member but a level's first, an object or array that is
 * empty closed on its own line, strings with JSON's escapes.
 *
 * Inline, as the writer was within xml.c: a member, a bracket and a
 * short string are a few moves once inlined, and gw_fhir_to_json writes
 * every JSON answer.
 */
#ifndef GW_FHIR_JSONW_H
#define GW_FHIR_JSONW_H

#include <stdio.h>
#include <string.h>

#include "fhir/out.h"

/* Nesting levels that know whether a member was written: a walk's depth
 * is limited (max_depth, 1000 at most) and a repeating element nests an
 * array and an object. Deeper levels are not counted (open, close). */
#define GW_JSONW_LEVELS 1100

struct gw_jsonw {
    struct gw_fhir_out *out; /* NULL: the layout is kept, nothing written */
    /* Control characters but tab, LF and CR as a space rather than
     * \u00XX: what a tree built by fhir/build.h holds for them, which the
     * receipt's text must equal. */
    int ctl_space;
    int indent;
    int level;
    int first[GW_JSONW_LEVELS]; /* per level: no member written yet */
};

/* A writer at the top level, writing to out (NULL: none). first[] is
 * not cleared: a level's entry is set as it opens, and clearing 4 KB was
 * more than the check of a small document. */
static inline void
gw_jsonw_init(struct gw_jsonw *j, struct gw_fhir_out *out, int ctl_space)
{
    j->out = out;
    j->ctl_space = ctl_space;
    j->indent = 0;
    j->level = 0;
    j->first[0] = 0;
}

static inline void
gw_jsonw_put(struct gw_jsonw *j, const void *p, size_t n)
{
    if (j->out != NULL)
        gw_fhir_out_put(j->out, p, n);
}

/* s as it is (a number, a bracket, null). */
static inline void
gw_jsonw_raw(struct gw_jsonw *j, const char *s)
{
    if (j->out != NULL)
        gw_jsonw_put(j, s, strlen(s));
}

static inline void
gw_jsonw_newline(struct gw_jsonw *j)
{
    static const char spaces[] = "\n                                "
                                 "                                ";
    int n = 2 * j->indent;

    /* The line break and its indent in one append (deeper ones: more). */
    gw_jsonw_put(j, spaces, 1 + (size_t)(n < 64 ? n : 64));
    for (n -= 64; n > 0; n -= 64)
        gw_jsonw_put(j, spaces + 1, (size_t)(n < 64 ? n : 64));
}

/* The bytes a JSON string cannot hold as they are: the quote, the
 * backslash, control characters (and NUL, which ends the text). */
#define GW_JSONW_ESC16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char gw_jsonw_escaped[256] = {
    GW_JSONW_ESC16,
    GW_JSONW_ESC16,
    ['"'] = 1,
    ['\\'] = 1,
};
#undef GW_JSONW_ESC16

/* s as a JSON string. */
static inline void
gw_jsonw_string(struct gw_jsonw *j, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *run;
    char u[8];

    if (j->out == NULL)
        return;
    gw_jsonw_put(j, "\"", 1);
    /* Runs of characters that need no escape go in one append, found a
     * table look-up a byte. */
    for (run = p;; p++) {
        const char *esc;
        while (!gw_jsonw_escaped[*p])
            p++;
        if (*p == '\0')
            break;
        switch (*p) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (j->ctl_space) {
                esc = " ";
                break;
            }
            snprintf(u, sizeof(u), "\\u%04x", *p);
            esc = u;
        }
        gw_jsonw_put(j, run, (size_t)(p - run));
        gw_jsonw_raw(j, esc);
        run = p + 1;
    }
    gw_jsonw_put(j, run, (size_t)(p - run));
    gw_jsonw_put(j, "\"", 1);
}

/* An object or array ("{", "["), its members one level in. */
static inline void
gw_jsonw_open(struct gw_jsonw *j, const char *bracket)
{
    gw_jsonw_raw(j, bracket);
    j->indent++;
    if (j->level + 1 < GW_JSONW_LEVELS)
        j->first[++j->level] = 1;
}

static inline void
gw_jsonw_close(struct gw_jsonw *j, const char *bracket)
{
    j->indent--;
    if (!j->first[j->level])
        gw_jsonw_newline(j);
    gw_jsonw_raw(j, bracket);
    j->level--;
}

/* The next member: key, or an array's element when key is NULL; its
 * value follows. */
static inline void
gw_jsonw_member(struct gw_jsonw *j, const char *key)
{
    if (!j->first[j->level])
        gw_jsonw_put(j, ",", 1);
    j->first[j->level] = 0;
    gw_jsonw_newline(j);
    if (key != NULL) {
        gw_jsonw_string(j, key);
        gw_jsonw_put(j, ": ", 2);
    }
}

#endif
