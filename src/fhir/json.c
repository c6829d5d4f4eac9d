/*
 * json.c - FHIR JSON into the canonical FHIR XML tree, driven by the model
 * table.
 *
 * A small reader of our own turns the text into a tree of values held in
 * a few blocks: jansson, which this file used before, spent 60 % of the
 * conversion on hash tables, a malloc per value and a character-by-character
 * lexer, for objects that are only ever read once, key by key, in the walk
 * below. The reader
 *  - bounds the nesting depth and the values it makes (xml.max_depth,
 *    JSON_MAX_VALUES); when it stops, for these or any other reason, one
 *    scan over the raw text (prescan) says first whether the limits were
 *    passed anywhere in it, so a document past a limit is refused for that
 *    whatever else is wrong with it. The scan ran before every read once,
 *    sizing one block by its count: a tenth of reading a document that is
 *    in the end accepted;
 *  - keeps numbers exactly as written (FHIR keeps 1.50, not 1.5), checked
 *    against JSON's number grammar;
 *  - decodes strings in place in a copy of the text (a decoded string is
 *    never longer than its escaped form), refusing invalid UTF-8, control
 *    characters, lone surrogates; a string may hold \u0000 (its length is
 *    kept), which the walk refuses where a value is read;
 *  - refuses duplicate keys in an object.
 *
 * The walk then builds elements in definition order, whatever the order
 * of the JSON keys, merging each primitive with its "_name" companion
 * (id and extensions; arrays aligned, null where one side is absent). The
 * finished tree goes through the same structural check as XML input
 * unless the walk has seen that it would pass (need_check).
 * Attributes are added, not set: no key comes twice in an object and a
 * primitive's @value and @id come from two keys, so an element never has
 * the attribute already, and xmlSetProp's look-up for it is not needed.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir_xml.h"
#include "fhir/model.h"
#include "fhir/path.h"

/* --- the reader ------------------------------------------------------- */

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

/* One JSON value; a member of an object carries its key. */
struct jv {
    const char *s;           /* J_STRING, J_NUMBER: NUL-terminated text */
    const char *key;         /* a member: its key, NUL-terminated */
    struct jv *first, *next; /* J_ARRAY, J_OBJECT: items; a sibling */
    uint32_t n;              /* J_STRING, J_NUMBER: bytes; else items */
    uint32_t keylen;
    uint8_t type;
};

/* Values (strings, numbers, literals, objects, arrays) in one document:
 * each costs a struct jv (48 bytes), so 12 MB of ["a","a",...] would take
 * 150 MB; counted with the keys (prescan's count), the reader making at
 * most one more than this. */
#define JSON_MAX_VALUES 1000000

/* A block of values; the first is sized by the text, each next one twice
 * the last. */
struct jblock {
    struct jblock *next;
    size_t used, cap;
    struct jv v[];
};

struct jr {
    const char *src; /* the text as received (line numbers) */
    char *p;         /* its copy: strings are decoded in place */
    size_t len, i;
    char *num;       /* numbers' texts, each NUL-terminated */
    size_t nnum;
    struct jblock *blocks; /* the values, newest block first */
    size_t count;    /* values made and keys read (prescan's count) */
    size_t made;     /* room for values in the blocks */
    int oom;         /* a block could not be allocated */
    size_t longest;  /* the longest string or number read, in bytes */
    int depth, max_depth;
    struct gw_err *err;
};

static gw_rc GW_PRINTF(2, 3)
jerror(struct jr *r, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    int line = 1;

    for (size_t k = 0; k < r->i && k < r->len; k++)
        line += r->src[k] == '\n';
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return gw_err_set(r->err, GW_EPARSE, NULL, "JSON line %d: %s", line,
                      what);
}

/* One pass over the raw text: the nesting depth and the number of values
 * (an upper bound: every key is counted too), strings skipped. */
static gw_rc
prescan(const char *in, size_t len, const struct gw_fhir_limits *lim,
        size_t *values, struct gw_err *err)
{
    int depth = 0, line = 1;
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        switch (c) {
        case '"':
            /* To the closing quote by memchr, not byte by byte: the
             * newlines before it counted, each backslash skipping the
             * byte after it. */
            for (i++; i < len;) {
                const char *q = memchr(in + i, '"', len - i);
                size_t end = q != NULL ? (size_t)(q - in) : len;
                const char *bs = memchr(in + i, '\\', end - i);
                size_t stop = bs != NULL ? (size_t)(bs - in) : end;
                for (const char *nl = in + i;
                     (nl = memchr(nl, '\n', (size_t)(in + stop - nl))) != NULL;
                     nl++)
                    line++;
                if (bs == NULL) {
                    i = end;
                    break;
                }
                i = stop + 2;
            }
            n++;
            break;
        case '{':
        case '[':
            if (++depth > lim->max_depth)
                return gw_err_set(err, GW_ETOOLARGE, NULL,
                                  "JSON line %d: nesting is deeper than %d",
                                  line, lim->max_depth);
            n++;
            break;
        case '}':
        case ']':
            depth--;
            break;
        case '\n':
            line++;
            break;
        case 't':
        case 'f':
        case 'n':
            n++;
            break;
        default:
            if (c == '-' || (c >= '0' && c <= '9')) {
                n++;
                while (i + 1 < len &&
                       ((in[i + 1] >= '0' && in[i + 1] <= '9') ||
                        in[i + 1] == '.' || in[i + 1] == 'e' ||
                        in[i + 1] == 'E' || in[i + 1] == '+' ||
                        in[i + 1] == '-'))
                    i++;
            }
            break;
        }
        if (n > JSON_MAX_VALUES)
            return gw_err_set(err, GW_ETOOLARGE, NULL,
                              "JSON line %d: more than %d values in one "
                              "document",
                              line, JSON_MAX_VALUES);
    }
    *values = n;
    return GW_OK;
}

/* JSON's whitespace. The text's copy ends in a NUL, which is none of
 * these, so the loops below need no bounds check (r->i <= r->len). */
static const unsigned char blank_byte[256] = {
    [' '] = 1, ['\n'] = 1, ['\r'] = 1, ['\t'] = 1,
};

static void
blanks(struct jr *r)
{
    size_t i = r->i;

    while (blank_byte[(unsigned char)r->p[i]])
        i++;
    r->i = i;
}

static int
hex4(const char *s, unsigned *out)
{
    unsigned v = 0;

    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* The length of the UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t k;
    unsigned char lo = 0x80, hi = 0xBF;

    if (c >= 0xC2 && c <= 0xDF)
        k = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t j = 2; j < k; j++)
        if (s[j] < 0x80 || s[j] > 0xBF)
            return 0;
    return k;
}

/* The one-letter escapes after a backslash, and the character of each. */
static const char esc_from[] = "\"\\/bfnrt", esc_to[] = "\"\\/\b\f\n\r\t";

/* The bytes a string holds as they are: printable ASCII but the quote
 * and the backslash (not NUL: the loops below stop at the copy's end). */
#define PLAIN16(a) a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a
static const unsigned char plain_byte[256] = {
    PLAIN16(0), PLAIN16(0),
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20: '"' */
    PLAIN16(1), PLAIN16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50: '\\' */
    PLAIN16(1), PLAIN16(1),
};
#undef PLAIN16

/* The string at r->i (its opening quote), decoded in place. */
static gw_rc
string(struct jr *r, const char **out, uint32_t *outlen)
{
    char *p = r->p;
    const char *e;
    size_t rd = r->i + 1, wr = rd, start = rd;

    for (;;) {
        unsigned char c;
        /* Plain ASCII runs: nothing to decode, and nothing to move
         * before the first escape. */
        if (wr == rd) {
            while (plain_byte[(unsigned char)p[rd]])
                rd++;
            wr = rd;
        } else {
            while (plain_byte[(unsigned char)p[rd]])
                p[wr++] = p[rd++];
        }
        if (rd >= r->len) {
            r->i = rd;
            return jerror(r, "premature end of input in a string");
        }
        c = (unsigned char)p[rd];
        if (c == '"')
            break;
        if (c < 0x20) {
            r->i = rd;
            return jerror(r, "control character 0x%02x in a string", c);
        }
        if (c >= 0x80) {
            size_t k = utf8_len((const unsigned char *)p + rd, r->len - rd);
            if (k == 0) {
                r->i = rd;
                return jerror(r, "invalid UTF-8 in a string");
            }
            while (k-- > 0)
                p[wr++] = p[rd++];
            continue;
        }
        /* An escape. */
        if (rd + 1 >= r->len) {
            r->i = rd;
            return jerror(r, "premature end of input in a string");
        }
        c = (unsigned char)p[rd + 1];
        if (c == 'u') {
            unsigned cp, lo;
            if (rd + 6 > r->len || !hex4(p + rd + 2, &cp)) {
                r->i = rd;
                return jerror(r, "invalid \\u escape");
            }
            rd += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                r->i = rd;
                return jerror(r, "invalid Unicode: a lone low surrogate");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (rd + 6 > r->len || p[rd] != '\\' || p[rd + 1] != 'u' ||
                    !hex4(p + rd + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    r->i = rd;
                    return jerror(r, "invalid Unicode: a lone high "
                                     "surrogate");
                }
                rd += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp < 0x80) {
                p[wr++] = (char)cp;
            } else if (cp < 0x800) {
                p[wr++] = (char)(0xC0 | (cp >> 6));
                p[wr++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                p[wr++] = (char)(0xE0 | (cp >> 12));
                p[wr++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                p[wr++] = (char)(0x80 | (cp & 0x3F));
            } else {
                p[wr++] = (char)(0xF0 | (cp >> 18));
                p[wr++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                p[wr++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                p[wr++] = (char)(0x80 | (cp & 0x3F));
            }
            continue;
        }
        e = c != '\0' ? strchr(esc_from, c) : NULL;
        if (e == NULL) {
            r->i = rd;
            return jerror(r, "invalid escape \\%c", c >= 0x20 && c < 0x7F ? c : '?');
        }
        p[wr++] = esc_to[e - esc_from];
        rd += 2;
    }
    /* wr <= rd: the closing quote's place or before it. */
    p[wr] = '\0';
    *out = p + start;
    *outlen = (uint32_t)(wr - start);
    if (wr - start > r->longest)
        r->longest = wr - start;
    r->i = rd + 1;
    return GW_OK;
}

/* A number as JSON writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static gw_rc
number(struct jr *r, struct jv *v)
{
    const char *p = r->p;
    size_t i = r->i, start = i;

#define DIGIT(k) ((k) < r->len && p[k] >= '0' && p[k] <= '9')
    if (i < r->len && p[i] == '-')
        i++;
    if (!DIGIT(i))
        return jerror(r, "invalid number");
    if (p[i] == '0')
        i++;
    else
        while (DIGIT(i))
            i++;
    if (i < r->len && p[i] == '.') {
        if (!DIGIT(i + 1)) {
            r->i = i;
            return jerror(r, "invalid number");
        }
        for (i++; DIGIT(i); i++)
            ;
    }
    if (i < r->len && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < r->len && (p[i] == '+' || p[i] == '-'))
            i++;
        if (!DIGIT(i)) {
            r->i = i;
            return jerror(r, "invalid number");
        }
        while (DIGIT(i))
            i++;
    }
#undef DIGIT
    /* Every number but the last is followed by at least one byte, so the
     * texts and their NULs fit in len + 1 bytes. */
    memcpy(r->num + r->nnum, p + start, i - start);
    v->s = r->num + r->nnum;
    v->n = (uint32_t)(i - start);
    r->nnum += i - start;
    r->num[r->nnum++] = '\0';
    if (i - start > r->longest)
        r->longest = i - start;
    v->type = J_NUMBER;
    r->i = i;
    return GW_OK;
}

static int
key_cmp(const void *a, const void *b)
{
    const struct jv *x = *(const struct jv *const *)a,
                    *y = *(const struct jv *const *)b;
    if (x->keylen != y->keylen)
        return x->keylen < y->keylen ? -1 : 1;
    return memcmp(x->key, y->key, x->keylen);
}

/* Whether two members of the object share a key: pairwise for the small
 * objects FHIR has, sorted for big ones (n log n, not n squared). */
static gw_rc
duplicates(struct jr *r, struct jv *obj)
{
    const struct jv *dup = NULL;

    if (obj->n <= 16) {
        for (const struct jv *a = obj->first; a != NULL && dup == NULL;
             a = a->next)
            for (const struct jv *b = a->next; b != NULL; b = b->next)
                if (a->keylen == b->keylen &&
                    memcmp(a->key, b->key, a->keylen) == 0) {
                    dup = a;
                    break;
                }
    } else {
        struct jv **all = malloc(obj->n * sizeof(*all));
        size_t k = 0;
        if (all == NULL)
            return gw_err_set(r->err, GW_ENOMEM, NULL, "out of memory");
        for (struct jv *a = obj->first; a != NULL; a = a->next)
            all[k++] = a;
        qsort(all, k, sizeof(*all), key_cmp);
        for (size_t j = 1; j < k && dup == NULL; j++)
            if (key_cmp(&all[j - 1], &all[j]) == 0)
                dup = all[j];
        free(all);
    }
    if (dup != NULL)
        return jerror(r, "duplicate object key '%.40s'", dup->key);
    return GW_OK;
}

static gw_rc value(struct jr *r, struct jv *v);

/* A new value, or NULL past JSON_MAX_VALUES + 1 (an item is made before
 * the text shows whether there is one: a document of JSON_MAX_VALUES and
 * a trailing comma gets its syntax error, as when the scan came first) or
 * out of memory (r->oom). */
static struct jv *
new_value(struct jr *r)
{
    struct jblock *b = r->blocks;
    struct jv *v;

    if (++r->count > JSON_MAX_VALUES + 1)
        return NULL;
    if (b == NULL || b->used == b->cap) {
        size_t cap = b == NULL ? r->len / 16 + 16 : 2 * b->cap;
        if (cap > JSON_MAX_VALUES + 2 - r->made)
            cap = JSON_MAX_VALUES + 2 - r->made;
        b = malloc(sizeof(*b) + cap * sizeof(b->v[0]));
        if (b == NULL) {
            r->oom = 1;
            return NULL;
        }
        b->next = r->blocks;
        b->used = 0;
        b->cap = cap;
        r->blocks = b;
        r->made += cap;
    }
    v = &b->v[b->used++];
    memset(v, 0, sizeof(*v));
    return v;
}

static gw_rc
too_many(struct jr *r)
{
    return r->oom ? gw_err_set(r->err, GW_ENOMEM, NULL, "out of memory")
                  : jerror(r, "too many values");
}

static gw_rc
container(struct jr *r, struct jv *v, int object)
{
    struct jv **tail = &v->first;
    gw_rc rc;

    v->type = object ? J_OBJECT : J_ARRAY;
    if (++r->depth > r->max_depth)
        return gw_err_set(r->err, GW_ETOOLARGE, NULL,
                          "JSON: nesting is deeper than %d", r->max_depth);
    r->i++;
    blanks(r);
    if (r->i < r->len && r->p[r->i] == (object ? '}' : ']')) {
        r->i++;
        r->depth--;
        return GW_OK;
    }
    for (;;) {
        struct jv *item = new_value(r);
        const char *key = NULL;
        uint32_t keylen = 0;
        if (item == NULL)
            return too_many(r);
        if (object) {
            if (r->i >= r->len || r->p[r->i] != '"')
                return jerror(r, "string or '}' expected");
            if ((rc = string(r, &key, &keylen)) != GW_OK)
                return rc;
            if (++r->count > JSON_MAX_VALUES + 1)
                return too_many(r);
            blanks(r);
            if (r->i >= r->len || r->p[r->i] != ':')
                return jerror(r, "':' expected");
            r->i++;
            blanks(r);
        }
        if ((rc = value(r, item)) != GW_OK)
            return rc;
        item->key = key;
        item->keylen = keylen;
        *tail = item;
        tail = &item->next;
        v->n++;
        blanks(r);
        if (r->i < r->len && r->p[r->i] == ',') {
            r->i++;
            blanks(r);
            continue;
        }
        if (r->i < r->len && r->p[r->i] == (object ? '}' : ']'))
            break;
        return jerror(r, object ? "',' or '}' expected"
                                : "',' or ']' expected");
    }
    r->i++;
    r->depth--;
    return object ? duplicates(r, v) : GW_OK;
}

static gw_rc
value(struct jr *r, struct jv *v)
{
    static const struct {
        const char *text;
        size_t n;
        uint8_t type;
    } lit[] = {{"null", 4, J_NULL}, {"false", 5, J_FALSE}, {"true", 4, J_TRUE}};
    char c;

    if (r->i >= r->len)
        return jerror(r, "premature end of input");
    c = r->p[r->i];
    if (c == '"') {
        v->type = J_STRING;
        return string(r, &v->s, &v->n);
    }
    if (c == '{' || c == '[')
        return container(r, v, c == '{');
    if (c == '-' || (c >= '0' && c <= '9'))
        return number(r, v);
    for (size_t k = 0; k < sizeof(lit) / sizeof(lit[0]); k++)
        if (r->len - r->i >= lit[k].n &&
            memcmp(r->p + r->i, lit[k].text, lit[k].n) == 0) {
            v->type = lit[k].type;
            r->i += lit[k].n;
            return GW_OK;
        }
    return jerror(r, "invalid token");
}

/* The reading itself (jread). */
static gw_rc
jread_text(struct jr *r, const char *bytes, size_t len, struct jv **root)
{
    gw_rc rc;

    r->p = malloc(len + 1);
    r->num = malloc(len + 2);
    if (r->p == NULL || r->num == NULL)
        return gw_err_set(r->err, GW_ENOMEM, NULL, "out of memory");
    memcpy(r->p, bytes, len);
    r->p[len] = '\0';
    blanks(r);
    if ((*root = new_value(r)) == NULL)
        return too_many(r);
    if ((rc = value(r, *root)) != GW_OK)
        return rc;
    blanks(r);
    if (r->i < r->len)
        return jerror(r, "end of input expected");
    /* A valid document of JSON_MAX_VALUES + 1: the scan refuses it. */
    return r->count > JSON_MAX_VALUES ? too_many(r) : GW_OK;
}

/* Reads the whole text into r (the caller frees it: jread_release). The
 * reader stops at the limits the scan checks (the depth as it recurses,
 * the values as it makes them): when it stops for any reason, the scan's
 * verdict on the whole text comes first, as when it ran first. */
static gw_rc
jread(struct jr *r, const char *bytes, size_t len,
      const struct gw_fhir_limits *lim, struct jv **root, struct gw_err *err)
{
    size_t values = 0;
    gw_rc rc, scan;

    memset(r, 0, sizeof(*r));
    r->src = bytes;
    r->len = len;
    r->err = err;
    r->max_depth = lim->max_depth;
    rc = jread_text(r, bytes, len, root);
    if (rc != GW_OK && (scan = prescan(bytes, len, lim, &values, err)) != GW_OK)
        return scan;
    return rc;
}

static void
jread_release(struct jr *r)
{
    free(r->p);
    free(r->num);
    while (r->blocks != NULL) {
        struct jblock *next = r->blocks->next;
        free(r->blocks);
        r->blocks = next;
    }
}

/* The member key of obj, or NULL. */
static struct jv *
jget(const struct jv *obj, const char *key)
{
    size_t n = strlen(key);

    for (struct jv *m = obj->first; m != NULL; m = m->next)
        if (m->keylen == n && memcmp(m->key, key, n) == 0)
            return m;
    return NULL;
}

/* --- the walk --------------------------------------------------------- */

struct jw {
    const struct gw_fhir_limits *lim;
    struct gw_err *err;
    xmlDocPtr doc;
    xmlNsPtr ns;
    const xmlChar *x_value, *x_id, *x_extension; /* interned names */
    const xmlChar *const *enames; /* gw_fhir_elem_xnames() */
    struct gw_fhir_path path;
    int depth;
    int recheck; /* the tree may fail gw_fhir_xml_check (see need_check) */
};

/* A fault of the writer at its path. */
#define jfault(w, ...)                                                         \
    gw_err_set((w)->err, GW_EVALIDATION, gw_fhir_path_text(&(w)->path),        \
               __VA_ARGS__)

/*
 * The tree's nodes are made with names from its dictionary (fhir.c's
 * gw_fhir_dict_new: the model's names interned once per process), so no
 * name is copied when a node is made nor freed with the tree (a malloc
 * and a free for each of a message's ~270 elements and attributes, 2 %
 * of validating a JSON submission). Values are still copied: interning
 * them too cost more in hashing than it saved.
 */

/* A new element `name` (interned) in the FHIR namespace, the last child
 * of parent (NULL: none yet), at XML depth xdepth (the root: 1); NULL
 * when out of memory. XML counts more levels than JSON (primitives,
 * resource containers), so the walk's own depth limit does not cover
 * them: past the limit, the tree is to be checked. */
static xmlNodePtr
new_elem(struct jw *w, xmlNodePtr parent, const xmlChar *name, int xdepth)
{
    xmlNodePtr n;

    if (name == NULL)
        return NULL;
    if (xdepth > w->lim->max_depth)
        w->recheck = 1;
    n = xmlNewDocNodeEatName(w->doc, w->ns, (xmlChar *)name, NULL);
    if (n == NULL || parent == NULL)
        return n;
    /* What xmlAddChild does for an element of the same document. */
    n->parent = parent;
    if (parent->last == NULL) {
        parent->children = n;
    } else {
        n->prev = parent->last;
        parent->last->next = n;
    }
    parent->last = n;
    return n;
}

/* Adds the attribute `name` (interned) with value text to el; no key
 * comes twice, so el never has it yet. The value's text node is made
 * here: given the value, libxml2 also asks xmlIsID of every attribute,
 * which a tree without a DTD never has. */
static gw_rc
new_attr(xmlNodePtr el, const xmlChar *name, const char *text)
{
    xmlAttrPtr a;
    xmlNodePtr t;

    if (name == NULL ||
        (a = xmlNewNsPropEatName(el, NULL, (xmlChar *)name, NULL)) == NULL)
        return GW_ENOMEM;
    if ((t = xmlNewDocText(el->doc, (const xmlChar *)text)) == NULL)
        return GW_ENOMEM;
    t->parent = (xmlNodePtr)a;
    a->children = a->last = t;
    return GW_OK;
}

/* The interned name of element e. */
static const xmlChar *
elem_name(struct jw *w, const struct gw_fhir_elem *e)
{
    if (w->enames != NULL)
        return w->enames[e - gw_fhir_elems];
    return xmlDictLookup(w->doc->dict, (const xmlChar *)e->name, -1);
}

static int
numeric(enum gw_fhir_prim p)
{
    return p == GW_FHIR_P_INTEGER || p == GW_FHIR_P_POSITIVEINT ||
           p == GW_FHIR_P_UNSIGNEDINT || p == GW_FHIR_P_DECIMAL;
}

/* The text of a JSON primitive for type p, or NULL with the fault set. */
static const char *
prim_text(struct jw *w, const struct jv *v, enum gw_fhir_prim p, gw_rc *rc)
{
    const char *text = NULL, *why;

    *rc = GW_OK;
    if (p == GW_FHIR_P_BOOLEAN) {
        if (v->type != J_TRUE && v->type != J_FALSE) {
            *rc = jfault(w, "expected true or false");
            return NULL;
        }
        return v->type == J_TRUE ? "true" : "false";
    }
    if (numeric(p)) {
        if (v->type != J_NUMBER) {
            *rc = jfault(w, "expected a JSON number");
            return NULL;
        }
        text = v->s;
    } else {
        if (v->type != J_STRING) {
            *rc = jfault(w, "expected a JSON string");
            return NULL;
        }
        text = v->s;
        if (strlen(text) != v->n) {
            *rc = jfault(w, "a string may not contain NUL");
            return NULL;
        }
        if (v->n > w->lim->max_string) {
            *rc = gw_err_set(w->err, GW_ETOOLARGE, gw_fhir_path_text(&w->path),
                             "a value is longer than the limit");
            return NULL;
        }
    }
    if (!gw_fhir_prim_valid(p, text, &why)) {
        *rc = jfault(w, "%s", why);
        return NULL;
    }
    return text;
}

static gw_rc fill(struct jw *w, const struct jv *obj,
                  const struct gw_fhir_type *t, xmlNodePtr el, int xdepth,
                  int is_resource);

static gw_rc
resource(struct jw *w, const struct jv *obj, xmlNodePtr parent, int xdepth)
{
    const struct gw_fhir_type *t;
    const struct jv *rt = jget(obj, "resourceType");
    xmlNodePtr el;

    if (rt == NULL || rt->type != J_STRING)
        return jfault(w, "a resource needs a resourceType");
    t = gw_fhir_resource_find(rt->s);
    if (t == NULL || strlen(rt->s) != rt->n)
        return jfault(w, "%s is not a resource type this gateway exchanges",
                      rt->s);
    el = new_elem(w, parent, gw_fhir_type_xname(w->doc->dict, t), xdepth + 1);
    if (el == NULL)
        return GW_ENOMEM;
    return fill(w, obj, t, el, xdepth + 1, 1);
}

static gw_rc
primitive_meta(struct jw *w, const struct jv *m, xmlNodePtr el, int xdepth)
{
    const struct gw_fhir_type *ext = gw_fhir_type_find("Extension");
    gw_rc rc = GW_OK;

    if (m->type != J_OBJECT || m->n == 0)
        return jfault(w, "_element must be a non-empty object");
    for (const struct jv *v = m->first; v != NULL; v = v->next) {
        if (strcmp(v->key, "id") == 0 && v->keylen == 2) {
            if (v->type != J_STRING || v->n == 0 || strlen(v->s) != v->n)
                return jfault(w, "id must be a non-empty string");
            if (new_attr(el, w->x_id, v->s) != GW_OK)
                return GW_ENOMEM;
        } else if (strcmp(v->key, "extension") == 0 && v->keylen == 9) {
            int i = 0;
            if (v->type != J_ARRAY || v->n == 0)
                return jfault(w, "extension must be a non-empty array");
            for (const struct jv *x = v->first; x != NULL; x = x->next, i++) {
                xmlNodePtr c = new_elem(w, el, w->x_extension, xdepth + 1);
                size_t old = gw_fhir_path_push(&w->path, "extension", i);
                if (c == NULL)
                    return GW_ENOMEM;
                rc = fill(w, x, ext, c, xdepth + 1, 0);
                if (rc != GW_OK)
                    return rc;
                gw_fhir_path_pop(&w->path, old);
            }
        } else {
            return jfault(w, "unknown property %s in _element", v->key);
        }
    }
    return GW_OK;
}

/* One occurrence of element e (value v, companion m; either may be NULL)
 * in parent, which is at XML depth xdepth. */
static gw_rc
occurrence(struct jw *w, const struct gw_fhir_elem *e, const struct jv *v,
           const struct jv *m, xmlNodePtr parent, int xdepth)
{
    const struct gw_fhir_type *t = gw_fhir_elem_type(e);
    xmlNodePtr c;
    gw_rc rc;

    if (t != NULL && t->prim == GW_FHIR_P_XHTML) {
        xmlDocPtr frag;
        w->recheck = 1; /* the narrative is checked there alone */
        if (v == NULL || v->type != J_STRING || v->n == 0)
            return jfault(w, "the narrative div must be a string");
        rc = gw_fhir_xml_read(v->s, v->n, w->lim, &frag, w->err);
        if (rc != GW_OK) {
            snprintf(w->err->path, sizeof(w->err->path), "%.159s",
                     gw_fhir_path_text(&w->path));
            return rc;
        }
        c = xmlDocCopyNode(xmlDocGetRootElement(frag), w->doc, 1);
        xmlFreeDoc(frag);
        if (c == NULL)
            return GW_ENOMEM;
        xmlAddChild(parent, c);
        return GW_OK;
    }
    c = new_elem(w, parent, elem_name(w, e), xdepth + 1);
    if (c == NULL)
        return GW_ENOMEM;
    if (t == NULL) {
        if (v == NULL || v->type != J_OBJECT)
            return jfault(w, "expected a resource object");
        return resource(w, v, c, xdepth + 1);
    }
    if (t->kind == GW_FHIR_PRIMITIVE) {
        if (v == NULL && m == NULL)
            return jfault(w, "null where a value or extension is needed");
        if (v != NULL) {
            const char *text = prim_text(w, v, t->prim, &rc);
            if (text == NULL)
                return rc;
            if (new_attr(c, w->x_value, text) != GW_OK)
                return GW_ENOMEM;
        }
        return m != NULL ? primitive_meta(w, m, c, xdepth + 1) : GW_OK;
    }
    if (v == NULL || v->type != J_OBJECT)
        return jfault(w, "expected an object");
    return fill(w, v, t, c, xdepth + 1, 0);
}

static int
is_array(const struct jv *v)
{
    return v != NULL && v->type == J_ARRAY;
}

static int
is_null(const struct jv *v)
{
    return v != NULL && v->type == J_NULL;
}

/* Element e of the object filling el (at XML depth xdepth): value v,
 * companion m (either may be NULL). */
static gw_rc
element(struct jw *w, const struct gw_fhir_elem *e, const struct jv *v,
        const struct jv *m, xmlNodePtr el, int xdepth)
{
    const struct gw_fhir_type *t = gw_fhir_elem_type(e);
    int primitive = t != NULL && t->kind == GW_FHIR_PRIMITIVE &&
                    t->prim != GW_FHIR_P_XHTML;
    const struct jv *vi, *mi;
    size_t n, old;
    gw_rc rc = GW_OK;

    if (e->attr) {
        const char *text;
        if (m != NULL)
            return jfault(w, "_%s is not allowed", e->name);
        old = gw_fhir_path_push(&w->path, e->name, -1);
        text = prim_text(w, v, t ? t->prim : GW_FHIR_P_STRING, &rc);
        if (text != NULL)
            rc = new_attr(el, elem_name(w, e), text);
        gw_fhir_path_pop(&w->path, old);
        return rc;
    }
    if (!e->many) {
        old = gw_fhir_path_push(&w->path, e->name, -1);
        if (is_array(v) || is_array(m))
            rc = jfault(w, "%s takes one value, not an array", e->name);
        else if (is_null(v) || is_null(m))
            rc = jfault(w, "null is not allowed here");
        else
            rc = occurrence(w, e, v, m, el, xdepth);
        gw_fhir_path_pop(&w->path, old);
        return rc;
    }
    if ((v != NULL && !is_array(v)) || (m != NULL && !is_array(m)))
        return jfault(w, "%s takes an array", e->name);
    if ((v != NULL && v->n == 0) || (m != NULL && m->n == 0))
        return jfault(w, "%s: empty arrays are not allowed", e->name);
    n = v != NULL ? v->n : m->n;
    if (v != NULL && m != NULL && m->n != n)
        return jfault(w, "%s and _%s have different lengths", e->name, e->name);
    vi = v ? v->first : NULL;
    mi = m ? m->first : NULL;
    for (size_t i = 0; i < n && rc == GW_OK; i++) {
        const struct jv *a = is_null(vi) ? NULL : vi;
        const struct jv *b = is_null(mi) ? NULL : mi;
        old = gw_fhir_path_push(&w->path, e->name, (int)i);
        if (a == NULL && (!primitive || b == NULL))
            rc = jfault(w, "null is not allowed here");
        else
            rc = occurrence(w, e, a, b, el, xdepth);
        gw_fhir_path_pop(&w->path, old);
        vi = vi ? vi->next : NULL;
        mi = mi ? mi->next : NULL;
    }
    return rc;
}

/* A member of an object as the walk visits it: element k of the type, as
 * a value (companion 0) or as its _element companion (1). */
struct slot {
    unsigned k;
    unsigned companion;
    const struct jv *v;
};

static int
slot_cmp(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;

    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    return (int)x->companion - (int)y->companion;
}

#define FILL_SLOTS 32

/* Whether an element of choice group `choice` is among the sorted slots
 * s of type t. */
static int
choice_present(const struct gw_fhir_type *t, const struct slot *s, size_t ns,
               unsigned choice)
{
    for (size_t i = 0; i < ns; i++)
        if (gw_fhir_elems[t->first + s[i].k].choice == choice)
            return 1;
    return 0;
}

/* Sets w->recheck when an element that t requires is not among the sorted
 * slots s (an element of its [x] group standing in for one of a group):
 * gw_fhir_xml_check then finds it, where it finds every other fault. */
static void
required_present(struct jw *w, const struct gw_fhir_type *t,
                 const struct slot *s, size_t ns)
{
    const uint16_t *req;
    unsigned nreq = gw_fhir_type_required(t, &req);
    size_t i = 0;

    for (unsigned r = 0; r < nreq && !w->recheck; r++) {
        unsigned k = req != NULL ? req[r] : r;
        const struct gw_fhir_elem *e = &gw_fhir_elems[t->first + k];
        if (e->min == 0)
            continue;
        while (i < ns && s[i].k < k)
            i++;
        if ((i < ns && s[i].k == k) ||
            (e->choice != 0 && choice_present(t, s, ns, e->choice)))
            continue;
        w->recheck = 1;
    }
}

static gw_rc
fill(struct jw *w, const struct jv *obj, const struct gw_fhir_type *t,
     xmlNodePtr el, int xdepth, int is_resource)
{
    /* The members in definition order, whatever the order of the keys:
     * sorted by element (insertion sort: keys mostly come in order; qsort
     * for the rare big object, so hostile ones cost n log n). */
    struct slot local[FILL_SLOTS], *s = local;
    size_t ns = 0;
    gw_rc rc = GW_OK;

    if (obj->type != J_OBJECT)
        return jfault(w, "expected an object");
    if (obj->n == 0 || (is_resource && obj->n == 1))
        return jfault(w, "empty objects are not allowed");
    if (++w->depth > w->lim->max_depth)
        return gw_err_set(w->err, GW_ETOOLARGE, gw_fhir_path_text(&w->path),
                          "nesting is deeper than the limit");
    if (obj->n > FILL_SLOTS && (s = malloc(obj->n * sizeof(*s))) == NULL) {
        w->depth--;
        return GW_ENOMEM;
    }
    /* Every key must be an element of t (or its _companion). */
    for (const struct jv *v = obj->first; v != NULL; v = v->next) {
        const char *key = v->key;
        const struct gw_fhir_elem *e;
        const struct gw_fhir_type *et;
        if (is_resource && v->keylen == 12 &&
            strcmp(key, "resourceType") == 0)
            continue;
        e = strlen(key) != v->keylen
                ? NULL
                : gw_fhir_elem_find(t, key[0] == '_' ? key + 1 : key);
        et = e ? gw_fhir_elem_type(e) : NULL;
        if (e == NULL || (key[0] == '_' && (et == NULL || e->attr ||
                                            et->kind != GW_FHIR_PRIMITIVE ||
                                            et->prim == GW_FHIR_P_XHTML))) {
            size_t old = gw_fhir_path_push(&w->path, key, -1);
            rc = jfault(w, "unknown element %s", key);
            gw_fhir_path_pop(&w->path, old);
            goto out;
        }
        s[ns].k = (unsigned)(e - &gw_fhir_elems[t->first]);
        s[ns].companion = key[0] == '_';
        s[ns].v = v;
        ns++;
    }
    if (ns > FILL_SLOTS)
        qsort(s, ns, sizeof(*s), slot_cmp);
    else
        for (size_t i = 1; i < ns; i++) {
            struct slot x = s[i];
            size_t j = i;
            for (; j > 0 && slot_cmp(&s[j - 1], &x) > 0; j--)
                s[j] = s[j - 1];
            s[j] = x;
        }
    required_present(w, t, s, ns);
    for (size_t i = 0; i < ns && rc == GW_OK;) {
        const struct gw_fhir_elem *e = &gw_fhir_elems[t->first + s[i].k];
        const struct jv *v = NULL, *m = NULL;
        unsigned k = s[i].k;
        for (; i < ns && s[i].k == k; i++)
            if (s[i].companion)
                m = s[i].v;
            else
                v = s[i].v;
        /* The entries of one [x] choice are neighbours in definition
         * order: the next element present is the only one to look at. */
        if (e->choice != 0 && i < ns &&
            gw_fhir_elems[t->first + s[i].k].choice == e->choice) {
            rc = jfault(w, "%s and %s are two choices of one [x] element",
                        e->name, gw_fhir_elems[t->first + s[i].k].name);
            break;
        }
        rc = element(w, e, v, m, el, xdepth);
    }
out:
    w->depth--;
    if (s != local)
        free(s);
    return rc;
}

/*
 * Whether the finished tree still needs gw_fhir_xml_check. The walk above
 * makes only what that check accepts (known elements in definition order
 * and namespace, single ones once, one choice per [x], values of valid
 * lexical form, one resource per container, no element without a value
 * or children) and notes what it does not check itself (w->recheck): a
 * required element missing, XML nesting past the limit, a narrative.
 * Left are the limits that it checks only on some values: attributes per
 * element (a tree of the walk has at most two), the length of a value
 * (numbers, literals and ids it does not measure). Checking a tree that
 * passes all this was a fifth of the conversion; a tree that may not
 * pass is checked, so the check's verdict, and its fault, stay the same.
 */
static int
need_check(const struct jw *w, const struct jr *r)
{
    return w->recheck || w->lim->max_depth < 1 ||
           w->lim->max_attributes < 2 || r->longest > w->lim->max_string ||
           w->lim->max_string < 5;
}

gw_rc
gw_fhir_json_to_xml(const char *bytes, size_t len,
                    const struct gw_fhir_limits *lim, xmlDocPtr *out,
                    struct gw_err *err)
{
    struct jr r;
    struct jv *root = NULL;
    struct jw w;
    xmlNodePtr el = NULL;
    gw_rc rc;

    *out = NULL;
    memset(&w, 0, sizeof(w));
    if (len > lim->max_bytes)
        return gw_err_set(err, GW_ETOOLARGE, NULL,
                          "the document is larger than %zu bytes",
                          lim->max_bytes);
    rc = jread(&r, bytes, len, lim, &root, err);
    if (rc != GW_OK)
        goto out;
    w.lim = lim;
    w.err = err;
    w.doc = xmlNewDoc((const xmlChar *)"1.0");
    if (w.doc == NULL || (w.doc->dict = gw_fhir_dict_new()) == NULL ||
        (w.x_value = gw_fhir_xname(w.doc->dict, "value")) == NULL ||
        (w.x_id = gw_fhir_xname(w.doc->dict, "id")) == NULL ||
        (w.x_extension = gw_fhir_xname(w.doc->dict, "extension")) == NULL) {
        rc = GW_ENOMEM;
        goto out;
    }
    w.enames = gw_fhir_elem_xnames();
    if (root->type != J_OBJECT) {
        rc = gw_err_set(err, GW_EVALIDATION, NULL,
                        "a FHIR resource is a JSON object");
        goto out;
    }
    {
        const struct jv *rt = jget(root, "resourceType");
        const struct gw_fhir_type *t =
            rt != NULL && rt->type == J_STRING && strlen(rt->s) == rt->n
                ? gw_fhir_resource_find(rt->s)
                : NULL;
        if (t == NULL) {
            rc = gw_err_set(err, GW_EVALIDATION, NULL,
                            rt != NULL && rt->type == J_STRING
                                ? "not a resource type this gateway exchanges"
                                : "a resource needs a resourceType");
            goto out;
        }
        /* The root carries the FHIR namespace; every element uses it. */
        el = new_elem(&w, NULL, gw_fhir_type_xname(w.doc->dict, t), 1);
        if (el == NULL) {
            rc = GW_ENOMEM;
            goto out;
        }
        xmlDocSetRootElement(w.doc, el);
        w.ns = xmlNewNs(el, (const xmlChar *)GW_FHIR_NS, NULL);
        xmlSetNs(el, w.ns);
        gw_fhir_path_push(&w.path, t->name, -1);
        rc = fill(&w, root, t, el, 1, 1);
    }
    if (rc == GW_OK && need_check(&w, &r))
        rc = gw_fhir_xml_check(w.doc, lim, err);
    if (rc == GW_OK) {
        *out = w.doc;
        w.doc = NULL;
    }
out:
    if (rc != GW_OK && w.doc != NULL)
        xmlFreeDoc(w.doc);
    jread_release(&r);
    return rc;
}
