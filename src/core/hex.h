/*
 * hex.h - bytes written as lowercase hexadecimal.
 */
#ifndef GW_CORE_HEX_H
#define GW_CORE_HEX_H

#include <stddef.h>

/* Writes the n bytes at p as 2n lowercase hex digits and a NUL into out
 * (2n + 1 bytes): what n snprintf("%02x") calls write, without them. */
void gw_hex(const void *p, size_t n, char *out);

#endif
