/*
 * test_config.c - configuration: defaults, file, environment, checks, and
 * the promise that adapter/klasgw.conf.example documents every key.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/check.h"
#include "config/config.h"

static char *
write_temp(const char *text)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof(path), "/tmp/klasgw-cfg-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void
test_config_defaults_demand_tls_material(void **state)
{
    struct gw_config cfg;
    struct gw_err err;
    (void)state;
    gw_err_clear(&err);
    assert_int_equal(gw_config_init(&cfg), GW_OK);
    assert_int_equal(cfg.server_port, 8080);
    assert_false(cfg.server_plain_http);
    /* The defaults load, but cannot serve without TLS material. */
    assert_int_equal(gw_config_load(&cfg, NULL, &err), GW_OK);
    assert_int_equal(gw_config_check_serve(&cfg, &err), GW_ECONFIG);
    assert_non_null(strstr(err.detail, "plain_http"));
    cfg.server_plain_http = 1;
    assert_int_equal(gw_config_check_serve(&cfg, &err), GW_OK);
    gw_config_release(&cfg);
}

/* plain_http lets a caller name any client in X-Klasgw-Client: serving it
 * is refused unless listen is a loopback address. */
static void
test_config_plain_http_only_on_loopback(void **state)
{
    static const struct {
        const char *listen;
        gw_rc rc;
    } cases[] = {
        {"127.0.0.1", GW_OK},
        {"127.1.2.3", GW_OK},
        {"::1", GW_OK},
        {"::ffff:127.0.0.1", GW_OK},
        {"0.0.0.0", GW_ECONFIG},
        {"::", GW_ECONFIG},
        /* refused by the check before anything binds or sends */
        {"10.0.0.5", GW_ECONFIG},
        {"192.168.1.10", GW_ECONFIG},
        {"128.0.0.1", GW_ECONFIG},
        {"::ffff:10.0.0.1", GW_ECONFIG},
        {"fe80::1", GW_ECONFIG},
        {"localhost", GW_ECONFIG},
        {"", GW_ECONFIG},
    };
    struct gw_config cfg;
    struct gw_err err;
    (void)state;

    assert_int_equal(gw_config_init(&cfg), GW_OK);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *old = cfg.server_listen, *oc = cfg.server_tls_cert,
             *ok = cfg.server_tls_key;
        gw_rc rc;
        gw_err_clear(&err);
        cfg.server_listen = (char *)cases[i].listen;
        cfg.server_plain_http = 1;
        rc = gw_config_check_serve(&cfg, &err);
        if (rc != cases[i].rc)
            fail_msg("listen '%s': %s, wanted %s", cases[i].listen,
                     gw_rc_name(rc), gw_rc_name(cases[i].rc));
        if (rc != GW_OK && strstr(err.detail, "loopback") == NULL)
            fail_msg("listen '%s': the refusal does not say why: %s",
                     cases[i].listen, err.detail);
        /* With TLS (and its material) every address may serve. */
        cfg.server_plain_http = 0;
        cfg.server_tls_cert = (char *)"cert.pem";
        cfg.server_tls_key = (char *)"key.pem";
        assert_int_equal(gw_config_check_serve(&cfg, &err), GW_OK);
        cfg.server_tls_cert = oc;
        cfg.server_tls_key = ok;
        cfg.server_listen = old;
    }
    cfg.server_plain_http = 0;
    gw_config_release(&cfg);
}

static void
test_config_file_then_environment_wins(void **state)
{
    struct gw_config cfg;
    struct gw_err err;
    char *path = write_temp("[server]\nplain_http = true\nport = 9000\n"
                            "[clients]\napotek1 = pharmacy serial:SE7350000000-APO1 "
                            "7350000000016\n");
    (void)state;
    gw_err_clear(&err);
    setenv("KLASGW_SERVER_PORT", "9100", 1);
    assert_int_equal(gw_config_init(&cfg), GW_OK);
    assert_int_equal(gw_config_load(&cfg, path, &err), GW_OK);
    assert_int_equal(cfg.server_port, 9100);
    assert_true(cfg.server_plain_http);
    assert_int_equal(cfg.nclients, 1);
    assert_string_equal(cfg.clients[0].role, "pharmacy");
    assert_string_equal(cfg.clients[0].gln, "7350000000016");
    assert_string_equal(cfg.clients[0].match, "serial:SE7350000000-APO1");
    assert_string_equal(cfg.clients[0].label, "apotek1");
    unsetenv("KLASGW_SERVER_PORT");
    gw_config_release(&cfg);
    unlink(path);
}

static void
test_config_refuses_bad_values_naming_the_key(void **state)
{
    static const struct {
        const char *name, *text, *expect;
    } cases[] = {
        {"unknown key", "[server]\nplain_http = true\nprot = 1\n",
         "server.prot: unknown key"},
        {"not a number", "[server]\nplain_http = true\nport = 80a\n",
         "server.port: not a whole number"},
        {"out of range", "[server]\nplain_http = true\nport = 70000\n",
         "server.port: 70000 is outside"},
        {"bad bool", "[server]\nplain_http = maybe\n",
         "server.plain_http: expected true or false"},
        {"bad level", "[server]\nplain_http = true\n[log]\nlevel = loud\n",
         "log.level"},
        {"pharmacy without gln",
         "[server]\nplain_http = true\n[clients]\na = pharmacy serial:X\n",
         "needs its GLN"},
        {"unknown role",
         "[server]\nplain_http = true\n[clients]\na = admin serial:X\n",
         "role must be"},
        {"bad match", "[server]\nplain_http = true\n[clients]\na = ehr cn:X\n",
         "match must start"},
        {"backoff cap below base",
         "[server]\nplain_http = true\n[outbox]\nbackoff_base_ms = 5000\n"
         "backoff_cap_ms = 1000\n",
         "backoff_cap_ms"},
        {"not ini", "[server\n", "not a valid INI line"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_config cfg;
        struct gw_err err;
        char *path = write_temp(cases[i].text);
        gw_err_clear(&err);
        assert_int_equal(gw_config_init(&cfg), GW_OK);
        if (gw_config_load(&cfg, path, &err) != GW_ECONFIG ||
            strstr(err.detail, cases[i].expect) == NULL)
            fail_msg("case %s: got '%s'", cases[i].name, err.detail);
        gw_config_release(&cfg);
        unlink(path);
    }
}

/* check-config --keys states the range of every number key, and loading
 * holds each key to the range it states: one past either end is refused,
 * naming the key and the range. */
static void
test_config_keys_state_each_number_range_loading_holds(void **state)
{
    char *printed = NULL, *save = NULL, *l;
    size_t plen = 0;
    int numbers = 0;
    FILE *mem = open_memstream(&printed, &plen);
    (void)state;

    assert_non_null(mem);
    gw_config_print_keys(mem);
    fclose(mem);
    for (l = strtok_r(printed, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        char key[128], def[128], env[160], want[200], value[32];
        long min, max, past[2];
        int n = sscanf(l, " %127[a-z_.] (default \"%127[^\"]\", %ld..%ld)", key,
                       def, &min, &max);
        if (n < 2 || def[strspn(def, "0123456789")] != '\0' || def[0] == 0)
            continue; /* a help line, or not a number */
        if (n != 4)
            fail_msg("%s: a number without its range: %s", key, l);
        numbers++;
        snprintf(env, sizeof(env), "KLASGW_%s", key);
        for (char *e = env; *e; e++)
            *e = *e == '.' ? '_' : (char)toupper((unsigned char)*e);
        past[0] = min - 1;
        past[1] = max + 1;
        for (int k = 0; k < 2; k++) {
            struct gw_config cfg;
            struct gw_err err;
            gw_err_clear(&err);
            snprintf(value, sizeof(value), "%ld", past[k]);
            snprintf(want, sizeof(want), "%s: %ld is outside %ld..%ld", key,
                     past[k], min, max);
            setenv(env, value, 1);
            assert_int_equal(gw_config_init(&cfg), GW_OK);
            if (gw_config_load(&cfg, NULL, &err) != GW_ECONFIG ||
                strcmp(err.detail, want) != 0)
                fail_msg("%s=%s: got '%s', want '%s'", env, value, err.detail,
                         want);
            gw_config_release(&cfg);
            unsetenv(env);
        }
    }
    assert_true(numbers >= 30);
    free(printed);
}

/* server.threads 0 (the default) is one request thread per core, at
 * least 2, once loaded; a number given is kept. */
static void
test_config_threads_default_to_the_cores(void **state)
{
    struct gw_config cfg;
    struct gw_err err;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long want = cores < 2 ? 2 : cores > 256 ? 256 : cores;
    (void)state;

    gw_err_clear(&err);
    setenv("KLASGW_SERVER_PLAIN_HTTP", "true", 1);
    assert_int_equal(gw_config_init(&cfg), GW_OK);
    assert_int_equal(cfg.server_threads, 0);
    assert_int_equal(gw_config_load(&cfg, NULL, &err), GW_OK);
    assert_int_equal(cfg.server_threads, want);
    gw_config_release(&cfg);

    setenv("KLASGW_SERVER_THREADS", "3", 1);
    assert_int_equal(gw_config_init(&cfg), GW_OK);
    assert_int_equal(gw_config_load(&cfg, NULL, &err), GW_OK);
    assert_int_equal(cfg.server_threads, 3);
    gw_config_release(&cfg);
    unsetenv("KLASGW_SERVER_THREADS");
    unsetenv("KLASGW_SERVER_PLAIN_HTTP");
}

/* Every key of the table appears in the example with its default value,
 * except those the example deliberately changes for the demo. */
static void
test_config_example_documents_every_key_with_its_default(void **state)
{
    char path[512], *printed = NULL, line[512], section[64] = "";
    size_t plen = 0;
    FILE *mem, *f;
    struct gw_config cfg;
    (void)state;

    assert_int_equal(gw_config_init(&cfg), GW_OK);
    mem = open_memstream(&printed, &plen);
    gw_config_print(&cfg, mem); /* the defaults, as INI */
    fclose(mem);
    gw_config_release(&cfg);

    snprintf(path, sizeof(path), "%s/adapter/klasgw.conf.example",
             GW_SOURCE_DIR);
    f = fopen(path, "r");
    assert_non_null(f);
    {
        /* Collect "[section] key = value" lines of the example. */
        char *example = NULL;
        size_t elen = 0;
        FILE *em = open_memstream(&example, &elen);
        while (fgets(line, sizeof(line), f) != NULL) {
            if (line[0] == ';' || line[0] == '\n')
                continue;
            if (line[0] == '[') {
                sscanf(line, "[%63[^]]", section);
                continue;
            }
            fprintf(em, "[%s] %s", section, line);
        }
        fclose(em);
        fclose(f);

        /* Walk the printed defaults and look each key up. */
        char *save = NULL, *l;
        section[0] = '\0';
        for (l = strtok_r(printed, "\n", &save); l != NULL;
             l = strtok_r(NULL, "\n", &save)) {
            char key[128], want[512];
            if (l[0] == '#')
                continue;
            if (l[0] == '[') {
                sscanf(l, "[%63[^]]", section);
                continue;
            }
            if (strcmp(section, "clients") == 0)
                continue;
            sscanf(l, "%127s", key);
            if (strcmp(section, "server") == 0 &&
                strcmp(key, "plain_http") == 0)
                continue; /* the demo turns TLS off, and says so */
            if (strcmp(section, "webhooks") == 0) {
                /* The demo lets webhooks reach its simulator on loopback,
                 * and says so: only that the key is there. */
                snprintf(want, sizeof(want), "[%s] %s =", section, key);
                if (strstr(example, want) == NULL)
                    fail_msg("example lacks: %s", want);
                continue;
            }
            snprintf(want, sizeof(want), "[%s] %s\n", section, l);
            /* "x = " for empty defaults is written "x =" in the file. */
            size_t wl = strlen(want);
            if (wl >= 3 && want[wl - 2] == ' ' && want[wl - 3] == '=') {
                want[wl - 2] = '\n';
                want[wl - 1] = '\0';
            }
            if (strstr(example, want) == NULL)
                fail_msg("example lacks or changes: %s", want);
        }
        free(example);
    }
    free(printed);
}

/* systemd's LoadCredential= puts key files in $CREDENTIALS_DIRECTORY; a
 * path value may start with that variable, and without it loading fails
 * naming the key. */
static void
test_config_credentials_directory_prefix_names_a_credential(void **state)
{
    struct gw_config cfg;
    struct gw_err err;
    char *path = write_temp(
        "[server]\ntls_key = ${CREDENTIALS_DIRECTORY}/server.key\n"
        "tls_cert = /etc/klasgw/${CREDENTIALS_DIRECTORY}/server.pem\n"
        "[hsa]\ntls_key = ${CREDENTIALS_DIRECTORY}/hsa.key\n");
    (void)state;

    unsetenv("CREDENTIALS_DIRECTORY");
    gw_err_clear(&err);
    assert_int_equal(gw_config_init(&cfg), GW_OK);
    assert_int_equal(gw_config_load(&cfg, path, &err), GW_ECONFIG);
    assert_non_null(strstr(err.detail, "server.tls_key"));
    assert_non_null(strstr(err.detail, "CREDENTIALS_DIRECTORY"));
    gw_config_release(&cfg);

    setenv("CREDENTIALS_DIRECTORY", "/run/credentials/klasgw.service", 1);
    gw_err_clear(&err);
    assert_int_equal(gw_config_init(&cfg), GW_OK);
    assert_int_equal(gw_config_load(&cfg, path, &err), GW_OK);
    assert_string_equal(cfg.server_tls_key,
                        "/run/credentials/klasgw.service/server.key");
    assert_string_equal(cfg.hsa_tls_key,
                        "/run/credentials/klasgw.service/hsa.key");
    /* Only as the start of a value. */
    assert_string_equal(cfg.server_tls_cert,
                        "/etc/klasgw/${CREDENTIALS_DIRECTORY}/server.pem");
    gw_config_release(&cfg);
    unsetenv("CREDENTIALS_DIRECTORY");
    unlink(path);
}

/* This test runs from the build folder: with paths.data_dir empty the data
 * is the source tree's; set, it is that folder. (The installed binary's
 * default, ../share/klasgw, is e2e_test_deb_package's.) */
static void
test_config_data_path_in_the_build_folder_is_the_source_tree(void **state)
{
    struct gw_config cfg;
    char buf[1100], want[1100];
    (void)state;

    assert_int_equal(gw_config_init(&cfg), GW_OK);
    assert_int_equal(gw_config_data_path(&cfg, "xslt", buf, sizeof(buf)),
                     GW_OK);
    snprintf(want, sizeof(want), "%s/xslt", GW_SOURCE_DIR);
    assert_string_equal(buf, want);
    free(cfg.paths_data_dir);
    cfg.paths_data_dir = strdup("/srv/klasgw-data");
    assert_int_equal(gw_config_data_path(&cfg, "wsdl", buf, sizeof(buf)),
                     GW_OK);
    assert_string_equal(buf, "/srv/klasgw-data/wsdl");
    assert_int_equal(gw_config_data_path(&cfg, "wsdl", buf, 8), GW_ETOOLARGE);
    gw_config_release(&cfg);
}

/* hsa.url and lv.url as RFC 3986 allows them for http(s) with a host:
 * accepted; anything serve's clients could not call: refused. */
static void
test_config_url_check(void **state)
{
    static const struct {
        const char *name, *url;
        int ok;
    } cases[] = {
        {"http with port and path", "http://127.0.0.1:8081/hsa", 1},
        {"https host name", "https://hsa.example.se/svc/v2", 1},
        {"upper-case scheme", "HTTPS://lv.example.se", 1},
        {"IPv6 literal", "http://[::1]:8082/lv", 1},
        {"query", "https://lv.example.se/x?a=b", 1},
        {"no scheme", "not a url", 0},
        {"spaces", "http://a b/", 0},
        {"ftp", "ftp://lv.example.se/", 0},
        {"no host", "http:///lv", 0},
        {"empty host before port", "http://:8080/", 0},
        {"bad IPv4", "http://999.1.1.1/", 0},
        {"port 0", "http://lv.example.se:0/", 0},
        {"port too big", "http://lv.example.se:65536/", 0},
        {"port not a number", "http://lv.example.se:80a/", 0},
        {"empty port", "http://lv.example.se:/", 0},
        {"unclosed IPv6", "http://[::1/", 0},
        {"bad IPv6", "http://[::zz]/", 0},
        {"user info", "https://user:pw@lv.example.se/", 0},
        {"underscore host", "http://lv_x.example.se/", 0},
        {"control character", "http://lv.example.se/\x01", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = NULL;
        int ok = gw_config_url_ok(cases[i].url, &why);
        if (ok != cases[i].ok)
            fail_msg("%s: '%s' %s", cases[i].name, cases[i].url,
                     ok ? "accepted" : why);
        if (!ok)
            assert_non_null(why);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_demand_tls_material),
        cmocka_unit_test(test_config_file_then_environment_wins),
        cmocka_unit_test(test_config_refuses_bad_values_naming_the_key),
        cmocka_unit_test(test_config_keys_state_each_number_range_loading_holds),
        cmocka_unit_test(test_config_threads_default_to_the_cores),
        cmocka_unit_test(
            test_config_example_documents_every_key_with_its_default),
        cmocka_unit_test(test_config_plain_http_only_on_loopback),
        cmocka_unit_test(
            test_config_credentials_directory_prefix_names_a_credential),
        cmocka_unit_test(
            test_config_data_path_in_the_build_folder_is_the_source_tree),
        cmocka_unit_test(test_config_url_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
