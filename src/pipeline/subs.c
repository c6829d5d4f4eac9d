/*
 * subs.c - the pharmacy's Subscriptions as the FHIR R4 Subscriptions
 * Backport IG (1.1.0) has them: create, read, delete, $status and $events
 * (see outbound/pharmacy.h for the topics and the notifications).
 *
 * A Subscription (backport-subscription) names one KLAS topic by its
 * canonical URL in `criteria`; its filter (extension backport-filter-
 * criteria on criteria) may only name the pharmacy's own GLN
 * (Task?owner.identifier=GLN; absent: that); channel.type rest-hook,
 * channel.endpoint under the webhooks rules, channel.payload
 * application/fhir+json with backport-payload-content id-only (absent:
 * id-only), at most one channel.header ("Authorization: Bearer ..."),
 * and backport-heartbeat-period (seconds, from heartbeat_min_s to a day;
 * absent or 0: none). It is stored "requested"; the keeper's handshake
 * makes it "active" (or "error").
 *
 * A Subscription whose criteria is not under GW_TOPIC_BASE ("Task") is
 * taken as before topics: scoped to the GLN, active at once, told of
 * every KLAS event of its cases as a Parameters {event, case} (its
 * channel.header, if any, is checked and sent the same way).
 */
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/random.h"
#include "fhir/build.h"
#include "fhir/fhir.h"
#include "klas/access.h"
#include "klas/event.h"
#include "klas/ident.h"
#include "map/view.h"
#include "outbound/http_client.h"
#include "outbound/pharmacy.h"
#include "pipeline/pipeline_int.h"
#include "store/subscription.h"

#define BACKPORT_SD "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
#define EXT_FILTER BACKPORT_SD "backport-filter-criteria"
#define EXT_HEARTBEAT BACKPORT_SD "backport-heartbeat-period"
#define EXT_CONTENT BACKPORT_SD "backport-payload-content"

/* The extension `url` in ext (an array): its value of member `vtype`
 * (NULL: any value[x]) as a string into buf (a number is printed), or
 * "" when it has none or another type. The count of such extensions.
 */
static int
extension(json_t *ext, const char *url, const char *vtype, char *buf,
          size_t size)
{
    size_t i;
    json_t *e;
    int found = 0;

    buf[0] = '\0';
    json_array_foreach(ext, i, e)
    {
        const char *k;
        json_t *v;
        if (!json_is_string(json_object_get(e, "url")) ||
            strcmp(json_string_value(json_object_get(e, "url")), url) != 0)
            continue;
        if (found++ > 0)
            continue;
        json_object_foreach(e, k, v)
        {
            if (strncmp(k, "value", 5) != 0 ||
                (vtype != NULL && strcmp(k, vtype) != 0))
                continue;
            if (json_is_string(v) && strlen(json_string_value(v)) < size)
                snprintf(buf, size, "%s", json_string_value(v));
            else if (json_is_integer(v))
                snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        }
    }
    return found;
}

/* A string member into buf; 1 when present and it fits. */
static int
str_of(json_t *o, const char *name, char *buf, size_t size)
{
    const char *v = json_string_value(json_object_get(o, name));

    buf[0] = '\0';
    if (v == NULL || strlen(v) >= size)
        return 0;
    snprintf(buf, size, "%s", v);
    return 1;
}

static gw_rc
sub_doc(const struct gw_subscription *s, struct gw_fhir_doc **out)
{
    struct gw_fhir_build *b = NULL;
    struct gw_fhir_el *root, *el, *ch;
    struct gw_err err;
    char num[24];
    int backport = gw_pharmacy_topic_known(s->criteria);
    gw_rc rc = gw_fhir_build_new("Subscription", &b);

    *out = NULL;
    if (rc != GW_OK)
        return rc;
    root = gw_fhir_build_root(b);
    gw_fhir_el_value(b, root, "id", s->id);
    if (backport)
        gw_fhir_el_value(b, gw_fhir_el_add(b, root, "meta"), "profile",
                         BACKPORT_SD "backport-subscription");
    gw_fhir_el_value(b, root, "status", s->status);
    gw_fhir_el_value(b, root, "reason", "KLAS notifications for the pharmacy");
    el = gw_fhir_el_value(b, root, "criteria", s->criteria);
    if (backport)
        gw_fhir_el_value(b, gw_fhir_el_extension(b, el, EXT_FILTER),
                         "valueString", s->filter);
    gw_fhir_el_value(b, root, "error", s->error); /* why it is in error */
    ch = gw_fhir_el_add(b, root, "channel");
    if (s->heartbeat_s > 0) {
        snprintf(num, sizeof(num), "%d", s->heartbeat_s);
        gw_fhir_el_value(b, gw_fhir_el_extension(b, ch, EXT_HEARTBEAT),
                         "valueUnsignedInt", num);
    }
    gw_fhir_el_value(b, ch, "type", "rest-hook");
    gw_fhir_el_value(b, ch, "endpoint", s->endpoint);
    if (backport)
        gw_fhir_el_value(
            b,
            gw_fhir_el_extension(
                b, gw_fhir_el_value(b, ch, "payload", "application/fhir+json"),
                EXT_CONTENT),
            "valueCode", "id-only");
    if (s->header[0] != '\0') {
        /* The name only: the value is the pharmacy's secret. */
        char h[300];
        snprintf(h, sizeof(h), "%.*s: (hidden)",
                 (int)strcspn(s->header, ":"), s->header);
        gw_fhir_el_value(b, ch, "header", h);
    }
    gw_err_clear(&err);
    return gw_fhir_build_take(b, NULL, out, &err);
}

/* The start of a Subscription call: a and err cleared, pharmacies only
 * (a refusal is answered and audited). */
static int
sub_begin(struct gw_pipeline *pl, const struct gw_call *c,
          struct gw_answer *a, struct gw_err *err)
{
    memset(a, 0, sizeof(*a));
    gw_err_clear(err);
    if (gw_access_operation(c->who, GW_OP_SUBSCRIPTION, err) == GW_OK)
        return 1;
    gw_pipeline_refuse(pl, c, a, GW_EFORBIDDEN, err, NULL, "subscription", NULL,
                       NULL);
    return 0;
}

/*
 * The rules a Subscription endpoint must pass before it is stored, each
 * refused with its own code: https (http only if webhooks.allow_http), a
 * host on this pharmacy's webhooks.allowed_hosts, and no address in a
 * loopback, link-local, private, multicast or reserved range unless
 * webhooks.allow_private names it. The URL is read by libcurl's own
 * parser, the one delivery uses. A name that does not resolve now is
 * accepted: the connect-time check in outbound/http_client.c is the one
 * that binds, on the address actually used.
 */
static gw_rc
check_endpoint(const struct gw_net_policy *p, const char *gln, const char *url,
               struct gw_err *err)
{
    static const char path[] = "Subscription.channel.endpoint";
    struct addrinfo hints, *res = NULL;
    char scheme[16], host[256];
    unsigned char a[16];
    const char *why = NULL;
    long port = 0;
    gw_rc rc = GW_OK;

    if (gw_http_url_parts(url, scheme, sizeof(scheme), host, sizeof(host),
                          &port) != GW_OK)
        return gw_err_set(err, GW_EWEBHOOK_SCHEME, path,
                          "not an absolute URL with a host (rule: https)");
    if (strcmp(scheme, "https") != 0 &&
        !(p != NULL && p->allow_http && strcmp(scheme, "http") == 0))
        return gw_err_set(err, GW_EWEBHOOK_SCHEME, path,
                          "scheme '%s' is refused (rule: https)", scheme);
    if (!gw_net_host_allowed(p, gln, host))
        return gw_err_set(err, GW_EWEBHOOK_HOST, path,
                          "the host is not allowed for this pharmacy "
                          "(rule: allowed host, webhooks.allowed_hosts)");
    if (gw_net_parse_addr(host, a)) {
        if (!gw_net_addr16_allowed(p, a, &why))
            rc = gw_err_set(err, GW_EWEBHOOK_ADDRESS, path,
                            "a %s address is refused (rule: public "
                            "address, webhooks.allow_private)",
                            why);
        return rc;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return GW_OK;
    for (struct addrinfo *ai = res; ai != NULL && rc == GW_OK; ai = ai->ai_next)
        if (!gw_net_addr_allowed(p, ai->ai_addr, &why))
            rc = gw_err_set(err, GW_EWEBHOOK_ADDRESS, path,
                            "the host resolves to a %s address (rule: public "
                            "address, webhooks.allow_private)",
                            why);
    freeaddrinfo(res);
    return rc;
}

/* channel.header (at most one, gw_pharmacy_header_ok) into s. */
static gw_rc
read_header(json_t *ch, struct gw_subscription *s, struct gw_err *err)
{
    json_t *hs = json_object_get(ch, "header");
    const char *why;

    if (json_array_size(hs) > 1)
        return gw_err_set(err, GW_EVALIDATION, "Subscription.channel.header",
                          "at most one header");
    if (json_array_size(hs) == 1) {
        const char *h = json_string_value(json_array_get(hs, 0));
        if (h == NULL || strlen(h) >= sizeof(s->header))
            return gw_err_set(err, GW_EVALIDATION,
                              "Subscription.channel.header",
                              "refused: longer than 256 bytes");
        if (!gw_pharmacy_header_ok(h, &why))
            return gw_err_set(err, GW_EVALIDATION,
                              "Subscription.channel.header", "refused: %s",
                              why);
        snprintf(s->header, sizeof(s->header), "%s", h);
    }
    return GW_OK;
}

/* The Backport IG parts of a Subscription (j: its JSON form) into s; a
 * refusal names the field. */
static gw_rc
read_backport(struct gw_pipeline *pl, const struct gw_call *c, json_t *j,
              struct gw_subscription *s, struct gw_err *err)
{
    json_t *ch = json_object_get(j, "channel");
    json_t *crit_ext = json_object_get(json_object_get(j, "_criteria"),
                                       "extension");
    json_t *pay_ext = json_object_get(json_object_get(ch, "_payload"),
                                      "extension");
    char buf[300];
    int dup, min = pl->o.heartbeat_min_s > 0 ? pl->o.heartbeat_min_s : 60;

    if (!str_of(j, "criteria", s->criteria, sizeof(s->criteria)) ||
        strncmp(s->criteria, GW_TOPIC_BASE, strlen(GW_TOPIC_BASE)) != 0) {
        /* Not topic-based: what a pharmacy got before topics, every KLAS
         * event of its cases as a Parameters, active at once. */
        snprintf(s->criteria, sizeof(s->criteria), "Task?owner.identifier=%s",
                 c->who->gln);
        return read_header(ch, s, err);
    }
    if (!gw_pharmacy_topic_known(s->criteria))
        return gw_err_set(err, GW_EVALIDATION, "Subscription.criteria",
                          "not a KLAS topic: " GW_TOPIC_BASE "%s",
                          gw_klas_list(GW_KLAS_TOPICS, " or ", buf,
                                       sizeof(buf)));
    snprintf(s->filter, sizeof(s->filter), "Task?owner.identifier=%s",
             c->who->gln);
    dup = extension(crit_ext, EXT_FILTER, "valueString", buf, sizeof(buf));
    if (dup > 1)
        return gw_err_set(err, GW_EVALIDATION,
                          "Subscription.criteria.extension",
                          "at most one filter (backport-filter-criteria)");
    if (dup == 1) {
        static const char pre[] = "Task?owner.identifier=";
        const char *g;
        if (strncmp(buf, pre, sizeof(pre) - 1) != 0)
            return gw_err_set(err, GW_EVALIDATION,
                              "Subscription.criteria.extension",
                              "the filter must be Task?owner.identifier="
                              "<the pharmacy's GLN>");
        g = buf + sizeof(pre) - 1;
        if (strchr(g, '|') != NULL)
            g = strchr(g, '|') + 1;
        if (strcmp(g, c->who->gln) != 0)
            return gw_err_set(err, GW_EFORBIDDEN,
                              "Subscription.criteria.extension",
                              "a pharmacy subscribes to its own cases only "
                              "(its GLN)");
    }
    dup = extension(json_object_get(ch, "extension"), EXT_HEARTBEAT,
                    "valueUnsignedInt", buf, sizeof(buf));
    if (dup > 1 || (dup == 1 && buf[0] == '\0'))
        return gw_err_set(err, GW_EVALIDATION, "Subscription.channel.extension",
                          "one backport-heartbeat-period, an unsignedInt");
    if (dup == 1) {
        char *end;
        long h = strtol(buf, &end, 10);
        if (*end != '\0' || h < 0 || (h > 0 && h < min) || h > 86400)
            return gw_err_set(err, GW_EVALIDATION,
                              "Subscription.channel.extension",
                              "the heartbeat period must be 0 or %d to 86400 "
                              "seconds",
                              min);
        s->heartbeat_s = (int)h;
    }
    if (str_of(ch, "payload", buf, sizeof(buf)) &&
        strcmp(buf, "application/fhir+json") != 0 &&
        strcmp(buf, "application/json") != 0)
        return gw_err_set(err, GW_EVALIDATION, "Subscription.channel.payload",
                          "notifications are application/fhir+json");
    dup = extension(pay_ext, EXT_CONTENT, "valueCode", buf, sizeof(buf));
    if (dup > 1 || (dup == 1 && strcmp(buf, "id-only") != 0))
        return gw_err_set(err, GW_EVALIDATION,
                          "Subscription.channel.payload.extension",
                          "only id-only content is offered (a pharmacy "
                          "reads the redacted case itself)");
    return read_header(ch, s, err);
}

/* read_backport on the JSON form of doc. */
static gw_rc
read_doc(struct gw_pipeline *pl, const struct gw_call *c,
         const struct gw_fhir_doc *doc, struct gw_subscription *s,
         struct gw_err *err)
{
    char *text = NULL;
    size_t len = 0;
    json_t *j;
    gw_rc rc = gw_fhir_to_json(doc, &text, &len);

    if (rc != GW_OK)
        return rc;
    j = json_loadb(text, len, 0, NULL);
    free(text);
    if (j == NULL)
        return GW_ENOMEM;
    rc = read_backport(pl, c, j, s, err);
    json_decref(j);
    return rc;
}

void
gw_pipeline_sub_create(struct gw_pipeline *pl, const struct gw_call *c,
                       const char *body, size_t len, struct gw_answer *a)
{
    struct gw_fhir_doc *doc = NULL;
    struct gw_subscription s;
    struct gw_err err;
    char type[32];
    gw_rc rc;

    if (!sub_begin(pl, c, a, &err))
        return;
    rc = gw_fhir_parse(body, len, GW_FHIR_SNIFF, &pl->o.limits, &doc, &err);
    if (rc == GW_OK && strcmp(gw_fhir_doc_type(doc), "Subscription") != 0)
        rc = gw_err_set(&err, GW_EVALIDATION, "resourceType",
                        "expected a Subscription");
    memset(&s, 0, sizeof(s));
    if (rc == GW_OK &&
        (!gw_view_value(doc, "channel/type", type, sizeof(type)) ||
         strcmp(type, "rest-hook") != 0))
        rc = gw_err_set(&err, GW_EVALIDATION, "Subscription.channel.type",
                        "only rest-hook is offered");
    if (rc == GW_OK &&
        !gw_view_value(doc, "channel/endpoint", s.endpoint, sizeof(s.endpoint)))
        rc = gw_err_set(&err, GW_EVALIDATION, "Subscription.channel.endpoint",
                        "an https endpoint is required");
    if (rc == GW_OK)
        rc = read_doc(pl, c, doc, &s, &err);
    if (rc == GW_OK)
        rc = check_endpoint(pl->o.webhooks, c->who->gln, s.endpoint, &err);
    if (rc == GW_OK) {
        char uuid[37];
        rc = gw_random_uuid(uuid);
        snprintf(s.id, sizeof(s.id), "%s", uuid);
        snprintf(s.gln, sizeof(s.gln), "%s", c->who->gln);
        /* Topic-based: active once the handshake is answered
         * (outbound/pharmacy.c). */
        snprintf(s.status, sizeof(s.status), "%s",
                 gw_pharmacy_topic_known(s.criteria) ? "requested" : "active");
        s.created_ms = gw_clock_now_ms();
    }
    if (rc == GW_OK)
        rc = gw_store_sub_put(pl->o.store, &s);
    if (rc == GW_OK)
        rc = sub_doc(&s, &a->doc);
    if (rc != GW_OK) {
        gw_pipeline_refuse(pl, c, a, rc, &err, NULL, "subscription-create",
                           NULL, NULL);
    } else {
        a->status = 201;
        snprintf(a->location, sizeof(a->location), "Subscription/%s", s.id);
        snprintf(a->etag, sizeof(a->etag), "W/\"1\"");
        gw_pl_audit(pl, c, "subscription-create", NULL, rc, NULL);
    }
    gw_fhir_doc_free(doc);
}

/* The caller's subscription `id` (its own GLN only) into *out. */
static gw_rc
own_sub(struct gw_pipeline *pl, const struct gw_call *c, const char *id,
        struct gw_subscription *out, struct gw_err *err)
{
    struct gw_subscription *subs = NULL;
    size_t n = 0;
    gw_rc rc = gw_store_sub_list(pl->o.store, id, c->who->gln, &subs, &n);

    if (rc == GW_OK && n == 0)
        rc = gw_err_set(err, GW_ENOTFOUND, NULL, "no such subscription");
    if (rc == GW_OK)
        *out = subs[0];
    free(subs);
    return rc;
}

/* The answer: the notification tree doc as the document, 200; or the
 * refusal rc with err, through the one refusal path as action. */
static void
answer_doc(struct gw_pipeline *pl, const struct gw_call *c, const char *action,
           struct gw_answer *a, gw_rc rc, struct gw_fhir_doc *doc,
           struct gw_err *err)
{
    if (rc != GW_OK) {
        gw_fhir_doc_free(doc);
        gw_pipeline_refuse(pl, c, a, rc, err, NULL, action, NULL, NULL);
        return;
    }
    a->doc = doc;
    a->status = 200;
}

/* Subscription `id` of the caller answered as the resource (status 0) or
 * as its $status Bundle (status 1). */
static void
answer_sub(struct gw_pipeline *pl, const struct gw_call *c, const char *id,
           int status, struct gw_answer *a)
{
    struct gw_subscription s;
    struct gw_fhir_doc *doc = NULL;
    struct gw_err err;
    gw_rc rc;

    if (!sub_begin(pl, c, a, &err))
        return;
    rc = own_sub(pl, c, id, &s, &err);
    /* $status answers a Bundle (searchset in R4's operation) holding the
     * status: here the notification form, query-status. */
    if (rc == GW_OK)
        rc = status ? gw_pharmacy_notification(&s, "query-status", NULL, 0,
                                               c->base, &doc)
                    : sub_doc(&s, &doc);
    answer_doc(pl, c, status ? "subscription-status" : "subscription-read", a,
               rc, doc, &err);
}

void
gw_pipeline_sub_read(struct gw_pipeline *pl, const struct gw_call *c,
                     const char *id, struct gw_answer *a)
{
    answer_sub(pl, c, id, 0, a);
}

void
gw_pipeline_sub_status(struct gw_pipeline *pl, const struct gw_call *c,
                       const char *id, struct gw_answer *a)
{
    answer_sub(pl, c, id, 1, a);
}

/* A decimal event number 1..INT64_MAX; 1 when ok. */
static int
event_number(const char *v, int64_t *out)
{
    char *end;
    long long n;

    if (v == NULL || *v < '0' || *v > '9' || strlen(v) > 18)
        return 0;
    n = strtoll(v, &end, 10);
    if (*end != '\0' || n < 0)
        return 0;
    *out = n;
    return 1;
}

void
gw_pipeline_sub_events(struct gw_pipeline *pl, const struct gw_call *c,
                       const char *id, const char *since, const char *until,
                       struct gw_answer *a)
{
    struct gw_subscription s;
    struct gw_sub_event *ev = NULL;
    struct gw_err err;
    struct gw_fhir_doc *doc = NULL;
    int64_t from = 1, to = INT64_MAX;
    size_t n = 0;
    gw_rc rc;

    if (!sub_begin(pl, c, a, &err))
        return;
    rc = own_sub(pl, c, id, &s, &err);
    if (rc == GW_OK && since != NULL && !event_number(since, &from))
        rc = gw_err_set(&err, GW_EINVAL, "eventsSinceNumber",
                        "an event number (digits) is required");
    if (rc == GW_OK && until != NULL && !event_number(until, &to))
        rc = gw_err_set(&err, GW_EINVAL, "eventsUntilNumber",
                        "an event number (digits) is required");
    /* The last GW_SUB_EVENTS_MAX of the range when no start is given. */
    if (rc == GW_OK && since == NULL) {
        int64_t last = to < s.events ? to : s.events;
        from = last > GW_SUB_EVENTS_MAX ? last - GW_SUB_EVENTS_MAX + 1 : 1;
    }
    if (rc == GW_OK)
        rc = gw_store_sub_events(pl->o.store, s.id, from, to,
                                 GW_SUB_EVENTS_MAX, &ev, &n);
    if (rc == GW_OK)
        rc = gw_pharmacy_notification(&s, "query-event", ev, n, c->base,
                                      &doc);
    answer_doc(pl, c, "subscription-events", a, rc, doc, &err);
    free(ev);
}

void
gw_pipeline_sub_delete(struct gw_pipeline *pl, const struct gw_call *c,
                       const char *id, struct gw_answer *a)
{
    struct gw_err err;
    gw_rc rc;

    if (!sub_begin(pl, c, a, &err))
        return;
    rc = gw_store_sub_delete(pl->o.store, id, c->who->gln);
    if (rc == GW_ENOTFOUND)
        gw_err_set(&err, rc, NULL, "no such subscription");
    if (rc != GW_OK) {
        gw_pipeline_refuse(pl, c, a, rc, &err, NULL, "subscription-delete",
                           NULL, NULL);
        return;
    }
    a->status = 204;
    gw_pl_audit(pl, c, "subscription-delete", NULL, rc, NULL);
}
