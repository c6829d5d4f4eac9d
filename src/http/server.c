/*
 * server.c - the libmicrohttpd daemon: connections, TLS and who the
 * caller is, request bodies under their cap, one log line per request,
 * graceful stop. Which front and action serve a request is one row of
 * route.c's table, matched once when its head arrives; how it is
 * answered is response.c.
 *
 * Per request, libmicrohttpd calls on_request several times: first with
 * the headers (we authenticate, pick the route and refuse early what can
 * be refused: 401/403, 413 by Content-Length), then with body pieces
 * (appended under the cap), then once with none (we answer).
 *
 * Before that, at the connection level: libmicrohttpd refuses connections
 * past server.max_connections_per_ip from one address; every connection
 * has a deadline for its request head (server.header_timeout_s from the
 * accept, however slowly the bytes trickle), enforced by a reaper thread
 * that shuts the socket down; a few connections past
 * server.max_connections are kept for /healthz and /metrics (others get
 * 503 there); the request line is measured as soon as it is read
 * (on_uri) and one over server.max_url_bytes or max_query_params gets 414
 * before libmicrohttpd files its parameters.
 */
#include "http/http_int.h"
#include "http/proxy.h"

#include <arpa/inet.h>
#include <ctype.h>
#ifdef GW_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "config/tls.h"
#include "core/file.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/random.h"
#include "http/response.h"
#include "http/route.h"
#include "klas/ident.h"
#include "store/write.h"
#include "validate/outcome.h"

static int64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A PEM file of the configuration; NULL when unreadable, empty or not
 * under 1 MiB. */
static char *
slurp(const char *path)
{
    char *buf = NULL;
    size_t n;

    if (gw_file_read(path, (1 << 20) - 1, &buf, &n) != GW_OK || n == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* --- who is calling --------------------------------------------------- */

static const struct gw_config_client *
client_by_match(const struct gw_config *cfg, const char *kind,
                const char *value)
{
    size_t kl = strlen(kind);

    for (size_t i = 0; value != NULL && i < cfg->nclients; i++) {
        const char *m = cfg->clients[i].match;
        if (strncmp(m, kind, kl) == 0 && m[kl] == ':' &&
            strcasecmp(m + kl + 1, value) == 0)
            return &cfg->clients[i];
    }
    return NULL;
}

/* Whether the certificate may authenticate a TLS client: its
 * extendedKeyUsage names clientAuth. A certificate without the extension,
 * or made for servers only, is refused: SITHS function certificates for
 * systems carry clientAuth. */
static int
is_for_clients(gnutls_x509_crt_t crt)
{
    char oid[128];
    size_t sz;
    unsigned int critical;

    for (unsigned int i = 0; i < 64; i++) {
        sz = sizeof(oid);
        if (gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &sz, &critical) <
            0)
            return 0;
        if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
            return 1;
    }
    return 0;
}

/* Whether server.tls_crl revokes the certificate. */
static int
is_revoked(struct gw_http *h, gnutls_x509_crt_t crt)
{
    int revoked = 0;

    if (!h->crl_lock_init)
        return 0;
    pthread_rwlock_rdlock(&h->crl_lock);
    if (h->ncrls > 0)
        revoked = gnutls_x509_crt_check_revocation(crt, h->crls, h->ncrls) != 0;
    pthread_rwlock_unlock(&h->crl_lock);
    return revoked;
}

static const struct gw_config_client *
client_of_crt(struct gw_req *r, const struct gw_config *cc,
              gnutls_x509_crt_t crt, char *why, size_t why_size);

/* Whether a chain (leaf first) verifies against the client CAs in use
 * now: a SIGHUP that replaces server.tls_client_ca applies from the next
 * request, also on connections opened before. */
static int
chain_trusted(struct gw_http *h, const gnutls_x509_crt_t *chain,
              unsigned int n)
{
    const struct gw_http_trust *t = __atomic_load_n(&h->trust,
                                                    __ATOMIC_ACQUIRE);
    unsigned int status = 0;

    return t != NULL && t->ncas > 0 &&
           gnutls_x509_crt_list_verify(chain, n, t->cas, t->ncas, NULL, 0, 0,
                                       &status) >= 0 &&
           status == 0;
}

#define MAX_PEER_CHAIN 8

/* The [clients] entry of the certificate the peer presented, verified
 * against server.tls_client_ca, for client authentication, not revoked. */
static const struct gw_config_client *
client_from_cert(struct gw_req *r, const struct gw_config *cc, char *why,
                 size_t why_size)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t s;
    const gnutls_datum_t *certs;
    gnutls_x509_crt_t chain[MAX_PEER_CHAIN];
    unsigned int n = 0, m = 0;
    int trusted;

    snprintf(why, why_size, "no client certificate");
    if (ci == NULL || ci->tls_session == NULL)
        return NULL;
    s = (gnutls_session_t)ci->tls_session;
    certs = gnutls_certificate_get_peers(s, &n);
    if (certs == NULL || n == 0)
        return NULL;
    if (n > MAX_PEER_CHAIN) {
        snprintf(why, why_size, "client certificate chain longer than %d",
                 MAX_PEER_CHAIN);
        return NULL;
    }
    for (m = 0; m < n; m++) {
        if (gnutls_x509_crt_init(&chain[m]) != 0)
            break;
        if (gnutls_x509_crt_import(chain[m], &certs[m], GNUTLS_X509_FMT_DER) !=
            0) {
            gnutls_x509_crt_deinit(chain[m]);
            break;
        }
    }
    trusted = m == n && chain_trusted(r->h, chain, n);
    for (unsigned int i = 1; i < m; i++)
        gnutls_x509_crt_deinit(chain[i]);
    if (!trusted) {
        snprintf(why, why_size, m == n ? "client certificate not trusted"
                                       : "client certificate unreadable");
        if (m > 0)
            gnutls_x509_crt_deinit(chain[0]);
        return NULL;
    }
    return client_of_crt(r, cc, chain[0], why, why_size);
}

/* The [clients] entry of a certificate already verified against the
 * client CAs: for client authentication, not revoked, listed. Takes crt. */
static const struct gw_config_client *
client_of_crt(struct gw_req *r, const struct gw_config *cc,
              gnutls_x509_crt_t crt, char *why, size_t why_size)
{
    const struct gw_config_client *cl = NULL;
    char serial[128];
    unsigned char fp[32];
    char hex[65];
    size_t sz;

    if (!is_for_clients(crt)) {
        snprintf(why, why_size,
                 "client certificate is not for client "
                 "authentication (extendedKeyUsage clientAuth)");
        gnutls_x509_crt_deinit(crt);
        return NULL;
    }
    if (is_revoked(r->h, crt)) {
        snprintf(why, why_size, "client certificate revoked (server.tls_crl)");
        gw_log_warn("event=client_cert_revoked");
        gnutls_x509_crt_deinit(crt);
        return NULL;
    }
    {
        sz = sizeof(serial);
        if (gnutls_x509_crt_get_dn_by_oid(crt, "2.5.4.5" /* serialNumber */,
                                          0, 0, serial, &sz) == 0)
            cl = client_by_match(cc, "serial", serial);
        sz = sizeof(fp);
        if (cl == NULL &&
            gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &sz) ==
                0) {
            gw_hex(fp, sz < 32 ? sz : 32, hex);
            cl = client_by_match(cc, "sha256", hex);
        }
    }
    gnutls_x509_crt_deinit(crt);
    if (cl == NULL)
        snprintf(why, why_size, "client certificate not listed in [clients]");
    return cl;
}

/* --- behind a TLS-terminating proxy (server.trusted_proxies) ---------- */

/* Whether the connection comes from an address in server.trusted_proxies
 * (CIDR ranges; an IPv4-mapped IPv6 peer is compared as IPv4). */
static int
from_trusted_proxy(struct gw_req *r)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    unsigned char peer[16];

    return ci != NULL && r->h->nproxies > 0 &&
           gw_net_sockaddr16(ci->client_addr, peer) &&
           gw_net_ranges_match(r->h->proxies, r->h->nproxies, peer);
}

/* The certificate a trusted proxy forwards in x-vp-auth-cert (proxy.c
 * reads it), verified against the client CAs, then matched exactly as a
 * direct one. */
static const struct gw_config_client *
client_from_forwarded(struct gw_req *r, const struct gw_config *cc,
                      const char *value, char *why, size_t why_size)
{
    gnutls_x509_crt_t crt = NULL;

    snprintf(why, why_size, "x-vp-auth-cert is not a certificate (PEM or "
                            "base64 DER)");
    if (gw_proxy_cert_parse(value, &crt) != 0)
        return NULL;
    if (!chain_trusted(r->h, &crt, 1)) {
        snprintf(why, why_size, "forwarded client certificate not trusted");
        gnutls_x509_crt_deinit(crt);
        return NULL;
    }
    return client_of_crt(r, cc, crt, why, why_size);
}

/* Proxy headers from an address not in server.trusted_proxies: refused,
 * logged and audited (someone tries to name another caller). */
static gw_rc
refuse_proxy_headers(struct gw_req *r, char *why, size_t why_size)
{
    struct gw_audit_entry e = {
        .system = "-",
        .action = "proxy-headers",
        .outcome = gw_rc_name(GW_EFORBIDDEN),
        .detail = "x-vp-auth-cert or X-Forwarded-For from an untrusted "
                  "address",
    };

    snprintf(why, why_size,
             "x-vp-auth-cert and X-Forwarded-For are accepted only from "
             "server.trusted_proxies");
    gw_log_warn("event=proxy_headers_refused detail=\"not from "
                "server.trusted_proxies\"");
    if (r->h->o.store != NULL && gw_store_audit_async(r->h->o.store, &e) != GW_OK)
        gw_log_err("event=audit_enqueue_failed action=proxy-headers");
    return GW_EFORBIDDEN;
}

static gw_rc
authenticate(struct gw_req *r, char *why, size_t why_size)
{
    const struct gw_config *cfg = r->h->o.cfg;
    /* One [clients] generation for the whole request (SIGHUP may bring
     * the next one meanwhile). */
    const struct gw_http_clients *g = __atomic_load_n(&r->h->clients,
                                                      __ATOMIC_ACQUIRE);
    const struct gw_config *cc = g->cfg;
    const struct gw_config_client *cl;
    const char *user;

    if (cfg->server_plain_http) {
        const char *m = MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, "X-Klasgw-Client");
        snprintf(why, why_size, "name the client in X-Klasgw-Client");
        cl = NULL;
        if (m != NULL) {
            if (strncmp(m, "serial:", 7) == 0)
                cl = client_by_match(cc, "serial", m + 7);
            else if (strncmp(m, "sha256:", 7) == 0)
                cl = client_by_match(cc, "sha256", m + 7);
            else
                cl = client_by_match(cc, "serial", m);
            if (cl == NULL)
                snprintf(why, why_size, "unknown client");
        }
    } else {
        const char *fwd = MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, "x-vp-auth-cert");
        const char *xff = MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, "X-Forwarded-For");
        if ((fwd != NULL || xff != NULL) && !from_trusted_proxy(r))
            return refuse_proxy_headers(r, why, why_size);
        if (xff != NULL)
            gw_proxy_forwarded_for(xff, r->h->proxies, r->h->nproxies,
                                   r->fwd_for, sizeof(r->fwd_for));
        if (fwd != NULL)
            cl = client_from_forwarded(r, cc, fwd, why, why_size);
        else
            cl = client_from_cert(r, cc, why, why_size);
    }
    if (cl == NULL)
        return GW_EUNAUTH;
    if (gw_client_role_parse(cl->role, &r->who.role) != GW_OK)
        return GW_EUNAUTH;
    r->client = (size_t)(cl - cc->clients);
    r->lookups = g->lookups;
    snprintf(r->label, sizeof(r->label), "%s", cl->label);
    r->who.label = r->label;
    if (cl->gln != NULL) {
        snprintf(r->gln, sizeof(r->gln), "%s", cl->gln);
        r->who.gln = r->gln;
    }
    user = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                       "X-Klasgw-User");
    if (user != NULL) {
        if (gw_hsaid_check(user, NULL) != GW_OK) {
            snprintf(why, why_size, "X-Klasgw-User is not an HSA-id");
            return GW_EINVAL;
        }
        snprintf(r->user, sizeof(r->user), "%s", user);
        r->who.user = r->user;
    }
    r->authenticated = 1;
    return GW_OK;
}

/* --- requests --------------------------------------------------------- */

static void
request_id(struct gw_req *r)
{
    const char *in = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 "X-Request-Id");
    size_t n = 0;

    if (in != NULL) {
        for (; in[n] && n < sizeof(r->id) - 1; n++)
            if (!isalnum((unsigned char)in[n]) && in[n] != '-' &&
                in[n] != '_' && in[n] != '.')
                break;
        if (in[n] == '\0' && n > 0) {
            memcpy(r->id, in, n);
            r->id[n] = '\0';
            return;
        }
    }
    {
        unsigned char b[8];
        if (gw_random_bytes(b, sizeof(b)) != GW_OK)
            memset(b, 0, sizeof(b));
        gw_hex(b, sizeof(b), r->id);
    }
}

static void
base_url(struct gw_req *r)
{
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_HOST);
    const char *scheme = r->h->o.cfg->server_plain_http ? "http" : "https";
    int ok = host != NULL && host[0] != '\0' && strlen(host) < 200;

    for (const char *p = host; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr(".-:[]", *p) != NULL;
    if (ok)
        snprintf(r->base, sizeof(r->base), "%s://%s/fhir", scheme, host);
    else
        snprintf(r->base, sizeof(r->base), "%s://%s:%d/fhir", scheme,
                 r->h->o.cfg->server_listen, r->h->port);
}

/* --- memory ----------------------------------------------------------- */

#ifdef GW_JEMALLOC
/*
 * The allocator is jemalloc (linked by the build; not with the sanitizers,
 * which bring their own). glibc's malloc could not give both a flat RSS and
 * speed: with one arena (M_ARENA_MAX=1, to bound RSS after a 2 MB body)
 * ~23% of the CPU of a read went to malloc and its arena lock, and RSS
 * still crept up by 4-7% in the 30-minute soak (tests/reliability/
 * r5_soak.py), the heap fragmented by large short-lived blocks (SQLite's
 * page caches, gSOAP contexts). jemalloc keeps sizes apart in slabs,
 * serves threads from their own caches, and returns free pages to the
 * system after a decay instead of holding them:
 *  - narenas:2 - arenas for the cores we expect, not 4 per core: fewer
 *    half-empty arenas, thread caches still keep threads apart;
 *  - background_thread - purging runs in jemalloc's own thread, not in a
 *    request, and also when the gateway is idle;
 *  - dirty_decay_ms:1000, muzzy_decay_ms:0 - freed pages go back to the
 *    system within about a second (default 10 s): RSS follows the load.
 * An operator may override any of these with MALLOC_CONF.
 */
const char *malloc_conf = "narenas:2,background_thread:true,"
                          "dirty_decay_ms:1000,muzzy_decay_ms:0";

#define GW_STR_(x) #x
#define GW_STR(x) GW_STR_(x)

void
gw_heap_stats(size_t *in_use, size_t *held)
{
    uint64_t epoch = 1;
    size_t a = 0, r = 0, sz = sizeof(size_t), esz = sizeof(epoch);

    /* The statistics are a snapshot taken at each new epoch. */
    (void)mallctl("epoch", &epoch, &esz, &epoch, esz);
    (void)mallctl("stats.allocated", &a, &sz, NULL, 0);
    sz = sizeof(size_t);
    (void)mallctl("stats.resident", &r, &sz, NULL, 0);
    *in_use = a;
    *held = r;
}

/* Gives the free pages of every arena back to the system now. */
static void
heap_release(void)
{
    (void)mallctl("arena." GW_STR(MALLCTL_ARENAS_ALL) ".purge", NULL, NULL,
                  NULL, 0);
}
#else
/*
 * glibc malloc (sanitizer builds, or GW_JEMALLOC=OFF).
 * Set before main, so before any thread exists: a thread keeps the malloc
 * arena it first got. Large buffers (request bodies) get their own mapping,
 * given back when freed (glibc would otherwise raise the threshold after
 * the first such free and keep the next ones in the heap). One arena:
 * malloc_trim gives back the top of the main arena only, and with an arena
 * per thread the memory of a large parse stayed where it was built
 * (measured: RSS 23 -> 62 MB after one 2 MB JSON body; 22 MB with one
 * arena). Per-thread caches keep small allocations off its lock.
 * Free memory at the top of the heap is kept up to 16 MiB: with glibc's
 * 128 KiB every request that freed its tree shrank the heap with brk()
 * and the next one grew it again, each shrink a TLB flush on every core
 * (perf, test_http_sentinel: 9% of the gateway's CPU in brk). RSS stays
 * bounded: the malloc_trim(0) after a large body still gives it all back.
 */
__attribute__((constructor)) static void
malloc_setup(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
    mallopt(M_ARENA_MAX, 1);
}

void
gw_heap_stats(size_t *in_use, size_t *held)
{
    struct mallinfo2 mi = mallinfo2();

    *in_use = mi.uordblks + mi.hblkhd;
    *held = mi.arena + mi.hblkhd;
}

static void
heap_release(void)
{
    malloc_trim(0);
}
#endif

/* --- connections ------------------------------------------------------ */

/* Connections past server.max_connections kept for /healthz and /metrics;
 * their request head must come within RESERVE_HEAD_S. */
#define RESERVE 16
#define RESERVE_HEAD_S 2
/* After this many body bytes past server.max_body_bytes, a chunked upload
 * is cut off instead of drained to its end for the 413. */
#define DRAIN_MAX ((size_t)1 << 20)
/* A refused body this large gives its memory back to the system. */
#define TRIM_AFTER ((size_t)1 << 20)

struct gw_conn {
    struct gw_conn *prev, *next;
    int fd;
    int reserve;         /* accepted past server.max_connections */
    int64_t deadline_us; /* of the request head; 0: none pending */
};

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    struct gw_http *h = cls;
    struct gw_conn *c = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            return;
        c->fd = ci != NULL ? ci->connect_fd : -1;
        if (h->tls_cert != NULL) {
            /* The client CAs in use now: named in the CertificateRequest
             * of this session's handshake. */
            const union MHD_ConnectionInfo *si = MHD_get_connection_info(
                conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
            const struct gw_http_trust *t =
                __atomic_load_n(&h->trust, __ATOMIC_ACQUIRE);
            if (si != NULL && si->tls_session != NULL && t != NULL)
                (void)gnutls_credentials_set(
                    (gnutls_session_t)si->tls_session, GNUTLS_CRD_CERTIFICATE,
                    t->cred);
        }
        pthread_mutex_lock(&h->cmu);
        c->reserve = ++h->nconns > h->o.cfg->server_max_connections;
        c->deadline_us =
            now_us() + (c->reserve ? RESERVE_HEAD_S
                                   : h->o.cfg->server_header_timeout_s) *
                           1000000LL;
        c->next = h->conns;
        if (h->conns != NULL)
            h->conns->prev = c;
        h->conns = c;
        pthread_mutex_unlock(&h->cmu);
        *socket_context = c;
        return;
    }
    if (toe != MHD_CONNECTION_NOTIFY_CLOSED || c == NULL)
        return;
    /* libmicrohttpd closes the socket after this returns: the reaper,
     * under the same lock, never touches a closed (or reused) fd. */
    pthread_mutex_lock(&h->cmu);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    h->nconns--;
    pthread_mutex_unlock(&h->cmu);
    free(c);
    *socket_context = NULL;
}

static struct gw_conn *
conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/* Sets (or, with 0, clears) the head deadline of the connection. */
static void
head_deadline(struct gw_http *h, struct MHD_Connection *conn, int64_t at)
{
    struct gw_conn *c = conn_of(conn);

    if (c == NULL)
        return;
    pthread_mutex_lock(&h->cmu);
    c->deadline_us = at;
    pthread_mutex_unlock(&h->cmu);
}

/* Shuts down connections whose request head is late; libmicrohttpd then
 * sees the end of the stream and closes them. */
static void *
reaper(void *arg)
{
    struct gw_http *h = arg;

    while (!__atomic_load_n(&h->stopping, __ATOMIC_SEQ_CST)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        int64_t now = now_us();
        int cut = 0;

        pthread_mutex_lock(&h->cmu);
        for (struct gw_conn *c = h->conns; c != NULL; c = c->next)
            if (c->deadline_us != 0 && now > c->deadline_us && c->fd >= 0) {
                shutdown(c->fd, SHUT_RDWR);
                c->deadline_us = 0;
                cut++;
            }
        pthread_mutex_unlock(&h->cmu);
        if (cut > 0)
            gw_log_warn("event=http_head_timeout connections=%d "
                        "detail=\"request head not complete within "
                        "server.header_timeout_s\"",
                        cut);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Called with the request line, before libmicrohttpd parses the query:
 * the request starts here. A target over the limits is marked for 414 and
 * its query cut off, so that thousands of parameters are never filed (past
 * its memory pool libmicrohttpd stalled instead of answering). */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct gw_http *h = cls;
    struct gw_req *r = calloc(1, sizeof(*r));
    const char *q = strchr(uri, '?');
    long params = 0;

    if (r == NULL)
        return NULL;
    r->h = h;
    r->conn = conn;
    r->start_us = now_us();
    __atomic_add_fetch(&h->inflight, 1, __ATOMIC_SEQ_CST);
    gw_buf_init(&r->body, (size_t)h->o.cfg->server_max_body_bytes);
    for (const char *p = q; p != NULL && *p; p++)
        params += *p == '&' || *p == '?';
    if (strlen(uri) > (size_t)h->o.cfg->server_max_url_bytes ||
        params > h->o.cfg->server_max_query_params) {
        r->uri_refused = 1;
        /* libmicrohttpd hands us the line in its own writable buffer and
         * parses the query from the '?' on after this returns. */
        if (q != NULL)
            ((char *)q)[1] = '\0';
    }
    return r;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **con_cls)
{
    struct gw_http *h = cls;
    struct gw_req *r = *con_cls;
    char why[160];
    gw_rc rc;

    if (r == NULL)
        return MHD_NO; /* on_uri found no memory */
    if (r->resume != NULL) { /* resumed: what it waited for is stored */
        gw_log_set_request_id(r->id);
        return gw_http_resume(r, 0);
    }
    if (!r->started) {
        const char *cl;
        struct gw_conn *c = conn_of(conn);
        r->started = 1;
        r->method = method;
        r->url = url;
        head_deadline(h, conn, 0);
        request_id(r);
        gw_route_match(r, method, url);
        base_url(r);
        if (r->uri_refused) {
            gw_log_set_request_id(r->id);
            return gw_http_refuse(r, GW_EURITOOLONG,
                                  "the request target is longer than "
                                  "server.max_url_bytes or has more than "
                                  "server.max_query_params parameters");
        }
        if (c != NULL && c->reserve && !(r->def->flags & GW_RT_RESERVE)) {
            gw_log_set_request_id(r->id);
            return gw_http_refuse(r, GW_EBUSY,
                                  "the gateway is serving "
                                  "server.max_connections connections; "
                                  "try again later");
        }
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL &&
            strtoull(cl, NULL, 10) >
                (unsigned long long)h->o.cfg->server_max_body_bytes) {
            /* Refused before a byte of the body is read; libmicrohttpd
             * closes the connection after the answer. */
            r->too_large = 1;
            gw_log_set_request_id(r->id);
            return gw_http_refuse(r, GW_ETOOLARGE,
                                  "the request body is larger "
                                  "than server.max_body_bytes");
        }
        return MHD_YES;
    }
    gw_log_set_request_id(r->id);
    if (*upload_size > 0) {
        r->body_seen += *upload_size;
        if (!r->too_large &&
            gw_buf_append(&r->body, upload, *upload_size) != GW_OK) {
            r->too_large = 1;
            gw_buf_release(&r->body); /* nothing of it will be read */
        }
        *upload_size = 0; /* consumed, or dropped past the cap */
        /* A chunked body past the cap is drained for its 413, but not
         * without end (a chunk of 2^64 bytes): libmicrohttpd cannot
         * answer in the middle of a body, so the connection is closed. */
        if (r->too_large &&
            r->body_seen > (size_t)h->o.cfg->server_max_body_bytes + DRAIN_MAX)
            return MHD_NO;
        return MHD_YES;
    }
    /* The whole request is here. */
    if (r->def->flags & GW_RT_NO_AUTH)
        return r->def->serve(r);
    /* Contracts are public, like metadata. */
    if ((r->def->flags & GW_RT_PUBLIC_GET) &&
        (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
        return r->def->serve(r);
    rc = authenticate(r, why, sizeof(why));
    if (rc != GW_OK)
        return gw_http_refuse(r, rc, why);
    if (r->too_large)
        return gw_http_refuse(r, GW_ETOOLARGE,
                              "the request body is larger "
                              "than server.max_body_bytes");
    if ((r->def->flags & GW_RT_OPERATOR) && r->who.role != GW_CLIENT_OPERATOR)
        return gw_http_refuse(r, GW_EFORBIDDEN, "metrics are for operators");
    (void)version;
    return r->def->serve(r);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct gw_http *h = cls;
    struct gw_req *r = *con_cls;
    int64_t us;

    if (r == NULL)
        return;
    if (!r->started) {
        /* The head never came whole: nothing to log or count. */
        gw_buf_release(&r->body);
        free(r);
        *con_cls = NULL;
        __atomic_sub_fetch(&h->inflight, 1, __ATOMIC_SEQ_CST);
        return;
    }
    /* The next request on a kept-alive connection: its head gets the
     * idle time and its own head time. */
    head_deadline(h, conn,
                  now_us() + (h->o.cfg->server_connection_timeout_s +
                              h->o.cfg->server_header_timeout_s) *
                                 1000000LL);
    us = now_us() - r->start_us;
    gw_log_set_request_id(r->id);
    gw_metrics_observe(r->route, r->status, us);
    gw_log_info("event=request method=%s route=%s status=%d ms=%.1f "
                "client=%s%s%s%s",
                r->method, gw_route_label(r->route), r->status, us / 1000.0,
                r->label[0] ? r->label : "-",
                r->fwd_for[0] ? " forwarded_for=" : "", r->fwd_for,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
                                                           : " aborted=1");
    gw_log_set_request_id(NULL);
    gw_buf_release(&r->body);
    if (r->resume != NULL) /* closed before its answer was sent */
        (void)gw_http_resume(r, 1);
    /* After a large body (and the parse of one) give the freed heap back
     * now, or RSS stays at the peak (glibc) or until the decay (jemalloc). */
    if (r->body_seen >= TRIM_AFTER)
        heap_release();
    free(r);
    *con_cls = NULL;
    __atomic_sub_fetch(&h->inflight, 1, __ATOMIC_SEQ_CST);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) GW_PRINTF(2, 0);

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    gw_log_warn("event=http_server detail=%s", gw_log_quote(msg));
}

/* --- the server certificate, replaced on SIGHUP ------------------------ */

/* libmicrohttpd asks pick_cert for the certificate at every handshake
 * (MHD_OPTION_HTTPS_CERT_CALLBACK): a SIGHUP loads the files into a new
 * generation and makes it current under cred_lock; connections in flight
 * keep theirs. GnuTLS may still use a generation it was handed during a
 * handshake, so older ones are freed only at stop (a few KiB each). The
 * callback has no closure: one server per process. */
#define MAX_CHAIN 8

struct server_cred {
    gnutls_pcert_st pcert[MAX_CHAIN];
    unsigned int npcert;
    gnutls_privkey_t key;
    struct server_cred *older;
};

static pthread_rwlock_t cred_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct server_cred *cred_now;

static int
pick_cert(gnutls_session_t s, const gnutls_datum_t *req_ca, int nreq,
          const gnutls_pk_algorithm_t *pk, int npk, gnutls_pcert_st **pcert,
          unsigned int *n, gnutls_privkey_t *key)
{
    struct server_cred *c;

    (void)s;
    (void)req_ca;
    (void)nreq;
    (void)pk;
    (void)npk;
    pthread_rwlock_rdlock(&cred_lock);
    c = cred_now;
    if (c != NULL) {
        *pcert = c->pcert;
        *n = c->npcert;
        *key = c->key;
    }
    pthread_rwlock_unlock(&cred_lock);
    return c != NULL ? 0 : -1;
}

static void
free_creds(struct server_cred *c)
{
    while (c != NULL) {
        struct server_cred *next = c->older;
        for (unsigned int i = 0; i < c->npcert; i++)
            gnutls_pcert_deinit(&c->pcert[i]);
        if (c->key != NULL)
            gnutls_privkey_deinit(c->key);
        free(c);
        c = next;
    }
}

/* Reads server.tls_cert and tls_key (checked to match first) and makes
 * them the certificate of every new handshake. */
static gw_rc
load_server_cert(const struct gw_config *cfg, struct gw_err *err)
{
    struct server_cred *c = NULL;
    gnutls_datum_t d = {NULL, 0};
    time_t not_after;
    gw_rc rc;

    rc = gw_tls_check_pair("server.tls_cert", cfg->server_tls_cert,
                           cfg->server_tls_key, &not_after, err);
    if (rc != GW_OK)
        return rc;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return GW_ENOMEM;
    c->npcert = MAX_CHAIN;
    rc = gw_err_set(err, GW_ECONFIG, "server.tls_cert",
                    "cannot load the server certificate chain (at most %d)",
                    MAX_CHAIN);
    if (gnutls_load_file(cfg->server_tls_cert, &d) < 0)
        goto fail;
    if (gnutls_pcert_list_import_x509_raw(c->pcert, &c->npcert, &d,
                                          GNUTLS_X509_FMT_PEM, 0) < 0) {
        c->npcert = 0;
        goto fail;
    }
    gnutls_free(d.data);
    d.data = NULL;
    rc = gw_err_set(err, GW_ECONFIG, "server.tls_key",
                    "cannot load the server private key");
    if (gnutls_load_file(cfg->server_tls_key, &d) < 0 ||
        gnutls_privkey_init(&c->key) < 0)
        goto fail;
    if (gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM, NULL,
                                       0) < 0)
        goto fail;
    gnutls_memset(d.data, 0, d.size);
    gnutls_free(d.data);
    pthread_rwlock_wrlock(&cred_lock);
    c->older = cred_now;
    cred_now = c;
    pthread_rwlock_unlock(&cred_lock);
    gw_tls_expiry_set("use=\"server\"", not_after);
    gw_log_info("event=server_cert_loaded chain=%u not_after=%lld",
                c->npcert, (long long)not_after);
    gw_err_clear(err);
    return GW_OK;
fail:
    if (d.data != NULL) {
        gnutls_memset(d.data, 0, d.size);
        gnutls_free(d.data);
    }
    free_creds(c);
    return rc;
}

/* --- revocation --------------------------------------------------------- */

static void
free_crls(gnutls_x509_crl_t *crls, unsigned int n)
{
    for (unsigned int i = 0; crls != NULL && i < n; i++)
        gnutls_x509_crl_deinit(crls[i]);
    gnutls_free(crls);
}

/* Reads every CRL of path; each must be signed by a client CA. */
static gw_rc
load_crls(const struct gw_http_trust *t, const char *path,
          gnutls_x509_crl_t **out, unsigned int *nout, struct gw_err *err)
{
    gnutls_datum_t d = {NULL, 0};
    gnutls_x509_crl_t *crls = NULL;
    unsigned int n = 0;
    gw_rc rc = GW_OK;

    *out = NULL;
    *nout = 0;
    if (gnutls_load_file(path, &d) < 0)
        return gw_err_set(err, GW_ECONFIG, "server.tls_crl",
                          "cannot read the CRL file");
    if (gnutls_x509_crl_list_import2(&crls, &n, &d, GNUTLS_X509_FMT_PEM, 0) <
            0 ||
        n == 0) {
        rc = gw_err_set(err, GW_ECONFIG, "server.tls_crl",
                        "not a PEM file of CRLs");
        goto out;
    }
    for (unsigned int i = 0; i < n; i++) {
        unsigned int v = 0;
        time_t next = gnutls_x509_crl_get_next_update(crls[i]);
        if (gnutls_x509_crl_verify(crls[i], t->cas, t->ncas, 0, &v) < 0 ||
            v != 0) {
            rc = gw_err_set(err, GW_ECONFIG, "server.tls_crl",
                            "CRL %u is not signed by a CA of "
                            "server.tls_client_ca",
                            i + 1);
            goto out;
        }
        if (next != (time_t)-1 && next < time(NULL))
            gw_log_warn("event=crl_outdated crl=%u detail=\"past its next "
                        "update: publish a new one and send SIGHUP\"",
                        i + 1);
    }
    *out = crls;
    *nout = n;
    crls = NULL;
out:
    free_crls(crls, n);
    gnutls_free(d.data);
    return rc;
}

/* --- the client CAs, replaced on SIGHUP -------------------------------- */

static void
free_trust(struct gw_http_trust *t)
{
    while (t != NULL) {
        struct gw_http_trust *next = t->older;
        for (unsigned int i = 0; t->cas != NULL && i < t->ncas; i++)
            gnutls_x509_crt_deinit(t->cas[i]);
        gnutls_free(t->cas);
        if (t->cred != NULL)
            gnutls_certificate_free_credentials(t->cred);
        free(t);
        t = next;
    }
}

/* Reads server.tls_client_ca into a new generation: every certificate of
 * the file must import, and GnuTLS must take them as trust anchors. */
static gw_rc
load_trust(const char *path, struct gw_http_trust **out, struct gw_err *err)
{
    struct gw_http_trust *t = NULL;
    gnutls_datum_t d;
    char *pem = slurp(path);
    gw_rc rc = GW_OK;

    *out = NULL;
    if (pem == NULL)
        return gw_err_set(err, GW_ECONFIG, "server.tls_client_ca",
                          "server.tls_client_ca: cannot read %s (or it is "
                          "empty, or 1 MiB or more)",
                          path);
    d.data = (unsigned char *)pem;
    d.size = (unsigned int)strlen(pem);
    if ((t = calloc(1, sizeof(*t))) == NULL) {
        rc = GW_ENOMEM;
        goto out;
    }
    if (gnutls_x509_crt_list_import2(&t->cas, &t->ncas, &d,
                                     GNUTLS_X509_FMT_PEM, 0) < 0 ||
        t->ncas == 0) {
        t->cas = NULL;
        t->ncas = 0;
        rc = gw_err_set(err, GW_ECONFIG, "server.tls_client_ca",
                        "server.tls_client_ca: %s is not a PEM file of "
                        "certificates",
                        path);
        goto out;
    }
    if (gnutls_certificate_allocate_credentials(&t->cred) < 0) {
        t->cred = NULL;
        rc = GW_ENOMEM;
        goto out;
    }
    if (gnutls_certificate_set_x509_trust_mem(t->cred, &d,
                                              GNUTLS_X509_FMT_PEM) <= 0) {
        rc = gw_err_set(err, GW_ECONFIG, "server.tls_client_ca",
                        "server.tls_client_ca: %s holds no usable CA "
                        "certificate",
                        path);
        goto out;
    }
    gnutls_certificate_set_retrieve_function2(t->cred, pick_cert);
    *out = t;
    t = NULL;
out:
    free_trust(t);
    free(pem);
    return rc;
}

static void
push_trust(struct gw_http *h, struct gw_http_trust *t)
{
    pthread_mutex_lock(&h->gen_mu);
    t->older = h->trust;
    __atomic_store_n(&h->trust, t, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&h->gen_mu);
    gw_log_info("event=client_ca_loaded cas=%u", t->ncas);
}

/* --- the [clients] table, replaced on SIGHUP ----------------------------- */

static void
free_clients(struct gw_http_clients *g)
{
    while (g != NULL) {
        struct gw_http_clients *next = g->older;
        gw_lookup_limit_free(g->lookups);
        if (g->owned != NULL) {
            gw_config_release(g->owned);
            free(g->owned);
        }
        free(g);
        g = next;
    }
}

static gw_rc
push_clients(struct gw_http *h, const struct gw_config *cfg,
             struct gw_config *owned)
{
    struct gw_http_clients *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return GW_ENOMEM;
    g->cfg = cfg;
    if (gw_lookup_limit_new(h->o.cfg->server_lookup_fail_limit,
                            h->o.cfg->server_lookup_fail_window_s,
                            cfg->nclients, &g->lookups) != GW_OK) {
        free(g);
        return GW_ENOMEM;
    }
    g->owned = owned;
    pthread_mutex_lock(&h->gen_mu);
    g->older = h->clients;
    __atomic_store_n(&h->clients, g, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&h->gen_mu);
    return GW_OK;
}

gw_rc
gw_http_reload_clients(struct gw_http *h, struct gw_config *fresh)
{
    gw_rc rc;

    if (fresh->nclients == 0) {
        gw_log_err("event=clients_reload_failed detail=\"[clients] is "
                   "empty\" keeping=previous");
        return GW_ECONFIG;
    }
    rc = push_clients(h, fresh, fresh);
    if (rc == GW_OK)
        gw_log_info("event=clients_loaded clients=%zu", fresh->nclients);
    return rc;
}

gw_rc
gw_http_reload(struct gw_http *h)
{
    const char *path = h->o.cfg->server_tls_crl;
    gnutls_x509_crl_t *crls = NULL, *old;
    unsigned int n = 0, nold;
    struct gw_http_trust *t = NULL;
    struct gw_err err;
    gw_rc rc, rc_ca;

    if (h->o.cfg->server_plain_http)
        return GW_OK;
    /* The client CAs first: the CRLs must be signed by one of them. */
    gw_err_clear(&err);
    rc_ca = load_trust(h->o.cfg->server_tls_client_ca, &t, &err);
    if (rc_ca == GW_OK)
        push_trust(h, t);
    else
        gw_log_err_rc(rc_ca,
                      "event=client_ca_reload_failed detail=%s "
                      "keeping=previous",
                      gw_log_quote(err.detail));
    gw_err_clear(&err);
    rc = load_server_cert(h->o.cfg, &err);
    if (rc != GW_OK)
        gw_log_err_rc(rc,
                      "event=server_cert_reload_failed detail=%s "
                      "keeping=previous",
                      gw_log_quote(err.detail));
    else
        rc = rc_ca;
    if (path[0] == '\0' || !h->crl_lock_init)
        return rc;
    gw_err_clear(&err);
    rc = load_crls(__atomic_load_n(&h->trust, __ATOMIC_ACQUIRE), path, &crls,
                   &n, &err);
    if (rc != GW_OK) {
        gw_log_err_rc(rc,
                      "event=crl_reload_failed detail=%s "
                      "keeping=previous",
                      gw_log_quote(err.detail));
        return rc;
    }
    pthread_rwlock_wrlock(&h->crl_lock);
    old = h->crls;
    nold = h->ncrls;
    h->crls = crls;
    h->ncrls = n;
    pthread_rwlock_unlock(&h->crl_lock);
    free_crls(old, nold);
    gw_log_info("event=crl_loaded crls=%u", n);
    return GW_OK;
}

/* The client CAs (which verify client chains, forwarded certificates and
 * CRL signatures) and the first CRL list. */
static gw_rc
start_revocation(struct gw_http *h, struct gw_err *err)
{
    struct gw_http_trust *t = NULL;
    gw_rc rc;

    rc = load_trust(h->o.cfg->server_tls_client_ca, &t, err);
    if (rc != GW_OK)
        return rc;
    push_trust(h, t);
    if (h->o.cfg->server_tls_crl[0] == '\0')
        return GW_OK;
    if (pthread_rwlock_init(&h->crl_lock, NULL) != 0)
        return GW_ENOMEM;
    h->crl_lock_init = 1;
    rc = load_crls(t, h->o.cfg->server_tls_crl, &h->crls, &h->ncrls, err);
    if (rc == GW_OK)
        gw_log_info("event=crl_loaded crls=%u", h->ncrls);
    return rc;
}

gw_rc
gw_http_start(const struct gw_http_opts *o, struct gw_http **out,
              struct gw_err *err)
{
    const struct gw_config *cfg = o->cfg;
    struct gw_http *h = calloc(1, sizeof(*h));
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    struct sockaddr *sa;
    /* poll(), not epoll: with epoll, libmicrohttpd 0.9.75 left a request
     * whose header records did not fit its pool waiting until the client
     * gave up, instead of answering. */
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                         MHD_USE_ITC | MHD_USE_ERROR_LOG |
                         MHD_ALLOW_SUSPEND_RESUME;
    const union MHD_DaemonInfo *di;

    *out = NULL;
    if (h == NULL)
        return GW_ENOMEM;
    h->o = *o;
    pthread_mutex_init(&h->gen_mu, NULL);
    if (push_clients(h, cfg, NULL) != GW_OK) {
        pthread_mutex_destroy(&h->gen_mu);
        free(h);
        return GW_ENOMEM;
    }
    pthread_mutex_init(&h->cmu, NULL);
    {
        gw_rc rc = gw_net_ranges_parse(
            "server.trusted_proxies", cfg->server_trusted_proxies,
            GW_HTTP_MAX_PROXIES, &h->proxies, &h->nproxies, err);
        if (rc != GW_OK) {
            free_clients(h->clients);
            pthread_mutex_destroy(&h->gen_mu);
            pthread_mutex_destroy(&h->cmu);
            free(h);
            return rc;
        }
    }
    memset(&a4, 0, sizeof(a4));
    memset(&a6, 0, sizeof(a6));
    if (inet_pton(AF_INET, cfg->server_listen, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->server_port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, cfg->server_listen, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)cfg->server_port);
        sa = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        free(h->proxies);
        free_clients(h->clients);
        pthread_mutex_destroy(&h->gen_mu);
        pthread_mutex_destroy(&h->cmu);
        free(h);
        return gw_err_set(err, GW_ECONFIG, "server.listen",
                          "not an IPv4 or IPv6 address");
    }
    if (!cfg->server_plain_http) {
        h->tls_cert = slurp(cfg->server_tls_cert);
        h->tls_key = slurp(cfg->server_tls_key);
        h->tls_ca = slurp(cfg->server_tls_client_ca);
        if (h->tls_cert == NULL || h->tls_key == NULL || h->tls_ca == NULL) {
            gw_http_stop(h);
            return gw_err_set(err, GW_ECONFIG, "server.tls_cert",
                              "cannot read the TLS certificate, key or "
                              "client CA file");
        }
        flags |= MHD_USE_TLS;
        {
            gw_rc rc = load_server_cert(cfg, err);
            if (rc == GW_OK)
                rc = start_revocation(h, err);
            if (rc != GW_OK) {
                gw_http_stop(h);
                return rc;
            }
        }
    }
    {
        /* TLS options only when serving TLS; otherwise the list is empty. */
        /* The certificate comes from pick_cert at each handshake, so
         * that SIGHUP can replace it; the trust list makes libmicrohttpd
         * ask for client certificates. */
        struct MHD_OptionItem tls[] = {
            {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)pick_cert},
            {MHD_OPTION_HTTPS_MEM_TRUST, 0, h->tls_ca},
            {MHD_OPTION_END, 0, NULL},
        };
        h->d = MHD_start_daemon(
            flags, (uint16_t)cfg->server_port, NULL, NULL, on_request, h,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
            MHD_OPTION_SOCK_ADDR, sa,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->server_threads,
            MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)cfg->server_max_connections + RESERVE,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            (unsigned)cfg->server_max_connections_per_ip,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
            MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
            MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)cfg->server_connection_timeout_s,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)cfg->server_max_header_bytes + 16384,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
            MHD_OPTION_ARRAY, h->tls_cert != NULL ? tls : tls + 2,
            MHD_OPTION_END);
    }
    if (h->d == NULL) {
        gw_http_stop(h);
        return gw_err_set(err, GW_EIO, "server.port",
                          "cannot listen on %s port %ld", cfg->server_listen,
                          cfg->server_port);
    }
    di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : (int)cfg->server_port;
    if (pthread_create(&h->reaper, NULL, reaper, h) != 0) {
        gw_http_stop(h);
        return gw_err_set(err, GW_ENOMEM, NULL, "cannot start a thread");
    }
    h->reaper_on = 1;
    *out = h;
    return GW_OK;
}

int
gw_http_port(const struct gw_http *h)
{
    return h->port;
}

void
gw_http_stop(struct gw_http *h)
{
    if (h == NULL)
        return;
    if (h->d != NULL) {
        /* No new connections; requests in flight finish and commit; a
         * read held from now on does not suspend its connection. */
        __atomic_store_n(&h->held_no_suspend, 1, __ATOMIC_SEQ_CST);
        MHD_quiesce_daemon(h->d);
        for (int i = 0; i < 300 && __atomic_load_n(&h->inflight,
                                                   __ATOMIC_SEQ_CST) > 0;
             i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        /* A suspended answer is resumed by the writer's completion, which
         * follows its commit; libmicrohttpd must not stop before (it
         * aborts with suspended connections, and the completion uses the
         * request). */
        while (__atomic_load_n(&h->held, __ATOMIC_SEQ_CST) > 0) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        /* The answers those resumed are sent (bounded, like the wait for
         * requests in flight above). */
        for (int i = 0; i < 100 && __atomic_load_n(&h->inflight,
                                                   __ATOMIC_SEQ_CST) > 0;
             i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        MHD_stop_daemon(h->d);
    }
    if (h->reaper_on) {
        __atomic_store_n(&h->stopping, 1, __ATOMIC_SEQ_CST);
        pthread_join(h->reaper, NULL);
    }
    pthread_mutex_destroy(&h->cmu);
    if (h->tls_key != NULL) {
        /* The private key does not outlive its use in memory. */
        memset(h->tls_key, 0, strlen(h->tls_key));
        free(h->tls_key);
    }
    free(h->tls_cert);
    free(h->tls_ca);
    free_crls(h->crls, h->ncrls);
    pthread_rwlock_wrlock(&cred_lock);
    free_creds(cred_now);
    cred_now = NULL;
    pthread_rwlock_unlock(&cred_lock);
    free_trust(h->trust);
    free_clients(h->clients);
    free(h->proxies);
    pthread_mutex_destroy(&h->gen_mu);
    if (h->crl_lock_init)
        pthread_rwlock_destroy(&h->crl_lock);
    free(h);
}
