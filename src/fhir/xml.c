/*
 * xml.c - hardened XML reading, the structural check of a FHIR XML tree
 * against the model table, and canonical JSON written from that tree.
 *
 * Hardening, in order: the size cap before anything is read; a DOCTYPE in
 * the prolog is refused by a scan of the raw bytes before libxml2 sees
 * them, so no entity can be declared (and so none expanded: only the five
 * predefined entities and character references remain); encodings other
 * than UTF-8 are refused; libxml2 runs with XML_PARSE_NONET and without
 * NOENT, DTDLOAD or XInclude (and without XML_PARSE_HUGE). Before libxml2
 * runs, one linear scan of the bytes checks every limit (xml.max_depth,
 * xml.max_attributes, name lengths, xml.max_string_bytes for texts and
 * attribute values, elements per document), so no input makes libxml2 do
 * more than linear work; the walk checks them again on the tree.
 *
 * The walk enforces FHIR's XML rules: the FHIR namespace, known elements
 * only and in definition order, no repeats of single elements, required
 * elements present, one choice per [x], values in @value with valid
 * lexical forms, no text content outside the narrative, one resource per
 * container, a safe XHTML narrative. The same walk, given a buffer, writes
 * the JSON form; numbers and booleans are copied as written, so decimals
 * keep their precision.
 */
#define _GNU_SOURCE /* memmem */
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlsave.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "fhir/fhir_xml.h"
#include "fhir/model.h"
#include "fhir/jsonw.h"
#include "fhir/out.h"
#include "fhir/path.h"

#define JSON_MAX (256u * 1024 * 1024)

/* Entries of the walk's cache of elements by name (a power of two). */
#define ELEM_CACHE 64

struct walk {
    const struct gw_fhir_limits *lim;
    struct gw_err *err;
    struct gw_fhir_path path;
    int depth;
    xmlNsPtr fhir;   /* a namespace seen to be FHIR's (is_fhir) */
    struct gw_jsonw json; /* its out NULL: check only */
    /* "value" and "id" as the tree's dictionary holds them (NULL: it has
     * none, or not these): an attribute named by the same pointer is
     * one of them without a strcmp. */
    const xmlChar *x_value, *x_id;
    /* Elements found by name (elem_of): a name's pointer recurs in a
     * tree with a dictionary ("value", "system", "url", ...); a tree
     * without one has a copy of its name in every node (no cache). */
    int cache;
    struct {
        const xmlChar *name;
        const struct gw_fhir_type *t;
        const struct gw_fhir_elem *e;
    } found[ELEM_CACHE];
};

/* The element of t named name (gw_fhir_elem_find), through the walk's
 * cache keyed by the name's pointer: the same pointer and type give the
 * same element, and elements of a tree with a dictionary share their
 * names' pointers. */
static const struct gw_fhir_elem *
elem_of(struct walk *w, const struct gw_fhir_type *t, const xmlChar *name)
{
    size_t h = ((uintptr_t)name >> 3 ^ (uintptr_t)t >> 3) & (ELEM_CACHE - 1);
    const struct gw_fhir_elem *e;

    if (!w->cache)
        return gw_fhir_elem_find(t, (const char *)name);
    if (w->found[h].name == name && w->found[h].t == t)
        return w->found[h].e;
    e = gw_fhir_elem_find(t, (const char *)name);
    if (e != NULL) {
        w->found[h].name = name;
        w->found[h].t = t;
        w->found[h].e = e;
    }
    return e;
}

/* The model's Extension type, looked up once. */
static const struct gw_fhir_type *
extension_type(void)
{
    static const struct gw_fhir_type *ext;
    const struct gw_fhir_type *t = __atomic_load_n(&ext, __ATOMIC_RELAXED);

    if (t == NULL) {
        t = gw_fhir_type_find("Extension");
        __atomic_store_n(&ext, t, __ATOMIC_RELAXED);
    }
    return t;
}

/* A fault of the walk at its path (err may be NULL). */
#define fault(w, rc, ...)                                                      \
    gw_err_set((w)->err, rc, gw_fhir_path_text(&(w)->path), __VA_ARGS__)

/* --- JSON writer (jsonw.h) ----------------------------------------- */

static void
put_value(struct walk *w, enum gw_fhir_prim p, const char *v)
{
    if (p == GW_FHIR_P_BOOLEAN || p == GW_FHIR_P_INTEGER ||
        p == GW_FHIR_P_POSITIVEINT || p == GW_FHIR_P_UNSIGNEDINT ||
        p == GW_FHIR_P_DECIMAL)
        gw_jsonw_raw(&w->json, v);
    else
        gw_jsonw_string(&w->json, v);
}

/* --- the walk ------------------------------------------------------- */

static int
is_fhir(struct walk *w, xmlNodePtr n)
{
    if (n->ns != NULL && n->ns == w->fhir)
        return 1;
    if (n->ns == NULL || n->ns->href == NULL ||
        strcmp((const char *)n->ns->href, GW_FHIR_NS) != 0)
        return 0;
    w->fhir = n->ns; /* a tree has one or a few: compare the pointer */
    return 1;
}

/* The value of attribute a as xmlNodeGetContent gives it: without a copy
 * when it is one text node, else a copy in *copy (free it). */
static const char *
attr_value(xmlAttrPtr a, xmlChar **copy)
{
    xmlNodePtr t = a->children;

    *copy = NULL;
    if (t != NULL && t->next == NULL &&
        (t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) &&
        t->content != NULL)
        return (const char *)t->content;
    *copy = xmlNodeGetContent((xmlNodePtr)a);
    return (const char *)*copy;
}

/* xmlGetProp(n, name) without its copy where it can (*copy: free it). */
static const char *
prop_value(xmlNodePtr n, const char *name, xmlChar **copy)
{
    xmlAttrPtr a = xmlHasNsProp(n, (const xmlChar *)name, NULL);

    *copy = NULL;
    if (a == NULL)
        return NULL;
    if (a->type != XML_ATTRIBUTE_NODE) { /* a DTD default */
        *copy = xmlGetProp(n, (const xmlChar *)name);
        return (const char *)*copy;
    }
    return attr_value(a, copy);
}

static int
blank(const xmlChar *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

static gw_rc walk_struct(struct walk *w, xmlNodePtr n,
                         const struct gw_fhir_type *t);
static gw_rc walk_resource(struct walk *w, xmlNodePtr n);
static gw_rc walk_members(struct walk *w, xmlNodePtr n,
                          const struct gw_fhir_type *t);

/* Text between elements must be blank; comments are dropped. */
static gw_rc
check_text(struct walk *w, xmlNodePtr c)
{
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
        !blank(c->content))
        return fault(w, GW_EVALIDATION,
                     "text content is not allowed here (values go in "
                     "@value)");
    if (c->type == XML_ENTITY_REF_NODE)
        return fault(w, GW_EPARSE, "entity references are not allowed");
    return GW_OK;
}

static gw_rc
check_string(struct walk *w, const char *v)
{
    if (strlen(v) > w->lim->max_string)
        return fault(w, GW_ETOOLARGE, "a value is longer than the limit");
    return GW_OK;
}

/* The attributes of n (type t); for a primitive, *seen gets SEEN_VALUE
 * and SEEN_ID for the @value and @id it has (when GW_OK: every attribute
 * but xsi:schemaLocation is one of them, so they are what xmlHasProp
 * would find). */
#define SEEN_VALUE 1
#define SEEN_ID 2

static gw_rc
check_attrs(struct walk *w, xmlNodePtr n, const struct gw_fhir_type *t,
            int primitive, int *seen)
{
    int count = 0;

    for (xmlAttrPtr a = n->properties; a != NULL; a = a->next)
        if (++count > w->lim->max_attributes)
            return fault(w, GW_ETOOLARGE, "more than %d attributes on one "
                                          "element", w->lim->max_attributes);
    for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
        const char *name = (const char *)a->name, *v;
        xmlChar *copy;
        int known;
        gw_rc rc = GW_OK;
        const char *why;

        if (a->ns != NULL && a->ns->href != NULL &&
            strcmp((const char *)a->ns->href,
                   "http://www.w3.org/2001/XMLSchema-instance") == 0 &&
            strcmp(name, "schemaLocation") == 0)
            continue; /* a hint for schema tools; carries nothing */
        if (a->ns != NULL)
            return fault(w, GW_EVALIDATION, "unknown attribute %s", name);
        const struct gw_fhir_type *at = NULL; /* type of an attribute elem */
        if (primitive && (a->name == w->x_value || strcmp(name, "value") == 0))
            known = SEEN_VALUE;
        else if (primitive && (a->name == w->x_id || strcmp(name, "id") == 0))
            known = SEEN_ID;
        else
            known = 0;
        *seen |= known;
        if (!primitive) {
            const struct gw_fhir_elem *e = elem_of(w, t, a->name);
            known = e != NULL && e->attr;
            if (known)
                at = gw_fhir_elem_type(e);
        }
        if (!known)
            return fault(w, GW_EVALIDATION, "unknown attribute %s", name);
        v = attr_value(a, &copy);
        if (v == NULL)
            return GW_ENOMEM;
        rc = check_string(w, v);
        if (rc == GW_OK && known == SEEN_VALUE &&
            !gw_fhir_prim_valid(t->prim, v, &why))
            rc = fault(w, GW_EVALIDATION, "@value: %s", why);
        else if (rc == GW_OK && at != NULL &&
                 !gw_fhir_prim_valid(at->prim, v, &why))
            rc = fault(w, GW_EVALIDATION, "@%s: %s", name, why);
        else if (rc == GW_OK && v[0] == '\0')
            rc = fault(w, GW_EVALIDATION, "attribute %s is empty", name);
        if (copy != NULL)
            xmlFree(copy);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

/* The narrative: an XHTML div without active content. */
static gw_rc
check_xhtml(struct walk *w, xmlNodePtr div)
{
    static const char *const banned[] = {"script", "form", "iframe", "object",
                                         "embed", "applet", "base", "link",
                                         "meta", "style", "frame", NULL};
    xmlNodePtr n = div;
    int depth = 0;

    if (div->ns == NULL || strcmp((const char *)div->ns->href, GW_XHTML_NS) ||
        strcmp((const char *)div->name, "div") != 0)
        return fault(w, GW_EVALIDATION,
                     "the narrative must be an XHTML div");
    while (n != NULL) {
        if (n->type == XML_ELEMENT_NODE) {
            for (int i = 0; banned[i]; i++)
                if (strcmp((const char *)n->name, banned[i]) == 0)
                    return fault(w, GW_EVALIDATION,
                                 "the narrative may not contain <%s>", banned[i]);
            for (xmlAttrPtr a = n->properties; a; a = a->next)
                if ((a->name[0] == 'o' || a->name[0] == 'O') &&
                    (a->name[1] == 'n' || a->name[1] == 'N'))
                    return fault(w, GW_EVALIDATION,
                                 "the narrative may not carry event "
                                 "attributes");
        }
        if (n->type == XML_ENTITY_REF_NODE)
            return fault(w, GW_EPARSE, "entity references are not "
                                       "allowed");
        if (depth > w->lim->max_depth)
            return fault(w, GW_ETOOLARGE, "nesting is deeper than the "
                                          "limit");
        /* Iterative pre-order walk of the subtree. */
        if (n->children != NULL && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            depth++;
            continue;
        }
        while (n != div && n->next == NULL) {
            n = n->parent;
            depth--;
        }
        if (n == div)
            break;
        n = n->next;
    }
    return GW_OK;
}

static gw_rc
emit_div(struct walk *w, xmlNodePtr div)
{
    xmlBufferPtr b;

    if (w->json.out == NULL)
        return GW_OK;
    b = xmlBufferCreate();
    if (b == NULL)
        return GW_ENOMEM;
    xmlNodeDump(b, div->doc, div, 0, 0);
    gw_jsonw_string(&w->json, (const char *)xmlBufferContent(b));
    xmlBufferFree(b);
    return GW_OK;
}

/* One primitive element's @value (may be NULL) and whether it has id or
 * extension (the JSON "_name" part). */
static gw_rc
walk_primitive(struct walk *w, xmlNodePtr n, const struct gw_fhir_type *t,
               int *has_value, int *has_meta)
{
    int seen = 0;
    gw_rc rc = check_attrs(w, n, t, 1, &seen);

    *has_value = (seen & SEEN_VALUE) != 0;
    *has_meta = (seen & SEEN_ID) != 0;
    for (xmlNodePtr c = n->children; rc == GW_OK && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            rc = check_text(w, c);
            continue;
        }
        if (!is_fhir(w, c) || strcmp((const char *)c->name, "extension") != 0)
            return fault(w, GW_EVALIDATION,
                         "unknown element %s (a primitive holds only "
                         "extensions)",
                         (const char *)c->name);
        *has_meta = 1;
        {
            struct gw_fhir_out *saved = w->json.out;
            size_t old = gw_fhir_path_push(&w->path, "extension", -1);
            w->json.out = NULL;
            if (++w->depth > w->lim->max_depth)
                rc = fault(w, GW_ETOOLARGE, "nesting is deeper than the "
                                            "limit");
            else
                rc = walk_members(w, c, extension_type());
            w->depth--;
            w->json.out = saved;
            if (rc == GW_OK)
                gw_fhir_path_pop(&w->path, old);
        }
    }
    if (rc == GW_OK && !*has_value && !*has_meta)
        rc = fault(w, GW_EVALIDATION,
                   "an element needs a value or an extension");
    return rc;
}

/* Writes the "_name" object of a primitive (id and extensions). */
static gw_rc
emit_primitive_meta(struct walk *w, xmlNodePtr n)
{
    const struct gw_fhir_type *ext = extension_type();
    xmlChar *id = xmlGetProp(n, (const xmlChar *)"id");
    int count = 0;
    gw_rc rc = GW_OK;

    gw_jsonw_open(&w->json, "{");
    if (id != NULL) {
        gw_jsonw_member(&w->json, "id");
        gw_jsonw_string(&w->json, (const char *)id);
        xmlFree(id);
    }
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && count++ == 0) {
            gw_jsonw_member(&w->json, "extension");
            gw_jsonw_open(&w->json, "[");
        }
    for (xmlNodePtr c = n->children; rc == GW_OK && c; c = c->next)
        if (c->type == XML_ELEMENT_NODE) {
            gw_jsonw_member(&w->json, NULL);
            rc = walk_struct(w, c, ext);
        }
    if (count > 0)
        gw_jsonw_close(&w->json, "]");
    gw_jsonw_close(&w->json, "}");
    return rc;
}

/* Whether a primitive element has an id or extensions (JSON "_name"). */
static int
has_meta(xmlNodePtr c)
{
    if (xmlHasProp(c, (const xmlChar *)"id") != NULL)
        return 1;
    for (xmlNodePtr x = c->children; x; x = x->next)
        if (x->type == XML_ELEMENT_NODE)
            return 1;
    return 0;
}

/* Emits the run of `count` sibling nodes (starting at first) that belong to
 * element e, as JSON member(s). */
static gw_rc
emit_run(struct walk *w, const struct gw_fhir_elem *e, xmlNodePtr first,
         int count)
{
    const struct gw_fhir_type *t = gw_fhir_elem_type(e);
    xmlNodePtr c;
    int i, any_meta = 0;
    gw_rc rc = GW_OK;

    if (t != NULL && t->kind == GW_FHIR_PRIMITIVE && t->prim != GW_FHIR_P_XHTML) {
        int any_value = 0;
        for (c = first, i = 0; i < count; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            any_value |= xmlHasProp(c, (const xmlChar *)"value") != NULL;
            any_meta |= has_meta(c);
            i++;
        }
        if (any_value) {
            gw_jsonw_member(&w->json, e->name);
            if (e->many)
                gw_jsonw_open(&w->json, "[");
            for (c = first, i = 0; i < count; c = c->next) {
                xmlChar *copy;
                const char *v;
                if (c->type != XML_ELEMENT_NODE)
                    continue;
                if (e->many)
                    gw_jsonw_member(&w->json, NULL);
                v = prop_value(c, "value", &copy);
                if (v != NULL)
                    put_value(w, t->prim, v);
                else
                    gw_jsonw_raw(&w->json, "null");
                if (copy != NULL)
                    xmlFree(copy);
                i++;
            }
            if (e->many)
                gw_jsonw_close(&w->json, "]");
        }
        if (any_meta) {
            char key[96];
            snprintf(key, sizeof(key), "_%s", e->name);
            gw_jsonw_member(&w->json, key);
            if (e->many)
                gw_jsonw_open(&w->json, "[");
            for (c = first, i = 0; rc == GW_OK && i < count; c = c->next) {
                int has = 0;
                if (c->type != XML_ELEMENT_NODE)
                    continue;
                if (e->many)
                    gw_jsonw_member(&w->json, NULL);
                has = has_meta(c);
                if (has)
                    rc = emit_primitive_meta(w, c);
                else
                    gw_jsonw_raw(&w->json, "null");
                i++;
            }
            if (e->many)
                gw_jsonw_close(&w->json, "]");
        }
        return rc;
    }
    gw_jsonw_member(&w->json, e->name);
    if (e->many)
        gw_jsonw_open(&w->json, "[");
    for (c = first, i = 0; rc == GW_OK && i < count; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (e->many)
            gw_jsonw_member(&w->json, NULL);
        if (t == NULL) {
            xmlNodePtr r = c->children;
            while (r && r->type != XML_ELEMENT_NODE)
                r = r->next;
            rc = walk_resource(w, r);
        } else if (t->prim == GW_FHIR_P_XHTML) {
            rc = emit_div(w, c);
        } else {
            rc = walk_struct(w, c, t);
        }
        i++;
    }
    if (e->many)
        gw_jsonw_close(&w->json, "]");
    return rc;
}

/* Checks the children and attributes of n, an element of type t, and
 * writes its members (not the braces). */
static gw_rc
walk_members(struct walk *w, xmlNodePtr n, const struct gw_fhir_type *t)
{
    unsigned cursor = 0, idx;
    int seen = 0; /* check_attrs' (for primitives only) */
    int any = n->properties != NULL; /* a value or a child (ele-1) */
    /* The last element of a choice group seen: elements come in
     * definition order and a group's entries are neighbours in it
     * (test_fhir checks the table), so it is the only one a later entry
     * of its group can clash with. */
    const struct gw_fhir_elem *chosen = NULL;
    /* Sized to the type: zeroing a fixed 512 entries per element was a
     * measurable share of validation time. firsts[k] is read only where
     * counts[k] > 0, so it is set before it is read. */
    int counts[t->n > 0 ? t->n : 1];
    xmlNodePtr firsts[t->n > 0 ? t->n : 1];
    gw_rc rc;

    memset(counts, 0, sizeof(counts));
    rc = check_attrs(w, n, t, 0, &seen);
    if (rc != GW_OK)
        return rc;
    for (xmlNodePtr c = n->children; c; c = c->next) {
        const char *name = (const char *)c->name;
        size_t old;

        if (c->type != XML_ELEMENT_NODE) {
            if ((rc = check_text(w, c)) != GW_OK)
                return rc;
            continue;
        }
        /* The narrative's div is the one non-FHIR element. */
        if (!is_fhir(w, c) && !(t->n > 0 && strcmp(name, "div") == 0 &&
                             gw_fhir_elem_find(t, "div") != NULL))
            return fault(w, GW_EVALIDATION,
                         "element %s is not in the FHIR namespace", name);
        /* Names are unique in a type (model.c's index): the element is
         * the one of that name, at or after the last one seen. */
        const struct gw_fhir_elem *e = elem_of(w, t, c->name);
        if (e == NULL || e->attr)
            return fault(w, GW_EVALIDATION, "unknown element %s", name);
        idx = (unsigned)(e - &gw_fhir_elems[t->first]);
        if (idx < cursor)
            return fault(w, GW_EVALIDATION, "element %s is out of order",
                         name);
        cursor = idx;
        const struct gw_fhir_type *et = gw_fhir_elem_type(e);
        if (counts[idx] > 0 && !e->many)
            return fault(w, GW_EVALIDATION,
                         "element %s may appear only once", name);
        if (e->choice != 0) {
            if (chosen != NULL && chosen != e && chosen->choice == e->choice)
                return fault(w, GW_EVALIDATION,
                             "%s and %s are two choices of one [x] "
                             "element",
                             name, chosen->name);
            chosen = e;
        }
        old = gw_fhir_path_push(&w->path, name, e->many ? counts[idx] : -1);
        if (++w->depth > w->lim->max_depth) {
            rc = fault(w, GW_ETOOLARGE, "nesting is deeper than the limit");
        } else if (et == NULL) {
            xmlNodePtr r = NULL;
            int found = 0;
            rc = check_attrs(w, c, t, 0, &seen) == GW_OK &&
                         c->properties == NULL
                     ? GW_OK
                     : fault(w, GW_EVALIDATION,
                             "a resource container has no attributes");
            for (xmlNodePtr x = c->children; rc == GW_OK && x; x = x->next) {
                if (x->type != XML_ELEMENT_NODE) {
                    rc = check_text(w, x);
                    continue;
                }
                if (found++ == 0)
                    r = x;
            }
            if (rc == GW_OK && found != 1)
                rc = fault(w, GW_EVALIDATION,
                           "a resource container holds exactly one "
                           "resource");
            /* When writing, emit_run walks r below, checking it on the
             * way; checking it here as well made every level of nesting
             * check its whole subtree again. */
            if (rc == GW_OK && w->json.out == NULL)
                rc = walk_resource(w, r);
        } else if (et->prim == GW_FHIR_P_XHTML) {
            rc = check_xhtml(w, c);
        } else if (et->kind == GW_FHIR_PRIMITIVE) {
            int hv, hm;
            rc = walk_primitive(w, c, et, &hv, &hm);
        } else if (w->json.out == NULL) {
            rc = walk_members(w, c, et);
        } /* else: checked when emit_run walks it below */
        w->depth--;
        gw_fhir_path_pop(&w->path, old);
        if (rc != GW_OK)
            return rc;
        if (counts[idx]++ == 0)
            firsts[idx] = c;
        any = 1;
    }
    {
        /* ele-1: every element has a value or children ({} in JSON is
         * refused the same way). */
        if (!any)
            return fault(w, GW_EVALIDATION,
                         "an element needs a value or children");
    }
    /* Whether choice group `group` has a member present: looked up once
     * per group (Task.input has 50 required value[x] entries). */
    unsigned group = 0;
    int group_present = 0;
    const uint16_t *req;
    unsigned nreq = gw_fhir_type_required(t, &req);
    for (unsigned r = 0; r < nreq; r++) {
        unsigned k = req != NULL ? req[r] : r;
        const struct gw_fhir_elem *e = &gw_fhir_elems[t->first + k];
        if (e->min == 0 || counts[k] > 0)
            continue;
        if (e->attr) {
            if (xmlHasProp(n, (const xmlChar *)e->name) == NULL)
                return fault(w, GW_EVALIDATION,
                             "required attribute %s is missing", e->name);
            continue;
        }
        if (e->choice != 0) {
            if (e->choice != group) {
                group = e->choice;
                group_present = 0;
                for (unsigned j = 0; j < t->n && !group_present; j++)
                    group_present =
                        gw_fhir_elems[t->first + j].choice == group &&
                        counts[j] > 0;
            }
            if (group_present)
                continue;
        }
        return fault(w, GW_EVALIDATION, "required element %s is missing", e->name);
    }
    if (w->json.out == NULL)
        return GW_OK;
    /* Write, in definition order. Attributes (id, url) first where the
     * definition puts them. */
    for (unsigned k = 0; k < t->n && rc == GW_OK; k++) {
        const struct gw_fhir_elem *e = &gw_fhir_elems[t->first + k];
        if (e->attr) {
            xmlChar *copy;
            const char *v = prop_value(n, e->name, &copy);
            if (v != NULL) {
                gw_jsonw_member(&w->json, e->name);
                gw_jsonw_string(&w->json, v);
            }
            if (copy != NULL)
                xmlFree(copy);
            continue;
        }
        if (counts[k] > 0) {
            size_t old = gw_fhir_path_push(&w->path, e->name, -1);
            rc = emit_run(w, e, firsts[k], counts[k]);
            gw_fhir_path_pop(&w->path, old);
        }
    }
    return rc;
}

static gw_rc
walk_struct(struct walk *w, xmlNodePtr n, const struct gw_fhir_type *t)
{
    gw_rc rc;

    /* Writing, the members are checked here (walk_members), at this
     * depth. */
    if (++w->depth > w->lim->max_depth) {
        w->depth--;
        return fault(w, GW_ETOOLARGE, "nesting is deeper than the limit");
    }
    gw_jsonw_open(&w->json, "{");
    rc = walk_members(w, n, t);
    gw_jsonw_close(&w->json, "}");
    w->depth--;
    return rc;
}

static gw_rc
walk_resource(struct walk *w, xmlNodePtr n)
{
    const struct gw_fhir_type *t;
    size_t old;
    gw_rc rc;

    if (!is_fhir(w, n))
        return fault(w, GW_EVALIDATION,
                     "element %s is not in the FHIR namespace",
                     (const char *)n->name);
    t = gw_fhir_resource_find((const char *)n->name);
    if (t == NULL)
        return fault(w, GW_EVALIDATION,
                     "%s is not a resource type this gateway exchanges",
                     (const char *)n->name);
    old = gw_fhir_path_push(&w->path, t->name, -1);
    if (old > 0)
        gw_fhir_path_pop(&w->path, old); /* nested: keep the container's path */
    if (++w->depth > w->lim->max_depth) {
        w->depth--;
        return fault(w, GW_ETOOLARGE, "nesting is deeper than the limit");
    }
    gw_jsonw_open(&w->json, "{");
    gw_jsonw_member(&w->json, "resourceType");
    gw_jsonw_string(&w->json, t->name);
    rc = walk_members(w, n, t);
    gw_jsonw_close(&w->json, "}");
    w->depth--;
    if (rc == GW_OK)
        gw_fhir_path_pop(&w->path, old);
    return rc != GW_OK || w->json.out == NULL ? rc : w->json.out->rc;
}

/* A walk's start, every member set but the arrays (the path's, first: a
 * walk writes an entry before it reads it), which are 9 KB: zeroing them
 * cost more than the check of a small document. */
static void
walk_init(struct walk *w, xmlDocPtr xml, const struct gw_fhir_limits *lim,
          struct gw_err *err, struct gw_fhir_out *out)
{
    w->x_value = xml->dict != NULL
                     ? xmlDictExists(xml->dict, (const xmlChar *)"value", 5)
                     : NULL;
    w->x_id = xml->dict != NULL
                  ? xmlDictExists(xml->dict, (const xmlChar *)"id", 2)
                  : NULL;
    w->cache = xml->dict != NULL;
    if (w->cache)
        memset(w->found, 0, sizeof(w->found));
    w->lim = lim;
    w->err = err;
    gw_jsonw_init(&w->json, out, 0);
    gw_fhir_path_init(&w->path);
    w->depth = 0;
    w->fhir = NULL;
}

gw_rc
gw_fhir_xml_check(xmlDocPtr xml, const struct gw_fhir_limits *lim,
                  struct gw_err *err)
{
    struct walk w;
    xmlNodePtr root = xmlDocGetRootElement(xml);

    walk_init(&w, xml, lim, err, NULL);
    if (root == NULL)
        return gw_err_set(err, GW_EPARSE, NULL, "no root element");
    return walk_resource(&w, root);
}

gw_rc
gw_fhir_xml_emit_json(xmlDocPtr xml, char **out, size_t *len)
{
    struct gw_fhir_limits lim;
    struct gw_buf b;
    struct gw_fhir_out *o = malloc(sizeof(*o));
    struct walk w;
    gw_rc rc;

    if (o == NULL)
        return GW_ENOMEM;
    gw_fhir_limits_default(&lim);
    lim.max_depth = 1000;
    lim.max_attributes = 1000;
    lim.max_string = (size_t)1 << 30;
    gw_buf_init(&b, JSON_MAX);
    gw_fhir_out_init(o, &b);
    walk_init(&w, xml, &lim, NULL, o);
    rc = walk_resource(&w, xmlDocGetRootElement(xml));
    if (rc == GW_OK) {
        gw_jsonw_put(&w.json, "\n", 1);
        gw_fhir_out_flush(o);
        rc = o->rc;
    }
    free(o);
    if (rc == GW_OK) {
        *out = gw_buf_take(&b, len);
        if (*out == NULL)
            rc = GW_ENOMEM;
    }
    gw_buf_release(&b);
    return rc;
}

/* --- hardened reading ----------------------------------------------- */

/* Skips the prolog (BOM, XML declaration, comments, processing
 * instructions, blanks) and refuses a DOCTYPE or a non-UTF-8 encoding. */
static gw_rc
check_prolog(const char *s, size_t len, struct gw_err *err)
{
    size_t i = 0;

    if (len >= 3 && (unsigned char)s[0] == 0xEF &&
        (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
        i = 3;
    while (i < len) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
            i++;
        } else if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
            const char *end = memmem(s + i + 4, len - i - 4, "-->", 3);
            if (end == NULL)
                break;
            i = (size_t)(end - s) + 3;
        } else if (len - i >= 2 && memcmp(s + i, "<?", 2) == 0) {
            const char *end = memmem(s + i, len - i, "?>", 2);
            if (end == NULL)
                break;
            if (len - i >= 5 && memcmp(s + i, "<?xml", 5) == 0) {
                const char *enc = memmem(s + i, (size_t)(end - (s + i)),
                                         "encoding", 8);
                if (enc != NULL) {
                    const char *q = enc + 8;
                    while (q < end && (*q == ' ' || *q == '=' || *q == '"' ||
                                       *q == '\''))
                        q++;
                    if (end - q < 5 || strncasecmp(q, "UTF-8", 5) != 0)
                        return gw_err_set(err, GW_EPARSE, NULL,
                                          "XML must be encoded in UTF-8");
                }
            }
            i = (size_t)(end - s) + 2;
        } else if (len - i >= 2 && memcmp(s + i, "<!", 2) == 0) {
            return gw_err_set(err, GW_EPARSE, NULL,
                              "a DOCTYPE is not allowed in FHIR XML (no "
                              "DTDs, no entities)");
        } else {
            break;
        }
    }
    return GW_OK;
}

/*
 * The limits, checked on the raw bytes in one pass before libxml2 sees
 * them: nesting depth, attributes per element, name lengths, text and
 * attribute value lengths, and elements in the document. libxml2 compares
 * every attribute of an element with every other (quadratic: 50,000
 * attributes cost seconds) and builds the whole tree before the walk could
 * count anything; here each byte is looked at a bounded number of times.
 * Markup this scan does not understand is left to libxml2, which stops at
 * the first error: everything before it has passed the limits.
 */
#define XML_MAX_NAME 256           /* element and attribute names */
#define XML_MAX_NS_DECLS 256       /* xmlns declarations on one element */
#define XML_MAX_ELEMENTS 1000000   /* elements in one document */

static int
xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The bytes that end an element's name (1) and an attribute's (1, 2):
 * blanks, '>', '/'; and '=' for an attribute. */
static const unsigned char name_end[256] = {
    [' '] = 3, ['\t'] = 3, ['\r'] = 3, ['\n'] = 3, ['>'] = 3, ['/'] = 3,
    ['='] = 2,
};

/* The length of the name at s + i (ended by a byte with a bit of `ends`
 * in name_end, or by the text's end), looked at up to XML_MAX_NAME + 1
 * bytes: more than XML_MAX_NAME is too long. A table look-up a byte. */
static size_t
name_len(const char *s, size_t len, size_t i, unsigned char ends)
{
    size_t j = i, lim = len - i > XML_MAX_NAME ? i + XML_MAX_NAME + 1 : len;

    while (j < lim && !(name_end[(unsigned char)s[j]] & ends))
        j++;
    return j - i;
}

static gw_rc GW_PRINTF(5, 6)
scan_fault(const char *s, size_t at, gw_rc rc, struct gw_err *err,
           const char *fmt, ...)
{
    char msg[200];
    int line = 1;
    va_list ap;

    for (size_t i = 0; i < at; i++)
        line += s[i] == '\n';
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return gw_err_set(err, rc, NULL, "XML line %d: %s", line, msg);
}

/* Whether s + i opens with `open`: then the length of `close`, and *end
 * where the first `close` after it starts (NULL: none); else 0. */
static size_t
opens(const char *s, size_t len, size_t i, const char *open, const char *close,
      const char **end)
{
    size_t n = strlen(open);

    if (len - i < n || memcmp(s + i, open, n) != 0)
        return 0;
    *end = memmem(s + i + n, len - i - n, close, strlen(close));
    return strlen(close);
}

static gw_rc
prescan(const char *s, size_t len, const struct gw_fhir_limits *lim,
        struct gw_err *err)
{
    size_t i = 0, k;
    long elements = 0;
    int depth = 0;

    while (i < len) {
        const char *end;
        size_t n;
        int attrs = 0, decls = 0;

        if (s[i] != '<') {
            /* A text, up to the next markup or the end, in one look:
             * indented XML has one between every two tags. */
            const char *lt = memchr(s + i, '<', len - i);
            size_t j = lt != NULL ? (size_t)(lt - s) : len;
            if (j - i > lim->max_string)
                return scan_fault(s, i, GW_ETOOLARGE, err,
                                  "a text is larger than %zu bytes "
                                  "(xml.max_string_bytes)",
                                  lim->max_string);
            i = j;
            continue;
        }
        /* A comment or processing instruction; unclosed: the parser's.
         * (Each opens with "<!" or "<?": the byte after '<' is looked at
         * first, most tags being neither.) */
        if (len - i >= 2 && (s[i + 1] == '!' || s[i + 1] == '?') &&
            ((k = opens(s, len, i, "<!--", "-->", &end)) != 0 ||
             (k = opens(s, len, i, "<?", "?>", &end)) != 0)) {
            if (end == NULL)
                return GW_OK;
            i = (size_t)(end - s) + k;
            continue;
        }
        if (len - i >= 2 && s[i + 1] == '!' &&
            opens(s, len, i, "<![CDATA[", "]]>", &end)) {
            if (end == NULL && len - i - 9 <= lim->max_string)
                return GW_OK;
            if (end == NULL || (size_t)(end - (s + i + 9)) > lim->max_string)
                return scan_fault(s, i, GW_ETOOLARGE, err,
                                  "a text is larger than %zu bytes "
                                  "(xml.max_string_bytes)", lim->max_string);
            i = (size_t)(end - s) + 3;
            continue;
        }
        if (len - i >= 2 && s[i + 1] == '!')
            return scan_fault(s, i, GW_EPARSE, err,
                              "a DOCTYPE is not allowed in FHIR XML (no "
                              "DTDs, no entities)");
        if (len - i >= 2 && s[i + 1] == '/') {
            end = memchr(s + i, '>', len - i);
            if (end == NULL)
                return GW_OK;
            if (depth > 0)
                depth--;
            i = (size_t)(end - s) + 1;
            continue;
        }
        /* A start tag: its name, then name="value" pairs. */
        i++;
        if ((n = name_len(s, len, i, 1)) > XML_MAX_NAME)
            return scan_fault(s, i, GW_ETOOLARGE, err,
                              "an element name is longer than %d bytes",
                              XML_MAX_NAME);
        if (n == 0)
            return GW_OK;
        if (++depth > lim->max_depth)
            return scan_fault(s, i, GW_ETOOLARGE, err,
                              "nesting is deeper than %d (xml.max_depth)",
                              lim->max_depth);
        if (++elements > XML_MAX_ELEMENTS)
            return scan_fault(s, i, GW_ETOOLARGE, err,
                              "more than %d elements in one document",
                              XML_MAX_ELEMENTS);
        i += n;
        for (;;) {
            char q;

            while (i < len && xml_space(s[i]))
                i++;
            if (i >= len)
                return GW_OK;
            if (s[i] == '>') {
                i++;
                break;
            }
            if (s[i] == '/') {
                if (i + 1 >= len || s[i + 1] != '>')
                    return GW_OK;
                depth--;
                i += 2;
                break;
            }
            if ((n = name_len(s, len, i, 2)) > XML_MAX_NAME)
                return scan_fault(s, i, GW_ETOOLARGE, err,
                                  "an attribute name is longer than %d "
                                  "bytes", XML_MAX_NAME);
            if (n == 0)
                return GW_OK;
            /* Namespace declarations are not attributes to FHIR (SOAP
             * stacks put dozens on the Envelope) but cost libxml2 the
             * same: their own cap. */
            if (n >= 5 && memcmp(s + i, "xmlns", 5) == 0 &&
                (n == 5 || s[i + 5] == ':')) {
                if (++decls > XML_MAX_NS_DECLS)
                    return scan_fault(s, i, GW_ETOOLARGE, err,
                                      "more than %d namespace declarations "
                                      "on one element",
                                      XML_MAX_NS_DECLS);
            } else if (++attrs > lim->max_attributes) {
                return scan_fault(s, i, GW_ETOOLARGE, err,
                                  "more than %d attributes on one element "
                                  "(xml.max_attributes)",
                                  lim->max_attributes);
            }
            i += n;
            while (i < len && xml_space(s[i]))
                i++;
            if (i >= len || s[i] != '=')
                return GW_OK;
            i++;
            while (i < len && xml_space(s[i]))
                i++;
            if (i >= len || (s[i] != '"' && s[i] != '\''))
                return GW_OK;
            q = s[i++];
            end = memchr(s + i, q, len - i);
            if (end == NULL && len - i <= lim->max_string)
                return GW_OK;
            if (end == NULL || (size_t)(end - (s + i)) > lim->max_string)
                return scan_fault(s, i, GW_ETOOLARGE, err,
                                  "an attribute value is larger than %zu "
                                  "bytes (xml.max_string_bytes)",
                                  lim->max_string);
            i = (size_t)(end - s) + 1;
        }
    }
    return GW_OK;
}

void
gw_fhir_limits_default(struct gw_fhir_limits *lim)
{
    lim->max_bytes = 41943040;
    lim->max_depth = 64;
    lim->max_attributes = 32;
    lim->max_string = 8388608;
}

gw_rc
gw_fhir_xml_read_stored(const char *bytes, size_t len, xmlDocPtr *out)
{
    struct gw_fhir_limits lim;
    struct gw_err err;

    gw_fhir_limits_default(&lim);
    lim.max_bytes = len + 1;
    gw_err_clear(&err);
    return gw_fhir_xml_read(bytes, len, &lim, out, &err);
}

/*
 * The parser context each thread reads its documents with, reset for
 * each (gw_xml_keep). Each document still gets a dictionary of its own,
 * limited as a new context's, so a tree shares nothing with the next one
 * and may be freed on any thread; between documents the context holds
 * neither a dictionary nor the last document's bytes.
 */
static void
reader_free(void *ctxt)
{
    xmlFreeParserCtxt(ctxt);
}

static struct gw_xml_keep readers = GW_XML_KEEP(reader_free);

/* The thread's context with a new dictionary; NULL: out of memory. */
static xmlParserCtxtPtr
reader_get(void)
{
    xmlParserCtxtPtr kept = gw_xml_kept(&readers);
    xmlParserCtxtPtr ctxt = kept != NULL ? kept : xmlNewParserCtxt();
    xmlDictPtr dict = ctxt != NULL ? xmlDictCreate() : NULL;

    if (dict == NULL) {
        if (ctxt != kept)
            xmlFreeParserCtxt(ctxt);
        return NULL;
    }
    xmlDictSetLimit(dict, XML_MAX_DICTIONARY_LIMIT);
    xmlDictFree(ctxt->dict);
    ctxt->dict = dict;
    return ctxt;
}

static void
reader_put(xmlParserCtxtPtr ctxt)
{
    xmlCtxtReset(ctxt);
    xmlDictFree(ctxt->dict);
    ctxt->dict = NULL;
    gw_xml_keep(&readers, ctxt);
}

gw_rc
gw_fhir_xml_read(const char *bytes, size_t len,
                 const struct gw_fhir_limits *lim, xmlDocPtr *out,
                 struct gw_err *err)
{
    xmlParserCtxtPtr ctxt;
    xmlDocPtr doc;
    gw_rc rc;

    *out = NULL;
    if (len > lim->max_bytes)
        return gw_err_set(err, GW_ETOOLARGE, NULL,
                          "the document is larger than %zu bytes",
                          lim->max_bytes);
    if (len > (size_t)2147483647)
        return GW_ETOOLARGE;
    rc = check_prolog(bytes, len, err);
    if (rc == GW_OK)
        rc = prescan(bytes, len, lim, err);
    if (rc != GW_OK)
        return rc;
    ctxt = reader_get();
    if (ctxt == NULL)
        return GW_ENOMEM;
    /* COMPACT: a text under 16 bytes (most attribute values) is kept in
     * its node, not allocated, copied and freed on its own. */
    doc = xmlCtxtReadMemory(ctxt, bytes, (int)len, NULL, "UTF-8",
                            XML_PARSE_NONET | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING | XML_PARSE_COMPACT);
    if (doc == NULL || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[160] = "not well-formed XML";
        if (e != NULL && e->message != NULL) {
            snprintf(msg, sizeof(msg), "%s", e->message);
            msg[strcspn(msg, "\n")] = '\0';
        }
        /* libxml2 stops single values at 10 MB ("Huge input lookup",
         * "... too long"): say so plainly, as a size refusal. */
        if (strstr(msg, "Huge input") != NULL || strstr(msg, "too long") ||
            strstr(msg, "too big") != NULL)
            rc = gw_err_set(err, GW_ETOOLARGE, NULL,
                            "XML line %d: a value is larger than the XML "
                            "parser accepts (10 MB)",
                            e ? e->line : 0);
        else
            rc = gw_err_set(err, GW_EPARSE, NULL, "XML line %d: %s",
                            e ? e->line : 0, msg);
        xmlFreeDoc(doc);
        reader_put(ctxt);
        return rc;
    }
    reader_put(ctxt);
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        /* Unreachable after check_prolog; kept as a second lock. */
        xmlFreeDoc(doc);
        return gw_err_set(err, GW_EPARSE, NULL, "a DOCTYPE is not allowed");
    }
    *out = doc;
    return GW_OK;
}
