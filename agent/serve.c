/* vfagent serve: one thread, one epoll loop. Answers the CLI's requests on
 * a Unix socket (one JSON object per line each way), releases the VFs of
 * libvirt domains that stop, and watches the PFs. */
#include "agent/agent.h"
#include "agent/fleet.h"
#include "agent/loop.h"
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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nl/vfnl.h"

#define MAX_CLIENTS 128		/* connections served at once */
#define ROOT_RESERVE 16		/* of those, the last ones only root may take */
#define MAX_REFUSED 32		/* refused peers given time to read why */
#define CONN_PER_USER 8		/* default [serve] max-connections-per-user */
#define OUT_CAP (256 * 1024)	/* unsent reply bytes above which a client is not read */
#define IDLE_MS 30000		/* a client silent this long is dropped */
#define LINE_MS 5000		/* a request line begun must end within this */
#define LINGER_MS 2000		/* a closing client's time to take its last reply */
#define LOCK_RETRY_MS 20	/* state lock held by another vfagent: look again */
#define TICK_MS 500

struct client {
	struct server *srv;
	int fd, watch;
	struct vfa_peer peer;
	char in[VFA_REQ_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	uint32_t armed;			/* the events registered */
	bool refused;			/* in a refused slot: never served */
	bool rd_eof;			/* the peer will send nothing more */
	bool closing;			/* no more requests; close once out is taken */
	bool wr_shut;			/* our side shut after the last reply */
	bool waiting;			/* a request waits for the state lock */
	bool watcher;			/* after "watch": events only, input ignored */
	/* A request run by a child process (libvirt calls: seconds); the
	 * client's later requests wait for its reply (docs/PROTOCOL.md). */
	pid_t job_pid;
	int job_fd, job_watch;		/* the child's reply pipe; -1 none */
	char *job_out;
	size_t job_len;
	json_object *job_id;
	char job_op[16];
	char job_pool[VFA_NAME_LEN];	/* for the metrics */
	long long job_t0;
	long long last, line_t0, close_by;
};

struct server {
	struct vfa_agent *agent;
	struct vfa_loop *loop;
	const struct vfa_opts *o;
	char path[256];
	int lfd, lwatch;
	bool accept_paused;		/* out of fds: accept again at the next tick */
	int lockfd;			/* serve.lock, held for life */
	int probe_fd;			/* the state lock, only ever tried */
	int retry_timer;
	bool reconcile_pending;		/* a libvirt event met a held state lock */
	struct vfa_state *st;		/* read-only look at the journal */
	struct vfnl *mon;
	struct client *clients[MAX_CLIENTS + MAX_REFUSED];
	struct vfa_ratelimit rl;
	bool virt_watching;
	bool journal;			/* stderr goes to the journal */
	struct vfa_fleet *fleet;	/* CDI spec and metrics (fleet.c) */
	int fleet_timer;		/* publish them once the replies are out */
	/* watch (docs/PROTOCOL.md): the state last streamed, the last event's
	 * number, how many clients watch. */
	json_object *wstate;
	unsigned long long seq;
	unsigned int n_watchers;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* One log line on stderr; under systemd with the <N> priority prefix the
 * journal understands. Everything is escaped: lines carry what clients
 * sent (ops, pools, domain names), which must not start lines of its own. */
static void logmsg(struct server *s, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void logmsg(struct server *s, int prio, const char *fmt, ...)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	char buf[1200], safe[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vfa_log_escape(buf, safe, sizeof(safe));
	if (s->journal)
		fprintf(stderr, "<%d>%s\n", prio, safe);
	else
		fprintf(stderr, "vfagent[%d]: %s: %s\n", (int)getpid(), names[prio & 7], safe);
}

/* logmsg, at most a few a second per uid (see vfa_ratelimit_take). */
#define LOGMSG_LIMITED(s, uid, prio, fmt, ...) do { \
	unsigned long sup_ = 0; \
	if (!vfa_ratelimit_take(&(s)->rl, (uid), mono_ms(), &sup_)) \
		break; \
	if (sup_) \
		logmsg((s), 5, "uid %u: %lu refusals and denials not logged (rate limit)", \
		       (unsigned int)(uid), sup_); \
	logmsg((s), (prio), fmt, __VA_ARGS__); \
} while (0)

static void log_notes(struct server *s, int prio, const char *what, json_object *notes)
{
	for (size_t i = 0; i < json_object_array_length(notes); i++)
		logmsg(s, prio, "%s: %s", what,
		       json_object_get_string(json_object_array_get_idx(notes, i)));
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
 * Tried, never waited for: the loop must not block. The lock is let go
 * at once (agent.c takes it through its own descriptor). */
static bool lock_free(struct server *s)
{
	if (s->probe_fd < 0)
		return true;
	if (flock(s->probe_fd, LOCK_EX | LOCK_NB) < 0)
		return errno != EWOULDBLOCK;
	flock(s->probe_fd, LOCK_UN);
	return true;
}

static void want_retry(struct server *s)
{
	vfa_loop_timer_set(s->loop, s->retry_timer, LOCK_RETRY_MS);
}

/* The CDI spec and the metrics file (fleet.c); a new failure is logged
 * once. */
static void fleet_publish(struct server *s)
{
	struct vfa_err e = { "", 0 };

	if (s->fleet && vfa_fleet_publish(s->fleet, vfa_agent_config(s->agent), s->st,
					  s->virt_watching, &e))
		logmsg(s, 4, "%s", e.msg);
}

static void fleet_soon(struct server *s)
{
	if (s->fleet)
		vfa_loop_timer_set(s->loop, s->fleet_timer, 1);
}

static void fleet_timer(int id, void *ud)
{
	struct server *s = ud;

	vfa_loop_timer_set(s->loop, id, -1);
	fleet_publish(s);
}

static size_t out_pending(const struct client *c)
{
	return c->out_len - c->out_off;
}

static void client_free(struct client *c)
{
	struct server *s = c->srv;

	for (size_t i = 0; i < sizeof(s->clients) / sizeof(s->clients[0]); i++)
		if (s->clients[i] == c)
			s->clients[i] = NULL;
	if (c->watcher)
		s->n_watchers--;
	if (c->job_fd >= 0) {
		/* The child finishes the operation; tick_timer reaps it. */
		vfa_loop_del(s->loop, c->job_watch);
		close(c->job_fd);
		free(c->job_out);
		json_object_put(c->job_id);
	}
	vfa_loop_del(s->loop, c->watch);
	close(c->fd);
	free(c->out);
	free(c);
}

/* Registers the events c needs now: input while it may send requests
 * (or, closing, to drain what it still sends), output while replies wait.
 * Above OUT_CAP of unsent replies the client is not read: its requests
 * stay in the kernel's buffer, its writes block. */
static void client_arm(struct client *c)
{
	uint32_t ev = 0;

	if (!c->rd_eof && (c->closing || (out_pending(c) <= OUT_CAP &&
					  c->in_len < sizeof(c->in))))
		ev |= EPOLLIN;
	if (out_pending(c))
		ev |= EPOLLOUT;
	if (ev != c->armed && vfa_loop_mod(c->srv->loop, c->watch, ev) == 0)
		c->armed = ev;
}

/* No more requests from c: what is queued is sent, then our side shut,
 * then c is dropped at its EOF or after LINGER_MS. */
static void client_close_soon(struct client *c)
{
	c->closing = true;
	c->waiting = false;
	c->in_len = 0;
	c->close_by = mono_ms() + LINGER_MS;
}

/* Sends what it can. Returns false if c was freed. */
static bool client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n < 0) {
			client_free(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	if (c->out_cap > 65536) {	/* a burst is over: give its memory back */
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	if (c->closing && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);	/* the peer reads the reply, then EOF */
		c->wr_shut = true;
	}
	if (c->closing && c->rd_eof) {
		client_free(c);
		return false;
	}
	return true;
}

/* Queues one reply line; takes ownership of reply. */
static void client_reply(struct client *c, json_object *reply)
{
	const char *txt = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(txt);
	char *b;

	if (c->out_off >= OUT_CAP || (c->out_off && c->out_off == c->out_len)) {
		/* Drop what was sent: the buffer stays under 2 * OUT_CAP. */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;

		while (cap < c->out_len + n + 1)
			cap *= 2;
		b = realloc(c->out, cap);
		if (!b) {
			json_object_put(reply);
			return;		/* the client sees no reply and times out */
		}
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, txt, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
	json_object_put(reply);
}

static void client_error(struct client *c, int err, const char *msg)
{
	struct vfa_err e = { "", VFA_EXIT_USAGE };

	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	client_reply(c, vfa_reply_json(-err, NULL, &e));
}

static void client_error_exit(struct client *c, int err, int code, const char *msg)
{
	struct vfa_err e = { "", code };

	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	client_reply(c, vfa_reply_json(-err, NULL, &e));
}

static bool op_takes_lock(const char *op)
{
	return !strcmp(op, "alloc") || !strcmp(op, "release") || !strcmp(op, "setup") ||
	       !strcmp(op, "status") || !strcmp(op, "list");
}

/* A release touches only the peer's own leases (owners.c), unless admin. */
static int authz_release(struct server *s, struct client *c, const struct vfa_opts *o,
			 struct vfa_err *e)
{
	const struct vfa_config *cfg = vfa_agent_config(s->agent);
	char uuid[VFA_UUID_LEN] = "";
	struct vfa_lease *ls = NULL;
	uid_t *owners;
	size_t n = 0;
	int r;

	if (vfa_authz_admin(cfg, &c->peer) || !s->st)
		return 0;
	if (o->domain) {
		/* vfa_release matches --domain by the UUID libvirt has for it. */
		struct vfa_virt *v = vfa_agent_virt(s->agent, NULL);
		struct vfa_err e2;
		bool running;

		if (!v || vfa_virt_domain(v, o->domain, &running, uuid, &e2))
			uuid[0] = '\0';
	}
	if (vfa_lease_list(s->st, &ls, &n, NULL))
		return vfa_fail(e, EIO, "journal %s: unreadable", s->o->state_dir);
	owners = calloc(n ? n : 1, sizeof(*owners));
	if (!owners) {
		free(ls);
		return vfa_fail(e, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		owners[i] = vfa_owner_get(s->o->state_dir, ls[i].id);
	r = vfa_authz_release(cfg, &c->peer, o, uuid, ls, owners, n, e);
	free(owners);
	free(ls);
	return r;
}

/* After a daemon alloc: who asked, so only they (or an admin) release it. */
static void record_owner(struct server *s, struct client *c, json_object *res)
{
	json_object *id;
	int r;

	if (!res || !json_object_object_get_ex(res, "id", &id))
		return;
	r = vfa_owner_set(s->o->state_dir, json_object_get_string(id), c->peer.uid);
	if (r)
		logmsg(s, 3, "lease %s: recording owner uid %u failed: %s",
		       json_object_get_string(id), (unsigned int)c->peer.uid, strerror(-r));
}

/* Queues events for every watcher; one that has more than OUT_CAP unsent
 * gets a last {"event":"overflow"} line and is closed (it reconnects for
 * a new snapshot): a slow watcher does not grow the daemon. */
static void watch_send(struct server *s, json_object *events)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = s->clients[i];

		if (!c || !c->watcher || c->closing)
			continue;
		for (size_t k = 0; k < json_object_array_length(events); k++)
			client_reply(c, json_object_get(json_object_array_get_idx(events, k)));
		if (out_pending(c) > OUT_CAP) {
			json_object *ov = json_object_new_object();

			json_object_object_add(ov, "event", json_object_new_string("overflow"));
			client_reply(c, ov);
			logmsg(s, 4, "uid %u pid %d: watcher too slow (%zu bytes unread); dropped",
			       (unsigned)c->peer.uid, (int)c->peer.pid, out_pending(c));
			client_close_soon(c);
		}
		if (client_flush(c))
			client_arm(c);
	}
}

/* Looks at the state again and streams what changed to the watchers;
 * with force, looks even when nobody watches (a watch starts). */
static int watch_update(struct server *s, bool force, struct vfa_err *e)
{
	json_object *cur = NULL, *events;
	int r;

	if (!s->n_watchers && !force)
		return 0;
	r = vfa_watch_state(s->agent, &cur, e);
	if (r)
		return r;
	if (s->n_watchers) {
		events = json_object_new_array();
		vfa_watch_diff(s->wstate, cur, &s->seq, events);
		watch_send(s, events);
		json_object_put(events);
	}
	json_object_put(s->wstate);
	s->wstate = cur;
	return 0;
}

static void watch_changed(struct server *s)
{
	struct vfa_err e = { "", 0 };

	if (watch_update(s, false, &e))
		logmsg(s, 3, "watch: %s", e.msg);
}

/* "watch": the reply with the current seq, the snapshot, then events. */
static void watch_start(struct client *c, json_object *id)
{
	struct server *s = c->srv;
	struct vfa_err e = { "", 0 };
	json_object *res, *reply;
	int r = watch_update(s, true, &e);

	if (r) {
		reply = vfa_reply_json(r, NULL, &e);
		if (id)
			json_object_object_add(reply, "id", json_object_get(id));
		client_reply(c, reply);
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "seq", json_object_new_int64((int64_t)s->seq));
	reply = vfa_reply_json(0, res, &e);
	if (id)
		json_object_object_add(reply, "id", json_object_get(id));
	client_reply(c, reply);
	client_reply(c, vfa_watch_snapshot(s->wstate, s->seq));
	c->watcher = true;
	s->n_watchers++;
	logmsg(s, 6, "uid %u pid %d: watching", (unsigned)c->peer.uid, (int)c->peer.pid);
}

static bool client_run(struct client *c);

/* Does the request call libvirt for seconds (an attach, or a detach the
 * guest may take ~5 s to ack)? Such requests run in a child process so
 * the loop keeps serving everyone else. */
static bool needs_job(struct server *s, const char *op, const struct vfa_opts *o)
{
	struct vfa_lease *ls = NULL;
	size_t n = 0;
	bool slow = false;

	if (!strcmp(op, "alloc"))
		return o->domain != NULL;
	if (strcmp(op, "release"))
		return false;
	if (o->domain)
		return true;
	if (!s->st || vfa_lease_list(s->st, &ls, &n, NULL))
		return false;
	for (size_t i = 0; i < n && !slow; i++) {
		const struct vfa_lease *l = &ls[i];

		if ((o->pci && strcmp(l->pci, o->pci)) || (o->lease && strcmp(l->id, o->lease)) ||
		    (o->holder && strcmp(l->holder, o->holder)))
			continue;
		slow = l->domain[0] && (l->attached || vfa_lease_state(l) == VFA_LS_DETACHING);
	}
	free(ls);
	return slow;
}

/* The child: its own agent, libvirt connection and event loop (the
 * parent's epoll set is not touched); the reply line on fd. */
static void __attribute__((noreturn)) job_child(struct server *s, int fd, pid_t parent,
						const char *op, const struct vfa_opts *o)
{
	struct vfa_err e = { "", 0 };
	struct vfa_agent *a = NULL;
	struct vfa_loop *l = NULL;
	json_object *res = NULL, *reply;
	const char *txt;
	int r;

	/* The parent's sockets and locks are not the child's to hold: a
	 * client the parent closes must see EOF now, not when we exit. */
	for (size_t i = 0; i < sizeof(s->clients) / sizeof(s->clients[0]); i++)
		if (s->clients[i]) {
			close(s->clients[i]->fd);
			if (s->clients[i]->job_fd >= 0)
				close(s->clients[i]->job_fd);
		}
	close(s->lfd);
	close(s->lockfd);
	/* A worker is part of the daemon: it dies with it (kill -9, stop),
	 * leaving what it was doing to the next daemon's reconcile. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	setenv("VFAGENT_WORKER", "1", 1);
	r = vfa_loop_new(&l);

	if (!r)
		vfa_loop_for_libvirt(l);
	r = vfa_agent_open(s->o, &a, &e);
	if (!r)
		r = vfa_dispatch(a, op, o, &res, &e);
	reply = vfa_reply_json(r, res, &e);
	txt = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE);
	if (write(fd, txt, strlen(txt)) < 0 || write(fd, "\n", 1) < 0)
		_exit(1);
	_exit(0);
}

/* A worker's operation in the metrics, from its reply line. */
static void fleet_job(struct server *s, struct client *c, json_object *reply)
{
	struct vfa_opts o = { .pool = c->job_pool[0] ? c->job_pool : NULL };
	struct vfa_err e = { "", 0 };
	json_object *v, *res = NULL;
	int r = 0;

	if (!s->fleet)
		return;
	e.exit = json_object_object_get_ex(reply, "exit", &v) ? json_object_get_int(v) : 1;
	if (e.exit)
		r = e.exit == VFA_EXIT_PENDING ? -EINPROGRESS : -EIO;
	json_object_object_get_ex(reply, "result", &res);
	vfa_fleet_op(s->fleet, c->job_op, &o, r, &e, res,
		     (double)(mono_ms() - c->job_t0) / 1000.0);
	fleet_soon(s);
}

/* The child's reply arrived (or it died): sent to the client in its
 * place; the client's next requests run. */
static void job_done(struct client *c)
{
	struct server *s = c->srv;
	struct vfa_err e = { "", 0 };
	json_object *reply = NULL, *res, *ok;
	char *nl = c->job_out ? memchr(c->job_out, '\n', c->job_len) : NULL;

	if (nl) {
		*nl = '\0';
		reply = json_tokener_parse(c->job_out);
	}
	if (!reply) {
		snprintf(e.msg, sizeof(e.msg), "%s: the worker process died before replying; vfagent status shows the result",
			 c->job_op);
		reply = vfa_reply_json(-EIO, NULL, &e);
	}
	if (json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok) &&
	    !strcmp(c->job_op, "alloc") && json_object_object_get_ex(reply, "result", &res))
		record_owner(s, c, res);
	fleet_job(s, c, reply);
	logmsg(s, 6, "uid %u pid %d: %s done in %lld ms (worker %d)", (unsigned)c->peer.uid,
	       (int)c->peer.pid, c->job_op, mono_ms() - c->job_t0, (int)c->job_pid);
	if (c->job_id)
		json_object_object_add(reply, "id", c->job_id);	/* takes it */
	c->job_id = NULL;
	vfa_loop_del(s->loop, c->job_watch);
	close(c->job_fd);
	c->job_fd = -1;
	free(c->job_out);
	c->job_out = NULL;
	c->job_len = 0;
	client_reply(c, reply);
	watch_changed(s);
	client_run(c);
}

static void job_io(int id, int fd, uint32_t events, void *ud)
{
	struct client *c = ud;
	char buf[4096];
	ssize_t n;

	(void)id;
	(void)events;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		char *b = realloc(c->job_out, c->job_len + (size_t)n + 1);

		if (!b)
			break;
		c->job_out = b;
		memcpy(c->job_out + c->job_len, buf, (size_t)n);
		c->job_len += (size_t)n;
		c->job_out[c->job_len] = '\0';
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		job_done(c);
}

/* Forks the worker for c's request; false (run it here) if that fails. */
static bool job_start(struct client *c, const char *op, const struct vfa_opts *o,
		      json_object *id)
{
	struct server *s = c->srv;
	pid_t pid, parent;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return false;
	fflush(stderr);
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		job_child(s, p[1], parent, op, o);
	}
	close(p[1]);
	if (pid < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		close(p[0]);
		return false;
	}
	c->job_watch = vfa_loop_add(s->loop, p[0], EPOLLIN, job_io, c);
	if (c->job_watch < 0) {
		close(p[0]);	/* the child finishes alone; its reply is lost */
		return false;
	}
	c->job_fd = p[0];
	c->job_pid = pid;
	c->job_id = json_object_get(id);
	c->job_t0 = mono_ms();
	snprintf(c->job_op, sizeof(c->job_op), "%s", op);
	snprintf(c->job_pool, sizeof(c->job_pool), "%s", o->pool ? o->pool : "");
	logmsg(s, 6, "uid %u pid %d: %s running in worker %d", (unsigned)c->peer.uid,
	       (int)c->peer.pid, op, (int)pid);
	return true;
}

/* Runs one request line. Returns false (nothing done, the line stays)
 * when it needs the state lock and another process holds it. */
static bool handle_line(struct client *c, char *line, size_t len)
{
	struct server *s = c->srv;
	struct vfa_opts o = *s->o;	/* paths and roots stay the daemon's */
	struct vfa_err e = { "", 0 };
	json_object *req = NULL, *res = NULL, *id = NULL, *reply;
	const char *op = NULL;
	long long t0;
	double ft0;
	int r;

	/* The validator the CLI and the fuzzer use: one JSON object, fields
	 * checked (o's strings point into req). */
	r = vfa_req_line_id(line, len, &req, &op, &o, &id, &e);
	if (!r)
		r = vfa_authz_request(vfa_agent_config(s->agent), &c->peer, op, &o, &e);
	if (!r && !strcmp(op, "release"))
		r = authz_release(s, c, &o, &e);
	if (!r && op_takes_lock(op) && !lock_free(s)) {
		json_object_put(req);
		json_object_put(id);
		return false;
	}
	if (!r && !strcmp(op, "watch")) {
		watch_start(c, id);
		json_object_put(id);
		json_object_put(req);
		return true;
	}
	if (!r && needs_job(s, op, &o) && job_start(c, op, &o, id)) {
		json_object_put(id);
		json_object_put(req);
		return true;
	}
	t0 = mono_ms();
	ft0 = vfa_fleet_now();
	if (!r)
		r = vfa_dispatch(s->agent, op, &o, &res, &e);
	if (s->fleet && op && (!strcmp(op, "alloc") || !strcmp(op, "release") || !strcmp(op, "setup"))) {
		vfa_fleet_op(s->fleet, op, &o, r, &e, res, vfa_fleet_now() - ft0);
		fleet_soon(s);
	}
	if (!r && !strcmp(op, "alloc"))
		record_owner(s, c, res);
	if (!r || r == -EINPROGRESS)
		logmsg(s, 6, "uid %u pid %d: %s done in %lld ms", (unsigned)c->peer.uid,
		       (int)c->peer.pid, op, mono_ms() - t0);
	else if (e.exit == VFA_EXIT_DENIED)
		LOGMSG_LIMITED(s, c->peer.uid, 5, "uid %u pid %d: %s denied: %s",
			       (unsigned)c->peer.uid, (int)c->peer.pid, op ? op : "?", e.msg);
	else
		logmsg(s, 5, "uid %u pid %d: %s failed: %s", (unsigned)c->peer.uid, (int)c->peer.pid,
		       op ? op : "?", e.msg);
	if (res) {
		json_object *notes;

		if (json_object_object_get_ex(res, "reconcile", &notes))
			log_notes(s, 5, "reconcile", notes);
	}
	json_object_put(req);	/* o's strings point into req: used up above */
	reply = vfa_reply_json(r, res, &e);
	if (id)
		json_object_object_add(reply, "id", id);	/* takes it */
	client_reply(c, reply);
	if (op && op_takes_lock(op))
		watch_changed(s);
	return true;
}

/* Runs c's buffered requests while its unsent replies stay under OUT_CAP
 * and the state lock is free, then sends and re-arms. At EOF (a
 * half-close: nc -N, socat) the requests already sent still run and get
 * their replies before c is closed. Returns false if c was freed. */
static bool client_run(struct client *c)
{
	if (c->watcher)
		c->in_len = 0;	/* a watcher's input is ignored */
	while (!c->closing && !c->waiting && !c->watcher && c->job_fd < 0 &&
	       out_pending(c) <= OUT_CAP) {
		size_t len = 0;
		int fr = vfa_req_frame(c->in, c->in_len, &len);

		if (fr < 0) {
			client_error(c, EMSGSIZE, "request line longer than 64 KiB; closing");
			client_close_soon(c);
			break;
		}
		if (fr == 0 && !(c->rd_eof && c->in_len))
			break;
		if (fr == 0)
			len = c->in_len;	/* the last line, cut by EOF */
		if (!handle_line(c, c->in, len)) {
			c->waiting = true;
			want_retry(c->srv);
			break;
		}
		len += fr;
		memmove(c->in, c->in + len, c->in_len - len);
		c->in_len -= len;
	}
	if (!c->closing && !c->watcher && c->job_fd < 0 && c->rd_eof && !c->in_len)
		client_close_soon(c);
	if (c->in_len && !memchr(c->in, '\n', c->in_len)) {
		if (!c->line_t0)
			c->line_t0 = mono_ms();
	} else {
		c->line_t0 = 0;
	}
	if (!client_flush(c))
		return false;
	client_arm(c);
	return true;
}

/* Reads what the peer sent (discarding it once c is closing). Returns
 * false if c was freed. */
static bool client_read(struct client *c)
{
	char drain[4096];

	while (!c->rd_eof) {
		bool discard = c->closing || c->watcher;
		char *dst = discard ? drain : c->in + c->in_len;
		size_t room = discard ? sizeof(drain) : sizeof(c->in) - c->in_len;
		ssize_t n;

		if (!room)
			break;
		n = recv(c->fd, dst, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			client_free(c);
			return false;
		}
		if (n == 0) {
			c->rd_eof = true;
			break;
		}
		if (!discard)
			c->in_len += (size_t)n;
		c->last = mono_ms();
	}
	return true;
}

static void client_io(int id, int fd, uint32_t events, void *ud)
{
	struct client *c = ud;

	(void)id;
	(void)fd;
	if (events & EPOLLERR) {
		client_free(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP)) && !client_read(c))
		return;
	if (events & EPOLLHUP) {
		/* Both directions shut: nobody will read a reply. */
		client_free(c);
		return;
	}
	client_run(c);
}

static unsigned int count_clients(struct server *s, uid_t uid, unsigned int *ret_uid)
{
	unsigned int all = 0, mine = 0;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (!s->clients[i])
			continue;
		all++;
		mine += s->clients[i]->peer.uid == uid;
	}
	*ret_uid = mine;
	return all;
}

/* Why the peer may not have a slot now ("" if it may); *ret_code the exit
 * status the refusal carries. */
static void admit(struct server *s, const struct vfa_peer *p, char *why, size_t n,
		  int *ret_code)
{
	const struct vfa_config *cfg = vfa_agent_config(s->agent);
	unsigned int cap = cfg->max_conn_per_user ? cfg->max_conn_per_user : CONN_PER_USER;
	unsigned int mine, all = count_clients(s, p->uid, &mine);

	*why = '\0';
	*ret_code = VFA_EXIT_FAIL;
	if (!vfa_authz_connect(cfg, p)) {
		*ret_code = VFA_EXIT_DENIED;
		snprintf(why, n, "permission denied: uid %u is not allowed to use the daemon (add it to [serve] allow-users or allow-groups in %s)",
			 (unsigned int)p->uid, cfg->path);
	} else if (p->uid != 0 && mine >= cap) {
		snprintf(why, n, "the daemon is busy: uid %u already has %u connections open ([serve] max-connections-per-user = %u); close some and retry",
			 (unsigned int)p->uid, mine, cap);
	} else if (all >= (p->uid ? MAX_CLIENTS - ROOT_RESERVE : MAX_CLIENTS)) {
		snprintf(why, n, "the daemon is busy: %u connections open; retry shortly (root may use vfagent --direct)",
			 all);
	}
}

static struct client *client_new(struct server *s, int cfd, const struct vfa_peer *p,
				 bool refused)
{
	size_t lo = refused ? MAX_CLIENTS : 0, hi = refused ? MAX_CLIENTS + MAX_REFUSED : MAX_CLIENTS;
	struct client *c;
	size_t slot = hi;

	for (size_t i = lo; i < hi && slot == hi; i++)
		if (!s->clients[i])
			slot = i;
	if (slot == hi || !(c = calloc(1, sizeof(*c))))
		return NULL;
	*c = (struct client){ .srv = s, .fd = cfd, .peer = *p, .refused = refused,
			      .armed = EPOLLIN, .last = mono_ms(), .job_fd = -1 };
	c->watch = vfa_loop_add(s->loop, cfd, EPOLLIN, client_io, c);
	if (c->watch < 0) {
		free(c);
		return NULL;
	}
	s->clients[slot] = c;
	return c;
}

/* A refused peer still reads why: the reply is queued, our side shut
 * after it, and what it sends is drained until it closes (or LINGER_MS),
 * so its write does not fail and its read finds the reply. */
static void refuse(struct server *s, int cfd, const struct vfa_peer *p, const char *why,
		   int code)
{
	struct client *c = client_new(s, cfd, p, true);

	if (code == VFA_EXIT_DENIED)
		LOGMSG_LIMITED(s, p->uid, 5, "refused uid %u pid %d: not in the allow-list",
			       (unsigned)p->uid, (int)p->pid);
	else
		LOGMSG_LIMITED(s, p->uid, 4, "refused uid %u pid %d: %s", (unsigned)p->uid,
			       (int)p->pid, why);
	if (!c) {
		/* Out of refused slots: say it if the buffer takes it, no more. */
		char line[600];
		int n = snprintf(line, sizeof(line), "{\"v\":1,\"ok\":false,\"exit\":%d,\"error\":\"%s\",\"errno\":\"%s\"}\n",
				 code, code == VFA_EXIT_DENIED ? "permission denied" : "the daemon is busy",
				 code == VFA_EXIT_DENIED ? "EACCES" : "EBUSY");

		send(cfd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(cfd);
		return;
	}
	client_error_exit(c, code == VFA_EXIT_DENIED ? EACCES : EBUSY, code, why);
	client_close_soon(c);
	if (client_flush(c))
		client_arm(c);
}

static void on_accept(int id, int fd, uint32_t events, void *ud)
{
	struct server *s = ud;

	(void)id;
	(void)events;
	for (;;) {
		struct vfa_peer p;
		struct client *c;
		char why[400];
		int code, cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered: pause, or the loop spins. */
				logmsg(s, 4, "accept: %s; pausing new connections", strerror(errno));
				vfa_loop_mod(s->loop, s->lwatch, 0);
				s->accept_paused = true;
			}
			return;
		}
		if (vfa_peer_get(cfd, &p)) {
			close(cfd);
			continue;
		}
		admit(s, &p, why, sizeof(why), &code);
		if (*why) {
			refuse(s, cfd, &p, why, code);
			continue;
		}
		c = client_new(s, cfd, &p, false);
		if (!c) {
			refuse(s, cfd, &p, "the daemon is busy: out of memory", VFA_EXIT_FAIL);
			continue;
		}
		if (p.groups_truncated)
			logmsg(s, 4, "uid %u pid %d: more than %d groups; only the first are checked",
			       (unsigned)p.uid, (int)p.pid, VFA_PEER_GROUPS);
	}
}

/* After a reload: the connections of peers the new config no longer
 * allows are told so and closed. */
static void recheck_clients(struct server *s)
{
	const struct vfa_config *cfg = vfa_agent_config(s->agent);
	char why[400];

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = s->clients[i];

		if (!c || c->closing || vfa_authz_connect(cfg, &c->peer))
			continue;
		snprintf(why, sizeof(why), "permission denied: uid %u is no longer allowed to use the daemon (config reloaded; [serve] allow-users / allow-groups in %s)",
			 (unsigned int)c->peer.uid, cfg->path);
		logmsg(s, 5, "uid %u pid %d: no longer allowed after the reload; closing",
		       (unsigned)c->peer.uid, (int)c->peer.pid);
		client_error_exit(c, EACCES, VFA_EXIT_DENIED, why);
		client_close_soon(c);
		if (client_flush(c))
			client_arm(c);
	}
}

/* Reconciles now, or (state lock held elsewhere) from the retry timer. */
static void reconcile_now(struct server *s, bool domains, const char *why)
{
	struct vfa_err e = { "", 0 };
	json_object *notes = NULL;

	if (!lock_free(s)) {
		s->reconcile_pending = true;
		want_retry(s);
		return;
	}
	if (vfa_reconcile(s->agent, domains, &notes, &e)) {
		logmsg(s, 3, "reconcile (%s): %s", why, e.msg);
		return;
	}
	log_notes(s, 5, why, notes);
	if (s->fleet && json_object_array_length(notes)) {
		vfa_metrics_notes(&s->fleet->m, notes);
		fleet_soon(s);
	}
	json_object_put(notes);
	watch_changed(s);
}

static void on_domain(const char *domain, int what, void *ud)
{
	struct server *s = ud;

	if (what == VFA_VIRT_CLOSED) {
		logmsg(s, 4, "lost the libvirt connection; reconnecting");
		s->virt_watching = false;
		fleet_soon(s);
		return;		/* the connection is dropped from the timer, not inside libvirt's callback */
	}
	logmsg(s, 6, "domain %s: %s", domain, what == VFA_DOM_STOPPED ? "stopped" :
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
	fleet_soon(s);
	logmsg(s, 6, "watching libvirt domain events");
	/* Domains may have stopped while we were not listening. */
	reconcile_now(s, true, "libvirt (re)connected");
}

static void check_pfs(struct server *s)
{
	struct vfa_err e = { "", 0 };
	json_object *notes = NULL;

	if (vfa_check_pfs(s->agent, vfa_agent_config(s->agent)->pf_restore, &notes, &e) == 0) {
		log_notes(s, 4, "watch", notes);
		if (s->fleet && json_object_array_length(notes)) {
			vfa_metrics_notes(&s->fleet->m, notes);
			fleet_soon(s);
		}
		json_object_put(notes);
	}
}

static void on_link(const struct vfnl_link *l, bool removed, void *ud)
{
	(void)l;
	(void)removed;
	(void)ud;
}

static void mon_io(int id, int fd, uint32_t events, void *ud)
{
	struct server *s = ud;

	(void)id;
	(void)fd;
	(void)events;
	/* Any link change: look at the pool PFs again (cheap: one GETLINK each). */
	if (vfnl_monitor_read(s->mon, on_link, s) != 0) {
		check_pfs(s);
		watch_changed(s);
	}
	fleet_soon(s);		/* a PF up or down: the metrics say so at once */
}

static void sweep_timer(int id, void *ud)
{
	struct server *s = ud;
	struct vfa_lease *ls = NULL;
	unsigned long n;
	size_t nl = 0;
	uid_t uid;

	(void)id;
	while (vfa_ratelimit_pending(&s->rl, mono_ms(), &uid, &n))
		logmsg(s, 5, "uid %u: %lu more refusals and denials not logged (rate limit)",
		       (unsigned int)uid, n);
	if (s->st && vfa_lease_list(s->st, &ls, &nl, NULL) == 0)
		vfa_owner_gc(s->o->state_dir, ls, nl);
	free(ls);
	check_pfs(s);		/* a safety net for changes that send no link event */
	fleet_publish(s);	/* and the metrics' timer */
	watch_changed(s);
}

/* Per client: the linger of a closing one, the deadline of a request
 * line begun (a slot held by a byte now and then), idleness. */
static void tick_timer(int id, void *ud)
{
	struct server *s = ud;
	long long now = mono_ms();

	(void)id;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;	/* workers that finished */
	if (s->accept_paused && vfa_loop_mod(s->loop, s->lwatch, EPOLLIN) == 0)
		s->accept_paused = false;
	for (size_t i = 0; i < sizeof(s->clients) / sizeof(s->clients[0]); i++) {
		struct client *c = s->clients[i];

		if (!c)
			continue;
		if (c->closing) {
			if (now > c->close_by)
				client_free(c);
			continue;
		}
		if (c->line_t0 && now - c->line_t0 > LINE_MS) {
			logmsg(s, 5, "uid %u pid %d: request not completed within %d s; closing",
			       (unsigned)c->peer.uid, (int)c->peer.pid, LINE_MS / 1000);
			client_error(c, ETIMEDOUT, "request line not completed within 5 s; closing");
			client_close_soon(c);
			if (client_flush(c))
				client_arm(c);
		} else if (!c->watcher && c->job_fd < 0 && !c->in_len && !out_pending(c) &&
			   now - c->last > IDLE_MS) {
			logmsg(s, 6, "dropping idle client uid %u pid %d", (unsigned)c->peer.uid,
			       (int)c->peer.pid);
			client_free(c);
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
		if (client_run(c))
			again |= c->waiting;
	}
	if (again || s->reconcile_pending)
		want_retry(s);
}

static void on_signal(int id, int fd, uint32_t events, void *ud)
{
	struct server *s = ud;
	struct signalfd_siginfo si;
	struct vfa_err e = { "", 0 };

	(void)id;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			notify("RELOADING=1");
			if (vfa_agent_reload(s->agent, &e))
				logmsg(s, 3, "new config refused, keeping the old one: %s", e.msg);
			else
				logmsg(s, 6, "config reloaded");
			recheck_clients(s);
			fleet_soon(s);
			watch_changed(s);
			notify("READY=1");
		} else {
			logmsg(s, 6, "signal %u: stopping", si.ssi_signo);
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
	struct server s = { .o = o, .lfd = -1, .lockfd = -1, .probe_fd = -1,
			    .journal = getenv("JOURNAL_STREAM") != NULL,
			    .rl = { .burst = 5, .per_s = 1 } };
	sigset_t mask;
	int sfd = -1, r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = vfa_loop_new(&s.loop);
	if (r)
		return vfa_fail(e, r, "epoll: %s", strerror(-r));
	vfa_loop_for_libvirt(s.loop);	/* before any libvirt connection */
	r = vfa_agent_open(o, &s.agent, e);
	if (r)
		goto out;
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
	{
		char lp[300];

		snprintf(lp, sizeof(lp), "%s/lock", o->state_dir);
		s.probe_fd = open(lp, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (vfa_state_open(o->state_dir, &s.st, e)) {
			r = -EIO;
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
	s.lwatch = vfa_loop_add(s.loop, s.lfd, EPOLLIN, on_accept, &s);
	s.retry_timer = vfa_loop_timer(s.loop, -1, retry_timer, &s);
	vfa_fleet_new(o->sys_root, o->dev_root, &s.fleet);
	s.fleet_timer = vfa_loop_timer(s.loop, -1, fleet_timer, &s);
	if (s.lwatch < 0 || s.retry_timer < 0 || !s.fleet || s.fleet_timer < 0 ||
	    vfa_loop_add(s.loop, sfd, EPOLLIN, on_signal, &s) < 0 ||
	    vfa_loop_add(s.loop, vfnl_fd(s.mon), EPOLLIN, mon_io, &s) < 0 ||
	    vfa_loop_timer(s.loop, 5000, sweep_timer, &s) < 0 ||
	    vfa_loop_timer(s.loop, TICK_MS, tick_timer, &s) < 0 ||
	    (VFAGENT_LIBVIRT && vfa_loop_timer(s.loop, 2000, virt_timer, &s) < 0)) {
		r = vfa_fail(e, ENOMEM, "event loop setup failed");
		goto out;
	}
	reconcile_now(&s, false, "start");
	if (VFAGENT_LIBVIRT)
		virt_timer(0, &s);
	check_pfs(&s);
	fleet_publish(&s);
	logmsg(&s, 6, "serving on %s (config %s, state %s)", s.path,
	       vfa_agent_config(s.agent)->path, o->state_dir);
	notify("READY=1");
	r = vfa_loop_run(s.loop);
	if (r)
		vfa_fail(e, r, "event loop: %s", strerror(-r));
out:
	for (size_t i = 0; i < sizeof(s.clients) / sizeof(s.clients[0]); i++)
		if (s.clients[i])
			client_free(s.clients[i]);
	if (s.lfd >= 0) {
		unlink(s.path);
		close(s.lfd);
	}
	if (sfd >= 0)
		close(sfd);
	vfnl_close(s.mon);
	json_object_put(s.wstate);
	vfa_agent_close(s.agent);
	vfa_loop_free(s.loop);
	if (s.lockfd >= 0)
		close(s.lockfd);
	if (s.probe_fd >= 0)
		close(s.probe_fd);
	vfa_state_close(s.st);
	vfa_fleet_free(s.fleet);
	return r;
}
