/* agent/err.h: what the agent says when something fails (err.c): one
 * line for the user, and the exit status it carries. */
#ifndef VFAGENT_ERR_H
#define VFAGENT_ERR_H

#define VFA_ERR_LEN 1024

/* One line for the user: what failed and how to fix it. */
struct vfa_err {
	char msg[VFA_ERR_LEN];
	int exit;		/* exit status to report; 0 means 1 */
};
enum {
	VFA_EXIT_FAIL = 1,	/* failed, nothing half-done */
	VFA_EXIT_USAGE = 2,	/* bad arguments or config */
	VFA_EXIT_EXHAUSTED = 3,	/* no free VF in the pool */
	VFA_EXIT_PENDING = 4,	/* a detach is pending in the guest */
	VFA_EXIT_DENIED = 5,	/* permission denied (daemon rules) */
};
int vfa_fail(struct vfa_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, for errors in what the user asked or configured (exit 2). */
int vfa_usage(struct vfa_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A permission denied by the daemon's rules (exit 5, -EACCES). */
int vfa_denied(struct vfa_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
