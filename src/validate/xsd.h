/*
 * xsd.h - compiled XML schemas and the one way their errors are
 * collected. Used for the FHIR schema (validate.c) and the Responder
 * schemas of wsdl/, for both sides of a contract (the SOAP front checks
 * what it receives, outbound/lv.c what it sends). A compiled schema is
 * read-only while it validates, so one is shared between threads; each
 * thread validates with a context of its own.
 */
#ifndef GW_VALIDATE_XSD_H
#define GW_VALIDATE_XSD_H

#include <stddef.h>

#include "core/err.h"
#include "fhir/xmldoc.h"

/* libxml2's document, for validate/ itself (which includes libxml2). */
struct _xmlDoc;

/* A compiled schema; libxml2's type stays inside xsd.c. */
struct gw_xsd;

/* Most errors kept of one document: one broken document, not a flood. */
#define GW_XSD_MAX_ERRORS 50
#define GW_XSD_MESSAGE_MAX 600
#define GW_XSD_PATH_MAX 200

struct gw_xsd_error {
    char message[GW_XSD_MESSAGE_MAX]; /* libxml2's, first line, cut
                                       * between UTF-8 characters */
    char path[GW_XSD_PATH_MAX];       /* of the node, "" when none */
};

struct gw_xsd_errors {
    int valid;              /* libxml2 found the document valid */
    size_t n;               /* errors kept (at most GW_XSD_MAX_ERRORS) */
    struct gw_xsd_error *e; /* n of them; release with _release */
};

/* Compiles the schema at path; NULL on failure with err naming the file
 * (GW_ECONFIG). Free with gw_xsd_free. */
struct gw_xsd *gw_xsd_load(const char *path, struct gw_err *err);
/* Compiles <wsdl_dir>/schemas/interactions/<name>Interaction/
 * <name>Responder_1.0.xsd (RIV-TA layout), as gw_xsd_load. */
struct gw_xsd *gw_xsd_responder(const char *wsdl_dir, const char *name,
                                struct gw_err *err);
/* NULL ok. */
void gw_xsd_free(struct gw_xsd *x);

/* Validates doc; out holds the verdict and the first errors. GW_OK
 * whatever the verdict; GW_ENOMEM. Release out with
 * gw_xsd_errors_release, also after a failure. */
gw_rc gw_xsd_validate(const struct gw_xsd *x, struct _xmlDoc *doc,
                      struct gw_xsd_errors *out) GW_WARN_UNUSED;
/* The same for a document held opaquely (soap/, outbound/). */
gw_rc gw_xsd_check(const struct gw_xsd *x, const struct gw_xml *doc,
                   struct gw_xsd_errors *out) GW_WARN_UNUSED;
void gw_xsd_errors_release(struct gw_xsd_errors *e);

#endif
