/*
 * fuzz_proxy_headers.c - libFuzzer target for what a trusted proxy
 * forwards (src/http/proxy.c): the bytes, cut at the first NUL as a header
 * value is, go to the x-vp-auth-cert reader and the X-Forwarded-For
 * reader. A certificate comes back only with 0 and can be read (its DER
 * export succeeds); the forwarded address is "" or a numeric address that
 * parses again and fits its buffer.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "http/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), addr[48];
    unsigned char a[16];
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t der = {NULL, 0};

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    if (gw_proxy_cert_parse(s, &crt) == 0) {
        if (crt == NULL ||
            gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) != 0)
            abort();
        gnutls_free(der.data);
        gnutls_x509_crt_deinit(crt);
    } else if (crt != NULL) {
        abort();
    }

    memset(addr, 'x', sizeof(addr));
    gw_proxy_forwarded_for(s, addr, sizeof(addr));
    if (memchr(addr, '\0', sizeof(addr)) == NULL)
        abort();
    if (addr[0] != '\0' && inet_pton(AF_INET, addr, a) != 1 &&
        inet_pton(AF_INET6, addr, a) != 1)
        abort();
    free(s);
    return 0;
}
