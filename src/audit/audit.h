/*
 * audit.h - audit records and their hash chain (no storage here).
 *
 * Every read and write of a case leaves one record: who (system identity
 * and the user: HSA-id or GLN), what (action), which case (referensnummer),
 * when, and the outcome. Records hold no indication, motivation text or
 * patient identity. store/ appends them in the same transaction as the
 * change they record.
 *
 * Chain: hash = "k1:" HMAC-SHA256(key, prev_hash "|" seq "|" at_ms "|"
 * system "|" user "|" action "|" refnr "|" outcome "|" detail), hex. The
 * first record's prev_hash is 64 zeros. Editing any field, removing or
 * reordering records breaks the chain; store/ keeps the head (last seq and
 * hash) in its own row so that cutting off the tail is caught as well.
 *
 * The key (audit.key_file, or systemd's $CREDENTIALS_DIRECTORY/audit-key)
 * is what the database does not hold: whoever can write the database can
 * edit a row and recompute every later hash and the head, but not an HMAC.
 * It is read once at start-up, before any thread, and never logged. What
 * a database writer can still do - cut the tail and fix the head - is
 * caught by checkpoints: `klasgw audit checkpoint` signs the head (seq and
 * hash) with the key into a file kept elsewhere, and verify checks that
 * every given checkpoint's record is still there with the same hash.
 *
 * Unkeyed records: chains written before the key (or in a plain-HTTP demo
 * without one) use plain SHA-256, hex, without the "k1:" mark. They stay
 * verifiable, but only as a prefix: an unkeyed record after a keyed one is
 * a forgery, writing unkeyed after a keyed record is refused, and with a
 * key a chain without any keyed record fails verify (serve marks the
 * change by appending an "audit-keyed" record at start).
 */
#ifndef GW_AUDIT_AUDIT_H
#define GW_AUDIT_AUDIT_H

#include <stdint.h>

#include "core/err.h"

#define GW_AUDIT_HASH_HEX 68 /* "k1:" + 64 hex digits + NUL */
#define GW_AUDIT_KEYED_MARK "k1:"
#define GW_AUDIT_KEY_MIN 32
#define GW_AUDIT_KEY_MAX 4096

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

/*
 * Loads the chain key: path (audit.key_file), or when it is empty
 * $CREDENTIALS_DIRECTORY/audit-key if that exists. The file holds at least
 * GW_AUDIT_KEY_MIN bytes (trailing white space is not part of the key) and
 * must not be readable or writable by others. Sets *loaded to 1 when a key
 * was found, 0 when none is configured. Call once, before threads start.
 * The key's bytes never reach err or the log.
 */
gw_rc gw_audit_key_load(const char *path, int *loaded,
                        struct gw_err *err) GW_WARN_UNUSED;
/* Sets the key from memory (tests); len 0 clears it. */
gw_rc gw_audit_key_set(const void *key, size_t len) GW_WARN_UNUSED;
/* Wipes the key. */
void gw_audit_key_clear(void);
/* Whether a key is loaded. */
int gw_audit_keyed(void);
/* Whether a hash (or prev_hash) is of a keyed record. */
int gw_audit_hash_is_keyed(const char *hash);

/*
 * Computes the hash of a new record r from its fields and r->prev_hash
 * into out: keyed when a key is loaded, plain SHA-256 otherwise. Without a
 * key, extending a keyed chain is refused with GW_ECONFIG.
 */
gw_rc gw_audit_hash(const struct gw_audit_record *r,
                    char out[GW_AUDIT_HASH_HEX]) GW_WARN_UNUSED;

/*
 * Checks one record against its predecessor's hash (and seq). Returns
 * GW_OK, or GW_ECONFLICT with err->detail saying what broke.
 */
gw_rc gw_audit_check_link(const struct gw_audit_record *r,
                          const char *expect_prev, int64_t expect_seq,
                          struct gw_err *err) GW_WARN_UNUSED;

/* A signed statement that the chain's record seq had this hash. */
struct gw_audit_checkpoint {
    int64_t seq, at_ms;
    char hash[GW_AUDIT_HASH_HEX];
};

/*
 * Writes cp as the text of a checkpoint file, signed with the key
 * (HMAC-SHA256 over the lines before the signature). GW_ECONFIG without a
 * key.
 */
struct gw_buf;
gw_rc gw_audit_checkpoint_format(const struct gw_audit_checkpoint *cp,
                                 struct gw_buf *out) GW_WARN_UNUSED;
/*
 * Reads a checkpoint file's text and checks its signature with the key.
 * GW_EPARSE when it is not a checkpoint, GW_ECONFLICT when the signature
 * does not match (edited, or signed with another key), GW_ECONFIG without
 * a key; err says which.
 */
gw_rc gw_audit_checkpoint_parse(const char *text, size_t len,
                                struct gw_audit_checkpoint *cp,
                                struct gw_err *err) GW_WARN_UNUSED;

/*
 * Appends r as a FHIR R4 AuditEvent (JSON text, one object) to out; the
 * caller wraps several in a Bundle. Uses the referensnummer NamingSystem.
 */
gw_rc gw_audit_to_fhir(const struct gw_audit_record *r, struct gw_buf *out)
    GW_WARN_UNUSED;

#endif
