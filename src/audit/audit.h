/*
 * audit.h - audit records and their hash chain (no storage here).
 *
 * Every read and write of a case leaves one record: who (system identity
 * and the user: HSA-id or GLN), what (action), which case (referensnummer),
 * when, and the outcome. Records hold no indication, motivation text or
 * patient identity. store/ appends them in the same transaction as the
 * change they record.
 *
 * Chain: hash = SHA-256(prev_hash "|" seq "|" at_ms "|" system "|" user "|"
 * action "|" refnr "|" outcome "|" detail), hex. The first record's
 * prev_hash is 64 zeros. Editing any field, removing or reordering records
 * breaks the chain; store/ keeps the head (last seq and hash) in its own
 * row so that cutting off the tail is caught as well.
 */
#ifndef GW_AUDIT_AUDIT_H
#define GW_AUDIT_AUDIT_H

#include <stdint.h>

#include "core/err.h"

#define GW_AUDIT_HASH_HEX 65 /* 64 hex digits + NUL */

struct gw_audit_entry {
    const char *system;  /* calling system's identity (client label) */
    const char *user;    /* HSA-id of the prescriber, GLN of the pharmacy, ... */
    const char *action;  /* "create", "read", "update", "search", "purge", ... */
    const char *refnr;   /* the case, or NULL */
    const char *outcome; /* "ok", or the gw_rc name of the refusal */
    const char *detail;  /* short, never personal data; may be NULL */
};

struct gw_audit_record {
    int64_t seq, at_ms;
    struct gw_audit_entry e;
    char prev_hash[GW_AUDIT_HASH_HEX];
    char hash[GW_AUDIT_HASH_HEX];
};

/* The prev_hash of the very first record. */
extern const char gw_audit_genesis[GW_AUDIT_HASH_HEX];

/* Computes the hash of r from its fields and r->prev_hash into out. */
gw_rc gw_audit_hash(const struct gw_audit_record *r,
                    char out[GW_AUDIT_HASH_HEX]) GW_WARN_UNUSED;

/*
 * Checks one record against its predecessor's hash (and seq). Returns
 * GW_OK, or GW_ECONFLICT with err->detail saying what broke.
 */
gw_rc gw_audit_check_link(const struct gw_audit_record *r,
                          const char *expect_prev, int64_t expect_seq,
                          struct gw_err *err) GW_WARN_UNUSED;

/*
 * Appends r as a FHIR R4 AuditEvent (JSON text, one object) to out; the
 * caller wraps several in a Bundle. Uses the referensnummer NamingSystem.
 */
struct gw_buf;
gw_rc gw_audit_to_fhir(const struct gw_audit_record *r, struct gw_buf *out)
    GW_WARN_UNUSED;

#endif
