/*
 * lv.c - delivery to LV (see lv.h).
 *
 *   outbox item (+ motivation, version 1 of the case)
 *     -> <d:delivery> wrapper -> fhir-to-lv-register.xsl -> Responder XSD
 *     -> soap_read into the generated request -> soap_call -> classify
 *
 * The XSD check happens before anything is sent: an item that maps to an
 * invalid request would fail the same way on every attempt, so it is a
 * dead letter at once. Nothing about the case's content is logged; the
 * reason strings name the step and the reference number only.
 */
#include "outbound/lv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fhir/xmldoc.h"
#include "klas/event.h"
#include "gwsoapH.h"
#include "map/xslt.h"
#include "outbound/soap_client.h"
#include "store/outbox.h"
#include "store/read.h"
#include "validate/xsd.h"

#define DELIVERY_NS "urn:klasgw:delivery"

enum gw_delivery
gw_lv_classify(const struct gw_lv_reply *r, char *why, size_t why_size)
{
    static const char *const ids[] = {"INVALID_REQUEST", "APPLICATION_ERROR",
                                      "TECHNICAL_ERROR"};

    if (r->fault) {
        snprintf(why, why_size, "LV answered a SOAP fault (HTTP %d)",
                 r->http_status);
        return GW_DELIVERY_RETRY;
    }
    if (!r->answered) {
        if (r->timeout)
            snprintf(why, why_size, "LV did not answer in time");
        else if (r->http_status > 0)
            snprintf(why, why_size, "LV answered HTTP %d", r->http_status);
        else
            snprintf(why, why_size, "LV could not be reached");
        return GW_DELIVERY_RETRY;
    }
    switch (r->result) {
    case GW_LV_OK:
    case GW_LV_INFO:
        snprintf(why, why_size, "registered by LV");
        return GW_DELIVERED;
    case GW_LV_ERROR:
        if (r->error_id == GW_LV_TECHNICAL_ERROR) {
            snprintf(why, why_size, "LV answered TECHNICAL_ERROR");
            return GW_DELIVERY_RETRY;
        }
        snprintf(why, why_size, "LV refused: %s",
                 r->error_id >= 0 && r->error_id <= 2
                     ? ids[r->error_id]
                     : "ERROR without errorCode");
        return GW_DELIVERY_FAILED;
    case GW_LV_NO_RESULT:
    default:
        snprintf(why, why_size, "LV answered without a result");
        return GW_DELIVERY_RETRY;
    }
}

struct gw_lv {
    struct gw_lv_opts o;
    struct gw_soap_pool *pool;
    struct gw_xslt *map;
    struct gw_xsd *xsd_app, *xsd_sup;
};

gw_rc
gw_lv_new(const struct gw_lv_opts *o, struct gw_lv **out, struct gw_err *err)
{
    struct gw_lv *lv = calloc(1, sizeof(*lv));
    gw_rc rc;

    *out = NULL;
    if (lv == NULL)
        return GW_ENOMEM;
    lv->o = *o;
    rc = gw_soap_pool_new(&o->peer, "SE2021004078-LISY", &lv->pool);
    if (rc != GW_OK)
        goto fail;
    lv->o.peer.url = gw_soap_pool_url(lv->pool);
    lv->map = gw_xslt_load(o->xslt_dir, "fhir-to-lv-register.xsl", err);
    if (lv->map == NULL) {
        rc = GW_ECONFIG;
        goto fail;
    }
    lv->xsd_app =
        gw_xsd_responder(o->wsdl_dir, "RegisterLicenseApplication", err);
    lv->xsd_sup =
        gw_xsd_responder(o->wsdl_dir, "RegisterLicenseSupplement", err);
    if (lv->xsd_app == NULL || lv->xsd_sup == NULL) {
        rc = GW_ECONFIG;
        goto fail;
    }
    *out = lv;
    return GW_OK;
fail:
    gw_lv_free(lv);
    return rc;
}

void
gw_lv_free(struct gw_lv *lv)
{
    if (lv == NULL)
        return;
    gw_soap_pool_free(lv->pool);
    gw_xslt_free(lv->map);
    gw_xsd_free(lv->xsd_app);
    gw_xsd_free(lv->xsd_sup);
    free(lv);
}

void
gw_lv_peer(struct gw_lv *lv, struct gw_peer *peer)
{
    gw_peer_init(peer, "lv", gw_lv_send, lv);
}

/* The request element as text, mapped and XSD-checked; NULL on failure
 * (why says which step). Caller frees with free(). */
static char *
build_request(struct gw_lv *lv, const struct gw_outbox_item *item,
              int application, char *why, size_t why_size)
{
    struct gw_xml *in = NULL, *res = NULL;
    struct gw_xsd_errors xe = {0, 0, NULL};
    char *out = NULL, *kind = NULL, *mxml = NULL;
    size_t mlen = 0, olen = 0;
    long got = 0;
    gw_rc rc;

    /* The mapping's input: <d:delivery kind messageId referenceNumber>
     * with the item's FHIR and, for an application, the motivation. */
    rc = gw_xml_new(DELIVERY_NS, "d", "delivery", &in);
    if (rc == GW_OK)
        rc = gw_xml_set_attr(in, "kind",
                             application ? "application" : "supplement");
    if (rc == GW_OK)
        rc = gw_xml_set_attr(in, "messageId", item->message_id);
    if (rc == GW_OK)
        rc = gw_xml_set_attr(in, "referenceNumber", item->refnr);
    if (rc == GW_OK && gw_xml_add_fhir(in, "item", item->payload,
                                       item->payload_len) != GW_OK) {
        snprintf(why, why_size, "the item is not FHIR XML");
        goto out;
    }
    if (rc != GW_OK) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    if (application && lv->o.store != NULL &&
        gw_store_document_get(lv->o.store, item->refnr, 1, &kind, &mxml, &mlen,
                              &got) == GW_OK &&
        gw_klas_event_creates_case(kind) && /* the motivation */
        gw_xml_add_fhir(in, "motivation", mxml, mlen) != GW_OK) {
        snprintf(why, why_size, "the case's motivation is not FHIR XML");
        goto out;
    }
    res = gw_xslt_run(lv->map, in, NULL);
    if (res == NULL) {
        snprintf(why, why_size, "mapping to the LV request failed");
        goto out;
    }
    if (gw_xsd_check(application ? lv->xsd_app : lv->xsd_sup, res, &xe) !=
        GW_OK)
        goto out;
    if (!xe.valid) {
        /* The FHIR parts are not checked by the XSD (processContents
         * skip), so the message names envelope fields only, never
         * patient data. */
        snprintf(why, why_size,
                 "the LV request does not match its schema: %.199s",
                 xe.n > 0 ? xe.e[0].message : "");
        goto out;
    }
    if (gw_xml_save(res, &out, &olen) != GW_OK)
        out = NULL;
out:
    gw_xsd_errors_release(&xe);
    gw_xml_free(res);
    gw_xml_free(in);
    free(kind);
    free(mxml);
    return out;
}

static void
read_result(const struct core__ResultType *res, struct gw_lv_reply *r)
{
    r->result = GW_LV_NO_RESULT;
    r->error_id = GW_LV_NO_ERROR_ID;
    if (res == NULL)
        return;
    r->result = res->resultCode == core__ResultCodeEnum__OK     ? GW_LV_OK
                : res->resultCode == core__ResultCodeEnum__INFO ? GW_LV_INFO
                                                                : GW_LV_ERROR;
    if (res->errorCode != NULL)
        r->error_id =
            *res->errorCode == core__ErrorCodeEnum__INVALID_USCOREREQUEST ||
                    *res->errorCode ==
                        core__ErrorCodeEnum__TRANSFORMATION_USCOREERROR
                ? GW_LV_VALIDATION_ERROR
            : *res->errorCode == core__ErrorCodeEnum__APPLICATION_USCOREERROR
                ? GW_LV_APPLICATION_ERROR
                : GW_LV_TECHNICAL_ERROR;
}

enum gw_delivery
gw_lv_send(void *ctx, const struct gw_outbox_item *item, char *why,
           size_t why_size)
{
    struct gw_lv *lv = ctx;
    int application = strcmp(item->kind, "application") == 0;
    struct gw_lv_reply reply;
    struct gw_soap_failure f;
    enum gw_delivery d;
    char *req = NULL;
    struct soap *s = NULL, *rd = NULL;
    int e = SOAP_OK;

    memset(&reply, 0, sizeof(reply));
    if (!application && strcmp(item->kind, "supplement") != 0) {
        snprintf(why, why_size, "unknown kind for LV: %.40s", item->kind);
        return GW_DELIVERY_FAILED;
    }
    req = build_request(lv, item, application, why, why_size);
    if (req == NULL)
        return GW_DELIVERY_FAILED;
    s = gw_soap_pool_get(lv->pool);
    if (s == NULL) {
        free(req);
        snprintf(why, why_size, "out of memory");
        return GW_DELIVERY_RETRY;
    }
    /* Read the checked XML into gSOAP's request struct on a plain context
     * (the curl plugin owns the pooled context's input), then send it. */
    rd = soap_new1(SOAP_XML_STRICT | SOAP_C_UTFSTRING);
    if (rd == NULL) {
        free(req);
        gw_soap_pool_put(lv->pool, s, 1);
        snprintf(why, why_size, "out of memory");
        return GW_DELIVERY_RETRY;
    }
    rd->is = req;
/* The request read as gSOAP's ns__opType (e -1 when it does not read),
 * then the call; its result into reply. */
#define REGISTER(ns, op)                                                       \
    do {                                                                       \
        struct ns##__##op##Type in;                                            \
        struct ns##__##op##ResponseType out;                                   \
        if (soap_read_##ns##__##op##Type(rd, &in) != SOAP_OK)                  \
            e = -1;                                                            \
        else if ((e = soap_call___##ns##i__##op(s, lv->o.peer.url, NULL, &in,       \
                                                &out)) == SOAP_OK)             \
            read_result(out.result, &reply);                                   \
    } while (0)
    if (application)
        REGISTER(rla, RegisterLicenseApplication);
    else
        REGISTER(rls, RegisterLicenseSupplement);
#undef REGISTER
    rd->is = NULL;
    free(req);
    if (e == -1) {
        const char **fs = soap_faultstring(rd);
        snprintf(why, why_size,
                 "the LV request could not be read into gSOAP (error %d: "
                 "%.80s)",
                 rd->error, fs && *fs ? *fs : "-");
        soap_destroy(rd);
        soap_end(rd);
        soap_free(rd);
        gw_soap_pool_put(lv->pool, s, 1);
        return GW_DELIVERY_FAILED;
    }
    soap_destroy(rd);
    soap_end(rd);
    soap_free(rd);
    if (e == SOAP_OK) {
        reply.answered = 1;
        reply.http_status = s->status;
    } else {
        gw_soap_describe(s, &f);
        reply.fault = f.fault;
        reply.timeout = f.timeout;
        reply.http_status = f.http_status;
    }
    gw_soap_pool_put(lv->pool, s, e == SOAP_OK);
    d = gw_lv_classify(&reply, why, why_size);
    if (e != SOAP_OK && reply.http_status == 0 && f.why[0] != '\0') {
        /* The transport's reason (TLS refused, connection refused). */
        size_t n = strlen(why);
        snprintf(why + n, why_size - n, ": %s", f.why);
    }
    gw_log_info("event=lv_delivery refnr=%s kind=%s outcome=%s detail=%s",
                item->refnr, item->kind,
                d == GW_DELIVERED        ? "delivered"
                : d == GW_DELIVERY_RETRY ? "retry"
                                         : "failed",
                gw_log_quote(why));
    return d;
}
