/*
 * tls.c - the configuration's TLS material, checked with GnuTLS (see
 * tls.h). The peers are rows of one table; a new outbound peer with TLS
 * is a new row (and its keys in config/keys.tsv).
 */
#include "config/tls.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "core/names.h"

struct peer_row {
    const char *peer;
    size_t cert, key, ca, verify_host, min_version;
};

#define PEER_ROW(p)                                                           \
    {#p,                                                                      \
     offsetof(struct gw_config, p##_tls_cert),                                \
     offsetof(struct gw_config, p##_tls_key),                                 \
     offsetof(struct gw_config, p##_tls_ca),                                  \
     offsetof(struct gw_config, p##_tls_verify_host),                         \
     offsetof(struct gw_config, p##_tls_min_version)}

static const struct peer_row peers[] = {
    PEER_ROW(hsa),
    PEER_ROW(lv),
    PEER_ROW(webhooks),
};
#define NPEERS (sizeof(peers) / sizeof(peers[0]))

static const char *
str_at(const struct gw_config *cfg, size_t off)
{
    const char *s = *(char *const *)((const char *)cfg + off);

    return s != NULL && s[0] != '\0' ? s : NULL;
}

gw_rc
gw_tls_client_get(const struct gw_config *cfg, const char *peer,
                  struct gw_tls_client *out, struct gw_err *err)
{
    const struct peer_row *row = GW_NAME_FIND(peers, peer);
    const char *v;

    memset(out, 0, sizeof(*out));
    if (row == NULL)
        return gw_err_set(err, GW_EINTERNAL, NULL, "no TLS peer %s", peer);
    out->peer = row->peer;
    out->cert = str_at(cfg, row->cert);
    out->key = str_at(cfg, row->key);
    out->ca = str_at(cfg, row->ca);
    out->verify_host = *(const int *)((const char *)cfg + row->verify_host);
    v = str_at(cfg, row->min_version);
    if (v != NULL && strcmp(v, "1.2") == 0)
        out->min_version = 12;
    else if (v != NULL && strcmp(v, "1.3") == 0)
        out->min_version = 13;
    else
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "%s.tls_min_version: expected 1.2 or 1.3", peer);
    if ((out->cert == NULL) != (out->key == NULL))
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "%s.tls_cert and %s.tls_key: set both or neither",
                          peer, peer);
    return GW_OK;
}

gw_rc
gw_tls_check_pair(const char *field, const char *cert, const char *key,
                  time_t *not_after, struct gw_err *err)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_datum_t d = {NULL, 0};
    gnutls_x509_crt_t *crts = NULL;
    unsigned int n = 0;
    gw_rc rc = GW_OK;
    int r;

    if (not_after != NULL)
        *not_after = 0;
    if (gnutls_load_file(cert, &d) < 0) {
        rc = gw_err_set(err, GW_ECONFIG, NULL, "%s: cannot read %s", field,
                        cert);
        goto out;
    }
    if (gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0) <
            0 ||
        n == 0) {
        rc = gw_err_set(err, GW_ECONFIG, NULL,
                        "%s: %s holds no PEM certificate", field, cert);
        goto out;
    }
    if (not_after != NULL)
        *not_after = gnutls_x509_crt_get_expiration_time(crts[0]);
    if (gnutls_certificate_allocate_credentials(&cred) < 0) {
        rc = GW_ENOMEM;
        goto out;
    }
    /* GnuTLS reads the key and checks that it belongs to the first
     * certificate, as it will when serving or calling out. */
    r = gnutls_certificate_set_x509_key_file2(cred, cert, key,
                                              GNUTLS_X509_FMT_PEM, NULL, 0);
    if (r == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
        rc = gw_err_set(err, GW_ECONFIG, NULL,
                        "%s: the key %s does not belong to the certificate",
                        field, key);
    else if (r < 0)
        rc = gw_err_set(err, GW_ECONFIG, NULL,
                        "%s: cannot use the key %s: %s", field, key,
                        gnutls_strerror(r));
out:
    for (unsigned int i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    gnutls_free(d.data);
    if (cred != NULL)
        gnutls_certificate_free_credentials(cred);
    return rc;
}

gw_rc
gw_tls_check_ca(const char *field, const char *path, struct gw_err *err)
{
    gnutls_certificate_credentials_t cred = NULL;
    gw_rc rc = GW_OK;
    int r;

    if (gnutls_certificate_allocate_credentials(&cred) < 0)
        return GW_ENOMEM;
    r = gnutls_certificate_set_x509_trust_file(cred, path,
                                               GNUTLS_X509_FMT_PEM);
    if (r <= 0)
        rc = gw_err_set(err, GW_ECONFIG, NULL,
                        "%s: %s is unreadable or holds no PEM certificate",
                        field, path);
    gnutls_certificate_free_credentials(cred);
    return rc;
}

/* --- expiry, for /metrics ------------------------------------------------ */

#define MAX_EXPIRY 16

static pthread_mutex_t expiry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char label[48];
    time_t not_after;
} expiry[MAX_EXPIRY];
static size_t nexpiry;

void
gw_tls_expiry_set(const char *label, time_t not_after)
{
    size_t i;

    pthread_mutex_lock(&expiry_mu);
    for (i = 0; i < nexpiry; i++)
        if (strcmp(expiry[i].label, label) == 0)
            break;
    if (i == nexpiry && nexpiry < MAX_EXPIRY)
        snprintf(expiry[nexpiry++].label, sizeof(expiry[0].label), "%s",
                 label);
    if (i < nexpiry)
        expiry[i].not_after = not_after;
    pthread_mutex_unlock(&expiry_mu);
}

void
gw_tls_expiry_each(void (*out)(void *ctx, const char *label, time_t not_after),
                   void *ctx)
{
    pthread_mutex_lock(&expiry_mu);
    for (size_t i = 0; i < nexpiry; i++)
        out(ctx, expiry[i].label, expiry[i].not_after);
    pthread_mutex_unlock(&expiry_mu);
}

gw_rc
gw_tls_check_config(const struct gw_config *cfg, struct gw_err *err)
{
    char field[48], label[48];
    time_t t;
    gw_rc rc;

    if (!cfg->server_plain_http) {
        if (cfg->server_tls_cert[0] == '\0' || cfg->server_tls_key[0] == '\0')
            return gw_err_set(err, GW_ECONFIG, NULL,
                              "server.tls_cert and server.tls_key are "
                              "required unless server.plain_http = true");
        rc = gw_tls_check_pair("server.tls_cert", cfg->server_tls_cert,
                               cfg->server_tls_key, &t, err);
        if (rc != GW_OK)
            return rc;
        gw_tls_expiry_set("use=\"server\"", t);
        if (cfg->server_tls_client_ca[0] == '\0')
            return gw_err_set(err, GW_ECONFIG, NULL,
                              "server.tls_client_ca is required unless "
                              "server.plain_http = true");
        rc = gw_tls_check_ca("server.tls_client_ca",
                             cfg->server_tls_client_ca, err);
        if (rc != GW_OK)
            return rc;
    }
    for (size_t i = 0; i < NPEERS; i++) {
        struct gw_tls_client c;
        rc = gw_tls_client_get(cfg, peers[i].peer, &c, err);
        if (rc != GW_OK)
            return rc;
        if (c.cert != NULL) {
            snprintf(field, sizeof(field), "%s.tls_cert", c.peer);
            rc = gw_tls_check_pair(field, c.cert, c.key, &t, err);
            if (rc != GW_OK)
                return rc;
            snprintf(label, sizeof(label), "peer=\"%s\"", c.peer);
            gw_tls_expiry_set(label, t);
        }
        if (c.ca != NULL) {
            snprintf(field, sizeof(field), "%s.tls_ca", c.peer);
            rc = gw_tls_check_ca(field, c.ca, err);
            if (rc != GW_OK)
                return rc;
        }
    }
    return GW_OK;
}
