/*
 * bench_http_paced.c - an open-loop load: POST a FHIR message to
 * $process-message at a fixed rate, whatever the answers' latency, and
 * measure each latency from the moment the request was due (not from
 * when it could be sent), so a stall shows up in the percentiles instead
 * of slowing the load down (no coordinated omission, as wrk2 does it).
 *
 *   bench_http_paced URL FILE RATE SECONDS [CONNECTIONS]
 *
 * URL is the gateway's base ("http://127.0.0.1:18290"); FILE a message
 * Bundle (JSON or XML, by its suffix), sent with its own Bundle.identifier
 * each time so that every request is a new case. libcurl multi, at most
 * CONNECTIONS (default 32) connections kept alive; requests due while all
 * are busy wait in line, their wait counted. Prints one RESULT line.
 * Not a test: run by tests/bench/bench_http.sh.
 */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

struct req {
    int64_t due_us;
    char *body;
};

static int64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Waits up to us microseconds (under a millisecond, which
 * curl_multi_poll cannot) for a connection to be ready. Without it the
 * loop spun until the next request was due: above 1,000 requests/s,
 * where they are due less than a millisecond apart, the client took a
 * whole core of the two the gateway runs on (7.6 s of CPU in an 8 s run
 * at 1,400/s). */
static void
wait_us(CURLM *m, int64_t us)
{
    fd_set r, w, x;
    int maxfd = -1;
    struct timeval tv = {0, (suseconds_t)us};

    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&x);
    if (curl_multi_fdset(m, &r, &w, &x, &maxfd) != CURLM_OK)
        maxfd = -1;
    (void)select(maxfd + 1, &r, &w, &x, &tv);
}

static size_t
discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static int
cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    const char *url, *path;
    double rate, seconds;
    long conns;
    char *body = NULL, *at, endpoint[512];
    const char *pre, *post;
    size_t len, head;
    FILE *f;
    CURLM *m;
    struct curl_slist *hdr = NULL;
    int64_t t0, end, *lat;
    long sent = 0, done = 0, ok = 0, cap, inflight = 0;
    unsigned tag;
    int xml;

    if (argc < 5) {
        fprintf(stderr, "usage: %s URL FILE RATE SECONDS [CONNECTIONS]\n",
                argv[0]);
        return 2;
    }
    url = argv[1];
    path = argv[2];
    rate = atof(argv[3]);
    seconds = atof(argv[4]);
    conns = argc > 5 ? atol(argv[5]) : 32;
    if (rate <= 0 || seconds <= 0 || conns < 1)
        return 2;
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 ||
        (len = (size_t)ftell(f)) == 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (body = malloc(len + 1)) == NULL || fread(body, 1, len, f) != len) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    fclose(f);
    body[len] = '\0';
    xml = strstr(path, ".xml") != NULL;
    at = strstr(body,
                xml ? "<type value=\"message\"/>" : "\"type\": \"message\"");
    if (at == NULL) {
        fprintf(stderr, "%s: no Bundle.type to put an identifier before\n",
                path);
        return 1;
    }
    head = (size_t)(at - body);
    pre = xml ? "<identifier><system value=\"urn:ietf:rfc:3986\"/><value "
                "value=\"urn:uuid:"
              : "\"identifier\": {\"system\": \"urn:ietf:rfc:3986\", "
                "\"value\": \"urn:uuid:";
    post = xml ? "\"/></identifier>" : "\"}, ";
    tag = (unsigned)now_us() ^ ((unsigned)rand() << 8);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
    hdr = curl_slist_append(hdr, xml ? "Content-Type: application/fhir+xml"
                                     : "Content-Type: application/fhir+json");
    hdr = curl_slist_append(hdr, "X-Klasgw-Client: SE2321000016-EHR1");
    hdr = curl_slist_append(hdr, "X-Klasgw-User: SE2321000016-DOC1");
    hdr = curl_slist_append(hdr, "Expect:");
    snprintf(endpoint, sizeof(endpoint), "%s/fhir/$process-message", url);
    cap = (long)(rate * seconds) + 16;
    lat = calloc((size_t)cap, sizeof(*lat));
    if (lat == NULL)
        return 1;

    t0 = now_us();
    end = t0 + (int64_t)(seconds * 1e6);
    for (;;) {
        int64_t now = now_us(), next;
        int running, left, waitms;
        CURLMsg *msg;

        /* Everything due by now goes in, on time or late. */
        while (sent < cap - 1 && now < end &&
               t0 + (int64_t)(sent * 1e6 / rate) <= now) {
            struct req *r = malloc(sizeof(*r));
            CURL *e = curl_easy_init();
            size_t n = len + 128;
            if (r == NULL || e == NULL)
                return 1;
            r->due_us = t0 + (int64_t)(sent * 1e6 / rate);
            r->body = malloc(n);
            if (r->body == NULL)
                return 1;
            n = (size_t)snprintf(r->body, n,
                                 "%.*s%s%08x-0000-4000-8000-%012lx%s%s",
                                 (int)head, body, pre, tag, sent, post, at);
            curl_easy_setopt(e, CURLOPT_URL, endpoint);
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)n);
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
            curl_easy_setopt(e, CURLOPT_PRIVATE, r);
            curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
            curl_multi_add_handle(m, e);
            sent++;
            inflight++;
        }
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            struct req *r;
            long code = 0;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result == CURLE_OK && code == 200)
                lat[ok++] = now_us() - r->due_us;
            done++;
            inflight--;
            curl_multi_remove_handle(m, msg->easy_handle);
            curl_easy_cleanup(msg->easy_handle);
            free(r->body);
            free(r);
        }
        now = now_us();
        if (now >= end && inflight == 0)
            break;
        if (now >= end + 30000000)
            break; /* answers that never come are not counted */
        next = t0 + (int64_t)(sent * 1e6 / rate);
        waitms = now >= end ? 10 : (int)((next - now) / 1000);
        if (waitms > 10)
            waitms = 10;
        if (waitms > 0)
            curl_multi_poll(m, NULL, 0, waitms, NULL);
        else if (next > now)
            wait_us(m, next - now);
    }
    qsort(lat, (size_t)ok, sizeof(*lat), cmp64);
    printf("RESULT sent=%ld answered=%ld ok=%ld duration_us=%lld p50_us=%lld "
           "p99_us=%lld max_us=%lld\n",
           sent, done, ok, (long long)(end - t0),
           (long long)(ok ? lat[ok / 2] : 0),
           (long long)(ok ? lat[(ok * 99) / 100] : 0),
           (long long)(ok ? lat[ok - 1] : 0));
    free(lat);
    free(body);
    curl_slist_free_all(hdr);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    return 0;
}
