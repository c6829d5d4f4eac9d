/*
 * array.h - room for one more element in a growable array (array.c): the
 * doubling every list that is filled one element at a time shares.
 */
#ifndef GW_CORE_ARRAY_H
#define GW_CORE_ARRAY_H

#include <stddef.h>

/*
 * arr holds n elements of elem_size bytes in room for *cap. Returns arr
 * when there is room for element n, else arr grown (first elements the
 * first time, then twice *cap; *cap updated); NULL when memory runs out
 * or the size would overflow, arr and *cap then as they were (the caller
 * still owns and frees arr).
 */
void *gw_array_grow(void *arr, size_t *cap, size_t n, size_t elem_size,
                    size_t first);

#endif
