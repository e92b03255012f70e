/* vfagent serve: the worker processes that run slow libvirt operations.
 * One worker is kept ready (the spare): forked ahead, its agent open and
 * its libvirt connection made, it waits on a socketpair for one job line,
 * runs it, writes the reply line and exits; the loop forks the next spare
 * once a job is done. doc/PROTOCOL.md, "Concurrency". */
#include "agent/agent.h"
#include "agent/fleet.h"
#include "agent/loop.h"
#include "agent/model.h"
#include "agent/serve_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A job line's fields before the request: "<uid> <UUID> " at most
 * (job_line_format). */
#define JOB_HDR_MAX (10 + 1 + VFA_UUID_LEN + 1)

/* Does the request call libvirt for seconds (an attach, or a detach the
 * guest may take ~5 s to ack)? Such requests run in a child process so
 * the loop keeps serving everyone else. */
bool srv_needs_job(struct server *s, const char *op, const struct vfa_opts *o)
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
	if (vfa_agent_leases(s->agent, &ls, &n))
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

/* Leaves the worker only stdin, stdout, stderr and fd (as fd 3). The
 * daemon's descriptors are not the worker's to hold: flock belongs to the
 * open file description, so a copy of the daemon's journal descriptor kept
 * here would keep the daemon's lock on a journal it compacted and closed
 * (the worker's own save then waited on it forever), and a client the
 * daemon closes must see EOF now. Returns the new fd or -errno. */
static int worker_fds(int fd)
{
	if (fd != 3 && dup2(fd, 3) < 0)
		return -errno;
	if (close_range(4, ~0U, 0) < 0) {
		long max = sysconf(_SC_OPEN_MAX);

		for (long i = 4; i < (max > 0 ? max : 65536); i++)
			close((int)i);
	}
	return 3;
}

/* A worker: its agent and libvirt connection, opened before its job comes
 * (worker_main), used for that one job. */
struct worker {
	struct server *s;
	struct vfa_agent *a;
	int fd;
	char line[JOB_HDR_MAX + VFA_REQ_MAX + 1];	/* job_line_format() */
	size_t len;
};

/* A job line is "<peer uid> <pinned UUID> <request JSON>": what the loop
 * decided for the request and no request may name travels beside it, not
 * in it: the peer's uid (the owner of a new lease) and, for a release
 * --domain, the domain's UUID it was authorized for ("-" none looked up,
 * "?" libvirt knew none; pin_domain in serve_client.c). */
static int job_line_format(char *buf, size_t n, const struct vfa_opts *o, const char *req)
{
	const char *u = !o->domain_uuid ? "-" : *o->domain_uuid ? o->domain_uuid : "?";

	return snprintf(buf, n, "%u %s %s\n", (unsigned int)o->peer_uid, u, req);
}

/* Parses a job line into *req, *op and o (as vfa_req_line) and the two
 * fields beside the request; uuid holds the pinned UUID. */
static int job_line_parse(char *line, size_t len, json_object **req, const char **op,
			  struct vfa_opts *o, char uuid[VFA_UUID_LEN], struct vfa_err *e)
{
	char *sp = memchr(line, ' ', len), *sp2, *end;
	unsigned long uid;

	if (!sp || !(sp2 = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - line))))
		return vfa_fail(e, EPROTO, "worker: job line without the peer's uid and UUID");
	*sp = *sp2 = '\0';
	errno = 0;
	uid = strtoul(line, &end, 10);
	if (errno || end != sp || uid >= VFA_NO_OWNER)
		return vfa_fail(e, EPROTO, "worker: bad peer uid in the job line");
	if (strlen(sp + 1) >= VFA_UUID_LEN)
		return vfa_fail(e, EPROTO, "worker: bad UUID in the job line");
	strcpy(uuid, sp + 1);
	o->by_peer = true;
	o->peer_uid = (uid_t)uid;
	o->domain_uuid = !strcmp(uuid, "-") ? NULL : !strcmp(uuid, "?") ? "" : uuid;
	return vfa_req_line(sp2 + 1, len - (size_t)(sp2 + 1 - line), req, op, o, e);
}

/* Runs the job line (the request as the loop checked it) and writes the
 * reply line on w->fd; the worker then exits. */
static void __attribute__((noreturn)) worker_run(struct worker *w)
{
	struct vfa_opts o = *w->s->o;
	struct vfa_err e = { "", 0 };
	json_object *req = NULL, *res = NULL, *reply;
	const char *op = NULL, *txt;
	char uuid[VFA_UUID_LEN];
	int r = 0;

	if (!w->a)
		r = vfa_agent_open(w->s->o, &w->a, &e);
	if (!r)
		r = job_line_parse(w->line, w->len, &req, &op, &o, uuid, &e);
	if (!r) {
		vfa_agent_virt(w->a, NULL);	/* a connection that died while we waited: a new one */
		r = vfa_dispatch(w->a, op, &o, &res, &e);
	}
	reply = vfa_reply_json(r, res, &e);
	txt = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE);
	if (write(w->fd, txt, strlen(txt)) < 0 || write(w->fd, "\n", 1) < 0)
		_exit(1);
	_exit(0);
}

/* The job line arrives; EOF before it: the daemon dropped this worker. */
static void worker_io(int id, int fd, uint32_t events, void *ud)
{
	struct worker *w = ud;
	ssize_t n;

	(void)id;
	(void)events;
	n = read(fd, w->line + w->len, sizeof(w->line) - 1 - w->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		_exit(0);
	w->len += (size_t)n;
	if (memchr(w->line, '\n', w->len) || w->len == sizeof(w->line) - 1) {
		char *nl = memchr(w->line, '\n', w->len);

		if (nl)
			w->len = (size_t)(nl - w->line);
		worker_run(w);
	}
}

/* The worker process: opens its agent and its libvirt connection, then
 * waits (its own event loop answering libvirt's keepalives) for one job
 * line on fd. */
static void __attribute__((noreturn)) worker_main(struct server *s, int fd, pid_t parent)
{
	static struct worker w;
	struct vfa_err e = { "", 0 };
	struct vfa_loop *l = NULL;

	fd = worker_fds(fd);
	/* A worker is part of the daemon: it dies with it (kill -9, stop),
	 * leaving what it was doing to the next daemon's reconcile. */
	if (fd < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	setenv("VFAGENT_WORKER", "1", 1);
	w.s = s;
	w.fd = fd;
	if (vfa_loop_new(&l) == 0)
		vfa_loop_for_libvirt(l);
	if (vfa_agent_open(s->o, &w.a, &e) == 0)
		vfa_agent_virt(w.a, NULL);	/* connected before the job comes */
	if (!l || vfa_loop_add(l, fd, EPOLLIN, worker_io, &w) < 0) {
		for (;;)
			worker_io(0, fd, EPOLLIN, &w);	/* blocking reads */
	}
	vfa_loop_run(l);
	_exit(1);
}

/* Forks a worker; its end of the socketpair (nonblocking) in *ret_fd. */
static int worker_fork(struct server *s, pid_t *ret_pid, int *ret_fd)
{
	pid_t pid, parent = vfa_self_pid();
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		close(sp[0]);
		worker_main(s, sp[1], parent);
	}
	close(sp[1]);
	if (pid < 0 || fcntl(sp[0], F_SETFL, O_NONBLOCK) < 0) {
		close(sp[0]);
		return -EAGAIN;
	}
	*ret_pid = pid;
	*ret_fd = sp[0];
	return 0;
}

static void spare_drop(struct server *s)
{
	if (s->spare_pid <= 0)
		return;
	vfa_loop_del(s->loop, s->spare_watch);
	close(s->spare_fd);	/* it reads EOF and exits; the tick reaps it */
	s->spare_pid = 0;
	s->spare_fd = -1;
}

/* The spare wrote or hung up before any job: it died (it never writes
 * unasked). Replaced unless it died young (no fork loop); else the next
 * job forks its own worker, and the next spare comes when that is done. */
static void spare_io(int id, int fd, uint32_t events, void *ud)
{
	struct server *s = ud;
	bool young = srv_mono_ms() - s->spare_t0 < 1000;

	(void)id;
	(void)fd;
	(void)events;
	srv_logmsg(s, 4, "worker %d (spare) died; %s", (int)s->spare_pid,
		   young ? "the next job starts its own" : "starting another");
	spare_drop(s);
	if (!young)
		srv_job_spare(s);
}

/* Forks the spare worker if there is none: the next slow request finds
 * its agent open and its libvirt connection made. */
void srv_job_spare(struct server *s)
{
	pid_t pid;
	int fd;

	if (s->spare_pid > 0 || worker_fork(s, &pid, &fd))
		return;
	s->spare_watch = vfa_loop_add(s->loop, fd, EPOLLIN, spare_io, s);
	if (s->spare_watch < 0) {
		close(fd);
		return;
	}
	s->spare_pid = pid;
	s->spare_fd = fd;
	s->spare_t0 = srv_mono_ms();
}

/* After a config reload: the spare read the old config; a new one. */
void srv_job_reload(struct server *s)
{
	spare_drop(s);
	srv_job_spare(s);
}

/* The spare taken for a job (its fd and pid), or a worker forked for it;
 * -errno if neither. */
static int worker_take(struct server *s, const char *line, size_t len, pid_t *ret_pid,
		       int *ret_fd)
{
	pid_t pid;
	int fd;

	if (s->spare_pid > 0) {
		pid = s->spare_pid;
		fd = s->spare_fd;
		vfa_loop_del(s->loop, s->spare_watch);
		s->spare_pid = 0;
		s->spare_fd = -1;
		if (send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len) {
			*ret_pid = pid;
			*ret_fd = fd;
			return 0;
		}
		close(fd);	/* died meanwhile: a fresh one */
	}
	if (worker_fork(s, &pid, &fd))
		return -EAGAIN;
	if (send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	*ret_pid = pid;
	*ret_fd = fd;
	return 0;
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
		     (double)(srv_mono_ms() - c->job_t0) / 1000.0);
	srv_fleet_soon(s);
}

/* The child's reply arrived (or it died): sent to the client in its
 * place; the client's next requests run. */
static void job_done(struct client *c)
{
	struct server *s = c->srv;
	struct vfa_err e = { "", 0 };
	json_object *reply = NULL;
	char *nl = c->job_out ? memchr(c->job_out, '\n', c->job_len) : NULL;
	bool died;

	if (nl) {
		*nl = '\0';
		reply = json_tokener_parse(c->job_out);
	}
	died = !reply;
	if (died) {
		snprintf(e.msg, sizeof(e.msg), "%s: the worker process died before replying; vfagent status shows the result",
			 c->job_op);
		reply = vfa_reply_json(-EIO, NULL, &e);
	}
	fleet_job(s, c, reply);
	srv_logmsg(s, 6, "uid %u pid %d: %s done in %lld ms (worker %d)", (unsigned)c->peer.uid,
		   (int)c->peer.pid, c->job_op, srv_mono_ms() - c->job_t0, (int)c->job_pid);
	if (c->job_id)
		json_object_object_add(reply, "id", c->job_id);	/* takes it */
	c->job_id = NULL;
	vfa_loop_del(s->loop, c->job_watch);
	close(c->job_fd);
	c->job_fd = -1;
	free(c->job_out);
	c->job_out = NULL;
	c->job_len = 0;
	srv_client_reply(c, reply);
	/* The next spare is forked now, not while the job ran: its libvirt
	 * connection would have competed with the job's attach in libvirtd. */
	srv_job_spare(s);
	/* The worker journaled, bound, set and attached with its own agent:
	 * the model hears of that as of anyone's changes (model.c), nothing
	 * is reread here. One killed half-way left its leases mid-way:
	 * reconciled now, not at the next sweep. */
	vfa_model_job_done(s->agent, died);
	if (died)
		srv_reconcile_now(s, "worker died");
	srv_watch_changed(s);
	srv_client_run(c);
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

/* Hands c's request to a worker (the spare, else a new one; the next
 * spare is forked when a job is done); false (run it here) if that fails. */
bool srv_job_start(struct client *c, const char *op, const struct vfa_opts *o,
		   json_object *id)
{
	struct server *s = c->srv;
	json_object *req = vfa_req_json(op, o);
	const char *txt = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = JOB_HDR_MAX + strlen(txt) + 2;
	char *line = malloc(n);
	pid_t pid;
	int fd, r = -ENOMEM, k;

	if (line) {
		k = job_line_format(line, n, o, txt);
		r = worker_take(s, line, (size_t)k, &pid, &fd);
	}
	free(line);
	json_object_put(req);
	if (r)
		return false;
	c->job_watch = vfa_loop_add(s->loop, fd, EPOLLIN, job_io, c);
	if (c->job_watch < 0) {
		close(fd);	/* the worker finishes alone; its reply is lost */
		return false;
	}
	c->job_fd = fd;
	c->job_pid = pid;
	c->job_id = json_object_get(id);
	c->job_t0 = srv_mono_ms();
	snprintf(c->job_op, sizeof(c->job_op), "%s", op);
	snprintf(c->job_pool, sizeof(c->job_pool), "%s", o->pool ? o->pool : "");
	srv_logmsg(s, 6, "uid %u pid %d: %s running in worker %d", (unsigned)c->peer.uid,
		   (int)c->peer.pid, op, (int)pid);
	return true;
}
