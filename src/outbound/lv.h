/*
 * lv.h - the outbox peer "lv": delivers a pharmacy's application (with the
 * case's motivation) and supplements to Läkemedelsverket over SOAP
 * (RegisterLicenseApplication, RegisterLicenseSupplement).
 *
 * Each item is mapped by xslt/fhir-to-lv-register.xsl, checked against
 * its Responder XSD, read into gSOAP's generated request and sent through
 * a pooled gSOAP/libcurl context with the item's stable message id, so LV
 * drops duplicates when a resend follows a lost answer.
 *
 * Outcome (gw_lv_classify): result OK or INFO -> delivered; result ERROR
 * with TECHNICAL_ERROR, any SOAP fault (also inside HTTP 200), timeouts,
 * connection failures and HTTP errors -> retry; result ERROR with
 * INVALID_REQUEST, TRANSFORMATION_ERROR or APPLICATION_ERROR (or no
 * errorCode) -> dead letter;
 * an item we cannot even build -> dead letter.
 */
#ifndef GW_OUTBOUND_LV_H
#define GW_OUTBOUND_LV_H

#include <stddef.h>

#include "outbound/client.h"
#include "outbound/soap_client.h"
#include "store/outbox.h"

struct gw_store;

/* What came back from one call, as far as classification needs. */
enum gw_lv_result { GW_LV_NO_RESULT = -1, GW_LV_OK, GW_LV_ERROR, GW_LV_INFO };
enum gw_lv_error_id {
    GW_LV_NO_ERROR_ID = -1,
    GW_LV_VALIDATION_ERROR,
    GW_LV_APPLICATION_ERROR,
    GW_LV_TECHNICAL_ERROR
};
struct gw_lv_reply {
    int answered; /* a SOAP response body was read */
    int fault;    /* a SOAP fault (any HTTP status) */
    int timeout;
    int http_status; /* 0: none */
    enum gw_lv_result result;
    enum gw_lv_error_id error_id;
};

/* The delivery outcome of a reply (no I/O); why gets a short reason. */
enum gw_delivery gw_lv_classify(const struct gw_lv_reply *r, char *why,
                                size_t why_size);

struct gw_lv_opts {
    /* url, timeout, TLS client; logical_address NULL: LV's default */
    struct gw_soap_pool_opts peer;
    struct gw_store *store; /* for the case's motivation */
    const char *wsdl_dir;   /* Responder XSDs */
    const char *xslt_dir;   /* fhir-to-lv-register.xsl */
};

struct gw_lv;

gw_rc gw_lv_new(const struct gw_lv_opts *o, struct gw_lv **out,
                struct gw_err *err) GW_WARN_UNUSED;
void gw_lv_free(struct gw_lv *lv);
/* Fills *peer (name "lv") for gw_outbox_worker_start; lv is borrowed. */
void gw_lv_peer(struct gw_lv *lv, struct gw_peer *peer);
/* struct gw_peer.send; ctx is a struct gw_lv. */
enum gw_delivery gw_lv_send(void *ctx, const struct gw_outbox_item *item,
                            char *why, size_t why_size);

#endif
