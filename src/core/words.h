/*
 * words.h - word lists in configuration values and query parameters
 * ("a, b c"): whether a word is one of them.
 */
#ifndef GW_CORE_WORDS_H
#define GW_CORE_WORDS_H

#include <stddef.h>

/* Whether w (n bytes, n > 0) is one of the words of list (NULL: none),
 * separated by runs of the characters of seps. */
int gw_word_listed(const char *list, const char *seps, const char *w,
                   size_t n);

#endif
