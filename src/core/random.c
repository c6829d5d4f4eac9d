/*
 * random.c - getrandom(2) wrappers. Blocks only before the kernel's pool is
 * initialised at boot, never afterwards.
 */
#include "core/random.h"

#include <errno.h>
#include <sys/random.h>

#include "core/hex.h"

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
    /* 8-4-4-4-12 digits: each group's NUL is the next dash. */
    gw_hex(b, 4, out);
    out[8] = '-';
    gw_hex(b + 4, 2, out + 9);
    out[13] = '-';
    gw_hex(b + 6, 2, out + 14);
    out[18] = '-';
    gw_hex(b + 8, 2, out + 19);
    out[23] = '-';
    gw_hex(b + 10, 6, out + 24);
    return GW_OK;
}
