/*
 * http_int.h - shared by the files of src/http/: the request being
 * served, the look-up limit and the metrics it updates. What is answered
 * is in route.h (which front, which action) and response.h (how).
 */
#ifndef GW_HTTP_INT_H
#define GW_HTTP_INT_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#include "core/buf.h"
#include "fhir/fhir.h"
#include "http/server.h"
#include "klas/access.h"

/* Route labels for metrics and logs: never a path with data in it. */
#define GW_HTTP_ROUTES(XX)                                                    \
    XX(METADATA, "metadata")                                                  \
    XX(PROCESS, "process-message")                                            \
    XX(VALIDATE, "validate")                                                  \
    XX(TASK_SEARCH, "task-search")                                            \
    XX(TASK_READ, "task-read")                                                \
    XX(TASK_HISTORY, "task-history")                                          \
    XX(RESOURCE_READ, "resource-read")                                        \
    XX(SUBSCRIPTION, "subscription")                                          \
    XX(DISPENSING, "dispensing")                                              \
    XX(REGISTER_SEARCH, "register-search")                                    \
    XX(CASE_OPERATION, "case-operation")                                      \
    XX(CONSENT, "consent")                                                    \
    XX(SOAP, "soap")                                                          \
    XX(HEALTH, "healthz")                                                     \
    XX(METRICS, "metrics")                                                    \
    XX(CONSOLE, "console")                                                    \
    XX(OTHER, "other")

enum gw_route {
#define GW_ROUTE_ENUM(name, label) GW_ROUTE_##name,
    GW_HTTP_ROUTES(GW_ROUTE_ENUM)
#undef GW_ROUTE_ENUM
        GW_ROUTE_N
};

struct gw_lookup_limit;
struct gw_net_range;
struct gw_route_def;

/* Most entries of server.trusted_proxies. */
#define GW_HTTP_MAX_PROXIES 64

/* What the route's pattern captured (route.h). */
struct gw_route_args {
    char type[40]; /* {type} */
    char id[48];   /* {id} or {num} */
    long vid;      /* {vid}; 0 when none */
};

/* The [clients] table in use, with its failed look-up limits. SIGHUP
 * (gw_http_reload_clients) makes a new generation current; older ones
 * stay until stop, as requests in flight may still point into them. */
struct gw_http_clients {
    const struct gw_config *cfg; /* its clients and nclients */
    struct gw_config *owned;     /* cfg when read on SIGHUP, else NULL */
    struct gw_lookup_limit *lookups; /* NULL: no limit */
    struct gw_http_clients *older;
};

/* The client CAs in use (server.tls_client_ca): the credentials each new
 * TLS session gets (the CAs it names in its CertificateRequest, the
 * server certificate from pick_cert) and the CAs as certificates, which
 * verify a client's chain at every request, a forwarded certificate and
 * the CRLs. SIGHUP makes a new generation current; older ones stay until
 * stop (sessions may hold their credentials). */
struct gw_http_trust {
    gnutls_certificate_credentials_t cred;
    gnutls_x509_crt_t *cas;
    unsigned int ncas;
    struct gw_http_trust *older;
};

struct gw_http {
    struct gw_http_opts o;
    struct MHD_Daemon *d;
    int port;
    char *tls_key, *tls_cert, *tls_ca;
    /* Requests between their first call and their completion. */
    long inflight;
    /* Answers whose audit records the writer has not committed yet
     * (response.c): their connections are or will be suspended. */
    long held;
    /* Set by gw_http_stop: an answer held from now on waits on its
     * thread instead of suspending its connection (libmicrohttpd must
     * not stop with a connection suspended). */
    int held_no_suspend;
    /* Open connections (server.c): each with the deadline of its request
     * head, watched by the reaper thread. */
    pthread_mutex_t cmu;
    struct gw_conn *conns;
    long nconns;
    pthread_t reaper;
    int reaper_on, stopping;
    /* The current generations (read with __atomic_load_n, replaced
     * under gen_mu). */
    struct gw_http_clients *clients;
    struct gw_http_trust *trust;
    pthread_mutex_t gen_mu;
    /* server.trusted_proxies, parsed at start. */
    struct gw_net_range *proxies;
    size_t nproxies;
    /* server.tls_crl and the client CAs that must have signed it; the
     * list is swapped on SIGHUP (gw_http_reload) under crl_lock. */
    pthread_rwlock_t crl_lock;
    int crl_lock_init;
    gnutls_x509_crl_t *crls;
    unsigned int ncrls;
};

struct gw_req {
    struct gw_http *h;
    struct MHD_Connection *conn;
    const char *method, *url;
    struct gw_buf body;
    int too_large;
    int64_t start_us;
    char id[40];
    enum gw_route route;
    const struct gw_route_def *def; /* the matched row (route.c) */
    struct gw_route_args args;
    int method_ok; /* 0: the path is known, the method is not (405) */
    int status;
    struct gw_principal who;
    char label[64], gln[16], user[40];
    /* The caller's address a trusted proxy forwarded (X-Forwarded-For,
     * its last entry), for the request log; "" when none. */
    char fwd_for[48];
    int authenticated;
    size_t client;     /* index of the caller's [clients] line */
    /* Failed case look-ups of the caller's [clients] generation
     * (limit.c); NULL: no limit or not authenticated. */
    struct gw_lookup_limit *lookups;
    int retry_after_s; /* > 0: the answer carries Retry-After */
    int lookup;        /* a case look-up: a failure counts (limit.c) */
    enum gw_fhir_format out_fmt;
    char base[300];
    int started;      /* on_request has seen the headers */
    int uri_refused;  /* over server.max_url_bytes or max_query_params */
    size_t body_seen; /* body bytes received, kept or not */
    /* Work whose write is queued, its connection suspended (response.c:
     * gw_http_park): once resumed, on_request calls resume(r, parked) to
     * answer; a request that ends first calls it with gone set, and the
     * answer is let go instead of sent. NULL: none. held_done and
     * held_suspended are guarded by the lock of response.c until
     * held_done. */
    enum MHD_Result (*resume)(struct gw_req *r, void *parked);
    void *parked; /* resume's: the pipeline's or the SOAP front's state */
    int gone;     /* closed before its answer: senders only let go */
    int held_done, held_suspended;
    /* A held answer (an audited read's): sent once its records are on
     * disk, or the refusal held_rc, held_err in its place. */
    struct MHD_Response *held;
    unsigned held_status;
    gw_rc held_rc;
    struct gw_err held_err;
    int minimal;  /* Prefer: return=minimal, for the answer once resumed */
};

/* The limit on failed case look-ups (limit.c). _new leaves *out NULL
 * (no limit) when limit or window_s is 0; free with _free (NULL ok). */
gw_rc gw_lookup_limit_new(long limit, long window_s, size_t nclients,
                          struct gw_lookup_limit **out) GW_WARN_UNUSED;
void gw_lookup_limit_free(struct gw_lookup_limit *l);
/* 0 when the client may look cases up now, else the seconds until it may
 * (for Retry-After). */
int gw_lookup_limit_check(struct gw_lookup_limit *l, size_t client);
/* Counts one failed look-up; 1 when it used the client's last one (the
 * moment to log and audit). */
int gw_lookup_limit_fail(struct gw_lookup_limit *l, size_t client);
/* Counts a look-up that found nothing (failed != 0) against the client;
 * logs and audits the moment it used the client's last token. */
void gw_lookup_counted(struct gw_req *r, int failed);
/* Audits a look-up limit event ("refused", "limit reached"). */
void gw_lookup_audit(struct gw_req *r, gw_rc rc, const char *detail);
/* Records a finished request (metrics.c). */
void gw_metrics_observe(enum gw_route route, int status, int64_t micros);
/* The C heap in bytes: what the gateway holds (in use), and what the
 * allocator holds from the system for it (server.c). */
void gw_heap_stats(size_t *in_use, size_t *held);
/* The metrics and log label of a route (route.c). */
const char *gw_route_label(enum gw_route route);

#endif
