/*
 * subs.c - the pharmacy simulator's Subscriptions Backport IG client (see
 * subs.h). Synthetic ids only; notifications are id-only anyway.
 */
#include "sim/subs.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

#define GW_SIM_EVENTS_MAX 128

#define BACKPORT_SD                                                           \
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"

/* A JSON string's text, "" for anything else. */
static const char *
sv(json_t *j)
{
    const char *v = json_string_value(j);
    return v ? v : "";
}

const char *
gw_sim_find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

static const char *
sv_s(const char *v)
{
    return v ? v : "";
}

static struct {
    struct gw_sim_subs_opts o;
    int on;
    pthread_mutex_t mu;
    char id[64];      /* our subscription ("" until created) */
    long long last;   /* highest event number seen in order */
    long long seq;    /* notifications received */
} cl = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void
keep(const char *name, const char *text)
{
    char path[1024];
    FILE *f;

    if (cl.o.dir == NULL)
        return;
    snprintf(path, sizeof(path), "%s/%s", cl.o.dir, name);
    if ((f = fopen(path, "w")) == NULL)
        return;
    fputs(text, f);
    fclose(f);
}

static int
kept(const char *name, char *buf, size_t size)
{
    char path[1024];
    FILE *f;
    size_t n;

    buf[0] = '\0';
    if (cl.o.dir == NULL)
        return 0;
    snprintf(path, sizeof(path), "%s/%s", cl.o.dir, name);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] != '\0';
}

static void
keep_last(void)
{
    char t[32];

    snprintf(t, sizeof(t), "%lld\n", cl.last);
    keep("last", t);
}

/* One HTTP/1.1 request to the gateway (plain HTTP on 127.0.0.1); the
 * status, and the body into *out (caller frees). -1 on a failure. */
static int
http(const char *method, const char *path, const char *body, char **out)
{
    const char *p = strstr(cl.o.gateway_url, "://");
    struct sockaddr_in a;
    char head[1024], *resp = NULL;
    size_t n = 0, cap = 0;
    int fd, port, status = -1;

    *out = NULL;
    port = p && strrchr(p + 3, ':') ? atoi(strrchr(p + 3, ':') + 1) : 80;
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        goto out;
    snprintf(head, sizeof(head),
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Klasgw-Client: %s\r\n"
             "Accept: application/fhir+json\r\nConnection: close\r\n"
             "Content-Type: application/fhir+json\r\nContent-Length: %zu"
             "\r\n\r\n",
             method, path, cl.o.client, body ? strlen(body) : 0);
    if (send(fd, head, strlen(head), MSG_NOSIGNAL) < 0 ||
        (body && send(fd, body, strlen(body), MSG_NOSIGNAL) < 0))
        goto out;
    for (;;) {
        ssize_t r;
        if (n + 4096 > cap) {
            char *g = realloc(resp, cap + 65536);
            if (g == NULL)
                goto out;
            resp = g;
            cap += 65536;
        }
        if ((r = recv(fd, resp + n, cap - n - 1, 0)) <= 0)
            break;
        n += (size_t)r;
    }
    if (resp == NULL)
        goto out;
    resp[n] = '\0';
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    {
        char *b = strstr(resp, "\r\n\r\n");
        *out = strdup(b ? b + 4 : "");
    }
out:
    free(resp);
    close(fd);
    return status;
}

/* The event numbers of a notification's status, "4,5" into buf; the
 * count. 0 numbers out of order or not decimal: -1. */
static int
numbers(json_t *params, char *buf, size_t size, long long *nums, int max)
{
    size_t i, o = 0;
    json_t *p;
    int k = 0;

    buf[0] = '\0';
    json_array_foreach(json_object_get(params, "parameter"), i, p)
    {
        size_t j;
        json_t *part;
        if (strcmp(sv(json_object_get(p, "name")),
                   "notification-event") != 0)
            continue;
        json_array_foreach(json_object_get(p, "part"), j, part)
        {
            const char *v;
            if (strcmp(sv(json_object_get(part, "name")),
                       "event-number") != 0)
                continue;
            v = json_string_value(json_object_get(part, "valueString"));
            if (v == NULL || k >= max)
                return -1;
            nums[k] = atoll(v);
            o += (size_t)snprintf(buf + o, o < size ? size - o : 0, "%s%s",
                                  k ? "," : "", v);
            k++;
        }
    }
    return k;
}

static const char *
param_code(json_t *params, const char *name)
{
    size_t i;
    json_t *p;

    json_array_foreach(json_object_get(params, "parameter"), i, p)
        if (strcmp(sv(json_object_get(p, "name")),
                   name) == 0) {
        json_t *v = json_object_get(p, "valueCode");
        if (v == NULL)
            v = json_object_get(p, "valueString");
        if (v == NULL)
            v = json_object_get(json_object_get(p, "valueReference"),
                                "reference");
        return json_string_value(v);
    }
    return NULL;
}

/* The checks every notification Bundle must pass; NULL when it does, else
 * why. */
static const char *
check_bundle(json_t *b, json_t **params)
{
    json_t *e0 = json_array_get(json_object_get(b, "entry"), 0);
    size_t i;
    json_t *e;

    *params = json_object_get(e0, "resource");
    if (strcmp(sv(json_object_get(b, "resourceType")),
               "Bundle") != 0 ||
        strcmp(sv(json_object_get(b, "type")),
               "history") != 0)
        return "not a history Bundle";
    if (strcmp(sv(json_object_get(*params, "resourceType")),
               "Parameters") != 0)
        return "the first entry is not the status Parameters";
    if (param_code(*params, "type") == NULL ||
        param_code(*params, "status") == NULL ||
        param_code(*params, "subscription") == NULL)
        return "the status lacks type, status or subscription";
    /* id-only: the focus entries carry no resource. */
    json_array_foreach(json_object_get(b, "entry"), i, e)
        if (i > 0 && json_object_get(e, "resource") != NULL)
            return "a focus entry carries a resource (not id-only)";
    return NULL;
}

int
gw_sim_subs_received(const char *head, const char *body)
{
    json_t *b = json_loads(body, 0, NULL), *params = NULL;
    const char *why = NULL, *type = "-", *sub, *since;
    char nums[512] = "", name[128], ref[96];
    long long got[64];
    int k = 0, ok, repeat = 0;

    pthread_mutex_lock(&cl.mu);
    if (b == NULL)
        why = "not JSON";
    else
        why = check_bundle(b, &params);
    if (why == NULL) {
        type = param_code(params, "type");
        sub = param_code(params, "subscription");
        since = param_code(params, "events-since-subscription-start");
        snprintf(ref, sizeof(ref), "Subscription/%s", cl.id);
        if (cl.id[0] != '\0' && strcmp(sub, ref) != 0)
            why = "not our subscription";
        k = numbers(params, nums, sizeof(nums), got,
                    (int)(sizeof(got) / sizeof(got[0])));
        if (why == NULL && k < 0)
            why = "unreadable event numbers";
        if (why == NULL && strcmp(type, "event-notification") == 0) {
            if (k < 1)
                why = "an event notification without an event";
            else if (since == NULL || atoll(since) < got[k - 1])
                why = "events-since-subscription-start is before the event";
            else if (got[k - 1] <= cl.last)
                repeat = 1; /* a redelivery: dropped by its number */
            else if (got[0] != cl.last + 1)
                why = "a gap before this event";
        } else if (why == NULL && strcmp(type, "handshake") != 0 &&
                   strcmp(type, "heartbeat") != 0) {
            why = "an unknown notification type";
        }
        if (why == NULL && cl.o.header != NULL) {
            size_t hl = strcspn(cl.o.header, ":");
            char want[300];
            const char *h;
            snprintf(want, sizeof(want), "\r\n%.*s:", (int)hl, cl.o.header);
            h = gw_sim_find_ci(head, want);
            if (h == NULL)
                why = "the channel.header did not come";
            else {
                const char *v = h + strlen(want), *wv = cl.o.header + hl + 1;
                while (*v == ' ')
                    v++;
                while (*wv == ' ')
                    wv++;
                if (strncmp(v, wv, strlen(wv)) != 0 ||
                    (v[strlen(wv)] != '\r' && v[strlen(wv)] != '\n'))
                    why = "the channel.header came with another value";
            }
        }
        /* A repeat is logged as such and not counted; in order moves on. */
        if (why == NULL && k > 0 && !repeat)
            cl.last = got[k - 1];
    }
    ok = why == NULL;
    cl.seq++;
    snprintf(name, sizeof(name), "n-%04lld-%s.json", cl.seq,
             type ? type : "-");
    keep(name, body);
    if (ok && k > 0 && !repeat)
        keep_last();
    gw_log_info("event=sim_backport type=%s subscription=%s events=%d "
                "numbers=%s repeat=%d ok=%d why=%s",
                type ? type : "-", cl.id[0] ? cl.id : "-", k,
                nums[0] ? nums : "-", repeat, ok,
                gw_log_quote(why ? why : ""));
    pthread_mutex_unlock(&cl.mu);
    json_decref(b);
    return ok;
}

/* The Subscription the IG describes, for our topic. */
static char *
subscription_json(void)
{
    char endpoint[128];
    json_t *ch, *s;
    char *out;

    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/hook",
             cl.o.port);
    ch = json_pack("{s:s,s:s,s:s,s:{s:[{s:s,s:s}]}}", "type", "rest-hook",
                   "endpoint", endpoint, "payload", "application/fhir+json",
                   "_payload", "extension", "url",
                   BACKPORT_SD "backport-payload-content", "valueCode",
                   "id-only");
    if (cl.o.heartbeat_s > 0)
        json_object_set_new(
            ch, "extension",
            json_pack("[{s:s,s:i}]", "url",
                      BACKPORT_SD "backport-heartbeat-period",
                      "valueUnsignedInt", cl.o.heartbeat_s));
    if (cl.o.header != NULL)
        json_object_set_new(ch, "header", json_pack("[s]", cl.o.header));
    s = json_pack("{s:s,s:{s:[s]},s:s,s:s,s:s,s:o}", "resourceType",
                  "Subscription", "meta", "profile",
                  BACKPORT_SD "backport-subscription", "status", "requested",
                  "reason", "klasgw pharmacy simulator", "criteria",
                  cl.o.topic, "channel", ch);
    out = s ? json_dumps(s, JSON_COMPACT) : NULL;
    json_decref(s);
    return out;
}

static void
subscribe(void)
{
    char *body = subscription_json(), *resp = NULL;
    json_t *j;
    int st = body ? http("POST", "/fhir/Subscription", body, &resp) : -1;

    free(body);
    j = resp ? json_loads(resp, 0, NULL) : NULL;
    pthread_mutex_lock(&cl.mu);
    if (st == 201 && json_string_value(json_object_get(j, "id")) != NULL) {
        snprintf(cl.id, sizeof(cl.id), "%s",
                 json_string_value(json_object_get(j, "id")));
        keep("subscription", cl.id);
        cl.last = 0;
        keep_last();
    }
    pthread_mutex_unlock(&cl.mu);
    gw_log_info("event=sim_subscribed status=%d subscription=%s", st,
                cl.id[0] ? cl.id : "-");
    json_decref(j);
    free(resp);
}

/* $events from the event after the last one seen: what was missed. */
static void
catch_up(void)
{
    char path[256], name[64], nums[2048] = "";
    char *resp = NULL;
    long long from, got[GW_SIM_EVENTS_MAX];
    json_t *b, *params = NULL;
    const char *why = NULL;
    int st, k = 0;

    pthread_mutex_lock(&cl.mu);
    from = cl.last + 1;
    pthread_mutex_unlock(&cl.mu);
    snprintf(path, sizeof(path),
             "/fhir/Subscription/%s/$events?eventsSinceNumber=%lld", cl.id,
             from);
    st = http("GET", path, NULL, &resp);
    b = st == 200 && resp ? json_loads(resp, 0, NULL) : NULL;
    if (b == NULL)
        why = "no $events answer";
    else
        why = check_bundle(b, &params);
    if (why == NULL && strcmp(sv_s(param_code(params, "type")),
                              "query-event") != 0)
        why = "not a query-event";
    if (why == NULL &&
        (k = numbers(params, nums, sizeof(nums), got, GW_SIM_EVENTS_MAX)) < 0)
        why = "unreadable event numbers";
    for (int i = 0; why == NULL && i < k; i++)
        if (got[i] != from + i)
            why = "the events are not the ones after the last seen";
    snprintf(name, sizeof(name), "events-%lld.json", from);
    if (resp != NULL)
        keep(name, resp);
    pthread_mutex_lock(&cl.mu);
    if (why == NULL && k > 0 && got[k - 1] > cl.last) {
        cl.last = got[k - 1];
        keep_last();
    }
    pthread_mutex_unlock(&cl.mu);
    gw_log_info("event=sim_backport_caught_up status=%d from=%lld events=%d "
                "numbers=%s ok=%d why=%s",
                st, from, k, nums[0] ? nums : "-", why == NULL,
                gw_log_quote(why ? why : ""));
    json_decref(b);
    free(resp);
}

static void *
client_main(void *arg)
{
    (void)arg;
    subscribe();
    return NULL;
}

int
gw_sim_subs_start(const struct gw_sim_subs_opts *o)
{
    char t[64];

    cl.o = *o;
    if (kept("subscription", cl.id, sizeof(cl.id))) {
        cl.last = kept("last", t, sizeof(t)) ? atoll(t) : 0;
        gw_log_info("event=sim_resumed subscription=%s last=%lld", cl.id,
                    cl.last);
        /* Before listening: what was missed comes from $events, not from
         * a redelivery that happens to arrive first. */
        catch_up();
    }
    cl.on = cl.id[0] != '\0' || o->topic != NULL;
    return 0;
}

int
gw_sim_subs_listening(void)
{
    pthread_t th;

    if (cl.id[0] != '\0' || cl.o.topic == NULL)
        return 0;
    if (pthread_create(&th, NULL, client_main, NULL) != 0)
        return 1;
    pthread_detach(th);
    return 0;
}

int
gw_sim_subs_on(void)
{
    return cl.on;
}
