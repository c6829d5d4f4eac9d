/*
 * soapclient.c - contract test of the gateway's SOAP interactions from a
 * gSOAP-generated C client (the stubs built from wsdl/ at build time):
 * every operation the gateway serves, once valid and once invalid, and
 * every answer parsed by gSOAP against the same contract.
 *
 * Usage: soapclient BASE_URL SOURCE_DIR [PKI_DIR]  (exit 0: all passed)
 * With PKI_DIR (BASE_URL https) every call goes over mutual TLS: each
 * actor presents its own certificate (PKI_DIR/<serialNumber>.pem, .key,
 * its [clients] match) through gSOAP's curl plugin (libcurl over GnuTLS,
 * as the gateway's own outbound calls) and trusts PKI_DIR/ca.pem only;
 * then a call without a client certificate and one with a certificate of
 * another CA (PKI_DIR/rogue.pem) must get no answer. Without PKI_DIR the
 * actor is named in X-Klasgw-Client (plain HTTP, demo mode).
 * Prints "called: <Operation>" for each operation that answered, for the
 * caller to compare with what the gateway serves.
 * Run by tests/e2e/test_soap_contract.sh against a gateway with the HSA
 * simulator. Synthetic data from fhir-profiles/examples only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/tls.h"
#include "gwsoapH.h"
#include "outbound/http_client.h"
#include "outbound/soap_client.h"

static const char *base, *src, *pki;
static int failures;
static char refnr[16];
static struct gw_soap_pool *cur; /* the pool of the context in use */

static void
check(int ok, const char *what, const struct core__ResultType *r)
{
    printf("%s: %s", ok ? "ok" : "FAIL", what);
    if (r != NULL)
        printf(
            " [%s %s %s]",
            r->resultCode == core__ResultCodeEnum__OK      ? "OK"
            : r->resultCode == core__ResultCodeEnum__ERROR ? "ERROR"
                                                           : "INFO",
            r->errorCode
                ? (*r->errorCode == core__ErrorCodeEnum__INVALID_USCOREREQUEST
                       ? "INVALID_REQUEST"
                   : *r->errorCode ==
                           core__ErrorCodeEnum__APPLICATION_USCOREERROR
                       ? "APPLICATION_ERROR"
                       : "TECHNICAL_ERROR")
                : "-",
            r->message ? r->message : "");
    printf("\n");
    if (!ok)
        failures++;
}

static int
is_ok(const struct core__ResultType *r)
{
    return r != NULL && r->resultCode == core__ResultCodeEnum__OK;
}

static int
refused(const struct core__ResultType *r, const char *field)
{
    return r != NULL && r->resultCode == core__ResultCodeEnum__ERROR &&
           r->errorCode != NULL &&
           *r->errorCode == core__ErrorCodeEnum__INVALID_USCOREREQUEST &&
           r->logId != NULL && r->message != NULL &&
           strstr(r->message, field) != NULL;
}

static int
status_is(struct soap *s, const enum core__CaseStatusType *cs, const char *want)
{
    return cs != NULL && strcmp(soap_core__CaseStatusType2s(s, *cs), want) == 0;
}

/* An example Bundle as literal XML (no declaration), refnr replaced;
 * allocated in s. */
static char *
example(struct soap *s, const char *name, const char *ref)
{
    char path[1024], *buf, *out, *o;
    const char *p;
    FILE *f;
    long n;

    snprintf(path, sizeof(path), "%s/fhir-profiles/examples/valid/%s", src,
             name);
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    buf = calloc(1, (size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
        exit(2);
    fclose(f);
    out = soap_malloc(s, (size_t)n + 1);
    p = strncmp(buf, "<?xml", 5) == 0 ? strstr(buf, "?>") + 2 : buf;
    for (o = out; *p;) {
        if (ref != NULL && strncmp(p, "2026658327", 10) == 0) {
            memcpy(o, ref, 10);
            o += 10;
            p += 10;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    free(buf);
    return out;
}

static struct core__FhirMessageType *
payload(struct soap *s, const char *name, const char *ref)
{
    struct core__FhirMessageType *m = soap_malloc(s, sizeof(*m));

    soap_default_core__FhirMessageType(s, m);
    m->__any = example(s, name, ref);
    return m;
}

/* A pool of contexts acting as client ("serial:<id>") for user. Over
 * mutual TLS it presents cert: "" for client's own certificate, NULL
 * for none, else that file's stem in pki. */
static struct gw_soap_pool *
pool_as(const char *client, const char *user, const char *cert)
{
    struct gw_soap_pool_opts o;
    struct gw_soap_pool *p;
    static char hdr[8][160], crt[8][1024], key[8][1024], ca[1024];
    static struct gw_tls_client tls[8];
    static int n;

    if (n == 8)
        exit(2);
    memset(&o, 0, sizeof(o));
    if (pki != NULL) {
        const char *stem = cert && !*cert ? client + strlen("serial:") : cert;
        snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
        memset(&tls[n], 0, sizeof(tls[n]));
        tls[n].peer = "contract";
        tls[n].ca = ca;
        tls[n].verify_host = 1;
        tls[n].min_version = 12;
        if (stem != NULL) {
            snprintf(crt[n], sizeof(crt[n]), "%s/%s.pem", pki, stem);
            snprintf(key[n], sizeof(key[n]), "%s/%s.key", pki, stem);
            tls[n].cert = crt[n];
            tls[n].key = key[n];
        }
        o.tls = &tls[n];
        snprintf(hdr[n], sizeof(hdr[n]), "%s%s", user ? "X-Klasgw-User: " : "",
                 user ? user : "");
    } else {
        snprintf(hdr[n], sizeof(hdr[n]), "X-Klasgw-Client: %s%s%s", client,
                 user ? "\r\nX-Klasgw-User: " : "", user ? user : "");
    }
    o.url = base;
    o.timeout_ms = 10000;
    o.logical_address = "SE2321000016-KLAS";
    o.extra_headers = hdr[n][0] ? hdr[n] : NULL;
    n++;
    if (gw_soap_pool_new(&o, NULL, &p) != GW_OK)
        exit(2);
    return p;
}

static struct gw_soap_pool *
pool(const char *client, const char *user)
{
    return pool_as(client, user, "");
}

/* The operations that answered (url() names the one being called). */
static const char *calling;
static const char *answered[32];
static int nanswered;

static void
note_answer(void)
{
    for (int i = 0; i < nanswered; i++)
        if (strcmp(answered[i], calling) == 0)
            return;
    if (nanswered < 32)
        answered[nanswered++] = calling;
}

static const char *
url(const char *op)
{
    static char buf[8][300];
    static int i;

    i = (i + 1) % 8;
    calling = op;
    snprintf(buf[i], sizeof(buf[i]), "%s/soap/%s", base, op);
    return buf[i];
}

#define CALL_OK(e, s)                                                          \
    ((e) == SOAP_OK ? (note_answer(), 1) : (soap_print_fault((s), stdout), 0))

/* Mutual TLS: a SubmitLicenseMotivation from a pool without the right
 * certificate gets no answer (a refused handshake, or a SOAP Fault). */
static void
refused_without(struct gw_soap_pool *p, const char *what)
{
    struct slm__SubmitLicenseMotivationType in;
    struct slm__SubmitLicenseMotivationResponseType out;
    struct gw_soap_failure f;
    struct soap *s = gw_soap_pool_get(p);
    char line[400];
    int e;

    if (s == NULL)
        exit(2);
    soap_default_slm__SubmitLicenseMotivationType(s, &in);
    soap_default_slm__SubmitLicenseMotivationResponseType(s, &out);
    in.messageId = "gsoap-tls-refused";
    in.licenseMotivation = payload(s, "motivation-enskild-searched.xml", NULL);
    if (gw_soap_pool_rearm(p, s) != GW_OK)
        exit(2);
    e = soap_call___slmi__SubmitLicenseMotivation(
        s, url("SubmitLicenseMotivation"), NULL, &in, &out);
    gw_soap_describe(s, &f);
    snprintf(line, sizeof(line), "%s: no answer (HTTP %d: %s)", what,
             f.http_status, f.why);
    check(e != SOAP_OK && out.result == NULL && out.referenceNumber == NULL &&
              (f.http_status == 0 || f.http_status == 401),
          line, NULL);
    gw_soap_pool_put(p, s, 0);
}

int
main(int argc, char **argv)
{
    struct gw_soap_pool *ehr1, *ehr2, *apo, *lv;
    struct soap *s;
    int e;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: soapclient BASE_URL SOURCE_DIR [PKI_DIR]\n");
        return 2;
    }
    base = argv[1];
    src = argv[2];
    pki = argc == 4 ? argv[3] : NULL;
    if (gw_http_client_init() != GW_OK)
        return 2;
    ehr1 = pool("serial:SE2321000016-EHR1", "SE2321000016-DOC1");
    ehr2 = pool("serial:SE2321000016-EHR1", "SE2321000016-DOC2");
    apo = pool("serial:SE7350000000-APO1", NULL);
    lv = pool("serial:SE2021004078-LISY", NULL);

    /* PingForConfiguration */
    s = gw_soap_pool_get(cur = ehr1);
    {
        struct ping__PingForConfigurationType in;
        struct ping__PingForConfigurationResponseType out;
        soap_default_ping__PingForConfigurationType(s, &in);
        in.logicalAddress = "SE2321000016-KLAS";
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___pingi__PingForConfiguration(
            s, url("PingForConfiguration"), NULL, &in, &out);
        check(CALL_OK(e, s) && out.version != NULL, "Ping", NULL);
    }
    /* SubmitLicenseMotivation: valid, then invalid messageId. */
    {
        struct slm__SubmitLicenseMotivationType in;
        struct slm__SubmitLicenseMotivationResponseType out;
        soap_default_slm__SubmitLicenseMotivationType(s, &in);
        in.messageId = "gsoap-submit-1";
        in.licenseMotivation =
            payload(s, "motivation-enskild-searched.xml", NULL);
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___slmi__SubmitLicenseMotivation(
            s, url("SubmitLicenseMotivation"), NULL, &in, &out);
        check(CALL_OK(e, s) && is_ok(out.result) && out.referenceNumber &&
                  status_is(s, out.caseStatus, "M"),
              "Submit valid", e == SOAP_OK ? out.result : NULL);
        if (e == SOAP_OK && out.referenceNumber)
            snprintf(refnr, sizeof(refnr), "%s", out.referenceNumber);
        in.messageId = "gsoap submit 2";
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___slmi__SubmitLicenseMotivation(
            s, url("SubmitLicenseMotivation"), NULL, &in, &out);
        check(CALL_OK(e, s) && refused(out.result, "messageId"),
              "Submit invalid messageId", e == SOAP_OK ? out.result : NULL);
    }
    gw_soap_pool_put(ehr1, s, 1);
    if (refnr[0] == '\0') {
        printf("no case to go on with\n");
        return 1;
    }
    /* GetLicenseCases */
    s = gw_soap_pool_get(cur = ehr1);
    {
        struct glc__GetLicenseCasesType in;
        struct glc__GetLicenseCasesResponseType out;
        int hits = 500;
        soap_default_glc__GetLicenseCasesType(s, &in);
        in.referenceNumber = refnr;
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___glci__GetLicenseCases(s, url("GetLicenseCases"), NULL,
                                              &in, &out);
        check(CALL_OK(e, s) && is_ok(out.result) &&
                  out.__sizelicenseCase == 1 &&
                  strcmp(out.licenseCase[0].referenceNumber, refnr) == 0,
              "GetLicenseCases valid", e == SOAP_OK ? out.result : NULL);
        in.maxHits = &hits;
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___glci__GetLicenseCases(s, url("GetLicenseCases"), NULL,
                                              &in, &out);
        check(CALL_OK(e, s) && refused(out.result, "maxHits"),
              "GetLicenseCases invalid maxHits",
              e == SOAP_OK ? out.result : NULL);
    }
    gw_soap_pool_put(ehr1, s, 1);
    /* CreateLicenseApplication, GetLicenseMotivation (pharmacy) */
    s = gw_soap_pool_get(cur = apo);
    {
        struct cla__CreateLicenseApplicationType in;
        struct cla__CreateLicenseApplicationResponseType out;
        soap_default_cla__CreateLicenseApplicationType(s, &in);
        in.messageId = "gsoap-app-1";
        in.referenceNumber = "123";
        in.application = payload(s, "application-enskild.xml", refnr);
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___clai__CreateLicenseApplication(
            s, url("CreateLicenseApplication"), NULL, &in, &out);
        check(CALL_OK(e, s) && refused(out.result, "referenceNumber"),
              "Create invalid refnr", e == SOAP_OK ? out.result : NULL);
        in.referenceNumber = refnr;
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___clai__CreateLicenseApplication(
            s, url("CreateLicenseApplication"), NULL, &in, &out);
        check(CALL_OK(e, s) && is_ok(out.result) &&
                  status_is(s, out.caseStatus, "A"),
              "Create valid", e == SOAP_OK ? out.result : NULL);
    }
    {
        struct glm__GetLicenseMotivationType in;
        struct glm__GetLicenseMotivationResponseType out;
        soap_default_glm__GetLicenseMotivationType(s, &in);
        in.referenceNumber = refnr;
        in.patientId = "201006301111";
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___glmi__GetLicenseMotivation(
            s, url("GetLicenseMotivation"), NULL, &in, &out);
        check(CALL_OK(e, s) && is_ok(out.result) && out.licenseCase &&
                  out.licenseCase->__any &&
                  strstr(out.licenseCase->__any, "Sömnstörning") == NULL,
              "GetLicenseMotivation valid and redacted",
              e == SOAP_OK ? out.result : NULL);
        in.patientId = "20100630";
        in.referenceNumber = "x";
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___glmi__GetLicenseMotivation(
            s, url("GetLicenseMotivation"), NULL, &in, &out);
        check(CALL_OK(e, s) && refused(out.result, "referenceNumber"),
              "GetLicenseMotivation invalid refnr",
              e == SOAP_OK ? out.result : NULL);
    }
    gw_soap_pool_put(apo, s, 1);
    /* LV: registered, supplement request; prescriber's supplement;
     * registered again; decision. */
    s = gw_soap_pool_get(cur = lv);
    {
        struct rcr__ReportCaseRegisteredType in;
        struct rcr__ReportCaseRegisteredResponseType out;
        soap_default_rcr__ReportCaseRegisteredType(s, &in);
        in.messageId = "gsoap-reg-1";
        in.referenceNumber = "2026";
        in.registration = payload(s, "application-registered.xml", refnr);
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___rcri__ReportCaseRegistered(
            s, url("ReportCaseRegistered"), NULL, &in, &out);
        check(CALL_OK(e, s) && refused(out.result, "referenceNumber"),
              "Registered invalid refnr", e == SOAP_OK ? out.result : NULL);
        in.referenceNumber = refnr;
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___rcri__ReportCaseRegistered(
            s, url("ReportCaseRegistered"), NULL, &in, &out);
        check(CALL_OK(e, s) && is_ok(out.result) &&
                  status_is(s, out.caseStatus, "H"),
              "Registered valid", e == SOAP_OK ? out.result : NULL);
    }
    {
        struct rsu__RequestSupplementType in;
        struct rsu__RequestSupplementResponseType out;
        soap_default_rsu__RequestSupplementType(s, &in);
        in.messageId = "gsoap-rsu-1";
        in.referenceNumber = refnr;
        in.supplementRequest = payload(s, "decision-avs.xml", refnr);
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___rsui__RequestSupplement(s, url("RequestSupplement"),
                                                NULL, &in, &out);
        check(CALL_OK(e, s) && refused(out.result, "eventCoding"),
              "RequestSupplement with another event",
              e == SOAP_OK ? out.result : NULL);
        in.supplementRequest =
            payload(s, "supplement-request-to-prescriber.xml", refnr);
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___rsui__RequestSupplement(s, url("RequestSupplement"),
                                                NULL, &in, &out);
        check(CALL_OK(e, s) && is_ok(out.result) &&
                  status_is(s, out.caseStatus, "KB"),
              "RequestSupplement valid", e == SOAP_OK ? out.result : NULL);
    }
    gw_soap_pool_put(lv, s, 1);
    s = gw_soap_pool_get(cur = ehr2);
    {
        struct sup__SupplementLicenseMotivationType in;
        struct sup__SupplementLicenseMotivationResponseType out;
        soap_default_sup__SupplementLicenseMotivationType(s, &in);
        in.messageId = "gsoap-sup-1";
        in.referenceNumber = "abc";
        in.supplement = payload(s, "supplement-by-prescriber.xml", refnr);
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___supi__SupplementLicenseMotivation(
            s, url("SupplementLicenseMotivation"), NULL, &in, &out);
        check(CALL_OK(e, s) && refused(out.result, "referenceNumber"),
              "Supplement invalid refnr", e == SOAP_OK ? out.result : NULL);
        in.referenceNumber = refnr;
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___supi__SupplementLicenseMotivation(
            s, url("SupplementLicenseMotivation"), NULL, &in, &out);
        check(CALL_OK(e, s) && is_ok(out.result) &&
                  status_is(s, out.caseStatus, "K"),
              "Supplement valid", e == SOAP_OK ? out.result : NULL);
    }
    gw_soap_pool_put(ehr2, s, 1);
    s = gw_soap_pool_get(cur = lv);
    {
        struct rcr__ReportCaseRegisteredType in;
        struct rcr__ReportCaseRegisteredResponseType out;
        struct rde__ReportDecisionType din;
        struct rde__ReportDecisionResponseType dout;
        soap_default_rcr__ReportCaseRegisteredType(s, &in);
        in.messageId = "gsoap-reg-2";
        in.referenceNumber = refnr;
        in.registration = payload(s, "application-registered.xml", refnr);
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___rcri__ReportCaseRegistered(
            s, url("ReportCaseRegistered"), NULL, &in, &out);
        check(CALL_OK(e, s) && is_ok(out.result), "Registered again",
              e == SOAP_OK ? out.result : NULL);
        soap_default_rde__ReportDecisionType(s, &din);
        din.messageId = "gsoap dec";
        din.referenceNumber = refnr;
        din.decision = payload(s, "decision-avs.xml", refnr);
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___rdei__ReportDecision(s, url("ReportDecision"), NULL,
                                             &din, &dout);
        check(CALL_OK(e, s) && refused(dout.result, "messageId"),
              "ReportDecision invalid messageId",
              e == SOAP_OK ? dout.result : NULL);
        din.messageId = "gsoap-dec-1";
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___rdei__ReportDecision(s, url("ReportDecision"), NULL,
                                             &din, &dout);
        check(CALL_OK(e, s) && is_ok(dout.result) &&
                  status_is(s, dout.caseStatus, "Avs"),
              "ReportDecision valid (Avs)", e == SOAP_OK ? dout.result : NULL);
    }
    gw_soap_pool_put(lv, s, 1);
    /* CheckLicense, RecordDispensing (pharmacy). This case ended in Avs;
     * the licence that covers the patient is the one the zeep test (run
     * first) had granted, and CheckLicense names it. */
    s = gw_soap_pool_get(cur = apo);
    {
        struct chl__CheckLicenseType in;
        struct chl__CheckLicenseResponseType out;
        struct rdp__RecordDispensingType din;
        struct rdp__RecordDispensingResponseType dout;
        char licence[16] = "";
        soap_default_chl__CheckLicenseType(s, &in);
        in.productId = "20130603015935";
        in.patientId = "201006301111";
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___chli__CheckLicense(s, url("CheckLicense"), NULL, &in,
                                           &out);
        check(CALL_OK(e, s) && is_ok(out.result) && out.covered &&
                  *out.covered == xsd__boolean__true_ &&
                  out.core__referenceNumber && out.core__remainingAmount &&
                  out.core__unit && strcmp(out.core__unit, "ml") == 0,
              "CheckLicense valid (covered)", e == SOAP_OK ? out.result : NULL);
        if (e == SOAP_OK && out.core__referenceNumber)
            snprintf(licence, sizeof(licence), "%s", out.core__referenceNumber);
        soap_default_rdp__RecordDispensingType(s, &din);
        din.dispensingId = "gsoap-disp-1";
        din.referenceNumber = licence;
        din.amount = "1.5";
        din.kind = rdp__DispensingKindType__prescription;
        din.patientId = "201006301111";
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___rdpi__RecordDispensing(s, url("RecordDispensing"), NULL,
                                               &din, &dout);
        check(CALL_OK(e, s) && is_ok(dout.result) && dout.recorded &&
                  *dout.recorded == xsd__boolean__true_ &&
                  dout.core__referenceNumber &&
                  strcmp(dout.core__referenceNumber, licence) == 0,
              "RecordDispensing valid", e == SOAP_OK ? dout.result : NULL);
        din.dispensingId = "gsoap-disp-2";
        din.referenceNumber = refnr; /* not granted */
        if (gw_soap_pool_rearm(cur, s) != GW_OK)
            return 2;
        e = soap_call___rdpi__RecordDispensing(s, url("RecordDispensing"), NULL,
                                               &din, &dout);
        check(CALL_OK(e, s) && dout.result &&
                  dout.result->resultCode == core__ResultCodeEnum__ERROR &&
                  dout.result->errorCode &&
                  *dout.result->errorCode ==
                      core__ErrorCodeEnum__APPLICATION_USCOREERROR,
              "RecordDispensing on a licence not granted",
              e == SOAP_OK ? dout.result : NULL);
    }
    gw_soap_pool_put(apo, s, 1);
    if (pki != NULL) {
        struct gw_soap_pool *none, *rogue;
        none = pool_as("serial:SE2321000016-EHR1", "SE2321000016-DOC1", NULL);
        rogue =
            pool_as("serial:SE2321000016-EHR1", "SE2321000016-DOC1", "rogue");
        refused_without(none, "no client certificate");
        refused_without(rogue, "a certificate of another CA");
        gw_soap_pool_free(none);
        gw_soap_pool_free(rogue);
    }
    for (int i = 0; i < nanswered; i++)
        printf("called: %s\n", answered[i]);
    gw_soap_pool_free(ehr1);
    gw_soap_pool_free(ehr2);
    gw_soap_pool_free(apo);
    gw_soap_pool_free(lv);
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
