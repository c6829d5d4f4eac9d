/*
 * pharmacy.c - rest-hook notifications to pharmacies (see pharmacy.h).
 *
 * An item names one subscription (target): it goes to that endpoint only,
 * and its outcome is noted on the subscription (gw_store_sub_note), which
 * goes into status "error" after a refusal (4xx) or too many failures in
 * a row. Items written before targets existed (no target) still go to
 * every active subscription of the GLN.
 */
#include "outbound/pharmacy.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "outbound/http_client.h"

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

/* The notification the pharmacy receives: the event code and its case,
 * ids only. */
static gw_rc
notification_body(const char *event, const char *refnr, char **out, size_t *len)
{
    char ref[32];

    snprintf(ref, sizeof(ref), "Task/%s", refnr);
    return dump(json_pack("{s:s,s:[{s:s,s:s},{s:s,s:{s:s}}]}", "resourceType",
                          "Parameters", "parameter", "name", "event",
                          "valueCode", event, "name", "case", "valueReference",
                          "reference", ref),
                out, len);
}

/* The notification to the one subscription `target` among subs. */
static enum gw_delivery
send_one(struct gw_pharmacy_peer *p, const struct gw_subscription *subs,
         size_t n, const char *target, const struct gw_outbox_item *note,
         char *why, size_t why_size)
{
    const struct gw_subscription *sub = NULL;
    enum gw_delivery d;
    int in_error = 0;
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
    if (strcmp(sub->status, "active") != 0) {
        snprintf(why, why_size, "subscription %s is in status %s", sub->id,
                 sub->status);
        return GW_DELIVERY_FAILED;
    }
    {
        static const struct gw_net_policy strict;
        struct gw_http_peer hp = {sub->endpoint, "application/fhir+json",
                                  p->timeout_ms,
                                  p->policy ? p->policy : &strict, p->tls};
        d = gw_http_peer_send(&hp, note, why, why_size);
    }
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
    struct gw_outbox_item note;
    char gln[14], *event = NULL, *body = NULL;
    enum gw_delivery worst = GW_DELIVERED;
    size_t n = 0, blen = 0;
    gw_rc rc;

    rc = gw_pharmacy_notice_decode(item->payload, item->payload_len, gln,
                                   &event);
    if (rc == GW_OK)
        rc = notification_body(event, item->refnr, &body, &blen);
    free(event);
    if (rc != GW_OK) {
        snprintf(why, why_size,
                 rc == GW_ENOMEM ? "out of memory"
                                 : "unreadable notification item");
        return rc == GW_ENOMEM ? GW_DELIVERY_RETRY : GW_DELIVERY_FAILED;
    }
    if (gw_store_sub_list(p->store, item->target[0] ? item->target : NULL,
                          item->target[0] ? NULL : gln, &subs, &n) != GW_OK) {
        free(body);
        snprintf(why, why_size, "cannot read subscriptions");
        return GW_DELIVERY_RETRY;
    }
    note = *item;
    note.payload = body;
    note.payload_len = blen;
    if (item->target[0] != '\0') {
        /* Only ever to a subscription of the GLN the event names. */
        if (n == 1 && strcmp(subs[0].gln, gln) != 0)
            n = 0;
        worst = send_one(p, subs, n, item->target, &note, why, why_size);
        free(subs);
        free(body);
        return worst;
    }
    for (size_t i = 0; i < n; i++) {
        static const struct gw_net_policy strict;
        struct gw_http_peer hp = {subs[i].endpoint, "application/fhir+json",
                                  p->timeout_ms,
                                  p->policy ? p->policy : &strict, p->tls};
        enum gw_delivery d;
        if (strcmp(subs[i].status, "active") != 0)
            continue;
        d = gw_http_peer_send(&hp, &note, why, why_size);
        /* One endpoint down means try again; the others drop the resend. */
        if (d == GW_DELIVERY_RETRY ||
            (d == GW_DELIVERY_FAILED && worst == GW_DELIVERED))
            worst = d;
    }
    if (n == 0)
        gw_log_debug("event=notify_no_subscription refnr=%s", item->refnr);
    free(subs);
    free(body);
    return worst;
}

void
gw_pharmacy_peer_init(struct gw_peer *peer, struct gw_pharmacy_peer *ctx)
{
    gw_peer_init(peer, "pharmacy", send_notification, ctx);
    peer->thread_done = gw_http_client_thread_done;
}
