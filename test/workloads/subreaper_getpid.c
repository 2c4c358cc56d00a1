/*
 * subreaper_getpid.c - a target for the CO-RE loader tests: makes itself a child subreaper
 * (prctl(PR_SET_CHILD_SUBREAPER), which sets the signal_struct bit-field is_child_subreaper),
 * waits for one byte on stdin (the tracer has attached), then makes exactly N getpid system
 * calls and exits 0. Usage: subreaper_getpid N. Built by test/helpers/workloads.ts.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1;
    char byte;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return 3;
    if (read(0, &byte, 1) != 1) return 4;
    for (long i = 0; i < n; i++) syscall(SYS_getpid);
    return 0;
}
