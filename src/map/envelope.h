/*
 * envelope.h - the RIV-TA SOAP envelope of an inbound request, SOAP 1.1 or
 * 1.2: which version, the LogicalAddress header, the one element of the
 * Body as a document of its own, held opaquely by soap/ (it is the input
 * of the Responder XSD and of the mapping, never written out again). Parsing goes through the hardened XML reader (no DTD, no
 * entities, no network, size caps) and then checks the envelope's shape
 * strictly, so everything behind it sees exactly one Body element.
 */
#ifndef GW_MAP_ENVELOPE_H
#define GW_MAP_ENVELOPE_H

#include <stddef.h>

#include "core/err.h"
#include "fhir/fhir.h"
#include "fhir/xmldoc.h"

#define GW_SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define GW_SOAP12_NS "http://www.w3.org/2003/05/soap-envelope"
#define GW_RIV_REGISTRY_NS "urn:riv:itintegration:registry:1"

enum gw_soap_version { GW_SOAP_11 = 1, GW_SOAP_12 = 2 };

struct gw_soap_env {
    enum gw_soap_version version;
    char logical_address[72]; /* "" when the header is absent */
    struct gw_xml *body;      /* the Body's one element as the root of a
                               * document of its own (namespaces
                               * reconciled), owned */
};

/*
 * Parses bytes as a SOAP envelope. GW_ETOOLARGE past a cap, GW_EPARSE for
 * broken XML or a malformed envelope (err->path names the part:
 * "Envelope", "Header/LogicalAddress", "Body"), GW_EINVAL for a header
 * marked mustUnderstand that we do not understand. On GW_OK release *out
 * with gw_soap_envelope_release; on failure *out holds nothing.
 */
gw_rc gw_soap_envelope_parse(const char *bytes, size_t len,
                             const struct gw_fhir_limits *lim,
                             struct gw_soap_env *out,
                             struct gw_err *err) GW_WARN_UNUSED;
void gw_soap_envelope_release(struct gw_soap_env *env);

#endif
