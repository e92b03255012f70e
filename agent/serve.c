/* vfagent serve: one thread, one epoll loop. Answers the CLI's requests on
 * a Unix socket (one JSON object per line each way), releases the VFs of
 * libvirt domains that stop, and watches the PFs. */
#include "agent/agent.h"
#include "agent/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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
#include <time.h>
#include <unistd.h>

#include "nl/vfnl.h"

#define LINE_MAX_BYTES (64 * 1024)
#define MAX_CLIENTS 64
#define IDLE_MS 30000		/* a client silent this long is dropped */

struct client {
	struct server *srv;
	int fd, watch;
	uid_t uid;
	pid_t pid;
	char in[LINE_MAX_BYTES];
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	bool closing;			/* close once out is flushed */
	long long last;
};

struct server {
	struct vfa_agent *agent;
	struct vfa_loop *loop;
	const struct vfa_opts *o;
	char path[256];
	int lfd;
	int lockfd;			/* serve.lock, held for life */
	struct vfnl *mon;
	struct client *clients[MAX_CLIENTS];
	bool virt_watching;
	bool journal;			/* stderr goes to the journal */
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* One log line on stderr; under systemd with the <N> priority prefix the
 * journal understands. */
static void logmsg(struct server *s, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void logmsg(struct server *s, int prio, const char *fmt, ...)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	char buf[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (s->journal)
		fprintf(stderr, "<%d>%s\n", prio, buf);
	else
		fprintf(stderr, "vfagent[%d]: %s: %s\n", (int)getpid(), names[prio & 7], buf);
}

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

static void client_free(struct client *c)
{
	struct server *s = c->srv;

	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i] == c)
			s->clients[i] = NULL;
	vfa_loop_del(s->loop, c->watch);
	close(c->fd);
	free(c->out);
	free(c);
}

static void client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			vfa_loop_mod(c->srv->loop, c->watch, EPOLLIN | EPOLLOUT);
			return;
		}
		if (n < 0) {
			client_free(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	if (c->closing) {
		client_free(c);
		return;
	}
	vfa_loop_mod(c->srv->loop, c->watch, EPOLLIN);
}

/* Queues one reply line; takes ownership of reply. */
static void client_reply(struct client *c, json_object *reply)
{
	const char *txt = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(txt);
	char *b = realloc(c->out, c->out_len + n + 1);

	if (b) {
		c->out = b;
		memcpy(c->out + c->out_len, txt, n);
		c->out[c->out_len + n] = '\n';
		c->out_len += n + 1;
	}
	json_object_put(reply);
}

static void client_error(struct client *c, int err, const char *msg)
{
	struct vfa_err e = { "", VFA_EXIT_USAGE };

	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	client_reply(c, vfa_reply_json(-err, NULL, &e));
}

static void handle_line(struct client *c, char *line, size_t len)
{
	struct server *s = c->srv;
	struct json_tokener *tok = json_tokener_new();
	struct vfa_opts o = *s->o;
	struct vfa_err e = { "", 0 };
	json_object *req, *res = NULL;
	const char *op = NULL;
	long long t0;
	int r;

	req = tok ? json_tokener_parse_ex(tok, line, (int)len) : NULL;
	if (!req || json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(e.msg, sizeof(e.msg), "malformed JSON request: %s",
			 tok ? json_tokener_error_desc(json_tokener_get_error(tok)) : "out of memory");
		json_object_put(req);
		json_tokener_free(tok);
		client_error(c, EINVAL, e.msg);
		return;
	}
	json_tokener_free(tok);
	/* Request fields only; paths and roots stay the daemon's. */
	o.pool = o.pf = o.pci = o.lease = o.domain = NULL;
	o.has_mac = o.has_vlan = o.live = o.persistent = false;
	r = vfa_req_parse(req, &op, &o, &e);
	t0 = mono_ms();
	if (!r)
		r = vfa_dispatch(s->agent, op, &o, &res, &e);
	if (!r || r == -EINPROGRESS)
		logmsg(s, 6, "uid %u pid %d: %s done in %lld ms", (unsigned)c->uid, (int)c->pid,
		       op, mono_ms() - t0);
	else
		logmsg(s, 5, "uid %u pid %d: %s failed: %s", (unsigned)c->uid, (int)c->pid,
		       op ? op : "?", e.msg);
	if (res) {
		json_object *notes;

		if (json_object_object_get_ex(res, "reconcile", &notes))
			log_notes(s, 5, "reconcile", notes);
	}
	json_object_put(req);	/* o's strings point into req: used up above */
	client_reply(c, vfa_reply_json(r, res, &e));
}

static void client_io(int id, int fd, uint32_t events, void *ud)
{
	struct client *c = ud;

	(void)id;
	if (events & EPOLLOUT) {
		client_flush(c);
		return;		/* c may be gone */
	}
	if (c->closing)
		return;
	for (;;) {
		char *nl;
		ssize_t n = recv(fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_free(c);
			return;
		}
		c->in_len += (size_t)n;
		c->last = mono_ms();
		while ((nl = memchr(c->in, '\n', c->in_len))) {
			size_t len = (size_t)(nl - c->in);

			handle_line(c, c->in, len);
			memmove(c->in, nl + 1, c->in_len - len - 1);
			c->in_len -= len + 1;
		}
		if (c->in_len == sizeof(c->in)) {
			client_error(c, EMSGSIZE, "request line longer than 64 KiB; closing");
			c->closing = true;
			break;
		}
	}
	client_flush(c);
}

/* root, an allowed user, or a member (primary or supplementary: SO_PEERCRED
 * gives only the primary) of an allowed group. */
static bool allowed(struct server *s, uid_t uid, gid_t gid)
{
	const struct vfa_config *cfg = vfa_agent_config(s->agent);
	gid_t groups[256];
	int ng = 256;
	struct passwd *pw;

	if (uid == 0)
		return true;
	for (unsigned int i = 0; i < cfg->n_allow_uid; i++)
		if (cfg->allow_uid[i] == uid)
			return true;
	groups[0] = gid;
	pw = cfg->n_allow_gid ? getpwuid(uid) : NULL;
	if (!pw || getgrouplist(pw->pw_name, gid, groups, &ng) < 0)
		ng = 1;
	for (unsigned int i = 0; i < cfg->n_allow_gid; i++)
		for (int k = 0; k < ng; k++)
			if (cfg->allow_gid[i] == groups[k])
				return true;
	return false;
}

static void on_accept(int id, int fd, uint32_t events, void *ud)
{
	struct server *s = ud;

	(void)id;
	(void)events;
	for (;;) {
		struct ucred cr;
		socklen_t crl = sizeof(cr);
		struct client *c;
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), slot = -1;

		if (cfd < 0)
			return;
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (!s->clients[i]) {
				slot = i;
				break;
			}
		c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
		if (!c || getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0) {
			logmsg(s, 4, "refusing a connection: %s", c ? strerror(errno) : "too many clients");
			free(c);
			close(cfd);
			continue;
		}
		*c = (struct client){ .srv = s, .fd = cfd, .uid = cr.uid, .pid = cr.pid,
				      .last = mono_ms() };
		c->watch = vfa_loop_add(s->loop, cfd, EPOLLIN, client_io, c);
		if (c->watch < 0) {
			close(cfd);
			free(c);
			continue;
		}
		s->clients[slot] = c;
		if (!allowed(s, cr.uid, cr.gid)) {
			char msg[200];

			snprintf(msg, sizeof(msg),
				 "permission denied: uid %u is not allowed ([serve] allow-users / allow-groups in the config)",
				 (unsigned)cr.uid);
			logmsg(s, 5, "refused uid %u pid %d: not in the allow-list", (unsigned)cr.uid, (int)cr.pid);
			client_error(c, EACCES, msg);
			c->closing = true;
			client_flush(c);
		}
	}
}

static void reconcile_now(struct server *s, bool domains, const char *why)
{
	struct vfa_err e = { "", 0 };
	json_object *notes = NULL;

	if (vfa_reconcile(s->agent, domains, &notes, &e)) {
		logmsg(s, 3, "reconcile (%s): %s", why, e.msg);
		return;
	}
	log_notes(s, 5, why, notes);
	json_object_put(notes);
}

static void on_domain(const char *domain, int what, void *ud)
{
	struct server *s = ud;

	if (what == VFA_VIRT_CLOSED) {
		logmsg(s, 4, "lost the libvirt connection; reconnecting");
		s->virt_watching = false;
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
	if (vfnl_monitor_read(s->mon, on_link, s) != 0)
		check_pfs(s);
}

static void sweep_timer(int id, void *ud)
{
	struct server *s = ud;
	long long now = mono_ms();

	(void)id;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = s->clients[i];

		if (c && now - c->last > IDLE_MS) {
			logmsg(s, 6, "dropping idle client uid %u pid %d", (unsigned)c->uid, (int)c->pid);
			client_free(c);
		}
	}
	check_pfs(s);		/* a safety net for changes that send no link event */
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
			notify("READY=1");
		} else {
			logmsg(s, 6, "signal %u: stopping", si.ssi_signo);
			notify("STOPPING=1");
			vfa_loop_quit(s->loop);
		}
	}
}

static int listen_on(struct server *s, struct vfa_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

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
	unlink(s->path);	/* stale: nobody answers */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    chmod(s->path, 0666) < 0) {	/* SO_PEERCRED decides, not the mode */
		int r = -errno;

		close(fd);
		return vfa_fail(e, r, "socket %s: %s", s->path, strerror(-r));
	}
	s->lfd = fd;
	return 0;
}

int vfa_serve(const struct vfa_opts *o, struct vfa_err *e)
{
	struct server s = { .o = o, .lfd = -1, .lockfd = -1,
			    .journal = getenv("JOURNAL_STREAM") != NULL };
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
		s.lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
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
	if (vfa_loop_add(s.loop, s.lfd, EPOLLIN, on_accept, &s) < 0 ||
	    vfa_loop_add(s.loop, sfd, EPOLLIN, on_signal, &s) < 0 ||
	    vfa_loop_add(s.loop, vfnl_fd(s.mon), EPOLLIN, mon_io, &s) < 0 ||
	    vfa_loop_timer(s.loop, 5000, sweep_timer, &s) < 0 ||
	    (VFAGENT_LIBVIRT && vfa_loop_timer(s.loop, 2000, virt_timer, &s) < 0)) {
		r = vfa_fail(e, ENOMEM, "event loop setup failed");
		goto out;
	}
	reconcile_now(&s, false, "start");
	if (VFAGENT_LIBVIRT)
		virt_timer(0, &s);
	check_pfs(&s);
	logmsg(&s, 6, "serving on %s (config %s, state %s)", s.path,
	       vfa_agent_config(s.agent)->path, o->state_dir);
	notify("READY=1");
	r = vfa_loop_run(s.loop);
	if (r)
		vfa_fail(e, r, "event loop: %s", strerror(-r));
out:
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s.clients[i])
			client_free(s.clients[i]);
	if (s.lfd >= 0) {
		unlink(s.path);
		close(s.lfd);
	}
	if (sfd >= 0)
		close(sfd);
	vfnl_close(s.mon);
	vfa_agent_close(s.agent);
	vfa_loop_free(s.loop);
	if (s.lockfd >= 0)
		close(s.lockfd);
	return r;
}
