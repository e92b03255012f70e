/* bench/bench_daemon.h: `vfagent serve` as the benchmarks start and stop
 * it (header only, like bench/bench.h): spawned with its stderr appended
 * to a log, ready once a status request is answered on a new connection. */
#ifndef VFAGENT_BENCH_DAEMON_H
#define VFAGENT_BENCH_DAEMON_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/vfagent-client.h"
#include "bench/bench_client.h"

extern char **environ;

struct bench_daemon {
	pid_t pid;		/* -1: not running */
	char sock[512];		/* STATE/vfagent.sock */
};

/* Where the daemons' logs go: $BENCH_LOGS (bench/lab.sh: a tmpfs, copied
 * to OUT at the end) so that a log line per request is not a 9p write to
 * the lab's results share inside the timed path; else out. */
static inline const char *bench_log_dir(const char *out)
{
	const char *d = getenv("BENCH_LOGS");

	return d && *d ? d : out;
}

/* Sends SIGTERM and reaps it; its wait status into *ret_status if set. */
static inline void bench_daemon_stop(struct bench_daemon *d, int *ret_status)
{
	int st = 0;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
		;
	d->pid = -1;
	if (ret_status)
		*ret_status = st;
}

/* Starts `bin -c conf -s state serve` (stdin, stdout /dev/null; stderr
 * appended to log) and waits, up to 30 s, until a status request is
 * answered (each within timeout_ms, < 0 forever) on a new connection,
 * which goes to *ret (the caller's). 0 or -errno (-ECHILD: it exited). */
static inline int bench_daemon_start(struct bench_daemon *d, const char *bin, const char *conf,
				     const char *state, const char *log, int timeout_ms,
				     struct vfa_client **ret)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)bin, "-c", (char *)conf, "-s", (char *)state, "serve", NULL };
	int r;

	snprintf(d->sock, sizeof(d->sock), "%s/vfagent.sock", state);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	r = posix_spawn(&d->pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		d->pid = -1;
		return -r;
	}
	for (int i = 0; i < 3000; i++) {
		struct vfa_client *c = NULL;

		if (vfa_client_connect(d->sock, 0, &c) == 0 &&
		    bench_call(c, bench_req("status", NULL, NULL), timeout_ms, NULL) == 0) {
			*ret = c;
			return 0;
		}
		vfa_client_close(c);
		if (waitpid(d->pid, &r, WNOHANG) == d->pid) {
			d->pid = -1;
			return -ECHILD;
		}
		usleep(10000);
	}
	bench_daemon_stop(d, NULL);
	return -ETIMEDOUT;
}

#endif
