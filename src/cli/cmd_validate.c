/*
 * cmd_validate.c - `klasgw validate [--format json|xml|text] FILE...`:
 * validates message Bundles without storing anything.
 * Exit: 0 every file valid, 1 some file invalid, 2 unusable input.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/file.h"
#include "validate/validate.h"

int
gw_cmd_validate(struct gw_cli *cli, int argc, char **argv)
{
    const char *format = "text";
    struct gw_validator *v = NULL;
    struct gw_fhir_limits lim;
    struct gw_err err;
    char xsd[1024];
    int c, status = GW_EXIT_OK;

    while ((c = gw_cli_getopt("validate", argc, argv)) != -1) {
        if (c == 'f' && (strcmp(optarg, "json") == 0 ||
                         strcmp(optarg, "xml") == 0 ||
                         strcmp(optarg, "text") == 0)) {
            format = optarg;
        } else {
            return gw_cli_usage("validate");
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "klasgw validate: name at least one file (- for "
                        "standard input)\n");
        return GW_EXIT_USAGE;
    }
    if (gw_cli_load_config(cli) != GW_OK)
        return GW_EXIT_USAGE;
    gw_cli_limits(&cli->cfg, &lim);
    gw_err_clear(&err);
    if (gw_config_data_path(&cli->cfg, "fhir-profiles/xsd/fhir-klas.xsd", xsd,
                            sizeof(xsd)) != GW_OK ||
        gw_validator_new(xsd, &v, &err) != GW_OK) {
        fprintf(stderr, "klasgw validate: %s\n",
                err.detail[0] ? err.detail : "cannot load the schema");
        return GW_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        struct gw_outcome o;
        struct gw_fhir_doc *oo = NULL;
        size_t len;
        char *bytes = NULL, *text = NULL;
        /* Over the cap, its first max + 1 bytes: the validator refuses
         * them as too large in its own words. */
        gw_rc rc = gw_file_read(argv[i], lim.max_bytes, &bytes, &len);

        if (rc != GW_OK && rc != GW_ETOOLARGE) {
            fprintf(stderr, "klasgw validate: %s: cannot read\n", argv[i]);
            status = GW_EXIT_USAGE;
            continue;
        }
        gw_outcome_init(&o);
        rc = gw_validate_bytes(v, bytes, len, &lim, NULL, &o, NULL);
        free(bytes);
        if (strcmp(format, "text") == 0) {
            printf("%s: %s\n", argv[i],
                   rc == GW_OK ? "valid"
                   : rc == GW_EVALIDATION ? "INVALID"
                                          : "UNUSABLE");
            gw_outcome_print_text(&o, stdout);
        } else if (gw_outcome_to_doc(&o, &oo) == GW_OK &&
                   (strcmp(format, "json") == 0
                        ? gw_fhir_to_json(oo, &text, &len)
                        : gw_fhir_to_xml(oo, &text, &len)) == GW_OK) {
            fwrite(text, 1, len, stdout);
        }
        free(text);
        gw_fhir_doc_free(oo);
        gw_outcome_release(&o);
        if (rc == GW_EVALIDATION) {
            if (status == GW_EXIT_OK)
                status = GW_EXIT_FAIL;
        } else if (rc != GW_OK) {
            status = GW_EXIT_USAGE;
        }
    }
    gw_validator_free(v);
    return status;
}
