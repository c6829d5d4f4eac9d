/*
 * event.c - the KLAS event table (event.h) and the decision taken on it.
 *
 * The rows are src/klas/events.tsv (the state machine, the choices made
 * where the sources are silent, and what each column means are written
 * there), turned into GW_KLAS_EVENT_ROWS by the build
 * (cmake/GwTable.cmake). Every transition not in the table is refused.
 *
 * gw_klas_decide is pure: everything it needs comes in through
 * struct gw_decide_in, so the table is tested without a store.
 */
#include "klas/event.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "klas/events_rows.h"

#define R(role) GW_ROLE_BIT(role)
#define S(st) GW_STATUS_BIT(st)

/* The words of the table's columns (events.tsv's header names each
 * column's macro). A from word is a status, or PURGEABLE: every status
 * retention applies to (GW_ST_PURGEABLE in state.h). */
#define EV(e) GW_EV_##e
#define RULES(r) GW_RULES_##r
#define ROLE(r) R(GW_ROLE_##r)
#define FROM(st) FROM_##st
#define CASE(st) GW_CASE_##st
#define REF(r) GW_CASE_REF_##r
#define ID(i) GW_ID_##i
#define NOTIFY(n) GW_NOTIFY_##n
#define FX(fx) GW_FX_##fx
enum {
#define FROM_(id, code, sv, en, task, flags) FROM_##id = S(GW_CASE_##id),
    GW_CASE_STATUS_ROWS(FROM_)
#undef FROM_
    FROM_NONE = S(GW_CASE_NONE),
    FROM_PURGEABLE = GW_STATUSES_PURGEABLE
};

const struct gw_event_def gw_klas_events[] = {
#define ROW(name_, code_, outcome_, event_, rules_, roles_, from_, to_, ref_,  \
            identity_, patient_, supplement_, window_, consent_, hsa_,         \
            adds_view_, notify_, topic_, lv_, effects_, soap_)                 \
    {.name = name_, .code = code_, .outcome = outcome_, .event = event_,       \
     .rules = rules_, .roles = roles_, .from = from_, .to = to_, .ref = ref_,  \
     .identity = identity_, .patient = patient_, .supplement = supplement_,    \
     .window = window_, .consent = consent_, .hsa = hsa_,                      \
     .adds_view = adds_view_, .notify = notify_, .topic = topic_, .lv = lv_,   \
     .effects = effects_, .soap = soap_},
    GW_KLAS_EVENT_ROWS(ROW)
#undef ROW
};
const size_t gw_klas_nevents =
    sizeof(gw_klas_events) / sizeof(gw_klas_events[0]);

static const struct gw_event_def *
by_event(enum gw_case_event e, enum gw_case_status from, int fitting)
{
    for (size_t i = 0; i < gw_klas_nevents; i++)
        if (gw_klas_events[i].event == e &&
            (!fitting || (gw_klas_events[i].from & S(from))))
            return &gw_klas_events[i];
    return NULL;
}

const char *
gw_case_event_name(enum gw_case_event e)
{
    const struct gw_event_def *d = by_event(e, GW_CASE_NONE, 0);

    return d != NULL ? d->name : "?";
}

const struct gw_event_def *
gw_klas_event_by_code(const char *code)
{
    for (size_t i = 0; code != NULL && i < gw_klas_nevents; i++)
        if (gw_klas_events[i].code != NULL &&
            strcmp(gw_klas_events[i].code, code) == 0)
            return &gw_klas_events[i];
    return NULL;
}

static int
is_decision(const struct gw_event_def *d)
{
    return d->code != NULL && strcmp(d->code, "decision") == 0 &&
           d->outcome != NULL;
}

const struct gw_event_def *
gw_klas_decision(const char *what)
{
    for (size_t i = 0; what != NULL && i < gw_klas_nevents; i++)
        if (is_decision(&gw_klas_events[i]) &&
            strcmp(gw_klas_events[i].outcome, what) == 0)
            return &gw_klas_events[i];
    return NULL;
}

const char *
gw_klas_decision_outcomes(const char *sep, char *buf, size_t size)
{
    size_t at = 0;

    if (size == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < gw_klas_nevents && at < size; i++) {
        int n;
        if (!is_decision(&gw_klas_events[i]))
            continue;
        n = snprintf(buf + at, size - at, "%s%s", at ? sep : "",
                     gw_klas_events[i].outcome);
        if (n < 0)
            break;
        at += (size_t)n;
    }
    return buf;
}

const char *
gw_klas_event_topic(const char *code)
{
    const struct gw_event_def *d = gw_klas_event_by_code(code);

    return d != NULL ? d->topic : NULL;
}

int
gw_klas_topic_known(const char *name)
{
    for (size_t i = 0; name != NULL && i < gw_klas_nevents; i++)
        if (gw_klas_events[i].topic != NULL &&
            strcmp(gw_klas_events[i].topic, name) == 0)
            return 1;
    return 0;
}

static const char *
list_item(const struct gw_event_def *d, enum gw_klas_list what)
{
    return what == GW_KLAS_TOPICS ? d->topic : d->code;
}

const char *
gw_klas_list(enum gw_klas_list what, const char *last, char *buf, size_t size)
{
    size_t n = 0, total = 0, k = 0;

    /* Count the distinct items first, to know which one is the last. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < gw_klas_nevents; i++) {
            const char *v = list_item(&gw_klas_events[i], what);
            int seen = v == NULL;
            for (size_t j = 0; j < i && !seen; j++)
                seen = list_item(&gw_klas_events[j], what) != NULL &&
                       strcmp(list_item(&gw_klas_events[j], what), v) == 0;
            if (seen)
                continue;
            if (pass == 0) {
                total++;
                continue;
            }
            if (n < size)
                n += (size_t)snprintf(buf + n, size - n, "%s%s",
                                      k == 0              ? ""
                                      : k + 1 == total    ? last
                                                          : ", ",
                                      v);
            k++;
        }
    if (size > 0 && n == 0)
        buf[0] = '\0';
    return buf;
}

int
gw_klas_event_sets(const char *code, const char *status, unsigned effects)
{
    for (size_t i = 0; code != NULL && status != NULL && i < gw_klas_nevents;
         i++) {
        const struct gw_event_def *d = &gw_klas_events[i];
        if (d->code != NULL && strcmp(d->code, code) == 0 &&
            d->to != GW_CASE_NONE &&
            strcmp(gw_case_status_code(d->to), status) == 0 &&
            (d->effects & effects) == effects)
            return 1;
    }
    return 0;
}

const char *
gw_klas_soap_events(const char *name, char *buf, size_t size)
{
    size_t n = 0;

    if (size > 0)
        buf[0] = '\0';
    for (size_t i = 0; name != NULL && i < gw_klas_nevents && n < size; i++) {
        const struct gw_event_def *d = &gw_klas_events[i];
        int seen = 0;
        if (d->soap == NULL || d->code == NULL || strcmp(d->soap, name) != 0)
            continue;
        for (size_t j = 0; j < i && !seen; j++)
            seen = gw_klas_events[j].soap != NULL &&
                   gw_klas_events[j].code != NULL &&
                   strcmp(gw_klas_events[j].soap, name) == 0 &&
                   strcmp(gw_klas_events[j].code, d->code) == 0;
        if (!seen)
            n += (size_t)snprintf(buf + n, size - n, "%s%s ",
                                  n == 0 ? " " : "", d->code);
    }
    return buf;
}

int
gw_klas_event_creates_case(const char *code)
{
    const struct gw_event_def *d = gw_klas_event_by_code(code);

    return d != NULL && d->ref == GW_CASE_REF_NONE && d->code != NULL;
}

int
gw_klas_event_adds_view(const char *code)
{
    const struct gw_event_def *d = gw_klas_event_by_code(code);

    return d != NULL && d->adds_view;
}

static const char *
status_label(enum gw_case_status s)
{
    return s == GW_CASE_NONE ? "(no case)" : gw_case_status_code(s);
}

/* The refusal of an event that does not fit the status. */
static gw_rc
refuse_status(const struct gw_event_def *d, enum gw_case_status from,
              struct gw_err *err)
{
    if (d->event == GW_EV_APPLY && from != GW_CASE_NONE)
        return gw_err_set(err, GW_ESTATE, NULL,
                          "the motivation already has an application "
                          "(status %s); one motivation leads to at most "
                          "one application",
                          status_label(from));
    if (d->ref == GW_CASE_REF_NONE)
        return gw_err_set(err, GW_ESTATE, NULL,
                          "a case with this referensnummer already "
                          "exists (status %s)",
                          status_label(from));
    return gw_err_set(err, GW_ESTATE, NULL,
                      "event %s is not allowed in status %s", d->name,
                      status_label(from));
}

/* Status and role against one row: GW_ESTATE, then GW_EFORBIDDEN. */
static gw_rc
fits(const struct gw_event_def *d, enum gw_case_status from,
     enum gw_role role, struct gw_err *err)
{
    if (d == NULL || !(d->from & S(from)))
        return d == NULL ? gw_err_set(err, GW_ESTATE, NULL,
                                      "event %s is not allowed in status %s",
                                      "?", status_label(from))
                         : refuse_status(d, from, err);
    if (!(d->roles & R(role)))
        return gw_err_set(err, GW_EFORBIDDEN, NULL,
                          "role %s may not trigger event %s (status %s)",
                          gw_role_name(role), d->name, status_label(from));
    return GW_OK;
}

gw_rc
gw_case_transition(enum gw_case_status from, enum gw_case_event event,
                   enum gw_role role, enum gw_case_status *to,
                   struct gw_err *err)
{
    const struct gw_event_def *d;
    gw_rc rc;

    if ((unsigned)from >= GW_CASE_NSTATUS || (unsigned)event >= GW_EV_NEVENT ||
        (unsigned)role >= GW_ROLE_NROLE)
        return gw_err_set(err, GW_EINVAL, NULL, "unknown status, event or role");
    d = by_event(event, from, 1);
    if (d == NULL)
        d = by_event(event, from, 0);
    rc = fits(d, from, role, err);
    if (rc == GW_OK && to != NULL)
        *to = d->to;
    return rc;
}

/* The case role a client system acts in; 0 if it has none. */
static int
case_role(enum gw_client_role r, enum gw_role *out)
{
    switch (r) {
    case GW_CLIENT_EHR:
        *out = GW_ROLE_PRESCRIBER;
        return 1;
    case GW_CLIENT_PHARMACY:
        *out = GW_ROLE_PHARMACY;
        return 1;
    case GW_CLIENT_LV:
        *out = GW_ROLE_LV;
        return 1;
    default:
        return 0;
    }
}

/*
 * The row a message means in table `rows`: its code, the outcome it names
 * (decisions), and among those the one that fits the status (a
 * registration confirms the application in A, the supplement in K);
 * if none fits, the first, so that the refusal names its event.
 */
static gw_rc
find_row(const struct gw_event_def *rows, size_t n, const char *code,
         const char *outcome, enum gw_case_status current,
         const struct gw_event_def **out, struct gw_err *err)
{
    const struct gw_event_def *first = NULL;
    int has_outcomes = 0, known = 0;
    char names[64] = "";

    for (size_t i = 0; code != NULL && i < n; i++) {
        const struct gw_event_def *d = &rows[i];
        if (d->code == NULL || strcmp(d->code, code) != 0)
            continue;
        known = 1;
        if (d->outcome != NULL) {
            size_t l = strlen(names);
            has_outcomes = 1;
            snprintf(names + l, sizeof(names) - l, "%s%s",
                     l == 0 ? "" : ", ", d->outcome);
            if (outcome == NULL || strcmp(d->outcome, outcome) != 0)
                continue;
        }
        if (first == NULL)
            first = d;
        if (d->from & S(current)) {
            *out = d;
            return GW_OK;
        }
    }
    if (first != NULL) {
        *out = first;
        return GW_OK;
    }
    if (known && has_outcomes && outcome != NULL)
        return gw_err_set(err, GW_EINVAL, "Task.businessStatus",
                          "a decision is one of %s", names);
    return gw_err_set(err, GW_EINVAL, "MessageHeader.eventCoding",
                      "unknown event");
}

gw_rc
gw_access_event(const char *code, enum gw_case_status current,
                const char *decision, enum gw_case_event *out,
                struct gw_err *err)
{
    const struct gw_event_def *d = NULL;
    gw_rc rc = find_row(gw_klas_events, gw_klas_nevents, code, decision,
                        current, &d, err);

    if (rc == GW_OK)
        *out = d->event;
    return rc;
}

gw_rc
gw_access_send(const struct gw_principal *p, enum gw_case_status from,
               enum gw_case_event event, enum gw_case_status *to,
               struct gw_err *err)
{
    enum gw_role role;

    if (!case_role(p->role, &role))
        return gw_err_set(err, GW_EFORBIDDEN, NULL,
                          "a %s client sends no case messages",
                          gw_client_role_name(p->role));
    return gw_case_transition(from, event, role, to, err);
}

gw_rc
gw_klas_check_sender(const struct gw_principal *who,
                     const struct gw_msg_facts *f, struct gw_err *err)
{
    const struct gw_event_def *d = gw_klas_event_by_code(f->event);
    enum gw_event_identity id = d != NULL ? d->identity : GW_ID_NONE;
    const char *user = who->user, *gln = who->gln ? who->gln : "";

    switch (who->role) {
    case GW_CLIENT_EHR:
        if (user == NULL || user[0] == '\0')
            return gw_err_set(err, GW_EUNAUTH, NULL,
                              "the EHR must name its user (X-Klasgw-User)");
        if ((id == GW_ID_PRESCRIBER && strcmp(user, f->prescriber_hsa) != 0) ||
            (id == GW_ID_SENDER && strcmp(user, f->sender_hsa) != 0))
            return gw_err_set(err, GW_EFORBIDDEN, "Practitioner.identifier",
                              "the prescriber of the message is not the "
                              "user the EHR names");
        return GW_OK;
    case GW_CLIENT_PHARMACY:
        if (id == GW_ID_OWNER && strcmp(f->pharmacy_gln, gln) != 0)
            return gw_err_set(err, GW_EFORBIDDEN, "Task.owner",
                              "a pharmacy applies in its own name (GLN)");
        if (id == GW_ID_SENDER && f->sender_kind == 'O' &&
            strcmp(f->sender_gln, gln) != 0)
            return gw_err_set(err, GW_EFORBIDDEN, "Communication.sender",
                              "a pharmacy supplements in its own name");
        return GW_OK;
    default:
        return GW_OK; /* LV and operators: the decision refuses them */
    }
}

static void
ymd(int64_t ms, int *y, int *m, int *d)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    *y = tm.tm_year + 1900;
    *m = tm.tm_mon + 1;
    *d = tm.tm_mday;
}

/* What the sender must prove about the case it names. */
static gw_rc
check_case(const struct gw_event_def *d, const struct gw_decide_in *in,
           struct gw_err *err)
{
    const struct gw_case_facts *k = in->kase;
    const struct gw_msg_facts *f = in->msg;
    int pharmacy = in->who->role == GW_CLIENT_PHARMACY;

    /* A pharmacy names the patient of an enskild case as the pharmacy
     * found it; a mismatch is as if the case did not exist. */
    if (d->patient && pharmacy && k->licence_type != NULL &&
        strcmp(k->licence_type, "EH") == 0 &&
        (k->patient_id == NULL || strcmp(k->patient_id, f->patient_id) != 0))
        return gw_err_set(err, GW_ENOTFOUND, "Task.for",
                          "no case with that referensnummer and patient");
    if (d->supplement) {
        gw_rc rc = gw_case_may_supplement(
            pharmacy ? GW_ROLE_PHARMACY : GW_ROLE_PRESCRIBER,
            k->prescriber_hsa, k->clinic_hsa, k->pharmacy_gln,
            pharmacy ? in->who->gln : f->sender_hsa, f->sender_clinic_hsa,
            err);
        if (rc != GW_OK)
            return rc;
    }
    if (d->window) {
        int y, m, dd, ty, tm, td;
        ymd(k->decided_ms, &y, &m, &dd);
        ymd(in->now_ms, &ty, &tm, &td);
        if (!gw_case_reapply_open(y, m, dd, ty, tm, td))
            return gw_err_set(err, GW_ESTATE, "Task.basedOn",
                              "the licence was granted more than 36 "
                              "months ago: a new motivation is needed");
    }
    return GW_OK;
}

static const char *
nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

gw_rc
gw_klas_decide_table(const struct gw_event_def *rows, size_t nrows,
                     const struct gw_decide_in *in, struct gw_decision *out,
                     struct gw_err *err)
{
    const struct gw_event_def *d = NULL;
    enum gw_case_status from = in->kase ? in->kase->status : GW_CASE_NONE;
    enum gw_role role;
    gw_rc rc;

    memset(out, 0, sizeof(*out));
    rc = find_row(rows, nrows, in->msg->event, in->msg->status, from, &d,
                  err);
    if (rc != GW_OK)
        return rc;
    if (!case_role(in->who->role, &role))
        return gw_err_set(err, GW_EFORBIDDEN, NULL,
                          "a %s client sends no case messages",
                          gw_client_role_name(in->who->role));
    rc = fits(d, from, role, err);
    if (rc == GW_OK && d->ref != GW_CASE_REF_NONE && in->kase == NULL)
        rc = gw_err_set(err, GW_ENOTFOUND, "Task.identifier",
                        "no case with that referensnummer");
    if (rc == GW_OK && in->kase != NULL)
        rc = check_case(d, in, err);
    /* Consent to processing: a prescriber seen before must have renewed
     * it when due; the first submission records it. */
    if (rc == GW_OK && d->consent && in->consent != NULL && in->consent->known)
        rc = gw_access_consent(in->consent->consented_ms,
                               in->consent->last_applied_ms,
                               in->consent->last_active_ms, in->now_ms, err);
    if (rc != GW_OK)
        return rc;
    out->def = d;
    out->event = d->event;
    out->from = from;
    out->to = d->to;
    out->lv = d->lv;
    out->effects = d->effects;
    out->check_hsa =
        d->hsa == 1 || (d->hsa == 2 && in->who->role == GW_CLIENT_EHR);
    switch (d->notify) {
    case GW_NOTIFY_CHOSEN:
        out->notify_gln = nonempty(in->msg->pharmacy_gln);
        break;
    case GW_NOTIFY_CASE:
        out->notify_gln = in->kase ? nonempty(in->kase->pharmacy_gln) : NULL;
        break;
    case GW_NOTIFY_CASE_IF_ADDR:
        out->notify_gln = in->kase && in->msg->recipient_kind == 'O'
                              ? nonempty(in->kase->pharmacy_gln)
                              : NULL;
        break;
    default:
        break;
    }
    return GW_OK;
}

gw_rc
gw_klas_decide(const struct gw_decide_in *in, struct gw_decision *out,
               struct gw_err *err)
{
    return gw_klas_decide_table(gw_klas_events, gw_klas_nevents, in, out, err);
}
