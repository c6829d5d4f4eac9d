/*
 * conformance.c - the conformance resources the gateway publishes under
 * /fhir/, read-only and public like /fhir/metadata:
 *
 *   OperationDefinition/{code}  each operation of its own (the route
 *                               table's "$" rows, those another
 *                               specification defines excepted): the
 *                               file fhir-profiles/OperationDefinition-
 *                               {code}.json, loaded at start
 *   SearchParameter/{Type-code} each search parameter it defines: the
 *                               route table's parameters with a KLAS
 *                               definition
 *   MessageDefinition/{code}    each KLAS event: the event table of
 *                               klas/event.c (sender roles, from the rows)
 *
 * An OperationDefinition is a conformance artefact like the profiles: its
 * parameters are what no table says, so the file is the source, checked
 * against its route row when loaded (a "$" row without a file stops the
 * start, and tests/unit/test_http_routes.c). The other two are built from
 * their tables when asked, so a new parameter or event is published by
 * its row. The types are in the model table as out-only: written, never
 * accepted inbound.
 */
#include "http/route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/names.h"
#include "fhir/build.h"
#include "klas/event.h"
#include "klas/state.h"
#include "map/view.h"

#define CANON "http://klasgw.org/fhir/"
#define KLAS_SP CANON "SearchParameter/"
#define EVENT_CS CANON "CodeSystem/klas-event"
#define DATE "2026-12-01"

/* --- operations ---------------------------------------------------------- */

/* The published OperationDefinitions: one file per own operation, kept in
 * fhir-profiles/ beside the other conformance resources, loaded once at
 * start (gw_conformance_load) and served as written. */
#define OP_FILE_MAX (64 * 1024)
#define OP_MAX 16

static struct op_file {
    char *text; /* the file, checked when loaded; NULL: not loaded */
    size_t len;
} op_files[OP_MAX];

/* Operations another specification defines (R4 itself, the Subscriptions
 * Backport IG): referenced by their canonical, not published here. */
static const struct foreign_op {
    const char *code, *canonical;
} foreign_ops[] = {
    {"$process-message",
     "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"},
    {"$validate", "http://hl7.org/fhir/OperationDefinition/Resource-validate"},
    {"$status", "http://hl7.org/fhir/uv/subscriptions-backport/"
                "OperationDefinition/backport-subscription-status"},
    {"$events", "http://hl7.org/fhir/uv/subscriptions-backport/"
                "OperationDefinition/backport-subscription-events"},
};

const char *
gw_conformance_op_canonical(const char *code)
{
    const struct foreign_op *op = GW_NAME_FIND(foreign_ops, code);

    return op != NULL ? op->canonical : NULL;
}

const char *
gw_conformance_op_type(const struct gw_route_def *d, char *buf, size_t size)
{
    const char *t = d->pattern + 6, *slash;

    if (strncmp(d->pattern, "/fhir/", 6) != 0 ||
        (slash = strchr(t, '/')) == NULL || slash[1] != '{' ||
        (size_t)(slash - t) >= size)
        return NULL;
    memcpy(buf, t, (size_t)(slash - t));
    buf[slash - t] = '\0';
    return buf;
}

static int
base_op(const char *code)
{
    return gw_conformance_op_canonical(code) != NULL;
}

/* The i-th route row that is an operation of our own, or NULL. */
static const struct gw_route_def *
op_row(size_t i)
{
    size_t nt;
    const struct gw_route_def *t = gw_route_table(&nt);

    for (size_t k = 0; k < nt; k++)
        if (t[k].cap_code != NULL && t[k].cap_code[0] == '$' &&
            !base_op(t[k].cap_code) && i-- == 0)
            return &t[k];
    return NULL;
}

/* "check-licence" -> "KlasCheckLicence": names are identifiers. */
static void
camel(const char *code, char *buf, size_t size)
{
    size_t n = 0;
    int up = 1;

    n = (size_t)snprintf(buf, size, "Klas");
    for (; *code && n + 1 < size; code++) {
        if (*code == '-' || *code == '$') {
            up = 1;
            continue;
        }
        buf[n++] = up && *code >= 'a' && *code <= 'z' ? (char)(*code - 32)
                                                       : *code;
        up = 0;
    }
    buf[n] = '\0';
}

static const char *
op_id(size_t i)
{
    const struct gw_route_def *d = op_row(i);
    return d != NULL ? d->cap_code + 1 : NULL;
}

/* What the route row d implies that doc must say (why: the first
 * difference). The unit test checks the same from the files' side. */
static int
op_matches(const struct gw_fhir_doc *doc, const struct gw_route_def *d,
           char *why, size_t size)
{
    const char *code = d->cap_code + 1;
    char type[40], url[160], desc[160], v[160];
    int instance = gw_conformance_op_type(d, type, sizeof(type)) != NULL;
    const struct {
        const char *path, *want;
    } want[] = {
        {"id", code},
        {"url", url},
        {"code", code},
        {"affectsState", strcmp(d->method, "POST") == 0 ? "true" : "false"},
        {"system", instance ? "false" : "true"},
        {"type", "false"},
        {"instance", instance ? "true" : "false"},
        {"resource", instance ? type : ""},
        {"description", desc}, /* the route in words: method and path */
    };

    snprintf(url, sizeof(url), CANON "OperationDefinition/%s", code);
    snprintf(desc, sizeof(desc), "%s %s", d->method, d->pattern);
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        if (!gw_view_value(doc, want[k].path, v, sizeof(v)))
            v[0] = '\0';
        if (strcmp(v, want[k].want) != 0) {
            snprintf(why, size, "%s is \"%s\", the route (%s %s) says \"%s\"",
                     want[k].path, v, d->method, d->pattern, want[k].want);
            return 0;
        }
    }
    return 1;
}

/* One file into f, checked: R4, an OperationDefinition, saying what the
 * route row d implies. */
static gw_rc
op_load(const char *path, const struct gw_route_def *d, struct op_file *f,
        struct gw_err *err)
{
    struct gw_fhir_doc *doc = NULL;
    struct gw_err perr;
    char why[200];
    char *text = NULL;
    size_t len = 0;
    gw_rc rc = gw_file_read(path, OP_FILE_MAX, &text, &len);

    if (rc == GW_ETOOLARGE)
        gw_err_set(err, GW_ECONFIG, NULL, "%s: more than %d bytes", path,
                   OP_FILE_MAX);
    else if (rc != GW_OK)
        gw_err_set(err, GW_ECONFIG, NULL, "%s: %s", path,
                   rc == GW_EIO ? strerror(errno) : "out of memory");
    if (rc != GW_OK) {
        free(text);
        return GW_ECONFIG;
    }
    gw_err_clear(&perr);
    rc = gw_fhir_parse_published(text, len, NULL, &doc, &perr);
    if (rc != GW_OK)
        gw_err_set(err, GW_ECONFIG, NULL, "%s: not FHIR R4 JSON: %s%s%s", path,
                   perr.path, perr.path[0] ? ": " : "", perr.detail);
    else if (strcmp(gw_fhir_doc_type(doc), "OperationDefinition") != 0)
        gw_err_set(err, GW_ECONFIG, NULL, "%s: a %s, not %s", path,
                   gw_fhir_doc_type(doc), "an OperationDefinition");
    else if (!op_matches(doc, d, why, sizeof(why)))
        gw_err_set(err, GW_ECONFIG, NULL, "%s: %s", path, why);
    else {
        f->text = text;
        f->len = len;
        gw_fhir_doc_free(doc);
        return GW_OK;
    }
    gw_fhir_doc_free(doc);
    free(text);
    return GW_ECONFIG;
}

void
gw_conformance_unload(void)
{
    for (size_t i = 0; i < OP_MAX; i++) {
        free(op_files[i].text);
        op_files[i].text = NULL;
        op_files[i].len = 0;
    }
}

gw_rc
gw_conformance_load(const char *dir, struct gw_err *err)
{
    const struct gw_route_def *d;
    char path[1024];
    int n;

    gw_conformance_unload();
    for (size_t i = 0; (d = op_row(i)) != NULL; i++) {
        n = snprintf(path, sizeof(path), "%s/OperationDefinition-%s.json", dir,
                     d->cap_code + 1);
        if (i >= OP_MAX)
            gw_err_set(err, GW_ECONFIG, NULL,
                       "more than %d operations of our own", OP_MAX);
        else if (n < 0 || (size_t)n >= sizeof(path))
            gw_err_set(err, GW_ECONFIG, NULL, "%s: the path is too long", dir);
        else if (op_load(path, d, &op_files[i], err) == GW_OK)
            continue;
        gw_conformance_unload();
        return GW_ECONFIG;
    }
    return GW_OK;
}

/* The i-th OperationDefinition, as loaded. */
static gw_rc
op_doc(size_t i, struct gw_fhir_doc **out)
{
    struct gw_err err;

    *out = NULL;
    if (i >= OP_MAX || op_files[i].text == NULL)
        return GW_EINTERNAL; /* gw_conformance_load did not run */
    gw_err_clear(&err);
    return gw_fhir_parse_published(op_files[i].text, op_files[i].len, NULL, out,
                                   &err);
}

/* --- search parameters -------------------------------------------------- */

static const struct gw_cap_param *
sp_row(size_t i)
{
    size_t np;
    const struct gw_cap_param *p = gw_route_cap_params(&np);

    for (size_t k = 0; k < np; k++)
        if (strncmp(p[k].definition, KLAS_SP, strlen(KLAS_SP)) == 0 &&
            i-- == 0)
            return &p[k];
    return NULL;
}

static const char *
sp_id(size_t i)
{
    const struct gw_cap_param *p = sp_row(i);
    return p != NULL ? p->definition + strlen(KLAS_SP) : NULL;
}

static void
fill_sp(struct gw_fhir_build *b, struct gw_fhir_el *el, size_t i)
{
    const struct gw_cap_param *p = sp_row(i);
    char buf[200];

    gw_fhir_el_value(b, el, "id", p->definition + strlen(KLAS_SP));
    gw_fhir_el_value(b, el, "url", p->definition);
    camel(p->definition + strlen(KLAS_SP), buf, sizeof(buf));
    gw_fhir_el_value(b, el, "name", buf);
    gw_fhir_el_value(b, el, "status", "active");
    gw_fhir_el_value(b, el, "date", DATE);
    gw_fhir_el_value(b, el, "publisher", "klasgw");
    snprintf(buf, sizeof(buf), "%s %s%s%s", p->type, p->name,
             p->documentation ? ": " : "",
             p->documentation ? p->documentation : "");
    gw_fhir_el_value(b, el, "description", buf);
    gw_fhir_el_value(b, el, "code", p->name);
    gw_fhir_el_value(b, el, "base", p->type);
    gw_fhir_el_value(b, el, "type", p->ptype);
}

/* --- messages ------------------------------------------------------------ */

/* The i-th distinct event code (rows share a code: decision has three;
 * the gateway's own events, purge, have none). */
static const struct gw_event_def *
ev_row(size_t i)
{
    for (size_t k = 0; k < gw_klas_nevents; k++) {
        int seen = gw_klas_events[k].code == NULL; /* the gateway's own */
        for (size_t j = 0; j < k && !seen; j++)
            seen = gw_klas_events[j].code != NULL &&
                   strcmp(gw_klas_events[j].code, gw_klas_events[k].code) == 0;
        if (!seen && i-- == 0)
            return &gw_klas_events[k];
    }
    return NULL;
}

static const char *
ev_id(size_t i)
{
    const struct gw_event_def *e = ev_row(i);
    return e != NULL ? e->code : NULL;
}

static void
fill_md(struct gw_fhir_build *b, struct gw_fhir_el *el, size_t i)
{
    const struct gw_event_def *e = ev_row(i);
    unsigned roles = 0;
    char buf[320], who[120];
    struct gw_fhir_el *x;
    size_t n = 0;

    for (size_t k = 0; k < gw_klas_nevents; k++)
        if (gw_klas_events[k].code != NULL &&
            strcmp(gw_klas_events[k].code, e->code) == 0)
            roles |= gw_klas_events[k].roles;
    who[0] = '\0';
    for (int r = 0; r < GW_ROLE_NROLE; r++) {
        int len;
        if (!(roles & GW_ROLE_BIT(r)) || r == GW_ROLE_GATEWAY)
            continue;
        len = snprintf(who + n, sizeof(who) - n, "%s%s", n ? ", " : "",
                       gw_role_name((enum gw_role)r));
        if (len < 0 || (size_t)len >= sizeof(who) - n)
            break;
        n += (size_t)len;
    }
    gw_fhir_el_value(b, el, "id", e->code);
    snprintf(buf, sizeof(buf), CANON "MessageDefinition/%s", e->code);
    gw_fhir_el_value(b, el, "url", buf);
    camel(e->code, buf, sizeof(buf));
    gw_fhir_el_value(b, el, "name", buf);
    gw_fhir_el_value(b, el, "status", "active");
    gw_fhir_el_value(b, el, "date", DATE);
    gw_fhir_el_value(b, el, "publisher", "klasgw");
    snprintf(buf, sizeof(buf),
             "The KLAS event %s, a message Bundle posted to "
             "$process-message. Sent by: %s.",
             e->code, who[0] ? who : "the gateway");
    gw_fhir_el_value(b, el, "description", buf);
    x = gw_fhir_el_add(b, el, "eventCoding");
    gw_fhir_el_value(b, x, "system", EVENT_CS);
    gw_fhir_el_value(b, x, "code", e->code);
    gw_fhir_el_value(b, el, "category", "consequence");
    /* klas-message-header: focus is the case's Task, exactly one. */
    x = gw_fhir_el_add(b, el, "focus");
    gw_fhir_el_value(b, x, "code", "Task");
    gw_fhir_el_value(b, x, "profile", CANON "StructureDefinition/klas-task");
    gw_fhir_el_value(b, x, "min", "1");
    gw_fhir_el_value(b, x, "max", "1");
    gw_fhir_el_value(b, el, "responseRequired", "always");
}

/* --- the kinds, and serving them ----------------------------------------- */

/* A kind, found by its type (names.h: the type leads the row): built
 * from the tables (fill), or loaded from its file (doc). */
struct kind {
    const char *type;
    const char *(*id)(size_t i); /* NULL past the last */
    void (*fill)(struct gw_fhir_build *b, struct gw_fhir_el *el, size_t i);
    gw_rc (*doc)(size_t i, struct gw_fhir_doc **out);
};

static const struct kind kinds[] = {
    {"OperationDefinition", op_id, NULL, op_doc},
    {"SearchParameter", sp_id, fill_sp, NULL},
    {"MessageDefinition", ev_id, fill_md, NULL},
};

size_t
gw_conformance_count(const char *type)
{
    const struct kind *k = GW_NAME_FIND(kinds, type);
    size_t n = 0;

    while (k != NULL && k->id(n) != NULL)
        n++;
    return n;
}

const char *
gw_conformance_id(const char *type, size_t i)
{
    const struct kind *k = GW_NAME_FIND(kinds, type);
    return k != NULL ? k->id(i) : NULL;
}

gw_rc
gw_conformance_read(const char *type, const char *id,
                    struct gw_fhir_doc **out)
{
    const struct kind *k = GW_NAME_FIND(kinds, type);
    struct gw_fhir_build *b = NULL;
    struct gw_err err;
    const char *s;
    gw_rc rc;

    *out = NULL;
    if (k == NULL)
        return GW_ENOTFOUND;
    for (size_t i = 0; (s = k->id(i)) != NULL; i++) {
        if (strcmp(s, id) != 0)
            continue;
        if (k->doc != NULL)
            return k->doc(i, out);
        rc = gw_fhir_build_new(k->type, &b);
        if (rc != GW_OK)
            return rc;
        k->fill(b, gw_fhir_build_root(b), i);
        gw_err_clear(&err);
        return gw_fhir_build_take(b, NULL, out, &err);
    }
    return GW_ENOTFOUND;
}

gw_rc
gw_conformance_search(const char *type, const char *url, const char *base,
                      struct gw_fhir_doc **out)
{
    const struct kind *k = GW_NAME_FIND(kinds, type);
    struct gw_fhir_build *b = NULL;
    struct gw_fhir_el *root;
    struct gw_err err;
    const char *s;
    char buf[300], total[24];
    size_t n = 0;
    gw_rc rc;

    *out = NULL;
    if (k == NULL)
        return GW_ENOTFOUND;
    rc = gw_fhir_build_new("Bundle", &b);
    if (rc != GW_OK)
        return rc;
    root = gw_fhir_build_root(b);
    gw_fhir_el_value(b, root, "type", "searchset");
    for (size_t i = 0; (s = k->id(i)) != NULL; i++) {
        char canon[200];
        snprintf(canon, sizeof(canon), CANON "%s/%s", k->type, s);
        if (url == NULL || strcmp(url, canon) == 0)
            n++;
    }
    snprintf(total, sizeof(total), "%zu", n);
    gw_fhir_el_value(b, root, "total", total);
    snprintf(buf, sizeof(buf), "%s/%s", base ? base : "", k->type);
    {
        struct gw_fhir_el *l = gw_fhir_el_add(b, root, "link");
        gw_fhir_el_value(b, l, "relation", "self");
        gw_fhir_el_value(b, l, "url", buf);
    }
    for (size_t i = 0; (s = k->id(i)) != NULL; i++) {
        struct gw_fhir_el *e, *r;
        char canon[200];
        snprintf(canon, sizeof(canon), CANON "%s/%s", k->type, s);
        if (url != NULL && strcmp(url, canon) != 0)
            continue;
        e = gw_fhir_el_add(b, root, "entry");
        snprintf(buf, sizeof(buf), "%s/%s/%s", base ? base : "", k->type, s);
        gw_fhir_el_value(b, e, "fullUrl", buf);
        r = gw_fhir_el_add(b, e, "resource");
        if (k->doc != NULL) {
            struct gw_fhir_doc *doc = NULL;
            rc = k->doc(i, &doc);
            if (rc != GW_OK) {
                gw_fhir_build_free(b);
                return rc;
            }
            gw_fhir_el_copy(b, r, doc);
            gw_fhir_doc_free(doc);
        } else
            k->fill(b, gw_fhir_el_add(b, r, k->type), i);
        gw_fhir_el_value(b, gw_fhir_el_add(b, e, "search"), "mode", "match");
    }
    gw_err_clear(&err);
    return gw_fhir_build_take(b, NULL, out, &err);
}
