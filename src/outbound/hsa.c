/*
 * hsa.c - the prescriber check against HSA (see hsa.h).
 *
 * Order of a check: cache (fresh entry: decide on it, no call), else one
 * GetCredentialsForPersonIncludingProtectedPerson call through a pooled
 * gSOAP context, reduce the answer to struct gw_hsa_person, cache it,
 * decide. An answer that says "no such person" is cached like any other
 * (it is an answer); a failure to get an answer is never cached.
 *
 * Not done here: anything with names. HSA returns given name, surname and
 * whether the person is protected; none of it is needed to decide, so
 * none of it is kept, cached or logged.
 */
#include "outbound/hsa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/words.h"
#include "gwsoapH.h"
#include "outbound/soap_client.h"
#include "outbound/stats.h"
#include "store/hsa_cache.h"

#define PURPOSE_CARE "Vård och behandling"
#define GW_HSA_CACHE_MAX 4096 /* cache text of one person */

/* --- the decision ------------------------------------------------------ */

static int
listed(const char *orgs, const char *id)
{
    return gw_word_listed(orgs, " ,\t", id, strlen(id));
}

static int
active(const struct gw_hsa_commission *c, int64_t now_ms)
{
    return (c->start_ms == 0 || c->start_ms <= now_ms) &&
           (c->end_ms == 0 || now_ms < c->end_ms);
}

gw_rc
gw_hsa_decide(const struct gw_hsa_person *p, const char *unit_hsa,
              int beredskap, const char *beredskap_orgs, int64_t now_ms,
              struct gw_err *err)
{
    int at_unit = 0, at_org = 0;

    if (!p->found)
        return gw_err_set(err, GW_ENOTAUTHORISED, "Practitioner.identifier",
                          "förskrivaren finns inte i HSA / the prescriber is "
                          "not known in HSA");
    if (!p->physician && !p->dentist)
        return gw_err_set(err, GW_ENOTAUTHORISED, "Practitioner.qualification",
                          "HSA anger ingen legitimation som läkare eller "
                          "tandläkare / HSA lists no licence as physician "
                          "or dentist");
    if (unit_hsa == NULL || unit_hsa[0] == '\0')
        return gw_err_set(err, GW_ENOTAUTHORISED,
                          "PractitionerRole.organization",
                          "ingen vårdenhet angiven / no care unit stated");
    for (size_t i = 0; i < p->nc; i++) {
        const struct gw_hsa_commission *c = &p->c[i];
        if (!c->care_and_treatment || !active(c, now_ms) ||
            strcmp(c->unit_hsa, unit_hsa) != 0)
            continue;
        at_unit = 1;
        if (listed(beredskap_orgs, c->provider_hsa) ||
            listed(beredskap_orgs, c->unit_hsa))
            at_org = 1;
    }
    if (!at_unit)
        return gw_err_set(err, GW_ENOTAUTHORISED,
                          "PractitionerRole.organization",
                          "förskrivaren saknar aktivt medarbetaruppdrag för "
                          "vård och behandling vid vårdenheten / the "
                          "prescriber has no active 'Vård och behandling' "
                          "commission at the stated care unit");
    if (beredskap && !at_org)
        return gw_err_set(err, GW_ENOTAUTHORISED,
                          "MedicationRequest.extension:beredskap",
                          "beredskapslicens får bara motiveras av "
                          "förskrivare vid Folkhälsomyndigheten, "
                          "Läkemedelsverket eller Socialstyrelsen / a "
                          "beredskap licence may only be motivated by a "
                          "prescriber at one of the preparedness "
                          "organisations");
    return GW_OK;
}

/* --- cache form: "F 1", "L <physician> <dentist>", one "C" per
 * commission: unit|provider|care|start|end. HSA-ids hold no '|'. ------- */

gw_rc
gw_hsa_person_encode(const struct gw_hsa_person *p, char *buf, size_t size)
{
    size_t o;
    int w;

    w = snprintf(buf, size, "F %d\nL %d %d\n", p->found, p->physician,
                 p->dentist);
    if (w < 0 || (size_t)w >= size)
        return GW_ETOOLARGE;
    o = (size_t)w;
    for (size_t i = 0; i < p->nc; i++) {
        const struct gw_hsa_commission *c = &p->c[i];
        w = snprintf(buf + o, size - o, "C %s|%s|%d|%lld|%lld\n", c->unit_hsa,
                     c->provider_hsa, c->care_and_treatment,
                     (long long)c->start_ms, (long long)c->end_ms);
        if (w < 0 || (size_t)w >= size - o)
            return GW_ETOOLARGE;
        o += (size_t)w;
    }
    return GW_OK;
}

static int
field(const char **p, char *out, size_t size)
{
    size_t n = strcspn(*p, "|\n");

    if (n >= size)
        return 0;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    if (**p == '|')
        (*p)++;
    return 1;
}

gw_rc
gw_hsa_person_decode(const char *text, size_t len, struct gw_hsa_person *p)
{
    char line[256];
    const char *s = text, *end = text + len;

    memset(p, 0, sizeof(*p));
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (n >= sizeof(line))
            return GW_EPARSE;
        memcpy(line, s, n);
        line[n] = '\0';
        s += n + (nl != NULL);
        if (line[0] == 'F') {
            if (sscanf(line, "F %d", &p->found) != 1)
                return GW_EPARSE;
        } else if (line[0] == 'L') {
            if (sscanf(line, "L %d %d", &p->physician, &p->dentist) != 2)
                return GW_EPARSE;
        } else if (line[0] == 'C' && line[1] == ' ') {
            struct gw_hsa_commission *c;
            const char *q = line + 2;
            long long a = 0, b = 0;
            if (p->nc >= GW_HSA_MAX_COMMISSIONS)
                return GW_EPARSE;
            c = &p->c[p->nc];
            if (!field(&q, c->unit_hsa, sizeof(c->unit_hsa)) ||
                !field(&q, c->provider_hsa, sizeof(c->provider_hsa)) ||
                sscanf(q, "%d|%lld|%lld", &c->care_and_treatment, &a, &b) != 3)
                return GW_EPARSE;
            c->start_ms = a;
            c->end_ms = b;
            p->nc++;
        } else if (line[0] != '\0') {
            return GW_EPARSE;
        }
    }
    return GW_OK;
}

/* --- the client -------------------------------------------------------- */

struct gw_hsa {
    struct gw_hsa_opts o;
    struct gw_soap_pool *pool;
    char orgs[]; /* o.beredskap_orgs, the gateway's own copy */
};

void
gw_hsa_free(struct gw_hsa *h)
{
    if (h == NULL)
        return;
    gw_soap_pool_free(h->pool);
    free(h);
}

gw_rc
gw_hsa_new(const struct gw_hsa_opts *o, struct gw_hsa **out)
{
    const char *orgs = o->beredskap_orgs ? o->beredskap_orgs : "";
    size_t n = strlen(orgs) + 1;
    struct gw_hsa *h = calloc(1, sizeof(*h) + n);
    gw_rc rc;

    *out = NULL;
    if (h == NULL)
        return GW_ENOMEM;
    h->o = *o;
    memcpy(h->orgs, orgs, n);
    h->o.beredskap_orgs = h->orgs;
    rc = gw_soap_pool_new(&o->peer, "HSA", &h->pool);
    if (rc != GW_OK) {
        free(h);
        return rc;
    }
    h->o.peer.url = gw_soap_pool_url(h->pool);
    *out = h;
    return GW_OK;
}

/*
 * The one mapping from HSA's answer (Inera's CredentialInformationType,
 * GetCredentialsForPersonIncludingProtectedPerson v2) to the gateway's
 * checks; README "The prescriber check in HSA" shows the same table.
 *
 *   healthCareProfessionalLicenceCode LK | licence "Läkare"      physician
 *   healthCareProfessionalLicenceCode TL | licence "Tandläkare"  dentist
 *   commission/commissionPurpose "Vård och behandling"           a commission
 *       that counts, at commission/healthCareUnitHsaId, between
 *       healthCareUnitStartDate and healthCareUnitEndDate (a commission
 *       directly under the care provider names no unit: it matches none)
 *   commission/healthCareProviderHsaId, healthCareUnitHsaId      matched
 *       against hsa.beredskap_orgs for a beredskap motivation
 *
 * Not used and never kept: names, personal identity, protected-person and
 * feigned flags, specialities (healthCareProfessionalLicenceSpeciality),
 * prescription codes, commission rights. Only credentials whose
 * personHsaId is the one asked about count.
 */
enum hsa_grant { GRANT_PHYSICIAN, GRANT_DENTIST, GRANT_CARE };

static const struct hsa_row {
    const char *element; /* the element of CredentialInformationType */
    const char *value;   /* the value HSA gives there */
    enum hsa_grant grant;
} hsa_map[] = {
    {"healthCareProfessionalLicenceCode", "LK", GRANT_PHYSICIAN},
    {"healthCareProfessionalLicence", "Läkare", GRANT_PHYSICIAN},
    {"healthCareProfessionalLicenceCode", "TL", GRANT_DENTIST},
    {"healthCareProfessionalLicence", "Tandläkare", GRANT_DENTIST},
    {"commission/commissionPurpose", PURPOSE_CARE, GRANT_CARE},
};

/* 1 if value at element grants g (the table above). */
static int
grants(const char *element, const char *value, enum hsa_grant g)
{
    if (value == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(hsa_map) / sizeof(hsa_map[0]); i++)
        if (hsa_map[i].grant == g && strcmp(hsa_map[i].element, element) == 0 &&
            strcmp(hsa_map[i].value, value) == 0)
            return 1;
    return 0;
}

static void
licences(struct gw_hsa_person *p, const char *element, char *const *v, int n)
{
    for (int i = 0; i < n; i++) {
        if (grants(element, v[i], GRANT_PHYSICIAN))
            p->physician = 1;
        if (grants(element, v[i], GRANT_DENTIST))
            p->dentist = 1;
    }
}

static void
add_credentials(struct gw_hsa_person *p,
                const struct hsac__CredentialInformationType *ci)
{
    p->found = 1;
    licences(p, "healthCareProfessionalLicence",
             ci->healthCareProfessionalLicence,
             ci->__sizehealthCareProfessionalLicence);
    licences(p, "healthCareProfessionalLicenceCode",
             ci->healthCareProfessionalLicenceCode,
             ci->__sizehealthCareProfessionalLicenceCode);
    for (int i = 0; i < ci->__sizecommission && p->nc < GW_HSA_MAX_COMMISSIONS;
         i++) {
        const struct hsac__CommissionType *k = &ci->commission[i];
        struct gw_hsa_commission *c = &p->c[p->nc];
        memset(c, 0, sizeof(*c));
        snprintf(c->unit_hsa, sizeof(c->unit_hsa), "%s",
                 k->healthCareUnitHsaId ? k->healthCareUnitHsaId : "");
        snprintf(c->provider_hsa, sizeof(c->provider_hsa), "%s",
                 k->healthCareProviderHsaId ? k->healthCareProviderHsaId : "");
        if (grants("commission/commissionPurpose", k->commissionPurpose,
                   GRANT_CARE))
            c->care_and_treatment = 1;
        if (k->healthCareUnitStartDate)
            c->start_ms = (int64_t)*k->healthCareUnitStartDate * 1000;
        if (k->healthCareUnitEndDate)
            c->end_ms = (int64_t)*k->healthCareUnitEndDate * 1000;
        p->nc++;
    }
}

/* One call to HSA. GW_OK with *p filled (found or not), or the failure. */
static gw_rc
call_hsa(struct gw_hsa *h, const char *person, struct gw_hsa_person *p,
         struct gw_err *err)
{
    struct hsa__GetCredentialsForPersonIncludingProtectedPersonType req;
    struct hsa__GetCredentialsForPersonIncludingProtectedPersonResponseType
        resp;
    struct soap *s = gw_soap_pool_get(h->pool);
    struct gw_soap_failure f;
    gw_rc rc = GW_OK;
    int e;

    memset(p, 0, sizeof(*p));
    if (s == NULL)
        return GW_ENOMEM;
    soap_default_hsa__GetCredentialsForPersonIncludingProtectedPersonType(s,
                                                                          &req);
    req.personHsaId = (char *)person;
    e = soap_call___hsai__GetCredentialsForPersonIncludingProtectedPerson(
        s, h->o.peer.url, NULL, &req, &resp);
    if (e != SOAP_OK) {
        gw_soap_describe(s, &f);
        /* Slow or down, the caller may resend later: 503 either way,
         * naming HSA (the table's text, in both languages) and with
         * Retry-After (fhir_api.c). */
        rc = GW_EHSAUNAVAILABLE;
        gw_log_warn("event=hsa_call_failed http=%d detail=%s", f.http_status,
                    gw_log_quote(f.why));
        gw_err_set(err, rc, NULL, "%s",
                   f.timeout ? "HSA did not answer in time"
                             : "HSA does not answer");
        gw_soap_pool_put(h->pool, s, 0);
        return rc;
    }
    /* Version 2 has no resultCode: HSA reports a failure as a SOAP fault
     * (above); a person it does not know is an answer without
     * credentials. */
    for (int i = 0; i < resp.__sizecredentialInformation; i++) {
        const struct hsac__CredentialInformationType *ci =
            &resp.credentialInformation[i];
        if (ci->personHsaId && strcmp(ci->personHsaId, person) == 0)
            add_credentials(p, ci);
    }
    gw_soap_pool_put(h->pool, s, 1);
    return rc;
}

/* HSA's fresh answer, handed to the store's writer, which stores it with
 * its next batch: this thread waits for no lock. A refused or lost entry
 * costs one more HSA call. */
static void
cache_put(struct gw_hsa *h, const char *person, const struct gw_hsa_person *p,
          int64_t now)
{
    char text[GW_HSA_CACHE_MAX];
    gw_rc rc;

    if (h->o.store == NULL || h->o.cache_ttl_s <= 0 ||
        gw_hsa_person_encode(p, text, sizeof(text)) != GW_OK)
        return;
    rc = gw_store_hsa_put_async(h->o.store, person, text, strlen(text),
                                now + (int64_t)h->o.cache_ttl_s * 1000);
    if (rc != GW_OK)
        gw_log_warn("event=hsa_cache_put_failed rc=%s", gw_rc_name(rc));
}

gw_rc
gw_hsa_lookup(struct gw_hsa *h, const char *person, struct gw_hsa_person *out,
              struct gw_err *err)
{
    int64_t now = gw_clock_now_ms();
    char *cached = NULL;
    size_t len = 0;
    gw_rc rc;

    if (h->o.store != NULL &&
        gw_store_hsa_get(h->o.store, person, now, &cached, &len) == GW_OK) {
        rc = gw_hsa_person_decode(cached, len, out);
        free(cached);
        if (rc == GW_OK) {
            gw_stats_hsa_cache(1);
            return GW_OK;
        }
        /* A broken entry is ignored and replaced below. */
    }
    gw_stats_hsa_cache(0);
    {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = call_hsa(h, person, out, err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        gw_stats_hsa_call((int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
                              (t1.tv_nsec - t0.tv_nsec) / 1000,
                          rc == GW_OK);
    }
    if (rc != GW_OK)
        return rc;
    cache_put(h, person, out, now);
    return GW_OK;
}

gw_rc
gw_hsa_check_prescriber(void *ctx, const char *person, const char *unit,
                        int beredskap, struct gw_err *err)
{
    struct gw_hsa *h = ctx;
    struct gw_hsa_person p;
    gw_rc rc;

    if (person == NULL || person[0] == '\0')
        return gw_err_set(err, GW_ENOTAUTHORISED, "Practitioner.identifier",
                          "förskrivarens HSA-id saknas / the prescriber's "
                          "HSA-id is missing");
    rc = gw_hsa_lookup(h, person, &p, err);
    if (rc != GW_OK)
        return rc;
    return gw_hsa_decide(&p, unit, beredskap, h->o.beredskap_orgs,
                         gw_clock_now_ms(), err);
}
