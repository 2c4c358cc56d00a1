/*
 * cpu_hot.c - a CPU-bound target for profiling tests: each round spends ~90 % of its time in
 * hot_spin() and ~10 % in cold_spin(), both called from main.
 *
 * Usage: cpu_hot [ROUNDS]   (default 40; one round is ~10 million loop iterations)
 * Built with frame pointers so user stacks unwind; prints nothing and exits 0.
 */
#include <stdlib.h>

static volatile unsigned long sink;

__attribute__((noinline)) void hot_spin(long n) {
    for (long i = 0; i < n; i++) sink += (unsigned long)i * 7;
}

__attribute__((noinline)) void cold_spin(long n) {
    for (long i = 0; i < n; i++) sink += (unsigned long)i * 3;
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 40;
    for (long k = 0; k < rounds; k++) {
        hot_spin(9000000);
        cold_spin(1000000);
    }
    return 0;
}
