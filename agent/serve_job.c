/* vfagent serve: the worker processes that run slow libvirt operations. */
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
#include <unistd.h>

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

	if (nl) {
		*nl = '\0';
		reply = json_tokener_parse(c->job_out);
	}
	if (!reply) {
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
	/* The worker bound, set and attached with its own agent: the model
	 * rereads what it may have changed (libvirt may rebind the VF). */
	vfa_model_invalidate(s->agent);
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

/* Forks the worker for c's request; false (run it here) if that fails. */
bool srv_job_start(struct client *c, const char *op, const struct vfa_opts *o,
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
	c->job_t0 = srv_mono_ms();
	snprintf(c->job_op, sizeof(c->job_op), "%s", op);
	snprintf(c->job_pool, sizeof(c->job_pool), "%s", o->pool ? o->pool : "");
	srv_logmsg(s, 6, "uid %u pid %d: %s running in worker %d", (unsigned)c->peer.uid,
		   (int)c->peer.pid, op, (int)pid);
	return true;
}

