/*
 * fuzz_fhir.h - the one body of the FHIR parser fuzz targets
 * (fuzz_fhir_json.c, fuzz_fhir_xml.c), parametrised by the input format:
 * any input must end in a document or a clean refusal with a reason; an
 * accepted document must convert to JSON and XML, and its JSON must parse
 * again.
 */
#ifndef GW_FUZZ_FHIR_H
#define GW_FUZZ_FHIR_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_fhir(const uint8_t *data, size_t size, enum gw_fhir_format fmt)
{
    static int init;
    struct gw_fhir_doc *doc = NULL, *again = NULL;
    struct gw_err err;
    char *json = NULL, *xml = NULL;
    size_t jn, xn;

    if (!init) {
        gw_fhir_init();
        init = 1;
    }
    gw_err_clear(&err);
    if (gw_fhir_parse((const char *)data, size, fmt, NULL, &doc, &err) !=
        GW_OK) {
        if (err.detail[0] == '\0')
            abort(); /* every refusal names its reason */
        return 0;
    }
    if (gw_fhir_to_json(doc, &json, &jn) != GW_OK ||
        gw_fhir_to_xml(doc, &xml, &xn) != GW_OK)
        abort();
    if (gw_fhir_parse(json, jn, GW_FHIR_JSON, NULL, &again, &err) != GW_OK)
        abort(); /* what we write, we read */
    gw_fhir_doc_free(again);
    gw_fhir_doc_free(doc);
    free(json);
    free(xml);
    return 0;
}

#endif
