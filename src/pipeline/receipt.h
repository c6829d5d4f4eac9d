/*
 * receipt.h - the response message of a stored KLAS message (its
 * receipt), written as text in FHIR XML or JSON directly: a MessageHeader
 * (response ok) and the case's Task with referensnummer, status,
 * submission time, licence type and product, and the validator's
 * warnings as an OperationOutcome.
 *
 * The receipt was a tree (fhir/build.h) checked against the model and
 * then written out twice, as XML for the inbox and as the caller's format
 * for the answer: about 95K instructions a message on the writer thread
 * and 130K on the request thread, for a document of 2 KB whose shape
 * never changes. Written here, its bytes are exactly those of that tree's
 * gw_fhir_to_xml and gw_fhir_to_json (test_receipt builds the tree the
 * old way and compares, over every shape and awkward values), so stored
 * answers and first answers stay the same.
 */
#ifndef GW_PIPELINE_RECEIPT_H
#define GW_PIPELINE_RECEIPT_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "fhir/fhir.h"

struct gw_outcome;

/* What a receipt says; every string borrowed. Values that are NULL or ""
 * leave their element out, as fhir/build.h does. */
struct gw_receipt {
    const char *event;     /* the klas-event code answered */
    const char *base;      /* the FHIR base URL (source, fullUrl) */
    const char *header_id; /* the message's MessageHeader id; "": unknown */
    const char *refnr;
    long version;
    const char *status;       /* KLAS status after the event */
    const char *licence_type; /* or NULL */
    const char *drug;         /* or NULL */
    int64_t now_ms;           /* the receipt's time */
    int64_t created_ms;       /* the case's; 0: now_ms (a new case) */
    const char *uuid;         /* the MessageHeader entry's */
    const char *oo_uuid;      /* the warnings entry's (when there are any) */
    const struct gw_outcome *issues; /* its warnings go in; may be NULL */
};

/* Whether issues holds a warning (the receipt then needs oo_uuid). */
int gw_receipt_has_warnings(const struct gw_outcome *issues);

/* r in fmt (GW_FHIR_XML or GW_FHIR_JSON) appended to out. GW_EVALIDATION
 * where the tree's check refused the receipt: a header_id that is not a
 * FHIR id, a licence_type that is not a code. */
gw_rc gw_receipt_write(const struct gw_receipt *r, enum gw_fhir_format fmt,
                       struct gw_buf *out) GW_WARN_UNUSED;

#endif
