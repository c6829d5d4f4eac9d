/*
 * words.c - word lists (see words.h).
 */
#include "core/words.h"

#include <string.h>

int
gw_word_listed(const char *list, const char *seps, const char *w, size_t n)
{
    if (list == NULL || n == 0)
        return 0;
    while (*list) {
        size_t k;
        list += strspn(list, seps);
        k = strcspn(list, seps);
        if (k == n && memcmp(list, w, n) == 0)
            return 1;
        list += k;
    }
    return 0;
}
