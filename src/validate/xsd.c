/*
 * xsd.c - compiling XML schemas (see xsd.h). Compiler messages are
 * dropped: a schema that does not compile is a configuration error named
 * by its file.
 */
#include "validate/xsd.h"

#include <stdio.h>

static void
quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

xmlSchemaPtr
gw_xsd_responder_schema(const char *dir, const char *name, struct gw_err *err)
{
    char path[1024];
    xmlSchemaParserCtxtPtr pc;
    xmlSchemaPtr s = NULL;

    snprintf(path, sizeof(path), "%s/%sResponder_1.0.xsd", dir, name);
    pc = xmlSchemaNewParserCtxt(path);
    if (pc != NULL) {
        xmlSchemaSetParserErrors(pc, quiet, quiet, NULL);
        s = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
    }
    if (s == NULL)
        gw_err_set(err, GW_ECONFIG, NULL, "cannot compile schema %s", path);
    return s;
}
