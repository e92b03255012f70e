/* nl/vfnl_priv.h: a vfnl handle on something other than a socket. May
 * only be included by nl/ and test suites (tests/unit).
 *
 * A transport replaces the NETLINK_ROUTE socket under a handle: every
 * request vfnl builds goes to send(), every datagram it reads comes from
 * recv(). The replay transport (nl/replay.c) answers from recorded
 * RTM_NEWLINK bytes, so the agent's decisions run without a kernel.
 */
#ifndef VFAGENT_VFNL_PRIV_H
#define VFAGENT_VFNL_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nl/vfnl.h"

struct vfnl_transport {
	/* One whole request (buf, len). 0 or -errno. */
	int (*send)(void *ud, const void *buf, size_t len);
	/* The next datagram: *ret_buf stays the transport's until the next
	 * call. Its length, or -EAGAIN when nothing is queued. */
	ssize_t (*recv)(void *ud, const void **ret_buf);
	void (*free)(void *ud);		/* at vfnl_close(); may be NULL */
};

int vfnl_open_transport(const struct vfnl_transport *tp, void *ud,
			struct vfnl **ret);
int vfnl_transport_ud(struct vfnl *nl, const struct vfnl_transport *tp,
		      void **ret_ud);

/* Tests: the receive buffer resized to cap bytes (a datagram longer than
 * it is cut, to see the fallback). 0 or -ENOMEM. */
int vfnl_set_rcap(struct vfnl *nl, size_t cap);

/* ---- replay (nl/replay.c) ---------------------------------------------- */

struct vfnl_replay;		/* opaque: recorded links, requests seen */

int vfnl_open_replay(const void *buf, size_t len, struct vfnl **ret);
int vfnl_open_replay_file(const char *path, struct vfnl **ret);
struct vfnl_replay *vfnl_replay_of(struct vfnl *nl);
int vfnl_replay_add(struct vfnl_replay *rp, const void *buf, size_t len);
void vfnl_replay_fail(struct vfnl_replay *rp, uint16_t type, int err,
		      unsigned int count);
size_t vfnl_replay_count(const struct vfnl_replay *rp, uint16_t type);
const void *vfnl_replay_sent(const struct vfnl_replay *rp, uint16_t type,
			     size_t i, size_t *ret_len);
void vfnl_replay_forget(struct vfnl_replay *rp);

#endif
