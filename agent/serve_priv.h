/* agent/serve_priv.h: what vfagent serve decides about its peers. May only
 * be included by serve.c, its helpers (authz.c, owners.c, logsafe.c) and
 * test suites. */
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
		      const struct vfa_lease *ls, const uid_t *owners, size_t n,
		      struct vfa_err *e);
int vfa_denied(struct vfa_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* owners.c: who asked for each lease, STATE_DIR/owners/<lease id>. */
#define VFA_NO_OWNER ((uid_t)-1)
int vfa_owner_set(const char *state_dir, const char *lease_id, uid_t uid);
uid_t vfa_owner_get(const char *state_dir, const char *lease_id);
void vfa_owner_gc(const char *state_dir, const struct vfa_lease *ls, size_t n);

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

#endif
