/*
 * test_pharmacy.c - the pharmacy notice (outbound/pharmacy.c): the outbox
 * payload {"gln","event"} is a JSON structure, whole or refused, and the
 * notification a pharmacy receives is built from it as a structure too.
 *
 * Event codes come from the profiles (fhir-profiles/CodeSystem-klas-
 * event.json), plus codes longer than any today: a new KLAS event must not
 * meet a hidden length limit. Delivery goes over real HTTP to a receiver
 * on 127.0.0.1 started here. A subscription from before topics gets the
 * Parameters {event, case}; a topic-based one the Subscriptions Backport
 * IG's history Bundle (the shape written here from the IG, not read from
 * the code).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/netaddr.h"
#include "fhir/fhir.h"
#include "klas/facts.h"
#include "outbound/http_client.h"
#include "outbound/pharmacy.h"
#include "store/outbox.h"
#include "store/subscription.h"
#include "store_fixture.h"

#define GLN "7350000000001"
#define REFNR "2026000042"

/* The event codes KLAS defines, from the profile's CodeSystem. */
static json_t *
profile_events(void)
{
    char path[512];
    const char *src = getenv("GW_SOURCE_DIR");
    json_t *cs, *codes = json_array();
    size_t i;
    json_t *c;

    snprintf(path, sizeof(path), "%s/fhir-profiles/CodeSystem-klas-event.json",
             src ? src : ".");
    cs = json_load_file(path, 0, NULL);
    assert_non_null(cs);
    json_array_foreach(json_object_get(cs, "concept"), i, c)
        json_array_append(codes, json_object_get(c, "code"));
    json_decref(cs);
    assert_true(json_array_size(codes) > 0);
    return codes;
}

/* A code longer than the old 39-character buffer, allowed characters only. */
static void
long_event(char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = i % 9 == 8 ? '-' : (char)('a' + i % 26);
    buf[len] = '\0';
}

static void
test_pharmacy_notice_round_trip(void **state)
{
    json_t *codes = profile_events(), *c;
    char big[300], gln[14];
    size_t i;

    (void)state;
    long_event(big, sizeof(big) - 1);
    json_array_append_new(codes, json_string(big));
    json_array_foreach(codes, i, c)
    {
        const char *ev = json_string_value(c);
        char *p = NULL, *back = NULL;
        size_t n = 0;
        assert_int_equal(gw_pharmacy_notice_encode(GLN, ev, &p, &n), GW_OK);
        assert_int_equal(n, strlen(p));
        assert_int_equal(gw_pharmacy_notice_decode(p, n, gln, &back), GW_OK);
        assert_string_equal(gln, GLN);
        assert_string_equal(back, ev);
        free(back);
        free(p);
    }
    json_decref(codes);
}

static void
test_pharmacy_notice_whole_or_refused(void **state)
{
    static const struct {
        const char *gln, *event;
    } bad_in[] = {
        {"735000000000", "decision"},  {"73500000000012", "decision"},
        {"735000000000x", "decision"}, {GLN, ""},
        {GLN, "decision\",\"x\":\"y"}, {GLN, "Decision"},
    };
    static const char *const bad_payload[] = {
        "",
        "[]",
        "{\"gln\":\"" GLN "\"}",
        "{\"gln\":\"" GLN "\",\"event\":\"decision\",\"x\":1}",
        "{\"gln\":\"" GLN "\",\"event\":7}",
        "{\"gln\":\"" GLN "\",\"event\":\"decision\",\"event\":\"x\"}",
        "{\"gln\":\"" GLN "\",\"event\":\"decision\"",
        "{\"gln\":\"1\",\"event\":\"decision\"}",
    };
    char gln[14], *ev, *p;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_in) / sizeof(bad_in[0]); i++) {
        p = (char *)"unset";
        if (gw_pharmacy_notice_encode(bad_in[i].gln, bad_in[i].event, &p, &n) !=
                GW_EINVAL ||
            p != NULL)
            fail_msg("encode of case %zu accepted", i);
    }
    for (size_t i = 0; i < sizeof(bad_payload) / sizeof(bad_payload[0]); i++) {
        ev = (char *)"unset";
        if (gw_pharmacy_notice_decode(bad_payload[i], strlen(bad_payload[i]),
                                      gln, &ev) != GW_EPARSE ||
            ev != NULL)
            fail_msg("decode of '%s' accepted", bad_payload[i]);
    }
}

/* --- a webhook receiver on 127.0.0.1 ----------------------------------- */

struct hook {
    int fd;
    int port;
    pthread_t th;
    char body[4096];
    char head[4096];
    int got;
};

static void *
serve_one(void *arg)
{
    struct hook *h = arg;
    char req[8192];
    size_t n = 0;
    int c = accept(h->fd, NULL, NULL);
    static const char ans[] = "HTTP/1.1 204 No Content\r\n"
                              "Content-Length: 0\r\nConnection: close\r\n\r\n";

    if (c < 0)
        return NULL;
    for (;;) {
        ssize_t r = recv(c, req + n, sizeof(req) - 1 - n, 0);
        char *end, *cl;
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        end = strstr(req, "\r\n\r\n");
        cl = strstr(req, "Content-Length:"); /* as curl writes it */
        if (end != NULL && cl != NULL &&
            n - (size_t)(end + 4 - req) >= (size_t)atol(cl + 15)) {
            snprintf(h->body, sizeof(h->body), "%s", end + 4);
            snprintf(h->head, sizeof(h->head), "%.*s", (int)(end - req), req);
            h->got = 1;
            break;
        }
        if (n == sizeof(req) - 1)
            break;
    }
    if (send(c, ans, sizeof(ans) - 1, MSG_NOSIGNAL) < 0)
        h->got = -1;
    close(c);
    return NULL;
}

static void
hook_start(struct hook *h)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);

    memset(h, 0, sizeof(*h));
    h->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(h->fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(h->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(h->fd, 4), 0);
    assert_int_equal(getsockname(h->fd, (struct sockaddr *)&a, &al), 0);
    h->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&h->th, NULL, serve_one, h), 0);
}

static void
hook_stop(struct hook *h)
{
    shutdown(h->fd, SHUT_RDWR);
    pthread_join(h->th, NULL);
    close(h->fd);
}

/* An outbox item as the writer stores it, the payload written here with
 * jansson (not by the code under test), members in the order given. */
static void
deliver_to(struct gw_store *st, const struct gw_subscription *tmpl,
           const char *payload, char *body, size_t size, char *head,
           enum gw_delivery *d);

static void
deliver(struct gw_store *st, const char *payload, char *body, size_t size,
        enum gw_delivery *d)
{
    deliver_to(st, NULL, payload, body, size, NULL, d);
}

/* As deliver, to a subscription like tmpl (criteria, header); head gets
 * the request head received (NULL: not wanted). */
static void
deliver_to(struct gw_store *st, const struct gw_subscription *tmpl,
           const char *payload, char *body, size_t size, char *head,
           enum gw_delivery *d)
{
    struct gw_net_policy pol;
    struct gw_pharmacy_peer pp;
    struct gw_peer peer;
    struct gw_subscription sub;
    struct gw_outbox_item item;
    struct gw_err err;
    struct hook h;
    char why[256] = "";
    static int nsub;

    hook_start(&h);
    memset(&sub, 0, sizeof(sub));
    if (tmpl != NULL)
        sub = *tmpl;
    snprintf(sub.id, sizeof(sub.id), "sub-%d", ++nsub);
    snprintf(sub.gln, sizeof(sub.gln), GLN);
    snprintf(sub.endpoint, sizeof(sub.endpoint), "http://127.0.0.1:%d/hook",
             h.port);
    snprintf(sub.status, sizeof(sub.status), "active");
    assert_int_equal(gw_store_sub_put(st, &sub), GW_OK);
    gw_err_clear(&err);
    assert_int_equal(gw_net_policy_init(&pol, NULL, "127.0.0.0/8", 1, &err),
                     GW_OK);
    memset(&pp, 0, sizeof(pp));
    pp.store = st;
    pp.timeout_ms = 5000;
    pp.policy = &pol;
    pp.max_failures = 3;
    gw_pharmacy_peer_init(&peer, &pp);
    memset(&item, 0, sizeof(item));
    item.id = 1;
    snprintf(item.message_id, sizeof(item.message_id), "msg-1");
    snprintf(item.peer, sizeof(item.peer), "pharmacy");
    snprintf(item.kind, sizeof(item.kind), "notify");
    snprintf(item.refnr, sizeof(item.refnr), REFNR);
    snprintf(item.target, sizeof(item.target), "%s", sub.id);
    item.payload = (char *)payload;
    item.payload_len = strlen(payload);
    *d = peer.send(peer.ctx, &item, why, sizeof(why));
    if (*d != GW_DELIVERED)
        print_message("not delivered: %s\n", why);
    hook_stop(&h);
    if (peer.thread_done)
        peer.thread_done(peer.ctx);
    gw_net_policy_release(&pol);
    snprintf(body, size, "%s", h.got == 1 ? h.body : "");
    if (head != NULL)
        snprintf(head, 4096, "%s", h.got == 1 ? h.head : "");
}

/* The event the pharmacy is told, read from the body it received. */
static void
check_body(const char *body, const char *event)
{
    json_t *j = json_loads(body, 0, NULL), *p;
    const char *code = NULL, *ref = NULL;

    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "resourceType")),
                        "Parameters");
    p = json_object_get(j, "parameter");
    assert_int_equal(
        json_unpack(json_array_get(p, 0), "{s:s}", "valueCode", &code), 0);
    assert_int_equal(json_unpack(json_array_get(p, 1), "{s:{s:s}}",
                                 "valueReference", "reference", &ref),
                     0);
    assert_string_equal(code, event);
    assert_string_equal(ref, "Task/" REFNR);
    json_decref(j);
}

/* A payload written here with jansson (not by the code under test). */
static char *
payload_of(const char *first, const char *v1, const char *second,
           const char *v2)
{
    json_t *pl = json_pack("{s:s,s:s}", first, v1, second, v2);
    char *p = json_dumps(pl, JSON_COMPACT | JSON_PRESERVE_ORDER);

    json_decref(pl);
    assert_non_null(p);
    return p;
}

static void
test_pharmacy_delivers_any_event_whole(void **state)
{
    struct fixture *f = *state;
    json_t *codes = profile_events(), *c;
    char big[120], body[4096], *payload;
    enum gw_delivery d;
    size_t i;

    /* The longest code a message's facts can hold, and a longer one. */
    long_event(big, GW_KLAS_EVENT_SIZE - 1);
    json_array_append_new(codes, json_string(big));
    long_event(big, sizeof(big) - 1);
    json_array_append_new(codes, json_string(big));
    json_array_foreach(codes, i, c)
    {
        const char *ev = json_string_value(c);
        payload = payload_of("gln", GLN, "event", ev);
        deliver(f->st, payload, body, sizeof(body), &d);
        free(payload);
        if (d != GW_DELIVERED)
            fail_msg("event '%s' (%zu characters) not delivered", ev,
                     strlen(ev));
        check_body(body, ev);
    }
    json_decref(codes);
    /* Members in the other order: a structure, not a fixed text. */
    payload = payload_of("event", "decision", "gln", GLN);
    deliver(f->st, payload, body, sizeof(body), &d);
    free(payload);
    assert_int_equal(d, GW_DELIVERED);
    check_body(body, "decision");
}

static void
test_pharmacy_refuses_a_broken_item(void **state)
{
    struct fixture *f = *state;
    char body[4096];
    enum gw_delivery d;

    deliver(f->st, "{\"gln\":\"" GLN "\",\"event\":\"decision\"", body,
            sizeof(body), &d);
    assert_int_equal(d, GW_DELIVERY_FAILED);
    assert_string_equal(body, "");
}

#define TOPIC_DECISION "http://klasgw.org/fhir/SubscriptionTopic/decision"

/* The value of parameter `name` of a status Parameters (valueX member). */
static json_t *
param(json_t *params, const char *name, const char *vtype)
{
    size_t i;
    json_t *p;

    json_array_foreach(json_object_get(params, "parameter"), i, p)
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            return json_object_get(p, vtype);
    return NULL;
}

/* A topic-based subscription gets the Backport IG's notification: a
 * history Bundle, the SubscriptionStatus (Parameters) first with the event
 * numbered, the Task by fullUrl only, and its channel.header. An event of
 * another topic is not sent to it at all. */
static void
test_pharmacy_topic_notification(void **state)
{
    struct fixture *f = *state;
    struct gw_subscription tmpl;
    char body[4096], head[4096], *payload;
    json_t *j, *e0, *e1, *params, *ne;
    enum gw_delivery d;
    size_t i;
    json_t *part;
    const char *focus = NULL;

    memset(&tmpl, 0, sizeof(tmpl));
    snprintf(tmpl.criteria, sizeof(tmpl.criteria), TOPIC_DECISION);
    snprintf(tmpl.header, sizeof(tmpl.header), "Authorization: Bearer t0k");
    payload = payload_of("gln", GLN, "event", "decision");
    deliver_to(f->st, &tmpl, payload, body, sizeof(body), head, &d);
    free(payload);
    assert_int_equal(d, GW_DELIVERED);
    assert_non_null(strstr(head, "\r\nAuthorization: Bearer t0k"));
    j = json_loads(body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "resourceType")),
                        "Bundle");
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "history");
    assert_int_equal(json_array_size(json_object_get(j, "entry")), 2);
    e0 = json_array_get(json_object_get(j, "entry"), 0);
    e1 = json_array_get(json_object_get(j, "entry"), 1);
    params = json_object_get(e0, "resource");
    assert_string_equal(
        json_string_value(json_object_get(params, "resourceType")),
        "Parameters");
    assert_string_equal(json_string_value(param(params, "type", "valueCode")),
                        "event-notification");
    assert_string_equal(json_string_value(param(params, "status",
                                                "valueCode")),
                        "active");
    assert_string_equal(json_string_value(param(params, "topic",
                                                "valueCanonical")),
                        TOPIC_DECISION);
    assert_string_equal(json_string_value(param(
                            params, "events-since-subscription-start",
                            "valueString")),
                        "1");
    ne = NULL;
    json_array_foreach(json_object_get(params, "parameter"), i, part)
        if (strcmp(json_string_value(json_object_get(part, "name")),
                   "notification-event") == 0)
            ne = part;
    assert_non_null(ne);
    json_array_foreach(json_object_get(ne, "part"), i, part)
        if (strcmp(json_string_value(json_object_get(part, "name")),
                   "focus") == 0)
            focus = json_string_value(json_object_get(
                json_object_get(part, "valueReference"), "reference"));
    assert_non_null(focus);
    assert_non_null(strstr(focus, "/Task/" REFNR));
    /* id-only: the focus by its address, no resource. */
    assert_non_null(strstr(json_string_value(json_object_get(e1, "fullUrl")),
                           "/Task/" REFNR));
    assert_null(json_object_get(e1, "resource"));
    assert_non_null(json_object_get(e1, "request"));
    assert_non_null(json_object_get(e1, "response"));
    json_decref(j);

    /* motivation-submit is not a decision: nothing sent, item done. */
    payload = payload_of("gln", GLN, "event", "motivation-submit");
    deliver_to(f->st, &tmpl, payload, body, sizeof(body), head, &d);
    free(payload);
    assert_int_equal(d, GW_DELIVERED);
    assert_string_equal(body, "");
}

/* The notification as the JSON text that goes over the wire. */
static void
notification_text(const struct gw_subscription *s, const char *type,
                  const struct gw_sub_event *ev, size_t n, const char *base,
                  char **text, size_t *len)
{
    struct gw_fhir_doc *doc = NULL;

    assert_int_equal(gw_pharmacy_notification(s, type, ev, n, base, &doc),
                     GW_OK);
    assert_int_equal(gw_fhir_to_json(doc, text, len), GW_OK);
    gw_fhir_doc_free(doc);
}

/* The longest FHIR base the HTTP front makes from a Host header
 * (http/server.c: up to 199 characters of [A-Za-z0-9.:[]-]), a hostile
 * error text as a subscription keeps it (any bytes a peer's or curl's
 * words bring, control characters too) and every notification type:
 * each notification is a valid R4 document whose focus references and
 * error text arrive whole (control characters XML cannot carry become a
 * space, the builder's one rule), written to JSON and read back here
 * with jansson. */
static void
test_pharmacy_notification_values_whole(void **state)
{
    static const char *const types[] = {"handshake", "heartbeat",
                                        "event-notification",
                                        "query-status", "query-event"};
    static const char hostchars[] = "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789.:[]-";
    static const char hostile[] = "\"}],\\<a b='c'>&amp;]]>\x01\x1b\t"
                                  "\x7f \xc3\xa5\xc3\xa4\xc3\xb6 {\"x\":1}";
    struct gw_subscription s;
    struct gw_sub_event ev;
    char host[200], base[300], focus[400], err_want[200];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(host) - 1; i++)
        host[i] = hostchars[i % (sizeof(hostchars) - 1)];
    host[i] = '\0';
    snprintf(base, sizeof(base), "https://%s/fhir", host);
    snprintf(focus, sizeof(focus), "%s/Task/%s", base, REFNR);
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "0f0e0d0c-0b0a-4908-8706-050403020100");
    snprintf(s.gln, sizeof(s.gln), GLN);
    snprintf(s.criteria, sizeof(s.criteria), TOPIC_DECISION);
    snprintf(s.status, sizeof(s.status), "error");
    /* The whole error field, filled with the hostile text. */
    for (i = 0; i < sizeof(s.error) - 1; i++)
        s.error[i] = hostile[i % (sizeof(hostile) - 1)];
    s.error[i] = '\0';
    /* A multi-byte character must not be cut at the end. */
    while (i > 0 && ((unsigned char)s.error[i - 1] & 0xc0) == 0x80)
        s.error[--i] = '\0';
    if (i > 0 && ((unsigned char)s.error[i - 1] & 0xc0) == 0xc0)
        s.error[--i] = '\0';
    for (i = 0; s.error[i]; i++)
        err_want[i] = (unsigned char)s.error[i] < 0x20 && s.error[i] != '\t'
                          ? ' '
                          : s.error[i];
    err_want[i] = '\0';
    s.events = 7;
    memset(&ev, 0, sizeof(ev));
    ev.number = 7;
    ev.at_ms = 1767225600123LL;
    snprintf(ev.code, sizeof(ev.code), "decision");
    snprintf(ev.refnr, sizeof(ev.refnr), REFNR);
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        struct gw_fhir_doc *back = NULL;
        struct gw_err err;
        char *text = NULL;
        size_t len = 0, k;
        json_t *j, *entries, *params, *ne = NULL, *part;
        const char *got = NULL;
        int events = strcmp(types[t], "handshake") != 0 &&
                     strcmp(types[t], "heartbeat") != 0 &&
                     strcmp(types[t], "query-status") != 0;

        notification_text(&s, types[t], &ev, events ? 1 : 0, base, &text,
                          &len);
        /* What goes over the wire is a valid R4 document again. */
        gw_err_clear(&err);
        if (gw_fhir_parse(text, len, GW_FHIR_JSON, NULL, &back, &err) != GW_OK)
            fail_msg("%s: not valid R4: %s %s", types[t], err.path,
                     err.detail);
        gw_fhir_doc_free(back);
        j = json_loadb(text, len, 0, NULL);
        assert_non_null(j);
        entries = json_object_get(j, "entry");
        assert_int_equal(json_array_size(entries), events ? 2 : 1);
        params = json_object_get(json_array_get(entries, 0), "resource");
        assert_string_equal(json_string_value(param(params, "type",
                                                    "valueCode")),
                            types[t]);
        got = json_string_value(json_object_get(
            param(params, "error", "valueCodeableConcept"), "text"));
        if (strcmp(types[t], "handshake") != 0) {
            assert_non_null(got);
            assert_string_equal(got, err_want);
        }
        json_array_foreach(json_object_get(params, "parameter"), k, part)
            if (strcmp(json_string_value(json_object_get(part, "name")),
                       "notification-event") == 0)
                ne = part;
        if (events) {
            const char *f = NULL;
            assert_non_null(ne);
            json_array_foreach(json_object_get(ne, "part"), k, part)
                if (strcmp(json_string_value(json_object_get(part, "name")),
                           "focus") == 0)
                    f = json_string_value(json_object_get(
                        json_object_get(part, "valueReference"),
                        "reference"));
            assert_non_null(f);
            assert_string_equal(f, focus);
            assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(entries, 1), "fullUrl")),
                                focus);
        } else {
            assert_null(ne);
        }
        json_decref(j);
        free(text);
    }
}

static void
test_pharmacy_header_rules(void **state)
{
    static const char *const bad[] = {
        "Authorization", /* no colon */
        ": x",
        "Auth orization: x",
        "Authorization: a\r\nX-Evil: 1",
        "Authorization: a\nb",
        "Authorization: a\x01",
        "Content-Type: text/plain",
        "x-message-id: 1",
        "Host: evil.example",
    };
    char big[400];
    const char *why;

    (void)state;
    assert_true(gw_pharmacy_header_ok("Authorization: Bearer abc.def", &why));
    assert_true(gw_pharmacy_header_ok("X-Api-Key:k", &why));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (gw_pharmacy_header_ok(bad[i], &why) || why == NULL)
            fail_msg("header %zu accepted", i);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "Authorization: ", 15);
    assert_false(gw_pharmacy_header_ok(big, &why));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pharmacy_notice_round_trip),
        cmocka_unit_test(test_pharmacy_notice_whole_or_refused),
        cmocka_unit_test_setup_teardown(test_pharmacy_delivers_any_event_whole,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_pharmacy_refuses_a_broken_item,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_pharmacy_topic_notification,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test(test_pharmacy_notification_values_whole),
        cmocka_unit_test(test_pharmacy_header_rules),
    };
    if (gw_http_client_init() != GW_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
