/*
 * pharmacy.c - rest-hook notifications to pharmacies (see pharmacy.h).
 *
 * An item names one subscription (target): it goes to that endpoint only,
 * and its outcome is noted on the subscription (gw_store_sub_note), which
 * goes into status "error" after a refusal (4xx) or too many failures in
 * a row. Items written before targets existed (no target) still go to
 * every active subscription of the GLN. An event for a subscription that
 * is not active is still numbered (not_active).
 *
 * What is sent follows the Subscriptions Backport IG (pharmacy.h): an
 * event is numbered (gw_store_sub_event) before its first try, so a
 * pharmacy that was down finds it with $events; a subscription of
 * another topic takes the item as done without a word. A notification
 * is a FHIR tree (fhir/build.h), written to JSON once, just before it is
 * sent; $status and $events answer the same tree. The keeper thread
 * sends handshakes and heartbeats directly, not through the outbox: they
 * carry no event and a lost one is simply the next one.
 */
#include "outbound/pharmacy.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/random.h"
#include "core/ticker.h"
#include "fhir/build.h"
#include "fhir/fhir.h"
#include "klas/event.h"
#include "outbound/http_client.h"
#include "store/outbox.h"
#include "store/subscription.h"

static int
gln_ok(const char *g)
{
    size_t n = 0;

    while (g[n] >= '0' && g[n] <= '9')
        n++;
    return n == 13 && g[n] == '\0';
}

static int
event_ok(const char *e)
{
    if (*e == '\0')
        return 0;
    for (; *e; e++)
        if (!((*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9') ||
              *e == '-'))
            return 0;
    return 1;
}

/* j as compact JSON, members in insertion order; takes j. */
static gw_rc
dump(json_t *j, char **out, size_t *len)
{
    *out = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    *len = *out ? strlen(*out) : 0;
    return *out ? GW_OK : GW_ENOMEM;
}

gw_rc
gw_pharmacy_notice_encode(const char *gln, const char *event, char **out,
                          size_t *len)
{
    *out = NULL;
    *len = 0;
    if (gln == NULL || event == NULL || !gln_ok(gln) || !event_ok(event))
        return GW_EINVAL;
    return dump(json_pack("{s:s,s:s}", "gln", gln, "event", event), out, len);
}

gw_rc
gw_pharmacy_notice_decode(const char *payload, size_t len, char gln[14],
                          char **event)
{
    json_t *j = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
    const char *g = NULL, *e = NULL;
    gw_rc rc = GW_EPARSE;

    gln[0] = '\0';
    *event = NULL;
    if (j != NULL && json_object_size(j) == 2 &&
        json_unpack(j, "{s:s,s:s}", "gln", &g, "event", &e) == 0 && gln_ok(g) &&
        event_ok(e)) {
        memcpy(gln, g, 14);
        *event = strdup(e);
        rc = *event ? GW_OK : GW_ENOMEM;
    }
    json_decref(j);
    return rc;
}

/* --- topics and notification Bundles (Subscriptions Backport IG) ----- */

/* The topics are a column of the event table (klas/event.c): a
 * subscription's criteria is GW_TOPIC_BASE followed by a row's topic. */
#define BACKPORT "http://hl7.org/fhir/uv/subscriptions-backport/"

/* The last segment of a topic canonical, or NULL when url is not one. */
static const char *
topic_name(const char *url)
{
    size_t n = strlen(GW_TOPIC_BASE);

    return url != NULL && strncmp(url, GW_TOPIC_BASE, n) == 0 ? url + n
                                                              : NULL;
}

int
gw_pharmacy_topic_known(const char *url)
{
    return gw_klas_topic_known(topic_name(url));
}

int
gw_pharmacy_topic_matches(const struct gw_subscription *sub,
                          const char *event_code)
{
    const char *t = gw_klas_event_topic(event_code);

    if (!gw_pharmacy_topic_known(sub->criteria))
        return 1; /* created before topics: every KLAS event */
    return t != NULL && strcmp(t, topic_name(sub->criteria)) == 0;
}

int
gw_pharmacy_header_ok(const char *h, const char **why)
{
    static const char *const ours[] = {
        "content-type", "content-length", "x-message-id", "host",
        "expect", "transfer-encoding", "connection", "te", "upgrade",
        "trailer", "proxy-authorization", "keep-alive"};
    size_t n = 0, len = strlen(h);
    const char *v;

    *why = NULL;
    if (len > 256) {
        *why = "longer than 256 bytes";
        return 0;
    }
    while (h[n] != '\0' && h[n] != ':' &&
           (isalnum((unsigned char)h[n]) || strchr("!#$%&'*+-.^_`|~", h[n])))
        n++;
    if (n == 0 || h[n] != ':') {
        *why = "not 'Name: value' with a header name (an HTTP token)";
        return 0;
    }
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        if (strlen(ours[i]) == n && strncasecmp(h, ours[i], n) == 0) {
            *why = "a header the gateway sets itself";
            return 0;
        }
    for (v = h + n + 1; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f) {
            *why = "a control character (CR, LF, ...) in the value";
            return 0;
        }
    return 1;
}

/* The longest reference or URL a notification holds (a base from the
 * configuration or the Host header, ids of at most 40). */
#define URL_MAX 4096

/* The text a + b + c, in u (its memory reused); NULL when memory runs out,
 * noted in *rc so that the notification is refused, never built short. */
static const char *
join(struct gw_buf *u, gw_rc *rc, const char *a, const char *b,
     const char *c)
{
    gw_buf_reset(u);
    if (*rc == GW_OK &&
        ((*rc = gw_buf_append_str(u, a)) != GW_OK ||
         (*rc = gw_buf_append_str(u, b)) != GW_OK ||
         (*rc = gw_buf_append_str(u, c)) != GW_OK))
        return NULL;
    return *rc == GW_OK ? u->data : NULL;
}

/* The document built in b (freed in every case) when rc is GW_OK, checked
 * against the R4 model; u released. */
static gw_rc
finish(struct gw_fhir_build *b, struct gw_buf *u, gw_rc rc,
       struct gw_fhir_doc **out)
{
    struct gw_err err;

    gw_buf_release(u);
    if (rc != GW_OK) {
        gw_fhir_build_free(b);
        return rc;
    }
    gw_err_clear(&err);
    return gw_fhir_build_take(b, NULL, out, &err);
}

/* A Parameters parameter (el "parameter" or "part") under parent:
 * name and value<type> (nothing when type is NULL); returned. */
static struct gw_fhir_el *
param(struct gw_fhir_build *b, struct gw_fhir_el *parent, const char *el,
      const char *name, const char *type, const char *value)
{
    struct gw_fhir_el *p = gw_fhir_el_add(b, parent, el);

    gw_fhir_el_value(b, p, "name", name);
    if (type != NULL)
        gw_fhir_el_value(b, p, type, value);
    return p;
}

/* The SubscriptionStatus (backport-subscription-status-r4) into the
 * Parameters element ps; a URL that cannot be held sets *rc. */
static void
status_params(struct gw_fhir_build *b, struct gw_fhir_el *ps,
              struct gw_buf *u, gw_rc *rc, const struct gw_subscription *sub,
              const char *type, const struct gw_sub_event *ev, size_t n,
              const char *base)
{
    char num[32], at[32];
    const char *status = strcmp(type, "handshake") == 0 ? "requested"
                                                         : sub->status;
    struct gw_fhir_el *p, *cc;

    gw_fhir_el_value(b, gw_fhir_el_add(b, ps, "meta"), "profile",
                     BACKPORT "StructureDefinition/"
                              "backport-subscription-status-r4");
    p = param(b, ps, "parameter", "subscription", NULL, NULL);
    gw_fhir_el_value(b, gw_fhir_el_add(b, p, "valueReference"), "reference",
                     join(u, rc, "Subscription/", sub->id, ""));
    if (gw_pharmacy_topic_known(sub->criteria))
        param(b, ps, "parameter", "topic", "valueCanonical", sub->criteria);
    param(b, ps, "parameter", "status", "valueCode", status);
    param(b, ps, "parameter", "type", "valueCode", type);
    snprintf(num, sizeof(num), "%lld", (long long)sub->events);
    param(b, ps, "parameter", "events-since-subscription-start",
          "valueString", num);
    for (size_t i = 0; i < n; i++) {
        struct gw_fhir_el *e =
            param(b, ps, "parameter", "notification-event", NULL, NULL);
        snprintf(num, sizeof(num), "%lld", (long long)ev[i].number);
        gw_clock_format(ev[i].at_ms, at, sizeof(at));
        param(b, e, "part", "event-number", "valueString", num);
        param(b, e, "part", "timestamp", "valueInstant", at);
        p = param(b, e, "part", "focus", NULL, NULL);
        gw_fhir_el_value(b, gw_fhir_el_add(b, p, "valueReference"),
                         "reference",
                         join(u, rc, base, "/Task/", ev[i].refnr));
    }
    if (strcmp(sub->status, "error") == 0 && sub->error[0] != '\0') {
        p = param(b, ps, "parameter", "error", NULL, NULL);
        cc = gw_fhir_el_add(b, p, "valueCodeableConcept");
        p = gw_fhir_el_add(b, cc, "coding");
        gw_fhir_el_value(b, p, "system",
                         "http://terminology.hl7.org/CodeSystem/"
                         "subscription-error");
        gw_fhir_el_value(b, p, "code", "no-response");
        gw_fhir_el_value(b, cc, "text", sub->error);
    }
}

gw_rc
gw_pharmacy_notification(const struct gw_subscription *sub, const char *type,
                         const struct gw_sub_event *ev, size_t n,
                         const char *base, struct gw_fhir_doc **out)
{
    char uuid[37], now[32];
    struct gw_fhir_build *b = NULL;
    struct gw_fhir_el *root, *e, *r;
    struct gw_buf u;
    gw_rc rc;

    *out = NULL;
    if (base == NULL)
        base = GW_PHARMACY_BASE;
    if ((rc = gw_random_uuid(uuid)) != GW_OK ||
        (rc = gw_fhir_build_new("Bundle", &b)) != GW_OK)
        return rc;
    gw_buf_init(&u, URL_MAX);
    gw_clock_format(gw_clock_now_ms(), now, sizeof(now));
    root = gw_fhir_build_root(b);
    gw_fhir_el_value(b, root, "id", uuid);
    gw_fhir_el_value(b, gw_fhir_el_add(b, root, "meta"), "profile",
                     BACKPORT "StructureDefinition/"
                              "backport-subscription-notification-r4");
    gw_fhir_el_value(b, root, "type", "history");
    gw_fhir_el_value(b, root, "timestamp", now);
    e = gw_fhir_el_add(b, root, "entry");
    gw_fhir_el_value(b, e, "fullUrl", join(&u, &rc, "urn:uuid:", uuid, ""));
    status_params(b,
                  gw_fhir_el_add(b, gw_fhir_el_add(b, e, "resource"),
                                 "Parameters"),
                  &u, &rc, sub, type, ev, n, base);
    r = gw_fhir_el_add(b, e, "request");
    gw_fhir_el_value(b, r, "method", "GET");
    gw_fhir_el_value(b, r, "url",
                     join(&u, &rc, "Subscription/", sub->id, "/$status"));
    gw_fhir_el_value(b, gw_fhir_el_add(b, e, "response"), "status", "200");
    /* id-only: each focus by its address, no resource. */
    for (size_t i = 0; i < n; i++) {
        e = gw_fhir_el_add(b, root, "entry");
        gw_fhir_el_value(b, e, "fullUrl",
                         join(&u, &rc, base, "/Task/", ev[i].refnr));
        r = gw_fhir_el_add(b, e, "request");
        gw_fhir_el_value(b, r, "method", "PUT");
        gw_fhir_el_value(b, r, "url", join(&u, &rc, "Task/", ev[i].refnr, ""));
        gw_fhir_el_value(b, gw_fhir_el_add(b, e, "response"), "status", "200");
    }
    return finish(b, &u, rc, out);
}

/* The notification of a subscription from before topics (criteria
 * "Task?owner.identifier=GLN"): the event code and its case, ids only,
 * as a Parameters - what such a pharmacy was promised. */
static gw_rc
legacy_body(const char *event, const char *refnr, struct gw_fhir_doc **out)
{
    struct gw_fhir_build *b = NULL;
    struct gw_fhir_el *root, *p;
    struct gw_buf u;
    gw_rc rc = gw_fhir_build_new("Parameters", &b);

    *out = NULL;
    if (rc != GW_OK)
        return rc;
    gw_buf_init(&u, URL_MAX);
    root = gw_fhir_build_root(b);
    param(b, root, "parameter", "event", "valueCode", event);
    p = param(b, root, "parameter", "case", NULL, NULL);
    gw_fhir_el_value(b, gw_fhir_el_add(b, p, "valueReference"), "reference",
                     join(&u, &rc, "Task/", refnr, ""));
    return finish(b, &u, rc, out);
}

/* doc (taken) as the JSON text that goes over the wire. */
static gw_rc
wire(struct gw_fhir_doc *doc, char **out, size_t *len)
{
    gw_rc rc = gw_fhir_to_json(doc, out, len);

    gw_fhir_doc_free(doc);
    return rc;
}

/* The notification of one event to subscription sub (an outbox item):
 * for a topic-based one numbered first (the number it had when this is a
 * retry), then sent. */
static enum gw_delivery
send_event(struct gw_pharmacy_peer *p, const struct gw_subscription *sub,
           const char *event, const struct gw_outbox_item *item,
           char *why, size_t why_size, int *sent)
{
    struct gw_subscription s = *sub;
    struct gw_outbox_item note = *item;
    struct gw_sub_event ev;
    static const struct gw_net_policy strict;
    enum gw_delivery d;
    struct gw_fhir_doc *doc = NULL;
    char *body = NULL;
    size_t blen = 0;
    gw_rc rc;

    *sent = 0;
    if (!gw_pharmacy_topic_known(sub->criteria))
        rc = legacy_body(event, item->refnr, &doc);
    else if ((rc = gw_store_sub_event(p->store, sub->id, item->message_id,
                                      event, item->refnr, &ev)) ==
             GW_ENOTFOUND)
        return GW_DELIVERED; /* deleted meanwhile: nobody to tell */
    else if (rc == GW_OK) {
        /* Every event so far, this one included (a retry of an older
         * event: the count is still the latest). */
        if (ev.number > s.events)
            s.events = ev.number;
        rc = gw_pharmacy_notification(&s, "event-notification", &ev, 1,
                                      p->base, &doc);
    }
    /* Written to text once, here, where it goes over the wire. */
    if (rc == GW_OK)
        rc = wire(doc, &body, &blen);
    if (rc != GW_OK) {
        snprintf(why, why_size, "cannot number or build the notification");
        return GW_DELIVERY_RETRY;
    }
    note.payload = body;
    note.payload_len = blen;
    {
        struct gw_http_peer hp = {sub->endpoint, "application/fhir+json",
                                  p->timeout_ms,
                                  p->policy ? p->policy : &strict, p->tls,
                                  sub->header[0] ? sub->header : NULL};
        d = gw_http_peer_send(&hp, &note, why, why_size);
    }
    free(body);
    *sent = d == GW_DELIVERED;
    return d;
}

/* An event for a subscription that is not active. The Backport IG has a
 * server count every event of a subscription in error, so that its
 * $status shows the gap and $events fills it once the pharmacy looks:
 * the event is numbered here, then the item is a dead letter. One that
 * still waits for its handshake ("requested") is tried again later, when
 * it may be active. One from before topics has no numbers: a dead letter.
 */
static enum gw_delivery
not_active(struct gw_pharmacy_peer *p, const struct gw_subscription *sub,
           const char *event, const struct gw_outbox_item *note, char *why,
           size_t why_size)
{
    int topic = gw_pharmacy_topic_known(sub->criteria);
    struct gw_sub_event ev;
    gw_rc rc;

    if (topic) {
        rc = gw_store_sub_event(p->store, sub->id, note->message_id, event,
                                note->refnr, &ev);
        if (rc == GW_ENOTFOUND)
            return GW_DELIVERED; /* deleted meanwhile: nobody to tell */
        if (rc != GW_OK) {
            snprintf(why, why_size, "cannot number the event");
            return GW_DELIVERY_RETRY;
        }
    }
    if (strcmp(sub->status, "requested") == 0) {
        snprintf(why, why_size, "subscription %s awaits its handshake",
                 sub->id);
        return GW_DELIVERY_RETRY;
    }
    snprintf(why, why_size, "subscription %s is in status %s%s", sub->id,
             sub->status, topic ? " (the event is kept for $events)" : "");
    return GW_DELIVERY_FAILED;
}

/* The notification to the one subscription `target` among subs. */
static enum gw_delivery
send_one(struct gw_pharmacy_peer *p, const struct gw_subscription *subs,
         size_t n, const char *target, const char *event,
         const struct gw_outbox_item *note, char *why, size_t why_size)
{
    const struct gw_subscription *sub = NULL;
    enum gw_delivery d;
    int in_error = 0, sent = 0;
    gw_rc rc;

    for (size_t i = 0; i < n && sub == NULL; i++)
        if (strcmp(subs[i].id, target) == 0)
            sub = &subs[i];
    if (sub == NULL) {
        /* Deleted by the pharmacy: nobody to tell any more. */
        gw_log_info("event=notify_subscription_gone subscription=%s item=%lld",
                    target, note->id);
        return GW_DELIVERED;
    }
    if (!gw_pharmacy_topic_matches(sub, event))
        return GW_DELIVERED; /* another topic: not for this one */
    if (strcmp(sub->status, "active") != 0)
        return not_active(p, sub, event, note, why, why_size);
    d = send_event(p, sub, event, note, why, why_size, &sent);
    /* A heartbeat is due only when nothing else was sent for its period. */
    if (sent && sub->heartbeat_s > 0 &&
        gw_store_sub_mark(p->store, sub->id, NULL, NULL,
                          gw_clock_now_ms()) != GW_OK)
        gw_log_warn("event=subscription_mark_failed subscription=%s",
                    sub->id);
    /* A success for a subscription with no failures changes nothing:
     * no write (each is a write lock taken against the outbox's own
     * commits: webhook_rate.py, 600 notifications, 267-286/s with it,
     * 494-503/s without). */
    if (d == GW_DELIVERED && sub->failures == 0)
        return d;
    rc = gw_store_sub_note(p->store, sub->id, d == GW_DELIVERED,
                           d == GW_DELIVERY_FAILED, p->max_failures, why,
                           &in_error);
    if (rc != GW_OK && rc != GW_ENOTFOUND)
        gw_log_err_rc(rc, "event=subscription_note_failed subscription=%s",
                      sub->id);
    if (in_error) {
        gw_log_warn("event=subscription_error subscription=%s gln=%s why=%s",
                    sub->id, sub->gln, gw_log_quote(why));
        /* It gets nothing more: this item is a dead letter too. */
        d = GW_DELIVERY_FAILED;
    }
    return d;
}

static enum gw_delivery
send_notification(void *ctx, const struct gw_outbox_item *item, char *why,
                  size_t why_size)
{
    struct gw_pharmacy_peer *p = ctx;
    struct gw_subscription *subs = NULL;
    char gln[14], *event = NULL;
    enum gw_delivery worst = GW_DELIVERED;
    size_t n = 0;
    gw_rc rc;

    rc = gw_pharmacy_notice_decode(item->payload, item->payload_len, gln,
                                   &event);
    if (rc != GW_OK) {
        snprintf(why, why_size,
                 rc == GW_ENOMEM ? "out of memory"
                                 : "unreadable notification item");
        return rc == GW_ENOMEM ? GW_DELIVERY_RETRY : GW_DELIVERY_FAILED;
    }
    if (gw_store_sub_list(p->store, item->target[0] ? item->target : NULL,
                          item->target[0] ? NULL : gln, &subs, &n) != GW_OK) {
        free(event);
        snprintf(why, why_size, "cannot read subscriptions");
        return GW_DELIVERY_RETRY;
    }
    if (item->target[0] != '\0') {
        /* Only ever to a subscription of the GLN the event names. */
        if (n == 1 && strcmp(subs[0].gln, gln) != 0)
            n = 0;
        worst = send_one(p, subs, n, item->target, event, item, why,
                         why_size);
        free(subs);
        free(event);
        return worst;
    }
    /* An item from before targets: to every active subscription. */
    for (size_t i = 0; i < n; i++) {
        enum gw_delivery d;
        int sent;
        if (strcmp(subs[i].status, "active") != 0 ||
            !gw_pharmacy_topic_matches(&subs[i], event))
            continue;
        d = send_event(p, &subs[i], event, item, why, why_size, &sent);
        /* One endpoint down means try again; the others drop the resend. */
        if (d == GW_DELIVERY_RETRY ||
            (d == GW_DELIVERY_FAILED && worst == GW_DELIVERED))
            worst = d;
    }
    if (n == 0)
        gw_log_debug("event=notify_no_subscription refnr=%s", item->refnr);
    free(subs);
    free(event);
    return worst;
}

/* --- the keeper: handshakes and heartbeats ---------------------------- */

/* Sends sub a handshake or heartbeat; GW_DELIVERED on a 2xx. */
static enum gw_delivery
send_status(struct gw_pharmacy_peer *p, const struct gw_subscription *sub,
            const char *type, char *why, size_t why_size)
{
    static const struct gw_net_policy strict;
    struct gw_outbox_item note;
    struct gw_fhir_doc *doc = NULL;
    enum gw_delivery d;
    char uuid[37];
    gw_rc rc;

    memset(&note, 0, sizeof(note));
    if ((rc = gw_random_uuid(uuid)) != GW_OK ||
        (rc = gw_pharmacy_notification(sub, type, NULL, 0, p->base, &doc)) !=
            GW_OK ||
        (rc = wire(doc, &note.payload, &note.payload_len)) != GW_OK) {
        snprintf(why, why_size, "cannot build the %s", type);
        return GW_DELIVERY_RETRY;
    }
    snprintf(note.message_id, sizeof(note.message_id), "%s:%s", type, uuid);
    snprintf(note.peer, sizeof(note.peer), "pharmacy");
    {
        struct gw_http_peer hp = {sub->endpoint, "application/fhir+json",
                                  p->timeout_ms,
                                  p->policy ? p->policy : &strict, p->tls,
                                  sub->header[0] ? sub->header : NULL};
        d = gw_http_peer_send(&hp, &note, why, why_size);
    }
    free(note.payload);
    return d;
}

static void
keep_round(struct gw_pharmacy_peer *p)
{
    struct gw_subscription *subs = NULL;
    char why[256];
    size_t n = 0;
    int64_t now = gw_clock_now_ms();

    if (gw_store_sub_list(p->store, NULL, NULL, &subs, &n) != GW_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        struct gw_subscription *s = &subs[i];
        enum gw_delivery d;
        gw_rc rc = GW_OK;
        why[0] = '\0';
        if (strcmp(s->status, "requested") == 0) {
            d = send_status(p, s, "handshake", why, sizeof(why));
            rc = gw_store_sub_mark(p->store, s->id,
                                   d == GW_DELIVERED ? "active" : "error",
                                   d == GW_DELIVERED ? NULL : why,
                                   gw_clock_now_ms());
            if (d == GW_DELIVERED)
                gw_log_info("event=subscription_active subscription=%s",
                            s->id);
            else
                gw_log_warn("event=subscription_handshake_failed "
                            "subscription=%s why=%s",
                            s->id, gw_log_quote(why));
        } else if (strcmp(s->status, "active") == 0 && s->heartbeat_s > 0 &&
                   now - s->sent_ms >= (int64_t)s->heartbeat_s * 1000) {
            d = send_status(p, s, "heartbeat", why, sizeof(why));
            /* A missed heartbeat is the pharmacy's sign: no error here;
             * the next one follows a period later. */
            rc = gw_store_sub_mark(p->store, s->id, NULL, NULL,
                                   gw_clock_now_ms());
            if (d != GW_DELIVERED)
                gw_log_info("event=subscription_heartbeat_failed "
                            "subscription=%s why=%s",
                            s->id, gw_log_quote(why));
        }
        if (rc != GW_OK && rc != GW_ENOTFOUND)
            gw_log_err_rc(rc, "event=subscription_mark_failed "
                              "subscription=%s",
                          s->id);
    }
    free(subs);
}

/* One round of the keeper, every second. */
static void
keeper_round(void *p)
{
    keep_round(p);
    gw_http_client_thread_done(NULL);
}

gw_rc
gw_pharmacy_keeper_start(struct gw_ticker *t, struct gw_pharmacy_peer *ctx)
{
    return gw_ticker_start(t, keeper_round, ctx, 1000);
}

void
gw_pharmacy_peer_init(struct gw_peer *peer, struct gw_pharmacy_peer *ctx)
{
    gw_peer_init(peer, "pharmacy", send_notification, ctx);
    peer->thread_done = gw_http_client_thread_done;
}
