/* bench/memprobe.so (from bench/preload/memprobe.c): the soak's view of a daemon's heap, from inside it.
 * Bench only: never linked into vfagent; serve_bench soak puts it in the
 * daemon's LD_PRELOAD when BENCH_MEMPROBE names it (bench/lab.sh does).
 *
 * At load it reads VFAGENT_MEMPROBE=PATH, removes that and LD_PRELOAD from
 * the environment (so nothing the daemon execs loads it again) and starts
 * one thread that reads command bytes from the FIFO PATH.fifo (made by the
 * bench) and appends one line per command to PATH:
 *   'm'  the heap in use and in total, in bytes:
 *          "asan used=N heap=N free=N unmapped=N" under a sanitizer build
 *          (__sanitizer_get_current_allocated_bytes ...: what the program
 *          holds, apart from what ASan's allocator keeps mapped), else
 *          "glibc used=N heap=N free=N mmap=N" (mallinfo2: uordblks +
 *          hblkhd, arena + hblkhd, fordblks, hblkhd; every arena);
 *   'p'  under ASan, __sanitizer_print_memory_profile(100, 40) to the
 *        sanitizer's log (the live heap by allocation stack), then "profile";
 *   'l'  under LSan, __lsan_do_recoverable_leak_check() (unreachable blocks
 *        reported to the log, the process goes on), then "leakcheck N".
 * The thread never allocates; mallinfo2 takes the arena locks, so it is
 * safe while the daemon runs. A sanitizer build needs
 * ASAN_OPTIONS=verify_asan_link_order=0 to accept the preload. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out_path[512], fifo_path[520];

static size_t sym_size(const char *name)
{
	size_t (*f)(void) = (size_t (*)(void))dlsym(RTLD_DEFAULT, name);

	return f ? f() : 0;
}

static int heap_line(char *b, size_t n)
{
	if (dlsym(RTLD_DEFAULT, "__sanitizer_get_current_allocated_bytes"))
		return snprintf(b, n, "asan used=%zu heap=%zu free=%zu unmapped=%zu\n",
				sym_size("__sanitizer_get_current_allocated_bytes"),
				sym_size("__sanitizer_get_heap_size"),
				sym_size("__sanitizer_get_free_bytes"),
				sym_size("__sanitizer_get_unmapped_bytes"));
	struct mallinfo2 mi = mallinfo2();

	return snprintf(b, n, "glibc used=%zu heap=%zu free=%zu mmap=%zu\n",
			mi.uordblks + mi.hblkhd, mi.arena + mi.hblkhd, mi.fordblks, mi.hblkhd);
}

static int command(char cmd, char *b, size_t n)
{
	void (*prof)(size_t, size_t);
	int (*leak)(void);

	switch (cmd) {
	case 'm':
		return heap_line(b, n);
	case 'p':
		if ((prof = (void (*)(size_t, size_t))dlsym(RTLD_DEFAULT, "__sanitizer_print_memory_profile")))
			prof(100, 40);
		return snprintf(b, n, "profile %s\n", prof ? "written" : "unavailable");
	case 'l':
		if (!(leak = (int (*)(void))dlsym(RTLD_DEFAULT, "__lsan_do_recoverable_leak_check")))
			return snprintf(b, n, "leakcheck unavailable\n");
		return snprintf(b, n, "leakcheck %d\n", leak());
	}
	return 0;
}

static void *probe_thread(void *arg)
{
	char cmd, line[256];
	int in, o, n;

	(void)arg;
	if ((in = open(fifo_path, O_RDWR | O_CLOEXEC)) < 0)
		return NULL;
	while (read(in, &cmd, 1) == 1) {
		if ((n = command(cmd, line, sizeof(line))) <= 0)
			continue;
		if ((o = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
			continue;
		if (write(o, line, (size_t)n) < 0)
			n = 0;
		close(o);
	}
	close(in);
	return NULL;
}

__attribute__((constructor)) static void memprobe_init(void)
{
	const char *p = getenv("VFAGENT_MEMPROBE");
	sigset_t all, old;
	pthread_t t;

	if (!p || !*p || strlen(p) >= sizeof(out_path))
		return;
	snprintf(out_path, sizeof(out_path), "%s", p);
	snprintf(fifo_path, sizeof(fifo_path), "%s.fifo", p);
	unsetenv("VFAGENT_MEMPROBE");
	unsetenv("LD_PRELOAD");
	/* Every signal blocked in the thread: the daemon's signalfd sees them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (!pthread_create(&t, NULL, probe_thread, NULL))
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
