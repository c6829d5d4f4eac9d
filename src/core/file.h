/*
 * file.h - the one way the gateway reads a whole file (certificates, the
 * CapabilityStatement, contracts, checkpoints, messages to validate):
 * under a cap named by the caller, NUL-terminated, errno kept.
 */
#ifndef GW_CORE_FILE_H
#define GW_CORE_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

/* Reads all of the file at path ("-": standard input) into *out
 * (NUL-terminated, caller frees) with its length in *len. GW_OK;
 * GW_ETOOLARGE when it holds more than max bytes: then *out still holds
 * the first max + 1 (so that a validator can refuse it in its own words);
 * GW_EIO when it cannot be opened (errno says why) or on a read error,
 * GW_ENOMEM; *out NULL on both. */
gw_rc gw_file_read(const char *path, size_t max, char **out,
                   size_t *len) GW_WARN_UNUSED;

#endif
