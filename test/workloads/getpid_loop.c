/*
 * getpid_loop.c - a target for syscall-provider tests: makes exactly N getpid system calls.
 *
 * Usage: getpid_loop [N [DELAY_MS]]
 *   N         number of syscall(SYS_getpid) calls (default 100000)
 *   DELAY_MS  sleep this long before the first call (default 0), so that a tracer started
 *             alongside (not with -c) has time to attach
 *
 * It calls syscall(SYS_getpid) directly, not getpid(): the libc wrapper is a plain syscall
 * today, but going through syscall() guarantees one kernel entry per iteration. It prints
 * nothing (a tracer's -c output must not be mixed with ours) and exits 0; usage errors exit 2.
 * Built by test/helpers/workloads.ts with gcc -O2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long parse_count(const char *text, const char *what) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 0) {
        fprintf(stderr, "getpid_loop: bad %s '%s'\n", what, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv) {
    if (argc > 3) {
        fprintf(stderr, "usage: getpid_loop [N [DELAY_MS]]\n");
        return 2;
    }
    long calls = argc > 1 ? parse_count(argv[1], "N") : 100000;
    long delay_ms = argc > 2 ? parse_count(argv[2], "DELAY_MS") : 0;
    if (delay_ms > 0) {
        struct timespec delay = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
        while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {
        }
    }
    for (long i = 0; i < calls; i++) syscall(SYS_getpid);
    return 0;
}
