/*
 * array.c - growing an array by doubling (array.h).
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/array.h"

void *
gw_array_grow(void *arr, size_t *cap, size_t n, size_t elem_size,
              size_t first)
{
    size_t ncap;
    void *g;

    if (n < *cap)
        return arr;
    ncap = *cap ? *cap : first;
    if (*cap != 0) {
        if (*cap > SIZE_MAX / 2)
            return NULL;
        ncap = *cap * 2;
    }
    if (ncap == 0 || elem_size == 0 || ncap > SIZE_MAX / elem_size)
        return NULL;
    if ((g = realloc(arr, ncap * elem_size)) == NULL)
        return NULL;
    *cap = ncap;
    return g;
}
