/*
 * pipeline.c - decide and commit (see pipeline.h for the whole way).
 *
 * A message: parse and validate (schema + rules, collecting the facts),
 * look up the case, ask klas/access whether this caller may send this
 * event in this status, then hand ONE struct gw_store_write to the
 * writer: the case change, the message as a new document version, the
 * outbox items it causes and its audit record. A message whose id was
 * seen is answered from the inbox: by the writer inside the write, or
 * here when it would be refused. The receipt (receipt.h) quotes the
 * referensnummer and version the write gives and is kept in the inbox,
 * so a repeated message gets the very same answer: it is written ahead
 * on the request thread for the ones the write will most likely give,
 * and the writer's respond callback hands it over, or writes it there
 * when the write gave others.
 *
 * Reads: the case row decides access (klas/access), the first document
 * of the case is mapped to the case view (map/, redacted for pharmacies),
 * and every read or refused read is audited asynchronously (it commits
 * with the next batch).
 *
 * Not here: HTTP, formats (the front), HSA look-ups (outbound/).
 */
#include "pipeline/pipeline.h"

#include <gnutls/crypto.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/random.h"
#include "klas/event.h"
#include "klas/ident.h"
#include "map/view.h"
#include "outbound/http_client.h"
#include "outbound/pharmacy.h"
#include "pipeline/pipeline_int.h"
#include "pipeline/receipt.h"
#include "pipeline/refusals.h"
#include "store/licence.h"
#include "store/read.h"
#include "store/subscription.h"
#include "store/write.h"
#include "validate/validate.h"

#define MAX_HITS 120
#define RECEIPT_MAX (64 * 1024)
#define SYS_REFNR "http://klasgw.org/fhir/NamingSystem/referensnummer"

gw_rc
gw_pipeline_new(const struct gw_pipeline_opts *o, struct gw_pipeline **out)
{
    struct gw_pipeline *pl = calloc(1, sizeof(*pl));

    *out = NULL;
    if (pl == NULL)
        return GW_ENOMEM;
    pl->o = *o;
    pthread_mutex_init(&pl->cache_mu, NULL);
    *out = pl;
    return GW_OK;
}

static void
entry_free(struct gw_view_cache_entry *e)
{
    free(e->key);
    free(e->body);
    free(e);
}

void
gw_pipeline_free(struct gw_pipeline *pl)
{
    if (pl == NULL)
        return;
    for (struct gw_view_cache_entry *e = pl->newest, *next; e; e = next) {
        next = e->older;
        entry_free(e);
    }
    pthread_mutex_destroy(&pl->cache_mu);
    free(pl);
}

void
gw_pipeline_cache_stats(struct gw_pipeline *pl, struct gw_view_cache_stats *s)
{
    pthread_mutex_lock(&pl->cache_mu);
    s->bytes = pl->cache_bytes;
    s->entries = pl->cache_entries;
    pthread_mutex_unlock(&pl->cache_mu);
    s->max_bytes = GW_VIEW_CACHE_BUDGET;
    s->max_entries = GW_VIEW_CACHE_ENTRIES;
}

static unsigned
key_hash(const char *key)
{
    unsigned h = 2166136261u; /* FNV-1a */

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h;
}

/* Under cache_mu: the entry of key, or NULL. */
static struct gw_view_cache_entry *
cache_find(struct gw_pipeline *pl, const char *key, unsigned h)
{
    struct gw_view_cache_entry *e = pl->cache[h % GW_VIEW_CACHE_BUCKETS];

    while (e != NULL && (e->hash != h || strcmp(e->key, key) != 0))
        e = e->chain;
    return e;
}

/* Under cache_mu: takes e out of the recency list. */
static void
lru_unlink(struct gw_pipeline *pl, struct gw_view_cache_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        pl->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        pl->oldest = e->newer;
    e->newer = e->older = NULL;
}

/* Under cache_mu: puts e first in the recency list. */
static void
lru_front(struct gw_pipeline *pl, struct gw_view_cache_entry *e)
{
    e->older = pl->newest;
    e->newer = NULL;
    if (pl->newest)
        pl->newest->newer = e;
    pl->newest = e;
    if (pl->oldest == NULL)
        pl->oldest = e;
}

/* Under cache_mu: drops the least recently read entry. */
static void
cache_evict(struct gw_pipeline *pl)
{
    struct gw_view_cache_entry *e = pl->oldest, **p;

    lru_unlink(pl, e);
    for (p = &pl->cache[e->hash % GW_VIEW_CACHE_BUCKETS]; *p != e;
         p = &(*p)->chain)
        ;
    *p = e->chain;
    pl->cache_bytes -= e->cost;
    pl->cache_entries--;
    entry_free(e);
}

/* A copy of the cached body for key, or NULL. */
static char *
cache_get(struct gw_pipeline *pl, const char *key, size_t *len)
{
    unsigned h = key_hash(key);
    struct gw_view_cache_entry *e;
    char *copy = NULL;

    pthread_mutex_lock(&pl->cache_mu);
    e = cache_find(pl, key, h);
    if (e != NULL && (copy = malloc(e->len + 1)) != NULL) {
        memcpy(copy, e->body, e->len + 1);
        *len = e->len;
        lru_unlink(pl, e);
        lru_front(pl, e);
    }
    if (copy == NULL)
        pl->renders++;
    pthread_mutex_unlock(&pl->cache_mu);
    return copy;
}

static void
cache_put(struct gw_pipeline *pl, const char *key, const char *body,
          size_t len)
{
    unsigned h = key_hash(key);
    struct gw_view_cache_entry *e;

    if (len > GW_VIEW_CACHE_MAX_BODY || (e = calloc(1, sizeof(*e))) == NULL)
        return;
    e->hash = h;
    e->len = len;
    e->cost = sizeof(*e) + strlen(key) + 1 + len + 1;
    e->key = strdup(key);
    e->body = malloc(len + 1);
    if (e->key == NULL || e->body == NULL) {
        entry_free(e);
        return;
    }
    memcpy(e->body, body, len);
    e->body[len] = '\0';
    pthread_mutex_lock(&pl->cache_mu);
    if (cache_find(pl, key, h) != NULL) {
        /* Another thread rendered the same version meanwhile. */
        pthread_mutex_unlock(&pl->cache_mu);
        entry_free(e);
        return;
    }
    while (pl->oldest != NULL &&
           (pl->cache_bytes + e->cost > GW_VIEW_CACHE_BUDGET ||
            pl->cache_entries >= GW_VIEW_CACHE_ENTRIES))
        cache_evict(pl);
    e->chain = pl->cache[h % GW_VIEW_CACHE_BUCKETS];
    pl->cache[h % GW_VIEW_CACHE_BUCKETS] = e;
    lru_front(pl, e);
    pl->cache_bytes += e->cost;
    pl->cache_entries++;
    pthread_mutex_unlock(&pl->cache_mu);
}

/* Durable audit records an answer waits for (gw_answer.audit): owned
 * copies, and the write and result the writer borrows until done. */
struct gw_read_audit {
    struct gw_store *st;
    struct gw_store_write w;
    struct gw_store_result res;
    struct gw_audit_entry *e;
    size_t n;
    char *system, *user, *detail;
    gw_audit_done_fn done;
    void *arg;
};

static void
read_audit_free(struct gw_read_audit *ra)
{
    if (ra == NULL)
        return;
    for (size_t i = 0; ra->e != NULL && i < ra->n; i++)
        free((char *)ra->e[i].refnr);
    free(ra->e);
    free(ra->system);
    free(ra->user);
    free(ra->detail);
    gw_store_result_release(&ra->res);
    free(ra);
}

static char *
dup_opt(const char *v, int *fail)
{
    char *d = v != NULL ? strdup(v) : NULL;

    if (v != NULL && d == NULL)
        *fail = 1;
    return d;
}

/* The records of audit_shown, copied for a later commit; NULL: no
 * memory. */
static struct gw_read_audit *
read_audit_new(struct gw_pipeline *pl, const struct gw_call *c,
               const char *action, const char *const *refnrs, size_t n,
               const char *detail)
{
    struct gw_read_audit *ra = calloc(1, sizeof(*ra));
    int fail = 0;

    if (ra == NULL)
        return NULL;
    ra->st = pl->o.store;
    ra->e = calloc(n, sizeof(*ra->e));
    ra->n = n;
    ra->system = dup_opt(c->who->label, &fail);
    ra->user = dup_opt(c->who->user ? c->who->user : c->who->gln, &fail);
    ra->detail = dup_opt(detail, &fail);
    for (size_t i = 0; ra->e != NULL && i < n; i++)
        ra->e[i] = (struct gw_audit_entry){
            .system = ra->system,
            .user = ra->user,
            .action = action, /* a literal */
            .refnr = dup_opt(refnrs[i], &fail),
            .outcome = "ok",
            .detail = ra->detail,
        };
    if (ra->e == NULL || fail) {
        read_audit_free(ra);
        return NULL;
    }
    ra->w.op = GW_STORE_OP_NONE;
    ra->w.audit = ra->e;
    ra->w.naudit = n;
    return ra;
}

static void
read_audit_done(void *arg, gw_rc rc)
{
    struct gw_read_audit *ra = arg;

    ra->done(ra->arg, rc, &ra->res.err);
    read_audit_free(ra);
}

gw_rc
gw_answer_commit_audit(struct gw_pipeline *pl, struct gw_answer *a,
                       gw_audit_done_fn done, void *arg, struct gw_err *err)
{
    struct gw_read_audit *ra = a->audit;
    gw_rc rc;

    (void)pl;
    ra->done = done;
    ra->arg = arg;
    rc = gw_store_write_async(ra->st, &ra->w, &ra->res, read_audit_done, ra);
    if (rc != GW_OK) {
        *err = ra->res.err;
        return rc;
    }
    a->audit = NULL; /* the writer's now */
    return GW_OK;
}

void
gw_answer_release(struct gw_answer *a)
{
    gw_fhir_doc_free(a->doc);
    free(a->body);
    read_audit_free(a->audit);
    memset(a, 0, sizeof(*a));
}

static void
answer_outcome(struct gw_answer *a, gw_rc rc, struct gw_outcome *o)
{
    struct gw_fhir_doc *doc = NULL;

    gw_fhir_doc_free(a->doc);
    a->doc = NULL;
    a->rc = rc;
    a->status = gw_rc_http_status(rc);
    if (gw_outcome_to_doc(o, &doc) == GW_OK)
        a->doc = doc;
}

void
gw_answer_error(struct gw_answer *a, gw_rc rc, const struct gw_err *err)
{
    struct gw_outcome o;

    gw_outcome_init(&o);
    if (gw_outcome_add_rc(&o, rc, err) == GW_OK)
        answer_outcome(a, rc, &o);
    else {
        a->rc = rc;
        a->status = gw_rc_http_status(rc);
    }
    gw_outcome_release(&o);
}

void
gw_pl_audit(struct gw_pipeline *pl, const struct gw_call *c,
            const char *action, const char *refnr, gw_rc rc,
            const char *detail)
{
    struct gw_audit_entry e = {
        .system = c->who->label,
        .user = c->who->user ? c->who->user : c->who->gln,
        .action = action,
        .refnr = refnr,
        .outcome = rc == GW_OK ? "ok" : gw_rc_name(rc),
        .detail = detail,
    };
    if (gw_store_audit_async(pl->o.store, &e) != GW_OK)
        gw_log_err("event=audit_enqueue_failed action=%s", action);
}

/* The audit records of an answer that shows cases (one per case): durable
 * before the answer leaves, so who saw which case is never lost once the
 * caller has it (a crash, or a batch whose COMMIT failed, lost the queued
 * records of gw_pl_audit). They join the writer's group commit as one
 * write; when they cannot be stored the answer is withheld. */
static gw_rc
audit_shown(struct gw_pipeline *pl, const struct gw_call *c,
            const char *action, const char *const *refnrs, size_t n,
            const char *detail, int defer, struct gw_answer *a,
            struct gw_err *err)
{
    struct gw_audit_entry one, *e;
    struct gw_store_write w;
    struct gw_store_result res;
    gw_rc rc;

    if (n == 0)
        return GW_OK;
    if (defer) /* the caller commits them before it answers */
        return (a->audit = read_audit_new(pl, c, action, refnrs, n,
                                          detail)) != NULL
                   ? GW_OK
                   : GW_ENOMEM;
    if ((e = n == 1 ? &one : calloc(n, sizeof(*e))) == NULL)
        return GW_ENOMEM;
    for (size_t i = 0; i < n; i++)
        e[i] = (struct gw_audit_entry){
            .system = c->who->label,
            .user = c->who->user ? c->who->user : c->who->gln,
            .action = action,
            .refnr = refnrs[i],
            .outcome = "ok",
            .detail = detail,
        };
    memset(&w, 0, sizeof(w));
    w.op = GW_STORE_OP_NONE;
    w.audit = e;
    w.naudit = n;
    rc = gw_store_write(pl->o.store, &w, &res);
    if (rc != GW_OK)
        *err = res.err;
    gw_store_result_release(&res);
    if (e != &one)
        free(e);
    return rc;
}

void
gw_pl_answer(struct gw_pipeline *pl, const struct gw_call *c,
             struct gw_answer *a, gw_rc rc, const struct gw_err *err,
             const char *action, const char *refnr)
{
    if (rc != GW_OK) {
        gw_pipeline_refuse(pl, c, a, rc, err, NULL, action, refnr, NULL);
        return;
    }
    a->status = 200;
    gw_pl_audit(pl, c, action, refnr, rc, NULL);
}

void
gw_pipeline_audit_note(struct gw_pipeline *pl, const struct gw_call *c,
                       const char *action, const char *detail)
{
    gw_pl_audit(pl, c, action, NULL, GW_OK, detail);
}

static void
set_version_headers(struct gw_answer *a, const char *refnr, long version,
                    int64_t updated_ms)
{
    time_t t = (time_t)(updated_ms / 1000);
    struct tm tm;

    snprintf(a->etag, sizeof(a->etag), "W/\"%ld\"", version);
    snprintf(a->location, sizeof(a->location), "Task/%s/_history/%ld", refnr,
             version);
    gmtime_r(&t, &tm);
    strftime(a->last_modified, sizeof(a->last_modified),
             "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* --- the receipt ------------------------------------------------------ */

struct receipt {
    const struct gw_call *call;
    const struct gw_msg_facts *f;
    const char *status;      /* KLAS status after the event */
    const char *licence_type;
    const char *drug;
    int64_t created_ms;      /* 0: now (a new case) */
    /* The validator's issues; its warnings go back in the receipt. */
    const struct gw_outcome *issues;
    /* What respond chose and wrote (made 1), for the first answer to be
     * that receipt in the caller's format. */
    int made;
    char refnr[16];
    long version;
    int64_t now_ms;
    char uuid[37], oo_uuid[37];
    /* Written ahead on the request thread (receipt_ahead) for the
     * refnr and version above; ahead_ok 0 when none was. */
    struct gw_buf ahead;
    int ahead_ok;
};

/* The receipt r says, for receipt.h. */
static struct gw_receipt
receipt_of(const struct receipt *r)
{
    return (struct gw_receipt){.event = r->f->event,
                               .base = r->call->base,
                               .header_id = r->f->header_id,
                               .refnr = r->refnr,
                               .version = r->version,
                               .status = r->status,
                               .licence_type = r->licence_type,
                               .drug = r->drug,
                               .now_ms = r->now_ms,
                               .created_ms = r->created_ms,
                               .uuid = r->uuid,
                               .oo_uuid = r->oo_uuid,
                               .issues = r->issues};
}

/* The receipt for refnr and version, written as XML into out; what it
 * says is kept in r for the first answer (answer_made). */
static gw_rc
receipt_make(struct receipt *r, const char *refnr, long version,
             struct gw_buf *out)
{
    struct gw_receipt g;
    gw_rc rc;

    r->made = 0;
    if (gw_random_uuid(r->uuid) != GW_OK ||
        (gw_receipt_has_warnings(r->issues) &&
         gw_random_uuid(r->oo_uuid) != GW_OK))
        return GW_EINTERNAL;
    snprintf(r->refnr, sizeof(r->refnr), "%s", refnr);
    r->version = version;
    r->now_ms = gw_clock_now_ms();
    g = receipt_of(r);
    rc = gw_receipt_write(&g, GW_FHIR_XML, out);
    r->made = rc == GW_OK;
    return rc;
}

/* The receipt written on the request thread, before the write, for the
 * number and version the write will most likely give: the writer is one
 * thread for every request. Without it (out of memory) respond writes
 * it. */
static void
receipt_ahead(struct receipt *r, const char *refnr, long version)
{
    gw_buf_init(&r->ahead, (size_t)1 << 30);
    r->ahead_ok = receipt_make(r, refnr, version, &r->ahead) == GW_OK;
}

/* The inbox's answer, asked for by the writer thread inside the write
 * once the referensnummer and version exist: the receipt written ahead
 * when the write gave its number and version, else (the number was
 * taken, the case moved on in between) one written here. A batch that is
 * applied again asks again. */
static gw_rc
respond(void *ctx, const char *refnr, long version, struct gw_buf *out)
{
    struct receipt *r = ctx;
    gw_rc rc;

    if (r->ahead_ok && version == r->version && strcmp(refnr, r->refnr) == 0) {
        r->made = 1;
        return gw_buf_append(out, r->ahead.data, r->ahead.len);
    }
    r->ahead_ok = 0;
    rc = receipt_make(r, refnr, version, out);
    if (rc != GW_OK) /* logged here only: the one ahead is tried again */
        gw_log_err_rc(rc, "event=receipt_failed");
    return rc;
}

/* --- processing a message ------------------------------------------- */

static void
hash_hex(const char *p, size_t n, char out[65])
{
    unsigned char d[32];

    gnutls_hash_fast(GNUTLS_DIG_SHA256, p, n, d);
    gw_hex(d, sizeof(d), out);
}

/* The answer of a stored message: the inbox's text, parsed. */
static void
answer_stored(struct gw_answer *a, const struct gw_store_result *res,
              const struct gw_fhir_limits *lim)
{
    struct gw_fhir_doc *doc = NULL;
    struct gw_err err;

    gw_err_clear(&err);
    a->status = res->response_status ? res->response_status : 200;
    a->replayed = res->replayed;
    if (res->response != NULL &&
        gw_fhir_parse(res->response, res->response_len, GW_FHIR_XML, lim, &doc,
                      &err) == GW_OK)
        a->doc = doc;
    snprintf(a->etag, sizeof(a->etag), "W/\"%ld\"", res->version);
    snprintf(a->location, sizeof(a->location), "Task/%s/_history/%ld",
             res->refnr, res->version);
}

/* The answer of a message just stored, whose receipt respond made: as
 * text in the caller's format when the front takes text (text: the
 * inbox's
 * own bytes for XML, the same receipt written as JSON), so no tree is
 * built for it; else (a replay, or a front that wants the tree) as
 * answer_stored gives it. */
static void
answer_made(struct gw_answer *a, struct gw_store_result *res,
            const struct gw_fhir_limits *lim, const struct gw_call *c,
            const struct receipt *r, int text)
{
    struct gw_receipt g;
    struct gw_buf b;

    if (res->replayed || !r->made || !text || res->response == NULL ||
        (c->fmt != GW_FHIR_XML && c->fmt != GW_FHIR_JSON)) {
        answer_stored(a, res, lim);
        return;
    }
    a->status = res->response_status ? res->response_status : 200;
    if (c->fmt == GW_FHIR_XML) {
        a->body = res->response;
        a->body_len = res->response_len;
        res->response = NULL;
    } else {
        g = receipt_of(r);
        gw_buf_init(&b, (size_t)1 << 30);
        if (gw_receipt_write(&g, GW_FHIR_JSON, &b) == GW_OK)
            a->body = gw_buf_take(&b, &a->body_len);
        gw_buf_release(&b);
        if (a->body == NULL) { /* out of memory: the tree's way */
            answer_stored(a, res, lim);
            return;
        }
    }
    snprintf(a->etag, sizeof(a->etag), "W/\"%ld\"", res->version);
    snprintf(a->location, sizeof(a->location), "Task/%s/_history/%ld",
             res->refnr, res->version);
}

/* "a:b" on the heap, never cut (the message id is up to its fact cap
 * long); NULL when out of memory. Caller frees with free(). */
static char *
idem_key(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *k = malloc(la + lb + 2);

    if (k != NULL) {
        memcpy(k, a, la);
        k[la] = ':';
        memcpy(k + la + 1, b, lb + 1);
    }
    return k;
}

/* The id of what this message puts in the outbox: the digest of its
 * inbox key, so it is as stable as the key, unique per key, and short
 * enough for the outbox's fixed message_id (peers drop duplicates by it,
 * so a cut id would lose messages). Caller frees with free(). */
static char *
outbox_id(const char *key, const char *what)
{
    char d[65];

    hash_hex(key, strlen(key), d);
    return idem_key(d, what);
}

/* 409: the message id was used for other content. Names the case the
 * first message made or changed and when it came, never its content. */
static void
duplicate_outcome(struct gw_outcome *o, const struct gw_store_result *first)
{
    char when[40], sv[200], en[200];

    gw_clock_format(first->received_ms, when, sizeof(when));
    snprintf(sv, sizeof(sv),
             "%s: första meddelandet med detta id gäller ärende %s, "
             "mottaget %s",
             gw_rc_message_sv(GW_EDUPLICATE),
             first->refnr[0] ? first->refnr : "-", when);
    snprintf(en, sizeof(en),
             "%s: the first message with this id is about case %s, "
             "received %s",
             gw_rc_message(GW_EDUPLICATE),
             first->refnr[0] ? first->refnr : "-", when);
    if (gw_outcome_add(o, GW_SEV_ERROR, gw_rc_fhir_code(GW_EDUPLICATE),
                       gw_rc_name(GW_EDUPLICATE), "Bundle.identifier", sv,
                       en) != GW_OK)
        gw_outcome_release(o); /* refuse() falls back to the code alone */
}

/* pipeline.h: answer, log line, audit record, count. */
void
gw_pipeline_refuse(struct gw_pipeline *pl, const struct gw_call *c,
                   struct gw_answer *a, gw_rc rc, const struct gw_err *err,
                   struct gw_outcome *o, const char *action, const char *refnr,
                   const char *detail)
{
    if (o != NULL && o->n > 0)
        answer_outcome(a, rc, o);
    else
        gw_answer_error(a, rc, err);
    gw_log_info("event=refused rc=%s action=%s request=%s", gw_rc_name(rc),
                action ? action : "-", c->request_id ? c->request_id : "-");
    gw_pl_audit(pl, c, action, refnr, rc, detail);
    gw_refusals_count(rc, o); /* the console's counts (refusals.h) */
}

/* A message's refusal. action: the klas-event code, or "submit" before
 * the message is understood; refnr: the case, when the caller may learn
 * it. */
#define refuse gw_pipeline_refuse

/* Copies field `to` of the destination from `from` of the source, or from
 * an optional text field ("" becomes NULL). */
#define COPY(to, from) dst->to = src->from;
#define COPY_OPT(to, from) dst->to = src->from[0] ? src->from : NULL;

/* The case facts klas/ decides on, borrowed from the row: fields of the
 * same name. */
#define CASE_FACT_FIELDS(X)                                                    \
    X(refnr, refnr) X(licence_type, licence_type)                              \
    X(prescriber_hsa, prescriber_hsa) X(clinic_hsa, clinic_hsa)                \
    X(pharmacy_gln, pharmacy_gln) X(patient_id, patient_id)                    \
    X(decided_ms, decided_ms)

static void
case_facts(const struct gw_case_row *src, struct gw_case_facts *dst)
{
    memset(dst, 0, sizeof(*dst));
    if (gw_case_status_parse(src->status, &dst->status) != GW_OK)
        dst->status = GW_CASE_NONE;
    CASE_FACT_FIELDS(COPY)
}

/* The store effects of a decision. */
static unsigned
store_effects(unsigned fx)
{
    return ((fx & GW_FX_APPLIED) ? GW_STORE_FX_APPLIED : 0) |
           ((fx & GW_FX_DECIDED) ? GW_STORE_FX_DECIDED : 0) |
           ((fx & GW_FX_PRODUCT) ? GW_STORE_FX_PRODUCT : 0);
}

/* The fields a new case takes from its motivation, or from the basis case
 * of a re-application: one list, so the two ways cannot drift apart. */
#define NEW_CASE_FIELDS(X)                                                     \
    X(licence_type) X(prescriber_hsa) X(hospital_hsa) X(hospital_name)         \
    X(clinic_hsa) X(clinic_name) X(drug_name) X(substances)

/* The new case row of a decision that creates one: from the message (a
 * motivation) or from the basis case (a re-application, no motivation). */
static void
new_case_row(const struct gw_decision *d, const struct gw_msg_facts *f,
             const struct gw_case_row *basis, const struct gw_call *c,
             struct gw_case_row *row)
{
#define FROM_FACTS(field) row->field = (char *)f->field;
#define FROM_BASIS(field) row->field = basis->field;
    if (d->def->ref == GW_CASE_REF_NONE) {
        NEW_CASE_FIELDS(FROM_FACTS)
        row->beredskap = f->beredskap;
        row->pharmacy_gln = f->pharmacy_gln[0] ? (char *)f->pharmacy_gln : NULL;
        row->patient_id = f->patient_id[0] ? (char *)f->patient_id : NULL;
    } else {
        NEW_CASE_FIELDS(FROM_BASIS)
        row->beredskap = basis->beredskap;
        row->pharmacy_gln = c->who->gln ? (char *)c->who->gln : NULL;
        row->patient_id = basis->patient_id;
        row->parent_refnr = basis->refnr;
    }
#undef FROM_FACTS
#undef FROM_BASIS
}

/* The licence a decision writes, from the message: a new licence (its
 * product and amount), or a new validity. */
#define LICENCE_NEW_FIELDS(X, OPT)                                             \
    OPT(nplid, nplid) X(product_name, drug_name) X(substances, substances)     \
    X(form, form) X(strength, strength) X(holder, holder)                      \
    X(country, country) OPT(atc, atc) OPT(general_level, general_level)        \
    X(amount_unit, amount_unit)
#define LICENCE_VALIDITY_FIELDS(X)                                             \
    X(valid_from, validity_start) X(valid_to, validity_end)

static const struct gw_licence_info *
licence_of(const struct gw_decision *d, const struct gw_msg_facts *src,
           struct gw_licence_info *dst)
{
    memset(dst, 0, sizeof(*dst));
    if (d->effects & GW_FX_LICENCE_NEW) {
        LICENCE_NEW_FIELDS(COPY, COPY_OPT)
        dst->total_amount = strtod(src->total_amount, NULL);
        return dst;
    }
    if (d->effects & GW_FX_VALIDITY) {
        LICENCE_VALIDITY_FIELDS(COPY)
        return dst;
    }
    return NULL;
}
#undef COPY
#undef COPY_OPT

/* A message's refusal once its inbox key is known (submit_prepare,
 * submit_finish: resend in scope), unless the message was stored before
 * (answer_resent). */
#define REFUSE(rc_, err_, o_, action_, refnr_, detail_)                        \
    do {                                                                       \
        if (!answer_resent(pl, c, a, &resend))                                 \
            refuse(pl, c, a, (rc_), (err_), (o_), (action_), (refnr_),         \
                   (detail_));                                                 \
    } while (0)

/* The prescriber HSA is asked about: the motivation's Practitioner (or
 * its sender) at the stated unit; for a prescriber's supplement the
 * sender, at the sender's unit when it names one. */
static gw_rc
check_prescriber(struct gw_pipeline *pl, const struct gw_decision *d,
                 const struct gw_msg_facts *f, struct gw_err *err)
{
    const char *person =
        f->prescriber_hsa[0] ? f->prescriber_hsa : f->sender_hsa;
    const char *unit = f->clinic_hsa;

    /* The row says the sender is who must be checked (a supplement). */
    if (d->def->identity == GW_ID_SENDER && f->sender_hsa[0]) {
        person = f->sender_hsa;
        unit = f->sender_clinic_hsa[0] ? f->sender_clinic_hsa : f->clinic_hsa;
    }
    return pl->o.check_prescriber(pl->o.check_ctx, person, unit, f->beredskap,
                                  err);
}

/* The digest of an inbox key in the table of recent ones (never 0, the
 * empty slot): FNV-1a, 64 bits. */
static uint64_t
key_digest(const char *key)
{
    uint64_t h = 14695981039346656037u;

    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return h != 0 ? h : 1;
}

/* The two slots a digest may stand in: two, so that a key is forgotten
 * only when two others took both (with one, any other key that fell on
 * its slot did, and its resend went the long way, HSA's check included). */
static void
recent_slots(uint64_t h, size_t *a, size_t *b)
{
    *a = (size_t)(h % GW_RECENT_KEYS);
    *b = (size_t)((h >> 32) % GW_RECENT_KEYS);
}

/* Whether this process stored the message of key lately (forgotten, a
 * resend only costs the way a new message goes). */
static int
recently_stored(struct gw_pipeline *pl, const char *key)
{
    uint64_t h = key_digest(key);
    size_t a, b;

    recent_slots(h, &a, &b);
    return __atomic_load_n(&pl->recent[a], __ATOMIC_RELAXED) == h ||
           __atomic_load_n(&pl->recent[b], __ATOMIC_RELAXED) == h;
}

/* Puts key's digest in an empty one of its slots, else in the one a bit
 * of the digest picks (races between threads only forget a key). */
static void
remember_stored(struct gw_pipeline *pl, const char *key)
{
    uint64_t h = key_digest(key);
    uint64_t in_a, in_b;
    size_t a, b;

    recent_slots(h, &a, &b);
    in_a = __atomic_load_n(&pl->recent[a], __ATOMIC_RELAXED);
    in_b = __atomic_load_n(&pl->recent[b], __ATOMIC_RELAXED);
    if (in_a == h || in_b == h)
        return;
    if (in_a != 0 && (in_b == 0 || (h >> 63) != 0))
        a = b;
    __atomic_store_n(&pl->recent[a], h, __ATOMIC_RELAXED);
}

/* What a message is known by in the inbox, for answering it as a resend
 * (answer_resent). */
struct resend {
    const char *key;  /* the inbox key: sender and message id (or hash) */
    const char *hash; /* the canonical content hash */
    const char *body; /* the bytes as received, or NULL */
    size_t len;
    struct gw_outcome *o; /* the validator's issues (the 409 adds one) */
    const char *event;
};

/*
 * The inbox's answer to a message stored before under its key, as the
 * writer gives it inside the write (write_apply.c: inbox_get): the stored
 * answer for the same content, 409 for other content under a used id.
 * Also the same content by the hash of its raw bytes, which rows written
 * before the canonical hash hold (the writer knows only the canonical
 * one). 1 when a is set; 0 when no row is there (or none could be read:
 * the caller's own answer stands).
 */
static int
answer_resent(struct gw_pipeline *pl, const struct gw_call *c,
              struct gw_answer *a, const struct resend *m)
{
    struct gw_store_result res;
    char raw_hash[65];

    if (gw_store_inbox_get(pl->o.store, m->key, &res) != GW_OK) {
        gw_store_result_release(&res);
        return 0;
    }
    if (m->body != NULL)
        hash_hex(m->body, m->len, raw_hash);
    else
        raw_hash[0] = '\0';
    if (strcmp(res.content_hash, m->hash) != 0 &&
        strcmp(res.content_hash, raw_hash) != 0) {
        duplicate_outcome(m->o, &res);
        refuse(pl, c, a, GW_EDUPLICATE, NULL, m->o, m->event, res.refnr, NULL);
    } else {
        answer_stored(a, &res, &pl->o.limits);
    }
    gw_store_result_release(&res);
    return 1;
}

/*
 * One message between its two halves (prepare, then finish once its
 * write is done): everything the write borrows and the answer needs. On
 * the heap, so the write may be queued while the caller's thread serves
 * others (gw_pipeline_process_async).
 */
struct gw_submit {
    struct gw_pipeline *pl;
    struct gw_call
        call; /* the caller's, copied: its strings are the caller's */
    struct gw_fhir_doc *doc;
    const char *body; /* the bytes as received, or NULL */
    size_t len;
    int text;
    struct gw_outcome o;
    struct gw_msg_facts f;
    struct gw_case_row row, cur;
    int have_case;
    struct gw_store_write w;
    struct gw_store_result res;
    struct gw_store_outbox_new ob[2];
    struct gw_audit_entry au;
    struct receipt rc_ctx;
    struct gw_licence_info lic;
    struct gw_pharmacy ph;
    struct resend resend;
    char hash[65], action[40], first[GW_REFNR_LEN + 1];
    char *xml, *key, *obid[2], *notice;
    size_t xml_len, nob, notice_len;
    gw_rc write_rc; /* the write's result, once done */
    gw_pipeline_done_fn done;
    void *done_arg;
};

/* The message doc (taken) of c; NULL when out of memory: doc is freed
 * and a refused. */
static struct gw_submit *
submit_new(struct gw_pipeline *pl, const struct gw_call *c,
           struct gw_fhir_doc *doc, const char *body, size_t len, int text,
           struct gw_answer *a)
{
    struct gw_submit *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        gw_fhir_doc_free(doc);
        refuse(pl, c, a, GW_ENOMEM, NULL, NULL, "submit", NULL, NULL);
        return NULL;
    }
    s->pl = pl;
    s->call = *c;
    s->doc = doc;
    s->body = body;
    s->len = len;
    s->text = text;
    gw_outcome_init(&s->o);
    return s;
}

static void
submit_free(struct gw_submit *s)
{
    if (s == NULL)
        return;
    gw_buf_release(&s->rc_ctx.ahead);
    free(s->xml);
    free(s->key);
    free(s->obid[0]);
    free(s->obid[1]);
    free(s->notice);
    gw_store_result_release(&s->res);
    gw_case_row_release(&s->cur);
    gw_outcome_release(&s->o);
    gw_fhir_doc_free(s->doc);
    free(s);
}

/*
 * The first half of one message, parsed: validate and collect the facts,
 * check the sender, load what the event's row asks for (the case, the
 * consent clock), let klas/ decide, ask HSA if the decision says so, and
 * make ONE write (s->w), which the store applies answering a resend from
 * the inbox in the write's own transaction. A message refused on the way
 * may be a resend whose case has moved on since: it is answered from the
 * inbox (answer_resent), as it was when the inbox was read first.
 * 1: s->w is ready to hand to the store; 0: a is the answer.
 */
static int
submit_prepare(struct gw_submit *s, long if_match, struct gw_answer *a)
{
    struct gw_pipeline *pl = s->pl;
    const struct gw_call *c = &s->call;
    struct gw_msg_facts *f = &s->f;
    struct gw_case_facts kf;
    struct gw_consent_facts consent;
    struct gw_decide_in in;
    struct gw_decision dec;
    struct receipt *rcx = &s->rc_ctx;
    struct gw_store_write *w = &s->w;
    struct gw_case_row *row = &s->row;
    const struct gw_event_def *def;
    const char *ref = NULL;
    struct gw_err err;
    struct resend resend;
    gw_rc rc;

    gw_err_clear(&err);

    /* The validation walk also collects the facts. */
    rc = gw_validate_doc_facts(pl->o.validator, s->doc, NULL, &s->o, f);
    if (rc != GW_OK) {
        refuse(pl, c, a, rc, &err, &s->o, "submit", NULL, "invalid message");
        return 0;
    }

    /* Who sends in whose name, before anything else: a resend must not
     * answer a caller who could not have sent the message. */
    rc = gw_klas_check_sender(c->who, f, &err);
    if (rc != GW_OK) {
        refuse(pl, c, a, rc, &err, NULL, f->event,
               f->refnr[0] ? f->refnr : NULL, err.detail);
        return 0;
    }

    /* Idempotency: the sender's message id, or the content itself. The
     * content counts in its canonical form, so a retry re-serialised by
     * the client (compact, XML, over SOAP) is the same message. */
    rc = gw_msg_content_hash(s->doc, s->hash);
    if (rc == GW_OK &&
        (s->key = idem_key(c->who->label,
                           f->message_id[0] ? f->message_id : s->hash)) == NULL)
        rc = GW_ENOMEM;
    if (rc != GW_OK) {
        refuse(pl, c, a, rc, NULL, NULL, f->event, NULL, "message key");
        return 0;
    }
    /* Looked up here only when this process stored the key lately: the
     * writer looks every key up in the write's transaction and answers
     * a resend (or refuses a reused id) as this thread would; most
     * messages are new, and the look-up was a read of the inbox's
     * largest index for every one. Every refusal from here on asks the
     * inbox first (REFUSE). */
    s->resend =
        (struct resend){s->key, s->hash, s->body, s->len, &s->o, f->event};
    resend = s->resend;
    if (recently_stored(pl, s->key) && answer_resent(pl, c, a, &resend))
        return 0;

    /* What the event's row asks for: the case it names, the consent. */
    def = gw_klas_event_by_code(f->event);
    if (def != NULL && def->ref == GW_CASE_REF_TASK)
        ref = f->refnr;
    else if (def != NULL && def->ref == GW_CASE_REF_BASIS)
        ref = f->basis_refnr;
    if (ref != NULL) {
        rc = gw_store_case_get(pl->o.store, ref, &s->cur);
        if (rc == GW_ENOTFOUND || (rc == GW_OK && s->cur.purged_ms != 0)) {
            rc = rc == GW_OK ? GW_EGONE : rc;
            gw_err_set(&err, rc, "Task.identifier",
                       rc == GW_EGONE ? "the case has been removed"
                                      : "no case with that referensnummer");
            REFUSE(rc, &err, NULL, f->event, NULL, NULL);
            return 0;
        }
        if (rc != GW_OK) {
            REFUSE(rc, NULL, NULL, f->event, NULL, "case look-up");
            return 0;
        }
        s->have_case = 1;
        case_facts(&s->cur, &kf);
    }
    memset(&consent, 0, sizeof(consent));
    if (def != NULL && def->consent) {
        struct gw_consent cs;
        rc = gw_store_consent_get(pl->o.store, f->prescriber_hsa, &cs);
        if (rc != GW_OK) {
            REFUSE(rc, NULL, NULL, f->event, NULL, "consent");
            return 0;
        }
        consent = (struct gw_consent_facts){cs.known, cs.consented_ms,
                                            cs.last_applied_ms,
                                            cs.last_active_ms};
    }
    in = (struct gw_decide_in){c->who, f, s->have_case ? &kf : NULL, &consent,
                               gw_clock_now_ms()};
    rc = gw_klas_decide(&in, &dec, &err);
    /* The prescriber's authority, from HSA (outbound/), last: it may
     * cost a network round trip. */
    if (rc == GW_OK && dec.check_hsa && pl->o.check_prescriber != NULL)
        rc = check_prescriber(pl, &dec, f, &err);
    /* A refusal of a message stored before (the case moved on because
     * of it, or the same message on two nodes at once: R6's twins) is
     * its stored answer (REFUSE). */
    if (rc != GW_OK) {
        REFUSE(rc, &err, NULL, f->event, s->have_case ? s->cur.refnr : NULL,
               err.detail);
        return 0;
    }

    /* One write: the case, the message, the outbox, the register, the
     * audit record. */
    rc = gw_fhir_to_xml(s->doc, &s->xml, &s->xml_len);
    if (rc != GW_OK) {
        REFUSE(rc, NULL, NULL, f->event, NULL, "serialise");
        return 0;
    }
    w->message_id = s->key;
    w->sender = c->who->label;
    w->content_hash = s->hash;
    w->event = dec.def->name;
    w->actor = c->who->label;
    w->doc_kind = f->event;
    w->doc_xml = s->xml;
    w->doc_len = s->xml_len;
    w->expect_version = if_match;
    w->effects = store_effects(dec.effects);
    row->status = (char *)gw_case_status_code(dec.to);
    rcx->call = c;
    rcx->f = f;
    rcx->issues = &s->o;
    rcx->status = row->status;
    if (dec.def->ref != GW_CASE_REF_TASK) {
        w->op = GW_STORE_OP_CREATE;
        w->expect_version = 0;
        new_case_row(&dec, f, &s->cur, c, row);
        rcx->licence_type = row->licence_type;
        rcx->drug = row->drug_name;
    } else {
        w->op = GW_STORE_OP_UPDATE;
        row->refnr = s->cur.refnr;
        w->expect_status = s->cur.status;
        if (dec.effects & GW_FX_TAKE_CASE)
            row->pharmacy_gln = (char *)c->who->gln;
        rcx->licence_type = s->cur.licence_type;
        rcx->drug = s->cur.drug_name;
        rcx->created_ms = s->cur.created_ms;
    }
    w->licence = licence_of(&dec, f, &s->lic);
    w->row = *row;
    if ((dec.effects & GW_FX_REGISTER) && f->pharmacy_name[0]) {
        /* The pharmacy as it names itself becomes findable (Sök apotek),
         * in the same transaction as its application. */
        struct gw_pharmacy *ph = &s->ph;
        snprintf(ph->gln, sizeof(ph->gln), "%s", f->pharmacy_gln);
        snprintf(ph->name, sizeof(ph->name), "%s", f->pharmacy_name);
        snprintf(ph->address, sizeof(ph->address), "%s", f->pharmacy_address);
        snprintf(ph->city, sizeof(ph->city), "%s", f->pharmacy_city);
        w->pharmacy = ph;
    }

    /* What must leave the gateway because of this event. */
    if (dec.notify_gln != NULL) {
        s->obid[s->nob] = outbox_id(s->key, "notify");
        rc = s->obid[s->nob] == NULL
                 ? GW_ENOMEM
                 : gw_pharmacy_notice_encode(dec.notify_gln, f->event,
                                             &s->notice, &s->notice_len);
        if (rc != GW_OK) {
            /* Our own table's GLN and event: an internal fault if not. */
            REFUSE(rc == GW_ENOMEM ? rc : GW_EINTERNAL, NULL, NULL, f->event,
                   NULL, NULL);
            return 0;
        }
        s->ob[s->nob] = (struct gw_store_outbox_new){
            s->obid[s->nob], "pharmacy",    "notify",
            s->notice,       s->notice_len, dec.notify_gln};
        s->nob++;
    }
    if (dec.lv != NULL) {
        s->obid[s->nob] = outbox_id(s->key, "lv");
        if (s->obid[s->nob] == NULL) {
            REFUSE(GW_ENOMEM, NULL, NULL, f->event, NULL, NULL);
            return 0;
        }
        s->ob[s->nob] = (struct gw_store_outbox_new){
            s->obid[s->nob], "lv", dec.lv, s->xml, s->xml_len, NULL};
        s->nob++;
    }
    w->outbox = s->ob;
    w->noutbox = s->nob;
    snprintf(s->action, sizeof(s->action), "%s", f->event);
    s->au = (struct gw_audit_entry){
        c->who->label, c->who->user ? c->who->user : c->who->gln,
        s->action,     NULL,
        "ok",          c->request_id};
    w->audit = &s->au;
    w->naudit = 1;
    w->response_status = 200;
    w->respond = respond;
    w->respond_ctx = rcx;
    /* The number a new case will most likely get: drawn here as the
     * writer would draw it, and tried first there. */
    if (w->op == GW_STORE_OP_CREATE) {
        if (gw_refnr_new(s->first) == GW_OK) {
            w->refnr_first = s->first;
            receipt_ahead(rcx, s->first, 1);
        }
    } else if (s->have_case) {
        receipt_ahead(rcx, s->cur.refnr, s->cur.version + 1);
    }
    /* The write carries the message as XML text and nothing after this
     * reads the tree: a message waiting for its commit (one for each
     * connection at most, not one for each thread) holds no tree. */
    gw_fhir_doc_free(s->doc);
    s->doc = NULL;
    return 1;
}

/* The second half, once the store has answered the write (rc): a is the
 * receipt, the stored answer of a resend, or the refusal. */
static void
submit_finish(struct gw_submit *s, gw_rc rc, struct gw_answer *a)
{
    struct gw_pipeline *pl = s->pl;
    const struct gw_call *c = &s->call;
    struct gw_store_result *res = &s->res;
    struct resend resend = s->resend;

    if (rc == GW_EDUPLICATE) {
        /* The id was used before (or by a concurrent message committed
         * first) for other content by the canonical hash; by the raw
         * bytes' hash of an older row it may be this very message. */
        char raw_hash[65];
        if (s->body != NULL) {
            hash_hex(s->body, s->len, raw_hash);
            if (strcmp(res->content_hash, raw_hash) == 0 &&
                answer_resent(pl, c, a, &resend))
                return;
        }
        duplicate_outcome(&s->o, res);
        refuse(pl, c, a, rc, NULL, &s->o, s->f.event, res->refnr, NULL);
        return;
    }
    if (rc != GW_OK) {
        REFUSE(rc, &res->err, NULL, s->f.event,
               s->have_case ? s->cur.refnr : NULL, res->err.detail);
        return;
    }
    remember_stored(pl, s->key);
    answer_made(a, res, &pl->o.limits, c, &s->rc_ctx, s->text);
    gw_log_info("event=message kind=%s refnr=%s version=%ld status=%s%s",
                s->f.event, res->refnr, res->version, s->row.status,
                res->replayed ? " replayed=1" : "");
}

/* One message, parsed, on this thread from start to end. Takes doc. */
static void
process(struct gw_pipeline *pl, const struct gw_call *c,
        struct gw_fhir_doc *doc, const char *body, size_t len, long if_match,
        int text, struct gw_answer *a)
{
    struct gw_submit *s = submit_new(pl, c, doc, body, len, text, a);

    if (s == NULL)
        return;
    if (submit_prepare(s, if_match, a))
        submit_finish(s, gw_store_write(pl->o.store, &s->w, &s->res), a);
    submit_free(s);
}

/* Parses body into *doc; 0 and a refused when it is no message. */
static int
parse_message(struct gw_pipeline *pl, const struct gw_call *c, const char *body,
              size_t len, struct gw_fhir_doc **doc, struct gw_answer *a)
{
    struct gw_err err;
    gw_rc rc;

    memset(a, 0, sizeof(*a));
    gw_err_clear(&err);
    *doc = NULL;
    rc = gw_fhir_parse(body, len, GW_FHIR_SNIFF, &pl->o.limits, doc, &err);
    if (rc == GW_OK)
        return 1;
    refuse(pl, c, a, rc, &err, NULL, "submit", NULL, "invalid message");
    return 0;
}

static void
process_bytes(struct gw_pipeline *pl, const struct gw_call *c, const char *body,
              size_t len, long if_match, int text, struct gw_answer *a)
{
    struct gw_fhir_doc *doc;

    if (parse_message(pl, c, body, len, &doc, a))
        process(pl, c, doc, body, len, if_match, text, a);
}

void
gw_pipeline_process(struct gw_pipeline *pl, const struct gw_call *c,
                    const char *body, size_t len, long if_match,
                    struct gw_answer *a)
{
    process_bytes(pl, c, body, len, if_match, 0, a);
}

void
gw_pipeline_process_text(struct gw_pipeline *pl, const struct gw_call *c,
                         const char *body, size_t len, long if_match,
                         struct gw_answer *a)
{
    process_bytes(pl, c, body, len, if_match, 1, a);
}

/* A message a front could not make a tree of (parse_err says why). */
static void
refuse_unparsed(struct gw_pipeline *pl, const struct gw_call *c,
                struct gw_answer *a, const struct gw_err *parse_err)
{
    refuse(pl, c, a,
           parse_err != NULL && parse_err->rc != GW_OK ? parse_err->rc
                                                       : GW_EPARSE,
           parse_err, NULL, "submit", NULL, "invalid message");
}

/* On the writer thread, after the batch's COMMIT: brief, as the store
 * asks; the second half runs on the caller's thread. */
static void
submit_written(void *arg, gw_rc rc)
{
    struct gw_submit *s = arg;

    s->write_rc = rc;
    s->done(s->done_arg);
}

/* Prepares s and queues its write: 1 with *out = s when queued (done
 * follows), 0 with a the answer (s freed). Takes s. */
static int
submit_start(struct gw_submit *s, long if_match, struct gw_answer *a,
             gw_pipeline_done_fn done, void *arg, struct gw_submit **out)
{
    gw_rc rc;

    if (!submit_prepare(s, if_match, a)) {
        submit_free(s);
        return 0;
    }
    s->done = done;
    s->done_arg = arg;
    rc =
        gw_store_write_async(s->pl->o.store, &s->w, &s->res, submit_written, s);
    if (rc != GW_OK) { /* nothing queued: res->err says why */
        submit_finish(s, rc, a);
        submit_free(s);
        return 0;
    }
    *out = s;
    return 1;
}

int
gw_pipeline_process_async(struct gw_pipeline *pl, const struct gw_call *c,
                          const char *body, size_t len, long if_match,
                          struct gw_answer *a, gw_pipeline_done_fn done,
                          void *arg, struct gw_submit **out)
{
    struct gw_fhir_doc *doc;
    struct gw_submit *s;

    *out = NULL;
    if (!parse_message(pl, c, body, len, &doc, a))
        return 0;
    s = submit_new(pl, c, doc, body, len, 1, a);
    return s != NULL && submit_start(s, if_match, a, done, arg, out);
}

int
gw_pipeline_process_doc_async(struct gw_pipeline *pl, const struct gw_call *c,
                              struct gw_fhir_doc *doc,
                              const struct gw_err *parse_err, long if_match,
                              struct gw_answer *a, gw_pipeline_done_fn done,
                              void *arg, struct gw_submit **out)
{
    struct gw_submit *s;

    *out = NULL;
    memset(a, 0, sizeof(*a));
    if (doc == NULL) {
        refuse_unparsed(pl, c, a, parse_err);
        return 0;
    }
    s = submit_new(pl, c, doc, NULL, 0, 0, a);
    return s != NULL && submit_start(s, if_match, a, done, arg, out);
}

void
gw_pipeline_process_end(struct gw_submit *s, struct gw_answer *a)
{
    memset(a, 0, sizeof(*a));
    submit_finish(s, s->write_rc, a);
    submit_free(s);
}

void
gw_pipeline_process_doc(struct gw_pipeline *pl, const struct gw_call *c,
                        struct gw_fhir_doc *doc,
                        const struct gw_err *parse_err, long if_match,
                        struct gw_answer *a)
{
    memset(a, 0, sizeof(*a));
    if (doc == NULL)
        refuse_unparsed(pl, c, a, parse_err);
    else
        process(pl, c, doc, NULL, 0, if_match, 0, a);
}

void
gw_pipeline_validate(struct gw_pipeline *pl, const struct gw_call *c,
                     const char *body, size_t len, struct gw_answer *a)
{
    struct gw_outcome o;
    gw_rc rc;

    memset(a, 0, sizeof(*a));
    gw_outcome_init(&o);
    rc = gw_validate_bytes(pl->o.validator, body, len, &pl->o.limits, NULL,
                           &o, NULL);
    answer_outcome(a, rc, &o);
    if (rc == GW_OK)
        a->status = 200;
    gw_outcome_release(&o);
}

/* --- reads ------------------------------------------------------------ */

/* The case row and whether the caller may see it; on refusal a is set. */
gw_rc
gw_pl_case_for_read(struct gw_pipeline *pl, const struct gw_call *c,
                    const char *refnr, int found_by_lookup,
                    struct gw_case_row *row, int *redact, struct gw_answer *a)
{
    struct gw_case_access ca;
    struct gw_err err;
    int exists = 0;
    gw_rc rc;

    gw_err_clear(&err);
    memset(row, 0, sizeof(*row));
    /* Refusals that depend on the caller alone come before the look-up;
     * after it, unknown and not-yours get the same answer (access.h). */
    rc = gw_access_read_any(c->who, &err);
    if (rc == GW_OK && gw_refnr_check(refnr, NULL) != GW_OK)
        rc = gw_err_set(&err, GW_ENOTFOUND, NULL, GW_ACCESS_NO_SUCH_CASE);
    else if (rc == GW_OK)
        rc = gw_store_case_get(pl->o.store, refnr, row);
    if (rc == GW_ENOTFOUND)
        gw_err_set(&err, GW_ENOTFOUND, NULL, GW_ACCESS_NO_SUCH_CASE);
    exists = rc == GW_OK;
    if (rc == GW_OK && row->purged_ms != 0)
        rc = gw_err_set(&err, GW_EGONE, NULL,
                        "the case has been removed under the retention rules");
    if (rc == GW_OK) {
        ca.status = GW_CASE_NONE;
        if (gw_case_status_parse(row->status, &ca.status) != GW_OK)
            ca.status = GW_CASE_NONE;
        ca.prescriber_hsa = row->prescriber_hsa;
        ca.pharmacy_gln = row->pharmacy_gln;
        rc = gw_access_read(c->who, &ca, found_by_lookup, redact, &err);
    }
    if (rc != GW_OK) {
        /* A refusal says nothing about the case itself; the audit,
         * unlike the caller, learns that the case exists. */
        gw_pipeline_refuse(
            pl, c, a, rc, &err, NULL, "read", exists ? refnr : NULL,
            exists && rc == GW_ENOTFOUND ? "not the caller's case" : NULL);
        gw_case_row_release(row);
    }
    return rc;
}

/* Whether a later message adds something readers need: LV's requests,
 * the supplements, the decision (its letter). */
static int
adds_to_view(const char *kind)
{
    return gw_klas_event_adds_view(kind);
}

gw_rc
gw_pl_case_view(struct gw_pipeline *pl, const struct gw_call *c,
                const struct gw_case_row *row, const char *status,
                long version, int64_t updated_ms, int redact, int later,
                struct gw_fhir_doc **view)
{
    char *kind = NULL, *xml = NULL, prefix[32];
    struct gw_licence_hit *lic = NULL;
    size_t len = 0, nlic = 0;
    long got = 0;
    struct gw_case_stamp s;
    enum gw_case_status cs;
    gw_rc rc;

    *view = NULL;
    memset(&s, 0, sizeof(s));
    s = (struct gw_case_stamp){
        c->base,    row->refnr, status, version, row->created_ms,
        updated_ms, NULL,       NULL,   NULL,    c->who->gln};
    if (later && gw_case_status_parse(status, &cs) == GW_OK &&
        gw_case_status_has(cs, GW_ST_IN_FORCE) &&
        gw_store_licences(pl->o.store, row->refnr, NULL, NULL, &lic, &nlic) ==
            GW_OK &&
        nlic > 0 && lic[0].valid_from[0]) {
        s.valid_from = lic[0].valid_from;
        s.valid_to = lic[0].valid_to;
    }
    rc = gw_store_document_get(pl->o.store, row->refnr, 1, &kind, &xml, &len,
                               &got);
    if (rc == GW_OK)
        rc = gw_view_case(pl->o.views, xml, len, &s, redact, view);
    /* The later messages of the case, up to the version shown. */
    for (long v = 2; later && rc == GW_OK && v <= version; v++) {
        struct gw_fhir_doc *more = NULL;
        free(kind);
        free(xml);
        kind = xml = NULL;
        if (gw_store_document_get(pl->o.store, row->refnr, v, &kind, &xml,
                                  &len, &got) != GW_OK ||
            got != v || !adds_to_view(kind))
            continue;
        snprintf(prefix, sizeof(prefix), "%s-v%ld", row->refnr, v);
        s.later_prefix = prefix;
        rc = gw_view_case(pl->o.views, xml, len, &s, redact, &more);
        if (rc == GW_OK)
            rc = gw_view_merge(*view, more);
        gw_fhir_doc_free(more);
    }
    if (rc != GW_OK) {
        gw_fhir_doc_free(*view);
        *view = NULL;
    }
    free(lic);
    free(kind);
    free(xml);
    return rc;
}

static void
pipeline_read(struct gw_pipeline *pl, const struct gw_call *c,
              const char *type, const char *id, long version, int defer,
              struct gw_answer *a)
{
    struct gw_case_row row;
    struct gw_fhir_doc *view = NULL;
    struct gw_history_row *h = NULL;
    size_t nh = 0;
    char refnr[16], key[400];
    const char *status;
    int64_t updated;
    int redact = 1;
    struct gw_err err;
    gw_rc rc;

    memset(a, 0, sizeof(*a));
    gw_err_clear(&err);
    /* Ids are the referensnummer, or <refnr>-<n> for its resources. */
    snprintf(refnr, sizeof(refnr), "%.10s", id);
    if (strlen(id) < 10 || strlen(id) > 40 ||
        (id[10] != '\0' && id[10] != '-') ||
        (strcmp(type, "Task") == 0) != (id[10] == '\0')) {
        gw_err_set(&err, GW_ENOTFOUND, NULL, "no such resource");
        gw_pipeline_refuse(pl, c, a, GW_ENOTFOUND, &err, NULL, "read", NULL,
                           type);
        return;
    }
    if (gw_pl_case_for_read(pl, c, refnr, 0, &row, &redact, a) != GW_OK)
        return;
    status = row.status;
    updated = row.updated_ms;
    if (version != 0) {
        rc = gw_store_case_history(pl->o.store, refnr, &h, &nh);
        if (rc != GW_OK || version < 1 || (size_t)version > nh) {
            gw_err_set(&err, GW_ENOTFOUND, NULL, "no such version");
            gw_pipeline_refuse(pl, c, a, GW_ENOTFOUND, &err, NULL, "read",
                               refnr, type);
            goto out;
        }
        status = h[version - 1].to_status;
        updated = h[version - 1].at_ms;
    } else {
        version = row.version;
    }
    /* A pharmacy's view depends on which pharmacy it is. */
    snprintf(key, sizeof(key), "%s|%ld|%d|%s|%s|%s|%d|%s", refnr, version,
             redact, redact && c->who->gln ? c->who->gln : "", type, id,
             (int)c->fmt, c->base);
    if ((a->body = cache_get(pl, key, &a->body_len)) != NULL) {
        rc = GW_OK;
        goto found;
    }
    rc = gw_pl_case_view(pl, c, &row, status, version, updated, redact,
                         strcmp(type, "Task") != 0, &view);
    if (rc == GW_OK)
        rc = gw_view_pick(view, type, id, &a->doc);
    if (rc == GW_OK &&
        (c->fmt == GW_FHIR_XML
             ? gw_fhir_to_xml(a->doc, &a->body, &a->body_len)
             : gw_fhir_to_json(a->doc, &a->body, &a->body_len)) == GW_OK)
        cache_put(pl, key, a->body, a->body_len);
    if (rc == GW_ENOTFOUND && redact) {
        /* Present in the full view: hidden from pharmacies. */
        struct gw_fhir_doc *full = NULL;
        if (gw_pl_case_view(pl, c, &row, status, version, updated, 0, 1,
                            &full) ==
                GW_OK &&
            gw_view_has(full, type, id))
            rc = gw_err_set(&err, GW_EFORBIDDEN, NULL,
                            "hidden from pharmacies");
        gw_fhir_doc_free(full);
    }
    if (rc != GW_OK) {
        if (err.rc == GW_OK)
            gw_err_set(&err, rc, NULL, "no such resource");
        gw_pipeline_refuse(pl, c, a, rc, &err, NULL, "read", refnr, type);
        goto out;
    }
found:
    if (pl->o.reads_queued)
        gw_pl_audit(pl, c, "read", refnr, GW_OK, type);
    else if ((rc = audit_shown(pl, c, "read", (const char *[]){refnr}, 1,
                               type, defer, a, &err)) != GW_OK) {
        free(a->body);
        a->body = NULL;
        a->body_len = 0;
        gw_fhir_doc_free(a->doc);
        a->doc = NULL;
        gw_answer_error(a, rc, &err);
        goto out;
    }
    a->status = 200;
    set_version_headers(a, refnr, version, updated);
out:
    free(h);
    gw_fhir_doc_free(view);
    gw_case_row_release(&row);
}

void
gw_pipeline_history(struct gw_pipeline *pl, const struct gw_call *c,
                    const char *refnr, struct gw_answer *a)
{
    struct gw_case_row row;
    struct gw_history_row *h = NULL;
    struct gw_bundle *b = NULL;
    size_t nh = 0;
    int redact = 1;
    gw_rc rc;

    memset(a, 0, sizeof(*a));
    if (gw_pl_case_for_read(pl, c, refnr, 0, &row, &redact, a) != GW_OK)
        return;
    rc = gw_store_case_history(pl->o.store, refnr, &h, &nh);
    if (rc == GW_OK)
        rc = gw_bundle_new("history", &b);
    /* Newest first, as FHIR histories are. */
    for (size_t i = nh; rc == GW_OK && i-- > 0;) {
        struct gw_fhir_doc *view = NULL;
        char url[80];
        rc = gw_pl_case_view(pl, c, &row, h[i].to_status, h[i].version,
                             h[i].at_ms, redact, 0, &view);
        snprintf(url, sizeof(url), "Task/%s", refnr);
        if (rc == GW_OK)
            rc = gw_bundle_add(b, view, "Task", refnr, NULL,
                               i == 0 ? "POST" : "PUT", url);
        gw_fhir_doc_free(view);
    }
    if (rc == GW_OK) {
        rc = gw_bundle_take(b, (long)nh, NULL, &a->doc);
        b = NULL;
    }
    gw_pl_answer(pl, c, a, rc, NULL, "history", refnr);
    gw_bundle_free(b);
    free(h);
    gw_case_row_release(&row);
}

static int
split_statuses(const char *s, char buf[64],
               const char *out[GW_CASE_NSTATUS + 1])
{
    int n = 0;
    char *save = NULL;

    snprintf(buf, 64, "%s", s ? s : "");
    for (char *t = strtok_r(buf, ",", &save); t && n < GW_CASE_NSTATUS;
         t = strtok_r(NULL, ",", &save)) {
        enum gw_case_status cs;
        if (gw_case_status_parse(t, &cs) != GW_OK)
            return -1;
        out[n++] = t;
    }
    out[n] = NULL;
    return n;
}

/* The statuses asked for, within those the caller may see (bits of
 * `allowed`): all of those when none were asked for, "-" (nothing) when
 * none asked for is allowed. */
static void
narrow_statuses(const char *st[GW_CASE_NSTATUS + 1], unsigned allowed)
{
    unsigned all = 0;
    int k = 0;

    for (int s = GW_CASE_M; s < GW_CASE_NSTATUS; s++)
        all |= GW_STATUS_BIT(s);
    if ((allowed & all) == all)
        return;
    if (st[0] == NULL) {
        for (int s = GW_CASE_M; s < GW_CASE_NSTATUS; s++)
            if (allowed & GW_STATUS_BIT(s))
                st[k++] = gw_case_status_code((enum gw_case_status)s);
    } else {
        for (int j = 0; st[j] != NULL; j++) {
            enum gw_case_status cs;
            if (gw_case_status_parse(st[j], &cs) == GW_OK &&
                (allowed & GW_STATUS_BIT(cs)))
                st[k++] = st[j];
        }
        if (k == 0)
            st[k++] = "-";
    }
    st[k] = NULL;
}

/* A link of a searchset: base/Task?query[&_cursor=<a|b><ms>.<rowid>]. */
static gw_rc
search_link(struct gw_bundle *b, const struct gw_call *c,
            const struct gw_task_search *q, const char *rel, int dir,
            int64_t ms, int64_t rowid)
{
    char url[2048];
    int n;

    if (dir == 0)
        n = snprintf(url, sizeof(url), "%s/Task%s%s", c->base,
                     q->link_query[0] ? "?" : "", q->link_query);
    else
        n = snprintf(url, sizeof(url), "%s/Task?%s%s_cursor=%c%lld.%lld",
                     c->base, q->link_query, q->link_query[0] ? "&" : "",
                     dir > 0 ? 'a' : 'b', (long long)ms, (long long)rowid);
    if (n < 0 || (size_t)n >= sizeof(url))
        return GW_ETOOLARGE;
    return gw_bundle_link(b, rel, url);
}

void
gw_pipeline_read(struct gw_pipeline *pl, const struct gw_call *c,
                 const char *type, const char *id, long version,
                 struct gw_answer *a)
{
    pipeline_read(pl, c, type, id, version, 0, a);
}

void
gw_pipeline_read_deferred(struct gw_pipeline *pl, const struct gw_call *c,
                          const char *type, const char *id, long version,
                          struct gw_answer *a)
{
    pipeline_read(pl, c, type, id, version, 1, a);
}

static void
pipeline_search(struct gw_pipeline *pl, const struct gw_call *c,
                const struct gw_task_search *q, int defer, struct gw_answer *a)
{
    struct gw_case_query cq;
    struct gw_case_row *rows = NULL;
    struct gw_bundle *b = NULL;
    size_t n = 0, first = 0, last = 0, nshown = 0;
    const char **shown = NULL; /* the cases the page shows */
    char sbuf[64], idbuf[32];
    const char *ident = q->identifier;
    long total = 0;
    int lookup = 0, page, more;
    struct gw_search_scope scope;
    struct gw_err err;
    gw_rc rc;

    memset(a, 0, sizeof(*a));
    memset(&cq, 0, sizeof(cq));
    gw_err_clear(&err);
    if (ident != NULL && strchr(ident, '|') != NULL) {
        const char *bar = strchr(ident, '|');
        if ((size_t)(bar - ident) != strlen(SYS_REFNR) ||
            strncmp(ident, SYS_REFNR, strlen(SYS_REFNR)) != 0) {
            ident = "-";
        } else {
            ident = bar + 1;
        }
    }
    if (ident != NULL) {
        snprintf(idbuf, sizeof(idbuf), "%s", ident);
        cq.refnr = idbuf;
    }
    if (split_statuses(q->statuses, sbuf, cq.statuses) < 0) {
        char all[128];
        gw_err_set(&err, GW_EINVAL, "business-status", "statuses are %s",
                   gw_case_status_list(all, sizeof(all)));
        gw_pipeline_refuse(pl, c, a, GW_EINVAL, &err, NULL, "search", NULL,
                           NULL);
        return;
    }
    if (q->licence_type && strcmp(q->licence_type, "EH") != 0 &&
        strcmp(q->licence_type, "GH") != 0) {
        gw_err_set(&err, GW_EINVAL, "licence-type", "EH or GH");
        gw_pipeline_refuse(pl, c, a, GW_EINVAL, &err, NULL, "search", NULL,
                           NULL);
        return;
    }
    cq.licence_type = q->licence_type;
    cq.drug = q->drug;
    cq.changed_from_ms = q->changed_from_ms;
    cq.changed_to_ms = q->changed_to_ms;
    /* The limit is per page; one row more tells whether another page
     * follows (or, paging back, precedes). */
    page = q->count > 0 && q->count < MAX_HITS ? q->count : MAX_HITS;
    cq.limit = page + 1;
    cq.page_dir = q->page_dir;
    cq.page_ms = q->page_ms;
    cq.page_rowid = q->page_rowid;

    rc = gw_access_search(c->who, cq.refnr != NULL, &scope, &err);
    if (rc != GW_OK) {
        gw_pipeline_refuse(pl, c, a, rc, &err, NULL, "search", NULL, NULL);
        return;
    }
    /* Rows the caller may not see are filtered in SQL where possible,
     * so that the limit counts visible cases only. */
    cq.prescriber_hsa = scope.prescriber_hsa;
    cq.pharmacy_gln = scope.pharmacy_gln;
    lookup = scope.lookup;
    narrow_statuses(cq.statuses, scope.statuses);
    rc = gw_store_case_search(pl->o.store, &cq, &rows, &n);
    more = rc == GW_OK && n > (size_t)page;
    /* Newest first: the extra row is the last one going forward and the
     * first one paging back. */
    first = more && q->page_dir < 0 ? 1 : 0;
    last = more && q->page_dir >= 0 ? (size_t)page : n;
    if (rc == GW_OK)
        rc = gw_bundle_new("searchset", &b);
    if (rc == GW_OK && last > first &&
        (shown = calloc(last - first, sizeof(*shown))) == NULL)
        rc = GW_ENOMEM;
    for (size_t i = first; rc == GW_OK && i < last; i++) {
        struct gw_case_access ca = {GW_CASE_NONE, rows[i].prescriber_hsa,
                                    rows[i].pharmacy_gln};
        struct gw_fhir_doc *view = NULL;
        int redact = 1, matched = 0;
        if (rows[i].purged_ms != 0)
            continue;
        if (gw_case_status_parse(rows[i].status, &ca.status) != GW_OK)
            ca.status = GW_CASE_NONE;
        if (lookup)
            matched = strcmp(rows[i].licence_type, "GH") == 0 ||
                      (q->patient != NULL && rows[i].patient_id != NULL &&
                       strcmp(q->patient, rows[i].patient_id) == 0);
        if (lookup && !matched)
            continue;
        if (gw_access_read(c->who, &ca, matched, &redact, NULL) != GW_OK)
            continue;
        if (q->summary_count) { /* counted, not read: nothing to audit */
            total++;
            continue;
        }
        rc = gw_pl_case_view(pl, c, &rows[i], rows[i].status, rows[i].version,
                             rows[i].updated_ms, redact, q->include || lookup,
                             &view);
        if (rc == GW_OK)
            rc = gw_bundle_add(b, view, "Task", rows[i].refnr, "match", NULL,
                               NULL);
        if (rc == GW_OK && (q->include || lookup))
            rc = gw_bundle_add(b, view, NULL, NULL, "include", NULL, NULL);
        gw_fhir_doc_free(view);
        if (rc == GW_OK) {
            total++;
            if (pl->o.reads_queued)
                gw_pl_audit(pl, c, "search", rows[i].refnr, GW_OK, NULL);
            else
                shown[nshown++] = rows[i].refnr;
        }
    }
    /* Every case the page shows is audited on disk before it leaves. */
    if (rc == GW_OK && nshown > 0 &&
        (rc = audit_shown(pl, c, "search", shown, nshown, NULL, defer, a,
                          &err)) != GW_OK) {
        gw_answer_error(a, rc, &err);
        a->total = 0;
        gw_bundle_free(b);
        free(shown);
        gw_case_rows_free(rows, n);
        return;
    }
    free(shown);
    /* total: every match of the search, on every page (the page's key
     * is not a filter); the filters in SQL are the caller's access, so
     * the count is too. A pharmacy's look-up shows what matched its
     * patient. */
    if (rc == GW_OK && !lookup && (more || q->page_dir != 0)) {
        long long all = 0;
        if (gw_store_case_count(pl->o.store, &cq, &all) == GW_OK && all > total)
            total = (long)all;
    }
    /* Links: self is this page; next follows from its last row, previous
     * ends before its first one, so new cases (always the newest) never
     * shift a page. */
    if (rc == GW_OK && q->link_query != NULL && q->summary_count)
        rc = search_link(b, c, q, "self", 0, 0, 0);
    else if (rc == GW_OK && q->link_query != NULL) {
        rc = search_link(b, c, q, "self", q->page_dir, q->page_ms,
                         q->page_rowid);
        if (rc == GW_OK && first < last &&
            (q->page_dir < 0 || more))
            rc = search_link(b, c, q, "next", 1, rows[last - 1].updated_ms,
                             rows[last - 1].rowid);
        if (rc == GW_OK && first < last &&
            (q->page_dir > 0 || (q->page_dir < 0 && more)))
            rc = search_link(b, c, q, "previous", -1, rows[first].updated_ms,
                             rows[first].rowid);
    }
    if (rc == GW_OK) {
        rc = gw_bundle_take(b, total, NULL, &a->doc);
        b = NULL;
    }
    if (rc != GW_OK)
        gw_answer_error(a, rc, NULL);
    else
        a->status = 200;
    a->total = total;
    if (n == 0)
        gw_pl_audit(pl, c, "search", NULL, rc, "no hits");
    gw_bundle_free(b);
    gw_case_rows_free(rows, n);
}

/* --- subscriptions: subs.c ------------------------------------------- */

void
gw_pipeline_search(struct gw_pipeline *pl, const struct gw_call *c,
                   const struct gw_task_search *q, struct gw_answer *a)
{
    pipeline_search(pl, c, q, 0, a);
}

void
gw_pipeline_search_deferred(struct gw_pipeline *pl, const struct gw_call *c,
                            const struct gw_task_search *q,
                            struct gw_answer *a)
{
    pipeline_search(pl, c, q, 1, a);
}
