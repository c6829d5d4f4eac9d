/*
 * json.c - FHIR JSON into the canonical FHIR XML tree, driven by the model
 * table.
 *
 * jansson reads the JSON (duplicate keys refused). It would turn numbers
 * into doubles and lose what FHIR keeps (1.50 is not 1.5), so a first pass
 * over the raw text rewrites every number outside strings into a string
 * that starts with a NUL byte followed by the number exactly as written;
 * real strings may not contain NUL (FHIR forbids it), so the two cannot be
 * confused. The same pass bounds the nesting depth before jansson, which
 * recurses, sees the text.
 *
 * The walk then builds elements in definition order, whatever the order
 * of the JSON keys, merging each primitive with its "_name" companion
 * (id and extensions; arrays aligned, null where one side is absent). The
 * finished tree goes through the same structural check as XML input.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "fhir/fhir_xml.h"
#include "fhir/model.h"

struct jw {
    const struct gw_fhir_limits *lim;
    struct gw_err *err;
    xmlDocPtr doc;
    xmlNsPtr ns;
    char path[512];
    int depth;
};

static gw_rc GW_PRINTF(2, 3)
jfault(struct jw *w, const char *fmt, ...)
{
    va_list ap;

    gw_err_set(w->err, GW_EVALIDATION, w->path, "%s", "");
    va_start(ap, fmt);
    vsnprintf(w->err->detail, sizeof(w->err->detail), fmt, ap);
    va_end(ap);
    return GW_EVALIDATION;
}

/* Appends ".name" or ".name[index]" to the path (cut at its size, as
 * snprintf did; this runs for every element, so without snprintf). */
static size_t
jpush(struct jw *w, const char *name, int index)
{
    size_t old = strlen(w->path), at = old, cap = sizeof(w->path) - 1;
    char num[16];
    int nd = 0;

    if (old && at < cap)
        w->path[at++] = '.';
    for (; *name != '\0' && at < cap; name++)
        w->path[at++] = *name;
    if (index >= 0) {
        unsigned u = (unsigned)index;
        do
            num[nd++] = (char)('0' + u % 10);
        while ((u /= 10) != 0);
        if (at < cap)
            w->path[at++] = '[';
        while (nd > 0 && at < cap)
            w->path[at++] = num[--nd];
        if (at < cap)
            w->path[at++] = ']';
    }
    w->path[at] = '\0';
    return old;
}

/* Values (strings, numbers, literals, objects, arrays) in one document:
 * jansson spends some 100 bytes on each, so 12 MB of ["a","a",...] took
 * 300 MB; counted here before jansson allocates any. */
#define JSON_MAX_VALUES 1000000

/* Rewrites numbers as "\u0000<number>" strings and checks the depth and
 * the number of values. */
static gw_rc
mark_numbers(const char *in, size_t len, const struct gw_fhir_limits *lim,
             struct gw_buf *out, struct gw_err *err)
{
    int depth = 0, line = 1;
    long values = 0;
    gw_rc rc = GW_OK;
    size_t i = 0;

    while (i < len && rc == GW_OK) {
        char c = in[i];
        if ((c == '"' || c == '-' || (c >= '0' && c <= '9') || c == '{' ||
             c == '[' || c == 't' || c == 'f' || c == 'n') &&
            ++values > JSON_MAX_VALUES)
            return gw_err_set(err, GW_ETOOLARGE, NULL,
                              "JSON line %d: more than %d values in one "
                              "document",
                              line, JSON_MAX_VALUES);
        if (c == '"') {
            size_t j = i + 1;
            while (j < len && in[j] != '"') {
                if (in[j] == '\\' && j + 1 < len)
                    j++;
                j++;
            }
            j = j < len ? j + 1 : len;
            rc = gw_buf_append(out, in + i, j - i);
            i = j;
            continue;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i;
            while (j < len && strchr("+-.eE0123456789", in[j]) != NULL)
                j++;
            rc = gw_buf_append_str(out, "\"\\u0000");
            if (rc == GW_OK)
                rc = gw_buf_append(out, in + i, j - i);
            if (rc == GW_OK)
                rc = gw_buf_append_str(out, "\"");
            i = j;
            continue;
        }
        /* Structure, blanks and literals up to the next string or
         * number: checked one by one, copied in one piece. */
        {
            size_t j = i;
            for (;;) {
                if (c == '{' || c == '[') {
                    if (++depth > lim->max_depth)
                        return gw_err_set(err, GW_ETOOLARGE, NULL,
                                          "JSON line %d: nesting is deeper "
                                          "than %d",
                                          line, lim->max_depth);
                } else if (c == '}' || c == ']') {
                    depth--;
                } else if (c == '\n') {
                    line++;
                }
                if (++j >= len)
                    break;
                c = in[j];
                if (c == '"' || c == '-' || (c >= '0' && c <= '9'))
                    break;
                if ((c == '{' || c == '[' || c == 't' || c == 'f' ||
                     c == 'n') &&
                    ++values > JSON_MAX_VALUES)
                    return gw_err_set(err, GW_ETOOLARGE, NULL,
                                      "JSON line %d: more than %d values in "
                                      "one document",
                                      line, JSON_MAX_VALUES);
            }
            rc = gw_buf_append(out, in + i, j - i);
            i = j;
        }
    }
    /* Marking grows each number by 8 bytes; the buffer allows twice the
     * input, which no FHIR document comes near. */
    if (rc == GW_ETOOLARGE)
        return gw_err_set(err, rc, NULL,
                          "the JSON holds too many numbers for its size");
    if (rc != GW_OK)
        return gw_err_set(err, rc, NULL, "%s", gw_rc_message(rc));
    return rc;
}

static int
is_number(json_t *v, const char **text)
{
    if (!json_is_string(v) || json_string_length(v) < 2 ||
        json_string_value(v)[0] != '\0')
        return 0;
    *text = json_string_value(v) + 1;
    return 1;
}

static int
numeric(enum gw_fhir_prim p)
{
    return p == GW_FHIR_P_INTEGER || p == GW_FHIR_P_POSITIVEINT ||
           p == GW_FHIR_P_UNSIGNEDINT || p == GW_FHIR_P_DECIMAL;
}

/* The text of a JSON primitive for type p, or NULL with the fault set. */
static const char *
prim_text(struct jw *w, json_t *v, enum gw_fhir_prim p, gw_rc *rc)
{
    const char *text = NULL, *why;

    *rc = GW_OK;
    if (p == GW_FHIR_P_BOOLEAN) {
        if (!json_is_boolean(v)) {
            *rc = jfault(w, "expected true or false");
            return NULL;
        }
        return json_is_true(v) ? "true" : "false";
    }
    if (numeric(p)) {
        if (!is_number(v, &text)) {
            *rc = jfault(w, "expected a JSON number");
            return NULL;
        }
    } else {
        if (!json_is_string(v) || is_number(v, &text)) {
            *rc = jfault(w, "expected a JSON string");
            return NULL;
        }
        text = json_string_value(v);
        if (strlen(text) != json_string_length(v)) {
            *rc = jfault(w, "a string may not contain NUL");
            return NULL;
        }
        if (json_string_length(v) > w->lim->max_string) {
            *rc = gw_err_set(w->err, GW_ETOOLARGE, w->path,
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

static gw_rc fill(struct jw *w, json_t *obj, const struct gw_fhir_type *t,
                  xmlNodePtr el, int is_resource);

static gw_rc
resource(struct jw *w, json_t *obj, xmlNodePtr parent, xmlNodePtr *out)
{
    const struct gw_fhir_type *t;
    json_t *rt = json_object_get(obj, "resourceType");
    xmlNodePtr el;

    if (!json_is_string(rt))
        return jfault(w, "a resource needs a resourceType");
    t = gw_fhir_resource_find(json_string_value(rt));
    if (t == NULL)
        return jfault(w, "%s is not a resource type this gateway exchanges", json_string_value(rt));
    el = xmlNewDocNode(w->doc, w->ns, (const xmlChar *)t->name, NULL);
    if (el == NULL)
        return GW_ENOMEM;
    if (parent != NULL)
        xmlAddChild(parent, el);
    if (out != NULL)
        *out = el;
    return fill(w, obj, t, el, 1);
}

static gw_rc
primitive_meta(struct jw *w, json_t *m, xmlNodePtr el)
{
    const struct gw_fhir_type *ext = gw_fhir_type_find("Extension");
    const char *key;
    json_t *v;
    gw_rc rc = GW_OK;

    if (!json_is_object(m) || json_object_size(m) == 0)
        return jfault(w, "_element must be a non-empty object");
    json_object_foreach(m, key, v) {
        if (strcmp(key, "id") == 0) {
            if (!json_is_string(v) || json_string_length(v) == 0)
                return jfault(w, "id must be a non-empty string");
            xmlSetProp(el, (const xmlChar *)"id",
                       (const xmlChar *)json_string_value(v));
        } else if (strcmp(key, "extension") == 0) {
            size_t i;
            json_t *x;
            if (!json_is_array(v) || json_array_size(v) == 0)
                return jfault(w, "extension must be a non-empty array");
            json_array_foreach(v, i, x) {
                xmlNodePtr c = xmlNewChild(el, w->ns,
                                           (const xmlChar *)"extension", NULL);
                size_t old = jpush(w, "extension", (int)i);
                if (c == NULL)
                    return GW_ENOMEM;
                rc = fill(w, x, ext, c, 0);
                if (rc != GW_OK)
                    return rc;
                w->path[old] = '\0';
            }
        } else {
            return jfault(w, "unknown property %s in _element", key);
        }
    }
    return GW_OK;
}

/* One occurrence of element e (value v, companion m; either may be NULL). */
static gw_rc
occurrence(struct jw *w, const struct gw_fhir_elem *e, json_t *v, json_t *m,
           xmlNodePtr parent)
{
    const struct gw_fhir_type *t = gw_fhir_elem_type(e);
    xmlNodePtr c;
    gw_rc rc;

    if (t != NULL && t->prim == GW_FHIR_P_XHTML) {
        xmlDocPtr frag;
        const char *text;
        if (!json_is_string(v) || json_string_length(v) == 0)
            return jfault(w, "the narrative div must be a string");
        text = json_string_value(v);
        rc = gw_fhir_xml_read(text, json_string_length(v), w->lim, &frag,
                              w->err);
        if (rc != GW_OK) {
            snprintf(w->err->path, sizeof(w->err->path), "%.159s", w->path);
            return rc;
        }
        c = xmlDocCopyNode(xmlDocGetRootElement(frag), w->doc, 1);
        xmlFreeDoc(frag);
        if (c == NULL)
            return GW_ENOMEM;
        xmlAddChild(parent, c);
        return GW_OK;
    }
    c = xmlNewChild(parent, w->ns, (const xmlChar *)e->name, NULL);
    if (c == NULL)
        return GW_ENOMEM;
    if (t == NULL) {
        if (!json_is_object(v))
            return jfault(w, "expected a resource object");
        return resource(w, v, c, NULL);
    }
    if (t->kind == GW_FHIR_PRIMITIVE) {
        if (v == NULL && m == NULL)
            return jfault(w, "null where a value or extension is needed");
        if (v != NULL) {
            const char *text = prim_text(w, v, t->prim, &rc);
            if (text == NULL)
                return rc;
            xmlSetProp(c, (const xmlChar *)"value", (const xmlChar *)text);
        }
        return m != NULL ? primitive_meta(w, m, c) : GW_OK;
    }
    if (!json_is_object(v))
        return jfault(w, "expected an object");
    return fill(w, v, t, c, 0);
}

static gw_rc
element(struct jw *w, const struct gw_fhir_elem *e, json_t *v, json_t *m,
        xmlNodePtr el)
{
    const struct gw_fhir_type *t = gw_fhir_elem_type(e);
    int primitive = t != NULL && t->kind == GW_FHIR_PRIMITIVE &&
                    t->prim != GW_FHIR_P_XHTML;
    size_t n, old;
    gw_rc rc = GW_OK;

    if (e->attr) {
        const char *text;
        if (m != NULL)
            return jfault(w, "_%s is not allowed", e->name);
        old = jpush(w, e->name, -1);
        text = prim_text(w, v, t ? t->prim : GW_FHIR_P_STRING, &rc);
        if (text != NULL)
            xmlSetProp(el, (const xmlChar *)e->name, (const xmlChar *)text);
        w->path[old] = '\0';
        return rc;
    }
    if (!e->many) {
        old = jpush(w, e->name, -1);
        if (json_is_array(v) || json_is_array(m))
            rc = jfault(w, "%s takes one value, not an array", e->name);
        else if (json_is_null(v) || json_is_null(m))
            rc = jfault(w, "null is not allowed here");
        else
            rc = occurrence(w, e, v, m, el);
        w->path[old] = '\0';
        return rc;
    }
    if ((v != NULL && !json_is_array(v)) || (m != NULL && !json_is_array(m)))
        return jfault(w, "%s takes an array", e->name);
    if ((v != NULL && json_array_size(v) == 0) ||
        (m != NULL && json_array_size(m) == 0))
        return jfault(w, "%s: empty arrays are not allowed", e->name);
    n = v != NULL ? json_array_size(v) : json_array_size(m);
    if (v != NULL && m != NULL && json_array_size(m) != n)
        return jfault(w, "%s and _%s have different lengths", e->name, e->name);
    for (size_t i = 0; i < n && rc == GW_OK; i++) {
        json_t *vi = v ? json_array_get(v, i) : NULL;
        json_t *mi = m ? json_array_get(m, i) : NULL;
        old = jpush(w, e->name, (int)i);
        if (json_is_null(vi))
            vi = NULL;
        if (json_is_null(mi))
            mi = NULL;
        if (vi == NULL && (!primitive || mi == NULL))
            rc = jfault(w, "null is not allowed here");
        else
            rc = occurrence(w, e, vi, mi, el);
        w->path[old] = '\0';
    }
    return rc;
}

#define FILL_BITS 256
#define HAS(bits, k) (((bits)[(k) / 64] >> ((k) % 64)) & 1)

static gw_rc
fill(struct jw *w, json_t *obj, const struct gw_fhir_type *t, xmlNodePtr el,
     int is_resource)
{
    const char *key;
    json_t *v;
    gw_rc rc = GW_OK;
    int companions = 0;
    /* Which elements of t the object has (bit k: gw_fhir_elems[first+k]),
     * as a value and as an _element companion: the walk below visits
     * those, not every element t defines (a hash look-up each, most of
     * the conversion's cost). A type past FILL_BITS elements is walked
     * whole, as before. */
    uint64_t has_v[FILL_BITS / 64] = {0}, has_m[FILL_BITS / 64] = {0};
    int walk_all = t->n > FILL_BITS;

    if (!json_is_object(obj))
        return jfault(w, "expected an object");
    if (json_object_size(obj) == 0 ||
        (is_resource && json_object_size(obj) == 1))
        return jfault(w, "empty objects are not allowed");
    if (++w->depth > w->lim->max_depth)
        return gw_err_set(w->err, GW_ETOOLARGE, w->path,
                          "nesting is deeper than the limit");
    /* Every key must be an element of t (or its _companion). */
    json_object_foreach(obj, key, v) {
        const struct gw_fhir_elem *e;
        const struct gw_fhir_type *et;
        if (is_resource && strcmp(key, "resourceType") == 0)
            continue;
        companions |= key[0] == '_';
        e = gw_fhir_elem_find(t, key[0] == '_' ? key + 1 : key);
        et = e ? gw_fhir_elem_type(e) : NULL;
        if (e == NULL || (key[0] == '_' && (et == NULL || e->attr ||
                                            et->kind != GW_FHIR_PRIMITIVE ||
                                            et->prim == GW_FHIR_P_XHTML))) {
            size_t old = jpush(w, key, -1);
            rc = jfault(w, "unknown element %s", key);
            w->path[old] = '\0';
            w->depth--;
            return rc;
        }
        if (!walk_all) {
            unsigned k = (unsigned)(e - &gw_fhir_elems[t->first]);
            if (key[0] == '_')
                has_m[k / 64] |= (uint64_t)1 << (k % 64);
            else
                has_v[k / 64] |= (uint64_t)1 << (k % 64);
        }
    }
    for (unsigned k = 0; k < t->n && rc == GW_OK; k++) {
        const struct gw_fhir_elem *e = &gw_fhir_elems[t->first + k];
        char under[96];
        json_t *m = NULL;
        if (!walk_all && !HAS(has_v, k) && !HAS(has_m, k))
            continue;
        v = json_object_get(obj, e->name);
        /* _element companions are rare: look only when the object has
         * one (this loop runs for every element the type defines). */
        if (companions) {
            snprintf(under, sizeof(under), "_%s", e->name);
            m = json_object_get(obj, under);
        }
        if (v == NULL && m == NULL)
            continue;
        if (e->choice != 0)
            for (unsigned j = k + 1; j < t->n; j++) {
                const struct gw_fhir_elem *o = &gw_fhir_elems[t->first + j];
                if (o->choice == e->choice && (walk_all || HAS(has_v, j)) &&
                    json_object_get(obj, o->name) != NULL) {
                    w->depth--;
                    return jfault(w, "%s and %s are two choices of one [x] "
                                     "element", e->name, o->name);
                }
            }
        rc = element(w, e, v, m, el);
    }
    w->depth--;
    return rc;
}

gw_rc
gw_fhir_json_to_xml(const char *bytes, size_t len,
                    const struct gw_fhir_limits *lim, xmlDocPtr *out,
                    struct gw_err *err)
{
    struct gw_buf marked;
    json_error_t jerr;
    json_t *root = NULL;
    struct jw w;
    xmlNodePtr el = NULL;
    gw_rc rc;

    *out = NULL;
    memset(&w, 0, sizeof(w));
    if (len > lim->max_bytes)
        return gw_err_set(err, GW_ETOOLARGE, NULL,
                          "the document is larger than %zu bytes",
                          lim->max_bytes);
    gw_buf_init(&marked, len * 2 + 64);
    rc = mark_numbers(bytes, len, lim, &marked, err);
    if (rc != GW_OK)
        goto out;
    root = json_loadb(marked.data ? marked.data : "", marked.len,
                      JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (root == NULL) {
        rc = gw_err_set(err, GW_EPARSE, NULL, "JSON line %d: %s", jerr.line,
                        jerr.text);
        goto out;
    }
    w.lim = lim;
    w.err = err;
    w.doc = xmlNewDoc((const xmlChar *)"1.0");
    if (w.doc == NULL) {
        rc = GW_ENOMEM;
        goto out;
    }
    if (!json_is_object(root)) {
        rc = gw_err_set(err, GW_EVALIDATION, NULL,
                        "a FHIR resource is a JSON object");
        goto out;
    }
    {
        json_t *rt = json_object_get(root, "resourceType");
        const struct gw_fhir_type *t =
            json_is_string(rt) ? gw_fhir_resource_find(json_string_value(rt))
                               : NULL;
        if (t == NULL) {
            rc = gw_err_set(err, GW_EVALIDATION, NULL,
                            json_is_string(rt)
                                ? "not a resource type this gateway exchanges"
                                : "a resource needs a resourceType");
            goto out;
        }
        /* The root carries the FHIR namespace; every element uses it. */
        el = xmlNewDocNode(w.doc, NULL, (const xmlChar *)t->name, NULL);
        if (el == NULL) {
            rc = GW_ENOMEM;
            goto out;
        }
        xmlDocSetRootElement(w.doc, el);
        w.ns = xmlNewNs(el, (const xmlChar *)GW_FHIR_NS, NULL);
        xmlSetNs(el, w.ns);
        jpush(&w, t->name, -1);
        rc = fill(&w, root, t, el, 1);
    }
    if (rc == GW_OK)
        rc = gw_fhir_xml_check(w.doc, lim, err);
    if (rc == GW_OK) {
        *out = w.doc;
        w.doc = NULL;
    }
out:
    if (rc != GW_OK && w.doc != NULL)
        xmlFreeDoc(w.doc);
    json_decref(root);
    gw_buf_release(&marked);
    return rc;
}
