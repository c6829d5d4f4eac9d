/*
 * audit_verify.c - verifying the stored audit chain, the same on every
 * backend: it walks the records (gw_store_audit_each) and compares the
 * end with the head row (gw_store_audit_head) and the signed checkpoints.
 */
#include <stdio.h>
#include <string.h>

#include "store/audit_log.h"

struct verify_ctx {
    char prev[GW_AUDIT_HASH_HEX];
    long long count, keyed_from;
    const struct gw_audit_checkpoint *cps;
    size_t ncps;
    struct gw_err *err;
};

static gw_rc
verify_one(void *arg, const struct gw_audit_record *r)
{
    struct verify_ctx *v = arg;
    gw_rc rc = gw_audit_check_link(r, v->prev, v->count + 1, v->err);

    if (rc != GW_OK)
        return rc;
    for (size_t i = 0; i < v->ncps; i++)
        if (v->cps[i].seq == r->seq && strcmp(v->cps[i].hash, r->hash) != 0)
            return gw_err_set(v->err, GW_ECONFLICT, NULL,
                              "audit record %lld is not the one the "
                              "checkpoint signed: the log was rewritten",
                              (long long)r->seq);
    if (v->keyed_from == 0 && gw_audit_hash_is_keyed(r->hash))
        v->keyed_from = r->seq;
    memcpy(v->prev, r->hash, sizeof(v->prev));
    v->count++;
    return GW_OK;
}

gw_rc
gw_store_audit_verify(struct gw_store *st, long long *count, struct gw_err *err)
{
    long long keyed_from;

    return gw_store_audit_verify_at(st, NULL, 0, count, &keyed_from, NULL, NULL,
                                    err);
}

gw_rc
gw_store_audit_verify_at(struct gw_store *st,
                         const struct gw_audit_checkpoint *cps, size_t ncps,
                         long long *count, long long *keyed_from,
                         int64_t *head_seq, char head[GW_AUDIT_HASH_HEX],
                         struct gw_err *err)
{
    struct verify_ctx v;
    char hhash[GW_AUDIT_HASH_HEX];
    int64_t hseq = 0;
    gw_rc rc;

    memset(&v, 0, sizeof(v));
    memcpy(v.prev, gw_audit_genesis, sizeof(v.prev));
    v.cps = cps;
    v.ncps = ncps;
    v.err = err;
    rc = gw_store_audit_each(st, NULL, 0, verify_one, &v);
    *count = v.count;
    *keyed_from = v.keyed_from;
    if (rc != GW_OK)
        return rc;
    /* The head row catches records cut off the end of the chain. */
    rc = gw_store_audit_head(st, &hseq, hhash);
    if (rc != GW_OK)
        return rc;
    if (hseq != v.count || strcmp(hhash, v.prev) != 0)
        return gw_err_set(err, GW_ECONFLICT, NULL,
                          "the audit log ends at record %lld but its head "
                          "says %lld: records were removed from the end",
                          v.count, (long long)hseq);
    /* A cut tail with a fixed head is still a chain; a checkpoint beyond
     * its end is what shows the cut. */
    for (size_t i = 0; i < ncps; i++)
        if (cps[i].seq > v.count)
            return gw_err_set(err, GW_ECONFLICT, NULL,
                              "a checkpoint signed record %lld but the log "
                              "ends at %lld: records were cut off the end",
                              (long long)cps[i].seq, v.count);
    /* With a key, an all-unkeyed chain is one rewritten (or cut back to
     * before the key) by someone without it. */
    if (gw_audit_keyed() && v.count > 0 && v.keyed_from == 0)
        return gw_err_set(err, GW_ECONFLICT, NULL,
                          "no audit record is keyed although the key is "
                          "set: the log was rewritten without the key, or "
                          "serve has not yet run with it");
    if (head_seq != NULL)
        *head_seq = v.count;
    if (head != NULL)
        memcpy(head, v.prev, GW_AUDIT_HASH_HEX);
    return GW_OK;
}

