/*
 * rules.c - the business rules of DOMAIN.md on the canonical FHIR XML.
 *
 * The message is read the way fhir-profiles/README.md lays it out: a
 * message Bundle whose MessageHeader names the event and points at the
 * Task; the Task points at the motivation (MedicationRequest), which
 * points at the product (Medication), the patient (Patient, or a Group
 * for a general licence) and the prescriber (PractitionerRole ->
 * Practitioner, clinic Organization -> hospital Organization).
 * References resolve inside the Bundle (fullUrl) or to contained
 * resources (#id).
 *
 * Each rule has a stable id, adds issues with the FHIRPath of the element
 * and its text in Swedish (the handbook's words where it has them) and
 * English. When any field error exists the handbook's summary message
 * is added once. The rules do no I/O.
 */
#include "validate/rules.h"

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "fhir/fhir_xml.h"
#include "fhir/model.h"
#include "klas/event.h"
#include "klas/ident.h"

#define BASE "http://klasgw.org/fhir"
#define EXT BASE "/StructureDefinition/"
#define SYS_PNR "http://electronichealth.se/identifier/personnummer"
#define SYS_SAMORDNING "http://electronichealth.se/identifier/samordningsnummer"
#define SYS_DOB BASE "/NamingSystem/fodelsedatum"
#define SYS_HSA "urn:oid:1.2.752.29.4.19"
#define SYS_GLN "urn:oid:2.51.1.3"
#define SYS_NPL "http://electronichealth.se/identifier/nplid"
#define SYS_ATC "http://www.whocc.no/atc"
#define MAX_ATTACHMENTS 5
#define MAX_ATTACHMENT_BYTES (5L * 1024 * 1024)
#define ENTRIES_INDEXED 32 /* a message has a dozen */

struct ctx {
    xmlDocPtr doc;
    xmlNsPtr fhir; /* the root's namespace when it is FHIR's, or NULL */
    xmlXPathContextPtr xp;
    struct gw_outcome *out;
    const char *today;
    gw_rc rc;
    int field_errors;
    char event[64];
    xmlNodePtr bundle, header, task, mr, med, patient, group, prole, pract,
        clinic, hospital, pharmacy;
    /* The Bundle's entries by fullUrl, for resolve (index_entries);
     * nentries -1: not made (too many, or a value not plain text). */
    int indexed;
    int nentries;
    struct {
        const char *url; /* the fullUrl's value, or NULL */
        xmlNodePtr entry;
    } entries[ENTRIES_INDEXED];
};

/* --- paths ---------------------------------------------------------- */

void
gw_rules_node_path(xmlNodePtr n, char *buf, size_t size)
{
    xmlNodePtr chain[256];
    const struct gw_fhir_type *t = NULL;
    int depth = 0, container = 0;
    size_t o = 0;

    buf[0] = '\0';
    if (n != NULL && n->type == XML_ATTRIBUTE_NODE)
        n = n->parent;
    for (; n != NULL && n->type == XML_ELEMENT_NODE && depth < 256;
         n = n->parent)
        chain[depth++] = n;
    for (int i = depth - 1; i >= 0 && o < size; i--) {
        xmlNodePtr e = chain[i];
        const char *name = (const char *)e->name;
        const struct gw_fhir_elem *el;
        if (i == depth - 1 || container) {
            t = gw_fhir_resource_find(name);
            if (i == depth - 1)
                o += (size_t)snprintf(buf + o, size - o, "%s", name);
            container = 0;
            continue;
        }
        el = t ? gw_fhir_elem_find(t, name) : NULL;
        if (el != NULL && el->many) {
            int idx = 0;
            for (xmlNodePtr s = e->prev; s; s = s->prev)
                idx += s->type == XML_ELEMENT_NODE &&
                       strcmp((const char *)s->name, name) == 0;
            o += (size_t)snprintf(buf + o, size - o, ".%s[%d]", name, idx);
        } else {
            o += (size_t)snprintf(buf + o, size - o, ".%s", name);
        }
        if (el != NULL && el->type == GW_FHIR_ANY_RESOURCE) {
            container = 1;
            t = NULL;
        } else {
            t = el ? gw_fhir_elem_type(el) : NULL;
        }
    }
}

/* --- XPath helpers -------------------------------------------------- */

/*
 * Compiled expressions, shared by every thread for the life of the
 * process: the rules use a fixed set of expressions (references are
 * resolved by walking the tree, see resolve()), so compiling each once
 * takes the parser off the hot path. A compiled expression is read-only
 * while evaluated, as libxslt relies on too.
 */
#define XP_SLOTS 512
struct mpath;
static struct {
    char *expr;
    xmlXPathCompExprPtr comp;
    struct mpath *mp; /* the same path for mp_walk; NULL: libxml2 only */
} xp_cache[XP_SLOTS];
static pthread_rwlock_t xp_lock = PTHREAD_RWLOCK_INITIALIZER;

/*
 * Per thread, the slot an expression was last found in, by the address
 * of its text: the rules pass the same literals on every call, and
 * hashing the text on each of them was most of compiled()'s cost (~370
 * instructions a call, 77 calls a submission). A filled slot never
 * changes, and the slot's text is still compared, so an address reused
 * for other text only misses.
 */
#define XP_SEEN_BITS 9
#define XP_SEEN (1u << XP_SEEN_BITS)
static _Thread_local struct {
    const char *at;
    unsigned slot;
} xp_seen[XP_SEEN];

/* The address's place in xp_seen, by Fibonacci hashing: the literals
 * lie close together, and the low bits of their addresses (the index
 * was (address / 8) % 128) put a third of a submission's in the slot of
 * another, so most calls hashed the text anyway. */
static unsigned
xp_seen_index(const char *expr)
{
    return (unsigned)(((uint64_t)(uintptr_t)expr * 0x9E3779B97F4A7C15u) >>
                      (64 - XP_SEEN_BITS));
}

/*
 * The rules' own paths, walked without libxml2's XPath engine, which
 * spent most of the rules' time on them (a node set and objects allocated
 * per step and per call). Nearly every expression is a location path of
 * child steps "f:name", each with predicates "[n]" or comparisons
 * "rel='literal'" joined by " or " (rel: child steps ending in an
 * attribute), after optional leading ".." steps and before an optional
 * final "@name". Such an expression is compiled once (mp_compile) and
 * walked depth first from the one context node, which is document order:
 * child steps from distinct parents never meet, so the first node found
 * and the count are libxml2's. Any other expression, or a ".." that
 * would leave the elements, is evaluated by libxml2 (test_validate checks
 * both agree on every expression from every element of the examples).
 */
#define MP_STEPS 8
#define MP_PREDS 3
#define MP_ORS 4

enum { MP_CHILD, MP_PARENT, MP_ATTR };

struct mcmp {
    struct mpath *rel; /* child steps, then one attribute step */
    char *lit;
};

struct mpred {
    int pos; /* > 0: [pos]; else any of the comparisons */
    int n;
    struct mcmp alt[MP_ORS];
};

struct mstep {
    int kind;
    char *name;
    int npred;
    struct mpred pred[MP_PREDS];
};

struct mpath {
    int n;
    struct mstep step[MP_STEPS];
};

static void
mp_free(struct mpath *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->n; i++) {
        free(p->step[i].name);
        for (int k = 0; k < p->step[i].npred; k++)
            for (int j = 0; j < p->step[i].pred[k].n; j++) {
                mp_free(p->step[i].pred[k].alt[j].rel);
                free(p->step[i].pred[k].alt[j].lit);
            }
    }
    free(p);
}

/* A name at *s (letters and digits, a letter first), copied; NULL if
 * none. */
static char *
mp_name(const char **s)
{
    const char *b = *s;
    char *name;

    if (!((*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z')))
        return NULL;
    while ((**s >= 'a' && **s <= 'z') || (**s >= 'A' && **s <= 'Z') ||
           (**s >= '0' && **s <= '9'))
        (*s)++;
    name = strndup(b, (size_t)(*s - b));
    return name;
}

static struct mpath *mp_parse(const char **s, int rel);

/* One predicate after its '['; *s ends after its ']'. 0: not ours. */
static int
mp_pred(const char **s, struct mpred *pr)
{
    if (**s >= '1' && **s <= '9') {
        long v = strtol(*s, (char **)s, 10);
        if (**s != ']' || v > 1000)
            return 0;
        pr->pos = (int)v;
        (*s)++;
        return 1;
    }
    for (;;) {
        const char *end;
        struct mcmp *m;
        if (pr->n == MP_ORS)
            return 0;
        m = &pr->alt[pr->n++];
        if ((m->rel = mp_parse(s, 1)) == NULL || (*s)[0] != '=' ||
            (*s)[1] != '\'' || (end = strchr(*s + 2, '\'')) == NULL)
            return 0;
        m->lit = strndup(*s + 2, (size_t)(end - (*s + 2)));
        if (m->lit == NULL)
            return 0;
        *s = end + 1;
        if (strncmp(*s, " or ", 4) == 0) {
            *s += 4;
            continue;
        }
        if (**s != ']')
            return 0;
        (*s)++;
        return 1;
    }
}

/* A path at *s; rel: inside a predicate (child steps and a final
 * attribute, ending before '='). NULL: not one of ours. */
static struct mpath *
mp_parse(const char **s, int rel)
{
    struct mpath *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    for (;;) {
        struct mstep *st;
        if (p->n == MP_STEPS)
            goto no;
        st = &p->step[p->n++];
        if (strncmp(*s, "..", 2) == 0) {
            /* Only leading: a parent after a child step could meet
             * another branch. */
            st->kind = MP_PARENT;
            if (rel || (p->n > 1 && p->step[p->n - 2].kind != MP_PARENT))
                goto no;
            *s += 2;
        } else if (**s == '@') {
            (*s)++;
            st->kind = MP_ATTR;
            if ((st->name = mp_name(s)) == NULL || **s == '/')
                goto no;
            break; /* the last step */
        } else if (strncmp(*s, "f:", 2) == 0) {
            *s += 2;
            st->kind = MP_CHILD;
            if ((st->name = mp_name(s)) == NULL)
                goto no;
            while (**s == '[') {
                (*s)++;
                if (rel || st->npred == MP_PREDS ||
                    !mp_pred(s, &st->pred[st->npred++]))
                    goto no;
            }
        } else {
            goto no;
        }
        if (**s != '/')
            break;
        (*s)++;
    }
    if (rel ? p->step[p->n - 1].kind != MP_ATTR || **s != '=' : **s != '\0')
        goto no;
    return p;
no:
    mp_free(p);
    return NULL;
}

static struct mpath *
mp_compile(const char *expr)
{
    return mp_parse(&expr, 0);
}

/* Whether c is the FHIR element name; fhir: a namespace known to be
 * FHIR's (the document's, or NULL), so that its elements' namespace is
 * one comparison of pointers rather than of their URIs. */
static int
mp_elem(xmlNodePtr c, const char *name, xmlNsPtr fhir)
{
    /* The first letter first: most siblings differ there. */
    return c->type == XML_ELEMENT_NODE && c->ns != NULL &&
           c->ns->href != NULL && c->name[0] == (xmlChar)name[0] &&
           strcmp((const char *)c->name, name) == 0 &&
           (c->ns == fhir ||
            strcmp((const char *)c->ns->href, GW_FHIR_NS) == 0);
}

/* The attribute name of n without a namespace (XPath's @name). */
static xmlAttrPtr
mp_attr(xmlNodePtr n, const char *name)
{
    for (xmlAttrPtr a = n->properties; a != NULL; a = a->next)
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0)
            return a;
    return NULL;
}

/* Whether a's value (its string-value) is lit. */
static int
mp_attr_is(xmlAttrPtr a, const char *lit)
{
    xmlNodePtr t = a->children;
    xmlChar *v;
    int eq;

    if (t != NULL && t->next == NULL && t->type == XML_TEXT_NODE &&
        t->content != NULL)
        return strcmp((const char *)t->content, lit) == 0;
    v = xmlNodeGetContent((xmlNodePtr)a);
    eq = v != NULL && strcmp((const char *)v, lit) == 0;
    xmlFree(v);
    return eq;
}

/* Whether rel from n (step i on) reaches an attribute whose value is
 * lit. */
static int
mp_exists(const struct mpath *rel, int i, xmlNodePtr n, const char *lit,
          xmlNsPtr fhir)
{
    const struct mstep *st = &rel->step[i];

    if (st->kind == MP_ATTR) {
        xmlAttrPtr a = mp_attr(n, st->name);
        return a != NULL && mp_attr_is(a, lit);
    }
    for (xmlNodePtr c = n->children; c != NULL; c = c->next)
        if (mp_elem(c, st->name, fhir) && mp_exists(rel, i + 1, c, lit, fhir))
            return 1;
    return 0;
}

struct mres {
    xmlNodePtr first;
    int count;
    int want_first; /* stop at the first node */
    int fallback;   /* the walk left the elements: ask libxml2 */
    xmlNodePtr *keep; /* the first nkeep nodes, in document order */
    int nkeep;
    xmlNsPtr fhir; /* mp_elem's; may be NULL */
};

/* Walks p from n (step i on); 1: stop. */
static int
mp_walk(const struct mpath *p, int i, xmlNodePtr n, struct mres *r)
{
    const struct mstep *st;
    int seen[MP_PREDS] = {0};

    if (i == p->n) {
        if (r->count < r->nkeep)
            r->keep[r->count] = n;
        if (r->count++ == 0)
            r->first = n;
        return r->want_first;
    }
    st = &p->step[i];
    if (st->kind == MP_PARENT) {
        if (n->parent == NULL || n->parent->type != XML_ELEMENT_NODE) {
            r->fallback = 1;
            return 1;
        }
        return mp_walk(p, i + 1, n->parent, r);
    }
    if (st->kind == MP_ATTR) {
        xmlAttrPtr a = mp_attr(n, st->name);
        return a != NULL && mp_walk(p, i + 1, (xmlNodePtr)a, r);
    }
    for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
        int pass = 1;
        if (!mp_elem(c, st->name, r->fhir))
            continue;
        for (int k = 0; k < st->npred && pass; k++) {
            const struct mpred *pr = &st->pred[k];
            if (pr->pos > 0) {
                pass = ++seen[k] == pr->pos;
                continue;
            }
            pass = 0;
            for (int j = 0; j < pr->n && !pass; j++)
                pass = mp_exists(pr->alt[j].rel, 0, c, pr->alt[j].lit, r->fhir);
        }
        if (pass && mp_walk(p, i + 1, c, r))
            return 1;
    }
    return 0;
}

static unsigned
xp_hash(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The compiled expr (and in *mp its walkable form, or NULL); *owned is
 * set when the cache was full and the caller must free both. NULL if it
 * does not compile. */
static xmlXPathCompExprPtr
compiled(const char *expr, int *owned, struct mpath **mp)
{
    unsigned h, i, seen = xp_seen_index(expr);
    xmlXPathCompExprPtr comp = NULL;
    struct mpath *m;

    *owned = 0;
    *mp = NULL;
    if (xp_seen[seen].at == expr) {
        unsigned k = xp_seen[seen].slot;
        const char *e = __atomic_load_n(&xp_cache[k].expr, __ATOMIC_ACQUIRE);
        if (e != NULL && strcmp(e, expr) == 0) {
            *mp = xp_cache[k].mp;
            return xp_cache[k].comp;
        }
    }
    h = xp_hash(expr);
    /* Without the lock: a slot is filled once, under the write lock, its
     * expr published last (release); a reader that sees expr (acquire)
     * sees comp and mp. Every server thread asks on every rule, so the
     * read lock's shared counter was a measurable cost. */
    for (i = 0; i < XP_SLOTS; i++) {
        unsigned k = (h + i) % XP_SLOTS;
        const char *e = __atomic_load_n(&xp_cache[k].expr, __ATOMIC_ACQUIRE);
        if (e == NULL)
            break;
        if (strcmp(e, expr) == 0) {
            xp_seen[seen].at = expr;
            xp_seen[seen].slot = k;
            *mp = xp_cache[k].mp;
            return xp_cache[k].comp;
        }
    }
    comp = xmlXPathCompile((const xmlChar *)expr);
    if (comp == NULL)
        return NULL;
    m = mp_compile(expr);
    pthread_rwlock_wrlock(&xp_lock);
    for (i = 0; i < XP_SLOTS; i++) {
        unsigned k = (h + i) % XP_SLOTS;
        if (xp_cache[k].expr == NULL) {
            char *copy = strdup(expr);
            if (copy == NULL)
                break;
            xp_cache[k].comp = comp;
            xp_cache[k].mp = m;
            __atomic_store_n(&xp_cache[k].expr, copy, __ATOMIC_RELEASE);
            pthread_rwlock_unlock(&xp_lock);
            *mp = m;
            return comp;
        }
        if (strcmp(xp_cache[k].expr, expr) == 0) {
            /* Another thread was first. */
            xmlXPathFreeCompExpr(comp);
            mp_free(m);
            comp = xp_cache[k].comp;
            *mp = xp_cache[k].mp;
            pthread_rwlock_unlock(&xp_lock);
            return comp;
        }
    }
    pthread_rwlock_unlock(&xp_lock);
    *owned = 1;
    *mp = m;
    return comp;
}

/* libxml2's evaluation of expr at `at` (NULL: it does not compile). */
static xmlXPathObjectPtr
xp_eval(xmlXPathContextPtr xp, xmlNodePtr at, const char *expr)
{
    int owned;
    struct mpath *mp;
    xmlXPathCompExprPtr comp = compiled(expr, &owned, &mp);
    xmlXPathObjectPtr r;

    if (comp == NULL)
        return NULL;
    xp->node = at;
    r = xmlXPathCompiledEval(comp, xp);
    if (owned) {
        xmlXPathFreeCompExpr(comp);
        mp_free(mp);
    }
    return r;
}

/* The rules' libxml2 XPath context, made when a rule first needs it: a
 * message whose paths the walker answers never does. */
static xmlXPathContextPtr
xp_context(struct ctx *c)
{
    if (c->xp == NULL) {
        c->xp = xmlXPathNewContext(c->doc);
        if (c->xp == NULL && c->rc == GW_OK)
            c->rc = GW_ENOMEM;
        else
            xmlXPathRegisterNs(c->xp, (const xmlChar *)"f",
                               (const xmlChar *)GW_FHIR_NS);
    }
    return c->xp;
}

static xmlXPathObjectPtr
eval(struct ctx *c, xmlNodePtr at, const char *expr)
{
    xmlXPathContextPtr xp = xp_context(c);

    return xp != NULL ? xp_eval(xp, at, expr) : NULL;
}

/* The first node of expr at `at` and how many there are (want_first:
 * only the first), by mp_walk when expr is one of its paths, else by
 * libxml2. */
static void
select_nodes(struct ctx *c, xmlNodePtr at, const char *expr, int want_first,
             struct mres *r)
{
    int owned, done = 0;
    struct mpath *mp;
    xmlXPathCompExprPtr comp = compiled(expr, &owned, &mp);
    xmlXPathObjectPtr o;

    memset(r, 0, sizeof(*r));
    r->want_first = want_first;
    r->fhir = c->fhir;
    if (comp != NULL && mp != NULL && at->type == XML_ELEMENT_NODE) {
        mp_walk(mp, 0, at, r);
        done = !r->fallback;
        if (!done)
            memset(r, 0, sizeof(*r));
    }
    if (comp != NULL && owned) {
        xmlXPathFreeCompExpr(comp);
        mp_free(mp);
    }
    if (done)
        return;
    o = eval(c, at, expr);
    if (o != NULL && o->nodesetval != NULL && o->nodesetval->nodeNr > 0) {
        r->first = o->nodesetval->nodeTab[0];
        r->count = o->nodesetval->nodeNr;
    }
    xmlXPathFreeObject(o);
}

static xmlNodePtr
first(struct ctx *c, xmlNodePtr at, const char *expr)
{
    struct mres r;

    if (at == NULL)
        return NULL;
    select_nodes(c, at, expr, 1, &r);
    return r.first;
}

static int
count(struct ctx *c, xmlNodePtr at, const char *expr)
{
    struct mres r;

    if (at == NULL)
        return 0;
    select_nodes(c, at, expr, 0, &r);
    return r.count;
}

#define NODES_KEPT 16

/* Every node of expr at `at`, in document order, in *list: by mp_walk
 * into keep[] when expr is one of its paths and has at most NODES_KEPT
 * nodes, else by libxml2 (*o then holds them; free it). How many. */
static int
nodes(struct ctx *c, xmlNodePtr at, const char *expr,
      xmlNodePtr keep[NODES_KEPT], xmlNodePtr **list, xmlXPathObjectPtr *o)
{
    int owned;
    struct mpath *mp;
    xmlXPathCompExprPtr comp = compiled(expr, &owned, &mp);
    struct mres r;

    *o = NULL;
    *list = keep;
    memset(&r, 0, sizeof(r));
    r.keep = keep;
    r.nkeep = NODES_KEPT;
    r.fhir = c->fhir;
    if (comp != NULL && mp != NULL && at != NULL &&
        at->type == XML_ELEMENT_NODE)
        mp_walk(mp, 0, at, &r);
    else
        r.fallback = 1;
    if (comp != NULL && owned) {
        xmlXPathFreeCompExpr(comp);
        mp_free(mp);
    }
    if (!r.fallback && r.count <= NODES_KEPT)
        return r.count;
    *o = eval(c, at, expr);
    if (*o == NULL || (*o)->nodesetval == NULL)
        return 0;
    *list = (*o)->nodesetval->nodeTab;
    return (*o)->nodesetval->nodeNr;
}

/* The text of attribute a where it can be read in place, without the
 * copy xmlGetProp makes: an attribute node of one text node. NULL else
 * (a default from a DTD, entity references): the caller copies. */
static const char *
attr_in_place(xmlNodePtr a)
{
    xmlNodePtr t = a->children;

    if (a->type == XML_ATTRIBUTE_NODE && t != NULL && t->next == NULL &&
        (t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) &&
        t->content != NULL)
        return (const char *)t->content;
    return NULL;
}

/* The @value of element n, or the text of any other node, as xmlGetProp
 * and xmlNodeGetContent give them: read in place when it is one text node,
 * else a copy in *copy (free it). NULL: none. */
static const char *
value_of(xmlNodePtr n, xmlChar **copy)
{
    xmlNodePtr a = n;
    const char *v;

    *copy = NULL;
    if (n->type == XML_ELEMENT_NODE) {
        a = (xmlNodePtr)xmlHasNsProp(n, (const xmlChar *)"value", NULL);
        if (a == NULL)
            return NULL;
    }
    if ((v = attr_in_place(a)) != NULL)
        return v;
    *copy = n->type == XML_ELEMENT_NODE
                ? xmlGetProp(n, (const xmlChar *)"value")
                : xmlNodeGetContent(n);
    return (const char *)*copy;
}

/* The @value (or text) at expr, copied into buf (cut as snprintf cuts);
 * 1 if non-empty. */
static int
text(struct ctx *c, xmlNodePtr at, const char *expr, char *buf, size_t size)
{
    xmlNodePtr n = first(c, at, expr);
    xmlChar *copy;
    const char *v;

    buf[0] = '\0';
    if (n == NULL)
        return 0;
    v = value_of(n, &copy);
    if (v != NULL) {
        size_t len = strlen(v);
        if (len >= size)
            len = size - 1;
        memcpy(buf, v, len);
        buf[len] = '\0';
        xmlFree(copy);
    }
    return buf[0] != '\0';
}

static void
issue(struct ctx *c, enum gw_severity sev, const char *code, const char *rule,
      xmlNodePtr at, const char *child, const char *sv, const char *en)
{
    char path[200] = "";

    if (c->rc != GW_OK)
        return;
    if (at != NULL)
        gw_rules_node_path(at, path, sizeof(path));
    if (child != NULL) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof(path) - n, "%s%s", n ? "." : "", child);
    }
    c->rc = gw_outcome_add(c->out, sev, code, rule, path, sv, en);
    if (sev == GW_SEV_ERROR)
        c->field_errors++;
}

#define ERR(c, rule, at, child, sv, en)                                       \
    issue((c), GW_SEV_ERROR, "required", (rule), (at), (child), (sv), (en))
#define BAD(c, rule, at, child, sv, en)                                       \
    issue((c), GW_SEV_ERROR, "value", (rule), (at), (child), (sv), (en))
#define WARN(c, rule, at, child, sv, en)                                      \
    issue((c), GW_SEV_WARNING, "business-rule", (rule), (at), (child), (sv),  \
          (en))

/* xmlGetProp(n, name): read in place when it is one text node (*copy
 * NULL), else a copy in *copy (free it). NULL: none. */
static const char *
prop(xmlNodePtr n, const char *name, xmlChar **copy)
{
    xmlAttrPtr a = xmlHasProp(n, (const xmlChar *)name);
    const char *v;

    *copy = NULL;
    if (a == NULL)
        return NULL;
    if ((v = attr_in_place((xmlNodePtr)a)) != NULL)
        return v;
    *copy = xmlGetProp(n, (const xmlChar *)name);
    return (const char *)*copy;
}

/* The Bundle's entries and their fullUrls, once a run, for resolve: a
 * message resolves a dozen references, and each walked every entry and
 * copied each fullUrl to compare it. Not made (nentries -1) when there
 * are more than fit or a fullUrl's value is not one text: resolve then
 * walks the Bundle. */
static void
index_entries(struct ctx *c)
{
    c->indexed = 1;
    c->nentries = 0;
    for (xmlNodePtr e = c->bundle ? c->bundle->children : NULL; e;
         e = e->next) {
        xmlNodePtr url;
        xmlChar *copy;
        const char *v = NULL;
        if (e->type != XML_ELEMENT_NODE ||
            strcmp((const char *)e->name, "entry") != 0)
            continue;
        if (c->nentries == ENTRIES_INDEXED) {
            c->nentries = -1;
            return;
        }
        url = gw_xml_child(e, "fullUrl");
        if (url != NULL) {
            v = prop(url, "value", &copy);
            if (copy != NULL) {
                xmlFree(copy);
                c->nentries = -1;
                return;
            }
        }
        c->entries[c->nentries].url = v;
        c->entries[c->nentries].entry = e;
        c->nentries++;
    }
}

/* The resource a reference points to: "#id" among the contained of
 * `from`'s resource, otherwise a Bundle entry by fullUrl or Type/id.
 * Walked in C rather than by XPath: the reference is data, and this
 * keeps every XPath expression a fixed (cacheable) string. */
static xmlNodePtr
resolve(struct ctx *c, xmlNodePtr from, const char *ref_expr)
{
    char ref[256], type[64], id[128];
    xmlNodePtr res = from;

    if (!text(c, from, ref_expr, ref, sizeof(ref)))
        return NULL;
    if (ref[0] == '#') {
        while (res != NULL && res->parent != NULL &&
               res->parent->type == XML_ELEMENT_NODE &&
               strcmp((const char *)res->parent->name, "resource") != 0 &&
               strcmp((const char *)res->parent->name, "contained") != 0)
            res = res->parent;
        for (xmlNodePtr k = res ? res->children : NULL; k; k = k->next)
            if (k->type == XML_ELEMENT_NODE &&
                strcmp((const char *)k->name, "contained") == 0 &&
                gw_xml_value_is(gw_xml_child(gw_xml_first_elem(k), "id"),
                                ref + 1))
                return gw_xml_first_elem(k);
        return NULL;
    }
    if (!c->indexed)
        index_entries(c);
    for (int i = 0; i < c->nentries; i++)
        if (c->entries[i].url != NULL && c->entries[i].url[0] == ref[0] &&
            strcmp(c->entries[i].url, ref) == 0)
            return gw_xml_first_elem(
                gw_xml_child(c->entries[i].entry, "resource"));
    for (xmlNodePtr e = c->bundle && c->nentries < 0 ? c->bundle->children
                                                     : NULL;
         e; e = e->next)
        if (e->type == XML_ELEMENT_NODE &&
            strcmp((const char *)e->name, "entry") == 0 &&
            gw_xml_value_is(gw_xml_child(e, "fullUrl"), ref))
            return gw_xml_first_elem(gw_xml_child(e, "resource"));
    if (strchr(ref, '/') != NULL &&
        sscanf(ref, "%63[^/]/%127s", type, id) == 2)
        for (xmlNodePtr e = c->bundle ? c->bundle->children : NULL; e;
             e = e->next) {
            xmlNodePtr r = e->type == XML_ELEMENT_NODE
                               ? gw_xml_first_elem(gw_xml_child(e, "resource"))
                               : NULL;
            if (r != NULL && strcmp((const char *)r->name, type) == 0 &&
                gw_xml_value_is(gw_xml_child(r, "id"), id))
                return r;
        }
    return NULL;
}

static int
is(xmlNodePtr n, const char *type)
{
    return n != NULL && strcmp((const char *)n->name, type) == 0;
}

/* rules.h: the test of mp_walk against libxml2. */
size_t
gw_rules_paths_disagree(xmlDocPtr doc, size_t *pairs)
{
    const char *exprs[XP_SLOTS];
    struct mpath *mps[XP_SLOTS];
    xmlXPathContextPtr xp = xmlXPathNewContext(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc), n = root;
    size_t nx = 0, bad = 0;

    *pairs = 0;
    if (xp == NULL || root == NULL) {
        xmlXPathFreeContext(xp);
        return 1;
    }
    xmlXPathRegisterNs(xp, (const xmlChar *)"f", (const xmlChar *)GW_FHIR_NS);
    pthread_rwlock_rdlock(&xp_lock);
    for (unsigned i = 0; i < XP_SLOTS; i++)
        if (xp_cache[i].expr != NULL && xp_cache[i].mp != NULL) {
            exprs[nx] = xp_cache[i].expr;
            mps[nx++] = xp_cache[i].mp;
        }
    pthread_rwlock_unlock(&xp_lock);
    while (n != NULL) { /* every element, pre-order */
        for (size_t i = 0; i < nx && n->type == XML_ELEMENT_NODE; i++) {
            struct mres a, b;
            xmlNodePtr keep[NODES_KEPT];
            xmlXPathObjectPtr o = xp_eval(xp, n, exprs[i]);
            memset(&a, 0, sizeof(a));
            a.keep = keep;
            a.nkeep = NODES_KEPT;
            mp_walk(mps[i], 0, n, &a);
            memset(&b, 0, sizeof(b));
            b.want_first = 1;
            mp_walk(mps[i], 0, n, &b);
            if (a.fallback) {
                xmlXPathFreeObject(o);
                continue;
            }
            if (o == NULL || o->nodesetval == NULL
                    ? a.count != 0 || b.first != NULL
                    : a.count != o->nodesetval->nodeNr ||
                          (a.count > 0 &&
                           (a.first != o->nodesetval->nodeTab[0] ||
                            b.first != a.first)))
                bad++;
            else /* nodes(): the kept ones in libxml2's (document) order */
                for (int k = 0; k < a.count && k < NODES_KEPT; k++)
                    if (keep[k] != o->nodesetval->nodeTab[k]) {
                        bad++;
                        break;
                    }
            ++*pairs;
            xmlXPathFreeObject(o);
        }
        if (n->children != NULL && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            continue;
        }
        while (n != root && n->next == NULL)
            n = n->parent;
        n = n == root ? NULL : n->next;
    }
    xmlXPathFreeContext(xp);
    return bad;
}

/* --- the rules ------------------------------------------------------ */

/*
 * What a KLAS message may carry beyond the base resources: the
 * extensions of fhir-profiles/ (scripts/gen-profiles.py, EXTENSIONS), each
 * on the resource type it is defined for, with its sub-extensions. An
 * extension not in this table, any modifierExtension, a Binary, and free
 * text on the Task have no use in a KLAS message; they are refused rather
 * than stored, so nothing reaches a reader that no rule has looked at.
 */
static const struct {
    const char *type, *url, *subs; /* subs: " a b " or NULL */
} known_ext[] = {
    {"MedicationRequest", EXT "klas-licence-type", NULL},
    {"MedicationRequest", EXT "klas-beredskap", NULL},
    {"MedicationRequest", EXT "klas-general-level", NULL},
    {"MedicationRequest", EXT "klas-motivation", " reason text "},
    {"Medication", EXT "klas-product-kind", NULL},
    {"Medication", EXT "klas-approval", " country number "},
    {"Medication", EXT "klas-not-approved", NULL},
    {"Medication", EXT "klas-strength", NULL},
    {"PractitionerRole", EXT "klas-area-of-responsibility", NULL},
};

/* Elements of Task that only hold free text: a case has no use for it. */
static const char *const task_free_text[] = {"note", "description",
                                             "reasonCode", "input"};

/* Shape issues are capped: a hostile message of many thousand unknown
 * extensions gets a bounded answer. */
#define MAX_SHAPE_ISSUES 20

static int
ext_known(xmlNodePtr e, xmlNodePtr parent)
{
    xmlChar *url_copy, *purl_copy = NULL;
    const char *url = prop(e, "url", &url_copy), *purl = NULL;
    int top, ok = 0;
    char w[80];

    if (url == NULL)
        return 0;
    /* On a resource (entry or contained), or inside a KLAS extension. */
    top = parent->parent != NULL &&
          (strcmp((const char *)parent->parent->name, "resource") == 0 ||
           strcmp((const char *)parent->parent->name, "contained") == 0);
    /* " url ", to find among a KLAS extension's sub-extensions: written
     * only inside one (a message's extensions are mostly on resources). */
    if (strcmp((const char *)parent->name, "extension") == 0 &&
        (purl = prop(parent, "url", &purl_copy)) != NULL)
        snprintf(w, sizeof(w), " %s ", url);
    for (size_t i = 0; !ok && i < sizeof(known_ext) / sizeof(known_ext[0]);
         i++) {
        if (top && strcmp((const char *)parent->name, known_ext[i].type) == 0)
            ok = strcmp(url, known_ext[i].url) == 0;
        else if (purl != NULL && known_ext[i].subs != NULL &&
                 strcmp(purl, known_ext[i].url) == 0)
            ok = strchr(url, ' ') == NULL &&
                 strstr(known_ext[i].subs, w) != NULL;
    }
    xmlFree(purl_copy);
    xmlFree(url_copy);
    return ok;
}

static void
shape_walk(struct ctx *c, xmlNodePtr n, int *issues)
{
    for (xmlNodePtr k = n->children; k && *issues < MAX_SHAPE_ISSUES;
         k = k->next) {
        const char *name = (const char *)k->name;
        if (k->type != XML_ELEMENT_NODE)
            continue;
        /* Each name's first letter first: this visits every element. */
        if (name[0] == 'B' && strcmp(name, "Binary") == 0) {
            BAD(c, "klas-binary", k, NULL,
                "Ett KLAS-meddelande får inte innehålla Binary; en bilaga "
                "skickas i DocumentReference.content.attachment.data",
                "A KLAS message may not hold a Binary; an attachment travels "
                "in DocumentReference.content.attachment.data");
            ++*issues;
            continue;
        }
        if ((name[0] == 'm' && strcmp(name, "modifierExtension") == 0) ||
            (name[0] == 'e' && strcmp(name, "extension") == 0 &&
             !ext_known(k, n))) {
            BAD(c, "klas-extension", k, NULL,
                "Okänt tillägg (extension): KLAS-profilerna definierar det "
                "inte här",
                "Unknown extension: the KLAS profiles do not define it here");
            ++*issues;
            continue;
        }
        if (name[0] == 'd' && strcmp(name, "div") == 0)
            continue; /* XHTML of a narrative; never shown to pharmacies */
        shape_walk(c, k, issues);
    }
}

static void
rule_shape(struct ctx *c)
{
    int issues = 0;

    shape_walk(c, c->bundle, &issues);
    for (xmlNodePtr e = c->bundle->children; e; e = e->next) {
        xmlNodePtr r = e->type == XML_ELEMENT_NODE &&
                               strcmp((const char *)e->name, "entry") == 0
                           ? gw_xml_first_elem(gw_xml_child(e, "resource"))
                           : NULL;
        if (!is(r, "Task"))
            continue;
        for (xmlNodePtr k = r->children; k && issues < MAX_SHAPE_ISSUES;
             k = k->next)
            for (size_t i = 0;
                 k->type == XML_ELEMENT_NODE &&
                 i < sizeof(task_free_text) / sizeof(task_free_text[0]);
                 i++)
                if (strcmp((const char *)k->name, task_free_text[i]) == 0) {
                    BAD(c, "klas-task-free-text", k, NULL,
                        "Fritext hör inte hemma i ärendet (Task); skriv den i "
                        "motiveringen eller i en komplettering",
                        "Free text has no place on the case (Task); write it "
                        "in the motivation or in a supplement");
                    issues++;
                }
    }
}

/* A person's first name (given) and last name (family), each under rule. */
static void
rule_name(struct ctx *c, xmlNodePtr who, const char *rule,
          const char *family_sv, const char *family_en, const char *given_sv,
          const char *given_en)
{
    char v[256];

    if (!text(c, who, "f:name[1]/f:family", v, sizeof(v)))
        ERR(c, rule, who, "name[0].family", family_sv, family_en);
    if (!text(c, who, "f:name[1]/f:given[1]", v, sizeof(v)))
        ERR(c, rule, who, "name[0].given", given_sv, given_en);
}

/* A required element of a resource: the rule, its value's path from the
 * resource (expr) and the ERR when it is missing (at child, sv, en). */
struct required {
    const char *rule, *expr, *child, *sv, *en;
};

/* A required reference: need.expr is the reference's path, type the
 * resource it must point at. */
struct ref_rule {
    struct required need;
    const char *type;
};

/* The references the rules require, by what they point at. */
enum ref {
    TASK_FOCUS,        /* MessageHeader.focus: the case */
    PRESCRIBER_ROLE,   /* MedicationRequest.requester */
    PRESCRIBER_PERSON, /* PractitionerRole.practitioner */
    CLINIC,            /* PractitionerRole.organization */
    PATIENT,           /* MedicationRequest.subject */
    PRODUCT,           /* MedicationRequest.medicationReference */
};
static const struct ref_rule refs[] = {
    [TASK_FOCUS] = {{"klas-message-focus", "f:focus[1]/f:reference", "focus",
                     "MessageHeader.focus måste peka på ärendet (Task)",
                     "MessageHeader.focus must point at the case (Task)"},
                    "Task"},
    [PRESCRIBER_ROLE] = {{"klas-prescriber", "f:requester/f:reference",
                          "requester", "Förskrivarinformation saknas",
                          "The prescriber (PractitionerRole) is missing"},
                         "PractitionerRole"},
    [PRESCRIBER_PERSON] = {{"klas-prescriber", "f:practitioner/f:reference",
                            "practitioner", "Förskrivarinformation saknas",
                            "The prescriber (Practitioner) is missing"},
                           "Practitioner"},
    [CLINIC] = {{"klas-clinic", "f:organization/f:reference", "organization",
                 "Klinik saknas", "The clinic is missing"},
                "Organization"},
    [PATIENT] = {{"klas-patient", "f:subject/f:reference", "subject",
                  "Patientuppgifter saknas", "The patient is missing"},
                 "Patient"},
    [PRODUCT] = {{"klas-product", "f:medicationReference/f:reference",
                  "medication", "Läkemedel saknas",
                  "The product (Medication) is missing"},
                 "Medication"},
};

/* What r's reference from `from` points to when it is r's type; else
 * NULL, and r's ERR at from. */
static xmlNodePtr
must_ref(struct ctx *c, xmlNodePtr from, const struct ref_rule *r)
{
    xmlNodePtr to = resolve(c, from, r->need.expr);

    if (is(to, r->type))
        return to;
    ERR(c, r->need.rule, from, r->need.child, r->need.sv, r->need.en);
    return NULL;
}

static void
rule_message(struct ctx *c)
{
    char type[32], sys[128];
    int known = 0;

    if (!is(c->bundle, "Bundle") ||
        !text(c, c->bundle, "f:type", type, sizeof(type)) ||
        strcmp(type, "message") != 0) {
        BAD(c, "klas-message-bundle", c->bundle, "type",
            "Ett KLAS-meddelande är en Bundle av typen message",
            "A KLAS message is a Bundle of type message");
        return;
    }
    c->header = first(c, c->bundle, "f:entry[1]/f:resource/f:MessageHeader");
    if (c->header == NULL) {
        ERR(c, "klas-message-header", c->bundle, "entry[0]",
            "Meddelandet måste börja med en MessageHeader",
            "The message must begin with a MessageHeader");
        return;
    }
    text(c, c->header, "f:eventCoding/f:system", sys, sizeof(sys));
    text(c, c->header, "f:eventCoding/f:code", c->event, sizeof(c->event));
    /* The messages are the rows of the event table (klas/event.c). */
    known = gw_klas_event_by_code(c->event) != NULL;
    if (strcmp(sys, BASE "/CodeSystem/klas-event") != 0 || !known) {
        BAD(c, "klas-message-event", c->header, "eventCoding",
            "Okänd händelse i MessageHeader.eventCoding",
            "Unknown event in MessageHeader.eventCoding");
        c->event[0] = '\0';
        return;
    }
    c->task = must_ref(c, c->header, &refs[TASK_FOCUS]);
}

/* The value of r at `at` into v (cut as text() cuts): 1 if it is there,
 * else r's ERR and 0. */
static int
required(struct ctx *c, xmlNodePtr at, const struct required *r, char *v,
         size_t size)
{
    if (text(c, at, r->expr, v, size))
        return 1;
    ERR(c, r->rule, at, r->child, r->sv, r->en);
    return 0;
}

/* Each of the n required elements rs at `at`, in their order. */
static void
rule_required(struct ctx *c, xmlNodePtr at, const struct required *rs, size_t n)
{
    char v[256];

    for (size_t i = 0; i < n; i++)
        required(c, at, &rs[i], v, sizeof(v));
}

/* A required identifier of a resource, checked by its check in
 * klas/ident.h under the same rule: the BAD when it fails the check (at
 * bad_child, bad_sv, bad_en), or bad() instead where the reason decides
 * the text. */
struct ident_rule {
    struct required need;
    gw_rc (*check)(const char *v, struct gw_err *err);
    const char *bad_child, *bad_sv, *bad_en;
    void (*bad)(struct ctx *c, xmlNodePtr at, const char *v);
};

/* The identifier r at `at`: present and valid, or a fault. */
static void
rule_ident(struct ctx *c, xmlNodePtr at, const struct ident_rule *r)
{
    char v[256];

    if (!required(c, at, &r->need, v, sizeof(v)) || r->check(v, NULL) == GW_OK)
        return;
    if (r->bad != NULL)
        r->bad(c, at, v);
    else
        BAD(c, r->need.rule, at, r->bad_child, r->bad_sv, r->bad_en);
}

/* A GLN that is not one (GS1, 13 digits, check digit), with the reason
 * in both languages. */
static void
bad_gln(struct ctx *c, xmlNodePtr org, const char *v)
{
    size_t n = strlen(v);
    int digits = n == 13 && strspn(v, "0123456789") == 13;

    if (!digits)
        BAD(c, "klas-pharmacy-gln", org, "identifier",
            "Apotekets GLN är felaktigt: det ska vara 13 siffror",
            "The pharmacy's GLN is not valid: it must be 13 digits");
    else
        BAD(c, "klas-pharmacy-gln", org, "identifier",
            "Apotekets GLN har fel kontrollsiffra (GS1)",
            "The pharmacy's GLN has a wrong check digit (GS1)");
}

/* The identifiers the rules require, by where they stand. */
enum ident {
    PRESCRIBER_HSAID, /* Practitioner.identifier */
    SEARCHED_NPLID,   /* a searched product's Medication.code */
    PHARMACY_GLN,     /* a pharmacy's Organization.identifier */
    TASK_REFNR,       /* the case a follow-up event is about */
};
static const struct ident_rule idents[] = {
    [PRESCRIBER_HSAID] = {{"klas-prescriber-hsaid",
                           "f:identifier[f:system/@value='" SYS_HSA
                           "']/f:value",
                           "identifier", "Förskrivarens HSA-id saknas",
                           "The prescriber's HSA-id is missing"},
                          gw_hsaid_check, "identifier[0].value",
                          "Förskrivarens HSA-id är felaktigt",
                          "The prescriber's HSA-id is not valid", NULL},
    [SEARCHED_NPLID] = {{"klas-nplid",
                         "f:code/f:coding[f:system/@value='" SYS_NPL
                         "']/f:code",
                         "code.coding", "NPL-id saknas för sökt produkt",
                         "A searched product needs its NPL id"},
                        gw_nplid_check, "code.coding",
                        "NPL-id ska vara 14 siffror",
                        "The NPL id must be 14 digits", NULL},
    [PHARMACY_GLN] = {{"klas-pharmacy-gln",
                       "f:identifier[f:system/@value='" SYS_GLN "']/f:value",
                       "identifier", "Apotekets GLN saknas",
                       "The pharmacy's GLN is missing"},
                      gw_gln_check, NULL, NULL, NULL, bad_gln},
    [TASK_REFNR] = {{"klas-refnr",
                     "f:identifier[f:system/@value='" BASE
                     "/NamingSystem/referensnummer']/f:value",
                     "identifier", "Referensnummer saknas",
                     "The referensnummer is missing"},
                    gw_refnr_check, "identifier[0].value",
                    "Referensnumret ska vara 10 siffror",
                    "The referensnummer must be 10 digits", NULL},
};

/* A prescriber (PractitionerRole) can always be called back: the phone
 * number is required of every message a prescriber sends. */
static void
rule_prescriber_phone(struct ctx *c, xmlNodePtr prole)
{
    char v[256];

    if (!text(c, prole, "f:telecom[f:system/@value='phone']/f:value", v,
              sizeof(v)))
        ERR(c, "klas-prescriber-phone", prole, "telecom",
            "Förskrivarens telefonnummer saknas",
            "The prescriber's phone number is missing");
}

/* What the prescriber's clinic must give: its name and address. */
static const struct required clinic_needs[] = {
    {"klas-clinic", "f:name", "name", "Klinikens namn saknas",
     "The clinic's name is missing"},
    {"klas-clinic-address", "f:address[1]/f:line[1]", "address[0].line",
     "Gatuadress saknas", "The street address is missing"},
    {"klas-clinic-address", "f:address[1]/f:postalCode",
     "address[0].postalCode", "Postnummer saknas",
     "The postal code is missing"},
    {"klas-clinic-address", "f:address[1]/f:city", "address[0].city",
     "Postort saknas", "The city is missing"},
};

static void
rule_prescriber(struct ctx *c)
{
    char v[256];

    c->prole = must_ref(c, c->mr, &refs[PRESCRIBER_ROLE]);
    if (c->prole == NULL)
        return;
    c->pract = must_ref(c, c->prole, &refs[PRESCRIBER_PERSON]);
    if (c->pract != NULL) {
        rule_name(c, c->pract, "klas-prescriber-name",
                  "Förskrivarens efternamn saknas",
                  "The prescriber's last name is missing",
                  "Förskrivarens förnamn saknas",
                  "The prescriber's first name is missing");
        rule_ident(c, c->pract, &idents[PRESCRIBER_HSAID]);
    }
    rule_prescriber_phone(c, c->prole);
    if (!text(c, c->prole, "f:telecom[f:system/@value='email']/f:value", v,
              sizeof(v)))
        WARN(c, "klas-prescriber-email", c->prole, "telecom",
             "E-postadress bör anges",
             "An e-mail address should be given");
    c->clinic = must_ref(c, c->prole, &refs[CLINIC]);
    if (c->clinic == NULL)
        return;
    rule_required(c, c->clinic, clinic_needs,
                  sizeof(clinic_needs) / sizeof(clinic_needs[0]));
    c->hospital = resolve(c, c->clinic, "f:partOf/f:reference");
    if (!is(c->hospital, "Organization") ||
        !text(c, c->hospital, "f:name", v, sizeof(v)))
        ERR(c, "klas-hospital", c->clinic, "partOf",
            "Sjukhus/vårdinrättning saknas",
            "The hospital (care institution) is missing");
}

/*
 * A general licence names the hospital AND the clinic that needs the drug
 * (the hospital's name repeated as clinic where it has no clinics), so
 * that a pharmacy can match a ward's requisition: Group.managingEntity is
 * the clinic, its partOf the hospital, each with a name.
 */
static void
rule_general_care_unit(struct ctx *c)
{
    char v[256];
    xmlNodePtr unit = resolve(c, c->group, "f:managingEntity/f:reference");
    xmlNodePtr hosp;

    if (!is(unit, "Organization")) {
        ERR(c, "klas-general-care-unit", c->group, "managingEntity",
            "Vårdenhet (klinik) saknas: en generell licens anger sjukhuset "
            "och kliniken som behöver läkemedlet (sjukhusets namn upprepas "
            "som klinik när det saknar kliniker)",
            "The care unit (clinic) is missing: a general licence names the "
            "hospital and the clinic that needs the drug (the hospital's "
            "name repeated as clinic when it has no clinics)");
        return;
    }
    if (!text(c, unit, "f:name", v, sizeof(v)))
        ERR(c, "klas-general-care-unit", unit, "name",
            "Vårdenhetens (klinikens) namn saknas",
            "The care unit's (clinic's) name is missing");
    hosp = resolve(c, unit, "f:partOf/f:reference");
    if (!is(hosp, "Organization") || !text(c, hosp, "f:name", v, sizeof(v)))
        ERR(c, "klas-general-care-unit", unit, "partOf",
            "Sjukhus/vårdinrättning för vårdenheten saknas: ange sjukhuset "
            "som kliniken hör till",
            "The care unit's hospital (care institution) is missing: give "
            "the hospital the clinic belongs to");
}

/*
 * The Swedish for each reason gw_pnr_parse gives (klas/ident.c), so that
 * both languages state the same reason. A detail not in the table gets the
 * general Swedish text; test_validate checks that every invalid example's
 * reason is here.
 */
static const struct {
    const char *en, *sv;
} pnr_reasons[] = {
    {"personnummer is missing", "personnummer saknas"},
    {"personnummer must be 12 digits YYYYMMDDNNNN (or a date of birth "
     "YYYYMMDD), without separators",
     "det ska vara 12 siffror ÅÅÅÅMMDDNNNN (eller födelsedatum ÅÅÅÅMMDD), "
     "utan skiljetecken"},
    {"a full personnummer is required here, not a date of birth",
     "här krävs fullständigt personnummer, inte födelsedatum"},
    {"date of birth is not a calendar date",
     "födelsedatumet är inte ett giltigt datum"},
    {"a personnummer is not accepted here", "ett personnummer godtas inte här"},
    {"a samordningsnummer is not accepted here",
     "ett samordningsnummer godtas inte här"},
    {"personnummer does not begin with a calendar date",
     "personnumret börjar inte med ett giltigt datum"},
    {"samordningsnummer does not begin with a calendar date",
     "samordningsnumret börjar inte med ett giltigt datum (dag + 60)"},
    {"personnummer has a wrong check digit",
     "personnumret har fel kontrollsiffra"},
    {"samordningsnummer has a wrong check digit",
     "samordningsnumret har fel kontrollsiffra"},
};

/* Refuses a personnummer (or samordningsnummer, date of birth) at `at`
 * with the reason in Swedish and English. */
static void
bad_pnr(struct ctx *c, xmlNodePtr at, const char *child,
        const struct gw_err *err)
{
    const char *reason = "12 siffror ÅÅÅÅMMDDNNNN med korrekt kontrollsiffra";
    char sv[300], en[300];

    for (size_t i = 0; i < sizeof(pnr_reasons) / sizeof(pnr_reasons[0]); i++)
        if (strcmp(err->detail, pnr_reasons[i].en) == 0)
            reason = pnr_reasons[i].sv;
    snprintf(sv, sizeof(sv), "Personnumret är felaktigt: %s", reason);
    snprintf(en, sizeof(en), "The personnummer is not valid: %s", err->detail);
    BAD(c, "klas-pnr", at, child, sv, en);
}

static void
rule_licence_and_patient(struct ctx *c, char *type, size_t tsize, int *age)
{
    char v[256], bered[8];
    xmlNodePtr id_pnr, id_dob;
    int protected_id;

    *age = -1;
    if (!text(c, c->mr,
              "f:extension[@url='" EXT "klas-licence-type']/f:valueCode", type,
              tsize) ||
        (strcmp(type, "EH") != 0 && strcmp(type, "GH") != 0)) {
        ERR(c, "klas-licence-type", c->mr, "extension",
            "Licenstyp (enskild eller generell) saknas",
            "The licence type (EH or GH) is missing");
        type[0] = '\0';
        return;
    }
    text(c, c->mr, "f:extension[@url='" EXT "klas-beredskap']/f:valueBoolean",
         bered, sizeof(bered));
    if (strcmp(bered, "true") == 0 && strcmp(type, "GH") != 0)
        BAD(c, "klas-beredskap-generell", c->mr, "extension",
            "Beredskapslicens kan endast vara generell",
            "A beredskap licence is always a general licence");
    if (strcmp(type, "GH") == 0) {
        c->group = resolve(c, c->mr, "f:subject/f:reference");
        if (!is(c->group, "Group"))
            ERR(c, "klas-general-subject", c->mr, "subject",
                "En generell licens avser vårdenheter (Group), inte en "
                "patient",
                "A general licence is for care units (a Group), not a "
                "patient");
        else
            rule_general_care_unit(c);
        return;
    }
    c->patient = must_ref(c, c->mr, &refs[PATIENT]);
    if (c->patient == NULL)
        return;
    protected_id = count(c, c->patient,
                         "f:meta/f:security[f:code/@value='R' or "
                         "f:code/@value='V']") > 0;
    if (!protected_id) {
        rule_name(
            c, c->patient, "klas-patient-name", "Patientens efternamn saknas",
            "The patient's last name is missing", "Patientens förnamn saknas",
            "The patient's first name is missing");
    }
    id_pnr = first(c, c->patient,
                   "f:identifier[f:system/@value='" SYS_PNR "' or "
                   "f:system/@value='" SYS_SAMORDNING "']");
    id_dob = first(c, c->patient,
                   "f:identifier[f:system/@value='" SYS_DOB "']");
    if (id_pnr == NULL && id_dob == NULL) {
        ERR(c, "klas-patient-id", c->patient, "identifier",
            "Personnummer eller födelsedatum saknas",
            "The personnummer (or date of birth) is missing");
        return;
    }
    /* The pharmacy must be able to check a protected person by number:
     * the name is replaced, so a date of birth alone identifies no one. */
    if (id_pnr == NULL && protected_id)
        BAD(c, "klas-protected-full-number", id_dob, NULL,
            "För en patient med skyddad identitet krävs fullständigt "
            "personnummer (12 siffror), inte födelsedatum",
            "A patient with protected identity needs the full personnummer "
            "(12 digits), not a date of birth");
    if (id_pnr != NULL && id_dob != NULL)
        BAD(c, "klas-pnr-full-number", id_dob, NULL,
            "Fullständigt personnummer ska anges när det finns",
            "A full personnummer must be used when one exists");
    {
        xmlNodePtr id = id_pnr ? id_pnr : id_dob;
        unsigned allow = id_pnr ? (GW_PNR_ALLOW(GW_PNR_PERSONNUMMER) |
                                   GW_PNR_ALLOW(GW_PNR_SAMORDNINGSNUMMER))
                                : GW_PNR_ALLOW(GW_PNR_BIRTHDATE_ONLY);
        struct gw_pnr p;
        struct gw_err err;
        int ty, tm, td;
        gw_err_clear(&err);
        text(c, id, "f:value", v, sizeof(v));
        if (gw_pnr_parse(v, allow, &p, &err) != GW_OK) {
            bad_pnr(c, id, "value", &err);
        } else if (sscanf(c->today, "%d-%d-%d", &ty, &tm, &td) == 3) {
            *age = gw_pnr_age_on(&p, ty, tm, td);
        }
    }
}

static void
rule_product(struct ctx *c, int age, int attachments)
{
    char kind[16], v[256];
    int substances;

    c->med = must_ref(c, c->mr, &refs[PRODUCT]);
    if (c->med == NULL)
        return;
    if (!text(c, c->med,
              "f:extension[@url='" EXT "klas-product-kind']/f:valueCode", kind,
              sizeof(kind)) ||
        (strcmp(kind, "searched") && strcmp(kind, "manual") &&
         strcmp(kind, "food"))) {
        ERR(c, "klas-product-kind", c->med, "extension",
            "Ange om produkten är sökt, manuellt inmatad eller livsmedel",
            "State whether the product is searched, manual or food");
        return;
    }
    if (!text(c, c->med, "f:code/f:text", v, sizeof(v)))
        ERR(c, "klas-product-name", c->med, "code.text",
            "Produktnamn saknas", "The product name is missing");
    if (strcmp(kind, "searched") == 0) {
        rule_ident(c, c->med, &idents[SEARCHED_NPLID]);
    } else if (count(c, c->med, "f:code/f:coding[f:system/@value='" SYS_NPL
                                "']") > 0 &&
               strcmp(kind, "food") == 0) {
        BAD(c, "klas-food-manual", c->med, "code.coding",
            "Livsmedel anges manuellt, utan NPL-id",
            "Food is entered by hand, without an NPL id");
    }
    if (text(c, c->med, "f:code/f:coding[f:system/@value='" SYS_ATC
                        "']/f:code", v, sizeof(v)) &&
        gw_atc_check(v, NULL, NULL) != GW_OK)
        BAD(c, "klas-atc", c->med, "code.coding",
            "ATC-koden är felaktig: den ska ha formen A01AB01 (bokstav, två "
            "siffror, två bokstäver, två siffror) eller en högre nivå av "
            "den (A, A01, A01A, A01AB)",
            "The ATC code is not valid: it must look like A01AB01 (letter, "
            "two digits, two letters, two digits) or a higher level of it "
            "(A, A01, A01A, A01AB)");
    substances = count(c, c->med,
                       "f:ingredient/f:itemCodeableConcept/f:text/@value");
    if (substances == 0)
        ERR(c, "klas-substance", c->med, "ingredient",
            "Minst en aktiv substans ska anges",
            "At least one active substance must be given");
    if (strcmp(kind, "food") == 0) {
        if (substances != 1 ||
            !text(c, c->med, "f:ingredient[1]/f:itemCodeableConcept/f:text", v,
                  sizeof(v)) ||
            strcmp(v, "livsmedel") != 0)
            BAD(c, "klas-food-substance", c->med, "ingredient",
                "För livsmedel ska substansen vara \"livsmedel\"",
                "For food the substance must be \"livsmedel\"");
        if (age >= 16)
            WARN(c, "klas-food-age", c->patient, "identifier",
                 "Livsmedel beviljas endast barn under 16 år",
                 "Food is only granted to children under 16");
    }
    if (strcmp(kind, "searched") != 0 &&
        !text(c, c->med, "f:form/f:text", v, sizeof(v)))
        ERR(c, "klas-form", c->med, "form",
            "Läkemedelsform saknas", "The pharmaceutical form is missing");
    if (count(c, c->med, "f:extension[@url='" EXT "klas-approval']") > 0 &&
        count(c, c->med, "f:extension[@url='" EXT "klas-not-approved']") > 0)
        BAD(c, "klas-approval-exclusive", c->med, "extension",
            "Ange antingen godkännandeland eller kommentar om att produkten "
            "inte är godkänd, inte båda",
            "Give either the approval country or the not-approved comment, "
            "not both");
    if (strcmp(kind, "manual") == 0 && attachments == 0)
        WARN(c, "klas-manual-attachment", c->med, NULL,
             "Bifoga produktinformation för manuellt inmatad produkt",
             "Attach product information for a manually entered product");
}

/* What the prescription must give besides the motivation. */
static const struct required dosage_needs[] = {
    {"klas-dosage", "f:dosageInstruction[1]/f:text", "dosageInstruction",
     "Dosering saknas", "The dosage is missing"},
    {"klas-total-amount", "f:dispenseRequest/f:quantity/f:value",
     "dispenseRequest.quantity", "Totalmängd saknas",
     "The total amount is missing"},
};

static void
rule_motivation(struct ctx *c)
{
#define REASON(code)                                                           \
    "f:extension[@url='reason']/f:valueCoding[f:code/@value='" code "']"
    /* Literals, not one path written per code into a buffer: compiled()
     * knows a literal by its address (a buffer's text changes). */
    static const char *const reasons_of[] = {
        REASON("godkanda-lakemedel-saknas"), REASON("otillracklig-effekt"),
        REASON("oacceptabla-biverkningar"), REASON("annat")};
#undef REASON
    xmlNodePtr mot = first(c, c->mr,
                           "f:extension[@url='" EXT "klas-motivation']");
    char v[256], *text_value = NULL;
    int reasons = 0, annat = 0;
    xmlNodePtr t;

    for (int i = 0; i < 4; i++) {
        if (count(c, mot, reasons_of[i]) > 0) {
            reasons++;
            annat |= i == 3;
        }
    }
    if (reasons == 0)
        ERR(c, "klas-reasons", c->mr, "extension",
            "Minst en av 'Godkända läkemedel saknas', 'Otillräcklig effekt av "
            "godkända läkemedel', 'Oacceptabla biverkningar av godkända "
            "läkemedel', 'Annat' ska vara ifyllt",
            "At least one of 'no approved drug', 'insufficient effect', "
            "'unacceptable side effects', 'other' must be given");
    if (!text(c, c->mr, "f:reasonCode[1]/f:text", v, sizeof(v)))
        ERR(c, "klas-indication", c->mr, "reasonCode",
            "Motiveringen måste innehålla en behandlingsindikation",
            "The motivation must state a treatment indication");
    t = first(c, mot, "f:extension[@url='text']/f:valueString/@value");
    if (t != NULL)
        text_value = (char *)xmlNodeGetContent(t);
    if (text_value == NULL || text_value[0] == '\0') {
        if (annat)
            ERR(c, "klas-annat-text", c->mr, "extension",
                "När 'Annat' är valt ska skälet anges i motiveringstexten",
                "When 'other' is chosen the reason must be given in the "
                "motivation text");
        else
            ERR(c, "klas-motivation-text", c->mr, "extension",
                "Motiveringen måste innehålla en motiveringstext",
                "The motivation must contain a motivation text");
    } else if (gw_pnr_find(text_value, NULL, 0) > 0) {
        WARN(c, "klas-text-personal-data", c->mr, "extension",
             "Motiveringstexten ser ut att innehålla ett personnummer; "
             "personuppgifter ska inte skrivas där",
             "The motivation text seems to hold a personnummer; personal "
             "data should not be written there");
    }
    xmlFree(text_value);
    rule_required(c, c->mr, dosage_needs,
                  sizeof(dosage_needs) / sizeof(dosage_needs[0]));
}

/*
 * The number of bytes base64 text decodes to, or -1 when it is not base64
 * (RFC 4648 alphabet, whitespace between groups allowed as FHIR's
 * base64Binary does, '=' padding only at the end, whole 4-character
 * groups). Counted, not decoded: the limit is on the file's real size, and
 * a file of exactly 5 MiB is allowed.
 */
static long
base64_bytes(const char *s)
{
    long chars = 0, pad = 0;

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        if (ch == '=') {
            pad++;
            chars++;
            continue;
        }
        if (pad > 0)
            return -1; /* data after the padding */
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
            return -1;
        chars++;
    }
    if (chars % 4 != 0 || pad > 2)
        return -1;
    return chars / 4 * 3 - pad;
}

static int
rule_attachments(struct ctx *c)
{
    xmlNodePtr keep[NODES_KEPT], *docs;
    xmlXPathObjectPtr r;
    int n = nodes(c, c->bundle, "f:entry/f:resource/f:DocumentReference",
                  keep, &docs, &r);

    if (n > MAX_ATTACHMENTS)
        BAD(c, "klas-attachments-max", docs[MAX_ATTACHMENTS], NULL,
            "Högst fem bilagor får bifogas",
            "At most five attachments may be added");
    for (int i = 0; i < n; i++) {
        xmlNodePtr d = docs[i];
        xmlNodePtr data = first(c, d, "f:content[1]/f:attachment/f:data/@value");
        char size[32];
        long bytes = -1;
        if (text(c, d, "f:content[1]/f:attachment/f:size", size, sizeof(size)))
            bytes = atol(size);
        if (data != NULL) {
            xmlChar *b64 = xmlNodeGetContent(data);
            long decoded = b64 ? base64_bytes((const char *)b64) : 0;
            xmlFree(b64);
            if (decoded < 0) {
                BAD(c, "klas-attachment-base64", d,
                    "content[0].attachment.data",
                    "Bilagans innehåll är inte giltig base64",
                    "The attachment's data is not valid base64");
                continue;
            }
            if (decoded > bytes)
                bytes = decoded;
        }
        if (bytes > MAX_ATTACHMENT_BYTES)
            BAD(c, "klas-attachment-size", d, "content[0].attachment",
                "En bilaga får vara högst 5 MB (5 242 880 byte)",
                "An attachment may be at most 5 MB (5,242,880 bytes)");
    }
    xmlXPathFreeObject(r);
    return n;
}

/* The GLN of the pharmacy org: present and valid. */
static void
rule_gln(struct ctx *c, xmlNodePtr org)
{
    rule_ident(c, org, &idents[PHARMACY_GLN]);
}

static void
rule_pharmacy(struct ctx *c)
{
    c->pharmacy = resolve(c, c->task, "f:owner/f:reference");
    if (c->pharmacy == NULL)
        return; /* the pharmacy is optional */
    rule_gln(c, c->pharmacy);
}

/* The case a follow-up event is about: Task.identifier referensnummer. */
static void
rule_refnr(struct ctx *c)
{
    rule_ident(c, c->task, &idents[TASK_REFNR]);
}

/* A patient named in a follow-up (to find an enskild case) must carry a
 * valid number; for a general licence the referensnummer alone is used. */
static void
rule_followup_patient(struct ctx *c)
{
    char v[32];
    struct gw_err err;
    xmlNodePtr pat = resolve(c, c->task, "f:for/f:reference");

    if (pat == NULL)
        return;
    if (!text(c, pat,
              "f:identifier[f:system/@value='" SYS_PNR "' or f:system/@value='"
              SYS_SAMORDNING "' or f:system/@value='" SYS_DOB "']/f:value",
              v, sizeof(v))) {
        ERR(c, "klas-patient-id", pat, "identifier",
            "Personnummer eller födelsedatum saknas",
            "The personnummer (or date of birth) is missing");
        return;
    }
    gw_err_clear(&err);
    if (gw_pnr_parse(v, GW_PNR_ALLOW_ALL, NULL, &err) != GW_OK)
        bad_pnr(c, pat, "identifier[0].value", &err);
}

/* The status the message names is one its event's rows set (event.c). */
static void
rule_status(struct ctx *c)
{
    char v[16];

    if (!text(c, c->task,
              "f:businessStatus/f:coding[f:system/@value='" BASE
              "/CodeSystem/klas-case-status']/f:code",
              v, sizeof(v)) ||
        !gw_klas_event_sets(c->event, v, 0))
        BAD(c, "klas-status-code", c->task, "businessStatus",
            "Status passar inte händelsen",
            "The case status does not fit the event");
}

/* The Bundle's first resource at path (the content of a supplement or of
 * its request), which must have a payload: rule on either fault, the
 * texts of a missing resource (sv, en) and of one without payload
 * (empty_sv, empty_en). NULL when it is missing. */
static xmlNodePtr
content(struct ctx *c, const char *path, const char *rule, const char *sv,
        const char *en, const char *empty_sv, const char *empty_en)
{
    xmlNodePtr r = first(c, c->bundle, path);

    if (r == NULL)
        ERR(c, rule, c->bundle, "entry", sv, en);
    else if (count(c, r, "f:payload") == 0)
        ERR(c, rule, r, "payload", empty_sv, empty_en);
    return r;
}

static void
rules_supplement(struct ctx *c)
{
    xmlNodePtr com, sender;

    rule_refnr(c);
    rule_followup_patient(c);
    com = content(
        c, "f:entry/f:resource/f:Communication", "klas-supplement-content",
        "Kompletteringen saknas (Communication)",
        "The supplement (Communication) is missing",
        "Kompletteringen har inget innehåll", "The supplement has no content");
    if (com == NULL)
        return;
    sender = resolve(c, com, "f:sender/f:reference");
    if (is(sender, "PractitionerRole")) {
        rule_prescriber_phone(c, sender);
        if (resolve(c, sender, "f:practitioner/f:reference") == NULL)
            ERR(c, "klas-prescriber", sender, "practitioner",
                "Förskrivarinformation saknas",
                "The prescriber (Practitioner) is missing");
    } else if (is(sender, "Organization")) {
        rule_gln(c, sender);
    } else {
        ERR(c, "klas-supplement-sender", com, "sender",
            "Avsändare (förskrivare eller apotek) saknas",
            "The sender (prescriber or pharmacy) is missing");
    }
}

static void
rules_application(struct ctx *c, int reapply)
{
    char v[32];

    if (reapply) {
        if (!text(c, c->task, "f:basedOn/f:identifier[f:system/@value='" BASE
                              "/NamingSystem/referensnummer']/f:value",
                  v, sizeof(v)) ||
            gw_refnr_check(v, NULL) != GW_OK)
            ERR(c, "klas-reapply-basis", c->task, "basedOn",
                "Ange referensnumret för den beviljade licensen",
                "Give the referensnummer of the granted licence");
    } else {
        rule_refnr(c);
    }
    rule_followup_patient(c);
    c->pharmacy = resolve(c, c->task, "f:owner/f:reference");
    if (!is(c->pharmacy, "Organization")) {
        ERR(c, "klas-pharmacy-gln", c->task, "owner",
            "Ansökande apotek saknas", "The applying pharmacy is missing");
        return;
    }
    rule_pharmacy(c);
}

static void
rules_supplement_request(struct ctx *c)
{
    xmlNodePtr req, to;

    rule_refnr(c);
    req = content(c, "f:entry/f:resource/f:CommunicationRequest",
                  "klas-request-content",
                  "Begäran om komplettering saknas (CommunicationRequest)",
                  "The supplement request (CommunicationRequest) is missing",
                  "Begäran saknar innehåll: vad ska kompletteras?",
                  "The request says nothing about what to supplement");
    if (req == NULL)
        return;
    to = resolve(c, req, "f:recipient[1]/f:reference");
    if (!is(to, "PractitionerRole") && !is(to, "Practitioner") &&
        !is(to, "Organization"))
        ERR(c, "klas-request-recipient", req, "recipient",
            "Mottagare (förskrivare eller apotek) saknas",
            "The recipient (prescriber or pharmacy) is missing");
}

static void
rules_decision(struct ctx *c)
{
    char v[8], start[40], end[40];
    int y1, m1, d1, y2, m2, d2;
    xmlNodePtr mr;

    rule_refnr(c);
    rule_status(c);
    /* A decision whose row takes the validity (a grant) must carry it. */
    if (!text(c, c->task, "f:businessStatus/f:coding/f:code", v, sizeof(v)) ||
        !gw_klas_event_sets(c->event, v, GW_FX_VALIDITY))
        return;
    mr = resolve(c, c->task, "f:focus/f:reference");
    if (!text(c, mr, "f:dispenseRequest/f:validityPeriod/f:start", start,
              sizeof(start)) ||
        !text(c, mr, "f:dispenseRequest/f:validityPeriod/f:end", end,
              sizeof(end))) {
        ERR(c, "klas-validity", mr ? mr : c->task,
            mr ? "dispenseRequest.validityPeriod" : "focus",
            "En beviljad licens ska ha en giltighetstid",
            "A granted licence needs its validity period");
        return;
    }
    if (sscanf(start, "%d-%d-%d", &y1, &m1, &d1) != 3 ||
        sscanf(end, "%d-%d-%d", &y2, &m2, &d2) != 3 ||
        gw_days_from_civil(y2, m2, d2) < gw_days_from_civil(y1, m1, d1) ||
        /* At most 12 months: the end no later than the same day a year on. */
        gw_days_from_civil(y2, m2, d2) >
            gw_days_from_civil(y1 + 1, m1, m1 == 2 && d1 == 29 ? 28 : d1))
        BAD(c, "klas-validity", mr, "dispenseRequest.validityPeriod",
            "Giltighetstiden får vara högst 12 månader",
            "The validity period may be at most 12 months");
}

static void
rules_motivation_submit(struct ctx *c)
{
    char type[8];
    int age, attachments;

    c->mr = resolve(c, c->task, "f:focus/f:reference");
    if (!is(c->mr, "MedicationRequest")) {
        ERR(c, "klas-motivation", c->task, "focus",
            "Licensmotiveringen (MedicationRequest) saknas",
            "The motivation (MedicationRequest) is missing");
        return;
    }
    rule_prescriber(c);
    rule_licence_and_patient(c, type, sizeof(type), &age);
    attachments = rule_attachments(c);
    rule_product(c, age, attachments);
    rule_motivation(c);
    rule_pharmacy(c);
}

/* --- facts for the pipeline ------------------------------------------ */

/* A fact is kept whole or refused: a value longer than its cap (size - 1
 * bytes) is an error naming the element and the cap, and the fact stays
 * "". Returns 1 if the fact is non-empty. */
static int
fact(struct ctx *c, xmlNodePtr at, const char *expr, char *buf, size_t size)
{
    xmlNodePtr n = first(c, at, expr);
    xmlChar *copy;
    const char *v;
    char sv[120], en[120];
    size_t len;

    buf[0] = '\0';
    if (n == NULL)
        return 0;
    v = value_of(n, &copy);
    if (v == NULL)
        return 0;
    len = strlen(v);
    if (len < size) {
        memcpy(buf, v, len + 1);
    } else {
        snprintf(sv, sizeof(sv), "Värdet är %zu byte, gränsen är %zu byte",
                 len, size - 1);
        snprintf(en, sizeof(en), "The value is %zu bytes, the limit is %zu "
                 "bytes", len, size - 1);
        issue(c, GW_SEV_ERROR, "too-long", "klas-field-limit", n, NULL, sv,
              en);
    }
    xmlFree(copy);
    return buf[0] != '\0';
}

static void
patient_id(struct ctx *c, xmlNodePtr pat, char *buf, size_t size)
{
    fact(c, pat,
         "f:identifier[f:system/@value='" SYS_PNR "' or f:system/@value='"
         SYS_SAMORDNING "' or f:system/@value='" SYS_DOB "']/f:value",
         buf, size);
}

/* The rule set of a klas-event code: a column of its row (klas/event.c);
 * this file names no event. */
static enum gw_event_rules
rules_of(const char *code)
{
    const struct gw_event_def *d = gw_klas_event_by_code(code);

    return d != NULL ? d->rules : GW_RULES_NONE;
}

static void
collect_facts(struct ctx *c, struct gw_msg_facts *f)
{
    const char *refsys = "f:identifier[f:system/@value='" BASE
                         "/NamingSystem/referensnummer']/f:value";
    enum gw_event_rules rules = rules_of(c->event);
    xmlNodePtr n, pat;
    char v[16];

    memset(f, 0, sizeof(*f));
    /* Only known event codes are kept in c->event, all shorter than this. */
    if (strlen(c->event) < sizeof(f->event))
        memcpy(f->event, c->event, strlen(c->event) + 1);
    fact(c, c->bundle, "f:identifier/f:value", f->message_id,
         sizeof(f->message_id));
    fact(c, c->header, "f:id", f->header_id, sizeof(f->header_id));
    if (f->header_id[0] == '\0' && count(c, c->header, "f:id") == 0) {
        /* Without MessageHeader.id, the uuid of its entry's fullUrl
         * names the message a response answers. */
        char url[sizeof(f->header_id) + 10];
        if (text(c, c->header, "../../f:fullUrl", url, sizeof(url)) &&
            strncmp(url, "urn:uuid:", 9) == 0) {
            /* One byte more than fits: a cut value is too long. */
            if (strlen(url + 9) < sizeof(f->header_id))
                memcpy(f->header_id, url + 9, strlen(url + 9) + 1);
            else
                issue(c, GW_SEV_ERROR, "too-long", "klas-field-limit",
                      first(c, c->header, "../../f:fullUrl"), NULL,
                      "MessageHeader-uuid längre än gränsen 71 byte",
                      "MessageHeader uuid longer than its limit of 71 "
                      "bytes");
        }
    }
    if (c->task == NULL)
        return;
    fact(c, c->task, refsys, f->refnr, sizeof(f->refnr));
    fact(c, c->task,
         "f:basedOn/f:identifier[f:system/@value='" BASE
         "/NamingSystem/referensnummer']/f:value",
         f->basis_refnr, sizeof(f->basis_refnr));
    fact(c, c->task, "f:businessStatus/f:coding/f:code", f->status,
         sizeof(f->status));
    if (c->pharmacy == NULL)
        c->pharmacy = resolve(c, c->task, "f:owner/f:reference");
    fact(c, c->pharmacy, "f:identifier[f:system/@value='" SYS_GLN "']/f:value",
         f->pharmacy_gln, sizeof(f->pharmacy_gln));
    fact(c, c->pharmacy, "f:name", f->pharmacy_name, sizeof(f->pharmacy_name));
    fact(c, c->pharmacy, "f:address[1]/f:line[1]", f->pharmacy_address,
         sizeof(f->pharmacy_address));
    fact(c, c->pharmacy, "f:address[1]/f:city", f->pharmacy_city,
         sizeof(f->pharmacy_city));
    pat = c->patient ? c->patient : resolve(c, c->task, "f:for/f:reference");
    if (is(pat, "Patient"))
        patient_id(c, pat, f->patient_id, sizeof(f->patient_id));
    if (c->mr != NULL) {
        fact(c, c->mr, "f:extension[@url='" EXT "klas-licence-type']/f:valueCode",
             f->licence_type, sizeof(f->licence_type));
        fact(c, c->mr,
             "f:extension[@url='" EXT "klas-beredskap']/f:valueBoolean", v,
             sizeof(v));
        f->beredskap = strcmp(v, "true") == 0;
        if (!fact(c, c->med, "f:code/f:text", f->drug_name,
                  sizeof(f->drug_name)))
            fact(c, c->mr, "f:medicationCodeableConcept/f:text", f->drug_name,
                 sizeof(f->drug_name));
        fact(c, c->mr,
             "f:extension[@url='" EXT "klas-general-level']/f:valueCode",
             f->general_level, sizeof(f->general_level));
        fact(c, c->mr, "f:dispenseRequest/f:quantity/f:value",
             f->total_amount, sizeof(f->total_amount));
        if (!fact(c, c->mr, "f:dispenseRequest/f:quantity/f:unit",
                  f->amount_unit, sizeof(f->amount_unit)))
            fact(c, c->mr, "f:dispenseRequest/f:quantity/f:code",
                 f->amount_unit, sizeof(f->amount_unit));
        fact(c, c->med,
             "f:code/f:coding[f:system/@value='" SYS_NPL "']/f:code",
             f->nplid, sizeof(f->nplid));
        fact(c, c->med,
             "f:code/f:coding[f:system/@value='" SYS_ATC "']/f:code", f->atc,
             sizeof(f->atc));
        fact(c, c->med, "f:form/f:text", f->form, sizeof(f->form));
        if (!fact(c, c->med,
                  "f:extension[@url='" EXT "klas-strength']/f:valueString",
                  f->strength, sizeof(f->strength)))
            fact(c, c->med,
                 "f:ingredient[1]/f:strength/f:numerator/f:value",
                 f->strength, sizeof(f->strength));
        fact(c, c->med, "f:manufacturer/f:display", f->holder,
             sizeof(f->holder));
        fact(c, c->med,
             "f:extension[@url='" EXT "klas-approval']/f:extension[@url="
             "'country']/f:valueString",
             f->country, sizeof(f->country));
        if (c->med != NULL) {
            xmlNodePtr keep[NODES_KEPT], *names;
            xmlXPathObjectPtr r;
            int nn = nodes(c, c->med,
                           "f:ingredient/f:itemCodeableConcept/f:text/@value",
                           keep, &names, &r);
            size_t o = 0, cap = sizeof(f->substances) - 1;
            for (int i = 0; i < nn; i++) {
                xmlChar *t = xmlNodeGetContent(names[i]);
                size_t tl = t ? strlen((const char *)t) : 0, sep = o ? 2 : 0;
                if (t != NULL && o + sep + tl > cap) {
                    /* Kept whole or refused: the joined names too. */
                    char sv[120], en[120];
                    snprintf(sv, sizeof(sv), "Substansnamnen är tillsammans "
                             "längre än gränsen %zu byte", cap);
                    snprintf(en, sizeof(en), "The substance names together "
                             "are longer than their limit of %zu bytes", cap);
                    issue(c, GW_SEV_ERROR, "too-long", "klas-field-limit",
                          names[i]->parent, NULL, sv, en);
                    f->substances[0] = '\0';
                    xmlFree(t);
                    break;
                }
                if (t != NULL) {
                    memcpy(f->substances + o, ", ", sep);
                    memcpy(f->substances + o + sep, t, tl + 1);
                    o += sep + tl;
                }
                xmlFree(t);
            }
            xmlXPathFreeObject(r);
        }
    }
    fact(c, c->pract, "f:identifier[f:system/@value='" SYS_HSA "']/f:value",
         f->prescriber_hsa, sizeof(f->prescriber_hsa));
    fact(c, c->clinic, "f:identifier[f:system/@value='" SYS_HSA "']/f:value",
         f->clinic_hsa, sizeof(f->clinic_hsa));
    fact(c, c->clinic, "f:name", f->clinic_name, sizeof(f->clinic_name));
    fact(c, c->hospital, "f:identifier[f:system/@value='" SYS_HSA "']/f:value",
         f->hospital_hsa, sizeof(f->hospital_hsa));
    fact(c, c->hospital, "f:name", f->hospital_name, sizeof(f->hospital_name));
    if (rules == GW_RULES_SUPPLEMENT) {
        n = first(c, c->bundle, "f:entry/f:resource/f:Communication");
        n = n ? resolve(c, n, "f:sender/f:reference") : NULL;
        if (is(n, "PractitionerRole")) {
            xmlNodePtr pr = resolve(c, n, "f:practitioner/f:reference");
            xmlNodePtr org = resolve(c, n, "f:organization/f:reference");
            f->sender_kind = 'P';
            fact(c, pr, "f:identifier[f:system/@value='" SYS_HSA "']/f:value",
                 f->sender_hsa, sizeof(f->sender_hsa));
            fact(c, org, "f:identifier[f:system/@value='" SYS_HSA "']/f:value",
                 f->sender_clinic_hsa, sizeof(f->sender_clinic_hsa));
        } else if (is(n, "Organization")) {
            f->sender_kind = 'O';
            fact(c, n, "f:identifier[f:system/@value='" SYS_GLN "']/f:value",
                 f->sender_gln, sizeof(f->sender_gln));
        }
    } else if (rules == GW_RULES_SUPPLEMENT_REQUEST) {
        n = first(c, c->bundle, "f:entry/f:resource/f:CommunicationRequest");
        n = n ? resolve(c, n, "f:recipient[1]/f:reference") : NULL;
        if (is(n, "Organization")) {
            f->recipient_kind = 'O';
            fact(c, n, "f:identifier[f:system/@value='" SYS_GLN "']/f:value",
                 f->recipient_gln, sizeof(f->recipient_gln));
        } else if (n != NULL) {
            f->recipient_kind = 'P';
        }
    } else if (rules == GW_RULES_DECISION) {
        n = resolve(c, c->task, "f:focus/f:reference");
        fact(c, n, "f:dispenseRequest/f:validityPeriod/f:start",
             f->validity_start, sizeof(f->validity_start));
        fact(c, n, "f:dispenseRequest/f:validityPeriod/f:end",
             f->validity_end, sizeof(f->validity_end));
    }
}

gw_rc
gw_rules_run(xmlDocPtr doc, const char *today, struct gw_outcome *out,
             struct gw_msg_facts *facts)
{
    struct gw_msg_facts scratch;
    struct ctx c;

    memset(&c, 0, sizeof(c));
    c.doc = doc;
    c.out = out;
    c.today = today;
    c.bundle = xmlDocGetRootElement(doc);
    if (c.bundle != NULL && c.bundle->ns != NULL &&
        c.bundle->ns->href != NULL &&
        strcmp((const char *)c.bundle->ns->href, GW_FHIR_NS) == 0)
        c.fhir = c.bundle->ns;
    rule_message(&c);
    if (c.event[0] != '\0')
        rule_shape(&c);
    if (c.task != NULL) {
        switch (rules_of(c.event)) {
        case GW_RULES_SUBMIT:
            rules_motivation_submit(&c);
            break;
        case GW_RULES_SUPPLEMENT:
            rules_supplement(&c);
            break;
        case GW_RULES_APPLY:
            rules_application(&c, 0);
            break;
        case GW_RULES_REAPPLY:
            rules_application(&c, 1);
            break;
        case GW_RULES_REGISTERED:
            rule_refnr(&c);
            rule_status(&c);
            break;
        case GW_RULES_SUPPLEMENT_REQUEST:
            rules_supplement_request(&c);
            break;
        case GW_RULES_DECISION:
            rules_decision(&c);
            break;
        case GW_RULES_NONE:
            break;
        }
    }
    if (c.field_errors > 0 && c.rc == GW_OK)
        c.rc = gw_outcome_add(out, GW_SEV_ERROR, "invariant", "klas-summary",
                              NULL,
                              "Ett eller flera obligatoriska fält saknas "
                              "eller är felaktigt ifyllda",
                              "One or more required fields are missing or "
                              "incorrectly filled in");
    /* Always: a value too long to keep is an error also for $validate. */
    collect_facts(&c, facts != NULL ? facts : &scratch);
    xmlXPathFreeContext(c.xp); /* NULL when no rule needed it */
    return c.rc;
}
