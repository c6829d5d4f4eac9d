/*
 * audit_log.h - the audit log as stored (audit_log.c): verifying the chain, its
 * head, walking its records. Records are appended by the writer (write.h).
 */
#ifndef GW_STORE_AUDIT_LOG_H
#define GW_STORE_AUDIT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "core/err.h"

struct gw_store;

/* Walks the whole chain and the head. GW_OK, or GW_ECONFLICT naming the
 * first broken record in err; *count gets the records checked. */
gw_rc gw_store_audit_verify(struct gw_store *st, long long *count,
                            struct gw_err *err) GW_WARN_UNUSED;
/*
 * The same, and: every checkpoint's record must be there with the hash it
 * had (cps: ncps, already signature-checked; a cut tail fails here); with
 * a key loaded, at least one record must be keyed unless the log is empty.
 * On success the head's seq and hash go to *head_seq and head (either may
 * be NULL) and *keyed_from gets the first keyed seq (0: none).
 */
gw_rc gw_store_audit_verify_at(struct gw_store *st,
                               const struct gw_audit_checkpoint *cps,
                               size_t ncps, long long *count,
                               long long *keyed_from, int64_t *head_seq,
                               char head[GW_AUDIT_HASH_HEX],
                               struct gw_err *err) GW_WARN_UNUSED;
/* The head row: last seq and hash, as written (not verified). */
gw_rc gw_store_audit_head(struct gw_store *st, int64_t *seq,
                          char hash[GW_AUDIT_HASH_HEX]) GW_WARN_UNUSED;
/* Calls fn for each record (refnr NULL: all) from since_ms on. */
gw_rc gw_store_audit_each(struct gw_store *st, const char *refnr,
                          int64_t since_ms,
                          gw_rc (*fn)(void *, const struct gw_audit_record *),
                          void *ctx) GW_WARN_UNUSED;

#endif
