/* What a process knows of itself without asking the kernel per request:
 * its pid, random bytes drawn ahead, and its test hooks' environment.
 * All start over in a forked child (pthread_atfork), which must neither
 * report its parent's pid nor hand out its parent's next lease ids and
 * MACs, and may have set a hook of its own (a daemon's worker). */
#include "agent/self.h"
#include "agent/numfmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define POOL 256	/* ~18 allocs (an 8-byte id and a 6-byte MAC each) */

static pid_t self_pid;
static unsigned char pool[POOL];
static size_t pool_left;
static bool hooked;
static struct vfa_self_hooks env_hooks;
static bool env_read;

static void forked_child(void)
{
	self_pid = 0;
	env_read = false;
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

/* The test hooks' environment (VFAGENT_CRASH_AT, VFAGENT_STOP_AT,
 * VFAGENT_WORKER), read at the first call of a process (and of each forked
 * child): a getenv scans the whole environment, and an alloc passes five
 * hook points. Set a hook before the process's first operation. */
const struct vfa_self_hooks *vfa_self_hooks(void)
{
	hook();
	if (!env_read || !hooked) {
		env_hooks.crash_at = getenv("VFAGENT_CRASH_AT");
		env_hooks.stop_at = getenv("VFAGENT_STOP_AT");
		env_hooks.worker = getenv("VFAGENT_WORKER") != NULL;
		env_read = true;
	}
	return &env_hooks;
}

/* A new lease id: 16 random hex digits (written by hand: snprintf's
 * "%02x" eight times cost more than the rest of the id's path). */
void vfa_new_id(char id[17])
{
	uint8_t rnd[8] = { 0 };

	vfa_random_bytes(rnd, sizeof(rnd));
	vfa_hex(id, rnd, sizeof(rnd), 0);
}
