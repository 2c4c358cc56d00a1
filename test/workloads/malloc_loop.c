/*
 * malloc_loop.c - a target for pid-provider (uprobe) tests: calls malloc/free exactly N
 * times, each pair through one call of the non-inlined function malloc_free_once().
 *
 * Usage: malloc_loop [N [SIZE_BYTES [DELAY_MS]]]
 *   N           number of malloc_free_once() calls (default 100000)
 *   SIZE_BYTES  size passed to malloc (default 64); it is malloc_free_once's first argument
 *               (arg0) and its return value is SIZE_BYTES + 1, so probes can check both
 *   DELAY_MS    sleep this long before the first call (default 0)
 *
 * malloc_free_once is a global, noipa (= noinline, noclone, no inter-procedural
 * optimisation) function, so it keeps its symbol, its calling convention and one call per
 * iteration. The pointer escapes through an empty asm so GCC cannot fold the malloc/free
 * pair away. libc itself may call malloc a few more times (e.g. at start-up); count calls to
 * malloc_free_once, or malloc calls made from it, when an exact number matters.
 * Prints nothing; exits 0 (1 if malloc fails, 2 on usage errors).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noipa)) long malloc_free_once(long size_bytes) {
    char *block = malloc((size_t)size_bytes);
    if (block == NULL) return -1;
    block[0] = 1;
    __asm__ volatile("" : : "r"(block) : "memory");
    free(block);
    return size_bytes + 1;
}

static long parse_count(const char *text, const char *what) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 0) {
        fprintf(stderr, "malloc_loop: bad %s '%s'\n", what, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv) {
    if (argc > 4) {
        fprintf(stderr, "usage: malloc_loop [N [SIZE_BYTES [DELAY_MS]]]\n");
        return 2;
    }
    long calls = argc > 1 ? parse_count(argv[1], "N") : 100000;
    long size_bytes = argc > 2 ? parse_count(argv[2], "SIZE_BYTES") : 64;
    long delay_ms = argc > 3 ? parse_count(argv[3], "DELAY_MS") : 0;
    if (size_bytes < 1) size_bytes = 1;
    if (delay_ms > 0) {
        struct timespec delay = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
        while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {
        }
    }
    for (long i = 0; i < calls; i++) {
        if (malloc_free_once(size_bytes) < 0) return 1;
    }
    return 0;
}
