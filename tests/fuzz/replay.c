/*
 * replay — the main() of a fuzz target when it is not built with libFuzzer
 * (-Dfuzz=false, the default: gcc, the normal and the ASan builds).
 *
 * Each argument is a file or a directory (its regular files, in name order, not
 * recursive); every file is passed once to LLVMFuzzerTestOneInput(), in a buffer of
 * exactly its size, as libFuzzer would (so an over-read shows under ASan). A target's
 * LLVMFuzzerInitialize(), when it has one, runs first. A crash or an abort() in the
 * target fails the meson test; the line naming the input comes first, so the log
 * shows which file did it. Exit status 0 when every input ran, 1 when an argument
 * could not be read (a corpus that vanished must not pass as empty).
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_MAX_BYTES (64u * 1024 * 1024)

/* Runs one file; false when it cannot be read. */
static bool run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return false;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > REPLAY_MAX_BYTES) {
        fprintf(stderr, "replay: %s: not a readable file of at most 64 MiB\n", path);
        fclose(f);
        return false;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size ? size : 1);
    bool ok = data && fread(data, 1, size, f) == size;
    fclose(f);
    if (ok) {
        printf("replay: %s (%zu bytes)\n", path, size);
        fflush(stdout);
        LLVMFuzzerTestOneInput(data, size);
    } else {
        fprintf(stderr, "replay: cannot read %s\n", path);
    }
    free(data);
    return ok;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of `dir`; the number run, or -1 when it cannot be read. */
static long run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        names[n] = strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    long run = 0;
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            ok = run_file(path) && ok;
            run++;
        }
        free(names[i]);
    }
    free(names);
    return ok ? run : -1;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    long total = 0;
    bool ok = true;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            long n = run_dir(argv[i]);
            ok = n >= 0 && ok;
            total += n > 0 ? n : 0;
        } else {
            ok = run_file(argv[i]) && ok;
            total++;
        }
    }
    printf("replay: %ld input(s) ran clean\n", total);
    return ok ? 0 : 1;
}
