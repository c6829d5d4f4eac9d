/*
 * store.c - the public functions of the store: each hands its call to the
 * backend the store was opened with (backend.h). Opening picks the backend
 * by name (store.backend); nothing else here knows one backend from the
 * other, and no SQL lives here.
 */
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "store/outbox.h"
#include "store/store.h"

static const struct gw_store_backend *const backends[] = {
    &gw_store_sqlite,
    &gw_store_pg,
};

/* opts (NULL: all defaults) with every default store.h names filled in,
 * so that no backend repeats them. */
static struct gw_store_opts
opts_filled(const struct gw_store_opts *opts)
{
    struct gw_store_opts o = {.start_writer = 1};

    if (opts != NULL)
        o = *opts;
    if (o.readers <= 0)
        o.readers = 8;
    if (o.batch_max <= 0)
        o.batch_max = 256;
    if (o.busy_timeout_ms <= 0)
        o.busy_timeout_ms = 5000;
    if (o.backend == NULL || o.backend[0] == '\0')
        o.backend = "sqlite";
    return o;
}

/* Frees a store: its base and its memory (the backend closed the rest). */
static void
store_free(struct gw_store *st)
{
    struct gw_store_base *b = (struct gw_store_base *)(void *)st;

    free(b->where);
    free(b);
}

/* A store of backend be on where: its memory zeroed and its base filled
 * in, so that no backend allocates, copies or frees them; then the
 * backend's open. */
static gw_rc
store_new(const struct gw_store_backend *be, const char *where,
          const struct gw_store_opts *o, struct gw_store **out,
          struct gw_err *err)
{
    struct gw_store_base *b = calloc(1, be->size);
    gw_rc rc;

    if (b == NULL || (b->where = strdup(where)) == NULL) {
        free(b);
        return GW_ENOMEM;
    }
    b->be = be;
    b->busy_ms = o->busy_timeout_ms;
    b->read_only = o->read_only;
    rc = be->open((struct gw_store *)(void *)b, o, err);
    if (rc != GW_OK) {
        store_free((struct gw_store *)(void *)b);
        return rc;
    }
    *out = (struct gw_store *)(void *)b;
    return GW_OK;
}

gw_rc
gw_store_open(const char *path, const struct gw_store_opts *opts,
              struct gw_store **out, struct gw_err *err)
{
    struct gw_store_opts o = opts_filled(opts);

    *out = NULL;
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        if (strcmp(backends[i]->name, o.backend) != 0)
            continue;
        /* SQLite opens a file; PostgreSQL a connection string. */
        if (strcmp(o.backend, "sqlite") != 0)
            path = o.dsn ? o.dsn : "";
        return store_new(backends[i], path, &o, out, err);
    }
    return gw_err_set(err, GW_ECONFIG, "store.backend",
                      "unknown store backend (sqlite or postgresql)");
}

void
gw_store_close(struct gw_store *st)
{
    if (st == NULL)
        return;
    gw_store_be(st)->close(st);
    store_free(st);
}

const char *
gw_store_backend_name(struct gw_store *st)
{
    return gw_store_be(st)->name;
}

#define DISPATCH(ret, pub, op, params, args)                                 \
    ret pub params { return gw_store_be(st)->op args; }
GW_STORE_OPS(DISPATCH)
#undef DISPATCH

/* Like free(NULL), a void operation on no store does nothing: callers
 * close in their cleanup path whether or not the open succeeded. */
#define DISPATCH_VOID(ret, pub, op, params, args)                            \
    ret pub params                                                           \
    {                                                                        \
        if (st != NULL)                                                      \
            gw_store_be(st)->op args;                                        \
    }
GW_STORE_VOID_OPS(DISPATCH_VOID)
#undef DISPATCH_VOID

void
gw_args_str(struct gw_args *a, const char *s)
{
    if (a->n < GW_ARGS_MAX)
        a->v[a->n++] = (struct gw_arg){.kind = GW_ARG_TEXT, .s = s};
}

void
gw_args_i64(struct gw_args *a, int64_t i)
{
    if (a->n < GW_ARGS_MAX)
        a->v[a->n++] = (struct gw_arg){.kind = GW_ARG_I64, .i = i};
}

void
gw_args_blob(struct gw_args *a, const void *data, size_t len)
{
    if (a->n < GW_ARGS_MAX)
        a->v[a->n++] =
            (struct gw_arg){.kind = GW_ARG_BLOB, .s = data, .len = len};
}

/* Listing and showing the outbox are one backend read (outbox_items). */
gw_rc
gw_outbox_list(struct gw_store *st, const char *state, int limit,
               struct gw_outbox_info **items, size_t *n)
{
    return gw_outbox_items(st, state, 0, limit, items, n);
}

gw_rc
gw_outbox_show(struct gw_store *st, long long id, struct gw_outbox_info *out)
{
    struct gw_outbox_info *items;
    size_t n;
    gw_rc rc = gw_outbox_items(st, NULL, id, 1, &items, &n);

    if (rc != GW_OK)
        return rc;
    if (n == 0)
        rc = GW_ENOTFOUND;
    else
        *out = items[0];
    free(items);
    return rc;
}

gw_rc
gw_store_schema_known(int v, int known, struct gw_err *err)
{
    return v <= known ? GW_OK
                      : gw_err_set(err, GW_ESTORE, NULL,
                                   "database schema %d is newer than this "
                                   "klasgw (%d): upgrade klasgw",
                                   v, known);
}

gw_rc
gw_store_schema_current(int v, int known, struct gw_err *err)
{
    gw_rc rc = gw_store_schema_known(v, known, err);

    if (rc == GW_OK && v != known)
        rc = gw_err_set(err, GW_ESTORE, NULL,
                        "database schema %d, this klasgw reads %d: run "
                        "klasgw migrate (or serve) first",
                        v, known);
    return rc;
}
