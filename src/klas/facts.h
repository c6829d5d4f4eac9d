/*
 * facts.h - what the domain needs to know about a valid KLAS message: the
 * event, the case it is about, the parties, the product. A plain type
 * without I/O, so that klas/event.c can decide on it and its tests can
 * fill it by hand; validate/rules.c fills it from the canonical FHIR XML
 * by the same walk that checks the rules, so the two never disagree on
 * where a field lives.
 *
 * Every string fact is a row of GW_MSG_FACTS: its field and its cap in
 * bytes. A value is kept whole or refused: one longer than its cap is an
 * error (gw_msg_fact_set; in validation an issue with code too-long naming
 * the element and the cap), and the fact stays "". Nothing is ever cut to
 * fit. "" also when the message does not carry the field. Some are
 * personal data (patient_id): never log them.
 *
 * The caps match what the value meets downstream (store rows read back
 * into fixed buffers, gw_pharmacy, gw_product), so a value kept here is
 * kept whole everywhere after.
 */
#ifndef GW_KLAS_FACTS_H
#define GW_KLAS_FACTS_H

#include <stddef.h>

#include "core/err.h"

/* A klas-event code with its NUL: the message's facts and a subscription's
 * numbered events hold it in fields of this size. */
#define GW_KLAS_EVENT_SIZE 32

/* X(field, cap in bytes without the NUL) */
#define GW_MSG_FACTS(X)                                                       \
    X(message_id, 256)      /* Bundle.identifier.value (idempotency key) */  \
    X(header_id, 71)        /* MessageHeader.id, for response.identifier */  \
    X(refnr, 15)            /* Task.identifier referensnummer */             \
    X(basis_refnr, 15)      /* re-application: Task.basedOn */               \
    X(status, 7)            /* Task.businessStatus code as sent */           \
    X(licence_type, 3)      /* EH, GH */                                     \
    X(prescriber_hsa, 39)   /* motivation: the Practitioner's HSA-id */      \
    X(clinic_hsa, 39)                                                         \
    X(clinic_name, 127)                                                       \
    X(hospital_hsa, 39)                                                       \
    X(hospital_name, 127)                                                     \
    X(pharmacy_gln, 15)     /* Task.owner GLN */                             \
    X(pharmacy_name, 127)                                                     \
    X(pharmacy_address, 159)                                                  \
    X(pharmacy_city, 63)                                                      \
    X(drug_name, 159)                                                         \
    X(substances, 255)      /* ingredient texts joined by ", " */            \
    X(patient_id, 15)       /* personnummer, samordningsnummer or DOB */     \
    X(nplid, 15)                                                              \
    X(atc, 15)                                                                \
    X(form, 95)                                                               \
    X(strength, 63)                                                           \
    X(holder, 127)                                                            \
    X(country, 63)                                                            \
    X(general_level, 15)    /* unit, administration, region */               \
    X(total_amount, 23)                                                       \
    X(amount_unit, 31)                                                        \
    X(sender_hsa, 39)       /* supplement from a prescriber */               \
    X(sender_clinic_hsa, 39)                                                  \
    X(sender_gln, 15)       /* supplement from a pharmacy */                 \
    X(recipient_gln, 15)    /* supplement request to a pharmacy */           \
    X(validity_start, 15)   /* decision Bev */                               \
    X(validity_end, 15)

struct gw_msg_facts {
    char event[GW_KLAS_EVENT_SIZE]; /* klas-event code, "" if unknown */
#define GW_FACT_FIELD(name, cap) char name[(cap) + 1];
    GW_MSG_FACTS(GW_FACT_FIELD)
#undef GW_FACT_FIELD
    int beredskap;
    char sender_kind;    /* supplement: 'P' prescriber, 'O' pharmacy */
    char recipient_kind; /* supplement request: 'P' or 'O' */
};

/* The rows of GW_MSG_FACTS, for code and tests that walk every field. */
struct gw_msg_fact_field {
    const char *name;
    size_t offset; /* of the char array in struct gw_msg_facts */
    size_t cap;    /* bytes, without the NUL */
};
extern const struct gw_msg_fact_field gw_msg_fact_fields[];
extern const size_t gw_msg_nfact_fields;

/*
 * Sets the fact called `name` to the first `len` bytes of `value`, whole,
 * or refuses: GW_EINVAL for a name that is no row of GW_MSG_FACTS,
 * GW_ETOOLARGE (err names the field and its cap) for a value longer than
 * the cap; on refusal the fact is "".
 */
gw_rc gw_msg_fact_set(struct gw_msg_facts *f, const char *name,
                      const char *value, size_t len,
                      struct gw_err *err) GW_WARN_UNUSED;

#endif
