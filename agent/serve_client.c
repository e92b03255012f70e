/* vfagent serve: client connections and flow control (framing, output
 * cap, linger, deadlines, admission). */
#include "agent/agent.h"
#include "agent/fleet.h"
#include "agent/loop.h"
#include "agent/model.h"
#include "agent/serve_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

size_t srv_out_pending(const struct client *c)
{
	return c->out_len - c->out_off;
}

void srv_client_free(struct client *c)
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
void srv_client_arm(struct client *c)
{
	uint32_t ev = 0;

	if (!c->rd_eof && (c->closing || (srv_out_pending(c) <= OUT_CAP &&
					  c->in_len < sizeof(c->in))))
		ev |= EPOLLIN;
	if (srv_out_pending(c))
		ev |= EPOLLOUT;
	if (ev != c->armed && vfa_loop_mod(c->srv->loop, c->watch, ev) == 0)
		c->armed = ev;
}

/* No more requests from c: what is queued is sent, then our side shut,
 * then c is dropped at its EOF or after LINGER_MS. */
void srv_client_close_soon(struct client *c)
{
	c->closing = true;
	c->waiting = false;
	c->in_len = 0;
	c->close_by = srv_mono_ms() + LINGER_MS;
}

/* Sends what it can. Returns false if c was freed. */
bool srv_client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n < 0) {
			srv_client_free(c);
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
		srv_client_free(c);
		return false;
	}
	return true;
}

/* Queues one reply line; takes ownership of reply. Serialized straight
 * into c->out (vfa_json_plain: json-c's bytes, no printbuf per reply). */
void srv_client_reply(struct client *c, json_object *reply)
{
	if (c->out_off >= OUT_CAP || (c->out_off && c->out_off == c->out_len)) {
		/* Drop what was sent: the buffer stays under 2 * OUT_CAP. */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	/* the client sees no reply and times out if memory ran out */
	if (vfa_json_plain(reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
			   &c->out, &c->out_len, &c->out_cap) == 0)
		c->out[c->out_len++] = '\n';	/* room for the NUL it wrote */
	json_object_put(reply);
}

void srv_client_error(struct client *c, int err, const char *msg)
{
	struct vfa_err e = { "", VFA_EXIT_USAGE };

	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	srv_client_reply(c, vfa_reply_json(-err, NULL, &e));
}

static void client_error_exit(struct client *c, int err, int code, const char *msg)
{
	struct vfa_err e = { "", code };

	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	srv_client_reply(c, vfa_reply_json(-err, NULL, &e));
}

/* The ops that change state: they take the state lock, and watchers
 * hear of them. status and list are answered from the daemon's model
 * (model.c) without the lock. */
static bool op_takes_lock(const char *op)
{
	return !strcmp(op, "alloc") || !strcmp(op, "release") || !strcmp(op, "setup");
}

/* release --domain: the domain's UUID, looked up once into uuid and
 * pinned in o, so the release (here or in a worker) acts on the domain
 * that was authorized, even if it is renamed (and another takes its name)
 * in between. "" when libvirt knows no such domain. */
static void pin_domain(struct server *s, struct vfa_opts *o, char uuid[VFA_UUID_LEN])
{
	struct vfa_virt *v = vfa_agent_virt(s->agent, NULL);
	struct vfa_err e2;
	bool running;

	if (!v || vfa_virt_domain(v, o->domain, &running, uuid, &e2))
		uuid[0] = '\0';
	o->domain_uuid = uuid;
}

/* A release touches only the peer's own leases (the journal records who
 * allocated each), unless admin. */
static int authz_release(struct server *s, struct client *c, const struct vfa_opts *o,
			 struct vfa_err *e)
{
	const struct vfa_config *cfg = vfa_agent_config(s->agent);
	const char *uuid = o->domain_uuid ? o->domain_uuid : "";
	struct vfa_lease *ls = NULL;
	size_t n = 0;
	int r;

	if (vfa_authz_admin(cfg, &c->peer))
		return 0;
	/* The daemon's own fold: up to date with one pread (a second
	 * handle would reread all that the daemon itself wrote). */
	if (vfa_agent_leases(s->agent, &ls, &n))
		return vfa_fail(e, EIO, "journal %s: unreadable", s->o->state_dir);
	r = vfa_authz_release(cfg, &c->peer, o, uuid, ls, n, e);
	free(ls);
	return r;
}

/* Runs one request line. Returns false (nothing done, the line stays)
 * when it needs the state lock and another process holds it. */
static bool handle_line(struct client *c, char *line, size_t len)
{
	struct server *s = c->srv;
	struct vfa_opts o = *s->o;	/* paths and roots stay the daemon's */
	char uuid[VFA_UUID_LEN] = "";	/* release --domain: pinned (pin_domain) */
	struct vfa_err e = { "", 0 };
	json_object *req = NULL, *res = NULL, *id = NULL, *reply;
	const char *op = NULL;
	bool changed, looked;
	double t0, t1;
	int r;

	/* The validator the CLI and the fuzzer use: one JSON object, fields
	 * checked (o's strings point into req). */
	r = vfa_req_line_id(line, len, &req, &op, &o, &id, &e);
	if (!r)
		r = vfa_authz_request(vfa_agent_config(s->agent), &c->peer, op, &o, &e);
	if (!r && !strcmp(op, "release") && o.domain)
		pin_domain(s, &o, uuid);
	if (!r && !strcmp(op, "release"))
		r = authz_release(s, c, &o, &e);
	o.by_peer = true;	/* an alloc journals the peer as the lease's owner */
	o.peer_uid = c->peer.uid;
	if (!r && op_takes_lock(op) && !srv_lock_free(s)) {
		json_object_put(req);
		json_object_put(id);
		return false;
	}
	if (!r && !strcmp(op, "watch")) {
		srv_watch_start(c, id);
		json_object_put(id);
		json_object_put(req);
		return true;
	}
	if (!r && srv_needs_job(s, op, &o)) {
		vfa_agent_unlock(s->agent);	/* the worker takes it */
		if (srv_job_start(c, op, &o, id)) {
			json_object_put(id);
			json_object_put(req);
			return true;
		}
		if (op_takes_lock(op) && !srv_lock_free(s)) {	/* run here after all */
			json_object_put(req);
			json_object_put(id);
			return false;
		}
	}
	/* The clock as the loop last read it (this turn's start, or the end
	 * of the request before): one read per request, at its end. */
	t0 = (double)vfa_loop_now_ns(s->loop) / 1e9;
	if (!r)
		srv_model_sync_req(s, srv_request_fresh(s, c));	/* link events queued: seen first */
	if (!r && !strcmp(op, "setup"))
		vfa_model_full(s->agent);	/* setup starts as the CLI's does */
	if (!r)
		r = vfa_dispatch(s->agent, op, &o, &res, &e);
	vfa_agent_unlock(s->agent);	/* srv_lock_free's, if the op did not let go */
	if (op && !strcmp(op, "setup"))
		vfa_model_invalidate(s->agent);	/* VF counts, drivers: reread */
	t1 = (double)vfa_loop_clock_ns(s->loop) / 1e9;
	if (s->fleet && op && (!strcmp(op, "alloc") || !strcmp(op, "release") || !strcmp(op, "setup"))) {
		vfa_fleet_op(s->fleet, op, &o, r, &e, res, t1 - t0);
		srv_fleet_soon(s);
	}
	if (!r || r == -EINPROGRESS)
		srv_logmsg(s, 6, "uid %u pid %d: %s done in %lld ms", (unsigned)c->peer.uid,
			   (int)c->peer.pid, op, (long long)((t1 - t0) * 1000));
	else if (e.exit == VFA_EXIT_DENIED)
		LOGMSG_LIMITED(s, c->peer.uid, 5, "uid %u pid %d: %s denied: %s",
			       (unsigned)c->peer.uid, (int)c->peer.pid, op ? op : "?", e.msg);
	else
		srv_logmsg(s, 5, "uid %u pid %d: %s failed: %s", (unsigned)c->peer.uid, (int)c->peer.pid,
			   op ? op : "?", e.msg);
	if (res) {
		json_object *notes;

		if (json_object_object_get_ex(res, "reconcile", &notes))
			srv_log_notes(s, 5, "reconcile", notes);
	}
	/* op points into req too: what it says is taken before req goes. */
	changed = op && op_takes_lock(op);
	looked = op && (!strcmp(op, "status") || !strcmp(op, "list"));
	json_object_put(req);	/* o's strings point into req: used up above */
	reply = vfa_reply_json(r, res, &e);
	if (id)
		json_object_object_add(reply, "id", id);	/* takes it */
	srv_client_reply(c, reply);
	/* Events our request's SETLINKs did not explain are read by the loop
	 * (the monitor's fd is readable) and before the next request. */
	if (changed)
		srv_watch_changed(s);
	else if (looked)
		srv_watch_poke(s);
	return true;
}

static bool client_run(struct client *c);

/* Runs c's buffered requests while its unsent replies stay under OUT_CAP
 * and the state lock is free, then sends and re-arms. At EOF (a
 * half-close: nc -N, socat) the requests already sent still run and get
 * their replies before c is closed. Returns false if c was freed. */
bool srv_client_run(struct client *c)
{
	struct server *s = c->srv;
	bool alive;

	s->log_defer = true;
	alive = client_run(c);
	s->log_defer = false;
	srv_log_flush(s);
	return alive;
}

static bool client_run(struct client *c)
{
	if (c->watcher)
		c->in_len = 0;	/* a watcher's input is ignored */
	while (!c->closing && !c->waiting && !c->watcher && c->job_fd < 0 &&
	       srv_out_pending(c) <= OUT_CAP) {
		size_t len = 0;
		int fr = vfa_req_frame(c->in, c->in_len, &len);

		if (fr < 0) {
			srv_client_error(c, EMSGSIZE, "request line longer than 64 KiB; closing");
			srv_client_close_soon(c);
			break;
		}
		if (fr == 0 && !(c->rd_eof && c->in_len))
			break;
		if (fr == 0)
			len = c->in_len;	/* the last line, cut by EOF */
		if (!handle_line(c, c->in, len)) {
			c->waiting = true;
			srv_want_retry(c->srv);
			break;
		}
		len += fr;
		memmove(c->in, c->in + len, c->in_len - len);
		c->in_len -= len;
		c->rd_safe = c->rd_safe > len ? c->rd_safe - len : 0;
	}
	if (!c->closing && !c->watcher && c->job_fd < 0 && c->rd_eof && !c->in_len)
		srv_client_close_soon(c);
	if (c->in_len && !memchr(c->in, '\n', c->in_len)) {
		if (!c->line_t0)
			c->line_t0 = srv_mono_ms();
	} else {
		c->line_t0 = 0;
	}
	if (!srv_client_flush(c))
		return false;
	srv_client_arm(c);
	return true;
}

/* Reads what the peer sent (discarding it once c is closing). Returns
 * false if c was freed. */
static bool client_read(struct client *c)
{
	char drain[4096];

	/* Lines begun before this turn's first read, and the one its first
	 * byte starts or continues, were sent before epoll_wait returned. */
	if (c->rd_turn != vfa_loop_turn(c->srv->loop)) {
		c->rd_turn = vfa_loop_turn(c->srv->loop);
		c->rd_safe = c->in_len + 1;
	}
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
			srv_client_free(c);
			return false;
		}
		if (n == 0) {
			c->rd_eof = true;
			break;
		}
		if (!discard)
			c->in_len += (size_t)n;
		c->last = srv_mono_ms();
		/* Short: nothing more queued now (a stream socket hands over
		 * all it has); the loop wakes again for more or for EOF. */
		if ((size_t)n < room)
			break;
	}
	return true;
}

static void client_io(int id, int fd, uint32_t events, void *ud)
{
	struct client *c = ud;

	(void)id;
	(void)fd;
	if (events & EPOLLERR) {
		srv_client_free(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP)) && !client_read(c))
		return;
	if (events & EPOLLHUP) {
		/* Both directions shut: nobody will read a reply. */
		srv_client_free(c);
		return;
	}
	srv_client_run(c);
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
			      .armed = EPOLLIN, .last = srv_mono_ms(), .job_fd = -1 };
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
	srv_client_close_soon(c);
	if (srv_client_flush(c))
		srv_client_arm(c);
}

void srv_on_accept(int id, int fd, uint32_t events, void *ud)
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
				srv_logmsg(s, 4, "accept: %s; pausing new connections", strerror(errno));
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
			srv_logmsg(s, 4, "uid %u pid %d: more than %d groups; only the first are checked",
				   (unsigned)p.uid, (int)p.pid, VFA_PEER_GROUPS);
	}
}

/* After a reload: the connections of peers the new config no longer
 * allows are told so and closed. */
void srv_recheck_clients(struct server *s)
{
	const struct vfa_config *cfg = vfa_agent_config(s->agent);
	char why[400];

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = s->clients[i];

		if (!c || c->closing || vfa_authz_connect(cfg, &c->peer))
			continue;
		snprintf(why, sizeof(why), "permission denied: uid %u is no longer allowed to use the daemon (config reloaded; [serve] allow-users / allow-groups in %s)",
			 (unsigned int)c->peer.uid, cfg->path);
		srv_logmsg(s, 5, "uid %u pid %d: no longer allowed after the reload; closing",
			   (unsigned)c->peer.uid, (int)c->peer.pid);
		client_error_exit(c, EACCES, VFA_EXIT_DENIED, why);
		srv_client_close_soon(c);
		if (srv_client_flush(c))
			srv_client_arm(c);
	}
}

