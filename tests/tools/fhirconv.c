/*
 * fhirconv.c - prints a FHIR file in canonical JSON or XML, or why it is
 * refused: `fhirconv --to json|xml FILE`. For fixtures and scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"

int
main(int argc, char **argv)
{
    struct gw_fhir_doc *doc;
    struct gw_err err;
    char *in = NULL, *out = NULL;
    size_t n = 0, cap = 0, got;
    FILE *f;
    gw_rc rc;

    if (argc != 4 || strcmp(argv[1], "--to") != 0 ||
        (strcmp(argv[2], "json") != 0 && strcmp(argv[2], "xml") != 0)) {
        fprintf(stderr, "usage: fhirconv --to json|xml FILE\n");
        return 2;
    }
    f = strcmp(argv[3], "-") == 0 ? stdin : fopen(argv[3], "rb");
    if (f == NULL) {
        perror(argv[3]);
        return 2;
    }
    do {
        if (n == cap && (in = realloc(in, cap = cap ? cap * 2 : 65536)) == NULL)
            return 2;
        got = fread(in + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (f != stdin)
        fclose(f);
    gw_fhir_init();
    gw_err_clear(&err);
    rc = gw_fhir_parse(in, n, GW_FHIR_SNIFF, NULL, &doc, &err);
    free(in);
    if (rc != GW_OK) {
        fprintf(stderr, "%s: %s: %s%s%s\n", argv[3], gw_rc_name(rc),
                err.path, err.path[0] ? ": " : "", err.detail);
        return 1;
    }
    rc = strcmp(argv[2], "json") == 0 ? gw_fhir_to_json(doc, &out, &n)
                                      : gw_fhir_to_xml(doc, &out, &n);
    gw_fhir_doc_free(doc);
    if (rc != GW_OK) {
        fprintf(stderr, "%s: cannot write %s: %s\n", argv[3], argv[2],
                gw_rc_name(rc));
        return 1;
    }
    fwrite(out, 1, n, stdout);
    free(out);
    return 0;
}
