/*
 * thread.h - stopping a thread that waits on a condition variable until
 * a flag asks it to end: a ticker's (ticker.c) and the SQLite
 * checkpointer's (store/db.c).
 */
#ifndef GW_CORE_THREAD_H
#define GW_CORE_THREAD_H

#include <pthread.h>

/* Sets *stop under mu, wakes thread t, which waits on cv under mu and
 * reads *stop under it, and returns once t has ended (joined). */
void gw_thread_stop(pthread_t t, pthread_mutex_t *mu, pthread_cond_t *cv,
                    int *stop);

#endif
