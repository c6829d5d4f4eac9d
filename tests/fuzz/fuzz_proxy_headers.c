/*
 * fuzz_proxy_headers.c - libFuzzer target for what a trusted proxy
 * forwards (src/http/proxy.c): the bytes, cut at the first NUL as a header
 * value is, go to the x-vp-auth-cert reader and the X-Forwarded-For
 * reader (with no trusted proxy, and behind proxies in ranges). A
 * certificate comes back only with 0 and can be read (its DER export
 * succeeds); the forwarded address is "" or a numeric address that parses
 * again and fits its buffer. The bytes as a server.trusted_proxies list:
 * parsed or refused with a reason, never half.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "core/netaddr.h"
#include "http/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), addr[48];
    unsigned char a[16];
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t der = {NULL, 0};
    struct gw_net_range proxies[2];

    if (s == NULL)
        return 0;
    if (!gw_net_parse_addr("10.0.0.0", proxies[0].addr) ||
        !gw_net_parse_addr("::1", proxies[1].addr))
        abort();
    proxies[0].bits = 96 + 8;
    proxies[1].bits = 128;
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
    gw_proxy_forwarded_for(s, NULL, 0, addr, sizeof(addr));
    if (memchr(addr, '\0', sizeof(addr)) == NULL)
        abort();
    /* Behind proxies in 10.0.0.0/8 and ::1: still a parsable address. */
    memset(addr, 'x', sizeof(addr));
    gw_proxy_forwarded_for(s, proxies, 2, addr, sizeof(addr));
    if (memchr(addr, '\0', sizeof(addr)) == NULL)
        abort();
    if (addr[0] != '\0' && inet_pton(AF_INET, addr, a) != 1 &&
        inet_pton(AF_INET6, addr, a) != 1)
        abort();

    /* The same bytes as server.trusted_proxies: a list comes back only
     * with GW_OK, each range holds its own first address. */
    {
        struct gw_net_range *r = NULL;
        size_t n = 0;
        struct gw_err err;
        gw_err_clear(&err);
        if (gw_net_ranges_parse("server.trusted_proxies", s, 64, &r, &n,
                                &err) == GW_OK) {
            if (n > 64 || (n > 0) != (r != NULL))
                abort();
            for (size_t i = 0; i < n; i++)
                if (r[i].bits < 0 || r[i].bits > 128 ||
                    !gw_net_ranges_match(&r[i], 1, r[i].addr))
                    abort();
        } else if (r != NULL || n != 0 || err.detail[0] == '\0') {
            abort();
        }
        free(r);
    }
    free(s);
    return 0;
}
