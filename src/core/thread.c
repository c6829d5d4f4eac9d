/*
 * thread.c - stopping a waiting thread (see thread.h).
 */
#include "core/thread.h"

void
gw_thread_stop(pthread_t t, pthread_mutex_t *mu, pthread_cond_t *cv, int *stop)
{
    pthread_mutex_lock(mu);
    *stop = 1;
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
    pthread_join(t, NULL);
}
