/* The crash points of the lab's crash matrix (tests/README.md). */
#include "agent/crash.h"
#include "agent/self.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Test hook: VFAGENT_CRASH_AT=NAME kills the process at that point of an
 * alloc, release or setup (tests/README.md, crash matrix), so the lab can
 * prove a kill -9 anywhere loses and doubles no VF. */
void vfa_crash_point(const char *name)
{
	const struct vfa_self_hooks *h = vfa_self_hooks();

	/* VFAGENT_STOP_AT=NAME stops the process there (SIGSTOP) until the
	 * test, having changed the world under it, sends SIGCONT. */
	if (h->stop_at && !strcmp(h->stop_at, name))
		raise(SIGSTOP);

	if (!h->crash_at || strcmp(h->crash_at, name))
		return;
	/* In a daemon's worker (serve_job.c) the daemon dies with it, as
	 * when the loop itself ran the operation. */
	if (h->worker)
		kill(getppid(), SIGKILL);
	raise(SIGKILL);
}
