/*
 * fuzz_soap_envelope.c - libFuzzer target for the inbound SOAP envelope
 * reader (map/envelope.c): any input must end in an envelope with exactly
 * one Body element, or a clean refusal naming its reason; an accepted
 * envelope must have a version and a LogicalAddress that fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"
#include "map/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    struct gw_soap_env env;
    struct gw_err err;

    if (!init) {
        gw_fhir_init();
        init = 1;
    }
    gw_err_clear(&err);
    if (gw_soap_envelope_parse((const char *)data, size, NULL, &env, &err) !=
        GW_OK) {
        if (err.detail[0] == '\0' || env.body != NULL)
            abort(); /* a reason, and nothing left to free */
        return 0;
    }
    if ((env.version != GW_SOAP_11 && env.version != GW_SOAP_12) ||
        env.body == NULL || gw_xml_root_name(env.body)[0] == '\0' ||
        memchr(env.logical_address, '\0', sizeof(env.logical_address)) == NULL)
        abort();
    gw_soap_envelope_release(&env);
    return 0;
}
