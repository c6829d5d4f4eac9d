/*
 * xsd.c - compiling XML schemas and collecting what they find (see
 * xsd.h). Compiler messages are dropped: a schema that does not compile
 * is a configuration error named by its file. Validation errors are kept
 * as libxml2 words them, first line only, with the node's path; how they
 * are shown (an OperationOutcome, a SOAP resultText, a dead letter's
 * reason) is the caller's business.
 */
#include "validate/xsd.h"

#include <libxml/xmlschemas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir_xml.h"
#include "validate/rules.h"

/* A struct gw_xsd is libxml2's compiled schema: the type never leaves
 * this file. */
static xmlSchemaPtr
schema_of(const struct gw_xsd *x)
{
    return (xmlSchemaPtr)(void *)x;
}

/* Schemas compiled so far: a validation context kept for a schema at some
 * address (checker_get) is not one for a later schema at that address. */
static unsigned long loads;

struct gw_xsd *
gw_xsd_load(const char *path, struct gw_err *err)
{
    xmlSchemaParserCtxtPtr pc;
    xmlSchemaPtr s = NULL;

    pc = xmlSchemaNewParserCtxt(path);
    if (pc != NULL) {
        xmlSchemaSetParserErrors(pc, gw_xml_quiet, gw_xml_quiet, NULL);
        s = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
    }
    if (s == NULL)
        gw_err_set(err, GW_ECONFIG, NULL, "cannot compile schema %s", path);
    else
        __atomic_add_fetch(&loads, 1, __ATOMIC_SEQ_CST);
    return (struct gw_xsd *)(void *)s;
}

struct gw_xsd *
gw_xsd_responder(const char *dir, const char *name, struct gw_err *err)
{
    char path[1024];

    snprintf(path, sizeof(path),
             "%s/schemas/interactions/%sInteraction/%sResponder_1.0.xsd", dir,
             name, name);
    return gw_xsd_load(path, err);
}

void
gw_xsd_free(struct gw_xsd *x)
{
    xmlSchemaFree(schema_of(x));
}

/* The first line of src into dst[size], cut before a UTF-8 sequence that
 * would not fit whole. */
static void
first_line(char *dst, size_t size, const char *src)
{
    size_t n = strcspn(src, "\n");

    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

struct collect {
    struct gw_xsd_errors *out;
    int nomem;
};

static void
on_error(void *ctx, xmlErrorPtr e)
{
    struct collect *c = ctx;
    struct gw_xsd_errors *o = c->out;
    struct gw_xsd_error *it;

    if (e == NULL || c->nomem || o->n >= GW_XSD_MAX_ERRORS)
        return;
    if (o->e == NULL) {
        o->e = calloc(GW_XSD_MAX_ERRORS, sizeof(*o->e));
        if (o->e == NULL) {
            c->nomem = 1;
            return;
        }
    }
    it = &o->e[o->n++];
    first_line(it->message, sizeof(it->message), e->message ? e->message : "");
    it->path[0] = '\0';
    if (e->node != NULL)
        gw_rules_node_path((xmlNodePtr)e->node, it->path, sizeof(it->path));
}

/*
 * Each thread validates with the context it kept from its last document
 * when that was of the same schema (gw_xml_keep): libxml2 clears a
 * context after each document, keeping only what it allocated for the
 * elements' depth, and the context holds no more of its schema than the
 * pointer. A thread that alternates between schemas makes one for each
 * document, as before.
 */
struct checker {
    const struct gw_xsd *x;
    unsigned long loads; /* when it was made: x may be freed and its
                          * address given to a schema loaded since */
    xmlSchemaValidCtxtPtr vc;
};

static void
checker_free(void *ctx)
{
    struct checker *k = ctx;

    xmlSchemaFreeValidCtxt(k->vc);
    free(k);
}

static struct gw_xml_keep checkers = GW_XML_KEEP(checker_free);

/* A context for x: the thread's when it is x's; NULL: out of memory. */
static struct checker *
checker_get(const struct gw_xsd *x)
{
    struct checker *k = gw_xml_kept(&checkers);
    unsigned long now = __atomic_load_n(&loads, __ATOMIC_SEQ_CST);

    if (k != NULL && k->x == x && k->loads == now)
        return k;
    k = malloc(sizeof(*k));
    if (k == NULL)
        return NULL;
    k->x = x;
    k->loads = now;
    k->vc = xmlSchemaNewValidCtxt(schema_of(x));
    if (k->vc == NULL) {
        free(k);
        return NULL;
    }
    return k;
}

gw_rc
gw_xsd_validate(const struct gw_xsd *x, xmlDocPtr doc,
                struct gw_xsd_errors *out)
{
    struct collect c = {out, 0};
    struct checker *k;

    memset(out, 0, sizeof(*out));
    k = x != NULL ? checker_get(x) : NULL;
    if (k == NULL)
        return GW_ENOMEM;
    xmlSchemaSetValidStructuredErrors(k->vc, on_error, &c);
    out->valid = xmlSchemaValidateDoc(k->vc, doc) == 0;
    gw_xml_keep(&checkers, k);
    return c.nomem ? GW_ENOMEM : GW_OK;
}

gw_rc
gw_xsd_check(const struct gw_xsd *x, const struct gw_xml *doc,
             struct gw_xsd_errors *out)
{
    return gw_xsd_validate(x, gw_xml_tree(doc), out);
}

void
gw_xsd_errors_release(struct gw_xsd_errors *e)
{
    free(e->e);
    e->e = NULL;
    e->n = 0;
}
