/*
 * proxy.c - x-vp-auth-cert and X-Forwarded-For values (see proxy.h).
 */
#include "http/proxy.h"

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
gw_proxy_forwarded_for(const char *xff, char *out, size_t size)
{
    const char *last = strrchr(xff, ',');
    unsigned char a[16];
    char tok[48];

    if (size > 0)
        out[0] = '\0';
    last = last ? last + 1 : xff;
    while (*last == ' ')
        last++;
    snprintf(tok, sizeof(tok), "%.*s", (int)strcspn(last, " "), last);
    if (inet_pton(AF_INET, tok, a) == 1 || inet_pton(AF_INET6, tok, a) == 1)
        snprintf(out, size, "%s", tok);
}
