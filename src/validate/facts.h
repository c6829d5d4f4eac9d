/*
 * facts.h - what the pipeline needs to know about a valid KLAS message,
 * read from the canonical FHIR XML by the same walk that checks the rules
 * (rules.c), so the two never disagree on where a field lives.
 *
 * Every field is a NUL-terminated copy; "" when the message does not
 * carry it. Some are personal data (patient_id): never log them.
 */
#ifndef GW_VALIDATE_FACTS_H
#define GW_VALIDATE_FACTS_H

struct gw_msg_facts {
    char event[32];          /* klas-event code, "" if unknown */
    char message_id[128];    /* Bundle.identifier.value (idempotency key) */
    char header_id[72];      /* MessageHeader.id, for response.identifier */
    char refnr[16];          /* Task.identifier referensnummer */
    char basis_refnr[16];    /* re-application: Task.basedOn referensnummer */
    char status[8];          /* Task.businessStatus code as sent */
    char licence_type[4];    /* EH, GH */
    int beredskap;
    char prescriber_hsa[40]; /* motivation: the Practitioner's HSA-id */
    char clinic_hsa[40], clinic_name[128];
    char hospital_hsa[40], hospital_name[128];
    char pharmacy_gln[16];   /* Task.owner GLN */
    char pharmacy_name[128], pharmacy_address[160], pharmacy_city[64];
    char drug_name[160], substances[256];
    char patient_id[16];     /* personnummer, samordningsnummer or DOB */
    /* The product and amount (motivation). */
    char nplid[16], atc[16], form[96], strength[64], holder[128],
        country[64];
    char general_level[16];  /* unit, administration, region */
    char total_amount[24], amount_unit[32];
    char sender_kind;        /* supplement: 'P' prescriber, 'O' pharmacy */
    char sender_hsa[40], sender_clinic_hsa[40], sender_gln[16];
    char recipient_kind;     /* supplement request: 'P' or 'O' */
    char recipient_gln[16];
    char validity_start[16], validity_end[16]; /* decision Bev */
};

#endif
