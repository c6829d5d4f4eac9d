/*
 * refusals.c - the refusal counts by rule id (refusals.h).
 *
 * A fixed table under one mutex: a refusal is rare next to the work that
 * led to it, and the table never grows, whatever arrives. Rule ids come
 * from our validators and the error table, never from the message; they
 * are still cut to the row's size and to [A-Za-z0-9._-] so a page that
 * shows them can trust them.
 */
#include "pipeline/refusals.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "validate/outcome.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct gw_refusal_count rows[GW_REFUSALS_MAX];
static size_t nrows;

/* The rule id as it is counted. */
static void
clean(const char *in, char out[48])
{
    size_t i = 0;

    for (; in != NULL && in[i] != '\0' && i < 47; i++)
        out[i] =
            isalnum((unsigned char)in[i]) || strchr("._-", in[i]) ? in[i] : '_';
    out[i] = '\0';
    if (i == 0)
        strcpy(out, "-");
}

/* Under mu. */
static void
add(const char *rule)
{
    char r[48];
    size_t i;

    clean(rule, r);
    for (i = 0; i < nrows; i++)
        if (strcmp(rows[i].rule, r) == 0)
            break;
    if (i == nrows) {
        if (nrows >= GW_REFUSALS_MAX - 1) {
            /* The last row takes every rule id past the table. */
            strcpy(r, GW_REFUSALS_OTHER);
            for (i = 0; i < nrows; i++)
                if (strcmp(rows[i].rule, r) == 0)
                    break;
        }
        if (i == nrows) {
            memcpy(rows[i].rule, r, sizeof(r));
            rows[i].n = 0;
            nrows++;
        }
    }
    rows[i].n++;
}

void
gw_refusals_count(gw_rc rc, const struct gw_outcome *o)
{
    size_t counted = 0;

    pthread_mutex_lock(&mu);
    for (size_t i = 0; o != NULL && i < o->n; i++) {
        int seen = 0;
        if (o->issues[i].severity != GW_SEV_ERROR)
            continue;
        for (size_t j = 0; j < i && !seen; j++)
            seen = o->issues[j].severity == GW_SEV_ERROR &&
                   strcmp(o->issues[j].rule, o->issues[i].rule) == 0;
        if (!seen)
            add(o->issues[i].rule);
        counted++;
    }
    if (counted == 0)
        add(gw_rc_name(rc));
    pthread_mutex_unlock(&mu);
}

static int
by_count(const void *a, const void *b)
{
    const struct gw_refusal_count *x = a, *y = b;

    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->rule, y->rule);
}

size_t
gw_refusals_get(struct gw_refusal_count *out, size_t max)
{
    struct gw_refusal_count all[GW_REFUSALS_MAX];
    size_t n;

    pthread_mutex_lock(&mu);
    n = nrows;
    memcpy(all, rows, n * sizeof(all[0]));
    pthread_mutex_unlock(&mu);
    qsort(all, n, sizeof(all[0]), by_count);
    if (n > max)
        n = max;
    memcpy(out, all, n * sizeof(all[0]));
    return n;
}

void
gw_refusals_reset(void)
{
    pthread_mutex_lock(&mu);
    nrows = 0;
    pthread_mutex_unlock(&mu);
}
