/*
 * file.c - reading a whole file under a cap (see file.h). It grows its
 * buffer as bytes come, so a pipe or a file that changes while it is read
 * is handled the same as a regular one, and never holds more than
 * max + 1 bytes. A regular file's first buffer is its size (+ 1, to see
 * it grow): no doubling, so no copy of a large file from one buffer to
 * the next (jemalloc copies where glibc's mremap did not: 40 MB read at
 * a 95 MB peak, tests/bench/bench_limits.sh).
 */
#include "core/file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* All of f (gw_file_read's contract). */
static gw_rc
read_stream(FILE *f, size_t max, char **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0, cap = 0, got, first = 65536;
    struct stat sb;
    gw_rc rc = GW_OK;

    *out = NULL;
    *len = 0;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= 0)
        first = (size_t)sb.st_size < max ? (size_t)sb.st_size + 1 : max + 1;
    for (;;) {
        if (n == cap) {
            char *g;
            if (cap == max + 1) {
                rc = GW_ETOOLARGE;
                break;
            }
            cap = cap ? cap * 2 : first;
            if (cap > max + 1)
                cap = max + 1;
            g = realloc(buf, cap + 1);
            if (g == NULL) {
                rc = GW_ENOMEM;
                goto out;
            }
            buf = g;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                rc = GW_EIO;
                goto out;
            }
            break;
        }
    }
    if (buf == NULL && (buf = malloc(1)) == NULL) {
        rc = GW_ENOMEM;
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    return rc;
}

gw_rc
gw_file_read(const char *path, size_t max, char **out, size_t *len)
{
    int stdin_ = strcmp(path, "-") == 0;
    FILE *f = stdin_ ? stdin : fopen(path, "rb");
    int saved;
    gw_rc rc;

    *out = NULL;
    *len = 0;
    if (f == NULL)
        return GW_EIO;
    rc = read_stream(f, max, out, len);
    saved = errno;
    if (!stdin_)
        fclose(f);
    errno = saved;
    return rc;
}
