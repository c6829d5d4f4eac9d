/*
 * rules.h - the business rules of a KLAS message (DOMAIN.md), run on the
 * canonical FHIR XML. Internal to validate/.
 */
#ifndef GW_VALIDATE_RULES_H
#define GW_VALIDATE_RULES_H

#include <libxml/tree.h>

#include "validate/facts.h"
#include "validate/outcome.h"

/* Adds an issue per broken rule; returns GW_OK unless memory runs out.
 * facts (may be NULL) gets what the walk found, valid or not. */
gw_rc gw_rules_run(xmlDocPtr doc, const char *today, struct gw_outcome *out,
                   struct gw_msg_facts *facts);

/* FHIRPath of a node: Bundle.entry[2].resource.identifier[0].value. */
void gw_rules_node_path(xmlNodePtr n, char *buf, size_t size);

/* For tests: every expression the rules have used so far that they walk
 * themselves, evaluated from every element of doc by that walk and by
 * libxml2's XPath; returns how many (expression, element) pairs disagree
 * on the count, the first node or the nodes the walk keeps in order
 * (the first 16), *pairs how many were compared. */
size_t gw_rules_paths_disagree(xmlDocPtr doc, size_t *pairs);

#endif
