/*
 * write.h - the one write a message causes (gw_store_write, writer.c): the
 * case, its documents and attachments, the outbox items, licence and dispensing
 * records, the audit entry; and audit entries appended without waiting.
 */
#ifndef GW_STORE_WRITE_H
#define GW_STORE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "core/buf.h"
#include "core/err.h"
#include "store/read.h"

struct gw_store;

struct gw_store_attachment {
    const char *description;
    const char *content_type;
    int hidden; /* dold för apotek */
    const void *data;
    size_t size;
};

struct gw_store_outbox_new {
    const char *message_id; /* unique; the peer deduplicates by it */
    const char *peer;
    const char *kind;
    const void *payload;
    size_t payload_len;
    /* A GLN: instead of one item, one per active Subscription of that
     * pharmacy at commit time (target = the subscription id, message id
     * "<message_id>:<subscription id>"), each delivered, retried and dead
     * on its own; none when it has none (the pharmacy polls). */
    const char *fanout_gln;
};

enum gw_store_op {
    GW_STORE_OP_NONE = 0, /* nothing but inbox/audit (e.g. a refusal) */
    GW_STORE_OP_CREATE,   /* a new case */
    GW_STORE_OP_UPDATE,   /* change the case named by row.refnr */
    GW_STORE_OP_DISPENSE  /* record w.dispense against licence row.refnr */
};

/* The licence a case is about. On CREATE: the product and amount from
 * the motivation (a re-application copies its parent's). On UPDATE: the
 * validity period of a grant (other fields ignored). Strings may be NULL. */
struct gw_licence_info {
    const char *nplid, *product_name, *substances, *form, *strength, *holder,
        *country, *atc;
    const char *general_level; /* unit, administration, region */
    double total_amount;       /* 0: unknown */
    const char *amount_unit;
    const char *valid_from, *valid_to; /* YYYY-MM-DD */
};

/* A dispensing (avräkning) against a granted licence. The writer refuses
 * it (GW_EDENIED, reason in res.err) unless the case is granted, the date
 * is within the validity period and the total stays within the granted
 * amount. */
struct gw_dispense {
    const char *gln;
    double amount;
    const char *dispensed_on; /* YYYY-MM-DD */
    const char *kind;         /* prescription | requisition */
};

/*
 * The response to store in the inbox, asked for inside the transaction
 * once the referensnummer and version are known (so a receipt can quote
 * them). Runs on the writer thread: pure formatting, no I/O, no locks;
 * the writer is one thread for every request, so an answer built ahead
 * by the caller for the number and version it expects (refnr_first, the
 * case's next version) is best only handed over here.
 */
typedef gw_rc (*gw_store_respond_fn)(void *ctx, const char *refnr, long version,
                                     struct gw_buf *out);

/* Effects of a case change (struct gw_store_write, effects). */
#define GW_STORE_FX_APPLIED 0x01u /* applied_ms and the prescriber's
                                     last_applied_ms: now */
#define GW_STORE_FX_DECIDED 0x02u /* decided_ms: now */
#define GW_STORE_FX_PRODUCT 0x04u /* the licence's product is searchable */

struct gw_pharmacy;

struct gw_store_write {
    /* Idempotency: the same message_id again replays the first answer;
     * with another content_hash it is refused (GW_EDUPLICATE). */
    const char *message_id;
    const char *sender;       /* client label */
    const char *content_hash; /* hex digest of the message as received */

    enum gw_store_op op;
    struct gw_case_row row;    /* CREATE: all fields; UPDATE: refnr + the
                                  fields to change (NULL/0 keeps) */
    const char *refnr_first;   /* CREATE without row.refnr: the number
                                  tried first, drawn by the caller
                                  (gw_refnr_generate) to build its answer
                                  ahead; a taken one is drawn again as
                                  usual. NULL: drawn by the writer */
    const char *expect_status; /* UPDATE: refuse (GW_ECONFLICT) unless the
                                  case is in this status; NULL: any.
                                  DISPENSE: the status a licence must be
                                  in (GW_EDENIED otherwise) */
    long expect_version;       /* UPDATE: refuse (GW_EPRECONDITION) unless
                                  equal; 0: any */
    const char *event, *actor; /* status history: what, and who */

    const char *doc_kind; /* new document version, or NULL */
    const char *doc_xml;
    size_t doc_len;
    const struct gw_store_attachment *attachments;
    size_t nattachments;
    const struct gw_store_outbox_new *outbox;
    size_t noutbox;
    const struct gw_licence_info *licence; /* or NULL */
    const struct gw_dispense *dispense;    /* GW_STORE_OP_DISPENSE */
    const struct gw_audit_entry *audit;    /* refnr filled in when NULL */
    size_t naudit;
    /* What the case change implies beside the row (GW_STORE_FX_*), as
     * klas/ decided it: the store knows no status names. */
    unsigned effects;
    const struct gw_pharmacy *pharmacy; /* registered (Sök apotek) in the
                                           same transaction, or NULL */

    int response_status; /* HTTP-like status stored with the answer */
    gw_store_respond_fn respond;
    void *respond_ctx;
};

struct gw_store_result {
    gw_rc rc;
    int replayed; /* 1: an earlier identical message answered */
    char refnr[16];
    long version;
    int response_status;
    char *response; /* caller frees */
    size_t response_len;
    struct gw_err err; /* detail on refusal */
    /* Inbox look-ups (also on GW_EDUPLICATE): the first message's. */
    char content_hash[65];
    int64_t received_ms;
};

/*
 * Hands w to the writer and waits until its batch is durable. Returns
 * res->rc. Everything in w is borrowed until return. Thread-safe.
 */
gw_rc gw_store_write(struct gw_store *st, const struct gw_store_write *w,
                     struct gw_store_result *res) GW_WARN_UNUSED;
void gw_store_result_release(struct gw_store_result *res);

/* A write's completion: runs on the writer thread, once res is final. */
typedef void (*gw_store_done_fn)(void *arg, gw_rc rc);
/*
 * The same without waiting: GW_OK once w is queued; done(arg, rc) then
 * runs once, on a writer thread after its batch's COMMIT, with res final
 * (a refusal with its reason). Everything in w and res is borrowed until
 * done runs; done must be brief and must not write to the store. Any
 * other return: nothing was queued, done never runs, res->err says why.
 */
gw_rc gw_store_write_async(struct gw_store *st, const struct gw_store_write *w,
                           struct gw_store_result *res, gw_store_done_fn done,
                           void *arg) GW_WARN_UNUSED;

/* Appends audit entries for a read without waiting: they are committed
 * with the next batch. Copies e. */
gw_rc gw_store_audit_async(struct gw_store *st,
                           const struct gw_audit_entry *e) GW_WARN_UNUSED;

#endif
