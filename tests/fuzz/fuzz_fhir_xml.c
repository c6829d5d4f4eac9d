/*
 * fuzz_fhir_xml.c - libFuzzer target for the FHIR XML parser (the body is
 * fuzz_fhir.h, shared with the other format).
 */
#include "fuzz_fhir.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_fhir(data, size, GW_FHIR_XML);
}
