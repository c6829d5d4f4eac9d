/*
 * state.h - the licence case and what may happen to it.
 *
 * A case has one status of KLAS's own (the rows of GW_CASE_STATUS_ROWS
 * below, e.g. M Motiverad). Events move a case from one status to
 * another; each event may be triggered only by certain roles. The event
 * table in event.c is the one place that says what is allowed;
 * everything else is refused.
 */
#ifndef GW_KLAS_STATE_H
#define GW_KLAS_STATE_H

#include <stddef.h>

#include "core/err.h"

/*
 * The statuses, one row each: the enum value, the KLAS code, the Swedish
 * name, an English definition (the klas-case-status CodeSystem,
 * scripts/gen-profiles.py reads these rows), the FHIR Task.status a
 * reader sees, and what the status means (GW_ST_*). Adding a status is
 * adding a row here; its transitions are rows of event.c.
 */
#define GW_ST_LOCKED    0x01u /* the motivation cannot be changed */
#define GW_ST_DECIDED   0x02u /* LV has decided */
#define GW_ST_IN_FORCE  0x04u /* the licence counts: $check-licence,
                                 dispensing, a re-application's basis */
#define GW_ST_PURGEABLE 0x08u /* retention applies (the purge row) */

#define GW_CASE_STATUS_ROWS(X)                                               \
    X(M, "M", "Motiverad", "Motivation submitted; no application yet",       \
      "requested", GW_ST_PURGEABLE)                                          \
    X(A, "A", "Ansökt", "A pharmacy applied; not yet registered by LV",      \
      "received", GW_ST_LOCKED)                                              \
    X(H, "H", "Handläggs", "LV registered the application and handles it",   \
      "in-progress", GW_ST_LOCKED)                                           \
    X(KB, "KB", "Komplettering begärd", "LV asked for more information",     \
      "on-hold", GW_ST_LOCKED)                                               \
    X(K, "K", "Kompletterad", "Supplement sent to LV", "in-progress",        \
      GW_ST_LOCKED)                                                          \
    X(BEV, "Bev", "Beviljad", "Granted", "completed",                        \
      GW_ST_DECIDED | GW_ST_IN_FORCE | GW_ST_PURGEABLE)                      \
    X(AVS, "Avs", "Avslag", "Rejected on the merits", "rejected",            \
      GW_ST_DECIDED | GW_ST_PURGEABLE)                                       \
    X(AVI, "Avi", "Avvisad", "Dismissed without trial", "rejected",          \
      GW_ST_DECIDED | GW_ST_PURGEABLE)

#define GW_CASE_ENUM_(id, code, sv, en, task, flags) GW_CASE_##id,
enum gw_case_status {
    GW_CASE_NONE = 0, /* no case yet, or purged */
    GW_CASE_STATUS_ROWS(GW_CASE_ENUM_)
    GW_CASE_NSTATUS
};

/* The statuses retention applies to, as a constant GW_STATUS_BIT set (the
 * purge row's from). */
#define GW_CASE_PURGEABLE_(id, code, sv, en, task, flags)                    \
    | (((flags) & GW_ST_PURGEABLE) ? (1u << GW_CASE_##id) : 0u)
#define GW_STATUSES_PURGEABLE (0u GW_CASE_STATUS_ROWS(GW_CASE_PURGEABLE_))

enum gw_case_event {
    GW_EV_SUBMIT = 0,          /* prescriber submits a motivation */
    GW_EV_APPLY,               /* pharmacy applies on the motivation */
    GW_EV_REAPPLY,             /* pharmacy applies again on a granted licence */
    GW_EV_REGISTER,            /* LV has registered the application */
    GW_EV_REQUEST_SUPPLEMENT,  /* LV asks for komplettering */
    GW_EV_SUPPLEMENT,          /* prescriber or pharmacy supplements */
    GW_EV_SUPPLEMENT_RECEIVED, /* LV has received the supplement */
    GW_EV_GRANT,               /* decision: Beviljad */
    GW_EV_REJECT,              /* decision: Avslag */
    GW_EV_DISMISS,             /* decision: Avvisad */
    GW_EV_PURGE,               /* retention removes the case */
    GW_EV_NEVENT
};

/* The message rules validate/rules.c runs on the row's message (rows
 * sharing a code name the same set). */
enum gw_event_rules {
    GW_RULES_NONE = 0,         /* shape only (gateway events: no message) */
    GW_RULES_SUBMIT,           /* motivation: licence, patient, product */
    GW_RULES_APPLY,            /* application on a motivation */
    GW_RULES_REAPPLY,          /* application on a granted licence */
    GW_RULES_REGISTERED,       /* LV registered: refnr, status H */
    GW_RULES_SUPPLEMENT,       /* supplement: sender (Communication) */
    GW_RULES_SUPPLEMENT_REQUEST, /* request: recipient, content */
    GW_RULES_DECISION          /* decision: outcome, validity */
};

/* The roles in a case, each with its name (MessageDefinition senders,
 * logs): the enum and gw_role_name's table. GATEWAY is the gateway
 * itself: retention, delivery receipts. */
#define GW_ROLE_ROWS(X)                                                      \
    X(PRESCRIBER, "prescriber")                                              \
    X(PHARMACY, "pharmacy")                                                  \
    X(LV, "lv")                                                              \
    X(GATEWAY, "gateway")

#define GW_ROLE_ENUM_(id, name) GW_ROLE_##id,
enum gw_role {
    GW_ROLE_ROWS(GW_ROLE_ENUM_)
    GW_ROLE_NROLE
};

/* Bits of enum gw_role, and of enum gw_case_status, for sets of them. */
#define GW_ROLE_BIT(r) (1u << (r))
#define GW_STATUS_BIT(s) (1u << (s))

/* "M", "KB", "Bev", ...; "" for GW_CASE_NONE. Static strings. */
const char *gw_case_status_code(enum gw_case_status s);
/* Every status code, ", "-joined in row order ("M, A, ..., Avi"), for
 * texts that list them; always terminated; returns buf. */
const char *gw_case_status_list(char *buf, size_t size);
/* "Motiverad", "Komplettering begärd", ... */
const char *gw_case_status_name_sv(enum gw_case_status s);
/* Parses a status code exactly as gw_case_status_code writes it. */
gw_rc gw_case_status_parse(const char *code, enum gw_case_status *out)
    GW_WARN_UNUSED;
const char *gw_case_event_name(enum gw_case_event e); /* "apply", ... */
const char *gw_role_name(enum gw_role r);             /* "pharmacy", ... */

/*
 * Whether `role` may trigger `event` on a case in status `from`; on GW_OK,
 * *to is the status after it. For GW_EV_REAPPLY, `from` is the granted
 * case and *to the status of the NEW case it creates (the granted one
 * stays Bev); for GW_EV_PURGE *to is GW_CASE_NONE.
 * Refusals: GW_ESTATE when the event does not fit the status (a second
 * application on a motivation is one), GW_EFORBIDDEN when it fits but the
 * role may not trigger it. err names status, event and role, in English.
 */
gw_rc gw_case_transition(enum gw_case_status from, enum gw_case_event event,
                         enum gw_role role, enum gw_case_status *to,
                         struct gw_err *err) GW_WARN_UNUSED;

/* Whether status s has the flag (GW_ST_*) in its row. */
int gw_case_status_has(enum gw_case_status s, unsigned flag);
/* The motivation cannot be changed (GW_ST_LOCKED: from the application
 * until LV decides). */
int gw_case_motivation_locked(enum gw_case_status s);
/* Decided (GW_ST_DECIDED). */
int gw_case_is_decided(enum gw_case_status s);
/* The one status whose licence is in force (GW_ST_IN_FORCE): the code the
 * store's licence queries and the dispensing's check compare with. */
enum gw_case_status gw_case_status_in_force(void);
const char *gw_case_status_in_force_code(void);
/* The FHIR Task.status of a status ("draft" for GW_CASE_NONE). */
const char *gw_case_status_task(enum gw_case_status s);

/* Months within which a granted licence can be applied for again. */
#define GW_REAPPLY_MONTHS 36
/* Whether `today` is within GW_REAPPLY_MONTHS of the decision date (both
 * y, m, d); the window closes on the same day of the month 36 months on. */
int gw_case_reapply_open(int dy, int dm, int dd, int ty, int tm, int td);

/*
 * Who may supplement a case in KB: the prescriber who wrote the motivation,
 * or a colleague at the same clinic (HSA-ids of the care unit), or the
 * pharmacy that applied (by GLN). Arguments are the case's prescriber and
 * clinic HSA-ids and pharmacy GLN, and the caller's; NULL never matches.
 * GW_OK or GW_EFORBIDDEN with a reason.
 */
gw_rc gw_case_may_supplement(enum gw_role role, const char *case_prescriber,
                             const char *case_clinic, const char *case_gln,
                             const char *caller_id, const char *caller_clinic,
                             struct gw_err *err) GW_WARN_UNUSED;

#endif
