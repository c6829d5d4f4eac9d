/*
 * Replay driver for the fuzz targets when libFuzzer is not available (gcc
 * builds): feeds every file of the corpus directories (or files) named on the
 * command line to LLVMFuzzerTestOneInput, then also every truncation of each
 * file and a bit flip per byte, so a plain ctest run exercises the parser's
 * error paths under the sanitizers. It proves no crash, nothing more.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL, *copy = NULL;
    long n;
    size_t i, step;

    if (f == NULL)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    data = malloc((size_t)n + 1);
    copy = malloc((size_t)n + 1);
    if (data == NULL || copy == NULL || fread(data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(data);
        free(copy);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, (size_t)n);
    /* Truncations and bit flips, strided so big fixtures stay quick. */
    step = (size_t)n / 64 + 1;
    for (i = 0; i < (size_t)n; i += step) {
        memcpy(copy, data, i);
        LLVMFuzzerTestOneInput(copy, i);
        memcpy(copy, data, (size_t)n);
        copy[i] ^= (uint8_t)(1u << (i % 8));
        LLVMFuzzerTestOneInput(copy, (size_t)n);
    }
    free(data);
    free(copy);
    return 0;
}

int
main(int argc, char **argv)
{
    int files = 0;

    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            fprintf(stderr, "replay: %s: not found\n", argv[a]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[a]);
            struct dirent *e;
            char path[4096];
            if (d == NULL)
                return 1;
            while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof(path), "%s/%s", argv[a], e->d_name);
                if (run_file(path) == 0)
                    files++;
            }
            closedir(d);
        } else if (run_file(argv[a]) == 0) {
            files++;
        }
    }
    printf("replay: %d corpus files, no crash\n", files);
    return files > 0 ? 0 : 1;
}
