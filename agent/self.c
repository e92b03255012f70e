/* What a process knows of itself without asking the kernel per request:
 * its pid, and random bytes drawn ahead. Both start over in a forked
 * child (pthread_atfork), which must neither report its parent's pid nor
 * hand out its parent's next lease ids and MACs. */
#include "agent/self.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define POOL 256	/* ~18 allocs (an 8-byte id and a 6-byte MAC each) */

static pid_t self_pid;
static unsigned char pool[POOL];
static size_t pool_left;
static bool hooked;

static void forked_child(void)
{
	self_pid = 0;
	pool_left = 0;
	memset(pool, 0, sizeof(pool));
}

static void hook(void)
{
	if (!hooked && pthread_atfork(NULL, NULL, forked_child) == 0)
		hooked = true;
}

/* This process's pid, asked of the kernel once per process (a fork's
 * child asks again). */
pid_t vfa_self_pid(void)
{
	hook();
	if (!self_pid)
		self_pid = getpid();
	return self_pid;
}

/* n random bytes from the kernel, drawn POOL at a time; each byte is
 * handed out once. 0 or -EIO. Without the fork hook (pthread_atfork
 * failed) every call asks the kernel. */
int vfa_random_bytes(void *buf, size_t n)
{
	hook();
	if (!hooked || n > POOL)
		return getrandom(buf, n, 0) == (ssize_t)n ? 0 : -EIO;
	if (pool_left < n) {
		if (getrandom(pool, POOL, 0) != POOL)
			return -EIO;
		pool_left = POOL;
	}
	memcpy(buf, pool + POOL - pool_left, n);
	memset(pool + POOL - pool_left, 0, n);
	pool_left -= n;
	return 0;
}
