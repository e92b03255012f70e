/* vfagent serve: one thread, one epoll loop. Answers the CLI's requests on
 * a Unix socket (one JSON object per line each way), releases the VFs of
 * libvirt domains that stop, and watches the PFs. */
#include "agent/agent.h"
#include "agent/fleet.h"
#include "agent/loop.h"
#include "agent/model.h"
#include "agent/serve_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nl/vfnl.h"
#include "vfio/vfio.h"

/* The daemon's loop while it runs: its clock is read once per turn. */
static struct vfa_loop *mono_loop;

/* CLOCK_MONOTONIC in ms: in the daemon as its loop last read it (this
 * turn's start, or the end of the last request: vfa_loop_clock_ns), a
 * clock read otherwise. */
long long srv_mono_ms(void)
{
	struct timespec ts;

	if (mono_loop)
		return vfa_loop_now_ns(mono_loop) / 1000000;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Writes the log lines kept back during a client's turn (one write). */
void srv_log_flush(struct server *s)
{
	size_t off = 0;

	while (off < s->log_len) {
		ssize_t n = write(STDERR_FILENO, s->logbuf + off, s->log_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* nowhere to log: the lines are dropped */
		off += (size_t)n;
	}
	s->log_len = 0;
}

/* One log line on stderr; under systemd with the <N> priority prefix the
 * journal understands. Everything is escaped: lines carry what clients
 * sent (ops, pools, domain names), which must not start lines of its own.
 * During a client's turn (s->log_defer) the line waits in s->logbuf and
 * is written once the replies are out: the request's own line is not a
 * write its client waits for. */
void srv_logmsg(struct server *s, int prio, const char *fmt, ...)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	char buf[1200], safe[1200], line[1300];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vfa_log_escape(buf, safe, sizeof(safe));
	if (s->journal)
		n = snprintf(line, sizeof(line), "<%d>%s\n", prio, safe);
	else
		n = snprintf(line, sizeof(line), "vfagent[%d]: %s: %s\n", (int)vfa_self_pid(),
			     names[prio & 7], safe);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (s->log_len + (size_t)n > sizeof(s->logbuf))
		srv_log_flush(s);
	memcpy(s->logbuf + s->log_len, line, (size_t)n);
	s->log_len += (size_t)n;
	if (!s->log_defer)
		srv_log_flush(s);
}

/* Logs each note at prio; the one saying the persistent leases are not
 * restored (alloc refuses meanwhile) at warning, once until it changes:
 * every reconcile and every status notes it again while it holds. */
void srv_log_notes(struct server *s, int prio, const char *what, json_object *notes)
{
	const char *unrestored = vfa_agent_unrestored(s->agent);

	if (!unrestored) {
		free(s->unrestored_logged);
		s->unrestored_logged = NULL;
	}
	for (size_t i = 0; i < json_object_array_length(notes); i++) {
		const char *n = json_object_get_string(json_object_array_get_idx(notes, i));

		if (!unrestored || strcmp(n, unrestored)) {
			srv_logmsg(s, prio, "%s: %s", what, n);
		} else if (!s->unrestored_logged || strcmp(n, s->unrestored_logged)) {
			free(s->unrestored_logged);
			s->unrestored_logged = strdup(n);
			srv_logmsg(s, 4, "%s: %s", what, n);
		}
	}
}

/* sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void notify(const char *state)
{
	const char *p = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!p || (p[0] != '/' && p[0] != '@') || strlen(p) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, p, strlen(p));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(p));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

/* True unless another process (vfagent --direct) holds the state lock.
 * Tried, never waited for: the loop must not block. Taken on the agent's
 * own descriptor and kept: the operation that follows (its vfa_begin)
 * takes no other, and the caller lets go after it (vfa_agent_unlock).
 * Another error than "held": true, and vfa_begin reports it. */
bool srv_lock_free(struct server *s)
{
	return vfa_agent_trylock(s->agent) != -EWOULDBLOCK;
}

void srv_want_retry(struct server *s)
{
	vfa_loop_timer_set(s->loop, s->retry_timer, LOCK_RETRY_MS);
}

/* Measuring hook: VFAGENT_LOOP_TIMES=1 logs (debug) how long the sweep
 * and each publish held the loop, which a request arriving then waits
 * out (bench/README.md). */
static bool loop_times_on(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("VFAGENT_LOOP_TIMES") != NULL;
	return on;
}

/* The clock to time from, read only when the hook is on (a clock read
 * is a syscall in the TCG lab, on every publish and sweep). */
static double loop_t0(struct server *s)
{
	return loop_times_on() ? (double)vfa_loop_clock_ns(s->loop) / 1e9 : 0;
}

static void loop_time(struct server *s, const char *what, double t0)
{
	if (loop_times_on())
		srv_logmsg(s, 7, "loop time: %s %.0f us", what,
			   ((double)vfa_loop_clock_ns(s->loop) / 1e9 - t0) * 1e6);
}

/* The CDI spec and the metrics file (fleet.c); a new failure is logged
 * once. */
static void fleet_publish(struct server *s)
{
	struct vfa_err e = { "", 0 };
	double t0 = loop_t0(s);

	if (s->fleet && vfa_fleet_publish(s->fleet, s->agent, s->virt_watching, &e))
		srv_logmsg(s, 4, "%s", e.msg);
	loop_time(s, "publish", t0);
}

/* Publishes the metrics and the CDI spec within FLEET_MS: changes that
 * come together are published once (a publish holds the loop: the next
 * reply waits it out; it reads no sysfs now, but renders and writes the
 * metrics file). */
void srv_fleet_soon(struct server *s)
{
	if (!s->fleet || s->fleet_armed)
		return;
	s->fleet_armed = true;
	vfa_loop_timer_set(s->loop, s->fleet_timer, FLEET_MS);
}

static void fleet_timer(int id, void *ud)
{
	struct server *s = ud;

	vfa_loop_timer_set(s->loop, id, -1);
	s->fleet_armed = false;
	fleet_publish(s);
}

/* Reconciles now; NULL when the state lock is held elsewhere (then the
 * retry timer runs it) or it failed (logged). The notes are the caller's. */
static json_object *reconcile_run(struct server *s, bool domains, const char *why)
{
	struct vfa_err e = { "", 0 };
	json_object *notes = NULL;
	int r;

	if (!srv_lock_free(s)) {
		s->reconcile_pending = true;
		srv_want_retry(s);
		return NULL;
	}
	r = vfa_reconcile(s->agent, domains, &notes, &e);
	vfa_agent_unlock(s->agent);	/* a failed begin left it held */
	if (r) {
		srv_logmsg(s, 3, "reconcile (%s): %s", why, e.msg);
		return NULL;
	}
	return notes;
}

/* Logs what reconcile did, counts it, tells the watchers; puts notes. */
static void reconcile_report(struct server *s, const char *why, json_object *notes)
{
	srv_log_notes(s, 5, why, notes);
	if (s->fleet && json_object_array_length(notes)) {
		vfa_metrics_repairs(&s->fleet->m, vfa_agent_repairs(s->agent));
		srv_fleet_soon(s);
	}
	/* watch recomputes on a change only: reconcile noted none, or it
	 * changed nothing. */
	if (json_object_array_length(notes))
		srv_watch_changed(s);
	json_object_put(notes);
}

/* Reconciles now, or (state lock held elsewhere) from the retry timer. */
static void reconcile_now(struct server *s, bool domains, const char *why)
{
	json_object *notes = reconcile_run(s, domains, why);

	if (notes)
		reconcile_report(s, why, notes);
}

/* Reconciles now (a worker died half-way: serve_job.c), or from the
 * retry timer while the state lock is held elsewhere. */
void srv_reconcile_now(struct server *s, const char *why)
{
	reconcile_now(s, false, why);
}

/* The sweep's reconcile: what it found the last time (a lease whose VF
 * went, kept for the user to release) is not logged or counted again
 * every 5 s. */
static void reconcile_sweep(struct server *s)
{
	json_object *notes = reconcile_run(s, false, "sweep");
	const char *txt;

	if (!notes)
		return;
	txt = json_object_to_json_string(notes);
	if (s->sweep_notes && !strcmp(s->sweep_notes, txt)) {
		json_object_put(notes);
		return;
	}
	free(s->sweep_notes);
	s->sweep_notes = strdup(txt);
	reconcile_report(s, "sweep", notes);
}

static void on_domain(const char *domain, int what, void *ud)
{
	struct server *s = ud;

	if (what == VFA_VIRT_CLOSED) {
		srv_logmsg(s, 4, "lost the libvirt connection; reconnecting");
		s->virt_watching = false;
		srv_fleet_soon(s);
		return;		/* the connection is dropped from the timer, not inside libvirt's callback */
	}
	srv_logmsg(s, 6, "domain %s: %s", domain, what == VFA_DOM_STOPPED ? "stopped" :
		   what == VFA_DOM_UNDEFINED ? "undefined" : "device removed");
	reconcile_now(s, true, "libvirt event");
}

static void virt_timer(int id, void *ud)
{
	struct server *s = ud;
	struct vfa_err e = { "", 0 };
	struct vfa_virt *v;

	(void)id;
	if (s->virt_watching)
		return;
	vfa_agent_virt_lost(s->agent);	/* drop a dead connection, if any */
	v = vfa_agent_virt(s->agent, &e);
	if (!v || vfa_virt_watch(v, on_domain, s, &e))
		return;
	s->virt_watching = true;
	srv_fleet_soon(s);
	srv_logmsg(s, 6, "watching libvirt domain events");
	/* Domains may have stopped while we were not listening. */
	reconcile_now(s, true, "libvirt (re)connected");
}

/* The journal's compaction, between requests (vfa_agent_defer_compaction):
 * skipped while another process holds the state lock (the next sweep). */
static void journal_compact(struct server *s)
{
	struct vfa_err e = { "", 0 };

	if (!srv_lock_free(s))
		return;
	if (vfa_agent_compact(s->agent, &e) < 0)
		srv_logmsg(s, 4, "%s", e.msg);
	vfa_agent_unlock(s->agent);
}

static void sweep_timer(int id, void *ud)
{
	struct server *s = ud;
	unsigned long n;
	uid_t uid;
	double t0;

	(void)id;
	while (vfa_ratelimit_pending(&s->rl, srv_mono_ms(), &uid, &n))
		srv_logmsg(s, 5, "uid %u: %lu more refusals and denials not logged (rate limit)",
			   (unsigned int)uid, n);
	/* The model's safety net: changes that send no event (a driver
	 * unbound, a node removed) are found here, in place (model.c), and
	 * leases reconciled. */
	t0 = loop_t0(s);
	vfa_model_sweep(s->agent);
	reconcile_sweep(s);
	srv_check_pfs(s);
	journal_compact(s);
	loop_time(s, "sweep", t0);
	if (s->fleet)
		vfa_fleet_recheck(s->fleet);	/* the files, not only our copy */
	fleet_publish(s);	/* and the metrics' timer */
	srv_watch_changed(s);
}

/* The sweep's period: 5 s. Test hook: VFAGENT_SWEEP_MS=N (tests/README.md)
 * lets a lab test prove that something other than the sweep did the work. */
static int sweep_ms(void)
{
	const char *v = getenv("VFAGENT_SWEEP_MS");
	long ms = v ? strtol(v, NULL, 10) : 0;

	return ms >= 100 && ms <= 3600000 ? (int)ms : 5000;
}

/* Per client: the linger of a closing one, the deadline of a request
 * line begun (a slot held by a byte now and then), idleness. */
static void tick_timer(int id, void *ud)
{
	struct server *s = ud;
	long long now = srv_mono_ms();

	(void)id;
	if (s->accept_paused && vfa_loop_mod(s->loop, s->lwatch, EPOLLIN) == 0)
		s->accept_paused = false;
	for (size_t i = 0; i < sizeof(s->clients) / sizeof(s->clients[0]); i++) {
		struct client *c = s->clients[i];

		if (!c)
			continue;
		if (c->closing) {
			if (now > c->close_by)
				srv_client_free(c);
			continue;
		}
		if (c->line_t0 && now - c->line_t0 > LINE_MS) {
			srv_logmsg(s, 5, "uid %u pid %d: request not completed within %d s; closing",
				   (unsigned)c->peer.uid, (int)c->peer.pid, LINE_MS / 1000);
			srv_client_error(c, ETIMEDOUT, "request line not completed within 5 s; closing");
			srv_client_close_soon(c);
			if (srv_client_flush(c))
				srv_client_arm(c);
		} else if (!c->watcher && c->job_fd < 0 && !c->in_len && !srv_out_pending(c) &&
			   now - c->last > IDLE_MS) {
			srv_logmsg(s, 6, "dropping idle client uid %u pid %d", (unsigned)c->peer.uid,
				   (int)c->peer.pid);
			srv_client_free(c);
		}
	}
}

/* The state lock was held by another process: run what waited for it. */
static void retry_timer(int id, void *ud)
{
	struct server *s = ud;
	bool again = false;

	(void)id;
	vfa_loop_timer_set(s->loop, s->retry_timer, -1);
	if (s->reconcile_pending) {
		s->reconcile_pending = false;
		reconcile_now(s, true, "libvirt event");
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = s->clients[i];

		if (!c || !c->waiting)
			continue;
		c->waiting = false;
		if (srv_client_run(c))
			again |= c->waiting;
	}
	if (again || s->reconcile_pending)
		srv_want_retry(s);
}

static void on_signal(int id, int fd, uint32_t events, void *ud)
{
	struct server *s = ud;
	struct signalfd_siginfo si;
	struct vfa_err e = { "", 0 };

	(void)id;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			/* Workers that finished (signals of one kind merge:
			 * every child that exited is reaped). */
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		} else if (si.ssi_signo == SIGHUP) {
			notify("RELOADING=1");
			if (vfa_agent_reload(s->agent, &e))
				srv_logmsg(s, 3, "new config refused, keeping the old one: %s", e.msg);
			else
				srv_logmsg(s, 6, "config reloaded");
			srv_recheck_clients(s);
			srv_job_reload(s);
			srv_fleet_soon(s);
			srv_watch_changed(s);
			notify("READY=1");
		} else {
			srv_logmsg(s, 6, "signal %u: stopping", si.ssi_signo);
			notify("STOPPING=1");
			vfa_loop_quit(s->loop);
		}
	}
}

/* Removes a stale socket at path (nobody answered on it); anything else
 * there (a file, a directory, a symlink) is refused and left alone. */
static int unlink_stale(const char *path, struct vfa_err *e)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : vfa_fail(e, errno, "socket %s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return vfa_usage(e, EEXIST, "socket %s: the path exists and is not a socket (%s): remove it or choose another --socket",
				 path, S_ISLNK(st.st_mode) ? "a symlink" : S_ISDIR(st.st_mode) ? "a directory" : "a file");
	if (unlink(path) < 0 && errno != ENOENT)
		return vfa_fail(e, errno, "socket %s: removing the stale one: %s", path, strerror(errno));
	return 0;
}

static int listen_on(struct server *s, struct vfa_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, r;

	if (strlen(s->path) >= sizeof(sa.sun_path))
		return vfa_usage(e, ENAMETOOLONG, "socket path too long: %s", s->path);
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vfa_fail(e, errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return vfa_fail(e, EADDRINUSE, "another vfagent serve answers on %s", s->path);
	}
	r = unlink_stale(s->path, e);
	if (r) {
		close(fd);
		return r;
	}
	/* 0666 from the start (SO_PEERCRED decides, not the mode): no chmod
	 * of a path that could have become a link in between. */
	old = umask(0111);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ? -errno : 0;
	umask(old);
	if (r) {
		close(fd);
		return vfa_fail(e, r, "socket %s: %s", s->path, strerror(-r));
	}
	s->lfd = fd;
	return 0;
}

int vfa_serve(const struct vfa_opts *o, struct vfa_err *e)
{
	struct server s = { .o = o, .lfd = -1, .lockfd = -1,
			    .journal = getenv("JOURNAL_STREAM") != NULL,
			    .rl = { .burst = 5, .per_s = 1 } };
	sigset_t mask;
	int sfd = -1, r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);	/* workers reaped when one exits, not polled */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = vfa_loop_new(&s.loop);
	if (r)
		return vfa_fail(e, r, "epoll: %s", strerror(-r));
	vfa_loop_for_libvirt(s.loop);	/* before any libvirt connection */
	r = vfa_agent_open(o, &s.agent, e);
	if (r)
		goto out;
	vfa_model_enable(s.agent, srv_mon_read_own, &s);
	vfa_agent_defer_compaction(s.agent);	/* the sweep compacts */
	/* One daemon per state dir, for its whole life: the socket probe
	 * alone races when two start at once. */
	{
		char lp[300];

		snprintf(lp, sizeof(lp), "%s/serve.lock", o->state_dir);
		struct stat st;

		s.lockfd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		if (s.lockfd >= 0 && (fstat(s.lockfd, &st) < 0 || !S_ISREG(st.st_mode))) {
			r = vfa_fail(e, EINVAL, "%s is not a regular file: remove it", lp);
			goto out;
		}
		if (s.lockfd < 0 && errno == ELOOP) {
			r = vfa_fail(e, ELOOP, "%s is a symlink: remove it", lp);
			goto out;
		}
		if (s.lockfd < 0 || flock(s.lockfd, LOCK_EX | LOCK_NB) < 0) {
			r = vfa_fail(e, EADDRINUSE, "another vfagent serve answers for %s (%s)",
				     o->state_dir, s.lockfd < 0 ? strerror(errno) : "serve.lock is held");
			goto out;
		}
	}
	if (o->socket)
		snprintf(s.path, sizeof(s.path), "%s", o->socket);
	else if (vfa_agent_config(s.agent)->socket[0])
		snprintf(s.path, sizeof(s.path), "%s", vfa_agent_config(s.agent)->socket);
	else
		snprintf(s.path, sizeof(s.path), "%s/vfagent.sock", o->state_dir);
	r = listen_on(&s, e);
	if (r)
		goto out;
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	r = vfnl_monitor_open(&s.mon);
	if (sfd < 0 || r) {
		r = vfa_fail(e, sfd < 0 ? errno : r, "signalfd/rtnetlink monitor: %s",
			     strerror(sfd < 0 ? errno : -r));
		goto out;
	}
	s.lwatch = vfa_loop_add(s.loop, s.lfd, EPOLLIN, srv_on_accept, &s);
	s.retry_timer = vfa_loop_timer(s.loop, -1, retry_timer, &s);
	vfa_fleet_new(o->sys_root, o->dev_root, &s.fleet);
	s.fleet_timer = vfa_loop_timer(s.loop, -1, fleet_timer, &s);
	if (s.lwatch < 0 || s.retry_timer < 0 || !s.fleet || s.fleet_timer < 0 ||
	    vfa_loop_add(s.loop, sfd, EPOLLIN, on_signal, &s) < 0 ||
	    vfa_loop_add_first(s.loop, vfnl_fd(s.mon), EPOLLIN, srv_mon_io, &s) < 0 ||
	    vfa_loop_timer(s.loop, sweep_ms(), sweep_timer, &s) < 0 ||
	    vfa_loop_timer(s.loop, TICK_MS, tick_timer, &s) < 0 ||
	    (VFAGENT_LIBVIRT && vfa_loop_timer(s.loop, 2000, virt_timer, &s) < 0)) {
		r = vfa_fail(e, ENOMEM, "event loop setup failed");
		goto out;
	}
	srv_uev_open(&s);
	reconcile_now(&s, false, "start");
	if (VFAGENT_LIBVIRT)
		virt_timer(0, &s);
	srv_check_pfs(&s);
	fleet_publish(&s);
	srv_job_spare(&s);
	srv_logmsg(&s, 6, "serving on %s (config %s, state %s)", s.path,
		   vfa_agent_config(s.agent)->path, o->state_dir);
	notify("READY=1");
	mono_loop = s.loop;
	r = vfa_loop_run(s.loop);
	mono_loop = NULL;
	if (r)
		vfa_fail(e, r, "event loop: %s", strerror(-r));
out:
	for (size_t i = 0; i < sizeof(s.clients) / sizeof(s.clients[0]); i++)
		if (s.clients[i])
			srv_client_free(s.clients[i]);
	if (s.lfd >= 0) {
		unlink(s.path);
		close(s.lfd);
	}
	if (sfd >= 0)
		close(sfd);
	vfnl_close(s.mon);
	vfio_uevent_close(s.uev);
	json_object_put(s.wstate);
	free(s.sweep_notes);
	free(s.unrestored_logged);
	vfa_agent_close(s.agent);
	vfa_loop_free(s.loop);
	if (s.lockfd >= 0)
		close(s.lockfd);
	vfa_fleet_free(s.fleet);
	return r;
}
