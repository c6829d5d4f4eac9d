/*
 * wqueue.c - the writers' queue, for both backends (wqueue.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "store/store.h"
#include "store/wqueue.h"

void
gw_wq_init(struct gw_wqueue *q, pthread_mutex_t *mu, const int *stopping,
           const int *running, int batch_max)
{
    memset(q, 0, sizeof(*q));
    q->mu = mu;
    q->stopping = stopping;
    q->running = running;
    q->batch_max = batch_max > 0 ? batch_max : 1;
    pthread_cond_init(&q->cv, NULL);
}

void
gw_wq_destroy(struct gw_wqueue *q)
{
    pthread_cond_destroy(&q->cv);
}

void
gw_wq_wake_all(struct gw_wqueue *q)
{
    pthread_cond_broadcast(&q->cv);
}

/* Under mu. */
static void
put(struct gw_wqueue *q, struct gw_wreq *r)
{
    r->next = NULL;
    r->queued_us = gw_clock_mono_us();
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    if (q->idle > 0)
        pthread_cond_signal(&q->cv);
}

void
gw_wq_record_waits(const struct gw_wreq *batch, int64_t now_us, long long *hist,
                   long long *sum_us)
{
    for (const struct gw_wreq *r = batch; r != NULL; r = r->next)
        if (r->w != NULL) /* not an audit record or HSA answer: one waits */
            gw_store_dur_record(hist, sum_us, now_us - r->queued_us);
}

struct gw_wreq *
gw_wq_take(struct gw_wqueue *q, int *n)
{
    struct gw_wreq *batch, *last;

    *n = 0;
    pthread_mutex_lock(q->mu);
    while (q->head == NULL && !*q->stopping) {
        q->idle++;
        pthread_cond_wait(&q->cv, q->mu);
        q->idle--;
    }
    if (q->head == NULL) {
        pthread_mutex_unlock(q->mu);
        return NULL;
    }
    batch = last = q->head;
    *n = 1;
    while (last->next != NULL && *n < q->batch_max) {
        last = last->next;
        (*n)++;
    }
    q->head = last->next;
    if (q->head == NULL)
        q->tail = NULL;
    last->next = NULL;
    if (q->nhsa > 0)
        for (struct gw_wreq *r = batch; r != NULL; r = r->next)
            q->nhsa -= r->hsa.person_hsa != NULL;
    pthread_mutex_unlock(q->mu);
    return batch;
}

void
gw_wq_fail(struct gw_wreq *batch, gw_rc rc)
{
    for (struct gw_wreq *r = batch; r != NULL; r = r->next)
        if (r->res != NULL && r->res->rc == GW_OK) {
            r->res->rc = rc;
            free(r->res->response);
            r->res->response = NULL;
            r->res->response_len = 0;
        }
}

/* A request no one waits for, with the copies it owns. */
static void
free_entry(struct gw_wreq *r)
{
    free((char *)r->audit.system);
    free((char *)r->audit.user);
    free((char *)r->audit.action);
    free((char *)r->audit.refnr);
    free((char *)r->audit.outcome);
    free((char *)r->audit.detail);
    free((char *)r->hsa.person_hsa);
    free((char *)r->hsa.answer);
    free(r);
}

/* A refusal without a reason gets one (gw_wq_write). */
static void
with_reason(struct gw_store_result *res, gw_rc rc, const char *unavailable)
{
    if (rc == GW_OK || res->err.detail[0] != '\0')
        return;
    if (rc == GW_EUNAVAILABLE && unavailable != NULL)
        gw_err_set(&res->err, rc, NULL, "%s", unavailable);
    else if (rc == GW_ESTORAGEFULL)
        gw_err_set(&res->err, rc, NULL,
                   "nothing was stored; send the message again later");
    else
        gw_err_set(&res->err, rc, NULL, "%s", gw_rc_message(rc));
}

void
gw_wq_answer(struct gw_wreq *batch)
{
    /* Each caller on its own semaphore and outside mu: a woken caller
     * does not queue on the lock in front of the writer's next batch.
     * Its request may go as soon as it is posted: read next first. A
     * request without a waiter is answered by its done_fn and freed. */
    for (struct gw_wreq *r = batch; r != NULL;) {
        struct gw_wreq *next = r->next;
        if (r->w == NULL)
            free_entry(r);
        else if (r->done_fn != NULL) {
            gw_rc rc = r->res->rc;
            with_reason(r->res, rc, r->unavailable);
            r->done_fn(r->done_arg, rc);
            free(r);
        } else
            sem_post(&r->done);
        r = next;
    }
}

static gw_rc
wait_answer(struct gw_wqueue *q, const struct gw_store_write *w,
            struct gw_store_result *res)
{
    struct gw_wreq r;

    memset(res, 0, sizeof(*res));
    gw_err_clear(&res->err);
    if (!*q->running)
        return res->rc = GW_ESTORE;
    memset(&r, 0, sizeof(r));
    r.w = w;
    r.res = res;
    if (sem_init(&r.done, 0, 0) != 0)
        return res->rc = GW_ESTORE;
    pthread_mutex_lock(q->mu);
    if (*q->stopping) {
        pthread_mutex_unlock(q->mu);
        sem_destroy(&r.done);
        return res->rc = GW_EUNAVAILABLE;
    }
    put(q, &r);
    pthread_mutex_unlock(q->mu);
    while (sem_wait(&r.done) != 0)
        ; /* EINTR: the writer has not answered yet */
    sem_destroy(&r.done);
    return res->rc;
}

gw_rc
gw_wq_write(struct gw_wqueue *q, const struct gw_store_write *w,
            struct gw_store_result *res, const char *unavailable)
{
    gw_rc rc = wait_answer(q, w, res);

    with_reason(res, rc, unavailable);
    return rc;
}

gw_rc
gw_wq_write_async(struct gw_wqueue *q, const struct gw_store_write *w,
                  struct gw_store_result *res, const char *unavailable,
                  gw_store_done_fn done, void *arg)
{
    struct gw_wreq *r;
    gw_rc rc = GW_OK;

    memset(res, 0, sizeof(*res));
    gw_err_clear(&res->err);
    if (!*q->running)
        rc = GW_ESTORE;
    else if ((r = calloc(1, sizeof(*r))) == NULL)
        rc = GW_ENOMEM;
    if (rc != GW_OK) {
        with_reason(res, res->rc = rc, unavailable);
        return rc;
    }
    r->w = w;
    r->res = res;
    r->done_fn = done;
    r->done_arg = arg;
    r->unavailable = unavailable;
    pthread_mutex_lock(q->mu);
    if (*q->stopping) {
        pthread_mutex_unlock(q->mu);
        free(r);
        with_reason(res, res->rc = GW_EUNAVAILABLE, unavailable);
        return GW_EUNAVAILABLE;
    }
    put(q, r);
    pthread_mutex_unlock(q->mu);
    return GW_OK;
}

static char *
dup_or_null(const char *v)
{
    return v ? strdup(v) : NULL;
}

/* Queues r, an entry no one waits for, or frees it: GW_EUNAVAILABLE
 * without a writer to take it, GW_EBUSY for an HSA answer past
 * GW_WQ_HSA_MAX. */
static gw_rc
put_entry(struct gw_wqueue *q, struct gw_wreq *r)
{
    int hsa = r->hsa.person_hsa != NULL;
    gw_rc rc = GW_OK;

    pthread_mutex_lock(q->mu);
    if (*q->stopping || !*q->running)
        rc = GW_EUNAVAILABLE;
    else if (hsa && q->nhsa >= GW_WQ_HSA_MAX)
        rc = GW_EBUSY;
    else {
        put(q, r);
        q->nhsa += hsa;
    }
    pthread_mutex_unlock(q->mu);
    if (rc != GW_OK)
        free_entry(r);
    return rc;
}

gw_rc
gw_wq_audit(struct gw_wqueue *q, const struct gw_audit_entry *e)
{
    struct gw_wreq *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return GW_ENOMEM;
    r->audit.system = dup_or_null(e->system);
    r->audit.user = dup_or_null(e->user);
    r->audit.action = dup_or_null(e->action);
    r->audit.refnr = dup_or_null(e->refnr);
    r->audit.outcome = dup_or_null(e->outcome);
    r->audit.detail = dup_or_null(e->detail);
    return put_entry(q, r);
}

gw_rc
gw_wq_hsa(struct gw_wqueue *q, const char *person_hsa, const char *answer,
          size_t len, int64_t expires_ms)
{
    struct gw_wreq *r = calloc(1, sizeof(*r));
    char *copy = malloc(len + 1);

    if (r == NULL || copy == NULL ||
        (r->hsa.person_hsa = strdup(person_hsa)) == NULL) {
        free(copy);
        free(r);
        return GW_ENOMEM;
    }
    memcpy(copy, answer, len);
    copy[len] = '\0';
    r->hsa.answer = copy;
    r->hsa.len = len;
    r->hsa.fetched_ms = gw_clock_now_ms();
    r->hsa.expires_ms = expires_ms;
    return put_entry(q, r);
}
