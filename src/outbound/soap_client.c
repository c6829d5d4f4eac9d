/*
 * soap_client.c - pooled gSOAP client contexts on libcurl (see
 * soap_client.h). The only outbound file that knows gSOAP's context; the
 * peers (hsa.c, lv.c) use the generated stubs on the contexts it hands
 * out.
 */
#include "outbound/soap_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlapi.h"
#include "gwsoapH.h"
#include "outbound/http_client.h"

#define GW_SOAP_POOL_MAX 16 /* idle contexts kept */

struct gw_soap_pool {
    char *url, *logical_address, *extra_headers;
    long timeout_ms;
    struct gw_tls_client tls;
    int has_tls;
    pthread_mutex_t mu;
    struct soap *idle[GW_SOAP_POOL_MAX];
    int nidle;
};

gw_rc
gw_soap_pool_new(const struct gw_soap_pool_opts *o, const char *dflt,
                 struct gw_soap_pool **out)
{
    struct gw_soap_pool *p = calloc(1, sizeof(*p));

    *out = NULL;
    if (p == NULL)
        return GW_ENOMEM;
    p->url = strdup(o->url ? o->url : "");
    p->logical_address = strdup(o->logical_address ? o->logical_address : dflt);
    p->extra_headers = o->extra_headers ? strdup(o->extra_headers) : NULL;
    p->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    if (o->tls != NULL) {
        /* The strings are the configuration's, which outlives the pool. */
        p->tls = *o->tls;
        p->has_tls = 1;
    }
    pthread_mutex_init(&p->mu, NULL);
    if (p->url == NULL || p->logical_address == NULL ||
        (o->extra_headers && p->extra_headers == NULL)) {
        gw_soap_pool_free(p);
        return GW_ENOMEM;
    }
    *out = p;
    return GW_OK;
}

static void
destroy(struct soap *s)
{
    soap_destroy(s);
    soap_end(s);
    soap_free(s); /* also deregisters the plugin, freeing its curl handle */
}

void
gw_soap_pool_free(struct gw_soap_pool *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->nidle; i++)
        destroy(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    free(p->url);
    free(p->logical_address);
    free(p->extra_headers);
    free(p);
}

const char *
gw_soap_pool_url(const struct gw_soap_pool *p)
{
    return p->url;
}

struct soap *
gw_soap_pool_get(struct gw_soap_pool *p)
{
    struct soap *s = NULL;

    pthread_mutex_lock(&p->mu);
    if (p->nidle > 0)
        s = p->idle[--p->nidle];
    pthread_mutex_unlock(&p->mu);
    if (s == NULL) {
        s = soap_new1(SOAP_IO_KEEPALIVE | SOAP_XML_STRICT | SOAP_C_UTFSTRING);
        if (s == NULL)
            return NULL;
        /* The plugin's handle, made here so that TLS is set once: the
         * plugin sets URL, headers and timeouts per call and leaves the
         * rest alone. It owns the handle (frees it with the context). */
        CURL *eh = curl_easy_init();
        struct soap_curl_data *d;
        if (eh == NULL) {
            soap_free(s);
            return NULL;
        }
        gw_http_tls_apply(eh, p->has_tls ? &p->tls : NULL);
        if (soap_register_plugin_arg(s, soap_curl, eh) != SOAP_OK) {
            curl_easy_cleanup(eh);
            soap_free(s);
            return NULL;
        }
        d = soap_lookup_plugin(s, soap_curl_id);
        if (d != NULL)
            d->own = 1;
    }
    /* Negative gSOAP timeouts are microseconds; the curl plugin turns
     * them into CURLOPT_CONNECTTIMEOUT_MS and CURLOPT_TIMEOUT_MS. */
    s->connect_timeout = -(int)(p->timeout_ms * 1000);
    s->send_timeout = -(int)(p->timeout_ms * 1000);
    s->recv_timeout = -(int)(p->timeout_ms * 1000);
    s->transfer_timeout = 0;
    if (gw_soap_pool_rearm(p, s) != GW_OK) {
        destroy(s);
        return NULL;
    }
    return s;
}

gw_rc
gw_soap_pool_rearm(struct gw_soap_pool *p, struct soap *s)
{
    /* gSOAP drops the header and the extra HTTP headers after each call:
     * set both for every call. */
    s->header = soap_malloc(s, sizeof(*s->header));
    if (s->header == NULL)
        return GW_ENOMEM;
    soap_default_SOAP_ENV__Header(s, s->header);
    s->header->itr__LogicalAddress = soap_strdup(s, p->logical_address);
    s->http_extra_header = p->extra_headers;
    return GW_OK;
}

void
gw_soap_pool_put(struct gw_soap_pool *p, struct soap *s, int ok)
{
    if (s == NULL)
        return;
    soap_destroy(s);
    soap_end(s);
    s->header = NULL;
    if (!ok)
        soap_curl_reset(s);
    pthread_mutex_lock(&p->mu);
    if (p->nidle < GW_SOAP_POOL_MAX) {
        p->idle[p->nidle++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (s != NULL)
        destroy(s);
}

void
gw_soap_describe(struct soap *s, struct gw_soap_failure *f)
{
    const char *fs = NULL;

    memset(f, 0, sizeof(*f));
    f->http_status = s->status;
    if (s->error == SOAP_FAULT || s->error == SOAP_CLI_FAULT ||
        s->error == SOAP_SVR_FAULT) {
        const char **c = soap_faultstring(s);
        fs = c ? *c : NULL;
        f->fault = 1;
    }
    if (fs != NULL && (strstr(fs, "Timeout") || strstr(fs, "timed out")))
        f->timeout = 1;
    /* The curl plugin reports transport failures as a local fault with
     * no HTTP status: that is not the peer's fault. */
    if (f->fault && f->http_status == 0)
        f->fault = 0;
    snprintf(f->why, sizeof(f->why), "%s%s%.120s",
             f->timeout ? "timeout"
             : f->fault ? "soap fault"
                        : "error",
             fs ? ": " : "", fs ? fs : "");
    if (!f->fault && !f->timeout && fs == NULL)
        snprintf(f->why, sizeof(f->why), "gSOAP error %d, HTTP %d", s->error,
                 s->status);
    if (f->http_status == 0) {
        /* No HTTP answer: curl's own words name the cause (a client
         * certificate refused, an unknown CA, a host mismatch). */
        const struct soap_curl_data *d = soap_lookup_plugin(s, soap_curl_id);
        size_t n = strlen(f->why);
        if (d != NULL && d->buf[0] != '\0' && n + 4 < sizeof(f->why))
            snprintf(f->why + n, sizeof(f->why) - n, " (%s)", d->buf);
    }
}
