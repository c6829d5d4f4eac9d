/*
 * proxy.c - x-vp-auth-cert and X-Forwarded-For values (see proxy.h).
 */
#include "http/proxy.h"

#include "core/netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

int
gw_proxy_cert_parse(const char *value, gnutls_x509_crt_t *out)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    const char *p = value, *e;
    gnutls_datum_t b64, der = {NULL, 0};
    gnutls_x509_crt_t crt = NULL;
    char *clean = NULL;
    size_t n = 0;
    int rc = -1;

    *out = NULL;
    if (strnlen(value, GW_PROXY_CERT_MAX + 1) > GW_PROXY_CERT_MAX)
        return -1;
    if (strncmp(p, begin, sizeof(begin) - 1) == 0)
        p += sizeof(begin) - 1;
    e = strstr(p, end);
    if (e == NULL)
        e = p + strlen(p);
    if ((clean = malloc((size_t)(e - p) + 1)) == NULL)
        return -1;
    for (; p < e; p++)
        if (!isspace((unsigned char)*p))
            clean[n++] = *p;
    clean[n] = '\0';
    b64.data = (unsigned char *)clean;
    b64.size = (unsigned int)n;
    if (n == 0 || gnutls_base64_decode2(&b64, &der) < 0)
        goto out;
    if (gnutls_x509_crt_init(&crt) != 0) {
        crt = NULL;
        goto out;
    }
    if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) != 0)
        goto out;
    *out = crt;
    crt = NULL;
    rc = 0;
out:
    if (crt != NULL)
        gnutls_x509_crt_deinit(crt);
    gnutls_free(der.data);
    free(clean);
    return rc;
}

void
gw_proxy_forwarded_for(const char *xff, const struct gw_net_range *trusted,
                       size_t ntrusted, char *out, size_t size)
{
    const char *end = xff + strnlen(xff, 65536); /* one past the entry */
    unsigned char a[16];
    char tok[48];

    if (size > 0)
        out[0] = '\0';
    for (int i = 0; i < GW_PROXY_XFF_MAX; i++) {
        const char *begin = end, *start;
        size_t len;
        while (begin > xff && begin[-1] != ',')
            begin--;
        start = begin;
        len = (size_t)(end - start);
        while (len > 0 && (*start == ' ' || *start == '\t')) {
            start++;
            len--;
        }
        while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
            len--;
        if (len == 0 || len >= sizeof(tok))
            return;
        memcpy(tok, start, len);
        tok[len] = '\0';
        if (!gw_net_parse_addr(tok, a))
            return;
        /* The first address from the right that is not a proxy of ours,
         * or the leftmost: the caller. */
        if (!gw_net_ranges_match(trusted, ntrusted, a) || begin == xff) {
            snprintf(out, size, "%s", tok);
            return;
        }
        end = begin - 1; /* the comma before this entry */
    }
}
