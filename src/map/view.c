/*
 * view.c - case views through the stylesheets of xslt/, and the Bundles
 * of searches and histories.
 *
 * Every document built here goes through gw_fhir_doc_from_xml, the same
 * structural check as input, so a faulty stylesheet shows up as an error
 * rather than as invalid FHIR on the wire.
 */
#include "map/view.h"

#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/words.h"
#include "fhir/build.h"
#include "fhir/fhir_xml.h"
#include "fhir/model.h"
#include "klas/state.h"
#include "map/xslt.h"

/* The stylesheets of the views, one file each. */
enum { V_CASE, V_PHARMACY, V_PRINT, V_COPY, NVIEWS };
static const char *const view_files[NVIEWS] = {
    [V_CASE] = "case-view.xsl",
    [V_PHARMACY] = "pharmacy-view.xsl",
    [V_PRINT] = "print-html.xsl",
    [V_COPY] = "copy-motivation.xsl",
};

struct gw_views {
    struct gw_xslt *ss[NVIEWS];
};

gw_rc
gw_views_new(const char *xslt_dir, struct gw_views **out, struct gw_err *err)
{
    struct gw_views *v = calloc(1, sizeof(*v));
    int failed = 0;

    *out = NULL;
    if (v == NULL)
        return GW_ENOMEM;
    gw_print_register(); /* the extension functions of print-html.xsl */
    for (int i = 0; i < NVIEWS; i++) {
        v->ss[i] = gw_xslt_load(xslt_dir, view_files[i], err);
        failed |= v->ss[i] == NULL;
    }
    if (failed) {
        gw_views_free(v);
        return err && err->rc ? err->rc : GW_ENOMEM;
    }
    *out = v;
    return GW_OK;
}

void
gw_views_free(struct gw_views *v)
{
    for (int i = 0; v != NULL && i < NVIEWS; i++)
        gw_xslt_free(v->ss[i]);
    free(v);
}

const char *
gw_view_task_status(const char *s)
{
    enum gw_case_status cs;

    /* The status row's Task.status (klas/state.h); unknown: "draft". */
    return gw_case_status_parse(s, &cs) == GW_OK ? gw_case_status_task(cs)
                                                 : "draft";
}

/* Removes the elements the pharmacy view left empty (no value, no child
 * element): an allow-listed Reference whose reference went with a hidden
 * target, a CodeableConcept whose only text was not allowed. FHIR has no
 * empty elements, and the view must read back as FHIR. */
static void
prune_empty(xmlNodePtr n)
{
    xmlNodePtr k = n->children;

    while (k != NULL) {
        xmlNodePtr next = k->next;
        if (k->type == XML_ELEMENT_NODE) {
            int kids = 0;
            prune_empty(k);
            for (xmlNodePtr g = k->children; g && !kids; g = g->next)
                kids = g->type == XML_ELEMENT_NODE;
            if (!kids && !xmlHasProp(k, (const xmlChar *)"value")) {
                xmlUnlinkNode(k);
                xmlFreeNode(k);
            }
        }
        k = next;
    }
}

/* An XSLT string parameter: the value quoted; values holding both quote
 * kinds cannot be expressed and are refused. */
static gw_rc
quote(char *buf, size_t size, const char *v)
{
    char q = strchr(v, '\'') == NULL ? '\'' : '"';

    if (q == '"' && strchr(v, '"') != NULL)
        return GW_EINVAL;
    if ((size_t)snprintf(buf, size, "%c%s%c", q, v, q) >= size)
        return GW_ETOOLARGE;
    return GW_OK;
}

/* The stored message doc_xml (len bytes) read again and mapped by x;
 * *out the new tree (caller frees). */
static gw_rc
map_stored(const struct gw_xslt *x, const char *doc_xml, size_t len,
           const char **params, xmlDocPtr *out)
{
    xmlDocPtr in = NULL;
    gw_rc rc = gw_fhir_xml_read_stored(doc_xml, len, &in);

    if (rc != GW_OK)
        return rc;
    *out = gw_xslt_apply(x, in, params);
    xmlFreeDoc(in);
    return *out != NULL ? GW_OK : GW_EINTERNAL;
}

gw_rc
gw_view_case(const struct gw_views *v, const char *doc_xml, size_t len,
             const struct gw_case_stamp *s, int redact,
             struct gw_fhir_doc **out)
{
    char base[300], refnr[24], status[16], disp[64], tstatus[24], ver[32],
        upd[48], cre[48], t1[40], t2[40], prefix[64], vf[24], vt[24],
        viewer[40];
    const char *rparams[3];
    const char *params[25];
    enum gw_case_status cs = GW_CASE_NONE;
    xmlDocPtr view = NULL;
    struct gw_err err;
    gw_rc rc;

    *out = NULL;
    if (gw_case_status_parse(s->status, &cs) != GW_OK)
        cs = GW_CASE_NONE;
    gw_clock_format(s->updated_ms, t1, sizeof(t1));
    gw_clock_format(s->created_ms, t2, sizeof(t2));
    snprintf(ver, sizeof(ver), "'%ld'", s->version);
    if ((rc = quote(base, sizeof(base), s->base)) != GW_OK ||
        (rc = quote(refnr, sizeof(refnr), s->refnr)) != GW_OK ||
        (rc = quote(status, sizeof(status), s->status)) != GW_OK ||
        (rc = quote(disp, sizeof(disp), gw_case_status_name_sv(cs))) !=
            GW_OK ||
        (rc = quote(tstatus, sizeof(tstatus), gw_view_task_status(s->status))) !=
            GW_OK ||
        (rc = quote(upd, sizeof(upd), t1)) != GW_OK ||
        (rc = quote(cre, sizeof(cre), t2)) != GW_OK ||
        (rc = quote(prefix, sizeof(prefix),
                    s->later_prefix ? s->later_prefix : s->refnr)) != GW_OK ||
        (rc = quote(vf, sizeof(vf), s->valid_from ? s->valid_from : "")) !=
            GW_OK ||
        (rc = quote(vt, sizeof(vt), s->valid_to ? s->valid_to : "")) != GW_OK)
        return rc;
    params[0] = "base", params[1] = base;
    params[2] = "refnr", params[3] = refnr;
    params[4] = "status", params[5] = status;
    params[6] = "status_display", params[7] = disp;
    params[8] = "task_status", params[9] = tstatus;
    params[10] = "version", params[11] = ver;
    params[12] = "updated", params[13] = upd;
    params[14] = "created", params[15] = cre;
    params[16] = "prefix", params[17] = prefix;
    params[18] = "later", params[19] = s->later_prefix ? "'1'" : "''";
    params[20] = "valid_from", params[21] = vf;
    params[22] = "valid_to", params[23] = vt;
    params[24] = NULL;

    if ((rc = map_stored(v->ss[V_CASE], doc_xml, len, params, &view)) != GW_OK)
        return rc;
    if (redact) {
        xmlDocPtr red;
        /* A GLN is digits; anything else sees no communications. */
        rc = quote(viewer, sizeof(viewer),
                   s->viewer_gln && strspn(s->viewer_gln, "0123456789") ==
                                        strlen(s->viewer_gln)
                       ? s->viewer_gln
                       : "");
        if (rc != GW_OK) {
            xmlFreeDoc(view);
            return rc;
        }
        rparams[0] = "viewer", rparams[1] = viewer, rparams[2] = NULL;
        red = gw_xslt_apply(v->ss[V_PHARMACY], view, rparams);
        xmlFreeDoc(view);
        if (red == NULL)
            return GW_EINTERNAL;
        view = red;
        prune_empty(xmlDocGetRootElement(view));
    }
    gw_err_clear(&err);
    return gw_fhir_doc_from_xml(view, NULL, out, &err);
}

/* --- walking a view -------------------------------------------------- */

static void adopt_ns(xmlNodePtr copy, xmlNsPtr ns);

static int
named(xmlNodePtr n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE &&
           strcmp((const char *)n->name, name) == 0;
}

/* The resource element of an entry, if it matches type/id (NULL: any). */
static xmlNodePtr
entry_resource(xmlNodePtr entry, const char *type, const char *id)
{
    xmlNodePtr r = gw_xml_first_elem(gw_xml_child(entry, "resource"));

    if (r == NULL)
        return NULL;
    if (type != NULL && strcmp((const char *)r->name, type) != 0)
        return NULL;
    if (id != NULL && !gw_xml_value_is(gw_xml_child(r, "id"), id))
        return NULL;
    return r;
}

gw_rc
gw_view_merge(struct gw_fhir_doc *view, const struct gw_fhir_doc *extra)
{
    xmlDocPtr d = gw_fhir_doc_xml(view);
    xmlNodePtr root = xmlDocGetRootElement(d);
    xmlNodePtr from = xmlDocGetRootElement(gw_fhir_doc_xml(extra));

    for (xmlNodePtr e = from ? from->children : NULL; e; e = e->next) {
        xmlNodePtr copy;
        if (!named(e, "entry"))
            continue;
        copy = xmlDocCopyNode(e, d, 1);
        if (copy == NULL || xmlAddChild(root, copy) == NULL) {
            xmlFreeNode(copy);
            return GW_ENOMEM;
        }
        if (root->ns != NULL)
            adopt_ns(copy, root->ns);
    }
    return GW_OK;
}

int
gw_view_has(const struct gw_fhir_doc *view, const char *type, const char *id)
{
    xmlNodePtr root = xmlDocGetRootElement(gw_fhir_doc_xml(view));

    for (xmlNodePtr e = root ? root->children : NULL; e; e = e->next)
        if (named(e, "entry") && entry_resource(e, type, id) != NULL)
            return 1;
    return 0;
}

gw_rc
gw_view_pick(const struct gw_fhir_doc *view, const char *type, const char *id,
             struct gw_fhir_doc **out)
{
    xmlNodePtr root = xmlDocGetRootElement(gw_fhir_doc_xml(view));
    struct gw_err err;

    *out = NULL;
    for (xmlNodePtr e = root ? root->children : NULL; e; e = e->next) {
        xmlNodePtr r = named(e, "entry") ? entry_resource(e, type, id) : NULL;
        xmlDocPtr d;
        xmlNodePtr copy;
        xmlNsPtr ns;
        if (r == NULL)
            continue;
        d = xmlNewDoc((const xmlChar *)"1.0");
        copy = d ? xmlDocCopyNode(r, d, 1) : NULL;
        if (copy == NULL) {
            xmlFreeDoc(d);
            return GW_ENOMEM;
        }
        xmlDocSetRootElement(d, copy);
        ns = xmlSearchNsByHref(d, copy, (const xmlChar *)GW_FHIR_NS);
        if (ns == NULL)
            xmlNewNs(copy, (const xmlChar *)GW_FHIR_NS, NULL);
        xmlReconciliateNs(d, copy);
        gw_err_clear(&err);
        return gw_fhir_doc_from_xml(d, NULL, out, &err);
    }
    return GW_ENOTFOUND;
}

/* --- Bundles ---------------------------------------------------------- */

static xmlNodePtr add_value(xmlNodePtr parent, xmlNsPtr ns, const char *name,
                            const char *v);

/* Whether name is one of the comma-separated list (spaces allowed). */
static int
listed(const char *list, const xmlChar *name)
{
    return gw_word_listed(list, " ,", (const char *)name,
                          strlen((const char *)name));
}

/* Tags root's meta SUBSETTED (adding meta after id when it has none). */
static gw_rc
tag_subsetted(xmlNodePtr root)
{
    xmlNodePtr meta, tag;

    meta = gw_xml_child(root, "meta");
    if (meta == NULL) {
        xmlNodePtr id = gw_xml_child(root, "id");
        meta = xmlNewDocNode(root->doc, root->ns, (const xmlChar *)"meta",
                             NULL);
        if (meta == NULL)
            return GW_ENOMEM;
        if (id != NULL)
            xmlAddNextSibling(id, meta);
        else if (root->children != NULL)
            xmlAddPrevSibling(root->children, meta);
        else
            xmlAddChild(root, meta);
    }
    /* tag is the last child meta may have. */
    tag = xmlNewChild(meta, root->ns, (const xmlChar *)"tag", NULL);
    if (tag == NULL ||
        add_value(tag, root->ns, "system",
                  "http://terminology.hl7.org/CodeSystem/v3-ObservationValue") ==
            NULL ||
        add_value(tag, root->ns, "code", "SUBSETTED") == NULL ||
        add_value(tag, root->ns, "display", "subsetted") == NULL)
        return GW_ENOMEM;
    return GW_OK;
}

gw_rc
gw_view_subset(struct gw_fhir_doc *doc, const char *elements)
{
    xmlNodePtr root = xmlDocGetRootElement(gw_fhir_doc_xml(doc));
    xmlNodePtr n, next;
    const struct gw_fhir_type *t;

    if (root == NULL)
        return GW_EINVAL;
    t = gw_fhir_resource_find((const char *)root->name);
    for (n = root->children; n != NULL; n = next) {
        const struct gw_fhir_elem *e;
        next = n->next;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (named(n, "id") || named(n, "meta") || listed(elements, n->name))
            continue;
        /* Mandatory elements stay, asked for or not (FHIR: servers
         * SHOULD return them). */
        e = t ? gw_fhir_elem_find(t, (const char *)n->name) : NULL;
        if (e != NULL && e->min > 0)
            continue;
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
    return tag_subsetted(root);
}

/* Drops from n (a resource or backbone element of type t) what R4 does
 * not mark isSummary, but for id, meta and mandatory elements; nested
 * backbone elements and resources are summarised alike, datatypes stay
 * whole. The depth is the document's, checked against the limits. */
/* Whether n's tree (contained resources aside) refers to a contained
 * resource (reference value="#..."). */
static int
local_ref(xmlNodePtr n)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || named(n, "contained"))
            continue;
        if (named(n, "reference")) {
            xmlChar *v = xmlGetProp(n, (const xmlChar *)"value");
            int local = v != NULL && v[0] == '#';
            xmlFree(v);
            if (local)
                return 1;
        }
        if (local_ref(n->children))
            return 1;
    }
    return 0;
}

/* Elements a subset keeps beyond R4's rule for it, because an R4
 * invariant of their parent fails without them (a validator refuses the
 * subset): cpb-1 and cpb-2, a CapabilityStatement has rest, messaging or
 * document and description, software or implementation (none mandatory,
 * for _summary=text); md-1 reads MessageDefinition.focus.max, not marked
 * isSummary (for _summary=true). */
static const struct {
    const char *type, *elem;
} invariant_needs[] = {
    {"CapabilityStatement", "rest"},
    {"CapabilityStatement", "messaging"},
    {"CapabilityStatement", "document"},
    {"CapabilityStatement", "description"},
    {"CapabilityStatement", "software"},
    {"CapabilityStatement", "implementation"},
    {"MessageDefinition.focus", "max"},
};

static int
needed(const struct gw_fhir_type *t, xmlNodePtr c)
{
    for (size_t i = 0;
         i < sizeof(invariant_needs) / sizeof(invariant_needs[0]); i++)
        if (strcmp(t->name, invariant_needs[i].type) == 0 &&
            named(c, invariant_needs[i].elem))
            return 1;
    return 0;
}

/* Drops n's contained resources unless what is kept refers to them (a
 * summary is still a valid resource: dom-3). */
static void
drop_unreferred_contained(xmlNodePtr n)
{
    xmlNodePtr c, next;

    if (local_ref(n->children))
        return;
    for (c = n->children; c != NULL; c = next) {
        next = c->next;
        if (c->type == XML_ELEMENT_NODE && named(c, "contained")) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    }
}

static void
summarise(xmlNodePtr n, const struct gw_fhir_type *t)
{
    xmlNodePtr c, next;

    for (c = n->children; c != NULL; c = next) {
        const struct gw_fhir_elem *e;
        next = c->next;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        e = gw_fhir_elem_find(t, (const char *)c->name);
        if (e == NULL) /* not in the model: the check let nothing such in */
            continue;
        if (named(c, "contained")) /* below */
            continue;
        if (!e->summary && e->min == 0 && !named(c, "id") &&
            !named(c, "meta") && !needed(t, c)) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
            continue;
        }
        if (e->type == GW_FHIR_ANY_RESOURCE) {
            xmlNodePtr r;
            for (r = c->children; r != NULL; r = r->next) {
                const struct gw_fhir_type *rt;
                if (r->type == XML_ELEMENT_NODE &&
                    (rt = gw_fhir_resource_find((const char *)r->name)) !=
                        NULL)
                    summarise(r, rt);
            }
        } else if (gw_fhir_types[e->type].kind == GW_FHIR_BACKBONE) {
            summarise(c, &gw_fhir_types[e->type]);
        }
    }
    /* Contained resources stay whole while what is kept refers to them. */
    drop_unreferred_contained(n);
}

/* _summary=text keeps id, meta, text and the mandatory elements of n (a
 * resource of type t), whole; data drops its text. */
static void
summarise_text(xmlNodePtr n, const struct gw_fhir_type *t,
               enum gw_view_summary_mode mode)
{
    xmlNodePtr c, next;

    for (c = n->children; c != NULL; c = next) {
        const struct gw_fhir_elem *e;
        int keep;
        next = c->next;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (mode == GW_VIEW_SUMMARY_DATA) {
            keep = !named(c, "text");
        } else {
            e = gw_fhir_elem_find(t, (const char *)c->name);
            keep = named(c, "id") || named(c, "meta") || named(c, "text") ||
                   named(c, "contained") /* below */ || needed(t, c) ||
                   (e != NULL && e->min > 0);
        }
        if (!keep) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    }
    if (mode == GW_VIEW_SUMMARY_TEXT)
        drop_unreferred_contained(n);
}

static void
summarise_as(xmlNodePtr n, const struct gw_fhir_type *t,
             enum gw_view_summary_mode mode)
{
    if (mode == GW_VIEW_SUMMARY_TRUE)
        summarise(n, t);
    else
        summarise_text(n, t, mode);
}

gw_rc
gw_view_summary(struct gw_fhir_doc *doc)
{
    return gw_view_summary_as(doc, GW_VIEW_SUMMARY_TRUE);
}

gw_rc
gw_view_summary_as(struct gw_fhir_doc *doc, enum gw_view_summary_mode mode)
{
    xmlNodePtr root = xmlDocGetRootElement(gw_fhir_doc_xml(doc));
    const struct gw_fhir_type *t;
    xmlNodePtr e, r, next;
    gw_rc rc;

    if (root == NULL ||
        (t = gw_fhir_resource_find((const char *)root->name)) == NULL)
        return GW_EINVAL;
    if (!named(root, "Bundle")) {
        if (mode == GW_VIEW_SUMMARY_COUNT)
            return GW_EINVAL; /* a count is of a search */
        summarise_as(root, t, mode);
        return tag_subsetted(root);
    }
    if (mode == GW_VIEW_SUMMARY_COUNT) {
        for (e = root->children; e != NULL; e = next) {
            next = e->next;
            if (e->type == XML_ELEMENT_NODE && named(e, "entry")) {
                xmlUnlinkNode(e);
                xmlFreeNode(e);
            }
        }
        return GW_OK;
    }
    /* A searchset: its entries' resources are summarised and tagged; the
     * Bundle itself is whole (all its elements are summary ones). */
    for (e = root->children; e != NULL; e = e->next) {
        if (e->type != XML_ELEMENT_NODE || !named(e, "entry"))
            continue;
        r = gw_xml_child(e, "resource");
        for (xmlNodePtr res = r ? r->children : NULL; res != NULL;
             res = res->next) {
            const struct gw_fhir_type *rt;
            if (res->type != XML_ELEMENT_NODE ||
                (rt = gw_fhir_resource_find((const char *)res->name)) == NULL)
                continue;
            summarise_as(res, rt, mode);
            if ((rc = tag_subsetted(res)) != GW_OK)
                return rc;
        }
    }
    return GW_OK;
}

/* A Bundle is a FHIR build (fhir/build.h) whose root is a Bundle: its
 * type first, then its links, then its entries. */
static struct gw_fhir_build *
build_of(struct gw_bundle *b)
{
    return (struct gw_fhir_build *)(void *)b;
}

static xmlNodePtr
bundle_root(struct gw_bundle *b)
{
    return xmlDocGetRootElement(gw_fhir_build_xml(build_of(b)));
}

gw_rc
gw_bundle_new(const char *type, struct gw_bundle **out)
{
    struct gw_fhir_build *b = NULL;
    gw_rc rc = gw_fhir_build_new("Bundle", &b);

    *out = NULL;
    if (rc != GW_OK)
        return rc;
    if (gw_fhir_el_value(b, gw_fhir_build_root(b), "type", type) == NULL) {
        gw_fhir_build_free(b);
        return GW_ENOMEM;
    }
    *out = (struct gw_bundle *)(void *)b;
    return GW_OK;
}

void
gw_bundle_free(struct gw_bundle *b)
{
    gw_fhir_build_free(build_of(b));
}

static xmlNodePtr
add_value(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *v)
{
    xmlNodePtr n = xmlNewChild(parent, ns, (const xmlChar *)name, NULL);
    if (n != NULL)
        xmlNewProp(n, (const xmlChar *)"value", (const xmlChar *)v);
    return n;
}

/* A copied resource brings its own xmlns declaration; point its elements
 * at the Bundle's namespace instead and drop the copy, so the Bundle
 * serialises with one declaration. */
static void
set_ns(xmlNodePtr n, xmlNsPtr ns)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->ns != NULL && n->ns->href != NULL &&
            xmlStrEqual(n->ns->href, ns->href))
            n->ns = ns;
        set_ns(n->children, ns);
    }
}

static void
adopt_ns(xmlNodePtr copy, xmlNsPtr ns)
{
    xmlNsPtr d = copy->nsDef;

    set_ns(copy, ns);
    if (d != NULL && d->next == NULL && d->prefix == NULL && d->href != NULL &&
        xmlStrEqual(d->href, ns->href)) {
        copy->nsDef = NULL;
        xmlFreeNs(d);
    }
}

gw_rc
gw_bundle_add(struct gw_bundle *b, const struct gw_fhir_doc *view,
              const char *type, const char *id, const char *search_mode,
              const char *method, const char *request_url)
{
    xmlNodePtr root = xmlDocGetRootElement(gw_fhir_doc_xml(view));
    xmlNodePtr broot = bundle_root(b);
    xmlDocPtr doc = broot->doc;
    xmlNsPtr ns = broot->ns;

    for (xmlNodePtr e = root ? root->children : NULL; e; e = e->next) {
        xmlNodePtr r, entry, res, copy, full;
        if (!named(e, "entry"))
            continue;
        r = entry_resource(e, type, id);
        if (r == NULL || (type == NULL && named(r, "Task")))
            continue;
        entry = xmlNewChild(broot, ns, (const xmlChar *)"entry", NULL);
        if (entry == NULL)
            return GW_ENOMEM;
        full = gw_xml_child(e, "fullUrl");
        if (full != NULL && xmlAddChild(entry, xmlDocCopyNode(full, doc, 1)) == NULL)
            return GW_ENOMEM;
        res = xmlNewChild(entry, ns, (const xmlChar *)"resource", NULL);
        copy = res ? xmlDocCopyNode(r, doc, 1) : NULL;
        if (copy == NULL || xmlAddChild(res, copy) == NULL)
            return GW_ENOMEM;
        adopt_ns(copy, ns);
        if (search_mode != NULL) {
            xmlNodePtr s = xmlNewChild(entry, ns,
                                       (const xmlChar *)"search", NULL);
            add_value(s, ns, "mode", search_mode);
        }
        if (method != NULL) {
            xmlNodePtr q = xmlNewChild(entry, ns,
                                       (const xmlChar *)"request", NULL);
            add_value(q, ns, "method", method);
            add_value(q, ns, "url", request_url ? request_url : "");
            /* A history entry says what the request did (R4 bdl-4). */
            q = xmlNewChild(entry, ns, (const xmlChar *)"response", NULL);
            add_value(q, ns, "status",
                      strcmp(method, "POST") == 0 ? "201 Created" : "200 OK");
        }
    }
    return GW_OK;
}

/* The Bundle's type element, or (last) its last link: what the next
 * link follows. */
static xmlNodePtr
last_of_head(xmlNodePtr root, int links)
{
    xmlNodePtr last = NULL;

    for (xmlNodePtr n = root->children; n != NULL; n = n->next)
        if (named(n, "type") || (links && named(n, "link")))
            last = n;
    return last;
}

gw_rc
gw_bundle_link(struct gw_bundle *b, const char *relation, const char *url)
{
    xmlNodePtr root = bundle_root(b);
    xmlNodePtr l = xmlNewDocNode(root->doc, root->ns, (const xmlChar *)"link",
                                 NULL);

    if (l == NULL)
        return GW_ENOMEM;
    if (add_value(l, root->ns, "relation", relation) == NULL ||
        add_value(l, root->ns, "url", url) == NULL) {
        xmlFreeNode(l);
        return GW_ENOMEM;
    }
    xmlAddNextSibling(last_of_head(root, 1), l);
    return GW_OK;
}

gw_rc
gw_bundle_take(struct gw_bundle *b, long total, const char *self_link,
               struct gw_fhir_doc **out)
{
    char num[32];
    xmlNodePtr root = bundle_root(b);
    xmlNodePtr type = last_of_head(root, 0), after = type;
    xmlDocPtr doc = root->doc;
    xmlNsPtr ns = root->ns;
    struct gw_err err;

    *out = NULL;
    if (total >= 0) {
        xmlNodePtr t = xmlNewDocNode(doc, ns, (const xmlChar *)"total", NULL);
        snprintf(num, sizeof(num), "%ld", total);
        xmlNewProp(t, (const xmlChar *)"value", (const xmlChar *)num);
        after = xmlAddNextSibling(after, t);
    }
    if (self_link != NULL) {
        xmlNodePtr l = xmlNewDocNode(doc, ns, (const xmlChar *)"link", NULL);
        add_value(l, ns, "relation", "self");
        add_value(l, ns, "url", self_link);
        xmlAddNextSibling(after, l);
    }
    {
        char ts[48];
        xmlNodePtr t = xmlNewDocNode(doc, ns, (const xmlChar *)"timestamp",
                                     NULL);
        gw_clock_format(gw_clock_now_ms(), ts, sizeof(ts));
        xmlNewProp(t, (const xmlChar *)"value", (const xmlChar *)ts);
        xmlAddNextSibling(type, t);
    }
    gw_err_clear(&err);
    return gw_fhir_build_take(build_of(b), NULL, out, &err);
}

int
gw_view_value(const struct gw_fhir_doc *doc, const char *path, char *buf,
              size_t size)
{
    xmlNodePtr n = xmlDocGetRootElement(gw_fhir_doc_xml(doc));
    char name[64];
    xmlChar *v;

    buf[0] = '\0';
    while (n != NULL && *path != '\0') {
        size_t l = strcspn(path, "/");
        if (l >= sizeof(name))
            return 0;
        memcpy(name, path, l);
        name[l] = '\0';
        n = gw_xml_child(n, name);
        path += l + (path[l] == '/');
    }
    if (n == NULL)
        return 0;
    v = xmlGetProp(n, (const xmlChar *)"value");
    if (v != NULL)
        snprintf(buf, size, "%s", (const char *)v);
    xmlFree(v);
    return buf[0] != '\0';
}

int
gw_view_param(const struct gw_fhir_doc *doc, const char *name, char *buf,
              size_t size)
{
    xmlNodePtr root = xmlDocGetRootElement(gw_fhir_doc_xml(doc));

    buf[0] = '\0';
    if (!named(root, "Parameters"))
        return 0;
    for (xmlNodePtr p = root->children; p; p = p->next) {
        if (!named(p, "parameter") ||
            !gw_xml_value_is(gw_xml_child(p, "name"), name))
            continue;
        for (xmlNodePtr v = p->children; v; v = v->next) {
            xmlChar *a;
            if (v->type != XML_ELEMENT_NODE ||
                strncmp((const char *)v->name, "value", 5) != 0)
                continue;
            /* valueQuantity and valueIdentifier keep theirs in value,
             * valueReference in reference. */
            if (gw_xml_child(v, "value") != NULL)
                v = gw_xml_child(v, "value");
            else if (gw_xml_child(v, "reference") != NULL)
                v = gw_xml_child(v, "reference");
            a = xmlGetProp(v, (const xmlChar *)"value");
            if (a != NULL)
                snprintf(buf, size, "%s", (const char *)a);
            xmlFree(a);
            return buf[0] != '\0';
        }
    }
    return 0;
}

gw_rc gw_view_pdf_from_html(const void *html_doc, char **pdf, size_t *len);

/*
 * The decision line of the printable copy, for every status whose row is
 * decided (GW_ST_DECIDED), as the print stylesheet's `decisions`:
 * "|Bev=Beviljad / granted|Avs=...|": the row's Swedish name, then its
 * English definition with a lower-case initial. A status added as a row
 * prints its decision without a change here or in the stylesheet.
 */
#define GW_PRINT_DECISION_(id, code, sv, en, task, flags)                      \
    if ((GW_ST_DECIDED & (flags)) != 0) {                                      \
        size_t at = strlen(buf);                                               \
        int n = snprintf(buf + at, size - at, "%s=%s / %c%s|", code, sv,       \
                         (en)[0] >= 'A' && (en)[0] <= 'Z' ? (en)[0] + 32       \
                                                          : (en)[0],           \
                         (en) + 1);                                            \
        if (n < 0 || (size_t)n >= size - at)                                   \
            return GW_ETOOLARGE;                                               \
    }

static gw_rc
print_decisions(char *buf, size_t size)
{
    if (size < 2)
        return GW_ETOOLARGE;
    buf[0] = '|', buf[1] = '\0';
    GW_CASE_STATUS_ROWS(GW_PRINT_DECISION_)
    return GW_OK;
}
#undef GW_PRINT_DECISION_

gw_rc
gw_view_print(const struct gw_views *v, const struct gw_fhir_doc *view,
              int pdf, char **html, size_t *len)
{
    char now[40], local[48], quoted[64], dec[512], decq[516], force[24];
    const char *params[7] = {"printed",  quoted, "decisions", decq,
                             "in_force", force,  NULL};
    xmlDocPtr out;
    gw_rc rc;

    *html = NULL;
    *len = 0;
    /* Which statuses are decisions, and which one is in force: the rows. */
    if ((rc = print_decisions(dec, sizeof(dec))) != GW_OK ||
        (rc = quote(decq, sizeof(decq), dec)) != GW_OK ||
        (rc = quote(force, sizeof(force), gw_case_status_in_force_code())) !=
            GW_OK)
        return rc;
    /* When it was printed, on every page, in the reader's time. */
    gw_clock_format(gw_clock_now_ms(), now, sizeof(now));
    if (!gw_print_local_time(now, local, sizeof(local)))
        snprintf(local, sizeof(local), "%s", now);
    snprintf(quoted, sizeof(quoted), "'%s'", local);
    out = gw_xslt_apply(v->ss[V_PRINT], gw_fhir_doc_xml(view), params);

    if (out == NULL)
        return GW_EINTERNAL;
    if (pdf)
        rc = gw_view_pdf_from_html(out, html, len);
    else
        rc = gw_xslt_save(v->ss[V_PRINT], out, html, len);
    xmlFreeDoc(out);
    return rc;
}

gw_rc
gw_view_copy(const struct gw_views *v, const char *doc_xml, size_t len,
             struct gw_fhir_doc **out)
{
    struct gw_err err;
    xmlDocPtr res;
    gw_rc rc;

    *out = NULL;
    if ((rc = map_stored(v->ss[V_COPY], doc_xml, len, NULL, &res)) != GW_OK)
        return rc;
    gw_err_clear(&err);
    return gw_fhir_doc_from_xml(res, NULL, out, &err);
}
