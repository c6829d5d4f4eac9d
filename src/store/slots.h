/*
 * slots.h - a pool's free list: n numbered slots (connections) that
 * threads take and give back, the free ones on a stack under one mutex.
 * SQLite's readers (db.c) and PostgreSQL's connections (pg.c) are each
 * an array beside one of these; the array is the caller's.
 */
#ifndef GW_STORE_SLOTS_H
#define GW_STORE_SLOTS_H

#include <pthread.h>

#include "core/err.h"

struct gw_slots {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int *free, nfree;
};

/* Room for n slots, none free yet: give each one once it is ready. */
gw_rc gw_slots_init(struct gw_slots *s, int n) GW_WARN_UNUSED;
void gw_slots_destroy(struct gw_slots *s);
/* A free slot's number, waiting for one: at most wait_ms (then -1), or
 * as long as it takes when wait_ms < 0. */
int gw_slots_take(struct gw_slots *s, long wait_ms);
/* Slot i is free again (or for the first time). */
void gw_slots_give(struct gw_slots *s, int i);

#endif
