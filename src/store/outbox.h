/*
 * outbox.h - one item of the outbox as the store hands it to a delivery:
 * the store claims it (gw_outbox_claim_next, store.h), a peer behind
 * outbound/client.h delivers it. The type lives with the table it is read
 * from, so the store needs nothing from outbound/.
 */
#ifndef GW_STORE_OUTBOX_H
#define GW_STORE_OUTBOX_H

#include <stddef.h>

struct gw_outbox_item {
    long long id;
    char message_id[160]; /* stable: receivers drop duplicates by it (our
                           * ids are at most 127 bytes: writer.c) */
    char peer[32];
    char kind[48];
    char refnr[16];
    char *payload; /* owned by the worker */
    size_t payload_len;
    int attempts; /* failed attempts before this one */
    char target[40];           /* the subscription a notification is for */
    long long next_attempt_ms; /* when it was due (a probe may be early) */
};

#endif
