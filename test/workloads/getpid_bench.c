/*
 * getpid_bench.c - the benchmark workload of bench/run.mjs: timed getpid system calls.
 *
 * Usage:
 *   getpid_bench loop N         N x syscall(SYS_getpid) as fast as possible; prints
 *                               "calls=N ns_total=T ns_per_call=X end_ns=E"
 *   getpid_bench paced N RATE   N calls paced at RATE calls/s by a spin loop (RATE 0 =
 *                               unpaced); prints "calls=N ns_total=T rate=R end_ns=E"
 *   getpid_bench keys N         N calls of syscall(SYS_getpid, i) for i = 0..N-1: getpid
 *                               ignores its arguments, but a probe on syscall entry sees i
 *                               as arg0 -- one distinct aggregation key per call
 *
 * Only the loop is timed (CLOCK_MONOTONIC), so process start-up and the tracer's start and
 * stop are not in ns/call. end_ns is CLOCK_MONOTONIC when the loop ended, comparable with
 * Node's process.hrtime (also CLOCK_MONOTONIC on Linux).
 * With WAIT_SIGUSR1=1 in the environment it first prints "ready PID" and blocks until
 * SIGUSR1, so a tracer can be started with the pid in a predicate and attached first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

static void wait_for_start_signal(void) {
    const char *wait = getenv("WAIT_SIGUSR1");
    if (wait == NULL || strcmp(wait, "1") != 0) return;
    sigset_t start_signal;
    sigemptyset(&start_signal);
    sigaddset(&start_signal, SIGUSR1);
    /* Blocked before "ready" is printed, so a signal sent right after cannot be lost. */
    sigprocmask(SIG_BLOCK, &start_signal, NULL);
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    int received;
    sigwait(&start_signal, &received);
}

static long parse_count(const char *text) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 0) {
        fprintf(stderr, "getpid_bench: bad number '%s'\n", text);
        exit(2);
    }
    return value;
}

static int usage(void) {
    fprintf(stderr, "usage: getpid_bench loop N | paced N RATE | keys N\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 3) return usage();
    const char *mode = argv[1];
    long calls = parse_count(argv[2]);
    if (strcmp(mode, "loop") == 0 && argc == 3) {
        wait_for_start_signal();
        uint64_t start_ns = monotonic_ns();
        for (long i = 0; i < calls; i++) syscall(SYS_getpid);
        uint64_t end_ns = monotonic_ns();
        double per_call = calls > 0 ? (double)(end_ns - start_ns) / (double)calls : 0.0;
        printf("calls=%ld ns_total=%llu ns_per_call=%.2f end_ns=%llu\n", calls,
               (unsigned long long)(end_ns - start_ns), per_call, (unsigned long long)end_ns);
        return 0;
    }
    if (strcmp(mode, "paced") == 0 && argc == 4) {
        double rate = atof(argv[3]);
        wait_for_start_signal();
        uint64_t start_ns = monotonic_ns();
        if (rate <= 0) {
            for (long i = 0; i < calls; i++) syscall(SYS_getpid);
        } else {
            double interval_ns = 1e9 / rate;
            for (long i = 0; i < calls; i++) {
                uint64_t due_ns = start_ns + (uint64_t)(interval_ns * (double)i);
                /* Spin, not sleep: a sleep's wake-up latency dwarfs 2.5-40 us intervals. */
                while (monotonic_ns() < due_ns) {
                }
                syscall(SYS_getpid);
            }
        }
        uint64_t end_ns = monotonic_ns();
        double achieved = end_ns > start_ns ? (double)calls * 1e9 / (double)(end_ns - start_ns) : 0.0;
        printf("calls=%ld ns_total=%llu rate=%.0f end_ns=%llu\n", calls,
               (unsigned long long)(end_ns - start_ns), achieved, (unsigned long long)end_ns);
        return 0;
    }
    if (strcmp(mode, "keys") == 0 && argc == 3) {
        wait_for_start_signal();
        uint64_t start_ns = monotonic_ns();
        for (long i = 0; i < calls; i++) syscall(SYS_getpid, i);
        uint64_t end_ns = monotonic_ns();
        printf("calls=%ld ns_total=%llu end_ns=%llu\n", calls,
               (unsigned long long)(end_ns - start_ns), (unsigned long long)end_ns);
        return 0;
    }
    return usage();
}
