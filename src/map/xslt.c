/*
 * xslt.c - loading and applying stylesheets (see xslt.h). The security
 * preferences are made once for the process and never change, so every
 * transform shares them without locking.
 */
#include "map/xslt.h"

#include <libxml/parser.h>
#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/xsltutils.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir_xml.h"

static xsltSecurityPrefsPtr prefs;
static pthread_once_t prefs_once = PTHREAD_ONCE_INIT;

static void
make_prefs(void)
{
    prefs = xsltNewSecurityPrefs();
    if (prefs == NULL)
        return;
    xsltSetSecurityPrefs(prefs, XSLT_SECPREF_READ_FILE, xsltSecurityForbid);
    xsltSetSecurityPrefs(prefs, XSLT_SECPREF_WRITE_FILE, xsltSecurityForbid);
    xsltSetSecurityPrefs(prefs, XSLT_SECPREF_CREATE_DIRECTORY,
                         xsltSecurityForbid);
    xsltSetSecurityPrefs(prefs, XSLT_SECPREF_READ_NETWORK,
                         xsltSecurityForbid);
    xsltSetSecurityPrefs(prefs, XSLT_SECPREF_WRITE_NETWORK,
                         xsltSecurityForbid);
}

/* A struct gw_xslt is libxslt's compiled stylesheet: the type never
 * leaves this file. */
static xsltStylesheetPtr
stylesheet_of(const struct gw_xslt *x)
{
    return (xsltStylesheetPtr)(void *)x;
}

struct gw_xslt *
gw_xslt_load(const char *dir, const char *name, struct gw_err *err)
{
    char path[1024];
    xmlDocPtr doc;
    xsltStylesheetPtr ss;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    /* Our own files, but read without network or DTD all the same. */
    doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
    if (doc == NULL) {
        gw_err_set(err, GW_ECONFIG, NULL, "cannot read stylesheet %s", path);
        return NULL;
    }
    ss = xsltParseStylesheetDoc(doc);
    if (ss == NULL) {
        xmlFreeDoc(doc);
        gw_err_set(err, GW_ECONFIG, NULL, "cannot compile stylesheet %s",
                   path);
        return NULL;
    }
    return (struct gw_xslt *)(void *)ss;
}

void
gw_xslt_free(struct gw_xslt *x)
{
    xsltFreeStylesheet(stylesheet_of(x));
}

gw_rc
gw_xslt_save(const struct gw_xslt *x, xmlDocPtr res, char **out, size_t *len)
{
    xmlChar *mem = NULL;
    int n = 0;

    *out = NULL;
    *len = 0;
    if (x == NULL || res == NULL ||
        xsltSaveResultToString(&mem, &n, res, stylesheet_of(x)) != 0 ||
        mem == NULL) {
        xmlFree(mem);
        return GW_EINTERNAL;
    }
    return gw_xml_take_text(mem, n, out, len);
}

xmlDocPtr
gw_xslt_apply(const struct gw_xslt *x, xmlDocPtr in, const char **params)
{
    xsltStylesheetPtr ss = stylesheet_of(x);
    xsltTransformContextPtr t;
    xmlDocPtr res;

    pthread_once(&prefs_once, make_prefs);
    if (prefs == NULL || ss == NULL || in == NULL)
        return NULL;
    t = xsltNewTransformContext(ss, in);
    if (t == NULL)
        return NULL;
    xsltSetCtxtSecurityPrefs(prefs, t);
    xsltSetGenericErrorFunc(NULL, gw_xml_quiet);
    res = xsltApplyStylesheetUser(ss, in, params, NULL, NULL, t);
    if (res != NULL &&
        (t->state != XSLT_STATE_OK || xmlDocGetRootElement(res) == NULL)) {
        xmlFreeDoc(res);
        res = NULL;
    }
    xsltFreeTransformContext(t);
    return res;
}

struct gw_xml *
gw_xslt_run(const struct gw_xslt *x, const struct gw_xml *in,
            const char **params)
{
    return gw_xml_of(gw_xslt_apply(x, gw_xml_tree(in), params));
}

struct gw_xml *
gw_xslt_run_fhir(const struct gw_xslt *x, const struct gw_fhir_doc *in,
                 const char **params)
{
    return gw_xml_of(
        gw_xslt_apply(x, in ? gw_fhir_doc_xml(in) : NULL, params));
}
