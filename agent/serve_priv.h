/* agent/serve_priv.h: what vfagent serve decides about its peers. May only
 * be included by serve.c, its parts (serve_client.c, serve_job.c,
 * serve_watch.c), its helpers (authz.c, logsafe.c) and test
 * suites. */
#ifndef VFAGENT_SERVE_PRIV_H
#define VFAGENT_SERVE_PRIV_H

#include "agent/agent.h"

#define VFA_PEER_GROUPS 256

/* A connected peer as the kernel saw it at connect(): SO_PEERCRED plus
 * SO_PEERGROUPS (the process's real supplementary groups). */
struct vfa_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	gid_t groups[VFA_PEER_GROUPS];
	unsigned int ngroups;
	bool groups_truncated;
};

/* authz.c */
int vfa_peer_get(int fd, struct vfa_peer *ret);
bool vfa_peer_in_group(const struct vfa_peer *p, gid_t g);
bool vfa_authz_admin(const struct vfa_config *cfg, const struct vfa_peer *p);
bool vfa_authz_connect(const struct vfa_config *cfg, const struct vfa_peer *p);
int vfa_authz_request(const struct vfa_config *cfg, const struct vfa_peer *p,
		      const char *op, const struct vfa_opts *o, struct vfa_err *e);
int vfa_authz_release(const struct vfa_config *cfg, const struct vfa_peer *p,
		      const struct vfa_opts *o, const char *uuid,
		      const struct vfa_lease *ls, size_t n, struct vfa_err *e);

/* logsafe.c: what a client sent, made safe to log; and a per-uid limit. */
size_t vfa_log_escape(const char *in, char *out, size_t size);

struct vfa_ratelimit {
	struct {
		uid_t uid;
		unsigned int tokens;
		long long last_ms;	/* last refill */
		unsigned long suppressed;
		bool used;
	} b[32];
	unsigned int burst;
	unsigned int per_s;		/* tokens added per second */
};
bool vfa_ratelimit_take(struct vfa_ratelimit *rl, uid_t uid, long long now_ms,
			unsigned long *ret_suppressed);
/* Reports (and resets) a uid whose messages were suppressed; false when
 * none is left. */
bool vfa_ratelimit_pending(struct vfa_ratelimit *rl, long long now_ms,
			   uid_t *ret_uid, unsigned long *ret_n);

/* serve.c and its parts (serve_client.c, serve_job.c, serve_watch.c): the
 * daemon's state, shared with the srv_ prefix. */
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
/* Changes published together, at most this late. A publish holds the loop
 * (~2 ms under TCG: the model's snapshot, the metrics' render and write);
 * under churn one came every FLEET_MS, and at 250 ms the requests that
 * waited one out were ~1 % of all, the daemon's p99 (floor mode, one lab
 * boot, 2026-11-26 11:22 UTC). The metrics are scraped every 15 s or so,
 * and the CDI spec changes only with the VFs. */
#define FLEET_MS 1000

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
	 * client's later requests wait for its reply (doc/PROTOCOL.md). */
	pid_t job_pid;
	int job_fd, job_watch;		/* the child's reply pipe; -1 none */
	char *job_out;
	size_t job_len;
	json_object *job_id;
	char job_op[16];
	char job_pool[VFA_NAME_LEN];	/* for the metrics */
	long long job_t0;
	long long last, line_t0, close_by;
	/* The loop turn of the last read and, from c->in, how many bytes
	 * start lines whose first byte came before that turn's epoll_wait
	 * returned (srv_request_fresh). */
	unsigned long rd_turn;
	size_t rd_safe;
};

struct server {
	struct vfa_agent *agent;
	struct vfa_loop *loop;
	const struct vfa_opts *o;
	char path[256];
	int lfd, lwatch;
	bool accept_paused;		/* out of fds: accept again at the next tick */
	int lockfd;			/* serve.lock, held for life */
	int retry_timer;
	bool reconcile_pending;		/* a libvirt event met a held state lock */
	char *sweep_notes;		/* what the last sweep's reconcile noted */
	char *unrestored_logged;	/* the "persistent leases not restored"
					 * note last logged (srv_log_notes) */
	struct vfnl *mon;
	bool mon_pending;		/* link events read, PFs not yet looked at */
	struct vfio_uev_sock *uev;	/* kernel uevents for the model, or NULL */
	bool log_defer;			/* a client's turn: lines wait in logbuf */
	size_t log_len;
	char logbuf[8192];		/* written after the replies (srv_log_flush) */
	struct client *clients[MAX_CLIENTS + MAX_REFUSED];
	struct vfa_ratelimit rl;
	bool virt_watching;
	bool journal;			/* stderr goes to the journal */
	struct vfa_fleet *fleet;	/* CDI spec and metrics (fleet.c) */
	int fleet_timer;		/* publish them once the replies are out */
	bool fleet_armed;		/* a publish is due within FLEET_MS */
	/* watch (doc/PROTOCOL.md): the state last streamed, the last event's
	 * number, how many clients watch. */
	json_object *wstate;
	unsigned long long seq;
	unsigned int n_watchers;
	uint64_t wfp;			/* the leases last looked at (srv_watch_poke) */
	/* The spare worker (serve_job.c): forked ahead, connected, waiting
	 * for a job on spare_fd; spare_pid 0: none. */
	pid_t spare_pid;
	int spare_fd, spare_watch;
	long long spare_t0;
};

/* serve.c: start, signals, timers, logging, the fleet hooks. */
long long srv_mono_ms(void);
void srv_logmsg(struct server *s, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void srv_log_flush(struct server *s);
/* srv_logmsg, at most a few a second per uid (see vfa_ratelimit_take). */
#define LOGMSG_LIMITED(s, uid, prio, fmt, ...) do { \
	unsigned long sup_ = 0; \
	if (!vfa_ratelimit_take(&(s)->rl, (uid), srv_mono_ms(), &sup_)) \
		break; \
	if (sup_) \
		srv_logmsg((s), 5, "uid %u: %lu refusals and denials not logged (rate limit)", \
		       (unsigned int)(uid), sup_); \
	srv_logmsg((s), (prio), fmt, __VA_ARGS__); \
} while (0)

void srv_log_notes(struct server *s, int prio, const char *what, json_object *notes);
bool srv_lock_free(struct server *s);
void srv_want_retry(struct server *s);
void srv_fleet_soon(struct server *s);
void srv_reconcile_now(struct server *s, const char *why);

/* serve_kernel.c: link events and uevents, the model kept in step. */
void srv_check_pfs(struct server *s);
void srv_mon_read_own(void *ud);
void srv_mon_io(int id, int fd, uint32_t events, void *ud);
void srv_uev_open(struct server *s);
void srv_model_sync(struct server *s);
void srv_model_sync_req(struct server *s, bool fresh);
bool srv_request_fresh(const struct server *s, const struct client *c);

/* serve_client.c: connections and flow control. */
size_t srv_out_pending(const struct client *c);
void srv_client_free(struct client *c);
void srv_client_arm(struct client *c);
void srv_client_close_soon(struct client *c);
bool srv_client_flush(struct client *c);
void srv_client_reply(struct client *c, json_object *reply);
void srv_client_error(struct client *c, int err, const char *msg);
bool srv_client_run(struct client *c);
void srv_on_accept(int id, int fd, uint32_t events, void *ud);
void srv_recheck_clients(struct server *s);

/* serve_watch.c: the watch stream. */
void srv_watch_changed(struct server *s);
void srv_watch_poke(struct server *s);
void srv_watch_start(struct client *c, json_object *id);

/* serve_job.c: worker processes for slow libvirt calls. */
bool srv_needs_job(struct server *s, const char *op, const struct vfa_opts *o);
bool srv_job_start(struct client *c, const char *op, const struct vfa_opts *o,
		   json_object *id);
void srv_job_spare(struct server *s);
void srv_job_reload(struct server *s);

#endif
