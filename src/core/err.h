/*
 * err.h - the one table of gateway error codes.
 *
 * Every failure in klasgw is a gw_rc: GW_OK (0) or a negative code from the
 * table below. Each row gives, once, everything a front needs to answer
 * alike: the HTTP status (REST and the HTTP status of SOAP faults), the FHIR
 * OperationOutcome issue code (R4 value set issue-type), the RIV-TA
 * errorCode (INVALID_REQUEST, APPLICATION_ERROR, TECHNICAL_ERROR - only the
 * last is worth resending; TRANSFORMATION_ERROR is the SOAP front's own,
 * for a request it cannot map), and the message in English and Swedish.
 *
 * Readable detail about one failure (which field, which value) travels
 * beside the code in a struct gw_err; the table holds only generic text.
 * To add a code: add one row, keep the numbers unique and negative.
 */
#ifndef GW_CORE_ERR_H
#define GW_CORE_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define GW_WARN_UNUSED __attribute__((warn_unused_result))
#define GW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GW_WARN_UNUSED
#define GW_PRINTF(f, a)
#endif

/* XX(name, value, http, fhir issue code, RIV errorCode, English, Swedish) */
#define GW_ERRNO_MAP(XX)                                                      \
    XX(OK, 0, 200, "informational", "", "ok", "ok")                           \
    XX(ENOMEM, -1, 500, "exception", "TECHNICAL_ERROR",                       \
       "out of memory", "minnet tog slut")                                   \
    XX(EINVAL, -2, 400, "invalid", "INVALID_REQUEST",                         \
       "invalid argument", "ogiltigt argument")                               \
    XX(EIO, -3, 500, "exception", "TECHNICAL_ERROR",                          \
       "input/output error", "in- eller utmatningsfel")                       \
    XX(ETOOLARGE, -4, 413, "too-long", "INVALID_REQUEST",                     \
       "input exceeds its size limit", "indata överskrider storleksgränsen") \
    XX(EPARSE, -5, 400, "structure", "INVALID_REQUEST",                       \
       "malformed input", "felaktigt formaterad indata")                      \
    XX(EVALIDATION, -6, 422, "invariant", "INVALID_REQUEST",                  \
       "one or more required fields are missing or incorrectly filled in",    \
       "Ett eller flera obligatoriska fält saknas eller är felaktigt ifyllda") \
    XX(ENOTFOUND, -7, 404, "not-found", "APPLICATION_ERROR",                  \
       "not found", "hittades inte")                                          \
    XX(ECONFLICT, -8, 409, "conflict", "APPLICATION_ERROR",                   \
       "conflicts with the current state of the case",                        \
       "strider mot ärendets aktuella läge")                                  \
    XX(EDUPLICATE, -9, 409, "duplicate", "APPLICATION_ERROR",                 \
       "message id already used for different content",                      \
       "meddelande-id redan använt för annat innehåll")                       \
    XX(EPRECONDITION, -10, 412, "conflict", "APPLICATION_ERROR",              \
       "the resource has changed since the given version",                    \
       "resursen har ändrats sedan angiven version")                          \
    XX(EUNAUTH, -11, 401, "login", "APPLICATION_ERROR",                       \
       "the caller is not authenticated", "anroparen är inte autentiserad")   \
    XX(EFORBIDDEN, -12, 403, "forbidden", "APPLICATION_ERROR",                \
       "the caller may not do this", "anroparen har inte behörighet")         \
    XX(EMEDIATYPE, -13, 415, "not-supported", "INVALID_REQUEST",              \
       "unsupported content type", "innehållstypen stöds inte")               \
    XX(ENOTACCEPTABLE, -14, 406, "not-supported", "INVALID_REQUEST",          \
       "no acceptable response format", "inget godtagbart svarsformat")       \
    XX(ESTATE, -15, 409, "business-rule", "APPLICATION_ERROR",                \
       "not allowed in the current status of the case",                       \
       "inte tillåtet i ärendets nuvarande status")                           \
    XX(ELOCKED, -16, 409, "lock-error", "APPLICATION_ERROR",                  \
       "the motivation is locked until LV has decided",                       \
       "motiveringen är låst tills Läkemedelsverket har beslutat")            \
    XX(EUNAVAILABLE, -17, 503, "transient", "TECHNICAL_ERROR",                \
       "a peer is unavailable, try again later",                              \
       "en motpart är inte tillgänglig, försök igen senare")                  \
    XX(ETIMEOUT, -18, 504, "timeout", "TECHNICAL_ERROR",                      \
       "timed out", "tidsgränsen överskreds")                                 \
    XX(EBUSY, -19, 503, "throttled", "TECHNICAL_ERROR",                       \
       "the gateway is busy, try again later",                               \
       "tjänsten är upptagen, försök igen senare")                            \
    XX(ENOTIMPL, -20, 501, "not-supported", "APPLICATION_ERROR",              \
       "not implemented", "inte implementerat")                               \
    XX(ECONSENT, -21, 403, "business-rule", "APPLICATION_ERROR",              \
       "consent to processing must be renewed before submitting",             \
       "samtycket till behandling måste förnyas innan du skickar in")         \
    XX(ECONFIG, -22, 500, "exception", "TECHNICAL_ERROR",                     \
       "invalid configuration", "ogiltig konfiguration")                      \
    XX(ESTORE, -23, 500, "exception", "TECHNICAL_ERROR",                      \
       "storage error", "lagringsfel")                                        \
    XX(EPEER, -24, 502, "exception", "TECHNICAL_ERROR",                       \
       "a peer answered with an error", "en motpart svarade med ett fel")     \
    XX(ENOTAUTHORISED, -25, 403, "forbidden", "APPLICATION_ERROR",            \
       "the prescriber is not authorised to prescribe here (HSA)",            \
       "förskrivaren saknar behörighet enligt HSA")                           \
    XX(EGONE, -26, 410, "deleted", "APPLICATION_ERROR",                       \
       "the case has been removed under the retention rules",                 \
       "ärendet har gallrats")                                                \
    XX(EDENIED, -27, 422, "business-rule", "APPLICATION_ERROR",               \
       "no valid licence covers this dispensing",                             \
       "ingen giltig licens täcker expedieringen")                            \
    XX(EINTERNAL, -28, 500, "exception", "TECHNICAL_ERROR",                   \
       "internal error", "internt fel")                                        \
    XX(EWEBHOOK_SCHEME, -41, 422, "business-rule", "INVALID_REQUEST",        \
       "the endpoint must be an https URL",                                   \
       "slutpunkten måste vara en https-adress")                              \
    XX(EWEBHOOK_HOST, -42, 422, "business-rule", "INVALID_REQUEST",          \
       "the endpoint's host is not on the pharmacy's allow-list",             \
       "slutpunktens värd finns inte på apotekets lista över tillåtna värdar") \
    XX(EWEBHOOK_ADDRESS, -43, 422, "business-rule", "INVALID_REQUEST",       \
       "the endpoint resolves to a loopback, link-local, private or "        \
       "multicast address",                                                   \
       "slutpunkten pekar på en loopback-, länklokal, privat eller "         \
       "multicastadress")                                                    \
    XX(EURITOOLONG, -44, 414, "too-long", "INVALID_REQUEST",                  \
       "the request line is too long or has too many parameters",             \
       "begäranraden är för lång eller har för många parametrar")            \
    XX(ESTORAGEFULL, -40, 507, "transient", "TECHNICAL_ERROR",                \
       "the gateway's storage is full, try again later",                      \
       "gatewayens lagringsutrymme är fullt, försök igen senare")             \
    XX(ETOOMANYLOOKUPS, -45, 429, "throttled", "APPLICATION_ERROR",           \
       "too many failed look-ups, try again later",                           \
       "för många misslyckade uppslag, försök igen senare")                   \
    XX(EHSAUNAVAILABLE, -46, 503, "transient", "TECHNICAL_ERROR",             \
       "HSA is unavailable, try again later",                                 \
       "HSA är inte tillgänglig, försök igen senare")

typedef enum {
#define GW_ERR_ENUM(name, val, http, fhir, riv, en, sv) GW_##name = val,
    GW_ERRNO_MAP(GW_ERR_ENUM)
#undef GW_ERR_ENUM
} gw_rc;

/* Static strings for a code; unknown codes map to EINTERNAL's row. */
const char *gw_rc_name(gw_rc rc);       /* "EINVAL" */
const char *gw_rc_message(gw_rc rc);    /* English */
const char *gw_rc_message_sv(gw_rc rc); /* Swedish */
int gw_rc_http_status(gw_rc rc);
const char *gw_rc_fhir_code(gw_rc rc);
const char *gw_rc_riv_error_id(gw_rc rc); /* "" for GW_OK */
/* Whether a caller may usefully resend (RIV-TA TECHNICAL_ERROR). */
int gw_rc_is_retryable(gw_rc rc);

/*
 * Detail of one failure, filled where it is found and read by the front
 * that answers. `path` is a FHIRPath-like location ("Patient.birthDate")
 * or empty. Never put personal data in `detail`: it reaches logs.
 */
struct gw_err {
    gw_rc rc;
    char path[160];
    char detail[256];
    /* The same reason in Swedish, for errors users see ("" if none: the
     * table's Swedish text stands alone). Set with gw_err_sv. */
    char detail_sv[256];
};

void gw_err_clear(struct gw_err *err);
/* Sets rc, path (may be NULL) and a formatted detail; returns rc so that
 * `return gw_err_set(err, GW_EINVAL, "x", "...")` reads well. err may be
 * NULL, then only rc is returned. */
gw_rc gw_err_set(struct gw_err *err, gw_rc rc, const char *path,
                 const char *fmt, ...) GW_PRINTF(4, 5);
/* Adds the Swedish detail to an error gw_err_set has just filled, so that
 * both languages state the same reason; returns rc, so that
 * `gw_err_set(err, rc, ...); return gw_err_sv(err, rc, ...)` reads well.
 * err may be NULL. Like detail, never personal data. */
gw_rc gw_err_sv(struct gw_err *err, gw_rc rc, const char *fmt, ...)
    GW_PRINTF(3, 4);

#endif
