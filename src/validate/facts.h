/*
 * facts.h - the identity of a message's content. The facts themselves
 * (struct gw_msg_facts, the GW_MSG_FACTS table) are the domain's: see
 * klas/facts.h; rules.c fills them.
 */
#ifndef GW_VALIDATE_FACTS_H
#define GW_VALIDATE_FACTS_H

#include "core/err.h"
#include "klas/facts.h"

struct gw_fhir_doc;

/*
 * The identity of a message's content, for idempotency: SHA-256 (64 hex
 * digits and a NUL into out) of the canonical form of the parsed message:
 * its FHIR XML tree without Bundle.id, Bundle.meta and Bundle.timestamp
 * (a retry may regenerate them), without blank text and comments, as
 * exclusive C14N (attribute order and namespace prefixes do not count).
 * JSON and XML of one message, compact or pretty, over REST or SOAP, give
 * the same digest. doc is not changed.
 */
gw_rc gw_msg_content_hash(const struct gw_fhir_doc *doc, char out[65])
    GW_WARN_UNUSED;

#endif
