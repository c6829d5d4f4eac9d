/*
 * cmd_audit.c - `klasgw audit verify | export [--case REFNR] [--since T]`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/store_cli.h"
#include "sched/clock.h"

struct export_ctx {
    struct gw_buf *out;
    int first;
};

static gw_rc
export_one(void *arg, const struct gw_audit_record *r)
{
    struct export_ctx *x = arg;
    gw_rc rc = gw_buf_append_str(x->out, x->first ? "\n    {\"resource\": "
                                                  : ",\n    {\"resource\": ");

    x->first = 0;
    if (rc == GW_OK)
        rc = gw_audit_to_fhir(r, x->out);
    if (rc == GW_OK)
        rc = gw_buf_append_str(x->out, "}");
    return rc;
}

int
gw_cmd_audit(struct gw_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"case", required_argument, NULL, 'c'},
        {"since", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *sub = argc > 1 ? argv[1] : "", *refnr = NULL;
    struct gw_store *st;
    int64_t since = 0;
    int c, status;

    if (strcmp(sub, "verify") != 0 && strcmp(sub, "export") != 0) {
        gw_cli_print_command_help("audit", stderr);
        return GW_EXIT_USAGE;
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c' && strcmp(sub, "export") == 0) {
            refnr = optarg;
        } else if (c == 's' && strcmp(sub, "export") == 0 &&
                   gw_clock_parse(optarg, &since) == GW_OK) {
            continue;
        } else {
            gw_cli_print_command_help("audit", stderr);
            return GW_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "klasgw audit: unexpected argument '%s'\n",
                argv[optind]);
        return GW_EXIT_USAGE;
    }
    if (gw_cli_open_store(cli, 0, &st) != GW_OK)
        return GW_EXIT_FAIL;
    if (strcmp(sub, "verify") == 0) {
        struct gw_err err;
        long long n = 0;
        gw_err_clear(&err);
        if (gw_store_audit_verify(st, &n, &err) == GW_OK) {
            printf("audit log intact: %lld record%s, chain and head verified\n",
                   n, n == 1 ? "" : "s");
            status = GW_EXIT_OK;
        } else {
            printf("AUDIT LOG BROKEN after %lld good record%s: %s\n", n,
                   n == 1 ? "" : "s",
                   err.detail[0] ? err.detail : "cannot read the audit log");
            status = GW_EXIT_FAIL;
        }
    } else {
        struct gw_buf out;
        struct export_ctx x = {&out, 1};
        gw_buf_init(&out, (size_t)1 << 30);
        /* FHIR has no empty arrays: "entry" only when there are records. */
        gw_rc rc = gw_buf_append_str(&out, "{\"resourceType\": \"Bundle\", "
                                           "\"type\": \"collection\", "
                                           "\"entry\": [");
        if (rc == GW_OK)
            rc = gw_store_audit_each(st, refnr, since, export_one, &x);
        if (rc == GW_OK && x.first) {
            gw_buf_reset(&out);
            rc = gw_buf_append_str(&out, "{\"resourceType\": \"Bundle\", "
                                         "\"type\": \"collection\"}\n");
        } else if (rc == GW_OK) {
            rc = gw_buf_append_str(&out, "\n]}\n");
        }
        if (rc == GW_OK) {
            fwrite(out.data, 1, out.len, stdout);
            status = GW_EXIT_OK;
        } else {
            fprintf(stderr, "klasgw audit export: %s\n", gw_rc_message(rc));
            status = GW_EXIT_FAIL;
        }
        gw_buf_release(&out);
    }
    gw_store_close(st);
    return status;
}
