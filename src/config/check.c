/*
 * check.c - the configuration checked against this machine before serve
 * touches the store (see check.h). Every problem is reported with its key
 * and reason; the checks go on after a failure, so an operator sees all
 * of them at once. Nothing here opens the store or keeps a resource.
 */
#include "config/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/tls.h"
#include "core/netaddr.h"

void
gw_check_problem(struct gw_check_report *rep, enum gw_check_level level,
                 const char *key, const char *fmt, ...)
{
    char why[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (level == GW_CHECK_FAIL)
        rep->failures++;
    else
        rep->warnings++;
    if (rep->out != NULL)
        rep->out(rep->ctx, level, key, why);
}

/* Reports err's detail; when it starts with "section.key: " (as the
 * checks of other modules write it), under that key, else under key. */
static void
problem_from_err(struct gw_check_report *rep, const char *key,
                 const struct gw_err *err)
{
    char k[48];
    const char *d = err->detail;
    size_t n = strspn(d, "abcdefghijklmnopqrstuvwxyz_.");

    if (n > 0 && n < sizeof(k) && d[n] == ':' && d[n + 1] == ' ' &&
        memchr(d, '.', n) != NULL) {
        memcpy(k, d, n);
        k[n] = '\0';
        gw_check_problem(rep, GW_CHECK_FAIL, k, "%s", d + n + 2);
    } else
        gw_check_problem(rep, GW_CHECK_FAIL, key, "%s",
                         d[0] ? d : gw_rc_message(err->rc));
}

/* --- server.listen: parse, then bind and release ------------------------ */

static void
check_listen(const struct gw_config *cfg, struct gw_check_report *rep)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, cfg->server_listen,
                  &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)cfg->server_port);
        len = sizeof(*a);
    } else if (inet_pton(AF_INET6, cfg->server_listen,
                         &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)cfg->server_port);
        len = sizeof(*a);
    } else {
        gw_check_problem(rep, GW_CHECK_FAIL, "server.listen",
                         "'%.60s' is not a numeric IPv4 or IPv6 address",
                         cfg->server_listen);
        return;
    }
    if (cfg->server_plain_http && !gw_config_is_loopback(cfg->server_listen))
        gw_check_problem(rep, GW_CHECK_FAIL, "server.listen",
                         "server.plain_http = true is only allowed on a "
                         "loopback address (127.0.0.1 or ::1), not on "
                         "'%.60s': without TLS any caller could name any "
                         "client",
                         cfg->server_listen);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        gw_check_problem(rep, GW_CHECK_FAIL, "server.listen",
                         "cannot open a socket for %s: %s", cfg->server_listen,
                         strerror(errno));
        return;
    }
    /* As the HTTP front binds (a port left in TIME_WAIT is usable). No
     * listen(): the port is held for no longer than this call. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        int e = errno;
        if (e == EADDRINUSE)
            gw_check_problem(rep, rep->serving ? GW_CHECK_FAIL : GW_CHECK_WARN,
                             "server.port", "port %ld on %s is in use%s",
                             cfg->server_port, cfg->server_listen,
                             rep->serving ? ""
                                          : " (by a running serve? serve "
                                            "would refuse to start)");
        else
            gw_check_problem(rep, GW_CHECK_FAIL, "server.listen",
                             "cannot bind %s port %ld: %s", cfg->server_listen,
                             cfg->server_port, strerror(e));
    }
    close(fd);
}

/* --- TLS files ------------------------------------------------------------ */

static void
check_expiry(struct gw_check_report *rep, const char *key, time_t not_after)
{
    char when[32];
    struct tm tm;

    if (not_after == (time_t)-1 || not_after == 0)
        return;
    gmtime_r(&not_after, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
    if (not_after <= rep->now)
        gw_check_problem(rep, GW_CHECK_FAIL, key,
                         "the certificate expired on %s", when);
    else if (not_after - rep->now < (time_t)GW_CHECK_EXPIRY_WARN_DAYS * 86400)
        gw_check_problem(rep, GW_CHECK_WARN, key,
                         "the certificate expires on %s, in %lld days: "
                         "renew it",
                         when, (long long)((not_after - rep->now) / 86400));
}

/* A certificate and its key: readable, matching, not expired. label (a
 * Prometheus label set) records the expiry for /metrics. */
static void
check_pair(struct gw_check_report *rep, const char *key, const char *cert,
           const char *keyfile, const char *label)
{
    struct gw_err err;
    time_t t = 0;

    gw_err_clear(&err);
    if (gw_tls_check_pair(key, cert, keyfile, &t, &err) != GW_OK) {
        problem_from_err(rep, key, &err);
        return;
    }
    gw_tls_expiry_set(label, t);
    check_expiry(rep, key, t);
}

static void
check_ca(struct gw_check_report *rep, const char *key, const char *path)
{
    struct gw_err err;

    gw_err_clear(&err);
    if (gw_tls_check_ca(key, path, &err) != GW_OK)
        gw_check_problem(rep, GW_CHECK_FAIL, key,
                         "%s is unreadable or holds no PEM certificate", path);
}

static void
check_crl(struct gw_check_report *rep, const char *path)
{
    gnutls_datum_t d = {NULL, 0};
    gnutls_x509_crl_t *crls = NULL;
    unsigned int n = 0;

    if (gnutls_load_file(path, &d) < 0) {
        gw_check_problem(rep, GW_CHECK_FAIL, "server.tls_crl", "cannot read %s",
                         path);
        return;
    }
    if (gnutls_x509_crl_list_import2(&crls, &n, &d, GNUTLS_X509_FMT_PEM, 0) <
            0 ||
        n == 0)
        gw_check_problem(rep, GW_CHECK_FAIL, "server.tls_crl",
                         "%s is not a PEM file of CRLs", path);
    for (unsigned int i = 0; i < n; i++)
        gnutls_x509_crl_deinit(crls[i]);
    gnutls_free(crls);
    gnutls_free(d.data);
}

static void
check_tls(const struct gw_config *cfg, struct gw_check_report *rep)
{
    static const char *const peers[] = {"hsa", "lv", "webhooks"};
    char key[48], label[48];

    if (!cfg->server_plain_http) {
        if (cfg->server_tls_cert[0] == '\0' || cfg->server_tls_key[0] == '\0')
            gw_check_problem(rep, GW_CHECK_FAIL, "server.tls_cert",
                             "server.tls_cert and server.tls_key are "
                             "required unless server.plain_http = true");
        else
            check_pair(rep, "server.tls_cert", cfg->server_tls_cert,
                       cfg->server_tls_key, "use=\"server\"");
        if (cfg->server_tls_client_ca[0] == '\0')
            gw_check_problem(rep, GW_CHECK_FAIL, "server.tls_client_ca",
                             "required unless server.plain_http = true");
        else
            check_ca(rep, "server.tls_client_ca", cfg->server_tls_client_ca);
        if (cfg->server_tls_crl[0] != '\0')
            check_crl(rep, cfg->server_tls_crl);
    }
    for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
        struct gw_tls_client c;
        struct gw_err err;
        gw_err_clear(&err);
        snprintf(key, sizeof(key), "%s.tls_cert", peers[i]);
        if (gw_tls_client_get(cfg, peers[i], &c, &err) != GW_OK) {
            problem_from_err(rep, key, &err);
            continue;
        }
        if (c.cert != NULL) {
            snprintf(label, sizeof(label), "peer=\"%s\"", c.peer);
            check_pair(rep, key, c.cert, c.key, label);
        }
        if (c.ca != NULL) {
            snprintf(key, sizeof(key), "%s.tls_ca", peers[i]);
            check_ca(rep, key, c.ca);
        }
    }
}

/* --- URLs ----------------------------------------------------------------- */

int
gw_config_url_ok(const char *url, const char **why)
{
    const char *p, *host, *end;
    size_t hlen;

    for (p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
            *why = "spaces, control or non-ASCII characters";
            return 0;
        }
    if (strncasecmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        host = url + 8;
    else {
        *why = "not an http:// or https:// URL";
        return 0;
    }
    end = host + strcspn(host, "/?#");
    if (memchr(host, '@', (size_t)(end - host)) != NULL) {
        *why = "user info (user@) in a URL is not supported";
        return 0;
    }
    if (host[0] == '[') {
        char a6[64];
        const char *close = memchr(host, ']', (size_t)(end - host));
        struct in6_addr in6;
        if (close == NULL || (size_t)(close - host - 1) >= sizeof(a6)) {
            *why = "an IPv6 address without its closing ]";
            return 0;
        }
        memcpy(a6, host + 1, (size_t)(close - host - 1));
        a6[close - host - 1] = '\0';
        if (inet_pton(AF_INET6, a6, &in6) != 1) {
            *why = "not a valid IPv6 address in [ ]";
            return 0;
        }
        p = close + 1;
    } else {
        int digits_only = 1;
        p = host;
        while (p < end && *p != ':') {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')) {
                *why = "the host has characters a host name cannot have";
                return 0;
            }
            if (!((*p >= '0' && *p <= '9') || *p == '.'))
                digits_only = 0;
            p++;
        }
        hlen = (size_t)(p - host);
        if (hlen == 0) {
            *why = "no host";
            return 0;
        }
        if (digits_only) {
            char a4[16];
            struct in_addr in4;
            if (hlen >= sizeof(a4)) {
                *why = "not a valid IPv4 address";
                return 0;
            }
            memcpy(a4, host, hlen);
            a4[hlen] = '\0';
            if (inet_pton(AF_INET, a4, &in4) != 1) {
                *why = "not a valid IPv4 address";
                return 0;
            }
        }
    }
    if (p < end) {
        long port = 0;
        if (*p != ':' || p + 1 == end) {
            *why = "not a valid port";
            return 0;
        }
        for (p++; p < end; p++) {
            if (*p < '0' || *p > '9' || port > 65535) {
                *why = "not a valid port";
                return 0;
            }
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535) {
            *why = "the port is outside 1..65535";
            return 0;
        }
    }
    return 1;
}

static void
check_url(struct gw_check_report *rep, const char *section, const char *url,
          const char *tls_cert)
{
    char key[32];
    const char *why = NULL;

    snprintf(key, sizeof(key), "%s.url", section);
    if (url[0] == '\0')
        return;
    if (!gw_config_url_ok(url, &why)) {
        gw_check_problem(rep, GW_CHECK_FAIL, key, "'%.100s': %s", url, why);
        return;
    }
    if (tls_cert[0] != '\0' && strncasecmp(url, "https://", 8) != 0)
        gw_check_problem(rep, GW_CHECK_WARN, key,
                         "%s.tls_cert is set but the URL is plain http: the "
                         "certificate is never presented",
                         section);
}

/* --- folders -------------------------------------------------------------- */

static void
check_data_dir(const struct gw_config *cfg, struct gw_check_report *rep)
{
    static const char *const need[] = {"fhir-profiles/xsd/fhir-klas.xsd",
                                       "wsdl", "xslt"};
    struct stat sb;
    char path[1100], dir[1100];

    /* The folder serve will read: paths.data_dir, or when empty the
     * default gw_config_data_path resolves (the installed data beside the
     * binary; the source tree for a build-tree binary). */
    if (gw_config_data_path(cfg, ".", dir, sizeof(dir)) != GW_OK) {
        gw_check_problem(rep, GW_CHECK_FAIL, "paths.data_dir",
                         "the path is too long");
        return;
    }
    dir[strlen(dir) - 2] = '\0'; /* drop the "/." */
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        gw_check_problem(rep, GW_CHECK_FAIL, "paths.data_dir",
                         "%s is not a folder%s", dir,
                         cfg->paths_data_dir[0]
                             ? ""
                             : " (empty data_dir: the data installed "
                               "beside the binary, or the source tree for "
                               "a build-tree binary)");
        return;
    }
    rep->data_dir_ok = 1;
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (gw_config_data_path(cfg, need[i], path, sizeof(path)) != GW_OK ||
            access(path, R_OK) != 0) {
            gw_check_problem(rep, GW_CHECK_FAIL, "paths.data_dir",
                             "%s is missing or unreadable", path);
            rep->data_dir_ok = 0;
        }
    }
}

/* The folder of path into dir[size], as dirname(1) says it. */
static void
folder_of(const char *path, char *dir, size_t size)
{
    char *slash;

    snprintf(dir, size, "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, size, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
}

/* 1 when path exists: a problem of store.path unless it is a regular file
 * serve may read and write (folder 0) or a folder it may write in. */
static int
check_store_entry(struct gw_check_report *rep, const char *path, int folder)
{
    struct stat sb;

    if (stat(path, &sb) != 0)
        return 0;
    if (folder ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode))
        gw_check_problem(rep, GW_CHECK_FAIL, "store.path", "%s is not %s", path,
                         folder ? "a folder" : "a regular file");
    else if (access(path, folder ? W_OK | X_OK : R_OK | W_OK) != 0)
        gw_check_problem(rep, GW_CHECK_FAIL, "store.path", "%s%s is not %s: %s",
                         folder ? "the folder " : "", path,
                         folder ? "writable" : "readable and writable",
                         strerror(errno));
    return 1;
}

static void
check_store_path(const struct gw_config *cfg, struct gw_check_report *rep)
{
    const char *p = cfg->store_path;
    char dir[1100], parent[1100];
    struct stat sb;

    if (strcmp(p, ":memory:") == 0)
        return;
    if (p[0] == '\0') {
        gw_check_problem(rep, GW_CHECK_FAIL, "store.path", "empty");
        return;
    }
    check_store_entry(rep, p, 0);
    /* The folder holds the database, its journal (-wal, -shm) and serve's
     * lock file: it must be writable. serve creates it (one level). */
    folder_of(p, dir, sizeof(dir));
    if (check_store_entry(rep, dir, 1))
        return;
    folder_of(dir, parent, sizeof(parent));
    if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
        access(parent, W_OK | X_OK) != 0)
        gw_check_problem(rep, GW_CHECK_FAIL, "store.path",
                         "the folder %s does not exist and cannot be "
                         "created in %s",
                         dir, parent);
}

/* --- all ------------------------------------------------------------------ */

gw_rc
gw_config_check_all(const struct gw_config *cfg, struct gw_check_report *rep)
{
    struct gw_net_policy policy;
    struct gw_err err;
    int before = rep->failures;

    if (rep->now == 0)
        rep->now = time(NULL);
    check_listen(cfg, rep);
    check_tls(cfg, rep);
    check_url(rep, "hsa", cfg->hsa_url, cfg->hsa_tls_cert);
    check_url(rep, "lv", cfg->lv_url, cfg->lv_tls_cert);
    if (cfg->hsa_url[0] == '\0')
        gw_check_problem(rep, GW_CHECK_WARN, "hsa.url",
                         "empty: prescribers are NOT checked in HSA (tests "
                         "only)");
    if (cfg->lv_url[0] == '\0')
        gw_check_problem(rep, GW_CHECK_WARN, "lv.url",
                         "empty: items for LV wait in the outbox");
    gw_err_clear(&err);
    if (gw_net_policy_init(&policy, cfg->webhooks_allowed_hosts,
                           cfg->webhooks_allow_private,
                           cfg->webhooks_allow_http, &err) != GW_OK)
        problem_from_err(rep, "webhooks.allowed_hosts", &err);
    gw_net_policy_release(&policy);
    {
        struct gw_net_range *proxies = NULL;
        size_t nproxies = 0;
        gw_err_clear(&err);
        if (gw_net_ranges_parse("server.trusted_proxies",
                                cfg->server_trusted_proxies, 64, &proxies,
                                &nproxies, &err) != GW_OK)
            problem_from_err(rep, "server.trusted_proxies", &err);
        free(proxies);
    }
    /* Every server.trusted_platforms label names a [clients] line. */
    for (const char *s = cfg->server_trusted_platforms; *s != '\0';) {
        size_t len, i;
        s += strspn(s, " \t,");
        len = strcspn(s, " \t,");
        for (i = 0; len > 0 && i < cfg->nclients; i++)
            if (strlen(cfg->clients[i].label) == len &&
                strncmp(cfg->clients[i].label, s, len) == 0)
                break;
        if (len > 0 && i == cfg->nclients)
            gw_check_problem(rep, GW_CHECK_FAIL, "server.trusted_platforms",
                             "'%.*s' is no [clients] label", (int)(len > 60 ? 60 : len), s);
        s += len;
    }
    if (cfg->nclients == 0)
        gw_check_problem(rep, GW_CHECK_FAIL, "clients",
                         "no client: at least one line `<label> = <role> "
                         "<match>` in [clients] is needed, or no one may "
                         "call");
    check_data_dir(cfg, rep);
    check_store_path(cfg, rep);
    return rep->failures > before ? GW_ECONFIG : GW_OK;
}
