/*
 * page_faults.c - a target for cpc tests: touches N fresh anonymous pages (one minor page
 * fault each) ROUNDS times, unmapping them between rounds, then prints its own minor-fault
 * count from getrusage ("minflt N").
 *
 * Usage: page_faults [N [ROUNDS]]   (defaults 100000, 1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  long rounds = argc > 2 ? atol(argv[2]) : 1;
  for (long r = 0; r < rounds; r++) {
    volatile char *p = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    for (long i = 0; i < n; i++) p[i * 4096] = 1;
    munmap((void *)p, (size_t)n * 4096);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("minflt %ld\n", ru.ru_minflt);
  return 0;
}
