/*
 * xsd.h - compiled XML schemas: the Responder schemas of wsdl/, for both
 * sides of a contract (the SOAP front checks what it receives,
 * outbound/lv.c what it sends). A compiled schema is read-only while it
 * validates, so one is shared between threads.
 */
#ifndef GW_VALIDATE_XSD_H
#define GW_VALIDATE_XSD_H

#include <libxml/xmlschemas.h>

#include "core/err.h"

/* Compiles <wsdl_dir>/<name>Responder_1.0.xsd; NULL on failure with err
 * naming the file. Free with xmlSchemaFree. */
xmlSchemaPtr gw_xsd_responder_schema(const char *wsdl_dir, const char *name,
                                     struct gw_err *err);

#endif
