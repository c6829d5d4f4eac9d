/*
 * hsa.h - the prescriber's authority, from HSA (GetCredentialsForPerson-
 * IncludingProtectedPerson over SOAP), for the pipeline's check_prescriber
 * hook.
 *
 * The contract is Inera's GetCredentialsForPersonIncludingProtectedPerson
 * version 2 (infrastructure:directory:authorizationmanagement), asked by
 * personHsaId at hsa.logical_address; hsa.c maps its answer to the checks
 * in one table. A prescriber is authorised when HSA lists a licence as
 * physician or dentist (code LK / TL, or "Läkare" / "Tandläkare") and an
 * active commission whose purpose
 * is "Vård och behandling" at the care unit the message states (the
 * clinic). A beredskap motivation needs that commission's organisation
 * (care provider or unit) to be one of hsa.beredskap_orgs.
 *
 * Answers are cached in the store for hsa.cache_ttl_s, reduced to what the
 * decision needs (licences, commissions; never names or protected-person
 * data). A fresh cache entry answers without calling HSA; without one, an
 * HSA that is down, slow or faulting gives GW_EHSAUNAVAILABLE (503 /
 * TECHNICAL_ERROR) and the message is not stored.
 */
#ifndef GW_OUTBOUND_HSA_H
#define GW_OUTBOUND_HSA_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "outbound/soap_client.h"

struct gw_store;

#define GW_HSA_MAX_LICENCES 8
#define GW_HSA_MAX_COMMISSIONS 32

struct gw_hsa_commission {
    char unit_hsa[40];
    char provider_hsa[40];
    int care_and_treatment;   /* purpose "Vård och behandling" */
    int64_t start_ms, end_ms; /* 0: open */
};

/* What HSA says about one person, as far as the decision needs. */
struct gw_hsa_person {
    int found;
    int physician, dentist; /* licences */
    struct gw_hsa_commission c[GW_HSA_MAX_COMMISSIONS];
    size_t nc;
};

/*
 * The decision (no I/O): GW_OK or GW_ENOTAUTHORISED with err naming the
 * reason (no licence, no commission at unit_hsa, not a beredskap
 * organisation). beredskap_orgs: space-separated HSA-ids.
 */
gw_rc gw_hsa_decide(const struct gw_hsa_person *p, const char *unit_hsa,
                    int beredskap, const char *beredskap_orgs, int64_t now_ms,
                    struct gw_err *err) GW_WARN_UNUSED;

/* The cache form of a person (text, no personal data) and back. */
gw_rc gw_hsa_person_encode(const struct gw_hsa_person *p, char *buf,
                           size_t size) GW_WARN_UNUSED;
gw_rc gw_hsa_person_decode(const char *text, size_t len,
                           struct gw_hsa_person *p) GW_WARN_UNUSED;

struct gw_hsa_opts {
    /* url, timeout, TLS client; logical_address NULL: "HSA" */
    struct gw_soap_pool_opts peer;
    long cache_ttl_s;
    const char *beredskap_orgs;
    struct gw_store *store; /* the cache; NULL: no cache */
};

struct gw_hsa;

gw_rc gw_hsa_new(const struct gw_hsa_opts *o,
                 struct gw_hsa **out) GW_WARN_UNUSED;
void gw_hsa_free(struct gw_hsa *h);

/* Looks the person up (cache, else HSA). GW_EHSAUNAVAILABLE
 * when HSA cannot answer. */
gw_rc gw_hsa_lookup(struct gw_hsa *h, const char *person_hsa,
                    struct gw_hsa_person *out,
                    struct gw_err *err) GW_WARN_UNUSED;

/* gw_prescriber_check_fn for struct gw_pipeline_opts; ctx: struct gw_hsa. */
gw_rc gw_hsa_check_prescriber(void *ctx, const char *person_hsa,
                              const char *unit_hsa, int beredskap,
                              struct gw_err *err);

#endif
