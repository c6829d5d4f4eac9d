/*
 * random.c - getrandom(2) wrappers. Blocks only before the kernel's pool is
 * initialised at boot, never afterwards.
 */
#include "core/random.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

gw_rc
gw_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return GW_EIO;
        }
        p += got;
        n -= (size_t)got;
    }
    return GW_OK;
}

gw_rc
gw_random_uuid(char out[37])
{
    unsigned char b[16];
    gw_rc rc = gw_random_bytes(b, sizeof(b));

    if (rc != GW_OK)
        return rc;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
    return GW_OK;
}
