/*
 * test_soap_envelope.c - the strict SOAP envelope reader (map/envelope.c):
 * both versions, the LogicalAddress header, and every malformed shape
 * refused naming the part; then every truncation and single bit flip of a
 * valid envelope ends in an envelope or a clean refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map/envelope.h"

#define S11 "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""
#define S12 "xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\""
#define ITR "xmlns:itr=\"urn:riv:itintegration:registry:1\""
#define LA(v) "<itr:LogicalAddress>" v "</itr:LogicalAddress>"

struct env_case {
    const char *name, *in;
    gw_rc rc;
    int version;
    const char *logical_address; /* expected when GW_OK */
    const char *path;            /* expected err.path on refusal */
};

static const struct env_case cases[] = {
    {"SOAP 1.1 with header",
     "<s:Envelope " S11 " " ITR
     "><s:Header>" LA("SE1") "</s:Header><s:Body><a/></s:Body></s:Envelope>",
     GW_OK, GW_SOAP_11, "SE1", NULL},
    {"SOAP 1.2, address trimmed",
     "<s:Envelope " S12 " " ITR "><s:Header>" LA(
         "\n SE2 \t") "</s:Header><s:Body> <a/> </s:Body></s:Envelope>",
     GW_OK, GW_SOAP_12, "SE2", NULL},
    {"no header", "<s:Envelope " S11 "><s:Body><a/></s:Body></s:Envelope>",
     GW_OK, GW_SOAP_11, "", NULL},
    {"other header ignored",
     "<s:Envelope " S11 "><s:Header><x xmlns=\"urn:x\"/>"
     "</s:Header><s:Body><a/></s:Body></s:Envelope>",
     GW_OK, GW_SOAP_11, "", NULL},
    {"not an envelope", "<a/>", GW_EPARSE, 0, NULL, "Envelope"},
    {"no namespace", "<Envelope><Body><a/></Body></Envelope>", GW_EPARSE, 0,
     NULL, "Envelope"},
    {"no body", "<s:Envelope " S11 "><s:Header/></s:Envelope>", GW_EPARSE, 0,
     NULL, "Body"},
    {"empty body", "<s:Envelope " S11 "><s:Body/></s:Envelope>", GW_EPARSE, 0,
     NULL, "Body"},
    {"two body elements",
     "<s:Envelope " S11 "><s:Body><a/><b/></s:Body>"
     "</s:Envelope>",
     GW_EPARSE, 0, NULL, "Body"},
    {"text in body", "<s:Envelope " S11 "><s:Body>x<a/></s:Body></s:Envelope>",
     GW_EPARSE, 0, NULL, "Body"},
    {"text after the body element",
     "<s:Envelope " S11 "><s:Body><a/>x</s:Body></s:Envelope>", GW_EPARSE, 0,
     NULL, "Body"},
    {"text in the envelope",
     "<s:Envelope " S11 "><s:Body><a/></s:Body>x</s:Envelope>", GW_EPARSE, 0,
     NULL, "Envelope"},
    {"two bodies",
     "<s:Envelope " S11 "><s:Body><a/></s:Body><s:Body><a/>"
     "</s:Body></s:Envelope>",
     GW_EPARSE, 0, NULL, "Envelope"},
    {"header after body",
     "<s:Envelope " S11 "><s:Body><a/></s:Body>"
     "<s:Header/></s:Envelope>",
     GW_EPARSE, 0, NULL, "Envelope"},
    {"mixed versions",
     "<s:Envelope " S11 " xmlns:t=\"http://www.w3.org/2003/"
     "05/soap-envelope\"><t:Body><a/></t:Body></s:Envelope>",
     GW_EPARSE, 0, NULL, "Envelope"},
    {"address twice",
     "<s:Envelope " S11 " " ITR "><s:Header>" LA("a")
         LA("b") "</s:Header><s:Body><a/></s:Body></s:Envelope>",
     GW_EPARSE, 0, NULL, "Header/LogicalAddress"},
    {"address with markup",
     "<s:Envelope " S11 " " ITR "><s:Header>"
     "<itr:LogicalAddress><b/></itr:LogicalAddress></s:Header><s:Body><a/>"
     "</s:Body></s:Envelope>",
     GW_EPARSE, 0, NULL, "Header/LogicalAddress"},
    {"address too long",
     "<s:Envelope " S11 " " ITR "><s:Header>" LA(
         "012345678901234567890123456789012345678901234567890123456789012345678"
         "9"
         "0123456789") "</s:Header><s:Body><a/></s:Body></s:Envelope>",
     GW_EPARSE, 0, NULL, "Header/LogicalAddress"},
    {"mustUnderstand not understood",
     "<s:Envelope " S11 "><s:Header><x "
     "xmlns=\"urn:x\" s:mustUnderstand=\"1\"/></s:Header><s:Body><a/></s:Body>"
     "</s:Envelope>",
     GW_EINVAL, 0, NULL, "Header"},
    {"DOCTYPE",
     "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"f\">]>"
     "<s:Envelope " S11 "><s:Body><a/></s:Body></s:Envelope>",
     GW_EPARSE, 0, NULL, ""},
    {"not XML", "hello", GW_EPARSE, 0, NULL, ""},
};

static void
test_soap_envelope_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct env_case *t = &cases[i];
        struct gw_soap_env env;
        struct gw_err err;
        gw_rc rc;

        gw_err_clear(&err);
        rc = gw_soap_envelope_parse(t->in, strlen(t->in), NULL, &env, &err);
        if (rc != t->rc) {
            print_error("case '%s': rc %s (%s: %s)\n", t->name, gw_rc_name(rc),
                        err.path, err.detail);
            fail();
        }
        if (rc == GW_OK) {
            if ((int)env.version != t->version ||
                strcmp(env.logical_address, t->logical_address) != 0 ||
                !gw_xml_root_is(env.body, NULL, "a")) {
                print_error("case '%s': version %d address '%s'\n", t->name,
                            env.version, env.logical_address);
                fail();
            }
            gw_soap_envelope_release(&env);
        } else if (strcmp(err.path, t->path) != 0 || err.detail[0] == '\0' ||
                   env.body != NULL) {
            print_error("case '%s': path '%s' detail '%s'\n", t->name, err.path,
                        err.detail);
            fail();
        }
    }
}

static void
test_soap_envelope_survives_truncation_and_bit_flips(void **state)
{
    const char *in = cases[1].in;
    size_t n = strlen(in);
    char *buf = malloc(n + 1);

    (void)state;
    assert_non_null(buf);
    for (size_t cut = 0; cut < n; cut++) {
        struct gw_soap_env env;
        struct gw_err err;
        gw_err_clear(&err);
        assert_int_not_equal(gw_soap_envelope_parse(in, cut, NULL, &env, &err),
                             GW_OK);
        assert_true(err.detail[0] != '\0');
    }
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            struct gw_soap_env env;
            struct gw_err err;
            memcpy(buf, in, n);
            buf[i] ^= (char)(1 << bit);
            gw_err_clear(&err);
            if (gw_soap_envelope_parse(buf, n, NULL, &env, &err) == GW_OK) {
                assert_non_null(env.body);
                gw_soap_envelope_release(&env);
            } else {
                assert_true(err.detail[0] != '\0');
            }
        }
    }
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soap_envelope_table),
        cmocka_unit_test(test_soap_envelope_survives_truncation_and_bit_flips),
    };
    gw_fhir_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
