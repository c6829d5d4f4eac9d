/*
 * cmd_audit.c - `klasgw audit verify [--checkpoint FILE]... | checkpoint
 * [--out FILE] | export [--case REFNR] [--since T]`.
 *
 * Checkpoints are small signed text files (audit/audit.h); verify reads
 * each given one, checks its signature with the key, and then that the
 * chain still holds its record unchanged. At most GW_AUDIT_MAX_CHECKPOINTS
 * per run, each at most 1 KiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/store_cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/file.h"
#include "store/audit_log.h"
#include "store/store.h"

#define GW_AUDIT_MAX_CHECKPOINTS 64
#define GW_AUDIT_CHECKPOINT_MAX_BYTES 1024

/* Reads and checks one checkpoint file; prints why on failure. */
static gw_rc
read_checkpoint(const char *path, struct gw_audit_checkpoint *cp)
{
    char *text = NULL;
    struct gw_err err;
    size_t n;
    gw_rc rc = gw_file_read(path, GW_AUDIT_CHECKPOINT_MAX_BYTES, &text, &n);

    if (rc == GW_EIO || rc == GW_ENOMEM) {
        fprintf(stderr, "klasgw audit: cannot read %s: %s\n", path,
                strerror(errno));
        return GW_EIO;
    }
    gw_err_clear(&err);
    if (rc == GW_ETOOLARGE)
        rc = gw_err_set(&err, GW_ETOOLARGE, NULL,
                        "not a klasgw audit "
                        "checkpoint (too large)");
    else
        rc = gw_audit_checkpoint_parse(text, n, cp, &err);
    free(text);
    if (rc != GW_OK)
        fprintf(stderr, "klasgw audit: checkpoint %s: %s\n", path,
                err.detail[0] ? err.detail : gw_rc_message(rc));
    return rc;
}

/* Writes text to path (new file, 0600) or stdout. */
static gw_rc
write_out(const char *path, const struct gw_buf *b)
{
    int fd;
    ssize_t w;

    if (path == NULL)
        return fwrite(b->data, 1, b->len, stdout) == b->len ? GW_OK : GW_EIO;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "klasgw audit checkpoint: cannot create %s: %s\n", path,
                strerror(errno));
        return GW_EIO;
    }
    w = write(fd, b->data, b->len);
    if (w != (ssize_t)b->len || fsync(fd) != 0) {
        close(fd);
        fprintf(stderr, "klasgw audit checkpoint: cannot write %s\n", path);
        return GW_EIO;
    }
    return close(fd) == 0 ? GW_OK : GW_EIO;
}

static int
do_verify(struct gw_store *st, const struct gw_audit_checkpoint *cps,
          size_t ncps)
{
    long long n = 0, keyed_from = 0;
    struct gw_err err;

    gw_err_clear(&err);
    if (gw_store_audit_verify_at(st, cps, ncps, &n, &keyed_from, NULL, NULL,
                                 &err) != GW_OK) {
        printf("AUDIT LOG BROKEN after %lld good record%s: %s\n", n,
               n == 1 ? "" : "s",
               err.detail[0] ? err.detail : "cannot read the audit log");
        return GW_EXIT_FAIL;
    }
    printf("audit log intact: %lld record%s, chain and head verified", n,
           n == 1 ? "" : "s");
    if (keyed_from > 0)
        printf("; keyed from record %lld", keyed_from);
    else if (n > 0)
        printf("; NOT keyed (no audit.key_file)");
    if (ncps > 0)
        printf("; %zu checkpoint%s matched", ncps, ncps == 1 ? "" : "s");
    printf("\n");
    return GW_EXIT_OK;
}

static int
do_checkpoint(struct gw_store *st, const char *out_path)
{
    struct gw_audit_checkpoint cp;
    long long n = 0, keyed_from = 0;
    struct gw_err err;
    struct gw_buf b;
    int status = GW_EXIT_FAIL;

    if (!gw_audit_keyed()) {
        fprintf(stderr, "klasgw audit checkpoint: needs the audit key "
                        "(audit.key_file)\n");
        return GW_EXIT_FAIL;
    }
    memset(&cp, 0, sizeof(cp));
    gw_err_clear(&err);
    /* Never sign a head that does not verify. */
    if (gw_store_audit_verify_at(st, NULL, 0, &n, &keyed_from, &cp.seq, cp.hash,
                                 &err) != GW_OK) {
        printf("AUDIT LOG BROKEN after %lld good record%s: %s\n", n,
               n == 1 ? "" : "s",
               err.detail[0] ? err.detail : "cannot read the audit log");
        return GW_EXIT_FAIL;
    }
    if (cp.seq == 0) {
        fprintf(stderr, "klasgw audit checkpoint: the audit log is empty\n");
        return GW_EXIT_FAIL;
    }
    cp.at_ms = gw_clock_now_ms();
    gw_buf_init(&b, 4096);
    if (gw_audit_checkpoint_format(&cp, &b) == GW_OK &&
        write_out(out_path, &b) == GW_OK) {
        status = GW_EXIT_OK;
        if (out_path != NULL)
            printf("checkpoint of record %lld written to %s\n",
                   (long long)cp.seq, out_path);
    }
    gw_buf_release(&b);
    return status;
}

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
    const char *sub = argc > 1 ? argv[1] : "", *refnr = NULL, *out = NULL;
    const char *cp_paths[GW_AUDIT_MAX_CHECKPOINTS];
    struct gw_audit_checkpoint cps[GW_AUDIT_MAX_CHECKPOINTS];
    size_t ncps = 0;
    struct gw_store *st;
    int open_status;
    int64_t since = 0;
    int c, status = GW_EXIT_FAIL;

    if (strcmp(sub, "verify") != 0 && strcmp(sub, "export") != 0 &&
        strcmp(sub, "checkpoint") != 0)
        return gw_cli_usage("audit");
    optind = 2;
    while ((c = gw_cli_getopt("audit", argc, argv)) != -1) {
        if (c == 'c' && strcmp(sub, "export") == 0) {
            refnr = optarg;
        } else if (c == 's' && strcmp(sub, "export") == 0 &&
                   gw_clock_parse(optarg, &since) == GW_OK) {
            continue;
        } else if (c == 'k' && strcmp(sub, "verify") == 0 &&
                   ncps < GW_AUDIT_MAX_CHECKPOINTS) {
            cp_paths[ncps++] = optarg;
        } else if (c == 'o' && strcmp(sub, "checkpoint") == 0) {
            out = optarg;
        } else {
            return gw_cli_usage("audit");
        }
    }
    open_status = gw_cli_store_command(cli, "audit", argc, argv, optind, &st);
    if (open_status != GW_EXIT_OK)
        return open_status;
    for (size_t i = 0; i < ncps; i++)
        if (read_checkpoint(cp_paths[i], &cps[i]) != GW_OK) {
            printf("AUDIT CHECKPOINT %s REFUSED\n", cp_paths[i]);
            goto out;
        }
    if (strcmp(sub, "verify") == 0) {
        status = do_verify(st, cps, ncps);
    } else if (strcmp(sub, "checkpoint") == 0) {
        status = do_checkpoint(st, out);
    } else {
        struct gw_buf buf;
        struct export_ctx x = {&buf, 1};
        gw_buf_init(&buf, (size_t)1 << 30);
        /* FHIR has no empty arrays: "entry" only when there are records. */
        gw_rc rc = gw_buf_append_str(&buf, "{\"resourceType\": \"Bundle\", "
                                           "\"type\": \"collection\", "
                                           "\"entry\": [");
        if (rc == GW_OK)
            rc = gw_store_audit_each(st, refnr, since, export_one, &x);
        if (rc == GW_OK && x.first) {
            gw_buf_reset(&buf);
            rc = gw_buf_append_str(&buf, "{\"resourceType\": \"Bundle\", "
                                         "\"type\": \"collection\"}\n");
        } else if (rc == GW_OK) {
            rc = gw_buf_append_str(&buf, "\n]}\n");
        }
        if (rc == GW_OK) {
            fwrite(buf.data, 1, buf.len, stdout);
            status = GW_EXIT_OK;
        } else {
            fprintf(stderr, "klasgw audit export: %s\n", gw_rc_message(rc));
            status = GW_EXIT_FAIL;
        }
        gw_buf_release(&buf);
    }
out:
    gw_store_close(st);
    gw_audit_key_clear();
    return status;
}
