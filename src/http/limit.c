/*
 * limit.c - the limit on failed case look-ups, per client.
 *
 * A case is named by its referensnummer, a short number; a client that
 * may read some cases could otherwise try numbers (or, as a pharmacy,
 * personnummer against a referensnummer) until one answers. Every failed
 * look-up (404 on a read, an empty pharmacy look-up) takes a token from
 * the client's bucket; server.lookup_fail_limit tokens come back evenly
 * over server.lookup_fail_window_s. With no token left, look-ups are
 * refused with 429 and Retry-After until one has come back.
 *
 * Clients are the [clients] lines, so the table is one fixed slot per
 * line, allocated once: nothing from outside makes it grow. Successful
 * look-ups cost nothing.
 */
#include "http/http_int.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/write.h"

/* Monotonic: a clock set back must not hand out tokens (+ 1: a bucket's
 * at_ms 0 means never brought up to date). */
static int64_t
now_ms(void)
{
    return gw_clock_mono_ms() + 1;
}

struct bucket {
    double tokens;
    int64_t at_ms; /* when tokens was last brought up to date */
};

struct gw_lookup_limit {
    pthread_mutex_t mu;
    double capacity, per_ms;
    size_t n;
    struct bucket b[]; /* n of them, allocated with the struct */
};

gw_rc
gw_lookup_limit_new(long limit, long window_s, size_t nclients,
                    struct gw_lookup_limit **out)
{
    struct gw_lookup_limit *l;

    *out = NULL;
    if (limit <= 0 || window_s <= 0)
        return GW_OK; /* no limit */
    l = calloc(1, sizeof(*l) + nclients * sizeof(l->b[0]));
    if (l == NULL)
        return GW_ENOMEM;
    pthread_mutex_init(&l->mu, NULL);
    l->capacity = (double)limit;
    l->per_ms = (double)limit / ((double)window_s * 1000.0);
    l->n = nclients;
    for (size_t i = 0; i < nclients; i++)
        l->b[i].tokens = l->capacity; /* at_ms 0: full from the start */
    *out = l;
    return GW_OK;
}

void
gw_lookup_limit_free(struct gw_lookup_limit *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* Brings the bucket up to now. Called with mu held. */
static void
refill(const struct gw_lookup_limit *l, struct bucket *b, int64_t now)
{
    if (b->at_ms != 0 && now > b->at_ms) {
        b->tokens += (double)(now - b->at_ms) * l->per_ms;
        if (b->tokens > l->capacity)
            b->tokens = l->capacity;
    }
    if (b->at_ms == 0 || now > b->at_ms)
        b->at_ms = now;
}

/* Seconds until one token is back (at least 1). Called with mu held. */
static int
wait_s(const struct gw_lookup_limit *l, const struct bucket *b)
{
    double s = (1.0 - b->tokens) / l->per_ms / 1000.0;

    return s < 1.0 ? 1 : s > 86400.0 ? 86400 : (int)ceil(s);
}

/* The bucket of client brought up to now, then either asked (fail 0:
 * the seconds until a token is back, 0 when one is there) or charged
 * one failure (fail 1: whether that used the last token). 0 without a
 * limit or for an unknown client. */
static int
bucket_use(struct gw_lookup_limit *l, size_t client, int fail)
{
    struct bucket *b;
    int r = 0;

    if (l == NULL || client >= l->n)
        return 0;
    pthread_mutex_lock(&l->mu);
    b = &l->b[client];
    refill(l, b, now_ms());
    if (!fail && b->tokens < 1.0) {
        r = wait_s(l, b);
    } else if (fail && b->tokens >= 1.0) {
        b->tokens -= 1.0;
        r = b->tokens < 1.0;
    }
    pthread_mutex_unlock(&l->mu);
    return r;
}

int
gw_lookup_limit_check(struct gw_lookup_limit *l, size_t client)
{
    return bucket_use(l, client, 0);
}

int
gw_lookup_limit_fail(struct gw_lookup_limit *l, size_t client)
{
    return bucket_use(l, client, 1);
}

void
gw_lookup_audit(struct gw_req *r, gw_rc rc, const char *detail)
{
    struct gw_audit_entry e = {
        .system = r->who.label,
        .user = r->who.user ? r->who.user : r->who.gln,
        .action = "lookup-limit",
        .outcome = rc == GW_OK ? "ok" : gw_rc_name(rc),
        .detail = detail,
    };

    if (gw_store_audit_async(r->h->o.store, &e) != GW_OK)
        gw_log_err("event=audit_enqueue_failed action=lookup-limit");
}

/* A case look-up that found nothing: 404 on a read, or a search by
 * referensnummer without hits (response.c decides). It counts against
 * the client. */
void
gw_lookup_counted(struct gw_req *r, int failed)
{
    if (!failed || !gw_lookup_limit_fail(r->lookups, r->client))
        return;
    gw_log_warn("event=lookup_limit client=%s limit=%ld window_s=%ld", r->label,
                r->h->o.cfg->server_lookup_fail_limit,
                r->h->o.cfg->server_lookup_fail_window_s);
    gw_lookup_audit(r, GW_ETOOMANYLOOKUPS, "limit reached");
}
