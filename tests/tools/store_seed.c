/*
 * store_seed.c - fills a database with N synthetic motivations (status M),
 * each with one outbox item for peer "lv", for the operator-command tests.
 *
 *   store_seed DB N
 *
 * Prints the referensnummer of each case, one a line.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../unit/store_fixture.h"
#include "core/log.h"
#include "store/store.h"
#include "store/write.h"

int
main(int argc, char **argv)
{
    struct gw_store *st;
    struct gw_err err;
    int n = argc > 2 ? atoi(argv[2]) : 0;

    if (argc != 3 || n <= 0) {
        fprintf(stderr, "usage: store_seed DB N\n");
        return 2;
    }
    gw_log_set_level(GW_LOG_WARN);
    if (gw_store_open(argv[1], NULL, &st, &err) != GW_OK) {
        fprintf(stderr, "store_seed: %s\n", err.detail);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char msgid[32], ob[40];
        struct gw_store_outbox_new o = {ob, "lv", "application", "<a/>", 4, NULL};
        struct gw_store_write w;
        struct gw_store_result r;
        snprintf(msgid, sizeof(msgid), "seed-%d", i);
        snprintf(ob, sizeof(ob), "ob-seed-%d", i);
        motivation_write(&w, msgid, "h", "SE2321000016-DOC1", "Seeddrug");
        w.outbox = &o;
        w.noutbox = 1;
        if (gw_store_write(st, &w, &r) != GW_OK) {
            fprintf(stderr, "store_seed: %s\n", r.err.detail);
            return 1;
        }
        printf("%s\n", r.refnr);
        gw_store_result_release(&r);
    }
    gw_store_close(st);
    return 0;
}
