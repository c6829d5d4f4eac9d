/*
 * http_client.c - HTTP POST delivery on libcurl (see http_client.h). The
 * only file that includes curl.h. One easy handle per thread keeps its
 * connections alive between deliveries to the same peer.
 */
#include "outbound/http_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static _Thread_local CURL *thread_handle;

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
    thread_handle = NULL;
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
    struct curl_slist *h = NULL;
    char line[160];
    long status = 0;
    CURLcode cc;

    if (thread_handle == NULL && (thread_handle = curl_easy_init()) == NULL) {
        snprintf(why, why_size, "cannot create an HTTP handle");
        return GW_DELIVERY_RETRY;
    }
    curl_easy_reset(thread_handle);
    snprintf(line, sizeof(line), "Content-Type: %s",
             peer->content_type ? peer->content_type : "application/xml");
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "X-Message-Id: %s", item->message_id);
    h = curl_slist_append(h, line);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(thread_handle, CURLOPT_URL, peer->url);
    curl_easy_setopt(thread_handle, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(thread_handle, CURLOPT_POSTFIELDS, item->payload);
    curl_easy_setopt(thread_handle, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)item->payload_len);
    curl_easy_setopt(thread_handle, CURLOPT_TIMEOUT_MS,
                     peer->timeout_ms > 0 ? peer->timeout_ms : 10000L);
    curl_easy_setopt(thread_handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(thread_handle, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(thread_handle, CURLOPT_PROTOCOLS_STR, "http,https");
    cc = curl_easy_perform(thread_handle);
    curl_slist_free_all(h);
    if (cc != CURLE_OK) {
        snprintf(why, why_size, "%s", curl_easy_strerror(cc));
        return GW_DELIVERY_RETRY;
    }
    curl_easy_getinfo(thread_handle, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300)
        return GW_DELIVERED;
    snprintf(why, why_size, "peer answered HTTP %ld", status);
    if (status == 408 || status == 425 || status == 429 || status >= 500)
        return GW_DELIVERY_RETRY;
    return GW_DELIVERY_FAILED;
}
