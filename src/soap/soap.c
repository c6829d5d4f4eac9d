/*
 * soap.c - inbound RIV-TA SOAP: contract check, mapping to and from FHIR,
 * and the one pipeline. See soap.h for the flow.
 *
 * The interaction table below is the whole contract surface: which
 * Responder namespace each interaction has, what it does (an event, a
 * search, a ping) and, for events, which klas-event codes it may carry.
 * Only the contracts the gateway produces are here: the ones it calls on
 * others (LV's Register*, HSA's GetCredentialsForPerson...) are
 * documentation in wsdl/, neither served nor answered (404 like any
 * unknown name).
 *
 * What this module does not do: decide anything about a case (pipeline/,
 * klas/), authenticate (http/ does, before we are called), or log request
 * content (message may hold values the caller sent; only result and
 * errorCode reach the log).
 *
 * Invariants: every reply is a well-formed envelope of the caller's SOAP
 * version (SOAP 1.1 when the envelope could not be read); an answer with
 * result OK means the pipeline returned GW_OK.
 */
#include "soap/soap.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/file.h"
#include "fhir/build.h"
#include "fhir/xmldoc.h"
#include "klas/access.h"
#include "klas/event.h"
#include "map/envelope.h"
#include "map/xslt.h"
#include "validate/xsd.h"

#define GW_SOAP_REPLY_MAX (64u << 20) /* cap on one built reply */
#define GW_SOAP_TEXT_MAX 4000         /* XSD messages kept in message */
#define REFUSAL_NS "urn:klasgw:refusal"

enum iface_kind { K_EVENT, K_CASES, K_MOTIVATION, K_CHECK, K_DISPENSE, K_PING };

struct iface {
    const char *name;
    const char *ns; /* Responder namespace */
    enum iface_kind kind;
    /* Who may call it, decided in klas/ (gw_access_operation); NO_OP: the
     * pipeline decides (events by klas/event.c, CheckLicense and
     * RecordDispensing by their operation rows, Ping: anyone). */
    int op;
};
#define NO_OP (-1)

#define KLAS_NS(n) "urn:riv:klas:" n "Responder:1"
static const struct iface ifaces[] = {
    /* K_EVENT: the klas-event codes each carries are the event rows'
     * (.soap, klas/event.c). */
    {"SubmitLicenseMotivation", KLAS_NS("SubmitLicenseMotivation"), K_EVENT,
     NO_OP},
    {"SupplementLicenseMotivation", KLAS_NS("SupplementLicenseMotivation"),
     K_EVENT, NO_OP},
    {"CreateLicenseApplication", KLAS_NS("CreateLicenseApplication"), K_EVENT,
     NO_OP},
    {"ReportCaseRegistered", KLAS_NS("ReportCaseRegistered"), K_EVENT, NO_OP},
    {"RequestSupplement", KLAS_NS("RequestSupplement"), K_EVENT, NO_OP},
    {"ReportDecision", KLAS_NS("ReportDecision"), K_EVENT, NO_OP},
    {"GetLicenseCases", KLAS_NS("GetLicenseCases"), K_CASES, GW_OP_MY_CASES},
    {"GetLicenseMotivation", KLAS_NS("GetLicenseMotivation"), K_MOTIVATION,
     GW_OP_CASE_LOOKUP},
    {"CheckLicense", KLAS_NS("CheckLicense"), K_CHECK, NO_OP},
    {"RecordDispensing", KLAS_NS("RecordDispensing"), K_DISPENSE, NO_OP},
    {"PingForConfiguration",
     "urn:riv:itintegration:monitoring:PingForConfigurationResponder:1", K_PING,
     NO_OP},
};
#define NIFACES (sizeof(ifaces) / sizeof(ifaces[0]))

struct gw_soap {
    struct gw_soap_opts o;
    char *wsdl_dir;
    struct gw_xsd *schema[NIFACES];
    struct gw_xslt *to_fhir, *to_soap;
};

/* --- set-up ------------------------------------------------------------ */

gw_rc
gw_soap_new(const struct gw_soap_opts *o, struct gw_soap **out,
            struct gw_err *err)
{
    struct gw_soap *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL)
        return GW_ENOMEM;
    s->o = *o;
    s->wsdl_dir = strdup(o->wsdl_dir);
    if (s->wsdl_dir == NULL) {
        gw_soap_free(s);
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < NIFACES; i++) {
        s->schema[i] = gw_xsd_responder(o->wsdl_dir, ifaces[i].name, err);
        if (s->schema[i] == NULL) {
            gw_soap_free(s);
            return GW_ECONFIG;
        }
    }
    s->to_fhir = gw_xslt_load(o->xslt_dir, "soap-to-fhir-message.xsl", err);
    s->to_soap = s->to_fhir
                     ? gw_xslt_load(o->xslt_dir, "fhir-to-soap-answer.xsl", err)
                     : NULL;
    if (s->to_soap == NULL) {
        gw_soap_free(s);
        return GW_ECONFIG;
    }
    *out = s;
    return GW_OK;
}

void
gw_soap_free(struct gw_soap *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < NIFACES; i++)
        gw_xsd_free(s->schema[i]);
    gw_xslt_free(s->to_fhir);
    gw_xslt_free(s->to_soap);
    free(s->wsdl_dir);
    free(s);
}

void
gw_soap_reply_release(struct gw_soap_reply *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

/* --- building replies ------------------------------------------------- */

static const char *
env_ns(enum gw_soap_version v)
{
    return v == GW_SOAP_12 ? GW_SOAP12_NS : GW_SOAP11_NS;
}

static const char *
env_ctype(enum gw_soap_version v)
{
    return v == GW_SOAP_12 ? "application/soap+xml; charset=utf-8"
                           : "text/xml; charset=utf-8";
}

static void
set_body(struct gw_soap_reply *out, struct gw_buf *b)
{
    size_t n = 0;

    out->body = gw_buf_take(b, &n);
    out->len = out->body ? n : 0;
}

/* A SOAP fault: sender = the request was at fault (Client / Sender). */
static void
fault(struct gw_soap_reply *out, enum gw_soap_version v, int http, int sender,
      const char *error_id, const char *text)
{
    struct gw_buf b;
    const char *ns = env_ns(v);
    gw_rc rc;

    gw_buf_init(&b, GW_SOAP_REPLY_MAX);
    rc = gw_buf_appendf(&b,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                        "<soap:Envelope xmlns:soap=\"%s\"><soap:Body>"
                        "<soap:Fault>",
                        ns);
    if (rc == GW_OK && v == GW_SOAP_12)
        rc = gw_buf_appendf(&b,
                            "<soap:Code><soap:Value>soap:%s</soap:Value>"
                            "</soap:Code><soap:Reason><soap:Text "
                            "xml:lang=\"en\">",
                            sender ? "Sender" : "Receiver");
    else if (rc == GW_OK)
        rc = gw_buf_appendf(&b, "<faultcode>soap:%s</faultcode><faultstring>",
                            sender ? "Client" : "Server");
    if (rc == GW_OK && error_id && *error_id) {
        rc = gw_xml_escape(&b, error_id);
        if (rc == GW_OK)
            rc = gw_buf_append_str(&b, ": ");
    }
    if (rc == GW_OK)
        rc = gw_xml_escape(&b, text);
    if (rc == GW_OK)
        rc =
            gw_buf_append_str(&b, v == GW_SOAP_12 ? "</soap:Text></soap:Reason>"
                                                  : "</faultstring>");
    if (rc == GW_OK)
        rc = gw_buf_append_str(&b, "</soap:Fault></soap:Body>"
                                   "</soap:Envelope>");
    out->status = http;
    out->content_type = env_ctype(v);
    snprintf(out->result, sizeof(out->result), "FAULT");
    snprintf(out->error_id, sizeof(out->error_id), "%s",
             error_id ? error_id : "");
    if (rc == GW_OK)
        set_body(out, &b);
    gw_buf_release(&b);
}

/* Wraps the answer element (root of ans) in an envelope. */
static gw_rc
wrap(struct gw_soap_reply *out, enum gw_soap_version v,
     const struct gw_xml *ans)
{
    struct gw_buf b;
    gw_rc rc;

    gw_buf_init(&b, GW_SOAP_REPLY_MAX);
    rc = gw_buf_appendf(&b,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                        "<soap:Envelope xmlns:soap=\"%s\"><soap:Header/>"
                        "<soap:Body>",
                        env_ns(v));
    if (rc == GW_OK)
        rc = gw_xml_append_root(ans, &b);
    if (rc == GW_OK)
        rc = gw_buf_append_str(&b, "</soap:Body></soap:Envelope>");
    if (rc == GW_OK) {
        out->status = 200;
        out->content_type = env_ctype(v);
        set_body(out, &b);
    }
    gw_buf_release(&b);
    return rc;
}

/* How many of the first n bytes of s end on a whole UTF-8 character. */
static size_t
utf8_cut(const char *s, size_t n)
{
    size_t start = n;
    unsigned char c;
    size_t need;

    while (start > 0 && ((unsigned char)s[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return 0;
    c = (unsigned char)s[start - 1];
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return n - (start - 1) >= need ? n : start - 1;
}

/* An XPath string parameter: quoted with whichever quote it lacks
 * (values with both kinds are cut at the first double quote), and cut on
 * a character boundary so that it always fits buf, quotes included. */
static void
xparam(char *buf, size_t size, const char *v)
{
    int dq = strchr(v, '\'') != NULL;
    size_t n = dq ? strcspn(v, "\"") : strlen(v);

    if (n > size - 3)
        n = size - 3;
    n = utf8_cut(v, n);
    snprintf(buf, size, "%c%.*s%c", dq ? '"' : '\'', (int)n, v,
             dq ? '"' : '\'');
}

/*
 * The SOAP answer of interaction i, from the FHIR answer doc (may be
 * NULL): result OK/ERROR with errorCode, subCode (the gw_rc's name),
 * logId and message, then the interaction's
 * fields (kind "receipt", "cases", "motivation" or "none").
 */
static void
answer(const struct gw_soap *s, const struct iface *i, enum gw_soap_version v,
       const char *kind, const char *log_id, gw_rc rc, const char *text,
       const struct gw_fhir_doc *fhir, struct gw_soap_reply *out)
{
    char p_op[96], p_ns[160], p_kind[24], p_code[16], p_err[24], p_sub[40];
    char p_log[64], p_text[GW_SOAP_TEXT_MAX + 1400];
    const char *params[20];
    const char *error_id = gw_rc_riv_error_id(rc);
    struct gw_xml *empty = NULL, *res;
    int n = 0;

    xparam(p_op, sizeof(p_op), i->name);
    xparam(p_ns, sizeof(p_ns), i->ns);
    xparam(p_kind, sizeof(p_kind), kind);
    xparam(p_code, sizeof(p_code), rc == GW_OK ? "OK" : "ERROR");
    xparam(p_err, sizeof(p_err), error_id);
    xparam(p_sub, sizeof(p_sub), rc == GW_OK ? "" : gw_rc_name(rc));
    xparam(p_log, sizeof(p_log), log_id ? log_id : "");
    xparam(p_text, sizeof(p_text), text ? text : "");
    params[n++] = "op", params[n++] = p_op;
    params[n++] = "ns", params[n++] = p_ns;
    params[n++] = "kind", params[n++] = p_kind;
    params[n++] = "result-code", params[n++] = p_code;
    params[n++] = "error-code", params[n++] = p_err;
    params[n++] = "sub-code", params[n++] = p_sub;
    params[n++] = "log-id", params[n++] = p_log;
    params[n++] = "text", params[n++] = p_text;
    params[n] = NULL;
    if (fhir != NULL)
        res = gw_xslt_run_fhir(s->to_soap, fhir, params);
    else if (gw_xml_new(NULL, NULL, "none", &empty) == GW_OK)
        res = gw_xslt_run(s->to_soap, empty, params);
    else
        res = NULL;
    gw_xml_free(empty);
    if (res == NULL || wrap(out, v, res) != GW_OK) {
        fault(out, v, 500, 0, "TRANSFORMATION_ERROR",
              "the answer could not be mapped to SOAP");
    } else {
        snprintf(out->result, sizeof(out->result), "%s",
                 rc == GW_OK ? "OK" : "ERROR");
        snprintf(out->error_id, sizeof(out->error_id), "%s", error_id);
    }
    gw_xml_free(res);
}

/* Every refusal of a request, faults included, is audited, counted and
 * logged as the pipeline's one path does it (gw_pipeline_refuse): action
 * is the interaction's name (or "soap" when there is none); the audit
 * gets field, never a detail text, which may quote the request. The
 * answer built there is dropped: the caller gets the SOAP one. */
static void
refused(const struct gw_soap *s, const struct gw_call *c, gw_rc rc,
        const char *action, const char *field)
{
    struct gw_answer a;

    if (s->o.pipeline == NULL)
        return;
    memset(&a, 0, sizeof(a));
    gw_pipeline_refuse(s->o.pipeline, c, &a, rc, NULL, NULL, action, NULL,
                       field);
    gw_answer_release(&a);
}

/* A refusal found before the pipeline: INVALID_REQUEST (or the rc's
 * errorCode) naming the field, or a fault for technical errors. An
 * interaction whose response has no result (PingForConfiguration) is
 * refused with a SOAP fault too: an ERROR body would break its schema. */
static void
refuse(const struct gw_soap *s, const struct iface *i, enum gw_soap_version v,
       const struct gw_call *c, gw_rc rc, const char *field, const char *detail,
       struct gw_soap_reply *out)
{
    char text[GW_SOAP_TEXT_MAX + 1200];
    const char *log_id = c->request_id;

    refused(s, c, rc, i->name, field);
    if (gw_rc_is_retryable(rc) || rc == GW_EINTERNAL || rc == GW_ENOMEM) {
        fault(out, v, 500, 0, gw_rc_riv_error_id(rc),
              detail && *detail ? detail : gw_rc_message(rc));
        return;
    }
    snprintf(text, sizeof(text), "%s%s%s / %s%s%s",
             field && *field ? field : "", field && *field ? ": " : "",
             gw_rc_message_sv(rc), gw_rc_message(rc),
             detail && *detail ? ": " : "", detail ? detail : "");
    if (i->kind == K_PING)
        fault(out, v, 500, 1, gw_rc_riv_error_id(rc), text);
    else
        answer(s, i, v, "none", log_id, rc, text, NULL, out);
}

/* --- the request's fields --------------------------------------------- */

/* The first request field too long for its buffer, if any. */
struct cut {
    const char *field;
    size_t cap;
};

/* The text of parent's child `name` into buf, or NULL if absent. A value
 * longer than size - 1 is never cut: buf is left "" and the field and its
 * cap go to *cut, and the caller refuses the request (refuse_cut). */
static const char *
child_text(struct cut *cut, const struct gw_xml *req, const char *name,
           char *buf, size_t size)
{
    gw_rc rc = gw_xml_child_text(req, name, 0, buf, size);

    if (rc == GW_ENOTFOUND)
        return NULL;
    if (rc != GW_OK && cut->field == NULL) {
        cut->field = name;
        cut->cap = size - 1;
    }
    return buf;
}

/* xs:date and xs:decimal values may come with spaces around them. */
static const char *
trimmed(char *v)
{
    size_t n;

    if (v == NULL)
        return NULL;
    while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
        memmove(v, v + 1, strlen(v));
    n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' ||
                     v[n - 1] == '\r'))
        v[--n] = '\0';
    return v;
}

/* The pipeline's question a query interaction's fields fill. */
union query {
    struct gw_task_search search;  /* GetLicenseCases, GetLicenseMotivation */
    struct gw_licence_check check; /* CheckLicense */
};
#define SEARCH(m) offsetof(union query, search.m)
#define CHECK(m) offsetof(union query, check.m)
#define NO_MEMBER ((size_t)-1)

/* The fields of the requests read here: the interaction kind, the
 * element, its cap in bytes (a longer value refuses the request, naming
 * both; the XSD's bounds and more), whether spaces around it go (xs:date,
 * xs:decimal), the member of union query its text goes to as it is
 * (NO_MEMBER: its handler reads it, see value()) and, for
 * RecordDispensing, the Parameters entry it becomes (entries in the
 * table's order). */
struct field {
    enum iface_kind kind;
    const char *name;
    size_t cap;
    int trim;
    size_t member;
    const char *param, *type;
};
static const struct field fields[] = {
    {K_CASES, "referenceNumber", 15, 0, SEARCH(identifier), NULL, NULL},
    {K_CASES, "licenceType", 7, 0, SEARCH(licence_type), NULL, NULL},
    {K_CASES, "drug", 199, 0, SEARCH(drug), NULL, NULL},
    {K_CASES, "changedFrom", 39, 0, NO_MEMBER, NULL, NULL},
    {K_CASES, "changedTo", 39, 0, NO_MEMBER, NULL, NULL},
    {K_CASES, "maxHits", 7, 0, NO_MEMBER, NULL, NULL},
    {K_MOTIVATION, "referenceNumber", 15, 0, SEARCH(identifier), NULL, NULL},
    {K_MOTIVATION, "patientId", 15, 0, SEARCH(patient), NULL, NULL},
    {K_CHECK, "productId", 4 * 160 + 7, 0, CHECK(product), NULL, NULL},
    {K_CHECK, "patientId", 15, 0, CHECK(patient), NULL, NULL},
    {K_CHECK, "careUnitHsaId", 39, 0, CHECK(unit), NULL, NULL},
    {K_CHECK, "administrationHsaId", 39, 0, CHECK(administration), NULL, NULL},
    {K_CHECK, "date", 63, 1, CHECK(on), NULL, NULL},
    {K_DISPENSE, "dispensingId", 79, 0, NO_MEMBER, "identifier", "valueString"},
    {K_DISPENSE, "referenceNumber", 15, 0, NO_MEMBER, "licence", "valueString"},
    {K_DISPENSE, "amount", 63, 1, NO_MEMBER, "amount", "valueDecimal"},
    {K_DISPENSE, "kind", 15, 0, NO_MEMBER, "kind", "valueCode"},
    {K_DISPENSE, "patientId", 15, 0, NO_MEMBER, "patient", "valueString"},
    {K_DISPENSE, "careUnitHsaId", 39, 0, NO_MEMBER, "unit", "valueString"},
    {K_DISPENSE, "administrationHsaId", 39, 0, NO_MEMBER, "administration",
     "valueString"},
    {K_DISPENSE, "dispensedOn", 63, 1, NO_MEMBER, "dispensed-on", "valueDate"},
};

#define MAX_FIELDS 8
struct values {
    size_t n;
    const struct field *f[MAX_FIELDS];
    const char *v[MAX_FIELDS]; /* NULL: the element is absent */
    char arena[1024];
};

/* One request on its way through an interaction: the gateway, which
 * interaction, the caller's SOAP version and call, the interaction's
 * element and its fields, and the reply being built. */
struct request {
    const struct gw_soap *s;
    const struct iface *i;
    enum gw_soap_version v;
    const struct gw_call *c;
    const struct gw_xml *body;
    struct values val;
    struct gw_soap_reply *out;
    /* A caller that takes the reply later (gw_soap_handle_async): done and
     * arg for the message's write; *pending set when it is queued. NULL
     * done: the reply is made on this thread. */
    gw_pipeline_done_fn done;
    void *done_arg;
    struct gw_soap_pending **pending;
};

/* Refuses a request with a field over its cap, naming both; 1 if so. */
static int
refuse_cut(const struct request *r, const struct cut *cut)
{
    char why[160];

    if (cut->field == NULL)
        return 0;
    snprintf(why, sizeof(why),
             "längre än gränsen %zu byte / longer than its limit of %zu "
             "bytes",
             cut->cap, cut->cap);
    refuse(r->s, r->i, r->v, r->c, GW_ETOOLARGE, cut->field, why, r->out);
    return 1;
}

/* Reads the fields of the request's interaction into r->val; 1 when the
 * request was refused (a value over its cap), r->out then holds the
 * answer. */
static int
read_fields(struct request *r)
{
    struct values *val = &r->val;
    struct cut cut = {NULL, 0};
    size_t used = 0;

    val->n = 0;
    for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
        const struct field *f = &fields[k];
        char *buf = val->arena + used;
        if (f->kind != r->i->kind)
            continue;
        used += f->cap + 1;
        assert(val->n < MAX_FIELDS && used <= sizeof(val->arena));
        val->f[val->n] = f;
        val->v[val->n] = child_text(&cut, r->body, f->name, buf, f->cap + 1);
        if (f->trim)
            val->v[val->n] = trimmed((char *)val->v[val->n]);
        val->n++;
    }
    return refuse_cut(r, &cut);
}

/* The value of the request's field `name`; NULL when it is absent. */
static const char *
value(const struct request *r, const char *name)
{
    for (size_t k = 0; k < r->val.n; k++)
        if (strcmp(r->val.f[k]->name, name) == 0)
            return r->val.v[k];
    return NULL;
}

/* Schema errors as "element: message" lines, values of patterns kept
 * (the caller sent them) but namespaces cut for readability; at most 10,
 * within GW_SOAP_TEXT_MAX. */
static void
xsd_text(const struct gw_xsd_errors *xe, char *text, size_t size)
{
    size_t len = 0;
    int n = 0;

    text[0] = '\0';
    for (size_t i = 0; i < xe->n && n < 10; i++) {
        const char *m = xe->e[i].message;
        char msg[GW_XSD_MESSAGE_MAX];
        size_t o = 0;
        if (m[0] == '\0')
            continue;
        /* Drop "{namespace}" from element names; keep pattern counts such
         * as "{1,80}" (no ':' inside). */
        for (const char *p = m; *p && o < sizeof(msg) - 1; p++) {
            const char *close = *p == '{' ? strchr(p, '}') : NULL;
            if (close != NULL && memchr(p, ':', (size_t)(close - p)) != NULL) {
                p = close;
                continue;
            }
            msg[o++] = *p;
        }
        msg[o] = '\0';
        /* Whole messages while they fit; the last one cut between UTF-8
         * characters. */
        if (n > 0 && len + 2 < size) {
            memcpy(text + len, "; ", 2);
            len += 2;
        }
        for (o = 0; msg[o] != '\0' && len < size - 1; o++)
            text[len++] = msg[o];
        while (msg[o] != '\0' && len > 0 &&
               ((unsigned char)msg[o] & 0xC0) == 0x80)
            o--, len--;
        text[len] = '\0';
        n++;
    }
}

/* --- the interactions ------------------------------------------------- */

/* What each kind of interaction does (kinds[], by enum iface_kind): its
 * handler and the fields of its answer (fhir-to-soap-answer.xsl's kind);
 * for the queries, the pipeline's call and whether an answer without a
 * case is refused as not found. */
struct kind {
    void (*handle)(const struct request *r, const struct kind *k);
    const char *answer;
    void (*call)(struct gw_pipeline *pl, const struct gw_call *c,
                 union query *q, struct gw_answer *a);
    int need_case;
};

static void
from_answer(const struct request *r, const char *kind, struct gw_answer *a)
{
    const struct gw_fhir_doc *d = a->doc;
    char text[600];

    if (a->rc != GW_OK && gw_rc_is_retryable(a->rc)) {
        snprintf(text, sizeof(text), "%s / %s", gw_rc_message_sv(a->rc),
                 gw_rc_message(a->rc));
        fault(r->out, r->v, 500, 0, gw_rc_riv_error_id(a->rc), text);
        return;
    }
    if (a->rc != GW_OK || a->status >= 400) {
        gw_rc rc = a->rc != GW_OK ? a->rc : GW_EINTERNAL;
        if (rc == GW_EINTERNAL || rc == GW_ENOMEM || rc == GW_ESTORE ||
            rc == GW_EIO) {
            fault(r->out, r->v, 500, 0, "TECHNICAL_ERROR", gw_rc_message(rc));
            return;
        }
        answer(r->s, r->i, r->v, "none", r->c->request_id, rc, NULL, d, r->out);
        return;
    }
    answer(r->s, r->i, r->v, kind, r->c->request_id, GW_OK, NULL, d, r->out);
}

/* A message whose write is queued (gw_soap_handle_async): what its reply
 * needs once the write is done. */
struct gw_soap_pending {
    struct request r; /* r.c points at call; r.body, r.out are not kept */
    struct gw_call call;
    const char *answer; /* the kind's answer (fhir-to-soap-answer.xsl) */
    struct gw_submit *submit;
};

/* Hands doc to the pipeline without waiting for its write: 1 when it is
 * queued (*r->pending set), 0 with a the answer now. Takes doc. */
static int
event_async(const struct request *r, const struct kind *k,
            struct gw_fhir_doc *doc, const struct gw_err *err,
            struct gw_answer *a)
{
    struct gw_soap_pending *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        gw_pipeline_process_doc(r->s->o.pipeline, r->c, doc, err, 0, a);
        return 0;
    }
    p->r = *r;
    p->call = *r->c;
    p->r.c = &p->call;
    p->r.body = NULL;
    p->r.out = NULL;
    p->answer = k->answer;
    if (!gw_pipeline_process_doc_async(r->s->o.pipeline, &p->call, doc, err, 0,
                                       a, r->done, r->done_arg, &p->submit)) {
        free(p);
        return 0;
    }
    *r->pending = p;
    return 1;
}

static void
do_event(const struct request *r, const struct kind *k)
{
    char codes[96], p_events[96];
    const char *params[3];
    struct gw_xml *bundle;
    char field[256], why[GW_SOAP_TEXT_MAX];
    struct gw_fhir_doc *doc = NULL;
    struct gw_err err;
    struct gw_answer a;

    xparam(p_events, sizeof(p_events),
           gw_klas_soap_events(r->i->name, codes, sizeof(codes)));
    params[0] = "events", params[1] = p_events, params[2] = NULL;
    bundle = gw_xslt_run(r->s->to_fhir, r->body, params);
    if (bundle == NULL) {
        refused(r->s, r->c, GW_EINTERNAL, r->i->name, NULL);
        fault(r->out, r->v, 500, 0, "TRANSFORMATION_ERROR",
              "the request could not be mapped to FHIR");
        return;
    }
    if (strcmp(gw_xml_root_ns(bundle), REFUSAL_NS) == 0) {
        /* The mapping's own words, with values the XSD has bounded. */
        if (gw_xml_root_attr(bundle, "field", field, sizeof(field)) != GW_OK)
            field[0] = '\0';
        if (gw_xml_root_text(bundle, why, sizeof(why)) != GW_OK)
            snprintf(why, sizeof(why),
                     "the request and the message it "
                     "carries disagree");
        refuse(r->s, r->i, r->v, r->c, GW_EVALIDATION, field, why, r->out);
        gw_xml_free(bundle);
        return;
    }
    /* The mapped Bundle goes on as the tree it is: checked against the
     * model as a parse would, never written out and read back. */
    gw_err_clear(&err);
    if (gw_xml_to_fhir(bundle, &r->s->o.limits, &doc, &err) != GW_OK)
        doc = NULL; /* the pipeline refuses it with err */
    if (r->done == NULL)
        gw_pipeline_process_doc(r->s->o.pipeline, r->c, doc, &err, 0, &a);
    else if (event_async(r, k, doc, &err, &a))
        return; /* the reply comes with gw_soap_handle_end */
    from_answer(r, k->answer, &a);
    gw_answer_release(&a);
}

static int
parse_day(const char *s, int64_t *ms)
{
    return s != NULL && *s && gw_clock_parse(s, ms) == GW_OK;
}

/* The query of the request's fields that fill a member of it as they
 * are (fields[].member). */
static void
fill(const struct request *r, union query *q)
{
    memset(q, 0, sizeof(*q));
    for (size_t k = 0; k < r->val.n; k++)
        if (r->val.f[k]->member != NO_MEMBER)
            memcpy((char *)q + r->val.f[k]->member, &r->val.v[k],
                   sizeof(r->val.v[k]));
}

/* The pipeline's answer to q as the interaction's (kind: see answer());
 * with need_case an answer without a case is refused as not found. */
static void
ask(const struct request *r, const struct kind *k, union query *q)
{
    struct gw_answer a;

    memset(&a, 0, sizeof(a));
    k->call(r->s->o.pipeline, r->c, q, &a);
    if (k->need_case && a.rc == GW_OK && a.status < 400 &&
        !gw_fhir_doc_bundle_has(a.doc, "Task"))
        refuse(r->s, r->i, r->v, r->c, GW_ENOTFOUND,
               "referenceNumber, patientId",
               "no case matches the reference number and patient id", r->out);
    else
        from_answer(r, k->answer, &a);
    gw_answer_release(&a);
}

/* GetLicenseCases and GetLicenseMotivation: a Task search, with the
 * case's resources too (a GetLicenseCases row names its licence type and
 * drug, fhir-to-soap-answer.xsl; nothing else of them is answered). */
static void
search(struct gw_pipeline *pl, const struct gw_call *c, union query *q,
       struct gw_answer *a)
{
    q->search.include = 1;
    gw_pipeline_search(pl, c, &q->search, a);
}

/* CheckLicense: the pipeline's licence check. */
static void
check(struct gw_pipeline *pl, const struct gw_call *c, union query *q,
      struct gw_answer *a)
{
    gw_pipeline_check_licence(pl, c, &q->check, a);
}

/* GetLicenseMotivation, CheckLicense: the fields are the query. */
static void
do_query(const struct request *r, const struct kind *k)
{
    union query q;

    fill(r, &q);
    ask(r, k, &q);
}

/* GetLicenseCases: the fields, the statuses and the days as a search. */
static void
do_cases(const struct request *r, const struct kind *k)
{
    struct cut cut = {NULL, 0};
    char statuses[64] = "";
    union query q;
    const char *max_hits = value(r, "maxHits");

    fill(r, &q);
    for (size_t n = 0; n < 8; n++) {
        /* The XSD bounds these to 8 codes of at most 3 letters. */
        char st[8];
        size_t l = strlen(statuses);
        gw_rc rc = gw_xml_child_text(r->body, "caseStatus", n, st, sizeof(st));
        if (rc == GW_ENOTFOUND)
            break;
        if (rc != GW_OK && cut.field == NULL)
            cut.field = "caseStatus", cut.cap = sizeof(st) - 1;
        snprintf(statuses + l, sizeof(statuses) - l, "%s%s", l ? "," : "", st);
    }
    if (refuse_cut(r, &cut))
        return;
    q.search.statuses = statuses[0] ? statuses : NULL;
    if (parse_day(value(r, "changedFrom"), &q.search.changed_from_ms) == 0)
        q.search.changed_from_ms = 0;
    if (parse_day(value(r, "changedTo"), &q.search.changed_to_ms))
        q.search.changed_to_ms += 86400000 - 1; /* the whole day */
    else
        q.search.changed_to_ms = 0;
    if (max_hits != NULL)
        q.search.count = atoi(max_hits);
    ask(r, k, &q);
}

/* RecordDispensing: the request as the Parameters body of
 * $record-dispensing, built as a tree, one entry a field present; the
 * pipeline checks every field again. */
static void
do_dispense(const struct request *r, const struct kind *k)
{
    const struct values *val = &r->val;
    struct gw_answer a;
    struct gw_fhir_build *b = NULL;
    struct gw_fhir_doc *doc = NULL;
    struct gw_err err;
    gw_rc rc;

    gw_err_clear(&err);
    rc = gw_fhir_build_new("Parameters", &b);
    for (size_t n = 0; rc == GW_OK && n < val->n; n++) {
        struct gw_fhir_el *p;
        if (val->v[n] == NULL)
            continue;
        p = gw_fhir_el_add(b, gw_fhir_build_root(b), "parameter");
        gw_fhir_el_value(b, p, "name", val->f[n]->param);
        gw_fhir_el_value(b, p, val->f[n]->type, val->v[n]);
    }
    if (rc == GW_OK)
        rc = gw_fhir_build_take(b, &r->s->o.limits, &doc, &err);
    if (rc == GW_ENOMEM) {
        refused(r->s, r->c, rc, r->i->name, NULL);
        fault(r->out, r->v, 500, 0, "TECHNICAL_ERROR",
              "the request could not be mapped to FHIR");
        return;
    }
    memset(&a, 0, sizeof(a));
    gw_pipeline_record_dispensing_doc(r->s->o.pipeline, r->c, doc, &err, &a);
    from_answer(r, k->answer, &a);
    gw_answer_release(&a);
}

static void
do_ping(const struct request *r, const struct kind *k)
{
    struct gw_buf b;
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gw_rc rc;

    (void)k;
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y%m%d%H%M%S", &tm);
    gw_buf_init(&b, 4096);
    rc = gw_buf_appendf(
        &b,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<soap:Envelope xmlns:soap=\"%s\"><soap:Header/><soap:Body>"
        "<PingForConfigurationResponse xmlns=\"urn:riv:itintegration:"
        "monitoring:PingForConfigurationResponder:1\"><version>%s</version>"
        "<pingDateTime>%s</pingDateTime><configuration><name>service</name>"
        "<value>klasgw</value></configuration>"
        "</PingForConfigurationResponse></soap:Body></soap:Envelope>",
        env_ns(r->v), GW_VERSION, now);
    if (rc == GW_OK) {
        r->out->status = 200;
        r->out->content_type = env_ctype(r->v);
        snprintf(r->out->result, sizeof(r->out->result), "OK");
        set_body(r->out, &b);
    }
    gw_buf_release(&b);
}

static const struct kind kinds[] = {
    [K_EVENT] = {do_event, "receipt", NULL, 0},
    [K_CASES] = {do_cases, "cases", search, 0},
    [K_MOTIVATION] = {do_query, "motivation", search, 1},
    [K_CHECK] = {do_query, "check", check, 0},
    [K_DISPENSE] = {do_dispense, "dispensing", NULL, 0},
    [K_PING] = {do_ping, NULL, NULL, 0},
};

static const struct iface *
find_iface(const char *name, size_t *idx)
{
    for (size_t i = 0; name != NULL && i < NIFACES; i++)
        if (strcmp(ifaces[i].name, name) == 0) {
            if (idx)
                *idx = i;
            return &ifaces[i];
        }
    return NULL;
}

static void reply_made(struct gw_soap_reply *out);

/* gw_soap_handle and _async: 1 when *pending holds a queued message. */
static int
handle(struct gw_soap *s, const struct gw_call *c, const char *interaction,
       const char *content_type, const char *body, size_t len,
       struct gw_soap_reply *out, gw_pipeline_done_fn done, void *done_arg,
       struct gw_soap_pending **pending)
{
    enum gw_soap_version v = GW_SOAP_11;
    const struct iface *i;
    struct gw_soap_env env;
    struct request r;
    struct gw_err err;
    struct gw_xsd_errors xe = {0, 0, NULL};
    char *xtext = NULL;
    size_t idx = 0;
    char text[600];
    gw_rc rc;

    memset(out, 0, sizeof(*out));
    memset(&env, 0, sizeof(env));
    gw_err_clear(&err);
    if (content_type != NULL &&
        strncasecmp(content_type, "application/soap+xml", 20) == 0)
        v = GW_SOAP_12;
    i = find_iface(interaction, &idx);
    if (i == NULL) {
        refused(s, c, GW_ENOTFOUND, "soap", NULL);
        fault(out, v, 404, 1, "APPLICATION_ERROR",
              "no such interaction at this address");
        goto out;
    }
    rc = gw_soap_envelope_parse(body, len, &s->o.limits, &env, &err);
    if (rc != GW_OK) {
        snprintf(text, sizeof(text), "%s: %s", err.path[0] ? err.path : "",
                 err.detail[0] ? err.detail : gw_rc_message(rc));
        refused(s, c, rc, i->name, NULL);
        fault(out, v, 500, 1, gw_rc_riv_error_id(rc), text);
        goto out;
    }
    v = env.version;
    if (!gw_xml_root_is(env.body, i->ns, i->name)) {
        snprintf(text, sizeof(text), "expected {%s}%s, got '%.60s'", i->ns,
                 i->name, gw_xml_root_name(env.body));
        refuse(s, i, v, c, GW_EVALIDATION, "Body", text, out);
        goto out;
    }
    if (env.logical_address[0] == '\0') {
        refuse(s, i, v, c, GW_EVALIDATION, "Header/LogicalAddress",
               "the RIV-TA LogicalAddress header is required", out);
        goto out;
    }
    xtext = malloc(GW_SOAP_TEXT_MAX);
    if (xtext == NULL || s->schema[idx] == NULL ||
        gw_xsd_check(s->schema[idx], env.body, &xe) != GW_OK) {
        refused(s, c, GW_ENOMEM, i->name, NULL);
        fault(out, v, 500, 0, "TECHNICAL_ERROR", "out of memory");
        goto out;
    }
    if (!xe.valid) {
        xsd_text(&xe, xtext, GW_SOAP_TEXT_MAX);
        refuse(s, i, v, c, GW_EVALIDATION, NULL,
               xtext[0] ? xtext : "the request does not match its schema", out);
        goto out;
    }
    if (i->op != NO_OP &&
        (rc = gw_access_operation(c->who, (enum gw_operation)i->op, &err)) !=
            GW_OK) {
        refuse(s, i, v, c, rc, NULL, err.detail, out);
        goto out;
    }
    r.s = s;
    r.i = i;
    r.v = v;
    r.c = c;
    r.body = env.body;
    r.out = out;
    r.done = done;
    r.done_arg = done_arg;
    r.pending = pending;
    if (read_fields(&r))
        goto out;
    kinds[i->kind].handle(&r, &kinds[i->kind]);
out:
    gw_xsd_errors_release(&xe);
    free(xtext);
    gw_soap_envelope_release(&env);
    if (pending != NULL && *pending != NULL)
        return 1;
    reply_made(out);
    return 0;
}

/* A reply with no body (out of memory on the way) is a bare 500. */
static void
reply_made(struct gw_soap_reply *out)
{
    if (out->body == NULL && out->status == 0) {
        out->status = 500;
        out->content_type = "text/plain";
        snprintf(out->result, sizeof(out->result), "FAULT");
    }
}

void
gw_soap_handle(struct gw_soap *s, const struct gw_call *c,
               const char *interaction, const char *content_type,
               const char *body, size_t len, struct gw_soap_reply *out)
{
    (void)handle(s, c, interaction, content_type, body, len, out, NULL, NULL,
                 NULL);
}

int
gw_soap_handle_async(struct gw_soap *s, const struct gw_call *c,
                     const char *interaction, const char *content_type,
                     const char *body, size_t len, struct gw_soap_reply *out,
                     gw_pipeline_done_fn done, void *arg,
                     struct gw_soap_pending **pending)
{
    *pending = NULL;
    return handle(s, c, interaction, content_type, body, len, out, done, arg,
                  pending);
}

void
gw_soap_handle_end(struct gw_soap_pending *p, struct gw_soap_reply *out)
{
    struct gw_answer a;

    memset(out, 0, sizeof(*out));
    gw_pipeline_process_end(p->submit, &a);
    p->r.out = out;
    from_answer(&p->r, p->answer, &a);
    gw_answer_release(&a);
    reply_made(out);
    free(p);
}

void
gw_soap_refusal(const char *content_type, gw_rc rc, const char *detail,
                struct gw_soap_reply *out)
{
    enum gw_soap_version v = GW_SOAP_11;
    int http = gw_rc_http_status(rc);
    char text[700];

    memset(out, 0, sizeof(*out));
    if (content_type != NULL &&
        strncasecmp(content_type, "application/soap+xml", 20) == 0)
        v = GW_SOAP_12;
    snprintf(text, sizeof(text), "%s / %s%s%s", gw_rc_message_sv(rc),
             gw_rc_message(rc), detail && *detail ? ": " : "",
             detail ? detail : "");
    fault(out, v, http, http < 500, gw_rc_riv_error_id(rc), text);
    if (out->body == NULL && out->status == 0) {
        out->status = 500;
        out->content_type = "text/plain";
        snprintf(out->result, sizeof(out->result), "FAULT");
    }
}

/* --- contracts -------------------------------------------------------- */

static int
safe_name(const char *n)
{
    size_t l = strlen(n);

    if (l == 0 || l > 120 || n[0] == '.')
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
            return 0;
    return strstr(n, "..") == NULL;
}

gw_rc
gw_soap_contract(struct gw_soap *s, const char *name, int wsdl,
                 const char *base, struct gw_soap_reply *out)
{
    /* Served flat under /soap/: the WSDL's endpoint placeholder becomes
     * base, and imports of the shared schemas (RIV-TA layout:
     * schemas/core_components/ beside schemas/interactions/<Name>
     * Interaction/) become siblings, which GET /soap/<file>.xsd finds. */
    static const char placeholder[] = "http://localhost/soap/";
    static const char core[] = "schemaLocation=\"../../core_components/";
    char path[1024];
    struct gw_buf b;
    char *text = NULL;
    const char *resp;
    size_t n;
    gw_rc rc = GW_ENOTFOUND;

    memset(out, 0, sizeof(*out));
    if (name == NULL || !safe_name(name))
        return GW_ENOTFOUND;
    if (wsdl) {
        if (find_iface(name, NULL) == NULL)
            return GW_ENOTFOUND;
        snprintf(path, sizeof(path),
                 "%s/schemas/interactions/%sInteraction/"
                 "%sInteraction_1.0_RIVTABP21.wsdl",
                 s->wsdl_dir, name, name);
    } else {
        size_t l = strlen(name);
        if (l < 5 || strcmp(name + l - 4, ".xsd") != 0)
            return GW_ENOTFOUND;
        /* <Name>Responder_<v>.xsd sits with its interaction, anything
         * else among the shared schemas. */
        resp = strstr(name, "Responder_");
        if (resp != NULL && resp > name)
            snprintf(path, sizeof(path),
                     "%s/schemas/interactions/%.*sInteraction/%s",
                     s->wsdl_dir, (int)(resp - name), name, name);
        else
            snprintf(path, sizeof(path), "%s/schemas/core_components/%s",
                     s->wsdl_dir, name);
    }
    rc = gw_file_read(path, 1 << 20, &text, &n);
    if (rc != GW_OK) {
        free(text);
        return rc == GW_EIO ? GW_ENOTFOUND : rc; /* cannot be opened */
    }
    gw_buf_init(&b, 2u << 20);
    rc = GW_OK;
    for (const char *p = text; rc == GW_OK && *p;) {
        const char *hit = wsdl ? strstr(p, placeholder) : NULL;
        const char *imp = strstr(p, core);
        if (hit == NULL && imp == NULL) {
            rc = gw_buf_append_str(&b, p);
            break;
        }
        if (hit == NULL || (imp != NULL && imp < hit)) {
            rc = gw_buf_append(&b, p, (size_t)(imp - p));
            if (rc == GW_OK)
                rc = gw_buf_append_str(&b, "schemaLocation=\"");
            p = imp + sizeof(core) - 1;
            continue;
        }
        rc = gw_buf_append(&b, p, (size_t)(hit - p));
        if (rc == GW_OK)
            rc = gw_buf_appendf(&b, "%s/soap/", base);
        p = hit + sizeof(placeholder) - 1;
    }
    if (rc == GW_OK) {
        out->status = 200;
        out->content_type = "text/xml; charset=utf-8";
        snprintf(out->result, sizeof(out->result), "OK");
        set_body(out, &b);
    }
    gw_buf_release(&b);
    free(text);
    return rc;
}
