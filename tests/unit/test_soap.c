/*
 * test_soap.c - the SOAP front (src/soap/soap.c) without HTTP: requests
 * straight into gw_soap_handle over the pipeline fixture (a real store,
 * validator and views; HSA is the fixture's fake hook), answers read as
 * text. The contracts and stylesheets are the real ones of wsdl/, xslt/.
 */
#include "pipeline_fixture.h"

#include "soap/soap.h"

#include <dirent.h>

#define S11 "http://schemas.xmlsoap.org/soap/envelope/"
#define S12 "http://www.w3.org/2003/05/soap-envelope"

struct ts {
    struct t *t;
    struct gw_soap *soap;
};

static int
setup(void **state)
{
    struct ts *s = calloc(1, sizeof(*s));
    struct gw_soap_opts o;
    struct gw_err err;
    void *pt = NULL;

    if (s == NULL || pipeline_setup(&pt) != 0)
        return -1;
    s->t = pt;
    memset(&o, 0, sizeof(o));
    o.wsdl_dir = GW_SOURCE_DIR "/wsdl";
    o.xslt_dir = GW_SOURCE_DIR "/xslt";
    o.pipeline = s->t->pl;
    gw_fhir_limits_default(&o.limits);
    gw_err_clear(&err);
    if (gw_soap_new(&o, &s->soap, &err) != GW_OK)
        return -1;
    *state = s;
    return 0;
}

static int
teardown(void **state)
{
    struct ts *s = *state;
    void *pt = s->t;

    gw_soap_free(s->soap);
    free(s);
    return pipeline_teardown(&pt);
}

/* A SOAP 1.1 (or 1.2) request of interaction name with body inner. */
static char *
envelope(const char *name, const char *ns, const char *inner, int header,
         int v12)
{
    size_t n = strlen(inner) + 1024;
    char *e = malloc(n);

    assert_non_null(e);
    snprintf(e, n,
             "<s:Envelope xmlns:s=\"%s\" "
             "xmlns:itr=\"urn:riv:itintegration:registry:1\" "
             "xmlns:r=\"%s\">%s<s:Body><r:%s>%s</r:%s></s:Body>"
             "</s:Envelope>",
             v12 ? S12 : S11, ns,
             header ? "<s:Header><itr:LogicalAddress>SE2321000016-KLAS"
                      "</itr:LogicalAddress></s:Header>"
                    : "",
             name, inner, name);
    return e;
}

#define KLAS(n) "urn:riv:klas:" n "Responder:1"
#define PING_NS                                                                \
    "urn:riv:itintegration:monitoring:PingForConfigurationResponder:1"
#define PING_IN "<r:logicalAddress>SE2321000016-KLAS</r:logicalAddress>"

static void
call(struct ts *s, const struct gw_principal *who, const char *name,
     const char *ctype, const char *body, struct gw_soap_reply *rep)
{
    const struct gw_call c = {who, BASE, "req-1", GW_FHIR_XML};

    gw_soap_handle(s->soap, &c, name, ctype, body, strlen(body), rep);
    assert_non_null(rep->body);
}

static void
test_soap_ping_answers_and_refuses_with_faults(void **state)
{
    struct ts *s = *state;
    struct gw_soap_reply rep;
    char *e;

    e = envelope("PingForConfiguration", PING_NS, PING_IN, 1, 0);
    call(s, &ehr1, "PingForConfiguration", "text/xml", e, &rep);
    assert_int_equal(rep.status, 200);
    assert_string_equal(rep.result, "OK");
    assert_non_null(strstr(rep.body, "PingForConfigurationResponse"));
    gw_soap_reply_release(&rep);
    free(e);
    /* No LogicalAddress: its response has no result, so a fault. */
    e = envelope("PingForConfiguration", PING_NS, PING_IN, 0, 0);
    call(s, &ehr1, "PingForConfiguration", "text/xml", e, &rep);
    assert_int_equal(rep.status, 500);
    assert_string_equal(rep.result, "FAULT");
    assert_string_equal(rep.error_id, "INVALID_REQUEST");
    assert_non_null(strstr(rep.body, "<faultcode>soap:Client</faultcode>"));
    assert_null(strstr(rep.body, "PingForConfigurationResponse"));
    gw_soap_reply_release(&rep);
    free(e);
}

static void
test_soap_refusal_before_the_pipeline_names_the_field(void **state)
{
    struct ts *s = *state;
    struct gw_soap_reply rep;
    char *e;

    e = envelope("GetLicenseCases", KLAS("GetLicenseCases"), "", 0, 0);
    call(s, &ehr1, "GetLicenseCases", "text/xml", e, &rep);
    assert_int_equal(rep.status, 200);
    assert_string_equal(rep.result, "ERROR");
    assert_string_equal(rep.error_id, "INVALID_REQUEST");
    assert_non_null(strstr(rep.body, ">INVALID_REQUEST</core:errorCode>"));
    assert_non_null(strstr(rep.body, ">EVALIDATION</core:subCode>"));
    assert_non_null(strstr(rep.body, ">req-1</core:logId>"));
    assert_non_null(strstr(rep.body, "Header/LogicalAddress"));
    gw_soap_reply_release(&rep);
    free(e);
}

static void
test_soap_who_may_call_is_klas_access(void **state)
{
    struct ts *s = *state;
    struct gw_soap_reply rep;
    char *e;

    /* GetLicenseCases is the prescriber's EHR's (GW_OP_MY_CASES). */
    e = envelope("GetLicenseCases", KLAS("GetLicenseCases"), "", 1, 0);
    call(s, &pharm1, "GetLicenseCases", "text/xml", e, &rep);
    assert_string_equal(rep.result, "ERROR");
    assert_string_equal(rep.error_id, "APPLICATION_ERROR");
    assert_non_null(strstr(rep.body, "prescriber's EHR"));
    gw_soap_reply_release(&rep);
    call(s, &ehr1, "GetLicenseCases", "text/xml", e, &rep);
    assert_string_equal(rep.result, "OK");
    gw_soap_reply_release(&rep);
    free(e);
}

static void
test_soap_submit_stores_only_what_hsa_allows(void **state)
{
    struct ts *s = *state;
    struct gw_soap_reply rep;
    char *msg, *inner, *e;
    size_t n;

    msg = message(s->t, "motivation-enskild-searched.xml", NULL, NULL, NULL);
    msg = text_replace(msg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "");
    n = strlen(msg) + 200;
    inner = malloc(n);
    assert_non_null(inner);
    snprintf(inner, n,
             "<r:messageId>unit-1</r:messageId><r:licenseMotivation>%s"
             "</r:licenseMotivation>",
             msg);
    e = envelope("SubmitLicenseMotivation", KLAS("SubmitLicenseMotivation"),
                 inner, 1, 1);
    /* HSA refuses: APPLICATION_ERROR, nothing stored. */
    s->t->hsa.rc = GW_ENOTAUTHORISED;
    call(s, &ehr1, "SubmitLicenseMotivation",
         "application/soap+xml; charset=utf-8", e, &rep);
    assert_int_equal(rep.status, 200);
    assert_string_equal(rep.content_type,
                        "application/soap+xml; charset=utf-8");
    assert_string_equal(rep.error_id, "APPLICATION_ERROR");
    assert_non_null(strstr(rep.body, ">ENOTAUTHORISED</core:subCode>"));
    assert_int_equal(case_count(s->t), 0);
    gw_soap_reply_release(&rep);
    /* HSA allows: OK with a reference number, one case. */
    s->t->hsa.rc = GW_OK;
    call(s, &ehr1, "SubmitLicenseMotivation",
         "application/soap+xml; charset=utf-8", e, &rep);
    assert_string_equal(rep.result, "OK");
    assert_non_null(strstr(rep.body, S12));
    assert_non_null(strstr(rep.body, "<referenceNumber>"));
    assert_int_equal(case_count(s->t), 1);
    gw_soap_reply_release(&rep);
    free(e);
    free(inner);
    free(msg);
}

static void
test_soap_serves_only_what_it_produces(void **state)
{
    struct ts *s = *state;
    struct gw_soap_reply rep;
    static const char *const consumer_side[] = {
        "RegisterLicenseApplication", "RegisterLicenseSupplement",
        "GetCredentialsForPersonIncludingProtectedPerson"};

    for (size_t i = 0; i < N(consumer_side); i++) {
        assert_int_equal(
            gw_soap_contract(s->soap, consumer_side[i], 1, "http://x", &rep),
            GW_ENOTFOUND);
        call(s, &lv, consumer_side[i], "text/xml", "<x/>", &rep);
        assert_int_equal(rep.status, 404);
        gw_soap_reply_release(&rep);
    }
    assert_int_equal(gw_soap_contract(s->soap, "GetLicenseCases", 1,
                                      "http://gw.example", &rep),
                     GW_OK);
    assert_non_null(strstr(rep.body, "http://gw.example/soap/GetLicenseCases"));
    gw_soap_reply_release(&rep);
}

static void
test_soap_refusal_is_a_fault_of_the_version(void **state)
{
    struct gw_soap_reply rep;
    (void)state;

    gw_soap_refusal(NULL, GW_EUNAUTH, "no client certificate", &rep);
    assert_int_equal(rep.status, 401);
    assert_string_equal(rep.content_type, "text/xml; charset=utf-8");
    assert_non_null(strstr(rep.body, S11));
    assert_non_null(strstr(rep.body, "soap:Client"));
    assert_non_null(strstr(rep.body, "no client certificate"));
    gw_soap_reply_release(&rep);
    gw_soap_refusal("application/soap+xml", GW_EBUSY, NULL, &rep);
    assert_int_equal(rep.status, 503);
    assert_non_null(strstr(rep.body, S12));
    assert_non_null(strstr(rep.body, "soap:Receiver"));
    assert_string_equal(rep.error_id, "TECHNICAL_ERROR");
    gw_soap_reply_release(&rep);
}

/* Walks the contracts the gateway ships (wsdl/schemas/interactions/):
 * every interaction it serves refuses a request without its RIV-TA
 * LogicalAddress before the pipeline, and that refusal is audited and
 * counted like any other. Interactions it does not serve (the ones it
 * calls: LV's, HSA's) answer 404 and are skipped. */
static void
test_soap_every_refusal_is_audited_and_counted(void **state)
{
    struct ts *s = *state;
    DIR *d = opendir(GW_SOURCE_DIR "/wsdl/schemas/interactions");
    struct dirent *de;
    int served = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char name[128], ns[256];
        struct gw_soap_reply rep;
        long long n0, a0;
        size_t l = strlen(de->d_name);
        char *e;

        if (l <= 11 || strcmp(de->d_name + l - 11, "Interaction") != 0)
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(l - 11), de->d_name);
        if (strcmp(name, "PingForConfiguration") == 0)
            snprintf(ns, sizeof(ns), "%s", PING_NS);
        else
            snprintf(ns, sizeof(ns), "urn:riv:klas:%sResponder:1", name);
        n0 = refusals_total();
        a0 = refusals_audited(s->t, ehr1.label);
        e = envelope(name, ns, "", 0, 0);
        call(s, &ehr1, name, "text/xml", e, &rep);
        free(e);
        if (rep.status == 404) {
            gw_soap_reply_release(&rep);
            continue;
        }
        if (strcmp(rep.result, "OK") == 0)
            fail_msg("%s: not refused", name);
        gw_soap_reply_release(&rep);
        if (refusals_total() != n0 + 1)
            fail_msg("%s: refused, counted %lld times", name,
                     refusals_total() - n0);
        if (refusals_audited(s->t, ehr1.label) != a0 + 1)
            fail_msg("%s: refused, audited %lld times", name,
                     refusals_audited(s->t, ehr1.label) - a0);
        served++;
    }
    closedir(d);
    assert_true(served >= 10);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_soap_ping_answers_and_refuses_with_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_soap_refusal_before_the_pipeline_names_the_field, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_soap_who_may_call_is_klas_access,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_soap_submit_stores_only_what_hsa_allows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_soap_serves_only_what_it_produces,
                                        setup, teardown),
        cmocka_unit_test(test_soap_refusal_is_a_fault_of_the_version),
        cmocka_unit_test_setup_teardown(
            test_soap_every_refusal_is_audited_and_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
