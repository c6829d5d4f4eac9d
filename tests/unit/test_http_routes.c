/*
 * test_http_routes.c - the route table of the HTTP front (http/route.c):
 * every interaction and operation the CapabilityStatement (built from the
 * table, as GET /fhir/metadata serves it) advertises is served by a row that says so, and every
 * row that claims a CapabilityStatement entry is advertised; paths built
 * from the CapabilityStatement match the row they should, once, with their
 * captures; a known path with another method is 405, not 404. Also the
 * media types a request names (http/response.c).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/names.h"
#include "fhir/fhir.h"
#include "http/response.h"
#include "http/route.h"
#include "http/server.h"
#include "pipeline/pipeline.h"
#include "text_fixture.h"

/* The fhir-profiles folder of the source tree. */
static const char *
profiles_dir(void)
{
    static char dir[1024];
    const char *src = getenv("GW_SOURCE_DIR");

    snprintf(dir, sizeof(dir), "%s/fhir-profiles", src ? src : ".");
    return dir;
}

/* The OperationDefinitions, loaded as serve loads them at start. */
static int
load_operations(void **state)
{
    struct gw_err err;

    (void)state;
    gw_fhir_init();
    gw_err_clear(&err);
    /* A failure is the tests' to name (a route without its file:
     * test_routes_publish_every_own_operation), not the group's. */
    if (gw_conformance_load(profiles_dir(), &err) != GW_OK)
        printf("# not loaded: %s\n", err.detail);
    return 0;
}

static int
unload_operations(void **state)
{
    (void)state;
    gw_conformance_unload();
    return 0;
}

/* The CapabilityStatement as served: built from the route table. */
static json_t *
capability(void)
{
    struct gw_fhir_doc *doc = NULL;
    char *text = NULL;
    size_t len = 0;
    json_error_t je;
    json_t *cs;

    assert_int_equal(gw_http_capability(&doc), GW_OK);
    assert_int_equal(gw_fhir_to_json(doc, &text, &len), GW_OK);
    gw_fhir_doc_free(doc);
    cs = json_loadb(text, len, 0, &je);
    free(text);
    if (cs == NULL)
        fail_msg("CapabilityStatement: %s", je.text);
    return cs;
}

static void
match(struct gw_req *r, const char *method, const char *url)
{
    memset(r, 0, sizeof(*r));
    r->method = method;
    r->url = url;
    gw_route_match(r, method, url);
    assert_non_null(r->def);
}

/* The row a path built from the CapabilityStatement lands on claims that
 * entry: (type or "*", interaction). */
static void
test_routes_serve_every_advertised_interaction(void **state)
{
    json_t *cs = capability(), *res, *it;
    size_t i, j;
    struct gw_req r;
    char url[200];

    (void)state;
    json_array_foreach(
        json_object_get(json_array_get(json_object_get(cs, "rest"), 0),
                        "resource"),
        i, res)
    {
        const char *type = json_string_value(json_object_get(res, "type"));
        json_array_foreach(json_object_get(res, "interaction"), j, it)
        {
            const char *code = json_string_value(json_object_get(it, "code"));
            const char *method = "GET";
            if (strcmp(code, "read") == 0)
                snprintf(url, sizeof(url), "/fhir/%s/2026000042", type);
            else if (strcmp(code, "vread") == 0)
                snprintf(url, sizeof(url), "/fhir/%s/2026000042/_history/3",
                         type);
            else if (strcmp(code, "history-instance") == 0)
                snprintf(url, sizeof(url), "/fhir/%s/2026000042/_history",
                         type);
            else if (strcmp(code, "search-type") == 0)
                snprintf(url, sizeof(url), "/fhir/%s", type);
            else if (strcmp(code, "create") == 0) {
                snprintf(url, sizeof(url), "/fhir/%s", type);
                method = "POST";
            } else if (strcmp(code, "delete") == 0) {
                snprintf(url, sizeof(url), "/fhir/%s/sub-1", type);
                method = "DELETE";
            } else
                fail_msg("%s %s: an interaction this test does not know", type,
                         code);
            match(&r, method, url);
            if (!r.method_ok || r.def->fhir == NULL)
                fail_msg("%s %s (%s %s): not served", type, code, method, url);
            if (r.def->cap_code == NULL || strcmp(r.def->cap_code, code) != 0 ||
                (strcmp(r.def->cap_type, "*") != 0 &&
                 strcmp(r.def->cap_type, type) != 0))
                fail_msg("%s %s: served by %s, which does not claim it", type,
                         code, r.def->pattern);
            if (strstr(code, "read") != NULL &&
                strcmp(r.args.id,
                       strcmp(code, "delete") ? "2026000042" : "sub-1") != 0)
                fail_msg("%s %s: captured id '%s'", type, code, r.args.id);
        }
    }
    json_decref(cs);
}

static int
has_op(json_t *ops, const char *name)
{
    json_t *x;
    size_t i;

    json_array_foreach(ops, i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "name")), name) == 0)
            return 1;
    }
    return 0;
}

static int
advertised(json_t *cs, const char *type, const char *code)
{
    json_t *rest = json_array_get(json_object_get(cs, "rest"), 0), *x, *it;
    size_t i, j;

    if (code[0] == '$') {
        if (has_op(json_object_get(rest, "operation"), code + 1))
            return 1;
        json_array_foreach(json_object_get(rest, "resource"), i, x)
        {
            if (has_op(json_object_get(x, "operation"), code + 1))
                return 1;
        }
        return 0;
    }
    json_array_foreach(json_object_get(rest, "resource"), i, x)
    {
        const char *t = json_string_value(json_object_get(x, "type"));
        if (strcmp(type, "*") != 0 && strcmp(type, t) != 0)
            continue;
        json_array_foreach(json_object_get(x, "interaction"), j, it)
        {
            if (strcmp(json_string_value(json_object_get(it, "code")), code) ==
                0)
                return 1;
        }
    }
    return 0;
}

static void
test_routes_claim_only_advertised_entries(void **state)
{
    json_t *cs = capability(), *op;
    size_t n, i;
    const struct gw_route_def *t = gw_route_table(&n);

    (void)state;
    for (i = 0; i < n; i++)
        if (t[i].cap_code != NULL &&
            !advertised(cs, t[i].cap_type ? t[i].cap_type : "*", t[i].cap_code))
            fail_msg("%s claims %s %s, which the CapabilityStatement does "
                     "not list",
                     t[i].pattern, t[i].cap_type ? t[i].cap_type : "",
                     t[i].cap_code);
    /* Every advertised operation has its row. */
    json_array_foreach(
        json_object_get(json_array_get(json_object_get(cs, "rest"), 0),
                        "operation"),
        i, op)
    {
        const char *name = json_string_value(json_object_get(op, "name"));
        size_t k;
        for (k = 0; k < n; k++)
            if (t[k].cap_code && t[k].cap_code[0] == '$' &&
                strcmp(t[k].cap_code + 1, name) == 0)
                break;
        if (k == n)
            fail_msg("operation %s is advertised but no route claims it", name);
    }
    json_decref(cs);
}

struct path_case {
    const char *name, *method, *url;
    enum gw_route route;
    int method_ok, served; /* served: an action (not a 404 row) */
    const char *id;
    long vid;
};

static const struct path_case paths[] = {
    {"process", "POST", "/fhir/$process-message", GW_ROUTE_PROCESS, 1, 1, "",
     0},
    {"process by GET", "GET", "/fhir/$process-message", GW_ROUTE_PROCESS, 0, 1,
     "", 0},
    {"put a case", "PUT", "/fhir/Task/2026000042", GW_ROUTE_TASK_READ, 0, 1, "",
     0},
    {"head a case", "HEAD", "/fhir/Task/2026000042", GW_ROUTE_TASK_READ, 1, 1,
     "2026000042", 0},
    {"version", "GET", "/fhir/Task/2026000042/_history/7",
     GW_ROUTE_TASK_HISTORY, 1, 1, "2026000042", 7},
    {"version 0", "GET", "/fhir/Task/2026000042/_history/0",
     GW_ROUTE_TASK_HISTORY, 1, 0, "", 0},
    {"print", "GET", "/fhir/Task/2026000042/$print", GW_ROUTE_CASE_OPERATION, 1,
     1, "2026000042", 0},
    {"print a name", "GET", "/fhir/Task/abc/$print", GW_ROUTE_CASE_OPERATION, 1,
     0, "", 0},
    {"unknown operation", "GET", "/fhir/Task/2026000042/$fly",
     GW_ROUTE_CASE_OPERATION, 1, 0, "", 0},
    {"task trailing slash", "GET", "/fhir/Task/", GW_ROUTE_TASK_READ, 1, 0, "",
     0},
    {"id too long", "GET",
     "/fhir/Patient/0123456789012345678901234567890123456789012345678",
     GW_ROUTE_RESOURCE_READ, 1, 0, "", 0},
    {"patient", "GET", "/fhir/Patient/p-1.2", GW_ROUTE_RESOURCE_READ, 1, 1,
     "p-1.2", 0},
    {"subscription list", "GET", "/fhir/Subscription", GW_ROUTE_SUBSCRIPTION, 1,
     0, "", 0},
    {"put subscription", "PUT", "/fhir/Subscription/sub-1",
     GW_ROUTE_SUBSCRIPTION, 0, 1, "", 0},
    {"metadata", "GET", "/fhir/metadata", GW_ROUTE_METADATA, 1, 1, "", 0},
    {"no type", "GET", "/fhir/nothing", GW_ROUTE_OTHER, 1, 0, "", 0},
    {"outside fhir", "GET", "/index.html", GW_ROUTE_OTHER, 1, 0, "", 0},
    {"soap", "POST", "/soap/SubmitLicenseMotivation", GW_ROUTE_SOAP, 1, 0, "",
     0},
    {"health", "POST", "/healthz/ready", GW_ROUTE_HEALTH, 1, 0, "", 0},
    {"metrics", "GET", "/metrics", GW_ROUTE_METRICS, 1, 0, "", 0},
    {"console", "GET", "/console/", GW_ROUTE_CONSOLE, 1, 0, "", 0},
    {"console retry", "POST", "/console/outbox/12/retry", GW_ROUTE_CONSOLE, 1,
     0, "", 0},
    {"console retry by GET", "GET", "/console/outbox/12/retry",
     GW_ROUTE_CONSOLE, 0, 0, "", 0},
    {"console retry of a name", "POST", "/console/outbox/x/retry",
     GW_ROUTE_CONSOLE, 1, 0, "", 0},
    {"console unknown page", "GET", "/console/nothing", GW_ROUTE_CONSOLE, 1, 0,
     "", 0},
};

static void
test_routes_match_once_with_captures(void **state)
{
    struct gw_req r;

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const struct path_case *p = &paths[i];
        int served;
        match(&r, p->method, p->url);
        served = r.def->fhir != NULL;
        if (r.route != p->route || r.method_ok != p->method_ok)
            fail_msg("%s: route %s method_ok %d, expected %s %d", p->name,
                     gw_route_label(r.route), r.method_ok,
                     gw_route_label(p->route), p->method_ok);
        if (r.def->serve == gw_fhir_api && served != p->served)
            fail_msg("%s: served %d, expected %d", p->name, served, p->served);
        if (p->method_ok && served && strcmp(r.args.id, p->id) != 0)
            fail_msg("%s: id '%s', expected '%s'", p->name, r.args.id, p->id);
        if (r.args.vid != p->vid && p->served)
            fail_msg("%s: version %ld, expected %ld", p->name, r.args.vid,
                     p->vid);
    }
}

/* Every metrics label is a row's, so none is dead in /metrics. */
static void
test_routes_use_every_label(void **state)
{
    size_t n;
    const struct gw_route_def *t = gw_route_table(&n);

    (void)state;
    for (int l = 0; l < GW_ROUTE_N; l++) {
        size_t k;
        for (k = 0; k < n && t[k].route != (enum gw_route)l; k++)
            ;
        if (k == n)
            fail_msg("label %s has no route", gw_route_label((enum gw_route)l));
    }
}

/* The console is HTML for operators, not FHIR: its rows have their own
 * front and claim no CapabilityStatement entry. */
static void
test_routes_console_is_not_fhir(void **state)
{
    size_t n, seen = 0;
    const struct gw_route_def *t = gw_route_table(&n);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(t[i].pattern, "/console", 8) != 0)
            continue;
        seen++;
        if (t[i].route != GW_ROUTE_CONSOLE || t[i].serve != gw_http_console ||
            t[i].fhir != NULL || t[i].cap_code != NULL || t[i].cap_type != NULL)
            fail_msg("%s: not a plain console row", t[i].pattern);
    }
    assert_true(seen > 0);
}

/* The resource type an instance operation's route is served on
 * ("/fhir/Subscription/{id}/$status": Subscription), or "" for one served
 * at the system or type level. */
static void
served_on(const char *pattern, char *type, size_t size)
{
    const char *t = pattern + strlen("/fhir/"), *slash = strchr(t, '/');

    type[0] = '\0';
    if (strncmp(pattern, "/fhir/", 6) == 0 && slash != NULL &&
        slash[1] == '{' && (size_t)(slash - t) < size) {
        memcpy(type, t, (size_t)(slash - t));
        type[slash - t] = '\0';
    }
}

/* OperationDefinition-{code}.json of fhir-profiles, read by jansson (not
 * by the gateway's reader), or NULL when there is none. */
static json_t *
op_file(const char *code, char *path, size_t size)
{
    snprintf(path, size, "%s/OperationDefinition-%s.json", profiles_dir(),
             code);
    return json_load_file(path, 0, NULL);
}

static const char *
str_of(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL ? v : "";
}

/* Every operation of our own that a row declares (derived from the route
 * table, not from the files) has its file in fhir-profiles/, saying what
 * the row implies: code, url, the type it is served on, system / type /
 * instance, affectsState (a POST changes state); the gateway serves the
 * file as it is written. */
static void
test_routes_publish_every_own_operation(void **state)
{
    size_t n;
    const struct gw_route_def *t = gw_route_table(&n);
    size_t own = 0;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        const char *code = t[i].cap_code;
        char path[1200], url[200], type[40];
        json_t *od;
        int instance, post;
        if (code == NULL || code[0] != '$' ||
            gw_conformance_op_canonical(code) != NULL)
            continue;
        own++;
        od = op_file(code + 1, path, sizeof(path));
        if (od == NULL)
            fail_msg("%s %s: no %s", t[i].method, t[i].pattern, path);
        served_on(t[i].pattern, type, sizeof(type));
        instance = type[0] != '\0';
        post = strcmp(t[i].method, "POST") == 0;
        snprintf(url, sizeof(url),
                 "http://klasgw.org/fhir/OperationDefinition/%s", code + 1);
        if (strcmp(str_of(od, "resourceType"), "OperationDefinition") != 0 ||
            strcmp(str_of(od, "id"), code + 1) != 0 ||
            strcmp(str_of(od, "code"), code + 1) != 0 ||
            strcmp(str_of(od, "url"), url) != 0)
            fail_msg("%s: not the OperationDefinition of %s", path, code);
        if (json_is_true(json_object_get(od, "instance")) != instance ||
            json_is_true(json_object_get(od, "system")) != !instance ||
            !json_is_false(json_object_get(od, "type")))
            fail_msg("%s: system/type/instance, but %s is served at %s", path,
                     code, t[i].pattern);
        if (instance ? json_array_size(json_object_get(od, "resource")) != 1 ||
                           strcmp(json_string_value(json_array_get(
                                      json_object_get(od, "resource"), 0)),
                                  type) != 0
                     : json_object_get(od, "resource") != NULL)
            fail_msg("%s: resource, but %s is served at %s", path, code,
                     t[i].pattern);
        if (json_is_true(json_object_get(od, "affectsState")) != post)
            fail_msg("%s: affectsState, but %s is a %s", path, code,
                     t[i].method);
        json_decref(od);
    }
    /* Served as written: the same canonical JSON. */
    for (size_t i = 0; i < n; i++) {
        struct gw_fhir_doc *doc = NULL, *file = NULL;
        const char *code = t[i].cap_code;
        char path[1200], *served = NULL, *want = NULL;
        size_t len = 0, wlen = 0;
        struct gw_err err;
        if (code == NULL || code[0] != '$' ||
            gw_conformance_op_canonical(code) != NULL)
            continue;
        snprintf(path, sizeof(path), "%s/OperationDefinition-%s.json",
                 profiles_dir(), code + 1);
        want = text_slurp_path(path, &wlen);
        gw_err_clear(&err);
        assert_int_equal(gw_fhir_parse_published(want, wlen, NULL, &file, &err),
                         GW_OK);
        free(want);
        assert_int_equal(gw_fhir_to_json(file, &want, &wlen), GW_OK);
        gw_fhir_doc_free(file);
        assert_int_equal(gw_conformance_read("OperationDefinition", code + 1,
                                             &doc),
                         GW_OK);
        assert_int_equal(gw_fhir_to_json(doc, &served, &len), GW_OK);
        gw_fhir_doc_free(doc);
        if (len != wlen || memcmp(served, want, len) != 0)
            fail_msg("%s: served otherwise than written", path);
        free(served);
        free(want);
    }
    assert_int_equal(gw_conformance_count("OperationDefinition"), own);
    assert_true(own >= 5);
}

/* No OperationDefinition file names an operation the routes do not
 * serve as one of our own. */
static void
test_routes_serve_every_operation_file(void **state)
{
    DIR *d = opendir(profiles_dir());
    struct dirent *e;
    size_t n, files = 0;
    const struct gw_route_def *t = gw_route_table(&n);

    (void)state;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        static const char pre[] = "OperationDefinition-";
        char code[200];
        size_t l = strlen(e->d_name), k;
        if (strncmp(e->d_name, pre, sizeof(pre) - 1) != 0)
            continue;
        files++;
        if (l < sizeof(pre) - 1 + 6 ||
            strcmp(e->d_name + l - 5, ".json") != 0 ||
            l - 5 - (sizeof(pre) - 1) >= sizeof(code) - 1)
            fail_msg("%s: not OperationDefinition-{code}.json", e->d_name);
        code[0] = '$';
        memcpy(code + 1, e->d_name + sizeof(pre) - 1,
               l - 5 - (sizeof(pre) - 1));
        code[l - 5 - (sizeof(pre) - 1) + 1] = '\0';
        for (k = 0; k < n; k++)
            if (t[k].cap_code != NULL && strcmp(t[k].cap_code, code) == 0 &&
                gw_conformance_op_canonical(code) == NULL)
                break;
        if (k == n)
            fail_msg("%s: no route serves %s", e->d_name, code);
    }
    closedir(d);
    assert_int_equal(files, gw_conformance_count("OperationDefinition"));
}

/* A folder with a file missing, too large, not R4, or saying what its
 * route does not, is refused naming the file, and nothing is loaded. */
/* The files copied into dir with one of them (OperationDefinition-<code>)
 * edited by the sed expression edit: loading refuses them, naming that
 * file and field. */
static void
edited_refused(const char *dir, const char *code, const char *edit,
               const char *field)
{
    char cmd[1400], says[120];
    struct gw_err err;

    snprintf(cmd, sizeof(cmd),
             "cp %s/OperationDefinition-*.json %s/ && sed -i '%s' "
             "%s/OperationDefinition-%s.json",
             profiles_dir(), dir, edit, dir, code);
    assert_int_equal(system(cmd), 0);
    gw_err_clear(&err);
    assert_int_equal(gw_conformance_load(dir, &err), GW_ECONFIG);
    snprintf(says, sizeof(says), "OperationDefinition-%s.json: %s", code,
             field);
    if (strstr(err.detail, says) == NULL)
        fail_msg("%s: %s", field, err.detail);
}

static void
test_routes_operation_files_refused(void **state)
{
    static const struct {
        const char *file, *text, *says;
    } cases[] = {
        {"OperationDefinition-print.json", NULL, "No such file"},
        {"OperationDefinition-copy.json", "", "more than"},
        {"OperationDefinition-renew-consent.json",
         "{\"resourceType\":"
         "\"OperationDefinition\",\"bogus\":1}",
         "not FHIR R4 JSON"},
        {"OperationDefinition-check-licence.json",
         "{\"resourceType\":"
         "\"Parameters\",\"id\":\"x\"}",
         "not an OperationDefinition"},
    };
    char dir[] = "/tmp/test_http_routes-XXXXXX", path[1200], cmd[1400];
    struct gw_err err;

    (void)state;
    assert_non_null(mkdtemp(dir));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(cmd, sizeof(cmd), "cp %s/OperationDefinition-*.json %s/",
                 profiles_dir(), dir);
        assert_int_equal(system(cmd), 0);
        snprintf(path, sizeof(path), "%s/%s", dir, cases[i].file);
        if (cases[i].text == NULL)
            assert_int_equal(unlink(path), 0);
        else {
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            if (cases[i].text[0] == '\0') /* past the 64 KiB cap */
                for (int k = 0; k < 70 * 1024; k++)
                    fputc(' ', f);
            fputs(cases[i].text, f);
            fclose(f);
        }
        gw_err_clear(&err);
        assert_int_equal(gw_conformance_load(dir, &err), GW_ECONFIG);
        if (strstr(err.detail, cases[i].file) == NULL ||
            strstr(err.detail, cases[i].says) == NULL)
            fail_msg("%s: %s", cases[i].file, err.detail);
        assert_int_equal(gw_conformance_read("OperationDefinition", "copy",
                                             &(struct gw_fhir_doc *){NULL}),
                         GW_EINTERNAL);
    }
    /* A file whose flags differ from its route: $print made a system
     * operation. */
    edited_refused(dir, "print", "s/\"system\": false/\"system\": true/",
                   "system");
    /* A description that names another path than its route's: $copy
     * said to be served under /fhir/Task/{id}. */
    edited_refused(dir, "copy", "s|Task/{num}/[$]copy|Task/{id}/$copy|",
                   "description");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    gw_err_clear(&err);
    assert_int_equal(gw_conformance_load(profiles_dir(), &err), GW_OK);
}

/* Each operation is published on the resource type it is served on (an
 * instance operation under rest.resource[type].operation, its own
 * OperationDefinition naming that type), a system one under
 * rest.operation: $status and $events are Subscription's, not Task's. */
static void
test_routes_publish_operations_on_their_type(void **state)
{
    json_t *cs = capability(), *rest, *res, *x;
    size_t n, i, instance = 0;
    const struct gw_route_def *t = gw_route_table(&n);

    (void)state;
    rest = json_array_get(json_object_get(cs, "rest"), 0);
    for (size_t k = 0; k < n; k++) {
        const char *code = t[k].cap_code;
        char type[40];
        if (code == NULL || code[0] != '$')
            continue;
        served_on(t[k].pattern, type, sizeof(type));
        if (type[0] == '\0') {
            if (!has_op(json_object_get(rest, "operation"), code + 1))
                fail_msg("%s: not a system operation", t[k].pattern);
            continue;
        }
        instance++;
        if (has_op(json_object_get(rest, "operation"), code + 1))
            fail_msg("%s: published at the system level", t[k].pattern);
        res = NULL;
        json_array_foreach(json_object_get(rest, "resource"), i, x)
        {
            if (strcmp(json_string_value(json_object_get(x, "type")), type) ==
                0)
                res = x;
        }
        if (res == NULL || !has_op(json_object_get(res, "operation"), code + 1))
            fail_msg("%s: not published on %s", t[k].pattern, type);
        if (gw_conformance_op_canonical(code) == NULL) {
            struct gw_fhir_doc *doc = NULL;
            char *text = NULL;
            size_t len = 0;
            json_t *od;
            assert_int_equal(gw_conformance_read("OperationDefinition",
                                                 code + 1, &doc),
                             GW_OK);
            assert_int_equal(gw_fhir_to_json(doc, &text, &len), GW_OK);
            gw_fhir_doc_free(doc);
            od = json_loadb(text, len, 0, NULL);
            if (od == NULL ||
                json_string_value(json_array_get(
                    json_object_get(od, "resource"), 0)) == NULL ||
                strcmp(json_string_value(json_array_get(
                           json_object_get(od, "resource"), 0)),
                       type) != 0)
                fail_msg("%s: its OperationDefinition is not on %s",
                         t[k].pattern, type);
            json_decref(od);
            free(text);
        }
    }
    assert_true(instance >= 4); /* $print, $copy, $status, $events */
    json_decref(cs);
}

/* The generic actions run the pipeline operation their row names: every
 * gw_fhir_on_id row names one on the id, every gw_fhir_on_body row (a
 * POST with a FHIR body) one on the body, and no other row names any.
 * The paths reach the operations the old one-line adapters called. */
static void
test_routes_name_the_operation_of_a_generic_action(void **state)
{
    static const struct {
        const char *method, *url;
        gw_fhir_on_id_fn on_id;
        gw_fhir_on_body_fn on_body;
    } ops[] = {
        {"GET", "/fhir/Task/12/_history", gw_pipeline_history, NULL},
        {"GET", "/fhir/Task/12/$copy", gw_pipeline_copy, NULL},
        {"GET", "/fhir/Subscription/s-1", gw_pipeline_sub_read, NULL},
        {"DELETE", "/fhir/Subscription/s-1", gw_pipeline_sub_delete, NULL},
        {"GET", "/fhir/Subscription/s-1/$status", gw_pipeline_sub_status,
         NULL},
        {"POST", "/fhir/Subscription", NULL, gw_pipeline_sub_create},
        {"POST", "/fhir/$record-dispensing", NULL,
         gw_pipeline_record_dispensing},
        {"GET", "/fhir/Task/12", NULL, NULL},
    };
    size_t n;
    const struct gw_route_def *t = gw_route_table(&n);
    struct gw_req r;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        if ((t[i].fhir == gw_fhir_on_id) != (t[i].on_id != NULL) ||
            (t[i].fhir == gw_fhir_on_body) != (t[i].on_body != NULL))
            fail_msg("%s: action and operation disagree", t[i].pattern);
        if (t[i].on_body != NULL &&
            (strcmp(t[i].method, "POST") != 0 ||
             (t[i].flags & GW_RT_NO_BODY) != 0))
            fail_msg("%s: an operation on the body without one",
                     t[i].pattern);
    }
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        match(&r, ops[i].method, ops[i].url);
        if (!r.method_ok || r.def->on_id != ops[i].on_id ||
            r.def->on_body != ops[i].on_body)
            fail_msg("%s %s: not its operation", ops[i].method, ops[i].url);
    }
}

/* The media types a request may name, looked up in one table: any case,
 * spaces around, parameters after ';'; anything else (a longer or shorter
 * name, one longer than every row) is no format we take. */
static void
test_media_types_name_their_format(void **state)
{
    /* A Content-Type and the format it names. */
    static const struct gw_name_value cases[] = {
        {"application/fhir+json", GW_FHIR_JSON},
        {"Application/FHIR+JSON; charset=utf-8", GW_FHIR_JSON},
        {"  application/json ;fhirVersion=4.0", GW_FHIR_JSON},
        {"APPLICATION/FHIR+XML", GW_FHIR_XML},
        {"text/xml; charset=utf-8", GW_FHIR_XML},
        {"application/xml", GW_FHIR_XML},
        {"application/fhir+jsonx", GW_FHIR_SNIFF},
        {"application/fhir+jso", GW_FHIR_SNIFF},
        {"application/fhir+json-but-much-longer-than-any-row", GW_FHIR_SNIFF},
        {"text/html", GW_FHIR_SNIFF},
        {"", GW_FHIR_SNIFF},
        {NULL, GW_FHIR_SNIFF},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if ((int)gw_http_content_format(cases[i].name) != cases[i].value)
            fail_msg("'%s': not format %d",
                     cases[i].name ? cases[i].name : "(null)", cases[i].value);
    assert_int_equal(gw_http_format_of_mime("json", 4), GW_FHIR_JSON);
    assert_int_equal(gw_http_format_of_mime("XML", 3), GW_FHIR_XML);
    assert_int_equal(gw_http_format_of_mime("xml;", 3), GW_FHIR_XML);
    assert_int_equal(gw_http_format_of_mime("xml", 2), GW_FHIR_SNIFF);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_serve_every_advertised_interaction),
        cmocka_unit_test(test_routes_claim_only_advertised_entries),
        cmocka_unit_test(test_routes_match_once_with_captures),
        cmocka_unit_test(test_routes_use_every_label),
        cmocka_unit_test(test_routes_console_is_not_fhir),
        cmocka_unit_test(test_routes_publish_every_own_operation),
        cmocka_unit_test(test_routes_serve_every_operation_file),
        cmocka_unit_test(test_routes_publish_operations_on_their_type),
        cmocka_unit_test(test_routes_name_the_operation_of_a_generic_action),
        cmocka_unit_test(test_media_types_name_their_format),
        /* Last: it loads other folders, then the right one again. */
        cmocka_unit_test(test_routes_operation_files_refused),
    };
    return cmocka_run_group_tests(tests, load_operations, unload_operations);
}
