/*
 * wqueue.h - the queue both backends' writers take their batches from
 * (writer.c, pg_write.c): a caller puts its request and sleeps on its
 * own semaphore; a writer takes up to batch_max waiting requests, runs
 * them in one transaction and answers each after COMMIT returned (group
 * commit). An audit entry or an HSA answer no one waits for rides along
 * as owned copies, freed when its batch is answered.
 */
#ifndef GW_STORE_WQUEUE_H
#define GW_STORE_WQUEUE_H

#include <pthread.h>
#include <semaphore.h>

#include "store/hsa_cache.h"
#include "store/write.h"

/* HSA answers waiting for a writer at most: past it a cache entry is
 * refused rather than let a writer that is slow or kept from the lock
 * grow the queue without end (each up to a few KiB). */
#define GW_WQ_HSA_MAX 1024

struct gw_wreq {
    const struct gw_store_write *w; /* NULL: no waiter; an HSA answer
                                       when hsa.person_hsa is set, else
                                       an audit entry */
    struct gw_store_result *res;
    struct gw_audit_entry audit; /* owned copies (no waiter) */
    struct gw_hsa_entry hsa;     /* owned copies (no waiter) */
    sem_t done; /* posted once by the writer when res is final */
    /* Set: no one sleeps on done; the request is owned (freed once
     * answered) and done_fn runs instead. */
    gw_store_done_fn done_fn;
    void *done_arg;
    const char *unavailable;
    int64_t queued_us; /* when it joined the queue (monotonic) */
    struct gw_wreq *next;
};

struct gw_wqueue {
    pthread_mutex_t *mu;  /* the store's lock: it guards the queue */
    const int *stopping;  /* the store's flag, set under mu */
    const int *running;   /* its writer is running */
    int batch_max;
    pthread_cond_t cv;    /* writers sleep here */
    struct gw_wreq *head, *tail;
    int idle;             /* writers asleep: a put must wake one */
    int nhsa;             /* HSA answers queued, GW_WQ_HSA_MAX at most */
};

/* The time each message of batch waited, from joining the queue until
 * now_us (its commit is durable), into a duration histogram (store.h's
 * bounds) and its sum. Under mu. */
void gw_wq_record_waits(const struct gw_wreq *batch, int64_t now_us,
                        long long *hist, long long *sum_us);
void gw_wq_init(struct gw_wqueue *q, pthread_mutex_t *mu, const int *stopping,
                const int *running, int batch_max);
void gw_wq_destroy(struct gw_wqueue *q);
/* Wakes every writer (under mu, after setting stopping). */
void gw_wq_wake_all(struct gw_wqueue *q);

/* A writer's next batch of *n requests, linked by next; NULL once the
 * store stops with nothing left. */
struct gw_wreq *gw_wq_take(struct gw_wqueue *q, int *n);
/* After a batch failed as a whole (nothing of it committed): every
 * request still answered GW_OK, or not run at all, is answered rc and
 * loses its answer. */
void gw_wq_fail(struct gw_wreq *batch, gw_rc rc);
/* Answers a batch: posts every waiter, frees every entry without one. A
 * caller may return as soon as it is posted. */
void gw_wq_answer(struct gw_wreq *batch);

/* A caller: queues w and waits for the writer's answer in res (res->rc
 * returned; GW_EUNAVAILABLE when the store is stopping, GW_ESTORE
 * without a writer). A refusal without a reason gets one: unavailable
 * (may be NULL) for GW_EUNAVAILABLE, else the code's message. */
gw_rc gw_wq_write(struct gw_wqueue *q, const struct gw_store_write *w,
                  struct gw_store_result *res,
                  const char *unavailable) GW_WARN_UNUSED;
/* The same without waiting: GW_OK once w is queued; done(arg, rc) then
 * runs once, on the writer thread after the batch's COMMIT, with res
 * final (a refusal with its reason); w and res stay borrowed until then.
 * done must be brief and must not write to the store. Any other return:
 * nothing was queued, done never runs, res holds the refusal. */
gw_rc gw_wq_write_async(struct gw_wqueue *q, const struct gw_store_write *w,
                        struct gw_store_result *res, const char *unavailable,
                        gw_store_done_fn done, void *arg) GW_WARN_UNUSED;
/* Queues a copy of e for the next batch; no one waits. */
gw_rc gw_wq_audit(struct gw_wqueue *q,
                  const struct gw_audit_entry *e) GW_WARN_UNUSED;
/* Queues a copy of person_hsa's answer, fetched now, for the next batch;
 * no one waits (gw_store_hsa_put_async: GW_EBUSY past GW_WQ_HSA_MAX). */
gw_rc gw_wq_hsa(struct gw_wqueue *q, const char *person_hsa, const char *answer,
                size_t len, int64_t expires_ms) GW_WARN_UNUSED;

#endif
