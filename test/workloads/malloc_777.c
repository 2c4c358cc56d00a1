/*
 * Exactly 777 calls to malloc (sizes 1000..1006) and nothing else: a -c target's pid$target
 * probes must count these and none of whatever started it.
 */
#include <stdlib.h>

int main(void) {
  for (int i = 0; i < 777; i++) {
    void *volatile p = malloc(1000 + i % 7);
    free(p);
  }
  return 0;
}
