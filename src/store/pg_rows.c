/*
 * pg_rows.c - what the reads of the PostgreSQL backend share (pg_read.c,
 * pg_outbox.c, pg_console.c): one statement on a pool connection, the
 * rows a command changed, and the row collector that turns a result into
 * an array with the fills both backends share (rows.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"

gw_rc
gw_pg_run(struct gw_store *st, const char *sql, const struct gw_pg_params *p,
          PGresult **res, const char *what)
{
    PGconn *c;
    gw_rc rc = gw_pg_take(PG(st), &c);

    if (res != NULL)
        *res = NULL;
    if (rc != GW_OK)
        return rc;
    rc = gw_pg_q(c, sql, p, res, what);
    gw_pg_give(PG(st), c);
    return rc;
}

long long
gw_pg_changed(PGresult *r)
{
    const char *t = PQcmdTuples(r);
    return t && *t ? strtoll(t, NULL, 10) : 0;
}

gw_rc
gw_pg_change(struct gw_store *st, const char *sql,
             const struct gw_pg_params *p, const char *what)
{
    PGresult *r;
    gw_rc rc = gw_pg_run(st, sql, p, &r, what);

    if (rc == GW_OK && gw_pg_changed(r) == 0)
        rc = GW_ENOTFOUND;
    PQclear(r);
    return rc;
}

/* A PGresult's row as struct gw_cells. */
static const char *
cell_text(const void *res, int row, int col)
{
    const PGresult *r = res;
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t
cell_i64(const void *res, int row, int col)
{
    return gw_pg_i64(res, row, col);
}

static double
cell_f64(const void *res, int row, int col)
{
    return gw_pg_f64(res, row, col);
}

static char *
cell_bytes(const void *res, int row, int col, size_t *len)
{
    return gw_pg_bytea(res, row, col, len);
}

static const struct gw_cells_ops cells_ops = {cell_text, cell_i64, cell_f64,
                                              cell_bytes};

void
gw_pg_cells(const PGresult *r, int row, struct gw_cells *out)
{
    out->ops = &cells_ops;
    out->res = r;
    out->row = row;
}

gw_rc
gw_pg_one_result(gw_rc rc, PGresult *r, gw_cells_fill fill, void *elem)
{
    struct gw_cells cells;

    if (rc == GW_OK && PQntuples(r) == 0)
        rc = GW_ENOTFOUND;
    gw_pg_cells(r, 0, &cells);
    if (rc == GW_OK)
        rc = fill(&cells, elem, 0);
    PQclear(r);
    return rc;
}

gw_rc
gw_pg_one(struct gw_store *st, const char *sql, const struct gw_pg_params *p,
          const char *what, gw_cells_fill fill, void *elem)
{
    PGresult *r;
    gw_rc rc = gw_pg_run(st, sql, p, &r, what);

    return gw_pg_one_result(rc, r, fill, elem);
}

/* gw_pg_collect_result of at most max rows. */
static gw_rc
collect_rows(const PGresult *r, size_t max, size_t elem_size,
             gw_cells_fill fill, void (*release)(void *elem), void **out,
             size_t *n)
{
    unsigned char *rows = NULL;
    size_t len = 0, nrows;
    gw_rc rc = GW_OK;

    *out = NULL;
    *n = 0;
    nrows = (size_t)PQntuples(r);
    if (nrows > max)
        nrows = max;
    if (nrows > 0 && (rows = calloc(nrows, elem_size)) == NULL)
        rc = GW_ENOMEM;
    for (; rc == GW_OK && len < nrows; len++) {
        struct gw_cells cells;
        gw_pg_cells(r, (int)len, &cells);
        if ((rc = fill(&cells, rows + elem_size * len, len)) != GW_OK)
            break; /* the fill freed what the element owned */
    }
    if (rc != GW_OK) {
        for (size_t i = 0; release != NULL && i < len; i++)
            release(rows + elem_size * i);
        free(rows);
        return rc;
    }
    *out = rows;
    *n = len;
    return GW_OK;
}

/* gw_pg_collect of at most max rows. */
static gw_rc
run_collect(struct gw_store *st, const char *sql, const struct gw_pg_params *p,
            const char *what, size_t elem_size, size_t max, gw_cells_fill fill,
            void (*release)(void *elem), void **out, size_t *n)
{
    PGresult *r;
    gw_rc rc;

    *out = NULL;
    *n = 0;
    if ((rc = gw_pg_run(st, sql, p, &r, what)) != GW_OK)
        return rc;
    rc = collect_rows(r, max, elem_size, fill, release, out, n);
    PQclear(r);
    return rc;
}

gw_rc
gw_pg_collect(struct gw_store *st, const char *sql,
              const struct gw_pg_params *p, const char *what, size_t elem_size,
              gw_cells_fill fill, void (*release)(void *elem), void **out,
              size_t *n)
{
    return run_collect(st, sql, p, what, elem_size, SIZE_MAX, fill, release,
                       out, n);
}

gw_rc
gw_pg_collect_result(const PGresult *r, size_t elem_size, gw_cells_fill fill,
                     void (*release)(void *elem), void **out, size_t *n)
{
    return collect_rows(r, SIZE_MAX, elem_size, fill, release, out, n);
}

void
gw_pg_each_result(const PGresult *r, gw_cells_add add, void *out, size_t max,
                  size_t *n)
{
    for (int row = 0; row < PQntuples(r); row++) {
        struct gw_cells cells;
        gw_pg_cells(r, row, &cells);
        add(&cells, out, max, n);
    }
}

static void
pg_params(struct gw_pg_params *p, const struct gw_args *a)
{
    for (int i = 0; a != NULL && i < a->n; i++) {
        const struct gw_arg *v = &a->v[i];

        if (v->kind == GW_ARG_I64)
            gw_pg_p_i64(p, v->i);
        else if (v->kind == GW_ARG_F64)
            gw_pg_p_f64(p, v->f);
        else if (v->kind == GW_ARG_BLOB)
            gw_pg_p_bin(p, v->s, v->len);
        else
            gw_pg_p_str(p, v->s);
    }
}

gw_rc
gw_pg_each(struct gw_store *st, const struct gw_sql *sql,
           const struct gw_args *a, gw_cells_add add, void *out, size_t max,
           size_t *n, const char *what)
{
    struct gw_pg_params p = {0};
    PGresult *r;
    gw_rc rc;

    *n = 0;
    pg_params(&p, a);
    rc = gw_pg_run(st, sql->pg, &p, &r, what);
    if (rc == GW_OK)
        gw_pg_each_result(r, add, out, max, n);
    PQclear(r);
    return rc;
}

gw_rc
gw_pg_first(struct gw_store *st, const struct gw_sql *sql,
            const struct gw_args *a, gw_cells_fill fill, void *elem,
            const char *what)
{
    struct gw_pg_params p = {0};

    pg_params(&p, a);
    return gw_pg_one(st, sql->pg, &p, what, fill, elem);
}

gw_rc
gw_pg_list(struct gw_store *st, const struct gw_sql *sql,
           const struct gw_args *a, size_t elem_size, size_t max,
           gw_cells_fill fill, void (*release)(void *elem), const char *what,
           void **out, size_t *n)
{
    struct gw_pg_params p = {0};

    pg_params(&p, a);
    return run_collect(st, sql->pg, &p, what, elem_size, max, fill, release,
                       out, n);
}

gw_rc
gw_pg_update(struct gw_store *st, const struct gw_sql *sql,
             const struct gw_args *a, int must_change, const char *what)
{
    struct gw_pg_params p = {0};

    pg_params(&p, a);
    return must_change ? gw_pg_change(st, sql->pg, &p, what)
                       : gw_pg_run(st, sql->pg, &p, NULL, what);
}

gw_rc
gw_pg_conn_list(void *conn, const struct gw_sql *sql, const struct gw_args *a,
                size_t elem_size, gw_cells_fill fill, void **out, size_t *n,
                const char *what)
{
    struct gw_pg_params p = {0};
    PGresult *r = NULL;
    gw_rc rc;

    *out = NULL;
    *n = 0;
    pg_params(&p, a);
    rc = gw_pg_q(conn, sql->pg, &p, &r, what);
    if (rc == GW_OK)
        rc = collect_rows(r, SIZE_MAX, elem_size, fill, NULL, out, n);
    PQclear(r);
    return rc;
}

gw_rc
gw_pg_conn_run(void *conn, const struct gw_sql *sql, const struct gw_args *a,
               const char *what)
{
    struct gw_pg_params p = {0};

    pg_params(&p, a);
    return gw_pg_q(conn, sql->pg, &p, NULL, what);
}

gw_rc
gw_pg_conn_first(void *conn, const struct gw_sql *sql, const struct gw_args *a,
                 gw_cells_fill fill, void *elem, const char *what)
{
    struct gw_pg_params p = {0};
    PGresult *r;
    gw_rc rc;

    pg_params(&p, a);
    rc = gw_pg_q(conn, sql->pg, &p, &r, what);
    return gw_pg_one_result(rc, r, fill, elem);
}

gw_rc
gw_pg_conn_insert(void *conn, const struct gw_sql *sql, const struct gw_args *a,
                  int64_t *id, const char *what)
{
    gw_rc rc;

    *id = 0;
    rc = gw_pg_conn_first(conn, sql, a, gw_rows_i64, id, what);
    return rc == GW_ENOTFOUND ? GW_OK : rc;
}

const struct gw_conn_ops gw_pg_conn_ops = {gw_pg_conn_run, gw_pg_conn_first,
                                           gw_pg_conn_list, gw_pg_conn_insert};

gw_rc
gw_pg_txn(struct gw_store *st, gw_txn_fn fn, void *arg)
{
    PGconn *c;
    gw_rc rc = gw_pg_take(PG(st), &c);

    if (rc != GW_OK)
        return rc;
    rc = gw_pg_q(c, "BEGIN", NULL, NULL, "begin");
    if (rc == GW_OK)
        rc = fn(&gw_pg_conn_ops, c, arg);
    if (rc == GW_OK)
        rc = gw_pg_q(c, "COMMIT", NULL, NULL, "commit");
    gw_pg_give(PG(st), c); /* rolls back what did not commit */
    return rc;
}
