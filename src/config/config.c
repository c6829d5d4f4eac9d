/*
 * config.c - INI file + environment into a read-only struct gw_config.
 *
 * Reading order: defaults from the table, then the file (inih), then
 * KLASGW_<SECTION>_<KEY> variables, then range checks. Unknown keys in the
 * file are errors (a typo must not silently fall back to a default). This
 * module knows nothing of what the keys mean beyond their ranges.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct key {
    const char *section, *name, *def, *help; /* def NULL: "" */
    enum gw_config_type type;
    long min, max; /* INT: the range check() holds the value to */
    size_t offset;
};

static const struct key keys[] = {
#define GW_CFG_ROW(sec, key, type, min, max, def, help)                       \
    {#sec, #key, def, help, GW_CFG_##type, (min), (max),                       \
     offsetof(struct gw_config, sec##_##key)},
    GW_CONFIG_KEYS(GW_CFG_ROW)
#undef GW_CFG_ROW
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static gw_rc
set_value(struct gw_config *cfg, const struct key *k, const char *value,
          struct gw_err *err)
{
    char *p = (char *)cfg + k->offset;
    char *end;
    long v;

    switch (k->type) {
    case GW_CFG_STR: {
        char *s = strdup(value);
        if (s == NULL)
            return GW_ENOMEM;
        free(*(char **)p);
        *(char **)p = s;
        return GW_OK;
    }
    case GW_CFG_INT:
        errno = 0;
        v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0')
            return gw_err_set(err, GW_ECONFIG, NULL,
                              "%s.%s: not a whole number", k->section, k->name);
        *(long *)p = v;
        return GW_OK;
    case GW_CFG_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
            strcmp(value, "1") == 0)
            *(int *)p = 1;
        else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
                 strcmp(value, "0") == 0)
            *(int *)p = 0;
        else
            return gw_err_set(err, GW_ECONFIG, NULL,
                              "%s.%s: expected true or false", k->section,
                              k->name);
        return GW_OK;
    }
    return GW_EINTERNAL;
}

gw_rc
gw_config_init(struct gw_config *cfg)
{
    gw_rc rc = GW_OK;

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NKEYS && rc == GW_OK; i++)
        rc = set_value(cfg, &keys[i], keys[i].def ? keys[i].def : "", NULL);
    if (rc == GW_OK && (cfg->source = strdup("(defaults)")) == NULL)
        rc = GW_ENOMEM;
    return rc;
}

void
gw_config_release(struct gw_config *cfg)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type == GW_CFG_STR) {
            char **p = (char **)((char *)cfg + keys[i].offset);
            free(*p);
            *p = NULL;
        }
    for (size_t i = 0; i < cfg->nclients; i++) {
        free(cfg->clients[i].label);
        free(cfg->clients[i].match);
        free(cfg->clients[i].role);
        free(cfg->clients[i].gln);
    }
    free(cfg->clients);
    free(cfg->source);
    memset(cfg, 0, sizeof(*cfg));
}

static gw_rc
add_client(struct gw_config *cfg, const char *label, const char *value,
           struct gw_err *err)
{
    struct gw_config_client *c, *grown;
    char role[32] = "", match[256] = "", gln[32] = "";
    int n = sscanf(value, "%31s %255s %31s", role, match, gln);

    if (n < 2)
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "clients.%s: expected '<role> <match> [<GLN>]'",
                          label);
    if (strcmp(role, "ehr") != 0 && strcmp(role, "pharmacy") != 0 &&
        strcmp(role, "lv") != 0 && strcmp(role, "operator") != 0)
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "clients.%s: role must be ehr, pharmacy, lv or "
                          "operator", label);
    if (strncmp(match, "serial:", 7) != 0 && strncmp(match, "sha256:", 7) != 0)
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "clients.%s: match must start with serial: or "
                          "sha256:", label);
    if (strcmp(role, "pharmacy") == 0 && n < 3)
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "clients.%s: a pharmacy needs its GLN", label);
    grown = realloc(cfg->clients, (cfg->nclients + 1) * sizeof(*grown));
    if (grown == NULL)
        return GW_ENOMEM;
    cfg->clients = grown;
    c = &cfg->clients[cfg->nclients];
    memset(c, 0, sizeof(*c));
    cfg->nclients++;
    c->label = strdup(label);
    c->match = strdup(match);
    c->role = strdup(role);
    c->gln = n >= 3 ? strdup(gln) : NULL;
    if (c->label == NULL || c->match == NULL || c->role == NULL ||
        (n >= 3 && c->gln == NULL))
        return GW_ENOMEM;
    return GW_OK;
}

struct parse_ctx {
    struct gw_config *cfg;
    struct gw_err *err;
    gw_rc rc;
};

static int
on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *ctx = user;

    if (ctx->rc != GW_OK)
        return 0;
    if (strcmp(section, "clients") == 0) {
        ctx->rc = add_client(ctx->cfg, name, value, ctx->err);
        return ctx->rc == GW_OK;
    }
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 &&
            strcmp(keys[i].name, name) == 0) {
            ctx->rc = set_value(ctx->cfg, &keys[i], value, ctx->err);
            return ctx->rc == GW_OK;
        }
    ctx->rc = gw_err_set(ctx->err, GW_ECONFIG, NULL, "%s.%s: unknown key",
                         section, name);
    return 0;
}

static gw_rc
check(const struct gw_config *cfg, struct gw_err *err)
{
    const char *lv = cfg->log_level;

    for (size_t i = 0; i < NKEYS; i++) {
        long v;
        if (keys[i].type != GW_CFG_INT)
            continue;
        v = *(const long *)((const char *)cfg + keys[i].offset);
        if (v < keys[i].min || v > keys[i].max)
            return gw_err_set(err, GW_ECONFIG, NULL,
                              "%s.%s: %ld is outside %ld..%ld",
                              keys[i].section, keys[i].name, v, keys[i].min,
                              keys[i].max);
    }
    if (strcmp(lv, "debug") && strcmp(lv, "info") && strcmp(lv, "warn") &&
        strcmp(lv, "error") && strcmp(lv, "off"))
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "log.level: expected debug, info, warn, error or "
                          "off");
    if (strcmp(cfg->store_backend, "sqlite") != 0 &&
        strcmp(cfg->store_backend, "postgresql") != 0)
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "store.backend: expected sqlite or postgresql");
    /* Whether libpq can parse it is the store's to say (check-config and
     * opening the store ask it). */
    if (strcmp(cfg->store_backend, "postgresql") == 0 &&
        cfg->store_dsn[0] == '\0')
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "store.dsn: empty, but store.backend is "
                          "postgresql");
    if (cfg->outbox_backoff_cap_ms < cfg->outbox_backoff_base_ms)
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "outbox.backoff_cap_ms is below "
                          "outbox.backoff_base_ms");
    return GW_OK;
}

/* A value that starts with "${CREDENTIALS_DIRECTORY}/" names a file in
 * the folder where systemd puts the unit's credentials (LoadCredential=):
 * the prefix becomes that folder. Anywhere else in a value it is text. */
#define CREDENTIALS_PREFIX "${CREDENTIALS_DIRECTORY}/"

static gw_rc
expand_credentials(struct gw_config *cfg, struct gw_err *err)
{
    const size_t plen = strlen(CREDENTIALS_PREFIX);
    const char *dir = getenv("CREDENTIALS_DIRECTORY");

    for (size_t i = 0; i < NKEYS; i++) {
        char **p = (char **)((char *)cfg + keys[i].offset);
        char *s;
        size_t n;
        if (keys[i].type != GW_CFG_STR ||
            strncmp(*p, CREDENTIALS_PREFIX, plen) != 0)
            continue;
        if (dir == NULL || dir[0] != '/')
            return gw_err_set(err, GW_ECONFIG, NULL,
                              "%s.%s: ${CREDENTIALS_DIRECTORY} is not set "
                              "(systemd sets it for a unit with "
                              "LoadCredential=); give a plain path instead",
                              keys[i].section, keys[i].name);
        n = strlen(dir) + 1 + strlen(*p + plen) + 1;
        if ((s = malloc(n)) == NULL)
            return GW_ENOMEM;
        snprintf(s, n, "%s/%s", dir, *p + plen);
        free(*p);
        *p = s;
    }
    return GW_OK;
}

/* Keys whose 0 means "as this machine has". server.threads: one request
 * thread per core, at least 2. A submission or a read waiting for its
 * commit is suspended and holds no thread, so more threads than cores
 * only take turns on the cores (the tail at half the peak grew with
 * them, tests/bench/bench_http.sh); a cache miss's HSA call is what
 * still holds one. */
static void
machine_defaults(struct gw_config *cfg)
{
    if (cfg->server_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->server_threads = n < 2 ? 2 : n > 256 ? 256 : n;
    }
}

gw_rc
gw_config_load(struct gw_config *cfg, const char *path, struct gw_err *err)
{
    struct parse_ctx ctx = {cfg, err, GW_OK};
    char env[128];
    gw_rc rc;

    if (path != NULL) {
        FILE *f = fopen(path, "r");
        int line;
        if (f == NULL)
            return gw_err_set(err, GW_ECONFIG, NULL, "%s: cannot open: %s",
                              path, strerror(errno));
        line = ini_parse_file(f, on_entry, &ctx);
        fclose(f);
        if (ctx.rc != GW_OK)
            return ctx.rc;
        if (line != 0)
            return gw_err_set(err, GW_ECONFIG, NULL,
                              "%s:%d: not a valid INI line", path, line);
        free(cfg->source);
        if ((cfg->source = strdup(path)) == NULL)
            return GW_ENOMEM;
    }
    for (size_t i = 0; i < NKEYS; i++) {
        const char *v;
        size_t n = (size_t)snprintf(env, sizeof(env), "KLASGW_%s_%s",
                                    keys[i].section, keys[i].name);
        for (size_t j = 0; j < n && j < sizeof(env); j++)
            env[j] = (char)toupper((unsigned char)env[j]);
        v = getenv(env);
        if (v != NULL) {
            rc = set_value(cfg, &keys[i], v, err);
            if (rc != GW_OK)
                return rc;
        }
    }
    rc = expand_credentials(cfg, err);
    if (rc != GW_OK)
        return rc;
    machine_defaults(cfg);
    return check(cfg, err);
}

void
gw_config_print(const struct gw_config *cfg, FILE *out)
{
    const char *section = "";

    fprintf(out, "# effective configuration, from %s and the environment\n",
            cfg->source);
    for (size_t i = 0; i < NKEYS; i++) {
        const char *p = (const char *)cfg + keys[i].offset;
        if (strcmp(section, keys[i].section) != 0) {
            section = keys[i].section;
            fprintf(out, "\n[%s]\n", section);
        }
        switch (keys[i].type) {
        case GW_CFG_STR:
            fprintf(out, "%s = %s\n", keys[i].name, *(char *const *)p);
            break;
        case GW_CFG_INT:
            fprintf(out, "%s = %ld\n", keys[i].name, *(const long *)p);
            break;
        case GW_CFG_BOOL:
            fprintf(out, "%s = %s\n", keys[i].name,
                    *(const int *)p ? "true" : "false");
            break;
        }
    }
    fprintf(out, "\n[clients]\n");
    for (size_t i = 0; i < cfg->nclients; i++)
        fprintf(out, "%s = %s %s%s%s\n", cfg->clients[i].label,
                cfg->clients[i].role, cfg->clients[i].match,
                cfg->clients[i].gln ? " " : "",
                cfg->clients[i].gln ? cfg->clients[i].gln : "");
}

void
gw_config_print_keys(FILE *out)
{
    for (size_t i = 0; i < NKEYS; i++) {
        fprintf(out, "  %s.%s (default \"%s\"", keys[i].section, keys[i].name,
                keys[i].def ? keys[i].def : "");
        if (keys[i].type == GW_CFG_INT)
            fprintf(out, ", %ld..%ld", keys[i].min, keys[i].max);
        fprintf(out, ")\n      %s\n", keys[i].help);
    }
}

/*
 * The data folder when paths.data_dir is empty. An installed binary finds
 * its data where `cmake --install` put it beside the binary: GW_DATA_FROM_BIN
 * (the path from bindir to datadir/klasgw, "../share/klasgw") relative to
 * the executable's own folder, so a package unpacked into another root
 * (DESTDIR, dpkg -x) finds its own copy. A binary run from the build folder
 * it was built in (make run, the tests) reads the source tree instead, so
 * an edited stylesheet needs no install. Without /proc: the compiled-in
 * install path.
 */
static gw_rc
default_data_dir(char *buf, size_t size)
{
    static const char build[] = GW_BUILD_DIR;
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;
    int m;

    if (n <= 0 || (size_t)n >= sizeof(exe) - 1) {
        m = snprintf(buf, size, "%s", GW_DATA_DIR);
        return (m < 0 || (size_t)m >= size) ? GW_ETOOLARGE : GW_OK;
    }
    exe[n] = '\0';
    if (strncmp(exe, build, sizeof(build) - 1) == 0 &&
        exe[sizeof(build) - 1] == '/')
        m = snprintf(buf, size, "%s", GW_SOURCE_DIR);
    else {
        /* The binary's folder, then up one for each leading "../", so
         * that logs and errors name /usr/share/klasgw, not
         * /usr/bin/../share/klasgw. */
        const char *rel = GW_DATA_FROM_BIN;
        slash = strrchr(exe, '/');
        if (slash != NULL)
            *slash = '\0';
        while (strncmp(rel, "../", 3) == 0 &&
               (slash = strrchr(exe, '/')) != NULL && slash != exe) {
            *slash = '\0';
            rel += 3;
        }
        m = snprintf(buf, size, "%s/%s", exe, rel);
    }
    return (m < 0 || (size_t)m >= size) ? GW_ETOOLARGE : GW_OK;
}

gw_rc
gw_config_data_path(const struct gw_config *cfg, const char *rel, char *buf,
                    size_t size)
{
    char dir[1024];
    int n;

    if (cfg->paths_data_dir[0])
        n = snprintf(buf, size, "%s/%s", cfg->paths_data_dir, rel);
    else if (default_data_dir(dir, sizeof(dir)) != GW_OK)
        return GW_ETOOLARGE;
    else
        n = snprintf(buf, size, "%s/%s", dir, rel);
    return (n < 0 || (size_t)n >= size) ? GW_ETOOLARGE : GW_OK;
}

/* Whether a listen address reaches this host only: 127.0.0.0/8, ::1,
 * or an IPv4-mapped loopback. "localhost" is not taken: the server binds
 * numeric addresses only. */
int
gw_config_is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (addr == NULL)
        return 0;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return 0;
}

gw_rc
gw_config_check_serve(const struct gw_config *cfg, struct gw_err *err)
{
    if (!cfg->server_plain_http &&
        (cfg->server_tls_cert[0] == '\0' || cfg->server_tls_key[0] == '\0'))
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "server.tls_cert and server.tls_key are required "
                          "unless server.plain_http = true");
    if (cfg->server_plain_http && !gw_config_is_loopback(cfg->server_listen))
        return gw_err_set(
            err, GW_ECONFIG, "server.listen",
            "server.plain_http = true is only allowed on a "
            "loopback address (127.0.0.1 or ::1), not on '%.60s': "
            "without TLS any caller could name any client",
            cfg->server_listen);
    return GW_OK;
}
