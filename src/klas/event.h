/*
 * event.h - the KLAS events, one row each, and the one decision taken on
 * every message: may this caller send this message on this case, and what
 * follows from it. No I/O: the pipeline loads what a row asks for (the
 * case, the prescriber's consent), calls gw_klas_decide, and hands the
 * decision to the store, which applies it without knowing status names.
 *
 * A row says:
 *   - the message (klas-event code, and for a decision the outcome it
 *     names) and the case event it is;
 *   - who may send it (case roles) and in which statuses, and the status
 *     after it (the state machine of state.h is these rows);
 *   - which case it is about (none, Task.identifier, Task.basedOn) and
 *     what the sender must prove (identity, patient, supplement rights,
 *     the re-application window, consent, HSA);
 *   - what it delivers and to whom (pharmacy notice, LV) and what the
 *     store must do beside the case row (effects);
 *   - what readers see: whether the message adds to the case view.
 *
 * The rows are written in src/klas/events.tsv, one column per field
 * below. Adding an event is adding a row there (and its message in the
 * profiles and rules); nothing in pipeline/ or store/ names an event or a
 * status.
 */
#ifndef GW_KLAS_EVENT_H
#define GW_KLAS_EVENT_H

#include <stdint.h>

#include "core/err.h"
#include "klas/access.h"
#include "klas/facts.h"
#include "klas/state.h"

/* Which case a message is about. */
enum gw_event_case {
    GW_CASE_REF_NONE = 0, /* creates one */
    GW_CASE_REF_TASK,     /* Task.identifier (facts refnr) */
    GW_CASE_REF_BASIS     /* Task.basedOn (facts basis_refnr): a new case
                             is made from it */
};

/* Whose name the message must carry (checked before anything else). */
enum gw_event_identity {
    GW_ID_NONE = 0,
    GW_ID_PRESCRIBER, /* ehr: the Practitioner is the EHR's user */
    GW_ID_OWNER,      /* pharmacy: Task.owner is the caller's GLN */
    GW_ID_SENDER      /* the Communication's sender is the caller */
};

/* Which pharmacy is told about the event. */
enum gw_event_notify {
    GW_NOTIFY_NONE = 0,
    GW_NOTIFY_CHOSEN,       /* the pharmacy the message names, if any */
    GW_NOTIFY_CASE,         /* the pharmacy of the case, if any */
    GW_NOTIFY_CASE_IF_ADDR  /* the pharmacy of the case, if the message is
                               addressed to a pharmacy */
};

/* The message rules of a row: enum gw_event_rules, in state.h beside the
 * event values (a new rule set is a value there and its function in
 * validate/rules.c). */

/* What the store does beside the case row (gw_store_write effects; the
 * store defines the same bits, see store.h GW_STORE_FX_*). */
#define GW_FX_APPLIED      0x01u /* case applied_ms, prescriber's
                                    last_applied_ms: now */
#define GW_FX_DECIDED      0x02u /* case decided_ms: now */
#define GW_FX_PRODUCT      0x04u /* the licence's product becomes
                                    searchable (Sök produkt) */
#define GW_FX_REGISTER     0x08u /* the applying pharmacy becomes findable
                                    (Sök apotek), same transaction */
#define GW_FX_LICENCE_NEW  0x10u /* a licence row from the message */
#define GW_FX_LICENCE_COPY 0x20u /* the basis case's licence, copied */
#define GW_FX_VALIDITY     0x40u /* the licence's validity from the message */
#define GW_FX_TAKE_CASE    0x80u /* the case's pharmacy: the caller */


struct gw_event_def {
    const char *name;    /* the case event: "apply", "grant", ... */
    const char *code;    /* klas-event code; NULL: no message (gateway) */
    const char *outcome; /* decision: the status code it names; NULL */
    enum gw_case_event event;
    unsigned roles;      /* GW_ROLE_BIT(enum gw_role) that may send it */
    unsigned from;       /* GW_STATUS_BIT(status) it fits */
    enum gw_case_status to;
    enum gw_event_case ref;
    enum gw_event_identity identity;
    unsigned patient : 1;     /* a pharmacy names the enskild case's
                                 patient, or the case does not exist */
    unsigned supplement : 1;  /* gw_case_may_supplement */
    unsigned window : 1;      /* the basis decided < GW_REAPPLY_MONTHS ago */
    unsigned consent : 1;     /* the prescriber's consent is current */
    unsigned hsa : 2;         /* 0 no HSA check; 1 always; 2 ehr only */
    unsigned adds_view : 1;   /* readers see this message in the case */
    enum gw_event_rules rules; /* the message rules (validate/rules.c) */
    enum gw_event_notify notify;
    const char *topic;        /* the pharmacy notice's SubscriptionTopic
                                 (last segment of its canonical), or NULL:
                                 no topic has the message */
    const char *lv;           /* outbox kind to LV, or NULL */
    unsigned effects;         /* GW_FX_* */
    const char *soap;         /* the SOAP interaction that carries the
                                 message (soap.c), or NULL: REST only */
};

/* The rows, in table order, and their number. */
extern const struct gw_event_def gw_klas_events[];
extern const size_t gw_klas_nevents;

/* The first row for a message code (any outcome), or NULL. */
const struct gw_event_def *gw_klas_event_by_code(const char *code);

/* LV's decisions are the rows whose message is a "decision"; each names
 * its outcome (a status code, "Bev"). The row of outcome `what`, or NULL. */
const struct gw_event_def *gw_klas_decision(const char *what);
/* The decision outcomes in table order, joined by sep ("Bev, Avs, Avi"),
 * cut to fit buf; returns buf. */
const char *gw_klas_decision_outcomes(const char *sep, char *buf,
                                      size_t size);

/* The SubscriptionTopic (last segment) of a klas-event code, or NULL. */
const char *gw_klas_event_topic(const char *code);
/* 1 when some row names topic `name` (the last segment). */
int gw_klas_topic_known(const char *name);

/* The distinct klas-event codes (GW_KLAS_CODES) or SubscriptionTopics
 * (GW_KLAS_TOPICS) of the rows, in table order, joined by ", " and by
 * `last` before the last one, for texts that list them (the
 * CapabilityStatement, refusals). Always terminated; returns buf. */
enum gw_klas_list { GW_KLAS_CODES, GW_KLAS_TOPICS };
const char *gw_klas_list(enum gw_klas_list what, const char *last, char *buf,
                         size_t size);

/* Whether some row of klas-event `code` sets the case to `status` (its
 * code, "Bev") and has all of `effects` (GW_FX_*; 0: any): the status a
 * message may name, and what it must carry (GW_FX_VALIDITY). */
int gw_klas_event_sets(const char *code, const char *status, unsigned effects);

/* The klas-event codes SOAP interaction `name` carries (the rows' .soap),
 * as " code code " for the mapping's check; always terminated; returns
 * buf. */
const char *gw_klas_soap_events(const char *name, char *buf, size_t size);

/* Whether a message of this klas-event code creates a case from nothing
 * (its row's ref is GW_CASE_REF_NONE): the motivation. */
int gw_klas_event_creates_case(const char *code);

/* Whether readers see a message of this klas-event code in the case. */
int gw_klas_event_adds_view(const char *code);

/* The facts of the case a message is about. Strings borrowed. */
struct gw_case_facts {
    enum gw_case_status status;
    const char *refnr;
    const char *licence_type; /* EH, GH */
    const char *prescriber_hsa;
    const char *clinic_hsa;
    const char *pharmacy_gln;
    const char *patient_id;
    int64_t decided_ms;
};

/* The prescriber's consent clock (known 0: never seen, nothing due). */
struct gw_consent_facts {
    int known;
    int64_t consented_ms, last_applied_ms, last_active_ms;
};

struct gw_decide_in {
    const struct gw_principal *who;
    const struct gw_msg_facts *msg;
    const struct gw_case_facts *kase;       /* NULL: no case */
    const struct gw_consent_facts *consent; /* NULL: not loaded */
    int64_t now_ms;
};

struct gw_decision {
    const struct gw_event_def *def;
    enum gw_case_event event;
    enum gw_case_status from, to;
    const char *notify_gln; /* borrowed from the input; NULL: nobody */
    const char *lv;         /* outbox kind to LV, or NULL */
    unsigned effects;       /* GW_FX_* */
    int check_hsa;          /* the pipeline must ask HSA before commit */
};

/*
 * Whether the message may be taken on at all, before the case is looked
 * up or the message id is: the names it carries must be the caller's
 * (GW_EUNAUTH when an EHR names no user, GW_EFORBIDDEN naming the field).
 */
gw_rc gw_klas_check_sender(const struct gw_principal *who,
                           const struct gw_msg_facts *f,
                           struct gw_err *err) GW_WARN_UNUSED;

/*
 * The decision on one message: pure, no I/O. in->kase is the case the row
 * names (NULL when the message creates one); the caller has refused
 * already when a case it needs does not exist. On GW_OK *out is filled;
 * on refusal *out is cleared and err says why (GW_EINVAL unknown event,
 * GW_ESTATE, GW_EFORBIDDEN, GW_ENOTFOUND for a patient that does not
 * match, GW_ECONSENT).
 */
gw_rc gw_klas_decide(const struct gw_decide_in *in, struct gw_decision *out,
                     struct gw_err *err) GW_WARN_UNUSED;

/* The same decision against another table (for tests of a new row). */
gw_rc gw_klas_decide_table(const struct gw_event_def *rows, size_t nrows,
                           const struct gw_decide_in *in,
                           struct gw_decision *out,
                           struct gw_err *err) GW_WARN_UNUSED;

#endif
