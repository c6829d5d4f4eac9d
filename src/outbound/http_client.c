/*
 * http_client.c - HTTP POST delivery on libcurl (see http_client.h). The
 * only file that includes curl.h. One easy handle per thread keeps its
 * connections alive between deliveries to the same peer; peers under a
 * policy (webhooks) have a handle of their own, so a connection opened for
 * a trusted peer is never reused for an endpoint that has to pass the
 * address check, and every connection a policed handle holds was checked.
 */
#include "outbound/http_client.h"
#include "store/outbox.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static _Thread_local CURL *thread_handle;
static _Thread_local CURL *policed_handle;

/* What the socket callback saw, for the verdict after curl returns. */
struct connect_check {
    const struct gw_net_policy *policy;
    const char *refused; /* class name of a refused address, or NULL */
};

/* Called by curl for every address it is about to connect to, after name
 * resolution: the one place where the address actually used is known. */
static curl_socket_t
open_checked(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct connect_check *cc = ud;
    const char *why = NULL;

    if (purpose != CURLSOCKTYPE_IPCXN ||
        !gw_net_addr_allowed(cc->policy, &a->addr, &why)) {
        cc->refused = why ? why : "not an IP connection";
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

gw_rc
gw_http_url_parts(const char *url, char *scheme, size_t scheme_size, char *host,
                  size_t host_size, long *port)
{
    CURLU *u = curl_url();
    char *sch = NULL, *h = NULL, *pt = NULL;
    gw_rc rc = GW_EINVAL;
    size_t n;

    if (u == NULL)
        return GW_ENOMEM;
    /* Only what curl itself will read: no guessing of a missing scheme. */
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
            CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &sch, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &pt, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        /* An IPv6 literal; a zone id ("%25eth0") stays and fails later. */
        memmove(h, h + 1, n - 2);
        h[n - 2] = '\0';
    }
    if (strlen(sch) >= scheme_size || strlen(h) >= host_size || h[0] == '\0')
        goto out;
    for (char *c = sch; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (char *c = h; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    snprintf(scheme, scheme_size, "%s", sch);
    snprintf(host, host_size, "%s", h);
    *port = strtol(pt, NULL, 10);
    rc = GW_OK;
out:
    curl_free(sch);
    curl_free(h);
    curl_free(pt);
    curl_url_cleanup(u);
    return rc;
}

void
gw_http_tls_apply(void *curl, const struct gw_tls_client *tls)
{
    CURL *eh = curl;

    curl_easy_setopt(eh, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(eh, CURLOPT_SSL_VERIFYHOST,
                     tls == NULL || tls->verify_host ? 2L : 0L);
    curl_easy_setopt(eh, CURLOPT_SSLVERSION,
                     tls != NULL && tls->min_version == 13
                         ? CURL_SSLVERSION_TLSv1_3
                         : CURL_SSLVERSION_TLSv1_2);
    if (tls == NULL)
        return;
    if (tls->ca != NULL)
        curl_easy_setopt(eh, CURLOPT_CAINFO, tls->ca);
    if (tls->cert != NULL) {
        curl_easy_setopt(eh, CURLOPT_SSLCERT, tls->cert);
        curl_easy_setopt(eh, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(eh, CURLOPT_SSLKEY, tls->key);
        curl_easy_setopt(eh, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

gw_rc
gw_http_client_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? GW_OK
                                                             : GW_EINTERNAL;
}

void
gw_http_client_thread_done(void *ctx)
{
    (void)ctx;
    if (thread_handle != NULL)
        curl_easy_cleanup(thread_handle);
    if (policed_handle != NULL)
        curl_easy_cleanup(policed_handle);
    thread_handle = NULL;
    policed_handle = NULL;
}

static size_t
discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

enum gw_delivery
gw_http_peer_send(void *ctx, const struct gw_outbox_item *item, char *why,
                  size_t why_size)
{
    const struct gw_http_peer *peer = ctx;
    struct connect_check check = {peer->policy, NULL};
    CURL **handle = peer->policy ? &policed_handle : &thread_handle, *eh;
    struct curl_slist *h = NULL;
    char line[200], errbuf[CURL_ERROR_SIZE];
    long status = 0;
    CURLcode cc;

    if (peer->policy != NULL) {
        char scheme[16], host[256];
        long port;
        if (gw_http_url_parts(peer->url, scheme, sizeof(scheme), host,
                              sizeof(host), &port) != GW_OK) {
            snprintf(why, why_size, "endpoint refused: not a URL");
            return GW_DELIVERY_FAILED;
        }
        if (strcmp(scheme, "https") != 0 &&
            !(peer->policy->allow_http && strcmp(scheme, "http") == 0)) {
            snprintf(why, why_size,
                     "endpoint refused: scheme %s (https "
                     "required)",
                     scheme);
            return GW_DELIVERY_FAILED;
        }
    }
    if (*handle == NULL && (*handle = curl_easy_init()) == NULL) {
        snprintf(why, why_size, "cannot create an HTTP handle");
        return GW_DELIVERY_RETRY;
    }
    eh = *handle;
    curl_easy_reset(eh);
    snprintf(line, sizeof(line), "Content-Type: %s",
             peer->content_type ? peer->content_type : "application/xml");
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "X-Message-Id: %s", item->message_id);
    h = curl_slist_append(h, line);
    h = curl_slist_append(h, "Expect:");
    if (peer->header != NULL && peer->header[0] != '\0')
        h = curl_slist_append(h, peer->header);
    curl_easy_setopt(eh, CURLOPT_URL, peer->url);
    curl_easy_setopt(eh, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(eh, CURLOPT_POSTFIELDS, item->payload);
    curl_easy_setopt(eh, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)item->payload_len);
    curl_easy_setopt(eh, CURLOPT_TIMEOUT_MS,
                     peer->timeout_ms > 0 ? peer->timeout_ms : 10000L);
    curl_easy_setopt(eh, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(eh, CURLOPT_WRITEFUNCTION, discard);
    /* A redirect is someone else's choice of target: never followed. */
    curl_easy_setopt(eh, CURLOPT_FOLLOWLOCATION, 0L);
    errbuf[0] = '\0';
    curl_easy_setopt(eh, CURLOPT_ERRORBUFFER, errbuf);
    gw_http_tls_apply(eh, peer->tls);
    if (peer->policy != NULL) {
        curl_easy_setopt(eh, CURLOPT_PROTOCOLS_STR,
                         peer->policy->allow_http ? "http,https" : "https");
        /* A proxy from the environment would be the address checked. */
        curl_easy_setopt(eh, CURLOPT_PROXY, "");
        curl_easy_setopt(eh, CURLOPT_OPENSOCKETFUNCTION, open_checked);
        curl_easy_setopt(eh, CURLOPT_OPENSOCKETDATA, &check);
    } else {
        curl_easy_setopt(eh, CURLOPT_PROTOCOLS_STR, "http,https");
    }
    cc = curl_easy_perform(eh);
    curl_slist_free_all(h);
    if (cc != CURLE_OK && check.refused != NULL) {
        snprintf(why, why_size, "address refused: %s (webhooks.allow_private)",
                 check.refused);
        return GW_DELIVERY_FAILED;
    }
    if (cc == CURLE_UNSUPPORTED_PROTOCOL) {
        snprintf(why, why_size, "%s", curl_easy_strerror(cc));
        return GW_DELIVERY_FAILED;
    }
    if (cc != CURLE_OK) {
        /* curl's own words for TLS failures name the cause (a refused
         * client certificate, an unknown CA, a host mismatch). */
        snprintf(why, why_size, "%s%s%.150s", curl_easy_strerror(cc),
                 errbuf[0] ? ": " : "", errbuf);
        return GW_DELIVERY_RETRY;
    }
    curl_easy_getinfo(eh, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300)
        return GW_DELIVERED;
    if (status >= 300 && status < 400) {
        snprintf(why, why_size,
                 "peer answered HTTP %ld (redirects are not "
                 "followed)",
                 status);
        return GW_DELIVERY_FAILED;
    }
    snprintf(why, why_size, "peer answered HTTP %ld", status);
    if (status == 408 || status == 425 || status == 429 || status >= 500)
        return GW_DELIVERY_RETRY;
    return GW_DELIVERY_FAILED;
}
