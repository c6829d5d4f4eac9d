/*
 * slots.c - a pool's free list (see slots.h).
 */
#include "store/slots.h"

#include <stdlib.h>
#include <time.h>

#include "core/clock.h"

gw_rc
gw_slots_init(struct gw_slots *s, int n)
{
    s->nfree = 0;
    s->free = calloc(n > 0 ? (size_t)n : 1, sizeof(*s->free));
    if (s->free == NULL)
        return GW_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    return GW_OK;
}

void
gw_slots_destroy(struct gw_slots *s)
{
    if (s->free == NULL)
        return;
    free(s->free);
    s->free = NULL;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

int
gw_slots_take(struct gw_slots *s, long wait_ms)
{
    struct timespec until;
    int i = -1;

    if (wait_ms >= 0)
        gw_clock_deadline(&until, wait_ms);
    pthread_mutex_lock(&s->mu);
    while (s->nfree == 0)
        if (wait_ms < 0)
            pthread_cond_wait(&s->cv, &s->mu);
        else if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0)
            break;
    if (s->nfree > 0)
        i = s->free[--s->nfree];
    pthread_mutex_unlock(&s->mu);
    return i;
}

void
gw_slots_give(struct gw_slots *s, int i)
{
    pthread_mutex_lock(&s->mu);
    s->free[s->nfree++] = i;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}
