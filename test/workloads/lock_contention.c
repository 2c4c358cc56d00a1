/*
 * lock_contention.c - a target for the lockstat tests: WAITERS threads sleep on one kernel mutex
 * (a pipe's pipe->mutex) while its holder sleeps with it held. The holder writes into the pipe
 * from a page registered with userfaultfd, so the kernel's copy from that page stops, mutex held,
 * until this program resolves the fault; meanwhile every waiter's write(2) blocks in
 * mutex_lock. Once all waiters are asleep (state D in /proc), it resolves the fault and
 * everyone finishes. Prints "waiters N blocked N".
 *
 * Usage: lock_contention [WAITERS]   (default 4; needs userfaultfd: root, or the sysctl)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define MAX_WAITERS 32

static int fds[2];
static char *trap;
static volatile pid_t waiter_tid[MAX_WAITERS];

static void die(const char *what) { perror(what); exit(1); }

static void *holder(void *arg) {
  (void)arg;
  if (write(fds[1], trap, PAGE) != PAGE) die("holder write");
  return NULL;
}

static void *waiter(void *arg) {
  long i = (long)arg;
  char buf[100];
  memset(buf, 'w', sizeof buf);
  waiter_tid[i] = (pid_t)syscall(SYS_gettid);
  if (write(fds[1], buf, sizeof buf) != sizeof buf) die("waiter write");
  return NULL;
}

/* Whether thread `tid` of this process is in uninterruptible sleep (a mutex wait). */
static int asleep(pid_t tid) {
  char path[64], stat[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, stat, sizeof stat - 1);
  close(fd);
  if (n <= 0) return 0;
  stat[n] = 0;
  char *paren = strrchr(stat, ')');
  return paren && paren[1] == ' ' && paren[2] == 'D';
}

static void pause_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  long waiters = argc > 1 ? atol(argv[1]) : 4;
  if (waiters < 1 || waiters > MAX_WAITERS) return 2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(fds) < 0) die("pipe");
  int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
  if (uffd < 0) die("userfaultfd");
  struct uffdio_api api = { .api = UFFD_API };
  if (ioctl(uffd, UFFDIO_API, &api) < 0) die("UFFDIO_API");
  trap = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (trap == MAP_FAILED) die("mmap");
  struct uffdio_register reg = { .range = { (unsigned long)trap, PAGE }, .mode = UFFDIO_REGISTER_MODE_MISSING };
  if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) die("UFFDIO_REGISTER");

  pthread_t h, w[MAX_WAITERS];
  pthread_create(&h, NULL, holder, NULL);
  // The holder's fault arrives as a message once its copy has stopped, pipe mutex held.
  struct uffd_msg msg;
  if (read(uffd, &msg, sizeof msg) != sizeof msg || msg.event != UFFD_EVENT_PAGEFAULT) die("read uffd");
  for (long i = 0; i < waiters; i++) pthread_create(&w[i], NULL, waiter, (void *)i);
  long blocked = 0;
  for (int tries = 0; tries < 2000 && blocked < waiters; tries++) {
    pause_ms(10);
    blocked = 0;
    for (long i = 0; i < waiters; i++) blocked += waiter_tid[i] != 0 && asleep(waiter_tid[i]);
  }
  pause_ms(20);
  struct uffdio_zeropage zero = { .range = { (unsigned long)trap, PAGE } };
  if (ioctl(uffd, UFFDIO_ZEROPAGE, &zero) < 0) die("UFFDIO_ZEROPAGE");
  pthread_join(h, NULL);
  for (long i = 0; i < waiters; i++) pthread_join(w[i], NULL);
  printf("waiters %ld blocked %ld\n", waiters, blocked);
  return 0;
}
