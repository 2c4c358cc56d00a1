/*
 * fork_tree N K LOG MODE: a process that makes others, for the tests of pid$target and USDT
 * probes following the -c target's forks. Every process it makes calls thefunc() K times
 * (firing forks:::tick before each call when built with -DFORKS_USDT and the header
 * `dtrace -h` makes of `provider forks { probe tick(int); };`) and appends "<pid> <role>\n"
 * to LOG. The target calls it K times at its start and K times once its children are done.
 *
 * MODE fork:   N children, each forking one grandchild.
 * MODE vfork:  N vfork children (in the parent's memory until they _exit).
 * MODE exec:   N children, each exec'ing this file anew (MODE after-exec: K calls, exit).
 * MODE thread: N threads, each forking one child.
 * MODE hold:   N children, each waiting for the file LOG.release before it exits; the target
 *              then waits for LOG.done before it exits (30 s at most each).
 * MODE wait-fork: waits (30 s at most) for the file LOG.go to exist, then as fork (a -p target).
 * MODE orphan: one child that forks a grandchild and exits; the grandchild waits (10 s at
 *              most) for the target to be gone and for no tracer to hold it, then calls
 *              thefunc() K times and logs "orphan" (or "orphan-still-traced").
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#ifdef FORKS_USDT
#include "forks.h"
#else
#define FORKS_TICK(x) ((void)(x))
#endif

static const char *log_path;
static int calls;

__attribute__((noinline)) int thefunc(int x) {
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

static void work(const char *role) {
	volatile int sum = 0;
	for (int i = 0; i < calls; i++) {
		FORKS_TICK(i);
		sum += thefunc(i);
	}
	char line[64];
	int n = snprintf(line, sizeof line, "%d %s\n", (int)getpid(), role);
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd >= 0) {
		(void)!write(fd, line, n);
		close(fd);
	}
}

/* TracerPid of /proc/self/status (-1 when it cannot be read). */
static int tracer_pid(void) {
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int pid = -1;
	if (!f) return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "TracerPid: %d", &pid) == 1) break;
	fclose(f);
	return pid;
}

/* Waits (30 s at most) for the file LOG<suffix> to exist. */
static void wait_for_file(const char *suffix) {
	char path[4096];
	snprintf(path, sizeof path, "%s%s", log_path, suffix);
	for (int i = 0; i < 3000 && access(path, F_OK) != 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, 0);
	}
}

static void *thread_main(void *arg) {
	(void)arg;
	pid_t p = fork();
	if (p == 0) {
		work("child");
		_exit(0);
	}
	if (p > 0) waitpid(p, 0, 0);
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 5) {
		fprintf(stderr, "usage: %s N K LOG fork|vfork|exec|thread|orphan\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[1]);
	const char *mode = argv[4];
	calls = atoi(argv[2]);
	log_path = argv[3];
	if (n > 64) n = 64;
	if (strcmp(mode, "after-exec") == 0) {
		work("after-exec");
		return 0;
	}
	if (strcmp(mode, "wait-fork") == 0) {
		wait_for_file(".go");
		mode = "fork";
	}
	work("parent");
	if (strcmp(mode, "thread") == 0) {
		pthread_t threads[64];
		for (int i = 0; i < n; i++) pthread_create(&threads[i], 0, thread_main, 0);
		for (int i = 0; i < n; i++) pthread_join(threads[i], 0);
	} else if (strcmp(mode, "orphan") == 0) {
		pid_t target = getpid();
		pid_t p = fork();
		if (p == 0) {
			if (fork() == 0) {
				/* Outlive the target (and the tracing it ends). */
				for (int i = 0; i < 1000 && (kill(target, 0) == 0 || tracer_pid() != 0); i++) {
					struct timespec ts = { 0, 10 * 1000 * 1000 };
					nanosleep(&ts, 0);
				}
				work(tracer_pid() == 0 ? "orphan" : "orphan-still-traced");
				_exit(0);
			}
			_exit(0);
		}
		waitpid(p, 0, 0);
		return 0;
	} else {
		pid_t kids[64];
		int vf = strcmp(mode, "vfork") == 0;
		for (int i = 0; i < n; i++) {
			pid_t p = vf ? vfork() : fork();
			if (p < 0) {
				perror("fork");
				return 1;
			}
			if (p == 0) {
				work("child");
				if (vf) _exit(0);
				if (strcmp(mode, "hold") == 0) {
					wait_for_file(".release");
					_exit(0);
				}
				if (strcmp(mode, "exec") == 0) {
					execl("/proc/self/exe", argv[0], argv[1], argv[2], argv[3], "after-exec", (char *)0);
					_exit(127);
				}
				pid_t g = fork();
				if (g == 0) {
					work("grandchild");
					_exit(0);
				}
				waitpid(g, 0, 0);
				_exit(0);
			}
			kids[i] = p;
		}
		for (int i = 0; i < n; i++) waitpid(kids[i], 0, 0);
	}
	work("parent-again");
	if (strcmp(mode, "hold") == 0) wait_for_file(".done");
	return 0;
}
